/*
 * session.c — what the commands that work on one database share: opening it
 * (with the durable settings an administrative change needs) and writing the
 * audit entry for what the operator at the terminal did.
 */
#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "cli/cli.h"

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
