/*
 * openreferral.c — the Open Referral UK read API of the service directory
 * (UK profile 3.0, "HSDS-UK-3.0"): see openreferral.h and
 * docs/openreferral.md for the mapping.
 *
 * Every answer is computed from the store when it is asked for: the
 * HealthcareService resources are scanned (a place's directory holds
 * hundreds to a few thousand), filtered in memory, sorted by name and cut
 * into the requested page; only the services on the page are then read
 * again and mapped, with their Organization and Locations, to ORUK objects.
 * Nothing is cached, so the API shows every write at once.
 *
 * Ids: ORUK 3.0 wants UUIDs. A resource whose FHIR id is a UUID keeps it; one
 * imported from an ORUK feed (FHIR id "oruk-<uuid>") gives back its original
 * UUID; any other gets the name-based (version 5) UUID of "Type/id" in
 * Kith's namespace, so ids are stable across restarts and machines. Parts
 * without a FHIR id of their own (schedules, contacts, addresses, service
 * areas, attributes) get the version 5 UUID of "Type/id#part", taxonomies
 * that of their code system URL and taxonomy terms that of "system|code".
 *
 * Threading: runs on the server's worker threads; all state is per request,
 * on the calling thread's store connection. Public: no viewer is set, and
 * only HealthcareService, Organization and Location are read.
 */
#include "care/openreferral.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "base/id.h"
#include "base/log.h"
#include "base/mem.h"
#include "json/json.h"

#define ORUK_VERSION "HSDS-UK-3.0"
#define ORUK_PROFILE_URL "https://github.com/OpenReferralUK/uk-profile/blob/main/docs/index.md"
#define ORUK_OPENAPI_URL "https://docs.openreferraluk.org/en/latest/openapi30.json"
#define ORUK_JSON "application/json"

#define KITH_FHIR "https://kith.example.org/fhir/"
#define EXT_AGE_RANGE KITH_FHIR "StructureDefinition/age-range"
#define EXT_DISTRICT KITH_FHIR "StructureDefinition/postcode-district"
#define EXT_DUTY_CONTACT KITH_FHIR "StructureDefinition/duty-contact"
#define SECTOR_SYS KITH_FHIR "CodeSystem/sector"
#define NEED_SYS KITH_FHIR "CodeSystem/need"
#define ORG_ID_SYS KITH_FHIR "Id/org-id/" /* + an org-id.guide scheme, e.g. GB-CHC */
#define ODS_SYS "https://fhir.nhs.uk/Id/ods-organization-code"

#define UUID_LEN ID_UUID_LEN
#define PER_PAGE_DEFAULT 50
#define PER_PAGE_MAX 1000
#define PAGE_MAX 1000000
#define SEARCH_MAX 256   /* bytes of search text */
#define SEARCH_WORDS 16  /* words of search text */
#define SEGMENT_MAX 128  /* bytes of a path segment */
#define AGE_MAX 150.0

#define STR_(x) #x
#define XSTR(x) STR_(x)

/* ---- ids ----------------------------------------------------------------- */

/* Kith's namespace for name-based ORUK ids: the version 5 UUID of the URL
 * https://kith.example.org/fhir/openreferral in the RFC 4122 URL namespace. */
static const unsigned char KITH_NS[16] = {0x43, 0xf6, 0x6a, 0x4b, 0x04, 0x86, 0x53, 0x4d,
                                          0x97, 0x5d, 0x0f, 0xc6, 0x39, 0xe5, 0x0b, 0x18};

/* The name-based UUID of name in Kith's namespace. */
static void name_uuid(const char *name, char out[UUID_LEN]) {
    id_name_uuid(KITH_NS, name, out);
}

static void lower_copy(char *out, const char *s, size_t n) {
    size_t i = 0;
    for(; s[i] && i + 1 < n; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

/* The ORUK id of the FHIR resource type/id (see the top of the file). */
static void oruk_id(const char *type, const char *id, char out[UUID_LEN]) {
    if(id_is_uuid(id)) {
        lower_copy(out, id, UUID_LEN);
    } else if(strncmp(id, "oruk-", 5) == 0 && id_is_uuid(id + 5)) {
        lower_copy(out, id + 5, UUID_LEN);
    } else {
        buf name = BUF_INIT;
        buf_printf(&name, "%s/%s", type, id);
        name_uuid(buf_str(&name), out);
        buf_free(&name);
    }
}

/* The ORUK id of a part of resource type/id: the UUID of "Type/id#part". */
static void part_id(const char *type, const char *id, const char *part, char out[UUID_LEN]) {
    buf name = BUF_INIT;
    buf_printf(&name, "%s/%s#%s", type, id, part);
    name_uuid(buf_str(&name), out);
    buf_free(&name);
}

/* The ORUK id of the taxonomy for a code system: the UUID itself for a
 * "urn:uuid:" system (an imported ORUK taxonomy), else that of the URL. */
static void taxonomy_id(const char *system, char out[UUID_LEN]) {
    if(strncmp(system, "urn:uuid:", 9) == 0 && id_is_uuid(system + 9))
        lower_copy(out, system + 9, UUID_LEN);
    else
        name_uuid(system, out);
}

static void term_id(const char *system, const char *code, char out[UUID_LEN]) {
    buf name = BUF_INIT;
    buf_printf(&name, "%s|%s", system, code);
    name_uuid(buf_str(&name), out);
    buf_free(&name);
}

/* ---- JSON helpers -------------------------------------------------------- */

/* o.key as a string, or NULL. Borrowed. */
static const char *str_of(const json_value *o, const char *key) {
    return json_string(json_get(o, key));
}

/* Set o.key to a copy of s unless s is NULL or empty. */
static void put_str(json_value *o, const char *key, const char *s) {
    if(s && *s) json_set(o, key, json_new_string(s));
}

/* Set o.key to a copy of the number n (exact text) unless n is not a number. */
static void put_number(json_value *o, const char *key, const json_value *n) {
    const char *t = json_number_text(n);
    if(t) json_set(o, key, json_new_number_text(t));
}

/* The first extension of res with url, or NULL. Borrowed. */
static const json_value *ext_of(const json_value *res, const char *url) {
    const json_value *exts = json_get(res, "extension");
    for(size_t i = 0; i < json_array_len(exts); i++) {
        const char *u = str_of(json_array_at(exts, i), "url");
        if(u && strcmp(u, url) == 0) return json_array_at(exts, i);
    }
    return NULL;
}

/* The id of the target of a Reference to type ("Type/id", or a URL ending
 * in it) into id; false if it is not one. */
static bool ref_id(const json_value *reference, const char *type, char id[72]) {
    const char *r = str_of(reference, "reference");
    if(!r) return false;
    size_t tl = strlen(type), rl = strlen(r);
    const char *p = NULL;
    for(const char *q = r; (q = strstr(q, type)) != NULL; q++)
        if((q == r || q[-1] == '/') && q[tl] == '/') p = q;
    if(!p) return false;
    const char *v = p + tl + 1;
    size_t n = strcspn(v, "/");
    if(n == 0 || n >= 72 || (size_t)(v - r) + n != rl) return false;
    memcpy(id, v, n);
    id[n] = '\0';
    return true;
}

/* Read and parse the current version of type/id; NULL if there is none.
 * Caller frees. */
static json_value *read_json(store_conn *c, const char *type, const char *id) {
    store_resource r;
    json_value *v = NULL;
    if(store_read(c, type, id, 0, &r) == KITH_OK && r.body && json_parse(r.body, r.body_len, &v, NULL, 0))
        v = NULL;
    store_resource_free(&r);
    return v;
}

/* A telecom value of system (phone, email, url) that suits ORUK's format
 * for it; NULL if there is none. Borrowed. */
static const char *telecom_of(const json_value *res, const char *system) {
    const json_value *tel = json_get(res, "telecom");
    for(size_t i = 0; i < json_array_len(tel); i++) {
        const json_value *t = json_array_at(tel, i);
        const char *s = str_of(t, "system"), *v = str_of(t, "value");
        if(!s || !v || strcmp(s, system) != 0) continue;
        if(strcmp(system, "email") == 0 && (!strchr(v, '@') || strpbrk(v, " \t"))) continue;
        if(strcmp(system, "url") == 0 && strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) continue;
        return v;
    }
    return NULL;
}

/* The text of a CodeableConcept: its text, else its first coding's display. Borrowed. */
static const char *concept_text(const json_value *cc) {
    const char *t = str_of(cc, "text");
    if(t) return t;
    const json_value *codings = json_get(cc, "coding");
    for(size_t i = 0; i < json_array_len(codings); i++)
        if((t = str_of(json_array_at(codings, i), "display")) != NULL) return t;
    return NULL;
}

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

/* ---- the taxonomies Kith knows ------------------------------------------- */

typedef struct known_term {
    const char *code, *name, *description;
} known_term;

typedef struct known_taxonomy {
    const char *system, *name, *description;
    const known_term *terms;
    size_t nterms;
} known_taxonomy;

static const known_term SECTOR_TERMS[] = {
    {"health", "Health", "Primary care and other NHS health services"},
    {"community-health", "Community health", "NHS community health services: nursing, therapy, matrons"},
    {"hospital", "Hospital", "Services of the acute hospital"},
    {"mental-health", "Mental health", "Mental health and memory services"},
    {"social-care", "Adult social care", "The council's adult social care services"},
    {"voluntary", "Voluntary and community", "Services of voluntary, community and faith groups"},
};

static const known_term NEED_TERMS[] = {
    {"falls", "Falls", "Falls, fear of falling, strength and balance"},
    {"loneliness", "Loneliness and isolation", "People who are lonely or isolated"},
    {"carer-support", "Support for carers", "Help for unpaid carers"},
    {"memory", "Memory and dementia", "Memory problems and dementia"},
    {"wound-care", "Wound care", "Wounds, leg ulcers and dressings"},
    {"mobility", "Mobility", "Moving about at home and outside"},
    {"personal-care", "Personal care", "Washing, dressing, eating and other daily living"},
    {"end-of-life", "End of life care", "Care and support in the last months of life"},
    {"rehabilitation", "Rehabilitation", "Regaining abilities after illness or a hospital stay"},
    {"urgent-care", "Urgent care", "A sudden worsening that needs a response within hours"},
    {"discharge", "Hospital discharge", "Leaving hospital with the support needed at home"},
    {"long-term-conditions", "Long-term conditions", "Living with several long-term conditions"},
    {"discharge-pathway-1", "Discharge pathway 1", "Home from hospital with new or more support to recover there"},
    {"discharge-pathway-2", "Discharge pathway 2", "From hospital to a bed for rehabilitation or short-term care"},
    {"discharge-pathway-3", "Discharge pathway 3", "From hospital to a care home placement, likely to be permanent"},
    {"benefits-advice", "Benefits advice", "Money, benefits and housing advice"},
};

static const known_taxonomy KNOWN[] = {
    {SECTOR_SYS, "Kith sector", "Which part of the local health and care system runs the service", SECTOR_TERMS,
     sizeof SECTOR_TERMS / sizeof *SECTOR_TERMS},
    {NEED_SYS, "Kith need", "What people come to the service for", NEED_TERMS, sizeof NEED_TERMS / sizeof *NEED_TERMS},
    {"http://terminology.hl7.org/CodeSystem/service-category", "FHIR service category",
     "HL7 FHIR's broad categories of service", NULL, 0},
    {"http://terminology.hl7.org/CodeSystem/service-type", "FHIR service type", "HL7 FHIR's types of service", NULL,
     0},
    {"http://snomed.info/sct", "SNOMED CT", "SNOMED CT concepts", NULL, 0},
};
#define NKNOWN (sizeof KNOWN / sizeof *KNOWN)

static const known_taxonomy *known_taxonomy_of(const char *system) {
    for(size_t i = 0; i < NKNOWN; i++)
        if(strcmp(KNOWN[i].system, system) == 0) return &KNOWN[i];
    return NULL;
}

static const known_term *known_term_of(const known_taxonomy *t, const char *code) {
    for(size_t i = 0; t && i < t->nterms; i++)
        if(strcmp(t->terms[i].code, code) == 0) return &t->terms[i];
    return NULL;
}

/* The name of the taxonomy of a code system into out (a known name, else
 * the last segment of the URL). */
static void taxonomy_name(const char *system, char *out, size_t n) {
    const known_taxonomy *k = known_taxonomy_of(system);
    if(k) {
        snprintf(out, n, "%s", k->name);
        return;
    }
    size_t len = strlen(system);
    while(len && (system[len - 1] == '/' || system[len - 1] == '#')) len--;
    size_t start = len;
    while(start && system[start - 1] != '/' && system[start - 1] != ':' && system[start - 1] != '#') start--;
    if(strncmp(system, "urn:uuid:", 9) == 0) start = 0; /* an imported taxonomy known only by its id */
    snprintf(out, n, "%.*s", (int)(len - start), system + start);
}

/* May system be given as an ORUK uri (an absolute URI)? */
static bool uri_like(const char *s) {
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0 || strncmp(s, "urn:", 4) == 0;
}

/* An ORUK taxonomy_term for a FHIR coding. Caller frees. */
static json_value *map_term(const char *system, const char *code, const char *display) {
    const known_taxonomy *k = known_taxonomy_of(system);
    const known_term *kt = known_term_of(k, code);
    char id[UUID_LEN], tax[UUID_LEN], tax_name[256];
    term_id(system, code, id);
    taxonomy_id(system, tax);
    taxonomy_name(system, tax_name, sizeof tax_name);
    const char *name = display && *display ? display : kt ? kt->name : code;
    json_value *t = json_new_object();
    put_str(t, "id", id);
    put_str(t, "name", name);
    put_str(t, "description", kt ? kt->description : name);
    put_str(t, "taxonomy", tax_name);
    put_str(t, "taxonomy_id", tax);
    if(uri_like(system)) {
        buf uri = BUF_INIT;
        buf_printf(&uri, "%s#", system);
        for(const unsigned char *p = (const unsigned char *)code; *p; p++)
            if(isalnum(*p) || strchr("-._~", *p))
                buf_putc(&uri, (char)*p);
            else
                buf_printf(&uri, "%%%02X", *p);
        put_str(t, "term_uri", buf_str(&uri));
        buf_free(&uri);
    }
    put_str(t, "term", code);
    return t;
}

/* An ORUK taxonomy for a code system; with its terms when terms is not NULL
 * (taken over). Caller frees. */
static json_value *map_taxonomy(const char *system, json_value *terms) {
    const known_taxonomy *k = known_taxonomy_of(system);
    char id[UUID_LEN], name[256];
    taxonomy_id(system, id);
    taxonomy_name(system, name, sizeof name);
    json_value *t = json_new_object();
    put_str(t, "id", id);
    put_str(t, "name", name);
    if(k) {
        put_str(t, "description", k->description);
    } else {
        buf d = BUF_INIT;
        buf_printf(&d, "Codes from %s used in the directory", system);
        put_str(t, "description", buf_str(&d));
        buf_free(&d);
    }
    if(strncmp(system, "http", 4) == 0) put_str(t, "uri", system);
    if(terms) json_set(t, "taxonomy_terms", terms);
    return t;
}

/* The coded elements of a HealthcareService that become ORUK attributes. */
static const char *const CODED[] = {"category", "type", "specialty", "characteristic"};
#define NCODED (sizeof CODED / sizeof *CODED)

/* Call fn for each coding (with a system and a code) of the coded elements of hs. */
typedef void (*coding_fn)(void *ctx, const char *element, const char *system, const char *code, const char *display);
static void each_coding(const json_value *hs, coding_fn fn, void *ctx) {
    for(size_t e = 0; e < NCODED; e++) {
        const json_value *ccs = json_get(hs, CODED[e]);
        for(size_t i = 0; i < json_array_len(ccs); i++) {
            const json_value *codings = json_get(json_array_at(ccs, i), "coding");
            for(size_t j = 0; j < json_array_len(codings); j++) {
                const json_value *cd = json_array_at(codings, j);
                const char *system = str_of(cd, "system"), *code = str_of(cd, "code");
                if(system && *system && code && *code) fn(ctx, CODED[e], system, code, str_of(cd, "display"));
            }
        }
    }
}

/* ---- mapping FHIR to ORUK ------------------------------------------------ */

static const char *const DAY_CODE[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const DAY_RRULE[] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};
static const char *const DAY_NAME[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

/* The days of an availableTime entry as a bit set (bit 0 Monday); all seven when it names none. */
static unsigned days_of(const json_value *at) {
    const json_value *days = json_get(at, "daysOfWeek");
    unsigned set = 0;
    for(size_t i = 0; i < json_array_len(days); i++) {
        const char *d = json_string(json_array_at(days, i));
        for(int k = 0; d && k < 7; k++)
            if(strcmp(d, DAY_CODE[k]) == 0) set |= 1u << k;
    }
    return set ? set : 0x7f;
}

/* Opening and closing times of an availableTime entry (HH:MM:SS); false
 * when it gives neither all day nor both times. Borrowed or static. */
static bool hours_of(const json_value *at, const char **opens, const char **closes) {
    if(json_boolean(json_get(at, "allDay"))) {
        *opens = "00:00:00";
        *closes = "23:59:59";
        return true;
    }
    *opens = str_of(at, "availableStartTime");
    *closes = str_of(at, "availableEndTime");
    return *opens && *closes;
}

/* Is now inside a notAvailable entry (no period counts as now)? */
static bool closed_now(const json_value *na, double now) {
    const json_value *during = json_get(na, "during");
    if(!during) return true;
    double lo, hi;
    const char *start = str_of(during, "start"), *end = str_of(during, "end");
    if(start && datetime_range(start, &lo, &hi) && now < lo) return false;
    if(end && datetime_range(end, &lo, &hi) && now > hi) return false;
    return true;
}

/* The notAvailable entry of hs in force now, or NULL. Borrowed. */
static const json_value *closure_now(const json_value *hs) {
    const json_value *na = json_get(hs, "notAvailable");
    double now = (double)time(NULL);
    for(size_t i = 0; i < json_array_len(na); i++)
        if(closed_now(json_array_at(na, i), now)) return json_array_at(na, i);
    return NULL;
}

/* The age range of hs (Kith's age-range extension): min and max years, NULL when not given. Borrowed. */
static void ages_of(const json_value *hs, const json_value **min, const json_value **max) {
    const json_value *range = json_get(ext_of(hs, EXT_AGE_RANGE), "valueRange");
    *min = json_get(json_get(range, "low"), "value");
    *max = json_get(json_get(range, "high"), "value");
}

static double number_of(const json_value *n, double dflt) {
    const char *t = json_number_text(n);
    return t ? strtod(t, NULL) : dflt;
}

/* An ORUK organization for Organization/id; with its identifiers when full.
 * NULL when it cannot be read. Caller frees. */
static json_value *map_organization(store_conn *c, const char *id, bool full) {
    json_value *org = read_json(c, "Organization", id);
    if(!org) return NULL;
    char uuid[UUID_LEN], part[UUID_LEN], parent[72];
    oruk_id("Organization", id, uuid);
    json_value *o = json_new_object();
    put_str(o, "id", uuid);
    const char *name = str_of(org, "name");
    if(!name) name = json_string(json_array_at(json_get(org, "alias"), 0));
    put_str(o, "name", name ? name : id);
    const char *what = concept_text(json_array_at(json_get(org, "type"), 0));
    put_str(o, "description", what ? what : name ? name : id);
    put_str(o, "email", telecom_of(org, "email"));
    put_str(o, "website", telecom_of(org, "url"));
    if(ref_id(json_get(org, "partOf"), "Organization", parent)) {
        oruk_id("Organization", parent, part);
        put_str(o, "parent_organization_id", part);
    }
    if(full) {
        json_value *ids = json_new_array();
        const json_value *idents = json_get(org, "identifier");
        for(size_t i = 0; i < json_array_len(idents); i++) {
            const json_value *ident = json_array_at(idents, i);
            const char *system = str_of(ident, "system"), *value = str_of(ident, "value");
            if(!value) continue;
            char where[48];
            snprintf(where, sizeof where, "identifier/%zu", i);
            part_id("Organization", id, where, part);
            json_value *x = json_new_object();
            put_str(x, "id", part);
            put_str(x, "organization_id", uuid);
            const char *type = concept_text(json_get(ident, "type"));
            if(system && strncmp(system, ORG_ID_SYS, strlen(ORG_ID_SYS)) == 0) {
                put_str(x, "identifier_scheme", system + strlen(ORG_ID_SYS));
                if(!type) type = system + strlen(ORG_ID_SYS);
            } else if(system && strcmp(system, ODS_SYS) == 0) {
                type = "ODS code";
            }
            put_str(x, "identifier_type", type ? type : system ? system : "identifier");
            put_str(x, "identifier", value);
            json_append(ids, x);
        }
        json_set(o, "organization_identifiers", ids);
    }
    json_free(org);
    return o;
}

/* An ORUK location for Location/id (addresses when full); NULL when it
 * cannot be read. Caller frees. */
static json_value *map_location(store_conn *c, const char *id, bool full) {
    json_value *loc = read_json(c, "Location", id);
    if(!loc) return NULL;
    char uuid[UUID_LEN], part[UUID_LEN];
    oruk_id("Location", id, uuid);
    const json_value *addr = json_get(loc, "address");
    const json_value *pt = json_array_at(json_get(json_get(loc, "physicalType"), "coding"), 0);
    const char *pt_code = str_of(pt, "code"), *addr_type = str_of(addr, "type");
    bool virtual = pt_code && strcmp(pt_code, "vi") == 0;
    json_value *o = json_new_object();
    put_str(o, "id", uuid);
    put_str(o, "location_type", virtual ? "virtual" : "physical");
    put_str(o, "name", str_of(loc, "name"));
    const char *desc = str_of(loc, "description");
    put_str(o, "description", desc ? desc : concept_text(json_array_at(json_get(loc, "type"), 0)));
    const json_value *pos = json_get(loc, "position");
    put_number(o, "latitude", json_get(pos, "latitude"));
    put_number(o, "longitude", json_get(pos, "longitude"));
    const json_value *ident = json_array_at(json_get(loc, "identifier"), 0);
    if(str_of(ident, "value")) {
        put_str(o, "external_identifier", str_of(ident, "value"));
        const char *type = concept_text(json_get(ident, "type"));
        put_str(o, "external_identifier_type", type ? type : str_of(ident, "system"));
    }
    if(full) {
        json_value *addrs = json_new_array();
        if(addr) {
            buf line = BUF_INIT;
            const json_value *lines = json_get(addr, "line");
            for(size_t i = 0; i < json_array_len(lines); i++)
                if(json_string(json_array_at(lines, i)))
                    buf_printf(&line, "%s%s", line.len ? ", " : "", json_string(json_array_at(lines, i)));
            if(!line.len && str_of(addr, "text")) buf_puts(&line, str_of(addr, "text"));
            const char *district = str_of(addr, "district"), *state = str_of(addr, "state");
            part_id("Location", id, "address", part);
            json_value *a = json_new_object();
            put_str(a, "id", part);
            put_str(a, "location_id", uuid);
            json_set(a, "address_1", json_new_string(buf_str(&line)));
            json_set(a, "city", json_new_string(str_of(addr, "city") ? str_of(addr, "city") : ""));
            if(district) put_str(a, "region", state);
            json_set(a, "state_province", json_new_string(district ? district : state ? state : ""));
            const char *pc = str_of(addr, "postalCode"), *country = str_of(addr, "country");
            json_set(a, "postal_code", json_new_string(pc ? pc : ""));
            json_set(a, "country", json_new_string(country ? country : ""));
            bool postal = addr_type && strcmp(addr_type, "postal") == 0;
            json_set(a, "address_type", json_new_string(postal ? "postal" : "physical"));
            json_append(addrs, a);
            buf_free(&line);
        }
        json_set(o, "addresses", addrs);
    }
    json_free(loc);
    return o;
}

/* ORUK schedules from the service's availableTime. Caller frees. */
static json_value *map_schedules(const json_value *hs, const char *hs_id, const char *svc) {
    json_value *out = json_new_array();
    const json_value *times = json_get(hs, "availableTime");
    const char *exceptions = str_of(hs, "availabilityExceptions");
    for(size_t i = 0; i < json_array_len(times); i++) {
        const json_value *at = json_array_at(times, i);
        unsigned days = days_of(at);
        const char *opens, *closes;
        bool hours = hours_of(at, &opens, &closes);
        char where[48], id[UUID_LEN];
        snprintf(where, sizeof where, "availableTime/%zu", i);
        part_id("HealthcareService", hs_id, where, id);
        buf byday = BUF_INIT, desc = BUF_INIT;
        for(int k = 0; k < 7; k++) {
            if(!(days & (1u << k))) continue;
            buf_printf(&byday, "%s%s", byday.len ? "," : "", DAY_RRULE[k]);
            buf_printf(&desc, "%s%s", desc.len ? ", " : "", DAY_NAME[k]);
        }
        if(json_boolean(json_get(at, "allDay")))
            buf_puts(&desc, ": open all day");
        else if(hours)
            buf_printf(&desc, ": %.5s to %.5s", opens, closes);
        json_value *s = json_new_object();
        put_str(s, "id", id);
        put_str(s, "service_id", svc);
        put_str(s, "freq", "WEEKLY");
        json_set(s, "interval", json_new_int(1));
        put_str(s, "byday", buf_str(&byday));
        if(hours) {
            put_str(s, "opens_at", opens);
            put_str(s, "closes_at", closes);
        }
        put_str(s, "description", buf_str(&desc));
        put_str(s, "notes", exceptions);
        json_append(out, s);
        buf_free(&byday);
        buf_free(&desc);
    }
    return out;
}

/* ORUK service areas: Kith's postcode districts, then coverageArea Locations. Caller frees. */
static json_value *map_service_areas(store_conn *c, const json_value *hs, const char *hs_id, const char *svc) {
    json_value *out = json_new_array();
    const json_value *exts = json_get(hs, "extension");
    char id[UUID_LEN];
    for(size_t i = 0; i < json_array_len(exts); i++) {
        const json_value *x = json_array_at(exts, i);
        const char *u = str_of(x, "url"), *v = str_of(x, "valueString");
        if(!u || strcmp(u, EXT_DISTRICT) != 0 || !v) continue;
        buf where = BUF_INIT;
        buf_printf(&where, "postcode-district/%s", v);
        part_id("HealthcareService", hs_id, buf_str(&where), id);
        buf_free(&where);
        json_value *a = json_new_object();
        put_str(a, "id", id);
        put_str(a, "service_id", svc);
        put_str(a, "name", v);
        put_str(a, "service_area", v);
        json_append(out, a);
    }
    const json_value *areas = json_get(hs, "coverageArea");
    for(size_t i = 0; i < json_array_len(areas); i++) {
        char loc_id[72];
        if(!ref_id(json_array_at(areas, i), "Location", loc_id)) continue;
        json_value *loc = read_json(c, "Location", loc_id);
        const char *name = str_of(loc, "name");
        if(!name) name = str_of(json_array_at(areas, i), "display");
        buf where = BUF_INIT;
        buf_printf(&where, "coverageArea/%s", loc_id);
        part_id("HealthcareService", hs_id, buf_str(&where), id);
        buf_free(&where);
        json_value *a = json_new_object();
        put_str(a, "id", id);
        put_str(a, "service_id", svc);
        put_str(a, "name", name);
        put_str(a, "service_area", name);
        put_str(a, "description", str_of(loc, "description"));
        json_append(out, a);
        json_free(loc);
    }
    return out;
}

/* An ORUK phone for a ContactPoint of system phone or sms, or NULL. Caller frees. */
static json_value *map_phone(const json_value *cp, const char *hs_id, const char *where, const char *contact) {
    const char *system = str_of(cp, "system"), *value = str_of(cp, "value");
    if(!system || !value || (strcmp(system, "phone") != 0 && strcmp(system, "sms") != 0)) return NULL;
    char id[UUID_LEN];
    part_id("HealthcareService", hs_id, where, id);
    json_value *p = json_new_object();
    put_str(p, "id", id);
    put_str(p, "contact_id", contact);
    put_str(p, "number", value);
    if(strcmp(system, "sms") == 0) put_str(p, "description", "Text messages");
    return p;
}

/* ORUK contacts: the service's own phone lines ("Enquiries") and Kith's
 * duty-contact extension, each with its phones. Caller frees. */
static json_value *map_contacts(const json_value *hs, const char *hs_id, const char *svc) {
    json_value *out = json_new_array();
    char id[UUID_LEN], where[64];
    part_id("HealthcareService", hs_id, "contact/enquiries", id);
    json_value *phones = json_new_array();
    const json_value *tel = json_get(hs, "telecom");
    for(size_t i = 0; i < json_array_len(tel); i++) {
        snprintf(where, sizeof where, "telecom/%zu", i);
        json_value *p = map_phone(json_array_at(tel, i), hs_id, where, id);
        if(p) json_append(phones, p);
    }
    if(json_array_len(phones)) {
        json_value *ct = json_new_object();
        put_str(ct, "id", id);
        put_str(ct, "service_id", svc);
        put_str(ct, "name", "Enquiries");
        json_set(ct, "phones", phones);
        json_append(out, ct);
    } else {
        json_free(phones);
    }
    const json_value *duty = ext_of(hs, EXT_DUTY_CONTACT);
    if(duty) {
        part_id("HealthcareService", hs_id, "contact/duty", id);
        json_value *ct = json_new_object();
        put_str(ct, "id", id);
        put_str(ct, "service_id", svc);
        phones = json_new_array();
        const json_value *subs = json_get(duty, "extension");
        for(size_t i = 0; i < json_array_len(subs); i++) {
            const json_value *x = json_array_at(subs, i);
            const char *u = str_of(x, "url");
            if(u && strcmp(u, "name") == 0) put_str(ct, "name", str_of(x, "valueString"));
            if(u && strcmp(u, "telecom") == 0) {
                snprintf(where, sizeof where, "duty-contact/%zu", i);
                json_value *p = map_phone(json_get(x, "valueContactPoint"), hs_id, where, id);
                if(p) json_append(phones, p);
            }
        }
        put_str(ct, "title", "Duty contact");
        json_set(ct, "phones", phones);
        json_append(out, ct);
    }
    return out;
}

/* ORUK languages from the service's communication. Caller frees. */
static json_value *map_languages(const json_value *hs, const char *hs_id, const char *svc) {
    json_value *out = json_new_array();
    const json_value *langs = json_get(hs, "communication");
    for(size_t i = 0; i < json_array_len(langs); i++) {
        const json_value *cc = json_array_at(langs, i);
        char where[48], id[UUID_LEN];
        snprintf(where, sizeof where, "communication/%zu", i);
        part_id("HealthcareService", hs_id, where, id);
        json_value *l = json_new_object();
        put_str(l, "id", id);
        put_str(l, "service_id", svc);
        put_str(l, "name", concept_text(cc));
        put_str(l, "code", str_of(json_array_at(json_get(cc, "coding"), 0), "code"));
        json_append(out, l);
    }
    return out;
}

typedef struct attr_ctx {
    json_value *out;
    const char *hs_id, *svc;
} attr_ctx;

static void add_attribute(void *ctx, const char *element, const char *system, const char *code, const char *display) {
    attr_ctx *a = ctx;
    char id[UUID_LEN];
    buf where = BUF_INIT;
    buf_printf(&where, "%s/%s|%s", element, system, code);
    part_id("HealthcareService", a->hs_id, buf_str(&where), id);
    buf_free(&where);
    for(size_t i = 0; i < json_array_len(a->out); i++) /* the same coding twice in one element */
        if(strcmp(str_of(json_array_at(a->out, i), "id"), id) == 0) return;
    json_value *t = map_term(system, code, display);
    json_value *x = json_new_object();
    put_str(x, "id", id);
    put_str(x, "link_id", a->svc);
    put_str(x, "link_type", element);
    put_str(x, "link_entity", "service");
    put_str(x, "taxonomy_term_id", str_of(t, "id"));
    json_set(x, "taxonomy_term", t);
    json_append(a->out, x);
}

/* The ORUK service_at_location id for Location/loc_id of HealthcareService/hs_id. */
static void sal_id(const char *hs_id, const char *loc_id, char out[UUID_LEN]) {
    buf where = BUF_INIT;
    buf_printf(&where, "location/%s", loc_id);
    part_id("HealthcareService", hs_id, buf_str(&where), out);
    buf_free(&where);
}

/* An ORUK service_at_location for the service's location reference loc
 * (full: with the location's addresses). Caller frees. */
static json_value *map_sal(store_conn *c, const char *hs_id, const char *svc, const char *loc_id, bool full) {
    char id[UUID_LEN], loc_uuid[UUID_LEN];
    sal_id(hs_id, loc_id, id);
    oruk_id("Location", loc_id, loc_uuid);
    json_value *s = json_new_object();
    put_str(s, "id", id);
    put_str(s, "service_id", svc);
    put_str(s, "location_id", loc_uuid);
    json_value *loc = map_location(c, loc_id, full);
    if(loc) json_set(s, "location", loc);
    return s;
}

typedef enum service_depth {
    SERVICE_BRIEF,          /* one-to-one fields and the organization (lists) */
    SERVICE_NO_LOCATIONS,   /* all but service_at_locations (inside a service_at_location) */
    SERVICE_FULL            /* everything */
} service_depth;

/* An ORUK service for HealthcareService hs (FHIR id hs_id). Caller frees. */
static json_value *map_service(store_conn *c, const json_value *hs, const char *hs_id, service_depth depth) {
    char svc[UUID_LEN], org_id[72], org_uuid[UUID_LEN];
    oruk_id("HealthcareService", hs_id, svc);
    json_value *s = json_new_object();
    put_str(s, "id", svc);
    bool has_org = ref_id(json_get(hs, "providedBy"), "Organization", org_id);
    if(has_org) {
        oruk_id("Organization", org_id, org_uuid);
        put_str(s, "organization_id", org_uuid);
    }
    const char *name = str_of(hs, "name");
    if(!name) name = concept_text(json_array_at(json_get(hs, "type"), 0));
    put_str(s, "name", name ? name : hs_id);
    const char *comment = str_of(hs, "comment"), *details = str_of(hs, "extraDetails");
    if(comment && details) {
        buf d = BUF_INIT;
        buf_printf(&d, "%s\n\n%s", comment, details);
        put_str(s, "description", buf_str(&d));
        buf_free(&d);
    } else {
        put_str(s, "description", comment ? comment : details);
    }
    put_str(s, "url", telecom_of(hs, "url"));
    put_str(s, "email", telecom_of(hs, "email"));
    const json_value *closure = closure_now(hs);
    const json_value *active = json_get(hs, "active");
    const char *status = active && !json_boolean(active) ? "inactive" : closure ? "temporarily closed" : "active";
    put_str(s, "status", status);
    const json_value *min, *max;
    ages_of(hs, &min, &max);
    put_number(s, "minimum_age", min);
    put_number(s, "maximum_age", max);
    if(closure) put_str(s, "alert", str_of(closure, "description"));
    put_str(s, "last_modified", str_of(json_get(hs, "meta"), "lastUpdated"));
    if(depth != SERVICE_BRIEF) {
        json_set(s, "schedules", map_schedules(hs, hs_id, svc));
        json_set(s, "service_areas", map_service_areas(c, hs, hs_id, svc));
        if(depth == SERVICE_FULL) {
            json_value *sals = json_new_array();
            const json_value *locs = json_get(hs, "location");
            for(size_t i = 0; i < json_array_len(locs); i++) {
                char loc_id[72];
                if(ref_id(json_array_at(locs, i), "Location", loc_id))
                    json_append(sals, map_sal(c, hs_id, svc, loc_id, true));
            }
            json_set(s, "service_at_locations", sals);
        }
        json_set(s, "languages", map_languages(hs, hs_id, svc));
    }
    if(has_org) {
        json_value *org = map_organization(c, org_id, depth != SERVICE_BRIEF);
        if(org) json_set(s, "organization", org);
    }
    if(depth != SERVICE_BRIEF) {
        json_set(s, "contacts", map_contacts(hs, hs_id, svc));
        attr_ctx a = {.out = json_new_array(), .hs_id = hs_id, .svc = svc};
        each_coding(hs, add_attribute, &a);
        json_set(s, "attributes", a.out);
    }
    return s;
}

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

typedef struct paging {
    long page, per_page;
} paging;

typedef struct filter {
    char text[SEARCH_MAX + 1]; /* the search words, lower case, NUL-separated */
    const char *words[SEARCH_WORDS];
    size_t nwords;
    char term[UUID_LEN], taxonomy[UUID_LEN], org[UUID_LEN]; /* "" when not asked */
    bool has_min, has_max;
    double min_age, max_age;
    unsigned day;              /* a bit as in days_of, 0: any */
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
        if(strcasecmp(v, DAY_RRULE[k]) == 0 || strcasecmp(v, DAY_CODE[k]) == 0 || strcasecmp(v, DAY_NAME[k]) == 0) {
            *out = 1u << k;
            return true;
        }
    return false;
}

static bool parse_uuid(const char *v, char out[UUID_LEN]) {
    if(!id_is_uuid(v)) return false;
    lower_copy(out, v, UUID_LEN);
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
                lower_copy(f->text, v, sizeof f->text);
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
    add_word(b, str_of(cc, "text"));
    const json_value *codings = json_get(cc, "coding");
    for(size_t i = 0; i < json_array_len(codings); i++) {
        const json_value *cd = json_array_at(codings, i);
        const char *system = str_of(cd, "system"), *code = str_of(cd, "code"), *display = str_of(cd, "display");
        const known_term *kt = system && code ? known_term_of(known_taxonomy_of(system), code) : NULL;
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
    for(size_t i = 0; i < sizeof TEXTS / sizeof *TEXTS; i++) add_word(&b, str_of(hs, TEXTS[i]));
    static const char *const CONCEPTS[] = {"category", "type", "specialty", "characteristic", "program"};
    for(size_t e = 0; e < sizeof CONCEPTS / sizeof *CONCEPTS; e++) {
        const json_value *ccs = json_get(hs, CONCEPTS[e]);
        for(size_t i = 0; i < json_array_len(ccs); i++) add_concept_words(&b, json_array_at(ccs, i));
    }
    const json_value *elig = json_get(hs, "eligibility");
    for(size_t i = 0; i < json_array_len(elig); i++) {
        add_concept_words(&b, json_get(json_array_at(elig, i), "code"));
        add_word(&b, str_of(json_array_at(elig, i), "comment"));
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
    char id[UUID_LEN];
    if(m->f->term[0] && !m->term) {
        term_id(system, code, id);
        m->term = strcmp(id, m->f->term) == 0;
    }
    if(m->f->taxonomy[0] && !m->taxonomy) {
        taxonomy_id(system, id);
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
        bool hours = hours_of(at, &opens, &closes);
        if(f->day && !(days_of(at) & f->day)) continue;
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
        const char *u = str_of(x, "url"), *v = str_of(x, "valueString");
        if(!u || strcmp(u, EXT_DISTRICT) != 0 || !v) continue;
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
        each_coding(hs, match_coding, &m);
        if((f->term[0] && !m.term) || (f->taxonomy[0] && !m.taxonomy)) return false;
    }
    if(f->org[0]) {
        char org[72], uuid[UUID_LEN];
        if(!ref_id(json_get(hs, "providedBy"), "Organization", org)) return false;
        oruk_id("Organization", org, uuid);
        if(strcmp(uuid, f->org) != 0) return false;
    }
    if(f->has_min || f->has_max) {
        const json_value *min, *max;
        ages_of(hs, &min, &max);
        if(f->has_min && number_of(min, 0) < f->min_age) return false;
        if(f->has_max && number_of(max, INFINITY) > f->max_age) return false;
    }
    if(f->has_modified) {
        double lo, hi;
        const char *updated = str_of(json_get(hs, "meta"), "lastUpdated");
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
        const char *name = str_of(hs, "name") ? str_of(hs, "name") : r->id;
        if(district != 0 && !s->at_locations) {
            hits_add(s->h, r->id, name, NULL, district < 0);
        } else if(district != 0) {
            const json_value *locs = json_get(hs, "location");
            for(size_t i = 0; i < json_array_len(locs); i++) {
                char loc[72];
                if(ref_id(json_array_at(locs, i), "Location", loc)) hits_add(s->h, r->id, name, loc, district < 0);
            }
        }
    }
    json_free(hs);
    return 0;
}

/* Is Location/id's postcode in the district? */
static bool location_in_district(store_conn *c, const char *id, const char *district) {
    json_value *loc = read_json(c, "Location", id);
    const char *pc = str_of(json_get(loc, "address"), "postalCode");
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
            json_value *hs = read_json(c, "HealthcareService", x->id);
            const json_value *locs = json_get(hs, "location");
            for(size_t k = 0; k < json_array_len(locs) && !keep; k++) {
                char loc[72];
                keep = ref_id(json_array_at(locs, k), "Location", loc) && location_in_district(c, loc, f->district);
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
        json_value *hs = read_json(c, "HealthcareService", h.v[i].id);
        if(!hs) continue; /* deleted since the scan */
        json_value *svc = map_service(c, hs, h.v[i].id, SERVICE_BRIEF);
        if(at_locations) {
            json_value *sal = map_sal(c, h.v[i].id, str_of(svc, "id"), h.v[i].loc, false);
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
    char id[UUID_LEN];
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
    json_value *hs = rc == KITH_OK ? read_json(c, "HealthcareService", id) : NULL;
    if(rc && rc != KITH_ENOTFOUND) {
        reply_store_error(res, req, rc);
    } else if(!hs) {
        reply_error(res, req, 404, "no service has id '%s'", uuid);
    } else {
        reply_json(res, map_service(c, hs, id, SERVICE_FULL));
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
        char loc[72], id[UUID_LEN];
        if(!ref_id(json_array_at(locs, i), "Location", loc)) continue;
        sal_id(r->id, loc, id);
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
    json_value *hs = s.hs[0] ? read_json(c, "HealthcareService", s.hs) : NULL;
    if(rc) {
        reply_store_error(res, req, rc);
    } else if(!hs) {
        reply_error(res, req, 404, "no service_at_location has id '%s'", uuid);
    } else {
        json_value *svc = map_service(c, hs, s.hs, SERVICE_NO_LOCATIONS);
        json_value *sal = map_sal(c, s.hs, str_of(svc, "id"), s.loc, true);
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
    each_coding(hs, vocab_coding, ctx);
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
    for(size_t i = 0; i < NKNOWN; i++)
        for(size_t k = 0; k < KNOWN[i].nterms; k++)
            vocab_add(vb, KNOWN[i].system, KNOWN[i].terms[k].code, KNOWN[i].terms[k].name, true);
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
        char id[UUID_LEN];
        if(terms) {
            const concept *x = &vb.v[i];
            if(uuid) term_id(x->system, x->code, id);
            if(uuid && strcmp(id, uuid) != 0) continue;
            json_value *t = map_term(x->system, x->code, x->display);
            if(uuid)
                found = t;
            else
                json_append(contents, t);
        } else {
            const char *system = vb.v[first[i]].system;
            if(uuid) taxonomy_id(system, id);
            if(uuid && strcmp(id, uuid) != 0) continue;
            json_value *list = NULL;
            if(uuid) {
                list = json_new_array();
                for(size_t k = first[i]; k < first[i + 1]; k++)
                    json_append(list, map_term(system, vb.v[k].code, vb.v[k].display));
            }
            json_value *t = map_taxonomy(system, list);
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
    put_str(o, "version", ORUK_VERSION);
    put_str(o, "profile", ORUK_PROFILE_URL);
    put_str(o, "openapi_url", ORUK_OPENAPI_URL);
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
    lower_copy(uuid, id, sizeof uuid);
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
