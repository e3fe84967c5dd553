/*
 * fhirpath_int.h — private structures shared by the fhirpath_*.c files.
 *
 * An expression is parsed (fhirpath_parse.c) into a tree of fp_node that is
 * read-only afterwards, so one tree serves any number of threads. Each
 * evaluation (fhirpath_eval.c, fhirpath_func.c) allocates everything it
 * computes — collections, strings, stub resources — from one fp_arena; the
 * result takes the arena over, so freeing a result frees all of it at once.
 * Values (decimals kept as scaled integers, dates kept with their precision,
 * quantities with UCUM or calendar units) live in fhirpath_value.c; the
 * look-ups over the R4 model that navigation and `is` need live in
 * fhirpath_model.c.
 */
#ifndef KITH_FHIR_FHIRPATH_INT_H
#define KITH_FHIR_FHIRPATH_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fhir/fhirpath.h"
#include "fhir/model.h"

/* Caps on what comes from outside. */
#define FP_MAX_EXPR_LEN (64u << 10)   /* characters in one expression */
#define FP_MAX_PARSE_DEPTH 200        /* nesting of parentheses / operators */
#define FP_MAX_TREE_HEIGHT 600        /* height of the expression tree (bounds recursion) */
#define FP_MAX_EVAL_DEPTH 400         /* nested evaluation (function arguments in loops) */
#define FP_MAX_ITEMS 1000000u         /* items in one collection */
#define FP_MAX_ARENA (256u << 20)     /* bytes one evaluation may allocate */
#define FP_MAX_WORK 50000000ull       /* steps + item comparisons in one evaluation */
#define FP_MAX_REPEAT_ROUNDS 10000    /* rounds of repeat() */
#define FP_MAX_STRING (4u << 20)      /* length of a computed string */

/* ---- arena -------------------------------------------------------------- */

typedef struct fp_chunk fp_chunk;
typedef struct fp_arena {
    fp_chunk *head;
    size_t total;        /* bytes allocated so far */
    bool over;           /* total passed FP_MAX_ARENA */
    json_value **owned;  /* JSON trees to free with the arena (resolve() stubs) */
    size_t nowned, capowned;
} fp_arena;

void *fp_alloc(fp_arena *a, size_t n); /* zeroed; never NULL; freed with the arena */
char *fp_strdup(fp_arena *a, const char *s);
char *fp_strndup(fp_arena *a, const char *s, size_t n);
void fp_arena_own_json(fp_arena *a, json_value *v);
void fp_arena_free(fp_arena *a);

/* ---- items and collections ----------------------------------------------- */

typedef struct fp_item {
    fhirpath_item v;       /* the public view; v.text/v.unit live in an arena */
    const fhir_type *ft;   /* FP_NODE: its model type, NULL if unknown */
    const json_value *ext; /* FP_NODE primitive: its "_name" sibling, or NULL */
} fp_item;

typedef struct fp_coll {
    fp_item *items;
    size_t n, cap;
} fp_coll;

void fp_coll_push(fp_arena *a, fp_coll *c, const fp_item *it);
void fp_coll_append(fp_arena *a, fp_coll *c, const fp_coll *more);

/* ---- values --------------------------------------------------------------- */

/* A decimal: m * 10^-scale, m within +-10^37. */
typedef struct fp_dec {
    __int128 m;
    int scale;
} fp_dec;

bool fp_dec_parse(const char *s, fp_dec *out);          /* false if not a decimal literal */
char *fp_dec_text(fp_arena *a, fp_dec d);               /* arena string */
void fp_dec_to_buf(char *out, size_t outlen, fp_dec d); /* at least 48 bytes */
bool fp_dec_add(fp_dec a, fp_dec b, fp_dec *out);       /* false on overflow */
bool fp_dec_sub(fp_dec a, fp_dec b, fp_dec *out);
bool fp_dec_mul(fp_dec a, fp_dec b, fp_dec *out);
bool fp_dec_div(fp_dec a, fp_dec b, fp_dec *out);       /* false on /0 or overflow */
int fp_dec_cmp(fp_dec a, fp_dec b);
fp_dec fp_dec_from_int(int64_t i);
double fp_dec_to_double(fp_dec d);
bool fp_dec_from_double(double x, fp_dec *out);
fp_dec fp_dec_round(fp_dec d, int digits);               /* half away from zero */
fp_dec fp_dec_trim(fp_dec d);                            /* drop trailing zeros */

/* Dates, date-times and times with their precision. */
enum { FP_P_YEAR = 1, FP_P_MONTH, FP_P_DAY, FP_P_HOUR, FP_P_MINUTE, FP_P_SECOND, FP_P_MS };
typedef struct fp_dt {
    int kind;    /* FP_DATE, FP_DATETIME or FP_TIME */
    int prec;    /* FP_P_* : the last component present */
    int y, mo, d, h, mi, s, ms;
    int msdigits; /* digits written after the seconds' point */
    bool tz;     /* has a time zone */
    int tzmin;   /* offset east of UTC in minutes */
} fp_dt;

bool fp_dt_parse(const char *s, int kind, fp_dt *out); /* s without '@'; FP_TIME without 'T' */
char *fp_dt_text(fp_arena *a, const fp_dt *d);          /* arena string, same form */
/* Compare a and b: 0 ok with *cmp set; 1 if uncertain (different precision). */
int fp_dt_compare(const fp_dt *a, const fp_dt *b, int *cmp);
/* Add n units of a calendar/UCUM unit; false if the unit does not apply. */
bool fp_dt_add(fp_dt *d, fp_dec n, const char *unit);

/* Quantities. */
bool fp_unit_is_calendar(const char *unit, const char **ucum); /* "year" -> "a" */
/* Convert value v in unit `from` to unit `to`; false if not commensurable. */
bool fp_unit_convert(fp_dec v, const char *from, const char *to, fp_dec *out);
/* Canonical form (base units) used by equality: value and unit. */
bool fp_unit_canonical(fp_dec v, const char *unit, fp_dec *out, const char **base);

/* ---- the model ----------------------------------------------------------- */

const fhir_type *fpm_type(const char *name);            /* any FHIR type, NULL if none */
const char *fpm_type_name(const fhir_type *t);
/* True if FHIR type `have` is `want` or derives from it (Age -> Quantity,
 * code -> string, Patient -> DomainResource -> Resource). */
bool fpm_is_a(const char *have, const char *want);
/* The System type a FHIR primitive maps to ("Boolean", "String", ...). */
const char *fpm_system_type(const fhir_type *prim);

/* ---- the expression tree --------------------------------------------------- */

typedef enum fp_node_kind {
    N_LITERAL, /* lit */
    N_EMPTY,   /* {} */
    N_IDENT,   /* name on the focus; a type name at the head of a path */
    N_MEMBER,  /* a.name */
    N_FUNC,    /* [a.]name(args) */
    N_INDEX,   /* a[b] */
    N_BINARY,  /* a op b */
    N_UNARY,   /* -a, +a */
    N_VAR,     /* %name */
    N_THIS,    /* $this */
    N_INDEXV,  /* $index */
    N_TOTAL,   /* $total */
    N_TYPEOP   /* a is T, a as T */
} fp_node_kind;

typedef enum fp_op {
    OP_NONE,
    OP_MUL, OP_DIV, OP_IDIV, OP_MOD,
    OP_ADD, OP_SUB, OP_CONCAT,
    OP_IS, OP_AS,
    OP_UNION,
    OP_LT, OP_GT, OP_LE, OP_GE,
    OP_EQ, OP_EQUIV, OP_NE, OP_NEQUIV,
    OP_IN, OP_CONTAINS,
    OP_AND,
    OP_OR, OP_XOR,
    OP_IMPLIES
} fp_op;

typedef struct fp_node fp_node;
struct fp_node {
    fp_node_kind kind;
    fp_op op;
    size_t pos;       /* character offset in the source */
    int height;       /* 1 + the tallest child */
    fp_node *a, *b;   /* operands; a is the focus of N_MEMBER/N_FUNC/N_INDEX */
    fp_node **args;
    int nargs;
    int fn;           /* N_FUNC: index into the function table */
    const char *name; /* N_IDENT, N_MEMBER, N_FUNC, N_VAR; type name of N_TYPEOP */
    const char *ns;   /* N_TYPEOP, type arguments: "System", "FHIR" or NULL */
    fp_item lit;      /* N_LITERAL */
    void *re;         /* a regex precompiled for a literal pattern argument */
    bool is_type;     /* N_IDENT: the name is a FHIR type (a path head such as Patient) */
};

struct fhirpath_expr {
    fp_arena arena; /* owns every node and literal text */
    fp_node *root;
    char *src;
    void **regexes; /* every precompiled regex, also of a parse that failed */
    size_t nregexes, capregexes;
};

/* ---- evaluation --------------------------------------------------------- */

typedef struct fp_frame {
    const fp_item *self;    /* $this */
    int64_t index;          /* $index */
    const fp_coll *total;   /* $total (aggregate), NULL outside */
    const struct fp_frame *up;
} fp_frame;

typedef struct fp_defvar {
    const char *name;
    fp_coll value;
    struct fp_defvar *next;
} fp_defvar;

typedef struct fp_ctx {
    fp_arena *arena;
    const fhirpath_env *env;
    fp_item resource;   /* %resource, %context, %rootResource */
    fp_coll root;       /* the initial focus */
    char *err;
    size_t errlen;
    bool failed;
    int depth;
    fp_defvar *defs;    /* defineVariable() scope */
    uint64_t work;      /* steps taken, against FP_MAX_WORK */
} fp_ctx;

/* Count n units of work; false (and an error) past FP_MAX_WORK. */
bool fp_work(fp_ctx *c, uint64_t n);

/* Record an error (first one wins); returns false for `return fp_fail(...)`. */
bool fp_fail(fp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool fp_eval_node(fp_ctx *c, const fp_node *n, const fp_coll *in, const fp_frame *f, fp_coll *out);

/* Items. */
void fp_item_bool(fp_item *it, bool b);
void fp_item_int(fp_item *it, int64_t i);
void fp_item_dec(fp_ctx *c, fp_item *it, fp_dec d);
void fp_item_str(fp_item *it, const char *s); /* s must outlive the item (arena) */
/* Turn a FHIR primitive node into its System value (in place copy); false
 * if the node has no value. Non-primitive items are copied unchanged. */
bool fp_item_system(fp_ctx *c, const fp_item *in, fp_item *out);
bool fp_item_is_string(fp_ctx *c, const fp_item *it, const char **s);
/* Convert a FHIR Quantity node or System quantity into value and unit. */
bool fp_item_quantity(fp_ctx *c, const fp_item *it, fp_dec *v, const char **unit);
/* Singleton boolean of a collection: -1 empty, 0 false, 1 true; -2 error. */
int fp_coll_truth(fp_ctx *c, const fp_coll *in, const char *what);

/* Equality: 1 equal, 0 not, -1 unknown (empty result). */
int fp_item_equal(fp_ctx *c, const fp_item *a, const fp_item *b);
bool fp_item_equiv(fp_ctx *c, const fp_item *a, const fp_item *b);
/* Order: 0 and *cmp on success, 1 when unknown (empty), -1 on a type error. */
int fp_item_compare(fp_ctx *c, const fp_item *a, const fp_item *b, int *cmp);

/* Navigation. */
void fp_children(fp_ctx *c, const fp_item *it, const char *name, fp_coll *out, bool *known);
void fp_all_children(fp_ctx *c, const fp_item *it, fp_coll *out);
/* Make a node item for a JSON value of FHIR type ft (NULL: unknown). */
void fp_node_item(fp_item *it, const json_value *v, const json_value *ext, const fhir_type *ft);
void fp_resource_item(fp_item *it, const json_value *res);

/* Operators shared with the functions (fhirpath_eval.c). */
void fp_union(fp_ctx *c, const fp_coll *a, const fp_coll *b, fp_coll *out);
bool fp_arith(fp_ctx *c, fp_op op, const fp_item *x, const fp_item *y, fp_coll *out);

/* Type tests: is `it` of type ns.name ("System"/"FHIR"/NULL)? */
bool fp_item_is_type(fp_ctx *c, const fp_item *it, const char *ns, const char *name);
/* as/ofType: like is, but FHIR primitives match their exact type only. */
bool fp_item_as_type(fp_ctx *c, const fp_item *it, const char *ns, const char *name);
/* Is ns.name a type FHIRPath knows (System or FHIR)? */
bool fp_type_known(const char *ns, const char *name);
/* The type name of an item for type(): namespace and name. */
void fp_item_type_name(const fp_item *it, const char **ns, const char **name);

/* Functions (fhirpath_func.c). */
typedef bool (*fp_fn)(fp_ctx *c, const fp_node *n, const fp_coll *focus, const fp_coll *in, const fp_frame *f,
                      fp_coll *out);
typedef struct fp_fninfo {
    const char *name;
    int min, max; /* argument counts */
    fp_fn fn;
    bool type_arg; /* the argument is a type specifier (is, as, ofType) */
} fp_fninfo;
int fp_fn_find(const char *name); /* -1 if unknown */
const fp_fninfo *fp_fn_at(int i);
/* Regex helpers for literal patterns. */
void *fp_regex_compile(const char *pattern, bool whole, char *err, size_t errlen);
void fp_regex_free(void *re);

/* Evaluate argument i in `in` (the scope's focus); out must be zeroed. */
bool fp_arg(fp_ctx *c, const fp_node *n, int i, const fp_coll *in, const fp_frame *f, fp_coll *out);

#endif
