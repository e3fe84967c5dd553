/*
 * postgres_search.c — FHIR search on PostgreSQL.
 *
 * The SQL comes from sqlgen.c (shared with SQLite, written in PostgreSQL's
 * dialect: $n placeholders with their types, true/false, tsvector full
 * text); this file runs it with PQexecParams, every value sent as text, and
 * hands the rows back column by column. A page is at most count + 1 rows,
 * so each result is read whole. Runs on the calling thread's connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/postgres_int.h"
#include "store/sqlgen.h"

typedef struct pg_row {
    const PGresult *res;
    int row;
} pg_row;

static const char *row_text(void *h, int col) {
    pg_row *r = h;
    return PQgetisnull(r->res, r->row, col) ? NULL : PQgetvalue(r->res, r->row, col);
}

static size_t row_len(void *h, int col) {
    pg_row *r = h;
    return (size_t)PQgetlength(r->res, r->row, col);
}

static int64_t row_i64(void *h, int col) {
    pg_row *r = h;
    return pg_i64(r->res, r->row, col);
}

static kith_rc pg_run(store_conn *sc, const sg_builder *b, sg_row_fn fn, void *ctx) {
    pg_conn *c = (pg_conn *)sc;
    const char **vals = xcalloc((size_t)b->nbinds + 1, sizeof *vals);
    char **made = xcalloc((size_t)b->nbinds + 1, sizeof *made);
    for(int i = 0; i < b->nbinds; i++) {
        if(b->binds[i].kind == 0) {
            vals[i] = b->binds[i].text;
            continue;
        }
        made[i] = xmalloc(32);
        if(b->binds[i].kind == 1)
            snprintf(made[i], 32, "%.17g", b->binds[i].num);
        else
            snprintf(made[i], 32, "%lld", (long long)b->binds[i].i);
        vals[i] = made[i];
    }
    kith_rc rc;
    PGresult *res = pg_exec(c, buf_str(&b->sql), b->nbinds, vals, &rc);
    if(res) {
        pg_row h = {res, 0};
        sg_row row = {&h, row_text, row_len, row_i64};
        for(h.row = 0; h.row < PQntuples(res); h.row++)
            if(fn(ctx, &row)) break;
        PQclear(res);
    }
    for(int i = 0; i < b->nbinds; i++) free(made[i]);
    free(made);
    free(vals);
    return rc;
}

kith_rc pg_search(store_conn *c, const store_query *q, store_history_fn fn, void *ctx, int64_t *total,
                  char **next_cursor, char **prev_cursor) {
    return sg_search(c, SG_POSTGRES, ((pg_conn *)c)->viewer, pg_run, q, fn, ctx, total, next_cursor, prev_cursor);
}

kith_rc pg_references_from(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *param,
                           const char *target_type, store_ref_fn fn, void *ctx) {
    return sg_references_from(c, SG_POSTGRES, pg_run, type, ids, nids, param, target_type, fn, ctx);
}

kith_rc pg_references_to(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *src_type,
                         const char *param, store_ref_fn fn, void *ctx) {
    return sg_references_to(c, SG_POSTGRES, pg_run, type, ids, nids, src_type, param, fn, ctx);
}
