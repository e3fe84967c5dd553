/*
 * log.c — JSON-lines logging to stderr (see log.h).
 */
#include "base/log.h"

#include <stdarg.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"

static log_level min_level = LOG_INFO;

void log_set_level(log_level min) { min_level = min; }
bool log_enabled(log_level l) { return l >= min_level; }

static const char *level_name(log_level l) {
    switch(l) {
    case LOG_DEBUG: return "debug";
    case LOG_INFO: return "info";
    case LOG_WARN: return "warn";
    case LOG_ERROR: return "error";
    }
    return "info";
}

void log_raw(const char *line, unsigned long len) {
    while(len > 0) {
        ssize_t w = write(2, line, len);
        if(w <= 0) return;
        line += w;
        len -= (unsigned long)w;
    }
}

void log_event(log_level l, const char *msg, const char *fields, ...) {
    if(!log_enabled(l)) return;
    char ts[CLOCK_INSTANT_LEN];
    clock_instant_now(ts);
    buf b = BUF_INIT;
    buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level_name(l));
    buf_json_escape(&b, msg);
    buf_putc(&b, '"');
    if(fields) {
        buf_putc(&b, ',');
        va_list ap;
        va_start(ap, fields);
        buf_vprintf(&b, fields, ap);
        va_end(ap);
    }
    buf_puts(&b, "}\n");
    log_raw(b.data, b.len);
    buf_free(&b);
}
