/*
 * test_fhirpath.c — tests for the FHIRPath engine (src/fhir/fhirpath*.c).
 * The official suite runs separately (tests/conformance); these pin down the
 * API contract, the behaviours search indexing relies on, and the caps.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhirpath.h"
#include "json/json.h"

static json_value *parse_json(const char *text) {
    json_value *v = NULL;
    cr_assert_eq(json_parse(text, strlen(text), &v, NULL, 0), KITH_OK, "bad test JSON: %s", text);
    return v;
}

/* Evaluate expr on resource JSON text; returns the result as JSON text
 * (caller frees) or NULL on an evaluation error (message in err). */
static char *eval_env(const char *expr, const char *resource, const fhirpath_env *env, char *err, size_t errlen) {
    fhirpath_expr *e = NULL;
    fhirpath_result *r = NULL;
    size_t pos = 0;
    char perr[256];
    cr_assert_eq(fhirpath_parse(expr, &e, &pos, perr, sizeof perr), KITH_OK, "parse %s: %s at %zu", expr, perr, pos);
    json_value *res = resource ? parse_json(resource) : NULL;
    char *out = NULL;
    if(fhirpath_eval(e, res, env, &r, err, errlen) == KITH_OK) {
        buf b = BUF_INIT;
        cr_assert_eq(fhirpath_result_write(&b, r), KITH_OK);
        out = buf_take(&b, NULL);
    }
    fhirpath_result_free(r);
    json_free(res);
    fhirpath_free(e);
    return out;
}

static const char PATIENT[] =
    "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true,"
    "\"name\":[{\"use\":\"official\",\"family\":\"Chalmers\",\"given\":[\"Peter\",\"James\"]},"
    "{\"use\":\"usual\",\"given\":[\"Jim\"]}],"
    "\"birthDate\":\"1974-12-25\",\"_birthDate\":{\"extension\":[{\"url\":\"http://x/birthTime\","
    "\"valueDateTime\":\"1974-12-25T14:35:45-05:00\"}]},"
    "\"managingOrganization\":{\"reference\":\"Organization/o1\"},"
    "\"contained\":[{\"resourceType\":\"Practitioner\",\"id\":\"pr1\"}],"
    "\"generalPractitioner\":[{\"reference\":\"#pr1\"}]}";

static const char OBSERVATION[] =
    "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"weight\"},"
    "\"subject\":{\"reference\":\"Patient/p1\"},"
    "\"valueQuantity\":{\"value\":185.0,\"unit\":\"lbs\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"[lb_av]\"},"
    "\"component\":[{\"code\":{\"text\":\"a\"},\"valueQuantity\":{\"value\":1.50,\"unit\":\"g\"}},"
    "{\"code\":{\"text\":\"b\"},\"valueString\":\"x\"}]}";

static void expect(const char *expr, const char *resource, const char *want) {
    char err[256] = "";
    char *got = eval_env(expr, resource, NULL, err, sizeof err);
    cr_assert_not_null(got, "%s: evaluation error %s", expr, err);
    cr_expect_str_eq(got, want, "%s", expr);
    free(got);
}

static void expect_error(const char *expr, const char *resource) {
    char err[256] = "";
    char *got = eval_env(expr, resource, NULL, err, sizeof err);
    cr_expect_null(got, "%s: expected an error, got %s", expr, got ? got : "");
    cr_expect_neq(err[0], 0, "%s: no error message", expr);
    free(got);
}

Test(fhirpath, paths_and_types) {
    expect("name.given", PATIENT, "[\"Peter\",\"James\",\"Jim\"]");
    expect("Patient.name.where(use = 'official').family", PATIENT, "[\"Chalmers\"]");
    expect("name[1].given.first()", PATIENT, "[\"Jim\"]");
    expect("Observation.value.unit", OBSERVATION, "[\"lbs\"]");
    expect("Observation.value is Quantity", OBSERVATION, "[true]");
    expect("(Observation.value as Period).start", OBSERVATION, "[]");
    expect("Observation.component.value.ofType(string)", OBSERVATION, "[\"x\"]");
    expect("birthDate.is(date) and active.is(boolean) and birthDate.is(Date).not()", PATIENT, "[true]");
}

Test(fhirpath, item_types_for_indexing) {
    fhirpath_expr *e = NULL;
    fhirpath_result *r = NULL;
    json_value *res = parse_json(OBSERVATION);
    cr_assert_eq(fhirpath_parse("Observation.value | Observation.code | Observation.subject | 1.5", &e, NULL, NULL, 0),
                 KITH_OK);
    cr_assert_eq(fhirpath_eval(e, res, NULL, &r, NULL, 0), KITH_OK);
    cr_assert_eq(fhirpath_result_count(r), 4);
    cr_expect_str_eq(fhirpath_result_at(r, 0)->type, "Quantity");
    cr_expect_eq(fhirpath_result_at(r, 0)->kind, FP_NODE);
    cr_expect_str_eq(fhirpath_result_at(r, 1)->type, "CodeableConcept");
    cr_expect_str_eq(fhirpath_result_at(r, 2)->type, "Reference");
    cr_expect_eq(fhirpath_result_at(r, 3)->kind, FP_DECIMAL);
    cr_expect_str_eq(fhirpath_result_at(r, 3)->text, "1.5");
    cr_expect_null(fhirpath_result_at(r, 4));
    fhirpath_result_free(r);
    fhirpath_free(e);
    json_free(res);
}

Test(fhirpath, decimals_keep_precision) {
    expect("1.0 + 2.00", NULL, "[3.00]");
    expect("0.1 + 0.2 = 0.3", NULL, "[true]");
    expect("1.2 / 1.8 ~ 0.67", NULL, "[true]");
    expect("(1.2 / 1.8).round(2)", NULL, "[0.67]");
    expect("7 div 2 = 3 and 7 mod 2 = 1 and 5.5 mod 2 = 1.5", NULL, "[true]");
    expect("1 / 0", NULL, "[]");
    expect("Observation.value.value * 2", OBSERVATION, "[370.0]");
}

Test(fhirpath, empty_and_boolean_logic) {
    expect("{} = 1", NULL, "[]");
    expect("true and {}", NULL, "[]");
    expect("false and {}", NULL, "[false]");
    expect("true or {}", NULL, "[true]");
    expect("{} implies false", NULL, "[]");
    expect("false implies {}", NULL, "[true]");
    expect("(1 | 2 | 2).count()", NULL, "[2]");
    expect_error("(1 | 2).not()", NULL);
    expect_error("(1 | 2) + 1", NULL);
}

Test(fhirpath, dates_and_quantities) {
    expect("@2012-04-15 = @2012-04-15T10:00:00", NULL, "[]");
    expect("@2012-04-15T15:00:00+02:00 = @2012-04-15T13:00:00Z", NULL, "[true]");
    expect("@2012 < @2013-01", NULL, "[true]");
    expect("@2014-01-31 + 1 month", NULL, "[\"2014-02-28\"]");
    expect("@2014 + 24 months", NULL, "[\"2016\"]");
    expect("birthDate < @2000-01-01", PATIENT, "[true]");
    expect("1 'wk' = 7 days", NULL, "[true]");
    expect("1 year = 1 'a'", NULL, "[]");
    expect("4 'g' + 500 'mg'", NULL, "[{\"value\":4.5,\"unit\":\"g\"}]");
    expect("Observation.value > 80 'kg'", OBSERVATION, "[true]");
    expect_error("@2019-01-01 + 1 'a'", NULL);
}

Test(fhirpath, strings) {
    expect("'abc'.substring(1) & 'x'.upper() & {}", NULL, "[\"bcX\"]");
    expect("'a,b,,c'.split(',').count()", NULL, "[4]");
    expect("'hello world'.matches('^h.*d$')", NULL, "[true]");
    expect("'2024-01-02'.replaceMatches('(\\\\d+)-(\\\\d+)-(\\\\d+)', '$3/$2/$1')", NULL, "[\"02/01/2024\"]");
    expect("'Peter'.indexOf('t') = 2 and 'Peter'.length() = 5", NULL, "[true]");
    expect("name.given.join('+')", PATIENT, "[\"Peter+James+Jim\"]");
    expect_error("name.startsWith('P')", PATIENT);
}

Test(fhirpath, fhir_functions) {
    expect("birthDate.extension('http://x/birthTime').value", PATIENT, "[\"1974-12-25T14:35:45-05:00\"]");
    expect("birthDate.hasValue() and name.hasValue().not()", PATIENT, "[true]");
    expect("generalPractitioner.resolve().id", PATIENT, "[\"pr1\"]");
    expect("managingOrganization.resolve()", PATIENT, "[]");
    expect("descendants().where($this is Reference).count()", PATIENT, "[2]");
    expect("%resource.id & %context.id", PATIENT, "[\"p1p1\"]");
    expect("%ucum", NULL, "[\"http://unitsofmeasure.org\"]");
}

Test(fhirpath, resolve_stubs_and_bundles) {
    fhirpath_env env = {0};
    char err[256];
    env.resolve_stubs = true;
    char *got = eval_env("Observation.subject.where(resolve() is Patient)", OBSERVATION, &env, err, sizeof err);
    cr_assert_not_null(got, "%s", err);
    cr_expect_str_eq(got, "[{\"reference\":\"Patient/p1\"}]");
    free(got);
    got = eval_env("Observation.subject.where(resolve() is Group)", OBSERVATION, &env, err, sizeof err);
    cr_expect_str_eq(got, "[]");
    free(got);
    const char *bundle = "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
                         "{\"fullUrl\":\"urn:uuid:1\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"a\"}},"
                         "{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{},"
                         "\"subject\":{\"reference\":\"urn:uuid:1\"}}}]}";
    got = eval_env("entry.resource.ofType(Observation).subject.resolve().id", bundle, NULL, err, sizeof err);
    cr_expect_str_eq(got, "[\"a\"]");
    free(got);
}

Test(fhirpath, as_on_several_items) {
    fhirpath_env env = {0};
    char err[256];
    expect_error("Observation.component.value as Quantity", OBSERVATION);
    env.as_filters = true;
    char *got = eval_env("(Observation.component.value as Quantity).value", OBSERVATION, &env, err, sizeof err);
    cr_assert_not_null(got, "%s", err);
    cr_expect_str_eq(got, "[1.50]");
    free(got);
}

Test(fhirpath, user_variables) {
    json_value *v = parse_json("\"Jim\"");
    fhirpath_var vars[] = {{"who", v}};
    fhirpath_env env = {0};
    char err[256];
    env.vars = vars;
    env.nvars = 1;
    char *got = eval_env("name.where(given contains %who).use", PATIENT, &env, err, sizeof err);
    cr_expect_str_eq(got, "[\"usual\"]");
    free(got);
    json_free(v);
    expect_error("%nobody", NULL);
}

Test(fhirpath, syntax_errors_have_positions) {
    fhirpath_expr *e = NULL;
    size_t pos = 99;
    char err[128];
    cr_expect_eq(fhirpath_parse("name.given.", &e, &pos, err, sizeof err), KITH_EINVAL);
    cr_expect_null(e);
    cr_expect_eq(pos, 11);
    cr_expect_eq(fhirpath_parse("name.where(use = \"x\")", &e, &pos, err, sizeof err), KITH_EINVAL);
    cr_expect_eq(pos, 17);
    cr_expect_eq(fhirpath_parse("name.nosuchfunction()", &e, &pos, err, sizeof err), KITH_EINVAL);
    cr_expect_eq(pos, 5);
    cr_expect(strstr(err, "nosuchfunction") != NULL);
    cr_expect_eq(fhirpath_parse("2 + 2 /* open", &e, &pos, err, sizeof err), KITH_EINVAL);
    cr_expect_eq(fhirpath_parse("'unterminated", &e, &pos, err, sizeof err), KITH_EINVAL);
    cr_expect_eq(fhirpath_parse("x.as(NoSuchType)", &e, &pos, err, sizeof err), KITH_EINVAL);
}

Test(fhirpath, hostile_input_is_capped) {
    fhirpath_expr *e = NULL;
    size_t n = 100000;
    char *deep = malloc(2 * n + 2);
    memset(deep, '(', n);
    deep[n] = '1';
    memset(deep + n + 1, ')', n);
    deep[2 * n + 1] = 0;
    cr_expect_eq(fhirpath_parse(deep, &e, NULL, NULL, 0), KITH_EINVAL);
    /* a long member chain is as deep a tree as nested parentheses */
    char *chain = malloc(4 * 5000 + 2);
    chain[0] = 'a';
    for(int i = 0; i < 5000; i++) memcpy(chain + 1 + 4 * i, ".aaa", 4);
    chain[1 + 4 * 5000] = 0;
    cr_expect_eq(fhirpath_parse(chain, &e, NULL, NULL, 0), KITH_EINVAL);
    free(deep);
    free(chain);
    expect_error("(1|2|3).repeat($this + 1)", NULL);
    expect_error("'ab'.repeat($this & $this)", NULL);
}

static fhirpath_expr *shared_expr;

static void *eval_many(void *arg) {
    const char *text = arg;
    json_value *res = NULL;
    if(json_parse(text, strlen(text), &res, NULL, 0)) return (void *)1;
    for(int i = 0; i < 2000; i++) {
        fhirpath_result *r = NULL;
        if(fhirpath_eval(shared_expr, res, NULL, &r, NULL, 0) || fhirpath_result_count(r) != 3) {
            fhirpath_result_free(r);
            json_free(res);
            return (void *)1;
        }
        fhirpath_result_free(r);
    }
    json_free(res);
    return NULL;
}

Test(fhirpath, one_expression_many_threads) {
    pthread_t t[4];
    cr_assert_eq(fhirpath_parse("name.given.where(length() > 3) | name.family.upper()", &shared_expr, NULL, NULL, 0),
                 KITH_OK);
    static const char P2[] = "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Ng\",\"given\":[\"Anna\",\"Bobby\",\"Cy\"]}]}";
    for(int i = 0; i < 4; i++) pthread_create(&t[i], NULL, eval_many, (void *)(i % 2 ? PATIENT : P2));
    for(int i = 0; i < 4; i++) {
        void *rv = NULL;
        pthread_join(t[i], &rv);
        cr_expect_null(rv, "thread %d failed", i);
    }
    fhirpath_free(shared_expr);
}
