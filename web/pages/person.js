// person.js — a person's record (#/person/<Patient id>): a banner saying who
// they are, then a timeline across GP, hospital, community health, social
// care and voluntary sector, the care team and how to reach them, the shared
// care plan, referrals with their clocks, frailty and admission risk with
// what contributes, and who has looked at the record. Someone not in the
// user's care gets the break-glass page instead (reason required).
import { html, mount, href } from '../lib/html.js';
import { post, ApiError, parameters } from '../lib/api.js';
import { errorSummary, summaryList, table, tag, insetText, warningCallout, button } from '../lib/ui.js';
import {
  personName, nhsNumber, formatNhsNumber, ageOn, showDate, showDateTime, codeText, refId, extensionValue,
} from '../lib/fhir.js';
import { statusTag, dueOf, isOverdue } from '../lib/tasks.js';
import { loadRecord, ofType, refName, timeline, SECTORS, SECTOR_NAME, KINDS, KITH } from '../lib/record.js';

const PAGE = 50;
const BREAK_GLASS_MINUTES = 60;
// break-glass grants made in this browser: "username/patient id" -> time granted
const brokeGlass = new Map();

const SECTIONS = [
  ['timeline', 'Timeline'], ['care-team', 'Care team'], ['care-plan', 'Shared care plan'],
  ['referrals', 'Referrals'], ['risk', 'Frailty and risk'], ['access-log', 'Who has looked at this record'],
];
const SECTOR_COLOUR = { gp: 'blue', hospital: 'purple', community: 'aqua-green', 'social-care': 'orange', voluntary: 'green', unknown: 'grey' };

export async function show(main, params, app) {
  const id = params[0];
  if (!id) {
    app.title('No person chosen');
    mount(main, html`<h1 class="nhsuk-heading-l" tabindex="-1">No person chosen</h1>
      <p class="nhsuk-body"><a href="#/find">Find a person</a> to open their record.</p>`);
    return;
  }
  let rec;
  try {
    rec = await loadRecord(id);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 403)) {
      showBreakGlass(main, id, app);
      return;
    }
    if (e instanceof ApiError && e.status === 410) {
      app.title('Record removed');
      mount(main, html`<h1 class="nhsuk-heading-l" tabindex="-1">This record has been removed</h1>
        <p class="nhsuk-body">The person's record was deleted. <a href="#/find">Find a person</a>.</p>`);
      return;
    }
    throw e;
  }
  app.rememberPerson(id);
  drawRecord(main, rec, app);
}

/** A table that scrolls sideways inside the page on small screens (and can be scrolled by keyboard). */
function wideTable(caption, head, rows, opts = {}) {
  if (!rows.length) return table(caption, head, rows, opts);
  return html`<div class="kith-table-scroll" tabindex="0" role="region" aria-label="${caption}">${table(caption, head, rows, opts)}</div>`;
}

/* ---- break-glass ----------------------------------------------------------------- */

function showBreakGlass(main, id, app, { reason = '', error = '' } = {}) {
  app.title('This record is not open to you');
  mount(main, html`<div class="nhsuk-grid-row"><div class="nhsuk-grid-column-two-thirds">
    <h1 class="nhsuk-heading-l" tabindex="-1">This person's record is not open to you</h1>
    <div id="break-glass-errors">${error ? errorSummary([{ field: 'reason', text: error }]) : ''}</div>
    <p class="nhsuk-body">Kith shows a person's record only to the people caring for them: their GP practice, and
      teams with an open referral, episode of care or care team for them. You are not recorded as caring for this person.</p>
    <p class="nhsuk-body">If you are caring for them, ask the team that referred them to add you, or
      <a href="#/find">find the person again</a> to check you have the right record.</p>
    ${warningCallout('Opening the record in an emergency (break-glass)', html`
      <p>You can open the record for ${BREAK_GLASS_MINUTES} minutes if you need it now to keep the person safe or to give them care.</p>
      <p>Your name, the time and your reason are recorded and reviewed by information governance, and the person's GP practice is told.</p>`)}
    <form id="break-glass" novalidate>
      <div class="nhsuk-form-group${error ? ' nhsuk-form-group--error' : ''}">
        <label class="nhsuk-label nhsuk-label--s" for="reason">Why do you need to see this record now?</label>
        <div class="nhsuk-hint" id="reason-hint">At least 10 characters. For example: "Called out to the person at home, no records available".</div>
        ${error ? html`<span class="nhsuk-error-message" id="reason-error"><span class="nhsuk-u-visually-hidden">Error:</span> ${error}</span>` : ''}
        <textarea class="nhsuk-textarea${error ? ' nhsuk-textarea--error' : ''}" id="reason" name="reason" rows="4"
          aria-describedby="reason-hint${error ? ' reason-error' : ''}">${reason}</textarea>
      </div>
      ${button('Open the record (break-glass)', { warning: true })}
    </form>
  </div></div>`);
  const form = document.getElementById('break-glass');
  if (error) {
    main.querySelector('.nhsuk-error-summary')?.focus();
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = form.reason.value.trim();
    if (text.length < 10) {
      showBreakGlass(main, id, app, {
        reason: form.reason.value,
        error: text ? 'Give a reason of at least 10 characters' : 'Enter why you need to see this record now',
      });
      return;
    }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      await post(`/fhir/Patient/${encodeURIComponent(id)}/$break-glass`, parameters([{ name: 'reason', valueString: text }]));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      const words = e.status === 404 ? 'There is no person with this record number in Kith' : e.message;
      showBreakGlass(main, id, app, { reason: form.reason.value, error: words });
      return;
    }
    brokeGlass.set(`${app.session.username}/${id}`, Date.now());
    mount(main, html`<p class="nhsuk-body kith-loading" role="status">Opening the record…</p>`);
    await show(main, [id], app);
    main.querySelector('h1')?.focus();
  });
}

/** When the user opened this record by break-glass in the last hour, the time; else null. */
function breakGlassTime(rec, app) {
  const u = app.session?.username;
  const mine = brokeGlass.get(`${u}/${rec.patient.id}`);
  const hour = BREAK_GLASS_MINUTES * 60 * 1000;
  if (mine && Date.now() - mine < hour) return new Date(mine).toISOString();
  // the notification Kith sends the GP practice says who opened the record, and when
  const note = breakGlassNotes(rec).find((c) => (c.payload?.[0]?.contentString ?? '').startsWith(`${u} (`) &&
    Date.now() - new Date(c.sent).getTime() < hour);
  return note ? note.sent : null;
}

function breakGlassNotes(rec) {
  return ofType(rec, 'Communication').filter((c) => /break-glass/i.test(codeText(c.category)))
    .sort((a, b) => String(b.sent).localeCompare(String(a.sent)));
}

/* ---- the record ------------------------------------------------------------------ */

function drawRecord(main, rec, app) {
  const p = rec.patient;
  const name = personName(p);
  app.title(name);
  const glass = breakGlassTime(rec, app);
  mount(main, html`
    ${banner(rec, glass)}
    ${rec.everythingFailed ? errorSummary(`Some of the record could not be loaded: ${rec.everythingFailed}`) : ''}
    <nav class="nhsuk-contents-list kith-contents" aria-label="Parts of this record">
      <h2 class="nhsuk-u-visually-hidden">Contents</h2>
      <ul class="nhsuk-contents-list__list">${SECTIONS.map(([sid, text]) => html`
        <li class="nhsuk-contents-list__item"><a class="nhsuk-contents-list__link" href="${href('person', p.id)}" data-section="${sid}">${text}</a></li>`)}
      </ul>
    </nav>
    ${timelineSection(rec)}
    ${careTeamSection(rec)}
    ${carePlanSection(rec)}
    ${referralsSection(rec)}
    ${riskSection(rec)}
    ${accessSection(rec, app)}`);
  main.querySelector('.kith-contents').addEventListener('click', (ev) => {
    const a = ev.target.closest('a[data-section]');
    if (!a) return;
    ev.preventDefault();
    const h = document.getElementById(a.dataset.section);
    h?.scrollIntoView();
    h?.focus({ preventScroll: true });
  });
  wireTimeline(main, rec);
}

function banner(rec, glass) {
  const p = rec.patient;
  const nhs = nhsNumber(p);
  const age = ageOn(p.birthDate);
  const gp = (p.generalPractitioner ?? []).map((g) => refName(rec, g)).filter(Boolean).join(', ');
  const keyWorker = (rec.careTeam?.participant ?? []).filter((x) => (x.role ?? []).some((r) => (r.coding ?? []).some((c) => c.code === 'key-worker')));
  const alerts = ofType(rec, 'Flag').filter((f) => f.status === 'active');
  const efi = frailty(rec);
  const pair = (k, v, idAttr) => html`<div class="kith-banner__pair"><dt>${k}</dt><dd${idAttr ? html` id="${idAttr}"` : ''}>${v}</dd></div>`;
  return html`<div class="kith-banner${glass ? ' kith-banner--glass' : ''}" id="banner">
    <h1 class="nhsuk-heading-l kith-banner__name" tabindex="-1">${personName(p)}</h1>
    <dl>
      ${pair('NHS number', nhs ? formatNhsNumber(nhs) : 'Not recorded', 'banner-nhs')}
      ${pair('Born', p.birthDate ? showDate(p.birthDate) : 'Not recorded')}
      ${pair('Age', age === null ? 'Not known' : p.deceasedDateTime || p.deceasedBoolean ? `Died ${showDate(p.deceasedDateTime ?? '')}` : `${age}`, 'banner-age')}
      ${pair('Registered GP', gp || 'None recorded', 'banner-gp')}
      ${pair('Key worker', keyWorker.length ? keyWorker.map((k) => memberName(rec, k)).join(', ') : 'None named', 'banner-key-worker')}
      ${pair('Frailty', efi ? `${efi.label}` : 'Not assessed', 'banner-frailty')}
    </dl>
    ${alerts.length ? html`<div class="kith-banner__alerts" id="banner-alerts"><h2 class="nhsuk-heading-xs kith-banner__alerts-title">Alerts</h2>
      <ul class="nhsuk-list kith-banner__alert-list">${alerts.map((f) => html`<li>${tag(codeText(f.code) || 'Alert', 'red')}</li>`)}</ul></div>` : ''}
    ${glass ? html`<p class="nhsuk-body kith-banner__glass" id="banner-glass"><strong>You opened this record by break-glass</strong>
      at ${showDateTime(glass)}. Your access ends ${BREAK_GLASS_MINUTES} minutes after that and is being reviewed.</p>` : ''}
  </div>`;
}

function memberName(rec, m) {
  const ref = m.member;
  const name = (ref?.display ?? '').trim() || refName(rec, ref);
  const org = m.onBehalfOf ? refName(rec, m.onBehalfOf) : '';
  return org && org !== name ? `${name} (${org})` : name;
}

/* ---- timeline -------------------------------------------------------------------- */

function timelineSection(rec) {
  const items = timeline(rec);
  const sectors = SECTORS.filter(([code]) => code !== 'unknown' || items.some((i) => i.sector === 'unknown'));
  const kinds = Object.entries(KINDS).filter(([k]) => items.some((i) => i.kind === k));
  const box = (name, value, text, n) => html`<div class="nhsuk-checkboxes__item">
    <input class="nhsuk-checkboxes__input" id="${name}-${value}" name="${name}" type="checkbox" value="${value}">
    <label class="nhsuk-label nhsuk-checkboxes__label" for="${name}-${value}">${text} (${n})</label></div>`;
  return html`<section class="kith-section" aria-labelledby="timeline">
    <h2 class="nhsuk-heading-m" id="timeline" tabindex="-1">Timeline</h2>
    <form id="timeline-filters" class="kith-timeline-filters" novalidate>
      <div class="nhsuk-form-group"><fieldset class="nhsuk-fieldset" aria-describedby="sector-hint">
        <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">Sector</legend>
        <div class="nhsuk-hint" id="sector-hint">Choose none to see every sector</div>
        <div class="nhsuk-checkboxes nhsuk-checkboxes--small">${sectors.map(([code, text]) => box('sector', code, text, items.filter((i) => i.sector === code).length))}</div>
      </fieldset></div>
      <div class="nhsuk-form-group"><fieldset class="nhsuk-fieldset" aria-describedby="kind-hint">
        <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">Type</legend>
        <div class="nhsuk-hint" id="kind-hint">Choose none to see every type</div>
        <div class="nhsuk-checkboxes nhsuk-checkboxes--small">${kinds.map(([code, text]) => box('kind', code, text, items.filter((i) => i.kind === code).length))}</div>
      </fieldset></div>
      <div class="kith-actions">
        ${button('Apply filters', { secondary: true })}
        ${button('Clear filters', { secondary: true, type: 'reset', id: 'timeline-clear' })}
      </div>
    </form>
    <p class="nhsuk-body" id="timeline-count" role="status"></p>
    <ol class="kith-timeline" id="timeline-list"></ol>
    <button class="nhsuk-button nhsuk-button--secondary" type="button" id="timeline-more" hidden>Show more</button>
  </section>`;
}

function timelineItem(i, focusable) {
  const when = i.date ? (i.date.includes('T') ? showDateTime(i.date) : showDate(i.date)) : 'Date not recorded';
  return html`<li class="kith-timeline__item" data-sector="${i.sector}" data-kind="${i.kind}"${focusable ? html` tabindex="-1"` : ''}>
    <p class="kith-timeline__when">${i.date ? html`<time datetime="${i.date}">${when}</time>` : when}</p>
    <div class="kith-timeline__what">
      <p class="kith-timeline__title"><strong>${i.title}</strong>${i.status ? html` <span class="kith-timeline__status">(${i.status})</span>` : ''}</p>
      <p class="kith-timeline__meta">${tag(SECTOR_NAME[i.sector], SECTOR_COLOUR[i.sector])} <span class="kith-timeline__kind">${KINDS[i.kind]}</span></p>
      ${i.detail ? html`<p class="kith-timeline__detail">${i.detail}</p>` : ''}
    </div></li>`;
}

function wireTimeline(main, rec) {
  const items = timeline(rec);
  const form = main.querySelector('#timeline-filters');
  const list = main.querySelector('#timeline-list');
  const count = main.querySelector('#timeline-count');
  const more = main.querySelector('#timeline-more');
  let shown = PAGE;
  let chosen = items;
  const draw = (focusFrom = -1) => {
    mount(list, html`${chosen.slice(0, shown).map((i, n) => timelineItem(i, n === focusFrom))}`);
    const total = items.length;
    count.textContent = !total ? 'Nothing is recorded for this person yet.'
      : chosen.length === total ? `Showing ${Math.min(shown, total)} of ${total} entries, newest first.`
        : `${chosen.length} of ${total} entries match the filters. Showing ${Math.min(shown, chosen.length)}, newest first.`;
    more.hidden = chosen.length <= shown;
    more.textContent = `Show ${Math.min(PAGE, chosen.length - shown)} more`;
    if (focusFrom >= 0) list.children[focusFrom]?.focus();
  };
  const apply = () => {
    const data = new FormData(form);
    const sectors = new Set(data.getAll('sector'));
    const kinds = new Set(data.getAll('kind'));
    chosen = items.filter((i) => (!sectors.size || sectors.has(i.sector)) && (!kinds.size || kinds.has(i.kind)));
    shown = PAGE;
    draw();
  };
  form.addEventListener('change', apply);
  form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
  form.addEventListener('reset', () => setTimeout(apply, 0));
  more.addEventListener('click', () => {
    const from = shown;
    shown += PAGE;
    draw(from);
  });
  draw();
}

/* ---- care team ------------------------------------------------------------------- */

function contactLinks(telecom) {
  const list = (telecom ?? []).filter((t) => t?.value);
  if (!list.length) return 'No contact details';
  return html`<ul class="nhsuk-list kith-contact">${list.map((t) => t.system === 'email'
    ? html`<li>Email <a href="mailto:${t.value}">${t.value}</a></li>`
    : t.system === 'phone' ? html`<li>Phone <a href="tel:${t.value.replace(/\s+/g, '')}">${t.value}</a></li>`
      : html`<li>${t.value}</li>`)}</ul>`;
}

function careTeamSection(rec) {
  const people = rec.careTeam?.participant ?? [];
  return html`<section class="kith-section" aria-labelledby="care-team">
    <h2 class="nhsuk-heading-m" id="care-team" tabindex="-1">Care team</h2>
    ${rec.careTeam === null ? html`<p class="nhsuk-body">The care team could not be loaded.</p>`
      : wideTable('Who is involved in this person\'s care and how to reach them', ['Name', 'Role', 'Organisation', 'How to reach them'],
        people.map((m) => [
          (m.member?.display ?? '').trim() || refName(rec, m.member),
          (m.role ?? []).map((r) => r.text || codeText(r)).filter(Boolean).join(', '),
          m.onBehalfOf ? refName(rec, m.onBehalfOf) : '',
          contactLinks((m.extension ?? []).filter((e) => e.url === `${KITH}/StructureDefinition/contact`).map((e) => e.valueContactPoint)),
        ]), { empty: 'No one is recorded as involved yet.', id: 'care-team-table' })}
  </section>`;
}

/* ---- shared care plan ------------------------------------------------------------ */

const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1).replace(/-/g, ' ') : '');
const PLAN_ORDER = { active: 0, draft: 1, 'on-hold': 2, completed: 3, revoked: 4 };

function carePlanSection(rec) {
  const plans = ofType(rec, 'CarePlan').filter((c) => c.status !== 'entered-in-error')
    .sort((a, b) => (PLAN_ORDER[a.status] ?? 5) - (PLAN_ORDER[b.status] ?? 5));
  const goals = ofType(rec, 'Goal').filter((g) => g.lifecycleStatus !== 'entered-in-error');
  const used = new Set();
  const goalList = (list) => list.length ? html`<ul class="nhsuk-list nhsuk-list--bullet">${list.map((g) => html`<li>
      <strong>${g.description?.text || codeText(g.description) || 'Goal'}</strong>
      ${g.target?.[0]?.dueDate ? html` — review by ${showDate(g.target[0].dueDate)}` : ''}
      ${g.lifecycleStatus && g.lifecycleStatus !== 'active' ? html` (${cap(g.lifecycleStatus)})` : ''}</li>`)}</ul>`
    : html`<p class="nhsuk-body">Nothing written yet.</p>`;
  const planHtml = (c) => {
    const mine = (c.goal ?? []).map((g) => rec.byRef.get(g.reference)).filter(Boolean);
    mine.forEach((g) => used.add(g.id));
    return html`<div class="nhsuk-card kith-plan"><div class="nhsuk-card__content">
      <h3 class="nhsuk-card__heading nhsuk-heading-s">${c.title || 'Shared care plan'}</h3>
      ${c.description ? html`<p class="nhsuk-body">${c.description}</p>` : ''}
      ${summaryList([
        ['Status', cap(c.status)],
        ['Review date', c.period?.end ? showDate(c.period.end) : 'Not set'],
        ['Written by', c.author ? refName(rec, c.author) : ''],
        ['Last changed', showDateTime(c.meta?.lastUpdated)],
      ])}
      <h4 class="nhsuk-heading-xs">What matters to me</h4>
      ${goalList(mine)}
      <h4 class="nhsuk-heading-xs">What we will do</h4>
      ${wideTable('Activities in this plan', ['Activity', 'Who', 'When', 'Status'], (c.activity ?? []).map((a) => [
        a.detail?.description || codeText(a.detail?.code) || a.reference?.display || 'Activity',
        (a.detail?.performer ?? []).map((x) => refName(rec, x)).join(', '),
        a.detail?.scheduledString ?? (a.detail?.scheduledPeriod ? `${showDate(a.detail.scheduledPeriod.start)}${a.detail.scheduledPeriod.end ? ' to ' + showDate(a.detail.scheduledPeriod.end) : ''}` : ''),
        cap(a.detail?.status),
      ]), { empty: 'No activities yet.' })}
    </div></div>`;
  };
  const drawn = plans.map(planHtml);
  const loose = goals.filter((g) => !used.has(g.id));
  return html`<section class="kith-section" aria-labelledby="care-plan" id="care-plan-section">
    <h2 class="nhsuk-heading-m" id="care-plan" tabindex="-1">Shared care plan</h2>
    ${plans.length ? drawn : html`<p class="nhsuk-body">There is no shared care plan yet.</p>`}
    ${loose.length ? html`<h3 class="nhsuk-heading-s">${plans.length ? 'Other goals' : 'What matters to me'}</h3>${goalList(loose)}` : ''}
  </section>`;
}

/* ---- referrals ------------------------------------------------------------------- */

const CLOCK = {
  'awaiting-response': 'Waiting for an answer', 'responded-in-time': 'Answered in time',
  'responded-late': 'Answered late', overdue: 'Overdue',
};

function referralsSection(rec) {
  const tasks = ofType(rec, 'Task');
  const requests = ofType(rec, 'ServiceRequest');
  const taskFor = new Map();
  for (const t of tasks) {
    for (const ref of [t.focus, ...(t.basedOn ?? [])].filter(Boolean)) {
      if (ref.reference?.startsWith('ServiceRequest/')) taskFor.set(refId(ref), t);
    }
  }
  const linked = new Set([...taskFor.values()].map((t) => t.id));
  const open = (t, sr) => t ? !['completed', 'rejected', 'cancelled', 'failed', 'entered-in-error'].includes(t.status)
    : sr?.status === 'active' || sr?.status === 'draft' || sr?.status === 'on-hold';
  const rows = [
    ...requests.map((sr) => ({ sr, t: taskFor.get(sr.id) })),
    ...tasks.filter((t) => !linked.has(t.id)).map((t) => ({ t })),
  ].map((x) => ({ ...x, open: open(x.t, x.sr), date: x.sr?.authoredOn ?? x.t?.authoredOn ?? '' }))
    .sort((a, b) => (b.open - a.open) || String(b.date).localeCompare(String(a.date)));
  const what = ({ sr, t }) => {
    const words = (sr && (codeText(sr.code) || codeText(sr.category))) || t?.description || codeText(t?.code) || 'Referral';
    return t ? html`<a href="${href('referral', t.id)}">${words}</a>` : words;
  };
  const to = ({ sr, t }) => (sr?.performer ?? []).map((p) => refName(rec, p)).join(', ') || (t?.owner ? refName(rec, t.owner) : '');
  const clock = ({ t }) => {
    if (!t) return '';
    const code = t.businessStatus?.coding?.[0]?.code;
    const answered = extensionValue(t, 'responded');
    const words = CLOCK[code] ?? codeText(t.businessStatus);
    return answered ? `${words || 'Answered'} ${showDateTime(answered)}` : words;
  };
  const status = ({ sr, t }) => t ? statusTag(t) : tag(sr.status === 'completed' ? 'Completed' : sr.status ?? 'Unknown', sr.status === 'active' ? 'blue' : 'grey');
  const due = ({ t }) => {
    if (!t) return '';
    const d = dueOf(t) ?? extensionValue(t, 'response-due');
    if (!d) return '';
    return isOverdue(t) ? html`<span class="kith-overdue">${showDateTime(d)} (overdue)</span>` : showDateTime(d);
  };
  return html`<section class="kith-section" aria-labelledby="referrals">
    <h2 class="nhsuk-heading-m" id="referrals" tabindex="-1">Referrals</h2>
    ${wideTable('Referrals and requests for this person, open ones first', ['Referral', 'To', 'Sent', 'Status', 'Answer due', 'Clock'],
      rows.map((r) => [what(r), to(r), showDate(r.date), status(r), due(r), clock(r)]),
      { empty: 'No referrals yet.', id: 'referrals-table' })}
    <a class="nhsuk-button" href="${href('refer', rec.patient.id)}" draggable="false" id="make-referral">Make a referral</a>
  </section>`;
}

/* ---- risk ------------------------------------------------------------------------ */

const EFI_WORDS = { fit: 'Fit', mild: 'Mild frailty', moderate: 'Moderate frailty', severe: 'Severe frailty' };
const RISK_WORDS = { low: 'Low', moderate: 'Moderate', high: 'High', 'very-high': 'Very high' };

function method(r) { return r.method?.coding?.find((c) => c.system === `${KITH}/CodeSystem/risk-method`)?.code; }

function frailty(rec) {
  const r = ofType(rec, 'RiskAssessment').filter((x) => method(x) === 'efi')
    .sort((a, b) => String(b.occurrenceDateTime).localeCompare(String(a.occurrenceDateTime)))[0];
  if (!r) return null;
  const category = r.prediction?.[0]?.qualitativeRisk?.coding?.[0]?.code;
  const score = extensionValue(r, 'efi-score');
  const count = extensionValue(r, 'efi-deficits');
  const deficits = (r.extension ?? []).filter((e) => e.url === `${KITH}/StructureDefinition/efi-deficit`).map((e) => {
    const part = (n) => (e.extension ?? []).filter((x) => x.url === n);
    return {
      name: part('deficit')[0]?.valueCoding?.display ?? part('deficit')[0]?.valueCoding?.code ?? 'Deficit',
      drugs: part('drugs')[0]?.valueInteger,
      evidence: part('evidence').map((x) => rec.byRef.get(x.valueReference?.reference)).filter(Boolean),
    };
  });
  const label = `${EFI_WORDS[category] ?? category ?? 'Assessed'}${typeof score === 'number' ? ` (eFI ${score.toFixed(2)})` : ''}`;
  return { r, category, score, count, deficits, label };
}

function evidenceText(x) {
  if (x.resourceType === 'Condition') return `${codeText(x.code)}${x.onsetDateTime || x.recordedDate ? `, ${showDate(x.onsetDateTime ?? x.recordedDate)}` : ''}`;
  if (x.resourceType === 'MedicationRequest') return codeText(x.medicationCodeableConcept);
  if (x.resourceType === 'Observation') return codeText(x.code);
  return `${x.resourceType}`;
}

function riskSection(rec) {
  const efi = frailty(rec);
  const ear = ofType(rec, 'RiskAssessment').filter((x) => method(x) === 'emergency-admission-12m')
    .sort((a, b) => String(b.occurrenceDateTime).localeCompare(String(a.occurrenceDateTime)))[0];
  const pred = ear?.prediction?.[0];
  const level = pred?.qualitativeRisk?.coding?.[0]?.code;
  return html`<section class="kith-section" aria-labelledby="risk">
    <h2 class="nhsuk-heading-m" id="risk" tabindex="-1">Frailty and risk</h2>
    <div class="nhsuk-grid-row">
    <div class="nhsuk-grid-column-one-half">
      <h3 class="nhsuk-heading-s">Frailty (electronic Frailty Index)</h3>
      ${efi ? html`${summaryList([
          ['Category', efi.label],
          ['Deficits', efi.count !== undefined ? `${efi.count} of 36` : `${efi.deficits.length} of 36`],
          ['Worked out', showDateTime(efi.r.occurrenceDateTime)],
        ])}
        <h4 class="nhsuk-heading-xs">What contributes</h4>
        ${efi.deficits.length ? html`<ul class="nhsuk-list nhsuk-list--bullet" id="deficits">${efi.deficits.map((d) => html`<li>
          <strong>${d.name}</strong>${d.drugs ? ` — ${d.drugs} medicines` : ''}${d.evidence.length && !d.drugs
            ? html`<span class="kith-evidence"> — from ${d.evidence.map(evidenceText).join('; ')}</span>` : ''}</li>`)}</ul>`
          : html`<p class="nhsuk-body" id="deficits">No deficits recorded.</p>`}`
        : html`<p class="nhsuk-body">Not assessed yet.</p>`}
    </div>
    <div class="nhsuk-grid-column-one-half">
      <h3 class="nhsuk-heading-s">Emergency admission in the next 12 months</h3>
      ${ear ? summaryList([
          ['Risk', RISK_WORDS[level] ?? level ?? ''],
          ['Chance', typeof pred?.probabilityDecimal === 'number' ? `${(pred.probabilityDecimal * 100).toFixed(1)}%` : ''],
          ['Period', pred?.whenPeriod ? `${showDate(pred.whenPeriod.start)} to ${showDate(pred.whenPeriod.end)}` : ''],
          ['Worked out', showDateTime(ear.occurrenceDateTime)],
        ]) : html`<p class="nhsuk-body">Not worked out yet.</p>`}
    </div></div>
  </section>`;
}

/* ---- who has looked at this record ----------------------------------------------- */

function auditWhat(a) {
  const sub = a.subtype?.[0]?.code ?? '';
  if (a.type?.code === 'break-glass') return `Broke the glass: ${(a.outcomeDesc ?? '').replace(/^break-glass: /, '')}`;
  const obj = (a.entity ?? []).find((e) => e.type?.code === '2');
  const type = (obj?.what?.reference ?? obj?.description ?? '').split(/[/?]/)[0];
  let words;
  if (type === 'AuditEvent') words = 'Looked at who has looked at the record';
  else if (['create'].includes(sub)) words = `Added to the record${type ? ` (${type})` : ''}`;
  else if (['update', 'patch', 'delete'].includes(sub)) words = `Changed the record${type ? ` (${type})` : ''}`;
  else words = 'Looked at the record';
  return words + (a.outcome !== '0' ? ' (refused)' : '');
}

function accessSection(rec, app) {
  const notes = breakGlassNotes(rec);
  const audit = rec.audit;
  let body;
  if (audit.events) {
    // one row per person per minute: opening a record makes several requests
    const rows = [];
    for (const a of audit.events) {
      const agent = a.agent?.[0] ?? {};
      const who = agent.who?.identifier?.value ?? 'unknown';
      const minute = String(a.recorded ?? '').slice(0, 16);
      const what = auditWhat(a);
      const glass = a.type?.code === 'break-glass';
      const last = rows[rows.length - 1];
      if (last && last.who === who && last.minute === minute) {
        if (!last.what.includes(what)) last.what.push(what);
        last.glass ||= glass;
      } else {
        rows.push({ who, minute, when: a.recorded, what: [what], glass,
          role: agent.role?.[0]?.coding?.[0]?.code ?? '', org: agent.location ? refName(rec, agent.location) : '' });
      }
    }
    // a grant lasts an hour: what the same person did after it was by break-glass too
    const glassBy = new Map();
    for (const r of [...rows].reverse()) {
      if (r.glass) glassBy.set(r.who, new Date(r.when).getTime());
      const g = glassBy.get(r.who);
      if (g && new Date(r.when).getTime() - g < BREAK_GLASS_MINUTES * 60000) r.underGlass = true;
    }
    body = wideTable('Who has looked at or changed this record, newest first', ['Who', 'When', 'What', 'How'], rows.map((r) => [
      html`${r.who.replace(/^(user|client)\//, '')}${r.role || r.org ? html`<br><span class="nhsuk-body-s">${[r.role.replace(/-/g, ' '), r.org].filter(Boolean).join(', ')}</span>` : ''}`,
      showDateTime(r.when),
      r.what.join('; '),
      r.glass || r.underGlass ? tag('Break-glass', 'red') : 'Care relationship',
    ]), { empty: 'No one has looked at this record yet.', id: 'access-log-table' });
  } else {
    body = html`${insetText(html`<p>${audit.refused ? 'Staff see who has looked at the records of the people in their care; administrators see every record.' : 'The list of who has looked at this record could not be loaded.'}
        Your own use of the record is recorded. To see everyone who looked, ask your information governance lead for an access report.</p>`)}
      <h3 class="nhsuk-heading-s">Records opened by break-glass</h3>
      ${wideTable('Times this record was opened by someone not caring for the person', ['When', 'Who and why'], notes.map((c) => [
        showDateTime(c.sent), (c.payload ?? []).map((x) => x.contentString).filter(Boolean).join(' '),
      ]), { empty: 'No one has opened this record by break-glass.', id: 'break-glass-log' })}`;
  }
  return html`<section class="kith-section" aria-labelledby="access-log">
    <h2 class="nhsuk-heading-m" id="access-log" tabindex="-1">Who has looked at this record</h2>
    <p class="nhsuk-body-s" id="access-you">You are signed in as ${app.session?.username ?? ''}: your view of this record has been recorded.</p>
    ${body}
  </section>`;
}
