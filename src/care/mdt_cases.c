/*
 * mdt_cases.c — the MDT's case list: case finding (CareTeam/{id}/$find-cases)
 * proposes a List of people who meet the rules (mdt_rules.c), each through a
 * case CareTeam about the person that carries the reasons; the chair edits
 * the List (PUT/PATCH: order, removals, time-boxes) or adds someone by hand
 * ($add-case).
 *
 * Why the List's entries point at case CareTeams and not at the Patients
 * themselves: a List naming many people belongs to no one person's record,
 * so the access policy would show it, reasons and all, to every member of
 * staff. A case CareTeam is in the person's record: only those who care for
 * them see who it is and why. Proposed, it names the MDT's chair and
 * coordinator; once the list is accepted (mdt_meeting.c) every member, which
 * is what lets the team prepare. Who may be found: see mdt_reach.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/mem.h"
#include "care/mdt_int.h"
#include "fhir/access.h"

#define MAX_POPULATION 500000

/* ---- the case CareTeam --------------------------------------------------------- */

/* The MDT's participants (all, or only its chair and coordinator) as a new array. */
static json_value *members(const mdt *m, bool all) {
    json_value *out = json_new_array(), *ps = json_get(m->team, "participant");
    for(size_t i = 0; i < json_array_len(ps); i++) {
        json_value *p = json_array_at(ps, i), *roles = json_get(p, "role");
        bool leads =
            care_concept_has(roles, MDT_ROLE_CS, "chair") || care_concept_has(roles, MDT_ROLE_CS, "coordinator");
        if(all || leads) json_append(out, json_copy(p));
    }
    return out;
}

kith_rc mdt_case_team_put(store_conn *c, const mdt *m, const char *pid, const char *person, const char *why,
                          bool accepted, record_result *out, fhir_issues *is) {
    char q[300], id[72] = "", now[32], value[160], **ids;
    size_t n;
    snprintf(value, sizeof value, "%s/%s", m->id, pid);
    snprintf(q, sizeof q, "identifier=" MDT_CASE_ID "|%s", value);
    kith_rc rc = care_find(c, "CareTeam", q, 2, &ids, &n);
    if(rc) return rc;
    int64_t version = 0;
    json_value *t = n ? care_read(c, "CareTeam", ids[0], &version) : NULL;
    if(t) snprintf(id, sizeof id, "%s", ids[0]);
    care_ids_free(ids, n);
    care_instant(care_now(), now);
    if(!t) {
        t = json_new_object();
        json_set(t, "resourceType", json_new_string("CareTeam"));
        json_value *ident = json_new_object(), *arr = json_new_array();
        json_set(ident, "system", json_new_string(MDT_CASE_ID));
        json_set(ident, "value", json_new_string(value));
        json_append(arr, ident);
        json_set(t, "identifier", arr);
        json_set(t, "status", json_new_string("proposed"));
        json_set(t, "category", json_new_array());
        json_append(json_get(t, "category"), care_concept(MDT_TEAM_CS, "mdt-case", "Discussed at a neighbourhood MDT"));
        char name[220];
        snprintf(name, sizeof name, "%s: this person's care", m->name);
        json_set(t, "name", json_new_string(name));
        json_set(t, "subject", care_reference("Patient", pid, NULL));
        json_set(t, "managingOrganization", json_new_array());
        json_append(json_get(t, "managingOrganization"), care_reference("Organization", m->org, NULL));
        care_ext_set(t, CARE_EXT "mdt", "valueReference", care_reference("CareTeam", m->id, m->name));
    }
    const char *status = json_string(json_get(t, "status"));
    bool active = status && strcmp(status, "active") == 0, open = active || (status && !strcmp(status, "proposed"));
    if(accepted || !active) {
        json_set(t, "status", json_new_string(accepted ? "active" : "proposed"));
        json_set(t, "participant", members(m, accepted));
        if(!json_array_len(json_get(t, "participant"))) json_set(t, "participant", members(m, true));
        if(!open) { /* a new episode of MDT care */
            json_value *period = json_new_object();
            json_set(period, "start", json_new_string(now));
            json_set(t, "period", period);
        }
    }
    if(why) {
        json_value *rc_arr = json_new_array(), *cc = json_new_object();
        json_set(cc, "text", json_new_string(why));
        json_append(rc_arr, cc);
        json_set(t, "reasonCode", rc_arr);
    }
    if(person) json_set(json_get(t, "subject"), "display", json_new_string(person));
    rc = care_write(c, "CareTeam", id[0] ? id : NULL, t, version, true, out, is);
    json_free(t);
    return rc;
}

/* ---- case finding -------------------------------------------------------------- */

/* How it stays fast: the rules' own signals (a RiskAssessment in a category
 * or above a risk, an open referral) name a few candidates across the place,
 * by id only; one search keeps those registered with the MDT's practices and
 * old enough; only they are read in full. When the signals name many people
 * (loose rules), the practices' population is listed once instead and the
 * candidates are kept by lookup. Nothing about anyone outside that
 * population is read but the id of their assessment or whose referral it is. */
#define MANY_CANDIDATES 400
#define BATCH 100

typedef struct referral {
    char pid[72];
    int rank;     /* MDT_REFERRAL_* */
    int64_t when; /* when it was made */
} referral;

typedef struct referred {
    char pid[72], sr[72]; /* whose referral, which */
} referred;

typedef struct found {
    mdt_candidate c; /* first: the list sorts with mdt_candidate_cmp */
    char *why;
    char person[200];
} found;

typedef struct finder {
    store_conn *c;
    const mdt *m;
    mdt_rules rules;
    int64_t now, since; /* the admissions window starts at since */
    buf registered;     /* the search for the population: registered with the practices, old enough */
    char **cand;        /* people some rule may pick (sorted, once filtered: the population's only) */
    size_t ncand, capcand;
    referred *pairs; /* open referrals for MDT discussion, before the filter */
    size_t npairs;
    referral *refs; /* the candidates' referrals, one per person */
    size_t nrefs;
    found *f;
    size_t nf;
} finder;

/* The instant `months` calendar months before t (the day clamped to the month's length). */
static int64_t months_before(int64_t t, int months) {
    static const int LEN[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    int64_t days = t / DAY_SECONDS, rest = t % DAY_SECONDS;
    datetime_civil_from_days(days, &y, &m, &d);
    int k = y * 12 + (m - 1) - months;
    y = k / 12;
    m = k % 12 + 1;
    int len = LEN[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if(d > len) d = len;
    return datetime_days_from_civil(y, m, d) * DAY_SECONDS + rest;
}

static void add_candidate(finder *f, const char *pid) {
    if(f->ncand == f->capcand)
        f->cand = xrealloc(f->cand, (f->capcand = f->capcand ? f->capcand * 2 : 64) * sizeof *f->cand);
    f->cand[f->ncand++] = xstrdup(pid);
}

/* The search for the MDT's population: registered with its practices and old enough. */
static void population_query(finder *f, char *const *practices, size_t np) {
    int y, m, d;
    datetime_civil_from_days(f->now / DAY_SECONDS, &y, &m, &d);
    if(m == 2 && d == 29) d = 28;
    buf_puts(&f->registered, "general-practitioner=");
    for(size_t i = 0; i < np; i++) buf_printf(&f->registered, "%sOrganization/%s", i ? "," : "", practices[i]);
    buf_printf(&f->registered, "&birthdate=le%04d-%02d-%02d", y - f->rules.min_age, m, d);
}

/* Keep only the candidates in the population (see above). */
static kith_rc keep_population(finder *f) {
    char **keep = NULL, **ids;
    size_t nk = 0, n;
    kith_rc rc = KITH_OK;
    f->ncand = mdt_sort_ids(f->cand, f->ncand);
    if(f->ncand > MANY_CANDIDATES) {
        if((rc = care_find(f->c, "Patient", buf_str(&f->registered), MAX_POPULATION, &ids, &n))) return rc;
        n = mdt_sort_ids(ids, n);
        keep = xcalloc(f->ncand + 1, sizeof *keep);
        for(size_t i = 0; i < f->ncand; i++)
            if(mdt_sorted_has(ids, n, f->cand[i])) keep[nk++] = xstrdup(f->cand[i]);
        care_ids_free(ids, n);
    } else {
        buf q = BUF_INIT;
        for(size_t i = 0; i < f->ncand && !rc; i += BATCH) {
            buf_reset(&q);
            buf_puts(&q, "_id=");
            for(size_t k = i; k < f->ncand && k < i + BATCH; k++) buf_printf(&q, "%s%s", k > i ? "," : "", f->cand[k]);
            buf_printf(&q, "&%s", buf_str(&f->registered));
            if((rc = care_find(f->c, "Patient", buf_str(&q), BATCH, &ids, &n))) break;
            keep = xrealloc(keep, (nk + n + 1) * sizeof *keep);
            for(size_t k = 0; k < n; k++) keep[nk++] = ids[k];
            free(ids);
        }
        buf_free(&q);
    }
    care_ids_free(f->cand, f->ncand);
    f->cand = keep;
    f->ncand = f->capcand = mdt_sort_ids(keep, nk);
    return rc;
}

/* Is s what `kith frailty` and `kith risk` put after the prefix for a Patient
 * id too long to fit: "h" and 16 hex digits (a hash of the id)? */
static bool hashed_id(const char *s) {
    if(s[0] != 'h' || strlen(s) != 17) return false;
    for(int i = 1; i < 17; i++)
        if(!strchr("0123456789abcdef", s[i])) return false;
    return true;
}

/* People with a RiskAssessment (id: prefix + Patient id) matching query. */
static kith_rc by_assessment(finder *f, const char *query, const char *prefix) {
    char **ids, pid[72];
    size_t n, k = strlen(prefix);
    kith_rc rc = care_find(f->c, "RiskAssessment", query, MAX_POPULATION, &ids, &n);
    if(rc) return rc;
    for(size_t i = 0; i < n; i++) {
        if(strncmp(ids[i], prefix, k) != 0) continue;
        if(!hashed_id(ids[i] + k)) {
            add_candidate(f, ids[i] + k);
            continue;
        }
        json_value *ra = care_read(f->c, "RiskAssessment", ids[i], NULL); /* whose it is says its subject */
        if(mdt_case_patient(ra, pid)) add_candidate(f, pid);
        json_free(ra);
    }
    care_ids_free(ids, n);
    return KITH_OK;
}

/* Open referrals for MDT discussion (category referral-category|mdt, or to this MDT): whose they are. */
static kith_rc by_referral(finder *f) {
    char q[300];
    kith_rc rc = KITH_OK;
    for(int pass = 0; pass < 2 && !rc; pass++) {
        if(pass == 0)
            snprintf(q, sizeof q, "category=" MDT_REFERRAL_CS "|mdt&status=active");
        else
            snprintf(q, sizeof q, "performer=CareTeam/%s&status=active", f->m->id);
        char **ids;
        size_t n;
        if((rc = care_find(f->c, "ServiceRequest", q, 50000, &ids, &n))) break;
        f->pairs = xrealloc(f->pairs, (f->npairs + n + 1) * sizeof *f->pairs);
        for(size_t i = 0; i < n; i++) {
            store_resource r;
            if(store_read(f->c, "ServiceRequest", ids[i], 0, &r) == KITH_OK && r.patient &&
               record_id_valid(r.patient)) {
                referred *x = &f->pairs[f->npairs++];
                snprintf(x->pid, sizeof x->pid, "%s", r.patient);
                snprintf(x->sr, sizeof x->sr, "%s", ids[i]);
                add_candidate(f, r.patient);
            }
            store_resource_free(&r);
        }
        care_ids_free(ids, n);
    }
    return rc;
}

/* The candidates' referrals: the most urgent of each person's, and of those the oldest. */
static void referrals_of_candidates(finder *f) {
    for(size_t i = 0; i < f->npairs; i++) {
        const referred *x = &f->pairs[i];
        if(!mdt_sorted_has(f->cand, f->ncand, x->pid)) continue;
        json_value *sr = care_read(f->c, "ServiceRequest", x->sr, NULL);
        const char *pri = json_string(json_get(sr, "priority"));
        int rank = pri && strcmp(pri, "routine") != 0 ? MDT_REFERRAL_URGENT : MDT_REFERRAL_ROUTINE;
        int64_t when = 0;
        if(!care_time(json_string(json_get(sr, "authoredOn")), &when))
            care_time(json_string(json_get(json_get(sr, "meta"), "lastUpdated")), &when);
        bool ok = sr != NULL;
        json_free(sr);
        if(!ok) continue;
        referral *r = NULL;
        for(size_t k = 0; k < f->nrefs && !r; k++)
            if(strcmp(f->refs[k].pid, x->pid) == 0) r = &f->refs[k];
        if(!r) {
            f->refs = xrealloc(f->refs, (f->nrefs + 1) * sizeof *f->refs);
            r = &f->refs[f->nrefs++];
            *r = (referral){.rank = MDT_REFERRAL_NONE};
            snprintf(r->pid, sizeof r->pid, "%s", x->pid);
        }
        if(rank > r->rank || (rank == r->rank && when < r->when)) {
            r->rank = rank;
            r->when = when;
        }
    }
}

/* The RiskAssessment `prefix-pid` if it is of method `method` about the person
 * (for a Patient id too long for that, the one of that method about them). */
static json_value *assessment(finder *f, const char *prefix, const char *pid, const char *method) {
    char id[160], ref[100];
    snprintf(id, sizeof id, "%s%s", prefix, pid);
    snprintf(ref, sizeof ref, "Patient/%s", pid);
    if(!record_id_valid(id)) {
        char q[300], **ids;
        size_t n;
        snprintf(q, sizeof q, "subject=%s&method=" MDT_RISK_CS "|%s", ref, method);
        id[0] = '\0';
        if(!care_find(f->c, "RiskAssessment", q, 1, &ids, &n)) {
            if(n) snprintf(id, sizeof id, "%s", ids[0]);
            care_ids_free(ids, n);
        }
    }
    json_value *ra = id[0] ? care_read(f->c, "RiskAssessment", id, NULL) : NULL;
    const char *subject = care_ref_of(json_get(ra, "subject"));
    if(ra && (!care_concept_has(json_get(ra, "method"), MDT_RISK_CS, method) || !subject || strcmp(subject, ref))) {
        json_free(ra);
        ra = NULL;
    }
    return ra;
}

/* A decimal's value, or -1. */
static double decimal(const json_value *v) {
    const char *t = json_number_text(v);
    return t ? strtod(t, NULL) : -1;
}

int64_t mdt_last_discussed(store_conn *c, const mdt *m, const char *pid) {
    char q[300], **ids;
    size_t n;
    int64_t last = 0;
    snprintf(q, sizeof q, "patient=Patient/%s&type=" MDT_ENC_CS "|mdt-discussion&service-provider=Organization/%s", pid,
             m->org);
    if(care_find(c, "Encounter", q, 1000, &ids, &n)) return 0;
    for(size_t i = 0; i < n; i++) {
        json_value *e = care_read(c, "Encounter", ids[i], NULL);
        int64_t t = mdt_enc_start(e);
        if(t > last) last = t;
        json_free(e);
    }
    care_ids_free(ids, n);
    return last;
}

/* What is known about one candidate; false if they cannot be on the list (dead, moved away). */
static bool facts(finder *f, const char *pid, char *const *practices, size_t np, found *out) {
    json_value *pat = care_read(f->c, "Patient", pid, NULL);
    bool dead = json_boolean(json_get(pat, "deceasedBoolean")) || json_get(pat, "deceasedDateTime");
    if(!pat || dead || !mdt_registered(pat, practices, np)) {
        json_free(pat);
        return false;
    }
    memset(out, 0, sizeof *out);
    mdt_candidate *c = &out->c;
    snprintf(c->patient, sizeof c->patient, "%s", pid);
    c->age = mdt_age(pat, f->now);
    mdt_person_words(pat, f->now, false, out->person);
    json_free(pat);
    c->frailty = MDT_FRAILTY_UNKNOWN;
    c->efi = c->risk = -1;
    json_value *efi = assessment(f, "efi-", pid, "efi");
    if(efi) {
        json_value *pred = json_array_at(json_get(efi, "prediction"), 0);
        json_value *codings = json_get(json_get(pred, "qualitativeRisk"), "coding");
        for(size_t i = 0; i < json_array_len(codings) && c->frailty == MDT_FRAILTY_UNKNOWN; i++) {
            const char *s = json_string(json_get(json_array_at(codings, i), "system"));
            if(s && strcmp(s, MDT_EFI_CS) == 0)
                c->frailty = mdt_frailty_of(json_string(json_get(json_array_at(codings, i), "code")));
        }
        json_value *score = care_ext_get(efi, CARE_EXT "efi-score");
        if(!score) score = care_ext_get(pred, CARE_EXT "efi-score");
        c->efi = decimal(json_get(score, "valueDecimal"));
        json_free(efi);
    }
    json_value *ear = assessment(f, "ear-", pid, "emergency-admission-12m");
    c->risk = decimal(json_get(json_array_at(json_get(ear, "prediction"), 0), "probabilityDecimal"));
    json_free(ear);
    int64_t adm[64];
    size_t na = mdt_admissions(f->c, pid, f->since, adm, 64);
    for(size_t i = 0; i < na; i++) c->admissions += adm[i] <= f->now;
    for(size_t i = 0; i < f->nrefs; i++)
        if(strcmp(f->refs[i].pid, pid) == 0) {
            c->referral = f->refs[i].rank;
            c->referred = f->refs[i].when;
        }
    c->discussed = mdt_last_discussed(f->c, f->m, pid);
    return true;
}

static void finder_free(finder *f) {
    buf_free(&f->registered);
    care_ids_free(f->cand, f->ncand);
    free(f->pairs);
    free(f->refs);
    for(size_t i = 0; i < f->nf; i++) free(f->f[i].why);
    free(f->f);
}

/* A new case list: entries pointing at the case CareTeams, in order. */
static json_value *case_list(const mdt *m, const found *f, const record_result *teams, size_t n, const char *rules) {
    char now[32], title[260], day[64];
    int64_t t = care_now();
    care_instant(t, now);
    mdt_when_words(t, false, day);
    json_value *l = json_new_object();
    json_set(l, "resourceType", json_new_string("List"));
    care_ext_set(l, CARE_EXT "mdt", "valueReference", care_reference("CareTeam", m->id, m->name));
    care_ext_set(l, CARE_EXT "case-finding-rules", "valueString", json_new_string(rules));
    json_set(l, "status", json_new_string("current"));
    json_set(l, "mode", json_new_string("working"));
    snprintf(title, sizeof title, "Case list: %s, proposed %s", m->name, day);
    json_set(l, "title", json_new_string(title));
    json_set(l, "code", care_concept(MDT_LIST_CS, "case-list", "MDT case list"));
    json_set(l, "date", json_new_string(now));
    char ref[96], who[160];
    care_actor(ref, who);
    if(ref[0]) json_set(l, "source", care_reference("Practitioner", ref + 13, NULL));
    json_set(l, "orderedBy",
             care_concept("http://terminology.hl7.org/CodeSystem/list-order", "priority", "Sorted by Priority"));
    json_value *entries = json_new_array();
    for(size_t i = 0; i < n; i++) {
        json_value *e = json_new_object();
        bool review = f[i].c.discussed != 0;
        json_set(e, "flag",
                 care_concept(MDT_ENTRY_CS, review ? "review" : "new", review ? "Discussed before" : "New to the MDT"));
        json_set(e, "date", json_new_string(now));
        json_set(e, "item", care_reference("CareTeam", teams[i].id, NULL));
        json_append(entries, e);
    }
    if(n)
        json_set(l, "entry", entries);
    else {
        json_free(entries);
        json_value *why =
            care_concept("http://terminology.hl7.org/CodeSystem/list-empty-reason", "nilknown", "Nil Known");
        json_set(why, "text", json_new_string("Nobody meets the rules"));
        json_set(l, "emptyReason", why);
    }
    return l;
}

static const char *const RULE_NAMES[] = {"frailty",   "admissions", "months", "admission-risk", "referrals", "min-age",
                                         "rest-days", "max-cases",  NULL};

/* POST CareTeam/{id}/$find-cases: propose a case list. */
void mdt_find_cases(store_conn *c, const http_request *req, http_response *res, const char *id) {
    mdt m = {0};
    mdt_params p = {0};
    finder f = {.c = c, .m = &m};
    char **practices = NULL, err[240];
    size_t np = 0, nw = 0;
    record_result *out = NULL;
    fhir_issues is = FHIR_ISSUES_INIT;
    bool widened = false;
    buf rules = BUF_INIT;
    json_value *list = NULL;
    if(!access_permit(res, "CareTeam", 'c', "create") || !access_permit(res, "List", 'c', "create")) return;
    if(!mdt_params_open(req, res, RULE_NAMES, &p)) goto done;
    mdt_rules_default(&f.rules);
    for(size_t i = 0; RULE_NAMES[i]; i++) {
        const char *v = mdt_param_text(&p, RULE_NAMES[i]);
        if(v && mdt_rules_set(&f.rules, RULE_NAMES[i], v, err, sizeof err)) {
            fhir_reply_error(res, 400, "value", "%s", err);
            goto done;
        }
    }
    if(!mdt_load(c, id, res, &m) || !mdt_may_lead(&m, res, "find cases")) goto done;
    np = mdt_practices(c, &m, &practices);
    if(!np) {
        fhir_reply_error(res, 422, "business-rule",
                         "%s has no GP practices: give Organization/%s's practices partOf it, or name them in the "
                         "CareTeam's mdt-practice extension",
                         m.name, m.org);
        goto done;
    }
    if(mdt_reach(&m, practices, np)) {
        if(!(widened = mdt_widen(c, true, res))) goto done;
    } else if(access_current() && access_current()->viewer && strcmp(access_current()->who.kind, "user") == 0) {
        fhir_issues_add(&is, "warning", "informational", NULL,
                        "case finding looked only at the people you care for: an MDT chair or coordinator with the "
                        "mdt-chair (or gp) role, working for the neighbourhood team or one of its practices, reaches "
                        "everyone registered with them");
    }
    f.now = care_now();
    f.since = months_before(f.now, f.rules.months);
    char q[300];
    kith_rc rc = KITH_OK;
    population_query(&f, practices, np);
    buf levels = BUF_INIT;
    for(int k = f.rules.frailty; k <= MDT_SEVERE; k++)
        buf_printf(&levels, "%s" MDT_EFI_CS "|%s", k > f.rules.frailty ? "," : "", mdt_frailty_code(k));
    snprintf(q, sizeof q, "method=" MDT_RISK_CS "|efi&risk=%.200s", buf_str(&levels));
    buf_free(&levels);
    if(!rc) rc = by_assessment(&f, q, "efi-");
    if(!rc && f.rules.risk_percent >= 0) {
        snprintf(q, sizeof q, "method=" MDT_RISK_CS "|emergency-admission-12m&probability=ge%d.%02d",
                 f.rules.risk_percent / 100, f.rules.risk_percent % 100);
        rc = by_assessment(&f, q, "ear-");
    }
    if(!rc && f.rules.referrals) rc = by_referral(&f);
    size_t signalled = f.ncand;
    if(!rc) rc = keep_population(&f);
    if(rc) {
        fhir_reply_error(res, fhir_rest_status_for(rc), "exception", "case finding failed: %s", kith_rc_name(rc));
        goto done;
    }
    referrals_of_candidates(&f);
    f.f = xcalloc(f.ncand + 1, sizeof *f.f);
    buf why = BUF_INIT;
    for(size_t i = 0; i < f.ncand; i++) {
        found *x = &f.f[f.nf];
        if(!facts(&f, f.cand[i], practices, np, x)) continue;
        buf_reset(&why);
        if(!mdt_rules_match(&f.rules, &x->c, f.now, &why)) continue;
        x->why = xstrdup(buf_str(&why));
        f.nf++;
    }
    buf_free(&why);
    if(f.nf > 1) qsort(f.f, f.nf, sizeof *f.f, mdt_candidate_cmp);
    nw = f.nf < (size_t)f.rules.max_cases ? f.nf : (size_t)f.rules.max_cases;
    mdt_rules_describe(&f.rules, &rules);
    out = xcalloc(nw + 1, sizeof *out);
    rc = store_begin(c);
    for(size_t i = 0; i < nw && !rc; i++)
        rc = mdt_case_team_put(c, &m, f.f[i].c.patient, f.f[i].person, f.f[i].why, false, &out[i + 1], &is);
    if(!rc) {
        list = case_list(&m, f.f, out + 1, nw, buf_str(&rules));
        rc = care_write(c, "List", NULL, list, 0, true, &out[0], &is);
    }
    if(!mdt_commit(c, rc, res, &is)) goto done;
    fhir_issues_add(&is, "information", "informational", NULL,
                    "%zu people meet the rules (%s)%s; List/%s holds %zu, in order of priority. Of %zu people with "
                    "an assessment or referral the rules look for, %zu are aged %d or over and registered with the "
                    "%zu practice%s",
                    f.nf, buf_str(&rules), f.nf > nw ? ", more than the list holds" : "", out[0].id, nw, signalled,
                    f.ncand, f.rules.min_age, np, np == 1 ? "" : "s");
    mdt_reply_written(res, req, 201, "List", out, nw + 1, &is);
done:
    if(widened) mdt_widen(c, false, NULL);
    for(size_t i = 0; out && i < nw + 1; i++) record_result_free(&out[i]);
    free(out);
    json_free(list);
    buf_free(&rules);
    finder_free(&f);
    care_ids_free(practices, np);
    fhir_issues_free(&is);
    mdt_params_close(&p);
    mdt_free(&m);
}

/* ---- adding a case by hand ------------------------------------------------------ */

json_value *mdt_list_load(store_conn *c, const mdt *m, const char *ref, int64_t *version, char id[72],
                          http_response *res) {
    char t[64], want[100];
    if(!care_ref_split(ref, t, id) || strcmp(t, "List") != 0) {
        fhir_reply_error(res, 400, "value", "list must be a reference to a List, not '%s'", ref ? ref : "(none)");
        return NULL;
    }
    json_value *l = care_read(c, "List", id, version);
    if(!l) {
        fhir_reply_error(res, 404, "not-found", "List/%s is not known", id);
        return NULL;
    }
    snprintf(want, sizeof want, "CareTeam/%s", m->id);
    const char *of = care_ref_of(json_get(care_ext_get(l, CARE_EXT "mdt"), "valueReference"));
    if(!of || strcmp(of, want) != 0 || !care_concept_has(json_get(l, "code"), MDT_LIST_CS, "case-list")) {
        fhir_reply_error(res, 422, "business-rule", "List/%s is not a case list of %s", id, m->name);
        json_free(l);
        return NULL;
    }
    return l;
}

/* Does the List already hold a case about Patient pid? */
static bool list_has(store_conn *c, const json_value *list, const char *pid) {
    json_value *es = json_get(list, "entry");
    for(size_t i = 0; i < json_array_len(es); i++) {
        char t[64], tid[72], who[72];
        if(!care_ref_split(care_ref_of(json_get(json_array_at(es, i), "item")), t, tid) || strcmp(t, "CareTeam"))
            continue;
        json_value *team = care_read(c, "CareTeam", tid, NULL);
        bool same = team && mdt_case_patient(team, who) && strcmp(who, pid) == 0;
        json_free(team);
        if(same) return true;
    }
    return false;
}

/* POST CareTeam/{id}/$add-case: put someone on a case list by hand. */
void mdt_add_case(store_conn *c, const http_request *req, http_response *res, const char *id) {
    static const char *const KNOWN[] = {"list", "patient", "reason", "position", NULL};
    mdt m = {0};
    mdt_params p = {0};
    char **practices = NULL, lid[72], t[64], pid[72];
    size_t np = 0;
    int64_t lv = 0;
    json_value *list = NULL, *pat = NULL;
    record_result out[2] = {0};
    fhir_issues is = FHIR_ISSUES_INIT;
    bool widened = false;
    if(!access_permit(res, "CareTeam", 'c', "create") || !access_permit(res, "List", 'u', "update")) return;
    if(!mdt_params_open(req, res, KNOWN, &p) || !mdt_load(c, id, res, &m) || !mdt_may_lead(&m, res, "add cases"))
        goto done;
    const char *pref = mdt_param_text(&p, "patient"), *reason = mdt_param_text(&p, "reason");
    const char *pos = mdt_param_text(&p, "position");
    if(!care_ref_split(pref, t, pid) || strcmp(t, "Patient") != 0 || !reason || !*reason) {
        fhir_reply_error(res, 400, "required",
                         "give patient (a reference to a Patient) and reason (why they should "
                         "be discussed)");
        goto done;
    }
    if(!(list = mdt_list_load(c, &m, mdt_param_text(&p, "list"), &lv, lid, res))) goto done;
    np = mdt_practices(c, &m, &practices);
    pat = care_read(c, "Patient", pid, NULL);
    if(!pat && mdt_reach(&m, practices, np)) {
        if(!(widened = mdt_widen(c, true, res))) goto done;
        pat = care_read(c, "Patient", pid, NULL);
        if(pat && !mdt_registered(pat, practices, np)) {
            json_free(pat);
            pat = NULL;
        }
    }
    if(!pat) {
        fhir_reply_error(res, 404, "not-found", "Patient/%s is not known", pid);
        goto done;
    }
    access_note("Patient", pid, pid);
    if(list_has(c, list, pid)) {
        fhir_reply_error(res, 409, "duplicate", "Patient/%s is already on List/%s", pid, lid);
        goto done;
    }
    char person[200], now[32];
    mdt_person_words(pat, care_now(), false, person);
    care_instant(care_now(), now);
    bool accepted = care_ext_get(list, CARE_EXT "accepted") != NULL;
    kith_rc rc = store_begin(c);
    char why[600];
    snprintf(why, sizeof why, "Added by the chair: %s", reason);
    if(!rc) rc = mdt_case_team_put(c, &m, pid, person, why, accepted, &out[1], &is);
    if(!rc) {
        json_value *es = json_get(list, "entry");
        if(json_kind_of(es) != JSON_ARRAY) {
            json_set(list, "entry", es = json_new_array());
            json_remove(list, "emptyReason");
        }
        json_value *e = json_new_object();
        bool review = mdt_last_discussed(c, &m, pid) != 0;
        json_set(e, "flag",
                 care_concept(MDT_ENTRY_CS, review ? "review" : "new", review ? "Discussed before" : "New to the MDT"));
        json_set(e, "date", json_new_string(now));
        json_set(e, "item", care_reference("CareTeam", out[1].id, NULL));
        char *end = NULL;
        long at = pos ? strtol(pos, &end, 10) : -1;
        if(pos && (*end || at < 1)) at = -1;
        if(at < 1 || (size_t)at > json_array_len(es))
            json_append(es, e);
        else
            json_array_insert(es, (size_t)at - 1, e);
        rc = care_write(c, "List", lid, list, lv, true, &out[0], &is);
    }
    if(!mdt_commit(c, rc, res, &is)) goto done;
    fhir_issues_add(&is, "information", "informational", NULL, "Patient/%s added to List/%s", pid, lid);
    mdt_reply_written(res, req, 200, NULL, out, 2, &is);
done:
    if(widened) mdt_widen(c, false, NULL);
    record_result_free(&out[0]);
    record_result_free(&out[1]);
    json_free(list);
    json_free(pat);
    care_ids_free(practices, np);
    fhir_issues_free(&is);
    mdt_params_close(&p);
    mdt_free(&m);
}
