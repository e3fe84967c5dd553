/*
 * view.c — `kith view VIEW.json [FILE...]`: run a SQL on FHIR v2
 * ViewDefinition (src/view) and write the flat table it defines as CSV,
 * NDJSON or a JSON array, for analysts' tools (DuckDB, Spark, R).
 *
 * Two sources: NDJSON or JSON files (a resource or a Bundle; gzip too,
 * read through zlib as `kith import` reads them), streamed line by line; or,
 * with no file, the database, as an operator's tool like `kith export`: all
 * current resources of the view's type, a page at a time (view_run_store).
 * On the database the national data opt-out applies unless the operator
 * says otherwise, and the run is audited. Rows are written as each resource
 * is read, so memory does not grow with the data; --out FILE is written
 * beside FILE and renamed into place only when complete. Ctrl-C stops
 * cleanly. Single-threaded.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "fhir/bulk.h"
#include "json/json.h"
#include "view/view.h"

#define MAX_VIEW_FILE (16u << 20)  /* the ViewDefinition file */
#define MAX_LINE (64u << 20)       /* one NDJSON line */
#define MAX_JSON_FILE (1024u << 20) /* a whole JSON file */

static const char USAGE[] =
    "Usage: kith view VIEW.json [FILE...] [OPTIONS]\n"
    "       kith view VIEW.json --db PATH [OPTIONS]\n"
    "\n"
    "Run a SQL on FHIR v2 ViewDefinition (https://sql-on-fhir.org/ig/latest) and\n"
    "write the flat table it defines: one row per resource of the view's type, or\n"
    "per item of its forEach, with the columns its FHIRPath paths give. The output\n"
    "loads straight into DuckDB, Spark, R or a spreadsheet. docs/sql-on-fhir.md\n"
    "explains views and what Kith supports of them.\n"
    "\n"
    "The resources come from the FILEs: NDJSON (one resource per line: .ndjson,\n"
    ".jsonl) or JSON (a resource, or a Bundle whose entries are read), either\n"
    "possibly gzip-compressed (.gz); - reads NDJSON from standard input. Resources\n"
    "of other types are skipped. With no FILE they come from the database: every\n"
    "current resource of the view's type, in id order. There the national data\n"
    "opt-out applies (the records of people who registered it are left out, as for\n"
    "any secondary use) unless --include-opted-out is given, and the run is written\n"
    "to the audit log.\n"
    "\n"
    "Options:\n"
    "  --db PATH              SQLite database file [KITH_DB] (default kith.db);\n"
    "                         read when no FILE is given\n"
    "  --format FMT           csv (default: RFC 4180 with a header row), ndjson\n"
    "                         (one JSON object per row) or json (one array)\n"
    "  --out FILE             write the table to FILE instead of standard output;\n"
    "                         FILE is replaced only once the table is complete\n"
    "  --no-header            CSV without the header row\n"
    "  --limit N              stop after N rows\n"
    "  --patient ID           database: only resources in this Patient's record\n"
    "  --since INSTANT        database: only resources last updated at or after\n"
    "                         INSTANT (2026-01-31T09:00:00Z, or a date 2026-01-31)\n"
    "  --include-opted-out    database: include people who registered the national\n"
    "                         data opt-out (for direct care or records management,\n"
    "                         never for planning or research)\n"
    "  --check                check the view and print its columns; read no data\n"
    "  --json                 print the summary as one JSON object\n"
    "  --quiet                no progress line and no summary\n"
    "  -h, --help             show this help\n"
    "\n"
    "In CSV a null is an empty field and a collection column (collection: true)\n"
    "is its JSON array. The summary (rows, resources, seconds) goes to standard\n"
    "output with --out, else to standard error; a progress line is shown on a\n"
    "terminal. A bad line of a FILE is reported as FILE:LINE: reason and skipped.\n"
    "\n"
    "Examples:\n"
    "  kith view patients.json --db kith.db --out patients.csv\n"
    "  kith view obs.json export/Observation.ndjson.gz --format ndjson > obs.ndjson\n"
    "  duckdb -c \"select gender, count(*) from 'patients.csv' group by 1\"\n"
    "\n"
    "Exit status 0 on success; 1 when the view is invalid, fails on a resource (the\n"
    "message names the element and the resource) or some input line was refused;\n"
    "2 for a bad command line; 3 when a file or the database failed.\n";

static atomic_bool stop_requested;

static void on_signal(int sig) {
    (void)sig;
    atomic_store(&stop_requested, true);
}

typedef struct runner {
    const view *v;
    view_writer *w;
    FILE *out;
    bool progress;
    uint64_t t0, last;
    int64_t resources, rejected, limit;
    bool full;
} runner;

static kith_rc to_file(void *ctx, const char *data, size_t len) {
    runner *r = ctx;
    return fwrite(data, 1, len, r->out) == len ? KITH_OK : KITH_EIO;
}

static kith_rc limited_row(void *ctx, const view_cell *cells, size_t n) {
    runner *r = ctx;
    if(r->limit && view_writer_rows(r->w) >= r->limit) {
        r->full = true;
        return KITH_OK;
    }
    return view_writer_row(r->w, cells, n);
}

static void show_progress(void *ctx, int64_t resources, int64_t rows) {
    runner *r = ctx;
    uint64_t now = clock_mono_us();
    if(!r->progress || now - r->last < 200000) return;
    r->last = now;
    double secs = (double)(now - r->t0) / 1e6;
    fprintf(stderr, "\r  %lld resources read, %lld rows (%.0f rows/s)   ", (long long)resources, (long long)rows,
            secs > 0 ? (double)rows / secs : 0.0);
}

/* Open a file, gzip-compressed or not; NULL (reported) when it cannot be. */
static gzFile gz_open(const char *file) {
    gzFile gz = strcmp(file, "-") == 0 ? gzdopen(dup(0), "rb") : gzopen(file, "rb");
    if(!gz) fprintf(stderr, "kith view: %s: cannot open: %s\n", file, strerror(errno));
    return gz;
}

/* Close gz; a read error (reported) becomes KITH_EIO unless rc already failed. */
static kith_rc gz_close(gzFile gz, const char *file, kith_rc rc) {
    int errnum = 0;
    const char *gerr = gzerror(gz, &errnum);
    if(!rc && errnum && errnum != Z_STREAM_END) {
        fprintf(stderr, "kith view: %s: read failed: %s\n", file, gerr);
        rc = KITH_EIO;
    }
    gzclose(gz);
    return rc;
}

/* Read a whole (possibly gzip-compressed) file into b (capped). */
static kith_rc read_all(const char *file, size_t cap, buf *b) {
    gzFile gz = gz_open(file);
    char chunk[65536];
    int n;
    kith_rc rc = KITH_OK;
    if(!gz) return KITH_EIO;
    buf_init(b, cap);
    while(!rc && (n = gzread(gz, chunk, sizeof chunk)) > 0) {
        if(buf_append(b, chunk, (size_t)n)) {
            fprintf(stderr, "kith view: %s: larger than %zu bytes\n", file, cap);
            rc = KITH_ETOOBIG;
        }
    }
    return gz_close(gz, file, rc);
}

/* Run the view over one resource read from file:line. */
static kith_rc one(runner *r, const char *file, long line, const json_value *res) {
    char err[1024];
    r->resources++;
    kith_rc rc = view_run_resource(r->v, res, limited_row, r, err, sizeof err);
    if(rc == KITH_EINVALID || rc == KITH_ETOOBIG)
        fprintf(stderr, "kith view: %s:%ld: %s\n", file, line, err);
    else if(rc)
        fprintf(stderr, "kith view: writing the table failed: %s\n", kith_rc_name(rc));
    if(!rc && (r->resources & 1023) == 0) show_progress(r, r->resources, view_writer_rows(r->w));
    return rc;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A JSON file: one resource, or a Bundle whose entries' resources are read. */
static kith_rc run_json_file(runner *r, const char *file) {
    buf b = BUF_INIT;
    json_value *doc = NULL;
    char err[256];
    kith_rc rc = read_all(file, MAX_JSON_FILE, &b);
    if(!rc && json_parse(buf_str(&b), b.len, &doc, err, sizeof err)) {
        fprintf(stderr, "kith view: %s:1: %s\n", file, err);
        r->rejected++;
    }
    buf_free(&b);
    const char *rt = json_string(json_get(doc, "resourceType"));
    if(!rc && rt && strcmp(rt, "Bundle") == 0) {
        const json_value *entries = json_get(doc, "entry");
        for(size_t i = 0; !rc && !r->full && i < json_array_len(entries); i++) {
            const json_value *res = json_get(json_array_at(entries, i), "resource");
            if(res) rc = one(r, file, 1, res);
        }
    } else if(!rc && doc) {
        rc = one(r, file, 1, doc);
    }
    json_free(doc);
    return rc;
}

/* An NDJSON file, a line at a time. */
static kith_rc run_ndjson_file(runner *r, const char *file) {
    gzFile gz = gz_open(file);
    buf line = BUF_INIT;
    char chunk[65536], err[256];
    long lineno = 0;
    bool too_long = false;
    kith_rc rc = KITH_OK;
    if(!gz) return KITH_EIO;
    gzbuffer(gz, 256 * 1024);
    buf_init(&line, MAX_LINE);
    while(!rc && !r->full && !atomic_load(&stop_requested) && gzgets(gz, chunk, sizeof chunk)) {
        size_t n = strlen(chunk);
        if(!too_long && buf_append(&line, chunk, n)) too_long = true;
        if(n && chunk[n - 1] != '\n' && !gzeof(gz)) continue; /* the line goes on */
        lineno++;
        while(line.len && (line.data[line.len - 1] == '\n' || line.data[line.len - 1] == '\r')) line.data[--line.len] = 0;
        json_value *res = NULL;
        if(too_long) {
            fprintf(stderr, "kith view: %s:%ld: line longer than %u bytes\n", file, lineno, MAX_LINE);
            r->rejected++;
        } else if(line.len && strspn(line.data, " \t") < line.len) {
            if(json_parse(line.data, line.len, &res, err, sizeof err)) {
                fprintf(stderr, "kith view: %s:%ld: %s\n", file, lineno, err);
                r->rejected++;
            } else {
                rc = one(r, file, lineno, res);
            }
        }
        json_free(res);
        buf_reset(&line);
        too_long = false;
    }
    buf_free(&line);
    return gz_close(gz, file, rc);
}

static view *load_view(const char *file) {
    buf b = BUF_INIT;
    json_value *def = NULL;
    view *v = NULL;
    char err[1024];
    if(read_all(file, MAX_VIEW_FILE, &b)) goto done;
    if(json_parse(buf_str(&b), b.len, &def, err, sizeof err)) {
        fprintf(stderr, "kith view: %s: not valid JSON: %s\n", file, err);
        goto done;
    }
    if(view_compile(def, &v, err, sizeof err)) fprintf(stderr, "kith view: %s: invalid ViewDefinition: %s\n", file, err);
done:
    json_free(def);
    buf_free(&b);
    return v;
}

typedef struct opts {
    const char *db, *out, *patient, *since_arg;
    char since[CLOCK_INSTANT_LEN];
    view_format format;
    bool header, opted_out, check, as_json, quiet;
    int64_t limit;
} opts;

/* Over the database: open it, audit the run, apply the opt-out, read. */
static int run_db(runner *r, const opts *o, char *err, size_t errlen) {
    cli_session s = {0};
    const char *db = cli_setting(o->db, "KITH_DB", "kith.db");
    int code = CLI_EXIT_OK;
    if(cli_open_existing_db(db, &s, "view")) {
        store_close(s.st);
        return CLI_EXIT_FAILED;
    }
    char detail[300];
    snprintf(detail, sizeof detail, "ViewDefinition %s over %s%s%s%s", view_name(r->v) ? view_name(r->v) : "(unnamed)",
             view_resource_type(r->v), o->patient ? " of Patient/" : "", o->patient ? o->patient : "",
             o->opted_out ? "; national data opt-out NOT applied" : "; national data opt-out applied");
    cli_audit_operator(s.c, "view", 'E', NULL, detail);
    store_viewer secondary = {.secondary_use = true};
    if(!o->opted_out && store_set_viewer(s.c, &secondary)) {
        fprintf(stderr, "kith view: cannot apply the national data opt-out\n");
        store_close(s.st);
        return CLI_EXIT_FAILED;
    }
    view_store_query q = {.patient = o->patient,
                          .since = o->since_arg ? o->since : NULL,
                          .limit = o->limit,
                          .progress = show_progress,
                          .progress_ctx = r,
                          .cancel = &stop_requested};
    view_store_stats st;
    kith_rc rc = view_run_store(s.c, r->v, &q, limited_row, r, &st, err, errlen);
    r->resources = st.resources;
    if(rc) {
        fprintf(stderr, "kith view: %s\n", err);
        code = rc == KITH_EINVALID || rc == KITH_ETOOBIG ? CLI_EXIT_REJECTED : CLI_EXIT_FAILED;
    }
    store_set_viewer(s.c, NULL);
    store_close(s.st);
    return code;
}

static int parse_args(int argc, char **argv, opts *o, bool *help) {
    static const struct option LONG[] = {
        {"db", required_argument, NULL, 'd'},     {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},    {"no-header", no_argument, NULL, 'H'},
        {"limit", required_argument, NULL, 'l'},  {"patient", required_argument, NULL, 'p'},
        {"since", required_argument, NULL, 's'},  {"include-opted-out", no_argument, NULL, 'I'},
        {"check", no_argument, NULL, 'c'},        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", LONG, NULL)) != -1) {
        char *end = NULL;
        switch(ch) {
        case 'd': o->db = optarg; break;
        case 'o': o->out = optarg; break;
        case 'H': o->header = false; break;
        case 'p': o->patient = optarg; break;
        case 's': o->since_arg = optarg; break;
        case 'I': o->opted_out = true; break;
        case 'c': o->check = true; break;
        case 'j': o->as_json = true; break;
        case 'q': o->quiet = true; break;
        case 'h': *help = true; return CLI_EXIT_OK;
        case 'f':
            if(!view_format_parse(optarg, &o->format)) {
                fprintf(stderr, "kith view: --format must be csv, ndjson or json, not '%s'\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'l':
            o->limit = strtoll(optarg, &end, 10);
            if(!*optarg || *end || o->limit < 1) {
                fprintf(stderr, "kith view: --limit must be a whole number of rows from 1, not '%s'\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        default: fputs(USAGE, stderr); return CLI_EXIT_USAGE;
        }
    }
    if(optind >= argc) {
        fprintf(stderr, "kith view: which ViewDefinition? (kith view VIEW.json ...)\n\n%s", USAGE);
        return CLI_EXIT_USAGE;
    }
    if(o->since_arg && !bulk_since_parse(o->since_arg, o->since)) {
        fprintf(stderr, "kith view: --since must be an instant such as 2026-01-31T09:00:00Z or a date, not '%s'\n",
                o->since_arg);
        return CLI_EXIT_USAGE;
    }
    bool files = optind + 1 < argc;
    if(files && (o->db || o->patient || o->since_arg || o->opted_out)) {
        fprintf(stderr, "kith view: --db, --patient, --since and --include-opted-out are for the database; "
                        "give either FILEs or the database\n");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static void print_summary(const runner *r, const opts *o, int64_t rows, double secs) {
    FILE *to = o->out ? stdout : stderr;
    double rate = secs > 0 ? (double)rows / secs : 0.0;
    if(o->as_json)
        fprintf(to, "{\"rows\":%lld,\"resources\":%lld,\"rejected\":%lld,\"seconds\":%.3f,\"rows_per_second\":%.0f}\n",
                (long long)rows, (long long)r->resources, (long long)r->rejected, secs, rate);
    else
        fprintf(to, "kith view: %lld rows from %lld resources in %.2f s (%.0f rows/s)%s\n", (long long)rows,
                (long long)r->resources, secs, rate, r->full ? "; stopped at --limit" : "");
}

int cli_view(int argc, char **argv) {
    opts o = {.format = VIEW_FORMAT_CSV, .header = true};
    bool help = false;
    runner r = {0};
    char *tmp = NULL, err[1024];
    int code = parse_args(argc, argv, &o, &help);
    if(help) fputs(USAGE, stdout);
    if(code || help) return code;
    view *v = load_view(argv[optind]);
    if(!v) return CLI_EXIT_REJECTED;
    if(o.check) {
        printf("%s: valid; %s, %zu columns:", argv[optind], view_resource_type(v), view_column_count(v));
        for(size_t i = 0; i < view_column_count(v); i++) printf(" %s", view_column_name(v, i));
        printf("\n");
        view_free(v);
        return CLI_EXIT_OK;
    }
    r.v = v;
    r.out = stdout;
    r.limit = o.limit;
    r.t0 = r.last = clock_mono_us();
    r.progress = !o.quiet && isatty(2);
    if(o.out) {
        size_t n = strlen(o.out) + 16;
        tmp = xmalloc(n);
        snprintf(tmp, n, "%s.partial", o.out);
        r.out = fopen(tmp, "wb");
        if(!r.out) {
            fprintf(stderr, "kith view: cannot write %s: %s\n", tmp, strerror(errno));
            free(tmp);
            view_free(v);
            return CLI_EXIT_FAILED;
        }
    }
    r.w = view_writer_new(v, o.format, o.header, to_file, &r);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    kith_rc rc = KITH_OK;
    if(optind + 1 >= argc) {
        code = run_db(&r, &o, err, sizeof err);
    } else {
        for(int i = optind + 1; i < argc && !rc && !r.full && !atomic_load(&stop_requested); i++) {
            const char *f = argv[i];
            bool ndjson = ends_with(f, ".ndjson") || ends_with(f, ".ndjson.gz") || ends_with(f, ".jsonl") ||
                          ends_with(f, ".jsonl.gz") || strcmp(f, "-") == 0;
            rc = ndjson ? run_ndjson_file(&r, f) : run_json_file(&r, f);
        }
        code = rc ? cli_exit_code(rc) : r.rejected ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if(atomic_load(&stop_requested) && code == CLI_EXIT_OK) {
        fprintf(stderr, "\nkith view: interrupted\n");
        code = CLI_EXIT_FAILED;
    }
    if(r.progress) fputs("\r\033[K", stderr);
    if(code != CLI_EXIT_FAILED && (view_writer_finish(r.w) || fflush(r.out) != 0)) {
        fprintf(stderr, "kith view: writing the table failed: %s\n", strerror(errno));
        code = CLI_EXIT_FAILED;
    }
    int64_t rows = view_writer_rows(r.w);
    if(o.out) {
        bool ok = fclose(r.out) == 0 && (code == CLI_EXIT_OK || (code == CLI_EXIT_REJECTED && r.rejected && !rc));
        if(ok && rename(tmp, o.out) != 0) {
            fprintf(stderr, "kith view: cannot rename %s to %s: %s\n", tmp, o.out, strerror(errno));
            code = CLI_EXIT_FAILED;
            ok = false;
        }
        if(!ok) unlink(tmp);
    }
    if(!o.quiet && (code == CLI_EXIT_OK || r.rejected))
        print_summary(&r, &o, rows, (double)(clock_mono_us() - r.t0) / 1e6);
    view_writer_free(r.w);
    view_free(v);
    free(tmp);
    return code;
}
