/*
 * client.h — a tiny outgoing HTTP client (over libcurl), for the few times
 * Kith calls another system: Subscription notifications (src/care/
 * subscription.c). The only place above src/http/ that makes requests.
 *
 * Only http:// and https:// URLs are fetched; redirects are not followed;
 * the response body is read and thrown away (up to a cap). Thread-safe:
 * each call uses its own handle.
 */
#ifndef KITH_HTTP_CLIENT_H
#define KITH_HTTP_CLIENT_H
#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"

/* Longest URL http_post accepts. */
#define HTTP_CLIENT_MAX_URL 2048

/* True if url is an absolute http:// or https:// URL with a host, no longer
 * than HTTP_CLIENT_MAX_URL, without spaces or control characters. */
bool http_client_url_ok(const char *url);

/*
 * POST body[0..len) (len 0: an empty body) to url with the given request
 * headers, each "Name: value" (borrowed). Gives up after timeout_ms in all.
 * On KITH_OK *status is the HTTP status the server answered (any status:
 * deciding what counts as success is the caller's). KITH_EINVAL for a URL
 * http_client_url_ok refuses; KITH_EIO when no answer came (refused,
 * unresolvable, TLS failure, timeout), with the reason in err (if non-NULL).
 */
kith_rc http_post(const char *url, const char *const *headers, size_t nheaders, const char *body, size_t len,
                  int timeout_ms, int *status, char *err, size_t errlen);

#endif
