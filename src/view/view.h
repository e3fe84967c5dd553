/*
 * view.h — SQL on FHIR v2 ViewDefinitions: flat tables from FHIR resources.
 *
 * A ViewDefinition (https://sql-on-fhir.org/ig/latest) names a resource type
 * and the columns to take from each resource of that type, as FHIRPath
 * expressions, with forEach / forEachOrNull (one row per item), unionAll
 * (rows of several selects), nested selects (a cross product), where[]
 * filters and constant[] values (%name). view_compile checks a definition
 * and compiles every expression once; view_run_resource turns one resource
 * into its rows; view_writer writes rows as CSV (RFC 4180, with a header
 * row), NDJSON or a JSON array; view_run_store runs a view over the current
 * resources of a store, page by page. Nothing holds more than one resource's
 * rows at a time, so output streams whatever the size of the data.
 *
 * Keys: getResourceKey() is "Type/id" of the resource the row comes from;
 * getReferenceKey([Type]) is the "Type/id" of a relative reference
 * (a version suffix dropped), so the two join. Absolute URLs, contained
 * (#id) and urn: references have no key.
 *
 * Threads: a compiled view is read-only and may be run from any number of
 * threads at once, each on its own resources (json.h: a tree must not be
 * evaluated from two threads at the same moment).
 */
#ifndef KITH_VIEW_H
#define KITH_VIEW_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "json/json.h"
#include "store/store.h"

/* Caps on what a ViewDefinition may ask for. */
#define VIEW_MAX_SELECTS 1000      /* select nodes (select, unionAll branches) in one view */
#define VIEW_MAX_COLUMNS 1000      /* columns of the table */
#define VIEW_MAX_DEPTH 32          /* nesting of select / unionAll */
#define VIEW_MAX_CONSTANTS 256
#define VIEW_MAX_ROWS_PER_RESOURCE 1000000u /* rows one resource may give (forEach products) */

typedef struct view view;

/*
 * Check and compile a ViewDefinition (its JSON form). On a bad definition
 * returns KITH_EINVALID and writes a message naming the element at fault
 * (e.g. "select[1].column[0].path: ...") to err. Caller frees with view_free.
 */
kith_rc view_compile(const json_value *def, view **out, char *err, size_t errlen);
void view_free(view *v);

const char *view_resource_type(const view *v); /* e.g. "Patient"; borrowed */
const char *view_name(const view *v);          /* the definition's name, or NULL; borrowed */
size_t view_column_count(const view *v);
const char *view_column_name(const view *v, size_t i); /* borrowed */

/* One value of a row. text is borrowed for the duration of the row call. */
typedef enum view_cell_kind {
    VIEW_NULL,   /* no value */
    VIEW_STRING, /* text is the string itself (dates and codes too) */
    VIEW_NUMBER, /* text is the number as written (1.50 stays 1.50) */
    VIEW_BOOL,   /* text is "true" or "false" */
    VIEW_JSON    /* text is JSON: a collection column's array, or a complex value */
} view_cell_kind;

typedef struct view_cell {
    view_cell_kind kind;
    const char *text; /* NULL for VIEW_NULL */
} view_cell;

/* Receives one row of view_column_count cells (borrowed for the call).
 * A non-zero result stops the run and is returned by it. */
typedef kith_rc (*view_row_fn)(void *ctx, const view_cell *cells, size_t ncells);

/*
 * Give the rows of one resource to fn. A resource of another type gives no
 * rows (KITH_OK). When an expression fails on this resource (a column
 * without collection:true gives several values, a where[] path gives no
 * boolean, a singleton was expected, ...) returns KITH_EINVALID with a
 * message naming the resource and the element; rows already given stay
 * given. Over VIEW_MAX_ROWS_PER_RESOURCE rows: KITH_ETOOBIG.
 */
kith_rc view_run_resource(const view *v, const json_value *resource, view_row_fn fn, void *ctx, char *err,
                          size_t errlen);

/* ---- output ---------------------------------------------------------------- */

typedef enum view_format { VIEW_FORMAT_CSV, VIEW_FORMAT_NDJSON, VIEW_FORMAT_JSON } view_format;

/* "csv", "ndjson", "json" (and their media types text/csv,
 * application/x-ndjson, application/ndjson, application/json); false if none. */
bool view_format_parse(const char *s, view_format *out);
const char *view_format_media_type(view_format f); /* static */

/* Where a writer's bytes go. A non-zero result stops the writer. */
typedef kith_rc (*view_sink_fn)(void *ctx, const char *data, size_t len);

typedef struct view_writer view_writer;

/*
 * A writer of v's rows in format f to sink (bytes are handed over in chunks
 * of about 64 KiB, and at view_writer_finish). CSV starts with a header row
 * of the column names when header is true; a cell is quoted when it holds a
 * comma, quote, CR or LF (quotes doubled), null is an empty field, and a
 * collection is its JSON array text. NDJSON writes one object per row with
 * every column (null kept); JSON writes one array of those objects.
 * Caller frees with view_writer_free.
 */
view_writer *view_writer_new(const view *v, view_format f, bool header, view_sink_fn sink, void *sink_ctx);
/* A view_row_fn: pass the writer as ctx. */
kith_rc view_writer_row(void *writer, const view_cell *cells, size_t ncells);
/* Write what is pending (the header of an empty CSV, the closing bracket of
 * JSON) and hand every byte to the sink. */
kith_rc view_writer_finish(view_writer *w);
int64_t view_writer_rows(const view_writer *w);
void view_writer_free(view_writer *w);

/* ---- over a store ------------------------------------------------------------ */

typedef struct view_store_query {
    const char *patient;  /* only resources in this Patient's compartment, or NULL */
    const char *since;    /* only resources updated at/after this instant (as bulk_since_parse makes it), or NULL */
    int64_t limit;        /* stop after this many rows; 0: no limit */
    size_t page;          /* resources read per store call (0: 500) */
    void (*progress)(void *ctx, int64_t resources, int64_t rows); /* may be NULL; after each page */
    void *progress_ctx;
    atomic_bool *cancel;  /* may be NULL; set true (any thread, a signal handler) to stop with KITH_EBUSY */
} view_store_query;

typedef struct view_store_stats {
    int64_t resources; /* resources read */
    int64_t rows;      /* rows given to fn */
} view_store_stats;

/*
 * Run v over the current, not-deleted resources of its type in c (whatever
 * c's viewer lets it see: store_set_viewer), in id order, a page at a time
 * (store_scan with a cursor; each page is its own statement). Rows go to
 * fn. A resource whose JSON cannot be parsed fails the run with
 * KITH_ESTORE; view failures as view_run_resource. stats may be NULL.
 */
kith_rc view_run_store(store_conn *c, const view *v, const view_store_query *q, view_row_fn fn, void *ctx,
                       view_store_stats *stats, char *err, size_t errlen);

#endif
