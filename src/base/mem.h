/*
 * mem.h — allocation wrappers. All Kith allocation goes through these so
 * that tests can inject out-of-memory faults (mem_fail_after).
 * The xmalloc family never returns NULL: on exhaustion it logs and aborts,
 * because a half-handled OOM in a clinical record store is worse than a
 * restart. Code that must degrade gracefully uses mem_try_alloc.
 */
#ifndef KITH_MEM_H
#define KITH_MEM_H
#include <stddef.h>

void *xmalloc(size_t n);           /* caller frees */
void *xcalloc(size_t n, size_t sz);/* caller frees */
void *xrealloc(void *p, size_t n); /* caller frees the result */
char *xstrdup(const char *s);      /* caller frees */
char *xstrndup(const char *s, size_t n); /* caller frees */
void *mem_try_alloc(size_t n);     /* NULL on failure; caller frees */

/* Test hook: make the nth next mem_try_alloc fail (0 disables). */
void mem_fail_after(long n);

#endif
