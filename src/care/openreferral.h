/*
 * openreferral.h — the Open Referral UK read API of the service directory
 * at /openreferral/ (UK profile 3.0): services, service_at_locations,
 * taxonomies and taxonomy_terms, built from the HealthcareService,
 * Organization and Location resources in the store. Open to all: the
 * directory holds no personal data.
 */
#ifndef KITH_CARE_OPENREFERRAL_H
#define KITH_CARE_OPENREFERRAL_H
#include "fhir/rest.h"

/* Answer a request whose path starts with /openreferral. Thread-safe. */
void care_openreferral_handle(fhir_rest *api, const http_request *req, http_response *res);

#endif
