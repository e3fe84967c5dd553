/*
 * patch.c — JSON Patch (RFC 6902): add, remove, replace, move, copy, test,
 * with JSON Pointer (RFC 6901) paths. Works on json.h trees; no state.
 */
#include "fhir/patch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* A resolved pointer: the container and the last token. */
typedef struct target {
    json_value *parent; /* object or array holding the target */
    char *key;          /* last token, unescaped (owned) */
    bool is_array;
    size_t index;       /* arrays: the index (== length for "-") */
    bool append;        /* arrays: the token was "-" */
} target;

static void unescape(char *s) {
    char *w = s;
    for(char *r = s; *r; r++) {
        if(*r == '~' && r[1] == '1') {
            *w++ = '/';
            r++;
        } else if(*r == '~' && r[1] == '0') {
            *w++ = '~';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static bool parse_index(const char *tok, size_t *out) {
    if(!*tok || (tok[0] == '0' && tok[1])) return false;
    size_t v = 0;
    for(const char *p = tok; *p; p++) {
        if(*p < '0' || *p > '9') return false;
        if(v > 100000000) return false;
        v = v * 10 + (size_t)(*p - '0');
    }
    *out = v;
    return true;
}

/* Follow pointer up to its last token. "" (the whole document) is refused:
 * a patch may not replace the resource itself. */
static kith_rc resolve(json_value *doc, const char *pointer, target *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    if(pointer[0] != '/') {
        snprintf(err, errlen, "path '%s' must start with '/'", pointer);
        return KITH_EINVAL;
    }
    char *copy = xstrdup(pointer + 1);
    json_value *cur = doc;
    char *tok = copy;
    for(;;) {
        char *slash = strchr(tok, '/');
        if(slash) *slash = '\0';
        unescape(tok);
        if(!slash) {
            t->parent = cur;
            t->key = xstrdup(tok);
            if(json_kind_of(cur) == JSON_ARRAY) {
                t->is_array = true;
                if(strcmp(tok, "-") == 0) {
                    t->append = true;
                    t->index = json_array_len(cur);
                } else if(!parse_index(tok, &t->index)) {
                    snprintf(err, errlen, "'%s' in path '%s' is not an array index", tok, pointer);
                    free(copy);
                    free(t->key);
                    t->key = NULL;
                    return KITH_EINVAL;
                }
            } else if(json_kind_of(cur) != JSON_OBJECT) {
                snprintf(err, errlen, "path '%s' goes through a value that is not an object or array", pointer);
                free(copy);
                free(t->key);
                t->key = NULL;
                return KITH_EINVAL;
            }
            free(copy);
            return KITH_OK;
        }
        json_value *next = NULL;
        if(json_kind_of(cur) == JSON_OBJECT) {
            next = json_get(cur, tok);
        } else if(json_kind_of(cur) == JSON_ARRAY) {
            size_t i;
            if(parse_index(tok, &i)) next = json_array_at(cur, i);
        }
        if(!next) {
            snprintf(err, errlen, "path '%s' does not exist (at '%s')", pointer, tok);
            free(copy);
            return KITH_EINVAL;
        }
        cur = next;
        tok = slash + 1;
    }
}

static json_value *target_get(const target *t) {
    if(t->is_array) return t->append ? NULL : json_array_at(t->parent, t->index);
    return json_get(t->parent, t->key);
}

static bool target_exists(const target *t) {
    if(t->is_array) return !t->append && t->index < json_array_len(t->parent);
    return json_has(t->parent, t->key);
}

/* Add value (ownership taken) at t. */
static kith_rc target_add(const target *t, json_value *value, char *err, size_t errlen) {
    if(t->is_array) {
        if(t->index > json_array_len(t->parent)) {
            snprintf(err, errlen, "index %zu is past the end of the array", t->index);
            json_free(value);
            return KITH_EINVAL;
        }
        json_array_insert(t->parent, t->index, value);
    } else {
        json_set(t->parent, t->key, value);
    }
    return KITH_OK;
}

static void target_remove(const target *t) {
    if(t->is_array)
        json_array_remove(t->parent, t->index);
    else
        json_remove(t->parent, t->key);
}

kith_rc json_patch_apply(json_value *doc, const json_value *patch, fhir_issues *issues) {
    if(json_kind_of(patch) != JSON_ARRAY) {
        fhir_issues_add(issues, "error", "structure", NULL, "a JSON Patch document is an array of operations");
        return KITH_EINVAL;
    }
    size_t n = json_array_len(patch);
    if(n > PATCH_MAX_OPS) {
        fhir_issues_add(issues, "error", "too-costly", NULL, "at most %d patch operations are accepted", PATCH_MAX_OPS);
        return KITH_EINVAL;
    }
    char err[300];
    kith_rc rc = KITH_OK;
    for(size_t i = 0; i < n && !rc; i++) {
        json_value *op = json_array_at(patch, i);
        const char *name = json_string(json_get(op, "op"));
        const char *path = json_string(json_get(op, "path"));
        const char *from = json_string(json_get(op, "from"));
        json_value *value = json_get(op, "value");
        bool has_value = json_has(op, "value");
        target t = {0}, f = {0};
        err[0] = '\0';
        if(!name || !path) {
            snprintf(err, sizeof err, "needs 'op' and 'path'");
            rc = KITH_EINVAL;
        } else if(path[0] == '\0') {
            snprintf(err, sizeof err, "may not replace the whole resource");
            rc = KITH_EINVAL;
        } else if((rc = resolve(doc, path, &t, err, sizeof err))) {
            /* err set */
        } else if(strcmp(name, "add") == 0) {
            if(!has_value) {
                snprintf(err, sizeof err, "'add' needs a value");
                rc = KITH_EINVAL;
            } else {
                rc = target_add(&t, json_copy(value), err, sizeof err);
            }
        } else if(strcmp(name, "remove") == 0) {
            if(!target_exists(&t)) {
                snprintf(err, sizeof err, "nothing at '%s' to remove", path);
                rc = KITH_EINVAL;
            } else {
                target_remove(&t);
            }
        } else if(strcmp(name, "replace") == 0) {
            if(!has_value || !target_exists(&t)) {
                snprintf(err, sizeof err, has_value ? "nothing at '%s' to replace" : "'replace' needs a value", path);
                rc = KITH_EINVAL;
            } else if(t.is_array) {
                json_array_set(t.parent, t.index, json_copy(value));
            } else {
                json_set(t.parent, t.key, json_copy(value));
            }
        } else if(strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
            bool move = name[0] == 'm';
            if(!from) {
                snprintf(err, sizeof err, "'%s' needs 'from'", name);
                rc = KITH_EINVAL;
            } else if(move && strncmp(path, from, strlen(from)) == 0 && (path[strlen(from)] == '/')) {
                snprintf(err, sizeof err, "cannot move '%s' into itself", from);
                rc = KITH_EINVAL;
            } else if(!(rc = resolve(doc, from, &f, err, sizeof err))) {
                json_value *src = target_get(&f);
                if(!target_exists(&f)) {
                    snprintf(err, sizeof err, "nothing at '%s' to %s", from, name);
                    rc = KITH_EINVAL;
                } else {
                    json_value *v = move ? json_retain(src) : json_copy(src);
                    if(move) target_remove(&f);
                    /* The destination may have shifted if it shares an array with from: re-resolve. */
                    free(t.key);
                    rc = resolve(doc, path, &t, err, sizeof err);
                    if(!rc)
                        rc = target_add(&t, v, err, sizeof err);
                    else
                        json_free(v);
                }
            }
        } else if(strcmp(name, "test") == 0) {
            if(!target_exists(&t) || !json_equal(target_get(&t), value)) {
                snprintf(err, sizeof err, "test failed: '%s' does not have the given value", path);
                rc = KITH_ECONFLICT;
            }
        } else {
            snprintf(err, sizeof err, "unknown op '%s'", name);
            rc = KITH_EINVAL;
        }
        free(t.key);
        free(f.key);
        if(rc) {
            char where[32];
            snprintf(where, sizeof where, "operation %zu", i);
            fhir_issues_add(issues, "error", rc == KITH_ECONFLICT ? "conflict" : "invalid", NULL, "JSON Patch %s (%s): %s",
                            where, name ? name : "?", err);
        }
    }
    return rc;
}
