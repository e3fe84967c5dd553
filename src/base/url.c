/*
 * url.c — percent-decoding and -encoding (see url.h).
 */
#include "base/url.h"

#include <ctype.h>

static int hexval(int c) {
    if(c >= '0' && c <= '9') return c - '0';
    if(c >= 'a' && c <= 'f') return c - 'a' + 10;
    if(c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void url_decode(char *s, bool plus_space) {
    char *w = s;
    for(char *r = s; *r; r++) {
        if(*r == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0 && (r[1] != '0' || r[2] != '0')) {
            /* %00 stays as it is: a NUL would silently cut the C string short */
            *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
            r += 2;
        } else if(*r == '+' && plus_space) {
            *w++ = ' ';
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

kith_rc url_encode(buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    kith_rc rc = KITH_OK;
    for(const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        if(isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == '|' || *p == ':' || *p == '/' ||
           *p == ',')
            rc = buf_putc(b, (char)*p);
        else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = buf_append(b, e, 3);
        }
    }
    return rc;
}
