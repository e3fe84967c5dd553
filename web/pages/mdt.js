// mdt.js — neighbourhood MDTs. #/mdt lists the MDTs I belong to with their
// next meeting; #/mdt/<CareTeam id> shows one MDT: its members, the current
// case list (the chair or coordinator finds cases, reorders, removes, adds,
// sets minutes per case, then accepts the list by planning the meeting), its
// meetings with their minutes, and its measures. See docs/mdt.md.
import { html, mount, href } from '../lib/html.js';
import { get, post, put, search, entries, parameters, ApiError } from '../lib/api.js';
import { pageHeading, errorSummary, table, tag, insetText, button, textInput, onSubmit, showError, select } from '../lib/ui.js';
import { showDate, showDateTime, refId, codeText, nhsNumber, nhsNumberValid, NHS_NUMBER_SYSTEM } from '../lib/fhir.js';
import { watchTables, CS, SD, MDT_CATEGORY, CASE_LIST_CODE, ext, leadRole, members, namesOf, memberName, ukTimeToInstant, ukToday } from '../lib/mdt.js';

export async function show(view, params, app) {
  view.classList.add('kith-mdt-page');
  watchTables(view);
  if (params[0]) return showMdt(view, params[0], app);
  return showMine(view, app);
}

const MEETING_STATUS = {
  booked: ['Planned', 'blue'], arrived: ['Under way', 'green'], fulfilled: ['Finished', 'grey'],
  cancelled: ['Cancelled', 'grey'], proposed: ['Proposed', 'blue'], pending: ['Planned', 'blue'],
};
const meetingTag = (a) => tag(...(MEETING_STATUS[a.status] ?? [a.status, 'grey']));

/** The meetings of an MDT, newest first. */
async function meetingsOf(teamId) {
  const b = await get('/fhir/Appointment', { 'supporting-info': `CareTeam/${teamId}`, _sort: '-date', _count: 50 });
  return entries(b, 'Appointment');
}

// ---- #/mdt ------------------------------------------------------------------------

async function showMine(view, app) {
  app.title('MDT meetings');
  const me = app.session.practitioner;
  if (!me) {
    mount(view, html`${pageHeading('MDT meetings')}${insetText(html`<p>Your account is not linked to a member of staff, so Kith cannot tell which MDTs you belong to.</p>`)}`);
    return;
  }
  const teams = entries(await get('/fhir/CareTeam', { category: MDT_CATEGORY, participant: `Practitioner/${me}`, _count: 50 }), 'CareTeam');
  const now = Date.now();
  const rows = await Promise.all(teams.map(async (t) => {
    const meetings = await meetingsOf(t.id).catch(() => []);
    const next = meetings.filter((a) => ['booked', 'arrived', 'pending', 'proposed'].includes(a.status))
      .sort((a, b) => String(a.start).localeCompare(String(b.start)))
      .find((a) => a.status === 'arrived' || Date.parse(a.end ?? a.start) >= now);
    const lead = leadRole(t, me);
    return [
      html`<a href="${href('mdt', t.id)}">${t.name ?? 'MDT'}</a>`,
      lead === 'chair' ? 'Chair' : lead === 'coordinator' ? 'Coordinator' : 'Member',
      next ? html`<a href="${href('meeting', next.id)}">${showDateTime(next.start)}</a> ${meetingTag(next)}` : 'None planned',
    ];
  }));
  mount(view, html`${pageHeading('MDT meetings')}
    <p class="nhsuk-body">The neighbourhood multidisciplinary teams you are a member of.</p>
    ${table('Your MDTs', ['MDT', 'Your part', 'Next meeting'], rows, { id: 'my-mdts', empty: 'You are not a member of any MDT.' })}`);
}

// ---- #/mdt/<id> -------------------------------------------------------------------

async function showMdt(view, teamId, app) {
  let team;
  try {
    team = await get(`/fhir/CareTeam/${encodeURIComponent(teamId)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      app.title('MDT not found');
      mount(view, html`${pageHeading('MDT not found')}<p class="nhsuk-body">There is no MDT at this address that you can see. <a href="#/mdt">See your MDTs</a>.</p>`);
      return;
    }
    throw e;
  }
  const isMdt = (team.category ?? []).some((c) => (c.coding ?? []).some((x) => x.system === `${CS}care-team-category` && x.code === 'mdt'));
  if (!isMdt) {
    app.title('Not an MDT');
    mount(view, html`${pageHeading('This care team is not an MDT')}<p class="nhsuk-body"><a href="#/mdt">See your MDTs</a>.</p>`);
    return;
  }
  app.title(team.name ?? 'MDT');
  const lead = leadRole(team, app.session.practitioner);
  const people = members(team);
  const [names, lists, meetings] = await Promise.all([
    namesOf(people.map((p) => p.ref).concat(people.map((p) => p.org?.reference))),
    get('/fhir/List', { code: CASE_LIST_CODE, _sort: '-date', _count: 50 }).then((b) => entries(b, 'List')
      .filter((l) => ext(l, 'mdt')?.valueReference?.reference === `CareTeam/${team.id}`)).catch(() => []),
    meetingsOf(team.id).catch(() => []),
  ]);
  const state = { team, lead, people, names, meetings, list: lists[0] ?? null, cases: new Map(), dirty: false, note: null };
  await loadCases(state);
  mount(view, html`${pageHeading(team.name ?? 'MDT', 'Neighbourhood MDT')}
    <div id="mdt-errors"></div>
    <div id="mdt-members"></div>
    <div id="mdt-cases"></div>
    <div id="mdt-plan"></div>
    <div id="mdt-meetings"></div>
    <div id="mdt-measures"></div>`);
  drawMembers(state);
  drawCases(state, app);
  drawPlan(state, app);
  drawMeetings(state);
  drawMeasures(state);
}

/** Read the case CareTeams of the current list (those the reader may see). */
async function loadCases(state) {
  const ids = (state.list?.entry ?? []).map((e) => refId(e.item)).filter((id) => id && !state.cases.has(id));
  for (let i = 0; i < ids.length; i += 50) {
    const b = await search('CareTeam', { _id: ids.slice(i, i + 50).join(','), _count: 50 }).catch(() => null);
    for (const t of entries(b, 'CareTeam')) state.cases.set(t.id, t);
  }
}

function drawMembers(state) {
  const { people, names } = state;
  mount(document.getElementById('mdt-members'), html`<h2 class="nhsuk-heading-m">Members</h2>
    ${table('Members of the MDT', ['Name', 'Role', 'Organisation'], people.map((p) => [
      html`${memberName(names, p.ref, p.display)}${p.lead ? html` ${tag(p.lead === 'chair' ? 'Chair' : 'Coordinator', 'blue')}` : ''}`,
      p.role || (p.ref.startsWith('Organization/') ? 'Organisation' : ''),
      p.org ? memberName(names, p.org.reference, p.org.display) : '',
    ]), { id: 'members', empty: 'This MDT has no members.' })}`);
}

const accepted = (list) => !!ext(list, 'accepted');
const meetingOfList = (state, list) => state.meetings.find((a) => (a.supportingInformation ?? []).some((s) => s.reference === `List/${list.id}`));

function caseLabel(state, entry) {
  const t = state.cases.get(refId(entry.item));
  return t?.subject?.display ?? 'A person you are not involved with';
}

function timeboxOf(entry) {
  return ext(entry, 'time-box')?.valueDuration?.value;
}

function drawCases(state, app) {
  const box = document.getElementById('mdt-cases');
  const { list, lead } = state;
  const editable = lead && list && !accepted(list);
  const finder = lead ? html`<details class="nhsuk-details" id="finder-details">
      <summary class="nhsuk-details__summary"><span class="nhsuk-details__summary-text">Change the rules for finding cases</span></summary>
      <div class="nhsuk-details__text">
        ${select({ id: 'rule-frailty', label: 'Frailty at least', value: 'severe', options: [['severe', 'Severe'], ['moderate', 'Moderate'], ['mild', 'Mild'], ['fit', 'Any (fit or worse)']] })}
        ${textInput({ id: 'rule-admissions', label: 'Emergency admissions at least', value: '2', width: 3, inputmode: 'numeric' })}
        ${textInput({ id: 'rule-months', label: 'In the last (months)', value: '6', width: 3, inputmode: 'numeric' })}
        ${textInput({ id: 'rule-risk', label: 'Or a risk of emergency admission of at least (per cent, optional)', width: 3, inputmode: 'numeric' })}
        ${textInput({ id: 'rule-max', label: 'Most people on the list', value: '20', width: 3, inputmode: 'numeric' })}
      </div></details>` : '';
  const entriesTable = !list ? html`<p class="nhsuk-body" id="case-list">There is no case list yet.</p>` : html`
    <p class="nhsuk-body">${list.title ?? 'Case list'}. ${accepted(list)
      ? html`${tag('Accepted', 'green')}` : html`${tag('Not accepted yet', 'yellow')}`}</p>
    ${ext(list, 'case-finding-rules') ? html`<p class="nhsuk-body-s">Rules: ${ext(list, 'case-finding-rules').valueString}.</p>` : ''}
    ${table('People on the case list, in the order they will be discussed',
    ['Order', 'Person', 'Why', 'Minutes', ...(editable ? ['Change'] : [])],
    (list.entry ?? []).map((e, i) => {
      const name = caseLabel(state, e);
      const pid = refId(state.cases.get(refId(e.item))?.subject);
      const why = codeText(state.cases.get(refId(e.item))?.reasonCode);
      const flag = (e.flag?.coding ?? [])[0]?.code;
      const tb = timeboxOf(e);
      return [
        String(i + 1),
        html`${pid ? html`<a href="${href('person', pid)}">${name}</a>` : name}${flag === 'review' ? html` ${tag('Discussed before', 'grey')}` : flag === 'new' ? html` ${tag('New', 'blue')}` : ''}`,
        why,
        editable ? html`<label class="nhsuk-u-visually-hidden" for="tb-${i}">Minutes for ${name}</label>
          <input class="nhsuk-input nhsuk-input--width-3 kith-timebox-input" id="tb-${i}" data-index="${i}" type="text" inputmode="numeric" value="${tb ?? ''}" autocomplete="off">`
          : (tb === undefined ? 'Usual' : tb === 0 ? 'Next meeting' : `${tb}`),
        ...(editable ? [html`<div class="kith-case-buttons">
          <button type="button" class="nhsuk-button nhsuk-button--secondary kith-small-button" data-move="up" data-index="${i}"${i === 0 ? html` disabled` : ''}>Up<span class="nhsuk-u-visually-hidden">: move ${name} up</span></button>
          <button type="button" class="nhsuk-button nhsuk-button--secondary kith-small-button" data-move="down" data-index="${i}"${i === list.entry.length - 1 ? html` disabled` : ''}>Down<span class="nhsuk-u-visually-hidden">: move ${name} down</span></button>
          <button type="button" class="nhsuk-button nhsuk-button--warning kith-small-button" data-remove="${i}">Remove<span class="nhsuk-u-visually-hidden"> ${name}</span></button>
        </div>`] : []),
      ];
    }), { id: 'case-list', empty: 'Nobody is on this case list.' })}
    ${editable ? html`<p class="nhsuk-hint">Minutes: leave blank for the usual time (10 minutes, 5 for someone discussed before); 0 keeps the person for the next meeting.</p>
      <p class="nhsuk-body" id="list-state" role="status">${state.dirty ? 'You have changes that are not saved yet.' : ''}</p>
      ${button('Save the case list', { id: 'save-list', type: 'button', secondary: true })}` : ''}`;
  const adder = editable ? html`<form id="add-case" novalidate>
      <h3 class="nhsuk-heading-s">Add someone the rules did not find</h3>
      <div class="kith-filters">
        ${textInput({ id: 'add-nhs', label: 'NHS number', width: 10, inputmode: 'numeric', autocomplete: 'off' })}
        ${textInput({ id: 'add-reason', label: 'Why they should be discussed', width: 20, autocomplete: 'off' })}
      </div>
      ${button('Add to the case list', { secondary: true })}
    </form>` : '';
  mount(box, html`<h2 class="nhsuk-heading-m" id="case-list-heading" tabindex="-1">Case list</h2>
    ${state.note ? insetText(html`<p>${state.note}</p>`) : ''}
    ${lead ? html`<form id="find-cases" novalidate>${finder}${button(list ? 'Find cases again' : 'Find cases', { secondary: !!list })}</form>`
      : html`<p class="nhsuk-body">Only the chair or coordinator of the MDT can find cases and plan meetings.</p>`}
    ${entriesTable}
    ${adder}`);
  if (!lead) return;
  onSubmit(document.getElementById('find-cases'), async (v) => {
    const p = [];
    const errs = [];
    const int = (id, name, min, max) => {
      const raw = (v[id] ?? '').trim();
      if (raw === '') return;
      if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) errs.push({ field: id, text: `Enter a whole number from ${min} to ${max}` });
      else p.push({ name, valueInteger: Number(raw) });
    };
    if (v['rule-frailty'] && v['rule-frailty'] !== 'severe') p.push({ name: 'frailty', valueCode: v['rule-frailty'] });
    if (v['rule-admissions'] !== '2') int('rule-admissions', 'admissions', 0, 50);
    if (v['rule-months'] !== '6') int('rule-months', 'months', 1, 60);
    if (v['rule-max'] !== '20') int('rule-max', 'max-cases', 1, 100);
    const risk = (v['rule-risk'] ?? '').trim();
    if (risk) {
      if (!/^\d+(\.\d+)?$/.test(risk) || Number(risk) > 100) errs.push({ field: 'rule-risk', text: 'Enter a risk from 0 to 100 per cent' });
      else p.push({ name: 'admission-risk', valueDecimal: Number(risk) / 100 });
    }
    if (errs.length) {
      document.getElementById('finder-details').open = true;
      return fail(errs);
    }
    const b = await post(`/fhir/CareTeam/${state.team.id}/$find-cases`, parameters(p));
    state.list = entries(b, 'List')[0];
    for (const t of entries(b, 'CareTeam')) state.cases.set(t.id, t);
    state.dirty = false;
    const n = state.list.entry?.length ?? 0;
    state.note = `Kith found ${n === 1 ? '1 person who meets' : `${n} people who meet`} the rules. Check the list, change it if you need to, then accept it by planning the meeting.`;
    clearErrors();
    drawCases(state, app);
    drawPlan(state, app);
    document.getElementById('case-list-heading').focus();
  });
  if (!editable) return;
  const redraw = (focusSel) => {
    drawCases(state, app);
    const el = focusSel && document.querySelector(focusSel);
    (el && !el.disabled ? el : document.getElementById('case-list-heading')).focus();
  };
  box.querySelectorAll('.kith-timebox-input').forEach((inp) => inp.addEventListener('change', () => {
    const e = state.list.entry[Number(inp.dataset.index)];
    const raw = inp.value.trim();
    e.extension = (e.extension ?? []).filter((x) => x.url !== `${SD}time-box`);
    if (/^\d+$/.test(raw)) e.extension.push({ url: `${SD}time-box`, valueDuration: { value: Number(raw), unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' } });
    if (!e.extension.length) delete e.extension;
    state.dirty = true;
    document.getElementById('list-state').textContent = 'You have changes that are not saved yet.';
  }));
  box.querySelectorAll('[data-move]').forEach((b) => b.addEventListener('click', () => {
    const i = Number(b.dataset.index), j = b.dataset.move === 'up' ? i - 1 : i + 1;
    const list = state.list.entry;
    [list[i], list[j]] = [list[j], list[i]];
    state.dirty = true;
    redraw(`[data-move="${b.dataset.move}"][data-index="${j}"]`);
  }));
  box.querySelectorAll('[data-remove]').forEach((b) => b.addEventListener('click', () => {
    const i = Number(b.dataset.remove);
    const name = caseLabel(state, state.list.entry[i]);
    state.list.entry.splice(i, 1);
    state.dirty = true;
    state.note = `${name} taken off the list. Save the case list to keep this.`;
    redraw(null);
  }));
  document.getElementById('save-list').addEventListener('click', async () => {
    try {
      await saveList(state);
      state.note = 'The case list is saved.';
      redraw(null);
    } catch (e) { showError(e); }
  });
  onSubmit(document.getElementById('add-case'), async (v) => {
    const digits = (v['add-nhs'] ?? '').replace(/[\s-]/g, '');
    const errs = [];
    if (!nhsNumberValid(digits)) errs.push({ field: 'add-nhs', text: 'Enter a valid NHS number of 10 digits' });
    if (!(v['add-reason'] ?? '').trim()) errs.push({ field: 'add-reason', text: 'Say why they should be discussed' });
    if (errs.length) return fail(errs);
    const found = entries(await search('Patient', { identifier: `${NHS_NUMBER_SYSTEM}|${digits}` }), 'Patient')
      .filter((p) => nhsNumber(p) === digits);
    if (found.length !== 1) return fail([{ field: 'add-nhs', text: 'Kith cannot find a person you may add with this NHS number' }]);
    if (state.dirty) await saveList(state);
    try {
      const b = await post(`/fhir/CareTeam/${state.team.id}/$add-case`, parameters([
        { name: 'list', valueReference: { reference: `List/${state.list.id}` } },
        { name: 'patient', valueReference: { reference: `Patient/${found[0].id}` } },
        { name: 'reason', valueString: v['add-reason'].trim() },
      ]));
      state.list = entries(b, 'List')[0];
      for (const t of entries(b, 'CareTeam')) state.cases.set(t.id, t);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 409)) return fail([{ field: 'add-nhs', text: e.message }]);
      throw e;
    }
    state.note = 'Added to the end of the case list.';
    clearErrors();
    redraw(null);
  });
}

async function saveList(state) {
  const body = { ...state.list };
  delete body.meta;
  if (!body.entry?.length) {
    delete body.entry;
    body.emptyReason = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: 'nilknown' }] };
  } else delete body.emptyReason;
  state.list = await put(`/fhir/List/${state.list.id}`, body);
  state.dirty = false;
}

function fail(list) {
  const box = document.getElementById('mdt-errors');
  mount(box, errorSummary(list));
  box.querySelector('.nhsuk-error-summary')?.focus();
}
function clearErrors() { mount(document.getElementById('mdt-errors'), html``); }

function drawPlan(state, app) {
  const box = document.getElementById('mdt-plan');
  const { list, lead } = state;
  if (!list) { mount(box, html``); return; }
  if (accepted(list)) {
    const m = meetingOfList(state, list);
    mount(box, html`${insetText(html`<p>This case list was accepted${m ? ` for the meeting on ${showDateTime(m.start)}` : ''}.</p>
      ${m ? html`<p><a href="${href('meeting', m.id)}" id="open-planned">Open the meeting</a></p>` : ''}`)}`);
    return;
  }
  if (!lead) { mount(box, html``); return; }
  if (!list.entry?.length) {
    mount(box, html`<p class="nhsuk-body">Add people to the case list, or find cases with other rules, before planning a meeting.</p>`);
    return;
  }
  mount(box, html`<h2 class="nhsuk-heading-m">Accept the list and plan the meeting</h2>
    <form id="plan-meeting" novalidate>
      <div class="kith-filters">
        ${textInput({ id: 'plan-date', label: 'Date', type: 'date', value: ukToday() })}
        ${textInput({ id: 'plan-time', label: 'Start time (UK time)', type: 'time', value: '13:00' })}
        ${textInput({ id: 'plan-minutes', label: 'How long (minutes)', value: '60', width: 3, inputmode: 'numeric' })}
      </div>
      ${textInput({ id: 'plan-where', label: 'Where (optional)', hint: 'For example, Health Hub room 2, and on Teams', width: 30 })}
      ${button('Accept the list and plan the meeting')}
    </form>`);
  onSubmit(document.getElementById('plan-meeting'), async (v) => {
    const start = ukTimeToInstant(v['plan-date'], v['plan-time']);
    const errs = [];
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v['plan-date'] ?? '')) errs.push({ field: 'plan-date', text: 'Enter the date of the meeting' });
    else if (!start) errs.push({ field: 'plan-time', text: 'Enter the start time, for example 13:00' });
    const mins = Number(v['plan-minutes']);
    if (!/^\d+$/.test(v['plan-minutes'] ?? '') || mins < 15 || mins > 480) errs.push({ field: 'plan-minutes', text: 'Enter how long the meeting lasts, from 15 to 480 minutes' });
    if (errs.length) return fail(errs);
    if (state.dirty) await saveList(state);
    const b = await post(`/fhir/CareTeam/${state.team.id}/$plan-meeting`, parameters([
      { name: 'list', valueReference: { reference: `List/${state.list.id}` } },
      { name: 'start', valueDateTime: start },
      { name: 'minutes', valueInteger: mins },
      (v['plan-where'] ?? '').trim() ? { name: 'description', valueString: v['plan-where'].trim() } : null,
    ]));
    const appt = entries(b, 'Appointment')[0];
    state.list = entries(b, 'List')[0] ?? state.list;
    for (const t of entries(b, 'CareTeam')) state.cases.set(t.id, t);
    state.meetings = [appt, ...state.meetings];
    state.note = null;
    clearErrors();
    app.confirm('The case list is accepted and the meeting is planned. Everyone in the MDT can now see the people on the list.');
    drawCases(state, app);
    drawPlan(state, app);
    drawMeetings(state);
    document.getElementById('open-planned')?.focus();
  });
}

function drawMeetings(state) {
  const now = Date.now();
  const upcoming = state.meetings.filter((a) => a.status !== 'fulfilled' && a.status !== 'cancelled' && (a.status === 'arrived' || Date.parse(a.end ?? a.start) >= now))
    .sort((a, b) => String(a.start).localeCompare(String(b.start)));
  const past = state.meetings.filter((a) => !upcoming.includes(a));
  const row = (a) => [
    showDateTime(a.start), a.minutesDuration ? `${a.minutesDuration} minutes` : '', meetingTag(a),
    a.status === 'fulfilled' ? html`<a href="${href('meeting', a.id)}">Read the minutes<span class="nhsuk-u-visually-hidden"> of ${showDate(a.start)}</span></a>`
      : a.status === 'cancelled' ? '' : html`<a href="${href('meeting', a.id)}">${state.lead ? 'Open meeting mode' : 'See the agenda'}<span class="nhsuk-u-visually-hidden"> for ${showDate(a.start)}</span></a>`,
  ];
  mount(document.getElementById('mdt-meetings'), html`<h2 class="nhsuk-heading-m">Meetings</h2>
    <h3 class="nhsuk-heading-s">Coming up</h3>
    ${table('Meetings coming up', ['When', 'Length', 'State', 'Open'], upcoming.map(row), { id: 'meetings-upcoming', empty: 'No meetings planned.' })}
    <h3 class="nhsuk-heading-s">Past meetings</h3>
    ${table('Past meetings and their minutes', ['When', 'Length', 'State', 'Minutes'], past.map(row), { id: 'meetings-past', empty: 'No past meetings.' })}`);
}

const MEASURE_UNITS = {
  meetings: (v) => `${v}`, 'cases-discussed': (v) => `${v}`, 'cases-per-hour': (v) => `${v} per hour`,
  'days-to-discussion': (v) => `${v} days`, 'actions-on-time': (v) => `${v}%`, 'repeat-discussions': (v) => `${v}%`,
  'admissions-before': (v) => `${v} per 100 people`, 'admissions-after': (v) => `${v} per 100 people`, 'deaths-after': (v) => `${v}%`,
};
const POPULATION_WORDS = {
  'initial-population': 'all', numerator: 'counted', denominator: 'out of', 'measure-population': 'people',
  'denominator-exclusion': 'left out',
};

async function drawMeasures(state) {
  const box = document.getElementById('mdt-measures');
  mount(box, html`<h2 class="nhsuk-heading-m">Measures</h2><p class="nhsuk-body kith-measures-loading">Working out the measures…</p>`);
  let report;
  try {
    report = await get(`/fhir/CareTeam/${state.team.id}/$mdt-measures`);
  } catch (e) {
    mount(box, html`<h2 class="nhsuk-heading-m">Measures</h2><p class="nhsuk-body">The measures could not be worked out: ${e.message}</p>`);
    return;
  }
  if (!document.body.contains(box)) return;
  const rows = (report.group ?? []).map((g) => {
    const code = g.code?.coding?.[0]?.code;
    const v = g.measureScore?.value;
    return [
      g.code?.coding?.[0]?.display ?? codeText(g.code),
      v === undefined ? 'Nothing to count yet' : (MEASURE_UNITS[code] ?? String)(v),
      (g.population ?? []).map((p) => `${POPULATION_WORDS[p.code?.coding?.[0]?.code] ?? p.code?.coding?.[0]?.code}: ${p.count}`).join(', '),
    ];
  });
  mount(box, html`<h2 class="nhsuk-heading-m">Measures</h2>
    <p class="nhsuk-body">From ${showDate(report.period?.start)} to ${showDate(report.period?.end)}. These are counts for the whole MDT; people are usually found because they were admitted recently, so admissions tend to fall afterwards even without the MDT.</p>
    ${table('How the MDT is doing', ['Measure', 'Result', 'Counts'], rows, { id: 'measures', empty: 'No measures.' })}`);
}
