/*
 * mdt.h — neighbourhood multidisciplinary team (MDT) meetings: the pure
 * parts that src/care/mdt*.c share with the unit tests (the case-finding
 * rules and their reasons in words, the order of a case list, time-boxes,
 * what state an action is in, the arithmetic of the measures), and the entry
 * point of the MDT operations (docs/mdt.md).
 *
 * Nothing here touches the store, the clock or the request: callers pass
 * "now" and the facts about a person in. No allocation except where a
 * comment says so; all functions are thread-safe.
 */
#ifndef KITH_CARE_MDT_H
#define KITH_CARE_MDT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "http/http.h"
#include "store/store.h"

/* eFI categories, in order of frailty (MDT_FRAILTY_UNKNOWN: no assessment). */
enum { MDT_FRAILTY_UNKNOWN = -1, MDT_FIT, MDT_MILD, MDT_MODERATE, MDT_SEVERE };
/* The category of an efi-category code ("severe"), or MDT_FRAILTY_UNKNOWN. */
int mdt_frailty_of(const char *code);
/* "fit", "mild", "moderate", "severe" (static), or "unknown". */
const char *mdt_frailty_code(int frailty);

/* Referral priorities as a rank: none < routine < urgent (urgent, asap, stat). */
enum { MDT_REFERRAL_NONE, MDT_REFERRAL_ROUTINE, MDT_REFERRAL_URGENT };

/* The case-finding rules (parameters of CareTeam/{id}/$find-cases). */
typedef struct mdt_rules {
    int frailty;      /* rule 1: at least this eFI category ... */
    int admissions;   /* ... and at least this many emergency admissions ... */
    int months;       /* ... in this many months before now */
    int risk_percent; /* rule 2: admission risk (12 months) at least this, in percent; -1: off */
    bool referrals;   /* rule 3: an open referral for MDT discussion */
    int min_age;      /* everyone: aged at least this */
    int rest_days;    /* not again within this many days of a discussion, unless referred since */
    int max_cases;    /* the longest list proposed */
} mdt_rules;

/* The defaults: severe frailty with 2+ emergency admissions in 6 months, or
 * a referral; aged 65+; not again within 90 days; at most 20 cases. */
void mdt_rules_default(mdt_rules *r);

/*
 * Set the rule `name` from its text value (a parameter of $find-cases:
 * frailty, admissions, months, admission-risk, referrals, min-age,
 * rest-days, max-cases). Returns 0, or -1 for an unknown name, or -2 for a
 * value out of range, with a message for the user in err.
 */
int mdt_rules_set(mdt_rules *r, const char *name, const char *value, char *err, size_t errlen);

/* The rules in words, for the case list and the answer ("severe frailty and
 * 2 or more emergency admissions in 6 months; ..."). */
void mdt_rules_describe(const mdt_rules *r, buf *out);

/* What is known about one person, for the rules. */
typedef struct mdt_candidate {
    char patient[72];  /* Patient id */
    int age;           /* whole years */
    int frailty;       /* eFI category, MDT_FRAILTY_UNKNOWN when not assessed */
    double efi;        /* eFI score, < 0 when unknown */
    double risk;       /* probability of an emergency admission in 12 months, < 0 when unknown */
    int admissions;    /* emergency admissions in the rules' window */
    int referral;      /* MDT_REFERRAL_* */
    int64_t referred;  /* when the (oldest open) referral was made, seconds; 0: none */
    int64_t discussed; /* the last MDT discussion, seconds; 0: never */
} mdt_candidate;

/* Which rules the person meets (a mask of these), 0 when none. */
enum { MDT_BY_FRAILTY = 1, MDT_BY_RISK = 2, MDT_BY_REFERRAL = 4 };

/*
 * Does c belong on the case list at time now? Returns the rules met (0:
 * not; too young, or discussed within rest_days and not referred since).
 * When why is not NULL, the reasons are appended in words, separated by
 * "; " ("Severe frailty (eFI 0.42) and 3 emergency admissions in the last 6
 * months").
 */
unsigned mdt_rules_match(const mdt_rules *r, const mdt_candidate *c, int64_t now, buf *why);

/* qsort order of a case list: people referred for discussion first (urgent
 * before routine, the longest waiting first), then the most emergency
 * admissions, the highest admission risk, the highest eFI, the oldest;
 * ties by Patient id. */
int mdt_candidate_cmp(const void *a, const void *b);

/*
 * Time-boxes for n cases in agenda order, in whole minutes, within
 * `available` minutes: a case whose fixed[i] >= 0 gets that (the chair set
 * it; 0 defers it), a new case per_case minutes, a case discussed before
 * (review[i]) half that (at least MDT_MIN_BOX). Once a case does not fit,
 * it and every case after it get 0: deferred to the next meeting, so the
 * meeting ends on time and priorities hold. fixed may be NULL. Returns how
 * many cases have time.
 */
#define MDT_MIN_BOX 5
size_t mdt_time_boxes(int available, int per_case, size_t n, const int *fixed, const bool *review, int *out);

/* What became of an action (a Task agreed at a meeting). */
typedef enum mdt_action_state {
    MDT_ACTION_OPEN,         /* not done, not yet due */
    MDT_ACTION_OVERDUE,      /* not done, past its due date */
    MDT_ACTION_DONE_ON_TIME, /* completed by its due date (or it had none) */
    MDT_ACTION_DONE_LATE,    /* completed after its due date */
    MDT_ACTION_CLOSED,       /* cancelled, rejected, failed or entered in error: not done */
    MDT_ACTION_STATES
} mdt_action_state;

/* The state of a Task with status `status`, due date due (0: none), done at
 * done (0: not known; then it counts as done on time) and time now. */
mdt_action_state mdt_action_classify(const char *status, int64_t due, int64_t done, int64_t now);
/* The state's code in Kith's mdt-action-state code system, and in words (static). */
const char *mdt_action_code(mdt_action_state s);
const char *mdt_action_words(mdt_action_state s);
/* Minutes an action gets on the agenda: overdue 2, open 1, others 0. */
int mdt_action_minutes(mdt_action_state s);
/* The minutes of the previous-actions block: the sum, at most a quarter of the meeting. */
int mdt_actions_block(const mdt_action_state *s, size_t n, int meeting_minutes);

/* ---- measures ------------------------------------------------------------ */

/* 100 * num / den, or -1 when den is 0. */
double mdt_percent(long num, long den);
/* The median of v[0..n) (sorted in place), or -1 when n is 0. */
double mdt_median(double *v, size_t n);
/* Cases per hour of meeting, or -1 when no time was spent. */
double mdt_per_hour(long cases, int64_t seconds);

/* Emergency admissions and deaths of a person around their discussion. */
typedef struct mdt_followup {
    long people;        /* people whose 90 days after discussion have passed */
    long before, after; /* emergency admissions in the 90 days before / after */
    long deaths;        /* deaths in the 90 days after */
} mdt_followup;
/* Add one person discussed at `discussed`: admission start times adm[0..n),
 * death time (0: alive). Counts only when discussed + 90 days <= now. */
void mdt_followup_add(mdt_followup *f, int64_t discussed, const int64_t *adm, size_t n, int64_t death, int64_t now);

/* ---- the operations (mdt.c) ---------------------------------------------- */

/* Answer an MDT operation; false when seg names none (the caller goes on). */
bool care_mdt_operation(store_conn *c, const http_request *req, http_response *res, char *const *seg, int nseg);

#endif
