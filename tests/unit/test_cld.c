/*
 * test_cld.c — src/social/cld.c (CLD social care rows to FHIR) and
 * src/base/nhs_number.c.
 *
 * Rows are written as CSV text against the header `kith synth` writes, split
 * and mapped; every resource made must pass the FHIR validator. Bad rows are
 * a table: the row and a piece of the reason it must give.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/nhs_number.h"
#include "fhir/validate.h"
#include "social/cld.h"

static const char HEADER[] =
    "LA_Code,LA_Person_Unique_Identifier,NHS_Number,Given_Name,Family_Name,Date_of_Birth,Gender,Ethnicity,"
    "Postcode,GP_Practice_Code,Date_of_Death,Client_Type,Primary_Support_Reason,Accommodation_Status,"
    "Has_Unpaid_Carer,Client_Funding_Status,Event_Type,Event_Reference,Event_Start_Date,Event_End_Date,"
    "Event_Outcome,Request_Route_of_Access,Assessment_Type,Eligible_Needs_Identified,Review_Reason,Service_Type,"
    "Service_Component,Delivery_Mechanism,Unit_Cost,Cost_Frequency_Unit_Type,Planned_Units_Per_Week";

/* The person columns (1-16) of a row, then the event columns (17-31). */
#define PERSON "E08000035,P001,9434765919,Ada,Lovelace,1938-04-02,Female,A,ls1 4ap,B86001,,Service User,"      \
               "Physical Support: Personal care support,Owner occupier,Yes,Fully funded by LA,"
#define PERSON_NO_NHS "E08000035,P002,,Bob,Smith,1940-01-01,Male,Z,LS2,,,Carer,Mental Health Support,,No,,"

static char **split_ok(const char *line, size_t *n) {
    char **f = NULL;
    char err[256] = "";
    kith_rc rc = cld_split(line, strlen(line), &f, n, err, sizeof err);
    cr_assert_eq(rc, KITH_OK, "split failed: %s\n%s", err, line);
    return f;
}

static cld_header header(void) {
    size_t n = 0;
    char **f = split_ok(HEADER, &n);
    cld_header h;
    char err[256] = "";
    cr_assert_eq(cld_header_parse(f, n, &h, err, sizeof err), KITH_OK, "%s", err);
    free(f);
    return h;
}

/* A fake store holding one person, NHS number 4010232137. */
static bool find_held(void *ctx, const char *nhs, char *id_out, size_t id_len) {
    (void)ctx;
    if(strcmp(nhs, "4010232137") != 0) return false;
    snprintf(id_out, id_len, "gp-held-1");
    return true;
}

/* Map row (must succeed) and check every resource validates. */
static json_value **map_ok(const char *line, size_t *nres) {
    cld_header h = header();
    size_t n = 0;
    char **f = split_ok(line, &n);
    json_value **res = NULL;
    char err[512] = "";
    kith_rc rc = cld_row_map(&h, f, n, find_held, NULL, &res, nres, err, sizeof err);
    free(f);
    cr_assert_eq(rc, KITH_OK, "row refused: %s\n%s", err, line);
    for(size_t i = 0; i < *nres; i++) {
        fhir_issues is = FHIR_ISSUES_INIT;
        kith_rc v = fhir_validate(res[i], &is);
        char *text = json_to_text(res[i], NULL);
        cr_assert_eq(v, KITH_OK, "invalid: %s: %s", is.n ? is.v[0].diagnostics : "?", text);
        free(text);
        fhir_issues_free(&is);
    }
    return res;
}

static void free_res(json_value **res, size_t n) {
    for(size_t i = 0; i < n; i++) json_free(res[i]);
    free(res);
}

static const char *str_at(const json_value *v, const char *path) {
    /* path like "a.b.0.c": object keys and array indexes */
    char *p = xstrdup(path), *save = NULL;
    const json_value *cur = v;
    for(char *t = strtok_r(p, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = (*t >= '0' && *t <= '9') ? json_array_at(cur, (size_t)atoi(t)) : json_get(cur, t);
    free(p);
    return cur ? (json_string(cur) ? json_string(cur) : json_number_text(cur)) : NULL;
}

/* ---- NHS numbers ---------------------------------------------------------- */

Test(nhs_number, modulus_11) {
    cr_assert(nhs_number_valid("9434765919"));
    cr_assert(nhs_number_valid("4010232137"));
    cr_assert(cld_nhs_number_valid("9434765919"));
    cr_assert_not(nhs_number_valid("9434765918"));   /* wrong check digit */
    cr_assert_not(nhs_number_valid("943476591"));    /* nine digits */
    cr_assert_not(nhs_number_valid("94347659190"));  /* eleven */
    cr_assert_not(nhs_number_valid("943476591X"));
    cr_assert_not(nhs_number_valid("943 476 5919")); /* callers remove spaces first */
    cr_assert_not(nhs_number_valid(NULL));
    /* 1000000010: weights give sum 10, 11 - 10 = 1 ... and a check of 10 is never issued */
    cr_assert_eq(nhs_number_check_digit("943476591"), 9);
    cr_assert_eq(nhs_number_check_digit("000000000"), 0);
    cr_assert_eq(nhs_number_check_digit("100000001"), -1); /* 10 + 2 = 12: 11 - 1 = 10 */
    cr_assert_not(nhs_number_valid("1000000010"));
}

/* ---- CSV ------------------------------------------------------------------ */

Test(cld_csv, splits_quoted_fields) {
    size_t n = 0;
    char **f = split_ok("a, b ,\"c,d\",\"say \"\"hi\"\"\",,\"two\nlines\",", &n);
    cr_assert_eq(n, 7);
    cr_assert_str_eq(f[0], "a");
    cr_assert_str_eq(f[1], "b");
    cr_assert_str_eq(f[2], "c,d");
    cr_assert_str_eq(f[3], "say \"hi\"");
    cr_assert_str_eq(f[4], "");
    cr_assert_str_eq(f[5], "two\nlines");
    cr_assert_str_eq(f[6], "");
    free(f);
    f = split_ok("", &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(f[0], "");
    free(f);
}

Test(cld_csv, refuses_broken_quoting_and_caps) {
    static const struct {
        const char *line;
        kith_rc rc;
        const char *reason;
    } cases[] = {
        {"a,\"open,b", KITH_EINVAL, "field 2: quoted field has no closing quote"},
        {"a,\"x\"y,b", KITH_EINVAL, "field 2: unexpected character after the closing quote"},
        {"a,x\"y,b", KITH_EINVAL, "field 2: a quote inside an unquoted field"},
    };
    for(size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char **f = (char **)1;
        size_t n = 99;
        char err[256] = "";
        cr_assert_eq(cld_split(cases[i].line, strlen(cases[i].line), &f, &n, err, sizeof err), cases[i].rc);
        cr_assert_null(f);
        cr_assert_eq(n, 0);
        cr_assert(strstr(err, cases[i].reason), "%s: got '%s'", cases[i].line, err);
    }
    buf b = BUF_INIT;
    for(int i = 0; i < CLD_MAX_FIELDS; i++) buf_putc(&b, ',');
    char **f = NULL;
    size_t n = 0;
    char err[256] = "";
    cr_assert_eq(cld_split(b.data, b.len, &f, &n, err, sizeof err), KITH_ETOOBIG);
    cr_assert(strstr(err, "more than 256 fields"), "%s", err);
    buf_reset(&b);
    for(int i = 0; i <= CLD_MAX_LINE; i++) buf_putc(&b, 'x');
    cr_assert_eq(cld_split(b.data, b.len, &f, &n, err, sizeof err), KITH_ETOOBIG);
    buf_free(&b);
}

Test(cld_csv, field_writer_round_trips) {
    static const char *const values[] = {"plain",    "with,comma", "say \"hi\"", "two\r\nlines",
                                         " padded ", "",           "£23.50"};
    size_t nv = sizeof values / sizeof *values;
    buf b = BUF_INIT;
    for(size_t i = 0; i < nv; i++) {
        if(i) buf_putc(&b, ',');
        cr_assert_eq(cld_csv_field(&b, values[i]), KITH_OK);
    }
    cr_assert(strstr(buf_str(&b), "plain,\"with,comma\",\"say \"\"hi\"\"\""));
    size_t n = 0;
    char **f = split_ok(buf_str(&b), &n);
    cr_assert_eq(n, nv);
    for(size_t i = 0; i < nv; i++) cr_assert_str_eq(f[i], values[i]);
    free(f);
    buf_reset(&b);
    cld_csv_field(&b, NULL);
    cr_assert_str_eq(buf_str(&b), "");
    buf_free(&b);
}

/* ---- header --------------------------------------------------------------- */

Test(cld_header, found_by_name_in_any_order) {
    size_t n = 0;
    char **f = split_ok("\xEF\xBB\xBF" "event_start_date,Notes,EVENT TYPE,la_code,Event_Reference,"
                        "LA_Person_Unique_Identifier", &n);
    cld_header h;
    char err[256] = "";
    cr_assert_eq(cld_header_parse(f, n, &h, err, sizeof err), KITH_OK, "%s", err);
    cr_assert_eq(h.ncols, 6);
    cr_assert_eq(h.col[CLD_EVENT_START_DATE], 0);
    cr_assert_eq(h.col[CLD_EVENT_TYPE], 2);
    cr_assert_eq(h.col[CLD_LA_CODE], 3);
    cr_assert_eq(h.col[CLD_NHS_NUMBER], -1);
    free(f);
}

Test(cld_header, names_missing_and_repeated_columns) {
    size_t n = 0;
    char **f = split_ok("LA_Code,NHS_Number,Event_Reference,Event_Start_Date", &n);
    cld_header h;
    char err[256] = "";
    cr_assert_eq(cld_header_parse(f, n, &h, err, sizeof err), KITH_EINVAL);
    cr_assert(strstr(err, "lacks required columns LA_Person_Unique_Identifier, Event_Type"), "%s", err);
    free(f);
    f = split_ok("LA_Code,LA_Person_Unique_Identifier,Event_Type,Event_Reference,Event_Start_Date,la_code", &n);
    cr_assert_eq(cld_header_parse(f, n, &h, err, sizeof err), KITH_EINVAL);
    cr_assert(strstr(err, "LA_Code appears twice"), "%s", err);
    free(f);
    cr_assert_str_eq(cld_field_name(CLD_PLANNED_UNITS_PER_WEEK), "Planned_Units_Per_Week");
    cr_assert(cld_field_required(CLD_EVENT_REFERENCE));
    cr_assert_not(cld_field_required(CLD_NHS_NUMBER));
}

/* ---- mapping -------------------------------------------------------------- */

Test(cld_map, request_becomes_a_service_request_and_a_patient) {
    size_t n = 0;
    json_value **res = map_ok(PERSON "Request,R/1,2024-04-01,2024-04-03,progress to  assessment,"
                                     "Discharge from Hospital,,,,,,,,,", &n);
    cr_assert_eq(n, 2);
    json_value *p = res[0], *sr = res[1];
    cr_assert_str_eq(str_at(p, "resourceType"), "Patient");
    cr_assert_str_eq(str_at(p, "id"), "cld-E08000035-P001");
    cr_assert_str_eq(str_at(p, "identifier.0.system"), "https://kith.example.org/fhir/Id/la-person/E08000035");
    cr_assert_str_eq(str_at(p, "identifier.1.value"), "9434765919");
    cr_assert_str_eq(str_at(p, "gender"), "female");
    cr_assert_str_eq(str_at(p, "address.0.postalCode"), "LS1 4AP");
    cr_assert_str_eq(str_at(p, "generalPractitioner.0.identifier.value"), "B86001");
    cr_assert_str_eq(str_at(p, "extension.0.valueCodeableConcept.coding.0.code"), "A");
    cr_assert_str_eq(str_at(p, "meta.tag.0.code"), "cld");
    cr_assert_str_eq(str_at(sr, "resourceType"), "ServiceRequest");
    cr_assert_str_eq(str_at(sr, "id"), "cld-E08000035-R-1"); /* '/' made '-' */
    cr_assert_str_eq(str_at(sr, "identifier.0.value"), "R/1");
    cr_assert_str_eq(str_at(sr, "status"), "completed");
    cr_assert_str_eq(str_at(sr, "intent"), "proposal");
    cr_assert_str_eq(str_at(sr, "subject.reference"), "Patient/cld-E08000035-P001");
    cr_assert_str_eq(str_at(sr, "performer.0.reference"), "Organization/la-E08000035");
    cr_assert_str_eq(str_at(sr, "reasonCode.0.coding.0.code"), "Physical Support: Personal care support");
    cr_assert_str_eq(str_at(sr, "meta.tag.0.code"), "cld");
    /* the outcome as the list spells it, in its own code system */
    bool outcome = false;
    json_value *ext = json_get(sr, "extension");
    for(size_t i = 0; i < json_array_len(ext); i++) {
        if(strcmp(str_at(json_array_at(ext, i), "url"),
                  "https://kith.example.org/fhir/StructureDefinition/cld-event-outcome") == 0) {
            cr_assert_str_eq(str_at(json_array_at(ext, i), "valueCodeableConcept.coding.0.code"),
                             "Progress to Assessment");
            cr_assert_str_eq(str_at(json_array_at(ext, i), "valueCodeableConcept.coding.0.system"),
                             "https://kith.example.org/fhir/CodeSystem/cld-event-outcome");
            outcome = true;
        }
    }
    cr_assert(outcome);
    free_res(res, n);
}

Test(cld_map, assessment_and_review_become_encounters) {
    size_t n = 0;
    json_value **res = map_ok(PERSON "Assessment,A1,2024-04-04,2024-04-10,Progress to Support Planning / Services,,"
                                     "Long Term Support Assessment,Yes,,,,,,,", &n);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(str_at(res[1], "resourceType"), "Encounter");
    cr_assert_str_eq(str_at(res[1], "status"), "finished");
    cr_assert_str_eq(str_at(res[1], "class.code"), "HH");
    cr_assert_str_eq(str_at(res[1], "type.0.coding.0.system"),
                     "https://kith.example.org/fhir/CodeSystem/cld-assessment-type");
    cr_assert_str_eq(str_at(res[1], "period.end"), "2024-04-10");
    cr_assert_str_eq(str_at(res[1], "serviceProvider.reference"), "Organization/la-E08000035");
    free_res(res, n);
    res = map_ok(PERSON_NO_NHS "Review,V1,2024-05-01,,,,,,Unplanned,,,,,,", &n);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(str_at(res[0], "id"), "cld-E08000035-P002");
    cr_assert_eq(json_array_len(json_get(res[0], "identifier")), 1);
    cr_assert_str_eq(str_at(res[1], "type.0.text"), "Adult social care review");
    cr_assert_str_eq(str_at(res[1], "type.0.coding.0.code"), "Unplanned");
    cr_assert_str_eq(str_at(res[1], "status"), "in-progress");
    free_res(res, n);
}

Test(cld_map, service_becomes_an_episode_of_care_with_its_cost) {
    size_t n = 0;
    json_value **res = map_ok(PERSON "Service,S1,2024-04-11,,,,,,,Long Term Support: Community,"
                                     "Home Support / Home Care,CASSR Commissioned Support,023.50,4 weekly,.5", &n);
    json_value *eoc = res[1];
    cr_assert_str_eq(str_at(eoc, "resourceType"), "EpisodeOfCare");
    cr_assert_str_eq(str_at(eoc, "status"), "active");
    cr_assert_eq(json_array_len(json_get(eoc, "type")), 3);
    cr_assert_str_eq(str_at(eoc, "type.2.coding.0.code"), "CASSR Commissioned Support");
    cr_assert_str_eq(str_at(eoc, "patient.reference"), "Patient/cld-E08000035-P001");
    json_value *ext = json_get(eoc, "extension");
    json_value *cost = json_array_at(ext, json_array_len(ext) - 1);
    cr_assert_str_eq(str_at(cost, "url"), "https://kith.example.org/fhir/StructureDefinition/cld-care-package-cost");
    cr_assert_str_eq(str_at(cost, "extension.0.valueMoney.value"), "23.50");
    cr_assert_str_eq(str_at(cost, "extension.0.valueMoney.currency"), "GBP");
    cr_assert_str_eq(str_at(cost, "extension.1.valueCodeableConcept.coding.0.code"), "4 Weekly");
    cr_assert_str_eq(str_at(cost, "extension.2.valueDecimal"), "0.5");
    free_res(res, n);
}

Test(cld_map, links_to_a_person_already_held) {
    size_t n = 0;
    json_value **res = map_ok("E08000035,P009,401 023 2137,,,,,,,,,,,,,,Service,S9,2024-01-01,2024-03-31,"
                              "Service ended as planned,,,,,,,,,,", &n);
    cr_assert_eq(n, 1); /* no Patient made */
    cr_assert_str_eq(str_at(res[0], "patient.reference"), "Patient/gp-held-1");
    cr_assert_str_eq(str_at(res[0], "status"), "finished");
    free_res(res, n);
}

Test(cld_map, nhs_numbers_are_read_in_any_usual_layout) {
    size_t n = 0;
    json_value **res = map_ok("E08000035,P009,401-023-2137,,,,,,,,,,,,,,Service,S9,2024-01-01,2024-03-31,"
                              "Service ended as planned,,,,,,,,,,", &n);
    cr_assert_eq(n, 1, "hyphens read: linked to the person held");
    cr_assert_str_eq(str_at(res[0], "patient.reference"), "Patient/gp-held-1");
    free_res(res, n);
}

Test(cld_map, a_legacy_number_failing_its_check_is_kept_unverified_under_the_flag_policy) {
    cld_header h = header();
    h.nhs_policy = NHS_POLICY_FLAG;
    size_t n = 0, nres = 0;
    /* 4010232138: the held person's number with a wrong check digit */
    char **f = split_ok("E08000035,P010,401 023 2138,,,,,,,,,,,,,,Service,S10,2024-01-01,,,,,,,,,,,,", &n);
    json_value **res = NULL;
    char err[512] = "";
    cr_assert_eq(cld_row_map(&h, f, n, find_held, NULL, &res, &nres, err, sizeof err), KITH_OK, "%s", err);
    free(f);
    cr_assert_eq(nres, 2, "a Patient of its own: never linked on an unverified number");
    cr_assert_str_eq(str_at(res[0], "identifier.1.system"), CLD_KITH_BASE "Id/unverified-nhs-number");
    cr_assert_str_eq(str_at(res[0], "identifier.1.value"), "4010232138");
    free_res(res, nres);
    /* the default policy refuses it */
    h.nhs_policy = NHS_POLICY_REJECT;
    f = split_ok("E08000035,P010,401 023 2138,,,,,,,,,,,,,,Service,S10,2024-01-01,,,,,,,,,,,,", &n);
    cr_assert_eq(cld_row_map(&h, f, n, find_held, NULL, &res, &nres, err, sizeof err), KITH_EINVAL);
    cr_assert(strstr(err, "check digit") != NULL, "%s", err);
    free(f);
}

Test(cld_map, long_references_fall_back_to_a_hash) {
    char line[512];
    snprintf(line, sizeof line, PERSON_NO_NHS "Review,%s,2024-05-01,,,,,,Planned,,,,,,",
             "a-very-long-event-reference-from-a-council-case-management-system-0001");
    size_t n = 0;
    json_value **res = map_ok(line, &n);
    const char *id = str_at(res[1], "id");
    cr_assert(strncmp(id, "cld-E08000035-h", 15) == 0, "%s", id);
    cr_assert_eq(strlen(id), 15 + 16);
    free_res(res, n);
}

Test(cld_map, organization) {
    json_value *org = cld_organization("E08000035");
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_assert_eq(fhir_validate(org, &is), KITH_OK);
    fhir_issues_free(&is);
    cr_assert_str_eq(str_at(org, "id"), "la-E08000035");
    cr_assert_str_eq(str_at(org, "name"), "Adult social care (E08000035)");
    cr_assert_str_eq(str_at(org, "identifier.0.system"), "https://kith.example.org/fhir/Id/la-code");
    json_free(org);
    cr_assert_null(cld_organization("E08/35"));
    cr_assert_null(cld_organization(""));
}

Test(cld_map, bad_rows_name_the_column_and_value) {
    static const struct {
        const char *row;
        const char *reason;
    } cases[] = {
        {PERSON "Visit,X1,2024-04-01,,,,,,,,,,,,", "Event_Type: 'Visit' is not one of the defined values"},
        {PERSON "Review,X1,2023-02-29,,,,,,Planned,,,,,,", "Event_Start_Date: '2023-02-29' is not a date"},
        {PERSON "Review,X1,01/04/2024,,,,,,Planned,,,,,,", "Event_Start_Date: '01/04/2024' is not a date"},
        {PERSON "Review,X1,2024-04-02,2024-04-01,,,,,Planned,,,,,,",
         "Event_End_Date: 2024-04-01 is before Event_Start_Date 2024-04-02"},
        {PERSON "Review,,2024-04-02,,,,,,Planned,,,,,,", "Event_Reference: required, but empty"},
        {PERSON "Review,X1,2024-04-02,,,,,,Sometimes,,,,,,", "Review_Reason: 'Sometimes' is not one of"},
        {PERSON "Service,X1,2024-04-02,,,,,,,,Home Care,,,,", "Service_Component: 'Home Care' is not one of"},
        {PERSON "Service,X1,2024-04-02,,,,,,,,,,£12,,", "Unit_Cost: '£12' is not a decimal number"},
        {PERSON "Service,X1,2024-04-02,,,,,,,,,,12.5.1,,", "Unit_Cost: '12.5.1' is not a decimal number"},
        {PERSON "Service,X1,2024-04-02,,,,,,,,,,,Quarterly,", "Cost_Frequency_Unit_Type: 'Quarterly' is not one of"},
        {PERSON "Review,X1,2024-04-02,,,,,,Planned,,,,,", "the row has 30 fields; the header has 31"},
        {"E08000035,P1,9434765918,,,,,,,,,,,,,,Review,X1,2024-04-02,,,,,,,,,,,,",
         "NHS_Number: '9434765918' is not a valid NHS number"},
        {"E08000035,P1,0000000000,,,,,,,,,,,,,,Review,X1,2024-04-02,,,,,,,,,,,,",
         "NHS_Number: '0000000000' is not a valid NHS number: "},
        {"E08000035,P1,94 347 659 19,,,,,,,,,,,,,,Review,X1,2024-04-02,,,,,,,,,,,,",
         "NHS_Number: '94 347 659 19' is not a valid NHS number: "},
        {"E08000035,P1,,,,,Woman,,,,,,,,,,Review,X1,2024-04-02,,,,,,,,,,,,", "Gender: 'Woman' is not one of"},
        {"E08000035,P1,,,,,,I,,,,,,,,,Review,X1,2024-04-02,,,,,,,,,,,,", "Ethnicity: 'I' is not one of"},
        {"E08000035,P1,,,,,,,SW1A1AAA,,,,,,,,Review,X1,2024-04-02,,,,,,,,,,,,", "Postcode: 'SW1A1AAA' is not"},
        {"E08000035,P1,,,,1950-01-02,,,,,1949-12-31,,,,,,Review,X1,2024-04-02,,,,,,,,,,,,",
         "Date_of_Death: 1949-12-31 is before Date_of_Birth 1950-01-02"},
        {"E08/035,P1,,,,,,,,,,,,,,,Review,X1,2024-04-02,,,,,,,,,,,,", "LA_Code: 'E08/035' is not a local authority"},
        {"E08000035,P1,,,,,,,,,,,Physical support,,,,Review,X1,2024-04-02,,,,,,,,,,,,",
         "Primary_Support_Reason: 'Physical support' is not one of"},
    };
    cld_header h = header();
    for(size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = 0, nres = 7;
        char **f = split_ok(cases[i].row, &n);
        json_value **res = (json_value **)1;
        char err[512] = "";
        cr_assert_eq(cld_row_map(&h, f, n, find_held, NULL, &res, &nres, err, sizeof err), KITH_EINVAL, "%s",
                     cases[i].row);
        cr_assert_null(res);
        cr_assert_eq(nres, 0);
        cr_assert(strstr(err, cases[i].reason), "row %zu: want '%s', got '%s'", i, cases[i].reason, err);
        free(f);
    }
}

Test(cld_map, a_file_with_only_the_required_columns) {
    size_t n = 0;
    char **f = split_ok("Event_Type,Event_Start_Date,LA_Code,Event_Reference,LA_Person_Unique_Identifier", &n);
    cld_header h;
    cr_assert_eq(cld_header_parse(f, n, &h, NULL, 0), KITH_OK);
    free(f);
    f = split_ok("request,2024-02-29,318,Q-7,\"Smith, J\"", &n);
    json_value **res = NULL;
    size_t nres = 0;
    cr_assert_eq(cld_row_map(&h, f, n, NULL, NULL, &res, &nres, NULL, 0), KITH_OK);
    free(f);
    cr_assert_eq(nres, 2);
    cr_assert_str_eq(str_at(res[0], "id"), "cld-318-Smith--J");
    cr_assert_str_eq(str_at(res[1], "resourceType"), "ServiceRequest");
    cr_assert_str_eq(str_at(res[1], "status"), "active");
    for(size_t i = 0; i < nres; i++) {
        fhir_issues is = FHIR_ISSUES_INIT;
        cr_assert_eq(fhir_validate(res[i], &is), KITH_OK);
        fhir_issues_free(&is);
    }
    free_res(res, nres);
}
