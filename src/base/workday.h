/*
 * workday.h — working-time calendar for response targets.
 *
 * NHS and council services promise responses in working time: "urgent:
 * 4 working hours, routine: 5 working days". A workday_week says when a
 * service is open on each day of the week, in UK civil time (GMT, or BST
 * in summer), and whether it opens on the bank holidays of England and
 * Wales. The functions here turn a start instant and a target into a due
 * instant, and measure working time between two instants ("how overdue").
 *
 * All instants are seconds since 1970-01-01 UTC; local time is worked out
 * here without the C library's time zone state, so everything is pure and
 * thread-safe. A zeroed workday_week is closed every day.
 */
#ifndef KITH_WORKDAY_H
#define KITH_WORKDAY_H
#include <stdbool.h>
#include <stdint.h>

/* Returned as a due time that never comes: the week has no open time, the
 * target is over the caps below, or the start lies outside years 1900-9999. */
#define WORKDAY_NEVER INT64_MAX
/* Caps on targets (over ten years of round-the-clock working). */
#define WORKDAY_MAX_HOURS 100000
#define WORKDAY_MAX_DAYS 10000

/* Opening hours for each day of the week, index 0 = Monday .. 6 = Sunday,
 * in minutes from local midnight; a day with open_min >= close_min is closed.
 * close_min may be 1440 (open until midnight). Values outside 0-1440 are
 * clamped into it. */
typedef struct workday_week {
    struct {
        int open_min, close_min;
    } day[7];
    bool bank_holidays_open; /* false: closed all day on a bank holiday */
} workday_week;

/* Mon-Fri 09:00-17:00, closed on bank holidays. */
void workday_week_office(workday_week *w);
/* Every day 00:00-24:00, open on bank holidays. */
void workday_week_always(workday_week *w);

/* Set day (0 = Monday .. 6 = Sunday) open from open to close, each
 * "HH:MM" or "HH:MM:SS" local time (FHIR availableTime's availableStartTime
 * and availableEndTime). Seconds round to the nearest minute, so a FHIR
 * close of "23:59:59" means open until midnight; "24:00" is accepted too.
 * open at or after close makes the day closed. Returns false, leaving w
 * unchanged, if day is out of range or either time is malformed. */
bool workday_set_day(workday_week *w, int day, const char *open, const char *close);

/* True if y-m-d is a bank holiday in England and Wales: the standing
 * holidays, weekend substitutes and one-off changes (see workday.c) for
 * 1995-2100. Other years get the standing rules only. False for a date
 * that does not exist. */
bool workday_is_bank_holiday(int year, int month, int day);

/* UK civil time offset from UTC at that instant: 0 (GMT) or 3600 (BST).
 * BST runs from 01:00 UTC on the last Sunday of March to 01:00 UTC on the
 * last Sunday of October, the rule since 1996; earlier years get the same
 * rule (so October 1995 is a week out). */
int workday_uk_offset(int64_t utc_seconds);

/* Due time for a target of hours working hours, counted only while open,
 * starting at start_utc. A target that runs out exactly at closing time is
 * due then, not at the next opening; zero hours (or fewer) is due at
 * start_utc. Returns WORKDAY_NEVER as described above. */
int64_t workday_add_hours(const workday_week *w, int64_t start_utc, int hours);

/* Due time for a target of days working days: the clock starts at the
 * next open moment (start_utc itself if open), then moves on days open
 * days, keeping the local time of day (clamped to that day's opening
 * hours). Zero days (or fewer) is due at that first open moment. Returns
 * WORKDAY_NEVER as described above. */
int64_t workday_add_days(const workday_week *w, int64_t start_utc, int days);

/* Working seconds between two instants (for "how overdue"): the open time
 * in [from_utc, to_utc). 0 when to_utc <= from_utc. Instants outside years
 * 1900-9999 are clamped into them. */
int64_t workday_open_seconds(const workday_week *w, int64_t from_utc, int64_t to_utc);

#endif
