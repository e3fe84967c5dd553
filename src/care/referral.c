/*
 * referral.c — referrals from any sector to any service in the directory
 * ($refer), their timeline ($timeline), escalation of overdue ones, moving a
 * leaver's Tasks to their team, and read receipts on messages ($mark-read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "care/care_int.h"
#include "fhir/access.h"

/* The parameter `name` of a Parameters resource, or NULL. */
static json_value *param(const json_value *params, const char *name) {
    json_value *p = json_get(params, "parameter");
    for(size_t i = 0; i < json_array_len(p); i++) {
        const char *n = json_string(json_get(json_array_at(p, i), "name"));
        if(n && strcmp(n, name) == 0) return json_array_at(p, i);
    }
    return NULL;
}

/* A reference parameter "Type/id" of the given type; false with an issue if missing or wrong. */
static bool param_ref(const json_value *params, const char *name, const char *want, char id[72], bool required,
                      fhir_issues *is) {
    char type[64];
    id[0] = '\0';
    json_value *p = param(params, name);
    if(!p) {
        if(required)
            fhir_issues_add(is, "error", "required", name, "the parameter '%s' (a reference to a %s) is required", name,
                            want);
        return !required;
    }
    const char *ref = care_ref_of(json_get(p, "valueReference"));
    if(!ref) ref = json_string(json_get(p, "valueString"));
    if(!care_ref_split(ref, type, id) || strcmp(type, want) != 0) {
        fhir_issues_add(is, "error", "value", name, "the parameter '%s' must be a reference to a %s, not '%s'", name,
                        want, ref ? ref : "(no reference)");
        return false;
    }
    return true;
}

static json_value *parse_parameters(const http_request *req, http_response *res) {
    json_value *body = NULL;
    char err[200];
    if(!req->body_len || json_parse(req->body, req->body_len, &body, err, sizeof err)) {
        fhir_reply_error(res, 400, "structure", "the body must be a FHIR Parameters resource (JSON)%s%s",
                         req->body_len ? ": " : "", req->body_len ? err : "");
        return NULL;
    }
    const char *rt = json_string(json_get(body, "resourceType"));
    if(!rt || strcmp(rt, "Parameters") != 0) {
        fhir_reply_error(res, 400, "structure", "the body must be a Parameters resource, not %s", rt ? rt : "(none)");
        json_free(body);
        return NULL;
    }
    return body;
}

static const char *PRIORITIES[] = {"routine", "urgent", "asap", "stat"};

static void add_text(json_value *res, const char *key, const char *text) {
    json_value *t = json_new_object(), *arr = json_new_array();
    json_set(t, "text", json_new_string(text));
    json_append(arr, t);
    json_set(res, key, arr);
}

kith_rc care_make_referral(store_conn *c, const care_referral *r, record_result *sr_out, record_result *task_out,
                           fhir_issues *is) {
    char now[32];
    care_instant(care_now(), now);
    json_value *sr = json_new_object();
    json_set(sr, "resourceType", json_new_string("ServiceRequest"));
    if(r->identifier_system) {
        json_value *ident = json_new_object(), *arr = json_new_array();
        json_set(ident, "system", json_new_string(r->identifier_system));
        json_set(ident, "value", json_new_string(r->identifier_value));
        json_append(arr, ident);
        json_set(sr, "identifier", arr);
    }
    json_set(sr, "status", json_new_string("active"));
    json_set(sr, "intent", json_new_string("order"));
    json_set(sr, "category", json_new_array());
    json_append(json_get(sr, "category"), care_concept("http://snomed.info/sct", "3457005", "Patient referral"));
    json_set(sr, "priority", json_new_string(r->priority));
    json_set(sr, "subject", care_reference("Patient", r->patient, NULL));
    if(r->encounter) json_set(sr, "encounter", care_reference("Encounter", r->encounter, NULL));
    json_set(sr, "authoredOn", json_new_string(now));
    if(r->requester) json_set(sr, "requester", care_reference("Practitioner", r->requester, NULL));
    json_set(sr, "performer", json_new_array());
    json_append(json_get(sr, "performer"), care_reference("HealthcareService", r->service, r->service_name));
    add_text(sr, "reasonCode", r->reason);
    if(r->note && *r->note) add_text(sr, "note", r->note);
    kith_rc rc = care_write(c, "ServiceRequest", NULL, sr, 0, true, sr_out, is);
    json_free(sr);
    if(rc) return rc;
    json_value *task = json_new_object();
    json_set(task, "resourceType", json_new_string("Task"));
    json_set(task, "status", json_new_string("requested"));
    json_set(task, "intent", json_new_string("order"));
    json_set(task, "priority", json_new_string(r->priority));
    json_set(task, "code",
             care_concept("http://hl7.org/fhir/CodeSystem/task-code", "fulfill", "Fulfill the focal request"));
    char desc[300];
    snprintf(desc, sizeof desc, "Referral to %s: %s", r->service_name ? r->service_name : r->service, r->reason);
    json_set(task, "description", json_new_string(desc));
    json_set(task, "focus", care_reference("ServiceRequest", sr_out->id, NULL));
    json_set(task, "for", care_reference("Patient", r->patient, NULL));
    if(r->encounter) json_set(task, "encounter", care_reference("Encounter", r->encounter, NULL));
    json_set(task, "authoredOn", json_new_string(now));
    if(r->requester) json_set(task, "requester", care_reference("Practitioner", r->requester, NULL));
    if(r->owner) json_set(task, "owner", json_copy(r->owner));
    rc = care_write(c, "Task", NULL, task, 0, true, task_out, is);
    json_free(task);
    return rc;
}

/* POST ServiceRequest/$refer: a referral (ServiceRequest + Task) in one transaction. */
static void refer(store_conn *c, const http_request *req, http_response *res) {
    if(!care_begin(req, res, "care.refer", "POST", "$refer")) return;
    if(!access_permit(res, "ServiceRequest", 'c', "create") || !access_permit(res, "Task", 'c', "create")) return;
    json_value *in = parse_parameters(req, res);
    if(!in) return;
    fhir_issues is = FHIR_ISSUES_INIT;
    char pid[72], hsid[72], reqid[72];
    json_value *hs = NULL;
    bool no_service = false;
    record_result a = {0}, b = {0};
    bool ok = param_ref(in, "patient", "Patient", pid, true, &is);
    ok = param_ref(in, "service", "HealthcareService", hsid, true, &is) && ok;
    ok = param_ref(in, "requester", "Practitioner", reqid, false, &is) && ok;
    const char *priority = json_string(json_get(param(in, "priority"), "valueCode"));
    if(!priority) priority = "routine";
    bool known = false;
    for(size_t i = 0; i < 4; i++) known = known || strcmp(priority, PRIORITIES[i]) == 0;
    if(!known) {
        fhir_issues_add(&is, "error", "code-invalid", "priority",
                        "priority '%s' is not one of routine, urgent, asap, stat", priority);
        ok = false;
    }
    const char *reason = json_string(json_get(param(in, "reason"), "valueString"));
    const char *note = json_string(json_get(param(in, "note"), "valueString"));
    if(!reason || !*reason) {
        fhir_issues_add(&is, "error", "required", "reason", "say why the person is referred (parameter 'reason')");
        ok = false;
    }
    if(ok && !(hs = care_read(c, "HealthcareService", hsid, NULL))) {
        fhir_issues_add(&is, "error", "not-found", "service", "HealthcareService/%s is not in the directory", hsid);
        ok = false;
        no_service = true;
    }
    if(ok && json_get(hs, "active") && !json_boolean(json_get(hs, "active"))) {
        fhir_issues_add(&is, "error", "business-rule", "service", "%s is not taking referrals (inactive)",
                        json_string(json_get(hs, "name")));
        ok = false;
    }
    if(!ok) {
        fhir_reply_outcome(res, no_service ? 404 : 422, &is);
        goto done;
    }
    char ref[96], who[160];
    care_actor(ref, who);
    if(!reqid[0] && ref[0]) snprintf(reqid, sizeof reqid, "%.71s", ref + 13);
    const char *name = json_string(json_get(hs, "name"));
    json_value *owner = param(in, "owner");
    care_referral rf = {.patient = pid, .service = hsid, .service_name = name, .priority = priority,
                        .reason = reason, .note = note, .requester = reqid[0] ? reqid : NULL,
                        .owner = owner ? json_get(owner, "valueReference") : NULL};
    kith_rc rc = store_begin(c);
    if(!rc) rc = care_make_referral(c, &rf, &a, &b, &is);
    if(!rc) rc = store_commit(c);
    if(rc) {
        store_rollback(c);
        fhir_reply_outcome(res, fhir_rest_status_for(rc), &is);
        goto done;
    }
    access_note("Task", b.id, pid);
    buf entries = BUF_INIT;
    size_t n = 0;
    care_bundle_entry(&entries, &n, req, a.body, a.body_len, NULL);
    care_bundle_entry(&entries, &n, req, b.body, b.body_len, NULL);
    fhir_issues_add(&is, "information", "informational", NULL, "Referred Patient/%s to %s: Task/%s", pid,
                    name ? name : hsid, b.id);
    buf oo = BUF_INIT;
    fhir_outcome_write(&oo, &is);
    care_bundle_entry(&entries, &n, req, oo.data, oo.len, NULL);
    buf_free(&oo);
    care_reply_bundle(res, "collection", &entries, -1);
    res->status = 201;
    char loc[200];
    snprintf(loc, sizeof loc, "%s/fhir/Task/%s/_history/%lld", req->base_url, b.id, (long long)b.version);
    http_response_header(res, "Location", loc);
    buf_free(&entries);
done:
    record_result_free(&a);
    record_result_free(&b);
    json_free(hs);
    json_free(in);
    fhir_issues_free(&is);
}

/* ---- the timeline ------------------------------------------------------------ */

typedef struct event {
    char *when, *what, *who, *item;
    int64_t seq;
} event;

typedef struct timeline {
    event *v;
    size_t n, cap;
    buf versions; /* Bundle entries: every version, oldest first */
    size_t nversions;
    const http_request *req;
    char prev_status[32], prev_owner[160];
} timeline;

/* A version kept while a history is read (store_history runs newest first). */
typedef struct kept {
    store_resource *v;
    size_t n, cap;
} kept;

static int keep_version(void *ctx, const store_resource *r) {
    kept *k = ctx;
    if(k->n == k->cap) k->v = xrealloc(k->v, (k->cap = k->cap ? k->cap * 2 : 8) * sizeof *k->v);
    store_resource *c = &k->v[k->n++];
    memset(c, 0, sizeof *c);
    c->type = xstrdup(r->type);
    c->id = xstrdup(r->id);
    c->version = r->version;
    c->last_updated = xstrdup(r->last_updated ? r->last_updated : "");
    c->deleted = r->deleted;
    c->body = r->body ? xstrdup(r->body) : NULL;
    c->body_len = r->body_len;
    c->seq = r->seq;
    return 0;
}

static int cmp_event(const void *a, const void *b) {
    const event *x = a, *y = b;
    int c = strcmp(x->when, y->when);
    return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void event_add(timeline *t, const store_resource *r, const char *what, const char *who) {
    if(t->n == t->cap) t->v = xrealloc(t->v, (t->cap = t->cap ? t->cap * 2 : 16) * sizeof *t->v);
    event *e = &t->v[t->n++];
    char item[200];
    snprintf(item, sizeof item, "%s/%s/_history/%lld", r->type, r->id, (long long)r->version);
    *e = (event){xstrdup(r->last_updated), xstrdup(what), xstrdup(who), xstrdup(item), r->seq};
}

/* One version of a Task, ServiceRequest or Communication: what it changed. */
static void timeline_version(timeline *t, const store_resource *r) {
    json_value *v = NULL;
    if(r->deleted || !r->body || json_parse(r->body, r->body_len, &v, NULL, 0)) {
        event_add(t, r, "Deleted", "");
        return;
    }
    json_value *by = json_get(care_ext_get(json_get(v, "meta"), CARE_EXT "changed-by"), "valueReference");
    const char *who = json_string(json_get(by, "display"));
    const char *status = json_string(json_get(v, "status"));
    char what[600];
    if(strcmp(r->type, "Task") == 0) {
        const char *owner = care_ref_of(json_get(v, "owner"));
        const char *reason = json_string(json_get(json_get(v, "statusReason"), "text"));
        const char *bs = json_string(json_get(json_get(v, "businessStatus"), "text"));
        if(r->version == 1)
            snprintf(what, sizeof what, "Referral %s; owner %s", status ? status : "?", owner ? owner : "nobody");
        else if(status && strcmp(t->prev_status, status) != 0)
            snprintf(what, sizeof what, "Status %s -> %s%s%s", t->prev_status, status, reason ? ": " : "",
                     reason ? reason : "");
        else if(owner && strcmp(t->prev_owner, owner) != 0)
            snprintf(what, sizeof what, "Reassigned from %s to %s", t->prev_owner, owner);
        else
            snprintf(what, sizeof what, "Updated%s%s", bs ? ": " : "", bs ? bs : "");
        snprintf(t->prev_status, sizeof t->prev_status, "%s", status ? status : "");
        snprintf(t->prev_owner, sizeof t->prev_owner, "%s", owner ? owner : "");
    } else if(strcmp(r->type, "Communication") == 0) {
        const char *text = json_string(json_get(json_array_at(json_get(v, "payload"), 0), "contentString"));
        snprintf(what, sizeof what, "%s: %s", r->version == 1 ? "Message" : "Message read", text ? text : "");
    } else {
        snprintf(what, sizeof what, "%s (%s)", r->version == 1 ? "Request made" : "Request updated",
                 status ? status : "?");
    }
    event_add(t, r, what, who ? who : "");
    care_bundle_entry(&t->versions, &t->nversions, t->req, r->body, r->body_len, NULL);
    json_free(v);
}

static void timeline_of(store_conn *c, timeline *t, const char *type, const char *id) {
    store_history_query q = {.type = type, .id = id, .count = 1000};
    kept k = {0};
    int64_t total;
    store_history(c, &q, keep_version, &k, &total);
    t->prev_status[0] = t->prev_owner[0] = '\0';
    for(size_t i = k.n; i-- > 0;) timeline_version(t, &k.v[i]);
    for(size_t i = 0; i < k.n; i++) store_resource_free(&k.v[i]);
    free(k.v);
}

/* GET Task/{id}/$timeline or ServiceRequest/{id}/$timeline: who did what, when. */
static void referral_timeline(store_conn *c, const http_request *req, http_response *res, const char *type,
                              const char *id) {
    if(!care_begin(req, res, "care.timeline", "GET", "$timeline")) return;
    char task_id[72] = "", sr_id[72] = "", t[64];
    json_value *task = NULL;
    if(strcmp(type, "Task") == 0) {
        snprintf(task_id, sizeof task_id, "%s", id);
        task = care_read(c, "Task", id, NULL);
        if(!care_ref_split(care_ref_of(json_get(task, "focus")), t, sr_id) || strcmp(t, "ServiceRequest") != 0)
            sr_id[0] = '\0';
    } else {
        json_value *sr = care_read(c, "ServiceRequest", id, NULL);
        if(sr) snprintf(sr_id, sizeof sr_id, "%s", id);
        json_free(sr);
        char q[160], **ids;
        size_t n;
        snprintf(q, sizeof q, "focus=ServiceRequest/%s", id);
        if(sr_id[0] && !care_find(c, "Task", q, 1, &ids, &n)) {
            if(n) snprintf(task_id, sizeof task_id, "%s", ids[0]);
            care_ids_free(ids, n);
        }
        if(task_id[0]) task = care_read(c, "Task", task_id, NULL);
    }
    if(strcmp(type, "Task") == 0 ? !task : !sr_id[0]) {
        fhir_reply_error(res, 404, "not-found", "%s/%s is not known", type, id);
        json_free(task);
        return;
    }
    char pid[72];
    if(care_ref_split(care_ref_of(json_get(task, "for")), t, pid)) access_note(type, id, pid);
    timeline tl = {.req = req};
    if(sr_id[0]) timeline_of(c, &tl, "ServiceRequest", sr_id);
    if(task_id[0]) timeline_of(c, &tl, "Task", task_id);
    /* messages about the referral */
    for(int k = 0; k < 2; k++) {
        const char *about = k ? task_id : sr_id, *atype = k ? "Task" : "ServiceRequest";
        if(!about[0]) continue;
        char q[160], **ids;
        size_t n;
        snprintf(q, sizeof q, "based-on=%s/%s", atype, about);
        if(care_find(c, "Communication", q, 200, &ids, &n)) continue;
        for(size_t i = 0; i < n; i++) timeline_of(c, &tl, "Communication", ids[i]);
        care_ids_free(ids, n);
    }
    qsort(tl.v, tl.n, sizeof *tl.v, cmp_event);
    /* a List of events, then every version they point at */
    buf list = BUF_INIT;
    buf_printf(&list, "{\"resourceType\":\"List\",\"status\":\"current\",\"mode\":\"snapshot\",\"title\":"
                      "\"Timeline of %s/%s\",\"entry\":[", type, id);
    for(size_t i = 0; i < tl.n; i++) {
        event *e = &tl.v[i];
        buf_printf(&list, "%s{\"date\":\"%s\",\"flag\":{\"text\":", i ? "," : "", e->when);
        care_json_string(&list, e->what);
        buf_puts(&list, "},\"item\":{\"reference\":");
        care_json_string(&list, e->item);
        if(e->who[0]) {
            buf_puts(&list, ",\"display\":");
            care_json_string(&list, e->who);
        }
        buf_puts(&list, "}}");
        free(e->when);
        free(e->what);
        free(e->who);
        free(e->item);
    }
    buf_puts(&list, "]}");
    buf entries = BUF_INIT;
    size_t n = 0;
    care_bundle_entry(&entries, &n, req, list.data, list.len, NULL);
    if(tl.versions.len) {
        buf_putc(&entries, ',');
        buf_append(&entries, tl.versions.data, tl.versions.len);
        n += tl.nversions;
    }
    care_reply_bundle(res, "collection", &entries, -1);
    buf_free(&entries);
    buf_free(&list);
    buf_free(&tl.versions);
    free(tl.v);
    json_free(task);
}

/* ---- escalation ------------------------------------------------------------------ */

/* The team of an owner: an Organization itself, or a Practitioner's first role's organisation. */
static bool owner_team(store_conn *c, const char *owner, char org[72]) {
    char type[64], id[72];
    org[0] = '\0';
    if(!care_ref_split(owner, type, id)) return false;
    if(strcmp(type, "Organization") == 0) {
        snprintf(org, 72, "%s", id);
        return true;
    }
    if(strcmp(type, "Practitioner") != 0) return false;
    char q[160], **ids;
    size_t n;
    snprintf(q, sizeof q, "practitioner=Practitioner/%s&active=true", id);
    if(care_find(c, "PractitionerRole", q, 1, &ids, &n)) return false;
    json_value *role = n ? care_read(c, "PractitionerRole", ids[0], NULL) : NULL;
    care_ids_free(ids, n);
    char t[64];
    bool ok = care_ref_split(care_ref_of(json_get(role, "organization")), t, org) && strcmp(t, "Organization") == 0;
    json_free(role);
    if(!ok) org[0] = '\0';
    return ok;
}

/* Tell the team (and its leads: PractitionerRoles coded team-lead) that a Task is overdue. */
static kith_rc notify_team(store_conn *c, const json_value *task, const char *task_id, const char *org,
                           const char *pid, fhir_issues *is) {
    json_value *m = json_new_object();
    char now[32];
    care_instant(care_now(), now);
    json_set(m, "resourceType", json_new_string("Communication"));
    json_set(m, "status", json_new_string("completed"));
    json_set(m, "category", json_new_array());
    json_append(json_get(m, "category"), care_concept(CARE_CS "message-category", "escalation", "Escalation"));
    json_set(m, "priority", json_new_string("urgent"));
    json_set(m, "subject", care_reference("Patient", pid, NULL));
    json_set(m, "basedOn", json_new_array());
    json_append(json_get(m, "basedOn"), care_reference("Task", task_id, NULL));
    json_set(m, "sent", json_new_string(now));
    json_value *to = json_new_array();
    json_append(to, care_reference("Organization", org, NULL));
    char q[200], **ids;
    size_t n;
    snprintf(q, sizeof q, "organization=Organization/%s&role=" CARE_CS "staff-role|team-lead", org);
    if(!care_find(c, "PractitionerRole", q, 20, &ids, &n)) {
        for(size_t i = 0; i < n; i++) {
            json_value *r = care_read(c, "PractitionerRole", ids[i], NULL);
            const char *pr = care_ref_of(json_get(r, "practitioner"));
            if(pr) {
                json_value *ref = json_new_object();
                json_set(ref, "reference", json_new_string(pr));
                json_append(to, ref);
            }
            json_free(r);
        }
        care_ids_free(ids, n);
    }
    json_set(m, "recipient", to);
    json_set(m, "sender", json_new_object());
    json_set(json_get(m, "sender"), "display", json_new_string("Kith escalation"));
    char text[600];
    const char *due = json_string(json_get(json_get(json_get(task, "restriction"), "period"), "end"));
    snprintf(text, sizeof text, "Overdue: %s (Task/%s) was due %s and is still %s, owner %s.",
             json_string(json_get(task, "description")) ? json_string(json_get(task, "description")) : "a referral",
             task_id, due ? due : "?", json_string(json_get(task, "status")), care_ref_of(json_get(task, "owner")));
    json_value *pl = json_new_object();
    json_set(pl, "contentString", json_new_string(text));
    json_set(m, "payload", json_new_array());
    json_append(json_get(m, "payload"), pl);
    kith_rc rc = care_write(c, "Communication", NULL, m, 0, true, NULL, is);
    json_free(m);
    return rc;
}

static kith_rc flag_person(store_conn *c, const char *task_id, const char *pid, const json_value *task,
                           fhir_issues *is) {
    json_value *f = json_new_object();
    char now[32], text[300];
    care_instant(care_now(), now);
    json_set(f, "resourceType", json_new_string("Flag"));
    json_set(f, "status", json_new_string("active"));
    json_set(f, "category", json_new_array());
    json_append(json_get(f, "category"), care_concept(CARE_CS "flag-category", "overdue-referral", "Overdue referral"));
    snprintf(text, sizeof text, "Referral overdue: %s",
             json_string(json_get(task, "description")) ? json_string(json_get(task, "description")) : task_id);
    json_value *code = care_concept(CARE_CS "flag-category", "overdue-referral", "Overdue referral");
    json_set(code, "text", json_new_string(text));
    json_set(f, "code", code);
    json_set(f, "subject", care_reference("Patient", pid, NULL));
    json_set(f, "period", json_new_object());
    json_set(json_get(f, "period"), "start", json_new_string(now));
    care_ext_set(f, CARE_EXT "flag-task", "valueReference", care_reference("Task", task_id, NULL));
    kith_rc rc = care_write(c, "Flag", NULL, f, 0, true, NULL, is);
    json_free(f);
    return rc;
}

kith_rc care_escalate(store_conn *c, int64_t now, long *count) {
    char at[32], q[200], **ids;
    size_t n;
    *count = 0;
    care_instant(now, at);
    snprintf(q, sizeof q, "due=lt%s&status=draft,requested,received,accepted,in-progress,on-hold", at);
    kith_rc rc = care_find(c, "Task", q, CARE_MAX_IDS, &ids, &n);
    if(rc) return rc;
    for(size_t i = 0; i < n && !rc; i++) {
        int64_t version;
        json_value *task = care_read(c, "Task", ids[i], &version);
        if(!task || care_concept_has(json_get(task, "businessStatus"), CARE_CS "referral-status", "overdue")) {
            json_free(task);
            continue;
        }
        char t[64], pid[72], org[72];
        bool person = care_ref_split(care_ref_of(json_get(task, "for")), t, pid) && strcmp(t, "Patient") == 0;
        json_set(task, "businessStatus", care_concept(CARE_CS "referral-status", "overdue", "Overdue"));
        fhir_issues is = FHIR_ISSUES_INIT;
        rc = store_begin(c);
        if(!rc) rc = care_write(c, "Task", ids[i], task, version, true, NULL, &is);
        if(!rc && person) rc = flag_person(c, ids[i], pid, task, &is);
        if(!rc && person && owner_team(c, care_ref_of(json_get(task, "owner")), org))
            rc = notify_team(c, task, ids[i], org, pid, &is);
        if(!rc) rc = store_commit(c);
        if(rc) {
            store_rollback(c);
            log_event(LOG_WARN, "escalation failed", "\"task\":\"%s\",\"error\":\"%s\"", ids[i],
                      kith_rc_name(rc));
            if(rc == KITH_ECONFLICT) rc = KITH_OK; /* changed meanwhile: the next sweep looks again */
        } else {
            (*count)++;
        }
        fhir_issues_free(&is);
        json_free(task);
    }
    care_ids_free(ids, n);
    return rc;
}

/* POST Task/$escalate: run the sweep now (for team leads and tests); answers how many. */
static void escalate_now(store_conn *c, const http_request *req, http_response *res) {
    if(!care_begin(req, res, "care.escalate", "POST", "$escalate")) return;
    if(!access_permit(res, "Task", 'u', "update")) return;
    long count = 0;
    kith_rc rc = care_escalate(c, care_now(), &count);
    if(rc) {
        fhir_reply_error(res, fhir_rest_status_for(rc), "exception", "escalation failed: %s", kith_rc_name(rc));
        return;
    }
    res->status = 200;
    res->content_type = "application/fhir+json";
    buf_printf(&res->body, "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"escalated\","
                           "\"valueInteger\":%ld}]}", count);
}

/* ---- leavers ------------------------------------------------------------------------ */

kith_rc care_reassign_leaver(store_conn *c, const char *practitioner, const char *org, long *count) {
    char q[200], **ids;
    size_t n;
    *count = 0;
    if(!org || !*org) return KITH_EINVAL;
    snprintf(q, sizeof q, "open-owner=Practitioner/%s", practitioner);
    kith_rc rc = care_find(c, "Task", q, CARE_MAX_IDS, &ids, &n);
    if(rc) return rc;
    for(size_t i = 0; i < n && !rc; i++) {
        int64_t version;
        json_value *task = care_read(c, "Task", ids[i], &version);
        if(!task) continue;
        json_set(task, "owner", care_reference("Organization", org, "Team duty owner"));
        fhir_issues is = FHIR_ISSUES_INIT;
        rc = care_write(c, "Task", ids[i], task, version, false, NULL, &is);
        if(!rc) (*count)++;
        fhir_issues_free(&is);
        json_free(task);
    }
    care_ids_free(ids, n);
    return rc;
}

/* ---- read receipts ------------------------------------------------------------------- */

/* POST Communication/{id}/$mark-read: the reader's receipt, once per reader. */
static void mark_read(store_conn *c, const http_request *req, http_response *res, const char *id) {
    if(!care_begin(req, res, "care.mark-read", "POST", "$mark-read")) return;
    if(!access_permit(res, "Communication", 'u', "update")) return;
    int64_t version;
    json_value *m = care_read(c, "Communication", id, &version);
    if(!m) {
        fhir_reply_error(res, 404, "not-found", "Communication/%s is not known", id);
        return;
    }
    char t[64], pid[72];
    if(care_ref_split(care_ref_of(json_get(m, "subject")), t, pid)) access_note("Communication", id, pid);
    char ref[96], who[160], now[32];
    care_actor(ref, who);
    care_instant(care_now(), now);
    json_value *ext = json_get(m, "extension");
    bool already = false;
    for(size_t i = 0; i < json_array_len(ext); i++) {
        json_value *e = json_array_at(ext, i);
        const char *u = json_string(json_get(e, "url"));
        if(!u || strcmp(u, CARE_EXT "read-receipt") != 0) continue;
        json_value *by = json_get(care_ext_get(e, "reader"), "valueReference");
        const char *d = json_string(json_get(by, "display"));
        if(d && strcmp(d, who) == 0) already = true;
    }
    fhir_issues is = FHIR_ISSUES_INIT;
    kith_rc rc = KITH_OK;
    record_result r = {0};
    if(!already) {
        json_value *e = json_new_object(), *sub = json_new_array();
        json_set(e, "url", json_new_string(CARE_EXT "read-receipt"));
        json_value *reader = json_new_object(), *rr = json_new_object();
        json_set(reader, "url", json_new_string("reader"));
        if(ref[0]) json_set(rr, "reference", json_new_string(ref));
        json_set(rr, "display", json_new_string(who));
        json_set(reader, "valueReference", rr);
        json_value *when = json_new_object();
        json_set(when, "url", json_new_string("read"));
        json_set(when, "valueDateTime", json_new_string(now));
        json_append(sub, reader);
        json_append(sub, when);
        json_set(e, "extension", sub);
        if(json_kind_of(ext) != JSON_ARRAY) json_set(m, "extension", ext = json_new_array());
        json_append(ext, e);
        if(!json_get(m, "received")) json_set(m, "received", json_new_string(now));
        rc = care_write(c, "Communication", id, m, version, false, &r, &is);
    }
    if(rc) {
        fhir_reply_outcome(res, fhir_rest_status_for(rc), &is);
    } else {
        res->status = 200;
        res->content_type = "application/fhir+json";
        if(r.body) {
            buf_append(&res->body, r.body, r.body_len);
        } else {
            char *text = json_to_text(m, NULL);
            buf_puts(&res->body, text);
            free(text);
        }
    }
    record_result_free(&r);
    fhir_issues_free(&is);
    json_free(m);
}

bool care_referral_operation(store_conn *c, const http_request *req, http_response *res, char *const *seg,
                             int nseg) {
    const char *op = seg[nseg - 1];
    if(nseg == 2 && strcmp(seg[0], "ServiceRequest") == 0 && strcmp(op, "$refer") == 0)
        refer(c, req, res);
    else if(nseg == 2 && strcmp(seg[0], "Task") == 0 && strcmp(op, "$escalate") == 0)
        escalate_now(c, req, res);
    else if(nseg == 3 && (strcmp(seg[0], "Task") == 0 || strcmp(seg[0], "ServiceRequest") == 0) &&
            strcmp(op, "$timeline") == 0)
        referral_timeline(c, req, res, seg[0], seg[1]);
    else if(nseg == 3 && strcmp(seg[0], "Communication") == 0 && strcmp(op, "$mark-read") == 0)
        mark_read(c, req, res, seg[1]);
    else
        return false;
    return true;
}
