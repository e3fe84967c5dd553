/*
 * openreferral_import.c — `kith import --format openreferral FILE`: load an
 * Open Referral UK feed (see openreferral_import.h; docs/openreferral.md has
 * the mapping, the other way round from src/care/openreferral.c).
 *
 * The whole feed is read into memory (capped at MAX_FILE bytes and
 * MAX_SERVICES services) and gone through twice. The first pass maps each
 * ORUK service to FHIR: a HealthcareService "oruk-<service id>", the
 * Organization "oruk-<id>" that provides it, and a Location "oruk-<id>" for
 * each place it is offered at and each area it covers that is not a postcode
 * district, checking every field it reads and naming the service and field
 * of each problem. The second runs only when the first found none: inside one
 * store transaction it checks that every organization and location a service
 * names by id alone is in the feed or already stored, then writes the
 * resources through record.c (validated like any FHIR write), rolling back
 * at the first failure. A resource already stored with the same content is
 * left alone, so importing a feed twice changes nothing.
 *
 * Everything mapped is owned by the feed struct and freed with it; strings
 * borrowed from the parsed document live as long as the document, which
 * outlives the feed. Single-threaded.
 */
#include "cli/openreferral_import.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "fhir/outcome.h"
#include "fhir/record.h"
#include "json/json.h"
#include "store/store.h"

#define MAX_FILE (256u << 20) /* bytes of a feed */
#define MAX_SERVICES 100000   /* services in a feed */
#define MAX_ERRORS 50         /* problems reported before the rest are counted only */
#define CHUNK 65536

#define KITH_FHIR "https://kith.example.org/fhir/"
#define KITH_CODESYSTEM KITH_FHIR "CodeSystem/"
#define EXT_AGE_RANGE KITH_FHIR "StructureDefinition/age-range"
#define EXT_DISTRICT KITH_FHIR "StructureDefinition/postcode-district"
#define EXT_DUTY_CONTACT KITH_FHIR "StructureDefinition/duty-contact"
#define SECTOR_SYS KITH_CODESYSTEM "sector"
#define TERM_SYS KITH_CODESYSTEM "oruk/"     /* + an ORUK taxonomy's name */
#define ANY_TERM_SYS KITH_CODESYSTEM "oruk-term" /* terms that name no taxonomy */
#define ORG_ID_SYS KITH_FHIR "Id/org-id/"   /* + an org-id.guide scheme, e.g. GB-CHC */
#define LOCATION_ID_SYS KITH_FHIR "Id/"     /* + an external identifier type, e.g. uprn */
#define ODS_SYS "https://fhir.nhs.uk/Id/ods-organization-code"
#define UCUM "http://unitsofmeasure.org"
#define PHYSICAL_TYPE_SYS "http://terminology.hl7.org/CodeSystem/location-physical-type"
#define BCP47 "urn:ietf:bcp:47"

#define FHIR_ID_LEN 48 /* "oruk-" + a UUID, with room */

/* ---- the feed ------------------------------------------------------------ */

/* One resource to write, and the service it came from. */
typedef struct item {
    json_value *res;   /* owned */
    const char *type;  /* static */
    char id[FHIR_ID_LEN];
    size_t service;    /* index of the service in the feed */
    const char *sid;   /* that service's id as given, or NULL; borrowed from the document */
    bool duplicate;    /* the same type/id came earlier in the feed: not written again */
} item;

/* A reference given by id alone, to be found in the feed or the store. */
typedef struct ref_check {
    size_t item;            /* the resource that holds the reference */
    const char *type;       /* the target's type (static) */
    char id[FHIR_ID_LEN];   /* the target's FHIR id */
    char field[96];         /* the ORUK field that named it */
    const char *fhir_field; /* optional references: the element to drop when unknown; NULL: unknown is an error */
} ref_check;

typedef struct feed {
    const char *file;
    bool quiet;
    bool single;      /* the file holds one service, not a list */
    size_t index;     /* the service being mapped */
    const char *sid;  /* its id as given, or NULL */
    int errors;
    item *items;
    size_t nitems, capitems;
    ref_check *refs;
    size_t nrefs, caprefs;
    char **unmapped; /* ORUK fields met that Kith does not keep; owned */
    size_t nunmapped;
} feed;

static void feed_free(feed *f) {
    for(size_t i = 0; i < f->nitems; i++) json_free(f->items[i].res);
    free(f->items);
    free(f->refs);
    for(size_t i = 0; i < f->nunmapped; i++) free(f->unmapped[i]);
    free(f->unmapped);
}

/* "FILE: services[I] (id ID)" for the service being mapped. */
static void print_where(const feed *f, FILE *out) {
    if(f->single)
        fprintf(out, "%s: service", f->file);
    else
        fprintf(out, "%s: services[%zu]", f->file, f->index);
    if(f->sid) fprintf(out, " (id %.80s)", f->sid);
}

static void feed_error(feed *f, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void feed_error(feed *f, const char *field, const char *fmt, ...) {
    if(++f->errors > MAX_ERRORS) return;
    print_where(f, stderr);
    fprintf(stderr, ": %s: ", field);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if(f->errors == MAX_ERRORS) fprintf(stderr, "%s: more problems are not shown\n", f->file);
}

/* A value left out on purpose: said unless quiet, never an error. */
static void feed_warn(feed *f, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void feed_warn(feed *f, const char *field, const char *fmt, ...) {
    if(f->quiet) return;
    print_where(f, stderr);
    fprintf(stderr, ": %s: warning: ", field);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Add res (consumed) as type/id, from the service being mapped. */
static void add_item(feed *f, const char *type, const char *id, json_value *res) {
    if(f->nitems == f->capitems) {
        f->capitems = f->capitems ? f->capitems * 2 : 64;
        f->items = xrealloc(f->items, f->capitems * sizeof *f->items);
    }
    item *it = &f->items[f->nitems++];
    memset(it, 0, sizeof *it);
    it->res = res;
    it->type = type;
    snprintf(it->id, sizeof it->id, "%s", id);
    it->service = f->index;
    it->sid = f->sid;
}

/* Check later that type/id is in the feed or the store; the reference is
 * held by the next item added (the resource being built). */
static void add_ref_check(feed *f, const char *type, const char *id, const char *field, const char *fhir_field) {
    if(f->nrefs == f->caprefs) {
        f->caprefs = f->caprefs ? f->caprefs * 2 : 16;
        f->refs = xrealloc(f->refs, f->caprefs * sizeof *f->refs);
    }
    ref_check *r = &f->refs[f->nrefs++];
    r->item = f->nitems;
    r->type = type;
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->field, sizeof r->field, "%s", field);
    r->fhir_field = fhir_field;
}

/* Note that the ORUK field name (e.g. "cost_options") is not kept. */
static void note_unmapped(feed *f, const char *name) {
    for(size_t i = 0; i < f->nunmapped; i++)
        if(strcmp(f->unmapped[i], name) == 0) return;
    f->unmapped = xrealloc(f->unmapped, (f->nunmapped + 1) * sizeof *f->unmapped);
    f->unmapped[f->nunmapped++] = xstrdup(name);
}

/* Note every member of o with a value that is not in mapped, as prefix + name. */
static void note_others(feed *f, const json_value *o, const char *prefix, const char *const *mapped) {
    json_iter it = json_iter_start(o);
    const char *key;
    json_value *v;
    while(json_iter_next(&it, &key, &v)) {
        json_kind k = json_kind_of(v);
        if(k == JSON_NULL || (k == JSON_ARRAY && json_array_len(v) == 0) || (k == JSON_STRING && !*json_string(v)))
            continue;
        bool known = false;
        for(const char *const *m = mapped; *m && !known; m++) known = strcmp(*m, key) == 0;
        if(known) continue;
        char name[128];
        snprintf(name, sizeof name, "%s%.64s", prefix, key);
        note_unmapped(f, name);
    }
}

/* ---- reading ORUK fields ------------------------------------------------- */

/* "path.key" (or "key") into out. */
static const char *field_name(char *out, size_t n, const char *path, const char *key) {
    snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
    return out;
}

static bool blank(const char *s) {
    for(; *s; s++)
        if(!isspace((unsigned char)*s)) return false;
    return true;
}

/* o.key as a string; NULL when absent, null or blank (an error if required);
 * another kind of value is an error. Borrowed. */
static const char *get_str(feed *f, const json_value *o, const char *path, const char *key, bool required) {
    char name[256];
    const json_value *v = json_get(o, key);
    json_kind k = json_kind_of(v);
    if(k != JSON_NULL && k != JSON_STRING) {
        feed_error(f, field_name(name, sizeof name, path, key), "must be a string, not %s", json_kind_name(k));
        return NULL;
    }
    const char *s = json_string(v);
    if(!s || blank(s)) {
        if(required) feed_error(f, field_name(name, sizeof name, path, key), "is required");
        return NULL;
    }
    return s;
}

static bool is_uuid(const char *s) {
    for(int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if(dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return false;
    }
    return s[36] == '\0';
}

/* o.key as a UUID, in lower case into out; false when absent (an error if
 * required) or not a UUID (an error). */
static bool get_uuid(feed *f, const json_value *o, const char *path, const char *key, bool required, char out[37]) {
    const char *s = get_str(f, o, path, key, required);
    if(!s) return false;
    if(!is_uuid(s)) {
        char name[256];
        feed_error(f, field_name(name, sizeof name, path, key), "'%.64s' is not a UUID", s);
        return false;
    }
    for(int i = 0; i < 37; i++) out[i] = (char)tolower((unsigned char)s[i]);
    return true;
}

/* o.key as a number from lo to hi (its value in *value); NULL when absent or
 * null; anything else is an error. Borrowed. */
static const json_value *get_number(feed *f, const json_value *o, const char *path, const char *key, double lo,
                                    double hi, double *value) {
    char name[256];
    const json_value *v = json_get(o, key);
    json_kind k = json_kind_of(v);
    if(k == JSON_NULL) return NULL;
    if(k != JSON_INTEGER && k != JSON_DECIMAL) {
        feed_error(f, field_name(name, sizeof name, path, key), "must be a number, not %s", json_kind_name(k));
        return NULL;
    }
    double x = strtod(json_number_text(v), NULL);
    if(!isfinite(x) || x < lo || x > hi) {
        feed_error(f, field_name(name, sizeof name, path, key), "%s is out of range (%g to %g)", json_number_text(v),
                   lo, hi);
        return NULL;
    }
    if(value) *value = x;
    return v;
}

/* o.key as an array (NULL when absent or null) or an object; another kind is an error. */
static const json_value *get_kind(feed *f, const json_value *o, const char *path, const char *key, json_kind want) {
    char name[256];
    const json_value *v = json_get(o, key);
    json_kind k = json_kind_of(v);
    if(k == JSON_NULL) return NULL;
    if(k != want) {
        feed_error(f, field_name(name, sizeof name, path, key), "must be an %s, not %s", json_kind_name(want),
                   json_kind_name(k));
        return NULL;
    }
    return v;
}

/* ---- building FHIR ------------------------------------------------------- */

static void put_str(json_value *o, const char *key, const char *s) {
    if(s && *s) json_set(o, key, json_new_string(s));
}

/* Append {"system":system,"value":value[,"use":"work"]} to the telecom array unless it holds it already. */
static void add_telecom(json_value *telecom, const char *system, const char *value) {
    for(size_t i = 0; i < json_array_len(telecom); i++) {
        const json_value *t = json_array_at(telecom, i);
        const char *s = json_string(json_get(t, "system")), *v = json_string(json_get(t, "value"));
        if(strcmp(s, system) == 0 && strcmp(v, value) == 0) return;
    }
    json_value *t = json_new_object();
    put_str(t, "system", system);
    put_str(t, "value", value);
    if(strcmp(system, "url") != 0) put_str(t, "use", "work");
    json_append(telecom, t);
}

/* Set o.key to arr (consumed) unless it is empty. */
static void put_array(json_value *o, const char *key, json_value *arr) {
    if(json_array_len(arr))
        json_set(o, key, arr);
    else
        json_free(arr);
}

static json_value *reference(const char *type, const char *id) {
    json_value *r = json_new_object();
    buf b = BUF_INIT;
    buf_printf(&b, "%s/%s", type, id);
    put_str(r, "reference", buf_str(&b));
    buf_free(&b);
    return r;
}

/* Append text to the buffer of availability notes, on a line of its own,
 * unless a line already says it (schedules often repeat their notes). */
static void add_note(buf *b, const char *text) {
    if(!text || !*text) return;
    size_t n = strlen(text);
    for(const char *p = buf_str(b); (p = strstr(p, text)) != NULL; p++)
        if((p == b->data || p[-1] == '\n') && (p[n] == '\0' || p[n] == '\n')) return;
    buf_printf(b, "%s%s", b->len ? "\n" : "", text);
}

/* Append s to b percent-encoded (unreserved characters kept). */
static void put_encoded(buf *b, const char *s) {
    for(const unsigned char *p = (const unsigned char *)s; *p; p++)
        if(isalnum(*p) || strchr("-._~", *p))
            buf_putc(b, (char)*p);
        else
            buf_printf(b, "%%%02X", *p);
}

/* s with percent-escapes decoded, into b. */
static void put_decoded(buf *b, const char *s) {
    for(; *s; s++) {
        if(s[0] == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
            char hex[3] = {s[1], s[2], '\0'};
            buf_putc(b, (char)strtol(hex, NULL, 16));
            s += 2;
        } else {
            buf_putc(b, *s);
        }
    }
}

/* s with runs of white space made one space and none at either end (a FHIR code), into b. */
static void put_code(buf *b, const char *s) {
    bool space = false;
    for(; *s; s++) {
        if(isspace((unsigned char)*s)) {
            space = b->len > 0;
            continue;
        }
        if(space) buf_putc(b, ' ');
        space = false;
        buf_putc(b, *s);
    }
}

/* A postcode district (outward code) such as KH1 or SW1A, in any case. */
static bool is_district(const char *s) {
    size_t n = strlen(s), letters = 0;
    if(n < 2 || n > 4) return false;
    while(letters < n && isalpha((unsigned char)s[letters])) letters++;
    if(letters < 1 || letters > 2 || !isdigit((unsigned char)s[letters])) return false;
    for(size_t i = letters + 1; i < n; i++)
        if(!isalnum((unsigned char)s[i])) return false;
    return true;
}

/* "HH:MM" or "HH:MM:SS" into out as HH:MM:SS; "24:00" counts as the end of the day. */
static bool parse_time(const char *v, char out[9], bool *end_of_day) {
    size_t n = strlen(v);
    *end_of_day = false;
    if(n != 5 && n != 8) return false;
    for(size_t i = 0; i < n; i++)
        if(i % 3 == 2 ? v[i] != ':' : !isdigit((unsigned char)v[i])) return false;
    if(strncmp(v, "24:00", 5) == 0 && (n == 5 || strcmp(v + 5, ":00") == 0)) {
        *end_of_day = true;
        memcpy(out, "23:59:59", 9);
        return true;
    }
    if(v[0] > '2' || (v[0] == '2' && v[1] > '3') || v[3] > '5' || (n == 8 && v[6] > '5')) return false;
    memcpy(out, v, n);
    memcpy(out + n, ":00", 8 - n);
    out[8] = '\0';
    return true;
}

/* ---- organizations and locations ----------------------------------------- */

static const char *const ORG_FIELDS[] = {"id", "name", "email", "website", "parent_organization_id",
                                         "organization_identifiers", NULL};

/* Append an Identifier {system (unless empty), type.text (if any), value} to arr. */
static void add_identifier(json_value *arr, const char *system, const char *type, const char *value) {
    json_value *id = json_new_object();
    if(system && *system) put_str(id, "system", system);
    if(type) {
        json_value *cc = json_new_object();
        put_str(cc, "text", type);
        json_set(id, "type", cc);
    }
    put_str(id, "value", value);
    json_append(arr, id);
}

/* Map an ORUK organization at path to Organization "oruk-<id>" (added to
 * the feed; its FHIR id into fhir_id). False if it has errors. */
static bool map_organization(feed *f, const json_value *o, const char *path, char fhir_id[FHIR_ID_LEN]) {
    int before = f->errors;
    char uuid[37], parent[37], name[160];
    bool ok = get_uuid(f, o, path, "id", true, uuid);
    const char *org_name = get_str(f, o, path, "name", true);
    const char *email = get_str(f, o, path, "email", false), *website = get_str(f, o, path, "website", false);
    bool has_parent = get_uuid(f, o, path, "parent_organization_id", false, parent);
    const json_value *idents = get_kind(f, o, path, "organization_identifiers", JSON_ARRAY);
    json_value *identifier = json_new_array();
    for(size_t i = 0; i < json_array_len(idents); i++) {
        char ipath[160];
        snprintf(ipath, sizeof ipath, "%s.organization_identifiers[%zu]", path, i);
        const json_value *x = json_array_at(idents, i);
        const char *scheme = get_str(f, x, ipath, "identifier_scheme", false);
        const char *type = get_str(f, x, ipath, "identifier_type", false);
        const char *value = get_str(f, x, ipath, "identifier", true);
        if(!value) continue;
        buf system = BUF_INIT;
        if((scheme && strcasecmp(scheme, "GB-NHS") == 0) || (!scheme && type && strcasestr(type, "ODS")))
            buf_puts(&system, ODS_SYS);
        else if(scheme)
            buf_printf(&system, ORG_ID_SYS "%s", scheme);
        add_identifier(identifier, buf_str(&system), type, value);
        buf_free(&system);
    }
    note_others(f, o, "organization.", ORG_FIELDS);
    if(!ok || f->errors > before) {
        json_free(identifier);
        return false;
    }
    snprintf(fhir_id, FHIR_ID_LEN, "oruk-%s", uuid);
    json_value *org = json_new_object();
    put_str(org, "resourceType", "Organization");
    put_str(org, "id", fhir_id);
    put_array(org, "identifier", identifier);
    json_set(org, "active", json_new_bool(true));
    put_str(org, "name", org_name);
    json_value *telecom = json_new_array();
    if(email) add_telecom(telecom, "email", email);
    if(website) add_telecom(telecom, "url", website);
    put_array(org, "telecom", telecom);
    if(has_parent) {
        char parent_id[FHIR_ID_LEN];
        snprintf(parent_id, sizeof parent_id, "oruk-%s", parent);
        json_set(org, "partOf", reference("Organization", parent_id));
        add_ref_check(f, "Organization", parent_id, field_name(name, sizeof name, path, "parent_organization_id"),
                      "partOf");
    }
    add_item(f, "Organization", fhir_id, org);
    return true;
}

static const char *const LOCATION_FIELDS[] = {"id", "location_type", "name", "description", "latitude", "longitude",
                                              "external_identifier", "external_identifier_type", "addresses", NULL};
static const char *const ADDRESS_FIELDS[] = {"id", "location_id", "address_1", "city", "region", "state_province",
                                             "postal_code", "country", "address_type", NULL};

/* The first of an ORUK location's addresses as a FHIR Address, or NULL. Caller frees. */
static json_value *map_address(feed *f, const json_value *loc, const char *path) {
    const json_value *addrs = get_kind(f, loc, path, "addresses", JSON_ARRAY);
    if(!json_array_len(addrs)) return NULL;
    char apath[160];
    snprintf(apath, sizeof apath, "%s.addresses[0]", path);
    const json_value *a = json_array_at(addrs, 0);
    if(json_kind_of(a) != JSON_OBJECT) {
        feed_error(f, apath, "must be an object");
        return NULL;
    }
    if(json_array_len(addrs) > 1) note_unmapped(f, "location.addresses (all but the first)");
    note_others(f, a, "location.addresses.", ADDRESS_FIELDS);
    const char *type = get_str(f, a, apath, "address_type", false);
    if(type && strcmp(type, "physical") != 0 && strcmp(type, "postal") != 0 && strcmp(type, "virtual") != 0) {
        char name[256];
        feed_error(f, field_name(name, sizeof name, apath, "address_type"),
                   "'%.32s' is not one of physical, postal, virtual", type);
    }
    json_value *addr = json_new_object();
    if(type && strcmp(type, "virtual") != 0) put_str(addr, "type", type);
    const char *line = get_str(f, a, apath, "address_1", false);
    if(line) {
        json_value *lines = json_new_array();
        json_append(lines, json_new_string(line));
        json_set(addr, "line", lines);
    }
    put_str(addr, "city", get_str(f, a, apath, "city", false));
    put_str(addr, "district", get_str(f, a, apath, "state_province", false));
    put_str(addr, "state", get_str(f, a, apath, "region", false));
    put_str(addr, "postalCode", get_str(f, a, apath, "postal_code", false));
    put_str(addr, "country", get_str(f, a, apath, "country", false));
    return addr;
}

/* Map an ORUK location at path to Location "oruk-<id>" managed by
 * Organization/org_id (NULL: none), added to the feed; its FHIR id into
 * fhir_id. False if it has errors. */
static bool map_location(feed *f, const json_value *loc, const char *path, const char *org_id,
                         char fhir_id[FHIR_ID_LEN]) {
    int before = f->errors;
    char uuid[37], name[160];
    bool ok = get_uuid(f, loc, path, "id", true, uuid);
    const char *kind = get_str(f, loc, path, "location_type", false);
    if(kind && strcmp(kind, "physical") != 0 && strcmp(kind, "postal") != 0 && strcmp(kind, "virtual") != 0)
        feed_error(f, field_name(name, sizeof name, path, "location_type"),
                   "'%.32s' is not one of physical, postal, virtual", kind);
    if(kind && strcmp(kind, "postal") == 0) note_unmapped(f, "location.location_type postal (kept as physical)");
    const char *loc_name = get_str(f, loc, path, "name", false), *desc = get_str(f, loc, path, "description", false);
    double lat = 0, lon = 0;
    const json_value *jlat = get_number(f, loc, path, "latitude", -HUGE_VAL, HUGE_VAL, &lat);
    const json_value *jlon = get_number(f, loc, path, "longitude", -HUGE_VAL, HUGE_VAL, &lon);
    const char *ext_id = get_str(f, loc, path, "external_identifier", false);
    const char *ext_type = get_str(f, loc, path, "external_identifier_type", false);
    json_value *addr = map_address(f, loc, path);
    note_others(f, loc, "location.", LOCATION_FIELDS);
    if(!ok || f->errors > before) {
        json_free(addr);
        return false;
    }
    snprintf(fhir_id, FHIR_ID_LEN, "oruk-%s", uuid);
    json_value *l = json_new_object();
    put_str(l, "resourceType", "Location");
    put_str(l, "id", fhir_id);
    if(ext_id) {
        json_value *ids = json_new_array();
        buf system = BUF_INIT;
        buf_puts(&system, LOCATION_ID_SYS);
        if(ext_type)
            for(const unsigned char *p = (const unsigned char *)ext_type; *p; p++)
                buf_putc(&system, isalnum(*p) ? (char)tolower(*p) : '-');
        else
            buf_puts(&system, "oruk-external-identifier");
        add_identifier(ids, buf_str(&system), ext_type, ext_id);
        buf_free(&system);
        json_set(l, "identifier", ids);
    }
    put_str(l, "status", "active");
    put_str(l, "name", loc_name);
    put_str(l, "description", desc);
    put_str(l, "mode", "instance");
    if(addr) json_set(l, "address", addr);
    if(kind && strcmp(kind, "virtual") == 0) {
        json_value *cc = json_new_object(), *codings = json_new_array(), *cd = json_new_object();
        put_str(cd, "system", PHYSICAL_TYPE_SYS);
        put_str(cd, "code", "vi");
        put_str(cd, "display", "Virtual");
        json_append(codings, cd);
        json_set(cc, "coding", codings);
        json_set(l, "physicalType", cc);
    }
    if(jlat && jlon && fabs(lat) <= 90 && fabs(lon) <= 180) {
        json_value *pos = json_new_object();
        json_set(pos, "longitude", json_new_number_text(json_number_text(jlon)));
        json_set(pos, "latitude", json_new_number_text(json_number_text(jlat)));
        json_set(l, "position", pos);
    } else if(jlat || jlon) {
        feed_warn(f, path, "latitude %s, longitude %s is not a place on Earth: the position is left out",
                  jlat ? json_number_text(jlat) : "(none)", jlon ? json_number_text(jlon) : "(none)");
    }
    if(org_id) json_set(l, "managingOrganization", reference("Organization", org_id));
    add_item(f, "Location", fhir_id, l);
    return true;
}

/* ---- the parts of a service ---------------------------------------------- */

static const char *const DAY_RRULE[] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};
static const char *const DAY_CODE[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const SCHEDULE_FIELDS[] = {"id", "service_id", "freq", "interval", "byday", "opens_at",
                                              "closes_at", "description", "notes", NULL};

/* ORUK schedules to FHIR availableTime (into times) and notes (into exceptions). */
static void map_schedules(feed *f, const json_value *s, json_value *times, buf *exceptions) {
    const json_value *list = get_kind(f, s, "", "schedules", JSON_ARRAY);
    for(size_t i = 0; i < json_array_len(list); i++) {
        char path[64], name[160];
        snprintf(path, sizeof path, "schedules[%zu]", i);
        const json_value *sc = json_array_at(list, i);
        if(json_kind_of(sc) != JSON_OBJECT) {
            feed_error(f, path, "must be an object");
            continue;
        }
        note_others(f, sc, "schedules.", SCHEDULE_FIELDS);
        const char *freq = get_str(f, sc, path, "freq", false), *byday = get_str(f, sc, path, "byday", false);
        const char *opens = get_str(f, sc, path, "opens_at", false), *closes = get_str(f, sc, path, "closes_at", false);
        const char *desc = get_str(f, sc, path, "description", false), *notes = get_str(f, sc, path, "notes", false);
        double interval = 1;
        get_number(f, sc, path, "interval", 1, 1000, &interval);
        if(freq && strcmp(freq, "WEEKLY") != 0 && strcmp(freq, "MONTHLY") != 0)
            feed_error(f, field_name(name, sizeof name, path, "freq"), "'%.32s' is not WEEKLY or MONTHLY", freq);
        add_note(exceptions, notes);
        bool weekly = (!freq || strcmp(freq, "WEEKLY") == 0) && interval == 1;
        if(!weekly || (!byday && !opens && !closes)) { /* FHIR keeps only a weekly pattern */
            add_note(exceptions, desc);
            if(!desc) note_unmapped(f, "schedules (not weekly, without a description)");
            continue;
        }
        char start[9] = "", end[9] = "";
        bool end_of_day = false, ignored;
        if(opens && !parse_time(opens, start, &ignored))
            feed_error(f, field_name(name, sizeof name, path, "opens_at"), "'%.32s' is not a time (HH:MM or HH:MM:SS)",
                       opens);
        if(closes && !parse_time(closes, end, &end_of_day))
            feed_error(f, field_name(name, sizeof name, path, "closes_at"), "'%.32s' is not a time (HH:MM or HH:MM:SS)",
                       closes);
        json_value *days = json_new_array();
        for(const char *p = byday ? byday : ""; *p;) {
            while(*p == ',' || *p == ' ') p++;
            size_t n = strcspn(p, ", ");
            if(!n) break;
            int k = 0;
            while(k < 7 && !(n == 2 && strncasecmp(p, DAY_RRULE[k], 2) == 0)) k++;
            if(k == 7)
                feed_error(f, field_name(name, sizeof name, path, "byday"), "'%.*s' is not a day (MO, TU, ... SU)",
                           (int)(n > 16 ? 16 : n), p);
            else
                json_append(days, json_new_string(DAY_CODE[k]));
            p += n;
        }
        json_value *at = json_new_object();
        put_array(at, "daysOfWeek", days);
        if(strcmp(start, "00:00:00") == 0 && (end_of_day || strcmp(end, "23:59:59") == 0)) {
            json_set(at, "allDay", json_new_bool(true));
        } else {
            put_str(at, "availableStartTime", start);
            put_str(at, "availableEndTime", end);
        }
        if(json_object_size(at))
            json_append(times, at);
        else
            json_free(at);
    }
}

/* ORUK service areas: postcode districts to Kith's extension (into exts),
 * others to a Location of kind area (coverageArea references into areas). */
static void map_service_areas(feed *f, const json_value *s, json_value *exts, json_value *areas) {
    const json_value *list = get_kind(f, s, "", "service_areas", JSON_ARRAY);
    for(size_t i = 0; i < json_array_len(list); i++) {
        char path[64];
        snprintf(path, sizeof path, "service_areas[%zu]", i);
        const json_value *a = json_array_at(list, i);
        if(json_kind_of(a) != JSON_OBJECT) {
            feed_error(f, path, "must be an object");
            continue;
        }
        char uuid[37];
        bool ok = get_uuid(f, a, path, "id", true, uuid);
        const char *name = get_str(f, a, path, "name", false), *text = get_str(f, a, path, "service_area", false);
        if(get_str(f, a, path, "extent", false)) note_unmapped(f, "service_areas.extent");
        const char *label = name ? name : text;
        if(!label) {
            feed_warn(f, path, "has neither name nor service_area: left out");
            continue;
        }
        if(is_district(label)) {
            char upper[8];
            size_t n = 0;
            for(; label[n]; n++) upper[n] = (char)toupper((unsigned char)label[n]);
            upper[n] = '\0';
            json_value *x = json_new_object();
            put_str(x, "url", EXT_DISTRICT);
            put_str(x, "valueString", upper);
            json_append(exts, x);
            continue;
        }
        if(!ok) continue;
        char id[FHIR_ID_LEN];
        snprintf(id, sizeof id, "oruk-%s", uuid);
        json_value *l = json_new_object();
        put_str(l, "resourceType", "Location");
        put_str(l, "id", id);
        put_str(l, "status", "active");
        put_str(l, "name", label);
        if(name && text && strcmp(name, text) != 0) put_str(l, "description", text);
        put_str(l, "mode", "kind");
        json_value *cc = json_new_object(), *codings = json_new_array(), *cd = json_new_object();
        put_str(cd, "system", PHYSICAL_TYPE_SYS);
        put_str(cd, "code", "area");
        put_str(cd, "display", "Area");
        json_append(codings, cd);
        json_set(cc, "coding", codings);
        json_set(l, "physicalType", cc);
        add_item(f, "Location", id, l);
        json_append(areas, reference("Location", id));
    }
}

/* ORUK service_at_locations to Locations and location references (into
 * locations). org_id: the service's Organization, managing them (or NULL). */
static void map_service_at_locations(feed *f, const json_value *s, const char *org_id, json_value *locations) {
    const json_value *list = get_kind(f, s, "", "service_at_locations", JSON_ARRAY);
    for(size_t i = 0; i < json_array_len(list); i++) {
        char path[64], lpath[80], uuid[37], id[FHIR_ID_LEN] = "";
        snprintf(path, sizeof path, "service_at_locations[%zu]", i);
        const json_value *sal = json_array_at(list, i);
        if(json_kind_of(sal) != JSON_OBJECT) {
            feed_error(f, path, "must be an object");
            continue;
        }
        static const char *const SAL_FIELDS[] = {"id", "service_id", "location_id", "location", NULL};
        note_others(f, sal, "service_at_locations.", SAL_FIELDS);
        const json_value *loc = get_kind(f, sal, path, "location", JSON_OBJECT);
        bool has_id = get_uuid(f, sal, path, "location_id", false, uuid);
        snprintf(lpath, sizeof lpath, "%s.location", path);
        if(loc) {
            if(!map_location(f, loc, lpath, org_id, id)) continue;
            if(has_id && strcmp(id + 5, uuid) != 0) {
                char name[256];
                feed_error(f, field_name(name, sizeof name, path, "location_id"),
                           "%s differs from location.id %s", uuid, id + 5);
                continue;
            }
        } else if(has_id) {
            char name[256];
            snprintf(id, sizeof id, "oruk-%s", uuid);
            add_ref_check(f, "Location", id, field_name(name, sizeof name, path, "location_id"), NULL);
        } else {
            feed_error(f, path, "has neither location nor location_id");
            continue;
        }
        char ref[64];
        snprintf(ref, sizeof ref, "Location/%s", id);
        bool seen = false;
        for(size_t k = 0; k < json_array_len(locations) && !seen; k++)
            seen = strcmp(json_string(json_get(json_array_at(locations, k), "reference")), ref) == 0;
        if(!seen) json_append(locations, reference("Location", id));
    }
}

/* Phone numbers of an ORUK (HSDS) phones array at path into telecom, or
 * into the duty contact's sub-extensions when duty is not NULL. */
static void map_phones(feed *f, const json_value *o, const char *path, json_value *telecom, json_value *duty) {
    const json_value *phones = get_kind(f, o, path, "phones", JSON_ARRAY);
    for(size_t i = 0; i < json_array_len(phones); i++) {
        char ppath[160];
        snprintf(ppath, sizeof ppath, "%s%sphones[%zu]", path, *path ? "." : "", i);
        const char *number = get_str(f, json_array_at(phones, i), ppath, "number", true);
        if(!number) continue;
        if(!duty) {
            add_telecom(telecom, "phone", number);
            continue;
        }
        json_value *x = json_new_object(), *cp = json_new_object();
        put_str(x, "url", "telecom");
        put_str(cp, "system", "phone");
        put_str(cp, "value", number);
        put_str(cp, "use", "work");
        json_set(x, "valueContactPoint", cp);
        json_append(duty, x);
    }
}

/* ORUK contacts: their phones into telecom; the one titled "Duty contact"
 * (as Kith's API gives it) becomes Kith's duty-contact extension in exts. */
static void map_contacts(feed *f, const json_value *s, json_value *telecom, json_value *exts) {
    const json_value *list = get_kind(f, s, "", "contacts", JSON_ARRAY);
    bool have_duty = false;
    for(size_t i = 0; i < json_array_len(list); i++) {
        char path[64];
        snprintf(path, sizeof path, "contacts[%zu]", i);
        const json_value *ct = json_array_at(list, i);
        if(json_kind_of(ct) != JSON_OBJECT) {
            feed_error(f, path, "must be an object");
            continue;
        }
        const char *name = get_str(f, ct, path, "name", false), *title = get_str(f, ct, path, "title", false);
        const char *email = get_str(f, ct, path, "email", false);
        if(!have_duty && title && strcasecmp(title, "Duty contact") == 0) {
            have_duty = true;
            json_value *duty = json_new_array();
            if(name) {
                json_value *x = json_new_object();
                put_str(x, "url", "name");
                put_str(x, "valueString", name);
                json_append(duty, x);
            }
            map_phones(f, ct, path, NULL, duty);
            json_value *x = json_new_object();
            put_str(x, "url", EXT_DUTY_CONTACT);
            if(json_array_len(duty))
                json_set(x, "extension", duty);
            else
                json_free(duty);
            if(json_get(x, "extension"))
                json_append(exts, x);
            else
                json_free(x);
            continue;
        }
        if(name && strcmp(name, "Enquiries") != 0) note_unmapped(f, "contacts.name");
        if(title) note_unmapped(f, "contacts.title");
        if(email) add_telecom(telecom, "email", email);
        map_phones(f, ct, path, telecom, NULL);
    }
}

/* ORUK (HSDS) languages with a name or code to FHIR communication. */
static void map_languages(feed *f, const json_value *s, json_value *communication) {
    const json_value *list = get_kind(f, s, "", "languages", JSON_ARRAY);
    for(size_t i = 0; i < json_array_len(list); i++) {
        char path[64];
        snprintf(path, sizeof path, "languages[%zu]", i);
        const json_value *l = json_array_at(list, i);
        const char *name = get_str(f, l, path, "name", false), *code = get_str(f, l, path, "code", false);
        if(!name && !code) continue; /* the UK profile's language has only ids */
        json_value *cc = json_new_object();
        if(code) {
            json_value *codings = json_new_array(), *cd = json_new_object();
            put_str(cd, "system", BCP47);
            put_str(cd, "code", code);
            json_append(codings, cd);
            json_set(cc, "coding", codings);
        }
        put_str(cc, "text", name);
        json_append(communication, cc);
    }
}

/* The FHIR system and code of an ORUK taxonomy term (see docs/openreferral.md) into system and code. */
static void term_coding(const char *uri, const char *taxonomy, const char *taxonomy_id, const char *term,
                        const char *term_name, buf *system, buf *code) {
    const char *hash = uri ? strchr(uri, '#') : NULL;
    const char *colon = uri ? strchr(uri, ':') : NULL;
    if(hash && colon && colon < hash && hash[1]) { /* SYSTEM#CODE, as Kith's API gives terms: back to that coding */
        put_decoded(code, hash + 1);
        if(strcmp(buf_str(code), term ? term : term_name) == 0) {
            buf_append(system, uri, (size_t)(hash - uri));
            return;
        }
        buf_reset(code);
    }
    if(taxonomy && (strncmp(taxonomy, "http://", 7) == 0 || strncmp(taxonomy, "https://", 8) == 0 ||
                    strncmp(taxonomy, "urn:", 4) == 0)) {
        buf_puts(system, taxonomy);
    } else if(taxonomy) {
        buf_puts(system, TERM_SYS);
        put_encoded(system, taxonomy);
    } else if(taxonomy_id) {
        buf_printf(system, "urn:uuid:%s", taxonomy_id);
    } else {
        buf_puts(system, ANY_TERM_SYS);
    }
    put_code(code, term ? term : term_name);
}

/* ORUK attributes (taxonomy terms) to codings of the HealthcareService
 * element their link_type names (category, type, specialty or
 * characteristic; else category for Kith sectors, characteristic for the rest). */
static void map_attributes(feed *f, const json_value *s, json_value *hs) {
    static const char *const ELEMENTS[] = {"category", "type", "specialty", "characteristic"};
    const json_value *list = get_kind(f, s, "", "attributes", JSON_ARRAY);
    for(size_t i = 0; i < json_array_len(list); i++) {
        char path[64], tpath[96], uuid[37], tax_id[37];
        snprintf(path, sizeof path, "attributes[%zu]", i);
        const json_value *a = json_array_at(list, i);
        if(json_kind_of(a) != JSON_OBJECT) {
            feed_error(f, path, "must be an object");
            continue;
        }
        const char *link_type = get_str(f, a, path, "link_type", false);
        const json_value *t = get_kind(f, a, path, "taxonomy_term", JSON_OBJECT);
        if(!t) {
            if(json_get(a, "taxonomy_term_id"))
                feed_warn(f, path, "a taxonomy_term_id without its taxonomy_term: left out");
            continue;
        }
        snprintf(tpath, sizeof tpath, "%s.taxonomy_term", path);
        get_uuid(f, t, tpath, "id", true, uuid);
        const char *name = get_str(f, t, tpath, "name", true), *term = get_str(f, t, tpath, "term", false);
        const char *taxonomy = get_str(f, t, tpath, "taxonomy", false), *uri = get_str(f, t, tpath, "term_uri", false);
        bool has_tax_id = get_uuid(f, t, tpath, "taxonomy_id", false, tax_id);
        if(!name) continue;
        buf system = BUF_INIT, code = BUF_INIT;
        term_coding(uri, taxonomy, has_tax_id ? tax_id : NULL, term, name, &system, &code);
        const char *element = strcmp(buf_str(&system), SECTOR_SYS) == 0 ? "category" : "characteristic";
        for(size_t k = 0; link_type && k < sizeof ELEMENTS / sizeof *ELEMENTS; k++)
            if(strcmp(link_type, ELEMENTS[k]) == 0) element = ELEMENTS[k];
        json_value *ccs = json_get(hs, element);
        if(!ccs) {
            ccs = json_new_array();
            json_set(hs, element, ccs);
        }
        bool seen = false;
        for(size_t k = 0; k < json_array_len(ccs) && !seen; k++) {
            const json_value *cd = json_array_at(json_get(json_array_at(ccs, k), "coding"), 0);
            seen = strcmp(json_string(json_get(cd, "system")), buf_str(&system)) == 0 &&
                   strcmp(json_string(json_get(cd, "code")), buf_str(&code)) == 0;
        }
        if(!seen && code.len) {
            json_value *cc = json_new_object(), *codings = json_new_array(), *cd = json_new_object();
            put_str(cd, "system", buf_str(&system));
            put_str(cd, "code", buf_str(&code));
            put_str(cd, "display", name);
            json_append(codings, cd);
            json_set(cc, "coding", codings);
            json_append(ccs, cc);
        }
        buf_free(&system);
        buf_free(&code);
    }
}

/* ---- a service ----------------------------------------------------------- */

static const char *const SERVICE_FIELDS[] = {
    "id",        "organization_id", "name",          "description",          "url",       "email",
    "status",    "minimum_age",     "maximum_age",   "alert",                "schedules", "service_areas",
    "service_at_locations", "languages", "organization", "contacts",         "attributes", "phones",
    NULL};

static const char *const STATUSES[] = {"active", "inactive", "defunct", "temporarily closed", NULL};

static json_value *age_quantity(const json_value *n) {
    json_value *q = json_new_object();
    json_set(q, "value", json_new_number_text(json_number_text(n)));
    put_str(q, "unit", "years");
    put_str(q, "system", UCUM);
    put_str(q, "code", "a");
    return q;
}

/* Map the ORUK service s (the feed's service f->index) and what it names. */
static void map_service(feed *f, const json_value *s) {
    if(json_kind_of(s) != JSON_OBJECT) {
        feed_error(f, "(service)", "must be an object, not %s", json_kind_name(json_kind_of(s)));
        return;
    }
    int before = f->errors;
    size_t first_item = f->nitems;
    char uuid[37], org_uuid[37], org_id[FHIR_ID_LEN] = "";
    bool ok = get_uuid(f, s, "", "id", true, uuid);
    const char *name = get_str(f, s, "", "name", true), *status = get_str(f, s, "", "status", true);
    bool known_status = false;
    for(const char *const *p = STATUSES; status && *p; p++) known_status |= strcmp(status, *p) == 0;
    if(status && !known_status)
        feed_error(f, "status", "'%.32s' is not one of active, inactive, defunct, temporarily closed", status);
    const char *desc = get_str(f, s, "", "description", false), *url = get_str(f, s, "", "url", false);
    const char *email = get_str(f, s, "", "email", false), *alert = get_str(f, s, "", "alert", false);
    double min_age = 0, max_age = 0;
    const json_value *min = get_number(f, s, "", "minimum_age", 0, 150, &min_age);
    const json_value *max = get_number(f, s, "", "maximum_age", 0, 150, &max_age);
    if(min && max && min_age > max_age) feed_error(f, "minimum_age", "is above maximum_age");
    note_others(f, s, "", SERVICE_FIELDS);

    /* who provides it */
    const json_value *org = get_kind(f, s, "", "organization", JSON_OBJECT);
    bool has_org_id = get_uuid(f, s, "", "organization_id", false, org_uuid);
    if(org && map_organization(f, org, "organization", org_id) && has_org_id && strcmp(org_id + 5, org_uuid) != 0)
        feed_error(f, "organization_id", "%s differs from organization.id %s", org_uuid, org_id + 5);
    if(!org && has_org_id) snprintf(org_id, sizeof org_id, "oruk-%s", org_uuid);

    json_value *hs = json_new_object(), *exts = json_new_array(), *telecom = json_new_array();
    json_value *locations = json_new_array(), *areas = json_new_array(), *communication = json_new_array();
    json_value *times = json_new_array();
    buf exceptions = BUF_INIT;
    put_str(hs, "resourceType", "HealthcareService");
    if(min || max) {
        json_value *x = json_new_object(), *range = json_new_object();
        put_str(x, "url", EXT_AGE_RANGE);
        if(min) json_set(range, "low", age_quantity(min));
        if(max) json_set(range, "high", age_quantity(max));
        json_set(x, "valueRange", range);
        json_append(exts, x);
    }
    map_service_areas(f, s, exts, areas);
    map_service_at_locations(f, s, org_id[0] ? org_id : NULL, locations);
    if(url) add_telecom(telecom, "url", url);
    if(email) add_telecom(telecom, "email", email);
    map_phones(f, s, "", telecom, NULL);
    map_contacts(f, s, telecom, exts);
    map_languages(f, s, communication);
    map_schedules(f, s, times, &exceptions);

    char id[FHIR_ID_LEN];
    snprintf(id, sizeof id, "oruk-%s", uuid);
    put_str(hs, "id", id);
    put_array(hs, "extension", exts);
    bool gone = status && (strcmp(status, "inactive") == 0 || strcmp(status, "defunct") == 0);
    json_set(hs, "active", json_new_bool(!gone));
    if(org_id[0]) {
        json_set(hs, "providedBy", reference("Organization", org_id));
        if(!org) add_ref_check(f, "Organization", org_id, "organization_id", NULL);
    }
    map_attributes(f, s, hs);
    put_array(hs, "location", locations);
    put_str(hs, "name", name);
    put_str(hs, "comment", desc);
    put_array(hs, "telecom", telecom);
    put_array(hs, "coverageArea", areas);
    put_array(hs, "communication", communication);
    if(status && strcmp(status, "temporarily closed") == 0) {
        json_value *na = json_new_array(), *x = json_new_object();
        put_str(x, "description", alert ? alert : "Temporarily closed");
        json_append(na, x);
        json_set(hs, "notAvailable", na);
    } else if(alert) {
        note_unmapped(f, "alert (unless the service is temporarily closed)");
    }
    put_array(hs, "availableTime", times);
    put_str(hs, "availabilityExceptions", buf_str(&exceptions));
    buf_free(&exceptions);
    if(!ok || f->errors > before) {
        json_free(hs);
        for(size_t i = first_item; i < f->nitems; i++) json_free(f->items[i].res);
        f->nitems = first_item;
        while(f->nrefs && f->refs[f->nrefs - 1].item >= first_item) f->nrefs--;
        return;
    }
    add_item(f, "HealthcareService", id, hs);
}

/* ---- reading and writing ------------------------------------------------- */

/* Read the whole (possibly gzip-compressed) file into b. */
static kith_rc read_file(const char *file, buf *b) {
    gzFile gz = gzopen(file, "rb");
    if(!gz) {
        fprintf(stderr, "%s: cannot open: %m\n", file);
        return KITH_EIO;
    }
    buf_init(b, MAX_FILE);
    kith_rc rc = KITH_OK;
    char *chunk = xmalloc(CHUNK);
    int n;
    while((n = gzread(gz, chunk, CHUNK)) > 0)
        if(buf_append(b, chunk, (size_t)n)) {
            fprintf(stderr, "%s: larger than %u bytes\n", file, MAX_FILE);
            rc = KITH_ETOOBIG;
            break;
        }
    int errnum = 0;
    const char *gerr = gzerror(gz, &errnum);
    if(!rc && (n < 0 || (errnum && errnum != Z_STREAM_END))) {
        fprintf(stderr, "%s: read failed: %s\n", file, gerr);
        rc = KITH_EIO;
    }
    gzclose(gz);
    free(chunk);
    return rc;
}

static int item_cmp(const void *a, const void *b) {
    const item *const *x = a, *const *y = b;
    int d = strcmp((*x)->type, (*y)->type);
    if(!d) d = strcmp((*x)->id, (*y)->id);
    if(!d) d = (*x < *y) ? -1 : (*x > *y);
    return d;
}

/* Index the items by type and id: mark repeats (the first stays), and
 * report services given twice. Caller frees the index. */
static item **index_items(feed *f) {
    item **ix = xcalloc(f->nitems + 1, sizeof *ix);
    for(size_t i = 0; i < f->nitems; i++) ix[i] = &f->items[i];
    if(f->nitems > 1) qsort(ix, f->nitems, sizeof *ix, item_cmp);
    size_t first = 0; /* the first of a run of equal type/id */
    for(size_t i = 1; i < f->nitems; i++) {
        if(strcmp(ix[i]->type, ix[first]->type) != 0 || strcmp(ix[i]->id, ix[first]->id) != 0) {
            first = i;
            continue;
        }
        ix[i]->duplicate = true;
        if(strcmp(ix[i]->type, "HealthcareService") == 0) {
            f->index = ix[i]->service;
            f->sid = ix[i]->sid;
            feed_error(f, "id", "the service is given more than once (first as services[%zu])", ix[first]->service);
        }
    }
    return ix;
}

/* Is type/id among the n items of the index ix (sorted by index_items)? */
static bool in_feed(item **ix, size_t n, const char *type, const char *id) {
    size_t lo = 0, hi = n;
    while(lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = strcmp(ix[mid]->type, type);
        if(!d) d = strcmp(ix[mid]->id, id);
        if(!d) return true;
        if(d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Check the references given by id alone: each must be in the feed or stored. */
static kith_rc check_refs(feed *f, store_conn *c, item **ix) {
    for(size_t i = 0; i < f->nrefs; i++) {
        ref_check *r = &f->refs[i];
        if(in_feed(ix, f->nitems, r->type, r->id)) continue;
        store_resource cur;
        kith_rc rc = store_read(c, r->type, r->id, 0, &cur);
        store_resource_free(&cur);
        if(rc == KITH_OK) continue;
        if(rc != KITH_ENOTFOUND && rc != KITH_EGONE) return rc;
        item *it = &f->items[r->item];
        f->index = it->service;
        f->sid = it->sid;
        if(r->fhir_field) {
            feed_warn(f, r->field, "no %s %s in this feed or the directory: left out", r->type, r->id + 5);
            json_remove(it->res, r->fhir_field);
        } else {
            feed_error(f, r->field, "no %s %s in this feed or the directory", r->type, r->id + 5);
        }
    }
    return f->errors ? KITH_EINVALID : KITH_OK;
}

typedef struct counts {
    long services, organizations, locations;
    long created, updated, unchanged;
} counts;

/* Write every item (repeats once) inside the open transaction. */
static kith_rc write_items(feed *f, store_conn *c, counts *n) {
    for(size_t i = 0; i < f->nitems; i++) {
        item *it = &f->items[i];
        if(it->duplicate) continue;
        record_opts o = {.in_transaction = true, .skip_unchanged = true};
        record_result r;
        fhir_issues is = FHIR_ISSUES_INIT;
        kith_rc rc = record_update(c, it->type, it->id, it->res, &o, &r, &is);
        if(rc) {
            f->index = it->service;
            f->sid = it->sid;
            for(size_t k = 0; k < is.n; k++) {
                char field[200];
                snprintf(field, sizeof field, "%s/%s%s%s", it->type, it->id, is.v[k].expression ? " " : "",
                         is.v[k].expression ? is.v[k].expression : "");
                feed_error(f, field, "%s", is.v[k].diagnostics);
            }
            if(!is.n) feed_error(f, it->id, "could not be stored: %s", kith_rc_name(rc));
            fhir_issues_free(&is);
            return rc;
        }
        fhir_issues_free(&is);
        if(r.unchanged)
            n->unchanged++;
        else if(r.created)
            n->created++;
        else
            n->updated++;
        record_result_free(&r);
        if(strcmp(it->type, "HealthcareService") == 0)
            n->services++;
        else if(strcmp(it->type, "Organization") == 0)
            n->organizations++;
        else
            n->locations++;
    }
    return KITH_OK;
}

/* Open the store and write the mapped feed (indexed by ix) in one transaction. */
static kith_rc store_feed(feed *f, item **ix, const char *db_path, counts *n) {
    char err[512];
    store *st = NULL;
    store_options so = {.durable_full = true};
    kith_rc rc = store_open(db_path, &so, &st, err, sizeof err);
    if(rc) {
        fprintf(stderr, "kith import: %s\n", err);
        return rc;
    }
    store_conn *c = store_conn_for_thread(st);
    rc = c ? store_begin(c) : KITH_ESTORE;
    if(!rc) rc = check_refs(f, c, ix);
    if(!rc) rc = write_items(f, c, n);
    if(!rc) rc = store_commit(c);
    if(rc && c) store_rollback(c);
    if(rc && rc != KITH_EINVALID && rc != KITH_EINVAL)
        fprintf(stderr, "%s: not imported: %s (nothing was changed)\n", f->file, kith_rc_name(rc));
    store_close(st);
    return rc;
}

/* The services of a feed document: one service, an array, or a page's contents. */
static const json_value *services_of(const json_value *doc, bool *single) {
    *single = false;
    if(json_kind_of(doc) == JSON_ARRAY) return doc;
    if(json_kind_of(doc) != JSON_OBJECT) return NULL;
    const json_value *contents = json_get(doc, "contents");
    if(contents) return json_kind_of(contents) == JSON_ARRAY ? contents : NULL;
    if(!json_has(doc, "id") && !json_has(doc, "name")) return NULL;
    *single = true;
    return doc;
}

static void print_summary(const feed *f, const counts *n) {
    printf("%s: %ld service%s, %ld organization%s, %ld location%s: %ld new, %ld changed, %ld unchanged\n", f->file,
           n->services, n->services == 1 ? "" : "s", n->organizations, n->organizations == 1 ? "" : "s",
           n->locations, n->locations == 1 ? "" : "s", n->created, n->updated, n->unchanged);
    if(!f->nunmapped) return;
    fprintf(stderr, "%s: not kept (Kith's directory has no place for them): ", f->file);
    for(size_t i = 0; i < f->nunmapped; i++) fprintf(stderr, "%s%s", i ? ", " : "", f->unmapped[i]);
    fputc('\n', stderr);
}

int cli_import_openreferral(const char *db_path, const char *file, bool quiet) {
    buf text = BUF_INIT;
    json_value *doc = NULL;
    feed f = {.file = file, .quiet = quiet};
    item **ix = NULL;
    counts n = {0};
    char err[256];
    kith_rc rc = read_file(file, &text);
    if(rc) goto done;
    if(json_parse(buf_str(&text), text.len, &doc, err, sizeof err)) {
        fprintf(stderr, "%s: not JSON: %s\n", file, err);
        rc = KITH_EINVAL;
        goto done;
    }
    const json_value *services = services_of(doc, &f.single);
    if(!services) {
        fprintf(stderr, "%s: not an Open Referral UK feed: expected a service, an array of services or a page "
                        "with contents\n", file);
        rc = KITH_EINVAL;
        goto done;
    }
    size_t count = f.single ? 1 : json_array_len(services);
    if(count > MAX_SERVICES) {
        fprintf(stderr, "%s: %zu services: more than %d in one feed; split it\n", file, count, MAX_SERVICES);
        rc = KITH_ETOOBIG;
        goto done;
    }
    for(size_t i = 0; i < count; i++) {
        const json_value *s = f.single ? services : json_array_at(services, i);
        f.index = i;
        f.sid = json_string(json_get(s, "id"));
        map_service(&f, s);
    }
    ix = index_items(&f);
    rc = f.errors ? KITH_EINVALID : store_feed(&f, ix, db_path, &n);
    if(rc == KITH_EINVALID)
        fprintf(stderr, "%s: not imported: %d problem%s (nothing was changed)\n", file, f.errors,
                f.errors == 1 ? "" : "s");
    else if(!rc && !quiet)
        print_summary(&f, &n);
done:
    free(ix);
    feed_free(&f);
    json_free(doc);
    buf_free(&text);
    return cli_exit_code(rc);
}
