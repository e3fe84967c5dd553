/*
 * measures.c — monthly integration indicators from a place's hospital
 * records (see measures.h; the definitions are docs/indicators.md).
 *
 * One pass over the people: each person adds their person-days (by
 * five-year age band at the middle of the month), hospital days, stays,
 * attendances, discharges and delays to the accumulators of every area
 * they belong to that month (the place, their practice's locality,
 * neighbourhood and practice, and the 65-and-over cohort when they are 65
 * or over at the middle of the month). Then each accumulator becomes an
 * estimate, and suppression runs across each level's units month by month.
 */
#include "report/measures.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/mem.h"

#define BANDS INDICATOR_ESP2013_BANDS
#define DAYS_PER_YEAR 365.25
#define READMISSION_DAYS 30
#define AT_HOME_DAYS 91
#define COHORT_AGE 65
#define ADULT_AGE 18
#define MAX_AREAS_OF_PERSON 5

const measure_info measure_infos[MEASURE_COUNT] = {
    [MEASURE_EMERGENCY_ADMISSIONS] =
        {"emergency_admissions_dsr", "Emergency admissions, age-standardised", "per 1,000 person-years (ESP2013)",
         "emergency admissions (an inpatient Encounter typed emergency-admission, admitted from A&E, or with an NHS "
         "admission method 21-2D) starting in the month",
         "person-years lived in the month by registered people, by five-year age band at the middle of the month",
         "people with the national data opt-out; council-only records; people with no birth date",
         "directly age-standardised to the 2013 European Standard Population (19 bands), 95% CI by Dobson's method "
         "with Byar's limits; a monthly rate expressed per 1,000 person-years (annualised)",
         SPC_POLARITY_LOWER_BETTER, false, true, 0},
    [MEASURE_BED_DAYS] =
        {"emergency_bed_days", "Emergency bed days", "per 1,000 person-years",
         "nights spent in hospital in the month during emergency admissions (a stay from day a to day b occupies "
         "the nights a to b-1; a same-day stay none; a stay not yet ended counts to the end of the data)",
         "person-years lived in the month by registered people", "as emergency admissions",
         "crude rate; no confidence interval (bed days are not Poisson counts); hidden when 1 to 7 stays "
         "contribute",
         SPC_POLARITY_LOWER_BETTER, false, false, 0},
    [MEASURE_READMISSIONS] =
        {"readmissions_30d", "Emergency readmissions within 30 days", "% of discharges",
         "discharges in the denominator followed by an emergency admission starting 0 to 30 days after the "
         "discharge day",
         "discharges alive (any inpatient stay, discharge destination not death) in the month",
         "stays ending in death; months whose 30-day follow-up runs past the end of the data",
         "proportion with Wilson's 95% CI", SPC_POLARITY_LOWER_BETTER, true, true, READMISSION_DAYS},
    [MEASURE_AE_ATTENDANCES] =
        {"ae_attendances", "A&E attendances", "per 1,000 person-years",
         "A&E attendances (Encounter class EMER) starting in the month",
         "person-years lived in the month by registered people", "as emergency admissions",
         "crude rate with Byar's 95% CI", SPC_POLARITY_LOWER_BETTER, false, true, 0},
    [MEASURE_DELAYED_DAYS] =
        {"delayed_discharge_days", "Delayed discharge days", "per 1,000 adult person-years",
         "days from the discharge-ready date (medically optimised) to discharge, for inpatient stays discharged "
         "alive in the month",
         "person-years lived in the month by registered people aged 18 and over",
         "stays ending in death; stays with no discharge-ready date",
         "crude rate, no confidence interval (days are not Poisson counts); hidden when 1 to 7 delayed stays "
         "contribute; the reasons are tabulated separately",
         SPC_POLARITY_LOWER_BETTER, false, false, 0},
    [MEASURE_DAYS_AT_HOME] =
        {"days_at_home", "Days at home", "days per person-year",
         "days alive in the month minus nights in hospital (any inpatient stay)",
         "person-years alive in the month", "as emergency admissions",
         "(days alive - days in hospital) / person-years; no confidence interval", SPC_POLARITY_HIGHER_BETTER,
         false, false, 0},
    [MEASURE_HOME_91_DAYS] =
        {"at_home_91_days", "Still at home 91 days after discharge into reablement (ASCOF 2B(1)-style)",
         "% of discharges",
         "discharges in the denominator where the person is alive, not in hospital, and has not been discharged "
         "to a care home, on the 91st day after discharge",
         "discharges alive of people aged 65 and over in the month on discharge pathway 1 (home with reablement "
         "or rehabilitation)",
         "months whose 91-day follow-up runs past the end of the data",
         "proportion with Wilson's 95% CI; counts discharges, where ASCOF counts people discharged in October to "
         "December",
         SPC_POLARITY_HIGHER_BETTER, true, true, AT_HOME_DAYS},
    [MEASURE_MDT_ACTIONS_ON_TIME] =
        {"mdt_actions_on_time", "MDT actions done on time", "% of actions due",
         "actions in the denominator completed (executionPeriod.end, else lastModified) on or before their due date",
         "actions agreed at an MDT meeting (Tasks coded task-code|mdt-action) due (restriction.period.end) in the month",
         "actions cancelled, rejected or entered in error; months not yet ended on the day the report runs",
         "proportion with Wilson's 95% CI; the Tasks as they stand now", SPC_POLARITY_HIGHER_BETTER, true, false, 0},
};

static const char *const LEVEL_NAME[LEVEL_COUNT] = {"place", "locality", "neighbourhood", "practice", "cohort"};

const char *measure_level_name(measure_level l) {
    return (unsigned)l < LEVEL_COUNT ? LEVEL_NAME[l] : "?";
}

/* What one area adds up in one month. */
typedef struct acc {
    double pop[BANDS]; /* person-days by band */
    double emerg[BANDS];
    double adult, alive, hosp, bed_days, delay_days;
    int64_t people, emerg_n, ae, bed_stays, delay_stays, readm_num, readm_den, home_num, home_den, mdt_due, mdt_on_time;
} acc;

typedef struct run {
    const records *r;
    measures *m;
    int32_t *start; /* months + 1 month start days */
    int *age_mid;   /* months: the current person's age on the 15th (-1 before birth) */
    acc *acc;       /* [area][month] */
    size_t cohort;  /* area index of the cohort */
} run;

static int band_of(int age) {
    if(age < 0) age = 0;
    return age / 5 < BANDS - 1 ? age / 5 : BANDS - 1;
}

/* Month index of day, or -1 outside the period. */
static long month_of(const run *u, int32_t day) {
    if(day < u->start[0] || day >= u->start[u->m->months]) return -1;
    int y, mo, d;
    datetime_civil_from_days(day, &y, &mo, &d);
    return (long)(y - u->m->first_year) * 12 + (mo - u->m->first_month);
}

static acc *at(const run *u, size_t area, long t) {
    return &u->acc[area * u->m->months + (size_t)t];
}

static int32_t stay_end(const run *u, const records_stay *s) {
    return s->to == RECORDS_OPEN ? u->m->data_end + 1 : s->to;
}

static int64_t overlap(int32_t a0, int32_t a1, int32_t b0, int32_t b1) {
    int32_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi > lo ? (int64_t)hi - lo : 0;
}

/* The areas the current person is in during month t (the cohort when 65+ on the 15th). */
static size_t areas_in_month(const run *u, const size_t *base, size_t nbase, long t, size_t *out) {
    memcpy(out, base, nbase * sizeof *out);
    if(u->age_mid[t] >= COHORT_AGE) out[nbase++] = u->cohort;
    return nbase;
}

/* Is the person at home on day d: alive, in no stay, not discharged to a
 * care home since stay i? */
static bool at_home_on(const run *u, const records_person *p, size_t i, int32_t d) {
    if(p->death != RECORDS_OPEN && p->death <= d) return false;
    for(uint32_t k = 0; k < p->stay_n; k++) {
        const records_stay *s = &u->r->stays[p->stay_lo + k];
        if(s->kind == RECORDS_AE_ATTENDANCE) continue;
        if(s->from <= d && d < stay_end(u, s)) return false;
        if(k > i && s->to != RECORDS_OPEN && s->to <= d && s->destination == RECORDS_DEST_CARE_HOME) return false;
    }
    return true;
}

static void add_person(run *u, const records_person *p, const size_t *base, size_t nbase) {
    const records *r = u->r;
    measures *m = u->m;
    size_t areas[MAX_AREAS_OF_PERSON], n;
    int32_t end_alive = p->death == RECORDS_OPEN ? INT32_MAX : p->death;
    int by, bm, bd;
    datetime_civil_from_days(p->birth, &by, &bm, &bd);
    for(size_t t = 0; t < m->months; t++) { /* age on the 15th, as records_age gives it */
        long mm = (long)m->first_month - 1 + (long)t, y = m->first_year + mm / 12, mo = mm % 12 + 1;
        u->age_mid[t] = (int)(y - by) - (mo < bm || (mo == bm && 15 < bd));
    }
    for(size_t t = 0; t < m->months; t++) { /* person-time and hospital days */
        int32_t lo = u->start[t] > p->birth ? u->start[t] : p->birth;
        int32_t hi = u->start[t + 1] < end_alive ? u->start[t + 1] : end_alive;
        if(hi <= lo) continue;
        int age = u->age_mid[t];
        int b = band_of(age);
        double hosp = 0;
        for(uint32_t k = 0; k < p->stay_n; k++) {
            const records_stay *s = &r->stays[p->stay_lo + k];
            if(s->kind != RECORDS_AE_ATTENDANCE) hosp += (double)overlap(s->from, stay_end(u, s), lo, hi);
        }
        n = areas_in_month(u, base, nbase, (long)t, areas);
        for(size_t a = 0; a < n; a++) {
            acc *c = at(u, areas[a], (long)t);
            c->pop[b] += hi - lo;
            c->alive += hi - lo;
            if(age >= ADULT_AGE) c->adult += hi - lo;
            c->hosp += hosp;
            c->people++;
        }
    }
    for(uint32_t k = 0; k < p->stay_n; k++) {
        size_t i = p->stay_lo + k;
        const records_stay *s = &r->stays[i];
        long t = month_of(u, s->from);
        if(s->kind == RECORDS_AE_ATTENDANCE) {
            if(t < 0) continue;
            n = areas_in_month(u, base, nbase, t, areas);
            for(size_t a = 0; a < n; a++) at(u, areas[a], t)->ae++;
            continue;
        }
        if(s->kind == RECORDS_EMERGENCY_ADMISSION) {
            if(t >= 0) {
                int b = band_of(u->age_mid[t]);
                n = areas_in_month(u, base, nbase, t, areas);
                for(size_t a = 0; a < n; a++) {
                    at(u, areas[a], t)->emerg[b]++;
                    at(u, areas[a], t)->emerg_n++;
                }
            }
            for(size_t bt = 0; bt < m->months; bt++) { /* bed days, night by night into months */
                int64_t nights = overlap(s->from, stay_end(u, s), u->start[bt], u->start[bt + 1]);
                if(!nights) continue;
                n = areas_in_month(u, base, nbase, (long)bt, areas);
                for(size_t a = 0; a < n; a++) {
                    at(u, areas[a], (long)bt)->bed_days += (double)nights;
                    at(u, areas[a], (long)bt)->bed_stays++;
                }
            }
        }
        if(s->to == RECORDS_OPEN || s->destination == RECORDS_DEST_DIED) continue;
        long dt = month_of(u, s->to);
        if(dt < 0) continue;
        bool readmitted = false;
        for(uint32_t j = k + 1; j < p->stay_n; j++) {
            const records_stay *x = &r->stays[p->stay_lo + j];
            if(x->from > s->to + READMISSION_DAYS) break;
            if(x->kind == RECORDS_EMERGENCY_ADMISSION && x->from >= s->to) readmitted = true;
        }
        int32_t delay = records_delay_days(s);
        bool reablement = s->pathway == 1 && records_age(p, s->to) >= COHORT_AGE;
        bool home = reablement && at_home_on(u, p, k, s->to + AT_HOME_DAYS);
        n = areas_in_month(u, base, nbase, dt, areas);
        bool in_window = (size_t)dt >= m->months - m->window;
        for(size_t a = 0; a < n; a++) {
            acc *c = at(u, areas[a], dt);
            c->readm_den++;
            c->readm_num += readmitted;
            if(delay > 0) {
                c->delay_days += delay;
                c->delay_stays++;
                if(in_window) {
                    m->reasons_by_area[areas[a]].stays[s->reason]++;
                    m->reasons_by_area[areas[a]].days[s->reason] += delay;
                }
            }
            c->home_den += reablement;
            c->home_num += home;
        }
        if(delay > 0) {
            m->reasons_by_month[dt].stays[s->reason]++;
            m->reasons_by_month[dt].days[s->reason] += delay;
        }
    }
}

/* ---- areas ---------------------------------------------------------------- */

static int by_level_name(const void *a, const void *b) {
    const measure_area *x = a, *y = b;
    if(x->level != y->level) return x->level < y->level ? -1 : 1;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->code, y->code);
}

static size_t add_area(measures *m, size_t *cap, measure_level level, const char *code, const char *name) {
    if(m->nareas == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        m->areas = xrealloc(m->areas, *cap * sizeof *m->areas);
    }
    measure_area *a = &m->areas[m->nareas];
    memset(a, 0, sizeof *a);
    a->level = level;
    snprintf(a->code, sizeof a->code, "%s", code);
    snprintf(a->name, sizeof a->name, "%s", name);
    return m->nareas++;
}

/* Areas for the place, every practice people are registered with, their
 * neighbourhoods and localities, and the cohort; *unit_area[level][unit]
 * gets each unit's area index (SIZE_MAX when none). */
static void make_areas(const records *r, measures *m, size_t *unit_area[LEVEL_COUNT]) {
    size_t cap = 0;
    uint8_t *role = xcalloc(r->nunits + 1, 1); /* the level of each unit, 0 none */
    for(size_t i = 0; i < r->npeople; i++) {
        uint16_t u = r->people[i].practice;
        if(u == RECORDS_NO_UNIT || role[u]) continue;
        role[u] = LEVEL_PRACTICE;
        uint16_t n = records_parent(r, u);
        if(n != RECORDS_NO_UNIT && !role[n]) role[n] = LEVEL_NEIGHBOURHOOD;
        uint16_t l = n == RECORDS_NO_UNIT ? RECORDS_NO_UNIT : records_parent(r, n);
        if(l != RECORDS_NO_UNIT && !role[l]) role[l] = LEVEL_LOCALITY;
    }
    add_area(m, &cap, LEVEL_PLACE, "place", "The place");
    for(size_t u = 0; u < r->nunits; u++)
        if(role[u]) add_area(m, &cap, (measure_level)role[u], r->units[u].id, r->units[u].name);
    add_area(m, &cap, LEVEL_COHORT, "aged-65-and-over", "People aged 65 and over");
    qsort(m->areas, m->nareas, sizeof *m->areas, by_level_name);
    for(int l = 0; l < LEVEL_COUNT; l++) {
        unit_area[l] = xmalloc((r->nunits + 1) * sizeof **unit_area);
        for(size_t u = 0; u <= r->nunits; u++) unit_area[l][u] = SIZE_MAX;
    }
    for(size_t a = 0; a < m->nareas; a++) { /* units by id: ids are unique among units */
        for(size_t u = 0; u < r->nunits; u++)
            if(role[u] == m->areas[a].level && strcmp(r->units[u].id, m->areas[a].code) == 0) unit_area[role[u]][u] = a;
    }
    free(role);
}

/* The areas a person always belongs to: the place, and their practice's
 * locality, neighbourhood and practice where known. Returns how many. */
static size_t person_areas(const records *r, size_t *const unit_area[LEVEL_COUNT], const records_person *p,
                           size_t *out) {
    size_t n = 0;
    out[n++] = 0; /* the place sorts first */
    uint16_t prac = p->practice, nbh = records_parent(r, prac), loc = records_parent(r, nbh);
    if(loc != RECORDS_NO_UNIT && unit_area[LEVEL_LOCALITY][loc] != SIZE_MAX) out[n++] = unit_area[LEVEL_LOCALITY][loc];
    if(nbh != RECORDS_NO_UNIT && unit_area[LEVEL_NEIGHBOURHOOD][nbh] != SIZE_MAX) out[n++] = unit_area[LEVEL_NEIGHBOURHOOD][nbh];
    if(prac != RECORDS_NO_UNIT && unit_area[LEVEL_PRACTICE][prac] != SIZE_MAX) out[n++] = unit_area[LEVEL_PRACTICE][prac];
    return n;
}

/* ---- estimates ------------------------------------------------------------ */

static void set_hidden(measure_cell *c) {
    c->est.suppressed = true;
    c->est.value = c->est.lo = c->est.hi = NAN;
}

static void estimate(const measures *m, measure_id k, const acc *c, bool available, measure_cell *out) {
    memset(out, 0, sizeof *out);
    out->est.value = out->est.lo = out->est.hi = NAN;
    out->available = available && c->alive > 0;
    if(!out->available) return;
    double py = c->alive / DAYS_PER_YEAR;
    switch(k) {
    case MEASURE_EMERGENCY_ADMISSIONS: {
        double ev[BANDS], pop[BANDS], w[BANDS];
        size_t nb = 0;
        for(int b = 0; b < BANDS; b++) {
            if(!(c->pop[b] > 0)) continue; /* no one in the band: it drops out (weights renormalised) */
            ev[nb] = c->emerg[b];
            pop[nb] = c->pop[b] / DAYS_PER_YEAR;
            w[nb++] = indicator_esp2013[b];
        }
        out->count = c->emerg_n;
        out->num = (double)c->emerg_n;
        out->den = py;
        if(nb == 0 || indicator_dsr(ev, pop, w, nb, 1000, &out->est)) out->available = false;
        break;
    }
    case MEASURE_BED_DAYS:
        out->count = c->bed_stays;
        out->num = c->bed_days;
        out->den = py;
        out->est = (indicator_estimate){.value = c->bed_days / py * 1000, .lo = NAN, .hi = NAN};
        if(indicator_count_hidden(c->bed_stays)) set_hidden(out);
        break;
    case MEASURE_AE_ATTENDANCES:
        out->count = c->ae;
        out->num = (double)c->ae;
        out->den = py;
        if(indicator_crude_rate(c->ae, py, 1000, &out->est)) out->available = false;
        break;
    case MEASURE_DELAYED_DAYS:
        out->count = c->delay_stays;
        out->num = c->delay_days;
        out->den = c->adult / DAYS_PER_YEAR;
        out->est = (indicator_estimate){.value = out->den > 0 ? c->delay_days / out->den * 1000 : NAN, .lo = NAN, .hi = NAN};
        if(!(out->den > 0)) out->available = false;
        if(indicator_count_hidden(c->delay_stays)) set_hidden(out);
        break;
    case MEASURE_DAYS_AT_HOME:
        out->count = c->people;
        out->num = c->alive - c->hosp;
        out->den = py;
        out->est.lo = out->est.hi = NAN;
        if(indicator_days_at_home(c->alive, c->hosp > c->alive ? c->alive : c->hosp, py, &out->est.value))
            out->available = false;
        if(indicator_count_hidden(c->people)) set_hidden(out);
        break;
    case MEASURE_READMISSIONS:
    case MEASURE_HOME_91_DAYS:
    case MEASURE_MDT_ACTIONS_ON_TIME: {
        int64_t num = k == MEASURE_READMISSIONS ? c->readm_num : k == MEASURE_HOME_91_DAYS ? c->home_num : c->mdt_on_time;
        int64_t den = k == MEASURE_READMISSIONS ? c->readm_den : k == MEASURE_HOME_91_DAYS ? c->home_den : c->mdt_due;
        out->count = num;
        out->num = (double)num;
        out->den = (double)den;
        out->den_hidden = indicator_count_hidden(den);
        if(den == 0) break; /* nothing to divide: no value, nothing hidden */
        indicator_proportion(num, den, &out->est);
        out->est.value *= 100;
        out->est.lo *= 100;
        out->est.hi *= 100;
        if(out->den_hidden) set_hidden(out);
        break;
    }
    default: break;
    }
    (void)m;
}

/* The secondary rule within each level below the place: counts[a] for every
 * area a (a count hidden for another reason given as 1); sets hidden[a] for
 * each area of a level whose row of counts (a 1 x n table: the place's total
 * is published) needs it. */
static void secondary_by_level(const measures *m, const int64_t *counts, bool *hidden) {
    size_t *idx = xmalloc(m->nareas * sizeof *idx);
    int64_t *row = xmalloc(m->nareas * sizeof *row);
    bool *out = xmalloc(m->nareas * sizeof *out);
    for(size_t a = 0; a < m->nareas; a++) hidden[a] = false;
    for(int l = LEVEL_LOCALITY; l <= LEVEL_PRACTICE; l++) {
        size_t n = 0;
        for(size_t a = 0; a < m->nareas; a++)
            if(m->areas[a].level == (measure_level)l) {
                row[n] = counts[a];
                idx[n++] = a;
            }
        if(n < 2 || indicator_suppress_table(row, 1, n, out)) continue;
        for(size_t i = 0; i < n; i++) hidden[idx[i]] = out[i];
    }
    free(idx);
    free(row);
    free(out);
}

/* Hide, month by month, the next smallest count among a level's units when
 * exactly one is hidden. */
static void suppress_levels(measures *m, measure_id k) {
    int64_t *counts = xmalloc(m->nareas * sizeof *counts);
    bool *hidden = xmalloc(m->nareas * sizeof *hidden);
    for(size_t t = 0; t < m->months; t++) {
        for(size_t a = 0; a < m->nareas; a++) {
            const measure_cell *c = measures_cell(m, k, a, t);
            counts[a] = c->available ? c->count : 0;
            if(c->available && c->est.suppressed && !indicator_count_hidden(c->count)) counts[a] = 1; /* hidden for its denominator */
        }
        secondary_by_level(m, counts, hidden);
        for(size_t a = 0; a < m->nareas; a++) {
            measure_cell *c = &m->cells[((size_t)k * m->nareas + a) * m->months + t];
            if(hidden[a] && c->available && !c->est.suppressed) set_hidden(c);
        }
    }
    free(counts);
    free(hidden);
}

/* Secondary suppression of an areas x categories table of counts (cells,
 * row-major, one row per area): the areas of each level are one table
 * (whose column totals the place's row publishes); sets hidden alike. */
static void suppress_area_table(const measures *m, const int64_t *cells, size_t cols, bool *hidden) {
    if(!cols) return;
    int64_t *sub = xmalloc(m->nareas * cols * sizeof *sub);
    bool *out = xmalloc(m->nareas * cols * sizeof *out);
    size_t *idx = xmalloc(m->nareas * sizeof *idx);
    for(int l = 0; l < LEVEL_COUNT; l++) {
        size_t n = 0;
        for(size_t a = 0; a < m->nareas; a++)
            if(m->areas[a].level == (measure_level)l) {
                memcpy(sub + n * cols, cells + a * cols, cols * sizeof *sub);
                idx[n++] = a;
            }
        if(!n || indicator_suppress_table(sub, n, cols, out)) continue;
        for(size_t i = 0; i < n; i++) memcpy(hidden + idx[i] * cols, out + i * cols, cols * sizeof *out);
    }
    free(sub);
    free(out);
    free(idx);
}

/* Secondary suppression of the reason tables: the areas of each level over
 * the window (rows: areas, columns: reasons), and the place by month. */
static void suppress_reason_tables(measures *m) {
    const size_t K = RECORDS_DELAY_REASONS, rows = m->nareas > m->months ? m->nareas : m->months;
    int64_t *cells = xmalloc(rows * K * sizeof *cells);
    bool *hidden = xcalloc(rows * K, sizeof *hidden);
    for(size_t a = 0; a < m->nareas; a++) memcpy(cells + a * K, m->reasons_by_area[a].stays, K * sizeof *cells);
    suppress_area_table(m, cells, K, hidden);
    for(size_t a = 0; a < m->nareas; a++) memcpy(m->reasons_by_area[a].hidden, hidden + a * K, K * sizeof *hidden);
    for(size_t t = 0; t < m->months; t++) memcpy(cells + t * K, m->reasons_by_month[t].stays, K * sizeof *cells);
    if(!indicator_suppress_table(cells, m->months, K, hidden))
        for(size_t t = 0; t < m->months; t++) memcpy(m->reasons_by_month[t].hidden, hidden + t * K, K * sizeof *hidden);
    free(cells);
    free(hidden);
}

/* The risk pyramids (see measures.h): everyone counted who is alive on the
 * last day of the data, by their stored assessments' levels. */
static void count_pyramids(const records *r, measures *m, size_t *const unit_area[LEVEL_COUNT], size_t cohort) {
    const size_t per = m->nareas * RECORDS_LEVELS;
    m->pyramid = xcalloc(RECORDS_ASSESSMENTS * per, sizeof *m->pyramid);
    m->pyramid_hidden = xcalloc(RECORDS_ASSESSMENTS * per, sizeof *m->pyramid_hidden);
    for(size_t i = 0; i < r->npeople; i++) {
        const records_person *p = &r->people[i];
        if(p->opted_out || p->social_only || p->birth == RECORDS_NONE || p->death <= m->data_end) continue;
        size_t areas[MAX_AREAS_OF_PERSON], n = person_areas(r, unit_area, p, areas);
        if(records_age(p, m->data_end) >= COHORT_AGE) areas[n++] = cohort;
        for(int k = 0; k < RECORDS_ASSESSMENTS; k++) {
            if(p->level[k] < 0) continue;
            m->pyramid_people[k]++;
            for(size_t a = 0; a < n; a++) m->pyramid[k * per + areas[a] * RECORDS_LEVELS + (size_t)p->level[k]]++;
        }
    }
    for(int k = 0; k < RECORDS_ASSESSMENTS; k++)
        suppress_area_table(m, m->pyramid + k * per, RECORDS_LEVELS, m->pyramid_hidden + k * per);
}

int64_t measures_pyramid(const measures *m, int k, size_t a, int l, bool *hidden) {
    size_t at = ((size_t)k * m->nareas + a) * RECORDS_LEVELS + (size_t)l;
    if(hidden) *hidden = m->pyramid_hidden[at];
    return m->pyramid[at];
}

/* Requests for social care completed in the period by outcome: per area
 * over the window, and for the place by month, suppressed as the reasons. */
static void count_requests(const records *r, measures *m, size_t *const unit_area[LEVEL_COUNT], const run *u) {
    size_t K = m->noutcomes = r->noutcomes;
    if(!K) return;
    m->outcomes = xmalloc(K * sizeof *m->outcomes);
    for(size_t k = 0; k < K; k++) m->outcomes[k] = r->outcomes[k];
    m->requests_by_area = xcalloc(m->nareas * K, sizeof *m->requests_by_area);
    m->requests_by_area_hidden = xcalloc(m->nareas * K, sizeof *m->requests_by_area_hidden);
    m->requests_by_month = xcalloc(m->months * K, sizeof *m->requests_by_month);
    m->requests_by_month_hidden = xcalloc(m->months * K, sizeof *m->requests_by_month_hidden);
    for(size_t i = 0; i < r->nrequests; i++) {
        const records_request *q = &r->requests[i];
        const records_person *p = &r->people[q->person];
        long t = q->done == RECORDS_NONE ? -1 : month_of(u, q->done);
        if(p->opted_out || t < 0) continue;
        m->requests_by_month[(size_t)t * K + q->outcome]++;
        m->requests_counted++;
        if((size_t)t < m->months - m->window) continue;
        size_t areas[MAX_AREAS_OF_PERSON], n = person_areas(r, unit_area, p, areas);
        if(records_age(p, q->done) >= COHORT_AGE) areas[n++] = u->cohort;
        for(size_t a = 0; a < n; a++) m->requests_by_area[areas[a] * K + q->outcome]++;
    }
    suppress_area_table(m, m->requests_by_area, K, m->requests_by_area_hidden);
    indicator_suppress_table(m->requests_by_month, m->months, K, m->requests_by_month_hidden);
}

/* ---- tasks ---------------------------------------------------------------- */

/* Hide counts of 1 to 7 (and a numerator whose denominator is hidden), then
 * across each level's units the next smallest when exactly one is hidden. */
static void suppress_task_pair(measures *m, size_t num_off, size_t den_off, size_t num_hidden_off,
                               size_t den_hidden_off) {
#define FIELD(a, off, type) (*(type *)((char *)&m->tasks[a] + (off)))
    int64_t *counts = xmalloc(m->nareas * sizeof *counts);
    bool *hidden = xmalloc(m->nareas * sizeof *hidden);
    for(size_t a = 0; a < m->nareas; a++) {
        FIELD(a, den_hidden_off, bool) = indicator_count_hidden(FIELD(a, den_off, int64_t));
        FIELD(a, num_hidden_off, bool) =
            indicator_count_hidden(FIELD(a, num_off, int64_t)) || FIELD(a, den_hidden_off, bool);
        counts[a] = FIELD(a, num_hidden_off, bool) ? 1 : FIELD(a, num_off, int64_t);
    }
    secondary_by_level(m, counts, hidden);
    for(size_t a = 0; a < m->nareas; a++)
        if(hidden[a]) FIELD(a, num_hidden_off, bool) = true;
#undef FIELD
    free(counts);
    free(hidden);
}

static void count_tasks(const records *r, measures *m, size_t *const unit_area[LEVEL_COUNT], size_t cohort) {
    m->tasks = xcalloc(m->nareas, sizeof *m->tasks);
    for(size_t i = 0; i < r->ntasks; i++) {
        const records_task *t = &r->tasks[i];
        const records_person *p = &r->people[t->person];
        if(p->opted_out || t->state == RECORDS_TASK_CLOSED || t->authored == RECORDS_NONE || t->authored >= m->task_day)
            continue; /* made on the count day (under a day old) or undated: not yet expected to have an owner */
        size_t areas[MAX_AREAS_OF_PERSON], n = person_areas(r, unit_area, p, areas);
        if(records_age(p, m->task_day) >= COHORT_AGE) areas[n++] = cohort;
        bool due = t->state == RECORDS_TASK_OPEN && t->due != RECORDS_NONE;
        for(size_t a = 0; a < n; a++) {
            measure_tasks *c = &m->tasks[areas[a]];
            c->open++;
            c->without_owner += !t->has_owner;
            c->with_due += due;
            c->overdue += due && t->due < m->task_day;
        }
        m->tasks_counted++;
    }
    suppress_task_pair(m, offsetof(measure_tasks, without_owner), offsetof(measure_tasks, open),
                       offsetof(measure_tasks, without_owner_hidden), offsetof(measure_tasks, open_hidden));
    suppress_task_pair(m, offsetof(measure_tasks, overdue), offsetof(measure_tasks, with_due),
                       offsetof(measure_tasks, overdue_hidden), offsetof(measure_tasks, with_due_hidden));
}

/* MDT actions due in each month and done by their due date, into the
 * accumulators (by the person's areas; the cohort by age on the due day). */
static void count_mdt_actions(const records *r, run *u, size_t *const unit_area[LEVEL_COUNT], int32_t task_day) {
    for(size_t i = 0; i < r->ntasks; i++) {
        const records_task *t = &r->tasks[i];
        const records_person *p = &r->people[t->person];
        long mt = t->due == RECORDS_NONE ? -1 : month_of(u, t->due);
        if(!t->mdt_action || t->cancelled || p->opted_out || mt < 0 || t->due >= task_day) continue;
        size_t areas[MAX_AREAS_OF_PERSON], n = person_areas(r, unit_area, p, areas);
        if(records_age(p, t->due) >= COHORT_AGE) areas[n++] = u->cohort;
        bool on_time = t->done != RECORDS_NONE && t->done <= t->due;
        for(size_t a = 0; a < n; a++) {
            at(u, areas[a], mt)->mdt_due++;
            at(u, areas[a], mt)->mdt_on_time += on_time;
        }
    }
}

/* ---- the whole ------------------------------------------------------------ */

kith_rc measures_compute(const records *r, int first_year, int first_month, size_t months, int32_t task_day,
                         measures *out) {
    memset(out, 0, sizeof *out);
    if(!r || !r->finished || first_month < 1 || first_month > 12 || months == 0 || months > INDICATOR_MAX_MONTHS ||
       first_year < 1900 || first_year > 9999)
        return KITH_EINVAL;
    measures *m = out;
    m->first_year = first_year;
    m->first_month = first_month;
    m->months = months;
    m->window = months < 12 ? months : 12;
    run u = {.r = r, .m = m};
    u.start = xmalloc((months + 1) * sizeof *u.start);
    for(size_t t = 0; t <= months; t++) {
        long mm = (long)first_month - 1 + (long)t;
        u.start[t] = (int32_t)datetime_days_from_civil(first_year + mm / 12, (int)(mm % 12) + 1, 1);
    }
    m->data_end = r->last_day == RECORDS_NONE ? u.start[months] - 1 : r->last_day;
    size_t *unit_area[LEVEL_COUNT];
    make_areas(r, m, unit_area);
    for(size_t a = 0; a < m->nareas; a++)
        if(m->areas[a].level == LEVEL_COHORT) u.cohort = a;
    u.acc = xcalloc(m->nareas * months, sizeof *u.acc);
    u.age_mid = xmalloc(months * sizeof *u.age_mid);
    m->reasons_by_area = xcalloc(m->nareas, sizeof *m->reasons_by_area);
    m->reasons_by_month = xcalloc(months, sizeof *m->reasons_by_month);
    for(size_t i = 0; i < r->npeople; i++) {
        const records_person *p = &r->people[i];
        if(p->opted_out) {
            m->excluded_opt_out++;
            continue;
        }
        if(p->social_only) {
            m->excluded_council_only++;
            continue;
        }
        if(p->birth == RECORDS_NONE) {
            m->excluded_no_birth++;
            continue;
        }
        m->people++;
        size_t base[MAX_AREAS_OF_PERSON], nbase = person_areas(r, unit_area, p, base);
        add_person(&u, p, base, nbase);
    }
    if(task_day != RECORDS_NONE) count_mdt_actions(r, &u, unit_area, task_day);
    m->cells = xcalloc((size_t)MEASURE_COUNT * m->nareas * months, sizeof *m->cells);
    for(int k = 0; k < MEASURE_COUNT; k++) {
        int follow = measure_infos[k].follow_up;
        for(size_t a = 0; a < m->nareas; a++)
            for(size_t t = 0; t < months; t++) {
                bool available = k == MEASURE_MDT_ACTIONS_ON_TIME ? task_day != RECORDS_NONE && u.start[t + 1] <= task_day
                                                                  : (int64_t)u.start[t + 1] - 1 + follow <= m->data_end;
                estimate(m, (measure_id)k, at(&u, a, (long)t), available,
                         &m->cells[((size_t)k * m->nareas + a) * months + t]);
            }
        suppress_levels(m, (measure_id)k);
    }
    suppress_reason_tables(m);
    m->task_day = task_day;
    if(task_day != RECORDS_NONE) count_tasks(r, m, unit_area, u.cohort);
    count_requests(r, m, unit_area, &u);
    count_pyramids(r, m, unit_area, u.cohort);
    for(int l = 0; l < LEVEL_COUNT; l++) free(unit_area[l]);
    free(u.acc);
    free(u.age_mid);
    free(u.start);
    return KITH_OK;
}

void measures_free(measures *m) {
    if(!m) return;
    free(m->pyramid);
    free(m->pyramid_hidden);
    free(m->areas);
    free(m->cells);
    free(m->reasons_by_area);
    free(m->reasons_by_month);
    free(m->tasks);
    free(m->outcomes);
    free(m->requests_by_area);
    free(m->requests_by_area_hidden);
    free(m->requests_by_month);
    free(m->requests_by_month_hidden);
    memset(m, 0, sizeof *m);
}

const measure_cell *measures_cell(const measures *m, measure_id k, size_t a, size_t t) {
    return &m->cells[((size_t)k * m->nareas + a) * m->months + t];
}

void measures_month_label(const measures *m, size_t t, char out[8]) {
    size_t mm = (size_t)m->first_month - 1 + t;
    unsigned y = (unsigned)((size_t)m->first_year + mm / 12) % 10000, mo = (unsigned)(mm % 12) + 1;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + mo / 10);
    out[6] = (char)('0' + mo % 10);
    out[7] = '\0';
}
