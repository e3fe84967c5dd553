/*
 * nhs_number.h — the NHS number check digit.
 *
 * An NHS number is ten digits; the tenth is a modulus 11 check digit over
 * the first nine (weights 10 down to 2). A number whose check works out as
 * 10 is never issued. Pure functions, thread-safe.
 */
#ifndef KITH_NHS_NUMBER_H
#define KITH_NHS_NUMBER_H
#include <stdbool.h>

/* True when s is exactly ten digits (no spaces) with a correct check digit. */
bool nhs_number_valid(const char *s);

/* The check digit (0-9) for the nine digits at s, or -1 when s does not start
 * with nine digits or the check works out as 10 (no such NHS number). */
int nhs_number_check_digit(const char *s);

#endif
