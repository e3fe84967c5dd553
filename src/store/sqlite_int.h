/*
 * sqlite_int.h — what sqlite.c, sqlite_search.c, sqlite_viewer.c and sqlite_accounts.c share (private to src/store).
 */
#ifndef KITH_STORE_SQLITE_INT_H
#define KITH_STORE_SQLITE_INT_H
#include <sqlite3.h>

#include "base/buf.h"
#include "store/sqlgen.h"
#include "store/store.h"

typedef struct sq_stmt_cache sq_stmt_cache;

/* The connection's database handle (borrowed). */
sqlite3 *sq_conn_db(store_conn *c);
/* Where the connection keeps its cache of search statements. */
sq_stmt_cache **sq_conn_cache(store_conn *c);
void sq_cache_free(sq_stmt_cache *cache);

kith_rc sq_search(store_conn *c, const store_query *q, store_history_fn fn, void *ctx, int64_t *total,
                  char **next_cursor, char **prev_cursor);
kith_rc sq_references_from(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *param,
                           const char *target_type, store_ref_fn fn, void *ctx);
kith_rc sq_references_to(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *src_type,
                         const char *param, store_ref_fn fn, void *ctx);

/* sqlite_viewer.c: the access policy in SQL */
/* Append " AND <visible>" for c's viewer (nothing when none is set): x is an
 * SQL expression giving the row's Patient id (the patient column), type and
 * id its resource type and id (for sensitivity labels), rkey its resource key
 * when the row is the resource table's (else NULL). */
void sq_visible_cond(store_conn *c, buf *out, const char *x, const char *type, const char *id, const char *rkey);
bool sq_viewer_active(store_conn *c);
kith_rc sq_set_viewer(store_conn *c, const store_viewer *v);
kith_rc sq_viewer_sees(store_conn *c, const char *type, const char *id, const char *patient, bool *sees);
kith_rc sq_grant_add(store_conn *c, const char *account, const char *patient, int64_t expires, const char *reason);
/* sqlite.c keeps the viewer's VIEW_* flags (store/sqlgen.h) on each connection. */
int *sq_conn_viewer(store_conn *c);
/* The connection's prepared "is there any Consent?" */
sqlite3_stmt **sq_conn_consents_stmt(store_conn *c);
/* The key of the viewer temp.kith_viewer holds (*len: its capacity), and the
 * connection's prepared visibility check for its current mode. */
char *sq_conn_viewer_key(store_conn *c, size_t *len);
sqlite3_stmt **sq_conn_viewer_stmt(store_conn *c);

/* sqlite_accounts.c */
kith_rc sq_account_put(store_conn *c, const store_account *a);
kith_rc sq_account_get(store_conn *c, const char *kind, const char *name, store_account *out);
kith_rc sq_account_list(store_conn *c, const char *kind, store_account_fn fn, void *ctx);
kith_rc sq_token_put(store_conn *c, const store_token *t);
kith_rc sq_token_get(store_conn *c, const char *hash, store_token *out);
kith_rc sq_token_delete(store_conn *c, const char *hash);
kith_rc sq_audit_append(store_conn *c, store_audit_entry *e, size_t n);
kith_rc sq_audit_last(store_conn *c, int64_t *seq, char **hash);
kith_rc sq_audit_scan(store_conn *c, const store_audit_query *q, store_audit_fn fn, void *ctx);

#endif
