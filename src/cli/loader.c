/*
 * loader.c — the bulk write path (see loader.h).
 *
 * A pipeline of three stages on their own threads. The caller fills a
 * batch; when it holds BATCH items it is handed to the pipeline thread
 * (the caller waits only if the previous hand-over has not been taken yet).
 * The pipeline thread has worker threads prepare the new batch (parse,
 * validate, index: the expensive half of a write) while it writes the batch
 * prepared before it, through record_update_prepared (the call the REST
 * API's update makes), on a store connection of its own, in transactions of
 * COMMIT_EVERY writes. So reading or generating, preparing and writing all
 * overlap. Items own their text and trees; a Bundle's entries borrow from
 * the document, which stays with the batch that holds them.
 *
 * Shared between the caller and the pipeline thread, under mu: the
 * hand-over slot, the closing flag and the rejected count. `fatal` is
 * atomic. The rest belongs to the pipeline thread while it runs and to the
 * caller once loader_finish has joined it.
 */
#include "cli/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "fhir/record.h"

#define BATCH 2000          /* resources prepared together */
#define COMMIT_EVERY 20000  /* resources written per transaction */
#define MAX_TYPES 200
#define MAX_WORKERS 16

typedef struct type_count {
    char name[64];
    long n;
    long in_tx; /* of n, written in the open transaction */
} type_count;

/* One resource on its way in. */
typedef struct item {
    const char *file; /* borrowed */
    long line;
    char *text;       /* JSON text to parse (owned), or NULL */
    size_t len;
    json_value *json; /* the resource; owned when owns_json, else borrowed from a batch document */
    bool owns_json;
    record_prepared p;
    bool prepared;
    fhir_issues is;
    kith_rc rc;
    char msg[256];    /* reason for an early rejection */
    char type[64];
} item;

typedef struct batch {
    item *v;
    size_t n, cap;
    json_value **docs; /* whole documents whose entries the items borrow */
    size_t ndocs;
} batch;

struct loader {
    store *st;
    store_conn *c; /* the pipeline thread's connection */
    loader_opts o;
    long loaded, unchanged, rejected, in_tx; /* in_tx: written in the open transaction */
    long tx_loaded, tx_unchanged;            /* of loaded and unchanged, in the open transaction */
    long rolled_back;                        /* written, then undone by a failed transaction */
    bool tx_open;
    type_count types[MAX_TYPES];
    size_t ntypes;
    uint64_t t0, last_progress;
    _Atomic int fatal; /* a kith_rc */
    batch *filling;    /* the caller's */
    batch *handed;     /* full, waiting for the pipeline thread (under mu) */
    bool closing;      /* no more batches until the next start (under mu) */
    bool running;      /* the pipeline thread exists (caller's view) */
    pthread_t pipe;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int workers;
};

static batch *batch_new(void) {
    return xcalloc(1, sizeof(batch));
}

loader *loader_new(store *st, const loader_opts *o) {
    loader *l = xcalloc(1, sizeof *l);
    l->st = st;
    if(o) l->o = *o;
    l->filling = batch_new();
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->t0 = clock_mono_us();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    l->workers = cores > 1 ? (int)(cores > MAX_WORKERS ? MAX_WORKERS : cores) : 1; /* the writer mostly waits */
    return l;
}

static void count_type(loader *l, const char *type) {
    for(size_t i = 0; i < l->ntypes; i++) {
        if(strcmp(l->types[i].name, type) == 0) {
            l->types[i].n++;
            l->types[i].in_tx++;
            return;
        }
    }
    if(l->ntypes < MAX_TYPES) {
        snprintf(l->types[l->ntypes].name, sizeof l->types[0].name, "%s", type);
        l->types[l->ntypes].in_tx = 1;
        l->types[l->ntypes++].n = 1;
    }
}

static void show_progress(loader *l, bool force) {
    if(!l->o.progress) return;
    uint64_t now = clock_mono_us();
    if(!force && now - l->last_progress < 200000) return;
    l->last_progress = now;
    double secs = (double)(now - l->t0) / 1e6;
    fprintf(stderr, "\r  %ld loaded, %ld unchanged, %ld rejected  (%.0f resources/s)   ", l->loaded, l->unchanged,
            l->rejected, secs > 0 ? (double)(l->loaded + l->unchanged) / secs : 0.0);
    if(force) fputc('\n', stderr);
}

void loader_reject(loader *l, const char *file, long line, const char *reason) {
    pthread_mutex_lock(&l->mu);
    l->rejected++;
    pthread_mutex_unlock(&l->mu);
    if(l->o.quiet) return;
    buf msg = BUF_INIT; /* one write, so lines from the two threads do not mix */
    buf_printf(&msg, "%s%s:%ld: %s\n", l->o.progress ? "\r\033[K" : "", file, line, reason);
    fputs(buf_str(&msg), stderr);
    buf_free(&msg);
}

/* ---- preparing (worker threads) ------------------------------------------ */

static void prepare_item(item *it) {
    if(it->text) {
        if(json_parse(it->text, it->len, &it->json, it->msg, sizeof it->msg)) {
            it->rc = KITH_EINVAL;
            return;
        }
        it->owns_json = true;
    }
    const char *type = json_string(json_get(it->json, "resourceType"));
    if(json_kind_of(it->json) != JSON_OBJECT || !type) {
        snprintf(it->msg, sizeof it->msg, "not a FHIR resource (no resourceType)");
        it->rc = KITH_EINVAL;
        return;
    }
    snprintf(it->type, sizeof it->type, "%s", type);
    const char *id = json_string(json_get(it->json, "id"));
    if(id && !record_id_valid(id)) {
        fhir_issues_add(&it->is, "error", "value", "id", "'%s' is not a valid FHIR id", id);
        it->rc = KITH_EINVAL;
        return;
    }
    it->rc = record_prepare(it->type, id, it->json, &it->p, &it->is);
    it->prepared = it->rc == KITH_OK;
}

typedef struct worker {
    pthread_t t;
    bool started;
    batch *b;      /* to prepare */
    batch *done;   /* written: its items are freed here, off the writer thread (may be NULL) */
    size_t first, step;
} worker;

static void item_free(item *it) {
    if(it->prepared) record_prepared_free(&it->p);
    fhir_issues_free(&it->is);
    if(it->owns_json) json_free(it->json);
    free(it->text);
    it->prepared = it->owns_json = false;
    it->text = NULL;
    it->is = (fhir_issues)FHIR_ISSUES_INIT;
}

static void *prepare_run(void *arg) {
    worker *w = arg;
    if(w->done)
        for(size_t i = w->first; i < w->done->n; i += w->step) item_free(&w->done->v[i]);
    if(w->b)
        for(size_t i = w->first; i < w->b->n; i += w->step) prepare_item(&w->b->v[i]);
    return NULL;
}

/* ---- writing (the calling thread) ---------------------------------------- */

static void reject_item(loader *l, item *it) {
    buf msg = BUF_INIT;
    if(it->msg[0]) {
        buf_puts(&msg, it->msg);
    } else {
        buf_printf(&msg, "%s rejected: ", it->type);
        for(size_t i = 0; i < it->is.n && i < 5; i++)
            buf_printf(&msg, "%s%s%s%s", i ? "; " : "", it->is.v[i].expression ? it->is.v[i].expression : "",
                       it->is.v[i].expression ? ": " : "", it->is.v[i].diagnostics);
        if(it->is.n > 5) buf_printf(&msg, "; and %zu more", it->is.n - 5);
        if(it->is.n == 0) buf_puts(&msg, kith_rc_name(it->rc));
    }
    loader_reject(l, it->file, it->line, buf_str(&msg));
    buf_free(&msg);
}

static void write_item(loader *l, item *it) {
    if(it->rc) {
        reject_item(l, it);
        return;
    }
    record_result r;
    record_opts o = {.in_transaction = true, .skip_unchanged = l->o.skip_unchanged};
    kith_rc rc = record_update_prepared(l->c, &it->p, &o, &r, &it->is);
    if(rc) {
        l->fatal = rc;
        return;
    }
    if(r.unchanged) {
        l->unchanged++;
        l->tx_unchanged++;
    } else {
        l->loaded++;
        l->tx_loaded++;
        count_type(l, it->type);
    }
    record_result_free(&r);
    l->in_tx++;
    show_progress(l, false);
}

/* The open transaction ended: committed (its counts stand) or rolled back (taken off). */
static void tx_ended(loader *l, bool committed) {
    if(!committed) {
        l->loaded -= l->tx_loaded;
        l->unchanged -= l->tx_unchanged;
        l->rolled_back += l->tx_loaded + l->tx_unchanged;
        for(size_t i = 0; i < l->ntypes; i++) l->types[i].n -= l->types[i].in_tx;
    }
    for(size_t i = 0; i < l->ntypes; i++) l->types[i].in_tx = 0;
    l->tx_loaded = l->tx_unchanged = l->in_tx = 0;
    l->tx_open = false;
}

/* Write a prepared batch: name its resources to the store (store_bulk_load:
 * on PostgreSQL one query reads them all and the writes go by COPY), write
 * each, and commit once COMMIT_EVERY are written. */
static void write_batch(loader *l, batch *b) {
    if(!b || !b->n || l->fatal) return;
    if(!l->tx_open) {
        kith_rc rc = store_begin(l->c);
        if(rc) {
            l->fatal = rc;
            return;
        }
        l->tx_open = true;
    }
    const char **types = xcalloc(b->n, sizeof *types), **ids = xcalloc(b->n, sizeof *ids);
    size_t n = 0;
    for(size_t i = 0; i < b->n; i++) {
        if(b->v[i].rc || !b->v[i].prepared) continue;
        types[n] = b->v[i].p.type;
        ids[n++] = b->v[i].p.id;
    }
    kith_rc rc = store_bulk_load(l->c, types, ids, n);
    free(types);
    free(ids);
    if(rc) {
        l->fatal = rc;
        return;
    }
    for(size_t i = 0; i < b->n && !l->fatal; i++) write_item(l, &b->v[i]);
    if(!l->fatal && l->in_tx >= COMMIT_EVERY) {
        l->fatal = store_commit(l->c);
        tx_ended(l, !l->fatal);
    }
}

static void batch_clear(batch *b) {
    for(size_t i = 0; i < b->n; i++) item_free(&b->v[i]);
    for(size_t i = 0; i < b->ndocs; i++) json_free(b->docs[i]);
    free(b->docs);
    b->docs = NULL;
    b->n = b->ndocs = 0;
}

/* Free done's items and prepare b's on worker threads (either may be NULL). */
static int start_workers(loader *l, batch *b, batch *done, worker *w) {
    int nw = (b && b->n) || (done && done->n) ? l->workers : 0;
    for(int i = 0; i < nw; i++) {
        w[i] = (worker){.b = b, .done = done, .first = (size_t)i, .step = (size_t)nw};
        w[i].started = pthread_create(&w[i].t, NULL, prepare_run, &w[i]) == 0;
        if(!w[i].started) prepare_run(&w[i]); /* no thread: do it here */
    }
    return nw;
}

static void join_workers(worker *w, int nw) {
    for(int i = 0; i < nw; i++)
        if(w[i].started) pthread_join(w[i].t, NULL);
}

static void batch_free(batch *b) {
    if(!b) return;
    batch_clear(b);
    free(b->v);
    free(b);
}

/* The pipeline thread: take each handed batch, prepare it while writing the
 * one before, until closing; then commit what is written. */
static void *pipeline_run(void *arg) {
    loader *l = arg;
    l->c = store_conn_for_thread(l->st);
    if(!l->c) l->fatal = KITH_ESTORE;
    batch *ready = NULL, *done = NULL;
    for(;;) {
        pthread_mutex_lock(&l->mu);
        while(!l->handed && !l->closing) pthread_cond_wait(&l->cv, &l->mu);
        batch *next = l->handed;
        l->handed = NULL;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        worker w[MAX_WORKERS];
        int nw = start_workers(l, next, done, w);
        write_batch(l, ready);
        join_workers(w, nw);
        batch_free(done); /* its items are already freed */
        done = ready;
        ready = next;
        if(!ready) break; /* closing, and everything handed over is written */
    }
    batch_free(done);
    if(!l->fatal && l->tx_open) l->fatal = store_commit(l->c);
    if(l->fatal && l->tx_open) store_rollback(l->c);
    if(l->tx_open) tx_ended(l, !l->fatal);
    store_thread_release(l->st);
    l->c = NULL;
    return NULL;
}

/* Hand the caller's full batch to the pipeline thread (starting it if need be). */
static void hand_over(loader *l) {
    if(!l->running) {
        l->closing = false;
        if(pthread_create(&l->pipe, NULL, pipeline_run, l) != 0) {
            l->fatal = KITH_EINTERNAL;
            return;
        }
        l->running = true;
    }
    pthread_mutex_lock(&l->mu);
    while(l->handed) pthread_cond_wait(&l->cv, &l->mu);
    l->handed = l->filling;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    l->filling = batch_new();
}

static item *add_item(loader *l, const char *file, long line) {
    batch *b = l->filling;
    if(b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->v = xrealloc(b->v, b->cap * sizeof *b->v);
    }
    item *it = &b->v[b->n++];
    memset(it, 0, sizeof *it);
    it->file = file;
    it->line = line;
    it->is = (fhir_issues)FHIR_ISSUES_INIT;
    return it;
}

static void maybe_cycle(loader *l) {
    if(l->filling->n >= BATCH && !l->fatal) hand_over(l);
}

void loader_add_text(loader *l, const char *file, long line, const char *text, size_t len) {
    item *it = add_item(l, file, line);
    it->text = xstrndup(text, len);
    it->len = len;
    maybe_cycle(l);
}

void loader_add_json(loader *l, const char *file, long line, json_value *res) {
    item *it = add_item(l, file, line);
    it->json = res;
    it->owns_json = true;
    maybe_cycle(l);
}

void loader_add_document(loader *l, const char *file, json_value *doc) {
    batch *b = l->filling;
    b->docs = xrealloc(b->docs, (b->ndocs + 1) * sizeof *b->docs);
    b->docs[b->ndocs++] = doc;
    const char *type = json_string(json_get(doc, "resourceType"));
    json_value *entries = json_get(doc, "entry");
    const char *btype = json_string(json_get(doc, "type"));
    if(type && strcmp(type, "Bundle") == 0 && json_kind_of(entries) == JSON_ARRAY && btype &&
       (strcmp(btype, "transaction") == 0 || strcmp(btype, "batch") == 0 || strcmp(btype, "collection") == 0 ||
        strcmp(btype, "searchset") == 0)) {
        for(size_t i = 0; i < json_array_len(entries); i++) {
            json_value *r = json_get(json_array_at(entries, i), "resource");
            if(r) add_item(l, file, 1)->json = r;
        }
    } else {
        add_item(l, file, 1)->json = doc;
    }
    /* the document stays with this batch, so cycle only between documents */
    maybe_cycle(l);
}

kith_rc loader_finish(loader *l) {
    if(l->filling->n && !l->fatal) hand_over(l);
    if(l->running) {
        pthread_mutex_lock(&l->mu);
        l->closing = true;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->pipe, NULL);
        l->running = false;
    }
    batch_clear(l->filling);
    show_progress(l, true);
    return (kith_rc)l->fatal;
}

kith_rc loader_failure(const loader *l) {
    return (kith_rc)l->fatal;
}

long loader_loaded(const loader *l) {
    return l->loaded;
}

long loader_unchanged(const loader *l) {
    return l->unchanged;
}

long loader_rejected(const loader *l) {
    return l->rejected;
}

void loader_print_summary(const loader *l, bool as_json) {
    double secs = (double)(clock_mono_us() - l->t0) / 1e6;
    if(as_json) {
        printf("{\"loaded\":%ld,\"unchanged\":%ld,\"rejected\":%ld,\"rolled_back\":%ld,\"seconds\":%.3f,\"types\":{",
               l->loaded, l->unchanged, l->rejected, l->rolled_back, secs);
        bool first = true;
        for(size_t i = 0; i < l->ntypes; i++) {
            if(!l->types[i].n) continue;
            printf("%s\"%s\":%ld", first ? "" : ",", l->types[i].name, l->types[i].n);
            first = false;
        }
        printf("}}\n");
        return;
    }
    printf("Loaded %ld resources (%ld unchanged), rejected %ld, in %.1f s (%.0f/s)\n", l->loaded, l->unchanged,
           l->rejected, secs, secs > 0 ? (double)(l->loaded + l->unchanged) / secs : 0.0);
    if(l->rolled_back)
        printf("Not stored: %ld resources written in the transaction that failed and was rolled back\n",
               l->rolled_back);
    for(size_t i = 0; i < l->ntypes; i++)
        if(l->types[i].n) printf("  %-32s %ld\n", l->types[i].name, l->types[i].n);
}

void loader_free(loader *l) {
    if(!l) return;
    loader_finish(l);
    batch_free(l->filling);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}
