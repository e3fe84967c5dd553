// referral.js — one referral (its Task and ServiceRequest): who, to which
// service, why, how urgent, who owns it now, the response clock and its
// history ($timeline). The receiving team moves it on (accept, decline, hold,
// start, complete, reassign) by PUT of the whole Task with If-Match of the
// version shown, so a change someone else made meanwhile is never overwritten
// (412: the latest is shown instead). Address: #/referral/<TaskId>.
import { html, mount, href } from '../lib/html.js';
import { request, get, entries } from '../lib/api.js';
import { pageHeading, errorSummary, summaryList, tag, table, button, insetText } from '../lib/ui.js';
import { personName, nhsNumber, formatNhsNumber, ageOn, showDateTime, codeText, refId, extensionValue, TASK_STATUS } from '../lib/fhir.js';
import { statusTag, dueOf, isOverdue } from '../lib/tasks.js';
import { namesOf, refName, priorityWords, targetFor, dutyContactHtml } from '../lib/services.js';

/** The moves Kith's Task state machine allows (docs/care-coordination.md). */
const MOVES = {
  draft: ['requested', 'cancelled'],
  requested: ['received', 'accepted', 'rejected', 'cancelled'],
  received: ['accepted', 'rejected', 'cancelled'],
  accepted: ['in-progress', 'on-hold', 'completed', 'cancelled'],
  'in-progress': ['on-hold', 'completed', 'failed', 'cancelled'],
  'on-hold': ['in-progress', 'completed', 'failed', 'cancelled'],
};
const OPEN = Object.keys(MOVES);

/** Buttons that need no more than a click: [to, words, confirmation]. */
const SIMPLE = [
  ['accepted', 'Accept referral', 'Referral accepted'],
  ['in-progress', 'Start work', 'Work started'],
  ['completed', 'Complete referral', 'Referral completed'],
];

const REF_RE = /\b(?:Organization|Practitioner|HealthcareService)\/[A-Za-z0-9\-.]{1,64}\b/g;

function span(ms) {
  const min = Math.round(ms / 60000);
  const d = Math.floor(min / 1440), h = Math.floor((min % 1440) / 60), m = min % 60;
  const p = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (d) return h ? `${p(d, 'day')} ${p(h, 'hour')}` : p(d, 'day');
  if (h) return m ? `${p(h, 'hour')} ${p(m, 'minute')}` : p(h, 'hour');
  return p(m, 'minute');
}

/** The history line in staff words. */
function eventWords(text, names) {
  const named = (t) => t.replace(REF_RE, (r) => refName(r, names));
  let m = /^Status (\S*) -> (\S+)(?:: (.*))?$/s.exec(text);
  if (m) return `${TASK_STATUS[m[2]] ?? m[2]}${m[3] ? `: ${m[3]}` : ''}`;
  m = /^Referral (\S+); owner (.*)$/.exec(text);
  if (m) return `Referral ${m[1] === 'requested' ? 'sent' : (TASK_STATUS[m[1]] ?? m[1]).toLowerCase()} to ${named(m[2])}`;
  m = /^Request made/.exec(text);
  if (m) return 'Referral made';
  return named(text);
}

function whoWords(display) {
  if (!display) return 'Kith';
  const m = /^(user|client)\/(.*)$/.exec(display);
  return m ? (m[1] === 'user' ? m[2] : `System: ${m[2]}`) : display;
}

const fresh = async (path) => (await request('GET', path)).json;

async function load(id) {
  const r = await request('GET', `/fhir/Task/${encodeURIComponent(id)}`);
  const task = r.json;
  const etag = r.headers.get('ETag') ?? `W/"${task.meta?.versionId}"`;
  const srRef = task.focus?.reference?.startsWith('ServiceRequest/') ? task.focus.reference : null;
  const pid = refId(task.for);
  const [sr, patient, timeline] = await Promise.all([
    srRef ? fresh(`/fhir/${srRef}`).catch(() => null) : null,
    pid ? get(`/fhir/Patient/${encodeURIComponent(pid)}`).catch(() => null) : null,
    fresh(`/fhir/Task/${encodeURIComponent(id)}/$timeline`).catch(() => null),
  ]);
  const hsRef = (sr?.performer ?? []).map((p) => p.reference).find((x) => x?.startsWith('HealthcareService/'));
  const hs = hsRef ? await get(`/fhir/${hsRef}`).catch(() => null) : null;
  const owner = task.owner?.reference ?? '';
  const team = hs?.providedBy?.reference ?? (owner.startsWith('Organization/') ? owner : null);
  const roles = team ? await get('/fhir/PractitionerRole', { organization: team, _count: 100 })
    .then((b) => entries(b, 'PractitionerRole').filter((x) => x.active !== false && x.practitioner?.reference)).catch(() => []) : [];
  const events = entries(timeline, 'List')[0]?.entry ?? [];
  // who made each version: its changed-by stamp (a Practitioner) when there is one
  const madeBy = new Map();
  for (const v of entries(timeline).filter((x) => x.resourceType !== 'List')) {
    const by = (v.meta?.extension ?? []).find((e) => e.url.endsWith('/changed-by'))?.valueReference?.reference;
    if (by) madeBy.set(`${v.resourceType}/${v.id}/_history/${v.meta?.versionId}`, by);
  }
  const refs = [owner, team, task.requester?.reference, sr?.requester?.reference,
    ...roles.map((x) => x.practitioner.reference), ...madeBy.values(), ...events.flatMap((e) => e.flag?.text?.match(REF_RE) ?? [])].filter(Boolean);
  const names = await namesOf(refs);
  for (const role of roles) if (role.practitioner.display) names.set(role.practitioner.reference, names.get(role.practitioner.reference) ?? role.practitioner.display);
  return { task, etag, sr, patient, hs, team, roles, events, names, madeBy };
}

export async function show(view, params, app) {
  const id = params[0];
  if (!id) {
    app.title('Referral');
    mount(view, html`${pageHeading('Referral')}<p class="nhsuk-body">Open a referral from <a href="#/">your worklist</a>.</p>`);
    return;
  }
  let data = await load(id);
  const s = app.session;
  const notice = () => document.getElementById('kith-notice');

  function canAct(d) {
    const me = s.practitioner ? `Practitioner/${s.practitioner}` : null;
    const myOrg = s.organization ? `Organization/${s.organization}` : null;
    return (myOrg && (d.team === myOrg || d.task.owner?.reference === myOrg)) || (me && d.task.owner?.reference === me) ||
      (me && d.roles.some((r) => r.practitioner.reference === me));
  }

  function clock(d) {
    const t = d.task;
    const due = dueOf(t);
    const responded = extensionValue(t, 'responded');
    const target = d.hs ? targetFor(d.hs, t.priority ?? 'routine') : '';
    const rule = target ? html`<br><span class="nhsuk-body-s">${priorityWords(t.priority)} referrals: answered within ${target}, counted while the service is open</span>` : '';
    if (responded) {
      const was = extensionValue(t, 'response-due');
      const late = t.businessStatus?.coding?.some((c) => c.code === 'responded-late');
      return html`<span id="clock">Answered ${showDateTime(responded)}${was ? `, due ${showDateTime(was)}` : ''}: ${late ? tag('Late', 'orange') : tag('In time', 'green')}</span>${rule}`;
    }
    if (!due) return html`<span id="clock">No due date</span>`;
    if (!OPEN.includes(t.status)) return html`<span id="clock">Was due ${showDateTime(due)}</span>`;
    const left = new Date(due).getTime() - Date.now();
    return html`<span id="clock">${showDateTime(due)}: ${left >= 0 ? html`<strong>${span(left)} left</strong>`
      : html`<strong class="kith-overdue">overdue by ${span(-left)}</strong>`}</span>${rule}`;
  }

  function ownerChoices(d) {
    const current = d.task.owner?.reference;
    const seen = new Set();
    const people = d.roles.filter((r) => {
      const p = r.practitioner.reference;
      if (p === current || seen.has(p)) return false;
      seen.add(p);
      return true;
    }).map((r) => [r.practitioner.reference, `${refName(r.practitioner, d.names)}${codeText(r.code) ? ` (${codeText(r.code).toLowerCase()})` : ''}`])
      .sort((a, b) => a[1].localeCompare(b[1]));
    const teamChoice = d.team && d.team !== current ? [[d.team, `${refName(d.team, d.names)} (the whole team)`]] : [];
    return [...teamChoice, ...people];
  }

  function reasonForm(kind, summary, label, hint, buttonText, warning) {
    return html`<details class="nhsuk-details" id="${kind}-details">
      <summary class="nhsuk-details__summary"><span class="nhsuk-details__summary-text">${summary}</span></summary>
      <div class="nhsuk-details__text">
        <form id="${kind}-form" novalidate>
          <div class="nhsuk-form-group" id="${kind}-group">
            <label class="nhsuk-label" for="${kind}-reason">${label}</label>
            <div class="nhsuk-hint" id="${kind}-reason-hint">${hint}</div>
            <span class="nhsuk-error-message" id="${kind}-reason-error" hidden></span>
            <textarea class="nhsuk-textarea" id="${kind}-reason" name="reason" rows="3" aria-describedby="${kind}-reason-hint"></textarea>
          </div>
          ${button(buttonText, { id: `${kind}-button`, warning })}
        </form>
      </div></details>`;
  }

  function actions(d) {
    const t = d.task;
    const moves = MOVES[t.status] ?? [];
    if (!moves.length) return html`<p class="nhsuk-body" id="closed">This referral is closed: nothing more can be done with it.</p>
      ${d.gone ? insetText(html`<p>Now that it is closed, your team no longer shares this person's record through it, so its history is not shown. <a href="#/">Back to your worklist</a>.</p>`) : ''}`;
    const me = s.practitioner ? `Practitioner/${s.practitioner}` : null;
    if (!canAct(d)) {
      const mine = me && [t.requester?.reference, d.sr?.requester?.reference].includes(me);
      return html`${insetText(html`<p>Only ${refName(d.team ?? t.owner, d.names)} can accept or move this referral on.</p>`)}
        ${mine ? html`<form id="cancel-form" novalidate>${button('Cancel this referral', { id: 'cancel-button', secondary: true })}</form>` : ''}`;
    }
    const choices = ownerChoices(d);
    return html`<div id="action-errors"></div>
      <div class="kith-actions" id="moves">
        ${SIMPLE.filter(([to]) => moves.includes(to)).map(([to, words]) => button(words, { type: 'button', name: 'move', value: to, secondary: to !== 'accepted' && to !== 'completed' }))}
        ${t.status === 'on-hold' ? button('Take off hold', { type: 'button', name: 'move', value: 'in-progress', secondary: true }) : ''}
      </div>
      ${moves.includes('rejected') ? reasonForm('decline', 'Decline this referral', 'Why are you declining it?', 'The person who referred will see this. Say who could help instead if you know.', 'Decline referral', true) : ''}
      ${moves.includes('on-hold') && t.status !== 'on-hold' ? reasonForm('hold', 'Put this referral on hold', 'Why is it on hold?', 'For example: waiting for the person to come home from hospital', 'Put on hold', false) : ''}
      ${choices.length ? html`<details class="nhsuk-details" id="reassign-details">
        <summary class="nhsuk-details__summary"><span class="nhsuk-details__summary-text">Reassign to someone else</span></summary>
        <div class="nhsuk-details__text"><form id="reassign-form" novalidate>
          <div class="nhsuk-form-group">
            <label class="nhsuk-label" for="new-owner">Give it to</label>
            <div class="nhsuk-hint" id="new-owner-hint">A colleague in ${refName(d.team, d.names)}, or the whole team's worklist</div>
            <select class="nhsuk-select kith-select-wide" id="new-owner" name="owner" aria-describedby="new-owner-hint">
              ${choices.map(([v, w]) => html`<option value="${v}">${w}</option>`)}
            </select>
          </div>
          ${button('Reassign', { id: 'reassign-button' })}
        </form></div></details>` : ''}`;
  }

  function draw(d, conflict) {
    const t = d.task;
    const p = d.patient;
    const pid = refId(t.for);
    const service = d.hs?.name ?? d.sr?.performer?.[0]?.display ?? 'a service';
    const nhs = nhsNumber(p);
    const age = ageOn(p?.birthDate);
    app.title(`Referral to ${service}`);
    const requester = t.requester ?? d.sr?.requester;
    const history = [...d.events].reverse();
    mount(view, html`${pageHeading(`Referral to ${service}`, p ? personName(p) : 'Referral')}
      ${conflict ? html`<div class="nhsuk-notification-banner" role="region" aria-labelledby="conflict-title" id="conflict" tabindex="-1">
        <div class="nhsuk-notification-banner__header"><h2 class="nhsuk-notification-banner__title" id="conflict-title">Important</h2></div>
        <div class="nhsuk-notification-banner__content">
          <p class="nhsuk-notification-banner__heading">Someone else changed this referral while you had it open</p>
          <p class="nhsuk-body">Here is the latest. Nothing you did was saved: check it and try again if it still needs doing.</p>
        </div></div>` : ''}
      <p class="nhsuk-body" id="status">${statusTag(t)}${isOverdue(t) ? html` ${tag(TASK_STATUS[t.status] ?? t.status, 'blue')}` : ''}</p>
      <div class="nhsuk-grid-row"><div class="nhsuk-grid-column-two-thirds">
      ${summaryList([
        ['Person', p ? html`<a href="${href('person', pid)}">${personName(p)}</a><br>NHS number ${nhs ? formatNhsNumber(nhs) : 'not recorded'}${age !== null ? `, aged ${age}` : ''}` : `Person ${pid ?? ''}`],
        ['Service', d.hs ? html`<a href="${href('directory', d.hs.id)}">${d.hs.name}</a>` : service],
        ['Priority', priorityWords(t.priority ?? d.sr?.priority)],
        ['Reason', codeText(d.sr?.reasonCode) || t.description || ''],
        (d.sr?.note ?? []).length ? ['Note', html`${d.sr.note.map((n, i) => html`${i ? html`<br>` : ''}${n.text}`)}`] : null,
        ['Referred by', html`${requester ? refName(requester, d.names) : 'Not recorded'}${t.authoredOn ? html`<br>${showDateTime(t.authoredOn)}` : ''}`],
        ['Status', html`${TASK_STATUS[t.status] ?? t.status}${t.statusReason ? html`: ${codeText(t.statusReason)}` : ''}`],
        ['Answer due', clock(d)],
        ['Owner', html`<span id="owner">${t.owner ? refName(t.owner, d.names) : 'Nobody'}</span>`],
      ])}
      <h2 class="nhsuk-heading-m">What you can do</h2>
      <div id="actions">${actions(d)}</div>
      ${d.hs && dutyContactHtml(d.hs) ? html`<h2 class="nhsuk-heading-m">Duty contact for ${d.hs.name}</h2><div class="kith-duty">${dutyContactHtml(d.hs)}</div>` : ''}
      </div></div>
      ${d.gone ? '' : html`<h2 class="nhsuk-heading-m">History</h2>
      ${table('What happened to this referral, newest first', ['When', 'What happened', 'Who'], history.map((e) => [
        showDateTime(e.date), eventWords(e.flag?.text ?? '', d.names),
        d.names.get(d.madeBy.get(e.item?.reference)) ?? whoWords(e.item?.display),
      ]), { empty: 'No history recorded.', id: 'history' })}`}`);
    wire(d);
    if (conflict) view.querySelector('#conflict').focus();
  }

  function fail(messages) {
    const box = view.querySelector('#action-errors') ?? notice();
    mount(box, errorSummary(messages));
    box.querySelector('.nhsuk-error-summary')?.focus();
  }

  async function change(mutate, done) {
    mount(notice(), html``);
    const body = structuredClone(data.task);
    mutate(body);
    for (const b of view.querySelectorAll('#actions button')) b.disabled = true;
    let saved;
    try {
      saved = (await request('PUT', `/fhir/Task/${encodeURIComponent(id)}`, { body, headers: { 'If-Match': data.etag } })).json;
    } catch (e) {
      if (e.status === 412) {
        data = await load(id);
        draw(data, true);
        return;
      }
      for (const b of view.querySelectorAll('#actions button')) b.disabled = false;
      if (e.status === 409) fail([`This cannot be done now: ${e.message}. Reload the page to see the latest.`]);
      else fail([e.message]);
      return;
    }
    try {
      data = await load(id);
      draw(data, false);
    } catch (e) {
      // a closed referral no longer shares the person's record with the team
      if (e.status !== 404 && e.status !== 403) throw e;
      data = { ...data, task: saved ?? body, gone: true };
      draw(data, false);
    }
    app.confirm(done);
    view.querySelector('h1').focus();
  }

  function move(to, reason) {
    return (t) => {
      t.status = to;
      if (reason) t.statusReason = { text: reason };
      else delete t.statusReason;
    };
  }

  function wire(d) {
    view.querySelector('#moves')?.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[name=move]');
      if (!b) return;
      const to = b.value;
      const words = SIMPLE.find(([x]) => x === to)?.[2] ?? 'Work restarted';
      change(move(to), words);
    });
    for (const [kind, to, words, missing] of [
      ['decline', 'rejected', 'Referral declined', 'Say why you are declining the referral'],
      ['hold', 'on-hold', 'Referral put on hold', 'Say why the referral is on hold'],
    ]) {
      const form = view.querySelector(`#${kind}-form`);
      form?.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const reason = form.querySelector('textarea').value.trim();
        const group = form.querySelector(`#${kind}-group`);
        const msg = form.querySelector(`#${kind}-reason-error`);
        const area = form.querySelector('textarea');
        if (!reason) {
          group.classList.add('nhsuk-form-group--error');
          area.classList.add('nhsuk-textarea--error');
          msg.textContent = missing;
          msg.hidden = false;
          area.setAttribute('aria-describedby', `${kind}-reason-hint ${kind}-reason-error`);
          fail([{ field: `${kind}-reason`, text: missing }]);
          return;
        }
        change(move(to, reason), words);
      });
    }
    const reassign = view.querySelector('#reassign-form');
    reassign?.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const to = reassign.querySelector('select').value;
      const name = refName(to, d.names);
      change((t) => { t.owner = { reference: to, display: name }; }, `Referral reassigned to ${name}`);
    });
    view.querySelector('#cancel-form')?.addEventListener('submit', (ev) => {
      ev.preventDefault();
      change(move('cancelled'), 'Referral cancelled');
    });
  }

  draw(data, false);
}
