/* test_search.c — src/fhir/search.c parsing, run against a store (SQLite, or PostgreSQL under make unit-pg). */
#include "temp_store.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fhir/record.h"
#include "fhir/index.h"
#include "fhir/search.h"

static char dbpath[TEMP_STORE_PATH];
static store *st;
static store_conn *conn;

static void setup(void) {
    st = temp_store_open("search", dbpath, &conn);
    static const char *const PATIENTS[] = {
        "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Évans\",\"given\":[\"Mair\"]}],"
        "\"birthDate\":\"1931-02-03\",\"gender\":\"female\"}",
        "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"name\":[{\"family\":\"Evanson\"}],\"birthDate\":\"1950\","
        "\"gender\":\"male\"}",
        "{\"resourceType\":\"Patient\",\"id\":\"p3\",\"name\":[{\"family\":\"Jones\"}],\"gender\":\"female\"}",
    };
    for(size_t i = 0; i < 3; i++) {
        json_value *v = NULL;
        cr_assert_eq(json_parse(PATIENTS[i], strlen(PATIENTS[i]), &v, NULL, 0), KITH_OK);
        record_result r;
        fhir_issues is = FHIR_ISSUES_INIT;
        cr_assert_eq(record_update(conn, "Patient", json_string(json_get(v, "id")), v, NULL, &r, &is), KITH_OK);
        record_result_free(&r);
        fhir_issues_free(&is);
        json_free(v);
    }
}

static void teardown(void) {
    temp_store_remove(st, dbpath);
}

TestSuite(search, .init = setup, .fini = teardown);

/* Ids matching query, joined with commas in result order. */
static char *ids_for(const char *query) {
    http_param *params = NULL;
    size_t n = 0;
    http_parse_query(query, &params, &n);
    fhir_search *s = NULL;
    fhir_issues is = FHIR_ISSUES_INIT;
    kith_rc rc = fhir_search_parse("Patient", params, n, true, "http://x", &s, &is);
    cr_assert_eq(rc, KITH_OK, "%s: %s", query, is.n ? is.v[0].diagnostics : "");
    char **ids = NULL;
    size_t nids = 0;
    cr_assert_eq(fhir_search_ids(conn, s, 100, &ids, &nids), KITH_OK);
    buf b = BUF_INIT;
    for(size_t i = 0; i < nids; i++) {
        buf_printf(&b, "%s%s", i ? "," : "", ids[i]);
        free(ids[i]);
    }
    free(ids);
    fhir_search_free(s);
    fhir_issues_free(&is);
    http_params_free(params, n);
    return buf_take(&b, NULL);
}

static void expect(const char *query, const char *want) {
    char *got = ids_for(query);
    cr_assert_str_eq(got, want, "%s", query);
    free(got);
}

Test(search, strings_ignore_case_and_accents) {
    expect("family=evans", "p1,p2");
    expect("family:exact=Évans", "p1");
    expect("name:contains=anso", "p2");
}

Test(search, tokens_dates_and_missing) {
    expect("gender=female", "p1,p3");
    expect("gender:not=female", "p2");
    expect("birthdate=1931", "p1");
    expect("birthdate=lt1940", "p1");
    expect("birthdate=ge1950-06", "p2");
    expect("birthdate:missing=true", "p3");
}

Test(search, sorting_and_repeated_sort) {
    expect("_sort=-birthdate", "p2,p1,p3");
    /* Found by fuzzing: a repeated _sort overflowed the key array. */
    expect("_sort=gender&_sort=-_id", "p3,p1,p2");
}

Test(search, malformed_values_are_refused) {
    static const char *const BAD[] = {"birthdate=1931-02-30", "birthdate=zz2020", "_count=-1", "gender:bogus=x",
                                      "_sort=nosuch", "kith-unknown=1"};
    for(size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        http_param *params = NULL;
        size_t n = 0;
        http_parse_query(BAD[i], &params, &n);
        fhir_search *s = NULL;
        fhir_issues is = FHIR_ISSUES_INIT;
        cr_assert_eq(fhir_search_parse("Patient", params, n, true, "http://x", &s, &is), KITH_EINVAL, "%s", BAD[i]);
        cr_assert_geq(is.n, 1);
        fhir_issues_free(&is);
        http_params_free(params, n);
    }
}

Test(search, normalising_folds_case_and_accents_in_any_script) {
    static const char *const CASES[][2] = {{"Müller", "muller"},         {"MU\xcc\x88LLER", "muller"},
                                           {"Σωκράτης", "σωκρατησ"},     {"ИВАНОВ", "иванов"},
                                           {"Straße", "strasse"},         {"Ŵyn", "wyn"},
                                           {"ﬁne", "fine"}};
    for(size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char *n = fhir_index_normalise(CASES[i][0]);
        cr_assert_str_eq(n, CASES[i][1], "%s", CASES[i][0]);
        free(n);
    }
}

Test(search, token_in_and_not_in_a_known_value_set) {
    expect("gender:in=http://hl7.org/fhir/ValueSet/administrative-gender", "p1,p2,p3");
    expect("gender:not-in=http://hl7.org/fhir/ValueSet/administrative-gender", "");
    http_param *params = NULL;
    size_t n = 0;
    http_parse_query("gender:in=http://example.org/no-such-set", &params, &n);
    fhir_search *s = NULL;
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_assert_eq(fhir_search_parse("Patient", params, n, true, "http://x", &s, &is), KITH_EINVAL);
    fhir_issues_free(&is);
    http_params_free(params, n);
}
