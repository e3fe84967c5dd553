/*
 * evaluate.c — `kith evaluate`: did a service change what happened to the
 * people it reached? Reads the records that matter once (src/pop extract),
 * runs the matched difference-in-differences study (src/eval/study.c) and
 * says what it found in plain English, with the figures as JSON, CSV, an
 * event-study chart and an HTML page when asked.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "cli/cli.h"
#include "eval/study_report.h"
#include "pop/frailty.h"

static const char USAGE[] =
    "Usage: kith evaluate [--db PATH | --ndjson DIR] [--service mdt] [OPTIONS]\n"
    "\n"
    "Estimate what a service changed for the people it reached: emergency\n"
    "admissions and emergency bed days in the 12 months after a person was first\n"
    "reached, against a matched comparison group, by difference-in-differences.\n"
    "\n"
    "The service (--service):\n"
    "  mdt   first discussion at a neighbourhood multidisciplinary team meeting\n"
    "        (an Encounter of type\n"
    "        https://kith.example.org/fhir/CodeSystem/encounter-type|mdt-discussion)\n"
    "\n"
    "Method (docs/evaluation.md):\n"
    "  - People reached, with the whole window of records before and after their\n"
    "    first contact (the index date), are the treated.\n"
    "  - Possible comparators: for each month with someone reached, people never\n"
    "    reached, alive and at least --min-age on that month's index date (at most\n"
    "    20 per person reached, sampled with --seed).\n"
    "  - Exact matching on cells of frailty category, emergency admissions in the\n"
    "    year before (none, one, two or more, by when the last began) and being in\n"
    "    hospital, in the same month; within a cell the nearest propensity score (age,\n"
    "    sex, deprivation, eFI, long-term conditions, emergency admissions, bed days\n"
    "    and A&E attendances in the year before, a recent discharge, years since the\n"
    "    last admission, in hospital, social care) within --caliper SDs of the logit;\n"
    "    1:1, each comparator used once.\n"
    "  - Balance (standardised mean differences), the difference-in-differences of\n"
    "    each outcome with a bootstrap 95% interval over matched pairs, and an event\n"
    "    study by --periods parts of the window to check trends before.\n"
    "People with the national data opt-out are left out (database). Fewer than 8\n"
    "matched pairs: only counts are reported.\n"
    "\n"
    "Options:\n"
    "  --db PATH          the SQLite database [KITH_DB] (default kith.db)\n"
    "  --ndjson DIR       read the NDJSON files in DIR instead (as `kith synth --out`\n"
    "                     and `kith export` write them)\n"
    "  --service NAME     the service to evaluate (default mdt)\n"
    "  --from DATE        the records cover days from DATE (YYYY-MM-DD); default the\n"
    "                     first admission or attendance in them\n"
    "  --to DATE          ... up to and including DATE; default the last one\n"
    "  --window DAYS      days before the index date, and after it (default 365)\n"
    "  --after DAYS       days after the index date, when not the same (e.g. 730 to\n"
    "                     follow people for two years); outcomes after are scaled to\n"
    "                     the length of --window\n"
    "  --periods N        event-study periods in each window (default 4)\n"
    "  --min-age YEARS    comparators' least age (default the youngest person reached)\n"
    "  --caliper SD       matching caliper in SDs of the logit (default 0.2)\n"
    "  --with-replacement let a comparator serve more than one person (better matches\n"
    "                     when comparators are scarce; pairs then share people, and the\n"
    "                     bootstrap over pairs understates the uncertainty)\n"
    "  --bootstrap B      bootstrap resamples (default 1000, at most 100000)\n"
    "  --seed S           seed of the sampling and the bootstrap (default 1)\n"
    "  --out DIR          also write DIR/evaluation.html (summary, tables, chart),\n"
    "                     summary.txt, effects.csv, balance.csv, event-study.csv and\n"
    "                     event-study.svg\n"
    "  --json             print the figures as one JSON object instead of the summary\n"
    "  --quiet            no progress line\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status 0 on success, 1 when there is nobody to evaluate or match, 2 for a\n"
    "bad command line, 3 when the database or a file failed.\n";

static int usage_error(const char *msg, const char *arg) {
    return cli_usage_error("evaluate", USAGE, msg, arg);
}

static bool int_arg(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if(errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Write b to dir/name; prints why not. */
static int write_file(const char *dir, const char *name, const buf *b) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if(!f || (b->len && fwrite(b->data, 1, b->len, f) != b->len) || fclose(f)) {
        fprintf(stderr, "kith evaluate: cannot write %s: %s\n", path, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

typedef void (*study_writer)(buf *b, const study_result *r);

static int write_outputs(const char *dir, const study_result *r, const study_labels *l) {
    if(mkdir(dir, 0777) && errno != EEXIST) {
        fprintf(stderr, "kith evaluate: cannot make %s: %s\n", dir, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    static const struct {
        const char *name;
        study_writer fn;
    } files[] = {{"effects.csv", study_effects_csv},
                 {"balance.csv", study_balance_csv},
                 {"event-study.csv", study_events_csv},
                 {"event-study.svg", study_events_svg}};
    int code = CLI_EXIT_OK;
    buf b;
    buf_init(&b, 0);
    for(size_t i = 0; i < sizeof files / sizeof *files && !code; i++) {
        buf_reset(&b);
        files[i].fn(&b, r);
        code = write_file(dir, files[i].name, &b);
    }
    if(!code) {
        buf_reset(&b);
        study_summary(&b, r, l);
        code = write_file(dir, "summary.txt", &b);
    }
    if(!code) {
        buf_reset(&b);
        study_html(&b, r, l);
        code = write_file(dir, "evaluation.html", &b);
    }
    buf_free(&b);
    return code;
}

int cli_evaluate(int argc, char **argv) {
    enum { O_DB = 1, O_NDJSON, O_SERVICE, O_FROM, O_TO, O_WINDOW, O_PERIODS, O_MIN_AGE, O_CALIPER, O_BOOT, O_SEED,
           O_OUT, O_JSON, O_QUIET, O_REPLACE, O_AFTER };
    static const struct option opts[] = {
        {"db", required_argument, 0, O_DB},          {"ndjson", required_argument, 0, O_NDJSON},
        {"service", required_argument, 0, O_SERVICE}, {"from", required_argument, 0, O_FROM},
        {"to", required_argument, 0, O_TO},          {"window", required_argument, 0, O_WINDOW},
        {"periods", required_argument, 0, O_PERIODS}, {"min-age", required_argument, 0, O_MIN_AGE},
        {"caliper", required_argument, 0, O_CALIPER}, {"bootstrap", required_argument, 0, O_BOOT},
        {"seed", required_argument, 0, O_SEED},      {"out", required_argument, 0, O_OUT},
        {"json", no_argument, 0, O_JSON}, {"after", required_argument, 0, O_AFTER}, {"with-replacement", no_argument, 0, O_REPLACE},            {"quiet", no_argument, 0, O_QUIET},
        {"help", no_argument, 0, 'h'},               {0, 0, 0, 0}};
    const char *db = NULL, *ndjson = NULL, *service = "mdt", *out_dir = NULL;
    bool as_json = false, quiet = false;
    study_opts so = {.intervention = POP_MDT_DISCUSSION, .start = POP_NEVER, .end = POP_NEVER, .min_age = -1,
                     .boot = {.b = EVAL_BOOT_DEFAULT, .seed = 1}};
    long v;
    int c;
    optind = 1;
    while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(c) {
        case O_DB: db = optarg; break;
        case O_NDJSON: ndjson = optarg; break;
        case O_SERVICE: service = optarg; break;
        case O_FROM:
            if(strlen(optarg) != 10 || !pop_day(optarg, &so.start))
                return usage_error("--from must be a date YYYY-MM-DD: %s", optarg);
            break;
        case O_TO:
            if(strlen(optarg) != 10 || !pop_day(optarg, &so.end))
                return usage_error("--to must be a date YYYY-MM-DD: %s", optarg);
            so.end++;
            break;
        case O_WINDOW:
            if(!int_arg(optarg, 28, 3660, &v)) return usage_error("--window must be 28 to 3660 days: %s", optarg);
            so.window = (int)v;
            break;
        case O_AFTER:
            if(!int_arg(optarg, 28, 3660, &v)) return usage_error("--after must be 28 to 3660 days: %s", optarg);
            so.after = (int)v;
            break;
        case O_PERIODS:
            if(!int_arg(optarg, 1, EVAL_MAX_PERIODS, &v)) return usage_error("--periods must be 1 to 120: %s", optarg);
            so.periods = (int)v;
            break;
        case O_MIN_AGE:
            if(!int_arg(optarg, 0, 130, &v)) return usage_error("--min-age must be 0 to 130 years: %s", optarg);
            so.min_age = (int)v;
            break;
        case O_CALIPER: {
            char *end;
            so.caliper_sd = strtod(optarg, &end);
            if(end == optarg || *end || !(so.caliper_sd > 0 && so.caliper_sd <= 10))
                return usage_error("--caliper must be a number of SDs over 0, at most 10: %s", optarg);
            break;
        }
        case O_BOOT:
            if(!int_arg(optarg, 10, EVAL_BOOT_MAX, &v)) return usage_error("--bootstrap must be 10 to 100000: %s", optarg);
            so.boot.b = (int)v;
            break;
        case O_SEED:
            if(!int_arg(optarg, 0, 0x7fffffffL, &v)) return usage_error("--seed must be a whole number: %s", optarg);
            so.boot.seed = (uint64_t)v;
            break;
        case O_OUT: out_dir = optarg; break;
        case O_JSON: as_json = true; break;
        case O_REPLACE: so.replace = true; break;
        case O_QUIET: quiet = true; break;
        case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
        default: fprintf(stderr, "\n%s", USAGE); return CLI_EXIT_USAGE;
        }
    }
    if(optind < argc) return usage_error("unexpected argument: %s", argv[optind]);
    if(db && ndjson) return usage_error("give --db or --ndjson, not both%s", "");
    if(strcmp(service, "mdt") != 0) return usage_error("unknown service (known: mdt): %s", service);
    if(so.start != POP_NEVER && so.end != POP_NEVER && so.end <= so.start)
        return usage_error("--to must not be before --from%s", "");
    study_labels labels = {.service = "first discussion at a neighbourhood MDT", .reached = "discussed at an MDT"};

    pop_extract *x = pop_extract_new(frailty_default_codes(), NULL, POP_WANT_EFI | POP_WANT_EVENTS);
    cli_session s = {0};
    uint64_t t0 = clock_mono_us();
    int code = cli_read_population(db, ndjson, x, &s, "evaluate", !quiet && !as_json && isatty(2));
    double t_read = (double)(clock_mono_us() - t0) / 1e6;
    study_result r;
    memset(&r, 0, sizeof r);
    if(!code) {
        char err[256];
        uint64_t t1 = clock_mono_us();
        kith_rc rc = study_run(x, &so, &r, err, sizeof err);
        if(rc) {
            fprintf(stderr, "kith evaluate: %s\n", err);
            code = CLI_EXIT_REJECTED;
        } else {
            buf b;
            buf_init(&b, 0);
            if(as_json) study_json(&b, &r);
            else study_summary(&b, &r, &labels);
            fwrite(b.data, 1, b.len, stdout);
            buf_free(&b);
            if(!as_json && !quiet)
                printf("\nTime: read %.2f s, study %.2f s (%zu rows, %d bootstrap resamples)\n", t_read,
                       (double)(clock_mono_us() - t1) / 1e6, r.nrows, so.boot.b);
            if(out_dir) code = write_outputs(out_dir, &r, &labels);
            if(!code && r.match.n_matched < STUDY_MIN_PAIRS) code = CLI_EXIT_REJECTED;
        }
        if(s.c && !code) cli_audit_operator(s.c, "evaluate", 'E', "evaluation", labels.service);
    }
    study_free(&r);
    pop_extract_free(x);
    if(s.st) store_close(s.st);
    return code;
}
