/*
 * care.h — care coordination on standard FHIR resources: referrals
 * (ServiceRequest + Task) that someone owns, response clocks from the
 * service directory (HealthcareService), escalation, worklists, the care
 * team and key worker, messages with read receipts, and follow-up
 * referrals when someone leaves hospital.
 *
 * The REST API calls care_before_write before it stores a resource and
 * care_after_write once it has; care_operation_handle answers the care
 * operations ($refer, $worklist, $care-team, $timeline, $escalate,
 * $mark-read, $find, and the MDT operations of mdt.h). All run in the calling request's access context
 * (access.h), so the access policy applies to everything they read and write.
 */
#ifndef KITH_CARE_CARE_H
#define KITH_CARE_CARE_H
#include <stdbool.h>
#include <stdint.h>

#include "fhir/outcome.h"
#include "fhir/rest.h"
#include "json/json.h"
#include "store/store.h"

#define CARE_SYS "https://kith.example.org/fhir/"

/* Now for care clocks, in seconds since the epoch: the KITH_NOW environment
 * variable (a FHIR dateTime) when set, so tests and demonstrations can move
 * time, else the real time. */
int64_t care_now(void);

/* What care_before_write learnt, for the write that follows. */
typedef struct care_check {
    int64_t checked_version; /* the version the rules were checked against (0: a new resource) */
} care_check;

/*
 * Apply the rules for writing res (parsed, changed in place) as type/id
 * (id NULL for a create) through c: a Task's status may only move along
 * the referral state machine (409 naming the allowed moves), needs a reason
 * to be rejected or put on hold, and always has an owner while open; a new
 * referral Task gets its owner and due date from the service it is for.
 * Care resources are stamped with who changed them. Warnings (a duplicate
 * referral) go to issues with severity "warning". Returns KITH_OK, or
 * KITH_ECONFLICT / KITH_EINVALID / KITH_EINVAL with an error in issues.
 */
kith_rc care_before_write(fhir_rest *api, store_conn *c, const char *type, const char *id, json_value *res,
                          care_check *w, fhir_issues *issues);

/* After type/id was stored as body: follow-up work (a discharge creates the
 * follow-up referrals its pathway needs). Problems are logged, not failed:
 * the write itself stands. */
void care_after_write(fhir_rest *api, store_conn *c, const char *type, const char *id, const char *body,
                      size_t len);

/* Answer a care operation; false if seg names none (the caller goes on). */
bool care_operation_handle(fhir_rest *api, store_conn *c, const http_request *req, http_response *res,
                           char *const *seg, int nseg);

/*
 * Overdue referrals: every open Task past its due date that is not yet
 * marked overdue gets business status "overdue", a Flag on the person and
 * a Communication to the owning team's lead. *count gets how many. Runs
 * with whatever access c has (none set: the whole store).
 */
kith_rc care_escalate(store_conn *c, int64_t now, long *count);

/*
 * A member of staff left (their account was disabled): every open Task
 * owned by Practitioner/practitioner moves to the duty owner of their team
 * (Organization/org), as a new version noting why. *count gets how many.
 */
kith_rc care_reassign_leaver(store_conn *c, const char *practitioner, const char *org, long *count);

/* The Subscriptions the care module's own writes ($refer, escalation,
 * discharge follow-ups) are told of. Set once before serving (NULL: none). */
struct care_subs;
void care_set_subscriptions(struct care_subs *s);

/* The server's escalation sweep: care_escalate every interval_seconds on a
 * thread of its own (NULL when interval_seconds <= 0 or it cannot start). */
typedef struct care_sweeper care_sweeper;
care_sweeper *care_sweeper_start(store *st, int interval_seconds);
/* Stop the sweep (waits for a sweep in progress) and free. NULL is fine. */
void care_sweeper_stop(care_sweeper *s);

#endif
