/*
 * patch.c — the two PATCH formats FHIR R4 names: JSON Patch (RFC 6902: add,
 * remove, replace, move, copy, test, with JSON Pointer paths) and FHIRPath
 * Patch (a Parameters resource: add, insert, delete, replace, move, with
 * FHIRPath paths evaluated by our engine). Both work on json.h trees in
 * place; no state, thread-safe.
 */
#include "fhir/patch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "fhir/fhirpath.h"
#include "fhir/model.h"

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

/* ---- FHIRPath Patch ------------------------------------------------------ */

/* Where a node sits: its container and key or index. */
typedef struct place {
    json_value *parent;
    const char *key; /* borrowed from the tree */
    size_t index;
    bool in_array;
    json_value *array_owner; /* the object holding the array */
    const char *array_key;
} place;

static bool find_place(json_value *tree, const json_value *node, place *out, json_value *owner, const char *okey,
                       int depth) {
    if(depth > 64) return false;
    json_kind k = json_kind_of(tree);
    if(k == JSON_OBJECT) {
        json_iter it = json_iter_start(tree);
        const char *key;
        json_value *child;
        while(json_iter_next(&it, &key, &child)) {
            if(child == node) {
                *out = (place){.parent = tree, .key = key};
                return true;
            }
            if(child && find_place(child, node, out, tree, key, depth + 1)) return true;
        }
    } else if(k == JSON_ARRAY) {
        for(size_t i = 0; i < json_array_len(tree); i++) {
            json_value *child = json_array_at(tree, i);
            if(child == node) {
                *out = (place){.parent = tree, .index = i, .in_array = true, .array_owner = owner, .array_key = okey};
                return true;
            }
            if(child && find_place(child, node, out, tree, NULL, depth + 1)) return true;
        }
    }
    return false;
}

static const json_value *part(const json_value *op, const char *name) {
    json_value *parts = json_get(op, "part");
    for(size_t i = 0; i < json_array_len(parts); i++) {
        json_value *p = json_array_at(parts, i);
        const char *n = json_string(json_get(p, "name"));
        if(n && strcmp(n, name) == 0) return p;
    }
    return NULL;
}

static const char *part_string(const json_value *op, const char *name) {
    const json_value *p = part(op, name);
    json_iter it = json_iter_start(p);
    const char *key;
    json_value *v;
    while(json_iter_next(&it, &key, &v))
        if(strncmp(key, "value", 5) == 0) return json_string(v);
    return NULL;
}

static bool part_int(const json_value *op, const char *name, size_t *out) {
    const json_value *p = part(op, name);
    int64_t v;
    if(!p || !json_int64(json_get(p, "valueInteger"), &v) || v < 0) return false;
    *out = (size_t)v;
    return true;
}

/* The value a parameter part carries (caller frees): its value[x] (type
 * suffix in *suffix), or an object built from its own name/value parts. */
static json_value *value_of(const json_value *p, const char **suffix, int depth) {
    *suffix = NULL;
    if(!p || depth > 16) return NULL;
    json_iter it = json_iter_start(p);
    const char *key;
    json_value *v;
    while(json_iter_next(&it, &key, &v)) {
        if(strncmp(key, "value", 5) == 0 && key[5] >= 'A' && key[5] <= 'Z') {
            *suffix = key + 5;
            return json_copy(v);
        }
    }
    json_value *parts = json_get(p, "part");
    if(!json_array_len(parts)) return NULL;
    json_value *obj = json_new_object();
    for(size_t i = 0; i < json_array_len(parts); i++) {
        json_value *q = json_array_at(parts, i);
        const char *n = json_string(json_get(q, "name"));
        const char *sfx;
        json_value *pv = value_of(q, &sfx, depth + 1);
        if(n && pv)
            json_set(obj, n, pv);
        else
            json_free(pv);
    }
    return obj;
}

static json_value *part_value(const json_value *op, const char **suffix) {
    return value_of(part(op, "value"), suffix, 0);
}

/* Evaluate path on doc: exactly one node (want_one) or at most one. */
static kith_rc eval_nodes(json_value *doc, const char *path, fhirpath_result **out, fhir_issues *is, size_t i) {
    fhirpath_expr *e = NULL;
    size_t pos = 0;
    char err[200];
    if(!path || fhirpath_parse(path, &e, &pos, err, sizeof err)) {
        fhir_issues_add(is, "error", "invalid", NULL, "FHIRPath Patch operation %zu: path '%s' is not FHIRPath%s%s", i,
                        path ? path : "", path ? ": " : "", path ? err : "");
        return KITH_EINVAL;
    }
    kith_rc rc = fhirpath_eval(e, doc, NULL, out, err, sizeof err);
    fhirpath_free(e);
    if(rc) {
        fhir_issues_add(is, "error", "invalid", NULL, "FHIRPath Patch operation %zu: %s", i, err);
        return KITH_EINVAL;
    }
    return KITH_OK;
}

kith_rc fhirpath_patch_apply(json_value *doc, const json_value *params, fhir_issues *is) {
    const char *rt = json_string(json_get(params, "resourceType"));
    if(!rt || strcmp(rt, "Parameters") != 0) {
        fhir_issues_add(is, "error", "structure", NULL, "a FHIRPath Patch is a Parameters resource");
        return KITH_EINVAL;
    }
    json_value *ops = json_get(params, "parameter");
    size_t nops = json_array_len(ops);
    if(nops > PATCH_MAX_OPS) {
        fhir_issues_add(is, "error", "too-costly", NULL, "at most %d patch operations are accepted", PATCH_MAX_OPS);
        return KITH_EINVAL;
    }
    kith_rc rc = KITH_OK;
    for(size_t i = 0; i < nops && !rc; i++) {
        const json_value *op = json_array_at(ops, i);
        const char *type = part_string(op, "type");
        const char *path = part_string(op, "path");
        fhirpath_result *r = NULL;
        if(!type) {
            fhir_issues_add(is, "error", "required", NULL, "FHIRPath Patch operation %zu has no type", i);
            rc = KITH_EINVAL;
            break;
        }
        if((rc = eval_nodes(doc, path, &r, is, i))) break;
        size_t n = fhirpath_result_count(r);
        const fhirpath_item *it = n ? fhirpath_result_at(r, 0) : NULL;
        if(it && it->kind != FP_NODE) {
            fhir_issues_add(is, "error", "invalid", NULL, "FHIRPath Patch operation %zu: path '%s' is not an element", i,
                            path);
            rc = KITH_EINVAL;
        } else if(strcmp(type, "delete") == 0) {
            if(n > 1) {
                fhir_issues_add(is, "error", "multiple-matches", NULL, "delete: path '%s' matches %zu elements", path, n);
                rc = KITH_EINVAL;
            } else if(n == 1) {
                place pl;
                if(find_place(doc, it->node, &pl, NULL, NULL, 0)) {
                    if(pl.in_array) {
                        json_array_remove(pl.parent, pl.index);
                        if(json_array_len(pl.parent) == 0 && pl.array_owner) json_remove(pl.array_owner, pl.array_key);
                    } else {
                        json_remove(pl.parent, pl.key);
                    }
                }
            }
        } else if(n != 1 && !(n > 1 && (strcmp(type, "insert") == 0 || strcmp(type, "move") == 0))) {
            /* insert and move name a whole list, which may hold several elements */
            fhir_issues_add(is, "error", n ? "multiple-matches" : "not-found", NULL,
                            "%s: path '%s' must match exactly one element, not %zu", type, path, n);
            rc = KITH_EINVAL;
        } else if(strcmp(type, "add") == 0) {
            const char *name = part_string(op, "name"), *sfx;
            json_value *v = part_value(op, &sfx);
            json_value *target = (json_value *)it->node;
            if(!name || !v || json_kind_of(target) != JSON_OBJECT) {
                fhir_issues_add(is, "error", "invalid", NULL, "add needs a name, a value and an element to add to");
                json_free(v);
                rc = KITH_EINVAL;
            } else {
                const fhir_type *t = it->type ? fhir_type_find(it->type) : NULL;
                char key[128];
                snprintf(key, sizeof key, "%s", name);
                const fhir_elem *e = t ? fhir_type_elem(t, key) : NULL;
                if(!e && t && sfx) {
                    snprintf(key, sizeof key, "%s%s", name, sfx); /* a choice: deceased -> deceasedBoolean */
                    e = fhir_type_elem(t, key);
                }
                json_value *have = json_get(target, key);
                if(json_kind_of(have) == JSON_ARRAY) {
                    json_append(have, v);
                } else if(!have && e && (e->flags & FHIR_ELEM_MANY)) {
                    json_value *arr = json_new_array();
                    json_append(arr, v);
                    json_set(target, key, arr);
                } else if(!have) {
                    json_set(target, key, v);
                } else {
                    fhir_issues_add(is, "error", "invalid", NULL, "add: '%s' already has a value; use replace", key);
                    json_free(v);
                    rc = KITH_EINVAL;
                }
            }
        } else if(strcmp(type, "replace") == 0) {
            const char *sfx;
            json_value *v = part_value(op, &sfx);
            place pl;
            if(!v || !find_place(doc, it->node, &pl, NULL, NULL, 0)) {
                fhir_issues_add(is, "error", "invalid", NULL, "replace needs a value and an element to replace");
                json_free(v);
                rc = KITH_EINVAL;
            } else if(pl.in_array) {
                json_array_set(pl.parent, pl.index, v);
            } else {
                json_set(pl.parent, pl.key, v);
            }
        } else if(strcmp(type, "insert") == 0 || strcmp(type, "move") == 0) {
            /* path names a list element; its array is the list */
            place pl;
            size_t index = 0, source = 0;
            bool move = type[0] == 'm';
            if(!find_place(doc, it->node, &pl, NULL, NULL, 0) || !pl.in_array) {
                fhir_issues_add(is, "error", "invalid", NULL, "%s: path '%s' is not a list", type, path);
                rc = KITH_EINVAL;
            } else if(!part_int(op, move ? "destination" : "index", &index) || (move && !part_int(op, "source", &source))) {
                fhir_issues_add(is, "error", "required", NULL, "%s needs %s", type,
                                move ? "source and destination" : "an index");
                rc = KITH_EINVAL;
            } else {
                /* the whole list: all siblings of the matched element */
                json_value *list = pl.parent;
                size_t len = json_array_len(list);
                if(move) {
                    if(source >= len || index >= len) {
                        fhir_issues_add(is, "error", "invalid", NULL, "move: index out of range");
                        rc = KITH_EINVAL;
                    } else {
                        json_value *v = json_retain(json_array_at(list, source));
                        json_array_remove(list, source);
                        json_array_insert(list, index, v);
                    }
                } else {
                    const char *sfx;
                    json_value *v = part_value(op, &sfx);
                    if(!v || index > len) {
                        fhir_issues_add(is, "error", "invalid", NULL, "insert needs a value and an index within the list");
                        json_free(v);
                        rc = KITH_EINVAL;
                    } else {
                        json_array_insert(list, index, v);
                    }
                }
            }
        } else {
            fhir_issues_add(is, "error", "invalid", NULL, "unknown FHIRPath Patch operation type '%s'", type);
            rc = KITH_EINVAL;
        }
        fhirpath_result_free(r);
    }
    return rc;
}
