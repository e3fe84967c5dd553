/*
 * metrics.c — per-route request counts and latency histograms.
 * Routes are static strings chosen by handlers (a small fixed set), so a
 * linear table of (route, method, status) series is enough.
 */
#include "http/metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#define MAX_SERIES 256
#define NBUCKETS 12

static const double BUCKETS_S[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                           0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

typedef struct series {
    const char *route;
    const char *method;
    int status;
    uint64_t count;
    uint64_t sum_us;
    uint64_t buckets[NBUCKETS]; /* non-cumulative */
} series;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static series table[MAX_SERIES];
static size_t nseries;
static uint64_t dropped;

void metrics_observe(const char *route, const char *method, int status, uint64_t micros) {
    pthread_mutex_lock(&lock);
    series *s = NULL;
    for(size_t i = 0; i < nseries; i++) {
        if(table[i].status == status && table[i].route == route && strcmp(table[i].method, method) == 0) {
            s = &table[i];
            break;
        }
    }
    if(!s && nseries < MAX_SERIES) {
        s = &table[nseries++];
        s->route = route;
        s->method = strcmp(method, "GET") == 0      ? "GET"
                    : strcmp(method, "POST") == 0   ? "POST"
                    : strcmp(method, "PUT") == 0    ? "PUT"
                    : strcmp(method, "DELETE") == 0 ? "DELETE"
                    : strcmp(method, "PATCH") == 0  ? "PATCH"
                    : strcmp(method, "HEAD") == 0   ? "HEAD"
                                                    : "OTHER";
        s->status = status;
    }
    if(s) {
        s->count++;
        s->sum_us += micros;
        double secs = (double)micros / 1e6;
        for(int b = 0; b < NBUCKETS; b++) {
            if(secs <= BUCKETS_S[b]) {
                s->buckets[b]++;
                break;
            }
        }
    } else {
        dropped++;
    }
    pthread_mutex_unlock(&lock);
}

void metrics_write(buf *out) {
    pthread_mutex_lock(&lock);
    buf_puts(out, "# HELP kith_http_requests_total HTTP requests by route, method and status.\n"
                  "# TYPE kith_http_requests_total counter\n");
    for(size_t i = 0; i < nseries; i++)
        buf_printf(out, "kith_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n", table[i].route,
                   table[i].method, table[i].status, (unsigned long long)table[i].count);
    buf_puts(out, "# HELP kith_http_request_duration_seconds Time to answer HTTP requests.\n"
                  "# TYPE kith_http_request_duration_seconds histogram\n");
    /* One histogram per route: merge methods and statuses. */
    for(size_t i = 0; i < nseries; i++) {
        bool first = true;
        for(size_t j = 0; j < i; j++)
            if(table[j].route == table[i].route) first = false;
        if(!first) continue;
        uint64_t b[NBUCKETS] = {0}, count = 0, sum = 0;
        for(size_t j = i; j < nseries; j++) {
            if(table[j].route != table[i].route) continue;
            for(int k = 0; k < NBUCKETS; k++) b[k] += table[j].buckets[k];
            count += table[j].count;
            sum += table[j].sum_us;
        }
        uint64_t cum = 0;
        for(int k = 0; k < NBUCKETS; k++) {
            cum += b[k];
            buf_printf(out, "kith_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                       table[i].route, BUCKETS_S[k], (unsigned long long)cum);
        }
        buf_printf(out, "kith_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", table[i].route,
                   (unsigned long long)count);
        buf_printf(out, "kith_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", table[i].route,
                   (double)sum / 1e6);
        buf_printf(out, "kith_http_request_duration_seconds_count{route=\"%s\"} %llu\n", table[i].route,
                   (unsigned long long)count);
    }
    buf_printf(out, "# HELP kith_http_metrics_dropped_total Observations beyond the series table.\n"
                    "# TYPE kith_http_metrics_dropped_total counter\nkith_http_metrics_dropped_total %llu\n",
               (unsigned long long)dropped);
    pthread_mutex_unlock(&lock);
}
