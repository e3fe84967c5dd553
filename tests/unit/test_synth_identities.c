/*
 * test_synth_identities.c — synth_identities_run (src/synth/synth.c), the
 * identities that `kith synth --identities` writes for record linkage.
 *
 * Each test generates a small population (2,000 GP records, as many council
 * records) into a fresh directory under /tmp, reads the three CSV files back
 * and checks what a linkage benchmark relies on: the row counts and headers,
 * the share of council records that are copies, that every true patient id is
 * a GP record and each is copied at most once, that ids are unique, that a
 * copy without errors equals its GP record on every field, that the people
 * are those of a place made with the same seed, and that the same seed gives
 * the same bytes. Names never hold a comma or a quote, so the files are read
 * by splitting on commas, and a row with the wrong number of fields fails.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth/synth.h"

#define PEOPLE 2000
#define MAX_FIELDS 17 /* truth-people.csv has the most */

static const char *const FILES[] = {[SYNTH_ID_PEOPLE] = "people.csv", [SYNTH_ID_COUNCIL] = "council.csv",
                                    [SYNTH_ID_TRUTH] = "truth-identities.csv"};

static int file_write(void *ctx, synth_stream s, const char *type, const char *text, size_t len) {
    FILE **f = ctx;
    (void)type;
    cr_assert(s >= SYNTH_ID_PEOPLE && s <= SYNTH_ID_TRUTH, "stream %d: identities only", (int)s);
    return fwrite(text, 1, len, f[s]) != len || fputc('\n', f[s]) == EOF;
}

/* Generate into a new directory; dir gets its name. */
static synth_identity_counts generate(char dir[64], uint64_t seed, double matched) {
    snprintf(dir, 64, "/tmp/kith-unit-ident-%d-XXXXXX", (int)getpid());
    cr_assert_not_null(mkdtemp(dir));
    FILE *f[SYNTH_ID_TRUTH + 1] = {0};
    char path[128];
    for(int s = SYNTH_ID_PEOPLE; s <= SYNTH_ID_TRUTH; s++) {
        snprintf(path, sizeof path, "%s/%s", dir, FILES[s]);
        cr_assert_not_null(f[s] = fopen(path, "w"), "%s", path);
    }
    synth_config c;
    synth_config_default(&c);
    c.people = PEOPLE;
    c.seed = seed;
    synth_sink sink = {.ctx = f, .write = file_write};
    synth_identity_counts n;
    char err[256] = "";
    cr_assert_eq(synth_identities_run(&c, matched, &sink, &n, err, sizeof err), KITH_OK, "%s", err);
    for(int s = SYNTH_ID_PEOPLE; s <= SYNTH_ID_TRUTH; s++) cr_assert_eq(fclose(f[s]), 0);
    return n;
}

static void remove_dir(const char *dir) {
    char path[128];
    for(int s = SYNTH_ID_PEOPLE; s <= SYNTH_ID_TRUTH; s++) {
        snprintf(path, sizeof path, "%s/%s", dir, FILES[s]);
        unlink(path);
    }
    rmdir(dir);
}

/* A CSV file split into rows and fields; rows[0] is the header. */
typedef struct table {
    char *text;
    char *(*rows)[MAX_FIELDS];
    long n;
} table;

/* Split text (taken over) into rows of exactly `fields` fields. */
static table table_split(char *text, int fields) {
    table t = {.text = text};
    long lines = 0;
    for(char *p = text; *p; p++) lines += *p == '\n';
    t.rows = calloc((size_t)lines + 1, sizeof *t.rows);
    for(char *line = text; *line; t.n++) {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "row %ld ends without a newline", t.n);
        *nl = '\0';
        int k = 0;
        for(char *f = line; f; k++) {
            cr_assert_lt(k, fields, "row %ld has more than %d fields", t.n, fields);
            t.rows[t.n][k] = f;
            f = strchr(f, ',');
            if(f) *f++ = '\0';
        }
        cr_assert_eq(k, fields, "row %ld has %d fields, not %d", t.n, k, fields);
        line = nl + 1;
    }
    return t;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *text = malloc((size_t)len + 1);
    cr_assert_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

static table table_read(const char *dir, synth_stream s, int fields) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, FILES[s]);
    return table_split(read_text(path), fields);
}

static void table_free(table *t) {
    free(t->text);
    free(t->rows);
}

/* The GP record pat-k: row k of people.csv (checked by the caller). */
static long patient_row(const char *id) {
    cr_assert(strncmp(id, "pat-", 4) == 0, "patient id %s", id);
    return strtol(id + 4, NULL, 10);
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(synth_identities, the_files_hold_what_linkage_needs) {
    char dir[64];
    synth_identity_counts n = generate(dir, 1, 0.5);
    cr_assert_eq(n.people, PEOPLE);
    cr_assert_eq(n.council, PEOPLE);
    table people = table_read(dir, SYNTH_ID_PEOPLE, 6), council = table_read(dir, SYNTH_ID_COUNCIL, 6),
          truth = table_read(dir, SYNTH_ID_TRUTH, 3);
    cr_assert_eq(people.n, PEOPLE + 1, "people.csv: %ld rows", people.n);
    cr_assert_eq(council.n, PEOPLE + 1, "council.csv: %ld rows", council.n);
    cr_assert_eq(truth.n, PEOPLE + 1, "truth-identities.csv: %ld rows", truth.n);
    static const char *const HEADER[] = {"id", "given", "family", "birth_date", "sex", "postcode"};
    for(int k = 0; k < 6; k++) {
        cr_assert_str_eq(people.rows[0][k], HEADER[k]);
        cr_assert_str_eq(council.rows[0][k], HEADER[k]);
    }
    cr_assert_str_eq(truth.rows[0][0], "council_id");
    cr_assert_str_eq(truth.rows[0][1], "patient_id");
    cr_assert_str_eq(truth.rows[0][2], "errors");

    char want[32];
    for(long i = 1; i <= PEOPLE; i++) {
        snprintf(want, sizeof want, "pat-%ld", i);
        cr_assert_str_eq(people.rows[i][0], want, "people.csv row %ld", i);
        cr_assert(strcmp(people.rows[i][4], "male") == 0 || strcmp(people.rows[i][4], "female") == 0);
    }
    char **council_ids = calloc(PEOPLE, sizeof *council_ids);
    int *copied = calloc(PEOPLE + 1, sizeof *copied);
    long matched = 0, exact = 0;
    for(long i = 1; i <= PEOPLE; i++) {
        char **c = council.rows[i], **t = truth.rows[i];
        cr_assert(strncmp(c[0], "LA", 2) == 0 && strlen(c[0]) == 9, "council id %s", c[0]);
        cr_assert_str_eq(t[0], c[0], "truth row %ld is about council row %ld", i, i);
        council_ids[i - 1] = c[0];
        if(!t[1][0]) continue; /* nobody in people.csv */
        matched++;
        long k = patient_row(t[1]);
        cr_assert(k >= 1 && k <= PEOPLE, "%s is not in people.csv", t[1]);
        cr_assert_eq(copied[k]++, 0, "%s copied twice", t[1]);
        char **p = people.rows[k];
        cr_assert_str_eq(c[4], p[4], "%s: the council's copy of %s has another sex", c[0], t[1]);
        if(t[2][0]) continue;
        exact++;
        for(int f = 1; f < 6; f++)
            cr_assert_str_eq(c[f], p[f], "%s: field %s differs from %s, but no error is recorded", c[0], HEADER[f],
                             t[1]);
    }
    cr_assert_eq(matched, n.matched);
    cr_assert(fabs((double)matched / PEOPLE - 0.5) < 0.01, "%ld of %d matched", matched, PEOPLE);
    cr_assert_gt(exact, 0, "some copies come out without an error");
    cr_assert_lt(exact, matched, "most copies carry an error");
    qsort(council_ids, PEOPLE, sizeof *council_ids, compare_strings);
    for(long i = 1; i < PEOPLE; i++) cr_assert_str_neq(council_ids[i - 1], council_ids[i], "council id twice");
    free(council_ids);
    free(copied);
    table_free(&people);
    table_free(&council);
    table_free(&truth);
    remove_dir(dir);
}

/* How many council records are copies, for a share. */
static long copies(double share) {
    char dir[64];
    synth_identity_counts n = generate(dir, 3, share);
    table truth = table_read(dir, SYNTH_ID_TRUTH, 3);
    long m = 0;
    for(long i = 1; i < truth.n; i++) m += truth.rows[i][1][0] != '\0';
    cr_assert_eq(m, n.matched);
    table_free(&truth);
    remove_dir(dir);
    return m;
}

Test(synth_identities, the_matched_share_is_kept) {
    cr_assert_eq(copies(0), 0);
    cr_assert_eq(copies(1), PEOPLE);
    long m = copies(0.3);
    cr_assert(fabs((double)m / PEOPLE - 0.3) < 0.01, "%ld of %d matched for 0.3", m, PEOPLE);
}

Test(synth_identities, same_seed_same_bytes) {
    char a[64], b[64], c[64], path[128];
    generate(a, 9, 0.5);
    generate(b, 9, 0.5);
    generate(c, 10, 0.5);
    for(int s = SYNTH_ID_PEOPLE; s <= SYNTH_ID_TRUTH; s++) {
        char *ta, *tb, *tc;
        snprintf(path, sizeof path, "%s/%s", a, FILES[s]);
        ta = read_text(path);
        snprintf(path, sizeof path, "%s/%s", b, FILES[s]);
        tb = read_text(path);
        snprintf(path, sizeof path, "%s/%s", c, FILES[s]);
        tc = read_text(path);
        cr_assert_str_eq(ta, tb, "%s differs for the same seed", FILES[s]);
        cr_assert_str_neq(ta, tc, "%s is the same for another seed", FILES[s]);
        free(ta);
        free(tb);
        free(tc);
    }
    remove_dir(a);
    remove_dir(b);
    remove_dir(c);
}

/* The place's ground truth of who people are, collected from synth_run. */
static int truth_people_write(void *ctx, synth_stream s, const char *type, const char *text, size_t len) {
    (void)type;
    if(s != SYNTH_TRUTH_PEOPLE) return 0;
    char **all = ctx;
    size_t had = *all ? strlen(*all) : 0;
    *all = realloc(*all, had + len + 2);
    memcpy(*all + had, text, len);
    (*all)[had + len] = '\n';
    (*all)[had + len + 1] = '\0';
    return 0;
}

Test(synth_identities, people_are_those_of_a_place_with_the_same_seed) {
    char dir[64], err[256] = "";
    generate(dir, 1, 0.5);
    table people = table_read(dir, SYNTH_ID_PEOPLE, 6);
    synth_config c;
    synth_config_default(&c);
    c.people = PEOPLE;
    char *text = NULL;
    synth_sink sink = {.ctx = &text, .write = truth_people_write};
    cr_assert_eq(synth_run(&c, &sink, NULL, err, sizeof err), KITH_OK, "%s", err);
    table place = table_split(text, MAX_FIELDS);
    cr_assert_eq(place.n, people.n);
    /* Patient_Id, NHS_Number, LA_Person_Unique_Identifier, Given_Name, Family_Name, Birth_Date, Sex, Postcode */
    static const int COLUMN[6] = {0, 3, 4, 5, 6, 7};
    for(long i = 1; i < people.n; i++)
        for(int f = 0; f < 6; f++)
            cr_assert_str_eq(people.rows[i][f], place.rows[i][COLUMN[f]], "row %ld, field %d", i, f);
    table_free(&people);
    table_free(&place);
    remove_dir(dir);
}

Test(synth_identities, limits) {
    synth_config c;
    synth_config_default(&c);
    char err[256];
    static const long OK[] = {1, PEOPLE, SYNTH_MAX_PEOPLE + 1, SYNTH_MAX_IDENTITIES};
    for(size_t i = 0; i < sizeof OK / sizeof *OK; i++) {
        c.people = OK[i];
        cr_assert_eq(synth_identities_check(&c, 0.5, err, sizeof err), KITH_OK, "%ld: %s", OK[i], err);
    }
    static const long BAD[] = {0, -1, SYNTH_MAX_IDENTITIES + 1};
    for(size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        c.people = BAD[i];
        cr_assert_eq(synth_identities_check(&c, 0.5, err, sizeof err), KITH_EINVAL, "%ld", BAD[i]);
        cr_assert(strstr(err, "--identities"), "%s", err);
    }
    c.people = PEOPLE;
    static const double SHARE[] = {-0.01, 1.01, NAN};
    for(size_t i = 0; i < sizeof SHARE / sizeof *SHARE; i++) {
        cr_assert_eq(synth_identities_check(&c, SHARE[i], err, sizeof err), KITH_EINVAL, "%g", SHARE[i]);
        cr_assert(strstr(err, "--matched"), "%s", err);
    }
}
