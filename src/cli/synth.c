/*
 * synth.c — `kith synth`: generate a synthetic English place (src/synth) and
 * write it to files (--out DIR) or load it into a database (--db PATH), or
 * both. Loading goes through the bulk write path (loader.c) that `kith
 * import` uses: health records as FHIR, then the council's social care
 * extract through the CLD import, so the social care records in the database
 * are exactly what importing the generated CLD file gives. With --identities
 * it writes only three CSV files of names, birth dates and postcodes, and who
 * is who, for testing record linkage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/datetime.h"
#include "cli/cli.h"
#include "cli/loader.h"
#include "store/store.h"
#include "synth/synth.h"

static const char USAGE[] =
    "Usage: kith synth --people N [--seed S] (--db PATH | --out DIR) [OPTIONS]\n"
    "       kith synth --identities N --out DIR [--seed S] [--matched F]\n"
    "\n"
    "Generate a synthetic English place: a local health and social care system and\n"
    "its residents, with their health and their use of services over a period. The\n"
    "same seed always gives the same place. Nobody in it is real: NHS numbers come\n"
    "from the 999 test range, phone numbers from the ranges Ofcom keeps for drama.\n"
    "\n"
    "The place: 3 localities of 4 integrated neighbourhood teams; GP practices (one\n"
    "per 7,000 people, at least 12); an acute trust, a community trust, the council's\n"
    "adult social care and voluntary groups, each with sites, staff (GPs, practice\n"
    "and district nurses, community matrons, physiotherapists, occupational\n"
    "therapists, social workers, care and discharge coordinators, link workers) and\n"
    "the services they run (HealthcareService: what, for whom, how to refer).\n"
    "\n"
    "The people: England's age and sex structure (ONS 2021), ethnicity (Census 2021),\n"
    "deprivation deciles by neighbourhood, British names and addresses, a GP. Their\n"
    "health: the 35 condition deficits of the electronic Frailty Index in SNOMED CT,\n"
    "more common with age and with a latent frailty, medicines (polypharmacy),\n"
    "blood pressure and weight. Their lives, in steps of 30 days: new conditions,\n"
    "GP appointments, A&E attendances, emergency admissions (hazard from age band,\n"
    "eFI, conditions, deprivation and recent admissions), elective admissions,\n"
    "length of stay, discharge pathway 0-3 and the delay once ready to go home,\n"
    "community nursing, deaths in and out of hospital; social care requests,\n"
    "assessments, services (reablement, home care, residential and nursing care)\n"
    "and reviews as an Adult Social Care Client Level Data (CLD) extract, where\n"
    "about 15% of rows lack the NHS number and carry the errors people make\n"
    "(nicknames, typos, swapped day and month, an old address).\n"
    "\n"
    "The integrated care programme: from --programme-start, people aged 65+ in\n"
    "every other neighbourhood with an eFI over 0.24 or an emergency admission in the\n"
    "past year are discussed at an MDT once, and their emergency admission hazard\n"
    "drops by --programme-effect. The ground truth (the hazard model and its\n"
    "coefficients, the programme, who every person and CLD row really is) is written\n"
    "beside the data. docs/synthetic-place.md describes the model in full.\n"
    "\n"
    "Identities only (--identities), to test record linkage: three CSV files and\n"
    "nothing else, no FHIR and no database. people.csv: the GP practices' records of\n"
    "N people (id,given,family,birth_date,sex,postcode; ids pat-1, pat-2, ...).\n"
    "council.csv: N council social care records with the same columns, ids LA...,\n"
    "no NHS numbers, in random order. A share F of them are copies of GP records,\n"
    "chosen at random, written down as the place's council records without an NHS\n"
    "number are (a nickname, a typo in the family name, day and month swapped, the\n"
    "wrong year, an old postcode or none; some copies come out without an error);\n"
    "the rest are people with no GP record there, written down the same way.\n"
    "truth-identities.csv: council_id,patient_id,errors for every council record,\n"
    "patient_id empty when it has no GP record. The people come from the same\n"
    "generator as a place's, and the same seed gives the same files.\n"
    "\n"
    "Options:\n"
    "  --people N              residents at the start (1 to 909090)\n"
    "  --seed S                random seed (default 1)\n"
    "  --db PATH               load into this SQLite database [KITH_DB]; the CLD and\n"
    "                          ground-truth files go to PATH.synth/ unless --out is given\n"
    "  --out DIR               write files: one NDJSON per resource type, cld.csv,\n"
    "                          truth-people.csv, truth-cld.csv, ground-truth.json\n"
    "  --start YYYY-MM-DD      first day of the period (default 2023-04-01)\n"
    "  --years Y               length of the period in years (default 3)\n"
    "  --programme-start DATE  when the programme starts (default a year after --start)\n"
    "  --programme-effect F    relative drop in admission hazard after an MDT (default 0.12)\n"
    "  --identities N          identities only: N GP records and N council records\n"
    "                          (1 to 5000000) into --out DIR; goes with --seed,\n"
    "                          --matched and --quiet, and no other option\n"
    "  --matched F             with --identities: the share of council records that\n"
    "                          are copies of GP records, 0 to 1 (default 0.5)\n"
    "  --quiet                 no progress bar\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status 0 on success, 2 for a bad command line, 3 when a file or the\n"
    "database failed.\n";

#define MAX_TYPES 32

typedef struct synth_out {
    const char *dir;        /* NULL: FHIR is not written to files */
    FILE *type_file[MAX_TYPES];
    char type_name[MAX_TYPES][40];
    int ntypes;
    FILE *csv[SYNTH_ID_TRUTH + 1]; /* by stream: the CSV files (NULL for the others) */
    char *truth_model;      /* the ground-truth JSON, written at the end */
    size_t truth_model_len;
    loader *l;              /* NULL: not loading into a database */
    bool show_progress;
    const char *unit;       /* what the progress bar counts: "people" or "records" */
    uint64_t t0;
    int failed;
} synth_out;

static FILE *open_in(const char *dir, const char *name, int *failed) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if(!f) {
        fprintf(stderr, "kith synth: cannot write %s: %s\n", path, strerror(errno));
        *failed = 1;
    }
    return f;
}

/* The CSV file of each stream, in each mode (NULL: not written). */
static const char *const PLACE_CSV[SYNTH_ID_TRUTH + 1] = {
    [SYNTH_CLD] = "cld.csv", [SYNTH_TRUTH_PEOPLE] = "truth-people.csv", [SYNTH_TRUTH_CLD] = "truth-cld.csv"};
static const char *const IDENTITY_CSV[SYNTH_ID_TRUTH + 1] = {
    [SYNTH_ID_PEOPLE] = "people.csv", [SYNTH_ID_COUNCIL] = "council.csv", [SYNTH_ID_TRUTH] = "truth-identities.csv"};

/* Open the CSV files names[] in dir; o->failed is set when one cannot be. */
static void open_csv(synth_out *o, const char *dir, const char *const names[SYNTH_ID_TRUTH + 1]) {
    for(int s = 0; s <= SYNTH_ID_TRUTH; s++)
        if(names[s]) o->csv[s] = open_in(dir, names[s], &o->failed);
}

/* Close the CSV files; o->failed is set when one could not be written. */
static void close_csv(synth_out *o) {
    for(int s = 0; s <= SYNTH_ID_TRUTH; s++)
        if(o->csv[s] && fclose(o->csv[s])) o->failed = 1;
}

static FILE *type_file(synth_out *o, const char *type) {
    for(int i = 0; i < o->ntypes; i++)
        if(strcmp(o->type_name[i], type) == 0) return o->type_file[i];
    if(o->ntypes == MAX_TYPES) return NULL;
    char name[64];
    snprintf(name, sizeof name, "%s.ndjson", type);
    FILE *f = open_in(o->dir, name, &o->failed);
    snprintf(o->type_name[o->ntypes], sizeof o->type_name[0], "%s", type);
    o->type_file[o->ntypes++] = f;
    return f;
}

static int put_line(FILE *f, const char *text, size_t len) {
    if(!f) return 1;
    return fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF;
}

static int out_write(void *ctx, synth_stream s, const char *type, const char *text, size_t len) {
    synth_out *o = ctx;
    switch(s) {
    case SYNTH_FHIR:
        if(o->dir && put_line(type_file(o, type), text, len)) o->failed = 1;
        if(o->l) {
            loader_add_text(o->l, "kith synth", 0, text, len);
            if(loader_failure(o->l)) o->failed = 1;
        }
        break;
    case SYNTH_TRUTH_MODEL:
        free(o->truth_model);
        o->truth_model = strndup(text, len);
        o->truth_model_len = len;
        break;
    case SYNTH_CLD:
    case SYNTH_TRUTH_PEOPLE:
    case SYNTH_TRUTH_CLD:
    case SYNTH_ID_PEOPLE:
    case SYNTH_ID_COUNCIL:
    case SYNTH_ID_TRUTH:
        if(put_line(o->csv[s], text, len)) o->failed = 1;
        break;
    }
    return o->failed;
}

static void out_progress(void *ctx, long done, long total) {
    synth_out *o = ctx;
    if(!o->show_progress) return;
    double secs = (double)(clock_mono_us() - o->t0) / 1e6;
    double rate = secs > 0 ? (double)done / secs : 0;
    int width = 30, filled = (int)((double)width * (double)done / (double)total);
    char bar[64];
    for(int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r  [%s] %ld/%ld %s  %.0f/s  ETA %.0f s   ", bar, done, total, o->unit, rate,
            rate > 0 ? (double)(total - done) / rate : 0.0);
    if(done == total) fputc('\n', stderr);
}

static bool parse_day(const char *s, int64_t *day) {
    double lo, hi;
    int y, m, d;
    if(strlen(s) != 10 || !datetime_range(s, &lo, &hi) || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3) return false;
    *day = datetime_days_from_civil(y, m, d);
    return true;
}

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "kith synth: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr, "\n\n%s", USAGE);
    return CLI_EXIT_USAGE;
}

static bool make_dir(const char *dir) {
    if(mkdir(dir, 0777) == 0 || errno == EEXIST) return true;
    fprintf(stderr, "kith synth: cannot create %s: %s\n", dir, strerror(errno));
    return false;
}

/* kith synth --identities: the three CSV files into dir. */
static int run_identities(const synth_config *cfg, double matched, const char *dir, bool quiet) {
    char err[512] = "";
    if(synth_identities_check(cfg, matched, err, sizeof err)) {
        fprintf(stderr, "kith synth: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    if(!make_dir(dir)) return CLI_EXIT_FAILED;
    synth_out o = {.show_progress = !quiet && isatty(2), .unit = "records", .t0 = clock_mono_us()};
    open_csv(&o, dir, IDENTITY_CSV);
    if(o.failed) {
        close_csv(&o);
        return CLI_EXIT_FAILED;
    }
    if(!quiet)
        fprintf(stderr, "Generating %ld GP and %ld council records (seed %llu, %g matched) into %s\n", cfg->people,
                cfg->people, (unsigned long long)cfg->seed, matched, dir);
    synth_sink sink = {.ctx = &o, .write = out_write, .progress = out_progress};
    synth_identity_counts n;
    kith_rc rc = synth_identities_run(cfg, matched, &sink, &n, err, sizeof err);
    close_csv(&o);
    if(rc == KITH_EINVAL) {
        fprintf(stderr, "kith synth: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    double secs = (double)(clock_mono_us() - o.t0) / 1e6;
    if(!quiet) {
        printf("Wrote %ld GP records and %ld council records (%ld of them copies of GP records) in %.1f s\n",
               n.people, n.council, n.matched, secs);
        printf("Files in %s: people.csv, council.csv, truth-identities.csv\n", dir);
    }
    return rc || o.failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

int cli_synth(int argc, char **argv) {
    static const struct option opts[] = {
        {"people", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"db", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"start", required_argument, NULL, 'S'},
        {"years", required_argument, NULL, 'y'},
        {"programme-start", required_argument, NULL, 'P'},
        {"programme-effect", required_argument, NULL, 'E'},
        {"identities", required_argument, NULL, 'I'},
        {"matched", required_argument, NULL, 'M'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    synth_config cfg;
    synth_config_default(&cfg);
    const char *db = NULL, *dir = NULL;
    bool quiet = false, people_given = false, programme_given = false, identities_given = false, matched_given = false;
    const char *place_option = NULL; /* the last option that makes a place, not identities */
    double matched = 0.5;
    int ch;
    char *end;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'n':
            cfg.people = strtol(optarg, &end, 10);
            if(*end || end == optarg) return usage_error("--people wants a whole number, not '%s'", optarg);
            people_given = true;
            place_option = "--people";
            break;
        case 's':
            cfg.seed = strtoull(optarg, &end, 10);
            if(*end || end == optarg) return usage_error("--seed wants a whole number, not '%s'", optarg);
            break;
        case 'd':
            db = optarg;
            place_option = "--db";
            break;
        case 'o': dir = optarg; break;
        case 'S':
            if(!parse_day(optarg, &cfg.start_day)) return usage_error("--start wants a date YYYY-MM-DD, not '%s'", optarg);
            place_option = "--start";
            break;
        case 'y':
            cfg.years = (int)strtol(optarg, &end, 10);
            if(*end || end == optarg) return usage_error("--years wants a whole number, not '%s'", optarg);
            place_option = "--years";
            break;
        case 'P':
            if(!parse_day(optarg, &cfg.programme_day))
                return usage_error("--programme-start wants a date YYYY-MM-DD, not '%s'", optarg);
            programme_given = true;
            place_option = "--programme-start";
            break;
        case 'E':
            cfg.programme_effect = strtod(optarg, &end);
            if(*end || end == optarg) return usage_error("--programme-effect wants a number such as 0.12, not '%s'", optarg);
            place_option = "--programme-effect";
            break;
        case 'I':
            cfg.people = strtol(optarg, &end, 10);
            if(*end || end == optarg) return usage_error("--identities wants a whole number, not '%s'", optarg);
            identities_given = true;
            break;
        case 'M':
            matched = strtod(optarg, &end);
            if(*end || end == optarg) return usage_error("--matched wants a share such as 0.5, not '%s'", optarg);
            matched_given = true;
            break;
        case 'q': quiet = true; break;
        case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
        default: fputs(USAGE, stderr); return CLI_EXIT_USAGE;
        }
    }
    if(optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if(identities_given && people_given) return usage_error("--identities and --people make different things: say one%s", "");
    if(identities_given) {
        if(place_option) return usage_error("%s makes no sense with --identities, which writes identities only", place_option);
        if(!dir) return usage_error("say where the files go: --out DIR%s", "");
        return run_identities(&cfg, matched, dir, quiet);
    }
    if(matched_given) return usage_error("--matched goes with --identities%s", "");
    if(!people_given) return usage_error("say how many people with --people N%s", "");
    if(!db && !dir) db = getenv("KITH_DB") && *getenv("KITH_DB") ? getenv("KITH_DB") : NULL;
    if(!db && !dir) return usage_error("say where the place goes: --db PATH, --out DIR, or both%s", "");
    if(!programme_given) {
        int y, m, d;
        datetime_civil_from_days(cfg.start_day, &y, &m, &d);
        cfg.programme_day = datetime_days_from_civil(y + 1, m, d);
    }

    char err[512] = "";
    if(synth_config_check(&cfg, err, sizeof err)) {
        fprintf(stderr, "kith synth: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    synth_out o = {.dir = dir, .show_progress = !quiet && isatty(2), .unit = "people", .t0 = clock_mono_us()};
    char files_dir[4096];
    if(dir) snprintf(files_dir, sizeof files_dir, "%s", dir);
    else snprintf(files_dir, sizeof files_dir, "%s.synth", db);
    if(!make_dir(files_dir)) return CLI_EXIT_FAILED;
    open_csv(&o, files_dir, PLACE_CSV);
    if(o.failed) return CLI_EXIT_FAILED;

    store *st = NULL;
    store_conn *c = NULL;
    if(db) {
        char err[512];
        store_options so = {.durable_full = false, .cache_mb = 256};
        if(store_open(db, &so, &st, err, sizeof err)) {
            fprintf(stderr, "kith synth: %s\n", err);
            return CLI_EXIT_FAILED;
        }
        c = store_conn_for_thread(st);
        loader_opts lo = {.quiet = false, .progress = false, .skip_unchanged = true};
        o.l = loader_new(st, &lo);
    }
    if(!quiet)
        fprintf(stderr, "Generating %ld people (seed %llu) into %s%s%s\n", cfg.people, (unsigned long long)cfg.seed,
                db ? db : "", db && dir ? " and " : "", dir ? dir : "");
    synth_sink sink = {.ctx = &o, .write = out_write, .progress = out_progress};
    synth_rates rates;
    kith_rc rc = synth_run(&cfg, &sink, &rates, err, sizeof err);
    if(rc == KITH_EINVAL) {
        fprintf(stderr, "kith synth: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    for(int i = 0; i < o.ntypes; i++)
        if(o.type_file[i] && fclose(o.type_file[i])) o.failed = 1;
    close_csv(&o);
    if(o.truth_model) {
        FILE *f = open_in(files_dir, "ground-truth.json", &o.failed);
        if(put_line(f, o.truth_model, o.truth_model_len)) o.failed = 1;
        if(f && fclose(f)) o.failed = 1;
    }
    int code = rc || o.failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    if(o.l) {
        /* the health records first, so that CLD rows find people by NHS number */
        if(!code && loader_finish(o.l)) code = CLI_EXIT_FAILED;
        if(!code) {
            char cld[4200];
            snprintf(cld, sizeof cld, "%s/cld.csv", files_dir);
            if(cli_import_cld(o.l, c, cld)) code = CLI_EXIT_FAILED;
            if(loader_finish(o.l)) code = CLI_EXIT_FAILED;
        }
        if(loader_rejected(o.l)) {
            fprintf(stderr, "kith synth: %ld generated resources were rejected (a bug in the generator)\n",
                    loader_rejected(o.l));
            code = CLI_EXIT_FAILED;
        }
    }
    double secs = (double)(clock_mono_us() - o.t0) / 1e6;
    if(!quiet) {
        printf("Generated %ld people, %ld resources and %ld CLD rows in %.1f s (%.0f people/s)\n", cfg.people,
               rates.resources, rates.cld_rows, secs, secs > 0 ? (double)cfg.people / secs : 0.0);
        if(o.l) printf("Loaded %ld resources into %s (%ld unchanged)\n", loader_loaded(o.l), db, loader_unchanged(o.l));
        printf("Files in %s; the model and its rates in %s/ground-truth.json\n", files_dir, files_dir);
    }
    free(o.truth_model);
    loader_free(o.l);
    if(st) store_close(st);
    return code;
}
