/*
 * outcome.h — lists of FHIR issues and their OperationOutcome form.
 *
 * Validation, the REST layer and the CLI collect problems into a
 * fhir_issues list; fhir_outcome_json turns a list into an OperationOutcome
 * resource. A list owns its strings.
 */
#ifndef KITH_FHIR_OUTCOME_H
#define KITH_FHIR_OUTCOME_H
#include <stddef.h>

#include "base/buf.h"
#include "base/rc.h"

typedef struct fhir_issue {
    const char *severity; /* fatal | error | warning | information (static) */
    const char *code;     /* FHIR IssueType code, e.g. "structure", "required" (static) */
    char *diagnostics;    /* human-readable text; owned */
    char *expression;     /* FHIRPath-style location, e.g. "Patient.name[0].given"; owned; may be NULL */
} fhir_issue;

typedef struct fhir_issues {
    fhir_issue *v;
    size_t n, cap;
    size_t errors; /* how many have severity error or fatal */
} fhir_issues;

#define FHIR_ISSUES_INIT {NULL, 0, 0, 0}
/* Cap so that a hostile resource cannot make an unbounded outcome. */
#define FHIR_ISSUES_MAX 1000

void fhir_issues_add(fhir_issues *is, const char *severity, const char *code, const char *expression,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void fhir_issues_free(fhir_issues *is);

/* Append an OperationOutcome for the list to out. */
kith_rc fhir_outcome_write(buf *out, const fhir_issues *is);
/* One-issue OperationOutcome, caller frees. */
char *fhir_outcome_single(const char *severity, const char *code, const char *expression, const char *diagnostics);

#endif
