/*
 * publish.h — writing the integration indicators (measures.h) as files: a
 * self-contained HTML report (inline CSS and SVG charts, no scripts, no
 * external assets) and long-format CSV beside it.
 *
 * Only what measures_compute left shown is written: a suppressed estimate
 * is written as "*" with no value, and its numerator (and a denominator of
 * 1 to 7) as "*" too. Files are written whole to a temporary name and
 * renamed, so a failed run leaves no half-written file under the real name.
 * Single-threaded; borrows everything.
 */
#ifndef KITH_REPORT_PUBLISH_H
#define KITH_REPORT_PUBLISH_H
#include <stddef.h>

#include "base/buf.h"
#include "base/rc.h"
#include "report/measures.h"

/* The run the report describes, for its header. All borrowed. */
typedef struct publish_meta {
    const char *source;    /* "database kith.db", "NDJSON files in DIR" */
    const char *generated; /* an instant */
    long people_read;      /* Patients read */
    long stays;            /* hospital stays and attendances read */
    double seconds_read, seconds_compute;
} publish_meta;

/* indicators.csv into b: one row per indicator, area and month with data:
 * indicator,level,unit,unit_name,month,numerator,denominator,value,lo,hi,scale,suppressed */
kith_rc publish_indicators_csv(buf *b, const measures *m);

/* delay_reasons.csv into b: delayed stays and days by reason, per area over
 * the latest months (period "YYYY-MM/YYYY-MM") and for the place by month:
 * level,unit,unit_name,period,reason,reason_label,stays,days,share_of_days,suppressed */
kith_rc publish_reasons_csv(buf *b, const measures *m);

/* tasks.csv into b: the task snapshot per area (nothing but the header
 * when measures has none):
 * level,unit,unit_name,count_date,open,without_owner,pct_without_owner,with_due_date,overdue,pct_overdue */
kith_rc publish_tasks_csv(buf *b, const measures *m);

/* social_care_requests.csv into b: requests completed by outcome, per area
 * over the latest months and for the place by month (only the header when
 * there are none):
 * level,unit,unit_name,period,outcome,requests,share_of_requests,suppressed */
kith_rc publish_requests_csv(buf *b, const measures *m);

/* risk_pyramid.csv: assessment,level,unit,unit_name,segment,people,suppressed
 * (assessment frailty or admission-risk; segment the qualitativeRisk code). */
kith_rc publish_pyramid_csv(buf *b, const measures *m);

/* The HTML report into b. */
kith_rc publish_html(buf *b, const measures *m, const publish_meta *meta);

/* Write indicators.csv, delay_reasons.csv, tasks.csv (with a task snapshot),
 * social_care_requests.csv and index.html into dir (which
 * must exist). KITH_EIO with the file named in err when one cannot be
 * written; KITH_ETOOBIG over the size cap of a file (1 GB). */
kith_rc publish_all(const char *dir, const measures *m, const publish_meta *meta, char *err, size_t errlen);

#endif
