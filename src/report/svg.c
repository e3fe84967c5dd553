/*
 * svg.c — SVG drawing of XmR charts and funnel plots (see svg.h).
 *
 * Both charts share one frame: a plot area with a y axis of five ticks, an x
 * axis, axis labels, <title> and <desc>. A `pen` carries the buffer and the
 * first error so drawing code can append freely and check once at the end.
 * The caller owns the buf and the chart; nothing here allocates beyond the
 * buf's own growth. Thread-safe.
 */
#include "report/svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#define W 800.0
#define H 420.0
#define ML 80.0  /* margins: left, right, top, bottom */
#define MR 20.0
#define MT 40.0
#define MB 90.0

#define C_COMMON "#7b7d7d"
#define C_CONCERN "#e46c0a"
#define C_IMPROVE "#289de0"
#define C_NEUTRAL "#490092"

typedef struct pen {
    buf *b;
    kith_rc rc;
    double x0, x1, y0, y1; /* data ranges mapped onto the plot area */
} pen;

static void put(pen *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(pen *p, const char *fmt, ...) {
    if(p->rc) return;
    va_list ap;
    va_start(ap, fmt);
    p->rc = buf_vprintf(p->b, fmt, ap);
    va_end(ap);
}

static void text(pen *p, const char *s) {
    if(!p->rc && s) p->rc = svg_xml_escape(p->b, s);
}

kith_rc svg_xml_escape(buf *b, const char *s) {
    kith_rc rc = KITH_OK;
    for(const unsigned char *c = (const unsigned char *)s; *c && !rc; c++) {
        switch(*c) {
        case '&': rc = buf_puts(b, "&amp;"); break;
        case '<': rc = buf_puts(b, "&lt;"); break;
        case '>': rc = buf_puts(b, "&gt;"); break;
        case '"': rc = buf_puts(b, "&quot;"); break;
        case '\'': rc = buf_puts(b, "&#39;"); break;
        default:
            if(*c >= 0x20 || *c == '\t' || *c == '\n') rc = buf_putc(b, (char)*c);
        }
    }
    return rc;
}

static double px(const pen *p, double v) { return ML + (v - p->x0) / (p->x1 - p->x0) * (W - ML - MR); }
static double py(const pen *p, double v) { return H - MB - (v - p->y0) / (p->y1 - p->y0) * (H - MT - MB); }

static const char *colour(spc_cause c) {
    switch(c) {
    case SPC_CAUSE_IMPROVEMENT: return C_IMPROVE;
    case SPC_CAUSE_CONCERN: return C_CONCERN;
    case SPC_CAUSE_NEUTRAL: return C_NEUTRAL;
    case SPC_CAUSE_COMMON: break;
    }
    return C_COMMON;
}

/* Pad a y range by 5% each side; a flat range becomes +/- 1. */
static void pad_y(pen *p, double lo, double hi) {
    if(!(hi > lo)) {
        lo -= 1;
        hi += 1;
    }
    double pad = (hi - lo) * 0.05;
    p->y0 = lo - pad;
    p->y1 = hi + pad;
}

/* Opening tag, title, desc start (caller finishes desc), background, axes,
 * y ticks and axis labels. */
static void frame(pen *p, const spc_svg_opts *o) {
    put(p,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
        "role=\"img\" aria-labelledby=\"spc-title spc-desc\" font-family=\"sans-serif\" font-size=\"12\">\n"
        "<title id=\"spc-title\">",
        W, H, W, H);
    text(p, o->title);
    put(p, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    put(p, "<text x=\"%.1f\" y=\"24\" font-size=\"16\" font-weight=\"bold\">", ML);
    text(p, o->title);
    put(p, "</text>\n<g stroke=\"#444444\" stroke-width=\"1\">"
           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/></g>\n",
        ML, MT, ML, H - MB, ML, H - MB, W - MR, H - MB);
    for(int i = 0; i <= 4; i++) {
        double v = p->y0 + (p->y1 - p->y0) * i / 4.0;
        put(p, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", ML - 6, py(p, v) + 4, v);
    }
    if(o->y_label) {
        put(p, "<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">", (MT + H - MB) / 2);
        text(p, o->y_label);
        put(p, "</text>\n");
    }
    if(o->x_label) {
        put(p, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (ML + W - MR) / 2, H - 8);
        text(p, o->x_label);
        put(p, "</text>\n");
    }
}

/* A horizontal reference line across the plot area, labelled at the right. */
static void hline(pen *p, double v, const char *stroke, const char *dash, const char *label) {
    double y = py(p, v);
    put(p, "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"1.5\"%s%s%s/>\n", ML, y,
        W - MR, y, stroke, dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
    if(label) put(p, "<text x=\"%.1f\" y=\"%.2f\" text-anchor=\"end\" fill=\"%s\">%s</text>\n", W - MR - 2, y - 3, stroke, label);
}

/* A data point with its own tooltip title. */
static void point(pen *p, double x, double y, spc_cause c, const char *label, double v) {
    put(p, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"%s\"><title>", px(p, x), py(p, y), colour(c));
    if(label) {
        text(p, label);
        put(p, ": ");
    }
    put(p, "%.6g (%s)</title></circle>\n", v, spc_cause_name(c));
}

static kith_rc finish(pen *p) {
    put(p, "</svg>\n");
    return p->rc;
}

kith_rc spc_xmr_svg(buf *b, const spc_xmr *x, const spc_svg_opts *o) {
    if(!b || !x || !o || !o->title || x->n < 2 || !x->value) return KITH_EINVAL;
    pen p = {b, KITH_OK, 0, (double)(x->n - 1), 0, 0};
    double lo = x->lpl, hi = x->upl;
    for(size_t i = 0; i < x->n; i++) {
        lo = fmin(lo, x->value[i]);
        hi = fmax(hi, x->value[i]);
    }
    if(x->has_target) {
        lo = fmin(lo, x->target);
        hi = fmax(hi, x->target);
    }
    pad_y(&p, lo, hi);
    frame(&p, o);
    put(&p, "<desc id=\"spc-desc\">");
    if(o->desc) {
        text(&p, o->desc);
        put(&p, " ");
    }
    put(&p,
        "XmR chart of %zu points; limits from the first %zu. Mean %.6g, process limits %.6g to %.6g. "
        "Variation: %s. Assurance: %s.</desc>\n",
        x->n, x->baseline, x->mean, x->lpl, x->upl, spc_cause_name(x->variation), spc_assurance_name(x->assurance));
    hline(&p, x->up1s, "#c8c8c8", "2 3", NULL);
    hline(&p, x->lo1s, "#c8c8c8", "2 3", NULL);
    hline(&p, x->up2s, "#a0a0a0", "2 3", NULL);
    hline(&p, x->lo2s, "#a0a0a0", "2 3", NULL);
    hline(&p, x->upl, "#555555", "6 4", "upper process limit");
    hline(&p, x->lpl, "#555555", "6 4", "lower process limit");
    hline(&p, x->mean, "#000000", NULL, "mean");
    if(x->has_target) hline(&p, x->target, "#d5281b", "10 3", "target");
    size_t every = x->n > 24 ? (x->n + 23) / 24 : 1;
    for(size_t i = 0; i < x->n && o->labels; i += every) {
        put(&p, "<text transform=\"translate(%.2f %.1f) rotate(-45)\" text-anchor=\"end\">", px(&p, (double)i), H - MB + 14);
        text(&p, o->labels[i]);
        put(&p, "</text>\n");
    }
    put(&p, "<polyline fill=\"none\" stroke=\"" C_COMMON "\" stroke-width=\"1.5\" points=\"");
    for(size_t i = 0; i < x->n; i++) put(&p, "%s%.2f,%.2f", i ? " " : "", px(&p, (double)i), py(&p, x->value[i]));
    put(&p, "\"/>\n");
    for(size_t i = 0; i < x->n; i++)
        point(&p, (double)i, x->value[i], x->cause[i], o->labels ? o->labels[i] : NULL, x->value[i]);
    return finish(&p);
}

#define FUNNEL_STEPS 60

/* One funnel limit curve as a polyline over denominators d0..d1. */
static void funnel_curve(pen *p, const spc_funnel *f, double z, const char *stroke, const char *dash) {
    put(p, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"%s\" points=\"", stroke, dash);
    for(int i = 0; i <= FUNNEL_STEPS; i++) {
        double d = p->x0 + (p->x1 - p->x0) * i / FUNNEL_STEPS;
        double v = fmin(fmax(spc_funnel_limit(f->kind, f->p, d, z), p->y0), p->y1);
        put(p, "%s%.2f,%.2f", i ? " " : "", px(p, d), py(p, v));
    }
    put(p, "\"/>\n");
}

kith_rc spc_funnel_svg(buf *b, const spc_funnel *f, const spc_svg_opts *o) {
    if(!b || !f || !o || !o->title || f->n < 1 || !f->value) return KITH_EINVAL;
    double dmin = f->den[0], dmax = f->den[0], lo = f->p, hi = f->p;
    for(size_t i = 0; i < f->n; i++) {
        dmin = fmin(dmin, f->den[i]);
        dmax = fmax(dmax, f->den[i]);
        lo = fmin(lo, f->value[i]);
        hi = fmax(hi, f->value[i]);
    }
    pen p = {b, KITH_OK, dmin * 0.9, dmax * 1.05, 0, 0};
    /* Show the 99.8% limits where the smallest unit sits, not out to n = 0. */
    lo = fmin(lo, spc_funnel_limit(f->kind, f->p, dmin, -SPC_Z998));
    hi = fmax(hi, spc_funnel_limit(f->kind, f->p, dmin, SPC_Z998));
    pad_y(&p, lo, hi);
    if(p.y0 < 0) p.y0 = 0;
    frame(&p, o);
    put(&p, "<desc id=\"spc-desc\">");
    if(o->desc) {
        text(&p, o->desc);
        put(&p, " ");
    }
    size_t out95 = 0, out998 = 0;
    for(size_t i = 0; i < f->n; i++) {
        out95 += f->band[i] != SPC_FUNNEL_INSIDE;
        out998 += f->band[i] == SPC_FUNNEL_OUTSIDE_998;
    }
    put(&p,
        "Funnel plot of %zu units; overall %s %.6g; %zu outside the 95%% limits, %zu outside the 99.8%% limits "
        "(normal approximation).</desc>\n",
        f->n, f->kind == SPC_FUNNEL_PROPORTION ? "proportion" : "rate", f->p, out95, out998);
    for(int i = 0; i <= 4; i++) {
        double d = p.x0 + (p.x1 - p.x0) * i / 4.0;
        put(&p, "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">%.4g</text>\n", px(&p, d), H - MB + 16, d);
    }
    hline(&p, f->p, "#000000", NULL, "overall");
    funnel_curve(&p, f, SPC_Z95, "#555555", "4 3");
    funnel_curve(&p, f, -SPC_Z95, "#555555", "4 3");
    funnel_curve(&p, f, SPC_Z998, "#555555", "8 4");
    funnel_curve(&p, f, -SPC_Z998, "#555555", "8 4");
    for(size_t i = 0; i < f->n; i++)
        point(&p, f->den[i], f->value[i], f->cause[i], o->labels ? o->labels[i] : NULL, f->value[i]);
    return finish(&p);
}

kith_rc svg_interval_chart(buf *b, const svg_interval *v, size_t n, double divider, const spc_svg_opts *o) {
    if(!b || !v || !o || !o->title || n < 1) return KITH_EINVAL;
    double x0 = v[0].x, x1 = v[0].x, lo = 0, hi = 0;
    for(size_t i = 0; i < n; i++) {
        x0 = fmin(x0, v[i].x);
        x1 = fmax(x1, v[i].x);
        double l = isnan(v[i].lo) ? v[i].value : v[i].lo, h = isnan(v[i].hi) ? v[i].value : v[i].hi;
        if(!isnan(l)) lo = fmin(lo, l);
        if(!isnan(h)) hi = fmax(hi, h);
    }
    pen p = {b, KITH_OK, x0 - 0.5, x1 + 0.5, 0, 0};
    pad_y(&p, lo, hi);
    frame(&p, o);
    put(&p, "<desc id=\"spc-desc\">");
    if(o->desc) text(&p, o->desc);
    put(&p, " %zu estimates with 95%% intervals.</desc>\n", n);
    hline(&p, 0, "#000000", NULL, NULL);
    if(!isnan(divider)) {
        double x = px(&p, divider);
        put(&p, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#555555\" stroke-dasharray=\"6 4\"/>\n",
            x, MT, x, H - MB);
    }
    for(size_t i = 0; i < n; i++) {
        double x = px(&p, v[i].x);
        if(o->labels) {
            put(&p, "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">", x, H - MB + 16);
            text(&p, o->labels[i]);
            put(&p, "</text>\n");
        }
        if(isnan(v[i].value)) continue;
        if(!isnan(v[i].lo) && !isnan(v[i].hi))
            put(&p, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"" C_NEUTRAL "\" stroke-width=\"2\"/>\n",
                x, py(&p, v[i].lo), x, py(&p, v[i].hi));
        put(&p, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"" C_NEUTRAL "\"><title>", x, py(&p, v[i].value));
        if(o->labels) text(&p, o->labels[i]);
        put(&p, ": %.4g (95%% interval %.4g to %.4g)</title></circle>\n", v[i].value, v[i].lo, v[i].hi);
    }
    return finish(&p);
}

kith_rc svg_pyramid(buf *b, const char *const *labels, const int64_t *counts, const bool *hidden, size_t n,
                    const spc_svg_opts *o) {
    static const char *const FILL[] = {"#c8e6c9", "#ffe082", "#ffab91", "#e57373", "#b71c1c"};
    if(!b || !labels || !counts || !hidden || !o || !o->title || n < 1 || n > sizeof FILL / sizeof *FILL)
        return KITH_EINVAL;
    pen p = {b, KITH_OK, 0, 1, 0, 1};
    double max = 0, total = 0;
    bool any_hidden = false;
    for(size_t i = 0; i < n; i++) {
        if(hidden[i]) any_hidden = true;
        else max = fmax(max, (double)counts[i]);
        total += hidden[i] ? 0 : (double)counts[i];
    }
    double H0 = 60 + 56.0 * (double)n;
    put(&p,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
        "role=\"img\" aria-labelledby=\"spc-title spc-desc\" font-family=\"sans-serif\" font-size=\"12\">\n"
        "<title id=\"spc-title\">",
        W, H0, W, H0);
    text(&p, o->title);
    put(&p, "</title>\n<desc id=\"spc-desc\">");
    if(o->desc) text(&p, o->desc);
    put(&p, " Levels from the highest (top) to the lowest (bottom):");
    for(size_t k = n; k-- > 0;) {
        put(&p, " ");
        text(&p, labels[k]);
        if(hidden[k]) put(&p, " hidden (1 to 7 or to protect another cell);");
        else put(&p, " %lld;", (long long)counts[k]);
    }
    put(&p, "</desc>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n<text x=\"%.1f\" y=\"24\" "
            "font-size=\"16\" font-weight=\"bold\">", ML);
    text(&p, o->title);
    put(&p, "</text>\n");
    double mid = W / 2, full = W - ML - MR - 260; /* room for the labels either side */
    for(size_t row = 0; row < n; row++) {
        size_t k = n - 1 - row; /* the highest level on top */
        double y = 44 + 56.0 * (double)row, w = hidden[k] || max <= 0 ? 40 : fmax(4, full * (double)counts[k] / max);
        put(&p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"44\" fill=\"%s\"%s/>\n", mid - w / 2, y, w,
            hidden[k] ? "#ffffff" : FILL[k], hidden[k] ? " stroke=\"#555555\" stroke-dasharray=\"4 3\"" : "");
        put(&p, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", mid - w / 2 - 8, y + 27);
        text(&p, labels[k]);
        put(&p, "</text>\n<text x=\"%.1f\" y=\"%.1f\">", mid + w / 2 + 8, y + 27);
        if(hidden[k]) put(&p, "*");
        else if(any_hidden || total <= 0) put(&p, "%lld", (long long)counts[k]);
        else put(&p, "%lld (%.1f%%)", (long long)counts[k], 100.0 * (double)counts[k] / total);
        put(&p, "</text>\n");
    }
    return finish(&p);
}
