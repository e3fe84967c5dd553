/* test_care.c — src/care on a temporary store, without HTTP: the referral
 * Task's state machine, owners, response clocks in working time, escalation,
 * a leaver's Tasks, and discharge follow-up referrals. (The API tests drive
 * the same rules through a real server; these also run under ASan+UBSan.) */
#include "temp_store.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care/care_int.h"

static store *st;
static store_conn *c;
static char path[TEMP_STORE_PATH];

static json_value *parse(const char *text) {
    json_value *v = NULL;
    cr_assert_eq(json_parse(text, strlen(text), &v, NULL, 0), KITH_OK, "parse %s", text);
    return v;
}

/* Write text as type/id through the care rules; the rc. */
static kith_rc put(const char *type, const char *id, const char *text, fhir_issues *is) {
    json_value *v = parse(text);
    fhir_issues local = FHIR_ISSUES_INIT;
    kith_rc rc = care_write(c, type, id, v, 0, false, NULL, is ? is : &local);
    fhir_issues_free(&local);
    json_free(v);
    return rc;
}

static const char *SERVICE =
    "{\"resourceType\":\"HealthcareService\",\"id\":\"hs-front-door\",\"active\":true,"
    "\"extension\":[{\"url\":\"https://kith.example.org/fhir/StructureDefinition/response-target\",\"extension\":["
    "{\"url\":\"priority\",\"valueCode\":\"urgent\"},{\"url\":\"target\",\"valueDuration\":{\"value\":4,"
    "\"system\":\"http://unitsofmeasure.org\",\"code\":\"h\"}}]},"
    "{\"url\":\"https://kith.example.org/fhir/StructureDefinition/response-target\",\"extension\":["
    "{\"url\":\"priority\",\"valueCode\":\"routine\"},{\"url\":\"target\",\"valueDuration\":{\"value\":5,"
    "\"system\":\"http://unitsofmeasure.org\",\"code\":\"d\"}}]}],"
    "\"providedBy\":{\"reference\":\"Organization/la-1\"},\"name\":\"Front door\","
    "\"characteristic\":[{\"coding\":[{\"system\":\"https://kith.example.org/fhir/CodeSystem/need\","
    "\"code\":\"discharge-pathway-1\"}]}],"
    "\"availableTime\":[{\"daysOfWeek\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],"
    "\"availableStartTime\":\"09:00:00\",\"availableEndTime\":\"17:00:00\"}]}";

static void setup(void) {
    /* Thursday 2 April 2026, 10:00 BST: Good Friday and Easter Monday follow */
    setenv("KITH_NOW", "2026-04-02T09:00:00Z", 1);
    st = temp_store_open("care", path, &c);
    cr_assert_eq(put("Organization", "la-1", "{\"resourceType\":\"Organization\",\"id\":\"la-1\",\"name\":\"Council\"}", NULL), KITH_OK);
    cr_assert_eq(put("Patient", "p1", "{\"resourceType\":\"Patient\",\"id\":\"p1\"}", NULL), KITH_OK);
    cr_assert_eq(put("HealthcareService", "hs-front-door", SERVICE, NULL), KITH_OK);
    cr_assert_eq(put("ServiceRequest", "sr1",
                     "{\"resourceType\":\"ServiceRequest\",\"id\":\"sr1\",\"status\":\"active\",\"intent\":\"order\","
                     "\"priority\":\"routine\",\"subject\":{\"reference\":\"Patient/p1\"},"
                     "\"performer\":[{\"reference\":\"HealthcareService/hs-front-door\"}]}", NULL), KITH_OK);
}

static void teardown(void) {
    temp_store_remove(st, path);
}

TestSuite(care, .init = setup, .fini = teardown);

/* Active Flags on Patient/p1 (R4 Flag has no status search parameter). */
static size_t active_flags(void) {
    char **ids;
    size_t k, active = 0;
    cr_assert_eq(care_find(c, "Flag", "patient=Patient/p1", 10, &ids, &k), KITH_OK);
    for(size_t i = 0; i < k; i++) {
        json_value *f = care_read(c, "Flag", ids[i], NULL);
        active += json_string(json_get(f, "status")) && strcmp(json_string(json_get(f, "status")), "active") == 0;
        json_free(f);
    }
    care_ids_free(ids, k);
    return active;
}

static json_value *task_now(const char *id) {
    json_value *t = care_read(c, "Task", id, NULL);
    cr_assert_not_null(t, "Task/%s is stored", id);
    return t;
}

/* Set the Task's status (and optionally a reason) from its current version. */
static kith_rc move(const char *id, const char *status, const char *reason, fhir_issues *is) {
    json_value *t = task_now(id);
    json_set(t, "status", json_new_string(status));
    if(reason) {
        json_value *r = json_new_object();
        json_set(r, "text", json_new_string(reason));
        json_set(t, "statusReason", r);
    }
    fhir_issues local = FHIR_ISSUES_INIT;
    kith_rc rc = care_write(c, "Task", id, t, 0, false, NULL, is ? is : &local);
    fhir_issues_free(&local);
    json_free(t);
    return rc;
}

static const char *TASK = "{\"resourceType\":\"Task\",\"id\":\"t1\",\"status\":\"requested\",\"intent\":\"order\","
                          "\"focus\":{\"reference\":\"ServiceRequest/sr1\"},\"for\":{\"reference\":\"Patient/p1\"}}";

Test(care, new_referral_gets_owner_and_due_date_in_working_days) {
    cr_assert_eq(put("Task", "t1", TASK, NULL), KITH_OK);
    json_value *t = task_now("t1");
    cr_assert_str_eq(care_ref_of(json_get(t, "owner")), "Organization/la-1");
    /* 5 working days from Thursday 2 April 10:00 BST over Easter: Fri 3 and Mon 6 are bank holidays */
    cr_assert_str_eq(json_string(json_get(json_get(json_get(t, "restriction"), "period"), "end")),
                     "2026-04-13T09:00:00Z");
    cr_assert(care_concept_has(json_get(t, "businessStatus"), NULL, "awaiting-response"));
    json_value *by = care_ext_get(json_get(t, "meta"), CARE_EXT "changed-by");
    cr_assert_str_eq(json_string(json_get(json_get(by, "valueReference"), "display")), "Kith");
    json_free(t);
}

Test(care, illegal_moves_name_the_allowed_ones) {
    cr_assert_eq(put("Task", "t1", TASK, NULL), KITH_OK);
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_assert_eq(move("t1", "completed", NULL, &is), KITH_ESTATE);
    cr_assert_not_null(strstr(is.v[0].diagnostics, "received accepted rejected cancelled"), "%s", is.v[0].diagnostics);
    fhir_issues_free(&is);
    cr_assert_eq(move("t1", "ready", NULL, NULL), KITH_ESTATE);
    cr_assert_eq(move("t1", "accepted", NULL, NULL), KITH_OK);
    cr_assert_eq(move("t1", "requested", NULL, NULL), KITH_ESTATE);
    cr_assert_eq(move("t1", "in-progress", NULL, NULL), KITH_OK);
    cr_assert_eq(move("t1", "completed", NULL, NULL), KITH_OK);
    cr_assert_eq(move("t1", "in-progress", NULL, NULL), KITH_ESTATE, "completed is closed");
    cr_assert_eq(move("t1", "entered-in-error", NULL, NULL), KITH_OK);
}

Test(care, a_new_task_starts_draft_or_requested) {
    char text[512];
    snprintf(text, sizeof text, "%s", TASK);
    char *s = strstr(text, "\"requested\"");
    memcpy(s, "\"completed\"", 11);
    cr_assert_eq(put("Task", "t1", text, NULL), KITH_ESTATE);
    cr_assert_null(care_read(c, "Task", "t1", NULL), "nothing stored");
}

Test(care, rejection_and_hold_need_a_reason) {
    cr_assert_eq(put("Task", "t1", TASK, NULL), KITH_OK);
    cr_assert_eq(move("t1", "rejected", NULL, NULL), KITH_EINVALID);
    cr_assert_eq(move("t1", "rejected", "Not eligible: under 18", NULL), KITH_OK);
    json_value *t = task_now("t1");
    cr_assert_not_null(care_ext_get(t, CARE_EXT "responded"), "the response is timed");
    cr_assert_str_eq(json_string(json_get(care_ext_get(t, CARE_EXT "response-due"), "valueDateTime")),
                     "2026-04-13T09:00:00Z");
    cr_assert(care_concept_has(json_get(t, "businessStatus"), NULL, "responded-in-time"));
    cr_assert_null(json_get(t, "restriction"), "no due date once answered");
    json_free(t);
}

Test(care, an_open_task_always_has_an_owner) {
    cr_assert_eq(put("Task", "t1", TASK, NULL), KITH_OK);
    json_value *t = task_now("t1");
    json_remove(t, "owner");
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_assert_eq(care_write(c, "Task", "t1", t, 0, false, NULL, &is), KITH_EINVALID);
    fhir_issues_free(&is);
    json_set(t, "owner", care_reference("Practitioner", "pr-9", NULL));
    cr_assert_eq(care_write(c, "Task", "t1", t, 0, false, NULL, &is), KITH_OK);
    fhir_issues_free(&is);
    json_free(t);
    t = task_now("t1");
    json_value *note = json_array_at(json_get(t, "note"), 0);
    cr_assert_str_eq(json_string(json_get(note, "text")), "Reassigned from Organization/la-1 to Practitioner/pr-9");
    json_free(t);
}

Test(care, a_stale_version_is_refused) {
    cr_assert_eq(put("Task", "t1", TASK, NULL), KITH_OK);
    json_value *t = task_now("t1");
    json_set(t, "status", json_new_string("accepted"));
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_assert_eq(care_write(c, "Task", "t1", t, 1, false, NULL, &is), KITH_OK);
    cr_assert_eq(care_write(c, "Task", "t1", t, 1, false, NULL, &is), KITH_ECONFLICT, "version 1 is gone");
    fhir_issues_free(&is);
    json_free(t);
}

Test(care, overdue_referrals_escalate_once) {
    cr_assert_eq(put("Task", "t1", TASK, NULL), KITH_OK);
    long n = -1;
    cr_assert_eq(care_escalate(c, care_now(), &n), KITH_OK);
    cr_assert_eq(n, 0, "not due yet");
    int64_t later;
    cr_assert(care_time("2026-04-14T09:00:00Z", &later));
    cr_assert_eq(care_escalate(c, later, &n), KITH_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(care_escalate(c, later, &n), KITH_OK);
    cr_assert_eq(n, 0, "escalated once");
    json_value *t = task_now("t1");
    cr_assert(care_concept_has(json_get(t, "businessStatus"), NULL, "overdue"));
    json_free(t);
    char **ids;
    size_t k;
    cr_assert_eq(active_flags(), 1, "a Flag on the person");
    cr_assert_eq(care_find(c, "Communication", "based-on=Task/t1&recipient=Organization/la-1", 10, &ids, &k), KITH_OK);
    cr_assert_eq(k, 1, "the team is told");
    care_ids_free(ids, k);
    /* answering the referral (late) ends the Flag */
    setenv("KITH_NOW", "2026-04-14T09:00:00Z", 1);
    cr_assert_eq(move("t1", "accepted", NULL, NULL), KITH_OK);
    cr_assert_eq(active_flags(), 0, "the Flag ended");
    t = task_now("t1");
    cr_assert(care_concept_has(json_get(t, "businessStatus"), NULL, "responded-late"));
    json_free(t);
}

Test(care, a_leavers_tasks_go_to_the_team) {
    cr_assert_eq(put("Task", "t1", TASK, NULL), KITH_OK);
    json_value *t = task_now("t1");
    json_set(t, "owner", care_reference("Practitioner", "pr-9", NULL));
    json_set(t, "status", json_new_string("accepted"));
    fhir_issues is = FHIR_ISSUES_INIT;
    cr_assert_eq(care_write(c, "Task", "t1", t, 0, false, NULL, &is), KITH_OK);
    fhir_issues_free(&is);
    json_free(t);
    long n = 0;
    cr_assert_eq(care_reassign_leaver(c, "pr-9", "la-1", &n), KITH_OK);
    cr_assert_eq(n, 1);
    t = task_now("t1");
    cr_assert_str_eq(care_ref_of(json_get(t, "owner")), "Organization/la-1");
    cr_assert_str_eq(json_string(json_get(t, "status")), "accepted", "still open, still accepted");
    json_free(t);
}

Test(care, a_discharge_on_pathway_1_refers_once) {
    const char *enc = "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"finished\",\"class\":{\"system\":"
                      "\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"IMP\"},\"subject\":{\"reference\":"
                      "\"Patient/p1\"},\"hospitalization\":{\"extension\":[{\"url\":\"https://kith.example.org/fhir/"
                      "StructureDefinition/discharge-pathway\",\"valueCoding\":{\"system\":\"https://kith.example.org/"
                      "fhir/CodeSystem/discharge-pathway\",\"code\":\"1\"}}]}}";
    cr_assert_eq(put("Encounter", "e1", enc, NULL), KITH_OK);
    cr_assert_eq(put("Encounter", "e1", enc, NULL), KITH_OK);
    char **ids;
    size_t k;
    cr_assert_eq(care_find(c, "Task", "patient=Patient/p1&status=requested", 10, &ids, &k), KITH_OK);
    cr_assert_eq(k, 1, "one follow-up referral");
    json_value *t = task_now(ids[0]);
    cr_assert_str_eq(json_string(json_get(t, "priority")), "urgent");
    /* urgent: 4 working hours from Thursday 10:00 BST = 14:00 BST */
    cr_assert_str_eq(json_string(json_get(json_get(json_get(t, "restriction"), "period"), "end")),
                     "2026-04-02T13:00:00Z");
    json_free(t);
    care_ids_free(ids, k);
}

Test(care, service_week_from_opening_hours) {
    json_value *hs = parse(SERVICE);
    workday_week w;
    care_service_week(hs, &w);
    cr_assert_eq(w.day[0].open_min, 9 * 60);
    cr_assert_eq(w.day[4].close_min, 17 * 60);
    cr_assert(w.day[5].open_min >= w.day[5].close_min, "closed on Saturday");
    cr_assert(!w.bank_holidays_open);
    int amount;
    bool hours;
    cr_assert(care_service_target(hs, "urgent", &amount, &hours));
    cr_assert_eq(amount, 4);
    cr_assert(hours);
    cr_assert(!care_service_target(hs, "stat", &amount, &hours), "no target for stat");
    json_free(hs);
    json_value *always = parse("{\"resourceType\":\"HealthcareService\",\"availableTime\":[{\"allDay\":true}]}");
    care_service_week(always, &w);
    cr_assert(w.bank_holidays_open);
    cr_assert_eq(w.day[6].close_min, 1440);
    json_free(always);
}
