/* test_evaluate.c — src/eval/evaluate.c: matching worked by hand (ties and
 * the caliper), then people simulated here with a known effect of a service
 * on emergency admissions: the matched difference-in-differences finds it
 * (random and confounded treatment), finds none where there is none,
 * balances the covariates, repeats itself for a seed, and the event study
 * sees no pre-trend where none was put in. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "eval/evaluate.h"
#include "synth/rng.h"

#define N 3000
#define P 2 /* age in years, female */
#define K_PRE 4
#define K_POST 4

typedef struct sim {
    double x[N * P];
    bool treated[N];
    double before[N], after[N];
    double y[N * (K_PRE + K_POST)]; /* per-period admissions */
} sim;

/* Ages 50 to 95; u = (age - 50) / 45. Admissions ~ Poisson(1 + 0.5u) before,
 * and after Poisson(1.1 + 0.5u + 1.5u + effect if treated): older people get
 * worse faster. Treatment is random (30%) or, if confounded, more likely with
 * age (logit -2 + 3u). The per-period series has no trend before the index
 * date and the effect / K_POST per period after. */
static void simulate(sim *s, uint64_t seed, bool confounded, double effect) {
    synth_rng r;
    synth_rng_seed(&r, seed, 1);
    for(size_t i = 0; i < N; i++) {
        double u = synth_rng_uniform(&r), mu = 1 + 0.5 * u;
        s->x[i * P] = 50 + 45 * u;
        s->x[i * P + 1] = synth_rng_chance(&r, 0.5);
        double pt = confounded ? 1 / (1 + exp(-(-2 + 3 * u))) : 0.3;
        s->treated[i] = synth_rng_chance(&r, pt);
        double fx = s->treated[i] ? effect : 0;
        s->before[i] = synth_rng_poisson(&r, mu);
        s->after[i] = synth_rng_poisson(&r, 1.1 + mu + 1.5 * u + fx);
        for(size_t k = 0; k < K_PRE + K_POST; k++)
            s->y[i * (K_PRE + K_POST) + k] = synth_rng_poisson(&r, mu / K_PRE + (k >= K_PRE ? fx / K_POST : 0));
    }
}

/* Simulate into s, then propensity, matching and DiD over it. */
static void evaluate(sim *s, uint64_t seed, bool confounded, double effect, eval_boot boot, eval_match *m,
                     eval_did *did) {
    static double logit[N];
    simulate(s, seed, confounded, effect);
    eval_data d = {.n = N, .p = P, .x = s->x, .treated = s->treated};
    cr_assert_eq(eval_propensity(&d, logit), KITH_OK);
    cr_assert_eq(eval_match_run(logit, s->treated, N, 0, m), KITH_OK);
    cr_assert_gt(m->n_matched, m->n_treated * 3 / 4, "matched %zu of %zu", m->n_matched, m->n_treated);
    cr_assert_eq(eval_did_run(m, s->before, s->after, boot, did), KITH_OK);
}

static bool contains(eval_estimate e, double v) {
    return e.lo <= v && v <= e.hi;
}

Test(evaluate, match_ties_and_caliper) {
    /* treated 0, 3, 5; controls 1 (-0.1), 2 (+0.1), 4 (10) */
    double logit[] = {0, -0.1, 0.1, 0, 10, 5};
    bool treated[] = {1, 0, 0, 1, 0, 1};
    eval_match m;
    cr_assert_eq(eval_match_run(logit, treated, 6, 0, &m), KITH_OK);
    cr_assert_eq(m.n_treated, 3);
    cr_assert_eq(m.n_control, 3);
    cr_assert_eq(m.n_matched, 2, "5 is 5 away from 10, beyond the caliper %g", m.caliper);
    cr_assert_eq(m.treated[0], 0);
    cr_assert_eq(m.control[0], 1, "an even tie goes to the lower index");
    cr_assert_eq(m.treated[1], 3);
    cr_assert_eq(m.control[1], 2, "without replacement");
    eval_match_free(&m);
    bool none[] = {0, 0, 0, 0, 0, 0};
    cr_assert_eq(eval_match_run(logit, none, 6, 0, &m), KITH_EINVAL);
    eval_match_free(&m);
}

Test(evaluate, random_treatment_finds_effect) {
    static sim s;
    eval_match m;
    eval_did did;
    evaluate(&s, 11, false, -0.3, (eval_boot){.b = 400, .seed = 7}, &m, &did);
    cr_assert(contains(did.effect, -0.3), "effect %g [%g, %g]", did.effect.value, did.effect.lo, did.effect.hi);
    cr_assert_lt(did.effect.hi, 0, "CI excludes 0: [%g, %g]", did.effect.lo, did.effect.hi);
    cr_assert_lt(did.relative.value, 0);
    cr_assert(contains(did.relative, did.relative.value));
    cr_assert_lt(fabs(did.effect.se - 0.09), 0.04, "SE %g", did.effect.se);
    eval_match_free(&m);
}

Test(evaluate, no_effect_ci_contains_zero) {
    static sim s;
    eval_match m;
    eval_did did;
    evaluate(&s, 12, false, 0, (eval_boot){.b = 400, .seed = 7}, &m, &did);
    cr_assert(contains(did.effect, 0), "effect %g [%g, %g]", did.effect.value, did.effect.lo, did.effect.hi);
    eval_match_free(&m);
}

Test(evaluate, confounded_treatment_matched_recovers_effect) {
    static sim s;
    eval_match m;
    eval_did did;
    evaluate(&s, 13, true, -0.3, (eval_boot){.b = 400, .seed = 7}, &m, &did);
    /* Naive DiD over everyone: the treated are older and worsen faster. */
    double ct = 0, cc = 0;
    size_t nt = 0;
    for(size_t i = 0; i < N; i++) {
        if(s.treated[i]) ct += s.after[i] - s.before[i], nt++;
        else cc += s.after[i] - s.before[i];
    }
    double naive = ct / nt - cc / (N - nt);
    cr_assert_gt(naive, -0.3 + 0.15, "naive %g should be biased towards 0", naive);
    cr_assert(contains(did.effect, -0.3), "effect %g [%g, %g]", did.effect.value, did.effect.lo, did.effect.hi);
    cr_assert(!contains(did.effect, naive), "naive %g outside [%g, %g]", naive, did.effect.lo, did.effect.hi);

    /* (d) balance: age badly off before, everything balanced after */
    eval_balance_row before[P], after[P];
    eval_data d = {.n = N, .p = P, .x = s.x, .treated = s.treated};
    cr_assert_eq(eval_balance(&d, &m, before, after), KITH_OK);
    cr_assert_gt(fabs(before[0].smd), 0.3, "age SMD before %g", before[0].smd);
    cr_assert_gt(before[0].mean_treated, before[0].mean_control);
    for(size_t j = 0; j < P; j++)
        cr_assert_lt(fabs(after[j].smd), EVAL_SMD_BALANCED, "covariate %zu SMD after %g", j, after[j].smd);
    eval_match_free(&m);
}

Test(evaluate, same_seed_same_ci) {
    static sim s;
    eval_match m1, m2, m3;
    eval_did a, b, c;
    evaluate(&s, 14, false, -0.3, (eval_boot){.b = 0, .seed = 99}, &m1, &a); /* B defaults to 1000 */
    evaluate(&s, 14, false, -0.3, (eval_boot){.b = 0, .seed = 99}, &m2, &b);
    evaluate(&s, 14, false, -0.3, (eval_boot){.b = 0, .seed = 100}, &m3, &c);
    cr_assert_eq(a.effect.lo, b.effect.lo);
    cr_assert_eq(a.effect.hi, b.effect.hi);
    cr_assert_eq(a.relative.lo, b.relative.lo);
    cr_assert(a.effect.lo != c.effect.lo || a.effect.hi != c.effect.hi, "another seed, another resample");
    cr_assert_eq(a.effect.value, c.effect.value);
    eval_match_free(&m1);
    eval_match_free(&m2);
    eval_match_free(&m3);
}

Test(evaluate, event_study_no_pretrend) {
    static sim s;
    eval_match m;
    eval_did did;
    evaluate(&s, 15, false, -0.3, (eval_boot){.b = 50, .seed = 1}, &m, &did);
    static eval_event_study es;
    cr_assert_eq(eval_event_study_run(&m, s.y, K_PRE, K_POST, (eval_boot){.b = 400, .seed = 3}, &es), KITH_OK);
    cr_assert_eq(es.periods[0].period, -K_PRE);
    cr_assert_eq(es.periods[K_PRE].period, 0);
    cr_assert_eq(es.periods[K_PRE - 1].diff.value, 0, "the reference period");
    cr_assert(es.pretrend_ok);
    cr_assert_lt(es.pretrend_max_z, 2.5, "max z %g", es.pretrend_max_z);
    for(size_t k = K_PRE; k < K_PRE + K_POST; k++)
        cr_assert(contains(es.periods[k].diff, -0.3 / K_POST), "period %d: %g [%g, %g]", es.periods[k].period,
                  es.periods[k].diff.value, es.periods[k].diff.lo, es.periods[k].diff.hi);
    cr_assert_eq(eval_event_study_run(&m, s.y, 0, K_POST, (eval_boot){0}, &es), KITH_EINVAL);
    eval_match_free(&m);
}
