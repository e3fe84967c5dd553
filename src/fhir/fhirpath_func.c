/*
 * fhirpath_func.c — the FHIRPath function library: existence, filtering
 * and projection, subsetting, combining, conversion, math, tree navigation,
 * utility and the FHIR additions (extension, resolve, hasValue, getValue).
 * String functions live in fhirpath_string.c, boundaries and precision in
 * fhirpath_boundary.c.
 *
 * Every function has the signature fp_fn (fhirpath_int.h): it receives its
 * focus (the collection it was called on), the scope's input for its
 * arguments, and appends its result to `out`. Arguments are evaluated here,
 * lazily where the spec says they run per item ($this, $index, $total).
 * Results are allocated from the evaluation's arena. The function table is
 * static and read-only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "fhir/fhirpath_fn.h"

/* ---- helpers shared with the other function files ------------------------------ */

bool fpf_single(fp_ctx *c, const fp_coll *x, const char *what, const fp_item **it) {
    *it = NULL;
    if(x->n > 1) return fp_fail(c, "%s: expected a single value, got %zu", what, x->n);
    if(x->n == 1) *it = &x->items[0];
    return true;
}

bool fpf_arg_single(fp_ctx *c, const fp_node *n, int i, const fp_coll *in, const fp_frame *f, fp_item *out,
                    bool *present) {
    fp_coll a = {0};
    const fp_item *it;
    *present = false;
    if(!fp_arg(c, n, i, in, f, &a)) return false;
    if(!fpf_single(c, &a, n->name, &it)) return false;
    if(!it) return true;
    if(!fp_item_system(c, it, out)) return true;
    *present = true;
    return true;
}

bool fpf_arg_int(fp_ctx *c, const fp_node *n, int i, const fp_coll *in, const fp_frame *f, int64_t *v, bool *present) {
    fp_item x;
    if(!fpf_arg_single(c, n, i, in, f, &x, present)) return false;
    if(!*present) return true;
    if(x.v.kind != FP_INTEGER) return fp_fail(c, "%s: expected an integer argument", n->name);
    *v = x.v.integer;
    return true;
}

bool fpf_arg_string(fp_ctx *c, const fp_node *n, int i, const fp_coll *in, const fp_frame *f, const char **s) {
    fp_item x;
    bool present;
    *s = NULL;
    if(!fpf_arg_single(c, n, i, in, f, &x, &present)) return false;
    if(!present) return true;
    if(x.v.kind != FP_STRING) return fp_fail(c, "%s: expected a string argument", n->name);
    *s = x.v.text;
    return true;
}

void fpf_push_bool(fp_ctx *c, fp_coll *out, bool b) {
    fp_item it;
    fp_item_bool(&it, b);
    fp_coll_push(c->arena, out, &it);
}

void fpf_push_int(fp_ctx *c, fp_coll *out, int64_t i) {
    fp_item it;
    fp_item_int(&it, i);
    fp_coll_push(c->arena, out, &it);
}

void fpf_push_str(fp_ctx *c, fp_coll *out, const char *s) {
    fp_item it;
    fp_item_str(&it, s);
    fp_coll_push(c->arena, out, &it);
}

void fpf_push_dec(fp_ctx *c, fp_coll *out, fp_dec d) {
    fp_item it;
    fp_item_dec(c, &it, d);
    fp_coll_push(c->arena, out, &it);
}

/* Evaluate argument i per item of focus with $this/$index set. */
static bool eval_per_item(fp_ctx *c, const fp_node *arg, const fp_coll *focus, size_t i, const fp_frame *f,
                          fp_coll *out) {
    fp_frame fr = {&focus->items[i], (int64_t)i, NULL, f};
    fp_coll one = {&focus->items[i], 1, 1};
    return fp_eval_node(c, arg, &one, &fr, out);
}

static bool coll_has(fp_ctx *c, const fp_coll *coll, const fp_item *it) {
    if(!fp_work(c, coll->n)) return false;
    for(size_t i = 0; i < coll->n; i++)
        if(fp_item_equal(c, &coll->items[i], it) == 1) return true;
    return false;
}

/* Identity for nodes (same JSON node), equality for values: used by repeat(). */
static bool coll_has_same(fp_ctx *c, const fp_coll *coll, const fp_item *it) {
    if(!fp_work(c, coll->n)) return false;
    for(size_t i = 0; i < coll->n; i++) {
        const fp_item *x = &coll->items[i];
        if(it->v.kind == FP_NODE || x->v.kind == FP_NODE) {
            if(x->v.kind == it->v.kind && x->v.node == it->v.node && x->ext == it->ext) return true;
        } else if(fp_item_equal(c, x, it) == 1) {
            return true;
        }
    }
    return false;
}

/* ---- existence ---------------------------------------------------------------- */

static bool fn_empty(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    fpf_push_bool(c, out, focus->n == 0);
    return true;
}

static bool fn_exists(FP_FN_ARGS) {
    if(n->nargs == 0) {
        fpf_push_bool(c, out, focus->n > 0);
        return true;
    }
    (void)in;
    for(size_t i = 0; i < focus->n; i++) {
        fp_coll r = {0};
        if(!eval_per_item(c, n->args[0], focus, i, f, &r)) return false;
        int t = fp_coll_truth(c, &r, "exists");
        if(t == -2) return false;
        if(t == 1) {
            fpf_push_bool(c, out, true);
            return true;
        }
    }
    fpf_push_bool(c, out, false);
    return true;
}

static bool fn_all(FP_FN_ARGS) {
    (void)in;
    for(size_t i = 0; i < focus->n; i++) {
        fp_coll r = {0};
        if(!eval_per_item(c, n->args[0], focus, i, f, &r)) return false;
        int t = fp_coll_truth(c, &r, "all");
        if(t == -2) return false;
        if(t != 1) {
            fpf_push_bool(c, out, false);
            return true;
        }
    }
    fpf_push_bool(c, out, true);
    return true;
}

/* allTrue, anyTrue, allFalse, anyFalse */
static bool bool_agg(fp_ctx *c, const fp_coll *focus, bool want, bool all, fp_coll *out) {
    for(size_t i = 0; i < focus->n; i++) {
        fp_item x;
        if(!fp_item_system(c, &focus->items[i], &x)) continue;
        if(x.v.kind != FP_BOOLEAN) return fp_fail(c, "expected booleans");
        if(all && x.v.boolean != want) {
            fpf_push_bool(c, out, false);
            return true;
        }
        if(!all && x.v.boolean == want) {
            fpf_push_bool(c, out, true);
            return true;
        }
    }
    fpf_push_bool(c, out, all);
    return true;
}
static bool fn_allTrue(FP_FN_ARGS) { (void)n; (void)in; (void)f; return bool_agg(c, focus, true, true, out); }
static bool fn_anyTrue(FP_FN_ARGS) { (void)n; (void)in; (void)f; return bool_agg(c, focus, true, false, out); }
static bool fn_allFalse(FP_FN_ARGS) { (void)n; (void)in; (void)f; return bool_agg(c, focus, false, true, out); }
static bool fn_anyFalse(FP_FN_ARGS) { (void)n; (void)in; (void)f; return bool_agg(c, focus, false, false, out); }

static bool subset(fp_ctx *c, const fp_coll *a, const fp_coll *b) {
    for(size_t i = 0; i < a->n; i++)
        if(!coll_has(c, b, &a->items[i])) return false;
    return true;
}

static bool fn_subsetOf(FP_FN_ARGS) {
    fp_coll other = {0};
    if(!fp_arg(c, n, 0, in, f, &other)) return false;
    fpf_push_bool(c, out, subset(c, focus, &other));
    return true;
}

static bool fn_supersetOf(FP_FN_ARGS) {
    fp_coll other = {0};
    if(!fp_arg(c, n, 0, in, f, &other)) return false;
    fpf_push_bool(c, out, subset(c, &other, focus));
    return true;
}

static bool fn_count(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    fpf_push_int(c, out, (int64_t)focus->n);
    return true;
}

static bool fn_distinct(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    for(size_t i = 0; i < focus->n; i++)
        if(!coll_has(c, out, &focus->items[i])) fp_coll_push(c->arena, out, &focus->items[i]);
    return true;
}

static bool fn_isDistinct(FP_FN_ARGS) {
    fp_coll d = {0};
    if(!fn_distinct(c, n, focus, in, f, &d)) return false;
    fpf_push_bool(c, out, d.n == focus->n);
    return true;
}

/* ---- filtering and projection -------------------------------------------------- */

static bool fn_where(FP_FN_ARGS) {
    (void)in;
    for(size_t i = 0; i < focus->n; i++) {
        fp_coll r = {0};
        if(!eval_per_item(c, n->args[0], focus, i, f, &r)) return false;
        int t = fp_coll_truth(c, &r, "where");
        if(t == -2) return false;
        if(t == 1) fp_coll_push(c->arena, out, &focus->items[i]);
    }
    return true;
}

static bool fn_select(FP_FN_ARGS) {
    (void)in;
    for(size_t i = 0; i < focus->n; i++) {
        fp_coll r = {0};
        if(!eval_per_item(c, n->args[0], focus, i, f, &r)) return false;
        fp_coll_append(c->arena, out, &r);
    }
    return true;
}

static bool fn_repeat(FP_FN_ARGS) {
    (void)in;
    fp_coll work = *focus;
    for(int round = 0; work.n; round++) {
        fp_coll next = {0};
        if(round >= FP_MAX_REPEAT_ROUNDS) return fp_fail(c, "repeat(): more than %d rounds", FP_MAX_REPEAT_ROUNDS);
        for(size_t i = 0; i < work.n; i++) {
            fp_coll r = {0};
            if(!eval_per_item(c, n->args[0], &work, i, f, &r)) return false;
            for(size_t j = 0; j < r.n; j++) {
                if(coll_has_same(c, out, &r.items[j])) continue;
                fp_coll_push(c->arena, out, &r.items[j]);
                fp_coll_push(c->arena, &next, &r.items[j]);
            }
            if(c->arena->over) return fp_fail(c, "repeat(): result too large");
        }
        work = next;
    }
    return true;
}

static bool fn_ofType(FP_FN_ARGS) {
    (void)in; (void)f;
    for(size_t i = 0; i < focus->n; i++)
        if(fp_item_as_type(c, &focus->items[i], n->ns, n->name)) fp_coll_push(c->arena, out, &focus->items[i]);
    return true;
}

static bool fn_is(FP_FN_ARGS) {
    const fp_item *x;
    (void)in; (void)f;
    if(!fpf_single(c, focus, "is", &x)) return false;
    if(x) fpf_push_bool(c, out, fp_item_is_type(c, x, n->ns, n->name));
    return true;
}

static bool fn_as(FP_FN_ARGS) {
    (void)in; (void)f;
    if(focus->n > 1 && !(c->env && c->env->as_filters))
        return fp_fail(c, "as: expected a single value, got %zu", focus->n);
    return fn_ofType(c, n, focus, in, f, out);
}

/* ---- subsetting ------------------------------------------------------------------ */

static bool fn_single(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    if(focus->n > 1) return fp_fail(c, "single(): %zu items", focus->n);
    fp_coll_append(c->arena, out, focus);
    return true;
}

static bool fn_first(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    if(focus->n) fp_coll_push(c->arena, out, &focus->items[0]);
    return true;
}

static bool fn_last(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    if(focus->n) fp_coll_push(c->arena, out, &focus->items[focus->n - 1]);
    return true;
}

static void push_range(fp_ctx *c, const fp_coll *focus, size_t from, size_t to, fp_coll *out) {
    for(size_t i = from; i < to && i < focus->n; i++) fp_coll_push(c->arena, out, &focus->items[i]);
}

static bool fn_tail(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    push_range(c, focus, 1, focus->n, out);
    return true;
}

static bool fn_skip(FP_FN_ARGS) {
    int64_t k = 0;
    bool present;
    if(!fpf_arg_int(c, n, 0, in, f, &k, &present)) return false;
    if(!present) return true;
    if(k < 0) k = 0;
    push_range(c, focus, (size_t)k, focus->n, out);
    return true;
}

static bool fn_take(FP_FN_ARGS) {
    int64_t k = 0;
    bool present;
    if(!fpf_arg_int(c, n, 0, in, f, &k, &present)) return false;
    if(!present || k <= 0) return true;
    push_range(c, focus, 0, (size_t)k, out);
    return true;
}

static bool fn_intersect(FP_FN_ARGS) {
    fp_coll other = {0};
    if(!fp_arg(c, n, 0, in, f, &other)) return false;
    for(size_t i = 0; i < focus->n; i++) {
        const fp_item *it = &focus->items[i];
        if(coll_has(c, &other, it) && !coll_has(c, out, it)) fp_coll_push(c->arena, out, it);
    }
    return true;
}

static bool fn_exclude(FP_FN_ARGS) {
    fp_coll other = {0};
    if(!fp_arg(c, n, 0, in, f, &other)) return false;
    for(size_t i = 0; i < focus->n; i++)
        if(!coll_has(c, &other, &focus->items[i])) fp_coll_push(c->arena, out, &focus->items[i]);
    return true;
}

/* ---- combining --------------------------------------------------------------------- */

static bool fn_union(FP_FN_ARGS) {
    fp_coll other = {0};
    if(!fp_arg(c, n, 0, in, f, &other)) return false;
    fp_union(c, focus, &other, out);
    return true;
}

static bool fn_combine(FP_FN_ARGS) {
    fp_coll other = {0};
    if(!fp_arg(c, n, 0, in, f, &other)) return false;
    fp_coll_append(c->arena, out, focus);
    fp_coll_append(c->arena, out, &other);
    return true;
}

/* ---- boolean and conditional --------------------------------------------------------- */

static bool fn_not(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    int t = fp_coll_truth(c, focus, "not()");
    if(t == -2) return false;
    if(t >= 0) fpf_push_bool(c, out, !t);
    return true;
}

static bool fn_iif(FP_FN_ARGS) {
    fp_coll cond = {0};
    if(focus->n > 1 && n->a) return fp_fail(c, "iif(): called on %zu items", focus->n);
    const fp_coll *scope = n->a ? focus : in;
    fp_frame fr = {scope->n ? &scope->items[0] : NULL, 0, NULL, f};
    const fp_frame *use = n->a && scope->n ? &fr : f;
    if(!fp_eval_node(c, n->args[0], scope, use, &cond)) return false;
    if(cond.n > 1) return fp_fail(c, "iif(): the condition has %zu items", cond.n);
    bool yes = false;
    if(cond.n == 1) {
        fp_item x;
        if(!fp_item_system(c, &cond.items[0], &x) || x.v.kind != FP_BOOLEAN)
            return fp_fail(c, "iif(): the condition is not a boolean");
        yes = x.v.boolean;
    }
    if(yes) return fp_eval_node(c, n->args[1], scope, use, out);
    if(n->nargs > 2) return fp_eval_node(c, n->args[2], scope, use, out);
    return true;
}

/* ---- tree navigation ---------------------------------------------------------------- */

static bool fn_children(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    for(size_t i = 0; i < focus->n; i++) fp_all_children(c, &focus->items[i], out);
    return true;
}

static bool fn_descendants(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    fp_coll work = *focus;
    for(int round = 0; work.n; round++) {
        fp_coll next = {0};
        if(round > JSON_MAX_DEPTH + 2) break;
        for(size_t i = 0; i < work.n; i++) fp_all_children(c, &work.items[i], &next);
        fp_coll_append(c->arena, out, &next);
        if(c->arena->over) return fp_fail(c, "descendants(): too large");
        work = next;
    }
    return true;
}

/* ---- utility -------------------------------------------------------------------------- */

static bool fn_trace(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    fp_coll_append(c->arena, out, focus);
    return true;
}

static void now_parts(struct tm *tm, int *ms, int *tzmin) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t t = ts.tv_sec;
    localtime_r(&t, tm);
    *ms = (int)(ts.tv_nsec / 1000000);
    *tzmin = (int)(tm->tm_gmtoff / 60);
}

static bool fn_now(FP_FN_ARGS) {
    (void)n; (void)focus; (void)in; (void)f;
    struct tm tm;
    int ms, tz;
    now_parts(&tm, &ms, &tz);
    fp_dt d = {FP_DATETIME, FP_P_MS, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
               ms, 3, true, tz};
    fp_item it = {0};
    it.v.kind = FP_DATETIME;
    it.v.type = "DateTime";
    it.v.text = fp_dt_text(c->arena, &d);
    fp_coll_push(c->arena, out, &it);
    return true;
}

static bool fn_today(FP_FN_ARGS) {
    (void)n; (void)focus; (void)in; (void)f;
    struct tm tm;
    int ms, tz;
    now_parts(&tm, &ms, &tz);
    fp_dt d = {FP_DATE, FP_P_DAY, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0, 0, 0, false, 0};
    fp_item it = {0};
    it.v.kind = FP_DATE;
    it.v.type = "Date";
    it.v.text = fp_dt_text(c->arena, &d);
    fp_coll_push(c->arena, out, &it);
    return true;
}

static bool fn_timeOfDay(FP_FN_ARGS) {
    (void)n; (void)focus; (void)in; (void)f;
    struct tm tm;
    int ms, tz;
    now_parts(&tm, &ms, &tz);
    fp_dt d = {FP_TIME, FP_P_MS, 0, 1, 1, tm.tm_hour, tm.tm_min, tm.tm_sec, ms, 3, false, 0};
    fp_item it = {0};
    it.v.kind = FP_TIME;
    it.v.type = "Time";
    it.v.text = fp_dt_text(c->arena, &d);
    fp_coll_push(c->arena, out, &it);
    return true;
}

static bool fn_defineVariable(FP_FN_ARGS) {
    const char *name;
    if(!fpf_arg_string(c, n, 0, in, f, &name)) return false;
    if(!name) return fp_fail(c, "defineVariable(): no name");
    static const char *const RESERVED[] = {"resource", "context", "rootResource", "ucum", "sct", "loinc", NULL};
    for(int i = 0; RESERVED[i]; i++)
        if(strcmp(name, RESERVED[i]) == 0) return fp_fail(c, "defineVariable(): %%%s is a system variable", name);
    for(const fp_defvar *d = c->defs; d; d = d->next)
        if(strcmp(d->name, name) == 0) return fp_fail(c, "defineVariable(): %%%s is already defined", name);
    fp_defvar *d = fp_alloc(c->arena, sizeof *d);
    d->name = name;
    if(n->nargs > 1) {
        if(!fp_eval_node(c, n->args[1], focus, f, &d->value)) return false;
    } else {
        d->value = *focus;
    }
    d->next = c->defs;
    c->defs = d;
    fp_coll_append(c->arena, out, focus);
    return true;
}

static bool fn_aggregate(FP_FN_ARGS) {
    fp_coll total = {0};
    if(n->nargs > 1 && !fp_arg(c, n, 1, in, f, &total)) return false;
    for(size_t i = 0; i < focus->n; i++) {
        fp_coll next = {0};
        fp_coll t = total;
        fp_frame fr = {&focus->items[i], (int64_t)i, &t, f};
        fp_coll one = {&focus->items[i], 1, 1};
        if(!fp_eval_node(c, n->args[0], &one, &fr, &next)) return false;
        total = next;
    }
    fp_coll_append(c->arena, out, &total);
    return true;
}

/* sort(key, -key, ...): stable merge sort on the keys. */
typedef struct sort_ent {
    const fp_item *item;
    fp_item *keys; /* one per key; kind FP_NODE with node NULL marks "empty" */
    bool *has;
} sort_ent;

static int sort_cmp(fp_ctx *c, const sort_ent *a, const sort_ent *b, const bool *desc, int nkeys) {
    for(int k = 0; k < nkeys; k++) {
        if(!a->has[k] || !b->has[k]) {
            if(a->has[k] == b->has[k]) continue;
            return a->has[k] ? 1 : -1; /* empty first */
        }
        int cmp = 0;
        if(fp_item_compare(c, &a->keys[k], &b->keys[k], &cmp) != 0) continue;
        if(cmp) return desc[k] ? -cmp : cmp;
    }
    return 0;
}

static bool fn_sort(FP_FN_ARGS) {
    (void)in;
    int nk = n->nargs ? n->nargs : 1;
    bool *desc = fp_alloc(c->arena, (size_t)nk);
    const fp_node **keyexpr = fp_alloc(c->arena, (size_t)nk * sizeof *keyexpr);
    for(int k = 0; k < n->nargs; k++) {
        const fp_node *a = n->args[k];
        if(a->kind == N_UNARY && a->op == OP_SUB) {
            desc[k] = true;
            a = a->a;
        } else if(a->kind == N_LITERAL && a->lit.v.kind != FP_STRING && a->lit.v.text && a->lit.v.text[0] == '-') {
            desc[k] = true;
        }
        keyexpr[k] = a;
    }
    size_t m = focus->n;
    sort_ent *e = fp_alloc(c->arena, (m ? m : 1) * sizeof *e), *tmp = fp_alloc(c->arena, (m ? m : 1) * sizeof *tmp);
    for(size_t i = 0; i < m; i++) {
        e[i].item = &focus->items[i];
        e[i].keys = fp_alloc(c->arena, (size_t)nk * sizeof *e[i].keys);
        e[i].has = fp_alloc(c->arena, (size_t)nk);
        for(int k = 0; k < nk; k++) {
            if(!n->nargs) {
                e[i].has[k] = fp_item_system(c, &focus->items[i], &e[i].keys[k]);
                continue;
            }
            fp_coll r = {0};
            if(!eval_per_item(c, keyexpr[k], focus, i, f, &r)) return false;
            if(r.n > 1) return fp_fail(c, "sort(): a key has %zu items", r.n);
            e[i].has[k] = r.n == 1 && fp_item_system(c, &r.items[0], &e[i].keys[k]);
        }
    }
    /* bottom-up merge sort */
    for(size_t w = 1; w < m; w *= 2) {
        for(size_t lo = 0; lo < m; lo += 2 * w) {
            size_t mid = lo + w < m ? lo + w : m, hi = lo + 2 * w < m ? lo + 2 * w : m;
            size_t i = lo, j = mid, k = lo;
            while(i < mid && j < hi) tmp[k++] = sort_cmp(c, &e[j], &e[i], desc, nk) < 0 ? e[j++] : e[i++];
            while(i < mid) tmp[k++] = e[i++];
            while(j < hi) tmp[k++] = e[j++];
        }
        memcpy(e, tmp, m * sizeof *e);
    }
    for(size_t i = 0; i < m; i++) fp_coll_push(c->arena, out, e[i].item);
    return true;
}

static bool fn_type(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    for(size_t i = 0; i < focus->n; i++) {
        const char *ns, *name;
        fp_item_type_name(&focus->items[i], &ns, &name);
        json_value *o = json_new_object();
        json_set(o, "namespace", json_new_string(ns));
        json_set(o, "name", json_new_string(name));
        fp_arena_own_json(c->arena, o);
        fp_item it;
        fp_node_item(&it, o, NULL, NULL);
        it.v.type = "TypeInfo";
        fp_coll_push(c->arena, out, &it);
    }
    return true;
}

/* ---- math ------------------------------------------------------------------------- */

static bool math_focus(fp_ctx *c, const fp_coll *focus, const char *what, fp_item *x, bool *present) {
    const fp_item *it;
    *present = false;
    if(!fpf_single(c, focus, what, &it)) return false;
    if(!it || !fp_item_system(c, it, x)) return true;
    if(x->v.kind != FP_INTEGER && x->v.kind != FP_DECIMAL && x->v.kind != FP_QUANTITY)
        return fp_fail(c, "%s: expected a number", what);
    *present = true;
    return true;
}

static fp_dec item_to_dec(const fp_item *x) {
    fp_dec d = {0, 0};
    if(x->v.kind == FP_INTEGER)
        d = fp_dec_from_int(x->v.integer);
    else
        fp_dec_parse(x->v.text, &d);
    return d;
}

static bool fn_abs(FP_FN_ARGS) {
    fp_item x;
    bool p;
    (void)in; (void)f;
    if(!math_focus(c, focus, n->name, &x, &p) || !p) return !c->failed;
    if(x.v.kind == FP_INTEGER) {
        if(x.v.integer == INT64_MIN) return true;
        fpf_push_int(c, out, x.v.integer < 0 ? -x.v.integer : x.v.integer);
        return true;
    }
    fp_dec d = item_to_dec(&x);
    if(d.m < 0) d.m = -d.m;
    fp_item r = x;
    r.v.text = fp_dec_text(c->arena, d);
    fp_coll_push(c->arena, out, &r);
    return true;
}

static bool round_to_int(fp_ctx *c, const fp_node *n, const fp_coll *focus, fp_coll *out, int mode) {
    fp_item x;
    bool p;
    if(!math_focus(c, focus, n->name, &x, &p) || !p) return !c->failed;
    if(x.v.kind == FP_INTEGER) {
        fpf_push_int(c, out, x.v.integer);
        return true;
    }
    fp_dec d = item_to_dec(&x);
    __int128 m = d.m;
    __int128 pw = 1;
    for(int i = 0; i < d.scale; i++) pw *= 10;
    __int128 q = m / pw, r = m % pw;
    if(mode == 0 && r < 0) q -= 1;  /* floor */
    if(mode == 1 && r > 0) q += 1;  /* ceiling */
    fpf_push_int(c, out, (int64_t)q); /* mode 2: truncate */
    return true;
}
static bool fn_floor(FP_FN_ARGS) { (void)in; (void)f; return round_to_int(c, n, focus, out, 0); }
static bool fn_ceiling(FP_FN_ARGS) { (void)in; (void)f; return round_to_int(c, n, focus, out, 1); }
static bool fn_truncate(FP_FN_ARGS) { (void)in; (void)f; return round_to_int(c, n, focus, out, 2); }

static bool fn_round(FP_FN_ARGS) {
    fp_item x;
    bool p, pa = false;
    int64_t digits = 0;
    if(!math_focus(c, focus, n->name, &x, &p) || !p) return !c->failed;
    if(n->nargs && !fpf_arg_int(c, n, 0, in, f, &digits, &pa)) return false;
    if(digits < 0) return fp_fail(c, "round(): negative precision");
    fp_dec d = item_to_dec(&x);
    if(digits > 30) digits = 30;
    fpf_push_dec(c, out, fp_dec_round(d, (int)digits));
    return true;
}

static bool push_double(fp_ctx *c, fp_coll *out, double v) {
    fp_dec d;
    if(!isfinite(v) || !fp_dec_from_double(v, &d)) return true; /* empty */
    fpf_push_dec(c, out, d);
    return true;
}

static bool unary_math(fp_ctx *c, const fp_node *n, const fp_coll *focus, fp_coll *out, double (*fn)(double)) {
    fp_item x;
    bool p;
    if(!math_focus(c, focus, n->name, &x, &p) || !p) return !c->failed;
    return push_double(c, out, fn(fp_dec_to_double(item_to_dec(&x))));
}
static bool fn_exp(FP_FN_ARGS) { (void)in; (void)f; return unary_math(c, n, focus, out, exp); }
static bool fn_ln(FP_FN_ARGS) { (void)in; (void)f; return unary_math(c, n, focus, out, log); }
static bool fn_sqrt(FP_FN_ARGS) { (void)in; (void)f; return unary_math(c, n, focus, out, sqrt); }

static bool fn_log(FP_FN_ARGS) {
    fp_item x, b;
    bool p, pb;
    if(!math_focus(c, focus, n->name, &x, &p) || !p) return !c->failed;
    if(!fpf_arg_single(c, n, 0, in, f, &b, &pb) || !pb) return !c->failed;
    double base = fp_dec_to_double(item_to_dec(&b));
    return push_double(c, out, log(fp_dec_to_double(item_to_dec(&x))) / log(base));
}

static bool fn_power(FP_FN_ARGS) {
    fp_item x, e;
    bool p, pe;
    if(!math_focus(c, focus, n->name, &x, &p) || !p) return !c->failed;
    if(!fpf_arg_single(c, n, 0, in, f, &e, &pe) || !pe) return !c->failed;
    if(x.v.kind == FP_INTEGER && e.v.kind == FP_INTEGER && e.v.integer >= 0) {
        int64_t r = 1, b = x.v.integer;
        if(b == 0 || b == 1) {
            fpf_push_int(c, out, e.v.integer == 0 ? 1 : b);
            return true;
        }
        if(b == -1) {
            fpf_push_int(c, out, e.v.integer % 2 ? -1 : 1);
            return true;
        }
        for(int64_t i = 0; i < e.v.integer; i++) /* |b| >= 2 overflows within 63 rounds */
            if(__builtin_mul_overflow(r, b, &r)) return true;
        fpf_push_int(c, out, r);
        return true;
    }
    double v = pow(fp_dec_to_double(item_to_dec(&x)), fp_dec_to_double(item_to_dec(&e)));
    return push_double(c, out, v);
}

/* ---- FHIR ------------------------------------------------------------------------------ */

static bool fn_extension(FP_FN_ARGS) {
    const char *url;
    if(!fpf_arg_string(c, n, 0, in, f, &url)) return false;
    if(!url) return true;
    for(size_t i = 0; i < focus->n; i++) {
        fp_coll ext = {0};
        fp_children(c, &focus->items[i], "extension", &ext, NULL);
        for(size_t j = 0; j < ext.n; j++) {
            const char *u = json_string(json_get(ext.items[j].v.node, "url"));
            if(u && strcmp(u, url) == 0) fp_coll_push(c->arena, out, &ext.items[j]);
        }
    }
    return true;
}

/* hasExtension(url): not in the FHIRPath spec, but R4's own search parameter
 * QuestionnaireResponse-subject uses it (as the Java engine defines it). */
static bool fn_hasExtension(FP_FN_ARGS) {
    fp_coll ext = {0};
    if(!fn_extension(c, n, focus, in, f, &ext)) return false;
    fpf_push_bool(c, out, ext.n > 0);
    return true;
}

static bool fn_hasValue(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    bool v = false;
    if(focus->n == 1) {
        const fp_item *it = &focus->items[0];
        if(it->v.kind != FP_NODE)
            v = true;
        else
            v = it->v.node && json_kind_of(it->v.node) != JSON_OBJECT && json_kind_of(it->v.node) != JSON_ARRAY;
    }
    fpf_push_bool(c, out, v);
    return true;
}

static bool fn_getValue(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    if(focus->n != 1) return true;
    fp_item x;
    if(fp_item_system(c, &focus->items[0], &x) && x.v.kind != FP_NODE) fp_coll_push(c->arena, out, &x);
    return true;
}

/* Find a resource for a reference: contained (#id), a Bundle entry, the
 * caller's resolver, or (env->resolve_stubs) a stub of the referenced type. */
static const json_value *resolve_ref(fp_ctx *c, const char *ref, const char *type_hint) {
    const json_value *root = c->resource.v.node;
    if(!ref) return NULL;
    if(ref[0] == '#') {
        const json_value *cont = json_get(root, "contained");
        for(size_t i = 0; i < json_array_len(cont); i++) {
            const json_value *r = json_array_at(cont, i);
            const char *id = json_string(json_get(r, "id"));
            if(id && strcmp(id, ref + 1) == 0) return r;
        }
        return NULL;
    }
    /* Type/id at the end of the reference */
    const char *hist = strstr(ref, "/_history/");
    size_t rl = hist ? (size_t)(hist - ref) : strlen(ref);
    const char *slash = NULL;
    for(size_t i = rl; i > 0; i--) {
        if(ref[i - 1] == '/') {
            slash = ref + i - 1;
            break;
        }
    }
    const char *tstart = NULL;
    if(slash) {
        tstart = slash;
        while(tstart > ref && tstart[-1] != '/') tstart--;
    }
    char type[80] = "", id[80] = "";
    if(slash && (size_t)(slash - tstart) < sizeof type && (size_t)(ref + rl - slash - 1) < sizeof id) {
        memcpy(type, tstart, (size_t)(slash - tstart));
        type[slash - tstart] = 0;
        memcpy(id, slash + 1, (size_t)(ref + rl - slash - 1));
        id[ref + rl - slash - 1] = 0;
        if(!fhir_resource_find(type)) type[0] = id[0] = 0;
    }
    const char *rt = json_string(json_get(root, "resourceType"));
    if(rt && strcmp(rt, "Bundle") == 0) {
        const json_value *entries = json_get(root, "entry");
        for(size_t i = 0; i < json_array_len(entries); i++) {
            const json_value *e = json_array_at(entries, i);
            const char *fu = json_string(json_get(e, "fullUrl"));
            const json_value *r = json_get(e, "resource");
            if(fu && strcmp(fu, ref) == 0) return r;
            if(type[0]) {
                const char *t = json_string(json_get(r, "resourceType")), *rid = json_string(json_get(r, "id"));
                if(t && rid && strcmp(t, type) == 0 && strcmp(rid, id) == 0) return r;
            }
        }
    }
    if(c->env && c->env->resolve) {
        const json_value *r = c->env->resolve(c->env->resolve_ctx, ref);
        if(r) return r;
    }
    if(c->env && c->env->resolve_stubs) {
        const char *t = type[0] ? type : type_hint;
        if(!t || !fhir_resource_find(t)) return NULL;
        json_value *stub = json_new_object();
        json_set(stub, "resourceType", json_new_string(t));
        if(id[0]) json_set(stub, "id", json_new_string(id));
        fp_arena_own_json(c->arena, stub);
        return stub;
    }
    return NULL;
}

static bool fn_resolve(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    for(size_t i = 0; i < focus->n; i++) {
        const fp_item *it = &focus->items[i];
        const char *ref = NULL, *hint = NULL;
        if(it->v.kind == FP_NODE && json_kind_of(it->v.node) == JSON_OBJECT) {
            ref = json_string(json_get(it->v.node, "reference"));
            hint = json_string(json_get(it->v.node, "type"));
        } else {
            fp_item_is_string(c, it, &ref);
        }
        const json_value *r = resolve_ref(c, ref, hint);
        if(r) {
            fp_item ri;
            fp_resource_item(&ri, r);
            fp_coll_push(c->arena, out, &ri);
        }
    }
    return true;
}

static bool fn_conformsTo(FP_FN_ARGS) {
    const char *url;
    static const char BASE[] = "http://hl7.org/fhir/StructureDefinition/";
    if(!fpf_arg_string(c, n, 0, in, f, &url)) return false;
    if(!url) return true;
    if(strncmp(url, BASE, sizeof BASE - 1) != 0) return fp_fail(c, "conformsTo(): unknown profile %s", url);
    const char *t = url + sizeof BASE - 1;
    if(!fhir_type_find(t)) return fp_fail(c, "conformsTo(): unknown profile %s", url);
    for(size_t i = 0; i < focus->n; i++) fpf_push_bool(c, out, fpm_is_a(focus->items[i].v.type, t));
    return true;
}

static bool fn_htmlChecks(FP_FN_ARGS) {
    (void)n; (void)in; (void)f;
    if(focus->n) fpf_push_bool(c, out, true);
    return true;
}

static bool fn_memberOf(FP_FN_ARGS) {
    (void)c; (void)n; (void)focus; (void)in; (void)f; (void)out;
    return true; /* no terminology server: unknown */
}

/* ---- the table ------------------------------------------------------------------------ */

#define F(name, min, max) {#name, min, max, fn_##name, false}
#define FT(name, fn) {name, 1, 1, fn, true}

static const fp_fninfo FUNCS[] = {
    F(empty, 0, 0), F(exists, 0, 1), F(all, 1, 1), F(allTrue, 0, 0), F(anyTrue, 0, 0), F(allFalse, 0, 0),
    F(anyFalse, 0, 0), F(subsetOf, 1, 1), F(supersetOf, 1, 1), F(count, 0, 0), F(distinct, 0, 0),
    F(isDistinct, 0, 0), F(where, 1, 1), F(select, 1, 1), F(repeat, 1, 1), FT("ofType", fn_ofType),
    FT("is", fn_is), FT("as", fn_as), F(single, 0, 0), F(first, 0, 0), F(last, 0, 0), F(tail, 0, 0),
    F(skip, 1, 1), F(take, 1, 1), F(intersect, 1, 1), F(exclude, 1, 1), F(union, 1, 1), F(combine, 1, 1),
    F(not, 0, 0), F(iif, 2, 3), F(children, 0, 0), F(descendants, 0, 0), F(trace, 1, 2), F(now, 0, 0),
    F(today, 0, 0), F(timeOfDay, 0, 0), F(defineVariable, 1, 2), F(aggregate, 1, 2), F(sort, 0, 8),
    F(type, 0, 0), F(abs, 0, 0), F(floor, 0, 0), F(ceiling, 0, 0), F(truncate, 0, 0), F(round, 0, 1),
    F(exp, 0, 0), F(ln, 0, 0), F(sqrt, 0, 0), F(log, 1, 1), F(power, 1, 1), F(extension, 1, 1), F(hasExtension, 1, 1),
    F(hasValue, 0, 0), F(getValue, 0, 0), F(resolve, 0, 0), F(conformsTo, 1, 1), F(htmlChecks, 0, 0),
    F(memberOf, 1, 1),
    /* conversion (fhirpath_convert.c) */
    {"toBoolean", 0, 0, fpf_toBoolean, false}, {"convertsToBoolean", 0, 0, fpf_convertsToBoolean, false},
    {"toInteger", 0, 0, fpf_toInteger, false}, {"convertsToInteger", 0, 0, fpf_convertsToInteger, false},
    {"toDecimal", 0, 0, fpf_toDecimal, false}, {"convertsToDecimal", 0, 0, fpf_convertsToDecimal, false},
    {"toString", 0, 0, fpf_toString, false}, {"convertsToString", 0, 0, fpf_convertsToString, false},
    {"toDate", 0, 0, fpf_toDate, false}, {"convertsToDate", 0, 0, fpf_convertsToDate, false},
    {"toDateTime", 0, 0, fpf_toDateTime, false}, {"convertsToDateTime", 0, 0, fpf_convertsToDateTime, false},
    {"toTime", 0, 0, fpf_toTime, false}, {"convertsToTime", 0, 0, fpf_convertsToTime, false},
    {"toQuantity", 0, 1, fpf_toQuantity, false}, {"convertsToQuantity", 0, 1, fpf_convertsToQuantity, false},
    {"lowBoundary", 0, 1, fpf_lowBoundary, false}, {"highBoundary", 0, 1, fpf_highBoundary, false},
    {"precision", 0, 0, fpf_precision, false}, {"comparable", 1, 1, fpf_comparable, false},
    /* strings (fhirpath_string.c) */
    {"indexOf", 1, 1, fpf_indexOf, false}, {"lastIndexOf", 1, 1, fpf_lastIndexOf, false},
    {"substring", 1, 2, fpf_substring, false}, {"startsWith", 1, 1, fpf_startsWith, false},
    {"endsWith", 1, 1, fpf_endsWith, false}, {"contains", 1, 1, fpf_contains, false},
    {"upper", 0, 0, fpf_upper, false}, {"lower", 0, 0, fpf_lower, false}, {"replace", 2, 2, fpf_replace, false},
    {"matches", 1, 1, fpf_matches, false}, {"matchesFull", 1, 1, fpf_matchesFull, false},
    {"replaceMatches", 2, 2, fpf_replaceMatches, false}, {"length", 0, 0, fpf_length, false},
    {"toChars", 0, 0, fpf_toChars, false}, {"trim", 0, 0, fpf_trim, false}, {"split", 1, 1, fpf_split, false},
    {"join", 0, 1, fpf_join, false}, {"encode", 1, 1, fpf_encode, false}, {"decode", 1, 1, fpf_decode, false},
    {"escape", 1, 1, fpf_escape, false}, {"unescape", 1, 1, fpf_unescape, false},
};

int fp_fn_find(const char *name) {
    for(size_t i = 0; i < sizeof FUNCS / sizeof FUNCS[0]; i++)
        if(strcmp(FUNCS[i].name, name) == 0) return (int)i;
    return -1;
}

const fp_fninfo *fp_fn_at(int i) { return &FUNCS[i]; }
