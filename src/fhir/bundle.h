/*
 * bundle.h — batch and transaction Bundles (POST /fhir).
 */
#ifndef KITH_FHIR_BUNDLE_H
#define KITH_FHIR_BUNDLE_H
#include "fhir/rest.h"

#define BUNDLE_MAX_ENTRIES 10000

/* Process a batch or transaction Bundle posted to the FHIR base. */
void fhir_bundle_handle(fhir_rest *api, store_conn *c, const http_request *req, http_response *res);

#endif
