/*
 * discharge.c — the discharge delay reason codes (see discharge.h).
 */
#include "care/discharge.h"

const char *const discharge_delay_reason[DISCHARGE_DELAY_REASONS][2] = {
    {"none", "No delay"},
    {"awaiting-home-care", "Awaiting start of a home care package"},
    {"awaiting-community-bed", "Awaiting a community rehabilitation bed"},
    {"awaiting-care-home", "Awaiting a care home placement"},
    {"awaiting-assessment", "Awaiting a social care assessment"},
    {"awaiting-equipment", "Awaiting equipment or adaptations"},
    {"patient-family-choice", "Patient or family choice"},
    {"other", "Other or not recorded"},
};
