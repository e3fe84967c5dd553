/*
 * study.c — an evaluation study over a population extract (see study.h).
 *
 * Rows are person-dates: one per treated person (their first contact with
 * the service) and one per possible control per month with treated people
 * in it. Covariates come from src/pop/risk.c's features on the index date,
 * so the study sees a person the way the admission risk model does. The
 * possible controls of a month are sampled (controls_per_treated of them per
 * treated person, by a seeded shuffle) when there are more, which keeps
 * memory in proportion to the treated rather than to the place.
 */
#include "eval/study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/mem.h"
#include "pop/efi.h"
#include "pop/risk.h"
#include "synth/rng.h"

const char *const study_covariate_key[STUDY_COVARIATES] = {
    "age", "female", "deprivation", "efi", "long-term-conditions", "prior-admissions", "prior-bed-days",
    "recent-discharge", "years-since-admission", "in-hospital", "ae-attendances", "social-care"};
const char *const study_covariate_name[STUDY_COVARIATES] = {
    "Age (years)",
    "Female",
    "Deprivation (1 most, 0 least deprived decile)",
    "Electronic Frailty Index",
    "Long-term conditions",
    "Emergency admissions, year before (max 3)",
    "Emergency bed days, year before (log 1+)",
    "Discharged from an emergency stay in the 30 days before",
    "Years since the last emergency admission (max 1)",
    "In hospital on the index date",
    "A&E attendances, year before (max 5)",
    "Receiving council-funded social care"};
const char *const study_outcome_key[STUDY_OUTCOMES] = {"emergency-admissions", "emergency-bed-days"};
const char *const study_outcome_name[STUDY_OUTCOMES] = {"Emergency admissions", "Emergency bed days"};

#define CONTROLS_PER_TREATED 20

void study_outcomes(const pop_extract *x, const pop_person *p, int32_t from, int32_t to, double *admissions,
                    double *bed_days) {
    *admissions = *bed_days = 0;
    for(uint32_t i = 0; i < p->event_n; i++) {
        const pop_event *e = &x->events[p->event_lo + i];
        if(e->kind != POP_EMERGENCY_ADMISSION) continue;
        if(e->from >= from && e->from < to) *admissions += 1;
        int32_t a = e->from > from ? e->from : from, b = e->to == POP_OPEN || e->to > to ? to : e->to;
        if(b > a) *bed_days += b - a;
    }
}

/* The day person p was first reached by the service, or POP_NEVER. */
static int32_t first_contact(const pop_extract *x, const pop_person *p, int kind) {
    for(uint32_t i = 0; i < p->event_n; i++) /* events are in time order */
        if(x->events[p->event_lo + i].kind == kind) return x->events[p->event_lo + i].from;
    return POP_NEVER;
}

static bool usable(const pop_person *p) {
    return p->seen && !p->social_only && p->alias == UINT32_MAX && p->birth != POP_NEVER;
}

static int32_t month_of(int32_t day) {
    int y, m, d;
    datetime_civil_from_days(day, &y, &m, &d);
    return y * 12 + (m - 1);
}

/* The records' first and last day: the span of hospital events. */
static void records_span(const pop_extract *x, int32_t *start, int32_t *end) {
    int32_t lo = POP_OPEN, hi = POP_NEVER;
    for(size_t i = 0; i < x->nevents; i++) {
        const pop_event *e = &x->events[i];
        if(e->kind == POP_SOCIAL_CARE) continue;
        if(e->from < lo) lo = e->from;
        if(e->from > hi) hi = e->from;
    }
    *start = lo;
    *end = hi == POP_NEVER ? POP_NEVER : hi + 1;
}

typedef struct rows {
    size_t n, cap;
    uint32_t *person;
    int32_t *index, *stratum;
    bool *treated;
} rows;

static void rows_add(rows *r, uint32_t person, int32_t index, bool treated) {
    if(r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->person = xrealloc(r->person, r->cap * sizeof *r->person);
        r->index = xrealloc(r->index, r->cap * sizeof *r->index);
        r->stratum = xrealloc(r->stratum, r->cap * sizeof *r->stratum);
        r->treated = xrealloc(r->treated, r->cap * sizeof *r->treated);
    }
    r->person[r->n] = person;
    r->index[r->n] = index;
    r->stratum[r->n] = month_of(index);
    r->treated[r->n++] = treated;
}

static int day_cmp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int person_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Covariates of person p on day into f[STUDY_COVARIATES]. */
static void covariates(const pop_extract *x, const pop_person *p, int32_t day, double *f) {
    double r[RISK_FEATURES], adm, bed;
    risk_features(x, p, day, r);
    study_outcomes(x, p, day - 365, day, &adm, &bed);
    f[STUDY_AGE] = pop_age(p, day);
    f[STUDY_FEMALE] = r[RISK_FEMALE];
    f[STUDY_DEPRIVATION] = r[RISK_DEPRIVATION];
    f[STUDY_EFI] = r[RISK_EFI];
    f[STUDY_LTC] = r[RISK_LTC];
    f[STUDY_PRIOR] = r[RISK_PRIOR];
    f[STUDY_BED_DAYS] = log1p(bed);
    f[STUDY_RECENT] = r[RISK_RECENT];
    int32_t last = POP_NEVER;
    f[STUDY_INPATIENT] = 0;
    for(uint32_t i = 0; i < p->event_n; i++) {
        const pop_event *e = &x->events[p->event_lo + i];
        bool stay = e->kind == POP_EMERGENCY_ADMISSION || e->kind == POP_ELECTIVE_ADMISSION;
        if(e->kind == POP_EMERGENCY_ADMISSION && e->from < day && e->from > last) last = e->from;
        if(stay && e->from < day && (e->to == POP_OPEN || e->to >= day)) f[STUDY_INPATIENT] = 1;
    }
    f[STUDY_SINCE] = last == POP_NEVER || day - last >= 365 ? 1 : (day - last) / 365.0;
    f[STUDY_AE] = r[RISK_AE];
    f[STUDY_SOCIAL_CARE] = r[RISK_SOCIAL_CARE];
}

/* Add month's possible controls (index date day): everyone never reached who
 * is alive and old enough then, sampled down to `want` by a seeded shuffle. */
static void add_controls(const pop_extract *x, const int32_t *reached, int32_t day, int min_age, size_t want,
                         synth_rng *rng, rows *r, uint32_t *scratch) {
    size_t k = 0;
    for(size_t i = 0; i < x->npeople; i++) {
        const pop_person *p = &x->people[i];
        if(reached[i] != POP_NEVER || !usable(p) || p->death <= day || pop_age(p, day) < min_age) continue;
        scratch[k++] = (uint32_t)i;
    }
    if(want && k > want) {
        for(size_t i = 0; i < want; i++) { /* the first `want` of a Fisher-Yates shuffle */
            size_t j = i + synth_rng_below(rng, (uint32_t)(k - i));
            uint32_t t = scratch[i];
            scratch[i] = scratch[j];
            scratch[j] = t;
        }
        k = want;
        qsort(scratch, k, sizeof *scratch, person_cmp); /* person order: the result does not depend on the draw order */
    }
    for(size_t i = 0; i < k; i++) rows_add(r, scratch[i], day, false);
}

/* Coarsened exact matching: people are only matched within the same cell of
 * frailty category (fit, mild, moderate, severe), emergency admissions in the
 * year before (0, 1, 2 or more) and when the last began (in the 30 days
 * before, 31-91, 92-365): seven admission classes; and whether the person is
 * in hospital that day. */
#define STUDY_CELLS 56
static int32_t coarse_cell(const double *f) {
    int frailty = efi_category_of_score(f[STUDY_EFI]);
    int prior = f[STUDY_PRIOR] >= 2 ? 2 : (int)f[STUDY_PRIOR];
    double days = f[STUDY_SINCE] * 365;
    int when = days <= 30 ? 0 : days <= 91 ? 1 : 2;
    return (frailty * 7 + (prior ? 1 + (prior - 1) * 3 + when : 0)) * 2 + (f[STUDY_INPATIENT] > 0);
}

/* Solve a x = b for n unknowns (a n x n, row-major; both overwritten) by
 * Gaussian elimination with partial pivoting. False when a is singular. */
static bool solve(double *a, double *b, size_t n) {
    for(size_t k = 0; k < n; k++) {
        size_t piv = k;
        for(size_t i = k + 1; i < n; i++)
            if(fabs(a[i * n + k]) > fabs(a[piv * n + k])) piv = i;
        if(fabs(a[piv * n + k]) < 1e-12) return false;
        if(piv != k) {
            for(size_t j = 0; j < n; j++) {
                double t = a[k * n + j];
                a[k * n + j] = a[piv * n + j];
                a[piv * n + j] = t;
            }
            double t = b[k];
            b[k] = b[piv];
            b[piv] = t;
        }
        for(size_t i = k + 1; i < n; i++) {
            double f = a[i * n + k] / a[k * n + k];
            for(size_t j = k; j < n; j++) a[i * n + j] -= f * a[k * n + j];
            b[i] -= f * b[k];
        }
    }
    for(size_t k = n; k-- > 0;) {
        for(size_t j = k + 1; j < n; j++) b[k] -= a[k * n + j] * b[j];
        b[k] /= a[k * n + k];
    }
    return true;
}

/*
 * Difference-in-differences over the pairs of m with the bias correction of
 * Abadie and Imbens (2011, J Bus Econ Stat 29:1): what differences remain
 * between a person and their comparator after matching are priced by a
 * linear regression of the change (after - before) on the covariates among
 * the matched comparators (with a whisker of ridge), and each comparator's
 * change is moved by that price times the pair's difference. Pairs where
 * matching was exact are not changed. The bootstrap then resamples the
 * corrected pairs (the regression is not refitted in each resample).
 */
#define RIDGE 1e-6
static kith_rc corrected_did(const eval_match *m, const double *cov, const double *before, const double *after,
                             eval_boot boot, eval_did *out) {
    enum { K = STUDY_COVARIATES + 1 };
    size_t np = m->n_matched;
    double xtx[K * K] = {0}, xty[K] = {0}, row[K];
    for(size_t i = 0; i < np; i++) {
        size_t c = m->control[i];
        row[0] = 1;
        memcpy(row + 1, cov + c * STUDY_COVARIATES, STUDY_COVARIATES * sizeof *row);
        double dy = after[c] - before[c];
        for(size_t j = 0; j < K; j++) {
            xty[j] += row[j] * dy;
            for(size_t k = 0; k < K; k++) xtx[j * K + k] += row[j] * row[k];
        }
    }
    for(size_t j = 1; j < K; j++) xtx[j * K + j] += RIDGE * (np + 1.0);
    bool fitted = solve(xtx, xty, K); /* xty now holds the coefficients */
    double *b2 = xmalloc(2 * np * sizeof *b2), *a2 = xmalloc(2 * np * sizeof *a2);
    size_t *t2 = xmalloc(np * sizeof *t2), *c2 = xmalloc(np * sizeof *c2);
    for(size_t i = 0; i < np; i++) {
        size_t t = m->treated[i], c = m->control[i];
        double shift = 0;
        for(size_t j = 0; j < STUDY_COVARIATES && fitted; j++)
            shift += xty[j + 1] * (cov[t * STUDY_COVARIATES + j] - cov[c * STUDY_COVARIATES + j]);
        b2[i] = before[t];
        a2[i] = after[t];
        b2[np + i] = before[c];
        a2[np + i] = after[c] + shift;
        t2[i] = i;
        c2[i] = np + i;
    }
    eval_match pairs = {.n_treated = m->n_treated, .n_control = m->n_control, .n_matched = np, .treated = t2,
                        .control = c2, .caliper = m->caliper};
    kith_rc rc = eval_did_run(&pairs, b2, a2, boot, out);
    out->before_control = 0;
    out->after_control = 0;
    for(size_t i = 0; i < np; i++) { /* the comparators' own means, as they were */
        out->before_control += before[m->control[i]] / np;
        out->after_control += after[m->control[i]] / np;
    }
    free(b2);
    free(a2);
    free(t2);
    free(c2);
    return rc;
}

static int stratum_cmp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Keep only the rows (with their covariates) whose stratum, month and cell,
 * holds someone treated: a comparator elsewhere can never be matched, and
 * fitting the propensity model on them would let the many people unlike
 * anyone treated decide its coefficients. Treated rows come first and stay. */
static void keep_shared_cells(rows *r, double *cov) {
    size_t nt = 0;
    while(nt < r->n && r->treated[nt]) nt++;
    int32_t *cells = xmalloc((nt ? nt : 1) * sizeof *cells);
    memcpy(cells, r->stratum, nt * sizeof *cells);
    qsort(cells, nt, sizeof *cells, stratum_cmp);
    size_t k = nt;
    for(size_t i = nt; i < r->n; i++) {
        if(!bsearch(&r->stratum[i], cells, nt, sizeof *cells, stratum_cmp)) continue;
        r->person[k] = r->person[i];
        r->index[k] = r->index[i];
        r->stratum[k] = r->stratum[i];
        r->treated[k] = r->treated[i];
        memmove(cov + k * STUDY_COVARIATES, cov + i * STUDY_COVARIATES, STUDY_COVARIATES * sizeof *cov);
        k++;
    }
    r->n = k;
    free(cells);
}

static kith_rc fail(char *err, size_t errlen, kith_rc rc, const char *msg) {
    snprintf(err, errlen, "%s", msg);
    return rc;
}

kith_rc study_run(const pop_extract *x, const study_opts *o, study_result *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->window = o->window ? o->window : 365;
    out->after_days = o->after ? o->after : out->window;
    out->periods = o->periods ? o->periods : 4;
    if(out->window < 28 || out->window > 3660 || out->after_days < 28 || out->after_days > 3660 || out->periods < 1 ||
       out->periods > EVAL_MAX_PERIODS || out->after_days / (out->window / out->periods) > EVAL_MAX_PERIODS)
        return fail(err, errlen, KITH_EINVAL, "the windows must be 28 to 3660 days and hold at most 120 periods");
    records_span(x, &out->start, &out->end);
    if(o->start != POP_NEVER) out->start = o->start;
    if(o->end != POP_NEVER) out->end = o->end;
    if(out->start == POP_OPEN || out->end == POP_NEVER || out->end <= out->start)
        return fail(err, errlen, KITH_ENOTFOUND, "the records hold no admissions or attendances to date them by");

    kith_rc rc = KITH_OK;
    int32_t *reached = xmalloc((x->npeople ? x->npeople : 1) * sizeof *reached);
    uint32_t *scratch = xmalloc((x->npeople ? x->npeople : 1) * sizeof *scratch);
    int32_t *days = xmalloc((x->npeople ? x->npeople : 1) * sizeof *days);
    double *cov = NULL, *logit = NULL, *out_before[STUDY_OUTCOMES] = {0}, *out_after[STUDY_OUTCOMES] = {0}, *y = NULL;
    rows r = {0};
    int youngest = 200;
    out->first_index = POP_OPEN;
    out->last_index = POP_NEVER;
    for(size_t i = 0; i < x->npeople; i++) {
        const pop_person *p = &x->people[i];
        reached[i] = usable(p) ? first_contact(x, p, o->intervention) : POP_NEVER;
        if(reached[i] == POP_NEVER) continue;
        out->reached++;
        int32_t d = reached[i];
        if(d - out->window < out->start || d + out->after_days > out->end) {
            out->outside++;
            continue;
        }
        rows_add(&r, (uint32_t)i, d, true);
        if(pop_age(p, d) < youngest) youngest = pop_age(p, d);
        if(d < out->first_index) out->first_index = d;
        if(d > out->last_index) out->last_index = d;
    }
    out->treated = r.n;
    if(!out->reached) {
        rc = fail(err, errlen, KITH_ENOTFOUND, "nobody in the records was reached by the service");
        goto done;
    }
    if(!out->treated) {
        rc = fail(err, errlen, KITH_ENOTFOUND,
                  "nobody reached by the service has records for the whole window before and after");
        goto done;
    }
    out->min_age = o->min_age >= 0 ? o->min_age : youngest;

    /* possible controls, month by month in date order */
    size_t nt = r.n;
    for(size_t i = 0; i < nt; i++) days[i] = r.index[i];
    qsort(days, nt, sizeof *days, day_cmp);
    synth_rng rng;
    synth_rng_seed(&rng, o->boot.seed, 0x63746c31); /* "ctl1": the control sampling's own stream */
    for(size_t lo = 0, hi; lo < nt; lo = hi) {
        for(hi = lo; hi < nt && month_of(days[hi]) == month_of(days[lo]); hi++) {}
        int32_t median = days[lo + (hi - lo) / 2];
        add_controls(x, reached, median, out->min_age, (hi - lo) * CONTROLS_PER_TREATED, &rng, &r, scratch);
    }
    out->control_rows = r.n - nt;
    memset(scratch, 0, (x->npeople ? x->npeople : 1) * sizeof *scratch);
    for(size_t i = nt; i < r.n; i++) out->control_people += !scratch[r.person[i]]++;
    if(!out->control_rows) {
        rc = fail(err, errlen, KITH_ENOTFOUND, "nobody the service did not reach is alive and old enough to compare with");
        goto done;
    }

    /* covariates, the propensity score and the matching */
    cov = xmalloc(r.n * STUDY_COVARIATES * sizeof *cov);
    logit = xmalloc(r.n * sizeof *logit);
    for(size_t i = 0; i < r.n; i++) {
        double *f = cov + i * STUDY_COVARIATES;
        covariates(x, &x->people[r.person[i]], r.index[i], f);
        r.stratum[i] = r.stratum[i] * STUDY_CELLS + coarse_cell(f);
    }
    eval_data all = {.n = r.n, .p = STUDY_COVARIATES, .x = cov, .treated = r.treated};
    eval_balance(&all, NULL, out->before, NULL);
    keep_shared_cells(&r, cov);
    out->cell_rows = r.n - nt;
    eval_data d = {.n = r.n, .p = STUDY_COVARIATES, .x = cov, .treated = r.treated};
    if(eval_propensity(&d, logit)) {
        rc = fail(err, errlen, KITH_EINVAL, "the propensity model could not be fitted");
        goto done;
    }
    rc = eval_match_strata(logit, r.treated, r.stratum, r.person, r.n, o->caliper_sd, o->replace, &out->match);
    if(!rc && !out->match.n_matched) rc = KITH_EINVAL;
    if(rc) {
        rc = fail(err, errlen, KITH_EINVAL, "no one reached by the service has a comparable person to match with");
        goto done;
    }
    eval_balance(&d, &out->match, NULL, out->after);

    /* outcomes either side of the index date */
    int len = out->window / out->periods;
    size_t k_post = (size_t)(out->after_days / len), k = (size_t)out->periods + k_post;
    double scale = (double)out->window / out->after_days; /* after, per the length of the window before */
    for(int s = 0; s < STUDY_OUTCOMES; s++) {
        out_before[s] = xmalloc(r.n * sizeof *out_before[s]);
        out_after[s] = xmalloc(r.n * sizeof *out_after[s]);
    }
    y = xmalloc(r.n * k * sizeof *y);
    for(size_t i = 0; i < r.n; i++) {
        const pop_person *p = &x->people[r.person[i]];
        int32_t t = r.index[i];
        study_outcomes(x, p, t - out->window, t, &out_before[STUDY_ADMISSIONS][i], &out_before[STUDY_BED_DAYS_OUT][i]);
        study_outcomes(x, p, t, t + out->after_days, &out_after[STUDY_ADMISSIONS][i], &out_after[STUDY_BED_DAYS_OUT][i]);
        out_after[STUDY_ADMISSIONS][i] *= scale;
        out_after[STUDY_BED_DAYS_OUT][i] *= scale;
        for(size_t j = 0; j < k; j++) {
            int32_t from = t + ((int)j - out->periods) * len;
            double bed;
            study_outcomes(x, p, from, from + len, &y[i * k + j], &bed);
        }
    }
    for(int s = 0; s < STUDY_OUTCOMES && !rc; s++)
        rc = corrected_did(&out->match, cov, out_before[s], out_after[s], o->boot, &out->did[s]);
    if(!rc) rc = eval_event_study_run(&out->match, y, (size_t)out->periods, k_post, o->boot, &out->events);
    if(rc) {
        rc = fail(err, errlen, KITH_EINVAL, "the bootstrap settings are out of range");
        goto done;
    }
    out->nrows = r.n;
    out->row_person = r.person;
    out->row_index = r.index;
    out->row_treated = r.treated;
    r.person = NULL;
    r.index = NULL;
    r.treated = NULL;
done:
    free(reached);
    free(scratch);
    free(days);
    free(cov);
    free(logit);
    free(y);
    for(int s = 0; s < STUDY_OUTCOMES; s++) {
        free(out_before[s]);
        free(out_after[s]);
    }
    free(r.person);
    free(r.index);
    free(r.stratum);
    free(r.treated);
    return rc;
}

void study_free(study_result *r) {
    eval_match_free(&r->match);
    free(r->row_person);
    free(r->row_index);
    free(r->row_treated);
    r->row_person = NULL;
    r->row_index = NULL;
    r->row_treated = NULL;
}
