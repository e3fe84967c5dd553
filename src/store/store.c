/*
 * store.c — public store calls: picks the backend from the URL, keeps one
 * connection per thread (a pthread key whose destructor closes it) and
 * counts time spent per kind of call for /metrics. Thread-safe.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "store/backend.h"

/* A write waiting to join a group commit (lives on its caller's stack). */
typedef struct group_job {
    store_job_fn fn;
    void *ctx;
    kith_rc rc;
    bool done;
    struct group_job *next;
} group_job;

#define GROUP_MAX 256 /* jobs in one transaction, to bound latency */
#define POOL_WAIT_S 10 /* how long a thread waits for a pooled connection, as a writer waits for the lock */

struct store {
    const store_backend *be;
    void *state;
    int schema;
    pthread_key_t key;
    pthread_mutex_t lock; /* guards conns */
    pthread_mutex_t writer; /* held from store_begin to commit/rollback: writers queue here, in order,
                               instead of sleeping in the database's busy handler */
    store_conn **conns;   /* every open connection, closed by store_close */
    size_t nconns, capconns;
    /* the pool (under lock): connections no thread holds, and the limit on open ones */
    store_conn **idle;
    size_t nidle;
    size_t opening;       /* connections being opened (outside the lock), counted against the limit */
    int max_conns;        /* 0: no limit */
    pthread_cond_t pool_cond; /* a connection came back or closed */
    _Atomic uint64_t pool_waits;
    pthread_mutex_t gq_lock; /* guards the queue below */
    pthread_cond_t gq_cond;  /* a group finished */
    group_job *gq_head, *gq_tail;
    bool gq_leading;         /* some thread is running a group */
    _Atomic uint64_t groups, grouped_jobs;
    _Atomic uint64_t reads, writes, commits, searches;
    _Atomic uint64_t read_us, write_us, commit_us, search_us;
};

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static store *owner_of(store_conn *c) {
    return ((store_conn_head *)c)->owner;
}

kith_rc store_open(const char *url, const store_options *opt, store **out, char *err, size_t errlen) {
    store_options defaults = {.durable_full = true};
    *out = NULL;
    if(!opt) opt = &defaults;
    const store_backend *be = store_is_postgres(url) ? &store_postgres_backend : &store_sqlite_backend;
    store *s = xcalloc(1, sizeof *s);
    s->be = be;
    kith_rc rc = be->open(url, opt, &s->state, &s->schema, err, errlen);
    if(rc) {
        free(s);
        return rc;
    }
    pthread_key_create(&s->key, NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->writer, NULL);
    pthread_mutex_init(&s->gq_lock, NULL);
    pthread_cond_init(&s->gq_cond, NULL);
    pthread_cond_init(&s->pool_cond, NULL);
    s->max_conns = opt->max_connections > 0 ? opt->max_connections : 0;
    *out = s;
    return KITH_OK;
}

bool store_is_postgres(const char *url) {
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

void store_url_for_log(const char *url, char *out, size_t len) {
    snprintf(out, len, "%s", url);
    if(!store_is_postgres(url)) return;
    char *auth = strstr(out, "://") + 3;
    char *at = strchr(auth, '@');
    char *slash = strchr(auth, '/');
    if(!at || (slash && slash < at)) return; /* no user info */
    char *colon = memchr(auth, ':', (size_t)(at - auth));
    if(!colon) return;
    char tail[1024];
    snprintf(tail, sizeof tail, "%s", at);
    snprintf(colon, len - (size_t)(colon - out), ":***%s", tail);
}

kith_rc store_destroy(const char *url, char *err, size_t errlen) {
    if(store_is_postgres(url)) return store_postgres_destroy(url, err, errlen);
    static const char *const SUFFIX[] = {"", "-wal", "-shm", "-journal"};
    for(size_t i = 0; i < sizeof SUFFIX / sizeof SUFFIX[0]; i++) {
        char *p = xmalloc(strlen(url) + 16);
        sprintf(p, "%s%s", url, SUFFIX[i]);
        unlink(p);
        free(p);
    }
    return KITH_OK;
}

void store_close(store *s) {
    if(!s) return;
    for(size_t i = 0; i < s->nconns; i++) s->be->disconnect(s->conns[i]);
    free(s->conns);
    free(s->idle);
    pthread_cond_destroy(&s->pool_cond);
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->writer);
    pthread_mutex_destroy(&s->gq_lock);
    pthread_cond_destroy(&s->gq_cond);
    s->be->close(s->state);
    free(s);
}

kith_rc store_watch(store *s, store_change_fn fn, void *ctx) {
    return s->be->watch ? s->be->watch(s->state, fn, ctx) : KITH_EUNSUPPORTED;
}

int store_schema_version(store *s) {
    return s->schema;
}

/*
 * The pool. A thread holds a connection from its first store call until it
 * gives it back (store_conn_return, after each HTTP request) or ends
 * (store_thread_release). A connection given back is reused by the next
 * thread that needs one, most recently returned first; when max_conns are
 * open and none is free, the thread waits up to POOL_WAIT_S for one.
 */
store_conn *store_conn_for_thread(store *s) {
    store_conn *c = pthread_getspecific(s->key);
    if(c) return c;
    pthread_mutex_lock(&s->lock);
    if(!s->nidle && s->max_conns && (int)(s->nconns + s->opening) >= s->max_conns) {
        atomic_fetch_add(&s->pool_waits, 1);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += POOL_WAIT_S;
        while(!s->nidle && (int)(s->nconns + s->opening) >= s->max_conns)
            if(pthread_cond_timedwait(&s->pool_cond, &s->lock, &until)) break;
    }
    bool open_one = false;
    if(s->nidle) {
        c = s->idle[--s->nidle];
    } else if(!s->max_conns || (int)(s->nconns + s->opening) < s->max_conns) {
        s->opening++; /* the slot is ours while we connect, outside the lock */
        open_one = true;
    }
    pthread_mutex_unlock(&s->lock);
    if(open_one) {
        if(s->be->connect(s->state, &c)) c = NULL;
        if(c) ((store_conn_head *)c)->owner = s;
        pthread_mutex_lock(&s->lock);
        s->opening--;
        if(c) {
            if(s->nconns == s->capconns) {
                s->capconns = s->capconns ? s->capconns * 2 : 16;
                s->conns = xrealloc(s->conns, s->capconns * sizeof *s->conns);
                s->idle = xrealloc(s->idle, s->capconns * sizeof *s->idle);
            }
            s->conns[s->nconns++] = c;
        } else {
            pthread_cond_signal(&s->pool_cond); /* the slot is free again */
        }
        pthread_mutex_unlock(&s->lock);
    }
    if(c) pthread_setspecific(s->key, c);
    return c;
}

void store_conn_return(store *s) {
    store_conn *c = pthread_getspecific(s->key);
    if(!c) return;
    pthread_setspecific(s->key, NULL);
    if(((store_conn_head *)c)->holds_writer) store_rollback(c); /* a transaction left open is undone */
    s->be->set_viewer(c, NULL);                                  /* the next thread's user is another */
    pthread_mutex_lock(&s->lock);
    s->idle[s->nidle++] = c;
    pthread_cond_signal(&s->pool_cond);
    pthread_mutex_unlock(&s->lock);
}

void store_thread_release(store *s) {
    store_conn *c = pthread_getspecific(s->key);
    if(!c) return;
    pthread_setspecific(s->key, NULL);
    pthread_mutex_lock(&s->lock);
    for(size_t i = 0; i < s->nconns; i++) {
        if(s->conns[i] == c) {
            s->conns[i] = s->conns[--s->nconns];
            break;
        }
    }
    pthread_cond_signal(&s->pool_cond);
    pthread_mutex_unlock(&s->lock);
    s->be->disconnect(c);
}

#define TIMED(counter, us, call)                                                                                       \
    do {                                                                                                               \
        store *st_ = owner_of(c);                                                                                      \
        uint64_t t0_ = now_us();                                                                                       \
        kith_rc rc_ = (call);                                                                                          \
        atomic_fetch_add(&st_->counter, 1);                                                                            \
        atomic_fetch_add(&st_->us, now_us() - t0_);                                                                    \
        return rc_;                                                                                                    \
    } while(0)

/* The write lock is taken here, per process, and released by commit or
 * rollback; a connection remembers whether it holds it. */
kith_rc store_begin(store_conn *c) {
    store *s = owner_of(c);
    store_conn_head *h = (store_conn_head *)c;
    pthread_mutex_lock(&s->writer);
    kith_rc rc = s->be->begin(c);
    if(rc)
        pthread_mutex_unlock(&s->writer);
    else
        h->holds_writer = true;
    return rc;
}

static void release_writer(store_conn *c) {
    store_conn_head *h = (store_conn_head *)c;
    if(h->holds_writer) {
        h->holds_writer = false;
        pthread_mutex_unlock(&owner_of(c)->writer);
    }
}

kith_rc store_commit(store_conn *c) {
    store *st = owner_of(c);
    uint64_t t0 = now_us();
    kith_rc rc = st->be->commit(c);
    release_writer(c);
    atomic_fetch_add(&st->commits, 1);
    atomic_fetch_add(&st->commit_us, now_us() - t0);
    return rc;
}

kith_rc store_rollback(store_conn *c) {
    kith_rc rc = owner_of(c)->be->rollback(c);
    release_writer(c);
    return rc;
}

/* Run the jobs of one group in one transaction on c (the leader's). */
static void run_group(store_conn *c, group_job *jobs) {
    store *s = owner_of(c);
    /* The jobs are other requests' writes, already checked against their own
     * viewers: the leader's viewer must not judge them. */
    s->be->viewer_suspend(c, true);
    kith_rc rc = store_begin(c);
    size_t n = 0;
    for(group_job *j = jobs; j; j = j->next) {
        n++;
        if(rc) {
            j->rc = rc;
            continue;
        }
        kith_rc sp = s->be->savepoint(c);
        j->rc = sp ? sp : j->fn(c, j->ctx);
        if(!sp) {
            kith_rc end = j->rc ? s->be->rollback_to(c) : s->be->release(c);
            if(end && !j->rc) j->rc = end;
        }
    }
    if(!rc) {
        kith_rc cr = store_commit(c);
        if(cr)
            for(group_job *j = jobs; j; j = j->next)
                if(!j->rc) j->rc = cr;
    }
    s->be->viewer_suspend(c, false);
    atomic_fetch_add(&s->groups, 1);
    atomic_fetch_add(&s->grouped_jobs, n);
}

kith_rc store_run_grouped(store_conn *c, store_job_fn fn, void *ctx) {
    store *s = owner_of(c);
    group_job me = {.fn = fn, .ctx = ctx};
    pthread_mutex_lock(&s->gq_lock);
    if(s->gq_tail)
        s->gq_tail->next = &me;
    else
        s->gq_head = &me;
    s->gq_tail = &me;
    while(!me.done) {
        if(!s->gq_leading) {
            /* Lead: take up to GROUP_MAX queued jobs (ours is among them) and run them. */
            s->gq_leading = true;
            group_job *batch = s->gq_head, *last = batch;
            for(int k = 1; k < GROUP_MAX && last->next; k++) last = last->next;
            s->gq_head = last->next;
            if(!s->gq_head) s->gq_tail = NULL;
            last->next = NULL;
            pthread_mutex_unlock(&s->gq_lock);
            run_group(c, batch);
            pthread_mutex_lock(&s->gq_lock);
            for(group_job *j = batch; j;) {
                group_job *next = j->next; /* j may be freed once done is seen */
                j->done = true;
                j = next;
            }
            s->gq_leading = false;
            pthread_cond_broadcast(&s->gq_cond);
        } else {
            pthread_cond_wait(&s->gq_cond, &s->gq_lock);
        }
    }
    pthread_mutex_unlock(&s->gq_lock);
    return me.rc;
}

kith_rc store_read(store_conn *c, const char *type, const char *id, int64_t version, store_resource *out) {
    TIMED(reads, read_us, owner_of(c)->be->read(c, type, id, version, out));
}

kith_rc store_write(store_conn *c, const store_put *p) {
    TIMED(writes, write_us, owner_of(c)->be->write(c, p));
}

kith_rc store_find_token(store_conn *c, const char *type, const char *param, const char *system, const char *code,
                         size_t max, char ***ids, size_t *n) {
    TIMED(searches, search_us, owner_of(c)->be->find_token(c, type, param, system, code, max, ids, n));
}

kith_rc store_history(store_conn *c, const store_history_query *q, store_history_fn fn, void *ctx, int64_t *total) {
    TIMED(searches, search_us, owner_of(c)->be->history(c, q, fn, ctx, total));
}

kith_rc store_list(store_conn *c, const char *type, const char *after_id, size_t count, store_history_fn fn,
                   void *ctx) {
    TIMED(searches, search_us, owner_of(c)->be->list(c, type, after_id, count, fn, ctx));
}

kith_rc store_search(store_conn *c, const store_query *q, store_history_fn fn, void *ctx, int64_t *total,
                     char **next_cursor, char **prev_cursor) {
    TIMED(searches, search_us, owner_of(c)->be->search(c, q, fn, ctx, total, next_cursor, prev_cursor));
}

kith_rc store_references_from(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *param,
                              const char *target_type, store_ref_fn fn, void *ctx) {
    TIMED(searches, search_us, owner_of(c)->be->references_from(c, type, ids, nids, param, target_type, fn, ctx));
}

kith_rc store_references_to(store_conn *c, const char *type, const char *const *ids, size_t nids,
                            const char *src_type, const char *param, store_ref_fn fn, void *ctx) {
    TIMED(searches, search_us, owner_of(c)->be->references_to(c, type, ids, nids, src_type, param, fn, ctx));
}

kith_rc store_bulk_load(store_conn *c, const char *const *types, const char *const *ids, size_t n) {
    const store_backend *be = owner_of(c)->be;
    return be->bulk_load ? be->bulk_load(c, types, ids, n) : KITH_OK;
}

kith_rc store_replace_index(store_conn *c, const char *type, const char *id, const char *patient,
                            const store_index_row *rows, size_t nrows) {
    TIMED(writes, write_us, owner_of(c)->be->replace_index(c, type, id, patient, rows, nrows));
}

kith_rc store_meta_get(store_conn *c, const char *key, char **value) {
    return owner_of(c)->be->meta_get(c, key, value);
}

kith_rc store_meta_set(store_conn *c, const char *key, const char *value) {
    return owner_of(c)->be->meta_set(c, key, value);
}

kith_rc store_scan(store_conn *c, const store_scan_query *q, store_history_fn fn, void *ctx) {
    TIMED(searches, search_us, owner_of(c)->be->scan(c, q, fn, ctx));
}

kith_rc store_scan_count(store_conn *c, const store_scan_query *q, int64_t *n) {
    TIMED(searches, search_us, owner_of(c)->be->scan_count(c, q, n));
}

kith_rc store_count(store_conn *c, const char *type, int64_t *n) {
    TIMED(searches, search_us, owner_of(c)->be->count(c, type, n));
}

kith_rc store_check(store_conn *c, char *msg, size_t msglen) {
    return owner_of(c)->be->check(c, msg, msglen);
}

void store_account_free(store_account *a) {
    if(!a) return;
    free(a->kind);
    free(a->name);
    free(a->role);
    free(a->org);
    free(a->practitioner);
    free(a->secret);
    free(a->scopes);
    free(a->public_key);
    memset(a, 0, sizeof *a);
}

kith_rc store_account_put(store_conn *c, const store_account *a) {
    return owner_of(c)->be->account_put(c, a);
}

kith_rc store_account_get(store_conn *c, const char *kind, const char *name, store_account *out) {
    memset(out, 0, sizeof *out);
    return owner_of(c)->be->account_get(c, kind, name, out);
}

kith_rc store_account_list(store_conn *c, const char *kind, store_account_fn fn, void *ctx) {
    return owner_of(c)->be->account_list(c, kind, fn, ctx);
}

void store_token_free(store_token *t) {
    if(!t) return;
    free(t->hash);
    free(t->kind);
    free(t->subject);
    free(t->scopes);
    memset(t, 0, sizeof *t);
}

kith_rc store_token_put(store_conn *c, const store_token *t) {
    return owner_of(c)->be->token_put(c, t);
}

kith_rc store_token_get(store_conn *c, const char *hash, store_token *out) {
    memset(out, 0, sizeof *out);
    return owner_of(c)->be->token_get(c, hash, out);
}

kith_rc store_token_delete(store_conn *c, const char *hash) {
    return owner_of(c)->be->token_delete(c, hash);
}

void store_audit_entry_free(store_audit_entry *e) {
    if(!e) return;
    free(e->recorded);
    free(e->agent);
    free(e->patient);
    free(e->action);
    free(e->outcome);
    free(e->body);
    free(e->prev_hash);
    free(e->hash);
    memset(e, 0, sizeof *e);
}

kith_rc store_audit_append(store_conn *c, store_audit_entry *e, size_t n) {
    return owner_of(c)->be->audit_append(c, e, n);
}

kith_rc store_audit_last(store_conn *c, int64_t *seq, char **hash) {
    return owner_of(c)->be->audit_last(c, seq, hash);
}

kith_rc store_audit_scan(store_conn *c, const store_audit_query *q, store_audit_fn fn, void *ctx) {
    return owner_of(c)->be->audit_scan(c, q, fn, ctx);
}

kith_rc store_set_viewer(store_conn *c, const store_viewer *v) {
    return owner_of(c)->be->set_viewer(c, v);
}

kith_rc store_viewer_sees(store_conn *c, const char *type, const char *id, const char *patient, bool *sees) {
    return owner_of(c)->be->viewer_sees(c, type, id, patient, sees);
}

kith_rc store_grant_add(store_conn *c, const char *account, const char *patient, int64_t expires, const char *reason) {
    return owner_of(c)->be->grant_add(c, account, patient, expires, reason);
}

void store_get_stats(store *s, store_stats *out) {
    out->reads = atomic_load(&s->reads);
    out->writes = atomic_load(&s->writes);
    out->commits = atomic_load(&s->commits);
    out->searches = atomic_load(&s->searches);
    out->read_us = atomic_load(&s->read_us);
    out->write_us = atomic_load(&s->write_us);
    out->commit_us = atomic_load(&s->commit_us);
    out->search_us = atomic_load(&s->search_us);
    out->groups = atomic_load(&s->groups);
    out->grouped_jobs = atomic_load(&s->grouped_jobs);
    out->pool_waits = atomic_load(&s->pool_waits);
    pthread_mutex_lock(&s->lock);
    out->connections = s->nconns;
    out->idle_connections = s->nidle;
    pthread_mutex_unlock(&s->lock);
    out->max_connections = (size_t)s->max_conns;
}

void store_resource_free(store_resource *r) {
    if(!r) return;
    free(r->type);
    free(r->id);
    free(r->last_updated);
    free(r->method);
    free(r->body);
    free(r->patient);
    memset(r, 0, sizeof *r);
}
