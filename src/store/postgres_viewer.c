/*
 * postgres_viewer.c — the access policy's view of the store on PostgreSQL
 * (see store_set_viewer in store.h). The visibility condition is sqlgen.c's,
 * the same as SQLite's: the viewer's account, practitioner, organisation and
 * hidden labels sit in the session's temporary table pg_temp.kith_viewer, so
 * the condition's text is fixed per viewer mode. The flags live on the
 * connection (pg_conn.viewer); group commits suspend them.
 */
#include <stdio.h>
#include <string.h>

#include "store/postgres_int.h"
#include "store/sqlgen.h"

void pg_visible_cond(store_conn *sc, buf *out, const char *x, const char *type, const char *id, const char *rkey) {
    sg_visible_cond(SG_POSTGRES, sc ? ((pg_conn *)sc)->viewer : 0, out, x, type, id, rkey);
}

void pg_viewer_suspend(store_conn *sc, bool suspend) {
    pg_conn *c = (pg_conn *)sc;
    sg_viewer_suspend(&c->viewer, &c->viewer_suspended, suspend);
}

/* Write v's values into pg_temp.kith_viewer (unless they are there already). */
static kith_rc viewer_values(pg_conn *c, const store_viewer *v) {
    char key[512];
    sg_viewer_key(v, key, sizeof key);
    if(strcmp(c->viewer_key, key) == 0) return KITH_OK;
    c->viewer_key[0] = '\0';
    kith_rc rc;
    PQclear(pg_exec(c, "DELETE FROM pg_temp.kith_viewer", 0, NULL, &rc));
    const char *keys[3] = {"account", "practitioner", "org"};
    const char *vals[3] = {v->account, v->practitioner, v->org};
    const char *ins = "INSERT INTO pg_temp.kith_viewer(k, v) VALUES($1, $2) ON CONFLICT DO NOTHING";
    for(int i = 0; i < 3 && !rc; i++) {
        if(!vals[i] || !*vals[i]) continue;
        const char *p[2] = {keys[i], vals[i]};
        PQclear(pg_exec(c, ins, 2, p, &rc));
    }
    /* the security labels this viewer may not see: "hide" rows */
    for(const char *s = v->hidden_labels; s && *s && !rc;) {
        size_t n = strcspn(s, " ");
        if(n) {
            char label[256];
            snprintf(label, sizeof label, "%.*s", (int)(n < sizeof label - 1 ? n : sizeof label - 1), s);
            const char *p[2] = {"hide", label};
            PQclear(pg_exec(c, ins, 2, p, &rc));
        }
        s += n;
        while(*s == ' ') s++;
    }
    if(!rc) snprintf(c->viewer_key, sizeof c->viewer_key, "%s", key);
    return rc;
}

kith_rc pg_set_viewer(store_conn *sc, const store_viewer *v) {
    pg_conn *c = (pg_conn *)sc;
    c->viewer = 0; /* nothing is shown by a half-set viewer: a failure below leaves the call failed */
    if(!v) return KITH_OK;
    kith_rc rc = viewer_values(c, v);
    if(rc) return rc;
    /* Whether any Consent exists only lets the visibility condition leave out its Consent
     * clause: saying yes when there is none is merely slower, never wrong. So once one has
     * been seen, the store stops asking (a round trip a request saved), while a "none" is
     * asked again each time, as another process may have written one since. */
    bool none = false;
    if(!atomic_load(c->consents_seen)) {
        PGresult *res =
            pg_exec(c, "SELECT EXISTS(SELECT 1 FROM resource WHERE rtype = 'Consent' AND deleted = 0)", 0, NULL, &rc);
        if(!res) return rc;
        none = PQgetvalue(res, 0, 0)[0] == 'f';
        PQclear(res);
        if(!none) atomic_store(c->consents_seen, true);
    }
    c->viewer = sg_viewer_flags(v, none);
    return KITH_OK;
}

/* What the viewer's mode alone decides about a row in patient's record (true: *sees is the answer). */
static bool mode_decides(const pg_conn *c, const char *patient, bool *sees) {
    int mode = c->viewer & VIEW_MODE;
    *sees = true;
    if(!c->viewer) return true;
    if(mode == 2 && patient && *patient) { /* no patient data */
        *sees = false;
        return true;
    }
    return mode == 3 && (!patient || !*patient); /* secondary use: outside any record */
}

void pg_visible_column(store_conn *sc, buf *sql, const char *patient_col, const char *type, const char *id) {
    buf_puts(sql, "(true");
    pg_visible_cond(sc, sql, patient_col, type, id, NULL);
    buf_puts(sql, ")");
}

bool pg_viewer_row_sees(store_conn *sc, const char *patient, bool by_sql) {
    bool sees;
    return mode_decides((pg_conn *)sc, patient, &sees) ? sees : by_sql;
}

kith_rc pg_viewer_sees(store_conn *sc, const char *type, const char *id, const char *patient, bool *sees) {
    pg_conn *c = (pg_conn *)sc;
    if(mode_decides(c, patient, sees)) return KITH_OK;
    buf sql = BUF_INIT;
    /* every parameter named once up front: the condition may not use them all */
    buf_puts(&sql, "SELECT 1 FROM (SELECT $1::text, $2::text, $3::text) AS args WHERE true");
    size_t bare = sql.len;
    pg_visible_cond(sc, &sql, "$1::text", "$2::text", "$3::text", NULL);
    if(sql.len == bare) { /* no condition for this viewer (a client when nobody has a Consent): a round trip saved */
        buf_free(&sql);
        return KITH_OK;
    }
    const char *p[3] = {patient && *patient ? patient : NULL, type ? type : "", id ? id : ""};
    kith_rc rc;
    PGresult *res = pg_exec(c, buf_str(&sql), 3, p, &rc);
    buf_free(&sql);
    if(!res) return rc;
    *sees = PQntuples(res) > 0;
    PQclear(res);
    return KITH_OK;
}
