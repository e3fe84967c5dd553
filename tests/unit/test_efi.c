/* test_efi.c — src/pop/efi.c, efi_codes.c, extract.c and frailty.c: the eFI's
 * categories at their boundaries, the polypharmacy rule, code lists (the
 * shipped one and published sets read from files, bad lines reported as
 * file:line), and scoring people from FHIR records on a day. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json/json.h"
#include "pop/efi.h"
#include "pop/frailty.h"
#include "pop/pop.h"

Test(efi, categories_at_the_boundaries) {
    cr_assert_eq(efi_category_of_score(0.0), EFI_FIT);
    cr_assert_eq(efi_category_of_score(0.12), EFI_FIT, "0.12 is still fit");
    cr_assert_eq(efi_category_of_score(0.1201), EFI_MILD);
    cr_assert_eq(efi_category_of_score(0.24), EFI_MILD);
    cr_assert_eq(efi_category_of_score(0.2401), EFI_MODERATE);
    cr_assert_eq(efi_category_of_score(0.36), EFI_MODERATE);
    cr_assert_eq(efi_category_of_score(0.3601), EFI_SEVERE);
    /* in deficits: 0-4 fit, 5-8 mild, 9-12 moderate, 13 and over severe (13/36 = 0.3611) */
    int want[37];
    for(int k = 0; k <= 36; k++) want[k] = k <= 4 ? EFI_FIT : k <= 8 ? EFI_MILD : k <= 12 ? EFI_MODERATE : EFI_SEVERE;
    for(int k = 0; k <= 36; k++) cr_assert_eq(efi_category_of_count(k), want[k], "%d deficits", k);
    cr_assert_str_eq(efi_category_code(EFI_SEVERE), "severe");
    cr_assert_eq(efi_category_parse("moderate"), EFI_MODERATE);
    cr_assert_eq(efi_category_parse("frail"), -1);
}

Test(efi, score_text_is_a_short_decimal) {
    char t[16];
    efi_score_text(9, t);
    cr_assert_str_eq(t, "0.25");
    efi_score_text(13, t);
    cr_assert_str_eq(t, "0.3611");
    efi_score_text(0, t);
    cr_assert_str_eq(t, "0");
    efi_score_text(36, t);
    cr_assert_str_eq(t, "1");
}

Test(efi, polypharmacy_is_five_or_more_different_drugs) {
    cr_assert_eq(efi_with_polypharmacy(0, 4), 0);
    cr_assert_eq(efi_with_polypharmacy(0, 5), 1ull << EFI_POLYPHARMACY);
    cr_assert_eq(efi_count(efi_with_polypharmacy(3, 9)), 3);
    cr_assert_eq(EFI_DEFICITS, 36);
    cr_assert_str_eq(efi_deficit_key[EFI_POLYPHARMACY], "polypharmacy");
}

Test(efi, the_shipped_list_covers_every_coded_deficit_with_valid_concepts) {
    efi_codes *c = efi_codes_builtin();
    for(int d = 0; d < EFI_POLYPHARMACY; d++) cr_assert_gt(efi_codes_count(c, d), 0, "%s", efi_deficit_key[d]);
    cr_assert_eq(efi_codes_count(c, EFI_POLYPHARMACY), 0);
    const char *def, *code, *display;
    size_t n = efi_builtin_entry(0, &def, &code, &display);
    for(size_t i = 0; i < n; i++) {
        efi_builtin_entry(i, &def, &code, &display);
        cr_assert_geq(efi_deficit_index(def), 0, "%s is a deficit", def);
        uint64_t id = efi_sctid(code, strlen(code));
        cr_assert_neq(id, 0, "%s is a concept id", code);
        cr_assert(efi_codes_lookup(c, id) & (1ull << efi_deficit_index(def)));
    }
    /* the concepts the synthetic place codes each deficit with, and asthma */
    cr_assert_eq(efi_codes_lookup(c, 84114007), 1ull << efi_deficit_index("heart-failure"));
    cr_assert_eq(efi_codes_lookup(c, 195967001), 1ull << efi_deficit_index("respiratory-disease"));
    cr_assert_eq(efi_codes_lookup(c, 19429009), 1ull << efi_deficit_index("skin-ulcer"), "one deficit, not diabetes too");
    cr_assert_eq(efi_codes_lookup(c, 443165006),
                 (1ull << efi_deficit_index("fragility-fracture")) | (1ull << efi_deficit_index("osteoporosis")),
                 "an osteoporotic fracture is both");
    cr_assert_eq(efi_codes_lookup(c, 12345678), 0);
    efi_codes_free(c);
}

Test(efi, concept_ids_are_six_to_eighteen_digits) {
    cr_assert_eq(efi_sctid("84114007", 8), 84114007ull);
    cr_assert_eq(efi_sctid("248171000000108", 15), 248171000000108ull);
    cr_assert_eq(efi_sctid("12345", 5), 0);
    cr_assert_eq(efi_sctid("0123456", 7), 0, "no leading zero");
    cr_assert_eq(efi_sctid("84114OO7", 8), 0);
    cr_assert_eq(efi_sctid("1234567890123456789", 19), 0);
}

/* Write file dir/efi-<key>.snomed.tsv with text. */
static void put(const char *dir, const char *key, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/efi-%s.snomed.tsv", dir, key);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_sets(char dir[64]) {
    snprintf(dir, 64, "/tmp/kith-efi-codes-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    for(int d = 0; d < EFI_POLYPHARMACY; d++) {
        char line[64];
        snprintf(line, sizeof line, "%d\tconcept %d\r\n", 100000 + d, d); /* CRLF is fine */
        put(dir, efi_deficit_key[d], line);
    }
}

static void remove_sets(const char *dir) {
    for(int d = 0; d < EFI_POLYPHARMACY; d++) {
        char path[512];
        snprintf(path, sizeof path, "%s/efi-%s.snomed.tsv", dir, efi_deficit_key[d]);
        unlink(path);
    }
    rmdir(dir);
}

Test(efi, published_sets_load_from_a_directory) {
    char dir[64];
    make_sets(dir);
    put(dir, "diabetes", "code\tdescription\n44054006\tDiabetes mellitus type 2 (disorder)\n\n19429009\tChronic ulcer of skin\n");
    put(dir, "skin-ulcer", "19429009\tChronic ulcer of skin (disorder)"); /* no newline at the end */
    efi_codes *c = NULL;
    buf errors = BUF_INIT;
    long nbad = -1;
    cr_assert_eq(efi_codes_load_dir(dir, &c, &errors, &nbad), KITH_OK, "%s", buf_str(&errors));
    cr_assert_eq(nbad, 0);
    cr_assert_eq(efi_codes_lookup(c, 19429009),
                 (1ull << efi_deficit_index("diabetes")) | (1ull << efi_deficit_index("skin-ulcer")),
                 "a concept on two lists gives both deficits");
    cr_assert_eq(efi_codes_count(c, efi_deficit_index("diabetes")), 2);
    cr_assert_eq(efi_codes_lookup(c, 100000), 1ull);
    efi_codes_free(c);
    buf_free(&errors);
    remove_sets(dir);
}

Test(efi, bad_lines_are_reported_as_file_and_line_and_nothing_is_used) {
    char dir[64];
    make_sets(dir);
    put(dir, "anaemia", "271737000\tAnemia\n87522002\n\tno code\n12ab34\tnot a code\n");
    char missing[512];
    snprintf(missing, sizeof missing, "%s/efi-falls.snomed.tsv", dir);
    unlink(missing);
    put(dir, "dyspnoea", "\n\n");
    efi_codes *c = (efi_codes *)1;
    buf errors = BUF_INIT;
    long nbad = 0;
    cr_assert_eq(efi_codes_load_dir(dir, &c, &errors, &nbad), KITH_EINVAL);
    cr_assert_null(c);
    cr_assert_eq(nbad, 4, "%s", buf_str(&errors));
    char want[600];
    snprintf(want, sizeof want, "%s/efi-anaemia.snomed.tsv:3: '' is not a SNOMED CT concept id", dir);
    cr_assert_not_null(strstr(buf_str(&errors), want), "%s", buf_str(&errors));
    snprintf(want, sizeof want, "%s/efi-anaemia.snomed.tsv:4: '12ab34' is not", dir);
    cr_assert_not_null(strstr(buf_str(&errors), want), "%s", buf_str(&errors));
    snprintf(want, sizeof want, "%s: cannot read", missing);
    cr_assert_not_null(strstr(buf_str(&errors), want), "%s", buf_str(&errors));
    cr_assert_not_null(strstr(buf_str(&errors), "efi-dyspnoea.snomed.tsv: no codes"));
    buf_free(&errors);
    put(dir, "falls", "161898004\tFalls\n");
    remove_sets(dir);
}

/* ---- scoring people from their records ---------------------------------------- */

/* Add a resource given as JSON text (shared with test_risk.c). */
void efi_test_add(pop_extract *x, const char *type, const char *json);
void efi_test_add(pop_extract *x, const char *type, const char *json) {
    pop_extract_add(x, type, NULL, json, strlen(json));
}

static void condition(pop_extract *x, const char *id, const char *pid, const char *code, const char *onset,
                      const char *extra) {
    char b[1024];
    snprintf(b, sizeof b,
             "{\"resourceType\":\"Condition\",\"id\":\"%s\",\"code\":{\"coding\":[{\"system\":\"http://snomed.info/sct\","
             "\"code\":\"%s\"}]},\"subject\":{\"reference\":\"Patient/%s\"},\"onsetDateTime\":\"%s\"%s}",
             id, code, pid, onset, extra ? extra : "");
    efi_test_add(x, "Condition", b);
}

static void medicine(pop_extract *x, const char *id, const char *pid, const char *drug, const char *status,
                     const char *authored) {
    char b[1024];
    snprintf(b, sizeof b,
             "{\"resourceType\":\"MedicationRequest\",\"id\":\"%s\",\"status\":\"%s\",\"intent\":\"order\","
             "\"medicationCodeableConcept\":{\"coding\":[{\"system\":\"urn:drugs\",\"code\":\"%s\"}]},"
             "\"subject\":{\"reference\":\"Patient/%s\"},\"authoredOn\":\"%s\"}",
             id, status, drug, pid, authored);
    efi_test_add(x, "MedicationRequest", b);
}

/* Days since 1970 of a date (shared with test_risk.c). */
int32_t efi_test_day(const char *s);
int32_t efi_test_day(const char *s) {
    int32_t d;
    cr_assert(pop_day(s, &d));
    return d;
}

/* A new extract for want, using Kith's own list (*codes: caller frees),
 * holding the Patient given as JSON (shared with test_risk.c). */
pop_extract *efi_test_extract(unsigned want, efi_codes **codes, const char *patient);
pop_extract *efi_test_extract(unsigned want, efi_codes **codes, const char *patient) {
    *codes = efi_codes_builtin();
    pop_extract *x = pop_extract_new(*codes, NULL, want);
    efi_test_add(x, "Patient", patient);
    return x;
}

Test(efi, a_person_is_scored_from_their_records_on_a_day) {
    efi_codes *codes;
    pop_extract *x = efi_test_extract(POP_WANT_EFI | POP_WANT_ASSESSED, &codes,
                                      "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"birthDate\":\"1940-06-15\",\"gender\":\"female\","
                      "\"address\":[{\"extension\":[{\"url\":\"https://kith.example.org/fhir/StructureDefinition/"
                      "imd-decile\",\"valueInteger\":3}]}]}");
    condition(x, "c1", "p1", "84114007", "2020-01-01", NULL);                               /* heart failure */
    condition(x, "c2", "p1", "195967001", "2021-05-01", NULL);                              /* asthma */
    condition(x, "c3", "p1", "161898004", "2024-01-01", NULL);                              /* falls, later */
    condition(x, "c4", "p1", "52448006", "2019-01-01",                                       /* dementia: refuted */
              ",\"verificationStatus\":{\"coding\":[{\"code\":\"refuted\"}]}");
    condition(x, "c5", "p1", "404640003", "2019-01-01",                                      /* dizziness: resolved */
              ",\"clinicalStatus\":{\"coding\":[{\"code\":\"resolved\"}]},\"abatementDateTime\":\"2022-01-01\"");
    condition(x, "c6", "p1", "89362005", "2019-01-01",                                       /* resolved, no date */
              ",\"clinicalStatus\":{\"coding\":[{\"code\":\"resolved\"}]}");
    condition(x, "c7", "p1", "99999999", "2019-01-01", NULL);                                /* not a deficit */
    const char *drugs[] = {"a", "b", "c", "d", "d", "e"};
    for(int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "m%d", i);
        medicine(x, id, "p1", drugs[i], "active", i < 5 ? "2020-01-01" : "2023-06-01");
    }
    medicine(x, "m9", "p1", "f", "stopped", "2020-01-01"); /* stopped, alive: not current */
    pop_extract_finish(x);
    long i = pop_find(x, "p1");
    cr_assert_geq(i, 0);
    const pop_person *p = &x->people[i];
    cr_assert_eq(p->decile, 3);
    cr_assert_eq(p->sex, 1);
    cr_assert_eq(pop_age(p, efi_test_day("2023-06-14")), 82);
    cr_assert_eq(pop_age(p, efi_test_day("2023-06-15")), 83);

    frailty_result r;
    frailty_score(x, p, efi_test_day("2021-06-01"), false, &r);
    int hf = efi_deficit_index("heart-failure"), resp = efi_deficit_index("respiratory-disease"),
        diz = efi_deficit_index("dizziness"), falls = efi_deficit_index("falls");
    cr_assert_eq(r.mask, (1ull << hf) | (1ull << resp) | (1ull << diz), "dizziness until it resolved");
    cr_assert_eq(r.drugs, 4, "four different drugs: d twice is one");
    frailty_score(x, p, efi_test_day("2023-06-01"), false, &r);
    cr_assert_eq(r.drugs, 5);
    cr_assert_eq(r.mask, (1ull << hf) | (1ull << resp) | (1ull << EFI_POLYPHARMACY));
    cr_assert_eq(r.deficits, 3);
    frailty_score(x, p, efi_test_day("2024-02-01"), false, &r);
    cr_assert(r.mask & (1ull << falls));
    cr_assert_eq(frailty_eligible(p, efi_test_day("2024-02-01"), false), FRAILTY_SCORED);
    cr_assert_eq(frailty_eligible(p, efi_test_day("2004-02-01"), false), FRAILTY_TOO_YOUNG);
    cr_assert_eq(frailty_eligible(p, efi_test_day("2004-02-01"), true), FRAILTY_SCORED);

    /* the assessment: shape, evidence, basis */
    size_t len;
    char *text = frailty_assessment(x, p, efi_test_day("2024-02-01"), &r, "2024-02-01", &len);
    json_value *ra = NULL;
    cr_assert_eq(json_parse(text, len, &ra, NULL, 0), KITH_OK, "%s", text);
    cr_assert_str_eq(json_string(json_get(ra, "id")), "efi-p1");
    cr_assert_str_eq(json_string(json_get(json_array_at(json_get(json_get(ra, "method"), "coding"), 0), "code")), "efi");
    json_value *risk = json_get(json_array_at(json_get(ra, "prediction"), 0), "qualitativeRisk");
    cr_assert_str_eq(json_string(json_get(json_array_at(json_get(risk, "coding"), 0), "code")), "fit");
    cr_assert_eq(json_array_len(json_get(ra, "basis")), 3 + 6, "three conditions and six prescriptions (of five drugs)");
    cr_assert_not_null(strstr(text, "\"valueDecimal\":0.1111"));
    cr_assert_not_null(strstr(text, "{\"reference\":\"Condition/c3\"}"));
    cr_assert_null(strstr(text, "Condition/c4"), "a refuted condition is no evidence");
    uint64_t h = pop_assessment_hash(ra);
    json_set(ra, "occurrenceDateTime", json_new_string("2030-01-01"));
    cr_assert_eq(pop_assessment_hash(ra), h, "the date is not content");
    json_set(ra, "status", json_new_string("amended"));
    cr_assert_neq(pop_assessment_hash(ra), h);
    json_free(ra);
    free(text);
    pop_extract_free(x);
    efi_codes_free(codes);
}

Test(efi, the_dead_and_councils_records_are_not_scored_and_stopped_drugs_count_until_death) {
    efi_codes *codes;
    pop_extract *x = efi_test_extract(POP_WANT_EFI, &codes,
                                      "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"birthDate\":\"1930-01-01\","
                      "\"deceasedDateTime\":\"2024-03-01T10:00:00Z\"}");
    efi_test_add(x, "Patient", "{\"resourceType\":\"Patient\",\"id\":\"cld-1\",\"birthDate\":\"1930-01-01\",\"meta\":{\"tag\":[{"
                      "\"system\":\"https://kith.example.org/fhir/CodeSystem/record-source\",\"code\":\"cld\"}]}}");
    for(int i = 0; i < 5; i++) {
        char id[16], drug[16];
        snprintf(id, sizeof id, "s%d", i);
        snprintf(drug, sizeof drug, "x%d", i);
        medicine(x, id, "p2", drug, "stopped", "2020-01-01");
    }
    condition(x, "c9", "nobody", "84114007", "2020-01-01", NULL); /* a person without a Patient */
    pop_extract_finish(x);
    const pop_person *p = &x->people[pop_find(x, "p2")];
    cr_assert_eq(frailty_eligible(p, efi_test_day("2024-02-29"), false), FRAILTY_SCORED);
    cr_assert_eq(frailty_eligible(p, efi_test_day("2024-03-01"), false), FRAILTY_DEAD);
    int drugs;
    cr_assert(pop_efi_mask(x, p, efi_test_day("2024-02-29"), false, &drugs) & (1ull << EFI_POLYPHARMACY));
    cr_assert_eq(drugs, 5, "stopped because they died: in use until then");
    cr_assert_eq(frailty_eligible(&x->people[pop_find(x, "cld-1")], efi_test_day("2024-01-01"), false), FRAILTY_SOCIAL_ONLY);
    cr_assert_eq(frailty_eligible(&x->people[pop_find(x, "nobody")], efi_test_day("2024-01-01"), false), FRAILTY_SOCIAL_ONLY);
    pop_extract_free(x);
    efi_codes_free(codes);
}

Test(efi, two_lists_are_compared_in_one_pass) {
    efi_codes *mine = efi_codes_builtin(), *other = efi_codes_new();
    efi_codes_add(other, 19429009, efi_deficit_index("skin-ulcer"));
    efi_codes_add(other, 19429009, efi_deficit_index("diabetes"));
    pop_extract *x = pop_extract_new(other, mine, POP_WANT_EFI);
    efi_test_add(x, "Patient", "{\"resourceType\":\"Patient\",\"id\":\"p3\",\"birthDate\":\"1940-01-01\"}");
    condition(x, "u1", "p3", "19429009", "2020-01-01", NULL);
    condition(x, "h1", "p3", "84114007", "2020-01-01", NULL); /* only on Kith's list */
    pop_extract_finish(x);
    const pop_person *p = &x->people[0];
    cr_assert_eq(efi_count(pop_efi_mask(x, p, efi_test_day("2024-01-01"), false, NULL)), 2, "skin ulcer and diabetes");
    cr_assert_eq(efi_count(pop_efi_mask(x, p, efi_test_day("2024-01-01"), true, NULL)), 2, "skin ulcer and heart failure");
    pop_extract_free(x);
    efi_codes_free(mine);
    efi_codes_free(other);
}

Test(efi, an_assessment_carries_the_security_labels_of_its_evidence) {
    efi_codes *codes;
    pop_extract *x = efi_test_extract(POP_WANT_EFI, &codes,
                                      "{\"resourceType\":\"Patient\",\"id\":\"p4\",\"birthDate\":\"1940-01-01\"}");
    condition(x, "d1", "p4", "52448006", "2020-01-01",
              ",\"meta\":{\"security\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\","
              "\"code\":\"PSY\"}]}");
    condition(x, "h1", "p4", "84114007", "2020-01-01", NULL);
    pop_extract_finish(x);
    const pop_person *p = &x->people[pop_find(x, "p4")];
    frailty_result r;
    frailty_score(x, p, efi_test_day("2024-01-01"), false, &r);
    size_t len;
    char *text = frailty_assessment(x, p, efi_test_day("2024-01-01"), &r, "2024-01-01", &len);
    json_value *ra = NULL;
    cr_assert_eq(json_parse(text, len, &ra, NULL, 0), KITH_OK, "%s", text);
    json_value *label = json_array_at(json_get(json_get(ra, "meta"), "security"), 0);
    cr_assert_str_eq(json_string(json_get(label, "code")), "PSY", "%s", text);
    cr_assert_str_eq(json_string(json_get(label, "system")), "http://terminology.hl7.org/CodeSystem/v3-ActCode");
    uint64_t h = pop_assessment_hash(ra);
    json_remove(json_get(ra, "meta"), "security");
    cr_assert_neq(pop_assessment_hash(ra), h, "a label is content");
    json_free(ra);
    free(text);
    pop_extract_free(x);
    efi_codes_free(codes);
}

Test(efi, assessment_ids_stay_valid) {
    char id[72];
    frailty_assessment_id("efi-", "pat-12", id);
    cr_assert_str_eq(id, "efi-pat-12");
    char longid[65];
    memset(longid, 'a', 64);
    longid[64] = '\0';
    frailty_assessment_id("efi-", longid, id);
    cr_assert_eq(strlen(id), 4 + 1 + 16);
    cr_assert_eq(strncmp(id, "efi-h", 5), 0);
}
