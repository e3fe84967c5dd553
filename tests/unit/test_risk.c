/* test_risk.c — src/pop/glm.c and risk.c: IRLS recovers known coefficients
 * from data simulated here (logistic, and complementary log-log with an
 * exposure offset), the ridge penalty shrinks, AUC, Brier score and
 * calibration on cases worked by hand, the features of a person read from
 * FHIR records, and the model's round trip through a Library. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "pop/glm.h"
#include "pop/risk.h"

/* A small deterministic generator (splitmix64), so the data are the same every run. */
static uint64_t state;
static double uniform(void) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((z >> 11) + 0.5) / 9007199254740992.0;
}
static double normal(void) {
    return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform());
}

/* n rows: intercept, a normal covariate, a 0/1 covariate; outcome from link with beta. */
static void simulate(size_t n, glm_link link, const double beta[3], double *x, double *y, double *offset) {
    for(size_t i = 0; i < n; i++) {
        double *r = x + i * 3;
        r[0] = 1;
        r[1] = normal();
        r[2] = uniform() < 0.3;
        double off = offset ? log(0.2 + uniform()) : 0; /* exposure 0.2 to 1.2 years */
        if(offset) offset[i] = off;
        double eta = off + beta[0] + beta[1] * r[1] + beta[2] * r[2];
        y[i] = uniform() < glm_probability(link, eta);
    }
}

/* Simulate n rows from link with beta (with exposure offsets when offsets),
 * fit them, and check every estimate is within 4 standard errors of the
 * truth. Returns the fit (caller frees); the data are freed. */
static glm_fit recovers(uint64_t seed, size_t n, glm_link link, const double beta[3], bool offsets) {
    state = seed;
    double *x = malloc(n * 3 * sizeof *x), *y = malloc(n * sizeof *y), *off = offsets ? malloc(n * sizeof *off) : NULL;
    simulate(n, link, beta, x, y, off);
    glm_data d = {.n = n, .p = 3, .x = x, .y = y, .offset = off};
    glm_fit f;
    cr_assert_eq(glm_fit_run(&d, link, 0, NULL, 0, &f), KITH_OK);
    cr_assert(f.converged);
    for(int j = 0; j < 3; j++)
        cr_assert_lt(fabs(f.beta[j] - beta[j]), 4 * f.se[j], "b%d = %f (se %f), truth %f", j, f.beta[j], f.se[j], beta[j]);
    free(x);
    free(y);
    free(off);
    return f;
}

Test(risk, irls_recovers_logistic_coefficients) {
    double beta[3] = {-1.5, 0.8, -0.6};
    glm_fit f = recovers(1, 200000, GLM_LOGIT, beta, false);
    for(int j = 0; j < 3; j++) cr_assert_lt(f.se[j], 0.03);
    glm_fit_free(&f);
}

Test(risk, irls_recovers_log_hazard_ratios_with_cloglog_and_an_offset) {
    double beta[3] = {-2.0, 0.5, 1.0};
    glm_fit f = recovers(2, 200000, GLM_CLOGLOG, beta, true);
    glm_fit_free(&f);
}

Test(risk, the_penalty_shrinks_and_keeps_a_constant_column_defined) {
    state = 3;
    size_t n = 2000;
    double beta[3] = {-1, 1, 0.5};
    double *x = malloc(n * 3 * sizeof *x), *y = malloc(n * sizeof *y);
    simulate(n, GLM_LOGIT, beta, x, y, NULL);
    glm_data d = {.n = n, .p = 3, .x = x, .y = y};
    glm_fit a, b, c;
    cr_assert_eq(glm_fit_run(&d, GLM_LOGIT, 0, NULL, 0, &a), KITH_OK);
    cr_assert_eq(glm_fit_run(&d, GLM_LOGIT, 500, NULL, 0, &b), KITH_OK);
    cr_assert_lt(fabs(b.beta[1]), fabs(a.beta[1]), "a strong penalty pulls towards 0");
    cr_assert_lt(fabs(b.beta[2]), fabs(a.beta[2]));
    /* a column that is always 0: singular without the penalty, 0 with it */
    for(size_t i = 0; i < n; i++) x[i * 3 + 2] = 0;
    cr_assert_eq(glm_fit_run(&d, GLM_LOGIT, 0, NULL, 0, &c), KITH_EINVAL);
    cr_assert_eq(glm_fit_run(&d, GLM_LOGIT, 0.1, NULL, 0, &c), KITH_OK);
    cr_assert_float_eq(c.beta[2], 0, 1e-9);
    cr_assert_float_eq(c.se[2], 1 / sqrt(0.1), 1e-6, "the penalty alone: 1 / sqrt(lambda)");
    glm_fit_free(&a);
    glm_fit_free(&b);
    glm_fit_free(&c);
    free(x);
    free(y);
}

Test(risk, auc_and_brier_on_cases_worked_by_hand) {
    double y[] = {0, 0, 1, 1};
    double perfect[] = {0.1, 0.2, 0.8, 0.9}, reversed[] = {0.9, 0.8, 0.2, 0.1}, flat[] = {0.5, 0.5, 0.5, 0.5};
    double mixed[] = {0.1, 0.4, 0.35, 0.8};
    cr_assert_float_eq(glm_auc(perfect, y, 4), 1.0, 1e-12);
    cr_assert_float_eq(glm_auc(reversed, y, 4), 0.0, 1e-12);
    cr_assert_float_eq(glm_auc(flat, y, 4), 0.5, 1e-12, "ties count half");
    cr_assert_float_eq(glm_auc(mixed, y, 4), 0.75, 1e-12, "3 of 4 pairs in order");
    double one[] = {1, 1};
    cr_assert(isnan(glm_auc(flat, one, 2)), "no negatives: undefined");
    cr_assert_float_eq(glm_brier(perfect, y, 4), (0.01 + 0.04 + 0.04 + 0.01) / 4, 1e-12);
    cr_assert_float_eq(glm_brier(flat, y, 4), 0.25, 1e-12);
}

Test(risk, calibration_groups_by_predicted_risk) {
    double p[10], y[10];
    for(int i = 0; i < 10; i++) {
        p[i] = (9 - i) / 10.0; /* given in reverse */
        y[i] = i < 3;          /* the three highest risks had the outcome */
    }
    glm_calibration_row rows[2];
    glm_calibration(p, y, 10, 2, rows);
    cr_assert_eq(rows[0].n, 5);
    cr_assert_float_eq(rows[0].predicted, 0.2, 1e-12);
    cr_assert_float_eq(rows[0].observed, 0.0, 1e-12);
    cr_assert_float_eq(rows[1].predicted, 0.7, 1e-12);
    cr_assert_float_eq(rows[1].observed, 0.6, 1e-12);
    cr_assert_float_eq(rows[1].lo, 0.5, 1e-12);
    cr_assert_float_eq(rows[1].hi, 0.9, 1e-12);
}

/* From test_efi.c. */
void efi_test_add(pop_extract *x, const char *type, const char *json);
pop_extract *efi_test_extract(unsigned want, efi_codes **codes, const char *patient);
int32_t efi_test_day(const char *s);
static void encounter(pop_extract *x, const char *id, const char *cls, const char *type, const char *start,
                      const char *end, const char *disposition) {
    char b[1200];
    snprintf(b, sizeof b,
             "{\"resourceType\":\"Encounter\",\"id\":\"%s\",\"status\":\"finished\",\"class\":{\"code\":\"%s\"},"
             "\"type\":[{\"coding\":[{\"code\":\"%s\"}]}],\"subject\":{\"reference\":\"Patient/r1\"},"
             "\"period\":{\"start\":\"%s\",\"end\":\"%s\"},\"hospitalization\":{\"dischargeDisposition\":{\"coding\":[{"
             "\"code\":\"%s\"}]}}}",
             id, cls, type, start, end, disposition);
    efi_test_add(x, "Encounter", b);
}

Test(risk, features_are_read_from_the_record_on_the_day) {
    efi_codes *codes;
    pop_extract *x = efi_test_extract(POP_WANT_EFI | POP_WANT_EVENTS, &codes,
                                      "{\"resourceType\":\"Patient\",\"id\":\"r1\",\"birthDate\":\"1945-05-01\",\"gender\":\"female\","
                      "\"address\":[{\"extension\":[{\"url\":\"https://kith.example.org/fhir/StructureDefinition/"
                      "imd-decile\",\"valueInteger\":1}]}]}");
    efi_test_add(x, "Condition", "{\"resourceType\":\"Condition\",\"id\":\"c1\",\"code\":{\"coding\":[{\"system\":"
                        "\"http://snomed.info/sct\",\"code\":\"84114007\"}]},\"subject\":{\"reference\":\"Patient/r1\"},"
                        "\"onsetDateTime\":\"2020-01-01\"}"); /* heart failure: a long-term condition */
    efi_test_add(x, "Condition", "{\"resourceType\":\"Condition\",\"id\":\"c2\",\"code\":{\"coding\":[{\"system\":"
                        "\"http://snomed.info/sct\",\"code\":\"161898004\"}]},\"subject\":{\"reference\":\"Patient/r1\"},"
                        "\"onsetDateTime\":\"2020-01-01\"}"); /* falls: a deficit, not a long-term condition */
    /* four emergency admissions in the year (one ending in death would not happen to a living person) */
    encounter(x, "e1", "IMP", "emergency-admission", "2024-02-01", "2024-02-05", "19");
    encounter(x, "e2", "IMP", "emergency-admission", "2024-06-01", "2024-06-03", "19");
    encounter(x, "e3", "IMP", "emergency-admission", "2024-09-01", "2024-09-02", "19");
    encounter(x, "e4", "IMP", "emergency-admission", "2024-12-20", "2024-12-24", "19");
    encounter(x, "e5", "IMP", "elective-admission", "2024-12-01", "2024-12-01", "19");
    encounter(x, "a1", "EMER", "ae-attendance", "2024-06-01", "2024-06-01", "");
    encounter(x, "m1", "VR", "mdt-discussion", "2024-10-01", "2024-10-01", "");
    encounter(x, "g1", "AMB", "gp-appointment", "2024-10-01", "2024-10-01", ""); /* not even parsed */
    encounter(x, "e6", "IMP", "emergency-admission", "2025-03-01", "2025-03-04", "19"); /* after the day */
    efi_test_add(x, "EpisodeOfCare", "{\"resourceType\":\"EpisodeOfCare\",\"id\":\"s1\",\"meta\":{\"tag\":[{\"system\":"
                            "\"https://kith.example.org/fhir/CodeSystem/record-source\",\"code\":\"cld\"}]},"
                            "\"status\":\"active\",\"patient\":{\"reference\":\"Patient/r1\"},\"period\":{\"start\":"
                            "\"2024-11-01\"}}");
    pop_extract_finish(x);
    const pop_person *p = &x->people[pop_find(x, "r1")];
    double f[RISK_FEATURES];
    int32_t d = efi_test_day("2025-01-10");
    cr_assert(risk_eligible(p, d));
    risk_features(x, p, d, f);
    cr_assert_eq(f[RISK_AGE_75_84], 1, "79 on the day");
    cr_assert_eq(f[RISK_AGE_65_74], 0);
    cr_assert_eq(f[RISK_FEMALE], 1);
    cr_assert_float_eq(f[RISK_DEPRIVATION], 1.0, 1e-12, "the most deprived decile");
    cr_assert_float_eq(f[RISK_EFI], 2 / 36.0, 1e-12);
    cr_assert_eq(f[RISK_LTC], 1);
    cr_assert_eq(f[RISK_PRIOR], 3, "four in the year, counted up to three");
    cr_assert_eq(f[RISK_RECENT], 1, "discharged 17 days before");
    cr_assert_eq(f[RISK_AE], 1);
    cr_assert_eq(f[RISK_SOCIAL_CARE], 1);
    cr_assert_eq(f[RISK_MDT], 1);
    cr_assert(risk_outcome(x, p, d), "admitted on 2025-03-01");
    cr_assert(!risk_outcome(x, p, efi_test_day("2025-03-02")));
    risk_features(x, p, efi_test_day("2025-02-01"), f);
    cr_assert_eq(f[RISK_RECENT], 0, "39 days after the discharge");
    cr_assert_eq(f[RISK_PRIOR], 3);
    pop_extract_free(x);
    efi_codes_free(codes);
}

Test(risk, the_split_is_fixed_and_about_seventy_thirty) {
    int held = 0;
    for(int i = 1; i <= 10000; i++) {
        char id[24];
        snprintf(id, sizeof id, "pat-%d", i);
        held += risk_held_out(id);
        cr_assert_eq(risk_held_out(id), risk_held_out(id));
    }
    cr_assert(held > 2800 && held < 3200, "%d held out", held);
}

Test(risk, the_model_round_trips_through_a_library) {
    risk_model m = {.lambda = 0.1, .auc = 0.71, .brier = 0.08, .n_fit = 700, .n_test = 300,
                    .thresholds = {0.1, 0.2, 0.4}};
    cr_assert(pop_day("2025-03-31", &m.day));
    for(int k = 0; k < RISK_COEFS; k++) {
        m.beta[k] = k == 1 ? 0 : 0.1 * k - 3;
        m.se[k] = 0.01 * k;
    }
    size_t len;
    char *text = risk_model_library(&m, "2025-04-01T10:00:00Z", &len);
    json_value *lib = NULL;
    cr_assert_eq(json_parse(text, len, &lib, NULL, 0), KITH_OK, "%s", text);
    risk_model back;
    cr_assert_eq(risk_model_from_library(lib, &back), KITH_OK);
    cr_assert_eq(back.day, m.day);
    for(int k = 0; k < RISK_COEFS; k++) cr_assert_float_eq(back.beta[k], m.beta[k], 1e-6, "coefficient %d", k);
    double f[RISK_FEATURES] = {0};
    f[RISK_AGE_85] = 1;
    f[RISK_EFI] = 0.5;
    cr_assert_float_eq(risk_probability(&back, f), risk_probability(&m, f), 1e-9);
    cr_assert_str_eq(risk_level(&m, 0.05), "low");
    cr_assert_str_eq(risk_level(&m, 0.10), "moderate");
    cr_assert_str_eq(risk_level(&m, 0.39), "high");
    cr_assert_str_eq(risk_level(&m, 0.40), "very-high");
    json_remove(lib, "extension");
    cr_assert_eq(risk_model_from_library(lib, &back), KITH_EINVAL);
    json_free(lib);
    free(text);
}
