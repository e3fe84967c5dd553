/*
 * access.h — who is making the current FHIR request, whether they may do
 * what they ask, and what the audit trail should say about it.
 *
 * fhir_rest_handle authenticates each request from outside and makes an
 * access_request current for the handling thread; everything the request
 * does (including the entries of a Bundle it posts) is checked against it
 * with access_permit, and handlers note the person concerned for the
 * AuditEvent. Code running with no current request (the CLI, background
 * export jobs already checked when they were started) is not restricted.
 *
 * Today's rule is the token's SMART scopes (system/, user/ and patient/
 * scopes, interactions c r u d s); the care-relationship policy will decide
 * here too. Thread-local; no locks.
 */
#ifndef KITH_FHIR_ACCESS_H
#define KITH_FHIR_ACCESS_H
#include <stdbool.h>

#include "auth/auth.h"
#include "http/http.h"

typedef struct access_request {
    auth_principal who;
    /* for the AuditEvent: the first interaction checked, and what it concerned */
    char action;         /* C R U D E */
    const char *subtype; /* static: read, vread, history, search, create, update, patch, delete, operation */
    char type[64];
    char what[160];      /* Type/id */
    char patient[72];    /* Patient id, when the request is about one person */
    bool denied;
    char detail[200];
    const struct store_viewer *viewer; /* what the store's access policy applies (NULL: nothing) */
} access_request;

/* Make r the current request of this thread (r NULL: none). */
void access_set_current(access_request *r);
access_request *access_current(void);

/*
 * May the current principal do interaction (c r u d s) on type ("*" for the
 * whole server)? subtype names the FHIR interaction for the audit trail. On
 * refusal writes 403 with an OperationOutcome to res and returns false.
 */
bool access_permit(http_response *res, const char *type, char interaction, const char *subtype);

/*
 * "Who has looked at this record": may the current principal search the
 * audit trail about one person (patient id)? Administrators and audit
 * systems may search all of it (as access_permit). Other staff may see
 * the entries about a person whose record the store lets them read now
 * (visible: the caller read Patient/patient under its viewer), and only
 * those. On refusal writes 403 and returns false.
 */
bool access_permit_audit_of(http_response *res, const char *patient, bool visible);

/*
 * Sensitive categories: the meta.security codes a role may not see (space-
 * separated; "" when it sees all). Codes from v3 ActCode (PSY psychiatry, SDV
 * sexual or domestic violence, HIV, STD, SEX sexual and reproductive health,
 * ETH and SUD substance use, BH behavioural health), v3 Confidentiality (R
 * restricted, V very restricted) and Kith's "safeguarding". GPs see them all;
 * social workers and team leads see safeguarding and domestic violence; the
 * other roles see none of them. Break-glass lifts this for the person.
 */
const char *access_hidden_labels(const char *role);

/* Would access_permit allow it? No reply, no audit note (for resources a
 * request brings in alongside its own: _include, _revinclude, $everything). */
bool access_allows(const char *type, char interaction);

/* Note the resource and the person the request concerns (either may be NULL). */
void access_note(const char *type, const char *id, const char *patient);

#endif
