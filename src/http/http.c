/*
 * http.c — the HTTP server over libmicrohttpd (see http.h).
 *
 * MHD runs a pool of worker threads, each with its own epoll loop; a
 * request's callbacks all run on one worker, so per-thread resources (the
 * store connection) need no locking. For each request we gather the body
 * into a capped buf (request_ctx), call the handler once the body is
 * complete, then queue its response. /healthz and /metrics are answered
 * here; everything else goes to the handler.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/url.h"
#include "http/metrics.h"
#include "http/websocket.h"

struct http_server {
    struct MHD_Daemon *d;
    http_options opt;
    http_handler fn;
    void *ctx;
    int port;
};

typedef struct request_ctx {
    char *uri;    /* the raw request target, query included */
    bool started; /* headers seen, body being gathered */
    buf body;
    bool too_big;
    uint64_t t0;
    char request_id[40];
} request_ctx;

#define HTTP_MAX_URI (64 * 1024)
/* Memory for one connection's request line, headers and read buffer: room for a
 * URI of HTTP_MAX_URI and ordinary headers; a request whose headers do not fit
 * is refused by libmicrohttpd (431) without touching the handler. */
#define HTTP_CONN_MEMORY (160 * 1024)

static _Atomic uint64_t request_counter;
static _Atomic long in_flight; /* requests started and not yet completed */
static unsigned request_prefix;

const char *http_header_get(const http_request *req, const char *name) {
    if(req->conn) return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_HEADER_KIND, name);
    for(size_t i = 0; i < req->nheaders; i++)
        if(strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

const char *http_param_get(const http_request *req, const char *name) {
    for(size_t i = 0; i < req->nparams; i++)
        if(strcmp(req->params[i].name, name) == 0) return req->params[i].value;
    return NULL;
}

void http_response_header(http_response *res, const char *name, const char *value) {
    res->headers = xrealloc(res->headers, (res->nheaders + 1) * sizeof *res->headers);
    res->headers[res->nheaders].name = xstrdup(name);
    res->headers[res->nheaders].value = xstrdup(value);
    res->nheaders++;
}

struct http_file {
    int fd;        /* -1 once handed to MHD */
    uint64_t size;
};

kith_rc http_response_file(http_response *res, const char *path, const char *content_type) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if(fd < 0) return errno == ENOENT || errno == ELOOP ? KITH_ENOTFOUND : KITH_EIO;
    struct stat sb;
    if(fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return KITH_ENOTFOUND;
    }
    if(res->file && res->file->fd >= 0) close(res->file->fd);
    free(res->file);
    res->file = xcalloc(1, sizeof *res->file);
    res->file->fd = fd;
    res->file->size = (uint64_t)sb.st_size;
    res->status = 200;
    res->content_type = content_type;
    buf_reset(&res->body);
    return KITH_OK;
}

/* Split the raw query (after '?') into decoded parameters. */
void http_parse_query(const char *q, http_param **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if(!q || !*q) return;
    size_t cap = 0;
    const char *p = q;
    while(*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if(len) {
            char *pair = xstrndup(p, len);
            char *eq = strchr(pair, '=');
            char *v = eq ? eq + 1 : pair + len;
            if(eq) *eq = '\0';
            if(*n == cap) {
                cap = cap ? cap * 2 : 8;
                *out = xrealloc(*out, cap * sizeof **out);
            }
            url_decode(pair, true);
            url_decode(v, true);
            (*out)[*n].name = xstrdup(pair);
            (*out)[*n].value = xstrdup(v);
            (*n)++;
            free(pair);
        }
        if(!amp) break;
        p = amp + 1;
    }
}

void http_params_free(http_param *p, size_t n) {
    for(size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

static void log_request(const http_request *req, const http_response *res, uint64_t us, size_t bytes) {
    char ts[CLOCK_INSTANT_LEN];
    clock_instant_now(ts);
    buf b = BUF_INIT;
    buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"%s\",\"method\":\"",
               ts, req->request_id);
    buf_json_escape(&b, req->method);
    buf_puts(&b, "\",\"path\":\"");
    buf_json_escape(&b, req->path);
    buf_printf(&b, "\",\"route\":\"%s\",\"status\":%d,\"ms\":%.3f,\"bytes\":%zu}\n", res->route, res->status,
               (double)us / 1000.0, bytes);
    log_raw(b.data, b.len);
    buf_free(&b);
}

static void set_error(http_response *res, int status, const char *code, const char *msg) {
    res->status = status;
    res->content_type = "application/fhir+json";
    buf_reset(&res->body);
    buf_printf(&res->body,
               "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"%s\","
               "\"diagnostics\":\"",
               code);
    buf_json_escape(&res->body, msg);
    buf_puts(&res->body, "\"}]}");
}

/* Answer built-in routes; returns true if it did. */
static bool builtin(http_server *s, const http_request *req, http_response *res) {
    if(strcmp(req->path, "/healthz") == 0) {
        res->route = "healthz";
        res->status = 200;
        res->content_type = "application/json";
        buf_puts(&res->body, "{\"status\":\"ok\"}");
        return true;
    }
    if(strcmp(req->path, "/metrics") == 0) {
        res->route = "metrics";
        res->status = 200;
        res->content_type = "text/plain; version=0.0.4";
        metrics_write(&res->body);
        if(s->opt.metrics_extra) s->opt.metrics_extra(s->ctx, &res->body);
        return true;
    }
    return false;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, const http_request *req, http_response *res,
                                     request_ctx *rc) {
    struct MHD_Response *r = NULL;
    if(res->status == 101) { /* http_ws_accept said yes: hand the connection to the websocket hub */
        r = http_ws_response();
        if(!r) return MHD_NO;
    } else if(res->file) {
        r = MHD_create_response_from_fd64(res->file->size, res->file->fd);
        if(!r) return MHD_NO; /* the fd is closed by http_response_free */
        res->file->fd = -1;   /* MHD closes it */
    } else {
        size_t len = 0;
        char *body = buf_take(&res->body, &len);
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if(!r) {
            free(body);
            return MHD_NO;
        }
    }
    if(res->content_type) MHD_add_response_header(r, "Content-Type", res->content_type);
    MHD_add_response_header(r, "X-Request-Id", rc->request_id);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff"); /* bodies are data, never to be guessed at */
    for(size_t i = 0; i < res->nheaders; i++) MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    uint64_t us = clock_mono_us() - rc->t0;
    metrics_observe(res->route ? res->route : "other", req->method, res->status, us);
    return ok;
}

void http_response_free(http_response *res) {
    buf_free(&res->body);
    if(res->file && res->file->fd >= 0) close(res->file->fd);
    free(res->file);
    res->file = NULL;
    for(size_t i = 0; i < res->nheaders; i++) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
    free(res->headers);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    http_server *s = cls;
    request_ctx *rc = *con_cls;
    if(!rc) return MHD_NO; /* on_uri always makes one */
    if(!rc->started) {
        rc->started = true;
        atomic_fetch_add(&in_flight, 1);
        buf_init(&rc->body, s->opt.max_body);
        rc->t0 = clock_mono_us();
        const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        bool ok = given && strlen(given) < sizeof rc->request_id;
        for(const char *p = given; ok && *p; p++)
            if(!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') ok = false;
        if(ok)
            snprintf(rc->request_id, sizeof rc->request_id, "%s", given);
        else
            snprintf(rc->request_id, sizeof rc->request_id, "%08x-%012llx", request_prefix,
                     (unsigned long long)atomic_fetch_add(&request_counter, 1));
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if(cl && s->opt.max_body && strtoull(cl, NULL, 10) > s->opt.max_body) rc->too_big = true;
        return MHD_YES;
    }
    if(*upload_data_size) {
        if(!rc->too_big && buf_append(&rc->body, upload_data, *upload_data_size)) rc->too_big = true;
        *upload_data_size = 0;
        return MHD_YES;
    }

    /* The whole request is here. */
    http_request req = {0};
    http_response res = {0};
    char *path = xstrdup(rc->uri ? rc->uri : url);
    const char *raw_query = "";
    char *qmark = strchr(path, '?');
    if(qmark) {
        *qmark = '\0';
        raw_query = qmark + 1;
    }
    url_decode(path, false);
    req.method = method;
    req.path = path;
    req.conn = conn;
    req.request_id = rc->request_id;
    req.body = buf_str(&rc->body);
    req.body_len = rc->body.len;
    char base[300];
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    bool host_ok = host && *host && strlen(host) < 250;
    for(const char *h = host; host_ok && *h; h++)
        if(!isalnum((unsigned char)*h) && !strchr(".-:[]_", *h)) host_ok = false;
    snprintf(base, sizeof base, "%s://%s", s->opt.tls_cert_pem ? "https" : "http", host_ok ? host : "localhost");
    req.base_url = base;
    char peer[64] = "";
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if(ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if(sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, peer, sizeof peer);
        else if(sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, peer, sizeof peer);
    }
    req.client_address = peer;
    req.query = raw_query;
    http_parse_query(raw_query, &req.params, &req.nparams);
    res.body = (buf)BUF_INIT;
    res.route = "other";

    if(strlen(rc->uri ? rc->uri : url) > HTTP_MAX_URI) {
        res.route = "too_long";
        char msg[128];
        snprintf(msg, sizeof msg, "the request URI is longer than %d bytes: use POST _search for long searches",
                 HTTP_MAX_URI);
        set_error(&res, 414, "too-costly", msg);
    } else if(host && !host_ok) {
        res.route = "bad_request";
        set_error(&res, 400, "invalid", "the Host header is malformed");
    } else if(rc->too_big) {
        res.route = "too_large";
        char msg[128];
        snprintf(msg, sizeof msg, "request body is larger than the limit of %zu bytes", s->opt.max_body);
        set_error(&res, 413, "too-costly", msg);
    } else if(!builtin(s, &req, &res)) {
        s->fn(s->ctx, &req, &res);
        if(!res.status) set_error(&res, 500, "exception", "handler gave no response");
    }
    size_t bytes = res.file ? (size_t)res.file->size : res.body.len;
    enum MHD_Result ok = send_response(conn, &req, &res, rc);
    if(s->opt.log_requests) log_request(&req, &res, clock_mono_us() - rc->t0, bytes);
    http_response_free(&res);
    http_params_free(req.params, req.nparams);
    free(path);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    request_ctx *rc = *con_cls;
    if(!rc) return;
    if(rc->started) atomic_fetch_sub(&in_flight, 1);
    buf_free(&rc->body);
    free(rc->uri);
    free(rc);
    *con_cls = NULL;
}

/* Called first for every request with the raw target: keep it (MHD would
 * otherwise give us only the decoded path and pre-parsed arguments). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
    (void)cls;
    (void)conn;
    request_ctx *rc = xcalloc(1, sizeof *rc);
    rc->uri = xstrndup(uri, strnlen(uri, HTTP_MAX_URI + 1));
    return rc;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while(n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    log_event(LOG_WARN, msg, "\"component\":\"http\"");
}

kith_rc http_start(const http_options *opt, http_handler fn, void *ctx, http_server **out, char *err, size_t errlen) {
    *out = NULL;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)opt->port);
    if(inet_pton(AF_INET, opt->bind, &sin.sin_addr) != 1) {
        snprintf(err, errlen, "cannot bind to '%s': not an IPv4 address", opt->bind);
        return KITH_EINVAL;
    }
    request_prefix = (unsigned)getpid() ^ (unsigned)clock_mono_us();
    http_server *s = xcalloc(1, sizeof *s);
    s->opt = *opt;
    s->fn = fn;
    s->ctx = ctx;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    bool tls = opt->tls_cert_pem && opt->tls_key_pem;
    if(tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen, "this libmicrohttpd was built without TLS");
        free(s);
        return KITH_EUNSUPPORTED;
    }
    if(tls) flags |= MHD_USE_TLS;
    bool upgrade = MHD_is_feature_supported(MHD_FEATURE_UPGRADE) == MHD_YES;
    if(upgrade) flags |= MHD_ALLOW_UPGRADE;
    /* the same options either way, with the certificate and key added for TLS */
    s->d = tls ? MHD_start_daemon(flags, (uint16_t)opt->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                                  on_mhd_error, s, MHD_OPTION_HTTPS_MEM_CERT, opt->tls_cert_pem,
                                  MHD_OPTION_HTTPS_MEM_KEY, opt->tls_key_pem, MHD_OPTION_SOCK_ADDR, &sin,
                                  MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(opt->threads > 0 ? opt->threads : 4),
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_CONNECTION_LIMIT,
                                  (unsigned)1000, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
                                  MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END)
              : MHD_start_daemon(flags, (uint16_t)opt->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                                 on_mhd_error, s, MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_THREAD_POOL_SIZE,
                                 (unsigned)(opt->threads > 0 ? opt->threads : 4), MHD_OPTION_NOTIFY_COMPLETED,
                                 on_completed, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)1000, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
                                 MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if(!s->d) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not permitted%s)", opt->bind, opt->port,
                 tls ? ", or the TLS certificate or key is unusable" : "");
        free(s);
        return KITH_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : opt->port;
    if(upgrade) http_ws_start(); /* the websocket channel of Subscriptions */
    *out = s;
    return KITH_OK;
}

void http_stop(http_server *s) {
    if(!s) return;
    /* Stop accepting, then give requests in flight up to 10 s to finish
     * (idle keep-alive connections do not count) before closing. */
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    if(fd != MHD_INVALID_SOCKET) close(fd);
    http_ws_stop(); /* open websockets count as requests in flight until closed */
    for(int i = 0; i < 1000 && atomic_load(&in_flight) > 0; i++) usleep(10000);
    MHD_stop_daemon(s->d);
    free(s);
}

int http_port(http_server *s) {
    return s->port;
}
