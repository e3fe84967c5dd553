/*
 * frailty.h — the electronic Frailty Index of people, stored as one
 * RiskAssessment each (id efi-<Patient id>), for the whole population
 * (`kith frailty`) or for one person whose record just changed (the REST
 * API's after-write hook).
 *
 * The RiskAssessment has the shape docs/population-health.md gives: method
 * risk-method|efi, the category as prediction[0].qualitativeRisk
 * (efi-category fit|mild|moderate|severe, found by the R4 search parameter
 * `risk`), the score and the number of deficits as extensions, one
 * extension per deficit present naming it and its evidence, and every
 * record that gave a deficit in basis. An assessment whose content would
 * not change (apart from its date) is not written again.
 *
 * Threading: frailty_run uses the caller's connection only; the hook runs
 * on the request's thread and connection. The shipped code list is built
 * once per process.
 */
#ifndef KITH_POP_FRAILTY_H
#define KITH_POP_FRAILTY_H
#include <stdbool.h>
#include <stdint.h>

#include "pop/pop.h"
#include "store/store.h"

#define FRAILTY_METHOD_SYS POP_SYS "CodeSystem/risk-method"
#define FRAILTY_CATEGORY_SYS POP_SYS "CodeSystem/efi-category"
#define FRAILTY_DEFICIT_SYS POP_SYS "CodeSystem/efi-deficit"
#define FRAILTY_EXT POP_SYS "StructureDefinition/"

/* Why a person is or is not scored. */
typedef enum frailty_eligibility {
    FRAILTY_SCORED,
    FRAILTY_TOO_YOUNG,    /* under 65 (without all ages) */
    FRAILTY_NO_BIRTH,     /* no birth date (without all ages) */
    FRAILTY_DEAD,         /* died on or before the day */
    FRAILTY_SOCIAL_ONLY,  /* a council's record (tag record-source|cld), or no Patient resource */
    FRAILTY_ELIGIBILITIES
} frailty_eligibility;

frailty_eligibility frailty_eligible(const pop_person *p, int32_t day, bool all_ages);

/* One person's index on a day. */
typedef struct frailty_result {
    uint64_t mask;  /* deficits present (bit d for deficit d of efi.h) */
    int deficits;   /* how many */
    int drugs;      /* different drugs prescribed that day */
    efi_category category;
} frailty_result;

void frailty_score(const pop_extract *x, const pop_person *p, int32_t day, bool second, frailty_result *out);

/* The RiskAssessment for person p scored as r, with occurrenceDateTime
 * `when`, as JSON text (caller frees; *len gets its length). */
char *frailty_assessment(const pop_extract *x, const pop_person *p, int32_t day, const frailty_result *r,
                         const char *when, size_t *len);
/* The RiskAssessment id for Patient id pid: "efi-<pid>", or "efi-h" and a
 * hash when that would be longer than 64 characters. */
void frailty_assessment_id(const char *prefix, const char *pid, char out[72]);

typedef struct frailty_opts {
    int32_t day;       /* the day scored */
    const char *when;  /* occurrenceDateTime written */
    bool all_ages;     /* everyone, not only people aged 65 and over */
    bool dry_run;      /* score and count, write nothing */
    bool compare;      /* also score with the extract's second code list */
    int batch;         /* writes per transaction (0: 1000) */
} frailty_opts;

typedef struct frailty_counts {
    long people;                          /* Patients in the extract */
    long why[FRAILTY_ELIGIBILITIES];      /* how many of each (why[FRAILTY_SCORED]: scored) */
    long category[4];                     /* scored people by category */
    long written, unchanged, failed;      /* RiskAssessments */
    long same_score, same_category;       /* compare: scored people on whom the two lists agree */
    long deficits_total;
} frailty_counts;

typedef void (*frailty_progress_fn)(void *ctx, long done, long total);

/*
 * Score everyone in the finished extract x (read with POP_WANT_EFI and
 * POP_WANT_ASSESSED) and write the assessments that changed through c with
 * record_update, o->batch to a transaction. A write that fails validation is
 * counted in failed and logged (a bug); a store failure stops the run and is
 * returned (the batch it hit is rolled back, earlier batches stay).
 */
kith_rc frailty_run(store_conn *c, const pop_extract *x, const frailty_opts *o, frailty_counts *n,
                    frailty_progress_fn fn, void *ctx);

/*
 * After type/id was written (body: its JSON) through the REST API: when it
 * is a Condition, Observation, Procedure, MedicationRequest or Patient,
 * rescore the person it belongs to as of today and write their assessment
 * if it changed, inside the caller's transaction when in_tx. A person who
 * has no assessment yet gets one only when the write was a clinical record
 * and they now have a deficit: writing a Patient, or a record that gives
 * nothing, never adds a resource to someone's record. Reads the
 * person's whole record whatever the caller may see (the score is Kith's,
 * not the caller's view) and puts the caller's access back after. Returns
 * true and the assessment's id in ra_id when one was written. Failures are
 * logged: the write that triggered it stands.
 */
bool frailty_after_write(store_conn *c, const char *type, const char *body, size_t len, bool in_tx, char ra_id[72]);
/* The same after type/id was deleted (its last version names the person);
 * only an existing assessment is rewritten. */
bool frailty_after_delete(store_conn *c, const char *type, const char *id, bool in_tx, char ra_id[72]);

/* The code list the server and `kith frailty` use by default: the published
 * sets in the directory KITH_EFI_CODES names when set (read once; a broken
 * set is logged and the shipped list used), else the shipped list.
 * Borrowed; lives as long as the process. */
const efi_codes *frailty_default_codes(void);

/* Today (KITH_NOW when set, for tests), as days since 1970. */
int32_t frailty_today(void);

#endif
