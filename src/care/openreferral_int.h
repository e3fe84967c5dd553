/*
 * openreferral_int.h — what the two files of the Open Referral UK API share
 * (not for other modules): openreferral.c answers the requests,
 * openreferral_map.c maps FHIR resources to ORUK objects and gives the ids.
 * Strings returned as "borrowed" point into the JSON they were read from.
 */
#ifndef KITH_CARE_OPENREFERRAL_INT_H
#define KITH_CARE_OPENREFERRAL_INT_H
#include <stdbool.h>
#include <stddef.h>

#include "base/id.h"
#include "json/json.h"
#include "store/store.h"

#define ORUK_UUID_LEN ID_UUID_LEN
#define ORUK_KITH_FHIR "https://kith.example.org/fhir/"
#define ORUK_EXT_DISTRICT ORUK_KITH_FHIR "StructureDefinition/postcode-district"

/* A code of one of the taxonomies Kith knows, with its name and description. */
typedef struct oruk_known_term {
    const char *code, *name, *description;
} oruk_known_term;

/* A taxonomy Kith knows: its code system, name and description, and its terms (if listed). */
typedef struct oruk_known_taxonomy {
    const char *system, *name, *description;
    const oruk_known_term *terms;
    size_t nterms;
} oruk_known_taxonomy;

/* How much of a service oruk_map_service gives. */
typedef enum oruk_service_depth {
    ORUK_SERVICE_BRIEF,        /* one-to-one fields and the organization (lists) */
    ORUK_SERVICE_NO_LOCATIONS, /* all but service_at_locations (inside a service_at_location) */
    ORUK_SERVICE_FULL          /* everything */
} oruk_service_depth;

/* Called by oruk_each_coding for each coding of a coded element (display may be NULL). */
typedef void (*oruk_coding_fn)(void *ctx, const char *element, const char *system, const char *code,
                               const char *display);

/* The taxonomies Kith knows (ORUK_NKNOWN of them), and the days of the week
 * as FHIR codes (mon), RFC 5545 (MO) and names (Monday), Monday first. */
extern const oruk_known_taxonomy ORUK_KNOWN[];
extern const size_t ORUK_NKNOWN;
extern const char *const ORUK_DAY_CODE[7], *const ORUK_DAY_RRULE[7], *const ORUK_DAY_NAME[7];

/* ---- ids ---- */

/* Copy s into out (n bytes, NUL included) in lower case, cut to fit. */
void oruk_lower_copy(char *out, const char *s, size_t n);
/* The ORUK id of the FHIR resource type/id (see openreferral_map.c). */
void oruk_id(const char *type, const char *id, char out[ORUK_UUID_LEN]);
/* The ORUK id of the taxonomy of a code system. */
void oruk_taxonomy_id(const char *system, char out[ORUK_UUID_LEN]);
/* The ORUK id of the taxonomy term system|code. */
void oruk_term_id(const char *system, const char *code, char out[ORUK_UUID_LEN]);
/* The ORUK id of the service_at_location for Location/loc_id of HealthcareService/hs_id. */
void oruk_sal_id(const char *hs_id, const char *loc_id, char out[ORUK_UUID_LEN]);

/* ---- reading FHIR ---- */

/* o.key as a string, or NULL. Borrowed. */
const char *oruk_str_of(const json_value *o, const char *key);
/* Set o.key to a copy of s unless s is NULL or empty. */
void oruk_put_str(json_value *o, const char *key, const char *s);
/* The id of the target of a Reference to type into id; false if it is not one. */
bool oruk_ref_id(const json_value *reference, const char *type, char id[72]);
/* The parsed current version of type/id, or NULL if there is none. Caller frees. */
json_value *oruk_read_json(store_conn *c, const char *type, const char *id);
/* The taxonomy Kith knows for a code system, or NULL. Borrowed (static). */
const oruk_known_taxonomy *oruk_known_taxonomy_of(const char *system);
/* The term of t (which may be NULL) with code, or NULL. Borrowed (static). */
const oruk_known_term *oruk_known_term_of(const oruk_known_taxonomy *t, const char *code);
/* Call fn for each coding (with a system and a code) of the coded elements of HealthcareService hs. */
void oruk_each_coding(const json_value *hs, oruk_coding_fn fn, void *ctx);
/* The days of an availableTime entry as a bit set (bit 0 Monday); all seven when it names none. */
unsigned oruk_days_of(const json_value *at);
/* Opening and closing times (HH:MM:SS) of an availableTime entry; false without both. Borrowed or static. */
bool oruk_hours_of(const json_value *at, const char **opens, const char **closes);
/* The minimum and maximum age of HealthcareService hs, each NULL when not given. Borrowed. */
void oruk_ages_of(const json_value *hs, const json_value **min, const json_value **max);

/* ---- ORUK objects ---- */

/* An ORUK taxonomy_term for a FHIR coding (display may be NULL). Caller frees. */
json_value *oruk_map_term(const char *system, const char *code, const char *display);
/* An ORUK taxonomy for a code system, with terms (taken over) unless NULL. Caller frees. */
json_value *oruk_map_taxonomy(const char *system, json_value *terms);
/* An ORUK service_at_location for a service's Location (full: with addresses). Caller frees. */
json_value *oruk_map_sal(store_conn *c, const char *hs_id, const char *svc, const char *loc_id, bool full);
/* An ORUK service for HealthcareService hs (FHIR id hs_id), as deep as depth. Caller frees. */
json_value *oruk_map_service(store_conn *c, const json_value *hs, const char *hs_id,
                             oruk_service_depth depth);

#endif
