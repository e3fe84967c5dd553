/* test_study.c — src/eval/study.c and study_report.c: risk-set matching by
 * stratum and unit worked by hand, outcome counting over a window, and a
 * whole study over records built here whose answer is known exactly: people
 * discussed at an MDT who stop being admitted, matched with identical people
 * who are not discussed and are admitted once more. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "eval/study.h"
#include "eval/study_report.h"
#include "pop/efi.h"

/* ---- matching within strata -------------------------------------------------- */

Test(study, strata_keep_treated_with_controls_of_their_own_stratum) {
    /* rows: 0 T(s1) 1 C(s1, unit 10) 2 T(s2) 3 C(s2, unit 11) 4 C(s1, unit 12, nearer to row 2 but in s1) */
    double logit[] = {0.0, 0.1, 1.0, 1.3, 1.0};
    bool treated[] = {true, false, true, false, false};
    int32_t stratum[] = {1, 1, 2, 2, 1};
    uint32_t unit[] = {0, 10, 2, 11, 12};
    eval_match m;
    cr_assert_eq(eval_match_strata(logit, treated, stratum, unit, 5, 10, false, &m), KITH_OK);
    cr_assert_eq(m.n_matched, 2);
    cr_assert_eq(m.treated[0], 0);
    cr_assert_eq(m.control[0], 1);
    cr_assert_eq(m.treated[1], 2);
    cr_assert_eq(m.control[1], 3, "row 4 is nearer but in another month");
    eval_match_free(&m);
}

Test(study, a_person_is_a_control_once_unless_with_replacement) {
    /* person 7 has a row in both strata; the second treated person may not have them again */
    double logit[] = {0.0, 0.0, 0.5, 0.5, 0.9};
    bool treated[] = {true, false, true, false, false};
    int32_t stratum[] = {1, 1, 2, 2, 2};
    uint32_t unit[] = {0, 7, 2, 7, 8};
    eval_match m;
    cr_assert_eq(eval_match_strata(logit, treated, stratum, unit, 5, 10, false, &m), KITH_OK);
    cr_assert_eq(m.n_matched, 2);
    cr_assert_eq(m.control[1], 4, "person 7 was used in the first month");
    eval_match_free(&m);
    /* with replacement two treated rows of one stratum may share the nearest control */
    double l2[] = {0.0, 0.05, 0.0, 2.0};
    bool t2[] = {true, true, false, false};
    int32_t s2[] = {1, 1, 1, 1};
    uint32_t u2[] = {0, 1, 2, 3};
    cr_assert_eq(eval_match_strata(l2, t2, s2, u2, 4, 10, true, &m), KITH_OK);
    cr_assert_eq(m.n_matched, 2);
    cr_assert_eq(m.control[0], 2);
    cr_assert_eq(m.control[1], 2);
    eval_match_free(&m);
    cr_assert_eq(eval_match_strata(l2, t2, s2, u2, 4, 10, false, &m), KITH_OK);
    cr_assert_eq(m.control[1], 3);
    eval_match_free(&m);
}

/* ---- a study over hand-built records -------------------------------------------- */

static void add(pop_extract *x, const char *type, const char *json) {
    pop_extract_add(x, type, NULL, json, strlen(json));
}

static void patient(pop_extract *x, const char *id, const char *birth) {
    char b[512];
    snprintf(b, sizeof b,
             "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"birthDate\":\"%s\",\"gender\":\"female\",\"address\":[{"
             "\"extension\":[{\"url\":\"https://kith.example.org/fhir/StructureDefinition/imd-decile\","
             "\"valueInteger\":4}]}]}",
             id, birth);
    add(x, "Patient", b);
}

static void admission(pop_extract *x, const char *id, const char *pid, const char *from, const char *to) {
    char b[1024];
    snprintf(b, sizeof b,
             "{\"resourceType\":\"Encounter\",\"id\":\"%s\",\"status\":\"finished\",\"class\":{\"code\":\"IMP\"},"
             "\"type\":[{\"coding\":[{\"system\":\"https://kith.example.org/fhir/CodeSystem/encounter-type\","
             "\"code\":\"emergency-admission\"}]}],\"subject\":{\"reference\":\"Patient/%s\"},"
             "\"period\":{\"start\":\"%sT10:00:00Z\",\"end\":\"%sT12:00:00Z\"}}",
             id, pid, from, to);
    add(x, "Encounter", b);
}

static void mdt(pop_extract *x, const char *id, const char *pid, const char *day) {
    char b[1024];
    snprintf(b, sizeof b,
             "{\"resourceType\":\"Encounter\",\"id\":\"%s\",\"status\":\"finished\",\"class\":{\"code\":\"VR\"},"
             "\"type\":[{\"coding\":[{\"system\":\"https://kith.example.org/fhir/CodeSystem/encounter-type\","
             "\"code\":\"mdt-discussion\"}]}],\"subject\":{\"reference\":\"Patient/%s\"},"
             "\"period\":{\"start\":\"%sT10:00:00Z\",\"end\":\"%sT10:30:00Z\"}}",
             id, pid, day, day);
    add(x, "Encounter", b);
}

static int32_t day_of(const char *s) {
    int32_t d;
    cr_assert(pop_day(s, &d));
    return d;
}

/* `treated` people discussed on 2024-06-10 and as many not, all born
 * 1940-03-01, female, decile 4, each admitted 2024-01-10 to 01-15; the
 * controls once more 2024-09-01 to 09-04. Also one person discussed too late
 * for a whole year after, and young people no one compares with. */
static pop_extract *records(int treated, efi_codes **codes) {
    *codes = efi_codes_builtin();
    pop_extract *x = pop_extract_new(*codes, NULL, POP_WANT_EFI | POP_WANT_EVENTS);
    char pid[32], eid[32];
    for(int i = 0; i < 2 * treated; i++) {
        snprintf(pid, sizeof pid, "p%d", i);
        patient(x, pid, "1940-03-01");
        snprintf(eid, sizeof eid, "a%d", i);
        admission(x, eid, pid, "2024-01-10", "2024-01-15");
        snprintf(eid, sizeof eid, "b%d", i);
        if(i < treated) mdt(x, eid, pid, "2024-06-10");
        else admission(x, eid, pid, "2024-09-01", "2024-09-04");
    }
    patient(x, "late", "1935-01-01");
    mdt(x, "m-late", "late", "2025-06-01");
    for(int i = 0; i < 5; i++) {
        snprintf(pid, sizeof pid, "young%d", i);
        patient(x, pid, "1990-01-01");
    }
    pop_extract_finish(x);
    return x;
}

static study_opts options(void) {
    study_opts o = {.intervention = POP_MDT_DISCUSSION, .start = day_of("2023-01-01"), .end = day_of("2026-01-01"),
                    .min_age = -1, .boot = {.b = 200, .seed = 3}};
    return o;
}

/* records(treated) and the study over them, which must run. */
static pop_extract *study_of(int treated, efi_codes **codes, study_result *r) {
    pop_extract *x = records(treated, codes);
    study_opts o = options();
    char err[256];
    cr_assert_eq(study_run(x, &o, r, err, sizeof err), KITH_OK, "%s", err);
    return x;
}

static void study_done(pop_extract *x, efi_codes *codes, study_result *r) {
    study_free(r);
    pop_extract_free(x);
    efi_codes_free(codes);
}

Test(study, outcomes_count_admissions_begun_and_bed_days_inside_the_window) {
    efi_codes *codes;
    pop_extract *x = records(1, &codes);
    const pop_person *p = &x->people[pop_find(x, "p1")];
    double adm, bed;
    study_outcomes(x, p, day_of("2024-01-01"), day_of("2025-01-01"), &adm, &bed);
    cr_assert_eq(adm, 2);
    cr_assert_eq(bed, 5 + 3);
    study_outcomes(x, p, day_of("2024-01-12"), day_of("2024-09-02"), &adm, &bed);
    cr_assert_eq(adm, 1, "only the one that began inside");
    cr_assert_eq(bed, 3 + 1, "the days of both stays inside the window");
    pop_extract_free(x);
    efi_codes_free(codes);
}

Test(study, identical_people_give_the_exact_difference) {
    efi_codes *codes;
    study_result r;
    pop_extract *x = study_of(10, &codes, &r);
    cr_assert_eq(r.reached, 11);
    cr_assert_eq(r.outside, 1, "discussed 2025-06-01: no whole year after before 2026-01-01");
    cr_assert_eq(r.treated, 10);
    cr_assert_eq(r.min_age, 84);
    cr_assert_eq(r.control_people, 10, "the young are too young to compare with");
    cr_assert_eq(r.match.n_matched, 10);
    const eval_did *a = &r.did[STUDY_ADMISSIONS], *b = &r.did[STUDY_BED_DAYS_OUT];
    cr_assert_float_eq(a->before_treated, 1, 1e-12);
    cr_assert_float_eq(a->after_treated, 0, 1e-12);
    cr_assert_float_eq(a->after_control, 1, 1e-12);
    cr_assert_float_eq(a->effect.value, -1, 1e-12);
    cr_assert_float_eq(a->effect.lo, -1, 1e-12);
    cr_assert_float_eq(a->effect.hi, -1, 1e-12);
    cr_assert_float_eq(a->relative.value, -1, 1e-12, "no admissions against one expected");
    cr_assert_float_eq(b->effect.value, -3, 1e-12);
    for(int k = 0; k < STUDY_COVARIATES; k++) cr_assert_float_eq(r.after[k].smd, 0, 1e-12, "%s", study_covariate_key[k]);
    cr_assert_float_eq(r.after[STUDY_PRIOR].mean_treated, 1, 1e-12);
    cr_assert_float_eq(r.after[STUDY_BED_DAYS].mean_treated, log1p(5), 1e-12);
    /* the event study: quarters; the control's admission falls in the first quarter after */
    cr_assert_eq(r.events.k_pre, 4);
    cr_assert_float_eq(r.events.periods[4].diff.value, -1, 1e-12);
    cr_assert_float_eq(r.events.periods[5].diff.value, 0, 1e-12);
    cr_assert(r.events.pretrend_ok);

    buf b1;
    buf_init(&b1, 0);
    study_labels l = {.service = "an MDT", .reached = "discussed"};
    study_summary(&b1, &r, &l);
    cr_assert_not_null(strstr(b1.data, "10 of the 10 (100.0%) were matched"), "%s", b1.data);
    cr_assert_not_null(strstr(b1.data, "The interval excludes no change: admissions fell"), "%s", b1.data);
    buf_reset(&b1);
    study_json(&b1, &r);
    cr_assert_not_null(strstr(b1.data, "\"reported\":true"));
    cr_assert_not_null(strstr(b1.data, "\"outcome\":\"emergency-admissions\",\"pairs\":10"), "%s", b1.data);
    buf_reset(&b1);
    study_events_svg(&b1, &r);
    cr_assert(b1.len > 0 && strncmp(b1.data, "<svg", 4) == 0);
    buf_free(&b1);
    study_done(x, codes, &r);
}

Test(study, a_seed_gives_the_same_intervals) {
    efi_codes *codes;
    study_result r1, r2;
    pop_extract *x = study_of(12, &codes, &r1);
    study_opts o = options();
    char err[256];
    cr_assert_eq(study_run(x, &o, &r2, err, sizeof err), KITH_OK);
    cr_assert_eq(memcmp(&r1.did, &r2.did, sizeof r1.did), 0);
    study_free(&r2);
    study_done(x, codes, &r1);
}

Test(study, small_numbers_give_counts_only) {
    efi_codes *codes;
    study_result r;
    pop_extract *x = study_of(5, &codes, &r);
    cr_assert_eq(r.match.n_matched, 5);
    buf b;
    buf_init(&b, 0);
    study_labels l = {.service = "an MDT", .reached = "discussed"};
    study_summary(&b, &r, &l);
    cr_assert_not_null(strstr(b.data, "Fewer than 8 people could be matched"), "%s", b.data);
    cr_assert_null(strstr(b.data, "What changed"));
    buf_reset(&b);
    study_json(&b, &r);
    cr_assert_not_null(strstr(b.data, "\"reported\":false"));
    cr_assert_null(strstr(b.data, "outcomes"));
    buf_reset(&b);
    study_effects_csv(&b, &r);
    cr_assert_null(strchr(strchr(b.data, '\n') + 1, '\n'), "the header only");
    buf_free(&b);
    study_done(x, codes, &r);
}

Test(study, nobody_reached_or_a_bad_window_is_refused) {
    efi_codes *codes = efi_codes_builtin();
    pop_extract *x = pop_extract_new(codes, NULL, POP_WANT_EFI | POP_WANT_EVENTS);
    patient(x, "p", "1940-01-01");
    admission(x, "a", "p", "2024-01-10", "2024-01-15");
    pop_extract_finish(x);
    study_opts o = options();
    study_result r;
    char err[256];
    cr_assert_eq(study_run(x, &o, &r, err, sizeof err), KITH_ENOTFOUND);
    cr_assert_not_null(strstr(err, "nobody in the records was reached"), "%s", err);
    study_free(&r);
    o.window = 10;
    cr_assert_eq(study_run(x, &o, &r, err, sizeof err), KITH_EINVAL);
    study_free(&r);
    pop_extract_free(x);
    efi_codes_free(codes);
}

/* Ten people aged 84 discussed on 2024-06-10 and twenty never discussed aged
 * 80 to 99, all admitted for 5 days in January; the comparators once more in
 * September, for (age - 80) days. The comparators' change in bed days is
 * age - 85, so whoever is matched, the bias-corrected difference for a
 * person aged 84 is 0 - 5 - (84 - 85) = -4 exactly. */
Test(study, remaining_differences_are_corrected_by_regression) {
    efi_codes *codes = efi_codes_builtin();
    pop_extract *x = pop_extract_new(codes, NULL, POP_WANT_EFI | POP_WANT_EVENTS);
    char pid[32], eid[32], birth[16], to[16];
    for(int i = 0; i < 30; i++) {
        int age = i < 10 ? 84 : 70 + i; /* 80..99 */
        snprintf(pid, sizeof pid, "p%d", i);
        snprintf(birth, sizeof birth, "%d-03-01", 2024 - age);
        patient(x, pid, birth);
        snprintf(eid, sizeof eid, "a%d", i);
        admission(x, eid, pid, "2024-01-10", "2024-01-15");
        snprintf(eid, sizeof eid, "b%d", i);
        if(i < 10) {
            mdt(x, eid, pid, "2024-06-10");
        } else {
            snprintf(to, sizeof to, "2024-09-%02d", 1 + age - 80);
            admission(x, eid, pid, "2024-09-01", to);
        }
    }
    pop_extract_finish(x);
    study_opts o = options();
    o.min_age = 0;
    o.caliper_sd = 10;
    study_result r;
    char err[256];
    cr_assert_eq(study_run(x, &o, &r, err, sizeof err), KITH_OK, "%s", err);
    cr_assert_eq(r.match.n_matched, 10);
    const eval_did *b = &r.did[STUDY_BED_DAYS_OUT];
    cr_assert_float_eq(b->effect.value, -4, 1e-6, "%g", b->effect.value);
    double raw = (b->after_treated - b->before_treated) - (b->after_control - b->before_control);
    cr_assert(fabs(raw - -4) > 0.05, "the matched comparators are not all 85: uncorrected %g", raw);
    study_done(x, codes, &r);
}
