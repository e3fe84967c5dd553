/*
 * bulk.h — FHIR bulk data export: NDJSON files of current resources, and
 * the background jobs behind the $export operation.
 *
 * bulk_write_ndjson streams resources from the store into one file per
 * resource type (DIR/Patient.ndjson, ...); `kith export` and the $export
 * workers both use it. The job calls (bulk_job_*) keep an in-memory registry
 * of export jobs, each run by its own worker thread with its own store
 * connection; nothing of a job survives a restart. No HTTP here: the
 * $export endpoints that use these calls are in operations.c.
 */
#ifndef KITH_FHIR_BULK_H
#define KITH_FHIR_BULK_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "base/id.h"
#include "base/rc.h"
#include "store/store.h"

#define BULK_MAX_TYPES STORE_SCAN_MAX_TYPES
#define BULK_MAX_PATIENTS 100000 /* members of a Group export, or `patient` parameters */
#define BULK_MAX_RUNNING 4       /* export jobs running at once */
#define BULK_MAX_JOBS 32         /* jobs kept (running or finished, not yet deleted or expired) */
#define BULK_KEEP_SECONDS 86400  /* a finished job and its files are deleted this long after it ends */
#define BULK_DEFAULT_DIR "kith-exports"

/*
 * Parse a FHIR instant, dateTime or date used as a lower bound (_since,
 * --since) into the form meta.lastUpdated is stored in: UTC with
 * milliseconds, 2026-01-31T09:00:00.000Z. A time needs seconds and a zone;
 * a bare date or year means its start in UTC; digits past milliseconds
 * round up (the bound stays exact). Returns false if s is not one.
 */
bool bulk_since_parse(const char *s, char out[CLOCK_INSTANT_LEN]);

/*
 * Add the resource types of a comma-separated list (_type, --type; spaces
 * around names allowed, repeats dropped) to *types / *n, which the caller
 * frees with bulk_types_free (start from NULL / 0; calls may be repeated).
 * KITH_EINVAL when a name is not an R4 resource type or the list is empty
 * (the offending name, possibly "", goes to bad), KITH_ETOOBIG beyond
 * BULK_MAX_TYPES. On error the list keeps the names before the bad one.
 */
kith_rc bulk_types_parse(const char *list, char ***types, size_t *n, char *bad, size_t badlen);
void bulk_types_free(char **types, size_t n);

/* Which resources an export takes. */
typedef enum bulk_scope {
    BULK_SYSTEM,       /* every current resource */
    BULK_ALL_PATIENTS, /* those in any Patient's compartment (Patient-level $export) */
    BULK_PATIENT_LIST  /* those in the compartments of the listed Patients (Group-level) */
} bulk_scope;

typedef struct bulk_spec {
    const char *dir;            /* existing directory for the files */
    bulk_scope scope;
    const char *const *types;   /* only these types; ntypes 0: every type */
    size_t ntypes;
    const char *since;          /* as made by bulk_since_parse, or NULL */
    const char *const *patients;/* BULK_PATIENT_LIST: Patient ids (no repeats) */
    size_t npatients;
    atomic_bool *cancel;        /* may be NULL; set true (any thread) to stop */
    void (*progress)(void *ctx, int64_t written); /* may be NULL; called after each resource */
    void *progress_ctx;
} bulk_spec;

/* One file written: DIR/<type>.ndjson with count lines. */
typedef struct bulk_output {
    char type[64];
    int64_t count;
} bulk_output;

/*
 * Write every current, non-deleted resource the spec selects into
 * DIR/<Type>.ndjson, one resource per line, types with no resources
 * getting no file. Streams: memory does not grow with the data. Files are
 * written as <Type>.ndjson.part and renamed when all are complete (an
 * existing file of the same name is replaced). *out gets the files in type
 * order (caller frees; NULL when none). On failure or cancellation every
 * .part file is removed, nothing is renamed, a message goes to err, and
 * the result is KITH_EIO (a file failed), a store error, or KITH_EBUSY
 * (cancelled).
 */
kith_rc bulk_write_ndjson(store_conn *c, const bulk_spec *spec, bulk_output **out, size_t *nout, char *err,
                          size_t errlen);

/* ---- $export jobs ------------------------------------------------------- */

/* Where job directories go (copied; default BULK_DEFAULT_DIR, created when
 * the first job starts). Call before serving. */
void bulk_configure(const char *export_dir);
/* Cancel and join every job and delete its files; before store_close. */
void bulk_shutdown(void);

/* True if s has the form of a job id (a lower-case UUID). */
bool bulk_job_id_valid(const char *s);

typedef struct bulk_job_params {
    bulk_scope scope;
    const char *const *types;
    size_t ntypes;
    const char *since;           /* normalised (bulk_since_parse) or NULL */
    const char *const *patients; /* BULK_PATIENT_LIST */
    size_t npatients;
    const char *request;         /* the kick-off request URL, for the manifest */
    const char *owner;           /* the account that asked ("client/NAME"), or NULL */
    bool secondary_use;          /* for planning or research: leave out people with the national data opt-out */
} bulk_job_params;

/*
 * Start an export job on its own thread reading from st (everything in p is
 * copied). *id gets the job id. KITH_EBUSY when BULK_MAX_RUNNING jobs run
 * or BULK_MAX_JOBS are kept; KITH_EIO when the directory cannot be made;
 * err says why.
 */
kith_rc bulk_job_start(store *st, const bulk_job_params *p, char id[ID_UUID_LEN], char *err, size_t errlen);

typedef enum bulk_state { BULK_RUNNING, BULK_DONE, BULK_FAILED } bulk_state;

/* A snapshot of a job; free with bulk_status_free. */
typedef struct bulk_status {
    bulk_state state;
    char transaction_time[CLOCK_INSTANT_LEN];
    char *request;          /* owned */
    int64_t written;        /* resources written so far */
    int64_t expected;       /* resources the export will write (estimate), -1 unknown */
    bulk_output *outputs;   /* BULK_DONE: the files; owned */
    size_t noutputs;
    char error[256];        /* BULK_FAILED: why */
} bulk_status;

/* The job's state; KITH_ENOTFOUND for an unknown (or deleted, or expired) job. */
kith_rc bulk_job_status(const char *id, const char *owner, bulk_status *out);
void bulk_status_free(bulk_status *s);
/* Stop the job if it runs, delete its files and forget it; KITH_ENOTFOUND if unknown. */
kith_rc bulk_job_delete(const char *id, const char *owner);
/* Path of a finished job's file of `type` into path; KITH_ENOTFOUND unless
 * the job is done and wrote that type. */
kith_rc bulk_job_file(const char *id, const char *owner, const char *type, char *path, size_t pathlen);

/* owner: the account asking; a job started by another account is KITH_ENOTFOUND
 * to it (NULL: no check). */

#endif
