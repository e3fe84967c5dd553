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
 * the rest load. Writes are committed in batches; a batch holds only
 * resources that passed validation.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/clock.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "fhir/record.h"
#include "json/json.h"
#include "store/store.h"

#define MAX_LINE (64u << 20)   /* a resource on one NDJSON line */
#define MAX_FILE (1024u << 20) /* a whole JSON file */
#define BATCH 2000
#define MAX_TYPES 200

static const char USAGE[] =
    "Usage: kith import [OPTIONS] FILE...\n"
    "\n"
    "Load FHIR R4 resources into the database. Each FILE is NDJSON (one resource\n"
    "per line) or JSON (one resource, or a Bundle whose entries are loaded), and\n"
    "may be gzip-compressed. A resource with an id is stored at that id (a new\n"
    "version if it exists); one without an id gets a new one.\n"
    "\n"
    "Every resource is validated. Bad ones are reported as FILE:LINE: reason and\n"
    "skipped; the rest load. Exit status 0 when all loaded, 1 when any was\n"
    "rejected, 2 for a bad command line, 3 when the database or a file failed.\n"
    "\n"
    "Options:\n"
    "  --db PATH   SQLite database file [KITH_DB] (default kith.db)\n"
    "  --json      print the summary as JSON on standard output\n"
    "  --quiet     no progress line and no per-resource messages\n"
    "  -h, --help  show this help\n";

typedef struct type_count {
    char name[64];
    long n;
} type_count;

typedef struct importer {
    store_conn *c;
    long loaded, rejected, in_batch;
    type_count types[MAX_TYPES];
    size_t ntypes;
    bool quiet, progress;
    uint64_t t0, last_progress;
    kith_rc fatal;
} importer;

static void count_type(importer *im, const char *type) {
    for(size_t i = 0; i < im->ntypes; i++) {
        if(strcmp(im->types[i].name, type) == 0) {
            im->types[i].n++;
            return;
        }
    }
    if(im->ntypes < MAX_TYPES) {
        snprintf(im->types[im->ntypes].name, sizeof im->types[0].name, "%s", type);
        im->types[im->ntypes++].n = 1;
    }
}

static void show_progress(importer *im, bool force) {
    if(!im->progress) return;
    uint64_t now = clock_mono_us();
    if(!force && now - im->last_progress < 200000) return;
    im->last_progress = now;
    double secs = (double)(now - im->t0) / 1e6;
    fprintf(stderr, "\r  %ld loaded, %ld rejected  (%.0f resources/s)   ", im->loaded, im->rejected,
            secs > 0 ? (double)im->loaded / secs : 0.0);
    if(force) fputc('\n', stderr);
}

static kith_rc flush_batch(importer *im) {
    if(!im->in_batch) return KITH_OK;
    kith_rc rc = store_commit(im->c);
    im->in_batch = 0;
    return rc;
}

static void reject(importer *im, const char *file, long line, const char *fmt, const char *detail) {
    im->rejected++;
    if(im->quiet) return;
    if(im->progress) fputs("\r\033[K", stderr);
    fprintf(stderr, "%s:%ld: ", file, line);
    fprintf(stderr, fmt, detail);
    fputc('\n', stderr);
}

/* Load one parsed resource (not consumed). */
static void load_resource(importer *im, const char *file, long line, json_value *res) {
    const char *type = json_string(json_get(res, "resourceType"));
    if(json_kind_of(res) != JSON_OBJECT || !type) {
        reject(im, file, line, "%s", "not a FHIR resource (no resourceType)");
        return;
    }
    if(!im->in_batch) {
        kith_rc rc = store_begin(im->c);
        if(rc) {
            im->fatal = rc;
            return;
        }
    }
    fhir_issues is = FHIR_ISSUES_INIT;
    record_result r;
    record_opts o = {.in_transaction = true};
    const char *id = json_string(json_get(res, "id"));
    char typebuf[64];
    snprintf(typebuf, sizeof typebuf, "%s", type);
    kith_rc rc;
    if(id && !record_id_valid(id)) {
        fhir_issues_add(&is, "error", "value", "id", "'%s' is not a valid FHIR id", id);
        rc = KITH_EINVAL;
    } else if(id) {
        rc = record_update(im->c, typebuf, id, res, &o, &r, &is);
    } else {
        rc = record_create(im->c, typebuf, res, &o, &r, &is);
    }
    if(rc == KITH_OK) {
        im->loaded++;
        im->in_batch++;
        count_type(im, typebuf);
        record_result_free(&r);
        if(im->in_batch >= BATCH) im->fatal = flush_batch(im);
    } else if(rc == KITH_EINVAL || rc == KITH_EINVALID || rc == KITH_ECONFLICT) {
        buf msg = BUF_INIT;
        buf_printf(&msg, "%s rejected: ", typebuf);
        for(size_t i = 0; i < is.n && i < 5; i++)
            buf_printf(&msg, "%s%s%s%s", i ? "; " : "", is.v[i].expression ? is.v[i].expression : "",
                       is.v[i].expression ? ": " : "", is.v[i].diagnostics);
        if(is.n > 5) buf_printf(&msg, "; and %zu more", is.n - 5);
        if(is.n == 0) buf_puts(&msg, kith_rc_name(rc));
        reject(im, file, line, "%s", buf_str(&msg));
        buf_free(&msg);
        if(!im->in_batch) store_rollback(im->c);
    } else {
        im->fatal = rc;
    }
    fhir_issues_free(&is);
    show_progress(im, false);
}

static void load_json_text(importer *im, const char *file, long line, const char *text, size_t len, bool bundle_ok) {
    json_value *v = NULL;
    char err[256];
    if(json_parse(text, len, &v, err, sizeof err)) {
        reject(im, file, line, "%s", err);
        return;
    }
    const char *type = json_string(json_get(v, "resourceType"));
    json_value *entries = json_get(v, "entry");
    if(bundle_ok && type && strcmp(type, "Bundle") == 0 && json_kind_of(entries) == JSON_ARRAY) {
        const char *btype = json_string(json_get(v, "type"));
        if(btype && (strcmp(btype, "transaction") == 0 || strcmp(btype, "batch") == 0 ||
                     strcmp(btype, "collection") == 0 || strcmp(btype, "searchset") == 0)) {
            for(size_t i = 0; i < json_array_len(entries) && !im->fatal; i++) {
                json_value *r = json_get(json_array_at(entries, i), "resource");
                if(!r) continue;
                load_resource(im, file, line, r);
            }
            json_free(v);
            return;
        }
    }
    load_resource(im, file, line, v);
    json_free(v);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static kith_rc import_file(importer *im, const char *file) {
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
                reject(im, file, line, "line longer than %s bytes", "67108864");
            } else {
                while(b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r')) b.data[--b.len] = '\0';
                size_t k = 0;
                while(k < b.len && (b.data[k] == ' ' || b.data[k] == '\t')) k++;
                if(k < b.len) load_json_text(im, file, line, b.data + k, b.len - k, false);
            }
            if(im->fatal) break;
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
        if(!rc) load_json_text(im, file, 1, buf_str(&b), b.len, true);
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
        {"db", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    bool as_json = false, quiet = false;
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'd': db = optarg; break;
        case 'j': as_json = true; break;
        case 'q': quiet = true; break;
        case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
        default: fputs(USAGE, stderr); return CLI_EXIT_USAGE;
        }
    }
    if(optind >= argc) {
        fprintf(stderr, "kith import: name at least one file\n\n%s", USAGE);
        return CLI_EXIT_USAGE;
    }
    db = cli_setting(db, "KITH_DB", "kith.db");
    char err[512];
    store *st = NULL;
    store_options so = {.durable_full = false, .cache_mb = 256}; /* each batch commit is still atomic */
    kith_rc rc = store_open(db, &so, &st, err, sizeof err);
    if(rc) {
        fprintf(stderr, "kith import: %s\n", err);
        return CLI_EXIT_FAILED;
    }
    importer *im = xcalloc(1, sizeof *im);
    im->c = store_conn_for_thread(st);
    im->quiet = quiet;
    im->progress = !quiet && isatty(2);
    im->t0 = clock_mono_us();
    kith_rc file_rc = KITH_OK;
    for(int i = optind; i < argc && !im->fatal; i++) {
        kith_rc r = import_file(im, argv[i]);
        if(r && !file_rc) file_rc = r;
    }
    if(!im->fatal) im->fatal = flush_batch(im);
    else store_rollback(im->c);
    show_progress(im, true);
    double secs = (double)(clock_mono_us() - im->t0) / 1e6;
    if(as_json) {
        printf("{\"loaded\":%ld,\"rejected\":%ld,\"seconds\":%.3f,\"types\":{", im->loaded, im->rejected, secs);
        for(size_t i = 0; i < im->ntypes; i++) printf("%s\"%s\":%ld", i ? "," : "", im->types[i].name, im->types[i].n);
        printf("}}\n");
    } else {
        printf("Loaded %ld resources, rejected %ld, in %.1f s (%.0f/s)\n", im->loaded, im->rejected, secs,
               secs > 0 ? (double)im->loaded / secs : 0.0);
        for(size_t i = 0; i < im->ntypes; i++) printf("  %-32s %ld\n", im->types[i].name, im->types[i].n);
    }
    int code = CLI_EXIT_OK;
    if(im->fatal) {
        fprintf(stderr, "kith import: stopped: %s (the current batch was rolled back)\n", kith_rc_name(im->fatal));
        code = CLI_EXIT_FAILED;
    } else if(file_rc) {
        code = CLI_EXIT_FAILED;
    } else if(im->rejected) {
        code = CLI_EXIT_REJECTED;
    }
    free(im);
    store_close(st);
    return code;
}
