/*
 * synth.h — a synthetic English place: people, their health, their use of
 * health and social care over a period, and an integrated care programme,
 * generated deterministically from a seed (docs/synthetic-place.md describes
 * the model and where its rates come from).
 *
 * The generator writes text to a sink: FHIR resources as compact JSON (one
 * per call), social care events as CLD Release 1 CSV rows, and the ground
 * truth (who each person really is, the programme, the hazard model) as CSV
 * rows and one JSON document. It keeps nothing but the place and one person
 * in memory, so a place of any size runs in constant memory. Single-threaded;
 * one synth_run at a time per sink.
 */
#ifndef KITH_SYNTH_H
#define KITH_SYNTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

/* The 999 range holds this many NHS numbers that nhs_number_parse accepts (909,091 pass the
 * check digit; 9999999999 is a placeholder): the most people a place can have. */
#define SYNTH_MAX_PEOPLE 909090L
/* The most people `kith synth --identities` makes: identities need no NHS numbers. */
#define SYNTH_MAX_IDENTITIES 5000000L

typedef struct synth_config {
    long people;              /* residents at the start */
    uint64_t seed;
    int64_t start_day;        /* first day of the period, days since 1970-01-01 */
    int years;                /* length of the period */
    int64_t programme_day;    /* the integrated care programme starts (default: start + 1 year) */
    double programme_effect;  /* relative drop in emergency admission hazard after an MDT (0.12) */
} synth_config;

/* Set the defaults: 1,000 people, seed 1, 2023-04-01, 3 years, programme a year in, 12%. */
void synth_config_default(synth_config *c);

typedef enum synth_stream {
    SYNTH_FHIR,          /* one FHIR resource, compact JSON; `type` names its resourceType */
    SYNTH_CLD,           /* one CLD CSV line (no newline); the first call is the header */
    SYNTH_TRUTH_PEOPLE,  /* one ground-truth CSV line per person (the first is the header) */
    SYNTH_TRUTH_CLD,     /* one CSV line per CLD row: the person it truly belongs to */
    SYNTH_TRUTH_MODEL,   /* the model and the rates it produced: one JSON document, at the end */
    SYNTH_ID_PEOPLE,     /* identities: one GP record per CSV line (the first is the header) */
    SYNTH_ID_COUNCIL,    /* identities: one council record per CSV line (the first is the header) */
    SYNTH_ID_TRUTH       /* identities: who each council record truly is (the first is the header) */
} synth_stream;

typedef struct synth_sink {
    void *ctx;
    /* text is borrowed for the call. Return non-zero to stop the run. */
    int (*write)(void *ctx, synth_stream s, const char *type, const char *text, size_t len);
    /* Called every so often and at the end (may be NULL). */
    void (*progress)(void *ctx, long done, long total);
} synth_sink;

/* Measured while generating; the rates England publishes are in docs. */
#define SYNTH_AGE_BANDS 8 /* 0-17, 18-44, 45-64, 65-74, 75-84, 85+, and two totals: all, 65+ */
typedef struct synth_rates {
    double person_years[SYNTH_AGE_BANDS];
    long emergency_admissions[SYNTH_AGE_BANDS];
    long emergency_bed_days, emergency_stays, readmissions_30d;
    long deaths, deaths_in_hospital;
    long over65, efi_category[4]; /* at the start: fit, mild, moderate, severe */
    long resources, cld_rows, cld_rows_without_nhs_number, mdt_discussions;
} synth_rates;

/* KITH_EINVAL, with the reason in err, when c cannot make a place. */
kith_rc synth_config_check(const synth_config *c, char *err, size_t errlen);

/* Generate the place. KITH_EINVAL for a bad config (message in err);
 * KITH_EIO when the sink asked to stop. rates may be NULL. */
kith_rc synth_run(const synth_config *c, const synth_sink *sink, synth_rates *rates, char *err, size_t errlen);

/*
 * Identities only, for record linkage (`kith synth --identities`): the GP
 * practices' records of c->people people (SYNTH_ID_PEOPLE), the council's
 * records of as many people (SYNTH_ID_COUNCIL), of whom a share `matched` are
 * copies of GP records carrying the errors of a council record without an NHS
 * number and the rest are people with no GP record here, in random order; and
 * which GP record each council record truly is (SYNTH_ID_TRUTH). The people are
 * those of synth_run's place of c->people people with the same seed and start;
 * c->years and the programme are not used. Memory grows with c->people (4
 * bytes a person), not with anything else.
 */
typedef struct synth_identity_counts {
    long people, council, matched; /* rows written: GP records, council records, council copies of GP records */
} synth_identity_counts;

/* KITH_EINVAL, with the reason in err, when c->people is not 1 to SYNTH_MAX_IDENTITIES or matched is not
 * 0 to 1. */
kith_rc synth_identities_check(const synth_config *c, double matched, char *err, size_t errlen);

/* Generate the identities. KITH_EINVAL for a bad config (message in err);
 * KITH_EIO when the sink asked to stop. counts may be NULL. */
kith_rc synth_identities_run(const synth_config *c, double matched, const synth_sink *sink,
                             synth_identity_counts *counts, char *err, size_t errlen);

#endif
