/*
 * postgres.c — the PostgreSQL 15 store backend (a postgresql:// URL), through libpq.
 *
 * The same logical tables as sqlite.c: resource_version (every version, in
 * global change order seq), resource (the current version of each type/id,
 * with the integer key rkey that index rows use), the sp_* search index
 * tables, kith_meta, accounts, tokens, the append-only audit log and
 * break-glass grants. Every per-patient table, index rows included, carries
 * the Patient compartment in `patient` ('' when the row is in nobody's), so
 * that the tables can be distributed by it (docs/scaling.md). Text columns
 * use the "C" collation: ids, codes and cursors order byte by byte, as in
 * SQLite. The schema lives in the first schema of the connection's
 * search_path (created if missing); its version is kith_meta.schema_version.
 *
 * One PGconn per store_conn (store.c gives each thread its own), which
 * reconnects by itself between transactions after the server went away;
 * statements used on every request are PQprepare'd once per connection, and
 * statements built at run time (searches, history, scans, the viewer's
 * checks) are prepared on first use and kept by their text. store_begin
 * opens a READ COMMITTED transaction and takes a transaction-level advisory
 * lock (pg_advisory_xact_lock), so writers run one at a time across every
 * process sharing the database, as SQLite's BEGIN IMMEDIATE does; see
 * pg_begin for why not SERIALIZABLE. Index rows of a write go in one
 * pipelined round trip.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "store/postgres_int.h"
#include "store/sqlgen.h"

#define LOCK_CLASS 0x4b495448 /* "KITH": the advisory lock's first key */

typedef struct pg_state {
    char *url;
    char nonce[64];          /* tells this store's writes from other processes' (NOTIFY payloads) */
    atomic_bool consents_seen; /* a Consent has existed (pg_set_viewer: once true, no need to ask again) */
    pthread_mutex_t watch_mu;
    pthread_t watcher;       /* LISTENs while watching (pg_watch) */
    bool watching;
    atomic_bool stop;
    store_change_fn fn;
    void *ctx;
} pg_state;

enum {
    ST_READ_CUR,
    ST_READ_VER,
    ST_PUT,
    ST_DEL_INDEX,
    ST_INS_STRING,
    ST_INS_TOKEN,
    ST_INS_DATE,
    ST_INS_NUMBER,
    ST_INS_QUANTITY,
    ST_INS_REFERENCE,
    ST_INS_URI,
    ST_INS_COMPOSITE,
    ST_INS_TEXT,
    ST_FIND_TOK_SYS,
    ST_FIND_TOK_ANY,
    ST_RKEY,
    ST_SET_PATIENT,
    ST_LIST,
    ST_COUNT_TYPE,
    ST_COUNT_ALL,
    ST_META_GET,
    ST_META_SET,
    ST_MAX
};

static const char *const SQL[ST_MAX] = {
    [ST_READ_CUR] = "SELECT v.vid, v.ts, v.deleted, v.method, v.body, v.seq, v.patient FROM resource r "
                    "JOIN resource_version v ON v.seq = r.seq WHERE r.rtype = $1 AND r.rid = $2",
    [ST_READ_VER] = "SELECT vid, ts, deleted, method, body, seq, patient FROM resource_version "
                    "WHERE rtype = $1 AND rid = $2 AND vid = $3",
    /* the version and the current row in one statement; returns the resource key */
    [ST_PUT] = "WITH v AS (INSERT INTO resource_version(rtype, rid, vid, ts, method, deleted, patient, body) "
               "VALUES($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq) "
               "INSERT INTO resource(rtype, rid, vid, seq, deleted, patient) SELECT $1, $2, $3, v.seq, $6, $7 FROM v "
               "ON CONFLICT(rtype, rid) DO UPDATE SET vid = excluded.vid, seq = excluded.seq, "
               "deleted = excluded.deleted, patient = excluded.patient RETURNING rkey",
    /* every index row of a resource, in one statement (data-modifying CTEs always run) */
    [ST_DEL_INDEX] = "WITH a AS (DELETE FROM sp_string WHERE rkey = $1), b AS (DELETE FROM sp_token WHERE rkey = $1), "
                     "c AS (DELETE FROM sp_date WHERE rkey = $1), d AS (DELETE FROM sp_number WHERE rkey = $1), "
                     "e AS (DELETE FROM sp_quantity WHERE rkey = $1), f AS (DELETE FROM sp_reference WHERE rkey = $1), "
                     "g AS (DELETE FROM sp_uri WHERE rkey = $1), h AS (DELETE FROM sp_composite WHERE rkey = $1), "
                     "i AS (DELETE FROM sp_text WHERE rkey = $1) SELECT 1",
    /* Index rows of one kind, all at once: $1 rkey, $8 patient, and arrays of the rows' pid ($2), a, b,
     * c ($3-$5), lo and hi ($6, $7) (types fixed at prepare). */
#define ROWS "FROM unnest($2::int8[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[]) AS u(p, a, b, c, lo, hi) "
    [ST_INS_STRING] = "INSERT INTO sp_string(pid, norm, exact, rkey, patient) SELECT p, a, b, $1, $8 " ROWS
                      "ON CONFLICT DO NOTHING",
    [ST_INS_TOKEN] = "INSERT INTO sp_token(pid, code, system, rkey, text, patient) SELECT p, b, a, $1, c, $8 " ROWS
                     "ON CONFLICT DO NOTHING",
    [ST_INS_DATE] = "INSERT INTO sp_date(pid, lo, hi, rkey, patient) SELECT p, lo, hi, $1, $8 " ROWS
                    "ON CONFLICT DO NOTHING",
    [ST_INS_NUMBER] = "INSERT INTO sp_number(pid, lo, hi, rkey, patient) SELECT p, lo, hi, $1, $8 " ROWS
                      "ON CONFLICT DO NOTHING",
    [ST_INS_QUANTITY] = "INSERT INTO sp_quantity(pid, code, system, lo, hi, rkey, patient) "
                        "SELECT p, b, a, lo, hi, $1, $8 " ROWS "ON CONFLICT DO NOTHING",
    [ST_INS_REFERENCE] = "INSERT INTO sp_reference(pid, tid, ttype, url, rkey, patient) SELECT p, b, a, c, $1, $8 " ROWS
                         "ON CONFLICT DO NOTHING",
    [ST_INS_URI] = "INSERT INTO sp_uri(pid, uri, rkey, patient) SELECT p, a, $1, $8 " ROWS "ON CONFLICT DO NOTHING",
    [ST_INS_COMPOSITE] = "INSERT INTO sp_composite(pid, b, a, c, lo, hi, rkey, patient) "
                         "SELECT p, b, a, c, lo, hi, $1, $8 " ROWS "ON CONFLICT DO NOTHING",
    /* _text and _content: 'simple' tsvectors of folded text (kith_fold); one row per resource */
    [ST_INS_TEXT] = "INSERT INTO sp_text(rkey, patient, narrative, content) "
                    "SELECT $1, $8, to_tsvector('simple', kith_fold(a)), to_tsvector('simple', kith_fold(b)) " ROWS
                    "ON CONFLICT(rkey) DO UPDATE SET patient = excluded.patient, narrative = excluded.narrative, "
                    "content = excluded.content",
#undef ROWS
    [ST_FIND_TOK_SYS] = "SELECT DISTINCT r.rid FROM sp_token x JOIN resource r ON r.rkey = x.rkey WHERE x.pid = $1 "
                        "AND x.code = $2 AND x.system = $3 AND r.deleted = 0 LIMIT $4",
    [ST_FIND_TOK_ANY] = "SELECT DISTINCT r.rid FROM sp_token x JOIN resource r ON r.rkey = x.rkey WHERE x.pid = $1 "
                        "AND x.code = $2 AND r.deleted = 0 LIMIT $3",
    [ST_RKEY] = "SELECT rkey FROM resource WHERE rtype = $1 AND rid = $2",
    [ST_SET_PATIENT] = "UPDATE resource SET patient = $1 WHERE rkey = $2",
    [ST_LIST] = "SELECT r.rid, v.vid, v.ts, v.deleted, v.method, v.body, v.seq FROM resource r "
                "JOIN resource_version v ON v.seq = r.seq WHERE r.rtype = $1 AND r.rid > $2 AND r.deleted = 0 "
                "ORDER BY r.rid LIMIT $3",
    [ST_COUNT_TYPE] = "SELECT count(*) FROM resource WHERE rtype = $1 AND deleted = 0",
    [ST_COUNT_ALL] = "SELECT count(*) FROM resource WHERE deleted = 0",
    [ST_META_GET] = "SELECT value FROM kith_meta WHERE key = $1",
    [ST_META_SET] = "INSERT INTO kith_meta(key, value) VALUES($1, $2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
};

/* Parameter types of the index row statements (the others are inferred). */
static const Oid INDEX_TYPES[8] = {20 /* int8 */, 1016 /* int8[] */, 1009 /* text[] */, 1009, 1009,
                                   1022 /* float8[] */, 1022, 25 /* text */};

/* Migrations: index i takes the schema from version i to i+1. Never edit a
 * shipped entry; append a new one. */
static const char *const MIGRATIONS[] = {
    "CREATE TABLE kith_meta(key text COLLATE \"C\" PRIMARY KEY, value text);"
    "CREATE TABLE resource_version("
    "  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  rtype text COLLATE \"C\" NOT NULL, rid text COLLATE \"C\" NOT NULL, vid bigint NOT NULL,"
    "  ts text COLLATE \"C\" NOT NULL, method text NOT NULL, deleted smallint NOT NULL,"
    "  patient text COLLATE \"C\" NOT NULL DEFAULT '', body text,"
    "  UNIQUE(rtype, rid, vid));"
    "CREATE INDEX resource_version_ts ON resource_version(ts);"
    "CREATE INDEX resource_version_type ON resource_version(rtype, seq);"
    "CREATE INDEX resource_version_patient ON resource_version(patient, seq) WHERE patient <> '';"
    "CREATE TABLE resource("
    "  rkey bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  rtype text COLLATE \"C\" NOT NULL, rid text COLLATE \"C\" NOT NULL, vid bigint NOT NULL,"
    "  seq bigint NOT NULL, deleted smallint NOT NULL, patient text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  UNIQUE(rtype, rid));"
    "CREATE INDEX resource_patient ON resource(patient, rtype, rid) WHERE patient <> '';"
    /* index rows: the patient closes each primary key, so that a table distributed by it keeps
     * its key (the resource key rkey already decides the patient) */
    "CREATE TABLE sp_string(pid bigint NOT NULL, norm text COLLATE \"C\" NOT NULL, exact text COLLATE \"C\" NOT NULL,"
    "  rkey bigint NOT NULL, patient text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  PRIMARY KEY(pid, norm, rkey, exact, patient));"
    "CREATE INDEX sp_string_o ON sp_string(rkey, pid);"
    "CREATE TABLE sp_token(pid bigint NOT NULL, code text COLLATE \"C\" NOT NULL, system text COLLATE \"C\" NOT NULL,"
    "  rkey bigint NOT NULL, text text COLLATE \"C\", patient text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  PRIMARY KEY(pid, code, system, rkey, patient));"
    "CREATE INDEX sp_token_o ON sp_token(rkey, pid);"
    "CREATE TABLE sp_date(pid bigint NOT NULL, lo float8 NOT NULL, hi float8 NOT NULL, rkey bigint NOT NULL,"
    "  patient text COLLATE \"C\" NOT NULL DEFAULT '', PRIMARY KEY(pid, lo, hi, rkey, patient));"
    "CREATE INDEX sp_date_o ON sp_date(rkey, pid);"
    "CREATE TABLE sp_number(pid bigint NOT NULL, lo float8 NOT NULL, hi float8 NOT NULL, rkey bigint NOT NULL,"
    "  patient text COLLATE \"C\" NOT NULL DEFAULT '', PRIMARY KEY(pid, lo, hi, rkey, patient));"
    "CREATE INDEX sp_number_o ON sp_number(rkey, pid);"
    "CREATE TABLE sp_quantity(pid bigint NOT NULL, code text COLLATE \"C\" NOT NULL,"
    "  system text COLLATE \"C\" NOT NULL, lo float8 NOT NULL, hi float8 NOT NULL, rkey bigint NOT NULL,"
    "  patient text COLLATE \"C\" NOT NULL DEFAULT '', PRIMARY KEY(pid, code, system, lo, hi, rkey, patient));"
    "CREATE INDEX sp_quantity_o ON sp_quantity(rkey, pid);"
    "CREATE TABLE sp_reference(pid bigint NOT NULL, tid text COLLATE \"C\" NOT NULL, ttype text COLLATE \"C\" NOT NULL,"
    "  url text COLLATE \"C\" NOT NULL, rkey bigint NOT NULL, patient text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  PRIMARY KEY(pid, tid, ttype, url, rkey, patient));"
    "CREATE INDEX sp_reference_o ON sp_reference(rkey, pid);"
    "CREATE TABLE sp_uri(pid bigint NOT NULL, uri text COLLATE \"C\" NOT NULL, rkey bigint NOT NULL,"
    "  patient text COLLATE \"C\" NOT NULL DEFAULT '', PRIMARY KEY(pid, uri, rkey, patient));"
    "CREATE INDEX sp_uri_o ON sp_uri(rkey, pid);"
    "CREATE TABLE sp_composite(pid bigint NOT NULL, b text COLLATE \"C\" NOT NULL, a text COLLATE \"C\" NOT NULL,"
    "  c text COLLATE \"C\" NOT NULL, lo float8 NOT NULL, hi float8 NOT NULL, rkey bigint NOT NULL,"
    "  patient text COLLATE \"C\" NOT NULL DEFAULT '', PRIMARY KEY(pid, b, a, c, lo, hi, rkey, patient));"
    "CREATE INDEX sp_composite_o ON sp_composite(rkey, pid);"
    "CREATE TABLE sp_text(rkey bigint PRIMARY KEY, patient text COLLATE \"C\" NOT NULL DEFAULT '',"
    "  narrative tsvector NOT NULL, content tsvector NOT NULL);"
    "CREATE INDEX sp_text_narrative ON sp_text USING gin(narrative);"
    "CREATE INDEX sp_text_content ON sp_text USING gin(content);"
    "CREATE TABLE kith_account(kind text COLLATE \"C\" NOT NULL, name text COLLATE \"C\" NOT NULL, role text,"
    "  org text, practitioner text, secret text, scopes text, public_key text, disabled smallint NOT NULL DEFAULT 0,"
    "  failures bigint NOT NULL DEFAULT 0, locked_until bigint NOT NULL DEFAULT 0, created bigint NOT NULL,"
    "  PRIMARY KEY(kind, name));"
    "CREATE TABLE kith_token(hash text COLLATE \"C\" PRIMARY KEY, kind text NOT NULL, subject text NOT NULL,"
    "  scopes text, expires bigint NOT NULL);"
    "CREATE TABLE kith_audit(seq bigint PRIMARY KEY, recorded text COLLATE \"C\" NOT NULL, agent text COLLATE \"C\" NOT NULL,"
    "  patient text COLLATE \"C\", action text NOT NULL, outcome text NOT NULL, body text NOT NULL,"
    "  prev_hash text NOT NULL, hash text NOT NULL);"
    "CREATE INDEX kith_audit_patient ON kith_audit(patient, seq) WHERE patient IS NOT NULL;"
    "CREATE INDEX kith_audit_agent ON kith_audit(agent, seq);"
    "CREATE FUNCTION kith_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    "  $$BEGIN RAISE EXCEPTION 'the audit log is append-only'; END$$;"
    "CREATE TRIGGER kith_audit_append_only_u BEFORE UPDATE ON kith_audit"
    "  FOR EACH ROW EXECUTE FUNCTION kith_audit_append_only();"
    "CREATE TRIGGER kith_audit_append_only_d BEFORE DELETE ON kith_audit"
    "  FOR EACH ROW EXECUTE FUNCTION kith_audit_append_only();"
    "CREATE TRIGGER kith_audit_no_truncate BEFORE TRUNCATE ON kith_audit"
    "  FOR EACH STATEMENT EXECUTE FUNCTION kith_audit_append_only();"
    /* kith_pid(type, param) = sg_param_id: the visibility condition asks for a row's own type's keys */
    "CREATE FUNCTION kith_pid(t text, p text) RETURNS bigint LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$"
    "DECLARE h numeric := 1469598103934665603;"
    "  b bytea := convert_to(t, 'UTF8') || '\\x1f'::bytea || convert_to(p, 'UTF8'); lo int;"
    "BEGIN"
    "  FOR i IN 0 .. length(b) - 1 LOOP"
    "    lo := (h % 256)::int;"
    "    h := ((h - lo + (lo # get_byte(b, i))) * 1099511628211) % 18446744073709551616;"
    "  END LOOP;"
    "  RETURN (h % 4611686018427387904)::bigint;"
    "END$$;"
    /* kith_fold: Latin letters without their accents (what SQLite's FTS5 remove_diacritics does for
     * text written in Latin scripts), then lower case, for _text and _content; translate first, as
     * lower() leaves non-ASCII letters alone in a database whose LC_CTYPE is C */
    "CREATE FUNCTION kith_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$"
    "SELECT lower(translate(t, 'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ', 'aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzoouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyy'))$$;"
    "CREATE TABLE kith_access_grant(account text COLLATE \"C\" NOT NULL, patient text COLLATE \"C\" NOT NULL,"
    "  expires bigint NOT NULL, reason text NOT NULL, created bigint NOT NULL, PRIMARY KEY(account, patient, created));",
    /* 2: kith_fold leaves ASCII text (a byte per character) to lower() alone: translate() against the
     * accent table cost a third of a bulk load's server time; the result is the same */
    "CREATE OR REPLACE FUNCTION kith_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$"
    "SELECT CASE WHEN octet_length(t) = length(t) THEN lower(t) ELSE lower(translate(t, 'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ', 'aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzoouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyy')) END$$;",
};
#define NMIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

kith_rc pg_rc_of(const PGresult *res) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if(!state) return KITH_ESTORE;
    /* 40001 serialization failure, 40P01 deadlock, 55P03 lock not available, 57014 statement timeout */
    if(!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03") || !strcmp(state, "57014"))
        return KITH_EBUSY;
    if(!strncmp(state, "23", 2)) return KITH_ECONFLICT; /* integrity constraint violations */
    if(!strcmp(state, "53200")) return KITH_ENOMEM;
    return KITH_ESTORE;
}

/* Check a result: NULL and *rc on failure (the result freed). */
static PGresult *checked(pg_conn *c, PGresult *res, kith_rc *rc) {
    ExecStatusType s = PQresultStatus(res);
    if(res && (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)) {
        *rc = KITH_OK;
        return res;
    }
    *rc = res ? pg_rc_of(res) : KITH_ESTORE;
    if(getenv("KITH_PG_DEBUG")) fprintf(stderr, "kith postgres: %s", PQerrorMessage(c->db));
    if(c->in_tx && !c->tx_err) c->tx_err = *rc;
    PQclear(res);
    return NULL;
}

static bool revive(pg_conn *c);

/* libpq learns that the server went away only when a statement fails: then,
 * outside a transaction, reconnect and say to run the statement once more. */
static bool lost_and_back(pg_conn *c, PGresult *res) {
    if(PQresultStatus(res) != PGRES_FATAL_ERROR || PQstatus(c->db) != CONNECTION_BAD || c->in_tx) return false;
    return revive(c);
}

/* ---- statements built at run time: prepared once per connection ---------- */

#define PG_CACHE_SIZE 64

struct pg_cached {
    char *sql;      /* NULL: a free slot */
    uint64_t used;  /* c->tick when last run */
    char name[24];  /* never reused on the connection, so a failed DEALLOCATE cannot collide */
};

static void cache_clear(pg_conn *c) {
    if(!c->cache) return;
    for(int i = 0; i < PG_CACHE_SIZE; i++) free(c->cache[i].sql);
    free(c->cache);
    c->cache = NULL;
}

/* The name of sql's prepared statement on c (in name), preparing it when new.
 * false with *res the server's refusal (caller PQclears). */
static bool cached_name(pg_conn *c, const char *sql, char name[24], PGresult **res) {
    *res = NULL;
    if(!c->cache) c->cache = xcalloc(PG_CACHE_SIZE, sizeof *c->cache);
    int victim = 0;
    for(int i = 0; i < PG_CACHE_SIZE; i++) {
        if(c->cache[i].sql && strcmp(c->cache[i].sql, sql) == 0) {
            c->cache[i].used = ++c->tick;
            memcpy(name, c->cache[i].name, 24);
            return true;
        }
        if(c->cache[i].used < c->cache[victim].used) victim = i;
    }
    struct pg_cached *e = &c->cache[victim];
    if(e->sql) {
        char sql_free[48];
        snprintf(sql_free, sizeof sql_free, "DEALLOCATE %s", e->name);
        PQclear(PQexec(c->db, sql_free));
        free(e->sql);
        e->sql = NULL;
        e->used = 0;
    }
    snprintf(name, 24, "q%llu", (unsigned long long)++c->tick);
    PGresult *p = PQprepare(c->db, name, sql, 0, NULL);
    if(PQresultStatus(p) != PGRES_COMMAND_OK) {
        *res = p;
        return false;
    }
    PQclear(p);
    e->sql = xstrdup(sql);
    e->used = c->tick;
    memcpy(e->name, name, 24);
    return true;
}

static PGresult *exec_cached(pg_conn *c, const char *sql, int n, const char *const *vals) {
    char name[24];
    PGresult *res;
    if(!cached_name(c, sql, name, &res)) return res;
    return PQexecPrepared(c->db, name, n, vals, NULL, NULL, 0);
}

PGresult *pg_exec(pg_conn *c, const char *sql, int n, const char *const *vals, kith_rc *rc) {
    if((*rc = pg_bulk_flush(c))) return NULL;
    if(!revive(c)) {
        *rc = KITH_ESTORE;
        return NULL;
    }
    PGresult *res = exec_cached(c, sql, n, vals);
    if(lost_and_back(c, res)) {
        PQclear(res);
        res = exec_cached(c, sql, n, vals);
    }
    return checked(c, res, rc);
}

static PGresult *run(pg_conn *c, int st, int n, const char *const *vals, kith_rc *rc) {
    char name[16];
    snprintf(name, sizeof name, "k%d", st);
    if((*rc = pg_bulk_flush(c))) return NULL;
    if(!revive(c)) {
        *rc = KITH_ESTORE;
        return NULL;
    }
    PGresult *res = PQexecPrepared(c->db, name, n, vals, NULL, NULL, 0);
    if(lost_and_back(c, res)) {
        PQclear(res);
        res = PQexecPrepared(c->db, name, n, vals, NULL, NULL, 0);
    }
    return checked(c, res, rc);
}

static kith_rc exec_simple(pg_conn *c, const char *sql) {
    kith_rc rc = pg_bulk_flush(c);
    if(rc) return rc;
    PQclear(checked(c, PQexec(c->db, sql), &rc));
    return rc;
}

char *pg_col(const PGresult *res, int row, int col) {
    if(PQgetisnull(res, row, col)) return NULL;
    return xstrndup(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

int64_t pg_i64(const PGresult *res, int row, int col) {
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* The patient column holds '' for rows in nobody's compartment. */
static const char *patient_key(const char *patient) {
    return patient ? patient : "";
}

/* ---- opening and migrating ---------------------------------------------- */

static void notice_quiet(void *arg, const char *msg) {
    (void)arg;
    (void)msg;
}

/* Connect to url with Kith's session settings. NULL on failure, with a message in err. */
/* Kith's session settings; false when the server refused them. */
static bool configure(PGconn *db) {
    PQsetNoticeProcessor(db, notice_quiet, NULL);
    /* a writer waits for the lock as long as SQLite's busy_timeout, then gets KITH_EBUSY */
    PGresult *res = PQexec(db, "SET client_encoding = 'UTF8'; SET lock_timeout = '10s'; "
                               "SET standard_conforming_strings = on; SET extra_float_digits = 3");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

/* Connect to url with Kith's session settings. NULL on failure, with a message in err. */
static PGconn *pg_connect_url(const char *url, char *err, size_t errlen) {
    PGconn *db = PQconnectdb(url);
    if(!db || PQstatus(db) != CONNECTION_OK) {
        if(err) snprintf(err, errlen, "cannot connect to PostgreSQL: %s", db ? PQerrorMessage(db) : "out of memory");
        PQfinish(db);
        return NULL;
    }
    if(!configure(db)) {
        if(err) snprintf(err, errlen, "cannot configure PostgreSQL session: %s", PQerrorMessage(db));
        PQfinish(db);
        return NULL;
    }
    return db;
}

/* Make sure the schema the URL's search_path names exists (a fresh store per schema). */
static bool ensure_schema(PGconn *db, char *err, size_t errlen) {
    PGresult *res = PQexec(db, "SELECT current_schema(), split_part(current_setting('search_path'), ',', 1)");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if(ok && PQgetisnull(res, 0, 0)) {
        char name[128];
        snprintf(name, sizeof name, "%s", PQgetvalue(res, 0, 1));
        char *p = name;
        while(*p == ' ') p++;
        size_t n = strlen(p);
        while(n && p[n - 1] == ' ') p[--n] = '\0';
        if(n >= 2 && p[0] == '"' && p[n - 1] == '"') { /* quoted: the name as written */
            p[n - 1] = '\0';
            p++;
        } else { /* unquoted: PostgreSQL folds it to lower case */
            for(char *q = p; *q; q++)
                if(*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
        }
        char *ident = PQescapeIdentifier(db, p, strlen(p));
        char sql[300];
        snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", ident ? ident : "\"\"");
        PQfreemem(ident);
        PGresult *r2 = PQexec(db, sql);
        ok = PQresultStatus(r2) == PGRES_COMMAND_OK;
        PQclear(r2);
    }
    if(!ok && err) snprintf(err, errlen, "cannot create the store's schema: %s", PQerrorMessage(db));
    PQclear(res);
    return ok;
}

static kith_rc pg_open(const char *url, const store_options *opt, void **state, int *schema, char *err,
                       size_t errlen) {
    (void)opt; /* durability and caching are the server's settings (synchronous_commit, shared_buffers) */
    PGconn *db = pg_connect_url(url, err, errlen);
    if(!db) return KITH_ESTORE;
    kith_rc rc = KITH_OK;
    PGresult *res = NULL;
    if(!ensure_schema(db, err, errlen)) {
        rc = KITH_ESTORE;
        goto done;
    }
    /* migrations run one process at a time, under the writer lock */
    char lock[128];
    snprintf(lock, sizeof lock, "BEGIN; SELECT pg_advisory_xact_lock(%d, hashtext(current_schema()))", LOCK_CLASS);
    res = PQexec(db, lock);
    if(PQresultStatus(res) != PGRES_TUPLES_OK) goto sqlfail;
    PQclear(res);
    res = PQexec(db, "SELECT to_regclass('kith_meta') IS NOT NULL");
    if(PQresultStatus(res) != PGRES_TUPLES_OK) goto sqlfail;
    int version = 0;
    if(PQgetvalue(res, 0, 0)[0] == 't') {
        PQclear(res);
        res = PQexec(db, "SELECT value FROM kith_meta WHERE key = 'schema_version'");
        if(PQresultStatus(res) != PGRES_TUPLES_OK) goto sqlfail;
        if(PQntuples(res)) version = atoi(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    res = NULL;
    if(version > NMIGRATIONS) {
        if(err)
            snprintf(err, errlen, "database has schema version %d, newer than this kith (%d)", version, NMIGRATIONS);
        rc = KITH_EUNSUPPORTED;
        PQclear(PQexec(db, "ROLLBACK"));
        goto done;
    }
    for(int v = version; v < NMIGRATIONS; v++) {
        res = PQexec(db, MIGRATIONS[v]);
        if(PQresultStatus(res) != PGRES_COMMAND_OK) goto sqlfail;
        PQclear(res);
        char sql[160];
        snprintf(sql, sizeof sql,
                 "INSERT INTO kith_meta(key, value) VALUES('schema_version', '%d') "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 v + 1);
        res = PQexec(db, sql);
        if(PQresultStatus(res) != PGRES_COMMAND_OK) goto sqlfail;
        PQclear(res);
    }
    res = PQexec(db, "COMMIT");
    if(PQresultStatus(res) != PGRES_COMMAND_OK) goto sqlfail;
    pg_state *s = xcalloc(1, sizeof *s);
    s->url = xstrdup(url);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(s->nonce, sizeof s->nonce, "%d-%lld-%ld-%p", (int)getpid(), (long long)now.tv_sec, now.tv_nsec, (void *)s);
    pthread_mutex_init(&s->watch_mu, NULL);
    *state = s;
    *schema = NMIGRATIONS;
    goto done;
sqlfail:
    if(err) snprintf(err, errlen, "cannot prepare the database: %s", PQerrorMessage(db));
    PQclear(res);
    res = PQexec(db, "ROLLBACK");
    rc = KITH_ESTORE;
done:
    PQclear(res);
    PQfinish(db);
    return rc;
}

static kith_rc pg_watch(void *state, store_change_fn fn, void *ctx);

static void pg_close(void *state) {
    pg_state *s = state;
    if(!s) return;
    pg_watch(s, NULL, NULL);
    pthread_mutex_destroy(&s->watch_mu);
    free(s->url);
    free(s);
}

/* ---- other processes' writes (LISTEN/NOTIFY) ---------------------------------- */

static bool listen_on(PGconn *db) {
    PGresult *res = PQexec(db, "SELECT hashtext(current_schema())"); /* the channel as session_setup names it */
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if(ok) {
        char sql[64];
        snprintf(sql, sizeof sql, "LISTEN kith_changes_%u", (unsigned)atoi(PQgetvalue(res, 0, 0)));
        PGresult *r2 = PQexec(db, sql);
        ok = PQresultStatus(r2) == PGRES_COMMAND_OK;
        PQclear(r2);
    }
    PQclear(res);
    return ok;
}

static void *watch_main(void *arg) {
    pg_state *s = arg;
    PGconn *db = NULL;
    size_t own = strlen(s->nonce);
    while(!atomic_load(&s->stop)) {
        if(!db || PQstatus(db) != CONNECTION_OK) { /* (re)connect and LISTEN; a second between tries */
            PQfinish(db);
            db = pg_connect_url(s->url, NULL, 0);
            if(!db || !listen_on(db)) {
                PQfinish(db);
                db = NULL;
                for(int i = 0; i < 10 && !atomic_load(&s->stop); i++) usleep(100000);
                continue;
            }
        }
        struct pollfd pfd = {.fd = PQsocket(db), .events = POLLIN};
        if(poll(&pfd, 1, 200) <= 0) continue;
        if(!PQconsumeInput(db)) continue; /* the connection went: reconnect above */
        PGnotify *n;
        while((n = PQnotifies(db))) {
            const char *p = n->extra, *sp = strchr(p, ' '), *slash = sp ? strchr(sp + 1, '/') : NULL;
            bool mine = sp && (size_t)(sp - p) == own && memcmp(p, s->nonce, own) == 0;
            if(!mine && slash && (size_t)(slash - sp - 1) < 64) {
                char type[64];
                memcpy(type, sp + 1, (size_t)(slash - sp - 1));
                type[slash - sp - 1] = '\0';
                pthread_mutex_lock(&s->watch_mu);
                if(s->fn) s->fn(s->ctx, type, slash + 1);
                pthread_mutex_unlock(&s->watch_mu);
            }
            PQfreemem(n);
        }
    }
    PQfinish(db);
    return NULL;
}

static kith_rc pg_watch(void *state, store_change_fn fn, void *ctx) {
    pg_state *s = state;
    if(!fn) {
        if(s->watching) {
            atomic_store(&s->stop, true);
            pthread_join(s->watcher, NULL);
            s->watching = false;
        }
        pthread_mutex_lock(&s->watch_mu);
        s->fn = NULL;
        s->ctx = NULL;
        pthread_mutex_unlock(&s->watch_mu);
        return KITH_OK;
    }
    pthread_mutex_lock(&s->watch_mu);
    s->fn = fn;
    s->ctx = ctx;
    pthread_mutex_unlock(&s->watch_mu);
    if(s->watching) return KITH_OK;
    atomic_store(&s->stop, false);
    if(pthread_create(&s->watcher, NULL, watch_main, s) != 0) return KITH_ESTORE;
    s->watching = true;
    return KITH_OK;
}

/* What each connection needs: the writer lock's key, the viewer table, the prepared statements. */
static bool session_setup(pg_conn *c) {
    PGresult *res = PQexec(c->db, "SELECT hashtext(current_schema())");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if(ok) {
        c->lock_key = atoi(PQgetvalue(res, 0, 0));
        snprintf(c->channel, sizeof c->channel, "kith_changes_%u", (unsigned)c->lock_key);
    }
    PQclear(res);
    if(!ok) return false;
    res = PQexec(c->db, "CREATE TEMP TABLE IF NOT EXISTS kith_viewer(k text COLLATE \"C\", v text COLLATE \"C\", "
                        "PRIMARY KEY(k, v))");
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    c->viewer_key[0] = '\0'; /* the table is empty */
    c->load_tables = false;   /* a new session has no temporary tables */
    cache_clear(c);           /* and no statement is prepared */
    for(int i = 0; i < ST_MAX && ok; i++) {
        char name[16];
        snprintf(name, sizeof name, "k%d", i);
        bool index_row = i >= ST_INS_STRING && i <= ST_INS_TEXT;
        res = PQprepare(c->db, name, SQL[i], index_row ? 8 : 0, index_row ? INDEX_TYPES : NULL);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if(!ok && getenv("KITH_PG_DEBUG")) fprintf(stderr, "kith postgres: %s: %s", SQL[i], PQerrorMessage(c->db));
        PQclear(res);
    }
    return ok;
}

/*
 * After the server went away (a restart, a failover, an idle timeout), the
 * next call reconnects. Not inside a transaction (its work went with the
 * connection: the caller must hear of it) and not while a viewer is set (its
 * values went with the session; the next store_set_viewer brings them back):
 * those calls fail with KITH_ESTORE.
 */
static bool revive(pg_conn *c) {
    if(PQstatus(c->db) == CONNECTION_OK) return true;
    if(c->in_tx || c->viewer) return false;
    PQreset(c->db);
    return PQstatus(c->db) == CONNECTION_OK && configure(c->db) && session_setup(c);
}

static kith_rc pg_connect(void *state, store_conn **out) {
    pg_state *s = state;
    pg_conn *c = xcalloc(1, sizeof *c);
    c->db = pg_connect_url(s->url, NULL, 0);
    c->nonce = s->nonce;
    c->consents_seen = &s->consents_seen;
    if(!c->db || !session_setup(c)) {
        PQfinish(c->db);
        free(c);
        return KITH_ESTORE;
    }
    *out = (store_conn *)c;
    return KITH_OK;
}

static void pg_disconnect(store_conn *sc) {
    pg_conn *c = (pg_conn *)sc;
    if(!c) return;
    cache_clear(c);
    pg_bulk_end(c);
    PQfinish(c->db);
    free(c);
}

/* ---- transactions --------------------------------------------------------- */

/*
 * One writer at a time, like SQLite's BEGIN IMMEDIATE: the transaction takes
 * an advisory lock held to its end. Not SERIALIZABLE with retry: a retry
 * would have to rerun the caller's whole job (reads, policy checks, audit
 * chain), which the store cannot do on its own, while the lock queues
 * writers and keeps every commit's outcome final. Readers are never blocked.
 * READ COMMITTED is enough: once the lock is held, every later statement
 * sees all that earlier writers committed.
 */
static kith_rc pg_begin(store_conn *sc) {
    pg_conn *c = (pg_conn *)sc;
    char sql[128];
    snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%d, %d)", LOCK_CLASS, c->lock_key);
    c->tx_err = KITH_OK;
    if(!revive(c)) return KITH_ESTORE;
    PGresult *res = PQexec(c->db, sql);
    if(lost_and_back(c, res)) {
        PQclear(res);
        res = PQexec(c->db, sql);
    }
    if(PQresultStatus(res) != PGRES_TUPLES_OK) {
        kith_rc rc = pg_rc_of(res);
        PQclear(res);
        PQclear(PQexec(c->db, "ROLLBACK"));
        return rc;
    }
    PQclear(res);
    c->in_tx = true;
    return KITH_OK;
}

static kith_rc pg_commit(store_conn *sc) {
    pg_conn *c = (pg_conn *)sc;
    kith_rc rc = KITH_OK;
    pg_bulk_flush(c); /* a failure shows as the transaction's (tx_err) */
    pg_bulk_end(c);
    if(PQtransactionStatus(c->db) == PQTRANS_INERROR) {
        /* a statement failed: PostgreSQL would turn COMMIT into ROLLBACK */
        rc = c->tx_err ? c->tx_err : KITH_ESTORE;
        PQclear(PQexec(c->db, "ROLLBACK"));
    } else if(PQtransactionStatus(c->db) != PQTRANS_IDLE) {
        rc = exec_simple(c, "COMMIT");
        if(rc) PQclear(PQexec(c->db, "ROLLBACK"));
    }
    c->in_tx = false;
    c->tx_err = KITH_OK;
    if(rc) c->load_tables = false; /* rolled back with the transaction, if created in it */
    return rc;
}

static kith_rc pg_rollback(store_conn *sc) {
    pg_conn *c = (pg_conn *)sc;
    kith_rc rc = KITH_OK;
    pg_bulk_end(c);          /* what was held back is forgotten */
    c->load_tables = false;  /* created in this transaction, perhaps */
    c->in_tx = false;
    c->tx_err = KITH_OK;
    if(PQtransactionStatus(c->db) != PQTRANS_IDLE) rc = exec_simple(c, "ROLLBACK");
    return rc;
}

static kith_rc pg_savepoint(store_conn *sc) {
    return exec_simple((pg_conn *)sc, "SAVEPOINT kith_job");
}

static kith_rc pg_release(store_conn *sc) {
    return exec_simple((pg_conn *)sc, "RELEASE SAVEPOINT kith_job");
}

static kith_rc pg_rollback_to(store_conn *sc) {
    pg_conn *c = (pg_conn *)sc;
    kith_rc rc = exec_simple(c, "ROLLBACK TO SAVEPOINT kith_job; RELEASE SAVEPOINT kith_job");
    pg_bulk_end(c); /* its versions may be the ones undone */
    if(!rc) c->tx_err = KITH_OK; /* the failure is undone with the job */
    return rc;
}

kith_rc pg_write_begin(pg_conn *c, bool *implicit) {
    *implicit = !c->in_tx;
    return *implicit ? pg_begin((store_conn *)c) : KITH_OK;
}

kith_rc pg_write_end(pg_conn *c, bool implicit, kith_rc rc) {
    if(!implicit) return rc;
    if(rc) {
        pg_rollback((store_conn *)c);
        return rc;
    }
    return pg_commit((store_conn *)c);
}

/* ---- resources ------------------------------------------------------------ */

/* Fill out from columns first.. (vid, ts, deleted, method, body, seq). */
static void fill_row(const PGresult *res, int row, int first, store_resource *out) {
    out->version = pg_i64(res, row, first);
    out->last_updated = pg_col(res, row, first + 1);
    out->deleted = pg_i64(res, row, first + 2) != 0;
    out->method = pg_col(res, row, first + 3);
    out->body = pg_col(res, row, first + 4);
    out->body_len = out->body ? (size_t)PQgetlength(res, row, first + 4) : 0;
    out->seq = pg_i64(res, row, first + 5);
}

/* Hand each row (rtype, rid, then fill_row's columns; without rtype when
 * type is given) to fn; returns true when fn asked to stop. */
static bool emit_rows(const PGresult *res, const char *type, store_history_fn fn, void *ctx) {
    int first = type ? 0 : 1;
    for(int i = 0; i < PQntuples(res); i++) {
        store_resource r = {0};
        r.type = type ? xstrdup(type) : pg_col(res, i, 0);
        r.id = pg_col(res, i, first);
        fill_row(res, i, first + 1, &r);
        int stop = fn(ctx, &r);
        store_resource_free(&r);
        if(stop) return true;
    }
    return false;
}

static kith_rc pg_read(store_conn *sc, const char *type, const char *id, int64_t version, store_resource *out) {
    pg_conn *c = (pg_conn *)sc;
    char vbuf[24];
    snprintf(vbuf, sizeof vbuf, "%lld", (long long)version);
    const char *p[3] = {type, id, vbuf};
    kith_rc rc;
    memset(out, 0, sizeof *out);
    if(!version && pg_bulk_read(c, type, id, out, &rc)) return rc;
    PGresult *res;
    if(c->viewer) { /* the row and whether the viewer may see it, in one round trip */
        buf sql = BUF_INIT;
        buf_puts(&sql, "SELECT v.vid, v.ts, v.deleted, v.method, v.body, v.seq, v.patient, ");
        pg_visible_column(sc, &sql, "nullif(v.patient, '')", "$1::text", "$2::text");
        buf_puts(&sql, version ? " FROM resource_version v WHERE v.rtype = $1 AND v.rid = $2 AND v.vid = $3::int8"
                               : " FROM resource r JOIN resource_version v ON v.seq = r.seq "
                                 "WHERE r.rtype = $1 AND r.rid = $2");
        res = pg_exec(c, buf_str(&sql), version ? 3 : 2, p, &rc);
        buf_free(&sql);
    } else {
        res = run(c, version ? ST_READ_VER : ST_READ_CUR, version ? 3 : 2, p, &rc);
    }
    if(!res) return rc;
    if(PQntuples(res) == 0) {
        PQclear(res);
        return KITH_ENOTFOUND;
    }
    out->type = xstrdup(type);
    out->id = xstrdup(id);
    fill_row(res, 0, 0, out);
    out->patient = pg_col(res, 0, 6);
    if(out->patient && !*out->patient) {
        free(out->patient);
        out->patient = NULL;
    }
    bool sees = !c->viewer || pg_viewer_row_sees(sc, out->patient, PQgetvalue(res, 0, 7)[0] == 't');
    PQclear(res);
    if(out->deleted) rc = KITH_EGONE;
    if(!sees) {
        store_resource_free(out);
        out->hidden = true;
        rc = KITH_ENOTFOUND;
    }
    return rc;
}

void pg_array_text(buf *arr, const char *v, bool null_is_null) {
    buf_putc(arr, arr->len ? ',' : '{');
    if(!v && null_is_null) {
        buf_puts(arr, "NULL");
        return;
    }
    buf_putc(arr, '"');
    for(const char *p = v ? v : ""; *p; p++) {
        if(*p == '"' || *p == '\\') buf_putc(arr, '\\');
        buf_putc(arr, *p);
    }
    buf_putc(arr, '"');
}

static void array_int(buf *arr, long long v) {
    buf_putc(arr, arr->len ? ',' : '{');
    buf_printf(arr, "%lld", v);
}

static void array_real(buf *arr, double v) {
    buf_putc(arr, arr->len ? ',' : '{');
    buf_printf(arr, "%.17g", v);
}

/* Replace the index rows of the resource with key rkey by rows (clear: remove
 * the old ones first): one statement per kind of row, all in one pipelined
 * round trip. */
static kith_rc index_put(pg_conn *c, const char *type, const char *rkey, const char *patient, bool clear,
                         const store_index_row *rows, size_t nrows) {
    if(!clear && nrows == 0) return KITH_OK;
    if(!revive(c) || PQenterPipelineMode(c->db) != 1) return KITH_ESTORE;
    kith_rc rc = KITH_OK;
    size_t sent = 0;
    bool ok = true;
    char name[16];
    if(clear) {
        const char *p[1] = {rkey};
        snprintf(name, sizeof name, "k%d", ST_DEL_INDEX);
        ok = PQsendQueryPrepared(c->db, name, 1, p, NULL, NULL, 0) == 1;
        sent += ok;
    }
    buf arr[6] = {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT}; /* pid, a, b, c, lo, hi */
    for(int kind = 0; kind < STORE_IX_KINDS && ok; kind++) {
        const char *last_param = NULL;
        long long pid = 0;
        for(int k = 0; k < 6; k++) buf_reset(&arr[k]);
        for(size_t i = 0; i < nrows; i++) {
            const store_index_row *x = &rows[i];
            if((int)x->kind != kind) continue;
            if(!last_param || strcmp(last_param, x->param) != 0) {
                pid = (long long)sg_param_id(type, x->param);
                last_param = x->param;
            }
            array_int(&arr[0], pid);
            pg_array_text(&arr[1], x->a, false);
            pg_array_text(&arr[2], x->b, false);
            pg_array_text(&arr[3], x->c, false);
            array_real(&arr[4], x->lo);
            array_real(&arr[5], x->hi);
        }
        if(!arr[0].len) continue;
        for(int k = 0; k < 6; k++) buf_putc(&arr[k], '}');
        snprintf(name, sizeof name, "k%d", ST_INS_STRING + kind);
        const char *p[8] = {rkey,          buf_str(&arr[0]), buf_str(&arr[1]), buf_str(&arr[2]),
                            buf_str(&arr[3]), buf_str(&arr[4]), buf_str(&arr[5]), patient};
        ok = PQsendQueryPrepared(c->db, name, 8, p, NULL, NULL, 0) == 1;
        sent += ok;
    }
    for(int k = 0; k < 6; k++) buf_free(&arr[k]);
    if(PQpipelineSync(c->db) != 1) ok = false;
    /* each query's results end with a NULL; the sync ends the pipeline */
    size_t nulls = 0;
    for(;;) {
        PGresult *res = PQgetResult(c->db);
        if(!res) {
            if(++nulls > sent + 1 || PQstatus(c->db) != CONNECTION_OK) break;
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        if(st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        if(st == PGRES_FATAL_ERROR && !rc) {
            rc = pg_rc_of(res);
            if(getenv("KITH_PG_DEBUG")) fprintf(stderr, "kith postgres: %s", PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    PQexitPipelineMode(c->db);
    if(!ok && !rc) rc = KITH_ESTORE;
    if(rc && c->in_tx && !c->tx_err) c->tx_err = rc;
    return rc;
}

static kith_rc pg_write(store_conn *sc, const store_put *p) {
    pg_conn *c = (pg_conn *)sc;
    bool implicit;
    kith_rc rc;
    if(pg_bulk_write(c, p, &rc)) return rc;
    rc = pg_write_begin(c, &implicit);
    if(rc) return rc;
    char ver[24];
    snprintf(ver, sizeof ver, "%lld", (long long)p->version);
    const char *patient = patient_key(p->patient);
    char *body = p->body ? xstrndup(p->body, p->body_len) : NULL;
    const char *v[8] = {p->type, p->id, ver, p->last_updated, p->method, p->body ? "0" : "1", patient, body};
    PGresult *res = run(c, ST_PUT, 8, v, &rc);
    free(body);
    if(res) {
        char *rkey = PQntuples(res) == 1 ? pg_col(res, 0, 0) : NULL;
        PQclear(res);
        if(!rkey)
            rc = KITH_ESTORE;
        else
            rc = index_put(c, p->type, rkey, patient, p->version > 1, p->rows, p->nrows);
        free(rkey);
    }
    if(!rc) { /* other processes hear of it when the transaction commits (pg_watch) */
        char payload[200];
        snprintf(payload, sizeof payload, "%s %s/%s", c->nonce, p->type, p->id);
        const char *nv[2] = {c->channel, payload};
        PQclear(pg_exec(c, "SELECT pg_notify($1, $2)", 2, nv, &rc));
    }
    return pg_write_end(c, implicit, rc);
}

static kith_rc pg_replace_index(store_conn *sc, const char *type, const char *id, const char *patient,
                                const store_index_row *rows, size_t nrows) {
    pg_conn *c = (pg_conn *)sc;
    bool implicit;
    kith_rc rc = pg_write_begin(c, &implicit);
    if(rc) return rc;
    const char *k[2] = {type, id};
    PGresult *res = run(c, ST_RKEY, 2, k, &rc);
    char *rkey = NULL;
    if(res) {
        rkey = PQntuples(res) ? pg_col(res, 0, 0) : NULL;
        if(!rkey) rc = KITH_ENOTFOUND;
        PQclear(res);
    }
    if(!rc) rc = index_put(c, type, rkey, patient_key(patient), true, rows, nrows);
    if(!rc) {
        /* the Patient compartment is derived too: keep the resource row in step */
        const char *u[2] = {patient_key(patient), rkey};
        PQclear(run(c, ST_SET_PATIENT, 2, u, &rc));
    }
    free(rkey);
    return pg_write_end(c, implicit, rc);
}

static kith_rc pg_meta_get(store_conn *sc, const char *key, char **value) {
    pg_conn *c = (pg_conn *)sc;
    kith_rc rc;
    *value = NULL;
    const char *p[1] = {key};
    PGresult *res = run(c, ST_META_GET, 1, p, &rc);
    if(!res) return rc;
    if(PQntuples(res)) *value = pg_col(res, 0, 0);
    PQclear(res);
    return KITH_OK;
}

static kith_rc pg_meta_set(store_conn *sc, const char *key, const char *value) {
    pg_conn *c = (pg_conn *)sc;
    const char *p[2] = {key, value};
    kith_rc rc;
    PQclear(run(c, ST_META_SET, 2, p, &rc));
    return rc;
}

static kith_rc pg_find_token(store_conn *sc, const char *type, const char *param, const char *system, const char *code,
                             size_t max, char ***ids, size_t *n) {
    pg_conn *c = (pg_conn *)sc;
    char pid[24], lim[24];
    snprintf(pid, sizeof pid, "%lld", (long long)sg_param_id(type, param));
    snprintf(lim, sizeof lim, "%zu", max);
    const char *with_sys[4] = {pid, code, system, lim};
    const char *any[3] = {pid, code, lim};
    kith_rc rc;
    PGresult *res = system ? run(c, ST_FIND_TOK_SYS, 4, with_sys, &rc) : run(c, ST_FIND_TOK_ANY, 3, any, &rc);
    if(!res) return rc;
    size_t cnt = (size_t)PQntuples(res);
    char **v = xcalloc(cnt ? cnt : 1, sizeof *v);
    for(size_t i = 0; i < cnt; i++) v[i] = pg_col(res, (int)i, 0);
    PQclear(res);
    *ids = v;
    *n = cnt;
    return KITH_OK;
}

/* ---- history, lists, counts ------------------------------------------------ */

static kith_rc pg_history(store_conn *sc, const store_history_query *q, store_history_fn fn, void *ctx,
                          int64_t *total) {
    pg_conn *c = (pg_conn *)sc;
    buf where = BUF_INIT, sql = BUF_INIT;
    const char *p[5];
    int n = 0;
    char before[24], count[24];
    buf_puts(&where, "true");
    if(q->type) {
        p[n++] = q->type;
        buf_printf(&where, " AND rtype = $%d", n);
    }
    if(q->id) {
        p[n++] = q->id;
        buf_printf(&where, " AND rid = $%d", n);
    }
    if(q->since) {
        p[n++] = q->since;
        buf_printf(&where, " AND ts >= $%d", n);
    }
    pg_visible_cond(sc, &where, "resource_version.patient", "resource_version.rtype", "resource_version.rid", NULL);
    kith_rc rc;
    buf_printf(&sql, "SELECT count(*) FROM resource_version WHERE %s", buf_str(&where));
    PGresult *res = pg_exec(c, buf_str(&sql), n, p, &rc);
    if(!res) goto done;
    *total = pg_i64(res, 0, 0);
    PQclear(res);
    buf_reset(&sql);
    if(q->before_seq) {
        snprintf(before, sizeof before, "%lld", (long long)q->before_seq);
        p[n++] = before;
        buf_printf(&where, " AND seq < $%d", n);
    }
    snprintf(count, sizeof count, "%zu", q->count);
    p[n++] = count;
    buf_printf(&sql,
               "SELECT rtype, rid, vid, ts, deleted, method, body, seq FROM resource_version WHERE %s "
               "ORDER BY seq DESC LIMIT $%d",
               buf_str(&where), n);
    res = pg_exec(c, buf_str(&sql), n, p, &rc);
    if(!res) goto done;
    emit_rows(res, NULL, fn, ctx);
    PQclear(res);
done:
    buf_free(&where);
    buf_free(&sql);
    return rc;
}

static kith_rc pg_list(store_conn *sc, const char *type, const char *after_id, size_t count, store_history_fn fn,
                       void *ctx) {
    pg_conn *c = (pg_conn *)sc;
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", count);
    const char *p[3] = {type, after_id ? after_id : "", lim};
    kith_rc rc;
    PGresult *res = run(c, ST_LIST, 3, p, &rc);
    if(!res) return rc;
    emit_rows(res, type, fn, ctx);
    PQclear(res);
    return KITH_OK;
}

static kith_rc pg_count(store_conn *sc, const char *type, int64_t *n) {
    pg_conn *c = (pg_conn *)sc;
    const char *p[1] = {type};
    kith_rc rc;
    PGresult *res = type ? run(c, ST_COUNT_TYPE, 1, p, &rc) : run(c, ST_COUNT_ALL, 0, NULL, &rc);
    if(!res) return rc;
    *n = pg_i64(res, 0, 0);
    PQclear(res);
    return KITH_OK;
}

/* There is no integrity_check in PostgreSQL: check what the store relies on,
 * that every current row points at its own version. */
static kith_rc pg_check(store_conn *sc, char *msg, size_t msglen) {
    pg_conn *c = (pg_conn *)sc;
    kith_rc rc;
    PGresult *res = pg_exec(c,
                            "SELECT count(*) FROM resource r LEFT JOIN resource_version v ON v.seq = r.seq "
                            "WHERE v.seq IS NULL OR v.rtype <> r.rtype OR v.rid <> r.rid OR v.vid <> r.vid",
                            0, NULL, &rc);
    if(!res) {
        if(msg) snprintf(msg, msglen, "%s", PQerrorMessage(c->db));
        return rc;
    }
    int64_t bad = pg_i64(res, 0, 0);
    PQclear(res);
    if(bad) {
        if(msg) snprintf(msg, msglen, "%lld current rows without their version", (long long)bad);
        return KITH_ESTORE;
    }
    if(msg) snprintf(msg, msglen, "ok");
    return KITH_OK;
}

/* ---- scans ------------------------------------------------------------------ */

#define SCAN_CHUNK 500 /* rows fetched per round trip: memory stays bounded */

/* The WHERE clause of a scan with its parameters (p: at least STORE_SCAN_MAX_TYPES + 5). */
static int scan_where(store_conn *sc, const store_scan_query *q, bool with_cursor, const char *after_type,
                      const char *after_id, buf *w, const char **p) {
    int n = 0;
    buf_puts(w, "r.deleted = 0");
    if(q->ntypes) {
        buf_puts(w, " AND r.rtype IN (");
        for(size_t i = 0; i < q->ntypes; i++) {
            p[n++] = q->types[i];
            buf_printf(w, "%s$%d", i ? "," : "", n);
        }
        buf_puts(w, ")");
    }
    if(q->since) {
        p[n++] = q->since;
        buf_printf(w, " AND v.ts >= $%d", n);
    }
    if(q->patient) {
        p[n++] = q->patient;
        buf_printf(w, " AND r.patient = $%d", n);
    }
    if(q->in_compartment) buf_puts(w, " AND r.patient <> ''");
    if(with_cursor && after_type) {
        p[n++] = after_type;
        p[n++] = after_id ? after_id : "";
        buf_printf(w, " AND (r.rtype, r.rid) > ($%d, $%d)", n - 1, n);
    }
    pg_visible_cond(sc, w, "r.patient", "r.rtype", "r.rid", "r.rkey");
    return n;
}

static kith_rc pg_scan(store_conn *sc, const store_scan_query *q, store_history_fn fn, void *ctx) {
    pg_conn *c = (pg_conn *)sc;
    if(q->ntypes > STORE_SCAN_MAX_TYPES) return KITH_EINVAL;
    const char **p = xcalloc(STORE_SCAN_MAX_TYPES + 8, sizeof *p);
    char *after_type = q->after_type ? xstrdup(q->after_type) : NULL;
    char *after_id = q->after_id ? xstrdup(q->after_id) : NULL;
    size_t left = q->limit;
    kith_rc rc = KITH_OK;
    buf w = BUF_INIT, sql = BUF_INIT;
    /* keyset pages of SCAN_CHUNK rows: fn may use the connection between them */
    for(;;) {
        buf_reset(&w);
        buf_reset(&sql);
        int n = scan_where(sc, q, true, after_type, after_id, &w, p);
        size_t want = q->limit && left < SCAN_CHUNK ? left : SCAN_CHUNK;
        buf_printf(&sql,
                   "SELECT r.rtype, r.rid, v.vid, v.ts, v.deleted, v.method, v.body, v.seq FROM resource r "
                   "JOIN resource_version v ON v.seq = r.seq WHERE %s ORDER BY r.rtype, r.rid LIMIT %zu",
                   buf_str(&w), want);
        PGresult *res = pg_exec(c, buf_str(&sql), n, p, &rc);
        if(!res) break;
        int rows = PQntuples(res);
        bool stop = emit_rows(res, NULL, fn, ctx);
        if(rows > 0) {
            free(after_type);
            free(after_id);
            after_type = pg_col(res, rows - 1, 0);
            after_id = pg_col(res, rows - 1, 1);
        }
        PQclear(res);
        if(q->limit) left -= (size_t)rows;
        if(stop || (size_t)rows < want || (q->limit && left == 0)) break;
    }
    buf_free(&w);
    buf_free(&sql);
    free(after_type);
    free(after_id);
    free(p);
    return rc;
}

static kith_rc pg_scan_count(store_conn *sc, const store_scan_query *q, int64_t *n) {
    pg_conn *c = (pg_conn *)sc;
    if(q->ntypes > STORE_SCAN_MAX_TYPES) return KITH_EINVAL;
    const char **p = xcalloc(STORE_SCAN_MAX_TYPES + 8, sizeof *p);
    buf w = BUF_INIT, sql = BUF_INIT;
    int np = scan_where(sc, q, false, NULL, NULL, &w, p);
    buf_printf(&sql, "SELECT count(*) FROM resource r %sWHERE %s",
               q->since ? "JOIN resource_version v ON v.seq = r.seq " : "", buf_str(&w));
    kith_rc rc;
    PGresult *res = pg_exec(c, buf_str(&sql), np, p, &rc);
    if(res) {
        *n = pg_i64(res, 0, 0);
        PQclear(res);
    }
    buf_free(&w);
    buf_free(&sql);
    free(p);
    return rc;
}

/* Drop the schema the URL's search_path names, with everything in it (tests). */
kith_rc store_postgres_destroy(const char *url, char *err, size_t errlen) {
    PGconn *db = pg_connect_url(url, err, errlen);
    if(!db) return KITH_ESTORE;
    kith_rc rc = KITH_OK;
    PGresult *res = PQexec(db, "SELECT current_schema()");
    if(PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        rc = KITH_ENOTFOUND;
    } else if(strcmp(PQgetvalue(res, 0, 0), "public") == 0) {
        if(err) snprintf(err, errlen, "refusing to drop the public schema");
        rc = KITH_EINVAL;
    } else {
        char *ident = PQescapeIdentifier(db, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
        char sql[300];
        snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", ident ? ident : "\"\"");
        PQfreemem(ident);
        PGresult *r2 = PQexec(db, sql);
        if(PQresultStatus(r2) != PGRES_COMMAND_OK) {
            if(err) snprintf(err, errlen, "%s", PQerrorMessage(db));
            rc = KITH_ESTORE;
        }
        PQclear(r2);
    }
    PQclear(res);
    PQfinish(db);
    return rc;
}

const store_backend store_postgres_backend = {
    .name = "postgresql",
    .open = pg_open,
    .watch = pg_watch,
    .close = pg_close,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .savepoint = pg_savepoint,
    .release = pg_release,
    .rollback_to = pg_rollback_to,
    .read = pg_read,
    .write = pg_write,
    .bulk_load = pg_bulk_load,
    .find_token = pg_find_token,
    .history = pg_history,
    .list = pg_list,
    .count = pg_count,
    .replace_index = pg_replace_index,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .search = pg_search,
    .references_from = pg_references_from,
    .references_to = pg_references_to,
    .check = pg_check,
    .scan = pg_scan,
    .scan_count = pg_scan_count,
    .account_put = pg_account_put,
    .account_get = pg_account_get,
    .account_list = pg_account_list,
    .token_put = pg_token_put,
    .token_get = pg_token_get,
    .token_delete = pg_token_delete,
    .audit_append = pg_audit_append,
    .audit_last = pg_audit_last,
    .audit_scan = pg_audit_scan,
    .set_viewer = pg_set_viewer,
    .viewer_suspend = pg_viewer_suspend,
    .viewer_sees = pg_viewer_sees,
    .grant_add = pg_grant_add,
};
