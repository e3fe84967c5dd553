/*
 * sqlite.c — the embedded SQLite store backend (the default).
 *
 * Schema (migrated at open by PRAGMA user_version):
 *   resource_version  every version ever written, one row each, in global
 *                     change order (seq); the body is the resource's JSON.
 *   resource          the current version of each (type, id): points at
 *                     its resource_version row by seq.
 *   token_index       token search rows of current versions.
 * Every row carries the Patient compartment id (`patient`) so that a
 * distributed backend can shard by it. store_scan walks `resource` in
 * (type, id) order: by its primary key, or by resource_patient_scan for one
 * Patient's compartment.
 *
 * WAL mode; one connection per thread (store.c); writes take the write lock
 * up front (BEGIN IMMEDIATE) and wait up to busy_timeout for it. With
 * synchronous=FULL a commit is on disk before it returns; with NORMAL it
 * survives a crash of the process but not of the machine.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/backend.h"
#include "store/sqlgen.h"
#include "store/sqlite_int.h"

typedef struct sq_state {
    char *path;
    bool full;
    int cache_mb;
} sq_state;

enum {
    ST_READ_CUR,
    ST_READ_VER,
    ST_INS_VER,
    ST_UPSERT_CUR,
    ST_INS_STRING,
    ST_INS_TOKEN,
    ST_INS_DATE,
    ST_INS_NUMBER,
    ST_INS_QUANTITY,
    ST_INS_REFERENCE,
    ST_INS_URI,
    ST_INS_COMPOSITE,
    ST_INS_TEXT,
    ST_DEL_STRING,
    ST_DEL_TOKEN,
    ST_DEL_DATE,
    ST_DEL_NUMBER,
    ST_DEL_QUANTITY,
    ST_DEL_REFERENCE,
    ST_DEL_URI,
    ST_DEL_COMPOSITE,
    ST_DEL_TEXT,
    ST_DEL_PENDING_TEXT,
    ST_FIND_TOK_SYS,
    ST_FIND_TOK_ANY,
    ST_RKEY,
    ST_LIST,
    ST_COUNT_TYPE,
    ST_COUNT_ALL,
    ST_MAX
};

static const char *const SQL[ST_MAX] = {
    [ST_READ_CUR] = "SELECT v.vid, v.ts, v.deleted, v.method, v.body, v.seq, v.patient FROM resource r "
                    "JOIN resource_version v ON v.seq = r.seq WHERE r.rtype = ?1 AND r.rid = ?2",
    [ST_READ_VER] = "SELECT vid, ts, deleted, method, body, seq, patient FROM resource_version "
                    "WHERE rtype = ?1 AND rid = ?2 AND vid = ?3",
    [ST_INS_VER] = "INSERT INTO resource_version(rtype, rid, vid, ts, method, deleted, patient, body) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_UPSERT_CUR] = "INSERT INTO resource(rtype, rid, vid, seq, deleted, patient) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
                      "ON CONFLICT(rtype, rid) DO UPDATE SET vid = excluded.vid, seq = excluded.seq, "
                      "deleted = excluded.deleted, patient = excluded.patient RETURNING rkey",
    /* Index rows: ?1 rkey, ?2 pid, ?5 a, ?6 b, ?7 c, ?8 lo, ?9 hi (pid = sg_param_id(type, param)). */
    [ST_INS_STRING] = "INSERT OR IGNORE INTO sp_string(pid, norm, exact, rkey) VALUES(?2, ?5, ?6, ?1)",
    [ST_INS_TOKEN] = "INSERT OR IGNORE INTO sp_token(pid, code, system, rkey, text) VALUES(?2, ?6, ?5, ?1, ?7)",
    [ST_INS_DATE] = "INSERT OR IGNORE INTO sp_date(pid, lo, hi, rkey) VALUES(?2, ?8, ?9, ?1)",
    [ST_INS_NUMBER] = "INSERT OR IGNORE INTO sp_number(pid, lo, hi, rkey) VALUES(?2, ?8, ?9, ?1)",
    [ST_INS_QUANTITY] = "INSERT OR IGNORE INTO sp_quantity(pid, code, system, lo, hi, rkey) "
                        "VALUES(?2, ?6, ?5, ?8, ?9, ?1)",
    [ST_INS_REFERENCE] = "INSERT OR IGNORE INTO sp_reference(pid, tid, ttype, url, rkey) VALUES(?2, ?6, ?5, ?7, ?1)",
    [ST_INS_URI] = "INSERT OR IGNORE INTO sp_uri(pid, uri, rkey) VALUES(?2, ?5, ?1)",
    [ST_INS_COMPOSITE] = "INSERT OR IGNORE INTO sp_composite(pid, b, a, c, lo, hi, rkey) "
                         "VALUES(?2, ?6, ?5, ?7, ?8, ?9, ?1)",
    /* Full text goes to sp_text (FTS5) only at commit, through temp tables: FTS5
     * writes its pending terms to disk at every statement of a transaction
     * that has touched it, which made bulk loads several times slower and
     * the index fragmented. So text written in a transaction is not found
     * by _text or _content until it commits. */
    [ST_INS_TEXT] = "INSERT OR REPLACE INTO temp.pending_text(rkey, narrative, content) VALUES(?1, ?5, ?6)",
    [ST_DEL_STRING] = "DELETE FROM sp_string WHERE rkey = ?1",
    [ST_DEL_TOKEN] = "DELETE FROM sp_token WHERE rkey = ?1",
    [ST_DEL_DATE] = "DELETE FROM sp_date WHERE rkey = ?1",
    [ST_DEL_NUMBER] = "DELETE FROM sp_number WHERE rkey = ?1",
    [ST_DEL_QUANTITY] = "DELETE FROM sp_quantity WHERE rkey = ?1",
    [ST_DEL_REFERENCE] = "DELETE FROM sp_reference WHERE rkey = ?1",
    [ST_DEL_URI] = "DELETE FROM sp_uri WHERE rkey = ?1",
    [ST_DEL_COMPOSITE] = "DELETE FROM sp_composite WHERE rkey = ?1",
    [ST_DEL_TEXT] = "INSERT OR IGNORE INTO temp.pending_text_del(rkey) VALUES(?1)",
    [ST_DEL_PENDING_TEXT] = "DELETE FROM temp.pending_text WHERE rkey = ?1",
    [ST_FIND_TOK_SYS] = "SELECT DISTINCT r.rid FROM sp_token x JOIN resource r ON r.rkey = x.rkey WHERE x.pid = ?1 "
                        "AND x.code = ?2 AND x.system = ?3 AND r.deleted = 0 LIMIT ?4",
    [ST_FIND_TOK_ANY] = "SELECT DISTINCT r.rid FROM sp_token x JOIN resource r ON r.rkey = x.rkey WHERE x.pid = ?1 "
                        "AND x.code = ?2 AND r.deleted = 0 LIMIT ?4",
    [ST_RKEY] = "SELECT rkey FROM resource WHERE rtype = ?1 AND rid = ?2",
    [ST_LIST] = "SELECT r.rid, v.vid, v.ts, v.deleted, v.method, v.body, v.seq FROM resource r "
                "JOIN resource_version v ON v.seq = r.seq WHERE r.rtype = ?1 AND r.rid > ?2 AND r.deleted = 0 "
                "ORDER BY r.rid LIMIT ?3",
    [ST_COUNT_TYPE] = "SELECT count(*) FROM resource WHERE rtype = ?1 AND deleted = 0",
    [ST_COUNT_ALL] = "SELECT count(*) FROM resource WHERE deleted = 0",
};

typedef struct sq_conn {
    store_conn_head head;
    sqlite3 *db;
    sqlite3_stmt *st[ST_MAX];
    bool in_tx;
    bool text_pending;    /* temp.pending_text(_del) hold rows for sp_text */
    int viewer;           /* 0 no viewer, 1 by care relationship, 2 no patient data (sqlite_viewer.c) */
    int viewer_suspended; /* the mode to restore after a group commit */
    char viewer_key[512]; /* the viewer whose values temp.kith_viewer holds */
    sqlite3_stmt *viewer_st[VIEW_STATES]; /* "may the viewer see this?", prepared once per viewer state */
    sqlite3_stmt *consents_st;            /* "is there any Consent?" */
    sq_stmt_cache *cache; /* dynamic search statements (sqlite_search.c) */
} sq_conn;

sqlite3 *sq_conn_db(store_conn *c) {
    return ((sq_conn *)c)->db;
}

int *sq_conn_viewer(store_conn *c) {
    return &((sq_conn *)c)->viewer;
}

static void sq_viewer_suspend(store_conn *sc, bool suspend) {
    sq_conn *c = (sq_conn *)sc;
    sg_viewer_suspend(&c->viewer, &c->viewer_suspended, suspend);
}

char *sq_conn_viewer_key(store_conn *c, size_t *len) {
    *len = sizeof ((sq_conn *)c)->viewer_key;
    return ((sq_conn *)c)->viewer_key;
}

sqlite3_stmt **sq_conn_viewer_stmt(store_conn *c) {
    sq_conn *sc = (sq_conn *)c;
    return &sc->viewer_st[sc->viewer >= 0 && sc->viewer < VIEW_STATES ? sc->viewer : 0];
}

sqlite3_stmt **sq_conn_consents_stmt(store_conn *c) {
    return &((sq_conn *)c)->consents_st;
}

sq_stmt_cache **sq_conn_cache(store_conn *c) {
    return &((sq_conn *)c)->cache;
}

/* Migrations: index i takes the schema from version i to i+1. Never edit a
 * shipped entry; append a new one. */
static const char *const MIGRATIONS[] = {
    "CREATE TABLE resource_version ("
    "  seq INTEGER PRIMARY KEY,"
    "  rtype TEXT NOT NULL, rid TEXT NOT NULL, vid INTEGER NOT NULL,"
    "  ts TEXT NOT NULL, method TEXT NOT NULL, deleted INTEGER NOT NULL,"
    "  patient TEXT, body BLOB,"
    "  UNIQUE(rtype, rid, vid));"
    "CREATE INDEX resource_version_ts ON resource_version(ts);"
    "CREATE INDEX resource_version_type ON resource_version(rtype, seq);"
    "CREATE TABLE resource ("
    "  rtype TEXT NOT NULL, rid TEXT NOT NULL, vid INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  deleted INTEGER NOT NULL, patient TEXT,"
    "  PRIMARY KEY(rtype, rid)) WITHOUT ROWID;"
    "CREATE INDEX resource_patient ON resource(patient) WHERE patient IS NOT NULL;"
    "CREATE TABLE token_index ("
    "  rtype TEXT NOT NULL, param TEXT NOT NULL, code TEXT NOT NULL, system TEXT NOT NULL,"
    "  rid TEXT NOT NULL, patient TEXT);"
    "CREATE INDEX token_index_lookup ON token_index(rtype, param, code, system);"
    "CREATE INDEX token_index_owner ON token_index(rtype, rid);",

    /* 2: search index tables, one per kind of search parameter. The
     * resource table gains an integer key (rkey) that index rows use, and
     * index rows name their parameter by a 62-bit hash of type and code
     * (sg_param_id), so that index keys stay small. The PostgreSQL backend
     * will carry the Patient compartment on these rows too; in SQLite it is
     * on resource and resource_version. */
    "DROP TABLE token_index;"
    "CREATE TABLE resource_new(rkey INTEGER PRIMARY KEY, rtype TEXT NOT NULL, rid TEXT NOT NULL,"
    "  vid INTEGER NOT NULL, seq INTEGER NOT NULL, deleted INTEGER NOT NULL, patient TEXT);"
    "INSERT INTO resource_new(rtype, rid, vid, seq, deleted, patient)"
    "  SELECT rtype, rid, vid, seq, deleted, patient FROM resource;"
    "DROP TABLE resource;"
    "ALTER TABLE resource_new RENAME TO resource;"
    "CREATE UNIQUE INDEX resource_key ON resource(rtype, rid);"
    "CREATE INDEX resource_patient ON resource(patient) WHERE patient IS NOT NULL;"
    "CREATE TABLE sp_string(pid INTEGER NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL, rkey INTEGER NOT NULL,"
    "  PRIMARY KEY(pid, norm, rkey, exact)) WITHOUT ROWID;"
    "CREATE INDEX sp_string_o ON sp_string(rkey, pid);"
    "CREATE TABLE sp_token(pid INTEGER NOT NULL, code TEXT NOT NULL, system TEXT NOT NULL, rkey INTEGER NOT NULL,"
    "  text TEXT, PRIMARY KEY(pid, code, system, rkey)) WITHOUT ROWID;"
    "CREATE INDEX sp_token_o ON sp_token(rkey, pid);"
    "CREATE TABLE sp_date(pid INTEGER NOT NULL, lo REAL NOT NULL, hi REAL NOT NULL, rkey INTEGER NOT NULL,"
    "  PRIMARY KEY(pid, lo, hi, rkey)) WITHOUT ROWID;"
    "CREATE INDEX sp_date_o ON sp_date(rkey, pid);"
    "CREATE TABLE sp_number(pid INTEGER NOT NULL, lo REAL NOT NULL, hi REAL NOT NULL, rkey INTEGER NOT NULL,"
    "  PRIMARY KEY(pid, lo, hi, rkey)) WITHOUT ROWID;"
    "CREATE INDEX sp_number_o ON sp_number(rkey, pid);"
    "CREATE TABLE sp_quantity(pid INTEGER NOT NULL, code TEXT NOT NULL, system TEXT NOT NULL, lo REAL NOT NULL,"
    "  hi REAL NOT NULL, rkey INTEGER NOT NULL, PRIMARY KEY(pid, code, system, lo, hi, rkey)) WITHOUT ROWID;"
    "CREATE INDEX sp_quantity_o ON sp_quantity(rkey, pid);"
    "CREATE TABLE sp_reference(pid INTEGER NOT NULL, tid TEXT NOT NULL, ttype TEXT NOT NULL, url TEXT NOT NULL,"
    "  rkey INTEGER NOT NULL, PRIMARY KEY(pid, tid, ttype, url, rkey)) WITHOUT ROWID;"
    "CREATE INDEX sp_reference_o ON sp_reference(rkey, pid);"
    "CREATE TABLE sp_uri(pid INTEGER NOT NULL, uri TEXT NOT NULL, rkey INTEGER NOT NULL,"
    "  PRIMARY KEY(pid, uri, rkey)) WITHOUT ROWID;"
    "CREATE INDEX sp_uri_o ON sp_uri(rkey, pid);"
    "CREATE TABLE sp_composite(pid INTEGER NOT NULL, b TEXT NOT NULL, a TEXT NOT NULL, c TEXT NOT NULL,"
    "  lo REAL NOT NULL, hi REAL NOT NULL, rkey INTEGER NOT NULL,"
    "  PRIMARY KEY(pid, b, a, c, lo, hi, rkey)) WITHOUT ROWID;"
    "CREATE INDEX sp_composite_o ON sp_composite(rkey, pid);"
    "CREATE VIRTUAL TABLE sp_text USING fts5(narrative, content, tokenize = 'unicode61 remove_diacritics 2');"
    "CREATE TABLE kith_meta(key TEXT PRIMARY KEY, value TEXT);"
    "INSERT INTO kith_meta(key, value) SELECT 'reindex', 'needed' WHERE EXISTS (SELECT 1 FROM resource);",
    /* 3 -> 4: accounts, tokens and the audit log (sqlite_accounts.c) */
    "CREATE TABLE kith_account(kind TEXT NOT NULL, name TEXT NOT NULL, role TEXT, org TEXT, practitioner TEXT,"
    "  secret TEXT, scopes TEXT, public_key TEXT, disabled INTEGER NOT NULL DEFAULT 0,"
    "  failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
    "  PRIMARY KEY(kind, name)) WITHOUT ROWID;"
    "CREATE TABLE kith_token(hash TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, scopes TEXT,"
    "  expires INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE kith_audit(seq INTEGER PRIMARY KEY, recorded TEXT NOT NULL, agent TEXT NOT NULL, patient TEXT,"
    "  action TEXT NOT NULL, outcome TEXT NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX kith_audit_patient ON kith_audit(patient, seq) WHERE patient IS NOT NULL;"
    "CREATE INDEX kith_audit_agent ON kith_audit(agent, seq);"
    "CREATE TRIGGER kith_audit_append_only_u BEFORE UPDATE ON kith_audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER kith_audit_append_only_d BEFORE DELETE ON kith_audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    /* 4 -> 5: break-glass grants (sqlite_viewer.c) */
    "CREATE TABLE kith_access_grant(account TEXT NOT NULL, patient TEXT NOT NULL, expires INTEGER NOT NULL,"
    "  reason TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY(account, patient, created)) WITHOUT ROWID;"
    /* Tasks join their person's record (compartment.c): recompute the keys */
    "INSERT OR REPLACE INTO kith_meta(key, value) SELECT 'reindex', 'needed' "
    "WHERE EXISTS (SELECT 1 FROM resource WHERE rtype = 'Task');",
    /* 5 -> 6: Kith's own search parameters (Task due, HealthcareService postcode-district) */
    ("INSERT OR REPLACE INTO kith_meta(key, value) SELECT 'reindex', 'needed' "
     "WHERE EXISTS (SELECT 1 FROM resource WHERE rtype IN ('Task', 'HealthcareService'));"),
    /* 6 -> 7: Task open-owner (worklists) */
    ("INSERT OR REPLACE INTO kith_meta(key, value) SELECT 'reindex', 'needed' "
     "WHERE EXISTS (SELECT 1 FROM resource WHERE rtype = 'Task');"),
};
#define NMIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

static kith_rc sq_err(sqlite3 *db, int rc) {
    (void)db;
    if(rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return KITH_EBUSY;
    if(rc == SQLITE_NOMEM) return KITH_ENOMEM;
    if(rc == SQLITE_CONSTRAINT) return KITH_ECONFLICT;
    return KITH_ESTORE;
}

/* Bytes of the database file each connection maps into memory: KITH_SQLITE_MMAP_MB
 * (default 0: measured faster here, see bench/). Mapped pages are shared by all connections through the OS page
 * cache; they count towards RSS once touched. */
static long long mmap_bytes(void) {
    const char *e = getenv("KITH_SQLITE_MMAP_MB");
    long long mb = e && *e ? atoll(e) : 0;
    if(mb < 0) mb = 0;
    if(mb > 65536) mb = 65536;
    return mb * 1024 * 1024;
}

static kith_rc sq_configure(sqlite3 *db, bool full, int cache_mb, char *err, size_t errlen) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON;"
             "PRAGMA cache_size=-%d; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=%lld;",
             full ? "FULL" : "NORMAL", (cache_mb > 0 ? cache_mb : 4) * 1024, mmap_bytes());
    sqlite3_busy_timeout(db, 10000);
    char *msg = NULL;
    if(sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if(err) snprintf(err, errlen, "cannot configure database: %s", msg ? msg : "?");
        sqlite3_free(msg);
        return KITH_ESTORE;
    }
    return KITH_OK;
}

static kith_rc sq_open(const char *url, const store_options *opt, void **state, int *schema, char *err,
                       size_t errlen) {
    sqlite3 *db = NULL;
    char *msg = NULL;
    kith_rc rc = KITH_OK;
    if(sqlite3_open_v2(url, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
       SQLITE_OK) {
        if(err) snprintf(err, errlen, "cannot open database %s: %s", url, db ? sqlite3_errmsg(db) : "out of memory");
        rc = KITH_ESTORE;
        goto done;
    }
    rc = sq_configure(db, opt->durable_full, opt->cache_mb, err, errlen);
    if(rc) goto done;
    sqlite3_stmt *st = NULL;
    int version = 0;
    if(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) goto sqlfail;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if(st && sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if(version > NMIGRATIONS) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        if(err)
            snprintf(err, errlen, "database %s has schema version %d, newer than this kith (%d)", url, version,
                     NMIGRATIONS);
        rc = KITH_EUNSUPPORTED;
        goto done;
    }
    for(int v = version; v < NMIGRATIONS; v++) {
        if(sqlite3_exec(db, MIGRATIONS[v], NULL, NULL, &msg) != SQLITE_OK) goto sqlfail;
        char pv[64];
        snprintf(pv, sizeof pv, "PRAGMA user_version=%d", v + 1);
        if(sqlite3_exec(db, pv, NULL, NULL, &msg) != SQLITE_OK) goto sqlfail;
    }
    if(sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) goto sqlfail;
    sq_state *s = xcalloc(1, sizeof *s);
    s->path = xstrdup(url);
    s->full = opt->durable_full;
    s->cache_mb = opt->cache_mb;
    *state = s;
    *schema = NMIGRATIONS;
    goto done;
sqlfail:
    if(err) snprintf(err, errlen, "cannot prepare database %s: %s", url, msg ? msg : sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    rc = KITH_ESTORE;
done:
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc;
}

static void sq_close(void *state) {
    sq_state *s = state;
    if(!s) return;
    free(s->path);
    free(s);
}

/* SQL function kith_pid(type, param): the key index rows use for a search parameter. */
static void sql_kith_pid(sqlite3_context *cx, int argc, sqlite3_value **argv) {
    (void)argc;
    const unsigned char *t = sqlite3_value_text(argv[0]), *p = sqlite3_value_text(argv[1]);
    if(!t || !p) {
        sqlite3_result_null(cx);
        return;
    }
    sqlite3_result_int64(cx, sg_param_id((const char *)t, (const char *)p));
}

static kith_rc sq_connect(void *state, store_conn **out) {
    sq_state *s = state;
    sq_conn *c = xcalloc(1, sizeof *c);
    if(sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) goto fail;
    if(sq_configure(c->db, s->full, s->cache_mb, NULL, 0)) goto fail;
    if(sqlite3_create_function_v2(c->db, "kith_pid", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_kith_pid, NULL,
                                  NULL, NULL) != SQLITE_OK)
        goto fail;
    if(sqlite3_exec(c->db,
                    "CREATE TEMP TABLE IF NOT EXISTS pending_text(rkey INTEGER PRIMARY KEY, narrative, content);"
                    "CREATE TEMP TABLE IF NOT EXISTS pending_text_del(rkey INTEGER PRIMARY KEY);"
                    "CREATE TEMP TABLE IF NOT EXISTS kith_viewer(k TEXT, v TEXT, PRIMARY KEY(k, v));",
                    NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    for(int i = 0; i < ST_MAX; i++)
        if(sqlite3_prepare_v3(c->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL) != SQLITE_OK) goto fail;
    *out = (store_conn *)c;
    return KITH_OK;
fail:
    for(int i = 0; i < ST_MAX; i++) sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    free(c);
    return KITH_ESTORE;
}

static void sq_disconnect(store_conn *sc) {
    sq_conn *c = (sq_conn *)sc;
    if(!c) return;
    sq_cache_free(c->cache);
    for(int i = 0; i < ST_MAX; i++) sqlite3_finalize(c->st[i]);
    for(int i = 0; i < VIEW_STATES; i++) sqlite3_finalize(c->viewer_st[i]);
    sqlite3_finalize(c->consents_st);
    sqlite3_close(c->db);
    free(c);
}

static kith_rc sq_exec(sq_conn *c, const char *sql) {
    int r = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return r == SQLITE_OK ? KITH_OK : sq_err(c->db, r);
}

static kith_rc sq_begin(store_conn *sc) {
    sq_conn *c = (sq_conn *)sc;
    kith_rc rc = sq_exec(c, "BEGIN IMMEDIATE");
    if(!rc) c->in_tx = true;
    return rc;
}

/* Move the transaction's full-text rows into sp_text: one statement each way,
 * so FTS5 writes its segments once. */
static kith_rc flush_text(sq_conn *c) {
    if(!c->text_pending) return KITH_OK;
    c->text_pending = false;
    return sq_exec(c, "DELETE FROM sp_text WHERE rowid IN (SELECT rkey FROM temp.pending_text_del);"
                      "INSERT INTO sp_text(rowid, narrative, content) SELECT rkey, narrative, content "
                      "FROM temp.pending_text ORDER BY rkey;"
                      "DELETE FROM temp.pending_text; DELETE FROM temp.pending_text_del;");
}

/* After a write: outside a transaction it has already committed, so flush now. */
static kith_rc text_written(sq_conn *c) {
    c->text_pending = true;
    return sqlite3_get_autocommit(c->db) ? flush_text(c) : KITH_OK;
}

static kith_rc sq_commit(store_conn *sc) {
    sq_conn *c = (sq_conn *)sc;
    kith_rc rc = flush_text(c);
    if(!rc) rc = sq_exec(c, "COMMIT");
    if(rc) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    c->in_tx = false;
    return rc;
}

static kith_rc sq_rollback(store_conn *sc) {
    sq_conn *c = (sq_conn *)sc;
    if(sqlite3_get_autocommit(c->db)) {
        c->in_tx = false;
        return KITH_OK;
    }
    c->in_tx = false;
    c->text_pending = false; /* the temp tables roll back too */
    return sq_exec(c, "ROLLBACK");
}

static kith_rc sq_savepoint(store_conn *sc) {
    return sq_exec((sq_conn *)sc, "SAVEPOINT kith_job");
}

static kith_rc sq_release(store_conn *sc) {
    return sq_exec((sq_conn *)sc, "RELEASE kith_job");
}

static kith_rc sq_rollback_to(store_conn *sc) {
    kith_rc rc = sq_exec((sq_conn *)sc, "ROLLBACK TO kith_job");
    if(!rc) rc = sq_exec((sq_conn *)sc, "RELEASE kith_job");
    return rc;
}

static char *col_text(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

static void fill_row(sqlite3_stmt *st, int first, store_resource *out) {
    out->version = sqlite3_column_int64(st, first);
    out->last_updated = col_text(st, first + 1);
    out->deleted = sqlite3_column_int(st, first + 2) != 0;
    out->method = col_text(st, first + 3);
    const void *b = sqlite3_column_blob(st, first + 4);
    out->body_len = (size_t)sqlite3_column_bytes(st, first + 4);
    out->body = b ? xstrndup(b, out->body_len) : NULL;
    out->seq = sqlite3_column_int64(st, first + 5);
}

/* Hand each row of st (rtype, rid, then fill_row's columns) to fn until it
 * asks to stop; type, when given, stands for a query without an rtype column.
 * Returns the last sqlite3_step result (SQLITE_ROW when fn stopped early). */
static int emit_rows(sqlite3_stmt *st, const char *type, store_history_fn fn, void *ctx) {
    int r;
    int first = type ? 0 : 1; /* index of the rid column */
    while((r = sqlite3_step(st)) == SQLITE_ROW) {
        store_resource res = {0};
        res.type = type ? xstrdup(type) : col_text(st, 0);
        res.id = col_text(st, first);
        fill_row(st, first + 1, &res);
        int stop = fn(ctx, &res);
        store_resource_free(&res);
        if(stop) break;
    }
    return r;
}

static kith_rc sq_read(store_conn *sc, const char *type, const char *id, int64_t version, store_resource *out) {
    sq_conn *c = (sq_conn *)sc;
    sqlite3_stmt *st = c->st[version ? ST_READ_VER : ST_READ_CUR];
    kith_rc rc = KITH_OK;
    memset(out, 0, sizeof *out);
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if(version) sqlite3_bind_int64(st, 3, version);
    int r = sqlite3_step(st);
    if(r == SQLITE_ROW) {
        out->type = xstrdup(type);
        out->id = xstrdup(id);
        fill_row(st, 0, out);
        out->patient = col_text(st, 6);
        if(out->deleted) rc = KITH_EGONE;
        if(c->viewer) {
            bool sees = false;
            sqlite3_reset(st); /* one statement at a time on this row */
            kith_rc vr = sq_viewer_sees(sc, type, id, out->patient, &sees);
            if(vr || !sees) {
                store_resource_free(out);
                out->hidden = !vr;
                rc = vr ? vr : KITH_ENOTFOUND;
            }
        }
    } else if(r == SQLITE_DONE) {
        rc = KITH_ENOTFOUND;
    } else {
        rc = sq_err(c->db, r);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static kith_rc step_done(sq_conn *c, sqlite3_stmt *st) {
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r == SQLITE_DONE ? KITH_OK : sq_err(c->db, r);
}

/* Remove every index row of the resource with key rkey. */
static kith_rc delete_index(sq_conn *c, int64_t rkey) {
    kith_rc rc = KITH_OK;
    for(int k = 0; k < STORE_IX_KINDS && !rc; k++) {
        sqlite3_stmt *st = c->st[ST_DEL_STRING + k];
        sqlite3_bind_int64(st, 1, rkey);
        rc = step_done(c, st);
    }
    if(!rc) {
        sqlite3_stmt *st = c->st[ST_DEL_PENDING_TEXT];
        sqlite3_bind_int64(st, 1, rkey);
        rc = step_done(c, st);
    }
    return rc;
}

static kith_rc insert_index(sq_conn *c, const char *type, int64_t rkey, const store_index_row *rows, size_t nrows) {
    kith_rc rc = KITH_OK;
    int64_t pid = 0;
    const char *last_param = NULL;
    for(size_t i = 0; i < nrows && !rc; i++) {
        const store_index_row *x = &rows[i];
        if(!last_param || strcmp(last_param, x->param) != 0) {
            pid = sg_param_id(type, x->param);
            last_param = x->param;
        }
        sqlite3_stmt *st = c->st[ST_INS_STRING + x->kind];
        sqlite3_bind_int64(st, 1, rkey);
        sqlite3_bind_int64(st, 2, pid);
        sqlite3_bind_text(st, 5, x->a ? x->a : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, x->b ? x->b : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, x->c ? x->c : "", -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 8, x->lo);
        sqlite3_bind_double(st, 9, x->hi);
        rc = step_done(c, st);
    }
    return rc;
}

static kith_rc rkey_of(sq_conn *c, const char *type, const char *id, int64_t *rkey) {
    sqlite3_stmt *st = c->st[ST_RKEY];
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    kith_rc rc = r == SQLITE_ROW ? KITH_OK : r == SQLITE_DONE ? KITH_ENOTFOUND : sq_err(c->db, r);
    if(r == SQLITE_ROW) *rkey = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static kith_rc sq_write(store_conn *sc, const store_put *p) {
    sq_conn *c = (sq_conn *)sc;
    sqlite3_stmt *st = c->st[ST_INS_VER];
    sqlite3_bind_text(st, 1, p->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, p->version);
    sqlite3_bind_text(st, 4, p->last_updated, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, p->method, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, p->body ? 0 : 1);
    sqlite3_bind_text(st, 7, p->patient, -1, SQLITE_STATIC);
    if(p->body)
        sqlite3_bind_blob(st, 8, p->body, (int)p->body_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 8);
    kith_rc rc = step_done(c, st);
    if(rc) return rc;
    int64_t seq = sqlite3_last_insert_rowid(c->db);

    st = c->st[ST_UPSERT_CUR];
    sqlite3_bind_text(st, 1, p->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, p->version);
    sqlite3_bind_int64(st, 4, seq);
    sqlite3_bind_int(st, 5, p->body ? 0 : 1);
    sqlite3_bind_text(st, 6, p->patient, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    int64_t rkey = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if(r == SQLITE_ROW) r = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if(r != SQLITE_DONE || !rkey) return sq_err(c->db, r);
    if(p->version > 1) rc = delete_index(c, rkey); /* an earlier version may have rows */
    if(!rc) rc = insert_index(c, p->type, rkey, p->rows, p->nrows);
    if(!rc) rc = text_written(c);
    return rc;
}

static kith_rc sq_replace_index(store_conn *sc, const char *type, const char *id, const char *patient,
                                const store_index_row *rows, size_t nrows) {
    sq_conn *c = (sq_conn *)sc;
    int64_t rkey = 0;
    kith_rc rc = rkey_of(c, type, id, &rkey);
    if(!rc) rc = delete_index(c, rkey);
    if(!rc) rc = insert_index(c, type, rkey, rows, nrows);
    if(!rc) rc = text_written(c);
    if(!rc) {
        /* the Patient compartment is derived too: keep the resource row in step */
        sqlite3_stmt *st = NULL;
        if(sqlite3_prepare_v2(c->db, "UPDATE resource SET patient = ?1 WHERE rkey = ?2", -1, &st, NULL) != SQLITE_OK)
            return KITH_ESTORE;
        sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, rkey);
        rc = sqlite3_step(st) == SQLITE_DONE ? KITH_OK : sq_err(c->db, SQLITE_ERROR);
        sqlite3_finalize(st);
    }
    return rc;
}

static kith_rc sq_meta_get(store_conn *sc, const char *key, char **value) {
    sq_conn *c = (sq_conn *)sc;
    sqlite3_stmt *st = NULL;
    *value = NULL;
    if(sqlite3_prepare_v2(c->db, "SELECT value FROM kith_meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
        return KITH_ESTORE;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if(r == SQLITE_ROW) *value = col_text(st, 0);
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? KITH_OK : KITH_ESTORE;
}

static kith_rc sq_meta_set(store_conn *sc, const char *key, const char *value) {
    sq_conn *c = (sq_conn *)sc;
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(c->db, "INSERT INTO kith_meta(key, value) VALUES(?1, ?2) "
                                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                          -1, &st, NULL) != SQLITE_OK)
        return KITH_ESTORE;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? KITH_OK : sq_err(c->db, r);
}

static kith_rc sq_find_token(store_conn *sc, const char *type, const char *param, const char *system, const char *code,
                             size_t max, char ***ids, size_t *n) {
    sq_conn *c = (sq_conn *)sc;
    sqlite3_stmt *st = c->st[system ? ST_FIND_TOK_SYS : ST_FIND_TOK_ANY];
    sqlite3_bind_int64(st, 1, sg_param_id(type, param));
    sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    if(system) sqlite3_bind_text(st, 3, system, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
    size_t cnt = 0, cap = 0;
    char **v = NULL;
    int r;
    while((r = sqlite3_step(st)) == SQLITE_ROW) {
        if(cnt == cap) {
            cap = cap ? cap * 2 : 4;
            v = xrealloc(v, cap * sizeof *v);
        }
        v[cnt++] = col_text(st, 0);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if(r != SQLITE_DONE) {
        for(size_t i = 0; i < cnt; i++) free(v[i]);
        free(v);
        return sq_err(c->db, r);
    }
    *ids = v;
    *n = cnt;
    return KITH_OK;
}

static kith_rc sq_history(store_conn *sc, const store_history_query *q, store_history_fn fn, void *ctx,
                          int64_t *total) {
    sq_conn *c = (sq_conn *)sc;
    char where[4096] = "1=1";
    size_t wl = strlen(where);
    if(q->type) wl += (size_t)snprintf(where + wl, sizeof where - wl, " AND rtype = ?1");
    if(q->id) wl += (size_t)snprintf(where + wl, sizeof where - wl, " AND rid = ?2");
    if(q->since) wl += (size_t)snprintf(where + wl, sizeof where - wl, " AND ts >= ?3");
    if(c->viewer) {
        buf vis = BUF_INIT;
        sq_visible_cond(sc, &vis, "resource_version.patient", "resource_version.rtype", "resource_version.rid", NULL);
        if(vis.len >= sizeof where - wl) {
            buf_free(&vis);
            return KITH_EINTERNAL;
        }
        memcpy(where + wl, vis.data, vis.len + 1);
        wl += vis.len;
        buf_free(&vis);
    }
    char sql[4608];
    sqlite3_stmt *st = NULL;
    kith_rc rc = KITH_OK;
    int r;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM resource_version WHERE %s", where);
    if(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) return KITH_ESTORE;
    if(q->type) sqlite3_bind_text(st, 1, q->type, -1, SQLITE_STATIC);
    if(q->id) sqlite3_bind_text(st, 2, q->id, -1, SQLITE_STATIC);
    if(q->since) sqlite3_bind_text(st, 3, q->since, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if(r != SQLITE_ROW) {
        rc = sq_err(c->db, r);
        goto done;
    }
    *total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    /* one resource's versions come in vid order, which is their seq order: by vid the
     * (rtype, rid, vid) index serves it, where by seq SQLite would walk every version of the type */
    snprintf(sql, sizeof sql,
             "SELECT rtype, rid, vid, ts, deleted, method, body, seq FROM resource_version WHERE %s%s "
             "ORDER BY %s DESC LIMIT ?5",
             where, q->before_seq ? " AND seq < ?4" : "", q->type && q->id ? "vid" : "seq");
    if(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) return KITH_ESTORE;
    if(q->type) sqlite3_bind_text(st, 1, q->type, -1, SQLITE_STATIC);
    if(q->id) sqlite3_bind_text(st, 2, q->id, -1, SQLITE_STATIC);
    if(q->since) sqlite3_bind_text(st, 3, q->since, -1, SQLITE_STATIC);
    if(q->before_seq) sqlite3_bind_int64(st, 4, q->before_seq);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)q->count);
    r = emit_rows(st, NULL, fn, ctx);
    if(r != SQLITE_ROW && r != SQLITE_DONE) rc = sq_err(c->db, r);
done:
    sqlite3_finalize(st);
    return rc;
}

static kith_rc sq_list(store_conn *sc, const char *type, const char *after_id, size_t count, store_history_fn fn,
                       void *ctx) {
    sq_conn *c = (sq_conn *)sc;
    sqlite3_stmt *st = c->st[ST_LIST];
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, after_id ? after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)count);
    int r;
    r = emit_rows(st, type, fn, ctx);
    kith_rc rc = (r == SQLITE_ROW || r == SQLITE_DONE) ? KITH_OK : sq_err(c->db, r);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static kith_rc sq_count(store_conn *sc, const char *type, int64_t *n) {
    sq_conn *c = (sq_conn *)sc;
    sqlite3_stmt *st = c->st[type ? ST_COUNT_TYPE : ST_COUNT_ALL];
    if(type) sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    kith_rc rc = KITH_OK;
    if(r == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = sq_err(c->db, r);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static kith_rc sq_check(store_conn *sc, char *msg, size_t msglen) {
    sq_conn *c = (sq_conn *)sc;
    sqlite3_stmt *st = NULL;
    kith_rc rc = KITH_OK;
    if(sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) return KITH_ESTORE;
    if(sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if(msg) snprintf(msg, msglen, "%s", t ? t : "?");
        if(!t || strcmp(t, "ok") != 0) rc = KITH_ESTORE;
    } else {
        rc = KITH_ESTORE;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The WHERE clause of a scan (after "WHERE "), binding from parameter 1 on;
 * the cursor is left out when !with_cursor. */
static void scan_where(store_conn *sc, const store_scan_query *q, bool with_cursor, char *sql, size_t len) {
    size_t n = (size_t)snprintf(sql, len, "r.deleted = 0");
    if(q->ntypes) {
        n += (size_t)snprintf(sql + n, len - n, " AND r.rtype IN (");
        for(size_t i = 0; i < q->ntypes; i++) n += (size_t)snprintf(sql + n, len - n, i ? ",?" : "?");
        n += (size_t)snprintf(sql + n, len - n, ")");
    }
    if(q->since) n += (size_t)snprintf(sql + n, len - n, " AND v.ts >= ?");
    if(q->patient) n += (size_t)snprintf(sql + n, len - n, " AND r.patient = ?");
    if(q->in_compartment) n += (size_t)snprintf(sql + n, len - n, " AND r.patient IS NOT NULL");
    if(with_cursor && q->after_type)
        n += (size_t)snprintf(sql + n, len - n, " AND (r.rtype, r.rid) > (?, ?)");
    buf vis = BUF_INIT;
    sq_visible_cond(sc, &vis, "r.patient", "r.rtype", "r.rid", "r.rkey");
    if(vis.len) snprintf(sql + n, len - n, "%s", buf_str(&vis));
    buf_free(&vis);
}

/* Bind what scan_where asked for; returns the next parameter number. */
static int scan_bind(sqlite3_stmt *st, const store_scan_query *q, bool with_cursor) {
    int k = 1;
    for(size_t i = 0; i < q->ntypes; i++) sqlite3_bind_text(st, k++, q->types[i], -1, SQLITE_STATIC);
    if(q->since) sqlite3_bind_text(st, k++, q->since, -1, SQLITE_STATIC);
    if(q->patient) sqlite3_bind_text(st, k++, q->patient, -1, SQLITE_STATIC);
    if(with_cursor && q->after_type) {
        sqlite3_bind_text(st, k++, q->after_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, k++, q->after_id ? q->after_id : "", -1, SQLITE_STATIC);
    }
    return k;
}

#define SCAN_SQL_MAX (4608 + 2 * STORE_SCAN_MAX_TYPES)

static kith_rc sq_scan(store_conn *sc, const store_scan_query *q, store_history_fn fn, void *ctx) {
    sq_conn *c = (sq_conn *)sc;
    if(q->ntypes > STORE_SCAN_MAX_TYPES) return KITH_EINVAL;
    char where[SCAN_SQL_MAX], sql[SCAN_SQL_MAX + 256];
    scan_where(sc, q, true, where, sizeof where);
    snprintf(sql, sizeof sql,
             "SELECT r.rtype, r.rid, v.vid, v.ts, v.deleted, v.method, v.body, v.seq FROM resource r "
             "JOIN resource_version v ON v.seq = r.seq WHERE %s ORDER BY r.rtype, r.rid%s",
             where, q->limit ? " LIMIT ?" : "");
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) return KITH_ESTORE;
    int k = scan_bind(st, q, true);
    if(q->limit) sqlite3_bind_int64(st, k, (sqlite3_int64)q->limit);
    int r;
    r = emit_rows(st, NULL, fn, ctx);
    kith_rc rc = (r == SQLITE_ROW || r == SQLITE_DONE) ? KITH_OK : sq_err(c->db, r);
    sqlite3_finalize(st);
    return rc;
}

static kith_rc sq_scan_count(store_conn *sc, const store_scan_query *q, int64_t *n) {
    sq_conn *c = (sq_conn *)sc;
    if(q->ntypes > STORE_SCAN_MAX_TYPES) return KITH_EINVAL;
    char where[SCAN_SQL_MAX], sql[SCAN_SQL_MAX + 256];
    scan_where(sc, q, false, where, sizeof where);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM resource r %sWHERE %s",
             q->since ? "JOIN resource_version v ON v.seq = r.seq " : "", where);
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) return KITH_ESTORE;
    scan_bind(st, q, false);
    int r = sqlite3_step(st);
    kith_rc rc = KITH_OK;
    if(r == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = sq_err(c->db, r);
    sqlite3_finalize(st);
    return rc;
}

const store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_to = sq_rollback_to,
    .read = sq_read,
    .write = sq_write,
    .find_token = sq_find_token,
    .history = sq_history,
    .list = sq_list,
    .count = sq_count,
    .replace_index = sq_replace_index,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .search = sq_search,
    .references_from = sq_references_from,
    .references_to = sq_references_to,
    .check = sq_check,
    .scan = sq_scan,
    .scan_count = sq_scan_count,
    .account_put = sq_account_put,
    .account_get = sq_account_get,
    .account_list = sq_account_list,
    .token_put = sq_token_put,
    .token_get = sq_token_get,
    .token_delete = sq_token_delete,
    .audit_append = sq_audit_append,
    .audit_last = sq_audit_last,
    .audit_scan = sq_audit_scan,
    .set_viewer = sq_set_viewer,
    .viewer_suspend = sq_viewer_suspend,
    .viewer_sees = sq_viewer_sees,
    .grant_add = sq_grant_add,
};
