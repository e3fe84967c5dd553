/*
 * span.c — reading members of JSON text without building a tree (see the
 * json_span part of json.h).
 *
 * One recursive-descent skipper walks a value and returns where it ends;
 * json_span_check runs it over the whole text, and the lookups run it over
 * the members or elements before the one asked for. Nothing is allocated
 * and no state is kept, so any number of threads may scan at once.
 */
#include <string.h>

#include "json/json.h"

static const char *ws(const char *p, const char *end) {
    while(p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* p at an opening quote: the byte after the closing one, or NULL. The
 * common case, a string with no escapes, is one memchr. */
static const char *skip_string(const char *p, const char *end) {
    const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
    if(!q) return NULL;
    if(!memchr(p + 1, '\\', (size_t)(q - p - 1))) return q + 1;
    for(p++; p < end; p++) { /* escapes: step by step */
        unsigned char c = (unsigned char)*p;
        if(c == '"') return p + 1;
        if(c < 0x20) return NULL;
        if(c == '\\') {
            if(++p >= end) return NULL;
            if(*p == 'u') {
                if(end - p < 5) return NULL;
                for(int i = 1; i <= 4; i++)
                    if(hexval(p[i]) < 0) return NULL;
                p += 4;
            } else if(!strchr("\"\\/bfnrt", *p) || !*p) {
                return NULL;
            }
        }
    }
    return NULL;
}

/* p at a value: the byte after it, or NULL when it is not one. */
static const char *skip_value(const char *p, const char *end, int depth) {
    if(p >= end || depth > JSON_MAX_DEPTH) return NULL;
    if(*p == '"') return skip_string(p, end);
    if(*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = ws(p + 1, end);
        if(p < end && *p == close) return p + 1;
        for(;;) {
            if(close == '}') {
                if(p >= end || *p != '"' || !(p = skip_string(p, end))) return NULL;
                p = ws(p, end);
                if(p >= end || *p != ':') return NULL;
                p = ws(p + 1, end);
            }
            if(!(p = skip_value(p, end, depth + 1))) return NULL;
            p = ws(p, end);
            if(p >= end) return NULL;
            if(*p == close) return p + 1;
            if(*p != ',') return NULL;
            p = ws(p + 1, end);
        }
    }
    const char *q = p; /* a number or a literal */
    while(q < end && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') || *q == '-' || *q == '+' || *q == '.' ||
                      *q == 'E'))
        q++;
    return q > p ? q : NULL;
}

bool json_span_check(const char *text, size_t len, json_span *out) {
    if(!text) return false;
    const char *end = text + len, *p = ws(text, end), *q = skip_value(p, end, 0);
    if(!q || ws(q, end) != end) return false;
    if(out) *out = (json_span){p, (size_t)(q - p)};
    return true;
}

bool json_span_get(json_span obj, const char *key, json_span *out) {
    const char *p = obj.p, *end = obj.p + obj.n;
    if(!p || !obj.n || *p != '{') return false;
    size_t klen = strlen(key);
    p = ws(p + 1, end);
    while(p < end && *p == '"') {
        const char *k = p + 1, *ke = skip_string(p, end);
        if(!ke) return false;
        bool match = (size_t)(ke - 1 - k) == klen && memcmp(k, key, klen) == 0;
        if(!match && memchr(k, '\\', (size_t)(ke - 1 - k))) match = json_span_is((json_span){p, (size_t)(ke - p)}, key);
        p = ws(ke, end);
        if(p >= end || *p != ':') return false;
        p = ws(p + 1, end);
        const char *v = p;
        if(!(p = skip_value(p, end, 1))) return false;
        if(match) {
            *out = (json_span){v, (size_t)(p - v)};
            return true;
        }
        p = ws(p, end);
        if(p >= end || *p != ',') return false;
        p = ws(p + 1, end);
    }
    return false;
}

bool json_span_at(json_span arr, size_t i, json_span *out) {
    const char *p = arr.p, *end = arr.p + arr.n;
    if(!p || !arr.n || *p != '[') return false;
    p = ws(p + 1, end);
    for(size_t k = 0; p < end && *p != ']'; k++) {
        const char *v = p;
        if(!(p = skip_value(p, end, 1))) return false;
        if(k == i) {
            *out = (json_span){v, (size_t)(p - v)};
            return true;
        }
        p = ws(p, end);
        if(p >= end || *p != ',') return false;
        p = ws(p + 1, end);
    }
    return false;
}

/* Append code point c as UTF-8 at out[*n] if it fits in cap - 1. */
static bool put_utf8(char *out, size_t cap, size_t *n, unsigned c) {
    char b[4];
    size_t k = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if(k == 1) b[0] = (char)c;
    else if(k == 2) b[0] = (char)(0xc0 | c >> 6), b[1] = (char)(0x80 | (c & 0x3f));
    else if(k == 3) b[0] = (char)(0xe0 | c >> 12), b[1] = (char)(0x80 | ((c >> 6) & 0x3f)), b[2] = (char)(0x80 | (c & 0x3f));
    else
        b[0] = (char)(0xf0 | c >> 18), b[1] = (char)(0x80 | ((c >> 12) & 0x3f)), b[2] = (char)(0x80 | ((c >> 6) & 0x3f)),
        b[3] = (char)(0x80 | (c & 0x3f));
    if(*n + k >= cap) return false;
    memcpy(out + *n, b, k);
    *n += k;
    return true;
}

static unsigned hex4(const char *p) {
    return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

bool json_span_text(json_span v, char *out, size_t cap) {
    if(!v.p || v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"' || !cap) return false;
    const char *p = v.p + 1, *end = v.p + v.n - 1;
    size_t n = 0;
    while(p < end) {
        if(*p != '\\') {
            if(n + 1 >= cap) return false;
            out[n++] = *p++;
            continue;
        }
        p++;
        char c = *p++;
        unsigned u = 0;
        switch(c) {
        case 'b': u = '\b'; break;
        case 'f': u = '\f'; break;
        case 'n': u = '\n'; break;
        case 'r': u = '\r'; break;
        case 't': u = '\t'; break;
        case 'u':
            if(end - p < 4) return false;
            u = hex4(p);
            p += 4;
            if(u >= 0xd800 && u < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') { /* a surrogate pair */
                unsigned lo = hex4(p + 2);
                if(lo >= 0xdc00 && lo < 0xe000) {
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                }
            }
            break;
        default: u = (unsigned char)c; /* " \ / */
        }
        if(!put_utf8(out, cap, &n, u)) return false;
    }
    out[n] = '\0';
    return true;
}

bool json_span_is(json_span v, const char *s) {
    size_t n = strlen(s);
    if(v.n == n + 2 && v.p[0] == '"' && memcmp(v.p + 1, s, n) == 0) return true;
    if(!v.n || v.p[0] != '"' || !memchr(v.p, '\\', v.n)) return false;
    char buf[512];
    return n < sizeof buf && json_span_text(v, buf, sizeof buf) && strcmp(buf, s) == 0;
}

bool json_span_true(json_span v) {
    return v.n == 4 && memcmp(v.p, "true", 4) == 0;
}
