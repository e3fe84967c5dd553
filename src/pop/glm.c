/*
 * glm.c — IRLS for logistic and complementary log-log regression, with a
 * ridge penalty, and the measures of a risk model (see glm.h).
 *
 * Each IRLS step forms the weighted information X'WX and score X'Wz over all
 * rows (split between GLM_THREADS threads, each with its own accumulators,
 * added at the end, so the result does not depend on timing), adds the
 * penalty to the diagonal, and solves by Cholesky factorisation. Standard
 * errors are the square roots of the diagonal of the inverse penalised
 * information at the estimate.
 */
#include "pop/glm.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

#define EPS 1e-12

double glm_eta(const glm_fit *f, const double *x, double offset) {
    double e = offset;
    for(size_t j = 0; j < f->p; j++) e += f->beta[j] * x[j];
    return e;
}

double glm_probability(glm_link link, double eta) {
    if(link == GLM_LOGIT) return 1.0 / (1.0 + exp(-eta));
    if(eta > 30) return 1.0;
    return -expm1(-exp(eta));
}

/* mu, d mu / d eta and the binomial log likelihood term for one row. */
static void row_terms(glm_link link, double eta, double y, double *mu, double *dmu, double *ll) {
    double m, d;
    if(link == GLM_LOGIT) {
        if(eta > 35) eta = 35;
        if(eta < -35) eta = -35;
        m = 1.0 / (1.0 + exp(-eta));
        d = m * (1.0 - m);
    } else {
        if(eta > 3.5) eta = 3.5; /* p = 1 - exp(-e^3.5) is 1 to 14 places */
        if(eta < -40) eta = -40;
        double h = exp(eta);
        m = -expm1(-h);
        d = h * exp(-h);
    }
    if(m < EPS) m = EPS;
    if(m > 1 - EPS) m = 1 - EPS;
    if(d < EPS * EPS) d = EPS * EPS;
    *mu = m;
    *dmu = d;
    *ll = y > 0.5 ? log(m) : log1p(-m);
}

typedef struct part {
    const glm_data *d;
    glm_link link;
    const double *beta;
    size_t lo, hi;
    double *info; /* p x p */
    double *score; /* p */
    double ll;
} part;

static void *accumulate(void *arg) {
    part *t = arg;
    const glm_data *d = t->d;
    size_t p = d->p;
    memset(t->info, 0, p * p * sizeof *t->info);
    memset(t->score, 0, p * sizeof *t->score);
    t->ll = 0;
    double *xw = xmalloc(p * sizeof *xw);
    for(size_t i = t->lo; i < t->hi; i++) {
        const double *x = d->x + i * p;
        double eta = d->offset ? d->offset[i] : 0;
        for(size_t j = 0; j < p; j++) eta += t->beta[j] * x[j];
        double mu, dmu, ll;
        row_terms(t->link, eta, d->y[i], &mu, &dmu, &ll);
        t->ll += ll;
        double w = dmu * dmu / (mu * (1 - mu));      /* IRLS weight */
        double r = (d->y[i] - mu) / (mu * (1 - mu)) * dmu; /* score contribution per unit of x */
        for(size_t j = 0; j < p; j++) {
            if(x[j] == 0) {
                xw[j] = 0;
                continue;
            }
            xw[j] = x[j] * w;
            t->score[j] += x[j] * r;
        }
        for(size_t j = 0; j < p; j++) {
            if(xw[j] == 0) continue;
            double *row = t->info + j * p;
            for(size_t k = 0; k <= j; k++) row[k] += xw[j] * x[k];
        }
    }
    free(xw);
    return NULL;
}

/* Information, score and log likelihood at beta, over all rows. */
static void information(const glm_data *d, glm_link link, const double *beta, double *info, double *score, double *ll) {
    size_t p = d->p;
    int nt = d->n >= 20000 ? GLM_THREADS : 1;
    part parts[GLM_THREADS];
    pthread_t th[GLM_THREADS];
    bool started[GLM_THREADS] = {false};
    for(int t = 0; t < nt; t++) {
        parts[t] = (part){.d = d, .link = link, .beta = beta, .lo = d->n * t / nt, .hi = d->n * (t + 1) / nt,
                          .info = xmalloc(p * p * sizeof(double)), .score = xmalloc(p * sizeof(double))};
        if(t > 0) started[t] = pthread_create(&th[t], NULL, accumulate, &parts[t]) == 0;
    }
    for(int t = 0; t < nt; t++) /* this thread takes the first part, and any a thread could not */
        if(!started[t]) accumulate(&parts[t]);
    for(int t = 0; t < nt; t++)
        if(started[t]) pthread_join(th[t], NULL);
    memset(info, 0, p * p * sizeof *info);
    memset(score, 0, p * sizeof *score);
    *ll = 0;
    for(int t = 0; t < nt; t++) {
        for(size_t j = 0; j < p * p; j++) info[j] += parts[t].info[j];
        for(size_t j = 0; j < p; j++) score[j] += parts[t].score[j];
        *ll += parts[t].ll;
        free(parts[t].info);
        free(parts[t].score);
    }
    for(size_t j = 0; j < p; j++) /* symmetric: fill the upper triangle */
        for(size_t k = j + 1; k < p; k++) info[j * p + k] = info[k * p + j];
}

/* Cholesky factor of the p x p symmetric matrix a (in place, lower); false if not positive definite. */
static bool cholesky(double *a, size_t p) {
    for(size_t j = 0; j < p; j++) {
        double s = a[j * p + j];
        for(size_t k = 0; k < j; k++) s -= a[j * p + k] * a[j * p + k];
        if(!(s > 1e-300)) return false;
        a[j * p + j] = sqrt(s);
        for(size_t i = j + 1; i < p; i++) {
            double t = a[i * p + j];
            for(size_t k = 0; k < j; k++) t -= a[i * p + k] * a[j * p + k];
            a[i * p + j] = t / a[j * p + j];
        }
    }
    return true;
}

/* Solve L L' x = b with the factor from cholesky (b overwritten by x). */
static void chol_solve(const double *l, size_t p, double *b) {
    for(size_t i = 0; i < p; i++) {
        double s = b[i];
        for(size_t k = 0; k < i; k++) s -= l[i * p + k] * b[k];
        b[i] = s / l[i * p + i];
    }
    for(size_t i = p; i-- > 0;) {
        double s = b[i];
        for(size_t k = i + 1; k < p; k++) s -= l[k * p + i] * b[k];
        b[i] = s / l[i * p + i];
    }
}

kith_rc glm_fit_run(const glm_data *d, glm_link link, double lambda, const bool *penalize, int max_iter, glm_fit *out) {
    memset(out, 0, sizeof *out);
    size_t p = d->p;
    if(d->n == 0 || p == 0 || p > GLM_MAX_COLS) return KITH_EINVAL;
    if(max_iter <= 0) max_iter = 50;
    double *beta = xcalloc(p, sizeof *beta), *info = xmalloc(p * p * sizeof *info), *score = xmalloc(p * sizeof *score);
    double ll = 0;
    kith_rc rc = KITH_OK;
    /* start at the overall rate (cloglog: as if every row had the mean exposure) */
    double ybar = 0;
    for(size_t i = 0; i < d->n; i++) ybar += d->y[i];
    ybar = (ybar + 0.5) / (d->n + 1.0);
    if(!penalize || !penalize[0]) {
        double off = 0;
        if(d->offset)
            for(size_t i = 0; i < d->n; i++) off += d->offset[i] / d->n;
        beta[0] = link == GLM_LOGIT ? log(ybar / (1 - ybar)) : log(-log1p(-ybar)) - off;
    }
    /* the penalty on each column: lambda times its variance (1 if it never varies) */
    double *pen = xcalloc(p, sizeof *pen);
    for(size_t j = 0; j < p; j++) {
        if(penalize ? !penalize[j] : j == 0) continue;
        double sum = 0, sq = 0;
        for(size_t i = 0; i < d->n; i++) {
            double v = d->x[i * p + j];
            sum += v;
            sq += v * v;
        }
        double var = sq / d->n - (sum / d->n) * (sum / d->n);
        pen[j] = lambda * (var > 1e-12 ? var : 1.0);
    }
    int it;
    bool converged = false;
    for(it = 1; it <= max_iter; it++) {
        information(d, link, beta, info, score, &ll);
        /* Newton step on the penalised likelihood: (I + lambda P) step = score - lambda P beta */
        for(size_t j = 0; j < p; j++) {
            info[j * p + j] += pen[j];
            score[j] -= pen[j] * beta[j];
        }
        if(!cholesky(info, p)) {
            rc = KITH_EINVAL;
            break;
        }
        chol_solve(info, p, score);
        double most = 0;
        for(size_t j = 0; j < p; j++) {
            double step = score[j];
            if(step > 5) step = 5; /* damp wild first steps */
            if(step < -5) step = -5;
            beta[j] += step;
            if(fabs(step) > most) most = fabs(step);
        }
        if(most < 1e-8) {
            converged = true;
            break;
        }
    }
    if(!rc) {
        /* standard errors at the estimate */
        information(d, link, beta, info, score, &ll);
        for(size_t j = 0; j < p; j++) info[j * p + j] += pen[j];
        if(!cholesky(info, p)) rc = KITH_EINVAL;
    }
    free(pen);
    if(rc) {
        free(beta);
        free(info);
        free(score);
        return rc;
    }
    double *se = xmalloc(p * sizeof *se);
    for(size_t j = 0; j < p; j++) {
        memset(score, 0, p * sizeof *score);
        score[j] = 1;
        chol_solve(info, p, score);
        se[j] = sqrt(score[j]);
    }
    free(info);
    free(score);
    out->p = p;
    out->beta = beta;
    out->se = se;
    out->iterations = it > max_iter ? max_iter : it;
    out->converged = converged;
    out->deviance = -2 * ll;
    return KITH_OK;
}

void glm_fit_free(glm_fit *f) {
    if(!f) return;
    free(f->beta);
    free(f->se);
    memset(f, 0, sizeof *f);
}

/* ---- measures ---------------------------------------------------------------- */

typedef struct scored {
    double s, y;
} scored;

static int by_score(const void *a, const void *b) {
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return x < y ? -1 : x > y;
}

double glm_auc(const double *score, const double *y, size_t n) {
    scored *v = xmalloc((n ? n : 1) * sizeof *v);
    double pos = 0;
    for(size_t i = 0; i < n; i++) {
        v[i] = (scored){score[i], y[i] > 0.5};
        pos += v[i].y;
    }
    double neg = n - pos;
    if(pos == 0 || neg == 0) {
        free(v);
        return NAN;
    }
    qsort(v, n, sizeof *v, by_score);
    /* Mann-Whitney: sum of the positives' ranks, ties given the mean rank */
    double ranks = 0;
    for(size_t i = 0; i < n;) {
        size_t j = i;
        double p = 0;
        while(j < n && v[j].s == v[i].s) p += v[j++].y;
        ranks += p * ((double)(i + 1) + (double)j) / 2;
        i = j;
    }
    free(v);
    return (ranks - pos * (pos + 1) / 2) / (pos * neg);
}

double glm_brier(const double *prob, const double *y, size_t n) {
    double s = 0;
    for(size_t i = 0; i < n; i++) s += (prob[i] - y[i]) * (prob[i] - y[i]);
    return n ? s / n : NAN;
}

void glm_calibration(const double *prob, const double *y, size_t n, int groups, glm_calibration_row *rows) {
    scored *v = xmalloc((n ? n : 1) * sizeof *v);
    for(size_t i = 0; i < n; i++) v[i] = (scored){prob[i], y[i]};
    qsort(v, n, sizeof *v, by_score);
    for(int g = 0; g < groups; g++) {
        size_t lo = n * g / groups, hi = n * (g + 1) / groups;
        glm_calibration_row *r = &rows[g];
        memset(r, 0, sizeof *r);
        r->n = hi - lo;
        if(!r->n) continue;
        r->lo = v[lo].s;
        r->hi = v[hi - 1].s;
        for(size_t i = lo; i < hi; i++) {
            r->predicted += v[i].s;
            r->observed += v[i].y;
        }
        r->predicted /= r->n;
        r->observed /= r->n;
    }
    free(v);
}
