/*
 * fhirpath_fn.h — private to the function library files (fhirpath_func.c,
 * fhirpath_convert.c, fhirpath_string.c): the common signature of a
 * FHIRPath function, argument helpers and the functions defined outside
 * fhirpath_func.c's table file.
 */
#ifndef KITH_FHIR_FHIRPATH_FN_H
#define KITH_FHIR_FHIRPATH_FN_H
#include "fhir/fhirpath_int.h"

#define FP_FN_ARGS \
    fp_ctx *c, const fp_node *n, const fp_coll *focus, const fp_coll *in, const fp_frame *f, fp_coll *out

/* The one item of x (NULL if empty); fails if x has more than one. */
bool fpf_single(fp_ctx *c, const fp_coll *x, const char *what, const fp_item **it);
/* Argument i as one System value; *present false when empty. */
bool fpf_arg_single(fp_ctx *c, const fp_node *n, int i, const fp_coll *in, const fp_frame *f, fp_item *out,
                    bool *present);
bool fpf_arg_int(fp_ctx *c, const fp_node *n, int i, const fp_coll *in, const fp_frame *f, int64_t *v, bool *present);
/* Argument i as a string (borrowed; NULL when empty). */
bool fpf_arg_string(fp_ctx *c, const fp_node *n, int i, const fp_coll *in, const fp_frame *f, const char **s);
void fpf_push_bool(fp_ctx *c, fp_coll *out, bool b);
void fpf_push_int(fp_ctx *c, fp_coll *out, int64_t i);
void fpf_push_str(fp_ctx *c, fp_coll *out, const char *s);
void fpf_push_dec(fp_ctx *c, fp_coll *out, fp_dec d);

/* fhirpath_convert.c */
bool fpf_toBoolean(FP_FN_ARGS);
bool fpf_convertsToBoolean(FP_FN_ARGS);
bool fpf_toInteger(FP_FN_ARGS);
bool fpf_convertsToInteger(FP_FN_ARGS);
bool fpf_toDecimal(FP_FN_ARGS);
bool fpf_convertsToDecimal(FP_FN_ARGS);
bool fpf_toString(FP_FN_ARGS);
bool fpf_convertsToString(FP_FN_ARGS);
bool fpf_toDate(FP_FN_ARGS);
bool fpf_convertsToDate(FP_FN_ARGS);
bool fpf_toDateTime(FP_FN_ARGS);
bool fpf_convertsToDateTime(FP_FN_ARGS);
bool fpf_toTime(FP_FN_ARGS);
bool fpf_convertsToTime(FP_FN_ARGS);
bool fpf_toQuantity(FP_FN_ARGS);
bool fpf_convertsToQuantity(FP_FN_ARGS);
bool fpf_lowBoundary(FP_FN_ARGS);
bool fpf_highBoundary(FP_FN_ARGS);
bool fpf_precision(FP_FN_ARGS);
bool fpf_comparable(FP_FN_ARGS);

/* fhirpath_string.c */
bool fpf_indexOf(FP_FN_ARGS);
bool fpf_lastIndexOf(FP_FN_ARGS);
bool fpf_substring(FP_FN_ARGS);
bool fpf_startsWith(FP_FN_ARGS);
bool fpf_endsWith(FP_FN_ARGS);
bool fpf_contains(FP_FN_ARGS);
bool fpf_upper(FP_FN_ARGS);
bool fpf_lower(FP_FN_ARGS);
bool fpf_replace(FP_FN_ARGS);
bool fpf_matches(FP_FN_ARGS);
bool fpf_matchesFull(FP_FN_ARGS);
bool fpf_replaceMatches(FP_FN_ARGS);
bool fpf_length(FP_FN_ARGS);
bool fpf_toChars(FP_FN_ARGS);
bool fpf_trim(FP_FN_ARGS);
bool fpf_split(FP_FN_ARGS);
bool fpf_join(FP_FN_ARGS);
bool fpf_encode(FP_FN_ARGS);
bool fpf_decode(FP_FN_ARGS);
bool fpf_escape(FP_FN_ARGS);
bool fpf_unescape(FP_FN_ARGS);

#endif
