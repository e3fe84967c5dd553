/*
 * sqlgen.h — the SQL that the SQLite and PostgreSQL backends share (private
 * to src/store): search parameter keys, FHIR search as SQL (filters, chains,
 * _has, sorts, keyset cursors, totals, _include/_revinclude), and the access
 * policy's visibility condition. The two dialects differ only in small
 * spellings (placeholders, booleans, JSON, full text), chosen by sg_dialect;
 * running the statements is each backend's.
 */
#ifndef KITH_STORE_SQLGEN_H
#define KITH_STORE_SQLGEN_H
#include "base/buf.h"
#include "store/store.h"

typedef enum sg_dialect { SG_SQLITE, SG_POSTGRES } sg_dialect;

/* The key index rows use for search parameter `param` of type `type`: a
 * 62-bit FNV-1a hash of both, so that index keys stay small. */
int64_t sg_param_id(const char *type, const char *param);

/* ---- the viewer ------------------------------------------------------------
 * A connection's viewer as flags: VIEW_MODE bits 0 none, 1 by relationship,
 * 2 no patient data, 3 secondary use (all but the opted out), 4 consent only
 * (direct-care systems); plus flags for checks that cannot matter this time.
 * The viewer's account, practitioner, organisation and hidden labels sit in
 * the connection's temporary table kith_viewer(k, v). */
#define VIEW_MODE 7
#define VIEW_NO_CONSENTS 8         /* the database holds no Consent at all */
#define VIEW_SEES_ALL_LABELS 16    /* the viewer may see every sensitive category */
#define VIEW_RELATIONSHIP_GIVEN 32 /* the query reaches only people the viewer cares for */
#define VIEW_STATES 64

/* Append " AND <visible>" for a viewer with these flags (nothing when 0): x is
 * an SQL expression giving the row's Patient id (the patient column), type and
 * id its resource type and id (for sensitivity labels), rkey its resource key
 * when the row is the resource table's (else NULL). No bound values. */
void sg_visible_cond(sg_dialect d, int flags, buf *out, const char *x, const char *type, const char *id,
                     const char *rkey);
/* The flags for viewer v (no_consents: the store holds no live Consent). */
int sg_viewer_flags(const store_viewer *v, bool no_consents);
/* Group commits turn a connection's viewer off and back on (store.c's
 * viewer_suspend hook): *viewer moves to *saved and back. */
void sg_viewer_suspend(int *viewer, int *saved, bool suspend);
/* The identity of v's values in kith_viewer, to skip rewriting them for the same viewer. */
void sg_viewer_key(const store_viewer *v, char *key, size_t len);

/* ---- statements with bound values ------------------------------------------ */

#define SG_MAX_BINDS 2000

typedef struct sg_bind {
    int kind;         /* 0 text, 1 real, 2 integer */
    const char *text; /* borrowed, or owned by the builder */
    double num;
    int64_t i;
} sg_bind;

typedef struct sg_builder {
    buf sql;
    sg_bind binds[SG_MAX_BINDS];
    int nbinds;
    char *owned[SG_MAX_BINDS]; /* texts made while building */
    int nowned;
    kith_rc rc;
    sg_dialect d;
    int viewer; /* flags of the viewer that limits the rows (0: none) */
} sg_builder;

void sg_builder_reset(sg_builder *b); /* free what it holds, keep dialect and viewer */

/* A row of a result, read by column: text (NULL for SQL NULL; numbers as
 * text that reads back exactly) and integers. */
typedef struct sg_row {
    void *h;
    const char *(*text)(void *h, int col);
    size_t (*len)(void *h, int col);
    int64_t (*i64)(void *h, int col);
} sg_row;
typedef int (*sg_row_fn)(void *ctx, const sg_row *r); /* non-zero stops */
/* Run b's statement on c, calling fn for each row. */
typedef kith_rc (*sg_run_fn)(store_conn *c, const sg_builder *b, sg_row_fn fn, void *ctx);

/* store_search, store_references_from and store_references_to for a
 * backend: d and viewer say how to write the SQL, run how to run it. */
kith_rc sg_search(store_conn *c, sg_dialect d, int viewer, sg_run_fn run, const store_query *q, store_history_fn fn,
                  void *ctx, int64_t *total, char **next_cursor, char **prev_cursor);
kith_rc sg_references_from(store_conn *c, sg_dialect d, sg_run_fn run, const char *type, const char *const *ids,
                           size_t nids, const char *param, const char *target_type, store_ref_fn fn, void *ctx);
kith_rc sg_references_to(store_conn *c, sg_dialect d, sg_run_fn run, const char *type, const char *const *ids,
                         size_t nids, const char *src_type, const char *param, store_ref_fn fn, void *ctx);

#endif
