/* test_spc.c — src/report/spc.c and src/report/svg.c: hand-worked XmR and funnel cases. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "report/spc.h"
#include "report/svg.h"

#define EPS 1e-6
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Baseline used below: 12,10 four times; mean 11, mean MR 2, sigma 1.773,
 * limits 11 +/- 5.32 = 5.68 .. 16.32, 2 sigma 7.454 .. 14.546. */
#define BASE8 12, 10, 12, 10, 12, 10, 12, 10

static spc_xmr xmr(const double *v, size_t n, size_t baseline, spc_polarity pol, const double *target) {
    spc_xmr x;
    cr_assert_eq(spc_xmr_compute(v, n, baseline, pol, target, &x), KITH_OK);
    return x;
}

/* No point of v (baseline 8) is flagged by any rule. */
static void assert_no_signal(const double *v, size_t n, spc_polarity pol) {
    spc_xmr x = xmr(v, n, 8, pol, NULL);
    for(size_t i = 0; i < x.n; i++) cr_assert_eq(x.rules[i], 0u, "point %zu", i);
    cr_assert_eq(x.variation, SPC_CAUSE_COMMON);
    spc_xmr_free(&x);
}

Test(spc, xmr_limits_by_hand) {
    /* mean 60/5 = 12; MRs 2,1,2,1 -> 1.5; limits 12 +/- 2.66*1.5 = 8.01 .. 15.99; sigma 1.5/1.128 */
    double v[] = {10, 12, 11, 13, 14};
    spc_xmr x = xmr(v, N(v), 0, SPC_POLARITY_HIGHER_BETTER, NULL);
    cr_assert_float_eq(x.mean, 12.0, EPS);
    cr_assert_float_eq(x.mr[0], 0.0, EPS);
    cr_assert_float_eq(x.mr[1], 2.0, EPS);
    cr_assert_float_eq(x.mr[4], 1.0, EPS);
    cr_assert_float_eq(x.mr_mean, 1.5, EPS);
    cr_assert_float_eq(x.upl, 15.99, EPS);
    cr_assert_float_eq(x.lpl, 8.01, EPS);
    cr_assert_float_eq(x.sigma, 1.5 / 1.128, EPS);
    cr_assert_float_eq(x.up2s, 12 + 3.0 / 1.128, EPS);
    cr_assert_float_eq(x.lo1s, 12 - 1.5 / 1.128, EPS);
    for(size_t i = 0; i < x.n; i++) cr_assert_eq(x.rules[i], 0u);
    cr_assert_eq(x.variation, SPC_CAUSE_COMMON);
    cr_assert_eq(x.assurance, SPC_ASSURANCE_NONE);
    spc_xmr_free(&x);
}

Test(spc, xmr_rejects_bad_input) {
    spc_xmr x;
    double v[] = {1, NAN, 3};
    cr_assert_eq(spc_xmr_compute(v, 1, 0, SPC_POLARITY_NEITHER, NULL, &x), KITH_EINVAL);
    cr_assert_eq(spc_xmr_compute(v, 3, 0, SPC_POLARITY_NEITHER, NULL, &x), KITH_EINVAL);
    cr_assert_eq(spc_xmr_compute(v, 3, 1, SPC_POLARITY_NEITHER, NULL, &x), KITH_EINVAL);
    cr_assert_null(x.value);
}

Test(spc, point_outside_limits_and_polarity) {
    /* baseline 8 then 30, far above 16.32 */
    double v[] = {BASE8, 30};
    spc_xmr up = xmr(v, N(v), 8, SPC_POLARITY_HIGHER_BETTER, NULL);
    cr_assert_float_eq(up.mean, 11.0, EPS);
    cr_assert_float_eq(up.upl, 16.32, EPS);
    cr_assert(up.rules[8] & SPC_RULE_OUTSIDE);
    cr_assert_eq(up.rules[7], 0u);
    cr_assert_eq(up.cause[8], SPC_CAUSE_IMPROVEMENT);
    cr_assert_eq(up.variation, SPC_CAUSE_IMPROVEMENT);
    spc_xmr down = xmr(v, N(v), 8, SPC_POLARITY_LOWER_BETTER, NULL);
    cr_assert_eq(down.cause[8], SPC_CAUSE_CONCERN);
    cr_assert_eq(down.variation, SPC_CAUSE_CONCERN);
    spc_xmr neither = xmr(v, N(v), 8, SPC_POLARITY_NEITHER, NULL);
    cr_assert_eq(neither.cause[8], SPC_CAUSE_NEUTRAL);
    spc_xmr_free(&up);
    spc_xmr_free(&down);
    spc_xmr_free(&neither);
}

Test(spc, shift_of_seven_flagged_six_not) {
    double seven[] = {BASE8, 12, 13, 12, 13, 12, 13, 12};
    spc_xmr x = xmr(seven, N(seven), 8, SPC_POLARITY_LOWER_BETTER, NULL);
    cr_assert_eq(x.rules[7], 0u);
    for(size_t i = 8; i < 15; i++) {
        cr_assert_eq(x.rules[i], (unsigned)SPC_RULE_SHIFT, "point %zu", i);
        cr_assert_eq(x.cause[i], SPC_CAUSE_CONCERN);
    }
    spc_xmr_free(&x);

    double six[] = {BASE8, 12, 13, 12, 13, 12, 13, 10};
    assert_no_signal(six, N(six), SPC_POLARITY_LOWER_BETTER);

    /* a point exactly on the mean breaks the run */
    double broken[] = {BASE8, 12, 13, 12, 11, 13, 12, 13, 12};
    assert_no_signal(broken, N(broken), SPC_POLARITY_LOWER_BETTER);
}

Test(spc, trend_of_seven_takes_direction_from_the_trend) {
    /* 9 .. 12 rising: seven points, four below the mean; the trend says "up" */
    double v[] = {BASE8, 9, 9.5, 10, 10.5, 11, 11.5, 12};
    spc_xmr x = xmr(v, N(v), 8, SPC_POLARITY_HIGHER_BETTER, NULL);
    cr_assert_eq(x.rules[7], 0u);
    for(size_t i = 8; i < 15; i++) {
        cr_assert(x.rules[i] & SPC_RULE_TREND, "point %zu", i);
        cr_assert_eq(x.cause[i], SPC_CAUSE_IMPROVEMENT, "point %zu", i);
    }
    spc_xmr_free(&x);

    double six[] = {BASE8, 9.5, 10, 10.5, 11, 11.5, 12};
    assert_no_signal(six, N(six), SPC_POLARITY_HIGHER_BETTER);

    double falling[] = {BASE8, 13, 12.5, 12, 11.5, 11, 10.5, 10};
    x = xmr(falling, N(falling), 8, SPC_POLARITY_HIGHER_BETTER, NULL);
    for(size_t i = 8; i < 15; i++) cr_assert_eq(x.cause[i], SPC_CAUSE_CONCERN, "point %zu", i);
    spc_xmr_free(&x);
}

Test(spc, two_of_three_beyond_two_sigma) {
    /* 15 > 14.546 twice in three: those two flagged, the middle one not */
    double v[] = {BASE8, 15, 11, 15};
    spc_xmr x = xmr(v, N(v), 8, SPC_POLARITY_HIGHER_BETTER, NULL);
    cr_assert_eq(x.rules[8], (unsigned)SPC_RULE_TWO_OF_THREE);
    cr_assert_eq(x.rules[9], 0u);
    cr_assert_eq(x.rules[10], (unsigned)SPC_RULE_TWO_OF_THREE);
    cr_assert_eq(x.cause[10], SPC_CAUSE_IMPROVEMENT);
    spc_xmr_free(&x);

    /* one beyond each side is not a signal */
    double split[] = {BASE8, 15, 7, 11};
    assert_no_signal(split, N(split), SPC_POLARITY_HIGHER_BETTER);
}

Test(spc, assurance_from_target_and_limits) {
    /* limits 5.68 .. 16.32 */
    double v[] = {BASE8};
    struct {
        spc_polarity pol;
        double target;
        spc_assurance want;
    } cases[] = {
        {SPC_POLARITY_HIGHER_BETTER, 5, SPC_ASSURANCE_PASS},
        {SPC_POLARITY_HIGHER_BETTER, 17, SPC_ASSURANCE_FAIL},
        {SPC_POLARITY_HIGHER_BETTER, 11, SPC_ASSURANCE_HIT_AND_MISS},
        {SPC_POLARITY_LOWER_BETTER, 17, SPC_ASSURANCE_PASS},
        {SPC_POLARITY_LOWER_BETTER, 5, SPC_ASSURANCE_FAIL},
        {SPC_POLARITY_LOWER_BETTER, 6, SPC_ASSURANCE_HIT_AND_MISS},
        {SPC_POLARITY_NEITHER, 5, SPC_ASSURANCE_NONE},
    };
    for(size_t i = 0; i < N(cases); i++) {
        spc_xmr x = xmr(v, N(v), 0, cases[i].pol, &cases[i].target);
        cr_assert_eq(x.assurance, cases[i].want, "case %zu", i);
        cr_assert(x.has_target);
        spc_xmr_free(&x);
    }
}

Test(spc, funnel_limits_by_hand) {
    /* p = 0.2, p(1-p) = 0.16; at n = 100 se = 0.04 */
    cr_assert_float_eq(spc_funnel_limit(SPC_FUNNEL_PROPORTION, 0.2, 100, SPC_Z95), 0.2 + 1.959964 * 0.04, EPS);
    cr_assert_float_eq(spc_funnel_limit(SPC_FUNNEL_PROPORTION, 0.2, 100, -SPC_Z998), 0.2 - 3.090232 * 0.04, EPS);
    /* rate: p/n = 0.04 / 100 -> se 0.02 */
    cr_assert_float_eq(spc_funnel_limit(SPC_FUNNEL_RATE, 0.04, 100, SPC_Z95), 0.04 + 1.959964 * 0.02, EPS);
    /* clipped to [0, 1] */
    cr_assert_float_eq(spc_funnel_limit(SPC_FUNNEL_PROPORTION, 0.02, 10, -SPC_Z998), 0.0, EPS);
    cr_assert_float_eq(spc_funnel_limit(SPC_FUNNEL_PROPORTION, 0.98, 10, SPC_Z998), 1.0, EPS);
    cr_assert_float_eq(spc_funnel_limit(SPC_FUNNEL_RATE, 0.02, 10, -SPC_Z998), 0.0, EPS);
}

Test(spc, funnel_flags_units) {
    /* p = 160/800 = 0.2.
     * 10/100 = 0.1: 95% lower 0.1216, 99.8% lower 0.0764 -> outside 95% only.
     * 20/200 = 0.1: se 0.02828, 99.8% lower 0.1126 -> outside 99.8%.
     * 40/200 = 0.2: inside.
     * 90/300 = 0.3: se 0.02309, 99.8% upper 0.2714 -> outside 99.8%. */
    double num[] = {10, 20, 40, 90}, den[] = {100, 200, 200, 300};
    spc_funnel f;
    cr_assert_eq(spc_funnel_compute(num, den, 4, SPC_FUNNEL_PROPORTION, SPC_POLARITY_LOWER_BETTER, &f), KITH_OK);
    cr_assert_float_eq(f.p, 0.2, EPS);
    cr_assert_eq(f.band[0], SPC_FUNNEL_OUTSIDE_95);
    cr_assert_eq(f.band[1], SPC_FUNNEL_OUTSIDE_998);
    cr_assert_eq(f.band[2], SPC_FUNNEL_INSIDE);
    cr_assert_eq(f.band[3], SPC_FUNNEL_OUTSIDE_998);
    cr_assert_eq(f.cause[0], SPC_CAUSE_IMPROVEMENT);
    cr_assert_eq(f.cause[2], SPC_CAUSE_COMMON);
    cr_assert_eq(f.cause[3], SPC_CAUSE_CONCERN);
    spc_funnel_free(&f);

    double bad_den[] = {100, 0};
    cr_assert_eq(spc_funnel_compute(num, bad_den, 2, SPC_FUNNEL_PROPORTION, SPC_POLARITY_NEITHER, &f), KITH_EINVAL);
    double over[] = {101};
    cr_assert_eq(spc_funnel_compute(over, den, 1, SPC_FUNNEL_PROPORTION, SPC_POLARITY_NEITHER, &f), KITH_EINVAL);
    cr_assert_eq(spc_funnel_compute(over, den, 1, SPC_FUNNEL_RATE, SPC_POLARITY_NEITHER, &f), KITH_OK);
    spc_funnel_free(&f);
}

/* Tags open and close in order: every "<x" not self-closed is matched by a "</". */
static bool balanced(const char *s) {
    int depth = 0;
    for(const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
        const char *end = strchr(p, '>');
        if(!end) return false;
        if(p[1] == '/')
            depth--;
        else if(end[-1] != '/')
            depth++;
        if(depth < 0) return false;
        if(depth == 0 && end[1] != '\0' && end[1] != '\n') return false; /* one root */
    }
    return depth == 0;
}

static char *render_xmr(void) {
    double v[] = {BASE8, 30, 12, 13};
    const char *months[] = {"Apr 2025", "May 2025", "Jun 2025", "Jul 2025", "Aug 2025", "Sep 2025",
                            "Oct 2025", "Nov 2025", "Dec 2025", "Jan 2026", "Feb <2026>"};
    double target = 14;
    spc_xmr x = xmr(v, N(v), 8, SPC_POLARITY_HIGHER_BETTER, &target);
    spc_svg_opts o = {"Falls <with> harm & \"injury\"", "Monthly count.", "Month", "Falls", months};
    buf b = BUF_INIT;
    cr_assert_eq(spc_xmr_svg(&b, &x, &o), KITH_OK);
    spc_xmr_free(&x);
    return buf_take(&b, NULL);
}

Test(spc_svg, xmr_svg_is_escaped_balanced_and_deterministic) {
    char *s = render_xmr();
    cr_assert(strncmp(s, "<svg", 4) == 0);
    size_t n = strlen(s);
    cr_assert(n > 8 && strcmp(s + n - 7, "</svg>\n") == 0);
    cr_assert(balanced(s), "%s", s);
    cr_assert_not_null(strstr(s, "<title id=\"spc-title\">Falls &lt;with&gt; harm &amp; &quot;injury&quot;</title>"));
    cr_assert_null(strstr(s, "<with>"));
    cr_assert_not_null(strstr(s, "Feb &lt;2026&gt;"));
    cr_assert_not_null(strstr(s, "<desc id=\"spc-desc\">Monthly count. XmR chart"));
    cr_assert_not_null(strstr(s, "fill=\"#289de0\"")); /* the improvement point */
    cr_assert_not_null(strstr(s, "fill=\"#7b7d7d\""));
    cr_assert_null(strstr(s, "<script"));
    cr_assert_null(strstr(s, "href"));
    char *again = render_xmr();
    cr_assert_str_eq(s, again);
    free(s);
    free(again);
}

Test(spc_svg, funnel_svg) {
    double num[] = {10, 20, 40, 90}, den[] = {100, 200, 200, 300};
    const char *names[] = {"North & East", "South", "West", "Central"};
    spc_funnel f;
    cr_assert_eq(spc_funnel_compute(num, den, 4, SPC_FUNNEL_PROPORTION, SPC_POLARITY_LOWER_BETTER, &f), KITH_OK);
    spc_svg_opts o = {"Readmissions <30 days", NULL, "Discharges", "Proportion", names};
    buf b = BUF_INIT;
    cr_assert_eq(spc_funnel_svg(&b, &f, &o), KITH_OK);
    const char *s = buf_str(&b);
    cr_assert(strncmp(s, "<svg", 4) == 0);
    cr_assert(balanced(s), "%s", s);
    cr_assert_not_null(strstr(s, "Readmissions &lt;30 days"));
    cr_assert_not_null(strstr(s, "North &amp; East"));
    cr_assert_not_null(strstr(s, "fill=\"#e46c0a\"")); /* concern */
    cr_assert_not_null(strstr(s, "2 outside the 99.8% limits"));
    buf_free(&b);
    spc_funnel_free(&f);
}

Test(spc_svg, refuses_missing_title_and_honours_cap) {
    double v[] = {1, 2, 3};
    spc_xmr x = xmr(v, 3, 0, SPC_POLARITY_NEITHER, NULL);
    spc_svg_opts o = {NULL, NULL, NULL, NULL, NULL};
    buf b = BUF_INIT;
    cr_assert_eq(spc_xmr_svg(&b, &x, &o), KITH_EINVAL);
    buf_init(&b, 200);
    o.title = "t";
    cr_assert_eq(spc_xmr_svg(&b, &x, &o), KITH_ETOOBIG);
    buf_free(&b);
    spc_xmr_free(&x);
}

Test(spc_svg, escape_drops_control_characters) {
    buf b = BUF_INIT;
    cr_assert_eq(svg_xml_escape(&b, "a\x01<b>'\n"), KITH_OK);
    cr_assert_str_eq(buf_str(&b), "a&lt;b&gt;&#39;\n");
    buf_free(&b);
}
