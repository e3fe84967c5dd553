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

/* HTTP status for a kith_rc (the one place this mapping lives). */
int fhir_rest_status_for(kith_rc rc);

#endif
