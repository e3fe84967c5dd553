/*
 * bundle.c — batch and transaction Bundles.
 *
 * Each entry becomes an internal request that goes through the same REST
 * dispatch as a request from outside (fhir_rest_dispatch), so entries obey
 * exactly the rules of single interactions.
 *
 * A transaction is all or nothing: one store transaction spans every entry;
 * the first entry that fails rolls everything back and its OperationOutcome
 * (with its status) is the answer. Before anything is written, ids are
 * assigned to POST entries, conditional creates and conditional references
 * ("Patient?identifier=...") are resolved, and every string in the Bundle
 * equal to an entry's fullUrl (urn:uuid:...) is rewritten to "Type/id".
 * Entries run in the order the spec sets: DELETE, POST, PUT/PATCH, GET/HEAD;
 * the response lists them in the order they were sent.
 *
 * A batch runs each entry on its own (each commits or fails alone) and
 * reports each entry's status. Runs on the calling worker thread.
 */
#include "fhir/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/id.h"
#include "base/mem.h"
#include "fhir/outcome.h"
#include "fhir/record.h"
#include "json/json.h"

typedef struct entry {
    size_t index;       /* position in the Bundle */
    json_value *json;   /* the entry (borrowed from the Bundle) */
    json_value *resource; /* borrowed; may be NULL */
    const char *method;
    char *path;         /* "/fhir/Type/id" */
    char *query;        /* after '?', "" when none */
    char *type;         /* resource type named by the url */
    char new_id[ID_UUID_LEN]; /* POST in a transaction: the id assigned in advance */
    http_response res;
    bool done;
} entry;

typedef struct urn_map {
    char **from, **to;
    size_t n, cap;
} urn_map;

static void map_add(urn_map *m, const char *from, const char *to) {
    if(m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->from = xrealloc(m->from, m->cap * sizeof *m->from);
        m->to = xrealloc(m->to, m->cap * sizeof *m->to);
    }
    m->from[m->n] = xstrdup(from);
    m->to[m->n] = xstrdup(to);
    m->n++;
}

static const char *map_find(const urn_map *m, const char *from) {
    for(size_t i = 0; i < m->n; i++)
        if(strcmp(m->from[i], from) == 0) return m->to[i];
    return NULL;
}

static void map_free(urn_map *m) {
    for(size_t i = 0; i < m->n; i++) {
        free(m->from[i]);
        free(m->to[i]);
    }
    free(m->from);
    free(m->to);
}

static int method_rank(const char *m) {
    if(strcmp(m, "DELETE") == 0) return 0;
    if(strcmp(m, "POST") == 0) return 1;
    if(strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) return 2;
    return 3; /* GET, HEAD */
}

/* Parse entry i's request into e; on a problem writes a message and returns false. */
static bool plan_entry(entry *e, size_t i, json_value *ej, char *msg, size_t msglen) {
    memset(e, 0, sizeof *e);
    e->index = i;
    e->json = ej;
    e->resource = json_get(ej, "resource");
    json_value *request = json_get(ej, "request");
    e->method = json_string(json_get(request, "method"));
    const char *url = json_string(json_get(request, "url"));
    if(!e->method || !url) {
        snprintf(msg, msglen, "entry %zu has no request.method and request.url", i);
        return false;
    }
    if(!(strcmp(e->method, "GET") == 0 || strcmp(e->method, "HEAD") == 0 || strcmp(e->method, "POST") == 0 ||
         strcmp(e->method, "PUT") == 0 || strcmp(e->method, "DELETE") == 0 || strcmp(e->method, "PATCH") == 0)) {
        snprintf(msg, msglen, "entry %zu has an unknown request.method '%s'", i, e->method);
        return false;
    }
    /* Accept "Type/id", "/Type/id" or an absolute URL to this server's /fhir/. */
    const char *rel = url;
    const char *fhir = strstr(url, "/fhir/");
    if(strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        if(!fhir) {
            snprintf(msg, msglen, "entry %zu: request.url %s is not on this server", i, url);
            return false;
        }
        rel = fhir + 6;
    }
    while(*rel == '/') rel++;
    const char *q = strchr(rel, '?');
    size_t plen = q ? (size_t)(q - rel) : strlen(rel);
    buf p = BUF_INIT;
    buf_puts(&p, "/fhir/");
    buf_append(&p, rel, plen);
    e->path = buf_take(&p, NULL);
    e->query = xstrdup(q ? q + 1 : "");
    size_t tlen = strcspn(rel, "/?");
    e->type = xstrndup(rel, tlen);
    if((strcmp(e->method, "POST") == 0 || strcmp(e->method, "PUT") == 0) && !e->resource) {
        snprintf(msg, msglen, "entry %zu: a %s needs a resource", i, e->method);
        return false;
    }
    return true;
}

static void entry_free(entry *e) {
    free(e->path);
    free(e->query);
    free(e->type);
    http_response_free(&e->res);
}

/* Rewrite every string in v equal to a mapped fullUrl. */
static void rewrite_refs(json_value *v, const urn_map *m) {
    json_kind k = json_kind_of(v);
    if(k == JSON_OBJECT) {
        json_iter it = json_iter_start(v);
        const char *key;
        json_value *child;
        /* Collect replacements first: json_set during iteration is unsafe. */
        const char *keys[64];
        const char *vals[64];
        size_t n = 0;
        while(json_iter_next(&it, &key, &child)) {
            const char *s = json_string(child);
            const char *to = s ? map_find(m, s) : NULL;
            if(to && n < 64) {
                keys[n] = key;
                vals[n++] = to;
            } else if(!s) {
                rewrite_refs(child, m);
            }
        }
        for(size_t i = 0; i < n; i++) json_set(v, keys[i], json_new_string(vals[i]));
    } else if(k == JSON_ARRAY) {
        for(size_t i = 0; i < json_array_len(v); i++) rewrite_refs(json_array_at(v, i), m);
    }
}

/* Resolve "Type?query" references in v; false (with msg) if one does not match exactly one. */
static bool resolve_conditional_refs(store_conn *c, json_value *v, char *msg, size_t msglen) {
    json_kind k = json_kind_of(v);
    if(k == JSON_ARRAY) {
        for(size_t i = 0; i < json_array_len(v); i++)
            if(!resolve_conditional_refs(c, json_array_at(v, i), msg, msglen)) return false;
        return true;
    }
    if(k != JSON_OBJECT) return true;
    const char *ref = json_string(json_get(v, "reference"));
    const char *q = ref ? strchr(ref, '?') : NULL;
    if(ref && q && strncmp(ref, "urn:", 4) != 0 && !strchr(ref, '/')) {
        char type[72];
        snprintf(type, sizeof type, "%.*s", (int)(q - ref < 71 ? q - ref : 71), ref);
        char **ids = NULL;
        size_t n = 0;
        fhir_issues is = FHIR_ISSUES_INIT;
        kith_rc rc = record_match(c, type, q + 1, 2, &ids, &n, &is);
        fhir_issues_free(&is);
        if(rc || n != 1) {
            snprintf(msg, msglen, "conditional reference %s matches %s", ref,
                     rc ? "nothing this server can search for" : n == 0 ? "no resource" : "more than one resource");
            for(size_t i = 0; i < n; i++) free(ids[i]);
            free(ids);
            return false;
        }
        char to[160];
        snprintf(to, sizeof to, "%s/%s", type, ids[0]);
        free(ids[0]);
        free(ids);
        json_set(v, "reference", json_new_string(to));
    }
    json_iter it = json_iter_start(v);
    const char *key;
    json_value *child;
    while(json_iter_next(&it, &key, &child))
        if(!resolve_conditional_refs(c, child, msg, msglen)) return false;
    return true;
}

/* Run one entry through the REST dispatch. */
static void run_entry(fhir_rest *api, const http_request *outer, entry *e, const rest_tx *tx) {
    http_header hdr[6];
    size_t nh = 0;
    json_value *request = json_get(e->json, "request");
    static const struct {
        const char *field, *header;
    } H[] = {{"ifMatch", "If-Match"}, {"ifNoneExist", "If-None-Exist"}, {"ifNoneMatch", "If-None-Match"},
             {"ifModifiedSince", "If-Modified-Since"}};
    for(size_t i = 0; i < sizeof H / sizeof H[0]; i++) {
        const char *v = json_string(json_get(request, H[i].field));
        if(v) hdr[nh++] = (http_header){(char *)H[i].header, (char *)v};
    }
    hdr[nh++] = (http_header){(char *)"Content-Type", (char *)"application/fhir+json"};
    char *body = e->resource ? json_to_text(e->resource, NULL) : NULL;
    http_request r = {
        .method = e->method,
        .path = e->path,
        .query = e->query,
        .body = body ? body : "",
        .body_len = body ? strlen(body) : 0,
        .request_id = outer->request_id,
        .base_url = outer->base_url,
        .headers = hdr,
        .nheaders = nh,
    };
    http_parse_query(e->query, &r.params, &r.nparams);
    e->res.body = (buf)BUF_INIT;
    fhir_rest_dispatch(api, &r, &e->res, tx);
    e->done = true;
    http_params_free(r.params, r.nparams);
    free(body);
}

static const char *reason_phrase(int status) {
    switch(status) {
    case 200: return "200 OK";
    case 201: return "201 Created";
    case 204: return "204 No Content";
    case 400: return "400 Bad Request";
    case 404: return "404 Not Found";
    case 405: return "405 Method Not Allowed";
    case 409: return "409 Conflict";
    case 410: return "410 Gone";
    case 412: return "412 Precondition Failed";
    case 415: return "415 Unsupported Media Type";
    case 422: return "422 Unprocessable Entity";
    case 501: return "501 Not Implemented";
    default: return NULL;
    }
}

static const char *res_header(const http_response *r, const char *name) {
    for(size_t i = 0; i < r->nheaders; i++)
        if(strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

static void write_response_entry(buf *out, const entry *e, const char *base) {
    const http_response *r = &e->res;
    buf_puts(out, "{");
    bool is_resource = r->body.len && r->status < 400;
    if(is_resource && r->body.len > 28 && strncmp(r->body.data, "{\"resourceType\":\"OperationOutcome\"", 34) == 0)
        is_resource = false;
    const char *loc = res_header(r, "Location");
    if(loc) {
        /* fullUrl: the location without its _history part */
        const char *h = strstr(loc, "/_history/");
        buf_puts(out, "\"fullUrl\":\"");
        buf_append(out, loc, h ? (size_t)(h - loc) : strlen(loc));
        buf_puts(out, "\",");
    }
    (void)base;
    if(is_resource) {
        buf_puts(out, "\"resource\":");
        buf_append(out, r->body.data, r->body.len);
        buf_putc(out, ',');
    }
    const char *phrase = reason_phrase(r->status);
    if(phrase)
        buf_printf(out, "\"response\":{\"status\":\"%s\"", phrase);
    else
        buf_printf(out, "\"response\":{\"status\":\"%d\"", r->status);
    if(loc) {
        const char *rel = strstr(loc, "/fhir/");
        buf_puts(out, ",\"location\":\"");
        buf_json_escape(out, rel ? rel + 6 : loc);
        buf_putc(out, '"');
    }
    const char *etag = res_header(r, "ETag");
    if(etag) {
        buf_puts(out, ",\"etag\":\"");
        buf_json_escape(out, etag);
        buf_putc(out, '"');
    }
    const char *lm = res_header(r, "Last-Modified");
    if(lm) {
        buf_puts(out, ",\"lastModified\":\"");
        buf_json_escape(out, lm);
        buf_putc(out, '"');
    }
    if(r->body.len && !is_resource) {
        buf_puts(out, ",\"outcome\":");
        buf_append(out, r->body.data, r->body.len);
    }
    buf_puts(out, "}}");
}

void fhir_bundle_handle(fhir_rest *api, store_conn *c, const http_request *req, http_response *res) {
    json_value *bundle = NULL;
    entry *entries = NULL;
    size_t n = 0;
    urn_map map = {0};
    char msg[512];
    const char *ct = http_header_get(req, "Content-Type");
    size_t ctn = ct ? strcspn(ct, ";") : 0;
    if(!ct || !((ctn == 21 && strncasecmp(ct, "application/fhir+json", 21) == 0) ||
                (ctn == 16 && strncasecmp(ct, "application/json", 16) == 0))) {
        fhir_reply_error(res, 415, "not-supported", "%s", "send the Bundle as application/fhir+json");
        return;
    }
    if(json_parse(req->body, req->body_len, &bundle, msg, sizeof msg)) {
        char m2[600];
        snprintf(m2, sizeof m2, "the body is not valid JSON: %s", msg);
        fhir_reply_error(res, 400, "structure", "%s", m2);
        return;
    }
    const char *rt = json_string(json_get(bundle, "resourceType"));
    const char *btype = json_string(json_get(bundle, "type"));
    bool tx = btype && strcmp(btype, "transaction") == 0;
    if(!rt || strcmp(rt, "Bundle") != 0 || !btype || (!tx && strcmp(btype, "batch") != 0)) {
        fhir_reply_error(res, 400, "invalid", "%s", "POST to the FHIR base takes a Bundle of type batch or transaction");
        goto done;
    }
    res->route = tx ? "fhir.transaction" : "fhir.batch";
    json_value *ej = json_get(bundle, "entry");
    if(json_has(bundle, "entry") && json_kind_of(ej) != JSON_ARRAY) {
        fhir_reply_error(res, 400, "structure", "%s", "Bundle.entry must be an array");
        goto done;
    }
    n = json_array_len(ej);
    if(n > BUNDLE_MAX_ENTRIES) {
        snprintf(msg, sizeof msg, "the Bundle has %zu entries; at most %d are accepted", n, BUNDLE_MAX_ENTRIES);
        fhir_reply_error(res, 413, "too-costly", "%s", msg);
        n = 0;
        goto done;
    }
    entries = xcalloc(n ? n : 1, sizeof *entries);
    for(size_t i = 0; i < n; i++) {
        if(!plan_entry(&entries[i], i, json_array_at(ej, i), msg, sizeof msg)) {
            n = i + 1;
            fhir_reply_error(res, 400, "invalid", "%s", msg);
            goto done;
        }
    }

    if(tx) {
        if(store_begin(c)) {
            fhir_reply_error(res, 503, "transient", "the database is busy; try again");
            goto done;
        }
        /* Pass 1: ids for POSTs (or the match of a conditional create), names for PUTs. */
        for(size_t i = 0; i < n; i++) {
            entry *e = &entries[i];
            const char *full = json_string(json_get(e->json, "fullUrl"));
            if(strcmp(e->method, "POST") == 0) {
                const char *ine = json_string(json_get(json_get(e->json, "request"), "ifNoneExist"));
                char target[160] = "";
                if(ine && *ine) {
                    char **ids = NULL;
                    size_t nm = 0;
                    fhir_issues is = FHIR_ISSUES_INIT;
                    kith_rc rc = record_match(c, e->type, ine, 2, &ids, &nm, &is);
                    if(rc || nm > 1) {
                        if(!is.n)
                            fhir_issues_add(&is, "error", "multiple-matches", NULL,
                                            "entry %zu: ifNoneExist '%s' matches more than one %s", i, ine, e->type);
                        for(size_t k = 0; k < nm; k++) free(ids[k]);
                        free(ids);
                        store_rollback(c);
                        fhir_reply_outcome(res, rc ? 400 : 412, &is);
                        fhir_issues_free(&is);
                        goto done;
                    }
                    fhir_issues_free(&is);
                    if(nm == 1) snprintf(target, sizeof target, "%s/%s", e->type, ids[0]);
                    for(size_t k = 0; k < nm; k++) free(ids[k]);
                    free(ids);
                }
                if(!target[0]) {
                    id_new_uuid(e->new_id);
                    snprintf(target, sizeof target, "%s/%s", e->type, e->new_id);
                }
                if(full) map_add(&map, full, target);
            } else if(strcmp(e->method, "PUT") == 0 && full && strncmp(full, "urn:", 4) == 0 && !e->query[0]) {
                map_add(&map, full, e->path + 6);
            }
        }
        /* Pass 2: rewrite references, resolve conditional references. */
        for(size_t i = 0; i < n; i++) {
            if(!entries[i].resource) continue;
            if(map.n) rewrite_refs(entries[i].resource, &map);
            if(!resolve_conditional_refs(c, entries[i].resource, msg, sizeof msg)) {
                store_rollback(c);
                char m2[600];
                snprintf(m2, sizeof m2, "entry %zu: %s", i, msg);
                fhir_reply_error(res, 412, "processing", "%s", m2);
                goto done;
            }
        }
        /* Pass 3: run the entries in the spec's order; the first failure undoes all. */
        for(int rank = 0; rank < 4; rank++) {
            for(size_t i = 0; i < n; i++) {
                entry *e = &entries[i];
                if(method_rank(e->method) != rank) continue;
                rest_tx t = {.new_id = e->new_id[0] ? e->new_id : NULL};
                run_entry(api, req, e, &t);
                if(e->res.status >= 400) {
                    store_rollback(c);
                    res->status = e->res.status;
                    res->content_type = "application/fhir+json; charset=utf-8";
                    buf_reset(&res->body);
                    buf_append(&res->body, e->res.body.data, e->res.body.len);
                    char idx[32];
                    snprintf(idx, sizeof idx, "%zu", i);
                    http_response_header(res, "X-Failed-Entry", idx);
                    goto done;
                }
            }
        }
        if(store_commit(c)) {
            fhir_reply_error(res, 503, "transient", "the transaction could not be committed; nothing was stored");
            goto done;
        }
    } else {
        for(size_t i = 0; i < n; i++) run_entry(api, req, &entries[i], NULL);
    }

    buf_reset(&res->body);
    buf_printf(&res->body, "{\"resourceType\":\"Bundle\",\"type\":\"%s\",\"entry\":[",
               tx ? "transaction-response" : "batch-response");
    for(size_t i = 0; i < n; i++) {
        if(i) buf_putc(&res->body, ',');
        write_response_entry(&res->body, &entries[i], req->base_url);
    }
    buf_puts(&res->body, "]}");
    res->status = 200;
    res->content_type = "application/fhir+json; charset=utf-8";
done:
    for(size_t i = 0; i < n && entries; i++) entry_free(&entries[i]);
    free(entries);
    map_free(&map);
    json_free(bundle);
}
