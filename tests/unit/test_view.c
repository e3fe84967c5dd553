/*
 * test_view.c — SQL on FHIR views (src/view): what view_compile refuses and
 * how it says so, the row semantics of forEach / forEachOrNull / unionAll /
 * nested selects, keys and constants, the CSV / NDJSON / JSON writers, and
 * view_run_store's paging over a store. The official suite runs separately
 * (make sof-conformance).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "json/json.h"
#include "store/store.h"
#include "temp_store.h"
#include "view/view.h"

static json_value *parse_json(const char *text) {
    json_value *v = NULL;
    char err[200];
    cr_assert_eq(json_parse(text, strlen(text), &v, err, sizeof err), KITH_OK, "bad test JSON: %s: %s", err, text);
    return v;
}

/* The message view_compile gives for def (static), or NULL if it compiles. */
static const char *compile_error(const char *def) {
    static char err[1024];
    json_value *j = parse_json(def);
    view *v = NULL;
    kith_rc rc = view_compile(j, &v, err, sizeof err);
    json_free(j);
    view_free(v);
    if(rc == KITH_OK) return NULL;
    cr_assert_eq(rc, KITH_EINVALID);
    return err;
}

static void refused(const char *def, const char *needle) {
    const char *err = compile_error(def);
    cr_assert_not_null(err, "should be refused: %s", def);
    cr_assert(strstr(err, needle), "message '%s' should contain '%s'", err, needle);
}

static kith_rc to_buf(void *ctx, const char *data, size_t len) {
    return buf_append(ctx, data, len);
}

/* Run def over the resources (a JSON array) and return the output (caller
 * frees), or NULL with the run's message in err. */
static char *run_fmt(const char *def, const char *resources, view_format f, bool header, char *err, size_t errlen) {
    json_value *d = parse_json(def), *rs = parse_json(resources);
    view *v = NULL;
    buf out = BUF_INIT;
    char *text = NULL;
    cr_assert_eq(view_compile(d, &v, err, errlen), KITH_OK, "compile: %s", err);
    view_writer *w = view_writer_new(v, f, header, to_buf, &out);
    kith_rc rc = KITH_OK;
    for(size_t i = 0; i < json_array_len(rs) && !rc; i++)
        rc = view_run_resource(v, json_array_at(rs, i), view_writer_row, w, err, errlen);
    if(!rc) rc = view_writer_finish(w);
    if(!rc) text = buf_take(&out, NULL);
    buf_free(&out);
    view_writer_free(w);
    view_free(v);
    json_free(d);
    json_free(rs);
    return text;
}

static void expect_rows(const char *def, const char *resources, const char *want) {
    char err[1024] = "";
    char *got = run_fmt(def, resources, VIEW_FORMAT_NDJSON, true, err, sizeof err);
    cr_assert_not_null(got, "run failed: %s", err);
    cr_assert_str_eq(got, want);
    free(got);
}

static void expect_run_error(const char *def, const char *resources, const char *needle) {
    char err[1024] = "";
    char *got = run_fmt(def, resources, VIEW_FORMAT_NDJSON, true, err, sizeof err);
    cr_assert_null(got, "should fail, gave %s", got ? got : "");
    cr_assert(strstr(err, needle), "message '%s' should contain '%s'", err, needle);
}

static const char PEOPLE[] =
    "[{\"resourceType\":\"Patient\",\"id\":\"a\",\"gender\":\"female\",\"name\":[{\"family\":\"Ng\",\"given\":[\"Ann\","
    "\"Bea\"]},{\"family\":\"Smith\",\"given\":[\"Ann\"]}],\"telecom\":[{\"value\":\"0113\"}]},"
    "{\"resourceType\":\"Patient\",\"id\":\"b\"},"
    "{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\",\"code\":{\"text\":\"x\"}}]";

/* ---- refusals ------------------------------------------------------------------ */

Test(view_compile, refuses_what_is_not_a_view) {
    refused("{}", "resource: is required");
    refused("[]", "must be a JSON object");
    refused("{\"resourceType\":\"Patient\",\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"a\","
            "\"path\":\"id\"}]}]}",
            "resourceType: must be ViewDefinition");
    refused("{\"resource\":\"Pateint\",\"select\":[{\"column\":[{\"name\":\"a\",\"path\":\"id\"}]}]}",
            "'Pateint' is not a FHIR R4 resource type");
    refused("{\"resource\":\"Patient\"}", "select: is required");
    refused("{\"resource\":\"Patient\",\"select\":[]}", "select: must be a non-empty array");
    refused("{\"resource\":\"Patient\",\"selects\":[]}", "unknown element 'selects'");
    refused("{\"resource\":\"Patient\",\"status\":\"live\",\"select\":[{\"column\":[{\"name\":\"a\",\"path\":\"id\"}]}]}",
            "status: must be draft, active, retired or unknown");
}

Test(view_compile, names_the_bad_element) {
    refused("{\"resource\":\"Patient\",\"select\":[{\"forEach\":1}]}",
            "select[0].forEach: must be a FHIRPath expression (a string), not integer");
    refused("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"a\",\"path\":\"id\"}]},"
            "{\"forEach\":\"name\",\"column\":[{\"name\":\"b\",\"path\":\"family..x\"}]}]}",
            "select[1].column[0].path: 'family..x' is not valid FHIRPath");
    refused("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"a\",\"pth\":\"id\"}]}]}",
            "select[0].column[0]: unknown element 'pth'");
    refused("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"a\"}]}]}", "select[0].column[0].path: is required");
    refused("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"first name\",\"path\":\"id\"}]}]}",
            "'first name' is not a valid column name");
    refused("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"a\",\"path\":\"id\",\"collection\":\"yes\"}]}]}",
            "select[0].column[0].collection: must be true or false");
    refused("{\"resource\":\"Patient\",\"select\":[{\"forEach\":\"name\",\"forEachOrNull\":\"name\",\"column\":[{"
            "\"name\":\"a\",\"path\":\"id\"}]}]}",
            "select[0]: has both forEach and forEachOrNull");
    refused("{\"resource\":\"Patient\",\"select\":[{\"forEach\":\"name\"}]}",
            "select[0]: has no column, select or unionAll");
    refused("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"a\",\"path\":\"id\"}]}],"
            "\"where\":[{\"path\":\"@@\"}]}",
            "where[0].path: '@@' is not valid FHIRPath");
}

Test(view_compile, columns_are_unique_and_unions_agree) {
    refused("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"a\",\"path\":\"id\"}]},"
            "{\"column\":[{\"name\":\"a\",\"path\":\"gender\"}]}]}",
            "column 'a' appears twice");
    refused("{\"resource\":\"Patient\",\"select\":[{\"unionAll\":[{\"column\":[{\"name\":\"a\",\"path\":\"id\"},"
            "{\"name\":\"b\",\"path\":\"id\"}]},{\"column\":[{\"name\":\"b\",\"path\":\"id\"},{\"name\":\"a\","
            "\"path\":\"id\"}]}]}]}",
            "select[0].unionAll[1]: its columns (b, a) differ from select[0].unionAll[0]'s (a, b)");
    refused("{\"resource\":\"Patient\",\"select\":[{\"unionAll\":[]}]}", "select[0].unionAll: must not be empty");
}

Test(view_compile, constants_and_key_functions) {
    refused("{\"resource\":\"Patient\",\"constant\":[{\"name\":\"u\"}],\"select\":[{\"column\":[{\"name\":\"a\","
            "\"path\":\"id\"}]}]}",
            "constant[0]: constant 'u' has no value[x]");
    refused("{\"resource\":\"Patient\",\"constant\":[{\"name\":\"u\",\"valueString\":\"x\"}],\"select\":[{\"column\":"
            "[{\"name\":\"a\",\"path\":\"name.where(use = %v)\"}]}]}",
            "select[0].column[0].path: %v is not a constant of the view (defined: %u)");
    refused("{\"resource\":\"Patient\",\"constant\":[{\"name\":\"d\",\"valueDate\":\"2020-01-01'\"}],\"select\":[{"
            "\"column\":[{\"name\":\"a\",\"path\":\"id\"}]}]}",
            "constant[0].valueDate: not a valid Date value");
    refused("{\"resource\":\"Patient\",\"constant\":[{\"name\":\"q\",\"valueQuantity\":{\"value\":1}}],\"select\":[{"
            "\"column\":[{\"name\":\"a\",\"path\":\"id\"}]}]}",
            "constants of type Quantity are not supported");
    refused("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"a\",\"path\":\"link.other."
            "getReferenceKey(Pateint)\"}]}]}",
            "getReferenceKey(Pateint): 'Pateint' is not a FHIR R4 resource type");
    refused("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"a\",\"path\":\"getResourceKey(1)\"}]}]}",
            "getResourceKey() takes no arguments");
    /* a name in a string or a quoted identifier is left alone */
    cr_assert_null(compile_error("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"a\",\"path\":"
                                 "\"'%nope getResourceKey()' + `getReferenceKey`\"}]}]}"));
}

/* ---- rows ------------------------------------------------------------------------- */

Test(view_run, one_row_per_resource_of_its_type) {
    expect_rows("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"id\",\"path\":\"id\"},"
                "{\"name\":\"gender\",\"path\":\"gender\"},{\"name\":\"n\",\"path\":\"name.count()\"}]}]}",
                PEOPLE,
                "{\"id\":\"a\",\"gender\":\"female\",\"n\":2}\n"
                "{\"id\":\"b\",\"gender\":null,\"n\":0}\n");
}

Test(view_run, for_each_and_for_each_or_null) {
    /* forEach: a row per item; none for a resource without items */
    expect_rows("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"id\",\"path\":\"id\"}]},"
                "{\"forEach\":\"name\",\"column\":[{\"name\":\"family\",\"path\":\"family\"}]}]}",
                PEOPLE, "{\"id\":\"a\",\"family\":\"Ng\"}\n{\"id\":\"a\",\"family\":\"Smith\"}\n");
    /* forEachOrNull: one row of nulls instead */
    expect_rows("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"id\",\"path\":\"id\"}]},"
                "{\"forEachOrNull\":\"name\",\"column\":[{\"name\":\"family\",\"path\":\"family\"}]}]}",
                PEOPLE,
                "{\"id\":\"a\",\"family\":\"Ng\"}\n{\"id\":\"a\",\"family\":\"Smith\"}\n"
                "{\"id\":\"b\",\"family\":null}\n");
    /* nested: forEach over primitives, $this */
    expect_rows("{\"resource\":\"Patient\",\"select\":[{\"forEach\":\"name\",\"column\":[{\"name\":\"family\","
                "\"path\":\"family\"}],\"select\":[{\"forEach\":\"given\",\"column\":[{\"name\":\"given\",\"path\":"
                "\"$this\"}]}]}]}",
                PEOPLE,
                "{\"family\":\"Ng\",\"given\":\"Ann\"}\n{\"family\":\"Ng\",\"given\":\"Bea\"}\n"
                "{\"family\":\"Smith\",\"given\":\"Ann\"}\n");
    /* a forEach over computed values */
    expect_rows("{\"resource\":\"Patient\",\"select\":[{\"forEach\":\"name.given.distinct().select(upper())\",\"column\":[{"
                "\"name\":\"g\",\"path\":\"$this\"}]}]}",
                PEOPLE, "{\"g\":\"ANN\"}\n{\"g\":\"BEA\"}\n");
}

Test(view_run, union_all_and_cross_products) {
    /* unionAll: the rows of each branch, after one another */
    expect_rows("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"id\",\"path\":\"id\"}],"
                "\"unionAll\":[{\"forEach\":\"telecom\",\"column\":[{\"name\":\"v\",\"path\":\"value\"}]},"
                "{\"forEach\":\"name\",\"column\":[{\"name\":\"v\",\"path\":\"family\"}]}]}]}",
                PEOPLE,
                "{\"id\":\"a\",\"v\":\"0113\"}\n{\"id\":\"a\",\"v\":\"Ng\"}\n{\"id\":\"a\",\"v\":\"Smith\"}\n");
    /* an empty forEachOrNull branch still gives its null row */
    expect_rows("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"id\",\"path\":\"id\"}],"
                "\"unionAll\":[{\"forEachOrNull\":\"telecom\",\"column\":[{\"name\":\"v\",\"path\":\"value\"}]},"
                "{\"forEach\":\"telecom\",\"column\":[{\"name\":\"v\",\"path\":\"value\"}]}]}]}",
                "[{\"resourceType\":\"Patient\",\"id\":\"b\"}]", "{\"id\":\"b\",\"v\":null}\n");
    /* two forEach selects side by side: their cross product */
    expect_rows("{\"resource\":\"Patient\",\"select\":[{\"forEach\":\"telecom\",\"column\":[{\"name\":\"t\",\"path\":"
                "\"value\"}]},{\"forEach\":\"name\",\"column\":[{\"name\":\"f\",\"path\":\"family\"}]}]}",
                PEOPLE, "{\"t\":\"0113\",\"f\":\"Ng\"}\n{\"t\":\"0113\",\"f\":\"Smith\"}\n");
}

Test(view_run, collections_and_where) {
    expect_rows("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"given\",\"path\":\"name.given\","
                "\"collection\":true}]}],\"where\":[{\"path\":\"gender = 'female'\"}]}",
                PEOPLE, "{\"given\":[\"Ann\",\"Bea\",\"Ann\"]}\n");
    expect_run_error("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"given\",\"path\":\"name.given\"}]}]}",
                     PEOPLE, "select[0].column[0] 'given': 'name.given' gave 3 values on Patient/a");
    expect_run_error("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"id\",\"path\":\"id\"}]}],"
                     "\"where\":[{\"path\":\"name.family.first()\"}]}",
                     PEOPLE, "where[0].path: 'name.family.first()' gave a string on Patient/a, not a boolean");
}

Test(view_run, keys_join_resources_to_references) {
    static const char RES[] =
        "[{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
        "\"subject\":{\"reference\":\"Patient/p1/_history/3\"},\"performer\":[{\"reference\":\"Practitioner/d\"},"
        "{\"reference\":\"http://elsewhere.org/fhir/Patient/p1\"},{\"reference\":\"#c\"}]}]";
    expect_rows("{\"resource\":\"Observation\",\"select\":[{\"column\":[{\"name\":\"k\",\"path\":\"getResourceKey()\"},"
                "{\"name\":\"s\",\"path\":\"subject.getReferenceKey(Patient)\"},"
                "{\"name\":\"p\",\"path\":\"performer.getReferenceKey()\",\"collection\":true},"
                "{\"name\":\"none\",\"path\":\"subject.getReferenceKey(Group)\"}]}]}",
                RES, "{\"k\":\"Observation/o1\",\"s\":\"Patient/p1\",\"p\":[\"Practitioner/d\"],\"none\":null}\n");
}

Test(view_run, constants_keep_their_types) {
    static const char RES[] = "[{\"resourceType\":\"Patient\",\"id\":\"p\",\"birthDate\":\"1978-03-12\","
                              "\"name\":[{\"family\":\"O'Neil\"}]}]";
    expect_rows("{\"resource\":\"Patient\",\"constant\":[{\"name\":\"bd\",\"valueDate\":\"1978-03-12\"},"
                "{\"name\":\"fam\",\"valueString\":\"O'Neil\"},{\"name\":\"i\",\"valueInteger\":0}],"
                "\"select\":[{\"column\":[{\"name\":\"born\",\"path\":\"birthDate = %bd\"},"
                "{\"name\":\"irish\",\"path\":\"name[%i].family = %fam\"}]}]}",
                RES, "{\"born\":true,\"irish\":true}\n");
}

/* ---- writers ------------------------------------------------------------------------ */

Test(view_writer, csv_quotes_as_rfc_4180_says) {
    static const char RES[] =
        "[{\"resourceType\":\"Patient\",\"id\":\"p\",\"active\":true,\"name\":[{\"family\":\"Smith, \\\"Jr\\\"\","
        "\"given\":[\"line1\\nline2\"]}],\"multipleBirthInteger\":2}]";
    static const char DEF[] =
        "{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"id\",\"path\":\"id\"},"
        "{\"name\":\"family\",\"path\":\"name.family\"},{\"name\":\"given\",\"path\":\"name.given\"},"
        "{\"name\":\"gender\",\"path\":\"gender\"},{\"name\":\"active\",\"path\":\"active\"},"
        "{\"name\":\"births\",\"path\":\"multipleBirth\"},{\"name\":\"all\",\"path\":\"name.given\","
        "\"collection\":true}]}]}";
    char err[512];
    char *csv = run_fmt(DEF, RES, VIEW_FORMAT_CSV, true, err, sizeof err);
    cr_assert_not_null(csv, "%s", err);
    cr_assert_str_eq(csv, "id,family,given,gender,active,births,all\r\n"
                          "p,\"Smith, \"\"Jr\"\"\",\"line1\nline2\",,true,2,\"[\"\"line1\\nline2\"\"]\"\r\n");
    free(csv);
    csv = run_fmt(DEF, RES, VIEW_FORMAT_CSV, false, err, sizeof err);
    cr_assert(strncmp(csv, "p,", 2) == 0, "no header: %s", csv);
    free(csv);
    /* no rows: the header alone */
    csv = run_fmt(DEF, "[]", VIEW_FORMAT_CSV, true, err, sizeof err);
    cr_assert_str_eq(csv, "id,family,given,gender,active,births,all\r\n");
    free(csv);
}

Test(view_writer, ndjson_and_json_keep_types) {
    static const char RES[] = "[{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\",\"code\":{\"text\":"
                              "\"t\\\"ab\"},\"valueQuantity\":{\"value\":1.50,\"unit\":\"kg\"}}]";
    static const char DEF[] = "{\"resource\":\"Observation\",\"select\":[{\"column\":[{\"name\":\"v\",\"path\":"
                              "\"value.ofType(Quantity).value\"},{\"name\":\"t\",\"path\":\"code.text\"},"
                              "{\"name\":\"q\",\"path\":\"value.ofType(Quantity)\"},{\"name\":\"n\",\"path\":\"1 + 1\"}]}]}";
    char err[512];
    char *out = run_fmt(DEF, RES, VIEW_FORMAT_NDJSON, true, err, sizeof err);
    cr_assert_not_null(out, "%s", err);
    cr_assert_str_eq(out, "{\"v\":1.50,\"t\":\"t\\\"ab\",\"q\":{\"value\":1.50,\"unit\":\"kg\"},\"n\":2}\n");
    free(out);
    out = run_fmt(DEF, RES, VIEW_FORMAT_JSON, true, err, sizeof err);
    json_value *arr = parse_json(out);
    cr_assert_eq(json_array_len(arr), 1);
    json_free(arr);
    free(out);
    out = run_fmt(DEF, "[]", VIEW_FORMAT_JSON, true, err, sizeof err);
    cr_assert_str_eq(out, "[]\n");
    free(out);
    view_format f;
    cr_assert(view_format_parse("text/csv", &f) && f == VIEW_FORMAT_CSV);
    cr_assert(view_format_parse("application/x-ndjson", &f) && f == VIEW_FORMAT_NDJSON);
    cr_assert(!view_format_parse("parquet", &f));
}

/* ---- over a store ---------------------------------------------------------------------- */

static void put(store_conn *c, const char *type, const char *id, const char *patient, const char *body, bool deleted) {
    store_put p = {.type = type, .id = id, .version = deleted ? 2 : 1, .last_updated = "2026-01-01T00:00:00.000Z",
                   .method = deleted ? "DELETE" : "PUT", .patient = patient, .body = deleted ? NULL : body,
                   .body_len = deleted ? 0 : strlen(body)};
    cr_assert_eq(store_begin(c), KITH_OK);
    cr_assert_eq(store_write(c, &p), KITH_OK);
    cr_assert_eq(store_commit(c), KITH_OK);
}

static kith_rc collect(void *ctx, const view_cell *cells, size_t n) {
    buf *b = ctx;
    for(size_t i = 0; i < n; i++) buf_printf(b, "%s%s", i ? "," : "", cells[i].text ? cells[i].text : "-");
    return buf_putc(b, ';');
}

Test(view_store, pages_through_current_resources) {
    char path[TEMP_STORE_PATH], err[512], body[200];
    store_conn *c;
    store *st = temp_store_open("view", path, &c);
    for(int i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof id, "p%d", i);
        snprintf(body, sizeof body, "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"gender\":\"%s\"}", id,
                 i % 2 ? "male" : "female");
        put(c, "Patient", id, id, body, false);
    }
    put(c, "Patient", "p3", "p3", NULL, true); /* deleted: left out */
    put(c, "Observation", "o1", "p1", "{\"resourceType\":\"Observation\",\"id\":\"o1\"}", false);
    json_value *d = parse_json("{\"resource\":\"Patient\",\"select\":[{\"column\":[{\"name\":\"id\",\"path\":\"id\"},"
                               "{\"name\":\"g\",\"path\":\"gender\"}]}]}");
    view *v = NULL;
    cr_assert_eq(view_compile(d, &v, err, sizeof err), KITH_OK, "%s", err);
    buf b = BUF_INIT;
    view_store_stats stats;
    view_store_query q = {.page = 2};
    cr_assert_eq(view_run_store(c, v, &q, collect, &b, &stats, err, sizeof err), KITH_OK, "%s", err);
    cr_assert_str_eq(buf_str(&b), "p0,female;p1,male;p2,female;p4,female;p5,male;p6,female;");
    cr_assert_eq(stats.resources, 6);
    cr_assert_eq(stats.rows, 6);
    buf_reset(&b);
    q = (view_store_query){.page = 2, .limit = 3};
    cr_assert_eq(view_run_store(c, v, &q, collect, &b, &stats, err, sizeof err), KITH_OK, "%s", err);
    cr_assert_str_eq(buf_str(&b), "p0,female;p1,male;p2,female;");
    buf_reset(&b);
    q = (view_store_query){.patient = "p5"};
    cr_assert_eq(view_run_store(c, v, &q, collect, &b, &stats, err, sizeof err), KITH_OK, "%s", err);
    cr_assert_str_eq(buf_str(&b), "p5,male;");
    /* through the connection's viewer: one who sees no patient data gets no rows */
    buf_reset(&b);
    store_viewer analyst = {.no_patient_data = true};
    cr_assert_eq(store_set_viewer(c, &analyst), KITH_OK);
    q = (view_store_query){.page = 2};
    cr_assert_eq(view_run_store(c, v, &q, collect, &b, &stats, err, sizeof err), KITH_OK, "%s", err);
    cr_assert_str_eq(buf_str(&b), "");
    cr_assert_eq(store_set_viewer(c, NULL), KITH_OK);
    buf_free(&b);
    view_free(v);
    json_free(d);
    temp_store_remove(st, path);
}
