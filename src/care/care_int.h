/*
 * care_int.h — helpers shared by the files of src/care/ (not for other modules).
 */
#ifndef KITH_CARE_INT_H
#define KITH_CARE_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/workday.h"
#include "care/care.h"
#include "fhir/record.h"

#define CARE_EXT CARE_SYS "StructureDefinition/"
#define CARE_CS CARE_SYS "CodeSystem/"
#define CARE_MAX_IDS 5000

/* Split "Type/id" (a relative reference) into its parts; false if it is not one. */
bool care_ref_split(const char *ref, char type[64], char id[72]);
/* The reference string of a Reference element (obj.reference), or NULL. */
const char *care_ref_of(const json_value *reference);
/* Read and parse the current version of type/id through c (so the viewer
 * applies); NULL if unknown, deleted, hidden or unparseable. *version gets
 * the version when not NULL. Caller frees. */
json_value *care_read(store_conn *c, const char *type, const char *id, int64_t *version);
/* Ids of current type resources matching a FHIR search query (at most max);
 * caller frees with care_ids_free. Problems in the query are KITH_EINVAL. */
kith_rc care_find(store_conn *c, const char *type, const char *query, size_t max, char ***ids, size_t *n);
void care_ids_free(char **ids, size_t n);
/* The first page (at most count ids, in the query's _sort order) and how many match in all. */
kith_rc care_find_page(store_conn *c, const char *type, const char *query, size_t count, char ***ids, size_t *n,
                       int64_t *total);
/* A FHIR instant in UTC for secs ("2026-11-26T17:00:00Z"). */
void care_instant(int64_t secs, char out[32]);
/* The start of a FHIR date/dateTime/instant, in seconds; false if malformed. */
bool care_time(const char *s, int64_t *secs);
/* The extension of res with url (the first), or NULL. */
json_value *care_ext_get(const json_value *res, const char *url);
/* Set the extension of res with url to {url, key: value} (value consumed), replacing any. */
void care_ext_set(json_value *res, const char *url, const char *key, json_value *value);
/* A CodeableConcept with one coding. */
json_value *care_concept(const char *system, const char *code, const char *display);
/* Does CodeableConcept cc (or an array of them) carry code (any system when system NULL)? */
bool care_concept_has(const json_value *cc, const char *system, const char *code);
/* A Reference {"reference": "Type/id"} (display may be NULL). */
json_value *care_reference(const char *type, const char *id, const char *display);

/* Who is acting, for attribution: "Practitioner/pr-1" when the request's
 * account is linked to a Practitioner (reference set), and a display such as
 * "user/jsmith"; with no request (CLI, background work), "Kith". */
void care_actor(char reference[96], char display[160]);

/* The response clock of a service: the working week from its opening hours,
 * and its target for a priority in working hours (hours true) or days. */
bool care_service_target(const json_value *service, const char *priority, int *amount, bool *hours);
void care_service_week(const json_value *service, workday_week *w);

/* Write res as type/id (id NULL: create) through the care rules, as the
 * current actor: in the caller's transaction when in_tx (it commits), else
 * in its own. if_version > 0: only over that version. Follow-ups
 * (care_after_write) run only outside a transaction. out may be NULL. */
kith_rc care_write(store_conn *c, const char *type, const char *id, json_value *res, int64_t if_version, bool in_tx,
                   record_result *out, fhir_issues *issues);

/* Start answering operation op: set the route and check the method (405 if
 * it is not `method`). False when the request was answered. */
bool care_begin(const http_request *req, http_response *res, const char *route, const char *method, const char *op);

/* A referral to make: a ServiceRequest of the service and a Task for it. */
typedef struct care_referral {
    const char *patient, *service, *service_name; /* ids; the name may be NULL */
    const char *priority, *reason, *note;         /* note may be NULL */
    const char *requester;                        /* Practitioner id, or NULL */
    const json_value *owner;                      /* a Reference, or NULL: the service's organisation */
    const char *encounter;                        /* the stay it follows, or NULL */
    const char *identifier_system, *identifier_value; /* the ServiceRequest's identifier, or NULL */
} care_referral;

/* Write the referral's ServiceRequest and Task inside the caller's
 * transaction (the care rules give the Task its owner and due date). */
kith_rc care_make_referral(store_conn *c, const care_referral *r, record_result *sr_out, record_result *task_out,
                           fhir_issues *is);

/* Task statuses: open means someone must still act. */
bool care_task_open(const char *status);

/* Reply a Bundle of type `type` ("searchset", "collection") whose entries
 * are in entries (made by care_bundle_entry); total >= 0 is written as the
 * Bundle's total. */
void care_reply_bundle(http_response *res, const char *type, const buf *entries, long total);
/* Append s as a JSON string, quotes included. */
void care_json_string(buf *b, const char *s);
/* Append one resource's JSON text as a Bundle entry (with a comma unless first). */
void care_bundle_entry(buf *entries, size_t *n, const http_request *req, const char *text, size_t len,
                       const char *mode);

#endif
