/*
 * linkage.h — probabilistic record linkage (Fellegi–Sunter) of two sets of
 * person records that lack a shared identifier: the NHS's records of people
 * (left) and, typically, a council's social care records without an NHS
 * number (right). Used by `kith link` (src/cli/link.c); docs/identity.md
 * explains the method to a reader who has not met it.
 *
 * The job holds both sides in memory. link_job_run:
 *   1. estimates u (chance two different people agree at each comparison
 *      level) from random pairs;
 *   2. estimates m (chance the same person's two records agree) and the
 *      share of matches by expectation–maximisation over the blocked pairs,
 *      unsupervised, in two training sessions (blocked on date of birth, and
 *      on postcode) so every field is estimated where it was not blocked on;
 *   3. scores every pair the blocking rules bring together: the match
 *      weight is log2 of the prior odds plus log2(m/u) for each field's
 *      level, with term-frequency adjustment of exact name agreement;
 *   4. keeps, for each right record, its best left candidate: a link when
 *      its probability reaches the threshold and no other candidate is
 *      close, for clerical review when it is in the review band.
 * Work is split over threads by right record; the job is not otherwise
 * thread-safe.
 */
#ifndef KITH_LINK_LINKAGE_H
#define KITH_LINK_LINKAGE_H
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"

enum { LINK_LEFT = 0, LINK_RIGHT = 1 };

/* The fields compared, in this order everywhere. */
enum { LINK_GIVEN, LINK_FAMILY, LINK_BIRTH, LINK_SEX, LINK_POSTCODE, LINK_NFIELDS };
#define LINK_MAX_LEVELS 5
#define LINK_LEVEL_NULL 255 /* a side lacks the field: contributes nothing */

/* Field names ("given", "family", "birth_date", "sex", "postcode"). */
extern const char *const link_field_name[LINK_NFIELDS];
/* Levels per field (level 0 is "disagree", the highest the closest). */
extern const int link_field_levels[LINK_NFIELDS];
/* What level l of field f means, in words ("Jaro-Winkler >= 0.92"). */
const char *link_level_name(int field, int level);

/* One person record as read (all borrowed; any may be NULL or ""). */
typedef struct link_input {
    const char *id;
    const char *given, *family;
    const char *birth_date; /* YYYY-MM-DD */
    const char *sex;        /* male/female/m/f, any case; anything else unknown */
    const char *postcode;
} link_input;

typedef struct link_options {
    double threshold;   /* link at or above this probability (default 0.90) */
    double review_from; /* clerical review from this probability (default 0.50) */
    int threads;        /* worker threads (default 2) */
    uint64_t seed;      /* for the random pairs that estimate u */
    long sample_pairs;  /* random pairs for u (default 1,000,000) */
    int em_iterations;  /* most EM iterations per session (default 100) */
} link_options;
void link_options_default(link_options *o);

typedef enum link_decision { LINK_NONE = 0, LINK_REVIEW = 1, LINK_MATCH = 2 } link_decision;

/* The best left candidate for one right record. */
typedef struct link_pair {
    uint32_t left, right;             /* record indices in their sides */
    double weight;                    /* total match weight (bits) */
    double probability;
    double field_weight[LINK_NFIELDS]; /* what each field added (0 for a null level) */
    uint8_t level[LINK_NFIELDS];
    link_decision decision;
    double runner_up;                 /* probability of the next best candidate, 0 if none */
} link_pair;

/* What the run learned and did, for the report. */
typedef struct link_model {
    double m[LINK_NFIELDS][LINK_MAX_LEVELS], u[LINK_NFIELDS][LINK_MAX_LEVELS];
    double u_em[LINK_NFIELDS][LINK_MAX_LEVELS]; /* u as EM re-estimated it among blocked pairs */
    double prior_weight;                        /* log2 of the prior odds of a match */
    double expected_matches;
    int em_iterations[2];
    double lambda[2];                           /* share of matches in each training session */
    int64_t pairs_by_rule[8];                   /* new pairs each blocking rule brought */
    int nrules;
    int64_t pairs_compared;
    long records[2];
    long links, reviews, persons; /* persons: clusters of linked records (left and right) */
    double seconds_load, seconds_train, seconds_score;
} link_model;

typedef struct link_job link_job;

link_job *link_job_new(void); /* caller frees with link_job_free */
void link_job_free(link_job *j);

/* Add a record to side (LINK_LEFT or LINK_RIGHT); in is copied. Fails with
 * KITH_EINVAL (err says why) for a record without an id or past the cap of
 * 16,777,216 records a side, KITH_EEXISTS when the side already has the id
 * (the record is not added). */
kith_rc link_job_add(link_job *j, int side, const link_input *in, char *err, size_t errlen);
long link_job_count(const link_job *j, int side);
/* The id of record i of side. Borrowed. */
const char *link_job_id(const link_job *j, int side, uint32_t i);

/* Do the linkage. *pairs gets one link_pair per right record whose best
 * candidate reached review_from, in right-record order (caller frees with
 * free); *model what was estimated. KITH_EINVAL when a side is empty. */
kith_rc link_job_run(link_job *j, const link_options *o, link_pair **pairs, size_t *npairs, link_model *model);

/* The blocking rules, in words ("same date of birth"); rule < model.nrules. */
const char *link_rule_name(int rule);

/* Append one line per field to b: "given  exact (Margaret | Margaret)
 * +5.31", then the prior and the total. */
void link_pair_explain(const link_job *j, const link_pair *p, const link_model *m, buf *b);

/* The names a given name is also written as ("William": Bill, Billy, Will,
 * Willie, Liam...): true when a and b (any case) are known variants of one
 * name. */
int link_given_variants(const char *a, const char *b);
/* The name lines (bits) name belongs to, for comparing many pairs: a and b
 * are variants when their masks share a bit. */
void link_name_groups(const char *name, uint64_t groups[2]);

/* Levenshtein distance of a and b (case-insensitive), or cap+1 once it is
 * sure to exceed cap. */
int link_levenshtein(const char *a, const char *b, int cap);

#endif
