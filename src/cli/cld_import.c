/* placeholder until the CLD mapper lands */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/loader.h"

kith_rc cli_import_cld(struct loader *l, store_conn *c, const char *file) {
    (void)c;
    loader_reject(l, file, 0, "CLD import is not built yet");
    return KITH_EUNSUPPORTED;
}
