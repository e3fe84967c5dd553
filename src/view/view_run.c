/*
 * view_run.c — the rows of one resource under a compiled view (view_int.h).
 *
 * The SQL on FHIR processing model: a select's rows are the cross product
 * of its own columns (one row), each nested select's rows and its
 * unionAll's rows (the branches' rows one after another), taken once per
 * item of its forEach (none when forEach gives nothing; one row of nulls
 * for forEachOrNull). Rather than build those products, the walk keeps a
 * stack of selects still to visit, each with its focus: visiting one fills
 * its columns' cells and pushes its children; when the stack is empty, the
 * cells are a complete row and go to the caller. Every expression result
 * lives until the walk returns past it, so cells borrow their text from
 * the results. Memory is one resource's expressions at a time.
 *
 * Thread-safe: all state is on the caller's stack or in its own heap.
 */
#include "view/view_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* A select waiting to be visited, with its focus. */
typedef struct pending {
    const vsel *s;
    const json_value *node; /* the focus: the resource or a forEach item (NULL: an item with no value) */
    const char *type;       /* its FHIR type when it is not a resource, else NULL */
} pending;

typedef struct run {
    const view *v;
    view_cell *cells;
    pending *stack;
    fhirpath_var key; /* %__resource_key */
    view_row_fn fn;
    void *ctx;
    char *err;
    size_t errlen;
    const char *what; /* "Patient/pt1", for messages */
    size_t rows;
} run;

static kith_rc failf(run *r, kith_rc rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static kith_rc failf(run *r, kith_rc rc, const char *fmt, ...) {
    va_list ap;
    if(r->err && r->errlen) {
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Evaluate e with node as its focus (and %resource, %context). */
static kith_rc eval(run *r, const fhirpath_expr *e, const json_value *node, const char *type, const char *where,
                    const char *path, fhirpath_result **out) {
    char msg[256];
    fhirpath_env env = {.vars = &r->key, .nvars = r->v->uses_key ? 1 : 0, .root_type = type};
    if(fhirpath_eval(e, node, &env, out, msg, sizeof msg))
        return failf(r, KITH_EINVALID, "%s: '%s' failed on %s: %s", where, path, r->what, msg);
    return KITH_OK;
}

static const char *kind_name(const fhirpath_item *it) {
    if(it->kind == FP_NODE) {
        switch(json_kind_of(it->node)) {
        case JSON_OBJECT: return it->type ? it->type : "an element";
        case JSON_STRING: return "a string";
        case JSON_INTEGER:
        case JSON_DECIMAL: return "a number";
        case JSON_BOOL: return "a boolean";
        default: return "an empty value";
        }
    }
    return it->type ? it->type : "a value";
}

/* ---- cells --------------------------------------------------------------------- */

/* The cell of one item (not a collection). *owned gets text the cell
 * points at that the caller frees. */
static void item_cell(const fhirpath_item *it, view_cell *cell, char **owned) {
    buf b = BUF_INIT;
    cell->kind = VIEW_NULL;
    cell->text = NULL;
    switch(it->kind) {
    case FP_NODE:
        switch(json_kind_of(it->node)) {
        case JSON_NULL: return;
        case JSON_STRING: *cell = (view_cell){VIEW_STRING, json_string(it->node)}; return;
        case JSON_INTEGER:
        case JSON_DECIMAL: *cell = (view_cell){VIEW_NUMBER, json_number_text(it->node)}; return;
        case JSON_BOOL: *cell = (view_cell){VIEW_BOOL, json_boolean(it->node) ? "true" : "false"}; return;
        case JSON_ARRAY:
        case JSON_OBJECT: break;
        }
        break;
    case FP_BOOLEAN: *cell = (view_cell){VIEW_BOOL, it->boolean ? "true" : "false"}; return;
    case FP_INTEGER: buf_printf(&b, "%" PRId64, it->integer); break;
    case FP_DECIMAL: *cell = (view_cell){VIEW_NUMBER, it->text}; return;
    case FP_STRING:
    case FP_DATE:
    case FP_DATETIME:
    case FP_TIME: *cell = (view_cell){VIEW_STRING, it->text}; return;
    case FP_QUANTITY: break;
    }
    if(!b.len) fhirpath_item_write(&b, it);
    *owned = buf_take(&b, NULL);
    cell->kind = it->kind == FP_INTEGER ? VIEW_NUMBER : VIEW_JSON;
    cell->text = *owned;
}

/* The values of s's columns on a focus; results and owned texts kept until
 * the caller frees them with free_columns. */
typedef struct held {
    fhirpath_result **res;
    char **owned;
    size_t n;
} held;

static void free_columns(held *h) {
    for(size_t i = 0; i < h->n; i++) {
        fhirpath_result_free(h->res[i]);
        free(h->owned[i]);
    }
    free(h->res);
    free(h->owned);
}

static kith_rc fill_columns(run *r, const vsel *s, const pending *p, held *h) {
    h->n = s->ncols;
    h->res = xcalloc(s->ncols + 1, sizeof *h->res);
    h->owned = xcalloc(s->ncols + 1, sizeof *h->owned);
    for(size_t i = 0; i < s->ncols; i++) {
        const vcol *c = &s->cols[i];
        view_cell *cell = &r->cells[s->off + i];
        kith_rc rc = eval(r, c->expr, p->node, p->type, c->where, c->path, &h->res[i]);
        if(rc) return rc;
        size_t n = fhirpath_result_count(h->res[i]);
        if(c->collection) {
            buf b = BUF_INIT;
            fhirpath_result_write(&b, h->res[i]);
            h->owned[i] = buf_take(&b, NULL);
            *cell = (view_cell){VIEW_JSON, h->owned[i]};
        } else if(n > 1) {
            return failf(r, KITH_EINVALID,
                         "%s '%s': '%s' gave %zu values on %s; a column gives one value unless it says "
                         "\"collection\": true",
                         c->where, c->name, c->path, n, r->what);
        } else if(n == 1) {
            item_cell(fhirpath_result_at(h->res[i], 0), cell, &h->owned[i]);
        } else {
            *cell = (view_cell){VIEW_NULL, NULL};
        }
    }
    return KITH_OK;
}

static void fill_nulls(run *r, const vsel *s) {
    for(size_t i = 0; i < s->width; i++) r->cells[s->off + i] = (view_cell){VIEW_NULL, NULL};
}

/* ---- foci ------------------------------------------------------------------------- */

/* The focus an item of forEach gives: a node of the resource, or a value
 * the expression computed, made into JSON (*owned, caller frees). */
static void focus_of(const fhirpath_item *it, const vsel *s, pending *p, json_value **owned) {
    json_value *j = NULL;
    const char *type = NULL;
    *owned = NULL;
    p->s = s;
    if(it->kind == FP_NODE) {
        p->node = it->node;
        p->type = it->node && json_get(it->node, "resourceType") ? NULL : it->type;
        return;
    }
    switch(it->kind) {
    case FP_BOOLEAN: j = json_new_bool(it->boolean), type = "boolean"; break;
    case FP_INTEGER: j = json_new_int(it->integer), type = "integer"; break;
    case FP_DECIMAL: j = json_new_number_text(it->text), type = "decimal"; break;
    case FP_DATE: j = json_new_string(it->text), type = "date"; break;
    case FP_DATETIME: j = json_new_string(it->text), type = "dateTime"; break;
    case FP_TIME: j = json_new_string(it->text), type = "time"; break;
    case FP_QUANTITY:
        j = json_new_object();
        json_set(j, "value", json_new_number_text(it->text));
        if(it->unit) json_set(j, "unit", json_new_string(it->unit));
        type = "Quantity";
        break;
    default: j = json_new_string(it->text ? it->text : ""), type = "string"; break;
    }
    p->node = j;
    p->type = type;
    *owned = j;
}

/* ---- the walk --------------------------------------------------------------------- */

static kith_rc walk(run *r, size_t top);

/* Push s's nested selects so that the first is visited first; returns the new top. */
static size_t push_subs(run *r, size_t top, const vsel *s, const pending *f) {
    for(size_t i = s->nsubs; i-- > 0;) r->stack[top++] = (pending){&s->subs[i], f->node, f->type};
    return top;
}

/* After s's columns are filled for focus f: its nested selects, then each
 * unionAll branch in turn, then what was pending below (base). */
static kith_rc walk_children(run *r, size_t base, const vsel *s, const pending *f) {
    if(!s->nunions) return walk(r, push_subs(r, base, s, f));
    for(size_t u = 0; u < s->nunions; u++) {
        r->stack[base] = (pending){&s->unions[u], f->node, f->type};
        kith_rc rc = walk(r, push_subs(r, base + 1, s, f));
        if(rc) return rc;
    }
    return KITH_OK;
}

static kith_rc emit(run *r) {
    if(++r->rows > VIEW_MAX_ROWS_PER_RESOURCE)
        return failf(r, KITH_ETOOBIG, "%s gives more than %u rows; narrow the forEach paths", r->what,
                     VIEW_MAX_ROWS_PER_RESOURCE);
    return r->fn(r->ctx, r->cells, r->v->ncolumns);
}

/* Visit the select on top of the stack (r->stack[top - 1]) and all that is
 * pending below it. The stack is as it was when this returns. */
static kith_rc walk(run *r, size_t top) {
    if(top == 0) return emit(r);
    pending p = r->stack[top - 1];
    const vsel *s = p.s;
    fhirpath_result *each = NULL;
    kith_rc rc = KITH_OK;
    size_t nfoci = 1;
    if(s->each) {
        char where[600];
        snprintf(where, sizeof where, "%s.%s", s->where, s->or_null ? "forEachOrNull" : "forEach");
        rc = eval(r, s->each, p.node, p.type, where, s->each_path, &each);
        if(rc) return rc;
        nfoci = fhirpath_result_count(each);
        if(nfoci == 0 && s->or_null) {
            fill_nulls(r, s);
            rc = walk(r, top - 1);
        }
    }
    for(size_t k = 0; k < nfoci && !rc; k++) {
        pending f = p;
        json_value *owned = NULL;
        held h = {0};
        if(each) focus_of(fhirpath_result_at(each, k), s, &f, &owned);
        rc = fill_columns(r, s, &f, &h);
        if(!rc) rc = walk_children(r, top - 1, s, &f);
        free_columns(&h);
        json_free(owned);
    }
    fhirpath_result_free(each);
    r->stack[top - 1] = p;
    return rc;
}

/* Does the resource pass every where[]? */
static kith_rc passes(run *r, const json_value *resource, bool *ok) {
    *ok = true;
    for(size_t i = 0; i < r->v->nwheres && *ok; i++) {
        const vwhere *w = &r->v->wheres[i];
        fhirpath_result *res = NULL;
        kith_rc rc = eval(r, w->expr, resource, NULL, w->where, w->path, &res);
        if(rc) return rc;
        size_t n = fhirpath_result_count(res);
        const fhirpath_item *it = n == 1 ? fhirpath_result_at(res, 0) : NULL;
        if(n == 0) {
            *ok = false;
        } else if(it && it->kind == FP_BOOLEAN) {
            *ok = it->boolean;
        } else if(it && it->kind == FP_NODE && json_kind_of(it->node) == JSON_BOOL) {
            *ok = json_boolean(it->node);
        } else {
            char got[64];
            if(n > 1)
                snprintf(got, sizeof got, "%zu values", n);
            else
                snprintf(got, sizeof got, "%s", kind_name(it));
            rc = failf(r, KITH_EINVALID, "%s.path: '%s' gave %s on %s, not a boolean", w->where, w->path, got,
                       r->what);
        }
        fhirpath_result_free(res);
        if(rc) return rc;
    }
    return KITH_OK;
}

kith_rc view_run_resource(const view *v, const json_value *resource, view_row_fn fn, void *ctx, char *err,
                          size_t errlen) {
    const char *type = json_string(json_get(resource, "resourceType"));
    const char *id = json_string(json_get(resource, "id"));
    char what[160], key[160];
    json_value *keyval = NULL;
    kith_rc rc = KITH_OK;
    bool ok = false;
    if(err && errlen) err[0] = 0;
    if(!type || strcmp(type, v->resource) != 0) return KITH_OK;
    snprintf(what, sizeof what, "%s/%s", type, id ? id : "(no id)");
    if(id && v->uses_key) {
        snprintf(key, sizeof key, "%s/%s", type, id);
        keyval = json_new_string(key);
    }
    run r = {.v = v, .fn = fn, .ctx = ctx, .err = err, .errlen = errlen, .what = what};
    r.key = (fhirpath_var){VIEW_KEY_VAR, keyval};
    rc = passes(&r, resource, &ok);
    if(!rc && ok) {
        r.cells = xcalloc(v->ncolumns + 1, sizeof *r.cells);
        r.stack = xcalloc(v->nselects + 1, sizeof *r.stack);
        r.stack[0] = (pending){&v->root, resource, NULL};
        rc = walk(&r, 1);
        free(r.cells);
        free(r.stack);
    }
    json_free(keyval);
    return rc;
}
