/*
 * pop.h — a population's records in compact form, for population health:
 * the electronic Frailty Index of everyone (frailty.h) and the emergency
 * admission risk model (risk.h).
 *
 * An extract is filled from FHIR resources (JSON text) in any order: from
 * the store in bulk (pop_extract_from_store: one scan over the few resource
 * types that matter, never a search per person), from NDJSON files, or one
 * person's compartment when their record changes. Only what scoring needs
 * is kept: for each Patient their birth and death dates, sex and deprivation
 * decile; for each coded record (Condition, Observation, Procedure) that an
 * eFI code list knows, the deficits it gives and when it applies; for each
 * prescription (MedicationRequest) which drug and when; and, when asked, the
 * events the risk model counts (emergency and elective admissions, A&E
 * attendances, MDT discussions, social care services). Records are grouped
 * by person when the extract is finished.
 *
 * One thread fills and finishes an extract; afterwards it is read-only and
 * may be read by many threads. The extract borrows its code list.
 */
#ifndef KITH_POP_POP_H
#define KITH_POP_POP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "json/json.h"
#include "pop/efi.h"
#include "store/store.h"

#define POP_SYS "https://kith.example.org/fhir/"
#define POP_NEVER INT32_MIN  /* a `from` that is not known: the record has always applied */
#define POP_OPEN INT32_MAX   /* a `to` with no end */
#define POP_AT_DEATH (INT32_MAX - 1) /* a prescription stopped with no end date: taken to end at death */
#define POP_NO_LABELS UINT32_MAX

/* A coded record that gives eFI deficits. */
typedef struct pop_fact {
    uint32_t person;
    int32_t from, to; /* days since 1970 (local dates as written), inclusive */
    uint64_t mask;    /* the deficits (efi.h) the extract's code list gives */
    uint64_t mask2;   /* those the comparison list gives (0 without one) */
    uint32_t ref;     /* "Type/id" (pop_text) */
    uint32_t labels;  /* its meta.security codings as "system|code" lines (pop_text), or POP_NO_LABELS */
} pop_fact;

/* A prescription. */
typedef struct pop_med {
    uint32_t person;
    int32_t from, to; /* authored; the end of its validity, POP_OPEN or POP_AT_DEATH */
    uint64_t drug;    /* identifies the drug: a hash of its first coding (system|code), else its text */
    uint32_t ref;
    uint32_t labels;  /* as for pop_fact */
} pop_med;

typedef enum pop_event_kind {
    POP_EMERGENCY_ADMISSION,
    POP_ELECTIVE_ADMISSION,
    POP_AE_ATTENDANCE,
    POP_MDT_DISCUSSION,
    POP_SOCIAL_CARE, /* a council-funded service (an EpisodeOfCare from a CLD extract) */
    POP_EVENT_KINDS
} pop_event_kind;

typedef struct pop_event {
    uint32_t person;
    int32_t from, to; /* admission and discharge days; a service's period (to POP_OPEN while it runs) */
    uint8_t kind;     /* pop_event_kind */
    uint8_t died;     /* an admission that ended in death */
} pop_event;

typedef struct pop_person {
    uint32_t id;      /* the Patient id (pop_text) */
    int32_t birth;    /* POP_NEVER when unknown */
    int32_t death;    /* POP_OPEN when alive */
    int8_t sex;       /* 0 unknown, 1 female, 2 male, 3 other */
    int8_t decile;    /* deprivation decile 1 (most deprived) to 10; 0 unknown */
    bool seen;        /* its Patient resource was read */
    bool social_only; /* a council's record of the person (tag record-source|cld): not scored */
    uint32_t alias;   /* a linked record this one is (Patient.link), or UINT32_MAX */
    uint32_t fact_lo, fact_n, med_lo, med_n, event_lo, event_n;
    uint64_t assessed;      /* pop_assessment_hash of the person's stored eFI RiskAssessment, 0 when none */
    uint64_t assessed_risk; /* the same for their emergency admission RiskAssessment */
} pop_person;

enum {
    POP_WANT_EFI = 1,    /* Patients, coded records, prescriptions */
    POP_WANT_EVENTS = 2, /* admissions, attendances, MDT discussions, social care (risk model) */
    POP_WANT_ASSESSED = 4 /* the stored RiskAssessments' hashes (to skip unchanged ones) */
};

typedef struct pop_extract {
    const efi_codes *codes; /* borrowed */
    const efi_codes *codes2; /* borrowed: a second list to compare with, or NULL */
    unsigned want;
    pop_person *people;
    size_t npeople, cap_people;
    pop_fact *facts;
    size_t nfacts, cap_facts;
    pop_med *meds;
    size_t nmeds, cap_meds;
    pop_event *events;
    size_t nevents, cap_events;
    char *text; /* NUL-separated strings */
    size_t text_len, text_cap;
    uint32_t *index; /* open addressing: person index + 1 by Patient id, 0 empty */
    size_t index_cap;
    long read, unreadable, coded, skipped; /* resources read, not parseable, giving deficits, ignored */
    bool finished;
} pop_extract;

/* A new, empty extract for the given needs (POP_WANT_*), finding deficits
 * with codes and, when codes2 is not NULL, with codes2 as well (to compare
 * two lists in one pass). Caller frees. */
pop_extract *pop_extract_new(const efi_codes *codes, const efi_codes *codes2, unsigned want);
void pop_extract_free(pop_extract *x);

/* Add one resource (JSON text of type `type`, id `id`, or the body's id when
 * id is NULL). Resources of other
 * types, and those that name no patient, are counted in `skipped`; text that
 * is not JSON in `unreadable`. Never fails: a bad record is one not used. */
void pop_extract_add(pop_extract *x, const char *type, const char *id, const char *body, size_t len);
/* Group records by person (facts and prescriptions in the order added,
 * events in time order) and fold linked records into the person they are
 * linked to. Call once, after the last add. */
void pop_extract_finish(pop_extract *x);

/* Called now and then while reading the store, with the resources read so far. */
typedef void (*pop_progress_fn)(void *ctx, long done, long expected);

/* Fill x from the store's current resources: every person's (patient NULL)
 * or one person's compartment and Patient. Reads only the types x needs,
 * in one streaming scan. Does not finish x. */
kith_rc pop_extract_from_store(store_conn *c, pop_extract *x, const char *patient, pop_progress_fn fn, void *ctx);

/* Fill x from DIR/<Type>.ndjson for each type it needs (as `kith export` and
 * `kith synth --out` write them; a missing file is no error). Lines over
 * 16 MB are counted as unreadable. KITH_EIO with a message in err when a
 * file cannot be read. Does not finish x. */
kith_rc pop_extract_from_ndjson(const char *dir, pop_extract *x, pop_progress_fn fn, void *ctx, char *err, size_t errlen);

/* The string at offset off (borrowed from x). */
const char *pop_text(const pop_extract *x, uint32_t off);
/* The Patient id a Reference names ("Patient/x", or a URL ending so) into
 * out; false when it names no Patient. */
bool pop_reference_patient(const json_value *reference, char out[72]);
/* The same from the reference text itself ("Patient/x", or a URL ending so). */
bool pop_patient_in(const char *reference, char out[72]);
/* The index of the person with this Patient id, or -1. */
long pop_find(const pop_extract *x, const char *id);

/* The resource types pop_extract_from_store reads for `want` (NULL-terminated, static). */
const char *const *pop_types(unsigned want);

/* Days since 1970 of the date at the start of s (YYYY, YYYY-MM, YYYY-MM-DD,
 * or a dateTime: its date as written). False when s is not one. */
bool pop_day(const char *s, int32_t *out);
/* Whole years of age on day, or -1 when the birth date is unknown. */
int pop_age(const pop_person *p, int32_t day);
/* Days since 1970 of the date or dateTime string v (as pop_day), else dflt. */
int32_t pop_day_or(const json_value *v, int32_t dflt);
/* The code of the first coding of CodeableConcept cc that has one, or NULL (borrowed from cc). */
const char *pop_first_code(const json_value *cc);
/* Does CodeableConcept cc (or an array of them) carry code, in system (any system when NULL)? */
bool pop_has_code(const json_value *cc, const char *system, const char *code);

/* The eFI deficits person p has on day: coded deficits in force then (by
 * the comparison list when second), plus polypharmacy (efi.h). *drugs (may
 * be NULL) gets how many different drugs were prescribed on that day. */
uint64_t pop_efi_mask(const pop_extract *x, const pop_person *p, int32_t day, bool second, int *drugs);
/* A hash of a RiskAssessment's content apart from occurrenceDateTime and
 * meta (but for meta.security), the same whatever the order of object
 * members: two assessments with the same hash say the same thing (never 0). */
uint64_t pop_assessment_hash(const json_value *ra);

/* Whether fact f / prescription m applies on day for person p. */
bool pop_fact_on(const pop_fact *f, int32_t day);
bool pop_med_on(const pop_med *m, const pop_person *p, int32_t day);

/* ---- writing assessments --------------------------------------------------- */

/* Writes RiskAssessments (JSON text Kith made) through record_update,
 * leaving alone those whose stored content is the same (by hash), in
 * transactions of `batch` writes, or inside the caller's transaction when
 * in_tx is set before the first put. */
typedef struct pop_writer {
    store_conn *c;
    int batch, in_batch;
    bool in_tx, open;
    long written, unchanged, failed; /* failed: refused by validation (a bug, logged) */
    kith_rc rc;                      /* the first store failure: nothing more is written */
    char last_id[72];                /* the id of the last assessment written */
} pop_writer;

/* batch 0: 1000; batch 1 (and not in_tx): each write commits alone,
 * joining other threads' writes in a group commit. */
void pop_writer_init(pop_writer *w, store_conn *c, int batch);
/* Write assessment text (len bytes) unless its hash equals have (0: none stored). */
void pop_writer_put(pop_writer *w, const char *text, size_t len, uint64_t have);
/* Commit what is open; returns the first store failure (its batch rolled back). */
kith_rc pop_writer_finish(pop_writer *w);

#endif
