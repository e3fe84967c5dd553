/*
 * records.h — the few facts the integration indicators (issue 8) need from
 * a place's FHIR records, in compact form, read in bulk.
 *
 * For each Patient: birth and death dates, sex, the registered practice
 * (Patient.generalPractitioner) and whether they registered the national
 * data opt-out (an active Consent in category consent-category|
 * national-data-opt-out). For each Organization: its parent (partOf), which
 * is how a practice finds its neighbourhood team and a neighbourhood its
 * locality. For each hospital Encounter (class IMP, ACUTE, NONAC, EMER or
 * SS): whether it is an emergency admission, another admission or an A&E
 * attendance, its dates, and for admissions the discharge-ready date, the
 * delay reason, the discharge pathway and destination. For each Task with a
 * person (Task.for): whether it is open, on hold or closed, has an owner,
 * when it was made and when it is due. For each request for adult social
 * care (a ServiceRequest carrying the CLD Event_Outcome extension or
 * category): when it was completed and its outcome. For each person's
 * stored frailty and admission-risk RiskAssessments: their level.
 *
 * Resources are taken in any order into batches (records_batch), one per
 * reading thread, each parsing on its own; records_finish merges the
 * batches, joins each encounter to its person by Patient id and sorts each
 * person's stays in time order. Nothing else is kept: a resource is parsed,
 * read and dropped. An Encounter's class is looked at in the text first, so
 * the bulk of a record (GP appointments, community visits) is never parsed.
 *
 * A batch belongs to one thread while filling; records_finish runs on one
 * thread; a finished records is read-only and may be read by many.
 */
#ifndef KITH_REPORT_RECORDS_H
#define KITH_REPORT_RECORDS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

#define RECORDS_NONE INT32_MIN    /* a date not known */
#define RECORDS_OPEN INT32_MAX    /* an end not reached (alive; still in hospital) */
#define RECORDS_NO_UNIT UINT16_MAX
#define RECORDS_MAX_UNITS 4000    /* cap on organisations kept as practices, neighbourhoods, localities */
#define RECORDS_MAX_LINE (16 * 1024 * 1024)
#define RECORDS_SYS "https://kith.example.org/fhir/"

typedef enum records_stay_kind {
    RECORDS_EMERGENCY_ADMISSION = 0,
    RECORDS_OTHER_ADMISSION, /* elective, maternity, transfer: any inpatient stay not an emergency one */
    RECORDS_AE_ATTENDANCE
} records_stay_kind;

/* The delay reasons Kith's synthetic place records (CodeSystem/discharge-delay-reason). */
typedef enum records_delay_reason {
    RECORDS_DELAY_NONE = 0,
    RECORDS_DELAY_HOME_CARE,
    RECORDS_DELAY_COMMUNITY_BED,
    RECORDS_DELAY_CARE_HOME,
    RECORDS_DELAY_ASSESSMENT,
    RECORDS_DELAY_EQUIPMENT,
    RECORDS_DELAY_CHOICE,
    RECORDS_DELAY_OTHER, /* a code Kith does not know, or none recorded */
    RECORDS_DELAY_REASONS
} records_delay_reason;

typedef enum records_destination {
    RECORDS_DEST_UNKNOWN = 0,
    RECORDS_DEST_HOME,      /* UK Core DischargeDestination 19 (usual place of residence), 29 (temporary) */
    RECORDS_DEST_CARE_HOME, /* 54, 65, 85, 88 */
    RECORDS_DEST_DIED,      /* 79, or HL7 discharge-disposition exp */
    RECORDS_DEST_OTHER
} records_destination;

typedef struct records_stay {
    uint32_t person;
    int32_t from, to;    /* admission (arrival) and discharge days since 1970; to RECORDS_OPEN while in */
    int32_t ready;       /* discharge-ready (medically optimised) day, or RECORDS_NONE */
    uint8_t kind;        /* records_stay_kind */
    uint8_t reason;      /* records_delay_reason */
    uint8_t destination; /* records_destination */
    int8_t pathway;      /* discharge pathway 0-3, or -1 */
} records_stay;

typedef struct records_person {
    int32_t birth;      /* RECORDS_NONE when unknown */
    int32_t death;      /* RECORDS_OPEN when alive */
    uint16_t practice;  /* unit index (records_unit) of the registered practice, or RECORDS_NO_UNIT */
    int8_t sex;         /* 0 unknown, 1 female, 2 male, 3 other */
    bool opted_out;     /* national data opt-out: left out of every indicator */
    bool social_only;   /* a council's record only (tag record-source|cld): not a registered person */
    int8_t level[2];    /* records_assessment: the stored RiskAssessment's level 0-3, or -1 when none */
    uint32_t stay_lo, stay_n;
} records_person;

/* The two stored assessments a risk pyramid counts (RiskAssessment/efi-<id>,
 * written by `kith frailty`, and RiskAssessment/ear-<id>, by `kith risk
 * score`), and their levels from lowest to highest. */
typedef enum records_assessment { RECORDS_FRAILTY = 0, RECORDS_ADMISSION_RISK, RECORDS_ASSESSMENTS } records_assessment;
#define RECORDS_LEVELS 4
/* The qualitativeRisk code of level k of assessment a ("fit" ... "severe",
 * "low" ... "very-high"); borrowed. */
extern const char *const records_level_code[RECORDS_ASSESSMENTS][RECORDS_LEVELS];

typedef enum records_task_state {
    RECORDS_TASK_OPEN = 0, /* requested, received, accepted, in-progress, ready */
    RECORDS_TASK_ON_HOLD,
    RECORDS_TASK_CLOSED    /* any other status: done, refused, cancelled, in error, draft */
} records_task_state;

/* A Task (a referral's, an MDT action, a worklist item) for a person. */
typedef struct records_task {
    uint32_t person;
    int32_t authored; /* authoredOn day, or RECORDS_NONE */
    int32_t due;      /* restriction.period.end day, or RECORDS_NONE */
    int32_t done;     /* a completed Task's executionPeriod.end (else lastModified, meta.lastUpdated) day, or RECORDS_NONE */
    uint8_t state;    /* records_task_state */
    bool has_owner;
    bool mdt_action;  /* code task-code|mdt-action: an action agreed at an MDT meeting (src/care/mdt_meeting.c) */
    bool cancelled;   /* cancelled, rejected or entered in error */
} records_task;

#define RECORDS_MAX_OUTCOMES 64 /* distinct social care request outcomes kept; more are "other" */

/* A council's request for adult social care support (a ServiceRequest from
 * a CLD extract, src/social/cld.c), when it was completed and its outcome. */
typedef struct records_request {
    uint32_t person;
    int32_t done;    /* occurrencePeriod.end day, or RECORDS_NONE while open */
    uint8_t outcome; /* index into records.outcomes */
} records_request;

/* An Organization as a unit: practice, neighbourhood or locality by its place in the tree. */
typedef struct records_unit {
    char id[72];   /* Organization id */
    char name[96]; /* Organization.name, else the id */
    uint16_t parent; /* partOf, or RECORDS_NO_UNIT */
} records_unit;

typedef struct records_batch records_batch;

typedef struct records {
    records_person *people;
    size_t npeople;
    records_stay *stays;
    size_t nstays;
    records_unit *units;
    size_t nunits;
    records_task *tasks; /* in no particular order */
    size_t ntasks;
    records_request *requests; /* in no particular order */
    size_t nrequests;
    char outcomes[RECORDS_MAX_OUTCOMES][96]; /* Event_Outcome texts; "Not recorded" first; the last "Other" when full */
    size_t noutcomes;
    char **ids;          /* Patient ids, one per person (owned) */
    int32_t first_day, last_day; /* the earliest and latest day a stay or attendance began: the span the data
                                    cover (RECORDS_NONE when there are none) */
    long read, parsed, unreadable, skipped, unmatched, opted_out; /* resources; stays of no known person; people left out */
    records_batch **batches;
    size_t nbatches;
    bool finished;
} records;

/* A new, empty set of records. Caller frees with records_free. */
records *records_new(void);
void records_free(records *r);

/* A new batch of r for one reading thread (owned by r). Not thread-safe:
 * make every batch before the threads start. */
records_batch *records_batch_new(records *r);

/* Take one resource of type `type` (JSON text body[0..len)) into batch b.
 * Types other than Patient, Organization, Consent, Encounter, Task and
 * ServiceRequest, and
 * Encounters that are not hospital stays or attendances, are counted as
 * skipped; text that is not JSON as unreadable. Never fails. Thread-safe
 * for different batches. */
void records_add(records_batch *b, const char *type, const char *body, size_t len);

/* Merge the batches, join stays to people, fold the opt-outs, resolve each
 * practice's neighbourhood and locality, sort stays. Call once. */
void records_finish(records *r);

/* The resource types records_add uses (NULL-terminated, static). */
extern const char *const records_types[];

/* Read DIR/<Type>.ndjson for each of records_types (a missing file is no
 * error) with `threads` threads (1 to 16), each reading its own part of
 * each file. KITH_EIO with the file named in err when one cannot be read.
 * Does not finish r. */
kith_rc records_read_ndjson(records *r, const char *dir, int threads, char *err, size_t errlen);

/* The unit's parent (its neighbourhood for a practice, locality for a
 * neighbourhood), or RECORDS_NO_UNIT. */
uint16_t records_parent(const records *r, uint16_t unit);

/* The discharge delay in whole days (discharge - ready, 0 when not
 * delayed or not known). */
int32_t records_delay_days(const records_stay *s);

/* Whole years of age on day, or -1 when the birth date is unknown. */
int records_age(const records_person *p, int32_t day);

/* Short code of a delay reason (as in CodeSystem/discharge-delay-reason); borrowed. */
const char *records_reason_code(records_delay_reason r);
/* Its English label; borrowed. */
const char *records_reason_label(records_delay_reason r);

#endif
