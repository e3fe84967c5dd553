/*
 * datetime.c — FHIR date/time spans (see datetime.h). Pure functions.
 */
#include "base/datetime.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool num(const char **p, int n, int *out) {
    int v = 0;
    for(int i = 0; i < n; i++) {
        char c = (*p)[i];
        if(c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static int days_in(int y, int m) {
    static const int D[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : D[m - 1];
}

/* Howard Hinnant's days-from-civil algorithm. */
int64_t datetime_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void datetime_civil_from_days(int64_t days, int *y, int *m, int *d) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void datetime_format_day(int64_t days, char out[11]) {
    int y, m, d;
    datetime_civil_from_days(days, &y, &m, &d);
    y = y < 0 ? 0 : y % 10000;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

bool datetime_range(const char *s, double *lo, double *hi) {
    const char *p = s;
    int y, mo = 1, d = 1, h = 0, mi = 0, se = 0;
    double frac = 0, width;
    if(!num(&p, 4, &y) || y < 1) return false;
    if(!*p) {
        *lo = (double)datetime_days_from_civil(y, 1, 1) * 86400.0;
        *hi = (double)datetime_days_from_civil(y + 1, 1, 1) * 86400.0 - 0.001;
        return true;
    }
    if(*p++ != '-' || !num(&p, 2, &mo) || mo < 1 || mo > 12) return false;
    if(!*p) {
        *lo = (double)datetime_days_from_civil(y, mo, 1) * 86400.0;
        *hi = *lo + days_in(y, mo) * 86400.0 - 0.001;
        return true;
    }
    if(*p++ != '-' || !num(&p, 2, &d) || d < 1 || d > days_in(y, mo)) return false;
    width = 86400.0;
    double offset = 0;
    if(*p == 'T') {
        p++;
        if(!num(&p, 2, &h) || h > 23 || *p++ != ':' || !num(&p, 2, &mi) || mi > 59) return false;
        width = 60.0;
        if(*p == ':') {
            p++;
            if(!num(&p, 2, &se) || se > 60) return false;
            width = 1.0;
            if(*p == '.') {
                p++;
                const char *f = p;
                double scale = 0.1;
                while(*p >= '0' && *p <= '9') {
                    frac += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
                if(p == f) return false;
                width = scale * 10 < 0.001 ? 0.001 : scale * 10;
            }
        }
        if(*p == 'Z') {
            p++;
        } else if(*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om;
            p++;
            if(!num(&p, 2, &oh) || *p++ != ':' || !num(&p, 2, &om) || oh > 14 || om > 59) return false;
            offset = sign * (oh * 3600.0 + om * 60.0);
        }
    }
    if(*p) return false;
    *lo = (double)datetime_days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + se + frac - offset;
    *hi = *lo + width - 0.001;
    if(*hi < *lo) *hi = *lo;
    return true;
}

void datetime_format(double secs, char out[32]) {
    double whole = floor(secs);
    int ms = (int)llround((secs - whole) * 1000.0);
    if(ms >= 1000) {
        whole += 1;
        ms -= 1000;
    }
    time_t t = (time_t)whole;
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    memcpy(out, tmp, 31);
    out[31] = '\0';
}
