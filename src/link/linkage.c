/*
 * linkage.c — Fellegi–Sunter record linkage of two sets of person records
 * (see linkage.h for the steps, docs/identity.md for the method).
 *
 * Records are packed small (names interned once as tokens that also carry
 * their frequency and nickname lines; dates as numbers; postcodes without
 * the space) so a million a side fit in a few hundred megabytes. Each
 * blocking rule keeps a sorted (key, left record) index; a right record
 * meets the left records sharing a key, and a pair already brought by an
 * earlier rule is skipped, so each pair is compared once. Comparison
 * vectors are tallied by pattern (at most 6^5) for EM, which then costs
 * nothing however many pairs there are.
 *
 * Threads: link_job_run starts o->threads workers that take right records
 * in chunks from a shared counter; each writes only its own tallies and the
 * result slots of its records. The job is read-only while they run.
 */
#include "link/linkage.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/mem.h"
#include "link/match.h"

#define MAX_RECORDS (1u << 24)
#define BLOCK_CAP 5000 /* left records looked at per right record per rule */
#define CHUNK 512      /* right records a worker takes at a time */
#define NPATTERNS 7776 /* 6^5: five fields, levels 0-4 or null */
#define PROB_FLOOR 1e-6

const char *const link_field_name[LINK_NFIELDS] = {"given", "family", "birth_date", "sex", "postcode"};
const int link_field_levels[LINK_NFIELDS] = {5, 5, 4, 2, 4};

static const char *const LEVEL_NAME[LINK_NFIELDS][LINK_MAX_LEVELS] = {
    {"different", "Jaro-Winkler >= 0.80", "Jaro-Winkler >= 0.92", "known variant (nickname)", "exact"},
    {"different", "Jaro-Winkler >= 0.80", "Jaro-Winkler >= 0.92", "Levenshtein <= 1", "exact"},
    {"different", "two of day, month and year agree", "day and month swapped", "exact"},
    {"different", "same"},
    {"different", "same district", "same sector", "exact"},
};

const char *link_level_name(int field, int level) {
    if(level == LINK_LEVEL_NULL) return "not known on one side";
    if(field < 0 || field >= LINK_NFIELDS || level < 0 || level >= link_field_levels[field]) return "?";
    return LEVEL_NAME[field][level];
}

/* ---- records and tokens ---------------------------------------------------- */

typedef struct token {
    uint32_t text;       /* offset in the name pool */
    uint32_t count[2];   /* records using it as given name, as family name */
    uint64_t groups[2];  /* nickname lines (link_name_groups) */
} token;

typedef struct rec {
    uint32_t id;            /* offset in the id pool */
    uint32_t given, family; /* token index, 0 for none */
    int16_t year;           /* 0: date unknown */
    int8_t month, day;
    char sex;               /* 'M', 'F' or 0 */
    uint8_t outward;        /* length of the postcode's outward code, 0: no postcode */
    char pc[8];             /* postcode, upper case, no space */
} rec;

typedef struct pool {
    char *s;
    size_t len, cap;
} pool;

struct link_job {
    rec *r[2];
    size_t n[2], cap[2];
    pool ids, names;
    token *tok; /* tok[0] unused: "none" */
    size_t ntok, tok_cap;
    uint32_t *slot; /* open-addressing table of token indices (0 empty) */
    size_t nslot;
    uint32_t *idslot[2]; /* per side: open-addressing table of record index + 1 (0 empty) */
    size_t nidslot[2];
};

static uint32_t pool_add(pool *p, const char *s, size_t n) {
    if(p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1 << 16;
        while(cap < p->len + n + 1) cap *= 2;
        p->s = xrealloc(p->s, cap);
        p->cap = cap;
    }
    uint32_t at = (uint32_t)p->len;
    memcpy(p->s + at, s, n);
    p->s[at + n] = '\0';
    p->len += n + 1;
    return at;
}

link_job *link_job_new(void) {
    link_job *j = xcalloc(1, sizeof *j);
    j->tok_cap = 1024;
    j->tok = xcalloc(j->tok_cap, sizeof *j->tok);
    j->ntok = 1;
    j->nslot = 2048;
    j->slot = xcalloc(j->nslot, sizeof *j->slot);
    return j;
}

void link_job_free(link_job *j) {
    if(!j) return;
    free(j->r[0]);
    free(j->r[1]);
    free(j->ids.s);
    free(j->names.s);
    free(j->tok);
    free(j->slot);
    free(j->idslot[0]);
    free(j->idslot[1]);
    free(j);
}

static uint64_t hash_bytes(const char *s, size_t n, uint64_t h) {
    for(size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

/* The token for name (already normalised, n bytes), added if new. */
static uint32_t intern(link_job *j, const char *name, size_t n) {
    if(!n) return 0;
    if((j->ntok + 1) * 2 > j->nslot) {
        size_t ns = j->nslot * 2;
        uint32_t *slot = xcalloc(ns, sizeof *slot);
        for(size_t t = 1; t < j->ntok; t++) {
            const char *s = j->names.s + j->tok[t].text;
            size_t i = (size_t)hash_bytes(s, strlen(s), 0xcbf29ce484222325ull) & (ns - 1);
            while(slot[i]) i = (i + 1) & (ns - 1);
            slot[i] = (uint32_t)t;
        }
        free(j->slot);
        j->slot = slot;
        j->nslot = ns;
    }
    size_t i = (size_t)hash_bytes(name, n, 0xcbf29ce484222325ull) & (j->nslot - 1);
    for(; j->slot[i]; i = (i + 1) & (j->nslot - 1)) {
        const char *s = j->names.s + j->tok[j->slot[i]].text;
        if(strlen(s) == n && memcmp(s, name, n) == 0) return j->slot[i];
    }
    if(j->ntok == j->tok_cap) {
        j->tok_cap *= 2;
        j->tok = xrealloc(j->tok, j->tok_cap * sizeof *j->tok);
    }
    token *t = &j->tok[j->ntok];
    memset(t, 0, sizeof *t);
    t->text = pool_add(&j->names, name, n);
    link_name_groups(j->names.s + t->text, t->groups);
    j->slot[i] = (uint32_t)j->ntok;
    return (uint32_t)j->ntok++;
}

/* A name as compared: letters only, upper case; a given name's first word. */
static size_t normalise_name(const char *s, bool first_word, char *out, size_t cap) {
    size_t n = 0;
    if(!s) return 0;
    while(*s && isspace((unsigned char)*s)) s++;
    for(; *s && n + 1 < cap; s++) {
        if(first_word && isspace((unsigned char)*s) && n) break;
        if(isalpha((unsigned char)*s)) out[n++] = (char)toupper((unsigned char)*s);
    }
    out[n] = '\0';
    return n;
}

static int digits(const char *s, int n) {
    int v = 0;
    for(int i = 0; i < n; i++) {
        if(!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static void parse_birth(const char *s, rec *r) {
    if(!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-') return;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if(y < 1800 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31) return;
    r->year = (int16_t)y;
    r->month = (int8_t)m;
    r->day = (int8_t)d;
}

static void parse_postcode(const char *s, rec *r) {
    char pc[16];
    size_t n = 0;
    for(; s && *s && n < sizeof pc - 1; s++)
        if(isalnum((unsigned char)*s)) pc[n++] = (char)toupper((unsigned char)*s);
    if(n < 5 || n > 7) return; /* not a UK postcode: treat as unknown */
    memcpy(r->pc, pc, n);
    r->pc[n] = '\0';
    r->outward = (uint8_t)(n - 3);
}

static char parse_sex(const char *s) {
    if(!s) return 0;
    if(strcasecmp(s, "male") == 0 || strcasecmp(s, "m") == 0) return 'M';
    if(strcasecmp(s, "female") == 0 || strcasecmp(s, "f") == 0) return 'F';
    return 0;
}

static bool id_seen(link_job *j, int side, const char *id);

kith_rc link_job_add(link_job *j, int side, const link_input *in, char *err, size_t errlen) {
    if(side != LINK_LEFT && side != LINK_RIGHT) {
        snprintf(err, errlen, "no such side");
        return KITH_EINVAL;
    }
    if(!in->id || !*in->id) {
        snprintf(err, errlen, "a record has no id");
        return KITH_EINVAL;
    }
    if(j->n[side] >= MAX_RECORDS) {
        snprintf(err, errlen, "more than %u records on one side", MAX_RECORDS);
        return KITH_EINVAL;
    }
    if(j->n[side] == j->cap[side]) {
        j->cap[side] = j->cap[side] ? j->cap[side] * 2 : 4096;
        j->r[side] = xrealloc(j->r[side], j->cap[side] * sizeof(rec));
    }
    if(id_seen(j, side, in->id)) {
        snprintf(err, errlen, "the id %s is already on this side", in->id);
        return KITH_EEXISTS;
    }
    rec *r = &j->r[side][j->n[side]];
    memset(r, 0, sizeof *r);
    r->id = pool_add(&j->ids, in->id, strlen(in->id));
    char name[64];
    r->given = intern(j, name, normalise_name(in->given, true, name, sizeof name));
    r->family = intern(j, name, normalise_name(in->family, false, name, sizeof name));
    if(r->given) j->tok[r->given].count[0]++;
    if(r->family) j->tok[r->family].count[1]++;
    parse_birth(in->birth_date, r);
    r->sex = parse_sex(in->sex);
    parse_postcode(in->postcode, r);
    j->n[side]++;
    return KITH_OK;
}

/* True when side already holds id; else reserves the slot the record about
 * to be added (index j->n[side]) takes. */
static bool id_seen(link_job *j, int side, const char *id) {
    if((j->n[side] + 1) * 2 > j->nidslot[side]) {
        size_t ns = j->nidslot[side] ? j->nidslot[side] * 2 : 8192;
        uint32_t *slot = xcalloc(ns, sizeof *slot);
        for(size_t r = 0; r < j->n[side]; r++) {
            const char *s = j->ids.s + j->r[side][r].id;
            size_t i = (size_t)hash_bytes(s, strlen(s), 0x84222325cbf29ce4ull) & (ns - 1);
            while(slot[i]) i = (i + 1) & (ns - 1);
            slot[i] = (uint32_t)r + 1;
        }
        free(j->idslot[side]);
        j->idslot[side] = slot;
        j->nidslot[side] = ns;
    }
    size_t mask = j->nidslot[side] - 1, i = (size_t)hash_bytes(id, strlen(id), 0x84222325cbf29ce4ull) & mask;
    for(; j->idslot[side][i]; i = (i + 1) & mask)
        if(strcmp(j->ids.s + j->r[side][j->idslot[side][i] - 1].id, id) == 0) return true;
    j->idslot[side][i] = (uint32_t)j->n[side] + 1;
    return false;
}

long link_job_count(const link_job *j, int side) { return (long)j->n[side]; }

const char *link_job_id(const link_job *j, int side, uint32_t i) { return j->ids.s + j->r[side][i].id; }

static const char *tok_text(const link_job *j, uint32_t t) { return t ? j->names.s + j->tok[t].text : ""; }

/* ---- string distances ------------------------------------------------------ */

int link_levenshtein(const char *a, const char *b, int cap) {
    size_t la = strlen(a), lb = strlen(b);
    if(la > 63 || lb > 63) return cap + 1;
    if((int)(la > lb ? la - lb : lb - la) > cap) return cap + 1;
    int prev[64], cur[64];
    for(size_t k = 0; k <= lb; k++) prev[k] = (int)k;
    for(size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        int best = cur[0];
        for(size_t k = 1; k <= lb; k++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[k - 1]);
            int v = prev[k - 1] + cost;
            if(prev[k] + 1 < v) v = prev[k] + 1;
            if(cur[k - 1] + 1 < v) v = cur[k - 1] + 1;
            cur[k] = v;
            if(v < best) best = v;
        }
        if(best > cap) return cap + 1;
        memcpy(prev, cur, (lb + 1) * sizeof *cur);
    }
    return prev[lb];
}

/* ---- comparison ------------------------------------------------------------- */

static uint8_t name_level(const link_job *j, uint32_t a, uint32_t b, bool given) {
    if(!a || !b) return LINK_LEVEL_NULL;
    if(a == b) return 4;
    const token *x = &j->tok[a], *y = &j->tok[b];
    if(given && ((x->groups[0] & y->groups[0]) || (x->groups[1] & y->groups[1]))) return 3;
    const char *s = tok_text(j, a), *t = tok_text(j, b);
    if(!given && link_levenshtein(s, t, 1) <= 1) return 3;
    double jw = link_jaro_winkler(s, t);
    return jw >= 0.92 ? 2 : jw >= 0.80 ? 1 : 0;
}

static void compare(const link_job *j, const rec *a, const rec *b, uint8_t lv[LINK_NFIELDS]) {
    lv[LINK_GIVEN] = name_level(j, a->given, b->given, true);
    lv[LINK_FAMILY] = name_level(j, a->family, b->family, false);
    if(!a->year || !b->year) lv[LINK_BIRTH] = LINK_LEVEL_NULL;
    else if(a->year == b->year && a->month == b->month && a->day == b->day) lv[LINK_BIRTH] = 3;
    else if(a->year == b->year && a->month == b->day && a->day == b->month) lv[LINK_BIRTH] = 2;
    else
        lv[LINK_BIRTH] = (a->year == b->year) + (a->month == b->month) + (a->day == b->day) >= 2 ? 1 : 0;
    lv[LINK_SEX] = !a->sex || !b->sex ? LINK_LEVEL_NULL : a->sex == b->sex;
    if(!a->outward || !b->outward) lv[LINK_POSTCODE] = LINK_LEVEL_NULL;
    else if(strcmp(a->pc, b->pc) == 0) lv[LINK_POSTCODE] = 3;
    else if(a->outward != b->outward || memcmp(a->pc, b->pc, a->outward) != 0) lv[LINK_POSTCODE] = 0;
    else lv[LINK_POSTCODE] = a->pc[a->outward] == b->pc[b->outward] ? 2 : 1;
}

static int pattern_of(const uint8_t lv[LINK_NFIELDS]) {
    int p = 0;
    for(int f = LINK_NFIELDS - 1; f >= 0; f--) p = p * 6 + (lv[f] == LINK_LEVEL_NULL ? 5 : lv[f]);
    return p;
}

static void pattern_levels(int p, uint8_t lv[LINK_NFIELDS]) {
    for(int f = 0; f < LINK_NFIELDS; f++, p /= 6) lv[f] = p % 6 == 5 ? LINK_LEVEL_NULL : (uint8_t)(p % 6);
}

/* ---- blocking --------------------------------------------------------------- */

/* The rules, in order: a pair is compared under the first rule it meets. */
enum { RULE_BIRTH, RULE_NAMES_YEAR, RULE_NAMES_DAY, RULE_POSTCODE_INITIAL, NRULES };
static const char *const RULE_NAME[NRULES] = {
    "same date of birth", "same given and family name and year of birth",
    "same given and family name and day and month of birth", "same postcode and initial of family name"};

/* The rule's key for r (never 0), or 0 when r lacks a field the rule needs. */
static uint64_t rule_key(const link_job *j, int rule, const rec *r) {
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)rule;
    int32_t v[3];
    switch(rule) {
    case RULE_BIRTH:
        if(!r->year) return 0;
        v[0] = r->year, v[1] = r->month, v[2] = r->day;
        h = hash_bytes((const char *)v, sizeof v, h);
        break;
    case RULE_NAMES_YEAR:
    case RULE_NAMES_DAY:
        if(!r->year || !r->given || !r->family) return 0;
        v[0] = (int32_t)r->given, v[1] = (int32_t)r->family;
        v[2] = rule == RULE_NAMES_YEAR ? r->year : r->month * 100 + r->day;
        h = hash_bytes((const char *)v, sizeof v, h);
        break;
    default:
        if(!r->outward || !r->family) return 0;
        h = hash_bytes(r->pc, strlen(r->pc), h);
        h = hash_bytes(tok_text(j, r->family), 1, h);
        break;
    }
    return h ? h : 1;
}

/* True when a and b agree on everything rule looks at. */
static bool rule_agrees(const link_job *j, int rule, const rec *a, const rec *b) {
    switch(rule) {
    case RULE_BIRTH: return a->year && a->year == b->year && a->month == b->month && a->day == b->day;
    case RULE_NAMES_YEAR:
        return a->year && a->given && a->family && a->given == b->given && a->family == b->family && a->year == b->year;
    case RULE_NAMES_DAY:
        return a->year && b->year && a->given && a->family && a->given == b->given && a->family == b->family &&
               a->month == b->month && a->day == b->day;
    default:
        return a->outward && a->family && b->family && strcmp(a->pc, b->pc) == 0 &&
               tok_text(j, a->family)[0] == tok_text(j, b->family)[0];
    }
}

typedef struct keyed {
    uint64_t key;
    uint32_t idx;
} keyed;

typedef struct block_index {
    keyed *v;
    size_t n;
} block_index;

static int keyed_cmp(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if(x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void index_build(const link_job *j, int rule, block_index *ix) {
    ix->v = xmalloc((j->n[LINK_LEFT] + 1) * sizeof *ix->v);
    ix->n = 0;
    for(size_t i = 0; i < j->n[LINK_LEFT]; i++) {
        uint64_t k = rule_key(j, rule, &j->r[LINK_LEFT][i]);
        if(k) ix->v[ix->n++] = (keyed){k, (uint32_t)i};
    }
    qsort(ix->v, ix->n, sizeof *ix->v, keyed_cmp);
}

/* The first entry with key, or ix->n. */
static size_t index_find(const block_index *ix, uint64_t key) {
    size_t lo = 0, hi = ix->n;
    while(lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if(ix->v[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* ---- the workers ------------------------------------------------------------ */

typedef enum { PASS_TRAIN, PASS_SCORE } pass_kind;

typedef struct run {
    const link_job *j;
    const link_options *o;
    block_index ix[NRULES];
    pass_kind pass;
    int train_rule;      /* PASS_TRAIN: only this rule's pairs */
    size_t next;         /* next right record to hand out (atomic) */
    /* scoring */
    double w[LINK_NFIELDS][LINK_MAX_LEVELS];
    double *tf_weight[2]; /* per token: exact given / family weight after term-frequency adjustment */
    double prior;
    link_pair *best;      /* one slot per right record */
    pthread_mutex_t lock;
    int64_t *tally;       /* PASS_TRAIN: summed pattern counts */
    int64_t pairs_by_rule[NRULES];
} run;

static double pair_weight(const run *ru, const rec *a, const uint8_t lv[LINK_NFIELDS], double fw[LINK_NFIELDS]) {
    double w = ru->prior;
    for(int f = 0; f < LINK_NFIELDS; f++) {
        double x = 0;
        if(lv[f] != LINK_LEVEL_NULL) {
            x = ru->w[f][lv[f]];
            if(f == LINK_GIVEN && lv[f] == 4) x = ru->tf_weight[0][a->given];
            if(f == LINK_FAMILY && lv[f] == 4) x = ru->tf_weight[1][a->family];
        }
        if(fw) fw[f] = x;
        w += x;
    }
    return w;
}

static double probability(double w) { return 1.0 / (1.0 + exp2(-w)); }

static void *worker(void *arg) {
    run *ru = arg;
    const link_job *j = ru->j;
    int64_t *tally = ru->pass == PASS_TRAIN ? xcalloc(NPATTERNS, sizeof *tally) : NULL;
    int64_t pairs[NRULES] = {0};
    int r0 = ru->pass == PASS_TRAIN ? ru->train_rule : 0, r1 = ru->pass == PASS_TRAIN ? ru->train_rule + 1 : NRULES;
    for(;;) {
        size_t lo = __atomic_fetch_add(&ru->next, CHUNK, __ATOMIC_RELAXED);
        if(lo >= j->n[LINK_RIGHT]) break;
        size_t hi = lo + CHUNK < j->n[LINK_RIGHT] ? lo + CHUNK : j->n[LINK_RIGHT];
        for(size_t i = lo; i < hi; i++) {
            const rec *b = &j->r[LINK_RIGHT][i];
            link_pair top = {0}, *slot = ru->best ? &ru->best[i] : NULL;
            top.weight = -INFINITY;
            double second = -INFINITY;
            for(int rule = r0; rule < r1; rule++) {
                uint64_t k = rule_key(j, rule, b);
                if(!k) continue;
                const block_index *ix = &ru->ix[rule];
                size_t at = index_find(ix, k);
                for(size_t seen = 0; at < ix->n && ix->v[at].key == k && seen < BLOCK_CAP; at++, seen++) {
                    const rec *a = &j->r[LINK_LEFT][ix->v[at].idx];
                    if(!rule_agrees(j, rule, a, b)) continue; /* a hash collision */
                    bool earlier = false;
                    for(int e = 0; e < rule && ru->pass == PASS_SCORE && !earlier; e++)
                        earlier = rule_agrees(j, e, a, b);
                    if(earlier) continue;
                    pairs[rule]++;
                    uint8_t lv[LINK_NFIELDS];
                    compare(j, a, b, lv);
                    if(tally) {
                        tally[pattern_of(lv)]++;
                        continue;
                    }
                    double w = pair_weight(ru, a, lv, NULL);
                    if(w > top.weight) {
                        second = top.weight;
                        top.weight = w;
                        top.left = ix->v[at].idx;
                        memcpy(top.level, lv, sizeof lv);
                    } else if(w > second) second = w;
                }
            }
            if(!slot) continue;
            slot->decision = LINK_NONE;
            if(top.weight == -INFINITY) continue;
            top.right = (uint32_t)i;
            top.probability = probability(top.weight);
            top.runner_up = second == -INFINITY ? 0 : probability(second);
            pair_weight(ru, &j->r[LINK_LEFT][top.left], top.level, top.field_weight);
            if(top.probability < ru->o->review_from) continue;
            bool close = top.runner_up >= ru->o->review_from && top.weight - second < 5.0;
            top.decision = top.probability >= ru->o->threshold && !close ? LINK_MATCH : LINK_REVIEW;
            *slot = top;
        }
    }
    pthread_mutex_lock(&ru->lock);
    for(int r = 0; r < NRULES; r++) ru->pairs_by_rule[r] += pairs[r];
    if(tally)
        for(int p = 0; p < NPATTERNS; p++) ru->tally[p] += tally[p];
    pthread_mutex_unlock(&ru->lock);
    free(tally);
    return NULL;
}

static void run_pass(run *ru) {
    int n = ru->o->threads < 1 ? 1 : ru->o->threads > 64 ? 64 : ru->o->threads;
    pthread_t t[64];
    int started = 0;
    ru->next = 0;
    for(int i = 1; i < n; i++)
        if(pthread_create(&t[started], NULL, worker, ru) == 0) started++;
    worker(ru); /* this thread works too */
    for(int i = 0; i < started; i++) pthread_join(t[i], NULL);
}

/* ---- estimation ------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* What Kith assumes before seeing the data (levels as in LEVEL_NAME, level 0
 * first): m for the same person's two records, u for two people of an
 * English town. They start EM and act as a prior worth PRIOR_PAIRS pairs
 * (m) and PRIOR_SAMPLE random pairs (u): with millions of pairs the data
 * decide; with a handful the answer stays sensible. */
#define PRIOR_PAIRS 10.0
#define PRIOR_SAMPLE 200.0
static const double M_PRIOR[LINK_NFIELDS][LINK_MAX_LEVELS] = {
    {0.03, 0.03, 0.04, 0.05, 0.85}, {0.02, 0.02, 0.03, 0.08, 0.85}, {0.02, 0.06, 0.02, 0.90},
    {0.02, 0.98},                   {0.12, 0.05, 0.03, 0.80},
};
static const double U_PRIOR[LINK_NFIELDS][LINK_MAX_LEVELS] = {
    {0.970, 0.012, 0.002, 0.002, 0.014}, {0.978, 0.010, 0.003, 0.002, 0.007}, {0.99695, 0.003, 0.00001, 0.00004},
    {0.5, 0.5},                          {0.9449, 0.05, 0.005, 0.0001},
};

static void m_start(double m[LINK_NFIELDS][LINK_MAX_LEVELS]) { memcpy(m, M_PRIOR, sizeof M_PRIOR); }

/* u from random pairs (all pairs when there are fewer than asked for). */
static void estimate_u(const link_job *j, const link_options *o, link_model *m) {
    int64_t count[LINK_NFIELDS][LINK_MAX_LEVELS] = {{0}};
    size_t nl = j->n[LINK_LEFT], nr = j->n[LINK_RIGHT];
    double all = (double)nl * (double)nr;
    long samples = o->sample_pairs > 0 ? o->sample_pairs : 1000000;
    bool every = all <= (double)samples;
    uint64_t s = o->seed ^ 0x5eed;
    long n = every ? (long)all : samples;
    for(long k = 0; k < n; k++) {
        size_t a = every ? (size_t)k / nr : (size_t)(splitmix(&s) % nl);
        size_t b = every ? (size_t)k % nr : (size_t)(splitmix(&s) % nr);
        uint8_t lv[LINK_NFIELDS];
        compare(j, &j->r[LINK_LEFT][a], &j->r[LINK_RIGHT][b], lv);
        for(int f = 0; f < LINK_NFIELDS; f++)
            if(lv[f] != LINK_LEVEL_NULL) count[f][lv[f]]++;
    }
    for(int f = 0; f < LINK_NFIELDS; f++) {
        int64_t total = 0;
        for(int l = 0; l < link_field_levels[f]; l++) total += count[f][l];
        for(int l = 0; l < link_field_levels[f]; l++) /* a level random pairs never reached keeps the prior's share */
            m->u[f][l] = ((double)count[f][l] + PRIOR_SAMPLE * U_PRIOR[f][l]) / ((double)total + PRIOR_SAMPLE);
    }
}


/* EM over the tallied patterns of one training session; fields in fixed
 * (the rule's own) are left out. Updates m, u_em and returns lambda. */
static double em(const int64_t *tally, const bool fixed[LINK_NFIELDS], const link_options *o,
                 double m[LINK_NFIELDS][LINK_MAX_LEVELS], double u[LINK_NFIELDS][LINK_MAX_LEVELS], int *iterations) {
    double lambda = 0.05, u_prior[LINK_NFIELDS][LINK_MAX_LEVELS];
    memcpy(u_prior, u, sizeof u_prior);
    int64_t total = 0;
    for(int p = 0; p < NPATTERNS; p++) total += tally[p];
    if(!total) return 0;
    int it;
    for(it = 0; it < (o->em_iterations > 0 ? o->em_iterations : 100); it++) {
        double mc[LINK_NFIELDS][LINK_MAX_LEVELS] = {{0}}, uc[LINK_NFIELDS][LINK_MAX_LEVELS] = {{0}}, matches = 0;
        for(int p = 0; p < NPATTERNS; p++) {
            if(!tally[p]) continue;
            uint8_t lv[LINK_NFIELDS];
            pattern_levels(p, lv);
            double pm = lambda, pu = 1 - lambda;
            for(int f = 0; f < LINK_NFIELDS; f++) {
                if(fixed[f] || lv[f] == LINK_LEVEL_NULL) continue;
                pm *= m[f][lv[f]];
                pu *= u[f][lv[f]];
            }
            double g = pm / (pm + pu), c = (double)tally[p];
            matches += c * g;
            for(int f = 0; f < LINK_NFIELDS; f++) {
                if(fixed[f] || lv[f] == LINK_LEVEL_NULL) continue;
                mc[f][lv[f]] += c * g;
                uc[f][lv[f]] += c * (1 - g);
            }
        }
        double change = fabs(matches / (double)total - lambda);
        lambda = matches / (double)total;
        for(int f = 0; f < LINK_NFIELDS; f++) {
            if(fixed[f]) continue;
            double sm = 0, su = 0;
            for(int l = 0; l < link_field_levels[f]; l++) sm += mc[f][l], su += uc[f][l];
            for(int l = 0; l < link_field_levels[f]; l++) {
                double nm = (mc[f][l] + PRIOR_PAIRS * M_PRIOR[f][l]) / (sm + PRIOR_PAIRS),
                       nu = (uc[f][l] + PRIOR_PAIRS * u_prior[f][l]) / (su + PRIOR_PAIRS);
                nm = nm < PROB_FLOOR ? PROB_FLOOR : nm;
                nu = nu < PROB_FLOOR ? PROB_FLOOR : nu;
                if(fabs(nm - m[f][l]) > change) change = fabs(nm - m[f][l]);
                m[f][l] = nm;
                u[f][l] = nu;
            }
        }
        if(change < 1e-7) break;
    }
    *iterations = it + 1;
    return lambda;
}

static double seconds_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

void link_options_default(link_options *o) {
    memset(o, 0, sizeof *o);
    o->threshold = 0.90;
    o->review_from = 0.50;
    o->threads = 2;
    o->seed = 1;
    o->sample_pairs = 1000000;
    o->em_iterations = 100;
}

/* One EM training session on the pairs of rule; fields the rule uses are
 * fixed. Its estimates go to m for the fields in take. */
static void train(run *ru, int rule, const bool fixed[LINK_NFIELDS], const bool take[LINK_NFIELDS], link_model *mo,
                  int session) {
    int64_t *tally = xcalloc(NPATTERNS, sizeof *tally);
    ru->pass = PASS_TRAIN;
    ru->train_rule = rule;
    ru->tally = tally;
    run_pass(ru);
    double m[LINK_NFIELDS][LINK_MAX_LEVELS], u[LINK_NFIELDS][LINK_MAX_LEVELS];
    m_start(m);
    memcpy(u, mo->u, sizeof u);
    mo->lambda[session] = em(tally, fixed, ru->o, m, u, &mo->em_iterations[session]);
    for(int f = 0; f < LINK_NFIELDS; f++) {
        if(!take[f]) continue;
        memcpy(mo->m[f], m[f], sizeof m[f]);
        memcpy(mo->u_em[f], u[f], sizeof u[f]);
    }
    int64_t pairs = 0;
    for(int p = 0; p < NPATTERNS; p++) pairs += tally[p];
    if(session == 0) mo->expected_matches = mo->lambda[0] * (double)pairs;
    ru->tally = NULL;
    free(tally);
}

kith_rc link_job_run(link_job *j, const link_options *o, link_pair **pairs, size_t *npairs, link_model *mo) {
    *pairs = NULL;
    *npairs = 0;
    memset(mo, 0, sizeof *mo);
    mo->records[0] = (long)j->n[LINK_LEFT];
    mo->records[1] = (long)j->n[LINK_RIGHT];
    if(!j->n[LINK_LEFT] || !j->n[LINK_RIGHT]) return KITH_EINVAL;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run ru = {.j = j, .o = o, .lock = PTHREAD_MUTEX_INITIALIZER};
    for(int r = 0; r < NRULES; r++) index_build(j, r, &ru.ix[r]);
    mo->seconds_load = seconds_since(&t0);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    estimate_u(j, o, mo);
    m_start(mo->m);
    memcpy(mo->u_em, mo->u, sizeof mo->u);
    /* Session 1, pairs born the same day: names, sex and postcode. Session 2,
     * pairs at one postcode with one initial: date of birth. */
    bool fixed1[LINK_NFIELDS] = {[LINK_BIRTH] = true}, take1[LINK_NFIELDS] = {true, true, false, true, true};
    bool fixed2[LINK_NFIELDS] = {[LINK_POSTCODE] = true, [LINK_FAMILY] = true};
    bool take2[LINK_NFIELDS] = {[LINK_BIRTH] = true};
    train(&ru, RULE_BIRTH, fixed1, take1, mo, 0);
    train(&ru, RULE_POSTCODE_INITIAL, fixed2, take2, mo, 1);
    /* The pairs born the same day hold m(birth exact) of all matches. */
    double matches = mo->expected_matches / (mo->m[LINK_BIRTH][3] > 0.05 ? mo->m[LINK_BIRTH][3] : 0.05);
    double most = (double)(j->n[LINK_LEFT] < j->n[LINK_RIGHT] ? j->n[LINK_LEFT] : j->n[LINK_RIGHT]);
    if(matches > most) matches = most;
    if(matches < 1) matches = 1;
    mo->expected_matches = matches;
    double all = (double)j->n[LINK_LEFT] * (double)j->n[LINK_RIGHT];
    mo->prior_weight = all > matches ? log2(matches / (all - matches)) : 0;
    mo->seconds_train = seconds_since(&t0);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ru.prior = mo->prior_weight;
    for(int f = 0; f < LINK_NFIELDS; f++)
        for(int l = 0; l < link_field_levels[f]; l++) ru.w[f][l] = log2(mo->m[f][l] / mo->u[f][l]);
    /* Exact agreement on a name is worth more the rarer the name: u becomes
     * the share of records with that name. */
    for(int k = 0; k < 2; k++) {
        int f = k ? LINK_FAMILY : LINK_GIVEN;
        int64_t total = 0;
        for(size_t t = 1; t < j->ntok; t++) total += j->tok[t].count[k];
        ru.tf_weight[k] = xcalloc(j->ntok, sizeof(double));
        for(size_t t = 1; t < j->ntok; t++) {
            double tf = total ? (double)j->tok[t].count[k] / (double)total : 0;
            if(tf <= 0) tf = 1.0 / (double)(total + 1);
            ru.tf_weight[k][t] = log2(mo->m[f][4] / tf);
        }
    }
    ru.best = xcalloc(j->n[LINK_RIGHT], sizeof *ru.best);
    memset(ru.pairs_by_rule, 0, sizeof ru.pairs_by_rule);
    ru.pass = PASS_SCORE;
    run_pass(&ru);
    size_t n = 0;
    for(size_t i = 0; i < j->n[LINK_RIGHT]; i++) {
        if(ru.best[i].decision == LINK_NONE) continue;
        if(ru.best[i].decision == LINK_MATCH) mo->links++;
        else mo->reviews++;
        ru.best[n++] = ru.best[i];
    }
    mo->nrules = NRULES;
    for(int r = 0; r < NRULES; r++) {
        mo->pairs_by_rule[r] = ru.pairs_by_rule[r];
        mo->pairs_compared += ru.pairs_by_rule[r];
    }
    /* Each right record joins at most one left record: the persons are the
     * left records with what joined them, and the right records left alone. */
    mo->persons = (long)(j->n[LINK_LEFT] + j->n[LINK_RIGHT]) - mo->links;
    mo->seconds_score = seconds_since(&t0);
    *pairs = ru.best;
    *npairs = n;
    for(int r = 0; r < NRULES; r++) free(ru.ix[r].v);
    free(ru.tf_weight[0]);
    free(ru.tf_weight[1]);
    pthread_mutex_destroy(&ru.lock);
    return KITH_OK;
}

const char *link_rule_name(int rule) { return rule >= 0 && rule < NRULES ? RULE_NAME[rule] : "?"; }

/* The text of field f of r, for an explanation (into out). */
static void field_text(const link_job *j, const rec *r, int f, char *out, size_t cap) {
    switch(f) {
    case LINK_GIVEN: snprintf(out, cap, "%s", tok_text(j, r->given)); break;
    case LINK_FAMILY: snprintf(out, cap, "%s", tok_text(j, r->family)); break;
    case LINK_BIRTH:
        if(r->year) snprintf(out, cap, "%04d-%02d-%02d", r->year, r->month, r->day);
        else snprintf(out, cap, "%s", "");
        break;
    case LINK_SEX: snprintf(out, cap, "%s", r->sex == 'M' ? "male" : r->sex == 'F' ? "female" : ""); break;
    default:
        if(r->outward) snprintf(out, cap, "%.*s %s", r->outward, r->pc, r->pc + r->outward);
        else snprintf(out, cap, "%s", "");
    }
}

void link_pair_explain(const link_job *j, const link_pair *p, const link_model *m, buf *b) {
    const rec *a = &j->r[LINK_LEFT][p->left], *r = &j->r[LINK_RIGHT][p->right];
    buf_printf(b, "  %-11s %-34s %+7.2f\n", "prior", "(before looking at any field)", m->prior_weight);
    for(int f = 0; f < LINK_NFIELDS; f++) {
        char x[48], y[48];
        field_text(j, a, f, x, sizeof x);
        field_text(j, r, f, y, sizeof y);
        buf_printf(b, "  %-11s %-34s %+7.2f  (%s | %s)\n", link_field_name[f], link_level_name(f, p->level[f]),
                   p->field_weight[f], *x ? x : "-", *y ? y : "-");
    }
    buf_printf(b, "  %-11s %-34s %+7.2f  probability %.6f\n", "total", "", p->weight, p->probability);
}
