/*
 * task.c — the rules every write of a care resource follows
 * (care_before_write): the referral Task's state machine, its owner, its
 * response clock, the duplicate referral warning, and attribution.
 *
 * A referral is a ServiceRequest (what is asked, of which service:
 * performer HealthcareService) and a Task that tracks it (focus the
 * ServiceRequest, for the person, owner who must act now). Its status moves
 *
 *   draft -> requested -> received -> accepted | rejected (reason)
 *   accepted -> in-progress <-> on-hold (reason) -> completed | cancelled | failed
 *
 * and nowhere else; any open Task may be cancelled, and any may be marked
 * entered-in-error. A new Task starts as draft or requested (records-management
 * systems migrating Tasks from elsewhere may bring them in any status). Once the service responds (accepts or rejects) the
 * response clock stops: the due date moves into the response-due extension
 * with the time it was answered, so indicators can count answers in time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "care/care_int.h"
#include "care/subscription.h"
#include "fhir/access.h"

typedef struct move {
    const char *from;
    const char *to; /* space-separated */
} move;

static const move MOVES[] = {
    {"draft", "requested cancelled"},
    {"requested", "received accepted rejected cancelled"},
    {"received", "accepted rejected cancelled"},
    {"accepted", "in-progress on-hold completed cancelled"},
    {"in-progress", "on-hold completed failed cancelled"},
    {"on-hold", "in-progress completed failed cancelled"},
    {"rejected", ""},
    {"completed", ""},
    {"cancelled", ""},
    {"failed", ""},
    {"entered-in-error", ""},
};

/* The statuses a Task in `from` may move to (NULL: from is not one Kith's referrals use). */
static const char *allowed_moves(const char *from) {
    for(size_t i = 0; i < sizeof MOVES / sizeof *MOVES; i++)
        if(strcmp(MOVES[i].from, from) == 0) return MOVES[i].to;
    return NULL;
}

static bool word_in(const char *list, const char *w) {
    size_t n = strlen(w);
    for(const char *p = list; *p;) {
        size_t k = strcspn(p, " ");
        if(k == n && strncmp(p, w, n) == 0) return true;
        p += k;
        while(*p == ' ') p++;
    }
    return false;
}

static bool has_reason(const json_value *task) {
    json_value *r = json_get(task, "statusReason");
    const char *text = json_string(json_get(r, "text"));
    return (text && *text) || json_array_len(json_get(r, "coding")) > 0;
}

/* The HealthcareService a referral Task is for: its focus ServiceRequest's
 * performer. Fills sr_id and service_id (empty when not found). */
static json_value *referral_service(store_conn *c, const json_value *task, char sr_id[72], char service_id[72]) {
    char type[64];
    sr_id[0] = service_id[0] = '\0';
    if(!care_ref_split(care_ref_of(json_get(task, "focus")), type, sr_id) || strcmp(type, "ServiceRequest") != 0) {
        sr_id[0] = '\0';
        return NULL;
    }
    json_value *sr = care_read(c, "ServiceRequest", sr_id, NULL);
    json_value *perf = json_get(sr, "performer");
    for(size_t i = 0; i < json_array_len(perf); i++) {
        char id[72];
        if(care_ref_split(care_ref_of(json_array_at(perf, i)), type, id) && strcmp(type, "HealthcareService") == 0) {
            snprintf(service_id, 72, "%s", id);
            break;
        }
    }
    return sr;
}

static void business_status(json_value *task, const char *code, const char *display) {
    json_set(task, "businessStatus", care_concept(CARE_CS "referral-status", code, display));
}

/* A new referral: owner (the service's team) and due date from its response target. */
static void start_clock(store_conn *c, json_value *task, fhir_issues *issues) {
    char sr_id[72], hs_id[72];
    json_value *sr = referral_service(c, task, sr_id, hs_id);
    json_value *hs = hs_id[0] ? care_read(c, "HealthcareService", hs_id, NULL) : NULL;
    if(hs && !json_get(task, "owner")) {
        json_value *by = json_get(hs, "providedBy");
        if(care_ref_of(by)) json_set(task, "owner", json_copy(by));
    }
    const char *priority = json_string(json_get(task, "priority"));
    if(!priority) priority = json_string(json_get(sr, "priority"));
    if(!priority) priority = "routine";
    if(!json_get(task, "priority")) json_set(task, "priority", json_new_string(priority));
    int64_t start = care_now();
    const char *authored = json_string(json_get(task, "authoredOn"));
    char when[32];
    if(!authored || !care_time(authored, &start)) {
        start = care_now();
        care_instant(start, when);
        json_set(task, "authoredOn", json_new_string(when));
    }
    json_value *restr = json_get(task, "restriction");
    bool has_due = json_string(json_get(json_get(restr, "period"), "end")) != NULL;
    int amount;
    bool hours;
    if(hs && !has_due && care_service_target(hs, priority, &amount, &hours)) {
        workday_week w;
        care_service_week(hs, &w);
        int64_t due = hours ? workday_add_hours(&w, start, amount) : workday_add_days(&w, start, amount);
        care_instant(due, when);
        if(json_kind_of(restr) != JSON_OBJECT) {
            restr = json_new_object();
            json_set(task, "restriction", restr);
        }
        json_value *period = json_new_object();
        json_set(period, "end", json_new_string(when));
        json_set(restr, "period", period);
        has_due = true;
        fhir_issues_add(issues, "information", "informational", "Task.restriction.period.end",
                        "%s responds to %s referrals within %d working %s: due %s", json_string(json_get(hs, "name"))
                            ? json_string(json_get(hs, "name")) : hs_id, priority, amount,
                        hours ? (amount == 1 ? "hour" : "hours") : (amount == 1 ? "day" : "days"), when);
    }
    if(has_due && !json_get(task, "businessStatus")) business_status(task, "awaiting-response", "Awaiting response");
    json_free(hs);
    json_free(sr);
}

/* Warn when the same person already has an open referral to the same service. */
static void duplicate_warning(store_conn *c, const json_value *task, const char *self, fhir_issues *issues) {
    char sr_id[72], hs_id[72], type[64], pid[72];
    json_value *sr = referral_service(c, task, sr_id, hs_id);
    json_free(sr);
    if(!hs_id[0] || !care_ref_split(care_ref_of(json_get(task, "for")), type, pid) || strcmp(type, "Patient") != 0)
        return;
    char q[256];
    snprintf(q, sizeof q, "patient=Patient/%s&status=draft,requested,received,accepted,in-progress,on-hold", pid);
    char **ids;
    size_t n;
    if(care_find(c, "Task", q, 200, &ids, &n)) return;
    for(size_t i = 0; i < n; i++) {
        if(self && strcmp(ids[i], self) == 0) continue;
        json_value *other = care_read(c, "Task", ids[i], NULL);
        char osr[72], ohs[72];
        json_value *o = referral_service(c, other, osr, ohs);
        json_free(o);
        if(strcmp(ohs, hs_id) == 0 && strcmp(osr, sr_id) != 0) {
            fhir_issues_add(issues, "warning", "duplicate", "Task.focus",
                            "Patient/%s already has an open referral to HealthcareService/%s: Task/%s (status %s)",
                            pid, hs_id, ids[i], json_string(json_get(other, "status")));
            json_free(other);
            break;
        }
        json_free(other);
    }
    care_ids_free(ids, n);
}

/* The reference of an owner, for notes: "Practitioner/pr-1". */
static const char *owner_of(const json_value *task) {
    const char *r = care_ref_of(json_get(task, "owner"));
    return r ? r : "";
}

static void add_note(json_value *task, const char *text) {
    char ref[96], who[160], now[32];
    care_actor(ref, who);
    care_instant(care_now(), now);
    json_value *notes = json_get(task, "note");
    if(json_kind_of(notes) != JSON_ARRAY) {
        notes = json_new_array();
        json_set(task, "note", notes);
    }
    json_value *n = json_new_object();
    if(ref[0])
        json_set(n, "authorReference", care_reference("Practitioner", ref + 13, NULL));
    else
        json_set(n, "authorString", json_new_string(who));
    json_set(n, "time", json_new_string(now));
    json_set(n, "text", json_new_string(text));
    json_append(notes, n);
}

/* The service answered: stop the response clock. */
static void stop_clock(json_value *task, const json_value *cur) {
    const char *due = json_string(json_get(json_get(json_get(cur, "restriction"), "period"), "end"));
    if(!due) return;
    char now[32];
    int64_t t = care_now(), d;
    care_instant(t, now);
    care_ext_set(task, CARE_EXT "response-due", "valueDateTime", json_new_string(due));
    care_ext_set(task, CARE_EXT "responded", "valueDateTime", json_new_string(now));
    bool in_time = care_time(due, &d) && t <= d;
    business_status(task, in_time ? "responded-in-time" : "responded-late",
                    in_time ? "Responded within target" : "Responded after target");
    json_value *restr = json_get(task, "restriction");
    const char *mine = json_string(json_get(json_get(restr, "period"), "end"));
    if(mine && strcmp(mine, due) == 0) {
        json_remove(json_get(restr, "period"), "end");
        if(!json_object_size(json_get(restr, "period"))) json_remove(restr, "period");
        if(!json_object_size(restr)) json_remove(task, "restriction");
    }
}

/* A records-management system (migration, backup, integration) brings Tasks
 * that began elsewhere: they may arrive in any status; every later move
 * follows the state machine as for anyone. */
static bool migrating(void) {
    access_request *ar = access_current();
    return ar && strcmp(ar->who.kind, "client") == 0 && strcmp(ar->who.role, "records-management") == 0;
}

static kith_rc task_rules(store_conn *c, const char *id, json_value *task, const json_value *cur,
                          fhir_issues *issues) {
    const char *to = json_string(json_get(task, "status"));
    const char *from = cur ? json_string(json_get(cur, "status")) : NULL;
    if(!to) return KITH_OK; /* validation reports the missing status */
    if(from && strcmp(from, to) != 0 && strcmp(to, "entered-in-error") != 0) {
        const char *allowed = allowed_moves(from);
        if(!allowed || !word_in(allowed, to)) {
            fhir_issues_add(issues, "error", "business-rule", "Task.status",
                            "a Task cannot move from %s to %s; from %s it may move to %s", from, to, from,
                            allowed && *allowed ? allowed : "nothing (it is closed)");
            return KITH_ESTATE;
        }
    }
    if(!from && strcmp(to, "draft") != 0 && strcmp(to, "requested") != 0 && strcmp(to, "entered-in-error") != 0 &&
       !migrating()) {
        fhir_issues_add(issues, "error", "business-rule", "Task.status",
                        "a new Task starts as draft or requested, not %s", to);
        return KITH_ESTATE;
    }
    if(!allowed_moves(to)) {
        fhir_issues_add(issues, "error", "business-rule", "Task.status",
                        "Kith's Tasks do not use status %s (draft, requested, received, accepted, rejected, "
                        "in-progress, on-hold, completed, cancelled, failed)", to);
        return KITH_ESTATE;
    }
    bool moved = !from || strcmp(from, to) != 0;
    if(moved && (strcmp(to, "rejected") == 0 || strcmp(to, "on-hold") == 0) && !has_reason(task)) {
        fhir_issues_add(issues, "error", "required", "Task.statusReason", "a Task %s needs a reason (statusReason)",
                        strcmp(to, "rejected") == 0 ? "that is rejected" : "put on hold");
        return KITH_EINVALID;
    }
    if(!from || (strcmp(from, "draft") == 0 && strcmp(to, "requested") == 0)) start_clock(c, task, issues);
    json_value *owner = json_get(task, "owner");
    if(care_task_open(to) && !care_ref_of(owner) && !json_get(owner, "identifier")) {
        fhir_issues_add(issues, "error", "required", "Task.owner",
                        "an open Task needs an owner (a person or a team: a reference or an identifier), and "
                        "its service does not say who");
        return KITH_EINVALID;
    }
    if(cur && strcmp(owner_of(cur), owner_of(task)) != 0) {
        char text[400];
        snprintf(text, sizeof text, "Reassigned from %s to %s", owner_of(cur), owner_of(task));
        add_note(task, text);
    }
    if(from && (strcmp(from, "requested") == 0 || strcmp(from, "received") == 0) &&
       (strcmp(to, "accepted") == 0 || strcmp(to, "rejected") == 0 || strcmp(to, "cancelled") == 0))
        stop_clock(task, cur);
    if(!cur && strcmp(to, "requested") == 0) duplicate_warning(c, task, id, issues);
    return KITH_OK;
}

/* Types whose every change says who made it. */
static bool attributed(const char *type) {
    static const char *const T[] = {"Task", "ServiceRequest", "CarePlan", "Goal", "CareTeam", "EpisodeOfCare",
                                    "Communication", "Flag", "List", "Appointment"};
    for(size_t i = 0; i < sizeof T / sizeof *T; i++)
        if(strcmp(T[i], type) == 0) return true;
    return false;
}

static void attribute(json_value *res) {
    char ref[96], who[160];
    care_actor(ref, who);
    json_value *meta = json_get(res, "meta");
    if(json_kind_of(meta) != JSON_OBJECT) {
        meta = json_new_object();
        json_set(res, "meta", meta);
    }
    json_value *r = json_new_object();
    if(ref[0]) json_set(r, "reference", json_new_string(ref));
    json_set(r, "display", json_new_string(who));
    care_ext_set(meta, CARE_EXT "changed-by", "valueReference", r);
}

kith_rc care_before_write(fhir_rest *api, store_conn *c, const char *type, const char *id, json_value *res,
                          care_check *w, fhir_issues *issues) {
    (void)api;
    memset(w, 0, sizeof *w);
    if(json_kind_of(res) != JSON_OBJECT) return KITH_OK; /* the write reports it */
    if(strcmp(type, "Subscription") == 0) return care_subs_prepare(res, issues);
    if(!attributed(type)) return KITH_OK;
    if(id) { /* one the writer may not see is "not known", as a read would say */
        store_resource r;
        kith_rc rr = store_read(c, type, id, 0, &r);
        bool hidden = rr == KITH_ENOTFOUND && r.hidden;
        store_resource_free(&r);
        if(hidden) {
            fhir_issues_add(issues, "error", "not-found", NULL, "%s/%s is not known", type, id);
            return KITH_ENOTFOUND;
        }
    }
    json_value *cur = id ? care_read(c, type, id, &w->checked_version) : NULL;
    kith_rc rc = strcmp(type, "Task") == 0 ? task_rules(c, id, res, cur, issues) : KITH_OK;
    if(!rc) attribute(res);
    json_free(cur);
    return rc;
}
