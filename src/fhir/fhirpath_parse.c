/*
 * fhirpath_parse.c — the FHIRPath lexer and parser.
 *
 * fhirpath_parse turns an expression into a tree of fp_node (see
 * fhirpath_int.h) by precedence climbing over the operator table of the
 * FHIRPath grammar. Function names are looked up and their argument counts
 * checked here, so an evaluation never meets an unknown function. Literals
 * are converted once (a date's precision, a decimal's digits, a quantity's
 * unit) and stored in the node. Every node and string belongs to the
 * expression's arena and is freed with it; after parsing the tree is
 * read-only, so one expression can be evaluated from many threads at once.
 * Input is hostile: expression length and nesting depth are capped, and
 * every error reports the 0-based character offset.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "fhir/fhirpath_int.h"

typedef enum tok_kind {
    T_EOF,
    T_IDENT,  /* name or keyword */
    T_DIDENT, /* `delimited` identifier */
    T_STRING,
    T_NUMBER,
    T_DATE, /* @... : text without '@' */
    T_VAR,  /* %name */
    T_SPECIAL, /* $this, $index, $total */
    T_PUNCT
} tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t pos;
    const char *text; /* arena: identifier, unescaped string, number, date, punctuation */
} tok;

typedef struct parser {
    const char *src;
    size_t len, p;
    fp_arena *arena;
    fhirpath_expr *expr; /* owns what is built */
    tok t;        /* current token */
    int depth;
    bool failed;
    size_t err_pos;
    char *err;
    size_t errlen;
} parser;

static bool perr(parser *ps, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool perr(parser *ps, size_t pos, const char *fmt, ...) {
    if(ps->failed) return false;
    ps->failed = true;
    ps->err_pos = pos;
    if(ps->err && ps->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err, ps->errlen, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* ---- lexer --------------------------------------------------------------- */

static void put_utf8(buf *b, unsigned cp) {
    if(cp < 0x80) {
        buf_putc(b, (char)cp);
    } else if(cp < 0x800) {
        buf_putc(b, (char)(0xC0 | (cp >> 6)));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        buf_putc(b, (char)(0xE0 | (cp >> 12)));
        buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    }
}

/* Read a quoted string or delimited identifier starting at ps->p (the quote). */
static bool lex_quoted(parser *ps, char q, tok *t) {
    buf b = BUF_INIT;
    bool ok = false;
    size_t start = ps->p++;
    buf_init(&b, FP_MAX_EXPR_LEN);
    while(ps->p < ps->len && ps->src[ps->p] != q) {
        char ch = ps->src[ps->p++];
        if(ch != '\\') {
            buf_putc(&b, ch);
            continue;
        }
        if(ps->p >= ps->len) break;
        ch = ps->src[ps->p++];
        switch(ch) {
        case 'n': buf_putc(&b, '\n'); break;
        case 'r': buf_putc(&b, '\r'); break;
        case 't': buf_putc(&b, '\t'); break;
        case 'f': buf_putc(&b, '\f'); break;
        case '\\': case '/': case '\'': case '"': case '`': buf_putc(&b, ch); break;
        case 'u': {
            unsigned cp = 0;
            for(int i = 0; i < 4; i++) {
                char h = ps->p < ps->len ? ps->src[ps->p] : 0;
                if(!isxdigit((unsigned char)h)) {
                    perr(ps, ps->p, "bad \\u escape");
                    goto done;
                }
                cp = cp * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
                ps->p++;
            }
            put_utf8(&b, cp);
            break;
        }
        default: perr(ps, ps->p - 2, "unknown escape \\%c", ch); goto done;
        }
    }
    if(ps->p >= ps->len) {
        perr(ps, start, "unterminated %s", q == '`' ? "identifier" : "string");
        goto done;
    }
    ps->p++;
    t->text = fp_strndup(ps->arena, buf_str(&b), b.len);
    ok = true;
done:
    buf_free(&b);
    return ok;
}

static bool is_digit_at(parser *ps, size_t i) { return i < ps->len && isdigit((unsigned char)ps->src[i]); }

static size_t digits(parser *ps, size_t i) {
    while(is_digit_at(ps, i)) i++;
    return i;
}

/* Scan the time part HH(:mm(:ss(.fff)?)?)? from i; returns end or i on failure. */
static size_t scan_time(parser *ps, size_t i) {
    if(!is_digit_at(ps, i) || !is_digit_at(ps, i + 1)) return i;
    i += 2;
    if(i < ps->len && ps->src[i] == ':' && is_digit_at(ps, i + 1) && is_digit_at(ps, i + 2)) {
        i += 3;
        if(i < ps->len && ps->src[i] == ':' && is_digit_at(ps, i + 1) && is_digit_at(ps, i + 2)) {
            i += 3;
            if(i < ps->len && ps->src[i] == '.' && is_digit_at(ps, i + 1)) i = digits(ps, i + 1);
        }
    }
    return i;
}

static size_t scan_tz(parser *ps, size_t i) {
    if(i < ps->len && ps->src[i] == 'Z') return i + 1;
    if(i < ps->len && (ps->src[i] == '+' || ps->src[i] == '-') && is_digit_at(ps, i + 1) && is_digit_at(ps, i + 2) &&
       i + 3 < ps->len && ps->src[i + 3] == ':' && is_digit_at(ps, i + 4) && is_digit_at(ps, i + 5))
        return i + 6;
    return i;
}

static bool lex_date(parser *ps, tok *t) {
    size_t start = ps->p, i = ps->p + 1;
    if(i < ps->len && ps->src[i] == 'T') {
        size_t e = scan_time(ps, i + 1);
        if(e == i + 1) return perr(ps, start, "bad time literal");
        e = scan_tz(ps, e);
        t->kind = T_DATE;
        t->text = fp_strndup(ps->arena, ps->src + i, e - i);
        ps->p = e;
        return true;
    }
    if(digits(ps, i) != i + 4) return perr(ps, start, "bad date literal");
    i += 4;
    if(i + 2 < ps->len && ps->src[i] == '-' && is_digit_at(ps, i + 1) && is_digit_at(ps, i + 2)) {
        i += 3;
        if(i + 2 < ps->len && ps->src[i] == '-' && is_digit_at(ps, i + 1) && is_digit_at(ps, i + 2)) i += 3;
    }
    if(i < ps->len && ps->src[i] == 'T') {
        i++;
        i = scan_time(ps, i);
        i = scan_tz(ps, i);
    }
    t->kind = T_DATE;
    t->text = fp_strndup(ps->arena, ps->src + start + 1, i - start - 1);
    ps->p = i;
    return true;
}

static bool lex_next(parser *ps) {
    tok *t = &ps->t;
    const char *s = ps->src;
    for(;;) {
        while(ps->p < ps->len && isspace((unsigned char)s[ps->p])) ps->p++;
        if(ps->p + 1 < ps->len && s[ps->p] == '/' && s[ps->p + 1] == '/') {
            while(ps->p < ps->len && s[ps->p] != '\n') ps->p++;
            continue;
        }
        if(ps->p + 1 < ps->len && s[ps->p] == '/' && s[ps->p + 1] == '*') {
            const char *e = strstr(s + ps->p + 2, "*/");
            if(!e) return perr(ps, ps->p, "unterminated comment");
            ps->p = (size_t)(e - s) + 2;
            continue;
        }
        break;
    }
    t->pos = ps->p;
    t->text = "";
    if(ps->p >= ps->len) {
        t->kind = T_EOF;
        return true;
    }
    char ch = s[ps->p];
    if(isalpha((unsigned char)ch) || ch == '_') {
        size_t b = ps->p;
        while(ps->p < ps->len && (isalnum((unsigned char)s[ps->p]) || s[ps->p] == '_')) ps->p++;
        t->kind = T_IDENT;
        t->text = fp_strndup(ps->arena, s + b, ps->p - b);
        return true;
    }
    if(ch == '`') {
        t->kind = T_DIDENT;
        return lex_quoted(ps, '`', t);
    }
    if(ch == '\'') {
        t->kind = T_STRING;
        return lex_quoted(ps, '\'', t);
    }
    if(isdigit((unsigned char)ch)) {
        size_t b = ps->p, e = digits(ps, ps->p);
        if(e < ps->len && s[e] == '.' && is_digit_at(ps, e + 1)) e = digits(ps, e + 1);
        ps->p = e;
        t->kind = T_NUMBER;
        t->text = fp_strndup(ps->arena, s + b, e - b);
        return true;
    }
    if(ch == '@') return lex_date(ps, t);
    if(ch == '%') {
        ps->p++;
        if(ps->p < ps->len && (s[ps->p] == '`' || s[ps->p] == '\'')) {
            t->kind = T_VAR;
            return lex_quoted(ps, s[ps->p], t);
        }
        size_t b = ps->p;
        while(ps->p < ps->len && (isalnum((unsigned char)s[ps->p]) || s[ps->p] == '_' || s[ps->p] == '-')) ps->p++;
        if(ps->p == b) return perr(ps, t->pos, "expected a variable name after %%");
        t->kind = T_VAR;
        t->text = fp_strndup(ps->arena, s + b, ps->p - b);
        return true;
    }
    if(ch == '$') {
        size_t b = ++ps->p;
        while(ps->p < ps->len && isalpha((unsigned char)s[ps->p])) ps->p++;
        t->kind = T_SPECIAL;
        t->text = fp_strndup(ps->arena, s + b, ps->p - b);
        if(strcmp(t->text, "this") && strcmp(t->text, "index") && strcmp(t->text, "total"))
            return perr(ps, t->pos, "unknown special variable $%s", t->text);
        return true;
    }
    static const char *const two[] = {"<=", ">=", "!=", "!~"};
    for(size_t i = 0; i < sizeof two / sizeof two[0]; i++) {
        if(ps->p + 1 < ps->len && s[ps->p] == two[i][0] && s[ps->p + 1] == two[i][1]) {
            t->kind = T_PUNCT;
            t->text = two[i];
            ps->p += 2;
            return true;
        }
    }
    static const char ONE[] = ".[](),+-*/|&=~<>{}";
    static const char *const ONE_TEXT[] = {".", "[", "]", "(", ")", ",", "+", "-", "*",
                                           "/", "|", "&", "=", "~", "<", ">", "{", "}"};
    const char *at = strchr(ONE, ch);
    if(at && ch) {
        t->kind = T_PUNCT;
        t->text = ONE_TEXT[at - ONE];
        ps->p++;
        return true;
    }
    return perr(ps, ps->p, "unexpected character '%c'", ch);
}

static bool is_punct(const parser *ps, const char *p) { return ps->t.kind == T_PUNCT && strcmp(ps->t.text, p) == 0; }
static bool is_word(const parser *ps, const char *w) { return ps->t.kind == T_IDENT && strcmp(ps->t.text, w) == 0; }

static bool expect(parser *ps, const char *p) {
    if(!is_punct(ps, p)) return perr(ps, ps->t.pos, "expected '%s'", p);
    return lex_next(ps);
}

/* ---- parser ---------------------------------------------------------------- */

static fp_node *new_node(parser *ps, fp_node_kind k, size_t pos) {
    fp_node *n = fp_alloc(ps->arena, sizeof *n);
    n->kind = k;
    n->pos = pos;
    n->fn = -1;
    return n;
}

static fp_node *parse_expr(parser *ps, int minprec);

/* Set n's height from its children; fails past FP_MAX_TREE_HEIGHT, which
 * bounds the recursion of evaluation and of freeing. */
static bool set_height(parser *ps, fp_node *n) {
    int h = 0;
    if(n->a && n->a->height > h) h = n->a->height;
    if(n->b && n->b->height > h) h = n->b->height;
    for(int i = 0; i < n->nargs; i++)
        if(n->args[i]->height > h) h = n->args[i]->height;
    n->height = h + 1;
    if(n->height > FP_MAX_TREE_HEIGHT) return perr(ps, n->pos, "expression nested too deeply");
    return true;
}

static const char *const CALENDAR[] = {"year", "years", "month", "months", "week", "weeks", "day", "days", "hour",
                                       "hours", "minute", "minutes", "second", "seconds", "millisecond",
                                       "milliseconds", NULL};

static bool is_calendar_word(const char *w) {
    for(int i = 0; CALENDAR[i]; i++)
        if(strcmp(w, CALENDAR[i]) == 0) return true;
    return false;
}

static fp_node *parse_literal_number(parser *ps) {
    fp_node *n = new_node(ps, N_LITERAL, ps->t.pos);
    const char *num = ps->t.text;
    fp_dec check;
    if(!fp_dec_parse(num, &check)) {
        perr(ps, ps->t.pos, "number with more than 36 digits");
        return NULL;
    }
    if(!lex_next(ps)) return NULL;
    if(ps->t.kind == T_STRING || (ps->t.kind == T_IDENT && is_calendar_word(ps->t.text))) {
        n->lit.v.kind = FP_QUANTITY;
        n->lit.v.type = "Quantity";
        n->lit.v.text = num;
        n->lit.v.unit = ps->t.text;
        if(!lex_next(ps)) return NULL;
        return n;
    }
    if(strchr(num, '.')) {
        n->lit.v.kind = FP_DECIMAL;
        n->lit.v.type = "Decimal";
        n->lit.v.text = num;
        return n;
    }
    char *end = NULL;
    long long v = strtoll(num, &end, 10);
    if(strlen(num) > 18 || *end) {
        /* too wide for an Integer: keep it as a decimal */
        n->lit.v.kind = FP_DECIMAL;
        n->lit.v.type = "Decimal";
        n->lit.v.text = num;
        return n;
    }
    n->lit.v.kind = FP_INTEGER;
    n->lit.v.type = "Integer";
    n->lit.v.integer = v;
    return n;
}

static fp_node *parse_date_literal(parser *ps) {
    fp_node *n = new_node(ps, N_LITERAL, ps->t.pos);
    const char *txt = ps->t.text;
    fp_dt d;
    if(txt[0] == 'T') {
        if(!fp_dt_parse(txt + 1, FP_TIME, &d)) {
            perr(ps, ps->t.pos, "bad time literal @%s", txt);
            return NULL;
        }
        n->lit.v.kind = FP_TIME;
        n->lit.v.type = "Time";
        n->lit.v.text = txt + 1;
    } else {
        size_t l = strlen(txt);
        bool has_t = strchr(txt, 'T') != NULL;
        char *copy = fp_strdup(ps->arena, txt);
        if(has_t && copy[l - 1] == 'T') copy[l - 1] = 0; /* @2015T: a DateTime with year precision */
        int kind = has_t ? FP_DATETIME : FP_DATE;
        if(!fp_dt_parse(copy, kind, &d)) {
            perr(ps, ps->t.pos, "bad date literal @%s", txt);
            return NULL;
        }
        n->lit.v.kind = kind;
        n->lit.v.type = kind == FP_DATE ? "Date" : "DateTime";
        n->lit.v.text = copy;
    }
    if(!lex_next(ps)) return NULL;
    return n;
}

/* Convert a parsed argument into a type specifier (ns, name). */
static bool to_type_spec(parser *ps, fp_node *arg, fp_node *into) {
    if(arg->kind == N_IDENT) {
        into->name = arg->name;
        into->ns = NULL;
        return true;
    }
    if(arg->kind == N_MEMBER && arg->a && arg->a->kind == N_IDENT) {
        into->ns = arg->a->name;
        into->name = arg->name;
        return true;
    }
    return perr(ps, arg->pos, "expected a type name");
}

static fp_node *parse_call(parser *ps, fp_node *focus, const char *name, size_t pos) {
    fp_node *n = new_node(ps, N_FUNC, pos);
    fp_node *args[16];
    int nargs = 0;
    n->a = focus;
    n->name = name;
    n->fn = fp_fn_find(name);
    if(n->fn < 0) {
        perr(ps, pos, "unknown function '%s'", name);
        return NULL;
    }
    if(!lex_next(ps)) return NULL; /* ( */
    if(!is_punct(ps, ")")) {
        for(;;) {
            if(nargs == 16) {
                perr(ps, ps->t.pos, "too many arguments");
                return NULL;
            }
            fp_node *a = parse_expr(ps, 0);
            if(!a) return NULL;
            args[nargs++] = a;
            if(is_punct(ps, ",")) {
                if(!lex_next(ps)) return NULL;
                continue;
            }
            break;
        }
    }
    if(!expect(ps, ")")) return NULL;
    const fp_fninfo *fi = fp_fn_at(n->fn);
    if(nargs < fi->min || nargs > fi->max) {
        perr(ps, pos, "%s() takes %d%s%d argument%s, not %d", name, fi->min, fi->max > fi->min ? " to " : "",
             fi->max > fi->min ? fi->max : 0, fi->max == 1 ? "" : "s", nargs);
        /* tidy message when min == max */
        if(ps->err && fi->min == fi->max)
            snprintf(ps->err, ps->errlen, "%s() takes %d argument%s, not %d", name, fi->min, fi->min == 1 ? "" : "s",
                     nargs);
        return NULL;
    }
    if(fi->type_arg) {
        if(!to_type_spec(ps, args[0], n)) return NULL;
        if(!fp_type_known(n->ns, n->name)) {
            perr(ps, args[0]->pos, "unknown type '%s%s%s'", n->ns ? n->ns : "", n->ns ? "." : "", n->name);
            return NULL;
        }
        nargs = 0;
    }
    n->nargs = nargs;
    if(nargs) {
        n->args = fp_alloc(ps->arena, (size_t)nargs * sizeof *n->args);
        memcpy(n->args, args, (size_t)nargs * sizeof *n->args);
    }
    if(!set_height(ps, n)) return NULL;
    /* precompile literal regular expressions */
    if((strcmp(name, "matches") == 0 || strcmp(name, "replaceMatches") == 0 || strcmp(name, "matchesFull") == 0) &&
       nargs >= 1 && args[0]->kind == N_LITERAL && args[0]->lit.v.kind == FP_STRING) {
        char rerr[128];
        n->re = fp_regex_compile(args[0]->lit.v.text, strcmp(name, "matchesFull") == 0, rerr, sizeof rerr);
        if(!n->re) {
            perr(ps, args[0]->pos, "bad regular expression: %s", rerr);
            return NULL;
        }
        fhirpath_expr *e = ps->expr;
        if(e->nregexes == e->capregexes) {
            e->capregexes = e->capregexes ? e->capregexes * 2 : 4;
            e->regexes = xrealloc(e->regexes, e->capregexes * sizeof *e->regexes);
        }
        e->regexes[e->nregexes++] = n->re;
    }
    return n;
}

static fp_node *parse_term(parser *ps) {
    tok t = ps->t;
    fp_node *n = NULL;
    switch(t.kind) {
    case T_NUMBER: return parse_literal_number(ps);
    case T_DATE: return parse_date_literal(ps);
    case T_STRING:
        n = new_node(ps, N_LITERAL, t.pos);
        n->lit.v.kind = FP_STRING;
        n->lit.v.type = "String";
        n->lit.v.text = t.text;
        return lex_next(ps) ? n : NULL;
    case T_VAR:
        n = new_node(ps, N_VAR, t.pos);
        n->name = t.text;
        return lex_next(ps) ? n : NULL;
    case T_SPECIAL:
        n = new_node(ps, strcmp(t.text, "this") == 0 ? N_THIS : strcmp(t.text, "index") == 0 ? N_INDEXV : N_TOTAL,
                     t.pos);
        return lex_next(ps) ? n : NULL;
    case T_DIDENT:
        n = new_node(ps, N_IDENT, t.pos);
        n->name = t.text;
        n->is_type = t.text[0] >= 'A' && t.text[0] <= 'Z' && fhir_type_find(t.text) != NULL;
        return lex_next(ps) ? n : NULL;
    case T_IDENT:
        if(!lex_next(ps)) return NULL;
        if(is_punct(ps, "(")) return parse_call(ps, NULL, t.text, t.pos);
        if(strcmp(t.text, "true") == 0 || strcmp(t.text, "false") == 0) {
            n = new_node(ps, N_LITERAL, t.pos);
            n->lit.v.kind = FP_BOOLEAN;
            n->lit.v.type = "Boolean";
            n->lit.v.boolean = t.text[0] == 't';
            return n;
        }
        n = new_node(ps, N_IDENT, t.pos);
        n->name = t.text;
        n->is_type = t.text[0] >= 'A' && t.text[0] <= 'Z' && fhir_type_find(t.text) != NULL;
        return n;
    case T_PUNCT:
        if(is_punct(ps, "(")) {
            if(!lex_next(ps)) return NULL;
            n = parse_expr(ps, 0);
            if(!n || !expect(ps, ")")) return NULL;
            return n;
        }
        if(is_punct(ps, "{")) {
            if(!lex_next(ps)) return NULL;
            if(!expect(ps, "}")) return NULL;
            return new_node(ps, N_EMPTY, t.pos);
        }
        break;
    default: break;
    }
    if(t.kind == T_EOF)
        perr(ps, t.pos, "unexpected end of expression");
    else
        perr(ps, t.pos, "unexpected '%s'", t.text);
    return NULL;
}

static fp_node *parse_postfix(parser *ps) {
    fp_node *n = parse_term(ps);
    while(n) {
        if(is_punct(ps, ".")) {
            if(!lex_next(ps)) return NULL;
            tok t = ps->t;
            if(t.kind != T_IDENT && t.kind != T_DIDENT) {
                perr(ps, t.pos, "expected a name after '.'");
                return NULL;
            }
            if(!lex_next(ps)) return NULL;
            if(t.kind == T_IDENT && is_punct(ps, "(")) {
                n = parse_call(ps, n, t.text, t.pos);
                continue;
            }
            fp_node *m = new_node(ps, N_MEMBER, t.pos);
            m->a = n;
            m->name = t.text;
            if(!set_height(ps, m)) return NULL;
            n = m;
        } else if(is_punct(ps, "[")) {
            fp_node *m = new_node(ps, N_INDEX, ps->t.pos);
            if(!lex_next(ps)) return NULL;
            m->a = n;
            m->b = parse_expr(ps, 0);
            if(!m->b || !expect(ps, "]")) return NULL;
            if(!set_height(ps, m)) return NULL;
            n = m;
        } else {
            break;
        }
    }
    return n;
}

static fp_node *parse_unary(parser *ps) {
    if(is_punct(ps, "-") || is_punct(ps, "+")) {
        size_t pos = ps->t.pos;
        bool neg = ps->t.text[0] == '-';
        if(++ps->depth > FP_MAX_PARSE_DEPTH) {
            perr(ps, pos, "expression nested too deeply");
            return NULL;
        }
        if(!lex_next(ps)) return NULL;
        fp_node *a = parse_unary(ps);
        ps->depth--;
        if(!a) return NULL;
        if(!neg) return a;
        /* fold a negative number literal */
        if(a->kind == N_LITERAL && a->lit.v.kind == FP_INTEGER) {
            a->lit.v.integer = -a->lit.v.integer;
            a->pos = pos;
            return a;
        }
        if(a->kind == N_LITERAL && (a->lit.v.kind == FP_DECIMAL || a->lit.v.kind == FP_QUANTITY)) {
            size_t l = strlen(a->lit.v.text);
            char *t = fp_alloc(ps->arena, l + 2);
            t[0] = '-';
            memcpy(t + 1, a->lit.v.text, l + 1);
            a->lit.v.text = t;
            a->pos = pos;
            return a;
        }
        fp_node *n = new_node(ps, N_UNARY, pos);
        n->op = OP_SUB;
        n->a = a;
        return set_height(ps, n) ? n : NULL;
    }
    return parse_postfix(ps);
}

typedef struct opinfo {
    const char *text;
    bool word;
    fp_op op;
    int prec;
} opinfo;

static const opinfo OPS[] = {
    {"implies", true, OP_IMPLIES, 1}, {"or", true, OP_OR, 2},       {"xor", true, OP_XOR, 2},
    {"and", true, OP_AND, 3},         {"in", true, OP_IN, 4},       {"contains", true, OP_CONTAINS, 4},
    {"=", false, OP_EQ, 5},           {"~", false, OP_EQUIV, 5},    {"!=", false, OP_NE, 5},
    {"!~", false, OP_NEQUIV, 5},      {"<", false, OP_LT, 6},       {">", false, OP_GT, 6},
    {"<=", false, OP_LE, 6},          {">=", false, OP_GE, 6},      {"|", false, OP_UNION, 7},
    {"is", true, OP_IS, 8},           {"as", true, OP_AS, 8},       {"+", false, OP_ADD, 9},
    {"-", false, OP_SUB, 9},          {"&", false, OP_CONCAT, 9},   {"*", false, OP_MUL, 10},
    {"/", false, OP_DIV, 10},         {"div", true, OP_IDIV, 10},   {"mod", true, OP_MOD, 10},
};

static const opinfo *current_op(parser *ps) {
    for(size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        if(OPS[i].word ? is_word(ps, OPS[i].text) : is_punct(ps, OPS[i].text)) return &OPS[i];
    }
    return NULL;
}

static fp_node *parse_type_spec(parser *ps, fp_node *n) {
    if(ps->t.kind != T_IDENT && ps->t.kind != T_DIDENT) {
        perr(ps, ps->t.pos, "expected a type name");
        return NULL;
    }
    const char *first = ps->t.text;
    if(!lex_next(ps)) return NULL;
    if(is_punct(ps, ".")) {
        if(!lex_next(ps)) return NULL;
        if(ps->t.kind != T_IDENT && ps->t.kind != T_DIDENT) {
            perr(ps, ps->t.pos, "expected a type name");
            return NULL;
        }
        n->ns = first;
        n->name = ps->t.text;
        if(!lex_next(ps)) return NULL;
    } else {
        n->name = first;
    }
    if(!fp_type_known(n->ns, n->name)) {
        perr(ps, n->pos, "unknown type '%s%s%s'", n->ns ? n->ns : "", n->ns ? "." : "", n->name);
        return NULL;
    }
    return n;
}

static fp_node *parse_expr(parser *ps, int minprec) {
    if(++ps->depth > FP_MAX_PARSE_DEPTH) {
        perr(ps, ps->t.pos, "expression nested too deeply");
        return NULL;
    }
    fp_node *left = parse_unary(ps);
    while(left) {
        const opinfo *o = current_op(ps);
        if(!o || o->prec <= minprec) break;
        fp_node *n = new_node(ps, o->op == OP_IS || o->op == OP_AS ? N_TYPEOP : N_BINARY, ps->t.pos);
        n->op = o->op;
        n->a = left;
        if(!lex_next(ps)) return NULL;
        if(n->kind == N_TYPEOP) {
            if(!parse_type_spec(ps, n)) return NULL;
        } else {
            n->b = parse_expr(ps, o->prec);
            if(!n->b) return NULL;
        }
        if(!set_height(ps, n)) return NULL;
        left = n;
    }
    ps->depth--;
    return left;
}

kith_rc fhirpath_parse(const char *src, fhirpath_expr **out, size_t *err_pos, char *err, size_t errlen) {
    kith_rc rc = KITH_EINVAL;
    fhirpath_expr *e = NULL;
    parser ps;
    *out = NULL;
    if(err && errlen) err[0] = 0;
    if(err_pos) *err_pos = 0;
    if(!src) return KITH_EINVAL;
    memset(&ps, 0, sizeof ps);
    e = xcalloc(1, sizeof *e);
    ps.src = src;
    ps.len = strlen(src);
    ps.arena = &e->arena;
    ps.expr = e;
    ps.err = err;
    ps.errlen = errlen;
    if(ps.len > FP_MAX_EXPR_LEN) {
        perr(&ps, FP_MAX_EXPR_LEN, "expression longer than %u characters", FP_MAX_EXPR_LEN);
        goto done;
    }
    e->src = fp_strdup(&e->arena, src);
    if(!lex_next(&ps)) goto done;
    e->root = parse_expr(&ps, 0);
    if(!e->root) goto done;
    if(ps.t.kind != T_EOF) {
        perr(&ps, ps.t.pos, "unexpected '%s'", ps.t.text);
        goto done;
    }
    *out = e;
    e = NULL;
    rc = KITH_OK;
done:
    if(rc && err_pos) *err_pos = ps.err_pos;
    fhirpath_free(e);
    return rc;
}

void fhirpath_free(fhirpath_expr *e) {
    if(!e) return;
    for(size_t i = 0; i < e->nregexes; i++) fp_regex_free(e->regexes[i]);
    free(e->regexes);
    fp_arena_free(&e->arena);
    free(e);
}
