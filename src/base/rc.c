/*
 * rc.c — names for kith_rc values, used in logs and CLI messages.
 */
#include "base/rc.h"

const char *kith_rc_name(kith_rc rc) {
    switch(rc) {
    case KITH_OK: return "ok";
    case KITH_ENOMEM: return "out of memory";
    case KITH_EINVAL: return "invalid input";
    case KITH_EINVALID: return "failed validation";
    case KITH_ENOTFOUND: return "not found";
    case KITH_EGONE: return "deleted";
    case KITH_ECONFLICT: return "version conflict";
    case KITH_EEXISTS: return "already exists";
    case KITH_ETOOBIG: return "too large";
    case KITH_EIO: return "input/output error";
    case KITH_ESTORE: return "database error";
    case KITH_EBUSY: return "database busy";
    case KITH_EUNSUPPORTED: return "not supported";
    case KITH_EFORBIDDEN: return "forbidden";
    case KITH_ESTATE: return "not allowed in the current state";
    case KITH_EINTERNAL: return "internal error";
    }
    return "unknown error";
}
