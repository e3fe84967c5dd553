/*
 * serve.c — `kith serve`: open the store, start the HTTP server with the
 * FHIR API, wait for SIGTERM/SIGINT, then stop cleanly (in-flight requests
 * finish, connections close, the database is closed).
 */
#include <getopt.h>
#include <limits.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "care/care.h"
#include "care/subscription.h"
#include "cli/cli.h"
#include "fhir/bulk.h"
#include "fhir/record.h"
#include "fhir/rest.h"
#include "http/http.h"
#include "store/store.h"
#include "web/static.h"

static const char USAGE[] =
    "Usage: kith serve [OPTIONS]\n"
    "\n"
    "Serve the staff web interface at / (docs/web.md) and the FHIR R4 API at /fhir,\n"
    "with /healthz, /readyz and /metrics.\n"
    "\n"
    "Options (environment variable in brackets):\n"
    "  --db PATH|URL      SQLite database file, created if missing, or a postgresql:// URL\n"
    "                     (docs/scaling.md) [KITH_DB] (default kith.db)\n"
    "  --port N           TCP port [KITH_PORT] (default 8080; 0 picks a free port)\n"
    "  --bind ADDR        IPv4 address to listen on [KITH_BIND] (default 127.0.0.1)\n"
    "  --threads N        worker threads [KITH_THREADS] (default: 8 per CPU, at most 64); writes that\n"
    "                     arrive together share one durable commit, so more threads help under load\n"
    "  --db-connections N the database connection pool: at most N open at once (at least 3), shared\n"
    "                     by the worker threads (each takes one for a request and gives it back) and\n"
    "                     the background work (the audit and Subscription threads keep one each; a\n"
    "                     bulk export holds one while it runs); a request that finds none free waits\n"
    "                     up to 10 s, then gets 503 [KITH_DB_CONNECTIONS] (default: threads + 8)\n"
    "  --max-body BYTES   largest request body accepted, else 413 [KITH_MAX_BODY] (default 16777216)\n"
    "  --sync MODE        full: every write is on disk before it is acknowledged (default);\n"
    "                     normal: survives a crash of kith but not of the machine [KITH_SYNC]\n"
    "  --export-dir DIR   where bulk $export jobs write their NDJSON files, one\n"
    "                     subdirectory per job [KITH_EXPORT_DIR] (default ./kith-exports)\n"
    "  --tls-cert FILE    serve HTTPS with this PEM certificate (chain) [KITH_TLS_CERT];\n"
    "  --tls-key FILE     and this PEM private key [KITH_TLS_KEY]. Session cookies are then Secure.\n"
    "  --escalate-every S check for overdue referrals every S seconds and escalate them\n"
    "                     (business status, a Flag, a message to the team) [KITH_ESCALATE_SECONDS]\n"
    "                     (default 300; 0 turns the sweep off: POST /fhir/Task/$escalate still runs it)\n"
    "  --cache-mb N       SQLite page cache of each worker's connection, in MiB [KITH_CACHE_MB]\n"
    "                     (default 16; more keeps a large place's indexes in memory)\n"
    "  --web DIR          the staff web interface's files, served at / [KITH_WEB_DIR] (default: the\n"
    "                     web/ directory beside bin/); the NHS.UK frontend comes from\n"
    "                     DIR/../node_modules/nhsuk-frontend/dist/nhsuk [KITH_NHSUK_DIR]. --web none: no web interface\n"
    "  --reports DIR      the report `kith report --out DIR` published, shown on the web interface's\n"
    "                     dashboards [KITH_REPORTS_DIR] (default: DB.report beside a SQLite DB, if there)\n"
    "  --quiet            no per-request log lines [KITH_QUIET=1]\n"
    "  -h, --help         show this help\n"
    "\n"
    "Every /fhir request but GET /fhir/metadata needs a bearer token (kith user token,\n"
    "kith client token) or a web session (POST /auth/login); every access is audited.\n"
    "\n"
    "Logs are JSON lines on standard error, one per request with its request id\n"
    "(also sent back in the X-Request-Id header). SIGTERM or Ctrl-C stops the\n"
    "server after in-flight requests finish.\n"
    "\n"
    "KITH_NOW (a FHIR dateTime) fixes \"now\" for referral clocks and escalation, so\n"
    "tests and demonstrations can move time; unset, the real time is used.\n";

static void store_metrics(void *ctx, buf *out) {
    fhir_rest *api = ctx;
    store_stats s;
    store_get_stats(api->st, &s);
    buf_puts(out, "# HELP kith_store_calls_total Store calls by kind.\n# TYPE kith_store_calls_total counter\n");
    buf_printf(out, "kith_store_calls_total{kind=\"read\"} %llu\n", (unsigned long long)s.reads);
    buf_printf(out, "kith_store_calls_total{kind=\"write\"} %llu\n", (unsigned long long)s.writes);
    buf_printf(out, "kith_store_calls_total{kind=\"commit\"} %llu\n", (unsigned long long)s.commits);
    buf_printf(out, "kith_store_calls_total{kind=\"search\"} %llu\n", (unsigned long long)s.searches);
    buf_puts(out, "# HELP kith_store_seconds_total Time spent in store calls by kind.\n"
                  "# TYPE kith_store_seconds_total counter\n");
    buf_printf(out, "kith_store_seconds_total{kind=\"read\"} %.6f\n", (double)s.read_us / 1e6);
    buf_printf(out, "kith_store_seconds_total{kind=\"write\"} %.6f\n", (double)s.write_us / 1e6);
    buf_printf(out, "kith_store_seconds_total{kind=\"commit\"} %.6f\n", (double)s.commit_us / 1e6);
    buf_printf(out, "kith_store_seconds_total{kind=\"search\"} %.6f\n", (double)s.search_us / 1e6);
    buf_printf(out, "# HELP kith_store_group_commits_total Transactions that carried several writes at once.\n"
                    "# TYPE kith_store_group_commits_total counter\nkith_store_group_commits_total %llu\n"
                    "# HELP kith_store_grouped_writes_total Writes carried by group commits.\n"
                    "# TYPE kith_store_grouped_writes_total counter\nkith_store_grouped_writes_total %llu\n",
               (unsigned long long)s.groups, (unsigned long long)s.grouped_jobs);
    buf_printf(out, "# HELP kith_store_connections Database connections open (the pool), in use or idle.\n"
                    "# TYPE kith_store_connections gauge\nkith_store_connections{state=\"in_use\"} %zu\n"
                    "kith_store_connections{state=\"idle\"} %zu\n"
                    "# HELP kith_store_connections_max The pool's limit (--db-connections).\n"
                    "# TYPE kith_store_connections_max gauge\nkith_store_connections_max %zu\n"
                    "# HELP kith_store_pool_waits_total Times a thread found no free connection and waited.\n"
                    "# TYPE kith_store_pool_waits_total counter\nkith_store_pool_waits_total %llu\n",
               s.connections - s.idle_connections, s.idle_connections, s.max_connections,
               (unsigned long long)s.pool_waits);
    care_subs_metrics(api->subs, out);
}

/* A small file's contents (NUL-terminated; caller frees), or NULL. */
static char *read_small_file(const char *path) {
    FILE *f = fopen(path, "r");
    if(!f) return NULL;
    char *text = calloc(1, 1 << 20);
    size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if(text && n == 0) {
        free(text);
        return NULL;
    }
    return text;
}

static bool parse_int(const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if(!s[0] || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Another process sharing the database wrote something: Subscriptions load
 * here too, and this process's websocket clients hear of the write. */
static void subscription_written_elsewhere(void *ctx, const char *type, const char *id) {
    care_subs_written_elsewhere(ctx, type, id);
}

static bool is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Where the web interface's files are: --web, KITH_WEB_DIR, or web/ beside
 * the directory of the kith binary (bin/../web). A directory named outright
 * must exist; the default may be absent (then there is no web interface). */
static bool find_web_files(const char *flag, char web_dir[PATH_MAX], char nhsuk_dir[PATH_MAX], web_files *out) {
    const char *dir = cli_setting(flag, "KITH_WEB_DIR", NULL);
    if(dir && strcmp(dir, "none") == 0) return true;
    if(dir) {
        if(!is_dir(dir) || !realpath(dir, web_dir)) {
            fprintf(stderr, "kith serve: --web %s is not a directory\n", dir);
            return false;
        }
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if(n <= 0) return true;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if(!slash) return true;
        *slash = '\0';
        char guess[PATH_MAX + 8];
        snprintf(guess, sizeof guess, "%s/../web", exe);
        if(!is_dir(guess) || !realpath(guess, web_dir)) return true;
    }
    out->app_dir = web_dir;
    const char *nhsuk = getenv("KITH_NHSUK_DIR");
    char guess[PATH_MAX + 64];
    if(!nhsuk || !*nhsuk) {
        snprintf(guess, sizeof guess, "%s/../node_modules/nhsuk-frontend/dist/nhsuk", web_dir);
        nhsuk = guess;
    }
    if(is_dir(nhsuk) && realpath(nhsuk, nhsuk_dir)) out->nhsuk_dir = nhsuk_dir;
    else log_event(LOG_WARN, "the NHS.UK frontend is missing: pages will have no styles (npm ci)", NULL);
    return true;
}

/* The published report: --reports, KITH_REPORTS_DIR, or DB.report beside a
 * SQLite database when that directory exists. */
static bool find_reports(const char *flag, const char *db, char dir[PATH_MAX], web_files *out) {
    const char *named = cli_setting(flag, "KITH_REPORTS_DIR", NULL);
    char guess[PATH_MAX];
    if(named) {
        if(!is_dir(named) || !realpath(named, dir)) {
            fprintf(stderr, "kith serve: --reports %s is not a directory\n", named);
            return false;
        }
    } else {
        if(strstr(db, "://") || snprintf(guess, sizeof guess, "%s.report", db) >= (int)sizeof guess) return true;
        if(!is_dir(guess) || !realpath(guess, dir)) return true;
    }
    out->reports_dir = dir;
    return true;
}

int cli_serve(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},    {"threads", required_argument, NULL, 't'},
        {"max-body", required_argument, NULL, 'm'}, {"sync", required_argument, NULL, 's'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {"export-dir", required_argument, NULL, 'e'},
        {"tls-cert", required_argument, NULL, 'C'}, {"tls-key", required_argument, NULL, 'K'},
        {"escalate-every", required_argument, NULL, 'E'}, {"cache-mb", required_argument, NULL, 'M'},
        {"web", required_argument, NULL, 'W'},     {"reports", required_argument, NULL, 'R'},
        {"db-connections", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *port_s = NULL, *bind = NULL, *threads_s = NULL, *max_s = NULL, *sync_s = NULL;
    const char *export_dir = NULL, *tls_cert = NULL, *tls_key = NULL, *escalate_s = NULL, *cache_s = NULL;
    const char *web_s = NULL, *reports_s = NULL, *pool_s = NULL;
    bool quiet = false;
    int ch;
    optind = 1;
    while((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch(ch) {
        case 'd': db = optarg; break;
        case 'p': port_s = optarg; break;
        case 'b': bind = optarg; break;
        case 't': threads_s = optarg; break;
        case 'm': max_s = optarg; break;
        case 's': sync_s = optarg; break;
        case 'q': quiet = true; break;
        case 'e': export_dir = optarg; break;
        case 'C': tls_cert = optarg; break;
        case 'K': tls_key = optarg; break;
        case 'E': escalate_s = optarg; break;
        case 'M': cache_s = optarg; break;
        case 'W': web_s = optarg; break;
        case 'R': reports_s = optarg; break;
        case 'P': pool_s = optarg; break;
        case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
        default: fputs(USAGE, stderr); return CLI_EXIT_USAGE;
        }
    }
    if(optind < argc) {
        fprintf(stderr, "kith serve: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    db = cli_setting(db, "KITH_DB", "kith.db");
    long port, threads, max_body;
    if(!parse_int(cli_setting(port_s, "KITH_PORT", "8080"), 0, 65535, &port)) {
        fprintf(stderr, "kith serve: --port must be 0-65535\n");
        return CLI_EXIT_USAGE;
    }
    char ncpu[24];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(ncpu, sizeof ncpu, "%ld", cpus < 1 ? 8 : cpus * 8 > 64 ? 64 : cpus * 8);
    if(!parse_int(cli_setting(threads_s, "KITH_THREADS", ncpu), 1, 256, &threads)) {
        fprintf(stderr, "kith serve: --threads must be 1-256\n");
        return CLI_EXIT_USAGE;
    }
    if(!parse_int(cli_setting(max_s, "KITH_MAX_BODY", "16777216"), 1024, 1L << 30, &max_body)) {
        fprintf(stderr, "kith serve: --max-body must be 1024 to 1073741824 bytes\n");
        return CLI_EXIT_USAGE;
    }
    long escalate_every;
    if(!parse_int(cli_setting(escalate_s, "KITH_ESCALATE_SECONDS", "300"), 0, 86400, &escalate_every)) {
        fprintf(stderr, "kith serve: --escalate-every must be 0-86400 seconds\n");
        return CLI_EXIT_USAGE;
    }
    long pool;
    char pool_default[24];
    snprintf(pool_default, sizeof pool_default, "%ld", threads + 8);
    if(!parse_int(cli_setting(pool_s, "KITH_DB_CONNECTIONS", pool_default), 3, 1024, &pool)) {
        fprintf(stderr, "kith serve: --db-connections must be 3-1024\n");
        return CLI_EXIT_USAGE;
    }
    long cache_mb;
    if(!parse_int(cli_setting(cache_s, "KITH_CACHE_MB", "16"), 1, 4096, &cache_mb)) {
        fprintf(stderr, "kith serve: --cache-mb must be 1-4096\n");
        return CLI_EXIT_USAGE;
    }
    sync_s = cli_setting(sync_s, "KITH_SYNC", "full");
    if(strcmp(sync_s, "full") != 0 && strcmp(sync_s, "normal") != 0) {
        fprintf(stderr, "kith serve: --sync must be full or normal\n");
        return CLI_EXIT_USAGE;
    }
    const char *q = getenv("KITH_QUIET");
    if(q && strcmp(q, "1") == 0) quiet = true;
    bind = cli_setting(bind, "KITH_BIND", "127.0.0.1");
    export_dir = cli_setting(export_dir, "KITH_EXPORT_DIR", BULK_DEFAULT_DIR);
    if(!*export_dir) {
        fprintf(stderr, "kith serve: --export-dir must name a directory\n");
        return CLI_EXIT_USAGE;
    }

    char web_dir[PATH_MAX], nhsuk_dir[PATH_MAX];
    web_files web = {0};
    if(!find_web_files(web_s, web_dir, nhsuk_dir, &web)) return CLI_EXIT_USAGE;
    char reports_dir[PATH_MAX];
    if(!find_reports(reports_s, db, reports_dir, &web)) return CLI_EXIT_USAGE;

    char err[512];
    store *st = NULL;
    store_options so = {.durable_full = strcmp(sync_s, "full") == 0, .cache_mb = (int)cache_mb,
                        .max_connections = (int)pool};
    kith_rc rc = store_open(db, &so, &st, err, sizeof err);
    if(rc) {
        fprintf(stderr, "kith serve: %s\n", err);
        return cli_exit_code(rc) == CLI_EXIT_OK ? CLI_EXIT_FAILED : CLI_EXIT_FAILED;
    }
    store_conn *main_conn = store_conn_for_thread(st);
    if(main_conn && record_reindex_needed(main_conn)) {
        log_event(LOG_INFO, "rebuilding the search index after an upgrade", NULL);
        long n = 0;
        rc = record_reindex(main_conn, NULL, NULL, &n);
        if(rc) {
            fprintf(stderr, "kith serve: rebuilding the search index failed: %s\n", kith_rc_name(rc));
            store_close(st);
            return CLI_EXIT_FAILED;
        }
        log_event(LOG_INFO, "search index rebuilt", "\"resources\":%ld", n);
    }
    store_thread_release(st);
    /* Block the stop signals in every thread; main waits for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    tls_cert = cli_setting(tls_cert, "KITH_TLS_CERT", NULL);
    tls_key = cli_setting(tls_key, "KITH_TLS_KEY", NULL);
    char *cert_pem = NULL, *key_pem = NULL;
    if((tls_cert != NULL) != (tls_key != NULL)) {
        fprintf(stderr, "kith serve: TLS needs both --tls-cert and --tls-key\n");
        store_close(st);
        return CLI_EXIT_USAGE;
    }
    if(tls_cert) {
        cert_pem = read_small_file(tls_cert);
        key_pem = read_small_file(tls_key);
        if(!cert_pem || !key_pem || !strstr(cert_pem, "-----BEGIN") || !strstr(key_pem, "-----BEGIN")) {
            fprintf(stderr, "kith serve: cannot read a PEM certificate from %s and key from %s\n", tls_cert, tls_key);
            free(cert_pem);
            free(key_pem);
            store_close(st);
            return CLI_EXIT_FAILED;
        }
    }
    if(auth_init()) {
        fprintf(stderr, "kith serve: cannot initialise libsodium\n");
        store_close(st);
        return CLI_EXIT_FAILED;
    }
    auth_cache *auth = auth_cache_new();
    audit_log *audit = audit_open(st);
    fhir_rest api = {.st = st, .version = KITH_VERSION, .auth = auth, .audit = audit, .tls = cert_pem != NULL,
                    .web = &web};
    api.subs = care_subs_start(st);
    care_set_subscriptions(api.subs); /* referrals, escalations and follow-ups notify too */
    /* Several `kith serve` on one PostgreSQL database: each delivers the
     * notifications of its own writes, and all must know every Subscription. */
    store_watch(st, subscription_written_elsewhere, api.subs);
    care_sweeper *sweeper = care_sweeper_start(st, (int)escalate_every);
    bulk_configure(export_dir);
    http_options ho = {
        .bind = bind,
        .port = (int)port,
        .threads = (int)threads,
        .max_body = (size_t)max_body,
        .log_requests = !quiet,
        .metrics_extra = store_metrics,
        .tls_cert_pem = cert_pem,
        .tls_key_pem = key_pem,
    };
    http_server *srv = NULL;
    rc = http_start(&ho, fhir_rest_handle, &api, &srv, err, sizeof err);
    if(rc) {
        fprintf(stderr, "kith serve: %s\n", err);
        care_sweeper_stop(sweeper);
        store_watch(st, NULL, NULL);
        care_subs_stop(api.subs);
        bulk_shutdown();
        audit_close(audit);
        auth_cache_free(auth);
        store_close(st);
        return CLI_EXIT_FAILED;
    }
    char db_shown[1024];
    store_url_for_log(db, db_shown, sizeof db_shown); /* never a database password in the log */
    log_event(LOG_INFO, "serving", "\"url\":\"%s://%s:%d/\",\"db\":\"%s\",\"threads\":%ld,\"db_connections\":%ld",
              cert_pem ? "https" : "http", bind, http_port(srv), db_shown, threads, pool);
    int sig = 0;
    sigwait(&stop, &sig);
    log_event(LOG_INFO, "stopping", "\"signal\":%d", sig);
    http_stop(srv);
    care_sweeper_stop(sweeper);
    store_watch(st, NULL, NULL); /* before the Subscriptions it feeds go */
    care_subs_stop(api.subs); /* its thread holds a store connection */
    bulk_shutdown(); /* export workers hold store connections */
    audit_close(audit); /* writes what is still queued */
    auth_cache_free(auth);
    store_close(st);
    if(key_pem) memset(key_pem, 0, strlen(key_pem));
    free(cert_pem);
    free(key_pem);
    log_event(LOG_INFO, "stopped", NULL);
    return CLI_EXIT_OK;
}
