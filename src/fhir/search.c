/*
 * search.c — FHIR search parameters to store queries, and results to
 * searchset Bundles.
 *
 * Parsing follows the R4 search spec: each `name[:modifier]=v1,v2` is one
 * AND filter whose comma-separated values are ORed; repeated names AND;
 * prefixes (eq ne gt lt ge le sa eb ap) on numbers, dates and quantities;
 * token forms system|code, |code, system|; chains (subject:Patient.name=x)
 * and reverse chains (_has:Observation:subject:code=x) become nested store
 * queries. Result parameters (_sort, _count, _total, _summary, _elements,
 * _include, _revinclude) shape the Bundle. The parsed search owns every
 * string the store query points at. Not shared between threads.
 */
#include "fhir/search.h"

#include "fhir/access.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/mem.h"
#include "base/url.h"
#include "fhir/index.h"
#include "fhir/rest.h"
#include "fhir/model.h"
#include "fhir/searchparam.h"
#include "json/json.h"

typedef enum summary_mode { SUMMARY_FALSE, SUMMARY_TRUE, SUMMARY_TEXT, SUMMARY_DATA, SUMMARY_COUNT } summary_mode;

typedef struct include_spec {
    char *src_type, *param, *target_type; /* param NULL: "*" */
    bool iterate, reverse;
} include_spec;

struct fhir_search {
    store_query q;
    /* Everything the query points at, freed together. */
    char **strs;
    size_t nstrs, capstrs;
    void **blocks;
    size_t nblocks, capblocks;
    buf used;              /* parameters actually applied, for the self link */
    fhir_issues ignored;   /* warnings for the Bundle */
    summary_mode summary;
    char **elements;
    size_t nelements;
    include_spec *incs;
    size_t nincs;
    bool total_none;
};

/* ---- ownership helpers -------------------------------------------------- */

static char *own(fhir_search *s, char *p) {
    if(s->nstrs == s->capstrs) {
        s->capstrs = s->capstrs ? s->capstrs * 2 : 32;
        s->strs = xrealloc(s->strs, s->capstrs * sizeof *s->strs);
    }
    s->strs[s->nstrs++] = p;
    return p;
}

static char *own_copy(fhir_search *s, const char *p) {
    return p ? own(s, xstrdup(p)) : NULL;
}

static void *own_block(fhir_search *s, size_t size) {
    void *p = xcalloc(1, size);
    if(s->nblocks == s->capblocks) {
        s->capblocks = s->capblocks ? s->capblocks * 2 : 16;
        s->blocks = xrealloc(s->blocks, s->capblocks * sizeof *s->blocks);
    }
    s->blocks[s->nblocks++] = p;
    return p;
}

static store_filter *add_filter(fhir_search *s, store_query *q) {
    if(q->nfilters % 8 == 0) {
        store_filter *nf = own_block(s, (q->nfilters + 8) * sizeof *nf);
        if(q->nfilters) memcpy(nf, q->filters, q->nfilters * sizeof *nf);
        q->filters = nf;
    }
    store_filter *f = &q->filters[q->nfilters++];
    memset(f, 0, sizeof *f);
    return f;
}

static store_match *add_match(fhir_search *s, store_filter *f) {
    if(f->nors % 8 == 0) {
        store_match *nm = own_block(s, (f->nors + 8) * sizeof *nm);
        if(f->nors) memcpy(nm, f->ors, f->nors * sizeof *nm);
        f->ors = nm;
    }
    store_match *m = &f->ors[f->nors++];
    memset(m, 0, sizeof *m);
    return m;
}

void fhir_search_free(fhir_search *s) {
    if(!s) return;
    for(size_t i = 0; i < s->nstrs; i++) free(s->strs[i]);
    free(s->strs);
    for(size_t i = 0; i < s->nblocks; i++) free(s->blocks[i]);
    free(s->blocks);
    for(size_t i = 0; i < s->nincs; i++) {
        free(s->incs[i].src_type);
        free(s->incs[i].param);
        free(s->incs[i].target_type);
    }
    free(s->incs);
    for(size_t i = 0; i < s->nelements; i++) free(s->elements[i]);
    free(s->elements);
    buf_free(&s->used);
    fhir_issues_free(&s->ignored);
    free(s);
}

/* ---- values -------------------------------------------------------------- */

/* Split v at unescaped commas into owned, unescaped parts. */
static size_t split_values(fhir_search *s, const char *v, char sep, char **parts, size_t max) {
    size_t n = 0;
    buf cur = BUF_INIT;
    for(const char *p = v;; p++) {
        if(*p == '\\' && p[1]) {
            p++;
            buf_putc(&cur, *p);
            continue;
        }
        if(*p == sep || !*p) {
            if(n < max) parts[n++] = own(s, buf_take(&cur, NULL));
            else buf_reset(&cur);
            if(!*p) break;
            continue;
        }
        buf_putc(&cur, *p);
    }
    buf_free(&cur);
    return n;
}

static const char *PREFIXES[] = {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"};
static const store_op PREFIX_OPS[] = {STORE_OP_EQ, STORE_OP_NE, STORE_OP_GT, STORE_OP_LT, STORE_OP_GE,
                                      STORE_OP_LE, STORE_OP_SA, STORE_OP_EB, STORE_OP_AP};

static const char *take_prefix(const char *v, store_op *op) {
    *op = STORE_OP_EQ;
    for(int i = 0; i < 9; i++) {
        if(strncmp(v, PREFIXES[i], 2) == 0 && v[2] && (v[2] == '-' || v[2] == '.' || (v[2] >= '0' && v[2] <= '9'))) {
            *op = PREFIX_OPS[i];
            return v + 2;
        }
    }
    return v;
}

static bool number_span(const char *text, double *lo, double *hi, double *value) {
    char *end = NULL;
    double v = strtod(text, &end);
    if(end == text || *end || !isfinite(v)) return false;
    const char *dot = strchr(text, '.');
    const char *exp = strpbrk(text, "eE");
    int decimals = dot ? (int)((exp ? exp : text + strlen(text)) - dot - 1) : 0;
    int e = exp ? atoi(exp + 1) : 0;
    double half = 0.5 * pow(10.0, -(double)decimals + e);
    *value = v;
    *lo = v - half;
    *hi = v + half;
    return true;
}

static store_ix_kind ix_kind_of(fhir_sp_kind k) {
    switch(k) {
    case FHIR_SP_NUMBER: return STORE_IX_NUMBER;
    case FHIR_SP_DATE: return STORE_IX_DATE;
    case FHIR_SP_STRING: return STORE_IX_STRING;
    case FHIR_SP_TOKEN: return STORE_IX_TOKEN;
    case FHIR_SP_REFERENCE: return STORE_IX_REFERENCE;
    case FHIR_SP_COMPOSITE: return STORE_IX_COMPOSITE;
    case FHIR_SP_QUANTITY: return STORE_IX_QUANTITY;
    case FHIR_SP_URI: return STORE_IX_URI;
    case FHIR_SP_SPECIAL: return STORE_IX_TEXT;
    }
    return STORE_IX_TOKEN;
}

/* Parse one value of kind k into m. false (with issue) when malformed. */
static bool parse_value(fhir_search *s, fhir_sp_kind k, const char *name, const char *modifier, const char *v,
                        const char *base_url, store_match *m, fhir_issues *is) {
    switch(k) {
    case FHIR_SP_STRING:
        if(modifier && strcmp(modifier, "exact") == 0) {
            m->op = STORE_OP_EXACT;
            m->b = own_copy(s, v);
        } else {
            m->op = modifier && strcmp(modifier, "contains") == 0 ? STORE_OP_CONTAINS : STORE_OP_STARTS;
            m->a = own(s, fhir_index_normalise(v));
        }
        return true;
    case FHIR_SP_TOKEN: {
        if(modifier && strcmp(modifier, "text") == 0) {
            m->op = STORE_OP_TEXT;
            m->c = own(s, fhir_index_normalise(v));
            return true;
        }
        if(modifier && strcmp(modifier, "of-type") == 0) {
            char *parts[3];
            if(split_values(s, v, '|', parts, 3) != 3 || !*parts[1] || !*parts[2]) {
                fhir_issues_add(is, "error", "invalid", NULL, "%s:of-type takes system|code|value, not '%s'", name, v);
                return false;
            }
            m->op = STORE_OP_EQ;
            m->a = parts[0];
            m->b = own(s, xmalloc(strlen(parts[1]) + strlen(parts[2]) + 2));
            sprintf((char *)m->b, "%s|%s", parts[1], parts[2]);
            return true;
        }
        m->op = STORE_OP_EQ;
        const char *bar = NULL;
        for(const char *p = v; *p; p++) {
            if(*p == '\\' && p[1]) {
                p++;
                continue;
            }
            if(*p == '|') {
                bar = p;
                break;
            }
        }
        if(bar) {
            m->a = own(s, xstrndup(v, (size_t)(bar - v)));
            m->b = bar[1] ? own_copy(s, bar + 1) : NULL;
        } else {
            m->b = own_copy(s, v);
        }
        return true;
    }
    case FHIR_SP_DATE: {
        const char *d = take_prefix(v, &m->op);
        if(!datetime_range(d, &m->lo, &m->hi)) {
            fhir_issues_add(is, "error", "invalid", NULL,
                            "'%s' is not a date for %s: use e.g. 2026-11-26, 2026-11 or 2026-11-26T09:30:00Z", v, name);
            return false;
        }
        m->value = m->lo;
        return true;
    }
    case FHIR_SP_NUMBER: {
        const char *d = take_prefix(v, &m->op);
        if(!number_span(d, &m->lo, &m->hi, &m->value)) {
            fhir_issues_add(is, "error", "invalid", NULL, "'%s' is not a number for %s", v, name);
            return false;
        }
        return true;
    }
    case FHIR_SP_QUANTITY: {
        const char *d = take_prefix(v, &m->op);
        char *parts[3] = {NULL, NULL, NULL};
        size_t np = split_values(s, d, '|', parts, 3);
        if(np == 2 || !number_span(parts[0], &m->lo, &m->hi, &m->value)) {
            fhir_issues_add(is, "error", "invalid", NULL, "'%s' is not a quantity for %s: use number|system|code", v,
                            name);
            return false;
        }
        if(np == 3) {
            m->a = *parts[1] ? parts[1] : NULL;
            m->b = *parts[2] ? parts[2] : NULL;
        }
        return true;
    }
    case FHIR_SP_REFERENCE: {
        m->op = STORE_OP_EQ;
        const char *r = v;
        size_t bl = strlen(base_url);
        if(strncmp(r, base_url, bl) == 0 && strncmp(r + bl, "/fhir/", 6) == 0) r += bl + 6;
        if(strncmp(r, "http://", 7) == 0 || strncmp(r, "https://", 8) == 0 || strncmp(r, "urn:", 4) == 0) {
            m->c = own_copy(s, r);
            return true;
        }
        const char *slash = strchr(r, '/');
        if(slash) {
            m->a = own(s, xstrndup(r, (size_t)(slash - r)));
            const char *h = strstr(slash + 1, "/_history");
            m->b = own(s, h ? xstrndup(slash + 1, (size_t)(h - slash - 1)) : xstrdup(slash + 1));
        } else {
            m->b = own_copy(s, r);
        }
        if(modifier && fhir_type_is_resource(modifier)) m->a = own_copy(s, modifier);
        return true;
    }
    case FHIR_SP_URI:
        m->op = !modifier                        ? STORE_OP_EQ
                : strcmp(modifier, "below") == 0 ? STORE_OP_BELOW
                : strcmp(modifier, "above") == 0 ? STORE_OP_ABOVE
                                                 : STORE_OP_EQ;
        m->a = own_copy(s, v);
        return true;
    case FHIR_SP_COMPOSITE:
    case FHIR_SP_SPECIAL: break;
    }
    return false;
}

static bool parse_composite(fhir_search *s, const fhir_search_param *sp, const char *v, const char *base_url,
                            store_match *m, fhir_issues *is) {
    char *parts[3];
    if(sp->ncomp != 2 || split_values(s, v, '$', parts, 3) != 2) {
        fhir_issues_add(is, "error", "invalid", NULL, "%s takes two values joined by '$', not '%s'", sp->code, v);
        return false;
    }
    store_match first = {0}, second = {0};
    if(!parse_value(s, FHIR_SP_TOKEN, sp->code, NULL, parts[0], base_url, &first, is)) return false;
    if(!parse_value(s, sp->comp[1].kind, sp->code, NULL, parts[1], base_url, &second, is)) return false;
    m->a = first.a;
    m->b = first.b;
    if(!m->b) {
        fhir_issues_add(is, "error", "invalid", NULL, "%s needs a code before '$'", sp->code);
        return false;
    }
    if(sp->comp[1].kind == FHIR_SP_TOKEN || sp->comp[1].kind == FHIR_SP_STRING || sp->comp[1].kind == FHIR_SP_URI ||
       sp->comp[1].kind == FHIR_SP_REFERENCE) {
        m->op = STORE_OP_EQ;
        m->c = sp->comp[1].kind == FHIR_SP_TOKEN ? second.b : second.a;
    } else {
        m->op = second.op;
        m->lo = second.lo;
        m->hi = second.hi;
        m->value = second.value;
        m->c = second.b; /* quantity code */
    }
    return true;
}

/* ---- parameters ------------------------------------------------------------ */

static kith_rc parse_into(fhir_search *s, store_query *q, const char *type, const char *name, const char *value,
                          bool strict, const char *base_url, int depth, fhir_issues *is);

static void note_ignored(fhir_search *s, bool strict, fhir_issues *is, const char *fmt, const char *a, const char *b) {
    if(strict) {
        fhir_issues_add(is, "error", "not-supported", NULL, fmt, a, b);
    } else {
        buf msg = BUF_INIT;
        buf_printf(&msg, fmt, a, b);
        fhir_issues_add(&s->ignored, "warning", "not-supported", NULL, "%s: ignored", buf_str(&msg));
        buf_free(&msg);
    }
}

static kith_rc parse_has(fhir_search *s, store_query *q, const char *name, const char *value, bool strict,
                         const char *base_url, int depth, fhir_issues *is) {
    /* _has:Type:refparam:rest (the inner parameter is always strict) */
    (void)strict;
    char *copy = own_copy(s, name + 5);
    char *c1 = strchr(copy, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if(!c1 || !c2 || depth > 3) {
        fhir_issues_add(is, "error", "invalid", NULL, "_has takes _has:Type:reference:parameter=value, not '%s'", name);
        return KITH_EINVAL;
    }
    *c1 = *c2 = '\0';
    const char *htype = copy, *hparam = c1 + 1, *rest = c2 + 1;
    const fhir_search_param *rp = fhir_search_param_find(htype, hparam);
    if(!fhir_type_is_resource(htype) || !rp || rp->kind != FHIR_SP_REFERENCE) {
        fhir_issues_add(is, "error", "invalid", NULL, "_has: %s has no reference parameter '%s'", htype, hparam);
        return KITH_EINVAL;
    }
    store_query *sub = own_block(s, sizeof *sub);
    sub->type = htype;
    kith_rc rc = parse_into(s, sub, htype, rest, value, true, base_url, depth + 1, is);
    if(rc) return rc;
    store_filter *f = add_filter(s, q);
    f->has_type = htype;
    f->has_param = hparam;
    f->has_query = sub;
    f->param = hparam;
    return KITH_OK;
}

static kith_rc parse_chain(fhir_search *s, store_query *q, const char *type, const char *name, const char *value,
                           bool strict, const char *base_url, int depth, fhir_issues *is) {
    /* refparam[:Type].rest */
    char *copy = own_copy(s, name);
    char *dot = strchr(copy, '.');
    *dot = '\0';
    const char *rest = dot + 1;
    char *colon = strchr(copy, ':');
    const char *target = NULL;
    if(colon) {
        *colon = '\0';
        target = colon + 1;
    }
    const fhir_search_param *rp = fhir_search_param_find(type, copy);
    if(!rp || rp->kind != FHIR_SP_REFERENCE || depth > 3) {
        fhir_issues_add(is, "error", "invalid", NULL, "%s has no reference parameter '%s' to chain through", type, copy);
        return KITH_EINVAL;
    }
    store_filter *f = add_filter(s, q);
    f->kind = STORE_IX_REFERENCE;
    f->param = copy;
    /* One alternative per possible target type that knows the chained parameter;
     * a reference that may point at many types must name one. */
    char *targets = own_copy(s, target ? target : rp->targets);
    char rest_param[128];
    snprintf(rest_param, sizeof rest_param, "%.*s", (int)strcspn(rest, ".:"), rest);
    size_t candidates = 0;
    for(const char *t = targets; *t;) {
        size_t n = strcspn(t, ",");
        char tt[72];
        snprintf(tt, sizeof tt, "%.*s", (int)(n < 71 ? n : 71), t);
        if(fhir_type_is_resource(tt) && fhir_search_param_find(tt, rest_param)) candidates++;
        t += n;
        if(*t) t++;
    }
    if(candidates > 4) {
        fhir_issues_add(is, "error", "invalid", NULL,
                        "%s.%s could mean %zu resource types: name one, e.g. %s:Patient.%s", copy, rest, candidates,
                        copy, rest);
        return KITH_EINVAL;
    }
    char *save = NULL;
    for(char *t = strtok_r(targets, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if(!fhir_type_is_resource(t)) continue;
        char rest_name[128];
        snprintf(rest_name, sizeof rest_name, "%.*s", (int)strcspn(rest, ".:"), rest);
        if(!fhir_search_param_find(t, rest_name)) continue;
        store_query *sub = own_block(s, sizeof *sub);
        sub->type = t;
        kith_rc rc = parse_into(s, sub, t, rest, value, true, base_url, depth + 1, is);
        if(rc) return rc;
        store_match *m = add_match(s, f);
        m->op = STORE_OP_EQ;
        m->chain = sub;
    }
    if(f->nors == 0) {
        fhir_issues_add(is, "error", "invalid", NULL, "no target of %s.%s has a search parameter '%s'", type, copy, rest);
        return KITH_EINVAL;
    }
    (void)strict;
    return KITH_OK;
}

static kith_rc parse_into(fhir_search *s, store_query *q, const char *type, const char *name, const char *value,
                          bool strict, const char *base_url, int depth, fhir_issues *is) {
    if(strncmp(name, "_has:", 5) == 0) return parse_has(s, q, name, value, strict, base_url, depth, is);
    if(strchr(name, '.')) return parse_chain(s, q, type, name, value, strict, base_url, depth, is);
    char *pname = own_copy(s, name);
    char *modifier = strchr(pname, ':');
    if(modifier) *modifier++ = '\0';
    char *parts[SEARCH_MAX_PARAMS];
    if(strcmp(pname, "_id") == 0 || strcmp(pname, "_list") == 0) {
        store_filter *f = add_filter(s, q);
        f->kind = STORE_IX_TOKEN;
        f->param = pname;
        if(modifier && strcmp(modifier, "not") == 0) f->negate = true;
        size_t n = split_values(s, value, ',', parts, SEARCH_MAX_PARAMS);
        for(size_t i = 0; i < n; i++) add_match(s, f)->b = parts[i];
        return KITH_OK;
    }
    if(strcmp(pname, "_text") == 0 || strcmp(pname, "_content") == 0) {
        store_filter *f = add_filter(s, q);
        f->kind = STORE_IX_TEXT;
        f->param = pname;
        size_t n = split_values(s, value, ',', parts, SEARCH_MAX_PARAMS);
        for(size_t i = 0; i < n; i++) add_match(s, f)->a = parts[i];
        return KITH_OK;
    }
    const fhir_search_param *sp = fhir_search_param_find(type, pname);
    if(!sp || sp->kind == FHIR_SP_SPECIAL || (!*sp->expression && sp->kind != FHIR_SP_COMPOSITE)) {
        note_ignored(s, strict, is, "%s has no search parameter '%s'", type, pname);
        return strict ? KITH_EINVAL : KITH_OK;
    }
    store_filter *f = add_filter(s, q);
    f->kind = ix_kind_of(sp->kind);
    f->param = pname;
    if(modifier) {
        if(strcmp(modifier, "missing") == 0) {
            store_match *m = add_match(s, f);
            if(strcmp(value, "true") == 0)
                m->op = STORE_OP_MISSING;
            else if(strcmp(value, "false") == 0)
                m->op = STORE_OP_PRESENT;
            else {
                fhir_issues_add(is, "error", "invalid", NULL, "%s:missing takes true or false", pname);
                return KITH_EINVAL;
            }
            return KITH_OK;
        }
        bool ok = false;
        switch(sp->kind) {
        case FHIR_SP_STRING: ok = !strcmp(modifier, "exact") || !strcmp(modifier, "contains"); break;
        case FHIR_SP_TOKEN:
            ok = !strcmp(modifier, "text") || !strcmp(modifier, "not") || !strcmp(modifier, "of-type") ||
                 !strcmp(modifier, "in") || !strcmp(modifier, "not-in");
            break;
        case FHIR_SP_URI: ok = !strcmp(modifier, "below") || !strcmp(modifier, "above"); break;
        case FHIR_SP_REFERENCE: ok = fhir_type_is_resource(modifier); break;
        default: break;
        }
        if(!ok) {
            /* :in/:not-in need stored ValueSets; :identifier needs identifier rows of references. */
            q->nfilters--;
            fhir_issues_add(is, "error", "not-supported", NULL, "modifier :%s is not supported on %s parameter '%s'",
                            modifier, fhir_sp_kind_name(sp->kind), pname);
            return KITH_EINVAL;
        }
        if(strcmp(modifier, "not") == 0 || strcmp(modifier, "not-in") == 0) f->negate = true;
        if(strcmp(modifier, "in") == 0 || strcmp(modifier, "not-in") == 0) {
            /* :in / :not-in: the codes of a value set Kith knows (the R4 value sets bound as required) */
            const fhir_valueset *vs = fhir_valueset_find(value);
            if(!vs) {
                q->nfilters--;
                fhir_issues_add(is, "error", "not-supported", NULL,
                                "%s:%s: value set %s is not known here (Kith expands the R4 value sets bound as "
                                "required)", pname, modifier, value);
                return KITH_EINVAL;
            }
            for(uint32_t i = 0; i < vs->n_codes; i++) {
                store_match *m = add_match(s, f);
                m->op = STORE_OP_EQ;
                m->b = fhir_model_str(fhir_model_codes[vs->codes + i]);
            }
            return KITH_OK;
        }
        if(strcmp(modifier, "of-type") == 0) {
            char *p = own(s, xmalloc(strlen(pname) + 10));
            sprintf(p, "%s|of-type", pname);
            f->param = p;
        }
    }
    size_t n = split_values(s, value, ',', parts, SEARCH_MAX_PARAMS);
    for(size_t i = 0; i < n; i++) {
        store_match *m = add_match(s, f);
        bool ok = sp->kind == FHIR_SP_COMPOSITE
                      ? parse_composite(s, sp, parts[i], base_url, m, is)
                      : parse_value(s, sp->kind, pname, modifier, parts[i], base_url, m, is);
        if(!ok) return KITH_EINVAL;
    }
    return KITH_OK;
}

static void add_used(fhir_search *s, const char *name, const char *value) {
    if(s->used.len) buf_putc(&s->used, '&');
    url_encode(&s->used, name);
    buf_putc(&s->used, '=');
    url_encode(&s->used, value);
}

static kith_rc parse_sort(fhir_search *s, const char *type, const char *v, fhir_issues *is) {
    char *parts[16];
    size_t n = split_values(s, v, ',', parts, 16);
    if(s->q.nsorts + n > 16) {
        fhir_issues_add(is, "error", "too-costly", NULL, "at most 16 sort keys are accepted");
        return KITH_EINVAL;
    }
    /* _sort may be repeated: the keys add up. */
    store_sort *sorts = own_block(s, (s->q.nsorts + n + 1) * sizeof *sorts);
    if(s->q.nsorts) memcpy(sorts, s->q.sorts, s->q.nsorts * sizeof *sorts);
    s->q.sorts = sorts;
    for(size_t i = 0; i < n; i++) {
        store_sort *so = &s->q.sorts[s->q.nsorts];
        const char *p = parts[i];
        so->desc = *p == '-';
        if(so->desc) p++;
        so->param = p;
        if(strcmp(p, "_id") == 0 || strcmp(p, "_lastUpdated") == 0) {
            so->kind = STORE_IX_TOKEN;
        } else {
            const fhir_search_param *sp = fhir_search_param_find(type, p);
            if(!sp || sp->kind == FHIR_SP_COMPOSITE || sp->kind == FHIR_SP_SPECIAL) {
                fhir_issues_add(is, "error", "invalid", NULL, "cannot sort %s by '%s'", type, p);
                return KITH_EINVAL;
            }
            so->kind = ix_kind_of(sp->kind);
        }
        s->q.nsorts++;
    }
    return KITH_OK;
}

static kith_rc parse_include(fhir_search *s, const char *name, const char *v, fhir_issues *is) {
    bool reverse = strncmp(name, "_revinclude", 11) == 0;
    bool iterate = strstr(name, ":iterate") || strstr(name, ":recurse");
    include_spec inc = {.iterate = iterate, .reverse = reverse};
    if(strcmp(v, "*") == 0) {
        inc.src_type = NULL;
    } else {
        char *parts[3];
        size_t n = split_values(s, v, ':', parts, 3);
        if(n < 2 || !fhir_type_is_resource(parts[0])) {
            fhir_issues_add(is, "error", "invalid", NULL, "%s takes Type:parameter[:TargetType], not '%s'", name, v);
            return KITH_EINVAL;
        }
        const fhir_search_param *sp = fhir_search_param_find(parts[0], parts[1]);
        if(!sp || sp->kind != FHIR_SP_REFERENCE) {
            fhir_issues_add(is, "error", "invalid", NULL, "%s: %s has no reference parameter '%s'", name, parts[0],
                            parts[1]);
            return KITH_EINVAL;
        }
        inc.src_type = xstrdup(parts[0]);
        inc.param = xstrdup(parts[1]);
        if(n == 3) inc.target_type = xstrdup(parts[2]);
    }
    s->incs = xrealloc(s->incs, (s->nincs + 1) * sizeof *s->incs);
    s->incs[s->nincs++] = inc;
    return KITH_OK;
}

kith_rc fhir_search_parse(const char *type, const http_param *params, size_t n, bool strict, const char *base_url,
                          fhir_search **out, fhir_issues *issues) {
    fhir_search *s = xcalloc(1, sizeof *s);
    s->q.type = own_copy(s, type);
    s->q.count = SEARCH_DEFAULT_COUNT;
    s->q.want_total = true;
    kith_rc rc = KITH_OK;
    if(n > SEARCH_MAX_PARAMS) {
        fhir_issues_add(issues, "error", "too-costly", NULL, "at most %d search parameters are accepted",
                        SEARCH_MAX_PARAMS);
        rc = KITH_EINVAL;
        goto done;
    }
    for(size_t i = 0; i < n && !rc; i++) {
        const char *name = params[i].name, *v = params[i].value;
        if(strcmp(name, "_count") == 0) {
            char *end = NULL;
            long c = strtol(v, &end, 10);
            if(end == v || *end || c < 0) {
                fhir_issues_add(issues, "error", "invalid", NULL, "_count must be a whole number, not '%s'", v);
                rc = KITH_EINVAL;
            }
            s->q.count = (size_t)(c > SEARCH_MAX_COUNT ? SEARCH_MAX_COUNT : c);
            add_used(s, name, v);
        } else if(strcmp(name, "_cursor") == 0) {
            s->q.cursor = own_copy(s, v);
        } else if(strcmp(name, "_sort") == 0) {
            rc = parse_sort(s, type, v, issues);
            add_used(s, name, v);
        } else if(strcmp(name, "_total") == 0) {
            if(strcmp(v, "none") == 0)
                s->total_none = true;
            else if(strcmp(v, "estimate") != 0 && strcmp(v, "accurate") != 0) {
                fhir_issues_add(issues, "error", "invalid", NULL, "_total takes none, estimate or accurate");
                rc = KITH_EINVAL;
            }
            add_used(s, name, v);
        } else if(strcmp(name, "_summary") == 0) {
            if(strcmp(v, "true") == 0) s->summary = SUMMARY_TRUE;
            else if(strcmp(v, "text") == 0) s->summary = SUMMARY_TEXT;
            else if(strcmp(v, "data") == 0) s->summary = SUMMARY_DATA;
            else if(strcmp(v, "count") == 0) s->summary = SUMMARY_COUNT;
            else if(strcmp(v, "false") == 0) s->summary = SUMMARY_FALSE;
            else {
                fhir_issues_add(issues, "error", "invalid", NULL, "_summary takes true, text, data, count or false");
                rc = KITH_EINVAL;
            }
            add_used(s, name, v);
        } else if(strcmp(name, "_elements") == 0) {
            char *parts[64];
            size_t k = split_values(s, v, ',', parts, 64);
            for(size_t j = 0; j < k; j++) {
                s->elements = xrealloc(s->elements, (s->nelements + 1) * sizeof *s->elements);
                s->elements[s->nelements++] = xstrdup(parts[j]);
            }
            add_used(s, name, v);
        } else if(strncmp(name, "_include", 8) == 0 || strncmp(name, "_revinclude", 11) == 0) {
            rc = parse_include(s, name, v, issues);
            add_used(s, name, v);
        } else if(strcmp(name, "_format") == 0 || strcmp(name, "_pretty") == 0) {
            add_used(s, name, v);
        } else if(strcmp(name, "_filter") == 0 || strcmp(name, "_query") == 0 || strcmp(name, "_contained") == 0 ||
                  strcmp(name, "_containedType") == 0) {
            note_ignored(s, strict, issues, "%s%s is not supported", name, "");
            if(strict) rc = KITH_EINVAL;
        } else {
            size_t before = s->ignored.n;
            rc = parse_into(s, &s->q, type, name, v, strict, base_url, 0, issues);
            if(!rc && s->ignored.n == before) add_used(s, name, v);
        }
    }
    if(s->summary == SUMMARY_COUNT) s->q.count = 0;
    if(s->total_none && s->summary != SUMMARY_COUNT) s->q.want_total = false;
done:
    if(rc) {
        fhir_search_free(s);
        return rc;
    }
    *out = s;
    return KITH_OK;
}

/* ---- results ---------------------------------------------------------------- */

typedef struct page {
    char **types, **ids;
    char **bodies;
    size_t n, cap;
} page;

static int page_add(void *ctx, const store_resource *r) {
    page *p = ctx;
    if(p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->types = xrealloc(p->types, p->cap * sizeof *p->types);
        p->ids = xrealloc(p->ids, p->cap * sizeof *p->ids);
        p->bodies = xrealloc(p->bodies, p->cap * sizeof *p->bodies);
    }
    p->types[p->n] = xstrdup(r->type);
    p->ids[p->n] = xstrdup(r->id);
    p->bodies[p->n] = r->body ? xstrndup(r->body, r->body_len) : NULL;
    p->n++;
    return 0;
}

static void page_free(page *p) {
    for(size_t i = 0; i < p->n; i++) {
        free(p->types[i]);
        free(p->ids[i]);
        free(p->bodies[i]);
    }
    free(p->types);
    free(p->ids);
    free(p->bodies);
    memset(p, 0, sizeof *p);
}

static bool page_has(const page *p, const char *type, const char *id) {
    for(size_t i = 0; i < p->n; i++)
        if(strcmp(p->ids[i], id) == 0 && strcmp(p->types[i], type) == 0) return true;
    return false;
}

typedef struct ref_ctx {
    store_conn *c;
    const page *matches;
    page *included;
} ref_ctx;

static int include_ref(void *vctx, const char *type, const char *id) {
    ref_ctx *rc = vctx;
    if(rc->included->n >= SEARCH_MAX_INCLUDED) return 1;
    if(page_has(rc->matches, type, id) || page_has(rc->included, type, id)) return 0;
    store_resource r = {0};
    /* only what the request may read: its scopes, and (in store_read) its viewer */
    if(access_allows(type, 'r') && store_read(rc->c, type, id, 0, &r) == KITH_OK) page_add(rc->included, &r);
    store_resource_free(&r);
    return 0;
}

/* _include and _revinclude of the resources in `from` (of any types). */
static void run_includes(store_conn *c, const fhir_search *s, const page *matches, page *included, bool iterate_pass,
                         const page *from) {
    ref_ctx ctx = {c, matches, included};
    for(size_t k = 0; k < s->nincs; k++) {
        const include_spec *inc = &s->incs[k];
        if(iterate_pass && !inc->iterate) continue;
        /* group the source resources by type */
        for(size_t i = 0; i < from->n; i++) {
            bool first = true;
            for(size_t j = 0; j < i; j++)
                if(strcmp(from->types[j], from->types[i]) == 0) first = false;
            if(!first) continue;
            const char *type = from->types[i];
            const char **ids = xmalloc(from->n * sizeof *ids);
            size_t n = 0;
            for(size_t j = i; j < from->n; j++)
                if(strcmp(from->types[j], type) == 0) ids[n++] = from->ids[j];
            if(inc->reverse) {
                if(!inc->src_type || !inc->target_type || strcmp(inc->target_type, type) == 0)
                    store_references_to(c, type, ids, n, inc->src_type, inc->param, include_ref, &ctx);
            } else if(!inc->src_type || strcmp(inc->src_type, type) == 0) {
                store_references_from(c, type, ids, n, inc->param, inc->target_type, include_ref, &ctx);
            }
            free(ids);
        }
    }
}

/* Apply _summary/_elements to one resource body. Caller frees; NULL = unchanged. */
static char *shape(const fhir_search *s, const char *body) {
    if(s->summary == SUMMARY_FALSE && s->nelements == 0) return NULL;
    json_value *v = NULL;
    if(json_parse(body, strlen(body), &v, NULL, 0)) return NULL;
    const char *rt = json_string(json_get(v, "resourceType"));
    const fhir_type *t = rt ? fhir_resource_find(rt) : NULL;
    json_value *out = json_new_object();
    json_iter it = json_iter_start(v);
    const char *key;
    json_value *val;
    while(json_iter_next(&it, &key, &val)) {
        bool keep;
        const char *base = key[0] == '_' ? key + 1 : key;
        if(!strcmp(key, "resourceType") || !strcmp(key, "id") || !strcmp(key, "meta")) {
            keep = true;
        } else if(s->nelements) {
            keep = false;
            for(size_t i = 0; i < s->nelements && !keep; i++) keep = strcmp(s->elements[i], base) == 0;
            if(!keep && t) {
                const fhir_elem *e = fhir_type_elem(t, base);
                keep = e && fhir_model_slots[t->slots + e->slot].min > 0;
            }
        } else if(s->summary == SUMMARY_DATA) {
            keep = strcmp(key, "text") != 0;
        } else if(s->summary == SUMMARY_TEXT) {
            const fhir_elem *e = t ? fhir_type_elem(t, base) : NULL;
            keep = !strcmp(key, "text") || (e && fhir_model_slots[t->slots + e->slot].min > 0);
        } else { /* SUMMARY_TRUE */
            const fhir_elem *e = t ? fhir_type_elem(t, base) : NULL;
            keep = e && (fhir_model_slots[t->slots + e->slot].flags & FHIR_ELEM_SUMMARY);
        }
        if(keep) json_set(out, key, json_retain(val));
    }
    /* Mark the copy as a subset (meta.tag SUBSETTED) */
    json_value *meta = json_get(out, "meta");
    if(json_kind_of(meta) != JSON_OBJECT) {
        meta = json_new_object();
        json_set(out, "meta", meta);
    } else {
        meta = json_copy(meta);
        json_set(out, "meta", meta);
    }
    json_value *tags = json_get(meta, "tag");
    if(json_kind_of(tags) != JSON_ARRAY) {
        tags = json_new_array();
        json_set(meta, "tag", tags);
    }
    json_value *tag = json_new_object();
    json_set(tag, "system", json_new_string("http://terminology.hl7.org/CodeSystem/v3-ObservationValue"));
    json_set(tag, "code", json_new_string("SUBSETTED"));
    json_set(tag, "display", json_new_string("Resource encoded in summary mode"));
    json_append(tags, tag);
    static const char *const FRONT[] = {"resourceType", "id", "meta", NULL};
    json_move_to_front(out, FRONT);
    char *text = json_to_text(out, NULL);
    json_free(out);
    json_free(v);
    return text;
}

static void write_entries(buf *out, const fhir_search *s, const page *p, const char *base_url, const char *mode,
                          bool *first) {
    for(size_t i = 0; i < p->n; i++) {
        if(!p->bodies[i]) continue;
        if(!*first) buf_putc(out, ',');
        *first = false;
        buf_puts(out, "{\"fullUrl\":\"");
        buf_json_escape(out, base_url);
        buf_printf(out, "/fhir/%s/%s\",\"resource\":", p->types[i], p->ids[i]);
        char *shaped = shape(s, p->bodies[i]);
        buf_puts(out, shaped ? shaped : p->bodies[i]);
        free(shaped);
        buf_printf(out, ",\"search\":{\"mode\":\"%s\"}}", mode);
    }
}

kith_rc fhir_search_bundle(store_conn *c, fhir_search *s, const char *base_url, buf *out, fhir_issues *issues) {
    page matches = {0}, included = {0};
    int64_t total = -1;
    char *next = NULL, *prev = NULL;
    kith_rc rc = store_search(c, &s->q, page_add, &matches, &total, &next, &prev);
    if(rc) {
        if(rc == KITH_EINVAL)
            fhir_issues_add(issues, "error", "invalid", NULL, "the paging cursor is not valid: start the search again");
        goto done;
    }
    if(s->nincs && matches.n) {
        run_includes(c, s, &matches, &included, false, &matches);
        /* :iterate — follow from what was included, a few rounds at most */
        for(int round = 0; round < 3; round++) {
            size_t before = included.n;
            page snapshot = included;
            run_includes(c, s, &matches, &included, true, &snapshot);
            if(included.n == before) break;
        }
    }
    buf_puts(out, "{\"resourceType\":\"Bundle\",\"type\":\"searchset\"");
    if(s->q.want_total) buf_printf(out, ",\"total\":%lld", (long long)total);
    buf_puts(out, ",\"link\":[");
    char path[80];
    snprintf(path, sizeof path, "/fhir/%s", s->q.type);
    fhir_bundle_link(out, true, "self", base_url, path, &s->used, "_cursor", s->q.cursor);
    if(next) fhir_bundle_link(out, false, "next", base_url, path, &s->used, "_cursor", next);
    if(prev) fhir_bundle_link(out, false, "previous", base_url, path, &s->used, "_cursor", prev);
    buf_puts(out, "],\"entry\":[");
    bool first = true;
    write_entries(out, s, &matches, base_url, "match", &first);
    write_entries(out, s, &included, base_url, "include", &first);
    if(s->ignored.n) {
        if(!first) buf_putc(out, ',');
        buf_puts(out, "{\"resource\":");
        fhir_outcome_write(out, &s->ignored);
        buf_puts(out, ",\"search\":{\"mode\":\"outcome\"}}");
    }
    buf_puts(out, "]}");
done:
    free(next);
    free(prev);
    page_free(&matches);
    page_free(&included);
    return rc;
}

typedef struct ids_ctx {
    char **ids;
    size_t n;
} ids_ctx;

static int collect_id(void *vctx, const store_resource *r) {
    ids_ctx *c = vctx;
    c->ids = xrealloc(c->ids, (c->n + 1) * sizeof *c->ids);
    c->ids[c->n++] = xstrdup(r->id);
    return 0;
}

kith_rc fhir_search_ids(store_conn *c, fhir_search *s, size_t max, char ***ids, size_t *n) {
    return fhir_search_page(c, s, max, ids, n, NULL);
}

kith_rc fhir_search_page(store_conn *c, fhir_search *s, size_t count, char ***ids, size_t *n, int64_t *total_out) {
    ids_ctx ctx = {0};
    int64_t total = 0;
    char *next = NULL, *prev = NULL;
    s->q.count = count;
    s->q.want_total = total_out != NULL;
    kith_rc rc = store_search(c, &s->q, collect_id, &ctx, &total, &next, &prev);
    if(total_out) *total_out = total;
    free(next);
    free(prev);
    if(rc) {
        for(size_t i = 0; i < ctx.n; i++) free(ctx.ids[i]);
        free(ctx.ids);
        return rc;
    }
    *ids = ctx.ids;
    *n = ctx.n;
    return KITH_OK;
}
