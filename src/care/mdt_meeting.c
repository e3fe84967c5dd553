/*
 * mdt_meeting.c — an MDT meeting: planning it from an accepted case list
 * (CareTeam/{id}/$plan-meeting: an Appointment, time-boxes on the list, and
 * every member brought into the care of the people on it), recording who
 * came ($attendance) and, for each person, what was said, decided and who
 * will do what by when ($record-case).
 *
 * A discussion is written into the person's record as an Encounter (type
 * mdt-discussion, as the synthetic place writes its programme's MDTs) and a
 * Composition (the summary, decisions and actions, subject the Patient), so
 * it is in their $everything and visible to everyone who cares for them;
 * each action is a Task through the care rules (care_write: state machine,
 * owner, due date), so it is in its owner's worklist and escalates when
 * overdue. Each operation writes in one transaction: all or nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "care/mdt_int.h"
#include "fhir/access.h"

/* ---- planning ------------------------------------------------------------------- */

bool mdt_meeting_live(const json_value *appt) {
    const char *s = json_string(json_get(appt, "status"));
    return s && strcmp(s, "cancelled") != 0 && strcmp(s, "entered-in-error") != 0 && strcmp(s, "noshow") != 0;
}

/* An existing meeting planned from List/lid, into appt_id; false if none. */
static bool planned_from(store_conn *c, const char *lid, char appt_id[72]) {
    char q[160], **ids;
    size_t n;
    bool found = false;
    snprintf(q, sizeof q, "supporting-info=List/%s", lid);
    if(care_find(c, "Appointment", q, 50, &ids, &n)) return false;
    for(size_t i = 0; i < n && !found; i++) {
        json_value *a = care_read(c, "Appointment", ids[i], NULL);
        if(mdt_meeting_live(a)) {
            found = true;
            snprintf(appt_id, 72, "%s", ids[i]);
        }
        json_free(a);
    }
    care_ids_free(ids, n);
    return found;
}

/* The case CareTeam id of a List entry into tid, and its Patient into pid; false if not one. */
static bool entry_case(store_conn *c, const json_value *entry, char tid[72], char pid[72]) {
    char t[64];
    if(!care_ref_split(care_ref_of(json_get(entry, "item")), t, tid) || strcmp(t, "CareTeam") != 0) return false;
    json_value *team = care_read(c, "CareTeam", tid, NULL);
    bool ok = team && mdt_case_patient(team, pid);
    json_free(team);
    return ok;
}

/* Every CareTeam an earlier version of List/lid held, minus those it holds now: proposals the chair took off. */
typedef struct dropped {
    char **ids;
    size_t n;
} dropped;

static int collect_items(void *ctx, const store_resource *r) {
    dropped *d = ctx;
    json_value *l = NULL;
    if(r->deleted || !r->body || json_parse(r->body, r->body_len, &l, NULL, 0)) return 0;
    json_value *es = json_get(l, "entry");
    for(size_t i = 0; i < json_array_len(es); i++) {
        char t[64], id[72];
        if(!care_ref_split(care_ref_of(json_get(json_array_at(es, i), "item")), t, id) || strcmp(t, "CareTeam"))
            continue;
        d->ids = xrealloc(d->ids, (d->n + 1) * sizeof *d->ids);
        d->ids[d->n++] = xstrdup(id);
    }
    json_free(l);
    return 0;
}

/* Proposals taken off the list end (inactive), unless the person is in the MDT's care already. */
static kith_rc close_dropped(store_conn *c, const char *lid, char *const *kept, size_t nkept, fhir_issues *is) {
    dropped d = {0};
    int64_t total;
    store_history_query q = {.type = "List", .id = lid, .count = 1000};
    kith_rc rc = store_history(c, &q, collect_items, &d, &total);
    d.n = mdt_sort_ids(d.ids, d.n);
    char now[32];
    care_instant(care_now(), now);
    for(size_t i = 0; i < d.n && !rc; i++) {
        if(mdt_sorted_has(kept, nkept, d.ids[i])) continue;
        int64_t v;
        json_value *t = care_read(c, "CareTeam", d.ids[i], &v);
        const char *st = json_string(json_get(t, "status"));
        if(st && strcmp(st, "proposed") == 0) {
            json_set(t, "status", json_new_string("inactive"));
            json_value *period = json_get(t, "period");
            if(json_kind_of(period) != JSON_OBJECT) json_set(t, "period", period = json_new_object());
            json_set(period, "end", json_new_string(now));
            rc = care_write(c, "CareTeam", d.ids[i], t, v, true, NULL, is);
        }
        json_free(t);
    }
    care_ids_free(d.ids, d.n);
    return rc;
}

/* The Appointment of a meeting: the MDT's people as participants. */
static json_value *meeting(const mdt *m, const char *lid, int64_t start, int minutes, const char *description) {
    char s[32], e[32], now[32];
    care_instant(start, s);
    care_instant(start + (int64_t)minutes * 60, e);
    care_instant(care_now(), now);
    json_value *a = json_new_object();
    json_set(a, "resourceType", json_new_string("Appointment"));
    json_set(a, "status", json_new_string("booked"));
    json_set(a, "serviceType", json_new_array());
    json_append(json_get(a, "serviceType"), care_concept(MDT_TEAM_CS, "mdt", "Neighbourhood MDT meeting"));
    json_set(a, "description", json_new_string(description ? description : m->name));
    json_set(a, "start", json_new_string(s));
    json_set(a, "end", json_new_string(e));
    json_set(a, "minutesDuration", json_new_int(minutes));
    json_set(a, "created", json_new_string(now));
    json_value *si = json_new_array();
    json_append(si, care_reference("CareTeam", m->id, m->name));
    json_append(si, care_reference("List", lid, "Case list"));
    json_set(a, "supportingInformation", si);
    json_value *out = json_new_array(), *ps = json_get(m->team, "participant");
    for(size_t i = 0; i < json_array_len(ps); i++) {
        json_value *p = json_array_at(ps, i);
        char t[64], id[72];
        if(!care_ref_split(care_ref_of(json_get(p, "member")), t, id) ||
           (strcmp(t, "Practitioner") != 0 && strcmp(t, "PractitionerRole") != 0))
            continue; /* an organisation takes part through its people */
        json_value *x = json_new_object();
        if(json_get(p, "role")) json_set(x, "type", json_copy(json_get(p, "role")));
        json_set(x, "actor", json_copy(json_get(p, "member")));
        json_set(x, "required", json_new_string("required"));
        json_set(x, "status", json_new_string("needs-action"));
        json_append(out, x);
    }
    json_set(a, "participant", out);
    return a;
}

/* POST CareTeam/{id}/$plan-meeting: accept a case list and plan the meeting that discusses it. */
void mdt_plan_meeting(store_conn *c, const http_request *req, http_response *res, const char *id) {
    static const char *const KNOWN[] = {"list", "start", "minutes", "minutes-per-case", "description", NULL};
    mdt m = {0};
    mdt_params p = {0};
    json_value *list = NULL, *appt = NULL;
    char lid[72], other[72], **kept = NULL;
    size_t nkept = 0, nout = 0, n = 0;
    int64_t lv = 0, start = 0;
    record_result *out = NULL;
    fhir_issues is = FHIR_ISSUES_INIT;
    int *boxes = NULL, *fixed = NULL;
    bool *review = NULL;
    mdt_action *acts = NULL;
    size_t nacts = 0;
    if(!access_permit(res, "Appointment", 'c', "create") || !access_permit(res, "CareTeam", 'u', "update") ||
       !access_permit(res, "List", 'u', "update"))
        return;
    if(!mdt_params_open(req, res, KNOWN, &p) || !mdt_load(c, id, res, &m) || !mdt_may_lead(&m, res, "plan meetings"))
        goto done;
    const char *st = mdt_param_text(&p, "start"), *mins = mdt_param_text(&p, "minutes");
    const char *per = mdt_param_text(&p, "minutes-per-case");
    char *end = NULL;
    long minutes = mins ? strtol(mins, &end, 10) : 90;
    if(mins && (*end || minutes < 15 || minutes > 480)) {
        fhir_reply_error(res, 400, "value", "minutes (how long the meeting lasts) must be from 15 to 480, not '%s'",
                         mins);
        goto done;
    }
    long per_case = per ? strtol(per, &end, 10) : 10;
    if(per && (*end || per_case < MDT_MIN_BOX || per_case > 60)) {
        fhir_reply_error(res, 400, "value", "minutes-per-case must be from %d to 60, not '%s'", MDT_MIN_BOX, per);
        goto done;
    }
    if(!st || !strchr(st, 'T') || !care_time(st, &start)) {
        fhir_reply_error(res, 400, "value",
                         "start must be the date and time the meeting starts (2026-12-03T13:00:00Z), "
                         "not '%s'",
                         st ? st : "(none)");
        goto done;
    }
    if(!(list = mdt_list_load(c, &m, mdt_param_text(&p, "list"), &lv, lid, res))) goto done;
    if(planned_from(c, lid, other)) {
        fhir_reply_error(res, 409, "duplicate", "List/%s is already the case list of Appointment/%s", lid, other);
        goto done;
    }
    json_value *es = json_get(list, "entry");
    n = json_array_len(es);
    kept = xcalloc(n + 1, sizeof *kept);
    boxes = xcalloc(n + 1, sizeof *boxes);
    fixed = xcalloc(n + 1, sizeof *fixed);
    review = xcalloc(n + 1, sizeof *review);
    for(size_t i = 0; i < n; i++) {
        json_value *e = json_array_at(es, i);
        char tid[72], pid[72];
        if(!entry_case(c, e, tid, pid)) {
            fhir_reply_error(res, 422, "business-rule",
                             "entry %zu of List/%s is not a case CareTeam you can see "
                             "(about a Patient); take it off the list or use $add-case",
                             i + 1, lid);
            goto done;
        }
        kept[nkept++] = xstrdup(tid);
        fixed[i] = mdt_entry_box(e);
        review[i] = care_concept_has(json_get(e, "flag"), MDT_ENTRY_CS, "review");
    }
    /* the actions from the meeting before come first: their time is set aside */
    mdt_meeting probe = {.start = start, .m = m};
    nacts = mdt_previous_actions(c, &probe, care_now(), &acts);
    mdt_action_state *states = xcalloc(nacts + 1, sizeof *states);
    for(size_t i = 0; i < nacts; i++) states[i] = acts[i].state;
    int block = mdt_actions_block(states, nacts, (int)minutes);
    free(states);
    size_t timed = mdt_time_boxes((int)minutes - block, (int)per_case, n, fixed, review, boxes);
    for(size_t i = 0; i < n; i++) mdt_entry_set_box(json_array_at(es, i), boxes[i]);
    char now[32];
    care_instant(care_now(), now);
    care_ext_set(list, CARE_EXT "accepted", "valueDateTime", json_new_string(now));
    out = xcalloc(n + 2, sizeof *out);
    kith_rc rc = store_begin(c);
    for(size_t i = 0; i < n && !rc; i++) {
        char tid[72], pid[72];
        if(!entry_case(c, json_array_at(es, i), tid, pid)) rc = KITH_ECONFLICT;
        if(!rc) rc = mdt_case_team_put(c, &m, pid, NULL, NULL, true, &out[2 + i], &is);
    }
    nkept = mdt_sort_ids(kept, nkept);
    if(!rc) rc = close_dropped(c, lid, kept, nkept, &is);
    if(!rc) rc = care_write(c, "List", lid, list, lv, true, &out[1], &is);
    if(!rc) {
        appt = meeting(&m, lid, start, (int)minutes, mdt_param_text(&p, "description"));
        if(!json_array_len(json_get(appt, "participant"))) {
            fhir_issues_add(&is, "error", "business-rule", NULL, "%s has no members who are people (Practitioners)",
                            m.name);
            rc = KITH_EINVALID;
        }
    }
    if(!rc) rc = care_write(c, "Appointment", NULL, appt, 0, true, &out[0], &is);
    nout = n + 2;
    if(!mdt_commit(c, rc, res, &is)) goto done;
    fhir_issues_add(&is, "information", "informational", NULL,
                    "Meeting Appointment/%s planned: %d minutes for %zu action%s from earlier meetings, then %zu of "
                    "%zu cases time-boxed%s",
                    out[0].id, block, nacts, nacts == 1 ? "" : "s", timed, n,
                    timed < n ? " (the rest do not fit and wait for the next meeting)" : "");
    mdt_reply_written(res, req, 201, "Appointment", out, nout, &is);
done:
    for(size_t i = 0; out && i < nout; i++) record_result_free(&out[i]);
    free(out);
    care_ids_free(kept, nkept);
    mdt_actions_free(acts, nacts);
    free(boxes);
    free(fixed);
    free(review);
    json_free(list);
    json_free(appt);
    fhir_issues_free(&is);
    mdt_params_close(&p);
    mdt_free(&m);
}

/* ---- attendance ---------------------------------------------------------------- */

/* Every reference given as parameter `name` (the body's, then the query's), into refs (borrowed). */
static size_t refs_of(const mdt_params *p, const char *name, const char **refs, size_t max) {
    size_t n = 0;
    json_value *b;
    for(size_t k = 0; n < max && (b = mdt_param_in(json_get(p->body, "parameter"), name, k)); k++)
        refs[n++] = mdt_value_text(b);
    for(size_t i = 0; n < max && i < p->req->nparams; i++)
        if(strcmp(p->req->params[i].name, name) == 0) refs[n++] = p->req->params[i].value;
    return n;
}

/* Mark ref present or absent among the Appointment's participants (a guest is added). */
static bool mark(json_value *appt, const char *ref, bool present, http_response *res) {
    char t[64], id[72];
    if(!care_ref_split(ref, t, id) || (strcmp(t, "Practitioner") != 0 && strcmp(t, "PractitionerRole") != 0)) {
        fhir_reply_error(res, 422, "value", "%s must be a reference to a Practitioner or PractitionerRole, not '%s'",
                         present ? "present" : "absent", ref ? ref : "(none)");
        return false;
    }
    json_value *ps = json_get(appt, "participant"), *x = NULL;
    for(size_t i = 0; i < json_array_len(ps) && !x; i++) {
        const char *a = care_ref_of(json_get(json_array_at(ps, i), "actor"));
        if(a && strcmp(a, ref) == 0) x = json_array_at(ps, i);
    }
    if(!x && !present) {
        fhir_reply_error(res, 422, "business-rule", "%s was not invited to this meeting", ref);
        return false;
    }
    if(!x) { /* a guest */
        x = json_new_object();
        json_value *type = json_new_array(), *g = json_new_object();
        json_set(g, "text", json_new_string("Guest"));
        json_append(type, g);
        json_set(x, "type", type);
        json_set(x, "actor", care_reference(t, id, NULL));
        json_set(x, "required", json_new_string("information-only"));
        json_append(ps, x);
    }
    json_set(x, "status", json_new_string(present ? "accepted" : "declined"));
    care_ext_set(x, CARE_EXT "attended", "valueBoolean", json_new_bool(present));
    return true;
}

/* POST Appointment/{id}/$attendance: who came, who sent apologies, when it really started and ended. */
void mdt_attendance(store_conn *c, const http_request *req, http_response *res, const char *id) {
    static const char *const KNOWN[] = {"present", "absent", "started", "ended", NULL};
    mdt_meeting mt = {0};
    mdt_params p = {0};
    fhir_issues is = FHIR_ISSUES_INIT;
    record_result r = {0};
    if(!access_permit(res, "Appointment", 'u', "update")) return;
    if(!mdt_params_open(req, res, KNOWN, &p) || !mdt_meeting_open(c, id, res, &mt) ||
       !mdt_may_lead(&mt.m, res, "record attendance"))
        goto done;
    if(!mdt_meeting_live(mt.appt)) {
        fhir_reply_error(res, 409, "business-rule", "Appointment/%s was %s", id,
                         json_string(json_get(mt.appt, "status")));
        goto done;
    }
    const char *refs[200];
    size_t n = refs_of(&p, "present", refs, 200);
    for(size_t i = 0; i < n; i++)
        if(!mark(mt.appt, refs[i], true, res)) goto done;
    size_t m = refs_of(&p, "absent", refs, 200);
    for(size_t i = 0; i < m; i++)
        if(!mark(mt.appt, refs[i], false, res)) goto done;
    const char *started = mdt_param_text(&p, "started"), *ended = mdt_param_text(&p, "ended");
    int64_t s = mt.start, e = mt.end;
    bool times_ok = (!started || care_time(started, &s)) && (!ended || care_time(ended, &e));
    if(times_ok && started && !ended) e = s + (mt.end - mt.start); /* started late: it keeps its planned length */
    if(!times_ok || e < s) {
        fhir_reply_error(res, 422, "value", "started and ended must be date-times, ended not before started");
        goto done;
    }
    if(!n && !m && !started && !ended) {
        fhir_reply_error(res, 400, "required", "say who was present or absent, or when the meeting started or ended");
        goto done;
    }
    char at[32];
    care_instant(s, at);
    json_set(mt.appt, "start", json_new_string(at));
    care_instant(e, at);
    json_set(mt.appt, "end", json_new_string(at));
    int64_t minutes = (e - s + 59) / 60; /* a positiveInt: a meeting of seconds lasted a minute */
    json_set(mt.appt, "minutesDuration", json_new_int(minutes < 1 ? 1 : minutes));
    const char *status = json_string(json_get(mt.appt, "status"));
    if(ended)
        json_set(mt.appt, "status", json_new_string("fulfilled"));
    else if(status && strcmp(status, "booked") == 0)
        json_set(mt.appt, "status", json_new_string("arrived"));
    kith_rc rc = care_write(c, "Appointment", id, mt.appt, mt.version, false, &r, &is);
    if(rc) {
        fhir_reply_outcome(res, fhir_rest_status_for(rc), &is);
        goto done;
    }
    res->status = 200;
    res->content_type = "application/fhir+json";
    buf_append(&res->body, r.body, r.body_len);
done:
    record_result_free(&r);
    fhir_issues_free(&is);
    mdt_params_close(&p);
    mdt_meeting_free(&mt);
}

/* ---- recording a case ---------------------------------------------------------- */

/* Append text to an XHTML div, escaped; a line break ends a paragraph (or, in a list item, becomes a space). */
static void xhtml_text(buf *d, const char *text, bool item) {
    for(const char *p = text; *p; p++) {
        if(*p == '&')
            buf_puts(d, "&amp;");
        else if(*p == '<')
            buf_puts(d, "&lt;");
        else if(*p == '>')
            buf_puts(d, "&gt;");
        else if(*p == '\n')
            buf_puts(d, item ? " " : "</p><p>");
        else if(*p != '\r')
            buf_putc(d, *p);
    }
}

/* A Narrative of plain lines: paragraphs, or the items of a list. */
static json_value *narrative(const char *const *lines, size_t n, bool items) {
    buf d = BUF_INIT;
    buf_puts(&d, "<div xmlns=\"http://www.w3.org/1999/xhtml\">");
    if(items) buf_puts(&d, "<ul>");
    for(size_t i = 0; i < n; i++) {
        buf_puts(&d, items ? "<li>" : "<p>");
        xhtml_text(&d, lines[i], items);
        buf_puts(&d, items ? "</li>" : "</p>");
    }
    if(items) buf_puts(&d, "</ul>");
    buf_puts(&d, "</div>");
    json_value *nv = json_new_object();
    json_set(nv, "status", json_new_string("generated"));
    json_set(nv, "div", json_new_string(buf_str(&d)));
    buf_free(&d);
    return nv;
}

static json_value *section(const char *title, const char *code, const char *const *lines, size_t n, bool items,
                           const char *empty) {
    json_value *s = json_new_object();
    json_set(s, "title", json_new_string(title));
    json_set(s, "code", care_concept(CARE_CS "mdt-section", code, title));
    if(n)
        json_set(s, "text", narrative(lines, n, items));
    else
        json_set(s, "text", narrative(&empty, 1, false));
    return s;
}

/* One action asked for: description, owner, due date and priority (parts of parameter `action`). */
typedef struct action_in {
    const char *description, *due, *priority;
    const json_value *owner; /* a Reference, or NULL */
} action_in;

/* The actions of the request; replies 422 and returns false when one is incomplete. */
static bool actions_in(const mdt_params *p, action_in *a, size_t *n, size_t max, http_response *res) {
    json_value *x;
    *n = 0;
    for(size_t k = 0; (x = mdt_param_in(json_get(p->body, "parameter"), "action", k)); k++) {
        if(k >= max) {
            fhir_reply_error(res, 422, "too-costly", "at most %zu actions per case", max);
            return false;
        }
        json_value *parts = json_get(x, "part");
        action_in *y = &a[(*n)++];
        y->description = mdt_value_text(mdt_param_in(parts, "description", 0));
        y->due = mdt_value_text(mdt_param_in(parts, "due", 0));
        y->priority = mdt_value_text(mdt_param_in(parts, "priority", 0));
        y->owner = json_get(mdt_param_in(parts, "owner", 0), "valueReference");
        int64_t t;
        static const char *const PRI[] = {"routine", "urgent", "asap", "stat"};
        bool pri_ok = !y->priority;
        for(size_t i = 0; i < 4 && !pri_ok; i++) pri_ok = strcmp(y->priority, PRI[i]) == 0;
        if(!y->description || !*y->description || !y->due || !care_time(y->due, &t) || !pri_ok) {
            fhir_reply_error(res, 422, "required",
                             "action %zu needs a description, a due date (date or dateTime) and an owner (a "
                             "reference to who will do it); priority, if given, is routine, urgent, asap or stat",
                             k + 1);
            return false;
        }
    }
    return true;
}

typedef struct recording {
    store_conn *c;
    mdt_meeting *mt;
    char pid[72], person[200], case_id[72];
    json_value *case_team;
    int64_t case_version;
    const char *chair; /* "Practitioner/x" or NULL */
} recording;

/* The Encounter that says the person was discussed (what the measures count). */
static kith_rc write_discussion(recording *r, record_result *out, fhir_issues *is) {
    char s[32], e[32];
    care_instant(r->mt->start, s);
    care_instant(r->mt->end, e);
    json_value *enc = json_new_object();
    json_set(enc, "resourceType", json_new_string("Encounter"));
    json_set(enc, "status", json_new_string("finished"));
    json_value *cls = json_new_object();
    json_set(cls, "system", json_new_string("http://terminology.hl7.org/CodeSystem/v3-ActCode"));
    json_set(cls, "code", json_new_string("VR"));
    json_set(cls, "display", json_new_string("virtual"));
    json_set(enc, "class", cls);
    json_set(enc, "type", json_new_array());
    json_append(json_get(enc, "type"), care_concept(MDT_ENC_CS, "mdt-discussion",
                                                    "Discussed at neighbourhood multidisciplinary team meeting"));
    json_set(enc, "subject", care_reference("Patient", r->pid, r->person));
    json_value *parts = json_new_array(), *ps = json_get(r->mt->appt, "participant");
    for(size_t i = 0; i < json_array_len(ps); i++) {
        json_value *p = json_array_at(ps, i), *att = care_ext_get(p, CARE_EXT "attended");
        if(att && !json_boolean(json_get(att, "valueBoolean"))) continue;
        json_value *x = json_new_object();
        json_set(x, "individual", json_copy(json_get(p, "actor")));
        json_append(parts, x);
    }
    json_set(enc, "participant", parts);
    json_set(enc, "appointment", json_new_array());
    json_append(json_get(enc, "appointment"), care_reference("Appointment", r->mt->id, NULL));
    json_value *period = json_new_object();
    json_set(period, "start", json_new_string(s));
    json_set(period, "end", json_new_string(e));
    json_set(enc, "period", period);
    json_set(enc, "serviceProvider", care_reference("Organization", r->mt->m.org, r->mt->m.name));
    kith_rc rc = care_write(r->c, "Encounter", NULL, enc, 0, true, out, is);
    json_free(enc);
    return rc;
}

/* An action as a Task for its owner (the care rules check the owner and start the clock). */
static kith_rc write_action(recording *r, const action_in *a, const char *enc_id, record_result *out, fhir_issues *is) {
    char now[32];
    care_instant(care_now(), now);
    json_value *t = json_new_object();
    json_set(t, "resourceType", json_new_string("Task"));
    json_set(t, "status", json_new_string("requested"));
    json_set(t, "intent", json_new_string("order"));
    json_set(t, "priority", json_new_string(a->priority ? a->priority : "routine"));
    json_set(t, "code", care_concept(CARE_CS "task-code", "mdt-action", "Action agreed at an MDT meeting"));
    json_set(t, "description", json_new_string(a->description));
    json_set(t, "basedOn", json_new_array());
    json_append(json_get(t, "basedOn"), care_reference("Appointment", r->mt->id, r->mt->m.name));
    json_set(t, "for", care_reference("Patient", r->pid, r->person));
    json_set(t, "encounter", care_reference("Encounter", enc_id, NULL));
    json_set(t, "authoredOn", json_new_string(now));
    if(r->chair) json_set(t, "requester", care_reference("Practitioner", r->chair + 13, NULL));
    if(a->owner) json_set(t, "owner", json_copy(a->owner));
    json_value *restr = json_new_object(), *period = json_new_object();
    json_set(period, "end", json_new_string(a->due));
    json_set(restr, "period", period);
    json_set(t, "restriction", restr);
    kith_rc rc = care_write(r->c, "Task", NULL, t, 0, true, out, is);
    json_free(t);
    return rc;
}

/* The summary in the person's record: a Composition. */
static kith_rc write_summary(recording *r, const mdt_params *p, const action_in *acts, const record_result *tasks,
                             size_t na, const char *enc_id, record_result *out, fhir_issues *is) {
    char now[32], title[300], day[64], s[32], e[32];
    care_instant(care_now(), now);
    care_instant(r->mt->start, s);
    care_instant(r->mt->end, e);
    mdt_when_words(r->mt->start, false, day);
    json_value *d = json_new_object();
    json_set(d, "resourceType", json_new_string("Composition"));
    json_set(d, "status", json_new_string("final"));
    json_set(d, "type", care_concept(CARE_CS "document-type", "mdt-discussion", "Neighbourhood MDT discussion"));
    json_set(d, "subject", care_reference("Patient", r->pid, r->person));
    json_set(d, "encounter", care_reference("Encounter", enc_id, NULL));
    json_set(d, "date", json_new_string(now));
    json_set(d, "author", json_new_array());
    char t[64], id[72];
    if(r->chair && care_ref_split(r->chair, t, id))
        json_append(json_get(d, "author"), care_reference(t, id, NULL));
    else
        json_append(json_get(d, "author"), care_reference("Organization", r->mt->m.org, r->mt->m.name));
    snprintf(title, sizeof title, "%s: discussion on %s", r->mt->m.name, day);
    json_set(d, "title", json_new_string(title));
    json_set(d, "custodian", care_reference("Organization", r->mt->m.org, r->mt->m.name));
    json_value *ev = json_new_object(), *period = json_new_object(), *detail = json_new_array();
    json_set(period, "start", json_new_string(s));
    json_set(period, "end", json_new_string(e));
    json_set(ev, "period", period);
    json_append(detail, care_reference("Appointment", r->mt->id, NULL));
    json_set(ev, "detail", detail);
    json_set(d, "event", json_new_array());
    json_append(json_get(d, "event"), ev);
    json_value *secs = json_new_array();
    /* why they were discussed: the reasons on their case */
    json_value *reasons = json_get(r->case_team, "reasonCode");
    const char *why[8];
    size_t nw = 0;
    for(size_t i = 0; i < json_array_len(reasons) && nw < 8; i++)
        if(json_string(json_get(json_array_at(reasons, i), "text")))
            why[nw++] = json_string(json_get(json_array_at(reasons, i), "text"));
    json_append(secs, section("Why they were discussed", "reason", why, nw, false, "No reason recorded"));
    const char *summary = mdt_param_text(p, "summary");
    json_append(secs, section("Summary", "summary", &summary, 1, false, ""));
    const char *dec[50];
    size_t nd = 0;
    json_value *x;
    for(size_t k = 0; nd < 50 && (x = mdt_param_in(json_get(p->body, "parameter"), "decision", k)); k++)
        if(mdt_value_text(x)) dec[nd++] = mdt_value_text(x);
    json_append(secs, section("Decisions", "decisions", dec, nd, true, "No decisions recorded"));
    char **lines = xcalloc(na + 1, sizeof *lines);
    for(size_t i = 0; i < na; i++) {
        char who[200];
        mdt_ref_words(r->c, acts[i].owner, who);
        size_t len = strlen(acts[i].description) + strlen(who) + strlen(acts[i].due) + 40;
        lines[i] = xmalloc(len);
        snprintf(lines[i], len, "%s (%s, due %s)", acts[i].description, who, acts[i].due);
    }
    json_value *as = section("Actions", "actions", (const char *const *)lines, na, true, "No actions agreed");
    for(size_t i = 0; i < na; i++) free(lines[i]);
    free(lines);
    if(na) {
        json_value *entries = json_new_array();
        for(size_t i = 0; i < na; i++) json_append(entries, care_reference("Task", tasks[i].id, NULL));
        json_set(as, "entry", entries);
    }
    json_append(secs, as);
    /* who was there: those marked present, else everyone invited */
    json_value *ps = json_get(r->mt->appt, "participant");
    const char *names[100];
    char words[100][200];
    size_t nn = 0;
    bool recorded = false;
    for(size_t i = 0; i < json_array_len(ps); i++)
        recorded = recorded || care_ext_get(json_array_at(ps, i), CARE_EXT "attended");
    for(size_t i = 0; i < json_array_len(ps) && nn < 100; i++) {
        json_value *q = json_array_at(ps, i), *att = care_ext_get(q, CARE_EXT "attended");
        if(recorded && !(att && json_boolean(json_get(att, "valueBoolean")))) continue;
        mdt_ref_words(r->c, json_get(q, "actor"), words[nn]);
        const char *role = json_string(json_get(json_array_at(json_get(q, "type"), 0), "text"));
        if(role) {
            size_t k = strlen(words[nn]);
            snprintf(words[nn] + k, 200 - k, " (%s)", role);
        }
        names[nn] = words[nn];
        nn++;
    }
    json_append(secs, section(recorded ? "Present" : "Invited (attendance not recorded)", "present", names, nn, true,
                              "Nobody recorded"));
    json_set(d, "section", secs);
    kith_rc rc = care_write(r->c, "Composition", NULL, d, 0, true, out, is);
    json_free(d);
    return rc;
}

/* Referrals for MDT discussion about the person are done now. */
static kith_rc complete_referrals(recording *r, fhir_issues *is) {
    kith_rc rc = KITH_OK;
    for(int pass = 0; pass < 2 && !rc; pass++) {
        char q[300], **ids;
        size_t n;
        if(pass == 0)
            snprintf(q, sizeof q, "patient=Patient/%s&status=active&category=" MDT_REFERRAL_CS "|mdt", r->pid);
        else
            snprintf(q, sizeof q, "patient=Patient/%s&status=active&performer=CareTeam/%s", r->pid, r->mt->m.id);
        if((rc = care_find(r->c, "ServiceRequest", q, 100, &ids, &n))) break;
        for(size_t i = 0; i < n && !rc; i++) {
            int64_t v;
            json_value *sr = care_read(r->c, "ServiceRequest", ids[i], &v);
            const char *st = json_string(json_get(sr, "status"));
            if(st && strcmp(st, "active") == 0) {
                json_set(sr, "status", json_new_string("completed"));
                rc = care_write(r->c, "ServiceRequest", ids[i], sr, v, true, NULL, is);
            }
            json_free(sr);
        }
        care_ids_free(ids, n);
    }
    return rc;
}

/* The case CareTeam of the person on this meeting's list; false if they are not on it. */
static bool find_case(recording *r) {
    json_value *es = json_get(r->mt->list, "entry");
    for(size_t i = 0; i < json_array_len(es); i++) {
        char t[64], tid[72], who[72];
        if(!care_ref_split(care_ref_of(json_get(json_array_at(es, i), "item")), t, tid) || strcmp(t, "CareTeam"))
            continue;
        int64_t v;
        json_value *team = care_read(r->c, "CareTeam", tid, &v);
        if(team && mdt_case_patient(team, who) && strcmp(who, r->pid) == 0) {
            r->case_team = team;
            r->case_version = v;
            snprintf(r->case_id, sizeof r->case_id, "%s", tid);
            return true;
        }
        json_free(team);
    }
    return false;
}

#define MAX_ACTIONS 50

/* POST Appointment/{id}/$record-case: what the meeting said, decided and asked of whom, for one person. */
void mdt_record_case(store_conn *c, const http_request *req, http_response *res, const char *id) {
    static const char *const KNOWN[] = {"patient", "summary", "decision", "action", "outcome", NULL};
    mdt_meeting mt = {0};
    mdt_params p = {0};
    recording r = {.c = c, .mt = &mt};
    fhir_issues is = FHIR_ISSUES_INIT;
    action_in acts[MAX_ACTIONS];
    size_t na = 0, nout = 0;
    record_result *out = NULL;
    json_value *pat = NULL;
    char chair[96], who[160], t[64];
    if(!access_permit(res, "Composition", 'c', "create") || !access_permit(res, "Encounter", 'c', "create") ||
       !access_permit(res, "Task", 'c', "create"))
        return;
    if(!mdt_params_open(req, res, KNOWN, &p) || !mdt_meeting_open(c, id, res, &mt) ||
       !mdt_may_lead(&mt.m, res, "record cases"))
        goto done;
    if(!mdt_meeting_live(mt.appt)) {
        fhir_reply_error(res, 409, "business-rule", "Appointment/%s was %s", id,
                         json_string(json_get(mt.appt, "status")));
        goto done;
    }
    const char *summary = mdt_param_text(&p, "summary"), *outcome = mdt_param_text(&p, "outcome");
    if(!care_ref_split(mdt_param_text(&p, "patient"), t, r.pid) || strcmp(t, "Patient") != 0 || !summary || !*summary) {
        fhir_reply_error(res, 422, "required",
                         "give patient (a reference to a Patient on the case list) and summary "
                         "(what the meeting said)");
        goto done;
    }
    if(outcome && strcmp(outcome, "continue") != 0 && strcmp(outcome, "close") != 0) {
        fhir_reply_error(res, 422, "value",
                         "outcome must be continue (the MDT keeps the person under review) or close, "
                         "not '%s'",
                         outcome);
        goto done;
    }
    if(!actions_in(&p, acts, &na, MAX_ACTIONS, res)) goto done;
    access_note("Patient", r.pid, r.pid);
    if(!mt.list || !find_case(&r)) {
        fhir_reply_error(res, 422, "business-rule", "Patient/%s is not on the case list of Appointment/%s", r.pid, id);
        goto done;
    }
    char q[200], **ids;
    size_t n;
    snprintf(q, sizeof q, "appointment=Appointment/%s&patient=Patient/%s", id, r.pid);
    if(care_find(c, "Encounter", q, 5, &ids, &n) == KITH_OK) {
        care_ids_free(ids, n);
        if(n) {
            fhir_reply_error(res, 409, "duplicate",
                             "Patient/%s's discussion at Appointment/%s is already recorded: "
                             "change its Composition with PUT",
                             r.pid, id);
            goto done;
        }
    }
    pat = care_read(c, "Patient", r.pid, NULL);
    mdt_person_words(pat, care_now(), false, r.person);
    care_actor(chair, who);
    r.chair = chair[0] ? chair : NULL;
    out = xcalloc(na + 2, sizeof *out);
    nout = na + 2;
    kith_rc rc = store_begin(c);
    if(!rc) rc = write_discussion(&r, &out[1], &is);
    for(size_t i = 0; i < na && !rc; i++) rc = write_action(&r, &acts[i], out[1].id, &out[2 + i], &is);
    if(!rc) rc = write_summary(&r, &p, acts, out + 2, na, out[1].id, &out[0], &is);
    if(!rc) rc = complete_referrals(&r, &is);
    if(!rc && outcome && strcmp(outcome, "close") == 0) {
        char now[32];
        care_instant(care_now(), now);
        json_set(r.case_team, "status", json_new_string("inactive"));
        json_value *period = json_get(r.case_team, "period");
        if(json_kind_of(period) != JSON_OBJECT) json_set(r.case_team, "period", period = json_new_object());
        json_set(period, "end", json_new_string(now));
        rc = care_write(c, "CareTeam", r.case_id, r.case_team, r.case_version, true, NULL, &is);
    }
    const char *status = json_string(json_get(mt.appt, "status"));
    if(!rc && status && strcmp(status, "booked") == 0) {
        json_set(mt.appt, "status", json_new_string("arrived"));
        rc = care_write(c, "Appointment", id, mt.appt, mt.version, true, NULL, &is);
    }
    if(!mdt_commit(c, rc, res, &is)) goto done;
    fhir_issues_add(&is, "information", "informational", NULL,
                    "Discussion of Patient/%s recorded: Composition/%s in their record, %zu action%s", r.pid, out[0].id,
                    na, na == 1 ? "" : "s");
    mdt_reply_written(res, req, 201, "Composition", out, nout, &is);
done:
    for(size_t i = 0; out && i < nout; i++) record_result_free(&out[i]);
    free(out);
    json_free(pat);
    json_free(r.case_team);
    fhir_issues_free(&is);
    mdt_params_close(&p);
    mdt_meeting_free(&mt);
}
