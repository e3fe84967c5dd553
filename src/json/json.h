/*
 * json.h — Kith's JSON values. The only module that sees json-c.
 *
 * A json_value is an opaque tree node. json_parse returns a tree the caller
 * owns (json_free). Accessors return borrowed pointers into a tree; they stay
 * valid until the tree is changed or freed. Setters take ownership of the
 * value they are given.
 *
 * Fidelity: numbers keep the exact text they were written with (1.50 stays
 * 1.50, 1e400 and 30-digit integers survive); unicode survives; duplicate
 * property names are rejected at parse time (FHIR forbids them). Not
 * thread-safe per tree; distinct trees may be used from distinct threads.
 */
#ifndef KITH_JSON_H
#define KITH_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"

typedef struct json_object json_value; /* opaque */

typedef enum json_kind {
    JSON_NULL,
    JSON_BOOL,
    JSON_INTEGER, /* a number written without fraction or exponent */
    JSON_DECIMAL, /* a number written with a fraction or exponent */
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_kind;

#define JSON_MAX_DEPTH 100

/*
 * Parse text[0..len). On success *out is a new tree (caller frees with
 * json_free). On failure returns KITH_EINVAL and writes a message with the
 * byte offset into err (if non-NULL).
 */
kith_rc json_parse(const char *text, size_t len, json_value **out, char *err, size_t errlen);
void json_free(json_value *v);
json_value *json_copy(const json_value *v); /* deep copy, caller frees */

json_kind json_kind_of(const json_value *v); /* JSON_NULL for a NULL pointer */
const char *json_kind_name(json_kind k);

/* Objects. json_get returns a borrowed member or NULL (also for a JSON null
 * member: use json_has to tell a null member from a missing one). */
json_value *json_get(const json_value *obj, const char *key);
bool json_has(const json_value *obj, const char *key);
size_t json_object_size(const json_value *obj);
/* Iteration in document order. */
typedef struct json_iter {
    void *entry; /* opaque */
} json_iter;
json_iter json_iter_start(const json_value *obj);
bool json_iter_next(json_iter *it, const char **key, json_value **val); /* borrowed */

/* Arrays. */
size_t json_array_len(const json_value *arr);
json_value *json_array_at(const json_value *arr, size_t i); /* borrowed */

/* Scalars. json_string returns NULL when v is not a string. */
const char *json_string(const json_value *v);
size_t json_string_len(const json_value *v);
bool json_boolean(const json_value *v);
/* Exact text of a number as written ("1.50"); borrowed; NULL if not a number. */
const char *json_number_text(const json_value *v);
/* Integer value; returns false if v is not an integer that fits int64. */
bool json_int64(const json_value *v, int64_t *out);

/* Construction (results owned by the caller until given to a container). */
json_value *json_new_object(void);
json_value *json_new_array(void);
json_value *json_new_string(const char *s);
json_value *json_new_stringn(const char *s, size_t n);
json_value *json_new_int(int64_t i);
json_value *json_new_bool(bool b);
json_value *json_new_number_text(const char *text); /* keeps text exactly */

/* Mutation: ownership of val passes to the container. */
void json_set(json_value *obj, const char *key, json_value *val);
void json_remove(json_value *obj, const char *key);
void json_append(json_value *arr, json_value *val);
/* Arrays: insert before index idx (idx == length appends), replace, remove. */
void json_array_insert(json_value *arr, size_t idx, json_value *val);
void json_array_set(json_value *arr, size_t idx, json_value *val);
void json_array_remove(json_value *arr, size_t idx);
/* Take an extra reference to v so that it outlives its removal from a
 * container; release it with json_free. Returns v. */
json_value *json_retain(json_value *v);
/* Reorder obj's members so that those named in keys (NULL-terminated) come
 * first, in that order; the others keep their order after them. */
void json_move_to_front(json_value *obj, const char *const *keys);

/* Serialise compactly (no whitespace, '/' unescaped). Caller frees. */
char *json_to_text(const json_value *v, size_t *len);
/* Serialise with two-space indentation. Caller frees. */
char *json_to_text_pretty(const json_value *v, size_t *len);
/* Append the compact text to b. */
kith_rc json_write(buf *b, const json_value *v);

/* Deep equality: numbers compare by exact text, objects ignore key order. */
bool json_equal(const json_value *a, const json_value *b);

/* ---- reading a few members without a tree (span.c) -------------------------
 *
 * For bulk extracts that take a handful of members from millions of
 * documents: no allocation, no tree, no json-c. A json_span is a borrowed
 * slice of the caller's text holding one JSON value. json_span_check checks
 * the structure (balanced objects and arrays, closed strings, valid escapes
 * in strings that have any, members as "key": value, depth up to
 * JSON_MAX_DEPTH; control characters inside a string without escapes are
 * not looked for); the lookups expect a checked span and answer false for
 * anything that is not there or not of the kind asked for. Numbers and the
 * literals true/false/null are taken as written, not checked to the letter;
 * duplicate keys are not looked for (the first wins). Thread-safe. */
typedef struct json_span {
    const char *p;
    size_t n;
} json_span;

/* Is text[0..len) one JSON value (leading and trailing white space allowed)?
 * *out (may be NULL) gets it. */
bool json_span_check(const char *text, size_t len, json_span *out);
/* Member key of object obj, into *out. */
bool json_span_get(json_span obj, const char *key, json_span *out);
/* Element i of array arr, into *out. */
bool json_span_at(json_span arr, size_t i, json_span *out);
/* The string v decoded (escapes, \uXXXX as UTF-8) into out[0..cap) with a
 * NUL; false when v is not a string or does not fit. */
bool json_span_text(json_span v, char *out, size_t cap);
/* Is v the string s (compared decoded)? */
bool json_span_is(json_span v, const char *s);
/* Is v the literal true? */
bool json_span_true(json_span v);

#endif
