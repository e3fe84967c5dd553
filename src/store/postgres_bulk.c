/*
 * postgres_bulk.c — bulk loading on PostgreSQL (store_bulk_load): COPY.
 *
 * A write through the ordinary path costs three round trips (read the
 * current version, write the version and current row, write the index
 * rows), and the server runs a statement for each. kith import instead
 * names each batch of resources before writing it:
 *
 *  - one query fetches the current version of every resource of the batch,
 *    kept on the connection, sorted by type and id, so that the loader's
 *    reads (is it new? is it unchanged?) need no round trip;
 *  - each write is appended to two COPY texts (the version row; its index
 *    rows) instead of being sent, and the kept version replaced by it, so a
 *    later read of the same resource in the batch sees it;
 *  - at a flush, both texts go to temporary tables by COPY, and one
 *    multi-statement round trip moves them into resource_version, resource
 *    and the sp_* tables, removes the index rows of the versions replaced,
 *    and sends the same NOTIFYs the ordinary path sends.
 *
 * A flush happens before any other statement on the connection (pg_exec,
 * run and exec_simple call pg_bulk_flush), before a resource held back is
 * written again, when FLUSH_ROWS resources or FLUSH_BYTES are held, and at
 * commit. Rollback forgets what is held. Everything lives inside the
 * caller's transaction, under the writer lock, so nothing is visible until
 * commit, and a failure fails the transaction as an ordinary write would.
 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/postgres_int.h"
#include "store/sqlgen.h"

#define FLUSH_ROWS 4000
#define FLUSH_BYTES (32u << 20)

/* One resource of the batch: its current version as the loader will read it. */
typedef struct bulk_entry {
    char *type, *id;
    bool exists;  /* a version is stored or held back */
    bool pending; /* held back since the last flush */
    int64_t version;
    bool deleted;
    char *last_updated, *method, *body, *patient;
    size_t body_len;
    int64_t seq;
} bulk_entry;

struct pg_bulk {
    bulk_entry *v;
    size_t n;
    buf versions; /* COPY text for pg_temp.kith_load_v */
    buf rows;     /* COPY text for pg_temp.kith_load_x */
    size_t npending;
    int64_t ord;  /* numbers the versions held back, in write order */
};

static void entry_clear(bulk_entry *e) {
    free(e->last_updated);
    free(e->method);
    free(e->body);
    free(e->patient);
    e->last_updated = e->method = e->body = e->patient = NULL;
}

static void bulk_free(pg_bulk *b) {
    if(!b) return;
    for(size_t i = 0; i < b->n; i++) {
        entry_clear(&b->v[i]);
        free(b->v[i].type);
        free(b->v[i].id);
    }
    free(b->v);
    buf_free(&b->versions);
    buf_free(&b->rows);
    free(b);
}

static int entry_cmp(const void *x, const void *y) {
    const bulk_entry *a = x, *b = y;
    int t = strcmp(a->type, b->type);
    return t ? t : strcmp(a->id, b->id);
}

static bulk_entry *find(pg_bulk *b, const char *type, const char *id) {
    if(!b || !b->n) return NULL;
    bulk_entry key = {.type = (char *)type, .id = (char *)id};
    return bsearch(&key, b->v, b->n, sizeof *b->v, entry_cmp);
}

/* ---- COPY text ------------------------------------------------------------ */

static void copy_field(buf *out, const char *v, size_t len, bool first) {
    if(!first) buf_putc(out, '\t');
    if(!v) {
        buf_puts(out, "\\N");
        return;
    }
    for(size_t i = 0; i < len; i++) {
        char ch = v[i];
        switch(ch) {
        case '\\': buf_puts(out, "\\\\"); break;
        case '\t': buf_puts(out, "\\t"); break;
        case '\n': buf_puts(out, "\\n"); break;
        case '\r': buf_puts(out, "\\r"); break;
        default: buf_putc(out, ch);
        }
    }
}

static void copy_text(buf *out, const char *v, bool first) {
    copy_field(out, v, v ? strlen(v) : 0, first);
}

static kith_rc copy_in(pg_conn *c, const char *sql, const buf *data) {
    PGresult *res = PQexec(c->db, sql);
    if(PQresultStatus(res) != PGRES_COPY_IN) {
        kith_rc rc = pg_rc_of(res);
        if(getenv("KITH_PG_DEBUG")) fprintf(stderr, "kith postgres: %s", PQerrorMessage(c->db));
        PQclear(res);
        return rc;
    }
    PQclear(res);
    bool ok = data->len == 0 || PQputCopyData(c->db, data->data, (int)data->len) == 1;
    ok = PQputCopyEnd(c->db, ok ? NULL : "kith: sending rows failed") == 1 && ok;
    kith_rc rc = ok ? KITH_OK : KITH_ESTORE;
    while((res = PQgetResult(c->db))) {
        if(PQresultStatus(res) != PGRES_COMMAND_OK && !rc) {
            rc = pg_rc_of(res);
            if(getenv("KITH_PG_DEBUG")) fprintf(stderr, "kith postgres: %s", PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    return rc;
}

/* ---- the flush -------------------------------------------------------------- */

static const char LOAD_TABLES[] =
    "CREATE TEMP TABLE IF NOT EXISTS kith_load_v(ord int8, rtype text COLLATE \"C\", rid text COLLATE \"C\","
    "  vid int8, ts text COLLATE \"C\", method text, deleted smallint, patient text COLLATE \"C\", body text);"
    "CREATE TEMP TABLE IF NOT EXISTS kith_load_x(ord int8, kind smallint, pid int8, a text COLLATE \"C\","
    "  b text COLLATE \"C\", c text COLLATE \"C\", lo float8, hi float8);"
    "CREATE TEMP TABLE IF NOT EXISTS kith_load_k(ord int8 PRIMARY KEY, rkey int8, patient text COLLATE \"C\","
    "  existed bool)";

/* Where each kind of index row goes (store_ix_kind order): the target's columns and the
 * staged columns that fill them, as the ordinary path's ST_INS_* statements do. */
static const char *const INTO[STORE_IX_KINDS][2] = {
    {"sp_string(pid, norm, exact, rkey, patient)", "x.pid, x.a, x.b"},
    {"sp_token(pid, code, system, text, rkey, patient)", "x.pid, x.b, x.a, x.c"},
    {"sp_date(pid, lo, hi, rkey, patient)", "x.pid, x.lo, x.hi"},
    {"sp_number(pid, lo, hi, rkey, patient)", "x.pid, x.lo, x.hi"},
    {"sp_quantity(pid, code, system, lo, hi, rkey, patient)", "x.pid, x.b, x.a, x.lo, x.hi"},
    {"sp_reference(pid, tid, ttype, url, rkey, patient)", "x.pid, x.b, x.a, x.c"},
    {"sp_uri(pid, uri, rkey, patient)", "x.pid, x.a"},
    {"sp_composite(pid, b, a, c, lo, hi, rkey, patient)", "x.pid, x.b, x.a, x.c, x.lo, x.hi"},
    {NULL, NULL}, /* sp_text: one row per resource, below */
};

static const char *const SP_TABLES[] = {"sp_string",   "sp_token", "sp_date",      "sp_number", "sp_quantity",
                                        "sp_reference", "sp_uri",   "sp_composite", "sp_text"};

/* The statements that move the staged rows into the store, in one round trip. */
static void move_sql(pg_conn *c, buf *sql) {
    buf_puts(sql,
             "WITH v AS (INSERT INTO resource_version(rtype, rid, vid, ts, method, deleted, patient, body) "
             "SELECT rtype, rid, vid, ts, method, deleted, patient, body FROM pg_temp.kith_load_v ORDER BY ord "
             "RETURNING seq, rtype, rid, vid, deleted, patient), "
             "r AS (INSERT INTO resource(rtype, rid, vid, seq, deleted, patient) "
             "SELECT rtype, rid, vid, seq, deleted, patient FROM v "
             "ON CONFLICT(rtype, rid) DO UPDATE SET vid = excluded.vid, seq = excluded.seq, "
             "deleted = excluded.deleted, patient = excluded.patient RETURNING rkey, rtype, rid, patient) "
             "INSERT INTO pg_temp.kith_load_k(ord, rkey, patient, existed) "
             "SELECT l.ord, r.rkey, r.patient, l.vid > 1 FROM r "
             "JOIN pg_temp.kith_load_v l ON l.rtype = r.rtype AND l.rid = r.rid;");
    for(size_t i = 0; i < sizeof SP_TABLES / sizeof SP_TABLES[0]; i++)
        buf_printf(sql, "DELETE FROM %s WHERE rkey IN (SELECT rkey FROM pg_temp.kith_load_k WHERE existed);",
                   SP_TABLES[i]);
    for(int kind = 0; kind < STORE_IX_KINDS; kind++) {
        if(!INTO[kind][0]) continue;
        buf_printf(sql,
                   "INSERT INTO %s SELECT %s, k.rkey, k.patient FROM pg_temp.kith_load_x x "
                   "JOIN pg_temp.kith_load_k k ON k.ord = x.ord WHERE x.kind = %d ON CONFLICT DO NOTHING;",
                   INTO[kind][0], INTO[kind][1], kind);
    }
    buf_printf(sql,
               "INSERT INTO sp_text(rkey, patient, narrative, content) "
               "SELECT DISTINCT ON (k.rkey) k.rkey, k.patient, to_tsvector('simple', kith_fold(x.a)), "
               "to_tsvector('simple', kith_fold(x.b)) FROM pg_temp.kith_load_x x "
               "JOIN pg_temp.kith_load_k k ON k.ord = x.ord WHERE x.kind = %d ORDER BY k.rkey "
               "ON CONFLICT(rkey) DO UPDATE SET patient = excluded.patient, narrative = excluded.narrative, "
               "content = excluded.content;",
               STORE_IX_TEXT);
    /* other processes hear of each write when the transaction commits, as from pg_write */
    char *chan = PQescapeLiteral(c->db, c->channel, strlen(c->channel));
    char *nonce = PQescapeLiteral(c->db, c->nonce, strlen(c->nonce));
    buf_printf(sql,
               "SELECT count(pg_notify(%s, %s || ' ' || rtype || '/' || rid)) FROM "
               "(SELECT rtype, rid FROM pg_temp.kith_load_v ORDER BY ord) AS w;",
               chan ? chan : "''", nonce ? nonce : "''");
    PQfreemem(chan);
    PQfreemem(nonce);
    buf_puts(sql, "TRUNCATE pg_temp.kith_load_v, pg_temp.kith_load_x, pg_temp.kith_load_k");
}

kith_rc pg_bulk_flush(pg_conn *c) {
    pg_bulk *b = c->bulk;
    if(!b || !b->npending) return KITH_OK;
    kith_rc rc = KITH_OK;
    if(!c->load_tables) {
        PGresult *res = PQexec(c->db, LOAD_TABLES);
        if(PQresultStatus(res) != PGRES_COMMAND_OK) rc = pg_rc_of(res);
        PQclear(res);
        c->load_tables = !rc;
    }
    if(!rc) rc = copy_in(c, "COPY pg_temp.kith_load_v FROM STDIN", &b->versions);
    if(!rc) rc = copy_in(c, "COPY pg_temp.kith_load_x FROM STDIN", &b->rows);
    if(!rc) {
        buf sql = BUF_INIT;
        move_sql(c, &sql);
        PGresult *res = PQexec(c->db, buf_str(&sql));
        if(PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = pg_rc_of(res);
            if(getenv("KITH_PG_DEBUG")) fprintf(stderr, "kith postgres: %s", PQerrorMessage(c->db));
        }
        PQclear(res);
        buf_free(&sql);
    }
    buf_reset(&b->versions);
    buf_reset(&b->rows);
    b->npending = 0;
    for(size_t i = 0; i < b->n; i++) b->v[i].pending = false;
    if(rc && c->in_tx && !c->tx_err) c->tx_err = rc;
    return rc;
}

void pg_bulk_end(pg_conn *c) {
    bulk_free(c->bulk);
    c->bulk = NULL;
}

/* ---- naming a batch --------------------------------------------------------- */

kith_rc pg_bulk_load(store_conn *sc, const char *const *types, const char *const *ids, size_t n) {
    pg_conn *c = (pg_conn *)sc;
    if(!c->in_tx || c->viewer) return KITH_OK; /* only inside a writer's transaction, with no viewer */
    kith_rc rc = pg_bulk_flush(c);
    if(rc) return rc;
    pg_bulk_end(c);
    pg_bulk *b = xcalloc(1, sizeof *b);
    b->v = xcalloc(n ? n : 1, sizeof *b->v);
    buf at = BUF_INIT, ai = BUF_INIT;
    for(size_t i = 0; i < n; i++) {
        if(!types[i] || !ids[i]) continue;
        b->v[b->n].type = xstrdup(types[i]);
        b->v[b->n].id = xstrdup(ids[i]);
        b->n++;
        pg_array_text(&at, types[i], false);
        pg_array_text(&ai, ids[i], false);
    }
    qsort(b->v, b->n, sizeof *b->v, entry_cmp);
    size_t w = 0; /* a resource named twice is kept once */
    for(size_t i = 0; i < b->n; i++) {
        if(w && entry_cmp(&b->v[w - 1], &b->v[i]) == 0) {
            free(b->v[i].type);
            free(b->v[i].id);
            continue;
        }
        b->v[w++] = b->v[i];
    }
    b->n = w;
    c->bulk = b;
    if(!b->n) {
        buf_free(&at);
        buf_free(&ai);
        return KITH_OK;
    }
    buf_putc(&at, '}');
    buf_putc(&ai, '}');
    const char *p[2] = {buf_str(&at), buf_str(&ai)};
    PGresult *res = pg_exec(c,
                            "SELECT r.rtype, r.rid, v.vid, v.ts, v.deleted, v.method, v.body, v.seq, v.patient "
                            "FROM unnest($1::text[], $2::text[]) AS k(t, i) "
                            "JOIN resource r ON r.rtype = k.t COLLATE \"C\" AND r.rid = k.i COLLATE \"C\" "
                            "JOIN resource_version v ON v.seq = r.seq",
                            2, p, &rc);
    buf_free(&at);
    buf_free(&ai);
    if(!res) {
        pg_bulk_end(c);
        return rc;
    }
    for(int row = 0; row < PQntuples(res); row++) {
        bulk_entry *e = find(b, PQgetvalue(res, row, 0), PQgetvalue(res, row, 1));
        if(!e) continue;
        e->exists = true;
        e->version = pg_i64(res, row, 2);
        e->last_updated = pg_col(res, row, 3);
        e->deleted = pg_i64(res, row, 4) != 0;
        e->method = pg_col(res, row, 5);
        e->body = pg_col(res, row, 6);
        e->body_len = e->body ? (size_t)PQgetlength(res, row, 6) : 0;
        e->seq = pg_i64(res, row, 7);
        e->patient = pg_col(res, row, 8);
        if(e->patient && !*e->patient) {
            free(e->patient);
            e->patient = NULL;
        }
    }
    PQclear(res);
    return KITH_OK;
}

/* ---- reads and writes of the batch ------------------------------------------ */

bool pg_bulk_read(pg_conn *c, const char *type, const char *id, store_resource *out, kith_rc *rc) {
    if(c->viewer) return false;
    bulk_entry *e = find(c->bulk, type, id);
    if(!e) return false;
    memset(out, 0, sizeof *out);
    if(!e->exists) {
        *rc = KITH_ENOTFOUND;
        return true;
    }
    out->type = xstrdup(type);
    out->id = xstrdup(id);
    out->version = e->version;
    out->last_updated = e->last_updated ? xstrdup(e->last_updated) : NULL;
    out->deleted = e->deleted;
    out->method = e->method ? xstrdup(e->method) : NULL;
    out->body = e->body ? xstrndup(e->body, e->body_len) : NULL;
    out->body_len = e->body_len;
    out->seq = e->seq;
    out->patient = e->patient ? xstrdup(e->patient) : NULL;
    *rc = e->deleted ? KITH_EGONE : KITH_OK;
    return true;
}

bool pg_bulk_write(pg_conn *c, const store_put *p, kith_rc *rc) {
    if(!c->in_tx || c->viewer) return false;
    bulk_entry *e = find(c->bulk, p->type, p->id);
    if(!e) return false;
    pg_bulk *b = c->bulk;
    *rc = KITH_OK;
    if(e->pending && (*rc = pg_bulk_flush(c))) return true; /* one version of a resource per flush */
    int64_t ord = ++b->ord;
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)ord);
    copy_text(&b->versions, num, true);
    copy_text(&b->versions, p->type, false);
    copy_text(&b->versions, p->id, false);
    snprintf(num, sizeof num, "%lld", (long long)p->version);
    copy_text(&b->versions, num, false);
    copy_text(&b->versions, p->last_updated, false);
    copy_text(&b->versions, p->method, false);
    copy_text(&b->versions, p->body ? "0" : "1", false);
    copy_text(&b->versions, p->patient ? p->patient : "", false);
    copy_field(&b->versions, p->body, p->body ? p->body_len : 0, false);
    buf_putc(&b->versions, '\n');
    const char *last_param = NULL;
    long long pid = 0;
    for(size_t i = 0; i < p->nrows; i++) {
        const store_index_row *x = &p->rows[i];
        if(!last_param || strcmp(last_param, x->param) != 0) {
            pid = (long long)sg_param_id(p->type, x->param);
            last_param = x->param;
        }
        buf_printf(&b->rows, "%lld\t%d\t%lld", (long long)ord, (int)x->kind, pid);
        copy_text(&b->rows, x->a ? x->a : "", false);
        copy_text(&b->rows, x->b ? x->b : "", false);
        copy_text(&b->rows, x->c ? x->c : "", false);
        buf_printf(&b->rows, "\t%.17g\t%.17g\n", x->lo, x->hi);
    }
    /* what a later read of this resource in the batch sees */
    entry_clear(e);
    e->exists = e->pending = true;
    e->version = p->version;
    e->deleted = !p->body;
    e->last_updated = p->last_updated ? xstrdup(p->last_updated) : NULL;
    e->method = p->method ? xstrdup(p->method) : NULL;
    e->body = p->body ? xstrndup(p->body, p->body_len) : NULL;
    e->body_len = p->body ? p->body_len : 0;
    e->seq = 0; /* given at the flush */
    e->patient = p->patient ? xstrdup(p->patient) : NULL;
    b->npending++;
    if(b->npending >= FLUSH_ROWS || b->versions.len + b->rows.len >= FLUSH_BYTES) *rc = pg_bulk_flush(c);
    return true;
}
