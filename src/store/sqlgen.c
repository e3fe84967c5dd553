/*
 * sqlgen.c — FHIR search and the access policy as SQL, for both backends.
 *
 * A store_query (an AND of filters, each an OR of matches) becomes one SQL
 * statement: every filter is an `rid IN (SELECT rid FROM sp_<kind> ...)`
 * condition on the resource table, chained and reverse-chained queries are
 * nested the same way, sort keys are correlated subqueries (min or max of
 * the parameter's index values), and paging is by keyset: the cursor holds
 * the last row's sort keys and id, and the next page starts after them.
 * Values are always bound, never spliced into SQL. The backend runs what is
 * built here through an sg_run_fn (sqlite_search.c, postgres_search.c).
 * The visibility condition (see store_set_viewer) reads the viewer from the
 * connection's temporary table kith_viewer, so its text is fixed per viewer
 * mode and can be appended to any statement and cached with it. Pure
 * functions: no state, any thread.
 */
#include "store/sqlgen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

#define MAX_DEPTH 4 /* nested chains / _has */

int64_t sg_param_id(const char *type, const char *param) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a, 64 bits */
    for(const unsigned char *p = (const unsigned char *)type; *p; p++) h = (h ^ *p) * 1099511628211ull;
    h = (h ^ 0x1f) * 1099511628211ull;
    for(const unsigned char *p = (const unsigned char *)param; *p; p++) h = (h ^ *p) * 1099511628211ull;
    return (int64_t)(h & 0x3fffffffffffffffull);
}

/* ---- the viewer ------------------------------------------------------------ */

/* Statuses that end a relationship (CareTeam, EpisodeOfCare, ServiceRequest, Task). */
#define CLOSED "'inactive','finished','completed','cancelled','entered-in-error','revoked','rejected','failed'"

/* The spellings that differ between the dialects. */
typedef struct dialect_words {
    const char *viewer;      /* the connection's viewer table */
    const char *now;         /* seconds since 1970 */
    const char *not_eq;      /* "a is not b" with NULLs equal */
    const char *status;      /* JSON body's status, %s: the body */
    const char *provision;   /* JSON body's provision.type */
} dialect_words;

static const dialect_words WORDS[2] = {
    [SG_SQLITE] = {"temp.kith_viewer", "unixepoch()", "IS NOT", "json_extract(%s, '$.status')",
                   "json_extract(%s, '$.provision.type')"},
    [SG_POSTGRES] = {"pg_temp.kith_viewer", "extract(epoch from now())", "IS DISTINCT FROM",
                     "(%s::jsonb ->> 'status')", "(%s::jsonb #>> '{provision,type}')"},
};

/* Does Patient x have an active national data opt-out? (an SQL condition) */
static void opted_out(buf *o, const char *x) {
    buf_printf(o,
               "EXISTS(SELECT 1 FROM sp_reference oa JOIN sp_token oc ON oc.rkey = oa.rkey AND oc.pid = %lld"
               " AND oc.code = 'national-data-opt-out' AND oc.system = 'https://kith.example.org/fhir/CodeSystem/"
               "consent-category' JOIN sp_token os ON os.rkey = oa.rkey AND os.pid = %lld AND os.code = 'active'"
               " WHERE oa.pid = %lld AND oa.ttype = 'Patient' AND oa.tid = %s)",
               (long long)sg_param_id("Consent", "category"), (long long)sg_param_id("Consent", "status"),
               (long long)sg_param_id("Consent", "patient"), x);
}

void sg_visible_cond(sg_dialect d, int flags, buf *o, const char *x, const char *type, const char *id,
                     const char *rkey) {
    const dialect_words *w = &WORDS[d];
    int mode = flags & VIEW_MODE;
    if(!mode) return;
    if(mode == 3) { /* secondary use: all but the opted out */
        buf_printf(o, " AND (%s IS NULL OR %s = '' OR NOT ", x, x);
        opted_out(o, x);
        buf_puts(o, ")");
        return;
    }
    /* the person objected to sharing an organisation's records (an active Consent denying
     * that organisation as actor): resources referring to it are hidden from everyone outside
     * it, unless broken glass for the person (the Consent itself stays in view) */
    if(!(flags & VIEW_NO_CONSENTS)) {
        buf_printf(o,
                   " AND (%s = 'Consent' OR NOT EXISTS(SELECT 1 FROM sp_reference ca JOIN resource cr ON cr.rkey = ca.rkey"
                   " AND cr.deleted = 0"
                   " JOIN resource_version cv ON cv.seq = cr.seq JOIN sp_reference aa ON aa.rkey = ca.rkey AND aa.pid = %lld"
                   " AND aa.ttype = 'Organization' WHERE ca.pid = %lld AND ca.ttype = 'Patient' AND ca.tid = %s AND ",
                   type, (long long)sg_param_id("Consent", "actor"), (long long)sg_param_id("Consent", "patient"), x);
        buf_printf(o, w->status, "cv.body");
        buf_puts(o, " = 'active' AND ");
        buf_printf(o, w->provision, "cv.body");
        buf_printf(o,
                   " = 'deny' AND aa.tid %s (SELECT v FROM %s WHERE k = 'org')"
                   " AND EXISTS(SELECT 1 FROM sp_reference rr WHERE rr.rkey = (SELECT zr.rkey FROM resource zr"
                   " WHERE zr.rtype = %s AND zr.rid = %s) AND rr.ttype = 'Organization' AND rr.tid = aa.tid))"
                   " OR EXISTS(SELECT 1 FROM kith_access_grant vb3 WHERE vb3.account = (SELECT v FROM %s"
                   " WHERE k = 'account') AND vb3.patient = %s AND vb3.expires > %s))",
                   w->not_eq, w->viewer, type, id, w->viewer, x, w->now);
    }
    if(mode == 4) return; /* a direct-care system: consent binds it, care relationships do not */
    /* labelled sensitive for this viewer (meta.security), unless broken glass for the person */
    if(!(flags & VIEW_SEES_ALL_LABELS)) {
        /* the row's own labels: by its key when the caller has it, else by type and id */
        if(rkey)
            buf_printf(o, " AND (NOT EXISTS(SELECT 1 FROM sp_token vz WHERE vz.rkey = %s", rkey);
        else
            buf_printf(o,
                       " AND (NOT EXISTS(SELECT 1 FROM resource vzr JOIN sp_token vz ON vz.rkey = vzr.rkey"
                       " WHERE vzr.rtype = %s AND vzr.rid = %s",
                       type, id);
        buf_printf(o,
                   " AND vz.pid = kith_pid(%s, '_security') AND vz.code IN (SELECT v FROM"
                   " %s WHERE k = 'hide'))"
                   " OR EXISTS(SELECT 1 FROM kith_access_grant vb2 WHERE vb2.account = (SELECT v FROM %s"
                   " WHERE k = 'account') AND vb2.patient = %s AND vb2.expires > %s))",
                   type, w->viewer, w->viewer, x, w->now);
    }
    if(mode == 2) {
        buf_printf(o, " AND (%s IS NULL OR %s = '')", x, x);
        return;
    }
    if(flags & VIEW_RELATIONSHIP_GIVEN) return;
    long long gp = (long long)sg_param_id("Patient", "general-practitioner");
    /* open CareTeams, episodes of care, referrals, Tasks and stays (an Encounter not yet finished,
     * e.g. an inpatient on the ward) that name the viewer, their organisation or a colleague */
    long long about[5] = {sg_param_id("CareTeam", "patient"), sg_param_id("EpisodeOfCare", "patient"),
                          sg_param_id("ServiceRequest", "patient"), sg_param_id("Task", "patient"),
                          sg_param_id("Encounter", "patient")};
    long long names[6] = {sg_param_id("CareTeam", "participant"),   sg_param_id("EpisodeOfCare", "care-manager"),
                          sg_param_id("EpisodeOfCare", "organization"), sg_param_id("ServiceRequest", "performer"),
                          sg_param_id("Task", "owner"),              sg_param_id("Encounter", "service-provider")};
    long long status[5] = {sg_param_id("CareTeam", "status"), sg_param_id("EpisodeOfCare", "status"),
                           sg_param_id("ServiceRequest", "status"), sg_param_id("Task", "status"),
                           sg_param_id("Encounter", "status")};
    buf_printf(o,
               " AND (%s IS NULL OR %s = ''"
               " OR EXISTS(SELECT 1 FROM resource vp JOIN sp_reference vg ON vg.rkey = vp.rkey"
               " WHERE vp.rtype = 'Patient' AND vp.rid = %s AND vg.pid = %lld AND vg.ttype = 'Organization'"
               " AND vg.tid = (SELECT v FROM %s WHERE k = 'org'))",
               x, x, x, gp, w->viewer);
    buf_printf(o,
               " OR EXISTS(SELECT 1 FROM sp_reference vs JOIN sp_reference vm ON vm.rkey = vs.rkey"
               " WHERE vs.pid IN (%lld,%lld,%lld,%lld,%lld) AND vs.tid = %s AND vs.ttype = 'Patient'"
               " AND vm.pid IN (%lld,%lld,%lld,%lld,%lld,%lld)"
               " AND ((vm.ttype = 'Practitioner' AND vm.tid = (SELECT v FROM %s WHERE k = 'practitioner'))"
               " OR (vm.ttype = 'Organization' AND vm.tid = (SELECT v FROM %s WHERE k = 'org'))"
               " OR (vm.ttype = 'Practitioner' AND EXISTS(SELECT 1 FROM sp_reference tp JOIN sp_reference tor"
               " ON tor.rkey = tp.rkey AND tor.pid = %lld AND tor.ttype = 'Organization'"
               " AND tor.tid = (SELECT v FROM %s WHERE k = 'org')"
               " WHERE tp.pid = %lld AND tp.ttype = 'Practitioner' AND tp.tid = vm.tid AND NOT EXISTS(SELECT 1"
               " FROM sp_token ta WHERE ta.rkey = tp.rkey AND ta.pid = %lld AND ta.code = 'false'))))"
               " AND NOT EXISTS(SELECT 1 FROM sp_token vt WHERE vt.rkey = vs.rkey AND vt.pid IN (%lld,%lld,%lld,%lld,%lld)"
               " AND vt.code IN (" CLOSED ")))",
               about[0], about[1], about[2], about[3], about[4], x, names[0], names[1], names[2], names[3], names[4],
               names[5], w->viewer,
               w->viewer, (long long)sg_param_id("PractitionerRole", "organization"), w->viewer,
               (long long)sg_param_id("PractitionerRole", "practitioner"),
               (long long)sg_param_id("PractitionerRole", "active"), status[0], status[1], status[2], status[3],
               status[4]);
    buf_printf(o,
               " OR EXISTS(SELECT 1 FROM kith_access_grant vb WHERE vb.account = (SELECT v FROM %s"
               " WHERE k = 'account') AND vb.patient = %s AND vb.expires > %s))",
               w->viewer, x, w->now);
}

int sg_viewer_flags(const store_viewer *v, bool no_consents) {
    int mode = v->secondary_use ? 3 : v->consent_only ? 4 : v->no_patient_data ? 2 : 1;
    /* checks that cannot change the answer are left out of the SQL */
    if(!v->hidden_labels || !*v->hidden_labels) mode |= VIEW_SEES_ALL_LABELS;
    if(v->relationship_given && (mode & VIEW_MODE) == 1) mode |= VIEW_RELATIONSHIP_GIVEN;
    if(no_consents) mode |= VIEW_NO_CONSENTS;
    return mode;
}

void sg_viewer_suspend(int *viewer, int *saved, bool suspend) {
    if(suspend) {
        *saved = *viewer;
        *viewer = 0;
    } else {
        *viewer = *saved;
        *saved = 0;
    }
}

void sg_viewer_key(const store_viewer *v, char *key, size_t len) {
    snprintf(key, len, "%s\n%s\n%s\n%s", v->account ? v->account : "", v->practitioner ? v->practitioner : "",
             v->org ? v->org : "", v->hidden_labels ? v->hidden_labels : "");
}

/* ---- building SQL ------------------------------------------------------- */

#define SG_TRUE(b) ((b)->d == SG_POSTGRES ? "true" : "1")

static void placeholder(sg_builder *b, const char *pg_type) {
    if(b->d == SG_POSTGRES)
        buf_printf(&b->sql, "$%d::%s", b->nbinds, pg_type);
    else
        buf_puts(&b->sql, "?");
}

static void put_text(sg_builder *b, const char *t) {
    if(b->nbinds >= SG_MAX_BINDS) {
        b->rc = KITH_ETOOBIG;
        return;
    }
    b->binds[b->nbinds++] = (sg_bind){0, t ? t : "", 0, 0};
    placeholder(b, "text");
}

static void put_owned(sg_builder *b, char *t) {
    if(b->nowned >= SG_MAX_BINDS || b->nbinds >= SG_MAX_BINDS) {
        free(t); /* the query is too big to run anyway */
        b->rc = KITH_ETOOBIG;
        return;
    }
    b->owned[b->nowned++] = t;
    put_text(b, t);
}

static void put_num(sg_builder *b, double v) {
    if(b->nbinds >= SG_MAX_BINDS) {
        b->rc = KITH_ETOOBIG;
        return;
    }
    b->binds[b->nbinds++] = (sg_bind){1, NULL, v, 0};
    placeholder(b, "float8");
}

static void put_int(sg_builder *b, int64_t v) {
    if(b->nbinds >= SG_MAX_BINDS) {
        b->rc = KITH_ETOOBIG;
        return;
    }
    b->binds[b->nbinds++] = (sg_bind){2, NULL, 0, v};
    placeholder(b, "int8");
}

/* The parameter key of type/param (see sg_param_id). */
static void put_pid(sg_builder *b, const char *type, const char *param) {
    put_int(b, sg_param_id(type, param));
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

/* " AND x.col = v", when v is given (NULL: any value). */
static void and_eq(sg_builder *b, const char *x, const char *col, const char *v) {
    if(!v) return;
    buf_printf(&b->sql, " AND %s.%s = ", x, col);
    put_text(b, v);
}

/* "x.col starts with p", as a range the column's index can seek. */
static void prefix_cond(sg_builder *b, const char *x, const char *col, const char *p) {
    buf_printf(&b->sql, "(%s.%s >= ", x, col);
    put_text(b, p);
    buf_printf(&b->sql, " AND %s.%s < ", x, col);
    put_owned(b, prefix_end(p ? p : ""));
    buf_puts(&b->sql, ")");
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

/* "x.col OP v" */
static void bound(sg_builder *b, const char *x, const char *col, const char *op, double v) {
    buf_printf(&b->sql, "%s.%s %s ", x, col, op);
    put_num(b, v);
}

/* "(x.lo >= lo AND x.hi <= hi)": the indexed range lies within lo..hi. */
static void within(sg_builder *b, const char *x, double lo, double hi) {
    buf_puts(&b->sql, "(");
    bound(b, x, "lo", ">=", lo);
    buf_puts(&b->sql, " AND ");
    bound(b, x, "hi", "<=", hi);
    buf_puts(&b->sql, ")");
}

/* Range comparisons of the indexed range x.lo..x.hi with the search range. */
static void range_cond(sg_builder *b, const store_match *m, const char *x) {
    buf *s = &b->sql;
    double vlo = m->lo, vhi = m->hi;
    switch(m->op) {
    case STORE_OP_NE:
        buf_puts(s, "NOT ");
        within(b, x, vlo, vhi);
        break;
    case STORE_OP_GT: bound(b, x, "hi", ">", vhi); break;
    case STORE_OP_LT: bound(b, x, "lo", "<", vlo); break;
    case STORE_OP_GE:
    case STORE_OP_LE:
        buf_puts(s, "(");
        if(m->op == STORE_OP_GE)
            bound(b, x, "hi", ">", vhi);
        else
            bound(b, x, "lo", "<", vlo);
        buf_puts(s, " OR ");
        within(b, x, vlo, vhi);
        buf_puts(s, ")");
        break;
    case STORE_OP_SA: bound(b, x, "lo", ">", vhi); break;
    case STORE_OP_EB: bound(b, x, "hi", "<", vlo); break;
    case STORE_OP_AP: {
        double w = fabs(m->value) * 0.1;
        if(w < (vhi - vlo)) w = vhi - vlo;
        buf_puts(s, "(");
        bound(b, x, "lo", "<=", vhi + w);
        buf_puts(s, " AND ");
        bound(b, x, "hi", ">=", vlo - w);
        buf_puts(s, ")");
        break;
    }
    default: /* EQ */ within(b, x, vlo, vhi); break;
    }
}

static void build_ids(sg_builder *b, const store_query *q, int depth, const char *col);

/* The condition for one match on index row alias x. */
static void match_cond(sg_builder *b, store_ix_kind kind, const store_match *m, const char *x, int depth) {
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
            prefix_cond(b, x, "norm", m->a);
        }
        break;
    case STORE_IX_TOKEN:
        if(m->op == STORE_OP_TEXT) {
            prefix_cond(b, x, "text", m->c);
            break;
        }
        buf_printf(s, "(%s", SG_TRUE(b));
        and_eq(b, x, "code", m->b);
        and_eq(b, x, "system", m->a);
        buf_puts(s, ")");
        break;
    case STORE_IX_DATE:
    case STORE_IX_NUMBER: range_cond(b, m, x); break;
    case STORE_IX_QUANTITY:
        buf_puts(s, "(");
        range_cond(b, m, x);
        and_eq(b, x, "code", m->b);
        and_eq(b, x, "system", m->a);
        buf_puts(s, ")");
        break;
    case STORE_IX_REFERENCE:
        buf_printf(s, "(%s", SG_TRUE(b));
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
            and_eq(b, x, "tid", m->b);
            and_eq(b, x, "ttype", m->a);
        }
        buf_puts(s, ")");
        break;
    case STORE_IX_URI:
        if(m->op == STORE_OP_BELOW) {
            prefix_cond(b, x, "uri", m->a);
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
        and_eq(b, x, "a", m->a);
        and_eq(b, x, "c", m->c);
        if(m->hi > m->lo || m->op != STORE_OP_EQ) {
            buf_puts(s, " AND ");
            range_cond(b, m, x);
        }
        buf_puts(s, ")");
        break;
    case STORE_IX_TEXT:
    case STORE_IX_KINDS: buf_puts(s, b->d == SG_POSTGRES ? "false" : "0"); break;
    }
}

/* "x.pid = ? AND (match OR match ...)" for the index rows of filter f. */
static void index_rows_cond(sg_builder *b, const store_query *q, const store_filter *f, const char *x, int depth) {
    /* several values: the parameter id in every term, so that the database seeks the index once
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

/* _text / _content on SQLite: FTS5 over narrative or all text; its rowid is the resource key. */
static void text_cond_sqlite(sg_builder *b, const store_filter *f, const char *r) {
    buf *s = &b->sql;
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
}

/* _text / _content on PostgreSQL: every word of a value (plainto_tsquery), any value; folded as the
 * index is (kith_fold). */
static void text_cond_postgres(sg_builder *b, const store_filter *f, const char *r) {
    buf *s = &b->sql;
    const char *col = strcmp(f->param, "_text") == 0 ? "narrative" : "content";
    buf_printf(s, "%s.rkey IN (SELECT t.rkey FROM sp_text t WHERE false", r);
    for(size_t i = 0; i < f->nors; i++) {
        buf_printf(s, " OR t.%s @@ plainto_tsquery('simple', kith_fold(", col);
        put_text(b, f->ors[i].a ? f->ors[i].a : "");
        buf_puts(s, "))");
    }
    buf_puts(s, ")");
}

/* One AND filter, as a condition on resource alias r. */
static void filter_cond(sg_builder *b, const store_query *q, const store_filter *f, const char *r, int depth,
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
        if(b->d == SG_POSTGRES)
            text_cond_postgres(b, f, r);
        else
            text_cond_sqlite(b, f, r);
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

static void where_clause(sg_builder *b, const store_query *q, const char *r, int depth) {
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
    buf_printf(&b->sql, "%s%s.rtype = ", by_key && b->d == SG_SQLITE ? "+" : "", r);
    put_text(b, q->type);
    buf_printf(&b->sql, " AND %s.deleted = 0", r);
    for(size_t i = 0; i < q->nfilters; i++) {
        buf_puts(&b->sql, " AND ");
        filter_cond(b, q, &q->filters[i], r, depth, i == driver);
    }
    if(b->viewer) { /* the viewer sees only what the access policy allows, in every (sub)query */
        char col[24], type[24], id[24], key[24];
        snprintf(col, sizeof col, "%s.patient", r);
        snprintf(type, sizeof type, "%s.rtype", r);
        snprintf(id, sizeof id, "%s.rid", r);
        snprintf(key, sizeof key, "%s.rkey", r);
        sg_visible_cond(b->d, b->viewer, &b->sql, col, type, id, key);
    }
}

/* SELECT of the keys (col "rkey") or ids (col "rid") matching q (for chains and _has). */
static void build_ids(sg_builder *b, const store_query *q, int depth, const char *col) {
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
static void sort_key(sg_builder *b, const store_query *q, const store_sort *s) {
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
    if(!numeric && b->d == SG_POSTGRES && strcmp(col, "rkey") == 0) col = "rkey::text"; /* one type per key */
    buf_printf(o, "coalesce((SELECT %s(s.%s) FROM %s s WHERE s.rkey = r.rkey AND s.pid = ", agg, col,
               table_of(s->kind));
    put_pid(b, q->type, s->param);
    /* Resources without a value sort last; the stand-in must be text, as cursors carry it as text. */
    const char *top = b->d == SG_POSTGRES ? "chr(1114111)" : "char(1114111)";
    buf_printf(o, "), %s)", numeric ? (s->desc ? "-1e308" : "1e308") : (s->desc ? "''" : top));
}

static bool key_numeric(const store_sort *s) {
    return strcmp(s->param, "_id") != 0 && strcmp(s->param, "_lastUpdated") != 0 &&
           (s->kind == STORE_IX_DATE || s->kind == STORE_IX_NUMBER || s->kind == STORE_IX_QUANTITY);
}

/* ---- cursors ------------------------------------------------------------ */

/* A cursor is hex of "k1\x1fk2\x1f...\x1frid": keys as the row gave them. */
static char *cursor_make(const sg_row *row, int first_key, size_t nkeys, const char *rid) {
    buf raw = BUF_INIT, hex = BUF_INIT;
    for(size_t i = 0; i < nkeys; i++) {
        const char *k = row->text(row->h, first_key + (int)i);
        buf_puts(&raw, k ? k : "");
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

void sg_builder_reset(sg_builder *b) {
    buf_free(&b->sql);
    for(int i = 0; i < b->nowned; i++) free(b->owned[i]);
    b->nowned = 0;
    b->nbinds = 0;
    b->rc = KITH_OK;
}

/* One fetched row, held until the page is complete (a backward page is
 * fetched in reverse and handed out in order). */
typedef struct page_row {
    store_resource res;
    char *cursor;
} page_row;

typedef struct page {
    const store_query *q;
    page_row *rows;
    size_t n;
    bool more;         /* a row beyond the page came */
    bool total_beside; /* the total is a column beside each row */
    int64_t *total;
} page;

static int take_total(void *ctx, const sg_row *r) {
    *(int64_t *)ctx = r->i64(r->h, 0);
    return 1;
}

static char *row_dup(const sg_row *r, int col) {
    const char *t = r->text(r->h, col);
    return t ? xstrndup(t, r->len(r->h, col)) : NULL;
}

static int take_page_row(void *ctx, const sg_row *r) {
    page *p = ctx;
    if(p->n == p->q->count) {
        p->more = true;
        return 1;
    }
    store_resource *res = &p->rows[p->n].res;
    res->type = xstrdup(p->q->type);
    res->id = row_dup(r, 0);
    res->version = r->i64(r->h, 1);
    res->last_updated = row_dup(r, 2);
    res->deleted = r->i64(r->h, 3) != 0;
    res->method = row_dup(r, 4);
    res->body = row_dup(r, 5);
    res->body_len = res->body ? r->len(r->h, 5) : 0;
    res->seq = r->i64(r->h, 6);
    p->rows[p->n].cursor = cursor_make(r, 7, p->q->nsorts, res->id);
    if(p->total_beside && p->n == 0) *p->total = r->i64(r->h, 7 + (int)p->q->nsorts);
    p->n++;
    return 0;
}

kith_rc sg_search(store_conn *c, sg_dialect d, int viewer, sg_run_fn run, const store_query *q, store_history_fn fn,
                  void *ctx, int64_t *total, char **next_cursor, char **prev_cursor) {
    sg_builder *b = xcalloc(1, sizeof *b);
    b->d = d;
    b->viewer = viewer;
    char **cur = NULL;
    page pg = {.q = q, .total = total};
    bool backward = false;
    kith_rc rc = KITH_OK;
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
    pg.total_beside = q->want_total && q->count > 0 && !cur;
    if(pg.total_beside) *total = 0;
    if(q->want_total && !pg.total_beside) {
        if(q->nfilters == 1 && plain_filter(&q->filters[0]) && !viewer) {
            /* Index rows exist only for current, live resources of their own type:
             * one filter's total needs no look at the resources themselves. */
            buf_printf(&b->sql, "SELECT count(DISTINCT x0.rkey) FROM %s x0 WHERE ", table_of(q->filters[0].kind));
            index_rows_cond(b, q, &q->filters[0], "x0", 0);
        } else {
            buf_puts(&b->sql, "SELECT count(*) FROM resource r WHERE ");
            where_clause(b, q, "r", 0);
        }
        if((rc = b->rc)) goto done;
        *total = 0;
        if((rc = run(c, b, take_total, total))) goto done;
        sg_builder_reset(b);
    }
    if(q->count == 0) goto done;

    /* The page's keys first: SELECT * FROM (rows with their sort keys) WHERE beyond-cursor ORDER BY
     * keys, rid LIMIT count+1; then the bodies of just those rows (so that sorting many matches
     * never carries their bodies). Backward pages flip every direction and are reversed afterwards. */
    buf_puts(&b->sql, "SELECT p.rid, v.vid, v.ts, v.deleted, v.method, v.body, v.seq");
    for(size_t i = 0; i < q->nsorts; i++) buf_printf(&b->sql, ", p.k%zu", i);
    buf_puts(&b->sql, pg.total_beside
                          ? ", p.kt FROM (SELECT *, count(*) OVER () AS kt FROM (SELECT r.rid AS rid, r.seq AS rseq"
                          : " FROM (SELECT * FROM (SELECT r.rid AS rid, r.seq AS rseq");
    for(size_t i = 0; i < q->nsorts; i++) {
        buf_puts(&b->sql, ", ");
        sort_key(b, q, &q->sorts[i]);
        buf_printf(&b->sql, " AS k%zu", i);
    }
    buf_puts(&b->sql, " FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE ");
    where_clause(b, q, "r", 0);
    buf_puts(&b->sql, d == SG_POSTGRES ? ") q" : ")");
    if(cur) {
        /* (k0 > c0) OR (k0 = c0 AND k1 > c1) OR ... OR (all keys equal AND rid > crid) */
        buf_puts(&b->sql, " WHERE (");
        for(size_t i = 0; i <= q->nsorts; i++) {
            if(i) buf_puts(&b->sql, " OR ");
            buf_printf(&b->sql, "(%s", SG_TRUE(b));
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
    pg.rows = xcalloc(q->count, sizeof *pg.rows);
    if((rc = run(c, b, take_page_row, &pg))) goto done;
    page_row *rows = pg.rows;
    size_t n = pg.n;
    if(backward) {
        for(size_t i = 0; i < n / 2; i++) {
            page_row t = rows[i];
            rows[i] = rows[n - 1 - i];
            rows[n - 1 - i] = t;
        }
    }
    if(n) {
        /* Forward: more rows after this page, and (if we came from somewhere) rows before it.
         * Backward: more rows before this page, and always the page we came from after it. */
        bool has_next = backward ? true : pg.more;
        bool has_prev = backward ? pg.more : q->cursor != NULL;
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
    for(size_t i = 0; i < pg.n; i++) {
        store_resource_free(&pg.rows[i].res);
        free(pg.rows[i].cursor);
    }
    free(pg.rows);
    if(cur) {
        for(size_t i = 0; i <= q->nsorts; i++) free(cur[i]);
        free(cur);
    }
    sg_builder_reset(b);
    free(b);
    return rc;
}

typedef struct refs_ctx {
    store_ref_fn fn;
    void *ctx;
} refs_ctx;

static int take_ref(void *ctx, const sg_row *r) {
    refs_ctx *k = ctx;
    return k->fn(k->ctx, r->text(r->h, 0), r->text(r->h, 1));
}

static kith_rc run_refs(store_conn *c, sg_run_fn run, sg_builder *b, store_ref_fn fn, void *ctx) {
    refs_ctx k = {fn, ctx};
    kith_rc rc = b->rc ? b->rc : run(c, b, take_ref, &k);
    sg_builder_reset(b);
    free(b);
    return rc;
}

static void put_ids(sg_builder *b, const char *const *ids, size_t nids) {
    for(size_t i = 0; i < nids; i++) {
        if(i) buf_putc(&b->sql, ',');
        put_text(b, ids[i]);
    }
}

kith_rc sg_references_from(store_conn *c, sg_dialect d, sg_run_fn run, const char *type, const char *const *ids,
                           size_t nids, const char *param, const char *target_type, store_ref_fn fn, void *ctx) {
    if(nids == 0) return KITH_OK;
    sg_builder *b = xcalloc(1, sizeof *b);
    b->d = d;
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
    put_ids(b, ids, nids);
    buf_puts(&b->sql, ") ORDER BY 1, 2");
    return run_refs(c, run, b, fn, ctx);
}

kith_rc sg_references_to(store_conn *c, sg_dialect d, sg_run_fn run, const char *type, const char *const *ids,
                         size_t nids, const char *src_type, const char *param, store_ref_fn fn, void *ctx) {
    if(nids == 0) return KITH_OK;
    sg_builder *b = xcalloc(1, sizeof *b);
    b->d = d;
    /* the references (by target, an index lookup) first, then their resources: SQLite, without
     * statistics, would otherwise walk every resource of src_type (CROSS JOIN keeps the order) */
    buf_puts(&b->sql, "SELECT DISTINCT s.rtype, s.rid FROM sp_reference x CROSS JOIN resource s WHERE s.rkey = x.rkey "
                      "AND s.deleted = 0 AND x.ttype = ");
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
    put_ids(b, ids, nids);
    buf_puts(&b->sql, ") ORDER BY 1, 2");
    return run_refs(c, run, b, fn, ctx);
}
