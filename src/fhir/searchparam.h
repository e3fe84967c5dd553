/*
 * searchparam.h — the R4 search parameters, generated at build time from the
 * official SearchParameter definitions (tools/gen-search.mjs into
 * build/gen/fhir_search.c). One row per (base type, code), sorted by base
 * then code; each row keeps only the FHIRPath branches for its base type.
 * Rows based on "Resource" or "DomainResource" (_id, _lastUpdated, _tag,
 * _profile, _security, _source, _text, _content) apply to every type.
 * Read-only: safe from any thread.
 */
#ifndef KITH_FHIR_SEARCHPARAM_H
#define KITH_FHIR_SEARCHPARAM_H
#include <stddef.h>
#include <stdint.h>

typedef enum fhir_sp_kind {
    FHIR_SP_NUMBER,
    FHIR_SP_DATE,
    FHIR_SP_STRING,
    FHIR_SP_TOKEN,
    FHIR_SP_REFERENCE,
    FHIR_SP_COMPOSITE,
    FHIR_SP_QUANTITY,
    FHIR_SP_URI,
    FHIR_SP_SPECIAL
} fhir_sp_kind;

typedef struct fhir_sp_component {
    const char *code;       /* the component's own parameter code, e.g. "code" */
    fhir_sp_kind kind;
    const char *expression; /* relative to each composite focus */
} fhir_sp_component;

typedef struct fhir_search_param {
    const char *base;       /* "Observation", or "Resource"/"DomainResource" for common ones */
    const char *code;       /* "code", "subject", "_lastUpdated" */
    fhir_sp_kind kind;
    const char *expression; /* FHIRPath; "" when the definition has none */
    const char *url;
    const char *targets;    /* reference targets, comma-separated; "" if none */
    int ncomp;              /* composite: number of components (2, rarely 3) */
    fhir_sp_component comp[3];
} fhir_search_param;

extern const fhir_search_param fhir_search_params[];
extern const size_t fhir_search_param_count;

/* The Patient compartment (R4 CompartmentDefinition-patient): the search
 * parameters that put a resource of each type in a Patient's compartment,
 * sorted by type. */
typedef struct fhir_compartment_params {
    const char *type;   /* "Observation" */
    const char *params; /* "subject,performer": comma-separated, in the definition's order */
} fhir_compartment_params;
extern const fhir_compartment_params fhir_patient_compartment_table[];
extern const size_t fhir_patient_compartment_count;
/* The compartment parameters of type, or NULL if it has none. Borrowed, static. */
const char *fhir_patient_compartment_params(const char *type);

/* The parameter `code` for resource type `type` (its own or a common one);
 * NULL if none. Borrowed, static. */
const fhir_search_param *fhir_search_param_find(const char *type, const char *code);
/* The parameters of `type` (own and common) through a callback-free range:
 * call with i = 0, 1, ... until NULL. Borrowed, static. */
const fhir_search_param *fhir_search_param_of(const char *type, size_t i);
const char *fhir_sp_kind_name(fhir_sp_kind k);

#endif
