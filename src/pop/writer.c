/*
 * writer.c — writing the RiskAssessments population health makes (pop.h,
 * pop_writer): each through record_update, so that they are validated,
 * versioned and indexed like any other write, a thousand to a transaction,
 * and only when their content changed. Uses the caller's connection.
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "fhir/record.h"
#include "pop/pop.h"

void pop_writer_init(pop_writer *w, store_conn *c, int batch) {
    memset(w, 0, sizeof *w);
    w->c = c;
    w->batch = batch > 0 ? batch : 1000;
}

/* Commit the open transaction (not the caller's). */
static void commit(pop_writer *w) {
    if(!w->open) return;
    w->open = false;
    w->in_batch = 0;
    kith_rc rc = store_commit(w->c);
    if(rc) {
        store_rollback(w->c);
        if(!w->rc) w->rc = rc;
    }
}

void pop_writer_put(pop_writer *w, const char *text, size_t len, uint64_t have) {
    if(w->rc) return;
    json_value *ra = NULL;
    if(json_parse(text, len, &ra, NULL, 0)) {
        log_event(LOG_ERROR, "an assessment Kith made is not JSON", NULL);
        w->failed++;
        return;
    }
    if(have && pop_assessment_hash(ra) == have) {
        w->unchanged++;
        json_free(ra);
        return;
    }
    const char *type = json_string(json_get(ra, "resourceType")), *id = json_string(json_get(ra, "id"));
    bool alone = w->batch == 1 && !w->in_tx; /* one write: record_update's own (group) commit */
    if(!w->in_tx && !w->open && !alone) {
        w->rc = store_begin(w->c);
        w->open = !w->rc;
    }
    fhir_issues is = FHIR_ISSUES_INIT;
    record_result out = {0};
    record_opts o = {.in_transaction = !alone};
    kith_rc rc = w->rc ? w->rc : record_update(w->c, type ? type : "", id ? id : "", ra, &o, &out, &is);
    if(rc == KITH_EINVAL || rc == KITH_EINVALID) {
        log_event(LOG_ERROR, "Kith's own resource was refused", "\"id\":\"%s\",\"reason\":\"%s\"", id ? id : "",
                  is.n ? is.v[0].diagnostics : "?");
        w->failed++;
    } else if(rc) {
        if(!w->rc) w->rc = rc;
        if(w->open) store_rollback(w->c);
        w->open = false;
    } else if(out.unchanged) {
        w->unchanged++;
    } else {
        w->written++;
        w->in_batch++;
        snprintf(w->last_id, sizeof w->last_id, "%s", id);
    }
    record_result_free(&out);
    fhir_issues_free(&is);
    json_free(ra);
    if(w->open && w->in_batch >= w->batch) commit(w);
}

kith_rc pop_writer_finish(pop_writer *w) {
    commit(w);
    return w->rc;
}
