/*
 * study_report.c — words, tables and a chart for an evaluation study (see
 * study_report.h). The summary is written for a commissioner or a clinical
 * lead, not a statistician: what was compared, what changed, how sure we
 * can be, and what the method cannot rule out. Below STUDY_MIN_PAIRS
 * matched pairs nothing but the counts is reported.
 */
#include "eval/study_report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "report/svg.h"

static const char *day_text(int32_t day, char out[11]) {
    datetime_format_day(day, out);
    return out;
}

static bool reportable(const study_result *r) {
    return r->match.n_matched >= STUDY_MIN_PAIRS;
}

/* The window in words: "12 months" for 365 days, else "N days". */
static void window_text(int days, char *out, size_t len) {
    if(days == 365 || days == 366) snprintf(out, len, "12 months");
    else if(days % 7 == 0) snprintf(out, len, "%d weeks", days / 7);
    else snprintf(out, len, "%d days", days);
}

static bool excludes_zero(const eval_estimate *e) {
    return !isnan(e->lo) && !isnan(e->hi) && (e->lo > 0 || e->hi < 0);
}

static size_t unbalanced(const study_result *r, buf *names) {
    size_t n = 0;
    for(int k = 0; k < STUDY_COVARIATES; k++) {
        if(fabs(r->after[k].smd) < EVAL_SMD_BALANCED) continue;
        if(names) buf_printf(names, "%s%s (%.2f)", n ? ", " : "", study_covariate_name[k], r->after[k].smd);
        n++;
    }
    return n;
}

static void outcome_summary(buf *b, const study_result *r, int s, const char *win, const study_labels *l) {
    const eval_did *d = &r->did[s];
    char aft[32], when[96];
    window_text(r->after_days, aft, sizeof aft);
    if(r->after_days == r->window) snprintf(when, sizeof when, "in the %s after", win);
    else snprintf(when, sizeof when, "after (followed for %s, given per %s)", aft, win);
    double expected = d->after_treated - d->effect.value;
    buf_printf(b,
               "%s %s, per person: %.3f for those %s, against %.3f expected from their own %s "
               "before and the change seen in their matched comparators. Difference %+.3f per person "
               "(95%% interval %+.3f to %+.3f)",
               study_outcome_name[s], when, d->after_treated, l->reached, expected, win, d->effect.value, d->effect.lo,
               d->effect.hi);
    if(!isnan(d->relative.value))
        buf_printf(b, ", a change of %+.1f%% (%+.1f%% to %+.1f%%)", 100 * d->relative.value, 100 * d->relative.lo,
                   100 * d->relative.hi);
    buf_puts(b, ".\n");
    if(excludes_zero(&d->effect))
        buf_printf(b, "  The interval excludes no change: %s %s by more than chance alone would explain, "
                      "if the assumptions below hold.\n",
                   s == STUDY_ADMISSIONS ? "admissions" : "bed days", d->effect.value < 0 ? "fell" : "rose");
    else
        buf_printf(b, "  The interval includes no change: these records cannot tell an effect of this size "
                      "from chance. That is not evidence that the service had no effect.\n");
}

void study_summary(buf *b, const study_result *r, const study_labels *l) {
    char a[11], c[11], win[32];
    window_text(r->window, win, sizeof win);
    buf_printf(b, "Evaluation of %s: records from %s to %s.\n\n", l->service, day_text(r->start, a),
               day_text(r->end - 1, c));
    buf_printf(b, "Who was compared\n");
    char aft[32];
    window_text(r->after_days, aft, sizeof aft);
    if(r->after_days == r->window)
        buf_printf(b, "  %zu people were %s. %zu of them have %s of records before and after (the other "
                      "%zu are left out: reached too early or too late in the records).\n",
                   r->reached, l->reached, r->treated, win, r->outside);
    else
        buf_printf(b, "  %zu people were %s. %zu of them have %s of records before and %s after (the other "
                      "%zu are left out: reached too early or too late in the records). Outcomes after are "
                      "given per %s, to compare with the %s before.\n",
                   r->reached, l->reached, r->treated, win, aft, r->outside, win, win);
    if(!r->treated) return;
    buf_printf(b, "  Possible comparators: %zu people never %s, alive and aged %d or over in the month a "
                  "person was %s (%zu person-months).\n",
               r->control_people, l->reached, r->min_age, l->reached, r->control_rows);
    if(!reportable(r)) {
        buf_printf(b, "\nFewer than %d people could be matched (%zu): nothing more is reported, as counts "
                      "of 1 to 7 are not published.\n",
                   STUDY_MIN_PAIRS, r->match.n_matched);
        return;
    }
    buf_printf(b, "  %zu of the %zu (%.1f%%) were matched one to one with a comparator from the same month "
                  "with the nearest propensity score (within %.3f on the logit scale): similar age, sex, "
                  "deprivation, frailty, long-term conditions, social care and hospital use in the year "
                  "before, in the same cell of frailty and recent admissions. What differences remain are "
                  "adjusted for by regression (bias-corrected matching). The estimates are about these "
                  "matched people.\n",
               r->match.n_matched, r->treated, 100.0 * r->match.n_matched / r->treated, r->match.caliper);
    buf bad;
    buf_init(&bad, 0);
    size_t nb = unbalanced(r, &bad);
    if(!nb)
        buf_printf(b, "  After matching every characteristic is balanced (standardised difference under %.1f).\n",
                   EVAL_SMD_BALANCED);
    else
        buf_printf(b, "  After matching %zu characteristic(s) still differ (standardised difference %.1f or "
                      "more): %s. Treat the estimates with caution.\n",
                   nb, EVAL_SMD_BALANCED, bad.data);
    buf_free(&bad);
    buf_printf(b, "\nWhat changed\n  ");
    outcome_summary(b, r, STUDY_ADMISSIONS, win, l);
    buf_puts(b, "  ");
    outcome_summary(b, r, STUDY_BED_DAYS_OUT, win, l);
    const eval_event_study *e = &r->events;
    buf_printf(b, "\nTrends before\n");
    if(e->k_pre < 2)
        buf_printf(b, "  With one period before, trends before cannot be checked.\n");
    else if(e->pretrend_ok)
        buf_printf(b, "  In the %zu periods of %d days before, the two groups' admissions moved together: no "
                      "period differs from the last one before by more than chance (largest |z| %.2f; Bonferroni-corrected limit for the periods tested). This "
                      "supports, but cannot prove, that they would have moved together afterwards too.\n",
                   e->k_pre, r->window / r->periods, e->pretrend_max_z);
    else
        buf_printf(b, "  WARNING: before they were %s, the groups' admissions were already moving apart "
                      "(largest |z| %.2f over the %zu periods before). The difference after may not be due "
                      "to the service.\n",
                   l->reached, e->pretrend_max_z, e->k_pre);
    buf_printf(b,
               "\nWhat this cannot tell you\n"
               "  - Only recorded characteristics were matched. Anything else that decided who was %s "
               "(clinical judgement, the person's wishes, things not in the record) is not accounted for.\n"
               "  - People chosen after a recent admission tend to have fewer admissions later anyway "
               "(regression to the mean). Matching on the year before and taking differences removes "
               "this only as far as the comparators were at the same point.\n"
               "  - Other changes where the service ran (other services, staffing, winters) cannot be "
               "separated from the service itself.\n"
               "  - Admissions are counted while people are alive; deaths are not an outcome here.\n"
               "  - %zu people with too short a record either side, and %zu who could not be matched, "
               "are not in the estimates.\n",
               l->reached, r->outside, r->treated - r->match.n_matched);
}

static void estimate_json(buf *b, const char *name, const eval_estimate *e) {
    buf_printf(b, "\"%s\":{\"value\":%.6g,\"se\":%.6g,\"lo\":%.6g,\"hi\":%.6g}", name, e->value,
               isnan(e->se) ? 0 : e->se, isnan(e->lo) ? 0 : e->lo, isnan(e->hi) ? 0 : e->hi);
}

void study_json(buf *b, const study_result *r) {
    char a[11], c[11], f[11], l[11];
    bool ok = reportable(r);
    buf_printf(b, "{\"start\":\"%s\",\"end\":\"%s\",\"windowDays\":%d,\"afterDays\":%d,\"periods\":%d,\"minAge\":%d,\"reached\":%zu,"
                  "\"outside\":%zu,\"treated\":%zu,\"controlPeople\":%zu,\"controlRows\":%zu,\"matched\":%zu,",
               day_text(r->start, a), day_text(r->end - 1, c), r->window, r->after_days, r->periods, r->min_age, r->reached,
               r->outside, r->treated, r->control_people, r->control_rows, ok ? r->match.n_matched : 0);
    if(r->treated)
        buf_printf(b, "\"firstIndex\":\"%s\",\"lastIndex\":\"%s\",", day_text(r->first_index, f),
                   day_text(r->last_index, l));
    buf_printf(b, "\"reported\":%s", ok ? "true" : "false");
    if(!ok) {
        buf_puts(b, "}\n");
        return;
    }
    buf_printf(b, ",\"caliper\":%.6g,\"balance\":[", r->match.caliper);
    for(int k = 0; k < STUDY_COVARIATES; k++)
        buf_printf(b, "%s{\"covariate\":\"%s\",\"before\":{\"treated\":%.6g,\"control\":%.6g,\"smd\":%.6g},"
                      "\"after\":{\"treated\":%.6g,\"control\":%.6g,\"smd\":%.6g}}",
                   k ? "," : "", study_covariate_key[k], r->before[k].mean_treated, r->before[k].mean_control,
                   r->before[k].smd, r->after[k].mean_treated, r->after[k].mean_control, r->after[k].smd);
    buf_puts(b, "],\"outcomes\":[");
    for(int s = 0; s < STUDY_OUTCOMES; s++) {
        const eval_did *d = &r->did[s];
        buf_printf(b, "%s{\"outcome\":\"%s\",\"pairs\":%zu,\"beforeTreated\":%.6g,\"afterTreated\":%.6g,"
                      "\"beforeControl\":%.6g,\"afterControl\":%.6g,",
                   s ? "," : "", study_outcome_key[s], d->pairs, d->before_treated, d->after_treated,
                   d->before_control, d->after_control);
        estimate_json(b, "effect", &d->effect);
        buf_putc(b, ',');
        estimate_json(b, "relative", &d->relative);
        buf_putc(b, '}');
    }
    buf_printf(b, "],\"eventStudy\":{\"periodDays\":%d,\"pretrendOk\":%s,\"pretrendMaxZ\":%.4f,\"periods\":[",
               r->window / r->periods, r->events.pretrend_ok ? "true" : "false", r->events.pretrend_max_z);
    for(size_t j = 0; j < r->events.k_pre + r->events.k_post; j++) {
        buf_printf(b, "%s{\"period\":%d,", j ? "," : "", r->events.periods[j].period);
        estimate_json(b, "difference", &r->events.periods[j].diff);
        buf_putc(b, '}');
    }
    buf_puts(b, "]}}\n");
}

void study_balance_csv(buf *b, const study_result *r) {
    buf_puts(b, "covariate,description,mean_treated_before,mean_control_before,smd_before,mean_treated_after,"
                "mean_control_after,smd_after\n");
    if(!reportable(r)) return;
    for(int k = 0; k < STUDY_COVARIATES; k++)
        buf_printf(b, "%s,\"%s\",%.6g,%.6g,%.4f,%.6g,%.6g,%.4f\n", study_covariate_key[k], study_covariate_name[k],
                   r->before[k].mean_treated, r->before[k].mean_control, r->before[k].smd, r->after[k].mean_treated,
                   r->after[k].mean_control, r->after[k].smd);
}

void study_effects_csv(buf *b, const study_result *r) {
    buf_puts(b, "outcome,pairs,before_treated,after_treated,before_control,after_control,effect,effect_lo,effect_hi,"
                "relative,relative_lo,relative_hi\n");
    if(!reportable(r)) return;
    for(int s = 0; s < STUDY_OUTCOMES; s++) {
        const eval_did *d = &r->did[s];
        buf_printf(b, "%s,%zu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", study_outcome_key[s], d->pairs,
                   d->before_treated, d->after_treated, d->before_control, d->after_control, d->effect.value,
                   d->effect.lo, d->effect.hi, d->relative.value, d->relative.lo, d->relative.hi);
    }
}

void study_events_csv(buf *b, const study_result *r) {
    buf_puts(b, "period,first_day,last_day,difference,lo,hi\n");
    if(!reportable(r)) return;
    int len = r->window / r->periods;
    for(size_t j = 0; j < r->events.k_pre + r->events.k_post; j++) {
        const eval_period *p = &r->events.periods[j];
        buf_printf(b, "%d,%d,%d,%.6g,%.6g,%.6g\n", p->period, p->period * len, p->period * len + len - 1,
                   p->diff.value, p->diff.lo, p->diff.hi);
    }
}

void study_events_svg(buf *b, const study_result *r) {
    if(!reportable(r)) return;
    size_t n = r->events.k_pre + r->events.k_post;
    svg_interval v[2 * EVAL_MAX_PERIODS];
    char text[2 * EVAL_MAX_PERIODS][16];
    const char *labels[2 * EVAL_MAX_PERIODS];
    for(size_t j = 0; j < n; j++) {
        const eval_period *p = &r->events.periods[j];
        v[j] = (svg_interval){p->period, p->diff.value, p->diff.lo, p->diff.hi};
        snprintf(text[j], sizeof text[j], "%+d", p->period);
        labels[j] = text[j];
    }
    char ylabel[96];
    snprintf(ylabel, sizeof ylabel, "Difference in admissions per person per %d days", r->window / r->periods);
    spc_svg_opts o = {.title = "Emergency admissions: treated less matched comparators, by period",
                      .desc = "Event study. Each period's difference is measured against the period just before "
                              "the index date (period -1, zero by construction). Periods before the dashed line "
                              "should be near zero if the groups moved together before.",
                      .x_label = "Period relative to the index date (0 = the first period after)",
                      .y_label = ylabel,
                      .labels = labels};
    svg_interval_chart(b, v, n, -0.5, &o);
}

static void html_table_balance(buf *b, const study_result *r) {
    buf_puts(b, "<table><thead><tr><th>Characteristic at the index date</th><th>Treated</th><th>All possible "
                "comparators</th><th>SMD before</th><th>Matched comparators</th><th>SMD after</th></tr></thead><tbody>\n");
    for(int k = 0; k < STUDY_COVARIATES; k++) {
        const eval_balance_row *x = &r->before[k], *y = &r->after[k];
        buf_printf(b, "<tr><td>%s</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td class=\"%s\">%.3f</td></tr>\n",
                   study_covariate_name[k], y->mean_treated, x->mean_control, x->smd, y->mean_control,
                   fabs(y->smd) < EVAL_SMD_BALANCED ? "ok" : "warn", y->smd);
    }
    buf_puts(b, "</tbody></table>\n");
}

static void html_escape(buf *b, const char *s) {
    svg_xml_escape(b, s);
}

void study_html(buf *b, const study_result *r, const study_labels *l) {
    buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Kith evaluation: ");
    html_escape(b, l->service);
    buf_puts(b, "</title>\n<style>body{font-family:Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
                "color:#212b32}pre{white-space:pre-wrap;background:#f0f4f5;padding:1rem;border-left:4px solid #005eb8}"
                "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d8dde0;padding:.3rem .6rem;"
                "text-align:right}td:first-child,th:first-child{text-align:left}.warn{background:#fff2cc}"
                "h1{color:#005eb8}</style></head><body>\n<h1>Evaluation: ");
    html_escape(b, l->service);
    buf_puts(b, "</h1>\n<h2>Summary</h2>\n<pre>");
    buf s;
    buf_init(&s, 0);
    study_summary(&s, r, l);
    html_escape(b, s.data ? s.data : "");
    buf_free(&s);
    buf_puts(b, "</pre>\n");
    if(reportable(r)) {
        buf_puts(b, "<h2>Effects (difference-in-differences over matched pairs)</h2>\n<table><thead><tr><th>Outcome"
                    "</th><th>Pairs</th><th>Treated before</th><th>Treated after</th><th>Comparators before</th>"
                    "<th>Comparators after</th><th>Effect per person (95% CI)</th><th>Relative (95% CI)</th></tr>"
                    "</thead><tbody>\n");
        for(int k = 0; k < STUDY_OUTCOMES; k++) {
            const eval_did *d = &r->did[k];
            buf_printf(b, "<tr><td>%s</td><td>%zu</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td>"
                          "<td>%+.3f (%+.3f to %+.3f)</td><td>%+.1f%% (%+.1f%% to %+.1f%%)</td></tr>\n",
                       study_outcome_name[k], d->pairs, d->before_treated, d->after_treated, d->before_control,
                       d->after_control, d->effect.value, d->effect.lo, d->effect.hi, 100 * d->relative.value,
                       100 * d->relative.lo, 100 * d->relative.hi);
        }
        buf_puts(b, "</tbody></table>\n<h2>Trends before and after (event study)</h2>\n");
        study_events_svg(b, r);
        buf_puts(b, "<h2>Balance</h2>\n<p>Standardised mean differences (SMD) of 0.1 or more are highlighted.</p>\n");
        html_table_balance(b, r);
    }
    buf_puts(b, "<p>Method: docs/evaluation.md in the Kith source. Made by <code>kith evaluate</code>.</p>\n"
                "</body></html>\n");
}
