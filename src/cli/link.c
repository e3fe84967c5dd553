/*
 * link.c — `kith link`: find the people a council (or any service) holds
 * without an NHS number among the people the NHS holds, by probabilistic
 * record linkage (src/link/linkage.c), and record, explain and undo links.
 *
 * Two ways in:
 *   on the database (default): the left side is every Patient with a valid
 *   NHS number, the right side every Patient with no NHS number identifier
 *   and no link yet. A link becomes a Linkage resource (source: the NHS
 *   record, alternate: the other) and a Patient.link (seealso) on the other
 *   record pointing at the NHS one, all written in one transaction and
 *   audited one entry per link. The NHS record is not changed: reading it
 *   must not tell someone who may not see the council's record that the
 *   council knows the person (Patient/$everything finds the link from either
 *   side); a pair in the review band becomes an inactive Linkage awaiting a
 *   person's decision. A pair once undone or rejected is never proposed
 *   again.
 *   on two CSV files (--left, --right): links and candidates are written as
 *   CSV (--out), nothing is stored. For trying settings and the benchmark.
 * Single-threaded except inside link_job_run.
 */
#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "auth/auth.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/id.h"
#include "base/mem.h"
#include "base/nhs_number.h"
#include "cli/cli.h"
#include "fhir/outcome.h"
#include "fhir/record.h"
#include "json/json.h"
#include "link/linkage.h"
#include "social/cld.h"

#define EXT "https://kith.example.org/fhir/StructureDefinition/"
#define NHS_SYSTEM "https://fhir.nhs.uk/Id/nhs-number"
#define MAX_CSV_LINE 65536

static const char USAGE[] =
    "Usage: kith link [--db PATH] [OPTIONS]\n"
    "       kith link --left FILE --right FILE [--out FILE] [OPTIONS]\n"
    "       kith link review|explain|accept|undo ... [--db PATH]\n"
    "\n"
    "Find the same person in two sets of records that share no identifier, by\n"
    "probabilistic record linkage (Fellegi-Sunter): typically a council's social\n"
    "care records that lack an NHS number, against the NHS records of people.\n"
    "Names, date of birth, sex and postcode are compared field by field; how much\n"
    "each agreement counts (the m and u probabilities) is learned from the data by\n"
    "expectation-maximisation, with no training set; agreeing on a rare name counts\n"
    "for more than on a common one. docs/identity.md explains the method.\n"
    "\n"
    "On the database (the default), the NHS side is every Patient with a valid NHS\n"
    "number; the other side every Patient with no NHS number and no link yet. A\n"
    "pair whose probability reaches --threshold is linked: a Linkage resource and a\n"
    "Patient.link (seealso) on the other record pointing at the NHS one, in one\n"
    "transaction, one audit entry per link; the person's record ($everything) then\n"
    "shows both to whoever may see both. A pair in the review band becomes\n"
    "an inactive Linkage for a person to accept or reject. A pair once undone or\n"
    "rejected is never proposed again.\n"
    "\n"
    "Options:\n"
    "  --db PATH             the SQLite database [KITH_DB] (default kith.db)\n"
    "  --left FILE           CSV of the NHS side instead of the database (header\n"
    "                        row: id, given, family, birth_date (YYYY-MM-DD), sex,\n"
    "                        postcode; CLD and kith synth column names also work)\n"
    "  --right FILE          CSV of the other side; rows with an NHS number are left\n"
    "                        out (they are joined by the number, not by linkage)\n"
    "  --out FILE            with --left/--right: write the best candidate of every\n"
    "                        right record at or above --review-from here (CSV;\n"
    "                        default: standard output)\n"
    "  --threshold P         link at or above this probability (default 0.9)\n"
    "  --review-from P       clerical review from this probability (default 0.5)\n"
    "  --threads N           worker threads (default 2)\n"
    "  --seed S              seed for the random pairs that estimate u (default 1)\n"
    "  --dry-run             on the database: report, write nothing\n"
    "  --quiet               no model report\n"
    "  -h, --help            show this help\n"
    "\n"
    "Subcommands (on the database):\n"
    "  review                list the pairs awaiting review\n"
    "  explain ID            what each field added to Linkage ID's weight\n"
    "  accept ID             a person confirms a pair under review: link it\n"
    "  undo ID --reason TEXT undo a link (or reject a pair under review); the pair\n"
    "                        is never proposed again\n"
    "\n"
    "Exit status 0 on success, 1 when some input rows were refused (each is\n"
    "reported as file:line: reason), 2 for a bad command line, 3 when a file or\n"
    "the database failed.\n";

static int usage_error(const char *msg, const char *arg) {
    return cli_usage_error("link", USAGE, msg, arg);
}

static bool parse_probability(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if(errno || end == s || *end || v < 0 || v > 1) return false;
    *out = v;
    return true;
}

/* ---- CSV files --------------------------------------------------------------- */

enum { COL_ID, COL_GIVEN, COL_FAMILY, COL_BIRTH, COL_SEX, COL_POSTCODE, COL_NHS, NCOLS };
static const char *const COLUMN_NAMES[NCOLS][4] = {
    {"id", "patient_id", "la_person_unique_identifier", "council_id"},
    {"given", "given_name", "first_name", NULL},
    {"family", "family_name", "surname", NULL},
    {"birth_date", "date_of_birth", "birthdate", NULL},
    {"sex", "gender", NULL, NULL},
    {"postcode", "postal_code", NULL, NULL},
    {"nhs_number", NULL, NULL, NULL},
};

/* Read file into side of j. Bad lines are reported and counted in *refused. */
static int read_csv(link_job *j, int side, const char *file, long *refused, long *skipped) {
    FILE *f = fopen(file, "r");
    if(!f) {
        fprintf(stderr, "kith link: cannot read %s: %s\n", file, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    char *line = NULL, **fields = NULL, err[256];
    size_t cap = 0, n;
    ssize_t len;
    long lineno = 0;
    int col[NCOLS];
    int code = CLI_EXIT_OK;
    for(int c = 0; c < NCOLS; c++) col[c] = -1;
    while((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while(len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if(lineno == 1 && len >= 3 && (unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
           (unsigned char)line[2] == 0xBF) { /* a byte order mark */
            memmove(line, line + 3, (size_t)len - 2);
            len -= 3;
        }
        if(len == 0) continue;
        if(len > MAX_CSV_LINE) {
            fprintf(stderr, "%s:%ld: the line is longer than %d bytes\n", file, lineno, MAX_CSV_LINE);
            (*refused)++;
            continue;
        }
        if(cld_split(line, (size_t)len, &fields, &n, err, sizeof err)) {
            fprintf(stderr, "%s:%ld: %s\n", file, lineno, err);
            if(lineno == 1) {
                code = CLI_EXIT_FAILED;
                break;
            }
            (*refused)++;
            continue;
        }
        if(lineno == 1) {
            for(size_t i = 0; i < n; i++)
                for(int c = 0; c < NCOLS; c++)
                    for(int k = 0; k < 4 && COLUMN_NAMES[c][k]; k++)
                        if(col[c] < 0 && strcasecmp(fields[i], COLUMN_NAMES[c][k]) == 0) col[c] = (int)i;
            free(fields);
            fields = NULL;
            if(col[COL_ID] < 0) {
                fprintf(stderr, "%s:1: no id column (id, Patient_Id or LA_Person_Unique_Identifier)\n", file);
                code = CLI_EXIT_FAILED;
                break;
            }
            continue;
        }
        const char *v[NCOLS];
        for(int c = 0; c < NCOLS; c++) v[c] = col[c] >= 0 && (size_t)col[c] < n ? fields[col[c]] : NULL;
        if(side == LINK_RIGHT && v[COL_NHS] && *v[COL_NHS]) { /* joined by the number, not by linkage */
            (*skipped)++;
        } else {
            link_input in = {.id = v[COL_ID], .given = v[COL_GIVEN], .family = v[COL_FAMILY],
                             .birth_date = v[COL_BIRTH], .sex = v[COL_SEX], .postcode = v[COL_POSTCODE]};
            kith_rc rc = link_job_add(j, side, &in, err, sizeof err);
            if(rc == KITH_EEXISTS) (*skipped)++; /* the same person's next row (CLD has one per event) */
            else if(rc) {
                fprintf(stderr, "%s:%ld: %s\n", file, lineno, err);
                (*refused)++;
            }
        }
        free(fields);
        fields = NULL;
    }
    if(ferror(f)) {
        fprintf(stderr, "kith link: reading %s failed\n", file);
        code = CLI_EXIT_FAILED;
    }
    free(fields);
    free(line);
    fclose(f);
    return code;
}

static void csv_put(FILE *f, const char *s, bool first) {
    buf b = BUF_INIT;
    cld_csv_field(&b, s);
    fprintf(f, "%s%s", first ? "" : ",", buf_str(&b));
    buf_free(&b);
}

static const char *decision_name(link_decision d) {
    return d == LINK_MATCH ? "link" : d == LINK_REVIEW ? "review" : "none";
}

static void write_pairs(FILE *f, const link_job *j, const link_pair *p, size_t n) {
    fprintf(f, "right_id,left_id,decision,probability,weight,runner_up");
    for(int k = 0; k < LINK_NFIELDS; k++) fprintf(f, ",%s_level,%s_weight", link_field_name[k], link_field_name[k]);
    fputc('\n', f);
    for(size_t i = 0; i < n; i++) {
        csv_put(f, link_job_id(j, LINK_RIGHT, p[i].right), true);
        csv_put(f, link_job_id(j, LINK_LEFT, p[i].left), false);
        fprintf(f, ",%s,%.6f,%.3f,%.6f", decision_name(p[i].decision), p[i].probability, p[i].weight, p[i].runner_up);
        for(int k = 0; k < LINK_NFIELDS; k++) {
            fputc(',', f);
            csv_put(f, link_level_name(k, p[i].level[k]), true);
            fprintf(f, ",%.3f", p[i].field_weight[k]);
        }
        fputc('\n', f);
    }
}

/* ---- the report --------------------------------------------------------------- */

static long peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static void report(FILE *f, const link_model *m, const link_options *o) {
    fprintf(f, "records: %ld NHS side, %ld other side\n", m->records[0], m->records[1]);
    fprintf(f, "blocking: %lld pairs compared\n", (long long)m->pairs_compared);
    for(int r = 0; r < m->nrules; r++)
        fprintf(f, "  %-56s %12lld\n", link_rule_name(r), (long long)m->pairs_by_rule[r]);
    fprintf(f, "EM: %d iterations on pairs with the same birth date (matches %.4f of them), %d on pairs at one "
               "postcode (%.4f)\n",
            m->em_iterations[0], m->lambda[0], m->em_iterations[1], m->lambda[1]);
    fprintf(f, "expected matches %.0f; prior weight %.2f bits\n", m->expected_matches, m->prior_weight);
    fprintf(f, "  %-11s %-34s %9s %9s %9s %8s\n", "field", "level", "m", "u", "u (EM)", "weight");
    for(int k = 0; k < LINK_NFIELDS; k++)
        for(int l = link_field_levels[k] - 1; l >= 0; l--)
            fprintf(f, "  %-11s %-34s %9.5f %9.6f %9.6f %+8.2f\n", l == link_field_levels[k] - 1 ? link_field_name[k] : "",
                    link_level_name(k, l), m->m[k][l], m->u[k][l], m->u_em[k][l], log2(m->m[k][l] / m->u[k][l]));
    fprintf(f, "decisions: %ld linked (probability >= %.3g), %ld for review (>= %.3g); %ld persons\n", m->links,
            o->threshold, m->reviews, o->review_from, m->persons);
    fprintf(f, "time: %.2f s indexing, %.2f s estimating, %.2f s scoring; peak memory %ld MB\n", m->seconds_load,
            m->seconds_train, m->seconds_score, peak_rss_mb());
}

/* ---- the database --------------------------------------------------------------- */

/* A set of strings (pair keys "left|right", ids). */
typedef struct strset {
    char **v;
    size_t n, cap;
} strset;

static int strset_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void strset_add(strset *s, const char *x) {
    if(s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = xstrdup(x);
}
static void strset_sort(strset *s) {
    if(s->n) qsort(s->v, s->n, sizeof *s->v, strset_cmp);
}
static bool strset_has(const strset *s, const char *x) {
    return s->n && bsearch(&x, s->v, s->n, sizeof *s->v, strset_cmp) != NULL;
}
static void strset_free(strset *s) {
    for(size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
}

typedef struct db_load {
    link_job *j;
    strset *held_pairs; /* pairs with a Linkage already (any status) */
    long left, right, skipped;
    char last[72];
    kith_rc rc;
} db_load;

static const char *ref_id(const json_value *ref, const char *type) {
    const char *r = json_string(json_get(ref, "reference"));
    size_t n = strlen(type);
    if(!r || strncmp(r, type, n) != 0 || r[n] != '/') return NULL;
    return r + n + 1;
}

static int load_patient(void *ctx, const store_resource *r) {
    db_load *d = ctx;
    snprintf(d->last, sizeof d->last, "%s", r->id);
    json_value *p = NULL;
    char err[128];
    if(json_parse(r->body, r->body_len, &p, err, sizeof err)) return 0;
    json_value *ids = json_get(p, "identifier");
    bool nhs = false, has_number = false;
    for(size_t i = 0; i < json_array_len(ids); i++) {
        json_value *id = json_array_at(ids, i);
        const char *sys = json_string(json_get(id, "system")), *v = json_string(json_get(id, "value"));
        char digits[11];
        if(!sys || strcmp(sys, NHS_SYSTEM) != 0) continue;
        has_number = true;
        if(v && nhs_number_parse(v, digits) == NHS_NUMBER_OK) nhs = true;
    }
    int side = nhs ? LINK_LEFT : LINK_RIGHT;
    if(!nhs && (has_number || json_array_len(json_get(p, "link")))) side = -1; /* not ours to link */
    json_value *names = json_get(p, "name"), *name = json_array_at(names, 0);
    for(size_t i = 0; i < json_array_len(names); i++) {
        const char *use = json_string(json_get(json_array_at(names, i), "use"));
        if(use && strcmp(use, "official") == 0) name = json_array_at(names, i);
    }
    link_input in = {.id = r->id,
                     .given = json_string(json_array_at(json_get(name, "given"), 0)),
                     .family = json_string(json_get(name, "family")),
                     .birth_date = json_string(json_get(p, "birthDate")),
                     .sex = json_string(json_get(p, "gender")),
                     .postcode = json_string(json_get(json_array_at(json_get(p, "address"), 0), "postalCode"))};
    if(side < 0) d->skipped++;
    else if(link_job_add(d->j, side, &in, err, sizeof err) == KITH_OK) (side == LINK_LEFT ? d->left++ : d->right++);
    json_free(p);
    return 0;
}

static void linkage_items(const json_value *l, const char **left, const char **right) {
    *left = *right = NULL;
    json_value *items = json_get(l, "item");
    for(size_t i = 0; i < json_array_len(items); i++) {
        json_value *it = json_array_at(items, i);
        const char *t = json_string(json_get(it, "type"));
        if(t && strcmp(t, "source") == 0) *left = ref_id(json_get(it, "resource"), "Patient");
        if(t && strcmp(t, "alternate") == 0) *right = ref_id(json_get(it, "resource"), "Patient");
    }
}

static int load_linkage(void *ctx, const store_resource *r) {
    db_load *d = ctx;
    snprintf(d->last, sizeof d->last, "%s", r->id);
    json_value *l = NULL;
    char err[128];
    if(json_parse(r->body, r->body_len, &l, err, sizeof err)) return 0;
    const char *a, *b;
    linkage_items(l, &a, &b);
    if(a && b) {
        char key[160];
        snprintf(key, sizeof key, "%s|%s", a, b);
        strset_add(d->held_pairs, key);
    }
    json_free(l);
    return 0;
}

/* Page through every current resource of type. */
static kith_rc list_all(store_conn *c, const char *type, store_history_fn fn, db_load *d) {
    d->last[0] = '\0';
    for(;;) {
        char after[72];
        snprintf(after, sizeof after, "%s", d->last);
        kith_rc rc = store_list(c, type, after[0] ? after : NULL, 2000, fn, d);
        if(rc) return rc;
        if(strcmp(after, d->last) == 0) return KITH_OK;
    }
}

static void linkage_id(const char *left, const char *right, char out[ID_UUID_LEN]) {
    static const unsigned char NS[16] = {0x6b, 0x69, 0x74, 0x68, 0x2d, 0x6c, 0x69, 0x6e,
                                         0x6b, 0x61, 0x67, 0x65, 0x2d, 0x76, 0x31, 0x00};
    char name[200];
    snprintf(name, sizeof name, "Patient/%s|Patient/%s", left, right);
    id_name_uuid(NS, name, out);
}

static json_value *ext_value(const char *url, const char *kind, json_value *v) {
    json_value *e = json_new_object();
    json_set(e, "url", json_new_string(url));
    json_set(e, kind, v);
    return e;
}

static json_value *decimal(double v, int places) {
    char t[48];
    snprintf(t, sizeof t, "%.*f", places, v);
    return json_new_number_text(t);
}

static json_value *patient_ref(const char *id) {
    char r[96];
    snprintf(r, sizeof r, "Patient/%s", id);
    json_value *o = json_new_object();
    json_set(o, "reference", json_new_string(r));
    return o;
}

static json_value *make_linkage(const link_job *j, const link_pair *p, const link_model *m, const char *status) {
    const char *left = link_job_id(j, LINK_LEFT, p->left), *right = link_job_id(j, LINK_RIGHT, p->right);
    char id[ID_UUID_LEN], now[CLOCK_INSTANT_LEN];
    linkage_id(left, right, id);
    clock_instant_now(now);
    json_value *l = json_new_object(), *ext = json_new_array(), *items = json_new_array();
    json_set(l, "resourceType", json_new_string("Linkage"));
    json_set(l, "id", json_new_string(id));
    json_append(ext, ext_value(EXT "link-status", "valueCode", json_new_string(status)));
    json_append(ext, ext_value(EXT "link-probability", "valueDecimal", decimal(p->probability, 6)));
    json_append(ext, ext_value(EXT "link-weight", "valueDecimal", decimal(p->weight, 3)));
    json_append(ext, ext_value(EXT "link-prior-weight", "valueDecimal", decimal(m->prior_weight, 3)));
    for(int k = 0; k < LINK_NFIELDS; k++) {
        json_value *f = json_new_object(), *sub = json_new_array();
        json_set(f, "url", json_new_string(EXT "link-field"));
        json_append(sub, ext_value("field", "valueCode", json_new_string(link_field_name[k])));
        json_append(sub, ext_value("level", "valueString", json_new_string(link_level_name(k, p->level[k]))));
        json_append(sub, ext_value("weight", "valueDecimal", decimal(p->field_weight[k], 3)));
        json_set(f, "extension", sub);
        json_append(ext, f);
    }
    json_append(ext, ext_value(EXT "link-decided", "valueDateTime", json_new_string(now)));
    json_set(l, "extension", ext);
    json_set(l, "active", json_new_bool(strcmp(status, "linked") == 0));
    json_value *a = json_new_object(), *b = json_new_object();
    json_set(a, "type", json_new_string("source"));
    json_set(a, "resource", patient_ref(left));
    json_set(b, "type", json_new_string("alternate"));
    json_set(b, "resource", patient_ref(right));
    json_append(items, a);
    json_append(items, b);
    json_set(l, "item", items);
    return l;
}

/* Write res (type/id) inside the open transaction; prints why it failed. */
static kith_rc put(store_conn *c, const char *type, const char *id, json_value *res) {
    record_opts o = {.in_transaction = true};
    record_result r = {0};
    fhir_issues is = FHIR_ISSUES_INIT;
    kith_rc rc = record_update(c, type, id, res, &o, &r, &is);
    if(rc) fprintf(stderr, "kith link: cannot write %s/%s: %s\n", type, id, kith_rc_name(rc));
    record_result_free(&r);
    fhir_issues_free(&is);
    return rc;
}

/* Read type/id (caller frees), or NULL. */
static json_value *get(store_conn *c, const char *type, const char *id) {
    store_resource r = {0};
    json_value *v = NULL;
    char err[128];
    if(store_read(c, type, id, 0, &r) == KITH_OK && r.body) json_parse(r.body, r.body_len, &v, err, sizeof err);
    store_resource_free(&r);
    return v;
}

/* Add (add true) or remove Patient.link to other on Patient id. */
static kith_rc patient_link(store_conn *c, const char *id, const char *other, bool add) {
    json_value *p = get(c, "Patient", id);
    if(!p) return KITH_ENOTFOUND;
    char ref[96];
    snprintf(ref, sizeof ref, "Patient/%s", other);
    json_value *links = json_get(p, "link");
    bool present = false, changed = false;
    for(size_t i = json_array_len(links); i-- > 0;) {
        const char *r = json_string(json_get(json_get(json_array_at(links, i), "other"), "reference"));
        if(!r || strcmp(r, ref) != 0) continue;
        present = true;
        if(!add) {
            json_array_remove(links, i);
            changed = true;
        }
    }
    if(add && !present) {
        if(!links) {
            links = json_new_array();
            json_set(p, "link", links);
        }
        json_value *l = json_new_object();
        json_set(l, "other", patient_ref(other));
        json_set(l, "type", json_new_string("seealso"));
        json_append(links, l);
        changed = true;
    }
    if(links && !json_array_len(links)) json_remove(p, "link");
    kith_rc rc = changed ? put(c, "Patient", id, p) : KITH_OK;
    json_free(p);
    return rc;
}

static int run_db(const char *db, const link_options *o, bool dry_run, bool quiet) {
    cli_session s;
    int code = cli_open_db(db, &s, "link");
    if(code) return code;
    link_job *j = link_job_new();
    strset held = {0};
    db_load d = {.j = j, .held_pairs = &held};
    link_pair *pairs = NULL;
    size_t npairs = 0;
    link_model m;
    kith_rc rc = list_all(s.c, "Patient", load_patient, &d);
    if(!rc) rc = list_all(s.c, "Linkage", load_linkage, &d);
    if(rc) {
        fprintf(stderr, "kith link: cannot read the database: %s\n", kith_rc_name(rc));
        code = CLI_EXIT_FAILED;
        goto done;
    }
    strset_sort(&held);
    if(!d.left || !d.right) {
        printf("Nothing to link: %ld Patients with an NHS number, %ld without one and not yet linked.\n", d.left,
               d.right);
        goto done;
    }
    link_job_run(j, o, &pairs, &npairs, &m);
    if(!quiet) report(stdout, &m, o);
    long linked = 0, review = 0, known = 0;
    if(!dry_run) rc = store_begin(s.c);
    for(size_t i = 0; i < npairs && !rc; i++) {
        const char *left = link_job_id(j, LINK_LEFT, pairs[i].left), *right = link_job_id(j, LINK_RIGHT, pairs[i].right);
        char key[160];
        snprintf(key, sizeof key, "%s|%s", left, right);
        if(strset_has(&held, key)) { /* under review, or undone or rejected before */
            known++;
            continue;
        }
        bool link = pairs[i].decision == LINK_MATCH;
        link ? linked++ : review++;
        if(dry_run) continue;
        json_value *l = make_linkage(j, &pairs[i], &m, link ? "linked" : "review");
        rc = put(s.c, "Linkage", json_string(json_get(l, "id")), l);
        json_free(l);
        if(!rc && link) rc = patient_link(s.c, right, left, true);
    }
    if(!dry_run) rc = rc ? (store_rollback(s.c), rc) : store_commit(s.c);
    if(rc) {
        fprintf(stderr, "kith link: nothing was written: %s\n", kith_rc_name(rc));
        code = CLI_EXIT_FAILED;
        goto done;
    }
    if(!dry_run) /* the audit trail: one entry per decision */
        for(size_t i = 0; i < npairs; i++) {
            const char *left = link_job_id(j, LINK_LEFT, pairs[i].left),
                       *right = link_job_id(j, LINK_RIGHT, pairs[i].right);
            char key[160], what[96], detail[200], id[ID_UUID_LEN];
            snprintf(key, sizeof key, "%s|%s", left, right);
            if(strset_has(&held, key)) continue;
            linkage_id(left, right, id);
            snprintf(what, sizeof what, "Linkage/%s", id);
            snprintf(detail, sizeof detail, "%s Patient/%s with Patient/%s, probability %.6f",
                     pairs[i].decision == LINK_MATCH ? "linked" : "proposed for review", left, right,
                     pairs[i].probability);
            cli_audit_operator_about(s.c, "link", 'C', left, what, detail);
        }
    printf("%s %ld link%s and %ld pair%s for review%s (%ld pairs decided before; %ld Patients already linked or "
           "with a number that fails its check were left out).\n",
           dry_run ? "Would write" : "Wrote", linked, linked == 1 ? "" : "s", review, review == 1 ? "" : "s",
           dry_run ? " (dry run: nothing written)" : "", known, d.skipped);
done:
    free(pairs);
    strset_free(&held);
    link_job_free(j);
    store_close(s.st);
    return code;
}

/* ---- review, explain, accept, undo --------------------------------------------------- */

static json_value *ext_find(const json_value *l, const char *url);

static const char *linkage_status(const json_value *l) {
    const char *s = json_string(json_get(ext_find(l, EXT "link-status"), "valueCode"));
    return s ? s : "";
}

static void set_status(json_value *l, const char *status, const char *reason) {
    json_value *ext = json_get(l, "extension"), *st = ext_find(l, EXT "link-status");
    if(st) json_set(st, "valueCode", json_new_string(status));
    if(reason) json_append(ext, ext_value(EXT "link-decision-reason", "valueString", json_new_string(reason)));
    auth_principal op = cli_operator();
    json_append(ext, ext_value(EXT "link-decided-by", "valueString", json_new_string(op.name)));
    json_set(l, "active", json_new_bool(strcmp(status, "linked") == 0));
}

/* The Linkage's extension url (first), or NULL. Borrowed. */
static json_value *ext_find(const json_value *l, const char *url) {
    json_value *ext = json_get(l, "extension");
    for(size_t i = 0; i < json_array_len(ext); i++) {
        const char *u = json_string(json_get(json_array_at(ext, i), "url"));
        if(u && strcmp(u, url) == 0) return json_array_at(ext, i);
    }
    return NULL;
}

static const char *number_of(const json_value *l, const char *url) {
    const char *t = json_number_text(json_get(ext_find(l, url), "valueDecimal"));
    return t ? t : "?";
}

static void print_explanation(const json_value *l) {
    const char *left, *right;
    linkage_items(l, &left, &right);
    printf("Linkage/%s: Patient/%s (NHS record) and Patient/%s: %s\n", json_string(json_get(l, "id")),
           left ? left : "?", right ? right : "?", linkage_status(l));
    printf("  %-11s %-34s %8s\n", "prior", "(before looking at any field)", number_of(l, EXT "link-prior-weight"));
    json_value *ext = json_get(l, "extension");
    for(size_t i = 0; i < json_array_len(ext); i++) {
        json_value *e = json_array_at(ext, i);
        const char *u = json_string(json_get(e, "url"));
        if(!u || strcmp(u, EXT "link-field") != 0) continue;
        const char *f = NULL, *lv = NULL, *w = NULL;
        json_value *sub = json_get(e, "extension");
        for(size_t k = 0; k < json_array_len(sub); k++) {
            json_value *x = json_array_at(sub, k);
            const char *su = json_string(json_get(x, "url"));
            if(!su) continue;
            if(strcmp(su, "field") == 0) f = json_string(json_get(x, "valueCode"));
            if(strcmp(su, "level") == 0) lv = json_string(json_get(x, "valueString"));
            if(strcmp(su, "weight") == 0) w = json_number_text(json_get(x, "valueDecimal"));
        }
        printf("  %-11s %-34s %8s\n", f ? f : "", lv ? lv : "", w ? w : "");
    }
    printf("  %-11s %-34s %8s  probability %s\n", "total", "(bits)", number_of(l, EXT "link-weight"),
           number_of(l, EXT "link-probability"));
    const char *reason = json_string(json_get(ext_find(l, EXT "link-decision-reason"), "valueString"));
    const char *by = json_string(json_get(ext_find(l, EXT "link-decided-by"), "valueString"));
    if(by) printf("  decided by %s%s%s\n", by, reason ? ": " : "", reason ? reason : "");
}

typedef struct review_list {
    long n;
    char last[72];
} review_list;

static int print_review(void *ctx, const store_resource *r) {
    review_list *rl = ctx;
    snprintf(rl->last, sizeof rl->last, "%s", r->id);
    json_value *l = NULL;
    char err[128];
    if(json_parse(r->body, r->body_len, &l, err, sizeof err)) return 0;
    if(strcmp(linkage_status(l), "review") == 0) {
        const char *left, *right;
        linkage_items(l, &left, &right);
        const char *p = number_of(l, EXT "link-probability");
        printf("%-36s  %-24s %-24s %s\n", r->id, left ? left : "?", right ? right : "?", p ? p : "");
        rl->n++;
    }
    json_free(l);
    return 0;
}

static int decide(const char *db, const char *cmd, const char *id, const char *reason) {
    cli_session s;
    int code = cli_open_db(db, &s, "link");
    if(code) return code;
    json_value *l = get(s.c, "Linkage", id);
    kith_rc rc = KITH_OK;
    if(!l) {
        fprintf(stderr, "kith link %s: there is no Linkage/%s\n", cmd, id);
        code = CLI_EXIT_REJECTED;
        goto done;
    }
    if(strcmp(cmd, "explain") == 0) {
        print_explanation(l);
        goto done;
    }
    const char *status = linkage_status(l), *left, *right;
    linkage_items(l, &left, &right);
    bool accept = strcmp(cmd, "accept") == 0;
    if(!left || !right || (accept && strcmp(status, "review") != 0) ||
       (!accept && strcmp(status, "linked") != 0 && strcmp(status, "review") != 0)) {
        fprintf(stderr, "kith link %s: Linkage/%s is %s: only %s\n", cmd, id, *status ? status : "not Kith's",
                accept ? "a pair under review can be accepted" : "a link or a pair under review can be undone");
        code = CLI_EXIT_REJECTED;
        goto done;
    }
    char l_id[80], r_id[80];
    snprintf(l_id, sizeof l_id, "%s", left);
    snprintf(r_id, sizeof r_id, "%s", right);
    bool was_linked = strcmp(status, "linked") == 0;
    set_status(l, accept ? "linked" : "rejected", reason);
    rc = store_begin(s.c);
    if(!rc) rc = put(s.c, "Linkage", id, l);
    if(!rc && (accept || was_linked)) rc = patient_link(s.c, r_id, l_id, accept);
    if(!rc && !accept && was_linked) rc = patient_link(s.c, l_id, r_id, false); /* written by hand, perhaps */
    rc = rc ? (store_rollback(s.c), rc) : store_commit(s.c);
    if(rc) {
        fprintf(stderr, "kith link %s: nothing was changed: %s\n", cmd, kith_rc_name(rc));
        code = CLI_EXIT_FAILED;
        goto done;
    }
    char what[96], detail[400];
    snprintf(what, sizeof what, "Linkage/%s", id);
    snprintf(detail, sizeof detail, "%s Patient/%s with Patient/%s%s%s", accept ? "linked" : was_linked ? "unlinked" : "rejected",
             l_id, r_id, reason ? ": " : "", reason ? reason : "");
    cli_audit_operator_about(s.c, accept ? "link-accept" : "link-undo", 'U', l_id, what, detail);
    printf("Linkage/%s: %s\n", id, detail);
done:
    json_free(l);
    store_close(s.st);
    return code;
}

int cli_link(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},         {"left", required_argument, NULL, 'L'},
        {"right", required_argument, NULL, 'R'},      {"out", required_argument, NULL, 'o'},
        {"threshold", required_argument, NULL, 't'},  {"review-from", required_argument, NULL, 'r'},
        {"threads", required_argument, NULL, 'j'},    {"seed", required_argument, NULL, 's'},
        {"dry-run", no_argument, NULL, 'n'},          {"quiet", no_argument, NULL, 'q'},
        {"reason", required_argument, NULL, 'W'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    link_options o;
    link_options_default(&o);
    const char *db = NULL, *left = NULL, *right = NULL, *out = NULL, *reason = NULL;
    bool dry_run = false, quiet = false;
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch(ch) {
        case 'd': db = optarg; break;
        case 'L': left = optarg; break;
        case 'R': right = optarg; break;
        case 'o': out = optarg; break;
        case 't':
            if(!parse_probability(optarg, &o.threshold)) return usage_error("--threshold must be a probability: %s", optarg);
            break;
        case 'r':
            if(!parse_probability(optarg, &o.review_from))
                return usage_error("--review-from must be a probability: %s", optarg);
            break;
        case 'j':
            o.threads = (int)strtol(optarg, &end, 10);
            if(*end || o.threads < 1 || o.threads > 64) return usage_error("--threads must be 1 to 64: %s", optarg);
            break;
        case 's':
            o.seed = strtoull(optarg, &end, 10);
            if(*end || !*optarg) return usage_error("--seed must be a number: %s", optarg);
            break;
        case 'n': dry_run = true; break;
        case 'q': quiet = true; break;
        case 'W': reason = optarg; break;
        case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
        default: return usage_error("%s", "unknown option");
        }
    }
    if(o.review_from > o.threshold) return usage_error("--review-from must not be above --threshold%s", "");
    if(optind < argc) {
        const char *cmd = argv[optind];
        if(strcmp(cmd, "review") == 0) {
            cli_session s;
            int code = cli_open_db(db, &s, "link");
            if(code) return code;
            review_list rl = {0};
            printf("%-36s  %-24s %-24s %s\n", "LINKAGE", "NHS RECORD", "OTHER RECORD", "PROBABILITY");
            for(;;) { /* page through the Linkages */
                char after[72];
                snprintf(after, sizeof after, "%s", rl.last);
                if(store_list(s.c, "Linkage", after[0] ? after : NULL, 2000, print_review, &rl)) {
                    code = CLI_EXIT_FAILED;
                    break;
                }
                if(strcmp(after, rl.last) == 0) break;
            }
            long n = rl.n;
            printf("%ld pair%s awaiting review\n", n, n == 1 ? "" : "s");
            store_close(s.st);
            return code;
        }
        if(strcmp(cmd, "explain") != 0 && strcmp(cmd, "accept") != 0 && strcmp(cmd, "undo") != 0)
            return usage_error("unknown subcommand %s", cmd);
        if(optind + 2 != argc) return usage_error("%s needs one Linkage id", cmd);
        if(strcmp(cmd, "undo") == 0 && (!reason || !*reason))
            return usage_error("%s needs --reason: say why the link is wrong (it is kept in the record)", cmd);
        return decide(db, cmd, argv[optind + 1], reason);
    }
    if(!left != !right) return usage_error("%s", "--left and --right go together");
    if(!left) {
        if(out) return usage_error("%s", "--out needs --left and --right");
        return run_db(db, &o, dry_run, quiet);
    }
    link_job *j = link_job_new();
    long refused = 0, skipped = 0;
    uint64_t t0 = clock_mono_us();
    int code = read_csv(j, LINK_LEFT, left, &refused, &skipped);
    if(!code) code = read_csv(j, LINK_RIGHT, right, &refused, &skipped);
    double read_s = (double)(clock_mono_us() - t0) / 1e6;
    link_pair *pairs = NULL;
    size_t n = 0;
    link_model m;
    if(!code && link_job_run(j, &o, &pairs, &n, &m)) {
        fprintf(stderr, "kith link: a side has no records\n");
        code = CLI_EXIT_REJECTED;
    }
    if(!code) {
        FILE *f = out ? fopen(out, "w") : stdout;
        if(!f) {
            fprintf(stderr, "kith link: cannot write %s: %s\n", out, strerror(errno));
            code = CLI_EXIT_FAILED;
        } else {
            write_pairs(f, j, pairs, n);
            if(f != stdout && fclose(f)) code = CLI_EXIT_FAILED;
        }
        if(!quiet) {
            FILE *r = out ? stdout : stderr;
            fprintf(r, "read: %.2f s (%ld rows skipped: repeated ids or an NHS number)\n", read_s, skipped);
            report(r, &m, &o);
            fprintf(r, "total: %.2f s\n", (double)(clock_mono_us() - t0) / 1e6);
        }
    }
    if(!code && refused) code = CLI_EXIT_REJECTED;
    free(pairs);
    link_job_free(j);
    return code;
}
