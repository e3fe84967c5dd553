/*
 * audit.c — AuditEvents, their hash chain and the writer thread (see audit.h).
 */
#include "audit/audit.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/datetime.h"
#include "base/log.h"
#include "base/mem.h"

#define BATCH_MAX 1000
#define BATCH_WAIT_MS 20
/* Entries waiting at most. Under more load than the database can log, a
 * request then waits for room (as it would for a synchronous write) rather
 * than the queue growing without end: memory stays bounded, and a crash
 * loses at most this many entries. */
#define QUEUE_MAX 20000
#define TAKE_MAX 4000 /* entries the writer takes into one transaction */

/* ---- building an entry ---------------------------------------------------- */

static void json_str(buf *b, const char *s) {
    buf_putc(b, '"');
    buf_json_escape(b, s ? s : "");
    buf_putc(b, '"');
}

/* A JSON string made with printf. */
static void json_strf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void json_strf(buf *b, const char *fmt, ...) {
    buf t = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&t, fmt, ap);
    va_end(ap);
    json_str(b, buf_str(&t));
    buf_free(&t);
}

static const char *outcome_code(int o) {
    return o == 0 ? "0" : o == 4 ? "4" : o == 8 ? "8" : "12";
}

/* The AuditEvent for ev as JSON (no id: the log's seq is the id). */
static void event_json(buf *b, const audit_event *ev, const char *recorded) {
    const char *sub = ev->subtype ? ev->subtype : "unknown";
    bool rest = strcmp(sub, "login") != 0 && strcmp(sub, "logout") != 0 && strcmp(sub, "break-glass") != 0;
    buf_puts(b, "{\"resourceType\":\"AuditEvent\",\"type\":");
    if(rest)
        buf_puts(b, "{\"system\":\"http://terminology.hl7.org/CodeSystem/audit-event-type\",\"code\":\"rest\","
                    "\"display\":\"RESTful Operation\"}");
    else if(strcmp(sub, "break-glass") == 0)
        buf_puts(b, "{\"system\":\"https://kith.example.org/fhir/CodeSystem/audit-event-type\",\"code\":\"break-glass\","
                    "\"display\":\"Emergency access to a record without a care relationship\"}");
    else
        buf_puts(b, "{\"system\":\"http://dicom.nema.org/resources/ontology/DCM\",\"code\":\"110114\","
                    "\"display\":\"User Authentication\"}");
    buf_puts(b, ",\"subtype\":[{\"system\":\"");
    buf_puts(b, rest ? "http://hl7.org/fhir/restful-interaction" : "https://kith.example.org/fhir/CodeSystem/audit-event-subtype");
    buf_puts(b, "\",\"code\":");
    json_str(b, sub);
    buf_printf(b, "}],\"action\":\"%c\",\"recorded\":", ev->action ? ev->action : 'E');
    json_str(b, recorded);
    buf_printf(b, ",\"outcome\":\"%s\"", outcome_code(ev->outcome));
    if(ev->detail) {
        buf_puts(b, ",\"outcomeDesc\":");
        json_str(b, ev->detail);
    }
    /* the agent: who asked */
    buf_puts(b, ",\"agent\":[{\"type\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                "extra-security-role-type\",\"code\":");
    bool client = ev->who && strcmp(ev->who->kind, "client") == 0;
    json_str(b, client ? "dataprocessor" : "humanuser");
    buf_puts(b, "}]},\"who\":{");
    if(ev->who && ev->who->practitioner[0]) {
        buf_puts(b, "\"reference\":");
        json_strf(b, "Practitioner/%s", ev->who->practitioner);
        buf_putc(b, ',');
    }
    buf_puts(b, "\"identifier\":{\"system\":\"https://kith.example.org/fhir/Id/account\",\"value\":");
    if(ev->who) json_strf(b, "%s/%s", ev->who->kind, ev->who->name);
    else json_strf(b, "unknown/%s", ev->who_claimed ? ev->who_claimed : "");
    buf_puts(b, "}}");
    if(ev->who && ev->who->role[0]) {
        buf_puts(b, ",\"role\":[{\"coding\":[{\"system\":\"https://kith.example.org/fhir/CodeSystem/user-role\",\"code\":");
        json_str(b, ev->who->role);
        buf_puts(b, "}]}]");
    }
    if(ev->who && ev->who->org[0]) {
        buf_puts(b, ",\"location\":{\"reference\":");
        json_strf(b, "Organization/%s", ev->who->org);
        buf_puts(b, "}");
    }
    buf_puts(b, ",\"requestor\":true");
    if(ev->address) {
        buf_puts(b, ",\"network\":{\"address\":");
        json_str(b, ev->address);
        buf_puts(b, ",\"type\":\"2\"}");
    }
    buf_puts(b, "}],\"source\":{\"observer\":{\"display\":\"Kith\"},\"type\":[{\"system\":"
                "\"http://terminology.hl7.org/CodeSystem/security-source-type\",\"code\":\"4\","
                "\"display\":\"Application Server\"}]}");
    bool any = ev->patient || ev->what || ev->query || ev->request_id;
    if(any) {
        buf_puts(b, ",\"entity\":[");
        bool first = true;
        if(ev->patient) {
            buf_puts(b, "{\"what\":{\"reference\":");
            json_strf(b, "Patient/%s", ev->patient);
            buf_puts(b, "},\"type\":{\"system\":\"http://terminology.hl7.org/CodeSystem/audit-entity-type\",\"code\":"
                        "\"1\",\"display\":\"Person\"},\"role\":{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                        "object-role\",\"code\":\"1\",\"display\":\"Patient\"}}");
            first = false;
        }
        if(ev->what || ev->query || ev->type) {
            if(!first) buf_putc(b, ',');
            buf_puts(b, "{");
            if(ev->what) {
                buf_puts(b, "\"what\":{\"reference\":");
                json_str(b, ev->what);
                buf_puts(b, "},");
            }
            buf_puts(b, "\"type\":{\"system\":\"http://terminology.hl7.org/CodeSystem/audit-entity-type\",\"code\":"
                        "\"2\",\"display\":\"System Object\"}");
            if(ev->query || ev->type) {
                buf_puts(b, ",\"description\":");
                json_strf(b, "%s?%s", ev->type ? ev->type : "", ev->query ? ev->query : "");
            }
            buf_puts(b, "}");
            first = false;
        }
        if(ev->request_id) {
            if(!first) buf_putc(b, ',');
            buf_puts(b, "{\"type\":{\"system\":\"http://terminology.hl7.org/CodeSystem/audit-entity-type\",\"code\":"
                        "\"4\",\"display\":\"Other\"},\"name\":\"X-Request-Id\",\"description\":");
            json_str(b, ev->request_id);
            buf_puts(b, "}");
        }
        buf_puts(b, "]");
    }
    buf_puts(b, "}");
}

static void now_instant(char out[32]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    datetime_format((double)ts.tv_sec + ts.tv_nsec / 1e9, out);
}

/* An entry for ev, recorded now; hashes are filled in when it is chained. */
static void entry_of(const audit_event *ev, store_audit_entry *e) {
    char recorded[32];
    now_instant(recorded);
    buf body = BUF_INIT;
    event_json(&body, ev, recorded);
    buf agent = BUF_INIT;
    if(ev->who) buf_printf(&agent, "%s/%s", ev->who->kind, ev->who->name);
    else buf_printf(&agent, "unknown/%s", ev->who_claimed ? ev->who_claimed : "");
    memset(e, 0, sizeof *e);
    e->recorded = xstrdup(recorded);
    e->agent = buf_take(&agent, NULL);
    if(!e->agent) e->agent = xstrdup("");
    e->patient = ev->patient ? xstrdup(ev->patient) : NULL;
    e->action = xstrndup((char[2]){ev->action ? ev->action : 'E', 0}, 1);
    e->outcome = xstrdup(outcome_code(ev->outcome));
    e->body = buf_take(&body, NULL);
}

static void entry_hash(const store_audit_entry *e, const char *prev, char out[AUTH_HASH_HEX]) {
    buf b = BUF_INIT;
    buf_printf(&b, "%s\n%s\n%s\n%s\n%s\n%s\n%s\n", prev, e->recorded, e->agent, e->patient ? e->patient : "",
               e->action, e->outcome, e->body);
    auth_sha256_hex(b.data, b.len, out);
    buf_free(&b);
}

/* Chain and append n entries in one transaction. */
static kith_rc append(store_conn *c, store_audit_entry *e, size_t n) {
    kith_rc rc = store_begin(c);
    if(rc) return rc;
    int64_t seq = 0;
    char *prev = NULL;
    rc = store_audit_last(c, &seq, &prev);
    for(size_t i = 0; i < n && !rc; i++) {
        char h[AUTH_HASH_HEX];
        entry_hash(&e[i], prev, h);
        free(e[i].prev_hash);
        e[i].prev_hash = prev;
        e[i].hash = xstrdup(h);
        prev = xstrdup(h);
    }
    free(prev);
    if(!rc) rc = store_audit_append(c, e, n);
    if(rc) {
        store_rollback(c);
        return rc;
    }
    return store_commit(c);
}

kith_rc audit_write_now(store_conn *c, const audit_event *ev) {
    store_audit_entry e;
    entry_of(ev, &e);
    kith_rc rc = append(c, &e, 1);
    store_audit_entry_free(&e);
    return rc;
}

/* ---- the writer thread ---------------------------------------------------- */

struct audit_log {
    store *st;
    pthread_t t;
    pthread_mutex_t mu;
    pthread_cond_t cv, done_cv;
    store_audit_entry *q;
    size_t n, cap;
    uint64_t queued, written; /* counts, for flush */
    bool stop;
    kith_rc failure;
};

static void *writer_run(void *arg) {
    audit_log *l = arg;
    store_conn *c = store_conn_for_thread(l->st);
    for(;;) {
        pthread_mutex_lock(&l->mu);
        while(l->n == 0 && !l->stop) pthread_cond_wait(&l->cv, &l->mu);
        if(l->n == 0 && l->stop) {
            pthread_mutex_unlock(&l->mu);
            break;
        }
        if(l->n < BATCH_MAX && !l->stop) { /* let a batch gather */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += BATCH_WAIT_MS * 1000000L;
            if(until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&l->cv, &l->mu, &until);
        }
        /* at most TAKE_MAX at a time, so that room comes back in steps, not only after one long
         * transaction of everything queued */
        size_t n = l->n < TAKE_MAX ? l->n : TAKE_MAX;
        store_audit_entry *batch = xmalloc(n * sizeof *batch);
        memcpy(batch, l->q, n * sizeof *batch);
        memmove(l->q, l->q + n, (l->n - n) * sizeof *l->q);
        l->n -= n;
        pthread_cond_broadcast(&l->done_cv); /* room again for those waiting in audit_record */
        pthread_mutex_unlock(&l->mu);
        kith_rc rc = c ? append(c, batch, n) : KITH_ESTORE;
        if(rc)
            log_event(LOG_ERROR, "could not write audit events", "\"component\":\"audit\",\"events\":%zu,\"error\":\"%s\"",
                      n, kith_rc_name(rc));
        for(size_t i = 0; i < n; i++) store_audit_entry_free(&batch[i]);
        free(batch);
        pthread_mutex_lock(&l->mu);
        l->written += n;
        if(rc && !l->failure) l->failure = rc;
        pthread_cond_broadcast(&l->done_cv);
        pthread_mutex_unlock(&l->mu);
    }
    store_thread_release(l->st);
    return NULL;
}

audit_log *audit_open(store *st) {
    audit_log *l = xcalloc(1, sizeof *l);
    l->st = st;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    pthread_cond_init(&l->done_cv, NULL);
    if(pthread_create(&l->t, NULL, writer_run, l) != 0) {
        free(l);
        return NULL;
    }
    return l;
}

void audit_record(audit_log *l, const audit_event *ev) {
    if(!l) return;
    store_audit_entry e;
    entry_of(ev, &e);
    pthread_mutex_lock(&l->mu);
    while(l->n >= QUEUE_MAX && !l->stop) pthread_cond_wait(&l->done_cv, &l->mu);
    if(l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->q = xrealloc(l->q, l->cap * sizeof *l->q);
    }
    l->q[l->n++] = e;
    l->queued++;
    if(l->n >= BATCH_MAX) pthread_cond_signal(&l->cv);
    else if(l->n == 1) pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

kith_rc audit_flush(audit_log *l) {
    if(!l) return KITH_OK;
    pthread_mutex_lock(&l->mu);
    uint64_t want = l->queued;
    pthread_cond_signal(&l->cv);
    while(l->written < want) pthread_cond_wait(&l->done_cv, &l->mu);
    kith_rc rc = l->failure;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void audit_close(audit_log *l) {
    if(!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_signal(&l->cv);
    pthread_cond_broadcast(&l->done_cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->t, NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    pthread_cond_destroy(&l->done_cv);
    free(l);
}

/* ---- verification ---------------------------------------------------------- */

typedef struct verify_ctx {
    char prev[AUTH_HASH_HEX];
    int64_t expect_seq, checked, broken;
    char *msg;
    size_t msglen;
} verify_ctx;

static int verify_one(void *vctx, const store_audit_entry *e) {
    verify_ctx *v = vctx;
    const char *why = NULL;
    char h[AUTH_HASH_HEX];
    entry_hash(e, v->prev, h);
    if(e->seq != v->expect_seq) why = "an entry is missing before it (the sequence has a gap)";
    else if(strcmp(e->prev_hash ? e->prev_hash : "", v->prev) != 0) why = "its link to the entry before does not match";
    else if(strcmp(e->hash ? e->hash : "", h) != 0) why = "its content does not match its hash (it was changed)";
    if(why) {
        v->broken = e->seq;
        snprintf(v->msg, v->msglen, "audit entry %lld: %s", (long long)e->seq, why);
        return 1;
    }
    snprintf(v->prev, sizeof v->prev, "%s", e->hash);
    v->expect_seq++;
    v->checked++;
    return 0;
}

kith_rc audit_verify(store_conn *c, int64_t *checked, int64_t *broken, char *msg, size_t msglen) {
    verify_ctx v = {.prev = "", .expect_seq = 1, .msg = msg, .msglen = msglen};
    if(msglen) msg[0] = '\0';
    store_audit_query q = {0};
    kith_rc rc = store_audit_scan(c, &q, verify_one, &v);
    *checked = v.checked;
    *broken = v.broken;
    if(rc) return rc;
    if(!v.broken) snprintf(msg, msglen, "audit log intact: %lld entries", (long long)v.checked);
    return v.broken ? KITH_EINVALID : KITH_OK;
}
