/*
 * view_out.c — writing a view's rows (CSV, NDJSON, a JSON array) and running
 * a view over a store page by page.
 *
 * A writer formats each row into its own buffer and hands the bytes to its
 * sink whenever about 64 KiB are pending, so output streams to a file, a
 * pipe or an HTTP body without the table ever being held. CSV follows
 * RFC 4180: CRLF line ends, a field quoted when it holds a comma, a quote,
 * CR or LF, quotes doubled; null is an empty field.
 *
 * view_run_store reads the current resources of the view's type through
 * the caller's store connection — and so through whatever viewer (access
 * policy) is set on it — one page at a time (store_scan with a cursor),
 * parsing and running each.
 * Single-threaded per writer and per run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"
#include "view/view_int.h"

#define FLUSH_AT (64u << 10)
#define DEFAULT_PAGE 500

struct view_writer {
    const view *v;
    view_format f;
    bool header;
    bool started; /* the header / opening bracket is written */
    view_sink_fn sink;
    void *sink_ctx;
    buf b;
    int64_t rows;
    buf keys;       /* NDJSON / JSON: each column's "name": (escaped once), NUL-separated */
    size_t *key_at; /* where each column's key starts in keys */
};

bool view_format_parse(const char *s, view_format *out) {
    static const struct {
        const char *name;
        view_format f;
    } NAMES[] = {{"csv", VIEW_FORMAT_CSV},
                 {"text/csv", VIEW_FORMAT_CSV},
                 {"ndjson", VIEW_FORMAT_NDJSON},
                 {"application/x-ndjson", VIEW_FORMAT_NDJSON},
                 {"application/ndjson", VIEW_FORMAT_NDJSON},
                 {"application/fhir+ndjson", VIEW_FORMAT_NDJSON},
                 {"json", VIEW_FORMAT_JSON},
                 {"application/json", VIEW_FORMAT_JSON}};
    for(size_t i = 0; s && i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if(strcasecmp(s, NAMES[i].name) == 0) {
            *out = NAMES[i].f;
            return true;
        }
    }
    return false;
}

const char *view_format_media_type(view_format f) {
    switch(f) {
    case VIEW_FORMAT_CSV: return "text/csv; charset=utf-8";
    case VIEW_FORMAT_NDJSON: return "application/x-ndjson";
    case VIEW_FORMAT_JSON: return "application/json";
    }
    return "application/octet-stream";
}

view_writer *view_writer_new(const view *v, view_format f, bool header, view_sink_fn sink, void *sink_ctx) {
    view_writer *w = xcalloc(1, sizeof *w);
    w->v = v;
    w->f = f;
    w->header = header;
    w->sink = sink;
    w->sink_ctx = sink_ctx;
    w->key_at = xcalloc(v->ncolumns + 1, sizeof *w->key_at);
    for(size_t i = 0; i < v->ncolumns; i++) {
        w->key_at[i] = w->keys.len;
        buf_puts(&w->keys, i ? ",\"" : "\"");
        buf_json_escape(&w->keys, v->columns[i]);
        buf_puts(&w->keys, "\":");
        buf_putc(&w->keys, '\0');
    }
    return w;
}

void view_writer_free(view_writer *w) {
    if(!w) return;
    buf_free(&w->b);
    buf_free(&w->keys);
    free(w->key_at);
    free(w);
}

int64_t view_writer_rows(const view_writer *w) {
    return w->rows;
}

static kith_rc flush(view_writer *w) {
    if(!w->b.len) return KITH_OK;
    kith_rc rc = w->sink(w->sink_ctx, w->b.data, w->b.len);
    buf_reset(&w->b);
    return rc;
}

static void csv_field(buf *b, const char *s) {
    if(!strpbrk(s, ",\"\r\n")) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    for(const char *p = s; *p; p++) {
        if(*p == '"') buf_putc(b, '"');
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
}

static void start(view_writer *w) {
    if(w->started) return;
    w->started = true;
    if(w->f == VIEW_FORMAT_JSON) buf_putc(&w->b, '[');
    if(w->f != VIEW_FORMAT_CSV || !w->header) return;
    for(size_t i = 0; i < w->v->ncolumns; i++) {
        if(i) buf_putc(&w->b, ',');
        csv_field(&w->b, w->v->columns[i]);
    }
    buf_puts(&w->b, "\r\n");
}

static void json_cell(buf *b, const view_cell *c) {
    switch(c->kind) {
    case VIEW_NULL: buf_puts(b, "null"); break;
    case VIEW_STRING:
        buf_putc(b, '"');
        buf_json_escape(b, c->text);
        buf_putc(b, '"');
        break;
    case VIEW_NUMBER:
    case VIEW_BOOL:
    case VIEW_JSON: buf_puts(b, c->text); break;
    }
}

kith_rc view_writer_row(void *writer, const view_cell *cells, size_t ncells) {
    view_writer *w = writer;
    start(w);
    if(w->f == VIEW_FORMAT_CSV) {
        for(size_t i = 0; i < ncells; i++) {
            if(i) buf_putc(&w->b, ',');
            if(cells[i].kind != VIEW_NULL) csv_field(&w->b, cells[i].text);
        }
        buf_puts(&w->b, "\r\n");
    } else {
        if(w->f == VIEW_FORMAT_JSON && w->rows) buf_putc(&w->b, ',');
        if(w->f == VIEW_FORMAT_JSON) buf_putc(&w->b, '\n');
        buf_putc(&w->b, '{');
        for(size_t i = 0; i < ncells; i++) {
            buf_puts(&w->b, w->keys.data + w->key_at[i]);
            json_cell(&w->b, &cells[i]);
        }
        buf_putc(&w->b, '}');
        if(w->f == VIEW_FORMAT_NDJSON) buf_putc(&w->b, '\n');
    }
    w->rows++;
    return w->b.len >= FLUSH_AT ? flush(w) : KITH_OK;
}

kith_rc view_writer_finish(view_writer *w) {
    start(w);
    if(w->f == VIEW_FORMAT_JSON) buf_puts(&w->b, w->rows ? "\n]\n" : "]\n");
    return flush(w);
}

/* ---- over a store ------------------------------------------------------------- */

typedef struct store_run {
    const view *v;
    view_row_fn fn;
    void *ctx;
    int64_t limit;
    bool full;          /* the limit is reached */
    kith_rc rc;         /* a view failure */
    char *err;
    size_t errlen;
    char last_id[128];  /* the last resource read: the next page starts after it */
    size_t got;         /* resources in this page */
    view_store_stats st;
} store_run;

static kith_rc counted_row(void *ctx, const view_cell *cells, size_t n) {
    store_run *s = ctx;
    if(s->limit && s->st.rows >= s->limit) {
        s->full = true;
        return KITH_OK;
    }
    s->st.rows++;
    return s->fn(s->ctx, cells, n);
}

static int on_resource(void *ctx, const store_resource *r) {
    store_run *s = ctx;
    json_value *res = NULL;
    char msg[256];
    s->got++;
    s->st.resources++;
    snprintf(s->last_id, sizeof s->last_id, "%s", r->id);
    if(!r->body || json_parse(r->body, r->body_len, &res, msg, sizeof msg)) {
        snprintf(s->err, s->errlen, "%s/%s: the stored JSON cannot be read: %s", r->type, r->id,
                 r->body ? msg : "no body");
        s->rc = KITH_ESTORE;
        return 1;
    }
    s->rc = view_run_resource(s->v, res, counted_row, s, s->err, s->errlen);
    json_free(res);
    return s->rc || s->full;
}

kith_rc view_run_store(store_conn *c, const view *v, const view_store_query *q, view_row_fn fn, void *ctx,
                       view_store_stats *stats, char *err, size_t errlen) {
    store_run s = {.v = v, .fn = fn, .ctx = ctx, .limit = q ? q->limit : 0, .err = err, .errlen = errlen};
    size_t page = q && q->page ? q->page : DEFAULT_PAGE;
    const char *types[1] = {v->resource};
    kith_rc rc = KITH_OK;
    char scratch[8];
    if(!err || !errlen) {
        s.err = err = scratch;
        s.errlen = errlen = sizeof scratch;
    }
    err[0] = 0;
    for(;;) {
        s.got = 0;
        const char *after = s.last_id[0] ? s.last_id : NULL;
        /* store_scan, not store_list: in the SQLite backend only the scan
         * applies the connection's viewer (the list's one statement does not) */
        store_scan_query sq = {.types = types,
                               .ntypes = 1,
                               .since = q ? q->since : NULL,
                               .patient = q ? q->patient : NULL,
                               .after_type = after ? v->resource : NULL,
                               .after_id = after,
                               .limit = page};
        rc = store_scan(c, &sq, on_resource, &s);
        if(rc) {
            snprintf(err, errlen, "reading %s resources failed: %s", v->resource, kith_rc_name(rc));
            break;
        }
        if(s.rc) {
            rc = s.rc;
            break;
        }
        if(q && q->progress) q->progress(q->progress_ctx, s.st.resources, s.st.rows);
        if(s.full || s.got < page) break;
        if(q && q->cancel && atomic_load(q->cancel)) {
            snprintf(err, errlen, "interrupted");
            rc = KITH_EBUSY;
            break;
        }
    }
    if(stats) *stats = s.st;
    return rc;
}
