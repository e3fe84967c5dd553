/*
 * nhs_number.h — NHS numbers: the check digit, reading what people type,
 * showing it back, and what to do with a legacy number that fails.
 *
 * An NHS number is ten digits; the tenth is a modulus 11 check digit over
 * the first nine (weights 10 down to 2). A number whose check works out as
 * 10 is never issued. Pure functions, thread-safe (nhs_number_policy_from_env
 * reads the environment, like getenv). docs/identity.md explains the rules
 * for users and operators.
 */
#ifndef KITH_NHS_NUMBER_H
#define KITH_NHS_NUMBER_H
#include <stdbool.h>

/* The identifier system of an NHS number in FHIR (NHS England's). */
#define NHS_NUMBER_SYSTEM "https://fhir.nhs.uk/Id/nhs-number"
/* Kith's identifier system for a legacy number kept under the flag policy
 * (below): the digits as read, but not an NHS number anything links on. */
#define NHS_NUMBER_UNVERIFIED_SYSTEM "https://kith.example.org/fhir/Id/unverified-nhs-number"

/* True when s is exactly ten digits (no spaces) with a correct check digit.
 * Only the check: nhs_number_parse also refuses placeholders and impossible
 * CHI numbers. */
bool nhs_number_valid(const char *s);

/* The check digit (0-9) for the nine digits at s, or -1 when s does not start
 * with nine digits or the check works out as 10 (no such NHS number). Only
 * the first nine characters are read. */
int nhs_number_check_digit(const char *s);

/* What is wrong with a typed or imported NHS number. */
typedef enum nhs_number_problem {
    NHS_NUMBER_OK,              /* a number that can be issued */
    NHS_NUMBER_EMPTY,           /* nothing but blanks */
    NHS_NUMBER_NOT_DIGITS,      /* a character other than a digit, space or hyphen; or no digits */
    NHS_NUMBER_WRONG_LENGTH,    /* not ten digits */
    NHS_NUMBER_BAD_CHECK_DIGIT, /* the tenth digit is not the check digit of the first nine */
    NHS_NUMBER_NEVER_ISSUED,    /* the check works out as 10, or a Scottish CHI number with an
                                   impossible date of birth: no such number exists */
    NHS_NUMBER_BAD_GROUPING,    /* ten digits, but spaces/hyphens other than 3-3-4 */
    NHS_NUMBER_PLACEHOLDER      /* ten identical digits (0000000000, 9999999999): a stand-in
                                   for "not known"; every one of them passes the check */
} nhs_number_problem;

/* Scotland's CHI numbers share the NHS number's form and check digit. Their
 * first six digits are the date of birth (DDMMYY), so in this range a number
 * whose first six digits are not a real date was never issued. */
#define NHS_NUMBER_CHI_FIRST "0100000000"
#define NHS_NUMBER_CHI_LAST "3112999999"

/*
 * Read an NHS number as people write it. Surrounding blanks (space, tab, CR,
 * LF) are trimmed. Accepted shapes, and only these:
 *     9434765919      ten digits together
 *     943 476 5919    3-3-4 with one space in each gap
 *     943-476-5919    3-3-4 with one hyphen in each gap
 * Anything else made of ten digits with spaces/hyphens (mixed separators,
 * double spaces, 6-4 as a CHI number is often written, one digit at a time)
 * is NHS_NUMBER_BAD_GROUPING: a number laid out differently is often some
 * other identifier, and 3-3-4 is the form printed on every NHS letter.
 * Leading zeros are never added: "943476591" is NHS_NUMBER_WRONG_LENGTH.
 *
 * Problems are reported in this order: EMPTY, NOT_DIGITS, WRONG_LENGTH,
 * BAD_GROUPING (the shape), then NEVER_ISSUED (check = 10), BAD_CHECK_DIGIT,
 * PLACEHOLDER, NEVER_ISSUED (impossible CHI date).
 *
 * out (may be NULL) receives the ten digits, NUL-terminated, whenever the
 * shape is right, including for BAD_CHECK_DIGIT, NEVER_ISSUED and
 * PLACEHOLDER (so a legacy policy can keep them); otherwise "". input may be
 * NULL (NHS_NUMBER_EMPTY). Never reads past input's NUL.
 */
nhs_number_problem nhs_number_parse(const char *input, char out[11]);

/* A sentence for the person at the desk saying what is wrong. Static text. */
const char *nhs_number_problem_text(nhs_number_problem p);

/* "9434765919" -> "943 476 5919", the 3-3-4 display form. digits must be ten
 * digits (as nhs_number_parse gives); if it is not, out is "". */
void nhs_number_display(const char digits[10], char out[13]);

/*
 * What a bulk load or a write does with a record whose NHS number is not
 * valid (legacy data). Set by KITH_NHS_NUMBER_POLICY:
 *   reject (default)  refuse the record, saying why;
 *   flag              keep a number that fails the check (BAD_CHECK_DIGIT,
 *                     NEVER_ISSUED) as written but marked unverified, never
 *                     linked on; store a record whose number is a
 *                     PLACEHOLDER without the number. Malformed numbers
 *                     (NOT_DIGITS, WRONG_LENGTH, BAD_GROUPING) are refused.
 */
typedef enum nhs_number_policy { NHS_POLICY_REJECT, NHS_POLICY_FLAG } nhs_number_policy;

/* What to do with one record's number, given the policy. */
typedef enum nhs_number_action {
    NHS_NUMBER_USE,          /* a good number: store it and link on it */
    NHS_NUMBER_KEEP_FLAGGED, /* store the digits as written, marked unverified; never link on them */
    NHS_NUMBER_LEAVE_OUT,    /* store the record without a number (EMPTY; PLACEHOLDER under flag) */
    NHS_NUMBER_REFUSE        /* refuse the record with nhs_number_problem_text */
} nhs_number_action;

nhs_number_action nhs_number_policy_action(nhs_number_policy policy, nhs_number_problem p);

/* "reject" or "flag", in any case, to *out; false (out untouched) otherwise. */
bool nhs_number_policy_parse(const char *s, nhs_number_policy *out);

/* KITH_NHS_NUMBER_POLICY: unset or empty is reject; a value other than
 * reject/flag is logged as a warning and taken as reject (the safe side). */
nhs_number_policy nhs_number_policy_from_env(void);

#endif
