/*
 * operations.h — FHIR operations ($name) of the REST API: bulk data
 * $export (kick-off, status, files) and Patient $everything. Operations
 * Kith does not implement get 501.
 */
#ifndef KITH_FHIR_OPERATIONS_H
#define KITH_FHIR_OPERATIONS_H
#include "fhir/rest.h"

/*
 * Answer a request whose path after /fhir (split into nseg segments, each
 * borrowed) names an operation: seg[0] or seg[nseg-1] starts with '$'.
 * c is the calling thread's store connection; tx non-NULL inside a
 * transaction Bundle. Thread-safe.
 */
void fhir_operation_handle(fhir_rest *api, store_conn *c, const http_request *req, http_response *res,
                           char *const *seg, int nseg, const rest_tx *tx);

#endif
