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

#include "store/sqlite_int.h"

/* Statuses that end a relationship (CareTeam, EpisodeOfCare, ServiceRequest, Task). */
#define CLOSED "'inactive','finished','completed','cancelled','entered-in-error','revoked','rejected','failed'"

bool sq_viewer_active(store_conn *c) {
    return c && *sq_conn_viewer(c) != 0;
}

/* Does Patient x have an active national data opt-out? (an SQL condition) */
static void opted_out(buf *o, const char *x) {
    buf_printf(o,
               "EXISTS(SELECT 1 FROM sp_reference oa JOIN sp_token oc ON oc.rkey = oa.rkey AND oc.pid = %lld"
               " AND oc.code = 'national-data-opt-out' AND oc.system = 'https://kith.example.org/fhir/CodeSystem/"
               "consent-category' JOIN sp_token os ON os.rkey = oa.rkey AND os.pid = %lld AND os.code = 'active'"
               " WHERE oa.pid = %lld AND oa.ttype = 'Patient' AND oa.tid = %s)",
               (long long)sq_param_id("Consent", "category"), (long long)sq_param_id("Consent", "status"),
               (long long)sq_param_id("Consent", "patient"), x);
}

void sq_visible_cond(store_conn *c, buf *o, const char *x, const char *type, const char *id, const char *rkey) {
    int flags = c ? *sq_conn_viewer(c) : 0;
    int mode = flags & VIEW_MODE;
    if(!mode) return;
    if(mode == 3) { /* secondary use: all but the opted out */
        buf_printf(o, " AND (%s IS NULL OR %s = '' OR NOT ", x, x);
        opted_out(o, x);
        buf_puts(o, ")");
        return;
    }
    /* the person objected to sharing an organisation's records (an active Consent denying
     * that organisation as actor): resources referring to it are hidden from everyone outside
     * it, unless broken glass for the person (the Consent itself stays in view) */
    if(!(flags & VIEW_NO_CONSENTS))
        buf_printf(o,
               " AND (%s = 'Consent' OR NOT EXISTS(SELECT 1 FROM sp_reference ca JOIN resource cr ON cr.rkey = ca.rkey"
               " AND cr.deleted = 0"
               " JOIN resource_version cv ON cv.seq = cr.seq JOIN sp_reference aa ON aa.rkey = ca.rkey AND aa.pid = %lld"
               " AND aa.ttype = 'Organization' WHERE ca.pid = %lld AND ca.ttype = 'Patient' AND ca.tid = %s"
               " AND json_extract(cv.body, '$.status') = 'active' AND json_extract(cv.body, '$.provision.type') = 'deny'"
               " AND aa.tid IS NOT (SELECT v FROM temp.kith_viewer WHERE k = 'org')"
               " AND EXISTS(SELECT 1 FROM sp_reference rr WHERE rr.rkey = (SELECT zr.rkey FROM resource zr"
               " WHERE zr.rtype = %s AND zr.rid = %s) AND rr.ttype = 'Organization' AND rr.tid = aa.tid))"
               " OR EXISTS(SELECT 1 FROM kith_access_grant vb3 WHERE vb3.account = (SELECT v FROM temp.kith_viewer"
               " WHERE k = 'account') AND vb3.patient = %s AND vb3.expires > unixepoch()))",
               type, (long long)sq_param_id("Consent", "actor"), (long long)sq_param_id("Consent", "patient"), x, type,
               id, x);
    if(mode == 4) return; /* a direct-care system: consent binds it, care relationships do not */
    /* labelled sensitive for this viewer (meta.security), unless broken glass for the person */
    if(!(flags & VIEW_SEES_ALL_LABELS)) {
        /* the row's own labels: by its key when the caller has it, else by type and id */
        if(rkey)
            buf_printf(o, " AND (NOT EXISTS(SELECT 1 FROM sp_token vz WHERE vz.rkey = %s", rkey);
        else
            buf_printf(o,
                       " AND (NOT EXISTS(SELECT 1 FROM resource vzr JOIN sp_token vz ON vz.rkey = vzr.rkey"
                       " WHERE vzr.rtype = %s AND vzr.rid = %s",
                       type, id);
        buf_printf(o,
               " AND vz.pid = kith_pid(%s, '_security') AND vz.code IN (SELECT v FROM"
               " temp.kith_viewer WHERE k = 'hide'))"
               " OR EXISTS(SELECT 1 FROM kith_access_grant vb2 WHERE vb2.account = (SELECT v FROM temp.kith_viewer"
               " WHERE k = 'account') AND vb2.patient = %s AND vb2.expires > unixepoch()))",
               type, x);
    }
    if(mode == 2) {
        buf_printf(o, " AND (%s IS NULL OR %s = '')", x, x);
        return;
    }
    if(flags & VIEW_RELATIONSHIP_GIVEN) return;
    long long gp = (long long)sq_param_id("Patient", "general-practitioner");
    long long about[4] = {sq_param_id("CareTeam", "patient"), sq_param_id("EpisodeOfCare", "patient"),
                          sq_param_id("ServiceRequest", "patient"), sq_param_id("Task", "patient")};
    long long names[5] = {sq_param_id("CareTeam", "participant"), sq_param_id("EpisodeOfCare", "care-manager"),
                          sq_param_id("EpisodeOfCare", "organization"), sq_param_id("ServiceRequest", "performer"),
                          sq_param_id("Task", "owner")};
    long long status[4] = {sq_param_id("CareTeam", "status"), sq_param_id("EpisodeOfCare", "status"),
                           sq_param_id("ServiceRequest", "status"), sq_param_id("Task", "status")};
    buf_printf(o,
               " AND (%s IS NULL OR %s = ''"
               " OR EXISTS(SELECT 1 FROM resource vp JOIN sp_reference vg ON vg.rkey = vp.rkey"
               " WHERE vp.rtype = 'Patient' AND vp.rid = %s AND vg.pid = %lld AND vg.ttype = 'Organization'"
               " AND vg.tid = (SELECT v FROM temp.kith_viewer WHERE k = 'org'))",
               x, x, x, gp);
    buf_printf(o,
               " OR EXISTS(SELECT 1 FROM sp_reference vs JOIN sp_reference vm ON vm.rkey = vs.rkey"
               " WHERE vs.pid IN (%lld,%lld,%lld,%lld) AND vs.tid = %s AND vs.ttype = 'Patient'"
               " AND vm.pid IN (%lld,%lld,%lld,%lld,%lld)"
               " AND ((vm.ttype = 'Practitioner' AND vm.tid = (SELECT v FROM temp.kith_viewer WHERE k = 'practitioner'))"
               " OR (vm.ttype = 'Organization' AND vm.tid = (SELECT v FROM temp.kith_viewer WHERE k = 'org'))"
               " OR (vm.ttype = 'Practitioner' AND EXISTS(SELECT 1 FROM sp_reference tp JOIN sp_reference tor"
               " ON tor.rkey = tp.rkey AND tor.pid = %lld AND tor.ttype = 'Organization'"
               " AND tor.tid = (SELECT v FROM temp.kith_viewer WHERE k = 'org')"
               " WHERE tp.pid = %lld AND tp.ttype = 'Practitioner' AND tp.tid = vm.tid AND NOT EXISTS(SELECT 1"
               " FROM sp_token ta WHERE ta.rkey = tp.rkey AND ta.pid = %lld AND ta.code = 'false'))))"
               " AND NOT EXISTS(SELECT 1 FROM sp_token vt WHERE vt.rkey = vs.rkey AND vt.pid IN (%lld,%lld,%lld,%lld)"
               " AND vt.code IN (" CLOSED ")))",
               about[0], about[1], about[2], about[3], x, names[0], names[1], names[2], names[3], names[4],
               (long long)sq_param_id("PractitionerRole", "organization"),
               (long long)sq_param_id("PractitionerRole", "practitioner"),
               (long long)sq_param_id("PractitionerRole", "active"), status[0], status[1], status[2], status[3]);
    buf_printf(o,
               " OR EXISTS(SELECT 1 FROM kith_access_grant vb WHERE vb.account = (SELECT v FROM temp.kith_viewer"
               " WHERE k = 'account') AND vb.patient = %s AND vb.expires > unixepoch()))",
               x);
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
    snprintf(key, sizeof key, "%s\n%s\n%s\n%s", v->account ? v->account : "", v->practitioner ? v->practitioner : "",
             v->org ? v->org : "", v->hidden_labels ? v->hidden_labels : "");
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
    *mode = v->secondary_use ? 3 : v->consent_only ? 4 : v->no_patient_data ? 2 : 1;
    /* checks that cannot change the answer are left out of the SQL */
    if(!v->hidden_labels || !*v->hidden_labels) *mode |= VIEW_SEES_ALL_LABELS;
    if(v->relationship_given && (*mode & VIEW_MODE) == 1) *mode |= VIEW_RELATIONSHIP_GIVEN;
    sqlite3_stmt **any = sq_conn_consents_stmt(c);
    if(!*any && sqlite3_prepare_v3(sq_conn_db(c),
                                   "SELECT EXISTS(SELECT 1 FROM resource WHERE rtype = 'Consent' AND deleted = 0)", -1,
                                   SQLITE_PREPARE_PERSISTENT, any, NULL) != SQLITE_OK) {
        *mode = 0;
        return KITH_ESTORE;
    }
    if(sqlite3_step(*any) == SQLITE_ROW && sqlite3_column_int(*any, 0) == 0) *mode |= VIEW_NO_CONSENTS;
    sqlite3_reset(*any);
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
