/*
 * http.h — Kith's HTTP server. The only module that sees libmicrohttpd.
 *
 * The server reads a whole request (body capped at http_options.max_body,
 * 413 beyond), hands it to one handler function, sends what the handler put
 * in the response, records metrics and writes one JSON log line per request
 * with its request id (also sent back as X-Request-Id). Handlers run on the
 * server's worker threads, several at once: they must be thread-safe.
 */
#ifndef KITH_HTTP_H
#define KITH_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"

typedef struct http_param {
    char *name;  /* percent-decoded */
    char *value; /* percent-decoded */
} http_param;

typedef struct http_header {
    char *name, *value;
} http_header;

typedef struct http_request {
    const char *method;
    const char *path;   /* percent-decoded path without the query */
    const char *query;  /* raw query string as sent, "" when none */
    http_param *params; /* query parameters in order, repeats kept */
    size_t nparams;
    const char *body;   /* NUL-terminated; "" when none */
    size_t body_len;
    const char *request_id;
    const char *base_url; /* e.g. "http://localhost:8080" from the Host header */
    const char *client_address; /* the peer's IP address, "" when not known */
    void *conn;           /* opaque; NULL for a request made inside Kith (a Bundle entry) */
    const http_header *headers; /* headers of a request made inside Kith (conn NULL) */
    size_t nheaders;
} http_request;

typedef struct http_file http_file; /* an open file to send as the body */

typedef struct http_response {
    int status;
    const char *content_type; /* static string */
    buf body;
    http_header *headers; /* owned */
    size_t nheaders;
    const char *route; /* static label for metrics, e.g. "fhir.read" */
    http_file *file;   /* owned; set by http_response_file: sent instead of body */
} http_response;

/* A request header (case-insensitive) or NULL. Borrowed. */
const char *http_header_get(const http_request *req, const char *name);
/* First query parameter called name, or NULL. Borrowed. */
const char *http_param_get(const http_request *req, const char *name);
/* Split a raw query string into decoded parameters (caller frees with
 * http_params_free). */
void http_parse_query(const char *query, http_param **out, size_t *n);
void http_params_free(http_param *p, size_t n);
/* Free what a response owns (body and headers). */
void http_response_free(http_response *res);
/* Add a response header; name and value are copied. */
void http_response_header(http_response *res, const char *name, const char *value);
/* Send the regular file at path as the body (streamed from disk, never
 * read into memory), with status 200 and content_type (static). The file is
 * opened now, so it may be unlinked afterwards. KITH_ENOTFOUND if it does
 * not exist or is not a regular file, KITH_EIO if it cannot be opened;
 * the response is unchanged then. */
kith_rc http_response_file(http_response *res, const char *path, const char *content_type);

typedef void (*http_handler)(void *ctx, const http_request *req, http_response *res);
/* Extra text appended to /metrics (e.g. store timings); append to out. */
typedef void (*http_metrics_fn)(void *ctx, buf *out);

typedef struct http_options {
    const char *bind;     /* address, e.g. "127.0.0.1" */
    int port;
    int threads;
    size_t max_body;      /* bytes */
    bool log_requests;    /* one JSON line per request on stderr */
    http_metrics_fn metrics_extra;
    const char *tls_cert_pem; /* serve HTTPS with this certificate chain (PEM text), or NULL for HTTP */
    const char *tls_key_pem;  /* and its private key (PEM text) */
} http_options;

typedef struct http_server http_server;

/* Start serving in background threads. Caller stops with http_stop. */
kith_rc http_start(const http_options *opt, http_handler fn, void *ctx, http_server **out, char *err, size_t errlen);
/* Stop accepting, let in-flight requests finish, free the server. */
void http_stop(http_server *s);
/* The port actually bound (useful with port 0). */
int http_port(http_server *s);

#endif
