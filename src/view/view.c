/*
 * view.c — reading a SQL on FHIR v2 ViewDefinition: checks every element,
 * compiles every FHIRPath expression once, and lays the columns out in row
 * order (view_int.h). Running a view is view_run.c; writing rows is
 * view_out.c.
 *
 * Kith's FHIRPath engine knows nothing of views, so two things are done to
 * an expression's text before it is compiled, by a small scanner that skips
 * strings, quoted identifiers and comments:
 *   - a constant (%name) becomes its value as a FHIRPath literal, so a
 *     valueDate compares as a date, not as a string; an undefined name is an
 *     error here rather than on the first resource;
 *   - getResourceKey() becomes the per-resource variable %__resource_key
 *     ("Type/id", set by view_run.c), or on a receiver x,
 *     x.select(type().name + '/' + id); getReferenceKey([T]) becomes a
 *     select() that keeps references of the form Type/id[/_history/v] (of
 *     type T when given) and drops the version.
 * Messages about an expression point into the text as written.
 *
 * Owns everything it builds; the compiled view is read-only afterwards.
 */
#include "view/view_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "fhir/model.h"

#define MAX_PATH_TEXT (64u << 10) /* characters in one expression after rewriting */

typedef struct vconst {
    char *name;
    char *literal; /* the FHIRPath literal, e.g. @1978-03-12 or 'official' */
} vconst;

typedef struct compiler {
    view *v;
    vconst consts[VIEW_MAX_CONSTANTS];
    size_t nconsts;
    char *err;
    size_t errlen;
} compiler;

static bool fail(compiler *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(compiler *cc, const char *fmt, ...) {
    va_list ap;
    if(!cc->err || !cc->errlen) return false;
    va_start(ap, fmt);
    vsnprintf(cc->err, cc->errlen, fmt, ap);
    va_end(ap);
    return false;
}

static char *fmt_where(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_where(const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return xstrdup(tmp);
}

/* A name a database takes as it is: a letter, then letters, digits, '_'. */
static bool name_ok(const char *s) {
    if(!s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) return false;
    size_t n = 0;
    for(; *s; s++, n++) {
        bool ok = (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_';
        if(!ok) return false;
    }
    return n <= 255;
}

/* Every member of obj is in allowed (NULL-terminated), or an extension
 * sibling "_x"; else an error naming the first stranger. */
static bool known_keys(compiler *cc, const json_value *obj, const char *where, const char *const *allowed) {
    json_iter it = json_iter_start(obj);
    const char *key;
    json_value *val;
    while(json_iter_next(&it, &key, &val)) {
        if(key[0] == '_') continue;
        bool ok = false;
        for(size_t i = 0; allowed[i] && !ok; i++) ok = strcmp(key, allowed[i]) == 0;
        if(ok) continue;
        char list[400] = "";
        size_t used = 0;
        for(size_t i = 0; allowed[i] && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", allowed[i]);
        return fail(cc, "%s%sunknown element '%s' (expected one of: %s)", where, *where ? ": " : "", key, list);
    }
    return true;
}

/* ---- constants --------------------------------------------------------------- */

typedef enum lit_kind { LIT_STRING, LIT_BOOLEAN, LIT_INTEGER, LIT_DECIMAL, LIT_DATE, LIT_DATETIME, LIT_TIME } lit_kind;

static const struct {
    const char *suffix;
    lit_kind kind;
} CONST_TYPES[] = {
    {"Base64Binary", LIT_STRING}, {"Boolean", LIT_BOOLEAN},   {"Canonical", LIT_STRING},   {"Code", LIT_STRING},
    {"Date", LIT_DATE},           {"DateTime", LIT_DATETIME}, {"Decimal", LIT_DECIMAL},    {"Id", LIT_STRING},
    {"Instant", LIT_DATETIME},    {"Integer", LIT_INTEGER},   {"Integer64", LIT_INTEGER},  {"Markdown", LIT_STRING},
    {"Oid", LIT_STRING},          {"PositiveInt", LIT_INTEGER}, {"String", LIT_STRING},    {"Time", LIT_TIME},
    {"UnsignedInt", LIT_INTEGER}, {"Uri", LIT_STRING},        {"Url", LIT_STRING},         {"Uuid", LIT_STRING},
};

/* s holds only characters from set (and is not empty). */
static bool only_chars(const char *s, const char *set) {
    return *s && strspn(s, set) == strlen(s);
}

/* The FHIRPath literal of a constant's value (caller frees), or NULL with
 * an error. */
static char *literal_of(compiler *cc, const char *where, const char *key, const json_value *val) {
    const char *suffix = key + 5; /* after "value" */
    const char *s = json_string(val);
    buf b = BUF_INIT;
    for(size_t i = 0; i < sizeof CONST_TYPES / sizeof CONST_TYPES[0]; i++) {
        if(strcmp(suffix, CONST_TYPES[i].suffix) != 0) continue;
        switch(CONST_TYPES[i].kind) {
        case LIT_BOOLEAN:
            if(json_kind_of(val) != JSON_BOOL) break;
            return xstrdup(json_boolean(val) ? "true" : "false");
        case LIT_INTEGER: {
            const char *t = json_kind_of(val) == JSON_INTEGER ? json_number_text(val) : s; /* integer64 is a string */
            if(!t || !only_chars(t[0] == '-' ? t + 1 : t, "0123456789")) break;
            return xstrdup(t);
        }
        case LIT_DECIMAL:
            if(json_kind_of(val) != JSON_INTEGER && json_kind_of(val) != JSON_DECIMAL) break;
            if(strpbrk(json_number_text(val), "eE")) {
                fail(cc, "%s.%s: write the decimal without an exponent", where, key);
                return NULL;
            }
            return xstrdup(json_number_text(val));
        case LIT_DATE:
            if(!s || !only_chars(s, "0123456789-")) break;
            buf_printf(&b, "@%s", s);
            return buf_take(&b, NULL);
        case LIT_DATETIME:
            if(!s || !only_chars(s, "0123456789-T:.+Z")) break;
            buf_printf(&b, "@%s%s", s, strchr(s, 'T') ? "" : "T");
            return buf_take(&b, NULL);
        case LIT_TIME:
            if(!s || !only_chars(s, "0123456789:.")) break;
            buf_printf(&b, "@T%s", s);
            return buf_take(&b, NULL);
        case LIT_STRING:
            if(!s) break;
            buf_putc(&b, '\'');
            for(const char *p = s; *p; p++) {
                switch(*p) {
                case '\'': buf_puts(&b, "\\'"); break;
                case '\\': buf_puts(&b, "\\\\"); break;
                case '\n': buf_puts(&b, "\\n"); break;
                case '\r': buf_puts(&b, "\\r"); break;
                case '\t': buf_puts(&b, "\\t"); break;
                default: buf_putc(&b, *p);
                }
            }
            buf_putc(&b, '\'');
            return buf_take(&b, NULL);
        }
        fail(cc, "%s.%s: not a valid %s value", where, key, suffix);
        return NULL;
    }
    fail(cc, "%s.%s: constants of type %s are not supported (use a primitive such as valueString, valueInteger, "
             "valueDate)",
         where, key, suffix);
    return NULL;
}

static bool parse_constants(compiler *cc, const json_value *arr) {
    static const char *const KEYS[] = {"id", "extension", "name", NULL};
    if(!arr) return true;
    if(json_kind_of(arr) != JSON_ARRAY) return fail(cc, "constant: must be an array");
    if(json_array_len(arr) > VIEW_MAX_CONSTANTS) return fail(cc, "constant: more than %d constants", VIEW_MAX_CONSTANTS);
    for(size_t i = 0; i < json_array_len(arr); i++) {
        const json_value *c = json_array_at(arr, i);
        char where[40];
        snprintf(where, sizeof where, "constant[%zu]", i);
        if(json_kind_of(c) != JSON_OBJECT) return fail(cc, "%s: must be an object", where);
        const char *name = json_string(json_get(c, "name"));
        if(!name) return fail(cc, "%s.name: is required", where);
        if(!name_ok(name)) return fail(cc, "%s.name: '%s' is not a valid name (a letter, then letters, digits or _)", where, name);
        for(size_t k = 0; k < cc->nconsts; k++)
            if(strcmp(cc->consts[k].name, name) == 0) return fail(cc, "%s.name: '%s' is defined twice", where, name);
        const char *vkey = NULL;
        const json_value *val = NULL;
        json_iter it = json_iter_start(c);
        const char *key;
        json_value *v;
        while(json_iter_next(&it, &key, &v)) {
            if(strncmp(key, "value", 5) != 0 || !key[5]) continue;
            if(vkey) return fail(cc, "%s: has both %s and %s; a constant has one value", where, vkey, key);
            vkey = key;
            val = v;
        }
        if(!vkey) return fail(cc, "%s: constant '%s' has no value[x] (e.g. valueString)", where, name);
        json_value *copy = json_copy(c);
        json_remove(copy, vkey);
        bool keys_ok = known_keys(cc, copy, where, KEYS);
        json_free(copy);
        if(!keys_ok) return false;
        char *lit = literal_of(cc, where, vkey, val);
        if(!lit) return false;
        cc->consts[cc->nconsts].name = xstrdup(name);
        cc->consts[cc->nconsts].literal = lit;
        cc->nconsts++;
    }
    return true;
}

/* ---- expressions -------------------------------------------------------------- */

static bool ident_start(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool ident_char(char c) {
    return ident_start(c) || (c >= '0' && c <= '9');
}

/* The rewritten text and, for each of its characters, where it came from. */
typedef struct rewritten {
    buf text;
    size_t *from;
    size_t cap;
} rewritten;

static void put(rewritten *r, const char *s, size_t n, size_t src_pos) {
    if(r->text.len + n + 1 > r->cap) {
        while(r->text.len + n + 1 > r->cap) r->cap = r->cap ? r->cap * 2 : 256;
        r->from = xrealloc(r->from, r->cap * sizeof *r->from);
    }
    for(size_t i = 0; i < n; i++) r->from[r->text.len + i] = src_pos;
    r->from[r->text.len + n] = src_pos;
    buf_append(&r->text, s, n);
}

static size_t skip_space(const char *s, size_t i) {
    while(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') i++;
    return i;
}

/* Length of a quoted run starting at s[i] (quote q, backslash escapes),
 * the closing quote included (or to the end when unterminated). */
static size_t quoted_len(const char *s, size_t i, char q) {
    size_t j = i + 1;
    while(s[j] && s[j] != q) j += s[j] == '\\' && s[j + 1] ? 2 : 1;
    return (s[j] ? j + 1 : j) - i;
}

/* A name at s[i]: an identifier or a `quoted` one. Sets *name (caller
 * frees) and returns the characters used; 0 if none. */
static size_t name_at(const char *s, size_t i, char **name) {
    size_t j = i;
    if(s[i] == '`') {
        size_t n = quoted_len(s, i, '`');
        if(n < 2 || s[i + n - 1] != '`') return 0;
        *name = xstrndup(s + i + 1, n - 2);
        return n;
    }
    if(!ident_start(s[i])) return 0;
    while(ident_char(s[j])) j++;
    *name = xstrndup(s + i, j - i);
    return j - i;
}

static const char *const BUILTIN_VARS[] = {"resource", "rootResource", "context", "ucum", "sct", "loinc", NULL};

/* %name at src[i] (i at '%'): a constant's literal, a built-in variable, or
 * an error. Returns the characters consumed, 0 on error. */
static size_t rewrite_var(compiler *cc, const char *where, const char *src, size_t i, rewritten *r) {
    char *name = NULL;
    size_t n = name_at(src, i + 1, &name);
    if(!n) {
        if(src[i + 1] == '\'') { /* %'vs-name': the old quoted form of a built-in */
            size_t q = quoted_len(src, i + 1, '\'');
            put(r, src + i, q + 1, i);
            return q + 1;
        }
        fail(cc, "%s: a name must follow %% at character %zu of '%s'", where, i + 1, src);
        return 0;
    }
    for(size_t k = 0; k < cc->nconsts; k++) {
        if(strcmp(cc->consts[k].name, name) == 0) {
            put(r, "(", 1, i);
            put(r, cc->consts[k].literal, strlen(cc->consts[k].literal), i);
            put(r, ")", 1, i);
            free(name);
            return n + 1;
        }
    }
    bool builtin = strncmp(name, "vs-", 3) == 0 || strncmp(name, "ext-", 4) == 0;
    for(size_t k = 0; BUILTIN_VARS[k] && !builtin; k++) builtin = strcmp(name, BUILTIN_VARS[k]) == 0;
    if(!builtin) {
        char defined[300] = "";
        size_t used = 0;
        for(size_t k = 0; k < cc->nconsts && used < sizeof defined; k++)
            used += (size_t)snprintf(defined + used, sizeof defined - used, "%s%%%s", k ? ", " : "", cc->consts[k].name);
        fail(cc, "%s: %%%s is not a constant of the view (%s%s)", where, name, cc->nconsts ? "defined: " : "none are defined",
             defined);
        free(name);
        return 0;
    }
    free(name);
    put(r, src + i, n + 1, i);
    return n + 1;
}

/* getResourceKey() / getReferenceKey([Type]) at src[i] (the name already
 * read, n its length); `member` when it follows a '.'. Returns the
 * characters consumed, 0 when this is not a call (a plain name), (size_t)-1
 * on error. */
static size_t rewrite_key_fn(compiler *cc, const char *where, const char *src, size_t i, size_t n, bool member,
                             rewritten *r) {
    bool resource_key = n == 14 && strncmp(src + i, "getResourceKey", 14) == 0;
    size_t j = skip_space(src, i + n);
    if(src[j] != '(') return 0;
    j = skip_space(src, j + 1);
    if(resource_key) {
        if(src[j] != ')') {
            fail(cc, "%s: getResourceKey() takes no arguments", where);
            return (size_t)-1;
        }
        cc->v->uses_key = cc->v->uses_key || !member;
        const char *with = member ? "select(type().name + '/' + id)" : "%" VIEW_KEY_VAR;
        put(r, with, strlen(with), i);
        return j + 1 - i;
    }
    char *type = NULL;
    if(src[j] != ')') {
        size_t t = name_at(src, j, &type);
        if(t && strcmp(type, "FHIR") == 0 && src[j + t] == '.') { /* FHIR.Patient */
            free(type);
            type = NULL;
            size_t t2 = name_at(src, j + t + 1, &type);
            t = t2 ? t + 1 + t2 : 0;
        }
        size_t k = t ? skip_space(src, j + t) : j;
        if(!t || src[k] != ')') {
            free(type);
            fail(cc, "%s: getReferenceKey takes at most one argument, a resource type such as Patient", where);
            return (size_t)-1;
        }
        if(!fhir_resource_find(type)) {
            fail(cc, "%s: getReferenceKey(%s): '%s' is not a FHIR R4 resource type", where, type, type);
            free(type);
            return (size_t)-1;
        }
        j = k;
    }
    buf b = BUF_INIT;
    buf_printf(&b,
               "select(reference.where(matches('^%s/[-.A-Za-z0-9]{1,64}(/_history/[-.A-Za-z0-9]{1,64})?$'))"
               ".replaceMatches('/_history/.*$', ''))",
               type ? type : "[A-Z][A-Za-z]+");
    put(r, b.data, b.len, i);
    buf_free(&b);
    free(type);
    return j + 1 - i;
}

/* Rewrite src (see the top of the file) into r. */
static bool rewrite(compiler *cc, const char *where, const char *src, rewritten *r) {
    size_t i = 0;
    char last = 0; /* the last character that was not space or comment */
    buf_init(&r->text, MAX_PATH_TEXT);
    while(src[i]) {
        char c = src[i];
        size_t n = 1;
        if(c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            put(r, src + i, 1, i);
            i++;
            continue;
        }
        if(c == '/' && (src[i + 1] == '/' || src[i + 1] == '*')) {
            const char *end = src[i + 1] == '/' ? strchr(src + i, '\n') : strstr(src + i + 2, "*/");
            n = end ? (size_t)(end - (src + i)) + (src[i + 1] == '*' ? 2 : 0) : strlen(src + i);
            put(r, src + i, n, i);
            i += n;
            continue;
        }
        if(c == '\'' || c == '`') {
            n = quoted_len(src, i, c);
            put(r, src + i, n, i);
        } else if(c == '%') {
            n = rewrite_var(cc, where, src, i, r);
            if(!n) return false;
        } else if(ident_start(c)) {
            size_t e = i;
            while(ident_char(src[e])) e++;
            size_t used = 0;
            if((e - i == 14 && strncmp(src + i, "getResourceKey", 14) == 0) ||
               (e - i == 15 && strncmp(src + i, "getReferenceKey", 15) == 0))
                used = rewrite_key_fn(cc, where, src, i, e - i, last == '.', r);
            if(used == (size_t)-1) return false;
            n = used ? used : e - i;
            if(!used) put(r, src + i, n, i);
        } else {
            put(r, src + i, 1, i);
        }
        last = src[i + n - 1];
        i += n;
    }
    if(r->text.len >= MAX_PATH_TEXT - 1) return fail(cc, "%s: the expression is too long", where);
    return true;
}

/* Compile the expression at `where` (a JSON string), or fail naming it. */
static fhirpath_expr *compile_path(compiler *cc, const char *where, const json_value *j, char **text) {
    const char *src = json_string(j);
    fhirpath_expr *e = NULL;
    rewritten r = {BUF_INIT, NULL, 0};
    if(!j) {
        fail(cc, "%s: is required", where);
        return NULL;
    }
    if(!src) {
        fail(cc, "%s: must be a FHIRPath expression (a string), not %s", where, json_kind_name(json_kind_of(j)));
        return NULL;
    }
    if(!*src) {
        fail(cc, "%s: is empty", where);
        return NULL;
    }
    if(rewrite(cc, where, src, &r)) {
        size_t pos = 0;
        char msg[256];
        if(fhirpath_parse(buf_str(&r.text), &e, &pos, msg, sizeof msg)) {
            size_t at = r.from && pos <= r.text.len ? r.from[pos] : 0;
            fail(cc, "%s: '%s' is not valid FHIRPath: %s (at character %zu)", where, src, msg, at + 1);
            e = NULL;
        } else if(text) {
            *text = xstrdup(src);
        }
    }
    buf_free(&r.text);
    free(r.from);
    return e;
}

/* ---- selects -------------------------------------------------------------------- */

static bool parse_select(compiler *cc, const json_value *j, vsel *s, int depth);

static bool parse_column(compiler *cc, const json_value *j, vcol *col) {
    static const char *const KEYS[] = {"id", "extension", "name", "path", "description", "collection", "type", "tag",
                                       NULL};
    if(json_kind_of(j) != JSON_OBJECT) return fail(cc, "%s: must be an object", col->where);
    if(!known_keys(cc, j, col->where, KEYS)) return false;
    const char *name = json_string(json_get(j, "name"));
    if(!name) return fail(cc, "%s.name: is required (a string)", col->where);
    if(!name_ok(name))
        return fail(cc, "%s.name: '%s' is not a valid column name (a letter, then letters, digits or _)", col->where,
                    name);
    col->name = xstrdup(name);
    const json_value *coll = json_get(j, "collection");
    if(json_has(j, "collection") && json_kind_of(coll) != JSON_BOOL)
        return fail(cc, "%s.collection: must be true or false", col->where);
    col->collection = coll && json_boolean(coll);
    if(json_has(j, "type") && !json_string(json_get(j, "type")))
        return fail(cc, "%s.type: must be a FHIR type name (a string)", col->where);
    char where[560];
    snprintf(where, sizeof where, "%s.path", col->where);
    col->expr = compile_path(cc, where, json_get(j, "path"), &col->path);
    return col->expr != NULL;
}

/* An array member of a select: NULL when absent, else it must be an array
 * (non-empty if nonempty). */
static bool select_array(compiler *cc, const json_value *j, const char *key, const char *where, bool nonempty,
                         const json_value **out) {
    *out = json_get(j, key);
    if(!json_has(j, key)) return true;
    if(json_kind_of(*out) != JSON_ARRAY) return fail(cc, "%s%s%s: must be an array", where, *where ? "." : "", key);
    if(nonempty && json_array_len(*out) == 0) return fail(cc, "%s%s%s: must not be empty", where, *where ? "." : "", key);
    return true;
}

static bool parse_children(compiler *cc, const json_value *arr, const char *where, const char *key, vsel **out,
                           size_t *n, int depth) {
    size_t len = json_array_len(arr);
    if(!len) return true;
    *out = xcalloc(len, sizeof **out);
    for(size_t i = 0; i < len; i++) {
        (*out)[i].where = fmt_where("%s%s%s[%zu]", where, *where ? "." : "", key, i);
        (*n)++;
        if(!parse_select(cc, json_array_at(arr, i), &(*out)[i], depth + 1)) return false;
    }
    return true;
}

static bool parse_select(compiler *cc, const json_value *j, vsel *s, int depth) {
    static const char *const KEYS[] = {"id", "extension", "column", "select", "forEach", "forEachOrNull", "unionAll",
                                       NULL};
    const json_value *cols, *subs, *unions;
    if(depth > VIEW_MAX_DEPTH) return fail(cc, "%s: selects nest deeper than %d", s->where, VIEW_MAX_DEPTH);
    if(++cc->v->nselects > VIEW_MAX_SELECTS) return fail(cc, "the view has more than %d selects", VIEW_MAX_SELECTS);
    if(json_kind_of(j) != JSON_OBJECT) return fail(cc, "%s: must be an object", s->where);
    if(!known_keys(cc, j, s->where, KEYS)) return false;
    if(json_has(j, "forEach") && json_has(j, "forEachOrNull"))
        return fail(cc, "%s: has both forEach and forEachOrNull; use one", s->where);
    const char *each = json_has(j, "forEach") ? "forEach" : json_has(j, "forEachOrNull") ? "forEachOrNull" : NULL;
    if(each) {
        char where[560];
        snprintf(where, sizeof where, "%s.%s", s->where, each);
        s->or_null = each[7] != 0;
        s->each = compile_path(cc, where, json_get(j, each), &s->each_path);
        if(!s->each) return false;
    }
    if(!select_array(cc, j, "column", s->where, false, &cols) || !select_array(cc, j, "select", s->where, false, &subs) ||
       !select_array(cc, j, "unionAll", s->where, true, &unions))
        return false;
    if(!json_array_len(cols) && !json_array_len(subs) && !json_array_len(unions))
        return fail(cc, "%s: has no column, select or unionAll", s->where);
    if(json_array_len(cols) > VIEW_MAX_COLUMNS) return fail(cc, "%s: more than %d columns", s->where, VIEW_MAX_COLUMNS);
    if(json_array_len(cols)) {
        s->cols = xcalloc(json_array_len(cols), sizeof *s->cols);
        for(size_t i = 0; i < json_array_len(cols); i++) {
            s->cols[i].where = fmt_where("%s.column[%zu]", s->where, i);
            s->ncols++;
            if(!parse_column(cc, json_array_at(cols, i), &s->cols[i])) return false;
        }
    }
    return parse_children(cc, subs, s->where, "select", &s->subs, &s->nsubs, depth) &&
           parse_children(cc, unions, s->where, "unionAll", &s->unions, &s->nunions, depth);
}

/* ---- layout ------------------------------------------------------------------------ */

/* Give s and its children their cell ranges from off; false past the cap. */
static bool layout(compiler *cc, vsel *s, size_t off) {
    size_t at = off + s->ncols;
    s->off = off;
    for(size_t i = 0; i < s->nsubs; i++) {
        if(!layout(cc, &s->subs[i], at)) return false;
        at += s->subs[i].width;
    }
    size_t uw = 0;
    for(size_t i = 0; i < s->nunions; i++) {
        if(!layout(cc, &s->unions[i], at)) return false;
        if(i == 0) uw = s->unions[0].width;
    }
    s->width = at + uw - off;
    if(at + uw > VIEW_MAX_COLUMNS) return fail(cc, "the view has more than %d columns", VIEW_MAX_COLUMNS);
    return true;
}

/* Write the column names s fills into names[s->off ...]. */
static void fill_names(const vsel *s, char **names) {
    for(size_t i = 0; i < s->ncols; i++) names[s->off + i] = s->cols[i].name;
    for(size_t i = 0; i < s->nsubs; i++) fill_names(&s->subs[i], names);
    if(s->nunions) fill_names(&s->unions[0], names);
}

static void list_names(char **names, size_t from, size_t n, char *out, size_t outlen) {
    size_t used = 0;
    out[0] = 0;
    for(size_t i = 0; i < n && used < outlen; i++)
        used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", names[from + i]);
}

/* Every unionAll branch has the columns of its first, in the same order. */
static bool check_unions(compiler *cc, const vsel *s, char **scratch) {
    for(size_t i = 0; i < s->nsubs; i++)
        if(!check_unions(cc, &s->subs[i], scratch)) return false;
    for(size_t i = 0; i < s->nunions; i++)
        if(!check_unions(cc, &s->unions[i], scratch)) return false;
    if(s->nunions < 2) return true;
    const vsel *first = &s->unions[0];
    for(size_t i = 1; i < s->nunions; i++) {
        const vsel *u = &s->unions[i];
        bool same = u->width == first->width;
        fill_names(first, scratch);
        char **a = scratch + VIEW_MAX_COLUMNS;
        fill_names(u, a);
        for(size_t k = 0; k < u->width && same; k++) same = strcmp(scratch[u->off + k], a[u->off + k]) == 0;
        if(!same) {
            char want[300], got[300];
            list_names(scratch, first->off, first->width, want, sizeof want);
            list_names(a, u->off, u->width, got, sizeof got);
            return fail(cc, "%s: its columns (%s) differ from %s's (%s); every branch of a unionAll needs the same "
                            "columns in the same order",
                        u->where, got, first->where, want);
        }
    }
    return true;
}

/* ---- the view ------------------------------------------------------------------------- */

static bool parse_wheres(compiler *cc, const json_value *arr) {
    static const char *const KEYS[] = {"id", "extension", "path", "description", NULL};
    if(!arr) return true;
    if(json_kind_of(arr) != JSON_ARRAY) return fail(cc, "where: must be an array");
    view *v = cc->v;
    v->wheres = xcalloc(json_array_len(arr) + 1, sizeof *v->wheres);
    for(size_t i = 0; i < json_array_len(arr); i++) {
        const json_value *w = json_array_at(arr, i);
        vwhere *vw = &v->wheres[v->nwheres++];
        vw->where = fmt_where("where[%zu]", i);
        if(json_kind_of(w) != JSON_OBJECT) return fail(cc, "%s: must be an object", vw->where);
        if(!known_keys(cc, w, vw->where, KEYS)) return false;
        char where[64];
        snprintf(where, sizeof where, "%s.path", vw->where);
        vw->expr = compile_path(cc, where, json_get(w, "path"), &vw->path);
        if(!vw->expr) return false;
    }
    return true;
}

static bool parse_view(compiler *cc, const json_value *def) {
    static const char *const KEYS[] = {
        "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension",
        "modifierExtension", "url", "identifier", "version", "versionAlgorithmString", "versionAlgorithmCoding",
        "name", "title", "status", "experimental", "date", "publisher", "contact", "description", "useContext",
        "jurisdiction", "purpose", "copyright", "copyrightLabel", "resource", "resourceVersion", "profile",
        "fhirVersion", "constant", "select", "where", NULL};
    view *v = cc->v;
    if(json_kind_of(def) != JSON_OBJECT) return fail(cc, "a ViewDefinition must be a JSON object");
    const char *rt = json_string(json_get(def, "resourceType"));
    if(json_has(def, "resourceType") && (!rt || strcmp(rt, "ViewDefinition") != 0))
        return fail(cc, "resourceType: must be ViewDefinition");
    if(!known_keys(cc, def, "", KEYS)) return false;
    const char *res = json_string(json_get(def, "resource"));
    if(!json_has(def, "resource"))
        return fail(cc, "resource: is required (the resource type the view reads, e.g. \"Patient\")");
    if(!res || !fhir_resource_find(res)) {
        if(!res) return fail(cc, "resource: must be a resource type name (a string)");
        return fail(cc, "resource: '%s' is not a FHIR R4 resource type", res);
    }
    v->resource = xstrdup(res);
    const json_value *name = json_get(def, "name");
    if(json_has(def, "name")) {
        if(!json_string(name) || !name_ok(json_string(name)))
            return fail(cc, "name: must be a valid table name (a letter, then letters, digits or _)");
        v->name = xstrdup(json_string(name));
    }
    const char *status = json_string(json_get(def, "status"));
    if(json_has(def, "status") && (!status || (strcmp(status, "draft") && strcmp(status, "active") &&
                                               strcmp(status, "retired") && strcmp(status, "unknown"))))
        return fail(cc, "status: must be draft, active, retired or unknown");
    if(!parse_constants(cc, json_get(def, "constant"))) return false;
    const json_value *sel = json_get(def, "select");
    if(!json_has(def, "select")) return fail(cc, "select: is required (at least one select with columns)");
    if(json_kind_of(sel) != JSON_ARRAY || json_array_len(sel) == 0)
        return fail(cc, "select: must be a non-empty array");
    v->root.where = xstrdup("");
    v->nselects = 1;
    if(!parse_children(cc, sel, "", "select", &v->root.subs, &v->root.nsubs, 1)) return false;
    if(!parse_wheres(cc, json_get(def, "where"))) return false;
    if(!layout(cc, &v->root, 0)) return false;
    v->ncolumns = v->root.width;
    v->columns = xcalloc(v->ncolumns + 1, sizeof *v->columns);
    fill_names(&v->root, v->columns);
    for(size_t i = 0; i < v->ncolumns; i++)
        for(size_t k = 0; k < i; k++)
            if(strcmp(v->columns[i], v->columns[k]) == 0)
                return fail(cc, "column '%s' appears twice; column names must be unique in a view", v->columns[i]);
    char **scratch = xcalloc(2 * VIEW_MAX_COLUMNS, sizeof *scratch);
    bool ok = check_unions(cc, &v->root, scratch);
    free(scratch);
    return ok;
}

kith_rc view_compile(const json_value *def, view **out, char *err, size_t errlen) {
    compiler cc = {.v = xcalloc(1, sizeof(view)), .err = err, .errlen = errlen};
    *out = NULL;
    if(err && errlen) err[0] = 0;
    bool ok = parse_view(&cc, def);
    for(size_t i = 0; i < cc.nconsts; i++) {
        free(cc.consts[i].name);
        free(cc.consts[i].literal);
    }
    if(!ok) {
        view_free(cc.v);
        return KITH_EINVALID;
    }
    *out = cc.v;
    return KITH_OK;
}

static void free_select(vsel *s) {
    for(size_t i = 0; i < s->ncols; i++) {
        free(s->cols[i].name);
        free(s->cols[i].where);
        free(s->cols[i].path);
        fhirpath_free(s->cols[i].expr);
    }
    free(s->cols);
    for(size_t i = 0; i < s->nsubs; i++) free_select(&s->subs[i]);
    free(s->subs);
    for(size_t i = 0; i < s->nunions; i++) free_select(&s->unions[i]);
    free(s->unions);
    free(s->where);
    free(s->each_path);
    fhirpath_free(s->each);
}

void view_free(view *v) {
    if(!v) return;
    free_select(&v->root);
    for(size_t i = 0; i < v->nwheres; i++) {
        free(v->wheres[i].where);
        free(v->wheres[i].path);
        fhirpath_free(v->wheres[i].expr);
    }
    free(v->wheres);
    free(v->columns);
    free(v->resource);
    free(v->name);
    free(v);
}

const char *view_resource_type(const view *v) {
    return v->resource;
}

const char *view_name(const view *v) {
    return v->name;
}

size_t view_column_count(const view *v) {
    return v->ncolumns;
}

const char *view_column_name(const view *v, size_t i) {
    return i < v->ncolumns ? v->columns[i] : NULL;
}
