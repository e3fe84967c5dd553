/*
 * test_nhs_policy_write.c — the NHS number policy on the FHIR write path:
 * record_patient_nhs_numbers in src/fhir/record.c, which record_prepare
 * runs on every Patient before it is stored.
 *
 * One table of cases: a resource, the policy, and what must come of it —
 * the result, the resource afterwards (a refused one is left exactly as it
 * was) and the issues, each named by severity, location and a piece of its
 * text. The API suite (tests/api/nhs-number-policy.test.mjs) checks the same
 * rule through POST, PUT, PATCH and transactions.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/nhs_number.h"
#include "fhir/record.h"
#include "json/json.h"

#define NHS "\"system\":\"" NHS_NUMBER_SYSTEM "\""
#define UNVERIFIED "\"system\":\"" NHS_NUMBER_UNVERIFIED_SYSTEM "\""
#define OTHER "\"system\":\"urn:kith:test\""
#define PATIENT(ids) "{\"resourceType\":\"Patient\",\"identifier\":[" ids "],\"birthDate\":\"1938-04-02\"}"
#define ID(sys, v) "{" sys ",\"value\":\"" v "\"}"

typedef struct want_issue {
    const char *severity;
    const char *expression;
    const char *text; /* a piece of the diagnostics */
} want_issue;

static const struct {
    const char *name;
    const char *type;
    nhs_number_policy policy;
    const char *in;
    kith_rc rc;
    const char *out; /* the resource afterwards; NULL: as it came in */
    want_issue issues[3];
} CASES[] = {
    /* a valid number: stored as ten digits, whatever the policy */
    {"spaces are taken out", "Patient", NHS_POLICY_REJECT, PATIENT(ID(NHS, "943 476 5919")), KITH_OK,
     PATIENT(ID(NHS, "9434765919")), {{0}}},
    {"hyphens are taken out", "Patient", NHS_POLICY_FLAG, PATIENT(ID(NHS, "943-476-5919")), KITH_OK,
     PATIENT(ID(NHS, "9434765919")), {{0}}},
    {"ten digits stay as they are", "Patient", NHS_POLICY_REJECT, PATIENT(ID(NHS, "9434765919")), KITH_OK, NULL,
     {{0}}},
    /* reject (the default): every number that is not valid refuses the write, changing nothing */
    {"reject: bad check digit", "Patient", NHS_POLICY_REJECT, PATIENT(ID(NHS, "9434765918")), KITH_EINVALID, NULL,
     {{"error", "Patient.identifier[0].value", "'9434765918' is not a valid NHS number: the check digit does not"}}},
    {"reject: never issued", "Patient", NHS_POLICY_REJECT, PATIENT(ID(NHS, "4000000080")), KITH_EINVALID, NULL,
     {{"error", "Patient.identifier[0].value", "no NHS number is ever issued like this"}}},
    {"reject: placeholder", "Patient", NHS_POLICY_REJECT, PATIENT(ID(NHS, "9999999999")), KITH_EINVALID, NULL,
     {{"error", "Patient.identifier[0].value", "ten identical digits"}}},
    {"reject: not digits", "Patient", NHS_POLICY_REJECT, PATIENT(ID(NHS, "94347659X9")), KITH_EINVALID, NULL,
     {{"error", "Patient.identifier[0].value", "made of digits only"}}},
    {"reject: a refusal leaves the other numbers as written", "Patient", NHS_POLICY_REJECT,
     PATIENT(ID(NHS, "943 476 5919") "," ID(OTHER, "x") "," ID(NHS, "401 023 2136")), KITH_EINVALID, NULL,
     {{"error", "Patient.identifier[2].value", "'401 023 2136' is not"}}},
    {"reject: each refused number is named", "Patient", NHS_POLICY_REJECT,
     PATIENT(ID(NHS, "9999999999") "," ID(NHS, "12345")), KITH_EINVALID, NULL,
     {{"error", "Patient.identifier[0].value", "ten identical digits"},
      {"error", "Patient.identifier[1].value", "has 10 digits"}}},
    {"a long value is quoted cut short", "Patient", NHS_POLICY_REJECT,
     PATIENT(ID(NHS, "9434765919 9434765919 9434765919")), KITH_EINVALID, NULL,
     {{"error", "Patient.identifier[0].value", "'9434765919 94347...' is not"}}},
    /* flag: a number that fails the check is kept, unverified; a placeholder is left out */
    {"flag: bad check digit kept unverified", "Patient", NHS_POLICY_FLAG, PATIENT(ID(NHS, "943 476 5918")), KITH_OK,
     PATIENT(ID(UNVERIFIED, "9434765918")),
     {{"warning", "Patient.identifier[0].value", "kept under " NHS_NUMBER_UNVERIFIED_SYSTEM}}},
    {"flag: never issued kept unverified", "Patient", NHS_POLICY_FLAG, PATIENT(ID(NHS, "4000000080")), KITH_OK,
     PATIENT(ID(UNVERIFIED, "4000000080")), {{"warning", "Patient.identifier[0].value", "never linked on"}}},
    {"flag: placeholder left out", "Patient", NHS_POLICY_FLAG,
     PATIENT(ID(OTHER, "a") "," ID(NHS, "0000000000") "," ID(OTHER, "b")), KITH_OK,
     PATIENT(ID(OTHER, "a") "," ID(OTHER, "b")),
     {{"warning", "Patient.identifier[1].value", "the identifier was left out"}}},
    {"flag: the only identifier left out takes the list with it", "Patient", NHS_POLICY_FLAG,
     PATIENT(ID(NHS, "999 999 9999")), KITH_OK, "{\"resourceType\":\"Patient\",\"birthDate\":\"1938-04-02\"}",
     {{"warning", "Patient.identifier[0].value", "ten identical digits"}}},
    {"flag: locations are those of the body sent", "Patient", NHS_POLICY_FLAG,
     PATIENT(ID(NHS, "9999999999") "," ID(NHS, "9434765918") "," ID(NHS, "401 023 2137")), KITH_OK,
     PATIENT(ID(UNVERIFIED, "9434765918") "," ID(NHS, "4010232137")),
     {{"warning", "Patient.identifier[0].value", "left out"}, {"warning", "Patient.identifier[1].value", "kept"}}},
    {"flag: malformed is still refused", "Patient", NHS_POLICY_FLAG,
     PATIENT(ID(NHS, "9434765918") "," ID(NHS, "943 4765919")), KITH_EINVALID, NULL,
     {{"error", "Patient.identifier[1].value", "the spaces or hyphens are in the wrong places"}}},
    /* what the rule does not touch */
    {"another system", "Patient", NHS_POLICY_REJECT, PATIENT(ID(OTHER, "9999999999")), KITH_OK, NULL, {{0}}},
    {"already unverified", "Patient", NHS_POLICY_REJECT, PATIENT(ID(UNVERIFIED, "9434765918")), KITH_OK, NULL,
     {{0}}},
    {"an NHS number identifier without a value", "Patient", NHS_POLICY_REJECT, PATIENT("{" NHS "}"), KITH_OK, NULL,
     {{0}}},
    {"no identifiers", "Patient", NHS_POLICY_REJECT, "{\"resourceType\":\"Patient\"}", KITH_OK, NULL, {{0}}},
    {"not a Patient", "Practitioner", NHS_POLICY_REJECT,
     "{\"resourceType\":\"Practitioner\",\"identifier\":[" ID(NHS, "9999999999") "]}", KITH_OK, NULL, {{0}}},
};

static json_value *parse(const char *text) {
    json_value *v = NULL;
    char err[128] = "";
    cr_assert_eq(json_parse(text, strlen(text), &v, err, sizeof err), KITH_OK, "bad test JSON (%s): %s", err, text);
    return v;
}

Test(nhs_policy_write, table) {
    for(size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        const char *name = CASES[c].name;
        json_value *res = parse(CASES[c].in);
        json_value *want = parse(CASES[c].out ? CASES[c].out : CASES[c].in);
        fhir_issues is = FHIR_ISSUES_INIT;
        kith_rc rc = record_patient_nhs_numbers(CASES[c].type, res, CASES[c].policy, &is);
        cr_expect_eq(rc, CASES[c].rc, "%s: rc %s", name, kith_rc_name(rc));
        char *got = json_to_text(res, NULL);
        cr_expect(json_equal(res, want), "%s: the resource is\n%s", name, got);
        size_t nwant = 0;
        while(nwant < 3 && CASES[c].issues[nwant].severity) nwant++;
        cr_expect_eq(is.n, nwant, "%s: %zu issues, not %zu", name, is.n, nwant);
        for(size_t i = 0; i < nwant && i < is.n; i++) {
            const want_issue *w = &CASES[c].issues[i];
            const fhir_issue *g = &is.v[i];
            cr_expect_str_eq(g->severity, w->severity, "%s: issue %zu severity", name, i);
            cr_expect_str_eq(g->expression ? g->expression : "", w->expression, "%s: issue %zu location", name, i);
            cr_expect(strstr(g->diagnostics, w->text) != NULL, "%s: issue %zu says \"%s\", not \"%s\"", name, i,
                      g->diagnostics, w->text);
        }
        free(got);
        fhir_issues_free(&is);
        json_free(want);
        json_free(res);
    }
}

/* The problem text of each refusal is nhs_number_problem_text's, word for word. */
Test(nhs_policy_write, refusal_gives_the_problem_text) {
    static const char *const NUMBERS[] = {"9434765918", "4000000080", "9999999999", "94347659X9", "943476591",
                                          "943 4765919"};
    for(size_t k = 0; k < sizeof NUMBERS / sizeof NUMBERS[0]; k++) {
        char text[256];
        snprintf(text, sizeof text, PATIENT("{" NHS ",\"value\":\"%s\"}"), NUMBERS[k]);
        json_value *res = parse(text);
        fhir_issues is = FHIR_ISSUES_INIT;
        cr_expect_eq(record_patient_nhs_numbers("Patient", res, NHS_POLICY_REJECT, &is), KITH_EINVALID, "%s",
                     NUMBERS[k]);
        cr_assert_eq(is.n, 1, "%s", NUMBERS[k]);
        const char *why = nhs_number_problem_text(nhs_number_parse(NUMBERS[k], NULL));
        cr_expect(strstr(is.v[0].diagnostics, why) != NULL, "%s: \"%s\" lacks \"%s\"", NUMBERS[k],
                  is.v[0].diagnostics, why);
        fhir_issues_free(&is);
        json_free(res);
    }
}
