/*
 * synth.c — the people of the synthetic place and their lives over the
 * period (see synth.h; the model is written out in docs/synthetic-place.md
 * and, with the figures each run produced, in the ground-truth JSON).
 *
 * Each person is generated from a random stream of their own and then
 * simulated in steps of up to 30 days: new conditions, death, emergency and
 * elective admissions (with discharge pathway and delays), A&E attendances,
 * GP appointments, community contacts, case finding for the integrated care
 * programme's MDTs, and social care (requests, assessments, services,
 * reviews) written as CLD rows. Only one person is in memory at a time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/mem.h"
#include "base/nhs_number.h"
#include "care/discharge.h"
#include "social/cld.h"
#include "synth/synth_int.h"

/* ---- the hazard model (written to the ground truth) ------------------------ */

/* Age bands used for rates: 0-17, 18-44, 45-64, 65-74, 75-84, 85+. */
static const int BAND_LO[6] = {0, 18, 45, 65, 75, 85};
static const char *const BAND_NAME[SYNTH_AGE_BANDS] = {"0-17", "18-44", "45-64", "65-74",
                                                       "75-84", "85+", "all", "65+"};
/* Emergency admissions per person-year before covariates, by band. */
static const double EMERGENCY_BASE[6] = {0.040, 0.040, 0.047, 0.062, 0.072, 0.066};
static const double BETA_EFI = 3.0;        /* per unit of eFI (0-1) */
static const double BETA_LTC = 0.05;       /* per long-term condition */
static const double BETA_DEPRIVATION = 0.5; /* most deprived decile vs least: (10 - decile) / 9 */
static const double BETA_RECENT_30 = 2.0;  /* discharged from an emergency stay in the last 30 days */
static const double BETA_PRIOR_12M = 0.25; /* per emergency admission in the previous year (up to 3) */
/* Reference figures for England (emergency admissions per 1,000 a year), for the report. */
static const double ENGLAND_EMERGENCY[6] = {60, 65, 90, 160, 290, 520};

static const double AE_RATE[6] = {0.35, 0.30, 0.25, 0.25, 0.35, 0.55};      /* not admitted, a year */
static const double GP_RATE[6] = {3.0, 4.0, 5.0, 7.0, 9.0, 10.0};           /* appointments a year */
static const double ELECTIVE_RATE[6] = {0.03, 0.05, 0.10, 0.18, 0.20, 0.12}; /* a year */

static int band_of(int age) {
    int b = 0;
    while(b < 5 && age >= BAND_LO[b + 1]) b++;
    return b;
}

/* ---- writing -------------------------------------------------------------- */

void synth_emit(synth_gen *g, const char *type) {
    if(!g->stopped && g->sink->write(g->sink->ctx, SYNTH_FHIR, type, g->b.data, g->b.len)) g->stopped = 1;
    g->rates.resources++;
    buf_reset(&g->b);
}

void synth_emit_line(synth_gen *g, synth_stream s) {
    if(!g->stopped && g->sink->write(g->sink->ctx, s, NULL, g->line.data ? g->line.data : "", g->line.len))
        g->stopped = 1;
    buf_reset(&g->line);
}

void synth_day(int64_t day, char out[11]) {
    datetime_format_day(day, out);
}

void synth_datetime(int64_t day, int minute, char out[32]) {
    char d[11];
    synth_day(day, d);
    snprintf(out, 32, "%sT%02d:%02d:00Z", d, (minute / 60) % 24, minute % 60);
}

/* A CSV field, comma-separated from the one before unless first. */
static void csv_field(buf *b, const char *s, int first) {
    if(!first) buf_putc(b, ',');
    cld_csv_field(b, s);
}

/* ---- a person ------------------------------------------------------------- */

#define MAX_MEDS 24
#define MAX_RECENT 8

typedef struct person {
    long n;
    char id[32];
    char nhs[32];
    int sex, ethnic, group, decile, neighbourhood;
    long practice;
    int64_t birth_day, death_day;
    const char *given, *family, *street;
    int house;
    char postcode[32], old_postcode[32];
    double z;                          /* latent frailty */
    int64_t onset[SYNTH_NCONDITIONS];  /* NO_DAY: does not have it */
    const char *med[MAX_MEDS];
    int64_t med_start[MAX_MEDS];
    int nmeds;
    long seq;                          /* resource counter for ids */
    int64_t recent[MAX_RECENT];        /* emergency admission days, newest last */
    int nrecent;
    int64_t last_discharge, mdt_day;
    long emergency_admissions;
    /* social care */
    char la_id[16];
    long events;
    int care;                          /* 0 none, 1 home care, 2 residential, 3 nursing */
    char care_ref[32];
    int64_t care_start, next_review;
    double care_hours;
    int record_flawed;                 /* the council's record has no NHS number and errors */
    char la_given[40], la_family[48], la_dob[24], la_postcode[32], errors[96];
    double efi_start;
} person;

static int age_on(const person *p, int64_t day) {
    int by, bm, bd, y, m, d;
    datetime_civil_from_days(p->birth_day, &by, &bm, &bd);
    datetime_civil_from_days(day, &y, &m, &d);
    int age = y - by;
    if(m < bm || (m == bm && d < bd)) age--;
    return age;
}

static double logistic(double x) {
    return 1.0 / (1.0 + exp(-x));
}

static double condition_probability(const synth_condition *c, int age, double z, int sex) {
    double lo = log(c->p70 / (1.0 - c->p70)) + c->age_slope * (age - 70) / 10.0 + c->frailty_load * z;
    if(c == &synth_conditions[C_URINARY_SYSTEM] && sex == SEX_FEMALE) return 0; /* coded as prostatic hyperplasia */
    if(c == &synth_conditions[C_OSTEOPOROSIS] && sex == SEX_MALE) lo -= 1.2;
    return logistic(lo);
}

static int has(const person *p, int k, int64_t day) {
    return p->onset[k] != NO_DAY && p->onset[k] <= day;
}

static int meds_on(const person *p, int64_t day) {
    int n = 0;
    for(int i = 0; i < p->nmeds; i++) n += p->med_start[i] <= day;
    return n;
}

/* The electronic Frailty Index on day: deficits present / 36. */
static double efi_on(const person *p, int64_t day) {
    int n = 0;
    for(int k = 0; k < SYNTH_NCONDITIONS; k++) n += has(p, k, day);
    n += meds_on(p, day) >= 5; /* polypharmacy */
    return n / 36.0;
}

static int frailty_category(double efi) {
    return efi <= 0.12 ? 0 : efi <= 0.24 ? 1 : efi <= 0.36 ? 2 : 3;
}
static const char *const FRAILTY_NAME[4] = {"fit", "mild", "moderate", "severe"};

static int ltc_count(const person *p, int64_t day) {
    int n = 0;
    for(int k = 0; k < SYNTH_NCONDITIONS; k++) n += synth_conditions[k].is_clinical && has(p, k, day);
    return n;
}

static void add_medicines(person *p, synth_rng *r, int k, int64_t day) {
    const char *m = synth_conditions[k].medicines;
    while(m && *m) {
        const char *end = strchr(m, '|');
        size_t len = end ? (size_t)(end - m) : strlen(m);
        int optional = *m == '?';
        const char *name = m + optional;
        size_t nlen = len - (size_t)optional;
        if(!optional || synth_rng_chance(r, 0.5)) {
            int dup = 0;
            for(int i = 0; i < p->nmeds; i++)
                if(strlen(p->med[i]) == nlen + 0 && strncmp(p->med[i], name, nlen) == 0) dup = 1;
            if(!dup && p->nmeds < MAX_MEDS) {
                p->med[p->nmeds] = xstrndup(name, nlen);
                p->med_start[p->nmeds++] = day;
            }
        }
        m = end ? end + 1 : NULL;
    }
}

/* ---- FHIR resources for a person ----------------------------------------- */

static void reference_subject(buf *b, const person *p) {
    buf_printf(b, "\"subject\":{\"reference\":\"Patient/%s\"}", p->id);
}

static void emit_condition(synth_gen *g, person *p, int k) {
    const synth_condition *c = &synth_conditions[k];
    char onset[11];
    synth_day(p->onset[k], onset);
    synth_condition asthma;
    if(k == C_RESPIRATORY_DISEASE && age_on(p, p->onset[k]) < 40) { /* young: asthma rather than COPD */
        asthma = *c;
        asthma.code = "195967001";
        asthma.display = "Asthma";
        c = &asthma;
    }
    buf_printf(&g->b,
               "{\"resourceType\":\"Condition\",\"id\":\"cond-%ld-%ld\",\"clinicalStatus\":{\"coding\":[{\"system\":"
               "\"http://terminology.hl7.org/CodeSystem/condition-clinical\",\"code\":\"active\"}]},"
               "\"verificationStatus\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
               "condition-ver-status\",\"code\":\"confirmed\"}]},\"category\":[{\"coding\":[{\"system\":"
               "\"http://terminology.hl7.org/CodeSystem/condition-category\",\"code\":\"problem-list-item\"}]}],"
               "\"code\":{\"coding\":[{\"system\":\"" SNOMED "\",\"code\":\"%s\",\"display\":\"%s\"}],\"text\":\"%s\"},",
               p->n, ++p->seq, c->code, c->display, c->display);
    reference_subject(&g->b, p);
    buf_printf(&g->b, ",\"onsetDateTime\":\"%s\",\"recordedDate\":\"%s\"}", onset, onset);
    synth_emit(g, "Condition");
}

static void emit_medicine(synth_gen *g, person *p, int i) {
    char day[11], slug[64];
    synth_day(p->med_start[i], day);
    size_t j = 0;
    for(const char *s = p->med[i]; *s && j < sizeof slug - 1; s++) {
        char ch = *s;
        if(ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        if((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) slug[j++] = ch;
        else if(j && slug[j - 1] != '-') slug[j++] = '-';
    }
    while(j && slug[j - 1] == '-') j--;
    slug[j] = '\0';
    synth_practice *pr = &g->place.practices[p->practice];
    buf_printf(&g->b,
               "{\"resourceType\":\"MedicationRequest\",\"id\":\"med-%ld-%ld\",\"status\":\"%s\",\"intent\":\"order\","
               "\"medicationCodeableConcept\":{\"coding\":[{\"system\":\"" KITH_SYS "CodeSystem/synth-medicine\","
               "\"code\":\"%s\",\"display\":\"%s\"}],\"text\":\"%s\"},",
               p->n, ++p->seq, p->death_day != NO_DAY ? "stopped" : "active", slug, p->med[i], p->med[i]);
    reference_subject(&g->b, p);
    buf_printf(&g->b,
               ",\"authoredOn\":\"%s\",\"requester\":{\"reference\":\"Practitioner/%s\"},\"courseOfTherapyType\":{"
               "\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy\","
               "\"code\":\"continuous\"}]},\"dosageInstruction\":[{\"text\":\"As directed\"}]}",
               day, pr->gp[p->n % 4]);
    synth_emit(g, "MedicationRequest");
}

static void emit_observation(synth_gen *g, person *p, synth_rng *r, int64_t day, int weight) {
    char when[32];
    synth_datetime(day, 9 * 60 + (int)synth_rng_below(r, 480), when);
    buf_printf(&g->b,
               "{\"resourceType\":\"Observation\",\"id\":\"obs-%ld-%ld\",\"status\":\"final\",\"category\":[{\"coding\":"
               "[{\"system\":\"http://terminology.hl7.org/CodeSystem/observation-category\",\"code\":\"vital-signs\"}]}],",
               p->n, ++p->seq);
    if(weight) {
        double kg = (p->sex == SEX_MALE ? 82.0 : 70.0) + 13.0 * synth_rng_normal(r);
        if(has(p, C_WEIGHT_LOSS, day)) kg -= 8; /* weight loss */
        if(kg < 38) kg = 38;
        buf_printf(&g->b,
                   "\"code\":{\"coding\":[{\"system\":\"" SNOMED "\",\"code\":\"27113001\",\"display\":\"Body weight\"}],"
                   "\"text\":\"Body weight\"},");
        reference_subject(&g->b, p);
        buf_printf(&g->b,
                   ",\"effectiveDateTime\":\"%s\",\"valueQuantity\":{\"value\":%.1f,\"unit\":\"kg\",\"system\":"
                   "\"http://unitsofmeasure.org\",\"code\":\"kg\"}}",
                   when, kg);
    } else {
        int sys = 128 + (int)(16 * synth_rng_normal(r)) + (age_on(p, day) - 50) / 4;
        int dia = 78 + (int)(9 * synth_rng_normal(r));
        if(sys < 90) sys = 90;
        if(dia < 50) dia = 50;
        if(dia > sys - 20) dia = sys - 20;
        buf_printf(&g->b,
                   "\"code\":{\"coding\":[{\"system\":\"" SNOMED "\",\"code\":\"75367002\",\"display\":\"Blood pressure\"}],"
                   "\"text\":\"Blood pressure\"},");
        reference_subject(&g->b, p);
        buf_printf(&g->b,
                   ",\"effectiveDateTime\":\"%s\",\"component\":[{\"code\":{\"coding\":[{\"system\":\"" SNOMED "\","
                   "\"code\":\"271649006\",\"display\":\"Systolic blood pressure\"}]},\"valueQuantity\":{\"value\":%d,"
                   "\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}},{\"code\":{"
                   "\"coding\":[{\"system\":\"" SNOMED "\",\"code\":\"271650006\",\"display\":\"Diastolic blood "
                   "pressure\"}]},\"valueQuantity\":{\"value\":%d,\"unit\":\"mmHg\",\"system\":"
                   "\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]}",
                   when, sys, dia);
    }
    synth_emit(g, "Observation");
}

typedef enum enc_kind { ENC_GP, ENC_AE, ENC_COMMUNITY, ENC_MDT } enc_kind;

static void encounter_head(synth_gen *g, person *p, const char *status, const char *cls, const char *cls_display,
                           const char *type, const char *type_display) {
    buf_printf(&g->b,
               "{\"resourceType\":\"Encounter\",\"id\":\"enc-%ld-%ld\",\"status\":\"%s\",\"class\":{\"system\":"
               "\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"%s\",\"display\":\"%s\"},"
               "\"type\":[{\"coding\":[{\"system\":\"" KITH_SYS "CodeSystem/encounter-type\",\"code\":\"%s\","
               "\"display\":\"%s\"}],\"text\":\"%s\"}],",
               p->n, ++p->seq, status, cls, cls_display, type, type_display, type_display);
    reference_subject(&g->b, p);
}

/* A short contact: GP appointment, A&E attendance, community visit or MDT discussion. */
static void emit_contact(synth_gen *g, person *p, synth_rng *r, enc_kind kind, int64_t day) {
    char start[32], end[32];
    int minute = 8 * 60 + (int)synth_rng_below(r, 10 * 60);
    int length = kind == ENC_AE ? 120 + (int)synth_rng_below(r, 300) : kind == ENC_GP ? 10 + (int)synth_rng_below(r, 10) : 30;
    if(kind == ENC_AE) minute = (int)synth_rng_below(r, 20 * 60);
    synth_datetime(day, minute, start);
    synth_datetime(day, minute + length >= 1440 ? 1439 : minute + length, end);
    synth_practice *pr = &g->place.practices[p->practice];
    char team[24];
    snprintf(team, sizeof team, "org-int-%d", p->neighbourhood + 1);
    switch(kind) {
    case ENC_GP:
        encounter_head(g, p, "finished", "AMB", "ambulatory", "gp-appointment", "General practice appointment");
        buf_printf(&g->b, ",\"participant\":[{\"individual\":{\"reference\":\"Practitioner/%s\"}}]",
                   pr->gp[synth_rng_below(r, 4)]);
        buf_printf(&g->b, ",\"period\":{\"start\":\"%s\",\"end\":\"%s\"},\"serviceProvider\":{\"reference\":"
                          "\"Organization/%s\"}}", start, end, pr->id);
        break;
    case ENC_AE:
        encounter_head(g, p, "finished", "EMER", "emergency", "ae-attendance", "A&E attendance");
        buf_printf(&g->b, ",\"period\":{\"start\":\"%s\",\"end\":\"%s\"},\"location\":[{\"location\":{\"reference\":"
                          "\"Location/loc-ed\"}}],\"serviceProvider\":{\"reference\":\"Organization/org-acute\"}}",
                   start, end);
        break;
    case ENC_COMMUNITY:
        encounter_head(g, p, "finished", "HH", "home health", "community-nursing-visit", "District nursing visit");
        buf_printf(&g->b, ",\"period\":{\"start\":\"%s\",\"end\":\"%s\"},\"serviceProvider\":{\"reference\":"
                          "\"Organization/org-community\"}}", start, end);
        break;
    case ENC_MDT:
        encounter_head(g, p, "finished", "VR", "virtual", "mdt-discussion",
                       "Discussed at neighbourhood multidisciplinary team meeting");
        buf_printf(&g->b, ",\"period\":{\"start\":\"%s\",\"end\":\"%s\"},\"serviceProvider\":{\"reference\":"
                          "\"Organization/%s\"}}", start, end, team);
        g->rates.mdt_discussions++;
        break;
    }
    synth_emit(g, "Encounter");
}

static const char *const ADMIT_REASON[][2] = {
    {"233604007", "Pneumonia"}, {"68566005", "Urinary tract infectious disease"}, {"29857009", "Chest pain"},
    {"1912002", "Fall"}, {"84114007", "Heart failure"}, {"195951007", "Acute exacerbation of chronic obstructive airways disease"},
    {"128045006", "Cellulitis"}, {"21522001", "Abdominal pain"}, {"271594007", "Syncope"}, {"2776000", "Delirium"},
};


typedef struct stay {
    int64_t admit, ready, discharge;
    int pathway, emergency, died;
    const char *destination, *destination_display;
} stay;

static void emit_stay(synth_gen *g, person *p, synth_rng *r, const stay *s) {
    char start[32], end[32], ready[32];
    synth_datetime(s->admit, (int)synth_rng_below(r, 1440), start);
    synth_datetime(s->discharge, s->discharge == s->admit ? 1439 : 10 * 60 + (int)synth_rng_below(r, 480), end);
    synth_datetime(s->ready, 9 * 60, ready);
    if(strcmp(ready, start) < 0) memcpy(ready, start, sizeof ready);
    if(strcmp(end, ready) < 0) memcpy(end, ready, sizeof end);
    int via_ae = s->emergency && synth_rng_chance(r, 0.72);
    if(via_ae) { /* the A&E attendance that led to the admission */
        encounter_head(g, p, "finished", "EMER", "emergency", "ae-attendance", "A&E attendance");
        buf_printf(&g->b, ",\"period\":{\"start\":\"%s\",\"end\":\"%s\"},\"location\":[{\"location\":{\"reference\":"
                          "\"Location/loc-ed\"}}],\"serviceProvider\":{\"reference\":\"Organization/org-acute\"}}",
                   start, start);
        synth_emit(g, "Encounter");
    }
    const char *method = s->emergency ? (via_ae ? "21" : "22") : (synth_rng_chance(r, 0.7) ? "11" : "12");
    const char *method_display = s->emergency ? (via_ae ? "Emergency Admission: Emergency Care Department or dental "
                                                          "casualty department of the Health Care Provider"
                                                        : "Emergency Admission: General Practitioner")
                                              : (method[1] == '1' ? "Elective Admission: Waiting list"
                                                                  : "Elective Admission: Booked");
    if(s->emergency)
        encounter_head(g, p, "finished", "IMP", "inpatient encounter", "emergency-admission", "Emergency admission");
    else
        encounter_head(g, p, "finished", "IMP", "inpatient encounter", "elective-admission", "Elective admission");
    buf_printf(&g->b, ",\"period\":{\"start\":\"%s\",\"end\":\"%s\"},\"length\":{\"value\":%lld,\"unit\":\"days\","
                      "\"system\":\"http://unitsofmeasure.org\",\"code\":\"d\"}",
               start, end, (long long)(s->discharge - s->admit));
    if(s->emergency) {
        int k = (int)synth_rng_below(r, sizeof ADMIT_REASON / sizeof *ADMIT_REASON);
        buf_printf(&g->b, ",\"reasonCode\":[{\"coding\":[{\"system\":\"" SNOMED "\",\"code\":\"%s\",\"display\":\"%s\"}]}]",
                   ADMIT_REASON[k][0], ADMIT_REASON[k][1]);
    }
    buf_printf(&g->b,
               ",\"hospitalization\":{\"extension\":[{\"url\":\"https://fhir.hl7.org.uk/StructureDefinition/"
               "Extension-UKCore-AdmissionMethod\",\"valueCodeableConcept\":{\"coding\":[{\"system\":"
               "\"https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland\",\"code\":\"%s\",\"display\":\"%s\"}]}}",
               method, method_display);
    if(s->emergency && !s->died) {
        int delay = (int)(s->discharge - s->ready);
        int reason = delay <= 0 ? 0 : s->pathway == 1 ? 1 : s->pathway == 2 ? 2 : s->pathway == 3 ? 3 : 6;
        if(delay > 0 && synth_rng_chance(r, 0.2)) reason = 4 + (int)synth_rng_below(r, 3);
        buf_printf(&g->b,
                   ",{\"url\":\"" KITH_SYS "StructureDefinition/discharge-pathway\",\"valueCoding\":{\"system\":\""
                   KITH_SYS "CodeSystem/discharge-pathway\",\"code\":\"%d\",\"display\":\"Pathway %d\"}},"
                   "{\"url\":\"" KITH_SYS "StructureDefinition/discharge-ready-date\",\"valueDateTime\":\"%s\"},"
                   "{\"url\":\"" KITH_SYS "StructureDefinition/discharge-delay-reason\",\"valueCodeableConcept\":{"
                   "\"coding\":[{\"system\":\"" KITH_SYS "CodeSystem/discharge-delay-reason\",\"code\":\"%s\","
                   "\"display\":\"%s\"}]}}",
                   s->pathway, s->pathway, ready, discharge_delay_reason[reason][0], discharge_delay_reason[reason][1]);
    }
    buf_printf(&g->b,
               "],\"dischargeDisposition\":{\"coding\":[{\"system\":\"https://fhir.hl7.org.uk/CodeSystem/"
               "UKCore-DischargeDestinationEngland\",\"code\":\"%s\",\"display\":\"%s\"}]}},\"location\":[{\"location\":"
               "{\"reference\":\"Location/loc-hospital\"}}],\"serviceProvider\":{\"reference\":\"Organization/org-acute\"}}",
               s->destination, s->destination_display);
    synth_emit(g, "Encounter");
}

/* ---- social care, as CLD rows ------------------------------------------- */

typedef struct cld_event {
    const char *type, *outcome, *route, *assessment_type, *eligible, *review_reason;
    const char *service_type, *component, *mechanism, *cost_unit;
    const char *support_reason;
    int64_t start, end; /* end NO_DAY: ongoing */
    double unit_cost, units;
    char ref[48];       /* out: the event reference */
} cld_event;

static const char *const CLD_HEADER =
    "LA_Code,LA_Person_Unique_Identifier,NHS_Number,Given_Name,Family_Name,Date_of_Birth,Gender,Ethnicity,Postcode,"
    "GP_Practice_Code,Date_of_Death,Client_Type,Primary_Support_Reason,Accommodation_Status,Has_Unpaid_Carer,"
    "Client_Funding_Status,Event_Type,Event_Reference,Event_Start_Date,Event_End_Date,Event_Outcome,"
    "Request_Route_of_Access,Assessment_Type,Eligible_Needs_Identified,Review_Reason,Service_Type,Service_Component,"
    "Delivery_Mechanism,Unit_Cost,Cost_Frequency_Unit_Type,Planned_Units_Per_Week";

/* The council's copy of a person: for 15% (for everyone when always_flawed)
 * it lacks the NHS number and has the errors people make writing details down
 * (decided once per person). */
static void council_record(synth_gen *g, person *p, int always_flawed) {
    synth_rng r;
    synth_rng_seed(&r, g->cfg->seed ^ 0xC0C1Cull, (uint64_t)p->n);
    p->record_flawed = synth_rng_chance(&r, 0.15) || always_flawed; /* drawn either way: the errors stay the same */
    snprintf(p->la_given, sizeof p->la_given, "%s", p->given);
    snprintf(p->la_family, sizeof p->la_family, "%s", p->family);
    synth_day(p->birth_day, p->la_dob);
    snprintf(p->la_postcode, sizeof p->la_postcode, "%s", p->postcode);
    p->errors[0] = '\0';
    if(!p->record_flawed) return;
    buf e = BUF_INIT;
    const char *nick = synth_nickname(p->given);
    if(nick && synth_rng_chance(&r, 0.35)) {
        snprintf(p->la_given, sizeof p->la_given, "%s", nick);
        buf_puts(&e, "nickname;");
    }
    if(synth_rng_chance(&r, 0.25)) { /* a typo in the family name: swap, drop or double a letter */
        size_t n = strlen(p->la_family);
        if(n >= 4) {
            size_t i = 1 + synth_rng_below(&r, (uint32_t)(n - 2));
            int how = (int)synth_rng_below(&r, 3);
            if(how == 0) {
                char t = p->la_family[i];
                p->la_family[i] = p->la_family[i + 1];
                p->la_family[i + 1] = t;
            } else if(how == 1) {
                memmove(p->la_family + i, p->la_family + i + 1, n - i);
            } else if(n + 1 < sizeof p->la_family) {
                memmove(p->la_family + i + 1, p->la_family + i, n - i + 1);
            }
            buf_puts(&e, "family-name-typo;");
        }
    }
    int y, m, d;
    datetime_civil_from_days(p->birth_day, &y, &m, &d);
    double u = synth_rng_uniform(&r);
    if(u < 0.10 && d <= 12 && d != m) {
        snprintf(p->la_dob, sizeof p->la_dob, "%04d-%02d-%02d", y, d, m);
        buf_puts(&e, "birth-date-day-month-swapped;");
    } else if(u < 0.15) {
        snprintf(p->la_dob, sizeof p->la_dob, "%04d-%02d-%02d", y + (synth_rng_chance(&r, 0.5) ? 1 : -1), m,
                 d == 29 && m == 2 ? 28 : d);
        buf_puts(&e, "birth-year-wrong;");
    }
    if(p->old_postcode[0] && synth_rng_chance(&r, 0.6)) {
        snprintf(p->la_postcode, sizeof p->la_postcode, "%s", p->old_postcode);
        buf_puts(&e, "previous-address;");
    } else if(synth_rng_chance(&r, 0.08)) {
        p->la_postcode[0] = '\0';
        buf_puts(&e, "postcode-missing;");
    }
    snprintf(p->errors, sizeof p->errors, "%s", buf_str(&e));
    size_t n = strlen(p->errors);
    if(n && p->errors[n - 1] == ';') p->errors[n - 1] = '\0';
    buf_free(&e);
}

/* The council's identifier for its kth person: LA and seven digits, distinct
 * for k below 8,999,999 (7 has an inverse modulo 8,999,999). */
static void la_person_id(long k, char out[16]) {
    snprintf(out, 16, "LA%07ld", 1000000 + k * 7 % 8999999);
}

static void cld_row(synth_gen *g, person *p, cld_event *ev) {
    if(!p->la_id[0]) {
        la_person_id(p->n, p->la_id);
        council_record(g, p, 0);
    }
    snprintf(ev->ref, sizeof ev->ref, "%s-%ld", p->la_id, ++p->events);
    char start[11], end[11] = "", dod[11] = "", cost[16] = "", units[16] = "";
    synth_day(ev->start, start);
    if(ev->end != NO_DAY) synth_day(ev->end, end);
    if(p->death_day != NO_DAY) synth_day(p->death_day, dod);
    if(ev->unit_cost > 0) snprintf(cost, sizeof cost, "%.2f", ev->unit_cost);
    if(ev->units > 0) snprintf(units, sizeof units, "%.1f", ev->units);
    const char *accommodation = p->care == 2 || p->care == 3 ? "Registered care home" : "Owner occupier or shared ownership";
    const char *fields[] = {
        LA_CODE, p->la_id, p->record_flawed ? "" : p->nhs, p->la_given, p->la_family, p->la_dob,
        p->sex == SEX_MALE ? "Male" : "Female", synth_ethnic_code[p->ethnic], p->la_postcode,
        g->place.practices[p->practice].ods, dod, "Service User", ev->support_reason, accommodation,
        has(p, C_LIVES_ALONE, ev->start) ? "No" : "Yes", "Local authority funded", ev->type, ev->ref, start, end, ev->outcome,
        ev->route, ev->assessment_type, ev->eligible, ev->review_reason, ev->service_type, ev->component,
        ev->mechanism, cost, ev->cost_unit, units,
    };
    for(size_t i = 0; i < sizeof fields / sizeof *fields; i++) csv_field(&g->line, fields[i], i == 0);
    synth_emit_line(g, SYNTH_CLD);
    g->rates.cld_rows++;
    if(p->record_flawed) g->rates.cld_rows_without_nhs_number++;
    csv_field(&g->line, LA_CODE, 1);
    csv_field(&g->line, ev->ref, 0);
    csv_field(&g->line, p->id, 0);
    csv_field(&g->line, p->nhs, 0);
    csv_field(&g->line, p->record_flawed ? "no" : "yes", 0);
    csv_field(&g->line, p->errors, 0);
    synth_emit_line(g, SYNTH_TRUTH_CLD);
}

static const char *support_reason(const person *p, int64_t day) {
    if(has(p, C_COGNITIVE_PROBLEMS, day)) return "Support with Memory and Cognition";
    if(has(p, C_MOBILITY_PROBLEMS, day) || has(p, C_HOUSEBOUND, day)) return "Physical Support: Personal care support";
    if(has(p, C_VISION_PROBLEMS, day) && has(p, C_HEARING_LOSS, day)) return "Sensory Support: Support for dual impairment";
    return "Physical Support: Access and mobility only";
}

static void sc_event(synth_gen *g, person *p, const char *type, int64_t start, int64_t end, const char *outcome,
                     cld_event *tmpl) {
    cld_event ev = tmpl ? *tmpl : (cld_event){0};
    ev.type = type;
    ev.start = start;
    ev.end = end;
    ev.outcome = outcome;
    if(!ev.support_reason) ev.support_reason = support_reason(p, start);
    if(p->death_day != NO_DAY && start > p->death_day) return; /* died first */
    if(ev.end != NO_DAY && p->death_day != NO_DAY && ev.end > p->death_day) ev.end = p->death_day;
    cld_row(g, p, &ev);
}

/* Start a long-term service (1 home care, 2 residential, 3 nursing) on day. */
static void start_long_term(person *p, synth_rng *r, int kind, int64_t day) {
    if(p->death_day != NO_DAY && day > p->death_day) return;
    p->care = kind;
    p->care_start = day;
    p->next_review = day + 365;
    if(kind == 1) p->care_hours = 5 + synth_rng_below(r, 16);
}

/* End the long-term service (if any) on day, writing its Service row. */
static void end_long_term(synth_gen *g, person *p, int64_t day) {
    if(!p->care) return;
    if(day != NO_DAY && day < p->care_start) { /* stopped before it began: cancelled, and CLD leaves those out */
        p->care = 0;
        return;
    }
    cld_event ev = {0};
    if(p->care == 1) {
        ev.service_type = "Long Term Support: Community";
        ev.component = "Home Support / Home Care";
        ev.mechanism = p->n % 5 == 0 ? "Direct Payment" : "CASSR Commissioned Support";
        ev.unit_cost = 24.50 + (double)(p->n % 7) * 0.5;
        ev.cost_unit = "Hourly";
        ev.units = p->care_hours;
    } else {
        ev.service_type = p->care == 2 ? "Long Term Support: Residential Care" : "Long Term Support: Nursing Care";
        ev.component = p->care == 2 ? "Residential Care: Permanent" : "Nursing Care: Permanent";
        ev.mechanism = "CASSR Commissioned Support";
        ev.unit_cost = p->care == 2 ? 850.0 : 1050.0;
        ev.cost_unit = "Weekly";
        ev.units = 1;
    }
    const char *outcome = day == NO_DAY ? NULL : day == p->death_day ? "NFA - Deceased" : "Service ended as planned";
    sc_event(g, p, "Service", p->care_start, day, outcome, &ev);
    p->care = 0;
}

/* A request for support, and what follows it, from day. */
static void social_care_request(synth_gen *g, person *p, synth_rng *r, int64_t day, int pathway) {
    cld_event req = {.route = pathway ? "Discharge from Hospital" : "Community / Other route"};
    int64_t req_end = day + (pathway ? 1 : 3 + synth_rng_below(r, 10));
    if(pathway == 3 || (pathway == 0 && synth_rng_chance(r, 0.40))) {
        sc_event(g, p, "Request", day, req_end, "Progress to Assessment", &req);
        int64_t a_end = req_end + 7 + synth_rng_below(r, 21);
        int eligible = pathway == 3 || synth_rng_chance(r, 0.75);
        cld_event as = {.assessment_type = "Long Term Support Assessment", .eligible = eligible ? "Yes" : "No"};
        sc_event(g, p, "Assessment", req_end, a_end,
                 eligible ? "Progress to Support Planning / Services" : "NFA - Information & Advice / Signposting only",
                 &as);
        if(eligible) {
            end_long_term(g, p, a_end);
            int kind = pathway == 3 ? (synth_rng_chance(r, 0.4) ? 3 : 2) : 1;
            start_long_term(p, r, kind, a_end + 1);
        }
        return;
    }
    if(pathway || synth_rng_chance(r, 0.35)) {
        sc_event(g, p, "Request", day, req_end, "Progress to Reablement/ST-Max", &req);
        int64_t s_end = req_end + 21 + synth_rng_below(r, 22);
        cld_event st = {.service_type = pathway == 2 ? "Short Term Support: Other Short Term" : "Short Term Support: ST-Max",
                        .component = pathway == 2 ? "Short Term Residential Care" : "Reablement",
                        .mechanism = "CASSR Commissioned Support",
                        .unit_cost = pathway == 2 ? 120.0 : 0,
                        .cost_unit = pathway == 2 ? "Daily" : NULL};
        sc_event(g, p, "Service", req_end, s_end, "Service ended as planned", &st);
        int more = synth_rng_chance(r, pathway == 2 ? 0.6 : 0.35);
        cld_event rv = {.review_reason = "Planned"};
        sc_event(g, p, "Review", s_end, s_end + 2,
                 more ? "Progress to Support Planning / Services" : "NFA - Support ended: Other reason", &rv);
        if(more && !p->care) start_long_term(p, r, pathway == 2 && synth_rng_chance(r, 0.3) ? 2 : 1, s_end + 3);
        return;
    }
    static const char *const NFA[] = {"NFA - Information & Advice / Signposting only", "NFA - Support declined",
                                      "NFA - Self-funded client (Inc. 12wk disregard)"};
    sc_event(g, p, "Request", day, req_end, NFA[synth_rng_below(r, 3)], &req);
}

/* ---- the life of one person --------------------------------------------- */

/* Who person n is: the first draws from their stream r, the same whether or
 * not their health and life follow (person_make). The NHS number is left
 * empty when g has none for n. Returns the age drawn for the start of the
 * period (whole years; the birth date is drawn within that year of age). */
static int person_identity(synth_gen *g, person *p, synth_rng *r, long n) {
    const synth_config *c = g->cfg;
    memset(p, 0, sizeof *p);
    p->n = n;
    snprintf(p->id, sizeof p->id, "pat-%ld", n + 1);
    if(n < g->nhs_count) synth_nhs_number(g->nhs_base[n], p->nhs);
    int band = (int)synth_rng_weighted(r, synth_age_share, 19);
    int age = band * 5 + (int)synth_rng_below(r, band == 18 ? 12 : 5);
    double female = age < 65 ? 0.50 : age < 75 ? 0.52 : age < 85 ? 0.55 : 0.63;
    p->sex = synth_rng_chance(r, female) ? SEX_FEMALE : SEX_MALE;
    p->birth_day = c->start_day - (int64_t)age * 365 - (int64_t)(age / 4) - synth_rng_below(r, 365);
    p->ethnic = (int)synth_rng_weighted(r, synth_ethnic_share, 17);
    if(age >= 65 && p->ethnic != 0 && synth_rng_chance(r, 0.55)) p->ethnic = 0; /* older people: more White British */
    p->group = synth_ethnic_group(p->ethnic);
    p->practice = (long)synth_rng_below(r, (uint32_t)g->place.npractices);
    p->neighbourhood = g->place.practices[p->practice].neighbourhood;
    double dec = g->place.decile_mean[p->neighbourhood] + 1.8 * synth_rng_normal(r);
    p->decile = dec < 1 ? 1 : dec > 10 ? 10 : (int)dec;
    int by, bm, bd;
    datetime_civil_from_days(p->birth_day, &by, &bm, &bd);
    p->given = synth_given_name(p->sex, by, p->group, (uint32_t)synth_rng_next(r));
    p->family = synth_family_name(p->group, (uint32_t)synth_rng_next(r));
    p->street = synth_street((uint32_t)synth_rng_next(r));
    p->house = 1 + (int)synth_rng_below(r, 180);
    snprintf(p->postcode, sizeof p->postcode, "KH%d %u%c%c", p->neighbourhood + 1, 1 + synth_rng_below(r, 9),
             'A' + (char)synth_rng_below(r, 26), 'A' + (char)synth_rng_below(r, 26));
    if(synth_rng_chance(r, 0.10)) /* moved house in the last few years */
        snprintf(p->old_postcode, sizeof p->old_postcode, "KH%u %u%c%c", 1 + synth_rng_below(r, 12),
                 1 + synth_rng_below(r, 9), 'A' + (char)synth_rng_below(r, 26), 'A' + (char)synth_rng_below(r, 26));
    p->death_day = NO_DAY;
    return age;
}

/* Person n: who they are, their latent frailty and their conditions and
 * medicines at the start. */
static void person_make(synth_gen *g, person *p, synth_rng *r, long n) {
    const synth_config *c = g->cfg;
    int age = person_identity(g, p, r, n);
    p->z = synth_rng_normal(r) + 0.35 * (5.5 - p->decile) / 4.5;
    p->last_discharge = NO_DAY;
    p->mdt_day = NO_DAY;
    for(int k = 0; k < SYNTH_NCONDITIONS; k++) {
        p->onset[k] = NO_DAY;
        if(age < 18 && k != C_RESPIRATORY_DISEASE) continue;
        double pr = condition_probability(&synth_conditions[k], age, p->z, p->sex);
        if(synth_rng_chance(r, pr)) {
            int since = 1 + (int)synth_rng_below(r, (uint32_t)(age > 20 ? (age - 15) / 2 + 1 : age + 1));
            p->onset[k] = c->start_day - (int64_t)since * 365 + synth_rng_below(r, 365);
            if(p->onset[k] < p->birth_day) p->onset[k] = p->birth_day + 365;
            add_medicines(p, r, k, p->onset[k]);
        }
    }
    p->efi_start = efi_on(p, c->start_day);
}

static int64_t end_day(const synth_config *c) {
    int y, m, d;
    datetime_civil_from_days(c->start_day, &y, &m, &d);
    return datetime_days_from_civil(y + c->years, m, d);
}

/* Emergency admissions per year for p on day (the ground-truth hazard). */
static double emergency_hazard(const synth_gen *g, const person *p, int64_t day, int age) {
    double efi = efi_on(p, day);
    int prior = 0;
    for(int i = 0; i < p->nrecent; i++) prior += p->recent[i] > day - 365;
    if(prior > 3) prior = 3;
    double lp = BETA_EFI * efi + BETA_LTC * ltc_count(p, day) + BETA_DEPRIVATION * (10 - p->decile) / 9.0 +
                BETA_PRIOR_12M * prior;
    if(p->last_discharge != NO_DAY && day - p->last_discharge <= 30) lp += BETA_RECENT_30;
    double h = EMERGENCY_BASE[band_of(age)] * exp(lp);
    if(p->mdt_day != NO_DAY && day >= p->mdt_day) h *= 1.0 - g->cfg->programme_effect;
    return h;
}

static double annual_mortality(int age, double efi) {
    double q = age < 1 ? 0.004 : age < 15 ? 0.0001 : exp(-10.7 + 0.097 * age);
    if(age >= 65) q *= exp(3.0 * (efi - 0.15));
    return q > 0.6 ? 0.6 : q;
}

/* Length of stay, pathway and delay for an emergency admission. */
static void plan_stay(person *p, synth_rng *r, stay *s, int age, double efi) {
    int cat = frailty_category(efi);
    double zero = age < 65 ? 0.35 : 0.22;
    int los;
    if(synth_rng_chance(r, zero)) {
        los = 0;
    } else {
        double mean = age < 45 ? 3.0 : age < 65 ? 4.5 : age < 75 ? 6.5 : age < 85 ? 8.0 : 9.5;
        mean *= 1.0 + 1.2 * efi;
        los = 1 + (int)(mean * exp(0.8 * synth_rng_normal(r) - 0.32));
        if(los > 120) los = 120;
    }
    static const double PW[5][4] = {{0.96, 0.03, 0.008, 0.002}, /* under 65 */
                                    {0.86, 0.11, 0.02, 0.01},   /* 65+ fit */
                                    {0.72, 0.22, 0.04, 0.02},
                                    {0.56, 0.32, 0.07, 0.05},
                                    {0.42, 0.36, 0.11, 0.11}};
    int row = age < 65 ? 0 : 1 + cat;
    s->pathway = los == 0 ? 0 : (int)synth_rng_weighted(r, PW[row], 4);
    if(p->care >= 2 && s->pathway == 3) s->pathway = 0; /* already lives in a care home: goes back */
    static const double DELAY_MEAN[4] = {0.3, 3.0, 6.0, 10.0};
    int delay = s->pathway == 0 ? (synth_rng_chance(r, 0.1) ? 1 : 0) : (int)synth_rng_exponential(r, 1.0 / DELAY_MEAN[s->pathway]);
    s->ready = s->admit + los;
    s->discharge = s->ready + delay;
    s->destination = "19";
    s->destination_display = "Usual place of residence";
    if(s->pathway == 3 || p->care >= 2) {
        s->destination = "85";
        s->destination_display = "Non-NHS (other than Local Authority) run Care Home";
    }
}

static void simulate(synth_gen *g, person *p, synth_rng *r) {
    const synth_config *c = g->cfg;
    int64_t end = end_day(c);
    int start_age = age_on(p, c->start_day);
    /* people already receiving long-term care at the start */
    if(start_age >= 65) {
        static const double LTS[4] = {0.005, 0.02, 0.08, 0.20};
        if(synth_rng_chance(r, LTS[frailty_category(p->efi_start)])) {
            int kind = synth_rng_chance(r, 0.35) ? (synth_rng_chance(r, 0.4) ? 3 : 2) : 1;
            start_long_term(p, r, kind, c->start_day - 30 - synth_rng_below(r, 3 * 365));
            p->next_review = c->start_day + synth_rng_below(r, 365);
        }
    } else if(start_age >= 18 && synth_rng_chance(r, 0.006)) {
        start_long_term(p, r, 1, c->start_day - 30 - synth_rng_below(r, 5 * 365));
        p->next_review = c->start_day + synth_rng_below(r, 365);
    }
    int64_t day = c->start_day;
    int64_t next_obs = c->start_day + synth_rng_below(r, 365);
    while(day < end) {
        int64_t step_end = day + 30 < end ? day + 30 : end;
        double years = (double)(step_end - day) / 365.25;
        int age = age_on(p, day);
        int band = band_of(age);
        /* new conditions */
        if(age >= 18) {
            for(int k = 0; k < SYNTH_NCONDITIONS; k++) {
                if(p->onset[k] != NO_DAY) continue;
                const synth_condition *cd = &synth_conditions[k];
                double p0 = condition_probability(cd, age, p->z, p->sex);
                double p1 = condition_probability(cd, age + 1, p->z, p->sex);
                double inc = p1 > p0 ? (p1 - p0) / (1.0 - p0) : 0;
                if(synth_rng_chance(r, inc * years)) {
                    p->onset[k] = day + synth_rng_below(r, (uint32_t)(step_end - day));
                    add_medicines(p, r, k, p->onset[k]);
                }
            }
        }
        double efi = efi_on(p, day);
        /* death */
        int64_t death = NO_DAY;
        if(synth_rng_chance(r, 1.0 - exp(-annual_mortality(age, efi) * years)))
            death = day + synth_rng_below(r, (uint32_t)(step_end - day));
        /* the integrated care programme: case finding in the neighbourhoods that joined */
        if(p->mdt_day == NO_DAY && day >= c->programme_day && g->place.int_site[p->neighbourhood] && age >= 65) {
            int admitted = 0;
            for(int i = 0; i < p->nrecent; i++) admitted |= p->recent[i] > day - 365;
            if(efi > 0.24 || admitted) {
                int64_t when = day + synth_rng_below(r, (uint32_t)(step_end - day));
                if(death == NO_DAY || when < death) {
                    p->mdt_day = when;
                    emit_contact(g, p, r, ENC_MDT, p->mdt_day);
                }
            }
        }
        /* an emergency admission */
        stay s = {0};
        int admitted = 0;
        double h = emergency_hazard(g, p, day, age);
        if(death != NO_DAY && synth_rng_chance(r, p->care >= 2 ? 0.20 : 0.44)) {
            s.emergency = 1;
            s.died = 1;
            int los = (int)synth_rng_exponential(r, 1.0 / 9.0);
            s.admit = death - los < day ? day : death - los;
            s.ready = s.discharge = death;
            s.destination = "79";
            s.destination_display = "Not applicable - Patient died or stillbirth";
            admitted = 1;
        } else if(synth_rng_chance(r, 1.0 - exp(-h * years))) {
            s.emergency = 1;
            s.admit = day + synth_rng_below(r, (uint32_t)(step_end - day));
            if(death != NO_DAY && death < s.admit) s.admit = death; /* dies on arrival */
            plan_stay(p, r, &s, age, efi);
            if(death != NO_DAY && death <= s.discharge) {
                s.died = 1;
                s.ready = s.discharge = death;
                s.destination = "79";
                s.destination_display = "Not applicable - Patient died or stillbirth";
            }
            admitted = 1;
        } else if(synth_rng_chance(r, 1.0 - exp(-ELECTIVE_RATE[band] * years))) {
            s.admit = day + synth_rng_below(r, (uint32_t)(step_end - day));
            int los = synth_rng_chance(r, 0.7) ? 0 : 1 + (int)synth_rng_below(r, 5);
            s.ready = s.discharge = s.admit + los;
            s.destination = "19";
            s.destination_display = "Usual place of residence";
            if(death != NO_DAY && death >= s.admit && death <= s.discharge) death = s.discharge + 1;
            admitted = death == NO_DAY || death > s.admit; /* no admission after death */
        }
        if(death != NO_DAY) p->death_day = death; /* known now, so nothing is planned after it */
        int64_t busy_from = admitted ? s.admit : step_end; /* contacts happen before a stay */
        if(death != NO_DAY && death < busy_from) busy_from = death;
        /* GP, A&E and community contacts in [day, busy_from) */
        double span = (double)(busy_from - day) / 365.25;
        if(span > 0) {
            double gp = GP_RATE[band] * (1.0 + 0.06 * ltc_count(p, day));
            if(band == 1 && p->sex == SEX_FEMALE) gp *= 1.3;
            unsigned n = synth_rng_poisson(r, gp * span);
            for(unsigned i = 0; i < n; i++)
                emit_contact(g, p, r, ENC_GP, day + synth_rng_below(r, (uint32_t)(busy_from - day)));
            n = synth_rng_poisson(r, AE_RATE[band] * (1.0 + efi) * span);
            for(unsigned i = 0; i < n; i++)
                emit_contact(g, p, r, ENC_AE, day + synth_rng_below(r, (uint32_t)(busy_from - day)));
            double dn = has(p, C_HOUSEBOUND, day) || efi > 0.36 ? 12.0 : efi > 0.24 ? 3.0 : 0.0;
            n = synth_rng_poisson(r, dn * span);
            for(unsigned i = 0; i < n; i++)
                emit_contact(g, p, r, ENC_COMMUNITY, day + synth_rng_below(r, (uint32_t)(busy_from - day)));
            /* a request for social care from the community */
            static const double REQ[4] = {0.008, 0.03, 0.08, 0.15};
            if(age >= 65 && !p->care && synth_rng_chance(r, REQ[frailty_category(efi)] * span))
                social_care_request(g, p, r, day + synth_rng_below(r, (uint32_t)(busy_from - day)), 0);
        }
        while(next_obs < busy_from) {
            int lt = has(p, C_HYPERTENSION, next_obs) || has(p, C_DIABETES, next_obs) || has(p, C_CKD, next_obs) || has(p, C_CHD, next_obs);
            if(lt || (age >= 40 && synth_rng_chance(r, 0.4))) emit_observation(g, p, r, next_obs, 0);
            if(age >= 65 || has(p, C_DIABETES, next_obs)) emit_observation(g, p, r, next_obs, 1);
            next_obs += 365;
        }
        /* a planned review of long-term care */
        if(p->care && p->next_review < busy_from) {
            cld_event rv = {.review_reason = "Planned"};
            sc_event(g, p, "Review", p->next_review, p->next_review, "No change in package", &rv);
            p->next_review += 365;
        }
        if(admitted) {
            emit_stay(g, p, r, &s);
            if(s.emergency) {
                g->rates.emergency_admissions[band]++;
                g->rates.emergency_admissions[6]++;
                if(age >= 65) g->rates.emergency_admissions[7]++;
                g->rates.emergency_stays++;
                g->rates.emergency_bed_days += s.discharge - s.admit;
                if(p->last_discharge != NO_DAY && s.admit - p->last_discharge <= 30) g->rates.readmissions_30d++;
                if(p->nrecent == MAX_RECENT) memmove(p->recent, p->recent + 1, (MAX_RECENT - 1) * sizeof *p->recent);
                else p->nrecent++;
                p->recent[p->nrecent - 1] = s.admit;
                p->emergency_admissions++;
                if(!s.died) p->last_discharge = s.discharge;
                if(!s.died && s.pathway > 0 && age >= 18 && (p->care < 2 || s.pathway == 3))
                    social_care_request(g, p, r, s.ready > s.admit ? s.ready - 1 : s.admit, s.pathway);
            }
            if(s.died) death = s.discharge;
        }
        int64_t next = death != NO_DAY ? death : admitted ? s.discharge + 1 : step_end;
        if(next > end) next = end;
        double lived = (double)(next - day) / 365.25;
        g->rates.person_years[band] += lived;
        g->rates.person_years[6] += lived;
        if(age >= 65) g->rates.person_years[7] += lived;
        day = next;
        if(death != NO_DAY) {
            p->death_day = death;
            g->rates.deaths++;
            if(s.died) g->rates.deaths_in_hospital++;
            break;
        }
    }
    if(p->care) end_long_term(g, p, p->death_day); /* ongoing (NO_DAY) or ended by death */
}

static void emit_patient(synth_gen *g, person *p) {
    char birth[11], tel[16];
    synth_day(p->birth_day, birth);
    snprintf(tel, sizeof tel, "07700 900%03ld", p->n % 1000);
    synth_practice *pr = &g->place.practices[p->practice];
    buf_printf(&g->b,
               "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"extension\":[{\"url\":\"https://fhir.hl7.org.uk/"
               "StructureDefinition/Extension-UKCore-EthnicCategory\",\"valueCodeableConcept\":{\"coding\":[{"
               "\"system\":\"https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategory\",\"code\":\"%s\",\"display\":"
               "\"%s\"}]}}],\"identifier\":[{\"system\":\"" NHS_NUMBER_SYS "\",\"value\":\"%s\"}],\"active\":true,"
               "\"name\":[{\"use\":\"official\",\"family\":\"%s\",\"given\":[\"%s\"]}],\"telecom\":[{\"system\":"
               "\"phone\",\"value\":\"%s\",\"use\":\"mobile\"}],\"gender\":\"%s\",\"birthDate\":\"%s\",",
               p->id, synth_ethnic_code[p->ethnic], synth_ethnic_display[p->ethnic], p->nhs, p->family, p->given, tel,
               p->sex == SEX_MALE ? "male" : "female", birth);
    if(p->death_day != NO_DAY) {
        char d[32];
        synth_datetime(p->death_day, 12 * 60, d);
        buf_printf(&g->b, "\"deceasedDateTime\":\"%s\",", d);
    }
    buf_printf(&g->b,
               "\"address\":[{\"extension\":[{\"url\":\"" KITH_SYS "StructureDefinition/imd-decile\",\"valueInteger\":%d}],"
               "\"use\":\"home\",\"line\":[\"%d %s\"],\"city\":\"%s\",\"district\":\"Kithshire\","
               "\"postalCode\":\"%s\",\"country\":\"GB\"}],\"generalPractitioner\":[{\"reference\":\"Organization/%s\","
               "\"identifier\":{\"system\":\"" ODS_SYS "\",\"value\":\"%s\"}}],\"managingOrganization\":{\"reference\":"
               "\"Organization/%s\"}}",
               p->decile, p->house, p->street, synth_locality_name[p->neighbourhood / 4], p->postcode, pr->id, pr->ods,
               pr->id);
    synth_emit(g, "Patient");
}

static void emit_truth_person(synth_gen *g, const person *p) {
    char birth[11], death[11] = "", mdt[11] = "", efi[16];
    synth_day(p->birth_day, birth);
    if(p->death_day != NO_DAY) synth_day(p->death_day, death);
    if(p->mdt_day != NO_DAY) synth_day(p->mdt_day, mdt);
    snprintf(efi, sizeof efi, "%.4f", p->efi_start);
    char n1[16], n2[16], n3[16], n4[24];
    snprintf(n1, sizeof n1, "%d", p->neighbourhood + 1);
    snprintf(n2, sizeof n2, "%d", g->place.int_site[p->neighbourhood]);
    snprintf(n3, sizeof n3, "%d", p->decile);
    snprintf(n4, sizeof n4, "%ld", p->emergency_admissions);
    const char *f[] = {p->id, p->nhs, p->la_id, p->given, p->family, birth, p->sex == SEX_MALE ? "male" : "female",
                       p->postcode, g->place.practices[p->practice].ods, n1, n2, n3, efi,
                       FRAILTY_NAME[frailty_category(p->efi_start)], mdt, n4, death};
    for(size_t i = 0; i < sizeof f / sizeof *f; i++) csv_field(&g->line, f[i], i == 0);
    synth_emit_line(g, SYNTH_TRUTH_PEOPLE);
}

static void person_emit_record(synth_gen *g, person *p) {
    for(int k = 0; k < SYNTH_NCONDITIONS; k++)
        if(p->onset[k] != NO_DAY && (p->death_day == NO_DAY || p->onset[k] <= p->death_day)) emit_condition(g, p, k);
    for(int i = 0; i < p->nmeds; i++)
        if(p->death_day == NO_DAY || p->med_start[i] <= p->death_day) emit_medicine(g, p, i);
}

static void person_free(person *p) {
    for(int i = 0; i < p->nmeds; i++) free((char *)p->med[i]);
    p->nmeds = 0;
}

/* ---- the run ------------------------------------------------------------- */

void synth_config_default(synth_config *c) {
    memset(c, 0, sizeof *c);
    c->people = 1000;
    c->seed = 1;
    c->start_day = datetime_days_from_civil(2023, 4, 1);
    c->years = 3;
    c->programme_day = datetime_days_from_civil(2024, 4, 1);
    c->programme_effect = 0.12;
}

/* Put v[0..n) in random order (Fisher-Yates, from the end). */
static void shuffle(uint32_t *v, long n, synth_rng *r) {
    for(long i = n - 1; i > 0; i--) {
        uint32_t j = synth_rng_below(r, (uint32_t)(i + 1));
        uint32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* The list is every base with a check digit, shuffled, and then without the
 * numbers nhs_number_parse refuses (only 9999999999, a placeholder): each is
 * replaced by the last number of the list. Shuffling first and dropping after
 * keeps every other person's number what it was before placeholders were
 * dropped, and what it is for any size of place. */
uint32_t *synth_nhs_numbers(uint64_t seed, long *count) {
    uint32_t *v = xmalloc(1000000 * sizeof *v);
    long n = 0;
    char d[16];
    for(uint32_t i = 0; i < 1000000; i++) {
        snprintf(d, sizeof d, "999%06u", i);
        if(nhs_number_check_digit(d) >= 0) v[n++] = 999000000u + i;
    }
    synth_rng r;
    synth_rng_seed(&r, seed, 0x999ull);
    shuffle(v, n, &r);
    char number[11];
    for(long i = 0; i < n; i++) {
        synth_nhs_number(v[i], number);
        while(i < n && nhs_number_parse(number, NULL) != NHS_NUMBER_OK) {
            v[i] = v[--n];
            synth_nhs_number(v[i], number);
        }
    }
    *count = n;
    return v;
}

void synth_nhs_number(uint32_t base, char out[11]) {
    char nine[10];
    snprintf(nine, sizeof nine, "%09u", base % 1000000000u);
    snprintf(out, 11, "%s%d", nine, nhs_number_check_digit(nine));
}

static void write_model(synth_gen *g) {
    const synth_config *c = g->cfg;
    const synth_rates *rt = &g->rates;
    buf *b = &g->b;
    char start[11], prog[11];
    synth_day(c->start_day, start);
    synth_day(c->programme_day, prog);
    buf_printf(b, "{\"generator\":\"kith synth\",\"seed\":%llu,\"people\":%ld,\"start\":\"%s\",\"years\":%d,",
               (unsigned long long)c->seed, c->people, start, c->years);
    buf_printf(b, "\"programme\":{\"start\":\"%s\",\"relativeHazardReduction\":%.4f,\"neighbourhoods\":[", prog,
               c->programme_effect);
    int first = 1;
    for(int n = 0; n < SYNTH_NEIGHBOURHOODS; n++)
        if(g->place.int_site[n]) {
            buf_printf(b, "%s{\"number\":%d,\"name\":\"%s\",\"organization\":\"org-int-%d\"}", first ? "" : ",", n + 1,
                       synth_neighbourhood_name[n], n + 1);
            first = 0;
        }
    buf_puts(b, "],\"caseFindingRule\":\"aged 65 or over and (eFI over 0.24, or an emergency admission in the "
                "previous 12 months), in a neighbourhood that joined, on or after the start; discussed once\"},");
    buf_puts(b, "\"emergencyAdmissionHazard\":{\"form\":\"admissions per year = base[age band] * exp(eFI*bEfi + "
                "conditions*bLtc + (10-decile)/9*bDeprivation + min(admissions in previous 365 days,3)*bPrior + "
                "[discharged from an emergency stay within 30 days]*bRecent30) * (1 - programme effect, after the "
                "person's MDT discussion)\",\"base\":{");
    for(int i = 0; i < 6; i++) buf_printf(b, "%s\"%s\":%.4f", i ? "," : "", BAND_NAME[i], EMERGENCY_BASE[i]);
    buf_printf(b, "},\"bEfi\":%.3f,\"bLtc\":%.3f,\"bDeprivation\":%.3f,\"bPrior\":%.3f,\"bRecent30\":%.3f},", BETA_EFI,
               BETA_LTC, BETA_DEPRIVATION, BETA_PRIOR_12M, BETA_RECENT_30);
    buf_puts(b, "\"rates\":{\"emergencyAdmissionsPer1000PerYear\":{");
    for(int i = 0; i < SYNTH_AGE_BANDS; i++) {
        double py = rt->person_years[i];
        buf_printf(b, "%s\"%s\":%.1f", i ? "," : "", BAND_NAME[i], py > 0 ? 1000.0 * rt->emergency_admissions[i] / py : 0.0);
    }
    buf_puts(b, "},\"englandReferencePer1000PerYear\":{");
    for(int i = 0; i < 6; i++) buf_printf(b, "%s\"%s\":%.0f", i ? "," : "", BAND_NAME[i], ENGLAND_EMERGENCY[i]);
    long over65 = rt->over65 ? rt->over65 : 1;
    buf_printf(b,
               "},\"meanLengthOfStayEmergencyDays\":%.2f,\"readmissionWithin30DaysPercent\":%.1f,"
               "\"deaths\":%ld,\"deathsInHospitalPercent\":%.1f,\"over65\":%ld,\"efiCategoryPercentOver65\":{"
               "\"fit\":%.1f,\"mild\":%.1f,\"moderate\":%.1f,\"severe\":%.1f},\"resources\":%ld,\"cldRows\":%ld,"
               "\"cldRowsWithoutNhsNumberPercent\":%.1f,\"mdtDiscussions\":%ld}}",
               rt->emergency_stays ? (double)rt->emergency_bed_days / rt->emergency_stays : 0.0,
               rt->emergency_stays ? 100.0 * rt->readmissions_30d / rt->emergency_stays : 0.0, rt->deaths,
               rt->deaths ? 100.0 * rt->deaths_in_hospital / rt->deaths : 0.0, rt->over65,
               100.0 * rt->efi_category[0] / over65, 100.0 * rt->efi_category[1] / over65,
               100.0 * rt->efi_category[2] / over65, 100.0 * rt->efi_category[3] / over65, rt->resources,
               rt->cld_rows, rt->cld_rows ? 100.0 * rt->cld_rows_without_nhs_number / rt->cld_rows : 0.0,
               rt->mdt_discussions);
    if(!g->stopped && g->sink->write(g->sink->ctx, SYNTH_TRUTH_MODEL, NULL, b->data, b->len)) g->stopped = 1;
    buf_reset(b);
}

kith_rc synth_config_check(const synth_config *c, char *err, size_t errlen) {
    if(c->people < 1 || c->people > SYNTH_MAX_PEOPLE) {
        snprintf(err, errlen,
                 "--people must be between 1 and %ld: the NHS number test range (999 000 0000 to 999 999 9999) holds "
                 "only that many valid numbers that are not placeholders, and synthetic people never get real ones",
                 SYNTH_MAX_PEOPLE);
        return KITH_EINVAL;
    }
    if(c->years < 1 || c->years > 20) {
        snprintf(err, errlen, "--years must be between 1 and 20");
        return KITH_EINVAL;
    }
    if(c->programme_effect < 0 || c->programme_effect >= 1) {
        snprintf(err, errlen, "the programme effect must be at least 0 and below 1");
        return KITH_EINVAL;
    }
    return KITH_OK;
}

/* Free what a run's writer state owns (not the config or the sink). */
static void gen_free(synth_gen *g) {
    free(g->nhs_base);
    synth_place_free(&g->place);
    buf_free(&g->b);
    buf_free(&g->line);
}

kith_rc synth_run(const synth_config *c, const synth_sink *sink, synth_rates *rates, char *err, size_t errlen) {
    kith_rc rc = synth_config_check(c, err, errlen);
    if(rc) return rc;
    synth_gen g = {.cfg = c, .sink = sink, .b = BUF_INIT, .line = BUF_INIT};
    g.nhs_base = synth_nhs_numbers(c->seed, &g.nhs_count);
    rc = synth_place_build(&g);
    buf_puts(&g.line, CLD_HEADER);
    synth_emit_line(&g, SYNTH_CLD);
    buf_puts(&g.line, "LA_Code,Event_Reference,Patient_Id,NHS_Number,NHS_Number_Recorded,Errors");
    synth_emit_line(&g, SYNTH_TRUTH_CLD);
    buf_puts(&g.line, "Patient_Id,NHS_Number,LA_Person_Unique_Identifier,Given_Name,Family_Name,Birth_Date,Sex,"
                      "Postcode,GP_Practice_Code,Neighbourhood,Programme_Neighbourhood,Deprivation_Decile,"
                      "eFI_At_Start,Frailty_At_Start,MDT_Discussed,Emergency_Admissions,Death_Date");
    synth_emit_line(&g, SYNTH_TRUTH_PEOPLE);
    person *p = xcalloc(1, sizeof *p);
    for(long n = 0; n < c->people && !rc && !g.stopped; n++) {
        synth_rng r;
        synth_rng_seed(&r, c->seed, (uint64_t)n + 1);
        person_make(&g, p, &r, n);
        if(age_on(p, c->start_day) >= 65) {
            g.rates.over65++;
            g.rates.efi_category[frailty_category(p->efi_start)]++;
        }
        simulate(&g, p, &r);
        person_emit_record(&g, p);
        emit_patient(&g, p);
        emit_truth_person(&g, p);
        person_free(p);
        if(sink->progress && (n % 1000 == 999 || n + 1 == c->people)) sink->progress(sink->ctx, n + 1, c->people);
    }
    free(p);
    if(!rc && !g.stopped) write_model(&g);
    if(!rc && g.stopped) rc = KITH_EIO;
    if(rates) *rates = g.rates;
    gen_free(&g);
    return rc;
}

/* ---- identities only (kith synth --identities) ----------------------------- */

#define IDENTITY_HEADER "id,given,family,birth_date,sex,postcode"
#define IDENTITY_STREAM 0x1DE17171E5ull /* choosing the council's copies: above any person's stream */

kith_rc synth_identities_check(const synth_config *c, double matched, char *err, size_t errlen) {
    if(c->people < 1 || c->people > SYNTH_MAX_IDENTITIES) {
        snprintf(err, errlen, "--identities must be between 1 and %ld", SYNTH_MAX_IDENTITIES);
        return KITH_EINVAL;
    }
    if(!(matched >= 0 && matched <= 1)) { /* NaN too */
        snprintf(err, errlen, "--matched must be a share from 0 to 1");
        return KITH_EINVAL;
    }
    return KITH_OK;
}

static int discard_write(void *ctx, synth_stream s, const char *type, const char *text, size_t len) {
    (void)ctx, (void)s, (void)type, (void)text, (void)len;
    return 0;
}

/* Person n's identity, from their own stream as in synth_run. */
static void identity_of(synth_gen *g, person *p, long n) {
    synth_rng r;
    synth_rng_seed(&r, g->cfg->seed, (uint64_t)n + 1);
    person_identity(g, p, &r, n);
}

/* One row of people.csv or council.csv. */
static void identity_row(synth_gen *g, synth_stream s, const char *id, const char *given, const char *family,
                         const char *birth, int sex, const char *postcode) {
    const char *f[] = {id, given, family, birth, sex == SEX_MALE ? "male" : "female", postcode};
    for(size_t i = 0; i < sizeof f / sizeof *f; i++) csv_field(&g->line, f[i], i == 0);
    synth_emit_line(g, s);
}

/* Who the council's c->people records are, in the order they are written:
 * person n below c->people is the copy of GP record pat-(n+1); from c->people
 * up, someone with no GP record. The copies are round(share * people) GP
 * records chosen at random. *matched gets how many. Caller frees. */
static uint32_t *council_people(const synth_config *c, double share, long *matched) {
    long people = c->people, m = lround(share * (double)people);
    uint32_t *who = xmalloc((size_t)people * sizeof *who);
    synth_rng r;
    synth_rng_seed(&r, c->seed, IDENTITY_STREAM);
    for(long i = 0; i < people; i++) who[i] = (uint32_t)i;
    shuffle(who, people, &r);            /* the first m: a random choice of GP records */
    for(long i = m; i < people; i++) who[i] = (uint32_t)(people + i - m);
    shuffle(who, people, &r);            /* copies and others mixed */
    *matched = m;
    return who;
}

static void identities_progress(const synth_sink *sink, long done, long total) {
    if(sink->progress && (done % 10000 == 0 || done == total)) sink->progress(sink->ctx, done, total);
}

kith_rc synth_identities_run(const synth_config *c, double matched, const synth_sink *sink,
                             synth_identity_counts *counts, char *err, size_t errlen) {
    kith_rc rc = synth_identities_check(c, matched, err, errlen);
    if(rc) return rc;
    static const synth_sink DISCARD = {.write = discard_write};
    synth_gen g = {.cfg = c, .sink = &DISCARD, .b = BUF_INIT, .line = BUF_INIT};
    synth_identity_counts k = {0};
    rc = synth_place_build(&g); /* the practices and neighbourhoods people belong to; its FHIR goes nowhere */
    g.sink = sink;
    long people = c->people, total = 2 * people;
    uint32_t *who = council_people(c, matched, &k.matched);
    person *p = xcalloc(1, sizeof *p);
    char birth[11];
    buf_puts(&g.line, IDENTITY_HEADER);
    synth_emit_line(&g, SYNTH_ID_PEOPLE);
    for(long n = 0; n < people && !rc && !g.stopped; n++) {
        identity_of(&g, p, n);
        synth_day(p->birth_day, birth);
        identity_row(&g, SYNTH_ID_PEOPLE, p->id, p->given, p->family, birth, p->sex, p->postcode);
        identities_progress(sink, ++k.people, total);
    }
    buf_puts(&g.line, IDENTITY_HEADER);
    synth_emit_line(&g, SYNTH_ID_COUNCIL);
    buf_puts(&g.line, "council_id,patient_id,errors");
    synth_emit_line(&g, SYNTH_ID_TRUTH);
    for(long i = 0; i < people && !rc && !g.stopped; i++) {
        identity_of(&g, p, who[i]);
        council_record(&g, p, 1);
        la_person_id(i, p->la_id);
        identity_row(&g, SYNTH_ID_COUNCIL, p->la_id, p->la_given, p->la_family, p->la_dob, p->sex, p->la_postcode);
        csv_field(&g.line, p->la_id, 1);
        csv_field(&g.line, who[i] < people ? p->id : "", 0);
        csv_field(&g.line, p->errors, 0);
        synth_emit_line(&g, SYNTH_ID_TRUTH);
        identities_progress(sink, people + ++k.council, total);
    }
    if(!rc && g.stopped) rc = KITH_EIO;
    if(counts) *counts = k;
    free(p);
    free(who);
    gen_free(&g);
    return rc;
}
