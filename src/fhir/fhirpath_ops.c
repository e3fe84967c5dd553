/*
 * fhirpath_ops.c — how FHIRPath items compare: turning a FHIR primitive node
 * into its System value, equality (=) with its empty result when date
 * precisions differ, equivalence (~) with its looser rules for strings,
 * decimals and dates, ordering (<, >) with its type errors, quantities with
 * unit conversion, the singleton-to-boolean rule, and the type tests behind
 * `is`, `as`, `ofType` and type().
 *
 * Functions here take the evaluation context only to allocate from its
 * arena and to report errors; they keep no state of their own.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fhir/fhirpath_int.h"

bool fp_fail(fp_ctx *c, const char *fmt, ...) {
    if(c->failed) return false;
    c->failed = true;
    if(c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool fp_work(fp_ctx *c, uint64_t n) {
    c->work += n;
    if(c->work > FP_MAX_WORK) return fp_fail(c, "evaluation too long (over %llu steps)", (unsigned long long)FP_MAX_WORK);
    return true;
}

void fp_item_bool(fp_item *it, bool b) {
    memset(it, 0, sizeof *it);
    it->v.kind = FP_BOOLEAN;
    it->v.type = "Boolean";
    it->v.boolean = b;
}

void fp_item_int(fp_item *it, int64_t i) {
    memset(it, 0, sizeof *it);
    it->v.kind = FP_INTEGER;
    it->v.type = "Integer";
    it->v.integer = i;
}

void fp_item_dec(fp_ctx *c, fp_item *it, fp_dec d) {
    memset(it, 0, sizeof *it);
    it->v.kind = FP_DECIMAL;
    it->v.type = "Decimal";
    it->v.text = fp_dec_text(c->arena, d);
}

void fp_item_str(fp_item *it, const char *s) {
    memset(it, 0, sizeof *it);
    it->v.kind = FP_STRING;
    it->v.type = "String";
    it->v.text = s;
}

static const char *system_name(fhirpath_kind k) {
    switch(k) {
    case FP_BOOLEAN: return "Boolean";
    case FP_INTEGER: return "Integer";
    case FP_DECIMAL: return "Decimal";
    case FP_STRING: return "String";
    case FP_DATE: return "Date";
    case FP_DATETIME: return "DateTime";
    case FP_TIME: return "Time";
    case FP_QUANTITY: return "Quantity";
    case FP_NODE: break;
    }
    return "Any";
}

bool fp_item_system(fp_ctx *c, const fp_item *in, fp_item *out) {
    (void)c;
    if(in->v.kind != FP_NODE) {
        *out = *in;
        return true;
    }
    const json_value *v = in->v.node;
    if(in->ft && in->ft->kind != FHIR_KIND_PRIMITIVE) { /* an object */
        *out = *in;
        return true;
    }
    if(!v) return false;
    const char *st = in->ft ? fpm_system_type(in->ft) : NULL;
    json_kind jk = JSON_NULL;
    if(!st) {
        jk = json_kind_of(v);
        if(jk == JSON_OBJECT || jk == JSON_ARRAY) {
            *out = *in;
            return true;
        }
        st = jk == JSON_BOOL ? "Boolean" : jk == JSON_INTEGER ? "Integer" : jk == JSON_DECIMAL ? "Decimal" : "String";
    }
    memset(out, 0, sizeof *out);
    switch(st[0]) {
    case 'B':
        fp_item_bool(out, json_boolean(v));
        return in->ft || jk == JSON_BOOL; /* the model says boolean: trust it */
    case 'I': {
        int64_t i;
        if(json_int64(v, &i)) {
            fp_item_int(out, i);
            return true;
        }
        const char *t = json_number_text(v);
        if(!t) return false;
        out->v.kind = FP_DECIMAL;
        out->v.type = "Decimal";
        out->v.text = t;
        return true;
    }
    case 'D':
        if(strcmp(st, "Decimal") == 0) {
            const char *t = json_number_text(v);
            if(!t) return false;
            out->v.kind = FP_DECIMAL;
            out->v.type = "Decimal";
            out->v.text = t;
            return true;
        }
        out->v.kind = strcmp(st, "Date") == 0 ? FP_DATE : FP_DATETIME;
        out->v.type = st;
        out->v.text = json_string(v);
        return out->v.text != NULL;
    case 'T':
        out->v.kind = FP_TIME;
        out->v.type = "Time";
        out->v.text = json_string(v);
        return out->v.text != NULL;
    default:
        out->v.kind = FP_STRING;
        out->v.type = "String";
        out->v.text = json_string(v);
        if(!out->v.text) out->v.text = json_number_text(v);
        if(!out->v.text && json_kind_of(v) == JSON_BOOL) out->v.text = json_boolean(v) ? "true" : "false";
        return out->v.text != NULL;
    }
}

bool fp_item_is_string(fp_ctx *c, const fp_item *it, const char **s) {
    fp_item x;
    if(!fp_item_system(c, it, &x) || x.v.kind != FP_STRING) return false;
    *s = x.v.text;
    return true;
}

static bool is_quantity_node(const fp_item *it) {
    return it->v.kind == FP_NODE && it->v.type && fpm_is_a(it->v.type, "Quantity") &&
           json_kind_of(it->v.node) == JSON_OBJECT;
}

bool fp_item_quantity(fp_ctx *c, const fp_item *it, fp_dec *v, const char **unit) {
    (void)c;
    if(it->v.kind == FP_QUANTITY) {
        *unit = it->v.unit;
        return fp_dec_parse(it->v.text, v);
    }
    if(!is_quantity_node(it)) return false;
    const char *t = json_number_text(json_get(it->v.node, "value"));
    if(!t || !fp_dec_parse(t, v)) return false;
    const char *code = json_string(json_get(it->v.node, "code"));
    const char *u = json_string(json_get(it->v.node, "unit"));
    *unit = code ? code : u ? u : "1";
    return true;
}

int fp_coll_truth(fp_ctx *c, const fp_coll *in, const char *what) {
    if(in->n == 0) return -1;
    if(in->n > 1) {
        fp_fail(c, "%s: expected a single value, got %zu", what, in->n);
        return -2;
    }
    fp_item x;
    if(!fp_item_system(c, &in->items[0], &x)) return 1;
    if(x.v.kind == FP_BOOLEAN) return x.v.boolean;
    return 1;
}

/* ---- equality ---------------------------------------------------------------- */

static bool is_num(fhirpath_kind k) { return k == FP_INTEGER || k == FP_DECIMAL; }
static bool is_date(fhirpath_kind k) { return k == FP_DATE || k == FP_DATETIME; }

static bool item_dec(const fp_item *x, fp_dec *d) {
    if(x->v.kind == FP_INTEGER) {
        *d = fp_dec_from_int(x->v.integer);
        return true;
    }
    return fp_dec_parse(x->v.text, d);
}

static bool item_dt(const fp_item *x, fp_dt *d) {
    const char *t = x->v.text;
    if(x->v.kind == FP_TIME && t[0] == 'T') t++;
    return fp_dt_parse(t, x->v.kind, d);
}

static int quantity_cmp(fp_ctx *c, const fp_item *a, const fp_item *b, int *cmp, bool round_equiv) {
    fp_dec va, vb, ca, cb;
    const char *ua, *ub, *ba, *bb;
    if(!fp_item_quantity(c, a, &va, &ua) || !fp_item_quantity(c, b, &vb, &ub)) return 1;
    if(strcmp(ua, ub) == 0) {
        ca = va;
        cb = vb;
    } else {
        /* a calendar year/month equals itself only; week..ms equal UCUM */
        if(!fp_unit_canonical(va, ua, &ca, &ba) || !fp_unit_canonical(vb, ub, &cb, &bb)) return 1;
        if(strcmp(ba, bb) != 0) return 1;
    }
    if(round_equiv) {
        int s = ca.scale < cb.scale ? ca.scale : cb.scale;
        ca = fp_dec_round(ca, s);
        cb = fp_dec_round(cb, s);
    }
    *cmp = fp_dec_cmp(ca, cb);
    return 0;
}

/* Deep equality of two JSON trees, numbers by value (1.0 = 1.00). */
static bool json_same(const json_value *a, const json_value *b) {
    json_kind ka = json_kind_of(a), kb = json_kind_of(b);
    if((ka == JSON_INTEGER || ka == JSON_DECIMAL) && (kb == JSON_INTEGER || kb == JSON_DECIMAL)) {
        fp_dec x, y;
        if(fp_dec_parse(json_number_text(a), &x) && fp_dec_parse(json_number_text(b), &y)) return fp_dec_cmp(x, y) == 0;
        return json_equal(a, b);
    }
    if(ka != kb) return false;
    if(ka == JSON_ARRAY) {
        size_t n = json_array_len(a);
        if(n != json_array_len(b)) return false;
        for(size_t i = 0; i < n; i++)
            if(!json_same(json_array_at(a, i), json_array_at(b, i))) return false;
        return true;
    }
    if(ka == JSON_OBJECT) {
        if(a == b) return true;
        if(json_object_size(a) != json_object_size(b)) return false;
        json_iter it = json_iter_start(a);
        const char *k;
        json_value *va;
        while(json_iter_next(&it, &k, &va)) {
            if(!json_has(b, k) || !json_same(va, json_get(b, k))) return false;
        }
        return true;
    }
    return json_equal(a, b);
}

int fp_item_equal(fp_ctx *c, const fp_item *a0, const fp_item *b0) {
    fp_item a, b;
    if(!fp_item_system(c, a0, &a) || !fp_item_system(c, b0, &b)) return -1;
    if(a.v.kind == FP_NODE || b.v.kind == FP_NODE) {
        if(a.v.kind == FP_NODE && b.v.kind == FP_NODE) return json_same(a.v.node, b.v.node);
        if(a.v.kind == FP_QUANTITY || b.v.kind == FP_QUANTITY) {
            int cmp;
            if(quantity_cmp(c, &a, &b, &cmp, false)) return 0;
            return cmp == 0;
        }
        return 0;
    }
    if(is_num(a.v.kind) && is_num(b.v.kind)) {
        if(a.v.kind == FP_INTEGER && b.v.kind == FP_INTEGER) return a.v.integer == b.v.integer;
        fp_dec x, y;
        if(!item_dec(&a, &x) || !item_dec(&b, &y)) return 0;
        return fp_dec_cmp(x, y) == 0;
    }
    if(a.v.kind == FP_STRING && b.v.kind == FP_STRING) return strcmp(a.v.text, b.v.text) == 0;
    if(a.v.kind == FP_BOOLEAN && b.v.kind == FP_BOOLEAN) return a.v.boolean == b.v.boolean;
    if((is_date(a.v.kind) && is_date(b.v.kind)) || (a.v.kind == FP_TIME && b.v.kind == FP_TIME)) {
        fp_dt x, y;
        int cmp;
        if(!item_dt(&a, &x) || !item_dt(&b, &y)) return 0;
        if(fp_dt_compare(&x, &y, &cmp)) return -1;
        return cmp == 0;
    }
    if(a.v.kind == FP_QUANTITY && b.v.kind == FP_QUANTITY) {
        int cmp;
        if(quantity_cmp(c, &a, &b, &cmp, false)) return -1;
        return cmp == 0;
    }
    return 0;
}

static bool str_equiv(const char *a, const char *b) {
    while(*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r') a++;
    while(*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r') b++;
    for(;;) {
        bool wa = isspace((unsigned char)*a), wb = isspace((unsigned char)*b);
        if(wa && wb) {
            while(isspace((unsigned char)*a)) a++;
            while(isspace((unsigned char)*b)) b++;
            if(!*a || !*b) return !*a && !*b;
            continue;
        }
        if(!*a || !*b) {
            while(isspace((unsigned char)*a)) a++;
            while(isspace((unsigned char)*b)) b++;
            return !*a && !*b;
        }
        if(tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
        a++;
        b++;
    }
}

bool fp_item_equiv(fp_ctx *c, const fp_item *a0, const fp_item *b0) {
    fp_item a, b;
    bool ha = fp_item_system(c, a0, &a), hb = fp_item_system(c, b0, &b);
    if(!ha || !hb) return ha == hb;
    if(a.v.kind == FP_NODE || b.v.kind == FP_NODE) {
        if(a.v.kind == FP_NODE && b.v.kind == FP_NODE) return json_same(a.v.node, b.v.node);
        int cmp;
        if(quantity_cmp(c, &a, &b, &cmp, true)) return false;
        return cmp == 0;
    }
    if(is_num(a.v.kind) && is_num(b.v.kind)) {
        fp_dec x, y;
        if(!item_dec(&a, &x) || !item_dec(&b, &y)) return false;
        int s = x.scale < y.scale ? x.scale : y.scale;
        return fp_dec_cmp(fp_dec_round(x, s), fp_dec_round(y, s)) == 0;
    }
    if(a.v.kind == FP_STRING && b.v.kind == FP_STRING) return str_equiv(a.v.text, b.v.text);
    if(a.v.kind == FP_BOOLEAN && b.v.kind == FP_BOOLEAN) return a.v.boolean == b.v.boolean;
    if((is_date(a.v.kind) && is_date(b.v.kind)) || (a.v.kind == FP_TIME && b.v.kind == FP_TIME)) {
        fp_dt x, y;
        int cmp;
        if(!item_dt(&a, &x) || !item_dt(&b, &y)) return false;
        if(fp_dt_compare(&x, &y, &cmp)) return false;
        return cmp == 0;
    }
    if(a.v.kind == FP_QUANTITY && b.v.kind == FP_QUANTITY) {
        int cmp;
        if(quantity_cmp(c, &a, &b, &cmp, true)) return false;
        return cmp == 0;
    }
    return false;
}

int fp_item_compare(fp_ctx *c, const fp_item *a0, const fp_item *b0, int *cmp) {
    fp_item a, b;
    if(!fp_item_system(c, a0, &a) || !fp_item_system(c, b0, &b)) return 1;
    if(is_num(a.v.kind) && is_num(b.v.kind)) {
        fp_dec x, y;
        if(!item_dec(&a, &x) || !item_dec(&b, &y)) return -1;
        *cmp = fp_dec_cmp(x, y);
        return 0;
    }
    if(a.v.kind == FP_STRING && b.v.kind == FP_STRING) {
        int r = strcmp(a.v.text, b.v.text);
        *cmp = r < 0 ? -1 : r > 0;
        return 0;
    }
    if((is_date(a.v.kind) && is_date(b.v.kind)) || (a.v.kind == FP_TIME && b.v.kind == FP_TIME)) {
        fp_dt x, y;
        if(!item_dt(&a, &x) || !item_dt(&b, &y)) return -1;
        return fp_dt_compare(&x, &y, cmp);
    }
    if((a.v.kind == FP_QUANTITY || is_quantity_node(&a)) && (b.v.kind == FP_QUANTITY || is_quantity_node(&b)))
        return quantity_cmp(c, &a, &b, cmp, false);
    return -1;
}

/* ---- types ---------------------------------------------------------------------- */

bool fp_item_is_type(fp_ctx *c, const fp_item *it, const char *ns, const char *name) {
    (void)c;
    if(it->v.kind != FP_NODE) {
        if(ns && strcmp(ns, "System") != 0) return false;
        return strcmp(system_name(it->v.kind), name) == 0;
    }
    if(ns && strcmp(ns, "FHIR") != 0) return false;
    return fpm_is_a(it->v.type, name);
}

bool fp_item_as_type(fp_ctx *c, const fp_item *it, const char *ns, const char *name) {
    /* Search indexing (as_filters): the R4 SearchParameters write `value.as(DateTime)` for FHIR
     * dateTime values, as the reference engine accepts: a System type name matches FHIR
     * primitives that map to it. */
    if(c && c->env && c->env->as_filters && it->v.kind == FP_NODE && it->ft && it->ft->kind == FHIR_KIND_PRIMITIVE &&
       !ns && !fhir_type_find(name)) {
        const char *sys = fpm_system_type(it->ft);
        if(sys && strcmp(sys, name) == 0) return true;
    }
    /* as/ofType on FHIR primitives want the exact type: a code is not `as(string)` */
    if(it->v.kind == FP_NODE && it->ft && it->ft->kind == FHIR_KIND_PRIMITIVE && (!ns || strcmp(ns, "FHIR") == 0)) {
        const fhir_type *t = fhir_type_find(name);
        if(t && t->kind == FHIR_KIND_PRIMITIVE) return strcmp(it->v.type, name) == 0;
    }
    return fp_item_is_type(c, it, ns, name);
}

bool fp_type_known(const char *ns, const char *name) {
    static const char *const SYSTEM[] = {"Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time",
                                         "Quantity", "Any", NULL};
    static const char *const ABSTRACT[] = {"Resource", "DomainResource", "BackboneElement", "Element", "Base", NULL};
    bool sys = false, fhir = false;
    for(int i = 0; SYSTEM[i]; i++)
        if(strcmp(name, SYSTEM[i]) == 0) sys = true;
    for(int i = 0; ABSTRACT[i]; i++)
        if(strcmp(name, ABSTRACT[i]) == 0) fhir = true;
    if(fhir_type_find(name)) fhir = true;
    if(!ns) return sys || fhir;
    if(strcmp(ns, "System") == 0) return true; /* System.Patient is simply never matched */
    if(strcmp(ns, "FHIR") == 0) return fhir;
    return false;
}

void fp_item_type_name(const fp_item *it, const char **ns, const char **name) {
    if(it->v.kind != FP_NODE) {
        *ns = "System";
        *name = system_name(it->v.kind);
        return;
    }
    *ns = "FHIR";
    *name = it->v.type ? it->v.type : "Element";
    if(strchr(*name, '.')) *name = "BackboneElement";
}
