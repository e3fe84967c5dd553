/*
 * extract.c — a population's records in compact form (see pop.h).
 *
 * Each resource is parsed once, the few facts scoring needs are taken from
 * it, and the tree is dropped: memory grows with the coded records that
 * matter, not with the store. Encounters, the bulk of a record, are first
 * checked as text for a class or type that can matter (an inpatient stay, an
 * emergency attendance, an MDT discussion), so GP appointments are never
 * parsed. People are found by Patient id through an open-addressing table
 * over the extract's string arena. Not thread-safe while filling.
 */
#include "pop/pop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "base/mem.h"

#define IMD_URL POP_SYS "StructureDefinition/imd-decile"
#define SOURCE_SYS POP_SYS "CodeSystem/record-source"

/* ---- strings and people --------------------------------------------------- */

static uint64_t fnv(const void *p, size_t n, uint64_t h) {
    const unsigned char *s = p;
    for(size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV0 0xcbf29ce484222325ull

static uint32_t text_add(pop_extract *x, const char *s, size_t n) {
    if(x->text_len + n + 1 > x->text_cap) {
        x->text_cap = x->text_cap ? x->text_cap * 2 : 1 << 16;
        while(x->text_len + n + 1 > x->text_cap) x->text_cap *= 2;
        x->text = xrealloc(x->text, x->text_cap);
    }
    uint32_t off = (uint32_t)x->text_len;
    memcpy(x->text + off, s, n);
    x->text[off + n] = '\0';
    x->text_len += n + 1;
    return off;
}

const char *pop_text(const pop_extract *x, uint32_t off) {
    return x->text + off;
}

static size_t slot_of(const pop_extract *x, const char *id, size_t n) {
    size_t i = (size_t)fnv(id, n, FNV0) & (x->index_cap - 1);
    for(;;) {
        uint32_t v = x->index[i];
        if(!v) return i;
        const char *have = x->text + x->people[v - 1].id;
        if(strlen(have) == n && memcmp(have, id, n) == 0) return i;
        i = (i + 1) & (x->index_cap - 1);
    }
}

static void index_grow(pop_extract *x) {
    uint32_t *old = x->index;
    size_t oldcap = x->index_cap;
    x->index_cap = oldcap ? oldcap * 2 : 1 << 12;
    x->index = xcalloc(x->index_cap, sizeof *x->index);
    for(size_t i = 0; i < oldcap; i++) {
        if(!old[i]) continue;
        const char *id = x->text + x->people[old[i] - 1].id;
        x->index[slot_of(x, id, strlen(id))] = old[i];
    }
    free(old);
}

/* The person with Patient id id[0..n), made when new. */
static uint32_t person_get(pop_extract *x, const char *id, size_t n) {
    if((x->npeople + 1) * 2 > x->index_cap) index_grow(x);
    size_t i = slot_of(x, id, n);
    if(x->index[i]) return x->index[i] - 1;
    if(x->npeople == x->cap_people) {
        x->cap_people = x->cap_people ? x->cap_people * 2 : 1024;
        x->people = xrealloc(x->people, x->cap_people * sizeof *x->people);
    }
    pop_person *p = &x->people[x->npeople];
    memset(p, 0, sizeof *p);
    p->id = text_add(x, id, n);
    p->birth = POP_NEVER;
    p->death = POP_OPEN;
    p->alias = UINT32_MAX;
    x->index[i] = (uint32_t)++x->npeople;
    return (uint32_t)(x->npeople - 1);
}

long pop_find(const pop_extract *x, const char *id) {
    if(!x->index_cap) return -1;
    size_t i = slot_of(x, id, strlen(id));
    return x->index[i] ? (long)x->index[i] - 1 : -1;
}

pop_extract *pop_extract_new(const efi_codes *codes, const efi_codes *codes2, unsigned want) {
    pop_extract *x = xcalloc(1, sizeof *x);
    x->codes = codes;
    x->codes2 = codes2;
    x->want = want;
    index_grow(x);
    return x;
}

void pop_extract_free(pop_extract *x) {
    if(!x) return;
    free(x->people);
    free(x->facts);
    free(x->meds);
    free(x->events);
    free(x->text);
    free(x->index);
    free(x);
}

#define APPEND(arr, n, cap)                                          \
    do {                                                             \
        if((n) == (cap)) {                                           \
            (cap) = (cap) ? (cap) * 2 : 4096;                        \
            (arr) = xrealloc((arr), (cap) * sizeof *(arr));          \
        }                                                            \
    } while(0)

/* ---- reading FHIR --------------------------------------------------------- */

bool pop_day(const char *s, int32_t *out) {
    if(!s) return false;
    int y = 0, m = 1, d = 1;
    size_t n = strlen(s);
    for(int i = 0; i < 4; i++)
        if(n < 4 || s[i] < '0' || s[i] > '9') return false;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    if(n >= 7) {
        if(s[4] != '-' || s[5] < '0' || s[5] > '9' || s[6] < '0' || s[6] > '9') return false;
        m = (s[5] - '0') * 10 + (s[6] - '0');
    }
    if(n >= 10) {
        if(s[7] != '-' || s[8] < '0' || s[8] > '9' || s[9] < '0' || s[9] > '9') return false;
        d = (s[8] - '0') * 10 + (s[9] - '0');
    }
    if(m < 1 || m > 12 || d < 1 || d > 31) return false;
    *out = (int32_t)datetime_days_from_civil(y, m, d);
    return true;
}

int pop_age(const pop_person *p, int32_t day) {
    if(p->birth == POP_NEVER) return -1;
    int by, bm, bd, y, m, d;
    datetime_civil_from_days(p->birth, &by, &bm, &bd);
    datetime_civil_from_days(day, &y, &m, &d);
    int age = y - by;
    if(m < bm || (m == bm && d < bd)) age--;
    return age;
}

/* The Patient id reference text r names, as a pointer into r and its
 * length; NULL when it names none. */
static const char *patient_in(const char *r, size_t *n) {
    if(!r) return NULL;
    const char *p = NULL;
    for(const char *q = strstr(r, "Patient/"); q; q = strstr(q + 1, "Patient/"))
        if(q == r || q[-1] == '/') p = q + 8;
    if(!p || !*p) return NULL;
    *n = strcspn(p, "/?#");
    return *n && *n <= 64 ? p : NULL;
}

/* The same for a Reference (its .reference). */
static const char *patient_of(const json_value *reference, size_t *n) {
    return patient_in(json_string(json_get(reference, "reference")), n);
}

bool pop_patient_in(const char *reference, char out[72]) {
    size_t n;
    const char *p = patient_in(reference, &n);
    if(!p) return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

bool pop_reference_patient(const json_value *reference, char out[72]) {
    return pop_patient_in(json_string(json_get(reference, "reference")), out);
}

/* The first coding's code of CodeableConcept cc, or NULL. */
const char *pop_first_code(const json_value *cc) {
    json_value *codings = json_get(cc, "coding");
    for(size_t i = 0; i < json_array_len(codings); i++) {
        const char *c = json_string(json_get(json_array_at(codings, i), "code"));
        if(c) return c;
    }
    return NULL;
}

/* Does CodeableConcept cc (or an array of them) carry code (any system when system NULL)? */
bool pop_has_code(const json_value *cc, const char *system, const char *code) {
    if(json_kind_of(cc) == JSON_ARRAY) {
        for(size_t i = 0; i < json_array_len(cc); i++)
            if(pop_has_code(json_array_at(cc, i), system, code)) return true;
        return false;
    }
    json_value *codings = json_get(cc, "coding");
    for(size_t i = 0; i < json_array_len(codings); i++) {
        json_value *c = json_array_at(codings, i);
        const char *s = json_string(json_get(c, "system")), *k = json_string(json_get(c, "code"));
        if(k && strcmp(k, code) == 0 && (!system || (s && strcmp(s, system) == 0))) return true;
    }
    return false;
}

/* The deficits the SNOMED CT codings of cc give by list codes. */
static uint64_t deficits_of(const efi_codes *codes, const json_value *cc) {
    uint64_t mask = 0;
    json_value *codings = json_get(cc, "coding");
    for(size_t i = 0; i < json_array_len(codings); i++) {
        json_value *c = json_array_at(codings, i);
        const char *s = json_string(json_get(c, "system")), *k = json_string(json_get(c, "code"));
        if(!s || !k || strcmp(s, EFI_SNOMED) != 0) continue;
        mask |= efi_codes_lookup(codes, efi_sctid(k, strlen(k)));
    }
    return mask;
}

int32_t pop_day_or(const json_value *v, int32_t dflt) {
    int32_t d;
    return pop_day(json_string(v), &d) ? d : dflt;
}

static bool in_list(const char *s, const char *const *list) {
    for(; s && *list; list++)
        if(strcmp(s, *list) == 0) return true;
    return false;
}

/* The resource's meta.security codings as "system|code" lines in the
 * arena, or POP_NO_LABELS. */
static uint32_t labels_of(pop_extract *x, const json_value *r) {
    json_value *sec = json_get(json_get(r, "meta"), "security");
    if(!json_array_len(sec)) return POP_NO_LABELS;
    buf b = BUF_INIT;
    for(size_t i = 0; i < json_array_len(sec); i++) {
        json_value *c = json_array_at(sec, i);
        const char *sys = json_string(json_get(c, "system")), *code = json_string(json_get(c, "code"));
        if(code && !strchr(code, '\n') && !strchr(code, '|') && (!sys || (!strchr(sys, '\n') && !strchr(sys, '|'))))
            buf_printf(&b, "%s|%s\n", sys ? sys : "", code);
    }
    uint32_t off = b.len ? text_add(x, b.data, b.len) : POP_NO_LABELS;
    buf_free(&b);
    return off;
}

static void add_fact(pop_extract *x, const char *type, const char *id, const json_value *r, const json_value *subject,
                     const json_value *code, int32_t from, int32_t to) {
    size_t n;
    const char *pid = patient_of(subject, &n);
    uint64_t mask = deficits_of(x->codes, code), mask2 = x->codes2 ? deficits_of(x->codes2, code) : 0;
    if(!pid || !(mask | mask2)) {
        x->skipped++;
        return;
    }
    uint32_t person = person_get(x, pid, n);
    char ref[160];
    int len = snprintf(ref, sizeof ref, "%s/%s", type, id);
    APPEND(x->facts, x->nfacts, x->cap_facts);
    uint32_t labels = labels_of(x, r);
    x->facts[x->nfacts++] = (pop_fact){.person = person, .from = from, .to = to, .mask = mask, .mask2 = mask2,
                                        .ref = text_add(x, ref, (size_t)(len < (int)sizeof ref ? len : (int)sizeof ref - 1)),
                                        .labels = labels};
    x->coded++;
}

static void add_condition(pop_extract *x, const char *id, const json_value *r) {
    static const char *const ACTIVE[] = {"active", "recurrence", "relapse", NULL};
    static const char *const ENDED[] = {"inactive", "remission", "resolved", NULL};
    static const char *const VOID[] = {"refuted", "entered-in-error", NULL};
    const char *clinical = pop_first_code(json_get(r, "clinicalStatus"));
    const char *verification = pop_first_code(json_get(r, "verificationStatus"));
    if(in_list(verification, VOID)) {
        x->skipped++;
        return;
    }
    int32_t from = pop_day_or(json_get(r, "onsetDateTime"), POP_NEVER);
    if(from == POP_NEVER) from = pop_day_or(json_get(json_get(r, "onsetPeriod"), "start"), POP_NEVER);
    if(from == POP_NEVER) from = pop_day_or(json_get(r, "recordedDate"), POP_NEVER);
    int32_t to = pop_day_or(json_get(r, "abatementDateTime"), POP_OPEN);
    if(to == POP_OPEN) to = pop_day_or(json_get(json_get(r, "abatementPeriod"), "end"), POP_OPEN);
    /* resolved with no date it ended: it cannot be placed in time, so it never counts */
    if(clinical && !in_list(clinical, ACTIVE) && (!in_list(clinical, ENDED) || to == POP_OPEN)) {
        x->skipped++;
        return;
    }
    add_fact(x, "Condition", id, r, json_get(r, "subject"), json_get(r, "code"), from, to);
}

static void add_observation(pop_extract *x, const char *id, const json_value *r) {
    static const char *const VOID[] = {"cancelled", "entered-in-error", NULL};
    if(in_list(json_string(json_get(r, "status")), VOID)) {
        x->skipped++;
        return;
    }
    int32_t from = pop_day_or(json_get(r, "effectiveDateTime"), POP_NEVER);
    if(from == POP_NEVER) from = pop_day_or(json_get(json_get(r, "effectivePeriod"), "start"), POP_NEVER);
    if(from == POP_NEVER) from = pop_day_or(json_get(r, "issued"), POP_NEVER);
    add_fact(x, "Observation", id, r, json_get(r, "subject"), json_get(r, "code"), from, POP_OPEN);
}

static void add_procedure(pop_extract *x, const char *id, const json_value *r) {
    static const char *const VOID[] = {"preparation", "not-done", "entered-in-error", NULL};
    if(in_list(json_string(json_get(r, "status")), VOID)) {
        x->skipped++;
        return;
    }
    int32_t from = pop_day_or(json_get(r, "performedDateTime"), POP_NEVER);
    if(from == POP_NEVER) from = pop_day_or(json_get(json_get(r, "performedPeriod"), "start"), POP_NEVER);
    add_fact(x, "Procedure", id, r, json_get(r, "subject"), json_get(r, "code"), from, POP_OPEN);
}

static void add_medication(pop_extract *x, const char *id, const json_value *r) {
    static const char *const CURRENT[] = {"active", "on-hold", NULL};
    static const char *const ENDED[] = {"completed", "stopped", NULL};
    static const char *const NOT_ORDERS[] = {"proposal", "option", NULL};
    const char *status = json_string(json_get(r, "status"));
    bool current = in_list(status, CURRENT), ended = in_list(status, ENDED);
    if((!current && !ended) || in_list(json_string(json_get(r, "intent")), NOT_ORDERS) ||
       json_boolean(json_get(r, "doNotPerform"))) {
        x->skipped++;
        return;
    }
    size_t n;
    const char *pid = patient_of(json_get(r, "subject"), &n);
    json_value *med = json_get(r, "medicationCodeableConcept");
    json_value *coding = json_array_at(json_get(med, "coding"), 0);
    const char *sys = json_string(json_get(coding, "system")), *code = json_string(json_get(coding, "code"));
    uint64_t drug = 0;
    if(code) {
        drug = fnv(sys ? sys : "", sys ? strlen(sys) : 0, FNV0);
        drug = fnv("|", 1, drug);
        drug = fnv(code, strlen(code), drug);
    } else {
        const char *t = json_string(json_get(med, "text"));
        if(!t) t = json_string(json_get(json_get(r, "medicationReference"), "reference"));
        if(t) drug = fnv(t, strlen(t), FNV0 ^ 1);
    }
    if(!pid || !drug) {
        x->skipped++;
        return;
    }
    int32_t from = pop_day_or(json_get(r, "authoredOn"), POP_NEVER);
    int32_t to = pop_day_or(json_get(json_get(json_get(r, "dispenseRequest"), "validityPeriod"), "end"), POP_OPEN);
    if(ended && to == POP_OPEN) to = POP_AT_DEATH;
    char ref[160];
    int len = snprintf(ref, sizeof ref, "MedicationRequest/%s", id);
    uint32_t person = person_get(x, pid, n), labels = labels_of(x, r);
    APPEND(x->meds, x->nmeds, x->cap_meds);
    x->meds[x->nmeds++] = (pop_med){.person = person, .from = from, .to = to, .drug = drug,
                                     .ref = text_add(x, ref, (size_t)(len < (int)sizeof ref ? len : (int)sizeof ref - 1)),
                                     .labels = labels};
}

static bool tagged_cld(const json_value *r) {
    json_value *tags = json_get(json_get(r, "meta"), "tag");
    for(size_t i = 0; i < json_array_len(tags); i++) {
        json_value *t = json_array_at(tags, i);
        const char *s = json_string(json_get(t, "system")), *c = json_string(json_get(t, "code"));
        if(s && c && strcmp(s, SOURCE_SYS) == 0 && strcmp(c, "cld") == 0) return true;
    }
    return false;
}

static void add_patient(pop_extract *x, const char *id, const json_value *r) {
    uint32_t at = person_get(x, id, strlen(id)); /* first: it may move x->people */
    pop_person *p = &x->people[at];
    p->seen = true;
    p->birth = pop_day_or(json_get(r, "birthDate"), POP_NEVER);
    p->death = pop_day_or(json_get(r, "deceasedDateTime"), json_boolean(json_get(r, "deceasedBoolean")) ? POP_NEVER : POP_OPEN);
    const char *g = json_string(json_get(r, "gender"));
    p->sex = !g ? 0 : strcmp(g, "female") == 0 ? 1 : strcmp(g, "male") == 0 ? 2 : strcmp(g, "other") == 0 ? 3 : 0;
    json_value *addr = json_get(r, "address");
    for(size_t i = 0; i < json_array_len(addr) && !p->decile; i++) {
        json_value *ext = json_get(json_array_at(addr, i), "extension");
        for(size_t k = 0; k < json_array_len(ext); k++) {
            json_value *e = json_array_at(ext, k);
            const char *u = json_string(json_get(e, "url"));
            int64_t v;
            if(u && strcmp(u, IMD_URL) == 0 && json_int64(json_get(e, "valueInteger"), &v) && v >= 1 && v <= 10)
                p->decile = (int8_t)v;
        }
    }
    p->social_only = tagged_cld(r);
    json_value *links = json_get(r, "link");
    for(size_t i = 0; i < json_array_len(links); i++) {
        size_t n;
        const char *other = patient_of(json_get(json_array_at(links, i), "other"), &n);
        if(!other || (strlen(id) == n && memcmp(other, id, n) == 0)) continue;
        uint32_t to = person_get(x, other, n); /* may move x->people: p is stale after it */
        x->people[at].alias = to;
        break;
    }
}

static void add_event(pop_extract *x, const json_value *subject, int kind, int32_t from, int32_t to, bool died) {
    size_t n;
    const char *pid = patient_of(subject, &n);
    if(!pid || from == POP_NEVER) {
        x->skipped++;
        return;
    }
    APPEND(x->events, x->nevents, x->cap_events);
    x->events[x->nevents++] =
        (pop_event){.person = person_get(x, pid, n), .from = from, .to = to, .kind = (uint8_t)kind, .died = died};
}

static void add_encounter(pop_extract *x, const json_value *r) {
    static const char *const VOID[] = {"planned", "cancelled", "entered-in-error", NULL};
    if(in_list(json_string(json_get(r, "status")), VOID)) {
        x->skipped++;
        return;
    }
    const char *cls = json_string(json_get(json_get(r, "class"), "code"));
    json_value *type = json_get(r, "type"), *period = json_get(r, "period"), *hosp = json_get(r, "hospitalization");
    int32_t from = pop_day_or(json_get(period, "start"), POP_NEVER), to = pop_day_or(json_get(period, "end"), POP_OPEN);
    if(pop_has_code(type, NULL, "mdt-discussion")) {
        add_event(x, json_get(r, "subject"), POP_MDT_DISCUSSION, from, to, false);
    } else if(cls && (strcmp(cls, "IMP") == 0 || strcmp(cls, "ACUTE") == 0 || strcmp(cls, "NONAC") == 0)) {
        bool emergency = pop_has_code(type, NULL, "emergency-admission") || pop_has_code(json_get(hosp, "admitSource"), NULL, "emd");
        json_value *ext = json_get(hosp, "extension");
        for(size_t i = 0; i < json_array_len(ext) && !emergency; i++) {
            json_value *e = json_array_at(ext, i);
            const char *u = json_string(json_get(e, "url"));
            const char *m = pop_first_code(json_get(e, "valueCodeableConcept"));
            if(u && m && strstr(u, "AdmissionMethod") && m[0] == '2') emergency = true; /* NHS admission methods 21-2D */
        }
        if(pop_has_code(type, NULL, "elective-admission")) emergency = false;
        json_value *disp = json_get(hosp, "dischargeDisposition");
        bool died = pop_has_code(disp, NULL, "79") || pop_has_code(disp, NULL, "exp");
        add_event(x, json_get(r, "subject"), emergency ? POP_EMERGENCY_ADMISSION : POP_ELECTIVE_ADMISSION, from, to, died);
    } else if(cls && strcmp(cls, "EMER") == 0) {
        add_event(x, json_get(r, "subject"), POP_AE_ATTENDANCE, from, to, false);
    } else {
        x->skipped++;
    }
}

static void add_episode(pop_extract *x, const json_value *r) {
    static const char *const VOID[] = {"planned", "waitlist", "cancelled", "entered-in-error", NULL};
    if(!tagged_cld(r) || in_list(json_string(json_get(r, "status")), VOID)) {
        x->skipped++;
        return;
    }
    json_value *period = json_get(r, "period");
    add_event(x, json_get(r, "patient"), POP_SOCIAL_CARE, pop_day_or(json_get(period, "start"), POP_NEVER),
              pop_day_or(json_get(period, "end"), POP_OPEN), false);
}

static void add_assessment(pop_extract *x, const char *id, const json_value *r) {
    bool efi = strncmp(id, "efi-", 4) == 0, ear = strncmp(id, "ear-", 4) == 0;
    size_t n;
    const char *pid = patient_of(json_get(r, "subject"), &n);
    if((!efi && !ear) || !pid) {
        x->skipped++;
        return;
    }
    uint32_t at = person_get(x, pid, n); /* first: it may move x->people */
    pop_person *p = &x->people[at];
    if(efi) p->assessed = pop_assessment_hash(r);
    else p->assessed_risk = pop_assessment_hash(r);
}

/* Could an Encounter of this text matter? (A cheap look before parsing.) */
static bool encounter_may_matter(const char *body, size_t len) {
    static const char *const KEYS[] = {"\"IMP\"", "\"ACUTE\"", "\"NONAC\"", "\"EMER\"", "mdt-discussion"};
    for(size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++)
        if(memmem(body, len, KEYS[i], strlen(KEYS[i]))) return true;
    return false;
}

void pop_extract_add(pop_extract *x, const char *type, const char *id, const char *body, size_t len) {
    x->read++;
    bool efi = x->want & POP_WANT_EFI, events = x->want & POP_WANT_EVENTS;
    int kind = strcmp(type, "Patient") == 0                         ? 1
               : efi && strcmp(type, "Condition") == 0               ? 2
               : efi && strcmp(type, "Observation") == 0             ? 3
               : efi && strcmp(type, "Procedure") == 0               ? 4
               : efi && strcmp(type, "MedicationRequest") == 0       ? 5
               : events && strcmp(type, "Encounter") == 0            ? 6
               : events && strcmp(type, "EpisodeOfCare") == 0        ? 7
               : (x->want & POP_WANT_ASSESSED) && strcmp(type, "RiskAssessment") == 0 ? 8
                                                                     : 0;
    if(!kind || !body || (kind == 6 && !encounter_may_matter(body, len))) {
        x->skipped++;
        return;
    }
    json_value *r = NULL;
    if(json_parse(body, len, &r, NULL, 0)) {
        x->unreadable++;
        return;
    }
    if(!id) id = json_string(json_get(r, "id"));
    if(!id || !*id) {
        x->unreadable++;
        json_free(r);
        return;
    }
    switch(kind) {
    case 1: add_patient(x, id, r); break;
    case 2: add_condition(x, id, r); break;
    case 3: add_observation(x, id, r); break;
    case 4: add_procedure(x, id, r); break;
    case 5: add_medication(x, id, r); break;
    case 6: add_encounter(x, r); break;
    case 7: add_episode(x, r); break;
    case 8: add_assessment(x, id, r); break;
    }
    json_free(r);
}

/* ---- grouping ------------------------------------------------------------- */

/* Stable counting sort of n records of size sz by their leading person
 * field; sets each person's range through lo/cnt (offsets of fields in
 * pop_person). */
static void group(pop_extract *x, void *arr, size_t n, size_t sz, size_t lo_off, size_t n_off) {
    uint32_t *count = xcalloc(x->npeople + 1, sizeof *count);
    for(size_t i = 0; i < n; i++) count[*(uint32_t *)((char *)arr + i * sz) + 1]++;
    for(size_t p = 0; p < x->npeople; p++) {
        *(uint32_t *)((char *)&x->people[p] + lo_off) = count[p];
        *(uint32_t *)((char *)&x->people[p] + n_off) = count[p + 1];
        count[p + 1] += count[p];
    }
    char *sorted = xmalloc(n * sz + 1);
    for(size_t i = 0; i < n; i++) {
        uint32_t p = *(uint32_t *)((char *)arr + i * sz);
        memcpy(sorted + (size_t)count[p]++ * sz, (char *)arr + i * sz, sz);
    }
    if(n) memcpy(arr, sorted, n * sz);
    free(sorted);
    free(count);
}

static int by_time(const void *a, const void *b) {
    const pop_event *x = a, *y = b;
    if(x->from != y->from) return x->from < y->from ? -1 : 1;
    return x->kind < y->kind ? -1 : x->kind > y->kind;
}

void pop_extract_finish(pop_extract *x) {
    if(x->finished) return;
    x->finished = true;
    /* records of a linked record (a council's copy of the person) belong to the person */
    for(size_t i = 0; i < x->npeople; i++) {
        uint32_t a = x->people[i].alias;
        for(int hops = 0; a != UINT32_MAX && x->people[a].alias != UINT32_MAX && hops < 8; hops++) a = x->people[a].alias;
        x->people[i].alias = a == i ? UINT32_MAX : a;
    }
    for(size_t i = 0; i < x->nevents; i++)
        if(x->people[x->events[i].person].alias != UINT32_MAX) x->events[i].person = x->people[x->events[i].person].alias;
    for(size_t i = 0; i < x->nfacts; i++)
        if(x->people[x->facts[i].person].alias != UINT32_MAX) x->facts[i].person = x->people[x->facts[i].person].alias;
    for(size_t i = 0; i < x->nmeds; i++)
        if(x->people[x->meds[i].person].alias != UINT32_MAX) x->meds[i].person = x->people[x->meds[i].person].alias;
    group(x, x->facts, x->nfacts, sizeof *x->facts, offsetof(pop_person, fact_lo), offsetof(pop_person, fact_n));
    group(x, x->meds, x->nmeds, sizeof *x->meds, offsetof(pop_person, med_lo), offsetof(pop_person, med_n));
    group(x, x->events, x->nevents, sizeof *x->events, offsetof(pop_person, event_lo), offsetof(pop_person, event_n));
    for(size_t i = 0; i < x->npeople; i++) /* each person's events in time order */
        if(x->people[i].event_n > 1) qsort(x->events + x->people[i].event_lo, x->people[i].event_n, sizeof *x->events, by_time);
}

/* ---- the store ------------------------------------------------------------ */

const char *const *pop_types(unsigned want) {
    static const char *const EFI[] = {"Condition", "MedicationRequest", "Observation", "Patient", "Procedure", NULL};
    static const char *const EFI_ASSESSED[] = {"Condition",      "MedicationRequest", "Observation", "Patient",
                                               "Procedure",      "RiskAssessment",    NULL};
    static const char *const ALL[] = {"Condition", "Encounter", "EpisodeOfCare", "MedicationRequest", "Observation",
                                      "Patient",   "Procedure", "RiskAssessment", NULL};
    if(want & POP_WANT_EVENTS) return ALL;
    return want & POP_WANT_ASSESSED ? EFI_ASSESSED : EFI;
}

typedef struct scan_ctx {
    pop_extract *x;
    const char *patient;
    pop_progress_fn fn;
    void *ctx;
    long done, expected;
} scan_ctx;

static int scan_row(void *ctx, const store_resource *r) {
    scan_ctx *s = ctx;
    if(!(s->patient && strcmp(r->type, "Patient") == 0))
        pop_extract_add(s->x, r->type, r->id, r->body, r->body_len);
    if(s->fn && ++s->done % 50000 == 0) s->fn(s->ctx, s->done, s->expected);
    return 0;
}

kith_rc pop_extract_from_store(store_conn *c, pop_extract *x, const char *patient, pop_progress_fn fn, void *ctx) {
    const char *const *types = pop_types(x->want);
    size_t ntypes = 0;
    while(types[ntypes]) ntypes++;
    store_scan_query q = {.types = types, .ntypes = ntypes, .patient = patient};
    scan_ctx s = {.x = x, .patient = patient, .fn = fn, .ctx = ctx};
    kith_rc rc = KITH_OK;
    if(fn) {
        int64_t n = 0;
        if(!store_scan_count(c, &q, &n)) s.expected = (long)n;
    }
    if(patient) { /* the Patient itself, which its own compartment may not hold */
        store_resource r;
        rc = store_read(c, "Patient", patient, 0, &r);
        if(rc == KITH_OK) pop_extract_add(x, "Patient", patient, r.body, r.body_len);
        store_resource_free(&r);
        if(rc == KITH_ENOTFOUND || rc == KITH_EGONE) rc = KITH_OK;
    }
    if(!rc) rc = store_scan(c, &q, scan_row, &s);
    if(fn && !rc) fn(ctx, s.done, s.expected);
    return rc;
}

#define MAX_NDJSON_LINE (16 * 1024 * 1024)

kith_rc pop_extract_from_ndjson(const char *dir, pop_extract *x, pop_progress_fn fn, void *ctx, char *err, size_t errlen) {
    const char *const *types = pop_types(x->want);
    char *line = NULL;
    size_t cap = 0;
    kith_rc rc = KITH_OK;
    for(size_t t = 0; types[t] && !rc; t++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.ndjson", dir, types[t]);
        FILE *f = fopen(path, "r");
        if(!f) {
            if(errno != ENOENT) {
                snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
                rc = KITH_EIO;
            }
            continue;
        }
        ssize_t len;
        while((len = getline(&line, &cap, f)) != -1) {
            while(len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
            if(!len) continue;
            if(len > MAX_NDJSON_LINE) {
                x->unreadable++;
                continue;
            }
            pop_extract_add(x, types[t], NULL, line, (size_t)len);
            if(fn && x->read % 100000 == 0) fn(ctx, x->read, 0);
        }
        if(ferror(f)) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            rc = KITH_EIO;
        }
        fclose(f);
    }
    free(line);
    if(fn && !rc) fn(ctx, x->read, x->read);
    return rc;
}

/* ---- scoring helpers -------------------------------------------------------- */

bool pop_fact_on(const pop_fact *f, int32_t day) {
    return (f->from == POP_NEVER || f->from <= day) && (f->to == POP_OPEN || day <= f->to);
}

bool pop_med_on(const pop_med *m, const pop_person *p, int32_t day) {
    if(m->from != POP_NEVER && m->from > day) return false;
    if(m->to == POP_OPEN) return true;
    if(m->to == POP_AT_DEATH) return p->death != POP_OPEN && day < p->death;
    return day <= m->to;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t pop_efi_mask(const pop_extract *x, const pop_person *p, int32_t day, bool second, int *drugs) {
    uint64_t mask = 0;
    for(uint32_t i = 0; i < p->fact_n; i++) {
        const pop_fact *f = &x->facts[p->fact_lo + i];
        if(pop_fact_on(f, day)) mask |= second ? f->mask2 : f->mask;
    }
    uint64_t local[64], *d = p->med_n <= 64 ? local : xmalloc(p->med_n * sizeof *d);
    size_t n = 0;
    for(uint32_t i = 0; i < p->med_n; i++) {
        const pop_med *m = &x->meds[p->med_lo + i];
        if(pop_med_on(m, p, day)) d[n++] = m->drug;
    }
    qsort(d, n, sizeof *d, cmp_u64);
    int distinct = 0;
    for(size_t i = 0; i < n; i++) distinct += i == 0 || d[i] != d[i - 1];
    if(d != local) free(d);
    if(drugs) *drugs = distinct;
    return efi_with_polypharmacy(mask, distinct);
}

/* ---- assessment hashes ------------------------------------------------------ */

static uint64_t mix(uint64_t h) {
    h ^= h >> 31;
    h *= 0x7fb5d329728ea185ull;
    h ^= h >> 27;
    h *= 0x81dadef4bc2dd44dull;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_value(const json_value *v, bool top) {
    switch(json_kind_of(v)) {
    case JSON_NULL: return 0x11;
    case JSON_BOOL: return json_boolean(v) ? 0x22 : 0x33;
    case JSON_INTEGER:
    case JSON_DECIMAL: {
        const char *t = json_number_text(v);
        return fnv(t, strlen(t), FNV0 ^ 0x44);
    }
    case JSON_STRING: return fnv(json_string(v), json_string_len(v), FNV0 ^ 0x55);
    case JSON_ARRAY: {
        uint64_t h = 0x66;
        for(size_t i = 0; i < json_array_len(v); i++) h = mix(h * 31 + hash_value(json_array_at(v, i), false));
        return h;
    }
    case JSON_OBJECT: {
        uint64_t h = 0x77;
        json_iter it = json_iter_start(v);
        const char *k;
        json_value *m;
        while(json_iter_next(&it, &k, &m)) {
            if(top && strcmp(k, "occurrenceDateTime") == 0) continue;
            if(top && strcmp(k, "meta") == 0) { /* only its security labels are content */
                json_value *sec = json_get(m, "security");
                if(sec) h += mix(fnv("security", 8, FNV0) ^ hash_value(sec, false));
                continue;
            }
            h += mix(fnv(k, strlen(k), FNV0) ^ hash_value(m, false)); /* a sum: member order does not matter */
        }
        return mix(h);
    }
    }
    return 0;
}

uint64_t pop_assessment_hash(const json_value *ra) {
    uint64_t h = hash_value(ra, true);
    return h ? h : 1;
}
