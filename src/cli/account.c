/*
 * account.c — `kith user ...`, `kith client ...` and `kith audit ...`: the
 * accounts that may use Kith, their tokens, and the audit log's checks.
 * Every change made here is itself audited.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "care/care.h"
#include "cli/cli.h"
#include "store/store.h"

static const char USER_USAGE[] =
    "Usage: kith user COMMAND [OPTIONS]\n"
    "\n"
    "Manage the people who may use Kith. Passwords are read from standard input\n"
    "(never from the command line) and kept as argon2id hashes.\n"
    "\n"
    "Commands:\n"
    "  add --username U --role ROLE --org ORG_ID [--practitioner ID] --password-stdin\n"
    "                     add a user (or replace one of the same name)\n"
    "  disable U          stop U signing in and make U's tokens useless\n"
    "  list               list users: name, role, organisation, practitioner, state\n"
    "  token U [--expires 8h]\n"
    "                     print a bearer token that acts as U (for scripts)\n"
    "\n"
    "Roles: gp, practice-staff, community-nurse, therapist, social-worker,\n"
    "care-coordinator, discharge-coordinator, mdt-chair, team-lead, analyst,\n"
    "administrator.\n"
    "\n"
    "Options:\n"
    "  --db PATH   SQLite database file or postgresql:// URL [KITH_DB] (default kith.db)\n"
    "  -h, --help  show this help\n";

static const char CLIENT_USAGE[] =
    "Usage: kith client COMMAND [OPTIONS]\n"
    "\n"
    "Manage the systems that use the FHIR API.\n"
    "\n"
    "Commands:\n"
    "  add NAME --scopes 'system/*.cruds' [--public-key FILE] [--purpose P]\n"
    "                     register a system client with SMART v2 scopes; P is\n"
    "                     direct-care (default: people's objections to sharing\n"
    "                     bind it), secondary-use (planning and research: it never\n"
    "                     sees people with the national data opt-out) or\n"
    "                     records-management (migration, backup, integration:\n"
    "                     everything its scopes allow, every access audited)\n"
    "  token NAME [--expires 1h] [--scopes S]\n"
    "                     print a short-lived bearer token for the client (what a\n"
    "                     client-credentials grant returns); --scopes narrows it\n"
    "  list               list clients and their scopes\n"
    "\n"
    "Options:\n"
    "  --db PATH   SQLite database file or postgresql:// URL [KITH_DB] (default kith.db)\n"
    "  -h, --help  show this help\n";

static const char AUDIT_USAGE[] =
    "Usage: kith audit COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  verify             recompute the audit log's hash chain; exit 0 when intact,\n"
    "                     1 naming the first entry that was changed or removed\n"
    "  report PATIENT_ID  who has looked at this person's record: one line per access\n"
    "\n"
    "Options:\n"
    "  --db PATH   SQLite database file or postgresql:// URL [KITH_DB] (default kith.db)\n"
    "  -h, --help  show this help\n";

/* Parse "8h", "30m", "3600", "2d" into seconds; -1 when malformed. */
static int64_t parse_duration(const char *s) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if(end == s || v <= 0) return -1;
    int64_t mul = *end == '\0' || strcmp(end, "s") == 0 ? 1
                  : strcmp(end, "m") == 0                ? 60
                  : strcmp(end, "h") == 0                ? 3600
                  : strcmp(end, "d") == 0                ? 86400
                                                         : -1;
    if(mul < 0 || v > 366LL * 86400 / mul) return -1;
    return v * mul;
}

static int read_password(char *out, size_t n) {
    if(!fgets(out, (int)n, stdin)) return -1;
    size_t len = strlen(out);
    while(len && (out[len - 1] == '\n' || out[len - 1] == '\r')) out[--len] = '\0';
    return len >= 8 ? 0 : -2;
}

static int print_user(void *ctx, const store_account *a) {
    (void)ctx;
    printf("%-24s %-22s %-20s %-16s %s\n", a->name, a->role ? a->role : "-", a->org ? a->org : "-",
           a->practitioner ? a->practitioner : "-",
           a->disabled ? "disabled" : a->locked_until > (int64_t)time(NULL) ? "locked" : "active");
    return 0;
}

static int print_client(void *ctx, const store_account *a) {
    (void)ctx;
    printf("%-24s %-8s %-13s %s\n", a->name, a->disabled ? "disabled" : "active", a->role ? a->role : "direct-care",
           a->scopes ? a->scopes : "");
    return 0;
}

int cli_user(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},           {"username", required_argument, NULL, 'u'},
        {"role", required_argument, NULL, 'r'},         {"org", required_argument, NULL, 'o'},
        {"practitioner", required_argument, NULL, 'p'}, {"password-stdin", no_argument, NULL, 'P'},
        {"expires", required_argument, NULL, 'e'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *username = NULL, *role = NULL, *org = NULL, *practitioner = NULL, *expires = "8h";
    bool password_stdin = false;
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'd': db = optarg; break;
        case 'u': username = optarg; break;
        case 'r': role = optarg; break;
        case 'o': org = optarg; break;
        case 'p': practitioner = optarg; break;
        case 'P': password_stdin = true; break;
        case 'e': expires = optarg; break;
        case 'h': fputs(USER_USAGE, stdout); return CLI_EXIT_OK;
        default: fputs(USER_USAGE, stderr); return CLI_EXIT_USAGE;
        }
    }
    const char *cmd = optind < argc ? argv[optind] : NULL;
    const char *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
    if(!cmd) {
        fprintf(stderr, "kith user: say what to do\n\n%s", USER_USAGE);
        return CLI_EXIT_USAGE;
    }
    if(strcmp(cmd, "add") == 0) {
        if(!username || !role || !org || !password_stdin) {
            fprintf(stderr, "kith user add: needs --username, --role, --org and --password-stdin\n");
            return CLI_EXIT_USAGE;
        }
        if(!auth_role_valid(role)) {
            fprintf(stderr, "kith user add: unknown role '%s' (see kith user --help)\n", role);
            return CLI_EXIT_USAGE;
        }
    } else if((strcmp(cmd, "disable") == 0 || strcmp(cmd, "token") == 0) && !arg) {
        fprintf(stderr, "kith user %s: name the user\n", cmd);
        return CLI_EXIT_USAGE;
    } else if(strcmp(cmd, "add") != 0 && strcmp(cmd, "disable") != 0 && strcmp(cmd, "token") != 0 &&
              strcmp(cmd, "list") != 0) {
        fprintf(stderr, "kith user: unknown command '%s'\n\n%s", cmd, USER_USAGE);
        return CLI_EXIT_USAGE;
    }
    int64_t ttl = parse_duration(expires);
    if(ttl < 0) {
        fprintf(stderr, "kith user: --expires wants a duration such as 30m, 8h or 2d (at most a year)\n");
        return CLI_EXIT_USAGE;
    }
    cli_session s;
    int code = cli_open_db(db, &s, "user");
    if(code) return code;
    kith_rc rc = KITH_OK;
    if(strcmp(cmd, "add") == 0) {
        char password[1024], hash[AUTH_PWHASH_MAX];
        int pr = read_password(password, sizeof password);
        if(pr) {
            fprintf(stderr, "kith user add: %s\n",
                    pr == -2 ? "the password must be at least 8 characters" : "no password on standard input");
            code = CLI_EXIT_USAGE;
            goto done;
        }
        rc = auth_password_hash(password, hash);
        memset(password, 0, sizeof password);
        store_account a = {.kind = "user", .name = (char *)username, .role = (char *)role, .org = (char *)org,
                           .practitioner = (char *)practitioner, .secret = hash, .created = (int64_t)time(NULL)};
        if(!rc) rc = store_account_put(s.c, &a);
        if(!rc) {
            cli_audit_operator(s.c, "user-add", 'C', username, role);
            printf("Added user %s (%s at Organization/%s)\n", username, role, org);
        }
    } else if(strcmp(cmd, "disable") == 0) {
        store_account a;
        rc = store_account_get(s.c, "user", arg, &a);
        if(rc == KITH_ENOTFOUND) {
            fprintf(stderr, "kith user disable: no user called '%s'\n", arg);
            code = CLI_EXIT_REJECTED;
            goto done;
        }
        char practitioner_id[72] = "", org_id[72] = "";
        if(!rc) {
            a.disabled = true;
            snprintf(practitioner_id, sizeof practitioner_id, "%s", a.practitioner ? a.practitioner : "");
            snprintf(org_id, sizeof org_id, "%s", a.org ? a.org : "");
            rc = store_account_put(s.c, &a);
            store_account_free(&a);
        }
        if(!rc) {
            cli_audit_operator(s.c, "user-disable", 'U', arg, NULL);
            printf("Disabled user %s\n", arg);
        }
        /* nobody's referrals wait on a leaver: their open Tasks go to their team's duty owner */
        long moved = 0;
        if(!rc && practitioner_id[0] && org_id[0]) {
            rc = care_reassign_leaver(s.c, practitioner_id, org_id, &moved);
            if(!rc && moved)
                printf("Moved %ld open task%s of Practitioner/%s to the team duty owner, Organization/%s\n", moved,
                       moved == 1 ? "" : "s", practitioner_id, org_id);
        }
    } else if(strcmp(cmd, "list") == 0) {
        printf("%-24s %-22s %-20s %-16s %s\n", "USER", "ROLE", "ORGANISATION", "PRACTITIONER", "STATE");
        rc = store_account_list(s.c, "user", print_user, NULL);
    } else {
        store_account a;
        rc = store_account_get(s.c, "user", arg, &a);
        if(rc == KITH_ENOTFOUND || (!rc && a.disabled)) {
            fprintf(stderr, "kith user token: no active user called '%s'\n", arg);
            if(!rc) store_account_free(&a);
            code = CLI_EXIT_REJECTED;
            goto done;
        }
        if(!rc) {
            const char *scopes = auth_user_scopes(a.role);
            char token[AUTH_TOKEN_MAX];
            rc = auth_token_issue(s.c, "user", arg, scopes, ttl, token);
            store_account_free(&a);
            if(!rc) {
                cli_audit_operator(s.c, "token-issue", 'E', arg, expires);
                printf("%s\n", token);
            }
        }
    }
    if(rc) {
        fprintf(stderr, "kith user %s: %s\n", cmd, kith_rc_name(rc));
        code = cli_exit_code(rc) == CLI_EXIT_OK ? CLI_EXIT_FAILED : CLI_EXIT_FAILED;
    }
done:
    store_close(s.st);
    return code;
}

int cli_client(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"scopes", required_argument, NULL, 's'},
        {"expires", required_argument, NULL, 'e'}, {"public-key", required_argument, NULL, 'k'},
        {"purpose", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *scopes = NULL, *expires = "1h", *key_file = NULL, *purpose = "direct-care";
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'd': db = optarg; break;
        case 's': scopes = optarg; break;
        case 'e': expires = optarg; break;
        case 'k': key_file = optarg; break;
        case 'p': purpose = optarg; break;
        case 'h': fputs(CLIENT_USAGE, stdout); return CLI_EXIT_OK;
        default: fputs(CLIENT_USAGE, stderr); return CLI_EXIT_USAGE;
        }
    }
    const char *cmd = optind < argc ? argv[optind] : NULL;
    const char *name = optind + 1 < argc ? argv[optind + 1] : NULL;
    if(!cmd || (strcmp(cmd, "list") != 0 && !name)) {
        fprintf(stderr, "kith client: say what to do and to which client\n\n%s", CLIENT_USAGE);
        return CLI_EXIT_USAGE;
    }
    if(strcmp(cmd, "add") != 0 && strcmp(cmd, "token") != 0 && strcmp(cmd, "list") != 0) {
        fprintf(stderr, "kith client: unknown command '%s'\n\n%s", cmd, CLIENT_USAGE);
        return CLI_EXIT_USAGE;
    }
    if(strcmp(purpose, "direct-care") != 0 && strcmp(purpose, "secondary-use") != 0 &&
       strcmp(purpose, "records-management") != 0) {
        fprintf(stderr, "kith client add: --purpose is direct-care, secondary-use or records-management, not '%s'\n",
                purpose);
        return CLI_EXIT_USAGE;
    }
    char bad[128];
    if(strcmp(cmd, "add") == 0 && (!scopes || !auth_scopes_valid(scopes, bad, sizeof bad))) {
        fprintf(stderr, "kith client add: --scopes wants SMART scopes such as 'system/*.cruds'%s%s\n",
                scopes ? "; not " : "", scopes ? bad : "");
        return CLI_EXIT_USAGE;
    }
    if(strcmp(cmd, "token") == 0 && scopes && !auth_scopes_valid(scopes, bad, sizeof bad)) {
        fprintf(stderr, "kith client token: '%s' is not a SMART scope\n", bad);
        return CLI_EXIT_USAGE;
    }
    int64_t ttl = parse_duration(expires);
    if(ttl < 0 || ttl > 86400) {
        fprintf(stderr, "kith client: --expires wants a duration up to a day, such as 5m or 1h\n");
        return CLI_EXIT_USAGE;
    }
    char *pem = NULL;
    if(key_file) {
        FILE *f = fopen(key_file, "r");
        if(!f) {
            fprintf(stderr, "kith client add: cannot read %s\n", key_file);
            return CLI_EXIT_FAILED;
        }
        char chunk[8192];
        size_t n = fread(chunk, 1, sizeof chunk - 1, f);
        fclose(f);
        chunk[n] = '\0';
        if(!strstr(chunk, "-----BEGIN PUBLIC KEY-----")) {
            fprintf(stderr, "kith client add: %s is not a PEM public key\n", key_file);
            return CLI_EXIT_USAGE;
        }
        pem = strdup(chunk);
    }
    cli_session s;
    int code = cli_open_db(db, &s, "client");
    if(code) {
        free(pem);
        return code;
    }
    kith_rc rc = KITH_OK;
    if(strcmp(cmd, "add") == 0) {
        store_account a = {.kind = "client", .name = (char *)name, .role = (char *)purpose, .scopes = (char *)scopes,
                           .public_key = pem, .created = (int64_t)time(NULL)};
        rc = store_account_put(s.c, &a);
        if(!rc) {
            cli_audit_operator(s.c, "client-add", 'C', name, scopes);
            printf("Added client %s (%s) with scopes %s\n", name, purpose, scopes);
        }
    } else if(strcmp(cmd, "list") == 0) {
        rc = store_account_list(s.c, "client", print_client, NULL);
    } else {
        store_account a;
        rc = store_account_get(s.c, "client", name, &a);
        if(rc == KITH_ENOTFOUND || (!rc && a.disabled)) {
            fprintf(stderr, "kith client token: no active client called '%s'\n", name);
            if(!rc) store_account_free(&a);
            code = CLI_EXIT_REJECTED;
            goto done;
        }
        if(!rc) {
            /* a token never grants more than the client was registered with */
            const char *grant = a.scopes ? a.scopes : "";
            if(scopes) {
                char wider[128];
                if(!auth_scopes_within(scopes, grant, wider, sizeof wider)) {
                    fprintf(stderr, "kith client token: %s asks for more than %s was registered with (%s)\n", wider,
                            name, grant);
                    code = CLI_EXIT_REJECTED;
                    store_account_free(&a);
                    goto done;
                }
                grant = scopes;
            }
            char token[AUTH_TOKEN_MAX];
            rc = auth_token_issue(s.c, "client", name, grant, ttl, token);
            store_account_free(&a);
            if(!rc) {
                cli_audit_operator(s.c, "token-issue", 'E', name, expires);
                printf("%s\n", token);
            }
        }
    }
    if(rc) {
        fprintf(stderr, "kith client %s: %s\n", cmd, kith_rc_name(rc));
        code = CLI_EXIT_FAILED;
    }
done:
    free(pem);
    store_close(s.st);
    return code;
}

static int print_access(void *ctx, const store_audit_entry *e) {
    (void)ctx;
    printf("%-26s %-40s %s %s\n", e->recorded, e->agent, e->action, e->outcome);
    return 0;
}

int cli_audit(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *db = NULL;
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'd': db = optarg; break;
        case 'h': fputs(AUDIT_USAGE, stdout); return CLI_EXIT_OK;
        default: fputs(AUDIT_USAGE, stderr); return CLI_EXIT_USAGE;
        }
    }
    const char *cmd = optind < argc ? argv[optind] : NULL;
    if(!cmd || (strcmp(cmd, "verify") != 0 && strcmp(cmd, "report") != 0) ||
       (strcmp(cmd, "report") == 0 && optind + 1 >= argc)) {
        fprintf(stderr, "kith audit: say verify, or report PATIENT_ID\n\n%s", AUDIT_USAGE);
        return CLI_EXIT_USAGE;
    }
    cli_session s;
    int code = cli_open_db(db, &s, "audit");
    if(code) return code;
    if(strcmp(cmd, "verify") == 0) {
        int64_t checked = 0, broken = 0;
        char msg[256];
        kith_rc rc = audit_verify(s.c, &checked, &broken, msg, sizeof msg);
        if(rc == KITH_OK) {
            printf("%s\n", msg);
        } else if(rc == KITH_EINVALID) {
            printf("BROKEN: %s (%lld entries before it are intact)\n", msg, (long long)checked);
            code = CLI_EXIT_REJECTED;
        } else {
            fprintf(stderr, "kith audit verify: %s\n", kith_rc_name(rc));
            code = CLI_EXIT_FAILED;
        }
    } else {
        const char *patient = argv[optind + 1];
        printf("%-26s %-40s %s %s\n", "WHEN", "WHO", "ACTION", "OUTCOME");
        store_audit_query q = {.patient = patient};
        kith_rc rc = store_audit_scan(s.c, &q, print_access, NULL);
        if(rc) {
            fprintf(stderr, "kith audit report: %s\n", kith_rc_name(rc));
            code = CLI_EXIT_FAILED;
        } else {
            cli_audit_operator(s.c, "access-report", 'R', NULL, patient);
        }
    }
    store_close(s.st);
    return code;
}
