/*
 * risk.h — the emergency admission risk model: the chance that a person is
 * admitted to hospital as an emergency in the 12 months after a day, from
 * what their record says on that day.
 *
 * Features (risk_feature): age band, sex, deprivation, the eFI, long-term
 * conditions, emergency admissions and A&E attendances in the past year, a
 * recent emergency discharge, council-funded social care, and an MDT
 * discussion. The model is logistic, fitted by IRLS with a small ridge
 * penalty (glm.h) on 70% of people and judged on the other 30% (a fixed
 * split by a hash of the Patient id). It is stored as Library/ear-model and
 * each person's prediction as RiskAssessment/ear-<Patient id>.
 *
 * To compare with a synthetic place's ground truth, a second model is
 * fitted the way the generator works: one row per person per 30-day step
 * (replayed from the record: a step ends early at an admission and the next
 * starts the day after discharge), a complementary log-log link with the
 * log of the step's length as offset, so that its coefficients are the
 * log hazard ratios of src/synth/synth.c's emergency_hazard. See
 * docs/population-health.md.
 *
 * Everything works on a finished extract (pop.h) read with POP_WANT_EFI
 * and POP_WANT_EVENTS. Single-threaded apart from glm's fitting threads.
 */
#ifndef KITH_POP_RISK_H
#define KITH_POP_RISK_H
#include <stdbool.h>
#include <stdint.h>

#include "pop/glm.h"
#include "pop/pop.h"

#define RISK_METHOD_CODE "emergency-admission-12m"
#define RISK_LEVEL_SYS POP_SYS "CodeSystem/risk-level"
#define RISK_MODEL_ID "ear-model"
#define RISK_DEFAULT_LAMBDA 0.1

typedef enum risk_feature {
    RISK_AGE_0_17,
    RISK_AGE_18_44,
    RISK_AGE_45_64,
    RISK_AGE_65_74,
    RISK_AGE_75_84,
    RISK_AGE_85,
    RISK_FEMALE,
    RISK_DEPRIVATION,   /* (10 - decile) / 9: 1 in the most deprived decile, 0 in the least */
    RISK_EFI,           /* 0 to 1 */
    RISK_LTC,           /* long-term conditions: eFI deficits that are diseases (efi_deficit_is_ltc) */
    RISK_PRIOR,         /* emergency admissions in the 365 days before, at most 3 */
    RISK_RECENT,        /* discharged alive from an emergency stay in the 30 days before */
    RISK_AE,            /* A&E attendances in the 365 days before, at most 5 */
    RISK_SOCIAL_CARE,   /* receiving a council-funded social care service (CLD) on the day */
    RISK_MDT,           /* discussed at a multidisciplinary team meeting on or before the day */
    RISK_FEATURES
} risk_feature;

extern const char *const risk_feature_key[RISK_FEATURES];
extern const char *const risk_feature_name[RISK_FEATURES];

/* Is person p in the population on day (a Patient of the health record,
 * born and alive)? */
bool risk_eligible(const pop_person *p, int32_t day);
/* The features of person p on day. */
void risk_features(const pop_extract *x, const pop_person *p, int32_t day, double f[RISK_FEATURES]);
/* Was p admitted as an emergency in the 365 days from day? */
bool risk_outcome(const pop_extract *x, const pop_person *p, int32_t day);
/* The fixed 70/30 split: true for the 30% held out. */
bool risk_held_out(const char *patient_id);

/* The fitted model. Coefficient 0 is the intercept; coefficient 1 + f is
 * feature f's (age 0-17 is the reference band, so its is 0). */
#define RISK_COEFS (1 + RISK_FEATURES)
typedef struct risk_model {
    int32_t day;       /* the index day it was fitted on */
    double lambda;
    double beta[RISK_COEFS], se[RISK_COEFS];
    double thresholds[3]; /* low below the first, moderate below the second, high below the third, else very high */
    double auc, brier;    /* on held-out people */
    long n_fit, n_test;
} risk_model;

/* The probability the model gives for features f. */
double risk_probability(const risk_model *m, const double f[RISK_FEATURES]);
/* "low", "moderate", "high" or "very-high". */
const char *risk_level(const risk_model *m, double probability);

/* The generator's hazard (a synthetic place's ground-truth.json). */
typedef struct risk_truth {
    int32_t start;       /* the place's first day */
    int years;
    double base[6];      /* admissions a year by age band */
    double b_efi, b_ltc, b_deprivation, b_prior, b_recent, effect;
} risk_truth;
/* Read ground-truth.json; KITH_EINVAL (with a message in err) if it is not one. */
kith_rc risk_truth_load(const char *file, risk_truth *t, char *err, size_t errlen);

#define RISK_DECILES 10

typedef struct risk_report {
    risk_model model;
    glm_fit logit; /* the fit behind model (for iterations, convergence) */
    long people, admitted, admitted_test;
    long present[RISK_FEATURES];      /* people fitted on with the feature not 0 (0: the penalty alone sets it) */
    long step_present[RISK_FEATURES]; /* the same for the step model's steps */
    glm_calibration_row calibration[RISK_DECILES];
    /* with a truth: */
    bool has_truth;
    double auc_truth;  /* the generating hazard's ranking of the same held-out people */
    double brier_truth;
    glm_fit steps;     /* the step model; coefficients in risk_feature order (age bands are log base rates) */
    long n_steps, step_admissions, step_people;
    double seconds_features, seconds_fit, seconds_steps;
} risk_report;

/* Fit the model as of day on the finished extract x (and the step model
 * when truth is not NULL). Caller frees with risk_report_free.
 * KITH_ENOTFOUND when there is nobody to fit on or to hold out, or nobody
 * (or everybody) was admitted; KITH_EINVAL when the fit fails (a feature
 * nobody has, with lambda 0). */
kith_rc risk_fit(const pop_extract *x, int32_t day, double lambda, const risk_truth *truth, risk_report *out);
void risk_report_free(risk_report *r);

/* The model as a Library resource (JSON text, caller frees). */
char *risk_model_library(const risk_model *m, const char *when, size_t *len);
/* The model from a Library made by risk_model_library; KITH_EINVAL if it is not one. */
kith_rc risk_model_from_library(const json_value *lib, risk_model *m);

/* Person p's RiskAssessment (JSON text, caller frees). */
char *risk_assessment(const pop_extract *x, const pop_person *p, const risk_model *m, int32_t day, double probability,
                      const char *model_ref, const char *when, size_t *len);

#endif
