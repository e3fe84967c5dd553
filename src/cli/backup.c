/*
 * backup.c — `kith backup` and `kith restore`: an online copy of the whole
 * store (records with their history, search index, accounts, the audit log)
 * and putting one back (src/store/backup.c does the work).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cli.h"

static const char BACKUP_USAGE[] =
    "Usage: kith backup [--db PATH|URL] --out FILE\n"
    "\n"
    "Copy the whole database while Kith keeps serving: every resource with its\n"
    "history, the search index, accounts and tokens, and the audit log.\n"
    "  SQLite: a SQLite file, made with SQLite's online backup API and checked\n"
    "          (integrity check) before it replaces FILE.\n"
    "  PostgreSQL: pg_dump of the URL's schema in pg_dump's custom format (one\n"
    "          consistent snapshot); needs postgresql-client-15.\n"
    "FILE is only written when the backup is whole. The backup is written to the\n"
    "audit log. Restore it with `kith restore`.\n"
    "\n"
    "Options:\n"
    "  --db PATH|URL   the database [KITH_DB] (default kith.db)\n"
    "  --out FILE      where to write the backup (replaced when it exists)\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status 0 on success, 2 for a bad command line, 3 when the database or\n"
    "the file failed (nothing written).\n";

static const char RESTORE_USAGE[] =
    "Usage: kith restore [--db PATH|URL] --from FILE [--force]\n"
    "\n"
    "Replace the database with a backup made by `kith backup` of the same kind\n"
    "of database. Stop `kith serve` first: nothing may have the database open.\n"
    "A SQLite backup is checked before anything is changed; a PostgreSQL backup\n"
    "is restored with pg_restore in one transaction, into the URL's schema.\n"
    "Afterwards the restored database is checked, its resources counted, and the\n"
    "restore written to its audit log (`kith audit verify` checks the chain).\n"
    "\n"
    "Options:\n"
    "  --db PATH|URL   the database to replace [KITH_DB] (default kith.db)\n"
    "  --from FILE     the backup\n"
    "  --force         replace a database that holds records (otherwise refused)\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status 0 on success, 1 when the database holds records and --force was\n"
    "not given, 2 for a bad command line, 3 when the backup is not usable or the\n"
    "database failed.\n";

/* Resources in the store at db (-1 when it cannot be opened). */
static int64_t resources_in(const char *db, bool create) {
    if(!create && !store_is_postgres(db) && access(db, F_OK) != 0) return 0;
    store *st = NULL;
    char err[512];
    if(store_open(db, NULL, &st, err, sizeof err)) return -1;
    store_conn *c = store_conn_for_thread(st);
    int64_t n = -1;
    if(!c || store_count(c, NULL, &n)) n = -1;
    store_close(st);
    return n;
}

/* Write one audit entry about the copy into the store at db. */
static void audit(const char *db, const char *subtype, const char *detail) {
    cli_session s = {0};
    if(cli_open_db(db, &s, subtype) == CLI_EXIT_OK) cli_audit_operator(s.c, subtype, 'E', "database", detail);
    if(s.st) store_close(s.st);
}

static int parse(int argc, char **argv, const char *usage, const char *cmd, const char **db, const char **file,
                 bool *force) {
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},  {"out", required_argument, NULL, 'o'},
                                         {"from", required_argument, NULL, 'f'}, {"force", no_argument, NULL, 'F'},
                                         {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    bool backup = strcmp(cmd, "backup") == 0;
    while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(c) {
        case 'd': *db = optarg; break;
        case 'o':
            if(!backup) return cli_usage_error(cmd, usage, "--out is for kith backup%s", "");
            *file = optarg;
            break;
        case 'f':
            if(backup) return cli_usage_error(cmd, usage, "--from is for kith restore%s", "");
            *file = optarg;
            break;
        case 'F':
            if(backup) return cli_usage_error(cmd, usage, "--force is for kith restore%s", "");
            *force = true;
            break;
        case 'h': fputs(usage, stdout); return -1;
        default: fprintf(stderr, "\n%s", usage); return CLI_EXIT_USAGE;
        }
    }
    if(optind < argc) return cli_usage_error(cmd, usage, "unexpected argument: %s", argv[optind]);
    if(!*file) return cli_usage_error(cmd, usage, backup ? "--out FILE is required%s" : "--from FILE is required%s", "");
    *db = cli_setting(*db, "KITH_DB", "kith.db");
    return CLI_EXIT_OK;
}

int cli_backup(int argc, char **argv) {
    const char *db = NULL, *file = NULL;
    bool force = false;
    int code = parse(argc, argv, BACKUP_USAGE, "backup", &db, &file, &force);
    if(code) return code < 0 ? CLI_EXIT_OK : code;
    char err[4400], detail[4200];
    uint64_t t0 = clock_mono_us();
    kith_rc rc = store_backup(db, file, err, sizeof err);
    if(rc) {
        fprintf(stderr, "kith backup: %s\n", err);
        return CLI_EXIT_FAILED;
    }
    snprintf(detail, sizeof detail, "backup written to %s", file);
    audit(db, "backup", detail);
    printf("Backup written to %s in %.1f s\n", file, (double)(clock_mono_us() - t0) / 1e6);
    return CLI_EXIT_OK;
}

int cli_restore(int argc, char **argv) {
    const char *db = NULL, *file = NULL;
    bool force = false;
    int code = parse(argc, argv, RESTORE_USAGE, "restore", &db, &file, &force);
    if(code) return code < 0 ? CLI_EXIT_OK : code;
    int64_t held = resources_in(db, false);
    if(held > 0 && !force) {
        fprintf(stderr, "kith restore: %s holds %lld resources: give --force to replace them with %s\n", db,
                (long long)held, file);
        return CLI_EXIT_REJECTED;
    }
    char err[4400], detail[4200];
    kith_rc rc = store_restore(db, file, err, sizeof err);
    if(rc) {
        fprintf(stderr, "kith restore: %s\n", err);
        return CLI_EXIT_FAILED;
    }
    int64_t n = resources_in(db, true);
    if(n < 0) {
        fprintf(stderr, "kith restore: the restored database at %s cannot be opened\n", db);
        return CLI_EXIT_FAILED;
    }
    snprintf(detail, sizeof detail, "restored from %s", file);
    audit(db, "restore", detail);
    printf("Restored %s from %s: %lld resources\n", db, file, (long long)n);
    return CLI_EXIT_OK;
}
