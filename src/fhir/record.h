/*
 * record.h — writing FHIR resources into the store: create, update, delete
 * and conditional create, with validation, version numbering, meta, search
 * index rows and the Patient compartment key. Used by the REST API and the
 * bulk importer alike, so both apply the same rules.
 *
 * Each call runs in its own store transaction unless the caller already
 * opened one (record_opts.in_transaction), in which case the caller commits.
 */
#ifndef KITH_FHIR_RECORD_H
#define KITH_FHIR_RECORD_H
#include <stdbool.h>
#include <stdint.h>

#include "base/nhs_number.h"
#include "base/rc.h"
#include "fhir/index.h"
#include "fhir/outcome.h"
#include "json/json.h"
#include "store/store.h"

typedef struct record_opts {
    const char *if_match;      /* an ETag (W/"3" or 3) that the current version must have, or NULL */
    const char *if_none_exist; /* conditional create: a query such as "identifier=sys|val", or NULL */
    bool in_transaction;       /* caller has called store_begin and will commit */
    const char *new_id;        /* record_create: use this id instead of a new one (NULL: new UUID) */
    bool skip_unchanged;       /* record_update_prepared: write nothing when the current version has the
                                  same content (all but meta.versionId and meta.lastUpdated) */
} record_opts;

typedef struct record_result {
    bool created;     /* a new resource (201) rather than a new version (200) */
    bool unchanged;   /* conditional create found a match, or skip_unchanged found the same
                         content: nothing written */
    char id[72];
    int64_t version;
    char last_updated[32];
    char *body;       /* the stored JSON text (caller frees); NULL after a delete */
    size_t body_len;
} record_result;

void record_result_free(record_result *r);

/*
 * A resource made ready to store: validated, id and meta stamped (as
 * version 1), serialised, indexed. The expensive half of a write, done
 * without holding the store's write lock, so the importer can prepare on
 * worker threads while one thread writes.
 */
typedef struct record_prepared {
    char type[64];
    char id[72];
    char last_updated[32];
    json_value *res; /* borrowed: the caller keeps it alive until written */
    char *body;      /* owned */
    size_t body_len;
    fhir_index ix;   /* owned */
    char *patient;   /* owned; may be NULL */
    bool assigned_id; /* the id was made here (a create) */
} record_prepared;

/* Prepare res (changed in place) as type/id (id NULL: a new UUID). Problems
 * go to issues as for record_create. Free with record_prepared_free. */
kith_rc record_prepare(const char *type, const char *id, json_value *res, record_prepared *p, fhir_issues *issues);
void record_prepared_free(record_prepared *p);
/* Write a prepared resource as the next version of type/id (creating it if
 * new), with If-Match as in record_update. */
kith_rc record_update_prepared(store_conn *c, record_prepared *p, const record_opts *o, record_result *out,
                               fhir_issues *issues);

/*
 * The NHS number policy (nhs_number.h, docs/identity.md) on a resource of
 * type `type` about to be stored; only a Patient is looked at. Each
 * identifier whose system is NHS_NUMBER_SYSTEM and whose value is text:
 *   a valid number is stored as its ten digits ("943 476 5919" -> "9434765919");
 *   one the policy refuses adds an error at Patient.identifier[i].value
 *     saying why (nhs_number_problem_text) and KITH_EINVALID is returned,
 *     res left unchanged;
 *   under flag, one that fails the check moves to NHS_NUMBER_UNVERIFIED_SYSTEM
 *     (its ten digits), and a placeholder or blank one is left out, each
 *     with a warning in issues.
 * record_prepare applies it with the policy KITH_NHS_NUMBER_POLICY gives,
 * read once per process, so every write (REST, transaction, kith import)
 * follows the same rule. Returns KITH_OK or KITH_EINVALID.
 */
kith_rc record_patient_nhs_numbers(const char *type, json_value *res, nhs_number_policy policy,
                                   fhir_issues *issues);

/* True if s is a valid FHIR id ([A-Za-z0-9-.]{1,64}). */
bool record_id_valid(const char *s);

/*
 * Create `resource` (parsed JSON, not consumed) as type `type` with a new
 * server id. Problems go to issues: KITH_EINVAL for a body that is not a
 * resource of that type, KITH_EINVALID for validation failures,
 * KITH_ECONFLICT when a conditional create matches more than one resource.
 */
kith_rc record_create(store_conn *c, const char *type, json_value *resource, const record_opts *o,
                      record_result *out, fhir_issues *issues);
/* Create or update resource type/id (the body's id must equal id). */
kith_rc record_update(store_conn *c, const char *type, const char *id, json_value *resource, const record_opts *o,
                      record_result *out, fhir_issues *issues);
/* Conditional update (PUT type?query): no match creates (at the body's id
 * if it has one), one match updates it, several give KITH_ECONFLICT. */
kith_rc record_update_conditional(store_conn *c, const char *type, const char *query, json_value *resource,
                                  const record_opts *o, record_result *out, fhir_issues *issues);
/* Conditional delete (DELETE type?query): no match succeeds with out->id
 * empty, one match deletes it, several give KITH_ECONFLICT. */
kith_rc record_delete_conditional(store_conn *c, const char *type, const char *query, const record_opts *o,
                                  record_result *out, fhir_issues *issues);
/* Delete type/id: KITH_ENOTFOUND if it never existed; deleting a deleted
 * resource succeeds without a new version. */
kith_rc record_delete(store_conn *c, const char *type, const char *id, const record_opts *o, record_result *out,
                      fhir_issues *issues);

/*
 * Resolve a search query ("identifier=sys|val&birthdate=1931-02-03", any
 * FHIR search parameters, parsed strictly) against current resources of
 * type. At most max ids; caller frees each id and the array. KITH_EINVAL
 * with issues for a malformed or unknown parameter.
 */
kith_rc record_match(store_conn *c, const char *type, const char *query, size_t max, char ***ids, size_t *n,
                     fhir_issues *issues);

/* Called now and then during long work with the count done so far. */
typedef void (*record_progress_fn)(void *ctx, long done);

/*
 * Rebuild the search index rows of every current resource from its stored
 * JSON (after an upgrade changes how they are computed). Commits in
 * batches; marks the store's "reindex" setting "done" at the end.
 * *count gets the number of resources reindexed.
 */
kith_rc record_reindex(store_conn *c, record_progress_fn fn, void *ctx, long *count);
/* True when the store says its index must be rebuilt (e.g. after a migration). */
bool record_reindex_needed(store_conn *c);

#endif
