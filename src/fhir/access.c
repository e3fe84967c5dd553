/*
 * access.c — the current request's principal, scope checks and audit notes
 * (see access.h).
 */
#include "fhir/access.h"

#include <stdio.h>
#include <string.h>

#include "fhir/rest.h"

static _Thread_local access_request *current;

void access_set_current(access_request *r) {
    current = r;
}

access_request *access_current(void) {
    return current;
}

static char action_of(char interaction) {
    switch(interaction) {
    case 'c': return 'C';
    case 'r': return 'R';
    case 'u': return 'U';
    case 'd': return 'D';
    default: return 'E';
    }
}

static bool audit_reader(const access_request *r) {
    return strcmp(r->who.kind, "client") == 0 || strcmp(r->who.role, "administrator") == 0;
}

static void note_interaction(access_request *r, const char *type, char interaction, const char *subtype) {
    if(r->subtype) return;
    r->subtype = subtype;
    r->action = action_of(interaction);
    snprintf(r->type, sizeof r->type, "%s", type);
}

bool access_permit_audit_of(http_response *res, const char *patient, bool visible) {
    access_request *r = current;
    if(!r || audit_reader(r) || !patient || !*patient || !visible ||
       !auth_scope_allows(r->who.scopes, "Patient", 'r'))
        return access_permit(res, "AuditEvent", 's', "search-type");
    note_interaction(r, "AuditEvent", 's', "search-type");
    snprintf(r->patient, sizeof r->patient, "%s", patient);
    return true;
}

bool access_permit(http_response *res, const char *type, char interaction, const char *subtype) {
    access_request *r = current;
    if(!r) return true;
    note_interaction(r, type, interaction, subtype);
    if(strcmp(type, "AuditEvent") == 0 && !audit_reader(r)) {
        r->denied = true;
        snprintf(r->detail, sizeof r->detail,
                 "only administrators and audit systems may read the audit trail; staff may search it "
                 "for one person in their care (patient=ID)");
        fhir_reply_error(res, 403, "forbidden", "%s", r->detail);
        return false;
    }
    if(strcmp(subtype, "export") == 0 && strcmp(r->who.kind, "user") == 0) {
        r->denied = true;
        snprintf(r->detail, sizeof r->detail, "bulk export is for system clients, not for people's sign-ins");
        fhir_reply_error(res, 403, "forbidden", "%s", r->detail);
        return false;
    }
    if(auth_scope_allows(r->who.scopes, type, interaction)) return true;
    r->denied = true;
    snprintf(r->detail, sizeof r->detail, "the token's scopes do not allow %.20s on %.64s", subtype,
             strcmp(type, "*") == 0 ? "the whole server" : type);
    fhir_reply_error(res, 403, "forbidden", "%s", r->detail);
    return false;
}

const char *access_hidden_labels(const char *role) {
    if(role && strcmp(role, "gp") == 0) return "";
    if(role && (strcmp(role, "social-worker") == 0 || strcmp(role, "team-lead") == 0))
        return "PSY HIV STD SEX ETH SUD BH R V";
    return "PSY SDV HIV STD SEX ETH SUD BH R V safeguarding";
}

bool access_allows(const char *type, char interaction) {
    access_request *r = current;
    if(!r) return true;
    if(strcmp(type, "AuditEvent") == 0) return false; /* never brought in: read the log directly */
    return auth_scope_allows(r->who.scopes, type, interaction);
}

void access_note(const char *type, const char *id, const char *patient) {
    access_request *r = current;
    if(!r) return;
    if(type && id && !r->what[0]) snprintf(r->what, sizeof r->what, "%s/%s", type, id);
    if(patient && *patient && !r->patient[0]) snprintf(r->patient, sizeof r->patient, "%s", patient);
}
