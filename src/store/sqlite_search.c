/*
 * sqlite_search.c — FHIR search over the SQLite index tables.
 *
 * The SQL comes from sqlgen.c (shared with the PostgreSQL backend); this file
 * runs it: prepared statements are cached per connection by their SQL text
 * (a small LRU), values bound, rows handed back column by column. Runs on the
 * calling thread's connection only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/sqlgen.h"
#include "store/sqlite_int.h"

#define CACHE_SIZE 48

/* ---- statement cache ---------------------------------------------------- */

struct sq_stmt_cache {
    char *sql[CACHE_SIZE];
    sqlite3_stmt *st[CACHE_SIZE];
    uint64_t used[CACHE_SIZE];
    uint64_t tick;
};

void sq_cache_free(sq_stmt_cache *cache) {
    if(!cache) return;
    for(int i = 0; i < CACHE_SIZE; i++) {
        free(cache->sql[i]);
        sqlite3_finalize(cache->st[i]);
    }
    free(cache);
}

/* A prepared statement for sql (borrowed: reset it, do not finalize). */
static sqlite3_stmt *cached_stmt(store_conn *c, const char *sql) {
    sq_stmt_cache **slot = sq_conn_cache(c);
    if(!*slot) *slot = xcalloc(1, sizeof **slot);
    sq_stmt_cache *k = *slot;
    int victim = 0;
    for(int i = 0; i < CACHE_SIZE; i++) {
        if(k->sql[i] && strcmp(k->sql[i], sql) == 0) {
            k->used[i] = ++k->tick;
            return k->st[i];
        }
        if(k->used[i] < k->used[victim]) victim = i;
    }
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v3(sq_conn_db(c), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) return NULL;
    free(k->sql[victim]);
    sqlite3_finalize(k->st[victim]);
    k->sql[victim] = xstrdup(sql);
    k->st[victim] = st;
    k->used[victim] = ++k->tick;
    return st;
}

/* ---- running ------------------------------------------------------------ */

typedef struct sq_row {
    sqlite3_stmt *st;
    char num[32]; /* a REAL column as text that reads back exactly */
} sq_row;

static const char *row_text(void *h, int col) {
    sq_row *r = h;
    if(sqlite3_column_type(r->st, col) == SQLITE_FLOAT) {
        snprintf(r->num, sizeof r->num, "%.17g", sqlite3_column_double(r->st, col));
        return r->num;
    }
    return (const char *)sqlite3_column_text(r->st, col);
}

static size_t row_len(void *h, int col) {
    sq_row *r = h;
    if(sqlite3_column_type(r->st, col) == SQLITE_FLOAT) return strlen(row_text(h, col));
    return (size_t)sqlite3_column_bytes(r->st, col);
}

static int64_t row_i64(void *h, int col) {
    return sqlite3_column_int64(((sq_row *)h)->st, col);
}

static kith_rc sq_run(store_conn *c, const sg_builder *b, sg_row_fn fn, void *ctx) {
    sqlite3_stmt *st = cached_stmt(c, buf_str(&b->sql));
    if(!st) return KITH_ESTORE;
    kith_rc rc = KITH_OK;
    for(int i = 0; i < b->nbinds && !rc; i++) {
        int r = b->binds[i].kind == 0   ? sqlite3_bind_text(st, i + 1, b->binds[i].text, -1, SQLITE_STATIC)
                : b->binds[i].kind == 1 ? sqlite3_bind_double(st, i + 1, b->binds[i].num)
                                        : sqlite3_bind_int64(st, i + 1, b->binds[i].i);
        if(r != SQLITE_OK) rc = KITH_ESTORE;
    }
    sq_row h = {.st = st};
    sg_row row = {&h, row_text, row_len, row_i64};
    int r = SQLITE_DONE;
    while(!rc && (r = sqlite3_step(st)) == SQLITE_ROW)
        if(fn(ctx, &row)) break;
    if(!rc && r != SQLITE_ROW && r != SQLITE_DONE) rc = KITH_ESTORE;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

kith_rc sq_search(store_conn *c, const store_query *q, store_history_fn fn, void *ctx, int64_t *total,
                  char **next_cursor, char **prev_cursor) {
    return sg_search(c, SG_SQLITE, *sq_conn_viewer(c), sq_run, q, fn, ctx, total, next_cursor, prev_cursor);
}

kith_rc sq_references_from(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *param,
                           const char *target_type, store_ref_fn fn, void *ctx) {
    return sg_references_from(c, SG_SQLITE, sq_run, type, ids, nids, param, target_type, fn, ctx);
}

kith_rc sq_references_to(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *src_type,
                         const char *param, store_ref_fn fn, void *ctx) {
    return sg_references_to(c, SG_SQLITE, sq_run, type, ids, nids, src_type, param, fn, ctx);
}
