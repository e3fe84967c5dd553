/*
 * record.c — the write path for FHIR resources (see record.h).
 *
 * A write: check the body names the right type (and id), validate it,
 * apply the NHS number policy to a Patient's NHS numbers (normalise, refuse,
 * or under KITH_NHS_NUMBER_POLICY=flag mark unverified or leave out), open
 * a write transaction, read the current version, check If-Match, set
 * id and meta.versionId/lastUpdated, derive index rows and the Patient
 * compartment, store the version, commit. Nothing is stored unless every
 * step succeeds. Thread-safe: all state is in the caller's store_conn, save
 * the NHS number policy, read from the environment once per process.
 */
#include "fhir/record.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/id.h"
#include "base/mem.h"
#include "base/nhs_number.h"
#include "base/url.h"
#include "fhir/compartment.h"
#include "fhir/index.h"
#include "fhir/search.h"
#include "http/http.h"
#include "fhir/model.h"
#include "fhir/validate.h"


void record_result_free(record_result *r) {
    free(r->body);
    r->body = NULL;
}

bool record_id_valid(const char *s) {
    size_t n = 0;
    for(; s[n]; n++) {
        char c = s[n];
        if(!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
        if(n >= 64) return false;
    }
    return n > 0;
}

/* Parse an ETag (W/"3", "3" or 3) into a version; -1 if malformed. */
static int64_t etag_version(const char *etag) {
    const char *p = etag;
    if(strncmp(p, "W/", 2) == 0) p += 2;
    if(*p == '"') p++;
    char *end = NULL;
    long long v = strtoll(p, &end, 10);
    if(end == p || v < 1) return -1;
    if(*end == '"') end++;
    return *end ? -1 : (int64_t)v;
}

/* Check the body is an object of `type`; sets issues and returns KITH_EINVAL if not. */
static kith_rc check_body(const char *type, const json_value *res, fhir_issues *issues) {
    if(json_kind_of(res) != JSON_OBJECT) {
        fhir_issues_add(issues, "error", "structure", NULL, "the body must be a JSON object holding a FHIR resource");
        return KITH_EINVAL;
    }
    const char *rt = json_string(json_get(res, "resourceType"));
    if(!rt) {
        fhir_issues_add(issues, "error", "required", "resourceType", "the resource has no resourceType");
        return KITH_EINVAL;
    }
    if(strcmp(rt, type) != 0) {
        fhir_issues_add(issues, "error", "invalid", "resourceType",
                        "the body is a %s but the request is for %s", rt, type);
        return KITH_EINVAL;
    }
    return KITH_OK;
}

/* Stamp id, meta.versionId and meta.lastUpdated, with the usual member order. */
static void stamp(json_value *res, const char *id, int64_t version, const char *now) {
    json_set(res, "id", json_new_string(id));
    json_value *meta = json_get(res, "meta");
    if(json_kind_of(meta) != JSON_OBJECT) {
        meta = json_new_object();
        json_set(res, "meta", meta);
    }
    char vid[24];
    snprintf(vid, sizeof vid, "%lld", (long long)version);
    json_set(meta, "versionId", json_new_string(vid));
    if(now) json_set(meta, "lastUpdated", json_new_string(now));
    static const char *const FRONT[] = {"resourceType", "id", "meta", NULL};
    json_move_to_front(res, FRONT);
}

/* ---- NHS numbers on a Patient ------------------------------------------- */

#define NHS_SHOWN_MAX 16 /* characters of a submitted NHS number quoted back in a message */

/* The value of an NHS number identifier; NULL when ident is another kind of
 * identifier or has no text value. Borrowed from ident. */
static const char *nhs_value(const json_value *ident) {
    const char *system = json_string(json_get(ident, "system"));
    if(!system || strcmp(system, NHS_NUMBER_SYSTEM) != 0) return NULL;
    return json_string(json_get(ident, "value"));
}

/* Say in issues what is wrong with v, the NHS number of identifier i, and
 * then what was done with it (`done`, "" when the write is refused). v is
 * quoted as printable ASCII ('?' for anything else), cut at NHS_SHOWN_MAX. */
static void nhs_issue(fhir_issues *issues, const char *severity, size_t i, const char *v, nhs_number_problem p,
                      const char *done) {
    char expr[48], shown[NHS_SHOWN_MAX + 4];
    size_t k = 0;
    for(; v[k] && k < NHS_SHOWN_MAX; k++) shown[k] = v[k] >= 32 && v[k] < 127 ? v[k] : '?';
    snprintf(shown + k, sizeof shown - k, "%s", v[k] ? "..." : "");
    snprintf(expr, sizeof expr, "Patient.identifier[%zu].value", i);
    fhir_issues_add(issues, severity, "value", expr, "'%s' is not a valid NHS number: %s%s", shown,
                    nhs_number_problem_text(p), done);
}

kith_rc record_patient_nhs_numbers(const char *type, json_value *res, nhs_number_policy policy,
                                   fhir_issues *issues) {
    if(strcmp(type, "Patient") != 0) return KITH_OK;
    json_value *ids = json_get(res, "identifier");
    size_t n = json_array_len(ids);
    char digits[11];
    kith_rc rc = KITH_OK;
    for(size_t i = 0; i < n; i++) { /* every refusal first, so a refused write changes nothing */
        const char *v = nhs_value(json_array_at(ids, i));
        if(!v) continue;
        nhs_number_problem p = nhs_number_parse(v, digits);
        if(nhs_number_policy_action(policy, p) != NHS_NUMBER_REFUSE) continue;
        nhs_issue(issues, "error", i, v, p, "");
        rc = KITH_EINVALID;
    }
    if(rc) return rc;
    size_t at = 0; /* where identifier i is now: those left out close up */
    for(size_t i = 0; i < n; i++) {
        json_value *ident = json_array_at(ids, at);
        const char *v = nhs_value(ident);
        if(!v) {
            at++;
            continue;
        }
        nhs_number_problem p = nhs_number_parse(v, digits);
        switch(nhs_number_policy_action(policy, p)) {
        case NHS_NUMBER_LEAVE_OUT:
            nhs_issue(issues, "warning", i, v, p, "; the identifier was left out");
            json_array_remove(ids, at);
            continue;
        case NHS_NUMBER_KEEP_FLAGGED:
            nhs_issue(issues, "warning", i, v, p,
                      "; kept under " NHS_NUMBER_UNVERIFIED_SYSTEM ", marked unverified and never linked on");
            json_set(ident, "system", json_new_string(NHS_NUMBER_UNVERIFIED_SYSTEM));
            break;
        case NHS_NUMBER_USE: break;
        case NHS_NUMBER_REFUSE: assert(!"refused by the first pass"); break;
        }
        if(strcmp(v, digits) != 0) json_set(ident, "value", json_new_string(digits)); /* the ten digits */
        at++;
    }
    if(n && json_array_len(ids) == 0) json_remove(res, "identifier");
    return KITH_OK;
}

static pthread_once_t nhs_policy_once = PTHREAD_ONCE_INIT;
static nhs_number_policy nhs_policy; /* KITH_NHS_NUMBER_POLICY, read once by nhs_policy_read */

static void nhs_policy_read(void) { nhs_policy = nhs_number_policy_from_env(); }

void record_prepared_free(record_prepared *p) {
    free(p->body);
    free(p->patient);
    fhir_index_free(&p->ix);
    p->body = p->patient = NULL;
}

kith_rc record_prepare(const char *type, const char *id, json_value *res, record_prepared *p, fhir_issues *issues) {
    memset(p, 0, sizeof *p);
    kith_rc rc = check_body(type, res, issues);
    if(rc) return rc;
    if(fhir_validate(res, issues)) return KITH_EINVALID;
    pthread_once(&nhs_policy_once, nhs_policy_read);
    if(record_patient_nhs_numbers(type, res, nhs_policy, issues)) return KITH_EINVALID;
    snprintf(p->type, sizeof p->type, "%s", type);
    if(id) {
        snprintf(p->id, sizeof p->id, "%s", id); /* id may point into res, which stamp() replaces */
    } else {
        id_new_uuid(p->id);
        p->assigned_id = true;
    }
    clock_instant_now(p->last_updated);
    stamp(res, p->id, 1, p->last_updated);
    p->res = res;
    p->body = json_to_text(res, &p->body_len);
    p->ix = (fhir_index)FHIR_INDEX_INIT;
    fhir_index_resource(type, res, &p->ix);
    p->patient = fhir_patient_compartment(type, p->id, p->ix.rows, p->ix.n);
    return KITH_OK;
}

/* Store a prepared resource as `version` (the body is re-serialised when
 * that is not 1). On success the body moves to out. */
static kith_rc write_prepared(store_conn *c, record_prepared *p, int64_t version, const char *method,
                              record_result *out) {
    if(version != 1) {
        stamp(p->res, p->id, version, NULL);
        free(p->body);
        p->body = json_to_text(p->res, &p->body_len);
    }
    store_put put = {
        .type = p->type,
        .id = p->id,
        .version = version,
        .last_updated = p->last_updated,
        .method = method,
        .patient = p->patient,
        .body = p->body,
        .body_len = p->body_len,
        .rows = p->ix.rows,
        .nrows = p->ix.n,
    };
    kith_rc rc = store_write(c, &put);
    if(rc) return rc;
    snprintf(out->id, sizeof out->id, "%s", p->id);
    out->version = version;
    snprintf(out->last_updated, sizeof out->last_updated, "%s", p->last_updated);
    out->body = p->body;
    out->body_len = p->body_len;
    p->body = NULL;
    return KITH_OK;
}

static kith_rc finish(store_conn *c, const record_opts *o, kith_rc rc) {
    if(o->in_transaction) return rc;
    if(rc) {
        store_rollback(c);
        return rc;
    }
    return store_commit(c);
}

static kith_rc begin(store_conn *c, const record_opts *o) {
    return o->in_transaction ? KITH_OK : store_begin(c);
}

kith_rc record_match(store_conn *c, const char *type, const char *query, size_t max, char ***ids, size_t *n,
                     fhir_issues *issues) {
    http_param *params = NULL;
    size_t np = 0;
    fhir_search *s = NULL;
    http_parse_query(query, &params, &np);
    kith_rc rc = KITH_OK;
    if(np == 0) {
        fhir_issues_add(issues, "error", "invalid", NULL, "the condition is empty: give search parameters");
        rc = KITH_EINVAL;
        goto done;
    }
    rc = fhir_search_parse(type, params, np, true, "", &s, issues);
    if(rc) goto done;
    rc = fhir_search_ids(c, s, max, ids, n);
done:
    fhir_search_free(s);
    http_params_free(params, np);
    return rc;
}

static void free_ids(char **ids, size_t n) {
    for(size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

/* The write half of a create, inside a transaction the caller owns or via begin/finish. */
static kith_rc create_prepared(store_conn *c, const char *type, record_prepared *p, const record_opts *o,
                               record_result *out, fhir_issues *issues) {
    kith_rc rc = begin(c, o);
    if(rc) return rc;
    if(o->if_none_exist && *o->if_none_exist) {
        char **ids = NULL;
        size_t n = 0;
        rc = record_match(c, type, o->if_none_exist, 2, &ids, &n, issues);
        if(rc) {
            rc = finish(c, o, rc == KITH_EUNSUPPORTED ? KITH_EINVAL : rc);
            return rc;
        }
        if(n > 1) {
            free_ids(ids, n);
            fhir_issues_add(issues, "error", "duplicate", NULL,
                            "If-None-Exist matched more than one %s: the condition is not selective enough", type);
            rc = finish(c, o, KITH_ECONFLICT);
            return rc;
        }
        if(n == 1) {
            store_resource cur;
            rc = store_read(c, type, ids[0], 0, &cur);
            free_ids(ids, n);
            if(!rc) {
                out->unchanged = true;
                snprintf(out->id, sizeof out->id, "%s", cur.id);
                out->version = cur.version;
                snprintf(out->last_updated, sizeof out->last_updated, "%s", cur.last_updated);
                out->body = cur.body;
                out->body_len = cur.body_len;
                cur.body = NULL;
            }
            store_resource_free(&cur);
            rc = finish(c, o, rc);
            return rc;
        }
        free(ids);
    }
    rc = write_prepared(c, p, 1, "POST", out);
    if(!rc) out->created = true;
    rc = finish(c, o, rc);
    if(rc) record_result_free(out);
    return rc;
}

/* Arguments of a write that joins a group commit. */
typedef struct grouped {
    const char *type;
    record_prepared *p;
    record_opts o; /* in_transaction set */
    record_result *out;
    fhir_issues *issues;
    bool update;
} grouped;

static kith_rc grouped_job(store_conn *c, void *ctx) {
    grouped *g = ctx;
    return g->update ? record_update_prepared(c, g->p, &g->o, g->out, g->issues)
                     : create_prepared(c, g->type, g->p, &g->o, g->out, g->issues);
}

/* The access policy for a write through c (its viewer: see store_set_viewer):
 * an existing resource the viewer cannot see is "not known"; the record the
 * resource belongs to, and every person it refers to, must be ones the viewer
 * may see (so nobody can write themselves into a stranger's care). A new
 * Patient may be registered by anyone who may create Patients. Checked on
 * the writer's own connection before a group commit runs the write. */
static kith_rc write_permitted(store_conn *c, const record_prepared *p, fhir_issues *issues) {
    store_resource cur;
    kith_rc rr = store_read(c, p->type, p->id, 0, &cur);
    bool hidden = rr == KITH_ENOTFOUND && cur.hidden, exists = rr == KITH_OK || rr == KITH_EGONE;
    store_resource_free(&cur);
    if(hidden) {
        fhir_issues_add(issues, "error", "not-found", NULL, "%s/%s is not known", p->type, p->id);
        return KITH_ENOTFOUND;
    }
    bool new_patient = strcmp(p->type, "Patient") == 0 && !exists;
    bool sees = true;
    const char *who = NULL;
    if(p->patient && !new_patient && store_viewer_sees(c, NULL, NULL, p->patient, &sees) == KITH_OK && !sees)
        who = p->patient;
    for(size_t i = 0; i < p->ix.n && !who; i++) {
        const store_index_row *x = &p->ix.rows[i];
        if(x->kind != STORE_IX_REFERENCE || !x->a || strcmp(x->a, "Patient") != 0 || !x->b || !*x->b) continue;
        if(new_patient && strcmp(x->b, p->id) == 0) continue;
        if(store_viewer_sees(c, NULL, NULL, x->b, &sees) == KITH_OK && !sees) who = x->b;
    }
    if(!who) return KITH_OK;
    fhir_issues_add(issues, "error", "forbidden", NULL,
                    "you have no care relationship with Patient/%s (use break-glass if you must)", who);
    return KITH_EFORBIDDEN;
}

/* Write p on its own, or as part of a group commit when the caller has no transaction. */
static kith_rc write_alone_or_grouped(store_conn *c, const char *type, record_prepared *p, const record_opts *o,
                                      record_result *out, fhir_issues *issues, bool update) {
    kith_rc rc = write_permitted(c, p, issues);
    if(rc) return rc;
    if(o->in_transaction)
        return update ? record_update_prepared(c, p, o, out, issues) : create_prepared(c, type, p, o, out, issues);
    grouped g = {.type = type, .p = p, .o = *o, .out = out, .issues = issues, .update = update};
    g.o.in_transaction = true;
    memset(out, 0, sizeof *out);
    return store_run_grouped(c, grouped_job, &g);
}

kith_rc record_create(store_conn *c, const char *type, json_value *res, const record_opts *o, record_result *out,
                      fhir_issues *issues) {
    static const record_opts none = {0};
    if(!o) o = &none;
    memset(out, 0, sizeof *out);
    record_prepared p;
    kith_rc rc = record_prepare(type, o->new_id, res, &p, issues);
    if(rc) return rc;
    rc = write_alone_or_grouped(c, type, &p, o, out, issues, false);
    record_prepared_free(&p);
    return rc;
}

kith_rc record_update(store_conn *c, const char *type, const char *id, json_value *res, const record_opts *o,
                      record_result *out, fhir_issues *issues) {
    static const record_opts none = {0};
    if(!o) o = &none;
    memset(out, 0, sizeof *out);
    kith_rc rc = check_body(type, res, issues);
    if(rc) return rc;
    const char *body_id = json_string(json_get(res, "id"));
    if(!body_id) {
        fhir_issues_add(issues, "error", "required", "id", "an update must carry the resource id in the body");
        return KITH_EINVAL;
    }
    if(strcmp(body_id, id) != 0) {
        fhir_issues_add(issues, "error", "invalid", "id", "the body's id '%s' differs from the id '%s' in the URL",
                        body_id, id);
        return KITH_EINVAL;
    }
    record_prepared p;
    rc = record_prepare(type, id, res, &p, issues);
    if(rc) return rc;
    rc = write_alone_or_grouped(c, type, &p, o, out, issues, true);
    record_prepared_free(&p);
    return rc;
}

/* True when the stored version cur holds what res holds, apart from
 * meta.versionId and meta.lastUpdated. */
static bool same_content(const store_resource *cur, const json_value *res) {
    json_value *old = NULL;
    if(!cur->body || json_parse(cur->body, cur->body_len, &old, NULL, 0)) return false;
    json_value *fresh = json_copy(res);
    json_value *metas[2] = {json_get(old, "meta"), json_get(fresh, "meta")};
    for(int i = 0; i < 2; i++) {
        if(json_kind_of(metas[i]) != JSON_OBJECT) continue;
        json_remove(metas[i], "versionId");
        json_remove(metas[i], "lastUpdated");
        if(json_object_size(metas[i]) == 0) json_remove(i ? fresh : old, "meta");
    }
    bool same = json_equal(old, fresh);
    json_free(old);
    json_free(fresh);
    return same;
}

kith_rc record_update_prepared(store_conn *c, record_prepared *p, const record_opts *o, record_result *out,
                               fhir_issues *issues) {
    static const record_opts none = {0};
    if(!o) o = &none;
    memset(out, 0, sizeof *out);
    kith_rc rc = begin(c, o);
    if(rc) return rc;
    store_resource cur;
    kith_rc rr = store_read(c, p->type, p->id, 0, &cur);
    int64_t have = (rr == KITH_OK || rr == KITH_EGONE) ? cur.version : 0;
    bool live = rr == KITH_OK;
    bool same = live && o->skip_unchanged && !o->if_match && same_content(&cur, p->res);
    if(same) {
        snprintf(out->id, sizeof out->id, "%s", p->id);
        out->version = cur.version;
        snprintf(out->last_updated, sizeof out->last_updated, "%s", cur.last_updated ? cur.last_updated : "");
        out->unchanged = true;
    }
    store_resource_free(&cur);
    if(rr != KITH_OK && rr != KITH_EGONE && rr != KITH_ENOTFOUND) return finish(c, o, rr);
    if(same) return finish(c, o, KITH_OK);
    if(o->if_match) {
        int64_t want = etag_version(o->if_match);
        if(want < 0 || !live || want != have) {
            fhir_issues_add(issues, "error", "conflict", NULL,
                            "If-Match %s does not match the current version of %s/%s (%s)", o->if_match, p->type,
                            p->id, live ? "see ETag" : "it does not exist");
            return finish(c, o, KITH_ECONFLICT);
        }
    }
    rc = write_prepared(c, p, have + 1, p->assigned_id && have == 0 ? "POST" : "PUT", out);
    if(!rc) out->created = !live;
    rc = finish(c, o, rc);
    if(rc) record_result_free(out);
    return rc;
}

kith_rc record_delete(store_conn *c, const char *type, const char *id, const record_opts *o, record_result *out,
                      fhir_issues *issues) {
    static const record_opts none = {0};
    if(!o) o = &none;
    memset(out, 0, sizeof *out);
    kith_rc rc = begin(c, o);
    if(rc) return rc;
    store_resource cur;
    kith_rc rr = store_read(c, type, id, 0, &cur);
    int64_t have = cur.version;
    char *patient = cur.patient; /* the delete marker stays in the person's record */
    cur.patient = NULL;
    store_resource_free(&cur);
    if(rr == KITH_ENOTFOUND) {
        free(patient);
        fhir_issues_add(issues, "error", "not-found", NULL, "%s/%s does not exist", type, id);
        return finish(c, o, KITH_ENOTFOUND);
    }
    if(rr == KITH_EGONE) {
        free(patient);
        snprintf(out->id, sizeof out->id, "%s", id);
        out->version = have;
        out->unchanged = true;
        return finish(c, o, KITH_OK);
    }
    if(rr) {
        free(patient);
        return finish(c, o, rr);
    }
    if(o->if_match) {
        int64_t want = etag_version(o->if_match);
        if(want != have) {
            free(patient);
            fhir_issues_add(issues, "error", "conflict", NULL,
                            "If-Match %s does not match the current version of %s/%s", o->if_match, type, id);
            return finish(c, o, KITH_ECONFLICT);
        }
    }
    char now[CLOCK_INSTANT_LEN];
    clock_instant_now(now);
    store_put p = {.type = type, .id = id, .version = have + 1, .last_updated = now, .method = "DELETE",
                   .patient = patient};
    rc = store_write(c, &p);
    free(patient);
    if(!rc) {
        snprintf(out->id, sizeof out->id, "%s", id);
        out->version = have + 1;
        snprintf(out->last_updated, sizeof out->last_updated, "%s", now);
    }
    return finish(c, o, rc);
}

/* Resolve a conditional query to at most one id: *id set (caller frees) or
 * NULL for no match; KITH_ECONFLICT when several match. */
static kith_rc match_one(store_conn *c, const char *type, const char *query, char **id, fhir_issues *issues) {
    char **ids = NULL;
    size_t n = 0;
    *id = NULL;
    kith_rc rc = record_match(c, type, query, 2, &ids, &n, issues);
    if(rc) return rc == KITH_EUNSUPPORTED ? KITH_EINVAL : rc;
    if(n > 1) {
        free_ids(ids, n);
        fhir_issues_add(issues, "error", "multiple-matches", NULL,
                        "the condition '%s' matches more than one %s", query, type);
        return KITH_ECONFLICT;
    }
    if(n == 1) *id = ids[0];
    free(ids);
    return KITH_OK;
}

kith_rc record_update_conditional(store_conn *c, const char *type, const char *query, json_value *res,
                                  const record_opts *o, record_result *out, fhir_issues *issues) {
    static const record_opts none = {0};
    if(!o) o = &none;
    memset(out, 0, sizeof *out);
    kith_rc rc = check_body(type, res, issues);
    if(rc) return rc;
    rc = begin(c, o);
    if(rc) return rc;
    char *id = NULL;
    rc = match_one(c, type, query, &id, issues);
    if(rc) return finish(c, o, rc);
    record_opts inner = *o;
    inner.in_transaction = true;
    const char *body_id = json_string(json_get(res, "id"));
    if(id) {
        if(body_id && strcmp(body_id, id) != 0) {
            fhir_issues_add(issues, "error", "invalid", "id", "the body's id '%s' differs from the matched %s/%s",
                            body_id, type, id);
            free(id);
            return finish(c, o, KITH_EINVAL);
        }
        json_set(res, "id", json_new_string(id));
        rc = record_update(c, type, id, res, &inner, out, issues);
    } else if(body_id) {
        char copy[72];
        snprintf(copy, sizeof copy, "%s", body_id);
        rc = record_update(c, type, copy, res, &inner, out, issues);
    } else {
        rc = record_create(c, type, res, &inner, out, issues);
    }
    free(id);
    rc = finish(c, o, rc);
    if(rc) record_result_free(out);
    return rc;
}

kith_rc record_delete_conditional(store_conn *c, const char *type, const char *query, const record_opts *o,
                                  record_result *out, fhir_issues *issues) {
    static const record_opts none = {0};
    if(!o) o = &none;
    memset(out, 0, sizeof *out);
    kith_rc rc = begin(c, o);
    if(rc) return rc;
    char *id = NULL;
    rc = match_one(c, type, query, &id, issues);
    if(rc || !id) return finish(c, o, rc);
    record_opts inner = *o;
    inner.in_transaction = true;
    rc = record_delete(c, type, id, &inner, out, issues);
    free(id);
    return finish(c, o, rc);
}

typedef struct reindex_ctx {
    store_conn *c;
    long done;
    char last_id[72];
    size_t in_page;
    kith_rc rc;
    record_progress_fn fn;
    void *fnctx;
} reindex_ctx;

static int reindex_one(void *vctx, const store_resource *r) {
    reindex_ctx *x = vctx;
    json_value *v = NULL;
    snprintf(x->last_id, sizeof x->last_id, "%s", r->id);
    x->in_page++;
    if(!r->body || json_parse(r->body, r->body_len, &v, NULL, 0)) return 0;
    fhir_index ix = FHIR_INDEX_INIT;
    fhir_index_resource(r->type, v, &ix);
    char *patient = fhir_patient_compartment(r->type, r->id, ix.rows, ix.n);
    x->rc = store_replace_index(x->c, r->type, r->id, patient, ix.rows, ix.n);
    free(patient);
    fhir_index_free(&ix);
    json_free(v);
    x->done++;
    if(x->fn && x->done % 1000 == 0) x->fn(x->fnctx, x->done);
    return x->rc != KITH_OK;
}

bool record_reindex_needed(store_conn *c) {
    char *v = NULL;
    bool needed = store_meta_get(c, "reindex", &v) == KITH_OK && v && strcmp(v, "needed") == 0;
    free(v);
    return needed;
}

kith_rc record_reindex(store_conn *c, record_progress_fn fn, void *ctx, long *count) {
    reindex_ctx x = {.c = c, .fn = fn, .fnctx = ctx};
    for(size_t t = 0; t < fhir_resource_type_count() && !x.rc; t++) {
        const char *type = fhir_resource_type_at(t);
        x.last_id[0] = '\0';
        for(;;) {
            x.in_page = 0;
            kith_rc rc = store_begin(c);
            if(rc) return rc;
            rc = store_list(c, type, x.last_id[0] ? x.last_id : NULL, 500, reindex_one, &x);
            if(!rc) rc = x.rc;
            if(rc) {
                store_rollback(c);
                return rc;
            }
            rc = store_commit(c);
            if(rc) return rc;
            if(x.in_page < 500) break;
        }
    }
    kith_rc rc = store_meta_set(c, "reindex", "done");
    if(count) *count = x.done;
    return rc;
}
