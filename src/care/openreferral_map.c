/*
 * openreferral_map.c — FHIR HealthcareService, Organization and Location as
 * Open Referral UK objects (services, organizations, locations, schedules,
 * contacts, attributes, taxonomies), and their ids; openreferral.c serves them.
 *
 * Ids: ORUK 3.0 wants UUIDs. A resource whose FHIR id is a UUID keeps it; one
 * imported from an ORUK feed (FHIR id "oruk-<uuid>") gives back its original
 * UUID; any other gets the name-based (version 5) UUID of "Type/id" in
 * Kith's namespace, so ids are stable across restarts and machines. Parts
 * without a FHIR id of their own get the version 5 UUID of "Type/id#part",
 * taxonomies that of their code system URL and terms that of "system|code".
 * Threading: no state of its own; reads only HealthcareService, Organization
 * and Location, on the caller's store connection. Objects: caller frees.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "base/id.h"
#include "care/openreferral_int.h"

#define EXT_AGE_RANGE ORUK_KITH_FHIR "StructureDefinition/age-range"
#define EXT_DUTY_CONTACT ORUK_KITH_FHIR "StructureDefinition/duty-contact"
#define SECTOR_SYS ORUK_KITH_FHIR "CodeSystem/sector"
#define NEED_SYS ORUK_KITH_FHIR "CodeSystem/need"
#define ORG_ID_SYS ORUK_KITH_FHIR "Id/org-id/" /* + an org-id.guide scheme, e.g. GB-CHC */
#define ODS_SYS "https://fhir.nhs.uk/Id/ods-organization-code"

/* ---- ids ----------------------------------------------------------------- */

/* Kith's namespace for name-based ORUK ids: the version 5 UUID of the URL
 * https://kith.example.org/fhir/openreferral in the RFC 4122 URL namespace. */
static const unsigned char KITH_NS[16] = {0x43, 0xf6, 0x6a, 0x4b, 0x04, 0x86, 0x53, 0x4d,
                                          0x97, 0x5d, 0x0f, 0xc6, 0x39, 0xe5, 0x0b, 0x18};

/* The name-based UUID of name in Kith's namespace. */
static void name_uuid(const char *name, char out[ORUK_UUID_LEN]) {
    id_name_uuid(KITH_NS, name, out);
}

void oruk_lower_copy(char *out, const char *s, size_t n) {
    size_t i = 0;
    for(; s[i] && i + 1 < n; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

/* The ORUK id of the FHIR resource type/id (see the top of the file). */
void oruk_id(const char *type, const char *id, char out[ORUK_UUID_LEN]) {
    if(id_is_uuid(id)) {
        oruk_lower_copy(out, id, ORUK_UUID_LEN);
    } else if(strncmp(id, "oruk-", 5) == 0 && id_is_uuid(id + 5)) {
        oruk_lower_copy(out, id + 5, ORUK_UUID_LEN);
    } else {
        buf name = BUF_INIT;
        buf_printf(&name, "%s/%s", type, id);
        name_uuid(buf_str(&name), out);
        buf_free(&name);
    }
}

/* The ORUK id of a part of resource type/id: the UUID of "Type/id#part". */
static void part_id(const char *type, const char *id, const char *part, char out[ORUK_UUID_LEN]) {
    buf name = BUF_INIT;
    buf_printf(&name, "%s/%s#%s", type, id, part);
    name_uuid(buf_str(&name), out);
    buf_free(&name);
}

/* The ORUK id of the taxonomy for a code system: the UUID itself for a
 * "urn:uuid:" system (an imported ORUK taxonomy), else that of the URL. */
void oruk_taxonomy_id(const char *system, char out[ORUK_UUID_LEN]) {
    if(strncmp(system, "urn:uuid:", 9) == 0 && id_is_uuid(system + 9))
        oruk_lower_copy(out, system + 9, ORUK_UUID_LEN);
    else
        name_uuid(system, out);
}

void oruk_term_id(const char *system, const char *code, char out[ORUK_UUID_LEN]) {
    buf name = BUF_INIT;
    buf_printf(&name, "%s|%s", system, code);
    name_uuid(buf_str(&name), out);
    buf_free(&name);
}

/* ---- JSON helpers -------------------------------------------------------- */

/* o.key as a string, or NULL. Borrowed. */
const char *oruk_str_of(const json_value *o, const char *key) {
    return json_string(json_get(o, key));
}

/* Set o.key to a copy of s unless s is NULL or empty. */
void oruk_put_str(json_value *o, const char *key, const char *s) {
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
        const char *u = oruk_str_of(json_array_at(exts, i), "url");
        if(u && strcmp(u, url) == 0) return json_array_at(exts, i);
    }
    return NULL;
}

/* The id of the target of a Reference to type ("Type/id", or a URL ending
 * in it) into id; false if it is not one. */
bool oruk_ref_id(const json_value *reference, const char *type, char id[72]) {
    const char *r = oruk_str_of(reference, "reference");
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
json_value *oruk_read_json(store_conn *c, const char *type, const char *id) {
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
        const char *s = oruk_str_of(t, "system"), *v = oruk_str_of(t, "value");
        if(!s || !v || strcmp(s, system) != 0) continue;
        if(strcmp(system, "email") == 0 && (!strchr(v, '@') || strpbrk(v, " \t"))) continue;
        if(strcmp(system, "url") == 0 && strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) continue;
        return v;
    }
    return NULL;
}

/* The text of a CodeableConcept: its text, else its first coding's display. Borrowed. */
static const char *concept_text(const json_value *cc) {
    const char *t = oruk_str_of(cc, "text");
    if(t) return t;
    const json_value *codings = json_get(cc, "coding");
    for(size_t i = 0; i < json_array_len(codings); i++)
        if((t = oruk_str_of(json_array_at(codings, i), "display")) != NULL) return t;
    return NULL;
}

/* ---- the taxonomies Kith knows ------------------------------------------- */

static const oruk_known_term SECTOR_TERMS[] = {
    {"health", "Health", "Primary care and other NHS health services"},
    {"community-health", "Community health", "NHS community health services: nursing, therapy, matrons"},
    {"hospital", "Hospital", "Services of the acute hospital"},
    {"mental-health", "Mental health", "Mental health and memory services"},
    {"social-care", "Adult social care", "The council's adult social care services"},
    {"voluntary", "Voluntary and community", "Services of voluntary, community and faith groups"},
};

static const oruk_known_term NEED_TERMS[] = {
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

const oruk_known_taxonomy ORUK_KNOWN[] = {
    {SECTOR_SYS, "Kith sector", "Which part of the local health and care system runs the service", SECTOR_TERMS,
     sizeof SECTOR_TERMS / sizeof *SECTOR_TERMS},
    {NEED_SYS, "Kith need", "What people come to the service for", NEED_TERMS, sizeof NEED_TERMS / sizeof *NEED_TERMS},
    {"http://terminology.hl7.org/CodeSystem/service-category", "FHIR service category",
     "HL7 FHIR's broad categories of service", NULL, 0},
    {"http://terminology.hl7.org/CodeSystem/service-type", "FHIR service type", "HL7 FHIR's types of service", NULL,
     0},
    {"http://snomed.info/sct", "SNOMED CT", "SNOMED CT concepts", NULL, 0},
};
const size_t ORUK_NKNOWN = sizeof ORUK_KNOWN / sizeof *ORUK_KNOWN;

const oruk_known_taxonomy *oruk_known_taxonomy_of(const char *system) {
    for(size_t i = 0; i < ORUK_NKNOWN; i++)
        if(strcmp(ORUK_KNOWN[i].system, system) == 0) return &ORUK_KNOWN[i];
    return NULL;
}

const oruk_known_term *oruk_known_term_of(const oruk_known_taxonomy *t, const char *code) {
    for(size_t i = 0; t && i < t->nterms; i++)
        if(strcmp(t->terms[i].code, code) == 0) return &t->terms[i];
    return NULL;
}

/* The name of the taxonomy of a code system into out (a known name, else
 * the last segment of the URL). */
static void taxonomy_name(const char *system, char *out, size_t n) {
    const oruk_known_taxonomy *k = oruk_known_taxonomy_of(system);
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
json_value *oruk_map_term(const char *system, const char *code, const char *display) {
    const oruk_known_taxonomy *k = oruk_known_taxonomy_of(system);
    const oruk_known_term *kt = oruk_known_term_of(k, code);
    char id[ORUK_UUID_LEN], tax[ORUK_UUID_LEN], tax_name[256];
    oruk_term_id(system, code, id);
    oruk_taxonomy_id(system, tax);
    taxonomy_name(system, tax_name, sizeof tax_name);
    const char *name = display && *display ? display : kt ? kt->name : code;
    json_value *t = json_new_object();
    oruk_put_str(t, "id", id);
    oruk_put_str(t, "name", name);
    oruk_put_str(t, "description", kt ? kt->description : name);
    oruk_put_str(t, "taxonomy", tax_name);
    oruk_put_str(t, "taxonomy_id", tax);
    if(uri_like(system)) {
        buf uri = BUF_INIT;
        buf_printf(&uri, "%s#", system);
        for(const unsigned char *p = (const unsigned char *)code; *p; p++)
            if(isalnum(*p) || strchr("-._~", *p))
                buf_putc(&uri, (char)*p);
            else
                buf_printf(&uri, "%%%02X", *p);
        oruk_put_str(t, "term_uri", buf_str(&uri));
        buf_free(&uri);
    }
    oruk_put_str(t, "term", code);
    return t;
}

/* An ORUK taxonomy for a code system; with its terms when terms is not NULL
 * (taken over). Caller frees. */
json_value *oruk_map_taxonomy(const char *system, json_value *terms) {
    const oruk_known_taxonomy *k = oruk_known_taxonomy_of(system);
    char id[ORUK_UUID_LEN], name[256];
    oruk_taxonomy_id(system, id);
    taxonomy_name(system, name, sizeof name);
    json_value *t = json_new_object();
    oruk_put_str(t, "id", id);
    oruk_put_str(t, "name", name);
    if(k) {
        oruk_put_str(t, "description", k->description);
    } else {
        buf d = BUF_INIT;
        buf_printf(&d, "Codes from %s used in the directory", system);
        oruk_put_str(t, "description", buf_str(&d));
        buf_free(&d);
    }
    if(strncmp(system, "http", 4) == 0) oruk_put_str(t, "uri", system);
    if(terms) json_set(t, "taxonomy_terms", terms);
    return t;
}

/* The coded elements of a HealthcareService that become ORUK attributes. */
static const char *const CODED[] = {"category", "type", "specialty", "characteristic"};
#define NCODED (sizeof CODED / sizeof *CODED)

/* Call fn for each coding (with a system and a code) of the coded elements of hs. */
void oruk_each_coding(const json_value *hs, oruk_coding_fn fn, void *ctx) {
    for(size_t e = 0; e < NCODED; e++) {
        const json_value *ccs = json_get(hs, CODED[e]);
        for(size_t i = 0; i < json_array_len(ccs); i++) {
            const json_value *codings = json_get(json_array_at(ccs, i), "coding");
            for(size_t j = 0; j < json_array_len(codings); j++) {
                const json_value *cd = json_array_at(codings, j);
                const char *system = oruk_str_of(cd, "system"), *code = oruk_str_of(cd, "code");
                if(system && *system && code && *code) fn(ctx, CODED[e], system, code, oruk_str_of(cd, "display"));
            }
        }
    }
}

/* ---- mapping FHIR to ORUK ------------------------------------------------ */

const char *const ORUK_DAY_CODE[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
const char *const ORUK_DAY_RRULE[7] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};
const char *const ORUK_DAY_NAME[7] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

/* The days of an availableTime entry as a bit set (bit 0 Monday); all seven when it names none. */
unsigned oruk_days_of(const json_value *at) {
    const json_value *days = json_get(at, "daysOfWeek");
    unsigned set = 0;
    for(size_t i = 0; i < json_array_len(days); i++) {
        const char *d = json_string(json_array_at(days, i));
        for(int k = 0; d && k < 7; k++)
            if(strcmp(d, ORUK_DAY_CODE[k]) == 0) set |= 1u << k;
    }
    return set ? set : 0x7f;
}

/* Opening and closing times of an availableTime entry (HH:MM:SS); false
 * when it gives neither all day nor both times. Borrowed or static. */
bool oruk_hours_of(const json_value *at, const char **opens, const char **closes) {
    if(json_boolean(json_get(at, "allDay"))) {
        *opens = "00:00:00";
        *closes = "23:59:59";
        return true;
    }
    *opens = oruk_str_of(at, "availableStartTime");
    *closes = oruk_str_of(at, "availableEndTime");
    return *opens && *closes;
}

/* Is now inside a notAvailable entry (no period counts as now)? */
static bool closed_now(const json_value *na, double now) {
    const json_value *during = json_get(na, "during");
    if(!during) return true;
    double lo, hi;
    const char *start = oruk_str_of(during, "start"), *end = oruk_str_of(during, "end");
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
void oruk_ages_of(const json_value *hs, const json_value **min, const json_value **max) {
    const json_value *range = json_get(ext_of(hs, EXT_AGE_RANGE), "valueRange");
    *min = json_get(json_get(range, "low"), "value");
    *max = json_get(json_get(range, "high"), "value");
}

/* An ORUK organization for Organization/id; with its identifiers when full.
 * NULL when it cannot be read. Caller frees. */
static json_value *map_organization(store_conn *c, const char *id, bool full) {
    json_value *org = oruk_read_json(c, "Organization", id);
    if(!org) return NULL;
    char uuid[ORUK_UUID_LEN], part[ORUK_UUID_LEN], parent[72];
    oruk_id("Organization", id, uuid);
    json_value *o = json_new_object();
    oruk_put_str(o, "id", uuid);
    const char *name = oruk_str_of(org, "name");
    if(!name) name = json_string(json_array_at(json_get(org, "alias"), 0));
    oruk_put_str(o, "name", name ? name : id);
    const char *what = concept_text(json_array_at(json_get(org, "type"), 0));
    oruk_put_str(o, "description", what ? what : name ? name : id);
    oruk_put_str(o, "email", telecom_of(org, "email"));
    oruk_put_str(o, "website", telecom_of(org, "url"));
    if(oruk_ref_id(json_get(org, "partOf"), "Organization", parent)) {
        oruk_id("Organization", parent, part);
        oruk_put_str(o, "parent_organization_id", part);
    }
    if(full) {
        json_value *ids = json_new_array();
        const json_value *idents = json_get(org, "identifier");
        for(size_t i = 0; i < json_array_len(idents); i++) {
            const json_value *ident = json_array_at(idents, i);
            const char *system = oruk_str_of(ident, "system"), *value = oruk_str_of(ident, "value");
            if(!value) continue;
            char where[48];
            snprintf(where, sizeof where, "identifier/%zu", i);
            part_id("Organization", id, where, part);
            json_value *x = json_new_object();
            oruk_put_str(x, "id", part);
            oruk_put_str(x, "organization_id", uuid);
            const char *type = concept_text(json_get(ident, "type"));
            if(system && strncmp(system, ORG_ID_SYS, strlen(ORG_ID_SYS)) == 0) {
                oruk_put_str(x, "identifier_scheme", system + strlen(ORG_ID_SYS));
                if(!type) type = system + strlen(ORG_ID_SYS);
            } else if(system && strcmp(system, ODS_SYS) == 0) {
                type = "ODS code";
            }
            oruk_put_str(x, "identifier_type", type ? type : system ? system : "identifier");
            oruk_put_str(x, "identifier", value);
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
    json_value *loc = oruk_read_json(c, "Location", id);
    if(!loc) return NULL;
    char uuid[ORUK_UUID_LEN], part[ORUK_UUID_LEN];
    oruk_id("Location", id, uuid);
    const json_value *addr = json_get(loc, "address");
    const json_value *pt = json_array_at(json_get(json_get(loc, "physicalType"), "coding"), 0);
    const char *pt_code = oruk_str_of(pt, "code"), *addr_type = oruk_str_of(addr, "type");
    bool virtual = pt_code && strcmp(pt_code, "vi") == 0;
    json_value *o = json_new_object();
    oruk_put_str(o, "id", uuid);
    oruk_put_str(o, "location_type", virtual ? "virtual" : "physical");
    oruk_put_str(o, "name", oruk_str_of(loc, "name"));
    const char *desc = oruk_str_of(loc, "description");
    oruk_put_str(o, "description", desc ? desc : concept_text(json_array_at(json_get(loc, "type"), 0)));
    const json_value *pos = json_get(loc, "position");
    put_number(o, "latitude", json_get(pos, "latitude"));
    put_number(o, "longitude", json_get(pos, "longitude"));
    const json_value *ident = json_array_at(json_get(loc, "identifier"), 0);
    if(oruk_str_of(ident, "value")) {
        oruk_put_str(o, "external_identifier", oruk_str_of(ident, "value"));
        const char *type = concept_text(json_get(ident, "type"));
        oruk_put_str(o, "external_identifier_type", type ? type : oruk_str_of(ident, "system"));
    }
    if(full) {
        json_value *addrs = json_new_array();
        if(addr) {
            buf line = BUF_INIT;
            const json_value *lines = json_get(addr, "line");
            for(size_t i = 0; i < json_array_len(lines); i++)
                if(json_string(json_array_at(lines, i)))
                    buf_printf(&line, "%s%s", line.len ? ", " : "", json_string(json_array_at(lines, i)));
            if(!line.len && oruk_str_of(addr, "text")) buf_puts(&line, oruk_str_of(addr, "text"));
            const char *district = oruk_str_of(addr, "district"), *state = oruk_str_of(addr, "state");
            part_id("Location", id, "address", part);
            json_value *a = json_new_object();
            oruk_put_str(a, "id", part);
            oruk_put_str(a, "location_id", uuid);
            json_set(a, "address_1", json_new_string(buf_str(&line)));
            json_set(a, "city", json_new_string(oruk_str_of(addr, "city") ? oruk_str_of(addr, "city") : ""));
            if(district) oruk_put_str(a, "region", state);
            json_set(a, "state_province", json_new_string(district ? district : state ? state : ""));
            const char *pc = oruk_str_of(addr, "postalCode"), *country = oruk_str_of(addr, "country");
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
    const char *exceptions = oruk_str_of(hs, "availabilityExceptions");
    for(size_t i = 0; i < json_array_len(times); i++) {
        const json_value *at = json_array_at(times, i);
        unsigned days = oruk_days_of(at);
        const char *opens, *closes;
        bool hours = oruk_hours_of(at, &opens, &closes);
        char where[48], id[ORUK_UUID_LEN];
        snprintf(where, sizeof where, "availableTime/%zu", i);
        part_id("HealthcareService", hs_id, where, id);
        buf byday = BUF_INIT, desc = BUF_INIT;
        for(int k = 0; k < 7; k++) {
            if(!(days & (1u << k))) continue;
            buf_printf(&byday, "%s%s", byday.len ? "," : "", ORUK_DAY_RRULE[k]);
            buf_printf(&desc, "%s%s", desc.len ? ", " : "", ORUK_DAY_NAME[k]);
        }
        if(json_boolean(json_get(at, "allDay")))
            buf_puts(&desc, ": open all day");
        else if(hours)
            buf_printf(&desc, ": %.5s to %.5s", opens, closes);
        json_value *s = json_new_object();
        oruk_put_str(s, "id", id);
        oruk_put_str(s, "service_id", svc);
        oruk_put_str(s, "freq", "WEEKLY");
        json_set(s, "interval", json_new_int(1));
        oruk_put_str(s, "byday", buf_str(&byday));
        if(hours) {
            oruk_put_str(s, "opens_at", opens);
            oruk_put_str(s, "closes_at", closes);
        }
        oruk_put_str(s, "description", buf_str(&desc));
        oruk_put_str(s, "notes", exceptions);
        json_append(out, s);
        buf_free(&byday);
        buf_free(&desc);
    }
    return out;
}

/* Append one ORUK service area, its id made from the service and `part` ("postcode-district/KH1"). */
static void add_area(json_value *out, const char *hs_id, const char *svc, const char *part, const char *name,
                     const char *description) {
    char id[ORUK_UUID_LEN];
    part_id("HealthcareService", hs_id, part, id);
    json_value *a = json_new_object();
    oruk_put_str(a, "id", id);
    oruk_put_str(a, "service_id", svc);
    oruk_put_str(a, "name", name);
    oruk_put_str(a, "service_area", name);
    oruk_put_str(a, "description", description);
    json_append(out, a);
}

/* ORUK service areas: Kith's postcode districts, then coverageArea Locations. Caller frees. */
static json_value *map_service_areas(store_conn *c, const json_value *hs, const char *hs_id, const char *svc) {
    json_value *out = json_new_array();
    const json_value *exts = json_get(hs, "extension");
    buf part = BUF_INIT;
    for(size_t i = 0; i < json_array_len(exts); i++) {
        const json_value *x = json_array_at(exts, i);
        const char *u = oruk_str_of(x, "url"), *v = oruk_str_of(x, "valueString");
        if(!u || strcmp(u, ORUK_EXT_DISTRICT) != 0 || !v) continue;
        buf_reset(&part);
        buf_printf(&part, "postcode-district/%s", v);
        add_area(out, hs_id, svc, buf_str(&part), v, NULL);
    }
    const json_value *areas = json_get(hs, "coverageArea");
    for(size_t i = 0; i < json_array_len(areas); i++) {
        char loc_id[72];
        if(!oruk_ref_id(json_array_at(areas, i), "Location", loc_id)) continue;
        json_value *loc = oruk_read_json(c, "Location", loc_id);
        const char *name = oruk_str_of(loc, "name");
        if(!name) name = oruk_str_of(json_array_at(areas, i), "display");
        buf_reset(&part);
        buf_printf(&part, "coverageArea/%s", loc_id);
        add_area(out, hs_id, svc, buf_str(&part), name, oruk_str_of(loc, "description"));
        json_free(loc);
    }
    buf_free(&part);
    return out;
}

/* An ORUK phone for a ContactPoint of system phone or sms, or NULL. Caller frees. */
static json_value *map_phone(const json_value *cp, const char *hs_id, const char *where, const char *contact) {
    const char *system = oruk_str_of(cp, "system"), *value = oruk_str_of(cp, "value");
    if(!system || !value || (strcmp(system, "phone") != 0 && strcmp(system, "sms") != 0)) return NULL;
    char id[ORUK_UUID_LEN];
    part_id("HealthcareService", hs_id, where, id);
    json_value *p = json_new_object();
    oruk_put_str(p, "id", id);
    oruk_put_str(p, "contact_id", contact);
    oruk_put_str(p, "number", value);
    if(strcmp(system, "sms") == 0) oruk_put_str(p, "description", "Text messages");
    return p;
}

/* ORUK contacts: the service's own phone lines ("Enquiries") and Kith's
 * duty-contact extension, each with its phones. Caller frees. */
static json_value *map_contacts(const json_value *hs, const char *hs_id, const char *svc) {
    json_value *out = json_new_array();
    char id[ORUK_UUID_LEN], where[64];
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
        oruk_put_str(ct, "id", id);
        oruk_put_str(ct, "service_id", svc);
        oruk_put_str(ct, "name", "Enquiries");
        json_set(ct, "phones", phones);
        json_append(out, ct);
    } else {
        json_free(phones);
    }
    const json_value *duty = ext_of(hs, EXT_DUTY_CONTACT);
    if(duty) {
        part_id("HealthcareService", hs_id, "contact/duty", id);
        json_value *ct = json_new_object();
        oruk_put_str(ct, "id", id);
        oruk_put_str(ct, "service_id", svc);
        phones = json_new_array();
        const json_value *subs = json_get(duty, "extension");
        for(size_t i = 0; i < json_array_len(subs); i++) {
            const json_value *x = json_array_at(subs, i);
            const char *u = oruk_str_of(x, "url");
            if(u && strcmp(u, "name") == 0) oruk_put_str(ct, "name", oruk_str_of(x, "valueString"));
            if(u && strcmp(u, "telecom") == 0) {
                snprintf(where, sizeof where, "duty-contact/%zu", i);
                json_value *p = map_phone(json_get(x, "valueContactPoint"), hs_id, where, id);
                if(p) json_append(phones, p);
            }
        }
        oruk_put_str(ct, "title", "Duty contact");
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
        char where[48], id[ORUK_UUID_LEN];
        snprintf(where, sizeof where, "communication/%zu", i);
        part_id("HealthcareService", hs_id, where, id);
        json_value *l = json_new_object();
        oruk_put_str(l, "id", id);
        oruk_put_str(l, "service_id", svc);
        oruk_put_str(l, "name", concept_text(cc));
        oruk_put_str(l, "code", oruk_str_of(json_array_at(json_get(cc, "coding"), 0), "code"));
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
    char id[ORUK_UUID_LEN];
    buf where = BUF_INIT;
    buf_printf(&where, "%s/%s|%s", element, system, code);
    part_id("HealthcareService", a->hs_id, buf_str(&where), id);
    buf_free(&where);
    for(size_t i = 0; i < json_array_len(a->out); i++) /* the same coding twice in one element */
        if(strcmp(oruk_str_of(json_array_at(a->out, i), "id"), id) == 0) return;
    json_value *t = oruk_map_term(system, code, display);
    json_value *x = json_new_object();
    oruk_put_str(x, "id", id);
    oruk_put_str(x, "link_id", a->svc);
    oruk_put_str(x, "link_type", element);
    oruk_put_str(x, "link_entity", "service");
    oruk_put_str(x, "taxonomy_term_id", oruk_str_of(t, "id"));
    json_set(x, "taxonomy_term", t);
    json_append(a->out, x);
}

/* The ORUK service_at_location id for Location/loc_id of HealthcareService/hs_id. */
void oruk_sal_id(const char *hs_id, const char *loc_id, char out[ORUK_UUID_LEN]) {
    buf where = BUF_INIT;
    buf_printf(&where, "location/%s", loc_id);
    part_id("HealthcareService", hs_id, buf_str(&where), out);
    buf_free(&where);
}

/* An ORUK service_at_location for the service's location reference loc
 * (full: with the location's addresses). Caller frees. */
json_value *oruk_map_sal(store_conn *c, const char *hs_id, const char *svc, const char *loc_id, bool full) {
    char id[ORUK_UUID_LEN], loc_uuid[ORUK_UUID_LEN];
    oruk_sal_id(hs_id, loc_id, id);
    oruk_id("Location", loc_id, loc_uuid);
    json_value *s = json_new_object();
    oruk_put_str(s, "id", id);
    oruk_put_str(s, "service_id", svc);
    oruk_put_str(s, "location_id", loc_uuid);
    json_value *loc = map_location(c, loc_id, full);
    if(loc) json_set(s, "location", loc);
    return s;
}

/* An ORUK service for HealthcareService hs (FHIR id hs_id). Caller frees. */
json_value *oruk_map_service(store_conn *c, const json_value *hs, const char *hs_id,
                             oruk_service_depth depth) {
    char svc[ORUK_UUID_LEN], org_id[72], org_uuid[ORUK_UUID_LEN];
    oruk_id("HealthcareService", hs_id, svc);
    json_value *s = json_new_object();
    oruk_put_str(s, "id", svc);
    bool has_org = oruk_ref_id(json_get(hs, "providedBy"), "Organization", org_id);
    if(has_org) {
        oruk_id("Organization", org_id, org_uuid);
        oruk_put_str(s, "organization_id", org_uuid);
    }
    const char *name = oruk_str_of(hs, "name");
    if(!name) name = concept_text(json_array_at(json_get(hs, "type"), 0));
    oruk_put_str(s, "name", name ? name : hs_id);
    const char *comment = oruk_str_of(hs, "comment"), *details = oruk_str_of(hs, "extraDetails");
    if(comment && details) {
        buf d = BUF_INIT;
        buf_printf(&d, "%s\n\n%s", comment, details);
        oruk_put_str(s, "description", buf_str(&d));
        buf_free(&d);
    } else {
        oruk_put_str(s, "description", comment ? comment : details);
    }
    oruk_put_str(s, "url", telecom_of(hs, "url"));
    oruk_put_str(s, "email", telecom_of(hs, "email"));
    const json_value *closure = closure_now(hs);
    const json_value *active = json_get(hs, "active");
    const char *status = active && !json_boolean(active) ? "inactive" : closure ? "temporarily closed" : "active";
    oruk_put_str(s, "status", status);
    const json_value *min, *max;
    oruk_ages_of(hs, &min, &max);
    put_number(s, "minimum_age", min);
    put_number(s, "maximum_age", max);
    if(closure) oruk_put_str(s, "alert", oruk_str_of(closure, "description"));
    oruk_put_str(s, "last_modified", oruk_str_of(json_get(hs, "meta"), "lastUpdated"));
    if(depth != ORUK_SERVICE_BRIEF) {
        json_set(s, "schedules", map_schedules(hs, hs_id, svc));
        json_set(s, "service_areas", map_service_areas(c, hs, hs_id, svc));
        if(depth == ORUK_SERVICE_FULL) {
            json_value *sals = json_new_array();
            const json_value *locs = json_get(hs, "location");
            for(size_t i = 0; i < json_array_len(locs); i++) {
                char loc_id[72];
                if(oruk_ref_id(json_array_at(locs, i), "Location", loc_id))
                    json_append(sals, oruk_map_sal(c, hs_id, svc, loc_id, true));
            }
            json_set(s, "service_at_locations", sals);
        }
        json_set(s, "languages", map_languages(hs, hs_id, svc));
    }
    if(has_org) {
        json_value *org = map_organization(c, org_id, depth != ORUK_SERVICE_BRIEF);
        if(org) json_set(s, "organization", org);
    }
    if(depth != ORUK_SERVICE_BRIEF) {
        json_set(s, "contacts", map_contacts(hs, hs_id, svc));
        attr_ctx a = {.out = json_new_array(), .hs_id = hs_id, .svc = svc};
        oruk_each_coding(hs, add_attribute, &a);
        json_set(s, "attributes", a.out);
    }
    return s;
}
