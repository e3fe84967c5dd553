/*
 * openreferral_import.h — `kith import --format openreferral FILE`: load an
 * Open Referral UK (UK profile 3.0) feed into the service directory as
 * HealthcareService, Organization and Location resources.
 */
#ifndef KITH_CLI_OPENREFERRAL_IMPORT_H
#define KITH_CLI_OPENREFERRAL_IMPORT_H
#include <stdbool.h>

/*
 * Import the ORUK feed in file (JSON, may be gzip-compressed: one service,
 * an array of services, or a paged envelope whose `contents` are services)
 * into the database at db_path, all in one transaction: a feed with any bad
 * service changes nothing. Each problem is reported on standard error as
 * `FILE: services[I] (id ID): FIELD: reason`. Unless quiet, a summary goes
 * to standard output and the fields Kith does not keep to standard error.
 * Returns the process exit status (CLI_EXIT_OK, CLI_EXIT_REJECTED for a bad
 * feed, CLI_EXIT_FAILED when the file or the database failed).
 */
int cli_import_openreferral(const char *db_path, const char *file, bool quiet);

#endif
