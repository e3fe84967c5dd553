/*
 * buf.h — growable byte buffers with a hard cap.
 *
 * A buf owns its bytes; buf_take hands them to the caller. Every buffer that
 * takes outside input is created with a cap, and appends past the cap fail
 * with KITH_ETOOBIG leaving the buffer unchanged.
 */
#ifndef KITH_BUF_H
#define KITH_BUF_H
#include <stdarg.h>
#include <stddef.h>

#include "base/rc.h"

typedef struct buf {
    char *data;   /* always NUL-terminated when non-NULL */
    size_t len;   /* bytes used, excluding the NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* hard cap on len; 0 = no cap */
} buf;

#define BUF_INIT {NULL, 0, 0, 0}

void buf_init(buf *b, size_t limit);
kith_rc buf_append(buf *b, const void *p, size_t n);
kith_rc buf_puts(buf *b, const char *s);
kith_rc buf_putc(buf *b, char c);
kith_rc buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
kith_rc buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Append s as the inside of a JSON string (quotes not included). */
kith_rc buf_json_escape(buf *b, const char *s);
void buf_reset(buf *b);
/* Hand the bytes to the caller (caller frees); the buf becomes empty. */
char *buf_take(buf *b, size_t *len);
void buf_free(buf *b);
const char *buf_str(const buf *b); /* borrowed; "" when empty */

#endif
