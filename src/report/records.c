/*
 * records.c — the facts the integration indicators need, read in bulk (see
 * records.h).
 *
 * Each reading thread fills its own batch: parsed facts with Patient and
 * Organization ids as strings in the batch's arena. records_finish, on one
 * thread, gives people and organisations their indices through two string
 * tables and joins the rest to them. Resources are read as JSON text with
 * json_span (json.h): the structure is checked, the few members wanted are
 * found in place, and no tree is built, which is most of the cost of
 * reading a million people's records; any number of threads may do so.
 */
#include "report/records.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/datetime.h"
#include "base/mem.h"
#include "care/discharge.h"
#include "json/json.h"
#include "pop/pop.h"

#define NO_TEXT UINT32_MAX
#define MAX_THREADS 16

const char *const records_types[] = {"Organization", "Patient",        "Consent",        "Encounter",
                                     "Task",         "ServiceRequest", "RiskAssessment", NULL};

const char *const records_level_code[RECORDS_ASSESSMENTS][RECORDS_LEVELS] = {
    {"fit", "mild", "moderate", "severe"},      /* efi-category (src/pop/frailty.c) */
    {"low", "moderate", "high", "very-high"}}; /* risk-level (src/pop/risk.c) */

#define REASON discharge_delay_reason
_Static_assert(RECORDS_DELAY_REASONS == DISCHARGE_DELAY_REASONS, "one list of delay reasons");

const char *records_reason_code(records_delay_reason r) {
    return (unsigned)r < RECORDS_DELAY_REASONS ? REASON[r][0] : "other";
}

const char *records_reason_label(records_delay_reason r) {
    return (unsigned)r < RECORDS_DELAY_REASONS ? REASON[r][1] : REASON[RECORDS_DELAY_OTHER][1];
}

/* ---- batches -------------------------------------------------------------- */

typedef struct b_patient {
    int32_t birth, death;
    uint32_t id, practice; /* arena offsets; practice NO_TEXT */
    int8_t sex;
    bool social_only;
} b_patient;

typedef struct b_assessment {
    uint32_t person;
    uint8_t kind;  /* records_assessment */
    uint8_t level;
} b_assessment;

typedef struct b_org {
    uint32_t id, name, parent; /* name, parent NO_TEXT when absent */
} b_org;

struct records_batch {
    char *text;
    size_t text_len, text_cap;
    b_patient *patients;
    size_t npatients, cap_patients;
    b_org *orgs;
    size_t norgs, cap_orgs;
    uint32_t *optouts; /* Patient ids (arena) */
    size_t noptouts, cap_optouts;
    records_stay *stays; /* .person is the Patient id's arena offset until finished */
    size_t nstays, cap_stays;
    records_task *tasks; /* .person likewise */
    size_t ntasks, cap_tasks;
    records_request *requests; /* .person likewise; .outcome: an arena offset in outcome_text */
    uint32_t *outcome_text;    /* per request: the outcome's arena offset, or NO_TEXT */
    size_t nrequests, cap_requests, cap_outcome_text;
    b_assessment *assessments; /* .person: the Patient id's arena offset */
    size_t nassessments, cap_assessments;
    long read, parsed, unreadable, skipped;
};

#define GROW(arr, n, cap)                                                                                              \
    do {                                                                                                               \
        if((n) == (cap)) {                                                                                             \
            (cap) = (cap) ? (cap) * 2 : 1024;                                                                          \
            (arr) = xrealloc((arr), (cap) * sizeof *(arr));                                                            \
        }                                                                                                              \
    } while(0)

static uint32_t keep(records_batch *b, const char *s, size_t n) {
    if(b->text_len + n + 1 > UINT32_MAX - 1) return NO_TEXT; /* over 4 GB of ids in one batch: drop */
    while(b->text_len + n + 1 > b->text_cap) {
        b->text_cap = b->text_cap ? b->text_cap * 2 : 1 << 16;
        b->text = xrealloc(b->text, b->text_cap);
    }
    uint32_t off = (uint32_t)b->text_len;
    memcpy(b->text + off, s, n);
    b->text[off + n] = '\0';
    b->text_len += n + 1;
    return off;
}

records *records_new(void) {
    records *r = xcalloc(1, sizeof *r);
    r->first_day = r->last_day = RECORDS_NONE;
    return r;
}

records_batch *records_batch_new(records *r) {
    records_batch *b = xcalloc(1, sizeof *b);
    r->batches = xrealloc(r->batches, (r->nbatches + 1) * sizeof *r->batches);
    r->batches[r->nbatches++] = b;
    return b;
}

static void batch_free(records_batch *b) {
    if(!b) return;
    free(b->text);
    free(b->patients);
    free(b->orgs);
    free(b->optouts);
    free(b->stays);
    free(b->tasks);
    free(b->requests);
    free(b->outcome_text);
    free(b->assessments);
    free(b);
}

void records_free(records *r) {
    if(!r) return;
    for(size_t i = 0; i < r->nbatches; i++) batch_free(r->batches[i]);
    free(r->batches);
    for(size_t i = 0; i < r->npeople; i++) free(r->ids[i]);
    free(r->ids);
    free(r->people);
    free(r->stays);
    free(r->units);
    free(r->tasks);
    free(r->requests);
    free(r);
}

/* ---- reading one resource ------------------------------------------------- */

/* Resources are read as json_spans (json.h): the few members wanted are
 * found in the text; no tree is built. */

/* Member path a.b.c of v (NULL-terminated keys), into *out. */
static bool at_path(json_span v, json_span *out, const char *const *keys) {
    for(; *keys; keys++)
        if(!json_span_get(v, *keys, &v)) return false;
    *out = v;
    return true;
}
#define GET(v, out, ...) at_path((v), (out), (const char *const[]){__VA_ARGS__, NULL})

/* The string at v decoded into out[0..cap); "" when there is none. */
static const char *text_of(json_span v, char *out, size_t cap) {
    if(!json_span_text(v, out, cap)) out[0] = '\0';
    return out;
}

static int32_t day_of(json_span v, int32_t dflt) {
    char s[48];
    int32_t d;
    return json_span_text(v, s, sizeof s) && pop_day(s, &d) ? d : dflt;
}

/* Does CodeableConcept cc (or an array of them) carry code (any system)? */
static bool has_code(json_span cc, const char *code) {
    json_span x, codings, c, k;
    if(cc.n && cc.p[0] == '[') {
        for(size_t i = 0; json_span_at(cc, i, &x); i++)
            if(has_code(x, code)) return true;
        return false;
    }
    if(!json_span_get(cc, "coding", &codings)) return false;
    for(size_t i = 0; json_span_at(codings, i, &c); i++)
        if(json_span_get(c, "code", &k) && json_span_is(k, code)) return true;
    return false;
}

/* The first coding's code of CodeableConcept cc into out; "" when none. */
static const char *first_code(json_span cc, char *out, size_t cap) {
    json_span codings, c, k;
    out[0] = '\0';
    if(!json_span_get(cc, "coding", &codings)) return out;
    for(size_t i = 0; json_span_at(codings, i, &c); i++)
        if(json_span_get(c, "code", &k) && json_span_text(k, out, cap)) return out;
    out[0] = '\0';
    return out;
}

/* The Patient id Reference ref names into out; false when none. */
static bool patient_of(json_span ref, char out[72]) {
    json_span r;
    char s[512];
    return json_span_get(ref, "reference", &r) && json_span_text(r, s, sizeof s) && pop_patient_in(s, out);
}

/* The id of the Organization Reference ref names into out ("" when none). */
static const char *organization_of(json_span ref, char out[72]) {
    json_span r;
    char s[512];
    out[0] = '\0';
    const char *p = json_span_get(ref, "reference", &r) && json_span_text(r, s, sizeof s) ? strstr(s, "Organization/") : NULL;
    if(!p) return out;
    p += 13;
    size_t n = strcspn(p, "/?#");
    if(n && n < 72) {
        memcpy(out, p, n);
        out[n] = '\0';
    }
    return out;
}

static bool text_is_one_of(const char *s, const char *const *list) {
    for(; *list; list++)
        if(strcmp(s, *list) == 0) return true;
    return false;
}

static void add_patient(records_batch *b, json_span r) {
    char id[72], gp[72];
    json_span v, tags, t, gps;
    if(!*text_of(GET(r, &v, "id") ? v : (json_span){0}, id, 66) || strlen(id) > 64) {
        b->unreadable++;
        return;
    }
    b_patient p = {.birth = GET(r, &v, "birthDate") ? day_of(v, RECORDS_NONE) : RECORDS_NONE, .practice = NO_TEXT};
    p.death = GET(r, &v, "deceasedDateTime") ? day_of(v, RECORDS_OPEN) : RECORDS_OPEN;
    if(p.death == RECORDS_OPEN && GET(r, &v, "deceasedBoolean") && json_span_true(v)) p.death = RECORDS_NONE;
    if(GET(r, &v, "gender"))
        p.sex = json_span_is(v, "female") ? 1 : json_span_is(v, "male") ? 2 : json_span_is(v, "other") ? 3 : 0;
    if(GET(r, &tags, "meta", "tag"))
        for(size_t i = 0; json_span_at(tags, i, &t); i++) {
            json_span s, c;
            if(json_span_get(t, "system", &s) && json_span_is(s, RECORDS_SYS "CodeSystem/record-source") &&
               json_span_get(t, "code", &c) && json_span_is(c, "cld"))
                p.social_only = true;
        }
    if(GET(r, &gps, "generalPractitioner")) /* the first that is an Organization */
        for(size_t i = 0; p.practice == NO_TEXT && json_span_at(gps, i, &v); i++)
            if(*organization_of(v, gp)) p.practice = keep(b, gp, strlen(gp));
    p.id = keep(b, id, strlen(id));
    if(p.id == NO_TEXT) return;
    GROW(b->patients, b->npatients, b->cap_patients);
    b->patients[b->npatients++] = p;
}

static void add_organization(records_batch *b, json_span r) {
    char id[72], name[96], parent[72];
    json_span v;
    if(!*text_of(GET(r, &v, "id") ? v : (json_span){0}, id, sizeof id)) {
        b->unreadable++;
        return;
    }
    b_org o = {.id = keep(b, id, strlen(id)), .name = NO_TEXT, .parent = NO_TEXT};
    if(GET(r, &v, "name") && *text_of(v, name, sizeof name)) o.name = keep(b, name, strlen(name));
    if(GET(r, &v, "partOf") && *organization_of(v, parent)) o.parent = keep(b, parent, strlen(parent));
    GROW(b->orgs, b->norgs, b->cap_orgs);
    b->orgs[b->norgs++] = o;
}

static void add_consent(records_batch *b, json_span r) {
    json_span v, cats, cat, codings, c, sys, code;
    bool optout = false;
    if(GET(r, &cats, "category"))
        for(size_t i = 0; !optout && json_span_at(cats, i, &cat); i++)
            for(size_t k = 0; json_span_get(cat, "coding", &codings) && json_span_at(codings, k, &c); k++)
                if(json_span_get(c, "system", &sys) && json_span_is(sys, RECORDS_SYS "CodeSystem/consent-category") &&
                   json_span_get(c, "code", &code) && json_span_is(code, "national-data-opt-out"))
                    optout = true;
    char pid[72];
    if(!optout || !GET(r, &v, "status") || !json_span_is(v, "active") || !GET(r, &v, "patient") || !patient_of(v, pid)) {
        b->skipped++;
        return;
    }
    uint32_t off = keep(b, pid, strlen(pid));
    if(off == NO_TEXT) return;
    GROW(b->optouts, b->noptouts, b->cap_optouts);
    b->optouts[b->noptouts++] = off;
}

static records_destination destination_of(json_span disp) {
    static const char *const HOME[] = {"19", "29", "home", NULL}, *const CARE[] = {"54", "65", "85", "88", "snf", NULL};
    char c[16];
    if(!*first_code(disp, c, sizeof c)) return RECORDS_DEST_UNKNOWN;
    if(strcmp(c, "79") == 0 || strcmp(c, "exp") == 0) return RECORDS_DEST_DIED;
    if(text_is_one_of(c, HOME)) return RECORDS_DEST_HOME;
    if(text_is_one_of(c, CARE)) return RECORDS_DEST_CARE_HOME;
    return RECORDS_DEST_OTHER;
}

/* The hospitalization's extensions of an admission into s. */
static void admission_details(json_span hosp, records_stay *s, bool *emergency) {
    json_span exts, e, u, v;
    char url[256], code[64];
    s->reason = RECORDS_DELAY_NONE;
    if(!json_span_get(hosp, "extension", &exts)) return;
    for(size_t i = 0; json_span_at(exts, i, &e); i++) {
        if(!json_span_get(e, "url", &u) || !*text_of(u, url, sizeof url)) continue;
        if(strstr(url, "AdmissionMethod")) {
            if(json_span_get(e, "valueCodeableConcept", &v) && first_code(v, code, sizeof code)[0] == '2')
                *emergency = true; /* NHS admission methods 21-2D */
        } else if(strcmp(url, RECORDS_SYS "StructureDefinition/discharge-ready-date") == 0) {
            if(json_span_get(e, "valueDateTime", &v) || json_span_get(e, "valueDate", &v)) s->ready = day_of(v, RECORDS_NONE);
        } else if(strcmp(url, RECORDS_SYS "StructureDefinition/discharge-delay-reason") == 0) {
            s->reason = RECORDS_DELAY_OTHER;
            if(json_span_get(e, "valueCodeableConcept", &v) && *first_code(v, code, sizeof code))
                for(int k = 0; k < RECORDS_DELAY_OTHER; k++)
                    if(strcmp(code, REASON[k][0]) == 0) s->reason = (uint8_t)k;
        } else if(strcmp(url, RECORDS_SYS "StructureDefinition/discharge-pathway") == 0) {
            if(GET(e, &v, "valueCoding", "code") && json_span_text(v, code, sizeof code) && code[0] >= '0' &&
               code[0] <= '3' && !code[1])
                s->pathway = (int8_t)(code[0] - '0');
        }
    }
}

static void add_encounter(records_batch *b, json_span r) {
    static const char *const VOID[] = {"planned", "cancelled", "entered-in-error", NULL};
    static const char *const ADMISSION[] = {"IMP", "ACUTE", "NONAC", "SS", NULL};
    json_span v, type = {0}, hosp = {0}, period = {0};
    char status[32], cls[16], pid[72];
    if(GET(r, &v, "status") && text_is_one_of(text_of(v, status, sizeof status), VOID)) {
        b->skipped++;
        return;
    }
    GET(r, &type, "type");
    GET(r, &hosp, "hospitalization");
    GET(r, &period, "period");
    records_stay s = {.from = GET(period, &v, "start") ? day_of(v, RECORDS_NONE) : RECORDS_NONE,
                      .to = GET(period, &v, "end") ? day_of(v, RECORDS_OPEN) : RECORDS_OPEN,
                      .ready = RECORDS_NONE,
                      .pathway = -1};
    if(!GET(r, &v, "class", "code") || !*text_of(v, cls, sizeof cls) || s.from == RECORDS_NONE ||
       !GET(r, &v, "subject") || !patient_of(v, pid)) {
        b->skipped++;
        return;
    }
    if(strcmp(cls, "EMER") == 0) {
        s.kind = RECORDS_AE_ATTENDANCE;
    } else if(text_is_one_of(cls, ADMISSION)) {
        bool emergency = has_code(type, "emergency-admission") || (GET(hosp, &v, "admitSource") && has_code(v, "emd"));
        admission_details(hosp, &s, &emergency);
        if(has_code(type, "elective-admission")) emergency = false;
        s.kind = emergency ? RECORDS_EMERGENCY_ADMISSION : RECORDS_OTHER_ADMISSION;
        s.destination = GET(hosp, &v, "dischargeDisposition") ? destination_of(v) : RECORDS_DEST_UNKNOWN;
        if(s.ready != RECORDS_NONE && s.to != RECORDS_OPEN && s.to > s.ready && s.reason == RECORDS_DELAY_NONE)
            s.reason = RECORDS_DELAY_OTHER; /* delayed, no reason given */
    } else {
        b->skipped++;
        return;
    }
    if(s.to != RECORDS_OPEN && s.to < s.from) s.to = s.from;
    s.person = keep(b, pid, strlen(pid));
    if(s.person == NO_TEXT) return;
    GROW(b->stays, b->nstays, b->cap_stays);
    b->stays[b->nstays++] = s;
}

static void add_task(records_batch *b, json_span r) {
    static const char *const OPEN[] = {"requested", "received", "accepted", "in-progress", "ready", NULL};
    json_span v, owner;
    char status[32], pid[72];
    if(!GET(r, &v, "status") || !*text_of(v, status, sizeof status) || !GET(r, &v, "for") || !patient_of(v, pid)) {
        b->skipped++;
        return;
    }
    static const char *const VOID[] = {"cancelled", "rejected", "entered-in-error", NULL};
    records_task t = {.authored = GET(r, &v, "authoredOn") ? day_of(v, RECORDS_NONE) : RECORDS_NONE,
                      .done = RECORDS_NONE,
                      .cancelled = text_is_one_of(status, VOID),
                      .due = GET(r, &v, "restriction", "period", "end") ? day_of(v, RECORDS_NONE) : RECORDS_NONE,
                      .state = text_is_one_of(status, OPEN)           ? RECORDS_TASK_OPEN
                               : strcmp(status, "on-hold") == 0       ? RECORDS_TASK_ON_HOLD
                                                                      : RECORDS_TASK_CLOSED,
                      .has_owner = GET(r, &owner, "owner") &&
                                   (json_span_get(owner, "reference", &v) || json_span_get(owner, "identifier", &v))};
    t.mdt_action = GET(r, &v, "code") && has_code(v, "mdt-action");
    if(strcmp(status, "completed") == 0) { /* when it was done, as mdt_task_times (src/care/mdt.c) takes it */
        static const char *const DONE[][3] = {{"executionPeriod", "end", NULL}, {"lastModified", NULL, NULL},
                                              {"meta", "lastUpdated", NULL}};
        for(size_t i = 0; i < 3 && t.done == RECORDS_NONE; i++)
            if(at_path(r, &v, DONE[i])) t.done = day_of(v, RECORDS_NONE);
    }
    t.person = keep(b, pid, strlen(pid));
    if(t.person == NO_TEXT) return;
    GROW(b->tasks, b->ntasks, b->cap_tasks);
    b->tasks[b->ntasks++] = t;
}

#define CLD_REQUEST "Request for adult social care support"
#define CLD_OUTCOME_URL RECORDS_SYS "StructureDefinition/cld-event-outcome"

static void add_request(records_batch *b, json_span r) {
    json_span v, cats, c, exts, e;
    bool cld = false;
    if(GET(r, &cats, "category"))
        for(size_t i = 0; !cld && json_span_at(cats, i, &c); i++) cld = GET(c, &v, "text") && json_span_is(v, CLD_REQUEST);
    uint32_t outcome = NO_TEXT;
    char text[96], pid[72];
    if(GET(r, &exts, "extension"))
        for(size_t i = 0; json_span_at(exts, i, &e); i++)
            if(GET(e, &v, "url") && json_span_is(v, CLD_OUTCOME_URL)) {
                cld = true;
                if(GET(e, &v, "valueCodeableConcept") && *first_code(v, text, sizeof text))
                    outcome = keep(b, text, strlen(text));
            }
    if(!cld || !GET(r, &v, "subject") || !patient_of(v, pid) || (GET(r, &v, "status") && json_span_is(v, "entered-in-error"))) {
        b->skipped++;
        return;
    }
    records_request q = {.done = GET(r, &v, "occurrencePeriod", "end") ? day_of(v, RECORDS_NONE) : RECORDS_NONE};
    q.person = keep(b, pid, strlen(pid));
    if(q.person == NO_TEXT) return;
    GROW(b->requests, b->nrequests, b->cap_requests);
    if(b->cap_outcome_text < b->cap_requests) {
        b->cap_outcome_text = b->cap_requests;
        b->outcome_text = xrealloc(b->outcome_text, b->cap_outcome_text * sizeof *b->outcome_text);
    }
    b->outcome_text[b->nrequests] = outcome;
    b->requests[b->nrequests++] = q;
}

/* RiskAssessment/efi-<id> or ear-<id>: the level of its first prediction. */
static void add_assessment(records_batch *b, json_span r) {
    json_span v;
    char id[80], pid[72], code[32];
    int kind = !GET(r, &v, "id") || !*text_of(v, id, sizeof id) ? -1
               : strncmp(id, "efi-", 4) == 0                   ? RECORDS_FRAILTY
               : strncmp(id, "ear-", 4) == 0                   ? RECORDS_ADMISSION_RISK
                                                               : -1;
    int level = -1;
    json_span preds, p0, codings, c0;
    if(kind >= 0 && GET(r, &preds, "prediction") && json_span_at(preds, 0, &p0) &&
       GET(p0, &codings, "qualitativeRisk", "coding") && json_span_at(codings, 0, &c0) && GET(c0, &v, "code") &&
       *text_of(v, code, sizeof code))
        for(int k = 0; k < RECORDS_LEVELS; k++)
            if(strcmp(code, records_level_code[kind][k]) == 0) level = k;
    if(level < 0 || (GET(r, &v, "status") && json_span_is(v, "entered-in-error")) || !GET(r, &v, "subject") ||
       !patient_of(v, pid)) {
        b->skipped++;
        return;
    }
    uint32_t off = keep(b, pid, strlen(pid));
    if(off == NO_TEXT) return;
    GROW(b->assessments, b->nassessments, b->cap_assessments);
    b->assessments[b->nassessments++] = (b_assessment){off, (uint8_t)kind, (uint8_t)level};
}

/* The code of an Encounter's class as written, looked up in the text; false
 * when it cannot be found that way. */
static bool class_in_text(const char *body, size_t len, char out[16]) {
    const char *p = memmem(body, len, "\"class\"", 7);
    if(!p || memmem(body, (size_t)(p - body), "\"classHistory\"", 14)) return false; /* a past class may come first */
    const char *end = body + len, *close = memchr(p, '}', (size_t)(end - p));
    if(!close) return false;
    const char *c = memmem(p, (size_t)(close - p), "\"code\"", 6);
    if(!c) return false;
    c += 6;
    while(c < close && (*c == ' ' || *c == ':' || *c == '\t')) c++;
    if(c >= close || *c != '"') return false;
    c++;
    const char *q = memchr(c, '"', (size_t)(close - c));
    if(!q || q - c >= 16 || memchr(c, '\\', (size_t)(q - c))) return false;
    memcpy(out, c, (size_t)(q - c));
    out[q - c] = '\0';
    return true;
}

static bool hospital_class(const char *c) {
    return strcmp(c, "IMP") == 0 || strcmp(c, "ACUTE") == 0 || strcmp(c, "NONAC") == 0 || strcmp(c, "SS") == 0 ||
           strcmp(c, "EMER") == 0;
}

void records_add(records_batch *b, const char *type, const char *body, size_t len) {
    b->read++;
    int kind = strcmp(type, "Patient") == 0 ? 1 : strcmp(type, "Organization") == 0 ? 2
               : strcmp(type, "Consent") == 0 ? 3 : strcmp(type, "Encounter") == 0 ? 4
               : strcmp(type, "Task") == 0 ? 5 : strcmp(type, "ServiceRequest") == 0 ? 6
               : strcmp(type, "RiskAssessment") == 0 ? 7 : 0;
    char cls[16];
    if(!kind || !body || (kind == 4 && class_in_text(body, len, cls) && !hospital_class(cls))) {
        b->skipped++;
        return;
    }
    json_span r;
    if(!json_span_check(body, len, &r) || r.p[0] != '{') {
        b->unreadable++;
        return;
    }
    b->parsed++;
    switch(kind) {
    case 1: add_patient(b, r); break;
    case 2: add_organization(b, r); break;
    case 3: add_consent(b, r); break;
    case 4: add_encounter(b, r); break;
    case 5: add_task(b, r); break;
    case 6: add_request(b, r); break;
    case 7: add_assessment(b, r); break;
    }
}

/* ---- finishing ------------------------------------------------------------ */

/* An open-addressing table from a string to an index, over strings the
 * caller keeps (get(ctx, index) gives index's string). */
typedef struct strtab {
    uint32_t *slot; /* index + 1, 0 empty */
    size_t cap, n;
    const char *(*get)(const void *ctx, uint32_t i);
    const void *ctx;
} strtab;

static uint64_t hash_str(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for(; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static size_t strtab_find(const strtab *t, const char *s) {
    size_t i = (size_t)hash_str(s) & (t->cap - 1);
    while(t->slot[i] && strcmp(t->get(t->ctx, t->slot[i] - 1), s) != 0) i = (i + 1) & (t->cap - 1);
    return i;
}

static long strtab_lookup(const strtab *t, const char *s) {
    if(!t->cap) return -1;
    size_t i = strtab_find(t, s);
    return t->slot[i] ? (long)t->slot[i] - 1 : -1;
}

/* Make room for one more, then the slot for s (0 when new). */
static uint32_t *strtab_place(strtab *t, const char *s) {
    if((t->n + 1) * 2 > t->cap) {
        uint32_t *old = t->slot;
        size_t oldcap = t->cap;
        t->cap = oldcap ? oldcap * 2 : 1024;
        t->slot = xcalloc(t->cap, sizeof *t->slot);
        for(size_t i = 0; i < oldcap; i++)
            if(old[i]) t->slot[strtab_find(t, t->get(t->ctx, old[i] - 1))] = old[i];
        free(old);
    }
    return &t->slot[strtab_find(t, s)];
}

static const char *person_id(const void *ctx, uint32_t i) {
    return ((const records *)ctx)->ids[i];
}

static const char *unit_id(const void *ctx, uint32_t i) {
    return ((const records *)ctx)->units[i].id;
}

/* The unit for Organization id, made when new (RECORDS_NO_UNIT past the cap). */
static uint16_t unit_get(records *r, strtab *t, const char *id) {
    uint32_t *slot = strtab_place(t, id);
    if(*slot) return (uint16_t)(*slot - 1);
    if(r->nunits >= RECORDS_MAX_UNITS) return RECORDS_NO_UNIT;
    r->units = xrealloc(r->units, (r->nunits + 1) * sizeof *r->units);
    records_unit *u = &r->units[r->nunits];
    memset(u, 0, sizeof *u);
    snprintf(u->id, sizeof u->id, "%s", id);
    snprintf(u->name, sizeof u->name, "%s", id);
    u->parent = RECORDS_NO_UNIT;
    *slot = (uint32_t)++r->nunits;
    t->n++;
    return (uint16_t)(r->nunits - 1);
}

/* The index of outcome text s in r->outcomes (NULL: not recorded), added when new. */
static uint8_t outcome_index(records *r, const char *s) {
    if(!r->noutcomes) snprintf(r->outcomes[r->noutcomes++], sizeof r->outcomes[0], "%s", "Not recorded");
    if(!s) return 0;
    for(size_t i = 1; i < r->noutcomes; i++)
        if(strcmp(r->outcomes[i], s) == 0) return (uint8_t)i;
    if(r->noutcomes == RECORDS_MAX_OUTCOMES - 1) snprintf(r->outcomes[r->noutcomes++], sizeof r->outcomes[0], "%s", "Other");
    if(r->noutcomes == RECORDS_MAX_OUTCOMES) return RECORDS_MAX_OUTCOMES - 1;
    snprintf(r->outcomes[r->noutcomes], sizeof r->outcomes[0], "%s", s);
    return (uint8_t)r->noutcomes++;
}

static int by_person_time(const void *a, const void *b) {
    const records_stay *x = a, *y = b;
    if(x->person != y->person) return x->person < y->person ? -1 : 1;
    if(x->from != y->from) return x->from < y->from ? -1 : 1;
    return (x->kind > y->kind) - (x->kind < y->kind);
}

void records_finish(records *r) {
    if(r->finished) return;
    r->finished = true;
    strtab units = {.get = unit_id, .ctx = r}, people = {.get = person_id, .ctx = r};
    for(size_t k = 0; k < r->nbatches; k++) { /* organisations first: their names */
        records_batch *b = r->batches[k];
        for(size_t i = 0; i < b->norgs; i++) {
            uint16_t u = unit_get(r, &units, b->text + b->orgs[i].id);
            if(u == RECORDS_NO_UNIT) continue;
            if(b->orgs[i].name != NO_TEXT) snprintf(r->units[u].name, sizeof r->units[u].name, "%s", b->text + b->orgs[i].name);
            if(b->orgs[i].parent == NO_TEXT) continue;
            uint16_t parent = unit_get(r, &units, b->text + b->orgs[i].parent); /* first: it may move r->units */
            r->units[u].parent = parent;
        }
    }
    size_t cap = 0;
    for(size_t k = 0; k < r->nbatches; k++) {
        records_batch *b = r->batches[k];
        r->read += b->read;
        r->parsed += b->parsed;
        r->unreadable += b->unreadable;
        r->skipped += b->skipped;
        for(size_t i = 0; i < b->npatients; i++) {
            const b_patient *bp = &b->patients[i];
            const char *id = b->text + bp->id;
            uint32_t *slot = strtab_place(&people, id);
            records_person *p;
            if(*slot) {
                p = &r->people[*slot - 1]; /* the same Patient twice: the later one wins */
            } else {
                if(r->npeople == cap) {
                    cap = cap ? cap * 2 : 4096;
                    r->people = xrealloc(r->people, cap * sizeof *r->people);
                    r->ids = xrealloc(r->ids, cap * sizeof *r->ids);
                }
                r->ids[r->npeople] = xstrdup(id);
                *slot = (uint32_t)++r->npeople;
                people.n++;
                p = &r->people[r->npeople - 1];
            }
            *p = (records_person){.birth = bp->birth, .death = bp->death, .sex = bp->sex, .social_only = bp->social_only,
                                  .level = {-1, -1},
                                  .practice = bp->practice == NO_TEXT ? RECORDS_NO_UNIT
                                                                      : unit_get(r, &units, b->text + bp->practice)};
        }
    }
    for(size_t k = 0; k < r->nbatches; k++) {
        records_batch *b = r->batches[k];
        for(size_t i = 0; i < b->noptouts; i++) {
            long p = strtab_lookup(&people, b->text + b->optouts[i]);
            if(p >= 0 && !r->people[p].opted_out) {
                r->people[p].opted_out = true;
                r->opted_out++;
            }
        }
    }
    size_t n = 0;
    for(size_t k = 0; k < r->nbatches; k++) n += r->batches[k]->nstays;
    r->stays = xmalloc((n ? n : 1) * sizeof *r->stays);
    for(size_t k = 0; k < r->nbatches; k++) {
        records_batch *b = r->batches[k];
        for(size_t i = 0; i < b->nstays; i++) {
            records_stay s = b->stays[i];
            long p = strtab_lookup(&people, b->text + s.person);
            if(p < 0) {
                r->unmatched++;
                continue;
            }
            s.person = (uint32_t)p;
            r->stays[r->nstays++] = s;
            if(r->first_day == RECORDS_NONE || s.from < r->first_day) r->first_day = s.from;
            if(r->last_day == RECORDS_NONE || s.from > r->last_day) r->last_day = s.from;
        }
        if(b->ntasks) r->tasks = xrealloc(r->tasks, (r->ntasks + b->ntasks) * sizeof *r->tasks);
        for(size_t i = 0; i < b->ntasks; i++) {
            records_task t = b->tasks[i];
            long p = strtab_lookup(&people, b->text + t.person);
            if(p < 0) continue;
            t.person = (uint32_t)p;
            r->tasks[r->ntasks++] = t;
        }
        for(size_t i = 0; i < b->nassessments; i++) {
            long p = strtab_lookup(&people, b->text + b->assessments[i].person);
            if(p >= 0) r->people[p].level[b->assessments[i].kind] = (int8_t)b->assessments[i].level;
        }
        if(b->nrequests) r->requests = xrealloc(r->requests, (r->nrequests + b->nrequests) * sizeof *r->requests);
        for(size_t i = 0; i < b->nrequests; i++) {
            records_request q = b->requests[i];
            long p = strtab_lookup(&people, b->text + q.person);
            if(p < 0) continue;
            q.person = (uint32_t)p;
            q.outcome = outcome_index(r, b->outcome_text[i] == NO_TEXT ? NULL : b->text + b->outcome_text[i]);
            r->requests[r->nrequests++] = q;
        }
        batch_free(b);
        r->batches[k] = NULL;
    }
    qsort(r->stays, r->nstays, sizeof *r->stays, by_person_time);
    for(size_t i = 0; i < r->nstays; i++) {
        records_person *p = &r->people[r->stays[i].person];
        if(!p->stay_n) p->stay_lo = (uint32_t)i;
        p->stay_n++;
    }
    free(units.slot);
    free(people.slot);
}

uint16_t records_parent(const records *r, uint16_t unit) {
    return unit < r->nunits ? r->units[unit].parent : RECORDS_NO_UNIT;
}

int32_t records_delay_days(const records_stay *s) {
    if(s->ready == RECORDS_NONE || s->to == RECORDS_OPEN || s->to <= s->ready) return 0;
    return s->to - s->ready;
}

int records_age(const records_person *p, int32_t day) {
    if(p->birth == RECORDS_NONE) return -1;
    int by, bm, bd, y, m, d;
    datetime_civil_from_days(p->birth, &by, &bm, &bd);
    datetime_civil_from_days(day, &y, &m, &d);
    return y - by - (m < bm || (m == bm && d < bd));
}

/* ---- NDJSON files, in parallel ------------------------------------------- */

typedef struct part {
    records_batch *b;
    const char *path, *type;
    off_t from, to; /* lines starting in [from, to) */
    int err;        /* errno of a failure, 0 when none */
} part;

static void *read_part(void *arg) {
    part *p = arg;
    FILE *f = fopen(p->path, "r");
    if(!f) {
        p->err = errno ? errno : EIO;
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 22); /* big reads: the file is mostly lines passed over */
    char *line = NULL;
    size_t cap = 0;
    off_t at = p->from;
    if(p->from > 0) { /* start after the line that crosses from (unless a line starts there) */
        if(fseeko(f, p->from - 1, SEEK_SET) || getline(&line, &cap, f) < 0) goto done;
        at = ftello(f);
    }
    ssize_t len;
    while(at < p->to && (len = getline(&line, &cap, f)) != -1) {
        at += len;
        while(len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if(!len) continue;
        if(len > RECORDS_MAX_LINE) {
            p->b->unreadable++;
            continue;
        }
        records_add(p->b, p->type, line, (size_t)len);
    }
done:
    if(ferror(f)) p->err = errno ? errno : EIO;
    free(line);
    fclose(f);
    return NULL;
}

kith_rc records_read_ndjson(records *r, const char *dir, int threads, char *err, size_t errlen) {
    if(threads < 1) threads = 1;
    if(threads > MAX_THREADS) threads = MAX_THREADS;
    records_batch *batch[MAX_THREADS];
    for(int t = 0; t < threads; t++) batch[t] = records_batch_new(r);
    for(size_t k = 0; records_types[k]; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.ndjson", dir, records_types[k]);
        struct stat st;
        if(stat(path, &st)) {
            if(errno == ENOENT) continue;
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            return KITH_EIO;
        }
        int n = st.st_size < (1 << 20) ? 1 : threads;
        part parts[MAX_THREADS];
        pthread_t tid[MAX_THREADS];
        bool started[MAX_THREADS] = {false};
        for(int t = 0; t < n; t++) {
            parts[t] = (part){.b = batch[t], .path = path, .type = records_types[k],
                              .from = st.st_size / n * t, .to = t == n - 1 ? st.st_size : st.st_size / n * (t + 1)};
            if(t > 0 && !pthread_create(&tid[t], NULL, read_part, &parts[t])) started[t] = true;
            else if(t > 0) read_part(&parts[t]);
        }
        read_part(&parts[0]);
        for(int t = 1; t < n; t++)
            if(started[t]) pthread_join(tid[t], NULL);
        for(int t = 0; t < n; t++)
            if(parts[t].err) {
                snprintf(err, errlen, "cannot read %s: %s", path, strerror(parts[t].err));
                return KITH_EIO;
            }
    }
    return KITH_OK;
}
