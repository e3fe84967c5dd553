/*
 * care_util.c — helpers shared by the care coordination files (care_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/datetime.h"
#include "base/id.h"
#include "base/mem.h"
#include "care/care_int.h"
#include "care/subscription.h"
#include "fhir/access.h"
#include "fhir/search.h"

int64_t care_now(void) {
    const char *e = getenv("KITH_NOW");
    int64_t t;
    if(e && *e && care_time(e, &t)) return t;
    return (int64_t)time(NULL);
}

bool care_ref_split(const char *ref, char type[64], char id[72]) {
    if(!ref) return false;
    const char *slash = strchr(ref, '/');
    if(!slash || slash == ref || (size_t)(slash - ref) >= 64 || strchr(slash + 1, '/') || !slash[1] ||
       strlen(slash + 1) >= 72)
        return false;
    memcpy(type, ref, (size_t)(slash - ref));
    type[slash - ref] = '\0';
    strcpy(id, slash + 1);
    return record_id_valid(id);
}

const char *care_ref_of(const json_value *reference) {
    return json_string(json_get(reference, "reference"));
}

json_value *care_read(store_conn *c, const char *type, const char *id, int64_t *version) {
    store_resource r;
    json_value *v = NULL;
    if(store_read(c, type, id, 0, &r) == KITH_OK && r.body) {
        if(json_parse(r.body, r.body_len, &v, NULL, 0)) v = NULL;
        if(version) *version = r.version;
    }
    store_resource_free(&r);
    return v;
}

kith_rc care_find(store_conn *c, const char *type, const char *query, size_t max, char ***ids, size_t *n) {
    fhir_issues is = FHIR_ISSUES_INIT;
    *ids = NULL;
    *n = 0;
    kith_rc rc = record_match(c, type, query, max, ids, n, &is);
    fhir_issues_free(&is);
    return rc;
}

kith_rc care_find_page(store_conn *c, const char *type, const char *query, size_t count, char ***ids, size_t *n,
                       int64_t *total) {
    http_param *params = NULL;
    size_t np = 0;
    fhir_search *s = NULL;
    fhir_issues is = FHIR_ISSUES_INIT;
    *ids = NULL;
    *n = 0;
    http_parse_query(query, &params, &np);
    kith_rc rc = fhir_search_parse(type, params, np, true, "", &s, &is);
    if(!rc) rc = fhir_search_page(c, s, count, ids, n, total);
    fhir_search_free(s);
    http_params_free(params, np);
    fhir_issues_free(&is);
    return rc;
}

void care_ids_free(char **ids, size_t n) {
    for(size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

void care_instant(int64_t secs, char out[32]) {
    int y, m, d;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rest = secs - days * 86400;
    datetime_civil_from_days(days, &y, &m, &d);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(rest / 3600), (int)(rest / 60 % 60),
             (int)(rest % 60));
}

bool care_time(const char *s, int64_t *secs) {
    double lo, hi;
    if(!s || !datetime_range(s, &lo, &hi)) return false;
    *secs = (int64_t)lo;
    return true;
}

json_value *care_ext_get(const json_value *res, const char *url) {
    json_value *ext = json_get(res, "extension");
    for(size_t i = 0; i < json_array_len(ext); i++) {
        json_value *e = json_array_at(ext, i);
        const char *u = json_string(json_get(e, "url"));
        if(u && strcmp(u, url) == 0) return e;
    }
    return NULL;
}

void care_ext_set(json_value *res, const char *url, const char *key, json_value *value) {
    json_value *ext = json_get(res, "extension");
    if(json_kind_of(ext) != JSON_ARRAY) {
        ext = json_new_array();
        json_set(res, "extension", ext);
    }
    for(size_t i = json_array_len(ext); i-- > 0;) {
        const char *u = json_string(json_get(json_array_at(ext, i), "url"));
        if(u && strcmp(u, url) == 0) json_array_remove(ext, i);
    }
    json_value *e = json_new_object();
    json_set(e, "url", json_new_string(url));
    json_set(e, key, value);
    json_append(ext, e);
}

json_value *care_concept(const char *system, const char *code, const char *display) {
    json_value *coding = json_new_object();
    if(system) json_set(coding, "system", json_new_string(system));
    json_set(coding, "code", json_new_string(code));
    if(display) json_set(coding, "display", json_new_string(display));
    json_value *arr = json_new_array();
    json_append(arr, coding);
    json_value *cc = json_new_object();
    json_set(cc, "coding", arr);
    if(display) json_set(cc, "text", json_new_string(display));
    return cc;
}

bool care_concept_has(const json_value *cc, const char *system, const char *code) {
    if(json_kind_of(cc) == JSON_ARRAY) {
        for(size_t i = 0; i < json_array_len(cc); i++)
            if(care_concept_has(json_array_at(cc, i), system, code)) return true;
        return false;
    }
    json_value *codings = json_get(cc, "coding");
    for(size_t i = 0; i < json_array_len(codings); i++) {
        json_value *k = json_array_at(codings, i);
        const char *s = json_string(json_get(k, "system")), *v = json_string(json_get(k, "code"));
        if(v && strcmp(v, code) == 0 && (!system || (s && strcmp(s, system) == 0))) return true;
    }
    return false;
}

json_value *care_reference(const char *type, const char *id, const char *display) {
    json_value *r = json_new_object();
    char ref[160];
    snprintf(ref, sizeof ref, "%s/%s", type, id);
    json_set(r, "reference", json_new_string(ref));
    if(display) json_set(r, "display", json_new_string(display));
    return r;
}

void care_actor(char reference[96], char display[160]) {
    access_request *ar = access_current();
    reference[0] = '\0';
    if(!ar) {
        snprintf(display, 160, "Kith");
        return;
    }
    if(ar->who.practitioner[0]) snprintf(reference, 96, "Practitioner/%s", ar->who.practitioner);
    snprintf(display, 160, "%s/%s", ar->who.kind, ar->who.name);
}

bool care_begin(const http_request *req, http_response *res, const char *route, const char *method, const char *op) {
    res->route = route;
    if(strcmp(req->method, method) == 0) return true;
    fhir_method_not_allowed(res, method, op);
    return false;
}

bool care_task_open(const char *status) {
    static const char *const OPEN[] = {"draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold"};
    for(size_t i = 0; status && i < sizeof OPEN / sizeof *OPEN; i++)
        if(strcmp(status, OPEN[i]) == 0) return true;
    return false;
}

/* ---- the service's response clock --------------------------------------- */

bool care_service_target(const json_value *service, const char *priority, int *amount, bool *hours) {
    json_value *ext = json_get(service, "extension");
    for(size_t i = 0; i < json_array_len(ext); i++) {
        json_value *e = json_array_at(ext, i);
        const char *u = json_string(json_get(e, "url"));
        if(!u || strcmp(u, CARE_EXT "response-target") != 0) continue;
        json_value *p = care_ext_get(e, "priority"), *t = care_ext_get(e, "target");
        const char *pc = json_string(json_get(p, "valueCode"));
        json_value *d = json_get(t, "valueDuration");
        const char *unit = json_string(json_get(d, "code"));
        int64_t v;
        if(!pc || strcmp(pc, priority) != 0 || !unit || !json_int64(json_get(d, "value"), &v) || v < 0 || v > 10000)
            continue;
        if(strcmp(unit, "h") != 0 && strcmp(unit, "d") != 0) continue;
        *amount = (int)v;
        *hours = unit[0] == 'h';
        return true;
    }
    return false;
}

void care_service_week(const json_value *service, workday_week *w) {
    static const char *const DAYS[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    json_value *at = json_get(service, "availableTime");
    if(!json_array_len(at)) {
        workday_week_office(w);
        return;
    }
    memset(w, 0, sizeof *w);
    bool every_day_all_day = true;
    for(size_t i = 0; i < json_array_len(at); i++) {
        json_value *a = json_array_at(at, i);
        json_value *days = json_get(a, "daysOfWeek");
        bool all = json_boolean(json_get(a, "allDay"));
        const char *open = json_string(json_get(a, "availableStartTime"));
        const char *close = json_string(json_get(a, "availableEndTime"));
        if(!all) every_day_all_day = false;
        for(int d = 0; d < 7; d++) {
            bool listed = !json_array_len(days);
            for(size_t k = 0; k < json_array_len(days); k++) {
                const char *s = json_string(json_array_at(days, k));
                if(s && strcmp(s, DAYS[d]) == 0) listed = true;
            }
            if(!listed) {
                if(!json_array_len(days)) every_day_all_day = false;
                continue;
            }
            if(all)
                workday_set_day(w, d, "00:00", "24:00");
            else if(open && close)
                workday_set_day(w, d, open, close);
        }
        if(json_array_len(days) && json_array_len(days) < 7) every_day_all_day = false;
    }
    w->bank_holidays_open = every_day_all_day;
}

/* ---- writing -------------------------------------------------------------- */

/* Set once at start-up, before any request thread runs; read-only after. */
static care_subs *notify_subs;

void care_set_subscriptions(care_subs *s) {
    notify_subs = s;
}

kith_rc care_write(store_conn *c, const char *type, const char *id, json_value *res, int64_t if_version, bool in_tx,
                   record_result *out, fhir_issues *issues) {
    care_check w = {0};
    record_result local;
    if(!out) out = &local;
    memset(out, 0, sizeof *out);
    kith_rc rc = care_before_write(NULL, c, type, id, res, &w, issues);
    if(rc) return rc;
    char etag[32];
    int64_t v = if_version > 0 ? if_version : w.checked_version;
    snprintf(etag, sizeof etag, "W/\"%lld\"", (long long)v);
    record_opts o = {.if_match = id && v > 0 ? etag : NULL, .in_transaction = in_tx};
    rc = id ? record_update(c, type, id, res, &o, out, issues) : record_create(c, type, res, &o, out, issues);
    if(!rc && !in_tx) care_after_write(NULL, c, type, out->id, out->body, out->body_len);
    /* inside a transaction too: delivery waits for the write lock, so it sees the commit (or nothing) */
    if(!rc && !out->unchanged) care_subs_written(notify_subs, type, out->id);
    if(out == &local) record_result_free(&local);
    return rc;
}

void care_json_string(buf *b, const char *s) {
    buf_putc(b, '"');
    buf_json_escape(b, s);
    buf_putc(b, '"');
}

/* ---- Bundles ---------------------------------------------------------------- */

void care_bundle_entry(buf *entries, size_t *n, const http_request *req, const char *text, size_t len,
                       const char *mode) {
    json_value *r = NULL;
    if(json_parse(text, len, &r, NULL, 0)) return;
    const char *type = json_string(json_get(r, "resourceType")), *id = json_string(json_get(r, "id"));
    if(*n) buf_putc(entries, ',');
    buf_puts(entries, "{");
    if(type && id) buf_printf(entries, "\"fullUrl\":\"%s/fhir/%s/%s\",", req->base_url, type, id);
    buf_puts(entries, "\"resource\":");
    buf_append(entries, text, len);
    if(mode) buf_printf(entries, ",\"search\":{\"mode\":\"%s\"}", mode);
    buf_puts(entries, "}");
    (*n)++;
    json_free(r);
}

void care_reply_bundle(http_response *res, const char *type, const buf *entries, long total) {
    char id[ID_UUID_LEN], now[32];
    id_new_uuid(id);
    care_instant((int64_t)time(NULL), now);
    res->status = 200;
    res->content_type = "application/fhir+json";
    buf_reset(&res->body);
    buf_printf(&res->body, "{\"resourceType\":\"Bundle\",\"id\":\"%s\",\"meta\":{\"lastUpdated\":\"%s\"},\"type\":\"%s\"",
               id, now, type);
    if(total >= 0) buf_printf(&res->body, ",\"total\":%ld", total);
    buf_puts(&res->body, ",\"entry\":[");
    buf_append(&res->body, entries->data ? entries->data : "", entries->len);
    buf_puts(&res->body, "]}");
}
