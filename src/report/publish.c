/*
 * publish.c — the integration indicators as CSV and a self-contained HTML
 * report (see publish.h).
 *
 * Everything goes into a buf first and reaches the disk in one write to a
 * temporary file that is then renamed. The HTML has one section per
 * indicator: its written definition, the Making Data Count variation badge
 * (drawn here as a small inline SVG), the place's XmR chart, a funnel plot
 * of the neighbourhoods over the latest twelve months, and a table of the
 * localities, neighbourhoods and the cohort in the latest month. Charts come
 * from src/report/svg.c; their fixed element ids are made unique per chart
 * here so many can sit inline in one page.
 */
#include "report/publish.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/datetime.h"
#include "base/mem.h"
#include "report/svg.h"

#define FILE_CAP ((size_t)1 << 30)

/* ---- CSV ------------------------------------------------------------------ */

static kith_rc csv_text(buf *b, const char *s) {
    kith_rc rc = buf_putc(b, '"');
    for(; *s && !rc; s++) rc = *s == '"' ? buf_puts(b, "\"\"") : buf_putc(b, *s);
    return rc ? rc : buf_putc(b, '"');
}

/* A number for a CSV cell or a table: empty for NaN, whole numbers without decimals. */
static void number(char *out, size_t n, double v, int decimals) {
    if(isnan(v)) snprintf(out, n, "%s", "");
    else if(v == floor(v) && fabs(v) < 1e15 && decimals >= 0) snprintf(out, n, "%.0f", v);
    else snprintf(out, n, "%.*f", decimals < 0 ? -decimals : decimals, v);
}

/* "level,"code","name"" of an area, the start of a CSV line. */
static kith_rc csv_area(buf *b, const char *level, const char *code, const char *name) {
    kith_rc rc = buf_printf(b, "%s,", level);
    if(!rc) rc = csv_text(b, code);
    if(!rc) rc = buf_putc(b, ',');
    if(!rc) rc = csv_text(b, name);
    return rc;
}

/* The latest months' period, "YYYY-MM<sep>YYYY-MM" (sep at most 8 bytes). */
static void window_period(const measures *m, const char *sep, char out[32]) {
    char first[8], last[8];
    measures_month_label(m, m->months - m->window, first);
    measures_month_label(m, m->months - 1, last);
    snprintf(out, 32, "%s%.8s%s", first, sep, last);
}

kith_rc publish_indicators_csv(buf *b, const measures *m) {
    kith_rc rc = buf_puts(b, "indicator,level,unit,unit_name,month,numerator,denominator,value,lo,hi,scale,suppressed\n");
    for(int k = 0; k < MEASURE_COUNT && !rc; k++)
        for(size_t a = 0; a < m->nareas && !rc; a++)
            for(size_t t = 0; t < m->months && !rc; t++) {
                const measure_cell *c = measures_cell(m, (measure_id)k, a, t);
                if(!c->available) continue;
                char month[8], num[32], den[32], v[32], lo[32], hi[32];
                measures_month_label(m, t, month);
                bool hide = c->est.suppressed;
                number(num, sizeof num, c->num, 2);
                if(measure_infos[k].proportion) number(den, sizeof den, c->den, 0); /* a count */
                else snprintf(den, sizeof den, "%.2f", c->den);                     /* person-years */
                number(v, sizeof v, c->est.value, -4);
                number(lo, sizeof lo, c->est.lo, -4);
                number(hi, sizeof hi, c->est.hi, -4);
                rc = buf_printf(b, "%s,", measure_infos[k].key);
                if(!rc) rc = csv_area(b, measure_level_name(m->areas[a].level), m->areas[a].code, m->areas[a].name);
                if(!rc)
                    rc = buf_printf(b, ",%s,%s,%s,%s,%s,%s,", month, hide ? "*" : num, c->den_hidden ? "*" : den,
                                    hide ? "" : v, hide ? "" : lo, hide ? "" : hi);
                if(!rc) rc = csv_text(b, measure_infos[k].scale);
                if(!rc) rc = buf_printf(b, ",%d\n", hide ? 1 : 0);
            }
    return rc;
}

/* One area's (or month's) counts by category, as CSV lines. */
typedef struct category_row {
    const char *level, *code, *name, *period;
    size_t first, n;              /* the categories first..n-1 */
    const char *const *keys;      /* a key column before the label (NULL: none) */
    const char *const *labels;
    const int64_t *counts;
    const double *sums;           /* a column of sums, and shares of them (NULL: none; shares of counts) */
    const bool *hidden;
} category_row;

static kith_rc category_rows(buf *b, const category_row *r) {
    double total = 0;
    bool any_hidden = false;
    for(size_t k = r->first; k < r->n; k++) {
        total += r->sums ? r->sums[k] : (double)r->counts[k];
        any_hidden |= r->hidden[k];
    }
    kith_rc rc = KITH_OK;
    for(size_t k = r->first; k < r->n && !rc; k++) {
        char sum[32], pct[32];
        number(sum, sizeof sum, r->sums ? r->sums[k] : 0, 0);
        /* a share of a total that includes a hidden cell would give it back: shown only when nothing is hidden */
        number(pct, sizeof pct, total > 0 && !any_hidden ? 100.0 * (r->sums ? r->sums[k] : (double)r->counts[k]) / total : NAN,
               -1);
        rc = csv_area(b, r->level, r->code, r->name);
        if(!rc) rc = buf_printf(b, ",%s,", r->period);
        if(!rc && r->keys) rc = buf_printf(b, "%s,", r->keys[k]);
        if(!rc) rc = csv_text(b, r->labels[k]);
        if(!rc && r->hidden[k]) rc = buf_printf(b, ",*%s,,1\n", r->sums ? ",*" : "");
        else if(!rc)
            rc = buf_printf(b, ",%lld%s%s,%s,0\n", (long long)r->counts[k], r->sums ? "," : "", r->sums ? sum : "", pct);
    }
    return rc;
}

kith_rc publish_reasons_csv(buf *b, const measures *m) {
    kith_rc rc = buf_puts(b, "level,unit,unit_name,period,reason,reason_label,stays,days,share_of_days,suppressed\n");
    char period[32];
    window_period(m, "/", period);
    const char *keys[RECORDS_DELAY_REASONS], *labels[RECORDS_DELAY_REASONS];
    for(int k = 0; k < RECORDS_DELAY_REASONS; k++) {
        keys[k] = records_reason_code((records_delay_reason)k);
        labels[k] = records_reason_label((records_delay_reason)k);
    }
    category_row row = {.period = period, .first = 1, .n = RECORDS_DELAY_REASONS, .keys = keys, .labels = labels};
    for(size_t a = 0; a < m->nareas && !rc; a++) {
        const measure_reasons *r = &m->reasons_by_area[a];
        row.level = measure_level_name(m->areas[a].level);
        row.code = m->areas[a].code;
        row.name = m->areas[a].name;
        row.counts = r->stays, row.sums = r->days, row.hidden = r->hidden;
        rc = category_rows(b, &row);
    }
    for(size_t t = 0; t < m->months && !rc; t++) {
        char month[8];
        measures_month_label(m, t, month);
        const measure_reasons *r = &m->reasons_by_month[t];
        row = (category_row){"place-by-month", m->areas[0].code, m->areas[0].name, month, 1, RECORDS_DELAY_REASONS,
                             keys, labels, r->stays, r->days, r->hidden};
        rc = category_rows(b, &row);
    }
    return rc;
}

/* A share "x%" of num in den for a table, or "" when it cannot be shown. */
static void share(char *out, size_t n, int64_t num, int64_t den, bool hidden) {
    if(hidden || den <= 0) snprintf(out, n, "%s", "");
    else snprintf(out, n, "%.1f", 100.0 * (double)num / (double)den);
}

kith_rc publish_tasks_csv(buf *b, const measures *m) {
    kith_rc rc = buf_puts(b, "level,unit,unit_name,count_date,open,without_owner,pct_without_owner,with_due_date,"
                             "overdue,pct_overdue\n");
    if(!m->tasks) return rc;
    char day[11];
    datetime_format_day(m->task_day, day);
    for(size_t a = 0; a < m->nareas && !rc; a++) {
        const measure_tasks *t = &m->tasks[a];
        char p1[16], p2[16], c[4][24];
        share(p1, sizeof p1, t->without_owner, t->open, t->without_owner_hidden);
        share(p2, sizeof p2, t->overdue, t->with_due, t->overdue_hidden);
        snprintf(c[0], sizeof c[0], t->open_hidden ? "*" : "%lld", (long long)t->open);
        snprintf(c[1], sizeof c[1], t->without_owner_hidden ? "*" : "%lld", (long long)t->without_owner);
        snprintf(c[2], sizeof c[2], t->with_due_hidden ? "*" : "%lld", (long long)t->with_due);
        snprintf(c[3], sizeof c[3], t->overdue_hidden ? "*" : "%lld", (long long)t->overdue);
        rc = csv_area(b, measure_level_name(m->areas[a].level), m->areas[a].code, m->areas[a].name);
        if(!rc) rc = buf_printf(b, ",%s,%s,%s,%s,%s,%s,%s\n", day, c[0], c[1], p1, c[2], c[3], p2);
    }
    return rc;
}

kith_rc publish_requests_csv(buf *b, const measures *m) {
    kith_rc rc = buf_puts(b, "level,unit,unit_name,period,outcome,requests,share_of_requests,suppressed\n");
    char period[32];
    window_period(m, "/", period);
    size_t K = m->noutcomes;
    for(size_t a = 0; a < m->nareas && K && !rc; a++) {
        category_row row = {measure_level_name(m->areas[a].level), m->areas[a].code, m->areas[a].name, period, 0, K,
                            NULL, m->outcomes, m->requests_by_area + a * K, NULL, m->requests_by_area_hidden + a * K};
        rc = category_rows(b, &row);
    }
    for(size_t t = 0; t < m->months && K && !rc; t++) {
        char month[8];
        measures_month_label(m, t, month);
        category_row row = {"place-by-month", m->areas[0].code, m->areas[0].name, month, 0, K,
                            NULL, m->outcomes, m->requests_by_month + t * K, NULL, m->requests_by_month_hidden + t * K};
        rc = category_rows(b, &row);
    }
    return rc;
}

/* ---- HTML ----------------------------------------------------------------- */

typedef struct page {
    buf *b;
    kith_rc rc;
    int charts; /* charts so far: their ids are numbered */
} page;

static void put(page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(page *p, const char *fmt, ...) {
    if(p->rc) return;
    va_list ap;
    va_start(ap, fmt);
    p->rc = buf_vprintf(p->b, fmt, ap);
    va_end(ap);
}

static void esc(page *p, const char *s) {
    if(!p->rc) p->rc = svg_xml_escape(p->b, s);
}

/* Append svg (a chart from svg.c) with its ids made unique. */
static void inline_svg(page *p, const buf *svg) {
    p->charts++;
    const char *s = buf_str(svg);
    for(;;) {
        const char *hit = strstr(s, "spc-");
        if(!hit) break;
        if(!p->rc) p->rc = buf_append(p->b, s, (size_t)(hit - s));
        if(strncmp(hit, "spc-title", 9) == 0 || strncmp(hit, "spc-desc", 8) == 0) {
            size_t n = hit[4] == 't' ? 9 : 8;
            put(p, "%.*s-%d", (int)n, hit, p->charts);
            s = hit + n;
        } else {
            if(!p->rc) p->rc = buf_append(p->b, hit, 4);
            s = hit + 4;
        }
    }
    if(!p->rc) p->rc = buf_puts(p->b, s);
}

static const char STYLE[] =
    "body{font-family:Arial,Helvetica,sans-serif;color:#212b32;max-width:1000px;margin:0 auto;padding:16px;"
    "line-height:1.45}\n"
    "h1{font-size:1.8em;margin-bottom:.2em}h2{border-top:4px solid #005eb8;padding-top:.5em;margin-top:2em}\n"
    "table{border-collapse:collapse;margin:.5em 0 1em}th,td{border-bottom:1px solid #d8dde0;padding:3px 8px;"
    "text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f0f4f5}\n"
    "dl{display:grid;grid-template-columns:11em 1fr;gap:2px 12px}dt{font-weight:bold}dd{margin:0}\n"
    ".badge{display:flex;align-items:center;gap:10px;margin:.6em 0}.note{color:#4c6272;font-size:.95em}\n"
    "svg{max-width:100%;height:auto}nav li{margin:2px 0}.sup{color:#4c6272}\n";

/* The Making Data Count variation badge: a circle coloured by cause, with
 * H or L for the side of the mean the latest point is on when it is special. */
static void badge(page *p, const spc_xmr *x) {
    static const char *const FILL[] = {"#7b7d7d", "#289de0", "#e46c0a", "#490092"};
    double last = x->value[x->n - 1];
    const char *letter = x->variation == SPC_CAUSE_COMMON ? "~" : last >= x->mean ? "H" : "L";
    put(p,
        "<div class=\"badge\"><svg width=\"44\" height=\"44\" viewBox=\"0 0 44 44\" role=\"img\" "
        "aria-label=\"Variation: %s\"><circle cx=\"22\" cy=\"22\" r=\"20\" fill=\"#fff\" stroke=\"%s\" "
        "stroke-width=\"4\"/><text x=\"22\" y=\"29\" text-anchor=\"middle\" font-size=\"20\" font-weight=\"bold\" "
        "fill=\"%s\">%s</text></svg><span><strong>Variation: %s.</strong> Latest month %.4g; mean %.4g, process "
        "limits %.4g to %.4g.</span></div>\n",
        spc_cause_name(x->variation), FILL[x->variation], FILL[x->variation], letter, spc_cause_name(x->variation),
        last, x->mean, x->lpl, x->upl);
}

static void xmr_section(page *p, const measures *m, measure_id k, const char *const *labels) {
    const measure_info *info = &measure_infos[k];
    double *v = xmalloc(m->months * sizeof *v);
    const char **lab = xmalloc(m->months * sizeof *lab);
    size_t n = 0, hidden = 0;
    for(size_t t = 0; t < m->months; t++) {
        const measure_cell *c = measures_cell(m, k, 0, t);
        if(!c->available) continue;
        if(c->est.suppressed || !isfinite(c->est.value)) {
            hidden++;
            continue;
        }
        v[n] = c->est.value;
        lab[n++] = labels[t];
    }
    spc_xmr x;
    if(hidden) {
        put(p, "<p class=\"note\">No chart: %zu month%s of the place's series %s suppressed or empty.</p>\n", hidden,
            hidden == 1 ? "" : "s", hidden == 1 ? "is" : "are");
    } else if(n < 2 || spc_xmr_compute(v, n, 0, info->polarity, NULL, &x)) {
        put(p, "<p class=\"note\">No chart: fewer than two months with data.</p>\n");
    } else {
        badge(p, &x);
        buf svg = BUF_INIT;
        char title[256];
        snprintf(title, sizeof title, "%s, the place, by month (XmR chart)", info->title);
        spc_svg_opts o = {.title = title, .x_label = "Month", .y_label = info->scale, .labels = lab};
        if(spc_xmr_svg(&svg, &x, &o) == KITH_OK) inline_svg(p, &svg);
        buf_free(&svg);
        spc_xmr_free(&x);
    }
    free(v);
    free(lab);
}

static void funnel_section(page *p, const measures *m, measure_id k) {
    const measure_info *info = &measure_infos[k];
    if(!info->funnel) return;
    double *num = xmalloc(m->nareas * sizeof *num), *den = xmalloc(m->nareas * sizeof *den);
    const char **names = xmalloc(m->nareas * sizeof *names);
    size_t n = 0, left_out = 0, first = m->months - m->window;
    for(size_t a = 0; a < m->nareas; a++) {
        if(m->areas[a].level != LEVEL_NEIGHBOURHOOD) continue;
        double sn = 0, sd = 0;
        size_t months = 0, hidden = 0;
        for(size_t t = first; t < m->months; t++) {
            const measure_cell *c = measures_cell(m, k, a, t);
            if(!c->available) continue;
            hidden += c->est.suppressed;
            sn += c->num;
            sd += c->den;
            months++;
        }
        /* a unit with exactly one month hidden stays out: its total would give that month back (with two or
         * more hidden, as in a table, the total gives only their sum) */
        if(hidden == 1 || !months || !(sd > 0) || indicator_count_hidden((int64_t)sn)) {
            left_out++;
            continue;
        }
        num[n] = sn;
        den[n] = info->proportion ? sd : sd / 1000; /* rates per 1,000 person-years */
        names[n++] = m->areas[a].name;
    }
    spc_funnel f;
    if(n >= 2 && !spc_funnel_compute(num, den, n, info->proportion ? SPC_FUNNEL_PROPORTION : SPC_FUNNEL_RATE,
                                     info->polarity, &f)) {
        buf svg = BUF_INIT;
        char title[256];
        snprintf(title, sizeof title, "%s by neighbourhood, latest %zu months (funnel plot%s)", info->title, m->window,
                 k == MEASURE_EMERGENCY_ADMISSIONS ? ", crude rates" : "");
        spc_svg_opts o = {.title = title,
                          .x_label = info->proportion ? "Discharges" : "Thousand person-years",
                          .y_label = info->proportion ? "Proportion" : "Per 1,000 person-years",
                          .labels = names};
        if(spc_funnel_svg(&svg, &f, &o) == KITH_OK) inline_svg(p, &svg);
        buf_free(&svg);
        put(p, "<p>Overall: %.4g%s. ", info->proportion ? f.p * 100 : f.p, info->proportion ? "%" : " per 1,000 person-years");
        size_t out = 0;
        for(size_t i = 0; i < f.n; i++)
            if(f.band[i] == SPC_FUNNEL_OUTSIDE_998) {
                put(p, "%s", out++ ? ", " : "Outside the 99.8% limits: ");
                esc(p, names[i]);
                put(p, " (%s)", spc_cause_name(f.cause[i]));
            }
        put(p, "%s</p>\n", out ? "." : "No neighbourhood is outside the 99.8% limits.");
        spc_funnel_free(&f);
    } else {
        put(p, "<p class=\"note\">No funnel plot: fewer than two neighbourhoods can be shown.</p>\n");
    }
    if(left_out)
        put(p, "<p class=\"note\">%zu neighbourhood%s left out of the funnel plot: the total is small, or "
               "exactly one month is suppressed (the total would give it back).</p>\n",
            left_out, left_out == 1 ? "" : "s");
    free(num);
    free(den);
    free(names);
}

/* The latest month with data for the measure, or SIZE_MAX. */
static size_t latest_month(const measures *m, measure_id k) {
    for(size_t t = m->months; t-- > 0;)
        if(measures_cell(m, k, 0, t)->available) return t;
    return SIZE_MAX;
}

static void area_table(page *p, const measures *m, measure_id k, const char *const *labels) {
    size_t t = latest_month(m, k);
    if(t == SIZE_MAX) return;
    put(p, "<table><caption>%s, %s (%s)</caption>\n<tr><th>Area</th><th>Level</th><th>Numerator</th>"
           "<th>Denominator</th><th>Value</th><th>95%% CI</th></tr>\n",
        measure_infos[k].title, labels[t], measure_infos[k].scale);
    for(size_t a = 0; a < m->nareas; a++) {
        measure_level l = m->areas[a].level;
        if(l == LEVEL_PRACTICE) continue; /* practices: in the CSV */
        const measure_cell *c = measures_cell(m, k, a, t);
        if(!c->available) continue;
        char num[32], den[32], v[32], lo[32], hi[32];
        number(num, sizeof num, c->num, 1);
        number(den, sizeof den, c->den, 1);
        number(v, sizeof v, c->est.value, -2);
        number(lo, sizeof lo, c->est.lo, -2);
        number(hi, sizeof hi, c->est.hi, -2);
        put(p, "<tr><td>");
        esc(p, m->areas[a].name);
        if(c->est.suppressed)
            put(p, "</td><td>%s</td><td>*</td><td>%s</td><td class=\"sup\">*</td><td></td></tr>\n", measure_level_name(l),
                c->den_hidden ? "*" : den);
        else
            put(p, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s%s%s</td></tr>\n", measure_level_name(l), num,
                den, v, lo, *lo ? "&ndash;" : "", hi);
    }
    put(p, "</table>\n");
}

static void reasons_section(page *p, const measures *m) {
    char period[32];
    window_period(m, " to ", period);
    put(p, "<h3 id=\"delay-reasons\">Delayed stays by reason, %s</h3>\n<table><tr><th>Area</th>", period);
    for(int k = 1; k < RECORDS_DELAY_REASONS; k++) {
        put(p, "<th>");
        esc(p, records_reason_label((records_delay_reason)k));
        put(p, "</th>");
    }
    put(p, "</tr>\n");
    for(size_t a = 0; a < m->nareas; a++) {
        measure_level l = m->areas[a].level;
        if(l == LEVEL_PRACTICE) continue;
        const measure_reasons *r = &m->reasons_by_area[a];
        put(p, "<tr><td>");
        esc(p, m->areas[a].name);
        put(p, "</td>");
        for(int k = 1; k < RECORDS_DELAY_REASONS; k++) {
            if(r->hidden[k]) put(p, "<td class=\"sup\">*</td>");
            else put(p, "<td>%lld stays, %.0f days</td>", (long long)r->stays[k], r->days[k]);
        }
        put(p, "</tr>\n");
    }
    put(p, "</table>\n<p class=\"note\">Stays discharged alive after a delay, by the recorded reason, and the days "
           "delayed. Counts of 1 to 7 stays are hidden (*), and further cells in any row or column with exactly one "
           "hidden, so no hidden count can be worked out from a total. By month for the place, and for practices: "
           "delay_reasons.csv.</p>\n");
}

static void tasks_section(page *p, const measures *m) {
    if(!m->tasks) return;
    char day[11];
    datetime_format_day(m->task_day, day);
    put(p, "<section id=\"tasks\">\n<h2>Open tasks without an owner, and overdue tasks, on %s</h2>\n", day);
    put(p, "<dl><dt>Open tasks without an owner</dt><dd>of the Tasks open (requested, received, accepted, in progress, "
           "ready or on hold) on the count day and made before it, the share with no owner</dd>"
           "<dt>Overdue tasks</dt><dd>of the open Tasks not on hold that have a due date (restriction.period.end), the "
           "share due before the count day</dd><dt>Count day</dt><dd>the day the report was made: Tasks are read as "
           "they stand now (their history is not replayed), so these are a snapshot, not a monthly series</dd>"
           "<dt>Left out</dt><dd>Tasks made on the count day; Tasks of people with the national data opt-out</dd></dl>\n");
    if(!m->tasks[0].open) {
        put(p, "<p>No open Tasks in the records: nothing to count. (Kith's synthetic place has no referrals, worklists "
               "or MDT actions; a database in use has them.)</p>\n</section>\n");
        return;
    }
    put(p, "<table><tr><th>Area</th><th>Level</th><th>Open</th><th>Without an owner</th><th>%%</th><th>With a due "
           "date</th><th>Overdue</th><th>%%</th></tr>\n");
    for(size_t a = 0; a < m->nareas; a++) {
        if(m->areas[a].level == LEVEL_PRACTICE) continue;
        const measure_tasks *t = &m->tasks[a];
        char p1[16], p2[16];
        share(p1, sizeof p1, t->without_owner, t->open, t->without_owner_hidden);
        share(p2, sizeof p2, t->overdue, t->with_due, t->overdue_hidden);
        put(p, "<tr><td>");
        esc(p, m->areas[a].name);
        put(p, "</td><td>%s</td>", measure_level_name(m->areas[a].level));
        int64_t v[4] = {t->open, t->without_owner, t->with_due, t->overdue};
        bool h[4] = {t->open_hidden, t->without_owner_hidden, t->with_due_hidden, t->overdue_hidden};
        for(int i = 0; i < 4; i++) {
            if(h[i]) put(p, "<td class=\"sup\">*</td>");
            else put(p, "<td>%lld</td>", (long long)v[i]);
            if(i == 1) put(p, "<td>%s</td>", p1);
            if(i == 3) put(p, "<td>%s</td>", p2);
        }
        put(p, "</tr>\n");
    }
    put(p, "</table>\n<p class=\"note\">Practices: tasks.csv.</p>\n</section>\n");
}

static void requests_section(page *p, const measures *m) {
    char period[32];
    window_period(m, " to ", period);
    put(p, "<section id=\"social-care-requests\">\n<h2>Social care requests by outcome, %s</h2>\n", period);
    put(p, "<dl><dt>Numerator</dt><dd>requests for adult social care support (CLD Request events, imported as "
           "ServiceRequests) completed in the period with each outcome (Event_Outcome)</dd><dt>Denominator</dt><dd>all "
           "requests completed in the period</dd><dt>Left out</dt><dd>people with the national data opt-out; requests "
           "withdrawn before screening are not told apart in CLD and are not left out</dd></dl>\n");
    size_t K = m->noutcomes;
    if(!K) {
        put(p, "<p>No requests for social care support in the records: nothing to count. (They come from <code>kith import "
               "--format cld</code>; <code>kith synth --out</code> writes them only as cld.csv.)</p>\n</section>\n");
        return;
    }
    const int64_t *c = m->requests_by_area; /* the place's row */
    const bool *h = m->requests_by_area_hidden;
    int64_t total = 0;
    bool any_hidden = false;
    for(size_t k = 0; k < K; k++) {
        total += c[k];
        any_hidden |= h[k];
    }
    put(p, "<table><caption>The place</caption><tr><th>Outcome</th><th>Requests</th><th>%%</th></tr>\n");
    for(size_t k = 0; k < K; k++) {
        put(p, "<tr><td>");
        esc(p, m->outcomes[k]);
        if(h[k]) put(p, "</td><td class=\"sup\">*</td><td></td></tr>\n");
        else if(total > 0 && !any_hidden)
            put(p, "</td><td>%lld</td><td>%.1f</td></tr>\n", (long long)c[k], 100.0 * (double)c[k] / (double)total);
        else put(p, "</td><td>%lld</td><td></td></tr>\n", (long long)c[k]);
    }
    put(p, "</table>\n<p class=\"note\">By locality, neighbourhood, practice, the cohort and by month: "
           "social_care_requests.csv. Shares are left out of any row with a hidden count.</p>\n</section>\n");
}

static const char *const PYRAMID_KEY[RECORDS_ASSESSMENTS] = {"frailty", "admission-risk"};
static const char *const PYRAMID_TITLE[RECORDS_ASSESSMENTS] = {"Frailty (electronic Frailty Index)",
                                                               "Risk of an emergency admission in the next 12 months"};
static const char *const LEVEL_LABEL[RECORDS_ASSESSMENTS][RECORDS_LEVELS] = {
    {"Fit", "Mild frailty", "Moderate frailty", "Severe frailty"},
    {"Low (under 10%)", "Moderate (10-20%)", "High (20-40%)", "Very high (40% and over)"}};

kith_rc publish_pyramid_csv(buf *b, const measures *m) {
    kith_rc rc = buf_puts(b, "assessment,level,unit,unit_name,segment,people,suppressed\n");
    for(int k = 0; k < RECORDS_ASSESSMENTS && !rc; k++)
        for(size_t a = 0; a < m->nareas && !rc; a++)
            for(int l = 0; l < RECORDS_LEVELS && !rc; l++) {
                bool hidden;
                int64_t n = measures_pyramid(m, k, a, l, &hidden);
                rc = buf_printf(b, "%s,", PYRAMID_KEY[k]);
                if(!rc) rc = csv_area(b, measure_level_name(m->areas[a].level), m->areas[a].code, m->areas[a].name);
                if(!rc) rc = buf_printf(b, ",%s,", records_level_code[k][l]);
                if(!rc) rc = hidden ? buf_puts(b, ",1\n") : buf_printf(b, "%lld,0\n", (long long)n);
            }
    return rc;
}

/* The risk pyramids of the place, and a table of each level's areas. */
static void pyramid_section(page *p, const measures *m) {
    char end[11];
    datetime_format_day(m->data_end, end);
    put(p, "<section id=\"risk-pyramids\">\n<h2>Risk pyramids on %s</h2>\n", end);
    put(p, "<dl><dt>Counted</dt><dd>people alive on the last day of the data whose record holds Kith's assessment: "
           "the electronic Frailty Index category (RiskAssessment efi-&lt;id&gt;, from <code>kith frailty</code>, people "
           "aged 65 and over) and the predicted risk of an emergency admission in the next 12 months "
           "(RiskAssessment ear-&lt;id&gt;, from <code>kith risk score</code>)</dd><dt>Left out</dt><dd>people with the "
           "national data opt-out; council-only records; people with no birth date</dd></dl>\n");
    for(int k = 0; k < RECORDS_ASSESSMENTS; k++) {
        put(p, "<h3>");
        esc(p, PYRAMID_TITLE[k]);
        put(p, "</h3>\n");
        if(!m->pyramid_people[k]) {
            put(p, "<p>No such assessments in the records: run <code>%s</code> on the database first.</p>\n",
                k == RECORDS_FRAILTY ? "kith frailty" : "kith risk fit</code> and <code>kith risk score");
            continue;
        }
        int64_t counts[RECORDS_LEVELS];
        bool hidden[RECORDS_LEVELS];
        for(int l = 0; l < RECORDS_LEVELS; l++) counts[l] = measures_pyramid(m, k, 0, l, &hidden[l]);
        buf svg;
        buf_init(&svg, 0);
        char title[160];
        snprintf(title, sizeof title, "%s: the place", PYRAMID_TITLE[k]);
        spc_svg_opts o = {.title = title, .desc = "People by level."};
        if(!svg_pyramid(&svg, LEVEL_LABEL[k], counts, hidden, RECORDS_LEVELS, &o)) inline_svg(p, &svg);
        buf_free(&svg);
        put(p, "<table><tr><th>Area</th><th>Level</th>");
        for(int l = RECORDS_LEVELS; l-- > 0;) {
            put(p, "<th>");
            esc(p, LEVEL_LABEL[k][l]);
            put(p, "</th>");
        }
        put(p, "</tr>\n");
        for(size_t a = 0; a < m->nareas; a++) {
            if(m->areas[a].level == LEVEL_PRACTICE) continue;
            put(p, "<tr><td>");
            esc(p, m->areas[a].name);
            put(p, "</td><td>%s</td>", measure_level_name(m->areas[a].level));
            for(int l = RECORDS_LEVELS; l-- > 0;) {
                bool h;
                int64_t n = measures_pyramid(m, k, a, l, &h);
                if(h) put(p, "<td class=\"sup\">*</td>");
                else put(p, "<td>%lld</td>", (long long)n);
            }
            put(p, "</tr>\n");
        }
        put(p, "</table>\n");
    }
    put(p, "<p class=\"note\">Practices: risk_pyramid.csv. The same counts, live and for any cohort, come from "
           "<code>POST /fhir/Group/$risk-pyramid</code>.</p>\n</section>\n");
}

static const char NOT_COMPUTED[] =
    "<h2 id=\"not-computed\">Indicators not computed yet</h2>\n"
    "<p>These indicators of issue 8 are defined in docs/indicators.md but Kith does not compute them yet, so no "
    "figures are shown rather than made-up ones:</p>\n<ul>\n"
    "<li><strong>Referral response times by sector pair</strong>: these need, for each referral (a ServiceRequest "
    "and its Task), the sending and receiving sectors and when it was first answered; the report does not read "
    "them yet, and Kith's synthetic place has no referrals.</li>\n"
    "<li><strong>Assessments shared rather than repeated</strong>: Kith does not yet record when an organisation "
    "reuses another's assessment, so there is nothing to count.</li>\n"
    "<li><strong>Care plans reviewed on time</strong>: needs CarePlan review dates; not read yet.</li>\n"
    "</ul>\n";

kith_rc publish_html(buf *b, const measures *m, const publish_meta *meta) {
    page p = {.b = b};
    char first[8], last[8];
    measures_month_label(m, 0, first);
    measures_month_label(m, m->months - 1, last);
    const char **labels = xmalloc(m->months * sizeof *labels);
    char(*lab)[8] = xmalloc(m->months * sizeof *lab);
    for(size_t t = 0; t < m->months; t++) {
        measures_month_label(m, t, lab[t]);
        labels[t] = lab[t];
    }
    put(&p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
            "content=\"width=device-width, initial-scale=1\">\n<title>Integration indicators, %s to %s</title>\n"
            "<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>Integration indicators, %s to %s</h1>\n",
        first, last, STYLE, first, last);
    put(&p, "<p>Made by Kith from the ");
    esc(&p, meta->source ? meta->source : "records");
    put(&p, " on ");
    esc(&p, meta->generated ? meta->generated : "");
    put(&p, ". %ld people counted; left out: %ld who registered the national data opt-out, %ld council-only "
            "records, %ld with no birth date. %ld hospital stays and A&amp;E attendances read. The data end on ",
        m->people, m->excluded_opt_out, m->excluded_council_only, m->excluded_no_birth, meta->stays);
    char end[11];
    datetime_format_day(m->data_end, end);
    put(&p, "%s.</p>\n", end);
    put(&p, "<p class=\"note\">Counts of 1 to 7 are never shown: they appear as * and any rate or percentage made "
            "from them is hidden too; within each month, when exactly one locality, neighbourhood or practice is "
            "hidden, the next smallest is hidden as well. Charts are statistical process control charts in the NHS "
            "&ldquo;Making Data Count&rdquo; style: grey points are common-cause variation, blue special-cause "
            "improvement, orange special-cause concern (a point outside the process limits, a run of 7 on one side "
            "of the mean, a trend of 7, or 2 of 3 beyond 2 sigma). Funnel plots compare the neighbourhoods over "
            "the latest %zu months with 95%% and 99.8%% limits. The figures behind every chart are in "
            "indicators.csv and delay_reasons.csv beside this page.</p>\n</header>\n<nav><h2>Contents</h2><ul>\n",
        m->window);
    for(int k = 0; k < MEASURE_COUNT; k++) {
        put(&p, "<li><a href=\"#%s\">", measure_infos[k].key);
        esc(&p, measure_infos[k].title);
        put(&p, "</a></li>\n");
    }
    if(m->tasks) put(&p, "<li><a href=\"#tasks\">Open tasks without an owner, and overdue tasks</a></li>\n");
    put(&p, "<li><a href=\"#social-care-requests\">Social care requests by outcome</a></li>\n");
    put(&p, "<li><a href=\"#risk-pyramids\">Risk pyramids</a></li>\n");
    put(&p, "<li><a href=\"#not-computed\">Indicators not computed yet</a></li>\n</ul></nav>\n");
    for(int k = 0; k < MEASURE_COUNT; k++) {
        const measure_info *info = &measure_infos[k];
        put(&p, "<section id=\"%s\">\n<h2>", info->key);
        esc(&p, info->title);
        put(&p, "</h2>\n<dl><dt>Unit</dt><dd>");
        esc(&p, info->scale);
        put(&p, "</dd><dt>Numerator</dt><dd>");
        esc(&p, info->numerator);
        put(&p, "</dd><dt>Denominator</dt><dd>");
        esc(&p, info->denominator);
        put(&p, "</dd><dt>Left out</dt><dd>");
        esc(&p, info->exclusions);
        put(&p, "</dd><dt>Method</dt><dd>");
        esc(&p, info->method);
        put(&p, "</dd><dt>Better</dt><dd>%s</dd></dl>\n",
            info->polarity == SPC_POLARITY_HIGHER_BETTER ? "higher" : info->polarity == SPC_POLARITY_LOWER_BETTER ? "lower" : "neither");
        xmr_section(&p, m, (measure_id)k, labels);
        funnel_section(&p, m, (measure_id)k);
        area_table(&p, m, (measure_id)k, labels);
        if(k == MEASURE_DELAYED_DAYS) reasons_section(&p, m);
        put(&p, "</section>\n");
    }
    tasks_section(&p, m);
    requests_section(&p, m);
    pyramid_section(&p, m);
    put(&p, "%s", NOT_COMPUTED);
    put(&p, "<footer><p class=\"note\">Read in %.1f s, computed in %.2f s.</p></footer>\n</body>\n</html>\n",
        meta->seconds_read, meta->seconds_compute);
    free(labels);
    free(lab);
    return p.rc;
}

/* ---- files ---------------------------------------------------------------- */

static kith_rc write_file(const char *dir, const char *name, const buf *b, char *err, size_t errlen) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if(!f) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return KITH_EIO;
    }
    bool ok = fwrite(buf_str(b), 1, b->len, f) == b->len;
    ok = !fclose(f) && ok;
    if(!ok || rename(tmp, path)) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return KITH_EIO;
    }
    return KITH_OK;
}

kith_rc publish_all(const char *dir, const measures *m, const publish_meta *meta, char *err, size_t errlen) {
    static const char *const NAMES[] = {"indicators.csv", "delay_reasons.csv", "tasks.csv", "social_care_requests.csv",
                                        "risk_pyramid.csv", "index.html"};
    kith_rc rc = KITH_OK;
    for(int i = 0; i < 6 && !rc; i++) {
        if(i == 2 && !m->tasks) continue;
        buf b;
        buf_init(&b, FILE_CAP);
        rc = i == 0   ? publish_indicators_csv(&b, m)
             : i == 1 ? publish_reasons_csv(&b, m)
             : i == 2 ? publish_tasks_csv(&b, m)
             : i == 3 ? publish_requests_csv(&b, m)
             : i == 4 ? publish_pyramid_csv(&b, m)
                      : publish_html(&b, m, meta);
        if(rc) snprintf(err, errlen, "%s would be over 1 GB: not written", NAMES[i]);
        else rc = write_file(dir, NAMES[i], &b, err, errlen);
        buf_free(&b);
    }
    return rc;
}
