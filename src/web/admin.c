/*
 * admin.c — user accounts from the web interface (see admin.h).
 */
#include "web/admin.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "base/buf.h"
#include "care/care.h"
#include "json/json.h"
#include "web/signin.h"

#define NAME_MAX_LEN 64

/* Letters, digits, '.', '_' and '-': usernames and ids alike. */
static bool plain_name(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if(n == 0 || n > NAME_MAX_LEN) return false;
    for(const char *p = s; *p; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '_' || ch == '-';
        if(!ok) return false;
    }
    return true;
}

static void json_str_or_null(buf *b, const char *s) {
    if(!s) {
        buf_puts(b, "null");
        return;
    }
    buf_putc(b, '"');
    buf_json_escape(b, s);
    buf_putc(b, '"');
}

typedef struct user_list {
    buf *b;
    bool first;
} user_list;

static int list_one(void *ctx, const store_account *a) {
    user_list *l = ctx;
    buf_puts(l->b, l->first ? "" : ",");
    l->first = false;
    buf_puts(l->b, "{\"username\":");
    json_str_or_null(l->b, a->name);
    buf_puts(l->b, ",\"role\":");
    json_str_or_null(l->b, a->role);
    buf_puts(l->b, ",\"organization\":");
    json_str_or_null(l->b, a->org);
    buf_puts(l->b, ",\"practitioner\":");
    json_str_or_null(l->b, a->practitioner);
    buf_printf(l->b, ",\"disabled\":%s,\"locked\":%s,\"created\":%lld}", a->disabled ? "true" : "false",
               a->locked_until > (int64_t)time(NULL) ? "true" : "false", (long long)a->created);
    return 0;
}

static void list_users(store_conn *c, http_response *res) {
    buf b = BUF_INIT;
    user_list l = {.b = &b, .first = true};
    buf_puts(&b, "{\"users\":[");
    kith_rc rc = store_account_list(c, "user", list_one, &l);
    buf_puts(&b, "],\"roles\":[");
    for(int i = 0; auth_roles[i]; i++) buf_printf(&b, "%s\"%s\"", i ? "," : "", auth_roles[i]);
    buf_puts(&b, "]}");
    if(rc) web_reply_error(res, 503, "the users cannot be read just now");
    else web_reply_json(res, 200, buf_str(&b));
    buf_free(&b);
}

static void audit_change(fhir_rest *api, const http_request *req, const auth_principal *who, const char *subtype,
                         char action, const char *username, const char *detail, int outcome) {
    const char *address = req->client_address && *req->client_address ? req->client_address : NULL;
    char what[NAME_MAX_LEN + 16];
    snprintf(what, sizeof what, "user/%s", username ? username : "");
    audit_event ev = {.action = action, .subtype = subtype, .outcome = outcome, .who = who, .what = what,
                      .detail = detail, .address = address, .request_id = req->request_id};
    audit_record(api->audit, &ev);
}

static void add_user(fhir_rest *api, store_conn *c, const http_request *req, http_response *res,
                     const auth_principal *who) {
    json_value *v = NULL;
    if(json_parse(req->body, req->body_len, &v, NULL, 0) || !json_get(v, "username")) {
        json_free(v);
        web_reply_error(res, 400, "send the new user as JSON: username, role, organization, practitioner, password");
        return;
    }
    const char *user = json_string(json_get(v, "username")), *role = json_string(json_get(v, "role"));
    const char *org = json_string(json_get(v, "organization")), *pr = json_string(json_get(v, "practitioner"));
    const char *password = json_string(json_get(v, "password"));
    if(pr && !*pr) pr = NULL;
    const char *bad = !plain_name(user)           ? "the username must be 1-64 letters, digits, '.', '_' or '-'"
                      : !auth_role_valid(role)    ? "choose one of the roles Kith knows"
                      : !plain_name(org)          ? "give the id of the organisation the user works for"
                      : pr && !plain_name(pr)     ? "the practitioner must be a Practitioner id"
                      : !password || strlen(password) < 8 ? "the password must be at least 8 characters"
                      : strlen(password) > 1024   ? "the password is too long"
                                                  : NULL;
    store_account existing;
    store_resource r = {0};
    if(!bad && store_account_get(c, "user", user, &existing) == KITH_OK) {
        store_account_free(&existing);
        json_free(v);
        web_reply_error(res, 409, "there is already a user with that username");
        return;
    }
    if(!bad && store_read(c, "Organization", org, 0, &r) != KITH_OK) bad = "there is no organisation with that id";
    store_resource_free(&r);
    if(!bad && pr) {
        store_resource p = {0};
        if(store_read(c, "Practitioner", pr, 0, &p) != KITH_OK) bad = "there is no practitioner with that id";
        store_resource_free(&p);
    }
    if(bad) {
        json_free(v);
        web_reply_error(res, 400, bad);
        return;
    }
    char hash[AUTH_PWHASH_MAX];
    kith_rc rc = auth_password_hash(password, hash);
    store_account a = {.kind = "user", .name = (char *)user, .role = (char *)role, .org = (char *)org,
                       .practitioner = (char *)pr, .secret = hash, .created = (int64_t)time(NULL)};
    if(!rc) rc = store_account_put(c, &a);
    audit_change(api, req, who, "user-add", 'C', user, role, rc ? 8 : 0);
    if(rc) {
        web_reply_error(res, 503, "the user could not be added just now");
    } else {
        buf b = BUF_INIT;
        buf_puts(&b, "{\"username\":");
        json_str_or_null(&b, user);
        buf_puts(&b, ",\"role\":");
        json_str_or_null(&b, role);
        buf_puts(&b, ",\"organization\":");
        json_str_or_null(&b, org);
        buf_puts(&b, ",\"practitioner\":");
        json_str_or_null(&b, pr);
        buf_puts(&b, ",\"disabled\":false}");
        web_reply_json(res, 201, buf_str(&b));
        buf_free(&b);
    }
    memset(hash, 0, sizeof hash);
    json_free(v);
}

static void set_disabled(fhir_rest *api, store_conn *c, const http_request *req, http_response *res,
                         const auth_principal *who, const char *username, bool disable) {
    store_account a;
    kith_rc rc = plain_name(username) ? store_account_get(c, "user", username, &a) : KITH_ENOTFOUND;
    if(rc == KITH_ENOTFOUND) {
        web_reply_error(res, 404, "there is no user with that username");
        return;
    }
    if(rc) {
        web_reply_error(res, 503, "the users cannot be read just now");
        return;
    }
    if(disable && strcmp(username, who->name) == 0) {
        store_account_free(&a);
        web_reply_error(res, 409, "you cannot disable your own account");
        return;
    }
    a.disabled = disable;
    if(!disable) a.failures = 0, a.locked_until = 0;
    rc = store_account_put(c, &a);
    long moved = 0;
    /* nobody's referrals wait on a leaver: their open Tasks go to their team's duty owner */
    if(!rc && disable && a.practitioner && a.org) rc = care_reassign_leaver(c, a.practitioner, a.org, &moved);
    store_account_free(&a);
    audit_change(api, req, who, disable ? "user-disable" : "user-enable", 'U', username, NULL, rc ? 8 : 0);
    if(rc) {
        web_reply_error(res, 503, "the change could not be saved just now");
        return;
    }
    buf b = BUF_INIT;
    buf_puts(&b, "{\"username\":");
    json_str_or_null(&b, username);
    buf_printf(&b, ",\"disabled\":%s,\"tasksMoved\":%ld}", disable ? "true" : "false", moved);
    web_reply_json(res, 200, buf_str(&b));
    buf_free(&b);
}

void web_admin_users(fhir_rest *api, store_conn *c, const http_request *req, http_response *res) {
    res->route = "auth.users";
    auth_principal who;
    kith_rc rc = web_authenticate(api, c, req, &who);
    if(rc == KITH_EFORBIDDEN) {
        web_reply_error(res, 403, "the X-CSRF-Token header is missing or wrong");
        return;
    }
    if(rc) {
        web_reply_error(res, 401, "not signed in");
        return;
    }
    if(strcmp(who.kind, "user") != 0 || strcmp(who.role, "administrator") != 0) {
        audit_change(api, req, &who, "user-admin-refused", 'E', NULL, "not an administrator", 4);
        web_reply_error(res, 403, "only an administrator may manage users");
        return;
    }
    const char *rest = req->path + strlen("/auth/users");
    bool post = strcmp(req->method, "POST") == 0;
    if(!*rest) {
        if(strcmp(req->method, "GET") == 0) list_users(c, res);
        else if(post) add_user(api, c, req, res, &who);
        else web_reply_error(res, 405, "use GET to list users or POST to add one");
        return;
    }
    char name[NAME_MAX_LEN + 2] = "";
    const char *slash = strchr(rest + 1, '/');
    size_t n = slash ? (size_t)(slash - rest - 1) : 0;
    if(slash && n > 0 && n <= NAME_MAX_LEN) memcpy(name, rest + 1, n), name[n] = '\0';
    const char *action = slash ? slash + 1 : "";
    if(!name[0] || (strcmp(action, "disable") != 0 && strcmp(action, "enable") != 0)) {
        web_reply_error(res, 404, "no such page: /auth/users/NAME/disable or /auth/users/NAME/enable");
        return;
    }
    if(!post) {
        web_reply_error(res, 405, "use POST");
        return;
    }
    set_disabled(api, c, req, res, &who, name, strcmp(action, "disable") == 0);
}
