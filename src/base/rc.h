/*
 * rc.h — the one result type of Kith.
 *
 * Every fallible function returns a kith_rc. KITH_OK is zero so that callers
 * can write `if(rc) goto done;`. The mapping of a kith_rc to an HTTP status
 * lives in src/http (http_status_for_rc) and to a CLI exit code in src/cli
 * (cli_exit_code); nowhere else decides those.
 */
#ifndef KITH_RC_H
#define KITH_RC_H

typedef enum kith_rc {
    KITH_OK = 0,
    KITH_ENOMEM,       /* out of memory */
    KITH_EINVAL,       /* caller gave a bad argument or unparseable input */
    KITH_EINVALID,     /* input parsed but breaks the rules (FHIR validation) */
    KITH_ENOTFOUND,    /* no such thing */
    KITH_EGONE,        /* existed but was deleted */
    KITH_ECONFLICT,    /* version conflict / precondition failed */
    KITH_EEXISTS,      /* already exists */
    KITH_ETOOBIG,      /* over a size cap */
    KITH_EIO,          /* file or network I/O failed */
    KITH_ESTORE,       /* the database failed */
    KITH_EBUSY,        /* database busy beyond our retry budget */
    KITH_EUNSUPPORTED, /* a thing Kith does not do (yet) */
    KITH_EFORBIDDEN,   /* the access policy refuses it */
    KITH_ESTATE,       /* not allowed from the thing's current state (e.g. a Task's status) */
    KITH_EINTERNAL     /* a bug: an invariant broke */
} kith_rc;

/* Short English name of rc, e.g. "not found". Borrowed, static storage. */
const char *kith_rc_name(kith_rc rc);

#endif
