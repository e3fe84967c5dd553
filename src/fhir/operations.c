/*
 * operations.c — the FHIR operations Kith implements (see operations.h):
 *
 *   GET|POST   /fhir/$export                         bulk export kick-off: everything
 *   GET|POST   /fhir/Patient/$export                 ... resources in any Patient compartment
 *   GET|POST   /fhir/Group/{id}/$export              ... in the compartments of the Group's Patients
 *   GET|DELETE /fhir/$export-status/{job}            202 + X-Progress, 200 + manifest; cancel/delete
 *   GET        /fhir/$export-file/{job}/{Type}.ndjson  one output file (application/fhir+ndjson)
 *   GET        /fhir/Patient/{id}/$everything        the Patient and its compartment, with its
 *                                                    linked records' (Patient.link), paged
 *
 * Bulk export follows FHIR Bulk Data Access v2: the kick-off needs
 * `Prefer: respond-async`, checks its parameters, hands the work to a job
 * (bulk.c: a worker thread with its own store connection) and answers 202
 * with the status URL in Content-Location. Everything else answers on the
 * calling thread. Errors are OperationOutcomes, statuses via
 * fhir_rest_status_for. Thread-safe.
 */
#include "fhir/operations.h"

#include "care/care.h"
#include "cohort/cohort.h"
#include "link/match.h"
#include "view/view_http.h"

#include "fhir/access.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"
#include "base/url.h"
#include "fhir/bulk.h"
#include "fhir/model.h"
#include "fhir/outcome.h"
#include "fhir/record.h"
#include "json/json.h"

#define FHIR_JSON "application/fhir+json; charset=utf-8"
#define NDJSON "application/fhir+ndjson"
#define DEFAULT_PAGE 50
#define MAX_PAGE 1000
#define MAX_PARAMS 1000 /* parameters of one kick-off */

/* ---- replies ------------------------------------------------------------ */

static void reply_rc(http_response *res, kith_rc rc, const char *what) {
    fhir_reply_error(res, fhir_rest_status_for(rc), rc == KITH_EBUSY ? "transient" : "exception", "%s: %s", what,
                kith_rc_name(rc));
}

static bool is_get(const char *m) {
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static bool prefers(const http_request *req, const char *what) {
    const char *p = http_header_get(req, "Prefer");
    return p && strcasestr(p, what);
}

/* ---- parameters --------------------------------------------------------- */

typedef struct params {
    http_param *v; /* owned */
    size_t n, cap;
} params;

static void params_add(params *p, const char *name, const char *value, size_t value_len) {
    if(p->n == p->cap) p->v = xrealloc(p->v, (p->cap = p->cap ? p->cap * 2 : 8) * sizeof *p->v);
    p->v[p->n].name = xstrdup(name);
    p->v[p->n].value = xstrndup(value, value_len);
    p->n++;
}

/* The value of a Parameters.parameter as text (a reference gives its
 * reference); NULL if it has none Kith reads. Borrowed. */
static const char *parameter_value(const json_value *p) {
    static const char *const KEYS[] = {"valueString", "valueCode", "valueInstant", "valueDateTime", "valueDate",
                                       "valueUri", "valueUrl", "valueCanonical", "valueId", NULL};
    for(int i = 0; KEYS[i]; i++) {
        const char *s = json_string(json_get(p, KEYS[i]));
        if(s) return s;
    }
    return json_string(json_get(json_get(p, "valueReference"), "reference"));
}

/* Gather kick-off parameters from the query and, for POST, a Parameters
 * body. On a bad body replies and returns false. */
static bool gather_params(const http_request *req, http_response *res, params *p) {
    for(size_t i = 0; i < req->nparams; i++)
        params_add(p, req->params[i].name, req->params[i].value, strlen(req->params[i].value));
    if(strcmp(req->method, "POST") != 0 || req->body_len == 0) return true;
    const char *ct = http_header_get(req, "Content-Type");
    size_t ctn = ct ? strcspn(ct, ";") : 0;
    if(!ct || !((ctn == 21 && strncasecmp(ct, "application/fhir+json", 21) == 0) ||
                (ctn == 16 && strncasecmp(ct, "application/json", 16) == 0))) {
        fhir_reply_error(res, 415, "not-supported", "POST $export takes a Parameters resource as application/fhir+json");
        return false;
    }
    json_value *body = NULL;
    char err[256];
    bool ok = false;
    if(json_parse(req->body, req->body_len, &body, err, sizeof err)) {
        fhir_reply_error(res, 400, "structure", "the body is not valid JSON: %s", err);
        return false;
    }
    const char *rt = json_string(json_get(body, "resourceType"));
    json_value *list = json_get(body, "parameter");
    if(!rt || strcmp(rt, "Parameters") != 0 || (list && json_kind_of(list) != JSON_ARRAY)) {
        fhir_reply_error(res, 400, "invalid", "POST $export takes a Parameters resource");
        goto done;
    }
    for(size_t i = 0; i < json_array_len(list); i++) {
        json_value *e = json_array_at(list, i);
        const char *name = json_string(json_get(e, "name"));
        const char *value = parameter_value(e);
        if(!name || !value) {
            fhir_reply_error(res, 400, "invalid",
                        "Parameters.parameter[%zu] needs a name and a string, instant or reference value", i);
            goto done;
        }
        if(p->n >= MAX_PARAMS) {
            fhir_reply_error(res, 400, "too-costly", "at most %d parameters", MAX_PARAMS);
            goto done;
        }
        params_add(p, name, value, strlen(value));
    }
    ok = true;
done:
    json_free(body);
    return ok;
}

/* The Patient id a reference names ("Patient/x", ".../Patient/x", with or
 * without "/_history/n") into id; false if it names no Patient. */
static bool patient_ref_id(const char *ref, char id[72]) {
    const char *p = NULL;
    if(strncmp(ref, "Patient/", 8) == 0) {
        p = ref + 8;
    } else {
        for(const char *q = strstr(ref, "/Patient/"); q; q = strstr(q + 1, "/Patient/")) p = q + 9;
    }
    if(!p) return false;
    size_t n = strcspn(p, "/");
    if(n == 0 || n > 64) return false;
    snprintf(id, 72, "%.*s", (int)n, p);
    return record_id_valid(id);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop repeats. */
static void unique_ids(char **v, size_t *n) {
    if(*n < 2) return;
    qsort(v, *n, sizeof *v, cmp_str);
    size_t k = 1;
    for(size_t i = 1; i < *n; i++) {
        if(strcmp(v[i], v[k - 1]) == 0)
            free(v[i]);
        else
            v[k++] = v[i];
    }
    *n = k;
}

static void ids_add(char ***v, size_t *n, size_t *cap, const char *id) {
    if(*n == *cap) *v = xrealloc(*v, (*cap = *cap ? *cap * 2 : 16) * sizeof **v);
    (*v)[(*n)++] = xstrdup(id);
}

/*
 * The Patients of Group/id: member[].entity references to Patient (inactive
 * members left out) into *ids (sorted, unique; caller frees). Replies and
 * returns false when the Group is unknown, deleted or unreadable.
 */
static bool group_members(store_conn *c, const char *gid, http_response *res, char ***ids, size_t *n) {
    store_resource g;
    json_value *doc = NULL;
    size_t cap = 0;
    bool ok = false;
    kith_rc rc = store_read(c, "Group", gid, 0, &g);
    if(rc == KITH_ENOTFOUND) {
        fhir_reply_error(res, 404, "not-found", "Group/%s is not known", gid);
        goto done;
    }
    if(rc == KITH_EGONE) {
        fhir_reply_error(res, 410, "deleted", "Group/%s was deleted", gid);
        goto done;
    }
    if(rc || json_parse(g.body, g.body_len, &doc, NULL, 0)) {
        reply_rc(res, rc ? rc : KITH_EINTERNAL, "cannot read the Group");
        goto done;
    }
    json_value *members = json_get(doc, "member");
    for(size_t i = 0; i < json_array_len(members); i++) {
        json_value *m = json_array_at(members, i);
        if(json_boolean(json_get(m, "inactive"))) continue;
        const char *ref = json_string(json_get(json_get(m, "entity"), "reference"));
        char id[72];
        if(!ref || !patient_ref_id(ref, id)) continue;
        if(*n >= BULK_MAX_PATIENTS) {
            fhir_reply_error(res, 400, "too-costly", "Group/%s has more than %d Patient members", gid, BULK_MAX_PATIENTS);
            goto done;
        }
        ids_add(ids, n, &cap, id);
    }
    unique_ids(*ids, n);
    ok = true;
done:
    json_free(doc);
    store_resource_free(&g);
    return ok;
}

static bool output_format_ok(const char *f) {
    return strcmp(f, "application/fhir+ndjson") == 0 || strcmp(f, "application/ndjson") == 0 ||
           strcmp(f, "ndjson") == 0 || strcmp(f, "application/fhir ndjson") == 0; /* '+' unescaped in a query */
}

/* ---- $export kick-off --------------------------------------------------- */

static void export_kickoff(fhir_rest *api, store_conn *c, const http_request *req, http_response *res,
                           bulk_scope scope, const char *group_id, const rest_tx *tx) {
    res->route = "fhir.export";
    params p = {0};
    char **types = NULL, **patients = NULL, **members = NULL;
    size_t ntypes = 0, npatients = 0, nmembers = 0, pcap = 0;
    char since[CLOCK_INSTANT_LEN] = "", bad[80], err[256], id[ID_UUID_LEN];
    bool have_patient_param = false;
    buf request = BUF_INIT, loc = BUF_INIT;
    if(strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
        fhir_method_not_allowed(res, "GET, POST", "$export");
        goto done;
    }
    if(tx) {
        fhir_reply_error(res, 400, "not-supported", "$export cannot run inside a transaction");
        goto done;
    }
    if(!prefers(req, "respond-async")) {
        fhir_reply_error(res, 400, "required", "$export runs asynchronously: send the header Prefer: respond-async");
        goto done;
    }
    if(!gather_params(req, res, &p)) goto done;
    bool lenient = prefers(req, "handling=lenient");
    for(size_t i = 0; i < p.n; i++) {
        const char *n = p.v[i].name, *v = p.v[i].value;
        if(strcmp(n, "_outputFormat") == 0) {
            if(!output_format_ok(v)) {
                fhir_reply_error(res, 400, "not-supported",
                            "_outputFormat %s is not supported: Kith writes application/fhir+ndjson", v);
                goto done;
            }
        } else if(strcmp(n, "_type") == 0) {
            kith_rc rc = bulk_types_parse(v, &types, &ntypes, bad, sizeof bad);
            if(rc == KITH_ETOOBIG) {
                fhir_reply_error(res, 400, "too-costly", "_type names more than %d types", BULK_MAX_TYPES);
                goto done;
            }
            if(rc) {
                fhir_reply_error(res, 400, "invalid", "_type: '%s' is not a FHIR R4 resource type", bad);
                goto done;
            }
        } else if(strcmp(n, "_since") == 0) {
            if(since[0]) {
                fhir_reply_error(res, 400, "invalid", "_since is given more than once");
                goto done;
            }
            if(!bulk_since_parse(v, since)) {
                fhir_reply_error(res, 400, "invalid", "_since must be an instant such as 2026-01-31T09:00:00Z, not '%s'", v);
                goto done;
            }
        } else if(strcmp(n, "patient") == 0) {
            char pid[72];
            if(scope == BULK_SYSTEM) {
                fhir_reply_error(res, 400, "not-supported", "the patient parameter is for Patient and Group exports");
                goto done;
            }
            if(!patient_ref_id(v, pid)) {
                fhir_reply_error(res, 400, "invalid", "patient must reference a Patient (Patient/id), not '%s'", v);
                goto done;
            }
            if(npatients >= BULK_MAX_PATIENTS) {
                fhir_reply_error(res, 400, "too-costly", "at most %d patient parameters", BULK_MAX_PATIENTS);
                goto done;
            }
            ids_add(&patients, &npatients, &pcap, pid);
            have_patient_param = true;
        } else if(strcmp(n, "_format") == 0) {
            /* checked by the REST layer: JSON only */
        } else if(!lenient) {
            fhir_reply_error(res, 400, "not-supported",
                        "$export parameter '%s' is not supported (send Prefer: handling=lenient to ignore it)", n);
            goto done;
        }
    }
    unique_ids(patients, &npatients);
    if(scope == BULK_PATIENT_LIST) { /* a Group */
        if(!group_members(c, group_id, res, &members, &nmembers)) goto done;
        if(have_patient_param) { /* only members that were also asked for */
            size_t k = 0;
            for(size_t i = 0; i < nmembers; i++) {
                if(bsearch(&members[i], patients, npatients, sizeof *patients, cmp_str))
                    members[k++] = members[i];
                else
                    free(members[i]);
            }
            nmembers = k;
        }
        bulk_types_free(patients, npatients);
        patients = members;
        npatients = nmembers;
        members = NULL;
        nmembers = 0;
    } else if(have_patient_param) {
        scope = BULK_PATIENT_LIST;
    }
    buf_printf(&request, "%s%s%s%s", req->base_url, req->path, req->query[0] ? "?" : "", req->query);
    bulk_job_params jp = {.scope = scope,
                          .types = (const char *const *)types,
                          .ntypes = ntypes,
                          .since = since[0] ? since : NULL,
                          .patients = (const char *const *)patients,
                          .npatients = npatients,
                          .request = buf_str(&request)};
    char owner[160] = "";
    if(access_current()) snprintf(owner, sizeof owner, "%s/%s", access_current()->who.kind, access_current()->who.name);
    jp.owner = owner[0] ? owner : NULL;
    jp.secondary_use = access_current() && strcmp(access_current()->who.role, "secondary-use") == 0;
    kith_rc rc = bulk_job_start(api->st, &jp, id, err, sizeof err);
    if(rc == KITH_EBUSY) {
        http_response_header(res, "Retry-After", "30");
        fhir_reply_error(res, 429, "throttled", "%s", err);
        goto done;
    }
    if(rc) {
        fhir_reply_error(res, fhir_rest_status_for(rc), "exception", "%s", err);
        goto done;
    }
    buf_printf(&loc, "%s/fhir/$export-status/%s", req->base_url, id);
    http_response_header(res, "Content-Location", buf_str(&loc));
    fhir_reply_error(res, 202, "informational", "export %s started; poll %s", id, buf_str(&loc));
done:
    http_params_free(p.v, p.n);
    bulk_types_free(types, ntypes);
    bulk_types_free(patients, npatients);
    bulk_types_free(members, nmembers);
    buf_free(&request);
    buf_free(&loc);
}

/* ---- $export status, cancel and files ---------------------------------- */

/* "kind/name" of the account making the current request into buf, or NULL when there is none. */
static const char *request_owner(char buf[160]) {
    access_request *r = access_current();
    if(!r) return NULL;
    snprintf(buf, 160, "%s/%s", r->who.kind, r->who.name);
    return buf;
}

static void write_manifest(buf *out, const http_request *req, const char *id, const bulk_status *s) {
    buf_printf(out, "{\"transactionTime\":\"%s\",\"request\":\"", s->transaction_time);
    buf_json_escape(out, s->request);
    buf_puts(out, "\",\"requiresAccessToken\":false,\"output\":[");
    for(size_t i = 0; i < s->noutputs; i++) {
        buf_printf(out, "%s{\"type\":\"%s\",\"url\":\"", i ? "," : "", s->outputs[i].type);
        buf_json_escape(out, req->base_url);
        buf_printf(out, "/fhir/$export-file/%s/%s.ndjson\",\"count\":%lld}", id, s->outputs[i].type,
                   (long long)s->outputs[i].count);
    }
    buf_puts(out, "],\"error\":[]}");
}

static void export_status(const http_request *req, http_response *res, const char *id) {
    res->route = "fhir.export-status";
    char owner[160];
    if(strcmp(req->method, "DELETE") == 0) {
        if(bulk_job_delete(id, request_owner(owner)) == KITH_ENOTFOUND) {
            fhir_reply_error(res, 404, "not-found", "no export job %s", id);
            return;
        }
        fhir_reply_error(res, 202, "informational", "export %s was cancelled and its files deleted", id);
        return;
    }
    if(!is_get(req->method)) {
        fhir_method_not_allowed(res, "GET, DELETE", "an export status URL");
        return;
    }
    bulk_status s;
    if(bulk_job_status(id, request_owner(owner), &s) == KITH_ENOTFOUND) {
        fhir_reply_error(res, 404, "not-found",
                    "no export job %s (jobs are kept 24 hours after they finish, and not across restarts)", id);
        return;
    }
    char progress[100];
    switch(s.state) {
    case BULK_RUNNING:
        if(s.expected > 0) {
            int64_t done = s.written > s.expected ? s.expected : s.written;
            snprintf(progress, sizeof progress, "%lld of %lld resources written (%d%%)", (long long)s.written,
                     (long long)s.expected, (int)(100 * done / s.expected));
        } else {
            snprintf(progress, sizeof progress, "%lld resources written", (long long)s.written);
        }
        res->status = 202;
        res->content_type = NULL;
        http_response_header(res, "X-Progress", progress);
        http_response_header(res, "Retry-After", "1");
        break;
    case BULK_FAILED: fhir_reply_error(res, 500, "exception", "the export failed: %s", s.error); break;
    case BULK_DONE:
        res->status = 200;
        res->content_type = "application/json";
        write_manifest(&res->body, req, id, &s);
        break;
    }
    bulk_status_free(&s);
}

static void export_file(const http_request *req, http_response *res, const char *id, const char *name) {
    char owner[160];
    res->route = "fhir.export-file";
    if(!is_get(req->method)) {
        fhir_method_not_allowed(res, "GET", "an export file");
        return;
    }
    if(!req->conn) {
        fhir_reply_error(res, 400, "not-supported", "download export files directly, not in a Bundle");
        return;
    }
    size_t n = strlen(name);
    char type[72], path[4096];
    if(n <= 7 || n - 7 >= sizeof type || strcmp(name + n - 7, ".ndjson") != 0) {
        fhir_reply_error(res, 404, "not-found", "no export file %s", name);
        return;
    }
    snprintf(type, sizeof type, "%.*s", (int)(n - 7), name);
    if(!fhir_type_is_resource(type) || bulk_job_file(id, request_owner(owner), type, path, sizeof path) ||
       http_response_file(res, path, NDJSON)) {
        fhir_reply_error(res, 404, "not-found", "export %s has no file %s (unknown, unfinished or deleted)", id, name);
        return;
    }
}

/* ---- Patient $everything ------------------------------------------------ */

/*
 * A person's linked records. Record linkage (src/link) joins a council's
 * social care record to the NHS record of the same person with Patient.link
 * on both, and $everything on either brings in the other: one hop, every
 * Patient this one links to and every Patient that links to it (the `link`
 * search parameter's index, so a link written on one side only still
 * counts). All four R4 link types (seealso, refer, replaces, replaced-by)
 * say the other record "concerns the same actual patient", so all are
 * followed alike. The access policy applies to each linked record exactly as
 * to the Patient asked for: the Patient is read through the connection's
 * viewer, and one the caller may not see (or a deleted one) is left out
 * together with its whole compartment, as if it were not linked; the
 * resources of a record it may see are filtered by the viewer as any scan is.
 * Linkage resources are not consulted: undoing a link removes the
 * Patient.link entries, and a Linkage is in no Patient's compartment.
 */
#define MAX_LINKED 32 /* links of one Patient followed (both directions together) */

typedef struct records {
    char *ids[MAX_LINKED + 1]; /* owned; ids[0] is the Patient asked for */
    size_t n;
} records;

static int records_add(void *ctx, const char *type, const char *id) {
    records *r = ctx;
    (void)type;
    for(size_t i = 0; i < r->n; i++)
        if(strcmp(r->ids[i], id) == 0) return 0;
    if(r->n == MAX_LINKED + 1) return 1;
    r->ids[r->n++] = xstrdup(id);
    return 0;
}

static void records_free(records *r) {
    for(size_t i = 0; i < r->n; i++) free(r->ids[i]);
    r->n = 0;
}

/* Fill r with pid and the Patients linked to it that the current viewer may
 * see. A store failure is returned (r then holds what was gathered). */
static kith_rc records_linked(store_conn *c, const char *pid, records *r) {
    const char *const self[] = {pid};
    records_add(r, "Patient", pid);
    kith_rc rc = store_references_from(c, "Patient", self, 1, "link", "Patient", records_add, r);
    if(!rc) rc = store_references_to(c, "Patient", self, 1, "Patient", "link", records_add, r);
    for(size_t i = 1; !rc && i < r->n;) {
        store_resource other = {0};
        kith_rc seen = store_read(c, "Patient", r->ids[i], 0, &other); /* KITH_ENOTFOUND when hidden */
        store_resource_free(&other);
        if(seen == KITH_OK) {
            i++;
        } else if(seen == KITH_ENOTFOUND || seen == KITH_EGONE) {
            free(r->ids[i]);
            r->ids[i] = r->ids[--r->n];
        } else {
            rc = seen;
        }
    }
    return rc;
}

/* The first `cap` resources, in (type, id) order, of the compartments
 * scanned so far: the page being made and one more, to tell whether there is
 * a next page. The Patient asked for is not kept (it leads page one). */
typedef struct page {
    const char *pid;
    store_resource *held; /* owned, sorted; only type, id and body are set */
    size_t n, cap;
} page;

static int key_cmp(const store_resource *a, const store_resource *b) {
    int d = strcmp(a->type, b->type);
    return d ? d : strcmp(a->id, b->id);
}

/* store_scan callback: keep r if it is among the first p->cap; stop the scan
 * once its later rows cannot be (a scan runs in (type, id) order). */
static int page_row(void *ctx, const store_resource *r) {
    page *p = ctx;
    if(strcmp(r->type, "Patient") == 0 && strcmp(r->id, p->pid) == 0) return 0; /* first on page one */
    size_t lo = 0, hi = p->n;
    while(lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = key_cmp(r, &p->held[mid]);
        if(d == 0) return 0; /* already kept */
        if(d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if(lo == p->cap) return 1; /* full, and the rest of this scan comes later still */
    if(p->n == p->cap) store_resource_free(&p->held[--p->n]);
    memmove(&p->held[lo + 1], &p->held[lo], (p->n - lo) * sizeof *p->held);
    char *body = xmalloc(r->body_len + 1);
    memcpy(body, r->body, r->body_len);
    body[r->body_len] = '\0';
    p->held[lo] = (store_resource){.type = xstrdup(r->type), .id = xstrdup(r->id), .body = body,
                                   .body_len = r->body_len};
    p->n++;
    return p->n == p->cap && lo == p->n - 1;
}

/* Count what q matches in the compartment of every record in recs into
 * *total and, when p is not NULL, keep the page's first rows in p. The
 * compartments are disjoint (a resource is in one at most), so the counts add. */
static kith_rc records_scan(store_conn *c, store_scan_query *q, const records *recs, page *p, int64_t *total) {
    *total = 0;
    for(size_t i = 0; i < recs->n; i++) {
        int64_t n = 0;
        q->patient = recs->ids[i];
        kith_rc rc = store_scan_count(c, q, &n);
        if(!rc && p) rc = store_scan(c, q, page_row, p);
        if(rc) return rc;
        *total += n;
    }
    return KITH_OK;
}

static void page_entry(buf *out, const http_request *req, size_t *n, const store_resource *r) {
    if((*n)++) buf_putc(out, ',');
    buf_puts(out, "{\"fullUrl\":\"");
    buf_json_escape(out, req->base_url);
    buf_printf(out, "/fhir/%s/%s\",\"resource\":", r->type, r->id);
    buf_append(out, r->body, r->body_len);
    buf_puts(out, ",\"search\":{\"mode\":\"match\"}}");
}

static void add_used(buf *used, const char *name, const char *value) {
    if(used->len) buf_putc(used, '&');
    url_encode(used, name);
    buf_putc(used, '=');
    url_encode(used, value);
}

static bool type_wanted(char **types, size_t n, const char *type) {
    if(!n) return true;
    for(size_t i = 0; i < n; i++)
        if(strcmp(types[i], type) == 0) return true;
    return false;
}

static void everything(store_conn *c, const http_request *req, http_response *res, const char *pid) {
    res->route = "fhir.everything";
    char **types = NULL;
    size_t ntypes = 0;
    char since[CLOCK_INSTANT_LEN] = "", bad[80], after_type[72] = "", after_id[72] = "";
    const char *cursor = NULL;
    int64_t count = DEFAULT_PAGE, total = 0;
    buf used = BUF_INIT, entries = BUF_INIT, out = BUF_INIT;
    fhir_issues ignored = FHIR_ISSUES_INIT;
    store_resource pat = {0};
    records recs = {.n = 0};
    page p = {0};
    if(!is_get(req->method)) {
        fhir_method_not_allowed(res, "GET", "$everything");
        goto done;
    }
    if(!record_id_valid(pid)) {
        fhir_reply_error(res, 400, "invalid", "'%s' is not a valid FHIR id", pid);
        goto done;
    }
    for(size_t i = 0; i < req->nparams; i++) {
        const char *n = req->params[i].name, *v = req->params[i].value;
        if(strcmp(n, "_since") == 0) {
            if(!bulk_since_parse(v, since)) {
                fhir_reply_error(res, 400, "invalid", "_since must be an instant such as 2026-01-31T09:00:00Z, not '%s'", v);
                goto done;
            }
            add_used(&used, n, v);
        } else if(strcmp(n, "_type") == 0) {
            kith_rc rc = bulk_types_parse(v, &types, &ntypes, bad, sizeof bad);
            if(rc) {
                if(rc == KITH_ETOOBIG)
                    fhir_reply_error(res, 400, "too-costly", "_type names more than %d types", BULK_MAX_TYPES);
                else
                    fhir_reply_error(res, 400, "invalid", "_type: '%s' is not a FHIR R4 resource type", bad);
                goto done;
            }
            add_used(&used, n, v);
        } else if(strcmp(n, "_count") == 0) {
            char *end = NULL;
            long long k = strtoll(v, &end, 10);
            if(!*v || *end || k < 0) {
                fhir_reply_error(res, 400, "invalid", "_count must be a whole number, not '%s'", v);
                goto done;
            }
            count = k > MAX_PAGE ? MAX_PAGE : k;
            add_used(&used, n, v);
        } else if(strcmp(n, "_page_after") == 0) {
            /* "Type/id" of the last resource of the previous page; "" when that page held only the Patient */
            const char *slash = strchr(v, '/');
            if(*v && (!slash || slash - v >= 64 || strlen(slash + 1) >= sizeof after_id)) {
                fhir_reply_error(res, 400, "invalid", "_page_after '%s' is not a paging cursor of this server", v);
                goto done;
            }
            if(*v) {
                snprintf(after_type, sizeof after_type, "%.*s", (int)(slash - v), v);
                snprintf(after_id, sizeof after_id, "%s", slash + 1);
                if(!fhir_type_is_resource(after_type) || !record_id_valid(after_id)) {
                    fhir_reply_error(res, 400, "invalid", "_page_after '%s' is not a paging cursor of this server", v);
                    goto done;
                }
            }
            cursor = v;
        } else if(strcmp(n, "_format") == 0) {
            add_used(&used, n, v);
        } else if(prefers(req, "handling=strict")) {
            fhir_reply_error(res, 400, "not-supported", "$everything parameter '%s' is not supported", n);
            goto done;
        } else {
            fhir_issues_add(&ignored, "warning", "not-supported", NULL,
                            "$everything parameter '%s' is not supported and was ignored", n);
        }
    }
    kith_rc rc = store_read(c, "Patient", pid, 0, &pat);
    if(rc == KITH_ENOTFOUND) {
        fhir_reply_error(res, 404, "not-found", "Patient/%s is not known", pid);
        goto done;
    }
    if(rc == KITH_EGONE) {
        fhir_reply_error(res, 410, "deleted", "Patient/%s was deleted", pid);
        goto done;
    }
    if(rc) {
        reply_rc(res, rc, "cannot read the Patient");
        goto done;
    }
    /* only the types this request may read (its scopes) */
    bool narrowed = false;
    for(size_t i = 0; i < ntypes; i++)
        if(!access_allows(types[i], 'r')) {
            free(types[i]);
            types[i] = types[--ntypes];
            i--;
            narrowed = true;
        }
    if(ntypes == 0 && !narrowed) {
        size_t all = fhir_resource_type_count();
        bool every = true;
        for(size_t i = 0; i < all && every; i++) every = access_allows(fhir_resource_type_at(i), 'r');
        if(!every) {
            types = xrealloc(types, all * sizeof *types);
            for(size_t i = 0; i < all; i++)
                if(access_allows(fhir_resource_type_at(i), 'r')) types[ntypes++] = xstrdup(fhir_resource_type_at(i));
            narrowed = true;
        }
    }
    if(narrowed && ntypes == 0) { /* nothing it may read but the Patient */
        types = xrealloc(types, sizeof *types);
        types[ntypes++] = xstrdup("Patient");
    }
    /* the records linked to this one join it, each only if the caller may see it (see records_linked) */
    rc = records_linked(c, pid, &recs);
    store_scan_query q = {.types = (const char *const *)types,
                          .ntypes = ntypes,
                          .since = since[0] ? since : NULL,
                          .after_type = cursor ? after_type : NULL,
                          .after_id = cursor ? after_id : NULL};
    size_t shown = 0; /* entries on the page */
    if(!rc && !cursor && count > 0 && type_wanted(types, ntypes, "Patient") &&
       (!since[0] || strcmp(pat.last_updated, since) >= 0))
        page_entry(&entries, req, &shown, &pat);
    size_t room = (size_t)count - shown;
    p = (page){.pid = pid, .held = xcalloc(room + 1, sizeof *p.held), .cap = room + 1};
    if(!rc) rc = records_scan(c, &q, &recs, count > 0 ? &p : NULL, &total);
    if(rc) {
        reply_rc(res, rc, "$everything failed");
        goto done;
    }
    char last[160] = ""; /* "Type/id" of the last resource on the page; "" when it holds only the Patient */
    for(size_t i = 0; i < p.n && i < room; i++) {
        page_entry(&entries, req, &shown, &p.held[i]);
        snprintf(last, sizeof last, "%s/%s", p.held[i].type, p.held[i].id);
    }
    buf_printf(&out, "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"total\":%lld,\"link\":[", (long long)total);
    char path[128];
    snprintf(path, sizeof path, "/fhir/Patient/%s/$everything", pid);
    fhir_bundle_link(&out, true, "self", req->base_url, path, &used, "_page_after", cursor);
    if(p.n > room) fhir_bundle_link(&out, false, "next", req->base_url, path, &used, "_page_after", last);
    buf_puts(&out, "],\"entry\":[");
    buf_append(&out, entries.data, entries.len);
    if(ignored.n) {
        if(shown) buf_putc(&out, ',');
        buf_puts(&out, "{\"resource\":");
        fhir_outcome_write(&out, &ignored);
        buf_puts(&out, ",\"search\":{\"mode\":\"outcome\"}}");
    }
    buf_puts(&out, "]}");
    res->status = 200;
    res->content_type = FHIR_JSON;
    buf_free(&res->body);
    res->body = out;
    out = (buf)BUF_INIT;
done:
    store_resource_free(&pat);
    records_free(&recs);
    for(size_t i = 0; i < p.n; i++) store_resource_free(&p.held[i]);
    free(p.held);
    bulk_types_free(types, ntypes);
    fhir_issues_free(&ignored);
    buf_free(&used);
    buf_free(&entries);
    buf_free(&out);
}

/* ---- routing ------------------------------------------------------------ */

void fhir_operation_handle(fhir_rest *api, store_conn *c, const http_request *req, http_response *res,
                           char *const *seg, int nseg, const rest_tx *tx) {
    res->route = "fhir.operation";
    if(care_operation_handle(api, c, req, res, seg, nseg)) return;
    if(cohort_operation_handle(c, req, res, seg, nseg)) return;
    if(nseg == 2 && strcmp(seg[0], "Patient") == 0 && strcmp(seg[1], "$match") == 0) {
        link_match_handle(c, req, res);
        return;
    }
    if((nseg == 2 && strcmp(seg[0], "ViewDefinition") == 0 && strcmp(seg[1], "$run") == 0) ||
       (nseg == 1 && strcmp(seg[0], "$viewdefinition-run") == 0)) { /* SQL on FHIR (src/view) */
        view_run_operation(c, req, res);
        return;
    }
    if(nseg == 1 && strcmp(seg[0], "$export") == 0) {
        export_kickoff(api, c, req, res, BULK_SYSTEM, NULL, tx);
    } else if(nseg == 2 && strcmp(seg[0], "$export-status") == 0) {
        export_status(req, res, seg[1]);
    } else if(nseg == 3 && strcmp(seg[0], "$export-file") == 0) {
        export_file(req, res, seg[1], seg[2]);
    } else if(nseg == 2 && strcmp(seg[0], "Patient") == 0 && strcmp(seg[1], "$export") == 0) {
        export_kickoff(api, c, req, res, BULK_ALL_PATIENTS, NULL, tx);
    } else if(nseg == 3 && strcmp(seg[0], "Group") == 0 && strcmp(seg[2], "$export") == 0) {
        if(!record_id_valid(seg[1]))
            fhir_reply_error(res, 400, "invalid", "'%s' is not a valid FHIR id", seg[1]);
        else
            export_kickoff(api, c, req, res, BULK_PATIENT_LIST, seg[1], tx);
    } else if(nseg == 3 && strcmp(seg[0], "Patient") == 0 && strcmp(seg[2], "$everything") == 0) {
        everything(c, req, res, seg[1]);
    } else if(strcmp(seg[0], "$export-status") == 0 || strcmp(seg[0], "$export-file") == 0) {
        res->route = "fhir.export-status";
        fhir_reply_error(res, 404, "not-found", "no such export URL: %s", req->path);
    } else {
        const char *op = seg[0][0] == '$' ? seg[0] : seg[nseg - 1];
        fhir_reply_error(res, 501, "not-supported", "operation %s is not supported yet", op);
    }
}
