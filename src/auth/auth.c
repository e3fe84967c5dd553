/*
 * auth.c — accounts, passwords, tokens and scopes (see auth.h).
 */
#include "auth/auth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/mem.h"

const char *const auth_roles[] = {
    "gp",           "practice-staff", "community-nurse", "therapist", "social-worker", "care-coordinator",
    "discharge-coordinator", "mdt-chair", "team-lead", "analyst",  "administrator", NULL,
};

bool auth_role_valid(const char *role) {
    for(int i = 0; role && auth_roles[i]; i++)
        if(strcmp(auth_roles[i], role) == 0) return true;
    return false;
}

kith_rc auth_init(void) {
    return sodium_init() < 0 ? KITH_EINTERNAL : KITH_OK;
}

kith_rc auth_password_hash(const char *password, char out[AUTH_PWHASH_MAX]) {
    _Static_assert(crypto_pwhash_STRBYTES <= AUTH_PWHASH_MAX, "argon2id string fits");
    if(crypto_pwhash_str_alg(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return KITH_ENOMEM;
    return KITH_OK;
}

bool auth_password_check(const char *hash, const char *password) {
    if(!hash || !password) return false;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void auth_sha256_hex(const void *data, size_t len, char out[AUTH_HASH_HEX]) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, AUTH_HASH_HEX, h, sizeof h);
}

kith_rc auth_token_issue(store_conn *c, const char *kind, const char *name, const char *scopes, int64_t ttl,
                         char out[AUTH_TOKEN_MAX]) {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(out, AUTH_TOKEN_MAX, "kith_%s", b64);
    char hash[AUTH_HASH_HEX];
    auth_sha256_hex(out, strlen(out), hash);
    store_token t = {
        .hash = hash, .kind = (char *)kind, .subject = (char *)name, .scopes = (char *)scopes,
        .expires = (int64_t)time(NULL) + ttl,
    };
    return store_token_put(c, &t);
}

/* ---- the principal cache ------------------------------------------------ */

#define CACHE_SLOTS 1024
#define CACHE_SECONDS 5

typedef struct cache_slot {
    char hash[AUTH_HASH_HEX];
    int64_t until;         /* cached until (and never past the token's expiry) */
    auth_principal p;
} cache_slot;

struct auth_cache {
    pthread_mutex_t mu;
    cache_slot slot[CACHE_SLOTS];
};

auth_cache *auth_cache_new(void) {
    auth_cache *a = xcalloc(1, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void auth_cache_free(auth_cache *a) {
    if(!a) return;
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static void copy(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src ? src : "");
}

static void reason(char *why, size_t len, const char *text) {
    if(why && len) snprintf(why, len, "%s", text);
}

kith_rc auth_authenticate(auth_cache *a, store_conn *c, const char *authorization, auth_principal *out, char *why,
                          size_t whylen) {
    memset(out, 0, sizeof *out);
    if(!authorization || !*authorization) {
        reason(why, whylen, "this needs a bearer token (Authorization: Bearer ...)");
        return KITH_EINVAL;
    }
    if(strncasecmp(authorization, "Bearer ", 7) != 0) {
        reason(why, whylen, "only bearer tokens are accepted (Authorization: Bearer ...)");
        return KITH_EINVAL;
    }
    const char *token = authorization + 7;
    while(*token == ' ') token++;
    size_t len = strlen(token);
    if(len == 0 || len >= AUTH_TOKEN_MAX) {
        reason(why, whylen, "the bearer token is not one Kith issued");
        return KITH_ENOTFOUND;
    }
    char hash[AUTH_HASH_HEX];
    auth_sha256_hex(token, len, hash);
    int64_t now = (int64_t)time(NULL);
    unsigned slot = 0;
    for(int i = 0; i < 8; i++) slot = slot * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    slot %= CACHE_SLOTS;
    pthread_mutex_lock(&a->mu);
    cache_slot *s = &a->slot[slot];
    if(strcmp(s->hash, hash) == 0 && s->until > now) {
        *out = s->p;
        pthread_mutex_unlock(&a->mu);
        return KITH_OK;
    }
    pthread_mutex_unlock(&a->mu);

    store_token t;
    kith_rc rc = store_token_get(c, hash, &t);
    if(rc == KITH_ENOTFOUND) {
        reason(why, whylen, "the bearer token is not one Kith issued");
        return rc;
    }
    if(rc) return rc;
    store_account acc;
    if(t.expires <= now) {
        reason(why, whylen, "the bearer token has expired");
        rc = KITH_ENOTFOUND;
    } else if((rc = store_account_get(c, t.kind, t.subject, &acc)) == KITH_OK) {
        if(acc.disabled) {
            reason(why, whylen, "the account this token speaks for is disabled");
            rc = KITH_ENOTFOUND;
        } else {
            copy(out->kind, sizeof out->kind, t.kind);
            copy(out->name, sizeof out->name, t.subject);
            copy(out->role, sizeof out->role, acc.role);
            copy(out->org, sizeof out->org, acc.org);
            copy(out->practitioner, sizeof out->practitioner, acc.practitioner);
            copy(out->scopes, sizeof out->scopes, t.scopes);
        }
        store_account_free(&acc);
    } else if(rc == KITH_ENOTFOUND) {
        reason(why, whylen, "the account this token speaks for no longer exists");
    }
    int64_t expires = t.expires;
    store_token_free(&t);
    if(rc) return rc;
    pthread_mutex_lock(&a->mu);
    copy(s->hash, sizeof s->hash, hash);
    s->until = now + CACHE_SECONDS < expires ? now + CACHE_SECONDS : expires;
    s->p = *out;
    pthread_mutex_unlock(&a->mu);
    return KITH_OK;
}

/* ---- signing in with a password ------------------------------------------- */

static atomic_int checks_running;

const char *auth_user_scopes(const char *role) {
    return role && strcmp(role, "analyst") == 0 ? "user/*.rs" : "user/*.cruds";
}

kith_rc auth_sign_in(store_conn *c, const char *username, const char *password, auth_principal *out,
                     char token[AUTH_TOKEN_MAX], char *why, size_t whylen) {
    memset(out, 0, sizeof *out);
    static const char WRONG[] = "the username or password is wrong";
    if(!username || !*username || !password || strlen(username) > 120 || strlen(password) > 1024) {
        reason(why, whylen, WRONG);
        return KITH_ENOTFOUND;
    }
    store_account a;
    kith_rc rc = store_account_get(c, "user", username, &a);
    if(rc == KITH_ENOTFOUND) {
        reason(why, whylen, WRONG);
        return rc;
    }
    if(rc) return rc;
    int64_t now = (int64_t)time(NULL);
    if(a.disabled) {
        reason(why, whylen, WRONG);
        rc = KITH_ENOTFOUND;
    } else if(a.locked_until > now) {
        reason(why, whylen, "too many failed sign-ins: this account is locked for a while; try again later");
        rc = KITH_EBUSY;
    } else if(atomic_fetch_add(&checks_running, 1) >= AUTH_MAX_CHECKS) {
        atomic_fetch_sub(&checks_running, 1);
        reason(why, whylen, "too many sign-ins at once; try again in a moment");
        rc = KITH_EBUSY;
    } else {
        bool ok = auth_password_check(a.secret, password);
        atomic_fetch_sub(&checks_running, 1);
        if(ok) {
            a.failures = 0;
            a.locked_until = 0;
            rc = store_account_put(c, &a);
            if(!rc) rc = auth_token_issue(c, "user", username, auth_user_scopes(a.role), AUTH_SESSION_SECONDS, token);
            if(!rc) {
                copy(out->kind, sizeof out->kind, "user");
                copy(out->name, sizeof out->name, a.name);
                copy(out->role, sizeof out->role, a.role);
                copy(out->org, sizeof out->org, a.org);
                copy(out->practitioner, sizeof out->practitioner, a.practitioner);
                copy(out->scopes, sizeof out->scopes, auth_user_scopes(a.role));
            }
        } else {
            a.failures++;
            if(a.failures >= AUTH_LOCK_FAILURES) {
                a.failures = 0;
                a.locked_until = now + AUTH_LOCK_SECONDS;
            }
            store_account_put(c, &a);
            reason(why, whylen, WRONG);
            rc = KITH_ENOTFOUND;
        }
    }
    store_account_free(&a);
    return rc;
}

void auth_csrf_for(const char *session_token, char out[AUTH_HASH_HEX]) {
    buf b = BUF_INIT;
    buf_printf(&b, "kith-csrf\n%s", session_token ? session_token : "");
    auth_sha256_hex(b.data, b.len, out);
    buf_free(&b);
}

kith_rc auth_sign_out(auth_cache *a, store_conn *c, const char *token) {
    char hash[AUTH_HASH_HEX];
    auth_sha256_hex(token, strlen(token), hash);
    if(a) {
        pthread_mutex_lock(&a->mu);
        for(int i = 0; i < CACHE_SLOTS; i++)
            if(strcmp(a->slot[i].hash, hash) == 0) memset(&a->slot[i], 0, sizeof a->slot[i]);
        pthread_mutex_unlock(&a->mu);
    }
    return store_token_delete(c, hash);
}

/* ---- scopes ------------------------------------------------------------- */

/* Parse one scope "ctx/Type.perms"; false if malformed. */
static bool parse_scope(const char *s, size_t n, char *ctx, size_t ctxlen, char *type, size_t typelen, char *perms,
                        size_t permslen) {
    const char *slash = memchr(s, '/', n);
    if(!slash) return false;
    const char *dot = memchr(slash, '.', (size_t)(s + n - slash));
    if(!dot) return false;
    size_t lc = (size_t)(slash - s), lt = (size_t)(dot - slash - 1), lp = (size_t)(s + n - dot - 1);
    if(lc == 0 || lc >= ctxlen || lt == 0 || lt >= typelen || lp == 0 || lp >= permslen) return false;
    memcpy(ctx, s, lc);
    ctx[lc] = '\0';
    memcpy(type, slash + 1, lt);
    type[lt] = '\0';
    memcpy(perms, dot + 1, lp);
    perms[lp] = '\0';
    if(strcmp(ctx, "system") != 0 && strcmp(ctx, "user") != 0 && strcmp(ctx, "patient") != 0) return false;
    for(const char *p = type; *p; p++)
        if(!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '*')) return false;
    if(strcmp(perms, "read") == 0 || strcmp(perms, "write") == 0 || strcmp(perms, "*") == 0) return true;
    const char *order = "cruds";
    for(const char *p = perms; *p; p++) {
        const char *at = strchr(order, *p);
        if(!at) return false;
        order = at + 1; /* v2: letters in the order c r u d s, each once */
    }
    return true;
}

static bool perms_allow(const char *perms, char interaction) {
    if(strcmp(perms, "*") == 0) return true;
    if(strcmp(perms, "read") == 0) return interaction == 'r' || interaction == 's';
    if(strcmp(perms, "write") == 0) return interaction == 'c' || interaction == 'u' || interaction == 'd';
    return strchr(perms, interaction) != NULL;
}

bool auth_scope_allows(const char *scopes, const char *type, char interaction) {
    const char *p = scopes;
    while(p && *p) {
        while(*p == ' ') p++;
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char ctx[16], t[72], perms[16];
        if(n && parse_scope(p, n, ctx, sizeof ctx, t, sizeof t, perms, sizeof perms) &&
           (strcmp(t, "*") == 0 || strcmp(t, type) == 0) && perms_allow(perms, interaction))
            return true;
        p += n;
    }
    return false;
}

bool auth_scopes_within(const char *asked, const char *granted, char *bad, size_t badlen) {
    for(const char *p = asked; p && *p;) {
        while(*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if(!n) break;
        char one[128], ctx[16], type[72], perms[16];
        snprintf(one, sizeof one, "%.*s", (int)n, p);
        bool ok = parse_scope(p, n, ctx, sizeof ctx, type, sizeof type, perms, sizeof perms);
        for(const char *q = "cruds"; *q && ok; q++)
            if(auth_scope_allows(one, type, *q) && !auth_scope_allows(granted, type, *q)) ok = false;
        if(!ok) {
            if(bad) snprintf(bad, badlen, "%s", one);
            return false;
        }
        p += n;
    }
    return true;
}

bool auth_scopes_valid(const char *scopes, char *bad, size_t badlen) {
    const char *p = scopes;
    bool any = false;
    while(p && *p) {
        while(*p == ' ') p++;
        if(!*p) break;
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char ctx[16], t[72], perms[16];
        if(!parse_scope(p, n, ctx, sizeof ctx, t, sizeof t, perms, sizeof perms)) {
            if(bad) snprintf(bad, badlen, "%.*s", (int)n, p);
            return false;
        }
        any = true;
        p += n;
    }
    if(!any && bad) snprintf(bad, badlen, "(none given)");
    return any;
}
