/*
 * measures.h — the integration indicators of issue 8 that a place's records
 * support (hospital stays and attendances, MDT actions, social care
 * requests, and a snapshot of open Tasks), month by month, for the place,
 * each locality, neighbourhood and practice, and the cohort of people aged
 * 65 and over, with small numbers suppressed (docs/indicators.md has the
 * definitions).
 *
 * measures_compute counts everything in one pass over the people of a
 * finished records (src/report/records.h), leaving out people with the
 * national data opt-out and council-only records, then turns the counts
 * into estimates with src/report/indicator: every count of 1 to 7 is
 * hidden, and in each month the next smallest count among the units of a
 * level too when exactly one is hidden (so the place total cannot give it
 * back). An estimate made from a hidden count is hidden with it (NaN).
 *
 * Pure computation over borrowed records; the result owns its arrays (free
 * with measures_free). Thread-safe for different results.
 */
#ifndef KITH_REPORT_MEASURES_H
#define KITH_REPORT_MEASURES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "report/indicator.h"
#include "report/records.h"
#include "report/spc.h"

typedef enum measure_id {
    MEASURE_EMERGENCY_ADMISSIONS = 0, /* DSR (ESP2013) per 1,000 person-years */
    MEASURE_BED_DAYS,                 /* emergency bed days per 1,000 person-years */
    MEASURE_READMISSIONS,             /* % of discharges followed by an emergency admission within 30 days */
    MEASURE_AE_ATTENDANCES,           /* per 1,000 person-years */
    MEASURE_DELAYED_DAYS,             /* days from discharge-ready to discharge per 1,000 adult person-years */
    MEASURE_DAYS_AT_HOME,             /* days alive and not in hospital per person-year */
    MEASURE_HOME_91_DAYS,             /* ASCOF 2B(1)-style: % at home 91 days after discharge on pathway 1, 65+ */
    MEASURE_MDT_ACTIONS_ON_TIME,      /* % of MDT actions due in the month done by their due date */
    MEASURE_COUNT
} measure_id;

typedef enum measure_level {
    LEVEL_PLACE = 0,
    LEVEL_LOCALITY,
    LEVEL_NEIGHBOURHOOD,
    LEVEL_PRACTICE,
    LEVEL_COHORT,
    LEVEL_COUNT
} measure_level;

/* What an indicator is: names, unit and its written definition. Static. */
typedef struct measure_info {
    const char *key;         /* as in the CSV: emergency_admissions_dsr, ... */
    const char *title;
    const char *scale;       /* "per 1,000 person-years", "%", ... */
    const char *numerator, *denominator, *exclusions, *method;
    spc_polarity polarity;
    bool proportion;         /* a funnel of proportions (else rates), when funnel */
    bool funnel;             /* compare neighbourhoods in a funnel plot */
    int follow_up;           /* days after a month's end its figures need (0: none) */
} measure_info;
extern const measure_info measure_infos[MEASURE_COUNT];

/* A unit of a level: the place, a locality, a neighbourhood, a practice or the cohort. */
typedef struct measure_area {
    measure_level level;
    char code[72];  /* Organization id; "place"; "aged-65-and-over" */
    char name[96];
} measure_area;

/* One indicator for one area and month. num and den are what the value is
 * made of (for a DSR, den is person-years); count is the count that decides
 * suppression (admissions, stays, people). When suppressed, value, lo and
 * hi are NaN, and num (and den, when it is a count) must not be shown:
 * den_hidden says so. available is false for a month whose follow-up
 * (30 or 91 days) runs past the end of the data: nothing to show. */
typedef struct measure_cell {
    double num, den;
    int64_t count;
    indicator_estimate est;
    bool den_hidden;
    bool available;
} measure_cell;

/* Delayed stays and days by reason, for one area over a period. */
typedef struct measure_reasons {
    int64_t stays[RECORDS_DELAY_REASONS];
    double days[RECORDS_DELAY_REASONS];
    bool hidden[RECORDS_DELAY_REASONS];
} measure_reasons;

/* Tasks open on the count day, for one area: the snapshot indicators "open
 * tasks without an owner" (without_owner of open) and "overdue tasks"
 * (overdue of with_due). A hidden count must not be shown, nor a share made
 * from it. */
typedef struct measure_tasks {
    int64_t open;          /* open or on hold, made before the count day */
    int64_t without_owner; /* of those, with no owner */
    int64_t with_due;      /* open, not on hold, with a due date */
    int64_t overdue;       /* of those, due before the count day */
    bool open_hidden, without_owner_hidden, with_due_hidden, overdue_hidden;
} measure_tasks;

typedef struct measures {
    int first_year, first_month; /* month 0 */
    size_t months;
    int32_t data_end;            /* the last day the records cover */
    measure_area *areas;
    size_t nareas;
    measure_cell *cells;         /* [measure][area][month] */
    measure_reasons *reasons_by_area;  /* [area]: over the last min(12, months) months */
    measure_reasons *reasons_by_month; /* [month]: the place */
    size_t window;               /* months in the reasons_by_area period (the latest ones) */
    int32_t task_day;            /* the count day of the task snapshot, RECORDS_NONE when not asked */
    measure_tasks *tasks;        /* [area]: the snapshot on task_day (NULL when not asked) */
    long tasks_counted;          /* Tasks in the snapshot (place) */
    size_t noutcomes;            /* social care request outcomes (0: no requests read) */
    const char **outcomes;       /* their texts, borrowed from the records */
    int64_t *requests_by_area;   /* [area][outcome]: requests completed in the window */
    bool *requests_by_area_hidden;
    int64_t *requests_by_month;  /* [month][outcome]: the place */
    bool *requests_by_month_hidden;
    long requests_counted;       /* requests completed in the period (place) */
    long people, excluded_opt_out, excluded_council_only, excluded_no_birth;
    /* The risk pyramids: people alive at data_end by the level of their stored
     * frailty and admission-risk assessments, [assessment][area][level], with
     * suppression (1-7 and secondary across each level's table). */
    int64_t *pyramid;
    bool *pyramid_hidden;
    long pyramid_people[RECORDS_ASSESSMENTS]; /* people with that assessment (place) */
} measures;

/* The pyramid count of assessment k, area a, level l (and whether hidden). */
int64_t measures_pyramid(const measures *m, int k, size_t a, int l, bool *hidden);

/* Count and estimate every indicator for months first_year-first_month on,
 * `months` of them (1 to INDICATOR_MAX_MONTHS), and the task snapshot on
 * task_day (RECORDS_NONE: none; MDT actions on time are then not reported,
 * else for the months ended before task_day). KITH_EINVAL for a bad period or unfinished
 * records (*out zeroed). */
kith_rc measures_compute(const records *r, int first_year, int first_month, size_t months, int32_t task_day,
                         measures *out);
void measures_free(measures *m);

/* The cell of measure k, area a, month t (borrowed). */
const measure_cell *measures_cell(const measures *m, measure_id k, size_t a, size_t t);

/* Short names for levels ("place", "locality", ...); borrowed. */
const char *measure_level_name(measure_level l);

/* The month label of month t, "YYYY-MM". */
void measures_month_label(const measures *m, size_t t, char out[8]);

#endif
