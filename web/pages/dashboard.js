// dashboard.js — the integration dashboards: the figures `kith report`
// published (GET /reports/*.csv; docs/report.md "What it writes") drawn for
// one area at a time — each indicator as an XmR chart, the risk pyramids, the
// task snapshot and delayed discharges — and, live from the FHIR API, how fast
// the signed-in user's team answered referrals in the last 90 days. Every
// figure from the report is shown exactly as the CSV has it.
import { html, mount, href } from '../lib/html.js';
import { request, get, entries, allPages, ApiError } from '../lib/api.js';
import { pageHeading, table, insetText, select, button, warningCallout } from '../lib/ui.js';
import { showDate } from '../lib/fhir.js';
import { csvRecords } from '../lib/csv.js';
import { xmr, xmrSvg, barsSvg, fourFigures, monthName, focusableTables } from '../lib/charts.js';

const INDICATORS = {
  emergency_admissions_dsr: 'Emergency admissions, age-standardised',
  emergency_bed_days: 'Emergency bed days',
  readmissions_30d: 'Emergency readmissions within 30 days',
  ae_attendances: 'A&E attendances',
  delayed_discharge_days: 'Delayed discharge days',
  days_at_home: 'Days at home',
  at_home_91_days: 'Still at home 91 days after discharge into reablement',
  mdt_actions_on_time: 'MDT actions done on time',
};

const LEVELS = [
  ['place', 'The place'], ['locality', 'Localities'], ['neighbourhood', 'Neighbourhoods'],
  ['practice', 'GP practices'], ['cohort', 'People aged 65 and over'],
];

const PYRAMIDS = [
  ['frailty', 'Frailty (electronic frailty index)', [['severe', 'Severe frailty'], ['moderate', 'Moderate frailty'],
    ['mild', 'Mild frailty'], ['fit', 'Fit']]],
  ['admission-risk', 'Risk of an emergency admission in the next year', [['very-high', 'Very high (40% or more)'],
    ['high', 'High (20 to 40%)'], ['moderate', 'Moderate (10 to 20%)'], ['low', 'Low (under 10%)']]],
];

const RESPONDED = ['responded-in-time', 'responded-late'];
const DAY = 24 * 3600 * 1000;

/** A file of the published report as text; null when none was published. */
async function reportFile(name) {
  const res = await fetch(`/reports/${name}`, { credentials: 'same-origin', headers: { Accept: 'text/csv' } });
  if (res.status === 401) {
    await request('GET', '/auth/session'); // shows the sign-in page
    throw new ApiError(401, 'Your session has ended.');
  }
  if (res.status === 404) return null;
  if (!res.ok) throw new ApiError(res.status, `The report could not be read (Kith answered ${res.status})`);
  return res.text();
}

/** A hidden count, as the report marks it (`*`, or empty with suppressed 1). */
const HIDDEN = html`<span class="kith-hidden-figure">hidden</span>`;
function figure(v, suppressed) {
  if (v === '*' || (suppressed && v === '')) return HIDDEN;
  return v === '' ? 'none' : v;
}

function areasOf(rows) {
  const seen = new Map();
  for (const r of rows) if (r.unit && !seen.has(r.unit)) seen.set(r.unit, { level: r.level, unit: r.unit, name: r.unit_name });
  const order = LEVELS.map(([l]) => l);
  return [...seen.values()].filter((a) => order.includes(a.level))
    .sort((a, b) => order.indexOf(a.level) - order.indexOf(b.level) || a.name.localeCompare(b.name));
}

export async function show(view, params, app) {
  app.title('Dashboards');
  const [indicatorsCsv, pyramidCsv, tasksCsv, delaysCsv] = await Promise.all(
    ['indicators.csv', 'risk_pyramid.csv', 'tasks.csv', 'delay_reasons.csv'].map(reportFile));
  const live = html`<h2 class="nhsuk-heading-m">Your team's referrals answered in the last 90 days</h2><div id="team-responses"><p class="nhsuk-body kith-loading-part" role="status">Loading…</p></div>`;
  if (indicatorsCsv === null) {
    mount(view, html`${pageHeading('Dashboards', 'Integration indicators')}
      ${insetText(html`<p id="no-report">No report has been published yet: an operator runs kith report (<code>kith report --db DB --out DIR</code>, then <code>kith serve --reports DIR</code>).</p>`)}
      ${live}`);
    await drawTeamResponses(app);
    return;
  }
  const data = {
    indicators: csvRecords(indicatorsCsv),
    pyramid: csvRecords(pyramidCsv ?? ''),
    tasks: csvRecords(tasksCsv ?? ''),
    delays: csvRecords(delaysCsv ?? ''),
  };
  const areas = areasOf([...data.indicators, ...data.tasks, ...data.pyramid]);
  const countDate = data.tasks[0]?.count_date;
  let area = areas.find((a) => a.unit === params[0]) ?? areas.find((a) => a.level === 'place') ?? areas[0];
  mount(view, html`${pageHeading('Dashboards', 'Integration indicators')}
    <p class="nhsuk-body" id="published">Figures from the report published on <strong>${countDate ? showDate(countDate) : 'an unknown day'}</strong>.
      <a href="/reports/index.html">Open the full printable report</a>.</p>
    <p class="nhsuk-body-s">A figure shown as “hidden” is a count of 1 to 7, or one hidden so that such a count cannot be worked out from the others.</p>
    <form id="area-form" class="kith-filters kith-area-form" novalidate>
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="area">Area</label>
        <select class="nhsuk-select" id="area" name="area">
          ${LEVELS.map(([level, words]) => {
            const list = areas.filter((a) => a.level === level);
            return list.length ? html`<optgroup label="${words}">${list.map((a) => html`<option value="${a.unit}"${a === area ? html` selected` : ''}>${a.name}</option>`)}</optgroup>` : '';
          })}
        </select>
      </div>
      <div class="nhsuk-form-group">${button('Show this area', { id: 'show-area' })}</div>
    </form>
    <p class="nhsuk-u-visually-hidden" role="status" id="area-status"></p>
    <div id="area-figures"></div>
    ${live}`);
  const draw = () => {
    const figures = document.getElementById('area-figures');
    mount(figures, areaFigures(data, area));
    focusableTables(figures);
    mount(document.getElementById('area-status'), html`Showing the figures for ${area.name}`);
  };
  draw();
  document.getElementById('area-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const unit = document.getElementById('area').value;
    area = areas.find((a) => a.unit === unit) ?? area;
    // keep the area in the address (an id only) without loading the page again
    history.replaceState(null, '', href('dashboard', area.unit));
    draw();
  });
  await drawTeamResponses(app);
}

function areaFigures(data, area) {
  const ind = data.indicators.filter((r) => r.unit === area.unit);
  const names = [...new Set(data.indicators.map((r) => r.indicator))];
  return html`
    <h2 class="nhsuk-heading-l" id="area-heading">${area.name}</h2>
    <h3 class="nhsuk-heading-m">Integration indicators</h3>
    ${names.map((name, k) => indicatorSection(name, k, ind.filter((r) => r.indicator === name), area))}
    <h3 class="nhsuk-heading-m">Risk pyramids</h3>
    ${PYRAMIDS.map((p) => pyramid(p, data.pyramid.filter((r) => r.unit === area.unit && r.assessment === p[0])))}
    <h3 class="nhsuk-heading-m">Referrals and tasks</h3>
    ${taskSnapshot(data.tasks, area)}
    ${delays(data.delays.filter((r) => r.unit === area.unit))}`;
}

function indicatorSection(name, k, rows, area) {
  const title = INDICATORS[name] ?? name.replace(/_/g, ' ');
  rows = [...rows].sort((a, b) => a.month.localeCompare(b.month));
  const scale = rows[0]?.scale ?? '';
  const hidden = rows.filter((r) => r.suppressed === '1' || r.value === '').length;
  const values = rows.map((r) => Number(r.value));
  const stats = !hidden ? xmr(values) : null;
  const id = `chart-${k}`;
  let chart;
  if (!rows.length) chart = html`<p class="nhsuk-body">No figures for this area.</p>`;
  else if (hidden) chart = html`<p class="nhsuk-body kith-chart__note">No chart: ${hidden} month${hidden === 1 ? ' is' : 's are'} hidden or without a value, and the chart needs every month.</p>`;
  else if (!stats) chart = html`<p class="nhsuk-body kith-chart__note">No chart: fewer than two months with figures.</p>`;
  else {
    const outside = stats.outside.filter(Boolean).length;
    chart = html`<p class="nhsuk-body kith-chart__summary">Latest month (${monthName(rows[rows.length - 1].month)}) <strong>${rows[rows.length - 1].value}</strong>;
      mean <strong class="kith-mean">${fourFigures(stats.mean)}</strong>, process limits <strong class="kith-limits">${fourFigures(stats.lpl)} to ${fourFigures(stats.upl)}</strong>.
      ${outside ? html`<strong class="kith-outside">${outside} month${outside === 1 ? '' : 's'} outside the limits</strong> (square markers).` : 'Every month is within the limits.'}</p>
      <div class="kith-chart">${xmrSvg({ id, title: `${title}, ${area.name}, by month (XmR chart)`, yLabel: scale, months: rows.map((r) => r.month), values, stats })}</div>`;
  }
  return html`<section class="kith-indicator" data-indicator="${name}" aria-labelledby="${id}-heading">
    <h4 class="nhsuk-heading-s" id="${id}-heading">${title}</h4>
    <p class="nhsuk-body-s nhsuk-u-secondary-text-color">${scale}</p>
    ${chart}
    ${rows.length ? html`<details class="nhsuk-details">
      <summary class="nhsuk-details__summary"><span class="nhsuk-details__summary-text">Show the data as a table<span class="nhsuk-u-visually-hidden">: ${title}</span></span></summary>
      <div class="nhsuk-details__text">
      ${table(`${title}, ${area.name}, by month`, ['Month', 'Numerator', 'Denominator', 'Value', '95% interval', 'Outside the limits'],
        rows.map((r, i) => [monthName(r.month), figure(r.numerator, r.suppressed === '1'), figure(r.denominator, false),
          figure(r.value, r.suppressed === '1'), r.lo || r.hi ? `${r.lo || '…'} to ${r.hi || '…'}` : '',
          stats ? (stats.outside[i] ? `Yes (${stats.outside[i]})` : 'No') : '']), { id: `${id}-table` })}
      </div></details>` : ''}
  </section>`;
}

function pyramid([assessment, title, levels], rows) {
  const id = `pyramid-${assessment}`;
  if (!rows.length) return html`<h4 class="nhsuk-heading-s">${title}</h4><p class="nhsuk-body" id="${id}">No one in this area has been scored.</p>`;
  const by = new Map(rows.map((r) => [r.segment, r]));
  const known = levels.filter(([code]) => by.has(code));
  const bars = known.map(([code, words]) => {
    const r = by.get(code);
    const hidden = r.suppressed === '1' || r.people === '';
    return { label: words, value: hidden ? null : Number(r.people), text: hidden ? 'hidden' : r.people };
  });
  const desc = bars.map((b) => `${b.label}: ${b.text}`).join('; ') + '.';
  return html`<h4 class="nhsuk-heading-s" id="${id}-heading">${title}</h4>
    <div class="kith-chart">${barsSvg({ id, title: `${title}: people by level`, desc, bars })}</div>
    ${table(`${title}: people by level`, ['Level', 'People'], known.map(([code, words]) => [words, figure(by.get(code).people, by.get(code).suppressed === '1')]), { id: `${id}-table` })}`;
}

function taskSnapshot(tasks, area) {
  const mine = tasks.filter((r) => r.unit === area.unit);
  const level = tasks.filter((r) => r.level === area.level);
  const date = mine[0]?.count_date ?? tasks[0]?.count_date;
  const pct = (v, count) => count === '*' ? HIDDEN : v === '' ? 'not shown' : `${v}%`;
  const row = (r) => [r.unit === area.unit ? html`<strong>${r.unit_name}</strong>` : r.unit_name,
    figure(r.open, true), figure(r.without_owner, true), pct(r.pct_without_owner, r.without_owner),
    figure(r.with_due_date, true), figure(r.overdue, true), pct(r.pct_overdue, r.overdue)];
  return html`<h4 class="nhsuk-heading-s">Open on ${date ? showDate(date) : 'the day of the report'}</h4>
    ${table(`Open referrals and tasks on ${date ? showDate(date) : 'the day of the report'}, ${LEVELS.find(([l]) => l === area.level)?.[1] ?? area.level}`,
      ['Area', 'Open', 'Without an owner', 'Share without an owner', 'With a due date', 'Overdue', 'Share overdue'],
      level.map(row), { id: 'task-snapshot', empty: 'The report has no task figures.' })}`;
}

function delays(rows) {
  const periods = [...new Set(rows.filter((r) => r.level !== 'place-by-month').map((r) => r.period))].sort();
  const period = periods[periods.length - 1];
  const list = rows.filter((r) => r.period === period && r.level !== 'place-by-month');
  if (!list.length) return html``;
  const [from, to] = period.split('/');
  return html`<h3 class="nhsuk-heading-m">Delayed discharges by reason</h3>
    ${table(`Stays delayed after people were ready to leave hospital, ${monthName(from)} to ${monthName(to)}`,
      ['Reason', 'Stays', 'Days', 'Share of days'],
      list.map((r) => [r.reason_label || r.reason, figure(r.stays, r.suppressed === '1'), figure(r.days, r.suppressed === '1'),
        r.share_of_days ? `${r.share_of_days}%` : '']), { id: 'delay-reasons' })}`;
}


const ext = (res, name) => (res.extension ?? []).find((e) => e.url.endsWith(`/${name}`));

/** "45 minutes", "5.5 hours", "2.3 days". */
export function durationWords(ms) {
  const h = ms / 3600000;
  if (h < 1) return `${Math.round(ms / 60000)} minutes`;
  if (h < 48) return `${h.toFixed(1)} hours`;
  return `${(h / 24).toFixed(1)} days`;
}

function median(list) {
  const s = [...list].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function drawTeamResponses(app) {
  const box = document.getElementById('team-responses');
  if (!box) return;
  const org = app.session?.organization;
  if (!org) {
    mount(box, html`<p class="nhsuk-body">Your account does not belong to a team.</p>`);
    return;
  }
  const since = new Date(Date.now() - 90 * DAY);
  let team, roles, tasks;
  try {
    [team, roles, tasks] = await Promise.all([
      get(`/fhir/Organization/${encodeURIComponent(org)}`).catch(() => null),
      allPages('/fhir/PractitionerRole', { organization: `Organization/${org}`, _count: 500, _elements: 'practitioner,active' }),
      allPages('/fhir/Task', { 'business-status': RESPONDED.join(','), _lastUpdated: `ge${since.toISOString().slice(0, 10)}`, _count: 500,
        _elements: 'owner,authoredOn,extension,businessStatus,priority,status' }),
    ]);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
    mount(box, warningCallout('Not available', html`<p>Your team's referrals could not be read: ${e.message}</p>`));
    return;
  }
  const members = new Set([`Organization/${org}`, ...roles.filter((r) => r.active !== false && r.practitioner?.reference)
    .map((r) => r.practitioner.reference)]);
  const answered = tasks.filter((t) => t.resourceType === 'Task' && members.has(t.owner?.reference)).map((t) => {
    const code = t.businessStatus?.coding?.find((c) => RESPONDED.includes(c.code))?.code;
    const responded = ext(t, 'responded')?.valueDateTime;
    return { code, priority: t.priority ?? 'routine', ms: responded && t.authoredOn ? Date.parse(responded) - Date.parse(t.authoredOn) : NaN, at: Date.parse(responded) };
  }).filter((a) => a.code && Number.isFinite(a.ms) && a.at >= since.getTime());
  const teamName = team?.name ?? org;
  if (!answered.length) {
    mount(box, html`<p class="nhsuk-body" id="team-response-summary">${teamName} has answered no referrals since ${showDate(since.toISOString().slice(0, 10))} that you can see.</p>`);
    return;
  }
  const sum = (list) => {
    const inTime = list.filter((a) => a.code === 'responded-in-time').length;
    return [String(list.length), String(inTime), `${Math.round((100 * inTime) / list.length)}%`, durationWords(median(list.map((a) => a.ms)))];
  };
  const all = sum(answered);
  const priorities = ['stat', 'asap', 'urgent', 'routine'].filter((p) => answered.some((a) => a.priority === p));
  mount(box, html`<p class="nhsuk-body" id="team-response-summary">Since ${showDate(since.toISOString().slice(0, 10))}, ${teamName} answered
      <strong data-figure="answered">${all[0]}</strong> referral${all[0] === '1' ? '' : 's'}:
      <strong data-figure="in-time">${all[2]}</strong> within the service's target, and half of them within
      <strong data-figure="median">${all[3]}</strong> of being referred.</p>
    ${table(`Referrals ${teamName} answered since ${showDate(since.toISOString().slice(0, 10))}, by priority`,
      ['Priority', 'Answered', 'Within target', 'Share within target', 'Median time to answer'],
      [...priorities.map((p) => [p === 'asap' ? 'As soon as possible' : p === 'stat' ? 'Immediate' : p[0].toUpperCase() + p.slice(1),
        ...sum(answered.filter((a) => a.priority === p))]), [html`<strong>All</strong>`, ...all]], { id: 'team-responses-table' })}
    <p class="nhsuk-body-s">Counted live from the referrals you can see whose owner is ${teamName} or someone with a role there. The time to answer is
      clock time from the referral to the answer; the target is in the service's working hours.</p>`);
  focusableTables(box);
}
