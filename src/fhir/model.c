/*
 * model.c — look-ups over the generated FHIR R4 model tables (see model.h).
 *
 * The tables in build/gen/fhir_model.c are produced by tools/gen-model.mjs
 * and sorted at generation time, so every look-up here is a binary search
 * over static data: no allocation, no initialisation, no locks. Everything
 * returned is borrowed from static storage and safe to share between
 * threads.
 */
#include "fhir/model.h"

#include <assert.h>
#include <string.h>

/* Resource index i -> its type. */
static const fhir_type *resource_at(size_t i) {
    assert(i < fhir_model_resource_count);
    return &fhir_model_types[fhir_model_resources[i]];
}

const fhir_type *fhir_type_find(const char *name) {
    size_t lo = 0, hi = fhir_model_type_count;
    if(!name) return NULL;
    while(lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, fhir_model_str(fhir_model_types[mid].name));
        if(c == 0) return &fhir_model_types[mid];
        if(c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const fhir_type *fhir_resource_find(const char *name) {
    const fhir_type *t = fhir_type_find(name);
    return t && t->kind == FHIR_KIND_RESOURCE ? t : NULL;
}

const fhir_elem *fhir_type_elem(const fhir_type *t, const char *key) {
    const fhir_elem *v = &fhir_model_elems[t->elems];
    size_t lo = 0, hi = t->n_elems;
    while(lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, fhir_model_str(v[mid].name));
        if(c == 0) return &v[mid];
        if(c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const fhir_valueset *fhir_valueset_find(const char *url) {
    size_t lo = 0, hi = fhir_model_valueset_count;
    if(!url) return NULL;
    size_t n = strcspn(url, "|");
    while(lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = fhir_model_str(fhir_model_valuesets[mid].url);
        int c = strncmp(url, name, n);
        if(c == 0 && name[n] != '\0') c = -1; /* url[0..n) is a proper prefix of name */
        if(c == 0) return &fhir_model_valuesets[mid];
        if(c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool fhir_valueset_has(const fhir_valueset *vs, const char *code) {
    const uint32_t *v = &fhir_model_codes[vs->codes];
    size_t lo = 0, hi = vs->n_codes;
    while(lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(code, fhir_model_str(v[mid]));
        if(c == 0) return true;
        if(c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

bool fhir_type_is_resource(const char *name) {
    return fhir_resource_find(name) != NULL;
}

size_t fhir_resource_type_count(void) {
    return fhir_model_resource_count;
}

const char *fhir_resource_type_at(size_t i) {
    if(i >= fhir_model_resource_count) return NULL;
    return fhir_model_str(resource_at(i)->name);
}

/*
 * An element is named either by its JSON property ("valueQuantity") or, for
 * a choice element, by its definition name with or without the "[x]"
 * ("value[x]", "value"), as _elements and search parameters do.
 */
bool fhir_resource_has_element(const char *type, const char *element) {
    const fhir_type *t = fhir_resource_find(type);
    if(!t || !element) return false;
    if(fhir_type_elem(t, element)) return true;
    size_t n = strlen(element);
    for(size_t i = 0; i < t->n_slots; i++) {
        const fhir_slot *s = &fhir_model_slots[t->slots + i];
        if(!(s->flags & FHIR_ELEM_CHOICE)) continue;
        const char *name = fhir_model_str(s->name); /* "value[x]" */
        if(strcmp(name, element) == 0) return true;
        if(strlen(name) == n + 3 && strncmp(name, element, n) == 0) return true;
    }
    return false;
}
