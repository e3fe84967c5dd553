/* test_export.c — store_scan / store_scan_count (src/store) and the bulk
 * export helpers of src/fhir/bulk.c: _since and _type parsing, and the
 * NDJSON writer (files, counts, filters, cancellation). The store is SQLite,
 * or PostgreSQL under make unit-pg. */
#include "temp_store.h"
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fhir/bulk.h"
#include "store/store.h"

static char dbpath[TEMP_STORE_PATH], outdir[64];
static store *st;
static store_conn *conn;

static void put(const char *type, const char *id, const char *ts, const char *patient, bool deleted) {
    char body[256];
    snprintf(body, sizeof body, "{\"resourceType\":\"%s\",\"id\":\"%s\"}", type, id);
    store_put p = {.type = type, .id = id, .version = 1, .last_updated = ts, .method = deleted ? "DELETE" : "PUT",
                   .patient = patient, .body = deleted ? NULL : body, .body_len = deleted ? 0 : strlen(body)};
    store_resource cur;
    kith_rc rc = store_read(conn, type, id, 0, &cur);
    if(rc == KITH_OK || rc == KITH_EGONE) p.version = cur.version + 1;
    store_resource_free(&cur);
    cr_assert_eq(store_begin(conn), KITH_OK);
    cr_assert_eq(store_write(conn, &p), KITH_OK);
    cr_assert_eq(store_commit(conn), KITH_OK);
}

static void setup(void) {
    snprintf(outdir, sizeof outdir, "/tmp/kith-unit-out-%d-XXXXXX", (int)getpid());
    cr_assert_not_null(mkdtemp(outdir));
    st = temp_store_open("exp", dbpath, &conn);
    put("Patient", "p1", "2026-01-01T00:00:00.000Z", "p1", false);
    put("Patient", "p2", "2026-01-02T00:00:00.000Z", "p2", false);
    put("Observation", "o1", "2026-01-01T10:00:00.000Z", "p1", false);
    put("Observation", "o2", "2026-01-03T10:00:00.000Z", "p2", false);
    put("Observation", "o3", "2026-01-03T11:00:00.000Z", "p1", false);
    put("Observation", "o4", "2026-01-04T00:00:00.000Z", "p1", false);
    put("Observation", "o4", "2026-01-05T00:00:00.000Z", "p1", true); /* deleted */
    put("Organization", "org", "2026-01-02T00:00:00.000Z", NULL, false);
    put("Condition", "c1", "2026-01-06T00:00:00.000Z", "p2", false);
}

static void teardown(void) {
    temp_store_remove(st, dbpath);
    char p[384];
    DIR *d = opendir(outdir);
    struct dirent *e;
    while(d && (e = readdir(d))) {
        if(e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", outdir, e->d_name);
        unlink(p);
    }
    if(d) closedir(d);
    rmdir(outdir);
}

TestSuite(export, .init = setup, .fini = teardown);

typedef struct seen {
    char keys[32][80];
    size_t n;
    size_t stop_after; /* 0: never */
} seen;

static int collect(void *ctx, const store_resource *r) {
    seen *s = ctx;
    cr_assert(s->n < 32);
    cr_assert_not_null(r->body, "a deleted resource was scanned");
    snprintf(s->keys[s->n++], sizeof s->keys[0], "%s/%s", r->type, r->id);
    return s->stop_after && s->n >= s->stop_after;
}

static void expect(const store_scan_query *q, const char *want) {
    seen s = {0};
    cr_assert_eq(store_scan(conn, q, collect, &s), KITH_OK);
    char got[1024] = "";
    for(size_t i = 0; i < s.n; i++) {
        if(i) strcat(got, " ");
        strcat(got, s.keys[i]);
    }
    cr_assert_str_eq(got, want);
    if(!q->after_type && !q->limit) {
        int64_t n = -1;
        cr_assert_eq(store_scan_count(conn, q, &n), KITH_OK);
        cr_assert_eq(n, (int64_t)s.n, "count %lld for %s", (long long)n, want);
    }
}

Test(export, scan_walks_current_resources_in_type_id_order) {
    store_scan_query all = {0};
    expect(&all, "Condition/c1 Observation/o1 Observation/o2 Observation/o3 Organization/org Patient/p1 Patient/p2");
}

Test(export, scan_filters_by_type_since_and_compartment) {
    const char *types[] = {"Patient", "Condition"};
    store_scan_query q = {.types = types, .ntypes = 2};
    expect(&q, "Condition/c1 Patient/p1 Patient/p2");
    store_scan_query since = {.since = "2026-01-03T10:00:00.000Z"};
    expect(&since, "Condition/c1 Observation/o2 Observation/o3");
    store_scan_query p1 = {.patient = "p1"};
    expect(&p1, "Observation/o1 Observation/o3 Patient/p1");
    store_scan_query any = {.in_compartment = true};
    expect(&any, "Condition/c1 Observation/o1 Observation/o2 Observation/o3 Patient/p1 Patient/p2");
    store_scan_query mixed = {.types = types, .ntypes = 1, .patient = "p2", .since = "2026-01-02T00:00:00.000Z"};
    expect(&mixed, "Patient/p2");
    store_scan_query none = {.patient = "nobody"};
    expect(&none, "");
}

Test(export, scan_resumes_after_a_cursor_and_stops_at_the_limit) {
    store_scan_query q = {.after_type = "Observation", .after_id = "o1", .limit = 3};
    expect(&q, "Observation/o2 Observation/o3 Organization/org");
    store_scan_query from_start = {.after_type = "", .after_id = "", .patient = "p1"};
    expect(&from_start, "Observation/o1 Observation/o3 Patient/p1");
    store_scan_query last = {.after_type = "Patient", .after_id = "p2"};
    expect(&last, "");
    /* fn stopping early */
    seen s = {.stop_after = 2};
    store_scan_query all = {0};
    cr_assert_eq(store_scan(conn, &all, collect, &s), KITH_OK);
    cr_assert_eq(s.n, 2);
}

Test(export, scan_refuses_too_many_types) {
    static const char *types[STORE_SCAN_MAX_TYPES + 1];
    for(size_t i = 0; i <= STORE_SCAN_MAX_TYPES; i++) types[i] = "Patient";
    store_scan_query q = {.types = types, .ntypes = STORE_SCAN_MAX_TYPES + 1};
    seen s = {0};
    int64_t n;
    cr_assert_eq(store_scan(conn, &q, collect, &s), KITH_EINVAL);
    cr_assert_eq(store_scan_count(conn, &q, &n), KITH_EINVAL);
}

Test(export, since_parse_normalises_to_utc_milliseconds) {
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"2026-01-31T09:00:00Z", "2026-01-31T09:00:00.000Z"},
        {"2026-01-31T09:00:00.5Z", "2026-01-31T09:00:00.500Z"},
        {"2026-01-31T09:00:00.123Z", "2026-01-31T09:00:00.123Z"},
        {"2026-01-31T09:00:00.1231Z", "2026-01-31T09:00:00.124Z"}, /* rounds up: stays an inclusive bound */
        {"2026-01-31T09:00:00.9999Z", "2026-01-31T09:00:01.000Z"},
        {"2026-01-31T09:00:00.1230000Z", "2026-01-31T09:00:00.123Z"},
        {"2026-01-31T10:30:00+01:30", "2026-01-31T09:00:00.000Z"},
        {"2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000Z"},
        {"2025-12-31T20:00:00-05:00", "2026-01-01T01:00:00.000Z"},
        {"2024-02-29", "2024-02-29T00:00:00.000Z"},
        {"2026-03", "2026-03-01T00:00:00.000Z"},
        {"2026", "2026-01-01T00:00:00.000Z"},
    };
    for(size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char out[CLOCK_INSTANT_LEN] = "";
        cr_assert(bulk_since_parse(ok[i].in, out), "%s refused", ok[i].in);
        cr_assert_str_eq(out, ok[i].out, "%s", ok[i].in);
    }
    static const char *const bad[] = {
        "",
        "yesterday",
        "2026-13-01",
        "2025-02-29",
        "2026-01-32",
        "2026-01-31T09:00Z",       /* no seconds */
        "2026-01-31T09:00:00",     /* no zone */
        "2026-01-31T25:00:00Z",
        "2026-01-31T09:00:00.Z",
        "2026-01-31T09:00:00+1:00",
        "2026-01-31 09:00:00Z",
        "26-01-31",
        "2026-01-31T09:00:00Zjunk",
        "0000-01-01",
    };
    for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[CLOCK_INSTANT_LEN];
        cr_assert(!bulk_since_parse(bad[i], out), "'%s' accepted", bad[i]);
    }
}

Test(export, types_parse_checks_names_and_drops_repeats) {
    char **t = NULL;
    size_t n = 0;
    char bad[80] = "";
    cr_assert_eq(bulk_types_parse("Patient, Observation ,Patient", &t, &n, bad, sizeof bad), KITH_OK);
    cr_assert_eq(bulk_types_parse("Condition", &t, &n, bad, sizeof bad), KITH_OK);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(t[0], "Patient");
    cr_assert_str_eq(t[1], "Observation");
    cr_assert_str_eq(t[2], "Condition");
    cr_assert_eq(bulk_types_parse("Patient,Nope", &t, &n, bad, sizeof bad), KITH_EINVAL);
    cr_assert_str_eq(bad, "Nope");
    cr_assert_eq(bulk_types_parse("Patient,,Observation", &t, &n, bad, sizeof bad), KITH_EINVAL);
    cr_assert_eq(bulk_types_parse("", &t, &n, bad, sizeof bad), KITH_EINVAL);
    cr_assert_eq(bulk_types_parse("../Patient", &t, &n, bad, sizeof bad), KITH_EINVAL);
    cr_assert_eq(n, 3, "nothing added by failed calls past what they had checked");
    bulk_types_free(t, n);
}

static char *slurp(const char *dir, const char *name) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if(!f) return NULL;
    static char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static size_t count_files(const char *dir) {
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while(d && (e = readdir(d)))
        if(e->d_name[0] != '.') n++;
    if(d) closedir(d);
    return n;
}

static int64_t last_progress;
static void on_progress(void *ctx, int64_t written) {
    (void)ctx;
    cr_assert_eq(written, last_progress + 1);
    last_progress = written;
}

Test(export, writer_makes_one_file_per_type) {
    bulk_output *o = NULL;
    size_t n = 0;
    char err[256];
    last_progress = 0;
    bulk_spec spec = {.dir = outdir, .scope = BULK_SYSTEM, .progress = on_progress};
    cr_assert_eq(bulk_write_ndjson(conn, &spec, &o, &n, err, sizeof err), KITH_OK, "%s", err);
    cr_assert_eq(n, 4);
    const char *types[] = {"Condition", "Observation", "Organization", "Patient"};
    const int64_t counts[] = {1, 3, 1, 2};
    for(size_t i = 0; i < n; i++) {
        cr_assert_str_eq(o[i].type, types[i]);
        cr_assert_eq(o[i].count, counts[i], "%s", types[i]);
    }
    cr_assert_eq(last_progress, 7);
    cr_assert_eq(count_files(outdir), 4, "no .part files left");
    cr_assert_str_eq(slurp(outdir, "Observation.ndjson"),
                     "{\"resourceType\":\"Observation\",\"id\":\"o1\"}\n"
                     "{\"resourceType\":\"Observation\",\"id\":\"o2\"}\n"
                     "{\"resourceType\":\"Observation\",\"id\":\"o3\"}\n");
    free(o);
}

Test(export, writer_patient_list_and_types) {
    bulk_output *o = NULL;
    size_t n = 0;
    char err[256];
    const char *pats[] = {"p2", "p1"};
    const char *types[] = {"Observation", "Condition"};
    bulk_spec spec = {.dir = outdir, .scope = BULK_PATIENT_LIST, .patients = pats, .npatients = 2, .types = types,
                      .ntypes = 2};
    cr_assert_eq(bulk_write_ndjson(conn, &spec, &o, &n, err, sizeof err), KITH_OK, "%s", err);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(o[0].type, "Condition");
    cr_assert_eq(o[1].count, 3);
    /* p2's resources come first: the file follows the Patient list */
    cr_assert_str_eq(slurp(outdir, "Observation.ndjson"),
                     "{\"resourceType\":\"Observation\",\"id\":\"o2\"}\n"
                     "{\"resourceType\":\"Observation\",\"id\":\"o1\"}\n"
                     "{\"resourceType\":\"Observation\",\"id\":\"o3\"}\n");
    free(o);
    /* an empty selection writes nothing */
    spec.npatients = 0;
    cr_assert_eq(bulk_write_ndjson(conn, &spec, &o, &n, err, sizeof err), KITH_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(o);
}

static atomic_bool cancel_flag;
static void cancel_after_two(void *ctx, int64_t written) {
    (void)ctx;
    if(written == 2) atomic_store(&cancel_flag, true);
}

Test(export, writer_cancelled_leaves_no_files) {
    bulk_output *o = NULL;
    size_t n = 0;
    char err[256];
    atomic_store(&cancel_flag, false);
    bulk_spec spec = {.dir = outdir, .scope = BULK_SYSTEM, .cancel = &cancel_flag, .progress = cancel_after_two};
    cr_assert_eq(bulk_write_ndjson(conn, &spec, &o, &n, err, sizeof err), KITH_EBUSY);
    cr_assert_null(o);
    cr_assert_eq(count_files(outdir), 0);
    cr_assert(strstr(err, "cancelled"));
}

Test(export, writer_reports_an_unwritable_directory) {
    bulk_output *o = NULL;
    size_t n = 0;
    char err[256] = "";
    bulk_spec spec = {.dir = "/nonexistent/kith-export", .scope = BULK_SYSTEM};
    cr_assert_eq(bulk_write_ndjson(conn, &spec, &o, &n, err, sizeof err), KITH_EIO);
    cr_assert(strstr(err, "/nonexistent/kith-export"), "%s", err);
    cr_assert_null(o);
}
