/*
 * temp_store.h — a fresh store for a unit test, and its removal: a SQLite
 * file in /tmp, or, when KITH_TEST_STORE_URL names a PostgreSQL server
 * (postgresql://...; `make unit-pg` starts one), a new schema on it.
 */
#ifndef KITH_TEST_TEMP_STORE_H
#define KITH_TEST_TEMP_STORE_H
#include "store/store.h"

#define TEMP_STORE_PATH 512

/* Open a new empty store named after tag; path gets its file name (or URL)
 * and *conn the calling thread's connection. Fails the test on error. */
store *temp_store_open(const char *tag, char path[TEMP_STORE_PATH], store_conn **conn);
/* Close the store and remove it. */
void temp_store_remove(store *st, const char *path);

#endif
