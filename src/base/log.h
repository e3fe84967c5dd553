/*
 * log.h — structured logging: one JSON object per line on stderr.
 * Thread-safe: each line is written with a single write(2).
 */
#ifndef KITH_LOG_H
#define KITH_LOG_H
#include <stdbool.h>

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level min);
bool log_enabled(log_level l);
/* Log msg with extra fields: `fields` is a printf format producing JSON
 * members without braces, e.g. "\"port\":%d", or NULL. */
void log_event(log_level l, const char *msg, const char *fields, ...) __attribute__((format(printf, 3, 4)));
/* Write a pre-built line (must end with '\n'). */
void log_raw(const char *line, unsigned long len);

#endif
