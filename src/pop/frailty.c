/*
 * frailty.c — people's electronic Frailty Index as RiskAssessments (see
 * frailty.h and docs/population-health.md).
 *
 * The population run scores an extract (pop.h) that the caller filled in
 * one bulk read, and writes through pop_writer (writer.c: record_update, a
 * thousand to a transaction). The after-write hook reads one person's
 * compartment into a small extract of its own and writes their assessment
 * in the request's transaction, so scoring a person always runs the same
 * code, whether for a million people or one. An assessment is rewritten
 * only when its content changes: the hash of what is stored
 * (pop_assessment_hash) is compared with that of what would be written.
 * An assessment carries the security labels of its evidence.
 */
#include "pop/frailty.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "fhir/access.h"
#include "json/json.h"

#define ELDERLY 65

/* ---- who and what ------------------------------------------------------------ */

frailty_eligibility frailty_eligible(const pop_person *p, int32_t day, bool all_ages) {
    if(!p->seen || p->social_only) return FRAILTY_SOCIAL_ONLY;
    if(p->death != POP_OPEN && day >= p->death) return FRAILTY_DEAD;
    int age = pop_age(p, day);
    if(age < 0 && p->birth != POP_NEVER) return FRAILTY_TOO_YOUNG; /* not born yet */
    if(all_ages) return FRAILTY_SCORED;
    if(age < 0) return FRAILTY_NO_BIRTH;
    return age < ELDERLY ? FRAILTY_TOO_YOUNG : FRAILTY_SCORED;
}

void frailty_score(const pop_extract *x, const pop_person *p, int32_t day, bool second, frailty_result *out) {
    out->mask = pop_efi_mask(x, p, day, second, &out->drugs);
    out->deficits = efi_count(out->mask);
    out->category = efi_category_of_count(out->deficits);
}

void frailty_assessment_id(const char *prefix, const char *pid, char out[72]) {
    size_t np = strlen(prefix), n = strlen(pid);
    if(np + n <= 64) {
        memcpy(out, prefix, np);
        memcpy(out + np, pid, n + 1);
        return;
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for(const char *s = pid; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    snprintf(out, 72, "%sh%016llx", prefix, (unsigned long long)h);
}

static void put_string(buf *b, const char *s) {
    buf_putc(b, '"');
    buf_json_escape(b, s);
    buf_putc(b, '"');
}

/* Add the "system|code" lines of labels (pop_text) to the set *seen (copies, caller frees). */
static void labels_add(const char *labels, const char ***seen, size_t *n, size_t *cap) {
    for(const char *l = labels; l && *l;) {
        size_t len = strcspn(l, "\n");
        bool have = false;
        for(size_t i = 0; i < *n && !have; i++) have = strlen((*seen)[i]) == len && strncmp((*seen)[i], l, len) == 0;
        if(!have) {
            if(*n == *cap) {
                *cap = *cap ? *cap * 2 : 4;
                *seen = xrealloc(*seen, *cap * sizeof **seen);
            }
            (*seen)[(*n)++] = xstrndup(l, len);
        }
        l += len + (l[len] == '\n');
    }
}

/* The labels as meta.security (the evidence's confidentiality carries over:
 * whoever may not see the evidence may not see the assessment); frees them. */
static void put_labels(buf *b, const char **labels, size_t n) {
    if(!n) return;
    buf_puts(b, ",\"meta\":{\"security\":[");
    for(size_t i = 0; i < n; i++) {
        const char *bar = strchr(labels[i], '|');
        buf_puts(b, i ? ",{" : "{");
        if(bar > labels[i]) {
            buf_puts(b, "\"system\":\"");
            buf_append(b, labels[i], (size_t)(bar - labels[i]));
            buf_puts(b, "\",");
        }
        buf_puts(b, "\"code\":");
        put_string(b, bar + 1);
        buf_putc(b, '}');
        free((char *)labels[i]);
    }
    buf_puts(b, "]}");
}

/* Append ref to the basis unless it is there already (a record may give several deficits). */
static void basis_add(buf *b, const char ***seen, size_t *n, size_t *cap, const char *ref) {
    for(size_t i = 0; i < *n; i++)
        if(strcmp((*seen)[i], ref) == 0) return;
    if(*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *seen = xrealloc(*seen, *cap * sizeof **seen);
    }
    (*seen)[(*n)++] = ref;
    buf_puts(b, *n > 1 ? ",{\"reference\":" : "{\"reference\":");
    put_string(b, ref);
    buf_putc(b, '}');
}

char *frailty_assessment(const pop_extract *x, const pop_person *p, int32_t day, const frailty_result *r,
                         const char *when, size_t *len) {
    const char *pid = pop_text(x, p->id);
    char id[72], score[16];
    frailty_assessment_id("efi-", pid, id);
    efi_score_text(r->deficits, score);
    buf b = BUF_INIT, basis = BUF_INIT;
    const char **seen = NULL, **labels = NULL;
    size_t nseen = 0, capseen = 0, nlabels = 0, caplabels = 0;
    buf_puts(&b, "{\"resourceType\":\"RiskAssessment\",\"id\":");
    put_string(&b, id);
    buf_puts(&b, ",\"extension\":[{\"url\":\"" FRAILTY_EXT "efi-score\",\"valueDecimal\":");
    buf_puts(&b, score);
    buf_printf(&b, "},{\"url\":\"" FRAILTY_EXT "efi-deficits\",\"valueInteger\":%d}", r->deficits);
    for(int d = 0; d < EFI_DEFICITS; d++) {
        if(!(r->mask & (1ull << d))) continue;
        buf_printf(&b,
                   ",{\"url\":\"" FRAILTY_EXT "efi-deficit\",\"extension\":[{\"url\":\"deficit\",\"valueCoding\":{"
                   "\"system\":\"" FRAILTY_DEFICIT_SYS "\",\"code\":\"%s\",\"display\":\"%s\"}}",
                   efi_deficit_key[d], efi_deficit_name[d]);
        if(d == EFI_POLYPHARMACY) {
            buf_printf(&b, ",{\"url\":\"drugs\",\"valueInteger\":%d}", r->drugs);
            for(uint32_t i = 0; i < p->med_n; i++) {
                const pop_med *m = &x->meds[p->med_lo + i];
                if(!pop_med_on(m, p, day)) continue;
                buf_puts(&b, ",{\"url\":\"evidence\",\"valueReference\":{\"reference\":");
                put_string(&b, pop_text(x, m->ref));
                buf_puts(&b, "}}");
                basis_add(&basis, &seen, &nseen, &capseen, pop_text(x, m->ref));
                if(m->labels != POP_NO_LABELS) labels_add(pop_text(x, m->labels), &labels, &nlabels, &caplabels);
            }
        } else {
            for(uint32_t i = 0; i < p->fact_n; i++) {
                const pop_fact *f = &x->facts[p->fact_lo + i];
                if(!(f->mask & (1ull << d)) || !pop_fact_on(f, day)) continue;
                buf_puts(&b, ",{\"url\":\"evidence\",\"valueReference\":{\"reference\":");
                put_string(&b, pop_text(x, f->ref));
                buf_puts(&b, "}}");
                basis_add(&basis, &seen, &nseen, &capseen, pop_text(x, f->ref));
                if(f->labels != POP_NO_LABELS) labels_add(pop_text(x, f->labels), &labels, &nlabels, &caplabels);
            }
        }
        buf_puts(&b, "]}");
    }
    buf_putc(&b, ']');
    put_labels(&b, labels, nlabels);
    free(labels);
    buf_puts(&b, ",\"status\":\"final\",\"method\":{\"coding\":[{\"system\":\"" FRAILTY_METHOD_SYS
                 "\",\"code\":\"efi\",\"display\":\"electronic Frailty Index\"}]},\"code\":{\"text\":\"Frailty\"},"
                 "\"subject\":{\"reference\":\"Patient/");
    buf_json_escape(&b, pid);
    buf_puts(&b, "\"},\"occurrenceDateTime\":");
    put_string(&b, when);
    if(basis.len) {
        buf_puts(&b, ",\"basis\":[");
        buf_append(&b, basis.data, basis.len);
        buf_putc(&b, ']');
    }
    buf_printf(&b,
               ",\"prediction\":[{\"outcome\":{\"text\":\"Frailty\"},\"qualitativeRisk\":{\"coding\":[{\"system\":\"" FRAILTY_CATEGORY_SYS
               "\",\"code\":\"%s\"}]}}]}",
               efi_category_code(r->category));
    free(seen);
    buf_free(&basis);
    return buf_take(&b, len);
}

/* ---- the code list and the day ------------------------------------------------ */

static pthread_once_t codes_once = PTHREAD_ONCE_INIT;
static efi_codes *default_codes;

static void load_default_codes(void) {
    const char *dir = getenv("KITH_EFI_CODES");
    if(dir && *dir) {
        buf errors = BUF_INIT;
        long nbad = 0;
        if(efi_codes_load_dir(dir, &default_codes, &errors, &nbad) == KITH_OK) {
            log_event(LOG_INFO, "eFI code lists loaded", "\"dir\":\"%s\",\"codes\":%zu", dir, efi_codes_size(default_codes));
        } else {
            log_event(LOG_ERROR, "cannot use the eFI code lists in KITH_EFI_CODES: using Kith's own list",
                      "\"dir\":\"%s\",\"problems\":%ld", dir, nbad);
            fputs(buf_str(&errors), stderr);
        }
        buf_free(&errors);
    }
    if(!default_codes) default_codes = efi_codes_builtin();
}

const efi_codes *frailty_default_codes(void) {
    pthread_once(&codes_once, load_default_codes);
    return default_codes;
}

int32_t frailty_today(void) {
    const char *e = getenv("KITH_NOW");
    int32_t day;
    if(e && *e && pop_day(e, &day)) return day;
    return (int32_t)(time(NULL) / 86400);
}

/* ---- writing ----------------------------------------------------------------- */

kith_rc frailty_run(store_conn *c, const pop_extract *x, const frailty_opts *o, frailty_counts *n,
                    frailty_progress_fn fn, void *ctx) {
    memset(n, 0, sizeof *n);
    pop_writer w;
    pop_writer_init(&w, c, o->batch);
    for(size_t i = 0; i < x->npeople && !w.rc; i++) {
        const pop_person *p = &x->people[i];
        if(fn && i % 10000 == 0) fn(ctx, (long)i, (long)x->npeople);
        if(!p->seen) continue;
        n->people++;
        frailty_eligibility e = frailty_eligible(p, o->day, o->all_ages);
        n->why[e]++;
        if(e != FRAILTY_SCORED) continue;
        frailty_result r;
        frailty_score(x, p, o->day, false, &r);
        n->category[r.category]++;
        n->deficits_total += r.deficits;
        if(o->compare) {
            frailty_result r2;
            frailty_score(x, p, o->day, true, &r2);
            n->same_score += r2.deficits == r.deficits;
            n->same_category += r2.category == r.category;
        }
        if(o->dry_run) continue;
        size_t len;
        char *text = frailty_assessment(x, p, o->day, &r, o->when, &len);
        pop_writer_put(&w, text, len, p->assessed);
        free(text);
    }
    kith_rc rc = pop_writer_finish(&w);
    n->written = w.written;
    n->unchanged = w.unchanged;
    n->failed = w.failed;
    if(fn) fn(ctx, (long)x->npeople, (long)x->npeople);
    return rc;
}

/* ---- one person, after a write ------------------------------------------------- */

/* Rescore Patient pid as of today (the caller has lifted access rules).
 * An assessment already stored is kept current; a new one is made only when
 * may_create and the person has a deficit. */
static bool rescore(store_conn *c, const char *pid, bool in_tx, bool may_create, char ra_id[72]) {
    pop_extract *x = pop_extract_new(frailty_default_codes(), NULL, POP_WANT_EFI | POP_WANT_ASSESSED);
    bool wrote = false;
    kith_rc rc = pop_extract_from_store(c, x, pid, NULL, NULL);
    pop_extract_finish(x);
    long i = rc ? -1 : pop_find(x, pid);
    if(rc) log_event(LOG_WARN, "cannot read a record to rescore its eFI", "\"patient\":\"%s\"", pid);
    if(i >= 0) {
        const pop_person *p = &x->people[i];
        int32_t day = frailty_today();
        /* people aged 65 and over, and anyone assessed already (kith frailty --all-ages) */
        frailty_eligibility e = frailty_eligible(p, day, p->assessed != 0);
        frailty_result r;
        if(e == FRAILTY_SCORED) frailty_score(x, p, day, false, &r);
        if(e == FRAILTY_SCORED && (p->assessed || (may_create && r.deficits > 0))) {
            char when[CLOCK_INSTANT_LEN];
            clock_instant_now(when);
            size_t len;
            char *text = frailty_assessment(x, p, day, &r, when, &len);
            pop_writer w;
            pop_writer_init(&w, c, 1);
            w.in_tx = in_tx;
            pop_writer_put(&w, text, len, p->assessed);
            rc = pop_writer_finish(&w);
            wrote = w.written > 0;
            if(wrote) snprintf(ra_id, 72, "%s", w.last_id);
            if(rc) log_event(LOG_WARN, "cannot store a rescored eFI", "\"patient\":\"%s\",\"error\":\"%s\"", pid,
                             kith_rc_name(rc));
            free(text);
        }
    }
    pop_extract_free(x);
    return wrote;
}

static bool rescored_type(const char *type) {
    static const char *const TYPES[] = {"Condition", "Observation", "Procedure", "MedicationRequest", "Patient"};
    for(size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
        if(strcmp(type, TYPES[i]) == 0) return true;
    return false;
}

/* The Patient a resource belongs to (its id for a Patient); false if none. */
static bool person_of(const char *type, const char *body, size_t len, char pid[72]) {
    json_value *r = NULL;
    if(!body || json_parse(body, len, &r, NULL, 0)) return false;
    bool ok;
    if(strcmp(type, "Patient") == 0) {
        const char *id = json_string(json_get(r, "id"));
        ok = id && strlen(id) < 72;
        if(ok) snprintf(pid, 72, "%s", id);
    } else {
        ok = pop_reference_patient(json_get(r, "subject"), pid);
    }
    json_free(r);
    return ok;
}

/* Run fn with the access policy lifted on c, then put the caller's back. */
typedef struct hook_args {
    const char *type, *body, *id;
    size_t len;
    bool in_tx;
    char *ra_id;
} hook_args;

static bool unrestricted(store_conn *c, bool (*fn)(store_conn *, hook_args *), hook_args *a) {
    access_request *ar = access_current();
    const store_viewer *v = ar ? ar->viewer : NULL;
    if(v && store_set_viewer(c, NULL)) return false;
    bool wrote = fn(c, a);
    if(v && store_set_viewer(c, v)) log_event(LOG_ERROR, "cannot restore the access policy after rescoring", NULL);
    return wrote;
}

static bool after_write(store_conn *c, hook_args *a) {
    char pid[72];
    return person_of(a->type, a->body, a->len, pid) &&
           rescore(c, pid, a->in_tx, strcmp(a->type, "Patient") != 0, a->ra_id);
}

static bool after_delete(store_conn *c, hook_args *a) {
    store_resource cur, prev;
    bool wrote = false;
    if(store_read(c, a->type, a->id, 0, &cur) == KITH_EGONE && cur.version > 1 &&
       store_read(c, a->type, a->id, cur.version - 1, &prev) == KITH_OK) {
        char pid[72];
        if(person_of(a->type, prev.body, prev.body_len, pid)) wrote = rescore(c, pid, a->in_tx, false, a->ra_id);
        store_resource_free(&prev);
    }
    store_resource_free(&cur);
    return wrote;
}

bool frailty_after_write(store_conn *c, const char *type, const char *body, size_t len, bool in_tx, char ra_id[72]) {
    if(!rescored_type(type) || !body) return false;
    hook_args a = {.type = type, .body = body, .len = len, .in_tx = in_tx, .ra_id = ra_id};
    return unrestricted(c, after_write, &a);
}

bool frailty_after_delete(store_conn *c, const char *type, const char *id, bool in_tx, char ra_id[72]) {
    if(!rescored_type(type) || strcmp(type, "Patient") == 0 || !id) return false;
    hook_args a = {.type = type, .id = id, .in_tx = in_tx, .ra_id = ra_id};
    return unrestricted(c, after_delete, &a);
}
