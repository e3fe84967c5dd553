/*
 * sof_conformance.c — runs the official SQL on FHIR v2 test suite
 * (fhir-test-cases sql-on-fhir/NAME.json) against Kith's views (src/view).
 *
 * Each file holds resources and tests; a test is a ViewDefinition with the
 * rows it must give (`expect`, compared as a multiset: order does not
 * matter, every column of every row must be equal, numbers by value), the
 * columns in order (`expectColumns`), or `expectError`: the view must be
 * refused, or fail while running. The suite is read from the shared data
 * folder ($KITH_SHARED_DATA, else ../shared/data beside the repository);
 * when it is absent the driver says it skipped and exits 0.
 *
 * Tests listed in tests/conformance/sof-known-failures.txt (lines
 * `file | test title | why`) may fail and are reported with the reason; any
 * other failure makes the run fail, and listed tests that now pass are
 * reported so the list can shrink. Prints the counts per file and overall;
 * the last line is `sql-on-fhir: N of M passed (P%)`. Single-threaded.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "json/json.h"
#include "view/view.h"

#define MAX_KNOWN 256
#define MAX_FILES 128
#define MAX_ROWS 100000

typedef struct known {
    char file[128], title[256], why[512];
    bool seen, passed;
} known;

static known KNOWN[MAX_KNOWN];
static size_t NKNOWN;

static char *trim(char *s) {
    while(*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while(n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
    return s;
}

static void load_known(const char *path) {
    FILE *f = fopen(path, "r");
    char line[1024];
    if(!f) return;
    while(fgets(line, sizeof line, f) && NKNOWN < MAX_KNOWN) {
        char *p = trim(line);
        if(*p == '#' || !*p) continue;
        char *a = strstr(p, " | ");
        char *b = a ? strstr(a + 3, " | ") : NULL;
        if(!a) continue;
        *a = 0;
        if(b) *b = 0;
        known *k = &KNOWN[NKNOWN++];
        snprintf(k->file, sizeof k->file, "%s", trim(p));
        snprintf(k->title, sizeof k->title, "%s", trim(a + 3));
        snprintf(k->why, sizeof k->why, "%s", b ? trim(b + 3) : "");
    }
    fclose(f);
}

static known *find_known(const char *file, const char *title) {
    for(size_t i = 0; i < NKNOWN; i++)
        if(strcmp(KNOWN[i].file, file) == 0 && strcmp(KNOWN[i].title, title) == 0) return &KNOWN[i];
    return NULL;
}

/* A test file, parsed (caller frees), or NULL with the reason in why. */
static json_value *load_suite_file(const char *path, char *why, size_t whylen) {
    json_value *v = NULL;
    char *text = NULL;
    long size = -1;
    FILE *f = fopen(path, "rb");
    if(f && fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if(size >= 0 && size < (64L << 20) && fseek(f, 0, SEEK_SET) == 0) {
        text = xmalloc((size_t)size + 1);
        if(fread(text, 1, (size_t)size, f) != (size_t)size) size = -1;
        text[size < 0 ? 0 : size] = 0;
    }
    if(size < 0 || !text)
        snprintf(why, whylen, "cannot read it (%.200s)", path);
    else if(json_parse(text, (size_t)size, &v, why, whylen))
        v = NULL;
    if(f) fclose(f);
    free(text);
    return v;
}

/* ---- rows as JSON ------------------------------------------------------------ */

typedef struct rows {
    const view *v;
    json_value *arr;
} rows;

static kith_rc add_row(void *ctx, const view_cell *cells, size_t n) {
    rows *r = ctx;
    json_value *o = json_new_object();
    if(json_array_len(r->arr) >= MAX_ROWS) return KITH_ETOOBIG;
    for(size_t i = 0; i < n; i++) {
        json_value *val = NULL;
        switch(cells[i].kind) {
        case VIEW_NULL: break;
        case VIEW_STRING: val = json_new_string(cells[i].text); break;
        case VIEW_NUMBER: val = json_new_number_text(cells[i].text); break;
        case VIEW_BOOL: val = json_new_bool(strcmp(cells[i].text, "true") == 0); break;
        case VIEW_JSON: json_parse(cells[i].text, strlen(cells[i].text), &val, NULL, 0); break;
        }
        json_set(o, view_column_name(r->v, i), val);
    }
    json_append(r->arr, o);
    return KITH_OK;
}

/* Equal as the suite means it: numbers by value, objects whatever the
 * order of their members, a missing member the same as null. */
static bool same(const json_value *a, const json_value *b) {
    json_kind ka = json_kind_of(a), kb = json_kind_of(b);
    bool na = ka == JSON_INTEGER || ka == JSON_DECIMAL, nb = kb == JSON_INTEGER || kb == JSON_DECIMAL;
    if(na && nb) {
        double x = strtod(json_number_text(a), NULL), y = strtod(json_number_text(b), NULL);
        return fabs(x - y) <= 1e-9 * fmax(1.0, fabs(x));
    }
    if(ka != kb) return false;
    switch(ka) {
    case JSON_NULL: return true;
    case JSON_BOOL: return json_boolean(a) == json_boolean(b);
    case JSON_STRING: return strcmp(json_string(a), json_string(b)) == 0;
    case JSON_ARRAY:
        if(json_array_len(a) != json_array_len(b)) return false;
        for(size_t i = 0; i < json_array_len(a); i++)
            if(!same(json_array_at(a, i), json_array_at(b, i))) return false;
        return true;
    case JSON_OBJECT: {
        const char *key;
        json_value *val;
        json_iter it = json_iter_start(a);
        while(json_iter_next(&it, &key, &val))
            if(!same(val, json_get(b, key))) return false;
        it = json_iter_start(b);
        while(json_iter_next(&it, &key, &val))
            if(!same(val, json_get(a, key))) return false;
        return true;
    }
    default: return false;
    }
}

/* The expected rows as a multiset of the actual ones? Writes why not. */
static bool rows_match(const json_value *want, const json_value *got, char *why, size_t whylen) {
    size_t n = json_array_len(want), m = json_array_len(got);
    bool *used = xcalloc(m + 1, sizeof *used);
    bool ok = true;
    for(size_t i = 0; i < n && ok; i++) {
        bool found = false;
        for(size_t k = 0; k < m && !found; k++)
            if(!used[k] && same(json_array_at(want, i), json_array_at(got, k))) used[k] = found = true;
        if(!found) {
            char *t = json_to_text(json_array_at(want, i), NULL);
            snprintf(why, whylen, "expected row %s is missing", t);
            free(t);
            ok = false;
        }
    }
    for(size_t k = 0; k < m && ok; k++) {
        if(used[k]) continue;
        char *t = json_to_text(json_array_at(got, k), NULL);
        snprintf(why, whylen, "unexpected row %s", t);
        free(t);
        ok = false;
    }
    free(used);
    return ok;
}

/* ---- tests ------------------------------------------------------------------- */

typedef struct counts {
    long passed, failed, unexpected, fixed;
} counts;

/* Run one test; true if it passed, else why says why. */
static bool run_test(const json_value *test, const json_value *resources, char *why, size_t whylen) {
    const json_value *def = json_get(test, "view");
    bool want_error = json_boolean(json_get(test, "expectError"));
    view *v = NULL;
    char err[512];
    rows r = {NULL, json_new_array()};
    bool ok = false;
    kith_rc rc = view_compile(def, &v, err, sizeof err);
    if(!rc) {
        r.v = v;
        for(size_t i = 0; i < json_array_len(resources) && !rc; i++)
            rc = view_run_resource(v, json_array_at(resources, i), add_row, &r, err, sizeof err);
    }
    if(want_error) {
        ok = rc != KITH_OK;
        if(!ok) snprintf(why, whylen, "expected an error, got %zu rows", json_array_len(r.arr));
    } else if(rc) {
        snprintf(why, whylen, "failed: %s", err);
    } else {
        const json_value *cols = json_get(test, "expectColumns");
        ok = true;
        if(cols) {
            ok = json_array_len(cols) == view_column_count(v);
            for(size_t i = 0; ok && i < json_array_len(cols); i++)
                ok = strcmp(json_string(json_array_at(cols, i)) ? json_string(json_array_at(cols, i)) : "",
                            view_column_name(v, i)) == 0;
            if(!ok) snprintf(why, whylen, "the columns are not in the expected order");
        }
        if(ok) ok = rows_match(json_get(test, "expect"), r.arr, why, whylen);
    }
    json_free(r.arr);
    view_free(v);
    return ok;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_file(const char *dir, const char *name, counts *total) {
    char path[4200], why[1024];
    counts k = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_value *doc = load_suite_file(path, why, sizeof why);
    const json_value *tests = json_get(doc, "tests");
    if(!doc || !tests) {
        printf("FAIL %s: %s\n", name, doc ? "no tests" : why);
        total->failed++;
        total->unexpected++;
        json_free(doc);
        return;
    }
    for(size_t i = 0; i < json_array_len(tests); i++) {
        const json_value *t = json_array_at(tests, i);
        const char *title = json_string(json_get(t, "title"));
        char fallback[32];
        snprintf(fallback, sizeof fallback, "#%zu", i);
        if(!title) title = fallback;
        why[0] = 0;
        bool ok = run_test(t, json_get(doc, "resources"), why, sizeof why);
        known *kn = find_known(name, title);
        if(kn) kn->seen = true;
        if(ok) {
            k.passed++;
            if(kn) {
                kn->passed = true;
                k.fixed++;
            }
            continue;
        }
        k.failed++;
        if(kn) {
            printf("  known failure %s | %s: %s\n", name, title, kn->why);
        } else {
            k.unexpected++;
            printf("  FAIL %s | %s: %s\n", name, title, why);
        }
    }
    printf("%-24s %3ld of %3ld passed\n", name, k.passed, k.passed + k.failed);
    total->passed += k.passed;
    total->failed += k.failed;
    total->unexpected += k.unexpected;
    total->fixed += k.fixed;
    json_free(doc);
}

int main(int argc, char **argv) {
    const char *env = getenv("KITH_SHARED_DATA");
    const char *known_path = argc > 1 ? argv[1] : "tests/conformance/sof-known-failures.txt";
    char dir[2048];
    char *names[MAX_FILES];
    size_t n = 0;
    counts k = {0};
    snprintf(dir, sizeof dir, "%s/fhir-test-cases/sql-on-fhir", env && *env ? env : "../shared/data");
    DIR *d = opendir(dir);
    if(!d) {
        printf("sql-on-fhir: skipped: the official suite is not at %s (set KITH_SHARED_DATA)\n", dir);
        return 0;
    }
    load_known(known_path);
    for(struct dirent *e = readdir(d); e && n < MAX_FILES; e = readdir(d)) {
        size_t l = strlen(e->d_name);
        if(l > 5 && strcmp(e->d_name + l - 5, ".json") == 0 && strcmp(e->d_name, "manifest.json") != 0)
            names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for(size_t i = 0; i < n; i++) {
        run_file(dir, names[i], &k);
        free(names[i]);
    }
    for(size_t i = 0; i < NKNOWN; i++) {
        if(!KNOWN[i].seen) printf("NOTE %s | %s is in the known-failures list but not in the suite\n", KNOWN[i].file,
                                  KNOWN[i].title);
        else if(KNOWN[i].passed) printf("NOTE %s | %s now passes: remove it from %s\n", KNOWN[i].file,
                                        KNOWN[i].title, known_path);
    }
    long all = k.passed + k.failed;
    printf("%ld unexpected failure(s), %ld known\n", k.unexpected, k.failed - k.unexpected);
    printf("sql-on-fhir: %ld of %ld passed (%.1f%%)\n", k.passed, all, all ? 100.0 * (double)k.passed / (double)all : 0.0);
    return k.unexpected ? 1 : 0;
}
