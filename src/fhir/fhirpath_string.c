/*
 * fhirpath_string.c — FHIRPath's string functions (indexOf, substring,
 * matches, replaceMatches, split, join, encode, escape ...) and the regular
 * expressions behind matches/replaceMatches.
 *
 * Regular expressions are POSIX extended ones (regex.h) after a small
 * translation of the Perl/JavaScript forms FHIR profiles write (\d, \w, \s,
 * (?:...), lazy quantifiers). A pattern that is a literal in the expression
 * is compiled once at parse time and shared read-only between threads
 * (glibc's regexec is thread-safe); other patterns are compiled per call.
 * Positions and lengths count characters (UTF-8 code points). Results are
 * allocated from the evaluation's arena.
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "fhir/fhirpath_fn.h"

/* The focus as one string: *s NULL when empty; an error when not a string. */
static bool focus_str(fp_ctx *c, const fp_node *n, const fp_coll *focus, const char **s) {
    const fp_item *it;
    fp_item x;
    *s = NULL;
    if(!fpf_single(c, focus, n->name, &it)) return false;
    if(!it || !fp_item_system(c, it, &x)) return true;
    if(x.v.kind != FP_STRING) return fp_fail(c, "%s(): the focus is not a string", n->name);
    *s = x.v.text;
    return true;
}

/* ---- UTF-8 character positions --------------------------------------------- */

static size_t u8_len(const char *s) {
    size_t n = 0;
    for(; *s; s++)
        if(((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* Byte offset of character i (or of the end). */
static size_t u8_off(const char *s, size_t i) {
    size_t k = 0, b = 0;
    for(; s[b]; b++) {
        if(((unsigned char)s[b] & 0xC0) != 0x80) {
            if(k == i) return b;
            k++;
        }
    }
    return b;
}

static size_t u8_index(const char *s, size_t byte) {
    size_t n = 0;
    for(size_t b = 0; b < byte && s[b]; b++)
        if(((unsigned char)s[b] & 0xC0) != 0x80) n++;
    return n;
}

bool fpf_length(FP_FN_ARGS) {
    const char *s;
    (void)in; (void)f;
    if(!focus_str(c, n, focus, &s)) return false;
    if(s) fpf_push_int(c, out, (int64_t)u8_len(s));
    return true;
}

bool fpf_indexOf(FP_FN_ARGS) {
    const char *s, *sub;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_string(c, n, 0, in, f, &sub)) return false;
    if(!s || !sub) return true;
    const char *p = strstr(s, sub);
    fpf_push_int(c, out, p ? (int64_t)u8_index(s, (size_t)(p - s)) : -1);
    return true;
}

bool fpf_lastIndexOf(FP_FN_ARGS) {
    const char *s, *sub;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_string(c, n, 0, in, f, &sub)) return false;
    if(!s || !sub) return true;
    const char *last = NULL;
    for(const char *p = strstr(s, sub); p; p = *p ? strstr(p + 1, sub) : NULL) last = p;
    fpf_push_int(c, out, last ? (int64_t)u8_index(s, (size_t)(last - s)) : -1);
    return true;
}

bool fpf_substring(FP_FN_ARGS) {
    const char *s;
    int64_t start = 0, len = -1;
    bool ps, pl = false;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_int(c, n, 0, in, f, &start, &ps)) return false;
    if(n->nargs > 1 && !fpf_arg_int(c, n, 1, in, f, &len, &pl)) return false;
    if(!s || !ps) return true;
    size_t total = u8_len(s);
    if(start < 0 || (size_t)start >= total) return true;
    if(pl && len < 0) len = 0;
    size_t end = pl && (size_t)start + (size_t)len < total ? (size_t)start + (size_t)len : total;
    size_t b = u8_off(s, (size_t)start), e = u8_off(s, end);
    fpf_push_str(c, out, fp_strndup(c->arena, s + b, e - b));
    return true;
}

static bool str_test(fp_ctx *c, const fp_node *n, const fp_coll *focus, const fp_coll *in, const fp_frame *f,
                     fp_coll *out, int which) {
    const char *s, *sub;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_string(c, n, 0, in, f, &sub)) return false;
    if(!s || !sub) return true;
    size_t ls = strlen(s), lu = strlen(sub);
    bool r = which == 0   ? strncmp(s, sub, lu) == 0
             : which == 1 ? ls >= lu && strcmp(s + ls - lu, sub) == 0
                          : strstr(s, sub) != NULL;
    fpf_push_bool(c, out, r);
    return true;
}
bool fpf_startsWith(FP_FN_ARGS) { return str_test(c, n, focus, in, f, out, 0); }
bool fpf_endsWith(FP_FN_ARGS) { return str_test(c, n, focus, in, f, out, 1); }
bool fpf_contains(FP_FN_ARGS) { return str_test(c, n, focus, in, f, out, 2); }

static bool change_case(fp_ctx *c, const fp_node *n, const fp_coll *focus, fp_coll *out, bool up) {
    const char *s;
    if(!focus_str(c, n, focus, &s)) return false;
    if(!s) return true;
    char *r = fp_strdup(c->arena, s);
    for(char *p = r; *p; p++) *p = (char)(up ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
    fpf_push_str(c, out, r);
    return true;
}
bool fpf_upper(FP_FN_ARGS) { (void)in; (void)f; return change_case(c, n, focus, out, true); }
bool fpf_lower(FP_FN_ARGS) { (void)in; (void)f; return change_case(c, n, focus, out, false); }

bool fpf_replace(FP_FN_ARGS) {
    const char *s, *pat, *rep;
    buf b = BUF_INIT;
    bool ok = false;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_string(c, n, 0, in, f, &pat) || !fpf_arg_string(c, n, 1, in, f, &rep))
        return false;
    if(!s || !pat || !rep) return true;
    buf_init(&b, FP_MAX_STRING);
    size_t lp = strlen(pat);
    if(lp == 0) { /* insert between every character */
        buf_puts(&b, rep);
        for(const char *p = s; *p;) {
            const char *q = p + 1;
            while(*q && ((unsigned char)*q & 0xC0) == 0x80) q++;
            buf_append(&b, p, (size_t)(q - p));
            if(buf_puts(&b, rep)) goto done;
            p = q;
        }
    } else {
        const char *p = s, *hit;
        while((hit = strstr(p, pat))) {
            buf_append(&b, p, (size_t)(hit - p));
            if(buf_puts(&b, rep)) goto done;
            p = hit + lp;
        }
        if(buf_puts(&b, p)) goto done;
    }
    fpf_push_str(c, out, fp_strndup(c->arena, buf_str(&b), b.len));
    ok = true;
done:
    buf_free(&b);
    return ok ? true : fp_fail(c, "replace(): result too long");
}

bool fpf_toChars(FP_FN_ARGS) {
    const char *s;
    (void)in; (void)f;
    if(!focus_str(c, n, focus, &s)) return false;
    if(!s) return true;
    for(const char *p = s; *p;) {
        const char *q = p + 1;
        while(*q && ((unsigned char)*q & 0xC0) == 0x80) q++;
        fpf_push_str(c, out, fp_strndup(c->arena, p, (size_t)(q - p)));
        p = q;
    }
    return true;
}

bool fpf_trim(FP_FN_ARGS) {
    const char *s;
    (void)in; (void)f;
    if(!focus_str(c, n, focus, &s)) return false;
    if(!s) return true;
    while(isspace((unsigned char)*s)) s++;
    size_t l = strlen(s);
    while(l && isspace((unsigned char)s[l - 1])) l--;
    fpf_push_str(c, out, fp_strndup(c->arena, s, l));
    return true;
}

bool fpf_split(FP_FN_ARGS) {
    const char *s, *sep;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_string(c, n, 0, in, f, &sep)) return false;
    if(!s || !sep) return true;
    size_t ls = strlen(sep);
    if(!ls) return fpf_toChars(c, n, focus, in, f, out);
    const char *p = s, *hit;
    while((hit = strstr(p, sep))) {
        fpf_push_str(c, out, fp_strndup(c->arena, p, (size_t)(hit - p)));
        p = hit + ls;
    }
    fpf_push_str(c, out, p);
    return true;
}

bool fpf_join(FP_FN_ARGS) {
    const char *sep = "";
    buf b = BUF_INIT;
    if(n->nargs && !fpf_arg_string(c, n, 0, in, f, &sep)) return false;
    if(!sep) sep = "";
    buf_init(&b, FP_MAX_STRING);
    for(size_t i = 0; i < focus->n; i++) {
        const char *s;
        if(!fp_item_is_string(c, &focus->items[i], &s)) {
            buf_free(&b);
            return fp_fail(c, "join(): item %zu is not a string", i);
        }
        if((i && buf_puts(&b, sep)) || buf_puts(&b, s)) {
            buf_free(&b);
            return fp_fail(c, "join(): result too long");
        }
    }
    fpf_push_str(c, out, fp_strndup(c->arena, buf_str(&b), b.len));
    buf_free(&b);
    return true;
}

/* ---- encode / decode / escape ---------------------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_encode(fp_ctx *c, const unsigned char *s, size_t n, const char *alpha) {
    char *o = fp_alloc(c->arena, (n + 2) / 3 * 4 + 1), *p = o;
    for(size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        *p++ = alpha[(v >> 18) & 63];
        *p++ = alpha[(v >> 12) & 63];
        *p++ = i + 1 < n ? alpha[(v >> 6) & 63] : '=';
        *p++ = i + 2 < n ? alpha[v & 63] : '=';
    }
    *p = 0;
    return o;
}

static char *b64_decode(fp_ctx *c, const char *s, const char *alpha) {
    size_t n = strlen(s);
    char *o = fp_alloc(c->arena, n / 4 * 3 + 4), *p = o;
    unsigned v = 0;
    int bits = 0;
    for(size_t i = 0; i < n; i++) {
        if(s[i] == '=') break;
        const char *at = strchr(alpha, s[i]);
        if(!at || !s[i]) return NULL;
        v = v << 6 | (unsigned)(at - alpha);
        bits += 6;
        if(bits >= 8) {
            bits -= 8;
            *p++ = (char)((v >> bits) & 0xFF);
        }
    }
    *p = 0;
    return o;
}

bool fpf_encode(FP_FN_ARGS) {
    const char *s, *fmt;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_string(c, n, 0, in, f, &fmt)) return false;
    if(!s || !fmt) return true;
    size_t l = strlen(s);
    if(strcmp(fmt, "hex") == 0) {
        char *o = fp_alloc(c->arena, l * 2 + 1);
        for(size_t i = 0; i < l; i++) snprintf(o + 2 * i, 3, "%02x", (unsigned char)s[i]);
        fpf_push_str(c, out, o);
    } else if(strcmp(fmt, "base64") == 0 || strcmp(fmt, "urlbase64") == 0) {
        fpf_push_str(c, out, b64_encode(c, (const unsigned char *)s, l, fmt[0] == 'u' ? B64URL : B64));
    }
    return true;
}

bool fpf_decode(FP_FN_ARGS) {
    const char *s, *fmt;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_string(c, n, 0, in, f, &fmt)) return false;
    if(!s || !fmt) return true;
    if(strcmp(fmt, "hex") == 0) {
        size_t l = strlen(s);
        if(l % 2) return true;
        char *o = fp_alloc(c->arena, l / 2 + 1);
        for(size_t i = 0; i < l; i += 2) {
            char h[3] = {s[i], s[i + 1], 0};
            if(!isxdigit((unsigned char)h[0]) || !isxdigit((unsigned char)h[1])) return true;
            o[i / 2] = (char)strtol(h, NULL, 16);
        }
        fpf_push_str(c, out, o);
    } else if(strcmp(fmt, "base64") == 0 || strcmp(fmt, "urlbase64") == 0) {
        char *o = b64_decode(c, s, fmt[0] == 'u' ? B64URL : B64);
        if(o) fpf_push_str(c, out, o);
    }
    return true;
}

bool fpf_escape(FP_FN_ARGS) {
    const char *s, *fmt;
    buf b = BUF_INIT;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_string(c, n, 0, in, f, &fmt)) return false;
    if(!s || !fmt) return true;
    buf_init(&b, FP_MAX_STRING);
    bool html = strcmp(fmt, "html") == 0;
    if(!html && strcmp(fmt, "json") != 0) return true;
    for(const char *p = s; *p; p++) {
        if(html) {
            switch(*p) {
            case '<': buf_puts(&b, "&lt;"); break;
            case '>': buf_puts(&b, "&gt;"); break;
            case '&': buf_puts(&b, "&amp;"); break;
            case '"': buf_puts(&b, "&quot;"); break;
            case '\'': buf_puts(&b, "&#39;"); break;
            default: buf_putc(&b, *p);
            }
        } else {
            switch(*p) {
            case '"': buf_puts(&b, "\\\""); break;
            case '\\': buf_puts(&b, "\\\\"); break;
            case '\n': buf_puts(&b, "\\n"); break;
            case '\r': buf_puts(&b, "\\r"); break;
            case '\t': buf_puts(&b, "\\t"); break;
            default: buf_putc(&b, *p);
            }
        }
    }
    fpf_push_str(c, out, fp_strndup(c->arena, buf_str(&b), b.len));
    buf_free(&b);
    return true;
}

bool fpf_unescape(FP_FN_ARGS) {
    const char *s, *fmt;
    buf b = BUF_INIT;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_string(c, n, 0, in, f, &fmt)) return false;
    if(!s || !fmt) return true;
    bool html = strcmp(fmt, "html") == 0;
    if(!html && strcmp(fmt, "json") != 0) return true;
    buf_init(&b, FP_MAX_STRING);
    static const char *const ENT[][2] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&#39;", "'"},
                                         {"&apos;", "'"}};
    for(const char *p = s; *p;) {
        bool done = false;
        if(html && *p == '&') {
            for(size_t i = 0; i < sizeof ENT / sizeof ENT[0] && !done; i++) {
                size_t l = strlen(ENT[i][0]);
                if(strncmp(p, ENT[i][0], l) == 0) {
                    buf_puts(&b, ENT[i][1]);
                    p += l;
                    done = true;
                }
            }
        } else if(!html && *p == '\\' && p[1]) {
            char e = p[1];
            buf_putc(&b, e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e);
            p += 2;
            done = true;
        }
        if(!done) buf_putc(&b, *p++);
    }
    fpf_push_str(c, out, fp_strndup(c->arena, buf_str(&b), b.len));
    buf_free(&b);
    return true;
}

/* ---- regular expressions --------------------------------------------------------------- */

/* Caps that keep glibc's regcomp away from its exponential cases. */
#define RE_MAX_LEN 1000
#define RE_MAX_BOUND 100 /* largest n in {n} / {n,m} */
#define RE_MAX_BOUNDS 8  /* {..} per pattern */
#define RE_MAX_GROUPS 20 /* nesting of ( ) */

void *fp_regex_compile(const char *pattern, bool whole, char *err, size_t errlen) {
    buf b = BUF_INIT;
    regex_t *re = NULL;
    int in_class = 0, depth = 0, bounds = 0;
    bool after_quant = false; /* the last thing written was a quantifier */
    const char *bad = NULL;
    buf_init(&b, FP_MAX_EXPR_LEN * 4);
    if(strlen(pattern) > RE_MAX_LEN) bad = "pattern too long";
    if(whole) buf_puts(&b, "^(");
    for(const char *p = pattern; *p && !bad; p++) {
        bool quant = !in_class && (*p == '*' || *p == '+' || *p == '?' || *p == '{');
        if(quant && after_quant) { /* a** or a+*: one quantifier is enough */
            if(*p == '{')
                while(p[1] && *p != '}') p++;
            continue;
        }
        after_quant = false;
        if(quant && *p == '{') {
            char *end = NULL;
            long lo = strtol(p + 1, &end, 10), hi = lo;
            if(end == p + 1) { /* not a bound: a literal brace */
                buf_puts(&b, "\\{");
                continue;
            }
            if(*end == ',') { /* {n,m} or {n,} */
                if(isdigit((unsigned char)end[1]))
                    hi = strtol(end + 1, &end, 10);
                else
                    end++;
            }
            if(*end != '}') {
                bad = "bad {n,m} bound";
                break;
            }
            if(lo > RE_MAX_BOUND || hi > RE_MAX_BOUND || ++bounds > RE_MAX_BOUNDS) {
                bad = "repetition bounds too large";
                break;
            }
            buf_append(&b, p, (size_t)(end - p) + 1);
            p = end;
            after_quant = true;
            if(p[1] == '?') p++; /* lazy: take it greedy */
            continue;
        }
        if(quant) after_quant = true;
        if(!in_class && *p == '(' && ++depth > RE_MAX_GROUPS) {
            bad = "groups nested too deeply";
            break;
        }
        if(!in_class && *p == ')') depth--;
        if(*p == '\\' && p[1]) {
            char e = *++p;
            const char *cls = NULL, *neg = NULL;
            switch(e) {
            case 'd': cls = "0-9"; break;
            case 'w': cls = "A-Za-z0-9_"; break;
            case 's': cls = "[:space:]"; break;
            case 'D': neg = "0-9"; break;
            case 'W': neg = "A-Za-z0-9_"; break;
            case 'S': neg = "[:space:]"; break;
            default: break;
            }
            if(cls || neg) {
                if(in_class && cls)
                    buf_puts(&b, cls);
                else
                    buf_printf(&b, "[%s%s]", neg ? "^" : "", cls ? cls : neg);
            } else if(e == 'n') {
                buf_putc(&b, '\n');
            } else if(e == 't') {
                buf_putc(&b, '\t');
            } else if(in_class) {
                if(e == ']' || e == '\\' || e == '-' || e == '^') buf_printf(&b, "\\%c", e);
                else buf_putc(&b, e);
            } else {
                buf_printf(&b, "\\%c", e);
            }
            continue;
        }
        if(in_class) {
            if(*p == ']') in_class = 0;
            buf_putc(&b, *p);
            continue;
        }
        if(*p == '[') {
            in_class = 1;
            buf_putc(&b, '[');
            if(p[1] == '^') buf_putc(&b, *++p);
            if(p[1] == ']') buf_putc(&b, *++p);
            continue;
        }
        if(*p == '(' && p[1] == '?' && p[2] == ':') {
            buf_putc(&b, '(');
            p += 2;
            continue;
        }
        if((*p == '*' || *p == '+' || *p == '?' || *p == '}') && p[1] == '?') { /* lazy: take it greedy */
            buf_putc(&b, *p++);
            continue;
        }
        buf_putc(&b, *p);
    }
    if(bad) {
        if(err && errlen) snprintf(err, errlen, "%s", bad);
        buf_free(&b);
        return NULL;
    }
    if(whole) buf_puts(&b, ")$");
    re = xmalloc(sizeof *re);
    int rc = regcomp(re, buf_str(&b), REG_EXTENDED);
    if(rc) {
        if(err && errlen) regerror(rc, re, err, errlen);
        free(re);
        re = NULL;
    }
    buf_free(&b);
    return re;
}

void fp_regex_free(void *re) {
    if(!re) return;
    regfree(re);
    free(re);
}

/* The compiled pattern: the parse-time one or a new one (*tmp, caller frees). */
static bool get_regex(fp_ctx *c, const fp_node *n, const fp_coll *in, const fp_frame *f, bool whole, regex_t **re,
                      void **tmp) {
    const char *pat;
    char err[128];
    *re = NULL;
    *tmp = NULL;
    if(n->re) {
        *re = n->re;
        return true;
    }
    if(!fpf_arg_string(c, n, 0, in, f, &pat)) return false;
    if(!pat) return true;
    *tmp = fp_regex_compile(pat, whole, err, sizeof err);
    if(!*tmp) return fp_fail(c, "%s(): bad regular expression: %s", n->name, err);
    *re = *tmp;
    return true;
}

static bool match(fp_ctx *c, const fp_node *n, const fp_coll *focus, const fp_coll *in, const fp_frame *f,
                  fp_coll *out, bool whole) {
    const char *s;
    regex_t *re;
    void *tmp;
    if(!focus_str(c, n, focus, &s)) return false;
    if(!get_regex(c, n, in, f, whole, &re, &tmp)) return false;
    if(s && re && fp_work(c, strlen(s))) fpf_push_bool(c, out, regexec(re, s, 0, NULL, 0) == 0);
    fp_regex_free(tmp);
    return true;
}
bool fpf_matches(FP_FN_ARGS) { return match(c, n, focus, in, f, out, false); }
bool fpf_matchesFull(FP_FN_ARGS) { return match(c, n, focus, in, f, out, true); }

bool fpf_replaceMatches(FP_FN_ARGS) {
    const char *s, *rep;
    regex_t *re;
    void *tmp = NULL;
    buf b = BUF_INIT;
    bool ok = false;
    const char *pat;
    if(!focus_str(c, n, focus, &s) || !fpf_arg_string(c, n, 1, in, f, &rep)) return false;
    if(!fpf_arg_string(c, n, 0, in, f, &pat)) return false;
    if(s && pat && !*pat) { /* an empty pattern changes nothing */
        fpf_push_str(c, out, s);
        return true;
    }
    if(!get_regex(c, n, in, f, false, &re, &tmp)) return false;
    if(!s || !re || !rep) {
        ok = true;
        goto done;
    }
    buf_init(&b, FP_MAX_STRING);
    /* REG_STARTEND: match within [off, len) without rescanning the rest for its length */
    size_t len = strlen(s), off = 0;
    regmatch_t m[10];
    int flags = 0;
    const char *p = s;
    for(;;) {
        /* one unit per match plus the text left: bounds pathological (quadratic) cases */
        if(!fp_work(c, 1 + (len - off) / 16)) goto done;
        m[0].rm_so = (regoff_t)off;
        m[0].rm_eo = (regoff_t)len;
        if(regexec(re, s, 10, m, flags | REG_STARTEND) != 0) break;
        size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
        buf_append(&b, s + off, so - off);
        for(const char *r = rep; *r; r++) {
            if(*r == '$' && r[1] >= '0' && r[1] <= '9') {
                int g = r[1] - '0';
                if(m[g].rm_so >= 0) buf_append(&b, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
                r++;
            } else {
                buf_putc(&b, *r);
            }
        }
        if(eo == so) { /* empty match: copy one character and move on */
            if(eo >= len) {
                off = len;
                break;
            }
            buf_putc(&b, s[eo]);
            off = eo + 1;
        } else {
            off = eo;
        }
        flags = REG_NOTBOL;
        if(b.len >= FP_MAX_STRING || off > len) break;
    }
    p = s + (off < len ? off : len);
    if(buf_puts(&b, p)) {
        fp_fail(c, "replaceMatches(): result too long");
        goto done;
    }
    fpf_push_str(c, out, fp_strndup(c->arena, buf_str(&b), b.len));
    ok = true;
done:
    buf_free(&b);
    fp_regex_free(tmp);
    return ok;
}
