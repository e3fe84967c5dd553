/*
 * url.h — percent-decoding and -encoding of URL parts.
 */
#ifndef KITH_URL_H
#define KITH_URL_H
#include <stdbool.h>

#include "base/buf.h"

/* Percent-decode s in place; '+' becomes a space when plus_space. %00 is
 * left undecoded (a NUL would cut the string short). */
void url_decode(char *s, bool plus_space);
/* Append s percent-encoded for a query component. */
kith_rc url_encode(buf *b, const char *s);

#endif
