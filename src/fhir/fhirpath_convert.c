/*
 * fhirpath_convert.c — FHIRPath's conversion functions (toBoolean ...
 * toQuantity and their convertsTo* tests) and the precision functions of
 * FHIRPath 2.1 (lowBoundary, highBoundary, precision, comparable).
 *
 * A conversion takes a single item (more is an error, none gives empty) and
 * gives empty when the value does not convert. Results are allocated from
 * the evaluation's arena; nothing here keeps state.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhirpath_fn.h"

/* The focus as one System value; *ok false when empty or valueless. */
static bool one(fp_ctx *c, const fp_node *n, const fp_coll *focus, fp_item *x, bool *ok) {
    const fp_item *it;
    *ok = false;
    if(!fpf_single(c, focus, n->name, &it)) return false;
    if(!it || !fp_item_system(c, it, x)) return true;
    *ok = true;
    return true;
}

static bool ieq(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

/* ---- each conversion: returns true and sets *r when the value converts ---- */

static bool conv_boolean(fp_ctx *c, const fp_item *x, fp_item *r) {
    (void)c;
    switch(x->v.kind) {
    case FP_BOOLEAN: *r = *x; return true;
    case FP_INTEGER:
        if(x->v.integer != 0 && x->v.integer != 1) return false;
        fp_item_bool(r, x->v.integer == 1);
        return true;
    case FP_DECIMAL: {
        fp_dec d, one = {1, 0}, zero = {0, 0};
        if(!fp_dec_parse(x->v.text, &d)) return false;
        if(fp_dec_cmp(d, one) == 0) fp_item_bool(r, true);
        else if(fp_dec_cmp(d, zero) == 0) fp_item_bool(r, false);
        else return false;
        return true;
    }
    case FP_STRING: {
        const char *s = x->v.text;
        if(ieq(s, "true") || ieq(s, "t") || ieq(s, "yes") || ieq(s, "y") || strcmp(s, "1") == 0 || strcmp(s, "1.0") == 0)
            fp_item_bool(r, true);
        else if(ieq(s, "false") || ieq(s, "f") || ieq(s, "no") || ieq(s, "n") || strcmp(s, "0") == 0 ||
                strcmp(s, "0.0") == 0)
            fp_item_bool(r, false);
        else
            return false;
        return true;
    }
    default: return false;
    }
}

static bool conv_integer(fp_ctx *c, const fp_item *x, fp_item *r) {
    (void)c;
    switch(x->v.kind) {
    case FP_INTEGER: *r = *x; return true;
    case FP_BOOLEAN: fp_item_int(r, x->v.boolean); return true;
    case FP_STRING: {
        const char *s = x->v.text, *p = s;
        if(*p == '+' || *p == '-') p++;
        if(!*p || strlen(p) > 18) return false;
        for(; *p; p++)
            if(!isdigit((unsigned char)*p)) return false;
        fp_item_int(r, strtoll(s, NULL, 10));
        return true;
    }
    default: return false;
    }
}

static bool conv_decimal(fp_ctx *c, const fp_item *x, fp_item *r) {
    fp_dec d;
    switch(x->v.kind) {
    case FP_DECIMAL: *r = *x; return true;
    case FP_INTEGER: fp_item_dec(c, r, fp_dec_from_int(x->v.integer)); return true;
    case FP_BOOLEAN: {
        fp_dec b = {x->v.boolean ? 10 : 0, 1};
        fp_item_dec(c, r, b);
        return true;
    }
    case FP_STRING:
        if(strpbrk(x->v.text, "eE") || !fp_dec_parse(x->v.text, &d)) return false;
        fp_item_dec(c, r, d);
        return true;
    default: return false;
    }
}

static char *quantity_text(fp_ctx *c, const fp_item *x) {
    const char *u = x->v.unit ? x->v.unit : "1";
    size_t n = strlen(x->v.text) + strlen(u) + 8;
    char *s = fp_alloc(c->arena, n);
    if(fp_unit_is_calendar(u, NULL))
        snprintf(s, n, "%s %s", x->v.text, u);
    else
        snprintf(s, n, "%s '%s'", x->v.text, u);
    return s;
}

static bool conv_string(fp_ctx *c, const fp_item *x, fp_item *r) {
    char b[32];
    switch(x->v.kind) {
    case FP_STRING: *r = *x; return true;
    case FP_BOOLEAN: fp_item_str(r, x->v.boolean ? "true" : "false"); return true;
    case FP_INTEGER:
        snprintf(b, sizeof b, "%lld", (long long)x->v.integer);
        fp_item_str(r, fp_strdup(c->arena, b));
        return true;
    case FP_DECIMAL: case FP_DATE: case FP_DATETIME: case FP_TIME: fp_item_str(r, x->v.text); return true;
    case FP_QUANTITY: fp_item_str(r, quantity_text(c, x)); return true;
    default: return false;
    }
}

static bool conv_dt(fp_ctx *c, const fp_item *x, fp_item *r, int kind) {
    fp_dt d;
    const char *t = x->v.text;
    if(x->v.kind == FP_STRING) {
        if(kind == FP_TIME && t[0] == 'T') t++;
        if(!fp_dt_parse(t, kind, &d)) return false;
    } else if(x->v.kind == FP_DATE || x->v.kind == FP_DATETIME) {
        if(kind == FP_TIME) return false;
        if(!fp_dt_parse(t, x->v.kind, &d)) return false;
        d.kind = kind;
        if(kind == FP_DATE && d.prec > FP_P_DAY) d.prec = FP_P_DAY;
    } else if(x->v.kind == FP_TIME) {
        if(kind != FP_TIME) return false;
        *r = *x;
        return true;
    } else {
        return false;
    }
    memset(r, 0, sizeof *r);
    r->v.kind = kind;
    r->v.type = kind == FP_DATE ? "Date" : kind == FP_DATETIME ? "DateTime" : "Time";
    r->v.text = x->v.kind == FP_STRING ? t : fp_dt_text(c->arena, &d);
    return true;
}
static bool conv_date(fp_ctx *c, const fp_item *x, fp_item *r) { return conv_dt(c, x, r, FP_DATE); }
static bool conv_datetime(fp_ctx *c, const fp_item *x, fp_item *r) { return conv_dt(c, x, r, FP_DATETIME); }
static bool conv_time(fp_ctx *c, const fp_item *x, fp_item *r) { return conv_dt(c, x, r, FP_TIME); }

/* "1.5 'mg'", "4 days", "3" */
static bool parse_quantity_string(fp_ctx *c, const char *s, fp_item *r) {
    const char *p = s;
    if(*p == '+' || *p == '-') p++;
    while(isdigit((unsigned char)*p)) p++;
    if(*p == '.') {
        p++;
        while(isdigit((unsigned char)*p)) p++;
    }
    fp_dec d;
    char *num = fp_strndup(c->arena, s, (size_t)(p - s));
    if(!fp_dec_parse(num, &d)) return false;
    while(*p == ' ') p++;
    const char *unit = "1";
    if(*p == '\'') {
        const char *e = strchr(p + 1, '\'');
        if(!e || e[1]) return false;
        unit = fp_strndup(c->arena, p + 1, (size_t)(e - p - 1));
    } else if(*p) {
        if(!fp_unit_is_calendar(p, NULL)) return false;
        unit = p;
    }
    memset(r, 0, sizeof *r);
    r->v.kind = FP_QUANTITY;
    r->v.type = "Quantity";
    r->v.text = num[0] == '+' ? num + 1 : num;
    r->v.unit = unit;
    return true;
}

static bool conv_quantity(fp_ctx *c, const fp_item *x, fp_item *r) {
    fp_dec v;
    const char *u;
    switch(x->v.kind) {
    case FP_QUANTITY: *r = *x; return true;
    case FP_INTEGER: case FP_DECIMAL:
        memset(r, 0, sizeof *r);
        r->v.kind = FP_QUANTITY;
        r->v.type = "Quantity";
        if(x->v.kind == FP_INTEGER) {
            char b[32];
            snprintf(b, sizeof b, "%lld", (long long)x->v.integer);
            r->v.text = fp_strdup(c->arena, b);
        } else {
            r->v.text = x->v.text;
        }
        r->v.unit = "1";
        return true;
    case FP_BOOLEAN:
        memset(r, 0, sizeof *r);
        r->v.kind = FP_QUANTITY;
        r->v.type = "Quantity";
        r->v.text = x->v.boolean ? "1.0" : "0.0";
        r->v.unit = "1";
        return true;
    case FP_STRING: return parse_quantity_string(c, x->v.text, r);
    case FP_NODE:
        if(!fp_item_quantity(c, x, &v, &u)) return false;
        memset(r, 0, sizeof *r);
        r->v.kind = FP_QUANTITY;
        r->v.type = "Quantity";
        r->v.text = fp_dec_text(c->arena, v);
        r->v.unit = u;
        return true;
    default: return false;
    }
}

typedef bool (*conv_fn)(fp_ctx *c, const fp_item *x, fp_item *r);

static bool run_conv(fp_ctx *c, const fp_node *n, const fp_coll *focus, fp_coll *out, conv_fn fn, bool test) {
    fp_item x, r;
    bool ok;
    if(!one(c, n, focus, &x, &ok)) return false;
    if(!ok) return true;
    bool conv = fn(c, &x, &r);
    if(test)
        fpf_push_bool(c, out, conv);
    else if(conv)
        fp_coll_push(c->arena, out, &r);
    return true;
}

#define CONV(Name, fn)                                                                                            \
    bool fpf_to##Name(FP_FN_ARGS) {                                                                               \
        (void)in; (void)f;                                                                                        \
        return run_conv(c, n, focus, out, fn, false);                                                             \
    }                                                                                                             \
    bool fpf_convertsTo##Name(FP_FN_ARGS) {                                                                       \
        (void)in; (void)f;                                                                                        \
        return run_conv(c, n, focus, out, fn, true);                                                              \
    }
CONV(Boolean, conv_boolean)
CONV(Integer, conv_integer)
CONV(Decimal, conv_decimal)
CONV(String, conv_string)
CONV(Date, conv_date)
CONV(DateTime, conv_datetime)
CONV(Time, conv_time)

static bool quantity_with_unit(fp_ctx *c, const fp_node *n, const fp_coll *focus, const fp_coll *in,
                               const fp_frame *f, fp_coll *out, bool test) {
    fp_item x, r;
    bool ok;
    const char *unit = NULL;
    if(!one(c, n, focus, &x, &ok)) return false;
    if(n->nargs && !fpf_arg_string(c, n, 0, in, f, &unit)) return false;
    if(!ok) return true;
    bool conv = conv_quantity(c, &x, &r);
    if(conv && unit && strcmp(unit, r.v.unit) != 0) {
        fp_dec v, w;
        const char *from = r.v.unit, *to = unit, *ucum;
        if(fp_unit_is_calendar(from, &ucum) && !fp_unit_is_calendar(to, NULL)) from = ucum;
        conv = fp_dec_parse(r.v.text, &v) && fp_unit_convert(v, from, to, &w);
        if(conv) {
            r.v.text = fp_dec_text(c->arena, w);
            r.v.unit = unit;
        }
    }
    if(test)
        fpf_push_bool(c, out, conv);
    else if(conv)
        fp_coll_push(c->arena, out, &r);
    return true;
}

bool fpf_toQuantity(FP_FN_ARGS) { return quantity_with_unit(c, n, focus, in, f, out, false); }
bool fpf_convertsToQuantity(FP_FN_ARGS) { return quantity_with_unit(c, n, focus, in, f, out, true); }

/* ---- boundaries ------------------------------------------------------------------ */

static fp_dec floor_to(fp_dec d, int digits, bool up) {
    if(d.scale <= digits) {
        while(d.scale < digits) {
            if(d.m > (__int128)1e30 || d.m < -(__int128)1e30) break; /* keep it in range: fewer digits */
            d.m *= 10;
            d.scale++;
        }
        return d;
    }
    __int128 p = 1;
    for(int i = digits; i < d.scale; i++) p *= 10;
    __int128 q = d.m / p, r = d.m % p;
    if(!up && r < 0) q--;
    if(up && r > 0) q++;
    fp_dec o = {q, digits};
    return o;
}

static bool dec_boundary(fp_ctx *c, const fp_item *x, int64_t prec, bool high, fp_item *r) {
    fp_dec d;
    if(x->v.kind == FP_INTEGER)
        d = fp_dec_from_int(x->v.integer);
    else if(!fp_dec_parse(x->v.text, &d))
        return false;
    if(prec < 0 || prec > 31) return false;
    /* half a unit in the last written place */
    fp_dec half = {5, d.scale + 1}, b;
    if(!(high ? fp_dec_add(d, half, &b) : fp_dec_sub(d, half, &b))) return false;
    b = floor_to(b, (int)prec, high);
    /* a value with no digit at or above the precision has boundaries of zero there */
    fp_dec t = d;
    while(t.scale > prec) {
        t.m /= 10;
        t.scale--;
    }
    if(t.m == 0 && d.scale > prec) b.m = 0;
    *r = *x;
    if(x->v.kind == FP_INTEGER) {
        r->v.kind = FP_DECIMAL;
        r->v.type = "Decimal";
    }
    r->v.text = fp_dec_text(c->arena, b);
    if(b.m == 0 && d.m < 0) { /* the low boundary of -0.0034 at 1 digit is -0.0 */
        size_t l = strlen(r->v.text);
        char *t = fp_alloc(c->arena, l + 2);
        t[0] = '-';
        memcpy(t + 1, r->v.text, l + 1);
        r->v.text = t;
    }
    return true;
}

static int digits_to_prec(int kind, int64_t p) {
    if(kind == FP_TIME) return p == 2 ? FP_P_HOUR : p == 4 ? FP_P_MINUTE : p == 6 ? FP_P_SECOND : p == 9 ? FP_P_MS : 0;
    switch(p) {
    case 4: return FP_P_YEAR;
    case 6: return FP_P_MONTH;
    case 8: return FP_P_DAY;
    case 10: return FP_P_HOUR;
    case 12: return FP_P_MINUTE;
    case 14: return FP_P_SECOND;
    case 17: return FP_P_MS;
    default: return 0;
    }
}

static bool dt_boundary(fp_ctx *c, const fp_item *x, int64_t digits, bool has_digits, bool high, fp_item *r) {
    fp_dt d;
    const char *t = x->v.text;
    if(x->v.kind == FP_TIME && t[0] == 'T') t++;
    if(!fp_dt_parse(t, x->v.kind, &d)) return false;
    if(!has_digits) digits = x->v.kind == FP_DATE ? 8 : x->v.kind == FP_TIME ? 9 : 17;
    int p = digits_to_prec(x->v.kind, digits);
    if(!p || (x->v.kind == FP_DATE && p > FP_P_DAY)) return false;
    if(x->v.kind == FP_DATETIME && d.prec == FP_P_HOUR) d.prec = FP_P_MINUTE; /* T08 means T08:00 */
    if(d.prec < FP_P_MONTH) d.mo = high ? 12 : 1;
    if(d.prec < FP_P_DAY) {
        static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int m = dim[d.mo - 1];
        if(d.mo == 2 && ((d.y % 4 == 0 && d.y % 100 != 0) || d.y % 400 == 0)) m = 29;
        d.d = high ? m : 1;
    }
    if(d.prec < FP_P_HOUR) d.h = high ? 23 : 0;
    if(d.prec < FP_P_MINUTE) d.mi = high ? 59 : 0;
    if(d.prec < FP_P_SECOND) d.s = high ? 59 : 0;
    if(d.prec < FP_P_MS) d.ms = high ? 999 : 0;
    if(x->v.kind == FP_DATETIME && !d.tz && p >= FP_P_HOUR) {
        d.tz = true;
        d.tzmin = high ? -12 * 60 : 14 * 60;
    }
    d.prec = p;
    *r = *x;
    r->v.text = fp_dt_text(c->arena, &d);
    return true;
}

static bool boundary(fp_ctx *c, const fp_node *n, const fp_coll *focus, const fp_coll *in, const fp_frame *f,
                     fp_coll *out, bool high) {
    fp_item x, r;
    bool ok, has = false;
    int64_t digits = 8;
    if(!one(c, n, focus, &x, &ok)) return false;
    if(n->nargs && !fpf_arg_int(c, n, 0, in, f, &digits, &has)) return false;
    if(!ok) return true;
    bool done = false;
    switch(x.v.kind) {
    case FP_INTEGER: case FP_DECIMAL: case FP_QUANTITY: done = dec_boundary(c, &x, digits, high, &r); break;
    case FP_DATE: case FP_DATETIME: case FP_TIME: done = dt_boundary(c, &x, digits, has, high, &r); break;
    default: break;
    }
    if(done) fp_coll_push(c->arena, out, &r);
    return true;
}

bool fpf_lowBoundary(FP_FN_ARGS) { return boundary(c, n, focus, in, f, out, false); }
bool fpf_highBoundary(FP_FN_ARGS) { return boundary(c, n, focus, in, f, out, true); }

bool fpf_precision(FP_FN_ARGS) {
    fp_item x;
    bool ok;
    (void)in; (void)f;
    if(!one(c, n, focus, &x, &ok)) return false;
    if(!ok) return true;
    if(x.v.kind == FP_DECIMAL) {
        const char *dot = strchr(x.v.text, '.');
        fpf_push_int(c, out, dot ? (int64_t)strlen(dot + 1) : 0);
    } else if(x.v.kind == FP_INTEGER) {
        fpf_push_int(c, out, 0);
    } else if(x.v.kind == FP_DATE || x.v.kind == FP_DATETIME || x.v.kind == FP_TIME) {
        fp_dt d;
        const char *t = x.v.text;
        if(x.v.kind == FP_TIME && t[0] == 'T') t++;
        if(!fp_dt_parse(t, x.v.kind, &d)) return true;
        static const int DATE_DIGITS[] = {0, 4, 6, 8, 10, 12, 14, 17};
        static const int TIME_DIGITS[] = {0, 0, 0, 0, 2, 4, 6, 9};
        fpf_push_int(c, out, x.v.kind == FP_TIME ? TIME_DIGITS[d.prec] : DATE_DIGITS[d.prec]);
    }
    return true;
}

bool fpf_comparable(FP_FN_ARGS) {
    fp_item x, y;
    bool ok, present;
    if(!one(c, n, focus, &x, &ok)) return false;
    if(!fpf_arg_single(c, n, 0, in, f, &y, &present)) return false;
    if(!ok || !present) return true;
    fp_dec a, b, ca, cb;
    const char *ua, *ub, *ba, *bb;
    if(!fp_item_quantity(c, &x, &a, &ua) || !fp_item_quantity(c, &y, &b, &ub)) {
        fpf_push_bool(c, out, false);
        return true;
    }
    bool same = strcmp(ua, ub) == 0 ||
                (fp_unit_canonical(a, ua, &ca, &ba) && fp_unit_canonical(b, ub, &cb, &bb) && strcmp(ba, bb) == 0);
    fpf_push_bool(c, out, same);
    return true;
}
