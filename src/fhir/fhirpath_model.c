/*
 * fhirpath_model.c — what FHIRPath needs from the R4 model (model.h): the
 * FHIR type of every node it walks to, choice elements (Observation.value
 * finds valueQuantity), the `_name` siblings that carry a primitive's id and
 * extensions, and the type hierarchy that `is`, `as` and `ofType` test
 * (Age is a Quantity, code is a string, Patient is a DomainResource).
 *
 * Everything here reads static tables and the borrowed JSON of the input; it
 * allocates only collection space from the evaluation's arena, so it is safe
 * from any number of threads (on distinct resources, see fhirpath.h).
 */
#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "fhir/fhirpath_int.h"

/* Type names -> types, hashed: every evaluation types its resource by name.
 * Built once (pthread_once), read-only afterwards. */
#define TYPE_SLOTS 2048 /* power of two, > 2 x the model's 680 types */
static const fhir_type *type_slots[TYPE_SLOTS];
static pthread_once_t type_once = PTHREAD_ONCE_INIT;

static uint32_t name_hash(const char *s) {
    uint32_t h = 2166136261u;
    for(; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void build_type_slots(void) {
    for(size_t i = 0; i < fhir_model_type_count; i++) {
        uint32_t h = name_hash(fhir_model_str(fhir_model_types[i].name)) & (TYPE_SLOTS - 1);
        while(type_slots[h]) h = (h + 1) & (TYPE_SLOTS - 1);
        type_slots[h] = &fhir_model_types[i];
    }
}

const fhir_type *fpm_type(const char *name) {
    if(fhir_model_type_count * 2 > TYPE_SLOTS) return fhir_type_find(name);
    pthread_once(&type_once, build_type_slots);
    uint32_t h = name_hash(name) & (TYPE_SLOTS - 1);
    for(const fhir_type *t; (t = type_slots[h]); h = (h + 1) & (TYPE_SLOTS - 1))
        if(strcmp(fhir_model_str(t->name), name) == 0) return t;
    return NULL;
}

static const fhir_type *resource_type(const char *name) {
    const fhir_type *t = fpm_type(name);
    return t && t->kind == FHIR_KIND_RESOURCE ? t : NULL;
}

const char *fpm_type_name(const fhir_type *t) { return t ? fhir_model_str(t->name) : NULL; }

static bool in_list(const char *s, const char *const *list) {
    for(; *list; list++)
        if(strcmp(s, *list) == 0) return true;
    return false;
}

bool fpm_is_a(const char *have, const char *want) {
    static const char *const QTY[] = {"Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity", NULL};
    static const char *const STR[] = {"code", "id", "markdown", NULL};
    static const char *const INT[] = {"positiveInt", "unsignedInt", NULL};
    static const char *const URI[] = {"url", "canonical", "oid", "uuid", NULL};
    static const char *const NONDOMAIN[] = {"Bundle", "Binary", "Parameters", NULL};
    if(!have || !want) return false;
    if(strcmp(have, want) == 0) return true;
    /* only these have subtypes; everything else matches itself alone */
    switch(want[0]) {
    case 'Q': case 's': case 'i': case 'u': case 'R': case 'D': case 'B': case 'E': break;
    default: return false;
    }
    if(strcmp(want, "Quantity") == 0) return in_list(have, QTY);
    if(strcmp(want, "string") == 0) return in_list(have, STR);
    if(strcmp(want, "integer") == 0) return in_list(have, INT);
    if(strcmp(want, "uri") == 0) return in_list(have, URI);
    if(strcmp(want, "Resource") == 0) return resource_type(have) != NULL;
    if(strcmp(want, "DomainResource") == 0) return resource_type(have) && !in_list(have, NONDOMAIN);
    if(strcmp(want, "BackboneElement") == 0) return strchr(have, '.') != NULL;
    if(strcmp(want, "Element") == 0) return !resource_type(have) && fpm_type(have) != NULL;
    if(strcmp(want, "Base") == 0) return true;
    return false;
}

const char *fpm_system_type(const fhir_type *t) {
    if(!t || t->kind != FHIR_KIND_PRIMITIVE) return NULL;
    switch((fhir_prim)t->prim) {
    case FHIR_PRIM_BOOLEAN: return "Boolean";
    case FHIR_PRIM_INTEGER:
    case FHIR_PRIM_POSITIVEINT:
    case FHIR_PRIM_UNSIGNEDINT: return "Integer";
    case FHIR_PRIM_DECIMAL: return "Decimal";
    case FHIR_PRIM_DATE: return "Date";
    case FHIR_PRIM_DATETIME:
    case FHIR_PRIM_INSTANT: return "DateTime";
    case FHIR_PRIM_TIME: return "Time";
    default: return "String";
    }
}

/* ---- items for nodes ----------------------------------------------------------- */

void fp_node_item(fp_item *it, const json_value *v, const json_value *ext, const fhir_type *ft) {
    memset(it, 0, sizeof *it);
    it->v.kind = FP_NODE;
    it->v.node = v;
    it->ext = ext;
    /* (json_kind_of formats numbers to tell decimals from integers: the model
     * answers most questions about a node without asking json-c) */
    if(!ft || ft->kind == FHIR_KIND_ANY_RESOURCE) {
        const char *rt = json_string(json_get(v, "resourceType")); /* NULL unless an object */
        const fhir_type *r = rt ? resource_type(rt) : NULL;
        if(r) ft = r;
    }
    it->ft = ft;
    it->v.type = ft ? fhir_model_str(ft->name) : NULL;
    if(!it->v.type) {
        /* unknown: guess from the JSON */
        switch(json_kind_of(v)) {
        case JSON_BOOL: it->v.type = "boolean"; break;
        case JSON_INTEGER: it->v.type = "integer"; break;
        case JSON_DECIMAL: it->v.type = "decimal"; break;
        case JSON_STRING: it->v.type = "string"; break;
        default: it->v.type = "Element"; break;
        }
        if(!ft && json_kind_of(v) != JSON_OBJECT) it->ft = fpm_type(it->v.type);
    }
}

void fp_resource_item(fp_item *it, const json_value *res) { fp_node_item(it, res, NULL, NULL); }

/* Add the value(s) of one property: v may be an array, ext its `_name`
 * sibling (aligned array for primitives). */
static void add_values(fp_ctx *c, fp_coll *out, const json_value *v, const json_value *ext, const fhir_type *ft) {
    fp_item it;
    size_t n = json_array_len(v), ne = json_array_len(ext);
    if(n || ne) {
        if(ne > n) n = ne;
        for(size_t i = 0; i < n; i++) {
            const json_value *vi = json_array_at(v, i), *ei = json_array_at(ext, i);
            if(!vi && !ei) continue;
            fp_node_item(&it, vi, ei, ft);
            fp_coll_push(c->arena, out, &it);
        }
        return;
    }
    if(!v && !ext) return;
    fp_node_item(&it, v, ext, ft);
    fp_coll_push(c->arena, out, &it);
}

static const fhir_type *element_type(void) {
    static const fhir_type *el;
    const fhir_type *t = __atomic_load_n(&el, __ATOMIC_RELAXED);
    if(!t) {
        t = fhir_type_find("Element");
        __atomic_store_n(&el, t, __ATOMIC_RELAXED);
    }
    return t;
}

/* A type guessed from a choice suffix: "Quantity" -> Quantity, "String" -> string. */
static const fhir_type *suffix_type(const char *suffix) {
    const fhir_type *t = fpm_type(suffix);
    if(t) return t;
    char low[64];
    size_t n = strlen(suffix);
    if(n == 0 || n >= sizeof low) return NULL;
    memcpy(low, suffix, n + 1);
    low[0] = (char)tolower((unsigned char)low[0]);
    return fpm_type(low);
}

static bool is_scalar(const json_value *v, const fhir_type *ft) {
    if(ft) return ft->kind == FHIR_KIND_PRIMITIVE;
    return json_kind_of(v) != JSON_OBJECT;
}

void fp_children(fp_ctx *c, const fp_item *it, const char *name, fp_coll *out, bool *known) {
    char uname[256];
    size_t nl = strlen(name);
    if(known) *known = false;
    if(it->v.kind != FP_NODE) return;
    const json_value *obj = it->v.node;
    const fhir_type *ft = it->ft;
    if(is_scalar(obj, ft)) {
        /* a primitive: its id and extensions live in the `_name` sibling */
        if(!it->ext) {
            if(known && ft) *known = fhir_type_elem(element_type(), name) != NULL;
            return;
        }
        obj = it->ext;
        ft = element_type();
    }
    if(nl + 2 > sizeof uname) return;
    uname[0] = '_';
    memcpy(uname + 1, name, nl + 1);
    if(ft && ft->kind != FHIR_KIND_PRIMITIVE) {
        const fhir_elem *e = fhir_type_elem(ft, name);
        if(e) {
            const fhir_type *et = fhir_elem_type(e);
            if(known) *known = true;
            /* only primitives have a `_name` sibling */
            add_values(c, out, json_get(obj, name), et->kind == FHIR_KIND_PRIMITIVE ? json_get(obj, uname) : NULL, et);
            return;
        }
        /* a choice element: value -> valueQuantity, valueString, ... */
        json_iter jt = json_iter_start(obj);
        const char *key;
        json_value *val;
        while(json_iter_next(&jt, &key, &val)) {
            const char *k = key[0] == '_' ? key + 1 : key;
            if(strncmp(k, name, nl) != 0 || !isupper((unsigned char)k[nl])) continue;
            const fhir_elem *ce = fhir_type_elem(ft, k);
            if(!ce || !(ce->flags & FHIR_ELEM_CHOICE)) continue;
            if(key[0] == '_') {
                if(json_has(obj, k)) continue; /* taken with its value */
                add_values(c, out, NULL, val, fhir_elem_type(ce));
            } else {
                char ukey[256];
                size_t kl = strlen(key);
                if(kl + 2 > sizeof ukey) continue;
                ukey[0] = '_';
                memcpy(ukey + 1, key, kl + 1);
                add_values(c, out, val, json_get(obj, ukey), fhir_elem_type(ce));
            }
            if(known) *known = true;
        }
        if(known && !*known) {
            /* known if the type defines such a choice slot at all */
            for(size_t i = 0; i < ft->n_slots; i++) {
                const char *sn = fhir_model_str(fhir_model_slots[ft->slots + i].name);
                if(strncmp(sn, name, nl) == 0 && strcmp(sn + nl, "[x]") == 0) *known = true;
            }
        }
        return;
    }
    /* no model type: plain JSON, with a guess at choice elements */
    if(known) *known = true;
    const json_value *v = json_get(obj, name), *x = json_get(obj, uname);
    if(v || x) {
        add_values(c, out, v, x, NULL);
        return;
    }
    json_iter jt = json_iter_start(obj);
    const char *key;
    json_value *val;
    while(json_iter_next(&jt, &key, &val)) {
        if(strncmp(key, name, nl) != 0 || !isupper((unsigned char)key[nl])) continue;
        add_values(c, out, val, NULL, suffix_type(key + nl));
    }
}

void fp_all_children(fp_ctx *c, const fp_item *it, fp_coll *out) {
    if(it->v.kind != FP_NODE) return;
    const json_value *obj = it->v.node;
    const fhir_type *ft = it->ft;
    if(is_scalar(obj, ft)) {
        if(!it->ext) return;
        obj = it->ext;
        ft = element_type();
    }
    json_iter jt = json_iter_start(obj);
    const char *key;
    json_value *val;
    while(json_iter_next(&jt, &key, &val)) {
        char other[256];
        size_t kl = strlen(key);
        if(strcmp(key, "resourceType") == 0 || kl + 2 > sizeof other) continue;
        const json_value *v = val, *x = NULL;
        const char *k = key;
        if(key[0] == '_') {
            k = key + 1;
            if(json_has(obj, k)) continue; /* taken with its value */
            v = NULL;
            x = val;
        } else {
            other[0] = '_';
            memcpy(other + 1, key, kl + 1);
            x = json_get(obj, other);
        }
        const fhir_elem *e = ft && ft->kind != FHIR_KIND_PRIMITIVE ? fhir_type_elem(ft, k) : NULL;
        add_values(c, out, v, x, e ? fhir_elem_type(e) : NULL);
    }
}
