/*
 * mem.c — allocation wrappers (see mem.h). Thread-safe: the fault-injection
 * counter is atomic.
 */
#include "base/mem.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown;

static void die_oom(size_t n) {
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"bytes\":%zu}\n", n);
    abort();
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if(!p) die_oom(n);
    return p;
}

void *xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if(!p) die_oom(n * sz);
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if(!q) die_oom(n);
    return q;
}

char *xstrdup(const char *s) {
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n) {
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *mem_try_alloc(size_t n) {
    long c = atomic_load(&fail_countdown);
    if(c > 0 && atomic_fetch_sub(&fail_countdown, 1) == 1) return NULL;
    return malloc(n ? n : 1);
}

void mem_fail_after(long n) {
    atomic_store(&fail_countdown, n);
}
