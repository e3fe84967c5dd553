/*
 * cld_import.c — `kith import --format cld FILE`: load an Adult Social Care
 * Client Level Data (Release 1) CSV extract.
 *
 * Reads the file record by record (a quoted field may span lines; a record
 * is capped at CLD_MAX_LINE bytes), finds the columns from the header, maps
 * each row with src/social/cld.c and queues the resources on the loader,
 * which validates and writes them. A bad row is reported as `file:line:
 * reason` (the line the record starts on) and skipped; the rest load.
 *
 * Per file this keeps three small maps: NHS number -> Patient already held
 * (so each number is searched once), the people and councils already queued
 * (each queued once per file), and the events seen (a second row with the
 * same Event_Reference is rejected, so a re-import cannot flip between two
 * versions). Single-threaded: runs on the thread that owns the loader and c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "cli/loader.h"
#include "fhir/outcome.h"
#include "fhir/record.h"
#include "social/cld.h"
#include "store/store.h"

#define MAX_MATCHES 8 /* Patients looked at per NHS number */
#define CHUNK 65536   /* bytes read at a time */

/* ---- a string map (open addressing) -------------------------------------- */

typedef struct smap_entry {
    char *key; /* owned; NULL for an empty slot */
    char *val; /* owned; may be NULL */
    long line;
} smap_entry;

typedef struct smap {
    smap_entry *v;
    size_t cap, n; /* cap is 0 or a power of two */
} smap;

static uint64_t smap_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for(; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* The slot for key in a table of cap slots (cap > n). */
static smap_entry *smap_slot(smap_entry *v, size_t cap, const char *key) {
    size_t i = (size_t)smap_hash(key) & (cap - 1);
    while(v[i].key && strcmp(v[i].key, key) != 0) i = (i + 1) & (cap - 1);
    return &v[i];
}

/* The entry for key, or NULL. Borrowed. */
static smap_entry *smap_get(const smap *m, const char *key) {
    if(!m->cap) return NULL;
    smap_entry *e = smap_slot(m->v, m->cap, key);
    return e->key ? e : NULL;
}

/* The entry for key, added (val NULL, line 0) if absent. Borrowed. */
static smap_entry *smap_put(smap *m, const char *key) {
    if((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        smap_entry *v = xcalloc(cap, sizeof *v);
        for(size_t i = 0; i < m->cap; i++)
            if(m->v[i].key) *smap_slot(v, cap, m->v[i].key) = m->v[i];
        free(m->v);
        m->v = v;
        m->cap = cap;
    }
    smap_entry *e = smap_slot(m->v, m->cap, key);
    if(!e->key) {
        e->key = xstrdup(key);
        m->n++;
    }
    return e;
}

static void smap_free(smap *m) {
    for(size_t i = 0; i < m->cap; i++) {
        free(m->v[i].key);
        free(m->v[i].val);
    }
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* ---- finding people ------------------------------------------------------- */

typedef struct import_ctx {
    store_conn *c;
    smap people_by_nhs; /* NHS number -> Patient id, or val NULL for none */
} import_ctx;

/*
 * cld_find_person over the store: a Patient carrying the NHS number that
 * was not itself made by a CLD import (ids "cld-..."), so that a council's
 * own record never counts as "already held" and re-imports stay the same.
 * Among several, the smallest id, so the choice is stable.
 */
static bool find_person(void *ctx, const char *nhs, char *id_out, size_t id_len) {
    import_ctx *ic = ctx;
    smap_entry *e = smap_get(&ic->people_by_nhs, nhs);
    if(!e) {
        char query[128];
        snprintf(query, sizeof query, "identifier=%s|%s", CLD_NHS_NUMBER_SYSTEM, nhs);
        char **ids = NULL;
        size_t n = 0;
        fhir_issues is = FHIR_ISSUES_INIT;
        const char *best = NULL;
        if(record_match(ic->c, "Patient", query, MAX_MATCHES, &ids, &n, &is) == KITH_OK) {
            for(size_t i = 0; i < n; i++)
                if(strncmp(ids[i], "cld-", 4) != 0 && (!best || strcmp(ids[i], best) < 0)) best = ids[i];
        }
        e = smap_put(&ic->people_by_nhs, nhs);
        e->val = best ? xstrdup(best) : NULL;
        for(size_t i = 0; i < n; i++) free(ids[i]);
        free(ids);
        fhir_issues_free(&is);
    }
    if(!e->val) return false;
    snprintf(id_out, id_len, "%s", e->val);
    return true;
}

/* ---- the file ------------------------------------------------------------- */

typedef struct import_state {
    loader *l;
    const char *file;
    import_ctx ic;
    cld_header h;
    bool have_header;
    smap people;   /* Patient ids queued from this file */
    smap councils; /* LA codes looked at */
    smap events;   /* event ids -> the line that gave them */
} import_state;

static void free_all(json_value **res, size_t n) {
    for(size_t i = 0; i < n; i++) json_free(res[i]);
    free(res);
}

/* Queue the council's Organization unless it is held already (kith synth
 * writes a fuller one, which an import must not overwrite). */
static void queue_council(import_state *s, const char *raw_code, long line) {
    char code[64];
    size_t k = 0;
    for(const char *p = raw_code; *p && k < sizeof code - 1; p++)
        if(*p != ' ' && *p != '\t') code[k++] = *p;
    code[k] = '\0';
    if(smap_get(&s->councils, code)) return;
    smap_put(&s->councils, code);
    char id[80];
    snprintf(id, sizeof id, "la-%s", code);
    store_resource cur;
    memset(&cur, 0, sizeof cur);
    kith_rc rc = store_read(s->ic.c, "Organization", id, 0, &cur);
    store_resource_free(&cur);
    if(rc != KITH_ENOTFOUND) return;
    json_value *org = cld_organization(code);
    if(org) loader_add_json(s->l, s->file, line, org);
}

/* One record (line ending removed) on lines line..last. */
static kith_rc take_record(import_state *s, const char *text, size_t len, long line, long last) {
    char err[512] = "";
    char **fields = NULL;
    size_t n = 0;
    json_value **res = NULL;
    size_t nres = 0;
    kith_rc rc = KITH_OK;
    if(cld_split(text, len, &fields, &n, err, sizeof err)) {
        if(last > line) { /* an open quote ran on: say how far */
            size_t k = strlen(err);
            snprintf(err + k, sizeof err - k, " (the record runs on to line %ld)", last);
        }
        if(!s->have_header) goto bad_header;
        loader_reject(s->l, s->file, line, err);
        goto done;
    }
    if(!s->have_header) {
        if(cld_header_parse(fields, n, &s->h, err, sizeof err)) goto bad_header;
        s->h.nhs_policy = nhs_number_policy_from_env(); /* KITH_NHS_NUMBER_POLICY, once per file */
        s->have_header = true;
        goto done;
    }
    if(cld_row_map(&s->h, fields, n, find_person, &s->ic, &res, &nres, err, sizeof err)) {
        loader_reject(s->l, s->file, line, err);
        goto done;
    }
    json_value *event = res[nres - 1];
    const char *event_id = json_string(json_get(event, "id"));
    smap_entry *seen = smap_put(&s->events, event_id);
    if(seen->line) {
        snprintf(err, sizeof err, "Event_Reference: event %s was already given on line %ld", event_id, seen->line);
        loader_reject(s->l, s->file, line, err);
        goto done;
    }
    seen->line = line;
    queue_council(s, fields[s->h.col[CLD_LA_CODE]], line);
    for(size_t i = 0; i < nres; i++) {
        json_value *r = res[i];
        res[i] = NULL;
        if(strcmp(json_string(json_get(r, "resourceType")), "Patient") == 0) {
            const char *pid = json_string(json_get(r, "id"));
            if(smap_get(&s->people, pid)) {
                json_free(r);
                continue;
            }
            smap_put(&s->people, pid);
        }
        loader_add_json(s->l, s->file, line, r);
    }
    goto done;
bad_header:
    fprintf(stderr, "%s:%ld: %s\n", s->file, line, err);
    rc = KITH_EINVAL;
done:
    free_all(res, nres);
    free(fields);
    return rc;
}

kith_rc cli_import_cld(struct loader *l, store_conn *c, const char *file) {
    gzFile gz = gzopen(file, "rb");
    if(!gz) {
        fprintf(stderr, "%s: cannot open: %m\n", file);
        return KITH_EIO;
    }
    gzbuffer(gz, 256 * 1024);
    import_state s;
    memset(&s, 0, sizeof s);
    s.l = l;
    s.file = file;
    s.ic.c = c;
    buf rec;
    buf_init(&rec, CLD_MAX_LINE + 2); /* + the line ending */
    kith_rc rc = KITH_OK;
    char *chunk = xmalloc(CHUNK);
    long line = 0, start = 1;
    bool in_quotes = false, too_long = false, fresh = true;
    for(;;) {
        bool got = gzgets(gz, chunk, CHUNK) != NULL;
        if(!got && fresh) break;
        size_t n = got ? strlen(chunk) : 0;
        if(fresh) {
            start = line + 1;
            fresh = false;
        }
        if(!too_long && buf_append(&rec, chunk, n)) too_long = true;
        for(size_t i = 0; i < n; i++)
            if(chunk[i] == '"') in_quotes = !in_quotes;
        bool eol = n && chunk[n - 1] == '\n';
        if(got && !eol && !gzeof(gz)) continue; /* the same physical line goes on */
        if(got) line++;
        if(got && in_quotes && !too_long && !gzeof(gz)) continue; /* a quoted field spans lines */
        if(too_long) {
            char msg[96];
            snprintf(msg, sizeof msg, "record longer than %d bytes", CLD_MAX_LINE);
            if(!s.have_header) {
                fprintf(stderr, "%s:%ld: %s\n", file, start, msg);
                rc = KITH_EINVAL;
                break;
            }
            loader_reject(l, file, start, msg);
        } else {
            size_t len = rec.len;
            while(len && (rec.data[len - 1] == '\n' || rec.data[len - 1] == '\r')) len--;
            size_t k = 0;
            while(k < len && (rec.data[k] == ' ' || rec.data[k] == '\t')) k++;
            if(k < len) {
                rc = take_record(&s, rec.data, len, start, line);
                if(rc) break;
            }
        }
        buf_reset(&rec);
        in_quotes = too_long = false;
        fresh = true;
        if(!got || loader_failure(l)) break;
    }
    int errnum = 0;
    const char *gerr = gzerror(gz, &errnum);
    if(!rc && errnum && errnum != Z_STREAM_END) {
        fprintf(stderr, "%s: read failed: %s\n", file, gerr);
        rc = KITH_EIO;
    }
    if(!rc && !s.have_header && !loader_failure(l)) {
        fprintf(stderr, "%s: empty: no CLD header line\n", file);
        rc = KITH_EINVAL;
    }
    gzclose(gz);
    free(chunk);
    buf_free(&rec);
    smap_free(&s.ic.people_by_nhs);
    smap_free(&s.people);
    smap_free(&s.councils);
    smap_free(&s.events);
    return rc;
}
