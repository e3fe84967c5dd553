/* test_json.c — src/json/json.c: parsing, fidelity, errors, equality. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

static char *roundtrip(const char *in) {
    json_value *v = NULL;
    char err[200];
    kith_rc rc = json_parse(in, strlen(in), &v, err, sizeof err);
    cr_assert_eq(rc, KITH_OK, "parse of %s failed: %s", in, err);
    char *out = json_to_text(v, NULL);
    json_free(v);
    return out;
}

Test(json, decimals_keep_their_written_text) {
    const char *in = "{\"a\":1.50,\"b\":0.00010,\"c\":-0.0,\"d\":1e400,\"e\":1.0E2,\"f\":120.000}";
    char *out = roundtrip(in);
    cr_assert_str_eq(out, in);
    free(out);
}

Test(json, integers_wider_than_64_bits_survive) {
    const char *in = "{\"a\":123456789012345678901234567890,\"b\":-99999999999999999999999,\"c\":18446744073709551616}";
    char *out = roundtrip(in);
    cr_assert_str_eq(out, in);
    free(out);
}

Test(json, integer_kinds_and_values) {
    json_value *v = NULL;
    const char *in = "[42, -7, 1.5, 99999999999999999999, -0]";
    cr_assert_eq(json_parse(in, strlen(in), &v, NULL, 0), KITH_OK);
    int64_t x = 0;
    cr_assert(json_int64(json_array_at(v, 0), &x));
    cr_assert_eq(x, 42);
    cr_assert_eq(json_kind_of(json_array_at(v, 2)), JSON_DECIMAL);
    cr_assert_eq(json_kind_of(json_array_at(v, 3)), JSON_INTEGER);
    cr_assert_not(json_int64(json_array_at(v, 3), &x), "a 20-digit integer does not fit int64");
    cr_assert_str_eq(json_number_text(json_array_at(v, 4)), "-0");
    json_free(v);
}

Test(json, unicode_survives) {
    const char *in = "{\"n\":\"Ŵyn 😀 王 שלום \\u00e9 a/b\"}";
    char *out = roundtrip(in);
    cr_assert_str_eq(out, "{\"n\":\"Ŵyn 😀 王 שלום é a/b\"}");
    free(out);
}

Test(json, duplicate_keys_are_rejected) {
    json_value *v = NULL;
    char err[200] = "";
    const char *in = "{\"a\":{\"x\":1,\"x\":2}}";
    cr_assert_eq(json_parse(in, strlen(in), &v, err, sizeof err), KITH_EINVAL);
    cr_assert_null(v);
    cr_assert(strstr(err, "duplicate"), "message was: %s", err);
}

/* A repeated key before values of other kinds used to put the check out of
 * step with json-c's tree and abort the process (found by fuzz_json_span). */
Test(json, duplicate_keys_before_other_kinds_are_rejected_not_fatal) {
    static const char *in[] = {
        "{\"md\":\"a\",\"id\":\"p\",\"md\":\"a\",\"status\":\"x\",\"name\":[{\"f\":1}],\"b\":\"c\"}",
        "{\"a\":1,\"a\":{\"b\":2},\"c\":[1]}",
        "{\"a\":[1],\"b\":null,\"a\":true,\"c\":{\"d\":1.50}}",
    };
    for(size_t i = 0; i < sizeof in / sizeof *in; i++) {
        json_value *v = NULL;
        char err[200] = "";
        cr_assert_eq(json_parse(in[i], strlen(in[i]), &v, err, sizeof err), KITH_EINVAL, "%s", in[i]);
        cr_assert_null(v);
        cr_assert(strstr(err, "duplicate"), "message was: %s", err);
    }
}

Test(json, malformed_text_is_rejected_with_an_offset) {
    static const char *bad[] = {"", "{", "{\"a\":}", "{\"a\":1,}", "[1 2]", "{\"a\":1} x", "'a'", "{\"a\":NaN}",
                                "{\"a\":\"\xff\"}", "nul"};
    for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_value *v = NULL;
        char err[200] = "";
        kith_rc rc = json_parse(bad[i], strlen(bad[i]), &v, err, sizeof err);
        cr_assert_eq(rc, KITH_EINVAL, "'%s' should be rejected", bad[i]);
        cr_assert_null(v);
        cr_assert(strlen(err) > 0, "no message for '%s'", bad[i]);
    }
}

Test(json, embedded_nul_is_rejected) {
    json_value *v = NULL;
    const char in[] = "{\"a\":\"x\0y\"}";
    cr_assert_eq(json_parse(in, sizeof in - 1, &v, NULL, 0), KITH_EINVAL);
}

Test(json, deep_nesting_is_rejected_not_crashed) {
    size_t depth = 10000;
    char *in = malloc(depth * 2 + 1);
    memset(in, '[', depth);
    memset(in + depth, ']', depth);
    in[depth * 2] = '\0';
    json_value *v = NULL;
    cr_assert_eq(json_parse(in, depth * 2, &v, NULL, 0), KITH_EINVAL);
    free(in);
}

Test(json, null_member_is_distinct_from_missing) {
    json_value *v = NULL;
    const char *in = "{\"a\":null}";
    cr_assert_eq(json_parse(in, strlen(in), &v, NULL, 0), KITH_OK);
    cr_assert(json_has(v, "a"));
    cr_assert_not(json_has(v, "b"));
    cr_assert_null(json_get(v, "a"));
    json_free(v);
}

Test(json, equality_ignores_key_order_but_not_number_text) {
    json_value *a = NULL, *b = NULL, *c = NULL;
    const char *ta = "{\"x\":1.50,\"y\":[1,{\"z\":true}]}";
    const char *tb = "{\"y\":[1,{\"z\":true}],\"x\":1.50}";
    const char *tc = "{\"y\":[1,{\"z\":true}],\"x\":1.5}";
    json_parse(ta, strlen(ta), &a, NULL, 0);
    json_parse(tb, strlen(tb), &b, NULL, 0);
    json_parse(tc, strlen(tc), &c, NULL, 0);
    cr_assert(json_equal(a, b));
    cr_assert_not(json_equal(a, c));
    json_free(a);
    json_free(b);
    json_free(c);
}

Test(json, building_and_iterating) {
    json_value *o = json_new_object();
    json_set(o, "b", json_new_string("two"));
    json_set(o, "a", json_new_number_text("1.50"));
    json_value *arr = json_new_array();
    json_append(arr, json_new_bool(true));
    json_set(o, "c", arr);
    char *t = json_to_text(o, NULL);
    cr_assert_str_eq(t, "{\"b\":\"two\",\"a\":1.50,\"c\":[true]}");
    free(t);
    json_iter it = json_iter_start(o);
    const char *k;
    json_value *v;
    int n = 0;
    while(json_iter_next(&it, &k, &v)) n++;
    cr_assert_eq(n, 3);
    json_value *copy = json_copy(o);
    cr_assert(json_equal(o, copy));
    json_free(copy);
    json_free(o);
}

Test(json, move_to_front_keeps_the_rest_in_order) {
    json_value *v = NULL;
    const char *in = "{\"name\":[1],\"meta\":{\"a\":1.50},\"gender\":\"female\",\"id\":\"x\",\"resourceType\":\"Patient\"}";
    cr_assert_eq(json_parse(in, strlen(in), &v, NULL, 0), KITH_OK);
    static const char *const front[] = {"resourceType", "id", "meta", NULL};
    json_move_to_front(v, front);
    char *t = json_to_text(v, NULL);
    cr_assert_str_eq(t, "{\"resourceType\":\"Patient\",\"id\":\"x\",\"meta\":{\"a\":1.50},\"name\":[1],\"gender\":\"female\"}");
    free(t);
    json_free(v);
}

Test(json, strict_utf8_and_surrogates) {
    static const char *bad[] = {"\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
                                "\"\xf5\x80\x80\x80\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\ud800\\u0041\"",
                                "{\"\\ud800\":1}"};
    for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_value *v = NULL;
        char err[128] = "";
        cr_assert_eq(json_parse(bad[i], strlen(bad[i]), &v, err, sizeof err), KITH_EINVAL, "case %zu accepted", i);
        cr_assert(strlen(err) > 0);
    }
    const char *good = "[\"\\ud83d\\ude00\", \"\xf0\x9f\x98\x80\", \"\xef\xbf\xbd\"]";
    json_value *v = NULL;
    cr_assert_eq(json_parse(good, strlen(good), &v, NULL, 0), KITH_OK);
    json_free(v);
}

Test(json, bare_scalars_are_documents) {
    static const char *const OK[] = {"2", "-1.50", "\"x\"", "true"};
    for(size_t i = 0; i < sizeof OK / sizeof OK[0]; i++) {
        json_value *v = NULL;
        char err[100] = "";
        cr_assert_eq(json_parse(OK[i], strlen(OK[i]), &v, err, sizeof err), KITH_OK, "%s: %s", OK[i], err);
        json_free(v);
    }
    json_value *v = NULL;
    cr_assert_eq(json_parse("-1.50", 5, &v, NULL, 0), KITH_OK);
    cr_assert_str_eq(json_number_text(v), "-1.50");
    json_free(v);
    cr_assert_eq(json_parse("2 3", 3, &v, NULL, 0), KITH_EINVAL);
    cr_assert_eq(json_parse("null", 4, &v, NULL, 0), KITH_EINVAL, "a null document holds no resource");
}
