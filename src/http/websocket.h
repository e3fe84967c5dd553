/*
 * websocket.h — server-side WebSockets (RFC 6455) over libmicrohttpd's
 * connection upgrade, as a small publish/subscribe hub: a client connection
 * sends text messages, the application answers them and may bind the
 * connection to topics; anyone may then publish a text message to a topic.
 * Kith uses it for the FHIR R4 websocket Subscription channel (topic = a
 * Subscription id; see src/care/subscription.c), so nothing but short
 * control text ever travels on it.
 *
 * The pieces, and who calls them:
 *   http.c     http_ws_start() after the daemon starts (with MHD_ALLOW_UPGRADE),
 *              http_ws_stop() in http_stop before waiting for requests in flight,
 *              http_ws_response() in send_response for a status 101 answer.
 *   a handler  http_ws_accept() for the websocket route, after authentication.
 *   the app    http_ws_set_handler(), and in the handler http_ws_send() and
 *              http_ws_bind(); http_ws_publish() from any thread.
 *
 * Threading: one hub thread reads every upgraded connection (poll) and calls
 * the message handler; publishing and sending lock one connection at a time
 * and never block (a client that cannot take a frame at once is dropped).
 * One hub per process.
 */
#ifndef KITH_HTTP_WEBSOCKET_H
#define KITH_HTTP_WEBSOCKET_H
#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"
#include "http/http.h"

#define HTTP_WS_MAX_CONNECTIONS 1000 /* open websockets; more are refused with 503 */
#define HTTP_WS_MAX_MESSAGE 1024     /* bytes of one message from a client; longer closes it (1009) */
#define HTTP_WS_MAX_TOPICS 32        /* topics one connection may be bound to */
#define HTTP_WS_MAX_TOPIC 72         /* bytes of a topic name, NUL included */

typedef struct http_ws_conn http_ws_conn; /* an open websocket (borrowed, valid during a handler call) */

/* A text message from a client (not NUL-terminated; at most
 * HTTP_WS_MAX_MESSAGE bytes). Runs on the hub thread. */
typedef void (*http_ws_message_fn)(void *ctx, http_ws_conn *c, const char *text, size_t len);

/* Start the hub thread. KITH_OK also when it already runs. */
kith_rc http_ws_start(void);
/* Close every websocket (status 1001, going away) and stop the hub thread. */
void http_ws_stop(void);
/* True while the hub runs (the server can take websockets). */
bool http_ws_running(void);

/* Set (fn non-NULL) or clear the message handler. Clearing waits for a
 * handler call in progress to return. Messages with no handler are answered
 * with "error no handler". */
void http_ws_set_handler(http_ws_message_fn fn, void *ctx);

/*
 * If req is a websocket opening handshake (GET, Upgrade: websocket,
 * Connection: Upgrade, Sec-WebSocket-Version: 13, a Sec-WebSocket-Key, and
 * any Origin naming this server), make res the 101 answer (status and
 * headers; http.c sends a 101 with http_ws_response) and return 101.
 * Otherwise return the status to refuse with: 400 (malformed), 403 (another
 * site's page), 426 (not a websocket handshake, or another version: an
 * Upgrade or Sec-WebSocket-Version header is added to res), 503 (hub not
 * running or full), with the reason in msg; the caller writes the body.
 */
int http_ws_accept(const http_request *req, http_response *res, char *msg, size_t msglen);

struct MHD_Response;
/* For http.c: the libmicrohttpd response that hands the connection to the
 * hub (caller destroys it as usual). NULL when out of memory. */
struct MHD_Response *http_ws_response(void);

/* In a handler call: send text to c. KITH_EIO when the client is gone. */
kith_rc http_ws_send(http_ws_conn *c, const char *text);
/* In a handler call: bind c to topic (at most HTTP_WS_MAX_TOPICS each).
 * KITH_ETOOBIG when c has as many as it may, KITH_EINVAL for a topic too long. */
kith_rc http_ws_bind(http_ws_conn *c, const char *topic);

/* Send text to every connection bound to topic (any thread). Returns how
 * many it went to. */
size_t http_ws_publish(const char *topic, const char *text);

#endif
