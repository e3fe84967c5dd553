/*
 * test_nhs_number.c — src/base/nhs_number.c: reading what people type,
 * the check, the display form and the legacy-number policy.
 *
 * Hand-written tables cover the reader and the display. The shared vectors
 * in ../shared/data/nhs-number-vectors/ (beside the repository, or
 * $KITH_SHARED_DATA/nhs-number-vectors) are read at test time, one test per
 * file, each logging how many vectors it checked; when the folder is absent
 * those tests are skipped, never failed. Where Kith deliberately differs from
 * the reference implementation the vectors were frozen against, the row is in
 * DEVIATIONS below with Kith's answer, and that answer is asserted.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/nhs_number.h"
#include "json/json.h"

#define MAX_VECTOR_FILE (1 << 20)

/* ---- the reader, by hand ------------------------------------------------ */

static const struct {
    const char *input;
    nhs_number_problem want;
    const char *digits; /* out, "" when the shape is wrong */
} READS[] = {
    {"9434765919", NHS_NUMBER_OK, "9434765919"},
    {"943 476 5919", NHS_NUMBER_OK, "9434765919"},
    {"943-476-5919", NHS_NUMBER_OK, "9434765919"},
    {"  943 476 5919  ", NHS_NUMBER_OK, "9434765919"},
    {"\t9434765919\r\n", NHS_NUMBER_OK, "9434765919"}, /* a CSV field with CRLF */
    {"4010232137", NHS_NUMBER_OK, "4010232137"},
    /* separators other than one space or one hyphen, the same, at 3-3-4 */
    {"943 476-5919", NHS_NUMBER_BAD_GROUPING, ""},
    {"943-476 5919", NHS_NUMBER_BAD_GROUPING, ""},
    {"943  476 5919", NHS_NUMBER_BAD_GROUPING, ""},
    {"943--476--5919", NHS_NUMBER_BAD_GROUPING, ""},
    {"9434 765 919", NHS_NUMBER_BAD_GROUPING, ""},
    {"943476 5919", NHS_NUMBER_BAD_GROUPING, ""},
    {"943 4765919", NHS_NUMBER_BAD_GROUPING, ""},
    {"010101-1113", NHS_NUMBER_BAD_GROUPING, ""}, /* a CHI number as Scotland writes it */
    {"9 4 3 4 7 6 5 9 1 9", NHS_NUMBER_BAD_GROUPING, ""},
    {"-9434765919", NHS_NUMBER_BAD_GROUPING, ""},
    {"9434765919-", NHS_NUMBER_BAD_GROUPING, ""},
    /* not ten digits */
    {"943476591", NHS_NUMBER_WRONG_LENGTH, ""},
    {"943 476 591", NHS_NUMBER_WRONG_LENGTH, ""},
    {"94347659190", NHS_NUMBER_WRONG_LENGTH, ""},
    {"943 476 59190", NHS_NUMBER_WRONG_LENGTH, ""},
    {"1", NHS_NUMBER_WRONG_LENGTH, ""},
    {"12345678901234567890123456789012345678901234567890", NHS_NUMBER_WRONG_LENGTH, ""},
    /* other characters */
    {"943476591X", NHS_NUMBER_NOT_DIGITS, ""},
    {"abcdefghij", NHS_NUMBER_NOT_DIGITS, ""},
    {"NHS 943 476 5919", NHS_NUMBER_NOT_DIGITS, ""},
    {"943.476.5919", NHS_NUMBER_NOT_DIGITS, ""},
    {"943/476/5919", NHS_NUMBER_NOT_DIGITS, ""},
    {"943\t476\t5919", NHS_NUMBER_NOT_DIGITS, ""},
    {"943\xc2\xa0" "476\xc2\xa0" "5919", NHS_NUMBER_NOT_DIGITS, ""}, /* no-break spaces from a web page */
    {"+449434765919", NHS_NUMBER_NOT_DIGITS, ""},
    {"12345X", NHS_NUMBER_NOT_DIGITS, ""}, /* other characters are named before the length */
    {"- -", NHS_NUMBER_NOT_DIGITS, ""},
    /* nothing */
    {"", NHS_NUMBER_EMPTY, ""},
    {"   ", NHS_NUMBER_EMPTY, ""},
    {"\r\n", NHS_NUMBER_EMPTY, ""},
    /* the shape is right, the number is not: the digits are still given */
    {"9434765918", NHS_NUMBER_BAD_CHECK_DIGIT, "9434765918"},
    {"943 476 5918", NHS_NUMBER_BAD_CHECK_DIGIT, "9434765918"},
    {"9434765991", NHS_NUMBER_BAD_CHECK_DIGIT, "9434765991"},  /* the last two swapped */
    {"4000000080", NHS_NUMBER_NEVER_ISSUED, "4000000080"},     /* 400000008: the check is 10 */
    {"400-000-0089", NHS_NUMBER_NEVER_ISSUED, "4000000089"},
    {"0000000000", NHS_NUMBER_PLACEHOLDER, "0000000000"},
    {"999 999 9999", NHS_NUMBER_PLACEHOLDER, "9999999999"},
    /* Scotland's CHI range: DDMMYY must be a date */
    {"0101011113", NHS_NUMBER_OK, "0101011113"},               /* 01/01/01 */
    {"0113011113", NHS_NUMBER_NEVER_ISSUED, "0113011113"},     /* month 13 */
    {"0100000002", NHS_NUMBER_NEVER_ISSUED, "0100000002"},     /* the first of the range: month 00 */
    {"2902000006", NHS_NUMBER_OK, "2902000006"},               /* 29/02/00: 2000 was a leap year */
    {"2902040008", NHS_NUMBER_OK, "2902040008"},               /* 29/02/04 */
    {"2902960018", NHS_NUMBER_OK, "2902960018"},               /* 29/02/96 */
    {"2902010001", NHS_NUMBER_NEVER_ISSUED, "2902010001"},     /* 29/02/01 */
    {"3002000000", NHS_NUMBER_NEVER_ISSUED, "3002000000"},     /* 30 February */
    {"3104990018", NHS_NUMBER_NEVER_ISSUED, "3104990018"},     /* 31 April */
    {"3112990005", NHS_NUMBER_OK, "3112990005"},               /* 31/12/99, the end of the range */
    {"3113000009", NHS_NUMBER_OK, "3113000009"},               /* just above the range: no date in it */
    {"0099990008", NHS_NUMBER_OK, "0099990008"},               /* just below the range */
};

Test(nhs_number_parse, table) {
    for(size_t i = 0; i < sizeof READS / sizeof *READS; i++) {
        char out[11] = "junk";
        nhs_number_problem p = nhs_number_parse(READS[i].input, out);
        cr_assert_eq(p, READS[i].want, "'%s': got %d (%s), want %d", READS[i].input, p, nhs_number_problem_text(p),
                     READS[i].want);
        cr_assert_str_eq(out, READS[i].digits, "'%s'", READS[i].input);
        cr_assert_eq(nhs_number_parse(READS[i].input, NULL), READS[i].want, "'%s' without out", READS[i].input);
    }
}

Test(nhs_number_parse, null_input) {
    char out[11] = "junk";
    cr_assert_eq(nhs_number_parse(NULL, out), NHS_NUMBER_EMPTY);
    cr_assert_str_eq(out, "");
}

/* Every number of ten identical digits passes the check (10 x d = -d mod 11),
 * which is why they are popular stand-ins; none is accepted. */
Test(nhs_number_parse, every_placeholder) {
    for(char d = '0'; d <= '9'; d++) {
        char s[11], out[11];
        memset(s, d, 10);
        s[10] = '\0';
        cr_assert(nhs_number_valid(s), "%s passes the check", s);
        cr_assert_eq(nhs_number_parse(s, out), NHS_NUMBER_PLACEHOLDER, "%s", s);
        cr_assert_str_eq(out, s);
    }
}

/* The check digit catches every single wrong digit and every swap of two
 * different neighbouring digits. */
Test(nhs_number_parse, typos_are_caught) {
    static const char *const GOOD[] = {"9434765919", "4010232137", "9876543210", "4000000632"};
    for(size_t g = 0; g < sizeof GOOD / sizeof *GOOD; g++) {
        char s[11];
        cr_assert_eq(nhs_number_parse(GOOD[g], NULL), NHS_NUMBER_OK, "%s", GOOD[g]);
        for(int i = 0; i < 10; i++) {
            for(char d = '0'; d <= '9'; d++) {
                if(d == GOOD[g][i]) continue;
                memcpy(s, GOOD[g], 11);
                s[i] = d;
                nhs_number_problem p = nhs_number_parse(s, NULL);
                cr_assert(p == NHS_NUMBER_BAD_CHECK_DIGIT || p == NHS_NUMBER_NEVER_ISSUED, "%s: %d", s, p);
            }
            if(i < 9 && GOOD[g][i] != GOOD[g][i + 1]) {
                memcpy(s, GOOD[g], 11);
                s[i] = GOOD[g][i + 1];
                s[i + 1] = GOOD[g][i];
                nhs_number_problem p = nhs_number_parse(s, NULL);
                cr_assert(p == NHS_NUMBER_BAD_CHECK_DIGIT || p == NHS_NUMBER_NEVER_ISSUED, "%s: %d", s, p);
            }
        }
    }
}

Test(nhs_number_parse, agrees_with_the_check) {
    /* Outside the CHI range and the placeholders, parse says OK exactly when
     * nhs_number_valid does: a sweep of one block of numbers. */
    char s[32];
    for(long b = 943476000; b < 943477000; b++) {
        for(int k = 0; k < 10; k++) {
            snprintf(s, sizeof s, "%ld%d", b, k);
            cr_assert_eq(nhs_number_parse(s, NULL) == NHS_NUMBER_OK, nhs_number_valid(s), "%s", s);
        }
    }
}

Test(nhs_number_problem_text, says_what_is_wrong) {
    static const nhs_number_problem ALL[] = {
        NHS_NUMBER_OK,           NHS_NUMBER_EMPTY,        NHS_NUMBER_NOT_DIGITS,   NHS_NUMBER_WRONG_LENGTH,
        NHS_NUMBER_BAD_CHECK_DIGIT, NHS_NUMBER_NEVER_ISSUED, NHS_NUMBER_BAD_GROUPING, NHS_NUMBER_PLACEHOLDER,
    };
    size_t n = sizeof ALL / sizeof *ALL;
    for(size_t i = 0; i < n; i++) {
        const char *t = nhs_number_problem_text(ALL[i]);
        cr_assert(t && strlen(t) > 10, "problem %d", ALL[i]);
        for(size_t j = 0; j < i; j++)
            cr_assert_str_neq(t, nhs_number_problem_text(ALL[j]), "problems %d and %d read the same", ALL[i], ALL[j]);
    }
    cr_assert(strstr(nhs_number_problem_text(NHS_NUMBER_BAD_CHECK_DIGIT), "check digit does not match"));
    cr_assert(strstr(nhs_number_problem_text(NHS_NUMBER_BAD_CHECK_DIGIT), "swapped"));
    cr_assert(strstr(nhs_number_problem_text(NHS_NUMBER_WRONG_LENGTH), "10 digits"));
    cr_assert(strstr(nhs_number_problem_text(NHS_NUMBER_BAD_GROUPING), "943 476 5919"));
    cr_assert(strstr(nhs_number_problem_text(NHS_NUMBER_PLACEHOLDER), "blank"));
}

/* ---- the display form -------------------------------------------------- */

Test(nhs_number_display, three_three_four) {
    char out[13] = "junk";
    nhs_number_display("9434765919", out);
    cr_assert_str_eq(out, "943 476 5919");
    nhs_number_display("0101011113", out);
    cr_assert_str_eq(out, "010 101 1113");
    char raw[10]; /* exactly ten digits, no NUL: the display reads ten */
    memcpy(raw, "4010232137", 10);
    nhs_number_display(raw, out);
    cr_assert_str_eq(out, "401 023 2137");
}

Test(nhs_number_display, refuses_what_is_not_ten_digits) {
    static const char *const BAD[] = {"", "943476591", "943 476 5919", "943476591X", "abc"};
    for(size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        char out[13] = "junk";
        nhs_number_display(BAD[i], out);
        cr_assert_str_eq(out, "", "'%s'", BAD[i]);
    }
}

/* The display form reads back as the same number. */
static void assert_round_trip(const char *digits) {
    char shown[13], back[11];
    nhs_number_display(digits, shown);
    cr_assert_eq(strlen(shown), 12, "%s", digits);
    nhs_number_problem p = nhs_number_parse(digits, NULL);
    cr_assert_eq(nhs_number_parse(shown, back), p, "'%s' reads differently from %s", shown, digits);
    cr_assert_str_eq(back, digits);
    char hyphens[13];
    memcpy(hyphens, shown, 13);
    hyphens[3] = hyphens[7] = '-';
    cr_assert_eq(nhs_number_parse(hyphens, back), p, "'%s'", hyphens);
    cr_assert_str_eq(back, digits);
}

Test(nhs_number_display, round_trip) {
    for(size_t i = 0; i < sizeof READS / sizeof *READS; i++)
        if(READS[i].digits[0]) assert_round_trip(READS[i].digits);
}

/* ---- the legacy policy -------------------------------------------------- */

Test(nhs_number_policy, actions) {
    static const struct {
        nhs_number_problem p;
        nhs_number_action reject, flag;
    } T[] = {
        {NHS_NUMBER_OK, NHS_NUMBER_USE, NHS_NUMBER_USE},
        {NHS_NUMBER_EMPTY, NHS_NUMBER_LEAVE_OUT, NHS_NUMBER_LEAVE_OUT},
        {NHS_NUMBER_BAD_CHECK_DIGIT, NHS_NUMBER_REFUSE, NHS_NUMBER_KEEP_FLAGGED},
        {NHS_NUMBER_NEVER_ISSUED, NHS_NUMBER_REFUSE, NHS_NUMBER_KEEP_FLAGGED},
        {NHS_NUMBER_PLACEHOLDER, NHS_NUMBER_REFUSE, NHS_NUMBER_LEAVE_OUT},
        {NHS_NUMBER_NOT_DIGITS, NHS_NUMBER_REFUSE, NHS_NUMBER_REFUSE},
        {NHS_NUMBER_WRONG_LENGTH, NHS_NUMBER_REFUSE, NHS_NUMBER_REFUSE},
        {NHS_NUMBER_BAD_GROUPING, NHS_NUMBER_REFUSE, NHS_NUMBER_REFUSE},
    };
    for(size_t i = 0; i < sizeof T / sizeof *T; i++) {
        cr_assert_eq(nhs_number_policy_action(NHS_POLICY_REJECT, T[i].p), T[i].reject, "reject, problem %d", T[i].p);
        cr_assert_eq(nhs_number_policy_action(NHS_POLICY_FLAG, T[i].p), T[i].flag, "flag, problem %d", T[i].p);
    }
}

Test(nhs_number_policy, parse) {
    nhs_number_policy p = NHS_POLICY_REJECT;
    cr_assert(nhs_number_policy_parse("flag", &p));
    cr_assert_eq(p, NHS_POLICY_FLAG);
    cr_assert(nhs_number_policy_parse("REJECT", &p));
    cr_assert_eq(p, NHS_POLICY_REJECT);
    cr_assert(nhs_number_policy_parse("Flag", &p));
    cr_assert_eq(p, NHS_POLICY_FLAG);
    static const char *const BAD[] = {"", "accept", "flagged", " flag", "yes", "1"};
    for(size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        p = NHS_POLICY_FLAG;
        cr_assert_not(nhs_number_policy_parse(BAD[i], &p), "'%s'", BAD[i]);
        cr_assert_eq(p, NHS_POLICY_FLAG, "'%s' changed the policy", BAD[i]);
    }
    cr_assert_not(nhs_number_policy_parse(NULL, &p));
}

/* Each Criterion test runs in its own process, so setenv here stays here. */
Test(nhs_number_policy, from_environment) {
    unsetenv("KITH_NHS_NUMBER_POLICY");
    cr_assert_eq(nhs_number_policy_from_env(), NHS_POLICY_REJECT, "the default is reject");
    setenv("KITH_NHS_NUMBER_POLICY", "", 1);
    cr_assert_eq(nhs_number_policy_from_env(), NHS_POLICY_REJECT);
    setenv("KITH_NHS_NUMBER_POLICY", "flag", 1);
    cr_assert_eq(nhs_number_policy_from_env(), NHS_POLICY_FLAG);
    setenv("KITH_NHS_NUMBER_POLICY", "reject", 1);
    cr_assert_eq(nhs_number_policy_from_env(), NHS_POLICY_REJECT);
    setenv("KITH_NHS_NUMBER_POLICY", "accept-everything", 1);
    cr_assert_eq(nhs_number_policy_from_env(), NHS_POLICY_REJECT, "an unknown value is the safe side");
    unsetenv("KITH_NHS_NUMBER_POLICY");
}

/* ---- the shared vectors ------------------------------------------------- */

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* dir <- "<root>/../shared/data/nhs-number-vectors" for the first folder,
 * going up from here, that holds this repository's src/base/nhs_number.h. */
static bool vectors_beside_repo(const char *start, char *dir, size_t len) {
    char here[4096], probe[4200];
    int k = snprintf(here, sizeof here, "%s", start);
    if(k < 0 || (size_t)k >= sizeof here) return false;
    for(;;) {
        k = snprintf(probe, sizeof probe, "%s/src/base/nhs_number.h", here);
        if(k > 0 && (size_t)k < sizeof probe && access(probe, R_OK) == 0) {
            k = snprintf(dir, len, "%s/../shared/data/nhs-number-vectors", here);
            return k > 0 && (size_t)k < len && is_dir(dir);
        }
        char *slash = strrchr(here, '/');
        if(!slash || slash == here) return false;
        *slash = '\0';
    }
}

/* The vectors folder, or skip the test saying where it was looked for. */
static void vectors_dir(char *dir, size_t len) {
    const char *env = getenv("KITH_SHARED_DATA");
    if(env && *env) {
        int k = snprintf(dir, len, "%s/nhs-number-vectors", env);
        if(k > 0 && (size_t)k < len && is_dir(dir)) return;
        cr_skip_test("no nhs-number-vectors folder in KITH_SHARED_DATA=%s", env);
    }
    char cwd[4096];
    if(getcwd(cwd, sizeof cwd) && vectors_beside_repo(cwd, dir, len)) return;
    /* __FILE__ is tests/unit/test_nhs_number.c, absolute if built that way */
    if(__FILE__[0] == '/' && vectors_beside_repo(__FILE__, dir, len)) return;
    cr_skip_test("../shared/data/nhs-number-vectors is not beside the repository (set KITH_SHARED_DATA to "
                 "check the NHS number vectors)");
}

/* The whole of dir/name, NUL-terminated, without a UTF-8 byte order mark.
 * Caller frees. Fails the test if the folder is there but the file is not. */
static char *slurp(const char *dir, const char *name) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    char *text = malloc(MAX_VECTOR_FILE + 1);
    cr_assert(text);
    size_t n = fread(text, 1, MAX_VECTOR_FILE + 1, f);
    fclose(f);
    cr_assert(n <= MAX_VECTOR_FILE, "%s is larger than %d bytes", path, MAX_VECTOR_FILE);
    text[n] = '\0';
    if(n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) memmove(text, text + 3, n - 2);
    return text;
}

/* The next line of *cursor without its CR/LF, NUL-terminated in place; NULL
 * at the end. */
static char *next_line(char **cursor) {
    char *s = *cursor;
    if(!s || !*s) return NULL;
    char *nl = strchr(s, '\n');
    if(nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = s + strlen(s);
    }
    size_t n = strlen(s);
    if(n && s[n - 1] == '\r') s[n - 1] = '\0';
    return s;
}

/* One line on stderr, shown by `make unit` (cr_log_info needs --verbose). */
__attribute__((format(printf, 1, 2))) static void report(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The shape problems: nhs_number_parse gives no digits for these. */
static bool shape_problem(nhs_number_problem p) {
    return p == NHS_NUMBER_EMPTY || p == NHS_NUMBER_NOT_DIGITS || p == NHS_NUMBER_WRONG_LENGTH ||
           p == NHS_NUMBER_BAD_GROUPING;
}

/*
 * harvested-from-nhs-fhir-fixtures.csv: NHS numbers found in NHS Digital's
 * own FHIR fixtures (PDS API mocks, UK Core examples), with whether they pass
 * the modulus 11 check as computed by the harvester. Columns: nhs_number,
 * mod11_valid_computed_by_helper (True/False), source_repo, first_file_seen.
 */
Test(nhs_number_vectors, harvested_fhir_fixtures) {
    char dir[4200];
    vectors_dir(dir, sizeof dir);
    char *text = slurp(dir, "harvested-from-nhs-fhir-fixtures.csv");
    char *cursor = text, *line = next_line(&cursor);
    cr_assert(line && strncmp(line, "nhs_number,mod11_valid_computed_by_helper,", 42) == 0, "header: %s", line);
    int checked = 0, failing = 0;
    for(int lineno = 2; (line = next_line(&cursor)); lineno++) {
        if(!*line) continue;
        char *comma = strchr(line, ',');
        cr_assert(comma, "line %d: %s", lineno, line);
        *comma = '\0';
        const char *number = line, *verdict = comma + 1;
        char *end = strchr(verdict, ',');
        if(end) *end = '\0';
        cr_assert(strcmp(verdict, "True") == 0 || strcmp(verdict, "False") == 0, "line %d: '%s'", lineno, verdict);
        bool valid = strcmp(verdict, "True") == 0;
        char out[11];
        nhs_number_problem p = nhs_number_parse(number, out);
        cr_assert_str_eq(out, number, "line %d", lineno);
        cr_assert_eq(nhs_number_valid(number), valid, "line %d: %s", lineno, number);
        if(valid)
            cr_assert_eq(p, NHS_NUMBER_OK, "line %d: %s: %s", lineno, number, nhs_number_problem_text(p));
        else
            cr_assert(p == NHS_NUMBER_BAD_CHECK_DIGIT || p == NHS_NUMBER_NEVER_ISSUED, "line %d: %s: %d", lineno,
                      number, p);
        assert_round_trip(number);
        checked++;
        failing += !valid;
    }
    cr_assert_gt(checked, 0);
    report("nhs-number vectors: %d harvested FHIR fixture numbers checked (%d fail the check)", checked,
                failing);
    free(text);
}

/* uk-fci-nhs-number/testdata-9-valid-nhs-numbers.csv: one valid number a
 * line, no header (the file starts with a byte order mark). */
Test(nhs_number_vectors, uk_fci_valid_numbers) {
    char dir[4200];
    vectors_dir(dir, sizeof dir);
    char *text = slurp(dir, "uk-fci-nhs-number/testdata-9-valid-nhs-numbers.csv");
    char *cursor = text, *line;
    int checked = 0;
    while((line = next_line(&cursor))) {
        if(!*line) continue;
        char out[11];
        cr_assert_eq(nhs_number_parse(line, out), NHS_NUMBER_OK, "'%s'", line);
        cr_assert_str_eq(out, line);
        cr_assert(nhs_number_valid(line), "%s", line);
        assert_round_trip(line);
        checked++;
    }
    cr_assert_gt(checked, 0);
    report("nhs-number vectors: %d uk-fci valid numbers checked", checked);
    free(text);
}

/* Rows of nhs_number_cases.json where Kith answers differently from the
 * Python reference, on purpose (docs/identity.md says why). */
static const struct {
    const char *section, *input;
    nhs_number_problem kith;
} DEVIATIONS[] = {
    /* the reference: valid (it does not look at ranges); Kith: a stand-in */
    {"is_valid", "0000000000", NHS_NUMBER_PLACEHOLDER},
    /* the reference zero-pads integers to "0000000000"; Kith reads text and
     * never adds digits, so a number that lost its zeros is too short */
    {"standardise_from_int", "0", NHS_NUMBER_WRONG_LENGTH},
};

static int deviation(const char *section, const char *input) {
    for(size_t i = 0; i < sizeof DEVIATIONS / sizeof *DEVIATIONS; i++)
        if(strcmp(DEVIATIONS[i].section, section) == 0 && strcmp(DEVIATIONS[i].input, input) == 0) return (int)i;
    return -1;
}

static const char *str_member(const json_value *o, const char *key) {
    const char *s = json_string(json_get(o, key));
    cr_assert(s, "member %s is not a string", key);
    return s;
}

static json_value *section(const json_value *doc, const char *name) {
    json_value *a = json_get(doc, name);
    cr_assert_eq(json_kind_of(a), JSON_ARRAY, "section %s", name);
    cr_assert_gt(json_array_len(a), 0, "section %s is empty", name);
    return a;
}

/* A standardise row: output "" means the shape is wrong; otherwise the
 * digits read are output (whatever the check digit says). */
static void check_standardise(const char *input, const char *output) {
    char out[11];
    nhs_number_problem p = nhs_number_parse(input, out);
    if(!*output) cr_assert(shape_problem(p), "'%s' should not read as a number: %d", input, p);
    else cr_assert(!shape_problem(p), "'%s' should read as %s: %s", input, output, nhs_number_problem_text(p));
    cr_assert_str_eq(out, output, "'%s'", input);
}

/*
 * uk-fci-nhs-number/nhs_number_cases.json: the language-neutral vectors of
 * the Python nhs-number package (2.0.0). Sections and how Kith reads them:
 *   calculate_checksum    nine digits -> check digit, 10 (no number), or
 *                         null (not nine digits: no check digit completes it)
 *   standardise           text -> the ten digits, or "" for a wrong shape
 *   standardise_from_int  the same from an integer (Kith: its decimal text)
 *   is_valid              text -> valid or not
 *   is_valid_for_region,  Kith does not tie numbers to regions: each number
 *   region_of               must be valid, and in the CHI range exactly when
 *                           the region is SCOTLAND
 *   range_boundaries      SCOTLAND is Kith's CHI range; the others must not
 *                           overlap it
 */
Test(nhs_number_vectors, uk_fci_cases) {
    char dir[4200];
    vectors_dir(dir, sizeof dir);
    char *text = slurp(dir, "uk-fci-nhs-number/nhs_number_cases.json");
    json_value *doc = NULL;
    char err[256] = "";
    cr_assert_eq(json_parse(text, strlen(text), &doc, err, sizeof err), KITH_OK, "%s", err);
    int checked = 0, deviations = 0;
    size_t used[sizeof DEVIATIONS / sizeof *DEVIATIONS] = {0};
    char s[64], out[11];

    json_value *a = section(doc, "calculate_checksum");
    for(size_t i = 0; i < json_array_len(a); i++, checked++) {
        json_value *c = json_array_at(a, i);
        const char *id = str_member(c, "identifier");
        cr_assert(json_has(c, "checksum"), "%s", id);
        json_value *want = json_get(c, "checksum");
        if(json_kind_of(want) == JSON_NULL) {
            cr_assert_neq(strlen(id), 9, "%s: null checksum for nine digits", id);
            for(char d = '0'; d <= '9'; d++) {
                snprintf(s, sizeof s, "%s%c", id, d);
                cr_assert_eq(nhs_number_parse(s, NULL), NHS_NUMBER_WRONG_LENGTH, "%s", s);
            }
            if(strlen(id) < 9) cr_assert_eq(nhs_number_check_digit(id), -1, "%s", id);
            continue;
        }
        int64_t check = -1;
        cr_assert(json_int64(want, &check) && check >= 0 && check <= 10, "%s", id);
        cr_assert_eq(strlen(id), 9, "%s", id);
        cr_assert_eq(nhs_number_check_digit(id), check == 10 ? -1 : (int)check, "%s", id);
        for(int d = 0; d <= 9; d++) {
            snprintf(s, sizeof s, "%s%d", id, d);
            nhs_number_problem p = nhs_number_parse(s, NULL);
            if(check == 10) cr_assert_eq(p, NHS_NUMBER_NEVER_ISSUED, "%s", s);
            else if(d != check) cr_assert_eq(p, NHS_NUMBER_BAD_CHECK_DIGIT, "%s", s);
            else cr_assert(nhs_number_valid(s), "%s", s);
        }
    }

    a = section(doc, "standardise");
    for(size_t i = 0; i < json_array_len(a); i++, checked++) {
        json_value *c = json_array_at(a, i);
        check_standardise(str_member(c, "input"), str_member(c, "output"));
    }

    a = section(doc, "standardise_from_int");
    for(size_t i = 0; i < json_array_len(a); i++, checked++) {
        json_value *c = json_array_at(a, i);
        const char *input = json_number_text(json_get(c, "input"));
        cr_assert(input, "standardise_from_int row %zu: input is not a number", i);
        int dv = deviation("standardise_from_int", input);
        if(dv >= 0) {
            cr_assert_eq(nhs_number_parse(input, out), DEVIATIONS[dv].kith, "%s", input);
            used[dv]++;
            deviations++;
            continue;
        }
        check_standardise(input, str_member(c, "output"));
    }

    a = section(doc, "is_valid");
    for(size_t i = 0; i < json_array_len(a); i++, checked++) {
        json_value *c = json_array_at(a, i);
        const char *input = str_member(c, "input");
        nhs_number_problem p = nhs_number_parse(input, out);
        int dv = deviation("is_valid", input);
        if(dv >= 0) {
            cr_assert_eq(p, DEVIATIONS[dv].kith, "%s", input);
            used[dv]++;
            deviations++;
            continue;
        }
        bool valid = json_boolean(json_get(c, "valid"));
        cr_assert_eq(p == NHS_NUMBER_OK, valid, "'%s': %s", input, nhs_number_problem_text(p));
    }

    const char *const REGION_SECTIONS[][2] = {{"is_valid_for_region", "input"}, {"region_of", "number"}};
    for(size_t r = 0; r < 2; r++) {
        a = section(doc, REGION_SECTIONS[r][0]);
        for(size_t i = 0; i < json_array_len(a); i++, checked++) {
            json_value *c = json_array_at(a, i);
            const char *number = str_member(c, REGION_SECTIONS[r][1]);
            const char *region = str_member(c, "region");
            cr_assert_eq(nhs_number_parse(number, out), NHS_NUMBER_OK, "%s", number);
            bool chi = strcmp(out, NHS_NUMBER_CHI_FIRST) >= 0 && strcmp(out, NHS_NUMBER_CHI_LAST) <= 0;
            bool scotland = strcmp(region, "SCOTLAND") == 0;
            /* a valid:false row of is_valid_for_region names a region the number is not in */
            bool in_region = r == 1 || json_boolean(json_get(c, "valid"));
            if(in_region) cr_assert_eq(chi, scotland, "%s in %s", number, region);
            else if(scotland) cr_assert_not(chi, "%s is not in Scotland", number);
        }
    }

    a = section(doc, "range_boundaries");
    long long chi_first = atoll(NHS_NUMBER_CHI_FIRST), chi_last = atoll(NHS_NUMBER_CHI_LAST);
    for(size_t i = 0; i < json_array_len(a); i++, checked++) {
        json_value *c = json_array_at(a, i);
        const char *range = str_member(c, "range");
        int64_t start = 0, end = 0;
        cr_assert(json_int64(json_get(c, "start"), &start) && json_int64(json_get(c, "end"), &end), "%s", range);
        if(strcmp(range, "SCOTLAND") == 0) {
            cr_assert_eq(start, chi_first, "CHI range starts at %lld", (long long)start);
            cr_assert_eq(end, chi_last, "CHI range ends at %lld", (long long)end);
        } else {
            cr_assert(end < chi_first || start > chi_last, "%s overlaps the CHI range", range);
        }
    }

    for(size_t i = 0; i < sizeof DEVIATIONS / sizeof *DEVIATIONS; i++)
        cr_assert_eq(used[i], 1, "deviation %s '%s' matched %zu rows", DEVIATIONS[i].section, DEVIATIONS[i].input,
                     used[i]);
    report("nhs-number vectors: %d uk-fci cases checked (%d where Kith deliberately differs)", checked,
                deviations);
    json_free(doc);
    free(text);
}
