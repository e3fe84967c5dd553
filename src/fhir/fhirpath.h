/*
 * fhirpath.h — a FHIRPath (N1, as used by FHIR R4) engine.
 *
 * Parse an expression once (fhirpath_parse), then evaluate it any number of
 * times, from any number of threads at once, against JSON resources
 * (fhirpath_eval). Results are collections of items; an item is either a
 * node of the input resource (borrowed: valid while the resource lives)
 * with its FHIR type, or a value the expression computed (owned by the
 * result). Types come from the R4 model (model.h), so `is`, `as`, `ofType`
 * and choice elements (Observation.value -> valueQuantity) work.
 *
 * Threads: an expression is read-only once parsed; every evaluation has its
 * own memory. One resource tree must not be evaluated by two threads at the
 * same moment, though: json-c formats a number's text into the number node
 * itself (json.h: trees are not thread-safe). Distinct trees are fine.
 *
 * Conformance: the official FHIRPath R4 suite passes but for three tests
 * (tests/conformance/fhirpath-known-failures.txt). Decimals keep their
 * digits (1.0 + 2.00 = 3.00); dates keep their precision (@2012 = @2012-01
 * is empty); quantities convert between the common UCUM units.
 */
#ifndef KITH_FHIR_FHIRPATH_H
#define KITH_FHIR_FHIRPATH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "json/json.h"

typedef struct fhirpath_expr fhirpath_expr;

/*
 * Compile src. On a syntax error returns KITH_EINVAL, sets *err_pos to the
 * 0-based character offset and writes a message to err. Caller frees the
 * expression with fhirpath_free.
 */
kith_rc fhirpath_parse(const char *src, fhirpath_expr **out, size_t *err_pos, char *err, size_t errlen);
void fhirpath_free(fhirpath_expr *e);

/* The System types of computed values, and FHIR nodes. */
typedef enum fhirpath_kind {
    FP_NODE,     /* a node of the input (object or primitive), see fhirpath_item.node */
    FP_BOOLEAN,
    FP_INTEGER,
    FP_DECIMAL,  /* kept as decimal text with its precision */
    FP_STRING,
    FP_DATE,     /* text, e.g. "2026-11" (partial precision kept) */
    FP_DATETIME, /* text */
    FP_TIME,     /* text */
    FP_QUANTITY  /* value text + unit */
} fhirpath_kind;

typedef struct fhirpath_item {
    fhirpath_kind kind;
    const char *type;       /* FHIR type name for nodes ("HumanName", "date", "Observation"), System type otherwise */
    const json_value *node; /* FP_NODE: the JSON node (for primitives: the value; may be NULL if only an extension) */
    const char *text;       /* computed values: the value as text (decimal/date/string...); borrowed from the result */
    const char *unit;       /* FP_QUANTITY: the unit; else NULL */
    bool boolean;           /* FP_BOOLEAN */
    int64_t integer;        /* FP_INTEGER */
} fhirpath_item;

typedef struct fhirpath_result fhirpath_result;

size_t fhirpath_result_count(const fhirpath_result *r);
const fhirpath_item *fhirpath_result_at(const fhirpath_result *r, size_t i); /* borrowed */
void fhirpath_result_free(fhirpath_result *r);
/* Append the result as a JSON array (FHIR types kept: a date stays a date
 * string, a Quantity an object, nodes as their JSON). */
kith_rc fhirpath_result_write(buf *out, const fhirpath_result *r);
/* Append one item as JSON (as fhirpath_result_write does for each). */
kith_rc fhirpath_item_write(buf *out, const fhirpath_item *it);

/* Resolves a reference string (e.g. "Patient/123") for resolve(); returns a
 * resource the caller of fhirpath_eval keeps alive, or NULL. */
typedef const json_value *(*fhirpath_resolver)(void *ctx, const char *reference);

typedef struct fhirpath_var {
    const char *name;        /* without the % */
    const json_value *value; /* a JSON value */
} fhirpath_var;

typedef struct fhirpath_env {
    fhirpath_resolver resolve; /* NULL: resolve() finds only contained resources and Bundle entries */
    void *resolve_ctx;
    const fhirpath_var *vars;  /* user variables (%name), may be NULL */
    size_t nvars;
    /* Added after the first version (zero = the old behaviour): */
    bool strict;        /* unknown element names and type names are errors */
    bool resolve_stubs; /* resolve() of an unresolvable "Type/id" reference gives a stub
                           {"resourceType":Type,"id":id}, so `resolve() is Patient` works
                           without fetching (as search indexing needs) */
    bool as_filters;    /* `x as T` and `x.as(T)` on several items keep those of type T (as ofType
                           does) instead of failing: R4 search parameters such as
                           "(Observation.component.value as Quantity)" need it */
    const char *root_type; /* the FHIR type of `resource` when it is not a resource itself, e.g.
                              "Observation.component" (composite search components need it) */
} fhirpath_env;

/*
 * Evaluate e with `resource` as %resource, %context and the focus. env may
 * be NULL. A runtime error (e.g. a singleton expected, a type error) returns
 * KITH_EINVALID with a message in err. Caller frees *out.
 */
kith_rc fhirpath_eval(const fhirpath_expr *e, const json_value *resource, const fhirpath_env *env,
                      fhirpath_result **out, char *err, size_t errlen);

#endif
