/*
 * nhs_number.c — NHS numbers (see nhs_number.h).
 *
 * The modulus 11 check is used by the CLD social care importer and the FHIR
 * write path (record.c, for every Patient stored) to vet NHS numbers before
 * linking on them, and by the synthetic generator to make numbers that pass.
 * nhs_number_parse reads what a person typed or a legacy file holds and says
 * precisely what is wrong; nhs_number_policy_* decide what an import or a
 * write does with a number that fails. No state, no allocation:
 * every result is written into the caller's buffer or is static text.
 */
#include "base/nhs_number.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"

int nhs_number_check_digit(const char *s) {
    if(!s) return -1;
    int sum = 0;
    for(int i = 0; i < 9; i++) {
        if(s[i] < '0' || s[i] > '9') return -1;
        sum += (s[i] - '0') * (10 - i);
    }
    int check = 11 - sum % 11;
    if(check == 11) check = 0;
    return check == 10 ? -1 : check;
}

bool nhs_number_valid(const char *s) {
    if(!s) return false;
    for(int i = 0; i < 10; i++)
        if(s[i] < '0' || s[i] > '9') return false;
    if(s[10] != '\0') return false;
    return nhs_number_check_digit(s) == s[9] - '0';
}

/* ---- reading what people type ------------------------------------------ */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
static bool is_separator(char c) { return c == ' ' || c == '-'; }

/* t[0..n) holds exactly ten digits and otherwise only separators: true when
 * they are laid out as ten together or 3-3-4 with one separator, the same,
 * in each gap. */
static bool grouping_ok(const char *t, size_t n) {
    if(n == 10) return true;
    if(n != 12) return false;
    return is_separator(t[3]) && t[7] == t[3];
}

/* digits is ten digits: true when all ten are the same. */
static bool all_same(const char *digits) {
    for(int i = 1; i < 10; i++)
        if(digits[i] != digits[0]) return false;
    return true;
}

static int two(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* digits is ten digits in the CHI range: true when DDMMYY is a real date.
 * The century is not known; 29 February is accepted when YY is a multiple
 * of 4 (2000 was a leap year, so 00 counts too). */
static bool chi_date_ok(const char *digits) {
    static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int dd = two(digits), mm = two(digits + 2), yy = two(digits + 4);
    if(mm < 1 || mm > 12 || dd < 1 || dd > days[mm - 1]) return false;
    if(mm == 2 && dd == 29 && yy % 4 != 0) return false;
    return true;
}

/* digits is ten digits: in Scotland's CHI range? (Equal-length digit
 * strings compare as their numbers do.) */
static bool in_chi_range(const char *digits) {
    return strcmp(digits, NHS_NUMBER_CHI_FIRST) >= 0 && strcmp(digits, NHS_NUMBER_CHI_LAST) <= 0;
}

nhs_number_problem nhs_number_parse(const char *input, char out[11]) {
    char digits[11];
    if(out) out[0] = '\0';
    if(!input) return NHS_NUMBER_EMPTY;
    const char *t = input;
    while(is_blank(*t)) t++;
    size_t n = strlen(t);
    while(n && is_blank(t[n - 1])) n--;
    if(n == 0) return NHS_NUMBER_EMPTY;

    size_t ndigits = 0;
    for(size_t i = 0; i < n; i++) {
        if(is_digit(t[i])) {
            if(ndigits < 10) digits[ndigits] = t[i];
            ndigits++;
        } else if(!is_separator(t[i])) {
            return NHS_NUMBER_NOT_DIGITS;
        }
    }
    if(ndigits == 0) return NHS_NUMBER_NOT_DIGITS;
    if(ndigits != 10) return NHS_NUMBER_WRONG_LENGTH;
    if(!grouping_ok(t, n)) return NHS_NUMBER_BAD_GROUPING;
    digits[10] = '\0';
    if(out) memcpy(out, digits, sizeof digits);

    int check = nhs_number_check_digit(digits);
    if(check < 0) return NHS_NUMBER_NEVER_ISSUED;
    if(check != digits[9] - '0') return NHS_NUMBER_BAD_CHECK_DIGIT;
    if(all_same(digits)) return NHS_NUMBER_PLACEHOLDER;
    if(in_chi_range(digits) && !chi_date_ok(digits)) return NHS_NUMBER_NEVER_ISSUED;
    return NHS_NUMBER_OK;
}

const char *nhs_number_problem_text(nhs_number_problem p) {
    switch(p) {
    case NHS_NUMBER_OK: return "a valid NHS number";
    case NHS_NUMBER_EMPTY: return "no NHS number was given";
    case NHS_NUMBER_NOT_DIGITS:
        return "an NHS number is made of digits only (a space or hyphen between the groups is fine): "
               "this has other characters";
    case NHS_NUMBER_WRONG_LENGTH: return "an NHS number has 10 digits: this has fewer or more";
    case NHS_NUMBER_BAD_CHECK_DIGIT:
        return "the check digit does not match: a digit is wrong or two digits are swapped";
    case NHS_NUMBER_NEVER_ISSUED:
        return "no NHS number is ever issued like this (the check digit cannot be worked out, or it is a "
               "Scottish CHI number with an impossible date of birth): a digit is wrong";
    case NHS_NUMBER_BAD_GROUPING:
        return "the spaces or hyphens are in the wrong places: type the 10 digits together, "
               "or in groups of 3, 3 and 4 (943 476 5919)";
    case NHS_NUMBER_PLACEHOLDER:
        return "ten identical digits stand in for an unknown number and are not a real NHS number: "
               "leave the NHS number blank instead";
    }
    return "not an NHS number";
}

void nhs_number_display(const char digits[10], char out[13]) {
    out[0] = '\0';
    for(int i = 0; i < 10; i++)
        if(!is_digit(digits[i])) return;
    memcpy(out, digits, 3);
    out[3] = ' ';
    memcpy(out + 4, digits + 3, 3);
    out[7] = ' ';
    memcpy(out + 8, digits + 6, 4);
    out[12] = '\0';
}

/* ---- legacy numbers ----------------------------------------------------- */

nhs_number_action nhs_number_policy_action(nhs_number_policy policy, nhs_number_problem p) {
    switch(p) {
    case NHS_NUMBER_OK: return NHS_NUMBER_USE;
    case NHS_NUMBER_EMPTY: return NHS_NUMBER_LEAVE_OUT;
    case NHS_NUMBER_BAD_CHECK_DIGIT:
    case NHS_NUMBER_NEVER_ISSUED: return policy == NHS_POLICY_FLAG ? NHS_NUMBER_KEEP_FLAGGED : NHS_NUMBER_REFUSE;
    case NHS_NUMBER_PLACEHOLDER: return policy == NHS_POLICY_FLAG ? NHS_NUMBER_LEAVE_OUT : NHS_NUMBER_REFUSE;
    case NHS_NUMBER_NOT_DIGITS:
    case NHS_NUMBER_WRONG_LENGTH:
    case NHS_NUMBER_BAD_GROUPING: return NHS_NUMBER_REFUSE;
    }
    return NHS_NUMBER_REFUSE;
}

bool nhs_number_policy_parse(const char *s, nhs_number_policy *out) {
    if(!s) return false;
    if(strcasecmp(s, "reject") == 0) *out = NHS_POLICY_REJECT;
    else if(strcasecmp(s, "flag") == 0) *out = NHS_POLICY_FLAG;
    else return false;
    return true;
}

nhs_number_policy nhs_number_policy_from_env(void) {
    const char *v = getenv("KITH_NHS_NUMBER_POLICY");
    nhs_number_policy p = NHS_POLICY_REJECT;
    if(!v || !*v) return p;
    if(!nhs_number_policy_parse(v, &p))
        log_event(LOG_WARN, "KITH_NHS_NUMBER_POLICY is neither reject nor flag: rejecting invalid NHS numbers",
                  "\"setting\":\"KITH_NHS_NUMBER_POLICY\"");
    return p;
}
