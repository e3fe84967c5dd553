/*
 * worklist.c — worklists (Task/$worklist), the person's care team in one
 * call (Patient/$care-team), and inpatients ready to leave hospital.
 *
 * Worklists are searches composed for the signed-in member of staff: their
 * Practitioner and organisation come from their account, or from the
 * practitioner and team parameters (for team leads and systems). Every read
 * goes through the request's access policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "care/care_int.h"
#include "fhir/access.h"

#define OPEN_STATUSES "draft,requested,received,accepted,in-progress,on-hold"
#define MAX_TEAM 500
#define PAGE_MAX 500

typedef struct worklist {
    buf entries;
    size_t n, total, count;
    const http_request *req;
} worklist;

static void add_resource(worklist *w, store_conn *c, const char *type, const char *id) {
    w->total++;
    if(w->n >= w->count) return;
    store_resource r;
    if(store_read(c, type, id, 0, &r) == KITH_OK && r.body)
        care_bundle_entry(&w->entries, &w->n, w->req, r.body, r.body_len, "match");
    store_resource_free(&r);
}

/* The team: Organization/org and every Practitioner with an active role in it, as a
 * comma-separated list of references for a search. */
static void team_refs(store_conn *c, const char *org, buf *out) {
    buf_printf(out, "Organization/%s", org);
    char q[160], **ids;
    size_t n;
    snprintf(q, sizeof q, "organization=Organization/%s&active=true", org);
    if(care_find(c, "PractitionerRole", q, MAX_TEAM, &ids, &n)) return;
    for(size_t i = 0; i < n; i++) {
        json_value *r = care_read(c, "PractitionerRole", ids[i], NULL);
        const char *p = care_ref_of(json_get(r, "practitioner"));
        if(p && strncmp(p, "Practitioner/", 13) == 0 && !strchr(p, ',')) buf_printf(out, ",%s", p);
        json_free(r);
    }
    care_ids_free(ids, n);
}

static bool in_list(const char *list, const char *ref) {
    size_t n = strlen(ref);
    for(const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        if(k == n && strncmp(p, ref, n) == 0) return true;
        p += k;
        if(*p == ',') p++;
    }
    return false;
}

static void tasks(worklist *w, store_conn *c, const char *query, const char *exclude_owners) {
    char **ids;
    size_t n;
    if(!exclude_owners) { /* a page and a count: the bodies of the rest are never read */
        int64_t total = 0;
        if(care_find_page(c, "Task", query, w->count, &ids, &n, &total)) return;
        for(size_t i = 0; i < n; i++) add_resource(w, c, "Task", ids[i]);
        w->total = (size_t)total;
        care_ids_free(ids, n);
        return;
    }
    if(care_find(c, "Task", query, CARE_MAX_IDS, &ids, &n)) return;
    for(size_t i = 0; i < n; i++) {
        if(exclude_owners) {
            json_value *t = care_read(c, "Task", ids[i], NULL);
            const char *o = care_ref_of(json_get(t, "owner"));
            bool ours = o && in_list(exclude_owners, o);
            json_free(t);
            if(ours) continue;
        }
        add_resource(w, c, "Task", ids[i]);
    }
    care_ids_free(ids, n);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* People on the caseload: of open Tasks owned by owners, and of active
 * CareTeams and EpisodesOfCare naming the practitioner. Sorted, unique. */
static size_t caseload(store_conn *c, const char *owners, const char *practitioner, char ***out) {
    char **people = NULL;
    size_t n = 0, cap = 0;
    buf q = BUF_INIT;
    struct {
        const char *type, *fmt, *field;
    } src[3] = {{"Task", "open-owner=%s", "for"},
                {"CareTeam", "participant=Practitioner/%s&status=active", "subject"},
                {"EpisodeOfCare", "care-manager=Practitioner/%s&status=active", "patient"}};
    for(int k = 0; k < 3; k++) {
        const char *arg = k == 0 ? owners : practitioner;
        if(!arg || !*arg) continue;
        buf_reset(&q);
        buf_printf(&q, src[k].fmt, arg);
        char **ids;
        size_t m;
        if(care_find(c, src[k].type, buf_str(&q), CARE_MAX_IDS, &ids, &m)) continue;
        for(size_t i = 0; i < m; i++) {
            json_value *r = care_read(c, src[k].type, ids[i], NULL);
            char t[64], pid[72];
            if(care_ref_split(care_ref_of(json_get(r, src[k].field)), t, pid) && strcmp(t, "Patient") == 0) {
                if(n == cap) people = xrealloc(people, (cap = cap ? cap * 2 : 64) * sizeof *people);
                people[n++] = xstrdup(pid);
            }
            json_free(r);
        }
        care_ids_free(ids, m);
    }
    buf_free(&q);
    qsort(people, n, sizeof *people, cmp_str);
    size_t u = 0;
    for(size_t i = 0; i < n; i++) {
        if(u && strcmp(people[u - 1], people[i]) == 0) {
            free(people[i]);
            continue;
        }
        people[u++] = people[i];
    }
    *out = people;
    return u;
}

/* Inpatient stays of the caseload that began or ended in the last 7 days (or go on). */
static void admissions(worklist *w, store_conn *c, const char *owners, const char *practitioner) {
    char **people;
    size_t n = caseload(c, owners, practitioner, &people);
    char since[32];
    care_instant(care_now() - 7 * 86400, since);
    buf q = BUF_INIT;
    for(size_t i = 0; i < n; i += 50) {
        buf_reset(&q);
        buf_puts(&q, "class=http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP&date=ge");
        buf_puts(&q, since);
        buf_puts(&q, "&_sort=-date&patient=");
        for(size_t k = i; k < n && k < i + 50; k++) buf_printf(&q, "%sPatient/%s", k > i ? "," : "", people[k]);
        char **ids;
        size_t m;
        if(care_find(c, "Encounter", buf_str(&q), CARE_MAX_IDS, &ids, &m)) continue;
        for(size_t k = 0; k < m; k++) add_resource(w, c, "Encounter", ids[k]);
        care_ids_free(ids, m);
    }
    buf_free(&q);
    care_ids_free(people, n);
}

/* Inpatients medically ready to leave: in-progress stays with a discharge-ready date
 * that has passed, each with the days delayed so far (computed, not stored). */
static void ready_to_leave(worklist *w, store_conn *c) {
    char **ids;
    size_t n;
    /* the stays going on now are few; the inpatient class is checked on each (searching by class
     * too would have the store intersect every inpatient stay there ever was) */
    if(care_find(c, "Encounter", "status=in-progress", CARE_MAX_IDS, &ids, &n)) return;
    int64_t now = care_now();
    for(size_t i = 0; i < n; i++) {
        json_value *e = care_read(c, "Encounter", ids[i], NULL);
        const char *cls = json_string(json_get(json_get(e, "class"), "code"));
        const char *sys = json_string(json_get(json_get(e, "class"), "system"));
        if(!cls || strcmp(cls, "IMP") != 0 || !sys || strcmp(sys, "http://terminology.hl7.org/CodeSystem/v3-ActCode") != 0) {
            json_free(e);
            continue;
        }
        json_value *hosp = json_get(e, "hospitalization");
        const char *ready = json_string(json_get(care_ext_get(hosp, CARE_EXT "discharge-ready-date"), "valueDateTime"));
        int64_t t;
        if(ready && care_time(ready, &t) && t <= now) {
            w->total++;
            if(w->n < w->count) {
                care_ext_set(e, CARE_EXT "days-delayed", "valueInteger", json_new_int((now - t) / 86400));
                char *text = json_to_text(e, NULL);
                care_bundle_entry(&w->entries, &w->n, w->req, text, strlen(text), "match");
                free(text);
            }
        }
        json_free(e);
    }
    care_ids_free(ids, n);
}

static void worklist_op(store_conn *c, const http_request *req, http_response *res) {
    if(!care_begin(req, res, "care.worklist", "GET", "$worklist")) return;
    access_request *ar = access_current();
    const char *list = http_param_get(req, "list");
    const char *me = http_param_get(req, "practitioner");
    const char *org = http_param_get(req, "team");
    const char *count = http_param_get(req, "_count");
    if(!me && ar) me = ar->who.practitioner;
    if(!org && ar) org = ar->who.org;
    if(me && strncmp(me, "Practitioner/", 13) == 0) me += 13;
    if(org && strncmp(org, "Organization/", 13) == 0) org += 13;
    static const char *const LISTS[] = {"mine", "team", "overdue", "awaiting", "admissions", "discharge"};
    bool known = false;
    for(size_t i = 0; list && i < sizeof LISTS / sizeof *LISTS; i++) known = known || strcmp(list, LISTS[i]) == 0;
    if(!known) {
        fhir_reply_error(res, 400, "required", "say which worklist: list=mine, team, overdue, awaiting (a reply "
                                               "from another organisation), admissions or discharge");
        return;
    }
    bool needs_me = strcmp(list, "mine") == 0;
    bool needs_team = !needs_me && strcmp(list, "discharge") != 0;
    if((me && *me && !record_id_valid(me)) || (org && *org && !record_id_valid(org))) {
        fhir_reply_error(res, 400, "value", "practitioner and team must be ids (or Practitioner/id, Organization/id)");
        return;
    }
    if((needs_me && (!me || !*me)) || (needs_team && (!org || !*org) && strcmp(list, "admissions") != 0)) {
        fhir_reply_error(res, 400, "required", "the %s worklist needs %s: your account has none, so give %s", list,
                         needs_me ? "a practitioner" : "a team", needs_me ? "practitioner=" : "team=");
        return;
    }
    char *end = NULL;
    long cnt = count ? strtol(count, &end, 10) : 50;
    if(count && (end == count || *end || cnt < 0 || cnt > PAGE_MAX)) {
        fhir_reply_error(res, 400, "value", "_count must be a number from 0 to %d", PAGE_MAX);
        return;
    }
    if(!access_permit(res, strcmp(list, "admissions") == 0 || strcmp(list, "discharge") == 0 ? "Encounter" : "Task",
                      's', "search-type"))
        return;
    worklist w = {.req = req, .count = (size_t)cnt};
    buf q = BUF_INIT, team = BUF_INIT;
    if(org && *org && strcmp(list, "mine") != 0 && strcmp(list, "discharge") != 0) team_refs(c, org, &team);
    char now[32];
    care_instant(care_now(), now);
    /* open Tasks owned by the viewer, their organisation or a colleague are, by the policy's own
     * rule, records the viewer has a care relationship with: the store need not check that again
     * for every row (objections and sensitivity labels still apply) */
    store_viewer given;
    const store_viewer *v = ar ? ar->viewer : NULL;
    bool own = v && (strcmp(list, "mine") == 0 ? v->practitioner && strcmp(v->practitioner, me) == 0
                                               : v->org && strcmp(v->org, org) == 0);
    if(own && (strcmp(list, "mine") == 0 || strcmp(list, "team") == 0 || strcmp(list, "overdue") == 0)) {
        given = *v;
        given.relationship_given = true;
        if(store_set_viewer(c, &given)) own = false;
    } else {
        own = false;
    }
    if(strcmp(list, "mine") == 0) {
        buf_printf(&q, "open-owner=Practitioner/%s&_sort=due", me);
        tasks(&w, c, buf_str(&q), NULL);
    } else if(strcmp(list, "team") == 0) {
        buf_printf(&q, "open-owner=%s&_sort=due", buf_str(&team));
        tasks(&w, c, buf_str(&q), NULL);
    } else if(strcmp(list, "overdue") == 0) {
        buf_printf(&q, "open-owner=%s&due=lt%s&_sort=due", buf_str(&team), now);
        tasks(&w, c, buf_str(&q), NULL);
    } else if(strcmp(list, "awaiting") == 0) {
        buf_printf(&q, "requester=%s&status=requested,received&_sort=due", buf_str(&team));
        tasks(&w, c, buf_str(&q), buf_str(&team));
    } else if(strcmp(list, "admissions") == 0) {
        admissions(&w, c, team.len ? buf_str(&team) : NULL, me && *me ? me : NULL);
    } else {
        ready_to_leave(&w, c);
    }
    if(own) store_set_viewer(c, v);
    care_reply_bundle(res, "searchset", &w.entries, (long)w.total);
    buf_free(&q);
    buf_free(&team);
    buf_free(&w.entries);
}

/* ---- the care team ------------------------------------------------------------ */

typedef struct member {
    char ref[160];  /* Practitioner/x, Organization/y, HealthcareService/z */
    char role[160]; /* what they do for the person */
    bool key_worker;
} member;

typedef struct team {
    member *v;
    size_t n, cap;
} team;

static void member_add(team *t, const char *ref, const char *role, bool key_worker) {
    if(!ref || !strchr(ref, '/')) return;
    for(size_t i = 0; i < t->n; i++)
        if(strcmp(t->v[i].ref, ref) == 0) {
            t->v[i].key_worker = t->v[i].key_worker || key_worker;
            return;
        }
    if(t->n == t->cap) t->v = xrealloc(t->v, (t->cap = t->cap ? t->cap * 2 : 16) * sizeof *t->v);
    member *m = &t->v[t->n++];
    snprintf(m->ref, sizeof m->ref, "%s", ref);
    snprintf(m->role, sizeof m->role, "%s", role ? role : "");
    m->key_worker = key_worker;
}

/* Members from the resources of type about the person (query), taking references at field. */
static void members_from(team *t, store_conn *c, const char *type, const char *query, const char *field,
                         const char *role) {
    char **ids;
    size_t n;
    if(care_find(c, type, query, 200, &ids, &n)) return;
    for(size_t i = 0; i < n; i++) {
        json_value *r = care_read(c, type, ids[i], NULL);
        json_value *f = json_get(r, field);
        if(strcmp(type, "CareTeam") == 0) {
            for(size_t k = 0; k < json_array_len(f); k++) {
                json_value *p = json_array_at(f, k);
                json_value *rl = json_array_at(json_get(p, "role"), 0);
                const char *text = json_string(json_get(rl, "text"));
                bool kw = care_concept_has(rl, NULL, "key-worker");
                member_add(t, care_ref_of(json_get(p, "member")), text ? text : "Care team member", kw);
            }
        } else if(json_kind_of(f) == JSON_ARRAY) {
            for(size_t k = 0; k < json_array_len(f); k++) member_add(t, care_ref_of(json_array_at(f, k)), role, false);
        } else {
            member_add(t, care_ref_of(f), role, strcmp(field, "careManager") == 0);
        }
        json_free(r);
    }
    care_ids_free(ids, n);
}

/* How to reach a member: the telecom of their role (or of the resource itself). */
static void reach(store_conn *c, const member *m, worklist *w, buf *participants, size_t i) {
    char type[64], id[72];
    if(!care_ref_split(m->ref, type, id)) return;
    json_value *who = care_read(c, type, id, NULL);
    if(!who) return;
    json_value *role = NULL, *telecom = json_get(who, "telecom");
    char display[200] = "";
    if(strcmp(type, "Practitioner") == 0) {
        json_value *name = json_array_at(json_get(who, "name"), 0);
        snprintf(display, sizeof display, "%s %s %s",
                 json_string(json_array_at(json_get(name, "prefix"), 0)) ? json_string(json_array_at(json_get(name, "prefix"), 0)) : "",
                 json_string(json_array_at(json_get(name, "given"), 0)) ? json_string(json_array_at(json_get(name, "given"), 0)) : "",
                 json_string(json_get(name, "family")) ? json_string(json_get(name, "family")) : "");
        char q[160], **ids;
        size_t n;
        snprintf(q, sizeof q, "practitioner=Practitioner/%s", id);
        if(!care_find(c, "PractitionerRole", q, 1, &ids, &n)) {
            if(n) role = care_read(c, "PractitionerRole", ids[0], NULL);
            care_ids_free(ids, n);
        }
        if(json_array_len(json_get(role, "telecom"))) telecom = json_get(role, "telecom");
    } else {
        snprintf(display, sizeof display, "%s", json_string(json_get(who, "name")) ? json_string(json_get(who, "name")) : id);
    }
    const char *what = m->role[0] ? m->role : json_string(json_get(json_array_at(json_get(role, "code"), 0), "text"));
    buf_printf(participants, "%s{\"role\":[{", i ? "," : "");
    if(m->key_worker)
        buf_printf(participants, "\"coding\":[{\"system\":\"%sstaff-role\",\"code\":\"key-worker\",\"display\":"
                                 "\"Key worker\"}],", CARE_CS);
    buf_puts(participants, "\"text\":");
    char rt[300];
    snprintf(rt, sizeof rt, "%s%s", m->key_worker ? "Key worker: " : "", what ? what : type);
    care_json_string(participants, rt);
    buf_puts(participants, "}],\"member\":{\"reference\":");
    care_json_string(participants, m->ref);
    buf_puts(participants, ",\"display\":");
    care_json_string(participants, display);
    buf_puts(participants, "}");
    const char *org = care_ref_of(json_get(role, "organization"));
    if(org) {
        buf_puts(participants, ",\"onBehalfOf\":{\"reference\":");
        care_json_string(participants, org);
        buf_puts(participants, "}");
    }
    for(size_t k = 0; k < json_array_len(telecom); k++) {
        char *text = json_to_text(json_array_at(telecom, k), NULL);
        buf_printf(participants, "%s{\"url\":\"%scontact\",\"valueContactPoint\":%s}",
                   k ? "," : ",\"extension\":[", CARE_EXT, text);
        free(text);
    }
    buf_puts(participants, json_array_len(telecom) ? "]}" : "}");
    char *text = json_to_text(role ? role : who, NULL);
    care_bundle_entry(&w->entries, &w->n, w->req, text, strlen(text), "include");
    free(text);
    json_free(role);
    json_free(who);
}

/* GET Patient/{id}/$care-team: who is involved and how to reach them. */
static void care_team_op(store_conn *c, const http_request *req, http_response *res, const char *pid) {
    if(!care_begin(req, res, "care.care-team", "GET", "$care-team")) return;
    access_note("Patient", pid, pid);
    json_value *patient = care_read(c, "Patient", pid, NULL);
    if(!patient) {
        fhir_reply_error(res, 404, "not-found", "Patient/%s is not known", pid);
        return;
    }
    team t = {0};
    char q[200];
    json_value *gp = json_get(patient, "generalPractitioner");
    for(size_t i = 0; i < json_array_len(gp); i++) member_add(&t, care_ref_of(json_array_at(gp, i)), "Registered GP practice", false);
    snprintf(q, sizeof q, "patient=Patient/%s&status=active", pid);
    members_from(&t, c, "EpisodeOfCare", q, "careManager", "Key worker");
    members_from(&t, c, "CareTeam", q, "participant", NULL);
    members_from(&t, c, "EpisodeOfCare", q, "managingOrganization", "Responsible organisation");
    snprintf(q, sizeof q, "patient=Patient/%s&status=" OPEN_STATUSES, pid);
    members_from(&t, c, "Task", q, "owner", "Working on a referral");
    worklist w = {.req = req, .count = 1000};
    buf participants = BUF_INIT;
    for(size_t i = 0; i < t.n; i++) reach(c, &t.v[i], &w, &participants, i);
    buf team_res = BUF_INIT;
    buf_printf(&team_res, "{\"resourceType\":\"CareTeam\",\"id\":\"care-team-%s\",\"status\":\"active\",\"name\":"
                          "\"Everyone involved in this person's care\",\"subject\":{\"reference\":\"Patient/%s\"},"
                          "\"participant\":[", pid, pid);
    buf_append(&team_res, participants.data ? participants.data : "", participants.len);
    buf_puts(&team_res, "]}");
    buf entries = BUF_INIT;
    size_t n = 0;
    care_bundle_entry(&entries, &n, req, team_res.data, team_res.len, "match");
    if(w.n) {
        buf_putc(&entries, ',');
        buf_append(&entries, w.entries.data, w.entries.len);
    }
    care_reply_bundle(res, "collection", &entries, -1);
    buf_free(&entries);
    buf_free(&team_res);
    buf_free(&participants);
    buf_free(&w.entries);
    free(t.v);
    json_free(patient);
}

bool care_worklist_operation(store_conn *c, const http_request *req, http_response *res, char *const *seg,
                             int nseg) {
    const char *op = seg[nseg - 1];
    if(nseg == 2 && strcmp(seg[0], "Task") == 0 && strcmp(op, "$worklist") == 0)
        worklist_op(c, req, res);
    else if(nseg == 3 && strcmp(seg[0], "Patient") == 0 && strcmp(op, "$care-team") == 0)
        care_team_op(c, req, res, seg[1]);
    else
        return false;
    return true;
}
