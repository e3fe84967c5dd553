/*
 * care.c — routing of the care operations, follow-ups after writes (a
 * discharge refers the person on), and finding a service in the directory
 * (HealthcareService/$find) with the reasons each result fits.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/mem.h"
#include "care/care_int.h"
#include "care/mdt.h"
#include "fhir/access.h"

bool care_referral_operation(store_conn *c, const http_request *req, http_response *res, char *const *seg, int nseg);
bool care_worklist_operation(store_conn *c, const http_request *req, http_response *res, char *const *seg, int nseg);

/* ---- discharge ---------------------------------------------------------------- */

/* A finished inpatient stay with discharge pathway 1-3 refers the person to
 * the services that meet that pathway's need (characteristic
 * need|discharge-pathway-N), once per stay and service. */
static void discharge_followup(store_conn *c, const char *enc_id, const json_value *enc) {
    const char *status = json_string(json_get(enc, "status"));
    json_value *hosp = json_get(enc, "hospitalization");
    json_value *pw = json_get(care_ext_get(hosp, CARE_EXT "discharge-pathway"), "valueCoding");
    const char *pathway = json_string(json_get(pw, "code"));
    char t[64], pid[72];
    if(!status || strcmp(status, "finished") != 0 || !pathway || !strchr("123", pathway[0]) || pathway[1] ||
       !care_ref_split(care_ref_of(json_get(enc, "subject")), t, pid) || strcmp(t, "Patient") != 0)
        return;
    char q[200], **ids;
    size_t n;
    snprintf(q, sizeof q, "characteristic=" CARE_CS "need|discharge-pathway-%s&active=true", pathway);
    if(care_find(c, "HealthcareService", q, 10, &ids, &n)) return;
    for(size_t i = 0; i < n; i++) {
        char key[200], cond[300];
        snprintf(key, sizeof key, "%s.%s", enc_id, ids[i]);
        snprintf(cond, sizeof cond, "identifier=" CARE_SYS "Id/discharge-referral|%s", key);
        char **have;
        size_t nh;
        if(care_find(c, "ServiceRequest", cond, 1, &have, &nh)) continue;
        care_ids_free(have, nh);
        if(nh) continue; /* already referred for this stay */
        json_value *hs = care_read(c, "HealthcareService", ids[i], NULL);
        char reason[200];
        snprintf(reason, sizeof reason, "Discharged from hospital on pathway %s: support after discharge", pathway);
        care_referral rf = {.patient = pid, .service = ids[i], .service_name = json_string(json_get(hs, "name")),
                            .priority = "urgent", .reason = reason, .encounter = enc_id,
                            .identifier_system = CARE_SYS "Id/discharge-referral", .identifier_value = key};
        fhir_issues is = FHIR_ISSUES_INIT;
        record_result sr = {0}, task = {0};
        kith_rc rc = store_begin(c);
        if(!rc) rc = care_make_referral(c, &rf, &sr, &task, &is);
        if(!rc) rc = store_commit(c);
        if(rc) {
            store_rollback(c);
            log_event(LOG_WARN, "discharge follow-up referral failed",
                      "\"encounter\":\"%s\",\"service\":\"%s\",\"error\":\"%s\"", enc_id, ids[i], kith_rc_name(rc));
        }
        record_result_free(&sr);
        record_result_free(&task);
        fhir_issues_free(&is);
        json_free(hs);
    }
    care_ids_free(ids, n);
}

/* A Task no longer overdue (answered, closed): its overdue Flags end. */
static void resolve_flags(store_conn *c, const char *task_id, const json_value *task) {
    char t[64], pid[72], q[160], **ids;
    size_t n;
    if(care_concept_has(json_get(task, "businessStatus"), CARE_CS "referral-status", "overdue") ||
       !care_ref_split(care_ref_of(json_get(task, "for")), t, pid) || strcmp(t, "Patient") != 0)
        return;
    snprintf(q, sizeof q, "patient=Patient/%s", pid);
    if(care_find(c, "Flag", q, 500, &ids, &n)) return;
    for(size_t i = 0; i < n; i++) {
        int64_t version;
        json_value *f = care_read(c, "Flag", ids[i], &version);
        char ft[64], fid[72];
        const char *status = json_string(json_get(f, "status"));
        json_value *about = json_get(care_ext_get(f, CARE_EXT "flag-task"), "valueReference");
        if(status && strcmp(status, "active") == 0 && care_ref_split(care_ref_of(about), ft, fid) &&
           strcmp(fid, task_id) == 0) {
            char now[32];
            care_instant(care_now(), now);
            json_set(f, "status", json_new_string("inactive"));
            json_value *period = json_get(f, "period");
            if(json_kind_of(period) == JSON_OBJECT) json_set(period, "end", json_new_string(now));
            fhir_issues is = FHIR_ISSUES_INIT;
            if(care_write(c, "Flag", ids[i], f, version, false, NULL, &is))
                log_event(LOG_WARN, "cannot end an overdue flag", "\"flag\":\"%s\"", ids[i]);
            fhir_issues_free(&is);
        }
        json_free(f);
    }
    care_ids_free(ids, n);
}

void care_after_write(fhir_rest *api, store_conn *c, const char *type, const char *id, const char *body,
                      size_t len) {
    (void)api;
    bool enc = strcmp(type, "Encounter") == 0, task = strcmp(type, "Task") == 0;
    if((!enc && !task) || !body) return;
    json_value *res = NULL;
    if(json_parse(body, len, &res, NULL, 0)) return;
    if(enc) discharge_followup(c, id, res);
    if(task) resolve_flags(c, id, res);
    json_free(res);
}

/* ---- the directory: HealthcareService/$find ------------------------------------ */

/* Case-insensitive substring. */
static bool contains(const char *hay, const char *needle) {
    if(!hay || !needle) return false;
    size_t n = strlen(needle);
    for(const char *p = hay; *p; p++)
        if(strncasecmp(p, needle, n) == 0) return true;
    return false;
}

/* The outward code of a postcode ("KH3 1AB" -> "KH3"), upper case. */
static void outward(const char *postcode, char out[12]) {
    size_t k = 0;
    for(const char *p = postcode; *p && *p != ' ' && k < 11; p++)
        if(isalnum((unsigned char)*p)) out[k++] = (char)toupper((unsigned char)*p);
    out[k] = '\0';
    if(!strchr(postcode, ' ') && k > 4) out[k - 3] = '\0'; /* "KH31AB" */
}

typedef struct criteria {
    const char *need, *keyword, *postcode, *sector;
    int age; /* -1: not given */
    bool all;
} criteria;

/* Does service s fit? Appends the reasons (and, when it does not, why not) to why. */
static bool service_fits(const json_value *s, const criteria *k, buf *why) {
    bool fits = true;
    if(k->need) {
        bool has = care_concept_has(json_get(s, "characteristic"), CARE_CS "need", k->need);
        buf_printf(why, "%s need %s; ", has ? "meets" : "does not list the", k->need);
        fits = fits && has;
    }
    if(k->sector) {
        bool has = care_concept_has(json_get(s, "category"), CARE_CS "sector", k->sector);
        buf_printf(why, "%s the %s sector; ", has ? "in" : "not in", k->sector);
        fits = fits && has;
    }
    if(k->keyword) {
        const char *fields[] = {"name", "comment", "extraDetails"};
        bool has = false;
        for(int i = 0; i < 3; i++) has = has || contains(json_string(json_get(s, fields[i])), k->keyword);
        json_value *el = json_get(s, "eligibility");
        for(size_t i = 0; i < json_array_len(el); i++)
            has = has || contains(json_string(json_get(json_array_at(el, i), "comment")), k->keyword);
        buf_printf(why, "%s '%s'; ", has ? "mentions" : "does not mention", k->keyword);
        fits = fits && has;
    }
    if(k->age >= 0) {
        json_value *range = json_get(care_ext_get(s, CARE_EXT "age-range"), "valueRange");
        int64_t lo = 0, hi = 200;
        json_int64(json_get(json_get(range, "low"), "value"), &lo);
        json_int64(json_get(json_get(range, "high"), "value"), &hi);
        bool ok = k->age >= lo && k->age <= hi;
        if(!range)
            buf_puts(why, "open to all ages; ");
        else if(hi < 200)
            buf_printf(why, "open to ages %lld to %lld: %d %s; ", (long long)lo, (long long)hi, k->age,
                       ok ? "fits" : "does not fit");
        else
            buf_printf(why, "open to ages %lld and over: %d %s; ", (long long)lo, k->age, ok ? "fits" : "does not fit");
        fits = fits && ok;
    }
    if(k->postcode) {
        char out[12];
        outward(k->postcode, out);
        json_value *ext = json_get(s, "extension");
        bool any = false, has = false;
        for(size_t i = 0; i < json_array_len(ext); i++) {
            json_value *e = json_array_at(ext, i);
            const char *u = json_string(json_get(e, "url"));
            if(!u || strcmp(u, CARE_EXT "postcode-district") != 0) continue;
            any = true;
            const char *d = json_string(json_get(e, "valueString"));
            if(d && strcasecmp(d, out) == 0) has = true;
        }
        if(any)
            buf_printf(why, "%s %s; ", has ? "covers" : "does not cover", out);
        else
            buf_puts(why, "covers the whole area; ");
        fits = fits && (has || !any);
    }
    const char *el = json_string(json_get(json_array_at(json_get(s, "eligibility"), 0), "comment"));
    if(el) buf_printf(why, "who it is for: %s", el);
    while(why->len && (why->data[why->len - 1] == ' ' || why->data[why->len - 1] == ';')) why->data[--why->len] = '\0';
    return fits;
}

static void find_service(store_conn *c, const http_request *req, http_response *res) {
    if(!care_begin(req, res, "care.find-service", "GET", "$find")) return;
    criteria k = {.need = http_param_get(req, "need"),
                  .keyword = http_param_get(req, "keyword"),
                  .postcode = http_param_get(req, "postcode"),
                  .sector = http_param_get(req, "sector"),
                  .age = -1};
    const char *age = http_param_get(req, "age"), *all = http_param_get(req, "include-ineligible");
    for(size_t i = 0; i < req->nparams; i++) {
        static const char *const KNOWN[] = {"need", "keyword", "postcode", "sector", "age", "include-ineligible"};
        bool known = false;
        for(size_t j = 0; j < 6; j++) known = known || strcmp(req->params[i].name, KNOWN[j]) == 0;
        if(!known) {
            fhir_reply_error(res, 400, "not-supported",
                             "unknown parameter '%s': $find takes need, keyword, postcode, sector, age and "
                             "include-ineligible", req->params[i].name);
            return;
        }
        if(strlen(req->params[i].value ? req->params[i].value : "") > 200) {
            fhir_reply_error(res, 400, "too-long", "parameter '%s' is longer than 200 characters", req->params[i].name);
            return;
        }
    }
    if(age) {
        char *end = NULL;
        long a = strtol(age, &end, 10);
        if(end == age || *end || a < 0 || a > 130) {
            fhir_reply_error(res, 400, "value", "age must be whole years from 0 to 130, not '%s'", age);
            return;
        }
        k.age = (int)a;
    }
    k.all = all && strcmp(all, "true") == 0;
    if(!access_permit(res, "HealthcareService", 's', "search-type")) return;
    char **ids;
    size_t n;
    if(care_find(c, "HealthcareService", "active=true&_sort=name", CARE_MAX_IDS, &ids, &n)) {
        fhir_reply_error(res, 500, "exception", "cannot read the directory");
        return;
    }
    buf entries = BUF_INIT, why = BUF_INIT;
    size_t m = 0, total = 0;
    for(size_t i = 0; i < n; i++) {
        json_value *s = care_read(c, "HealthcareService", ids[i], NULL);
        if(!s) continue;
        buf_reset(&why);
        bool fits = service_fits(s, &k, &why);
        if(fits || k.all) {
            care_ext_set(s, CARE_EXT "eligibility-explanation", "valueString",
                         json_new_string(buf_str(&why)[0] ? buf_str(&why) : "no criteria given"));
            care_ext_set(s, CARE_EXT "eligible", "valueBoolean", json_new_bool(fits));
            char *text = json_to_text(s, NULL);
            care_bundle_entry(&entries, &m, req, text, strlen(text), fits ? "match" : "include");
            free(text);
            total += fits;
        }
        json_free(s);
    }
    care_ids_free(ids, n);
    care_reply_bundle(res, "searchset", &entries, (long)total);
    buf_free(&entries);
    buf_free(&why);
}

bool care_operation_handle(fhir_rest *api, store_conn *c, const http_request *req, http_response *res,
                           char *const *seg, int nseg) {
    (void)api;
    if(nseg == 2 && strcmp(seg[0], "HealthcareService") == 0 && strcmp(seg[1], "$find") == 0) {
        find_service(c, req, res);
        return true;
    }
    if(nseg == 3 && !record_id_valid(seg[1])) return false;
    return care_referral_operation(c, req, res, seg, nseg) || care_worklist_operation(c, req, res, seg, nseg) ||
           care_mdt_operation(c, req, res, seg, nseg);
}
