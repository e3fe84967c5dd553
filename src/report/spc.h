/*
 * spc.h — statistical process control for Kith's outcome reporting, in the
 * style of NHS England's "Making Data Count" (MDC) programme.
 *
 * Two charts:
 *   - XmR (individuals) chart of one indicator over time (e.g. monthly);
 *   - funnel plot comparing units (e.g. neighbourhoods) on a proportion or rate.
 *
 * XmR limits (Wheeler, "Understanding Variation"; MDC "Making data count"
 * guide, NHS England/NHS Improvement 2019; NHS-R NHSRplotthedots R/ptd_spc.R):
 *   mean = average of the baseline values; MR_i = |x_i - x_(i-1)|;
 *   mean MR = average of the baseline moving ranges; sigma = mean MR / 1.128;
 *   process limits = mean +/- 2.66 * mean MR (= 3 sigma); 1 and 2 sigma lines.
 *
 * Special-cause rules (MDC's four; the counts follow the NHS-R community's
 * implementation of MDC, NHSRplotthedots R/ptd_spc_special_cause.R, functions
 * ptd_seven_point_one_side_mean and ptd_seven_point_trend; NHS Digital's
 * fdp-react-design-system SPCRuleClashExplanation notes some tools use 6):
 *   SPC_RULE_OUTSIDE  a single point above the upper or below the lower limit;
 *   SPC_RULE_SHIFT    SPC_SHIFT_POINTS (7) or more consecutive points all above
 *                     or all below the mean; a point on the mean breaks the run;
 *   SPC_RULE_TREND    SPC_TREND_POINTS (7) or more consecutive points each
 *                     strictly higher (or lower) than the one before; a repeat
 *                     value breaks the run;
 *   SPC_RULE_TWO_OF_THREE  two or three of three consecutive points beyond the
 *                     same 2-sigma line (only the points beyond it are flagged).
 * Every point of a qualifying run is flagged. A flagged point's direction is
 * the trend's direction if it is in a trend (MDC gives trend priority), else
 * its side of the mean; polarity turns direction into improvement or concern
 * (SPC_POLARITY_NEITHER gives SPC_CAUSE_NEUTRAL).
 *
 * Variation icon: the cause of the most recent point (as NHSRplotthedots'
 * ptd_create_variation_icon does). Assurance icon (MDC; NHSRplotthedots
 * ptd_calculate_assurance_type): with a target and a polarity, a target
 * inside the process limits is "hit and miss"; a target beyond the limit on
 * the bad side ("lower" limit when higher is better) means the process
 * consistently passes; beyond the limit on the good side, consistently fails.
 *
 * Funnel limits: p = sum(numerators) / sum(denominators); for a proportion
 * p +/- z*sqrt(p(1-p)/n), for a rate p +/- z*sqrt(p/n) (normal approximations
 * to the binomial and Poisson; Spiegelhalter 2005, "Funnel plots for comparing
 * institutional performance", Stat Med 24:1185). z = 1.960 (95%) and 3.090
 * (99.8%). Limits are clipped to [0,1] for a proportion and to >= 0 for a
 * rate. The normal approximation is poor for small n*p; exact limits are
 * future work.
 *
 * Pure computation: no I/O, no global state, thread-safe. Results own their
 * arrays; free them with spc_xmr_free / spc_funnel_free.
 */
#ifndef KITH_SPC_H
#define KITH_SPC_H
#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"

#define SPC_MAX_POINTS 10000 /* cap on series length and funnel units */
#define SPC_SHIFT_POINTS 7
#define SPC_TREND_POINTS 7
#define SPC_XMR_LIMIT 2.66  /* 3 / 1.128 */
#define SPC_D2 1.128        /* bias constant d2 for ranges of two */
#define SPC_Z95 1.959964
#define SPC_Z998 3.090232

typedef enum spc_polarity {
    SPC_POLARITY_NEITHER = 0,
    SPC_POLARITY_HIGHER_BETTER,
    SPC_POLARITY_LOWER_BETTER
} spc_polarity;

typedef enum spc_cause {
    SPC_CAUSE_COMMON = 0,
    SPC_CAUSE_IMPROVEMENT,
    SPC_CAUSE_CONCERN,
    SPC_CAUSE_NEUTRAL /* special cause, indicator has no polarity */
} spc_cause;

enum spc_rule {
    SPC_RULE_OUTSIDE = 1u << 0,
    SPC_RULE_SHIFT = 1u << 1,
    SPC_RULE_TREND = 1u << 2,
    SPC_RULE_TWO_OF_THREE = 1u << 3
};

typedef enum spc_assurance {
    SPC_ASSURANCE_NONE = 0, /* no target, or no polarity */
    SPC_ASSURANCE_PASS,     /* consistently hits the target */
    SPC_ASSURANCE_FAIL,     /* consistently fails the target */
    SPC_ASSURANCE_HIT_AND_MISS
} spc_assurance;

typedef struct spc_xmr {
    size_t n;        /* points */
    size_t baseline; /* points the limits were computed from */
    double *value;   /* n values (a copy) */
    double *mr;      /* n moving ranges; mr[0] = 0 (no predecessor) */
    unsigned *rules; /* n bitsets of enum spc_rule */
    spc_cause *cause;
    double mean, mr_mean, sigma;
    double upl, lpl;           /* process limits, mean +/- 3 sigma */
    double up2s, lo2s, up1s, lo1s;
    spc_polarity polarity;
    bool has_target;
    double target;
    spc_cause variation;     /* cause of the most recent point */
    spc_assurance assurance;
} spc_xmr;

/* Compute an XmR chart of values[0..n-1]. baseline = points to compute the
 * limits from (0 or >= n: all; else >= 2). target may be NULL. On success
 * *out owns its arrays (spc_xmr_free). KITH_EINVAL for n < 2, n over
 * SPC_MAX_POINTS, baseline 1, or a non-finite value or target; *out is then
 * left zeroed. */
kith_rc spc_xmr_compute(const double *values, size_t n, size_t baseline, spc_polarity polarity,
                        const double *target, spc_xmr *out);
void spc_xmr_free(spc_xmr *x);

typedef enum spc_funnel_kind { SPC_FUNNEL_PROPORTION = 0, SPC_FUNNEL_RATE } spc_funnel_kind;

typedef enum spc_funnel_band {
    SPC_FUNNEL_INSIDE = 0, /* within the 95% limits */
    SPC_FUNNEL_OUTSIDE_95, /* outside 95% but within 99.8% */
    SPC_FUNNEL_OUTSIDE_998 /* outside 99.8% */
} spc_funnel_band;

typedef struct spc_funnel {
    size_t n;
    spc_funnel_kind kind;
    spc_polarity polarity;
    double p;          /* overall proportion or rate */
    double *num, *den; /* copies */
    double *value;     /* num/den */
    spc_funnel_band *band;
    spc_cause *cause; /* common inside 95%; else improvement/concern/neutral by side */
} spc_funnel;

/* One control limit at denominator den: p + z*se (z < 0 for the lower),
 * clipped as described above. den must be > 0. */
double spc_funnel_limit(spc_funnel_kind kind, double p, double den, double z);

/* Compute a funnel plot of n units. Every den must be > 0 and finite, every
 * num >= 0 (and <= den for a proportion). On success *out owns its arrays
 * (spc_funnel_free). KITH_EINVAL on bad input, *out left zeroed. */
kith_rc spc_funnel_compute(const double *num, const double *den, size_t n, spc_funnel_kind kind,
                           spc_polarity polarity, spc_funnel *out);
void spc_funnel_free(spc_funnel *f);

/* Short English names, borrowed static strings. */
const char *spc_cause_name(spc_cause c);
const char *spc_assurance_name(spc_assurance a);

#endif
