/*
 * cld.h — Adult Social Care Client Level Data (CLD, Release 1) to FHIR R4.
 *
 * Councils in England send NHS England a quarterly CSV of adult social care
 * events: requests for support, assessments, services and reviews, one event
 * per row with the person's details repeated on each. This module reads such
 * rows and maps each to FHIR resources; `kith import --format cld`
 * (src/cli/cld_import.c) drives it and `kith synth` writes the same format
 * with cld_csv_field. See docs/social-care-cld.md for the mapping.
 *
 * Library code: no I/O, no globals, thread-safe. Every function that can
 * fail returns a kith_rc and writes a one-line reason naming the column to
 * err (when err is non-NULL).
 */
#ifndef KITH_SOCIAL_CLD_H
#define KITH_SOCIAL_CLD_H
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/nhs_number.h"
#include "base/rc.h"
#include "json/json.h"

/* Caps on what a CSV file can make us hold. */
#define CLD_MAX_LINE 65536 /* bytes in one record (a quoted field may span lines) */
#define CLD_MAX_FIELDS 256 /* fields in one record */

/* Kith's own identifier and code systems hang off this base. */
#define CLD_KITH_BASE "https://kith.example.org/fhir/"
#define CLD_TAG_SYSTEM CLD_KITH_BASE "CodeSystem/record-source"
#define CLD_TAG_CODE "cld"
#define CLD_NHS_NUMBER_SYSTEM "https://fhir.nhs.uk/Id/nhs-number"

/* The columns Kith knows, in the order `kith synth` writes them. */
typedef enum cld_field {
    CLD_LA_CODE,
    CLD_LA_PERSON_UNIQUE_IDENTIFIER,
    CLD_NHS_NUMBER,
    CLD_GIVEN_NAME,
    CLD_FAMILY_NAME,
    CLD_DATE_OF_BIRTH,
    CLD_GENDER,
    CLD_ETHNICITY,
    CLD_POSTCODE,
    CLD_GP_PRACTICE_CODE,
    CLD_DATE_OF_DEATH,
    CLD_CLIENT_TYPE,
    CLD_PRIMARY_SUPPORT_REASON,
    CLD_ACCOMMODATION_STATUS,
    CLD_HAS_UNPAID_CARER,
    CLD_CLIENT_FUNDING_STATUS,
    CLD_EVENT_TYPE,
    CLD_EVENT_REFERENCE,
    CLD_EVENT_START_DATE,
    CLD_EVENT_END_DATE,
    CLD_EVENT_OUTCOME,
    CLD_REQUEST_ROUTE_OF_ACCESS,
    CLD_ASSESSMENT_TYPE,
    CLD_ELIGIBLE_NEEDS_IDENTIFIED,
    CLD_REVIEW_REASON,
    CLD_SERVICE_TYPE,
    CLD_SERVICE_COMPONENT,
    CLD_DELIVERY_MECHANISM,
    CLD_UNIT_COST,
    CLD_COST_FREQUENCY_UNIT_TYPE,
    CLD_PLANNED_UNITS_PER_WEEK,
    CLD_NFIELDS
} cld_field;

/* The column name as the specification writes it ("LA_Code"). Borrowed, static. */
const char *cld_field_name(cld_field f);
/* True for the five columns every file must have: LA_Code,
 * LA_Person_Unique_Identifier, Event_Type, Event_Reference, Event_Start_Date. */
bool cld_field_required(cld_field f);

/* Where each known field sits in a file's rows. */
typedef struct cld_header {
    int col[CLD_NFIELDS]; /* field -> CSV column index, -1 when the file lacks it */
    size_t ncols;         /* columns in the header: every row must have this many */
    nhs_number_policy nhs_policy; /* NHS numbers that fail the check: refused (default) or kept,
                                     flagged as unverified and never linked on (set by the caller) */
} cld_header;

/*
 * Split one CSV record (RFC 4180: fields separated by commas, a field in
 * double quotes may hold commas, newlines and doubled quotes; the record's
 * line ending already removed). Unquoted fields lose surrounding blanks.
 * On success *fields is one block holding *n NUL-terminated strings (caller
 * frees with free(*fields)). Fails with KITH_EINVAL for a stray or
 * unterminated quote and KITH_ETOOBIG past CLD_MAX_LINE bytes or
 * CLD_MAX_FIELDS fields; *fields is then NULL.
 */
kith_rc cld_split(const char *line, size_t len, char ***fields, size_t *n, char *err, size_t errlen);

/*
 * Find the known columns by name (case-insensitive; a space counts as an
 * underscore; a UTF-8 byte order mark is ignored; unknown columns are
 * ignored). Fails with KITH_EINVAL naming every missing required column, or
 * a column given twice.
 */
kith_rc cld_header_parse(char **fields, size_t n, cld_header *h, char *err, size_t errlen);

/*
 * Look up a person already held with this NHS number (10 digits). Returns
 * true and writes the Patient id to id_out, or false when there is none.
 */
typedef bool (*cld_find_person)(void *ctx, const char *nhs_number, char *id_out, size_t id_len);

/*
 * Check one row and map it to FHIR. *out gets a new array (caller frees the
 * array and each tree with json_free) of: the Patient when the row is not
 * linked to a person already held (find is asked only when the row has an
 * NHS number; find may be NULL), then the event resource (ServiceRequest,
 * Encounter or EpisodeOfCare). The council Organization is not included:
 * see cld_organization. Every resource carries the record-source tag "cld".
 * Fails with KITH_EINVAL and a reason naming the column (and value) for a
 * row that breaks the rules; *out is then NULL.
 */
kith_rc cld_row_map(const cld_header *h, char **fields, size_t n, cld_find_person find, void *ctx, json_value ***out,
                    size_t *nout, char *err, size_t errlen);

/* The council's Organization (id la-<LA_Code>) for a valid LA code, else
 * NULL. Caller frees with json_free. */
json_value *cld_organization(const char *la_code);

/* True when s is ten digits passing the NHS number modulus 11 check. */
bool cld_nhs_number_valid(const char *s);

/* Append s to b as one CSV field, in double quotes (inner quotes doubled)
 * when it holds a comma, quote, CR, LF or leading/trailing blank. NULL
 * writes an empty field. */
kith_rc cld_csv_field(buf *b, const char *s);

#endif
