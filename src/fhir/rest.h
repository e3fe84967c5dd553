/*
 * rest.h — the FHIR R4 REST API at /fhir (and /readyz), as an http_handler.
 */
#ifndef KITH_FHIR_REST_H
#define KITH_FHIR_REST_H
#include "fhir/outcome.h"
#include <stdbool.h>

#include "http/http.h"
#include "store/store.h"

struct auth_cache;
struct audit_log;
struct care_subs;

typedef struct fhir_rest {
    store *st;          /* borrowed */
    const char *version;/* software version for the CapabilityStatement */
    struct auth_cache *auth;  /* borrowed: resolves bearer tokens */
    struct audit_log *audit;  /* borrowed: where AuditEvents go */
    bool tls;                 /* served over TLS: session cookies are Secure */
    struct care_subs *subs;   /* borrowed: Subscriptions told of each write; may be NULL */
    const struct web_files *web; /* borrowed: the web interface's files (src/web/static.h); may be NULL */
} fhir_rest;

/* The http_handler: ctx is a fhir_rest. Thread-safe. Every /fhir request but
 * GET /fhir/metadata needs a bearer token (401 without one) and is audited. */
void fhir_rest_handle(void *ctx, const http_request *req, http_response *res);

/* An entry of a transaction Bundle being processed: writes join the open
 * store transaction instead of committing on their own. */
typedef struct rest_tx {
    const char *new_id; /* for a POST: the id assigned in advance (so urn:uuid references can point at it) */
} rest_tx;

/* Handle one request; tx non-NULL inside a transaction Bundle. */
void fhir_rest_dispatch(fhir_rest *api, const http_request *req, http_response *res, const rest_tx *tx);

/* Replies shared by the FHIR handlers: an OperationOutcome with status; one
 * issue (severity error, or information below 300) with a formatted message;
 * 405 with an Allow header. */
void fhir_reply_outcome(http_response *res, int status, const fhir_issues *is);
void fhir_reply_error(http_response *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void fhir_method_not_allowed(http_response *res, const char *allow, const char *what);

/* Append one Bundle link {"relation":..,"url":..} (after a comma unless
 * first): the url is base + path, then the applied parameters `params`
 * (already encoded), then cursor_name=cursor when cursor is non-NULL. */
void fhir_bundle_link(buf *out, bool first, const char *relation, const char *base, const char *path,
                      const buf *params, const char *cursor_name, const char *cursor);

/* HTTP status for a kith_rc (the one place this mapping lives). */
int fhir_rest_status_for(kith_rc rc);

#endif
