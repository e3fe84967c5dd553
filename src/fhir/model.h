/*
 * model.h — the FHIR R4 (4.0.1) type model, generated at build time from the
 * official StructureDefinitions in npm hl7.fhir.r4.examples@4.0.1 by
 * tools/gen-model.mjs into build/gen/fhir_model.c. Read-only tables: safe
 * from any thread.
 */
#ifndef KITH_FHIR_MODEL_H
#define KITH_FHIR_MODEL_H
#include <stdbool.h>
#include <stddef.h>

/* True if name is a concrete (non-abstract) R4 resource type, e.g. "Patient". */
bool fhir_type_is_resource(const char *name);
/* Concrete resource types in alphabetical order. Borrowed, static. */
size_t fhir_resource_type_count(void);
const char *fhir_resource_type_at(size_t i);
/* True if resource type `type` has a top-level element `element`
 * (e.g. "Patient", "identifier"). */
bool fhir_resource_has_element(const char *type, const char *element);

/* ---- the tables behind the model (used by validate.c) -------------------
 *
 * Generated into build/gen/fhir_model.c. Every type (resource, datatype,
 * primitive, and each nested element with children of its own, named by its
 * path such as "Observation.referenceRange") lists its JSON properties
 * sorted by name, choice elements expanded ("valueQuantity"), and its
 * element definitions ("slots") in definition order. A slot of type code
 * with a required binding names its value set, whose codes are listed
 * sorted; value sets the generator could not expand from the package
 * (mime types, currencies) leave their slots unchecked. Strings are offsets
 * into one pool. All of it is static and read-only.
 */
#include <stdint.h>

#define FHIR_MAX_SLOTS 128 /* most element definitions in one type (generator checks) */

typedef enum fhir_type_kind {
    FHIR_KIND_PRIMITIVE,   /* a JSON scalar; fhir_type.prim says which */
    FHIR_KIND_COMPLEX,     /* a datatype (HumanName) or nested element (Observation.referenceRange) */
    FHIR_KIND_RESOURCE,    /* a concrete resource type */
    FHIR_KIND_ANY_RESOURCE /* "Resource": any resource, typed by its resourceType */
} fhir_type_kind;

typedef enum fhir_prim {
    FHIR_PRIM_NONE,
    FHIR_PRIM_BASE64BINARY,
    FHIR_PRIM_BOOLEAN,
    FHIR_PRIM_CANONICAL,
    FHIR_PRIM_CODE,
    FHIR_PRIM_DATE,
    FHIR_PRIM_DATETIME,
    FHIR_PRIM_DECIMAL,
    FHIR_PRIM_ID,
    FHIR_PRIM_INSTANT,
    FHIR_PRIM_INTEGER,
    FHIR_PRIM_MARKDOWN,
    FHIR_PRIM_OID,
    FHIR_PRIM_POSITIVEINT,
    FHIR_PRIM_STRING,
    FHIR_PRIM_TIME,
    FHIR_PRIM_UNSIGNEDINT,
    FHIR_PRIM_URI,
    FHIR_PRIM_URL,
    FHIR_PRIM_UUID,
    FHIR_PRIM_XHTML
} fhir_prim;

/* How a type is written in JSON. */
typedef enum fhir_json_kind {
    FHIR_JSON_OBJECT,  /* complex types and resources */
    FHIR_JSON_STRING,
    FHIR_JSON_BOOLEAN,
    FHIR_JSON_INTEGER, /* a JSON number without fraction or exponent */
    FHIR_JSON_NUMBER   /* any JSON number (decimal) */
} fhir_json_kind;

#define FHIR_ELEM_MANY 1   /* max "*": always a JSON array */
#define FHIR_ELEM_CHOICE 2 /* one of the types of an element[x] */
#define FHIR_ELEM_SUMMARY 4 /* part of the summary view (_summary=true) */

typedef struct fhir_elem {
    uint32_t name; /* pool offset: JSON property name ("valueQuantity") */
    uint16_t type; /* index into fhir_model_types */
    uint8_t slot;  /* index of its definition among the owner's slots */
    uint8_t flags; /* FHIR_ELEM_* */
} fhir_elem;

typedef struct fhir_slot {
    uint32_t name;     /* pool offset: element name as defined ("value[x]") */
    uint8_t min;       /* 0 or 1 */
    uint8_t flags;     /* FHIR_ELEM_* */
    uint16_t valueset; /* 1 + index into fhir_model_valuesets of its required binding; 0: codes unchecked */
} fhir_slot;

/* The expansion of a value set that a required binding names. */
typedef struct fhir_valueset {
    uint32_t url;     /* pool offset: canonical without version ("http://hl7.org/fhir/ValueSet/observation-status") */
    uint32_t version; /* pool offset: version the binding names ("4.0.1"; "" if none) */
    uint32_t summary; /* pool offset: the first codes for diagnostics ("registered | preliminary | final | ...") */
    uint32_t codes;   /* first of n_codes in fhir_model_codes: pool offsets, sorted by strcmp, no duplicates */
    uint32_t n_codes;
} fhir_valueset;

typedef struct fhir_type {
    uint32_t name;    /* pool offset: "Patient", "HumanName", "Observation.referenceRange" */
    uint32_t elems;   /* first of n_elems in fhir_model_elems, sorted by name (strcmp) */
    uint32_t slots;   /* first of n_slots in fhir_model_slots, in definition order */
    uint16_t n_elems;
    uint8_t n_slots;
    uint8_t kind;     /* fhir_type_kind */
    uint8_t prim;     /* fhir_prim (primitives only) */
    uint8_t json;     /* fhir_json_kind */
    uint32_t regex;   /* pool offset of the official regex (primitives; "" if none) */
} fhir_type;

/* The generated tables. fhir_model_types is sorted by name (strcmp);
 * fhir_model_resources holds the indices of the concrete resource types in
 * alphabetical order. */
extern const char fhir_model_pool[];
extern const fhir_type fhir_model_types[];
extern const size_t fhir_model_type_count;
extern const fhir_elem fhir_model_elems[];
extern const fhir_slot fhir_model_slots[];
extern const fhir_valueset fhir_model_valuesets[]; /* sorted by url (strcmp) */
extern const size_t fhir_model_valueset_count;
extern const uint32_t fhir_model_codes[];
extern const uint16_t fhir_model_resources[];
extern const size_t fhir_model_resource_count;

/* String at pool offset off. Borrowed, static. */
static inline const char *fhir_model_str(uint32_t off) { return fhir_model_pool + off; }
/* Type of an element. Borrowed, static. */
static inline const fhir_type *fhir_elem_type(const fhir_elem *e) { return &fhir_model_types[e->type]; }

/* Any type by name ("HumanName", "Observation.referenceRange", "date");
 * NULL if none. Borrowed, static. */
const fhir_type *fhir_type_find(const char *name);
/* Concrete resource type by name; NULL if name is not one. Borrowed, static. */
const fhir_type *fhir_resource_find(const char *name);
/* The property `key` (a JSON name such as "valueQuantity") of type t; NULL
 * if t has no such property. Borrowed, static. */
const fhir_elem *fhir_type_elem(const fhir_type *t, const char *key);

/* The value set slot s's codes must come from; NULL when the slot has no
 * required binding or its value set was not expanded. Borrowed, static. */
static inline const fhir_valueset *fhir_slot_valueset(const fhir_slot *s) {
    return s->valueset ? &fhir_model_valuesets[s->valueset - 1] : NULL;
}
/* The expanded value set with canonical url, with or without a "|version"
 * suffix; NULL if no required binding uses it or it was not expanded.
 * Borrowed, static. */
const fhir_valueset *fhir_valueset_find(const char *url);
/* True if code is one of vs's codes (exact, case-sensitive match). */
bool fhir_valueset_has(const fhir_valueset *vs, const char *code);

#endif
