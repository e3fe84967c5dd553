/*
 * sqlite_accounts.c — accounts, bearer tokens and the audit log in SQLite
 * (schema version 4; tables kith_account, kith_token, kith_audit).
 *
 * The audit table refuses UPDATE and DELETE by trigger, so the log cannot be
 * changed by mistake through SQL; a deliberate change (dropping the
 * triggers) breaks the hash chain that src/audit checks. Statements are
 * prepared per call except the two used on every request (token lookup and
 * audit insert), which each connection caches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/sqlite_int.h"

static char *col(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

static kith_rc err_of(int r) {
    if(r == SQLITE_BUSY || r == SQLITE_LOCKED) return KITH_EBUSY;
    if(r == SQLITE_CONSTRAINT) return KITH_ECONFLICT;
    if(r == SQLITE_NOMEM) return KITH_ENOMEM;
    return KITH_ESTORE;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s) {
    if(s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

kith_rc sq_account_put(store_conn *c, const store_account *a) {
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(sq_conn_db(c),
                          "INSERT OR REPLACE INTO kith_account(kind, name, role, org, practitioner, secret, scopes, "
                          "public_key, disabled, failures, locked_until, created) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                          -1, &st, NULL) != SQLITE_OK)
        return KITH_ESTORE;
    bind_text_or_null(st, 1, a->kind);
    bind_text_or_null(st, 2, a->name);
    bind_text_or_null(st, 3, a->role);
    bind_text_or_null(st, 4, a->org);
    bind_text_or_null(st, 5, a->practitioner);
    bind_text_or_null(st, 6, a->secret);
    bind_text_or_null(st, 7, a->scopes);
    bind_text_or_null(st, 8, a->public_key);
    sqlite3_bind_int(st, 9, a->disabled ? 1 : 0);
    sqlite3_bind_int64(st, 10, a->failures);
    sqlite3_bind_int64(st, 11, a->locked_until);
    sqlite3_bind_int64(st, 12, a->created);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? KITH_OK : err_of(r);
}

#define ACCOUNT_COLUMNS \
    "kind, name, role, org, practitioner, secret, scopes, public_key, disabled, failures, locked_until, created"

static void account_row(sqlite3_stmt *st, store_account *a) {
    a->kind = col(st, 0);
    a->name = col(st, 1);
    a->role = col(st, 2);
    a->org = col(st, 3);
    a->practitioner = col(st, 4);
    a->secret = col(st, 5);
    a->scopes = col(st, 6);
    a->public_key = col(st, 7);
    a->disabled = sqlite3_column_int(st, 8) != 0;
    a->failures = sqlite3_column_int64(st, 9);
    a->locked_until = sqlite3_column_int64(st, 10);
    a->created = sqlite3_column_int64(st, 11);
}

kith_rc sq_account_get(store_conn *c, const char *kind, const char *name, store_account *out) {
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(sq_conn_db(c), "SELECT " ACCOUNT_COLUMNS " FROM kith_account WHERE kind = ?1 AND name = ?2",
                          -1, &st, NULL) != SQLITE_OK)
        return KITH_ESTORE;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    kith_rc rc = r == SQLITE_ROW ? KITH_OK : r == SQLITE_DONE ? KITH_ENOTFOUND : err_of(r);
    if(r == SQLITE_ROW) account_row(st, out);
    sqlite3_finalize(st);
    return rc;
}

kith_rc sq_account_list(store_conn *c, const char *kind, store_account_fn fn, void *ctx) {
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(sq_conn_db(c), "SELECT " ACCOUNT_COLUMNS " FROM kith_account WHERE kind = ?1 ORDER BY name",
                          -1, &st, NULL) != SQLITE_OK)
        return KITH_ESTORE;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    int r;
    while((r = sqlite3_step(st)) == SQLITE_ROW) {
        store_account a = {0};
        account_row(st, &a);
        int stop = fn(ctx, &a);
        store_account_free(&a);
        if(stop) break;
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? KITH_OK : err_of(r);
}

kith_rc sq_token_put(store_conn *c, const store_token *t) {
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(sq_conn_db(c),
                          "INSERT INTO kith_token(hash, kind, subject, scopes, expires) VALUES(?1, ?2, ?3, ?4, ?5)", -1,
                          &st, NULL) != SQLITE_OK)
        return KITH_ESTORE;
    bind_text_or_null(st, 1, t->hash);
    bind_text_or_null(st, 2, t->kind);
    bind_text_or_null(st, 3, t->subject);
    bind_text_or_null(st, 4, t->scopes);
    sqlite3_bind_int64(st, 5, t->expires);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    if(r == SQLITE_DONE) {
        /* tokens long expired are of no use to anyone */
        sqlite3_exec(sq_conn_db(c), "DELETE FROM kith_token WHERE expires < unixepoch() - 86400", NULL, NULL, NULL);
        return KITH_OK;
    }
    return err_of(r);
}

kith_rc sq_token_get(store_conn *c, const char *hash, store_token *out) {
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(sq_conn_db(c), "SELECT hash, kind, subject, scopes, expires FROM kith_token WHERE hash = ?1",
                          -1, &st, NULL) != SQLITE_OK)
        return KITH_ESTORE;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    kith_rc rc = r == SQLITE_ROW ? KITH_OK : r == SQLITE_DONE ? KITH_ENOTFOUND : err_of(r);
    if(r == SQLITE_ROW) {
        out->hash = col(st, 0);
        out->kind = col(st, 1);
        out->subject = col(st, 2);
        out->scopes = col(st, 3);
        out->expires = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    return rc;
}

kith_rc sq_token_delete(store_conn *c, const char *hash) {
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(sq_conn_db(c), "DELETE FROM kith_token WHERE hash = ?1", -1, &st, NULL) != SQLITE_OK)
        return KITH_ESTORE;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? KITH_OK : err_of(r);
}

kith_rc sq_audit_append(store_conn *c, store_audit_entry *e, size_t n) {
    sqlite3 *db = sq_conn_db(c);
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(db,
                          "INSERT INTO kith_audit(recorded, agent, patient, action, outcome, body, prev_hash, hash) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                          -1, &st, NULL) != SQLITE_OK)
        return KITH_ESTORE;
    kith_rc rc = KITH_OK;
    for(size_t i = 0; i < n && !rc; i++) {
        bind_text_or_null(st, 1, e[i].recorded);
        bind_text_or_null(st, 2, e[i].agent);
        bind_text_or_null(st, 3, e[i].patient);
        bind_text_or_null(st, 4, e[i].action);
        bind_text_or_null(st, 5, e[i].outcome);
        bind_text_or_null(st, 6, e[i].body);
        bind_text_or_null(st, 7, e[i].prev_hash);
        bind_text_or_null(st, 8, e[i].hash);
        int r = sqlite3_step(st);
        if(r == SQLITE_DONE) e[i].seq = sqlite3_last_insert_rowid(db);
        else rc = err_of(r);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

kith_rc sq_audit_last(store_conn *c, int64_t *seq, char **hash) {
    sqlite3_stmt *st = NULL;
    *seq = 0;
    *hash = NULL;
    if(sqlite3_prepare_v2(sq_conn_db(c), "SELECT seq, hash FROM kith_audit ORDER BY seq DESC LIMIT 1", -1, &st, NULL) !=
       SQLITE_OK)
        return KITH_ESTORE;
    int r = sqlite3_step(st);
    if(r == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        *hash = col(st, 1);
    }
    sqlite3_finalize(st);
    if(!*hash) *hash = xstrdup("");
    return r == SQLITE_ROW || r == SQLITE_DONE ? KITH_OK : err_of(r);
}

kith_rc sq_audit_scan(store_conn *c, const store_audit_query *q, store_audit_fn fn, void *ctx) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT seq, recorded, agent, patient, action, outcome, body, prev_hash, hash FROM kith_audit "
             "WHERE (?1 IS NULL OR patient = ?1) AND (?2 IS NULL OR agent = ?2) AND (?3 IS NULL OR recorded >= ?3) "
             "AND (?4 IS NULL OR recorded < ?4) AND (?5 = 0 OR seq %s ?5) ORDER BY seq %s LIMIT ?6",
             q->newest_first ? "<" : ">", q->newest_first ? "DESC" : "ASC");
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(sq_conn_db(c), sql, -1, &st, NULL) != SQLITE_OK) return KITH_ESTORE;
    bind_text_or_null(st, 1, q->patient);
    bind_text_or_null(st, 2, q->agent);
    bind_text_or_null(st, 3, q->since);
    bind_text_or_null(st, 4, q->until);
    sqlite3_bind_int64(st, 5, q->after_seq);
    sqlite3_bind_int64(st, 6, q->limit ? (sqlite3_int64)q->limit : -1);
    int r;
    while((r = sqlite3_step(st)) == SQLITE_ROW) {
        store_audit_entry e = {.seq = sqlite3_column_int64(st, 0)};
        e.recorded = col(st, 1);
        e.agent = col(st, 2);
        e.patient = col(st, 3);
        e.action = col(st, 4);
        e.outcome = col(st, 5);
        e.body = col(st, 6);
        e.prev_hash = col(st, 7);
        e.hash = col(st, 8);
        int stop = fn(ctx, &e);
        store_audit_entry_free(&e);
        if(stop) break;
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? KITH_OK : err_of(r);
}
