/*
 * cohort.c — cohorts by rules and the risk pyramid (see cohort.h).
 *
 * One pass: the candidates are every Patient (or those the search rules
 * find, intersected); each is read once through the caller's access policy,
 * checked against the age, FHIRPath, frailty, admission risk and recent
 * admission rules, and placed in its neighbourhood (the Organization its GP
 * practice is part of). Emergency admissions are counted once for all
 * people from one Encounter search. Frailty and admission risk are the
 * RiskAssessments `kith frailty` and `kith risk score` write (efi-<id>,
 * ear-<id>); a person without one counts as "not scored".
 */
#include "cohort/cohort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "base/mem.h"
#include "care/care.h"
#include "fhir/access.h"
#include "fhir/fhirpath.h"
#include "fhir/outcome.h"
#include "fhir/record.h"
#include "fhir/rest.h"
#include "json/json.h"

#define MAX_RULES 8
#define MAX_PEOPLE 2000000
#define MAX_RULE_TEXT 1000
#define EXT "https://kith.example.org/fhir/StructureDefinition/"
#define CS "https://kith.example.org/fhir/CodeSystem/"
#define ADMISSION_TYPE CS "encounter-type|emergency-admission"

static const char *const FRAILTY[] = {"fit", "mild", "moderate", "severe"};
static const char *const RISK[] = {"low", "moderate", "high", "very-high"};
#define NFRAILTY 4
#define NRISK 4

typedef struct rules {
    const char *name;
    long age_from, age_to; /* -1: no limit */
    const char *search[MAX_RULES];
    size_t nsearch;
    const char *fhirpath[MAX_RULES];
    size_t nfhirpath;
    int frailty;           /* index in FRAILTY, -1: no rule */
    double risk_from;      /* < 0: no rule */
    long admissions_from;  /* 0: no rule */
    long within_days;
    const char *neighbourhood;
    char as_of[11];
    bool save;
} rules;

/* ---- reading the rules ------------------------------------------------------ */

typedef struct arg {
    const char *name, *value;
} arg;

static int frailty_index(const char *s) {
    for(int i = 0; s && i < NFRAILTY; i++)
        if(strcmp(s, FRAILTY[i]) == 0) return i;
    return -1;
}

static int risk_index(const char *s) {
    for(int i = 0; s && i < NRISK; i++)
        if(strcmp(s, RISK[i]) == 0) return i;
    return -1;
}

static bool whole(const char *s, long lo, long hi, long *out) {
    char *end;
    long v = s && *s ? strtol(s, &end, 10) : 0;
    if(!s || !*s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Fill r from args; false with a reason in why. */
static bool rules_read(const arg *a, size_t n, rules *r, char *why, size_t whylen) {
    memset(r, 0, sizeof *r);
    r->age_from = r->age_to = -1;
    r->frailty = -1;
    r->risk_from = -1;
    r->within_days = 180;
    int64_t now = care_now();
    datetime_format_day(now / 86400, r->as_of);
    for(size_t i = 0; i < n; i++) {
        const char *k = a[i].name, *v = a[i].value ? a[i].value : "";
        if(strlen(v) > MAX_RULE_TEXT) {
            snprintf(why, whylen, "%s is longer than %d characters", k, MAX_RULE_TEXT);
            return false;
        }
        bool ok = true;
        if(strcmp(k, "name") == 0) r->name = v;
        else if(strcmp(k, "age-from") == 0) ok = whole(v, 0, 150, &r->age_from);
        else if(strcmp(k, "age-to") == 0) ok = whole(v, 0, 150, &r->age_to);
        else if(strcmp(k, "search") == 0) {
            if((ok = r->nsearch < MAX_RULES)) r->search[r->nsearch++] = v;
        } else if(strcmp(k, "fhirpath") == 0) {
            if((ok = r->nfhirpath < MAX_RULES)) r->fhirpath[r->nfhirpath++] = v;
        } else if(strcmp(k, "frailty") == 0) ok = (r->frailty = frailty_index(v)) > 0;
        else if(strcmp(k, "admission-risk-from") == 0) {
            char *end;
            r->risk_from = strtod(v, &end);
            ok = *v && !*end && r->risk_from >= 0 && r->risk_from <= 1;
        } else if(strcmp(k, "emergency-admissions-from") == 0) ok = whole(v, 1, 1000, &r->admissions_from);
        else if(strcmp(k, "within-days") == 0) ok = whole(v, 1, 3660, &r->within_days);
        else if(strcmp(k, "neighbourhood") == 0) ok = record_id_valid(v), r->neighbourhood = v;
        else if(strcmp(k, "as-of") == 0) {
            double lo, hi;
            ok = strlen(v) == 10 && datetime_range(v, &lo, &hi);
            if(ok) memcpy(r->as_of, v, 11);
        } else if(strcmp(k, "save") == 0) {
            ok = strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
            r->save = strcmp(v, "true") == 0;
        } else if(strcmp(k, "_format") != 0) {
            snprintf(why, whylen,
                     "unknown rule '%s' (use age-from, age-to, search, fhirpath, frailty, admission-risk-from, "
                     "emergency-admissions-from, within-days, neighbourhood, as-of, name, save)",
                     k);
            return false;
        }
        if(!ok) {
            snprintf(why, whylen, "%s: '%s' is not allowed here%s", k, v,
                     strcmp(k, "frailty") == 0 ? " (mild, moderate or severe)"
                     : strcmp(k, "search") == 0 || strcmp(k, "fhirpath") == 0 ? " (at most 8 of them)"
                                                                                 : "");
            return false;
        }
    }
    if(r->age_from >= 0 && r->age_to >= 0 && r->age_from > r->age_to) {
        snprintf(why, whylen, "age-from is above age-to");
        return false;
    }
    return true;
}

/* The rules as args: the Parameters body of a POST, or the query of a GET.
 * Values are borrowed from *in or req. */
static bool args_of(const http_request *req, json_value **in, arg **a, size_t *n, char *why, size_t whylen) {
    *in = NULL;
    *a = NULL;
    *n = 0;
    if(strcmp(req->method, "GET") == 0) {
        *a = xcalloc(req->nparams + 1, sizeof **a);
        for(size_t i = 0; i < req->nparams; i++) (*a)[(*n)++] = (arg){req->params[i].name, req->params[i].value};
        return true;
    }
    char err[160];
    if(json_parse(req->body, req->body_len, in, err, sizeof err)) {
        snprintf(why, whylen, "the body is not JSON: %s", err);
        return false;
    }
    const char *rt = json_string(json_get(*in, "resourceType"));
    if(!rt || strcmp(rt, "Parameters") != 0) {
        snprintf(why, whylen, "the body must be a Parameters resource");
        return false;
    }
    json_value *ps = json_get(*in, "parameter");
    *a = xcalloc(json_array_len(ps) + 1, sizeof **a);
    for(size_t i = 0; i < json_array_len(ps); i++) {
        json_value *p = json_array_at(ps, i);
        const char *name = json_string(json_get(p, "name"));
        const char *v = NULL;
        static const char *const KINDS[] = {"valueString", "valueCode", "valueDate", "valueInteger", "valueDecimal",
                                            "valueBoolean", "valueId"};
        for(size_t k = 0; k < sizeof KINDS / sizeof *KINDS && !v; k++) {
            json_value *x = json_get(p, KINDS[k]);
            if(!x) continue;
            if(json_kind_of(x) == JSON_STRING) v = json_string(x);
            else if(json_kind_of(x) == JSON_BOOL) v = json_boolean(x) ? "true" : "false";
            else v = json_number_text(x);
        }
        if(!name) {
            snprintf(why, whylen, "parameter %zu has no name", i);
            return false;
        }
        if(!v) {
            snprintf(why, whylen, "parameter '%s' has no value (string, code, date, integer, decimal or boolean)",
                     name);
            return false;
        }
        (*a)[(*n)++] = (arg){name, v};
    }
    return true;
}

/* ---- the population ----------------------------------------------------------- */

typedef struct org {
    char *id, *part_of, *name;
} org;

typedef struct place {
    org *v;
    size_t n;
} place;

static int org_cmp(const void *a, const void *b) { return strcmp(((const org *)a)->id, ((const org *)b)->id); }

static const org *org_find(const place *p, const char *id) {
    org key = {.id = (char *)id};
    return id && p->n ? bsearch(&key, p->v, p->n, sizeof *p->v, org_cmp) : NULL;
}

static json_value *read_json(store_conn *c, const char *type, const char *id) {
    store_resource r = {0};
    json_value *v = NULL;
    if(store_read(c, type, id, 0, &r) == KITH_OK && r.body) json_parse(r.body, r.body_len, &v, NULL, 0);
    store_resource_free(&r);
    return v;
}

static const char *ref_id(const json_value *ref, const char *type) {
    const char *s = json_string(json_get(ref, "reference"));
    size_t n = strlen(type);
    return s && strncmp(s, type, n) == 0 && s[n] == '/' ? s + n + 1 : NULL;
}

static void place_load(store_conn *c, place *p) {
    char **ids = NULL;
    size_t n = 0;
    fhir_issues is = FHIR_ISSUES_INIT;
    p->v = NULL;
    p->n = 0;
    if(record_match(c, "Organization", "_sort=_id", 100000, &ids, &n, &is) == KITH_OK) {
        p->v = xcalloc(n + 1, sizeof *p->v);
        for(size_t i = 0; i < n; i++) {
            json_value *o = read_json(c, "Organization", ids[i]);
            const char *up = ref_id(json_get(o, "partOf"), "Organization"), *name = json_string(json_get(o, "name"));
            p->v[p->n++] = (org){xstrdup(ids[i]), up ? xstrdup(up) : NULL, xstrdup(name ? name : ids[i])};
            json_free(o);
        }
        qsort(p->v, p->n, sizeof *p->v, org_cmp);
    }
    for(size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    fhir_issues_free(&is);
}

static void place_free(place *p) {
    for(size_t i = 0; i < p->n; i++) free(p->v[i].id), free(p->v[i].part_of), free(p->v[i].name);
    free(p->v);
}

/* The neighbourhood of a Patient: what its GP practice is part of (or the
 * practice itself when it is part of nothing). Borrowed, or NULL. */
static const org *neighbourhood_of(const place *pl, const json_value *patient) {
    json_value *gps = json_get(patient, "generalPractitioner");
    for(size_t i = 0; i < json_array_len(gps); i++) {
        const org *o = org_find(pl, ref_id(json_array_at(gps, i), "Organization"));
        if(!o) continue;
        const org *up = org_find(pl, o->part_of);
        return up ? up : o;
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static size_t count_in(char **sorted, size_t n, const char *id) {
    size_t lo = 0, hi = n;
    while(lo < hi) {
        size_t mid = (lo + hi) / 2;
        if(strcmp(sorted[mid], id) < 0) lo = mid + 1;
        else hi = mid;
    }
    size_t k = 0;
    while(lo + k < n && strcmp(sorted[lo + k], id) == 0) k++;
    return k;
}

static void ids_free(char **ids, size_t n) {
    for(size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

/* Whole years from birth (YYYY or YYYY-MM-DD) to as_of, or -1. */
static long age_at(const char *birth, const char *as_of) {
    int by, bm = 1, bd = 1, y, m, d;
    if(!birth || sscanf(birth, "%4d", &by) != 1) return -1;
    if(strlen(birth) >= 10) sscanf(birth + 5, "%2d-%2d", &bm, &bd);
    sscanf(as_of, "%4d-%2d-%2d", &y, &m, &d);
    long age = y - by;
    if(m < bm || (m == bm && d < bd)) age--;
    return age;
}

typedef struct member {
    char *id;
    const org *hood;
    int frailty, risk; /* -1: not scored */
} member;

typedef struct found {
    member *v;
    size_t n;
} found;

/* The people the rules find. KITH_EINVAL with why for a rule that cannot run. */
static kith_rc find_people(store_conn *c, const rules *r, const place *pl, found *out, char *why, size_t whylen) {
    kith_rc rc = KITH_OK;
    char **cand = NULL, **adm = NULL;
    size_t ncand = 0, nadm = 0;
    fhirpath_expr *fp[MAX_RULES] = {NULL};
    fhir_issues is = FHIR_ISSUES_INIT;
    memset(out, 0, sizeof *out);
    for(size_t i = 0; i < r->nfhirpath; i++) {
        size_t at;
        char err[200];
        if(fhirpath_parse(r->fhirpath[i], &fp[i], &at, err, sizeof err)) {
            snprintf(why, whylen, "fhirpath '%s': %s (at %zu)", r->fhirpath[i], err, at);
            rc = KITH_EINVAL;
            goto done;
        }
    }
    /* candidates: everyone, or those every search finds */
    rc = record_match(c, "Patient", r->nsearch ? r->search[0] : "_sort=_id", MAX_PEOPLE, &cand, &ncand, &is);
    for(size_t s = 1; !rc && s < r->nsearch; s++) {
        char **more = NULL;
        size_t nmore = 0;
        rc = record_match(c, "Patient", r->search[s], MAX_PEOPLE, &more, &nmore, &is);
        if(rc) break;
        if(nmore) qsort(more, nmore, sizeof *more, cmp_str);
        size_t k = 0;
        for(size_t i = 0; i < ncand; i++) {
            if(count_in(more, nmore, cand[i])) cand[k++] = cand[i];
            else free(cand[i]);
        }
        ncand = k;
        ids_free(more, nmore);
    }
    if(rc) {
        snprintf(why, whylen, "a search rule cannot run: %s",
                 is.n ? is.v[0].diagnostics : kith_rc_name(rc));
        rc = KITH_EINVAL;
        goto done;
    }
    if(r->admissions_from) { /* emergency admissions in the window, one subject each */
        int y, m, d;
        sscanf(r->as_of, "%4d-%2d-%2d", &y, &m, &d);
        char since[11], q[160], **enc = NULL;
        size_t nenc = 0;
        datetime_format_day(datetime_days_from_civil(y, m, d) - r->within_days, since);
        snprintf(q, sizeof q, "type=%s&date=ge%s", ADMISSION_TYPE, since);
        if(record_match(c, "Encounter", q, MAX_PEOPLE, &enc, &nenc, &is) == KITH_OK) {
            adm = xcalloc(nenc + 1, sizeof *adm);
            for(size_t i = 0; i < nenc; i++) {
                json_value *e = read_json(c, "Encounter", enc[i]);
                const char *who = ref_id(json_get(e, "subject"), "Patient");
                if(who) adm[nadm++] = xstrdup(who);
                json_free(e);
            }
            qsort(adm, nadm, sizeof *adm, cmp_str);
        }
        ids_free(enc, nenc);
    }
    out->v = xcalloc(ncand + 1, sizeof *out->v);
    for(size_t i = 0; i < ncand; i++) {
        json_value *p = read_json(c, "Patient", cand[i]);
        bool keep = p != NULL && !json_boolean(json_get(p, "deceasedBoolean")) && !json_get(p, "deceasedDateTime");
        long age = keep ? age_at(json_string(json_get(p, "birthDate")), r->as_of) : -1;
        if(keep && r->age_from >= 0) keep = age >= r->age_from;
        if(keep && r->age_to >= 0) keep = age >= 0 && age <= r->age_to;
        const org *hood = keep ? neighbourhood_of(pl, p) : NULL;
        if(keep && r->neighbourhood) keep = hood && strcmp(hood->id, r->neighbourhood) == 0;
        for(size_t k = 0; keep && k < r->nfhirpath; k++) {
            fhirpath_result *res = NULL;
            char err[200];
            keep = fhirpath_eval(fp[k], p, NULL, &res, err, sizeof err) == KITH_OK &&
                   fhirpath_result_count(res) == 1 && fhirpath_result_at(res, 0)->kind == FP_BOOLEAN &&
                   fhirpath_result_at(res, 0)->boolean;
            fhirpath_result_free(res);
        }
        if(keep && r->admissions_from) keep = (long)count_in(adm, nadm, cand[i]) >= r->admissions_from;
        int frailty = -1, risk = -1;
        if(keep) {
            char id[96];
            snprintf(id, sizeof id, "efi-%s", cand[i]);
            json_value *ra = read_json(c, "RiskAssessment", id);
            json_value *pred = json_array_at(json_get(ra, "prediction"), 0);
            frailty = frailty_index(json_string(
                json_get(json_array_at(json_get(json_get(pred, "qualitativeRisk"), "coding"), 0), "code")));
            json_free(ra);
            snprintf(id, sizeof id, "ear-%s", cand[i]);
            ra = read_json(c, "RiskAssessment", id);
            pred = json_array_at(json_get(ra, "prediction"), 0);
            risk = risk_index(json_string(
                json_get(json_array_at(json_get(json_get(pred, "qualitativeRisk"), "coding"), 0), "code")));
            const char *pt = json_number_text(json_get(pred, "probabilityDecimal"));
            if(r->risk_from >= 0) keep = pt && strtod(pt, NULL) >= r->risk_from;
            json_free(ra);
        }
        if(keep && r->frailty >= 0) keep = frailty >= r->frailty;
        if(keep) out->v[out->n++] = (member){xstrdup(cand[i]), hood, frailty, risk};
        json_free(p);
    }
done:
    for(size_t i = 0; i < MAX_RULES; i++) fhirpath_free(fp[i]);
    ids_free(cand, ncand);
    ids_free(adm, nadm);
    fhir_issues_free(&is);
    return rc;
}

static void found_free(found *f) {
    for(size_t i = 0; i < f->n; i++) free(f->v[i].id);
    free(f->v);
}

/* ---- answers -------------------------------------------------------------------- */

static void characteristic(json_value *arr, const char *what, const char *kind, json_value *value) {
    json_value *ch = json_new_object(), *code = json_new_object();
    json_set(code, "text", json_new_string(what));
    json_set(ch, "code", code);
    json_set(ch, kind, value);
    json_set(ch, "exclude", json_new_bool(false));
    json_append(arr, ch);
}

static json_value *text_concept(const char *text) {
    json_value *cc = json_new_object();
    json_set(cc, "text", json_new_string(text));
    return cc;
}

static json_value *make_group(const rules *r, const found *f) {
    json_value *g = json_new_object(), *chars = json_new_array(), *members = json_new_array();
    char t[MAX_RULE_TEXT + 64];
    json_set(g, "resourceType", json_new_string("Group"));
    json_set(g, "type", json_new_string("person"));
    json_set(g, "actual", json_new_bool(true));
    snprintf(t, sizeof t, "%s", r->name && *r->name ? r->name : "Cohort");
    json_set(g, "name", json_new_string(t));
    json_set(g, "quantity", json_new_int((int64_t)f->n));
    snprintf(t, sizeof t, "as of %s", r->as_of);
    characteristic(chars, "date the rules were applied", "valueCodeableConcept", text_concept(t));
    if(r->age_from >= 0 || r->age_to >= 0) {
        snprintf(t, sizeof t, "aged %ld to %ld", r->age_from >= 0 ? r->age_from : 0, r->age_to >= 0 ? r->age_to : 150);
        characteristic(chars, "age", "valueCodeableConcept", text_concept(t));
    }
    for(size_t i = 0; i < r->nsearch; i++) {
        snprintf(t, sizeof t, "Patient?%s", r->search[i]);
        characteristic(chars, "found by the search", "valueCodeableConcept", text_concept(t));
    }
    for(size_t i = 0; i < r->nfhirpath; i++)
        characteristic(chars, "FHIRPath true for the Patient", "valueCodeableConcept", text_concept(r->fhirpath[i]));
    if(r->frailty >= 0) {
        json_value *cc = json_new_object(), *coding = json_new_object(), *arr = json_new_array();
        json_set(coding, "system", json_new_string(CS "efi-category"));
        json_set(coding, "code", json_new_string(FRAILTY[r->frailty]));
        json_append(arr, coding);
        json_set(cc, "coding", arr);
        characteristic(chars, "frailty (eFI) at least", "valueCodeableConcept", cc);
    }
    if(r->risk_from >= 0) {
        snprintf(t, sizeof t, "emergency admission risk in 12 months at least %g", r->risk_from);
        characteristic(chars, "admission risk", "valueCodeableConcept", text_concept(t));
    }
    if(r->admissions_from) {
        snprintf(t, sizeof t, "%ld or more emergency admissions in the %ld days before", r->admissions_from,
                 r->within_days);
        characteristic(chars, "recent emergency admissions", "valueCodeableConcept", text_concept(t));
    }
    if(r->neighbourhood) {
        json_value *ref = json_new_object();
        snprintf(t, sizeof t, "Organization/%s", r->neighbourhood);
        json_set(ref, "reference", json_new_string(t));
        characteristic(chars, "neighbourhood", "valueReference", ref);
    }
    json_set(g, "characteristic", chars);
    for(size_t i = 0; i < f->n; i++) {
        json_value *m = json_new_object(), *ref = json_new_object();
        snprintf(t, sizeof t, "Patient/%s", f->v[i].id);
        json_set(ref, "reference", json_new_string(t));
        json_set(m, "entity", ref);
        json_append(members, m);
    }
    if(f->n) json_set(g, "member", members);
    else json_free(members);
    return g;
}

static json_value *part_int(const char *name, long v) {
    json_value *p = json_new_object();
    json_set(p, "name", json_new_string(name));
    json_set(p, "valueInteger", json_new_int(v));
    return p;
}

/* The pyramid: one neighbourhood part per neighbourhood (in id order, "not
 * known" last), each with people, frailty-* and risk-* counts. */
static json_value *make_pyramid(const found *f, const place *pl) {
    json_value *out = json_new_object(), *params = json_new_array();
    json_set(out, "resourceType", json_new_string("Parameters"));
    json_append(params, part_int("people", (long)f->n));
    for(size_t h = 0; h <= pl->n; h++) {
        const org *hood = h < pl->n ? &pl->v[h] : NULL;
        long people = 0, fr[NFRAILTY + 1] = {0}, rk[NRISK + 1] = {0};
        for(size_t i = 0; i < f->n; i++) {
            if(f->v[i].hood != hood) continue;
            people++;
            fr[f->v[i].frailty < 0 ? NFRAILTY : f->v[i].frailty]++;
            rk[f->v[i].risk < 0 ? NRISK : f->v[i].risk]++;
        }
        if(!people) continue;
        json_value *nb = json_new_object(), *parts = json_new_array(), *o = json_new_object();
        json_set(nb, "name", json_new_string("neighbourhood"));
        json_set(o, "name", json_new_string("organization"));
        if(hood) {
            json_value *ref = json_new_object();
            char t[96];
            snprintf(t, sizeof t, "Organization/%s", hood->id);
            json_set(ref, "reference", json_new_string(t));
            json_set(ref, "display", json_new_string(hood->name));
            json_set(o, "valueReference", ref);
        } else {
            json_set(o, "valueString", json_new_string("not known (no GP practice on the record)"));
        }
        json_append(parts, o);
        json_append(parts, part_int("people", people));
        char name[40];
        for(int k = NFRAILTY - 1; k >= 0; k--) {
            snprintf(name, sizeof name, "frailty-%s", FRAILTY[k]);
            json_append(parts, part_int(name, fr[k]));
        }
        json_append(parts, part_int("frailty-not-scored", fr[NFRAILTY]));
        for(int k = NRISK - 1; k >= 0; k--) {
            snprintf(name, sizeof name, "risk-%s", RISK[k]);
            json_append(parts, part_int(name, rk[k]));
        }
        json_append(parts, part_int("risk-not-scored", rk[NRISK]));
        json_set(nb, "part", parts);
        json_append(params, nb);
    }
    json_set(out, "parameter", params);
    return out;
}

static void reply_json(http_response *res, int status, json_value *v) {
    buf_reset(&res->body);
    json_write(&res->body, v);
    res->status = status;
    res->content_type = "application/fhir+json";
}

bool cohort_operation_handle(store_conn *c, const http_request *req, http_response *res, char *const *seg,
                             int nseg) {
    if(nseg != 2 || strcmp(seg[0], "Group") != 0) return false;
    bool pyramid = strcmp(seg[1], "$risk-pyramid") == 0;
    if(!pyramid && strcmp(seg[1], "$cohort") != 0) return false;
    res->route = pyramid ? "fhir.risk-pyramid" : "fhir.cohort";
    json_value *in = NULL, *answer = NULL;
    arg *a = NULL;
    size_t n = 0;
    place pl = {0};
    found f = {0};
    char why[1200];
    rules r;
    if(strcmp(req->method, "POST") != 0 && !(pyramid && strcmp(req->method, "GET") == 0)) {
        fhir_reply_error(res, 405, "not-supported", "%s takes %s", seg[1], pyramid ? "GET or POST" : "POST");
        return true;
    }
    if(!access_permit(res, "Patient", 's', "search")) return true;
    if(!args_of(req, &in, &a, &n, why, sizeof why) || !rules_read(a, n, &r, why, sizeof why)) {
        fhir_reply_error(res, 400, "invalid", "%s", why);
        goto done;
    }
    if(r.save && (pyramid || !access_permit(res, "Group", 'c', "create"))) {
        if(pyramid) fhir_reply_error(res, 400, "invalid", "save belongs to $cohort, not $risk-pyramid");
        goto done;
    }
    place_load(c, &pl);
    kith_rc rc = find_people(c, &r, &pl, &f, why, sizeof why);
    if(rc) {
        fhir_reply_error(res, 400, "invalid", "%s", why);
        goto done;
    }
    if(pyramid) {
        answer = make_pyramid(&f, &pl);
        reply_json(res, 200, answer);
        goto done;
    }
    answer = make_group(&r, &f);
    if(!r.save) {
        reply_json(res, 200, answer);
        goto done;
    }
    record_result out = {0};
    fhir_issues is = FHIR_ISSUES_INIT;
    rc = record_create(c, "Group", answer, NULL, &out, &is);
    if(rc) fhir_reply_outcome(res, rc == KITH_EINVALID ? 422 : 500, &is);
    else {
        buf_reset(&res->body);
        buf_append(&res->body, out.body, out.body_len);
        res->status = 201;
        res->content_type = "application/fhir+json";
        char loc[256];
        snprintf(loc, sizeof loc, "%s/fhir/Group/%s/_history/%lld", req->base_url, out.id, (long long)out.version);
        http_response_header(res, "Location", loc);
    }
    record_result_free(&out);
    fhir_issues_free(&is);
done:
    found_free(&f);
    place_free(&pl);
    json_free(answer);
    json_free(in);
    free(a);
    return true;
}
