/*
 * patch.h — JSON Patch (RFC 6902) for PATCH on a resource.
 */
#ifndef KITH_FHIR_PATCH_H
#define KITH_FHIR_PATCH_H
#include "base/rc.h"
#include "fhir/outcome.h"
#include "json/json.h"

#define PATCH_MAX_OPS 10000

/*
 * Apply the operations in `patch` (a JSON array) to `doc` in place, in
 * order. On the first failing operation returns KITH_EINVAL (malformed
 * operation or path) or KITH_ECONFLICT (a failed "test") with an issue
 * naming the operation; doc may then be partly changed, so callers patch a
 * copy.
 */
kith_rc json_patch_apply(json_value *doc, const json_value *patch, fhir_issues *issues);


/*
 * Apply a FHIRPath Patch (a Parameters resource whose "operation"
 * parameters have parts type, path, name, value, index, source,
 * destination) to the resource doc in place. Same error contract as
 * json_patch_apply; callers patch a copy.
 */
kith_rc fhirpath_patch_apply(json_value *doc, const json_value *parameters, fhir_issues *issues);

#endif
