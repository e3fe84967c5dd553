/*
 * bulk.c — NDJSON export of current resources and the $export job registry
 * (see bulk.h).
 *
 * The writer walks the store with store_scan (one scan for system and
 * Patient-level exports, one per Patient for a Group) and appends each
 * resource's stored JSON text, as it is, to <Type>.ndjson.part. It keeps at
 * most WRITER_OPEN_FILES files open, closing the least recently used and
 * reopening it for append when its type comes back, so a Group export over
 * many types needs few descriptors. Only when every file is complete are
 * they synced and renamed to <Type>.ndjson.
 *
 * Jobs: one registry (a list under `reg_lock`) of every job. A job's worker
 * thread opens its own store connection (store_conn_for_thread) and releases
 * it (store_thread_release) before it ends; it changes the job's state and
 * outputs under the lock only. Whoever unlinks a job from the list (delete,
 * expiry, shutdown) owns it: sets its cancel flag, joins its thread, removes
 * its directory and frees it. Job ids are UUIDs made here; a job's files
 * live in <export dir>/<id>/ and are named from resource type names only.
 */
#include "fhir/bulk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "fhir/model.h"

#define WRITER_OPEN_FILES 16
#define WRITER_IOBUF (64u << 10)

/* ---- parsing ------------------------------------------------------------ */

static bool digits(const char *s, int n, int *out) {
    int v = 0;
    for(int i = 0; i < n; i++) {
        if(s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m) {
    static const int D[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if(m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return D[m - 1];
}

bool bulk_since_parse(const char *s, char out[CLOCK_INSTANT_LEN]) {
    int y = 0, mo = 1, d = 1, h = 0, mi = 0, sec = 0, ms = 0, off = 0;
    size_t n = strlen(s);
    if(n > 40 || n < 4 || !digits(s, 4, &y) || y < 1) return false;
    const char *p = s + 4;
    if(*p == '-') {
        if(!digits(p + 1, 2, &mo) || mo < 1 || mo > 12) return false;
        p += 3;
        if(*p == '-') {
            if(!digits(p + 1, 2, &d) || d < 1 || d > days_in_month(y, mo)) return false;
            p += 3;
            if(*p == 'T') {
                if(!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi) || p[6] != ':' ||
                   !digits(p + 7, 2, &sec) || h > 23 || mi > 59 || sec > 59)
                    return false;
                p += 9;
                if(*p == '.') {
                    p++;
                    int nd = 0;
                    bool rest_nonzero = false;
                    for(; *p >= '0' && *p <= '9'; p++, nd++) {
                        if(nd < 3)
                            ms = ms * 10 + (*p - '0');
                        else if(*p != '0')
                            rest_nonzero = true;
                    }
                    if(nd == 0) return false;
                    for(int k = nd; k < 3; k++) ms *= 10;
                    if(rest_nonzero) ms++; /* round up: the bound stays inclusive of exactly what it names */
                }
                if(*p == 'Z') {
                    p++;
                } else if(*p == '+' || *p == '-') {
                    int oh, om;
                    if(!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 14 || om > 59)
                        return false;
                    off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
                    p += 6;
                } else {
                    return false; /* a time needs a zone */
                }
            }
        }
    }
    if(*p) return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm) - off;
    if(ms >= 1000) {
        ms -= 1000;
        t++;
    }
    struct tm u;
    if(!gmtime_r(&t, &u)) return false;
    char text[96];
    int len = snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", u.tm_year + 1900, u.tm_mon + 1,
                       u.tm_mday, u.tm_hour, u.tm_min, u.tm_sec, ms);
    if(len != 24) return false; /* outside years 0000-9999 after the zone shift */
    memcpy(out, text, 25);
    return true;
}

void bulk_types_free(char **types, size_t n) {
    for(size_t i = 0; i < n; i++) free(types[i]);
    free(types);
}

kith_rc bulk_types_parse(const char *list, char ***types, size_t *n, char *bad, size_t badlen) {
    const char *p = list;
    bool any = false;
    for(;;) {
        size_t len = strcspn(p, ",");
        const char *a = p, *b = p + len;
        while(a < b && *a == ' ') a++;
        while(b > a && b[-1] == ' ') b--;
        char name[72];
        snprintf(name, sizeof name, "%.*s", (int)(b - a > 70 ? 70 : b - a), a);
        if(b - a > 64 || !fhir_type_is_resource(name)) {
            if(bad) snprintf(bad, badlen, "%s", name);
            return KITH_EINVAL;
        }
        any = true;
        bool seen = false;
        for(size_t i = 0; i < *n && !seen; i++) seen = strcmp((*types)[i], name) == 0;
        if(!seen) {
            if(*n >= BULK_MAX_TYPES) return KITH_ETOOBIG;
            *types = xrealloc(*types, (*n + 1) * sizeof **types);
            (*types)[(*n)++] = xstrdup(name);
        }
        if(!p[len]) break;
        p += len + 1;
    }
    return any ? KITH_OK : KITH_EINVAL;
}

/* ---- the NDJSON writer -------------------------------------------------- */

typedef struct out_file {
    char type[64];
    FILE *f;       /* NULL while closed (it is reopened for append) */
    char *iobuf;   /* stdio buffer of f */
    int64_t count;
    uint64_t used; /* last use, for closing the least recently used */
} out_file;

typedef struct writer {
    const bulk_spec *spec;
    out_file *files;
    size_t n, cap, nopen;
    uint64_t tick;
    int64_t written;
    kith_rc rc;
    char *err;
    size_t errlen;
} writer;

static void file_path(const writer *w, const char *type, bool part, char *path, size_t len) {
    snprintf(path, len, "%s/%s.ndjson%s", w->spec->dir, type, part ? ".part" : "");
}

static bool type_name_safe(const char *t) {
    size_t n = 0;
    for(; t[n]; n++)
        if(!((t[n] >= 'A' && t[n] <= 'Z') || (t[n] >= 'a' && t[n] <= 'z'))) return false;
    return n > 0 && n < 64;
}

static kith_rc close_file(writer *w, out_file *o, bool sync) {
    if(!o->f) return KITH_OK;
    int bad = fflush(o->f) != 0;
    if(!bad && sync) bad = fsync(fileno(o->f)) != 0;
    if(fclose(o->f) != 0) bad = 1;
    o->f = NULL;
    free(o->iobuf);
    o->iobuf = NULL;
    w->nopen--;
    return bad ? KITH_EIO : KITH_OK;
}

/* fsync a .part file that was closed earlier to spare descriptors. */
static kith_rc sync_closed(const writer *w, const char *type) {
    char path[4096];
    file_path(w, type, true, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if(fd < 0) return KITH_EIO;
    int bad = fsync(fd) != 0;
    close(fd);
    return bad ? KITH_EIO : KITH_OK;
}

static kith_rc fail(writer *w, kith_rc rc, const char *fmt, const char *a) {
    if(!w->rc) {
        w->rc = rc;
        snprintf(w->err, w->errlen, fmt, a, strerror(errno));
    }
    return rc;
}

/* The open file for type (opening, or reopening, it); NULL on failure (w->rc set). */
static out_file *file_for(writer *w, const char *type) {
    out_file *o = NULL;
    for(size_t i = 0; i < w->n && !o; i++)
        if(strcmp(w->files[i].type, type) == 0) o = &w->files[i];
    if(o && o->f) {
        o->used = ++w->tick;
        return o;
    }
    if(!type_name_safe(type)) {
        w->rc = KITH_EINTERNAL;
        snprintf(w->err, w->errlen, "the store holds a resource of type '%.64s'", type);
        return NULL;
    }
    if(w->nopen >= WRITER_OPEN_FILES) {
        out_file *lru = NULL;
        for(size_t i = 0; i < w->n; i++)
            if(w->files[i].f && (!lru || w->files[i].used < lru->used)) lru = &w->files[i];
        if(lru && close_file(w, lru, false)) {
            fail(w, KITH_EIO, "cannot write %s.ndjson: %s", lru->type);
            return NULL;
        }
    }
    if(!o) {
        if(w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 16;
            w->files = xrealloc(w->files, w->cap * sizeof *w->files);
        }
        o = &w->files[w->n++];
        memset(o, 0, sizeof *o);
        snprintf(o->type, sizeof o->type, "%s", type);
    }
    char path[4096];
    file_path(w, type, true, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (o->count ? O_APPEND : O_TRUNC), 0640);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if(!f) {
        if(fd >= 0) close(fd);
        fail(w, KITH_EIO, "cannot create %s: %s", path);
        return NULL;
    }
    o->iobuf = xmalloc(WRITER_IOBUF);
    setvbuf(f, o->iobuf, _IOFBF, WRITER_IOBUF);
    o->f = f;
    o->used = ++w->tick;
    w->nopen++;
    return o;
}

static int write_row(void *ctx, const store_resource *r) {
    writer *w = ctx;
    if(w->spec->cancel && atomic_load(w->spec->cancel)) {
        w->rc = KITH_EBUSY;
        snprintf(w->err, w->errlen, "the export was cancelled");
        return 1;
    }
    if(!r->body) return 0;
    out_file *o = file_for(w, r->type);
    if(!o) return 1;
    /* Stored JSON is compact, so it has no raw line breaks; if one ever
     * did, it could only be whitespace between tokens. */
    bool ok;
    if(memchr(r->body, '\n', r->body_len) || memchr(r->body, '\r', r->body_len)) {
        ok = true;
        for(size_t i = 0; i < r->body_len && ok; i++) {
            char ch = r->body[i];
            ok = fputc(ch == '\n' || ch == '\r' ? ' ' : ch, o->f) != EOF;
        }
    } else {
        ok = fwrite(r->body, 1, r->body_len, o->f) == r->body_len;
    }
    if(!ok || fputc('\n', o->f) == EOF) {
        fail(w, KITH_EIO, "cannot write %s.ndjson: %s", r->type);
        return 1;
    }
    o->count++;
    w->written++;
    if(w->spec->progress) w->spec->progress(w->spec->progress_ctx, w->written);
    return 0;
}

static int cmp_output(const void *a, const void *b) {
    return strcmp(((const bulk_output *)a)->type, ((const bulk_output *)b)->type);
}

kith_rc bulk_write_ndjson(store_conn *c, const bulk_spec *spec, bulk_output **out, size_t *nout, char *err,
                          size_t errlen) {
    char path[4096], final[4096];
    writer w = {.spec = spec, .err = err, .errlen = errlen};
    *out = NULL;
    *nout = 0;
    if(err && errlen) err[0] = '\0';
    store_scan_query q = {.types = spec->types,
                          .ntypes = spec->ntypes,
                          .since = spec->since,
                          .in_compartment = spec->scope == BULK_ALL_PATIENTS};
    kith_rc rc = KITH_OK;
    if(spec->scope == BULK_PATIENT_LIST) {
        for(size_t i = 0; i < spec->npatients && !rc && !w.rc; i++) {
            q.patient = spec->patients[i];
            rc = store_scan(c, &q, write_row, &w);
        }
    } else {
        rc = store_scan(c, &q, write_row, &w);
    }
    if(w.rc) rc = w.rc;
    if(rc && !w.rc) snprintf(err, errlen, "reading the store failed: %s", kith_rc_name(rc));
    for(size_t i = 0; i < w.n; i++) {
        bool was_open = w.files[i].f != NULL;
        kith_rc r = close_file(&w, &w.files[i], !rc);
        if(!r && !rc && !was_open) r = sync_closed(&w, w.files[i].type);
        if(r && !rc) {
            rc = r;
            snprintf(err, errlen, "cannot write %s.ndjson: %s", w.files[i].type, strerror(errno));
        }
    }
    for(size_t i = 0; i < w.n && !rc; i++) {
        file_path(&w, w.files[i].type, true, path, sizeof path);
        file_path(&w, w.files[i].type, false, final, sizeof final);
        if(rename(path, final) != 0) {
            rc = KITH_EIO;
            snprintf(err, errlen, "cannot rename %s: %s", path, strerror(errno));
            for(size_t k = 0; k < i; k++) { /* undo: leave no half export behind */
                file_path(&w, w.files[k].type, false, final, sizeof final);
                unlink(final);
            }
        }
    }
    if(rc) {
        for(size_t i = 0; i < w.n; i++) {
            file_path(&w, w.files[i].type, true, path, sizeof path);
            unlink(path);
        }
    } else if(w.n) {
        bulk_output *o = xcalloc(w.n, sizeof *o);
        for(size_t i = 0; i < w.n; i++) {
            snprintf(o[i].type, sizeof o[i].type, "%s", w.files[i].type);
            o[i].count = w.files[i].count;
        }
        qsort(o, w.n, sizeof *o, cmp_output);
        *out = o;
        *nout = w.n;
    }
    free(w.files);
    return rc;
}

/* ---- jobs --------------------------------------------------------------- */

typedef struct bulk_job {
    char id[ID_UUID_LEN];
    char *dir;     /* <export dir>/<id> */
    char *request;
    char *owner;   /* the account that asked, or NULL */
    bool secondary_use; /* leave out people with the national data opt-out */
    char transaction_time[CLOCK_INSTANT_LEN];
    store *st;     /* borrowed */
    bulk_scope scope;
    char **types;
    size_t ntypes;
    char since[CLOCK_INSTANT_LEN]; /* "" when none */
    char **patients;
    size_t npatients;
    atomic_bool cancel;
    _Atomic int64_t written, expected;
    pthread_t thread;
    /* guarded by reg_lock */
    bulk_state state;
    bulk_output *outputs;
    size_t noutputs;
    char error[256];
    uint64_t ended_us; /* clock_mono_us when it stopped running */
    struct bulk_job *next;
} bulk_job;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static bulk_job *jobs;     /* guarded by reg_lock */
static char *export_dir;   /* guarded by reg_lock; NULL: BULK_DEFAULT_DIR */

void bulk_configure(const char *dir) {
    pthread_mutex_lock(&reg_lock);
    free(export_dir);
    export_dir = dir ? xstrdup(dir) : NULL;
    pthread_mutex_unlock(&reg_lock);
}

bool bulk_job_id_valid(const char *s) {
    for(int i = 0; i < ID_UUID_LEN - 1; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if(dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return s[ID_UUID_LEN - 1] == '\0';
}

/* Remove a job directory and the files the writer puts in it. */
static void remove_job_dir(const char *dir) {
    DIR *d = opendir(dir);
    if(d) {
        struct dirent *e;
        while((e = readdir(d))) {
            if(e->d_name[0] == '.') continue;
            unlinkat(dirfd(d), e->d_name, 0);
        }
        closedir(d);
    }
    if(rmdir(dir) != 0 && errno != ENOENT) {
        int e = errno;
        buf d = BUF_INIT;
        buf_json_escape(&d, dir);
        log_event(LOG_WARN, "cannot remove export directory", "\"dir\":\"%s\",\"error\":\"%s\"", buf_str(&d),
                  strerror(e));
        buf_free(&d);
    }
}

static void job_free(bulk_job *j) {
    bulk_types_free(j->types, j->ntypes);
    bulk_types_free(j->patients, j->npatients);
    free(j->outputs);
    free(j->request);
    free(j->owner);
    free(j->dir);
    free(j);
}

/* Stop, join and delete a job already unlinked from the list. */
static void job_destroy(bulk_job *j) {
    atomic_store(&j->cancel, true);
    pthread_join(j->thread, NULL);
    remove_job_dir(j->dir);
    job_free(j);
}

static void job_progress(void *ctx, int64_t written) {
    bulk_job *j = ctx;
    atomic_store(&j->written, written);
}

static void *job_main(void *arg) {
    bulk_job *j = arg;
    bulk_output *outs = NULL;
    size_t nouts = 0;
    char err[256] = "";
    kith_rc rc = KITH_OK;
    store_conn *c = store_conn_for_thread(j->st);
    store_viewer secondary = {.secondary_use = true};
    if(!c || (j->secondary_use && store_set_viewer(c, &secondary))) {
        rc = KITH_ESTORE;
        snprintf(err, sizeof err, "the database cannot be opened");
        goto done;
    }
    store_scan_query q = {.types = (const char *const *)j->types,
                          .ntypes = j->ntypes,
                          .since = j->since[0] ? j->since : NULL,
                          .in_compartment = j->scope == BULK_ALL_PATIENTS};
    int64_t expected = 0, n = 0;
    for(size_t i = 0; i < (j->scope == BULK_PATIENT_LIST ? j->npatients : 1) && expected >= 0; i++) {
        q.patient = j->scope == BULK_PATIENT_LIST ? j->patients[i] : NULL;
        expected = store_scan_count(c, &q, &n) ? -1 : expected + n;
        if(atomic_load(&j->cancel)) break;
    }
    atomic_store(&j->expected, expected);
    bulk_spec spec = {.dir = j->dir,
                      .scope = j->scope,
                      .types = (const char *const *)j->types,
                      .ntypes = j->ntypes,
                      .since = q.since,
                      .patients = (const char *const *)j->patients,
                      .npatients = j->npatients,
                      .cancel = &j->cancel,
                      .progress = job_progress,
                      .progress_ctx = j};
    rc = bulk_write_ndjson(c, &spec, &outs, &nouts, err, sizeof err);
done:
    store_thread_release(j->st);
    pthread_mutex_lock(&reg_lock);
    j->state = rc ? BULK_FAILED : BULK_DONE;
    j->outputs = outs;
    j->noutputs = nouts;
    snprintf(j->error, sizeof j->error, "%s", err);
    j->ended_us = clock_mono_us();
    pthread_mutex_unlock(&reg_lock);
    if(rc && rc != KITH_EBUSY)
        log_event(LOG_WARN, "export failed", "\"job\":\"%s\",\"error\":\"%s\"", j->id, kith_rc_name(rc));
    return NULL;
}

/* Unlink finished jobs older than BULK_KEEP_SECONDS; returns them as a list
 * for the caller to destroy outside the lock. Call with reg_lock held. */
static bulk_job *take_expired(void) {
    uint64_t now = clock_mono_us();
    bulk_job *expired = NULL, **pp = &jobs;
    while(*pp) {
        bulk_job *j = *pp;
        if(j->state != BULK_RUNNING && now - j->ended_us > (uint64_t)BULK_KEEP_SECONDS * 1000000u) {
            *pp = j->next;
            j->next = expired;
            expired = j;
        } else {
            pp = &j->next;
        }
    }
    return expired;
}

static void destroy_list(bulk_job *j) {
    while(j) {
        bulk_job *next = j->next;
        job_destroy(j);
        j = next;
    }
}

static char **copy_strings(const char *const *v, size_t n) {
    if(!n) return NULL;
    char **out = xmalloc(n * sizeof *out);
    for(size_t i = 0; i < n; i++) out[i] = xstrdup(v[i]);
    return out;
}

kith_rc bulk_job_start(store *st, const bulk_job_params *p, char id[ID_UUID_LEN], char *err, size_t errlen) {
    kith_rc rc = KITH_OK;
    bulk_job *j = NULL, *expired = NULL;
    if(p->npatients > BULK_MAX_PATIENTS || p->ntypes > BULK_MAX_TYPES) {
        snprintf(err, errlen, "an export takes at most %d Patients and %d types", BULK_MAX_PATIENTS, BULK_MAX_TYPES);
        return KITH_ETOOBIG;
    }
    pthread_mutex_lock(&reg_lock);
    expired = take_expired();
    size_t running = 0, kept = 0;
    for(bulk_job *k = jobs; k; k = k->next) {
        kept++;
        if(k->state == BULK_RUNNING) running++;
    }
    if(running >= BULK_MAX_RUNNING || kept >= BULK_MAX_JOBS) {
        snprintf(err, errlen,
                 running >= BULK_MAX_RUNNING ? "%zu exports are running; try again when one has finished"
                                             : "%zu exports are kept; delete finished ones (DELETE their status URL)",
                 running >= BULK_MAX_RUNNING ? running : kept);
        rc = KITH_EBUSY;
        goto unlock;
    }
    const char *base = export_dir ? export_dir : BULK_DEFAULT_DIR;
    if(mkdir(base, 0750) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the export directory %s: %s", base, strerror(errno));
        rc = KITH_EIO;
        goto unlock;
    }
    j = xcalloc(1, sizeof *j);
    id_new_uuid(j->id);
    size_t dl = strlen(base) + ID_UUID_LEN + 2;
    j->dir = xmalloc(dl);
    snprintf(j->dir, dl, "%s/%s", base, j->id);
    if(mkdir(j->dir, 0750) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", j->dir, strerror(errno));
        rc = KITH_EIO;
        goto unlock;
    }
    j->request = xstrdup(p->request ? p->request : "");
    j->owner = p->owner ? xstrdup(p->owner) : NULL;
    j->secondary_use = p->secondary_use;
    clock_instant_now(j->transaction_time);
    j->st = st;
    j->scope = p->scope;
    j->types = copy_strings(p->types, p->ntypes);
    j->ntypes = p->ntypes;
    if(p->since) snprintf(j->since, sizeof j->since, "%s", p->since);
    j->patients = copy_strings(p->patients, p->npatients);
    j->npatients = p->npatients;
    atomic_init(&j->cancel, false);
    atomic_init(&j->written, 0);
    atomic_init(&j->expected, -1);
    j->state = BULK_RUNNING;
    if(pthread_create(&j->thread, NULL, job_main, j) != 0) {
        snprintf(err, errlen, "cannot start a worker thread");
        rmdir(j->dir);
        rc = KITH_EBUSY;
        goto unlock;
    }
    j->next = jobs;
    jobs = j;
    memcpy(id, j->id, ID_UUID_LEN);
    j = NULL;
unlock:
    pthread_mutex_unlock(&reg_lock);
    if(j) job_free(j);
    destroy_list(expired);
    return rc;
}

/* The job id, if owner may see it (owner NULL: anyone; a job with no owner: anyone). */
static bulk_job *find_locked(const char *id, const char *owner) {
    for(bulk_job *j = jobs; j; j = j->next)
        if(strcmp(j->id, id) == 0) return !owner || !j->owner || strcmp(owner, j->owner) == 0 ? j : NULL;
    return NULL;
}

kith_rc bulk_job_status(const char *id, const char *owner, bulk_status *out) {
    memset(out, 0, sizeof *out);
    if(!bulk_job_id_valid(id)) return KITH_ENOTFOUND;
    pthread_mutex_lock(&reg_lock);
    bulk_job *expired = take_expired();
    bulk_job *j = find_locked(id, owner);
    if(j) {
        out->state = j->state;
        memcpy(out->transaction_time, j->transaction_time, sizeof out->transaction_time);
        out->request = xstrdup(j->request);
        out->written = atomic_load(&j->written);
        out->expected = atomic_load(&j->expected);
        if(j->noutputs) {
            out->outputs = xmalloc(j->noutputs * sizeof *out->outputs);
            memcpy(out->outputs, j->outputs, j->noutputs * sizeof *out->outputs);
            out->noutputs = j->noutputs;
        }
        snprintf(out->error, sizeof out->error, "%s", j->error);
    }
    pthread_mutex_unlock(&reg_lock);
    destroy_list(expired);
    return j ? KITH_OK : KITH_ENOTFOUND;
}

void bulk_status_free(bulk_status *s) {
    free(s->request);
    free(s->outputs);
    memset(s, 0, sizeof *s);
}

kith_rc bulk_job_delete(const char *id, const char *owner) {
    if(!bulk_job_id_valid(id)) return KITH_ENOTFOUND;
    pthread_mutex_lock(&reg_lock);
    bulk_job *found = NULL;
    for(bulk_job **pp = &jobs; *pp; pp = &(*pp)->next) {
        if(strcmp((*pp)->id, id) == 0) {
            if(owner && (*pp)->owner && strcmp(owner, (*pp)->owner) != 0) break;
            found = *pp;
            *pp = found->next;
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    if(!found) return KITH_ENOTFOUND;
    job_destroy(found);
    return KITH_OK;
}

kith_rc bulk_job_file(const char *id, const char *owner, const char *type, char *path, size_t pathlen) {
    if(!bulk_job_id_valid(id) || !type_name_safe(type)) return KITH_ENOTFOUND;
    kith_rc rc = KITH_ENOTFOUND;
    pthread_mutex_lock(&reg_lock);
    bulk_job *j = find_locked(id, owner);
    for(size_t i = 0; j && j->state == BULK_DONE && i < j->noutputs; i++) {
        if(strcmp(j->outputs[i].type, type) == 0) {
            snprintf(path, pathlen, "%s/%s.ndjson", j->dir, j->outputs[i].type);
            rc = KITH_OK;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

void bulk_shutdown(void) {
    pthread_mutex_lock(&reg_lock);
    bulk_job *all = jobs;
    jobs = NULL;
    pthread_mutex_unlock(&reg_lock);
    for(bulk_job *j = all; j; j = j->next) atomic_store(&j->cancel, true);
    destroy_list(all);
    bulk_configure(NULL);
}
