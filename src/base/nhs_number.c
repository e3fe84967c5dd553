/*
 * nhs_number.c — the NHS number modulus 11 check (see nhs_number.h).
 *
 * Used by the CLD social care importer to vet NHS numbers before linking on
 * them, and by the synthetic generator to make numbers that pass. No state.
 */
#include "base/nhs_number.h"

#include <stddef.h>

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
