/*
 * id.h — resource ids: random and name-based UUIDs. Thread-safe.
 */
#ifndef KITH_ID_H
#define KITH_ID_H

#include <stdbool.h>

#define ID_UUID_LEN 37
/* A random (version 4) UUID in lower-case text form. */
void id_new_uuid(char out[ID_UUID_LEN]);
/* The name-based (version 5, SHA-1, RFC 4122) UUID of name in the 16-byte
 * namespace ns: the same name always gives the same UUID. */
void id_name_uuid(const unsigned char ns[16], const char *name, char out[ID_UUID_LEN]);
/* True if s is a UUID in text form (8-4-4-4-12 hex digits, either case). */
bool id_is_uuid(const char *s);

#endif
