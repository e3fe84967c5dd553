/*
 * spc.c — XmR charts and funnel plots in the Making Data Count style.
 *
 * The rules, constants and their sources are documented in spc.h. This file
 * only computes: values in, limits and per-point flags out. Results own
 * their arrays (allocated with xcalloc, freed by spc_xmr_free /
 * spc_funnel_free). No global state; safe to call from any thread.
 */
#include "report/spc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* Side of the mean: +1 above, -1 below, 0 on it. */
static int side_of(double v, double mean) { return v > mean ? 1 : v < mean ? -1 : 0; }

static spc_cause cause_for(int dir, spc_polarity pol) {
    if(pol == SPC_POLARITY_NEITHER) return SPC_CAUSE_NEUTRAL;
    int good = pol == SPC_POLARITY_HIGHER_BETTER ? 1 : -1;
    return dir == good ? SPC_CAUSE_IMPROVEMENT : SPC_CAUSE_CONCERN;
}

/* Flag every point of each run of >= min_len consecutive points whose step
 * key is the same non-zero sign. key(i) for i in [first, n). For shifts the
 * key is the side of the mean (first = 0); for trends it is the sign of the
 * step from the point before (first = 1, and the run includes that point). */
static void flag_runs(spc_xmr *x, unsigned rule, size_t min_len, int *dir) {
    bool trend = rule == SPC_RULE_TREND;
    size_t i = trend ? 1 : 0;
    while(i < x->n) {
        int k = trend ? side_of(x->value[i], x->value[i - 1]) : side_of(x->value[i], x->mean);
        size_t j = i;
        while(j + 1 < x->n &&
              (trend ? side_of(x->value[j + 1], x->value[j]) : side_of(x->value[j + 1], x->mean)) == k)
            j++;
        size_t start = trend ? i - 1 : i; /* a trend's first point is the one before its first step */
        if(k != 0 && j + 1 - start >= min_len) {
            for(size_t m = start; m <= j; m++) {
                x->rules[m] |= rule;
                if(trend || !(x->rules[m] & SPC_RULE_TREND)) dir[m] = k;
            }
        }
        i = j + 1;
    }
}

kith_rc spc_xmr_compute(const double *values, size_t n, size_t baseline, spc_polarity polarity,
                        const double *target, spc_xmr *out) {
    int *dir = NULL;
    memset(out, 0, sizeof *out);
    if(!values || n < 2 || n > SPC_MAX_POINTS || baseline == 1) return KITH_EINVAL;
    if(target && !isfinite(*target)) return KITH_EINVAL;
    for(size_t i = 0; i < n; i++)
        if(!isfinite(values[i])) return KITH_EINVAL;
    size_t b = (baseline == 0 || baseline > n) ? n : baseline;

    out->n = n;
    out->baseline = b;
    out->polarity = polarity;
    out->value = xcalloc(n, sizeof *out->value);
    out->mr = xcalloc(n, sizeof *out->mr);
    out->rules = xcalloc(n, sizeof *out->rules);
    out->cause = xcalloc(n, sizeof *out->cause);
    dir = xcalloc(n, sizeof *dir);
    memcpy(out->value, values, n * sizeof *values);

    double sum = 0, mrsum = 0;
    for(size_t i = 0; i < n; i++) {
        if(i > 0) out->mr[i] = fabs(values[i] - values[i - 1]);
        if(i < b) {
            sum += values[i];
            if(i > 0) mrsum += out->mr[i];
        }
    }
    out->mean = sum / (double)b;
    out->mr_mean = mrsum / (double)(b - 1);
    out->sigma = out->mr_mean / SPC_D2;
    out->upl = out->mean + SPC_XMR_LIMIT * out->mr_mean;
    out->lpl = out->mean - SPC_XMR_LIMIT * out->mr_mean;
    out->up2s = out->mean + 2 * out->sigma;
    out->lo2s = out->mean - 2 * out->sigma;
    out->up1s = out->mean + out->sigma;
    out->lo1s = out->mean - out->sigma;

    /* Trend first: it decides direction where rules overlap. */
    flag_runs(out, SPC_RULE_TREND, SPC_TREND_POINTS, dir);
    flag_runs(out, SPC_RULE_SHIFT, SPC_SHIFT_POINTS, dir);
    for(size_t i = 0; i < n; i++) {
        double v = values[i];
        if(v > out->upl || v < out->lpl) out->rules[i] |= SPC_RULE_OUTSIDE;
        if(i + 2 < n) {
            for(int s = -1; s <= 1; s += 2) {
                int hits = 0;
                for(size_t k = i; k < i + 3; k++)
                    hits += s > 0 ? values[k] > out->up2s : values[k] < out->lo2s;
                if(hits < 2) continue;
                for(size_t k = i; k < i + 3; k++)
                    if(s > 0 ? values[k] > out->up2s : values[k] < out->lo2s) out->rules[k] |= SPC_RULE_TWO_OF_THREE;
            }
        }
    }
    for(size_t i = 0; i < n; i++) {
        if(!out->rules[i]) continue;
        int d = dir[i] ? dir[i] : side_of(values[i], out->mean);
        out->cause[i] = cause_for(d, polarity);
    }
    out->variation = out->cause[n - 1];

    if(target) {
        out->has_target = true;
        out->target = *target;
        double t = *target;
        if(polarity == SPC_POLARITY_NEITHER)
            out->assurance = SPC_ASSURANCE_NONE;
        else if(t > out->lpl && t < out->upl)
            out->assurance = SPC_ASSURANCE_HIT_AND_MISS;
        else if((polarity == SPC_POLARITY_HIGHER_BETTER) == (t <= out->lpl))
            out->assurance = SPC_ASSURANCE_PASS;
        else
            out->assurance = SPC_ASSURANCE_FAIL;
    }
    free(dir);
    return KITH_OK;
}

void spc_xmr_free(spc_xmr *x) {
    if(!x) return;
    free(x->value);
    free(x->mr);
    free(x->rules);
    free(x->cause);
    memset(x, 0, sizeof *x);
}

double spc_funnel_limit(spc_funnel_kind kind, double p, double den, double z) {
    double var = kind == SPC_FUNNEL_PROPORTION ? p * (1 - p) : p;
    double lim = p + z * sqrt(var / den);
    if(lim < 0) lim = 0;
    if(kind == SPC_FUNNEL_PROPORTION && lim > 1) lim = 1;
    return lim;
}

kith_rc spc_funnel_compute(const double *num, const double *den, size_t n, spc_funnel_kind kind,
                           spc_polarity polarity, spc_funnel *out) {
    memset(out, 0, sizeof *out);
    if(!num || !den || n < 1 || n > SPC_MAX_POINTS) return KITH_EINVAL;
    double tn = 0, td = 0;
    for(size_t i = 0; i < n; i++) {
        if(!isfinite(num[i]) || !isfinite(den[i]) || den[i] <= 0 || num[i] < 0) return KITH_EINVAL;
        if(kind == SPC_FUNNEL_PROPORTION && num[i] > den[i]) return KITH_EINVAL;
        tn += num[i];
        td += den[i];
    }
    out->n = n;
    out->kind = kind;
    out->polarity = polarity;
    out->p = tn / td;
    out->num = xcalloc(n, sizeof *out->num);
    out->den = xcalloc(n, sizeof *out->den);
    out->value = xcalloc(n, sizeof *out->value);
    out->band = xcalloc(n, sizeof *out->band);
    out->cause = xcalloc(n, sizeof *out->cause);
    memcpy(out->num, num, n * sizeof *num);
    memcpy(out->den, den, n * sizeof *den);
    for(size_t i = 0; i < n; i++) {
        double v = num[i] / den[i];
        out->value[i] = v;
        if(v > spc_funnel_limit(kind, out->p, den[i], SPC_Z998) || v < spc_funnel_limit(kind, out->p, den[i], -SPC_Z998))
            out->band[i] = SPC_FUNNEL_OUTSIDE_998;
        else if(v > spc_funnel_limit(kind, out->p, den[i], SPC_Z95) || v < spc_funnel_limit(kind, out->p, den[i], -SPC_Z95))
            out->band[i] = SPC_FUNNEL_OUTSIDE_95;
        if(out->band[i] != SPC_FUNNEL_INSIDE) out->cause[i] = cause_for(side_of(v, out->p), polarity);
    }
    return KITH_OK;
}

void spc_funnel_free(spc_funnel *f) {
    if(!f) return;
    free(f->num);
    free(f->den);
    free(f->value);
    free(f->band);
    free(f->cause);
    memset(f, 0, sizeof *f);
}

const char *spc_cause_name(spc_cause c) {
    switch(c) {
    case SPC_CAUSE_COMMON: return "common cause";
    case SPC_CAUSE_IMPROVEMENT: return "special cause improvement";
    case SPC_CAUSE_CONCERN: return "special cause concern";
    case SPC_CAUSE_NEUTRAL: return "special cause (no polarity)";
    }
    return "?";
}

const char *spc_assurance_name(spc_assurance a) {
    switch(a) {
    case SPC_ASSURANCE_NONE: return "no target";
    case SPC_ASSURANCE_PASS: return "consistently hits the target";
    case SPC_ASSURANCE_FAIL: return "consistently fails the target";
    case SPC_ASSURANCE_HIT_AND_MISS: return "hit and miss";
    }
    return "?";
}
