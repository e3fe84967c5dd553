/*
 * fhirpath_value.c — the values a FHIRPath evaluation computes with: the
 * arena every evaluation allocates from, collections, decimals that keep
 * their precision (a scaled 128-bit integer, so 1.0 + 2.00 = 3.00 and 0.1 +
 * 0.2 = 0.3 exactly), dates and times with their precision, and the UCUM and
 * calendar units that quantities and date arithmetic need.
 *
 * Nothing here is shared between evaluations: an arena belongs to one
 * evaluation (or to one parsed expression), and everything else is pure
 * functions over values. The unit table is static and read-only.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/datetime.h"
#include "fhir/fhirpath_int.h"

/* ---- arena ----------------------------------------------------------------- */

struct fp_chunk {
    fp_chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

#define CHUNK_MIN (1024 - sizeof(fp_chunk)) /* the first chunk comes from malloc's fast small bins */

void *fp_alloc(fp_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if(n == 0) n = 16;
    fp_chunk *c = a->head;
    if(!c || c->size - c->used < n) {
        size_t want = c ? c->size * 4 : CHUNK_MIN;
        if(want > (1u << 20)) want = 1u << 20;
        if(want < n) want = n;
        c = xmalloc(sizeof *c + want);
        c->size = want;
        c->used = 0;
        c->next = a->head;
        a->head = c;
        a->total += want;
        if(a->total > FP_MAX_ARENA) a->over = true;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *fp_strndup(fp_arena *a, const char *s, size_t n) {
    char *p = fp_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *fp_strdup(fp_arena *a, const char *s) { return fp_strndup(a, s, strlen(s)); }

void fp_arena_own_json(fp_arena *a, json_value *v) {
    if(!v) return;
    if(a->nowned == a->capowned) {
        a->capowned = a->capowned ? a->capowned * 2 : 8;
        a->owned = xrealloc(a->owned, a->capowned * sizeof *a->owned);
    }
    a->owned[a->nowned++] = v;
}

void fp_arena_free(fp_arena *a) {
    fp_chunk *c = a->head;
    while(c) {
        fp_chunk *next = c->next;
        free(c);
        c = next;
    }
    for(size_t i = 0; i < a->nowned; i++) json_free(a->owned[i]);
    free(a->owned);
    memset(a, 0, sizeof *a);
}

/* ---- collections -------------------------------------------------------------- */

static void coll_reserve(fp_arena *a, fp_coll *c, size_t need) {
    if(need <= c->cap) return;
    size_t cap = c->cap ? c->cap * 2 : 4;
    while(cap < need) cap *= 2;
    fp_item *items = fp_alloc(a, cap * sizeof *items);
    if(c->n) memcpy(items, c->items, c->n * sizeof *items);
    c->items = items;
    c->cap = cap;
}

void fp_coll_push(fp_arena *a, fp_coll *c, const fp_item *it) {
    if(c->n >= FP_MAX_ITEMS) {
        a->over = true;
        return;
    }
    coll_reserve(a, c, c->n + 1);
    c->items[c->n++] = *it;
}

void fp_coll_append(fp_arena *a, fp_coll *c, const fp_coll *more) {
    if(!more->n) return;
    if(!c->n && !c->cap) { /* share: collections are never mutated in place once built */
        *c = *more;
        c->cap = c->n; /* a later push copies */
        return;
    }
    if(c->n + more->n > FP_MAX_ITEMS) {
        a->over = true;
        return;
    }
    coll_reserve(a, c, c->n + more->n);
    memcpy(c->items + c->n, more->items, more->n * sizeof *more->items);
    c->n += more->n;
}

/* ---- decimals ---------------------------------------------------------------- */

#define DEC_MAX_DIGITS 36
static const __int128 DEC_LIMIT = (__int128)1000000000000000000LL * (__int128)1000000000000000000LL; /* 1e36 */

static __int128 pow10i(int n) {
    __int128 r = 1;
    while(n-- > 0) r *= 10;
    return r;
}

static __int128 abs128(__int128 x) { return x < 0 ? -x : x; }

bool fp_dec_parse(const char *s, fp_dec *out) {
    const char *p = s;
    bool neg = false;
    __int128 m = 0;
    int scale = 0, nd = 0;
    if(*p == '+' || *p == '-') neg = *p++ == '-';
    if(!isdigit((unsigned char)*p)) return false;
    while(isdigit((unsigned char)*p)) {
        if(nd || *p != '0') nd++;
        if(nd > DEC_MAX_DIGITS) return false;
        m = m * 10 + (*p++ - '0');
    }
    if(*p == '.') {
        p++;
        if(!isdigit((unsigned char)*p)) return false;
        while(isdigit((unsigned char)*p)) {
            if(nd || *p != '0') nd++;
            if(nd > DEC_MAX_DIGITS || scale >= DEC_MAX_DIGITS) return false;
            m = m * 10 + (*p++ - '0');
            scale++;
        }
    }
    if(*p == 'e' || *p == 'E') {
        p++;
        bool eneg = false;
        if(*p == '+' || *p == '-') eneg = *p++ == '-';
        if(!isdigit((unsigned char)*p)) return false;
        int e = 0;
        while(isdigit((unsigned char)*p)) {
            e = e * 10 + (*p++ - '0');
            if(e > 100) return false;
        }
        if(eneg) {
            scale += e;
            if(scale > DEC_MAX_DIGITS) return false;
        } else {
            while(e > 0 && scale > 0) {
                scale--;
                e--;
            }
            if(e) {
                if(nd + e > DEC_MAX_DIGITS) return false;
                m *= pow10i(e);
            }
        }
    }
    if(*p) return false;
    out->m = neg ? -m : m;
    out->scale = scale;
    return true;
}

void fp_dec_to_buf(char *out, size_t outlen, fp_dec d) {
    char tmp[64];
    int n = 0;
    __int128 m = abs128(d.m);
    do {
        tmp[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while(m && n < 60);
    while(n <= d.scale && n < 60) tmp[n++] = '0';
    size_t o = 0;
    if(d.m < 0 && o + 1 < outlen) out[o++] = '-';
    for(int i = n - 1; i >= 0 && o + 2 < outlen; i--) {
        out[o++] = tmp[i];
        if(i == d.scale && d.scale > 0) out[o++] = '.';
    }
    out[o] = 0;
}

char *fp_dec_text(fp_arena *a, fp_dec d) {
    char b[80];
    fp_dec_to_buf(b, sizeof b, d);
    return fp_strdup(a, b);
}

/* Bring a and b to the same scale; false on overflow. */
static bool align(fp_dec *a, fp_dec *b) {
    while(a->scale < b->scale) {
        if(abs128(a->m) >= DEC_LIMIT) return false;
        a->m *= 10;
        a->scale++;
    }
    while(b->scale < a->scale) {
        if(abs128(b->m) >= DEC_LIMIT) return false;
        b->m *= 10;
        b->scale++;
    }
    return true;
}

bool fp_dec_add(fp_dec a, fp_dec b, fp_dec *out) {
    if(!align(&a, &b)) return false;
    out->m = a.m + b.m;
    out->scale = a.scale;
    return abs128(out->m) < DEC_LIMIT * 10;
}

bool fp_dec_sub(fp_dec a, fp_dec b, fp_dec *out) {
    b.m = -b.m;
    return fp_dec_add(a, b, out);
}

/* Drop digits below `scale` with rounding half away from zero. */
static fp_dec rescale_down(fp_dec d, int scale) {
    if(d.scale <= scale) return d;
    __int128 p = pow10i(d.scale - scale);
    __int128 q = d.m / p, r = d.m % p;
    if(abs128(r) * 2 >= p) q += d.m < 0 ? -1 : 1;
    d.m = q;
    d.scale = scale;
    return d;
}

bool fp_dec_mul(fp_dec a, fp_dec b, fp_dec *out) {
    /* keep operands small enough that the product fits */
    while(a.m && b.m && abs128(a.m) > DEC_LIMIT / abs128(b.m)) {
        if(a.scale == 0 && b.scale == 0) return false;
        if(a.scale >= b.scale)
            a = rescale_down(a, a.scale - 1);
        else
            b = rescale_down(b, b.scale - 1);
    }
    out->m = a.m * b.m;
    out->scale = a.scale + b.scale;
    if(out->scale > DEC_MAX_DIGITS) *out = rescale_down(*out, DEC_MAX_DIGITS);
    return true;
}

fp_dec fp_dec_trim(fp_dec d) {
    while(d.scale > 0 && d.m % 10 == 0) {
        d.m /= 10;
        d.scale--;
    }
    return d;
}

bool fp_dec_div(fp_dec a, fp_dec b, fp_dec *out) {
    if(b.m == 0) return false;
    /* result scale: 8 digits beyond the operands' (as most engines do) */
    int s = (a.scale > b.scale ? a.scale : b.scale) + 8;
    if(s > 30) s = 30;
    /* q = a.m * 10^(s + 1 - a.scale + b.scale) / b.m, one guard digit */
    int e = s + 1 - a.scale + b.scale;
    __int128 num = a.m, den = b.m;
    while(e < 0) {
        den *= 10;
        e++;
        if(abs128(den) >= DEC_LIMIT) return false;
    }
    while(e > 0 && abs128(num) < DEC_LIMIT) {
        num *= 10;
        e--;
    }
    while(e > 0) { /* numerator full: shrink the denominator instead */
        if(den % 10 == 0) {
            den /= 10;
            e--;
        } else {
            s--;
            e--;
            if(s < 0) return false;
        }
    }
    fp_dec q = {num / den, s + 1};
    q = rescale_down(q, s);
    *out = fp_dec_trim(q);
    return true;
}

int fp_dec_cmp(fp_dec a, fp_dec b) {
    if(!align(&a, &b)) { /* magnitudes far apart: compare as doubles */
        double x = fp_dec_to_double(a), y = fp_dec_to_double(b);
        return x < y ? -1 : x > y;
    }
    return a.m < b.m ? -1 : a.m > b.m;
}

fp_dec fp_dec_from_int(int64_t i) {
    fp_dec d = {i, 0};
    return d;
}

double fp_dec_to_double(fp_dec d) {
    char b[80];
    fp_dec_to_buf(b, sizeof b, d);
    return strtod(b, NULL);
}

bool fp_dec_from_double(double x, fp_dec *out) {
    char b[64];
    if(!isfinite(x)) return false;
    snprintf(b, sizeof b, "%.15g", x);
    if(strchr(b, 'e') || strchr(b, 'E')) {
        snprintf(b, sizeof b, "%.15f", x);
    }
    if(!fp_dec_parse(b, out)) return false;
    *out = fp_dec_trim(*out);
    return true;
}

fp_dec fp_dec_round(fp_dec d, int digits) { return rescale_down(d, digits); }

/* ---- dates and times ----------------------------------------------------------- */

static bool num(const char **p, int n, int *out) {
    int v = 0;
    for(int i = 0; i < n; i++) {
        if(!isdigit((unsigned char)(*p)[i])) return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static int days_in_month(int y, int m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if(m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

static bool parse_time(const char **pp, fp_dt *d) {
    const char *p = *pp;
    if(!num(&p, 2, &d->h) || d->h > 23) return false;
    d->prec = FP_P_HOUR;
    if(*p == ':') {
        p++;
        if(!num(&p, 2, &d->mi) || d->mi > 59) return false;
        d->prec = FP_P_MINUTE;
        if(*p == ':') {
            p++;
            if(!num(&p, 2, &d->s) || d->s > 59) return false;
            d->prec = FP_P_SECOND;
            if(*p == '.') {
                p++;
                if(!isdigit((unsigned char)*p)) return false;
                int ms = 0, n = 0;
                while(isdigit((unsigned char)*p)) {
                    if(n < 3) ms = ms * 10 + (*p - '0');
                    n++;
                    p++;
                }
                for(int k = n; k < 3; k++) ms *= 10;
                d->ms = ms;
                d->msdigits = n;
                d->prec = FP_P_MS;
            }
        }
    }
    *pp = p;
    return true;
}

bool fp_dt_parse(const char *s, int kind, fp_dt *out) {
    fp_dt d;
    const char *p = s;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.mo = d.d = 1;
    if(kind == FP_TIME) {
        if(!parse_time(&p, &d) || *p) return false;
        *out = d;
        return true;
    }
    if(!num(&p, 4, &d.y)) return false;
    d.prec = FP_P_YEAR;
    if(*p == '-') {
        p++;
        if(!num(&p, 2, &d.mo) || d.mo < 1 || d.mo > 12) return false;
        d.prec = FP_P_MONTH;
        if(*p == '-') {
            p++;
            if(!num(&p, 2, &d.d) || d.d < 1 || d.d > days_in_month(d.y, d.mo)) return false;
            d.prec = FP_P_DAY;
        }
    }
    if(kind == FP_DATE) {
        if(*p) return false;
        *out = d;
        return true;
    }
    if(*p == 'T') {
        p++;
        if(*p && !parse_time(&p, &d)) return false;
    }
    if(*p == 'Z') {
        d.tz = true;
        p++;
    } else if(*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, th, tm;
        if(!num(&p, 2, &th) || *p++ != ':' || !num(&p, 2, &tm) || th > 14 || tm > 59) return false;
        d.tz = true;
        d.tzmin = sign * (th * 60 + tm);
    }
    if(*p) return false;
    *out = d;
    return true;
}

char *fp_dt_text(fp_arena *a, const fp_dt *d) {
    char b[64];
    size_t n = 0;
    if(d->kind != FP_TIME) {
        n += (size_t)snprintf(b + n, sizeof b - n, "%04d", d->y);
        if(d->prec >= FP_P_MONTH) n += (size_t)snprintf(b + n, sizeof b - n, "-%02d", d->mo);
        if(d->prec >= FP_P_DAY) n += (size_t)snprintf(b + n, sizeof b - n, "-%02d", d->d);
        if(d->prec >= FP_P_HOUR) n += (size_t)snprintf(b + n, sizeof b - n, "T");
    }
    if(d->prec >= FP_P_HOUR) n += (size_t)snprintf(b + n, sizeof b - n, "%02d", d->h);
    if(d->prec >= FP_P_MINUTE) n += (size_t)snprintf(b + n, sizeof b - n, ":%02d", d->mi);
    if(d->prec >= FP_P_SECOND) n += (size_t)snprintf(b + n, sizeof b - n, ":%02d", d->s);
    if(d->prec >= FP_P_MS) n += (size_t)snprintf(b + n, sizeof b - n, ".%03d", d->ms);
    if(d->kind == FP_DATETIME && d->tz && d->prec >= FP_P_HOUR) {
        if(d->tzmin == 0)
            n += (size_t)snprintf(b + n, sizeof b - n, "Z");
        else
            n += (size_t)snprintf(b + n, sizeof b - n, "%c%02d:%02d", d->tzmin < 0 ? '-' : '+', abs(d->tzmin) / 60,
                                  abs(d->tzmin) % 60);
    }
    return fp_strndup(a, b, n);
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

/* Milliseconds since the epoch (dates) or since midnight (times). */
static int64_t dt_millis(const fp_dt *d) {
    int64_t days = d->kind == FP_TIME ? 0 : datetime_days_from_civil(d->y, d->mo, d->d);
    return ((days * 24 + d->h) * 60 + d->mi) * 60000 + (int64_t)d->s * 1000 + d->ms;
}

static void dt_from_millis(fp_dt *d, int64_t ms) {
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    if(d->kind != FP_TIME) civil_from_days(days, &d->y, &d->mo, &d->d);
    d->h = (int)(rem / 3600000);
    d->mi = (int)(rem / 60000 % 60);
    d->s = (int)(rem / 1000 % 60);
    d->ms = (int)(rem % 1000);
}

/* Shift to UTC when the value has a time part and a zone. */
static fp_dt to_utc(const fp_dt *in) {
    fp_dt d = *in;
    if(d.kind == FP_DATETIME && d.tz && d.prec >= FP_P_HOUR && d.tzmin) {
        dt_from_millis(&d, dt_millis(&d) - (int64_t)d.tzmin * 60000);
        d.tzmin = 0;
    }
    return d;
}

int fp_dt_compare(const fp_dt *a0, const fp_dt *b0, int *cmp) {
    fp_dt a = to_utc(a0), b = to_utc(b0);
    /* one with a zone, one without: only a difference above the hour is certain */
    if(a.kind == FP_DATETIME && b.kind == FP_DATETIME && a.prec >= FP_P_HOUR && b.prec >= FP_P_HOUR &&
       a0->tz != b0->tz) {
        int av[] = {a0->y, a0->mo, a0->d}, bv[] = {b0->y, b0->mo, b0->d};
        for(int i = 0; i < 3; i++) {
            if(av[i] != bv[i] && (av[i] - bv[i] > 1 || bv[i] - av[i] > 1 || i < 2)) {
                *cmp = av[i] < bv[i] ? -1 : 1;
                return 0;
            }
        }
        return 1;
    }
    int pa = a.prec == FP_P_MS ? FP_P_SECOND : a.prec, pb = b.prec == FP_P_MS ? FP_P_SECOND : b.prec;
    int lo = pa < pb ? pa : pb;
    int first = a.kind == FP_TIME ? FP_P_HOUR : FP_P_YEAR;
    int av[] = {0, a.y, a.mo, a.d, a.h, a.mi, a.s * 1000 + a.ms};
    int bv[] = {0, b.y, b.mo, b.d, b.h, b.mi, b.s * 1000 + b.ms};
    for(int p = first; p <= lo; p++) {
        if(av[p] != bv[p]) {
            *cmp = av[p] < bv[p] ? -1 : 1;
            return 0;
        }
    }
    if(pa != pb) return 1;
    *cmp = 0;
    return 0;
}

/* Unit names for date arithmetic: the calendar word or UCUM code -> index. */
enum { U_YEAR, U_MONTH, U_WEEK, U_DAY, U_HOUR, U_MINUTE, U_SECOND, U_MS, U_NONE };

static int time_unit(const char *u) {
    static const struct {
        const char *name;
        int unit;
    } T[] = {{"year", U_YEAR},     {"years", U_YEAR},   {"a", U_YEAR},        {"month", U_MONTH},
             {"months", U_MONTH},  {"mo", U_MONTH},     {"week", U_WEEK},     {"weeks", U_WEEK},
             {"wk", U_WEEK},       {"day", U_DAY},      {"days", U_DAY},      {"d", U_DAY},
             {"hour", U_HOUR},     {"hours", U_HOUR},   {"h", U_HOUR},        {"minute", U_MINUTE},
             {"minutes", U_MINUTE}, {"min", U_MINUTE},  {"second", U_SECOND}, {"seconds", U_SECOND},
             {"s", U_SECOND},      {"millisecond", U_MS}, {"milliseconds", U_MS}, {"ms", U_MS}};
    for(size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if(strcmp(u, T[i].name) == 0) return T[i].unit;
    return U_NONE;
}

bool fp_dt_add(fp_dt *d, fp_dec n, const char *unit) {
    int u = time_unit(unit);
    if(u == U_NONE) return false;
    /* UCUM years and months are not calendar durations: @2019-01-01 + 1 'a' is an error */
    if(strcmp(unit, "a") == 0 || strcmp(unit, "mo") == 0) return false;
    static const int64_t MS[] = {0, 0, 604800000LL, 86400000LL, 3600000LL, 60000LL, 1000LL, 1LL};
    if(d->kind == FP_TIME && (u == U_YEAR || u == U_MONTH || u == U_WEEK || u == U_DAY)) return false;
    fp_dec tr = n;
    while(tr.scale > 0) { /* truncate toward zero */
        tr.m /= 10;
        tr.scale--;
    }
    /* no date moves more than 10,000 years: bigger amounts are out of range */
    if(tr.m > (__int128)1000000000000LL || tr.m < -(__int128)1000000000000LL) return false;
    int64_t whole = (int64_t)tr.m;
    if(u == U_YEAR || u == U_MONTH) {
        int64_t months = u == U_YEAR ? whole * 12 : whole;
        if(d->prec == FP_P_YEAR) months = (months / 12) * 12;
        int64_t total = (int64_t)d->y * 12 + (d->mo - 1) + months;
        if(total < 0 || total > 9999 * 12 + 11) return false;
        d->y = (int)(total / 12);
        d->mo = (int)(total % 12) + 1;
        int dim = days_in_month(d->y, d->mo);
        if(d->d > dim) d->d = dim;
        return true;
    }
    int64_t ms; /* whole units only: + 0.1 's' changes nothing */
    if(__builtin_mul_overflow(whole, MS[u], &ms) || ms > 400000000000000LL || ms < -400000000000000LL) return false;
    /* coarser precision: convert to the value's own finest unit (truncating) */
    int64_t unit_ms = d->prec <= FP_P_DAY ? 86400000LL
                      : d->prec == FP_P_HOUR ? 3600000LL
                      : d->prec == FP_P_MINUTE ? 60000LL
                      : d->prec == FP_P_SECOND ? 1000LL
                                               : 1LL;
    if(d->kind != FP_TIME && d->prec < FP_P_DAY) {
        /* a year or month: whole years/months only */
        int64_t days = ms / 86400000LL;
        if(d->prec == FP_P_YEAR) {
            d->y = (int)(d->y + days / 365);
        } else {
            int64_t total = (int64_t)d->y * 12 + (d->mo - 1) + days / 30;
            d->y = (int)(total / 12);
            d->mo = (int)(total % 12) + 1;
        }
        return d->y >= 1 && d->y <= 9999;
    }
    ms = (ms / unit_ms) * unit_ms;
    int64_t t = dt_millis(d) + ms;
    if(d->kind == FP_TIME) {
        t %= 86400000LL;
        if(t < 0) t += 86400000LL;
    }
    dt_from_millis(d, t);
    return d->kind == FP_TIME || (d->y >= 1 && d->y <= 9999);
}

/* ---- units ----------------------------------------------------------------------- */

typedef struct unit_def {
    const char *code;
    const char *factor; /* decimal text: value in the base unit */
    const char *base;
} unit_def;

static const unit_def UNITS[] = {
    /* time: UCUM definite durations; the calendar words week..millisecond equal them */
    {"a", "31557600", "s"},     {"mo", "2629800", "s"},    {"wk", "604800", "s"},     {"d", "86400", "s"},
    {"h", "3600", "s"},         {"min", "60", "s"},        {"s", "1", "s"},           {"ms", "0.001", "s"},
    {"week", "604800", "s"},    {"weeks", "604800", "s"},  {"day", "86400", "s"},     {"days", "86400", "s"},
    {"hour", "3600", "s"},      {"hours", "3600", "s"},    {"minute", "60", "s"},     {"minutes", "60", "s"},
    {"second", "1", "s"},       {"seconds", "1", "s"},     {"millisecond", "0.001", "s"},
    {"milliseconds", "0.001", "s"},
    /* calendar years and months: comparable with each other only */
    {"year", "12", "mo_cal"},   {"years", "12", "mo_cal"}, {"month", "1", "mo_cal"},  {"months", "1", "mo_cal"},
    /* mass */
    {"g", "1", "g"},            {"mg", "0.001", "g"},      {"kg", "1000", "g"},       {"ug", "0.000001", "g"},
    {"ng", "0.000000001", "g"}, {"[lb_av]", "453.59237", "g"}, {"[oz_av]", "28.349523125", "g"},
    /* length */
    {"m", "1", "m"},            {"cm", "0.01", "m"},       {"mm", "0.001", "m"},      {"km", "1000", "m"},
    {"um", "0.000001", "m"},    {"[in_i]", "0.0254", "m"}, {"[ft_i]", "0.3048", "m"},
    /* volume */
    {"L", "1", "L"},            {"l", "1", "L"},           {"mL", "0.001", "L"},      {"ml", "0.001", "L"},
    {"dL", "0.1", "L"},         {"cL", "0.01", "L"},       {"uL", "0.000001", "L"},
    /* dimensionless */
    {"1", "1", "1"},            {"%", "0.01", "1"},
};

static const unit_def *unit_find(const char *u) {
    for(size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++)
        if(strcmp(UNITS[i].code, u) == 0) return &UNITS[i];
    return NULL;
}

bool fp_unit_is_calendar(const char *unit, const char **ucum) {
    static const char *const W[][2] = {{"year", "a"},    {"years", "a"},   {"month", "mo"},  {"months", "mo"},
                                       {"week", "wk"},   {"weeks", "wk"},  {"day", "d"},     {"days", "d"},
                                       {"hour", "h"},    {"hours", "h"},   {"minute", "min"}, {"minutes", "min"},
                                       {"second", "s"},  {"seconds", "s"}, {"millisecond", "ms"},
                                       {"milliseconds", "ms"}};
    for(size_t i = 0; i < sizeof W / sizeof W[0]; i++) {
        if(strcmp(unit, W[i][0]) == 0) {
            if(ucum) *ucum = W[i][1];
            return true;
        }
    }
    return false;
}

bool fp_unit_canonical(fp_dec v, const char *unit, fp_dec *out, const char **base) {
    const unit_def *u = unit_find(unit);
    if(!u) {
        *out = v;
        *base = unit;
        return true;
    }
    fp_dec f;
    if(!fp_dec_parse(u->factor, &f)) return false;
    if(!fp_dec_mul(v, f, out)) return false;
    *out = fp_dec_trim(*out);
    *base = u->base;
    return true;
}

bool fp_unit_convert(fp_dec v, const char *from, const char *to, fp_dec *out) {
    if(strcmp(from, to) == 0) {
        *out = v;
        return true;
    }
    const unit_def *a = unit_find(from), *b = unit_find(to);
    if(!a || !b || strcmp(a->base, b->base) != 0) return false;
    fp_dec fa, fb, t;
    if(!fp_dec_parse(a->factor, &fa) || !fp_dec_parse(b->factor, &fb)) return false;
    if(!fp_dec_mul(v, fa, &t)) return false;
    return fp_dec_div(t, fb, out);
}
