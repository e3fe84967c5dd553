/*
 * websocket.c — the websocket hub (see websocket.h).
 *
 * A connection arrives through http_ws_accept (the handshake answer, on an
 * HTTP worker), then libmicrohttpd calls `upgraded` with the raw socket once
 * the 101 has gone out. From then on the hub owns it: one thread polls every
 * socket and a wake-up eventfd, reads frames (client frames must be masked;
 * only unfragmented text frames of at most HTTP_WS_MAX_MESSAGE bytes, ping
 * and close are accepted: Kith's messages are a few words), and hands each
 * text message to the handler. Sockets are non-blocking; a send that cannot
 * complete at once marks the connection dead rather than wait on a client.
 * Only the hub thread removes connections (under hub.mu, which publishers
 * hold while they walk the list) and closes them through
 * MHD_upgrade_action, as libmicrohttpd requires.
 *
 * Locks: hub.mu (the list, the running flags) before a connection's mu (its
 * sends, topics and dead flag); hub.handler_mu is held while a handler runs
 * and is never taken under the others.
 */
#include "http/websocket.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define IN_CAP (4 * HTTP_WS_MAX_MESSAGE) /* bytes read but not yet parsed, per connection */
#define OUT_MAX 4096                     /* bytes of one frame Kith sends */

enum { OP_CONT = 0x0, OP_TEXT = 0x1, OP_BINARY = 0x2, OP_CLOSE = 0x8, OP_PING = 0x9, OP_PONG = 0xA };

struct http_ws_conn {
    int sock;
    struct MHD_UpgradeResponseHandle *urh;
    pthread_mutex_t mu; /* sends, topics, dead */
    bool dead;
    bool fresh;         /* just upgraded: bytes that came with the handshake wait in `in` */
    char in[IN_CAP];    /* hub thread only */
    size_t inlen;
    char topics[HTTP_WS_MAX_TOPICS][HTTP_WS_MAX_TOPIC];
    size_t ntopics;
};

static struct {
    pthread_mutex_t mu;
    http_ws_conn *conns[HTTP_WS_MAX_CONNECTIONS];
    size_t n;
    bool running, stopping;
    int wake; /* eventfd */
    pthread_t thread;
    pthread_mutex_t handler_mu;
    http_ws_message_fn fn;
    void *ctx;
} hub = {.mu = PTHREAD_MUTEX_INITIALIZER, .handler_mu = PTHREAD_MUTEX_INITIALIZER, .wake = -1};

static void wake_hub(void) {
    uint64_t one = 1;
    if(hub.wake >= 0 && write(hub.wake, &one, sizeof one) < 0) { /* already pending: fine */
    }
}

/* ---- sending ---------------------------------------------------------------- */

/* Send one unfragmented frame; c->mu held. Marks c dead when it cannot. */
static kith_rc send_frame_locked(http_ws_conn *c, int op, const char *payload, size_t len) {
    if(c->dead) return KITH_EIO;
    if(len > OUT_MAX) return KITH_EINVAL;
    unsigned char frame[OUT_MAX + 4];
    size_t h = 0;
    frame[h++] = (unsigned char)(0x80 | op);
    if(len < 126) {
        frame[h++] = (unsigned char)len;
    } else {
        frame[h++] = 126;
        frame[h++] = (unsigned char)(len >> 8);
        frame[h++] = (unsigned char)(len & 0xff);
    }
    memcpy(frame + h, payload, len);
    size_t total = h + len, sent = 0;
    while(sent < total) {
        ssize_t r = send(c->sock, frame + sent, total - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if(r < 0 && errno == EINTR) continue;
        if(r <= 0) {
            c->dead = true; /* gone, or too slow to take a few bytes: drop it */
            wake_hub();
            return KITH_EIO;
        }
        sent += (size_t)r;
    }
    return KITH_OK;
}

static kith_rc send_frame(http_ws_conn *c, int op, const char *payload, size_t len) {
    pthread_mutex_lock(&c->mu);
    kith_rc rc = send_frame_locked(c, op, payload, len);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* Send a close frame with code (and end the connection). */
static void close_with(http_ws_conn *c, unsigned code) {
    char p[2] = {(char)(code >> 8), (char)(code & 0xff)};
    pthread_mutex_lock(&c->mu);
    send_frame_locked(c, OP_CLOSE, p, 2);
    c->dead = true;
    pthread_mutex_unlock(&c->mu);
}

kith_rc http_ws_send(http_ws_conn *c, const char *text) {
    return send_frame(c, OP_TEXT, text, strlen(text));
}

kith_rc http_ws_bind(http_ws_conn *c, const char *topic) {
    size_t n = strlen(topic);
    if(n == 0 || n >= HTTP_WS_MAX_TOPIC) return KITH_EINVAL;
    kith_rc rc = KITH_OK;
    pthread_mutex_lock(&c->mu);
    bool have = false;
    for(size_t i = 0; i < c->ntopics && !have; i++) have = strcmp(c->topics[i], topic) == 0;
    if(!have) {
        if(c->ntopics == HTTP_WS_MAX_TOPICS)
            rc = KITH_ETOOBIG;
        else
            memcpy(c->topics[c->ntopics++], topic, n + 1);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

size_t http_ws_publish(const char *topic, const char *text) {
    size_t sent = 0, len = strlen(text);
    pthread_mutex_lock(&hub.mu);
    for(size_t i = 0; i < hub.n; i++) {
        http_ws_conn *c = hub.conns[i];
        pthread_mutex_lock(&c->mu);
        for(size_t k = 0; k < c->ntopics; k++) {
            if(strcmp(c->topics[k], topic) == 0) {
                if(send_frame_locked(c, OP_TEXT, text, len) == KITH_OK) sent++;
                break;
            }
        }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&hub.mu);
    return sent;
}

void http_ws_set_handler(http_ws_message_fn fn, void *ctx) {
    pthread_mutex_lock(&hub.handler_mu);
    hub.fn = fn;
    hub.ctx = ctx;
    pthread_mutex_unlock(&hub.handler_mu);
}

/* ---- reading (hub thread) -------------------------------------------------------- */

static void on_text(http_ws_conn *c, const char *text, size_t len) {
    pthread_mutex_lock(&hub.handler_mu);
    if(hub.fn)
        hub.fn(hub.ctx, c, text, len);
    else
        http_ws_send(c, "error no handler");
    pthread_mutex_unlock(&hub.handler_mu);
}

/* Parse and act on the complete frames in c->in. */
static bool is_dead(http_ws_conn *c) {
    pthread_mutex_lock(&c->mu);
    bool dead = c->dead;
    pthread_mutex_unlock(&c->mu);
    return dead;
}

static void parse_frames(http_ws_conn *c) {
    size_t at = 0;
    while(!is_dead(c)) {
        const unsigned char *f = (const unsigned char *)c->in + at;
        size_t avail = c->inlen - at;
        if(avail < 2) break;
        bool fin = f[0] & 0x80, masked = f[1] & 0x80;
        int op = f[0] & 0x0f;
        uint64_t len = f[1] & 0x7f;
        size_t h = 2;
        if(f[0] & 0x70 || !masked) { /* extensions were not agreed; clients must mask */
            close_with(c, 1002);
            break;
        }
        if(len == 126) {
            if(avail < 4) break;
            len = ((uint64_t)f[2] << 8) | f[3];
            h = 4;
        } else if(len == 127) {
            if(avail < 10) break;
            len = 0;
            for(int i = 0; i < 8; i++) len = (len << 8) | f[2 + i];
            h = 10;
        }
        if(len > HTTP_WS_MAX_MESSAGE) {
            close_with(c, 1009);
            break;
        }
        if(avail < h + 4 + len) break; /* the rest has not arrived */
        const unsigned char *mask = f + h;
        char payload[HTTP_WS_MAX_MESSAGE + 1];
        for(size_t i = 0; i < len; i++) payload[i] = (char)(f[h + 4 + i] ^ mask[i % 4]);
        payload[len] = '\0';
        at += h + 4 + (size_t)len;
        switch(op) {
        case OP_TEXT:
            if(!fin) {
                close_with(c, 1003); /* fragmented messages: not needed for a few words */
                break;
            }
            on_text(c, payload, (size_t)len);
            break;
        case OP_PING:
            if(len > 125 || !fin)
                close_with(c, 1002);
            else
                send_frame(c, OP_PONG, payload, (size_t)len);
            break;
        case OP_PONG: break;
        case OP_CLOSE: {
            unsigned code = len >= 2 ? ((unsigned)(unsigned char)payload[0] << 8) | (unsigned char)payload[1] : 1000;
            close_with(c, code == 1005 || code == 1006 || code == 1015 ? 1000 : code);
            break;
        }
        case OP_CONT:
        case OP_BINARY: close_with(c, 1003); break;
        default: close_with(c, 1002); break;
        }
    }
    if(at) {
        memmove(c->in, c->in + at, c->inlen - at);
        c->inlen -= at;
    }
}

static void read_conn(http_ws_conn *c) {
    for(;;) {
        if(c->inlen == IN_CAP) { /* cannot happen with frames capped below IN_CAP; be safe */
            close_with(c, 1009);
            return;
        }
        ssize_t r = recv(c->sock, c->in + c->inlen, IN_CAP - c->inlen, MSG_DONTWAIT);
        if(r < 0 && errno == EINTR) continue;
        if(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if(r <= 0) {
            pthread_mutex_lock(&c->mu);
            c->dead = true;
            pthread_mutex_unlock(&c->mu);
            return;
        }
        c->inlen += (size_t)r;
        parse_frames(c);
        if(is_dead(c)) return;
    }
}

static void conn_free(http_ws_conn *c) {
    MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Remove and close the dead connections. */
static void reap(void) {
    http_ws_conn *gone[HTTP_WS_MAX_CONNECTIONS];
    size_t ng = 0;
    pthread_mutex_lock(&hub.mu);
    for(size_t i = 0; i < hub.n;) {
        http_ws_conn *c = hub.conns[i];
        if(is_dead(c)) {
            gone[ng++] = c;
            hub.conns[i] = hub.conns[--hub.n];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&hub.mu);
    for(size_t i = 0; i < ng; i++) conn_free(gone[i]);
}

static void *hub_main(void *arg) {
    (void)arg;
    static struct pollfd fds[HTTP_WS_MAX_CONNECTIONS + 1];
    static http_ws_conn *polled[HTTP_WS_MAX_CONNECTIONS];
    for(;;) {
        pthread_mutex_lock(&hub.mu);
        if(hub.stopping) {
            pthread_mutex_unlock(&hub.mu);
            break;
        }
        size_t n = hub.n;
        fds[0] = (struct pollfd){.fd = hub.wake, .events = POLLIN};
        for(size_t i = 0; i < n; i++) {
            polled[i] = hub.conns[i];
            fds[i + 1] = (struct pollfd){.fd = hub.conns[i]->sock, .events = POLLIN};
        }
        pthread_mutex_unlock(&hub.mu);
        for(size_t i = 0; i < n; i++) {
            if(polled[i]->fresh) {
                polled[i]->fresh = false;
                if(polled[i]->inlen) parse_frames(polled[i]);
            }
        }
        int r = poll(fds, n + 1, -1);
        if(r < 0 && errno != EINTR) {
            log_event(LOG_ERROR, "websocket poll failed", "\"errno\":%d", errno);
            usleep(100000);
            continue;
        }
        if(r > 0 && fds[0].revents) {
            uint64_t v;
            if(read(hub.wake, &v, sizeof v) < 0) { /* nothing pending */
            }
        }
        /* only this thread removes connections, so polled[] stays valid */
        for(size_t i = 0; r > 0 && i < n; i++)
            if(fds[i + 1].revents) read_conn(polled[i]);
        reap();
    }
    /* stopping: tell every client and close */
    pthread_mutex_lock(&hub.mu);
    size_t n = hub.n;
    http_ws_conn **all = n ? xmalloc(n * sizeof *all) : NULL;
    if(n) memcpy(all, hub.conns, n * sizeof *all);
    hub.n = 0;
    pthread_mutex_unlock(&hub.mu);
    for(size_t i = 0; i < n; i++) {
        close_with(all[i], 1001);
        conn_free(all[i]);
    }
    free(all);
    return NULL;
}

/* libmicrohttpd: the 101 went out and the socket is ours (an MHD thread). */
static void upgraded(void *cls, struct MHD_Connection *connection, void *con_cls, const char *extra_in,
                     size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh) {
    (void)cls;
    (void)connection;
    (void)con_cls;
    http_ws_conn *c = mem_try_alloc(sizeof *c);
    if(!c) {
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    memset(c, 0, sizeof *c);
    c->sock = sock;
    c->urh = urh;
    pthread_mutex_init(&c->mu, NULL);
    int fl = fcntl(sock, F_GETFL);
    if(fl >= 0) fcntl(sock, F_SETFL, fl | O_NONBLOCK);
    if(extra_in_size > IN_CAP) extra_in_size = IN_CAP; /* a client that sends that much unasked is closed below */
    memcpy(c->in, extra_in, extra_in_size);
    c->inlen = extra_in_size;
    c->fresh = true;
    pthread_mutex_lock(&hub.mu);
    bool ok = hub.running && !hub.stopping && hub.n < HTTP_WS_MAX_CONNECTIONS;
    if(ok) hub.conns[hub.n++] = c;
    pthread_mutex_unlock(&hub.mu);
    if(!ok) {
        close_with(c, 1013); /* try again later */
        conn_free(c);
        return;
    }
    wake_hub();
}

/* ---- the handshake ------------------------------------------------------------------- */

/* Does the comma-separated header value list token (case-insensitive)? */
static bool has_token(const char *list, const char *token) {
    size_t tl = strlen(token);
    for(const char *p = list; p && *p;) {
        while(*p == ' ' || *p == '\t' || *p == ',') p++;
        size_t n = strcspn(p, ",");
        size_t k = n;
        while(k && (p[k - 1] == ' ' || p[k - 1] == '\t')) k--;
        if(k == tl && strncasecmp(p, token, tl) == 0) return true;
        p += n;
    }
    return false;
}

static bool key_ok(const char *key) {
    if(!key || strlen(key) != 24 || strcmp(key + 22, "==") != 0) return false;
    for(size_t i = 0; i < 22; i++)
        if(!isalnum((unsigned char)key[i]) && key[i] != '+' && key[i] != '/') return false;
    return true;
}

/* An Origin, if sent, must be this server (a page elsewhere may not open a
 * websocket with the user's cookie). */
static bool origin_ok(const char *origin, const char *host) {
    if(!origin) return true;
    if(!host) return false;
    const char *o = origin;
    if(strncasecmp(o, "https://", 8) == 0)
        o += 8;
    else if(strncasecmp(o, "http://", 7) == 0)
        o += 7;
    else
        return false;
    return strcasecmp(o, host) == 0;
}

int http_ws_accept(const http_request *req, http_response *res, char *msg, size_t msglen) {
    const char *upgrade = http_header_get(req, "Upgrade");
    const char *connection = http_header_get(req, "Connection");
    const char *version = http_header_get(req, "Sec-WebSocket-Version");
    const char *key = http_header_get(req, "Sec-WebSocket-Key");
    if(strcmp(req->method, "GET") != 0 || !has_token(upgrade, "websocket") || !has_token(connection, "upgrade")) {
        snprintf(msg, msglen, "this is a websocket: open it with GET, Upgrade: websocket and Connection: Upgrade");
        http_response_header(res, "Upgrade", "websocket");
        return 426;
    }
    if(!version || strcmp(version, "13") != 0) {
        snprintf(msg, msglen, "only websocket version 13 (RFC 6455) is spoken here");
        http_response_header(res, "Sec-WebSocket-Version", "13");
        return 426;
    }
    if(!key_ok(key)) {
        snprintf(msg, msglen, "Sec-WebSocket-Key must be 16 bytes in base64");
        return 400;
    }
    if(!origin_ok(http_header_get(req, "Origin"), http_header_get(req, "Host"))) {
        snprintf(msg, msglen, "a page from another site may not open this websocket");
        return 403;
    }
    pthread_mutex_lock(&hub.mu);
    bool running = hub.running && !hub.stopping;
    bool full = hub.n >= HTTP_WS_MAX_CONNECTIONS;
    pthread_mutex_unlock(&hub.mu);
    if(!running || full) {
        snprintf(msg, msglen, running ? "too many websockets are open: try again later"
                                      : "websockets are not available on this server");
        return 503;
    }
    char in[64];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    snprintf(in, sizeof in, "%s%s", key, WS_GUID);
    if(!EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha1(), NULL)) {
        snprintf(msg, msglen, "the websocket handshake could not be computed");
        return 503;
    }
    char accept[64];
    EVP_EncodeBlock((unsigned char *)accept, md, (int)mdlen);
    res->status = 101;
    res->content_type = NULL;
    buf_reset(&res->body);
    http_response_header(res, "Upgrade", "websocket");
    http_response_header(res, "Sec-WebSocket-Accept", accept);
    return 101;
}

struct MHD_Response *http_ws_response(void) {
    return MHD_create_response_for_upgrade(upgraded, NULL);
}

/* ---- start and stop --------------------------------------------------------------------- */

kith_rc http_ws_start(void) {
    pthread_mutex_lock(&hub.mu);
    if(hub.running) {
        pthread_mutex_unlock(&hub.mu);
        return KITH_OK;
    }
    if(hub.wake < 0) hub.wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    kith_rc rc = KITH_OK;
    hub.stopping = false;
    if(hub.wake < 0 || pthread_create(&hub.thread, NULL, hub_main, NULL) != 0) {
        log_event(LOG_ERROR, "could not start the websocket hub", NULL);
        rc = KITH_EIO;
    } else {
        hub.running = true;
    }
    pthread_mutex_unlock(&hub.mu);
    return rc;
}

void http_ws_stop(void) {
    pthread_mutex_lock(&hub.mu);
    if(!hub.running) {
        pthread_mutex_unlock(&hub.mu);
        return;
    }
    hub.stopping = true;
    pthread_mutex_unlock(&hub.mu);
    wake_hub();
    pthread_join(hub.thread, NULL);
    pthread_mutex_lock(&hub.mu);
    hub.running = false;
    pthread_mutex_unlock(&hub.mu);
}

bool http_ws_running(void) {
    pthread_mutex_lock(&hub.mu);
    bool r = hub.running && !hub.stopping;
    pthread_mutex_unlock(&hub.mu);
    return r;
}
