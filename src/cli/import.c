/*
 * import.c — `kith import FILE...`: load FHIR resources into the store.
 *
 * A file is NDJSON (one resource per line: .ndjson, .ndjson.gz) or JSON
 * (one resource, or a Bundle whose entries' resources are loaded). Files may
 * be gzip-compressed; NDJSON is streamed line by line, so memory does not
 * grow with file size. Every resource goes through the same write path as
 * the REST API (record.c): validated, versioned, indexed. A resource with an
 * id is written at that id (update or create), one without gets a new id.
 * Each bad line or entry is reported as `file:line: reason` and skipped;
 * the rest load. Loading the same file again changes nothing: a resource
 * whose stored content is the same is left alone. The write path itself is
 * loader.c; this file reads files and hands their resources to it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "cli/loader.h"
#include "cli/openreferral_import.h"
#include "json/json.h"
#include "store/store.h"

#define MAX_LINE (64u << 20)   /* a resource on one NDJSON line */
#define MAX_FILE (1024u << 20) /* a whole JSON file */

static const char USAGE[] =
    "Usage: kith import [OPTIONS] FILE...\n"
    "\n"
    "Load FHIR R4 resources into the database. Each FILE is NDJSON (one resource\n"
    "per line) or JSON (one resource, or a Bundle whose entries are loaded), and\n"
    "may be gzip-compressed. A resource with an id is stored at that id (a new\n"
    "version if it exists and its content differs; left alone if the same); one\n"
    "without an id gets a new one. Importing the same file twice changes nothing.\n"
    "\n"
    "On PostgreSQL the resources go in batches by COPY (docs/scaling.md).\n"
    "\n"
    "Every resource is validated. Bad ones are reported as FILE:LINE: reason and\n"
    "skipped; the rest load. Exit status 0 when all loaded, 1 when any was\n"
    "rejected, 2 for a bad command line, 3 when the database or a file failed.\n"
    "\n"
    "Options:\n"
    "  --db PATH      SQLite database file or postgresql:// URL [KITH_DB] (default kith.db)\n"
    "  --format FMT   fhir (default): FHIR JSON, Bundle or NDJSON;\n"
    "                 cld: an Adult Social Care Client Level Data (Release 1) CSV\n"
    "                 extract, mapped to FHIR (see docs/social-care-cld.md);\n"
    "                 openreferral: an Open Referral UK (UK profile 3.0) feed of\n"
    "                 services, as HealthcareServices (see docs/openreferral.md)\n"
    "  --json         print the summary as JSON on standard output\n"
    "  --quiet        no progress line and no per-resource messages\n"
    "  -h, --help     show this help\n";

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static kith_rc import_file(loader *l, const char *file) {
    gzFile gz = gzopen(file, "rb");
    if(!gz) {
        fprintf(stderr, "%s: cannot open: %m\n", file);
        return KITH_EIO;
    }
    gzbuffer(gz, 256 * 1024);
    bool ndjson = ends_with(file, ".ndjson") || ends_with(file, ".ndjson.gz") || ends_with(file, ".jsonl");
    buf b = BUF_INIT;
    kith_rc rc = KITH_OK;
    char chunk[65536];
    long line = 1;
    if(ndjson) {
        b.limit = MAX_LINE;
        bool too_long = false;
        for(;;) {
            if(!gzgets(gz, chunk, sizeof chunk)) break;
            size_t n = strlen(chunk);
            bool eol = n && chunk[n - 1] == '\n';
            if(!too_long && buf_append(&b, chunk, n)) too_long = true;
            if(!eol && !gzeof(gz)) continue;
            if(too_long) {
                loader_reject(l, file, line, "line longer than 67108864 bytes");
            } else {
                while(b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r')) b.data[--b.len] = '\0';
                size_t k = 0;
                while(k < b.len && (b.data[k] == ' ' || b.data[k] == '\t')) k++;
                if(k < b.len) loader_add_text(l, file, line, b.data + k, b.len - k);
            }
            if(loader_failure(l)) break;
            buf_reset(&b);
            too_long = false;
            line++;
        }
    } else {
        b.limit = MAX_FILE;
        int n;
        while((n = gzread(gz, chunk, sizeof chunk)) > 0) {
            if(buf_append(&b, chunk, (size_t)n)) {
                fprintf(stderr, "%s: larger than %u bytes; split it or use NDJSON\n", file, MAX_FILE);
                rc = KITH_ETOOBIG;
                break;
            }
        }
        if(!rc) {
            json_value *doc = NULL;
            char err[256];
            if(json_parse(buf_str(&b), b.len, &doc, err, sizeof err))
                loader_reject(l, file, 1, err);
            else
                loader_add_document(l, file, doc);
        }
    }
    int errnum = 0;
    const char *gerr = gzerror(gz, &errnum);
    if(!rc && errnum && errnum != Z_STREAM_END) {
        fprintf(stderr, "%s: read failed: %s\n", file, gerr);
        rc = KITH_EIO;
    }
    gzclose(gz);
    buf_free(&b);
    return rc;
}

int cli_import(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},    {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *format = "fhir";
    bool as_json = false, quiet = false;
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'd': db = optarg; break;
        case 'j': as_json = true; break;
        case 'q': quiet = true; break;
        case 'f': format = optarg; break;
        case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
        default: fputs(USAGE, stderr); return CLI_EXIT_USAGE;
        }
    }
    bool cld = strcmp(format, "cld") == 0, oruk = strcmp(format, "openreferral") == 0;
    if(!cld && !oruk && strcmp(format, "fhir") != 0) {
        fprintf(stderr, "kith import: unknown --format '%s' (fhir, cld or openreferral)\n\n%s", format, USAGE);
        return CLI_EXIT_USAGE;
    }
    if(optind >= argc) {
        fprintf(stderr, "kith import: name at least one file\n\n%s", USAGE);
        return CLI_EXIT_USAGE;
    }
    db = cli_setting(db, "KITH_DB", "kith.db");
    if(oruk) { /* each feed in one transaction of its own */
        int worst = CLI_EXIT_OK;
        for(int i = optind; i < argc; i++) {
            int code = cli_import_openreferral(db, argv[i], quiet);
            if(code > worst) worst = code;
        }
        return worst;
    }
    char err[512];
    store *st = NULL;
    store_options so = {.durable_full = false, .cache_mb = 256}; /* each batch commit is still atomic */
    kith_rc rc = store_open(db, &so, &st, err, sizeof err);
    if(rc) {
        fprintf(stderr, "kith import: %s\n", err);
        return CLI_EXIT_FAILED;
    }
    store_conn *c = store_conn_for_thread(st);
    loader_opts lo = {.quiet = quiet, .progress = !quiet && isatty(2), .skip_unchanged = true};
    loader *l = loader_new(st, &lo);
    kith_rc file_rc = KITH_OK;
    for(int i = optind; i < argc && !loader_failure(l); i++) {
        kith_rc r = cld ? cli_import_cld(l, c, argv[i]) : import_file(l, argv[i]);
        if(r && !file_rc) file_rc = r;
    }
    kith_rc fatal = loader_finish(l);
    loader_print_summary(l, as_json);
    int code = CLI_EXIT_OK;
    if(fatal) {
        fprintf(stderr, "kith import: stopped: %s (the current batch was rolled back)\n", kith_rc_name(fatal));
        code = CLI_EXIT_FAILED;
    } else if(file_rc) {
        code = CLI_EXIT_FAILED;
    } else if(loader_rejected(l)) {
        code = CLI_EXIT_REJECTED;
    }
    loader_free(l);
    store_close(st);
    return code;
}
