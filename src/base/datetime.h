/*
 * datetime.h — FHIR date, dateTime and instant values as time ranges.
 *
 * A FHIR date/time names a span as wide as its precision: "2026" is the
 * whole year, "2026-11-26T09:30" a minute. Search compares these spans,
 * so values become [lo, hi] in seconds since 1970 UTC, hi inclusive to the
 * millisecond. Values without a time zone are taken as UTC.
 */
#ifndef KITH_DATETIME_H
#define KITH_DATETIME_H
#include <stdbool.h>

/* Parse s (YYYY, YYYY-MM, YYYY-MM-DD, or with Thh:mm[:ss[.fff]][Z|+hh:mm]).
 * Returns false if s is not such a value (or names a day that does not exist). */
bool datetime_range(const char *s, double *lo, double *hi);
#include <stdint.h>

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (m 1-12). */
int64_t datetime_days_from_civil(int64_t y, int m, int d);

/* The inverse: the date days after 1970-01-01. */
void datetime_civil_from_days(int64_t days, int *y, int *m, int *d);
/* That date as YYYY-MM-DD. */
void datetime_format_day(int64_t days, char out[11]);

/* secs as an instant with milliseconds in UTC (2026-11-26T09:30:00.000Z). */
void datetime_format(double secs, char out[32]);

#endif
