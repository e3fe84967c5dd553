/* test_patch.c — src/fhir/patch.c: JSON Patch cases from RFC 6902 appendix A and errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/patch.h"

typedef struct patch_case {
    const char *doc, *patch, *want; /* want NULL: the patch must fail */
    kith_rc rc;
} patch_case;

static const patch_case CASES[] = {
    {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]", "{\"foo\":\"bar\",\"baz\":\"qux\"}", 0},
    {"{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
     "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", 0},
    {"{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}", 0},
    {"{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}", 0},
    {"{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
     "{\"baz\":\"boo\",\"foo\":\"bar\"}", 0},
    {"{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
     "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
     "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}", 0},
    {"{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}", "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
     "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}", 0},
    {"{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
     "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
     "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}", 0},
    {"{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", NULL, KITH_ECONFLICT},
    {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
     "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}", 0},
    {"{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
     "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}", 0},
    {"{\"/\":1,\"m~n\":2}", "[{\"op\":\"copy\",\"from\":\"/m~0n\",\"path\":\"/~1x\"}]", "{\"/\":1,\"m~n\":2,\"/x\":2}", 0},
    {"{\"a\":1.50}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1.5}]", NULL, KITH_ECONFLICT},
    {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", NULL, KITH_EINVAL},
    {"{\"foo\":[1]}", "[{\"op\":\"add\",\"path\":\"/foo/5\",\"value\":2}]", NULL, KITH_EINVAL},
    {"{\"foo\":[1]}", "[{\"op\":\"remove\",\"path\":\"/foo/01\"}]", NULL, KITH_EINVAL},
    {"{\"foo\":1}", "[{\"op\":\"replace\",\"path\":\"/nope\",\"value\":2}]", NULL, KITH_EINVAL},
    {"{\"foo\":1}", "[{\"op\":\"frobnicate\",\"path\":\"/foo\"}]", NULL, KITH_EINVAL},
    {"{\"foo\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{}}]", NULL, KITH_EINVAL},
    {"{\"foo\":{\"a\":1}}", "[{\"op\":\"move\",\"from\":\"/foo\",\"path\":\"/foo/a/b\"}]", NULL, KITH_EINVAL},
    {"{\"foo\":1}", "{\"op\":\"add\"}", NULL, KITH_EINVAL},
};

Test(patch, rfc6902_cases) {
    for(size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const patch_case *c = &CASES[i];
        json_value *doc = NULL, *patch = NULL;
        cr_assert_eq(json_parse(c->doc, strlen(c->doc), &doc, NULL, 0), KITH_OK);
        cr_assert_eq(json_parse(c->patch, strlen(c->patch), &patch, NULL, 0), KITH_OK);
        fhir_issues is = FHIR_ISSUES_INIT;
        kith_rc rc = json_patch_apply(doc, patch, &is);
        if(c->want) {
            cr_assert_eq(rc, KITH_OK, "case %zu failed: %s", i, is.n ? is.v[0].diagnostics : "");
            json_value *want = NULL;
            cr_assert_eq(json_parse(c->want, strlen(c->want), &want, NULL, 0), KITH_OK);
            char *got = json_to_text(doc, NULL);
            cr_assert(json_equal(doc, want), "case %zu: got %s want %s", i, got, c->want);
            free(got);
            json_free(want);
        } else {
            cr_assert_eq(rc, c->rc, "case %zu: rc %d", i, rc);
            cr_assert_geq(is.n, 1, "case %zu: no issue", i);
        }
        fhir_issues_free(&is);
        json_free(doc);
        json_free(patch);
    }
}

static json_value *parse_or_die(const char *t) {
    json_value *v = NULL;
    cr_assert_eq(json_parse(t, strlen(t), &v, NULL, 0), KITH_OK, "bad JSON in test: %s", t);
    return v;
}

#define OP(type, rest) "{\"name\":\"operation\",\"part\":[{\"name\":\"type\",\"valueCode\":\"" type "\"}" rest "]}"
#define PART(n, v) ",{\"name\":\"" n "\"," v "}"

Test(patch, fhirpath_patch_operations) {
    json_value *doc = parse_or_die(
        "{\"resourceType\":\"Patient\",\"id\":\"p\",\"birthDate\":\"1974-12-25\",\"name\":[{\"family\":\"A\"},"
        "{\"family\":\"B\"}],\"telecom\":[{\"use\":\"home\",\"value\":\"1\"},{\"use\":\"work\",\"value\":\"2\"}]}");
    json_value *params = parse_or_die(
        "{\"resourceType\":\"Parameters\",\"parameter\":["
        OP("add", PART("path", "\"valueString\":\"Patient\"") PART("name", "\"valueString\":\"multipleBirth\"")
                      PART("value", "\"valueBoolean\":true")) ","
        OP("replace", PART("path", "\"valueString\":\"Patient.birthDate\"") PART("value", "\"valueDate\":\"1930-01-01\"")) ","
        OP("delete", PART("path", "\"valueString\":\"Patient.telecom.where(use='home')\"")) ","
        OP("insert", PART("path", "\"valueString\":\"Patient.name\"") PART("index", "\"valueInteger\":0")
                         PART("value", "\"part\":[{\"name\":\"family\",\"valueString\":\"C\"}]")) ","
        OP("move", PART("path", "\"valueString\":\"Patient.name\"") PART("source", "\"valueInteger\":0")
                       PART("destination", "\"valueInteger\":2")) ","
        OP("add", PART("path", "\"valueString\":\"Patient\"") PART("name", "\"valueString\":\"generalPractitioner\"")
                      PART("value", "\"valueReference\":{\"reference\":\"Practitioner/gp\"}"))
        "]}");
    fhir_issues is = FHIR_ISSUES_INIT;
    kith_rc rc = fhirpath_patch_apply(doc, params, &is);
    cr_assert_eq(rc, KITH_OK, "%s", is.n ? is.v[0].diagnostics : "");
    json_value *want = parse_or_die(
        "{\"resourceType\":\"Patient\",\"id\":\"p\",\"birthDate\":\"1930-01-01\",\"name\":[{\"family\":\"A\"},"
        "{\"family\":\"B\"},{\"family\":\"C\"}],\"telecom\":[{\"use\":\"work\",\"value\":\"2\"}],"
        "\"multipleBirthBoolean\":true,\"generalPractitioner\":[{\"reference\":\"Practitioner/gp\"}]}");
    char *got = json_to_text(doc, NULL);
    cr_assert(json_equal(doc, want), "got %s", got);
    free(got);
    json_free(want);
    json_free(params);
    json_free(doc);
    fhir_issues_free(&is);
}

Test(patch, fhirpath_patch_errors) {
    static const char *const BAD[] = {
        "{\"resourceType\":\"Bundle\"}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[" OP("replace", PART("path", "\"valueString\":\"Patient.name\"")
                                                                            PART("value", "\"valueString\":\"x\"")) "]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[" OP("frob", PART("path", "\"valueString\":\"Patient\"")) "]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[" OP("delete", PART("path", "\"valueString\":\"Patient.(\"")) "]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[" OP("add", PART("path", "\"valueString\":\"Patient\"")
                                                                        PART("name", "\"valueString\":\"gender\"")
                                                                            PART("value", "\"valueCode\":\"male\"")) "]}",
    };
    for(size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        json_value *doc = parse_or_die("{\"resourceType\":\"Patient\",\"gender\":\"female\",\"name\":[{\"family\":\"A\"},"
                                       "{\"family\":\"B\"}]}");
        json_value *params = parse_or_die(BAD[i]);
        fhir_issues is = FHIR_ISSUES_INIT;
        cr_assert_neq(fhirpath_patch_apply(doc, params, &is), KITH_OK, "case %zu accepted", i);
        cr_assert_geq(is.n, 1);
        fhir_issues_free(&is);
        json_free(params);
        json_free(doc);
    }
}
