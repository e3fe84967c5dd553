/*
 * mdt.c — neighbourhood MDT meetings (docs/mdt.md): routing of the MDT
 * operations, and what they share: the MDT itself (a CareTeam of category
 * mdt managed by a neighbourhood team), who may run it, the GP practices
 * whose registered people it discusses, operation parameters, a meeting and
 * the actions from the meeting before, and the words used for people, times
 * and admissions.
 *
 * Everything runs in the calling request's access context: reads and writes
 * go through the store's viewer, so the access policy applies. The one
 * widening (mdt_widen) lets an MDT's chair reach the people registered with
 * its practices for case finding; it is set and cleared within one call.
 * Threading: per request, no shared state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/mem.h"
#include "care/mdt_int.h"
#include "fhir/access.h"

/* ---- the MDT -------------------------------------------------------------------- */

/* Read type/id, or reply 404 and return NULL. Caller frees. */
static json_value *read_known(store_conn *c, const char *type, const char *id, int64_t *version, http_response *res) {
    json_value *r = care_read(c, type, id, version);
    if(!r) fhir_reply_error(res, 404, "not-found", "%s/%s is not known", type, id);
    return r;
}

bool mdt_load(store_conn *c, const char *id, http_response *res, mdt *m) {
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", id);
    if(!(m->team = read_known(c, "CareTeam", id, &m->version, res))) return false;
    if(!care_concept_has(json_get(m->team, "category"), MDT_TEAM_CS, "mdt")) {
        fhir_reply_error(res, 422, "business-rule", "CareTeam/%s is not an MDT: an MDT has the category %s|mdt", id,
                         MDT_TEAM_CS);
        return false;
    }
    char t[64];
    const char *org = care_ref_of(json_array_at(json_get(m->team, "managingOrganization"), 0));
    if(!care_ref_split(org, t, m->org) || strcmp(t, "Organization") != 0) {
        fhir_reply_error(res, 422, "business-rule",
                         "CareTeam/%s has no managingOrganization: an MDT belongs to a neighbourhood team", id);
        return false;
    }
    const char *name = json_string(json_get(m->team, "name"));
    snprintf(m->name, sizeof m->name, "%s", name ? name : "Neighbourhood MDT");
    return true;
}

void mdt_free(mdt *m) {
    json_free(m->team);
    m->team = NULL;
}

bool mdt_leads(const json_value *team, const char *practitioner) {
    char ref[100];
    if(!practitioner || !*practitioner) return false;
    snprintf(ref, sizeof ref, "Practitioner/%s", practitioner);
    json_value *ps = json_get(team, "participant");
    for(size_t i = 0; i < json_array_len(ps); i++) {
        json_value *p = json_array_at(ps, i);
        const char *who = care_ref_of(json_get(p, "member"));
        json_value *roles = json_get(p, "role");
        if(who && strcmp(who, ref) == 0 &&
           (care_concept_has(roles, MDT_ROLE_CS, "chair") || care_concept_has(roles, MDT_ROLE_CS, "coordinator")))
            return true;
    }
    return false;
}

bool mdt_may_lead(const mdt *m, http_response *res, const char *doing) {
    access_request *ar = access_current();
    if(!ar || strcmp(ar->who.kind, "user") != 0) return true; /* the CLI; systems act by their scopes */
    if(mdt_leads(m->team, ar->who.practitioner)) return true;
    fhir_reply_error(res, 403, "forbidden", "only the chair or coordinator of %s (CareTeam/%s) may %s", m->name, m->id,
                     doing);
    return false;
}

static int cmp_id(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool mdt_sorted_has(char *const *ids, size_t n, const char *id) {
    return n && bsearch(&id, ids, n, sizeof *ids, cmp_id) != NULL;
}

size_t mdt_sort_ids(char **ids, size_t n) {
    if(n < 2) return n;
    qsort(ids, n, sizeof *ids, cmp_id);
    size_t u = 0;
    for(size_t i = 0; i < n; i++) {
        if(u && strcmp(ids[u - 1], ids[i]) == 0) {
            free(ids[i]);
            continue;
        }
        ids[u++] = ids[i];
    }
    return u;
}

size_t mdt_practices(store_conn *c, const mdt *m, char ***ids) {
    char q[120], t[64], id[72];
    size_t n = 0;
    snprintf(q, sizeof q, "partof=Organization/%s", m->org);
    if(care_find(c, "Organization", q, 500, ids, &n)) {
        *ids = NULL;
        n = 0;
    }
    json_value *ext = json_get(m->team, "extension");
    for(size_t i = 0; i < json_array_len(ext); i++) {
        json_value *e = json_array_at(ext, i);
        const char *u = json_string(json_get(e, "url"));
        if(!u || strcmp(u, CARE_EXT "mdt-practice") != 0) continue;
        if(!care_ref_split(care_ref_of(json_get(e, "valueReference")), t, id) || strcmp(t, "Organization") != 0)
            continue;
        *ids = xrealloc(*ids, (n + 1) * sizeof **ids);
        (*ids)[n++] = xstrdup(id);
    }
    return mdt_sort_ids(*ids, n);
}

bool mdt_registered(const json_value *patient, char *const *practices, size_t n) {
    json_value *gp = json_get(patient, "generalPractitioner");
    char t[64], id[72];
    for(size_t i = 0; i < json_array_len(gp); i++)
        if(care_ref_split(care_ref_of(json_array_at(gp, i)), t, id) && strcmp(t, "Organization") == 0 &&
           mdt_sorted_has(practices, n, id))
            return true;
    return false;
}

bool mdt_reach(const mdt *m, char *const *practices, size_t n) {
    access_request *ar = access_current();
    if(!ar || !ar->viewer || strcmp(ar->who.kind, "user") != 0) return false;
    if(strcmp(ar->who.role, "mdt-chair") != 0 && strcmp(ar->who.role, "gp") != 0) return false;
    if(!mdt_leads(m->team, ar->who.practitioner)) return false;
    return strcmp(ar->who.org, m->org) == 0 || mdt_sorted_has(practices, n, ar->who.org);
}

bool mdt_widen(store_conn *c, bool on, http_response *res) {
    access_request *ar = access_current();
    if(!ar || !ar->viewer) return true;
    store_viewer v = *ar->viewer;
    v.relationship_given = on;
    if(store_set_viewer(c, &v) == KITH_OK) return true;
    if(store_set_viewer(c, ar->viewer) != KITH_OK) store_set_viewer(c, &(store_viewer){.no_patient_data = true});
    if(res) fhir_reply_error(res, 503, "transient", "cannot apply the access policy");
    return false;
}

/* ---- parameters ---------------------------------------------------------------- */

json_value *mdt_param_in(const json_value *params, const char *name, size_t k) {
    for(size_t i = 0; i < json_array_len(params); i++) {
        json_value *p = json_array_at(params, i);
        const char *n = json_string(json_get(p, "name"));
        if(n && strcmp(n, name) == 0 && k-- == 0) return p;
    }
    return NULL;
}

const char *mdt_value_text(const json_value *param) {
    json_iter it = json_iter_start(param);
    const char *key;
    json_value *v;
    while(json_iter_next(&it, &key, &v)) {
        if(strncmp(key, "value", 5) != 0) continue;
        switch(json_kind_of(v)) {
        case JSON_STRING:
            return json_string(v);
        case JSON_INTEGER:
        case JSON_DECIMAL:
            return json_number_text(v);
        case JSON_BOOL:
            return json_boolean(v) ? "true" : "false";
        case JSON_OBJECT:
            return care_ref_of(v);
        default:
            return NULL;
        }
    }
    return NULL;
}

const char *mdt_param_text(const mdt_params *p, const char *name) {
    json_value *b = mdt_param_in(json_get(p->body, "parameter"), name, 0);
    if(b) return mdt_value_text(b);
    return http_param_get(p->req, name);
}

static bool known_name(const char *const *known, const char *name) {
    if(strcmp(name, "_format") == 0 || strcmp(name, "_pretty") == 0) return true;
    for(size_t i = 0; known[i]; i++)
        if(strcmp(known[i], name) == 0) return true;
    return false;
}

static void say_known(buf *b, const char *const *known) {
    for(size_t i = 0; known[i]; i++) buf_printf(b, "%s%s", i ? (known[i + 1] ? ", " : " and ") : "", known[i]);
}

bool mdt_params_open(const http_request *req, http_response *res, const char *const *known, mdt_params *p) {
    *p = (mdt_params){.req = req};
    char err[200];
    if(req->body_len) {
        if(json_parse(req->body, req->body_len, &p->body, err, sizeof err)) {
            p->body = NULL;
            fhir_reply_error(res, 400, "structure", "the body is not valid JSON: %s", err);
            return false;
        }
        const char *rt = json_string(json_get(p->body, "resourceType"));
        if(!rt || strcmp(rt, "Parameters") != 0) {
            fhir_reply_error(res, 400, "structure", "the body must be a Parameters resource, not %s",
                             rt ? rt : "(none)");
            return false;
        }
    }
    const char *bad = NULL;
    json_value *ps = json_get(p->body, "parameter");
    for(size_t i = 0; i < json_array_len(ps) && !bad; i++) {
        const char *n = json_string(json_get(json_array_at(ps, i), "name"));
        if(!n || !known_name(known, n)) bad = n ? n : "(no name)";
    }
    for(size_t i = 0; i < req->nparams && !bad; i++)
        if(!known_name(known, req->params[i].name)) bad = req->params[i].name;
    if(!bad) return true;
    buf b = BUF_INIT;
    say_known(&b, known);
    fhir_reply_error(res, 400, "not-supported", "unknown parameter '%s': this operation takes %s", bad, buf_str(&b));
    buf_free(&b);
    return false;
}

void mdt_params_close(mdt_params *p) {
    json_free(p->body);
    p->body = NULL;
}

/* ---- words and facts ----------------------------------------------------------- */

bool mdt_case_patient(const json_value *team, char pid[72]) {
    char t[64];
    return care_ref_split(care_ref_of(json_get(team, "subject")), t, pid) && strcmp(t, "Patient") == 0;
}

int mdt_age(const json_value *patient, int64_t now) {
    const char *b = json_string(json_get(patient, "birthDate"));
    int by, bm = 1, bd = 1, y, m, d;
    if(!b || sscanf(b, "%4d-%2d-%2d", &by, &bm, &bd) < 1) return -1;
    datetime_civil_from_days(now >= 0 ? now / DAY_SECONDS : 0, &y, &m, &d);
    int age = y - by;
    if(m < bm || (m == bm && d < bd)) age--;
    return age;
}

void mdt_person_words(const json_value *patient, int64_t now, bool nhs, char out[200]) {
    json_value *name = json_array_at(json_get(patient, "name"), 0);
    const char *given = json_string(json_array_at(json_get(name, "given"), 0));
    const char *family = json_string(json_get(name, "family"));
    const char *text = json_string(json_get(name, "text"));
    const char *id = json_string(json_get(patient, "id"));
    int age = mdt_age(patient, now);
    int k;
    if(given || family)
        k = snprintf(out, 200, "%s%s%s", given ? given : "", given && family ? " " : "", family ? family : "");
    else
        k = snprintf(out, 200, "%s", text ? text : id ? id : "(no name)");
    if(age >= 0 && k >= 0 && k < 200) k += snprintf(out + k, 200 - (size_t)k, ", %d", age);
    json_value *ids = json_get(patient, "identifier");
    for(size_t i = 0; nhs && k >= 0 && k < 200 && i < json_array_len(ids); i++) {
        const char *sys = json_string(json_get(json_array_at(ids, i), "system"));
        const char *v = json_string(json_get(json_array_at(ids, i), "value"));
        if(sys && v && strcmp(sys, "https://fhir.nhs.uk/Id/nhs-number") == 0 && strlen(v) == 10) {
            snprintf(out + k, 200 - (size_t)k, ", NHS %.3s %.3s %.4s", v, v + 3, v + 6);
            break;
        }
    }
}

void mdt_when_words(int64_t t, bool time, char out[64]) {
    static const char *const DAYS[] = {"Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"};
    static const char *const MONTHS[] = {"January", "February", "March",     "April",   "May",      "June",
                                         "July",    "August",   "September", "October", "November", "December"};
    int64_t local = t + workday_uk_offset(t);
    int64_t days = local >= 0 ? local / DAY_SECONDS : -((-local + DAY_SECONDS - 1) / DAY_SECONDS);
    int64_t rest = local - days * DAY_SECONDS;
    int y, m, d;
    datetime_civil_from_days(days, &y, &m, &d);
    if(time)
        snprintf(out, 64, "%s %d %s %d, %02d:%02d", DAYS[((days % 7) + 7) % 7], d, MONTHS[m - 1], y, (int)(rest / 3600),
                 (int)(rest / 60 % 60));
    else
        snprintf(out, 64, "%s %d %s %d", DAYS[((days % 7) + 7) % 7], d, MONTHS[m - 1], y);
}

int mdt_entry_box(const json_value *entry) {
    json_value *d = json_get(care_ext_get(entry, CARE_EXT "time-box"), "valueDuration");
    int64_t v;
    if(!json_int64(json_get(d, "value"), &v) || v < 0 || v > 600) return -1;
    return (int)v;
}

void mdt_entry_set_box(json_value *entry, int minutes) {
    json_value *d = json_new_object();
    json_set(d, "value", json_new_int(minutes));
    json_set(d, "unit", json_new_string("min"));
    json_set(d, "system", json_new_string("http://unitsofmeasure.org"));
    json_set(d, "code", json_new_string("min"));
    care_ext_set(entry, CARE_EXT "time-box", "valueDuration", d);
}

bool mdt_emergency_admission(const json_value *enc) {
    if(care_concept_has(json_get(enc, "type"), MDT_ENC_CS, "emergency-admission")) return true;
    json_value *ext = json_get(json_get(enc, "hospitalization"), "extension");
    for(size_t i = 0; i < json_array_len(ext); i++) {
        json_value *codings = json_get(json_get(json_array_at(ext, i), "valueCodeableConcept"), "coding");
        for(size_t k = 0; k < json_array_len(codings); k++) {
            const char *s = json_string(json_get(json_array_at(codings, k), "system"));
            const char *v = json_string(json_get(json_array_at(codings, k), "code"));
            if(s && v && strcmp(s, MDT_ADMIT_METHOD_CS) == 0 && v[0] == '2') return true;
        }
    }
    return false;
}

int64_t mdt_enc_start(const json_value *enc) {
    int64_t t;
    return care_time(json_string(json_get(json_get(enc, "period"), "start")), &t) ? t : 0;
}

size_t mdt_admissions(store_conn *c, const char *pid, int64_t since, int64_t *out, size_t max) {
    char q[240], from[32], **ids;
    size_t n, k = 0;
    care_instant(since, from);
    snprintf(q, sizeof q, "patient=Patient/%s&class=" MDT_IMP "&date=ge%s", pid, from);
    if(care_find(c, "Encounter", q, 1000, &ids, &n)) return 0;
    for(size_t i = 0; i < n && k < max; i++) {
        json_value *e = care_read(c, "Encounter", ids[i], NULL);
        int64_t t = mdt_enc_start(e);
        if(e && t >= since && mdt_emergency_admission(e)) out[k++] = t;
        json_free(e);
    }
    care_ids_free(ids, n);
    return k;
}

void mdt_ref_words(store_conn *c, const json_value *ref, char out[200]) {
    const char *d = json_string(json_get(ref, "display")), *r = care_ref_of(ref);
    char t[64], id[72];
    snprintf(out, 200, "%s", d ? d : r ? r : "(nobody)");
    if(d || !care_ref_split(r, t, id)) return;
    json_value *x = care_read(c, t, id, NULL);
    json_value *name = json_get(x, "name");
    if(json_kind_of(name) == JSON_STRING) {
        snprintf(out, 200, "%s", json_string(name));
    } else if(json_array_len(name)) {
        json_value *n0 = json_array_at(name, 0);
        const char *g = json_string(json_array_at(json_get(n0, "given"), 0)), *f = json_string(json_get(n0, "family"));
        if(g || f) snprintf(out, 200, "%s%s%s", g ? g : "", g && f ? " " : "", f ? f : "");
    }
    json_free(x);
}

/* ---- meetings and their actions ---------------------------------------------------- */

bool mdt_meeting_open(store_conn *c, const char *id, http_response *res, mdt_meeting *mt) {
    memset(mt, 0, sizeof *mt);
    snprintf(mt->id, sizeof mt->id, "%s", id);
    if(!(mt->appt = read_known(c, "Appointment", id, &mt->version, res))) return false;
    char team[72] = "", t[64], x[72];
    json_value *si = json_get(mt->appt, "supportingInformation");
    for(size_t i = 0; i < json_array_len(si); i++) {
        if(!care_ref_split(care_ref_of(json_array_at(si, i)), t, x)) continue;
        if(strcmp(t, "CareTeam") == 0 && !team[0]) snprintf(team, sizeof team, "%s", x);
        if(strcmp(t, "List") == 0 && !mt->list_id[0]) snprintf(mt->list_id, sizeof mt->list_id, "%s", x);
    }
    if(!team[0]) {
        fhir_reply_error(res, 422, "business-rule",
                         "Appointment/%s is not an MDT meeting: its supportingInformation names no CareTeam", id);
        return false;
    }
    if(!mdt_load(c, team, res, &mt->m)) return false;
    care_time(json_string(json_get(mt->appt, "start")), &mt->start);
    care_time(json_string(json_get(mt->appt, "end")), &mt->end);
    if(mt->end < mt->start) mt->end = mt->start;
    if(mt->list_id[0]) mt->list = care_read(c, "List", mt->list_id, &mt->list_version);
    return true;
}

void mdt_meeting_free(mdt_meeting *mt) {
    json_free(mt->appt);
    json_free(mt->list);
    mdt_free(&mt->m);
    mt->appt = mt->list = NULL;
}

void mdt_task_times(const json_value *task, int64_t *due, int64_t *done) {
    *due = *done = 0;
    const char *d = json_string(json_get(json_get(json_get(task, "restriction"), "period"), "end"));
    if(!d) d = json_string(json_get(care_ext_get(task, CARE_EXT "response-due"), "valueDateTime"));
    if(d && care_time(d, due) && strlen(d) == 10) *due += DAY_SECONDS - 1; /* a date: due by the end of the day */
    const char *status = json_string(json_get(task, "status"));
    if(!status || strcmp(status, "completed") != 0) return;
    const char *w = json_string(json_get(json_get(task, "executionPeriod"), "end"));
    if(!w) w = json_string(json_get(task, "lastModified"));
    if(!w) w = json_string(json_get(json_get(task, "meta"), "lastUpdated"));
    if(w && !care_time(w, done)) *done = 0;
}

static int action_order(const void *a, const void *b) {
    static const int RANK[MDT_ACTION_STATES] = {1, 0, 2, 2, 3};
    const mdt_action *x = a, *y = b;
    if(RANK[x->state] != RANK[y->state]) return RANK[x->state] - RANK[y->state];
    if(x->due != y->due) return x->due < y->due ? -1 : 1;
    return strcmp(x->id, y->id);
}

void mdt_actions_free(mdt_action *a, size_t n) {
    for(size_t i = 0; i < n; i++) json_free(a[i].task);
    free(a);
}

size_t mdt_previous_actions(store_conn *c, const mdt_meeting *mt, int64_t now, mdt_action **out) {
    char q[200], at[32], **ids;
    size_t n, na = 0, cap = 0;
    *out = NULL;
    care_instant(mt->start, at);
    snprintf(q, sizeof q, "supporting-info=CareTeam/%s&date=lt%s&_sort=-date", mt->m.id, at);
    if(care_find(c, "Appointment", q, MDT_MAX_MEETINGS, &ids, &n)) return 0;
    bool first = true;
    buf tq = BUF_INIT;
    for(size_t i = 0; i < n; i++) {
        if(strcmp(ids[i], mt->id) == 0) continue;
        json_value *a = care_read(c, "Appointment", ids[i], NULL);
        bool held = mdt_meeting_live(a);
        json_free(a);
        if(!held) continue;
        buf_reset(&tq);
        buf_printf(&tq, "based-on=Appointment/%s", ids[i]);
        if(!first) buf_puts(&tq, "&status=draft,requested,received,accepted,in-progress,on-hold");
        char **tids;
        size_t nt;
        if(!care_find(c, "Task", buf_str(&tq), 1000, &tids, &nt)) {
            for(size_t k = 0; k < nt; k++) {
                json_value *task = care_read(c, "Task", tids[k], NULL);
                if(!task) continue;
                if(na == cap) *out = xrealloc(*out, (cap = cap ? cap * 2 : 16) * sizeof **out);
                mdt_action *x = &(*out)[na++];
                memset(x, 0, sizeof *x);
                snprintf(x->id, sizeof x->id, "%s", tids[k]);
                x->task = task;
                x->previous = first;
                mdt_task_times(task, &x->due, &x->done);
                x->state = mdt_action_classify(json_string(json_get(task, "status")), x->due, x->done, now);
            }
            care_ids_free(tids, nt);
        }
        first = false;
    }
    buf_free(&tq);
    care_ids_free(ids, n);
    if(na) qsort(*out, na, sizeof **out, action_order);
    return na;
}

/* ---- answers ------------------------------------------------------------------- */

bool mdt_commit(store_conn *c, kith_rc rc, http_response *res, const fhir_issues *is) {
    if(!rc) rc = store_commit(c);
    if(!rc) return true;
    store_rollback(c);
    fhir_reply_outcome(res, fhir_rest_status_for(rc), is);
    return false;
}

void mdt_reply_written(http_response *res, const http_request *req, int status, const char *location_type,
                       const record_result *results, size_t n, const fhir_issues *is) {
    buf entries = BUF_INIT, oo = BUF_INIT;
    size_t k = 0;
    for(size_t i = 0; i < n; i++)
        if(results[i].body) care_bundle_entry(&entries, &k, req, results[i].body, results[i].body_len, NULL);
    fhir_outcome_write(&oo, is);
    care_bundle_entry(&entries, &k, req, oo.data, oo.len, NULL);
    care_reply_bundle(res, "collection", &entries, -1);
    res->status = status;
    if(location_type && n && results[0].id[0]) {
        char loc[300];
        snprintf(loc, sizeof loc, "%s/fhir/%s/%s/_history/%lld", req->base_url, location_type, results[0].id,
                 (long long)results[0].version);
        http_response_header(res, "Location", loc);
    }
    buf_free(&oo);
    buf_free(&entries);
}

/* ---- routing ---------------------------------------------------------------------- */

typedef struct mdt_route {
    const char *type, *op, *method, *route;
    void (*fn)(store_conn *, const http_request *, http_response *, const char *);
} mdt_route;

static const mdt_route ROUTES[] = {
    {"CareTeam", "$find-cases", "POST", "care.mdt.find-cases", mdt_find_cases},
    {"CareTeam", "$add-case", "POST", "care.mdt.add-case", mdt_add_case},
    {"CareTeam", "$plan-meeting", "POST", "care.mdt.plan-meeting", mdt_plan_meeting},
    {"CareTeam", "$mdt-measures", "GET", "care.mdt.measures", mdt_measures},
    {"Appointment", "$agenda", "GET", "care.mdt.agenda", mdt_agenda},
    {"Appointment", "$attendance", "POST", "care.mdt.attendance", mdt_attendance},
    {"Appointment", "$record-case", "POST", "care.mdt.record-case", mdt_record_case},
    {"Appointment", "$minutes", "GET", "care.mdt.minutes", mdt_minutes},
    {"Composition", "$document", "GET", "care.mdt.document", mdt_document},
};

bool care_mdt_operation(store_conn *c, const http_request *req, http_response *res, char *const *seg, int nseg) {
    if(nseg != 3) return false;
    for(size_t i = 0; i < sizeof ROUTES / sizeof *ROUTES; i++) {
        const mdt_route *r = &ROUTES[i];
        if(strcmp(seg[0], r->type) != 0 || strcmp(seg[2], r->op) != 0) continue;
        if(care_begin(req, res, r->route, r->method, r->op)) r->fn(c, req, res, seg[1]);
        return true;
    }
    return false;
}
