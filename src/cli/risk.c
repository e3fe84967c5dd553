/*
 * risk.c — `kith risk fit` and `kith risk score`: the emergency admission
 * risk model (src/pop/risk.c).
 *
 * fit reads the records that matter in one pass (the database, seen as a
 * planning system sees it: people with the national data opt-out left out;
 * or NDJSON files), fits the model as of an index day, judges it on the
 * held-out people, compares it with a synthetic place's ground truth when
 * given one, and stores it as Library/ear-model. score reads the model and
 * the records and stores each person's prediction as a RiskAssessment,
 * leaving unchanged ones alone. Single-threaded apart from the fit.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/datetime.h"
#include "cli/cli.h"
#include "pop/frailty.h"
#include "pop/risk.h"

static const char USAGE[] =
    "Usage: kith risk fit [--db PATH | --ndjson DIR] [OPTIONS]\n"
    "       kith risk score [--db PATH] [OPTIONS]\n"
    "\n"
    "The risk of an emergency admission to hospital in the next 12 months.\n"
    "\n"
    "fit    fits a logistic model of an emergency admission in the 12 months after\n"
    "       an index day from what each person's record said on that day: age band,\n"
    "       sex, deprivation decile, the electronic Frailty Index, long-term\n"
    "       conditions, emergency admissions and A&E attendances in the year before,\n"
    "       a discharge from an emergency stay in the 30 days before, a council-funded\n"
    "       social care service, and an MDT discussion. The fit is IRLS with a small\n"
    "       L2 penalty on 70% of people (a fixed split by a hash of the Patient id);\n"
    "       the other 30% judge it: AUC, Brier score and a calibration table by\n"
    "       decile of predicted risk. Coefficients are printed with standard errors\n"
    "       and 95% intervals. People with the national data opt-out are left out.\n"
    "       The model is stored as Library/ear-model.\n"
    "score  stores each living person's predicted risk as\n"
    "       RiskAssessment/ear-<Patient id> (method\n"
    "       https://kith.example.org/fhir/CodeSystem/risk-method|emergency-admission-12m,\n"
    "       prediction probabilityDecimal and qualitativeRisk low (below 10%),\n"
    "       moderate (10-20%), high (20-40%) or very-high (40% and over), basis the\n"
    "       model); one that would not change is left as it is.\n"
    "\n"
    "Options:\n"
    "  --db PATH        the SQLite database [KITH_DB] (default kith.db)\n"
    "  --ndjson DIR     fit: read the NDJSON files in DIR instead of a database\n"
    "                   (nothing is stored)\n"
    "  --as-of DATE     fit: the index day (YYYY-MM-DD); default 364 days before the\n"
    "                   last admission or attendance in the records, so that the 12\n"
    "                   months after it are all in the records\n"
    "                   score: the day scored (default today)\n"
    "  --truth FILE     fit: a synthetic place's ground-truth.json; also fit the\n"
    "                   generator's own form of model (30-day steps, complementary\n"
    "                   log-log) and compare its coefficients and the generating\n"
    "                   model's AUC with the fitted ones\n"
    "  --lambda L       fit: the L2 penalty on standardised coefficients (default 0.1)\n"
    "  --dry-run        fit or score and report, store nothing\n"
    "  --json           print the report as one JSON object\n"
    "  --quiet          no progress line\n"
    "  -h, --help       show this help\n"
    "\n"
    "docs/population-health.md explains the features, the fitting and the figures.\n"
    "Exit status 0 on success, 1 when there is no model to score with or nobody to\n"
    "fit on, 2 for a bad command line, 3 when the database or a file failed.\n";

static int usage_error(const char *msg, const char *arg) {
    return cli_usage_error("risk", USAGE, msg, arg);
}

static void show_progress(void *ctx, long done, long total) {
    if(!*(bool *)ctx) return;
    if(total > 0) fprintf(stderr, "\rread %ld of %ld (%.0f%%)   ", done, total, 100.0 * done / total);
    else fprintf(stderr, "\rread %ld   ", done);
    if(done >= total && total > 0) fputc('\n', stderr);
}

static double seconds_since(uint64_t t0) {
    return (double)(clock_mono_us() - t0) / 1e6;
}

/* The last day any admission or attendance began, or POP_NEVER. */
static int32_t last_event_day(const pop_extract *x) {
    int32_t last = POP_NEVER;
    for(size_t i = 0; i < x->nevents; i++)
        if(x->events[i].kind != POP_SOCIAL_CARE && x->events[i].from > last) last = x->events[i].from;
    return last;
}

/* ---- the fit report ------------------------------------------------------------- */

/* The generator's value for step-model coefficient k (feature k), NAN when it has none. */
static double truth_of(const risk_truth *t, int k) {
    if(k <= RISK_AGE_85) return log(t->base[k]);
    switch(k) {
    case RISK_EFI: return t->b_efi;
    case RISK_LTC: return t->b_ltc;
    case RISK_DEPRIVATION: return t->b_deprivation;
    case RISK_PRIOR: return t->b_prior;
    case RISK_RECENT: return t->b_recent;
    case RISK_MDT: return log(1 - t->effect);
    default: return 0; /* not in the generator's hazard */
    }
}

static void print_fit(const risk_report *r, const risk_truth *t, bool as_json) {
    const risk_model *m = &r->model;
    char day[11];
    datetime_format_day(m->day, day);
    if(as_json) {
        printf("{\"indexDate\":\"%s\",\"people\":%ld,\"admitted\":%ld,\"fitted\":%ld,\"heldOut\":%ld,\"lambda\":%g,"
               "\"iterations\":%d,\"converged\":%s,\"coefficients\":[",
               day, r->people, r->admitted, m->n_fit, m->n_test, m->lambda, r->logit.iterations,
               r->logit.converged ? "true" : "false");
        for(int k = 0, first = 1; k < RISK_COEFS; k++) {
            if(k == 1) continue;
            printf("%s{\"feature\":\"%s\",\"estimate\":%.6f,\"se\":%.6f,\"lo\":%.6f,\"hi\":%.6f,\"people\":%ld}",
                   first ? "" : ",", k ? risk_feature_key[k - 1] : "intercept", m->beta[k], m->se[k],
                   m->beta[k] - 1.96 * m->se[k], m->beta[k] + 1.96 * m->se[k], k ? r->present[k - 1] : m->n_fit);
            first = 0;
        }
        printf("],\"auc\":%.4f,\"brier\":%.4f,\"calibration\":[", m->auc, m->brier);
        for(int g = 0; g < RISK_DECILES; g++)
            printf("%s{\"n\":%zu,\"predicted\":%.4f,\"observed\":%.4f}", g ? "," : "", r->calibration[g].n,
                   r->calibration[g].predicted, r->calibration[g].observed);
        printf("]");
        if(r->has_truth) {
            printf(",\"generatingAuc\":%.4f,\"generatingBrier\":%.4f,\"steps\":%ld,\"stepAdmissions\":%ld,"
                   "\"stepModel\":[",
                   r->auc_truth, r->brier_truth, r->n_steps, r->step_admissions);
            for(int k = 0; k < RISK_FEATURES && r->steps.beta; k++) {
                double tv = truth_of(t, k), lo = r->steps.beta[k] - 1.96 * r->steps.se[k],
                       hi = r->steps.beta[k] + 1.96 * r->steps.se[k];
                printf("%s{\"feature\":\"%s\",\"estimate\":%.6f,\"se\":%.6f,\"lo\":%.6f,\"hi\":%.6f,\"truth\":%.6f,"
                       "\"steps\":%ld,\"covered\":%s}",
                       k ? "," : "", risk_feature_key[k], r->steps.beta[k], r->steps.se[k], lo, hi, tv,
                       r->step_present[k], tv >= lo && tv <= hi ? "true" : "false");
            }
            printf("]");
        }
        printf(",\"seconds\":{\"features\":%.3f,\"fit\":%.3f,\"steps\":%.3f}}\n", r->seconds_features, r->seconds_fit,
               r->seconds_steps);
        return;
    }
    printf("Emergency admission in the 12 months from %s: %ld people, %ld admitted (%.1f%%)\n", day, r->people,
           r->admitted, r->people ? 100.0 * r->admitted / r->people : 0.0);
    printf("Logistic model fitted on %ld people (IRLS, L2 lambda %g, %d iterations%s):\n", m->n_fit, m->lambda,
           r->logit.iterations, r->logit.converged ? "" : ", NOT CONVERGED");
    printf("  %-28s %9s %8s   %-20s %9s\n", "feature", "estimate", "s.e.", "95% interval", "odds ratio");
    for(int k = 0; k < RISK_COEFS; k++) {
        if(k == 1) continue;
        printf("  %-28s %9.4f %8.4f   (%8.4f, %8.4f) %9.3f%s\n", k ? risk_feature_name[k - 1] : "intercept (age 0-17)",
               m->beta[k], m->se[k], m->beta[k] - 1.96 * m->se[k], m->beta[k] + 1.96 * m->se[k], exp(m->beta[k]),
               k && !r->present[k - 1] ? "  (nobody has it: the penalty alone)" : "");
    }
    printf("Held out: %ld people, %ld admitted: AUC %.4f, Brier score %.4f\n", m->n_test, r->admitted_test, m->auc,
           m->brier);
    if(r->has_truth)
        printf("  the generating hazard on the same people: AUC %.4f (fitted minus generating %+.4f), Brier %.4f\n",
               r->auc_truth, m->auc - r->auc_truth, r->brier_truth);
    printf("Calibration on the held-out people, by decile of predicted risk:\n");
    printf("  %-7s %7s %11s %11s %10s\n", "decile", "people", "predicted", "observed", "range");
    for(int g = 0; g < RISK_DECILES; g++) {
        const glm_calibration_row *c = &r->calibration[g];
        printf("  %-7d %7zu %10.2f%% %10.2f%%  %.3f-%.3f\n", g + 1, c->n, 100 * c->predicted, 100 * c->observed, c->lo,
               c->hi);
    }
    if(!r->has_truth) return;
    if(r->n_steps < 0 || !r->steps.beta) {
        printf("The step model could not be fitted.\n");
        return;
    }
    printf("The generator's form of model: %ld people, %ld 30-day steps, %ld emergency admissions\n"
           "(complementary log-log, log step length as offset, no intercept: the age-band\n"
           "coefficients are the log base rates; %d iterations):\n",
           r->step_people, r->n_steps, r->step_admissions, r->steps.iterations);
    printf("  %-28s %9s %8s   %-20s %9s  %s\n", "feature", "estimate", "s.e.", "95% interval", "truth", "in interval");
    int covered = 0, with_data = 0;
    for(int k = 0; k < RISK_FEATURES; k++) {
        double b = r->steps.beta[k], s = r->steps.se[k], tv = truth_of(t, k);
        bool in = tv >= b - 1.96 * s && tv <= b + 1.96 * s;
        covered += in && r->step_present[k];
        with_data += r->step_present[k] > 0;
        char name[48];
        snprintf(name, sizeof name, "%s%s", k <= RISK_AGE_85 ? "log base rate, " : "", risk_feature_name[k]);
        printf("  %-28s %9.4f %8.4f   (%8.4f, %8.4f) %9.4f  %s%s\n", name, b, s, b - 1.96 * s, b + 1.96 * s, tv,
               in ? "yes" : "NO", r->step_present[k] ? "" : " (no step has it)");
    }
    printf("  %d of the %d generating coefficients with data inside their 95%% intervals (features the generator\n"
           "  does not use have truth 0; MDT discussed: log(1 - programme effect))\n",
           covered, with_data);
}

static int fit(const char *db, const char *ndjson, const char *as_of, const char *truth_file, double lambda,
               bool dry_run, bool as_json, bool quiet) {
    risk_truth truth, *tp = NULL;
    char err[4200];
    if(truth_file) {
        kith_rc rc = risk_truth_load(truth_file, &truth, err, sizeof err);
        if(rc) {
            fprintf(stderr, "kith risk fit: %s\n", err);
            return rc == KITH_EIO ? CLI_EXIT_FAILED : CLI_EXIT_USAGE;
        }
        tp = &truth;
    }
    bool progress = !quiet && !as_json && isatty(2);
    pop_extract *x = pop_extract_new(frailty_default_codes(), NULL, POP_WANT_EFI | POP_WANT_EVENTS);
    cli_session s = {0};
    int code = CLI_EXIT_OK;
    uint64_t t0 = clock_mono_us();
    code = cli_read_population(db, ndjson, x, &s, "risk fit", progress);
    double t_read = seconds_since(t0);
    risk_report r = {0};
    if(!code) {
        int32_t last = last_event_day(x), day = last == POP_NEVER ? frailty_today() - 365 : last - 364;
        if(as_of && !pop_day(as_of, &day)) code = usage_error("--as-of must be a date YYYY-MM-DD: %s", as_of);
        if(!code && as_of && last != POP_NEVER && day + 364 > last && !as_json)
            fprintf(stderr, "kith risk fit: warning: the records end on day %d of the 12 months after %s: admissions "
                            "after that are missing\n", last - day + 1, as_of);
        kith_rc rc = code ? KITH_OK : risk_fit(x, day, lambda, tp, &r);
        if(rc == KITH_ENOTFOUND) {
            fprintf(stderr, "kith risk fit: nobody to fit on as of that day (no one alive, or no admissions)\n");
            code = CLI_EXIT_REJECTED;
        } else if(rc) {
            fprintf(stderr, "kith risk fit: the fit failed: a feature nobody has cannot be fitted with --lambda 0\n");
            code = CLI_EXIT_REJECTED;
        }
    }
    if(!code) {
        print_fit(&r, tp, as_json);
        if(!as_json) printf("Time: read %.2f s, features %.2f s, fit %.2f s\n", t_read, r.seconds_features, r.seconds_fit);
        if(!as_json && tp) printf("      step model %.2f s\n", r.seconds_steps);
        if(!dry_run && !ndjson) {
            char when[CLOCK_INSTANT_LEN];
            clock_instant_now(when);
            size_t len;
            char *text = risk_model_library(&r.model, when, &len);
            pop_writer w;
            pop_writer_init(&w, s.c, 0);
            pop_writer_put(&w, text, len, 0);
            kith_rc rc = pop_writer_finish(&w);
            free(text);
            if(rc || w.failed) {
                fprintf(stderr, "kith risk fit: cannot store the model: %s\n", rc ? kith_rc_name(rc) : "refused");
                code = CLI_EXIT_FAILED;
            } else {
                if(!as_json) printf("Stored as Library/" RISK_MODEL_ID "\n");
                cli_audit_operator(s.c, "risk-fit", 'U', "Library/" RISK_MODEL_ID, "emergency admission model fitted");
            }
        }
    }
    risk_report_free(&r);
    pop_extract_free(x);
    if(s.st) store_close(s.st);
    return code;
}

/* ---- scoring ------------------------------------------------------------------ */

static int score(const char *db, const char *as_of, bool dry_run, bool as_json, bool quiet) {
    cli_session s = {0};
    int code = cli_open_db(db, &s, "risk");
    if(code) return code;
    store_resource lib = {0};
    json_value *lj = NULL;
    risk_model m;
    kith_rc rc = store_read(s.c, "Library", RISK_MODEL_ID, 0, &lib);
    if(rc || json_parse(lib.body, lib.body_len, &lj, NULL, 0) || risk_model_from_library(lj, &m)) {
        fprintf(stderr, "kith risk score: there is no model in the database (Library/" RISK_MODEL_ID "): run "
                        "`kith risk fit` first\n");
        store_resource_free(&lib);
        json_free(lj);
        store_close(s.st);
        return rc == KITH_ENOTFOUND || rc == KITH_EGONE || !rc ? CLI_EXIT_REJECTED : CLI_EXIT_FAILED;
    }
    char model_ref[128];
    snprintf(model_ref, sizeof model_ref, "Library/" RISK_MODEL_ID "/_history/%lld", (long long)lib.version);
    store_resource_free(&lib);
    json_free(lj);

    int32_t day = frailty_today();
    char when[CLOCK_INSTANT_LEN];
    clock_instant_now(when);
    if(as_of) {
        if(strlen(as_of) != 10 || !pop_day(as_of, &day)) {
            store_close(s.st);
            return usage_error("--as-of must be a date YYYY-MM-DD: %s", as_of);
        }
        snprintf(when, sizeof when, "%s", as_of);
    }
    bool progress = !quiet && !as_json && isatty(2);
    pop_extract *x = pop_extract_new(frailty_default_codes(), NULL, POP_WANT_EFI | POP_WANT_EVENTS | POP_WANT_ASSESSED);
    uint64_t t0 = clock_mono_us();
    if(pop_extract_from_store(s.c, x, NULL, show_progress, &progress)) {
        fprintf(stderr, "kith risk score: cannot read the database\n");
        code = CLI_EXIT_FAILED;
    }
    pop_extract_finish(x);
    double t_read = seconds_since(t0);
    uint64_t t1 = clock_mono_us();
    pop_writer w;
    pop_writer_init(&w, s.c, 0);
    long scored = 0, level[4] = {0};
    double total = 0;
    double f[RISK_FEATURES];
    for(size_t i = 0; i < x->npeople && !code && !w.rc; i++) {
        const pop_person *p = &x->people[i];
        if(!risk_eligible(p, day)) continue;
        risk_features(x, p, day, f);
        double prob = risk_probability(&m, f);
        const char *lv = risk_level(&m, prob);
        level[strcmp(lv, "low") == 0 ? 0 : strcmp(lv, "moderate") == 0 ? 1 : strcmp(lv, "high") == 0 ? 2 : 3]++;
        scored++;
        total += prob;
        if(dry_run) continue;
        size_t len;
        char *text = risk_assessment(x, p, &m, day, prob, model_ref, when, &len);
        pop_writer_put(&w, text, len, p->assessed_risk);
        free(text);
    }
    kith_rc wr = pop_writer_finish(&w);
    double t_score = seconds_since(t1);
    if(wr) {
        fprintf(stderr, "kith risk score: the database failed while writing (%s)\n", kith_rc_name(wr));
        code = CLI_EXIT_FAILED;
    }
    if(!code && !dry_run) {
        char detail[160];
        snprintf(detail, sizeof detail, "emergency admission risk: %ld people scored, %ld written", scored, w.written);
        cli_audit_operator(s.c, "risk-score", 'U', "RiskAssessment", detail);
    }
    char d[11];
    datetime_format_day(day, d);
    if(!code && as_json) {
        printf("{\"day\":\"%s\",\"model\":\"%s\",\"scored\":%ld,\"levels\":{\"low\":%ld,\"moderate\":%ld,\"high\":%ld,"
               "\"very-high\":%ld},\"meanProbability\":%.4f,\"written\":%ld,\"unchanged\":%ld,\"failed\":%ld,"
               "\"dryRun\":%s,\"seconds\":{\"read\":%.3f,\"scoreAndWrite\":%.3f}}\n",
               d, model_ref, scored, level[0], level[1], level[2], level[3], scored ? total / scored : 0.0, w.written,
               w.unchanged, w.failed, dry_run ? "true" : "false", t_read, t_score);
    } else if(!code) {
        printf("Emergency admission risk on %s with %s: %ld people scored, mean %.1f%%\n", d, model_ref, scored,
               scored ? 100 * total / scored : 0.0);
        static const char *const NAMES[4] = {"low (<10%)", "moderate (10-20%)", "high (20-40%)", "very-high (>=40%)"};
        for(int k = 0; k < 4; k++)
            printf("  %-18s %9ld  %5.1f%%\n", NAMES[k], level[k], scored ? 100.0 * level[k] / scored : 0.0);
        if(dry_run) printf("Dry run: nothing written\n");
        else printf("RiskAssessments: %ld written, %ld unchanged, %ld refused\n", w.written, w.unchanged, w.failed);
        printf("Time: read %.2f s, score and write %.2f s\n", t_read, t_score);
    }
    if(!code && w.failed) code = CLI_EXIT_REJECTED;
    pop_extract_free(x);
    store_close(s.st);
    return code;
}

int cli_risk(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},    {"ndjson", required_argument, NULL, 'n'},
        {"as-of", required_argument, NULL, 't'}, {"truth", required_argument, NULL, 'T'},
        {"lambda", required_argument, NULL, 'l'}, {"dry-run", no_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *ndjson = NULL, *as_of = NULL, *truth = NULL;
    double lambda = RISK_DEFAULT_LAMBDA;
    bool dry_run = false, as_json = false, quiet = false;
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch(ch) {
        case 'd': db = optarg; break;
        case 'n': ndjson = optarg; break;
        case 't': as_of = optarg; break;
        case 'T': truth = optarg; break;
        case 'l':
            lambda = strtod(optarg, &end);
            if(*end || end == optarg || !(lambda >= 0) || lambda > 1e6) return usage_error("--lambda must be 0 or more: %s", optarg);
            break;
        case 'r': dry_run = true; break;
        case 'j': as_json = true; break;
        case 'q': quiet = true; break;
        case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
        default: return usage_error("%s", "unknown option");
        }
    }
    if(optind >= argc) return usage_error("%s", "say fit or score");
    const char *cmd = argv[optind];
    if(optind + 1 < argc) return usage_error("unexpected argument %s", argv[optind + 1]);
    if(ndjson && db) return usage_error("%s", "--ndjson and --db do not go together");
    if(strcmp(cmd, "fit") == 0) return fit(db, ndjson, as_of, truth, lambda, dry_run, as_json, quiet);
    if(strcmp(cmd, "score") == 0) {
        if(ndjson || truth) return usage_error("%s", "score takes neither --ndjson nor --truth");
        return score(db, as_of, dry_run, as_json, quiet);
    }
    return usage_error("unknown subcommand %s", cmd);
}
