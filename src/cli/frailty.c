/*
 * frailty.c — `kith frailty`: the electronic Frailty Index of everyone aged
 * 65 and over (or everyone), stored as one RiskAssessment each.
 *
 * Reads the records that matter in one streaming pass over the store (or
 * over NDJSON files, which is how the benchmark scores a million people
 * without a database), scores every person on the day, and writes the
 * assessments that changed in transactions of a thousand. With --codes it
 * scores with the published code sets in DIR and also with Kith's own list,
 * and says on how many people the two agree. The work is src/pop/; this file
 * is options, timing and the report. Single-threaded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/datetime.h"
#include "cli/cli.h"
#include "pop/frailty.h"

static const char USAGE[] =
    "Usage: kith frailty [--db PATH] [OPTIONS]\n"
    "       kith frailty --ndjson DIR [OPTIONS]\n"
    "\n"
    "Score the electronic Frailty Index (eFI; Clegg et al., Age and Ageing 2016) of\n"
    "every person aged 65 and over: the share of 36 deficits present in their\n"
    "record, from SNOMED CT coded Conditions (active, not refuted or entered in\n"
    "error), Observations and Procedures, plus polypharmacy (5 or more different\n"
    "drugs prescribed on the day, from MedicationRequests). Categories: fit (eFI up\n"
    "to 0.12), mild (to 0.24), moderate (to 0.36), severe (above 0.36).\n"
    "\n"
    "Each person's result is stored as RiskAssessment/efi-<Patient id> (method\n"
    "https://kith.example.org/fhir/CodeSystem/risk-method|efi); one that would not\n"
    "change is left as it is. Search them with, for example,\n"
    "  GET /fhir/RiskAssessment?method=https://kith.example.org/fhir/CodeSystem/risk-method|efi&risk=severe\n"
    "The API rescores a person whenever one of their Conditions, Observations,\n"
    "Procedures, MedicationRequests or their Patient is written; `kith import`\n"
    "does not, so run `kith frailty` after a bulk load.\n"
    "\n"
    "Options:\n"
    "  --db PATH        the SQLite database [KITH_DB] (default kith.db)\n"
    "  --ndjson DIR     score the NDJSON files in DIR (Patient.ndjson,\n"
    "                   Condition.ndjson, ... as `kith export` or `kith synth --out`\n"
    "                   write them) instead of a database; writes nothing\n"
    "  --all-ages       score everyone, not only people aged 65 and over\n"
    "  --as-of DATE     score the records as they stood on DATE (YYYY-MM-DD): only\n"
    "                   what had begun by then counts, and the assessment's date\n"
    "                   is DATE (default: today, dated now)\n"
    "  --codes DIR      use the published code sets in DIR, one file per deficit\n"
    "                   (efi-<deficit>.snomed.tsv, lines code<TAB>description)\n"
    "                   [KITH_EFI_CODES] instead of Kith's own list, and report on\n"
    "                   how many people the two lists give the same score; a bad\n"
    "                   line is reported as file:line and nothing is scored\n"
    "  --dry-run        score and report, write nothing\n"
    "  --csv FILE       also write each person scored to FILE as CSV:\n"
    "                   patient_id,efi,deficits,category,deficit_list\n"
    "  --json           print the report as one JSON object\n"
    "  --quiet          no progress line\n"
    "  -h, --help       show this help\n"
    "\n"
    "The report gives the people scored in each category, why others were not\n"
    "(under 65, no birth date, died, a council's record only), the assessments\n"
    "written and left unchanged, and the time to read, score and write.\n"
    "docs/population-health.md explains the rule, the code lists and the figures.\n"
    "\n"
    "Exit status 0 on success, 1 when a code list has bad lines or an assessment\n"
    "was refused, 2 for a bad command line, 3 when the database or a file failed.\n";

static int usage_error(const char *msg, const char *arg) {
    return cli_usage_error("frailty", USAGE, msg, arg);
}

typedef struct progress {
    bool show;
    const char *what;
} progress;

static void show_progress(void *ctx, long done, long total) {
    progress *p = ctx;
    if(!p->show) return;
    if(total > 0) fprintf(stderr, "\r%s %ld of %ld (%.0f%%)   ", p->what, done, total, 100.0 * done / total);
    else fprintf(stderr, "\r%s %ld   ", p->what, done);
    if(done >= total && total > 0) fputc('\n', stderr);
}

/* Each person scored, one CSV line. Returns non-zero (reported) on failure. */
static int write_csv(const char *file, const pop_extract *x, const frailty_opts *o) {
    FILE *f = fopen(file, "w");
    if(!f) {
        fprintf(stderr, "kith frailty: cannot write %s: %s\n", file, strerror(errno));
        return 1;
    }
    fputs("patient_id,efi,deficits,category,deficit_list\n", f);
    for(size_t i = 0; i < x->npeople; i++) {
        const pop_person *p = &x->people[i];
        if(!p->seen || frailty_eligible(p, o->day, o->all_ages) != FRAILTY_SCORED) continue;
        frailty_result r;
        frailty_score(x, p, o->day, false, &r);
        char score[16];
        efi_score_text(r.deficits, score);
        fprintf(f, "%s,%s,%d,%s,", pop_text(x, p->id), score, r.deficits, efi_category_code(r.category));
        for(int d = 0, first = 1; d < EFI_DEFICITS; d++)
            if(r.mask & (1ull << d)) {
                fprintf(f, "%s%s", first ? "" : ";", efi_deficit_key[d]);
                first = 0;
            }
        fputc('\n', f);
    }
    if(fclose(f)) {
        fprintf(stderr, "kith frailty: cannot write %s: %s\n", file, strerror(errno));
        return 1;
    }
    return 0;
}

static double seconds_since(uint64_t t0) {
    return (double)(clock_mono_us() - t0) / 1e6;
}

static void report(const frailty_counts *n, const frailty_opts *o, const pop_extract *x, const char *list,
                   size_t list_size, const char *compared_with, double t_read, double t_score, double t_write,
                   bool as_json) {
    static const char *const WHY[FRAILTY_ELIGIBILITIES] = {"scored", "under 65", "no birth date", "died",
                                                           "a council's record only"};
    char day[11];
    datetime_format_day(o->day, day);
    long scored = n->why[FRAILTY_SCORED];
    double rate = t_score > 0 ? scored / t_score : 0;
    if(as_json) {
        printf("{\"day\":\"%s\",\"codeList\":\"%s\",\"concepts\":%zu,\"resourcesRead\":%ld,\"people\":%ld,"
               "\"scored\":%ld,\"underAge\":%ld,\"noBirthDate\":%ld,\"died\":%ld,\"councilRecordOnly\":%ld,"
               "\"categories\":{\"fit\":%ld,\"mild\":%ld,\"moderate\":%ld,\"severe\":%ld},\"meanEfi\":%.4f,",
               day, list, list_size, x->read, n->people, scored, n->why[FRAILTY_TOO_YOUNG], n->why[FRAILTY_NO_BIRTH],
               n->why[FRAILTY_DEAD], n->why[FRAILTY_SOCIAL_ONLY], n->category[0], n->category[1], n->category[2],
               n->category[3], scored ? (double)n->deficits_total / scored / EFI_DEFICITS : 0.0);
        if(o->compare)
            printf("\"comparedWith\":\"Kith's own list\",\"sameScore\":%ld,\"sameCategory\":%ld,", n->same_score,
                   n->same_category);
        printf("\"written\":%ld,\"unchanged\":%ld,\"failed\":%ld,\"dryRun\":%s,\"seconds\":{\"read\":%.3f,"
               "\"score\":%.3f,\"write\":%.3f},\"peoplePerSecond\":%.0f}\n",
               n->written, n->unchanged, n->failed, o->dry_run ? "true" : "false", t_read, t_score, t_write, rate);
        return;
    }
    printf("eFI on %s with %s (%zu concepts): %ld resources read\n", day, list, list_size, x->read);
    printf("%ld people, %ld scored", n->people, scored);
    bool first = true;
    for(int w = 1; w < FRAILTY_ELIGIBILITIES; w++) {
        if(!n->why[w]) continue;
        printf("%s%ld %s", first ? " (not scored: " : ", ", n->why[w], WHY[w]);
        first = false;
    }
    printf("%s\n", first ? "" : ")");
    for(int k = 0; k < 4; k++)
        printf("  %-9s %9ld  %5.1f%%\n", efi_category_code((efi_category)k), n->category[k],
               scored ? 100.0 * n->category[k] / scored : 0.0);
    printf("  mean eFI %.4f\n", scored ? (double)n->deficits_total / scored / EFI_DEFICITS : 0.0);
    if(o->compare)
        printf("Compared with %s: the same score for %ld of %ld people scored (%.2f%%), the same category for %ld "
               "(%.2f%%)\n",
               compared_with, n->same_score, scored, scored ? 100.0 * n->same_score / scored : 0.0, n->same_category,
               scored ? 100.0 * n->same_category / scored : 0.0);
    if(o->dry_run)
        printf("Dry run: nothing written\n");
    else
        printf("RiskAssessments: %ld written, %ld unchanged, %ld refused\n", n->written, n->unchanged, n->failed);
    printf("Time: read %.2f s, score %.3f s (%.0f people/s), write %.2f s\n", t_read, t_score, rate, t_write);
}

int cli_frailty(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},    {"ndjson", required_argument, NULL, 'n'},
        {"all-ages", no_argument, NULL, 'a'},    {"as-of", required_argument, NULL, 't'},
        {"codes", required_argument, NULL, 'c'}, {"dry-run", no_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},        {"quiet", no_argument, NULL, 'q'},
        {"csv", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *ndjson = NULL, *as_of = NULL, *codes_dir = NULL, *csv = NULL;
    bool all_ages = false, dry_run = false, as_json = false, quiet = false;
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'd': db = optarg; break;
        case 'n': ndjson = optarg; break;
        case 'a': all_ages = true; break;
        case 't': as_of = optarg; break;
        case 'c': codes_dir = optarg; break;
        case 'r': dry_run = true; break;
        case 'j': as_json = true; break;
        case 'q': quiet = true; break;
        case 'v': csv = optarg; break;
        case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
        default: return usage_error("%s", "unknown option");
        }
    }
    if(optind < argc) return usage_error("unexpected argument %s", argv[optind]);
    if(ndjson && db) return usage_error("%s", "--ndjson and --db do not go together");
    frailty_opts o = {.all_ages = all_ages, .dry_run = dry_run || ndjson, .day = frailty_today()};
    char when[CLOCK_INSTANT_LEN];
    clock_instant_now(when);
    if(as_of) {
        if(strlen(as_of) != 10 || !pop_day(as_of, &o.day)) return usage_error("--as-of must be a date YYYY-MM-DD: %s", as_of);
        snprintf(when, sizeof when, "%s", as_of);
    }
    o.when = when;
    codes_dir = cli_setting(codes_dir, "KITH_EFI_CODES", NULL);

    efi_codes *builtin = efi_codes_builtin(), *published = NULL;
    if(codes_dir) {
        buf errors = BUF_INIT;
        long nbad = 0;
        kith_rc rc = efi_codes_load_dir(codes_dir, &published, &errors, &nbad);
        if(rc) {
            fputs(buf_str(&errors), stderr);
            fprintf(stderr, "kith frailty: %ld problem%s in the code sets in %s: nothing scored\n", nbad,
                    nbad == 1 ? "" : "s", codes_dir);
            buf_free(&errors);
            efi_codes_free(builtin);
            return CLI_EXIT_REJECTED;
        }
        buf_free(&errors);
        o.compare = true;
    }
    const efi_codes *use = published ? published : builtin;
    char list[4200];
    if(published) snprintf(list, sizeof list, "the code sets in %s", codes_dir);
    else snprintf(list, sizeof list, "Kith's own code list");

    progress pr = {.show = !quiet && !as_json && isatty(2), .what = "read"};
    pop_extract *x = pop_extract_new(use, published ? builtin : NULL, POP_WANT_EFI | POP_WANT_ASSESSED);
    cli_session s = {0};
    int code = CLI_EXIT_OK;
    uint64_t t0 = clock_mono_us();
    if(ndjson) {
        char err[4200];
        if(pop_extract_from_ndjson(ndjson, x, show_progress, &pr, err, sizeof err)) {
            fprintf(stderr, "kith frailty: %s\n", err);
            code = CLI_EXIT_FAILED;
        }
    } else {
        code = cli_open_db(db, &s, "frailty");
        if(!code && pop_extract_from_store(s.c, x, NULL, show_progress, &pr)) {
            fprintf(stderr, "kith frailty: cannot read the database\n");
            code = CLI_EXIT_FAILED;
        }
    }
    pop_extract_finish(x);
    double t_read = seconds_since(t0), t_score = 0, t_write = 0;
    frailty_counts n = {0};
    if(!code) {
        /* scoring alone (timed), then scoring and writing */
        frailty_opts dry = o;
        dry.dry_run = true;
        uint64_t t1 = clock_mono_us();
        frailty_run(NULL, x, &dry, &n, NULL, NULL);
        t_score = seconds_since(t1);
        if(!o.dry_run) {
            uint64_t t2 = clock_mono_us();
            pr.what = "write";
            kith_rc rc = frailty_run(s.c, x, &o, &n, show_progress, &pr);
            t_write = seconds_since(t2);
            if(rc) {
                fprintf(stderr, "kith frailty: the database failed while writing (%s); %ld assessments were stored "
                                "before it did\n", kith_rc_name(rc), n.written);
                code = CLI_EXIT_FAILED;
            }
            char detail[256];
            snprintf(detail, sizeof detail, "eFI: %ld people scored, %ld RiskAssessments written, %ld unchanged",
                     n.why[FRAILTY_SCORED], n.written, n.unchanged);
            cli_audit_operator(s.c, "frailty", 'U', "RiskAssessment", detail);
        }
        if(csv && write_csv(csv, x, &o)) code = CLI_EXIT_FAILED;
        report(&n, &o, x, list, efi_codes_size(use), "Kith's own code list", t_read, t_score, t_write, as_json);
        if(!code && n.failed) code = CLI_EXIT_REJECTED;
    }
    pop_extract_free(x);
    efi_codes_free(builtin);
    efi_codes_free(published);
    if(s.st) store_close(s.st);
    return code;
}
