/*
 * backend.h — what a store backend provides (private to src/store).
 *
 * store.c holds the public store_* calls, the per-thread connection map and
 * the timing statistics, and forwards each call to the backend chosen by
 * the URL: sqlite.c for file paths, postgres.c for postgresql:// (and
 * postgres://) URLs.
 */
#ifndef KITH_STORE_BACKEND_H
#define KITH_STORE_BACKEND_H
#include "store/store.h"

/* Every backend's connection struct starts with this head. */
typedef struct store_conn_head {
    store *owner;      /* set by store.c */
    bool holds_writer; /* between store_begin and commit/rollback */
} store_conn_head;

typedef struct store_backend {
    const char *name;
    /* Open the shared state (create, migrate). *state is the backend's. */
    kith_rc (*open)(const char *url, const store_options *opt, void **state, int *schema, char *err, size_t errlen);
    void (*close)(void *state);
    kith_rc (*connect)(void *state, store_conn **out);
    void (*disconnect)(store_conn *c);
    kith_rc (*begin)(store_conn *c);
    kith_rc (*commit)(store_conn *c);
    kith_rc (*rollback)(store_conn *c);
    kith_rc (*savepoint)(store_conn *c);   /* mark a point inside a transaction */
    kith_rc (*release)(store_conn *c);     /* keep what was done since the mark */
    kith_rc (*rollback_to)(store_conn *c); /* undo what was done since the mark */
    kith_rc (*read)(store_conn *c, const char *type, const char *id, int64_t version, store_resource *out);
    kith_rc (*write)(store_conn *c, const store_put *p);
    /* store_bulk_load; NULL: nothing to gain (SQLite's writes are calls, not round trips) */
    kith_rc (*bulk_load)(store_conn *c, const char *const *types, const char *const *ids, size_t n);
    kith_rc (*find_token)(store_conn *c, const char *type, const char *param, const char *system, const char *code,
                          size_t max, char ***ids, size_t *n);
    kith_rc (*history)(store_conn *c, const store_history_query *q, store_history_fn fn, void *ctx, int64_t *total);
    kith_rc (*list)(store_conn *c, const char *type, const char *after_id, size_t count, store_history_fn fn,
                    void *ctx);
    kith_rc (*count)(store_conn *c, const char *type, int64_t *n);
    kith_rc (*replace_index)(store_conn *c, const char *type, const char *id, const char *patient,
                             const store_index_row *rows, size_t nrows);
    kith_rc (*meta_get)(store_conn *c, const char *key, char **value);
    kith_rc (*meta_set)(store_conn *c, const char *key, const char *value);
    kith_rc (*search)(store_conn *c, const store_query *q, store_history_fn fn, void *ctx, int64_t *total,
                      char **next_cursor, char **prev_cursor);
    kith_rc (*references_from)(store_conn *c, const char *type, const char *const *ids, size_t nids,
                               const char *param, const char *target_type, store_ref_fn fn, void *ctx);
    kith_rc (*references_to)(store_conn *c, const char *type, const char *const *ids, size_t nids,
                             const char *src_type, const char *param, store_ref_fn fn, void *ctx);
    kith_rc (*check)(store_conn *c, char *msg, size_t msglen);
    kith_rc (*scan)(store_conn *c, const store_scan_query *q, store_history_fn fn, void *ctx);
    kith_rc (*scan_count)(store_conn *c, const store_scan_query *q, int64_t *n);
    kith_rc (*account_put)(store_conn *c, const store_account *a);
    kith_rc (*account_get)(store_conn *c, const char *kind, const char *name, store_account *out);
    kith_rc (*account_list)(store_conn *c, const char *kind, store_account_fn fn, void *ctx);
    kith_rc (*token_put)(store_conn *c, const store_token *t);
    kith_rc (*token_get)(store_conn *c, const char *hash, store_token *out);
    kith_rc (*token_delete)(store_conn *c, const char *hash);
    kith_rc (*audit_append)(store_conn *c, store_audit_entry *e, size_t n);
    kith_rc (*audit_last)(store_conn *c, int64_t *seq, char **hash);
    kith_rc (*audit_scan)(store_conn *c, const store_audit_query *q, store_audit_fn fn, void *ctx);
    kith_rc (*set_viewer)(store_conn *c, const store_viewer *v);
    void (*viewer_suspend)(store_conn *c, bool suspend); /* off (true) and back on (false) around group commits */
    kith_rc (*viewer_sees)(store_conn *c, const char *type, const char *id, const char *patient, bool *sees);
    kith_rc (*grant_add)(store_conn *c, const char *account, const char *patient, int64_t expires, const char *reason);
    kith_rc (*watch)(void *state, store_change_fn fn, void *ctx); /* NULL: not supported */
} store_backend;

extern const store_backend store_sqlite_backend;
extern const store_backend store_postgres_backend;
/* postgres.c: drop the schema a postgresql:// URL's search_path names (store_destroy). */
kith_rc store_postgres_destroy(const char *url, char *err, size_t errlen);

#endif
