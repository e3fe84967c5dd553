/* test_report_measures.c — src/report/measures.c and publish.c: each
 * indicator's numerator, denominator and value on a small place built here
 * from FHIR JSON text, worked by hand: 40 people aged 74 at two practices in
 * two neighbourhoods of one locality, admissions with a delay and a
 * readmission, deaths, A&E attendances, and one person who opted out.
 * Suppression: a neighbourhood count of 3 is hidden, and so the other
 * neighbourhood's too (secondary); hidden numbers never reach the CSV. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "report/measures.h"
#include "report/publish.h"
#include "report/records.h"

#define SYS "https://kith.example.org/fhir/"
#define EPS 1e-9

static void add(records_batch *b, const char *type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(records_batch *b, const char *type, const char *fmt, ...) {
    char json[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(json, sizeof json, fmt, ap);
    va_end(ap);
    records_add(b, type, json, strlen(json));
}

static void org(records_batch *b, const char *id, const char *parent) {
    if(parent)
        add(b, "Organization", "{\"resourceType\":\"Organization\",\"id\":\"%s\",\"name\":\"%s\",\"partOf\":"
                               "{\"reference\":\"Organization/%s\"}}", id, id, parent);
    else
        add(b, "Organization", "{\"resourceType\":\"Organization\",\"id\":\"%s\",\"name\":\"%s\"}", id, id);
}

static void patient(records_batch *b, const char *id, const char *gp, const char *died) {
    char death[80] = "";
    if(died) snprintf(death, sizeof death, ",\"deceasedDateTime\":\"%s\"", died);
    add(b, "Patient", "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"birthDate\":\"1950-01-01\"%s,"
                      "\"generalPractitioner\":[{\"reference\":\"Organization/%s\"}]}", id, death, gp);
}

/* An emergency admission from..to; ready date and reason, pathway (-1 none). */
static void admission(records_batch *b, const char *who, const char *from, const char *to, const char *ready,
                      const char *reason, int pathway) {
    char ext[1024] = "";
    size_t n = 0;
    if(ready)
        n += (size_t)snprintf(ext + n, sizeof ext - n, "{\"url\":\"" SYS "StructureDefinition/discharge-ready-date\","
                                                        "\"valueDateTime\":\"%s\"},", ready);
    if(reason)
        n += (size_t)snprintf(ext + n, sizeof ext - n, "{\"url\":\"" SYS "StructureDefinition/discharge-delay-reason\","
                                                        "\"valueCodeableConcept\":{\"coding\":[{\"code\":\"%s\"}]}},", reason);
    if(pathway >= 0)
        n += (size_t)snprintf(ext + n, sizeof ext - n, "{\"url\":\"" SYS "StructureDefinition/discharge-pathway\","
                                                        "\"valueCoding\":{\"code\":\"%d\"}},", pathway);
    if(n) ext[n - 1] = '\0'; /* the last comma */
    add(b, "Encounter", "{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"class\":{\"code\":\"IMP\"},"
                        "\"type\":[{\"coding\":[{\"code\":\"emergency-admission\"}]}],\"subject\":{\"reference\":"
                        "\"Patient/%s\"},\"period\":{\"start\":\"%s\",\"end\":\"%s\"},\"hospitalization\":{"
                        "\"extension\":[%s],\"dischargeDisposition\":{\"coding\":[{\"code\":\"19\"}]}}}",
        who, from, to, ext);
}

static void attendance(records_batch *b, const char *who, const char *day) {
    add(b, "Encounter", "{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"class\":{\"code\":\"EMER\"},"
                        "\"subject\":{\"reference\":\"Patient/%s\"},\"period\":{\"start\":\"%s\"}}", who, day);
}

static void task(records_batch *b, const char *who, const char *status, const char *made, const char *due, bool owner) {
    char d[96] = "", o[96] = "";
    if(due) snprintf(d, sizeof d, ",\"restriction\":{\"period\":{\"end\":\"%s\"}}", due);
    if(owner) snprintf(o, sizeof o, ",\"owner\":{\"reference\":\"Organization/gp-a\"}");
    add(b, "Task", "{\"resourceType\":\"Task\",\"status\":\"%s\",\"intent\":\"order\",\"for\":{\"reference\":"
                   "\"Patient/%s\"},\"authoredOn\":\"%sT09:00:00Z\"%s%s}", status, who, made, d, o);
}

static void request(records_batch *b, const char *who, const char *done, const char *outcome) {
    char end[64] = "";
    if(done) snprintf(end, sizeof end, ",\"end\":\"%s\"", done);
    add(b, "ServiceRequest", "{\"resourceType\":\"ServiceRequest\",\"status\":\"completed\",\"intent\":\"proposal\","
                             "\"extension\":[{\"url\":\"" SYS "StructureDefinition/cld-event-outcome\","
                             "\"valueCodeableConcept\":{\"coding\":[{\"code\":\"%s\"}]}}],\"category\":[{\"text\":"
                             "\"Request for adult social care support\"}],\"subject\":{\"reference\":\"Patient/%s\"},"
                             "\"occurrencePeriod\":{\"start\":\"2024-01-20\"%s}}", outcome, who, end);
}

static void assessment(records_batch *b, const char *prefix, const char *who, const char *level, const char *status) {
    add(b, "RiskAssessment", "{\"resourceType\":\"RiskAssessment\",\"id\":\"%s-%s\",\"status\":\"%s\",\"subject\":"
                             "{\"reference\":\"Patient/%s\"},\"prediction\":[{\"qualitativeRisk\":{\"coding\":[{"
                             "\"code\":\"%s\"}]}}]}", prefix, who, status, who, level);
}

static records *place(void) {
    records *r = records_new();
    records_batch *b = records_batch_new(r);
    org(b, "loc-1", NULL);
    org(b, "int-1", "loc-1");
    org(b, "int-2", "loc-1");
    org(b, "gp-a", "int-1");
    org(b, "gp-b", "int-2");
    char id[16];
    for(int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "a%d", i);
        patient(b, id, "gp-a", i == 8 || i == 9 ? "2024-03-01" : NULL);
        snprintf(id, sizeof id, "b%d", i);
        patient(b, id, "gp-b", NULL);
    }
    for(int i = 0; i < 10; i++) { /* 3 nights, 1 day delayed waiting for home care, home with reablement */
        snprintf(id, sizeof id, "a%d", i);
        admission(b, id, "2024-01-02T10:00:00Z", "2024-01-05T10:00:00Z", "2024-01-04T09:00:00Z", "awaiting-home-care", 1);
        if(i < 8) admission(b, id, "2024-01-20", "2024-01-22", "2024-01-22", "none", 0); /* readmitted */
    }
    for(int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "b%d", i);
        admission(b, id, "2024-01-10", "2024-01-11", NULL, NULL, -1);
    }
    for(int i = 0; i < 8; i++) {
        snprintf(id, sizeof id, "b%d", i);
        attendance(b, id, "2024-02-10");
    }
    attendance(b, "b19", "2024-06-30"); /* the data run to the end of June */
    /* Tasks, counted on 1 March: 10 open and overdue at gp-a, 9 of them with no owner */
    for(int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "a%d", i);
        task(b, id, "requested", "2024-02-01", "2024-02-20", i == 9);
    }
    for(int i = 0; i < 3; i++) { /* at gp-b: 3 open with an owner, due later */
        snprintf(id, sizeof id, "b%d", i);
        task(b, id, "accepted", "2024-02-01", "2024-03-10", true);
    }
    task(b, "b3", "on-hold", "2024-02-01", "2024-01-01", false); /* open, no owner; on hold: never overdue */
    task(b, "b4", "completed", "2024-02-01", "2024-02-02", false); /* closed */
    task(b, "b5", "requested", "2024-03-01", NULL, false);         /* made on the count day */
    task(b, "o1", "requested", "2024-02-01", NULL, false);         /* opted out */
    /* MDT actions due on 20 January: 8 done on time, 2 late; one cancelled */
    for(int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "a%d", i);
        add(b, "Task", "{\"resourceType\":\"Task\",\"status\":\"completed\",\"intent\":\"order\",\"code\":{\"coding\":"
                       "[{\"system\":\"" SYS "CodeSystem/task-code\",\"code\":\"mdt-action\"}]},\"for\":{\"reference\":"
                       "\"Patient/%s\"},\"authoredOn\":\"2024-01-05\",\"restriction\":{\"period\":{\"end\":\"2024-01-20\"}},"
                       "\"executionPeriod\":{\"end\":\"%s\"}}", id, i < 8 ? "2024-01-18T10:00:00Z" : "2024-01-25T10:00:00Z");
    }
    add(b, "Task", "{\"resourceType\":\"Task\",\"status\":\"cancelled\",\"intent\":\"order\",\"code\":{\"coding\":"
                   "[{\"code\":\"mdt-action\"}]},\"for\":{\"reference\":\"Patient/b0\"},\"authoredOn\":\"2024-01-05\","
                   "\"restriction\":{\"period\":{\"end\":\"2024-01-20\"}}}");
    /* requests for social care completed in February: 9 to assessment, 3 declined; one still open */
    for(int i = 0; i < 9; i++) {
        snprintf(id, sizeof id, "a%d", i);
        request(b, id, "2024-02-05", "Progress to Assessment");
    }
    for(int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "b%d", i);
        request(b, id, "2024-02-06", "NFA - Support declined");
    }
    request(b, "b9", NULL, "Progress to Assessment");
    request(b, "o1", "2024-02-05", "Progress to Assessment"); /* opted out */
    add(b, "ServiceRequest", "{\"resourceType\":\"ServiceRequest\",\"status\":\"completed\",\"subject\":"
                             "{\"reference\":\"Patient/a1\"},\"occurrencePeriod\":{\"end\":\"2024-02-01\"}}"); /* not CLD */
    /* someone who opted out, with admissions that must count nowhere */
    patient(b, "o1", "gp-a", NULL);
    add(b, "Consent", "{\"resourceType\":\"Consent\",\"status\":\"active\",\"patient\":{\"reference\":\"Patient/o1\"},"
                      "\"category\":[{\"coding\":[{\"system\":\"" SYS "CodeSystem/consent-category\",\"code\":"
                      "\"national-data-opt-out\"}]}]}");
    for(int d = 3; d < 8; d++) {
        char day[24];
        snprintf(day, sizeof day, "2024-01-%02d", d % 100);
        admission(b, "o1", day, day, NULL, NULL, -1);
    }
    /* stored assessments for the risk pyramids */
    for(int i = 0; i < 10; i++) { /* a8 and a9 have died: 8 count */
        snprintf(id, sizeof id, "a%d", i);
        assessment(b, "efi", id, "moderate", "final");
        assessment(b, "ear", id, "very-high", i < 5 ? "final" : "entered-in-error"); /* 5: hidden */
    }
    for(int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "b%d", i);
        assessment(b, "ear", id, i < 12 ? "low" : "high", "final");
    }
    assessment(b, "efi", "b0", "unheard-of", "final"); /* not a level: no assessment */
    assessment(b, "efi", "o1", "severe", "final");     /* opted out */
    records_finish(r);
    return r;
}

static size_t area(const measures *m, const char *code) {
    for(size_t a = 0; a < m->nareas; a++)
        if(strcmp(m->areas[a].code, code) == 0) return a;
    cr_assert_fail("no area %s", code);
    return 0;
}

static measures m;
static records *r;

static void setup(void) {
    r = place();
    cr_assert_eq(measures_compute(r, 2024, 1, 3, (int32_t)datetime_days_from_civil(2024, 3, 1), &m), KITH_OK);
}

static void teardown(void) {
    measures_free(&m);
    records_free(r);
}

TestSuite(report_measures, .init = setup, .fini = teardown);

Test(report_measures, areas_and_exclusions) {
    cr_assert_eq(m.people, 40);
    cr_assert_eq(m.excluded_opt_out, 1);
    cr_assert_eq(m.nareas, 7); /* place, 1 locality, 2 neighbourhoods, 2 practices, the cohort */
    cr_assert_eq(m.areas[0].level, LEVEL_PLACE);
    cr_assert_eq(m.areas[area(&m, "loc-1")].level, LEVEL_LOCALITY);
    cr_assert_eq(m.areas[area(&m, "int-2")].level, LEVEL_NEIGHBOURHOOD);
    cr_assert_eq(m.areas[area(&m, "gp-b")].level, LEVEL_PRACTICE);
    cr_assert_eq(m.areas[area(&m, "aged-65-and-over")].level, LEVEL_COHORT);
    cr_assert_eq(m.data_end, (int32_t)datetime_days_from_civil(2024, 6, 30));
}

Test(report_measures, emergency_admissions_age_standardised) {
    const measure_cell *c = measures_cell(&m, MEASURE_EMERGENCY_ADMISSIONS, 0, 0);
    double py = 40.0 * 31 / 365.25; /* everyone in one band (70-74): the DSR is the crude rate */
    cr_assert_eq(c->count, 21);
    cr_assert_float_eq(c->den, py, EPS);
    cr_assert(!c->est.suppressed);
    cr_assert_float_eq(c->est.value, 21 / py * 1000, 1e-6);
    cr_assert(c->est.lo < c->est.value && c->est.value < c->est.hi);
    /* the cohort (all are 74) is the place; the one locality too */
    cr_assert_float_eq(measures_cell(&m, MEASURE_EMERGENCY_ADMISSIONS, area(&m, "aged-65-and-over"), 0)->est.value,
                       c->est.value, 1e-9);
    cr_assert_eq(measures_cell(&m, MEASURE_EMERGENCY_ADMISSIONS, area(&m, "loc-1"), 0)->count, 21);
    /* 18 and 3 by neighbourhood: 3 is hidden, and 18 with it, or the place's 21 would give 3 back */
    const measure_cell *n1 = measures_cell(&m, MEASURE_EMERGENCY_ADMISSIONS, area(&m, "int-1"), 0);
    const measure_cell *n2 = measures_cell(&m, MEASURE_EMERGENCY_ADMISSIONS, area(&m, "int-2"), 0);
    cr_assert_eq(n1->count, 18);
    cr_assert_eq(n2->count, 3);
    cr_assert(n1->est.suppressed && n2->est.suppressed);
    cr_assert(isnan(n1->est.value) && isnan(n2->est.value));
    cr_assert(measures_cell(&m, MEASURE_EMERGENCY_ADMISSIONS, area(&m, "gp-a"), 0)->est.suppressed);
    /* in March two people have died: 38 people */
    cr_assert_float_eq(measures_cell(&m, MEASURE_EMERGENCY_ADMISSIONS, 0, 2)->den, 38.0 * 31 / 365.25, EPS);
    cr_assert_eq(measures_cell(&m, MEASURE_EMERGENCY_ADMISSIONS, 0, 2)->count, 0);
}

Test(report_measures, bed_days_readmissions_and_days_at_home) {
    double py = 40.0 * 31 / 365.25;
    const measure_cell *bed = measures_cell(&m, MEASURE_BED_DAYS, 0, 0);
    cr_assert_float_eq(bed->num, 10 * 3 + 8 * 2 + 3 * 1, EPS);
    cr_assert_float_eq(bed->est.value, 49 / py * 1000, 1e-6);
    const measure_cell *re = measures_cell(&m, MEASURE_READMISSIONS, 0, 0);
    cr_assert_float_eq(re->num, 8, EPS);
    cr_assert_float_eq(re->den, 21, EPS);
    cr_assert_float_eq(re->est.value, 100.0 * 8 / 21, 1e-9);
    /* a neighbourhood with 3 discharges hides its figure, and the other's with it */
    cr_assert(measures_cell(&m, MEASURE_READMISSIONS, area(&m, "int-2"), 0)->den_hidden);
    cr_assert(measures_cell(&m, MEASURE_READMISSIONS, area(&m, "int-1"), 0)->est.suppressed);
    const measure_cell *home = measures_cell(&m, MEASURE_DAYS_AT_HOME, 0, 0);
    cr_assert_float_eq(home->num, 1240 - 49, EPS);
    cr_assert_float_eq(home->est.value, (1240.0 - 49) / py, 1e-6);
    cr_assert_float_eq(measures_cell(&m, MEASURE_DAYS_AT_HOME, 0, 1)->est.value, 366.0 / 366 * 365.25, 1e-6);
}

Test(report_measures, attendances_delays_and_at_home_after_reablement) {
    const measure_cell *ae = measures_cell(&m, MEASURE_AE_ATTENDANCES, 0, 1);
    cr_assert_eq(ae->count, 8);
    cr_assert_float_eq(ae->est.value, 8 / (40.0 * 29 / 365.25) * 1000, 1e-6);
    cr_assert_eq(measures_cell(&m, MEASURE_AE_ATTENDANCES, area(&m, "int-2"), 1)->count, 8);
    cr_assert(!measures_cell(&m, MEASURE_AE_ATTENDANCES, area(&m, "int-1"), 1)->est.suppressed); /* 0 is shown */
    const measure_cell *dd = measures_cell(&m, MEASURE_DELAYED_DAYS, 0, 0);
    cr_assert_eq(dd->count, 10);
    cr_assert_float_eq(dd->num, 10, EPS);
    cr_assert_float_eq(dd->est.value, 10 / (40.0 * 31 / 365.25) * 1000, 1e-6);
    cr_assert_eq(m.reasons_by_month[0].stays[RECORDS_DELAY_HOME_CARE], 10);
    cr_assert_float_eq(m.reasons_by_month[0].days[RECORDS_DELAY_HOME_CARE], 10, EPS);
    cr_assert_eq(m.reasons_by_area[area(&m, "int-1")].stays[RECORDS_DELAY_HOME_CARE], 10);
    cr_assert(!m.reasons_by_area[area(&m, "int-1")].hidden[RECORDS_DELAY_HOME_CARE]);
    /* 10 discharged home on pathway 1 on 5 January; two died on 1 March, before day 91 (5 April) */
    const measure_cell *h = measures_cell(&m, MEASURE_HOME_91_DAYS, 0, 0);
    cr_assert_float_eq(h->num, 8, EPS);
    cr_assert_float_eq(h->den, 10, EPS);
    cr_assert_float_eq(h->est.value, 80, 1e-9);
}

Test(report_measures, open_tasks_without_an_owner_and_overdue) {
    cr_assert_not_null(m.tasks);
    const measure_tasks *t = &m.tasks[0];
    cr_assert_eq(m.tasks_counted, 14);
    cr_assert_eq(t->open, 14);
    cr_assert_eq(t->without_owner, 10);
    cr_assert_eq(t->with_due, 13);
    cr_assert_eq(t->overdue, 10);
    cr_assert(!t->without_owner_hidden && !t->overdue_hidden);
    cr_assert_eq(m.tasks[area(&m, "aged-65-and-over")].open, 14);
    /* gp-b's neighbourhood has 4 open (hidden), so its shares are hidden, and int-1's with them */
    const measure_tasks *n1 = &m.tasks[area(&m, "int-1")], *n2 = &m.tasks[area(&m, "int-2")];
    cr_assert_eq(n1->open, 10);
    cr_assert_eq(n1->without_owner, 9);
    cr_assert_eq(n2->open, 4);
    cr_assert(n2->open_hidden && n2->without_owner_hidden && n2->with_due_hidden && n2->overdue_hidden);
    cr_assert(!n1->open_hidden);
    cr_assert(n1->without_owner_hidden && n1->overdue_hidden);
    buf b = BUF_INIT;
    cr_assert_eq(publish_tasks_csv(&b, &m), KITH_OK);
    cr_assert(strstr(buf_str(&b), "place,\"place\",\"The place\",2024-03-01,14,10,71.4,13,10,76.9\n"), "%s", buf_str(&b));
    cr_assert(strstr(buf_str(&b), "neighbourhood,\"int-2\",\"int-2\",2024-03-01,*,*,,*,*,\n"), "%s", buf_str(&b));
    buf_free(&b);
}

Test(report_measures, mdt_actions_done_on_time) {
    const measure_cell *c = measures_cell(&m, MEASURE_MDT_ACTIONS_ON_TIME, 0, 0);
    cr_assert(c->available);
    cr_assert_float_eq(c->num, 8, EPS);
    cr_assert_float_eq(c->den, 10, EPS);
    cr_assert_float_eq(c->est.value, 80, 1e-9);
    cr_assert_float_eq(measures_cell(&m, MEASURE_MDT_ACTIONS_ON_TIME, area(&m, "int-1"), 0)->den, 10, EPS);
    cr_assert(measures_cell(&m, MEASURE_MDT_ACTIONS_ON_TIME, 0, 1)->available); /* February has ended by 1 March */
    cr_assert_float_eq(measures_cell(&m, MEASURE_MDT_ACTIONS_ON_TIME, 0, 1)->den, 0, EPS);
    cr_assert(!measures_cell(&m, MEASURE_MDT_ACTIONS_ON_TIME, 0, 2)->available); /* March has not */
}

Test(report_measures, social_care_requests_by_outcome) {
    cr_assert_eq(m.noutcomes, 3);
    cr_assert_str_eq(m.outcomes[0], "Not recorded");
    cr_assert_str_eq(m.outcomes[1], "Progress to Assessment");
    cr_assert_str_eq(m.outcomes[2], "NFA - Support declined");
    cr_assert_eq(m.requests_counted, 12);
    const int64_t *feb = m.requests_by_month + 1 * 3;
    cr_assert_eq(feb[1], 9);
    cr_assert_eq(feb[2], 3);
    /* 3 is hidden, and so 9, or the month's total would give it back; 0 is shown */
    cr_assert(m.requests_by_month_hidden[1 * 3 + 2] && m.requests_by_month_hidden[1 * 3 + 1]);
    cr_assert(!m.requests_by_month_hidden[1 * 3 + 0]);
    cr_assert_eq(m.requests_by_area[area(&m, "int-1") * 3 + 1], 9);
    cr_assert(m.requests_by_area_hidden[0 * 3 + 2] && m.requests_by_area_hidden[0 * 3 + 1]);
    buf b = BUF_INIT;
    cr_assert_eq(publish_requests_csv(&b, &m), KITH_OK);
    cr_assert(strstr(buf_str(&b), "place,\"place\",\"The place\",2024-01/2024-03,\"NFA - Support declined\",*,,1\n"),
              "%s", buf_str(&b));
    cr_assert(!strstr(buf_str(&b), ",3,"), "the 3 is never written");
    buf_free(&b);
}

Test(report_measures, follow_up_past_the_data_is_not_reported) {
    measures short_run;
    records *q = records_new();
    records_batch *b = records_batch_new(q);
    patient(b, "x", "gp-a", NULL);
    admission(b, "x", "2024-01-02", "2024-01-05", NULL, NULL, 1);
    attendance(b, "x", "2024-03-15"); /* the data end here: January's 30 days are there, not its 91 */
    records_finish(q);
    cr_assert_eq(measures_compute(q, 2024, 1, 2, RECORDS_NONE, &short_run), KITH_OK);
    cr_assert(measures_cell(&short_run, MEASURE_READMISSIONS, 0, 0)->available);
    cr_assert(!measures_cell(&short_run, MEASURE_READMISSIONS, 0, 1)->available);
    cr_assert(!measures_cell(&short_run, MEASURE_HOME_91_DAYS, 0, 0)->available);
    cr_assert(measures_cell(&short_run, MEASURE_AE_ATTENDANCES, 0, 1)->available);
    measures_free(&short_run);
    records_free(q);
    cr_assert_eq(measures_compute(r, 2024, 13, 3, RECORDS_NONE, &short_run), KITH_EINVAL);
}

Test(report_measures, hidden_numbers_never_reach_the_csv_or_page) {
    buf b = BUF_INIT;
    cr_assert_eq(publish_indicators_csv(&b, &m), KITH_OK);
    const char *csv = buf_str(&b);
    cr_assert(strstr(csv, "emergency_admissions_dsr,place,\"place\",\"The place\",2024-01,21,"));
    cr_assert(strstr(csv, "emergency_admissions_dsr,neighbourhood,\"int-2\",\"int-2\",2024-01,*,"));
    cr_assert(strstr(csv, "emergency_admissions_dsr,neighbourhood,\"int-1\",\"int-1\",2024-01,*,"));
    /* no row has a numerator of 1 to 7 shown */
    for(const char *line = strchr(csv, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *f = line + 1;
        for(int col = 0; col < 5; col++) f = strchr(f, '"') == f ? strchr(strchr(f + 1, '"') + 1, ',') + 1 : strchr(f, ',') + 1;
        double num = atof(f);
        cr_assert(*f == '*' || num == 0 || num >= 8 || num != floor(num), "a small count shown: %.80s", line + 1);
    }
    buf_reset(&b);
    cr_assert_eq(publish_reasons_csv(&b, &m), KITH_OK);
    cr_assert(strstr(buf_str(&b), "place,\"place\",\"The place\",2024-01/2024-03,awaiting-home-care,"));
    buf_reset(&b);
    publish_meta meta = {.source = "a test <place>", .generated = "now"};
    cr_assert_eq(publish_html(&b, &m, &meta), KITH_OK);
    const char *html = buf_str(&b);
    cr_assert(strstr(html, "a test &lt;place&gt;"));
    cr_assert(strstr(html, "<svg"));
    cr_assert(strstr(html, "spc-title-1"));
    cr_assert(!strstr(html, "\"spc-title\""), "chart ids are made unique");
    cr_assert(strstr(html, "Indicators not computed yet"));
    buf_free(&b);
}

Test(report_measures, risk_pyramids_count_the_living_by_level) {
    cr_assert_eq(m.pyramid_people[RECORDS_FRAILTY], 8, "a8 and a9 died; b0's level is unknown; o1 opted out");
    cr_assert_eq(m.pyramid_people[RECORDS_ADMISSION_RISK], 25);
    bool hidden;
    cr_assert_eq(measures_pyramid(&m, RECORDS_FRAILTY, 0, 2, &hidden), 8);
    cr_assert_not(hidden);
    cr_assert_eq(measures_pyramid(&m, RECORDS_FRAILTY, 0, 3, &hidden), 0, "the opted-out person's severe frailty");
    cr_assert_eq(measures_pyramid(&m, RECORDS_FRAILTY, area(&m, "gp-a"), 2, &hidden), 8);
    cr_assert_eq(measures_pyramid(&m, RECORDS_FRAILTY, area(&m, "gp-b"), 2, &hidden), 0);
    cr_assert_eq(measures_pyramid(&m, RECORDS_ADMISSION_RISK, 0, 0, &hidden), 12);
    cr_assert_not(hidden);
    measures_pyramid(&m, RECORDS_ADMISSION_RISK, 0, 3, &hidden);
    cr_assert(hidden, "5 people at very high risk: hidden");
    measures_pyramid(&m, RECORDS_ADMISSION_RISK, 0, 2, &hidden);
    cr_assert(hidden, "the next smallest in the row, so the 5 cannot be worked out from a total");
    cr_assert_eq(measures_pyramid(&m, RECORDS_ADMISSION_RISK, area(&m, "aged-65-and-over"), 0, &hidden), 12);
    buf b;
    buf_init(&b, 0);
    cr_assert_eq(publish_pyramid_csv(&b, &m), KITH_OK);
    cr_assert_not_null(strstr(buf_str(&b), "admission-risk,place,\"place\",\"The place\",very-high,,1\n"), "%s", buf_str(&b));
    cr_assert_not_null(strstr(buf_str(&b), "frailty,practice,\"gp-a\",\"gp-a\",moderate,8,0\n"), "%s", buf_str(&b));
    buf_free(&b);
}
