/* test_store.c — src/store (SQLite backend) and src/fhir/record.c write path. */
#include "temp_store.h"
#include <criterion/criterion.h>
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
