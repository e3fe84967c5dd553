/*
 * temp_store.h — a fresh SQLite store in /tmp for a unit test, and its removal.
 */
#ifndef KITH_TEST_TEMP_STORE_H
#define KITH_TEST_TEMP_STORE_H
#include "store/store.h"

#define TEMP_STORE_PATH 96

/* Open a new empty store named after tag; path gets its file name and *conn
 * the calling thread's connection. Fails the test on error. */
store *temp_store_open(const char *tag, char path[TEMP_STORE_PATH], store_conn **conn);
/* Close the store and remove its files. */
void temp_store_remove(store *st, const char *path);

#endif
