/*
 * rest.c — the FHIR R4 REST interactions over the store.
 *
 *   GET  /fhir/metadata                      CapabilityStatement
 *   GET  /fhir/_history                      system history
 *   GET  /fhir/T            POST /fhir/T/_search   search (_id, identifier)
 *   POST /fhir/T                             create (If-None-Exist)
 *   GET  /fhir/T/_history                    type history
 *   GET|PUT|DELETE /fhir/T/id                read, update (create-on-update), delete
 *   GET  /fhir/T/id/_history[/vid]           instance history, vread
 *
 * Every error is an OperationOutcome with the status from
 * fhir_rest_status_for. Reads send the stored JSON text as it is, without
 * parsing it. Thread-safe: each worker thread uses its own store connection.
 */
#include "fhir/rest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/datetime.h"
#include "base/mem.h"
#include "base/url.h"
#include "audit/audit.h"
#include "fhir/access.h"
#include "fhir/auditevent.h"
#include "fhir/bundle.h"
#include "fhir/capability.h"
#include "fhir/model.h"
#include "fhir/operations.h"
#include "fhir/outcome.h"
#include "fhir/patch.h"
#include "fhir/record.h"
#include "fhir/search.h"
#include "http/websocket.h"
#include "web/signin.h"
#include "web/static.h"
#include "care/care.h"
#include "care/openreferral.h"
#include "care/subscription.h"
#include "pop/frailty.h"
#include "json/json.h"

#define FHIR_JSON "application/fhir+json; charset=utf-8"
#define DEFAULT_PAGE 50
#define MAX_PAGE 1000
#define MAX_SEGMENTS 6

int fhir_rest_status_for(kith_rc rc) {
    switch(rc) {
    case KITH_OK: return 200;
    case KITH_EINVAL: return 400;
    case KITH_EINVALID: return 422;
    case KITH_ENOTFOUND: return 404;
    case KITH_EGONE: return 410;
    case KITH_ECONFLICT: return 412;
    case KITH_EEXISTS: return 409;
    case KITH_ETOOBIG: return 413;
    case KITH_EBUSY: return 503;
    case KITH_EUNSUPPORTED: return 501;
    case KITH_EFORBIDDEN: return 403;
    case KITH_ESTATE: return 409;
    case KITH_ENOMEM:
    case KITH_EIO:
    case KITH_ESTORE:
    case KITH_EINTERNAL: return 500;
    }
    return 500;
}

static const char *issue_code_for(kith_rc rc) {
    switch(rc) {
    case KITH_ENOTFOUND: return "not-found";
    case KITH_EGONE: return "deleted";
    case KITH_ECONFLICT: return "conflict";
    case KITH_ESTATE: return "business-rule";
    case KITH_EUNSUPPORTED: return "not-supported";
    case KITH_EFORBIDDEN: return "forbidden";
    case KITH_ETOOBIG: return "too-costly";
    case KITH_EBUSY: return "transient";
    case KITH_EINVALID: return "invalid";
    case KITH_EINVAL: return "invalid";
    default: return "exception";
    }
}

/* ---- response helpers --------------------------------------------------- */

void fhir_reply_outcome(http_response *res, int status, const fhir_issues *is) {
    res->status = status;
    res->content_type = FHIR_JSON;
    buf_reset(&res->body);
    fhir_outcome_write(&res->body, is);
}

void fhir_reply_error(http_response *res, int status, const char *code, const char *fmt, ...) {
    buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    fhir_issues is = FHIR_ISSUES_INIT;
    fhir_issues_add(&is, status < 300 ? "information" : "error", code, NULL, "%s", buf_str(&msg));
    fhir_reply_outcome(res, status, &is);
    fhir_issues_free(&is);
    buf_free(&msg);
}

/* Reply with the issues gathered for rc, adding a generic one if empty. */
static void reply_rc(http_response *res, kith_rc rc, fhir_issues *is, const char *what) {
    if(is->n == 0) fhir_issues_add(is, "error", issue_code_for(rc), NULL, "%s: %s", what, kith_rc_name(rc));
    fhir_reply_outcome(res, fhir_rest_status_for(rc), is);
}

static void set_version_headers(http_response *res, const http_request *req, const char *type, const char *id,
                                int64_t version, const char *last_updated, bool location) {
    char v[64];
    snprintf(v, sizeof v, "W/\"%lld\"", (long long)version);
    http_response_header(res, "ETag", v);
    char date[64];
    if(last_updated && clock_http_date(last_updated, date, sizeof date)) http_response_header(res, "Last-Modified", date);
    if(location) {
        buf loc = BUF_INIT;
        buf_printf(&loc, "%s/fhir/%s/%s/_history/%lld", req->base_url, type, id, (long long)version);
        http_response_header(res, "Location", buf_str(&loc));
        buf_free(&loc);
    }
}

typedef enum prefer_return { PREFER_REPRESENTATION, PREFER_MINIMAL, PREFER_OUTCOME } prefer_return;

static prefer_return prefer_of(const http_request *req) {
    const char *p = http_header_get(req, "Prefer");
    if(!p) return PREFER_REPRESENTATION;
    if(strstr(p, "return=minimal")) return PREFER_MINIMAL;
    if(strstr(p, "return=OperationOutcome")) return PREFER_OUTCOME;
    return PREFER_REPRESENTATION;
}

static bool prefer_strict(const http_request *req) {
    const char *p = http_header_get(req, "Prefer");
    return p && strstr(p, "handling=strict");
}

/* Body of a successful write, as the client's Prefer header asks. */
/* The reply to a successful write, with the notes the care rules made
 * (warnings also as HTTP Warning headers, whatever the Prefer). */
static void reply_written(http_response *res, const http_request *req, int status, const char *type,
                          const record_result *r, const char *what, const fhir_issues *notes) {
    res->status = status;
    set_version_headers(res, req, type, r->id, r->version, r->last_updated, true);
    for(size_t i = 0; notes && i < notes->n; i++) {
        if(strcmp(notes->v[i].severity, "warning") != 0) continue;
        buf h = BUF_INIT;
        buf_puts(&h, "199 kith \"");
        for(const char *p = notes->v[i].diagnostics; *p; p++)
            if(*p != '"' && *p != '\\' && (unsigned char)*p >= 32) buf_putc(&h, *p);
        buf_putc(&h, '"');
        http_response_header(res, "Warning", buf_str(&h));
        buf_free(&h);
    }
    switch(prefer_of(req)) {
    case PREFER_MINIMAL: res->content_type = NULL; break;
    case PREFER_OUTCOME: {
        fhir_issues is = FHIR_ISSUES_INIT;
        fhir_issues_add(&is, "information", "informational", NULL, "%s %s/%s version %lld", what, type, r->id,
                        (long long)r->version);
        for(size_t i = 0; notes && i < notes->n; i++)
            fhir_issues_add(&is, notes->v[i].severity, notes->v[i].code, notes->v[i].expression, "%s",
                            notes->v[i].diagnostics);
        fhir_reply_outcome(res, status, &is);
        fhir_issues_free(&is);
        break;
    }
    case PREFER_REPRESENTATION:
        res->content_type = FHIR_JSON;
        buf_append(&res->body, r->body, r->body_len);
        break;
    }
}

/* After a write through the API: care follow-ups, then Subscriptions, then
 * the person's eFI (src/pop/frailty.c), in the transaction when tx. */
static void written(fhir_rest *api, store_conn *c, const char *type, const record_result *r, const rest_tx *tx) {
    if(r->unchanged) return;
    if(r->body) care_after_write(api, c, type, r->id, r->body, r->body_len);
    care_subs_written(api->subs, type, r->id);
    char ra[72];
    if(frailty_after_write(c, type, r->body, r->body_len, tx != NULL, ra))
        care_subs_written(api->subs, "RiskAssessment", ra);
}

/* ---- request checks ----------------------------------------------------- */

static bool media_is_json(const char *ct) {
    if(!ct) return false;
    size_t n = strcspn(ct, ";");
    while(n && ct[n - 1] == ' ') n--;
    return (n == 21 && strncasecmp(ct, "application/fhir+json", 21) == 0) ||
           (n == 16 && strncasecmp(ct, "application/json", 16) == 0);
}

/* 415 unless the request body is JSON. */
static bool check_content_type(const http_request *req, http_response *res) {
    const char *ct = http_header_get(req, "Content-Type");
    if(media_is_json(ct)) return true;
    fhir_reply_error(res, 415, "not-supported", "Content-Type %s is not supported: send application/fhir+json",
                ct ? ct : "(none)");
    return false;
}

/* 406 when the client accepts only formats we do not produce. */
static bool check_accept(const http_request *req, http_response *res) {
    const char *fmt = http_param_get(req, "_format");
    if(fmt && !(strcmp(fmt, "json") == 0 || media_is_json(fmt))) {
        fhir_reply_error(res, 406, "not-supported", "_format %s is not supported: Kith answers in JSON", fmt);
        return false;
    }
    const char *acc = http_header_get(req, "Accept");
    if(!acc || !*acc) return true;
    if(strstr(acc, "json") || strstr(acc, "*/*") || strstr(acc, "application/*")) return true;
    fhir_reply_error(res, 406, "not-supported", "Accept %s cannot be met: Kith answers in application/fhir+json", acc);
    return false;
}

/* Parse the body as JSON; on failure reply 400 and return NULL. */
static json_value *parse_body(const http_request *req, http_response *res) {
    json_value *v = NULL;
    char err[256];
    if(req->body_len == 0) {
        fhir_reply_error(res, 400, "required", "the request has no body: send a FHIR resource as JSON");
        return NULL;
    }
    if(json_parse(req->body, req->body_len, &v, err, sizeof err)) {
        fhir_reply_error(res, 400, "structure", "the body is not valid JSON: %s", err);
        return NULL;
    }
    return v;
}

static int64_t parse_count(const char *s, int64_t dflt) {
    if(!s) return dflt;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if(end == s || *end || v < 0) return -1;
    return v > MAX_PAGE ? MAX_PAGE : v;
}

/* ---- interactions ------------------------------------------------------- */

static void do_read(store_conn *c, const http_request *req, http_response *res, const char *type, const char *id,
                    int64_t version) {
    store_resource r;
    res->route = version ? "fhir.vread" : "fhir.read";
    kith_rc rc = store_read(c, type, id, version, &r);
    access_note(type, id, strcmp(type, "Patient") == 0 ? id : r.patient);
    if(rc == KITH_OK) {
        res->status = 200;
        res->content_type = FHIR_JSON;
        set_version_headers(res, req, type, id, r.version, r.last_updated, false);
        res->body.data = r.body;
        res->body.len = r.body_len;
        res->body.cap = r.body_len + 1;
        r.body = NULL;
    } else if(rc == KITH_EGONE) {
        set_version_headers(res, req, type, id, r.version, r.last_updated, false);
        fhir_reply_error(res, 410, "deleted", "%s/%s was deleted (version %lld)", type, id, (long long)r.version);
    } else if(rc == KITH_ENOTFOUND) {
        if(version)
            fhir_reply_error(res, 404, "not-found", "%s/%s has no version %lld", type, id, (long long)version);
        else
            fhir_reply_error(res, 404, "not-found", "%s/%s is not known", type, id);
    } else {
        fhir_reply_error(res, fhir_rest_status_for(rc), issue_code_for(rc), "cannot read %s/%s: %s", type, id,
                    kith_rc_name(rc));
    }
    store_resource_free(&r);
}

static void do_create(fhir_rest *api, store_conn *c, const http_request *req, http_response *res, const char *type,
                      const rest_tx *tx) {
    res->route = "fhir.create";
    if(!check_content_type(req, res)) return;
    json_value *body = parse_body(req, res);
    if(!body) return;
    fhir_issues is = FHIR_ISSUES_INIT;
    record_result r = {0};
    record_opts o = {.if_none_exist = http_header_get(req, "If-None-Exist"),
                     .in_transaction = tx != NULL,
                     .new_id = tx ? tx->new_id : NULL};
    care_check w;
    kith_rc rc = care_before_write(api, c, type, NULL, body, &w, &is);
    if(!rc) rc = record_create(c, type, body, &o, &r, &is);
    if(rc) {
        reply_rc(res, rc, &is, "create failed");
    } else {
        reply_written(res, req, r.unchanged ? 200 : 201, type, &r, r.unchanged ? "Found existing" : "Created", &is);
        written(api, c, type, &r, tx);
    }
    record_result_free(&r);
    fhir_issues_free(&is);
    json_free(body);
}

static void do_update(fhir_rest *api, store_conn *c, const http_request *req, http_response *res, const char *type,
                      const char *id, const rest_tx *tx) {
    res->route = id ? "fhir.update" : "fhir.update-conditional";
    if(!check_content_type(req, res)) return;
    json_value *body = parse_body(req, res);
    if(!body) return;
    fhir_issues is = FHIR_ISSUES_INIT;
    record_result r = {0};
    record_opts o = {.if_match = http_header_get(req, "If-Match"), .in_transaction = tx != NULL};
    /* the care rules check against the current version; the write must land on that version */
    char **ids = NULL;
    size_t nids = 0;
    kith_rc rc = KITH_OK;
    if(!id) {
        rc = record_match(c, type, req->query, 2, &ids, &nids, &is);
        if(rc == KITH_EUNSUPPORTED) rc = KITH_EINVAL;
    }
    const char *target = id ? id : nids == 1 ? ids[0] : NULL;
    care_check w;
    if(!rc) rc = care_before_write(api, c, type, target, body, &w, &is);
    char etag[32];
    if(!rc && !o.if_match && w.checked_version > 0) {
        snprintf(etag, sizeof etag, "W/\"%lld\"", (long long)w.checked_version);
        o.if_match = etag;
    }
    if(!rc)
        rc = id ? record_update(c, type, id, body, &o, &r, &is)
                : record_update_conditional(c, type, req->query, body, &o, &r, &is);
    for(size_t i = 0; i < nids; i++) free(ids[i]);
    free(ids);
    if(rc) {
        reply_rc(res, rc, &is, "update failed");
    } else {
        reply_written(res, req, r.created ? 201 : 200, type, &r, r.created ? "Created" : "Updated", &is);
        written(api, c, type, &r, tx);
    }
    record_result_free(&r);
    fhir_issues_free(&is);
    json_free(body);
}

static void do_delete(fhir_rest *api, store_conn *c, const http_request *req, http_response *res, const char *type,
                      const char *id, const rest_tx *tx) {
    res->route = id ? "fhir.delete" : "fhir.delete-conditional";
    fhir_issues is = FHIR_ISSUES_INIT;
    record_result r;
    record_opts o = {.if_match = http_header_get(req, "If-Match"), .in_transaction = tx != NULL};
    kith_rc rc = id ? record_delete(c, type, id, &o, &r, &is)
                    : record_delete_conditional(c, type, req->query, &o, &r, &is);
    if(!id && !rc) id = r.id[0] ? r.id : NULL;
    if(rc) {
        reply_rc(res, rc, &is, "delete failed");
    } else {
        if(id) set_version_headers(res, req, type, id, r.version, r.last_updated[0] ? r.last_updated : NULL, false);
        if(!id)
            fhir_issues_add(&is, "information", "informational", NULL, "no %s matched: nothing to delete", type);
        else
            fhir_issues_add(&is, "information", "informational", NULL,
                            r.unchanged ? "%s/%s was already deleted" : "Deleted %s/%s", type, id);
        fhir_reply_outcome(res, 200, &is);
        if(id && !r.unchanged) care_subs_written(api->subs, type, id);
        char ra[72];
        if(id && !r.unchanged && frailty_after_delete(c, type, id, tx != NULL, ra))
            care_subs_written(api->subs, "RiskAssessment", ra);
    }
    record_result_free(&r);
    fhir_issues_free(&is);
}

static void do_patch(fhir_rest *api, store_conn *c, const http_request *req, http_response *res, const char *type, const char *id,
                     const rest_tx *tx) {
    res->route = "fhir.patch";
    const char *ct = http_header_get(req, "Content-Type");
    size_t ctn = ct ? strcspn(ct, ";") : 0;
    bool json_patch = ct && ctn == 27 && strncasecmp(ct, "application/json-patch+json", 27) == 0;
    if(!json_patch && !media_is_json(ct)) {
        fhir_reply_error(res, 415, "not-supported",
                    "PATCH takes application/json-patch+json (JSON Patch) or application/fhir+json (FHIRPath Patch), not %s",
                    ct ? ct : "(none)");
        return;
    }
    json_value *patch = parse_body(req, res);
    if(!patch) return;
    fhir_issues is = FHIR_ISSUES_INIT;
    record_result r = {0};
    json_value *doc = NULL;
    store_resource cur = {0};
    bool own_tx = !tx;
    kith_rc rc = own_tx ? store_begin(c) : KITH_OK;
    if(rc) {
        reply_rc(res, rc, &is, "patch failed");
        goto done;
    }
    rc = store_read(c, type, id, 0, &cur);
    if(rc) {
        if(rc == KITH_ENOTFOUND) fhir_issues_add(&is, "error", "not-found", NULL, "%s/%s is not known", type, id);
        if(rc == KITH_EGONE) fhir_issues_add(&is, "error", "deleted", NULL, "%s/%s was deleted", type, id);
        goto fail;
    }
    if(json_parse(cur.body, cur.body_len, &doc, NULL, 0)) {
        rc = KITH_EINTERNAL;
        goto fail;
    }
    rc = json_patch ? json_patch_apply(doc, patch, &is) : fhirpath_patch_apply(doc, patch, &is);
    if(rc) {
        if(rc == KITH_ECONFLICT) rc = KITH_EINVALID; /* a failed test is 422 */
        goto fail;
    }
    record_opts o = {.if_match = http_header_get(req, "If-Match"), .in_transaction = true};
    care_check w;
    rc = care_before_write(api, c, type, id, doc, &w, &is);
    if(rc) goto fail;
    rc = record_update(c, type, id, doc, &o, &r, &is);
    if(rc) goto fail;
    if(own_tx && (rc = store_commit(c))) goto fail;
    reply_written(res, req, 200, type, &r, "Patched", &is);
    written(api, c, type, &r, tx);
    goto done;
fail:
    if(own_tx) store_rollback(c);
    reply_rc(res, rc, &is, "patch failed");
done:
    record_result_free(&r);
    store_resource_free(&cur);
    fhir_issues_free(&is);
    json_free(doc);
    json_free(patch);
}

/* ---- bundles ------------------------------------------------------------ */

typedef struct bundle_ctx {
    buf *out;
    const http_request *req;
    size_t n;
    int64_t last_seq;
    char *last_id;
    bool history;
} bundle_ctx;

static int bundle_entry(void *vctx, const store_resource *r) {
    bundle_ctx *b = vctx;
    if(b->n++) buf_putc(b->out, ',');
    buf_printf(b->out, "{\"fullUrl\":\"%s/fhir/%s/%s\"", b->req->base_url, r->type, r->id);
    if(r->body) {
        buf_puts(b->out, ",\"resource\":");
        buf_append(b->out, r->body, r->body_len);
    }
    if(b->history) {
        const char *method = r->method ? r->method : "PUT";
        bool del = strcmp(method, "DELETE") == 0;
        buf_printf(b->out,
                   ",\"request\":{\"method\":\"%s\",\"url\":\"%s/%s\"},"
                   "\"response\":{\"status\":\"%s\",\"etag\":\"W/\\\"%lld\\\"\",\"lastModified\":\"%s\"}}",
                   method, r->type, r->id, del ? "204" : (strcmp(method, "POST") == 0 ? "201" : "200"),
                   (long long)r->version, r->last_updated);
    } else {
        buf_puts(b->out, ",\"search\":{\"mode\":\"match\"}}");
    }
    b->last_seq = r->seq;
    free(b->last_id);
    b->last_id = xstrdup(r->id);
    return 0;
}

void fhir_bundle_link(buf *out, bool first, const char *relation, const char *base, const char *path,
                      const buf *params, const char *cursor_name, const char *cursor) {
    if(!first) buf_putc(out, ',');
    buf_printf(out, "{\"relation\":\"%s\",\"url\":\"", relation);
    buf l = BUF_INIT;
    buf_printf(&l, "%s%s", base, path);
    char sep = '?';
    if(params->len) {
        buf_printf(&l, "?%s", buf_str(params));
        sep = '&';
    }
    if(cursor) {
        buf_printf(&l, "%c%s=", sep, cursor_name);
        url_encode(&l, cursor);
    }
    buf_json_escape(out, buf_str(&l));
    buf_free(&l);
    buf_puts(out, "\"}");
}

static void add_param(buf *p, const char *name, const char *value) {
    if(p->len) buf_putc(p, '&');
    url_encode(p, name);
    buf_putc(p, '=');
    url_encode(p, value);
}

static void do_history(store_conn *c, const http_request *req, http_response *res, const char *type,
                       const char *id) {
    res->route = id ? "fhir.history-instance" : type ? "fhir.history-type" : "fhir.history-system";
    store_history_query q = {.type = type, .id = id};
    char since_utc[32];
    buf used = BUF_INIT, out = BUF_INIT;
    int64_t count = DEFAULT_PAGE;
    for(size_t i = 0; i < req->nparams; i++) {
        const char *n = req->params[i].name, *v = req->params[i].value;
        if(strcmp(n, "_count") == 0) {
            count = parse_count(v, DEFAULT_PAGE);
            if(count < 0) {
                fhir_reply_error(res, 400, "invalid", "_count must be a whole number, not '%s'", v);
                goto done;
            }
            add_param(&used, n, v);
        } else if(strcmp(n, "_since") == 0) {
            double lo, hi;
            if(!datetime_range(v, &lo, &hi)) {
                fhir_reply_error(res, 400, "invalid", "_since must be an instant such as 2026-01-31T09:00:00Z, not '%s'", v);
                goto done;
            }
            datetime_format(lo, since_utc); /* stored times are UTC with milliseconds: compare like with like */
            q.since = since_utc;
            add_param(&used, n, v);
        } else if(strcmp(n, "_page_before") == 0) {
            q.before_seq = strtoll(v, NULL, 10);
        } else if(strcmp(n, "_format") == 0) {
            add_param(&used, n, v);
        } else if(prefer_strict(req)) {
            fhir_reply_error(res, 400, "not-supported", "history parameter '%s' is not supported", n);
            goto done;
        }
    }
    if(id) {
        store_resource r;
        kith_rc rc = store_read(c, type, id, 0, &r);
        store_resource_free(&r);
        if(rc == KITH_ENOTFOUND) {
            fhir_reply_error(res, 404, "not-found", "%s/%s is not known", type, id);
            goto done;
        }
    }
    q.count = (size_t)count;
    buf entries = BUF_INIT;
    bundle_ctx b = {.out = &entries, .req = req, .history = true};
    int64_t total = 0;
    kith_rc rc = store_history(c, &q, bundle_entry, &b, &total);
    if(rc) {
        buf_free(&entries);
        free(b.last_id);
        fhir_reply_error(res, fhir_rest_status_for(rc), issue_code_for(rc), "history failed: %s", kith_rc_name(rc));
        goto done;
    }
    buf path = BUF_INIT;
    buf_puts(&path, "/fhir");
    if(type) buf_printf(&path, "/%s", type);
    if(id) buf_printf(&path, "/%s", id);
    buf_puts(&path, "/_history");
    buf_printf(&out, "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"total\":%lld,\"link\":[", (long long)total);
    char cur[32];
    snprintf(cur, sizeof cur, "%lld", (long long)q.before_seq);
    fhir_bundle_link(&out, true, "self", req->base_url, buf_str(&path), &used, "_page_before",
                     q.before_seq ? cur : NULL);
    if(b.n == (size_t)count && b.n > 0) {
        char next[32];
        snprintf(next, sizeof next, "%lld", (long long)b.last_seq);
        fhir_bundle_link(&out, false, "next", req->base_url, buf_str(&path), &used, "_page_before", next);
    }
    buf_puts(&out, "],\"entry\":[");
    buf_append(&out, entries.data, entries.len);
    buf_puts(&out, "]}");
    buf_free(&entries);
    buf_free(&path);
    free(b.last_id);
    res->status = 200;
    res->content_type = FHIR_JSON;
    buf_free(&res->body);
    res->body = out;
    out = (buf)BUF_INIT;
done:
    buf_free(&used);
    buf_free(&out);
}

/* Search parameters gathered from the query and (for _search) the form body. */
typedef struct search_params {
    http_param *v;
    size_t n;
} search_params;

static void gather_form(const http_request *req, search_params *sp) {
    sp->v = NULL;
    sp->n = 0;
    size_t cap = 0;
    for(size_t i = 0; i < req->nparams; i++) {
        if(sp->n == cap) sp->v = xrealloc(sp->v, (cap = cap ? cap * 2 : 8) * sizeof *sp->v);
        sp->v[sp->n].name = xstrdup(req->params[i].name);
        sp->v[sp->n].value = xstrdup(req->params[i].value);
        sp->n++;
    }
    if(strcmp(req->method, "POST") != 0 || !req->body_len) return;
    http_param *form = NULL;
    size_t nf = 0;
    http_parse_query(req->body, &form, &nf);
    for(size_t i = 0; i < nf; i++) {
        if(sp->n == cap) sp->v = xrealloc(sp->v, (cap = cap ? cap * 2 : 8) * sizeof *sp->v);
        sp->v[sp->n++] = form[i];
    }
    free(form);
}

static void do_search(store_conn *c, const http_request *req, http_response *res, const char *type) {
    res->route = "fhir.search";
    if(strcmp(req->method, "POST") == 0) {
        const char *ct = http_header_get(req, "Content-Type");
        if(req->body_len && (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)) {
            fhir_reply_error(res, 415, "not-supported", "_search takes application/x-www-form-urlencoded parameters");
            return;
        }
    }
    search_params sp;
    gather_form(req, &sp);
    fhir_issues is = FHIR_ISSUES_INIT;
    fhir_search *s = NULL;
    buf out = BUF_INIT;
    kith_rc rc = fhir_search_parse(type, sp.v, sp.n, prefer_strict(req), req->base_url, &s, &is);
    if(!rc) rc = fhir_search_bundle(c, s, req->base_url, &out, &is);
    if(rc) {
        reply_rc(res, rc == KITH_EUNSUPPORTED ? KITH_EINVAL : rc, &is, "search failed");
    } else {
        res->status = 200;
        res->content_type = FHIR_JSON;
        buf_free(&res->body);
        res->body = out;
        out = (buf)BUF_INIT;
    }
    buf_free(&out);
    fhir_search_free(s);
    fhir_issues_free(&is);
    http_params_free(sp.v, sp.n);
}

/* ---- routing ------------------------------------------------------------ */

void fhir_method_not_allowed(http_response *res, const char *allow, const char *what) {
    http_response_header(res, "Allow", allow);
    fhir_reply_error(res, 405, "not-supported", "%s allows only %s", what, allow);
}

static bool is_get(const char *m) {
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

#define BREAK_GLASS_SECONDS 3600

/* The Organization id of the Patient's registered GP practice, or NULL (caller frees). */
static char *registered_practice(const store_resource *patient) {
    json_value *p = NULL;
    char *org = NULL;
    if(!patient->body || json_parse(patient->body, patient->body_len, &p, NULL, 0)) return NULL;
    json_value *gps = json_get(p, "generalPractitioner");
    for(size_t i = 0; i < json_array_len(gps) && !org; i++) {
        const char *ref = json_string(json_get(json_array_at(gps, i), "reference"));
        if(ref && strncmp(ref, "Organization/", 13) == 0 && record_id_valid(ref + 13)) org = xstrdup(ref + 13);
    }
    json_free(p);
    return org;
}

/* Tell the person's GP practice (their key worker's team) that their record
 * was opened by break-glass: a Communication in the person's record,
 * addressed to the practice, which the practice's staff see. Best effort:
 * the audit trail has it whatever happens here. */
static void notify_break_glass(store_conn *c, const auth_principal *who, const char *patient, const char *reason,
                               const char *practice) {
    char now[CLOCK_INSTANT_LEN];
    clock_instant_now(now);
    buf b = BUF_INIT;
    buf_puts(&b, "{\"resourceType\":\"Communication\",\"status\":\"completed\",\"category\":[{\"coding\":[{"
                 "\"system\":\"http://terminology.hl7.org/CodeSystem/communication-category\",\"code\":"
                 "\"notification\"}],\"text\":\"Break-glass access to the record\"}],\"priority\":\"urgent\",");
    buf_printf(&b, "\"subject\":{\"reference\":\"Patient/%s\"},\"sent\":\"%s\",", patient, now);
    if(practice) buf_printf(&b, "\"recipient\":[{\"reference\":\"Organization/%s\"}],", practice);
    if(who->practitioner[0]) buf_printf(&b, "\"sender\":{\"reference\":\"Practitioner/%s\"},", who->practitioner);
    buf_puts(&b, "\"payload\":[{\"contentString\":\"");
    buf b2 = BUF_INIT;
    buf_printf(&b2, "%s (%s%s%s) opened this record without a care relationship for %d minutes. Reason given: %s",
               who->name, who->role, who->org[0] ? ", Organization/" : "", who->org, BREAK_GLASS_SECONDS / 60, reason);
    buf_json_escape(&b, buf_str(&b2));
    buf_free(&b2);
    buf_puts(&b, "\"}]}");
    json_value *res = NULL;
    if(json_parse(b.data, b.len, &res, NULL, 0) == KITH_OK) {
        record_result out;
        fhir_issues is = FHIR_ISSUES_INIT;
        store_set_viewer(c, NULL); /* written by Kith, not by the user */
        if(record_create(c, "Communication", res, NULL, &out, &is) == KITH_OK) record_result_free(&out);
        fhir_issues_free(&is);
        json_free(res);
    }
    buf_free(&b);
}

/* POST Patient/{id}/$break-glass (reason=... in the query, a form, or a
 * Parameters body): a user without a care relationship opens the record for
 * BREAK_GLASS_SECONDS, stating why. Granted, refused or not, it is audited
 * for governance review. */
static void do_break_glass(fhir_rest *api, store_conn *c, const http_request *req, http_response *res,
                           const char *id) {
    (void)api;
    res->route = "fhir.break-glass";
    access_request *ar = access_current();
    if(strcmp(req->method, "POST") != 0) {
        fhir_method_not_allowed(res, "POST", "$break-glass");
        return;
    }
    if(!ar || strcmp(ar->who.kind, "user") != 0 || strcmp(ar->who.role, "analyst") == 0) {
        fhir_reply_error(res, 403, "forbidden", "break-glass is for people giving direct care");
        return;
    }
    ar->subtype = "break-glass";
    ar->action = 'E';
    access_note("Patient", id, id);
    const char *reason = http_param_get(req, "reason");
    json_value *body = NULL;
    if((!reason || !*reason) && req->body_len && json_parse(req->body, req->body_len, &body, NULL, 0) == KITH_OK) {
        json_value *ps = json_get(body, "parameter");
        for(size_t i = 0; i < json_array_len(ps); i++) {
            json_value *p = json_array_at(ps, i);
            const char *name = json_string(json_get(p, "name"));
            if(name && strcmp(name, "reason") == 0) reason = json_string(json_get(p, "valueString"));
        }
    }
    if(!reason || strlen(reason) < 10) {
        fhir_reply_error(res, 400, "required",
                         "break-glass needs a reason of at least 10 characters (reason=..., or a Parameters body)");
        json_free(body);
        return;
    }
    snprintf(ar->detail, sizeof ar->detail, "break-glass: %s", reason);
    /* the person must exist; whether they do is already known to whoever asks for break-glass */
    store_set_viewer(c, NULL);
    store_resource r;
    kith_rc rc = store_read(c, "Patient", id, 0, &r);
    char *r_gp = rc == KITH_OK ? registered_practice(&r) : NULL;
    store_resource_free(&r);
    if(rc == KITH_OK) {
        char account[160];
        snprintf(account, sizeof account, "user/%s", ar->who.name);
        rc = store_grant_add(c, account, id, (int64_t)time(NULL) + BREAK_GLASS_SECONDS, reason);
        if(!rc) notify_break_glass(c, &ar->who, id, reason, r_gp);
    }
    free(r_gp);
    json_free(body);
    if(rc == KITH_ENOTFOUND || rc == KITH_EGONE) {
        fhir_reply_error(res, 404, "not-found", "Patient/%s is not known", id);
    } else if(rc) {
        fhir_reply_error(res, fhir_rest_status_for(rc), "exception", "cannot record the break-glass: %s",
                         kith_rc_name(rc));
    } else {
        res->status = 200;
        res->content_type = FHIR_JSON;
        buf_printf(&res->body,
                   "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"warning\",\"code\":"
                   "\"informational\",\"diagnostics\":\"Patient/%s is open to you for %d minutes. This access is "
                   "recorded and will be reviewed.\"}]}",
                   id, BREAK_GLASS_SECONDS / 60);
    }
}

/* Requests that need no token: the CapabilityStatement and readiness. */
static bool open_to_all(const http_request *req) {
    return strcmp(req->path, "/readyz") == 0 ||
           ((strcmp(req->path, "/fhir/metadata") == 0 || strcmp(req->path, "/fhir/metadata/") == 0) &&
            (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0));
}

/* The Patient a search is about, from its patient/subject/_id parameters. */
static void note_search_patient(const http_request *req, const char *type) {
    for(size_t i = 0; i < req->nparams; i++) {
        const char *n = req->params[i].name, *v = req->params[i].value;
        if(!v || !*v || strchr(v, ',')) continue;
        if(strcmp(type, "Patient") == 0 && strcmp(n, "_id") == 0) {
            access_note(NULL, NULL, v);
            return;
        }
        if(strcmp(n, "patient") == 0 || strcmp(n, "subject") == 0 || strcmp(n, "subject:Patient") == 0) {
            const char *id = strncmp(v, "Patient/", 8) == 0 ? v + 8 : strchr(v, '/') ? NULL : v;
            if(id && *id) access_note(NULL, NULL, id);
            return;
        }
    }
}

/* What a signed-in request gets back is about people: no browser or proxy
 * keeps it, and a browser asks again rather than show an old copy. */
static void keep_out_of_caches(http_response *res) {
    for(size_t i = 0; i < res->nheaders; i++)
        if(strcasecmp(res->headers[i].name, "Cache-Control") == 0) return;
    http_response_header(res, "Cache-Control", "no-store");
}

static void handle_request(fhir_rest *api, const http_request *req, http_response *res);

/* Every request: answered, then the worker thread's database connection goes
 * back to the pool (store_conn_return) for whichever thread needs one next. */
void fhir_rest_handle(void *ctx, const http_request *req, http_response *res) {
    fhir_rest *api = ctx;
    handle_request(api, req, res);
    store_conn_return(api->st);
}

static void handle_request(fhir_rest *api, const http_request *req, http_response *res) {
    if(web_static_path(req->path)) {
        web_static_handle(api->web, req, res);
        return;
    }
    if(web_reports_path(req->path)) {
        web_reports_handle(api, req, res);
        return;
    }
    if(strncmp(req->path, "/auth/", 6) == 0) {
        web_signin_handle(api, req, res);
        return;
    }
    if(strcmp(req->path, "/fhir/.well-known/smart-configuration") == 0 ||
       strcmp(req->path, "/.well-known/smart-configuration") == 0) {
        web_smart_configuration(req, res);
        return;
    }
    if(strcmp(req->path, "/openreferral") == 0 || strncmp(req->path, "/openreferral/", 14) == 0) {
        care_openreferral_handle(api, req, res);
        return;
    }
    if(open_to_all(req) || strncmp(req->path, "/fhir", 5) != 0 || (req->path[5] && req->path[5] != '/')) {
        fhir_rest_dispatch(api, req, res, NULL);
        return;
    }
    access_request ar = {0};
    store_conn *c = store_conn_for_thread(api->st);
    char why[160] = "";
    /* a bearer token, or else the web session's cookie */
    char session[AUTH_TOKEN_MAX], bearer[AUTH_TOKEN_MAX + 8];
    bool by_cookie;
    const char *authorization = web_authorization(req, session, bearer, &by_cookie);
    /* no connection: none free in the pool within its wait, or the database is down: 503 */
    kith_rc rc = c ? auth_authenticate(api->auth, c, authorization, &ar.who, why, sizeof why) : KITH_EBUSY;
    if(!rc && by_cookie && !is_get(req->method) && strcmp(req->method, "HEAD") != 0 && !web_csrf_ok(req, session)) {
        res->route = "fhir.csrf";
        fhir_reply_error(res, 403, "security",
                         "a change made with a session cookie needs the session's X-CSRF-Token header");
        audit_event ev = {.action = 'E', .subtype = "csrf-refused", .outcome = 4, .who = &ar.who,
                          .address = req->client_address, .request_id = req->request_id,
                          .detail = "missing or wrong X-CSRF-Token"};
        audit_record(api->audit, &ev);
        return;
    }
    const char *address = req->client_address && *req->client_address ? req->client_address : NULL;
    if(rc == KITH_EINVAL || rc == KITH_ENOTFOUND) {
        res->route = "fhir.unauthenticated";
        fhir_reply_error(res, 401, "login", "%s", why);
        http_response_header(res, "WWW-Authenticate",
                             rc == KITH_EINVAL ? "Bearer realm=\"kith\"" : "Bearer realm=\"kith\", error=\"invalid_token\"");
        audit_event ev = {.action = 'E', .subtype = "login", .outcome = 4, .address = address,
                          .request_id = req->request_id, .detail = why};
        audit_record(api->audit, &ev);
        return;
    }
    if(rc) {
        fhir_reply_error(res, fhir_rest_status_for(rc), "transient", "cannot check the bearer token: %s",
                         kith_rc_name(rc));
        return;
    }
    /* people see the records of those they care for; systems see what their scopes allow */
    bool client = strcmp(ar.who.kind, "client") == 0;
    bool secondary = client && strcmp(ar.who.role, "secondary-use") == 0;
    /* people by care relationship; systems by consent or the opt-out, except those that
     * manage the records themselves (migration, backup, integration) */
    bool restricted = !(client && strcmp(ar.who.role, "records-management") == 0);
    char account[160];
    snprintf(account, sizeof account, "%s/%s", ar.who.kind, ar.who.name);
    store_viewer viewer = {.secondary_use = secondary,
                           .consent_only = client && !secondary,
                           .no_patient_data = strcmp(ar.who.role, "analyst") == 0,
                           .account = account,
                           .practitioner = ar.who.practitioner,
                           .org = ar.who.org,
                           .hidden_labels = access_hidden_labels(ar.who.role)};
    if(restricted) ar.viewer = &viewer;
    if(restricted && store_set_viewer(c, &viewer)) {
        fhir_reply_error(res, 503, "transient", "cannot apply the access policy");
        return;
    }
    access_set_current(&ar);
    fhir_rest_dispatch(api, req, res, NULL);
    keep_out_of_caches(res);
    if(ar.subtype && strcmp(ar.subtype, "search-type") == 0 && !ar.patient[0]) note_search_patient(req, ar.type);
    access_set_current(NULL);
    if(restricted) store_set_viewer(c, NULL);
    int outcome = ar.denied || res->status == 401 || res->status == 403 || res->status == 404 || res->status == 410
                      ? 4
                  : res->status >= 500 ? 8
                  : res->status >= 400 ? 4
                                       : 0;
    bool search = ar.subtype && strncmp(ar.subtype, "search", 6) == 0;
    audit_event ev = {
        .action = ar.action ? ar.action : 'E',
        .subtype = ar.subtype ? ar.subtype : "operation",
        .outcome = outcome,
        .who = &ar.who,
        .patient = ar.patient[0] ? ar.patient : NULL,
        .what = ar.what[0] ? ar.what : NULL,
        .type = search && ar.type[0] ? ar.type : NULL,
        .query = search ? req->query : NULL,
        .address = address,
        .request_id = req->request_id,
        .detail = ar.detail[0] ? ar.detail : NULL,
    };
    audit_record(api->audit, &ev);
}

void fhir_rest_dispatch(fhir_rest *api, const http_request *req, http_response *res, const rest_tx *tx) {
    const char *m = req->method;
    if(strcmp(req->path, "/readyz") == 0) {
        res->route = "readyz";
        store_conn *c = store_conn_for_thread(api->st);
        store_resource r;
        kith_rc rc = c ? store_read(c, "Patient", "readyz-probe", 0, &r) : KITH_ESTORE;
        if(c) store_resource_free(&r);
        bool ok = rc == KITH_OK || rc == KITH_ENOTFOUND || rc == KITH_EGONE;
        res->status = ok ? 200 : 503;
        res->content_type = "application/json";
        buf_puts(&res->body, ok ? "{\"status\":\"ready\"}" : "{\"status\":\"database unavailable\"}");
        return;
    }
    if(strcmp(req->path, "/fhir") != 0 && strncmp(req->path, "/fhir/", 6) != 0) {
        res->route = "not_found";
        fhir_reply_error(res, 404, "not-found", "no such page: %s", req->path);
        return;
    }
    /* Split the path after /fhir into segments. */
    char *path = xstrdup(req->path + 5);
    char *seg[MAX_SEGMENTS];
    int nseg = 0;
    bool too_deep = false;
    char *save = NULL;
    for(char *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if(nseg == MAX_SEGMENTS) {
            too_deep = true;
            break;
        }
        seg[nseg++] = s;
    }
    store_conn *c = NULL;
    res->route = "fhir.other";
    if(too_deep) {
        fhir_reply_error(res, 404, "not-found", "no such FHIR endpoint: %s", req->path);
        goto done;
    }
    if(!check_accept(req, res)) goto done;
    c = store_conn_for_thread(api->st);
    if(!c) {
        fhir_reply_error(res, 503, "transient", "the database cannot be opened");
        goto done;
    }
    if(nseg == 1 && strcmp(seg[0], "websocket") == 0 && !tx) {
        res->route = "fhir.websocket";
        if(access_permit(res, "Subscription", 'r', "websocket")) {
            char why[160];
            int st = http_ws_accept(req, res, why, sizeof why);
            if(st != 101)
                fhir_reply_error(res, st, st == 503 ? "transient" : st == 403 ? "forbidden" : "not-supported", "%s",
                                 why);
        }
        goto done;
    }
    if(nseg == 0) {
        res->route = "fhir.bundle";
        if(access_current() && !access_current()->subtype) { /* each entry is checked as it runs */
            access_current()->subtype = "batch";
            access_current()->action = 'E';
        }
        if(strcmp(m, "POST") == 0 && !tx)
            fhir_bundle_handle(api, c, req, res);
        else if(tx)
            fhir_reply_error(res, 400, "not-supported", "a Bundle entry cannot post another Bundle to the base");
        else
            fhir_method_not_allowed(res, "POST", "the FHIR base");
        goto done;
    }
    if(nseg == 3 && strcmp(seg[0], "Patient") == 0 && strcmp(seg[2], "$break-glass") == 0) {
        do_break_glass(api, c, req, res, seg[1]);
        goto done;
    }
    if(seg[0][0] == '$' || (nseg > 1 && seg[nseg - 1][0] == '$')) {
        const char *op = seg[nseg - 1];
        const char *on = nseg > 1 && fhir_type_is_resource(seg[0]) ? seg[0] : "*";
        bool export = strcmp(op, "$export") == 0;
        if(nseg == 3) access_note(seg[0], seg[1], strcmp(seg[0], "Patient") == 0 ? seg[1] : NULL);
        /* an export takes every type in the compartments it covers: it needs the whole server */
        if(access_permit(res, export ? "*" : on, export ? 's' : 'r', export ? "export" : "operation"))
            fhir_operation_handle(api, c, req, res, seg, nseg, tx);
        goto done;
    }
    if(nseg == 1 && strcmp(seg[0], "metadata") == 0) {
        res->route = "fhir.metadata";
        if(!is_get(m)) {
            fhir_method_not_allowed(res, "GET", "metadata");
            goto done;
        }
        res->status = 200;
        res->content_type = FHIR_JSON;
        buf base = BUF_INIT;
        buf_printf(&base, "%s/fhir", req->base_url);
        fhir_capability_write(&res->body, buf_str(&base), api->version);
        buf_free(&base);
        goto done;
    }
    if(nseg == 1 && strcmp(seg[0], "_history") == 0) {
        if(!access_permit(res, "*", 's', "history-system")) goto done;
        if(!is_get(m))
            fhir_method_not_allowed(res, "GET", "history");
        else
            do_history(c, req, res, NULL, NULL);
        goto done;
    }
    const char *type = seg[0];
    if(!fhir_type_is_resource(type)) {
        res->route = "fhir.unknown-type";
        fhir_reply_error(res, 404, "not-supported", "'%s' is not a FHIR R4 resource type", type);
        goto done;
    }
    if(strcmp(type, "AuditEvent") == 0) { /* the audit log, not the resource store */
        res->route = "fhir.audit";
        if(!is_get(m) && !(nseg == 2 && strcmp(seg[1], "_search") == 0 && strcmp(m, "POST") == 0)) {
            fhir_method_not_allowed(res, "GET", "AuditEvent (the audit log is append-only and written by Kith)");
        } else if(nseg == 1 || (nseg == 2 && strcmp(seg[1], "_search") == 0)) {
            search_params sp; /* POST _search: the form's parameters too */
            gather_form(req, &sp);
            http_request merged = *req;
            merged.params = sp.v;
            merged.nparams = sp.n;
            /* staff may see who has looked at the record of someone in their care */
            const char *about = fhir_auditevent_patient(&merged);
            store_resource pr = {0};
            bool visible = about && store_read(c, "Patient", about, 0, &pr) == KITH_OK;
            store_resource_free(&pr);
            if(access_permit_audit_of(res, about, visible)) fhir_auditevent_search(c, &merged, res);
            http_params_free(sp.v, sp.n);
        } else if(nseg == 2) {
            if(access_permit(res, type, 'r', "read")) fhir_auditevent_read(c, req, res, seg[1]);
        } else {
            fhir_reply_error(res, 404, "not-found", "the audit log keeps no history: %s", req->path);
        }
        goto done;
    }
    if(nseg == 1) {
        if(is_get(m)) {
            if(access_permit(res, type, 's', "search-type")) do_search(c, req, res, type);
        } else if(strcmp(m, "POST") == 0) {
            if(access_permit(res, type, 'c', "create")) do_create(api, c, req, res, type, tx);
        } else if(strcmp(m, "PUT") == 0 && req->query[0]) {
            if(access_permit(res, type, 'u', "update")) do_update(api, c, req, res, type, NULL, tx);
        } else if(strcmp(m, "DELETE") == 0 && req->query[0]) {
            if(access_permit(res, type, 'd', "delete")) do_delete(api, c, req, res, type, NULL, tx);
        } else
            fhir_method_not_allowed(res, "GET, POST, PUT, DELETE", type);
        goto done;
    }
    if(nseg == 2 && strcmp(seg[1], "_search") == 0) {
        if(strcmp(m, "POST") == 0 || is_get(m)) {
            if(access_permit(res, type, 's', "search-type")) do_search(c, req, res, type);
        } else
            fhir_method_not_allowed(res, "POST", "_search");
        goto done;
    }
    if(nseg == 2 && strcmp(seg[1], "_history") == 0) {
        if(is_get(m)) {
            if(access_permit(res, type, 's', "history-type")) do_history(c, req, res, type, NULL);
        } else
            fhir_method_not_allowed(res, "GET", "history");
        goto done;
    }
    const char *id = seg[1];
    if(!record_id_valid(id)) {
        fhir_reply_error(res, 400, "invalid", "'%s' is not a valid FHIR id (letters, digits, '-' and '.', at most 64)", id);
        goto done;
    }
    if(nseg == 2) {
        access_note(type, id, strcmp(type, "Patient") == 0 ? id : NULL);
        if(is_get(m)) {
            if(access_permit(res, type, 'r', "read")) do_read(c, req, res, type, id, 0);
        } else if(strcmp(m, "PUT") == 0) {
            if(access_permit(res, type, 'u', "update")) do_update(api, c, req, res, type, id, tx);
        } else if(strcmp(m, "DELETE") == 0) {
            if(access_permit(res, type, 'd', "delete")) do_delete(api, c, req, res, type, id, tx);
        } else if(strcmp(m, "PATCH") == 0) {
            if(access_permit(res, type, 'u', "patch")) do_patch(api, c, req, res, type, id, tx);
        } else
            fhir_method_not_allowed(res, "GET, PUT, PATCH, DELETE", "a resource");
        goto done;
    }
    if(strcmp(seg[2], "_history") != 0 || nseg > 4) {
        fhir_reply_error(res, 404, "not-found", "no such FHIR endpoint: %s", req->path);
        goto done;
    }
    if(!is_get(m)) {
        fhir_method_not_allowed(res, "GET", "history");
        goto done;
    }
    access_note(type, id, strcmp(type, "Patient") == 0 ? id : NULL);
    if(nseg == 3) {
        if(access_permit(res, type, 'r', "history-instance")) do_history(c, req, res, type, id);
        goto done;
    }
    char *end = NULL;
    long long v = strtoll(seg[3], &end, 10);
    if(end == seg[3] || *end || v < 1) {
        res->route = "fhir.vread";
        fhir_reply_error(res, 404, "not-found", "'%s' is not a version of %s/%s", seg[3], type, id);
        goto done;
    }
    if(access_permit(res, type, 'r', "vread")) do_read(c, req, res, type, id, v);
done:
    free(path);
}
