/*
 * postgres_int.h — what the PostgreSQL backend's files share (private to
 * src/store; only src/store may include libpq-fe.h).
 */
#ifndef KITH_STORE_POSTGRES_INT_H
#define KITH_STORE_POSTGRES_INT_H
#include <libpq-fe.h>
#include <stdatomic.h>

#include "base/buf.h"
#include "store/backend.h"

/* One thread's connection: one PGconn, its prepared statements, and the
 * state of its transaction. */
typedef struct pg_conn {
    store_conn_head head;
    PGconn *db;
    bool in_tx;       /* between store_begin and commit/rollback */
    kith_rc tx_err;   /* the first failure inside the transaction (PostgreSQL then refuses the rest) */
    int lock_key;     /* the writer lock's second key: hashtext of the store's schema */
    char channel[32]; /* the store's NOTIFY channel: kith_changes_<lock_key> */
    const char *nonce; /* this process's store (pg_state): its own writes are not reported back */
    atomic_bool *consents_seen; /* the store's (pg_state): see pg_set_viewer */
    int viewer;       /* VIEW_* flags of the viewer (store/sqlgen.h), 0: none */
    int viewer_suspended;
    char viewer_key[512]; /* the viewer whose values pg_temp.kith_viewer holds */
    struct pg_cached *cache; /* statements pg_exec prepared, by SQL text (PG_CACHE_SIZE, least recently used out) */
    uint64_t tick;
    struct pg_bulk *bulk; /* the batch being loaded (postgres_bulk.c), NULL when none */
    bool load_tables;     /* its temporary tables exist on this session */
} pg_conn;
typedef struct pg_bulk pg_bulk;

/* Map a failed result to kith_rc (serialization/lock failures: KITH_EBUSY,
 * constraint violations: KITH_ECONFLICT). */
kith_rc pg_rc_of(const PGresult *res);
/* Run sql with n text parameters (NULL entries are SQL NULL), prepared on
 * first use and kept per connection by its text. On success
 * returns the result (caller PQclears); on failure NULL with *rc set, and the
 * transaction (if any) remembers the failure. */
PGresult *pg_exec(pg_conn *c, const char *sql, int n, const char *const *vals, kith_rc *rc);
/* A text column: owned copy, NULL for SQL NULL. */
char *pg_col(const PGresult *res, int row, int col);
int64_t pg_i64(const PGresult *res, int row, int col);
/* Append v to a PostgreSQL array literal being built in arr (its closing
 * brace is the caller's): a quoted text element; NULL is SQL NULL when
 * null_is_null, else "". */
void pg_array_text(buf *arr, const char *v, bool null_is_null);
/* Writes outside store_begin run in their own transaction that takes the
 * writer lock: pg_write_begin opens it when needed (*implicit), and
 * pg_write_end commits or rolls it back by rc; both return the outcome. */
kith_rc pg_write_begin(pg_conn *c, bool *implicit);
kith_rc pg_write_end(pg_conn *c, bool implicit, kith_rc rc);

/* postgres_accounts.c */
kith_rc pg_account_put(store_conn *c, const store_account *a);
kith_rc pg_account_get(store_conn *c, const char *kind, const char *name, store_account *out);
kith_rc pg_account_list(store_conn *c, const char *kind, store_account_fn fn, void *ctx);
kith_rc pg_token_put(store_conn *c, const store_token *t);
kith_rc pg_token_get(store_conn *c, const char *hash, store_token *out);
kith_rc pg_token_delete(store_conn *c, const char *hash);
kith_rc pg_audit_append(store_conn *c, store_audit_entry *e, size_t n);
kith_rc pg_audit_last(store_conn *c, int64_t *seq, char **hash);
kith_rc pg_audit_scan(store_conn *c, const store_audit_query *q, store_audit_fn fn, void *ctx);
kith_rc pg_grant_add(store_conn *c, const char *account, const char *patient, int64_t expires, const char *reason);

/* postgres_search.c */
kith_rc pg_search(store_conn *c, const store_query *q, store_history_fn fn, void *ctx, int64_t *total,
                  char **next_cursor, char **prev_cursor);
kith_rc pg_references_from(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *param,
                           const char *target_type, store_ref_fn fn, void *ctx);
kith_rc pg_references_to(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *src_type,
                         const char *param, store_ref_fn fn, void *ctx);

/* postgres_bulk.c: store_bulk_load by COPY. pg_bulk_read / pg_bulk_write answer
 * for a resource of the batch (true, *rc the outcome) and leave the rest to the
 * ordinary path (false). pg_bulk_flush sends what is held back (every other
 * statement must wait for it); pg_bulk_end forgets the batch (commit, rollback). */
kith_rc pg_bulk_load(store_conn *c, const char *const *types, const char *const *ids, size_t n);
bool pg_bulk_read(pg_conn *c, const char *type, const char *id, store_resource *out, kith_rc *rc);
bool pg_bulk_write(pg_conn *c, const store_put *p, kith_rc *rc);
kith_rc pg_bulk_flush(pg_conn *c);
void pg_bulk_end(pg_conn *c);

/* postgres_viewer.c */
kith_rc pg_set_viewer(store_conn *c, const store_viewer *v);
kith_rc pg_viewer_sees(store_conn *c, const char *type, const char *id, const char *patient, bool *sees);
void pg_viewer_suspend(store_conn *c, bool suspend);
/* A read's own visibility, in the same round trip: append "(true AND <visible>)" for
 * c's viewer over the row's patient column and the type and id expressions; then
 * pg_viewer_row_sees gives the verdict from that column's value and the viewer's mode. */
void pg_visible_column(store_conn *c, buf *sql, const char *patient_col, const char *type, const char *id);
bool pg_viewer_row_sees(store_conn *c, const char *patient, bool by_sql);
/* Append " AND <visible>" for c's viewer (nothing when none is set); see sg_visible_cond. */
void pg_visible_cond(store_conn *c, buf *out, const char *x, const char *type, const char *id, const char *rkey);

#endif
