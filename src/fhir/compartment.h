/*
 * compartment.h — which Patient compartment a resource belongs to.
 */
#ifndef KITH_FHIR_COMPARTMENT_H
#define KITH_FHIR_COMPARTMENT_H
#include "json/json.h"

#include "store/store.h"

/*
 * The id of the Patient whose compartment resource type/id belongs to, or
 * NULL when none (caller frees). A Patient is in its own compartment; other
 * resources by the first of their compartment parameters (R4
 * CompartmentDefinition-patient, in its order) whose index row references a
 * Patient. rows are the resource's search index rows.
 */
char *fhir_patient_compartment(const char *type, const char *id, const store_index_row *rows, size_t nrows);

#endif
