/*
 * match.h — "is this person already known?": Patient/$match (FHIR R4),
 * scoring candidate Patients against the one given on NHS number, names,
 * date of birth, sex and postcode, with the FHIR match grades (certain,
 * probable, possible). Probabilistic linkage of whole sets of records is
 * linkage.h (kith link).
 */
#ifndef KITH_LINK_MATCH_H
#define KITH_LINK_MATCH_H
#include "fhir/rest.h"

/* Jaro-Winkler similarity of a and b (0 to 1), ignoring case. */
double link_jaro_winkler(const char *a, const char *b);

/* POST /fhir/Patient/$match with a Parameters body (resource, count,
 * onlyCertainMatches): a searchset Bundle of scored candidates. */
void link_match_handle(store_conn *c, const http_request *req, http_response *res);

#endif
