/* test_buf.c — src/base/buf.c and src/base/url.c. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/url.h"

Test(buf, appends_and_takes_ownership) {
    buf b = BUF_INIT;
    cr_assert_eq(buf_puts(&b, "district "), KITH_OK);
    cr_assert_eq(buf_printf(&b, "nurse %d", 7), KITH_OK);
    size_t n = 0;
    char *s = buf_take(&b, &n);
    cr_assert_str_eq(s, "district nurse 7");
    cr_assert_eq(n, strlen(s));
    cr_assert_null(b.data);
    free(s);
}

Test(buf, cap_refuses_growth_and_leaves_buffer_unchanged) {
    buf b;
    buf_init(&b, 8);
    cr_assert_eq(buf_puts(&b, "12345"), KITH_OK);
    cr_assert_eq(buf_puts(&b, "6789"), KITH_ETOOBIG);
    cr_assert_str_eq(buf_str(&b), "12345");
    cr_assert_eq(buf_puts(&b, "678"), KITH_OK);
    cr_assert_eq(buf_putc(&b, 'x'), KITH_ETOOBIG);
    buf_free(&b);
}

Test(buf, json_escape) {
    buf b = BUF_INIT;
    buf_json_escape(&b, "a\"b\\c\n\x01");
    cr_assert_str_eq(buf_str(&b), "a\\\"b\\\\c\\n\\u0001");
    buf_free(&b);
}

Test(url, decode_and_encode) {
    char s[] = "a%7Cb+c%2";
    url_decode(s, true);
    cr_assert_str_eq(s, "a|b c%2");
    buf b = BUF_INIT;
    url_encode(&b, "x y&z=é|");
    cr_assert_str_eq(buf_str(&b), "x%20y%26z%3D%C3%A9|");
    buf_free(&b);
}
