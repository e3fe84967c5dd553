/*
 * jwt.h — checking the signed JWT a system client sends to get a token
 * (SMART Backend Services: OAuth2 client credentials with a JWT client
 * assertion, RFC 7523). The only code that uses OpenSSL.
 *
 * Accepted: alg RS384 (RSA PKCS#1 v1.5, SHA-384) or ES384 (ECDSA P-384,
 * SHA-384), verified with the PEM public key registered for the client
 * (`kith client add NAME --public-key FILE`). Refused: "none", any other
 * alg, a bad signature, iss/sub not the client, aud not this token endpoint,
 * a missing or past exp, an exp more than 5 minutes ahead, a missing jti, or
 * a jti seen before (kept until its exp). Thread-safe.
 */
#ifndef KITH_AUTH_JWT_H
#define KITH_AUTH_JWT_H
#include <stddef.h>

#include "base/rc.h"

#define JWT_MAX_LEN 16384

/*
 * Check assertion for client_name with key_pem against audience (the token
 * endpoint's URL). KITH_OK when it holds; otherwise KITH_EINVALID with a
 * short reason in why (fit to send back as an OAuth error description).
 */
kith_rc jwt_check_client_assertion(const char *assertion, const char *client_name, const char *key_pem,
                                   const char *audience, char *why, size_t whylen);

/* The issuer (iss) claim of an assertion, unverified, into out (to find the
 * client's key); KITH_EINVAL when it has none. */
kith_rc jwt_issuer(const char *assertion, char *out, size_t outlen);

#endif
