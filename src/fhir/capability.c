/*
 * capability.c — a CapabilityStatement that states exactly what Kith's
 * FHIR API implements today, generated from the type model: every concrete
 * R4 resource type with read, vread, update (create-on-update, conditional),
 * JSON Patch, delete (conditional: single), instance and type history,
 * create (conditional), and type search by _id and (where the type has one)
 * identifier; at system level transaction, batch and history.
 */
#include "fhir/capability.h"

#include <stdio.h>

#include "base/clock.h"
#include "fhir/model.h"

kith_rc fhir_capability_write(buf *out, const char *base, const char *version) {
    char now[CLOCK_INSTANT_LEN];
    clock_instant_now(now);
    buf_printf(out,
               "{\"resourceType\":\"CapabilityStatement\",\"status\":\"active\",\"date\":\"%.10s\","
               "\"publisher\":\"Kith\",\"kind\":\"instance\","
               "\"software\":{\"name\":\"Kith\",\"version\":\"%s\"},"
               "\"implementation\":{\"description\":\"Kith shared care record\",\"url\":\"",
               now, version);
    buf_json_escape(out, base);
    buf_puts(out, "\"},\"fhirVersion\":\"4.0.1\",\"format\":[\"json\"],\"patchFormat\":[\"application/json-patch+json\"],"
                  "\"rest\":[{\"mode\":\"server\",\"resource\":[");
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
                   "\"conditionalDelete\":\"single\",\"searchParam\":["
                   "{\"name\":\"_id\",\"type\":\"token\",\"definition\":"
                   "\"http://hl7.org/fhir/SearchParameter/Resource-id\"}",
                   t);
        if(fhir_resource_has_element(t, "identifier"))
            buf_printf(out, ",{\"name\":\"identifier\",\"type\":\"token\",\"documentation\":"
                            "\"[system]|[value], |[value] or [value]; exact match\"}");
        buf_puts(out, "]}");
    }
    return buf_puts(out, "],\"interaction\":[{\"code\":\"transaction\"},{\"code\":\"batch\"},{\"code\":\"history-system\"}]}]}");
}
