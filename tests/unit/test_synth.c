/*
 * test_synth.c — src/synth/rng.c (the synthetic place's random numbers) and
 * the NHS number check digit the generator relies on (src/base/nhs_number.c).
 *
 * The generator's promise is "same seed, same place": a stream must replay
 * exactly, and distinct streams must not. The distributions are checked with
 * fixed seeds over 100,000 draws against tolerances of several standard
 * errors, so they are deterministic and fail only when a distribution is
 * wrong. The NHS number checks pin known valid numbers, bases whose check
 * works out as 10, and the size of the 999 test range the generator draws from;
 * and that every number the generator issues is one nhs_number_parse accepts.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/nhs_number.h"
#include "synth/rng.h"
#include "synth/synth.h"
#include "synth/synth_int.h"

#define DRAWS 100000

Test(synth_rng, same_seed_and_stream_replay) {
    synth_rng a, b;
    synth_rng_seed(&a, 42, 7);
    synth_rng_seed(&b, 42, 7);
    for(int i = 0; i < 1000; i++) cr_assert_eq(synth_rng_next(&a), synth_rng_next(&b), "draw %d", i);
}

/* How many of the first 64 draws of two streams coincide. */
static int same_draws(uint64_t seed1, uint64_t stream1, uint64_t seed2, uint64_t stream2) {
    synth_rng a, b;
    synth_rng_seed(&a, seed1, stream1);
    synth_rng_seed(&b, seed2, stream2);
    int same = 0;
    for(int i = 0; i < 64; i++) same += synth_rng_next(&a) == synth_rng_next(&b);
    return same;
}

Test(synth_rng, streams_and_seeds_differ) {
    for(uint64_t s = 0; s < 50; s++) {
        cr_assert_eq(same_draws(1, s, 1, s + 1), 0, "streams %llu and %llu", (unsigned long long)s,
                     (unsigned long long)s + 1);
        cr_assert_eq(same_draws(s, 3, s + 1, 3), 0, "seeds %llu and %llu", (unsigned long long)s,
                     (unsigned long long)s + 1);
    }
    /* seed 0, stream 0 is not a degenerate all-zero state */
    synth_rng r;
    synth_rng_seed(&r, 0, 0);
    cr_assert(r.s[0] | r.s[1] | r.s[2] | r.s[3]);
    cr_assert_neq(synth_rng_next(&r), synth_rng_next(&r));
}

Test(synth_rng, uniform_is_in_unit_interval) {
    synth_rng r;
    synth_rng_seed(&r, 9, 1);
    double sum = 0;
    for(int i = 0; i < DRAWS; i++) {
        double u = synth_rng_uniform(&r);
        cr_assert(u >= 0.0 && u < 1.0, "%g", u);
        sum += u;
    }
    cr_assert(fabs(sum / DRAWS - 0.5) < 0.005, "mean %g", sum / DRAWS); /* SE 0.0009 */
}

Test(synth_rng, below_stays_below_n) {
    static const uint32_t N[] = {1, 2, 3, 7, 10, 365, 1000, 65537, 1000000, UINT32_MAX};
    synth_rng r;
    synth_rng_seed(&r, 5, 2);
    for(size_t k = 0; k < sizeof N / sizeof *N; k++) {
        uint32_t top = 0;
        for(int i = 0; i < 20000; i++) {
            uint32_t x = synth_rng_below(&r, N[k]);
            cr_assert_lt(x, N[k], "below(%u) gave %u", N[k], x);
            if(x > top) top = x;
        }
        if(N[k] <= 1000) cr_assert_eq(top, N[k] - 1, "below(%u) never reached %u", N[k], N[k] - 1);
    }
}

Test(synth_rng, below_is_roughly_uniform) {
    enum { N = 10 };
    unsigned count[N] = {0};
    synth_rng r;
    synth_rng_seed(&r, 11, 4);
    for(int i = 0; i < DRAWS; i++) count[synth_rng_below(&r, N)]++;
    /* chi-square with 9 degrees of freedom: 33.7 is the 0.01% point */
    double expect = (double)DRAWS / N, chi2 = 0;
    for(int i = 0; i < N; i++) chi2 += (count[i] - expect) * (count[i] - expect) / expect;
    cr_assert_lt(chi2, 33.7, "chi-square %g", chi2);
}

/* Mean and variance of DRAWS Poisson draws with the given mean. */
static void poisson_moments(double lambda, double *mean, double *var) {
    synth_rng r;
    synth_rng_seed(&r, 1234, (uint64_t)(lambda * 1000));
    double s = 0, s2 = 0;
    for(int i = 0; i < DRAWS; i++) {
        double k = synth_rng_poisson(&r, lambda);
        s += k;
        s2 += k * k;
    }
    *mean = s / DRAWS;
    *var = s2 / DRAWS - *mean * *mean;
}

Test(synth_rng, poisson_mean_and_variance) {
    /* lambda, tolerance on the mean and on the variance (about 8 standard errors each) */
    static const double CASES[][3] = {{0.5, 0.02, 0.03}, {4.0, 0.05, 0.16}, {50.0, 0.2, 2.5}};
    for(size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        double lambda = CASES[i][0], mean, var;
        poisson_moments(lambda, &mean, &var);
        cr_assert(fabs(mean - lambda) < CASES[i][1], "Poisson(%g): mean %g", lambda, mean);
        cr_assert(fabs(var - lambda) < CASES[i][2], "Poisson(%g): variance %g", lambda, var);
    }
    synth_rng r;
    synth_rng_seed(&r, 1, 1);
    cr_assert_eq(synth_rng_poisson(&r, 0), 0u);
    cr_assert_eq(synth_rng_poisson(&r, -1), 0u);
}

Test(synth_rng, weighted_follows_the_weights) {
    static const double W[] = {1, 0, 2, 3, 4, 0};
    size_t n = sizeof W / sizeof *W;
    unsigned count[6] = {0};
    synth_rng r;
    synth_rng_seed(&r, 77, 0);
    for(int i = 0; i < DRAWS; i++) {
        size_t k = synth_rng_weighted(&r, W, n);
        cr_assert_lt(k, n);
        count[k]++;
    }
    for(size_t k = 0; k < n; k++) {
        double want = W[k] / 10.0, got = (double)count[k] / DRAWS;
        if(W[k] == 0) cr_assert_eq(count[k], 0u, "weight 0 at %zu drawn %u times", k, count[k]);
        else cr_assert(fabs(got - want) < 0.01, "index %zu: %g, want %g", k, got, want); /* SE <= 0.0016 */
    }
}

Test(synth_rng, chance_normal_and_exponential) {
    synth_rng r;
    synth_rng_seed(&r, 3, 3);
    int hits = 0;
    double s = 0, s2 = 0, e = 0;
    for(int i = 0; i < DRAWS; i++) {
        hits += synth_rng_chance(&r, 0.15);
        double z = synth_rng_normal(&r);
        s += z;
        s2 += z * z;
        double x = synth_rng_exponential(&r, 2.0);
        cr_assert(x >= 0);
        e += x;
    }
    cr_assert(fabs((double)hits / DRAWS - 0.15) < 0.01, "chance(0.15): %g", (double)hits / DRAWS);
    cr_assert(fabs(s / DRAWS) < 0.03, "normal mean %g", s / DRAWS);
    cr_assert(fabs(s2 / DRAWS - 1.0) < 0.04, "normal variance %g", s2 / DRAWS);
    cr_assert(fabs(e / DRAWS - 0.5) < 0.015, "exponential(2) mean %g", e / DRAWS);
    cr_assert_not(synth_rng_chance(&r, 0.0));
    cr_assert(synth_rng_chance(&r, 1.0));
}

Test(synth_nhs_number, known_valid_numbers) {
    static const char *const VALID[] = {"9434765919", "9000000009", "4010232137", "9990000018"};
    for(size_t i = 0; i < sizeof VALID / sizeof *VALID; i++) {
        cr_assert(nhs_number_valid(VALID[i]), "%s", VALID[i]);
        cr_assert_eq(nhs_number_check_digit(VALID[i]), VALID[i][9] - '0', "%s", VALID[i]);
    }
    cr_assert_eq(nhs_number_check_digit("000000000"), 0); /* 11 - 0 is 11: check digit 0 */
    cr_assert_eq(nhs_number_check_digit("12345678"), -1); /* eight digits */
    cr_assert_eq(nhs_number_check_digit("99900000A"), -1);
    cr_assert_eq(nhs_number_check_digit(NULL), -1);
}

Test(synth_nhs_number, remainder_ten_is_no_number) {
    /* weighted sums 1 mod 11: the check works out as 10, so no NHS number has these nine digits */
    static const char *const BASES[] = {"999000000", "999000014", "999000028", "943476503", "943476517"};
    char s[32];
    for(size_t i = 0; i < sizeof BASES / sizeof *BASES; i++) {
        cr_assert_eq(nhs_number_check_digit(BASES[i]), -1, "%s", BASES[i]);
        for(char d = '0'; d <= '9'; d++) {
            snprintf(s, sizeof s, "%s%c", BASES[i], d);
            cr_assert_not(nhs_number_valid(s), "%s", s);
        }
    }
}

Test(synth_nhs_number, test_range_size) {
    /* Every base in the 999 range has exactly one valid completion or none;
     * the generator's limit on people is the number of completions that
     * nhs_number_parse accepts: all but the placeholder 9999999999. */
    char s[32];
    long valid = 0, issuable = 0;
    for(long b = 999000000; b <= 999999999; b++) {
        snprintf(s, sizeof s, "%ld", b);
        int d = nhs_number_check_digit(s);
        if(d < 0) continue;
        valid++;
        snprintf(s, sizeof s, "%ld%d", b, d);
        nhs_number_problem problem = nhs_number_parse(s, NULL);
        if(problem == NHS_NUMBER_OK) issuable++;
        else cr_assert(problem == NHS_NUMBER_PLACEHOLDER && strcmp(s, "9999999999") == 0, "%s: problem %d", s,
                       (int)problem);
        if(b % 9973 == 0) { /* spot check: only digit d completes it */
            for(int k = 0; k < 10; k++) {
                snprintf(s, sizeof s, "%ld%d", b, k);
                cr_assert_eq(nhs_number_valid(s), k == d, "%s", s);
            }
        }
    }
    cr_assert_eq(valid, 909091, "the 999 range holds %ld numbers with a check digit", valid);
    cr_assert_eq(issuable, SYNTH_MAX_PEOPLE, "the 999 range holds %ld issuable NHS numbers; SYNTH_MAX_PEOPLE is %ld",
                 issuable, SYNTH_MAX_PEOPLE);
}

Test(synth_nhs_number, every_number_a_place_of_the_largest_size_issues_is_good) {
    /* The list person n's number comes from (person_make), for a place of
     * SYNTH_MAX_PEOPLE: every number is one nhs_number_parse accepts, from the
     * 999 range, and no two people share one. */
    static const uint64_t SEEDS[] = {1, 7}; /* seed 7 once issued 9999999999 to pat-181064 of 200,000 */
    char number[11];
    unsigned char *seen = calloc(1000000, 1);
    for(size_t k = 0; k < sizeof SEEDS / sizeof *SEEDS; k++) {
        long count = 0;
        uint32_t *v = synth_nhs_numbers(SEEDS[k], &count);
        cr_assert_eq(count, SYNTH_MAX_PEOPLE, "seed %llu: %ld numbers", (unsigned long long)SEEDS[k], count);
        memset(seen, 0, 1000000);
        for(long n = 0; n < count; n++) {
            synth_nhs_number(v[n], number);
            cr_assert_eq(nhs_number_parse(number, NULL), NHS_NUMBER_OK, "person %ld: %s", n, number);
            cr_assert(v[n] >= 999000000u && v[n] <= 999999999u, "person %ld: %s", n, number);
            cr_assert_eq(seen[v[n] - 999000000u]++, 0, "%s issued twice", number);
        }
        free(v);
    }
    free(seen);
}
