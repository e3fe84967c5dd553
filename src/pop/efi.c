/*
 * efi.c — the electronic Frailty Index: deficits, categories, code lists
 * (see efi.h).
 *
 * A code list is an open-addressing hash table from SNOMED CT concept id
 * (as a 64-bit number: ids are at most 18 digits) to a mask of deficits,
 * so that looking a code up costs one or two probes and no allocation: the
 * population scorer looks up every coded record of every person. The table
 * is built once and then only read, so any number of threads may share it.
 */
#include "pop/efi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* Clegg et al. 2016, Table 1 (the deficit names shortened as the published
 * code sets name their files). */
const char *const efi_deficit_key[EFI_DEFICITS] = {
    "activity-limitation", "anaemia", "arthritis", "atrial-fibrillation", "care-requirement", "chd",
    "ckd", "cognitive-problems", "diabetes", "dizziness", "dyspnoea", "falls",
    "foot-problems", "fragility-fracture", "hearing-loss", "heart-failure", "heart-valve-disease", "housebound",
    "hypertension", "hypotension", "mobility-problems", "osteoporosis", "parkinsons", "peptic-ulcer",
    "pvd", "respiratory-disease", "skin-ulcer", "sleep-disturbance", "social-vulnerability", "stroke-tia",
    "thyroid-disorders", "urinary-incontinence", "urinary-system-disease", "vision-problems", "weight-loss",
    "polypharmacy",
};

const char *const efi_deficit_name[EFI_DEFICITS] = {
    "Activity limitation", "Anaemia and haematinic deficiency", "Arthritis", "Atrial fibrillation",
    "Requirement for care", "Ischaemic heart disease", "Chronic kidney disease", "Memory and cognitive problems",
    "Diabetes", "Dizziness", "Dyspnoea", "Falls",
    "Foot problems", "Fragility fracture", "Hearing impairment", "Heart failure", "Heart valve disease", "Housebound",
    "Hypertension", "Hypotension or syncope", "Mobility and transfer problems", "Osteoporosis",
    "Parkinsonism and tremor", "Peptic ulcer",
    "Peripheral vascular disease", "Respiratory disease", "Skin ulcer", "Sleep disturbance", "Social vulnerability",
    "Cerebrovascular disease",
    "Thyroid disease", "Urinary incontinence", "Urinary system disease", "Visual impairment",
    "Weight loss and anorexia", "Polypharmacy",
};

/* Diseases (1) as against symptoms, disabilities, findings and social
 * circumstances (0). The split is the one the synthetic place uses for its
 * long-term conditions (src/synth/tables.c), so the two agree. */
const bool efi_deficit_is_ltc[EFI_DEFICITS] = {
    0, 1, 1, 1, 0, 1, /* activity, anaemia, arthritis, AF, care, CHD */
    1, 1, 1, 0, 0, 0, /* CKD, cognitive, diabetes, dizziness, dyspnoea, falls */
    0, 1, 1, 1, 1, 0, /* foot, fracture, hearing, heart failure, valve, housebound */
    1, 0, 0, 1, 1, 1, /* hypertension, hypotension, mobility, osteoporosis, parkinsons, peptic ulcer */
    1, 1, 1, 1, 0, 1, /* PVD, respiratory, skin ulcer, sleep, social, stroke */
    1, 0, 1, 1, 0, 0, /* thyroid, incontinence, urinary system, vision, weight loss, polypharmacy */
};

int efi_deficit_index(const char *key) {
    for(int d = 0; d < EFI_DEFICITS; d++)
        if(strcmp(efi_deficit_key[d], key) == 0) return d;
    return -1;
}

efi_category efi_category_of_score(double score) {
    return score <= 0.12 ? EFI_FIT : score <= 0.24 ? EFI_MILD : score <= 0.36 ? EFI_MODERATE : EFI_SEVERE;
}

efi_category efi_category_of_count(int deficits) {
    return efi_category_of_score(efi_score(deficits));
}

static const char *const CATEGORY[4] = {"fit", "mild", "moderate", "severe"};

const char *efi_category_code(efi_category c) {
    return c >= EFI_FIT && c <= EFI_SEVERE ? CATEGORY[c] : "?";
}

int efi_category_parse(const char *code) {
    for(int i = 0; i < 4; i++)
        if(code && strcmp(code, CATEGORY[i]) == 0) return i;
    return -1;
}

uint64_t efi_with_polypharmacy(uint64_t mask, int drugs) {
    return drugs >= EFI_POLYPHARMACY_MIN ? mask | (1ull << EFI_POLYPHARMACY) : mask;
}

int efi_count(uint64_t mask) {
    return __builtin_popcountll(mask & ((1ull << EFI_DEFICITS) - 1));
}

double efi_score(int deficits) {
    return deficits / (double)EFI_DEFICITS;
}

void efi_score_text(int deficits, char out[16]) {
    snprintf(out, 16, "%.4f", efi_score(deficits));
    size_t n = strlen(out);
    while(n > 1 && out[n - 1] == '0') out[--n] = '\0';
    if(n && out[n - 1] == '.') out[--n] = '\0';
}

/* ---- the hash table ----------------------------------------------------- */

typedef struct slot {
    uint64_t code; /* 0: empty */
    uint64_t mask;
} slot;

struct efi_codes {
    slot *slots;
    size_t cap; /* a power of two */
    size_t n;
    size_t per_deficit[EFI_DEFICITS];
};

static size_t hash(uint64_t code, size_t cap) {
    code ^= code >> 33;
    code *= 0xff51afd7ed558ccdull;
    code ^= code >> 33;
    return (size_t)code & (cap - 1);
}

efi_codes *efi_codes_new(void) {
    efi_codes *c = xcalloc(1, sizeof *c);
    c->cap = 1024;
    c->slots = xcalloc(c->cap, sizeof *c->slots);
    return c;
}

void efi_codes_free(efi_codes *c) {
    if(!c) return;
    free(c->slots);
    free(c);
}

static slot *find(const efi_codes *c, uint64_t code) {
    size_t i = hash(code, c->cap);
    while(c->slots[i].code && c->slots[i].code != code) i = (i + 1) & (c->cap - 1);
    return &c->slots[i];
}

static void grow(efi_codes *c) {
    slot *old = c->slots;
    size_t oldcap = c->cap;
    c->cap *= 2;
    c->slots = xcalloc(c->cap, sizeof *c->slots);
    for(size_t i = 0; i < oldcap; i++)
        if(old[i].code) *find(c, old[i].code) = old[i];
    free(old);
}

void efi_codes_add(efi_codes *c, uint64_t code, int d) {
    if(!code || d < 0 || d >= EFI_POLYPHARMACY) return;
    if((c->n + 1) * 2 > c->cap) grow(c);
    slot *s = find(c, code);
    if(!s->code) {
        s->code = code;
        c->n++;
    }
    if(!(s->mask & (1ull << d))) c->per_deficit[d]++;
    s->mask |= 1ull << d;
}

uint64_t efi_codes_lookup(const efi_codes *c, uint64_t code) {
    if(!c || !code) return 0;
    return find(c, code)->mask;
}

size_t efi_codes_count(const efi_codes *c, int d) {
    return d >= 0 && d < EFI_DEFICITS ? c->per_deficit[d] : 0;
}

size_t efi_codes_size(const efi_codes *c) {
    return c->n;
}

uint64_t efi_sctid(const char *s, size_t len) {
    if(len < 6 || len > 18 || s[0] == '0') return 0;
    uint64_t v = 0;
    for(size_t i = 0; i < len; i++) {
        if(s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v;
}

/* ---- published sets ------------------------------------------------------ */

#define MAX_LINE 4096

/* Read one deficit's file into c; problems go to errors. */
static void load_file(efi_codes *c, const char *path, int d, buf *errors, long *nbad) {
    FILE *f = fopen(path, "r");
    if(!f) {
        buf_printf(errors, "%s: cannot read: %s\n", path, strerror(errno));
        (*nbad)++;
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0, codes = 0;
    while((len = getline(&line, &cap, f)) != -1) {
        lineno++;
        while(len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if(len == 0) continue;
        if(len > MAX_LINE) {
            buf_printf(errors, "%s:%ld: line longer than %d characters\n", path, lineno, MAX_LINE);
            (*nbad)++;
            continue;
        }
        size_t clen = strcspn(line, "\t");
        if(lineno == 1 && clen == 4 && strncmp(line, "code", 4) == 0) continue; /* a header */
        uint64_t code = efi_sctid(line, clen);
        if(!code) {
            buf_printf(errors, "%s:%ld: '%.*s' is not a SNOMED CT concept id (6 to 18 digits)\n", path, lineno,
                       (int)(clen > 40 ? 40 : clen), line);
            (*nbad)++;
            continue;
        }
        efi_codes_add(c, code, d);
        codes++;
    }
    if(ferror(f)) {
        buf_printf(errors, "%s: read error: %s\n", path, strerror(errno));
        (*nbad)++;
    } else if(codes == 0) {
        buf_printf(errors, "%s: no codes: a deficit with an empty list could never be found\n", path);
        (*nbad)++;
    }
    free(line);
    fclose(f);
}

kith_rc efi_codes_load_dir(const char *dir, efi_codes **out, buf *errors, long *nbad) {
    *out = NULL;
    *nbad = 0;
    efi_codes *c = efi_codes_new();
    for(int d = 0; d < EFI_POLYPHARMACY; d++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/efi-%s.snomed.tsv", dir, efi_deficit_key[d]);
        load_file(c, path, d, errors, nbad);
    }
    if(*nbad) {
        efi_codes_free(c);
        return KITH_EINVAL;
    }
    *out = c;
    return KITH_OK;
}
