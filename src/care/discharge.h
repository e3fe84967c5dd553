/*
 * discharge.h — Kith's code system for why a person medically ready to
 * leave hospital had not yet left
 * (https://kith.example.org/fhir/CodeSystem/discharge-delay-reason, on an
 * emergency admission's hospitalization extension discharge-delay-reason).
 * The synthetic place writes these codes and `kith report` counts delayed
 * days by them; the last entry stands for a code Kith does not know, or none.
 */
#ifndef KITH_CARE_DISCHARGE_H
#define KITH_CARE_DISCHARGE_H

#define DISCHARGE_DELAY_REASONS 8 /* 7 codes and "other" */

/* {code, display} of each reason, "none" first and "other" last. */
extern const char *const discharge_delay_reason[DISCHARGE_DELAY_REASONS][2];

#endif
