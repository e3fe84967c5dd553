/*
 * subscription.c — FHIR R4 Subscriptions (see subscription.h).
 *
 * A Subscription names a search (criteria "Task?owner=Organization/1") and a
 * channel. When a write makes a resource meet the criteria, Kith tells the
 * subscriber with a notification that carries no personal data: a POST with
 * an empty body and the header X-Kith-Subscription: Subscription/<id>
 * (rest-hook), or the text "ping <id>" to the websockets bound to the
 * Subscription (the R4 websocket channel, through src/http/websocket.c: a
 * client sends "bind <id>" and is answered "bound <id>"). The subscriber then
 * searches with its own token, under the access policy and the audit log
 * like any other client.
 *
 * Threading. care_subs_written runs on the REST worker threads: it only
 * takes a mutex and appends (type, id) to a bounded queue, so a write never
 * waits on a subscriber. One delivery thread owns everything else: the list
 * of active Subscriptions (loaded at start, reloaded one by one as the queue
 * says Subscriptions were written), the matching (the criteria's search with
 * _id added, on the thread's own store connection, no viewer set) and the
 * delivery with retries. Pings coalesce: while a Subscription waits to be
 * told (or to be retried) further matches add nothing. After MAX_ATTEMPTS
 * failures in a row the thread sets the Subscription's status to "error"
 * with the reason in Subscription.error (record_update, If-Match on the
 * version it loaded) and stops delivering to it; a client re-enables it by
 * writing status "requested" again.
 *
 * A write made inside a transaction is queued before it commits, so each
 * batch is matched only after the store's write lock has been free once
 * (wait_for_writer): then the thread sees what was committed, and a write
 * that was rolled back meets no criteria.
 *
 * Under the mutex: the queue, the stop flag, the count of Subscription
 * reloads still queued, a copy of the resource types watched (so that
 * writes of unwatched types are not queued at all) and the ids of the active
 * websocket Subscriptions (which the websocket hub's thread checks binds
 * against).
 */
#include "care/subscription.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/datetime.h"
#include "base/log.h"
#include "base/mem.h"
#include "fhir/model.h"
#include "fhir/record.h"
#include "fhir/search.h"
#include "http/client.h"
#include "http/http.h"
#include "http/websocket.h"

#define QUEUE_CAP 8192           /* written resources waiting for the delivery thread */
#define CRITERIA_MAX 4096        /* bytes of Subscription.criteria */
#define HEADERS_MAX 10           /* channel.header entries */
#define HEADER_MAX 1024          /* bytes of one channel.header entry */
#define NOTIFY_TIMEOUT_MS 5000   /* one POST, all in */
#define MAX_ATTEMPTS 5           /* failures in a row before status "error" */
#define BACKOFF_MS 2000          /* wait after the first failure; doubles after each */
#define BACKOFF_ENV "KITH_SUBSCRIPTION_BACKOFF_MS"
#define LOAD_PAGE 100
#define SUBSCRIPTION_HEADER "X-Kith-Subscription"

typedef struct queued {
    char type[64];
    char id[72];
    bool elsewhere; /* written through another process sharing the database: websockets only */
} queued;

/* An active Subscription as the delivery thread keeps it. Strings owned. */
typedef struct sub {
    char id[72];
    char type[64];          /* the resource type its criteria search */
    http_param *params;     /* the criteria's search parameters */
    size_t nparams;
    bool websocket;         /* the websocket channel (else rest-hook) */
    char *endpoint;         /* rest-hook URL */
    char **headers;         /* "Name: value": channel.header, then X-Kith-Subscription */
    size_t nheaders;
    double end;             /* seconds since 1970 after which it is off; 0: none */
    int64_t version;        /* meta.versionId loaded */
    bool pending;           /* a notification waits to be sent */
    int failures;           /* failed attempts in a row */
    uint64_t next_try_us;   /* monotonic: not before then */
} sub;

struct care_subs {
    store *st;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t loaded;  /* broadcast when reloads_pending falls */
    int backoff_ms;
    /* under mu */
    bool stopping;
    queued *q;              /* ring of QUEUE_CAP */
    size_t head, len;
    size_t reloads_pending; /* Subscription writes queued (and the first load) not yet applied */
    bool reload_all;        /* a Subscription write was dropped: reload them all */
    char (*watched)[64];    /* types some active Subscription searches */
    size_t nwatched;
    char (*ws_ids)[72];     /* active websocket Subscriptions: the ids a client may bind */
    size_t nws;
    /* counters for logs and /metrics */
    _Atomic unsigned long long dropped, sent, failed;
    /* delivery thread only */
    sub **subs;
    size_t nsubs;
};

/* ---- checking a Subscription ------------------------------------------------ */

/* Search parameters that shape a result page rather than choose resources. */
static bool result_param(const char *name) {
    static const char *const names[] = {"_count", "_sort", "_total", "_summary", "_elements", "_cursor",
                                        "_format", "_pretty", "_contained", "_containedType"};
    for(size_t i = 0; i < sizeof names / sizeof *names; i++)
        if(strcmp(name, names[i]) == 0) return true;
    return strncmp(name, "_include", 8) == 0 || strncmp(name, "_revinclude", 11) == 0;
}

/*
 * Split criteria "Type?query" into type (a concrete R4 resource type) and
 * its parameters (caller frees with http_params_free), checking that the
 * search parses strictly. KITH_EINVALID with issues otherwise.
 */
static kith_rc parse_criteria(const char *crit, char type[64], http_param **params, size_t *n, fhir_issues *issues) {
    *params = NULL;
    *n = 0;
    const char *where = "Subscription.criteria";
    if(strlen(crit) > CRITERIA_MAX) {
        fhir_issues_add(issues, "error", "too-long", where, "criteria is longer than %d characters", CRITERIA_MAX);
        return KITH_EINVALID;
    }
    size_t tl = strcspn(crit, "?");
    if(tl == 0 || tl >= 64) {
        fhir_issues_add(issues, "error", "invalid", where,
                        "criteria must be a resource type and search parameters, e.g. Task?status=requested");
        return KITH_EINVALID;
    }
    memcpy(type, crit, tl);
    type[tl] = '\0';
    if(!fhir_type_is_resource(type)) {
        fhir_issues_add(issues, "error", "invalid", where,
                        "criteria must start with an R4 resource type (as in Task?status=requested), not '%s'", type);
        return KITH_EINVALID;
    }
    http_parse_query(crit[tl] == '?' ? crit + tl + 1 : "", params, n);
    kith_rc rc = KITH_OK;
    for(size_t i = 0; i < *n; i++) {
        if(result_param((*params)[i].name)) {
            fhir_issues_add(issues, "error", "invalid", where,
                            "criteria: %s shapes search results and chooses no resources; leave it out",
                            (*params)[i].name);
            rc = KITH_EINVALID;
        }
    }
    if(!rc) {
        fhir_search *s = NULL;
        size_t before = issues->errors;
        if(fhir_search_parse(type, *params, *n, true, "", &s, issues) != KITH_OK) {
            if(issues->errors == before)
                fhir_issues_add(issues, "error", "invalid", where, "criteria '%s' is not a search Kith can run", crit);
            rc = KITH_EINVALID;
        }
        fhir_search_free(s);
    }
    if(rc) {
        http_params_free(*params, *n);
        *params = NULL;
        *n = 0;
    }
    return rc;
}

/* A header line "Name: value" Kith will send: a token name, then a value of
 * visible characters, spaces and tabs. Names Kith sets itself are refused. */
static bool header_ok(const char *h, fhir_issues *issues, size_t i) {
    static const char *const reserved[] = {"host", "content-length", "content-type", "transfer-encoding",
                                           "connection", "expect", "x-kith-subscription"};
    char where[64];
    snprintf(where, sizeof where, "Subscription.channel.header[%zu]", i);
    size_t len = strlen(h);
    if(len > HEADER_MAX) {
        fhir_issues_add(issues, "error", "too-long", where, "a channel header may be at most %d characters", HEADER_MAX);
        return false;
    }
    const char *colon = strchr(h, ':');
    size_t nl = colon ? (size_t)(colon - h) : 0;
    for(size_t k = 0; k < nl; k++) {
        unsigned char c = (unsigned char)h[k];
        if(c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c)) {
            nl = 0;
            break;
        }
    }
    if(nl == 0) {
        fhir_issues_add(issues, "error", "invalid", where, "a channel header must read 'Name: value'");
        return false;
    }
    for(const char *p = colon + 1; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if((c < 0x20 && c != '\t') || c == 0x7f) {
            fhir_issues_add(issues, "error", "invalid", where, "a channel header value may not hold control characters or line breaks");
            return false;
        }
    }
    for(size_t k = 0; k < sizeof reserved / sizeof *reserved; k++) {
        if(strlen(reserved[k]) == nl && strncasecmp(h, reserved[k], nl) == 0) {
            fhir_issues_add(issues, "error", "invalid", where, "Kith sets the %.*s header itself", (int)nl, h);
            return false;
        }
    }
    return true;
}

static void sub_free(sub *s) {
    if(!s) return;
    http_params_free(s->params, s->nparams);
    free(s->endpoint);
    for(size_t i = 0; i < s->nheaders; i++) free(s->headers[i]);
    free(s->headers);
    free(s);
}

/*
 * Check res as a Subscription Kith can deliver. *status_out gets its status
 * (borrowed from res). for_write: it is about to be stored, so a websocket
 * channel needs the websocket hub running now. With out non-NULL, fills it with what delivery needs
 * (call sub_free on it even on failure). KITH_EINVALID with issues for every
 * problem found.
 */
static kith_rc sub_parse(const json_value *res, bool for_write, const char **status_out, sub *out,
                         fhir_issues *issues) {
    kith_rc rc = KITH_OK;
    const char *status = json_string(json_get(res, "status"));
    *status_out = status;
    if(!status) {
        fhir_issues_add(issues, "error", "required", "Subscription.status",
                        "status is required: send \"requested\" (Kith makes it \"active\")");
        rc = KITH_EINVALID;
    } else if(strcmp(status, "requested") != 0 && strcmp(status, "active") != 0 && strcmp(status, "error") != 0 &&
              strcmp(status, "off") != 0) {
        fhir_issues_add(issues, "error", "code-invalid", "Subscription.status",
                        "status must be requested, active, error or off, not '%s'", status);
        rc = KITH_EINVALID;
    }

    const char *crit = json_string(json_get(res, "criteria"));
    if(!crit) {
        fhir_issues_add(issues, "error", "required", "Subscription.criteria",
                        "criteria is required: a resource type and search parameters, e.g. Task?status=requested");
        rc = KITH_EINVALID;
    } else {
        char type[64];
        http_param *params = NULL;
        size_t n = 0;
        if(parse_criteria(crit, type, &params, &n, issues)) {
            rc = KITH_EINVALID;
        } else if(out) {
            snprintf(out->type, sizeof out->type, "%s", type);
            out->params = params;
            out->nparams = n;
        } else {
            http_params_free(params, n);
        }
    }

    const json_value *ch = json_get(res, "channel");
    const char *ctype = json_string(json_get(ch, "type"));
    const char *channels = http_ws_running() ? "\"rest-hook\" and \"websocket\"" : "\"rest-hook\"";
    if(json_kind_of(ch) != JSON_OBJECT || !ctype) {
        fhir_issues_add(issues, "error", "required", "Subscription.channel.type",
                        "channel.type is required: Kith delivers %s notifications", channels);
        return KITH_EINVALID;
    }
    bool ws = strcmp(ctype, "websocket") == 0;
    if(ws && for_write && !http_ws_running()) {
        fhir_issues_add(issues, "error", "not-supported", "Subscription.channel.type",
                        "the websocket channel is not available on this server: use \"rest-hook\"");
        rc = KITH_EINVALID;
    } else if(!ws && strcmp(ctype, "rest-hook") != 0) {
        fhir_issues_add(issues, "error", "not-supported", "Subscription.channel.type",
                        "channel.type '%s' is not supported: Kith delivers %s notifications", ctype, channels);
        rc = KITH_EINVALID;
    }
    if(out) out->websocket = ws;
    const json_value *payload = json_get(ch, "payload");
    if(payload && !(json_string(payload) && json_string(payload)[0] == '\0')) {
        const char *p = json_string(payload);
        fhir_issues_add(issues, "error", "not-supported", "Subscription.channel.payload",
                        "channel.payload%s%s%s is not supported: Kith notifications have no body, so that no "
                        "personal data leaves in a notification; leave payload out and read what changed "
                        "with your own token",
                        p ? " '" : "", p ? p : "", p ? "'" : "");
        rc = KITH_EINVALID;
    }
    const char *endpoint = json_string(json_get(ch, "endpoint"));
    if(strcmp(ctype, "rest-hook") == 0) {
        if(!endpoint) {
            fhir_issues_add(issues, "error", "required", "Subscription.channel.endpoint",
                            "a rest-hook channel needs an endpoint: the http or https URL Kith POSTs to");
            rc = KITH_EINVALID;
        } else if(!http_client_url_ok(endpoint)) {
            fhir_issues_add(issues, "error", "invalid", "Subscription.channel.endpoint",
                            "the endpoint must be an http:// or https:// URL with a host (at most %d characters)",
                            HTTP_CLIENT_MAX_URL);
            rc = KITH_EINVALID;
        } else if(out) {
            out->endpoint = xstrdup(endpoint);
        }
    }
    const json_value *hs = json_get(ch, "header");
    if(hs && json_kind_of(hs) != JSON_ARRAY) {
        fhir_issues_add(issues, "error", "structure", "Subscription.channel.header", "channel.header must be an array of strings");
        rc = KITH_EINVALID;
    } else if(json_array_len(hs) > HEADERS_MAX) {
        fhir_issues_add(issues, "error", "too-costly", "Subscription.channel.header", "at most %d channel headers", HEADERS_MAX);
        rc = KITH_EINVALID;
    } else {
        size_t nh = json_array_len(hs);
        if(out) out->headers = xcalloc(nh + 1, sizeof *out->headers);
        for(size_t i = 0; i < nh; i++) {
            const char *h = json_string(json_array_at(hs, i));
            if(!h) {
                fhir_issues_add(issues, "error", "structure", "Subscription.channel.header", "channel.header must be an array of strings");
                rc = KITH_EINVALID;
            } else if(!header_ok(h, issues, i)) {
                rc = KITH_EINVALID;
            } else if(out) {
                out->headers[out->nheaders++] = xstrdup(h);
            }
        }
    }
    const char *end = json_string(json_get(res, "end"));
    double lo = 0, hi = 0;
    if(end && !datetime_range(end, &lo, &hi)) {
        fhir_issues_add(issues, "error", "invalid", "Subscription.end", "end must be an instant, not '%s'", end);
        rc = KITH_EINVALID;
    } else if(end && out) {
        out->end = hi;
    }
    return rc;
}

kith_rc care_subs_prepare(json_value *res, fhir_issues *issues) {
    const char *status = NULL;
    kith_rc rc = sub_parse(res, true, &status, NULL, issues);
    if(rc) return rc;
    if(strcmp(status, "requested") == 0) {
        json_set(res, "status", json_new_string("active"));
        json_remove(res, "error"); /* a re-enabled Subscription starts afresh */
    }
    return KITH_OK;
}

/* ---- the queue (any thread) --------------------------------------------------- */

static bool watched_locked(const care_subs *s, const char *type) {
    for(size_t i = 0; i < s->nwatched; i++)
        if(strcmp(s->watched[i], type) == 0) return true;
    return false;
}

static void enqueue(care_subs *s, const char *type, const char *id, bool elsewhere);

void care_subs_written(care_subs *s, const char *type, const char *id) {
    enqueue(s, type, id, false);
}

void care_subs_written_elsewhere(care_subs *s, const char *type, const char *id) {
    enqueue(s, type, id, type && strcmp(type, "Subscription") != 0);
}

static void enqueue(care_subs *s, const char *type, const char *id, bool elsewhere) {
    if(!s || !type || !id) return;
    size_t tl = strlen(type), il = strlen(id);
    if(tl == 0 || tl >= sizeof ((queued *)0)->type || il == 0 || il >= sizeof ((queued *)0)->id) return;
    bool is_sub = strcmp(type, "Subscription") == 0;
    bool dropped = false;
    pthread_mutex_lock(&s->mu);
    if(s->stopping || !(is_sub || s->reloads_pending > 0 || watched_locked(s, type))) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if(s->len == QUEUE_CAP) {
        dropped = true;
        if(is_sub) s->reload_all = true;
    } else {
        queued *e = &s->q[(s->head + s->len) % QUEUE_CAP];
        memcpy(e->type, type, tl + 1);
        memcpy(e->id, id, il + 1);
        e->elsewhere = elsewhere;
        s->len++;
        if(is_sub) s->reloads_pending++;
    }
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if(dropped) {
        unsigned long long n = ++s->dropped;
        /* one line for the first drop and for every thousandth after it */
        if(n == 1 || n % 1000 == 0)
            log_event(LOG_WARN, "subscription queue full: a write was not checked against Subscriptions",
                      "\"type\":\"%s\",\"dropped_total\":%llu", type, n);
    }
}

void care_subs_metrics(care_subs *s, buf *out) {
    if(!s) return;
    buf_printf(out,
               "# HELP kith_subscription_notifications_total Subscription notifications by outcome.\n"
               "# TYPE kith_subscription_notifications_total counter\n"
               "kith_subscription_notifications_total{outcome=\"sent\"} %llu\n"
               "kith_subscription_notifications_total{outcome=\"failed\"} %llu\n"
               "# HELP kith_subscription_queue_dropped_total Writes not checked against Subscriptions because the "
               "queue was full.\n"
               "# TYPE kith_subscription_queue_dropped_total counter\n"
               "kith_subscription_queue_dropped_total %llu\n",
               (unsigned long long)s->sent, (unsigned long long)s->failed, (unsigned long long)s->dropped);
}

/* ---- the delivery thread's list of Subscriptions ------------------------------ */

static sub *find_sub(care_subs *s, const char *id, size_t *at) {
    for(size_t i = 0; i < s->nsubs; i++) {
        if(strcmp(s->subs[i]->id, id) == 0) {
            if(at) *at = i;
            return s->subs[i];
        }
    }
    return NULL;
}

static void remove_sub(care_subs *s, const char *id) {
    size_t at;
    sub *old = find_sub(s, id, &at);
    if(!old) return;
    sub_free(old);
    s->subs[at] = s->subs[--s->nsubs];
}

/* Copy the watched types (for care_subs_written) and the websocket
 * Subscription ids (for bind) out of the list (takes the mutex). */
static void publish_watched(care_subs *s) {
    char(*w)[64] = s->nsubs ? xcalloc(s->nsubs, sizeof *w) : NULL;
    size_t n = 0;
    for(size_t i = 0; i < s->nsubs; i++) {
        bool seen = false;
        for(size_t k = 0; k < n && !seen; k++) seen = strcmp(w[k], s->subs[i]->type) == 0;
        if(!seen) memcpy(w[n++], s->subs[i]->type, sizeof w[0]);
    }
    char(*ids)[72] = s->nsubs ? xcalloc(s->nsubs, sizeof *ids) : NULL;
    size_t nids = 0;
    for(size_t i = 0; i < s->nsubs; i++)
        if(s->subs[i]->websocket) memcpy(ids[nids++], s->subs[i]->id, sizeof ids[0]);
    pthread_mutex_lock(&s->mu);
    free(s->watched);
    s->watched = w;
    s->nwatched = n;
    free(s->ws_ids);
    s->ws_ids = ids;
    s->nws = nids;
    pthread_mutex_unlock(&s->mu);
}

/* Take r (a stored Subscription) into the list when it is active and
 * deliverable, else drop any copy of it. */
static void adopt(care_subs *s, const store_resource *r) {
    json_value *res = NULL;
    fhir_issues is = FHIR_ISSUES_INIT;
    sub *n = xcalloc(1, sizeof *n);
    snprintf(n->id, sizeof n->id, "%s", r->id);
    n->version = r->version;
    const char *status = NULL;
    bool keep = false;
    if(!r->deleted && r->body && json_parse(r->body, r->body_len, &res, NULL, 0) == KITH_OK) {
        if(sub_parse(res, false, &status, n, &is) == KITH_OK && strcmp(status, "active") == 0) {
            keep = true;
        } else if(status && strcmp(status, "active") == 0) {
            log_event(LOG_WARN, "an active Subscription cannot be delivered and is ignored",
                      "\"subscription\":\"%s\"", r->id);
        }
    }
    sub *old = find_sub(s, r->id, NULL);
    if(keep && old && old->pending) {
        n->pending = true; /* a change to the Subscription does not lose a notification due */
        n->next_try_us = clock_mono_us();
    }
    remove_sub(s, r->id);
    if(keep) {
        char line[128];
        snprintf(line, sizeof line, "%s: Subscription/%s", SUBSCRIPTION_HEADER, n->id);
        n->headers = xrealloc(n->headers, (n->nheaders + 1) * sizeof *n->headers);
        n->headers[n->nheaders++] = xstrdup(line);
        s->subs = xrealloc(s->subs, (s->nsubs + 1) * sizeof *s->subs);
        s->subs[s->nsubs++] = n;
        n = NULL;
    }
    sub_free(n);
    fhir_issues_free(&is);
    json_free(res);
}

static void reload_one(care_subs *s, store_conn *c, const char *id) {
    store_resource r;
    memset(&r, 0, sizeof r);
    kith_rc rc = store_read(c, "Subscription", id, 0, &r);
    if(rc == KITH_OK || rc == KITH_EGONE) {
        if(rc == KITH_EGONE) {
            free(r.id);
            r.id = xstrdup(id);
        }
        adopt(s, &r);
    } else if(rc == KITH_ENOTFOUND) {
        remove_sub(s, id);
    } else {
        log_event(LOG_ERROR, "could not read a Subscription", "\"subscription\":\"%s\",\"error\":\"%s\"", id,
                  kith_rc_name(rc));
    }
    store_resource_free(&r);
}

typedef struct load_ctx {
    care_subs *s;
    char last[72];
    size_t n;
} load_ctx;

static int load_one(void *ctx, const store_resource *r) {
    load_ctx *l = ctx;
    adopt(l->s, r);
    snprintf(l->last, sizeof l->last, "%s", r->id);
    l->n++;
    return 0;
}

/* Replace the list with every active Subscription in the store. */
static void reload_all(care_subs *s, store_conn *c) {
    while(s->nsubs) sub_free(s->subs[--s->nsubs]);
    load_ctx l = {.s = s};
    for(;;) {
        size_t before = l.n;
        kith_rc rc = store_list(c, "Subscription", l.n ? l.last : NULL, LOAD_PAGE, load_one, &l);
        if(rc) {
            log_event(LOG_ERROR, "could not load the Subscriptions", "\"error\":\"%s\"", kith_rc_name(rc));
            break;
        }
        if(l.n - before < LOAD_PAGE) break;
    }
}

/* ---- matching and delivery ---------------------------------------------------- */

/* Does type/id (current, not deleted) meet sub's criteria? */
static bool meets(store_conn *c, const sub *sb, const char *id) {
    http_param *p = xcalloc(sb->nparams + 1, sizeof *p);
    memcpy(p, sb->params, sb->nparams * sizeof *p);
    p[sb->nparams].name = "_id";
    p[sb->nparams].value = (char *)id; /* borrowed; never freed through p */
    fhir_issues is = FHIR_ISSUES_INIT;
    fhir_search *q = NULL;
    char **ids = NULL;
    size_t n = 0;
    bool yes = false;
    kith_rc rc = fhir_search_parse(sb->type, p, sb->nparams + 1, true, "", &q, &is);
    if(!rc) rc = fhir_search_ids(c, q, 1, &ids, &n);
    if(rc)
        log_event(LOG_WARN, "a Subscription's criteria could not be run", "\"subscription\":\"%s\",\"error\":\"%s\"",
                  sb->id, kith_rc_name(rc));
    else
        yes = n > 0;
    for(size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    fhir_search_free(q);
    fhir_issues_free(&is);
    free(p);
    return yes;
}

/*
 * Write status (and error text, or none) onto Subscription sb, If-Match the
 * version the thread loaded so that a client's newer version wins.
 */
static void set_status(store_conn *c, const sub *sb, const char *status, const char *error) {
    store_resource r;
    memset(&r, 0, sizeof r);
    json_value *res = NULL;
    fhir_issues is = FHIR_ISSUES_INIT;
    record_result out;
    memset(&out, 0, sizeof out);
    kith_rc rc = store_read(c, "Subscription", sb->id, 0, &r);
    if(rc) goto done;
    rc = json_parse(r.body, r.body_len, &res, NULL, 0);
    if(rc) goto done;
    json_set(res, "status", json_new_string(status));
    if(error)
        json_set(res, "error", json_new_string(error));
    else
        json_remove(res, "error");
    char etag[32];
    snprintf(etag, sizeof etag, "W/\"%lld\"", (long long)sb->version);
    record_opts o = {.if_match = etag};
    rc = record_update(c, "Subscription", sb->id, res, &o, &out, &is);
done:
    if(rc == KITH_ECONFLICT)
        log_event(LOG_INFO, "a Subscription changed while Kith was marking it; the new version stands",
                  "\"subscription\":\"%s\",\"status\":\"%s\"", sb->id, status);
    else if(rc)
        log_event(LOG_ERROR, "could not record a Subscription's status", "\"subscription\":\"%s\",\"error\":\"%s\"",
                  sb->id, kith_rc_name(rc));
    record_result_free(&out);
    fhir_issues_free(&is);
    json_free(res);
    store_resource_free(&r);
}

/* Send sb's notification once. KITH_OK when the endpoint answered 2xx; else the reason in err. */
static kith_rc notify(const sub *sb, char *err, size_t errlen) {
    int status = 0;
    kith_rc rc = http_post(sb->endpoint, (const char *const *)sb->headers, sb->nheaders, NULL, 0, NOTIFY_TIMEOUT_MS,
                           &status, err, errlen);
    if(rc) return rc;
    if(status < 200 || status > 299) {
        snprintf(err, errlen, "the endpoint answered HTTP %d", status);
        return KITH_EIO;
    }
    return KITH_OK;
}

static bool stopping(care_subs *s) {
    pthread_mutex_lock(&s->mu);
    bool stop = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Send every notification that is due (until asked to stop); returns the
 * microseconds until the next retry is due (0: none waiting). */
static uint64_t deliver_due(care_subs *s, store_conn *c) {
    uint64_t wait = 0;
    for(size_t i = 0; i < s->nsubs && !stopping(s);) {
        sub *sb = s->subs[i];
        uint64_t now = clock_mono_us();
        if(!sb->pending) {
            i++;
            continue;
        }
        if(sb->next_try_us > now) {
            uint64_t w = sb->next_try_us - now;
            if(!wait || w < wait) wait = w;
            i++;
            continue;
        }
        if(sb->websocket) { /* live only: whoever is bound now hears it; nothing to retry */
            char ping[96];
            snprintf(ping, sizeof ping, "ping %s", sb->id);
            http_ws_publish(sb->id, ping);
            s->sent++;
            sb->pending = false;
            i++;
            continue;
        }
        char err[256];
        if(notify(sb, err, sizeof err) == KITH_OK) {
            s->sent++;
            sb->pending = false;
            sb->failures = 0;
            i++;
            continue;
        }
        s->failed++;
        sb->failures++;
        buf e = BUF_INIT;
        buf_json_escape(&e, err);
        log_event(LOG_WARN, "a Subscription notification failed",
                  "\"subscription\":\"%s\",\"attempt\":%d,\"error\":\"%s\"", sb->id, sb->failures, buf_str(&e));
        buf_free(&e);
        if(sb->failures >= MAX_ATTEMPTS) {
            char text[400];
            snprintf(text, sizeof text, "%d notifications in a row failed; the last: %s", sb->failures, err);
            set_status(c, sb, "error", text);
            char id[72];
            snprintf(id, sizeof id, "%s", sb->id);
            remove_sub(s, id); /* s->subs[i] is now another Subscription */
            publish_watched(s);
            continue;
        }
        uint64_t back = (uint64_t)s->backoff_ms * 1000u << (sb->failures - 1);
        sb->next_try_us = clock_mono_us() + back;
        if(!wait || back < wait) wait = back;
        i++;
    }
    return wait;
}

/* A resource was written: mark each Subscription it meets as due. */
static void check_written(care_subs *s, store_conn *c, const queued *e) {
    double now = (double)time(NULL);
    for(size_t i = 0; i < s->nsubs;) {
        sub *sb = s->subs[i];
        /* the process that made a write sends its rest-hooks; every process pings its own websockets */
        if(strcmp(sb->type, e->type) != 0 || (e->elsewhere && !sb->websocket)) {
            i++;
            continue;
        }
        if(sb->end && sb->end < now) {
            /* its time is over: R4 says the server turns it off */
            set_status(c, sb, "off", NULL);
            char id[72];
            snprintf(id, sizeof id, "%s", sb->id);
            remove_sub(s, id);
            publish_watched(s);
            continue;
        }
        if(!sb->pending && meets(c, sb, e->id)) {
            sb->pending = true;
            if(sb->failures == 0) sb->next_try_us = 0;
        }
        i++;
    }
}

/*
 * Wait until no write transaction is open. A write inside a transaction (a
 * transaction Bundle) is queued before it commits; its resource becomes
 * visible to this thread's connection only after the commit, so the batch is
 * matched after taking and at once giving back the store's write lock.
 */
static void wait_for_writer(store_conn *c) {
    if(store_begin(c) == KITH_OK) store_rollback(c);
}

static void *delivery_main(void *arg) {
    care_subs *s = arg;
    store_conn *c = store_conn_for_thread(s->st);
    if(!c) log_event(LOG_ERROR, "the Subscription thread has no store connection; no notifications", NULL);
    if(c) reload_all(s, c);
    publish_watched(s);
    pthread_mutex_lock(&s->mu);
    s->reloads_pending--; /* the first load */
    pthread_cond_broadcast(&s->loaded);
    uint64_t wait_us = 0;
    while(!s->stopping) {
        if(s->len == 0 && !s->reload_all) {
            if(wait_us) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t ns = (uint64_t)ts.tv_nsec + (wait_us % 1000000u) * 1000u;
                ts.tv_sec += (time_t)(wait_us / 1000000u + ns / 1000000000u);
                ts.tv_nsec = (long)(ns % 1000000000u);
                pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            } else {
                pthread_cond_wait(&s->cv, &s->mu);
            }
            if(s->stopping) break;
        }
        bool all = s->reload_all;
        s->reload_all = false;
        queued batch[64];
        size_t nb = 0;
        while(s->len && nb < sizeof batch / sizeof *batch) {
            batch[nb++] = s->q[s->head];
            s->head = (s->head + 1) % QUEUE_CAP;
            s->len--;
        }
        pthread_mutex_unlock(&s->mu);
        if(c && (nb || all)) wait_for_writer(c);
        if(c) {
            if(all) reload_all(s, c);
            bool changed = all;
            for(size_t i = 0; i < nb; i++) {
                if(strcmp(batch[i].type, "Subscription") == 0) {
                    reload_one(s, c, batch[i].id);
                    changed = true;
                }
            }
            if(changed) publish_watched(s);
            for(size_t i = 0; i < nb; i++) check_written(s, c, &batch[i]);
        }
        pthread_mutex_lock(&s->mu);
        for(size_t i = 0; i < nb; i++)
            if(strcmp(batch[i].type, "Subscription") == 0) s->reloads_pending--;
        pthread_cond_broadcast(&s->loaded);
        pthread_mutex_unlock(&s->mu);
        wait_us = c ? deliver_due(s, c) : 0;
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    if(c) store_thread_release(s->st);
    return NULL;
}

/* ---- the websocket channel (the hub thread) ------------------------------------------ */

/*
 * R4's websocket protocol: the client sends "bind <Subscription id>" and is
 * answered "bound <id>"; from then on each notification is "ping <id>".
 * Only active websocket Subscriptions may be bound.
 */
static void on_ws_message(void *ctx, http_ws_conn *c, const char *text, size_t len) {
    care_subs *s = ctx;
    char id[72], reply[160];
    if(len <= 5 || strncmp(text, "bind ", 5) != 0) {
        http_ws_send(c, "error say: bind <Subscription id>");
        return;
    }
    const char *p = text + 5;
    size_t n = len - 5;
    while(n && (p[n - 1] == ' ' || p[n - 1] == '\r' || p[n - 1] == '\n')) n--;
    if(n > 13 && strncmp(p, "Subscription/", 13) == 0) { /* a reference works too */
        p += 13;
        n -= 13;
    }
    if(n == 0 || n >= sizeof id) {
        http_ws_send(c, "error that is not a Subscription id");
        return;
    }
    memcpy(id, p, n);
    id[n] = '\0';
    /* A Subscription created a moment ago may not be loaded yet: while
     * Subscription writes are still queued, wait for them (up to 2 s). */
    bool known = false;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&s->mu);
    for(;;) {
        for(size_t i = 0; i < s->nws && !known; i++) known = strcmp(s->ws_ids[i], id) == 0;
        if(known || s->reloads_pending == 0 || s->stopping ||
           pthread_cond_timedwait(&s->loaded, &s->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&s->mu);
    if(!known || !record_id_valid(id)) {
        snprintf(reply, sizeof reply, "error %s is not an active websocket Subscription", id);
        http_ws_send(c, reply);
        return;
    }
    kith_rc rc = http_ws_bind(c, id);
    if(rc) {
        http_ws_send(c, rc == KITH_ETOOBIG ? "error bound to too many Subscriptions" : "error cannot bind");
        return;
    }
    snprintf(reply, sizeof reply, "bound %s", id);
    http_ws_send(c, reply);
}

/* ---- start and stop --------------------------------------------------------------- */

care_subs *care_subs_start(store *st) {
    if(!st) return NULL;
    care_subs *s = xcalloc(1, sizeof *s);
    s->st = st;
    s->q = xcalloc(QUEUE_CAP, sizeof *s->q);
    s->reloads_pending = 1; /* until the first load: queue every write */
    s->backoff_ms = BACKOFF_MS;
    const char *b = getenv(BACKOFF_ENV);
    if(b && *b) {
        char *end = NULL;
        long v = strtol(b, &end, 10);
        if(*end || v < 1 || v > 3600000)
            log_event(LOG_WARN, "ignoring " BACKOFF_ENV ": give milliseconds, 1 to 3600000", NULL);
        else
            s->backoff_ms = (int)v;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_cond_init(&s->loaded, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->mu, NULL);
    http_ws_set_handler(on_ws_message, s);
    if(pthread_create(&s->thread, NULL, delivery_main, s) != 0) {
        http_ws_set_handler(NULL, NULL);
        log_event(LOG_ERROR, "could not start the Subscription thread", NULL);
        pthread_cond_destroy(&s->cv);
        pthread_cond_destroy(&s->loaded);
        pthread_mutex_destroy(&s->mu);
        free(s->q);
        free(s);
        return NULL;
    }
    return s;
}

void care_subs_stop(care_subs *s) {
    if(!s) return;
    http_ws_set_handler(NULL, NULL); /* waits for a bind in progress */
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    size_t left = s->len;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    size_t due = 0;
    for(size_t i = 0; i < s->nsubs; i++) due += s->subs[i]->pending;
    if(left || due)
        log_event(LOG_INFO, "stopped with Subscription work undone", "\"queued\":%zu,\"notifications_due\":%zu", left,
                  due);
    while(s->nsubs) sub_free(s->subs[--s->nsubs]);
    free(s->subs);
    free(s->watched);
    free(s->ws_ids);
    free(s->q);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->loaded);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
