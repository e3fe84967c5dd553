// meeting.js — MDT meeting mode (#/meeting/<Appointment id>): the agenda in
// order with the actions from earlier meetings first, attendance, then each
// case in turn with a visible time-box, its summary, decisions and actions
// (owners from the MDT's members), saved with $record-case; at the end the
// chair finishes the meeting and the minutes are shown. Only the MDT's chair
// or coordinator runs a meeting; anyone else reads the agenda. docs/mdt.md.
import { html, mount, href } from '../lib/html.js';
import { get, post, entries, parameters, search, ApiError } from '../lib/api.js';
import { pageHeading, errorSummary, table, tag, insetText, warningCallout, button, textarea, showError, backLink } from '../lib/ui.js';
import { showDate, showDateTime, refId } from '../lib/fhir.js';
import { watchTables, ext, leadRole, members, namesOf, memberName, timeboxWords, timeboxClock, markdownToHtml, ukToday } from '../lib/mdt.js';

const STATE_TAG = {
  overdue: ['Overdue', 'red'], open: ['Open', 'blue'], 'done-on-time': ['Done on time', 'green'],
  'done-late': ['Done late', 'yellow'], closed: ['Closed', 'grey'],
  new: ['New', 'blue'], review: ['Discussed before', 'grey'], discussed: ['Discussed', 'green'], deferred: ['Next meeting', 'grey'],
};
const flagTag = (code) => tag(...(STATE_TAG[code] ?? [code ?? 'Unknown', 'grey']));
const section = (e) => ext(e, 'agenda-section')?.valueCode;
const minutesOf = (e) => ext(e, 'time-box')?.valueDuration?.value ?? 0;

export async function show(view, params, app) {
  view.classList.add('kith-mdt-page');
  watchTables(view);
  const id = params[0];
  if (!id) {
    app.title('Meeting not found');
    mount(view, html`${pageHeading('Which meeting?')}<p class="nhsuk-body">Open a meeting from its MDT. <a href="#/mdt">See your MDTs</a>.</p>`);
    return;
  }
  let appt;
  try {
    appt = await get(`/fhir/Appointment/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      app.title('Meeting not found');
      mount(view, html`${pageHeading('Meeting not found')}<p class="nhsuk-body">There is no meeting at this address that you can see. <a href="#/mdt">See your MDTs</a>.</p>`);
      return;
    }
    throw e;
  }
  const teamRef = (appt.supportingInformation ?? []).find((s) => s.reference?.startsWith('CareTeam/'));
  const team = teamRef ? await get(`/fhir/${teamRef.reference}`).catch(() => null) : null;
  const st = {
    view, app, appt, team, id: appt.id,
    lead: leadRole(team, app.session.practitioner),
    people: members(team), names: new Map(), agenda: null, tasks: new Map(), current: null, skipped: new Set(),
    caseStarted: 0, timer: null, actionRows: 1,
  };
  st.names = await namesOf(st.people.map((p) => p.ref).concat((appt.participant ?? []).map((p) => p.actor?.reference)));
  app.title(`MDT meeting ${showDate(appt.start)}`);
  if (appt.status === 'fulfilled') return drawMinutes(st);
  await loadAgenda(st);
  if (!st.lead) return drawReadOnly(st);
  drawMeeting(st);
}

async function loadAgenda(st) {
  st.agenda = await get(`/fhir/Appointment/${st.id}/$agenda`);
  const taskIds = (st.agenda.entry ?? []).filter((e) => section(e) === 'previous-actions').map((e) => refId(e.item)).filter(Boolean);
  for (let i = 0; i < taskIds.length; i += 50) {
    const b = await search('Task', { _id: taskIds.slice(i, i + 50).join(','), _count: 50 }).catch(() => null);
    for (const t of entries(b, 'Task')) st.tasks.set(t.id, t);
  }
  const owners = [...st.tasks.values()].map((t) => t.owner?.reference).filter((r) => r && !st.names.has(r));
  if (owners.length) for (const [k, v] of await namesOf(owners)) st.names.set(k, v);
}

function heading(st, words) {
  const teamName = st.team?.name ?? 'MDT';
  return html`${backLink(st.team ? href('mdt', st.team.id) : '#/mdt', `Back to ${teamName}`)}
    ${pageHeading(words, `${teamName}: ${showDateTime(st.appt.start)}${st.appt.minutesDuration && st.appt.status === 'booked' ? `, ${st.appt.minutesDuration} minutes` : ''}`)}`;
}

function previousActionsTable(st) {
  const rows = (st.agenda.entry ?? []).filter((e) => section(e) === 'previous-actions').map((e) => {
    const t = st.tasks.get(refId(e.item));
    return [
      t?.description ?? e.item?.display ?? 'An action',
      t?.for?.display ?? '',
      t?.owner ? memberName(st.names, t.owner.reference, t.owner.display) : '',
      html`${flagTag(e.flag?.coding?.[0]?.code)} <span class="nhsuk-body-s">${e.flag?.text ?? ''}</span>`,
    ];
  });
  const mins = ext(st.agenda, 'actions-time-box')?.valueDuration?.value;
  return html`<h2 class="nhsuk-heading-m" id="previous-actions">1. Actions from earlier meetings${mins ? ` (${mins} minutes)` : ''}</h2>
    ${table('Actions agreed at earlier meetings, overdue first', ['Action', 'For', 'Owner', 'State'], rows,
    { id: 'previous-actions-table', empty: 'There are no actions from earlier meetings.' })}`;
}

function casesTable(st) {
  const rows = (st.agenda.entry ?? []).filter((e) => section(e) === 'cases').map((e, i) => {
    const code = e.flag?.coding?.[0]?.code;
    const pid = refId(e.item);
    const now = st.current && refId(st.current.item) === pid;
    return [
      String(i + 1),
      html`${now ? html`<strong>${e.item?.display ?? 'A person'}</strong> <span class="nhsuk-tag nhsuk-tag--purple">Now</span>` : e.item?.display ?? 'A person you are not involved with'}`,
      showDateTime(ext(e, 'planned-start')?.valueDateTime).replace(/^.*, /, ''),
      code === 'deferred' ? 'None' : `${minutesOf(e)}`,
      flagTag(code),
    ];
  });
  return html`<h2 class="nhsuk-heading-m" id="agenda-cases">2. Cases</h2>
    ${table('The cases in the order they are discussed', ['Order', 'Person', 'Starts', 'Minutes', 'State'], rows,
    { id: 'agenda-cases-table', empty: 'There are no cases on this agenda.' })}`;
}

function drawReadOnly(st) {
  mount(st.view, html`${heading(st, 'MDT meeting agenda')}
    ${warningCallout('Only the chair can run this meeting', html`<p>Only the chair or coordinator of ${st.team?.name ?? 'the MDT'} can run this meeting: record who is there, the discussions and the actions. You can read the agenda here, and the minutes once the meeting has finished.</p>`)}
    ${previousActionsTable(st)}
    ${casesTable(st)}`);
}

// ---- meeting mode ----------------------------------------------------------------

function nextCase(st) {
  return (st.agenda.entry ?? []).filter((e) => section(e) === 'cases')
    .find((e) => !['discussed', 'deferred'].includes(e.flag?.coding?.[0]?.code) && !st.skipped.has(refId(e.item))) ?? null;
}

function attendance(st) {
  const rows = (st.appt.participant ?? []).filter((p) => p.actor?.reference);
  return html`<h2 class="nhsuk-heading-m" id="attendance-heading">Who is here</h2>
    <form id="attendance" novalidate>
      <div class="nhsuk-form-group"><fieldset class="nhsuk-fieldset" aria-describedby="attendance-hint">
        <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">Tick everyone at the meeting</legend>
        <div class="nhsuk-hint" id="attendance-hint">Anyone not ticked is recorded as sending apologies.</div>
        <div class="nhsuk-checkboxes">
        ${rows.map((p, i) => {
    const attended = ext(p, 'attended')?.valueBoolean;
    const role = (p.type ?? []).map((t) => t.text).filter((t) => t && !/^MDT /.test(t)).join(', ');
    return html`<div class="nhsuk-checkboxes__item">
            <input class="nhsuk-checkboxes__input" id="present-${i}" name="present" type="checkbox" value="${p.actor.reference}"${attended ? html` checked` : ''}>
            <label class="nhsuk-label nhsuk-checkboxes__label" for="present-${i}">${memberName(st.names, p.actor.reference, p.actor.display)}${role ? `, ${role}` : ''}</label>
          </div>`;
  })}
        </div></fieldset></div>
      <p class="nhsuk-body" id="attendance-state" role="status">${(st.appt.participant ?? []).some((p) => ext(p, 'attended')) ? 'Attendance recorded.' : ''}</p>
      ${button('Record attendance', { secondary: true })}
    </form>`;
}

function ownerOptions(st) {
  return st.people.map((p) => [p.ref, `${memberName(st.names, p.ref, p.display)}${p.role ? ` (${p.role})` : ''}`]);
}

function actionRow(st, i) {
  const n = i + 1;
  return html`<fieldset class="nhsuk-fieldset kith-action" id="action-${i}">
    <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">Action ${n}</legend>
    <div class="nhsuk-form-group">
      <label class="nhsuk-label" for="action-${i}-description">What needs doing (action ${n})</label>
      <input class="nhsuk-input" id="action-${i}-description" name="action-${i}-description" type="text" autocomplete="off">
    </div>
    <div class="kith-filters">
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="action-${i}-owner">Who will do it (action ${n})</label>
        <select class="nhsuk-select" id="action-${i}-owner" name="action-${i}-owner">
          <option value="">Choose a member</option>
          ${ownerOptions(st).map(([v, t]) => html`<option value="${v}">${t}</option>`)}
        </select>
      </div>
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="action-${i}-due">Due by (action ${n})</label>
        <input class="nhsuk-input" id="action-${i}-due" name="action-${i}-due" type="date" min="${ukToday()}">
      </div>
    </div>
  </fieldset>`;
}

function drawMeeting(st, { focus } = {}) {
  stopTimer(st);
  const prev = st.current && refId(st.current.item);
  st.current = nextCase(st);
  if (!st.current || refId(st.current.item) !== prev) { st.caseStarted = Date.now(); st.actionRows = 1; }
  const c = st.current;
  const total = (st.agenda.entry ?? []).filter((e) => section(e) === 'cases').length;
  const done = (st.agenda.entry ?? []).filter((e) => section(e) === 'cases' && e.flag?.coding?.[0]?.code === 'discussed').length;
  const why = c?.flag?.text ?? '';
  const current = c ? html`<section class="kith-current-case" aria-labelledby="current-case">
      <h2 class="nhsuk-heading-m" id="current-case" tabindex="-1"><span class="nhsuk-caption-m">Now discussing</span>${c.item?.display ?? 'A person'}</h2>
      ${why ? html`<p class="nhsuk-body">Why: ${why}</p>` : ''}
      <div class="kith-timebox-panel" id="timebox">
        <p class="nhsuk-body-s kith-timebox-label" id="timebox-label">Time for this case: ${minutesOf(c)} minutes</p>
        <p class="kith-timebox" role="timer" aria-live="off" aria-labelledby="timebox-label" id="timebox-clock"></p>
        <p class="nhsuk-body kith-timebox-words" id="timebox-words"></p>
        <p class="nhsuk-u-visually-hidden" role="status" id="timebox-alert"></p>
      </div>
      ${refId(c.item) ? html`<p class="nhsuk-body"><a href="${href('person', refId(c.item))}" target="_blank" rel="noopener">Open their record in a new tab</a></p>` : ''}
      <form id="record-case" novalidate>
        ${textarea({ id: 'summary', label: 'Summary of the discussion', hint: 'This goes into their record, where everyone who cares for them can read it.', rows: 5 })}
        ${textarea({ id: 'decisions', label: 'Decisions', hint: 'One decision on each line.', rows: 3 })}
        <h3 class="nhsuk-heading-s">Actions</h3>
        <div id="action-rows">${Array.from({ length: st.actionRows }, (_, i) => actionRow(st, i))}</div>
        <button class="nhsuk-button nhsuk-button--secondary" type="button" id="add-action">Add another action</button>
        <div class="nhsuk-form-group"><fieldset class="nhsuk-fieldset">
          <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">After this meeting</legend>
          <div class="nhsuk-radios">
            <div class="nhsuk-radios__item"><input class="nhsuk-radios__input" id="outcome-continue" name="outcome" type="radio" value="continue" checked>
              <label class="nhsuk-label nhsuk-radios__label" for="outcome-continue">The MDT keeps following their care</label></div>
            <div class="nhsuk-radios__item"><input class="nhsuk-radios__input" id="outcome-close" name="outcome" type="radio" value="close">
              <label class="nhsuk-label nhsuk-radios__label" for="outcome-close">Close their case</label></div>
          </div></fieldset></div>
        <div class="kith-actions">
          ${button('Save and next case', { id: 'save-case' })}
          <button class="nhsuk-button nhsuk-button--secondary" type="button" id="skip-case">Skip for now</button>
        </div>
      </form>
    </section>` : html`<h2 class="nhsuk-heading-m" id="current-case" tabindex="-1">All cases done</h2>
      <p class="nhsuk-body">${total ? `${done} of ${total} cases discussed.` : 'There were no cases on the agenda.'}${st.skipped.size ? ' Cases you skipped are kept for the next meeting.' : ''}</p>`;
  mount(st.view, html`${heading(st, 'MDT meeting')}
    <div id="meeting-errors"></div>
    ${attendance(st)}
    ${previousActionsTable(st)}
    ${casesTable(st)}
    ${current}
    <h2 class="nhsuk-heading-m">Finish the meeting</h2>
    <p class="nhsuk-body">Finishing records the end time and shows the minutes. Each person's summary is already in their record.</p>
    ${button('Finish and publish the summary', { id: 'finish', type: 'button', warning: !!c })}`);
  wireMeeting(st);
  if (c) startTimer(st);
  if (focus) document.getElementById(focus)?.focus();
}

function stopTimer(st) {
  if (st.timer) clearInterval(st.timer);
  st.timer = null;
}

function startTimer(st) {
  const limit = minutesOf(st.current) * 60;
  let lastWords = '';
  let alerted = false;
  const tick = () => {
    const clock = document.getElementById('timebox-clock');
    if (!clock || !st.view.isConnected) { stopTimer(st); return; }
    const left = limit - Math.floor((Date.now() - st.caseStarted) / 1000);
    clock.textContent = timeboxClock(left);
    const panel = document.getElementById('timebox');
    panel.classList.toggle('kith-timebox-panel--over', left < 0);
    clock.classList.toggle('kith-timebox--over', left < 0);
    const words = timeboxWords(left);
    if (words !== lastWords) {
      document.getElementById('timebox-words').textContent = words;
      lastWords = words;
    }
    if (left <= 0 && !alerted) {
      alerted = true;
      document.getElementById('timebox-alert').textContent = 'Time is up for this case.';
    }
  };
  tick();
  st.timer = setInterval(tick, 1000);
}

function meetingFail(list) {
  const box = document.getElementById('meeting-errors');
  mount(box, errorSummary(list));
  box.querySelector('.nhsuk-error-summary')?.focus();
}

function presentAndAbsent(st) {
  const form = document.getElementById('attendance');
  const ticked = new Set([...form.querySelectorAll('input[name=present]:checked')].map((i) => i.value));
  return [...form.querySelectorAll('input[name=present]')].map((i) => ({
    name: ticked.has(i.value) ? 'present' : 'absent', valueReference: { reference: i.value },
  }));
}

const nowInstant = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function wireMeeting(st) {
  const busy = (btn, fn) => async (ev) => {
    ev?.preventDefault?.();
    if (btn.disabled) return;
    btn.disabled = true;
    try { await fn(); } catch (e) { showError(e); } finally { btn.disabled = false; }
  };
  const attForm = document.getElementById('attendance');
  attForm.addEventListener('submit', busy(attForm.querySelector('button[type=submit]'), async () => {
    const p = presentAndAbsent(st);
    if (!st.appt.participant?.some((x) => ext(x, 'attended')) && st.appt.status === 'booked') p.push({ name: 'started', valueDateTime: nowInstant() });
    st.appt = await post(`/fhir/Appointment/${st.id}/$attendance`, parameters(p));
    const present = p.filter((x) => x.name === 'present').length;
    document.getElementById('attendance-state').textContent = `Attendance recorded: ${present} present.`;
  }));
  document.getElementById('finish').addEventListener('click', busy(document.getElementById('finish'), async () => {
    const p = presentAndAbsent(st);
    if (!p.some((x) => x.name === 'present')) return meetingFail([{ field: 'present-0', text: 'Tick who was at the meeting before finishing it' }]);
    if (!st.appt.participant?.some((x) => ext(x, 'attended')) && st.appt.status === 'booked') p.push({ name: 'started', valueDateTime: st.appt.start && Date.parse(st.appt.start) < Date.now() ? st.appt.start : nowInstant() });
    // Kith stores the length in whole minutes and refuses 0: a meeting ends at least a minute after it began
    const began = Date.parse(p.find((x) => x.name === 'started')?.valueDateTime ?? st.appt.start);
    const end = Number.isNaN(began) ? Date.now() : Math.max(Date.now(), began + 60000);
    p.push({ name: 'ended', valueDateTime: new Date(end).toISOString().replace(/\.\d{3}Z$/, 'Z') });
    stopTimer(st);
    st.appt = await post(`/fhir/Appointment/${st.id}/$attendance`, parameters(p));
    st.app.confirm('The meeting is finished and its minutes are published. Each person\'s summary is in their record, and each action is in its owner\'s worklist.');
    await drawMinutes(st);
    st.view.querySelector('h1')?.focus();
  }));
  if (!st.current) return;
  document.getElementById('add-action').addEventListener('click', () => {
    const rows = document.getElementById('action-rows');
    const i = rows.querySelectorAll('.kith-action').length;
    rows.insertAdjacentHTML('beforeend', actionRow(st, i).text);
    st.actionRows = i + 1;
    document.getElementById(`action-${i}-description`).focus();
  });
  document.getElementById('skip-case').addEventListener('click', () => {
    st.skipped.add(refId(st.current.item));
    drawMeeting(st, { focus: 'current-case' });
  });
  const form = document.getElementById('record-case');
  form.addEventListener('submit', busy(document.getElementById('save-case'), async () => {
    const v = Object.fromEntries(new FormData(form).entries());
    const errs = [];
    const summary = (v.summary ?? '').trim();
    if (!summary) errs.push({ field: 'summary', text: 'Write a summary of the discussion' });
    const actions = [];
    for (let i = 0; i < form.querySelectorAll('.kith-action').length; i++) {
      const d = (v[`action-${i}-description`] ?? '').trim(), o = v[`action-${i}-owner`], due = v[`action-${i}-due`];
      if (!d && !o && !due) continue;
      if (!d) errs.push({ field: `action-${i}-description`, text: `Say what needs doing for action ${i + 1}` });
      if (!o) errs.push({ field: `action-${i}-owner`, text: `Choose who will do action ${i + 1}` });
      if (!/^\d{4}-\d{2}-\d{2}$/.test(due ?? '')) errs.push({ field: `action-${i}-due`, text: `Enter the date action ${i + 1} is due by` });
      else if (due < ukToday()) errs.push({ field: `action-${i}-due`, text: `The due date of action ${i + 1} must be today or later` });
      actions.push({ name: 'action', part: [{ name: 'description', valueString: d }, { name: 'owner', valueReference: { reference: o } }, { name: 'due', valueDate: due }] });
    }
    if (errs.length) return meetingFail(errs);
    const decisions = (v.decisions ?? '').split('\n').map((x) => x.trim()).filter(Boolean);
    const who = st.current.item?.display ?? 'The person';
    await post(`/fhir/Appointment/${st.id}/$record-case`, parameters([
      { name: 'patient', valueReference: { reference: st.current.item.reference } },
      { name: 'summary', valueString: summary },
      ...decisions.map((d) => ({ name: 'decision', valueString: d })),
      ...actions,
      { name: 'outcome', valueCode: v.outcome === 'close' ? 'close' : 'continue' },
    ]));
    st.app.confirm(`${who}: discussion recorded${actions.length ? `, with ${actions.length === 1 ? '1 action' : `${actions.length} actions`}` : ''}.`);
    await loadAgenda(st);
    drawMeeting(st, { focus: 'current-case' });
  }));
}

// ---- the minutes -----------------------------------------------------------------

async function drawMinutes(st) {
  stopTimer(st);
  // the minutes come as Markdown (text, not JSON), drawn here line by line with every line escaped
  const res = await fetch(`/fhir/Appointment/${encodeURIComponent(st.id)}/$minutes?format=markdown`, { credentials: 'same-origin' });
  if (!res.ok) throw new ApiError(res.status, res.status === 404 ? 'The minutes of this meeting cannot be shown to you.' : `Kith answered ${res.status}`);
  const text = await res.text();
  mount(st.view, html`${heading(st, 'Minutes of the meeting')}
    ${insetText(html`<p>The meeting has finished. The summary of each discussion is in the person's record; each action is in its owner's worklist.</p>`)}
    <div class="kith-minutes" id="minutes">${markdownToHtml(text)}</div>
    <p class="nhsuk-body"><a href="/fhir/Appointment/${st.id}/$minutes?format=html" target="_blank" rel="noopener">Open the minutes to print or save (opens in a new tab)</a></p>`);
}
