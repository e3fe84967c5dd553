/*
 * clock.h — time helpers: FHIR instants, HTTP dates, a monotonic clock.
 * All thread-safe.
 */
#ifndef KITH_CLOCK_H
#define KITH_CLOCK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLOCK_INSTANT_LEN 32

/* Now as a FHIR instant with milliseconds in UTC: 2026-11-26T12:00:00.123Z.
 * Successive calls in one process never go backwards. */
void clock_instant_now(char out[CLOCK_INSTANT_LEN]);
/* An instant (as written by clock_instant_now) as an HTTP date
 * ("Thu, 26 Nov 2026 12:00:00 GMT"). Returns false if unparseable. */
bool clock_http_date(const char *instant, char *out, size_t outlen);
/* Microseconds from a monotonic clock. */
uint64_t clock_mono_us(void);

#endif
