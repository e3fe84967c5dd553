/* test_mdt.c — the pure parts of MDT meetings (src/care/mdt_rules.c): the
 * case-finding rules and their reasons in words, the order of a case list,
 * time-boxes, the state of an action, and the arithmetic of the measures.
 * (tests/api/mdt.test.mjs drives the operations through a real server.) */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "care/mdt.h"

#define DAY 86400
static const int64_t NOW = 1793610000; /* 2026-11-02T09:00:00Z */

static mdt_candidate person(const char *id, int age, int frailty, double efi, int admissions) {
    mdt_candidate c = {.age = age, .frailty = frailty, .efi = efi, .risk = -1, .admissions = admissions};
    strcpy(c.patient, id);
    return c;
}

Test(mdt, default_rules) {
    mdt_rules r;
    mdt_rules_default(&r);
    cr_assert_eq(r.frailty, MDT_SEVERE);
    cr_assert_eq(r.admissions, 2);
    cr_assert_eq(r.months, 6);
    cr_assert_eq(r.min_age, 65);
    cr_assert_eq(r.risk_percent, -1);
    cr_assert(r.referrals);
    cr_assert_eq(r.rest_days, 90);
    cr_assert_eq(r.max_cases, 20);
}

Test(mdt, rules_from_parameters) {
    mdt_rules r;
    char err[200];
    mdt_rules_default(&r);
    cr_assert_eq(mdt_rules_set(&r, "frailty", "moderate", err, sizeof err), 0);
    cr_assert_eq(r.frailty, MDT_MODERATE);
    cr_assert_eq(mdt_rules_set(&r, "admission-risk", "0.3", err, sizeof err), 0);
    cr_assert_eq(r.risk_percent, 30);
    cr_assert_eq(mdt_rules_set(&r, "referrals", "false", err, sizeof err), 0);
    cr_assert(!r.referrals);
    cr_assert_eq(mdt_rules_set(&r, "months", "12", err, sizeof err), 0);
    cr_assert_eq(r.months, 12);
    cr_assert_eq(mdt_rules_set(&r, "frailty", "very", err, sizeof err), -2);
    cr_assert(strstr(err, "fit, mild, moderate or severe"), "%s", err);
    cr_assert_eq(mdt_rules_set(&r, "months", "0", err, sizeof err), -2);
    cr_assert_eq(mdt_rules_set(&r, "months", "6x", err, sizeof err), -2);
    cr_assert_eq(mdt_rules_set(&r, "min-age", "131", err, sizeof err), -2);
    cr_assert_eq(mdt_rules_set(&r, "admission-risk", "1.5", err, sizeof err), -2);
    cr_assert_eq(mdt_rules_set(&r, "referrals", "yes", err, sizeof err), -2);
    cr_assert_eq(mdt_rules_set(&r, "colour", "blue", err, sizeof err), -1);
    cr_assert(strstr(err, "unknown parameter 'colour'"), "%s", err);
    cr_assert_eq(r.months, 12, "a refused value leaves the rule as it was");
}

Test(mdt, frailty_codes) {
    cr_assert_eq(mdt_frailty_of("fit"), MDT_FIT);
    cr_assert_eq(mdt_frailty_of("severe"), MDT_SEVERE);
    cr_assert_eq(mdt_frailty_of("Severe"), MDT_FRAILTY_UNKNOWN);
    cr_assert_eq(mdt_frailty_of(NULL), MDT_FRAILTY_UNKNOWN);
    cr_assert_str_eq(mdt_frailty_code(MDT_MILD), "mild");
    cr_assert_str_eq(mdt_frailty_code(7), "unknown");
}

Test(mdt, the_rules_pick_and_say_why) {
    mdt_rules r;
    mdt_rules_default(&r);
    buf why = BUF_INIT;
    mdt_candidate c = person("p", 80, MDT_SEVERE, 0.41, 2);
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, &why), MDT_BY_FRAILTY);
    cr_assert_str_eq(buf_str(&why), "Severe frailty (eFI 0.41) and 2 emergency admissions in the last 6 months");
    c.admissions = 1; /* one admission is not enough */
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), 0u);
    c = person("p", 80, MDT_MODERATE, 0.3, 5); /* not frail enough */
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), 0u);
    c = person("p", 64, MDT_SEVERE, 0.5, 5); /* too young */
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), 0u);
    c = person("p", 80, MDT_FRAILTY_UNKNOWN, -1, 5); /* never assessed */
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), 0u);
    /* a referral for MDT discussion: any frailty */
    c = person("p", 70, MDT_FRAILTY_UNKNOWN, -1, 0);
    c.referral = MDT_REFERRAL_URGENT;
    c.referred = NOW - 3 * DAY;
    buf_reset(&why);
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, &why), MDT_BY_REFERRAL);
    cr_assert_str_eq(buf_str(&why), "Referred for MDT discussion (urgent)");
    r.referrals = false;
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), 0u);
    /* admission risk, when asked for; several reasons at once */
    mdt_rules_default(&r);
    r.risk_percent = 30;
    c = person("p", 90, MDT_SEVERE, 0.45, 3);
    c.risk = 0.3;
    c.referral = MDT_REFERRAL_ROUTINE;
    c.referred = NOW - DAY;
    buf_reset(&why);
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, &why), MDT_BY_FRAILTY | MDT_BY_RISK | MDT_BY_REFERRAL);
    cr_assert_str_eq(buf_str(&why), "Referred for MDT discussion; Severe frailty (eFI 0.45) and 3 emergency admissions "
                                    "in the last 6 months; Risk of emergency admission 30% in the next 12 months");
    c.risk = 0.29;
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), MDT_BY_FRAILTY | MDT_BY_REFERRAL);
    buf_free(&why);
}

Test(mdt, recently_discussed_rest_unless_referred_since) {
    mdt_rules r;
    mdt_rules_default(&r);
    mdt_candidate c = person("p", 80, MDT_SEVERE, 0.41, 3);
    c.discussed = NOW - 30 * DAY;
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), 0u);
    c.discussed = NOW - 91 * DAY;
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), MDT_BY_FRAILTY);
    c.discussed = NOW - 30 * DAY;
    c.referral = MDT_REFERRAL_ROUTINE;
    c.referred = NOW - 40 * DAY; /* referred before the discussion: that referral was answered */
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), 0u);
    c.referred = NOW - 10 * DAY; /* referred since: only the referral counts */
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), MDT_BY_REFERRAL);
    r.rest_days = 0;
    cr_assert_eq(mdt_rules_match(&r, &c, NOW, NULL), MDT_BY_FRAILTY | MDT_BY_REFERRAL);
}

Test(mdt, describe_the_rules) {
    mdt_rules r;
    mdt_rules_default(&r);
    buf b = BUF_INIT;
    mdt_rules_describe(&r, &b);
    cr_assert_str_eq(buf_str(&b),
                     "aged 65 or over, registered with the neighbourhood's practices; severe frailty and 2 "
                     "or more emergency admissions in 6 months; or referred for MDT discussion; not "
                     "discussed in the last 90 days unless referred since; at most 20 cases");
    buf_free(&b);
}

Test(mdt, case_list_order) {
    mdt_candidate v[6];
    v[0] = person("a", 80, MDT_SEVERE, 0.40, 2);
    v[1] = person("b", 80, MDT_SEVERE, 0.40, 4);
    v[2] = person("c", 70, MDT_FRAILTY_UNKNOWN, -1, 0);
    v[2].referral = MDT_REFERRAL_ROUTINE;
    v[2].referred = NOW - 10 * DAY;
    v[3] = person("d", 75, MDT_FRAILTY_UNKNOWN, -1, 0);
    v[3].referral = MDT_REFERRAL_URGENT;
    v[3].referred = NOW - DAY;
    v[4] = person("e", 80, MDT_SEVERE, 0.40, 2);
    v[4].risk = 0.5;                             /* same admissions as a: higher risk first */
    v[5] = person("f", 91, MDT_SEVERE, 0.40, 2); /* same as a but older */
    qsort(v, 6, sizeof *v, mdt_candidate_cmp);
    const char *want[] = {"d", "c", "b", "e", "f", "a"};
    for(int i = 0; i < 6; i++) cr_assert_str_eq(v[i].patient, want[i], "position %d", i);
    /* equal in everything: by id, so the order never depends on the input's */
    mdt_candidate x = person("x", 80, MDT_SEVERE, 0.4, 2), y = person("y", 80, MDT_SEVERE, 0.4, 2);
    cr_assert_lt(mdt_candidate_cmp(&x, &y), 0);
    cr_assert_gt(mdt_candidate_cmp(&y, &x), 0);
    /* two routine referrals: the longest waiting first */
    x.referral = y.referral = MDT_REFERRAL_ROUTINE;
    x.referred = NOW - DAY;
    y.referred = NOW - 5 * DAY;
    cr_assert_gt(mdt_candidate_cmp(&x, &y), 0);
}

Test(mdt, time_boxes) {
    int out[6];
    bool review[6] = {false, true, false, false, false, false};
    /* new 10, review 5 */
    cr_assert_eq(mdt_time_boxes(60, 10, 4, NULL, review, out), 4);
    cr_assert_eq(out[0], 10);
    cr_assert_eq(out[1], 5);
    cr_assert_eq(out[2], 10);
    cr_assert_eq(out[3], 10);
    /* the chair's own time-boxes stand; 0 defers a case */
    int fixed[6] = {15, -1, 0, -1, -1, -1};
    cr_assert_eq(mdt_time_boxes(60, 10, 4, fixed, review, out), 3);
    cr_assert_eq(out[0], 15);
    cr_assert_eq(out[1], 5);
    cr_assert_eq(out[2], 0);
    cr_assert_eq(out[3], 10);
    /* not enough time: the first case that does not fit, and every case after it, wait */
    bool none[6] = {0};
    cr_assert_eq(mdt_time_boxes(35, 10, 6, NULL, none, out), 3);
    int want[6] = {10, 10, 10, 0, 0, 0};
    for(int i = 0; i < 6; i++) cr_assert_eq(out[i], want[i], "case %d", i);
    int big[6] = {-1, 30, -1, -1, -1, -1};
    cr_assert_eq(mdt_time_boxes(35, 10, 3, big, none, out), 1, "a long case that does not fit holds the rest back");
    cr_assert_eq(out[1], 0);
    cr_assert_eq(out[2], 0);
    /* half of a short time-box is never under the minimum */
    bool all[1] = {true};
    cr_assert_eq(mdt_time_boxes(60, 6, 1, NULL, all, out), 1);
    cr_assert_eq(out[0], MDT_MIN_BOX);
    cr_assert_eq(mdt_time_boxes(0, 10, 0, NULL, NULL, out), 0);
}

Test(mdt, action_states) {
    int64_t due = NOW + 7 * DAY;
    cr_assert_eq(mdt_action_classify("requested", due, 0, NOW), MDT_ACTION_OPEN);
    cr_assert_eq(mdt_action_classify("in-progress", due, 0, due + 1), MDT_ACTION_OVERDUE);
    cr_assert_eq(mdt_action_classify("accepted", 0, 0, due + 1), MDT_ACTION_OPEN, "no due date: never overdue");
    cr_assert_eq(mdt_action_classify("completed", due, due, NOW), MDT_ACTION_DONE_ON_TIME);
    cr_assert_eq(mdt_action_classify("completed", due, due + 1, NOW), MDT_ACTION_DONE_LATE);
    cr_assert_eq(mdt_action_classify("completed", due, 0, due + 100), MDT_ACTION_DONE_ON_TIME, "done, time unknown");
    cr_assert_eq(mdt_action_classify("cancelled", due, 0, NOW), MDT_ACTION_CLOSED);
    cr_assert_eq(mdt_action_classify("failed", due, 0, NOW), MDT_ACTION_CLOSED);
    cr_assert_eq(mdt_action_classify(NULL, due, 0, NOW), MDT_ACTION_CLOSED);
    cr_assert_str_eq(mdt_action_code(MDT_ACTION_DONE_LATE), "done-late");
    cr_assert_str_eq(mdt_action_words(MDT_ACTION_OVERDUE), "Overdue");
    mdt_action_state s[] = {MDT_ACTION_OVERDUE, MDT_ACTION_OPEN, MDT_ACTION_DONE_ON_TIME, MDT_ACTION_CLOSED};
    cr_assert_eq(mdt_actions_block(s, 4, 60), 3);
    mdt_action_state many[20];
    for(int i = 0; i < 20; i++) many[i] = MDT_ACTION_OVERDUE;
    cr_assert_eq(mdt_actions_block(many, 20, 60), 15, "at most a quarter of the meeting");
    cr_assert_eq(mdt_actions_block(NULL, 0, 60), 0);
}

Test(mdt, measures_arithmetic) {
    cr_assert_float_eq(mdt_percent(1, 3), 33.333333, 1e-5);
    cr_assert_eq(mdt_percent(1, 0), -1);
    cr_assert_float_eq(mdt_per_hour(3, 105 * 60), 1.7142857, 1e-6);
    cr_assert_eq(mdt_per_hour(3, 0), -1);
    double odd[] = {5, 1, 3};
    cr_assert_eq(mdt_median(odd, 3), 3);
    double even[] = {4, 1, 3, 2};
    cr_assert_eq(mdt_median(even, 4), 2.5);
    cr_assert_eq(mdt_median(NULL, 0), -1);
}

Test(mdt, follow_up_90_days) {
    mdt_followup f = {0};
    int64_t d = NOW - 150 * (int64_t)DAY;
    int64_t adm[] = {d - 20 * DAY, d + 10 * DAY, d + 50 * DAY, d + 95 * DAY, d - 91 * DAY};
    mdt_followup_add(&f, d, adm, 5, d + 70 * DAY, NOW);
    cr_assert_eq(f.people, 1);
    cr_assert_eq(f.before, 1, "20 days before counts; 91 days before does not");
    cr_assert_eq(f.after, 2, "10 and 50 days after count; 95 does not");
    cr_assert_eq(f.deaths, 1);
    /* 90 days not yet passed: not counted at all */
    mdt_followup_add(&f, NOW - 30 * DAY, adm, 5, 0, NOW);
    cr_assert_eq(f.people, 1);
    /* a death after the 90 days */
    mdt_followup_add(&f, d, NULL, 0, d + 91 * DAY, NOW);
    cr_assert_eq(f.people, 2);
    cr_assert_eq(f.deaths, 1);
}
