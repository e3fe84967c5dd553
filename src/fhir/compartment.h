/*
 * compartment.h — which Patient compartment a resource belongs to.
 */
#ifndef KITH_FHIR_COMPARTMENT_H
#define KITH_FHIR_COMPARTMENT_H
#include "json/json.h"

/*
 * The id of the Patient whose compartment resource type/id belongs to, or
 * NULL when none (caller frees). A Patient is in its own compartment; other
 * resources by their patient-pointing reference elements (subject, patient,
 * beneficiary, ...) that reference "Patient/<id>".
 */
char *fhir_patient_compartment(const char *type, const char *id, const json_value *resource);

#endif
