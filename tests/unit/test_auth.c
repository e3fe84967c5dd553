/* test_auth.c — src/auth: SMART scopes (v2 `cruds`, v1 .read/.write/.*),
 * scope validation, roles, password hashing, SHA-256, and bearer-token
 * resolution against a temporary SQLite store. */
#include "temp_store.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "store/store.h"

static void init(void) {
    cr_assert_eq(auth_init(), KITH_OK);
}

TestSuite(auth, .init = init);

/* ---- auth_scope_allows: data-driven ---------------------------------------- */

typedef struct scope_case {
    const char *scopes;
    const char *type;
    const char *allowed; /* interactions (of c r u d s) the scopes allow on type */
} scope_case;

static const scope_case SCOPE_CASES[] = {
    /* v2: exactly the letters given */
    {"system/Patient.rs", "Patient", "rs"},
    {"system/Patient.rs", "Observation", ""},
    {"system/Patient.rs", "*", ""}, /* a type scope is not a whole-server scope */
    {"system/Patient.c", "Patient", "c"},
    {"system/Patient.cud", "Patient", "cud"},
    {"system/Patient.cruds", "Patient", "cruds"},
    {"system/Observation.s", "Observation", "s"},
    /* wildcard type */
    {"system/*.cruds", "Patient", "cruds"},
    {"system/*.cruds", "AuditEvent", "cruds"},
    {"system/*.cruds", "*", "cruds"},
    {"system/*.rs", "Observation", "rs"},
    {"system/*.rs", "*", "rs"},
    /* user and patient contexts */
    {"user/*.rs", "Condition", "rs"},
    {"user/*.cruds", "Encounter", "cruds"},
    {"patient/Observation.r", "Observation", "r"},
    {"patient/Observation.r", "Patient", ""},
    {"patient/*.rs", "Patient", "rs"},
    /* v1 */
    {"system/Patient.read", "Patient", "rs"},
    {"system/Patient.write", "Patient", "cud"},
    {"system/Patient.*", "Patient", "cruds"},
    {"user/*.read", "Observation", "rs"},
    {"user/*.*", "*", "cruds"},
    {"system/Patient.read", "Observation", ""},
    /* several scopes: the union; extra spaces are fine */
    {"system/Patient.rs system/Observation.c", "Observation", "c"},
    {"system/Patient.rs system/Observation.c", "Patient", "rs"},
    {"  system/Patient.r   system/Patient.s  ", "Patient", "rs"},
    {"system/Patient.c user/Patient.d", "Patient", "cd"},
    /* malformed scopes grant nothing, but do not spoil their neighbours */
    {"Patient.read", "Patient", ""},
    {"Patient.rs", "Patient", ""},
    {"system/Patient", "Patient", ""},
    {"system/Patient.", "Patient", ""},
    {"system/.rs", "Patient", ""},
    {"/Patient.rs", "Patient", ""},
    {"other/Patient.rs", "Patient", ""},
    {"System/Patient.rs", "Patient", ""},
    {"system/Patient.sr", "Patient", ""},    /* v2 letters out of order */
    {"system/Patient.rr", "Patient", ""},    /* a letter twice */
    {"system/Patient.xyz", "Patient", ""},   /* not interactions */
    {"system/Patient.rsx", "Patient", ""},
    {"system/Patient.READ", "Patient", ""},
    {"system/Pati3nt.rs", "Pati3nt", ""},    /* a type is letters (or *) only */
    {"system/Patient.r.s", "Patient", ""},
    {"system/Patient.sr system/Patient.c", "Patient", "c"},
    {"", "Patient", ""},
    {NULL, "Patient", ""},
};

Test(auth, scope_allows_cases) {
    static const char all[] = "cruds";
    for(size_t i = 0; i < sizeof SCOPE_CASES / sizeof SCOPE_CASES[0]; i++) {
        const scope_case *k = &SCOPE_CASES[i];
        for(const char *x = all; *x; x++) {
            bool want = strchr(k->allowed, *x) != NULL;
            cr_expect_eq(auth_scope_allows(k->scopes, k->type, *x), want, "scopes '%s' on %s, interaction %c: want %s",
                         k->scopes ? k->scopes : "(null)", k->type, *x, want ? "allowed" : "refused");
        }
    }
}

Test(auth, scope_type_is_exact) {
    /* a type scope is not a prefix match */
    cr_expect_not(auth_scope_allows("system/Patient.rs", "PatientX", 'r'));
    cr_expect_not(auth_scope_allows("system/Pat.rs", "Patient", 'r'));
    cr_expect_not(auth_scope_allows("system/patient.rs", "Patient", 'r'));
}

/* ---- auth_scopes_valid ------------------------------------------------------- */

typedef struct valid_case {
    const char *scopes;
    bool valid;
    const char *bad; /* the first bad scope reported, when invalid */
} valid_case;

static const valid_case VALID_CASES[] = {
    {"system/*.cruds", true, NULL},
    {"system/Patient.rs", true, NULL},
    {"system/Patient.c", true, NULL},
    {"system/Patient.cruds user/*.rs patient/Observation.r", true, NULL},
    {"system/Patient.read", true, NULL},
    {"system/Patient.write", true, NULL},
    {"user/*.*", true, NULL},
    {"  system/Patient.rs  ", true, NULL},
    {"system/Patient.xyz", false, "system/Patient.xyz"},
    {"Patient.read", false, "Patient.read"},
    {"system/Patient.sr", false, "system/Patient.sr"},
    {"system/Patient.rr", false, "system/Patient.rr"},
    {"system/Patient", false, "system/Patient"},
    {"system/.r", false, "system/.r"},
    {"admin/Patient.r", false, "admin/Patient.r"},
    {"system/Pati3nt.r", false, "system/Pati3nt.r"},
    {"system/Patient.rs Patient.read", false, "Patient.read"},
    {"system/Patient.rs system/Observation.sr user/*.rs", false, "system/Observation.sr"},
    {"", false, "(none given)"},
    {"   ", false, "(none given)"},
};

Test(auth, scopes_valid_cases) {
    for(size_t i = 0; i < sizeof VALID_CASES / sizeof VALID_CASES[0]; i++) {
        const valid_case *k = &VALID_CASES[i];
        char bad[128] = "";
        bool got = auth_scopes_valid(k->scopes, bad, sizeof bad);
        cr_expect_eq(got, k->valid, "'%s': want %s", k->scopes, k->valid ? "valid" : "invalid");
        if(!k->valid) cr_expect_str_eq(bad, k->bad, "'%s': the bad scope reported", k->scopes);
    }
}

Test(auth, scopes_valid_without_bad_buffer) {
    cr_expect(auth_scopes_valid("system/*.rs", NULL, 0));
    cr_expect_not(auth_scopes_valid("nonsense", NULL, 0));
    cr_expect_not(auth_scopes_valid(NULL, NULL, 0));
}

Test(auth, scopes_valid_truncates_a_long_bad_scope) {
    char scope[400];
    memset(scope, 'x', sizeof scope - 1);
    scope[sizeof scope - 1] = '\0';
    char bad[16];
    cr_expect_not(auth_scopes_valid(scope, bad, sizeof bad));
    cr_expect_eq(strlen(bad), sizeof bad - 1);
}

/* ---- roles ----------------------------------------------------------------- */

Test(auth, roles) {
    static const char *const known[] = {"gp",        "practice-staff", "community-nurse", "therapist",
                                        "social-worker", "care-coordinator", "discharge-coordinator",
                                        "mdt-chair", "team-lead",      "analyst",         "administrator"};
    for(size_t i = 0; i < sizeof known / sizeof known[0]; i++) cr_expect(auth_role_valid(known[i]), "%s", known[i]);
    size_t n = 0;
    while(auth_roles[n]) n++;
    cr_expect_eq(n, sizeof known / sizeof known[0], "auth_roles lists exactly the documented roles");
    static const char *const unknown[] = {"", "GP", "admin", "Administrator", "gp ", " gp", "nurse", "root", "analyst\n"};
    for(size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        cr_expect_not(auth_role_valid(unknown[i]), "'%s' is not a role", unknown[i]);
    cr_expect_not(auth_role_valid(NULL));
}

/* ---- hashing ---------------------------------------------------------------- */

Test(auth, sha256_known_vectors) {
    char out[AUTH_HASH_HEX];
    auth_sha256_hex("abc", 3, out);
    cr_expect_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    auth_sha256_hex("", 0, out);
    cr_expect_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    auth_sha256_hex(two, strlen(two), out);
    cr_expect_str_eq(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(auth, password_round_trip) {
    char hash[AUTH_PWHASH_MAX];
    cr_assert_eq(auth_password_hash("correct horse battery", hash), KITH_OK);
    cr_expect(strncmp(hash, "$argon2id$", 10) == 0, "an argon2id hash: %s", hash);
    cr_expect_null(strstr(hash, "correct horse"), "the hash does not contain the password");
    cr_expect(auth_password_check(hash, "correct horse battery"));
    cr_expect_not(auth_password_check(hash, "correct horse batterY"));
    cr_expect_not(auth_password_check(hash, "correct horse battery "));
    cr_expect_not(auth_password_check(hash, ""));
    cr_expect_not(auth_password_check(hash, NULL));
    cr_expect_not(auth_password_check(NULL, "correct horse battery"));
    cr_expect_not(auth_password_check("not a hash", "correct horse battery"));

    char again[AUTH_PWHASH_MAX];
    cr_assert_eq(auth_password_hash("correct horse battery", again), KITH_OK);
    cr_expect_str_neq(hash, again, "each hash has its own salt");
    cr_expect(auth_password_check(again, "correct horse battery"));
}

/* ---- tokens against a store ------------------------------------------------ */

static char dbpath[TEMP_STORE_PATH];
static store *st;
static store_conn *conn;

static void store_setup(void) {
    init();
    st = temp_store_open("auth", dbpath, &conn);
}

static void store_teardown(void) {
    temp_store_remove(st, dbpath);
}

TestSuite(auth_token, .init = store_setup, .fini = store_teardown);

static void add_user(const char *name, const char *role, bool disabled) {
    store_account a = {.kind = "user", .name = (char *)name, .role = (char *)role, .org = "org-1",
                       .practitioner = "pr-1", .disabled = disabled, .created = (int64_t)time(NULL)};
    cr_assert_eq(store_account_put(conn, &a), KITH_OK);
}

Test(auth_token, issue_and_resolve) {
    add_user("alice", "gp", false);
    char token[AUTH_TOKEN_MAX];
    cr_assert_eq(auth_token_issue(conn, "user", "alice", "user/*.cruds", 3600, token), KITH_OK);
    cr_expect(strncmp(token, "kith_", 5) == 0, "token %s", token);
    char other[AUTH_TOKEN_MAX];
    cr_assert_eq(auth_token_issue(conn, "user", "alice", "user/*.cruds", 3600, other), KITH_OK);
    cr_expect_str_neq(token, other, "tokens are random");

    /* only the token's hash is stored */
    store_token t;
    cr_expect_eq(store_token_get(conn, token, &t), KITH_ENOTFOUND);
    char hash[AUTH_HASH_HEX];
    auth_sha256_hex(token, strlen(token), hash);
    cr_assert_eq(store_token_get(conn, hash, &t), KITH_OK);
    store_token_free(&t);

    auth_cache *a = auth_cache_new();
    char header[128], why[160];
    snprintf(header, sizeof header, "Bearer %s", token);
    auth_principal p;
    cr_assert_eq(auth_authenticate(a, conn, header, &p, why, sizeof why), KITH_OK, "%s", why);
    cr_expect_str_eq(p.kind, "user");
    cr_expect_str_eq(p.name, "alice");
    cr_expect_str_eq(p.role, "gp");
    cr_expect_str_eq(p.org, "org-1");
    cr_expect_str_eq(p.practitioner, "pr-1");
    cr_expect_str_eq(p.scopes, "user/*.cruds");
    /* again, from the cache; the scheme is case-insensitive */
    snprintf(header, sizeof header, "bearer %s", token);
    cr_expect_eq(auth_authenticate(a, conn, header, &p, why, sizeof why), KITH_OK, "%s", why);
    cr_expect_str_eq(p.name, "alice");
    auth_cache_free(a);
}

Test(auth_token, refusals) {
    add_user("bob", "analyst", false);
    add_user("carol", "gp", true);
    auth_cache *a = auth_cache_new();
    char header[256], why[160];
    auth_principal p;

    cr_expect_eq(auth_authenticate(a, conn, NULL, &p, why, sizeof why), KITH_EINVAL);
    cr_expect_eq(auth_authenticate(a, conn, "", &p, why, sizeof why), KITH_EINVAL);
    cr_expect_eq(auth_authenticate(a, conn, "Basic Ym9iOnNlY3JldA==", &p, why, sizeof why), KITH_EINVAL);
    cr_expect(strstr(why, "bearer") != NULL, "why: %s", why);
    cr_expect_eq(auth_authenticate(a, conn, "Bearer ", &p, why, sizeof why), KITH_ENOTFOUND);
    cr_expect_eq(auth_authenticate(a, conn, "Bearer kith_not-a-token", &p, why, sizeof why), KITH_ENOTFOUND);
    cr_expect_eq(auth_authenticate(a, conn, "Bearer ' OR 1=1 --", &p, why, sizeof why), KITH_ENOTFOUND);
    char longer[120];
    memset(longer, 'k', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    snprintf(header, sizeof header, "Bearer %s", longer);
    cr_expect_eq(auth_authenticate(a, conn, header, &p, why, sizeof why), KITH_ENOTFOUND);
    cr_expect_str_eq(p.name, "", "nothing is filled in on refusal");

    /* expired (ttl 0: expires now) */
    char token[AUTH_TOKEN_MAX];
    cr_assert_eq(auth_token_issue(conn, "user", "bob", "user/*.rs", 0, token), KITH_OK);
    snprintf(header, sizeof header, "Bearer %s", token);
    cr_expect_eq(auth_authenticate(a, conn, header, &p, why, sizeof why), KITH_ENOTFOUND);
    cr_expect(strstr(why, "expired") != NULL, "why: %s", why);

    /* disabled account */
    cr_assert_eq(auth_token_issue(conn, "user", "carol", "user/*.cruds", 3600, token), KITH_OK);
    snprintf(header, sizeof header, "Bearer %s", token);
    cr_expect_eq(auth_authenticate(a, conn, header, &p, why, sizeof why), KITH_ENOTFOUND);
    cr_expect(strstr(why, "disabled") != NULL, "why: %s", why);

    /* an account that does not exist */
    cr_assert_eq(auth_token_issue(conn, "user", "nobody", "user/*.cruds", 3600, token), KITH_OK);
    snprintf(header, sizeof header, "Bearer %s", token);
    cr_expect_eq(auth_authenticate(a, conn, header, &p, why, sizeof why), KITH_ENOTFOUND);
    auth_cache_free(a);
}
