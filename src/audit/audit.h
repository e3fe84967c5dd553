/*
 * audit.h — the audit trail: one AuditEvent (in the style of the IHE Basic
 * Audit Log Patterns) for every access to the record, kept in an
 * append-only, SHA-256 hash-chained log (store_audit_*).
 *
 * audit_record queues an event and returns at once; a writer thread of the
 * log appends queued events in batches (every 20 ms or 1,000 events), each
 * batch in one transaction that reads the last hash and chains on from it,
 * so several processes may append to one log. An event queued just before a
 * crash can be lost (at most the last 20 ms); nothing written can be changed
 * without audit_verify noticing.
 *
 * Entry hash = SHA-256 of the previous entry's hash, then recorded, agent,
 * patient, action, outcome and the AuditEvent JSON, each followed by a
 * newline. Thread-safe.
 */
#ifndef KITH_AUDIT_H
#define KITH_AUDIT_H
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "base/rc.h"
#include "store/store.h"

typedef struct audit_event {
    char action;              /* C R U D E (E: execute — search, export, login, break-glass...) */
    const char *subtype;      /* what was done: read, vread, history, search, create, update, patch, delete,
                                 operation, export, login, break-glass, ... */
    int outcome;              /* AuditEvent.outcome: 0 success, 4 minor failure (refused, not found),
                                 8 serious failure, 12 major failure */
    const auth_principal *who; /* NULL: nobody authenticated (a failed sign-in) */
    const char *who_claimed;  /* the name tried when who is NULL, or NULL */
    const char *patient;      /* the Patient id the event is about, or NULL */
    const char *what;         /* "Type/id" acted on, or NULL */
    const char *type;         /* resource type acted on (searches), or NULL */
    const char *query;        /* the query string of a search, or NULL */
    const char *address;      /* the client's network address, or NULL */
    const char *request_id;   /* X-Request-Id, or NULL */
    const char *detail;       /* free text: a break-glass reason, why access was refused */
} audit_event;

typedef struct audit_log audit_log;

/* Start a log writing into st (borrowed; must outlive the log). */
audit_log *audit_open(store *st);
/* Queue ev (copied). When 20,000 entries are already waiting to be written,
 * waits until the writer takes them. */
void audit_record(audit_log *l, const audit_event *ev);
/* Wait until everything queued so far is written. KITH_OK, or the failure. */
kith_rc audit_flush(audit_log *l);
/* Flush and stop the writer. */
void audit_close(audit_log *l);

/* Write ev at once through c (for the CLI). */
kith_rc audit_write_now(store_conn *c, const audit_event *ev);

/* Recompute the chain. *checked = entries checked; on a break, *broken = the
 * first entry whose hash or link does not hold (0 when intact) and msg says
 * what is wrong. KITH_OK when intact, KITH_EINVALID when broken. */
kith_rc audit_verify(store_conn *c, int64_t *checked, int64_t *broken, char *msg, size_t msglen);

#endif
