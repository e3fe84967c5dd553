/*
 * temp_store.c — see temp_store.h.
 */
#include "temp_store.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A name nobody else uses: tag, process, a counter and the clock. */
static void unique_name(const char *tag, char *out, size_t len) {
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, len, "kith_unit_%s_%d_%u_%ld", tag, (int)getpid(), ++counter, (long)(ts.tv_nsec % 1000000));
    for(char *p = out; *p; p++)
        if(*p == '-') *p = '_';
}

store *temp_store_open(const char *tag, char path[TEMP_STORE_PATH], store_conn **conn) {
    const char *server = getenv("KITH_TEST_STORE_URL");
    if(server && *server) {
        /* one schema per store on the test server: the URL's search_path names it */
        cr_assert(store_is_postgres(server), "KITH_TEST_STORE_URL must be a postgresql:// URL, not %s", server);
        char name[128];
        unique_name(tag, name, sizeof name);
        snprintf(path, TEMP_STORE_PATH, "%s%soptions=-csearch_path%%3D%s", server, strchr(server, '?') ? "&" : "?",
                 name);
    } else {
        snprintf(path, TEMP_STORE_PATH, "/tmp/kith-unit-%s-%d-XXXXXX", tag, (int)getpid());
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        close(fd);
        unlink(path);
    }
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
    char err[256] = "";
    kith_rc rc = store_destroy(path, err, sizeof err);
    if(rc) fprintf(stderr, "temp_store: cannot remove %s: %s\n", path, err);
}
