/*
 * temp_store.c — see temp_store.h.
 */
#include "temp_store.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

store *temp_store_open(const char *tag, char path[TEMP_STORE_PATH], store_conn **conn) {
    snprintf(path, TEMP_STORE_PATH, "/tmp/kith-unit-%s-%d-XXXXXX", tag, (int)getpid());
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    unlink(path);
    char err[256];
    store *st = NULL;
    store_options o = {.durable_full = false};
    cr_assert_eq(store_open(path, &o, &st, err, sizeof err), KITH_OK, "%s", err);
    *conn = store_conn_for_thread(st);
    cr_assert_not_null(*conn);
    return st;
}

void temp_store_remove(store *st, const char *path) {
    store_close(st);
    char p[TEMP_STORE_PATH + 8];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}
