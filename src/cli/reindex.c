/*
 * reindex.c — `kith reindex`: rebuild every search index row from the
 * stored resources (after an upgrade, or if the index is in doubt).
 */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "fhir/record.h"
#include "store/store.h"

static const char USAGE[] =
    "Usage: kith reindex [--db PATH]\n"
    "\n"
    "Rebuild the search index of every current resource from its stored JSON.\n"
    "`kith serve` does this by itself when an upgrade needs it; run it by hand\n"
    "if searches seem to miss resources that are there.\n"
    "\n"
    "Options:\n"
    "  --db PATH   SQLite database file or postgresql:// URL [KITH_DB] (default kith.db)\n"
    "  -h, --help  show this help\n";

static void progress(void *ctx, long done) {
    (void)ctx;
    if(isatty(2)) fprintf(stderr, "\r  %ld resources reindexed", done);
}

int cli_reindex(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *db = NULL;
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'd': db = optarg; break;
        case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
        default: fputs(USAGE, stderr); return CLI_EXIT_USAGE;
        }
    }
    db = cli_setting(db, "KITH_DB", "kith.db");
    char err[512];
    store *st = NULL;
    store_options so = {.durable_full = false};
    if(store_open(db, &so, &st, err, sizeof err)) {
        fprintf(stderr, "kith reindex: %s\n", err);
        return CLI_EXIT_FAILED;
    }
    uint64_t t0 = clock_mono_us();
    long n = 0;
    kith_rc rc = record_reindex(store_conn_for_thread(st), progress, NULL, &n);
    if(isatty(2)) fputc('\n', stderr);
    store_close(st);
    if(rc) {
        fprintf(stderr, "kith reindex: failed: %s (batches already done are kept)\n", kith_rc_name(rc));
        return CLI_EXIT_FAILED;
    }
    printf("Reindexed %ld resources in %.1f s\n", n, (double)(clock_mono_us() - t0) / 1e6);
    return CLI_EXIT_OK;
}
