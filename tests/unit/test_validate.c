/*
 * test_validate.c — tests for src/fhir/validate.c.
 *
 * Each error case is a small resource (JSON written with single quotes for
 * readability, turned into double quotes before parsing) and the one issue
 * it must produce: its IssueType code and FHIRPath-style expression.
 * Primitive formats are a table of values tried through
 * Parameters.parameter.value[x]. The acceptance test validates the official
 * R4 examples from the directory in KITH_FHIR_PACKAGE.
 *
 * Issue codes: "structure" for unknown elements and wrong JSON shapes
 * (including an array for a max-1 element and a single value for a
 * repeating one), "required" for missing min-1 elements, "value" for
 * malformed primitives, "code-invalid" for a code outside the value set of
 * a required binding, "invalid" for the rest (null, empty arrays and
 * objects, two choices of one value[x], unknown resource types, ext-1).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/mem.h"
#include "fhir/validate.h"

/* ---- helpers ------------------------------------------------------------- */

/* Parse JSON written with ' for ". Caller frees with json_free. */
static json_value *parse_q(const char *text) {
    char *t = xstrdup(text);
    for(char *p = t; *p; p++)
        if(*p == '\'') *p = '"';
    json_value *v = NULL;
    char err[256] = "";
    kith_rc rc = json_parse(t, strlen(t), &v, err, sizeof err);
    free(t);
    cr_assert_eq(rc, KITH_OK, "test JSON does not parse: %s\n%s", err, text);
    return v;
}

static void print_issues(const fhir_issues *is) {
    for(size_t i = 0; i < is->n; i++)
        fprintf(stderr, "  %s %s %s: %s\n", is->v[i].severity, is->v[i].code,
                is->v[i].expression ? is->v[i].expression : "(none)", is->v[i].diagnostics);
}

static void expect_valid(const char *text) {
    json_value *v = parse_q(text);
    fhir_issues is = FHIR_ISSUES_INIT;
    kith_rc rc = fhir_validate(v, &is);
    if(rc != KITH_OK || is.n) print_issues(&is);
    cr_expect_eq(rc, KITH_OK, "expected valid: %s", text);
    cr_expect_eq(is.n, 0);
    fhir_issues_free(&is);
    json_free(v);
}

/* Expect exactly one issue, an error with this code and expression
 * (NULL: no expression). */
static void expect_issue(const char *text, const char *code, const char *expression) {
    json_value *v = parse_q(text);
    fhir_issues is = FHIR_ISSUES_INIT;
    kith_rc rc = fhir_validate(v, &is);
    cr_expect_eq(rc, KITH_EINVALID, "expected invalid: %s", text);
    if(is.n != 1) print_issues(&is);
    cr_assert_eq(is.n, 1, "expected one issue, got %zu: %s", is.n, text);
    cr_expect_str_eq(is.v[0].severity, "error");
    cr_expect_str_eq(is.v[0].code, code, "code %s, want %s: %s", is.v[0].code, code, text);
    if(expression)
        cr_expect(is.v[0].expression && strcmp(is.v[0].expression, expression) == 0, "expression %s, want %s: %s",
                  is.v[0].expression ? is.v[0].expression : "(none)", expression, text);
    else
        cr_expect_null(is.v[0].expression);
    fhir_issues_free(&is);
    json_free(v);
}

/* ---- shape of the resource ------------------------------------------------ */

Test(validate, minimal_resources_are_valid) {
    expect_valid("{'resourceType':'Patient'}");
    expect_valid("{'resourceType':'Observation','status':'final','code':{'text':'weight'},"
                 "'valueQuantity':{'value':72.5,'unit':'kg','system':'http://unitsofmeasure.org','code':'kg'}}");
    expect_valid("{'resourceType':'Patient','id':'p-1.A','meta':{'versionId':'1','lastUpdated':'2024-01-02T03:04:05Z'},"
                 "'active':true,'name':[{'family':'Okafor','given':['Ada','B.']}],'gender':'female',"
                 "'birthDate':'1950-02','multipleBirthInteger':2,'text':{'status':'generated',"
                 "'div':'<div xmlns=\\'http://www.w3.org/1999/xhtml\\'>Ada</div>'}}");
}

Test(validate, root_must_be_an_object) {
    expect_issue("[]", "structure", NULL);
    expect_issue("'Patient'", "structure", NULL);
}

Test(validate, resource_type_checked) {
    expect_issue("{'id':'x'}", "required", NULL);
    expect_issue("{'resourceType':42}", "structure", "resourceType");
    expect_issue("{'resourceType':'Patients'}", "invalid", "resourceType");
    expect_issue("{'resourceType':'DomainResource'}", "invalid", "resourceType");
    expect_issue("{'resourceType':'HumanName'}", "invalid", "resourceType");
    expect_issue("{'resourceType':'Patient','name':[{'resourceType':'Patient','family':'X'}]}", "structure",
                 "Patient.name[0].resourceType");
}

Test(validate, unknown_elements) {
    expect_issue("{'resourceType':'Patient','foo':1}", "structure", "Patient.foo");
    expect_issue("{'resourceType':'Patient','name':[{'family':'X'},{'foo':'y'}]}", "structure", "Patient.name[1].foo");
    expect_issue("{'resourceType':'Observation','status':'final','code':{'coding':[{'system':'http://loinc.org',"
                 "'cod':'1234-5'}]}}",
                 "structure", "Observation.code.coding[0].cod");
    expect_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},'valuestring':'a'}", "structure",
                 "Observation.valuestring");
    expect_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},'value':'a'}", "structure",
                 "Observation.value");
    expect_issue("{'resourceType':'Patient','_name':{'id':'a'}}", "structure", "Patient._name");
}

Test(validate, primitive_extensions) {
    expect_valid("{'resourceType':'Patient','birthDate':'1970-01-01','_birthDate':{'extension':[{"
                 "'url':'http://hl7.org/fhir/StructureDefinition/patient-birthTime','valueDateTime':"
                 "'1970-01-01T10:30:00+01:00'}]}}");
    expect_valid("{'resourceType':'Patient','_gender':{'id':'g1','extension':[{'url':'http://x.org/e',"
                 "'valueString':'x'}]}}");
    expect_valid("{'resourceType':'Patient','name':[{'given':['Ada',null,'C'],'_given':[null,{'id':'g2'},null]}]}");
    expect_issue("{'resourceType':'Patient','name':[{'given':['Ada',null]}]}", "invalid", "Patient.name[0].given[1]");
    expect_issue("{'resourceType':'Patient','name':[{'given':['Ada',null],'_given':[null,null]}]}", "invalid",
                 "Patient.name[0].given[1]");
    expect_issue("{'resourceType':'Patient','name':[{'given':['Ada','B'],'_given':[{'id':'x'}]}]}", "structure",
                 "Patient.name[0]._given");
    expect_issue("{'resourceType':'Patient','_birthDate':{'foo':1}}", "structure", "Patient._birthDate.foo");
    expect_issue("{'resourceType':'Patient','_birthDate':[{'id':'x'}]}", "structure", "Patient._birthDate");
    expect_issue("{'resourceType':'Patient','_birthDate':{}}", "invalid", "Patient._birthDate");
}

/* ---- cardinality ---------------------------------------------------------- */

Test(validate, repeats_and_singles) {
    expect_issue("{'resourceType':'Patient','gender':['male']}", "structure", "Patient.gender");
    expect_issue("{'resourceType':'Patient','name':{'family':'X'}}", "structure", "Patient.name");
    expect_issue("{'resourceType':'Patient','name':[{'given':'Ada'}]}", "structure", "Patient.name[0].given");
    expect_issue("{'resourceType':'Patient','maritalStatus':[{'text':'x'}]}", "structure", "Patient.maritalStatus");
}

Test(validate, empty_and_null) {
    expect_issue("{'resourceType':'Patient','name':[]}", "invalid", "Patient.name");
    expect_issue("{'resourceType':'Patient','name':[{}]}", "invalid", "Patient.name[0]");
    expect_issue("{'resourceType':'Patient','maritalStatus':{}}", "invalid", "Patient.maritalStatus");
    expect_issue("{'resourceType':'Patient','gender':null}", "invalid", "Patient.gender");
    expect_issue("{'resourceType':'Patient','name':null}", "invalid", "Patient.name");
    expect_issue("{'resourceType':'Patient','name':[{'family':'X'},null]}", "invalid", "Patient.name[1]");
    expect_issue("{'resourceType':'Patient','name':[{'family':''}]}", "value", "Patient.name[0].family");
}

Test(validate, required_elements) {
    expect_issue("{'resourceType':'Observation','code':{'text':'x'}}", "required", "Observation.status");
    expect_issue("{'resourceType':'Observation','status':'final'}", "required", "Observation.code");
    /* required children only when the parent is there */
    expect_valid("{'resourceType':'Patient','active':false}");
    expect_issue("{'resourceType':'Patient','link':[{'type':'seealso'}]}", "required", "Patient.link[0].other");
    expect_issue("{'resourceType':'Patient','text':{'status':'generated'}}", "required", "Patient.text.div");
    /* a required primitive present only through its extension counts */
    expect_valid("{'resourceType':'Observation','_status':{'extension':[{'url':'http://x.org/e','valueCode':'z'}]},"
                 "'code':{'text':'x'}}");
    /* a required choice is met by any of its types */
    expect_valid("{'resourceType':'Group','type':'person','actual':true,'characteristic':[{'code':{'text':'c'},"
                 "'valueBoolean':true,'exclude':false}]}");
    expect_issue("{'resourceType':'Group','type':'person','actual':true,'characteristic':[{'code':{'text':'c'},"
                 "'exclude':false}]}",
                 "required", "Group.characteristic[0].value[x]");
}

Test(validate, one_choice_only) {
    expect_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},'valueString':'a',"
                 "'valueBoolean':true}",
                 "invalid", "Observation.valueBoolean");
    expect_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},'effectiveDateTime':'2020',"
                 "'_effectiveInstant':{'id':'a'}}",
                 "invalid", "Observation._effectiveInstant");
    expect_valid("{'resourceType':'Observation','status':'final','code':{'text':'x'},'valueString':'a',"
                 "'_valueString':{'id':'a'}}");
}

/* ---- JSON kinds and primitive formats -------------------------------------- */

Test(validate, wrong_json_kinds) {
    expect_issue("{'resourceType':'Patient','active':'true'}", "structure", "Patient.active");
    expect_issue("{'resourceType':'Patient','name':[{'family':42}]}", "structure", "Patient.name[0].family");
    expect_issue("{'resourceType':'Patient','name':['Ada']}", "structure", "Patient.name[0]");
    expect_issue("{'resourceType':'Patient','gender':true}", "structure", "Patient.gender");
    expect_issue("{'resourceType':'Patient','multipleBirthInteger':'2'}", "structure", "Patient.multipleBirthInteger");
    expect_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},'valueQuantity':{'value':'1.5'}}",
                 "structure", "Observation.valueQuantity.value");
    expect_issue("{'resourceType':'Patient','contained':[42]}", "structure", "Patient.contained[0]");
}

Test(validate, bad_ids) {
    expect_issue("{'resourceType':'Patient','id':'a b'}", "value", "Patient.id");
    expect_issue("{'resourceType':'Patient','id':'a_b'}", "value", "Patient.id");
    expect_issue("{'resourceType':'Patient','id':'0123456789012345678901234567890123456789012345678901234567890123x'}",
                 "value", "Patient.id");
    expect_valid("{'resourceType':'Patient','id':'0123456789012345678901234567890123456789012345678901234567890123'}");
    expect_issue("{'resourceType':'Patient','id':7}", "structure", "Patient.id");
}

Test(validate, bad_dates) {
    expect_issue("{'resourceType':'Patient','birthDate':'1974-13-01'}", "value", "Patient.birthDate");
    expect_issue("{'resourceType':'Patient','birthDate':'1974-12-01T10:00:00Z'}", "value", "Patient.birthDate");
    expect_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},'effectiveDateTime':"
                 "'2020-01-01T10:00:00'}",
                 "value", "Observation.effectiveDateTime");
    expect_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},'issued':'2020-01-01'}", "value",
                 "Observation.issued");
}

Test(validate, days_that_do_not_exist) {
    expect_issue("{'resourceType':'Patient','birthDate':'1999-02-30'}", "value", "Patient.birthDate");
    expect_issue("{'resourceType':'Patient','birthDate':'1900-02-29'}", "value", "Patient.birthDate");
    expect_issue("{'resourceType':'Patient','birthDate':'2023-04-31'}", "value", "Patient.birthDate");
    expect_valid("{'resourceType':'Patient','birthDate':'2000-02-29'}");
    expect_valid("{'resourceType':'Patient','birthDate':'2024-02-29'}");
}

/* One primitive value, tried as Parameters.parameter[0].value<type>. */
typedef struct prim_case {
    const char *type;  /* "Date": the value[x] suffix */
    const char *value; /* JSON text, ' for " */
    const char *code;  /* NULL: valid; else the expected IssueType code */
} prim_case;

static const prim_case prim_cases[] = {
    {"Boolean", "true", NULL},
    {"Boolean", "'false'", "structure"},
    {"Boolean", "0", "structure"},
    {"Integer", "-2147483648", NULL},
    {"Integer", "2147483647", NULL},
    {"Integer", "2147483648", "value"},
    {"Integer", "123456789012345678901234567890", "value"},
    {"Integer", "1.0", "value"},
    {"Integer", "1e3", "value"},
    {"Integer", "'1'", "structure"},
    {"PositiveInt", "1", NULL},
    {"PositiveInt", "0", "value"},
    {"UnsignedInt", "0", NULL},
    {"UnsignedInt", "-1", "value"},
    {"Decimal", "0.10", NULL},
    {"Decimal", "-3", NULL},
    {"Decimal", "1e400", NULL},
    {"Decimal", "123456789012345678901234567890", NULL},
    {"Decimal", "'1.5'", "structure"},
    {"Decimal", "true", "structure"},
    {"String", "'a\\tb\\nc'", NULL},
    {"String", "' '", NULL},
    {"String", "''", "value"},
    {"String", "'a\\u0001b'", "value"},
    {"String", "'a\\u0000b'", "value"},
    {"String", "1", "structure"},
    {"String", "{'a':1}", "structure"},
    {"Markdown", "'# Title\\n\\n* item'", NULL},
    {"Markdown", "'\\f'", "value"},
    {"Code", "'final'", NULL},
    {"Code", "'two words'", NULL},
    {"Code", "' final'", "value"},
    {"Code", "'final '", "value"},
    {"Code", "'two  spaces'", "value"},
    {"Code", "''", "value"},
    {"Id", "'abc-1.2'", NULL},
    {"Id", "'abc/1'", "value"},
    {"Uri", "'urn:x:y'", NULL},
    {"Uri", "'http://a b'", "value"},
    {"Url", "'https://example.org/fhir'", NULL},
    {"Url", "'https://example.org/\\tx'", "value"},
    {"Canonical", "'http://hl7.org/fhir/ValueSet/x|4.0.1'", NULL},
    {"Canonical", "' http://x'", "value"},
    {"Oid", "'urn:oid:1.2.840.10008'", NULL},
    {"Oid", "'urn:oid:2.0'", NULL},
    {"Oid", "'1.2.3'", "value"},
    {"Oid", "'urn:oid:3.1'", "value"},
    {"Oid", "'urn:oid:1.02'", "value"},
    {"Oid", "'urn:oid:1'", "value"},
    {"Uuid", "'urn:uuid:c757873d-ec9a-4326-a141-556f43239520'", NULL},
    {"Uuid", "'urn:uuid:C757873D-EC9A-4326-A141-556F43239520'", "value"},
    {"Uuid", "'c757873d-ec9a-4326-a141-556f43239520'", "value"},
    {"Uuid", "'urn:uuid:c757873d-ec9a-4326-a141-556f4323952'", "value"},
    {"Base64Binary", "'aGVsbG8='", NULL},
    {"Base64Binary", "'aGVs\\nbG8h'", NULL},
    {"Base64Binary", "'aGVsbG8'", "value"},
    {"Base64Binary", "'aGV=bG8h'", "value"},
    {"Base64Binary", "'aGVs*G8h'", "value"},
    {"Date", "'2024'", NULL},
    {"Date", "'2024-02'", NULL},
    {"Date", "'2024-02-29'", NULL},
    {"Date", "'0000'", "value"},
    {"Date", "'2024-2-1'", "value"},
    {"Date", "'2024-02-32'", "value"},
    {"Date", "'24-02-01'", "value"},
    {"DateTime", "'2024'", NULL},
    {"DateTime", "'2024-02-01T10:11:12Z'", NULL},
    {"DateTime", "'2024-02-01T10:11:12.123+14:00'", NULL},
    {"DateTime", "'2024-02-01T23:59:60-05:30'", NULL},
    {"DateTime", "'2024-02-01T10:11:12'", "value"},
    {"DateTime", "'2024-02-01T10:11Z'", "value"},
    {"DateTime", "'2024-02T10:11:12Z'", "value"},
    {"DateTime", "'2024-02-01T24:00:00Z'", "value"},
    {"DateTime", "'2024-02-01T10:11:12+14:30'", "value"},
    {"DateTime", "'2024-02-01 10:11:12Z'", "value"},
    {"Instant", "'2024-02-01T10:11:12.5Z'", NULL},
    {"Instant", "'2024-02-01T10:11:12'", "value"},
    {"Instant", "'2024-02-01'", "value"},
    {"Time", "'10:11:12'", NULL},
    {"Time", "'10:11:12.001'", NULL},
    {"Time", "'25:00:00'", "value"},
    {"Time", "'10:11'", "value"},
    {"Time", "'10:11:12Z'", "value"},
};

Test(validate, primitive_formats) {
    for(size_t i = 0; i < sizeof prim_cases / sizeof *prim_cases; i++) {
        const prim_case *pc = &prim_cases[i];
        char text[512], expr[128];
        snprintf(text, sizeof text, "{'resourceType':'Parameters','parameter':[{'name':'p','value%s':%s}]}", pc->type,
                 pc->value);
        snprintf(expr, sizeof expr, "Parameters.parameter[0].value%s", pc->type);
        if(pc->code)
            expect_issue(text, pc->code, expr);
        else
            expect_valid(text);
    }
}

Test(validate, narrative_div) {
    expect_issue("{'resourceType':'Patient','text':{'status':'generated','div':'hello'}}", "value", "Patient.text.div");
    expect_issue("{'resourceType':'Patient','text':{'status':'generated','div':'<p>hello</p>'}}", "value",
                 "Patient.text.div");
    expect_valid("{'resourceType':'Patient','text':{'status':'generated','div':'<div>hello</div>'}}");
}

/* ---- nested resources, datatypes, recursion -------------------------------- */

Test(validate, contained_resources) {
    expect_valid("{'resourceType':'Patient','contained':[{'resourceType':'Organization','id':'o1','name':'GP'}],"
                 "'managingOrganization':{'reference':'#o1'}}");
    expect_issue(
        "{'resourceType':'Patient','contained':[{'resourceType':'Observation','id':'o1','code':{'text':'x'}}]}",
        "required", "Patient.contained[0].status");
    expect_issue("{'resourceType':'Patient','contained':[{'id':'o1'}]}", "required", "Patient.contained[0]");
    expect_issue("{'resourceType':'Patient','contained':[{'resourceType':'Nope'}]}", "invalid",
                 "Patient.contained[0].resourceType");
}

Test(validate, bundle_entries) {
    expect_issue("{'resourceType':'Bundle','type':'collection','entry':["
                 "{'resource':{'resourceType':'Patient'}},"
                 "{'fullUrl':'urn:uuid:c757873d-ec9a-4326-a141-556f43239520','resource':{'resourceType':'Patient'}},"
                 "{'resource':{'resourceType':'Observation','status':5,'code':{'text':'x'}}}]}",
                 "structure", "Bundle.entry[2].resource.status");
    expect_issue("{'resourceType':'Bundle','type':'collection','entry':[{'resource':{'resourceType':'Bundle',"
                 "'type':'collection','entry':[{'resource':{'resourceType':'Patient','gender':['x']}}]}}]}",
                 "structure", "Bundle.entry[0].resource.entry[0].resource.gender");
    expect_issue("{'resourceType':'Bundle','entry':[{'fullUrl':'urn:x:1'}]}", "required", "Bundle.type");
}

Test(validate, parameters_resources) {
    expect_issue("{'resourceType':'Parameters','parameter':[{'name':'a','resource':{'resourceType':'Patient',"
                 "'birthDate':'x'}}]}",
                 "value", "Parameters.parameter[0].resource.birthDate");
    expect_issue("{'resourceType':'Parameters','parameter':[{'name':'a','part':[{'name':'b','part':[{'valueString':"
                 "'c'}]}]}]}",
                 "required", "Parameters.parameter[0].part[0].part[0].name");
}

Test(validate, content_references) {
    expect_valid("{'resourceType':'Questionnaire','status':'draft','item':[{'linkId':'1','type':'group','item':[{"
                 "'linkId':'1.1','type':'string','item':[{'linkId':'1.1.1','type':'display','text':'hi'}]}]}]}");
    expect_issue("{'resourceType':'Questionnaire','status':'draft','item':[{'linkId':'1','type':'group','item':[{"
                 "'linkId':'1.1','type':'string','item':[{'type':'display'}]}]}]}",
                 "required", "Questionnaire.item[0].item[0].item[0].linkId");
    expect_issue("{'resourceType':'Questionnaire','status':'draft','item':[{'linkId':'1','type':'group','item':[{"
                 "'linkId':'1.1','type':'string','colour':'red'}]}]}",
                 "structure", "Questionnaire.item[0].item[0].colour");
}

Test(validate, extensions) {
    expect_valid("{'resourceType':'Patient','extension':[{'url':'http://x.org/a','extension':[{'url':'b',"
                 "'valueCodeableConcept':{'text':'c'}}]}]}");
    expect_issue("{'resourceType':'Patient','extension':[{'valueString':'x'}]}", "required",
                 "Patient.extension[0].url");
    expect_issue("{'resourceType':'Patient','extension':[{'url':'http://x.org/a','valueString':'x','valueCode':'y'}]}",
                 "invalid", "Patient.extension[0].valueCode");
    expect_issue("{'resourceType':'Patient','extension':[{'url':'http://x.org/a','valueString':'x',"
                 "'extension':[{'url':'b','valueString':'c'}]}]}",
                 "invalid", "Patient.extension[0]");
    expect_issue("{'resourceType':'Patient','extension':[{'url':'http://x.org/a'}]}", "invalid",
                 "Patient.extension[0]");
    expect_issue("{'resourceType':'Patient','extension':[{'url':'http://x.org/a','extension':[{'url':'b',"
                 "'valueQuantity':{'value':1,'units':'kg'}}]}]}",
                 "structure", "Patient.extension[0].extension[0].valueQuantity.units");
    expect_issue("{'resourceType':'Patient','modifierExtension':[{'url':'http://x.org/a','valueBoolean':'yes'}]}",
                 "structure", "Patient.modifierExtension[0].valueBoolean");
}

Test(validate, datatype_nested_elements) {
    /* Timing.repeat is a nested Element of a datatype; count is a positiveInt */
    expect_issue("{'resourceType':'MedicationRequest','status':'active','intent':'order','medicationCodeableConcept':"
                 "{'text':'m'},'subject':{'reference':'Patient/1'},'dosageInstruction':[{'timing':{'repeat':{"
                 "'count':0}}}]}",
                 "value", "MedicationRequest.dosageInstruction[0].timing.repeat.count");
    expect_issue("{'resourceType':'Patient','photo':[{'size':-1}]}", "value", "Patient.photo[0].size");
}

/* ---- codes with required bindings ------------------------------------------ */

/* Expect exactly one issue, code-invalid at expression, whose diagnostics
 * contain `diagnostics`. */
static void expect_code_invalid(const char *text, const char *expression, const char *diagnostics) {
    expect_issue(text, "code-invalid", expression);
    json_value *v = parse_q(text);
    fhir_issues is = FHIR_ISSUES_INIT;
    fhir_validate(v, &is);
    cr_assert_eq(is.n, 1);
    cr_expect(strstr(is.v[0].diagnostics, diagnostics), "diagnostics '%s' lack '%s'", is.v[0].diagnostics,
              diagnostics);
    fhir_issues_free(&is);
    json_free(v);
}

Test(validate, required_codes_at_the_root) {
    static const char *const statuses[] = {"registered", "preliminary", "final",            "amended",
                                           "corrected",  "cancelled",   "entered-in-error", "unknown"};
    char text[256];
    for(size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        snprintf(text, sizeof text, "{'resourceType':'Observation','status':'%s','code':{'text':'x'}}", statuses[i]);
        expect_valid(text);
    }
    expect_code_invalid("{'resourceType':'Observation','status':'bogus-status','code':{'text':'x'}}",
                        "Observation.status",
                        "'bogus-status' is not in the required value set "
                        "http://hl7.org/fhir/ValueSet/observation-status|4.0.1 "
                        "(registered | preliminary | final | ...)");

    expect_valid("{'resourceType':'Patient','gender':'male'}");
    expect_valid("{'resourceType':'Patient','gender':'female'}");
    expect_valid("{'resourceType':'Patient','gender':'other'}");
    expect_valid("{'resourceType':'Patient','gender':'unknown'}");
    expect_code_invalid("{'resourceType':'Patient','gender':'m'}", "Patient.gender",
                        "'m' is not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1 "
                        "(male | female | other | unknown)");
    /* codes are case-sensitive */
    expect_issue("{'resourceType':'Patient','gender':'Male'}", "code-invalid", "Patient.gender");
    /* a malformed code is reported once, as malformed */
    expect_issue("{'resourceType':'Patient','gender':' male'}", "value", "Patient.gender");
    /* an extension in place of the value leaves nothing to check */
    expect_valid("{'resourceType':'Patient','_gender':{'extension':[{'url':'http://x.org/e','valueString':'x'}]}}");
}

Test(validate, required_codes_in_nested_elements) {
    expect_valid("{'resourceType':'Bundle','type':'batch','entry':[{'request':{'method':'GET','url':'Patient/1'}},"
                 "{'request':{'method':'PATCH','url':'Patient/2'}}]}");
    expect_code_invalid("{'resourceType':'Bundle','type':'batch','entry':[{'request':{'method':'GET',"
                        "'url':'Patient/1'}},{'request':{'method':'FETCH','url':'Patient/2'}}]}",
                        "Bundle.entry[1].request.method", "http://hl7.org/fhir/ValueSet/http-verb|4.0.1");
    expect_code_invalid("{'resourceType':'Bundle','type':'bag'}", "Bundle.type",
                        "http://hl7.org/fhir/ValueSet/bundle-type|4.0.1");
    /* resources inside resources */
    expect_code_invalid("{'resourceType':'Bundle','type':'collection','entry':[{'resource':{'resourceType':"
                        "'Observation','status':'done','code':{'text':'x'}}}]}",
                        "Bundle.entry[0].resource.status", "'done'");
    expect_issue("{'resourceType':'Patient','contained':[{'resourceType':'Patient','gender':'f'}]}", "code-invalid",
                 "Patient.contained[0].gender");
    /* datatypes and their nested elements */
    expect_valid("{'resourceType':'Patient','name':[{'use':'maiden','family':'X'}],'telecom':[{'system':'phone',"
                 "'value':'1','use':'mobile'}]}");
    expect_issue("{'resourceType':'Patient','name':[{'use':'nick','family':'X'}]}", "code-invalid",
                 "Patient.name[0].use");
    expect_issue("{'resourceType':'Observation','status':'final','code':{'text':'x'},'valueQuantity':{'value':1,"
                 "'comparator':'~'}}",
                 "code-invalid", "Observation.valueQuantity.comparator");
    expect_issue("{'resourceType':'MedicationRequest','status':'active','intent':'order','medicationCodeableConcept':"
                 "{'text':'m'},'subject':{'reference':'Patient/1'},'dosageInstruction':[{'timing':{'repeat':{"
                 "'periodUnit':'fortnight'}}}]}",
                 "code-invalid", "MedicationRequest.dosageInstruction[0].timing.repeat.periodUnit");
}

Test(validate, required_codes_in_arrays) {
    expect_valid("{'resourceType':'AllergyIntolerance','patient':{'reference':'Patient/1'},"
                 "'category':['food','medication']}");
    expect_code_invalid("{'resourceType':'AllergyIntolerance','patient':{'reference':'Patient/1'},"
                        "'category':['food','pollen']}",
                        "AllergyIntolerance.category[1]", "'pollen'");
    /* a null placeholder next to its extension has no code to check */
    expect_valid("{'resourceType':'AllergyIntolerance','patient':{'reference':'Patient/1'},'category':['food',null],"
                 "'_category':[null,{'extension':[{'url':'http://x.org/e','valueString':'x'}]}]}");
    expect_issue("{'resourceType':'MedicationRequest','status':'active','intent':'order','medicationCodeableConcept':"
                 "{'text':'m'},'subject':{'reference':'Patient/1'},'dosageInstruction':[{'timing':{'repeat':{"
                 "'dayOfWeek':['mon','fri','sun','hol']}}}]}",
                 "code-invalid", "MedicationRequest.dosageInstruction[0].timing.repeat.dayOfWeek[3]");
}

Test(validate, required_value_set_expansions) {
    /* nested concepts of a code system: 'corrected' sits under 'amended', 'required' under 'invalid' */
    expect_valid("{'resourceType':'Observation','status':'corrected','code':{'text':'x'}}");
    expect_valid("{'resourceType':'OperationOutcome','issue':[{'severity':'error','code':'required'}]}");
    expect_issue("{'resourceType':'OperationOutcome','issue':[{'severity':'fatal-ish','code':'required'}]}",
                 "code-invalid", "OperationOutcome.issue[0].severity");
    /* two includes: Task.intent takes task-intent's codes and some of request-intent's */
    expect_valid("{'resourceType':'Task','status':'ready','intent':'unknown'}");
    expect_valid("{'resourceType':'Task','status':'ready','intent':'filler-order'}");
    expect_issue("{'resourceType':'Task','status':'ready','intent':'directive'}", "code-invalid", "Task.intent");
    /* an explicit list of codes from an external system (UCUM units of time) */
    expect_valid("{'resourceType':'Observation','status':'final','code':{'text':'x'},'effectiveTiming':{'repeat':{"
                 "'period':2,'periodUnit':'wk'}}}");
    /* three code systems: data types, resource types and abstract types */
    expect_valid("{'resourceType':'OperationDefinition','name':'x','status':'draft','kind':'operation','code':'x',"
                 "'system':false,'type':false,'instance':true,'parameter':[{'name':'a','use':'in','min':0,'max':'1',"
                 "'type':'HumanName'},{'name':'b','use':'out','min':0,'max':'*','type':'Resource'},"
                 "{'name':'c','use':'out','min':0,'max':'1','type':'Patient'}]}");
    expect_issue("{'resourceType':'OperationDefinition','name':'x','status':'draft','kind':'operation','code':'x',"
                 "'system':false,'type':false,'instance':true,'parameter':[{'name':'a','use':'in','min':0,'max':'1',"
                 "'type':'Patients'}]}",
                 "code-invalid", "OperationDefinition.parameter[0].type");
}

Test(validate, unexpandable_value_sets_are_not_checked) {
    /* Attachment.contentType is bound to BCP-13 mime types, Money.currency to
     * ISO 4217: neither code system is in the package */
    expect_valid("{'resourceType':'Patient','photo':[{'contentType':'application/x-made-up','data':'AAAA'}]}");
    expect_valid("{'resourceType':'Account','status':'active','coverage':[{'coverage':{'reference':'Coverage/1'}}],"
                 "'guarantor':[{'party':{'reference':'Patient/1'}}],'extension':[{'url':'http://x.org/e',"
                 "'valueMoney':{'value':1,'currency':'XYZ'}}]}");
    /* elements without a required binding take any code */
    expect_valid("{'resourceType':'Patient','communication':[{'language':{'coding':[{'system':'urn:ietf:bcp:47',"
                 "'code':'not-a-language'}]}}],'language':'xx-made-up'}");
}

/* ---- hostile input ------------------------------------------------------- */

Test(validate, many_errors_are_capped) {
    buf b = BUF_INIT;
    buf_puts(&b, "{\"resourceType\":\"Patient\"");
    for(int i = 0; i < 5000; i++) buf_printf(&b, ",\"x%d\":1", i);
    buf_puts(&b, ",\"name\":[");
    for(int i = 0; i < 100000; i++) buf_puts(&b, i ? ",{\"x\":1}" : "{\"x\":1}");
    buf_puts(&b, "]}");
    json_value *v = NULL;
    cr_assert_eq(json_parse(buf_str(&b), b.len, &v, NULL, 0), KITH_OK);
    fhir_issues is = FHIR_ISSUES_INIT;
    clock_t t0 = clock();
    cr_expect_eq(fhir_validate(v, &is), KITH_EINVALID);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    cr_expect_eq(is.n, FHIR_ISSUES_MAX);
    cr_expect_eq(is.errors, FHIR_ISSUES_MAX, "walk should stop at the cap, got %zu", is.errors);
    cr_expect_lt(secs, 0.5);
    fhir_issues_free(&is);
    json_free(v);
    buf_free(&b);
}

Test(validate, deep_nesting) {
    /* extensions nested as deep as the parser allows (two levels each) */
    buf b = BUF_INIT;
    int levels = (JSON_MAX_DEPTH - 4) / 2;
    buf_puts(&b, "{\"resourceType\":\"Patient\",\"extension\":[");
    for(int i = 0; i < levels; i++) buf_puts(&b, i ? ",\"extension\":[{\"url\":\"u\"" : "{\"url\":\"u\"");
    buf_puts(&b, ",\"valueBoolean\":\"no\"");
    for(int i = 0; i < levels; i++) buf_puts(&b, "}]");
    buf_puts(&b, "}");
    json_value *v = NULL;
    char err[200];
    cr_assert_eq(json_parse(buf_str(&b), b.len, &v, err, sizeof err), KITH_OK, "%s", err);
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_expect_eq(fhir_validate(v, &is), KITH_EINVALID);
    cr_assert_eq(is.n, 1);
    cr_expect_str_eq(is.v[0].code, "structure");
    cr_expect(strncmp(is.v[0].expression, "Patient.extension[0].extension[0].", 34) == 0);
    cr_expect(strstr(is.v[0].expression, ".valueBoolean") != NULL);
    fhir_issues_free(&is);
    json_free(v);
    buf_free(&b);
}

Test(validate, deep_trees_built_in_code) {
    /* json.h caps the depth of parsed text only; a tree built in code can go deeper */
    json_value *root = json_new_object();
    json_set(root, "resourceType", json_new_string("Patient"));
    json_value *parent = root;
    for(int i = 0; i < 300; i++) {
        json_value *arr = json_new_array(), *ext = json_new_object();
        json_set(ext, "url", json_new_string("u"));
        json_append(arr, ext);
        json_set(parent, "extension", arr);
        parent = ext;
    }
    json_set(parent, "valueBoolean", json_new_bool(true));
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_expect_eq(fhir_validate(root, &is), KITH_EINVALID);
    cr_assert_eq(is.n, 1);
    cr_expect_str_eq(is.v[0].code, "invalid");
    cr_expect(strstr(is.v[0].diagnostics, "deep") != NULL);
    fhir_issues_free(&is);
    json_free(root);
}

Test(validate, long_names_are_truncated) {
    buf b = BUF_INIT;
    buf_puts(&b, "{\"resourceType\":\"Patient\",\"name\":[{\"");
    for(int i = 0; i < 20000; i++) buf_putc(&b, 'q');
    buf_puts(&b, "\":1}]}");
    json_value *v = NULL;
    cr_assert_eq(json_parse(buf_str(&b), b.len, &v, NULL, 0), KITH_OK);
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_expect_eq(fhir_validate(v, &is), KITH_EINVALID);
    cr_assert_eq(is.n, 1);
    cr_expect_str_eq(is.v[0].code, "structure");
    size_t n = strlen(is.v[0].expression);
    cr_expect_lt(n, 4096);
    cr_expect(strncmp(is.v[0].expression, "Patient.name[0].qqq", 19) == 0);
    cr_expect(strcmp(is.v[0].expression + n - 3, "...") == 0);
    cr_expect_lt(strlen(is.v[0].diagnostics), 300);
    fhir_issues_free(&is);
    json_free(v);
    buf_free(&b);
}

Test(validate, issues_already_in_the_list) {
    /* a list that already holds errors from elsewhere: a valid resource is still KITH_OK */
    fhir_issues is = FHIR_ISSUES_INIT;
    fhir_issues_add(&is, "error", "invalid", NULL, "earlier problem");
    json_value *v = parse_q("{'resourceType':'Patient'}");
    cr_expect_eq(fhir_validate(v, &is), KITH_OK);
    cr_expect_eq(is.n, 1);
    fhir_issues_free(&is);
    json_free(v);
}

/* ---- the official examples -------------------------------------------------- */

/* Resource types whose examples are definitions, not records. */
static const char *const definitional[] = {
    "StructureDefinition",   "ValueSet",        "CodeSystem",        "SearchParameter",         "OperationDefinition",
    "CompartmentDefinition", "ConceptMap",      "NamingSystem",      "CapabilityStatement",     "ImplementationGuide",
    "StructureMap",          "GraphDefinition", "MessageDefinition", "TerminologyCapabilities", "ExampleScenario",
};

/* Examples that break the R4 specification itself. */
static const char *const known_bad[] = {
    "Questionnaire-qs1.json", /* nested items lack linkId, which is 1..1 */
};

static bool in_list(const char *s, const char *const *list, size_t n) {
    for(size_t i = 0; i < n; i++)
        if(strcmp(s, list[i]) == 0) return true;
    return false;
}

/* The contents of path if smaller than max bytes; caller frees. NULL otherwise. */
static char *read_small_file(const char *path, size_t max, size_t *len) {
    char *data = NULL;
    FILE *f = fopen(path, "rb");
    if(!f) return NULL;
    if(fseek(f, 0, SEEK_END) != 0) goto done;
    long n = ftell(f);
    if(n < 0 || (size_t)n >= max || fseek(f, 0, SEEK_SET) != 0) goto done;
    data = xmalloc((size_t)n + 1);
    if(fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
        goto done;
    }
    data[n] = '\0';
    *len = (size_t)n;
done:
    fclose(f);
    return data;
}

static const char *package_dir(void) {
    const char *dir = getenv("KITH_FHIR_PACKAGE");
    return dir && *dir ? dir : "node_modules/hl7.fhir.r4.examples";
}

/* An official example, parsed; caller frees. */
static json_value *load_example(const char *file) {
    char path[4096];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", package_dir(), file);
    char *text = read_small_file(path, 1000000, &len);
    cr_assert_not_null(text, "cannot read %s (set KITH_FHIR_PACKAGE)", path);
    json_value *v = NULL;
    cr_assert_eq(json_parse(text, len, &v, NULL, 0), KITH_OK, "%s does not parse", path);
    free(text);
    return v;
}

/* A copy of example with member key of the object at `at` set to val
 * (NULL: removed), expected to give one issue (code, expression). */
static void expect_mutation(const json_value *example, json_value *at_copy(json_value *), const char *key,
                            json_value *val, const char *code, const char *expression) {
    json_value *v = json_copy(example);
    json_value *at = at_copy(v);
    if(val)
        json_set(at, key, val);
    else
        json_remove(at, key);
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_expect_eq(fhir_validate(v, &is), KITH_EINVALID, "%s", expression);
    if(is.n != 1) print_issues(&is);
    cr_assert_eq(is.n, 1, "%s: %zu issues", expression, is.n);
    cr_expect_str_eq(is.v[0].code, code);
    cr_expect_str_eq(is.v[0].expression, expression);
    fhir_issues_free(&is);
    json_free(v);
}

static json_value *at_root(json_value *v) {
    return v;
}

static json_value *at_name0(json_value *v) {
    return json_array_at(json_get(v, "name"), 0);
}

static json_value *at_value_quantity(json_value *v) {
    return json_get(v, "valueQuantity");
}

Test(validate, mutated_official_examples) {
    json_value *pat = load_example("Patient-example.json");
    json_value *obs = load_example("Observation-example.json");
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_assert_eq(fhir_validate(pat, &is), KITH_OK);
    cr_assert_eq(fhir_validate(obs, &is), KITH_OK);
    fhir_issues_free(&is);

    expect_mutation(pat, at_root, "birthDate", json_new_string("1974-02-30T"), "value", "Patient.birthDate");
    expect_mutation(pat, at_root, "active", json_new_string("true"), "structure", "Patient.active");
    expect_mutation(pat, at_root, "id", json_new_string("example#1"), "value", "Patient.id");
    expect_mutation(pat, at_root, "colour", json_new_string("blue"), "structure", "Patient.colour");
    expect_mutation(pat, at_name0, "foo", json_new_bool(true), "structure", "Patient.name[0].foo");
    expect_mutation(pat, at_name0, "family", json_new_int(7), "structure", "Patient.name[0].family");
    json_value *family = json_new_array();
    json_append(family, json_new_string("Chalmers"));
    expect_mutation(pat, at_name0, "family", family, "structure", "Patient.name[0].family");
    expect_mutation(pat, at_root, "deceasedDateTime", json_new_string("2020-01-01"), "invalid",
                    "Patient.deceasedDateTime");

    expect_mutation(obs, at_root, "status", NULL, "required", "Observation.status");
    expect_mutation(obs, at_root, "valueString", json_new_string("185 lbs"), "invalid", "Observation.valueString");
    expect_mutation(obs, at_value_quantity, "value", json_new_string("185"), "structure",
                    "Observation.valueQuantity.value");
    expect_mutation(obs, at_value_quantity, "comparator", json_new_string("< "), "value",
                    "Observation.valueQuantity.comparator");
    json_free(pat);
    json_free(obs);
}

Test(validate, official_examples, .timeout = 120) {
    const char *dir = package_dir();
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s (set KITH_FHIR_PACKAGE)", dir);
    size_t total = 0, failed = 0, unexpected = 0;
    struct dirent *de;
    while((de = readdir(d))) {
        size_t nlen = strlen(de->d_name), len = 0;
        if(nlen < 6 || strcmp(de->d_name + nlen - 5, ".json") != 0 || strcmp(de->d_name, "package.json") == 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        char *text = read_small_file(path, 1000000, &len);
        if(!text) continue;
        json_value *v = NULL;
        char err[256];
        kith_rc rc = json_parse(text, len, &v, err, sizeof err);
        free(text);
        if(rc) {
            fprintf(stderr, "%s: does not parse: %s\n", de->d_name, err);
            total++, failed++, unexpected++;
            continue;
        }
        const char *rt = json_string(json_get(v, "resourceType"));
        if(!rt || in_list(rt, definitional, sizeof definitional / sizeof *definitional)) {
            json_free(v);
            continue;
        }
        total++;
        fhir_issues is = FHIR_ISSUES_INIT;
        if(fhir_validate(v, &is) != KITH_OK) {
            bool known = in_list(de->d_name, known_bad, sizeof known_bad / sizeof *known_bad);
            failed++;
            if(!known) unexpected++;
            fprintf(stderr, "%s: %zu errors%s\n", de->d_name, is.errors, known ? " (known bad example)" : "");
            for(size_t i = 0; i < is.n && i < 5; i++)
                fprintf(stderr, "  %s %s: %s\n", is.v[i].code, is.v[i].expression ? is.v[i].expression : "(none)",
                        is.v[i].diagnostics);
        }
        fhir_issues_free(&is);
        json_free(v);
    }
    closedir(d);
    fprintf(stderr, "official examples: %zu of %zu valid\n", total - failed, total);
    cr_expect_gt(total, 700, "only %zu examples found in %s", total);
    cr_expect_eq(unexpected, 0, "%zu examples failed unexpectedly", unexpected);
    cr_expect_geq((double)(total - failed), 0.99 * (double)total);
}
