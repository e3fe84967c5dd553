/*
 * evaluate.h — the statistics core of `kith evaluate` (issue 8): did a
 * service change what happened to the people it reached? Pure functions over
 * the caller's arrays; no store, no CLI (docs/evaluation.md).
 *
 *   1. eval_propensity: the propensity score, a logistic regression of
 *      treatment on covariates (fitted by src/pop/glm's IRLS), as its logit.
 *   2. eval_match_run: 1:1 greedy nearest-neighbour matching on that logit,
 *      without replacement, within a caliper of 0.2 SD of the logit.
 *   3. eval_balance: standardised mean differences before and after matching.
 *   4. eval_did_run: difference-in-differences over the matched pairs, with a
 *      seeded percentile bootstrap over pairs.
 *   5. eval_event_study_run: per-period differences and a pre-trend check.
 *
 * Everything is single-threaded, deterministic for a given seed and
 * reentrant. Results that hold arrays own them (the matching *_free).
 */
#ifndef KITH_EVAL_EVALUATE_H
#define KITH_EVAL_EVALUATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

#define EVAL_CALIPER_SD 0.2   /* caliper in SDs of the logit (Austin 2011) */
#define EVAL_SMD_BALANCED 0.1 /* |SMD| below this counts as balanced (Austin 2009) */
#define EVAL_BOOT_DEFAULT 1000
#define EVAL_BOOT_MAX 100000
#define EVAL_MAX_COVARIATES 63 /* GLM_MAX_COLS less the intercept */
#define EVAL_MAX_PERIODS 120

/* n people: p covariates each (row-major, no intercept column) and whether
 * they were treated (reached by the service). All borrowed. */
typedef struct eval_data {
    size_t n, p;
    const double *x;      /* n rows of p covariates */
    const bool *treated;  /* n flags */
} eval_data;

/*
 * The logit of each person's propensity score into logit[n] (the caller's).
 * The model has an intercept and the p covariates, with a very small ridge
 * so that a covariate that nearly separates the groups still gives finite
 * scores. KITH_EINVAL for no people, too many covariates, a group that is
 * empty, or a model that cannot be fitted.
 */
kith_rc eval_propensity(const eval_data *d, double *logit);

/* Treated person treated[i] matched with control control[i], i < n_matched. */
typedef struct eval_match {
    size_t n_treated, n_control; /* in the whole population */
    size_t n_matched;            /* treated people who found a control */
    size_t *treated, *control;   /* n_matched person indices each */
    double caliper;              /* on the logit scale */
} eval_match;

/*
 * Match each treated person, in index order, with the unmatched control
 * nearest on the logit, if within caliper_sd (0: EVAL_CALIPER_SD) times the
 * pooled SD of the logit, sqrt((var_treated + var_control) / 2). A tie in
 * distance goes to the control with the lower index, so the result depends
 * only on the data. KITH_EINVAL for no treated or no controls. Caller frees
 * out with eval_match_free (also safe after a failure).
 */
kith_rc eval_match_run(const double *logit, const bool *treated, size_t n, double caliper_sd, eval_match *out);
/*
 * Risk-set matching: as eval_match_run (the caliper from the pooled SD over
 * all n rows), but a treated row takes only a control row of the same
 * stratum (e.g. the month of the index date). Without replacement a unit
 * (a person, who may have a row in several strata) is a control at most
 * once; with replacement each treated row takes its nearest control row
 * whether or not it was taken before (better matches when controls are
 * scarce, at some cost in precision). Strata are matched in increasing
 * order, rows within one in index order.
 */
kith_rc eval_match_strata(const double *logit, const bool *treated, const int32_t *stratum, const uint32_t *unit,
                          size_t n, double caliper_sd, bool replace, eval_match *out);
void eval_match_free(eval_match *m);

/* One covariate's balance between the groups. */
typedef struct eval_balance_row {
    double mean_treated, mean_control;
    double smd; /* (mean_t - mean_c) / sqrt((var_t + var_c) / 2); 0 when both variances are 0 */
} eval_balance_row;

/* Balance of each covariate over everyone (before[p]) and over the matched
 * pairs (after[p]); both arrays the caller's, either may be NULL (m may be
 * NULL when after is). KITH_EINVAL if a group is empty. */
kith_rc eval_balance(const eval_data *d, const eval_match *m, eval_balance_row *before, eval_balance_row *after);

/* An estimate with its bootstrap SE and 95% percentile interval. */
typedef struct eval_estimate {
    double value, se, lo, hi;
} eval_estimate;

/* The bootstrap: B resamples of the matched pairs (0: EVAL_BOOT_DEFAULT) drawn
 * from a generator seeded with seed. */
typedef struct eval_boot {
    int b;
    uint64_t seed;
} eval_boot;

typedef struct eval_did {
    size_t pairs;
    double before_treated, after_treated;   /* mean outcome of the treated */
    double before_control, after_control;   /* and of their matched controls */
    eval_estimate effect;   /* (after - before) treated - (after - before) controls */
    eval_estimate relative; /* effect / (after_treated - effect): against the counterfactual */
} eval_did;

/*
 * Difference-in-differences over the pairs of m, with before[n] and after[n]
 * the outcome of each person in the windows before and after the index date.
 * The relative effect is NaN when the counterfactual is not positive.
 * KITH_EINVAL for no pairs or a B over EVAL_BOOT_MAX.
 */
kith_rc eval_did_run(const eval_match *m, const double *before, const double *after, eval_boot boot, eval_did *out);

/* One period of an event study. */
typedef struct eval_period {
    int period;          /* -k_pre .. -1, then 0 .. k_post - 1 */
    eval_estimate diff;  /* treated - control, less the same at period -1 */
} eval_period;

typedef struct eval_event_study {
    size_t k_pre, k_post;
    eval_period periods[2 * EVAL_MAX_PERIODS]; /* k_pre + k_post */
    double pretrend_max_z; /* max |diff| / SE over pre-periods but the reference (0 if none) */
    bool pretrend_ok;      /* no pre-period's |diff| / SE exceeds the 5% two-sided critical value
                              corrected for the k_pre - 1 periods tested (Bonferroni: 1.96 for
                              one, 2.39 for three) */
} eval_event_study;

/*
 * An event study over the pairs of m: y holds n rows of k_pre + k_post
 * per-period outcomes (pre-periods first, oldest first). Each period's
 * difference treated - control is taken relative to the same difference in
 * the last pre-period (period -1, the reference, which is 0 by
 * construction), so that a stable gap in level does not count as a trend.
 * KITH_EINVAL for no pairs, k_pre 0, or periods over EVAL_MAX_PERIODS.
 */
kith_rc eval_event_study_run(const eval_match *m, const double *y, size_t k_pre, size_t k_post, eval_boot boot,
                             eval_event_study *out);

#endif
