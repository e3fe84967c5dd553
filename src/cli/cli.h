/*
 * cli.h — the kith subcommands. Each takes its own argv (argv[0] is the
 * subcommand name) and returns the process exit status.
 */
#ifndef KITH_CLI_H
#define KITH_CLI_H
#include <stdbool.h>

#include "base/rc.h"
#include "store/store.h"

#define KITH_VERSION "0.1.0"

/* Exit statuses, the one place a kith_rc becomes one. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_REJECTED = 1, /* ran, but some input was refused */
    CLI_EXIT_USAGE = 2,    /* bad command line */
    CLI_EXIT_FAILED = 3    /* could not do the work (database, I/O) */
};
int cli_exit_code(kith_rc rc);

/* Setting from flag, else environment variable, else default. Borrowed. */
const char *cli_setting(const char *flag_value, const char *env_name, const char *dflt);

/* A database opened by a command: the store and this thread's connection. */
typedef struct cli_session {
    store *st;
    store_conn *c;
} cli_session;
/* Open --db (else KITH_DB, else kith.db) for command cmd; prints why not.
 * Returns CLI_EXIT_OK or CLI_EXIT_FAILED. Close with store_close(s->st). */
int cli_open_db(const char *db, cli_session *s, const char *cmd);
/* The same for a command that only reads: a SQLite file that does not exist
 * is refused ("no database at ...", CLI_EXIT_FAILED) rather than created. */
int cli_open_existing_db(const char *db, cli_session *s, const char *cmd);
/* The operator at the terminal, as the audit log's agent. */
struct auth_principal cli_operator(void);
/* Write an audit entry for the operator's action at once (a warning on
 * stderr when it cannot be written). */
void cli_audit_operator(store_conn *c, const char *subtype, char action, const char *what, const char *detail);
/* The same about one person's record (patient: a Patient id, or NULL). */
void cli_audit_operator_about(store_conn *c, const char *subtype, char action, const char *patient, const char *what,
                              const char *detail);

/* "kith CMD: " and msg (a printf format taking the one string arg) on
 * stderr, then the command's usage; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *usage, const char *msg, const char *arg)
    __attribute__((format(printf, 3, 0)));

/* Read a population for planning into x and finish it: from the NDJSON
 * files in DIR when ndjson is set, else from the database (opened into s;
 * the caller closes it), seen as a planning system sees it: people with the
 * national data opt-out left out. progress: a progress line on stderr.
 * Prints why not; returns CLI_EXIT_OK or CLI_EXIT_FAILED. */
struct pop_extract;
int cli_read_population(const char *db, const char *ndjson, struct pop_extract *x, cli_session *s, const char *cmd,
                        bool progress);

int cli_serve(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_reindex(int argc, char **argv);
int cli_fhirpath(int argc, char **argv);
int cli_synth(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_client(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_link(int argc, char **argv);
int cli_frailty(int argc, char **argv);
int cli_risk(int argc, char **argv);
int cli_view(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_evaluate(int argc, char **argv);
int cli_backup(int argc, char **argv);
int cli_restore(int argc, char **argv);

/* `kith import --format cld`: map one CLD CSV extract to FHIR and queue it on
 * the loader (cld_import.c). c is the loader's connection, used to find
 * people already held by NHS number. Returns KITH_EIO when the file cannot
 * be read; bad rows are reported through the loader and skipped. */
struct loader;
kith_rc cli_import_cld(struct loader *l, store_conn *c, const char *file);

#endif
