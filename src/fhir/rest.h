/*
 * rest.h — the FHIR R4 REST API at /fhir (and /readyz), as an http_handler.
 */
#ifndef KITH_FHIR_REST_H
#define KITH_FHIR_REST_H
#include "http/http.h"
#include "store/store.h"

typedef struct fhir_rest {
    store *st;          /* borrowed */
    const char *version;/* software version for the CapabilityStatement */
} fhir_rest;

/* The http_handler: ctx is a fhir_rest. Thread-safe. */
void fhir_rest_handle(void *ctx, const http_request *req, http_response *res);

/* An entry of a transaction Bundle being processed: writes join the open
 * store transaction instead of committing on their own. */
typedef struct rest_tx {
    const char *new_id; /* for a POST: the id assigned in advance (so urn:uuid references can point at it) */
} rest_tx;

/* Handle one request; tx non-NULL inside a transaction Bundle. */
void fhir_rest_dispatch(fhir_rest *api, const http_request *req, http_response *res, const rest_tx *tx);

/* HTTP status for a kith_rc (the one place this mapping lives). */
int fhir_rest_status_for(kith_rc rc);

#endif
