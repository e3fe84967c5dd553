/*
 * workday.c — working-time calendar (see workday.h).
 *
 * Time is walked one local calendar day at a time. A "day" here is a count
 * of days since 1970-01-01 as the calendar reads in the UK; its opening
 * hours become one half-open interval [a, b) of UTC seconds, or none when
 * closed, and the public functions search or add up those intervals. Bank
 * holidays are worked out afresh for the year whenever they are asked for
 * (a few dozen integer operations), so there is no cache and no state:
 * every function is pure and thread-safe. Nothing is allocated.
 */
#include "base/workday.h"

#include <stddef.h>

#include "base/datetime.h"

#define DAY_SECS 86400
#define MIN_UTC (-2208988800LL) /* 1900-01-01T00:00:00Z */
#define MAX_UTC 253402300799LL  /* 9999-12-31T23:59:59Z */

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Day of the week of a day count, 0 = Monday (1970-01-01 was a Thursday). */
static int weekday(int64_t day) { return (int)(((day + 3) % 7 + 7) % 7); }

static int year_of(int64_t day) {
    int y, m, d;
    datetime_civil_from_days(day, &y, &m, &d);
    return y;
}

/* The last weekday wd (0 = Monday) of a month that has 31 days. */
static int64_t last_weekday(int year, int month, int wd) {
    int64_t last = datetime_days_from_civil(year, month, 31);
    return last - (weekday(last) - wd + 7) % 7;
}

/* ---- UK civil time ----------------------------------------------------- */

/* BST starts and ends at 01:00 UTC on the last Sunday of March and October. */
static int64_t bst_start(int year) { return last_weekday(year, 3, 6) * DAY_SECS + 3600; }
static int64_t bst_end(int year) { return last_weekday(year, 10, 6) * DAY_SECS + 3600; }

int workday_uk_offset(int64_t utc_seconds) {
    int64_t t = clamp64(utc_seconds, MIN_UTC, MAX_UTC);
    int year = year_of(floor_div(t, DAY_SECS));
    return t >= bst_start(year) && t < bst_end(year) ? 3600 : 0;
}

/* The UK calendar day that contains instant t. */
static int64_t local_day(int64_t t) { return floor_div(t + workday_uk_offset(t), DAY_SECS); }

/* The instant at which UK clocks read sec seconds (0-86400) past the
 * midnight that starts day. In October's repeated hour the first (BST)
 * reading wins; a reading inside March's missing hour maps to the moment the
 * clocks go forward. Either way later readings never map to earlier
 * instants, so an opening interval never comes out negative. */
static int64_t local_to_utc(int64_t day, int sec) {
    int year = year_of(day);
    int64_t wall = day * DAY_SECS + sec, start = bst_start(year), end = bst_end(year);
    if(wall - 3600 >= start && wall - 3600 < end) return wall - 3600; /* BST */
    if(wall < start || wall >= end) return wall;                       /* GMT */
    return start;                                                      /* the missing hour */
}

/* ---- bank holidays of England and Wales ----------------------------- */

/* The standing bank holidays, in the order they fall in the year. */
enum { NEW_YEAR, GOOD_FRIDAY, EASTER_MONDAY, EARLY_MAY, SPRING, SUMMER, CHRISTMAS, BOXING_DAY, N_STANDING };
#define EXTRA (-1)        /* a one-off holiday added to the year */
#define MAX_HOLIDAYS (N_STANDING + 4)

/* One-off changes by royal proclamation, as listed at
 * https://www.gov.uk/bank-holidays (England and Wales). Each either moves a
 * standing holiday to another date or adds one. At most 4 per year. */
static const struct {
    int year, which, month, day;
} changes[] = {
    {1995, EARLY_MAY, 5, 8},  /* VE Day 50th anniversary */
    {1999, EXTRA, 12, 31},    /* millennium */
    {2002, SPRING, 6, 4},     /* golden jubilee */
    {2002, EXTRA, 6, 3},      /* golden jubilee */
    {2011, EXTRA, 4, 29},     /* royal wedding */
    {2012, SPRING, 6, 4},     /* diamond jubilee */
    {2012, EXTRA, 6, 5},      /* diamond jubilee */
    {2020, EARLY_MAY, 5, 8},  /* VE Day 75th anniversary */
    {2022, SPRING, 6, 2},     /* platinum jubilee */
    {2022, EXTRA, 6, 3},      /* platinum jubilee */
    {2022, EXTRA, 9, 19},     /* state funeral of Queen Elizabeth II */
    {2023, EXTRA, 5, 8},      /* coronation of King Charles III */
};

/* Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
static int64_t easter_sunday(int y) {
    int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
    int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    return datetime_days_from_civil(y, (h + l - 7 * m + 114) / 31, (h + l - 7 * m + 114) % 31 + 1);
}

static bool contains(const int64_t *days, int n, int64_t day) {
    for(int i = 0; i < n; i++)
        if(days[i] == day) return true;
    return false;
}

/* The bank holidays of year (as day counts, unordered) into out; returns
 * how many. */
static int year_holidays(int year, int64_t out[MAX_HOLIDAYS]) {
    int64_t easter = easter_sunday(year), may1 = datetime_days_from_civil(year, 5, 1);
    out[NEW_YEAR] = datetime_days_from_civil(year, 1, 1);
    out[GOOD_FRIDAY] = easter - 2;
    out[EASTER_MONDAY] = easter + 1;
    out[EARLY_MAY] = may1 + (7 - weekday(may1)) % 7;
    out[SPRING] = last_weekday(year, 5, 0);
    out[SUMMER] = last_weekday(year, 8, 0);
    out[CHRISTMAS] = datetime_days_from_civil(year, 12, 25);
    out[BOXING_DAY] = out[CHRISTMAS] + 1;
    int n = N_STANDING;
    for(size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        if(changes[i].year != year) continue;
        int64_t day = datetime_days_from_civil(year, changes[i].month, changes[i].day);
        if(changes[i].which == EXTRA && n < MAX_HOLIDAYS) out[n++] = day;
        else if(changes[i].which != EXTRA) out[changes[i].which] = day;
    }
    /* A standing holiday at a weekend moves to the next weekday that is not
     * already a holiday; going in date order, Christmas on a Saturday goes to
     * Monday 27th and Boxing Day (Sunday) to Tuesday 28th. */
    for(int i = 0; i < N_STANDING; i++) {
        if(weekday(out[i]) < 5) continue;
        int64_t day = out[i] + 1;
        while(weekday(day) >= 5 || contains(out, n, day)) day++;
        out[i] = day;
    }
    return n;
}

static bool holiday_on(int64_t day) {
    int64_t hols[MAX_HOLIDAYS];
    int n = year_holidays(year_of(day), hols);
    return contains(hols, n, day);
}

bool workday_is_bank_holiday(int year, int month, int day) {
    if(month < 1 || month > 12 || day < 1 || day > 31) return false;
    int64_t days = datetime_days_from_civil(year, month, day);
    int y, m, d;
    datetime_civil_from_days(days, &y, &m, &d);
    if(y != year || m != month || d != day) return false; /* e.g. 30 February */
    return holiday_on(days);
}

/* ---- weeks ------------------------------------------------------------- */

void workday_week_office(workday_week *w) {
    for(int i = 0; i < 7; i++) {
        w->day[i].open_min = i < 5 ? 9 * 60 : 0;
        w->day[i].close_min = i < 5 ? 17 * 60 : 0;
    }
    w->bank_holidays_open = false;
}

void workday_week_always(workday_week *w) {
    for(int i = 0; i < 7; i++) {
        w->day[i].open_min = 0;
        w->day[i].close_min = 1440;
    }
    w->bank_holidays_open = true;
}

/* "HH:MM" or "HH:MM:SS" (00:00 to 24:00) as minutes past midnight, seconds
 * rounded to the nearest minute; -1 if malformed. */
static int parse_time(const char *s) {
    int h, m, sec = 0;
    if(!s || !(s[0] >= '0' && s[0] <= '9') || !(s[1] >= '0' && s[1] <= '9') || s[2] != ':' ||
       !(s[3] >= '0' && s[3] <= '5') || !(s[4] >= '0' && s[4] <= '9'))
        return -1;
    h = (s[0] - '0') * 10 + (s[1] - '0');
    m = (s[3] - '0') * 10 + (s[4] - '0');
    if(s[5] == ':') {
        if(!(s[6] >= '0' && s[6] <= '5') || !(s[7] >= '0' && s[7] <= '9') || s[8] != '\0') return -1;
        sec = (s[6] - '0') * 10 + (s[7] - '0');
    } else if(s[5] != '\0') {
        return -1;
    }
    if(h > 24 || (h == 24 && (m || sec))) return -1;
    return h * 60 + m + (sec >= 30);
}

bool workday_set_day(workday_week *w, int day, const char *open, const char *close) {
    int o = parse_time(open), c = parse_time(close);
    if(day < 0 || day > 6 || o < 0 || c < 0) return false;
    w->day[day].open_min = o;
    w->day[day].close_min = c;
    return true;
}

/* ---- working time ---------------------------------------------------- */

/* Opening hours of weekday wd (0 = Monday), clamped to 0-1440 minutes;
 * false if closed. */
static bool day_hours(const workday_week *w, int wd, int *open_min, int *close_min) {
    *open_min = (int)clamp64(w->day[wd].open_min, 0, 1440);
    *close_min = (int)clamp64(w->day[wd].close_min, 0, 1440);
    return *open_min < *close_min;
}

/* The open interval [*a, *b) of day in UTC; false if the service is closed
 * all that day (by the week, a bank holiday, or opening hours that lie
 * wholly in March's missing hour). */
static bool open_interval(const workday_week *w, int64_t day, int64_t *a, int64_t *b) {
    int o, c;
    if(!day_hours(w, weekday(day), &o, &c)) return false;
    if(!w->bank_holidays_open && holiday_on(day)) return false;
    *a = local_to_utc(day, o * 60);
    *b = local_to_utc(day, c * 60);
    return *a < *b;
}

static bool week_ever_open(const workday_week *w) {
    int o, c;
    for(int wd = 0; wd < 7; wd++)
        if(day_hours(w, wd, &o, &c)) return true;
    return false;
}

/* The first open interval that ends after t: its day and [*a, *b). The
 * caller has checked that the week is open at some time. */
static int64_t next_open(const workday_week *w, int64_t t, int64_t *a, int64_t *b) {
    int64_t day = local_day(t);
    while(!open_interval(w, day, a, b) || *b <= t) day++;
    return day;
}

int64_t workday_add_hours(const workday_week *w, int64_t start_utc, int hours) {
    if(hours <= 0) return start_utc;
    if(hours > WORKDAY_MAX_HOURS || start_utc < MIN_UTC || start_utc > MAX_UTC || !week_ever_open(w))
        return WORKDAY_NEVER;
    int64_t left = (int64_t)hours * 3600, a, b;
    for(int64_t day = local_day(start_utc);; day++) {
        if(!open_interval(w, day, &a, &b) || b <= start_utc) continue;
        if(a < start_utc) a = start_utc;
        if(left <= b - a) return a + left;
        left -= b - a;
    }
}

int64_t workday_add_days(const workday_week *w, int64_t start_utc, int days) {
    if(days > WORKDAY_MAX_DAYS || start_utc < MIN_UTC || start_utc > MAX_UTC || !week_ever_open(w))
        return WORKDAY_NEVER;
    int64_t a, b, day = next_open(w, start_utc, &a, &b);
    int64_t first = a > start_utc ? a : start_utc;
    if(days <= 0) return first;
    int64_t time_of_day = first + workday_uk_offset(first) - day * DAY_SECS; /* local clock, seconds */
    for(int n = 0; n < days;)
        if(open_interval(w, ++day, &a, &b)) n++;
    int o, c;
    day_hours(w, weekday(day), &o, &c);
    return local_to_utc(day, (int)clamp64(time_of_day, o * 60, c * 60));
}

int64_t workday_open_seconds(const workday_week *w, int64_t from_utc, int64_t to_utc) {
    int64_t from = clamp64(from_utc, MIN_UTC, MAX_UTC), to = clamp64(to_utc, MIN_UTC, MAX_UTC);
    int64_t total = 0, a, b;
    if(to <= from) return 0;
    for(int64_t day = local_day(from), last = local_day(to); day <= last; day++) {
        if(!open_interval(w, day, &a, &b)) continue;
        if(a < from) a = from;
        if(b > to) b = to;
        if(b > a) total += b - a;
    }
    return total;
}
