/*
 * jwt.c — JWT client assertions (see jwt.h).
 */
#include "auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "json/json.h"

#define MAX_AHEAD 300 /* seconds an assertion may be valid for */
#define JTI_KEEP 4096

static void say(char *why, size_t len, const char *text) {
    if(why && len) snprintf(why, len, "%s", text);
}

/* base64url (no padding) to bytes; caller frees; NULL on bad input. */
static unsigned char *b64url(const char *s, size_t n, size_t *out_len) {
    unsigned char *out = xmalloc(n + 1);
    if(sodium_base642bin(out, n + 1, s, n, NULL, out_len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

typedef struct parts {
    const char *header_b64, *payload_b64, *sig_b64;
    size_t header_len, payload_len, sig_len;
} parts;

static bool split(const char *jwt, parts *p) {
    const char *d1 = strchr(jwt, '.');
    if(!d1) return false;
    const char *d2 = strchr(d1 + 1, '.');
    if(!d2 || strchr(d2 + 1, '.')) return false;
    p->header_b64 = jwt;
    p->header_len = (size_t)(d1 - jwt);
    p->payload_b64 = d1 + 1;
    p->payload_len = (size_t)(d2 - d1 - 1);
    p->sig_b64 = d2 + 1;
    p->sig_len = strlen(d2 + 1);
    return p->header_len && p->payload_len;
}

static json_value *decode_json(const char *b64, size_t n) {
    size_t len = 0;
    unsigned char *raw = b64url(b64, n, &len);
    if(!raw) return NULL;
    json_value *v = NULL;
    if(json_parse((const char *)raw, len, &v, NULL, 0)) v = NULL;
    free(raw);
    return json_kind_of(v) == JSON_OBJECT ? v : (json_free(v), NULL);
}

kith_rc jwt_issuer(const char *assertion, char *out, size_t outlen) {
    parts p;
    if(!assertion || strlen(assertion) > JWT_MAX_LEN || !split(assertion, &p)) return KITH_EINVAL;
    json_value *claims = decode_json(p.payload_b64, p.payload_len);
    const char *iss = json_string(json_get(claims, "iss"));
    kith_rc rc = iss && *iss ? KITH_OK : KITH_EINVAL;
    if(!rc) snprintf(out, outlen, "%s", iss);
    json_free(claims);
    return rc;
}

/* ---- replay protection -------------------------------------------------- */

typedef struct seen_jti {
    char key[256]; /* client \n jti */
    int64_t exp;
} seen_jti;

static pthread_mutex_t jti_lock = PTHREAD_MUTEX_INITIALIZER;
static seen_jti jtis[JTI_KEEP];

/* Remember jti; false if it was seen (and has not expired). */
static bool jti_fresh(const char *client, const char *jti, int64_t exp, int64_t now) {
    char key[256];
    snprintf(key, sizeof key, "%s\n%s", client, jti);
    bool fresh = true;
    int slot = -1;
    pthread_mutex_lock(&jti_lock);
    for(int i = 0; i < JTI_KEEP; i++) {
        if(jtis[i].exp > now && strcmp(jtis[i].key, key) == 0) fresh = false;
        if(slot < 0 && jtis[i].exp <= now) slot = i;
    }
    if(fresh) {
        if(slot < 0) slot = (int)(randombytes_uniform(JTI_KEEP)); /* full of live ones: forget one */
        snprintf(jtis[slot].key, sizeof jtis[slot].key, "%s", key);
        jtis[slot].exp = exp;
    }
    pthread_mutex_unlock(&jti_lock);
    return fresh;
}

/* ---- signatures ---------------------------------------------------------- */

/* ES384's raw r||s (96 bytes) as the DER OpenSSL verifies; caller frees. */
static unsigned char *ecdsa_der(const unsigned char *raw, size_t len, size_t *der_len) {
    if(len != 96) return NULL;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 48, NULL), *s = BN_bin2bn(raw + 48, 48, NULL);
    if(!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return NULL;
    }
    unsigned char *der = NULL;
    int n = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if(n <= 0) return NULL;
    unsigned char *copy = xmalloc((size_t)n);
    memcpy(copy, der, (size_t)n);
    OPENSSL_free(der);
    *der_len = (size_t)n;
    return copy;
}

static bool verify(const char *alg, const char *key_pem, const char *signed_part, size_t signed_len,
                   const unsigned char *sig, size_t sig_len) {
    BIO *bio = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if(!key) return false;
    bool rsa = strcmp(alg, "RS384") == 0;
    int id = EVP_PKEY_base_id(key);
    bool ok = false;
    unsigned char *der = NULL;
    size_t der_len = 0;
    if((rsa && id == EVP_PKEY_RSA) || (!rsa && id == EVP_PKEY_EC)) {
        if(!rsa) der = ecdsa_der(sig, sig_len, &der_len);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if(md && (rsa || der) && EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) == 1)
            ok = EVP_DigestVerify(md, rsa ? sig : der, rsa ? sig_len : der_len, (const unsigned char *)signed_part,
                                  signed_len) == 1;
        EVP_MD_CTX_free(md);
    }
    free(der);
    EVP_PKEY_free(key);
    return ok;
}

kith_rc jwt_check_client_assertion(const char *assertion, const char *client_name, const char *key_pem,
                                   const char *audience, char *why, size_t whylen) {
    parts p;
    if(!assertion || strlen(assertion) > JWT_MAX_LEN || !split(assertion, &p)) {
        say(why, whylen, "client_assertion is not a JWT");
        return KITH_EINVALID;
    }
    json_value *header = decode_json(p.header_b64, p.header_len);
    json_value *claims = decode_json(p.payload_b64, p.payload_len);
    kith_rc rc = KITH_EINVALID;
    const char *alg = json_string(json_get(header, "alg"));
    size_t sig_len = 0;
    unsigned char *sig = NULL;
    int64_t now = (int64_t)time(NULL), exp = 0;
    const char *iss = json_string(json_get(claims, "iss")), *sub = json_string(json_get(claims, "sub"));
    const char *jti = json_string(json_get(claims, "jti"));
    json_value *aud = json_get(claims, "aud");
    bool aud_ok = false;
    if(json_kind_of(aud) == JSON_STRING) aud_ok = strcmp(json_string(aud), audience) == 0;
    for(size_t i = 0; json_kind_of(aud) == JSON_ARRAY && i < json_array_len(aud); i++) {
        const char *a = json_string(json_array_at(aud, i));
        if(a && strcmp(a, audience) == 0) aud_ok = true;
    }
    if(!header || !claims) {
        say(why, whylen, "client_assertion's header or claims are not JSON");
    } else if(!alg || (strcmp(alg, "RS384") != 0 && strcmp(alg, "ES384") != 0)) {
        say(why, whylen, "client_assertion must be signed with RS384 or ES384");
    } else if(!key_pem || !*key_pem) {
        say(why, whylen, "no public key is registered for this client");
    } else if(!(sig = b64url(p.sig_b64, p.sig_len, &sig_len)) ||
              !verify(alg, key_pem, assertion, p.header_len + 1 + p.payload_len, sig, sig_len)) {
        say(why, whylen, "client_assertion's signature does not verify with the registered key");
    } else if(!iss || !sub || strcmp(iss, client_name) != 0 || strcmp(sub, client_name) != 0) {
        say(why, whylen, "client_assertion's iss and sub must both be the client");
    } else if(!aud_ok) {
        say(why, whylen, "client_assertion's aud is not this token endpoint");
    } else if(!json_int64(json_get(claims, "exp"), &exp) || exp <= now) {
        say(why, whylen, "client_assertion has expired (or has no exp)");
    } else if(exp > now + MAX_AHEAD) {
        say(why, whylen, "client_assertion's exp is more than 5 minutes ahead");
    } else if(!jti || !*jti) {
        say(why, whylen, "client_assertion has no jti");
    } else if(!jti_fresh(client_name, jti, exp, now)) {
        say(why, whylen, "client_assertion's jti was used before");
    } else {
        rc = KITH_OK;
    }
    free(sig);
    json_free(header);
    json_free(claims);
    return rc;
}
