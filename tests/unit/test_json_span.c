/* test_json_span.c — src/json/span.c: checking JSON text's structure and
 * reading members without a tree, against json_parse on the same text. */
#include <criterion/criterion.h>
#include <string.h>

#include "json/json.h"

static json_span check(const char *text) {
    json_span s;
    cr_assert(json_span_check(text, strlen(text), &s), "should pass: %s", text);
    return s;
}

Test(json_span, structure) {
    static const char *const GOOD[] = {
        "{}", " [ ] ", "{\"a\":1}", "{\"a\" : [1, 2.5e-3, true, false, null, \"x\"] }",
        "{\"a\":{\"b\":{\"c\":[{}]}}}", "\"\\u00e9\\n\\\"\"", "{\"k\\\"ey\":\"v\\\\\"}", "-12",
    };
    static const char *const BAD[] = {
        "", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "{\"a\":1 \"b\":2}", "{a:1}",
        "\"open", "\"bad \\x escape\"", "\"\\u12\"", "{} {}", "[1] x", "{\"a\":1}}",
    };
    for(size_t i = 0; i < sizeof GOOD / sizeof *GOOD; i++) {
        check(GOOD[i]);
        json_value *v = NULL;
        cr_assert_eq(json_parse(GOOD[i], strlen(GOOD[i]), &v, NULL, 0), KITH_OK, "json-c agrees: %s", GOOD[i]);
        json_free(v);
    }
    for(size_t i = 0; i < sizeof BAD / sizeof *BAD; i++)
        cr_assert(!json_span_check(BAD[i], strlen(BAD[i]), NULL), "should fail: %s", BAD[i]);
    char deep[2 * (JSON_MAX_DEPTH + 10) + 1];
    memset(deep, '[', JSON_MAX_DEPTH + 10);
    memset(deep + JSON_MAX_DEPTH + 10, ']', JSON_MAX_DEPTH + 10);
    deep[sizeof deep - 1] = '\0';
    cr_assert(!json_span_check(deep, strlen(deep), NULL), "too deep");
}

Test(json_span, members_elements_and_strings) {
    json_span r = check("{\"id\":\"p1\",\"name\":[{\"given\":[\"A\",\"B\"]}],\"x\":{\"id\":\"inner\"},"
                        "\"t\":true,\"esc\":\"a\\\"b\\u00e9\\ud83d\\ude00\",\"n\":12}");
    json_span v, e;
    char s[64];
    cr_assert(json_span_get(r, "id", &v));
    cr_assert(json_span_is(v, "p1"));
    cr_assert(!json_span_get(r, "missing", &v));
    cr_assert(json_span_get(r, "name", &v) && json_span_at(v, 0, &e));
    cr_assert(json_span_get(e, "given", &v) && json_span_at(v, 1, &e) && json_span_is(e, "B"));
    cr_assert(!json_span_at(v, 2, &e));
    cr_assert(json_span_get(r, "x", &v) && json_span_get(v, "id", &e) && json_span_is(e, "inner"));
    cr_assert(json_span_get(r, "t", &v) && json_span_true(v));
    cr_assert(json_span_get(r, "n", &v) && !json_span_true(v) && !json_span_text(v, s, sizeof s));
    cr_assert(json_span_get(r, "esc", &v) && json_span_text(v, s, sizeof s));
    cr_assert_str_eq(s, "a\"b\xc3\xa9\xf0\x9f\x98\x80");
    cr_assert(json_span_is(v, "a\"b\xc3\xa9\xf0\x9f\x98\x80"));
    cr_assert(!json_span_text(v, s, 4), "does not fit");
    cr_assert(!json_span_get((json_span){0}, "id", &v));
}
