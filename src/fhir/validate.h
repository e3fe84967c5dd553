/*
 * validate.h — structural validation of a FHIR R4 resource against the
 * official StructureDefinitions (see model.h).
 */
#ifndef KITH_FHIR_VALIDATE_H
#define KITH_FHIR_VALIDATE_H
#include "base/rc.h"
#include "fhir/outcome.h"
#include "json/json.h"

/*
 * Check `resource` (a parsed JSON object) and add one issue per problem to
 * `issues`, each located by a FHIRPath-style expression such as
 * "Patient.name[0].given[1]". Returns KITH_OK when the resource is valid and
 * KITH_EINVALID when at least one error was found. Never changes resource.
 */
kith_rc fhir_validate(const json_value *resource, fhir_issues *issues);

#endif
