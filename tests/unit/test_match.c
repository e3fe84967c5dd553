/* test_match.c — src/link: Jaro-Winkler similarity (the name comparison of Patient/$match). */
#include <criterion/criterion.h>
#include <math.h>

#include "link/match.h"

static void near(double got, double want) {
    cr_assert(fabs(got - want) < 0.001, "got %.4f, want %.4f", got, want);
}

Test(jaro_winkler, the_textbook_pairs) {
    /* Winkler's examples, as every implementation reproduces them */
    near(link_jaro_winkler("MARTHA", "MARHTA"), 0.961);
    near(link_jaro_winkler("DWAYNE", "DUANE"), 0.840);
    near(link_jaro_winkler("DIXON", "DICKSONX"), 0.813);
}

Test(jaro_winkler, case_empty_and_identity) {
    near(link_jaro_winkler("Smith", "SMITH"), 1.0);
    near(link_jaro_winkler("", "Smith"), 0.0);
    near(link_jaro_winkler(NULL, "Smith"), 0.0);
    near(link_jaro_winkler("abc", "xyz"), 0.0);
    cr_assert(link_jaro_winkler("Catherine", "Katherine") > link_jaro_winkler("Catherine", "Kathleen"));
}
