/*
 * store.h — the backend-neutral resource store.
 *
 * Everything above the store speaks FHIR resources as JSON text plus the few
 * keys the store needs (type, id, version, time, Patient compartment, search
 * index rows). Backends: SQLite (src/store/sqlite.c, the default, a file
 * path) and, later, PostgreSQL (a postgresql:// URL) behind the same calls.
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
} store_options;

/* Open (creating if needed) and migrate the store at `url` (a file path for
 * SQLite). On failure writes a message to err. Caller frees with store_close. */
kith_rc store_open(const char *url, const store_options *opt, store **out, char *err, size_t errlen);
void store_close(store *s);
/* Schema version after migrations. */
int store_schema_version(store *s);

/* The calling thread's connection (borrowed; closed by store_close or when
 * the thread calls store_thread_release). NULL on failure. */
store_conn *store_conn_for_thread(store *s);
void store_thread_release(store *s);

kith_rc store_begin(store_conn *c);    /* a write transaction (takes the write lock) */
kith_rc store_commit(store_conn *c);
kith_rc store_rollback(store_conn *c); /* safe to call when no transaction is open */

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
} store_resource;

void store_resource_free(store_resource *r);

/*
 * Read a version: `version` 0 means the current one. KITH_ENOTFOUND when the
 * resource (or that version) never existed. When the current version is a
 * delete marker returns KITH_EGONE and fills *out (deleted = true).
 */
kith_rc store_read(store_conn *c, const char *type, const char *id, int64_t version, store_resource *out);

/* A search-index row derived from a resource at write time. */
typedef struct store_token {
    const char *param;  /* search parameter name, e.g. "identifier" */
    const char *system; /* may be NULL */
    const char *code;   /* the value */
} store_token;

typedef struct store_put {
    const char *type, *id;
    int64_t version;           /* the new version number */
    const char *last_updated;  /* instant */
    const char *method;        /* POST | PUT | DELETE */
    const char *patient;       /* Patient compartment id or NULL */
    const char *body;          /* NULL for a delete */
    size_t body_len;
    const store_token *tokens; /* index rows; replaced as a set */
    size_t ntokens;
} store_put;

/* Write a new version and its index rows (call inside store_begin). */
kith_rc store_write(store_conn *c, const store_put *p);

/*
 * Ids of current, not-deleted resources of `type` having the token
 * (param, system, code); system NULL matches any system. At most `max` ids
 * are returned in *ids (caller frees each and the array). *n gets the count.
 */
kith_rc store_find_token(store_conn *c, const char *type, const char *param, const char *system, const char *code,
                         size_t max, char ***ids, size_t *n);

/* Called for each history entry, newest first; return non-zero to stop. */
typedef int (*store_history_fn)(void *ctx, const store_resource *r);

typedef struct store_history_query {
    const char *type;  /* NULL: whole system */
    const char *id;    /* NULL: whole type */
    const char *since; /* instant or NULL: only versions updated at/after it */
    int64_t before_seq;/* 0: from newest; else only entries with seq < before_seq (paging cursor) */
    size_t count;      /* page size */
} store_history_query;

/* Run a history query. *total gets the number of matching entries (all pages). */
kith_rc store_history(store_conn *c, const store_history_query *q, store_history_fn fn, void *ctx, int64_t *total);

/* Current, not-deleted resources of `type` in id order, starting after
 * after_id (NULL: from the first); at most count calls of fn. */
kith_rc store_list(store_conn *c, const char *type, const char *after_id, size_t count, store_history_fn fn,
                   void *ctx);

/* Counts of current, not-deleted resources of a type (type NULL: all). */
kith_rc store_count(store_conn *c, const char *type, int64_t *n);

/* Check the database file's integrity (SQLite PRAGMA integrity_check). */
kith_rc store_check(store_conn *c, char *msg, size_t msglen);

/* Cumulative time spent in store calls, for /metrics. */
typedef struct store_stats {
    uint64_t reads, writes, commits, searches;
    uint64_t read_us, write_us, commit_us, search_us;
} store_stats;
void store_get_stats(store *s, store_stats *out);

#endif
