/*
 * risk.c — the emergency admission risk model: features from a person's
 * record on a day, the logistic model and its judging on held-out people,
 * the step model compared with a synthetic place's ground truth, and the
 * model and predictions as FHIR (see risk.h and docs/population-health.md).
 */
#include "pop/risk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/datetime.h"
#include "base/mem.h"
#include "json/json.h"
#include "pop/frailty.h"

#define EXT POP_SYS "StructureDefinition/"
#define METHOD_SYS POP_SYS "CodeSystem/risk-method"

const char *const risk_feature_key[RISK_FEATURES] = {
    "age-0-17", "age-18-44", "age-45-64", "age-65-74", "age-75-84", "age-85-plus", "female", "deprivation",
    "efi", "long-term-conditions", "emergency-admissions-12m", "emergency-discharge-30d", "ae-attendances-12m",
    "social-care", "mdt-discussed",
};

const char *const risk_feature_name[RISK_FEATURES] = {
    "age 0-17",
    "age 18-44",
    "age 45-64",
    "age 65-74",
    "age 75-84",
    "age 85+",
    "female",
    "deprivation (0-1)",
    "eFI (0-1)",
    "long-term conditions",
    "emerg. admissions 12m (<=3)",
    "emerg. discharge <=30 days",
    "A&E attendances 12m (<=5)",
    "social care service",
    "MDT discussed",
};

/* ---- features ------------------------------------------------------------------ */

bool risk_eligible(const pop_person *p, int32_t day) {
    return p->seen && !p->social_only && p->birth != POP_NEVER && p->birth <= day &&
           (p->death == POP_OPEN || p->death > day);
}

static int band_of(int age) {
    return age < 18 ? 0 : age < 45 ? 1 : age < 65 ? 2 : age < 75 ? 3 : age < 85 ? 4 : 5;
}

void risk_features(const pop_extract *x, const pop_person *p, int32_t day, double f[RISK_FEATURES]) {
    memset(f, 0, RISK_FEATURES * sizeof *f);
    f[RISK_AGE_0_17 + band_of(pop_age(p, day))] = 1;
    f[RISK_FEMALE] = p->sex == 1;
    f[RISK_DEPRIVATION] = p->decile ? (10 - p->decile) / 9.0 : 0.5;
    uint64_t mask = pop_efi_mask(x, p, day, false, NULL);
    f[RISK_EFI] = efi_score(efi_count(mask));
    int ltc = 0;
    for(int d = 0; d < EFI_DEFICITS; d++) ltc += efi_deficit_is_ltc[d] && (mask & (1ull << d));
    f[RISK_LTC] = ltc;
    int prior = 0, ae = 0;
    for(uint32_t i = 0; i < p->event_n; i++) {
        const pop_event *e = &x->events[p->event_lo + i];
        switch(e->kind) {
        case POP_EMERGENCY_ADMISSION:
            if(e->from < day && e->from > day - 365) prior++;
            if(!e->died && e->to != POP_OPEN && e->to < day && day - e->to <= 30) f[RISK_RECENT] = 1;
            break;
        case POP_AE_ATTENDANCE: ae += e->from < day && e->from >= day - 365; break;
        case POP_SOCIAL_CARE:
            if(e->from <= day && (e->to == POP_OPEN || e->to >= day)) f[RISK_SOCIAL_CARE] = 1;
            break;
        case POP_MDT_DISCUSSION:
            if(e->from <= day) f[RISK_MDT] = 1;
            break;
        }
    }
    f[RISK_PRIOR] = prior > 3 ? 3 : prior;
    f[RISK_AE] = ae > 5 ? 5 : ae;
}

bool risk_outcome(const pop_extract *x, const pop_person *p, int32_t day) {
    for(uint32_t i = 0; i < p->event_n; i++) {
        const pop_event *e = &x->events[p->event_lo + i];
        if(e->kind == POP_EMERGENCY_ADMISSION && e->from >= day && e->from < day + 365) return true;
    }
    return false;
}

bool risk_held_out(const char *pid) {
    uint64_t h = 0xcbf29ce484222325ull;
    for(const char *s = pid; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h % 100 >= 70;
}

double risk_probability(const risk_model *m, const double f[RISK_FEATURES]) {
    double eta = m->beta[0];
    for(int k = 0; k < RISK_FEATURES; k++) eta += m->beta[1 + k] * f[k];
    return glm_probability(GLM_LOGIT, eta);
}

const char *risk_level(const risk_model *m, double p) {
    return p < m->thresholds[0] ? "low" : p < m->thresholds[1] ? "moderate" : p < m->thresholds[2] ? "high" : "very-high";
}

/* ---- the ground truth ------------------------------------------------------------ */

static bool number(const json_value *v, double *out) {
    const char *t = json_number_text(v);
    if(!t) return false;
    *out = strtod(t, NULL);
    return true;
}

kith_rc risk_truth_load(const char *file, risk_truth *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    FILE *f = fopen(file, "r");
    if(!f) {
        snprintf(err, errlen, "cannot read %s", file);
        return KITH_EIO;
    }
    buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    while((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < 16 * 1024 * 1024) buf_append(&b, chunk, n);
    fclose(f);
    json_value *j = NULL;
    kith_rc rc = json_parse(b.data ? b.data : "", b.len, &j, err, errlen);
    buf_free(&b);
    if(rc) return KITH_EINVAL;
    json_value *h = json_get(j, "emergencyAdmissionHazard"), *base = json_get(h, "base");
    static const char *const BANDS[6] = {"0-17", "18-44", "45-64", "65-74", "75-84", "85+"};
    int64_t years = 0;
    bool ok = pop_day(json_string(json_get(j, "start")), &t->start) && json_int64(json_get(j, "years"), &years) &&
              number(json_get(h, "bEfi"), &t->b_efi) && number(json_get(h, "bLtc"), &t->b_ltc) &&
              number(json_get(h, "bDeprivation"), &t->b_deprivation) && number(json_get(h, "bPrior"), &t->b_prior) &&
              number(json_get(h, "bRecent30"), &t->b_recent) &&
              number(json_get(json_get(j, "programme"), "relativeHazardReduction"), &t->effect);
    for(int i = 0; i < 6 && ok; i++) ok = number(json_get(base, BANDS[i]), &t->base[i]);
    t->years = (int)years;
    json_free(j);
    if(!ok || years < 1) {
        snprintf(err, errlen, "%s is not a kith synth ground-truth.json (start, years, emergencyAdmissionHazard)", file);
        return KITH_EINVAL;
    }
    return KITH_OK;
}

/* The generator's hazard (admissions a year) for features f. */
static double true_hazard(const risk_truth *t, const double f[RISK_FEATURES]) {
    int band = 0;
    for(int b = 0; b < 6; b++)
        if(f[RISK_AGE_0_17 + b] > 0) band = b;
    double lp = t->b_efi * f[RISK_EFI] + t->b_ltc * f[RISK_LTC] + t->b_deprivation * f[RISK_DEPRIVATION] +
                t->b_prior * f[RISK_PRIOR] + t->b_recent * f[RISK_RECENT];
    double h = t->base[band] * exp(lp);
    return f[RISK_MDT] > 0 ? h * (1 - t->effect) : h;
}

/* ---- fitting ------------------------------------------------------------------------- */

/* A growing matrix of rows. */
typedef struct rows {
    double *x, *y, *offset;
    size_t n, cap, p;
} rows;

static void rows_add(rows *r, const double *x, double y, double offset) {
    if(r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4096;
        r->x = xrealloc(r->x, r->cap * r->p * sizeof *r->x);
        r->y = xrealloc(r->y, r->cap * sizeof *r->y);
        r->offset = xrealloc(r->offset, r->cap * sizeof *r->offset);
    }
    memcpy(r->x + r->n * r->p, x, r->p * sizeof *x);
    r->y[r->n] = y;
    r->offset[r->n] = offset;
    r->n++;
}

static void rows_free(rows *r) {
    free(r->x);
    free(r->y);
    free(r->offset);
}

/* Replay person p's 30-day steps from t->start to the end of the period as
 * the generator took them, adding a row for each step they lived through. */
static void replay_steps(const pop_extract *x, const pop_person *p, const risk_truth *t, rows *r, long *admissions) {
    int y, m, d;
    datetime_civil_from_days(t->start, &y, &m, &d);
    int32_t end = (int32_t)datetime_days_from_civil(y + t->years, m, d);
    int32_t day = t->start;
    uint32_t next_event = 0;
    double f[RISK_FEATURES];
    while(day < end) {
        int32_t step_end = day + 30 < end ? day + 30 : end;
        if(p->death != POP_OPEN && p->death < step_end) break; /* a step with a death is not at the hazard alone */
        const pop_event *stay = NULL;
        for(uint32_t i = next_event; i < p->event_n && !stay; i++) {
            const pop_event *e = &x->events[p->event_lo + i];
            if(e->from >= step_end) break;
            if(e->from >= day && (e->kind == POP_EMERGENCY_ADMISSION || e->kind == POP_ELECTIVE_ADMISSION)) {
                stay = e;
                next_event = i + 1;
            }
        }
        risk_features(x, p, day, f);
        bool admitted = stay && stay->kind == POP_EMERGENCY_ADMISSION;
        rows_add(r, f, admitted, log((step_end - day) / 365.25));
        *admissions += admitted;
        if(stay && stay->to == POP_OPEN) break;
        day = stay ? stay->to + 1 : step_end;
    }
}

static double seconds_since(uint64_t t0) {
    return (double)(clock_mono_us() - t0) / 1e6;
}

kith_rc risk_fit(const pop_extract *x, int32_t day, double lambda, const risk_truth *truth, risk_report *out) {
    memset(out, 0, sizeof *out);
    uint64_t t0 = clock_mono_us();
    /* the logistic model's rows: intercept then features but the reference age band */
    rows fit = {.p = RISK_FEATURES}, test = {.p = RISK_FEATURES};
    double *true_h = NULL;
    size_t ntrue = 0, captrue = 0;
    double f[RISK_FEATURES], row[RISK_FEATURES];
    for(size_t i = 0; i < x->npeople; i++) {
        const pop_person *p = &x->people[i];
        if(!risk_eligible(p, day)) continue;
        risk_features(x, p, day, f);
        memcpy(row, f, sizeof row);
        row[RISK_AGE_0_17] = 1; /* column 0 is the intercept */
        bool y = risk_outcome(x, p, day), held = risk_held_out(pop_text(x, p->id));
        rows_add(held ? &test : &fit, row, y, 0);
        for(int k = 0; k < RISK_FEATURES && !held; k++) out->present[k] += f[k] != 0;
        out->people++;
        out->admitted += y;
        if(held) out->admitted_test += y;
        if(held && truth) {
            if(ntrue == captrue) {
                captrue = captrue ? captrue * 2 : 4096;
                true_h = xrealloc(true_h, captrue * sizeof *true_h);
            }
            true_h[ntrue++] = true_hazard(truth, f);
        }
    }
    out->seconds_features = seconds_since(t0);
    kith_rc rc = KITH_OK;
    if(!fit.n || !test.n || out->admitted == 0 || out->admitted == out->people) rc = KITH_ENOTFOUND;
    uint64_t t1 = clock_mono_us();
    glm_data d = {.n = fit.n, .p = fit.p, .x = fit.x, .y = fit.y};
    if(!rc) rc = glm_fit_run(&d, GLM_LOGIT, lambda, NULL, 0, &out->logit);
    out->seconds_fit = seconds_since(t1);
    if(!rc) {
        risk_model *m = &out->model;
        m->day = day;
        m->lambda = lambda;
        m->thresholds[0] = 0.10;
        m->thresholds[1] = 0.20;
        m->thresholds[2] = 0.40;
        m->beta[0] = out->logit.beta[0];
        m->se[0] = out->logit.se[0];
        for(int k = 1; k < RISK_FEATURES; k++) {
            m->beta[1 + k] = out->logit.beta[k];
            m->se[1 + k] = out->logit.se[k];
        }
        m->n_fit = (long)fit.n;
        m->n_test = (long)test.n;
        double *prob = xmalloc(test.n * sizeof *prob);
        for(size_t i = 0; i < test.n; i++) prob[i] = glm_probability(GLM_LOGIT, glm_eta(&out->logit, test.x + i * test.p, 0));
        m->auc = glm_auc(prob, test.y, test.n);
        m->brier = glm_brier(prob, test.y, test.n);
        glm_calibration(prob, test.y, test.n, RISK_DECILES, out->calibration);
        if(truth) {
            out->has_truth = true;
            out->auc_truth = glm_auc(true_h, test.y, test.n);
            for(size_t i = 0; i < test.n; i++) prob[i] = -expm1(-true_h[i]);
            out->brier_truth = glm_brier(prob, test.y, test.n);
        }
        free(prob);
    }
    if(!rc && truth) {
        /* the step model: every person alive on the first day, every step they lived through */
        uint64_t t2 = clock_mono_us();
        rows steps = {.p = RISK_FEATURES};
        for(size_t i = 0; i < x->npeople; i++) {
            const pop_person *p = &x->people[i];
            if(!risk_eligible(p, truth->start)) continue;
            out->step_people++;
            replay_steps(x, p, truth, &steps, &out->step_admissions);
        }
        out->n_steps = (long)steps.n;
        for(size_t i = 0; i < steps.n; i++)
            for(int k = 0; k < RISK_FEATURES; k++) out->step_present[k] += steps.x[i * steps.p + k] != 0;
        bool pen[RISK_FEATURES];
        for(int k = 0; k < RISK_FEATURES; k++) pen[k] = k > RISK_AGE_85; /* the age bands are the base rates */
        glm_data sd = {.n = steps.n, .p = steps.p, .x = steps.x, .y = steps.y, .offset = steps.offset};
        if(glm_fit_run(&sd, GLM_CLOGLOG, lambda, pen, 0, &out->steps)) out->n_steps = -1;
        rows_free(&steps);
        out->seconds_steps = seconds_since(t2);
    }
    free(true_h);
    rows_free(&fit);
    rows_free(&test);
    return rc;
}

void risk_report_free(risk_report *r) {
    glm_fit_free(&r->logit);
    glm_fit_free(&r->steps);
}

/* ---- FHIR --------------------------------------------------------------------------- */

static const char *coef_key(int k) {
    return k == 0 ? "intercept" : risk_feature_key[k - 1];
}

char *risk_model_library(const risk_model *m, const char *when, size_t *len) {
    buf b = BUF_INIT;
    char day[11];
    datetime_format_day(m->day, day);
    buf_printf(&b,
               "{\"resourceType\":\"Library\",\"id\":\"" RISK_MODEL_ID "\",\"url\":\"" POP_SYS "Library/" RISK_MODEL_ID "\","
               "\"name\":\"EmergencyAdmissionRisk\",\"title\":\"Emergency admission in the next 12 months\","
               "\"status\":\"active\",\"type\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
               "library-type\",\"code\":\"model-definition\"}]},\"date\":\"%s\",\"description\":\"Logistic model of "
               "an emergency admission in the 12 months after a day, fitted by kith risk fit on the records as they "
               "stood on %s (%ld people; %ld held out: AUC %.4f, Brier %.4f). The probability is 1 / (1 + exp(-(intercept "
               "+ sum of coefficient x feature))); docs/population-health.md defines the features.\",\"extension\":[",
               when, day, m->n_fit + m->n_test, m->n_test, m->auc, m->brier);
    buf_printf(&b, "{\"url\":\"" EXT "ear-index-date\",\"valueDate\":\"%s\"},", day);
    buf_printf(&b, "{\"url\":\"" EXT "ear-lambda\",\"valueDecimal\":%.6f},", m->lambda);
    buf_printf(&b, "{\"url\":\"" EXT "ear-auc\",\"valueDecimal\":%.4f},", m->auc);
    buf_printf(&b, "{\"url\":\"" EXT "ear-brier\",\"valueDecimal\":%.4f},", m->brier);
    buf_printf(&b, "{\"url\":\"" EXT "ear-people\",\"valueInteger\":%ld},", m->n_fit + m->n_test);
    for(int i = 0; i < 3; i++) buf_printf(&b, "{\"url\":\"" EXT "ear-threshold\",\"valueDecimal\":%.2f},", m->thresholds[i]);
    for(int k = 0; k < RISK_COEFS; k++) {
        if(k == 1) continue; /* the reference age band */
        buf_printf(&b,
                   "%s{\"url\":\"" EXT "ear-coefficient\",\"extension\":[{\"url\":\"feature\",\"valueCode\":\"%s\"},"
                   "{\"url\":\"estimate\",\"valueDecimal\":%.6f},{\"url\":\"standardError\",\"valueDecimal\":%.6f}]}",
                   k ? "," : "", coef_key(k), m->beta[k], m->se[k]);
    }
    buf_puts(&b, "]}");
    return buf_take(&b, len);
}

static bool decimal_of(const json_value *e, const char *key, double *out) {
    return number(json_get(e, key), out);
}

kith_rc risk_model_from_library(const json_value *lib, risk_model *m) {
    memset(m, 0, sizeof *m);
    json_value *ext = json_get(lib, "extension");
    int thresholds = 0, coefs = 0;
    bool dated = false;
    for(size_t i = 0; i < json_array_len(ext); i++) {
        json_value *e = json_array_at(ext, i);
        const char *u = json_string(json_get(e, "url"));
        if(!u) continue;
        if(strcmp(u, EXT "ear-index-date") == 0) dated = pop_day(json_string(json_get(e, "valueDate")), &m->day);
        if(strcmp(u, EXT "ear-lambda") == 0) decimal_of(e, "valueDecimal", &m->lambda);
        if(strcmp(u, EXT "ear-auc") == 0) decimal_of(e, "valueDecimal", &m->auc);
        if(strcmp(u, EXT "ear-brier") == 0) decimal_of(e, "valueDecimal", &m->brier);
        if(strcmp(u, EXT "ear-threshold") == 0 && thresholds < 3)
            thresholds += decimal_of(e, "valueDecimal", &m->thresholds[thresholds]);
        if(strcmp(u, EXT "ear-coefficient") != 0) continue;
        const char *feature = NULL;
        double est = NAN, se = NAN;
        json_value *sub = json_get(e, "extension");
        for(size_t k = 0; k < json_array_len(sub); k++) {
            json_value *s = json_array_at(sub, k);
            const char *su = json_string(json_get(s, "url"));
            if(!su) continue;
            if(strcmp(su, "feature") == 0) feature = json_string(json_get(s, "valueCode"));
            if(strcmp(su, "estimate") == 0) decimal_of(s, "valueDecimal", &est);
            if(strcmp(su, "standardError") == 0) decimal_of(s, "valueDecimal", &se);
        }
        for(int k = 0; k < RISK_COEFS && feature; k++)
            if(strcmp(coef_key(k), feature) == 0 && !isnan(est)) {
                m->beta[k] = est;
                m->se[k] = se;
                coefs++;
            }
    }
    return dated && thresholds == 3 && coefs == RISK_COEFS - 1 ? KITH_OK : KITH_EINVAL;
}

char *risk_assessment(const pop_extract *x, const pop_person *p, const risk_model *m, int32_t day, double probability,
                      const char *model_ref, const char *when, size_t *len) {
    const char *pid = pop_text(x, p->id);
    buf b = BUF_INIT;
    char from[11], to[11], id[72];
    datetime_format_day(day, from);
    datetime_format_day(day + 364, to);
    frailty_assessment_id("ear-", pid, id);
    buf_puts(&b, "{\"resourceType\":\"RiskAssessment\",\"id\":\"");
    buf_json_escape(&b, id);
    buf_puts(&b, "\",\"status\":\"final\",\"method\":{\"coding\":[{\"system\":\"" METHOD_SYS "\",\"code\":\"" RISK_METHOD_CODE
                 "\",\"display\":\"Emergency admission in the next 12 months (Kith logistic model)\"}]},\"code\":{"
                 "\"text\":\"Emergency admission risk\"},\"subject\":{\"reference\":\"Patient/");
    buf_json_escape(&b, pid);
    buf_printf(&b, "\"},\"occurrenceDateTime\":\"%s\",\"basis\":[{\"reference\":\"%s\"}],\"prediction\":[{\"outcome\":{"
                   "\"text\":\"Emergency admission in the next 12 months\"},\"probabilityDecimal\":%.4f,"
                   "\"qualitativeRisk\":{\"coding\":[{\"system\":\"" RISK_LEVEL_SYS "\",\"code\":\"%s\"}]},"
                   "\"whenPeriod\":{\"start\":\"%s\",\"end\":\"%s\"}}]}",
               when, model_ref, probability, risk_level(m, probability), from, to);
    return buf_take(&b, len);
}
