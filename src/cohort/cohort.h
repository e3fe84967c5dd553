/*
 * cohort.h — cohorts of people found by rules, and the risk pyramid: how
 * many of them each integrated neighbourhood team has at each level of
 * frailty and of emergency admission risk.
 *
 *   POST /fhir/Group/$cohort         the people the rules find, as a Group
 *                                    (stored when save is true, so that
 *                                    Group/{id}/$export can hand it on)
 *   POST|GET /fhir/Group/$risk-pyramid  the same rules, counted by
 *                                    neighbourhood as a Parameters
 *
 * Rules (Parameters parts, or query parameters on GET): age-from, age-to,
 * search (a Patient search, repeatable), fhirpath (true for the Patient,
 * repeatable), frailty (at least mild|moderate|severe, from the eFI
 * RiskAssessment efi-<id>), admission-risk-from (a probability, from the
 * RiskAssessment ear-<id>), emergency-admissions-from with within-days,
 * neighbourhood (an Organization id), as-of (a date), name, save.
 * Every read goes through the caller's access policy: a cohort holds only
 * people the caller may see. docs/population-health.md has examples.
 * Thread-safe: all state is per call.
 */
#ifndef KITH_COHORT_H
#define KITH_COHORT_H
#include <stdbool.h>

#include "http/http.h"
#include "store/store.h"

/* Handle /fhir/Group/$cohort and /fhir/Group/$risk-pyramid; false when the
 * path (seg, nseg) is neither. */
bool cohort_operation_handle(store_conn *c, const http_request *req, http_response *res, char *const *seg,
                             int nseg);

#endif
