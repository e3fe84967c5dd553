/*
 * glm.h — binary regression for population health: fitting a logistic or
 * complementary log-log model by iteratively reweighted least squares
 * (IRLS) with a small ridge (L2) penalty, and the figures that judge a risk
 * model: the area under the ROC curve, the Brier score and a calibration
 * table by group of predicted risk.
 *
 * Data are n rows of p covariates (row-major doubles, the caller's), a 0/1
 * outcome, and optionally an offset per row (cloglog with log exposure
 * time). A fit owns its arrays (glm_fit_free). Fitting uses up to
 * GLM_THREADS threads for the weighted cross-products; everything else is
 * single-threaded and reentrant.
 */
#ifndef KITH_POP_GLM_H
#define KITH_POP_GLM_H
#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"

#define GLM_THREADS 2
#define GLM_MAX_COLS 64

typedef enum glm_link {
    GLM_LOGIT,  /* log(p / (1 - p)) = x.b: odds ratios */
    GLM_CLOGLOG /* log(-log(1 - p)) = x.b + offset: for p = 1 - exp(-h t), b are log-hazard ratios */
} glm_link;

typedef struct glm_data {
    size_t n, p;
    const double *x;      /* n rows of p covariates */
    const double *y;      /* n outcomes, 0 or 1 */
    const double *offset; /* n offsets, or NULL */
} glm_data;

typedef struct glm_fit {
    size_t p;
    double *beta; /* p estimates */
    double *se;   /* p standard errors, from the inverse of the penalised information */
    int iterations;
    bool converged;
    double deviance; /* -2 log likelihood at the estimate */
} glm_fit;

/*
 * Fit by IRLS: at most max_iter steps (0: 50), stopping when no estimate
 * moves by more than 1e-8. The penalty adds lambda * v_j * b_j^2 / 2 to
 * minus the log likelihood for every column j with penalize[j] (NULL: every
 * column but the first, taken as the intercept), where v_j is the column's
 * variance (1 for a column that never varies): a ridge on standardised
 * coefficients, so that lambda means the same whatever a covariate's units.
 * KITH_EINVAL for no rows, too many columns or a singular information
 * matrix (a covariate that never varies, with lambda 0). Caller frees out
 * with glm_fit_free.
 */
kith_rc glm_fit_run(const glm_data *d, glm_link link, double lambda, const bool *penalize, int max_iter, glm_fit *out);
void glm_fit_free(glm_fit *f);

/* The linear predictor x.b (+ offset) and the probability it gives. */
double glm_eta(const glm_fit *f, const double *x, double offset);
double glm_probability(glm_link link, double eta);

/* Area under the ROC curve of scores against 0/1 outcomes: the chance that
 * a random positive scores above a random negative, ties counting half.
 * NaN when either class is empty. O(n log n). */
double glm_auc(const double *score, const double *y, size_t n);
/* Mean squared difference between probabilities and outcomes. */
double glm_brier(const double *prob, const double *y, size_t n);

/* One group of a calibration table. */
typedef struct glm_calibration_row {
    size_t n;
    double lo, hi;       /* the predicted risks in the group */
    double predicted;    /* mean predicted risk */
    double observed;     /* share with the outcome */
} glm_calibration_row;
/* Sort by predicted risk and cut into `groups` groups of (nearly) equal size
 * (deciles for 10); rows[] gets one per group. */
void glm_calibration(const double *prob, const double *y, size_t n, int groups, glm_calibration_row *rows);

#endif
