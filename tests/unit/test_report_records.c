/* test_report_records.c — src/report/records.c: what the indicators take
 * from FHIR resources written here as JSON text (Patients with their
 * practice, the Organization tree, opt-out Consents, hospital Encounters
 * with discharge-ready dates, delay reasons, pathways and destinations),
 * what they leave alone, and NDJSON files read by several threads with no
 * line lost or read twice at the seams. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/datetime.h"
#include "report/records.h"

#define SYS "https://kith.example.org/fhir/"

static void add(records_batch *b, const char *type, const char *json) {
    records_add(b, type, json, strlen(json));
}

static int32_t day(int y, int m, int d) {
    return (int32_t)datetime_days_from_civil(y, m, d);
}

static const char ORG_LOC[] = "{\"resourceType\":\"Organization\",\"id\":\"loc-1\",\"name\":\"North locality\"}";
static const char ORG_INT[] = "{\"resourceType\":\"Organization\",\"id\":\"int-1\",\"name\":\"Riverside team\","
                              "\"partOf\":{\"reference\":\"Organization/loc-1\"}}";
static const char ORG_GP[] = "{\"resourceType\":\"Organization\",\"id\":\"gp-1\",\"name\":\"Mill Surgery\","
                             "\"partOf\":{\"reference\":\"Organization/int-1\"}}";

static const char PATIENT[] =
    "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"gender\":\"female\",\"birthDate\":\"1940-05-06\","
    "\"deceasedDateTime\":\"2025-01-02T10:00:00Z\",\"generalPractitioner\":[{\"reference\":\"Practitioner/dr-1\"},"
    "{\"reference\":\"Organization/gp-1\"}]}";

/* An emergency admission 2024-03-01 to 03-10, ready 03-06, awaiting a care home, pathway 3, to a care home. */
static const char ADMISSION[] =
    "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"finished\",\"class\":{\"code\":\"IMP\"},"
    "\"type\":[{\"coding\":[{\"code\":\"emergency-admission\"}]}],\"subject\":{\"reference\":\"Patient/p1\"},"
    "\"period\":{\"start\":\"2024-03-01T10:00:00Z\",\"end\":\"2024-03-10T12:00:00Z\"},\"hospitalization\":{"
    "\"extension\":[{\"url\":\"" SYS "StructureDefinition/discharge-pathway\",\"valueCoding\":{\"code\":\"3\"}},"
    "{\"url\":\"" SYS "StructureDefinition/discharge-ready-date\",\"valueDateTime\":\"2024-03-06T09:00:00Z\"},"
    "{\"url\":\"" SYS "StructureDefinition/discharge-delay-reason\",\"valueCodeableConcept\":{\"coding\":[{\"code\":"
    "\"awaiting-care-home\"}]}}],\"dischargeDisposition\":{\"coding\":[{\"code\":\"85\"}]}}}";

Test(report_records, takes_people_units_stays_and_opt_outs) {
    records *r = records_new();
    records_batch *b = records_batch_new(r);
    add(b, "Organization", ORG_GP); /* a child before its parent: order does not matter */
    add(b, "Organization", ORG_INT);
    add(b, "Organization", ORG_LOC);
    add(b, "Patient", PATIENT);
    add(b, "Patient", "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"birthDate\":\"1990\"}");
    add(b, "Encounter", ADMISSION);
    /* pretty-printed A&E attendance: the class is still found in the text */
    add(b, "Encounter", "{ \"resourceType\" : \"Encounter\", \"status\" : \"finished\", \"class\" : { \"code\" : "
                        "\"EMER\" }, \"subject\" : { \"reference\" : \"Patient/p2\" }, \"period\" : { \"start\" : "
                        "\"2024-04-01\" } }");
    /* an elective admission with an NHS admission method of 11 */
    add(b, "Encounter", "{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"class\":{\"code\":\"IMP\"},"
                        "\"subject\":{\"reference\":\"Patient/p2\"},\"period\":{\"start\":\"2024-05-01\","
                        "\"end\":\"2024-05-03\"},\"hospitalization\":{\"extension\":[{\"url\":\"https://fhir.hl7.org.uk/"
                        "StructureDefinition/Extension-UKCore-AdmissionMethod\",\"valueCodeableConcept\":{\"coding\":"
                        "[{\"code\":\"11\"}]}}]}}");
    /* a past class first in the text: parsed, so the current one counts */
    add(b, "Encounter", "{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"classHistory\":[{\"class\":"
                        "{\"code\":\"AMB\"}}],\"class\":{\"code\":\"EMER\"},\"subject\":{\"reference\":"
                        "\"Patient/p2\"},\"period\":{\"start\":\"2024-04-02\"}}");
    /* left alone: a GP appointment, a cancelled admission, one of nobody we know, not JSON, another type */
    add(b, "Encounter", "{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"class\":{\"code\":\"AMB\"},"
                        "\"subject\":{\"reference\":\"Patient/p1\"},\"period\":{\"start\":\"2024-01-01\"}}");
    add(b, "Encounter", "{\"resourceType\":\"Encounter\",\"status\":\"cancelled\",\"class\":{\"code\":\"IMP\"},"
                        "\"subject\":{\"reference\":\"Patient/p1\"},\"period\":{\"start\":\"2024-01-01\"}}");
    add(b, "Encounter", "{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"class\":{\"code\":\"EMER\"},"
                        "\"subject\":{\"reference\":\"Patient/nobody\"},\"period\":{\"start\":\"2024-01-01\"}}");
    add(b, "Encounter", "{\"class\":{\"code\":\"IMP\"}, not json");
    add(b, "Condition", "{\"resourceType\":\"Condition\"}");
    /* p2 opted out; a withdrawn opt-out of p1 does not count */
    add(b, "Consent", "{\"resourceType\":\"Consent\",\"status\":\"active\",\"patient\":{\"reference\":\"Patient/p2\"},"
                      "\"category\":[{\"coding\":[{\"system\":\"" SYS "CodeSystem/consent-category\",\"code\":"
                      "\"national-data-opt-out\"}]}]}");
    add(b, "Consent", "{\"resourceType\":\"Consent\",\"status\":\"inactive\",\"patient\":{\"reference\":\"Patient/p1\"},"
                      "\"category\":[{\"coding\":[{\"system\":\"" SYS "CodeSystem/consent-category\",\"code\":"
                      "\"national-data-opt-out\"}]}]}");
    records_finish(r);

    cr_assert_eq(r->npeople, 2);
    cr_assert_eq(r->unreadable, 1);
    cr_assert_eq(r->unmatched, 1);
    cr_assert_eq(r->opted_out, 1);
    long p1 = strcmp(r->ids[0], "p1") == 0 ? 0 : 1, p2 = 1 - p1;
    const records_person *a = &r->people[p1], *c = &r->people[p2];
    cr_assert_eq(a->birth, day(1940, 5, 6));
    cr_assert_eq(a->death, day(2025, 1, 2));
    cr_assert_eq(a->sex, 1);
    cr_assert(!a->opted_out);
    cr_assert(c->opted_out);
    cr_assert_eq(c->practice, RECORDS_NO_UNIT);
    cr_assert_eq(c->birth, day(1990, 1, 1));
    cr_assert_str_eq(r->units[a->practice].id, "gp-1");
    cr_assert_str_eq(r->units[a->practice].name, "Mill Surgery");
    uint16_t n = records_parent(r, a->practice), l = records_parent(r, n);
    cr_assert_str_eq(r->units[n].name, "Riverside team");
    cr_assert_str_eq(r->units[l].name, "North locality");
    cr_assert_eq(records_parent(r, l), RECORDS_NO_UNIT);

    cr_assert_eq(r->nstays, 4);
    cr_assert_eq(a->stay_n, 1);
    const records_stay *s = &r->stays[a->stay_lo];
    cr_assert_eq(s->kind, RECORDS_EMERGENCY_ADMISSION);
    cr_assert_eq(s->from, day(2024, 3, 1));
    cr_assert_eq(s->to, day(2024, 3, 10));
    cr_assert_eq(s->ready, day(2024, 3, 6));
    cr_assert_eq(records_delay_days(s), 4);
    cr_assert_eq(s->reason, RECORDS_DELAY_CARE_HOME);
    cr_assert_eq(s->pathway, 3);
    cr_assert_eq(s->destination, RECORDS_DEST_CARE_HOME);
    cr_assert_eq(c->stay_n, 3); /* in time order */
    cr_assert_eq(r->stays[c->stay_lo].kind, RECORDS_AE_ATTENDANCE);
    cr_assert_eq(r->stays[c->stay_lo].to, RECORDS_OPEN);
    cr_assert_eq(r->stays[c->stay_lo + 1].kind, RECORDS_AE_ATTENDANCE);
    cr_assert_eq(r->stays[c->stay_lo + 1].from, day(2024, 4, 2));
    cr_assert_eq(r->stays[c->stay_lo + 2].kind, RECORDS_OTHER_ADMISSION);
    cr_assert_eq(r->first_day, day(2024, 3, 1));
    cr_assert_eq(r->last_day, day(2024, 5, 1));
    records_free(r);
}

Test(report_records, a_delay_with_no_reason_is_other) {
    records *r = records_new();
    records_batch *b = records_batch_new(r);
    add(b, "Patient", "{\"resourceType\":\"Patient\",\"id\":\"p\",\"birthDate\":\"1950-01-01\"}");
    add(b, "Encounter", "{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"class\":{\"code\":\"IMP\"},"
                        "\"subject\":{\"reference\":\"Patient/p\"},\"period\":{\"start\":\"2024-01-01\",\"end\":"
                        "\"2024-01-09\"},\"hospitalization\":{\"admitSource\":{\"coding\":[{\"code\":\"emd\"}]},"
                        "\"extension\":[{\"url\":\"" SYS "StructureDefinition/discharge-ready-date\",\"valueDateTime\":"
                        "\"2024-01-05\"}],\"dischargeDisposition\":{\"coding\":[{\"code\":\"79\"}]}}}");
    records_finish(r);
    cr_assert_eq(r->nstays, 1);
    cr_assert_eq(r->stays[0].kind, RECORDS_EMERGENCY_ADMISSION); /* admitted from A&E */
    cr_assert_eq(r->stays[0].reason, RECORDS_DELAY_OTHER);
    cr_assert_eq(r->stays[0].destination, RECORDS_DEST_DIED);
    cr_assert_eq(r->stays[0].pathway, -1);
    cr_assert_str_eq(records_reason_code(RECORDS_DELAY_OTHER), "other");
    records_free(r);
}

/* Read a directory of n Patients and one Encounter per Patient with `threads` threads. */
static records *read_dir(const char *dir, int threads) {
    records *r = records_new();
    char err[512] = "";
    cr_assert_eq(records_read_ndjson(r, dir, threads, err, sizeof err), KITH_OK, "%s", err);
    records_finish(r);
    return r;
}

Test(report_records, ndjson_in_parallel_reads_every_line_once) {
    char dir[] = "/tmp/kith-test-records-XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/Patient.ndjson", dir);
    FILE *f = fopen(path, "w");
    const int n = 6000; /* over 1 MB, so the file is read in parts */
    for(int i = 0; i < n; i++)
        fprintf(f, "{\"resourceType\":\"Patient\",\"id\":\"p%d\",\"birthDate\":\"1950-01-01\",\"text\":{\"div\":\"%0*d\"}}\n",
                i, 100 + i % 300, 0);
    fclose(f);
    snprintf(path, sizeof path, "%s/Encounter.ndjson", dir);
    f = fopen(path, "w");
    for(int i = 0; i < n; i++)
        fprintf(f, "{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"class\":{\"code\":\"%s\"},\"subject\":"
                   "{\"reference\":\"Patient/p%d\"},\"period\":{\"start\":\"2024-01-%02d\"},\"note\":\"%0*d\"}\n",
                i % 3 ? "AMB" : "EMER", i, 1 + i % 28, 150 + i % 200, 0);
    fclose(f);
    for(int threads = 1; threads <= 3; threads++) {
        records *r = read_dir(dir, threads);
        cr_assert_eq(r->npeople, (size_t)n, "%d threads: %zu people", threads, r->npeople);
        cr_assert_eq(r->nstays, (size_t)n / 3, "%d threads: %zu stays", threads, r->nstays);
        cr_assert_eq(r->read, 2L * n);
        cr_assert_eq(r->unreadable, 0);
        records_free(r);
    }
    records *r = records_new();
    char err[512] = "";
    snprintf(path, sizeof path, "%s/Consent.ndjson", dir);
    cr_assert_eq(mkdir(path, 0700), 0); /* a directory where a file should be: named in the error */
    cr_assert_eq(records_read_ndjson(r, dir, 2, err, sizeof err), KITH_EIO);
    cr_assert(strstr(err, "Consent.ndjson"), "%s", err);
    records_free(r);
    rmdir(path);
    snprintf(path, sizeof path, "%s/Patient.ndjson", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/Encounter.ndjson", dir);
    unlink(path);
    rmdir(dir);
}
