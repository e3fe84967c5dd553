/*
 * view_http.c — POST /fhir/ViewDefinition/$run: run a SQL on FHIR view
 * over what the caller may read and answer with the table (see
 * view_http.h for the parameters).
 *
 * ViewDefinition is not an R4 resource type, so the body is read here as
 * plain JSON — never validated as an R4 Parameters — and the view inside it
 * goes to view_compile alone. Kith cannot store ViewDefinitions either: a
 * viewReference names a Binary (contentType application/json) holding one.
 *
 * Policy: the REST layer has set the caller's viewer on the connection
 * before this runs (fhir_rest_handle), exactly as for a search, so
 * view_run_store sees only the resources the caller may read; the caller
 * also needs search access to the view's resource type. Inline `resource`
 * parameters are the caller's own data and are run as given.
 *
 * The table is written into memory up to SPILL_AT, then into an unlinked-
 * after-open temporary file that the HTTP layer streams; at most
 * MAX_OUTPUT bytes. Runs on the calling worker thread.
 */
#include "view/view_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/mem.h"
#include "fhir/access.h"
#include "fhir/bulk.h"
#include "fhir/record.h"
#include "fhir/rest.h"
#include "json/json.h"
#include "view/view.h"

#define SPILL_AT (8u << 20)                 /* bytes kept in memory before spilling to a file */
#define MAX_OUTPUT ((size_t)2 << 30)        /* bytes of one answer */
#define MAX_VIEW_BINARY (16u << 20)         /* a ViewDefinition held in a Binary */

/* ---- the answer -------------------------------------------------------------- */

typedef struct spill {
    buf mem;
    FILE *f;
    char path[512];
    size_t total;
} spill;

static kith_rc spill_write(void *ctx, const char *data, size_t len) {
    spill *s = ctx;
    if(s->total + len > MAX_OUTPUT) return KITH_ETOOBIG;
    s->total += len;
    if(!s->f && s->mem.len + len <= SPILL_AT) return buf_append(&s->mem, data, len);
    if(!s->f) {
        const char *dir = getenv("TMPDIR");
        snprintf(s->path, sizeof s->path, "%s/kith-view-XXXXXX", dir && *dir ? dir : "/tmp");
        int fd = mkstemp(s->path);
        s->f = fd >= 0 ? fdopen(fd, "w+b") : NULL;
        if(!s->f) {
            if(fd >= 0) close(fd);
            s->path[0] = 0;
            return KITH_EIO;
        }
        if(s->mem.len && fwrite(s->mem.data, 1, s->mem.len, s->f) != s->mem.len) return KITH_EIO;
        buf_free(&s->mem);
    }
    return fwrite(data, 1, len, s->f) == len ? KITH_OK : KITH_EIO;
}

/* Hand the table to the response (status 200). */
static kith_rc spill_reply(spill *s, http_response *res, const char *content_type) {
    if(!s->f) {
        res->status = 200;
        res->content_type = content_type;
        buf_free(&res->body);
        res->body = s->mem;
        s->mem = (buf)BUF_INIT;
        return KITH_OK;
    }
    if(fflush(s->f) != 0) return KITH_EIO;
    return http_response_file(res, s->path, content_type);
}

static void spill_free(spill *s) {
    buf_free(&s->mem);
    if(s->f) fclose(s->f);
    if(s->path[0]) unlink(s->path);
}

/* ---- parameters ------------------------------------------------------------------ */

typedef struct run_params {
    const json_value *view_resource;
    const char *view_reference;
    const char *format;
    bool header;
    int64_t limit;
    const char *since_text;
    char since[CLOCK_INSTANT_LEN];
    const char *patient;
    const json_value **resources; /* inline, borrowed from the body */
    size_t nresources;
} run_params;

/* The first value[x] of a parameter whose type is one of keys. */
static const json_value *value_of(const json_value *p, const char *const *keys) {
    for(size_t i = 0; keys[i]; i++)
        if(json_has(p, keys[i])) return json_get(p, keys[i]);
    return NULL;
}

static const char *const STRINGISH[] = {"valueCode", "valueString", "valueUri", "valueId", NULL};

/* Read the Parameters; false with a 400 already written. */
static bool read_params(const json_value *body, run_params *rp, http_response *res) {
    static const char *const TIMES[] = {"valueInstant", "valueDateTime", "valueDate", "valueString", NULL};
    static const char *const INTS[] = {"valueInteger", "valuePositiveInt", "valueUnsignedInt", NULL};
    const json_value *ps = json_get(body, "parameter");
    const char *rt = json_string(json_get(body, "resourceType"));
    if(!rt || strcmp(rt, "Parameters") != 0 || (json_has(body, "parameter") && json_kind_of(ps) != JSON_ARRAY)) {
        fhir_reply_error(res, 400, "structure", "$run takes a Parameters resource (JSON) holding the view");
        return false;
    }
    size_t n = json_array_len(ps);
    rp->header = true;
    rp->resources = xcalloc(n + 1, sizeof *rp->resources);
    for(size_t i = 0; i < n; i++) {
        const json_value *p = json_array_at(ps, i);
        const char *name = json_string(json_get(p, "name"));
        const json_value *v = NULL;
        if(!name) {
            fhir_reply_error(res, 400, "required", "Parameters.parameter[%zu] has no name", i);
            return false;
        }
        if(strcmp(name, "viewResource") == 0) {
            rp->view_resource = json_get(p, "resource");
        } else if(strcmp(name, "viewReference") == 0) {
            v = json_get(p, "valueReference");
            rp->view_reference = v ? json_string(json_get(v, "reference")) : json_string(value_of(p, STRINGISH));
        } else if(strcmp(name, "_format") == 0) {
            rp->format = json_string(value_of(p, STRINGISH));
        } else if(strcmp(name, "header") == 0) {
            v = json_get(p, "valueBoolean");
            if(json_kind_of(v) != JSON_BOOL) {
                fhir_reply_error(res, 400, "value", "header takes valueBoolean");
                return false;
            }
            rp->header = json_boolean(v);
        } else if(strcmp(name, "_limit") == 0) {
            if(!json_int64(value_of(p, INTS), &rp->limit) || rp->limit < 1) {
                fhir_reply_error(res, 400, "value", "_limit takes a whole number of rows from 1 (valueInteger)");
                return false;
            }
        } else if(strcmp(name, "_since") == 0) {
            rp->since_text = json_string(value_of(p, TIMES));
            if(!rp->since_text || !bulk_since_parse(rp->since_text, rp->since)) {
                fhir_reply_error(res, 400, "value", "_since takes an instant such as 2026-01-31T09:00:00Z");
                return false;
            }
        } else if(strcmp(name, "patient") == 0) {
            v = json_get(p, "valueReference");
            const char *ref = v ? json_string(json_get(v, "reference")) : json_string(value_of(p, STRINGISH));
            rp->patient = ref && strncmp(ref, "Patient/", 8) == 0 ? ref + 8 : ref;
            if(!rp->patient || !record_id_valid(rp->patient)) {
                fhir_reply_error(res, 400, "value", "patient takes a reference to a Patient (Patient/{id})");
                return false;
            }
        } else if(strcmp(name, "resource") == 0) {
            const json_value *r = json_get(p, "resource");
            if(json_kind_of(r) != JSON_OBJECT) {
                fhir_reply_error(res, 400, "value", "parameter resource[%zu] holds no resource", rp->nresources);
                return false;
            }
            rp->resources[rp->nresources++] = r;
        } else {
            fhir_reply_error(res, 400, "not-supported",
                             "$run has no parameter '%s' (it takes viewResource, viewReference, _format, header, "
                             "_limit, _since, patient and resource)",
                             name);
            return false;
        }
    }
    if(!rp->view_resource == !rp->view_reference) {
        fhir_reply_error(res, 400, "required", "$run needs exactly one of viewResource (the ViewDefinition inline) "
                                               "and viewReference");
        return false;
    }
    return true;
}

/* ---- a view held in a Binary ------------------------------------------------------ */

static int b64_value(char c) {
    if(c >= 'A' && c <= 'Z') return c - 'A';
    if(c >= 'a' && c <= 'z') return c - 'a' + 26;
    if(c >= '0' && c <= '9') return c - '0' + 52;
    if(c == '+' || c == '-') return 62;
    if(c == '/' || c == '_') return 63;
    return -1;
}

/* Decode base64 text (whitespace and padding allowed) into out. */
static bool b64_decode(const char *s, buf *out) {
    unsigned acc = 0;
    int bits = 0;
    for(; *s; s++) {
        if(*s == '=' || *s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') continue;
        int v = b64_value(*s);
        if(v < 0) return false;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if(bits >= 8) {
            bits -= 8;
            if(buf_putc(out, (char)((acc >> bits) & 0xff))) return false;
        }
    }
    return true;
}

/* The ViewDefinition a viewReference names (caller frees), or NULL with
 * the error answered. */
static json_value *referenced_view(store_conn *c, const char *ref, http_response *res) {
    store_resource sr = {0};
    json_value *bin = NULL, *def = NULL;
    buf text = BUF_INIT;
    char err[256];
    const char *id = strncmp(ref, "Binary/", 7) == 0 ? ref + 7 : NULL;
    if(!id || !record_id_valid(id)) {
        fhir_reply_error(res, 400, "not-supported",
                         "viewReference '%s': Kith keeps no ViewDefinition resources (not an R4 type); store the view "
                         "as a Binary (contentType application/json) and reference Binary/{id}, or send it inline "
                         "as viewResource",
                         ref);
        return NULL;
    }
    kith_rc rc = access_permit(res, "Binary", 'r', "operation") ? store_read(c, "Binary", id, 0, &sr) : KITH_EFORBIDDEN;
    if(rc == KITH_EFORBIDDEN) goto done;
    if(rc) {
        fhir_reply_error(res, rc == KITH_ENOTFOUND || rc == KITH_EGONE ? 400 : fhir_rest_status_for(rc),
                         rc == KITH_ENOTFOUND || rc == KITH_EGONE ? "not-found" : "exception",
                         "viewReference %s: %s", ref, kith_rc_name(rc));
        goto done;
    }
    const char *ct = NULL, *data = NULL;
    if(!json_parse(sr.body, sr.body_len, &bin, NULL, 0)) {
        ct = json_string(json_get(bin, "contentType"));
        data = json_string(json_get(bin, "data"));
    }
    buf_init(&text, MAX_VIEW_BINARY);
    if(!ct || !strstr(ct, "json") || !data || !b64_decode(data, &text) ||
       json_parse(buf_str(&text), text.len, &def, err, sizeof err)) {
        fhir_reply_error(res, 400, "invalid", "viewReference %s: the Binary does not hold a ViewDefinition as JSON "
                                              "(contentType application/json, data in base64)", ref);
        def = NULL;
    }
done:
    buf_free(&text);
    json_free(bin);
    store_resource_free(&sr);
    return def;
}

/* ---- running ------------------------------------------------------------------------ */

static void reply_invalid_view(http_response *res, const char *msg) {
    fhir_issues is = FHIR_ISSUES_INIT;
    char where[200] = "ViewDefinition";
    const char *colon = strstr(msg, ": ");
    size_t n = colon ? (size_t)(colon - msg) : 0;
    if(n && n < sizeof where - 16 && !memchr(msg, ' ', n) && !memchr(msg, '\'', n))
        snprintf(where, sizeof where, "ViewDefinition.%.*s", (int)n, msg);
    fhir_issues_add(&is, "error", "invalid", where, "the ViewDefinition is invalid: %s", msg);
    fhir_reply_outcome(res, 400, &is);
    fhir_issues_free(&is);
}

typedef struct inline_rows {
    view_writer *w;
    int64_t limit;
} inline_rows;

static kith_rc inline_row(void *ctx, const view_cell *cells, size_t n) {
    inline_rows *ir = ctx;
    if(ir->limit && view_writer_rows(ir->w) >= ir->limit) return KITH_OK;
    return view_writer_row(ir->w, cells, n);
}

static view_format pick_format(const run_params *rp, const http_request *req, bool *ok) {
    view_format f = VIEW_FORMAT_NDJSON;
    *ok = true;
    if(rp->format) {
        *ok = view_format_parse(rp->format, &f);
        return f;
    }
    const char *acc = http_header_get(req, "Accept");
    if(acc && strcasestr(acc, "text/csv")) return VIEW_FORMAT_CSV;
    if(acc && strcasestr(acc, "ndjson")) return VIEW_FORMAT_NDJSON;
    if(acc && strcasestr(acc, "application/json")) return VIEW_FORMAT_JSON;
    return f;
}

void view_run_operation(store_conn *c, const http_request *req, http_response *res) {
    json_value *body = NULL, *referenced = NULL;
    run_params rp = {0};
    view *v = NULL;
    view_writer *w = NULL;
    spill out = {BUF_INIT, NULL, "", 0};
    char err[1024];
    kith_rc rc = KITH_OK;
    bool format_ok;
    res->route = "view.run";
    if(strcmp(req->method, "POST") != 0) {
        fhir_method_not_allowed(res, "POST", "$run");
        return;
    }
    if(!req->body_len || json_parse(req->body, req->body_len, &body, err, sizeof err)) {
        fhir_reply_error(res, 400, "structure", "$run takes a Parameters resource (JSON) holding the view%s%s",
                         req->body_len ? ": " : "", req->body_len ? err : "");
        return;
    }
    if(!read_params(body, &rp, res)) goto done;
    view_format f = pick_format(&rp, req, &format_ok);
    if(!format_ok) {
        fhir_reply_error(res, 400, "not-supported", "_format %s is not supported: use csv, ndjson or json", rp.format);
        goto done;
    }
    if(rp.view_reference && !(referenced = referenced_view(c, rp.view_reference, res))) goto done;
    if(view_compile(referenced ? referenced : rp.view_resource, &v, err, sizeof err)) {
        reply_invalid_view(res, err);
        goto done;
    }
    w = view_writer_new(v, f, rp.header, spill_write, &out);
    if(rp.nresources) {
        inline_rows ir = {w, rp.limit};
        for(size_t i = 0; i < rp.nresources && !rc; i++)
            rc = view_run_resource(v, rp.resources[i], inline_row, &ir, err, sizeof err);
    } else {
        if(!access_permit(res, view_resource_type(v), 's', "search-type")) goto done;
        view_store_query q = {.patient = rp.patient, .since = rp.since_text ? rp.since : NULL, .limit = rp.limit};
        view_store_stats st = {0};
        access_note(NULL, NULL, rp.patient);
        rc = view_run_store(c, v, &q, view_writer_row, w, &st, err, sizeof err);
        access_request *ar = access_current();
        if(ar && !rc) /* for the audit trail: what the view took */
            snprintf(ar->detail, sizeof ar->detail, "SQL on FHIR view %.64s over %s: %lld rows from %lld resources",
                     view_name(v) ? view_name(v) : "(unnamed)", view_resource_type(v), (long long)st.rows,
                     (long long)st.resources);
    }
    if(!rc) rc = view_writer_finish(w);
    if(!rc) rc = spill_reply(&out, res, view_format_media_type(f));
    if(rc == KITH_EINVALID)
        fhir_reply_error(res, 422, "processing", "the view failed: %s", err);
    else if(rc == KITH_ETOOBIG)
        fhir_reply_error(res, 413, "too-costly", "the table is too large for one answer%s%s; narrow the view, "
                                                 "use _limit, or run `kith view` on the server",
                         err[0] ? ": " : "", err);
    else if(rc)
        fhir_reply_error(res, fhir_rest_status_for(rc), rc == KITH_EBUSY ? "transient" : "exception",
                         "$run failed: %s", err[0] ? err : kith_rc_name(rc));
done:
    spill_free(&out);
    view_writer_free(w);
    view_free(v);
    json_free(referenced);
    free(rp.resources);
    json_free(body);
}
