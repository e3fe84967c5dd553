/*
 * auth.h — who is asking: accounts (users and system clients), passwords,
 * bearer tokens and SMART scopes. The only module that hashes passwords
 * and tokens (libsodium).
 *
 * Passwords are kept as argon2id hashes. Tokens are 32 random bytes
 * (base64url, prefixed "kith_"); only their SHA-256 is stored, so a copy of
 * the database does not give anyone a working token. A token resolves to a
 * principal: the account, its role and organisation, and the scopes the
 * token grants. Resolution is cached for a few seconds (auth_cache); a
 * disabled account stops working within that time.
 *
 * Thread-safe: the cache has its own lock; everything else is pure or goes
 * through the caller's store connection.
 */
#ifndef KITH_AUTH_H
#define KITH_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "store/store.h"

/* Roles a user can hold (the codes `kith user add --role` takes). */
extern const char *const auth_roles[];
bool auth_role_valid(const char *role);

#define AUTH_TOKEN_MAX 64
#define AUTH_HASH_HEX 65 /* SHA-256 as hex, with NUL */

/* Must be called once before the rest (initialises libsodium). */
kith_rc auth_init(void);

/* Hash a password with argon2id. out must hold AUTH_PWHASH_MAX bytes. */
#define AUTH_PWHASH_MAX 128
kith_rc auth_password_hash(const char *password, char out[AUTH_PWHASH_MAX]);
bool auth_password_check(const char *hash, const char *password);

/* SHA-256 of s as lower-case hex. */
void auth_sha256_hex(const void *data, size_t len, char out[AUTH_HASH_HEX]);

/* Make a new token for account (kind, name) granting scopes, valid for
 * ttl seconds, store its hash, and write the token itself to out. */
kith_rc auth_token_issue(store_conn *c, const char *kind, const char *name, const char *scopes, int64_t ttl,
                         char out[AUTH_TOKEN_MAX]);

/* Who a request speaks for. Strings are owned. */
typedef struct auth_principal {
    char kind[8];          /* "user" or "client" */
    char name[128];
    char role[32];         /* users */
    char org[72];          /* Organization id, or "" */
    char practitioner[72]; /* Practitioner id, or "" */
    char scopes[512];      /* space-separated SMART scopes */
} auth_principal;

typedef struct auth_cache auth_cache;
auth_cache *auth_cache_new(void);
void auth_cache_free(auth_cache *a);

/*
 * Resolve an Authorization header value ("Bearer kith_...") to a principal.
 * KITH_EINVAL when the header is missing or not a bearer token; KITH_ENOTFOUND
 * when the token is unknown, expired, or its account is disabled or gone.
 * why (if non-NULL) gets a short reason fit to show the caller.
 */
kith_rc auth_authenticate(auth_cache *a, store_conn *c, const char *authorization, auth_principal *out, char *why,
                          size_t whylen);

/*
 * Sign in with a password (the web's sign-in form). On success issues a
 * session token (8 hours; scopes by role) into token and fills *out.
 * Refusals, with the reason in why (never saying whether the username
 * exists): KITH_ENOTFOUND wrong username or password, or a disabled account;
 * KITH_EBUSY the account is locked for 15 minutes after 5 failures in a row,
 * or too many sign-ins are being checked at once (try again shortly).
 * Password checks run at most AUTH_MAX_CHECKS at a time so that a flood of
 * sign-ins cannot take the server's threads from everyone else.
 */
#define AUTH_MAX_CHECKS 2
#define AUTH_SESSION_SECONDS (8 * 3600)
#define AUTH_LOCK_FAILURES 5
#define AUTH_LOCK_SECONDS (15 * 60)
kith_rc auth_sign_in(store_conn *c, const char *username, const char *password, auth_principal *out,
                     char token[AUTH_TOKEN_MAX], char *why, size_t whylen);

/* The anti-forgery token that goes with a session token (derived, not stored). */
void auth_csrf_for(const char *session_token, char out[AUTH_HASH_HEX]);

/* The scopes a user's token gets for a role. Static string. */
const char *auth_user_scopes(const char *role);

/* Forget a session token (signing out); drops it from the cache too. */
kith_rc auth_sign_out(auth_cache *a, store_conn *c, const char *token);

/* SMART v2 scopes: does any of `scopes` allow `interaction` on resource `type`?
 * interaction is one of c r u d s (create, read, update, delete, search).
 * Scopes look like system/Patient.rs, user/(star).cruds, patient/Observation.r;
 * v1 forms (.read, .write, .*) are understood too. */
bool auth_scope_allows(const char *scopes, const char *type, char interaction);

/* Does every scope in asked allow only what granted allows? The first that
 * asks for more goes to bad. */
bool auth_scopes_within(const char *asked, const char *granted, char *bad, size_t badlen);

/* Check scopes is a list of well-formed SMART scopes; the first bad one goes to bad. */
bool auth_scopes_valid(const char *scopes, char *bad, size_t badlen);

#endif
