/* test_indicator.c — src/report/indicator.c: suppression, rates and intervals
 * checked against hand-worked and published values. */
#include <criterion/criterion.h>
#include <math.h>

#include "base/datetime.h"
#include "report/indicator.h"

#define EPS 1e-6
#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(indicator, esp2013_sums_to_100000) {
    double sum = 0;
    for(size_t i = 0; i < INDICATOR_ESP2013_BANDS; i++) sum += indicator_esp2013[i];
    cr_assert_float_eq(sum, 100000.0, EPS);
    cr_assert_float_eq(indicator_esp2013[0], 5000.0, EPS);  /* 0-4 */
    cr_assert_float_eq(indicator_esp2013[18], 1000.0, EPS); /* 90+ */
}

Test(indicator, primary_suppression_hides_1_to_7) {
    cr_assert(!indicator_count_hidden(0));
    cr_assert(indicator_count_hidden(1));
    cr_assert(indicator_count_hidden(7));
    cr_assert(!indicator_count_hidden(8));
    cr_assert(!indicator_count_hidden(-1));
}

/* Mark what the table hides as a string of 0/1 for compact comparisons. */
static void hidden_str(const int64_t *cells, size_t rows, size_t cols, char *out) {
    bool hidden[16];
    cr_assert_eq(indicator_suppress_table(cells, rows, cols, hidden), KITH_OK);
    for(size_t i = 0; i < rows * cols; i++) out[i] = hidden[i] ? '1' : '0';
    out[rows * cols] = '\0';
}

Test(indicator, secondary_suppression_in_one_group) {
    char s[17];
    /* 3 alone hidden: total 53 - 50 would give it back, so hide the next
     * smallest (12) too. */
    int64_t a[] = {3, 50, 12, 20};
    hidden_str(a, 1, N(a), s);
    cr_assert_str_eq(s, "1010");
    /* Two hidden already: nothing more. */
    int64_t b[] = {3, 50, 5, 20};
    hidden_str(b, 1, N(b), s);
    cr_assert_str_eq(s, "1010");
    /* Zeros are shown, and passed over for a non-zero cell. */
    int64_t c[] = {0, 4, 0, 9, 30};
    hidden_str(c, 1, N(c), s);
    cr_assert_str_eq(s, "01010");
    /* Only zeros left: hide a zero. */
    int64_t d[] = {0, 4};
    hidden_str(d, 1, N(d), s);
    cr_assert_str_eq(s, "11");
    /* Nothing small: nothing hidden. */
    int64_t e[] = {0, 8, 100};
    hidden_str(e, 1, N(e), s);
    cr_assert_str_eq(s, "000");
}

Test(indicator, secondary_suppression_in_a_table_repeats) {
    char s[17];
    /* 2x3:   2  40  9
     *       30  50 60
     * Row 0: 2 hidden, so 9 too. Column 0 then has one hidden (2): hide 30.
     * Column 2 has one hidden (9): hide 60. Row 1 then has 30 and 60 hidden:
     * fine. Every row and column now has 0 or >= 2 hidden. */
    int64_t t[] = {2, 40, 9, 30, 50, 60};
    hidden_str(t, 2, 3, s);
    cr_assert_str_eq(s, "101101");
}

Test(indicator, suppression_rejects_bad_input) {
    bool hidden[2] = {false, false};
    int64_t neg[] = {-1, 10};
    cr_assert_eq(indicator_suppress_table(neg, 1, 2, hidden), KITH_EINVAL);
    cr_assert_eq(indicator_suppress_table(neg, 0, 2, hidden), KITH_EINVAL);
    cr_assert_eq(indicator_suppress_table(neg, INDICATOR_MAX_CELLS, 2, hidden), KITH_EINVAL);
}

Test(indicator, byar_matches_exact_poisson_closely) {
    /* 10 events: exact Poisson 95% limits 4.795 .. 18.39 (Garwood);
     * Byar by hand 10(1 - 1/90 - 1.96/(3 sqrt 10))^3 = 4.7874,
     * 11(1 - 1/99 + 1.96/(3 sqrt 11))^3 = 18.3915. */
    double lo, hi;
    indicator_byar(10, &lo, &hi);
    cr_assert_float_eq(lo, 4.787450, 1e-5);
    cr_assert_float_eq(hi, 18.391459, 1e-5);
    indicator_byar(0, &lo, &hi);
    cr_assert_float_eq(lo, 0.0, EPS);
    cr_assert(hi > 3.6 && hi < 3.8); /* exact: 3.689 */
}

Test(indicator, crude_rate_per_1000) {
    indicator_estimate e;
    cr_assert_eq(indicator_crude_rate(10, 2000, 1000, &e), KITH_OK);
    cr_assert(!e.suppressed);
    cr_assert_float_eq(e.value, 5.0, EPS);
    cr_assert_float_eq(e.lo, 4.787450 / 2, 1e-5);
    cr_assert_float_eq(e.hi, 18.391459 / 2, 1e-5);
    /* Numerator 1..7: the rate is hidden too. */
    cr_assert_eq(indicator_crude_rate(5, 2000, 1000, &e), KITH_OK);
    cr_assert(e.suppressed);
    cr_assert(isnan(e.value) && isnan(e.lo) && isnan(e.hi));
    cr_assert_eq(indicator_crude_rate(10, 0, 1000, &e), KITH_EINVAL);
    cr_assert_eq(indicator_crude_rate(-1, 10, 1000, &e), KITH_EINVAL);
}

Test(indicator, wilson_matches_newcombe) {
    /* Newcombe (1998) Stat Med 17:857, Table I example 81/263: Wilson score
     * interval 0.2553 to 0.3662. */
    indicator_estimate e;
    cr_assert_eq(indicator_proportion(81, 263, &e), KITH_OK);
    cr_assert_float_eq(e.value, 81.0 / 263, EPS);
    cr_assert_float_eq(e.lo, 0.2553, 5e-5);
    cr_assert_float_eq(e.hi, 0.3662, 5e-5);
    /* 0/10: lower 0, upper z^2/(n+z^2) = 3.8415/13.8415 = 0.2775. */
    cr_assert_eq(indicator_proportion(0, 10, &e), KITH_OK);
    cr_assert_float_eq(e.lo, 0.0, EPS);
    cr_assert_float_eq(e.hi, 0.277533, 1e-5);
    cr_assert_eq(indicator_proportion(3, 100, &e), KITH_OK);
    cr_assert(e.suppressed);
    cr_assert_eq(indicator_proportion(11, 10, &e), KITH_EINVAL);
    cr_assert_eq(indicator_proportion(0, 0, &e), KITH_EINVAL);
}

Test(indicator, dsr_two_bands_by_hand) {
    /* Rates 20/1000 and 30/500, weights 6000 and 4000 (sum 10,000):
     * DSR = (0.6*0.02 + 0.4*0.06) * 1000 = 36 per 1,000.
     * var = (0.36*20/1000^2 + 0.16*30/500^2) * 1000^2 = 26.4; O = 50;
     * Byar(50) = 37.1120 .. 65.9186; Dobson limits
     * 36 + sqrt(26.4/50) * (37.1120 - 50) = 26.632, and 47.568 above. */
    double ev[] = {20, 30}, pop[] = {1000, 500}, w[] = {6000, 4000};
    indicator_estimate e;
    cr_assert_eq(indicator_dsr(ev, pop, w, 2, 1000, &e), KITH_OK);
    cr_assert_float_eq(e.value, 36.0, EPS);
    cr_assert_float_eq(e.lo, 26.632281, 1e-5);
    cr_assert_float_eq(e.hi, 47.568160, 1e-5);
}

Test(indicator, dsr_one_band_equals_crude_rate) {
    /* With one band Dobson reduces to Byar's limits on the crude rate. */
    double ev[] = {10}, pop[] = {2000}, w[] = {1};
    indicator_estimate d, c;
    cr_assert_eq(indicator_dsr(ev, pop, w, 1, 1000, &d), KITH_OK);
    cr_assert_eq(indicator_crude_rate(10, 2000, 1000, &c), KITH_OK);
    cr_assert_float_eq(d.value, c.value, EPS);
    cr_assert_float_eq(d.lo, c.lo, EPS);
    cr_assert_float_eq(d.hi, c.hi, EPS);
}

Test(indicator, dsr_esp2013_phe_test_data) {
    /* The test populations and events shipped in PHEindicatormethods'
     * early R/DSR.R, per 100,000 with ESP2013; expected values worked
     * independently (Python, same formulas). */
    double pop[] = {84935, 80367, 72122, 79259, 99806, 87362, 81579, 71103, 70001, 69007,
                    63203, 52638, 46087, 40887, 32604, 28399, 21625, 13021, 7355};
    double ev[] = {27, 45, 55, 100, 125, 300, 295, 270, 275, 450, 455, 459, 345, 300, 270, 265, 100, 90, 35};
    indicator_estimate e;
    cr_assert_eq(indicator_dsr(ev, pop, NULL, N(ev), 100000, &e), KITH_OK);
    cr_assert_float_eq(e.value, 464.915651, 1e-5);
    cr_assert_float_eq(e.lo, 450.688309, 1e-5);
    cr_assert_float_eq(e.hi, 479.468934, 1e-5);
}

Test(indicator, dsr_suppression_and_errors) {
    double ev[INDICATOR_ESP2013_BANDS] = {0}, pop[INDICATOR_ESP2013_BANDS];
    for(size_t i = 0; i < N(pop); i++) pop[i] = 1000;
    indicator_estimate e;
    cr_assert_eq(indicator_dsr(ev, pop, NULL, N(ev), 1000, &e), KITH_OK);
    cr_assert(!e.suppressed);
    cr_assert_float_eq(e.value, 0.0, EPS);
    cr_assert(isnan(e.hi));
    ev[18] = 7; /* 7 events in total: hidden */
    cr_assert_eq(indicator_dsr(ev, pop, NULL, N(ev), 1000, &e), KITH_OK);
    cr_assert(e.suppressed && isnan(e.value));
    ev[18] = 8;
    cr_assert_eq(indicator_dsr(ev, pop, NULL, N(ev), 1000, &e), KITH_OK);
    cr_assert(!e.suppressed);
    cr_assert_float_eq(e.value, 1000.0 * 8 / 1000 * 1000 / 100000, EPS); /* 0.08 */
    cr_assert_eq(indicator_dsr(ev, pop, NULL, 18, 1000, &e), KITH_EINVAL); /* ESP needs 19 */
    pop[3] = 0;
    cr_assert_eq(indicator_dsr(ev, pop, NULL, N(ev), 1000, &e), KITH_EINVAL);
    pop[3] = 1000;
    ev[0] = 1.5;
    cr_assert_eq(indicator_dsr(ev, pop, NULL, N(ev), 1000, &e), KITH_EINVAL);
}

Test(indicator, days_at_home_per_person_year) {
    /* Two people followed all 2025 (730 days alive, 2 person-years), 30 days
     * in hospital between them: 700 / 2 = 350 days at home per person-year. */
    double v;
    cr_assert_eq(indicator_days_at_home(730, 30, 2, &v), KITH_OK);
    cr_assert_float_eq(v, 350.0, EPS);
    cr_assert_eq(indicator_days_at_home(10, 11, 1, &v), KITH_EINVAL);
    cr_assert_eq(indicator_days_at_home(10, 1, 0, &v), KITH_EINVAL);
}

Test(indicator, month_buckets_for_a_period) {
    indicator_event ev[] = {
        {datetime_days_from_civil(2025, 11, 30), 1}, /* before: skipped */
        {datetime_days_from_civil(2025, 12, 1), 2},  {datetime_days_from_civil(2025, 12, 31), 3},
        {datetime_days_from_civil(2026, 1, 15), 4},  {datetime_days_from_civil(2026, 2, 28), 5},
        {datetime_days_from_civil(2026, 3, 1), 6}, /* after: skipped */
    };
    double sums[3] = {99, 99, 99};
    size_t outside = 0;
    cr_assert_eq(indicator_month_buckets(ev, N(ev), 2025, 12, 3, sums, &outside), KITH_OK);
    cr_assert_float_eq(sums[0], 5.0, EPS); /* Dec 2025 */
    cr_assert_float_eq(sums[1], 4.0, EPS); /* Jan 2026 */
    cr_assert_float_eq(sums[2], 5.0, EPS); /* Feb 2026 */
    cr_assert_eq(outside, 2u);
    cr_assert_eq(indicator_month_buckets(ev, N(ev), 2025, 13, 3, sums, NULL), KITH_EINVAL);
    cr_assert_eq(indicator_month_buckets(ev, N(ev), 2025, 1, 0, sums, NULL), KITH_EINVAL);
    cr_assert_eq(indicator_month_buckets(NULL, 0, 2025, 1, 3, sums, NULL), KITH_OK);
    cr_assert_float_eq(sums[0], 0.0, EPS);
}
