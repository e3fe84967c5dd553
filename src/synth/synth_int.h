/*
 * synth_int.h — what the generator's files share: the code tables
 * (tables.c), the place (place.c), the people (synth.c) and the writer state.
 * Internal to src/synth.
 */
#ifndef KITH_SYNTH_INT_H
#define KITH_SYNTH_INT_H
#include <stdint.h>

#include "base/buf.h"
#include "synth/rng.h"
#include "synth/synth.h"

#define KITH_SYS "https://kith.example.org/fhir/"
#define SNOMED "http://snomed.info/sct"
#define NHS_NUMBER_SYS "https://fhir.nhs.uk/Id/nhs-number"
#define ODS_SYS "https://fhir.nhs.uk/Id/ods-organization-code"
#define LA_CODE "E06000999"        /* the council: a GSS-shaped code no real council has */
#define NO_DAY INT64_MAX

/* ---- tables.c ------------------------------------------------------------ */

enum { SEX_FEMALE, SEX_MALE };

/* An electronic Frailty Index deficit (Clegg et al. 2016), as one condition
 * with one SNOMED CT concept, and how common it is. */
typedef struct synth_condition {
    const char *key;       /* short name, e.g. "heart-failure" */
    const char *code;      /* SNOMED CT */
    const char *display;
    double p70;            /* prevalence at age 70 for an average person */
    double age_slope;      /* change in log-odds per decade of age */
    double frailty_load;   /* change in log-odds per SD of the latent frailty */
    const char *medicines; /* '|'-separated; a leading '?' makes one optional (half of people) */
    int is_clinical;       /* a long-term condition (1: counts in the admission hazard and GP rate) or a
                              finding such as falls or living alone (0); both are written as Condition */
} synth_condition;

#define SYNTH_NCONDITIONS 35  /* plus polypharmacy: 36 eFI deficits */
/* Their order in synth_conditions. */
enum {
    C_ACTIVITY_LIMITATION, C_ANAEMIA, C_ARTHRITIS, C_ATRIAL_FIBRILLATION, C_CHD, C_CKD, C_DIABETES, C_DIZZINESS,
    C_DYSPNOEA, C_FALLS, C_FOOT_PROBLEMS, C_FRAGILITY_FRACTURE, C_HEARING_LOSS, C_HEART_FAILURE, C_HEART_VALVE,
    C_HOUSEBOUND, C_HYPERTENSION, C_HYPOTENSION, C_COGNITIVE_PROBLEMS, C_MOBILITY_PROBLEMS, C_OSTEOPOROSIS,
    C_PARKINSONS, C_PEPTIC_ULCER, C_PVD, C_RESPIRATORY_DISEASE, C_SKIN_ULCER, C_SLEEP_DISTURBANCE,
    C_LIVES_ALONE, C_STROKE_TIA, C_THYROID, C_URINARY_INCONTINENCE, C_URINARY_SYSTEM, C_VISION_PROBLEMS,
    C_WEIGHT_LOSS, C_CARE_REQUIREMENT
};
extern const synth_condition synth_conditions[SYNTH_NCONDITIONS];
extern const double synth_age_share[19];      /* 5-year bands 0-4 .. 90+, England mid-2021 */
extern const double synth_ethnic_share[17];
extern const char *const synth_ethnic_code[17];
extern const char *const synth_ethnic_display[17];
const char *synth_given_name(int sex, int birth_year, int group, uint32_t r);
const char *synth_family_name(int group, uint32_t r);
const char *synth_nickname(const char *given); /* a common short form, or NULL */
const char *synth_street(uint32_t r);
int synth_ethnic_group(int ethnic); /* 0 white/other, 1 south asian, 2 black, 3 east asian */

/* ---- the place (place.c) --------------------------------------------------- */

#define SYNTH_NEIGHBOURHOODS 12
#define SYNTH_LOCALITIES 3

typedef struct synth_practice {
    char id[32];    /* Organization id */
    char ods[24];
    int neighbourhood;
    char gp[4][24]; /* Practitioner ids */
    char nurse[24];
} synth_practice;

typedef struct synth_place {
    long npractices;
    synth_practice *practices;
    int int_site[SYNTH_NEIGHBOURHOODS]; /* 1: joins the integrated care programme */
    double decile_mean[SYNTH_NEIGHBOURHOODS];
} synth_place;

extern const char *const synth_locality_name[SYNTH_LOCALITIES];
extern const char *const synth_neighbourhood_name[SYNTH_NEIGHBOURHOODS];

/* ---- the writer ---------------------------------------------------------- */

typedef struct synth_gen {
    const synth_config *cfg;
    const synth_sink *sink;
    synth_rates rates;
    synth_place place;
    uint32_t *nhs_base; /* shuffled 9-digit bases (999xxxxxx) of issuable numbers; NULL: none */
    long nhs_count;     /* how many; person n gets one only when n < nhs_count */
    buf b;              /* the resource being written */
    buf line;           /* a CSV line being written */
    int stopped;
} synth_gen;

/* Hand the resource in g->b to the sink and clear it. */
void synth_emit(synth_gen *g, const char *type);
/* Hand a CSV line in g->line to the sink on stream s and clear it. */
void synth_emit_line(synth_gen *g, synth_stream s);

kith_rc synth_place_build(synth_gen *g);
void synth_place_free(synth_place *p);

/* Every NHS number of the 999 test range that nhs_number_parse accepts, as its
 * nine-digit base, shuffled by seed: person n gets the nth. *count gets how
 * many (SYNTH_MAX_PEOPLE). Caller frees. */
uint32_t *synth_nhs_numbers(uint64_t seed, long *count);
/* The ten-digit NHS number of a base from synth_nhs_numbers. */
void synth_nhs_number(uint32_t base, char out[11]);

/* Day numbers as YYYY-MM-DD, and a dateTime on that day at minute m of the day. */
void synth_day(int64_t day, char out[11]);
void synth_datetime(int64_t day, int minute, char out[32]);

#endif
