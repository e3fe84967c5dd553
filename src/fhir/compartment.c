/*
 * compartment.c — the Patient compartment key of a resource.
 *
 * A first approximation of the R4 CompartmentDefinition for Patient: the
 * top-level reference elements that, across R4 resources, name the patient
 * the record is about. The first that references a Patient wins.
 */
#include "fhir/compartment.h"

#include <string.h>

#include "base/mem.h"

static const char *const PATIENT_ELEMENTS[] = {"patient", "subject", "beneficiary", "individual", "for", NULL};

static char *patient_id_of(const json_value *ref) {
    const char *r = json_string(json_get(ref, "reference"));
    if(!r || strncmp(r, "Patient/", 8) != 0) return NULL;
    const char *id = r + 8;
    size_t n = strcspn(id, "/");
    if(n == 0 || n > 64) return NULL;
    return xstrndup(id, n);
}

char *fhir_patient_compartment(const char *type, const char *id, const json_value *resource) {
    if(strcmp(type, "Patient") == 0) return xstrdup(id);
    for(int i = 0; PATIENT_ELEMENTS[i]; i++) {
        json_value *v = json_get(resource, PATIENT_ELEMENTS[i]);
        if(!v) continue;
        if(json_kind_of(v) == JSON_ARRAY) {
            for(size_t k = 0; k < json_array_len(v); k++) {
                char *p = patient_id_of(json_array_at(v, k));
                if(p) return p;
            }
        } else {
            char *p = patient_id_of(v);
            if(p) return p;
        }
    }
    return NULL;
}
