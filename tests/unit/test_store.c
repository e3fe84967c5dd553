/* test_store.c — src/store (SQLite, or PostgreSQL under make unit-pg) and src/fhir/record.c write path. */
#include "temp_store.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fhir/record.h"
#include "store/store.h"

static char dbpath[TEMP_STORE_PATH];
static store *st;
static store_conn *conn;

static void setup(void) {
    st = temp_store_open("store", dbpath, &conn);
}

static void teardown(void) {
    temp_store_remove(st, dbpath);
}

static json_value *parse(const char *t) {
    json_value *v = NULL;
    cr_assert_eq(json_parse(t, strlen(t), &v, NULL, 0), KITH_OK, "bad test JSON %s", t);
    return v;
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, versions_history_and_delete) {
    store_index_row tok = {.kind = STORE_IX_TOKEN, .param = "identifier", .a = "https://fhir.nhs.uk/Id/nhs-number",
                           .b = "9990000018"};
    for(int v = 1; v <= 3; v++) {
        char body[64];
        snprintf(body, sizeof body, "{\"v\":%d}", v);
        store_put p = {.type = "Patient", .id = "p1", .version = v, .last_updated = "2026-01-01T00:00:00.000Z",
                       .method = "PUT", .patient = "p1", .body = body, .body_len = strlen(body),
                       .rows = &tok, .nrows = 1};
        cr_assert_eq(store_begin(conn), KITH_OK);
        cr_assert_eq(store_write(conn, &p), KITH_OK);
        cr_assert_eq(store_commit(conn), KITH_OK);
    }
    store_resource r;
    cr_assert_eq(store_read(conn, "Patient", "p1", 0, &r), KITH_OK);
    cr_assert_eq(r.version, 3);
    cr_assert_str_eq(r.body, "{\"v\":3}");
    store_resource_free(&r);
    cr_assert_eq(store_read(conn, "Patient", "p1", 2, &r), KITH_OK);
    cr_assert_str_eq(r.body, "{\"v\":2}");
    store_resource_free(&r);
    cr_assert_eq(store_read(conn, "Patient", "p1", 9, &r), KITH_ENOTFOUND);
    store_resource_free(&r);

    char **ids = NULL;
    size_t n = 0;
    cr_assert_eq(store_find_token(conn, "Patient", "identifier", NULL, "9990000018", 10, &ids, &n), KITH_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(ids[0], "p1");
    free(ids[0]);
    free(ids);

    store_put del = {.type = "Patient", .id = "p1", .version = 4, .last_updated = "2026-01-02T00:00:00.000Z",
                     .method = "DELETE"};
    store_begin(conn);
    cr_assert_eq(store_write(conn, &del), KITH_OK);
    store_commit(conn);
    cr_assert_eq(store_read(conn, "Patient", "p1", 0, &r), KITH_EGONE);
    cr_assert(r.deleted);
    store_resource_free(&r);
    cr_assert_eq(store_find_token(conn, "Patient", "identifier", NULL, "9990000018", 10, &ids, &n), KITH_OK);
    cr_assert_eq(n, 0, "a deleted resource must leave the index");
    free(ids);
    int64_t count = -1;
    cr_assert_eq(store_count(conn, "Patient", &count), KITH_OK);
    cr_assert_eq(count, 0);
}

/* Ids with the token code, in the current index (a store_find_token wrapper). */
static size_t token_count(const char *code, const char *want_id) {
    char **ids = NULL;
    size_t n = 0;
    cr_assert_eq(store_find_token(conn, "Patient", "identifier", NULL, code, 10, &ids, &n), KITH_OK);
    if(want_id && n) cr_assert_str_eq(ids[0], want_id);
    for(size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    return n;
}

static kith_rc put_token(const char *id, int64_t version, const char *code, const char *body) {
    store_index_row tok = {.kind = STORE_IX_TOKEN, .param = "identifier", .a = "https://fhir.nhs.uk/Id/nhs-number",
                           .b = code};
    store_put p = {.type = "Patient", .id = id, .version = version, .last_updated = "2026-01-01T00:00:00.000Z",
                   .method = "PUT", .patient = id, .body = body, .body_len = strlen(body), .rows = &tok, .nrows = 1};
    return store_write(conn, &p);
}

/* store_bulk_load (kith import; COPY on PostgreSQL): reads of the batch, writes held back, the same outcome. */
Test(store, bulk_load_gives_what_single_writes_give) {
    cr_assert_eq(store_begin(conn), KITH_OK);
    cr_assert_eq(put_token("p1", 1, "9990000018", "{\"v\":1}"), KITH_OK);
    cr_assert_eq(store_commit(conn), KITH_OK);

    const char *types[] = {"Patient", "Patient", "Patient", "Patient"};
    const char *ids[] = {"p1", "p2", "p2", "p3"}; /* a name twice is allowed */
    cr_assert_eq(store_begin(conn), KITH_OK);
    cr_assert_eq(store_bulk_load(conn, types, ids, 4), KITH_OK);
    store_resource r;
    cr_assert_eq(store_read(conn, "Patient", "p1", 0, &r), KITH_OK);
    cr_assert_eq(r.version, 1);
    cr_assert_str_eq(r.body, "{\"v\":1}");
    cr_assert_str_eq(r.patient, "p1");
    store_resource_free(&r);
    cr_assert_eq(store_read(conn, "Patient", "p2", 0, &r), KITH_ENOTFOUND);
    store_resource_free(&r);
    /* a body with the characters COPY's text format escapes */
    const char *odd = "{\"note\":\"tab\there\\back\nline\rend\"}";
    cr_assert_eq(put_token("p2", 1, "111", odd), KITH_OK);
    cr_assert_eq(put_token("p1", 2, "222", "{\"v\":2}"), KITH_OK);
    cr_assert_eq(store_read(conn, "Patient", "p2", 0, &r), KITH_OK, "a write held back is read back");
    cr_assert_eq(r.version, 1);
    cr_assert_str_eq(r.body, odd);
    store_resource_free(&r);
    cr_assert_eq(put_token("p2", 2, "333", "{\"v\":2}"), KITH_OK);
    cr_assert_eq(token_count("333", "p2"), 1, "another statement sees every write before it");
    cr_assert_eq(store_commit(conn), KITH_OK);

    cr_assert_eq(store_read(conn, "Patient", "p1", 0, &r), KITH_OK);
    cr_assert_eq(r.version, 2);
    store_resource_free(&r);
    cr_assert_eq(store_read(conn, "Patient", "p2", 1, &r), KITH_OK);
    cr_assert_str_eq(r.body, odd);
    store_resource_free(&r);
    cr_assert_eq(token_count("9990000018", NULL), 0, "the replaced version's index rows are gone");
    cr_assert_eq(token_count("111", NULL), 0);
    cr_assert_eq(token_count("222", "p1"), 1);
    cr_assert_eq(token_count("333", "p2"), 1);

    cr_assert_eq(store_begin(conn), KITH_OK);
    cr_assert_eq(store_bulk_load(conn, types + 3, ids + 3, 1), KITH_OK);
    cr_assert_eq(put_token("p3", 1, "444", "{}"), KITH_OK);
    cr_assert_eq(store_rollback(conn), KITH_OK);
    cr_assert_eq(store_read(conn, "Patient", "p3", 0, &r), KITH_ENOTFOUND, "a rolled back batch leaves nothing");
    store_resource_free(&r);
    cr_assert_eq(token_count("444", NULL), 0);
}

Test(store, rollback_leaves_nothing) {
    store_put p = {.type = "Observation", .id = "o1", .version = 1, .last_updated = "2026-01-01T00:00:00.000Z",
                   .method = "PUT", .body = "{}", .body_len = 2};
    cr_assert_eq(store_begin(conn), KITH_OK);
    cr_assert_eq(store_write(conn, &p), KITH_OK);
    cr_assert_eq(store_rollback(conn), KITH_OK);
    store_resource r;
    cr_assert_eq(store_read(conn, "Observation", "o1", 0, &r), KITH_ENOTFOUND);
    store_resource_free(&r);
}

Test(store, schema_is_migrated_and_reopens) {
    cr_assert_geq(store_schema_version(st), 1);
    char msg[64];
    cr_assert_eq(store_check(conn, msg, sizeof msg), KITH_OK);
    cr_assert_str_eq(msg, "ok");
    store *again = NULL;
    char err[128];
    cr_assert_eq(store_open(dbpath, NULL, &again, err, sizeof err), KITH_OK, "%s", err);
    store_close(again);
}

Test(store, record_create_update_and_if_match) {
    json_value *p = parse("{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"s\",\"value\":\"v1\"}],"
                          "\"birthDate\":\"1931-02-03\"}");
    record_result r;
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_assert_eq(record_create(conn, "Patient", p, NULL, &r, &is), KITH_OK);
    cr_assert(r.created);
    cr_assert_eq(r.version, 1);
    char id[72];
    strcpy(id, r.id);
    cr_assert(strstr(r.body, "\"versionId\":\"1\""));
    record_result_free(&r);

    record_opts cond = {.if_none_exist = "identifier=s|v1"};
    cr_assert_eq(record_create(conn, "Patient", p, &cond, &r, &is), KITH_OK);
    cr_assert(r.unchanged);
    cr_assert_str_eq(r.id, id);
    record_result_free(&r);

    json_set(p, "id", json_new_string(id));
    record_opts stale = {.if_match = "W/\"7\""};
    cr_assert_eq(record_update(conn, "Patient", id, p, &stale, &r, &is), KITH_ECONFLICT);
    fhir_issues_free(&is);
    record_opts fresh = {.if_match = "W/\"1\""};
    cr_assert_eq(record_update(conn, "Patient", id, p, &fresh, &r, &is), KITH_OK);
    cr_assert_eq(r.version, 2);
    cr_assert_not(r.created);
    record_result_free(&r);
    json_free(p);
    fhir_issues_free(&is);
}

Test(store, record_rejects_invalid_and_stores_nothing) {
    json_value *p = parse("{\"resourceType\":\"Patient\",\"id\":\"x1\",\"birthDate\":\"1931-13-45\"}");
    record_result r;
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_assert_eq(record_update(conn, "Patient", "x1", p, NULL, &r, &is), KITH_EINVALID);
    cr_assert_geq(is.n, 1);
    cr_assert_not_null(is.v[0].expression);
    cr_assert(strstr(is.v[0].expression, "birthDate"), "expression was %s", is.v[0].expression);
    store_resource sr;
    cr_assert_eq(store_read(conn, "Patient", "x1", 0, &sr), KITH_ENOTFOUND);
    store_resource_free(&sr);
    fhir_issues_free(&is);
    json_free(p);

    p = parse("{\"resourceType\":\"Observation\",\"id\":\"x1\"}");
    cr_assert_eq(record_update(conn, "Patient", "x1", p, NULL, &r, &is), KITH_EINVAL, "type mismatch");
    fhir_issues_free(&is);
    json_free(p);
}

Test(store, id_rules) {
    cr_assert(record_id_valid("abc-DEF.123"));
    cr_assert_not(record_id_valid(""));
    cr_assert_not(record_id_valid("a b"));
    cr_assert_not(record_id_valid("a/b"));
    char longid[70];
    memset(longid, 'a', 65);
    longid[65] = '\0';
    cr_assert_not(record_id_valid(longid));
    longid[64] = '\0';
    cr_assert(record_id_valid(longid));
}

/* Regression: the importer passes an id that points into the resource itself;
 * stamping the id must not free it before it is stored. */
Test(store, record_update_with_id_borrowed_from_the_body) {
    json_value *p = parse("{\"resourceType\":\"Patient\",\"id\":\"borrowed-id\",\"gender\":\"female\"}");
    record_result r;
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_assert_eq(record_update(conn, "Patient", json_string(json_get(p, "id")), p, NULL, &r, &is), KITH_OK);
    record_result_free(&r);
    store_resource sr;
    cr_assert_eq(store_read(conn, "Patient", "borrowed-id", 0, &sr), KITH_OK);
    store_resource_free(&sr);
    fhir_issues_free(&is);
    json_free(p);
}

/* ---- the viewer: the same access policy on every backend ---------------- */

static void put_row(const char *type, const char *id, const char *patient, const store_index_row *rows, size_t n) {
    store_put p = {.type = type, .id = id, .version = 1, .last_updated = "2026-01-01T00:00:00.000Z",
                   .method = "PUT", .patient = patient, .body = "{}", .body_len = 2, .rows = rows, .nrows = n};
    cr_assert_eq(store_begin(conn), KITH_OK);
    cr_assert_eq(store_write(conn, &p), KITH_OK, "%s/%s", type, id);
    cr_assert_eq(store_commit(conn), KITH_OK);
}

static int count_fn(void *ctx, const store_resource *r) {
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

/* How many Observations a search, a scan and a history show the current viewer. */
static void expect_observations(int want) {
    store_query q = {.type = "Observation", .count = 10, .want_total = true};
    int seen = 0;
    int64_t total = -1;
    char *next = NULL, *prev = NULL;
    cr_assert_eq(store_search(conn, &q, count_fn, &seen, &total, &next, &prev), KITH_OK);
    cr_assert_eq(seen, want, "search showed %d, not %d", seen, want);
    cr_assert_eq(total, want);
    const char *types[] = {"Observation"};
    store_scan_query sq = {.types = types, .ntypes = 1};
    int scanned = 0;
    cr_assert_eq(store_scan(conn, &sq, count_fn, &scanned), KITH_OK);
    cr_assert_eq(scanned, want, "scan showed %d, not %d", scanned, want);
    int64_t n = -1;
    cr_assert_eq(store_scan_count(conn, &sq, &n), KITH_OK);
    cr_assert_eq(n, want);
    store_history_query hq = {.type = "Observation", .count = 10};
    int versions = 0;
    cr_assert_eq(store_history(conn, &hq, count_fn, &versions, &total), KITH_OK);
    cr_assert_eq(versions, want, "history showed %d, not %d", versions, want);
}

Test(store, viewer_sees_only_the_people_in_their_care) {
    store_index_row gp = {.kind = STORE_IX_REFERENCE, .param = "general-practitioner", .a = "Organization", .b = "o1"};
    store_index_row label = {.kind = STORE_IX_TOKEN, .param = "_security", .a = "s", .b = "PSY"};
    put_row("Organization", "o1", NULL, NULL, 0);
    put_row("Patient", "p1", "p1", &gp, 1);
    put_row("Patient", "p2", "p2", NULL, 0);
    put_row("Observation", "obs1", "p1", NULL, 0);
    put_row("Observation", "obs2", "p2", NULL, 0);
    put_row("Observation", "obs3", "p1", &label, 1);

    store_viewer gp_user = {.account = "user/a", .org = "o1"};
    cr_assert_eq(store_set_viewer(conn, &gp_user), KITH_OK);
    store_resource r;
    cr_assert_eq(store_read(conn, "Observation", "obs1", 0, &r), KITH_OK);
    store_resource_free(&r);
    cr_assert_eq(store_read(conn, "Observation", "obs2", 0, &r), KITH_ENOTFOUND);
    cr_assert(r.hidden);
    store_resource_free(&r);
    cr_assert_eq(store_read(conn, "Organization", "o1", 0, &r), KITH_OK, "outside any record: seen by all");
    store_resource_free(&r);
    expect_observations(2);
    bool sees = true;
    cr_assert_eq(store_viewer_sees(conn, "Observation", "obs2", "p2", &sees), KITH_OK);
    cr_assert_not(sees);

    /* a sensitive label hides obs3 from a viewer who may not see it */
    store_viewer careful = {.account = "user/a", .org = "o1", .hidden_labels = "PSY ETH"};
    cr_assert_eq(store_set_viewer(conn, &careful), KITH_OK);
    expect_observations(1);
    cr_assert_eq(store_read(conn, "Observation", "obs3", 0, &r), KITH_ENOTFOUND);
    store_resource_free(&r);

    /* broken glass for p2 shows p2's record, and lifts the label for p2 only */
    store_set_viewer(conn, NULL);
    cr_assert_eq(store_grant_add(conn, "user/a", "p2", 4102444800, "emergency"), KITH_OK);
    cr_assert_eq(store_set_viewer(conn, &careful), KITH_OK);
    expect_observations(2);

    store_viewer analyst = {.no_patient_data = true};
    cr_assert_eq(store_set_viewer(conn, &analyst), KITH_OK);
    expect_observations(0);
    cr_assert_eq(store_read(conn, "Organization", "o1", 0, &r), KITH_OK);
    store_resource_free(&r);

    cr_assert_eq(store_set_viewer(conn, NULL), KITH_OK);
    expect_observations(3);
}

Test(store, accounts_tokens_and_audit_entries) {
    store_account a = {.kind = "user", .name = "nurse", .role = "nurse", .org = "o1", .created = 5};
    cr_assert_eq(store_account_put(conn, &a), KITH_OK);
    a.failures = 2;
    cr_assert_eq(store_account_put(conn, &a), KITH_OK, "put replaces");
    store_account got;
    cr_assert_eq(store_account_get(conn, "user", "nurse", &got), KITH_OK);
    cr_assert_eq(got.failures, 2);
    cr_assert_str_eq(got.org, "o1");
    cr_assert_null(got.secret);
    store_account_free(&got);
    cr_assert_eq(store_account_get(conn, "user", "nobody", &got), KITH_ENOTFOUND);

    store_token t = {.hash = "abc", .kind = "user", .subject = "nurse", .scopes = "user/*.read", .expires = 4102444800};
    cr_assert_eq(store_token_put(conn, &t), KITH_OK);
    store_token tg;
    cr_assert_eq(store_token_get(conn, "abc", &tg), KITH_OK);
    cr_assert_str_eq(tg.subject, "nurse");
    store_token_free(&tg);
    cr_assert_eq(store_token_delete(conn, "abc"), KITH_OK);
    cr_assert_eq(store_token_get(conn, "abc", &tg), KITH_ENOTFOUND);

    store_audit_entry e[2] = {
        {.recorded = "2026-01-01T00:00:00Z", .agent = "user/nurse", .patient = "p1", .action = "R", .outcome = "0",
         .body = "{}", .prev_hash = "", .hash = "h1"},
        {.recorded = "2026-01-01T00:00:01Z", .agent = "user/nurse", .action = "E", .outcome = "0", .body = "{}",
         .prev_hash = "h1", .hash = "h2"},
    };
    cr_assert_eq(store_begin(conn), KITH_OK);
    cr_assert_eq(store_audit_append(conn, e, 2), KITH_OK);
    cr_assert_eq(store_commit(conn), KITH_OK);
    cr_assert_eq(e[0].seq, 1);
    cr_assert_eq(e[1].seq, 2);
    int64_t seq = 0;
    char *hash = NULL;
    cr_assert_eq(store_audit_last(conn, &seq, &hash), KITH_OK);
    cr_assert_eq(seq, 2);
    cr_assert_str_eq(hash, "h2");
    free(hash);
}

static kith_rc write_job(store_conn *c, void *ctx) {
    return store_write(c, ctx);
}

Test(store, a_failed_write_undoes_only_itself) {
    store_put a = {.type = "Basic", .id = "a", .version = 1, .last_updated = "2026-01-01T00:00:00.000Z",
                   .method = "PUT", .body = "{}", .body_len = 2};
    store_put b = a;
    b.id = "b";
    store_put dup = a; /* the same version again: refused by the database */
    cr_assert_eq(store_run_grouped(conn, write_job, &a), KITH_OK);
    cr_assert_eq(store_run_grouped(conn, write_job, &dup), KITH_ECONFLICT);
    cr_assert_eq(store_run_grouped(conn, write_job, &b), KITH_OK, "the connection is usable after a failed job");
    cr_assert_eq(store_begin(conn), KITH_OK);
    cr_assert_eq(store_write(conn, &dup), KITH_ECONFLICT);
    cr_assert_eq(store_rollback(conn), KITH_OK);
    int64_t n = 0;
    cr_assert_eq(store_count(conn, "Basic", &n), KITH_OK);
    cr_assert_eq(n, 2);
}

/* Ids a full-text filter (_text or _content) finds among Basic resources. */
static int text_matches(const char *param, const char *words) {
    store_match m = {.op = STORE_OP_MATCH, .a = words};
    store_filter f = {.kind = STORE_IX_TEXT, .param = param, .ors = &m, .nors = 1};
    store_query q = {.type = "Basic", .filters = &f, .nfilters = 1, .count = 10};
    int seen = 0;
    int64_t total = 0;
    char *next = NULL, *prev = NULL;
    cr_assert_eq(store_search(conn, &q, count_fn, &seen, &total, &next, &prev), KITH_OK, "%s=%s", param, words);
    free(next);
    free(prev);
    return seen;
}

Test(store, full_text_ignores_case_and_accents) {
    store_index_row text = {.kind = STORE_IX_TEXT, .param = "_text", .a = "Home visit by the district nurse",
                            .b = "Home visit by the district nurse at Caffi Éryri"};
    put_row("Basic", "b1", NULL, &text, 1);
    put_row("Basic", "b2", NULL, NULL, 0);
    cr_assert_eq(text_matches("_text", "visit"), 1);
    cr_assert_eq(text_matches("_text", "DISTRICT nurse"), 1, "every word, any case");
    cr_assert_eq(text_matches("_text", "eryri"), 0, "the narrative does not say it");
    cr_assert_eq(text_matches("_content", "eryri"), 1, "accents folded");
    cr_assert_eq(text_matches("_content", "Éryri caffi"), 1);
    cr_assert_eq(text_matches("_content", "nurse hospital"), 0, "every word must occur");
}

Test(store, a_url_in_a_log_keeps_no_password) {
    char out[128];
    store_url_for_log("postgresql://kith:s3cret@db.example.org:5432/kith?sslmode=require", out, sizeof out);
    cr_assert_str_eq(out, "postgresql://kith:***@db.example.org:5432/kith?sslmode=require");
    store_url_for_log("postgresql://kith@db/kith", out, sizeof out);
    cr_assert_str_eq(out, "postgresql://kith@db/kith");
    store_url_for_log("postgres://db/kith?options=-csearch_path%3Da@b", out, sizeof out);
    cr_assert_str_eq(out, "postgres://db/kith?options=-csearch_path%3Da@b");
    store_url_for_log("/var/lib/kith/kith:db@x", out, sizeof out);
    cr_assert_str_eq(out, "/var/lib/kith/kith:db@x");
}

/* ---- one writer at a time, across stores (as across processes) ------------ */

typedef struct second_writer {
    store *st;
    _Atomic int *first_committed;
    int saw_commit; /* what the second writer saw once it had the lock */
    kith_rc rc;
} second_writer;

static void *write_second(void *arg) {
    second_writer *w = arg;
    store_conn *c = store_conn_for_thread(w->st);
    w->rc = store_begin(c);
    w->saw_commit = atomic_load(w->first_committed);
    if(!w->rc) w->rc = store_commit(c);
    store_thread_release(w->st);
    return NULL;
}

Test(store, a_second_store_on_the_same_database_waits_for_the_writer) {
    store *other = NULL;
    char err[256];
    store_options o = {.durable_full = false};
    cr_assert_eq(store_open(dbpath, &o, &other, err, sizeof err), KITH_OK, "%s", err);
    _Atomic int committed = 0;
    second_writer w = {.st = other, .first_committed = &committed};
    cr_assert_eq(store_begin(conn), KITH_OK);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, write_second, &w), 0);
    usleep(300 * 1000); /* the second writer is waiting for the lock by now */
    atomic_store(&committed, 1);
    cr_assert_eq(store_commit(conn), KITH_OK);
    pthread_join(t, NULL);
    cr_assert_eq(w.rc, KITH_OK);
    cr_assert_eq(w.saw_commit, 1, "the second store began while the first held the write lock");
    store_close(other);
}

/* ---- other processes' writes (store_watch) --------------------------------- */

typedef struct heard {
    pthread_mutex_t mu;
    char last[160];
    int n;
} heard;

static void on_change(void *ctx, const char *type, const char *id) {
    heard *h = ctx;
    pthread_mutex_lock(&h->mu);
    snprintf(h->last, sizeof h->last, "%s/%s", type, id);
    h->n++;
    pthread_mutex_unlock(&h->mu);
}

/* Two stores on one database stand for two processes: a write through one is
 * heard by the other after it commits, and not by the one that made it. On
 * SQLite (one process owns the file) watching is not supported. */
Test(store_watch, writes_of_another_process_are_heard_after_commit) {
    char path[TEMP_STORE_PATH];
    store_conn *c1;
    store *s1 = temp_store_open("watch", path, &c1);
    heard h1 = {.mu = PTHREAD_MUTEX_INITIALIZER}, h2 = {.mu = PTHREAD_MUTEX_INITIALIZER};
    kith_rc rc = store_watch(s1, on_change, &h1);
    if(!store_is_postgres(path)) {
        cr_assert_eq(rc, KITH_EUNSUPPORTED);
        temp_store_remove(s1, path);
        return;
    }
    cr_assert_eq(rc, KITH_OK);
    store *s2 = NULL;
    char err[256];
    cr_assert_eq(store_open(path, NULL, &s2, err, sizeof err), KITH_OK, "%s", err);
    cr_assert_eq(store_watch(s2, on_change, &h2), KITH_OK);
    usleep(300000); /* both LISTENing */
    store_conn *c2 = store_conn_for_thread(s2);
    store_put p = {.type = "Patient", .id = "heard-1", .version = 1, .last_updated = "2026-01-01T00:00:00.000Z",
                   .method = "PUT", .body = "{}", .body_len = 2};
    cr_assert_eq(store_begin(c2), KITH_OK);
    cr_assert_eq(store_write(c2, &p), KITH_OK);
    usleep(400000);
    pthread_mutex_lock(&h1.mu);
    cr_assert_eq(h1.n, 0, "nothing is heard before the commit");
    pthread_mutex_unlock(&h1.mu);
    cr_assert_eq(store_commit(c2), KITH_OK);
    for(int i = 0; i < 50; i++) {
        pthread_mutex_lock(&h1.mu);
        int n = h1.n;
        pthread_mutex_unlock(&h1.mu);
        if(n) break;
        usleep(100000);
    }
    pthread_mutex_lock(&h1.mu);
    cr_assert_eq(h1.n, 1);
    cr_assert_str_eq(h1.last, "Patient/heard-1");
    pthread_mutex_unlock(&h1.mu);
    pthread_mutex_lock(&h2.mu);
    cr_assert_eq(h2.n, 0, "a store does not hear its own writes");
    pthread_mutex_unlock(&h2.mu);
    /* a write that is rolled back is never heard */
    p.id = "heard-2";
    cr_assert_eq(store_begin(c2), KITH_OK);
    cr_assert_eq(store_write(c2, &p), KITH_OK);
    cr_assert_eq(store_rollback(c2), KITH_OK);
    usleep(500000);
    pthread_mutex_lock(&h1.mu);
    cr_assert_eq(h1.n, 1);
    pthread_mutex_unlock(&h1.mu);
    cr_assert_eq(store_watch(s1, NULL, NULL), KITH_OK);
    store_close(s2);
    temp_store_remove(s1, path);
}

/* ---- the connection pool --------------------------------------------------- */

typedef struct pool_user {
    store *st;
    store_conn *got;
    kith_rc read_rc; /* reading obs2 through the connection it was given */
} pool_user;

static void *take_and_read(void *arg) {
    pool_user *u = arg;
    u->got = store_conn_for_thread(u->st);
    store_resource r;
    u->read_rc = u->got ? store_read(u->got, "Observation", "obs2", 0, &r) : KITH_ESTORE;
    if(u->got) store_resource_free(&r);
    store_conn_return(u->st);
    return NULL;
}

Test(store, a_pool_of_one_connection_is_shared_and_cleared_between_users) {
    put_row("Organization", "o1", NULL, NULL, 0);
    put_row("Patient", "p2", "p2", NULL, 0);
    put_row("Observation", "obs2", "p2", NULL, 0);
    store *pooled = NULL;
    char err[256];
    store_options o = {.max_connections = 1};
    cr_assert_eq(store_open(dbpath, &o, &pooled, err, sizeof err), KITH_OK, "%s", err);
    store_conn *mine = store_conn_for_thread(pooled);
    cr_assert_not_null(mine);
    store_viewer gp_user = {.account = "user/a", .org = "o1"}; /* o1 does not care for p2 */
    cr_assert_eq(store_set_viewer(mine, &gp_user), KITH_OK);

    pool_user u = {.st = pooled};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, take_and_read, &u), 0);
    usleep(300 * 1000); /* the other thread waits: the only connection is held here */
    cr_assert_null(u.got, "a second connection was opened beyond the pool's size");
    store_stats stats;
    store_get_stats(pooled, &stats);
    cr_assert_eq(stats.connections, 1);
    cr_assert_eq(stats.pool_waits, 1);
    store_conn_return(pooled);
    pthread_join(t, NULL);
    cr_assert_eq(u.got, mine, "the connection given back is the one reused");
    cr_assert_eq(u.read_rc, KITH_OK, "the viewer of the connection's last user was cleared");
    store_close(pooled);
}
