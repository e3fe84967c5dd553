/*
 * study.h — an evaluation study over a population extract (src/pop/pop.h):
 * who a service reached and when, a comparison group matched on what their
 * records said at the same time, and what happened to both before and after
 * (docs/evaluation.md). The statistics are evaluate.h's; this file decides
 * which people, which dates and which numbers go into them.
 *
 *   - The treated: people whose first intervention event (by default an MDT
 *     discussion) falls where the records cover `window` days either side.
 *     Their index date is that day.
 *   - Possible controls (risk-set sampling): for each calendar month in
 *     which someone was treated, every person never reached by the service,
 *     alive and at least min_age on that month's index date (the median
 *     index date of the people treated in it). A person is a possible
 *     control in every month they qualify and is used at most once.
 *   - Covariates at the index date (study_covariate): age, sex, deprivation,
 *     eFI, long-term conditions, emergency admissions, bed days and A&E
 *     attendances in the year before, a recent discharge, how long since the
 *     last admission, social care. Matching is exact on coarse cells of
 *     frailty category and the number and recency of admissions in the year
 *     before (who was admitted last month differs from who was admitted last
 *     winter), and by propensity score within them.
 *   - Outcomes: emergency admissions and emergency bed days in the window
 *     before and the window after the index date, and admissions in each of
 *     `periods` equal parts of both windows for the event study.
 *
 * Single-threaded; the extract is only read.
 */
#ifndef KITH_EVAL_STUDY_H
#define KITH_EVAL_STUDY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "eval/evaluate.h"
#include "pop/pop.h"

typedef enum study_covariate {
    STUDY_AGE,
    STUDY_FEMALE,
    STUDY_DEPRIVATION, /* (10 - decile) / 9 */
    STUDY_EFI,
    STUDY_LTC,
    STUDY_PRIOR,       /* emergency admissions in the year before, at most 3 */
    STUDY_BED_DAYS,    /* log(1 + emergency bed days in the year before) */
    STUDY_RECENT,      /* discharged from an emergency stay in the 30 days before */
    STUDY_SINCE,       /* years since the last emergency admission began, at most 1 (1: none in the year) */
    STUDY_INPATIENT,   /* in hospital on the day (admitted before it, not yet discharged) */
    STUDY_AE,          /* A&E attendances in the year before, at most 5 */
    STUDY_SOCIAL_CARE, /* receiving a council-funded service on the day */
    STUDY_COVARIATES
} study_covariate;

extern const char *const study_covariate_key[STUDY_COVARIATES];
extern const char *const study_covariate_name[STUDY_COVARIATES];

typedef enum study_outcome { STUDY_ADMISSIONS, STUDY_BED_DAYS_OUT, STUDY_OUTCOMES } study_outcome;
extern const char *const study_outcome_key[STUDY_OUTCOMES];
extern const char *const study_outcome_name[STUDY_OUTCOMES];

typedef struct study_opts {
    int intervention;   /* pop_event_kind of the service (POP_MDT_DISCUSSION) */
    int32_t start, end; /* the records cover days [start, end); POP_NEVER: from the events */
    int window;         /* days before the index date (0: 365) */
    int after;          /* days after it (0: the same as window); outcomes after are scaled to
                           the window's length, so they stay comparable with those before */
    int periods;        /* event-study periods in each window (0: 4) */
    int min_age;        /* possible controls' least age; -1: the youngest treated person's */
    double caliper_sd;  /* 0: EVAL_CALIPER_SD */
    bool replace;       /* match with replacement (eval_match_strata) */
    eval_boot boot;
} study_opts;

typedef struct study_result {
    int32_t start, end;            /* the period the records cover, as used */
    int window, after_days, periods, min_age; /* after_days: the window after */
    size_t reached;                /* people the service reached at any time */
    size_t outside;                /* of them, without the whole window either side */
    size_t treated;                /* in the study */
    size_t control_rows, control_people; /* possible controls (person-months) and the people */
    size_t cell_rows;              /* of the possible controls' rows, those in a cell with someone treated */
    int32_t first_index, last_index;     /* the treated people's index dates */
    eval_match match;              /* rows: see row_* */
    eval_balance_row before[STUDY_COVARIATES], after[STUDY_COVARIATES];
    eval_did did[STUDY_OUTCOMES];
    eval_event_study events;       /* emergency admissions per period */
    /* every row (treated and possible controls): */
    size_t nrows;
    uint32_t *row_person;          /* index into the extract's people */
    int32_t *row_index;            /* index date */
    bool *row_treated;
} study_result;

/*
 * Run the study over the finished extract x (read with POP_WANT_EFI and
 * POP_WANT_EVENTS). KITH_ENOTFOUND (with a message in err) when nobody was
 * reached or nobody has the whole window, KITH_EINVAL when the groups cannot
 * be matched or the options are out of range. Free with study_free (also
 * after a failure).
 */
kith_rc study_run(const pop_extract *x, const study_opts *o, study_result *out, char *err, size_t errlen);
void study_free(study_result *r);

/* Outcome counts of person p over [from, to): emergency admissions that
 * began in it, and emergency bed days that fall in it. */
void study_outcomes(const pop_extract *x, const pop_person *p, int32_t from, int32_t to, double *admissions,
                    double *bed_days);

#endif
