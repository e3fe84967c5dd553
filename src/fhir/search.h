/*
 * search.h — FHIR search: from request parameters to a store query, and
 * from its results to a searchset Bundle (with _include, _revinclude,
 * _summary, _elements, _sort, _count, _total and paging links).
 */
#ifndef KITH_FHIR_SEARCH_H
#define KITH_FHIR_SEARCH_H
#include <stdbool.h>

#include "base/buf.h"
#include "fhir/outcome.h"
#include "http/http.h"
#include "store/store.h"

#define SEARCH_DEFAULT_COUNT 50
#define SEARCH_MAX_COUNT 1000
#define SEARCH_MAX_PARAMS 100
#define SEARCH_MAX_INCLUDED 5000

typedef struct fhir_search fhir_search;

/*
 * Parse the search parameters for resource type `type`. Unknown parameters
 * are errors when strict, else ignored with a warning kept for the Bundle.
 * Malformed values are always errors. KITH_EINVAL with issues on error;
 * caller frees *out with fhir_search_free.
 */
kith_rc fhir_search_parse(const char *type, const http_param *params, size_t n, bool strict, const char *base_url,
                          fhir_search **out, fhir_issues *issues);
void fhir_search_free(fhir_search *s);

/* Run the search and append the searchset Bundle to out. */
kith_rc fhir_search_bundle(store_conn *c, fhir_search *s, const char *base_url, buf *out, fhir_issues *issues);

/* Ids of up to max matches (conditional create/update/delete); caller frees
 * each and the array. */
kith_rc fhir_search_ids(store_conn *c, fhir_search *s, size_t max, char ***ids, size_t *n);
/* The first page of ids (at most count, in the search's sort order) and, in
 * *total when not NULL, how many match in all (worklists: a page and a count
 * without reading every match). */
kith_rc fhir_search_page(store_conn *c, fhir_search *s, size_t count, char ***ids, size_t *n, int64_t *total);

#endif
