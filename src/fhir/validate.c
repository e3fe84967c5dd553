/*
 * validate.c — structural validation of FHIR R4 resources (see validate.h).
 *
 * Walks a parsed JSON tree alongside the generated model (model.h). Every
 * property must be defined for its type and have the JSON shape FHIR JSON
 * prescribes: an array exactly when the element repeats, an object for
 * datatypes and nested elements, the right scalar for primitives, whose
 * text must match the official R4 formats (hand-coded below from the
 * regexes in the primitive StructureDefinitions, rather than run through a
 * regex engine). Codes of elements with a required binding must be in its
 * value set, when the generator could expand it (a binary search over the
 * generated list). Required elements are checked object by object, so the
 * children of an absent optional parent are never demanded. Nested resources
 * (contained, Bundle.entry.resource, Parameters.parameter.resource) are
 * checked by their own resourceType, the location continuing through them:
 * "Bundle.entry[2].resource.status".
 *
 * The walk keeps its location in a fixed buffer inside a per-call context on
 * the stack and allocates nothing unless it reports an issue, so it is
 * reentrant and cheap. Recursion depth is bounded by JSON_MAX_DEPTH. It
 * stops once FHIR_ISSUES_MAX errors have been found. Issues are owned by the
 * caller's fhir_issues list.
 */
#include "fhir/validate.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fhir/model.h"

#define PATH_CAP 4096            /* bytes of location kept; longer ones end in "..." */
#define SHOW_MAX 64              /* bytes of an offending value or name quoted in diagnostics */
#define STRING_MAX (1 << 20)     /* FHIR: strings SHALL NOT exceed 1 MiB (base64Binary, xhtml may) */
#define MAX_DEPTH JSON_MAX_DEPTH /* objects within objects; parsed trees stay below it */

typedef struct vctx {
    fhir_issues *issues;
    size_t errors_before;            /* issues->errors when the walk started */
    bool stop;                       /* too many errors: stop walking */
    int depth;                       /* objects being checked */
    const fhir_type *element_type;   /* "Element": what a primitive's _name holds */
    const fhir_type *extension_type; /* "Extension", for ext-1 */
    int ext_value_slot, ext_extension_slot;
    size_t len; /* strlen(path) */
    char path[PATH_CAP];
} vctx;

/* ---- location and issues ------------------------------------------------ */

/* Append s[0..n) to the location; returns the length to restore later. */
static size_t path_add(vctx *c, const char *s, size_t n) {
    size_t mark = c->len;
    if(c->len + n <= PATH_CAP - 4) {
        memcpy(c->path + c->len, s, n);
        c->len += n;
    } else if(c->len < PATH_CAP - 4) {
        size_t fit = PATH_CAP - 4 - c->len;
        memcpy(c->path + c->len, s, fit);
        memcpy(c->path + c->len + fit, "...", 3);
        c->len = PATH_CAP - 1;
    }
    c->path[c->len] = '\0';
    return mark;
}

static size_t path_key(vctx *c, const char *key) {
    size_t mark = c->len;
    if(c->len) path_add(c, ".", 1);
    path_add(c, key, strlen(key));
    return mark;
}

static size_t path_index(vctx *c, size_t i) {
    char b[32], *q = b + sizeof b; /* written backwards, without printf */
    *--q = ']';
    do *--q = (char)('0' + i % 10);
    while(i /= 10);
    *--q = '[';
    return path_add(c, q, (size_t)(b + sizeof b - q));
}

static void path_restore(vctx *c, size_t mark) {
    assert(mark <= c->len);
    c->len = mark;
    c->path[mark] = '\0';
}

/* Report an error at the current location. */
static void issue(vctx *c, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void issue(vctx *c, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fhir_issues_add(c->issues, "error", code, c->len ? c->path : NULL, "%s", msg);
    if(c->issues->errors - c->errors_before >= FHIR_ISSUES_MAX) c->stop = true;
}

/* Report an error at the current location's child `key`. */
static void issue_at(vctx *c, const char *key, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void issue_at(vctx *c, const char *key, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t mark = path_key(c, key);
    issue(c, code, "%s", msg);
    path_restore(c, mark);
}

/* How many of the n bytes at s to quote in a diagnostic: at most SHOW_MAX,
 * without splitting a UTF-8 sequence. */
static int show_len(const char *s, size_t n) {
    if(n <= SHOW_MAX) return (int)n;
    n = SHOW_MAX;
    while(n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return (int)n;
}

/* "..." when a quoted value of n bytes was cut short. */
static const char *ellipsis(size_t n) {
    return n > SHOW_MAX ? "..." : "";
}

static const char *type_name(const fhir_type *t) {
    return fhir_model_str(t->name);
}

static const char *kind_phrase(json_kind k) {
    switch(k) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "a boolean";
    case JSON_INTEGER: return "an integer";
    case JSON_DECIMAL: return "a decimal number";
    case JSON_STRING: return "a string";
    case JSON_ARRAY: return "an array";
    case JSON_OBJECT: return "an object";
    }
    return "?";
}

static const char *json_phrase(fhir_json_kind j) {
    switch(j) {
    case FHIR_JSON_OBJECT: return "an object";
    case FHIR_JSON_STRING: return "a string";
    case FHIR_JSON_BOOLEAN: return "true or false";
    case FHIR_JSON_INTEGER: return "an integer";
    case FHIR_JSON_NUMBER: return "a number";
    }
    return "?";
}

/* ---- primitive formats (the R4 regexes, by hand) ------------------------ */

typedef struct scan {
    const unsigned char *p, *end;
} scan;

static bool is_digit(int ch) {
    return ch >= '0' && ch <= '9';
}

/* Java's \s, which the FHIR regexes use. */
static bool is_space(int ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static int peek(const scan *s) {
    return s->p < s->end ? *s->p : -1;
}

static bool eat(scan *s, int ch) {
    if(peek(s) != ch) return false;
    s->p++;
    return true;
}

/* Exactly n digits; their value in *v. */
static bool digits(scan *s, int n, int *v) {
    int x = 0;
    for(int i = 0; i < n; i++) {
        int ch = peek(s);
        if(!is_digit(ch)) return false;
        x = x * 10 + (ch - '0');
        s->p++;
    }
    if(v) *v = x;
    return true;
}

/* One or more digits. */
static bool some_digits(scan *s) {
    if(!is_digit(peek(s))) return false;
    while(is_digit(peek(s))) s->p++;
    return true;
}

static bool year(scan *s, int *y) {
    return digits(s, 4, y) && *y > 0; /* 0001..9999 */
}

static bool month(scan *s, int *m) {
    return digits(s, 2, m) && *m >= 1 && *m <= 12;
}

/* A day that exists in that month of that year (no 30 February). */
static bool day(scan *s, int y, int m) {
    static const int DAYS[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int d;
    if(!digits(s, 2, &d) || d < 1 || d > DAYS[m - 1]) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

/* hh:mm:ss(.fff)? */
static bool time_of_day(scan *s) {
    int h, m, sec;
    if(!digits(s, 2, &h) || h > 23 || !eat(s, ':')) return false;
    if(!digits(s, 2, &m) || m > 59 || !eat(s, ':')) return false;
    if(!digits(s, 2, &sec) || sec > 60) return false;
    if(eat(s, '.') && !some_digits(s)) return false;
    return true;
}

/* Z | (+|-)hh:mm with hh:mm up to 14:00 */
static bool zone(scan *s) {
    int h, m;
    if(eat(s, 'Z')) return true;
    if(!eat(s, '+') && !eat(s, '-')) return false;
    if(!digits(s, 2, &h) || !eat(s, ':') || !digits(s, 2, &m)) return false;
    return (h <= 13 && m <= 59) || (h == 14 && m == 0);
}

/* date: YYYY(-MM(-DD)?)?; dateTime adds (Thh:mm:ss(.f)?zone)? after a full
 * date; instant requires all of it. */
static bool date_like(scan *s, fhir_prim prim) {
    int y, m;
    if(!year(s, &y)) return false;
    if(prim == FHIR_PRIM_INSTANT) {
        if(!eat(s, '-') || !month(s, &m) || !eat(s, '-') || !day(s, y, m)) return false;
        return eat(s, 'T') && time_of_day(s) && zone(s) && s->p == s->end;
    }
    if(eat(s, '-')) {
        if(!month(s, &m)) return false;
        if(eat(s, '-')) {
            if(!day(s, y, m)) return false;
            if(prim == FHIR_PRIM_DATETIME && eat(s, 'T') && !(time_of_day(s) && zone(s))) return false;
        }
    }
    return s->p == s->end;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool decimal_text(const char *text) {
    scan s = {(const unsigned char *)text, (const unsigned char *)text + strlen(text)};
    eat(&s, '-');
    if(!eat(&s, '0') && !(peek(&s) >= '1' && peek(&s) <= '9' && some_digits(&s))) return false;
    if(eat(&s, '.') && !some_digits(&s)) return false;
    if(eat(&s, 'e') || eat(&s, 'E')) {
        if(!eat(&s, '+')) eat(&s, '-');
        if(!some_digits(&s)) return false;
    }
    return s.p == s.end;
}

/* Any byte below 0x20 in the 8 bytes of w (the "hasless" bit trick). */
static bool word_has_control(uint64_t w) {
    return ((w - 0x2020202020202020ull) & ~w & 0x8080808080808080ull) != 0;
}

/* string, markdown: [ \r\n\t\S]+, and no other control characters.
 * Strings are most of a resource's bytes, so 8 are checked at a time. */
static bool string_ok(const unsigned char *p, size_t n) {
    size_t i = 0;
    for(; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if(!word_has_control(w)) continue;
        for(size_t j = i; j < i + 8; j++)
            if(p[j] < 0x20 && p[j] != '\t' && p[j] != '\n' && p[j] != '\r') return false;
    }
    for(; i < n; i++)
        if(p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') return false;
    return n > 0;
}

/* code: [^\s]+(\s[^\s]+)* — no leading, trailing or doubled whitespace */
static bool code_ok(const unsigned char *p, size_t n) {
    if(n == 0 || is_space(p[0]) || is_space(p[n - 1])) return false;
    for(size_t i = 0; i < n; i++) {
        if(is_space(p[i]) && is_space(p[i + 1])) return false; /* p[n-1] is not a space */
        if(p[i] < 0x20 && !is_space(p[i])) return false;
    }
    return true;
}

/* id: [A-Za-z0-9\-\.]{1,64} */
static bool id_ok(const unsigned char *p, size_t n) {
    if(n < 1 || n > 64) return false;
    for(size_t i = 0; i < n; i++) {
        unsigned char ch = p[i];
        if(!(is_digit(ch) || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

/* uri, url, canonical: \S* (and, being strings, not empty) */
static bool uri_ok(const unsigned char *p, size_t n) {
    for(size_t i = 0; i < n; i++)
        if(p[i] <= 0x20) return false;
    return n > 0;
}

/* oid: urn:oid:[0-2](\.(0|[1-9][0-9]*))+ */
static bool oid_ok(const unsigned char *p, size_t n) {
    scan s = {p, p + n};
    if(n < 8 || memcmp(p, "urn:oid:", 8) != 0) return false;
    s.p += 8;
    int ch = peek(&s);
    if(ch < '0' || ch > '2') return false;
    s.p++;
    if(peek(&s) != '.') return false;
    while(eat(&s, '.')) {
        if(eat(&s, '0')) continue;
        if(!(peek(&s) >= '1' && peek(&s) <= '9')) return false;
        some_digits(&s);
    }
    return s.p == s.end;
}

/* uuid: urn:uuid:8-4-4-4-12 lower-case hex */
static bool uuid_ok(const unsigned char *p, size_t n) {
    if(n != 45 || memcmp(p, "urn:uuid:", 9) != 0) return false;
    for(size_t i = 9; i < n; i++) {
        size_t k = i - 9;
        if(k == 8 || k == 13 || k == 18 || k == 23) {
            if(p[i] != '-') return false;
        } else if(!(is_digit(p[i]) || (p[i] >= 'a' && p[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* Byte classes for base64Binary. */
enum { B64_BAD, B64_DIGIT, B64_PAD, B64_SPACE };
static const unsigned char b64_class[256] = {
    ['\t'] = B64_SPACE, ['\n'] = B64_SPACE, ['\v'] = B64_SPACE, ['\f'] = B64_SPACE, ['\r'] = B64_SPACE,
    [' '] = B64_SPACE,  ['+'] = B64_DIGIT,  ['/'] = B64_DIGIT,  ['='] = B64_PAD,    ['0'] = B64_DIGIT,
    ['1'] = B64_DIGIT,  ['2'] = B64_DIGIT,  ['3'] = B64_DIGIT,  ['4'] = B64_DIGIT,  ['5'] = B64_DIGIT,
    ['6'] = B64_DIGIT,  ['7'] = B64_DIGIT,  ['8'] = B64_DIGIT,  ['9'] = B64_DIGIT,  ['A'] = B64_DIGIT,
    ['B'] = B64_DIGIT,  ['C'] = B64_DIGIT,  ['D'] = B64_DIGIT,  ['E'] = B64_DIGIT,  ['F'] = B64_DIGIT,
    ['G'] = B64_DIGIT,  ['H'] = B64_DIGIT,  ['I'] = B64_DIGIT,  ['J'] = B64_DIGIT,  ['K'] = B64_DIGIT,
    ['L'] = B64_DIGIT,  ['M'] = B64_DIGIT,  ['N'] = B64_DIGIT,  ['O'] = B64_DIGIT,  ['P'] = B64_DIGIT,
    ['Q'] = B64_DIGIT,  ['R'] = B64_DIGIT,  ['S'] = B64_DIGIT,  ['T'] = B64_DIGIT,  ['U'] = B64_DIGIT,
    ['V'] = B64_DIGIT,  ['W'] = B64_DIGIT,  ['X'] = B64_DIGIT,  ['Y'] = B64_DIGIT,  ['Z'] = B64_DIGIT,
    ['a'] = B64_DIGIT,  ['b'] = B64_DIGIT,  ['c'] = B64_DIGIT,  ['d'] = B64_DIGIT,  ['e'] = B64_DIGIT,
    ['f'] = B64_DIGIT,  ['g'] = B64_DIGIT,  ['h'] = B64_DIGIT,  ['i'] = B64_DIGIT,  ['j'] = B64_DIGIT,
    ['k'] = B64_DIGIT,  ['l'] = B64_DIGIT,  ['m'] = B64_DIGIT,  ['n'] = B64_DIGIT,  ['o'] = B64_DIGIT,
    ['p'] = B64_DIGIT,  ['q'] = B64_DIGIT,  ['r'] = B64_DIGIT,  ['s'] = B64_DIGIT,  ['t'] = B64_DIGIT,
    ['u'] = B64_DIGIT,  ['v'] = B64_DIGIT,  ['w'] = B64_DIGIT,  ['x'] = B64_DIGIT,  ['y'] = B64_DIGIT,
    ['z'] = B64_DIGIT,
};

/* base64Binary: base64 with whitespace allowed; padding only at the end */
static bool base64_ok(const unsigned char *p, size_t n) {
    size_t count = 0, pad = 0;
    for(size_t i = 0; i < n; i++) {
        switch(b64_class[p[i]]) {
        case B64_DIGIT:
            if(pad) return false;
            count++;
            break;
        case B64_PAD:
            pad++;
            count++;
            break;
        case B64_SPACE: break;
        default: return false;
        }
    }
    return count > 0 && count % 4 == 0 && pad <= 2;
}

/* xhtml (Narrative.div): kept simple — a <div ...> ... > element */
static bool xhtml_ok(const unsigned char *p, size_t n) {
    while(n && is_space(p[0])) p++, n--;
    while(n && is_space(p[n - 1])) n--;
    if(n < 6 || memcmp(p, "<div", 4) != 0) return false;
    if(!(p[4] == '>' || p[4] == '/' || is_space(p[4]))) return false;
    return p[n - 1] == '>';
}

static bool string_format_ok(fhir_prim prim, const unsigned char *p, size_t n) {
    scan s = {p, p + n};
    switch(prim) {
    case FHIR_PRIM_STRING:
    case FHIR_PRIM_MARKDOWN: return string_ok(p, n);
    case FHIR_PRIM_CODE: return code_ok(p, n);
    case FHIR_PRIM_ID: return id_ok(p, n);
    case FHIR_PRIM_URI:
    case FHIR_PRIM_URL:
    case FHIR_PRIM_CANONICAL: return uri_ok(p, n);
    case FHIR_PRIM_OID: return oid_ok(p, n);
    case FHIR_PRIM_UUID: return uuid_ok(p, n);
    case FHIR_PRIM_BASE64BINARY: return base64_ok(p, n);
    case FHIR_PRIM_DATE:
    case FHIR_PRIM_DATETIME:
    case FHIR_PRIM_INSTANT: return date_like(&s, (fhir_prim)prim);
    case FHIR_PRIM_TIME: return time_of_day(&s) && s.p == s.end;
    case FHIR_PRIM_XHTML: return xhtml_ok(p, n);
    default: return true;
    }
}

/* ---- the walk ----------------------------------------------------------- */

static void check_resource(vctx *c, const json_value *v);
static void check_object(vctx *c, const fhir_type *t, const json_value *obj, bool is_resource);

static void wrong_kind(vctx *c, const fhir_type *t, json_kind k) {
    issue(c, "structure", "Expected %s (%s), found %s", json_phrase((fhir_json_kind)t->json), type_name(t),
          kind_phrase(k));
}

/* A code that passed the format check but is not in vs. */
static void code_not_in(vctx *c, const fhir_valueset *vs, const char *code, size_t n) {
    const char *version = fhir_model_str(vs->version);
    issue(c, "code-invalid", "'%.*s%s' is not in the required value set %s%s%s (%s)", show_len(code, n), code,
          ellipsis(n), fhir_model_str(vs->url), *version ? "|" : "", version, fhir_model_str(vs->summary));
}

/* A primitive value of type t; vs: the value set its code must be in
 * (NULL: any). */
static void check_primitive(vctx *c, const fhir_type *t, const fhir_valueset *vs, const json_value *v) {
    json_kind k = json_kind_of(v);
    switch((fhir_json_kind)t->json) {
    case FHIR_JSON_BOOLEAN:
        if(k != JSON_BOOL) wrong_kind(c, t, k);
        return;
    case FHIR_JSON_NUMBER:
        if(k != JSON_INTEGER && k != JSON_DECIMAL)
            wrong_kind(c, t, k);
        else if(!decimal_text(json_number_text(v)))
            issue(c, "value", "Invalid decimal '%s'", json_number_text(v));
        return;
    case FHIR_JSON_INTEGER: {
        int64_t x = 0;
        if(k != JSON_INTEGER && k != JSON_DECIMAL) {
            wrong_kind(c, t, k);
        } else if(k == JSON_DECIMAL || !json_int64(v, &x) || x < INT32_MIN || x > INT32_MAX) {
            const char *text = json_number_text(v);
            size_t n = strlen(text);
            issue(c, "value", "Invalid %s '%.*s%s': not a 32-bit integer", type_name(t), show_len(text, n), text,
                  ellipsis(n));
        } else if(t->prim == FHIR_PRIM_POSITIVEINT && x < 1) {
            issue(c, "value", "Invalid positiveInt %lld: must be 1 or more", (long long)x);
        } else if(t->prim == FHIR_PRIM_UNSIGNEDINT && x < 0) {
            issue(c, "value", "Invalid unsignedInt %lld: must be 0 or more", (long long)x);
        }
        return;
    }
    case FHIR_JSON_STRING: {
        if(k != JSON_STRING) {
            wrong_kind(c, t, k);
            return;
        }
        const unsigned char *p = (const unsigned char *)json_string(v);
        size_t n = json_string_len(v);
        if(n == 0) {
            issue(c, "value", "Empty string for %s: leave the element out instead", type_name(t));
        } else if(n > STRING_MAX && t->prim != FHIR_PRIM_BASE64BINARY && t->prim != FHIR_PRIM_XHTML) {
            issue(c, "value", "%s value longer than %d bytes", type_name(t), STRING_MAX);
        } else if(!string_format_ok((fhir_prim)t->prim, p, n)) {
            issue(c, "value", "Invalid %s '%.*s%s'", type_name(t), show_len((const char *)p, n), (const char *)p,
                  ellipsis(n));
        } else if(vs && !fhir_valueset_has(vs, (const char *)p)) { /* code_ok: no NUL inside */
            code_not_in(c, vs, (const char *)p, n);
        }
        return;
    }
    case FHIR_JSON_OBJECT: break;
    }
    assert(!"primitive with object JSON kind");
}

/* One value of type t (an array member, or a max-1 element); vs as for
 * check_primitive. */
static void check_single(vctx *c, const fhir_type *t, const fhir_valueset *vs, const json_value *v) {
    switch((fhir_type_kind)t->kind) {
    case FHIR_KIND_PRIMITIVE: check_primitive(c, t, vs, v); return;
    case FHIR_KIND_ANY_RESOURCE: check_resource(c, v); return;
    case FHIR_KIND_COMPLEX:
    case FHIR_KIND_RESOURCE: break;
    }
    json_kind k = json_kind_of(v);
    if(k != JSON_OBJECT)
        wrong_kind(c, t, k);
    else
        check_object(c, t, v, false);
}

/* The _name sibling of primitive property key ("_given" for "given");
 * borrowed, NULL if absent. */
static const json_value *ext_sibling(const json_value *parent, const char *key) {
    char name[128];
    size_t n = strlen(key);
    if(n + 2 > sizeof name) return NULL; /* model names are short */
    name[0] = '_';
    memcpy(name + 1, key, n + 1);
    return json_get(parent, name);
}

/* Element e of parent, written as property key with value v; the location
 * already names it. vs: the value set of e's required binding, if any (only
 * codes are checked against it). */
static void check_value(vctx *c, const fhir_elem *e, const fhir_valueset *vs, const json_value *v,
                        const json_value *parent, const char *key) {
    const fhir_type *t = fhir_elem_type(e);
    if(t->prim != FHIR_PRIM_CODE) vs = NULL;
    json_kind k = json_kind_of(v);
    if(!(e->flags & FHIR_ELEM_MANY)) {
        if(k == JSON_ARRAY)
            issue(c, "structure", "%s repeats at most once: expected a single value, found an array", key);
        else if(k == JSON_NULL)
            issue(c, "invalid", "null is not allowed: leave the element out instead");
        else
            check_single(c, t, vs, v);
        return;
    }
    if(k != JSON_ARRAY) {
        if(k == JSON_NULL)
            issue(c, "invalid", "null is not allowed: leave the element out instead");
        else
            issue(c, "structure", "%s can repeat: expected an array, found %s", key, kind_phrase(k));
        return;
    }
    size_t n = json_array_len(v);
    if(n == 0) {
        issue(c, "invalid", "Empty array: leave the element out instead");
        return;
    }
    const json_value *exts = NULL;
    bool exts_looked = false;
    for(size_t i = 0; i < n && !c->stop; i++) {
        const json_value *item = json_array_at(v, i);
        size_t mark = path_index(c, i);
        if(!item) {
            /* a null in a primitive array is a placeholder for an entry of
             * the aligned _name array that carries id/extension only */
            if(t->kind == FHIR_KIND_PRIMITIVE && !exts_looked) {
                exts = ext_sibling(parent, key);
                exts_looked = true;
            }
            if(json_kind_of(json_array_at(exts, i)) != JSON_OBJECT)
                issue(c, "invalid", "null is not allowed here (no matching _%s entry)", key);
        } else {
            check_single(c, t, vs, item);
        }
        path_restore(c, mark);
    }
}

/* The _key sibling of primitive element e: {id, extension}, or an array of
 * them (nulls allowed) aligned with the values. */
static void check_prim_ext(vctx *c, const fhir_elem *e, const json_value *v, const json_value *parent,
                           const char *key) {
    json_kind k = json_kind_of(v);
    if(!(e->flags & FHIR_ELEM_MANY)) {
        if(k != JSON_OBJECT)
            issue(c, "structure", "Expected an object with id/extension, found %s", kind_phrase(k));
        else
            check_object(c, c->element_type, v, false);
        return;
    }
    if(k != JSON_ARRAY) {
        issue(c, "structure", "Expected an array aligned with %s, found %s", key + 1, kind_phrase(k));
        return;
    }
    size_t n = json_array_len(v);
    if(n == 0) {
        issue(c, "invalid", "Empty array: leave the element out instead");
        return;
    }
    const json_value *values = json_get(parent, key + 1);
    if(json_kind_of(values) == JSON_ARRAY && json_array_len(values) != n)
        issue(c, "structure", "%s has %zu entries but %s has %zu: they must align", key, n, key + 1,
              json_array_len(values));
    for(size_t i = 0; i < n && !c->stop; i++) {
        const json_value *item = json_array_at(v, i);
        if(!item) continue;
        size_t mark = path_index(c, i);
        k = json_kind_of(item);
        if(k != JSON_OBJECT)
            issue(c, "structure", "Expected an object with id/extension or null, found %s", kind_phrase(k));
        else
            check_object(c, c->element_type, item, false);
        path_restore(c, mark);
    }
}

/* The members of object obj of type t (see check_object). */
static void check_members(vctx *c, const fhir_type *t, const json_value *obj, bool is_resource) {
    uint16_t seen[FHIR_MAX_SLOTS]; /* slot -> 1 + index of the property that filled it */
    const fhir_elem *elems = &fhir_model_elems[t->elems];
    assert(t->n_slots <= FHIR_MAX_SLOTS);
    if(c->stop) return;
    memset(seen, 0, t->n_slots * sizeof *seen);
    json_iter it = json_iter_start(obj);
    const char *key;
    json_value *v;
    bool empty = true;
    while(!c->stop && json_iter_next(&it, &key, &v)) {
        empty = false;
        bool underscore = key[0] == '_';
        if(is_resource && key[0] == 'r' && strcmp(key, "resourceType") == 0) continue;
        const fhir_elem *e = fhir_type_elem(t, underscore ? key + 1 : key);
        if(!e || (underscore && fhir_elem_type(e)->kind != FHIR_KIND_PRIMITIVE)) {
            size_t n = strlen(key);
            if(strcmp(key, "resourceType") == 0)
                issue_at(c, key, "structure", "resourceType is only allowed at the root of a resource");
            else if(e)
                issue_at(c, key, "structure", "%s is not a primitive element: %s is not allowed", key + 1, key);
            else
                issue_at(c, key, "structure", "Unknown element '%.*s%s' in %s", show_len(key, n), key, ellipsis(n),
                         type_name(t));
            continue;
        }
        uint16_t id = (uint16_t)(e - elems + 1);
        size_t mark = path_key(c, key);
        if(seen[e->slot] && seen[e->slot] != id) {
            const char *slot_name = fhir_model_str(fhir_model_slots[t->slots + e->slot].name);
            issue(c, "invalid", "Only one of %s may be present (also found %s)", slot_name,
                  fhir_model_str(elems[seen[e->slot] - 1].name));
        } else {
            seen[e->slot] = id;
        }
        if(underscore)
            check_prim_ext(c, e, v, obj, key);
        else
            check_value(c, e, fhir_slot_valueset(&fhir_model_slots[t->slots + e->slot]), v, obj, key);
        path_restore(c, mark);
    }
    if(empty) {
        issue(c, "invalid", "Empty object: an element must have a value or children");
        return;
    }
    for(size_t i = 0; i < t->n_slots && !c->stop; i++) {
        const fhir_slot *s = &fhir_model_slots[t->slots + i];
        if(s->min && !seen[i])
            issue_at(c, fhir_model_str(s->name), "required", "Missing required element %s", fhir_model_str(s->name));
    }
    if(t == c->extension_type && !c->stop) {
        bool has_value = seen[c->ext_value_slot] != 0, has_extension = seen[c->ext_extension_slot] != 0;
        if(has_value == has_extension)
            issue(c, "invalid", "An extension must have either extensions or value[x], not both (ext-1)");
    }
}

/* An object of type t; is_resource when it is a resource whose
 * resourceType was already checked. Trees built in code rather than parsed
 * are not depth-capped by json.h, so the recursion is capped here too. */
static void check_object(vctx *c, const fhir_type *t, const json_value *obj, bool is_resource) {
    if(c->depth >= MAX_DEPTH) {
        issue(c, "invalid", "Nested more than %d objects deep", MAX_DEPTH);
        return;
    }
    c->depth++;
    check_members(c, t, obj, is_resource);
    c->depth--;
}

/* A resource: a JSON object typed by its resourceType. */
static void check_resource(vctx *c, const json_value *v) {
    json_kind k = json_kind_of(v);
    if(k != JSON_OBJECT) {
        issue(c, "structure", "Expected a resource (an object), found %s", kind_phrase(k));
        return;
    }
    const json_value *rt = json_get(v, "resourceType");
    k = json_kind_of(rt);
    if(k != JSON_STRING) {
        if(json_has(v, "resourceType"))
            issue_at(c, "resourceType", "structure", "resourceType must be a string, found %s", kind_phrase(k));
        else
            issue(c, "required", "Missing resourceType");
        return;
    }
    const char *name = json_string(rt);
    const fhir_type *t = fhir_resource_find(name);
    if(!t) {
        size_t n = json_string_len(rt);
        issue_at(c, "resourceType", "invalid", "Unknown resource type '%.*s%s'", show_len(name, n), name, ellipsis(n));
        return;
    }
    size_t mark = c->len ? c->len : path_key(c, name); /* the root is named by its type */
    check_object(c, t, v, true);
    path_restore(c, mark);
}

static int slot_of(const fhir_type *t, const char *name) {
    for(int i = 0; i < t->n_slots; i++)
        if(strcmp(fhir_model_str(fhir_model_slots[t->slots + (size_t)i].name), name) == 0) return i;
    return -1;
}

kith_rc fhir_validate(const json_value *resource, fhir_issues *issues) {
    vctx c;
    c.issues = issues;
    c.errors_before = issues->errors;
    c.stop = false;
    c.depth = 0;
    c.element_type = fhir_type_find("Element");
    c.extension_type = fhir_type_find("Extension");
    assert(c.element_type && c.extension_type);
    c.ext_value_slot = slot_of(c.extension_type, "value[x]");
    c.ext_extension_slot = slot_of(c.extension_type, "extension");
    assert(c.ext_value_slot >= 0 && c.ext_extension_slot >= 0);
    c.len = 0;
    c.path[0] = '\0';
    check_resource(&c, resource);
    return issues->errors > c.errors_before ? KITH_EINVALID : KITH_OK;
}
