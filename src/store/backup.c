/*
 * backup.c — online backup and restore of a store (see store.h).
 *
 * SQLite: the online backup API copies the database page by page from a
 * read transaction, so writers carry on (a step that meets a lock waits and
 * tries again); the copy is checked (PRAGMA integrity_check) before it is
 * renamed into place, so a backup file is either whole or absent. Restoring
 * copies the checked file over the target the same way.
 *
 * PostgreSQL: Debian's pg_dump and pg_restore (postgresql-client-15) of the
 * schema the URL's search_path names, in pg_dump's custom format. pg_dump
 * takes one consistent snapshot while the server carries on.
 */
#include <errno.h>
#include <stdbool.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"

static void say(char *err, size_t errlen, const char *fmt, const char *a, const char *b) {
    if(err) snprintf(err, errlen, fmt, a, b ? b : "");
}

/* ---- SQLite ---------------------------------------------------------------- */

/* Copy database src_path into dst_path (created or replaced) with the backup
 * API; single_file: leave dst_path in rollback-journal mode, one file that
 * can be moved (a backup), rather than WAL as Kith runs it. */
static kith_rc sqlite_copy(const char *src_path, int src_flags, const char *dst_path, bool single_file, char *err,
                           size_t errlen) {
    sqlite3 *src = NULL, *dst = NULL;
    kith_rc rc = KITH_OK;
    if(sqlite3_open_v2(src_path, &src, src_flags, NULL) != SQLITE_OK) {
        say(err, errlen, "cannot open %s: %s", src_path, src ? sqlite3_errmsg(src) : "out of memory");
        rc = KITH_EIO;
        goto done;
    }
    sqlite3_busy_timeout(src, 10000);
    if(sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        say(err, errlen, "cannot write %s: %s", dst_path, dst ? sqlite3_errmsg(dst) : "out of memory");
        rc = KITH_EIO;
        goto done;
    }
    sqlite3_busy_timeout(dst, 10000);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if(!b) {
        say(err, errlen, "cannot copy into %s: %s", dst_path, sqlite3_errmsg(dst));
        rc = KITH_ESTORE;
        goto done;
    }
    int s;
    do {
        s = sqlite3_backup_step(b, 256);
        if(s == SQLITE_BUSY || s == SQLITE_LOCKED) sqlite3_sleep(20);
    } while(s == SQLITE_OK || s == SQLITE_BUSY || s == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if(s != SQLITE_DONE) {
        say(err, errlen, "copying %s failed: %s", src_path, sqlite3_errstr(s));
        rc = KITH_ESTORE;
    } else if(single_file && sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        say(err, errlen, "cannot finish %s: %s", dst_path, sqlite3_errmsg(dst)); /* one file, no -wal beside it */
        rc = KITH_ESTORE;
    }
done:
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc;
}

/* Is path a whole Kith SQLite database? */
static kith_rc sqlite_verify(const char *path, char *err, size_t errlen) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    kith_rc rc = KITH_OK;
    if(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        say(err, errlen, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        rc = KITH_EIO;
        goto done;
    }
    const char *why = NULL;
    if(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        why = sqlite3_errmsg(db);
    else if(strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
        why = "the integrity check failed";
    sqlite3_finalize(st);
    st = NULL;
    if(!why && (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('resource', 'kith_audit')",
                                   -1, &st, NULL) != SQLITE_OK ||
                sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 2))
        why = "it is not a Kith database";
    if(why) {
        say(err, errlen, "%s is not a usable backup: %s", path, why);
        rc = KITH_EINVAL;
    }
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static kith_rc sqlite_backup(const char *url, const char *file, char *err, size_t errlen) {
    struct stat stt;
    if(stat(url, &stt) != 0) {
        say(err, errlen, "no database at %s%s", url, NULL);
        return KITH_ENOTFOUND;
    }
    size_t n = strlen(file) + 16;
    char *tmp = malloc(n);
    if(!tmp) return KITH_ENOMEM;
    snprintf(tmp, n, "%s.partial", file);
    unlink(tmp);
    kith_rc rc = sqlite_copy(url, SQLITE_OPEN_READONLY, tmp, true, err, errlen);
    if(!rc) rc = sqlite_verify(tmp, err, errlen);
    if(!rc && rename(tmp, file) != 0) {
        say(err, errlen, "cannot write %s: %s", file, strerror(errno));
        rc = KITH_EIO;
    }
    if(rc) unlink(tmp);
    free(tmp);
    return rc;
}

static kith_rc sqlite_restore(const char *url, const char *file, char *err, size_t errlen) {
    kith_rc rc = sqlite_verify(file, err, errlen);
    if(rc) return rc;
    return sqlite_copy(file, SQLITE_OPEN_READONLY, url, false, err, errlen);
}

/* ---- PostgreSQL --------------------------------------------------------------- */

/* The schema the URL's search_path names (where Kith's tables are). */
static kith_rc pg_schema(const char *url, char *out, size_t len, char *err, size_t errlen) {
    PGconn *db = PQconnectdb(url);
    kith_rc rc = KITH_OK;
    if(PQstatus(db) != CONNECTION_OK) {
        say(err, errlen, "cannot connect to the database: %s%s", PQerrorMessage(db), NULL);
        rc = KITH_ESTORE;
    } else {
        PGresult *r = PQexec(db, "SELECT coalesce(current_schema(), 'public')");
        if(PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || (size_t)PQgetlength(r, 0, 0) >= len) {
            say(err, errlen, "cannot find the schema: %s%s", PQerrorMessage(db), NULL);
            rc = KITH_ESTORE;
        } else {
            snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
        }
        PQclear(r);
    }
    PQfinish(db);
    return rc;
}

/* Run argv (a PostgreSQL client program) and wait; its stderr goes to ours. */
static kith_rc run_tool(char *const argv[], char *err, size_t errlen) {
    pid_t pid = fork();
    if(pid < 0) {
        say(err, errlen, "cannot run %s: %s", argv[0], strerror(errno));
        return KITH_EIO;
    }
    if(pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while(waitpid(pid, &status, 0) < 0)
        if(errno != EINTR) return KITH_EIO;
    if(!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        say(err, errlen, "%s failed (apt-get install postgresql-client-15 if it is missing)%s", argv[0], NULL);
        return KITH_ESTORE;
    }
    return KITH_OK;
}

static kith_rc postgres_backup(const char *url, const char *file, char *err, size_t errlen) {
    char schema[128], sopt[160], fopt[4200];
    kith_rc rc = pg_schema(url, schema, sizeof schema, err, errlen);
    if(rc) return rc;
    snprintf(sopt, sizeof sopt, "--schema=%s", schema);
    snprintf(fopt, sizeof fopt, "--file=%s.partial", file);
    char *argv[] = {"pg_dump", "--format=custom", "--no-owner", sopt, fopt, "--dbname", (char *)url, NULL};
    rc = run_tool(argv, err, errlen);
    if(!rc && rename(fopt + 7, file) != 0) {
        say(err, errlen, "cannot write %s: %s", file, strerror(errno));
        rc = KITH_EIO;
    }
    if(rc) unlink(fopt + 7);
    return rc;
}

static kith_rc postgres_restore(const char *url, const char *file, char *err, size_t errlen) {
    char schema[128], sopt[160];
    kith_rc rc = pg_schema(url, schema, sizeof schema, err, errlen);
    if(rc) return rc;
    snprintf(sopt, sizeof sopt, "--schema=%s", schema);
    char *argv[] = {"pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error", "--single-transaction",
                    sopt, "--dbname", (char *)url, (char *)file, NULL};
    return run_tool(argv, err, errlen);
}

/* ---- the calls --------------------------------------------------------------- */

kith_rc store_backup(const char *url, const char *file, char *err, size_t errlen) {
    return store_is_postgres(url) ? postgres_backup(url, file, err, errlen) : sqlite_backup(url, file, err, errlen);
}

kith_rc store_restore(const char *url, const char *file, char *err, size_t errlen) {
    if(access(file, R_OK) != 0) {
        say(err, errlen, "cannot read %s: %s", file, strerror(errno));
        return KITH_EIO;
    }
    return store_is_postgres(url) ? postgres_restore(url, file, err, errlen) : sqlite_restore(url, file, err, errlen);
}
