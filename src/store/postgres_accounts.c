/*
 * postgres_accounts.c — accounts, bearer tokens, the audit log and
 * break-glass grants on PostgreSQL (tables kith_account, kith_token,
 * kith_audit, kith_access_grant; see postgres.c for the schema).
 *
 * The audit table refuses UPDATE, DELETE and TRUNCATE by trigger, as in
 * SQLite. Entries get consecutive seq numbers from 1: the next number is
 * taken under the writer lock (max + 1), not from a sequence, which would
 * leave gaps after a rollback. A batch of entries is one statement (arrays
 * unnested in order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/postgres_int.h"

#define ACCOUNT_COLUMNS \
    "kind, name, role, org, practitioner, secret, scopes, public_key, disabled, failures, locked_until, created"

kith_rc pg_account_put(store_conn *sc, const store_account *a) {
    pg_conn *c = (pg_conn *)sc;
    char failures[24], locked[24], created[24];
    snprintf(failures, sizeof failures, "%lld", (long long)a->failures);
    snprintf(locked, sizeof locked, "%lld", (long long)a->locked_until);
    snprintf(created, sizeof created, "%lld", (long long)a->created);
    const char *p[12] = {a->kind,   a->name,       a->role,     a->org,   a->practitioner, a->secret,
                         a->scopes, a->public_key, a->disabled ? "1" : "0", failures, locked, created};
    kith_rc rc;
    PQclear(pg_exec(c,
                    "INSERT INTO kith_account(" ACCOUNT_COLUMNS ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                    "$11, $12) ON CONFLICT(kind, name) DO UPDATE SET role = excluded.role, org = excluded.org, "
                    "practitioner = excluded.practitioner, secret = excluded.secret, scopes = excluded.scopes, "
                    "public_key = excluded.public_key, disabled = excluded.disabled, failures = excluded.failures, "
                    "locked_until = excluded.locked_until, created = excluded.created",
                    12, p, &rc));
    return rc;
}

static void account_row(const PGresult *res, int i, store_account *a) {
    a->kind = pg_col(res, i, 0);
    a->name = pg_col(res, i, 1);
    a->role = pg_col(res, i, 2);
    a->org = pg_col(res, i, 3);
    a->practitioner = pg_col(res, i, 4);
    a->secret = pg_col(res, i, 5);
    a->scopes = pg_col(res, i, 6);
    a->public_key = pg_col(res, i, 7);
    a->disabled = pg_i64(res, i, 8) != 0;
    a->failures = pg_i64(res, i, 9);
    a->locked_until = pg_i64(res, i, 10);
    a->created = pg_i64(res, i, 11);
}

kith_rc pg_account_get(store_conn *sc, const char *kind, const char *name, store_account *out) {
    const char *p[2] = {kind, name};
    kith_rc rc;
    PGresult *res = pg_exec((pg_conn *)sc, "SELECT " ACCOUNT_COLUMNS " FROM kith_account WHERE kind = $1 AND name = $2",
                            2, p, &rc);
    if(!res) return rc;
    if(PQntuples(res))
        account_row(res, 0, out);
    else
        rc = KITH_ENOTFOUND;
    PQclear(res);
    return rc;
}

kith_rc pg_account_list(store_conn *sc, const char *kind, store_account_fn fn, void *ctx) {
    const char *p[1] = {kind};
    kith_rc rc;
    PGresult *res =
        pg_exec((pg_conn *)sc, "SELECT " ACCOUNT_COLUMNS " FROM kith_account WHERE kind = $1 ORDER BY name", 1, p, &rc);
    if(!res) return rc;
    for(int i = 0; i < PQntuples(res); i++) {
        store_account a = {0};
        account_row(res, i, &a);
        int stop = fn(ctx, &a);
        store_account_free(&a);
        if(stop) break;
    }
    PQclear(res);
    return KITH_OK;
}

kith_rc pg_token_put(store_conn *sc, const store_token *t) {
    pg_conn *c = (pg_conn *)sc;
    char expires[24];
    snprintf(expires, sizeof expires, "%lld", (long long)t->expires);
    const char *p[5] = {t->hash, t->kind, t->subject, t->scopes, expires};
    kith_rc rc;
    PQclear(pg_exec(c, "INSERT INTO kith_token(hash, kind, subject, scopes, expires) VALUES($1, $2, $3, $4, $5)", 5, p,
                    &rc));
    if(rc) return rc;
    /* tokens long expired are of no use to anyone */
    PQclear(pg_exec(c, "DELETE FROM kith_token WHERE expires < extract(epoch from now()) - 86400", 0, NULL, &rc));
    return rc;
}

kith_rc pg_token_get(store_conn *sc, const char *hash, store_token *out) {
    const char *p[1] = {hash};
    kith_rc rc;
    PGresult *res =
        pg_exec((pg_conn *)sc, "SELECT hash, kind, subject, scopes, expires FROM kith_token WHERE hash = $1", 1, p, &rc);
    if(!res) return rc;
    if(PQntuples(res)) {
        out->hash = pg_col(res, 0, 0);
        out->kind = pg_col(res, 0, 1);
        out->subject = pg_col(res, 0, 2);
        out->scopes = pg_col(res, 0, 3);
        out->expires = pg_i64(res, 0, 4);
    } else {
        rc = KITH_ENOTFOUND;
    }
    PQclear(res);
    return rc;
}

kith_rc pg_token_delete(store_conn *sc, const char *hash) {
    const char *p[1] = {hash};
    kith_rc rc;
    PQclear(pg_exec((pg_conn *)sc, "DELETE FROM kith_token WHERE hash = $1", 1, p, &rc));
    return rc;
}

kith_rc pg_audit_append(store_conn *sc, store_audit_entry *e, size_t n) {
    pg_conn *c = (pg_conn *)sc;
    if(n == 0) return KITH_OK;
    bool implicit;
    kith_rc rc = pg_write_begin(c, &implicit);
    if(rc) return rc;
    /* all n in one statement: the audit writer keeps up with many requests per second */
    buf arr[8] = {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT};
    for(size_t i = 0; i < n; i++) {
        const char *v[8] = {e[i].recorded, e[i].agent, e[i].patient,   e[i].action,
                            e[i].outcome,  e[i].body,  e[i].prev_hash, e[i].hash};
        for(int k = 0; k < 8; k++) pg_array_text(&arr[k], v[k], true);
    }
    const char *p[8];
    for(int k = 0; k < 8; k++) {
        buf_putc(&arr[k], '}');
        p[k] = buf_str(&arr[k]);
    }
    PGresult *res = pg_exec(c,
                            "WITH m AS (SELECT coalesce(max(seq), 0) AS last FROM kith_audit) "
                            "INSERT INTO kith_audit(seq, recorded, agent, patient, action, outcome, body, prev_hash, hash) "
                            "SELECT m.last + u.o, u.r, u.a, u.p, u.ac, u.oc, u.b, u.ph, u.h FROM m, "
                            "unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
                            "$8::text[]) WITH ORDINALITY AS u(r, a, p, ac, oc, b, ph, h, o) RETURNING seq",
                            8, p, &rc);
    for(int k = 0; k < 8; k++) buf_free(&arr[k]);
    if(res) {
        /* entry i got last + i + 1 */
        int64_t first = 0;
        for(int i = 0; i < PQntuples(res); i++) {
            int64_t s = pg_i64(res, i, 0);
            if(!first || s < first) first = s;
        }
        if((size_t)PQntuples(res) != n) rc = KITH_ESTORE;
        for(size_t i = 0; i < n && !rc; i++) e[i].seq = first + (int64_t)i;
        PQclear(res);
    }
    return pg_write_end(c, implicit, rc);
}

kith_rc pg_audit_last(store_conn *sc, int64_t *seq, char **hash) {
    kith_rc rc;
    *seq = 0;
    *hash = NULL;
    PGresult *res = pg_exec((pg_conn *)sc, "SELECT seq, hash FROM kith_audit ORDER BY seq DESC LIMIT 1", 0, NULL, &rc);
    if(res && PQntuples(res)) {
        *seq = pg_i64(res, 0, 0);
        *hash = pg_col(res, 0, 1);
    }
    PQclear(res);
    if(!*hash) *hash = xstrdup("");
    return rc;
}

#define AUDIT_CHUNK 1000 /* entries per round trip: memory stays bounded */

kith_rc pg_audit_scan(store_conn *sc, const store_audit_query *q, store_audit_fn fn, void *ctx) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT seq, recorded, agent, patient, action, outcome, body, prev_hash, hash FROM kith_audit "
             "WHERE ($1::text IS NULL OR patient = $1) AND ($2::text IS NULL OR agent = $2) "
             "AND ($3::text IS NULL OR recorded >= $3) AND ($4::text IS NULL OR recorded < $4) "
             "AND ($5::int8 = 0 OR seq %s $5) ORDER BY seq %s LIMIT $6",
             q->newest_first ? "<" : ">", q->newest_first ? "DESC" : "ASC");
    int64_t after = q->after_seq;
    size_t left = q->limit;
    kith_rc rc = KITH_OK;
    for(;;) {
        size_t want = q->limit && left < AUDIT_CHUNK ? left : AUDIT_CHUNK;
        char after_s[24], want_s[24];
        snprintf(after_s, sizeof after_s, "%lld", (long long)after);
        snprintf(want_s, sizeof want_s, "%zu", want);
        const char *p[6] = {q->patient, q->agent, q->since, q->until, after_s, want_s};
        PGresult *res = pg_exec((pg_conn *)sc, sql, 6, p, &rc);
        if(!res) break;
        int rows = PQntuples(res);
        bool stop = false;
        for(int i = 0; i < rows && !stop; i++) {
            store_audit_entry e = {.seq = pg_i64(res, i, 0)};
            e.recorded = pg_col(res, i, 1);
            e.agent = pg_col(res, i, 2);
            e.patient = pg_col(res, i, 3);
            e.action = pg_col(res, i, 4);
            e.outcome = pg_col(res, i, 5);
            e.body = pg_col(res, i, 6);
            e.prev_hash = pg_col(res, i, 7);
            e.hash = pg_col(res, i, 8);
            after = e.seq;
            stop = fn(ctx, &e) != 0;
            store_audit_entry_free(&e);
        }
        PQclear(res);
        if(q->limit) left -= (size_t)rows;
        if(stop || (size_t)rows < want || (q->limit && left == 0) || after <= 0) break;
    }
    return rc;
}

kith_rc pg_grant_add(store_conn *sc, const char *account, const char *patient, int64_t expires, const char *reason) {
    pg_conn *c = (pg_conn *)sc;
    char exp[24];
    snprintf(exp, sizeof exp, "%lld", (long long)expires);
    const char *p[4] = {account, patient, exp, reason};
    kith_rc rc;
    PQclear(pg_exec(c,
                    "INSERT INTO kith_access_grant(account, patient, expires, reason, created) "
                    "VALUES($1, $2, $3, $4, extract(epoch from now())::bigint) ON CONFLICT(account, patient, created) "
                    "DO UPDATE SET expires = excluded.expires, reason = excluded.reason",
                    4, p, &rc));
    return rc;
}
