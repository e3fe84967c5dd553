/*
 * export.c — `kith export --out DIR`: write current resources as NDJSON.
 *
 * One file per resource type (DIR/Patient.ndjson, ...) holding the current,
 * non-deleted version of each resource, one per line, exactly as stored —
 * the format `kith import` and FHIR bulk data clients read. The work is
 * bulk_write_ndjson (src/fhir/bulk.c, shared with the $export operation):
 * it streams from the database, so memory does not grow with its size, and
 * renames the files into place only when all are complete. Ctrl-C or
 * SIGTERM stops it cleanly (the partial files are removed). Single-threaded.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "fhir/bulk.h"
#include "store/store.h"

static const char USAGE[] =
    "Usage: kith export --out DIR [OPTIONS]\n"
    "\n"
    "Write the current version of every resource in the database (deleted ones\n"
    "left out) as NDJSON: one file per resource type, DIR/Patient.ndjson,\n"
    "DIR/Observation.ndjson, ..., one resource per line as stored. The files are\n"
    "what `kith import` and FHIR bulk data clients read: `kith import DIR/*.ndjson`\n"
    "into another database gives the same resources. DIR is created if missing;\n"
    "files of the same names in it are replaced once the whole export has\n"
    "succeeded, other files are left alone. Types with no resources get no file.\n"
    "\n"
    "Options:\n"
    "  --out DIR          directory for the files (required)\n"
    "  --db PATH          SQLite database file or postgresql:// URL [KITH_DB] (default kith.db)\n"
    "  --type T,...       only these resource types (repeatable), e.g. Patient,Observation\n"
    "  --since INSTANT    only resources last updated at or after INSTANT\n"
    "                     (2026-01-31T09:00:00Z, 2026-01-31T09:00:00+01:00 or a date 2026-01-31)\n"
    "  --json             print the summary as JSON on standard output\n"
    "  --quiet            no progress line\n"
    "  -h, --help         show this help\n"
    "\n"
    "A progress line is shown on a terminal; the summary gives the count per type.\n"
    "Ctrl-C stops the export and removes its partial files. Exit status 0 on\n"
    "success, 2 for a bad command line, 3 when the database or a file failed.\n";

static atomic_bool stop_requested;

static void on_signal(int sig) {
    (void)sig;
    atomic_store(&stop_requested, true);
}

typedef struct progress {
    bool show;
    int64_t expected;
    uint64_t t0, last;
} progress;

static void show_progress(void *ctx, int64_t written) {
    progress *p = ctx;
    if(!p->show) return;
    uint64_t now = clock_mono_us();
    if(written != p->expected && now - p->last < 200000) return;
    p->last = now;
    double secs = (double)(now - p->t0) / 1e6;
    double pct = p->expected > 0 ? 100.0 * (double)written / (double)p->expected : 100.0;
    fprintf(stderr, "\r  %lld of %lld resources exported (%.0f%%, %.0f/s)   ", (long long)written,
            (long long)p->expected, pct > 100.0 ? 100.0 : pct, secs > 0 ? (double)written / secs : 0.0);
}

int cli_export(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'}, {"db", required_argument, NULL, 'd'},
        {"type", required_argument, NULL, 't'}, {"since", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},      {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
    };
    const char *out_dir = NULL, *db = NULL, *since_arg = NULL;
    char **types = NULL;
    size_t ntypes = 0;
    bool as_json = false, quiet = false;
    int code = CLI_EXIT_OK;
    store *st = NULL;
    bulk_output *outs = NULL;
    size_t nouts = 0;
    char since[CLOCK_INSTANT_LEN], bad[80], err[512];
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'o': out_dir = optarg; break;
        case 'd': db = optarg; break;
        case 's': since_arg = optarg; break;
        case 'j': as_json = true; break;
        case 'q': quiet = true; break;
        case 't': {
            kith_rc r = bulk_types_parse(optarg, &types, &ntypes, bad, sizeof bad);
            if(r) {
                if(r == KITH_ETOOBIG)
                    fprintf(stderr, "kith export: --type names more than %d types\n", BULK_MAX_TYPES);
                else
                    fprintf(stderr, "kith export: --type: '%s' is not a FHIR R4 resource type\n", bad);
                code = CLI_EXIT_USAGE;
                goto done;
            }
            break;
        }
        case 'h': fputs(USAGE, stdout); goto done;
        default: fputs(USAGE, stderr); code = CLI_EXIT_USAGE; goto done;
        }
    }
    if(optind < argc) {
        fprintf(stderr, "kith export: unexpected argument '%s'\n", argv[optind]);
        code = CLI_EXIT_USAGE;
        goto done;
    }
    if(!out_dir || !*out_dir) {
        fprintf(stderr, "kith export: --out DIR is required\n\n%s", USAGE);
        code = CLI_EXIT_USAGE;
        goto done;
    }
    if(since_arg && !bulk_since_parse(since_arg, since)) {
        fprintf(stderr, "kith export: --since must be an instant such as 2026-01-31T09:00:00Z or a date, not '%s'\n",
                since_arg);
        code = CLI_EXIT_USAGE;
        goto done;
    }
    db = cli_setting(db, "KITH_DB", "kith.db");
    if(!store_is_postgres(db) && access(db, F_OK) != 0) { /* store_open would create an empty database */
        fprintf(stderr, "kith export: no database at %s\n", db);
        code = CLI_EXIT_FAILED;
        goto done;
    }
    if(mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "kith export: cannot create %s: %s\n", out_dir, strerror(errno));
        code = CLI_EXIT_FAILED;
        goto done;
    }
    store_options so = {.durable_full = false};
    kith_rc rc = store_open(db, &so, &st, err, sizeof err);
    if(rc) {
        fprintf(stderr, "kith export: %s\n", err);
        code = CLI_EXIT_FAILED;
        goto done;
    }
    store_conn *c = store_conn_for_thread(st);
    if(!c) {
        fprintf(stderr, "kith export: cannot open %s\n", db);
        code = CLI_EXIT_FAILED;
        goto done;
    }
    progress pr = {.show = !quiet && isatty(2), .expected = -1, .t0 = clock_mono_us()};
    store_scan_query q = {.types = (const char *const *)types, .ntypes = ntypes, .since = since_arg ? since : NULL};
    if(pr.show && store_scan_count(c, &q, &pr.expected)) pr.show = false;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bulk_spec spec = {.dir = out_dir,
                      .scope = BULK_SYSTEM,
                      .types = q.types,
                      .ntypes = ntypes,
                      .since = q.since,
                      .cancel = &stop_requested,
                      .progress = show_progress,
                      .progress_ctx = &pr};
    rc = bulk_write_ndjson(c, &spec, &outs, &nouts, err, sizeof err);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if(pr.show) fputs("\r\033[K", stderr);
    if(rc) {
        fprintf(stderr, "kith export: %s; no files were written\n",
                rc == KITH_EBUSY ? "interrupted" : err);
        code = CLI_EXIT_FAILED;
        goto done;
    }
    int64_t total = 0;
    for(size_t i = 0; i < nouts; i++) total += outs[i].count;
    double secs = (double)(clock_mono_us() - pr.t0) / 1e6;
    if(as_json) {
        printf("{\"exported\":%lld,\"seconds\":%.3f,\"types\":{", (long long)total, secs);
        for(size_t i = 0; i < nouts; i++) printf("%s\"%s\":%lld", i ? "," : "", outs[i].type, (long long)outs[i].count);
        printf("}}\n");
    } else {
        printf("Exported %lld resources of %zu types to %s in %.1f s\n", (long long)total, nouts, out_dir, secs);
        for(size_t i = 0; i < nouts; i++) printf("  %-32s %lld\n", outs[i].type, (long long)outs[i].count);
    }
done:
    free(outs);
    bulk_types_free(types, ntypes);
    store_close(st);
    return code;
}
