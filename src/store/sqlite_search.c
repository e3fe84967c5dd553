/*
 * sqlite_search.c — FHIR search over the SQLite index tables.
 *
 * A store_query (an AND of filters, each an OR of matches) becomes one SQL
 * statement: every filter is an `rid IN (SELECT rid FROM sp_<kind> ...)`
 * condition on the resource table, chained and reverse-chained queries are
 * nested the same way, sort keys are correlated subqueries (min or max of
 * the parameter's index values), and paging is by keyset: the cursor holds
 * the last row's sort keys and id, and the next page starts after them.
 * Values are always bound, never spliced into SQL. Prepared statements are
 * cached per connection by their SQL text (a small LRU). Runs on the
 * calling thread's connection only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "store/sqlite_int.h"

#define CACHE_SIZE 48
#define MAX_BINDS 2000
#define MAX_DEPTH 4 /* nested chains / _has */

/* ---- statement cache ---------------------------------------------------- */

struct sq_stmt_cache {
    char *sql[CACHE_SIZE];
    sqlite3_stmt *st[CACHE_SIZE];
    uint64_t used[CACHE_SIZE];
    uint64_t tick;
};

void sq_cache_free(sq_stmt_cache *cache) {
    if(!cache) return;
    for(int i = 0; i < CACHE_SIZE; i++) {
        free(cache->sql[i]);
        sqlite3_finalize(cache->st[i]);
    }
    free(cache);
}

/* A prepared statement for sql (borrowed: reset it, do not finalize). */
static sqlite3_stmt *cached_stmt(store_conn *c, const char *sql) {
    sq_stmt_cache **slot = sq_conn_cache(c);
    if(!*slot) *slot = xcalloc(1, sizeof **slot);
    sq_stmt_cache *k = *slot;
    int victim = 0;
    for(int i = 0; i < CACHE_SIZE; i++) {
        if(k->sql[i] && strcmp(k->sql[i], sql) == 0) {
            k->used[i] = ++k->tick;
            return k->st[i];
        }
        if(k->used[i] < k->used[victim]) victim = i;
    }
    sqlite3_stmt *st = NULL;
    if(sqlite3_prepare_v3(sq_conn_db(c), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) return NULL;
    free(k->sql[victim]);
    sqlite3_finalize(k->st[victim]);
    k->sql[victim] = xstrdup(sql);
    k->st[victim] = st;
    k->used[victim] = ++k->tick;
    return st;
}

/* ---- building SQL ------------------------------------------------------- */

typedef struct bind {
    int kind; /* 0 text, 1 real, 2 integer */
    const char *text; /* borrowed or owned (see owned) */
    double num;
    int64_t i;
} bind;

typedef struct builder {
    buf sql;
    bind binds[MAX_BINDS];
    int nbinds;
    char *owned[MAX_BINDS]; /* texts made while building */
    int nowned;
    kith_rc rc;
    store_conn *conn; /* whose viewer limits the rows (NULL: none) */
} builder;

static void put_text(builder *b, const char *t) {
    if(b->nbinds >= MAX_BINDS) {
        b->rc = KITH_ETOOBIG;
        return;
    }
    b->binds[b->nbinds++] = (bind){0, t ? t : "", 0, 0};
    buf_puts(&b->sql, "?");
}

static void put_owned(builder *b, char *t) {
    if(b->nowned >= MAX_BINDS || b->nbinds >= MAX_BINDS) {
        free(t); /* the query is too big to run anyway */
        b->rc = KITH_ETOOBIG;
        return;
    }
    b->owned[b->nowned++] = t;
    put_text(b, t);
}

static void put_num(builder *b, double v) {
    if(b->nbinds >= MAX_BINDS) {
        b->rc = KITH_ETOOBIG;
        return;
    }
    b->binds[b->nbinds++] = (bind){1, NULL, v, 0};
    buf_puts(&b->sql, "?");
}

static void put_int(builder *b, int64_t v) {
    if(b->nbinds >= MAX_BINDS) {
        b->rc = KITH_ETOOBIG;
        return;
    }
    b->binds[b->nbinds++] = (bind){2, NULL, 0, v};
    buf_puts(&b->sql, "?");
}

/* The parameter key of type/param (see sq_param_id). */
static void put_pid(builder *b, const char *type, const char *param) {
    put_int(b, sq_param_id(type, param));
}

static const char *table_of(store_ix_kind k) {
    static const char *const T[STORE_IX_KINDS] = {"sp_string",    "sp_token", "sp_date",      "sp_number", "sp_quantity",
                                                  "sp_reference", "sp_uri",   "sp_composite", "sp_text"};
    return T[k];
}

/* The text just above every string starting with p (for prefix ranges). */
static char *prefix_end(const char *p) {
    size_t n = strlen(p);
    char *e = xmalloc(n + 5);
    memcpy(e, p, n);
    memcpy(e + n, "\xf4\x8f\xbf\xbf", 5); /* U+10FFFF sorts after every character */
    return e;
}

/* LIKE pattern for a substring, with %, _ and \ escaped. */
static char *like_contains(const char *p) {
    buf b = BUF_INIT;
    buf_putc(&b, '%');
    for(; *p; p++) {
        if(*p == '%' || *p == '_' || *p == '\\') buf_putc(&b, '\\');
        buf_putc(&b, *p);
    }
    buf_putc(&b, '%');
    return buf_take(&b, NULL);
}

/* Range comparisons of the indexed range x.lo..x.hi with the search range. */
static void range_cond(builder *b, const store_match *m, const char *x) {
    buf *s = &b->sql;
    double vlo = m->lo, vhi = m->hi;
    switch(m->op) {
    case STORE_OP_NE:
        buf_printf(s, "NOT (%s.lo >= ", x);
        put_num(b, vlo);
        buf_printf(s, " AND %s.hi <= ", x);
        put_num(b, vhi);
        buf_puts(s, ")");
        break;
    case STORE_OP_GT:
        buf_printf(s, "%s.hi > ", x);
        put_num(b, vhi);
        break;
    case STORE_OP_LT:
        buf_printf(s, "%s.lo < ", x);
        put_num(b, vlo);
        break;
    case STORE_OP_GE:
        buf_printf(s, "(%s.hi > ", x);
        put_num(b, vhi);
        buf_printf(s, " OR (%s.lo >= ", x);
        put_num(b, vlo);
        buf_printf(s, " AND %s.hi <= ", x);
        put_num(b, vhi);
        buf_puts(s, "))");
        break;
    case STORE_OP_LE:
        buf_printf(s, "(%s.lo < ", x);
        put_num(b, vlo);
        buf_printf(s, " OR (%s.lo >= ", x);
        put_num(b, vlo);
        buf_printf(s, " AND %s.hi <= ", x);
        put_num(b, vhi);
        buf_puts(s, "))");
        break;
    case STORE_OP_SA:
        buf_printf(s, "%s.lo > ", x);
        put_num(b, vhi);
        break;
    case STORE_OP_EB:
        buf_printf(s, "%s.hi < ", x);
        put_num(b, vlo);
        break;
    case STORE_OP_AP: {
        double w = fabs(m->value) * 0.1;
        if(w < (vhi - vlo)) w = vhi - vlo;
        buf_printf(s, "(%s.lo <= ", x);
        put_num(b, vhi + w);
        buf_printf(s, " AND %s.hi >= ", x);
        put_num(b, vlo - w);
        buf_puts(s, ")");
        break;
    }
    default: /* EQ */
        buf_printf(s, "(%s.lo >= ", x);
        put_num(b, vlo);
        buf_printf(s, " AND %s.hi <= ", x);
        put_num(b, vhi);
        buf_puts(s, ")");
        break;
    }
}

static void build_ids(builder *b, const store_query *q, int depth, const char *col);

/* The condition for one match on index row alias x. */
static void match_cond(builder *b, store_ix_kind kind, const store_match *m, const char *x, int depth) {
    buf *s = &b->sql;
    switch(kind) {
    case STORE_IX_STRING:
        if(m->op == STORE_OP_EXACT) {
            buf_printf(s, "%s.exact = ", x);
            put_text(b, m->b);
        } else if(m->op == STORE_OP_CONTAINS) {
            buf_printf(s, "%s.norm LIKE ", x);
            put_owned(b, like_contains(m->a));
            buf_puts(s, " ESCAPE '\\'");
        } else {
            buf_printf(s, "(%s.norm >= ", x);
            put_text(b, m->a);
            buf_printf(s, " AND %s.norm < ", x);
            put_owned(b, prefix_end(m->a));
            buf_puts(s, ")");
        }
        break;
    case STORE_IX_TOKEN:
        if(m->op == STORE_OP_TEXT) {
            buf_printf(s, "(%s.text >= ", x);
            put_text(b, m->c);
            buf_printf(s, " AND %s.text < ", x);
            put_owned(b, prefix_end(m->c));
            buf_puts(s, ")");
            break;
        }
        buf_puts(s, "(1");
        if(m->b) {
            buf_printf(s, " AND %s.code = ", x);
            put_text(b, m->b);
        }
        if(m->a) {
            buf_printf(s, " AND %s.system = ", x);
            put_text(b, m->a);
        }
        buf_puts(s, ")");
        break;
    case STORE_IX_DATE:
    case STORE_IX_NUMBER: range_cond(b, m, x); break;
    case STORE_IX_QUANTITY:
        buf_puts(s, "(");
        range_cond(b, m, x);
        if(m->b) {
            buf_printf(s, " AND %s.code = ", x);
            put_text(b, m->b);
        }
        if(m->a) {
            buf_printf(s, " AND %s.system = ", x);
            put_text(b, m->a);
        }
        buf_puts(s, ")");
        break;
    case STORE_IX_REFERENCE:
        buf_puts(s, "(1");
        if(m->chain) {
            buf_printf(s, " AND %s.ttype = ", x);
            put_text(b, m->chain->type);
            buf_printf(s, " AND %s.tid IN (", x);
            build_ids(b, m->chain, depth + 1, "rid");
            buf_puts(s, ")");
        } else if(m->c) {
            buf_printf(s, " AND %s.url = ", x);
            put_text(b, m->c);
        } else {
            if(m->b) {
                buf_printf(s, " AND %s.tid = ", x);
                put_text(b, m->b);
            }
            if(m->a) {
                buf_printf(s, " AND %s.ttype = ", x);
                put_text(b, m->a);
            }
        }
        buf_puts(s, ")");
        break;
    case STORE_IX_URI:
        if(m->op == STORE_OP_BELOW) {
            buf_printf(s, "(%s.uri >= ", x);
            put_text(b, m->a);
            buf_printf(s, " AND %s.uri < ", x);
            put_owned(b, prefix_end(m->a));
            buf_puts(s, ")");
        } else if(m->op == STORE_OP_ABOVE) {
            buf_printf(s, "(length(%s.uri) > 0 AND substr(", x);
            put_text(b, m->a);
            buf_printf(s, ", 1, length(%s.uri)) = %s.uri)", x, x);
        } else {
            buf_printf(s, "%s.uri = ", x);
            put_text(b, m->a);
        }
        break;
    case STORE_IX_COMPOSITE:
        buf_printf(s, "(%s.b = ", x);
        put_text(b, m->b);
        if(m->a) {
            buf_printf(s, " AND %s.a = ", x);
            put_text(b, m->a);
        }
        if(m->c) {
            buf_printf(s, " AND %s.c = ", x);
            put_text(b, m->c);
        }
        if(m->hi > m->lo || m->op != STORE_OP_EQ) {
            buf_puts(s, " AND ");
            range_cond(b, m, x);
        }
        buf_puts(s, ")");
        break;
    case STORE_IX_TEXT:
    case STORE_IX_KINDS: buf_puts(s, "0"); break;
    }
}

/* "x.pid = ? AND (match OR match ...)" for the index rows of filter f. */
static void index_rows_cond(builder *b, const store_query *q, const store_filter *f, const char *x, int depth) {
    /* several values: the parameter id in every term, so that SQLite seeks the index once
     * per value instead of scanning every row of the parameter */
    buf_puts(&b->sql, "(");
    for(size_t i = 0; i < f->nors; i++) {
        if(i) buf_puts(&b->sql, " OR ");
        buf_printf(&b->sql, "(%s.pid = ", x);
        put_pid(b, q->type, f->param);
        buf_puts(&b->sql, " AND ");
        match_cond(b, f->kind, &f->ors[i], x, depth);
        buf_puts(&b->sql, ")");
    }
    buf_puts(&b->sql, ")");
}

/* One AND filter, as a condition on resource alias r. */
static void filter_cond(builder *b, const store_query *q, const store_filter *f, const char *r, int depth,
                        bool drives) {
    buf *s = &b->sql;
    char x[16];
    snprintf(x, sizeof x, "x%d", depth);
    if(f->has_type) {
        /* _has: resources that some has_type resource matching has_query points at */
        buf_printf(s, "%s.rid IN (SELECT %s.tid FROM sp_reference %s WHERE %s.pid = ", r, x, x, x);
        put_pid(b, f->has_type, f->has_param);
        buf_printf(s, " AND %s.ttype = ", x);
        put_text(b, q->type);
        if(f->has_query) {
            buf_printf(s, " AND %s.rkey IN (", x);
            build_ids(b, f->has_query, depth + 1, "rkey");
            buf_puts(s, ")");
        }
        buf_puts(s, ")");
        return;
    }
    if(strcmp(f->param, "_id") == 0) {
        buf_printf(s, "%s%s.rid IN (", f->negate ? "NOT " : "", r);
        for(size_t i = 0; i < f->nors; i++) {
            if(i) buf_putc(s, ',');
            put_text(b, f->ors[i].b);
        }
        buf_puts(s, ")");
        return;
    }
    if(strcmp(f->param, "_list") == 0) {
        buf_printf(s, "%s.rid IN (SELECT %s.tid FROM sp_reference %s JOIN resource l%d ON l%d.rkey = %s.rkey "
                      "WHERE %s.pid = ",
                   r, x, x, depth, depth, x, x);
        put_pid(b, "List", "item");
        buf_printf(s, " AND %s.ttype = %s.rtype AND l%d.rtype = 'List' AND l%d.rid IN (", x, r, depth, depth);
        for(size_t i = 0; i < f->nors; i++) {
            if(i) buf_putc(s, ',');
            put_text(b, f->ors[i].b);
        }
        buf_puts(s, "))");
        return;
    }
    if(f->kind == STORE_IX_TEXT) {
        /* _text / _content: FTS5 over narrative or all text; its rowid is the resource key */
        buf_printf(s, "%s.rkey IN (SELECT rowid FROM sp_text WHERE sp_text MATCH ", r);
        buf match = BUF_INIT;
        buf_printf(&match, "%s : (", strcmp(f->param, "_text") == 0 ? "narrative" : "content");
        for(size_t i = 0; i < f->nors; i++) {
            if(i) buf_puts(&match, " OR ");
            buf_puts(&match, "(");
            /* Quote every word: user text never becomes FTS syntax. */
            const char *p = f->ors[i].a ? f->ors[i].a : "";
            bool any = false;
            while(*p) {
                while(*p == ' ') p++;
                if(!*p) break;
                size_t n = strcspn(p, " ");
                if(any) buf_putc(&match, ' ');
                buf_putc(&match, '"');
                for(size_t k = 0; k < n; k++) {
                    if(p[k] == '"') buf_putc(&match, '"');
                    buf_putc(&match, p[k]);
                }
                buf_putc(&match, '"');
                any = true;
                p += n;
            }
            if(!any) buf_puts(&match, "\"\"");
            buf_puts(&match, ")");
        }
        buf_puts(&match, ")");
        put_owned(b, buf_take(&match, NULL));
        buf_puts(s, ")");
        return;
    }
    const char *t = table_of(f->kind);
    bool missing_only = f->nors == 1 && (f->ors[0].op == STORE_OP_MISSING || f->ors[0].op == STORE_OP_PRESENT);
    if(missing_only) {
        buf_printf(s, "%sEXISTS (SELECT 1 FROM %s %s WHERE %s.rkey = %s.rkey AND %s.pid = ",
                   f->ors[0].op == STORE_OP_MISSING ? "NOT " : "", t, x, x, r, x);
        put_pid(b, q->type, f->param);
        buf_puts(s, ")");
        return;
    }
    if(drives)
        buf_printf(s, "%s%s.rkey IN (SELECT %s.rkey FROM %s %s WHERE ", f->negate ? "NOT " : "", r, x, t, x);
    else /* checked per candidate through the (rkey, pid) index */
        buf_printf(s, "%sEXISTS (SELECT 1 FROM %s %s WHERE %s.rkey = %s.rkey AND ", f->negate ? "NOT " : "", t, x, x, r);
    index_rows_cond(b, q, f, x, depth);
    buf_puts(s, ")");
}

/* A plain filter: index rows of one parameter, matched without negation. */
static bool plain_filter(const store_filter *f) {
    return !f->has_type && !f->negate && f->kind != STORE_IX_TEXT && strcmp(f->param, "_id") != 0 &&
           strcmp(f->param, "_list") != 0 &&
           !(f->nors && (f->ors[0].op == STORE_OP_MISSING || f->ors[0].op == STORE_OP_PRESENT));
}

/* How narrow a filter usually is (lower: fewer matches). The narrowest
 * becomes the set the query starts from; the others are checked on each
 * candidate, so `code=X&subject=Patient/1` reads one patient's rows, not
 * every row with code X. */
static int narrowness(const store_filter *f) {
    if(f->has_type || f->negate) return 100;
    if(strcmp(f->param, "_id") == 0) return 0;
    if(f->nors && (f->ors[0].op == STORE_OP_MISSING || f->ors[0].op == STORE_OP_PRESENT)) return 90;
    switch(f->kind) {
    case STORE_IX_REFERENCE: return 10;
    case STORE_IX_TOKEN: return f->ors && f->ors[0].a && *f->ors[0].a ? 20 : 25;
    case STORE_IX_URI: return 30;
    case STORE_IX_COMPOSITE: return 35;
    case STORE_IX_STRING: return 40;
    case STORE_IX_TEXT: return 45;
    case STORE_IX_DATE:
    case STORE_IX_QUANTITY:
    case STORE_IX_NUMBER: return 50;
    default: return 60;
    }
}

static void where_clause(builder *b, const store_query *q, const char *r, int depth) {
    size_t driver = q->nfilters;
    int best = 1000;
    for(size_t i = 0; i < q->nfilters; i++) {
        int n = narrowness(&q->filters[i]);
        if(n < best) {
            best = n;
            driver = i;
        }
    }
    /* When the driving filter yields resource keys, "+" keeps SQLite from
     * scanning every resource of the type through the (rtype, rid) index. */
    bool by_key = driver < q->nfilters && (plain_filter(&q->filters[driver]) || q->filters[driver].kind == STORE_IX_TEXT);
    buf_printf(&b->sql, "%s%s.rtype = ", by_key ? "+" : "", r);
    put_text(b, q->type);
    buf_printf(&b->sql, " AND %s.deleted = 0", r);
    for(size_t i = 0; i < q->nfilters; i++) {
        buf_puts(&b->sql, " AND ");
        filter_cond(b, q, &q->filters[i], r, depth, i == driver);
    }
    if(b->conn) { /* the viewer sees only what the access policy allows, in every (sub)query */
        char col[24], type[24], id[24], key[24];
        snprintf(col, sizeof col, "%s.patient", r);
        snprintf(type, sizeof type, "%s.rtype", r);
        snprintf(id, sizeof id, "%s.rid", r);
        snprintf(key, sizeof key, "%s.rkey", r);
        sq_visible_cond(b->conn, &b->sql, col, type, id, key);
    }
}

/* SELECT of the keys (col "rkey") or ids (col "rid") matching q (for chains and _has). */
static void build_ids(builder *b, const store_query *q, int depth, const char *col) {
    if(depth > MAX_DEPTH) {
        b->rc = KITH_EINVAL;
        buf_puts(&b->sql, "SELECT NULL");
        return;
    }
    char r[16];
    snprintf(r, sizeof r, "r%d", depth);
    buf_printf(&b->sql, "SELECT %s.%s FROM resource %s WHERE ", r, col, r);
    where_clause(b, q, r, depth);
}

/* The sort key expression for s on resource alias r. */
static void sort_key(builder *b, const store_query *q, const store_sort *s) {
    buf *o = &b->sql;
    if(strcmp(s->param, "_id") == 0) {
        buf_puts(o, "r.rid");
        return;
    }
    if(strcmp(s->param, "_lastUpdated") == 0) {
        buf_puts(o, "v.ts");
        return;
    }
    const char *agg = s->desc ? "max" : "min";
    const char *col;
    switch(s->kind) {
    case STORE_IX_STRING: col = "norm"; break;
    case STORE_IX_TOKEN: col = "code"; break;
    case STORE_IX_DATE:
    case STORE_IX_NUMBER:
    case STORE_IX_QUANTITY: col = s->desc ? "hi" : "lo"; break;
    case STORE_IX_REFERENCE: col = "tid"; break;
    case STORE_IX_URI: col = "uri"; break;
    default: col = "rkey"; break;
    }
    bool numeric = s->kind == STORE_IX_DATE || s->kind == STORE_IX_NUMBER || s->kind == STORE_IX_QUANTITY;
    buf_printf(o, "coalesce((SELECT %s(s.%s) FROM %s s WHERE s.rkey = r.rkey AND s.pid = ", agg, col,
               table_of(s->kind));
    put_pid(b, q->type, s->param);
    /* Resources without a value sort last; the stand-in must be text, as cursors carry it as text. */
    buf_printf(o, "), %s)", numeric ? (s->desc ? "-1e308" : "1e308") : (s->desc ? "''" : "char(1114111)"));
}

static bool key_numeric(const store_sort *s) {
    return strcmp(s->param, "_id") != 0 && strcmp(s->param, "_lastUpdated") != 0 &&
           (s->kind == STORE_IX_DATE || s->kind == STORE_IX_NUMBER || s->kind == STORE_IX_QUANTITY);
}

/* ---- cursors ------------------------------------------------------------ */

/* A cursor is hex of "k1\x1fk2\x1f...\x1frid": numeric keys as %.17g. */
static char *cursor_make(sqlite3_stmt *st, int first_key, size_t nkeys, const char *rid) {
    buf raw = BUF_INIT, hex = BUF_INIT;
    for(size_t i = 0; i < nkeys; i++) {
        if(sqlite3_column_type(st, first_key + (int)i) == SQLITE_FLOAT ||
           sqlite3_column_type(st, first_key + (int)i) == SQLITE_INTEGER)
            buf_printf(&raw, "%.17g", sqlite3_column_double(st, first_key + (int)i));
        else
            buf_puts(&raw, (const char *)sqlite3_column_text(st, first_key + (int)i));
        buf_putc(&raw, '\x1f');
    }
    buf_puts(&raw, rid);
    static const char H[] = "0123456789abcdef";
    for(size_t i = 0; i < raw.len; i++) {
        unsigned char ch = (unsigned char)raw.data[i];
        char two[2] = {H[ch >> 4], H[ch & 15]};
        buf_append(&hex, two, 2);
    }
    buf_free(&raw);
    return buf_take(&hex, NULL);
}

/* Split a cursor into nkeys+1 parts (owned, in *parts). */
static bool cursor_parse(const char *cur, size_t nkeys, char ***parts) {
    size_t n = strlen(cur);
    if(n % 2 || n > 8192) return false;
    char *raw = xmalloc(n / 2 + 1);
    for(size_t i = 0; i < n / 2; i++) {
        int v = 0;
        for(int k = 0; k < 2; k++) {
            char ch = cur[2 * i + (size_t)k];
            int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if(d < 0) {
                free(raw);
                return false;
            }
            v = v * 16 + d;
        }
        raw[i] = (char)v;
    }
    raw[n / 2] = '\0';
    char **p = xcalloc(nkeys + 1, sizeof *p);
    char *s = raw;
    for(size_t i = 0; i <= nkeys; i++) {
        char *sep = i < nkeys ? strchr(s, '\x1f') : NULL;
        if(i < nkeys && !sep) {
            for(size_t k = 0; k < i; k++) free(p[k]);
            free(p);
            free(raw);
            return false;
        }
        if(sep) *sep = '\0';
        p[i] = xstrdup(s);
        if(sep) s = sep + 1;
    }
    free(raw);
    *parts = p;
    return true;
}

/* ---- running ------------------------------------------------------------ */

static kith_rc bind_all(sqlite3_stmt *st, const builder *b) {
    for(int i = 0; i < b->nbinds; i++) {
        int r = b->binds[i].kind == 0   ? sqlite3_bind_text(st, i + 1, b->binds[i].text, -1, SQLITE_STATIC)
                : b->binds[i].kind == 1 ? sqlite3_bind_double(st, i + 1, b->binds[i].num)
                                        : sqlite3_bind_int64(st, i + 1, b->binds[i].i);
        if(r != SQLITE_OK) return KITH_ESTORE;
    }
    return KITH_OK;
}

static void builder_free(builder *b) {
    buf_free(&b->sql);
    for(int i = 0; i < b->nowned; i++) free(b->owned[i]);
}

static char *col_dup(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

/* One fetched row, held until the page is complete (a backward page is
 * fetched in reverse and handed out in order). */
typedef struct row {
    store_resource res;
    char *cursor;
} row;

kith_rc sq_search(store_conn *c, const store_query *q, store_history_fn fn, void *ctx, int64_t *total,
                  char **next_cursor, char **prev_cursor) {
    builder *b = xcalloc(1, sizeof *b);
    b->conn = c;
    char **cur = NULL;
    row *rows = NULL;
    size_t n = 0;
    bool backward = false, more = false;
    kith_rc rc = KITH_OK;
    sqlite3_stmt *st;
    *next_cursor = NULL;
    *prev_cursor = NULL;
    if(q->cursor) {
        if(q->cursor[0] != 'f' && q->cursor[0] != 'b') {
            rc = KITH_EINVAL;
            goto done;
        }
        backward = q->cursor[0] == 'b';
        if(!cursor_parse(q->cursor + 1, q->nsorts, &cur)) {
            rc = KITH_EINVAL;
            goto done;
        }
    }
    /* a first page with its total: one pass, the total as a window count beside each row */
    bool total_beside = q->want_total && q->count > 0 && !cur;
    if(total_beside) *total = 0;
    if(q->want_total && !total_beside) {
        if(q->nfilters == 1 && plain_filter(&q->filters[0]) && !sq_viewer_active(c)) {
            /* Index rows exist only for current, live resources of their own type:
             * one filter's total needs no look at the resources themselves. */
            buf_printf(&b->sql, "SELECT count(DISTINCT x0.rkey) FROM %s x0 WHERE ", table_of(q->filters[0].kind));
            index_rows_cond(b, q, &q->filters[0], "x0", 0);
        } else {
            buf_puts(&b->sql, "SELECT count(*) FROM resource r WHERE ");
            where_clause(b, q, "r", 0);
        }
        if((rc = b->rc)) goto done;
        st = cached_stmt(c, buf_str(&b->sql));
        if(!st) {
            rc = KITH_ESTORE;
            goto done;
        }
        rc = bind_all(st, b);
        if(!rc && sqlite3_step(st) == SQLITE_ROW)
            *total = sqlite3_column_int64(st, 0);
        else if(!rc)
            rc = KITH_ESTORE;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if(rc) goto done;
        builder_free(b);
        memset(b, 0, sizeof *b);
        b->conn = c;
    }
    if(q->count == 0) goto done;

    /* The page's keys first: SELECT * FROM (rows with their sort keys) WHERE beyond-cursor ORDER BY
     * keys, rid LIMIT count+1; then the bodies of just those rows (so that sorting many matches
     * never carries their bodies). Backward pages flip every direction and are reversed afterwards. */
    buf_puts(&b->sql, "SELECT p.rid, v.vid, v.ts, v.deleted, v.method, v.body, v.seq");
    for(size_t i = 0; i < q->nsorts; i++) buf_printf(&b->sql, ", p.k%zu", i);
    buf_puts(&b->sql, total_beside ? ", p.kt FROM (SELECT *, count(*) OVER () AS kt FROM (SELECT r.rid AS rid, r.seq AS rseq"
                                   : " FROM (SELECT * FROM (SELECT r.rid AS rid, r.seq AS rseq");
    for(size_t i = 0; i < q->nsorts; i++) {
        buf_puts(&b->sql, ", ");
        sort_key(b, q, &q->sorts[i]);
        buf_printf(&b->sql, " AS k%zu", i);
    }
    buf_puts(&b->sql, " FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE ");
    where_clause(b, q, "r", 0);
    buf_puts(&b->sql, ")");
    if(cur) {
        /* (k0 > c0) OR (k0 = c0 AND k1 > c1) OR ... OR (all keys equal AND rid > crid) */
        buf_puts(&b->sql, " WHERE (");
        for(size_t i = 0; i <= q->nsorts; i++) {
            if(i) buf_puts(&b->sql, " OR ");
            buf_puts(&b->sql, "(1");
            for(size_t j = 0; j < i; j++) {
                buf_printf(&b->sql, " AND k%zu = ", j);
                if(key_numeric(&q->sorts[j]))
                    put_num(b, strtod(cur[j], NULL));
                else
                    put_text(b, cur[j]);
            }
            if(i < q->nsorts) {
                buf_printf(&b->sql, " AND k%zu %s ", i, q->sorts[i].desc != backward ? "<" : ">");
                if(key_numeric(&q->sorts[i]))
                    put_num(b, strtod(cur[i], NULL));
                else
                    put_text(b, cur[i]);
            } else {
                buf_printf(&b->sql, " AND rid %s ", backward ? "<" : ">");
                put_text(b, cur[q->nsorts]);
            }
            buf_puts(&b->sql, ")");
        }
        buf_puts(&b->sql, ")");
    }
    for(int pass = 0; pass < 2; pass++) { /* the page, then the same order after the join */
        buf_puts(&b->sql, pass ? ") p JOIN resource_version v ON v.seq = p.rseq ORDER BY " : " ORDER BY ");
        for(size_t i = 0; i < q->nsorts; i++)
            buf_printf(&b->sql, "%sk%zu%s, ", pass ? "p." : "", i, q->sorts[i].desc != backward ? " DESC" : "");
        buf_printf(&b->sql, "%srid%s", pass ? "p." : "", backward ? " DESC" : "");
        if(!pass) buf_printf(&b->sql, " LIMIT %zu", q->count + 1);
    }
    if((rc = b->rc)) goto done;
    st = cached_stmt(c, buf_str(&b->sql));
    if(!st) {
        rc = KITH_ESTORE;
        goto done;
    }
    rc = bind_all(st, b);
    rows = xcalloc(q->count, sizeof *rows);
    int r = SQLITE_DONE;
    while(!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if(n == q->count) {
            more = true;
            break;
        }
        store_resource *res = &rows[n].res;
        res->type = xstrdup(q->type);
        res->id = col_dup(st, 0);
        res->version = sqlite3_column_int64(st, 1);
        res->last_updated = col_dup(st, 2);
        res->deleted = sqlite3_column_int(st, 3) != 0;
        res->method = col_dup(st, 4);
        const void *body = sqlite3_column_blob(st, 5);
        res->body_len = (size_t)sqlite3_column_bytes(st, 5);
        res->body = body ? xstrndup(body, res->body_len) : NULL;
        res->seq = sqlite3_column_int64(st, 6);
        rows[n].cursor = cursor_make(st, 7, q->nsorts, res->id);
        if(total_beside && n == 0) *total = sqlite3_column_int64(st, 7 + (int)q->nsorts);
        n++;
    }
    if(!rc && r != SQLITE_ROW && r != SQLITE_DONE) rc = KITH_ESTORE;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if(rc) goto done;
    if(backward) {
        for(size_t i = 0; i < n / 2; i++) {
            row t = rows[i];
            rows[i] = rows[n - 1 - i];
            rows[n - 1 - i] = t;
        }
    }
    if(n) {
        /* Forward: more rows after this page, and (if we came from somewhere) rows before it.
         * Backward: more rows before this page, and always the page we came from after it. */
        bool has_next = backward ? true : more;
        bool has_prev = backward ? more : q->cursor != NULL;
        if(has_next) {
            *next_cursor = xmalloc(strlen(rows[n - 1].cursor) + 2);
            sprintf(*next_cursor, "f%s", rows[n - 1].cursor);
        }
        if(has_prev) {
            *prev_cursor = xmalloc(strlen(rows[0].cursor) + 2);
            sprintf(*prev_cursor, "b%s", rows[0].cursor);
        }
    }
    for(size_t i = 0; i < n; i++)
        if(fn(ctx, &rows[i].res)) break;
done:
    for(size_t i = 0; i < n; i++) {
        store_resource_free(&rows[i].res);
        free(rows[i].cursor);
    }
    free(rows);
    if(cur) {
        for(size_t i = 0; i <= q->nsorts; i++) free(cur[i]);
        free(cur);
    }
    builder_free(b);
    free(b);
    return rc;
}

static kith_rc run_refs(store_conn *c, builder *b, store_ref_fn fn, void *ctx) {
    if(b->rc) return b->rc;
    sqlite3_stmt *st = cached_stmt(c, buf_str(&b->sql));
    if(!st) return KITH_ESTORE;
    kith_rc rc = bind_all(st, b);
    int r = SQLITE_DONE;
    while(!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if(fn(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1))) break;
    }
    if(!rc && r != SQLITE_ROW && r != SQLITE_DONE) rc = KITH_ESTORE;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

kith_rc sq_references_from(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *param,
                           const char *target_type, store_ref_fn fn, void *ctx) {
    if(nids == 0) return KITH_OK;
    builder *b = xcalloc(1, sizeof *b);
    buf_puts(&b->sql, "SELECT DISTINCT x.ttype, x.tid FROM sp_reference x JOIN resource s ON s.rkey = x.rkey "
                      "WHERE s.rtype = ");
    put_text(b, type);
    if(param) {
        buf_puts(&b->sql, " AND x.pid = ");
        put_pid(b, type, param);
    }
    if(target_type) {
        buf_puts(&b->sql, " AND x.ttype = ");
        put_text(b, target_type);
    }
    buf_puts(&b->sql, " AND x.tid != '' AND s.rid IN (");
    for(size_t i = 0; i < nids; i++) {
        if(i) buf_putc(&b->sql, ',');
        put_text(b, ids[i]);
    }
    buf_puts(&b->sql, ") ORDER BY 1, 2");
    kith_rc rc = run_refs(c, b, fn, ctx);
    builder_free(b);
    free(b);
    return rc;
}

kith_rc sq_references_to(store_conn *c, const char *type, const char *const *ids, size_t nids, const char *src_type,
                         const char *param, store_ref_fn fn, void *ctx) {
    if(nids == 0) return KITH_OK;
    builder *b = xcalloc(1, sizeof *b);
    buf_puts(&b->sql, "SELECT DISTINCT s.rtype, s.rid FROM sp_reference x JOIN resource s ON s.rkey = x.rkey "
                      "AND s.deleted = 0 WHERE x.ttype = ");
    put_text(b, type);
    if(src_type) {
        buf_puts(&b->sql, " AND s.rtype = ");
        put_text(b, src_type);
    }
    if(src_type && param) {
        buf_puts(&b->sql, " AND x.pid = ");
        put_pid(b, src_type, param);
    }
    buf_puts(&b->sql, " AND x.tid IN (");
    for(size_t i = 0; i < nids; i++) {
        if(i) buf_putc(&b->sql, ',');
        put_text(b, ids[i]);
    }
    buf_puts(&b->sql, ") ORDER BY 1, 2");
    kith_rc rc = run_refs(c, b, fn, ctx);
    builder_free(b);
    free(b);
    return rc;
}
