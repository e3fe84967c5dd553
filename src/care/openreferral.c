/*
 * openreferral.c — the Open Referral UK read API of the service directory
 * (UK profile 3.0, "HSDS-UK-3.0"): routing, query parameters, filters,
 * paging and error replies (see openreferral.h and docs/openreferral.md);
 * openreferral_map.c maps the FHIR resources to ORUK objects and ids.
 *
 * Every answer is computed from the store when it is asked for: the
 * HealthcareService resources are scanned (a place's directory holds
 * hundreds to a few thousand), filtered in memory, sorted by name and cut
 * into the requested page; only the services on the page are then read
 * again and mapped. Nothing is cached, so the API shows every write at once.
 * Threading: runs on the server's worker threads; all state is per request,
 * on the calling thread's store connection. Public: no viewer is set.
 */
#include "care/openreferral.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "base/id.h"
#include "base/log.h"
#include "base/mem.h"
#include "care/openreferral_int.h"
#include "json/json.h"

#define ORUK_VERSION "HSDS-UK-3.0"
#define ORUK_PROFILE_URL "https://github.com/OpenReferralUK/uk-profile/blob/main/docs/index.md"
#define ORUK_OPENAPI_URL "https://docs.openreferraluk.org/en/latest/openapi30.json"
#define ORUK_JSON "application/json"

#define PER_PAGE_DEFAULT 50
#define PER_PAGE_MAX 1000
#define PAGE_MAX 1000000
#define SEARCH_MAX 256   /* bytes of search text */
#define SEARCH_WORDS 16  /* words of search text */
#define SEGMENT_MAX 128  /* bytes of a path segment */
#define AGE_MAX 150.0

#define STR_(x) #x
#define XSTR(x) STR_(x)

/* ---- replies ------------------------------------------------------------- */

static const char *status_text(int status) {
    switch(status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* An error as {"status":..,"error":..,"message":..,"path":..}. */
static void reply_error(http_response *res, const http_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_error(http_response *res, const http_request *req, int status, const char *fmt, ...) {
    buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    json_value *e = json_new_object();
    json_set(e, "status", json_new_int(status));
    json_set(e, "error", json_new_string(status_text(status)));
    json_set(e, "message", json_new_string(buf_str(&msg)));
    json_set(e, "path", json_new_string(req->path));
    res->status = status;
    res->content_type = ORUK_JSON;
    buf_reset(&res->body);
    json_write(&res->body, e);
    json_free(e);
    buf_free(&msg);
}

static void reply_store_error(http_response *res, const http_request *req, kith_rc rc) {
    int status = fhir_rest_status_for(rc);
    reply_error(res, req, status >= 500 ? status : 500, "the directory could not be read: %s", kith_rc_name(rc));
}

/* Reply 200 with v (consumed). */
static void reply_json(http_response *res, json_value *v) {
    res->status = 200;
    res->content_type = ORUK_JSON;
    buf_reset(&res->body);
    json_write(&res->body, v);
    json_free(v);
}

/* ---- query parameters ---------------------------------------------------- */

/* The outward code (postcode district) of a postcode or district, upper
 * case, without spaces, into out; false if s is neither. */
static bool postcode_district(const char *s, char out[9]) {
    char pc[16];
    size_t n = 0;
    for(; *s; s++) {
        if(*s == ' ') continue;
        if(!isalnum((unsigned char)*s) || n >= 8) return false;
        pc[n++] = (char)toupper((unsigned char)*s);
    }
    pc[n] = '\0';
    /* a full postcode ends in the inward code: a digit and two letters */
    if(n >= 5 && isdigit((unsigned char)pc[n - 3]) && isalpha((unsigned char)pc[n - 2]) &&
       isalpha((unsigned char)pc[n - 1]))
        n -= 3;
    if(n < 2 || n > 4 || !isalpha((unsigned char)pc[0])) return false;
    memcpy(out, pc, n);
    out[n] = '\0';
    return true;
}

typedef struct paging {
    long page, per_page;
} paging;

typedef struct filter {
    char text[SEARCH_MAX + 1]; /* the search words, lower case, NUL-separated */
    const char *words[SEARCH_WORDS];
    size_t nwords;
    char term[ORUK_UUID_LEN], taxonomy[ORUK_UUID_LEN], org[ORUK_UUID_LEN]; /* "" when not asked */
    bool has_min, has_max;
    double min_age, max_age;
    unsigned day;              /* a bit as in oruk_days_of, 0: any */
    char opens[9], closes[9];  /* HH:MM:SS, "" when not asked */
    bool has_modified;
    double modified_after;     /* seconds since 1970 */
    char district[9];          /* a postcode district, "" when not asked */
} filter;

static const char *const LIST_PARAMS[] = {"search",      "text",        "page",         "per_page",
                                          "taxonomy_term_id", "taxonomy_id", "organization_id", "minimum_age",
                                          "maximum_age", "start_time",  "end_time",     "day",
                                          "modified_after", "postcode", "proximity",   NULL};
static const char *const PAGE_PARAMS[] = {"page", "per_page", NULL};

static bool in_list(const char *const *list, const char *s) {
    for(; *list; list++)
        if(strcmp(*list, s) == 0) return true;
    return false;
}

static bool parse_whole(const char *v, long lo, long hi, long *out) {
    size_t n = strlen(v);
    if(n == 0 || n > 9 || strspn(v, "0123456789") != n) return false;
    long x = strtol(v, NULL, 10);
    if(x < lo || x > hi) return false;
    *out = x;
    return true;
}

static bool parse_age(const char *v, double *out) {
    char *end = NULL;
    if(!*v || isspace((unsigned char)*v)) return false;
    double x = strtod(v, &end);
    if(*end || !isfinite(x) || x < 0 || x > AGE_MAX) return false;
    *out = x;
    return true;
}

/* "HH:MM" or "HH:MM:SS" into out as HH:MM:SS. */
static bool parse_time(const char *v, char out[9]) {
    size_t n = strlen(v);
    if(n != 5 && n != 8) return false;
    for(size_t i = 0; i < n; i++)
        if(i % 3 == 2 ? v[i] != ':' : !isdigit((unsigned char)v[i])) return false;
    if(v[0] > '2' || (v[0] == '2' && v[1] > '3') || v[3] > '5' || (n == 8 && v[6] > '5')) return false;
    memcpy(out, v, n);
    memcpy(out + n, ":00", 8 - n);
    out[8] = '\0';
    return true;
}

/* A day as RFC 5545 (MO), FHIR (mon) or its English name, in any case. */
static bool parse_day(const char *v, unsigned *out) {
    for(int k = 0; k < 7; k++)
        if(strcasecmp(v, ORUK_DAY_RRULE[k]) == 0 || strcasecmp(v, ORUK_DAY_CODE[k]) == 0 ||
           strcasecmp(v, ORUK_DAY_NAME[k]) == 0) {
            *out = 1u << k;
            return true;
        }
    return false;
}

static bool parse_uuid(const char *v, char out[ORUK_UUID_LEN]) {
    if(!id_is_uuid(v)) return false;
    oruk_lower_copy(out, v, ORUK_UUID_LEN);
    return true;
}

/*
 * Check the query against the parameters the endpoint takes (allowed) and
 * read them into p and f (f may be NULL for endpoints without filters).
 * False with a message in err for an unknown, repeated or malformed one.
 */
static bool parse_params(const http_request *req, const char *const *allowed, paging *p, filter *f, char *err,
                         size_t errlen) {
    p->page = 1;
    p->per_page = PER_PAGE_DEFAULT;
    if(f) memset(f, 0, sizeof *f);
    for(size_t i = 0; i < req->nparams; i++) {
        const char *n = req->params[i].name, *v = req->params[i].value ? req->params[i].value : "";
        if(!in_list(allowed, n)) {
            buf list = BUF_INIT;
            for(const char *const *a = allowed; *a; a++) buf_printf(&list, "%s%s", list.len ? ", " : "", *a);
            snprintf(err, errlen, "unknown parameter '%.64s': this endpoint takes %s", n, buf_str(&list));
            buf_free(&list);
            return false;
        }
        for(size_t j = 0; j < i; j++)
            if(strcmp(req->params[j].name, n) == 0 ||
               (strcmp(n, "search") == 0 && strcmp(req->params[j].name, "text") == 0) ||
               (strcmp(n, "text") == 0 && strcmp(req->params[j].name, "search") == 0)) {
                snprintf(err, errlen, "parameter '%s' is given more than once", n);
                return false;
            }
        bool ok = true;
        const char *want = "";
        if(strcmp(n, "page") == 0) {
            ok = parse_whole(v, 1, PAGE_MAX, &p->page);
            want = "a whole number from 1 to " XSTR(PAGE_MAX);
        } else if(strcmp(n, "per_page") == 0) {
            ok = parse_whole(v, 1, PER_PAGE_MAX, &p->per_page);
            want = "a whole number from 1 to " XSTR(PER_PAGE_MAX);
        } else if(strcmp(n, "search") == 0 || strcmp(n, "text") == 0) {
            ok = strlen(v) <= SEARCH_MAX;
            want = "at most " XSTR(SEARCH_MAX) " bytes of text";
            if(ok) {
                char *save = NULL;
                oruk_lower_copy(f->text, v, sizeof f->text);
                for(char *w = strtok_r(f->text, " \t\r\n", &save); w && ok; w = strtok_r(NULL, " \t\r\n", &save)) {
                    ok = f->nwords < SEARCH_WORDS;
                    want = "at most " XSTR(SEARCH_WORDS) " words";
                    if(ok) f->words[f->nwords++] = w;
                }
            }
        } else if(strcmp(n, "taxonomy_term_id") == 0 || strcmp(n, "taxonomy_id") == 0 ||
                  strcmp(n, "organization_id") == 0) {
            ok = parse_uuid(v, n[0] == 'o' ? f->org : strcmp(n, "taxonomy_id") == 0 ? f->taxonomy : f->term);
            want = "a UUID";
        } else if(strcmp(n, "minimum_age") == 0) {
            ok = f->has_min = parse_age(v, &f->min_age);
            want = "a number of years from 0 to 150";
        } else if(strcmp(n, "maximum_age") == 0) {
            ok = f->has_max = parse_age(v, &f->max_age);
            want = "a number of years from 0 to 150";
        } else if(strcmp(n, "start_time") == 0 || strcmp(n, "end_time") == 0) {
            ok = parse_time(v, n[0] == 's' ? f->opens : f->closes);
            want = "a time of day as HH:MM or HH:MM:SS";
        } else if(strcmp(n, "day") == 0) {
            ok = parse_day(v, &f->day);
            want = "a day of the week (MO, TU, WE, TH, FR, SA, SU)";
        } else if(strcmp(n, "modified_after") == 0) {
            double hi;
            ok = f->has_modified = datetime_range(v, &f->modified_after, &hi);
            want = "a date or date-time (2024-04-01, 2024-04-01T09:00:00Z)";
        } else if(strcmp(n, "postcode") == 0) {
            ok = postcode_district(v, f->district);
            want = "a UK postcode or postcode district (KH1 4GH, KH1)";
        } else if(strcmp(n, "proximity") == 0) {
            snprintf(err, errlen, "proximity is not supported: Kith holds no postcode centroids to measure from "
                                  "(use postcode alone to find services covering a postcode)");
            return false;
        }
        if(!ok) {
            snprintf(err, errlen, "%s must be %s, not '%.64s'", n, want, v);
            return false;
        }
    }
    return true;
}

/* ---- finding services ---------------------------------------------------- */

/* A service (or one of its locations) that passed the filters so far. */
static double number_of(const json_value *n, double dflt) {
    const char *t = json_number_text(n);
    return t ? strtod(t, NULL) : dflt;
}

typedef struct hit {
    char *id;            /* HealthcareService id; owned */
    char *key;           /* sort key: the name in lower case; owned */
    char *loc;           /* service_at_locations: the Location id; owned; NULL for services */
    bool check_postcode; /* the postcode filter still needs the Locations' postcodes */
} hit;

typedef struct hits {
    hit *v;
    size_t n, cap;
} hits;

static void hits_add(hits *h, const char *id, const char *name, const char *loc, bool check_postcode) {
    if(h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = xrealloc(h->v, h->cap * sizeof *h->v);
    }
    hit *x = &h->v[h->n++];
    x->id = xstrdup(id);
    x->key = xstrdup(name);
    for(char *p = x->key; *p; p++) *p = (char)tolower((unsigned char)*p);
    x->loc = loc ? xstrdup(loc) : NULL;
    x->check_postcode = check_postcode;
}

static void hits_free(hits *h) {
    for(size_t i = 0; i < h->n; i++) {
        free(h->v[i].id);
        free(h->v[i].key);
        free(h->v[i].loc);
    }
    free(h->v);
    memset(h, 0, sizeof *h);
}

static int hit_cmp(const void *a, const void *b) {
    const hit *x = a, *y = b;
    int d = strcmp(x->key, y->key);
    if(!d) d = strcmp(x->id, y->id);
    if(!d && x->loc && y->loc) d = strcmp(x->loc, y->loc);
    return d;
}

/* Append " s" to b unless s is NULL. */
static void add_word(buf *b, const char *s) {
    if(s) buf_printf(b, " %s", s);
}

/* Append the words of a CodeableConcept: text, codes and displays (Kith's
 * names for its own codes when the coding has no display). */
static void add_concept_words(buf *b, const json_value *cc) {
    add_word(b, oruk_str_of(cc, "text"));
    const json_value *codings = json_get(cc, "coding");
    for(size_t i = 0; i < json_array_len(codings); i++) {
        const json_value *cd = json_array_at(codings, i);
        const char *system = oruk_str_of(cd, "system"), *code = oruk_str_of(cd, "code");
        const char *display = oruk_str_of(cd, "display");
        const oruk_known_term *kt = system && code ? oruk_known_term_of(oruk_known_taxonomy_of(system), code) : NULL;
        add_word(b, code);
        add_word(b, display ? display : kt ? kt->name : NULL);
    }
}

/* Does every search word occur in the service's words (name, descriptions,
 * categories, types, needs, eligibility, programmes)? */
static bool text_matches(const json_value *hs, const filter *f) {
    if(!f->nwords) return true;
    buf b = BUF_INIT;
    static const char *const TEXTS[] = {"name", "comment", "extraDetails"};
    for(size_t i = 0; i < sizeof TEXTS / sizeof *TEXTS; i++) add_word(&b, oruk_str_of(hs, TEXTS[i]));
    static const char *const CONCEPTS[] = {"category", "type", "specialty", "characteristic", "program"};
    for(size_t e = 0; e < sizeof CONCEPTS / sizeof *CONCEPTS; e++) {
        const json_value *ccs = json_get(hs, CONCEPTS[e]);
        for(size_t i = 0; i < json_array_len(ccs); i++) add_concept_words(&b, json_array_at(ccs, i));
    }
    const json_value *elig = json_get(hs, "eligibility");
    for(size_t i = 0; i < json_array_len(elig); i++) {
        add_concept_words(&b, json_get(json_array_at(elig, i), "code"));
        add_word(&b, oruk_str_of(json_array_at(elig, i), "comment"));
    }
    for(size_t i = 0; i < b.len; i++) b.data[i] = (char)tolower((unsigned char)b.data[i]);
    bool all = true;
    for(size_t i = 0; i < f->nwords && all; i++) all = strstr(buf_str(&b), f->words[i]) != NULL;
    buf_free(&b);
    return all;
}

typedef struct term_match {
    const filter *f;
    bool term, taxonomy; /* found */
} term_match;

static void match_coding(void *ctx, const char *element, const char *system, const char *code, const char *display) {
    (void)element;
    (void)display;
    term_match *m = ctx;
    char id[ORUK_UUID_LEN];
    if(m->f->term[0] && !m->term) {
        oruk_term_id(system, code, id);
        m->term = strcmp(id, m->f->term) == 0;
    }
    if(m->f->taxonomy[0] && !m->taxonomy) {
        oruk_taxonomy_id(system, id);
        m->taxonomy = strcmp(id, m->f->taxonomy) == 0;
    }
}

/* Is one availableTime entry open on the day and within the hours asked for? */
static bool hours_match(const json_value *hs, const filter *f) {
    if(!f->day && !f->opens[0] && !f->closes[0]) return true;
    const json_value *times = json_get(hs, "availableTime");
    for(size_t i = 0; i < json_array_len(times); i++) {
        const json_value *at = json_array_at(times, i);
        const char *opens, *closes;
        bool hours = oruk_hours_of(at, &opens, &closes);
        if(f->day && !(oruk_days_of(at) & f->day)) continue;
        if(f->opens[0] && (!hours || strncmp(opens, f->opens, 8) < 0)) continue;
        if(f->closes[0] && (!hours || strncmp(closes, f->closes, 8) > 0)) continue;
        return true;
    }
    return false;
}

/* The postcode filter on Kith's postcode districts: 1 matches, 0 does not,
 * -1 the service names none (its Locations decide). */
static int district_match(const json_value *hs, const filter *f) {
    const json_value *exts = json_get(hs, "extension");
    int named = -1;
    for(size_t i = 0; i < json_array_len(exts); i++) {
        const json_value *x = json_array_at(exts, i);
        const char *u = oruk_str_of(x, "url"), *v = oruk_str_of(x, "valueString");
        if(!u || strcmp(u, ORUK_EXT_DISTRICT) != 0 || !v) continue;
        named = 0;
        if(strcasecmp(v, f->district) == 0) return 1;
    }
    return named;
}

/* Does the service pass every filter but those on its Locations? */
static bool service_matches(const json_value *hs, const filter *f) {
    if(!text_matches(hs, f) || !hours_match(hs, f)) return false;
    if(f->term[0] || f->taxonomy[0]) {
        term_match m = {.f = f};
        oruk_each_coding(hs, match_coding, &m);
        if((f->term[0] && !m.term) || (f->taxonomy[0] && !m.taxonomy)) return false;
    }
    if(f->org[0]) {
        char org[72], uuid[ORUK_UUID_LEN];
        if(!oruk_ref_id(json_get(hs, "providedBy"), "Organization", org)) return false;
        oruk_id("Organization", org, uuid);
        if(strcmp(uuid, f->org) != 0) return false;
    }
    if(f->has_min || f->has_max) {
        const json_value *min, *max;
        oruk_ages_of(hs, &min, &max);
        if(f->has_min && number_of(min, 0) < f->min_age) return false;
        if(f->has_max && number_of(max, INFINITY) > f->max_age) return false;
    }
    if(f->has_modified) {
        double lo, hi;
        const char *updated = oruk_str_of(json_get(hs, "meta"), "lastUpdated");
        if(!updated || !datetime_range(updated, &lo, &hi) || lo < f->modified_after) return false;
    }
    return true;
}

typedef struct scan_ctx {
    const filter *f;
    bool at_locations; /* one hit per location reference */
    hits *h;
} scan_ctx;

static int scan_service(void *ctx, const store_resource *r) {
    scan_ctx *s = ctx;
    json_value *hs = NULL;
    if(!r->body || json_parse(r->body, r->body_len, &hs, NULL, 0)) return 0;
    if(service_matches(hs, s->f)) {
        int district = s->f->district[0] ? district_match(hs, s->f) : 1;
        const char *name = oruk_str_of(hs, "name") ? oruk_str_of(hs, "name") : r->id;
        if(district != 0 && !s->at_locations) {
            hits_add(s->h, r->id, name, NULL, district < 0);
        } else if(district != 0) {
            const json_value *locs = json_get(hs, "location");
            for(size_t i = 0; i < json_array_len(locs); i++) {
                char loc[72];
                if(oruk_ref_id(json_array_at(locs, i), "Location", loc)) hits_add(s->h, r->id, name, loc, district < 0);
            }
        }
    }
    json_free(hs);
    return 0;
}

/* Is Location/id's postcode in the district? */
static bool location_in_district(store_conn *c, const char *id, const char *district) {
    json_value *loc = oruk_read_json(c, "Location", id);
    const char *pc = oruk_str_of(json_get(loc, "address"), "postalCode");
    char d[9];
    bool in = pc && postcode_district(pc, d) && strcmp(d, district) == 0;
    json_free(loc);
    return in;
}

/* Drop the hits whose Locations are all outside the postcode district asked for. */
static void filter_by_locations(store_conn *c, hits *h, const filter *f) {
    size_t kept = 0;
    for(size_t i = 0; i < h->n; i++) {
        hit *x = &h->v[i];
        bool keep = !x->check_postcode;
        if(!keep && x->loc) {
            keep = location_in_district(c, x->loc, f->district);
        } else if(!keep) {
            json_value *hs = oruk_read_json(c, "HealthcareService", x->id);
            const json_value *locs = json_get(hs, "location");
            for(size_t k = 0; k < json_array_len(locs) && !keep; k++) {
                char loc[72];
                keep = oruk_ref_id(json_array_at(locs, k), "Location", loc) &&
                       location_in_district(c, loc, f->district);
            }
            json_free(hs);
        }
        if(keep) {
            h->v[kept++] = *x;
        } else {
            free(x->id);
            free(x->key);
            free(x->loc);
        }
    }
    h->n = kept;
}

static const char *const HS_TYPE[] = {"HealthcareService"};

/* The services (at_locations: service at locations) passing f, sorted. */
static kith_rc find_services(store_conn *c, const filter *f, bool at_locations, hits *h) {
    scan_ctx s = {.f = f, .at_locations = at_locations, .h = h};
    store_scan_query q = {.types = HS_TYPE, .ntypes = 1};
    kith_rc rc = store_scan(c, &q, scan_service, &s);
    if(rc) return rc;
    if(f->district[0]) filter_by_locations(c, h, f);
    if(h->n > 1) qsort(h->v, h->n, sizeof *h->v, hit_cmp);
    return KITH_OK;
}

/* The page envelope around contents (consumed). Caller frees. */
static json_value *page_of(size_t total, const paging *p, json_value *contents) {
    size_t per = (size_t)p->per_page, pages = (total + per - 1) / per, size = json_array_len(contents);
    json_value *o = json_new_object();
    json_set(o, "total_items", json_new_int((int64_t)total));
    json_set(o, "total_pages", json_new_int((int64_t)pages));
    json_set(o, "page_number", json_new_int(p->page));
    json_set(o, "size", json_new_int((int64_t)size));
    json_set(o, "first_page", json_new_bool(p->page == 1));
    json_set(o, "last_page", json_new_bool((size_t)p->page >= pages));
    json_set(o, "empty", json_new_bool(size == 0));
    json_set(o, "contents", contents);
    return o;
}

/* The first index of the page and the one past its end, within n. */
static void page_bounds(const paging *p, size_t n, size_t *from, size_t *to) {
    size_t start = (size_t)(p->page - 1) * (size_t)p->per_page;
    *from = start < n ? start : n;
    *to = n - *from > (size_t)p->per_page ? *from + (size_t)p->per_page : n;
}

/* GET /services and /service_at_locations. */
static void list_services(store_conn *c, const http_request *req, http_response *res, bool at_locations) {
    paging p;
    filter f;
    char err[512];
    if(!parse_params(req, LIST_PARAMS, &p, &f, err, sizeof err)) {
        reply_error(res, req, 400, "%s", err);
        return;
    }
    hits h = {0};
    kith_rc rc = find_services(c, &f, at_locations, &h);
    if(rc) {
        reply_store_error(res, req, rc);
        hits_free(&h);
        return;
    }
    size_t from, to;
    page_bounds(&p, h.n, &from, &to);
    json_value *contents = json_new_array();
    for(size_t i = from; i < to; i++) {
        json_value *hs = oruk_read_json(c, "HealthcareService", h.v[i].id);
        if(!hs) continue; /* deleted since the scan */
        json_value *svc = oruk_map_service(c, hs, h.v[i].id, ORUK_SERVICE_BRIEF);
        if(at_locations) {
            json_value *sal = oruk_map_sal(c, h.v[i].id, oruk_str_of(svc, "id"), h.v[i].loc, false);
            json_set(sal, "service", svc);
            json_append(contents, sal);
        } else {
            json_append(contents, svc);
        }
        json_free(hs);
    }
    reply_json(res, page_of(h.n, &p, contents));
    hits_free(&h);
}

typedef struct uuid_find {
    const char *uuid;
    const char *type;
    char id[72]; /* found: the FHIR id */
} uuid_find;

static int match_uuid(void *ctx, const store_resource *r) {
    uuid_find *u = ctx;
    char id[ORUK_UUID_LEN];
    oruk_id(u->type, r->id, id);
    if(strcmp(id, u->uuid) != 0) return 0;
    snprintf(u->id, sizeof u->id, "%s", r->id);
    return 1;
}

/* The FHIR id of the resource of type whose ORUK id is uuid (lower case)
 * into id; KITH_ENOTFOUND when there is none. */
static kith_rc find_by_uuid(store_conn *c, const char *type, const char *uuid, char id[72]) {
    char candidate[72];
    for(int k = 0; k < 2; k++) { /* a UUID id, then an imported one */
        snprintf(candidate, sizeof candidate, "%s%.36s", k ? "oruk-" : "", uuid);
        store_resource r;
        kith_rc rc = store_read(c, type, candidate, 0, &r);
        store_resource_free(&r);
        if(rc == KITH_OK) {
            snprintf(id, 72, "%s", candidate);
            return KITH_OK;
        }
        if(rc != KITH_ENOTFOUND && rc != KITH_EGONE) return rc;
    }
    uuid_find u = {.uuid = uuid, .type = type};
    const char *types[] = {type};
    store_scan_query q = {.types = types, .ntypes = 1};
    kith_rc rc = store_scan(c, &q, match_uuid, &u);
    if(rc) return rc;
    if(!u.id[0]) return KITH_ENOTFOUND;
    snprintf(id, 72, "%s", u.id);
    return KITH_OK;
}

/* GET /services/{id}. */
static void get_service(store_conn *c, const http_request *req, http_response *res, const char *uuid) {
    char id[72];
    kith_rc rc = id_is_uuid(uuid) ? find_by_uuid(c, "HealthcareService", uuid, id) : KITH_ENOTFOUND;
    json_value *hs = rc == KITH_OK ? oruk_read_json(c, "HealthcareService", id) : NULL;
    if(rc && rc != KITH_ENOTFOUND) {
        reply_store_error(res, req, rc);
    } else if(!hs) {
        reply_error(res, req, 404, "no service has id '%s'", uuid);
    } else {
        reply_json(res, oruk_map_service(c, hs, id, ORUK_SERVICE_FULL));
    }
    json_free(hs);
}

typedef struct sal_find {
    const char *uuid;
    char hs[72], loc[72]; /* found */
} sal_find;

static int match_sal(void *ctx, const store_resource *r) {
    sal_find *s = ctx;
    json_value *hs = NULL;
    if(!r->body || json_parse(r->body, r->body_len, &hs, NULL, 0)) return 0;
    const json_value *locs = json_get(hs, "location");
    for(size_t i = 0; i < json_array_len(locs) && !s->hs[0]; i++) {
        char loc[72], id[ORUK_UUID_LEN];
        if(!oruk_ref_id(json_array_at(locs, i), "Location", loc)) continue;
        oruk_sal_id(r->id, loc, id);
        if(strcmp(id, s->uuid) != 0) continue;
        snprintf(s->hs, sizeof s->hs, "%s", r->id);
        snprintf(s->loc, sizeof s->loc, "%s", loc);
    }
    json_free(hs);
    return s->hs[0] != '\0';
}

/* GET /service_at_locations/{id}. */
static void get_sal(store_conn *c, const http_request *req, http_response *res, const char *uuid) {
    sal_find s = {.uuid = uuid};
    store_scan_query q = {.types = HS_TYPE, .ntypes = 1};
    kith_rc rc = id_is_uuid(uuid) ? store_scan(c, &q, match_sal, &s) : KITH_OK;
    json_value *hs = s.hs[0] ? oruk_read_json(c, "HealthcareService", s.hs) : NULL;
    if(rc) {
        reply_store_error(res, req, rc);
    } else if(!hs) {
        reply_error(res, req, 404, "no service_at_location has id '%s'", uuid);
    } else {
        json_value *svc = oruk_map_service(c, hs, s.hs, ORUK_SERVICE_NO_LOCATIONS);
        json_value *sal = oruk_map_sal(c, s.hs, oruk_str_of(svc, "id"), s.loc, true);
        json_set(sal, "service", svc);
        reply_json(res, sal);
    }
    json_free(hs);
}

/* ---- taxonomies ---------------------------------------------------------- */

/* A code of some code system, known to Kith or used in the directory. */
typedef struct concept {
    char *system, *code, *display; /* owned; display may be NULL */
    bool known;                    /* from Kith's own tables */
} concept;

typedef struct vocab {
    concept *v;
    size_t n, cap;
} vocab;

static void vocab_add(vocab *vb, const char *system, const char *code, const char *display, bool known) {
    if(vb->n == vb->cap) {
        vb->cap = vb->cap ? vb->cap * 2 : 64;
        vb->v = xrealloc(vb->v, vb->cap * sizeof *vb->v);
    }
    concept *x = &vb->v[vb->n++];
    x->system = xstrdup(system);
    x->code = xstrdup(code);
    x->display = display ? xstrdup(display) : NULL;
    x->known = known;
}

static void vocab_free(vocab *vb) {
    for(size_t i = 0; i < vb->n; i++) {
        free(vb->v[i].system);
        free(vb->v[i].code);
        free(vb->v[i].display);
    }
    free(vb->v);
    memset(vb, 0, sizeof *vb);
}

static void vocab_coding(void *ctx, const char *element, const char *system, const char *code, const char *display) {
    (void)element;
    vocab_add(ctx, system, code, display, false);
}

static int vocab_service(void *ctx, const store_resource *r) {
    json_value *hs = NULL;
    if(!r->body || json_parse(r->body, r->body_len, &hs, NULL, 0)) return 0;
    oruk_each_coding(hs, vocab_coding, ctx);
    json_free(hs);
    return 0;
}

/* Kith's known code systems first, then Kith's codes, then those with a
 * display, so that the first of equal codes is the one to keep. */
static int concept_cmp(const void *a, const void *b) {
    const concept *x = a, *y = b;
    int d = strcmp(x->system, y->system);
    if(!d) d = strcmp(x->code, y->code);
    if(!d) d = (int)y->known - (int)x->known;
    if(!d) d = (int)(y->display != NULL) - (int)(x->display != NULL);
    return d;
}

/* Every code of Kith's taxonomies and every code the directory uses, sorted
 * by system and code, each once. */
static kith_rc vocab_load(store_conn *c, vocab *vb) {
    for(size_t i = 0; i < ORUK_NKNOWN; i++)
        for(size_t k = 0; k < ORUK_KNOWN[i].nterms; k++)
            vocab_add(vb, ORUK_KNOWN[i].system, ORUK_KNOWN[i].terms[k].code, ORUK_KNOWN[i].terms[k].name, true);
    store_scan_query q = {.types = HS_TYPE, .ntypes = 1};
    kith_rc rc = store_scan(c, &q, vocab_service, vb);
    if(rc) return rc;
    if(vb->n > 1) qsort(vb->v, vb->n, sizeof *vb->v, concept_cmp);
    size_t kept = 0;
    for(size_t i = 0; i < vb->n; i++) {
        concept *x = &vb->v[i];
        if(kept && strcmp(vb->v[kept - 1].system, x->system) == 0 && strcmp(vb->v[kept - 1].code, x->code) == 0) {
            free(x->system);
            free(x->code);
            free(x->display);
            continue;
        }
        vb->v[kept++] = *x;
    }
    vb->n = kept;
    return KITH_OK;
}

/* The distinct systems of a loaded vocab: indexes of each system's first concept. */
static size_t vocab_systems(const vocab *vb, size_t *first) {
    size_t n = 0;
    for(size_t i = 0; i < vb->n; i++)
        if(!i || strcmp(vb->v[i - 1].system, vb->v[i].system) != 0) first[n++] = i;
    return n;
}

/* GET /taxonomies, /taxonomies/{id}, /taxonomy_terms, /taxonomy_terms/{id}. */
static void taxonomies(store_conn *c, const http_request *req, http_response *res, bool terms, const char *uuid) {
    paging p;
    char err[512];
    if(!uuid && !parse_params(req, PAGE_PARAMS, &p, NULL, err, sizeof err)) {
        reply_error(res, req, 400, "%s", err);
        return;
    }
    vocab vb = {0};
    kith_rc rc = vocab_load(c, &vb);
    if(rc) {
        reply_store_error(res, req, rc);
        vocab_free(&vb);
        return;
    }
    size_t *first = xcalloc(vb.n + 1, sizeof *first);
    size_t nsys = vocab_systems(&vb, first);
    first[nsys] = vb.n;
    size_t total = terms ? vb.n : nsys;
    json_value *found = NULL, *contents = uuid ? NULL : json_new_array();
    size_t from = 0, to = total;
    if(!uuid) page_bounds(&p, total, &from, &to);
    for(size_t i = uuid ? 0 : from; i < to && !found; i++) {
        char id[ORUK_UUID_LEN];
        if(terms) {
            const concept *x = &vb.v[i];
            if(uuid) oruk_term_id(x->system, x->code, id);
            if(uuid && strcmp(id, uuid) != 0) continue;
            json_value *t = oruk_map_term(x->system, x->code, x->display);
            if(uuid)
                found = t;
            else
                json_append(contents, t);
        } else {
            const char *system = vb.v[first[i]].system;
            if(uuid) oruk_taxonomy_id(system, id);
            if(uuid && strcmp(id, uuid) != 0) continue;
            json_value *list = NULL;
            if(uuid) {
                list = json_new_array();
                for(size_t k = first[i]; k < first[i + 1]; k++)
                    json_append(list, oruk_map_term(system, vb.v[k].code, vb.v[k].display));
            }
            json_value *t = oruk_map_taxonomy(system, list);
            if(uuid)
                found = t;
            else
                json_append(contents, t);
        }
    }
    if(!uuid)
        reply_json(res, page_of(total, &p, contents));
    else if(found)
        reply_json(res, found);
    else
        reply_error(res, req, 404, "no %s has id '%s'", terms ? "taxonomy_term" : "taxonomy", uuid);
    free(first);
    vocab_free(&vb);
}

/* ---- the API ------------------------------------------------------------- */

/* GET /openreferral/: what this API is (the profile's root). */
static void api_info(http_response *res) {
    json_value *o = json_new_object();
    oruk_put_str(o, "version", ORUK_VERSION);
    oruk_put_str(o, "profile", ORUK_PROFILE_URL);
    oruk_put_str(o, "openapi_url", ORUK_OPENAPI_URL);
    reply_json(res, o);
}

/* Copy the next path segment of *p (up to '/') into seg; false if too long. */
static bool next_segment(const char **p, char seg[SEGMENT_MAX]) {
    while(**p == '/') (*p)++;
    size_t n = strcspn(*p, "/");
    if(n >= SEGMENT_MAX) return false;
    memcpy(seg, *p, n);
    seg[n] = '\0';
    *p += n;
    return true;
}

void care_openreferral_handle(fhir_rest *api, const http_request *req, http_response *res) {
    res->route = "openreferral";
    http_response_header(res, "Access-Control-Allow-Origin", "*");
    if(strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        http_response_header(res, "Allow", "GET, HEAD");
        reply_error(res, req, 405, "the Open Referral UK API is read-only: %s is not allowed, use GET", req->method);
        return;
    }
    const char *p = req->path + strlen("/openreferral");
    char collection[SEGMENT_MAX], id[SEGMENT_MAX], extra[SEGMENT_MAX];
    if(!next_segment(&p, collection) || !next_segment(&p, id) || !next_segment(&p, extra) || extra[0]) {
        reply_error(res, req, 404, "no such endpoint: see /openreferral/ and docs/openreferral.md");
        return;
    }
    if(!collection[0]) {
        api_info(res);
        return;
    }
    store_conn *c = store_conn_for_thread(api->st);
    if(!c) {
        reply_error(res, req, 503, "the directory is not available now");
        return;
    }
    char uuid[SEGMENT_MAX];
    oruk_lower_copy(uuid, id, sizeof uuid);
    const char *one = id[0] ? uuid : NULL;
    if(strcmp(collection, "services") == 0) {
        res->route = one ? "openreferral.service" : "openreferral.services";
        if(one)
            get_service(c, req, res, one);
        else
            list_services(c, req, res, false);
    } else if(strcmp(collection, "service_at_locations") == 0) {
        res->route = one ? "openreferral.service_at_location" : "openreferral.service_at_locations";
        if(one)
            get_sal(c, req, res, one);
        else
            list_services(c, req, res, true);
    } else if(strcmp(collection, "taxonomies") == 0) {
        res->route = one ? "openreferral.taxonomy" : "openreferral.taxonomies";
        taxonomies(c, req, res, false, one);
    } else if(strcmp(collection, "taxonomy_terms") == 0) {
        res->route = one ? "openreferral.taxonomy_term" : "openreferral.taxonomy_terms";
        taxonomies(c, req, res, true, one);
    } else {
        reply_error(res, req, 404,
                    "no such endpoint: /openreferral/%s (there are services, service_at_locations, taxonomies "
                    "and taxonomy_terms)",
                    collection);
    }
}
