/*
 * signin.h — signing in through the web: POST /auth/login (username and
 * password, as a form or JSON) starts a session held in an HttpOnly,
 * SameSite=Strict cookie (Secure under TLS) and answers with the session's
 * anti-forgery token; GET /auth/session says who is signed in; POST
 * /auth/logout ends the session. A request authenticated by the cookie that
 * changes anything must send that token in X-CSRF-Token (web_csrf_ok).
 * Sign-ins and sign-outs are audited.
 */
#ifndef KITH_WEB_SIGNIN_H
#define KITH_WEB_SIGNIN_H
#include <stdbool.h>

#include "auth/auth.h"
#include "fhir/rest.h"

#define WEB_SESSION_COOKIE "kith_session"

/* GET /fhir/.well-known/smart-configuration (open to all). */
void web_smart_configuration(const http_request *req, http_response *res);

/* Handle a request under /auth/ (login, session, logout, and token: OAuth2
 * client credentials with a signed JWT, SMART Backend Services). */
void web_signin_handle(fhir_rest *api, const http_request *req, http_response *res);

/* The session token in the request's cookie, copied to out; false if none. */
bool web_session_cookie(const http_request *req, char out[AUTH_TOKEN_MAX]);

/* Does the request carry the anti-forgery token for session? */
bool web_csrf_ok(const http_request *req, const char *session);

/* The request's Authorization: its own header, or else "Bearer <session>"
 * made from the session cookie (then *by_cookie, and session holds it). */
const char *web_authorization(const http_request *req, char session[AUTH_TOKEN_MAX],
                              char bearer[AUTH_TOKEN_MAX + 8], bool *by_cookie);

/* Who sent the request: a bearer token, else the session cookie. KITH_OK
 * and *who filled, or KITH_ENOTFOUND (nobody signed in). A change (not GET
 * or HEAD) made with the cookie must carry its anti-forgery token, else
 * KITH_EFORBIDDEN. */
kith_rc web_authenticate(fhir_rest *api, store_conn *c, const http_request *req, auth_principal *who);

/* A JSON answer {"error": message} with status (no caching). */
void web_reply_error(http_response *res, int status, const char *message);
/* A JSON answer with status (no caching). */
void web_reply_json(http_response *res, int status, const char *json);

#endif
