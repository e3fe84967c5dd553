/*
 * fhirpath_eval.c — evaluating a parsed FHIRPath expression: the tree walk
 * (paths, indexers, operators, variables), the public entry point
 * fhirpath_eval, and the result collection handed back to callers.
 *
 * Threading: the expression tree is only read, and every evaluation has its
 * own fp_ctx and arena, so many threads may evaluate one expression at
 * once. The input resource is only read too; but json-c caches the text of
 * numbers inside the node, so two threads must not evaluate over the same
 * json_value tree at the same moment (distinct resources are fine).
 *
 * Ownership: items that are nodes borrow the input resource; computed text
 * lives in the evaluation's arena, which the result owns (fhirpath_result_free).
 * Caps: recursion depth, collection size, arena bytes (fhirpath_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "fhir/fhirpath_int.h"

struct fhirpath_result {
    fp_arena arena;
    fp_coll items;
};

/* ---- helpers --------------------------------------------------------------- */

bool fp_arg(fp_ctx *c, const fp_node *n, int i, const fp_coll *in, const fp_frame *f, fp_coll *out) {
    return fp_eval_node(c, n->args[i], in, f, out);
}

static void push_bool(fp_ctx *c, fp_coll *out, bool b) {
    fp_item it;
    fp_item_bool(&it, b);
    fp_coll_push(c->arena, out, &it);
}

static bool singleton(fp_ctx *c, const fp_coll *x, const char *what, const fp_item **it) {
    *it = NULL;
    if(x->n > 1) return fp_fail(c, "%s: expected a single value, got %zu", what, x->n);
    if(x->n == 1) *it = &x->items[0];
    return true;
}

/* ---- variables --------------------------------------------------------------- */

static void json_to_items(fp_ctx *c, const json_value *v, fp_coll *out) {
    fp_item it;
    switch(json_kind_of(v)) {
    case JSON_NULL: return;
    case JSON_ARRAY:
        for(size_t i = 0; i < json_array_len(v); i++) json_to_items(c, json_array_at(v, i), out);
        return;
    case JSON_BOOL: fp_item_bool(&it, json_boolean(v)); break;
    case JSON_INTEGER: {
        int64_t i;
        if(json_int64(v, &i)) {
            fp_item_int(&it, i);
            break;
        }
    } /* fall through */
    case JSON_DECIMAL:
        memset(&it, 0, sizeof it);
        it.v.kind = FP_DECIMAL;
        it.v.type = "Decimal";
        it.v.text = json_number_text(v);
        break;
    case JSON_STRING: fp_item_str(&it, json_string(v)); break;
    case JSON_OBJECT: fp_node_item(&it, v, NULL, NULL); break;
    }
    fp_coll_push(c->arena, out, &it);
}

static bool eval_var(fp_ctx *c, const fp_node *n, fp_coll *out) {
    const char *name = n->name;
    fp_item it;
    for(const fp_defvar *d = c->defs; d; d = d->next) {
        if(strcmp(d->name, name) == 0) {
            fp_coll_append(c->arena, out, &d->value);
            return true;
        }
    }
    if(strcmp(name, "resource") == 0 || strcmp(name, "rootResource") == 0) {
        if(c->resource.v.node) fp_coll_push(c->arena, out, &c->resource);
        return true;
    }
    if(strcmp(name, "context") == 0) {
        fp_coll_append(c->arena, out, &c->root);
        return true;
    }
    if(c->env) {
        for(size_t i = 0; i < c->env->nvars; i++) {
            if(strcmp(c->env->vars[i].name, name) == 0) {
                json_to_items(c, c->env->vars[i].value, out);
                return true;
            }
        }
    }
    static const char *const FIXED[][2] = {{"ucum", "http://unitsofmeasure.org"},
                                           {"sct", "http://snomed.info/sct"},
                                           {"loinc", "http://loinc.org"}};
    for(size_t i = 0; i < sizeof FIXED / sizeof FIXED[0]; i++) {
        if(strcmp(name, FIXED[i][0]) == 0) {
            fp_item_str(&it, FIXED[i][1]);
            fp_coll_push(c->arena, out, &it);
            return true;
        }
    }
    if(strncmp(name, "vs-", 3) == 0 || strncmp(name, "ext-", 4) == 0) {
        bool vs = name[0] == 'v';
        const char *base = vs ? "http://hl7.org/fhir/ValueSet/" : "http://hl7.org/fhir/StructureDefinition/";
        size_t bl = strlen(base), rl = strlen(name + (vs ? 3 : 4));
        char *s = fp_alloc(c->arena, bl + rl + 1);
        memcpy(s, base, bl);
        memcpy(s + bl, name + (vs ? 3 : 4), rl + 1);
        fp_item_str(&it, s);
        fp_coll_push(c->arena, out, &it);
        return true;
    }
    return fp_fail(c, "unknown variable %%%s", name);
}

/* ---- paths ----------------------------------------------------------------------- */

static bool is_type_name(const char *name) {
    return name[0] >= 'A' && name[0] <= 'Z';
}

static bool eval_ident(fp_ctx *c, const fp_node *n, const fp_coll *in, fp_coll *out) {
    bool strict = c->env && c->env->strict;
    if(is_type_name(n->name)) {
        /* a type name at the head of a path: Patient.name */
        bool any = false;
        for(size_t i = 0; i < in->n; i++) {
            const fp_item *it = &in->items[i];
            if(it->v.kind == FP_NODE && fpm_is_a(it->v.type, n->name)) {
                fp_coll_push(c->arena, out, it);
                any = true;
            }
        }
        if(!any && strict && in->n && n->is_type) return fp_fail(c, "the focus is not a %s", n->name);
        if(any || n->is_type) return true;
    }
    for(size_t i = 0; i < in->n; i++) {
        bool known = true;
        fp_children(c, &in->items[i], n->name, out, strict ? &known : NULL);
        if(!known) return fp_fail(c, "%s has no element '%s'", in->items[i].v.type, n->name);
    }
    return true;
}

/* Strict mode's static checks, which hold whatever the data: a member of
 * `x as T` must be an element of T; skip/take/first/last/tail/[] need an
 * ordered collection, which children() and descendants() are not. */
static const char *strict_static_error(const fp_node *n) {
    static const char *const ORDERED[] = {"skip", "take", "first", "last", "tail", NULL};
    const fp_node *a = n->a;
    if(n->kind == N_MEMBER && a &&
       ((a->kind == N_TYPEOP && a->op == OP_AS) || (a->kind == N_FUNC && strcmp(a->name, "as") == 0))) {
        const fhir_type *t = (!a->ns || strcmp(a->ns, "FHIR") == 0) ? fhir_type_find(a->name) : NULL;
        if(t && t->kind == FHIR_KIND_COMPLEX && !fhir_type_elem(t, n->name)) {
            size_t nl = strlen(n->name);
            for(size_t i = 0; i < t->n_slots; i++) {
                const char *sn = fhir_model_str(fhir_model_slots[t->slots + i].name);
                if(strncmp(sn, n->name, nl) == 0 && strcmp(sn + nl, "[x]") == 0) return NULL;
            }
            return "the type has no such element";
        }
    }
    if((n->kind == N_FUNC || n->kind == N_INDEX) && a && a->kind == N_FUNC &&
       (strcmp(a->name, "children") == 0 || strcmp(a->name, "descendants") == 0)) {
        if(n->kind == N_INDEX) return "an indexer needs an ordered collection";
        for(int i = 0; ORDERED[i]; i++)
            if(strcmp(n->name, ORDERED[i]) == 0) return "this function needs an ordered collection";
    }
    return NULL;
}

static bool eval_member(fp_ctx *c, const fp_node *n, const fp_coll *in, const fp_frame *f, fp_coll *out) {
    fp_coll left = {0};
    bool strict = c->env && c->env->strict;
    if(!fp_eval_node(c, n->a, in, f, &left)) return false;
    for(size_t i = 0; i < left.n; i++) {
        bool known = true;
        const fp_item *it = &left.items[i];
        if(it->v.kind == FP_NODE && it->ft && it->ft->kind != FHIR_KIND_PRIMITIVE &&
           json_kind_of(it->v.node) == JSON_OBJECT) {
            const fhir_elem *e = fhir_type_elem(it->ft, n->name);
            if(e && (e->flags & FHIR_ELEM_CHOICE))
                return fp_fail(c, "use '%.*s' rather than the JSON name '%s'", (int)strcspn(n->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), n->name, n->name);
        }
        fp_children(c, it, n->name, out, strict ? &known : NULL);
        if(!known) return fp_fail(c, "%s has no element '%s'", it->v.type, n->name);
    }
    return true;
}

/* ---- operators ---------------------------------------------------------------------- */

static bool eval_logic(fp_ctx *c, const fp_node *n, const fp_coll *in, const fp_frame *f, fp_coll *out) {
    fp_coll a = {0}, b = {0};
    if(!fp_eval_node(c, n->a, in, f, &a)) return false;
    int x = fp_coll_truth(c, &a, "logic operand");
    if(x == -2) return false;
    /* short cuts that do not need the right side */
    if(n->op == OP_AND && x == 0) return push_bool(c, out, false), true;
    if(n->op == OP_OR && x == 1) return push_bool(c, out, true), true;
    if(n->op == OP_IMPLIES && x == 0) return push_bool(c, out, true), true;
    if(!fp_eval_node(c, n->b, in, f, &b)) return false;
    int y = fp_coll_truth(c, &b, "logic operand");
    if(y == -2) return false;
    switch(n->op) {
    case OP_AND:
        if(y == 0) push_bool(c, out, false);
        else if(x == 1 && y == 1) push_bool(c, out, true);
        break;
    case OP_OR:
        if(y == 1) push_bool(c, out, true);
        else if(x == 0 && y == 0) push_bool(c, out, false);
        break;
    case OP_XOR:
        if(x >= 0 && y >= 0) push_bool(c, out, x != y);
        break;
    case OP_IMPLIES:
        if(x == 1) {
            if(y >= 0) push_bool(c, out, y == 1);
        } else if(y == 1) { /* x empty */
            push_bool(c, out, true);
        }
        break;
    default: break;
    }
    return true;
}

/* Does coll contain an item equal to it? */
static bool coll_has(fp_ctx *c, const fp_coll *coll, const fp_item *it) {
    if(!fp_work(c, coll->n)) return false;
    for(size_t i = 0; i < coll->n; i++)
        if(fp_item_equal(c, &coll->items[i], it) == 1) return true;
    return false;
}

void fp_union(fp_ctx *c, const fp_coll *a, const fp_coll *b, fp_coll *out) {
    const fp_coll *both[2] = {a, b};
    for(int k = 0; k < 2; k++) {
        for(size_t i = 0; i < both[k]->n; i++) {
            const fp_item *it = &both[k]->items[i];
            if(!coll_has(c, out, it)) fp_coll_push(c->arena, out, it);
        }
    }
}

static bool eval_equality(fp_ctx *c, fp_op op, const fp_coll *a, const fp_coll *b, fp_coll *out) {
    if(op == OP_EQ || op == OP_NE) {
        if(!a->n || !b->n) return true;
        if(a->n != b->n) return push_bool(c, out, op == OP_NE), true;
        bool unknown = false;
        for(size_t i = 0; i < a->n; i++) {
            int r = fp_item_equal(c, &a->items[i], &b->items[i]);
            if(r == 0) return push_bool(c, out, op == OP_NE), true;
            if(r < 0) unknown = true;
        }
        if(!unknown) push_bool(c, out, op == OP_EQ);
        return true;
    }
    /* ~ and !~: order does not matter */
    bool eq = true;
    if(a->n != b->n) {
        eq = false;
    } else if(a->n) {
        if(!fp_work(c, (uint64_t)a->n * b->n)) return false;
        bool *used = fp_alloc(c->arena, b->n);
        for(size_t i = 0; i < a->n && eq; i++) {
            bool found = false;
            for(size_t j = 0; j < b->n && !found; j++) {
                if(!used[j] && fp_item_equiv(c, &a->items[i], &b->items[j])) used[j] = found = true;
            }
            if(!found) eq = false;
        }
    }
    push_bool(c, out, op == OP_EQUIV ? eq : !eq);
    return true;
}

static bool eval_compare(fp_ctx *c, fp_op op, const fp_coll *a, const fp_coll *b, fp_coll *out) {
    const fp_item *x, *y;
    int cmp;
    if(!singleton(c, a, "comparison", &x) || !singleton(c, b, "comparison", &y)) return false;
    if(!x || !y) return true;
    int r = fp_item_compare(c, x, y, &cmp);
    if(r < 0) return fp_fail(c, "cannot compare %s with %s", x->v.type ? x->v.type : "?", y->v.type ? y->v.type : "?");
    if(r > 0) return true;
    bool v = op == OP_LT ? cmp < 0 : op == OP_GT ? cmp > 0 : op == OP_LE ? cmp <= 0 : cmp >= 0;
    push_bool(c, out, v);
    return true;
}

static bool eval_membership(fp_ctx *c, fp_op op, const fp_coll *a, const fp_coll *b, fp_coll *out) {
    const fp_coll *elem = op == OP_IN ? a : b, *coll = op == OP_IN ? b : a;
    const fp_item *it;
    if(!singleton(c, elem, op == OP_IN ? "in" : "contains", &it)) return false;
    if(!it) return true;
    push_bool(c, out, coll_has(c, coll, it));
    return true;
}

bool fp_arith(fp_ctx *c, fp_op op, const fp_item *x0, const fp_item *y0, fp_coll *out) {
    fp_item x, y, r;
    fp_dec a, b, d;
    if(!fp_item_system(c, x0, &x) || !fp_item_system(c, y0, &y)) return true;
    /* quantity nodes take part as quantities */
    const char *ux = NULL, *uy = NULL;
    bool qx = x.v.kind == FP_QUANTITY || (x.v.kind == FP_NODE && fp_item_quantity(c, &x, &a, &ux));
    bool qy = y.v.kind == FP_QUANTITY || (y.v.kind == FP_NODE && fp_item_quantity(c, &y, &b, &uy));
    fhirpath_kind kx = x.v.kind, ky = y.v.kind;
    if(op == OP_CONCAT || (op == OP_ADD && kx == FP_STRING && ky == FP_STRING)) {
        if(kx != FP_STRING || ky != FP_STRING) return fp_fail(c, "operator needs strings");
        size_t la = strlen(x.v.text), lb = strlen(y.v.text);
        if(la + lb > FP_MAX_STRING) return fp_fail(c, "string too long");
        char *s = fp_alloc(c->arena, la + lb + 1);
        memcpy(s, x.v.text, la);
        memcpy(s + la, y.v.text, lb + 1);
        fp_item_str(&r, s);
        fp_coll_push(c->arena, out, &r);
        return true;
    }
    bool nx = kx == FP_INTEGER || kx == FP_DECIMAL, ny = ky == FP_INTEGER || ky == FP_DECIMAL;
    if(nx && ny) {
        if(kx == FP_INTEGER && ky == FP_INTEGER && op != OP_DIV) {
            int64_t i = x.v.integer, j = y.v.integer, v = 0;
            switch(op) {
            case OP_ADD: if(__builtin_add_overflow(i, j, &v)) return true; break;
            case OP_SUB: if(__builtin_sub_overflow(i, j, &v)) return true; break;
            case OP_MUL: if(__builtin_mul_overflow(i, j, &v)) return true; break;
            case OP_IDIV: if(j == 0 || (i == INT64_MIN && j == -1)) return true; v = i / j; break;
            case OP_MOD: if(j == 0 || (i == INT64_MIN && j == -1)) return true; v = i % j; break;
            default: return fp_fail(c, "bad operator");
            }
            fp_item_int(&r, v);
            fp_coll_push(c->arena, out, &r);
            return true;
        }
        if(kx == FP_INTEGER) a = fp_dec_from_int(x.v.integer); else if(!fp_dec_parse(x.v.text, &a)) return true;
        if(ky == FP_INTEGER) b = fp_dec_from_int(y.v.integer); else if(!fp_dec_parse(y.v.text, &b)) return true;
        switch(op) {
        case OP_ADD: if(!fp_dec_add(a, b, &d)) return true; break;
        case OP_SUB: if(!fp_dec_sub(a, b, &d)) return true; break;
        case OP_MUL: if(!fp_dec_mul(a, b, &d)) return true; break;
        case OP_DIV: if(!fp_dec_div(a, b, &d)) return true; break;
        case OP_IDIV: {
            if(b.m == 0 || !fp_dec_div(a, b, &d)) return true;
            while(d.scale > 0) { d.m /= 10; d.scale--; } /* truncate */
            fp_item_int(&r, (int64_t)d.m);
            fp_coll_push(c->arena, out, &r);
            return true;
        }
        case OP_MOD: {
            fp_dec q;
            if(b.m == 0 || !fp_dec_div(a, b, &q)) return true;
            while(q.scale > 0) { q.m /= 10; q.scale--; }
            fp_dec qb;
            if(!fp_dec_mul(q, b, &qb) || !fp_dec_sub(a, qb, &d)) return true;
            break;
        }
        default: return fp_fail(c, "bad operator");
        }
        fp_item_dec(c, &r, d);
        fp_coll_push(c->arena, out, &r);
        return true;
    }
    /* date/time +- quantity */
    if((kx == FP_DATE || kx == FP_DATETIME || kx == FP_TIME) && qy && (op == OP_ADD || op == OP_SUB)) {
        fp_dt dt;
        const char *t = x.v.text;
        if(!fp_item_quantity(c, &y, &b, &uy)) return true;
        if(!fp_dt_parse(kx == FP_TIME && t[0] == 'T' ? t + 1 : t, kx, &dt)) return true;
        if(op == OP_SUB) b.m = -b.m;
        if(!fp_dt_add(&dt, b, uy)) return fp_fail(c, "cannot add '%s' to a date/time", uy);
        memset(&r, 0, sizeof r);
        r.v.kind = kx;
        r.v.type = x.v.type;
        r.v.text = fp_dt_text(c->arena, &dt);
        fp_coll_push(c->arena, out, &r);
        return true;
    }
    if(qx || qy) {
        if(!fp_item_quantity(c, &x, &a, &ux)) {
            if(!nx) return true;
            if(kx == FP_INTEGER) a = fp_dec_from_int(x.v.integer); else if(!fp_dec_parse(x.v.text, &a)) return true;
            ux = NULL;
        }
        if(!fp_item_quantity(c, &y, &b, &uy)) {
            if(!ny) return true;
            if(ky == FP_INTEGER) b = fp_dec_from_int(y.v.integer); else if(!fp_dec_parse(y.v.text, &b)) return true;
            uy = NULL;
        }
        const char *unit = ux ? ux : uy;
        if((op == OP_ADD || op == OP_SUB) && ux && uy) {
            if(strcmp(ux, uy) != 0) {
                fp_dec conv;
                if(!fp_unit_convert(b, uy, ux, &conv)) return true;
                b = conv;
            }
            if(!(op == OP_ADD ? fp_dec_add(a, b, &d) : fp_dec_sub(a, b, &d))) return true;
        } else if(op == OP_MUL && (!ux || !uy || strcmp(ux, "1") == 0 || strcmp(uy, "1") == 0)) {
            if(!fp_dec_mul(a, b, &d)) return true;
            if(ux && uy) unit = strcmp(ux, "1") == 0 ? uy : ux;
        } else if(op == OP_DIV && !uy) {
            if(!fp_dec_div(a, b, &d)) return true;
        } else if(op == OP_DIV && ux && uy && fp_unit_convert(b, uy, ux, &d)) {
            if(!fp_dec_div(a, d, &d)) return true;
            unit = "1";
        } else if((op == OP_MUL || op == OP_DIV) && ux && uy) {
            /* different dimensions: work in base units, e.g. 'cm' * 'm' = 'm2', 'g' / 'm' = 'g/m' */
            fp_dec ca, cb;
            const char *ba, *bb;
            if(!fp_unit_canonical(a, ux, &ca, &ba) || !fp_unit_canonical(b, uy, &cb, &bb)) return true;
            if(!(op == OP_MUL ? fp_dec_mul(ca, cb, &d) : fp_dec_div(ca, cb, &d))) return true;
            size_t ul = strlen(ba) + strlen(bb) + 4;
            char *u = fp_alloc(c->arena, ul);
            if(strcmp(ba, bb) == 0)
                snprintf(u, ul, op == OP_MUL ? "%s2" : "1", ba);
            else
                snprintf(u, ul, "%s%s%s", ba, op == OP_MUL ? "." : "/", bb);
            unit = u;
        } else {
            return true;
        }
        memset(&r, 0, sizeof r);
        r.v.kind = FP_QUANTITY;
        r.v.type = "Quantity";
        r.v.text = fp_dec_text(c->arena, d);
        r.v.unit = unit;
        fp_coll_push(c->arena, out, &r);
        return true;
    }
    return fp_fail(c, "cannot apply an arithmetic operator to %s and %s", x.v.type ? x.v.type : "?",
                   y.v.type ? y.v.type : "?");
}

static bool eval_binary(fp_ctx *c, const fp_node *n, const fp_coll *in, const fp_frame *f, fp_coll *out) {
    fp_coll a = {0}, b = {0};
    switch(n->op) {
    case OP_AND: case OP_OR: case OP_XOR: case OP_IMPLIES: return eval_logic(c, n, in, f, out);
    default: break;
    }
    if(!fp_eval_node(c, n->a, in, f, &a) || !fp_eval_node(c, n->b, in, f, &b)) return false;
    switch(n->op) {
    case OP_UNION: fp_union(c, &a, &b, out); return true;
    case OP_EQ: case OP_NE: case OP_EQUIV: case OP_NEQUIV: return eval_equality(c, n->op, &a, &b, out);
    case OP_LT: case OP_GT: case OP_LE: case OP_GE: return eval_compare(c, n->op, &a, &b, out);
    case OP_IN: case OP_CONTAINS: return eval_membership(c, n->op, &a, &b, out);
    case OP_CONCAT: {
        fp_item ea, eb;
        const fp_item *x, *y;
        if(!singleton(c, &a, "&", &x) || !singleton(c, &b, "&", &y)) return false;
        fp_item_str(&ea, "");
        fp_item_str(&eb, "");
        return fp_arith(c, OP_CONCAT, x ? x : &ea, y ? y : &eb, out);
    }
    default: {
        const fp_item *x, *y;
        if(!singleton(c, &a, "arithmetic", &x) || !singleton(c, &b, "arithmetic", &y)) return false;
        if(!x || !y) return true;
        return fp_arith(c, n->op, x, y, out);
    }
    }
}

static bool eval_unary(fp_ctx *c, const fp_node *n, const fp_coll *in, const fp_frame *f, fp_coll *out) {
    fp_coll a = {0};
    const fp_item *x;
    fp_item v, r;
    if(!fp_eval_node(c, n->a, in, f, &a)) return false;
    if(!singleton(c, &a, "unary minus", &x)) return false;
    if(!x) return true;
    if(!fp_item_system(c, x, &v)) return true;
    r = v;
    if(v.v.kind == FP_INTEGER) {
        if(v.v.integer == INT64_MIN) return true; /* no positive counterpart */
        r.v.integer = -v.v.integer;
    } else if(v.v.kind == FP_DECIMAL || v.v.kind == FP_QUANTITY) {
        fp_dec d;
        if(!fp_dec_parse(v.v.text, &d)) return true;
        d.m = -d.m;
        r.v.text = fp_dec_text(c->arena, d);
    } else {
        return fp_fail(c, "cannot negate a %s", v.v.type ? v.v.type : "value");
    }
    fp_coll_push(c->arena, out, &r);
    return true;
}

static bool eval_typeop(fp_ctx *c, const fp_node *n, const fp_coll *in, const fp_frame *f, fp_coll *out) {
    fp_coll a = {0};
    if(!fp_eval_node(c, n->a, in, f, &a)) return false;
    if(n->op == OP_IS) {
        const fp_item *x;
        if(!singleton(c, &a, "is", &x)) return false;
        if(x) push_bool(c, out, fp_item_is_type(c, x, n->ns, n->name));
        return true;
    }
    if(a.n > 1 && !(c->env && c->env->as_filters)) return fp_fail(c, "as: expected a single value, got %zu", a.n);
    for(size_t i = 0; i < a.n; i++)
        if(fp_item_as_type(c, &a.items[i], n->ns, n->name)) fp_coll_push(c->arena, out, &a.items[i]);
    return true;
}

static bool eval_index(fp_ctx *c, const fp_node *n, const fp_coll *in, const fp_frame *f, fp_coll *out) {
    fp_coll a = {0}, b = {0};
    const fp_item *x;
    if(!fp_eval_node(c, n->a, in, f, &a) || !fp_eval_node(c, n->b, in, f, &b)) return false;
    if(!singleton(c, &b, "index", &x)) return false;
    if(!x) return true;
    fp_item v;
    if(!fp_item_system(c, x, &v) || v.v.kind != FP_INTEGER) return fp_fail(c, "an index must be an integer");
    if(v.v.integer >= 0 && (uint64_t)v.v.integer < a.n) fp_coll_push(c->arena, out, &a.items[v.v.integer]);
    return true;
}

bool fp_eval_node(fp_ctx *c, const fp_node *n, const fp_coll *in, const fp_frame *f, fp_coll *out) {
    bool ok = false;
    if(c->failed) return false;
    if(c->arena->over) return fp_fail(c, "evaluation too large (over %u items or %u MB)", FP_MAX_ITEMS, FP_MAX_ARENA >> 20);
    if(!fp_work(c, 1 + in->n)) return false;
    if(++c->depth > FP_MAX_EVAL_DEPTH) {
        ok = fp_fail(c, "evaluation nested too deeply");
        goto done;
    }
    if(c->env && c->env->strict && (n->kind == N_MEMBER || n->kind == N_FUNC || n->kind == N_INDEX)) {
        const char *why = strict_static_error(n);
        if(why) {
            ok = fp_fail(c, "%s (at %zu)", why, n->pos);
            goto done;
        }
    }
    switch(n->kind) {
    case N_LITERAL: fp_coll_push(c->arena, out, &n->lit); ok = true; break;
    case N_EMPTY: ok = true; break;
    case N_IDENT: ok = eval_ident(c, n, in, out); break;
    case N_MEMBER: ok = eval_member(c, n, in, f, out); break;
    case N_FUNC: {
        fp_coll focus = {0};
        if(n->a) {
            if(!fp_eval_node(c, n->a, in, f, &focus)) break;
        } else {
            focus = *in;
        }
        ok = fp_fn_at(n->fn)->fn(c, n, &focus, in, f, out);
        break;
    }
    case N_INDEX: ok = eval_index(c, n, in, f, out); break;
    case N_BINARY: ok = eval_binary(c, n, in, f, out); break;
    case N_UNARY: ok = eval_unary(c, n, in, f, out); break;
    case N_VAR: ok = eval_var(c, n, out); break;
    case N_THIS:
        if(f && f->self)
            fp_coll_push(c->arena, out, f->self);
        else
            fp_coll_append(c->arena, out, in);
        ok = true;
        break;
    case N_INDEXV: {
        fp_item it;
        if(!f || !f->self) { ok = true; break; }
        fp_item_int(&it, f->index);
        fp_coll_push(c->arena, out, &it);
        ok = true;
        break;
    }
    case N_TOTAL: {
        const fp_frame *g = f;
        while(g && !g->total) g = g->up;
        if(g) fp_coll_append(c->arena, out, g->total);
        ok = true;
        break;
    }
    case N_TYPEOP: ok = eval_typeop(c, n, in, f, out); break;
    }
done:
    c->depth--;
    return ok && !c->failed;
}

/* ---- the public API ------------------------------------------------------------- */

kith_rc fhirpath_eval(const fhirpath_expr *e, const json_value *resource, const fhirpath_env *env,
                      fhirpath_result **out, char *err, size_t errlen) {
    kith_rc rc = KITH_EINVALID;
    fhirpath_result *r = NULL;
    fp_ctx c;
    *out = NULL;
    if(err && errlen) err[0] = 0;
    if(!e || !e->root) return KITH_EINVAL;
    r = xcalloc(1, sizeof *r);
    memset(&c, 0, sizeof c);
    c.arena = &r->arena;
    c.env = env;
    c.err = err;
    c.errlen = errlen;
    if(resource && env && env->root_type) {
        fp_node_item(&c.resource, resource, NULL, fhir_type_find(env->root_type));
        fp_coll_push(c.arena, &c.root, &c.resource);
    } else if(resource) {
        fp_resource_item(&c.resource, resource);
        fp_coll_push(c.arena, &c.root, &c.resource);
    }
    if(!fp_eval_node(&c, e->root, &c.root, NULL, &r->items)) goto done;
    if(r->arena.over) {
        fp_fail(&c, "evaluation too large");
        goto done;
    }
    *out = r;
    r = NULL;
    rc = KITH_OK;
done:
    fhirpath_result_free(r);
    return rc;
}

size_t fhirpath_result_count(const fhirpath_result *r) { return r ? r->items.n : 0; }

const fhirpath_item *fhirpath_result_at(const fhirpath_result *r, size_t i) {
    if(!r || i >= r->items.n) return NULL;
    return &r->items.items[i].v;
}

void fhirpath_result_free(fhirpath_result *r) {
    if(!r) return;
    fp_arena_free(&r->arena);
    free(r);
}

/* Append one item as JSON. */
kith_rc fhirpath_item_write(buf *out, const fhirpath_item *it) {
    switch(it->kind) {
    case FP_NODE:
        if(!it->node) return buf_puts(out, "null");
        return json_write(out, it->node);
    case FP_BOOLEAN: return buf_puts(out, it->boolean ? "true" : "false");
    case FP_INTEGER: return buf_printf(out, "%lld", (long long)it->integer);
    case FP_DECIMAL: return buf_puts(out, it->text);
    case FP_QUANTITY: {
        kith_rc rc = buf_printf(out, "{\"value\":%s,\"unit\":\"", it->text);
        if(!rc) rc = buf_json_escape(out, it->unit ? it->unit : "");
        if(!rc) rc = buf_puts(out, "\"}");
        return rc;
    }
    default: {
        kith_rc rc = buf_putc(out, '"');
        if(!rc) rc = buf_json_escape(out, it->text ? it->text : "");
        if(!rc) rc = buf_putc(out, '"');
        return rc;
    }
    }
}

kith_rc fhirpath_result_write(buf *out, const fhirpath_result *r) {
    kith_rc rc = buf_putc(out, '[');
    for(size_t i = 0; !rc && i < fhirpath_result_count(r); i++) {
        if(i) rc = buf_putc(out, ',');
        if(!rc) rc = fhirpath_item_write(out, fhirpath_result_at(r, i));
    }
    if(!rc) rc = buf_putc(out, ']');
    return rc;
}
