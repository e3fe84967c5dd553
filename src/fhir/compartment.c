/*
 * compartment.c — the Patient compartment key of a resource, from the R4
 * CompartmentDefinition for Patient (generated into fhir_search.c): the
 * first compartment parameter, in the definition's order, whose index row
 * references a Patient names the compartment. No state; thread-safe.
 */
#include "fhir/compartment.h"

#include <string.h>

#include "base/mem.h"
#include "fhir/searchparam.h"

char *fhir_patient_compartment(const char *type, const char *id, const store_index_row *rows, size_t nrows) {
    if(strcmp(type, "Patient") == 0) return xstrdup(id);
    const char *params = fhir_patient_compartment_params(type);
    /* Kith keeps a Task in the record of the person it is for: R4's
     * CompartmentDefinition leaves Task out, but a Task about a person says
     * as much about them as a referral does (and the access policy and
     * $everything go by this key). */
    if(!params && strcmp(type, "Task") == 0) params = "patient";
    if(!params) return NULL;
    for(const char *p = params; *p;) {
        size_t n = strcspn(p, ",");
        for(size_t i = 0; i < nrows; i++) {
            const store_index_row *r = &rows[i];
            if(r->kind == STORE_IX_REFERENCE && r->a && strcmp(r->a, "Patient") == 0 && r->b && *r->b &&
               strlen(r->param) == n && strncmp(r->param, p, n) == 0)
                return xstrdup(r->b);
        }
        p += n;
        if(*p) p++;
    }
    return NULL;
}
