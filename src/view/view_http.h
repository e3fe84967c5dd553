/*
 * view_http.h — the SQL on FHIR $run operation of the REST API:
 * POST /fhir/ViewDefinition/$run (also /fhir/$viewdefinition-run).
 */
#ifndef KITH_VIEW_HTTP_H
#define KITH_VIEW_HTTP_H
#include "http/http.h"
#include "store/store.h"

/*
 * Answer a $run request: a Parameters body with the view (viewResource
 * inline, or viewReference to a Binary holding it as JSON) and optionally
 * _format (csv | ndjson | json), header, _limit, _since, patient, and
 * resource (inline resources to run over instead of the store). Rows come
 * from the store through c, so through the viewer (access policy) the REST
 * layer set on it: a caller gets rows only from resources they may read.
 * Errors are OperationOutcomes: 400 for a bad request or view, 422 when the
 * view fails on a resource, 403 without read access to the view's type.
 * Large results are spilled to a temporary file and streamed from it.
 * Thread-safe.
 */
void view_run_operation(store_conn *c, const http_request *req, http_response *res);

#endif
