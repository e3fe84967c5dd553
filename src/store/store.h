/*
 * store.h — the backend-neutral resource store.
 *
 * Everything above the store speaks FHIR resources as JSON text plus the few
 * keys the store needs (type, id, version, time, Patient compartment, search
 * index rows). Backends: SQLite (src/store/sqlite.c, the default, a file
 * path) and PostgreSQL 15 (src/store/postgres.c, a postgresql:// URL; see
 * docs/scaling.md) behind the same calls.
 *
 * Threading: a `store` is shared by all threads and is thread-safe. Each
 * thread works through its own `store_conn` (store_conn_for_thread gives the
 * calling thread's connection, opened on first use). A store_conn is never
 * shared between threads.
 *
 * Transactions: store_begin / store_commit / store_rollback bracket any
 * number of reads and writes on one connection; a write is durable when
 * store_commit returns KITH_OK. Calls made outside a transaction run in
 * their own implicit one.
 */
#ifndef KITH_STORE_H
#define KITH_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"

typedef struct store store;
typedef struct store_conn store_conn;

typedef struct store_options {
    bool durable_full; /* true: fsync on every commit (SQLite synchronous=FULL) */
    int cache_mb;      /* page cache per connection in MiB (0: 4) */
    int max_connections; /* the connection pool's size: at most this many open at once (0: no limit) */
} store_options;

/* Open (creating if needed) and migrate the store at `url` (a file path for
 * SQLite). On failure writes a message to err. Caller frees with store_close. */
kith_rc store_open(const char *url, const store_options *opt, store **out, char *err, size_t errlen);
void store_close(store *s);
/* Is url a PostgreSQL store (postgresql:// or postgres://)? Else a SQLite file path. */
bool store_is_postgres(const char *url);
/* url as it may be shown in a log: a PostgreSQL URL's password becomes "***"
 * (out gets at most len - 1 bytes). */
void store_url_for_log(const char *url, char *out, size_t len);
/* Remove the store at url and everything in it (for tests and throwaway
 * stores): a SQLite file and its -wal/-shm; on PostgreSQL, the schema the
 * URL's search_path names (options=-csearch_path%3DNAME), never `public`.
 * Nothing may have it open. */
kith_rc store_destroy(const char *url, char *err, size_t errlen);
/* Online backup of the store at url into file, while others may read and
 * write it: SQLite through its backup API (the copy is integrity-checked
 * before it replaces file); PostgreSQL through pg_dump of the URL's schema
 * (custom format). On failure file is left as it was and err says why. */
kith_rc store_backup(const char *url, const char *file, char *err, size_t errlen);
/* Replace the store at url with the backup in file (made by store_backup for
 * the same kind of store). Nothing may have url open. SQLite: file is
 * checked first (KITH_EINVAL if it is not a whole Kith database) and url is
 * left as it was if it is not; PostgreSQL: pg_restore in one transaction
 * into the URL's schema. */
kith_rc store_restore(const char *url, const char *file, char *err, size_t errlen);
/*
 * Hear of resources other processes sharing the store write (several `kith
 * serve` on one PostgreSQL database): fn(ctx, type, id) is called on a
 * thread of the store's own, after each such write commits (PostgreSQL
 * LISTEN/NOTIFY; writes of this process are not reported). fn NULL stops
 * it (do that before ctx goes away). KITH_EUNSUPPORTED on SQLite, where one
 * process owns the file.
 */
typedef void (*store_change_fn)(void *ctx, const char *type, const char *id);
kith_rc store_watch(store *s, store_change_fn fn, void *ctx);
/* Schema version after migrations. */
int store_schema_version(store *s);

/* The calling thread's connection, taken from the store's pool on first use
 * (borrowed; closed by store_close or when the thread calls
 * store_thread_release). When max_connections are open and none is free,
 * waits up to 10 s for one. NULL on failure or after that wait. */
store_conn *store_conn_for_thread(store *s);
/* Give the calling thread's connection back to the pool for another thread
 * (kith serve: after each request). A transaction left open is rolled back
 * and the viewer cleared. */
void store_conn_return(store *s);
/* Close the calling thread's connection (a thread about to end). */
void store_thread_release(store *s);

kith_rc store_begin(store_conn *c);    /* a write transaction (takes the write lock) */
kith_rc store_commit(store_conn *c);
kith_rc store_rollback(store_conn *c); /* safe to call when no transaction is open */

/*
 * Group commit. fn runs inside a write transaction that may be shared with
 * other threads' jobs, on whichever thread's connection leads the group; it
 * must use only the connection it is given. Each job is a savepoint: if fn
 * fails, only its own changes are undone. Returns fn's result, or the
 * commit's failure. One fsync then serves many writes, which is what lets
 * fully durable writes keep up with many clients.
 */
typedef kith_rc (*store_job_fn)(store_conn *c, void *ctx);
kith_rc store_run_grouped(store_conn *c, store_job_fn fn, void *ctx);

/* One stored version of a resource. All strings owned; free with store_resource_free. */
typedef struct store_resource {
    char *type;
    char *id;
    int64_t version;      /* meta.versionId */
    char *last_updated;   /* meta.lastUpdated, an instant */
    bool deleted;         /* a delete marker: no body */
    char *method;         /* POST, PUT or DELETE: how this version was made */
    char *body;           /* JSON text; NULL when deleted */
    size_t body_len;
    int64_t seq;          /* position in the store's global change order */
    char *patient;        /* store_read only: the Patient compartment the version belongs to, or NULL */
    bool hidden;          /* store_read only: KITH_ENOTFOUND because the viewer may not see it (it exists) */
} store_resource;

void store_resource_free(store_resource *r);

/*
 * Read a version: `version` 0 means the current one. KITH_ENOTFOUND when the
 * resource (or that version) never existed. When the current version is a
 * delete marker returns KITH_EGONE and fills *out (deleted = true).
 */
kith_rc store_read(store_conn *c, const char *type, const char *id, int64_t version, store_resource *out);

/*
 * A search-index row derived from a resource at write time (src/fhir/index.c
 * computes them from the R4 SearchParameter expressions). The meaning of
 * a, b, c by kind:
 *   STRING     a = normalised (lower case, no accents), b = exact text
 *   TOKEN      a = system ("" if none), b = code, c = normalised display/text (for :text)
 *   DATE       lo..hi = the instant range the value covers (seconds since 1970, UTC)
 *   NUMBER     lo..hi = the range the written precision covers
 *   QUANTITY   a = system, b = code (or unit), lo..hi as for numbers
 *   REFERENCE  a = target type, b = target id, c = the reference as written (URLs, canonicals)
 *   URI        a = the uri
 *   COMPOSITE  a = first component's system, b = its code, c = second component's code
 *              (tokens) or unit (quantities); lo..hi = second component's range
 *   TEXT       a = narrative text (for _text), b = all text (for _content)
 */
typedef enum store_ix_kind {
    STORE_IX_STRING,
    STORE_IX_TOKEN,
    STORE_IX_DATE,
    STORE_IX_NUMBER,
    STORE_IX_QUANTITY,
    STORE_IX_REFERENCE,
    STORE_IX_URI,
    STORE_IX_COMPOSITE,
    STORE_IX_TEXT,
    STORE_IX_KINDS
} store_ix_kind;

typedef struct store_index_row {
    store_ix_kind kind;
    const char *param; /* search parameter code, e.g. "identifier" */
    const char *a, *b, *c;
    double lo, hi;
} store_index_row;

typedef struct store_put {
    const char *type, *id;
    int64_t version;           /* the new version number */
    const char *last_updated;  /* instant */
    const char *method;        /* POST | PUT | DELETE */
    const char *patient;       /* Patient compartment id or NULL */
    const char *body;          /* NULL for a delete */
    size_t body_len;
    const store_index_row *rows; /* search index rows; replace the previous version's as a set */
    size_t nrows;
} store_put;

/* Write a new version and its index rows (call inside store_begin). */
kith_rc store_write(store_conn *c, const store_put *p);

/*
 * Bulk loading (kith import): inside store_begin, name the n resources
 * (types[i]/ids[i]) about to be written. Until the next store_bulk_load or
 * the transaction's end, reads of their current versions need no query, and
 * their writes may be held back and sent together (PostgreSQL: by COPY),
 * before any other statement runs and at commit, so a failed write may show
 * only at a later call or at commit. Behaviour is otherwise unchanged.
 * SQLite: does nothing.
 */
kith_rc store_bulk_load(store_conn *c, const char *const *types, const char *const *ids, size_t n);

/*
 * Ids of current, not-deleted resources of `type` having the token
 * (param, system, code); system NULL matches any system. At most `max` ids
 * are returned in *ids (caller frees each and the array). *n gets the count.
 */
kith_rc store_find_token(store_conn *c, const char *type, const char *param, const char *system, const char *code,
                         size_t max, char ***ids, size_t *n);

/* ---- search ------------------------------------------------------------
 *
 * A query is an AND of filters; each filter is an OR of matches on one
 * search parameter. The store turns it into its own query language.
 */
typedef enum store_op {
    STORE_OP_EQ, /* tokens, references, uris: equal; numbers/dates: the search range contains the value's */
    STORE_OP_NE,
    STORE_OP_GT,
    STORE_OP_LT,
    STORE_OP_GE,
    STORE_OP_LE,
    STORE_OP_SA,
    STORE_OP_EB,
    STORE_OP_AP,
    STORE_OP_STARTS,   /* strings: normalised prefix (the default) */
    STORE_OP_EXACT,    /* strings: exact, case and accents kept */
    STORE_OP_CONTAINS, /* strings: normalised substring; uris: never */
    STORE_OP_TEXT,     /* tokens: normalised display/text prefix */
    STORE_OP_BELOW,    /* uris: the value starts with the search uri */
    STORE_OP_ABOVE,    /* uris: the search uri starts with the value */
    STORE_OP_MISSING,  /* the resource has no row for the parameter */
    STORE_OP_PRESENT,  /* the resource has some row for the parameter */
    STORE_OP_MATCH     /* _text/_content: full-text query */
} store_op;

struct store_query;

typedef struct store_match {
    store_op op;
    const char *a, *b, *c; /* as in store_index_row; NULL: any */
    double lo, hi;         /* numbers, dates, quantities: the search value's range */
    double value;          /* numbers: the value itself (for ap) */
    const struct store_query *chain; /* references: the target must match this query (its type = target type) */
} store_match;

typedef struct store_filter {
    store_ix_kind kind;
    const char *param;       /* "_id" matches the resource id; "_list" List membership */
    bool negate;             /* token :not: resources with no matching row */
    store_match *ors;
    size_t nors;
    /* _has (reverse chaining): resources referenced by `has_type` resources
     * whose reference parameter `has_param` points here and which match has_query. */
    const char *has_type, *has_param;
    const struct store_query *has_query;
} store_filter;

typedef struct store_sort {
    store_ix_kind kind;
    const char *param; /* "_id" sorts by id */
    bool desc;
} store_sort;

typedef struct store_query {
    const char *type;
    store_filter *filters;
    size_t nfilters;
    store_sort *sorts;
    size_t nsorts;
    size_t count;       /* page size (0: count only) */
    const char *cursor; /* NULL for the first page, else a cursor from a previous page */
    bool want_total;
} store_query;

/* Called for each history or search entry; return non-zero to stop. */
typedef int (*store_history_fn)(void *ctx, const store_resource *r);

typedef struct store_history_query {
    const char *type;  /* NULL: whole system */
    const char *id;    /* NULL: whole type */
    const char *since; /* instant or NULL: only versions updated at/after it */
    int64_t before_seq;/* 0: from newest; else only entries with seq < before_seq (paging cursor) */
    size_t count;      /* page size */
} store_history_query;

/*
 * Run a search: fn gets each resource of the page in order. *total (if
 * want_total) counts every match; *next_cursor and *prev_cursor (caller
 * frees) lead to the following and preceding pages, NULL at either end. A cursor keeps its place by the sort keys and id, so pages
 * neither repeat nor skip resources that stay while others change.
 * KITH_EINVAL when the cursor is not one this store made.
 */
kith_rc store_search(store_conn *c, const store_query *q, store_history_fn fn, void *ctx, int64_t *total,
                     char **next_cursor, char **prev_cursor);

/* Ids of the resources of type `type` referenced by parameter `param` of
 * the given resources (for _include): calls fn with target type and id. */
typedef int (*store_ref_fn)(void *ctx, const char *type, const char *id);
kith_rc store_references_from(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *param,
                              const char *target_type, store_ref_fn fn, void *ctx);
/* Resources of type `src_type` whose parameter `param` references one of
 * the given type/ids (for _revinclude): calls fn with their type and id. */
kith_rc store_references_to(store_conn *c, const char *type, const char *const *ids, size_t nids,
                            const char *src_type, const char *param, store_ref_fn fn, void *ctx);

/* Run a history query. *total gets the number of matching entries (all pages). */
kith_rc store_history(store_conn *c, const store_history_query *q, store_history_fn fn, void *ctx, int64_t *total);

/* Current, not-deleted resources of `type` in id order, starting after
 * after_id (NULL: from the first); at most count calls of fn. For Kith's own
 * loaders (reindex, subscriptions, the CLI): it does NOT apply the viewer.
 * Anything answering a caller uses store_scan, which does. */
kith_rc store_list(store_conn *c, const char *type, const char *after_id, size_t count, store_history_fn fn,
                   void *ctx);

/* Replace the search index rows and the Patient compartment of type/id
 * (used to rebuild the index when the way it is computed changes). Call
 * inside store_begin. */
kith_rc store_replace_index(store_conn *c, const char *type, const char *id, const char *patient,
                            const store_index_row *rows, size_t nrows);
/* Small settings kept in the database (e.g. "reindex" = "needed").
 * store_meta_get gives NULL in *value when unset; caller frees. */
kith_rc store_meta_get(store_conn *c, const char *key, char **value);
kith_rc store_meta_set(store_conn *c, const char *key, const char *value);

/* Which current, not-deleted resources store_scan visits. Every filter left
 * empty (NULL / 0 / false) means "no restriction". */
typedef struct store_scan_query {
    const char *const *types; /* only these resource types (ntypes of them) */
    size_t ntypes;            /* 0: every type; at most STORE_SCAN_MAX_TYPES */
    const char *since;        /* an instant (as meta.lastUpdated is written): only resources updated at/after it */
    const char *patient;      /* a Patient id: only resources in that Patient's compartment */
    bool in_compartment;      /* only resources in some Patient's compartment */
    const char *after_type;   /* cursor: only resources after (after_type, after_id) in (type, id) order */
    const char *after_id;     /* (both NULL: from the first) */
    size_t limit;             /* at most this many calls of fn; 0: no limit */
} store_scan_query;

#define STORE_SCAN_MAX_TYPES 256

/*
 * Visit current, not-deleted resources matching q in (type, id) order,
 * calling fn for each (the resource is borrowed for the call); fn returns
 * non-zero to stop early. Streams: memory does not grow with the number of
 * rows. KITH_EINVAL when q has more than STORE_SCAN_MAX_TYPES types.
 */
kith_rc store_scan(store_conn *c, const store_scan_query *q, store_history_fn fn, void *ctx);
/* How many resources store_scan would visit for q, ignoring its cursor and limit. */
kith_rc store_scan_count(store_conn *c, const store_scan_query *q, int64_t *n);

/* Counts of current, not-deleted resources of a type (type NULL: all). */
kith_rc store_count(store_conn *c, const char *type, int64_t *n);

/* Check the database file's integrity (SQLite PRAGMA integrity_check). */
kith_rc store_check(store_conn *c, char *msg, size_t msglen);

/* ---- accounts, tokens and the audit log (not FHIR resources) ------------- */

/* Someone or something that may use Kith: a user (a person who signs in) or
 * a client (a system using the API). Strings owned by the struct. */
typedef struct store_account {
    char *kind;         /* "user" or "client" */
    char *name;         /* username or client name */
    char *role;         /* users: role code (see src/auth); clients: purpose (direct-care,
                           secondary-use, records-management; NULL means direct-care) */
    char *org;          /* Organization id the user works for, or NULL */
    char *practitioner; /* Practitioner id of the user, or NULL */
    char *secret;       /* users: argon2id password hash; clients: NULL */
    char *scopes;       /* clients: SMART scopes, space-separated; users: NULL */
    char *public_key;   /* clients: PEM public key for signed assertions, or NULL */
    bool disabled;
    int64_t failures;     /* failed sign-ins in a row */
    int64_t locked_until; /* seconds since 1970: no sign-in before then (0: none) */
    int64_t created;      /* seconds since 1970 */
} store_account;
void store_account_free(store_account *a);
typedef int (*store_account_fn)(void *ctx, const store_account *a); /* non-zero stops */

/* Insert or replace the account (kind, name). */
kith_rc store_account_put(store_conn *c, const store_account *a);
/* KITH_ENOTFOUND when there is none. */
kith_rc store_account_get(store_conn *c, const char *kind, const char *name, store_account *out);
/* Accounts of a kind in name order. */
kith_rc store_account_list(store_conn *c, const char *kind, store_account_fn fn, void *ctx);

/* An issued bearer token: only a hash of it is kept. */
typedef struct store_token {
    char *hash;       /* hex SHA-256 of the token */
    char *kind;       /* "user" or "client": the account it speaks for */
    char *subject;    /* the account name */
    char *scopes;     /* granted scopes, space-separated */
    int64_t expires;  /* seconds since 1970 */
} store_token;
void store_token_free(store_token *t);
kith_rc store_token_put(store_conn *c, const store_token *t);
/* KITH_ENOTFOUND when no such token was issued (expiry is the caller's to check). */
kith_rc store_token_get(store_conn *c, const char *hash, store_token *out);
/* Forget a token (signing out). KITH_OK whether or not it existed. */
kith_rc store_token_delete(store_conn *c, const char *hash);

/*
 * The audit log: append-only; each entry carries the hash of the entry
 * before it (src/audit computes the hashes). Entries get consecutive seq
 * numbers from 1. No call changes or removes an entry.
 */
typedef struct store_audit_entry {
    int64_t seq;      /* set by the store on append */
    char *recorded;   /* instant */
    char *agent;      /* the account (kind/name) that acted */
    char *patient;    /* the Patient id the event concerns, or NULL */
    char *action;     /* C R U D E (execute: search, export, login...) */
    char *outcome;    /* FHIR AuditEvent.outcome code: 0 4 8 12 */
    char *body;       /* the AuditEvent as JSON */
    char *prev_hash;  /* hex SHA-256 of the previous entry ("" for the first) */
    char *hash;       /* hex SHA-256 of this entry */
} store_audit_entry;
void store_audit_entry_free(store_audit_entry *e);
typedef int (*store_audit_fn)(void *ctx, const store_audit_entry *e); /* non-zero stops */

/* Append n entries; their seq are set. Call inside a transaction (store_begin),
 * after reading store_audit_last in it, so that no other writer slips in. */
kith_rc store_audit_append(store_conn *c, store_audit_entry *e, size_t n);
/* The last entry's seq and hash (0 and "" when the log is empty; caller frees *hash). */
kith_rc store_audit_last(store_conn *c, int64_t *seq, char **hash);

typedef struct store_audit_query {
    const char *patient;    /* only entries about this Patient id */
    const char *agent;      /* only entries by this account */
    const char *since;      /* instants: recorded at or after since, before until */
    const char *until;
    int64_t after_seq;      /* cursor: entries after this seq (0: from the first) */
    size_t limit;           /* 0: no limit */
    bool newest_first;
} store_audit_query;
/* Visit entries matching q in seq order (or newest first). */
kith_rc store_audit_scan(store_conn *c, const store_audit_query *q, store_audit_fn fn, void *ctx);

/* ---- who is looking: the access policy's view of the store ---------------- */

/*
 * While a viewer is set on a connection, every read, search (with its
 * chains, _has and totals), history and scan (not store_list) on that connection
 * returns only what the viewer may see: resources outside any Patient's
 * compartment, and the records of people the viewer has a care relationship
 * with. A relationship is any of:
 *   - the viewer's organisation is the person's registered GP practice
 *     (Patient.generalPractitioner);
 *   - a CareTeam, EpisodeOfCare, ServiceRequest or Task about the person
 *     names the viewer's practitioner or organisation (participant, care
 *     manager, managing organisation, performer, owner) and is not closed
 *     (inactive, finished, completed, cancelled, revoked, ...);
 *   - an unexpired break-glass grant for the viewer and the person.
 * Resources labelled (meta.security) with a code in hidden_labels are hidden
 * too, and so are resources referring to an organisation the person objected
 * to sharing (an active Consent, provision.type deny, naming it as actor),
 * unless the viewer works there; a break-glass grant lifts both.
 * A secondary_use viewer (a system doing planning or research) sees every
 * record except those of people with the national data opt-out: an active
 * Consent in category kith consent-category|national-data-opt-out.
 * Anything else behaves as if it did not exist (reads say not found).
 */
typedef struct store_viewer {
    bool no_patient_data;     /* sees nothing in any Patient's compartment (analysts) */
    bool secondary_use;       /* planning or research: everyone's records except those of people who
                                 registered the national data opt-out; no care-relationship rule */
    bool consent_only;        /* a direct-care system: only people's objections to sharing (Consent) bind
                                 it, not care relationships */
    const char *account;      /* "user/NAME": whose break-glass grants count */
    const char *practitioner; /* Practitioner id, or NULL */
    const char *org;          /* Organization id, or NULL */
    const char *hidden_labels; /* meta.security codes the viewer may not see, space-separated, or NULL;
                                  a break-glass grant for the person lifts them */
    bool relationship_given;  /* the caller's query only reaches records the viewer has a care relationship
                                 with (e.g. open Tasks their team owns): skip that check, keep the others */
} store_viewer;
/* Set (v non-NULL) or clear (NULL) the viewer of connection c. */
kith_rc store_set_viewer(store_conn *c, const store_viewer *v);
/* May the current viewer of c see resource type/id in Patient patient's record
 * (patient NULL: in nobody's)? true with no viewer. */
kith_rc store_viewer_sees(store_conn *c, const char *type, const char *id, const char *patient, bool *sees);

/* Record a break-glass grant: account may see patient until expires (seconds since 1970). */
kith_rc store_grant_add(store_conn *c, const char *account, const char *patient, int64_t expires, const char *reason);

/* Cumulative time spent in store calls, for /metrics. */
typedef struct store_stats {
    uint64_t reads, writes, commits, searches;
    uint64_t read_us, write_us, commit_us, search_us;
    uint64_t groups, grouped_jobs; /* group commits and the writes they carried */
    size_t connections, idle_connections, max_connections; /* the pool now (max 0: no limit) */
    uint64_t pool_waits;           /* times a thread had to wait for a connection */
} store_stats;
void store_get_stats(store *s, store_stats *out);

#endif
