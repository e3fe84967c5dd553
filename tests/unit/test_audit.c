/* test_audit.c — src/audit: entries written at once and through the writer
 * thread, the hash chain and audit_verify (intact, changed, removed), and
 * the AuditEvent JSON each entry carries. Uses a temporary store (SQLite, or
 * PostgreSQL under make unit-pg). */
#include "temp_store.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/buf.h"
#include "auth/auth.h"
#include "json/json.h"
#include "store/store.h"

static char dbpath[TEMP_STORE_PATH];
static store *st;
static store_conn *conn;

static void setup(void) {
    cr_assert_eq(auth_init(), KITH_OK);
    st = temp_store_open("audit", dbpath, &conn);
}

static void teardown(void) {
    temp_store_remove(st, dbpath);
}

TestSuite(audit, .init = setup, .fini = teardown);

static auth_principal gp(void) {
    auth_principal p = {0};
    snprintf(p.kind, sizeof p.kind, "user");
    snprintf(p.name, sizeof p.name, "dr-jones");
    snprintf(p.role, sizeof p.role, "gp");
    snprintf(p.org, sizeof p.org, "org-1");
    snprintf(p.practitioner, sizeof p.practitioner, "pr-1");
    snprintf(p.scopes, sizeof p.scopes, "user/*.cruds");
    return p;
}

/* Collects the entries a scan visits (caller frees with entries_free). */
typedef struct entries {
    store_audit_entry *e;
    size_t n;
} entries;

static int collect(void *ctx, const store_audit_entry *e) {
    entries *all = ctx;
    all->e = realloc(all->e, (all->n + 1) * sizeof *all->e);
    cr_assert_not_null(all->e);
    store_audit_entry *c = &all->e[all->n++];
    *c = (store_audit_entry){.seq = e->seq};
    c->recorded = e->recorded ? strdup(e->recorded) : NULL;
    c->agent = e->agent ? strdup(e->agent) : NULL;
    c->patient = e->patient ? strdup(e->patient) : NULL;
    c->action = e->action ? strdup(e->action) : NULL;
    c->outcome = e->outcome ? strdup(e->outcome) : NULL;
    c->body = e->body ? strdup(e->body) : NULL;
    c->prev_hash = e->prev_hash ? strdup(e->prev_hash) : NULL;
    c->hash = e->hash ? strdup(e->hash) : NULL;
    return 0;
}

static entries scan_all(void) {
    entries all = {0};
    store_audit_query q = {0};
    cr_assert_eq(store_audit_scan(conn, &q, collect, &all), KITH_OK);
    return all;
}

static void entries_free(entries *all) {
    for(size_t i = 0; i < all->n; i++) store_audit_entry_free(&all->e[i]);
    free(all->e);
}

/* Parse an entry's body; it must be an AuditEvent with FHIR's required elements. */
static json_value *parse_event(const store_audit_entry *e) {
    json_value *v = NULL;
    char err[256] = "";
    cr_assert_eq(json_parse(e->body, strlen(e->body), &v, err, sizeof err), KITH_OK, "entry %lld: %s: %s",
                 (long long)e->seq, err, e->body);
    cr_assert_str_eq(json_string(json_get(v, "resourceType")), "AuditEvent");
    cr_expect_not_null(json_get(v, "type"), "entry %lld: type", (long long)e->seq);
    cr_expect_not_null(json_string(json_get(v, "recorded")), "entry %lld: recorded", (long long)e->seq);
    cr_expect_str_eq(json_string(json_get(v, "recorded")), e->recorded);
    cr_expect_str_eq(json_string(json_get(v, "action")), e->action);
    cr_expect_str_eq(json_string(json_get(v, "outcome")), e->outcome);
    json_value *agent = json_get(v, "agent");
    cr_assert_geq(json_array_len(agent), 1, "entry %lld: agent", (long long)e->seq);
    cr_expect_eq(json_kind_of(json_get(json_array_at(agent, 0), "requestor")), JSON_BOOL);
    cr_expect_not_null(json_get(json_get(v, "source"), "observer"), "entry %lld: source.observer", (long long)e->seq);
    cr_expect_null(json_get(v, "id"), "the stored body has no id (the seq is the id)");
    return v;
}

static void verify_intact(int64_t want) {
    int64_t checked = -1, broken = -1;
    char msg[256];
    cr_assert_eq(audit_verify(conn, &checked, &broken, msg, sizeof msg), KITH_OK, "%s", msg);
    cr_expect_eq(checked, want);
    cr_expect_eq(broken, 0);
    char expect[64];
    snprintf(expect, sizeof expect, "audit log intact: %lld entries", (long long)want);
    cr_expect_str_eq(msg, expect);
}

Test(audit, empty_log_is_intact) {
    verify_intact(0);
}

Test(audit, write_now_twice_verifies) {
    auth_principal who = gp();
    audit_event read = {.action = 'R', .subtype = "read", .outcome = 0, .who = &who, .patient = "p-1",
                        .what = "Patient/p-1", .address = "127.0.0.1", .request_id = "req-1"};
    audit_event refused = {.action = 'E', .subtype = "login", .outcome = 4, .who_claimed = "mallory",
                           .detail = "the bearer token is not one Kith issued"};
    cr_assert_eq(audit_write_now(conn, &read), KITH_OK);
    cr_assert_eq(audit_write_now(conn, &refused), KITH_OK);
    verify_intact(2);

    entries all = scan_all();
    cr_assert_eq(all.n, 2);
    cr_expect_eq(all.e[0].seq, 1);
    cr_expect_eq(all.e[1].seq, 2);
    cr_expect_str_eq(all.e[0].prev_hash, "", "the first entry links to nothing");
    cr_expect_str_eq(all.e[1].prev_hash, all.e[0].hash, "the second links to the first");
    cr_expect_eq(strlen(all.e[0].hash), 64);

    cr_expect_str_eq(all.e[0].agent, "user/dr-jones");
    cr_expect_str_eq(all.e[0].patient, "p-1");
    cr_expect_str_eq(all.e[0].action, "R");
    cr_expect_str_eq(all.e[0].outcome, "0");
    json_value *v = parse_event(&all.e[0]);
    json_value *agent = json_array_at(json_get(v, "agent"), 0);
    cr_expect_str_eq(json_string(json_get(json_get(json_get(agent, "who"), "identifier"), "value")), "user/dr-jones");
    cr_expect_str_eq(json_string(json_get(json_get(agent, "who"), "reference")), "Practitioner/pr-1");
    cr_expect_str_eq(json_string(json_get(json_array_at(json_get(v, "subtype"), 0), "code")), "read");
    json_value *entity = json_get(v, "entity");
    bool patient = false, what = false;
    for(size_t i = 0; i < json_array_len(entity); i++) {
        const char *ref = json_string(json_get(json_get(json_array_at(entity, i), "what"), "reference"));
        if(ref && strcmp(ref, "Patient/p-1") == 0 && !patient) patient = true;
        else if(ref && strcmp(ref, "Patient/p-1") == 0) what = true;
    }
    cr_expect(patient && what, "entity names Patient/p-1 as the person and the object: %s", all.e[0].body);
    json_free(v);

    cr_expect_str_eq(all.e[1].agent, "unknown/mallory");
    cr_expect_null(all.e[1].patient);
    cr_expect_str_eq(all.e[1].outcome, "4");
    v = parse_event(&all.e[1]);
    cr_expect_str_eq(json_string(json_get(json_get(v, "type"), "code")), "110114", "a sign-in is User Authentication");
    cr_expect_str_eq(json_string(json_get(v, "outcomeDesc")), "the bearer token is not one Kith issued");
    json_free(v);
    entries_free(&all);
}

Test(audit, hostile_text_is_escaped) {
    auth_principal who = gp();
    snprintf(who.name, sizeof who.name, "a\"b\\c\nd");
    audit_event ev = {.action = 'E', .subtype = "search-type", .who = &who, .type = "Patient",
                      .query = "name=\"; DROP TABLE resource; --&x=\x01\t", .detail = "quote \" backslash \\ newline \n",
                      .request_id = "' OR 1=1 --"};
    cr_assert_eq(audit_write_now(conn, &ev), KITH_OK);
    entries all = scan_all();
    cr_assert_eq(all.n, 1);
    json_value *v = parse_event(&all.e[0]);
    cr_expect_str_eq(json_string(json_get(v, "outcomeDesc")), "quote \" backslash \\ newline \n");
    json_free(v);
    entries_free(&all);
    verify_intact(1);
}

Test(audit, writer_thread_writes_100_that_verify) {
    auth_principal who = gp();
    audit_log *l = audit_open(st);
    cr_assert_not_null(l);
    for(int i = 0; i < 100; i++) {
        char pid[32], what[48];
        snprintf(pid, sizeof pid, "p-%d", i);
        snprintf(what, sizeof what, "Patient/%s", pid);
        audit_event ev = {.action = i % 2 ? 'R' : 'E', .subtype = i % 2 ? "read" : "search-type",
                          .outcome = i % 10 == 0 ? 4 : 0, .who = &who, .patient = pid, .what = what};
        audit_record(l, &ev);
    }
    cr_expect_eq(audit_flush(l), KITH_OK);
    audit_close(l);
    verify_intact(100);

    entries all = scan_all();
    cr_assert_eq(all.n, 100);
    for(size_t i = 0; i < all.n; i++) {
        cr_expect_eq(all.e[i].seq, (int64_t)i + 1);
        char pid[32];
        snprintf(pid, sizeof pid, "p-%zu", i);
        cr_expect_str_eq(all.e[i].patient, pid, "queued order is kept");
        cr_expect_str_eq(all.e[i].outcome, i % 10 == 0 ? "4" : "0");
        json_free(parse_event(&all.e[i]));
    }
    entries_free(&all);

    /* a second log on the same store chains on from the first */
    l = audit_open(st);
    cr_assert_not_null(l);
    audit_event ev = {.action = 'R', .subtype = "read", .who = &who};
    audit_record(l, &ev);
    audit_close(l); /* close flushes */
    verify_intact(101);
}

typedef struct recorder {
    audit_log *l;
    int n;
    _Atomic int done; /* recorded so far */
} recorder;

static void *record_many(void *arg) {
    recorder *r = arg;
    auth_principal who = gp();
    for(int i = 0; i < r->n; i++) {
        audit_event ev = {.action = 'R', .subtype = "read", .who = &who, .what = "Patient/p"};
        audit_record(r->l, &ev);
        atomic_fetch_add(&r->done, 1);
    }
    return NULL;
}

/* A writer that cannot keep up (here: the store's write lock held elsewhere)
 * makes requests wait for room instead of the queue growing without end. */
Test(audit, a_log_that_cannot_keep_up_holds_requests_back) {
    audit_log *l = audit_open(st);
    cr_assert_not_null(l);
    cr_assert_eq(store_begin(conn), KITH_OK); /* the audit writer now waits for the lock */
    recorder r = {.l = l, .n = 50000};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, record_many, &r), 0);
    usleep(1000 * 1000);
    int held = atomic_load(&r.done);
    cr_assert_lt(held, r.n, "all %d were queued while nothing could be written", held);
    cr_assert_eq(store_rollback(conn), KITH_OK);
    pthread_join(t, NULL);
    cr_assert_eq(atomic_load(&r.done), r.n);
    cr_assert_eq(audit_flush(l), KITH_OK);
    audit_close(l);
    verify_intact(r.n);
}

Test(audit, record_and_flush_with_no_log) {
    audit_event ev = {.action = 'R', .subtype = "read"};
    audit_record(NULL, &ev);
    cr_expect_eq(audit_flush(NULL), KITH_OK);
    audit_close(NULL);
}

/* Run sql on the database behind the store's back (as an attacker with the
 * file, or with the database owner's password, would): through sqlite3 on
 * the file, or psql on a PostgreSQL store. Returns whether it succeeded. */
static bool behind_the_back(const char *sql) {
    if(store_is_postgres(dbpath)) {
        /* PostgreSQL names a trigger with its table */
        buf b = BUF_INIT;
        for(const char *p = sql; *p;) {
            const char *u = strstr(p, "kith_audit_append_only_");
            if(!u) {
                buf_puts(&b, p);
                break;
            }
            buf_append(&b, p, (size_t)(u - p) + strlen("kith_audit_append_only_x"));
            buf_puts(&b, " ON kith_audit");
            p = u + strlen("kith_audit_append_only_x");
        }
        char cmd[TEMP_STORE_PATH + 96];
        snprintf(cmd, sizeof cmd, "psql -X -q -v ON_ERROR_STOP=1 '%s' -f - >/dev/null 2>&1", dbpath);
        FILE *f = popen(cmd, "w");
        cr_assert_not_null(f);
        fputs(buf_str(&b), f);
        buf_free(&b);
        return pclose(f) == 0;
    }
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    int r = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return r == SQLITE_OK;
}

static void tamper(const char *sql) {
    cr_assert(behind_the_back(sql), "%s", sql);
}

static void write_n(int n) {
    auth_principal who = gp();
    for(int i = 0; i < n; i++) {
        audit_event ev = {.action = 'R', .subtype = "read", .who = &who, .patient = "p-1"};
        cr_assert_eq(audit_write_now(conn, &ev), KITH_OK);
    }
}

static void verify_broken_at(int64_t want_broken, int64_t want_checked, const char *why) {
    int64_t checked = -1, broken = -1;
    char msg[256];
    cr_assert_eq(audit_verify(conn, &checked, &broken, msg, sizeof msg), KITH_EINVALID, "%s", msg);
    cr_expect_eq(broken, want_broken, "%s", msg);
    cr_expect_eq(checked, want_checked, "%s", msg);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "audit entry %lld: ", (long long)want_broken);
    cr_expect(strncmp(msg, prefix, strlen(prefix)) == 0, "msg: %s", msg);
    cr_expect(strstr(msg, why) != NULL, "msg '%s' says '%s'", msg, why);
}

Test(audit, the_log_refuses_update_and_delete) {
    write_n(2);
    cr_expect_not(behind_the_back("UPDATE kith_audit SET outcome = '0' WHERE seq = 1"));
    cr_expect_not(behind_the_back("DELETE FROM kith_audit WHERE seq = 1"));
    verify_intact(2);
}

Test(audit, a_changed_body_is_named) {
    write_n(5);
    tamper("DROP TRIGGER kith_audit_append_only_u; DROP TRIGGER kith_audit_append_only_d;"
           "UPDATE kith_audit SET body = replace(body, '\"outcome\":\"0\"', '\"outcome\":\"4\"') WHERE seq = 3");
    verify_broken_at(3, 2, "changed");
}

Test(audit, a_changed_column_is_named) {
    write_n(4);
    tamper("DROP TRIGGER kith_audit_append_only_u; UPDATE kith_audit SET patient = 'p-2' WHERE seq = 2");
    verify_broken_at(2, 1, "changed");
}

Test(audit, a_replaced_hash_is_named) {
    write_n(4);
    /* a forged hash on entry 2 no longer matches its content */
    tamper("DROP TRIGGER kith_audit_append_only_u;"
           "UPDATE kith_audit SET hash = '0000000000000000000000000000000000000000000000000000000000000000' "
           "WHERE seq = 2");
    verify_broken_at(2, 1, "changed");
}

Test(audit, a_removed_entry_is_named) {
    write_n(5);
    tamper("DROP TRIGGER kith_audit_append_only_d; DELETE FROM kith_audit WHERE seq = 3");
    verify_broken_at(4, 2, "missing");
}

Test(audit, removing_the_last_entries_is_not_caught) {
    /* what the chain can and cannot show: truncating the tail leaves a valid
     * chain (the count drops), so operators must keep the count elsewhere */
    write_n(5);
    tamper("DROP TRIGGER kith_audit_append_only_d; DELETE FROM kith_audit WHERE seq > 3");
    verify_intact(3);
}

Test(audit, a_removed_first_entry_is_named) {
    write_n(3);
    tamper("DROP TRIGGER kith_audit_append_only_d; DELETE FROM kith_audit WHERE seq = 1");
    verify_broken_at(2, 0, "missing");
}
