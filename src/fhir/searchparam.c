/*
 * searchparam.c — lookups over the generated search parameter table
 * (see searchparam.h). Binary search over rows sorted by (base, code).
 * No state; thread-safe.
 */
#include "fhir/searchparam.h"

#include <string.h>

static int cmp_row(const fhir_search_param *p, const char *base, const char *code) {
    int c = strcmp(p->base, base);
    return c ? c : strcmp(p->code, code);
}

/* First row with base >= base (and code >= code). */
static size_t lower_bound(const char *base, const char *code) {
    size_t lo = 0, hi = fhir_search_param_count;
    while(lo < hi) {
        size_t mid = (lo + hi) / 2;
        if(cmp_row(&fhir_search_params[mid], base, code) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const fhir_search_param *exact(const char *base, const char *code) {
    size_t i = lower_bound(base, code);
    if(i < fhir_search_param_count && cmp_row(&fhir_search_params[i], base, code) == 0) return &fhir_search_params[i];
    return NULL;
}

const fhir_search_param *fhir_search_param_find(const char *type, const char *code) {
    const fhir_search_param *p = exact(type, code);
    if(!p) p = exact("DomainResource", code);
    if(!p) p = exact("Resource", code);
    return p;
}

const fhir_search_param *fhir_search_param_of(const char *type, size_t i) {
    static const char *const BASES[] = {"Resource", "DomainResource"};
    size_t start = lower_bound(type, "");
    size_t n = 0;
    while(start + n < fhir_search_param_count && strcmp(fhir_search_params[start + n].base, type) == 0) n++;
    if(i < n) return &fhir_search_params[start + i];
    i -= n;
    for(int b = 0; b < 2; b++) {
        size_t s = lower_bound(BASES[b], "");
        size_t m = 0;
        while(s + m < fhir_search_param_count && strcmp(fhir_search_params[s + m].base, BASES[b]) == 0) m++;
        if(i < m) return &fhir_search_params[s + i];
        i -= m;
    }
    return NULL;
}

const char *fhir_sp_kind_name(fhir_sp_kind k) {
    switch(k) {
    case FHIR_SP_NUMBER: return "number";
    case FHIR_SP_DATE: return "date";
    case FHIR_SP_STRING: return "string";
    case FHIR_SP_TOKEN: return "token";
    case FHIR_SP_REFERENCE: return "reference";
    case FHIR_SP_COMPOSITE: return "composite";
    case FHIR_SP_QUANTITY: return "quantity";
    case FHIR_SP_URI: return "uri";
    case FHIR_SP_SPECIAL: return "special";
    }
    return "?";
}

const char *fhir_patient_compartment_params(const char *type) {
    size_t lo = 0, hi = fhir_patient_compartment_count;
    while(lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(fhir_patient_compartment_table[mid].type, type);
        if(c == 0) return fhir_patient_compartment_table[mid].params;
        if(c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
