/*
 * indicator.h — the arithmetic every integration indicator (issue 8) shares:
 * small-number suppression, crude and directly age-standardised rates,
 * proportions, their 95% confidence intervals, and person-time helpers.
 *
 * Sources (details and links in docs/indicators.md):
 *   - Suppression: NHS Digital's disclosure control method for HES and ECDS
 *     (September 2018; later applied to SRHAD 2019-20): below national level
 *     a count of 1 to 7 is shown as '*'; a rate or mean made from 1-7 values
 *     is not shown. Secondary suppression (hide more cells so a hidden one
 *     cannot be recovered from a total) is the rule NHS Digital used before
 *     2018 and still the usual practice for tables with printed totals.
 *   - ESP2013: Eurostat, "Revision of the European Standard Population"
 *     (2013), as the 19-band vector esp2013 of PHE's PHEindicatormethods.
 *   - DSR 95% CI: Dobson, Kuulasmaa, Eberle & Scherer (1991), Stat Med
 *     10:457, with Byar's limits for the total count, as PHEindicatormethods
 *     phe_dsr does for OHID Fingertips.
 *   - Crude rate CI: Byar's approximation to the exact Poisson limits
 *     (Breslow & Day 1987); proportion CI: Wilson score (Wilson 1927;
 *     Newcombe 1998, Stat Med 17:857), as phe_rate / phe_proportion.
 *
 * Pure computation: no I/O, no allocation, no global state, thread-safe.
 * Every array is borrowed from the caller.
 */
#ifndef KITH_INDICATOR_H
#define KITH_INDICATOR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

#define INDICATOR_SUPPRESS_MAX 7      /* counts 1..7 are hidden */
#define INDICATOR_MAX_CELLS 100000    /* cap on a suppression table's cells */
#define INDICATOR_MAX_MONTHS 1200     /* cap on a month-bucketed period */
#define INDICATOR_ESP2013_BANDS 19    /* 0-4, 5-9, ..., 85-89, 90+ */
#define INDICATOR_Z95 1.959963984540054 /* standard normal 97.5th centile */

/* The 2013 European Standard Population, 19 five-year bands summing to
 * 100,000. Borrowed, static. */
extern const double indicator_esp2013[INDICATOR_ESP2013_BANDS];

/* A rate or proportion with its 95% confidence interval. When suppressed,
 * value, lo and hi are NAN so nothing hidden can leak into output. */
typedef struct indicator_estimate {
    double value;
    double lo;
    double hi;
    bool suppressed;
} indicator_estimate;

/* True when a count must be hidden (1..INDICATOR_SUPPRESS_MAX); 0 and
 * counts of 8 or more are shown. */
bool indicator_count_hidden(int64_t count);

/* Primary and secondary suppression of a rows x cols table (row-major) whose
 * row and column totals may be published. hidden[i] is set for every cell
 * to hide: first the counts 1..7; then, repeatedly until nothing changes, in
 * any row or column where exactly one cell is hidden, the smallest shown
 * cell too (the smallest non-zero one if there is one, else a zero). A
 * single group is a 1 x n table. A row or column of one cell cannot be
 * protected this way: its total must be hidden by the caller. KITH_EINVAL
 * for a negative count, rows or cols of 0, or more than INDICATOR_MAX_CELLS
 * cells (hidden left unchanged). */
kith_rc indicator_suppress_table(const int64_t *cells, size_t rows, size_t cols, bool *hidden);

/* Byar's approximate 95% limits for a Poisson count: lower 0 for count 0. */
void indicator_byar(double count, double *lo, double *hi);

/* Crude rate events / population * per (per = 1000 for "per 1,000") with
 * Byar's 95% CI; suppressed when events is 1..7. KITH_EINVAL for negative
 * events, population <= 0 or per <= 0 (*out untouched). */
kith_rc indicator_crude_rate(int64_t events, double population, double per, indicator_estimate *out);

/* Proportion num / den (as a fraction 0..1) with its Wilson score 95% CI;
 * suppressed when num is 1..7. KITH_EINVAL unless 0 <= num <= den, den > 0. */
kith_rc indicator_proportion(int64_t num, int64_t den, indicator_estimate *out);

/* Directly age-standardised rate per `per` from per-band events and
 * populations, weighted by std (NULL: ESP2013, then bands must be 19), with
 * the Dobson 95% CI. Suppressed when the total of events is 1..7. With no
 * events the rate and lower limit are 0 and hi is NAN (Dobson needs at least
 * one event; PHE's phe_dsr gives no limits then either). KITH_EINVAL for
 * bands 0 or over 100, a negative or non-integer event count, a population
 * <= 0, a negative weight or weights summing to 0. */
kith_rc indicator_dsr(const double *events, const double *population, const double *std, size_t bands,
                      double per, indicator_estimate *out);

/* Days at home per person-year: (days alive in the period - days in
 * hospital) / person-years. KITH_EINVAL for negative inputs, hospital days
 * over days alive, or person_years <= 0. */
kith_rc indicator_days_at_home(double days_alive, double days_in_hospital, double person_years, double *out);

/* One dated event: day counts from 1970-01-01 (datetime_days_from_civil). */
typedef struct indicator_event {
    int64_t day;
    double value;
} indicator_event;

/* Sum event values into calendar months: sums[k] (k < months, zeroed here)
 * gets the events in month k after first_year-first_month; e.g. monthly
 * admissions for an SPC series. Events outside the period are skipped and
 * counted in *outside (may be NULL). KITH_EINVAL for first_month outside
 * 1..12, months 0 or over INDICATOR_MAX_MONTHS, or events NULL with n > 0. */
kith_rc indicator_month_buckets(const indicator_event *events, size_t n, int first_year, int first_month,
                                size_t months, double *sums, size_t *outside);

#endif
