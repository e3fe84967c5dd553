/*
 * match.c — Patient/$match (see match.h).
 *
 * Candidates come from three blocks: the same valid NHS number, the same
 * date of birth, the same family name. Each candidate is scored field by
 * field (agreement adds, disagreement subtracts; names by Jaro-Winkler
 * bands), and graded: certain (same valid NHS number and date of birth),
 * probable, possible, and certainly-not (alike in every other way, but with
 * another valid NHS number); the rest are left out. Every read goes through the
 * request's access policy, so nobody learns of a person they may not see.
 * Thread-safe: all state is per call.
 */
#include "link/match.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/nhs_number.h"
#include "fhir/access.h"
#include "fhir/outcome.h"
#include "fhir/record.h"
#include "json/json.h"

#define NHS_SYSTEM "https://fhir.nhs.uk/Id/nhs-number"
#define BLOCK_MAX 500
#define COUNT_MAX 100

double link_jaro_winkler(const char *a, const char *b) {
    size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0;
    if(!la || !lb) return 0.0;
    if(la > 64) la = 64;
    if(lb > 64) lb = 64;
    size_t window = (la > lb ? la : lb) / 2;
    window = window ? window - 1 : 0;
    bool ma[64] = {false}, mb[64] = {false};
    size_t matches = 0;
    for(size_t i = 0; i < la; i++) {
        size_t lo = i > window ? i - window : 0, hi = i + window + 1 < lb ? i + window + 1 : lb;
        for(size_t j = lo; j < hi; j++) {
            if(mb[j] || tolower((unsigned char)a[i]) != tolower((unsigned char)b[j])) continue;
            ma[i] = mb[j] = true;
            matches++;
            break;
        }
    }
    if(!matches) return 0.0;
    size_t t = 0, k = 0;
    for(size_t i = 0; i < la; i++) {
        if(!ma[i]) continue;
        while(!mb[k]) k++;
        if(tolower((unsigned char)a[i]) != tolower((unsigned char)b[k])) t++;
        k++;
    }
    double m = (double)matches;
    double jaro = (m / (double)la + m / (double)lb + (m - (double)t / 2.0) / m) / 3.0;
    size_t prefix = 0;
    while(prefix < 4 && prefix < la && prefix < lb &&
          tolower((unsigned char)a[prefix]) == tolower((unsigned char)b[prefix]))
        prefix++;
    return jaro + (double)prefix * 0.1 * (1.0 - jaro);
}

/* What the comparison uses of a Patient. */
typedef struct person {
    char nhs[11]; /* a valid NHS number, or "" */
    const char *family, *given, *birth, *gender, *postcode;
} person;

static void person_of(const json_value *p, person *out) {
    memset(out, 0, sizeof *out);
    json_value *ids = json_get(p, "identifier");
    for(size_t i = 0; i < json_array_len(ids); i++) {
        json_value *id = json_array_at(ids, i);
        const char *sys = json_string(json_get(id, "system")), *v = json_string(json_get(id, "value"));
        char digits[11];
        if(sys && v && strcmp(sys, NHS_SYSTEM) == 0 && nhs_number_parse(v, digits) == NHS_NUMBER_OK) {
            memcpy(out->nhs, digits, sizeof digits);
            break;
        }
    }
    json_value *name = json_array_at(json_get(p, "name"), 0);
    out->family = json_string(json_get(name, "family"));
    out->given = json_string(json_array_at(json_get(name, "given"), 0));
    out->birth = json_string(json_get(p, "birthDate"));
    out->gender = json_string(json_get(p, "gender"));
    out->postcode = json_string(json_get(json_array_at(json_get(p, "address"), 0), "postalCode"));
}

/* The postcode without spaces, upper case, in out (at most 9 characters). */
static void postcode_key(const char *s, char out[10]) {
    size_t k = 0;
    for(; s && *s && k < 9; s++)
        if(isalnum((unsigned char)*s)) out[k++] = (char)toupper((unsigned char)*s);
    out[k] = '\0';
}

/* The score of candidate c against the person asked about, whether it is
 * certain, and whether another valid NHS number rules it out. */
static double score(const person *q, const person *c, bool *certain, bool *ruled_out) {
    double s = 0;
    bool nhs_same = q->nhs[0] && c->nhs[0] && strcmp(q->nhs, c->nhs) == 0;
    *ruled_out = q->nhs[0] && c->nhs[0] && !nhs_same;
    if(q->nhs[0] && c->nhs[0]) s += nhs_same ? 10 : -10;
    bool birth_same = q->birth && c->birth && strcmp(q->birth, c->birth) == 0;
    if(q->birth && c->birth) {
        /* day and month swapped, or one digit wrong: a typing slip, not a different person */
        size_t diff = 0;
        for(size_t i = 0; q->birth[i] && c->birth[i]; i++) diff += q->birth[i] != c->birth[i];
        s += birth_same ? 4 : diff == 1 ? 1 : -3;
    }
    if(q->family && c->family) {
        double jw = link_jaro_winkler(q->family, c->family);
        s += jw >= 0.97 ? 3 : jw >= 0.88 ? 1.5 : -2;
    }
    if(q->given && c->given) {
        double jw = link_jaro_winkler(q->given, c->given);
        s += jw >= 0.95 ? 2 : jw >= 0.85 ? 1 : -1;
    }
    if(q->gender && c->gender && strcmp(q->gender, "unknown") != 0 && strcmp(c->gender, "unknown") != 0)
        s += strcmp(q->gender, c->gender) == 0 ? 0.5 : -2;
    if(q->postcode && c->postcode) {
        char a[10], b[10];
        postcode_key(q->postcode, a);
        postcode_key(c->postcode, b);
        size_t la = strlen(a), lb = strlen(b);
        /* the sector: all but the last two characters */
        bool sector = la > 2 && lb > 2 && la == lb && strncmp(a, b, la - 2) == 0;
        s += strcmp(a, b) == 0 ? 2 : sector ? 1 : 0;
    }
    *certain = nhs_same && birth_same;
    return s;
}

typedef struct candidate {
    char *id;
    double score;
    bool certain;
    bool ruled_out; /* looks alike but has another valid NHS number: certainly not */
} candidate;

/* Best first; the people certainly not this one last. */
static int by_score(const void *a, const void *b) {
    const candidate *x = a, *y = b;
    if(x->ruled_out != y->ruled_out) return x->ruled_out ? 1 : -1;
    if(x->score != y->score) return x->score < y->score ? 1 : -1;
    return strcmp(x->id, y->id);
}

static void add_block(store_conn *c, const char *query, char ***ids, size_t *n) {
    char **found = NULL;
    size_t m = 0;
    fhir_issues is = FHIR_ISSUES_INIT;
    if(record_match(c, "Patient", query, BLOCK_MAX, &found, &m, &is) == KITH_OK) {
        *ids = xrealloc(*ids, (*n + m + 1) * sizeof **ids);
        for(size_t i = 0; i < m; i++) (*ids)[(*n)++] = found[i];
    } else {
        for(size_t i = 0; i < m; i++) free(found[i]);
    }
    free(found);
    fhir_issues_free(&is);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A query value made safe for a FHIR search string (no separators). */
static bool plain(const char *s) {
    return s && *s && strlen(s) < 100 && !strpbrk(s, "&=,|$\\");
}

static const json_value *param(const json_value *params, const char *name) {
    json_value *p = json_get(params, "parameter");
    for(size_t i = 0; i < json_array_len(p); i++) {
        const char *n = json_string(json_get(json_array_at(p, i), "name"));
        if(n && strcmp(n, name) == 0) return json_array_at(p, i);
    }
    return NULL;
}

void link_match_handle(store_conn *c, const http_request *req, http_response *res) {
    res->route = "link.match";
    if(strcmp(req->method, "POST") != 0) {
        fhir_method_not_allowed(res, "POST", "$match");
        return;
    }
    if(!access_permit(res, "Patient", 's', "search-type")) return;
    json_value *in = NULL;
    char err[200];
    if(!req->body_len || json_parse(req->body, req->body_len, &in, err, sizeof err)) {
        fhir_reply_error(res, 400, "structure", "$match takes a Parameters resource (JSON) holding the Patient");
        return;
    }
    const char *rt = json_string(json_get(in, "resourceType"));
    const json_value *pr = rt && strcmp(rt, "Parameters") == 0 ? json_get(param(in, "resource"), "resource") : NULL;
    const char *prt = json_string(json_get(pr, "resourceType"));
    if(!prt || strcmp(prt, "Patient") != 0) {
        fhir_reply_error(res, 400, "required", "$match needs the parameter 'resource' holding a Patient");
        json_free(in);
        return;
    }
    int64_t count = 10;
    const json_value *cp = param(in, "count");
    if(cp && (!json_int64(json_get(cp, "valueInteger"), &count) || count < 1 || count > COUNT_MAX)) {
        fhir_reply_error(res, 400, "value", "count must be a whole number from 1 to %d", COUNT_MAX);
        json_free(in);
        return;
    }
    bool only_certain = json_boolean(json_get(param(in, "onlyCertainMatches"), "valueBoolean"));
    person q;
    person_of(pr, &q);
    if(!q.nhs[0] && !(q.birth && q.family)) {
        fhir_reply_error(res, 422, "required",
                         "give at least a valid NHS number, or a family name and a date of birth, to match on");
        json_free(in);
        return;
    }
    char **ids = NULL;
    size_t n = 0;
    char query[200];
    if(q.nhs[0]) {
        snprintf(query, sizeof query, "identifier=" NHS_SYSTEM "|%s", q.nhs);
        add_block(c, query, &ids, &n);
    }
    if(plain(q.birth)) {
        snprintf(query, sizeof query, "birthdate=%s", q.birth);
        add_block(c, query, &ids, &n);
    }
    if(plain(q.family)) {
        snprintf(query, sizeof query, "family=%s", q.family);
        add_block(c, query, &ids, &n);
    }
    if(n) qsort(ids, n, sizeof *ids, cmp_str);
    candidate *cands = xcalloc(n ? n : 1, sizeof *cands);
    size_t nc = 0;
    for(size_t i = 0; i < n; i++) {
        if(i && strcmp(ids[i], ids[i - 1]) == 0) continue;
        store_resource r;
        json_value *p = NULL;
        if(store_read(c, "Patient", ids[i], 0, &r) == KITH_OK && r.body && !json_parse(r.body, r.body_len, &p, NULL, 0)) {
            person cp_;
            person_of(p, &cp_);
            bool certain, ruled_out;
            double s = score(&q, &cp_, &certain, &ruled_out);
            /* Someone who would be probable but for another valid NHS number is
             * shown as certainly not: the person at the desk learns there is a
             * namesake, and that it is not this person. */
            if(ruled_out && s + 10 >= 7) cands[nc++] = (candidate){xstrdup(ids[i]), 0, false, true};
            else if(certain || s >= 4) cands[nc++] = (candidate){xstrdup(ids[i]), s, certain, false};
        }
        json_free(p);
        store_resource_free(&r);
    }
    qsort(cands, nc, sizeof *cands, by_score);
    buf *b = &res->body;
    buf_reset(b);
    size_t shown = 0;
    buf_puts(b, "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[");
    for(size_t i = 0; i < nc && shown < (size_t)count; i++) {
        if(only_certain && !cands[i].certain) continue;
        store_resource r;
        if(store_read(c, "Patient", cands[i].id, 0, &r) == KITH_OK && r.body) {
            const char *grade = cands[i].certain     ? "certain"
                                : cands[i].ruled_out ? "certainly-not"
                                : cands[i].score >= 7 ? "probable"
                                                      : "possible";
            double norm = cands[i].certain ? 1.0 : cands[i].ruled_out ? 0.0 : cands[i].score / 12.0;
            if(norm > 0.99 && !cands[i].certain) norm = 0.99;
            buf_printf(b, "%s{\"fullUrl\":\"%s/fhir/Patient/%s\",\"resource\":", shown ? "," : "", req->base_url,
                       cands[i].id);
            buf_append(b, r.body, r.body_len);
            buf_printf(b, ",\"search\":{\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/match-grade\","
                          "\"valueCode\":\"%s\"}],\"mode\":\"match\",\"score\":%.2f}}",
                       grade, norm);
            shown++;
        }
        store_resource_free(&r);
    }
    buf_printf(b, "],\"total\":%zu}", shown);
    res->status = 200;
    res->content_type = "application/fhir+json";
    for(size_t i = 0; i < nc; i++) free(cands[i].id);
    free(cands);
    for(size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    json_free(in);
}
