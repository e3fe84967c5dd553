/*
 * capability.h — the server's CapabilityStatement (GET /fhir/metadata).
 */
#ifndef KITH_FHIR_CAPABILITY_H
#define KITH_FHIR_CAPABILITY_H
#include "base/buf.h"

/* Append the CapabilityStatement JSON; base is the server's FHIR base URL. */
kith_rc fhir_capability_write(buf *out, const char *base, const char *version);

#endif
