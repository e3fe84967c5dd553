/*
 * openreferral.h — the Open Referral UK read API of the service directory
 * at /openreferral/ (UK profile 3.0): services, service_at_locations,
 * taxonomies and taxonomy_terms, built from the HealthcareService,
 * Organization and Location resources in the store. Open to all: the
 * directory holds no personal data. docs/openreferral.md has the endpoints,
 * parameters, ids and the mapping.
 */
#ifndef KITH_CARE_OPENREFERRAL_H
#define KITH_CARE_OPENREFERRAL_H
#include "fhir/rest.h"

/* Answer a request whose path is /openreferral or starts with /openreferral/:
 * GET and HEAD only (405 otherwise), JSON bodies, errors as
 * {"status","error","message","path"}. Reads through the calling thread's
 * store connection. Thread-safe. */
void care_openreferral_handle(fhir_rest *api, const http_request *req, http_response *res);

#endif
