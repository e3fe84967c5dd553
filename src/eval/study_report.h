/*
 * study_report.h — what `kith evaluate` says about a study (study.h): a
 * plain-English summary of what can and cannot be concluded, the figures as
 * JSON and CSV, the event-study chart as SVG, and a self-contained HTML page
 * with all of them (docs/evaluation.md). Everything is appended to a buf.
 */
#ifndef KITH_EVAL_STUDY_REPORT_H
#define KITH_EVAL_STUDY_REPORT_H
#include "base/buf.h"
#include "eval/study.h"

/* What was evaluated, in words, e.g. "discussion at a neighbourhood MDT". */
typedef struct study_labels {
    const char *service;    /* "first discussion at a neighbourhood MDT" */
    const char *reached;    /* "discussed" */
} study_labels;

/* Matched pairs below this are not reported (small numbers: counts 1-7 hidden). */
#define STUDY_MIN_PAIRS 8

void study_summary(buf *b, const study_result *r, const study_labels *l);
void study_json(buf *b, const study_result *r);
void study_balance_csv(buf *b, const study_result *r);
void study_effects_csv(buf *b, const study_result *r);
void study_events_csv(buf *b, const study_result *r);
void study_events_svg(buf *b, const study_result *r);
void study_html(buf *b, const study_result *r, const study_labels *l);

#endif
