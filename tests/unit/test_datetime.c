/* test_datetime.c — src/base/datetime.c: FHIR date/time spans. */
#include <criterion/criterion.h>

#include "base/datetime.h"

Test(datetime, spans_follow_precision) {
    double lo, hi;
    cr_assert(datetime_range("1970", &lo, &hi));
    cr_assert_float_eq(lo, 0, 1e-9);
    cr_assert_float_eq(hi, 365 * 86400.0 - 0.001, 1e-6);
    cr_assert(datetime_range("1970-02", &lo, &hi));
    cr_assert_float_eq(lo, 31 * 86400.0, 1e-9);
    cr_assert_float_eq(hi, 59 * 86400.0 - 0.001, 1e-6);
    cr_assert(datetime_range("2000-02-29", &lo, &hi));
    cr_assert_float_eq(hi - lo, 86400.0 - 0.001, 1e-6);
    cr_assert(datetime_range("1970-01-01T01:00:00+01:00", &lo, &hi));
    cr_assert_float_eq(lo, 0, 1e-9);
    cr_assert(datetime_range("1970-01-01T00:00:10.5Z", &lo, &hi));
    cr_assert_float_eq(lo, 10.5, 1e-9);
    cr_assert(datetime_range("1970-01-01T00:01", &lo, &hi));
    cr_assert_float_eq(hi, 119.999, 1e-6);
}

Test(datetime, rejects_malformed) {
    static const char *bad[] = {"", "197", "1970-13", "1970-02-30", "1900-02-29", "1970-01-01T25:00:00Z",
                                "1970-01-01T10:00:00+15:00", "1970-01-01x", "1970-01-01T10:00:00.Z"};
    double lo, hi;
    for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) cr_assert_not(datetime_range(bad[i], &lo, &hi), "%s", bad[i]);
}

Test(datetime, format_round_trips) {
    char out[32];
    double lo, hi;
    cr_assert(datetime_range("2026-11-26T13:31:09.250+01:00", &lo, &hi));
    datetime_format(lo, out);
    cr_assert_str_eq(out, "2026-11-26T12:31:09.250Z");
}
