/*
 * signin.c — web sign-in, session and sign-out (see signin.h).
 */
#include "web/signin.h"
#include "web/admin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "auth/jwt.h"
#include "base/buf.h"
#include "json/json.h"

#define JSON_TYPE "application/json; charset=utf-8"

bool web_session_cookie(const http_request *req, char out[AUTH_TOKEN_MAX]) {
    const char *cookie = http_header_get(req, "Cookie");
    out[0] = '\0';
    for(const char *p = cookie; p && *p;) {
        while(*p == ' ' || *p == ';') p++;
        size_t nlen = strlen(WEB_SESSION_COOKIE);
        if(strncmp(p, WEB_SESSION_COOKIE, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t n = strcspn(v, ";");
            if(n == 0 || n >= AUTH_TOKEN_MAX) return false;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

bool web_csrf_ok(const http_request *req, const char *session) {
    const char *sent = http_header_get(req, "X-CSRF-Token");
    char want[AUTH_HASH_HEX];
    auth_csrf_for(session, want);
    return sent && strlen(sent) == strlen(want) && strcmp(sent, want) == 0;
}

const char *web_authorization(const http_request *req, char session[AUTH_TOKEN_MAX],
                              char bearer[AUTH_TOKEN_MAX + 8], bool *by_cookie) {
    const char *authorization = http_header_get(req, "Authorization");
    *by_cookie = (!authorization || !*authorization) && web_session_cookie(req, session);
    if(*by_cookie) {
        snprintf(bearer, AUTH_TOKEN_MAX + 8, "Bearer %s", session);
        authorization = bearer;
    }
    return authorization;
}

kith_rc web_authenticate(fhir_rest *api, store_conn *c, const http_request *req, auth_principal *who) {
    char session[AUTH_TOKEN_MAX], bearer[AUTH_TOKEN_MAX + 8];
    bool by_cookie;
    const char *authorization = web_authorization(req, session, bearer, &by_cookie);
    if(!authorization || !*authorization || auth_authenticate(api->auth, c, authorization, who, NULL, 0) != KITH_OK)
        return KITH_ENOTFOUND;
    bool change = strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0;
    if(by_cookie && change && !web_csrf_ok(req, session)) return KITH_EFORBIDDEN;
    return KITH_OK;
}

static void reply(http_response *res, int status, const char *json) {
    res->status = status;
    res->content_type = JSON_TYPE;
    buf_puts(&res->body, json);
    http_response_header(res, "Cache-Control", "no-store");
}

static void reply_error(http_response *res, int status, const char *message) {
    buf b = BUF_INIT;
    buf_puts(&b, "{\"error\":\"");
    buf_json_escape(&b, message);
    buf_puts(&b, "\"}");
    reply(res, status, buf_str(&b));
    buf_free(&b);
}

void web_reply_error(http_response *res, int status, const char *message) {
    reply_error(res, status, message);
}

void web_reply_json(http_response *res, int status, const char *json) {
    reply(res, status, json);
}

static void set_cookie(http_response *res, const char *token, int max_age, bool secure) {
    buf c = BUF_INIT;
    buf_printf(&c, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", WEB_SESSION_COOKIE, token, max_age,
               secure ? "; Secure" : "");
    http_response_header(res, "Set-Cookie", buf_str(&c));
    buf_free(&c);
}

static void who_json(buf *b, const auth_principal *p) {
    buf_puts(b, "{\"username\":\"");
    buf_json_escape(b, p->name);
    buf_puts(b, "\",\"role\":\"");
    buf_json_escape(b, p->role);
    buf_puts(b, "\",\"organization\":\"");
    buf_json_escape(b, p->org);
    buf_puts(b, "\",\"practitioner\":\"");
    buf_json_escape(b, p->practitioner);
    buf_puts(b, "\"");
}

/* username and password from a form or JSON body; copies into the buffers. */
static bool credentials(const http_request *req, char *user, size_t ulen, char *pass, size_t plen) {
    const char *ct = http_header_get(req, "Content-Type");
    user[0] = pass[0] = '\0';
    if(ct && strncasecmp(ct, "application/json", 16) == 0) {
        json_value *v = NULL;
        if(json_parse(req->body, req->body_len, &v, NULL, 0)) return false;
        const char *u = json_string(json_get(v, "username")), *p = json_string(json_get(v, "password"));
        if(u) snprintf(user, ulen, "%s", u);
        if(p) snprintf(pass, plen, "%s", p);
        json_free(v);
    } else {
        http_param *ps = NULL;
        size_t n = 0;
        http_parse_query(req->body, &ps, &n);
        for(size_t i = 0; i < n; i++) {
            if(strcmp(ps[i].name, "username") == 0 && ps[i].value) snprintf(user, ulen, "%s", ps[i].value);
            if(strcmp(ps[i].name, "password") == 0 && ps[i].value) snprintf(pass, plen, "%s", ps[i].value);
        }
        http_params_free(ps, n);
    }
    return user[0] && pass[0];
}

static void login(fhir_rest *api, store_conn *c, const http_request *req, http_response *res) {
    char user[128], pass[1025];
    const char *address = req->client_address && *req->client_address ? req->client_address : NULL;
    if(!credentials(req, user, sizeof user, pass, sizeof pass)) {
        reply_error(res, 400, "send username and password (a form or JSON)");
        memset(pass, 0, sizeof pass);
        return;
    }
    auth_principal who;
    char token[AUTH_TOKEN_MAX], why[160] = "";
    kith_rc rc = auth_sign_in(c, user, pass, &who, token, why, sizeof why);
    memset(pass, 0, sizeof pass);
    audit_event ev = {.action = 'E', .subtype = "login", .outcome = rc ? 4 : 0, .who = rc ? NULL : &who,
                      .who_claimed = user, .address = address, .request_id = req->request_id,
                      .detail = rc ? why : NULL};
    audit_record(api->audit, &ev);
    if(rc == KITH_ENOTFOUND) {
        reply_error(res, 401, why);
        return;
    }
    if(rc == KITH_EBUSY) {
        reply_error(res, 429, why);
        http_response_header(res, "Retry-After", "60");
        return;
    }
    if(rc) {
        reply_error(res, 503, "sign-in is not available just now");
        return;
    }
    char csrf[AUTH_HASH_HEX];
    auth_csrf_for(token, csrf);
    buf b = BUF_INIT;
    who_json(&b, &who);
    buf_printf(&b, ",\"csrfToken\":\"%s\",\"expiresIn\":%d}", csrf, AUTH_SESSION_SECONDS);
    reply(res, 200, buf_str(&b));
    buf_free(&b);
    set_cookie(res, token, AUTH_SESSION_SECONDS, api->tls);
}

static void oauth_error(http_response *res, int status, const char *error, const char *description) {
    buf b = BUF_INIT;
    buf_printf(&b, "{\"error\":\"%s\",\"error_description\":\"", error);
    buf_json_escape(&b, description);
    buf_puts(&b, "\"}");
    reply(res, status, buf_str(&b));
    buf_free(&b);
}

/* POST /auth/token: OAuth2 client credentials with a JWT client assertion
 * (SMART Backend Services). Issues a token for at most 5 minutes with the
 * scopes asked for, which must lie within the client's registered scopes. */
static void token(fhir_rest *api, store_conn *c, const http_request *req, http_response *res) {
    http_param *ps = NULL;
    size_t n = 0;
    http_parse_query(req->body, &ps, &n);
    const char *grant = NULL, *scope = NULL, *atype = NULL, *assertion = NULL;
    for(size_t i = 0; i < n; i++) {
        if(!ps[i].value) continue;
        if(strcmp(ps[i].name, "grant_type") == 0) grant = ps[i].value;
        else if(strcmp(ps[i].name, "scope") == 0) scope = ps[i].value;
        else if(strcmp(ps[i].name, "client_assertion_type") == 0) atype = ps[i].value;
        else if(strcmp(ps[i].name, "client_assertion") == 0) assertion = ps[i].value;
    }
    char name[128] = "", why[200] = "", audience[400];
    snprintf(audience, sizeof audience, "%s/auth/token", req->base_url);
    store_account a = {0};
    bool have_account = false;
    int status = 0;
    const char *error = NULL;
    if(!grant || strcmp(grant, "client_credentials") != 0) {
        status = 400, error = "unsupported_grant_type";
        snprintf(why, sizeof why, "grant_type must be client_credentials");
    } else if(!atype || strcmp(atype, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") != 0 || !assertion) {
        status = 400, error = "invalid_request";
        snprintf(why, sizeof why, "send client_assertion_type jwt-bearer and a client_assertion");
    } else if(jwt_issuer(assertion, name, sizeof name) || store_account_get(c, "client", name, &a) != KITH_OK) {
        status = 401, error = "invalid_client";
        snprintf(why, sizeof why, "the assertion does not name a registered client");
    } else if((have_account = true, a.disabled)) {
        status = 401, error = "invalid_client";
        snprintf(why, sizeof why, "the client is disabled");
    } else if(jwt_check_client_assertion(assertion, name, a.public_key, audience, why, sizeof why)) {
        status = 401, error = "invalid_client";
    } else if(!scope || !*scope) {
        status = 400, error = "invalid_scope";
        snprintf(why, sizeof why, "ask for scopes, e.g. scope=system/Patient.rs");
    } else {
        char bad[128];
        if(!auth_scopes_valid(scope, bad, sizeof bad)) {
            status = 400, error = "invalid_scope";
            snprintf(why, sizeof why, "'%s' is not a SMART scope", bad);
        } else if(!auth_scopes_within(scope, a.scopes ? a.scopes : "", bad, sizeof bad)) {
            status = 400, error = "invalid_scope";
            snprintf(why, sizeof why, "%s is more than the client is registered for", bad);
        }
    }
    char tok[AUTH_TOKEN_MAX];
    if(!status && auth_token_issue(c, "client", name, scope, 300, tok) != KITH_OK) {
        status = 503, error = "temporarily_unavailable";
        snprintf(why, sizeof why, "the token could not be stored");
    }
    auth_principal who = {0};
    snprintf(who.kind, sizeof who.kind, "client");
    snprintf(who.name, sizeof who.name, "%s", name);
    const char *address = req->client_address && *req->client_address ? req->client_address : NULL;
    audit_event ev = {.action = 'E', .subtype = "login", .outcome = status ? 4 : 0, .who = status ? NULL : &who,
                      .who_claimed = name, .address = address, .request_id = req->request_id,
                      .detail = status ? why : NULL};
    audit_record(api->audit, &ev);
    if(status) {
        oauth_error(res, status, error, why);
    } else {
        buf b = BUF_INIT;
        buf_printf(&b, "{\"access_token\":\"%s\",\"token_type\":\"bearer\",\"expires_in\":300,\"scope\":\"", tok);
        buf_json_escape(&b, scope);
        buf_puts(&b, "\"}");
        reply(res, 200, buf_str(&b));
        buf_free(&b);
    }
    if(have_account) store_account_free(&a);
    http_params_free(ps, n);
}

void web_smart_configuration(const http_request *req, http_response *res) {
    res->route = "smart-configuration";
    buf b = BUF_INIT;
    buf_puts(&b, "{\"token_endpoint\":\"");
    buf_json_escape(&b, req->base_url);
    buf_puts(&b, "/auth/token\",\"grant_types_supported\":[\"client_credentials\"],"
                 "\"token_endpoint_auth_methods_supported\":[\"private_key_jwt\"],"
                 "\"token_endpoint_auth_signing_alg_values_supported\":[\"RS384\",\"ES384\"],"
                 "\"scopes_supported\":[\"system/*.cruds\",\"system/*.rs\"],"
                 "\"capabilities\":[\"client-confidential-asymmetric\"]}");
    reply(res, 200, buf_str(&b));
    buf_free(&b);
}

void web_signin_handle(fhir_rest *api, const http_request *req, http_response *res) {
    res->route = "auth";
    store_conn *c = store_conn_for_thread(api->st);
    if(!c) {
        reply_error(res, 503, "the database cannot be opened");
        return;
    }
    bool post = strcmp(req->method, "POST") == 0;
    if(strcmp(req->path, "/auth/token") == 0) {
        if(!post) {
            oauth_error(res, 405, "invalid_request", "ask for a token with POST");
            http_response_header(res, "Allow", "POST");
            return;
        }
        token(api, c, req, res);
        return;
    }
    if(strcmp(req->path, "/auth/users") == 0 || strncmp(req->path, "/auth/users/", 12) == 0) {
        web_admin_users(api, c, req, res);
        return;
    }
    if(strcmp(req->path, "/auth/login") == 0) {
        if(!post) {
            reply_error(res, 405, "sign in with POST");
            http_response_header(res, "Allow", "POST");
            return;
        }
        login(api, c, req, res);
        return;
    }
    char session[AUTH_TOKEN_MAX];
    bool have = web_session_cookie(req, session);
    auth_principal who;
    char bearer[AUTH_TOKEN_MAX + 8];
    snprintf(bearer, sizeof bearer, "Bearer %s", session);
    if(!have || auth_authenticate(api->auth, c, bearer, &who, NULL, 0) != KITH_OK) {
        if(strcmp(req->path, "/auth/logout") == 0 && post) set_cookie(res, "", 0, api->tls);
        reply_error(res, 401, "not signed in");
        return;
    }
    if(strcmp(req->path, "/auth/session") == 0 && strcmp(req->method, "GET") == 0) {
        char csrf[AUTH_HASH_HEX];
        auth_csrf_for(session, csrf);
        buf b = BUF_INIT;
        who_json(&b, &who);
        buf_printf(&b, ",\"csrfToken\":\"%s\"}", csrf);
        reply(res, 200, buf_str(&b));
        buf_free(&b);
        return;
    }
    if(strcmp(req->path, "/auth/logout") == 0 && post) {
        if(!web_csrf_ok(req, session)) {
            reply_error(res, 403, "the X-CSRF-Token header is missing or wrong");
            return;
        }
        kith_rc rc = auth_sign_out(api->auth, c, session);
        const char *address = req->client_address && *req->client_address ? req->client_address : NULL;
        audit_event ev = {.action = 'E', .subtype = "logout", .outcome = rc ? 8 : 0, .who = &who, .address = address,
                          .request_id = req->request_id};
        audit_record(api->audit, &ev);
        set_cookie(res, "", 0, api->tls);
        reply(res, 200, "{\"signedOut\":true}");
        return;
    }
    reply_error(res, 404, "no such sign-in page");
}
