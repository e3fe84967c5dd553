/*
 * sqlite_viewer.c — the access policy's view of the store, in SQL (see
 * store_set_viewer in store.h).
 *
 * The viewer's account, practitioner and organisation sit in the
 * connection's temp table kith_viewer, so the visibility condition is one
 * fixed SQL text per mode, with no bound values: it can be appended to any
 * statement (searches, their chains, history, scans) and cached with it.
 * The condition follows a Patient id to the index rows that make a care
 * relationship: the person's GP practice (Patient.general-practitioner), and
 * CareTeams, EpisodesOfCare, ServiceRequests and Tasks about the person that
 * are not closed and name the viewer, the viewer's organisation, or a
 * colleague (a Practitioner with a PractitionerRole in the viewer's
 * organisation that is not marked inactive: the team shares its caseload);
 * or to a break-glass grant.
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlgen.h"
#include "store/sqlite_int.h"

bool sq_viewer_active(store_conn *c) {
    return c && *sq_conn_viewer(c) != 0;
}

void sq_visible_cond(store_conn *c, buf *o, const char *x, const char *type, const char *id, const char *rkey) {
    sg_visible_cond(SG_SQLITE, c ? *sq_conn_viewer(c) : 0, o, x, type, id, rkey);
}

kith_rc sq_set_viewer(store_conn *c, const store_viewer *v) {
    int *mode = sq_conn_viewer(c);
    if(!v) {
        *mode = 0;
        return KITH_OK;
    }
    /* the same viewer as the last request on this connection: the temp table already holds it */
    size_t cap;
    char *last = sq_conn_viewer_key(c, &cap);
    char key[512];
    sg_viewer_key(v, key, sizeof key);
    if(strcmp(last, key) != 0) {
        sqlite3 *db = sq_conn_db(c);
        sqlite3_stmt *st = NULL;
        last[0] = '\0';
        if(sqlite3_exec(db, "DELETE FROM temp.kith_viewer", NULL, NULL, NULL) != SQLITE_OK ||
           sqlite3_prepare_v2(db, "INSERT INTO temp.kith_viewer(k, v) VALUES(?1, ?2)", -1, &st, NULL) != SQLITE_OK)
            return KITH_ESTORE;
        const char *keys[3] = {"account", "practitioner", "org"};
        const char *vals[3] = {v->account, v->practitioner, v->org};
        kith_rc rc = KITH_OK;
        for(int i = 0; i < 3 && !rc; i++) {
            if(!vals[i] || !*vals[i]) continue;
            sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, vals[i], -1, SQLITE_STATIC);
            if(sqlite3_step(st) != SQLITE_DONE) rc = KITH_ESTORE;
            sqlite3_reset(st);
        }
        /* the security labels this viewer may not see: "hide" rows */
        for(const char *p = v->hidden_labels; p && *p && !rc;) {
            size_t n = strcspn(p, " ");
            if(n) {
                sqlite3_bind_text(st, 1, "hide", -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, p, (int)n, SQLITE_STATIC);
                if(sqlite3_step(st) != SQLITE_DONE) rc = KITH_ESTORE;
                sqlite3_reset(st);
            }
            p += n;
            while(*p == ' ') p++;
        }
        sqlite3_finalize(st);
        if(rc) {
            *mode = 0;
            return rc;
        }
        snprintf(last, cap, "%s", key);
    }
    *mode = 0;
    sqlite3_stmt **any = sq_conn_consents_stmt(c);
    if(!*any && sqlite3_prepare_v3(sq_conn_db(c),
                                   "SELECT EXISTS(SELECT 1 FROM resource WHERE rtype = 'Consent' AND deleted = 0)", -1,
                                   SQLITE_PREPARE_PERSISTENT, any, NULL) != SQLITE_OK) {
        *mode = 0;
        return KITH_ESTORE;
    }
    bool none = sqlite3_step(*any) == SQLITE_ROW && sqlite3_column_int(*any, 0) == 0;
    sqlite3_reset(*any);
    *mode = sg_viewer_flags(v, none);
    return KITH_OK;
}

kith_rc sq_viewer_sees(store_conn *c, const char *type, const char *id, const char *patient, bool *sees) {
    *sees = true;
    if(!sq_viewer_active(c)) return KITH_OK;
    if((*sq_conn_viewer(c) & VIEW_MODE) == 2 && patient && *patient) {
        *sees = false;
        return KITH_OK;
    }
    if((*sq_conn_viewer(c) & VIEW_MODE) == 3 && (!patient || !*patient)) return KITH_OK;
    sqlite3_stmt **st = sq_conn_viewer_stmt(c);
    if(!*st) {
        buf sql = BUF_INIT;
        buf_puts(&sql, "SELECT 1 WHERE 1");
        sq_visible_cond(c, &sql, "?1", "?2", "?3", NULL);
        int r = sqlite3_prepare_v3(sq_conn_db(c), buf_str(&sql), -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
        buf_free(&sql);
        if(r != SQLITE_OK) return KITH_ESTORE;
    }
    sqlite3_bind_text(*st, 1, patient && *patient ? patient : NULL, -1, SQLITE_STATIC);
    sqlite3_bind_text(*st, 2, type ? type : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(*st, 3, id ? id : "", -1, SQLITE_STATIC);
    int r = sqlite3_step(*st);
    kith_rc rc = KITH_OK;
    if(r == SQLITE_ROW) *sees = true;
    else if(r == SQLITE_DONE) *sees = false;
    else rc = KITH_ESTORE;
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return rc;
}

kith_rc sq_grant_add(store_conn *c, const char *account, const char *patient, int64_t expires, const char *reason) {
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v2(sq_conn_db(c),
                          "INSERT OR REPLACE INTO kith_access_grant(account, patient, expires, reason, created) "
                          "VALUES(?1, ?2, ?3, ?4, unixepoch())",
                          -1, &st, NULL) != SQLITE_OK)
        return KITH_ESTORE;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, patient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, expires);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? KITH_OK : KITH_ESTORE;
}
