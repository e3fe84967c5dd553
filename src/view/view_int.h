/*
 * view_int.h — private to src/view: the compiled form of a ViewDefinition
 * that view.c builds and view_run.c walks.
 *
 * A view is a tree of selects. The view itself is the root select (its
 * select[] are the root's nested selects, it has no columns). Each select
 * fills a contiguous range of the row's cells, [off, off + width): first its
 * own columns, then each nested select's range in turn, then its unionAll's
 * range, which every branch of the unionAll fills alike. Everything is
 * owned by the view and read-only once compiled.
 */
#ifndef KITH_VIEW_INT_H
#define KITH_VIEW_INT_H
#include "fhir/fhirpath.h"
#include "view/view.h"

/* The variable getResourceKey() becomes (a name no constant may take). */
#define VIEW_KEY_VAR "__resource_key"

typedef struct vcol {
    char *name;
    char *where;         /* the element, for messages: "select[0].column[1]" */
    char *path;          /* the expression as written */
    fhirpath_expr *expr;
    bool collection;     /* collection: true — the cell is a JSON array */
} vcol;

typedef struct vsel vsel;
struct vsel {
    char *where;         /* "select[0].unionAll[1]"; "" for the root */
    fhirpath_expr *each; /* forEach / forEachOrNull, or NULL */
    char *each_path;
    bool or_null;        /* forEachOrNull: one row of nulls when it gives nothing */
    vcol *cols;
    size_t ncols;
    vsel *subs;          /* nested select[] */
    size_t nsubs;
    vsel *unions;        /* unionAll[] branches */
    size_t nunions;
    size_t off, width;   /* the cells this select fills */
};

typedef struct vwhere {
    char *where;         /* "where[0]" */
    char *path;
    fhirpath_expr *expr;
} vwhere;

struct view {
    char *resource;      /* the resource type */
    char *name;          /* may be NULL */
    vsel root;
    vwhere *wheres;
    size_t nwheres;
    char **columns;      /* the column names in row order (borrowed from the vcols) */
    size_t ncolumns;
    size_t nselects;     /* select nodes in the tree, root included: bounds the run's stack */
    bool uses_key;       /* some expression calls getResourceKey() */
};

#endif
