/*
 * indicator.c — shared indicator arithmetic: suppression, rates, intervals.
 *
 * The rules and their sources are documented in indicator.h and
 * docs/indicators.md. Every function is pure: inputs are borrowed, results
 * are written to caller-owned memory, nothing is allocated, nothing global
 * is written. Safe to call from any thread. Bad input (from the caller, who
 * may have read it from outside) is returned as KITH_EINVAL, not asserted.
 */
#include "report/indicator.h"

#include <math.h>
#include <string.h>

#include "base/datetime.h"

#define DSR_MAX_BANDS 100

const double indicator_esp2013[INDICATOR_ESP2013_BANDS] = {
    5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, /* 0-4 .. 45-49 */
    7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000,       /* 50-54 .. 90+ */
};

bool indicator_count_hidden(int64_t count) { return count >= 1 && count <= INDICATOR_SUPPRESS_MAX; }

static void set_suppressed(indicator_estimate *out) {
    out->value = out->lo = out->hi = NAN;
    out->suppressed = true;
}

/* ---- suppression -------------------------------------------------------- */

/* One row (stride 1) or column (stride cols) of len cells starting at first:
 * if exactly one is hidden, hide the smallest shown cell too, preferring a
 * non-zero one. Returns true if it hid a cell. */
static bool protect_line(const int64_t *cells, bool *hidden, size_t first, size_t len, size_t stride) {
    size_t nhidden = 0, pick = SIZE_MAX;
    for(size_t k = 0; k < len; k++) {
        size_t i = first + k * stride;
        if(hidden[i]) {
            nhidden++;
            continue;
        }
        if(pick == SIZE_MAX) {
            pick = i;
            continue;
        }
        bool nz = cells[i] > 0, pick_nz = cells[pick] > 0;
        if((nz && !pick_nz) || (nz == pick_nz && cells[i] < cells[pick])) pick = i;
    }
    if(nhidden != 1 || pick == SIZE_MAX) return false;
    hidden[pick] = true;
    return true;
}

kith_rc indicator_suppress_table(const int64_t *cells, size_t rows, size_t cols, bool *hidden) {
    if(!cells || !hidden || rows == 0 || cols == 0 || rows > INDICATOR_MAX_CELLS / cols) return KITH_EINVAL;
    size_t n = rows * cols;
    for(size_t i = 0; i < n; i++)
        if(cells[i] < 0) return KITH_EINVAL;
    for(size_t i = 0; i < n; i++) hidden[i] = indicator_count_hidden(cells[i]);
    /* Each pass hides at least one more cell or stops, so at most n passes. */
    bool changed = true;
    while(changed) {
        changed = false;
        for(size_t r = 0; r < rows; r++) changed |= protect_line(cells, hidden, r * cols, cols, 1);
        for(size_t c = 0; c < cols && rows > 1; c++) changed |= protect_line(cells, hidden, c, rows, cols);
    }
    return KITH_OK;
}

/* ---- intervals ---------------------------------------------------------- */

void indicator_byar(double count, double *lo, double *hi) {
    const double z = INDICATOR_Z95;
    double o1 = count + 1;
    *lo = count > 0 ? count * pow(1 - 1 / (9 * count) - z / (3 * sqrt(count)), 3) : 0;
    *hi = o1 * pow(1 - 1 / (9 * o1) + z / (3 * sqrt(o1)), 3);
}

kith_rc indicator_crude_rate(int64_t events, double population, double per, indicator_estimate *out) {
    if(!out || events < 0 || !(population > 0) || !(per > 0)) return KITH_EINVAL;
    if(indicator_count_hidden(events)) {
        set_suppressed(out);
        return KITH_OK;
    }
    double lo, hi;
    indicator_byar((double)events, &lo, &hi);
    out->value = (double)events / population * per;
    out->lo = lo / population * per;
    out->hi = hi / population * per;
    out->suppressed = false;
    return KITH_OK;
}

kith_rc indicator_proportion(int64_t num, int64_t den, indicator_estimate *out) {
    if(!out || num < 0 || den <= 0 || num > den) return KITH_EINVAL;
    if(indicator_count_hidden(num)) {
        set_suppressed(out);
        return KITH_OK;
    }
    const double z = INDICATOR_Z95, z2 = z * z;
    double x = (double)num, n = (double)den;
    double half = z * sqrt(z2 + 4 * x * (1 - x / n));
    out->value = x / n;
    out->lo = (2 * x + z2 - half) / (2 * (n + z2));
    out->hi = (2 * x + z2 + half) / (2 * (n + z2));
    if(num == 0) out->lo = 0; /* exact in theory; avoid -0.0 and rounding */
    if(num == den) out->hi = 1;
    out->suppressed = false;
    return KITH_OK;
}

kith_rc indicator_dsr(const double *events, const double *population, const double *std, size_t bands,
                      double per, indicator_estimate *out) {
    if(!events || !population || !out || !(per > 0) || bands == 0 || bands > DSR_MAX_BANDS) return KITH_EINVAL;
    if(!std) {
        if(bands != INDICATOR_ESP2013_BANDS) return KITH_EINVAL;
        std = indicator_esp2013;
    }
    double wsum = 0, total = 0, rate = 0, var = 0;
    for(size_t i = 0; i < bands; i++) {
        if(!(events[i] >= 0) || events[i] != floor(events[i]) || !(population[i] > 0) || !(std[i] >= 0))
            return KITH_EINVAL;
        wsum += std[i];
        total += events[i];
        rate += std[i] * events[i] / population[i];
        var += std[i] * std[i] * events[i] / (population[i] * population[i]);
    }
    if(!(wsum > 0) || total > (double)INT64_MAX) return KITH_EINVAL;
    if(indicator_count_hidden((int64_t)total)) {
        set_suppressed(out);
        return KITH_OK;
    }
    out->suppressed = false;
    out->value = rate / wsum * per;
    if(total == 0) {
        out->lo = 0;
        out->hi = NAN;
        return KITH_OK;
    }
    /* Dobson: DSR + sqrt(var(DSR) / O) * (O_limit - O), O = total events. */
    double lo, hi, scale = sqrt(var / total) / wsum * per;
    indicator_byar(total, &lo, &hi);
    out->lo = out->value + scale * (lo - total);
    out->hi = out->value + scale * (hi - total);
    return KITH_OK;
}

/* ---- person-time -------------------------------------------------------- */

kith_rc indicator_days_at_home(double days_alive, double days_in_hospital, double person_years, double *out) {
    if(!out || !(days_alive >= 0) || !(days_in_hospital >= 0) || days_in_hospital > days_alive ||
       !(person_years > 0))
        return KITH_EINVAL;
    *out = (days_alive - days_in_hospital) / person_years;
    return KITH_OK;
}

kith_rc indicator_month_buckets(const indicator_event *events, size_t n, int first_year, int first_month,
                                size_t months, double *sums, size_t *outside) {
    if(!sums || (n > 0 && !events) || first_month < 1 || first_month > 12 || months == 0 ||
       months > INDICATOR_MAX_MONTHS)
        return KITH_EINVAL;
    memset(sums, 0, months * sizeof *sums);
    size_t skipped = 0;
    int64_t base = (int64_t)first_year * 12 + (first_month - 1);
    for(size_t i = 0; i < n; i++) {
        int y, m, d;
        datetime_civil_from_days(events[i].day, &y, &m, &d);
        int64_t k = (int64_t)y * 12 + (m - 1) - base;
        if(k < 0 || k >= (int64_t)months) {
            skipped++;
            continue;
        }
        sums[k] += events[i].value;
    }
    if(outside) *outside = skipped;
    return KITH_OK;
}
