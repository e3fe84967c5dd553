/*
 * report.c — `kith report`: the integration indicators of issue 8 as a
 * self-contained HTML report with SPC charts and CSV files beside it.
 *
 * Reads Patients, Organizations, Consents, Tasks and hospital Encounters from the
 * database (as a planning system: people with the national data opt-out
 * are hidden by the store) or from NDJSON files (opt-outs read from
 * Consent.ndjson and left out here), in parallel for files; computes the
 * monthly series (src/report/measures) and writes them (src/report/publish).
 * This file is options, timing and messages.
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
#include "base/datetime.h"
#include "cli/cli.h"
#include "pop/frailty.h"
#include "report/measures.h"
#include "report/publish.h"
#include "report/records.h"

static const char USAGE[] =
    "Usage: kith report --out DIR [--db PATH] [OPTIONS]\n"
    "       kith report --out DIR --ndjson DIR [OPTIONS]\n"
    "\n"
    "Compute the integration indicators month by month, for the place, each\n"
    "locality, neighbourhood and GP practice, and people aged 65 and over, and\n"
    "write them into DIR:\n"
    "  index.html         a self-contained report (no scripts, no external files):\n"
    "                     each indicator's definition, an XmR chart of the place in\n"
    "                     the NHS Making Data Count style with its variation badge,\n"
    "                     a funnel plot of the neighbourhoods over the latest 12\n"
    "                     months and a table of the areas in the latest month\n"
    "  indicators.csv     every figure: indicator,level,unit,unit_name,month,\n"
    "                     numerator,denominator,value,lo,hi,scale,suppressed\n"
    "  delay_reasons.csv  delayed stays and days by reason, per area over the\n"
    "                     latest 12 months and for the place by month\n"
    "  social_care_requests.csv  requests for adult social care (from a CLD\n"
    "                     import) completed, by outcome, per area and by month\n"
    "  tasks.csv          open Tasks without an owner and overdue Tasks per area,\n"
    "                     as they stand today (a snapshot; KITH_NOW=YYYY-MM-DD\n"
    "                     counts them as of another day)\n"
    "\n"
    "Indicators: emergency admissions per 1,000 person-years (age-standardised,\n"
    "ESP2013), emergency bed days, emergency readmissions within 30 days,\n"
    "A&E attendances, delayed discharge days and their reasons, days at home per\n"
    "person-year, people 65+ still at home 91 days after discharge into\n"
    "reablement, and MDT actions done on time; social care requests by outcome;\n"
    "and today's open tasks without an owner and overdue tasks.\n"
    "docs/indicators.md defines each; docs/report.md explains the\n"
    "files. People who registered the national data opt-out are left out of\n"
    "everything; counts of 1 to 7 are shown as * (with secondary suppression).\n"
    "\n"
    "Options:\n"
    "  --out DIR        where to write (created if missing; its parent must exist)\n"
    "  --db PATH        the SQLite database [KITH_DB] (default kith.db)\n"
    "  --ndjson DIR     read DIR/Patient.ndjson, Organization.ndjson,\n"
    "                   Consent.ndjson, Encounter.ndjson, Task.ndjson and\n"
    "                   ServiceRequest.ndjson (as `kith export` or `kith synth\n"
    "                   --out` write them) instead of a database\n"
    "  --from YYYY-MM   first month (default: the month of the earliest stay)\n"
    "  --to YYYY-MM     last month (default: the month of the latest stay, or the\n"
    "                   one before it when the data end before that month's last day)\n"
    "  --threads N      threads reading NDJSON files, 1 to 16 (default 2)\n"
    "  --json           print a summary as one JSON object\n"
    "  --quiet          print nothing on success\n"
    "  -h, --help       show this help\n"
    "\n"
    "Exit status 0 on success, 1 when the records hold nothing to report on,\n"
    "2 for a bad command line, 3 when the database or a file failed.\n";

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "kith report: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr, "\n\n%s", USAGE);
    return CLI_EXIT_USAGE;
}

/* "YYYY-MM" into year and month. */
static bool parse_month(const char *s, int *y, int *m) {
    if(!s || strlen(s) != 7 || s[4] != '-') return false;
    for(int i = 0; i < 7; i++)
        if(i != 4 && (s[i] < '0' || s[i] > '9')) return false;
    *y = atoi(s);
    *m = atoi(s + 5);
    return *y >= 1900 && *m >= 1 && *m <= 12;
}

static double seconds_since(uint64_t t0) {
    return (double)(clock_mono_us() - t0) / 1e6;
}

static int scan_row(void *ctx, const store_resource *r) {
    records_add(ctx, r->type, r->body, r->body_len);
    return 0;
}

/* Read the database as a planning system sees it. */
static int read_db(const char *db, records *r, cli_session *s) {
    int code = cli_open_existing_db(db, s, "report");
    if(code) return code;
    size_t ntypes = 0;
    while(records_types[ntypes]) ntypes++;
    store_scan_query q = {.types = records_types, .ntypes = ntypes};
    store_viewer planning = {.secondary_use = true}; /* analytics leave out people who opted out */
    records_batch *b = records_batch_new(r);
    if(store_set_viewer(s->c, &planning) || store_scan(s->c, &q, scan_row, b)) {
        fprintf(stderr, "kith report: cannot read the database\n");
        code = CLI_EXIT_FAILED;
    }
    store_set_viewer(s->c, NULL);
    return code;
}

static bool make_dir(const char *dir) {
    struct stat st;
    if(mkdir(dir, 0777) == 0) return true;
    if(errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return true;
    if(errno == EEXIST) errno = ENOTDIR;
    return false;
}

int cli_report(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"ndjson", required_argument, NULL, 'n'},
        {"out", required_argument, NULL, 'o'},     {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},      {"threads", required_argument, NULL, 'T'},
        {"json", no_argument, NULL, 'j'},          {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *ndjson = NULL, *out = NULL, *from = NULL, *to = NULL;
    bool as_json = false, quiet = false;
    int threads = 2, ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'd': db = optarg; break;
        case 'n': ndjson = optarg; break;
        case 'o': out = optarg; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'T': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if(*end || n < 1 || n > 16) return usage_error("--threads must be 1 to 16: %s", optarg);
            threads = (int)n;
            break;
        }
        case 'j': as_json = true; break;
        case 'q': quiet = true; break;
        case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
        default: return usage_error("%s", "unknown option");
        }
    }
    if(optind < argc) return usage_error("unexpected argument %s", argv[optind]);
    if(!out) return usage_error("%s", "--out DIR is required");
    if(ndjson && db) return usage_error("%s", "--ndjson and --db do not go together");
    int fy = 0, fm = 0, ty = 0, tm = 0;
    if(from && !parse_month(from, &fy, &fm)) return usage_error("--from must be a month YYYY-MM: %s", from);
    if(to && !parse_month(to, &ty, &tm)) return usage_error("--to must be a month YYYY-MM: %s", to);
    if(from && to && ty * 12 + tm < fy * 12 + fm) return usage_error("--to is before --from: %s", to);
    if(ndjson) {
        struct stat st;
        if(stat(ndjson, &st) || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "kith report: cannot read %s: %s\n", ndjson, errno ? strerror(errno) : "not a directory");
            return CLI_EXIT_FAILED;
        }
    }
    if(!make_dir(out)) {
        fprintf(stderr, "kith report: cannot make %s: %s\n", out, strerror(errno));
        return CLI_EXIT_FAILED;
    }

    records *r = records_new();
    cli_session s = {0};
    measures m = {0};
    int code = CLI_EXIT_OK;
    char err[4400];
    uint64_t t0 = clock_mono_us();
    if(ndjson) {
        if(records_read_ndjson(r, ndjson, threads, err, sizeof err)) {
            fprintf(stderr, "kith report: %s\n", err);
            code = CLI_EXIT_FAILED;
        }
    } else {
        code = read_db(db, r, &s);
    }
    if(code) goto done;
    records_finish(r);
    double t_read = seconds_since(t0);
    if(r->first_day == RECORDS_NONE && (!from || !to)) {
        fprintf(stderr, "kith report: no hospital stays or A&E attendances in %s: nothing to report on "
                        "(give --from and --to to report on the population alone)\n",
                ndjson ? ndjson : cli_setting(db, "KITH_DB", "kith.db"));
        code = CLI_EXIT_REJECTED;
        goto done;
    }
    if(!from) {
        int d;
        datetime_civil_from_days(r->first_day, &fy, &fm, &d);
    }
    if(!to) {
        int d, ny, nm, nd;
        datetime_civil_from_days(r->last_day, &ty, &tm, &d);
        datetime_civil_from_days(r->last_day + 1, &ny, &nm, &nd);
        if(nm == tm) { /* the data end inside that month: the one before is the last whole one */
            if(--tm == 0) {
                tm = 12;
                ty--;
            }
        }
    }
    long months = (long)(ty * 12 + tm) - (fy * 12 + fm) + 1;
    if(months < 1 || months > INDICATOR_MAX_MONTHS) {
        fprintf(stderr, "kith report: the period %04d-%02d to %04d-%02d is %s (1 to %d months)\n", fy, fm, ty, tm,
                months < 1 ? "empty" : "too long", INDICATOR_MAX_MONTHS);
        code = months < 1 ? CLI_EXIT_REJECTED : CLI_EXIT_USAGE;
        goto done;
    }
    uint64_t t1 = clock_mono_us();
    if(measures_compute(r, fy, fm, (size_t)months, frailty_today(), &m)) {
        fprintf(stderr, "kith report: the indicators could not be computed (a bug)\n");
        code = CLI_EXIT_FAILED;
        goto done;
    }
    double t_compute = seconds_since(t1);
    char when[CLOCK_INSTANT_LEN], source[4200];
    clock_instant_now(when);
    snprintf(source, sizeof source, ndjson ? "NDJSON files in %s" : "database %s",
             ndjson ? ndjson : cli_setting(db, "KITH_DB", "kith.db"));
    long people = (long)r->npeople;
    publish_meta meta = {.source = source, .generated = when, .people_read = people, .stays = (long)r->nstays,
                         .seconds_read = t_read, .seconds_compute = t_compute};
    uint64_t t2 = clock_mono_us();
    if(publish_all(out, &m, &meta, err, sizeof err)) {
        fprintf(stderr, "kith report: %s\n", err);
        code = CLI_EXIT_FAILED;
        goto done;
    }
    double t_write = seconds_since(t2);
    if(s.c) {
        char detail[256];
        snprintf(detail, sizeof detail, "integration indicators %04d-%02d to %04d-%02d for %ld people", fy, fm, ty, tm,
                 m.people);
        cli_audit_operator(s.c, "report", 'E', "integration indicators", detail);
    }
    buf out_json = BUF_INIT;
    buf_json_escape(&out_json, out);
    if(as_json)
        printf("{\"out\":\"%s\",\"from\":\"%04d-%02d\",\"to\":\"%04d-%02d\",\"months\":%ld,\"resourcesRead\":%ld,"
               "\"people\":%ld,\"optedOut\":%ld,\"councilOnly\":%ld,\"noBirthDate\":%ld,\"stays\":%zu,"
               "\"unmatchedStays\":%ld,\"socialCareRequests\":%ld,\"openTasks\":%ld,\"unreadable\":%ld,\"areas\":%zu,\"seconds\":{\"read\":%.3f,\"compute\":%.3f,"
               "\"write\":%.3f}}\n",
               buf_str(&out_json), fy, fm, ty, tm, months, r->read, m.people, m.excluded_opt_out, m.excluded_council_only,
               m.excluded_no_birth, r->nstays, r->unmatched, m.requests_counted, m.tasks_counted, r->unreadable, m.nareas,
               t_read, t_compute, t_write);
    else if(!quiet)
        printf("Integration indicators %04d-%02d to %04d-%02d (%ld months) for %ld people (left out: %ld opted out, "
               "%ld council-only, %ld with no birth date), %zu stays and attendances, %zu areas\n"
               "Written to %s: index.html, indicators.csv, delay_reasons.csv, tasks.csv, social_care_requests.csv,\n"
               "risk_pyramid.csv\n"
               "Time: read %.2f s (%ld resources, %ld unreadable), compute %.2f s, write %.2f s\n",
               fy, fm, ty, tm, months, m.people, m.excluded_opt_out, m.excluded_council_only, m.excluded_no_birth,
               r->nstays, m.nareas, out, t_read, r->read, r->unreadable, t_compute, t_write);
    buf_free(&out_json);
done:
    measures_free(&m);
    records_free(r);
    if(s.st) store_close(s.st);
    return code;
}
