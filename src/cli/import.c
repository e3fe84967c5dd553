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
#include <pthread.h>
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

/* One resource on its way in. */
typedef struct item {
    const char *file; /* borrowed (argv) */
    long line;
    char *text;       /* an NDJSON line to parse (owned), or NULL */
    size_t len;
    json_value *json; /* the resource; owned when parsed from text, else borrowed from a batch root */
    bool owns_json;
    record_prepared p;
    bool prepared;
    fhir_issues is;
    kith_rc rc;
    char msg[256];    /* reason for an early rejection */
    char type[64];
} item;

/* Items read together; prepared on worker threads while the previous batch is written. */
typedef struct batch {
    item *v;
    size_t n, cap;
    json_value **roots; /* whole JSON files whose entries the items borrow */
    size_t nroots;
} batch;

typedef struct importer {
    store_conn *c;
    long loaded, rejected, in_tx;
    type_count types[MAX_TYPES];
    size_t ntypes;
    bool quiet, progress;
    uint64_t t0, last_progress;
    kith_rc fatal;
    batch filling, ready;
    int workers;
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

static void reject(importer *im, const char *file, long line, const char *fmt, const char *detail) {
    im->rejected++;
    if(im->quiet) return;
    if(im->progress) fputs("\r\033[K", stderr);
    fprintf(stderr, "%s:%ld: ", file, line);
    fprintf(stderr, fmt, detail);
    fputc('\n', stderr);
}

/* ---- preparing (worker threads) ------------------------------------------ */

static void prepare_item(item *it) {
    if(it->text) {
        if(json_parse(it->text, it->len, &it->json, it->msg, sizeof it->msg)) {
            it->rc = KITH_EINVAL;
            return;
        }
        it->owns_json = true;
    }
    const char *type = json_string(json_get(it->json, "resourceType"));
    if(json_kind_of(it->json) != JSON_OBJECT || !type) {
        snprintf(it->msg, sizeof it->msg, "not a FHIR resource (no resourceType)");
        it->rc = KITH_EINVAL;
        return;
    }
    snprintf(it->type, sizeof it->type, "%s", type);
    const char *id = json_string(json_get(it->json, "id"));
    if(id && !record_id_valid(id)) {
        fhir_issues_add(&it->is, "error", "value", "id", "'%s' is not a valid FHIR id", id);
        it->rc = KITH_EINVAL;
        return;
    }
    it->rc = record_prepare(it->type, id, it->json, &it->p, &it->is);
    it->prepared = it->rc == KITH_OK;
}

typedef struct worker {
    pthread_t t;
    batch *b;
    size_t first, step;
} worker;

static void *prepare_run(void *arg) {
    worker *w = arg;
    for(size_t i = w->first; i < w->b->n; i += w->step) prepare_item(&w->b->v[i]);
    return NULL;
}

/* ---- writing (the main thread) ------------------------------------------- */

static void write_item(importer *im, item *it) {
    if(it->rc) {
        buf msg = BUF_INIT;
        if(it->msg[0]) {
            buf_puts(&msg, it->msg);
        } else {
            buf_printf(&msg, "%s rejected: ", it->type);
            for(size_t i = 0; i < it->is.n && i < 5; i++)
                buf_printf(&msg, "%s%s%s%s", i ? "; " : "", it->is.v[i].expression ? it->is.v[i].expression : "",
                           it->is.v[i].expression ? ": " : "", it->is.v[i].diagnostics);
            if(it->is.n > 5) buf_printf(&msg, "; and %zu more", it->is.n - 5);
            if(it->is.n == 0) buf_puts(&msg, kith_rc_name(it->rc));
        }
        reject(im, it->file, it->line, "%s", buf_str(&msg));
        buf_free(&msg);
        return;
    }
    if(!im->in_tx) {
        kith_rc rc = store_begin(im->c);
        if(rc) {
            im->fatal = rc;
            return;
        }
    }
    record_result r;
    record_opts o = {.in_transaction = true};
    kith_rc rc = record_update_prepared(im->c, &it->p, &o, &r, &it->is);
    if(rc == KITH_OK) {
        im->loaded++;
        im->in_tx++;
        count_type(im, it->type);
        record_result_free(&r);
        if(im->in_tx >= BATCH) {
            im->fatal = store_commit(im->c);
            im->in_tx = 0;
        }
    } else {
        im->fatal = rc;
    }
    show_progress(im, false);
}

static void batch_clear(batch *b) {
    for(size_t i = 0; i < b->n; i++) {
        item *it = &b->v[i];
        if(it->prepared) record_prepared_free(&it->p);
        fhir_issues_free(&it->is);
        if(it->owns_json) json_free(it->json);
        free(it->text);
    }
    for(size_t i = 0; i < b->nroots; i++) json_free(b->roots[i]);
    free(b->roots);
    b->roots = NULL;
    b->n = b->nroots = 0;
}

/* Prepare `filling` on worker threads while writing `ready`, then swap. */
static void cycle(importer *im) {
    worker w[16];
    int nw = im->filling.n ? im->workers : 0;
    for(int i = 0; i < nw; i++) {
        w[i] = (worker){.b = &im->filling, .first = (size_t)i, .step = (size_t)nw};
        if(pthread_create(&w[i].t, NULL, prepare_run, &w[i]) != 0) {
            prepare_run(&w[i]); /* no thread: do it here */
            w[i].t = 0;
        }
    }
    for(size_t i = 0; i < im->ready.n && !im->fatal; i++) write_item(im, &im->ready.v[i]);
    for(int i = 0; i < nw; i++)
        if(w[i].t) pthread_join(w[i].t, NULL);
    batch_clear(&im->ready);
    batch t = im->ready;
    im->ready = im->filling;
    im->filling = t;
}

static item *add_item(importer *im, const char *file, long line) {
    batch *b = &im->filling;
    if(b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->v = xrealloc(b->v, b->cap * sizeof *b->v);
    }
    item *it = &b->v[b->n++];
    memset(it, 0, sizeof *it);
    it->file = file;
    it->line = line;
    it->is = (fhir_issues)FHIR_ISSUES_INIT;
    return it;
}

static void maybe_cycle(importer *im) {
    if(im->filling.n >= BATCH) cycle(im);
}

/* Queue an NDJSON line (copied); it is parsed on a worker thread. */
static void queue_line(importer *im, const char *file, long line, const char *text, size_t len) {
    item *it = add_item(im, file, line);
    it->text = xstrndup(text, len);
    it->len = len;
    maybe_cycle(im);
}

/* A whole JSON file: a resource, or a Bundle whose entries are loaded. */
static void queue_json_file(importer *im, const char *file, const char *text, size_t len) {
    json_value *v = NULL;
    char err[256];
    if(json_parse(text, len, &v, err, sizeof err)) {
        reject(im, file, 1, "%s", err);
        return;
    }
    batch *b = &im->filling;
    b->roots = xrealloc(b->roots, (b->nroots + 1) * sizeof *b->roots);
    b->roots[b->nroots++] = v;
    const char *type = json_string(json_get(v, "resourceType"));
    json_value *entries = json_get(v, "entry");
    const char *btype = json_string(json_get(v, "type"));
    if(type && strcmp(type, "Bundle") == 0 && json_kind_of(entries) == JSON_ARRAY && btype &&
       (strcmp(btype, "transaction") == 0 || strcmp(btype, "batch") == 0 || strcmp(btype, "collection") == 0 ||
        strcmp(btype, "searchset") == 0)) {
        for(size_t i = 0; i < json_array_len(entries); i++) {
            json_value *r = json_get(json_array_at(entries, i), "resource");
            if(r) add_item(im, file, 1)->json = r;
        }
    } else {
        add_item(im, file, 1)->json = v;
    }
    /* the roots stay with this batch, so cycle only between files */
    maybe_cycle(im);
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
                if(k < b.len) queue_line(im, file, line, b.data + k, b.len - k);
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
        if(!rc) queue_json_file(im, file, buf_str(&b), b.len);
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
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    im->workers = cores > 1 ? (int)(cores > 16 ? 16 : cores) : 1; /* the writer mostly waits for them */
    kith_rc file_rc = KITH_OK;
    for(int i = optind; i < argc && !im->fatal; i++) {
        kith_rc r = import_file(im, argv[i]);
        if(r && !file_rc) file_rc = r;
    }
    /* write what is still queued: two cycles drain filling then ready */
    if(!im->fatal) cycle(im);
    if(!im->fatal) cycle(im);
    if(!im->fatal && im->in_tx) im->fatal = store_commit(im->c);
    if(im->fatal) store_rollback(im->c);
    batch_clear(&im->filling);
    batch_clear(&im->ready);
    free(im->filling.v);
    free(im->ready.v);
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
