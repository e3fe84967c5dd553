/*
 * clock.c — time helpers (see clock.h). clock_instant_now keeps the last
 * millisecond handed out in an atomic so that instants never go backwards
 * when the wall clock is stepped back.
 */
#include "base/clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t last_ms;

void clock_instant_now(char out[CLOCK_INSTANT_LEN]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int64_t prev = atomic_load(&last_ms);
    for(;;) {
        int64_t want = ms > prev ? ms : prev;
        if(atomic_compare_exchange_weak(&last_ms, &prev, want)) {
            ms = want;
            break;
        }
    }
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    memcpy(out, tmp, CLOCK_INSTANT_LEN - 1);
    out[CLOCK_INSTANT_LEN - 1] = '\0';
}

bool clock_http_date(const char *instant, char *out, size_t outlen) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(instant, "%Y-%m-%dT%H:%M:%S", &tm);
    if(!end) return false;
    time_t t = timegm(&tm);
    gmtime_r(&t, &tm);
    return strftime(out, outlen, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0;
}

uint64_t clock_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
