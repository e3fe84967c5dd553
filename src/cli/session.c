/*
 * session.c — what the commands that work on one database share: opening it
 * (with the durable settings an administrative change needs) and writing the
 * audit entry for what the operator at the terminal did.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "cli/cli.h"
#include "pop/pop.h"

int cli_open_existing_db(const char *db, cli_session *s, const char *cmd) {
    db = cli_setting(db, "KITH_DB", "kith.db");
    if(!store_is_postgres(db) && access(db, F_OK) != 0) { /* opening would create an empty database */
        fprintf(stderr, "kith %s: no database at %s\n", cmd, db);
        return CLI_EXIT_FAILED;
    }
    return cli_open_db(db, s, cmd);
}

int cli_open_db(const char *db, cli_session *s, const char *cmd) {
    char err[512];
    store_options so = {.durable_full = true};
    if(auth_init()) {
        fprintf(stderr, "kith %s: cannot initialise libsodium\n", cmd);
        return CLI_EXIT_FAILED;
    }
    if(store_open(cli_setting(db, "KITH_DB", "kith.db"), &so, &s->st, err, sizeof err)) {
        fprintf(stderr, "kith %s: %s\n", cmd, err);
        return CLI_EXIT_FAILED;
    }
    s->c = store_conn_for_thread(s->st);
    return s->c ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* The operator at the terminal, as the audit log's agent. */
auth_principal cli_operator(void) {
    auth_principal p = {0};
    snprintf(p.kind, sizeof p.kind, "user");
    const char *u = getenv("USER");
    snprintf(p.name, sizeof p.name, "operator:%s", u && *u ? u : "unknown");
    snprintf(p.role, sizeof p.role, "administrator");
    return p;
}

void cli_audit_operator(store_conn *c, const char *subtype, char action, const char *what, const char *detail) {
    cli_audit_operator_about(c, subtype, action, NULL, what, detail);
}

void cli_audit_operator_about(store_conn *c, const char *subtype, char action, const char *patient, const char *what,
                              const char *detail) {
    auth_principal op = cli_operator();
    audit_event ev = {
        .action = action, .subtype = subtype, .who = &op, .patient = patient, .what = what, .detail = detail};
    if(audit_write_now(c, &ev)) fprintf(stderr, "kith: warning: could not write the audit entry\n");
}

/* The progress line of a long read: "read N of M (P%)" on a terminal. */
static void population_progress(void *ctx, long done, long total) {
    if(!*(const bool *)ctx) return;
    if(total > 0) fprintf(stderr, "\rread %ld of %ld (%.0f%%)   ", done, total, 100.0 * done / total);
    else fprintf(stderr, "\rread %ld   ", done);
    if(done >= total && total > 0) fputc('\n', stderr);
}

int cli_read_population(const char *db, const char *ndjson, pop_extract *x, cli_session *s, const char *cmd,
                        bool progress) {
    int code = CLI_EXIT_OK;
    struct stat st;
    int bad = !ndjson ? 0 : stat(ndjson, &st) ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
    if(bad) {
        fprintf(stderr, "kith %s: cannot read the directory %s: %s\n", cmd, ndjson, strerror(bad));
        code = CLI_EXIT_FAILED;
    } else if(ndjson) {
        char err[4200];
        if(pop_extract_from_ndjson(ndjson, x, population_progress, &progress, err, sizeof err)) {
            fprintf(stderr, "kith %s: %s\n", cmd, err);
            code = CLI_EXIT_FAILED;
        }
    } else {
        code = cli_open_existing_db(db, s, cmd);
        store_viewer planning = {.secondary_use = true}; /* analytics leave out people who opted out */
        if(!code && (store_set_viewer(s->c, &planning) ||
                     pop_extract_from_store(s->c, x, NULL, population_progress, &progress))) {
            fprintf(stderr, "kith %s: cannot read the database\n", cmd);
            code = CLI_EXIT_FAILED;
        }
        if(s->c) store_set_viewer(s->c, NULL);
    }
    pop_extract_finish(x);
    return code;
}

int cli_usage_error(const char *cmd, const char *usage, const char *msg, const char *arg) {
    fprintf(stderr, "kith %s: ", cmd);
    fprintf(stderr, msg, arg);
    fprintf(stderr, "\n\n%s", usage);
    return CLI_EXIT_USAGE;
}
