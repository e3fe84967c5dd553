/* test_linkage.c — src/link/linkage.c and names.c: string distances, name
 * variants, and a whole linkage run on a population made here, scored against
 * the truth the test itself knows. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "link/linkage.h"

Test(linkage, levenshtein_counts_edits_and_stops_at_the_cap) {
    cr_assert_eq(link_levenshtein("kitten", "sitting", 5), 3);
    cr_assert_eq(link_levenshtein("Smith", "SMITH", 1), 0);
    cr_assert_eq(link_levenshtein("Smith", "Smyth", 1), 1);
    cr_assert_eq(link_levenshtein("Thompson", "Thomson", 1), 1);
    cr_assert_eq(link_levenshtein("Jones", "Brown", 1), 2, "past the cap it answers cap + 1");
    cr_assert_eq(link_levenshtein("", "abc", 5), 3);
}

Test(linkage, given_name_variants) {
    cr_assert(link_given_variants("William", "Bill"));
    cr_assert(link_given_variants("bill", "WILLIAM"));
    cr_assert(link_given_variants("Peggy", "Margaret"));
    cr_assert(link_given_variants("Chris", "Christine"));
    cr_assert(link_given_variants("Chris", "Christopher"));
    cr_assert(!link_given_variants("Christine", "Christopher"), "two formal names sharing a short form differ");
    cr_assert(!link_given_variants("Bill", "Robert"));
    cr_assert(!link_given_variants("", "Bill"));
    cr_assert(!link_given_variants("Zebedee", "Zebedee"), "not in the list: equality is the comparison's job");
}

Test(linkage, records_need_an_id_once_per_side) {
    link_job *j = link_job_new();
    char err[128];
    link_input a = {.id = "p1", .given = "Ada", .family = "Lovelace", .birth_date = "1938-04-02"};
    cr_assert_eq(link_job_add(j, LINK_LEFT, &a, err, sizeof err), KITH_OK);
    cr_assert_eq(link_job_add(j, LINK_LEFT, &a, err, sizeof err), KITH_EEXISTS);
    cr_assert_eq(link_job_add(j, LINK_RIGHT, &a, err, sizeof err), KITH_OK, "the other side may hold the same id");
    link_input none = {.given = "Ada"};
    cr_assert_eq(link_job_add(j, LINK_LEFT, &none, err, sizeof err), KITH_EINVAL);
    cr_assert_eq(link_job_count(j, LINK_LEFT), 1);
    cr_assert_str_eq(link_job_id(j, LINK_RIGHT, 0), "p1");
    link_job_free(j);
}

Test(linkage, an_empty_side_is_refused) {
    link_job *j = link_job_new();
    char err[128];
    link_input a = {.id = "p1", .family = "Lovelace"};
    link_job_add(j, LINK_LEFT, &a, err, sizeof err);
    link_options o;
    link_options_default(&o);
    link_pair *p;
    size_t n;
    link_model m;
    cr_assert_eq(link_job_run(j, &o, &p, &n, &m), KITH_EINVAL);
    cr_assert_null(p);
    link_job_free(j);
}

/* ---- a made-up population ------------------------------------------------------- */

static uint64_t state;
static uint32_t next(void) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(state >> 33);
}
static double uniform(void) { return (next() & 0xffffff) / (double)0x1000000; }

static const char *const GIVEN[] = {"Margaret", "William", "Elizabeth", "Robert", "Dorothy", "Thomas", "Susan",
                                    "James", "Patricia", "Michael", "Kathleen", "Richard", "Helen", "Peter",
                                    "Joan", "George", "Irene", "Arthur", "Audrey", "Kenneth"};
static const char *const NICK[] = {"Peggy", "Bill", "Liz", "Bob", "Dot", "Tom", "Sue", "Jim", "Pat", "Mike",
                                   "Kath", "Dick", NULL, "Pete", NULL, NULL, NULL, NULL, NULL, "Ken"};
static const char *const SYLLABLE[] = {"Ash", "Brad", "Car", "Dun", "Ell", "Fen", "Gar", "Hol", "Ing", "Jar",
                                       "Kel", "Lam", "Mor", "Nor", "Ort", "Pen"};
static const char *const ENDING[] = {"ley", "ford", "ton", "wood", "ham", "by", "well", "ridge"};

typedef struct person {
    char id[16], given[24], family[24], birth[11], sex[8], postcode[10];
} person;

static void make_person(person *p, int n, bool common_name) {
    snprintf(p->id, sizeof p->id, "P%d", n);
    int g = (int)(next() % 20);
    snprintf(p->given, sizeof p->given, "%s", GIVEN[g]);
    if(common_name) snprintf(p->family, sizeof p->family, "Smith");
    else snprintf(p->family, sizeof p->family, "%s%s", SYLLABLE[next() % 16], ENDING[next() % 8]);
    snprintf(p->birth, sizeof p->birth, "%04u-%02u-%02u", 1925 + next() % 70, 1 + next() % 12, 1 + next() % 28);
    snprintf(p->sex, sizeof p->sex, "%s", g % 2 ? "male" : "female");
    snprintf(p->postcode, sizeof p->postcode, "LS%u %u%c%c", 1 + next() % 9, 1 + next() % 9, 'A' + next() % 26,
             'A' + next() % 26);
}

/* The council's copy: the errors people make. */
static void copy_with_errors(const person *p, person *c, int n) {
    *c = *p;
    snprintf(c->id, sizeof c->id, "C%d", n);
    for(int g = 0; g < 20; g++)
        if(strcmp(GIVEN[g], p->given) == 0 && NICK[g] && uniform() < 0.3) snprintf(c->given, sizeof c->given, "%s", NICK[g]);
    if(uniform() < 0.2) { /* swap two letters of the family name */
        size_t k = 1 + next() % (strlen(c->family) - 2);
        char t = c->family[k];
        c->family[k] = c->family[k + 1];
        c->family[k + 1] = t;
    }
    double u = uniform();
    if(u < 0.08) memcpy(c->birth + 5, p->birth + 8, 2), memcpy(c->birth + 8, p->birth + 5, 2);
    else if(u < 0.12) c->birth[3] = c->birth[3] == '9' ? '8' : (char)(c->birth[3] + 1);
    if(uniform() < 0.1) snprintf(c->postcode, sizeof c->postcode, "LS%u %u%c%c", 1 + next() % 9, 1 + next() % 9,
                                 'A' + next() % 26, 'A' + next() % 26);
    else if(uniform() < 0.05) c->postcode[0] = '\0';
}

static void add(link_job *j, int side, const person *p) {
    char err[128];
    link_input in = {.id = p->id, .given = p->given, .family = p->family, .birth_date = p->birth, .sex = p->sex,
                     .postcode = p->postcode};
    cr_assert_eq(link_job_add(j, side, &in, err, sizeof err), KITH_OK, "%s", err);
}

#define NLEFT 4000
#define NCOPY 800
#define NSTRANGER 400

Test(linkage, finds_the_council_copies_with_high_precision_and_recall) {
    state = 42;
    static person left[NLEFT], right[NCOPY + NSTRANGER];
    static int truth[NCOPY + NSTRANGER];
    link_job *j = link_job_new();
    for(int i = 0; i < NLEFT; i++) {
        make_person(&left[i], i, i % 10 == 0); /* one in ten is a Smith */
        add(j, LINK_LEFT, &left[i]);
    }
    for(int i = 0; i < NCOPY + NSTRANGER; i++) {
        if(i < NCOPY) {
            truth[i] = (int)(next() % NLEFT);
            copy_with_errors(&left[truth[i]], &right[i], i);
        } else {
            truth[i] = -1;
            make_person(&right[i], 100000 + i, false);
            snprintf(right[i].id, sizeof right[i].id, "C%d", i);
        }
    }
    /* shuffle so the order tells nothing */
    for(int i = NCOPY + NSTRANGER - 1; i > 0; i--) {
        int k = (int)(next() % (uint32_t)(i + 1));
        person t = right[i];
        right[i] = right[k];
        right[k] = t;
        int x = truth[i];
        truth[i] = truth[k];
        truth[k] = x;
    }
    for(int i = 0; i < NCOPY + NSTRANGER; i++) add(j, LINK_RIGHT, &right[i]);

    link_options o;
    link_options_default(&o);
    link_pair *pairs;
    size_t n;
    link_model m;
    cr_assert_eq(link_job_run(j, &o, &pairs, &n, &m), KITH_OK);
    long tp = 0, fp = 0;
    double common = 0, rare = 0;
    for(size_t i = 0; i < n; i++) {
        const link_pair *p = &pairs[i];
        cr_assert(p->decision != LINK_MATCH || p->probability >= o.threshold);
        cr_assert(p->probability >= o.review_from);
        double sum = m.prior_weight;
        for(int f = 0; f < LINK_NFIELDS; f++) sum += p->field_weight[f];
        cr_assert(fabs(sum - p->weight) < 1e-6, "the explanation adds up to the weight");
        if(p->decision != LINK_MATCH) continue;
        if(truth[p->right] == (int)p->left) tp++;
        else fp++;
        if(p->level[LINK_FAMILY] == 4) {
            if(strcmp(right[p->right].family, "Smith") == 0) common = p->field_weight[LINK_FAMILY];
            else rare = p->field_weight[LINK_FAMILY];
        }
    }
    double precision = (double)tp / (double)(tp + fp), recall = (double)tp / NCOPY;
    cr_log_info("linkage: %ld links, precision %.4f, recall %.4f", tp + fp, precision, recall);
    cr_assert(precision >= 0.99, "precision %.4f", precision);
    cr_assert(recall >= 0.95, "recall %.4f", recall);
    cr_assert(common > 0 && rare > common + 1, "a rare family name counts for more (Smith %.2f, rare %.2f)", common,
              rare);
    /* what EM learned: agreement is likelier for the same person, for every field */
    for(int f = 0; f < LINK_NFIELDS; f++) {
        int top = link_field_levels[f] - 1;
        cr_assert(m.m[f][top] > m.u[f][top], "%s: exact agreement m %.4f u %.6f", link_field_name[f], m.m[f][top],
                  m.u[f][top]);
        cr_assert(m.m[f][0] < m.u[f][0], "%s: disagreement", link_field_name[f]);
    }
    cr_assert(m.m[LINK_BIRTH][3] > 0.8 && m.m[LINK_BIRTH][3] < 0.97, "about 12%% of copies have a wrong birth date: %.3f",
              m.m[LINK_BIRTH][3]);
    cr_assert(fabs(m.expected_matches - NCOPY) < NCOPY * 0.1, "expected matches %.0f", m.expected_matches);
    cr_assert_eq(m.persons, NLEFT + NCOPY + NSTRANGER - m.links);

    buf b = BUF_INIT;
    link_pair_explain(j, &pairs[0], &m, &b);
    cr_assert(strstr(buf_str(&b), "prior") && strstr(buf_str(&b), "birth_date") && strstr(buf_str(&b), "total"),
              "%s", buf_str(&b));
    buf_free(&b);
    free(pairs);
    link_job_free(j);
}

Test(linkage, the_same_answer_with_one_thread_or_four) {
    state = 7;
    link_job *j = link_job_new();
    static person left[600], copy;
    for(int i = 0; i < 600; i++) {
        make_person(&left[i], i, false);
        add(j, LINK_LEFT, &left[i]);
    }
    for(int i = 0; i < 200; i++) {
        copy_with_errors(&left[next() % 600], &copy, i);
        add(j, LINK_RIGHT, &copy);
    }
    link_options o;
    link_options_default(&o);
    link_pair *a, *b;
    size_t na, nb;
    link_model ma, mb;
    o.threads = 1;
    link_job_run(j, &o, &a, &na, &ma);
    o.threads = 4;
    link_job_run(j, &o, &b, &nb, &mb);
    cr_assert_eq(na, nb);
    for(size_t i = 0; i < na; i++) {
        cr_assert_eq(a[i].left, b[i].left);
        cr_assert_eq(a[i].right, b[i].right);
        cr_assert(fabs(a[i].weight - b[i].weight) < 1e-9);
    }
    cr_assert_eq(ma.pairs_compared, mb.pairs_compared);
    free(a);
    free(b);
    link_job_free(j);
}
