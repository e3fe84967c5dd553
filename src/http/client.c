/*
 * client.c — outgoing HTTP requests over libcurl (see client.h).
 *
 * libcurl is set up once per process (pthread_once); each request makes and
 * frees its own easy handle, so calls from several threads never share
 * state. Signals are not used for timeouts (CURLOPT_NOSIGNAL), which libcurl
 * requires in a threaded program. Protocols are limited to HTTP and HTTPS,
 * both for the URL and (were redirects followed, which they are not) for
 * any redirect, so a Subscription endpoint can never make Kith read a file
 * or speak another protocol.
 */
#include "http/client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"

#define RESPONSE_BODY_CAP (64 * 1024) /* bytes of an answer read before giving up on it */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_result = CURLE_FAILED_INIT;

static void global_init(void) {
    init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
    if(init_result != CURLE_OK)
        log_event(LOG_ERROR, "libcurl could not be initialised", "\"error\":\"%s\"", curl_easy_strerror(init_result));
}

bool http_client_url_ok(const char *url) {
    if(!url) return false;
    size_t n = strlen(url);
    if(n == 0 || n > HTTP_CLIENT_MAX_URL) return false;
    size_t skip;
    if(strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else if(strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else
        return false;
    /* a host: something before the first '/', '?' or '#', not starting with '@' or ':' */
    const char *host = url + skip;
    size_t hl = strcspn(host, "/?#");
    if(hl == 0 || host[0] == '@' || host[0] == ':') return false;
    for(size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if(c <= 0x20 || c == 0x7f) return false;
    }
    return true;
}

/* Read and discard the answer, up to a cap (beyond it libcurl stops with an error). */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *ctx) {
    (void)ptr;
    size_t *seen = ctx;
    size_t n = size * nmemb;
    *seen += n;
    return *seen > RESPONSE_BODY_CAP ? 0 : n;
}

kith_rc http_post(const char *url, const char *const *headers, size_t nheaders, const char *body, size_t len,
                  int timeout_ms, int *status, char *err, size_t errlen) {
    kith_rc rc = KITH_OK;
    CURL *h = NULL;
    struct curl_slist *hl = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    size_t seen = 0;
    if(err && errlen) err[0] = '\0';
    *status = 0;
    if(!http_client_url_ok(url)) {
        if(err) snprintf(err, errlen, "not an http or https URL");
        return KITH_EINVAL;
    }
    pthread_once(&once, global_init);
    if(init_result != CURLE_OK) {
        if(err) snprintf(err, errlen, "the HTTP client could not start: %s", curl_easy_strerror(init_result));
        return KITH_EIO;
    }
    h = curl_easy_init();
    if(!h) {
        if(err) snprintf(err, errlen, "the HTTP client could not start");
        return KITH_EIO;
    }
    bool has_type = false;
    for(size_t i = 0; i < nheaders; i++) {
        if(strncasecmp(headers[i], "Content-Type:", 13) == 0) has_type = true;
        struct curl_slist *t = curl_slist_append(hl, headers[i]);
        if(!t) {
            rc = KITH_ENOMEM;
            goto done;
        }
        hl = t;
    }
    /* libcurl would otherwise label a POST as a form; an empty body has no type */
    const char *fixed[] = {has_type ? NULL : "Content-Type:", "Expect:"};
    for(size_t i = 0; i < 2; i++) {
        if(!fixed[i]) continue;
        struct curl_slist *t = curl_slist_append(hl, fixed[i]);
        if(!t) {
            rc = KITH_ENOMEM;
            goto done;
        }
        hl = t;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 5000));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 5000));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "kith");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &seen);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    CURLcode cr = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if(cr == CURLE_WRITE_ERROR && code > 0) {
        /* the answer was longer than we care to read; its status stands */
    } else if(cr != CURLE_OK) {
        if(err) snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(cr));
        rc = KITH_EIO;
        goto done;
    }
    *status = (int)code;
done:
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return rc;
}
