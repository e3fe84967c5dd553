/*
 * capability.c — a CapabilityStatement that states exactly what Kith's
 * FHIR API implements today, generated from the type model: every concrete
 * R4 resource type with read, vread, update (create-on-update, conditional),
 * JSON Patch, delete (conditional: single), instance and type history,
 * create (conditional), and type search by every R4 search parameter that
 * has an expression (plus _text, _content, _list); at system level
 * transaction, batch and history. Operations: bulk data $export (system,
 * Patient, Group) and Patient $everything.
 */
#include "fhir/capability.h"

#include <stdio.h>

#include "base/clock.h"
#include "fhir/model.h"
#include "fhir/searchparam.h"

/* Kith's own operations (documented in docs/care-coordination.md) */
#define KITH_OP "https://kith.example.org/fhir/OperationDefinition/"

#include <stdbool.h>
#include <string.h>

kith_rc fhir_capability_write(buf *out, const char *base, const char *version) {
    char now[CLOCK_INSTANT_LEN];
    clock_instant_now(now);
    buf_printf(out,
               "{\"resourceType\":\"CapabilityStatement\",\"status\":\"active\",\"date\":\"%.10s\","
               "\"publisher\":\"Kith\",\"kind\":\"instance\","
               "\"instantiates\":[\"http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data\"],"
               "\"software\":{\"name\":\"Kith\",\"version\":\"%s\"},"
               "\"implementation\":{\"description\":\"Kith shared care record\",\"url\":\"",
               now, version);
    buf_json_escape(out, base);
    buf_puts(out, "\"},\"fhirVersion\":\"4.0.1\",\"format\":[\"json\"],\"patchFormat\":[\"application/json-patch+json\",\"application/fhir+json\"],"
                  "\"rest\":[{\"mode\":\"server\",");
    /* Subscriptions' websocket channel (R4): the same host, ws(s) for http(s) */
    if(strncmp(base, "http", 4) == 0) {
        buf_puts(out, "\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket\","
                      "\"valueUri\":\"ws");
        buf_json_escape(out, base + 4);
        buf_puts(out, "/websocket\"}],");
    }
    buf_puts(out, "\"resource\":[");
    size_t n = fhir_resource_type_count();
    for(size_t i = 0; i < n; i++) {
        const char *t = fhir_resource_type_at(i);
        if(i) buf_putc(out, ',');
        buf_printf(out,
                   "{\"type\":\"%s\",\"interaction\":["
                   "{\"code\":\"read\"},{\"code\":\"vread\"},{\"code\":\"update\"},{\"code\":\"patch\"},{\"code\":\"delete\"},"
                   "{\"code\":\"history-instance\"},{\"code\":\"history-type\"},{\"code\":\"create\"},"
                   "{\"code\":\"search-type\"}],"
                   "\"versioning\":\"versioned-update\",\"readHistory\":true,\"updateCreate\":true,"
                   "\"conditionalCreate\":true,\"conditionalRead\":\"not-supported\",\"conditionalUpdate\":true,"
                   "\"conditionalDelete\":\"single\",\"searchInclude\":[\"*\"],\"searchRevInclude\":[\"*\"],"
                   "\"searchParam\":[",
                   t);
        bool first = true;
        for(size_t k = 0;; k++) {
            const fhir_search_param *p = fhir_search_param_of(t, k);
            if(!p) break;
            bool usable = (p->expression[0] && p->kind != FHIR_SP_SPECIAL) || !strcmp(p->code, "_text") ||
                          !strcmp(p->code, "_content") || (p->kind == FHIR_SP_COMPOSITE && p->ncomp == 2);
            if(!usable) continue;
            if(!first) buf_putc(out, ',');
            first = false;
            buf_printf(out, "{\"name\":\"%s\",\"definition\":\"%s\",\"type\":\"%s\"}", p->code, p->url,
                       fhir_sp_kind_name(p->kind));
        }
        buf_printf(out, "%s{\"name\":\"_list\",\"type\":\"token\"}", first ? "" : ",");
        buf_puts(out, "]");
        if(strcmp(t, "Patient") == 0)
            buf_puts(out, ",\"operation\":[{\"name\":\"export\",\"definition\":"
                          "\"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export\"},"
                          "{\"name\":\"everything\",\"definition\":"
                          "\"http://hl7.org/fhir/OperationDefinition/Patient-everything\"},"
                          "{\"name\":\"match\",\"definition\":\"http://hl7.org/fhir/OperationDefinition/Patient-match\"},"
                          "{\"name\":\"care-team\",\"definition\":\"" KITH_OP "Patient-care-team\"}]");
        else if(strcmp(t, "Group") == 0)
            buf_puts(out, ",\"operation\":[{\"name\":\"export\",\"definition\":"
                          "\"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export\"},"
                          "{\"name\":\"cohort\",\"definition\":\"" KITH_OP "Group-cohort\"},"
                          "{\"name\":\"risk-pyramid\",\"definition\":\"" KITH_OP "Group-risk-pyramid\"}]");
        else if(strcmp(t, "Task") == 0)
            buf_puts(out, ",\"operation\":[{\"name\":\"worklist\",\"definition\":\"" KITH_OP "Task-worklist\"},"
                          "{\"name\":\"escalate\",\"definition\":\"" KITH_OP "Task-escalate\"},"
                          "{\"name\":\"timeline\",\"definition\":\"" KITH_OP "Task-timeline\"}]");
        else if(strcmp(t, "ServiceRequest") == 0)
            buf_puts(out, ",\"operation\":[{\"name\":\"refer\",\"definition\":\"" KITH_OP "ServiceRequest-refer\"},"
                          "{\"name\":\"timeline\",\"definition\":\"" KITH_OP "ServiceRequest-timeline\"}]");
        else if(strcmp(t, "HealthcareService") == 0)
            buf_puts(out, ",\"operation\":[{\"name\":\"find\",\"definition\":\"" KITH_OP "HealthcareService-find\"}]");
        else if(strcmp(t, "Communication") == 0)
            buf_puts(out, ",\"operation\":[{\"name\":\"mark-read\",\"definition\":\"" KITH_OP "Communication-mark-read\"}]");
        else if(strcmp(t, "CareTeam") == 0) /* MDT meetings: docs/mdt.md */
            buf_puts(out, ",\"operation\":[{\"name\":\"find-cases\",\"definition\":\"" KITH_OP "CareTeam-find-cases\"},"
                          "{\"name\":\"add-case\",\"definition\":\"" KITH_OP "CareTeam-add-case\"},"
                          "{\"name\":\"plan-meeting\",\"definition\":\"" KITH_OP "CareTeam-plan-meeting\"},"
                          "{\"name\":\"mdt-measures\",\"definition\":\"" KITH_OP "CareTeam-mdt-measures\"}]");
        else if(strcmp(t, "Appointment") == 0)
            buf_puts(out, ",\"operation\":[{\"name\":\"agenda\",\"definition\":\"" KITH_OP "Appointment-agenda\"},"
                          "{\"name\":\"attendance\",\"definition\":\"" KITH_OP "Appointment-attendance\"},"
                          "{\"name\":\"record-case\",\"definition\":\"" KITH_OP "Appointment-record-case\"},"
                          "{\"name\":\"minutes\",\"definition\":\"" KITH_OP "Appointment-minutes\"}]");
        else if(strcmp(t, "Composition") == 0)
            buf_puts(out, ",\"operation\":[{\"name\":\"document\",\"definition\":\"" KITH_OP "Composition-document\"}]");
        buf_puts(out, "}");
    }
    return buf_puts(out, "],\"interaction\":[{\"code\":\"transaction\"},{\"code\":\"batch\"},{\"code\":\"history-system\"}],"
                         "\"operation\":[{\"name\":\"run\",\"definition\":\"http://sql-on-fhir.org/OperationDefinition/$run\"},"
                         "{\"name\":\"export\",\"definition\":"
                         "\"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export\"}]}]}");
}
