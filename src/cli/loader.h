/*
 * loader.h — the bulk write path shared by `kith import` (FHIR files and
 * CLD social care extracts) and `kith synth --db`.
 *
 * Resources are queued one at a time by the caller; full batches go down a
 * pipeline where worker threads (one per CPU) parse, validate and index them
 * while a writer thread, with a store connection of its own, writes the batch
 * before. So the caller reads or generates while the rest works. Writes
 * commit every 20,000 resources; what the caller reads through its own
 * connection sees only committed writes (loader_finish commits). A resource with an id is written at that id; one without
 * gets a new id. Each bad resource is reported as `file:line: reason` on
 * standard error and skipped; the rest load. With skip_unchanged, a resource
 * whose stored current version already has the same content is left alone,
 * so loading the same file twice changes nothing.
 *
 * One thread queues and finishes. File names passed in are borrowed and must
 * outlive the loader.
 */
#ifndef KITH_CLI_LOADER_H
#define KITH_CLI_LOADER_H
#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"
#include "json/json.h"
#include "store/store.h"

typedef struct loader loader;

typedef struct loader_opts {
    bool quiet;          /* no per-resource messages */
    bool progress;       /* a progress line on standard error */
    bool skip_unchanged; /* leave resources whose content is already stored */
} loader_opts;

/* A new loader writing into st (borrowed). Caller frees with loader_free
 * (which finishes first). */
loader *loader_new(store *st, const loader_opts *o);
void loader_free(loader *l);

/* Queue one resource as JSON text (copied); parsed on a worker thread. */
void loader_add_text(loader *l, const char *file, long line, const char *text, size_t len);
/* Queue one resource tree; ownership passes to the loader. */
void loader_add_json(loader *l, const char *file, long line, json_value *res);
/* Queue a parsed JSON document (ownership passes): a resource, or a Bundle
 * (transaction, batch, collection, searchset) whose entries are loaded. */
void loader_add_document(loader *l, const char *file, json_value *doc);
/* Report a problem found before queueing (counted as rejected). */
void loader_reject(loader *l, const char *file, long line, const char *reason);

/* Write everything still queued and commit. Returns the first store failure
 * (the batch it hit was rolled back), else KITH_OK. More may be queued
 * afterwards; finish again to write it. */
kith_rc loader_finish(loader *l);
/* The store failure that stopped the loader, if any (KITH_OK while healthy). */
kith_rc loader_failure(const loader *l);

long loader_loaded(const loader *l);    /* written as new resources or versions */
long loader_unchanged(const loader *l); /* skipped: same content already stored */
long loader_rejected(const loader *l);
/* Print the summary: a table, or one JSON object when as_json. */
void loader_print_summary(const loader *l, bool as_json);

#endif
