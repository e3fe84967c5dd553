/*
 * auditevent.c — AuditEvent read and search over the audit log (see
 * auditevent.h). Each entry's stored JSON is sent with its id (the log's
 * sequence number) and meta added; the stored text itself is what the hash
 * chain covers, so it is never changed.
 */
#include "fhir/auditevent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "base/url.h"

#define FHIR_JSON "application/fhir+json; charset=utf-8"
#define DEFAULT_PAGE 50
#define MAX_PAGE 1000

/* The entry's JSON with "id" and "meta" put in after resourceType. */
static void write_entry(buf *out, const store_audit_entry *e) {
    const char *body = e->body ? e->body : "{}";
    const char *after = strstr(body, "\"resourceType\":\"AuditEvent\"");
    buf_puts(out, "{\"resourceType\":\"AuditEvent\",");
    buf_printf(out, "\"id\":\"%lld\",\"meta\":{\"versionId\":\"1\",\"lastUpdated\":\"%s\"}", (long long)e->seq,
               e->recorded ? e->recorded : "");
    if(after) {
        const char *rest = after + strlen("\"resourceType\":\"AuditEvent\"");
        buf_puts(out, rest); /* ",..." up to the closing brace */
    } else {
        buf_puts(out, "}");
    }
}

typedef struct one_ctx {
    int64_t want;
    buf *out;
    bool found;
} one_ctx;

static int take_one(void *vctx, const store_audit_entry *e) {
    one_ctx *o = vctx;
    if(e->seq == o->want) {
        write_entry(o->out, e);
        o->found = true;
    }
    return 1;
}

void fhir_auditevent_read(store_conn *c, const http_request *req, http_response *res, const char *id) {
    (void)req;
    res->route = "fhir.audit.read";
    char *end = NULL;
    long long seq = strtoll(id, &end, 10);
    if(!*id || *end || seq < 1) {
        fhir_reply_error(res, 404, "not-found", "AuditEvent/%s is not known", id);
        return;
    }
    buf body = BUF_INIT;
    one_ctx o = {.want = seq, .out = &body};
    store_audit_query q = {.after_seq = seq - 1, .limit = 1};
    kith_rc rc = store_audit_scan(c, &q, take_one, &o);
    if(rc) {
        fhir_reply_error(res, fhir_rest_status_for(rc), "exception", "cannot read the audit log: %s", kith_rc_name(rc));
    } else if(!o.found) {
        fhir_reply_error(res, 404, "not-found", "AuditEvent/%s is not known", id);
    } else {
        res->status = 200;
        res->content_type = FHIR_JSON;
        res->body = body;
        return;
    }
    buf_free(&body);
}

typedef struct page_ctx {
    buf *out;
    const char *base;
    size_t n, limit;
    int64_t last_seq;
    bool more; /* the scan found one beyond the page */
} page_ctx;

static int add_entry(void *vctx, const store_audit_entry *e) {
    page_ctx *p = vctx;
    if(p->n == p->limit) { /* one more than the page: there is a next page */
        p->more = true;
        return 1;
    }
    buf_printf(p->out, "%s{\"fullUrl\":\"%s/fhir/AuditEvent/%lld\",\"resource\":", p->n ? "," : "", p->base,
               (long long)e->seq);
    write_entry(p->out, e);
    buf_puts(p->out, ",\"search\":{\"mode\":\"match\"}}");
    p->n++;
    p->last_seq = e->seq;
    return 0;
}

const char *fhir_auditevent_patient(const http_request *req) {
    const char *about = NULL;
    for(size_t i = 0; i < req->nparams; i++) {
        const char *n = req->params[i].name, *v = req->params[i].value ? req->params[i].value : "";
        if(strcmp(n, "patient") == 0 || strcmp(n, "entity") == 0) about = strncmp(v, "Patient/", 8) == 0 ? v + 8 : v;
    }
    return about;
}

void fhir_auditevent_search(store_conn *c, const http_request *req, http_response *res) {
    res->route = "fhir.audit.search";
    store_audit_query q = {.newest_first = true, .limit = DEFAULT_PAGE + 1};
    size_t page = DEFAULT_PAGE;
    buf applied = BUF_INIT;
    char since[40] = "", until[40] = "";
    for(size_t i = 0; i < req->nparams; i++) {
        const char *n = req->params[i].name, *v = req->params[i].value ? req->params[i].value : "";
        if(strcmp(n, "patient") == 0 || strcmp(n, "entity") == 0) {
            q.patient = fhir_auditevent_patient(req); /* the last one: the one access was checked for */
        } else if(strcmp(n, "agent") == 0) {
            q.agent = v;
        } else if(strcmp(n, "date") == 0) {
            /* the value names a span (a day, a second...): ge/gt/le/lt compare with its ends */
            double lo, hi;
            bool known = strlen(v) > 2 && strlen(v) < 38 && datetime_range(v + 2, &lo, &hi) &&
                         (!strncmp(v, "ge", 2) || !strncmp(v, "gt", 2) || !strncmp(v, "le", 2) || !strncmp(v, "lt", 2));
            if(!known) {
                fhir_reply_error(res, 400, "not-supported",
                                 "AuditEvent date takes ge, gt, le or lt and a date or instant, not '%s'", v);
                buf_free(&applied);
                return;
            }
            if(v[0] == 'g') datetime_format(v[1] == 'e' ? lo : hi + 0.001, since); /* recorded >= since */
            else datetime_format(v[1] == 't' ? lo : hi + 0.001, until);            /* recorded < until */
        } else if(strcmp(n, "_count") == 0) {
            char *end = NULL;
            long k = strtol(v, &end, 10);
            if(!*v || *end || k < 0) {
                fhir_reply_error(res, 400, "invalid", "_count must be a whole number, not '%s'", v);
                buf_free(&applied);
                return;
            }
            page = k > MAX_PAGE ? MAX_PAGE : (size_t)k;
            q.limit = page + 1;
            continue;
        } else if(strcmp(n, "_before") == 0) {
            q.after_seq = strtoll(v, NULL, 10);
            continue;
        } else if(n[0] == '_' && (strcmp(n, "_format") == 0 || strcmp(n, "_pretty") == 0)) {
            continue;
        } else {
            fhir_reply_error(res, 400, "not-supported",
                             "AuditEvent search takes patient, agent, date, _count (the audit log is not the "
                             "resource store); not '%s'",
                             n);
            buf_free(&applied);
            return;
        }
        if(applied.len) buf_putc(&applied, '&');
        buf_puts(&applied, n);
        buf_putc(&applied, '=');
        url_encode(&applied, v);
    }
    if(since[0]) q.since = since;
    if(until[0]) q.until = until;
    buf body = BUF_INIT;
    buf_printf(&body, "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[");
    page_ctx p = {.out = &body, .base = req->base_url, .limit = page};
    kith_rc rc = page ? store_audit_scan(c, &q, add_entry, &p) : KITH_OK;
    if(rc) {
        fhir_reply_error(res, fhir_rest_status_for(rc), "exception", "cannot read the audit log: %s", kith_rc_name(rc));
        buf_free(&body);
        buf_free(&applied);
        return;
    }
    buf_puts(&body, "],\"link\":[");
    buf basepath = BUF_INIT;
    buf_printf(&basepath, "%s/fhir", req->base_url);
    fhir_bundle_link(&body, true, "self", buf_str(&basepath), "/AuditEvent", &applied, NULL, NULL);
    if(p.more) {
        char cur[32];
        snprintf(cur, sizeof cur, "%lld", (long long)p.last_seq);
        fhir_bundle_link(&body, false, "next", buf_str(&basepath), "/AuditEvent", &applied, "_before", cur);
    }
    buf_puts(&body, "]}");
    buf_free(&basepath);
    buf_free(&applied);
    res->status = 200;
    res->content_type = FHIR_JSON;
    res->body = body;
}
