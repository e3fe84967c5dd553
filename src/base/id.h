/*
 * id.h — new resource ids. Thread-safe.
 */
#ifndef KITH_ID_H
#define KITH_ID_H

#define ID_UUID_LEN 37
/* A random (version 4) UUID in lower-case text form. */
void id_new_uuid(char out[ID_UUID_LEN]);

#endif
