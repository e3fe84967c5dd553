/*
 * evaluate.c — propensity-score matching and difference-in-differences for
 * judging a service (see evaluate.h and docs/evaluation.md).
 *
 * The propensity model is fitted by glm_fit_run (src/pop/glm.c); this file
 * holds no regression of its own. Matching sorts the controls by logit once
 * and finds each treated person's nearest unmatched control by binary search
 * and two "next unmatched" chains with path compression, so it is
 * O(n log n). The bootstrap resamples pairs with the synthetic place's
 * generator (src/synth/rng.h), one stream per seed, so a seed gives the same
 * intervals on every machine. All memory is the caller's or freed here,
 * except eval_match's arrays (eval_match_free). Reentrant.
 */
#include "eval/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "pop/glm.h"
#include "synth/rng.h"

#define PS_LAMBDA 1e-3 /* a whisker of ridge: finite scores under near-separation */

kith_rc eval_propensity(const eval_data *d, double *logit) {
    kith_rc rc = KITH_OK;
    double *x = NULL, *y = NULL;
    glm_fit fit = {0};
    if(!d->n || d->p > EVAL_MAX_COVARIATES) return KITH_EINVAL;
    size_t cols = d->p + 1, n_treated = 0;
    x = xmalloc(d->n * cols * sizeof *x);
    y = xmalloc(d->n * sizeof *y);
    for(size_t i = 0; i < d->n; i++) {
        x[i * cols] = 1;
        memcpy(x + i * cols + 1, d->x + i * d->p, d->p * sizeof *x);
        y[i] = d->treated[i];
        n_treated += d->treated[i];
    }
    if(!n_treated || n_treated == d->n) {
        rc = KITH_EINVAL;
        goto done;
    }
    glm_data gd = {.n = d->n, .p = cols, .x = x, .y = y, .offset = NULL};
    rc = glm_fit_run(&gd, GLM_LOGIT, PS_LAMBDA, NULL, 0, &fit);
    if(rc) goto done;
    for(size_t i = 0; i < d->n; i++) logit[i] = glm_eta(&fit, x + i * cols, 0);
done:
    glm_fit_free(&fit);
    free(x);
    free(y);
    return rc;
}

/* ---- matching ------------------------------------------------------------ */

typedef struct by_logit {
    double logit;
    size_t person;
} by_logit;

static int by_logit_cmp(const void *a, const void *b) {
    const by_logit *x = a, *y = b;
    if(x->logit != y->logit) return x->logit < y->logit ? -1 : 1;
    return x->person < y->person ? -1 : x->person > y->person;
}

/* Follow a "next unmatched" chain from i, compressing the path. Positions
 * are offset by one so that 0 means "none left on this side". */
static size_t chain_find(size_t *next, size_t i) {
    size_t root = i;
    while(next[root] != root) root = next[root];
    while(next[i] != root) {
        size_t up = next[i];
        next[i] = root;
        i = up;
    }
    return root;
}

/* Mean and variance of v[idx[i] * stride] over i < k. */
static void mean_var(const double *v, size_t stride, const size_t *idx, size_t k, double *mean, double *var) {
    double s = 0, ss = 0;
    for(size_t i = 0; i < k; i++) s += v[idx[i] * stride];
    *mean = s / k;
    for(size_t i = 0; i < k; i++) ss += (v[idx[i] * stride] - *mean) * (v[idx[i] * stride] - *mean);
    *var = k > 1 ? ss / (k - 1) : 0;
}

/* The treated (t, *nt) and the controls (c, n - *nt) by index; caller frees both. */
static void split_groups(const bool *treated, size_t n, size_t **t, size_t *nt, size_t **c) {
    *nt = 0;
    for(size_t i = 0; i < n; i++) *nt += treated[i];
    *t = xmalloc((*nt ? *nt : 1) * sizeof **t);
    *c = xmalloc((n - *nt ? n - *nt : 1) * sizeof **c);
    for(size_t i = 0, a = 0, b = 0; i < n; i++) {
        if(treated[i]) (*t)[a++] = i;
        else (*c)[b++] = i;
    }
}

/* Match each treated row among rows[0..nrows) (indices into logit), in the
 * order given, with the nearest unmatched control row among them within
 * caliper; pairs are appended to out (whose arrays hold n_treated). */
static void match_rows(const double *logit, const bool *treated, const size_t *rows, size_t nrows, double caliper,
                       bool replace, eval_match *out) {
    size_t nc = 0;
    for(size_t k = 0; k < nrows; k++) nc += !treated[rows[k]];
    if(!nc || nc == nrows) return;
    by_logit *ctl = xmalloc(nc * sizeof *ctl);
    for(size_t k = 0, j = 0; k < nrows; k++)
        if(!treated[rows[k]]) ctl[j++] = (by_logit){logit[rows[k]], rows[k]};
    qsort(ctl, nc, sizeof *ctl, by_logit_cmp);
    /* right[j + 1]: the first unmatched sorted position >= j, plus one (nc + 1: none);
     * left[j + 1]: the last unmatched position <= j, plus one (0: none). */
    size_t *right = xmalloc((nc + 2) * sizeof *right), *left = xmalloc((nc + 2) * sizeof *left);
    for(size_t j = 0; j < nc + 2; j++) right[j] = left[j] = j;
    for(size_t k = 0; k < nrows; k++) {
        size_t i = rows[k];
        if(!treated[i]) continue;
        size_t lo = 0, hi = nc; /* first position with logit >= logit[i] */
        while(lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if(ctl[mid].logit < logit[i]) lo = mid + 1;
            else hi = mid;
        }
        size_t r = chain_find(right, lo + 1), l = chain_find(left, lo);
        double dr = r <= nc ? ctl[r - 1].logit - logit[i] : INFINITY;
        double dl = l ? logit[i] - ctl[l - 1].logit : INFINITY;
        size_t pick;
        if(dl < dr || (dl == dr && l && ctl[l - 1].person < ctl[r - 1].person)) pick = l;
        else pick = r;
        if(!(fmin(dl, dr) <= caliper)) continue;
        out->treated[out->n_matched] = i;
        out->control[out->n_matched++] = ctl[pick - 1].person;
        if(replace) continue;
        right[pick] = pick + 1;
        left[pick] = pick - 1;
    }
    free(ctl);
    free(right);
    free(left);
}

/* Count the groups, set the caliper from the pooled SD of the logit over
 * all rows and allocate the pair arrays. KITH_EINVAL when a group is empty. */
static kith_rc match_begin(const double *logit, const bool *treated, size_t n, double caliper_sd, eval_match *out) {
    size_t *t = NULL, *c = NULL;
    memset(out, 0, sizeof *out);
    split_groups(treated, n, &t, &out->n_treated, &c);
    out->n_control = n - out->n_treated;
    kith_rc rc = KITH_OK;
    if(!out->n_treated || !out->n_control) {
        rc = KITH_EINVAL;
    } else {
        double mt, vt, mc, vc;
        mean_var(logit, 1, t, out->n_treated, &mt, &vt);
        mean_var(logit, 1, c, out->n_control, &mc, &vc);
        out->caliper = (caliper_sd > 0 ? caliper_sd : EVAL_CALIPER_SD) * sqrt((vt + vc) / 2);
        out->treated = xmalloc(out->n_treated * sizeof *out->treated);
        out->control = xmalloc(out->n_treated * sizeof *out->control);
    }
    free(t);
    free(c);
    return rc;
}

static void match_end(eval_match *out) {
    if(out->n_matched) return;
    free(out->treated);
    free(out->control);
    out->treated = out->control = NULL;
}

kith_rc eval_match_run(const double *logit, const bool *treated, size_t n, double caliper_sd, eval_match *out) {
    kith_rc rc = match_begin(logit, treated, n, caliper_sd, out);
    if(rc) return rc;
    size_t *all = xmalloc(n * sizeof *all);
    for(size_t i = 0; i < n; i++) all[i] = i;
    match_rows(logit, treated, all, n, out->caliper, false, out);
    free(all);
    match_end(out);
    return KITH_OK;
}

typedef struct by_stratum {
    int32_t stratum;
    size_t row;
} by_stratum;

static int by_stratum_cmp(const void *a, const void *b) {
    const by_stratum *x = a, *y = b;
    if(x->stratum != y->stratum) return x->stratum < y->stratum ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

kith_rc eval_match_strata(const double *logit, const bool *treated, const int32_t *stratum, const uint32_t *unit,
                          size_t n, double caliper_sd, bool replace, eval_match *out) {
    kith_rc rc = match_begin(logit, treated, n, caliper_sd, out);
    if(rc) return rc;
    by_stratum *order = xmalloc(n * sizeof *order);
    uint32_t units = 0;
    for(size_t i = 0; i < n; i++) {
        order[i] = (by_stratum){stratum[i], i};
        if(unit[i] >= units) units = unit[i] + 1;
    }
    qsort(order, n, sizeof *order, by_stratum_cmp);
    bool *used = xcalloc(units ? units : 1, sizeof *used);
    size_t *rows = xmalloc(n * sizeof *rows);
    for(size_t lo = 0, hi; lo < n; lo = hi) {
        size_t k = 0, first = out->n_matched;
        for(hi = lo; hi < n && order[hi].stratum == order[lo].stratum; hi++) {
            size_t i = order[hi].row;
            if(treated[i] || replace || !used[unit[i]]) rows[k++] = i;
        }
        match_rows(logit, treated, rows, k, out->caliper, replace, out);
        for(size_t m = first; m < out->n_matched; m++) used[unit[out->control[m]]] = true;
    }
    free(order);
    free(used);
    free(rows);
    match_end(out);
    return KITH_OK;
}

void eval_match_free(eval_match *m) {
    free(m->treated);
    free(m->control);
    m->treated = m->control = NULL;
    m->n_matched = 0;
}

/* ---- balance ------------------------------------------------------------- */

static void balance_rows(const eval_data *d, const size_t *t, size_t nt, const size_t *c, size_t nc,
                         eval_balance_row *rows) {
    for(size_t j = 0; j < d->p; j++) {
        double vt, vc;
        mean_var(d->x + j, d->p, t, nt, &rows[j].mean_treated, &vt);
        mean_var(d->x + j, d->p, c, nc, &rows[j].mean_control, &vc);
        double sd = sqrt((vt + vc) / 2), diff = rows[j].mean_treated - rows[j].mean_control;
        rows[j].smd = sd > 0 ? diff / sd : 0;
    }
}

kith_rc eval_balance(const eval_data *d, const eval_match *m, eval_balance_row *before, eval_balance_row *after) {
    size_t nt, *t = NULL, *c = NULL;
    kith_rc rc = KITH_OK;
    split_groups(d->treated, d->n, &t, &nt, &c);
    if(!nt || nt == d->n || (m && !m->n_matched)) {
        rc = KITH_EINVAL;
        goto done;
    }
    if(before) balance_rows(d, t, nt, c, d->n - nt, before);
    if(m && after) balance_rows(d, m->treated, m->n_matched, m->control, m->n_matched, after);
done:
    free(t);
    free(c);
    return rc;
}

/* ---- the bootstrap ------------------------------------------------------- */

static int double_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Summarise b replicates v[0..b) (reordered here) around value: SD as the SE
 * and the 2.5th and 97.5th percentiles, interpolated. NaNs are dropped. */
static eval_estimate summarise(double value, double *v, int b) {
    eval_estimate e = {.value = value, .se = NAN, .lo = NAN, .hi = NAN};
    int k = 0;
    for(int i = 0; i < b; i++)
        if(!isnan(v[i])) v[k++] = v[i];
    if(k < 2) return e;
    qsort(v, k, sizeof *v, double_cmp);
    double s = 0, ss = 0;
    for(int i = 0; i < k; i++) s += v[i];
    for(int i = 0; i < k; i++) ss += (v[i] - s / k) * (v[i] - s / k);
    e.se = sqrt(ss / (k - 1));
    double q[2] = {0.025, 0.975}, *out[2] = {&e.lo, &e.hi};
    for(int w = 0; w < 2; w++) {
        double h = q[w] * (k - 1);
        int f = (int)h;
        *out[w] = f + 1 < k ? v[f] + (h - f) * (v[f + 1] - v[f]) : v[k - 1];
    }
    return e;
}

/* Means of the m columns of v (pairs rows) over the pairs (means[m]), and
 * over each of boot.b resamples of the pairs (reps[b * m], row per resample). */
static void boot_means(const double *v, size_t pairs, size_t m, eval_boot boot, double *means, double *reps) {
    synth_rng rng;
    synth_rng_seed(&rng, boot.seed, 0x65766131); /* "eva1": a stream of evaluation's own */
    memset(means, 0, m * sizeof *means);
    for(size_t i = 0; i < pairs; i++)
        for(size_t j = 0; j < m; j++) means[j] += v[i * m + j] / pairs;
    memset(reps, 0, (size_t)boot.b * m * sizeof *reps);
    for(int r = 0; r < boot.b; r++) {
        double *row = reps + (size_t)r * m;
        for(size_t i = 0; i < pairs; i++) {
            size_t pick = (size_t)(synth_rng_uniform(&rng) * pairs);
            for(size_t j = 0; j < m; j++) row[j] += v[pick * m + j];
        }
        for(size_t j = 0; j < m; j++) row[j] /= pairs;
    }
}

/* Column j of b rows of m into col[b]. */
static void column(const double *reps, int b, size_t m, size_t j, double *col) {
    for(int r = 0; r < b; r++) col[r] = reps[(size_t)r * m + j];
}

static kith_rc boot_check(const eval_match *m, eval_boot *boot) {
    if(!m->n_matched || boot->b < 0 || boot->b > EVAL_BOOT_MAX) return KITH_EINVAL;
    if(!boot->b) boot->b = EVAL_BOOT_DEFAULT;
    return KITH_OK;
}

/* ---- difference-in-differences --------------------------------------------- */

static double relative(double effect, double after_treated) {
    double counterfactual = after_treated - effect;
    return counterfactual > 0 ? effect / counterfactual : NAN;
}

kith_rc eval_did_run(const eval_match *m, const double *before, const double *after, eval_boot boot, eval_did *out) {
    enum { DIFF, AFTER_T, BEFORE_T, BEFORE_C, AFTER_C, COLS };
    memset(out, 0, sizeof *out);
    kith_rc rc = boot_check(m, &boot);
    if(rc) return rc;
    size_t pairs = m->n_matched;
    double *v = xmalloc(pairs * COLS * sizeof *v), means[COLS];
    double *reps = xmalloc((size_t)boot.b * COLS * sizeof *reps), *col = xmalloc((size_t)boot.b * sizeof *col);
    for(size_t i = 0; i < pairs; i++) {
        size_t t = m->treated[i], c = m->control[i];
        double *row = v + i * COLS;
        row[DIFF] = (after[t] - before[t]) - (after[c] - before[c]);
        row[AFTER_T] = after[t];
        row[BEFORE_T] = before[t];
        row[BEFORE_C] = before[c];
        row[AFTER_C] = after[c];
    }
    boot_means(v, pairs, COLS, boot, means, reps);
    out->pairs = pairs;
    out->before_treated = means[BEFORE_T];
    out->after_treated = means[AFTER_T];
    out->before_control = means[BEFORE_C];
    out->after_control = means[AFTER_C];
    column(reps, boot.b, COLS, DIFF, col);
    out->effect = summarise(means[DIFF], col, boot.b);
    for(int r = 0; r < boot.b; r++) col[r] = relative(reps[(size_t)r * COLS + DIFF], reps[(size_t)r * COLS + AFTER_T]);
    out->relative = summarise(relative(means[DIFF], means[AFTER_T]), col, boot.b);
    free(v);
    free(reps);
    free(col);
    return KITH_OK;
}

/* ---- event study --------------------------------------------------------- */

/* The two-sided 5% critical value of the standard normal for m tests at
 * once (Bonferroni): z with 2 * (1 - Phi(z)) = 0.05 / m, by bisection. */
static double bonferroni_z(size_t m) {
    double lo = 0, hi = 10, tail = 0.05 / (double)m;
    for(int i = 0; i < 80; i++) {
        double z = (lo + hi) / 2;
        if(erfc(z / sqrt(2.0)) > tail) lo = z;
        else hi = z;
    }
    return (lo + hi) / 2;
}

kith_rc eval_event_study_run(const eval_match *m, const double *y, size_t k_pre, size_t k_post, eval_boot boot,
                             eval_event_study *out) {
    memset(out, 0, sizeof *out);
    if(!k_pre || k_pre > EVAL_MAX_PERIODS || k_post > EVAL_MAX_PERIODS) return KITH_EINVAL;
    kith_rc rc = boot_check(m, &boot);
    if(rc) return rc;
    size_t pairs = m->n_matched, k = k_pre + k_post, ref = k_pre - 1;
    double *v = xmalloc(pairs * k * sizeof *v), *means = xmalloc(k * sizeof *means);
    double *reps = xmalloc((size_t)boot.b * k * sizeof *reps), *col = xmalloc((size_t)boot.b * sizeof *col);
    for(size_t i = 0; i < pairs; i++) {
        const double *yt = y + m->treated[i] * k, *yc = y + m->control[i] * k;
        for(size_t j = 0; j < k; j++) v[i * k + j] = (yt[j] - yc[j]) - (yt[ref] - yc[ref]);
    }
    boot_means(v, pairs, k, boot, means, reps);
    out->k_pre = k_pre;
    out->k_post = k_post;
    double crit = bonferroni_z(k_pre > 1 ? k_pre - 1 : 1);
    out->pretrend_ok = true;
    for(size_t j = 0; j < k; j++) {
        eval_period *p = &out->periods[j];
        p->period = (int)j - (int)k_pre;
        column(reps, boot.b, k, j, col);
        p->diff = summarise(means[j], col, boot.b);
        if(j >= ref) continue;
        if(p->diff.se > 0) out->pretrend_max_z = fmax(out->pretrend_max_z, fabs(p->diff.value) / p->diff.se);
        if(p->diff.se > 0 && fabs(p->diff.value) / p->diff.se > crit) out->pretrend_ok = false;
    }
    free(v);
    free(means);
    free(reps);
    free(col);
    return KITH_OK;
}
