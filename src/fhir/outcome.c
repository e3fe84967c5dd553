/*
 * outcome.c — fhir_issues lists and OperationOutcome text (see outcome.h).
 * Not thread-safe per list.
 */
#include "fhir/outcome.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void fhir_issues_add(fhir_issues *is, const char *severity, const char *code, const char *expression,
                     const char *fmt, ...) {
    int is_error = strcmp(severity, "error") == 0 || strcmp(severity, "fatal") == 0;
    if(is_error) is->errors++;
    if(is->n >= FHIR_ISSUES_MAX) return;
    if(is->n == is->cap) {
        is->cap = is->cap ? is->cap * 2 : 8;
        is->v = xrealloc(is->v, is->cap * sizeof *is->v);
    }
    buf b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    fhir_issue *i = &is->v[is->n++];
    i->severity = severity;
    i->code = code;
    i->diagnostics = buf_take(&b, NULL);
    i->expression = expression ? xstrdup(expression) : NULL;
}

void fhir_issues_free(fhir_issues *is) {
    for(size_t i = 0; i < is->n; i++) {
        free(is->v[i].diagnostics);
        free(is->v[i].expression);
    }
    free(is->v);
    is->v = NULL;
    is->n = is->cap = is->errors = 0;
}

static kith_rc write_issue(buf *out, const char *severity, const char *code, const char *expression,
                           const char *diagnostics) {
    kith_rc rc = buf_printf(out, "{\"severity\":\"%s\",\"code\":\"%s\"", severity, code);
    if(!rc && diagnostics) {
        rc = buf_puts(out, ",\"diagnostics\":\"");
        if(!rc) rc = buf_json_escape(out, diagnostics);
        if(!rc) rc = buf_putc(out, '"');
    }
    if(!rc && expression) {
        rc = buf_puts(out, ",\"expression\":[\"");
        if(!rc) rc = buf_json_escape(out, expression);
        if(!rc) rc = buf_puts(out, "\"]");
    }
    if(!rc) rc = buf_putc(out, '}');
    return rc;
}

kith_rc fhir_outcome_write(buf *out, const fhir_issues *is) {
    kith_rc rc = buf_puts(out, "{\"resourceType\":\"OperationOutcome\",\"issue\":[");
    for(size_t i = 0; i < is->n && !rc; i++) {
        if(i) rc = buf_putc(out, ',');
        if(!rc) rc = write_issue(out, is->v[i].severity, is->v[i].code, is->v[i].expression, is->v[i].diagnostics);
    }
    if(!rc && is->n == 0) rc = write_issue(out, "information", "informational", NULL, "All OK");
    if(!rc) rc = buf_puts(out, "]}");
    return rc;
}

char *fhir_outcome_single(const char *severity, const char *code, const char *expression, const char *diagnostics) {
    buf b = BUF_INIT;
    buf_puts(&b, "{\"resourceType\":\"OperationOutcome\",\"issue\":[");
    write_issue(&b, severity, code, expression, diagnostics);
    buf_puts(&b, "]}");
    return buf_take(&b, NULL);
}
