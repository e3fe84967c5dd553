/*
 * svg.h — drawing SPC charts (src/report/spc.h) as self-contained SVG.
 *
 * Output is one <svg> element: a <title> and <desc> (role="img",
 * aria-labelledby), axis labels, the mean, process limits and sigma lines,
 * and points coloured the Making Data Count way: grey common cause, orange
 * concern, blue improvement, purple special cause without polarity. No
 * external fonts, scripts, styles or links. Caller text is XML-escaped.
 * Output is deterministic: same input, same bytes (numbers are printed with
 * fixed precision; the C locale is assumed, as everywhere in Kith).
 */
#ifndef KITH_SVG_H
#define KITH_SVG_H
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "report/spc.h"

typedef struct spc_svg_opts {
    const char *title;          /* required; becomes <title> */
    const char *desc;           /* optional; prefixed to the generated <desc> */
    const char *x_label;        /* optional axis labels */
    const char *y_label;
    const char *const *labels;  /* optional, one per point/unit: month labels for XmR, unit names for funnels */
} spc_svg_opts;

/* Append s to b with & < > " ' escaped and C0 controls other than tab and
 * newline dropped (XML 1.0 forbids them). */
kith_rc svg_xml_escape(buf *b, const char *s);

/* Append an SVG of the XmR chart x to b. KITH_EINVAL without a title or with
 * an empty chart; KITH_ETOOBIG if b's cap is reached (b then holds a partial
 * SVG the caller should discard). */
kith_rc spc_xmr_svg(buf *b, const spc_xmr *x, const spc_svg_opts *o);

/* Append an SVG funnel plot of f to b; errors as spc_xmr_svg. */
kith_rc spc_funnel_svg(buf *b, const spc_funnel *f, const spc_svg_opts *o);

/* One estimate with its 95% interval at position x (NaN lo/hi: none). */
typedef struct svg_interval {
    double x, value, lo, hi;
} svg_interval;

/* Append an SVG of estimates with interval bars around a zero line (an
 * event study, a forest of effects), with a dashed vertical divider at x =
 * divider (NaN: none); o->labels, when given, label each estimate. */
kith_rc svg_interval_chart(buf *b, const svg_interval *v, size_t n, double divider, const spc_svg_opts *o);

/* Append an SVG risk pyramid: n levels (at most 5), counts[0] the lowest,
 * drawn as centred bars with the highest level on top, each as wide as its
 * count (a hidden count: an outline marked *). Percentages are shown only
 * when nothing is hidden. o->title is required. */
kith_rc svg_pyramid(buf *b, const char *const *labels, const int64_t *counts, const bool *hidden, size_t n,
                    const spc_svg_opts *o);

#endif
