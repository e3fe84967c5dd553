/*
 * efi.h — the electronic Frailty Index (eFI; Clegg et al., Age and Ageing
 * 2016; 45(3): 353-360): its 36 deficits, the index (deficits present / 36),
 * the four categories, and the SNOMED CT code lists that say which coded
 * records give which deficit.
 *
 * A code list maps a SNOMED CT concept id to the set of deficits it gives
 * (a bit mask: a concept may stand for more than one deficit, as some do in
 * the published lists). Kith ships its own curated list (efi_codes.c);
 * efi_codes_load_dir reads complete published sets, one file per deficit.
 * A loaded efi_codes is read-only and may be shared between threads.
 */
#ifndef KITH_POP_EFI_H
#define KITH_POP_EFI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"

#define EFI_DEFICITS 36
#define EFI_POLYPHARMACY 35     /* the deficit read from medicines, not codes */
#define EFI_POLYPHARMACY_MIN 5  /* different drugs prescribed at once for polypharmacy */
#define EFI_SNOMED "http://snomed.info/sct"

/* The deficits, in this order: short keys as the published code sets name
 * their files ("heart-failure"), names as a clinician would say them, and
 * whether Kith counts the deficit as a long-term condition (a disease, not
 * a symptom, a disability or a social circumstance). */
extern const char *const efi_deficit_key[EFI_DEFICITS];
extern const char *const efi_deficit_name[EFI_DEFICITS];
extern const bool efi_deficit_is_ltc[EFI_DEFICITS];
/* The deficit with this key, or -1. */
int efi_deficit_index(const char *key);

typedef enum efi_category { EFI_FIT, EFI_MILD, EFI_MODERATE, EFI_SEVERE } efi_category;
/* fit (<= 0.12), mild (<= 0.24), moderate (<= 0.36), severe (> 0.36), on the
 * unrounded score: 4 deficits are fit, 5-8 mild, 9-12 moderate, 13+ severe. */
efi_category efi_category_of_score(double score);
efi_category efi_category_of_count(int deficits);
/* "fit", "mild", "moderate", "severe" (static). */
const char *efi_category_code(efi_category c);
/* The category with this code, or -1. */
int efi_category_parse(const char *code);

/* ---- code lists ---------------------------------------------------------- */

typedef struct efi_codes efi_codes;

/* A concept id as a number, or 0 when s is not 6 to 18 digits (SNOMED CT
 * identifiers are 6-18 digits, no leading zero). */
uint64_t efi_sctid(const char *s, size_t len);

/* An empty list (caller frees with efi_codes_free). */
efi_codes *efi_codes_new(void);
void efi_codes_free(efi_codes *c);
/* Add concept code to deficit d (0 <= d < EFI_POLYPHARMACY). */
void efi_codes_add(efi_codes *c, uint64_t code, int d);
/* The deficits concept code gives, as a mask (bit d for deficit d); 0 for none. */
uint64_t efi_codes_lookup(const efi_codes *c, uint64_t code);
/* How many concepts give deficit d. */
size_t efi_codes_count(const efi_codes *c, int d);
/* How many distinct concepts the list holds. */
size_t efi_codes_size(const efi_codes *c);

/* Kith's own curated list (efi_codes.c). Caller frees. */
efi_codes *efi_codes_builtin(void);
/* Entry i of that list (for listing and checking it): its deficit key, code
 * and display, all static. Returns how many entries there are; the out
 * parameters are set only when i is below that. */
size_t efi_builtin_entry(size_t i, const char **deficit, const char **code, const char **display);

/*
 * Load published code sets from dir: for each deficit but polypharmacy the
 * file efi-<key>.snomed.tsv, one concept a line as code<TAB>description
 * (the description may be absent; blank lines and a header line starting
 * "code" are skipped; CRLF is accepted). Every problem goes to errors as
 * "file:line: reason" (a missing file as "file: reason"), one a line, and
 * *nbad counts them; on any problem the result is KITH_EINVAL and *out is
 * NULL, so a partly read list is never used. Caller frees *out.
 */
kith_rc efi_codes_load_dir(const char *dir, efi_codes **out, buf *errors, long *nbad);

/* ---- scoring one person ------------------------------------------------- */

/* The deficits present in mask, plus polypharmacy when drugs >= EFI_POLYPHARMACY_MIN. */
uint64_t efi_with_polypharmacy(uint64_t mask, int drugs);
/* How many deficits a mask holds. */
int efi_count(uint64_t mask);
/* The index: deficits / 36. */
double efi_score(int deficits);
/* The score as FHIR decimal text: at most four decimals, no trailing zeros
 * ("0.25", "0.3611", "0"). */
void efi_score_text(int deficits, char out[16]);

#endif
