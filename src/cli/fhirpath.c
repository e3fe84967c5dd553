/*
 * fhirpath.c — `kith fhirpath EXPRESSION [FILE.json]`: evaluate a FHIRPath
 * expression against a resource and print the result as a JSON array.
 *
 * Also a batch mode for the conformance cross-check and the benchmark
 * (`--batch JOBS.ndjson`): every line names an expression and a resource
 * file; expressions are parsed once and files read once, then each job's
 * result is printed as one JSON line, or (with --bench N) all jobs are
 * evaluated N times and the rate is reported. Single-threaded; everything
 * allocated here is freed before returning.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "fhir/fhirpath.h"
#include "json/json.h"

#define MAX_INPUT (256u << 20) /* a resource file or batch job file */
#define MAX_VARS 64

static const char USAGE[] =
    "Usage: kith fhirpath [OPTIONS] EXPRESSION [FILE.json]\n"
    "       kith fhirpath [OPTIONS] --batch JOBS.ndjson\n"
    "\n"
    "Evaluate a FHIRPath expression (FHIRPath N1 as used by FHIR R4) against a\n"
    "FHIR R4 resource in JSON, read from FILE or from standard input, and print\n"
    "the result collection as a JSON array. FHIR types are kept: a date stays a\n"
    "date string, a Quantity prints as {\"value\":..,\"unit\":..}, nodes of the\n"
    "resource print as their JSON. The resource is %resource and %context.\n"
    "\n"
    "A syntax error prints the expression with a caret under the position and\n"
    "exits 2; an evaluation error (e.g. a singleton expected) exits 1.\n"
    "\n"
    "Options:\n"
    "  --var NAME=JSON   define %NAME as a JSON value (a string must be quoted:\n"
    "                    --var 'who=\"me\"'); repeatable\n"
    "  --strict          unknown element and type names are errors\n"
    "  --resolve-stubs   resolve() of a \"Type/id\" reference that is not in the\n"
    "                    resource (contained) or Bundle gives {resourceType, id}\n"
    "  --as-filters      `x as T` on several items keeps those of type T instead of\n"
    "                    failing (as search indexing wants)\n"
    "  --types           print each item as {\"type\":T,\"value\":V}\n"
    "  --batch FILE      evaluate jobs: one JSON object per line,\n"
    "                    {\"expr\":\"...\",\"file\":\"path.json\"}; prints one line per job,\n"
    "                    {\"result\":[...]} or {\"error\":\"...\"}\n"
    "  --bench N         with --batch: evaluate every job N times, print the rate\n"
    "                    (per CPU second) on standard error instead of the results\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 evaluated, 1 evaluation error, 2 bad command line or syntax\n"
    "error, 3 a file could not be read.\n";

static char *read_all(FILE *in, size_t *len) {
    buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    buf_init(&b, MAX_INPUT);
    while((n = fread(chunk, 1, sizeof chunk, in)) > 0) {
        if(buf_append(&b, chunk, n)) {
            buf_free(&b);
            return NULL;
        }
    }
    if(!b.data) buf_puts(&b, "");
    return buf_take(&b, len);
}

static json_value *read_json(const char *path, char *err, size_t errlen) {
    FILE *in = path ? fopen(path, "rb") : stdin;
    json_value *v = NULL;
    size_t len = 0;
    if(!in) {
        snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }
    char *text = read_all(in, &len);
    if(path) fclose(in);
    if(!text) {
        snprintf(err, errlen, "%s: too large", path ? path : "stdin");
        return NULL;
    }
    if(json_parse(text, len, &v, err, errlen)) v = NULL;
    free(text);
    return v;
}

static void print_caret(const char *expr, size_t pos, const char *msg) {
    fprintf(stderr, "kith fhirpath: syntax error at %zu: %s\n  %s\n  ", pos, msg, expr);
    for(size_t i = 0; i < pos && expr[i]; i++) fputc(expr[i] == '\t' ? '\t' : ' ', stderr);
    fputs("^\n", stderr);
}

static kith_rc write_result(buf *out, const fhirpath_result *r, bool types) {
    if(!types) return fhirpath_result_write(out, r);
    kith_rc rc = buf_putc(out, '[');
    for(size_t i = 0; !rc && i < fhirpath_result_count(r); i++) {
        const fhirpath_item *it = fhirpath_result_at(r, i);
        if(i) rc = buf_putc(out, ',');
        if(!rc) rc = buf_printf(out, "{\"type\":\"%s\",\"value\":", it->type ? it->type : "");
        if(!rc) rc = fhirpath_item_write(out, it);
        if(!rc) rc = buf_putc(out, '}');
    }
    if(!rc) rc = buf_putc(out, ']');
    return rc;
}

/* ---- batch mode ---------------------------------------------------------------------- */

typedef struct job {
    size_t expr; /* index into exprs */
    size_t file; /* index into files */
} job;

typedef struct batch {
    char **expr_src;
    fhirpath_expr **exprs;
    char **expr_err;
    size_t nexprs, capexprs;
    char **file_path;
    json_value **files;
    size_t nfiles, capfiles;
    job *jobs;
    size_t njobs, capjobs;
} batch;

static size_t intern(char ***names, size_t *n, size_t *cap, const char *s, bool *added) {
    /* jobs come grouped, so look at recent entries first */
    for(size_t i = *n; i > 0; i--) {
        if(strcmp((*names)[i - 1], s) == 0) {
            *added = false;
            return i - 1;
        }
    }
    if(*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *names = xrealloc(*names, *cap * sizeof **names);
    }
    (*names)[*n] = xstrdup(s);
    *added = true;
    return (*n)++;
}

static void batch_free(batch *b) {
    for(size_t i = 0; i < b->nexprs; i++) {
        free(b->expr_src[i]);
        free(b->expr_err[i]);
        fhirpath_free(b->exprs[i]);
    }
    for(size_t i = 0; i < b->nfiles; i++) {
        free(b->file_path[i]);
        json_free(b->files[i]);
    }
    free(b->expr_src);
    free(b->exprs);
    free(b->expr_err);
    free(b->file_path);
    free(b->files);
    free(b->jobs);
}

static int run_batch(const char *path, const fhirpath_env *env, long bench) {
    batch b = {0};
    int status = CLI_EXIT_FAILED;
    char err[512];
    size_t len = 0;
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *text = in ? read_all(in, &len) : NULL;
    if(in && in != stdin) fclose(in);
    if(!text) {
        fprintf(stderr, "kith fhirpath: cannot read %s\n", path);
        return CLI_EXIT_FAILED;
    }
    for(char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_value *j = NULL;
        if(json_parse(line, strlen(line), &j, err, sizeof err)) {
            fprintf(stderr, "kith fhirpath: %s: bad job line: %s\n", path, err);
            status = CLI_EXIT_USAGE;
            goto done;
        }
        const char *e = json_string(json_get(j, "expr")), *f = json_string(json_get(j, "file"));
        if(!e || !f) {
            json_free(j);
            fprintf(stderr, "kith fhirpath: %s: a job needs \"expr\" and \"file\"\n", path);
            status = CLI_EXIT_USAGE;
            goto done;
        }
        bool added;
        size_t cap = b.capexprs;
        size_t ei = intern(&b.expr_src, &b.nexprs, &b.capexprs, e, &added);
        if(b.capexprs != cap) {
            b.exprs = xrealloc(b.exprs, b.capexprs * sizeof *b.exprs);
            b.expr_err = xrealloc(b.expr_err, b.capexprs * sizeof *b.expr_err);
        }
        if(added) {
            size_t pos;
            b.exprs[ei] = NULL;
            b.expr_err[ei] = NULL;
            if(fhirpath_parse(e, &b.exprs[ei], &pos, err, sizeof err)) {
                char m[600];
                snprintf(m, sizeof m, "syntax error at %zu: %s", pos, err);
                b.expr_err[ei] = xstrdup(m);
            }
        }
        cap = b.capfiles;
        size_t fi = intern(&b.file_path, &b.nfiles, &b.capfiles, f, &added);
        if(b.capfiles != cap) b.files = xrealloc(b.files, b.capfiles * sizeof *b.files);
        if(added) {
            b.files[fi] = read_json(f, err, sizeof err);
            if(!b.files[fi]) fprintf(stderr, "kith fhirpath: %s: %s\n", f, err);
        }
        json_free(j);
        if(b.njobs == b.capjobs) {
            b.capjobs = b.capjobs ? b.capjobs * 2 : 256;
            b.jobs = xrealloc(b.jobs, b.capjobs * sizeof *b.jobs);
        }
        b.jobs[b.njobs].expr = ei;
        b.jobs[b.njobs].file = fi;
        b.njobs++;
    }
    if(bench > 0) {
        struct timespec t0, t1;
        long evals = 0;
        for(long r = -1; r < bench; r++) { /* round -1 warms the caches, untimed */
            if(r == 0) {
                evals = 0;
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
            }
            for(size_t i = 0; i < b.njobs; i++) {
                const job *jb = &b.jobs[i];
                fhirpath_result *res = NULL;
                if(!b.exprs[jb->expr] || !b.files[jb->file]) continue;
                fhirpath_eval(b.exprs[jb->expr], b.files[jb->file], env, &res, err, sizeof err);
                fhirpath_result_free(res);
                evals++;
            }
        }
        if(bench <= 0) clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(stderr, "kith: %ld evaluations in %.3f s: %.0f evaluations/s\n", evals, secs,
                secs > 0 ? (double)evals / secs : 0.0);
        printf("{\"evaluations\":%ld,\"seconds\":%.6f}\n", evals, secs);
        status = CLI_EXIT_OK;
        goto done;
    }
    buf out = BUF_INIT;
    buf_init(&out, 0);
    for(size_t i = 0; i < b.njobs; i++) {
        const job *jb = &b.jobs[i];
        fhirpath_result *res = NULL;
        buf_reset(&out);
        if(b.expr_err[jb->expr]) {
            buf_puts(&out, "{\"error\":\"");
            buf_json_escape(&out, b.expr_err[jb->expr]);
            buf_puts(&out, "\"}");
        } else if(!b.files[jb->file]) {
            buf_puts(&out, "{\"error\":\"cannot read the resource file\"}");
        } else if(fhirpath_eval(b.exprs[jb->expr], b.files[jb->file], env, &res, err, sizeof err)) {
            buf_puts(&out, "{\"error\":\"");
            buf_json_escape(&out, err);
            buf_puts(&out, "\"}");
        } else {
            buf_puts(&out, "{\"result\":");
            write_result(&out, res, false);
            buf_puts(&out, "}");
        }
        fhirpath_result_free(res);
        fwrite(buf_str(&out), 1, out.len, stdout);
        fputc('\n', stdout);
    }
    buf_free(&out);
    status = CLI_EXIT_OK;
done:
    free(text);
    batch_free(&b);
    return status;
}

/* ---- single evaluation ------------------------------------------------------------------ */

int cli_fhirpath(int argc, char **argv) {
    static const struct option OPTS[] = {{"var", required_argument, NULL, 'v'},
                                         {"strict", no_argument, NULL, 's'},
                                         {"resolve-stubs", no_argument, NULL, 'r'},
                                         {"types", no_argument, NULL, 't'},
                                         {"as-filters", no_argument, NULL, 'a'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"bench", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    fhirpath_var vars[MAX_VARS];
    json_value *var_values[MAX_VARS];
    char *var_names[MAX_VARS];
    size_t nvars = 0;
    fhirpath_env env = {0};
    fhirpath_expr *e = NULL;
    fhirpath_result *res = NULL;
    json_value *resource = NULL;
    const char *batch_path = NULL;
    long bench = 0;
    bool types = false;
    int status = CLI_EXIT_USAGE, ch;
    char err[512];
    buf out = BUF_INIT;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        switch(ch) {
        case 'v': {
            const char *eq = strchr(optarg, '=');
            if(!eq || eq == optarg || nvars == MAX_VARS) {
                fprintf(stderr, "kith fhirpath: --var wants NAME=JSON\n");
                goto done;
            }
            /* parsed inside [ ] so that a bare number ends cleanly; the one element is kept */
            json_value *wrap = NULL, *v = NULL;
            size_t vl = strlen(eq + 1);
            char *text = xmalloc(vl + 3);
            text[0] = '[';
            memcpy(text + 1, eq + 1, vl);
            text[vl + 1] = ']';
            text[vl + 2] = 0;
            kith_rc prc = json_parse(text, vl + 2, &wrap, err, sizeof err);
            free(text);
            if(prc || json_array_len(wrap) != 1) {
                json_free(wrap);
                fprintf(stderr, "kith fhirpath: --var %.*s: not one JSON value%s%s\n", (int)(eq - optarg), optarg,
                        prc ? ": " : "", prc ? err : "");
                goto done;
            }
            v = json_copy(json_array_at(wrap, 0));
            json_free(wrap);
            if(!v) v = json_new_array(); /* null: an empty collection */
            var_names[nvars] = xstrndup(optarg, (size_t)(eq - optarg));
            var_values[nvars] = v;
            vars[nvars].name = var_names[nvars];
            vars[nvars].value = v;
            nvars++;
            break;
        }
        case 's': env.strict = true; break;
        case 'r': env.resolve_stubs = true; break;
        case 't': types = true; break;
        case 'a': env.as_filters = true; break;
        case 'b': batch_path = optarg; break;
        case 'n': bench = strtol(optarg, NULL, 10); break;
        case 'h': fputs(USAGE, stdout); status = CLI_EXIT_OK; goto done;
        default: fputs(USAGE, stderr); goto done;
        }
    }
    env.vars = vars;
    env.nvars = nvars;
    if(batch_path) {
        status = run_batch(batch_path, &env, bench);
        goto done;
    }
    if(optind >= argc || argc - optind > 2) {
        fputs(USAGE, stderr);
        goto done;
    }
    const char *expr = argv[optind];
    const char *file = optind + 1 < argc ? argv[optind + 1] : NULL;
    size_t pos = 0;
    if(fhirpath_parse(expr, &e, &pos, err, sizeof err)) {
        print_caret(expr, pos, err);
        status = CLI_EXIT_USAGE;
        goto done;
    }
    resource = read_json(file && strcmp(file, "-") ? file : NULL, err, sizeof err);
    if(!resource) {
        fprintf(stderr, "kith fhirpath: %s\n", err);
        status = CLI_EXIT_FAILED;
        goto done;
    }
    if(fhirpath_eval(e, resource, &env, &res, err, sizeof err)) {
        fprintf(stderr, "kith fhirpath: evaluation error: %s\n", err);
        status = CLI_EXIT_REJECTED;
        goto done;
    }
    buf_init(&out, 0);
    write_result(&out, res, types);
    fwrite(buf_str(&out), 1, out.len, stdout);
    fputc('\n', stdout);
    status = CLI_EXIT_OK;
done:
    buf_free(&out);
    fhirpath_result_free(res);
    fhirpath_free(e);
    json_free(resource);
    for(size_t i = 0; i < nvars; i++) {
        free(var_names[i]);
        json_free(var_values[i]);
    }
    return status;
}
