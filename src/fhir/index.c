/*
 * index.c — search index rows of a resource.
 *
 * For every search parameter of the resource's type, the parameter's
 * FHIRPath expression (compiled once, on first use, for all parameters) is
 * evaluated on the resource and each result item becomes rows of the
 * parameter's kind: strings are normalised for prefix search, codes keep
 * their system, dates become time spans, numbers and quantities ranges as
 * wide as their written precision, references are split into type and id.
 * `resolve()` in expressions sees stubs made from reference strings (the
 * engine's resolve_stubs), so `subject.where(resolve() is Patient)` works
 * without reading the store.
 * Thread-safe: compiled expressions are shared read-only.
 */
#include "fhir/index.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "base/log.h"
#include "base/mem.h"
#include "fhir/fhirpath.h"
#include "fhir/searchparam.h"

#define MAX_STRING 2048  /* longest string indexed (bytes) */
#define MAX_CONTENT 65536 /* text kept for _content */

/* ---- compiled expressions ----------------------------------------------- */

#define MAX_FIRSTS 8

typedef struct compiled {
    fhirpath_expr *main;
    fhirpath_expr *comp[3];
    /* The top-level elements the expression can start from ("code",
     * "subject"); when the resource has none of them the expression is not
     * evaluated at all. nfirst 0: always evaluate. */
    char first[MAX_FIRSTS][48];
    int nfirst;
} compiled;

static compiled *exprs;
static pthread_once_t exprs_once = PTHREAD_ONCE_INIT;

static fhirpath_expr *compile(const char *src, const char *code) {
    if(!src || !*src) return NULL;
    fhirpath_expr *e = NULL;
    size_t pos = 0;
    char err[200];
    if(fhirpath_parse(src, &e, &pos, err, sizeof err)) {
        log_event(LOG_WARN, "search parameter expression does not compile", "\"param\":\"%s\",\"at\":%zu", code, pos);
        return NULL;
    }
    return e;
}

/* Fill cx->first from expression text such as "Observation.subject.where(...) | (Observation.focus)". */
static void find_firsts(compiled *cx, const fhir_search_param *p) {
    const char *e = p->expression;
    bool common = strcmp(p->base, "Resource") == 0 || strcmp(p->base, "DomainResource") == 0;
    size_t blen = strlen(p->base);
    int depth = 0;
    bool at_start = true;
    cx->nfirst = 0;
    /* Expressions that can yield a value from nothing (exists(), boolean logic,
     * comparisons) outside any where(...) are always evaluated. */
    static const char *const PRODUCERS[] = {"exists", "empty", " and ", " or ", "not(", "iif", "count", "=",
                                            "implies", "xor", "hasValue", "%", NULL};
    bool call[64]; /* for each open parenthesis: is it a function call's? */
    int d = 0, calls = 0;
    for(const char *q = e; *q; q++) {
        if(*q == '\'') {
            for(q++; *q && *q != '\''; q++)
                if(*q == '\\' && q[1]) q++;
            if(!*q) break;
            continue;
        }
        if(*q == '(') {
            bool is_call = q > e && (isalnum((unsigned char)q[-1]) || q[-1] == '_');
            if(d < 64) call[d] = is_call;
            d++;
            calls += is_call;
            continue;
        }
        if(*q == ')') {
            if(d > 0) {
                d--;
                if(d < 64 && call[d]) calls--;
            }
            continue;
        }
        if(calls > 0) continue; /* inside a function's arguments, e.g. where(url = '...') */
        for(int i = 0; PRODUCERS[i]; i++)
            if(strncmp(q, PRODUCERS[i], strlen(PRODUCERS[i])) == 0) return;
    }
    for(const char *q = e; *q; q++) {
        if(*q == '\'') { /* skip string literals */
            for(q++; *q && *q != '\''; q++)
                if(*q == '\\' && q[1]) q++;
            if(!*q) break;
            continue;
        }
        if(*q == '(') depth++;
        if(*q == ')') depth--;
        if(*q == '|' && depth <= 1) {
            at_start = true;
            continue;
        }
        if(!at_start || *q == ' ' || *q == '(') continue;
        at_start = false;
        const char *name = q;
        if(!common) {
            if(strncmp(q, p->base, blen) != 0 || q[blen] != '.') goto always;
            name = q + blen + 1;
        }
        size_t n = 0;
        while(name[n] && (isalnum((unsigned char)name[n]) || name[n] == '_')) n++;
        if(n == 0 || n >= sizeof cx->first[0] || cx->nfirst == MAX_FIRSTS) goto always;
        memcpy(cx->first[cx->nfirst], name, n);
        cx->first[cx->nfirst][n] = '\0';
        cx->nfirst++;
    }
    return;
always:
    cx->nfirst = 0;
}

/* Could the expression find anything in res? (A choice element "value" is
 * written valueQuantity, valueString...; a primitive may have only _name.) */
static bool may_apply(const compiled *cx, const json_value *res) {
    if(cx->nfirst == 0) return true;
    for(int i = 0; i < cx->nfirst; i++) {
        const char *f = cx->first[i];
        size_t n = strlen(f);
        json_iter it = json_iter_start(res);
        const char *key;
        json_value *v;
        while(json_iter_next(&it, &key, &v)) {
            const char *k = key[0] == '_' ? key + 1 : key;
            if(strncmp(k, f, n) == 0 && (k[n] == '\0' || (k[n] >= 'A' && k[n] <= 'Z'))) return true;
        }
    }
    return false;
}

static void compile_all(void) {
    exprs = xcalloc(fhir_search_param_count, sizeof *exprs);
    for(size_t i = 0; i < fhir_search_param_count; i++) {
        const fhir_search_param *p = &fhir_search_params[i];
        exprs[i].main = compile(p->expression, p->code);
        find_firsts(&exprs[i], p);
        for(int k = 0; k < p->ncomp && k < 3; k++) exprs[i].comp[k] = compile(p->comp[k].expression, p->code);
    }
}

static const compiled *compiled_for(const fhir_search_param *p) {
    pthread_once(&exprs_once, compile_all);
    return &exprs[p - fhir_search_params];
}

/* ---- rows ---------------------------------------------------------------- */

static const char *keep(fhir_index *ix, char *s) {
    if(ix->nstrs == ix->capstrs) {
        ix->capstrs = ix->capstrs ? ix->capstrs * 2 : 64;
        ix->strs = xrealloc(ix->strs, ix->capstrs * sizeof *ix->strs);
    }
    ix->strs[ix->nstrs++] = s;
    return s;
}

static const char *keep_copy(fhir_index *ix, const char *s) {
    if(!s) return NULL;
    size_t n = strnlen(s, MAX_STRING);
    return keep(ix, xstrndup(s, n));
}

static store_index_row *add_row(fhir_index *ix, store_ix_kind kind, const char *param) {
    if(ix->n >= FHIR_INDEX_MAX_ROWS) return NULL;
    if(ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 32;
        ix->rows = xrealloc(ix->rows, ix->cap * sizeof *ix->rows);
    }
    store_index_row *r = &ix->rows[ix->n++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->param = param;
    return r;
}

void fhir_index_free(fhir_index *ix) {
    for(size_t i = 0; i < ix->nstrs; i++) free(ix->strs[i]);
    free(ix->strs);
    free(ix->rows);
    memset(ix, 0, sizeof *ix);
}

/* ---- normalisation ------------------------------------------------------- */

/*
 * Case-folded (Unicode full case folding), compatibility-decomposed, with
 * combining marks removed: "Müller", "MULLER" and "Mu\u0308ller" all become
 * "muller"; "Σωκράτης" becomes "σωκρατησ". ß folds to "ss". Done with
 * GNU libunistring. Invalid UTF-8 falls back to ASCII lower-casing.
 */
char *fhir_index_normalise(const char *s) {
    size_t n = strnlen(s, MAX_STRING);
    size_t flen = 0;
    uint8_t *folded = u8_casefold((const uint8_t *)s, n, NULL, UNINORM_NFKD, NULL, &flen);
    buf b = BUF_INIT;
    if(!folded) {
        for(size_t i = 0; i < n; i++) buf_putc(&b, (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]));
        return buf_take(&b, NULL);
    }
    const uint8_t *p = folded, *end = folded + flen;
    while(p < end) {
        ucs4_t uc;
        int len = u8_mbtouc(&uc, p, (size_t)(end - p));
        if(len <= 0) break;
        if(!uc_is_general_category(uc, UC_CATEGORY_Mn)) buf_append(&b, p, (size_t)len);
        p += len;
    }
    free(folded);
    return buf_take(&b, NULL);
}

/* ---- value helpers ------------------------------------------------------- */

static const char *str_of(const json_value *v, const char *key) {
    return json_string(json_get(v, key));
}

/* Range covered by a written number: 1.50 covers 1.495..1.505. */
static bool number_range(const char *text, double *lo, double *hi, double *value) {
    if(!text) return false;
    char *end = NULL;
    double v = strtod(text, &end);
    if(end == text || !isfinite(v)) return false;
    const char *dot = strchr(text, '.');
    const char *exp = strpbrk(text, "eE");
    int decimals = 0;
    if(dot) decimals = (int)((exp ? exp : text + strlen(text)) - dot - 1);
    int e = exp ? atoi(exp + 1) : 0;
    double half = 0.5 * pow(10.0, -(double)decimals + e);
    *value = v;
    *lo = v - half;
    *hi = v + half;
    return true;
}

static void add_string(fhir_index *ix, const char *param, const char *v) {
    if(!v || !*v) return;
    store_index_row *r = add_row(ix, STORE_IX_STRING, param);
    if(!r) return;
    r->a = keep(ix, fhir_index_normalise(v));
    r->b = keep_copy(ix, v);
}

/* Every string inside a complex value (for string parameters on complex types). */
static void add_strings_within(fhir_index *ix, const char *param, const json_value *v, int depth) {
    if(depth > 8) return;
    json_kind k = json_kind_of(v);
    if(k == JSON_STRING) {
        add_string(ix, param, json_string(v));
    } else if(k == JSON_ARRAY) {
        for(size_t i = 0; i < json_array_len(v); i++) add_strings_within(ix, param, json_array_at(v, i), depth + 1);
    } else if(k == JSON_OBJECT) {
        json_iter it = json_iter_start(v);
        const char *key;
        json_value *child;
        while(json_iter_next(&it, &key, &child))
            if(key[0] != '_' && strcmp(key, "extension") != 0 && strcmp(key, "id") != 0 && strcmp(key, "system") != 0 &&
               strcmp(key, "url") != 0 && strcmp(key, "use") != 0)
                add_strings_within(ix, param, child, depth + 1);
    }
}

static void add_each_string(fhir_index *ix, const char *param, const json_value *v) {
    if(json_kind_of(v) == JSON_ARRAY)
        for(size_t i = 0; i < json_array_len(v); i++) add_string(ix, param, json_string(json_array_at(v, i)));
    else
        add_string(ix, param, json_string(v));
}

static void add_token(fhir_index *ix, const char *param, const char *system, const char *code, const char *text) {
    if((!code || !*code) && !text) return;
    store_index_row *r = add_row(ix, STORE_IX_TOKEN, param);
    if(!r) return;
    r->a = keep_copy(ix, system ? system : "");
    r->b = keep_copy(ix, code ? code : "");
    r->c = text ? keep(ix, fhir_index_normalise(text)) : NULL;
}

static void add_coding(fhir_index *ix, const char *param, const json_value *coding, const char *text) {
    const char *display = str_of(coding, "display");
    add_token(ix, param, str_of(coding, "system"), str_of(coding, "code"), text ? text : display);
}

static void add_date(fhir_index *ix, const char *param, const char *v, bool open_lo, bool open_hi, const char *v2) {
    double lo = -1e15, hi = 1e15, l2, h2;
    bool have = false;
    if(v && datetime_range(v, &l2, &h2)) {
        lo = l2;
        if(!open_hi) hi = h2;
        have = true;
    }
    if(v2 && datetime_range(v2, &l2, &h2)) {
        hi = h2;
        if(!v && !open_lo) lo = l2;
        have = true;
    }
    if(!have) return;
    store_index_row *r = add_row(ix, STORE_IX_DATE, param);
    if(!r) return;
    r->lo = lo;
    r->hi = hi;
}

static void split_reference(const char *ref, char *type, size_t tlen, char *id, size_t ilen) {
    type[0] = id[0] = '\0';
    if(!ref || ref[0] == '#' || strncmp(ref, "urn:", 4) == 0) return;
    const char *h = strstr(ref, "/_history/");
    size_t n = h ? (size_t)(h - ref) : strlen(ref);
    /* last two path segments: Type/id */
    const char *end = ref + n;
    const char *slash = NULL;
    for(const char *p = end - 1; p >= ref; p--) {
        if(*p == '/') {
            slash = p;
            break;
        }
    }
    if(!slash) return;
    const char *tstart = slash;
    while(tstart > ref && tstart[-1] != '/') tstart--;
    size_t tl = (size_t)(slash - tstart), il = (size_t)(end - slash - 1);
    if(tl == 0 || il == 0 || tl >= tlen || il >= ilen) return;
    if(tstart[0] < 'A' || tstart[0] > 'Z') return;
    memcpy(type, tstart, tl);
    type[tl] = '\0';
    memcpy(id, slash + 1, il);
    id[il] = '\0';
}

static void add_reference(fhir_index *ix, const char *param, const char *ref) {
    if(!ref || !*ref) return;
    char type[72], id[72];
    split_reference(ref, type, sizeof type, id, sizeof id);
    store_index_row *r = add_row(ix, STORE_IX_REFERENCE, param);
    if(!r) return;
    r->a = keep_copy(ix, type);
    r->b = keep_copy(ix, id);
    r->c = keep_copy(ix, ref);
}

static void add_quantity(fhir_index *ix, const char *param, const json_value *q) {
    double lo, hi, v;
    if(!number_range(json_number_text(json_get(q, "value")), &lo, &hi, &v)) return;
    const char *system = str_of(q, "system"), *code = str_of(q, "code"), *unit = str_of(q, "unit");
    if(!code && !unit) code = str_of(q, "currency"); /* Money */
    store_index_row *r = add_row(ix, STORE_IX_QUANTITY, param);
    if(!r) return;
    r->a = keep_copy(ix, system ? system : "");
    r->b = keep_copy(ix, code ? code : unit ? unit : "");
    r->lo = lo;
    r->hi = hi;
    if(unit && code && strcmp(unit, code) != 0) {
        store_index_row *u = add_row(ix, STORE_IX_QUANTITY, param);
        if(!u) return;
        u->a = keep_copy(ix, "");
        u->b = keep_copy(ix, unit);
        u->lo = lo;
        u->hi = hi;
    }
}

/* ---- items to rows ------------------------------------------------------- */

static bool is_type(const fhirpath_item *it, const char *t) {
    return it->type && strcmp(it->type, t) == 0;
}

/* Text of a primitive item (node or computed); NULL if none. */
static const char *item_text(const fhirpath_item *it, char *tmp, size_t tmplen) {
    if(it->kind != FP_NODE) {
        if(it->kind == FP_BOOLEAN) return it->boolean ? "true" : "false";
        if(it->kind == FP_INTEGER) {
            snprintf(tmp, tmplen, "%lld", (long long)it->integer);
            return tmp;
        }
        return it->text;
    }
    json_kind k = json_kind_of(it->node);
    if(k == JSON_STRING) return json_string(it->node);
    if(k == JSON_BOOL) return json_boolean(it->node) ? "true" : "false";
    if(k == JSON_INTEGER || k == JSON_DECIMAL) return json_number_text(it->node);
    return NULL;
}

static void index_item(fhir_index *ix, const fhir_search_param *p, const fhirpath_item *it) {
    const json_value *n = it->kind == FP_NODE ? it->node : NULL;
    char tmp[64];
    const char *text = item_text(it, tmp, sizeof tmp);
    switch(p->kind) {
    case FHIR_SP_STRING:
        if(is_type(it, "HumanName")) {
            add_string(ix, p->code, str_of(n, "family"));
            add_each_string(ix, p->code, json_get(n, "given"));
            add_each_string(ix, p->code, json_get(n, "prefix"));
            add_each_string(ix, p->code, json_get(n, "suffix"));
            add_string(ix, p->code, str_of(n, "text"));
        } else if(is_type(it, "Address")) {
            add_each_string(ix, p->code, json_get(n, "line"));
            static const char *const A[] = {"city", "district", "state", "postalCode", "country", "text", NULL};
            for(int i = 0; A[i]; i++) add_string(ix, p->code, str_of(n, A[i]));
        } else if(text) {
            add_string(ix, p->code, text);
        } else if(n) {
            add_strings_within(ix, p->code, n, 0);
        }
        break;
    case FHIR_SP_TOKEN:
        if(is_type(it, "Coding")) {
            add_coding(ix, p->code, n, NULL);
        } else if(is_type(it, "CodeableConcept")) {
            json_value *codings = json_get(n, "coding");
            const char *t = str_of(n, "text");
            for(size_t i = 0; i < json_array_len(codings); i++) add_coding(ix, p->code, json_array_at(codings, i), t);
            if(t && json_array_len(codings) == 0) add_token(ix, p->code, NULL, NULL, t);
        } else if(is_type(it, "Identifier")) {
            const char *value = str_of(n, "value");
            json_value *type = json_get(n, "type");
            add_token(ix, p->code, str_of(n, "system"), value, str_of(type, "text"));
            /* :of-type rows: the identifier's type coding with the value */
            json_value *tc = json_get(type, "coding");
            for(size_t i = 0; value && i < json_array_len(tc); i++) {
                json_value *c = json_array_at(tc, i);
                if(!str_of(c, "code")) continue;
                char param[96], code[MAX_STRING];
                snprintf(param, sizeof param, "%s|of-type", p->code);
                snprintf(code, sizeof code, "%s|%s", str_of(c, "code"), value);
                store_index_row *r = add_row(ix, STORE_IX_TOKEN, keep_copy(ix, param));
                if(!r) break;
                r->a = keep_copy(ix, str_of(c, "system") ? str_of(c, "system") : "");
                r->b = keep_copy(ix, code);
            }
        } else if(is_type(it, "ContactPoint")) {
            add_token(ix, p->code, NULL, str_of(n, "value"), NULL);
        } else if(text) {
            add_token(ix, p->code, NULL, text, NULL);
        }
        break;
    case FHIR_SP_DATE:
        if(is_type(it, "Period")) {
            add_date(ix, p->code, str_of(n, "start"), true, false, str_of(n, "end"));
            if(!str_of(n, "end") && str_of(n, "start")) {
                /* an open period lasts until further notice */
                ix->rows[ix->n - 1].hi = 1e15;
            }
        } else if(is_type(it, "Timing")) {
            json_value *ev = json_get(n, "event");
            for(size_t i = 0; i < json_array_len(ev); i++)
                add_date(ix, p->code, json_string(json_array_at(ev, i)), false, false, NULL);
            json_value *bp = json_get(json_get(n, "repeat"), "boundsPeriod");
            if(bp) add_date(ix, p->code, str_of(bp, "start"), true, false, str_of(bp, "end"));
        } else if(text) {
            add_date(ix, p->code, text, false, false, NULL);
        }
        break;
    case FHIR_SP_NUMBER: {
        double lo, hi, v;
        const char *num = n ? json_number_text(n) : text;
        if(number_range(num, &lo, &hi, &v)) {
            store_index_row *r = add_row(ix, STORE_IX_NUMBER, p->code);
            if(r) {
                r->lo = lo;
                r->hi = hi;
            }
        }
        break;
    }
    case FHIR_SP_QUANTITY:
        if(n && json_kind_of(n) == JSON_OBJECT) add_quantity(ix, p->code, n);
        break;
    case FHIR_SP_REFERENCE:
        if(is_type(it, "Reference")) {
            add_reference(ix, p->code, str_of(n, "reference"));
        } else if(text) {
            add_reference(ix, p->code, text); /* canonical, uri */
        }
        break;
    case FHIR_SP_URI:
        if(text && *text) {
            store_index_row *r = add_row(ix, STORE_IX_URI, p->code);
            if(r) r->a = keep_copy(ix, text);
        }
        break;
    case FHIR_SP_COMPOSITE:
    case FHIR_SP_SPECIAL: break;
    }
}

/* ---- composites --------------------------------------------------------- */

/* Values of one component on a focus node, as rows in a scratch index. */
static void component_values(const fhir_search_param *p, const compiled *cx, int k, const fhirpath_item *focus,
                             const fhirpath_env *env, fhir_index *out) {
    fhirpath_result *r = NULL;
    char err[128];
    fhirpath_env typed = *env;
    typed.root_type = json_get(focus->node, "resourceType") ? NULL : focus->type;
    if(!cx->comp[k] || fhirpath_eval(cx->comp[k], focus->node, &typed, &r, err, sizeof err)) return;
    fhir_search_param sub = *p;
    sub.kind = p->comp[k].kind;
    sub.code = "c";
    for(size_t i = 0; i < fhirpath_result_count(r); i++) index_item(out, &sub, fhirpath_result_at(r, i));
    fhirpath_result_free(r);
}

static void index_composite(fhir_index *ix, const fhir_search_param *p, const compiled *cx,
                            const fhirpath_item *focus, const fhirpath_env *env) {
    if(p->ncomp != 2) return; /* three-part composites are not indexed */
    fhir_index c1 = FHIR_INDEX_INIT, c2 = FHIR_INDEX_INIT;
    component_values(p, cx, 0, focus, env, &c1);
    component_values(p, cx, 1, focus, env, &c2);
    for(size_t i = 0; i < c1.n; i++) {
        if(c1.rows[i].kind != STORE_IX_TOKEN) continue;
        for(size_t j = 0; j < c2.n; j++) {
            const store_index_row *b = &c2.rows[j];
            store_index_row *r = add_row(ix, STORE_IX_COMPOSITE, p->code);
            if(!r) break;
            r->a = keep_copy(ix, c1.rows[i].a);
            r->b = keep_copy(ix, c1.rows[i].b);
            if(b->kind == STORE_IX_TOKEN || b->kind == STORE_IX_STRING || b->kind == STORE_IX_REFERENCE ||
               b->kind == STORE_IX_URI) {
                r->c = keep_copy(ix, b->kind == STORE_IX_TOKEN ? b->b : b->a);
            } else {
                r->c = keep_copy(ix, b->kind == STORE_IX_QUANTITY ? b->b : "");
                r->lo = b->lo;
                r->hi = b->hi;
            }
        }
    }
    fhir_index_free(&c1);
    fhir_index_free(&c2);
}

/* ---- _text and _content ------------------------------------------------- */

static void strip_tags(buf *out, const char *html) {
    bool in_tag = false;
    for(const char *p = html; *p && out->len < MAX_CONTENT; p++) {
        if(*p == '<') in_tag = true;
        else if(*p == '>') {
            in_tag = false;
            buf_putc(out, ' ');
        } else if(!in_tag) buf_putc(out, *p);
    }
}

static void gather_text(buf *out, const json_value *v, int depth) {
    if(depth > 12 || out->len >= MAX_CONTENT) return;
    json_kind k = json_kind_of(v);
    if(k == JSON_STRING) {
        buf_puts(out, json_string(v));
        buf_putc(out, ' ');
    } else if(k == JSON_ARRAY) {
        for(size_t i = 0; i < json_array_len(v); i++) gather_text(out, json_array_at(v, i), depth + 1);
    } else if(k == JSON_OBJECT) {
        json_iter it = json_iter_start(v);
        const char *key;
        json_value *child;
        while(json_iter_next(&it, &key, &child))
            if(strcmp(key, "div") != 0 && strcmp(key, "data") != 0) gather_text(out, child, depth + 1);
    }
}

static void index_text(fhir_index *ix, const json_value *res) {
    buf narrative = BUF_INIT, content = BUF_INIT;
    const char *div = str_of(json_get(res, "text"), "div");
    if(div) strip_tags(&narrative, div);
    gather_text(&content, res, 0);
    if(!narrative.len && !content.len) return;
    store_index_row *r = add_row(ix, STORE_IX_TEXT, "_text");
    if(!r) {
        buf_free(&narrative);
        buf_free(&content);
        return;
    }
    r->a = keep(ix, buf_take(&narrative, NULL));
    r->b = keep(ix, buf_take(&content, NULL));
}

/* ---- the resource ------------------------------------------------------- */

kith_rc fhir_index_resource(const char *type, const json_value *res, fhir_index *ix) {
    /* resolve() finds contained resources, else a {resourceType, id} stub made from the
     * reference, so `subject.where(resolve() is Patient)` needs no store read. */
    fhirpath_env env = {.resolve_stubs = true, .as_filters = true};
    for(size_t i = 0;; i++) {
        const fhir_search_param *p = fhir_search_param_of(type, i);
        if(!p) break;
        const compiled *cx = compiled_for(p);
        if(!cx->main || !may_apply(cx, res)) continue;
        fhirpath_result *r = NULL;
        char err[160];
        if(fhirpath_eval(cx->main, res, &env, &r, err, sizeof err)) continue;
        for(size_t k = 0; k < fhirpath_result_count(r); k++) {
            const fhirpath_item *it = fhirpath_result_at(r, k);
            if(p->kind == FHIR_SP_COMPOSITE) {
                if(it->kind == FP_NODE && json_kind_of(it->node) == JSON_OBJECT) index_composite(ix, p, cx, it, &env);
            } else {
                index_item(ix, p, it);
            }
        }
        fhirpath_result_free(r);
    }
    index_text(ix, res);
    return KITH_OK;
}
