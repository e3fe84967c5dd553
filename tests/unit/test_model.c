/*
 * test_model.c — tests for src/fhir/model.c and the tables that
 * tools/gen-model.mjs generates from the R4 StructureDefinitions.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fhir/model.h"

Test(model, resource_types) {
    cr_expect(fhir_type_is_resource("Patient"));
    cr_expect(fhir_type_is_resource("Observation"));
    cr_expect(fhir_type_is_resource("Bundle"));
    cr_expect(fhir_type_is_resource("Binary"));
    cr_expect_not(fhir_type_is_resource("Resource"));
    cr_expect_not(fhir_type_is_resource("DomainResource"));
    cr_expect_not(fhir_type_is_resource("HumanName"));
    cr_expect_not(fhir_type_is_resource("string"));
    cr_expect_not(fhir_type_is_resource("patient"));
    cr_expect_not(fhir_type_is_resource("Observation.referenceRange"));
    cr_expect_not(fhir_type_is_resource(""));
    cr_expect_not(fhir_type_is_resource("vitalsigns")); /* a profile */
}

Test(model, resource_list_is_sorted_and_complete) {
    size_t n = fhir_resource_type_count();
    cr_expect_eq(n, 146); /* R4 4.0.1: 146 concrete resource types */
    cr_expect_str_eq(fhir_resource_type_at(0), "Account");
    cr_expect_str_eq(fhir_resource_type_at(n - 1), "VisionPrescription");
    cr_expect_null(fhir_resource_type_at(n));
    for(size_t i = 1; i < n; i++) {
        cr_expect_lt(strcmp(fhir_resource_type_at(i - 1), fhir_resource_type_at(i)), 0);
        cr_expect(fhir_type_is_resource(fhir_resource_type_at(i)));
    }
}

Test(model, resource_elements) {
    cr_expect(fhir_resource_has_element("Patient", "identifier"));
    cr_expect(fhir_resource_has_element("Patient", "id"));
    cr_expect(fhir_resource_has_element("Patient", "meta"));
    cr_expect(fhir_resource_has_element("Patient", "contained"));
    cr_expect(fhir_resource_has_element("Patient", "deceasedBoolean"));
    cr_expect(fhir_resource_has_element("Patient", "deceased"));
    cr_expect(fhir_resource_has_element("Patient", "deceased[x]"));
    cr_expect(fhir_resource_has_element("Observation", "valueQuantity"));
    cr_expect(fhir_resource_has_element("Observation", "value"));
    cr_expect_not(fhir_resource_has_element("Observation", "valueHumanName"));
    cr_expect_not(fhir_resource_has_element("Observation", "val"));
    cr_expect_not(fhir_resource_has_element("Patient", "family"));
    cr_expect_not(fhir_resource_has_element("Patient", "resourceType"));
    cr_expect_not(fhir_resource_has_element("Nope", "id"));
}

Test(model, types_and_properties) {
    const fhir_type *obs = fhir_resource_find("Observation");
    cr_assert_not_null(obs);
    cr_expect_eq(obs->kind, FHIR_KIND_RESOURCE);

    const fhir_elem *e = fhir_type_elem(obs, "status");
    cr_assert_not_null(e);
    cr_expect_str_eq(fhir_model_str(fhir_elem_type(e)->name), "code");
    cr_expect_eq(fhir_model_slots[obs->slots + e->slot].min, 1);
    cr_expect_eq(e->flags & FHIR_ELEM_MANY, 0);

    e = fhir_type_elem(obs, "valueCodeableConcept");
    cr_assert_not_null(e);
    cr_expect(e->flags & FHIR_ELEM_CHOICE);
    cr_expect_str_eq(fhir_model_str(fhir_model_slots[obs->slots + e->slot].name), "value[x]");
    cr_expect_eq(fhir_type_elem(obs, "valueString")->slot, e->slot);

    e = fhir_type_elem(obs, "referenceRange");
    cr_assert_not_null(e);
    cr_expect(e->flags & FHIR_ELEM_MANY);
    cr_expect_str_eq(fhir_model_str(fhir_elem_type(e)->name), "Observation.referenceRange");

    /* contentReference: component.referenceRange is typed as Observation.referenceRange */
    const fhir_type *comp = fhir_type_find("Observation.component");
    cr_assert_not_null(comp);
    cr_expect_eq(fhir_elem_type(fhir_type_elem(comp, "referenceRange")), fhir_elem_type(e));
    const fhir_type *item = fhir_type_find("Questionnaire.item");
    cr_assert_not_null(item);
    cr_expect_eq(fhir_elem_type(fhir_type_elem(item, "item")), item);

    /* Resource.id is an id; Element.id a string; Extension.url a uri */
    cr_expect_str_eq(fhir_model_str(fhir_elem_type(fhir_type_elem(obs, "id"))->name), "id");
    cr_expect_str_eq(fhir_model_str(fhir_elem_type(fhir_type_elem(fhir_type_find("HumanName"), "id"))->name), "string");
    cr_expect_str_eq(fhir_model_str(fhir_elem_type(fhir_type_elem(fhir_type_find("Extension"), "url"))->name), "uri");

    /* Resource-typed elements */
    cr_expect_eq(fhir_elem_type(fhir_type_elem(obs, "contained"))->kind, FHIR_KIND_ANY_RESOURCE);
    cr_expect_eq(fhir_elem_type(fhir_type_elem(fhir_type_find("Bundle.entry"), "resource"))->kind,
                 FHIR_KIND_ANY_RESOURCE);

    /* datatypes' nested elements */
    cr_expect_not_null(fhir_type_find("Timing.repeat"));
    cr_expect_null(fhir_type_elem(fhir_type_find("HumanName"), "foo"));
}

Test(model, primitives) {
    static const struct {
        const char *name;
        fhir_prim prim;
        fhir_json_kind json;
    } cases[] = {
        {"boolean", FHIR_PRIM_BOOLEAN, FHIR_JSON_BOOLEAN},
        {"integer", FHIR_PRIM_INTEGER, FHIR_JSON_INTEGER},
        {"positiveInt", FHIR_PRIM_POSITIVEINT, FHIR_JSON_INTEGER},
        {"unsignedInt", FHIR_PRIM_UNSIGNEDINT, FHIR_JSON_INTEGER},
        {"decimal", FHIR_PRIM_DECIMAL, FHIR_JSON_NUMBER},
        {"string", FHIR_PRIM_STRING, FHIR_JSON_STRING},
        {"code", FHIR_PRIM_CODE, FHIR_JSON_STRING},
        {"dateTime", FHIR_PRIM_DATETIME, FHIR_JSON_STRING},
        {"canonical", FHIR_PRIM_CANONICAL, FHIR_JSON_STRING},
        {"xhtml", FHIR_PRIM_XHTML, FHIR_JSON_STRING},
    };
    for(size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const fhir_type *t = fhir_type_find(cases[i].name);
        cr_assert_not_null(t, "%s", cases[i].name);
        cr_expect_eq(t->kind, FHIR_KIND_PRIMITIVE, "%s", cases[i].name);
        cr_expect_eq(t->prim, cases[i].prim, "%s", cases[i].name);
        cr_expect_eq(t->json, cases[i].json, "%s", cases[i].name);
    }
    cr_expect_str_eq(fhir_model_str(fhir_type_find("id")->regex), "[A-Za-z0-9\\-\\.]{1,64}");
    cr_expect_str_eq(fhir_model_str(fhir_type_find("markdown")->regex), "[ \\r\\n\\t\\S]+");
}

/* The slot behind property key of the type named type. */
static const fhir_slot *slot_of(const char *type, const char *key) {
    const fhir_type *t = fhir_type_find(type);
    cr_assert_not_null(t, "%s", type);
    const fhir_elem *e = fhir_type_elem(t, key);
    cr_assert_not_null(e, "%s.%s", type, key);
    return &fhir_model_slots[t->slots + e->slot];
}

Test(model, required_bindings) {
    const fhir_valueset *vs = fhir_slot_valueset(slot_of("Observation", "status"));
    cr_assert_not_null(vs);
    cr_expect_str_eq(fhir_model_str(vs->url), "http://hl7.org/fhir/ValueSet/observation-status");
    cr_expect_str_eq(fhir_model_str(vs->version), "4.0.1");
    cr_expect_str_eq(fhir_model_str(vs->summary), "registered | preliminary | final | ...");
    cr_expect_eq(vs->n_codes, 8);
    cr_expect(fhir_valueset_has(vs, "final"));
    cr_expect(fhir_valueset_has(vs, "corrected")); /* nested under amended */
    cr_expect(fhir_valueset_has(vs, "registered"));
    cr_expect(fhir_valueset_has(vs, "unknown"));
    cr_expect_not(fhir_valueset_has(vs, "Final"));
    cr_expect_not(fhir_valueset_has(vs, "fina"));
    cr_expect_not(fhir_valueset_has(vs, ""));
    cr_expect_not(fhir_valueset_has(vs, "zzz"));

    /* by canonical, with or without its version */
    cr_expect_eq(fhir_valueset_find("http://hl7.org/fhir/ValueSet/observation-status"), vs);
    cr_expect_eq(fhir_valueset_find("http://hl7.org/fhir/ValueSet/observation-status|4.0.1"), vs);
    cr_expect_null(fhir_valueset_find("http://hl7.org/fhir/ValueSet/observation-statu"));
    cr_expect_null(fhir_valueset_find("http://hl7.org/fhir/ValueSet/observation-status2"));
    cr_expect_null(fhir_valueset_find(NULL));

    /* shared by every element bound to it, in resources and datatypes alike */
    const fhir_valueset *gender = fhir_slot_valueset(slot_of("Patient", "gender"));
    cr_assert_not_null(gender);
    cr_expect_eq(fhir_slot_valueset(slot_of("Practitioner", "gender")), gender);
    cr_expect_eq(fhir_slot_valueset(slot_of("Patient.contact", "gender")), gender);
    cr_expect_str_eq(fhir_model_str(gender->summary), "male | female | other | unknown");
    cr_expect_eq(fhir_slot_valueset(slot_of("Bundle.entry.request", "method")),
                 fhir_valueset_find("http://hl7.org/fhir/ValueSet/http-verb"));
    cr_expect_not_null(fhir_slot_valueset(slot_of("HumanName", "use")));
    cr_expect_not_null(fhir_slot_valueset(slot_of("Timing.repeat", "dayOfWeek")));
    /* another version than the FHIR release's */
    const fhir_valueset *conf = fhir_slot_valueset(slot_of("Composition", "confidentiality"));
    cr_assert_not_null(conf);
    cr_expect_str_eq(fhir_model_str(conf->version), "2014-03-26");
    cr_expect(fhir_valueset_has(conf, "N"));

    /* no binding, a binding that is not required, one the generator cannot expand */
    cr_expect_null(fhir_slot_valueset(slot_of("Patient", "name")));
    cr_expect_null(fhir_slot_valueset(slot_of("Patient", "language")));
    cr_expect_null(fhir_slot_valueset(slot_of("Attachment", "contentType")));
    cr_expect_null(fhir_slot_valueset(slot_of("Money", "currency")));
    cr_expect_null(fhir_valueset_find("http://hl7.org/fhir/ValueSet/mimetypes"));
}

Test(model, value_set_tables_are_sorted) {
    cr_assert_gt(fhir_model_valueset_count, 200);
    for(size_t i = 0; i < fhir_model_valueset_count; i++) {
        const fhir_valueset *vs = &fhir_model_valuesets[i];
        const char *url = fhir_model_str(vs->url);
        if(i) cr_expect_lt(strcmp(fhir_model_str(fhir_model_valuesets[i - 1].url), url), 0);
        cr_expect_eq(fhir_valueset_find(url), vs, "%s", url);
        cr_expect_gt(vs->n_codes, 0, "%s", url);
        for(uint32_t k = 0; k < vs->n_codes; k++) {
            const char *code = fhir_model_str(fhir_model_codes[vs->codes + k]);
            if(k) cr_expect_lt(strcmp(fhir_model_str(fhir_model_codes[vs->codes + k - 1]), code), 0, "%s", url);
            cr_expect(fhir_valueset_has(vs, code), "%s %s", url, code);
        }
    }
    /* every value set is used by some slot, and slots point inside the table */
    size_t n_slots = 0;
    for(size_t i = 0; i < fhir_model_type_count; i++) n_slots += fhir_model_types[i].n_slots;
    size_t bound = 0;
    for(size_t i = 0; i < n_slots; i++) {
        cr_assert_leq(fhir_model_slots[i].valueset, fhir_model_valueset_count);
        bound += fhir_model_slots[i].valueset != 0;
    }
    cr_expect_geq(bound, fhir_model_valueset_count);
}
