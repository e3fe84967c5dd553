// charts.js — the dashboards' charts as inline SVG built with html`` (so
// every label is escaped): XmR (individuals) charts in the NHS "Making Data
// Count" way, and horizontal bar charts for the risk pyramids. Each chart is
// role="img" with a <title> and a <desc>; the page puts the same figures in a
// table beneath it. Colours come from classes in kith.css (no inline styles).
import { html } from './html.js';

/**
 * XmR statistics of a series (as docs/spc.md and src/report/spc.c): the mean,
 * the mean moving range, process limits mean ± 2.66 × mean moving range, and
 * which points lie outside them. Null for fewer than two values.
 */
export function xmr(values) {
  const n = values.length;
  if (n < 2 || values.some((v) => !Number.isFinite(v))) return null;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  let mr = 0;
  for (let i = 1; i < n; i++) mr += Math.abs(values[i] - values[i - 1]);
  const meanMr = mr / (n - 1);
  const upl = mean + 2.66 * meanMr;
  const lpl = mean - 2.66 * meanMr;
  const outside = values.map((v) => v > upl ? 'above' : v < lpl ? 'below' : null);
  return { mean, meanMr, upl, lpl, outside };
}

/** A number as "%.4g" does (as the printed report shows means and limits). */
export function fourFigures(x) {
  if (!Number.isFinite(x)) return '';
  if (x === 0) return '0';
  return String(Number(x.toPrecision(4)));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Apr 2023" from "2023-04". */
export function monthName(ym) {
  const m = /^(\d{4})-(\d{2})$/.exec(ym ?? '');
  return m ? `${MONTHS[Number(m[2]) - 1]} ${m[1]}` : String(ym ?? '');
}

// round axis steps: 1, 2 or 5 times a power of ten
function niceStep(span, ticks) {
  const raw = span / Math.max(1, ticks);
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/**
 * An XmR chart: id (unique in the page), title, yLabel, months ["2023-04"...],
 * values (numbers), stats from xmr(). The description gives the figures in words.
 */
export function xmrSvg({ id, title, yLabel, months, values, stats }) {
  const W = 640, H = 300, L = 64, R = 96, T = 16, B = 56;
  const lo0 = Math.min(stats.lpl, ...values), hi0 = Math.max(stats.upl, ...values);
  const pad = (hi0 - lo0) * 0.08 || Math.abs(hi0) * 0.05 || 1;
  const step = niceStep(hi0 - lo0 + 2 * pad, 5);
  const lo = Math.floor((lo0 - pad) / step) * step, hi = Math.ceil((hi0 + pad) / step) * step;
  const x = (i) => L + (values.length === 1 ? 0 : (i * (W - L - R)) / (values.length - 1));
  const y = (v) => T + ((hi - v) * (H - T - B)) / (hi - lo);
  const ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  const every = Math.max(1, Math.ceil(values.length / 6));
  const path = values.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`).join(' ');
  const outsideCount = stats.outside.filter(Boolean).length;
  const desc = `${values.length} months from ${monthName(months[0])} to ${monthName(months[months.length - 1])}. ` +
    `Mean ${fourFigures(stats.mean)}; process limits ${fourFigures(stats.lpl)} to ${fourFigures(stats.upl)}. ` +
    `Latest month ${monthName(months[months.length - 1])}: ${fourFigures(values[values.length - 1])}. ` +
    (outsideCount ? `${outsideCount} month${outsideCount === 1 ? '' : 's'} outside the process limits: ` +
      stats.outside.map((o, i) => o ? `${monthName(months[i])} (${o})` : null).filter(Boolean).join(', ') + '.'
      : 'No month is outside the process limits.');
  const hline = (v, cls, label) => html`<line class="${cls}" x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>
    <text class="kith-chart__line-label" x="${W - R + 6}" y="${(y(v) + 4).toFixed(1)}">${label} ${fourFigures(v)}</text>`;
  return html`<svg class="kith-chart__svg" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-title ${id}-desc" focusable="false">
    <title id="${id}-title">${title}</title>
    <desc id="${id}-desc">${desc}</desc>
    <g aria-hidden="true">
    ${ticks.map((v) => html`<line class="kith-chart__grid" x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>
      <text class="kith-chart__tick" x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fourFigures(v)}</text>`)}
    ${months.map((m, i) => i % every === 0 || (i === months.length - 1 && i % every >= Math.ceil(every * 0.75)) ? html`<text class="kith-chart__tick" x="${x(i).toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${monthName(m)}</text>` : '')}
    <text class="kith-chart__axis" x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">Month</text>
    <text class="kith-chart__axis" x="14" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">${yLabel}</text>
    ${hline(stats.upl, 'kith-chart__limit', 'Upper')}
    ${hline(stats.lpl, 'kith-chart__limit', 'Lower')}
    ${hline(stats.mean, 'kith-chart__mean', 'Mean')}
    <path class="kith-chart__series" d="${path}"/>
    ${values.map((v, i) => stats.outside[i]
      ? html`<rect class="kith-chart__point kith-chart__point--outside" x="${(x(i) - 5).toFixed(1)}" y="${(y(v) - 5).toFixed(1)}" width="10" height="10"><title>${monthName(months[i])}: ${v} (outside the limits)</title></rect>`
      : html`<circle class="kith-chart__point" cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5"><title>${monthName(months[i])}: ${v}</title></circle>`)}
    </g>
  </svg>`;
}

/**
 * Horizontal bars, first bar at the top: bars [{label, value (number or null
 * when hidden), text (what to write at the end of the bar)}].
 */
export function barsSvg({ id, title, desc, bars }) {
  const W = 640, rowH = 36, L = 150, R = 110, T = 8;
  const H = T * 2 + bars.length * rowH;
  const max = Math.max(1, ...bars.map((b) => b.value ?? 0));
  return html`<svg class="kith-chart__svg" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-title ${id}-desc" focusable="false">
    <title id="${id}-title">${title}</title>
    <desc id="${id}-desc">${desc}</desc>
    <g aria-hidden="true">
    ${bars.map((b, i) => {
      const top = T + i * rowH;
      const w = b.value ? Math.max(2, ((W - L - R) * b.value) / max) : 0;
      return html`<text class="kith-chart__tick kith-chart__bar-label" x="${L - 8}" y="${top + rowH / 2 + 5}" text-anchor="end">${b.label}</text>
        ${b.value === null ? html`<rect class="kith-chart__bar kith-chart__bar--hidden" x="${L}" y="${top + 6}" width="24" height="${rowH - 12}"/>`
          : html`<rect class="kith-chart__bar kith-chart__bar--${i}" x="${L}" y="${top + 6}" width="${w.toFixed(1)}" height="${rowH - 12}"/>`}
        <text class="kith-chart__tick" x="${L + (b.value === null ? 24 : w) + 8}" y="${top + rowH / 2 + 5}">${b.text}</text>`;
    })}
    </g>
  </svg>`;
}

/** Tables scroll sideways inside themselves on a narrow screen: one with no
 * link or button in it takes focus, so it can be scrolled from the keyboard. */
export function focusableTables(el) {
  el.querySelectorAll('table.kith-table').forEach((t) => {
    if (!t.querySelector('a[href], button, input, select, textarea')) t.tabIndex = 0;
  });
}
