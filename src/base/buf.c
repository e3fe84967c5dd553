/*
 * buf.c — growable byte buffers with a cap (see buf.h). Not thread-safe:
 * a buf belongs to one thread at a time.
 */
#include "base/buf.h"

#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include <stdlib.h>

void buf_init(buf *b, size_t limit) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

static kith_rc buf_reserve(buf *b, size_t extra) {
    if(b->limit && (extra > b->limit || b->len > b->limit - extra)) return KITH_ETOOBIG;
    size_t need = b->len + extra + 1;
    if(need <= b->cap) return KITH_OK;
    size_t ncap = b->cap ? b->cap : 256;
    while(ncap < need) ncap *= 2;
    b->data = xrealloc(b->data, ncap);
    b->cap = ncap;
    return KITH_OK;
}

kith_rc buf_append(buf *b, const void *p, size_t n) {
    kith_rc rc = buf_reserve(b, n);
    if(rc) return rc;
    if(n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return KITH_OK;
}

kith_rc buf_puts(buf *b, const char *s) {
    return buf_append(b, s, strlen(s));
}

kith_rc buf_putc(buf *b, char c) {
    return buf_append(b, &c, 1);
}

kith_rc buf_vprintf(buf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if(n < 0) return KITH_EINVAL;
    kith_rc rc = buf_reserve(b, (size_t)n);
    if(rc) return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return KITH_OK;
}

kith_rc buf_printf(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    kith_rc rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

kith_rc buf_json_escape(buf *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    kith_rc rc = KITH_OK;
    for(const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        switch(*p) {
        case '"': rc = buf_append(b, "\\\"", 2); break;
        case '\\': rc = buf_append(b, "\\\\", 2); break;
        case '\n': rc = buf_append(b, "\\n", 2); break;
        case '\r': rc = buf_append(b, "\\r", 2); break;
        case '\t': rc = buf_append(b, "\\t", 2); break;
        default:
            if(*p < 0x20) {
                char u[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
                rc = buf_append(b, u, 6);
            } else {
                rc = buf_putc(b, (char)*p);
            }
        }
    }
    return rc;
}

void buf_reset(buf *b) {
    b->len = 0;
    if(b->data) b->data[0] = '\0';
}

char *buf_take(buf *b, size_t *len) {
    char *d = b->data;
    if(!d) d = xstrdup("");
    if(len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void buf_free(buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *buf_str(const buf *b) {
    return b->data ? b->data : "";
}
