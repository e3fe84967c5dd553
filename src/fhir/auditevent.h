/*
 * auditevent.h — the audit log as FHIR: GET /fhir/AuditEvent/{seq} and
 * GET /fhir/AuditEvent?patient=&agent=&date=&_count= (newest first, paged).
 * Entries come from the hash-chained log (store_audit_*), not from the
 * resource store, and cannot be written through the API. This is the
 * "who has looked at my record" report: AuditEvent?patient=Patient/ID.
 */
#ifndef KITH_FHIR_AUDITEVENT_H
#define KITH_FHIR_AUDITEVENT_H
#include "fhir/rest.h"

void fhir_auditevent_read(store_conn *c, const http_request *req, http_response *res, const char *id);
/* The person an AuditEvent search is about (its last patient= or entity=,
 * without "Patient/"), or NULL. */
const char *fhir_auditevent_patient(const http_request *req);

void fhir_auditevent_search(store_conn *c, const http_request *req, http_response *res);

#endif
