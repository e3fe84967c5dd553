/*
 * json.c — JSON values over json-c, with FHIR-grade fidelity.
 *
 * json-c keeps the written text of decimals but clamps integers wider than
 * 64 bits and silently keeps the last of duplicate keys. After json-c has
 * parsed a document we therefore walk the source text and the tree side by
 * side ("fidelity pass"): numbers whose text json-c could not keep are
 * replaced by number nodes that carry the original text, and objects that
 * lost members to duplicate keys make the parse fail. Trees are not shared
 * between threads.
 */
#include "json/json.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

#define TO_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* ---- fidelity pass ------------------------------------------------------ */

typedef struct scan {
    const char *p, *end;
    const char *start;
    char *err;
    size_t errlen;
} scan;

static void skip_ws(scan *s) {
    while(s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int hex4(const char *p, const char *end) {
    if(end - p < 4) return -1;
    int v = 0;
    for(int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if(d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Skip a string literal; false if it holds an unpaired \u surrogate
 * (json-c would silently turn it into U+FFFD). */
static bool skip_string(scan *s) {
    s->p++; /* opening quote; json-c already proved the text well-formed */
    while(s->p < s->end && *s->p != '"') {
        if(*s->p == '\\') {
            s->p++;
            if(s->p < s->end && *s->p == 'u') {
                int u = hex4(s->p + 1, s->end);
                if(u >= 0xDC00 && u <= 0xDFFF) return false;
                if(u >= 0xD800 && u <= 0xDBFF) {
                    int lo = (s->end - s->p >= 11 && s->p[5] == '\\' && s->p[6] == 'u') ? hex4(s->p + 7, s->end) : -1;
                    if(lo < 0xDC00 || lo > 0xDFFF) return false;
                    s->p += 6;
                }
            }
        }
        s->p++;
    }
    s->p++;
    return true;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_invalid_at(const unsigned char *p, size_t n) {
    size_t i = 0;
    while(i < n) {
        unsigned char c = p[i];
        if(c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp;
        if(c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if(c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if(c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return i;
        }
        if(i + len > n) return i;
        for(size_t k = 1; k < len; k++) {
            if((p[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return n;
}

static int fix_value(scan *s, json_object *v, json_object *parent, const char *key, size_t idx);

static int fix_number(scan *s, json_object *v, json_object *parent, const char *key, size_t idx) {
    const char *b = s->p;
    while(s->p < s->end && strchr("+-0123456789.eE", *s->p)) s->p++;
    size_t n = (size_t)(s->p - b);
    const char *have = json_object_to_json_string_ext(v, TO_FLAGS);
    if(strlen(have) == n && memcmp(have, b, n) == 0) return 0;
    char *lit = xstrndup(b, n);
    json_object *nv = json_object_new_double_s(strtod(lit, NULL), lit);
    free(lit);
    if(!nv) return -1;
    if(key)
        json_object_object_add(parent, key, nv);
    else
        json_object_array_put_idx(parent, idx, nv);
    return 0;
}

/* Does json-c's value v have the kind the text's value starting with c has? */
static bool same_kind(char c, json_object *v) {
    json_type t = json_object_get_type(v); /* json_type_null for NULL */
    switch(c) {
    case '{': return t == json_type_object;
    case '[': return t == json_type_array;
    case '"': return t == json_type_string;
    case 't':
    case 'f': return t == json_type_boolean;
    case 'n': return t == json_type_null;
    default: return t == json_type_int || t == json_type_double;
    }
}

static int fix_value(scan *s, json_object *v, json_object *parent, const char *key, size_t idx) {
    skip_ws(s);
    if(s->p >= s->end) return -1;
    char c = *s->p;
    /* The walk follows json-c's tree in the text's order. A repeated property
     * name leaves the tree with fewer members than the text, and the two fall
     * out of step: stop at the first value whose kind differs. */
    if(!same_kind(c, v)) {
        snprintf(s->err, s->errlen, "duplicate property name in an object before offset %ld",
                 (long)(s->p - s->start));
        return -2;
    }
    if(c == '{') {
        s->p++;
        size_t members = 0;
        const char *objstart = s->p - 1;
        struct lh_entry *e = json_object_get_object(v)->head;
        for(;;) {
            skip_ws(s);
            if(*s->p == '}') {
                s->p++;
                break;
            }
            if(*s->p == ',') {
                s->p++;
                continue;
            }
            if(!skip_string(s)) goto lone_surrogate; /* key */
            skip_ws(s);
            s->p++; /* ':' */
            members++;
            if(members > (size_t)json_object_object_length(v) || !e) {
                snprintf(s->err, s->errlen, "duplicate property name in object at offset %ld",
                         (long)(objstart - s->start));
                return -2;
            }
            int r = fix_value(s, (json_object *)lh_entry_v(e), v, (const char *)lh_entry_k(e), 0);
            if(r) return r;
            e = e->next;
        }
        return 0;
    }
    if(c == '[') {
        s->p++;
        size_t i = 0;
        for(;;) {
            skip_ws(s);
            if(*s->p == ']') {
                s->p++;
                break;
            }
            if(*s->p == ',') {
                s->p++;
                continue;
            }
            int r = fix_value(s, json_object_array_get_idx(v, i), v, NULL, i);
            if(r) return r;
            i++;
        }
        return 0;
    }
    if(c == '"') {
        if(!skip_string(s)) goto lone_surrogate;
        return 0;
    }
    if(c == '-' || (c >= '0' && c <= '9')) {
        if(!parent) return 0; /* a bare number document: nothing to replace */
        return fix_number(s, v, parent, key, idx);
    }
    /* true, false, null */
    while(s->p < s->end && *s->p >= 'a' && *s->p <= 'z') s->p++;
    return 0;
lone_surrogate:
    snprintf(s->err, s->errlen, "string near offset %ld has an unpaired \\u surrogate escape",
             (long)(s->p - s->start));
    return -2;
}

kith_rc json_parse(const char *text, size_t len, json_value **out, char *err, size_t errlen) {
    char dummy[8];
    if(!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    *out = NULL;
    if(len > 0x7fffffff) {
        snprintf(err, errlen, "JSON text too large");
        return KITH_ETOOBIG;
    }
    if(memchr(text, '\0', len)) {
        snprintf(err, errlen, "JSON text contains a NUL byte");
        return KITH_EINVAL;
    }
    size_t bad = utf8_invalid_at((const unsigned char *)text, len);
    if(bad < len) {
        snprintf(err, errlen, "invalid UTF-8 at offset %zu", bad);
        return KITH_EINVAL;
    }
    json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if(!tok) return KITH_ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if(!o && jerr == json_tokener_continue && len > 0) {
        /* A bare number ("2") is complete only once something follows it. */
        o = json_tokener_parse_ex(tok, " ", 1);
        jerr = json_tokener_get_error(tok);
        used = len;
    }
    json_tokener_free(tok);
    if(!o && jerr == json_tokener_success) {
        snprintf(err, errlen, "the JSON document is null");
        return KITH_EINVAL;
    }
    if(jerr == json_tokener_continue) {
        snprintf(err, errlen, "JSON text ends early (offset %zu)", len);
        json_object_put(o);
        return KITH_EINVAL;
    }
    if(jerr != json_tokener_success) {
        snprintf(err, errlen, "malformed JSON at offset %zu: %s", used, json_tokener_error_desc(jerr));
        json_object_put(o);
        return KITH_EINVAL;
    }
    for(size_t i = used; i < len; i++) {
        char c = text[i];
        if(c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            snprintf(err, errlen, "malformed JSON at offset %zu: unexpected text after the value", i);
            json_object_put(o);
            return KITH_EINVAL;
        }
    }
    scan s = {text, text + len, text, err, errlen};
    int r = fix_value(&s, o, NULL, NULL, 0);
    if(r) {
        if(r == -1) snprintf(err, errlen, "malformed JSON");
        json_object_put(o);
        return KITH_EINVAL;
    }
    *out = o;
    return KITH_OK;
}

void json_free(json_value *v) {
    if(v) json_object_put(v);
}

json_value *json_copy(const json_value *v) {
    json_object *dst = NULL;
    if(!v) return NULL;
    if(json_object_deep_copy((json_object *)v, &dst, NULL) != 0) return NULL;
    return dst;
}

/* ---- reading ------------------------------------------------------------ */

json_kind json_kind_of(const json_value *v) {
    if(!v) return JSON_NULL;
    switch(json_object_get_type(v)) {
    case json_type_null: return JSON_NULL;
    case json_type_boolean: return JSON_BOOL;
    case json_type_int: return JSON_INTEGER;
    case json_type_double: {
        const char *t = json_object_to_json_string_ext((json_object *)v, TO_FLAGS);
        return strpbrk(t, ".eE") ? JSON_DECIMAL : JSON_INTEGER;
    }
    case json_type_string: return JSON_STRING;
    case json_type_array: return JSON_ARRAY;
    case json_type_object: return JSON_OBJECT;
    }
    return JSON_NULL;
}

const char *json_kind_name(json_kind k) {
    switch(k) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "boolean";
    case JSON_INTEGER: return "integer";
    case JSON_DECIMAL: return "decimal";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    case JSON_OBJECT: return "object";
    }
    return "?";
}

json_value *json_get(const json_value *obj, const char *key) {
    json_object *v = NULL;
    if(!obj || json_object_get_type(obj) != json_type_object) return NULL;
    if(!json_object_object_get_ex(obj, key, &v)) return NULL;
    return v;
}

bool json_has(const json_value *obj, const char *key) {
    if(!obj || json_object_get_type(obj) != json_type_object) return false;
    return json_object_object_get_ex(obj, key, NULL) != 0;
}

size_t json_object_size(const json_value *obj) {
    if(!obj || json_object_get_type(obj) != json_type_object) return 0;
    return (size_t)json_object_object_length(obj);
}

json_iter json_iter_start(const json_value *obj) {
    json_iter it = {NULL};
    if(obj && json_object_get_type(obj) == json_type_object) it.entry = json_object_get_object(obj)->head;
    return it;
}

bool json_iter_next(json_iter *it, const char **key, json_value **val) {
    struct lh_entry *e = it->entry;
    if(!e) return false;
    if(key) *key = (const char *)lh_entry_k(e);
    if(val) *val = (json_value *)lh_entry_v(e);
    it->entry = e->next;
    return true;
}

size_t json_array_len(const json_value *arr) {
    if(!arr || json_object_get_type(arr) != json_type_array) return 0;
    return json_object_array_length(arr);
}

json_value *json_array_at(const json_value *arr, size_t i) {
    if(i >= json_array_len(arr)) return NULL;
    return json_object_array_get_idx(arr, i);
}

const char *json_string(const json_value *v) {
    if(!v || json_object_get_type(v) != json_type_string) return NULL;
    return json_object_get_string((json_object *)v);
}

size_t json_string_len(const json_value *v) {
    if(!v || json_object_get_type(v) != json_type_string) return 0;
    return (size_t)json_object_get_string_len(v);
}

bool json_boolean(const json_value *v) {
    return v && json_object_get_type(v) == json_type_boolean && json_object_get_boolean(v);
}

const char *json_number_text(const json_value *v) {
    if(!v) return NULL;
    json_type t = json_object_get_type(v);
    if(t != json_type_int && t != json_type_double) return NULL;
    return json_object_to_json_string_ext((json_object *)v, TO_FLAGS);
}

bool json_int64(const json_value *v, int64_t *out) {
    if(json_kind_of(v) != JSON_INTEGER) return false;
    const char *t = json_number_text(v);
    errno = 0;
    char *end = NULL;
    long long x = strtoll(t, &end, 10);
    if(errno || !end || *end) return false;
    *out = (int64_t)x;
    return true;
}

/* ---- building ----------------------------------------------------------- */

json_value *json_new_object(void) { return json_object_new_object(); }
json_value *json_new_array(void) { return json_object_new_array(); }
json_value *json_new_string(const char *s) { return json_object_new_string(s); }
json_value *json_new_stringn(const char *s, size_t n) { return json_object_new_string_len(s, (int)n); }
json_value *json_new_int(int64_t i) { return json_object_new_int64(i); }
json_value *json_new_bool(bool b) { return json_object_new_boolean(b); }

json_value *json_new_number_text(const char *text) {
    return json_object_new_double_s(strtod(text, NULL), text);
}

void json_set(json_value *obj, const char *key, json_value *val) {
    json_object_object_add(obj, key, val);
}

void json_remove(json_value *obj, const char *key) {
    json_object_object_del(obj, key);
}

void json_append(json_value *arr, json_value *val) {
    json_object_array_add(arr, val);
}

void json_array_insert(json_value *arr, size_t idx, json_value *val) {
    size_t n = json_object_array_length(arr);
    if(idx >= n) {
        json_object_array_add(arr, val);
        return;
    }
    json_object_array_add(arr, NULL);
    for(size_t i = n; i > idx; i--) json_object_array_put_idx(arr, i, json_object_get(json_object_array_get_idx(arr, i - 1)));
    json_object_array_put_idx(arr, idx, val);
}

void json_array_set(json_value *arr, size_t idx, json_value *val) {
    json_object_array_put_idx(arr, idx, val);
}

void json_array_remove(json_value *arr, size_t idx) {
    json_object_array_del_idx(arr, idx, 1);
}

json_value *json_retain(json_value *v) {
    return json_object_get(v);
}

void json_move_to_front(json_value *obj, const char *const *keys) {
    if(!obj || json_object_get_type(obj) != json_type_object) return;
    size_t n = (size_t)json_object_object_length(obj), k = 0;
    char **names = xmalloc((n ? n : 1) * sizeof *names);
    json_object **vals = xmalloc((n ? n : 1) * sizeof *vals);
    json_iter it = json_iter_start(obj);
    const char *key;
    json_value *val;
    while(json_iter_next(&it, &key, &val)) {
        names[k] = xstrdup(key);
        vals[k] = json_object_get(val); /* keep it alive across the delete */
        k++;
    }
    for(size_t i = 0; i < k; i++) json_object_object_del(obj, names[i]);
    bool *done = xcalloc(k ? k : 1, sizeof *done);
    for(const char *const *want = keys; *want; want++) {
        for(size_t i = 0; i < k; i++) {
            if(!done[i] && strcmp(names[i], *want) == 0) {
                json_object_object_add(obj, names[i], vals[i]);
                done[i] = true;
            }
        }
    }
    for(size_t i = 0; i < k; i++) {
        if(!done[i]) json_object_object_add(obj, names[i], vals[i]);
        free(names[i]);
    }
    free(done);
    free(names);
    free(vals);
}

char *json_to_text(const json_value *v, size_t *len) {
    size_t n = 0;
    const char *t = json_object_to_json_string_length((json_object *)v, TO_FLAGS, &n);
    if(len) *len = n;
    return xstrndup(t, n);
}

char *json_to_text_pretty(const json_value *v, size_t *len) {
    size_t n = 0;
    const char *t = json_object_to_json_string_length(
        (json_object *)v, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if(len) *len = n;
    return xstrndup(t, n);
}

kith_rc json_write(buf *b, const json_value *v) {
    size_t n = 0;
    const char *t = json_object_to_json_string_length((json_object *)v, TO_FLAGS, &n);
    return buf_append(b, t, n);
}

bool json_equal(const json_value *a, const json_value *b) {
    json_kind ka = json_kind_of(a), kb = json_kind_of(b);
    if(ka != kb) return false;
    switch(ka) {
    case JSON_NULL: return true;
    case JSON_BOOL: return json_boolean(a) == json_boolean(b);
    case JSON_INTEGER:
    case JSON_DECIMAL: return strcmp(json_number_text(a), json_number_text(b)) == 0;
    case JSON_STRING:
        return json_string_len(a) == json_string_len(b) && memcmp(json_string(a), json_string(b), json_string_len(a)) == 0;
    case JSON_ARRAY: {
        size_t n = json_array_len(a);
        if(n != json_array_len(b)) return false;
        for(size_t i = 0; i < n; i++)
            if(!json_equal(json_array_at(a, i), json_array_at(b, i))) return false;
        return true;
    }
    case JSON_OBJECT: {
        if(json_object_size(a) != json_object_size(b)) return false;
        json_iter it = json_iter_start(a);
        const char *k;
        json_value *va;
        while(json_iter_next(&it, &k, &va)) {
            json_value *vb = NULL;
            if(!json_object_object_get_ex(b, k, &vb)) return false;
            if(!json_equal(va, vb)) return false;
        }
        return true;
    }
    }
    return false;
}
