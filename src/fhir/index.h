/*
 * index.h — search index rows of a resource, computed from the official R4
 * SearchParameter expressions (searchparam.h) with Kith's FHIRPath engine.
 */
#ifndef KITH_FHIR_INDEX_H
#define KITH_FHIR_INDEX_H
#include <stddef.h>

#include "base/rc.h"
#include "json/json.h"
#include "store/store.h"

typedef struct fhir_index {
    store_index_row *rows;
    size_t n, cap;
    char **strs; /* strings the rows point at (owned) */
    size_t nstrs, capstrs;
} fhir_index;

#define FHIR_INDEX_INIT {NULL, 0, 0, NULL, 0, 0}
#define FHIR_INDEX_MAX_ROWS 20000 /* per resource: a cap against hostile resources */

/*
 * Compute the index rows of resource (of type `type`) into ix (which must be
 * empty or reset). Parameters whose expression cannot be evaluated on this
 * resource are skipped (they index nothing). Thread-safe.
 */
kith_rc fhir_index_resource(const char *type, const json_value *resource, fhir_index *ix);
void fhir_index_free(fhir_index *ix);

/* Lower-case s and strip accents (é -> e, ß -> ss) for string search. Caller frees. */
char *fhir_index_normalise(const char *s);

#endif
