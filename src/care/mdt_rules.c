/*
 * mdt_rules.c — the pure parts of MDT meetings (mdt.h): which people the
 * case-finding rules pick and why, in words a district nurse would use; the
 * order of the case list; time-boxes that keep a meeting to its hour; the
 * state of an action; and the arithmetic of the measures. No store, no
 * clock, no request: the unit tests call these directly.
 */
#include "care/mdt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400

static const char *const FRAILTY[] = {"fit", "mild", "moderate", "severe"};

int mdt_frailty_of(const char *code) {
    for(int i = 0; code && i < 4; i++)
        if(strcmp(code, FRAILTY[i]) == 0) return i;
    return MDT_FRAILTY_UNKNOWN;
}

const char *mdt_frailty_code(int frailty) {
    return frailty >= MDT_FIT && frailty <= MDT_SEVERE ? FRAILTY[frailty] : "unknown";
}

void mdt_rules_default(mdt_rules *r) {
    *r = (mdt_rules){.frailty = MDT_SEVERE,
                     .admissions = 2,
                     .months = 6,
                     .risk_percent = -1,
                     .referrals = true,
                     .min_age = 65,
                     .rest_days = 90,
                     .max_cases = 20};
}

/* A whole number in [lo, hi]; false if s is not one. */
static bool whole(const char *s, long lo, long hi, int *out) {
    char *end = NULL;
    if(!s || !*s) return false;
    long v = strtol(s, &end, 10);
    if(*end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

int mdt_rules_set(mdt_rules *r, const char *name, const char *value, char *err, size_t errlen) {
    static const struct {
        const char *name;
        long lo, hi;
        size_t at; /* offset of the int in mdt_rules */
    } INTS[] = {
        {"admissions", 0, 50, offsetof(mdt_rules, admissions)}, {"months", 1, 36, offsetof(mdt_rules, months)},
        {"min-age", 0, 130, offsetof(mdt_rules, min_age)},      {"rest-days", 0, 3650, offsetof(mdt_rules, rest_days)},
        {"max-cases", 1, 200, offsetof(mdt_rules, max_cases)},
    };
    if(!value) value = "";
    for(size_t i = 0; i < sizeof INTS / sizeof *INTS; i++) {
        if(strcmp(name, INTS[i].name) != 0) continue;
        if(whole(value, INTS[i].lo, INTS[i].hi, (int *)((char *)r + INTS[i].at))) return 0;
        snprintf(err, errlen, "%s must be a whole number from %ld to %ld, not '%s'", name, INTS[i].lo, INTS[i].hi,
                 value);
        return -2;
    }
    if(strcmp(name, "frailty") == 0) {
        int f = mdt_frailty_of(value);
        if(f != MDT_FRAILTY_UNKNOWN) {
            r->frailty = f;
            return 0;
        }
        snprintf(err, errlen, "frailty must be fit, mild, moderate or severe (the least eFI category), not '%s'",
                 value);
        return -2;
    }
    if(strcmp(name, "referrals") == 0) {
        if(strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
            r->referrals = value[0] == 't';
            return 0;
        }
        snprintf(err, errlen, "referrals must be true or false, not '%s'", value);
        return -2;
    }
    if(strcmp(name, "admission-risk") == 0) {
        char *end = NULL;
        double p = strtod(value, &end);
        if(*value && !*end && p >= 0 && p <= 1) {
            r->risk_percent = (int)lround(p * 100);
            return 0;
        }
        snprintf(err, errlen, "admission-risk must be a probability from 0 to 1 (0.3 is 30%%), not '%s'", value);
        return -2;
    }
    snprintf(err, errlen,
             "unknown parameter '%s': the rules are frailty, admissions, months, admission-risk, referrals, "
             "min-age, rest-days and max-cases",
             name);
    return -1;
}

void mdt_rules_describe(const mdt_rules *r, buf *out) {
    buf_printf(out, "aged %d or over, registered with the neighbourhood's practices; ", r->min_age);
    buf_printf(out, "%s frailty", mdt_frailty_code(r->frailty));
    if(r->frailty < MDT_SEVERE) buf_puts(out, " or worse");
    if(r->admissions > 0)
        buf_printf(out, " and %d or more emergency admission%s in %d month%s", r->admissions,
                   r->admissions == 1 ? "" : "s", r->months, r->months == 1 ? "" : "s");
    if(r->risk_percent >= 0) buf_printf(out, "; or a risk of emergency admission of %d%% or more", r->risk_percent);
    if(r->referrals) buf_puts(out, "; or referred for MDT discussion");
    if(r->rest_days > 0) buf_printf(out, "; not discussed in the last %d days unless referred since", r->rest_days);
    buf_printf(out, "; at most %d cases", r->max_cases);
}

/* "; " between reasons. */
static void next_reason(buf *why, bool *first) {
    if(!*first) buf_puts(why, "; ");
    *first = false;
}

unsigned mdt_rules_match(const mdt_rules *r, const mdt_candidate *c, int64_t now, buf *why) {
    if(c->age < r->min_age) return 0;
    unsigned by = 0;
    if(c->frailty != MDT_FRAILTY_UNKNOWN && c->frailty >= r->frailty && c->admissions >= r->admissions)
        by |= MDT_BY_FRAILTY;
    if(r->risk_percent >= 0 && c->risk >= 0 && c->risk * 100 + 1e-9 >= r->risk_percent) by |= MDT_BY_RISK;
    if(r->referrals && c->referral != MDT_REFERRAL_NONE) by |= MDT_BY_REFERRAL;
    /* recently discussed: only a referral made after that discussion brings them back */
    if(by && c->discussed && r->rest_days > 0 && now - c->discussed < (int64_t)r->rest_days * DAY)
        by = (by & MDT_BY_REFERRAL) && c->referred > c->discussed ? MDT_BY_REFERRAL : 0u;
    if(!by || !why) return by;
    bool first = true;
    if(by & MDT_BY_REFERRAL) {
        next_reason(why, &first);
        buf_printf(why, "Referred for MDT discussion%s", c->referral == MDT_REFERRAL_URGENT ? " (urgent)" : "");
    }
    if(by & MDT_BY_FRAILTY) {
        static const char *const NAME[] = {"Fit", "Mild frailty", "Moderate frailty", "Severe frailty"};
        next_reason(why, &first);
        buf_puts(why, NAME[c->frailty]);
        if(c->efi >= 0) buf_printf(why, " (eFI %.2f)", c->efi);
        if(c->admissions > 0)
            buf_printf(why, " and %d emergency admission%s in the last %d month%s", c->admissions,
                       c->admissions == 1 ? "" : "s", r->months, r->months == 1 ? "" : "s");
    }
    if(by & MDT_BY_RISK) {
        next_reason(why, &first);
        buf_printf(why, "Risk of emergency admission %ld%% in the next 12 months", lround(c->risk * 100));
    }
    return by;
}

static int cmp_double_desc(double a, double b) {
    return a > b ? -1 : a < b ? 1 : 0;
}

int mdt_candidate_cmp(const void *a, const void *b) {
    const mdt_candidate *x = a, *y = b;
    if(x->referral != y->referral) return y->referral - x->referral;
    if(x->referral && x->referred != y->referred) return x->referred < y->referred ? -1 : 1;
    if(x->admissions != y->admissions) return y->admissions - x->admissions;
    int c = cmp_double_desc(x->risk, y->risk);
    if(!c) c = cmp_double_desc(x->efi, y->efi);
    if(!c && x->age != y->age) c = y->age - x->age;
    return c ? c : strcmp(x->patient, y->patient);
}

size_t mdt_time_boxes(int available, int per_case, size_t n, const int *fixed, const bool *review, int *out) {
    int used = 0;
    size_t scheduled = 0;
    bool full = false;
    for(size_t i = 0; i < n; i++) {
        int want = fixed && fixed[i] >= 0 ? fixed[i] : review && review[i] ? (per_case + 1) / 2 : per_case;
        if(want > 0 && want < MDT_MIN_BOX && !(fixed && fixed[i] >= 0)) want = MDT_MIN_BOX;
        if(full || want == 0 || used + want > available) {
            out[i] = 0;
            full = full || want > 0; /* a case that does not fit: everyone after it waits too */
            continue;
        }
        out[i] = want;
        used += want;
        scheduled++;
    }
    return scheduled;
}

mdt_action_state mdt_action_classify(const char *status, int64_t due, int64_t done, int64_t now) {
    static const char *const OPEN[] = {"draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold"};
    if(status && strcmp(status, "completed") == 0)
        return due && done && done > due ? MDT_ACTION_DONE_LATE : MDT_ACTION_DONE_ON_TIME;
    for(size_t i = 0; status && i < sizeof OPEN / sizeof *OPEN; i++)
        if(strcmp(status, OPEN[i]) == 0) return due && now > due ? MDT_ACTION_OVERDUE : MDT_ACTION_OPEN;
    return MDT_ACTION_CLOSED;
}

const char *mdt_action_code(mdt_action_state s) {
    static const char *const CODE[] = {"open", "overdue", "done-on-time", "done-late", "closed"};
    return s < MDT_ACTION_STATES ? CODE[s] : "closed";
}

const char *mdt_action_words(mdt_action_state s) {
    static const char *const WORDS[] = {"Open, not yet due", "Overdue", "Done on time", "Done late",
                                        "Closed without being done"};
    return s < MDT_ACTION_STATES ? WORDS[s] : WORDS[MDT_ACTION_CLOSED];
}

int mdt_action_minutes(mdt_action_state s) {
    return s == MDT_ACTION_OVERDUE ? 2 : s == MDT_ACTION_OPEN ? 1 : 0;
}

int mdt_actions_block(const mdt_action_state *s, size_t n, int meeting_minutes) {
    int sum = 0;
    for(size_t i = 0; i < n; i++) sum += mdt_action_minutes(s[i]);
    int cap = meeting_minutes / 4;
    return sum < cap ? sum : cap;
}

/* ---- measures --------------------------------------------------------------- */

double mdt_percent(long num, long den) {
    return den > 0 ? 100.0 * (double)num / (double)den : -1;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double mdt_median(double *v, size_t n) {
    if(!n) return -1;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double mdt_per_hour(long cases, int64_t seconds) {
    return seconds > 0 ? (double)cases * 3600.0 / (double)seconds : -1;
}

void mdt_followup_add(mdt_followup *f, int64_t discussed, const int64_t *adm, size_t n, int64_t death, int64_t now) {
    const int64_t window = 90 * (int64_t)DAY;
    if(discussed + window > now) return; /* the 90 days after have not all passed */
    f->people++;
    for(size_t i = 0; i < n; i++) {
        if(adm[i] >= discussed - window && adm[i] < discussed)
            f->before++;
        else if(adm[i] >= discussed && adm[i] < discussed + window)
            f->after++;
    }
    if(death && death >= discussed && death < discussed + window) f->deaths++;
}
