/* test_workday.c — src/base/workday.c: working-time calendar for response targets. */
#include <criterion/criterion.h>

#include "base/datetime.h"
#include "base/workday.h"

/* y-m-d h:mi as UTC seconds. */
static int64_t utc(int y, int mo, int d, int h, int mi) {
    return datetime_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

/* Exactly these n dates (month, day) of year are bank holidays. */
static void expect_holidays(int year, const int (*md)[2], int n) {
    for(int i = 0; i < n; i++)
        cr_assert(workday_is_bank_holiday(year, md[i][0], md[i][1]), "%d-%02d-%02d", year, md[i][0], md[i][1]);
    int found = 0;
    for(int m = 1; m <= 12; m++)
        for(int d = 1; d <= 31; d++) found += workday_is_bank_holiday(year, m, d);
    cr_assert_eq(found, n, "%d has %d bank holidays, expected %d", year, found, n);
}

#define EXPECT_HOLIDAYS(year, ...)                                                                                     \
    do {                                                                                                               \
        static const int md[][2] = {__VA_ARGS__};                                                                      \
        expect_holidays(year, md, (int)(sizeof md / sizeof md[0]));                                                    \
    } while(0)

/* The lists at gov.uk/bank-holidays (England and Wales). */
Test(workday, bank_holidays_recent_years) {
    EXPECT_HOLIDAYS(2020, {1, 1}, {4, 10}, {4, 13}, {5, 8}, {5, 25}, {8, 31}, {12, 25}, {12, 28});
    EXPECT_HOLIDAYS(2021, {1, 1}, {4, 2}, {4, 5}, {5, 3}, {5, 31}, {8, 30}, {12, 27}, {12, 28});
    EXPECT_HOLIDAYS(2022, {1, 3}, {4, 15}, {4, 18}, {5, 2}, {6, 2}, {6, 3}, {8, 29}, {9, 19}, {12, 26}, {12, 27});
    EXPECT_HOLIDAYS(2023, {1, 2}, {4, 7}, {4, 10}, {5, 1}, {5, 8}, {5, 29}, {8, 28}, {12, 25}, {12, 26});
    EXPECT_HOLIDAYS(2024, {1, 1}, {3, 29}, {4, 1}, {5, 6}, {5, 27}, {8, 26}, {12, 25}, {12, 26});
    EXPECT_HOLIDAYS(2025, {1, 1}, {4, 18}, {4, 21}, {5, 5}, {5, 26}, {8, 25}, {12, 25}, {12, 26});
    EXPECT_HOLIDAYS(2026, {1, 1}, {4, 3}, {4, 6}, {5, 4}, {5, 25}, {8, 31}, {12, 25}, {12, 28});
    EXPECT_HOLIDAYS(2027, {1, 1}, {3, 26}, {3, 29}, {5, 3}, {5, 31}, {8, 30}, {12, 27}, {12, 28});
}

Test(workday, bank_holidays_one_off_years) {
    EXPECT_HOLIDAYS(1995, {1, 2}, {4, 14}, {4, 17}, {5, 8}, {5, 29}, {8, 28}, {12, 25}, {12, 26});
    EXPECT_HOLIDAYS(1999, {1, 1}, {4, 2}, {4, 5}, {5, 3}, {5, 31}, {8, 30}, {12, 27}, {12, 28}, {12, 31});
    EXPECT_HOLIDAYS(2000, {1, 3}, {4, 21}, {4, 24}, {5, 1}, {5, 29}, {8, 28}, {12, 25}, {12, 26});
    EXPECT_HOLIDAYS(2002, {1, 1}, {3, 29}, {4, 1}, {5, 6}, {6, 3}, {6, 4}, {8, 26}, {12, 25}, {12, 26});
    EXPECT_HOLIDAYS(2011, {1, 3}, {4, 22}, {4, 25}, {4, 29}, {5, 2}, {5, 30}, {8, 29}, {12, 26}, {12, 27});
    EXPECT_HOLIDAYS(2012, {1, 2}, {4, 6}, {4, 9}, {5, 7}, {6, 4}, {6, 5}, {8, 27}, {12, 25}, {12, 26});
}

Test(workday, bank_holidays_edges) {
    /* Christmas on Sunday (2033): Boxing Day stays Monday, Christmas moves to Tuesday. */
    EXPECT_HOLIDAYS(2033, {1, 3}, {4, 15}, {4, 18}, {5, 2}, {5, 30}, {8, 29}, {12, 26}, {12, 27});
    /* Easter at its earliest (22 March 2285 is out of range; 23 March 2008) and latest (25 April 2038). */
    cr_assert(workday_is_bank_holiday(2008, 3, 21));
    cr_assert(workday_is_bank_holiday(2008, 3, 24));
    cr_assert(workday_is_bank_holiday(2038, 4, 23));
    cr_assert(workday_is_bank_holiday(2038, 4, 26));
    cr_assert(workday_is_bank_holiday(2100, 3, 26)); /* Easter 2100 is 28 March */
    cr_assert_not(workday_is_bank_holiday(2026, 2, 30));
    cr_assert_not(workday_is_bank_holiday(2026, 13, 1));
    cr_assert_not(workday_is_bank_holiday(2026, 0, 1));
    cr_assert_not(workday_is_bank_holiday(2026, 12, 0));
    cr_assert_not(workday_is_bank_holiday(2026, 12, 26)); /* a Saturday: its substitute is the 28th */
}

Test(workday, uk_offset_follows_bst) {
    cr_assert_eq(workday_uk_offset(utc(2026, 1, 15, 12, 0)), 0);
    cr_assert_eq(workday_uk_offset(utc(2026, 7, 15, 12, 0)), 3600);
    cr_assert_eq(workday_uk_offset(utc(2026, 3, 29, 0, 59) + 59), 0);
    cr_assert_eq(workday_uk_offset(utc(2026, 3, 29, 1, 0)), 3600);
    cr_assert_eq(workday_uk_offset(utc(2026, 10, 25, 0, 59) + 59), 3600);
    cr_assert_eq(workday_uk_offset(utc(2026, 10, 25, 1, 0)), 0);
    cr_assert_eq(workday_uk_offset(utc(2027, 3, 28, 0, 59)), 0);
    cr_assert_eq(workday_uk_offset(utc(2027, 3, 28, 1, 0)), 3600);
    cr_assert_eq(workday_uk_offset(utc(2027, 10, 31, 0, 59)), 3600);
    cr_assert_eq(workday_uk_offset(utc(2027, 10, 31, 1, 0)), 0);
    cr_assert_eq(workday_uk_offset(INT64_MAX), 0);
    cr_assert_eq(workday_uk_offset(INT64_MIN), 0);
}

Test(workday, weeks_and_set_day) {
    workday_week w;
    workday_week_office(&w);
    cr_assert_eq(w.day[0].open_min, 540);
    cr_assert_eq(w.day[4].close_min, 1020);
    cr_assert_geq(w.day[5].open_min, w.day[5].close_min);
    cr_assert_not(w.bank_holidays_open);
    workday_week_always(&w);
    cr_assert_eq(w.day[6].open_min, 0);
    cr_assert_eq(w.day[6].close_min, 1440);
    cr_assert(w.bank_holidays_open);

    cr_assert(workday_set_day(&w, 0, "08:30:00", "17:00:00"));
    cr_assert_eq(w.day[0].open_min, 510);
    cr_assert_eq(w.day[0].close_min, 1020);
    cr_assert(workday_set_day(&w, 6, "00:00", "24:00"));
    cr_assert_eq(w.day[6].close_min, 1440);
    cr_assert(workday_set_day(&w, 5, "07:59:30", "23:59:59"));
    cr_assert_eq(w.day[5].open_min, 480);
    cr_assert_eq(w.day[5].close_min, 1440);

    static const char *bad[] = {"", "8:30", "08:60", "25:00", "24:01", "24:00:01", "08:30:", "08:30:60",
                                "08:30:00Z", "08-30", "08:3", "0830"};
    for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_not(workday_set_day(&w, 1, bad[i], "17:00"), "%s", bad[i]);
        cr_assert_not(workday_set_day(&w, 1, "09:00", bad[i]), "%s", bad[i]);
    }
    cr_assert_not(workday_set_day(&w, 1, NULL, "17:00"));
    cr_assert_not(workday_set_day(&w, 7, "09:00", "17:00"));
    cr_assert_not(workday_set_day(&w, -1, "09:00", "17:00"));
    cr_assert_eq(w.day[1].open_min, 0); /* unchanged by the failures */
    cr_assert_eq(w.day[1].close_min, 1440);
}

Test(workday, hours_skip_nights_and_weekends) {
    workday_week w;
    workday_week_office(&w);
    /* Friday 15:00 + 4h -> Monday 11:00, in GMT and in BST. */
    cr_assert_eq(workday_add_hours(&w, utc(2026, 1, 9, 15, 0), 4), utc(2026, 1, 12, 11, 0));
    cr_assert_eq(workday_add_hours(&w, utc(2026, 6, 5, 14, 0), 4), utc(2026, 6, 8, 10, 0));
    /* Thursday 2 April 2026 16:00 BST, then Good Friday, the weekend and Easter Monday:
     * Tuesday 7 April 12:00 BST. */
    cr_assert_eq(workday_add_hours(&w, utc(2026, 4, 2, 15, 0), 4), utc(2026, 4, 7, 11, 0));
    /* Ends exactly at closing time: due then, not next morning. */
    cr_assert_eq(workday_add_hours(&w, utc(2026, 1, 12, 13, 0), 4), utc(2026, 1, 12, 17, 0));
    /* Started overnight: counts from 09:00. */
    cr_assert_eq(workday_add_hours(&w, utc(2026, 1, 12, 20, 0), 8), utc(2026, 1, 13, 17, 0));
    cr_assert_eq(workday_add_hours(&w, utc(2026, 1, 12, 20, 0), 9), utc(2026, 1, 14, 10, 0));
    /* Christmas 2026: Thursday 24th 16:00 -> Tuesday 29th 10:00. */
    cr_assert_eq(workday_add_hours(&w, utc(2026, 12, 24, 16, 0), 2), utc(2026, 12, 29, 10, 0));
    cr_assert_eq(workday_add_hours(&w, utc(2026, 1, 10, 12, 0), 0), utc(2026, 1, 10, 12, 0));
    cr_assert_eq(workday_add_hours(&w, utc(2026, 1, 10, 12, 0), WORKDAY_MAX_HOURS + 1), WORKDAY_NEVER);
    /* Open on bank holidays: Good Friday 2026 counts. */
    w.bank_holidays_open = true;
    cr_assert_eq(workday_add_hours(&w, utc(2026, 4, 2, 15, 0), 4), utc(2026, 4, 3, 11, 0));
}

Test(workday, always_open_adds_plain_hours) {
    workday_week w;
    workday_week_always(&w);
    int64_t starts[] = {utc(2026, 3, 28, 22, 0), utc(2026, 10, 24, 23, 30), utc(2026, 12, 24, 8, 0),
                        utc(2026, 6, 1, 0, 0)};
    for(size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        cr_assert_eq(workday_add_hours(&w, starts[i], 4), starts[i] + 4 * 3600);
        cr_assert_eq(workday_add_hours(&w, starts[i], 30), starts[i] + 30 * 3600);
        cr_assert_eq(workday_add_hours(&w, starts[i], 24 * 400), starts[i] + 24 * 400 * 3600LL);
        cr_assert_eq(workday_open_seconds(&w, starts[i], starts[i] + 100000), 100000);
    }
}

Test(workday, days_keep_time_of_day) {
    workday_week w;
    workday_week_office(&w);
    /* Monday 10:00 + 5 working days -> next Monday 10:00. */
    cr_assert_eq(workday_add_days(&w, utc(2026, 1, 12, 10, 0), 5), utc(2026, 1, 19, 10, 0));
    /* From Saturday: the clock starts Monday 09:00. */
    cr_assert_eq(workday_add_days(&w, utc(2026, 1, 10, 14, 0), 5), utc(2026, 1, 19, 9, 0));
    cr_assert_eq(workday_add_days(&w, utc(2026, 1, 10, 14, 0), 0), utc(2026, 1, 12, 9, 0));
    /* After closing: the clock starts next morning. */
    cr_assert_eq(workday_add_days(&w, utc(2026, 1, 12, 17, 0), 1), utc(2026, 1, 14, 9, 0));
    /* Over Christmas 2026: Wednesday 23rd -> Thursday 24th, Tuesday 29th. */
    cr_assert_eq(workday_add_days(&w, utc(2026, 12, 23, 10, 0), 2), utc(2026, 12, 29, 10, 0));
    /* Local time kept across the clocks going forward: 10:00 GMT -> 10:00 BST. */
    cr_assert_eq(workday_add_days(&w, utc(2026, 3, 27, 10, 0), 1), utc(2026, 3, 30, 9, 0));
    cr_assert_eq(workday_add_days(&w, utc(2026, 10, 23, 9, 0), 1), utc(2026, 10, 26, 10, 0));
    /* Clamped to a shorter day: Friday closes at 16:00. */
    cr_assert(workday_set_day(&w, 4, "09:00", "16:00"));
    cr_assert_eq(workday_add_days(&w, utc(2026, 1, 15, 16, 30), 1), utc(2026, 1, 16, 16, 0));
    /* ... and to a later opening: Monday opens at 10:30. */
    cr_assert(workday_set_day(&w, 0, "10:30", "17:00"));
    cr_assert_eq(workday_add_days(&w, utc(2026, 1, 16, 9, 15), 1), utc(2026, 1, 19, 10, 30));
    cr_assert_eq(workday_add_days(&w, utc(2026, 1, 16, 9, 15), WORKDAY_MAX_DAYS + 1), WORKDAY_NEVER);
}

Test(workday, closed_week_never_due) {
    workday_week w = {0};
    cr_assert_eq(workday_add_hours(&w, utc(2026, 1, 12, 10, 0), 1), WORKDAY_NEVER);
    cr_assert_eq(workday_add_days(&w, utc(2026, 1, 12, 10, 0), 1), WORKDAY_NEVER);
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0)), 0);
    workday_week_office(&w);
    cr_assert_eq(workday_add_hours(&w, INT64_MAX - 10, 1), WORKDAY_NEVER);
    cr_assert_eq(workday_add_days(&w, INT64_MIN, 1), WORKDAY_NEVER);
}

Test(workday, open_seconds_measures_working_time) {
    workday_week w;
    workday_week_office(&w);
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 1, 9, 15, 0), utc(2026, 1, 12, 11, 0)), 4 * 3600);
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 1, 9, 17, 0), utc(2026, 1, 12, 9, 0)), 0);
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 1, 12, 11, 0), utc(2026, 1, 9, 15, 0)), 0);
    /* A whole ordinary week is 40 hours; Easter week 2026 (Monday 6 April a holiday) 32. */
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 1, 12, 0, 0), utc(2026, 1, 19, 0, 0)), 40 * 3600);
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 4, 6, 0, 0), utc(2026, 4, 13, 0, 0)), 32 * 3600);
    /* 2026: 52 weeks and a Thursday, 253 weekdays less 8 bank holidays. */
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0)), (261 - 8) * 8 * 3600LL);
}

Test(workday, clock_changes_on_open_days) {
    workday_week w;
    workday_week_always(&w);
    /* Local days of 23 and 25 hours. */
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 23, 0)), 23 * 3600);
    cr_assert(workday_set_day(&w, 6, "00:30", "02:30"));
    /* Sunday 00:30-02:30 local: one hour the day the clocks go forward, three the day they go back. */
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 12, 0)), 3600);
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 12, 0)), 3 * 3600);
    /* Opening hours wholly inside the missing hour: closed that day. */
    cr_assert(workday_set_day(&w, 6, "01:15", "01:45"));
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 3, 28, 0, 0), utc(2026, 3, 29, 23, 0)), 24 * 3600);
    cr_assert_eq(workday_open_seconds(&w, utc(2026, 3, 21, 0, 0), utc(2026, 3, 23, 0, 0)), 24 * 3600 + 1800);
}

/* workday_open_seconds undoes workday_add_hours, for many starts and weeks. */
Test(workday, open_seconds_inverts_add_hours) {
    workday_week weeks[4];
    workday_week_office(&weeks[0]);
    workday_week_always(&weeks[1]);
    workday_week_office(&weeks[2]);
    cr_assert(workday_set_day(&weeks[2], 5, "10:00", "13:30"));
    cr_assert(workday_set_day(&weeks[2], 6, "00:30", "02:30"));
    cr_assert(workday_set_day(&weeks[2], 2, "08:00", "24:00"));
    weeks[2].bank_holidays_open = true;
    workday_week_always(&weeks[3]);
    weeks[3].bank_holidays_open = false;
    static const int hours[] = {1, 4, 8, 9, 37, 200};
    for(int k = 0; k < 4; k++) {
        for(int64_t start = utc(2025, 12, 20, 0, 0); start < utc(2027, 1, 5, 0, 0); start += 3 * 3600 + 17 * 60) {
            for(size_t i = 0; i < sizeof hours / sizeof hours[0]; i++) {
                int64_t due = workday_add_hours(&weeks[k], start, hours[i]);
                cr_assert_gt(due, start);
                cr_assert_eq(workday_open_seconds(&weeks[k], start, due), hours[i] * 3600LL, "week %d start %lld h %d",
                             k, (long long)start, hours[i]);
                cr_assert_lt(workday_open_seconds(&weeks[k], start, due - 1), hours[i] * 3600LL);
            }
            int64_t due = workday_add_days(&weeks[k], start, 3);
            cr_assert_geq(due, start);
            cr_assert_geq(workday_open_seconds(&weeks[k], start, due), 2 * 3600LL);
        }
    }
}
