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
