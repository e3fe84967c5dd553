/*
 * metrics.h — request counters and latency histograms in Prometheus text
 * format. Thread-safe (one mutex; updates are a few adds).
 */
#ifndef KITH_HTTP_METRICS_H
#define KITH_HTTP_METRICS_H
#include <stdint.h>

#include "base/buf.h"

void metrics_observe(const char *route, const char *method, int status, uint64_t micros);
/* Append the Prometheus exposition of everything observed so far. */
void metrics_write(buf *out);

#endif
