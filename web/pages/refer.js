// refer.js — make a referral for one person: find a service by need or words
// (HealthcareService/$find with the person's age and postcode district, so each
// service says whether they fit and why), fill the form the service needs, and
// send it (ServiceRequest/$refer). Address: #/refer/<PatientId>[/<HealthcareServiceId>].
import { html, mount, href } from '../lib/html.js';
import { get, post, entries, parameters } from '../lib/api.js';
import { pageHeading, errorSummary, textInput, select, button, summaryList, warningCallout, insetText, backLink, formValues } from '../lib/ui.js';
import { personName, nhsNumber, formatNhsNumber, ageOn, showDateTime } from '../lib/fhir.js';
import {
  allServices, needOptions, needWords, eligibilityOf, responseTargets, targetFor, priorityWords, PRIORITIES, dutyContactHtml,
  howToRefer, askedFields, postcodeDistrict, sectorOf, namesOf, refName,
} from '../lib/services.js';

export async function show(view, params, app) {
  const pid = params[0];
  app.title('Make a referral');
  if (!pid) {
    mount(view, html`${pageHeading('Make a referral')}
      <p class="nhsuk-body">A referral is always for one person. <a href="#/find">Find the person</a> first, then make the referral from their record.</p>`);
    return;
  }
  const [patient, all] = await Promise.all([get(`/fhir/Patient/${encodeURIComponent(pid)}`), allServices()]);
  app.rememberPerson(pid);
  const age = ageOn(patient.birthDate);
  const home = (patient.address ?? []).find((a) => a.use === 'home') ?? patient.address?.[0];
  const district = postcodeDistrict(home?.postalCode);
  const nhs = nhsNumber(patient);
  const state = { need: '', keyword: '', results: [], chosen: null };

  mount(view, html`${backLink(href('person', pid), 'Back to the person')}
    ${pageHeading('Make a referral', personName(patient))}
    ${summaryList([
      ['Person', personName(patient)],
      ['NHS number', nhs ? formatNhsNumber(nhs) : 'Not recorded'],
      ['Age', age === null ? 'Not recorded' : `${age}`],
      ['Postcode district', district || 'Not recorded'],
    ])}
    <div id="stage"></div>`);
  const stage = view.querySelector('#stage');

  async function find() {
    const q = { need: state.need, keyword: state.keyword, 'include-ineligible': 'true' };
    if (age !== null && age >= 0 && age <= 130) q.age = age;
    if (district) q.postcode = district; // the district only: the full postcode stays out of addresses and logs
    state.results = entries(await get('/fhir/HealthcareService/$find', q), 'HealthcareService');
  }

  function results() {
    const fit = state.results.filter((s) => eligibilityOf(s).eligible);
    const unfit = state.results.filter((s) => !eligibilityOf(s).eligible);
    return html`<p class="nhsuk-body" role="status" id="results-count">${fit.length === 1 ? '1 service fits' : `${fit.length} services fit`}${state.need ? ` the need ${needWords(state.need).toLowerCase()}` : ''}${state.keyword ? ` and mention “${state.keyword}”` : ''}.</p>
      ${fit.map((s) => serviceCard(s))}
      ${unfit.length ? html`<details class="nhsuk-details" id="unfit"${fit.length ? '' : html` open`}>
        <summary class="nhsuk-details__summary"><span class="nhsuk-details__summary-text">${unfit.length === 1 ? '1 service does not fit' : `${unfit.length} services do not fit`}</span></summary>
        <div class="nhsuk-details__text">
          <p class="nhsuk-body">These do not meet the need or do not take this person. You can still refer if you know they will help.</p>
          ${unfit.map((s) => serviceCard(s))}
        </div></details>` : ''}`;
  }

  function drawSearch() {
    mount(stage, html`<h2 class="nhsuk-heading-m">Find a service</h2>
      <form id="service-search" class="kith-filters" role="search" aria-label="Find a service" novalidate>
        ${select({ id: 'need', label: 'What do they need help with?', options: [['', 'Any need'], ...needOptions(all)], value: state.need })}
        ${textInput({ id: 'keyword', label: 'Words to search for (optional)', width: 20, value: state.keyword, autocomplete: 'off' })}
        <div class="nhsuk-form-group">${button('Find services', { id: 'find-services' })}</div>
      </form>
      <div id="search-errors"></div>
      <div id="service-results">${results()}</div>`);
    stage.querySelector('#service-search').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const v = formValues(ev.target);
      state.need = v.need ?? '';
      state.keyword = (v.keyword ?? '').trim();
      const box = stage.querySelector('#search-errors');
      try {
        await find();
        mount(box, html``);
        mount(stage.querySelector('#service-results'), results());
      } catch (e) {
        mount(box, errorSummary([e.message]));
        box.querySelector('.nhsuk-error-summary')?.focus();
      }
    });
    stage.querySelector('#service-results').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-service]');
      if (!b) return;
      state.chosen = state.results.find((s) => s.id === b.dataset.service);
      drawForm({}, []);
    });
  }

  // "meets need falls; open to ages 65 and over: 82 fits" in words, with the need's name
  function whyWords(why) {
    if (!why) return '';
    const t = why.replace(/\bneed ([a-z0-9-]+)/g, (m, c) => `need: ${needWords(c).toLowerCase()}`);
    return `${t.charAt(0).toUpperCase()}${t.slice(1)}.`;
  }

  function serviceCard(s) {
    const e = eligibilityOf(s);
    const targets = responseTargets(s);
    const [, sector] = sectorOf(s);
    return html`<div class="nhsuk-card kith-service-card"><div class="nhsuk-card__content">
      <h3 class="nhsuk-card__heading nhsuk-heading-s">${s.name}</h3>
      <p class="nhsuk-body-s nhsuk-u-margin-bottom-2">${sector} · <a href="${href('directory', s.id)}">More about this service<span class="nhsuk-u-visually-hidden">: ${s.name}</span></a></p>
      <p class="nhsuk-body-s">${s.comment ?? ''}</p>
      <p class="nhsuk-body-s">${e.eligible ? html`<strong class="nhsuk-tag nhsuk-tag--green">Fits</strong>` : html`<strong class="nhsuk-tag nhsuk-tag--grey">Does not fit</strong>`}
        <span class="kith-why">${whyWords(e.why)}</span></p>
      <dl class="nhsuk-summary-list nhsuk-summary-list--no-border kith-compact">
        <div class="nhsuk-summary-list__row"><dt class="nhsuk-summary-list__key">Answers within</dt>
          <dd class="nhsuk-summary-list__value">${targets.length ? html`${targets.map((t, i) => html`${i ? html`<br>` : ''}${priorityWords(t.priority)}: ${t.words}`)}` : 'Not recorded'}</dd></div>
        <div class="nhsuk-summary-list__row"><dt class="nhsuk-summary-list__key">How to refer</dt>
          <dd class="nhsuk-summary-list__value">${howToRefer(s) || 'Through Kith'}</dd></div>
        <div class="nhsuk-summary-list__row"><dt class="nhsuk-summary-list__key">Duty contact</dt>
          <dd class="nhsuk-summary-list__value">${dutyContactHtml(s) || 'Not recorded'}</dd></div>
      </dl>
      <button class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0" type="button" data-service="${s.id}">Refer to ${s.name}</button>
    </div></div>`;
  }

  function group(id, label, hint, control, error) {
    return html`<div class="nhsuk-form-group${error ? ' nhsuk-form-group--error' : ''}">
      <label class="nhsuk-label" for="${id}">${label}</label>
      ${hint ? html`<div class="nhsuk-hint" id="${id}-hint">${hint}</div>` : ''}
      ${error ? html`<span class="nhsuk-error-message" id="${id}-error"><span class="nhsuk-u-visually-hidden">Error:</span> ${error}</span>` : ''}
      ${control}</div>`;
  }

  function described(id, hint, error) {
    const ids = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ');
    return ids ? html` aria-describedby="${ids}"` : '';
  }

  function drawForm(values, errors) {
    const s = state.chosen;
    const e = eligibilityOf(s);
    const asks = askedFields(s);
    const err = (f) => errors.find((x) => x.field === f)?.text;
    const prErr = err('priority-routine');
    mount(stage, html`<h2 class="nhsuk-heading-m" id="form-title" tabindex="-1">Referral to ${s.name}</h2>
      ${e.eligible ? '' : warningCallout('This person may not fit this service', html`<p>${whyWords(e.why)}</p><p>You can still refer: say in the reason why this service is the right one.</p>`)}
      ${insetText(html`<p><strong>What the service asks for:</strong> ${howToRefer(s) || 'a clear reason for the referral.'}</p>${asks.length ? html`<p>It asks every referral to include: ${asks.join('; ')}.</p>` : ''}`)}
      <div id="refer-errors">${errorSummary(errors)}</div>
      <form id="refer-form" novalidate>
        <div class="nhsuk-form-group${prErr ? ' nhsuk-form-group--error' : ''}">
          <fieldset class="nhsuk-fieldset" aria-describedby="priority-hint${prErr ? ' priority-error' : ''}">
            <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">How urgent is it?</legend>
            <div class="nhsuk-hint" id="priority-hint">How fast the service has promised to answer, counted in its working time.</div>
            ${prErr ? html`<span class="nhsuk-error-message" id="priority-error"><span class="nhsuk-u-visually-hidden">Error:</span> ${prErr}</span>` : ''}
            <div class="nhsuk-radios">${PRIORITIES.map(([code, words]) => {
              const t = targetFor(s, code);
              return html`<div class="nhsuk-radios__item">
                <input class="nhsuk-radios__input" id="priority-${code}" name="priority" type="radio" value="${code}"${values.priority === code ? html` checked` : ''} aria-describedby="priority-${code}-hint">
                <label class="nhsuk-label nhsuk-radios__label" for="priority-${code}">${words}</label>
                <div class="nhsuk-hint nhsuk-radios__hint" id="priority-${code}-hint">${t ? `Answered within ${t}` : 'No response target for this priority'}</div>
              </div>`;
            })}</div>
          </fieldset>
        </div>
        ${group('reason', 'Why are you referring them?', 'What do you want the service to do, and why now', html`<textarea class="nhsuk-textarea${err('reason') ? ' nhsuk-textarea--error' : ''}" id="reason" name="reason" rows="4"${described('reason', true, err('reason'))}>${values.reason ?? ''}</textarea>`, err('reason'))}
        ${asks.map((label, i) => group(`ask-${i}`, label, 'The service asks for this', html`<input class="nhsuk-input${err(`ask-${i}`) ? ' nhsuk-input--error' : ''}" id="ask-${i}" name="ask-${i}" type="text" value="${values[`ask-${i}`] ?? ''}"${described(`ask-${i}`, true, err(`ask-${i}`))}>`, err(`ask-${i}`)))}
        ${group('note', 'Anything else the team should know (optional)', 'For example who to contact, access to the home, or risks to staff', html`<textarea class="nhsuk-textarea" id="note" name="note" rows="3"${described('note', true)}>${values.note ?? ''}</textarea>`)}
        <div class="kith-actions">
          ${button('Send referral', { id: 'send' })}
          ${button('Choose a different service', { id: 'back-to-services', secondary: true, type: 'button' })}
        </div>
      </form>`);
    const form = stage.querySelector('#refer-form');
    stage.querySelector('#back-to-services').addEventListener('click', () => {
      state.chosen = null;
      drawSearch();
      stage.querySelector('#results-count')?.focus();
    });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submit(formValues(form));
    });
    if (errors.length) stage.querySelector('.nhsuk-error-summary')?.focus();
    else stage.querySelector('#form-title').focus();
  }

  async function submit(v) {
    const s = state.chosen;
    const asks = askedFields(s);
    const errors = [];
    if (!v.priority) errors.push({ field: 'priority-routine', text: 'Choose how urgent the referral is' });
    if (!(v.reason ?? '').trim()) errors.push({ field: 'reason', text: 'Say why you are referring them' });
    asks.forEach((label, i) => { if (!(v[`ask-${i}`] ?? '').trim()) errors.push({ field: `ask-${i}`, text: `Enter ${label.toLowerCase()}: ${s.name} asks for it` }); });
    if (errors.length) return drawForm(v, errors);
    const note = [...asks.map((label, i) => `${label}: ${v[`ask-${i}`].trim()}`), (v.note ?? '').trim()].filter(Boolean).join('\n');
    const send = stage.querySelector('#send');
    send.disabled = true;
    let answer;
    try {
      answer = await post('/fhir/ServiceRequest/$refer', parameters([
        { name: 'patient', valueReference: { reference: `Patient/${pid}` } },
        { name: 'service', valueReference: { reference: `HealthcareService/${s.id}` } },
        { name: 'priority', valueCode: v.priority },
        { name: 'reason', valueString: v.reason.trim() },
        note && { name: 'note', valueString: note },
      ]));
    } catch (e) {
      send.disabled = false;
      mount(stage.querySelector('#refer-errors'), errorSummary([`The referral was not sent: ${e.message}`]));
      stage.querySelector('.nhsuk-error-summary')?.focus();
      return;
    }
    const owner = entries(answer, 'Task')[0]?.owner;
    confirmation(answer, v, await namesOf([owner]).catch(() => new Map()));
  }

  function confirmation(answer, v, names) {
    const s = state.chosen;
    const task = entries(answer, 'Task')[0];
    const outcome = entries(answer, 'OperationOutcome')[0];
    const due = task?.restriction?.period?.end;
    const dupes = (outcome?.issue ?? []).filter((i) => i.code === 'duplicate');
    const target = targetFor(s, v.priority);
    app.title('Referral sent');
    mount(view, html`<div class="nhsuk-panel kith-panel" id="referral-sent">
        <h1 class="nhsuk-panel__heading" tabindex="-1">Referral sent</h1>
        <div class="nhsuk-panel__body">${personName(patient)} has been referred to ${s.name}</div>
      </div>
      ${dupes.length ? warningCallout('They were already referred to this service', html`${dupes.map((d) => {
        const other = /Task\/([A-Za-z0-9\-.]+)/.exec(d.diagnostics ?? '')?.[1];
        return html`<p>${personName(patient)} already has an open referral to ${s.name}${other ? html`: <a href="${href('referral', other)}">see the earlier referral</a>` : ''}. Tell the team if this one replaces it.</p>`;
      })}`) : ''}
      ${summaryList([
        ['Service', s.name],
        ['Priority', priorityWords(v.priority)],
        ['Answer due by', due ? html`<strong id="due-date">${showDateTime(due)}</strong>${target ? html`<br><span class="nhsuk-body-s">${priorityWords(v.priority)} referrals are answered within ${target}</span>` : ''}` : 'No response target'],
        ['Reason', v.reason.trim()],
        ['Sent to', task?.owner ? refName(task.owner, names) : 'The team that provides the service'],
      ])}
      ${dutyContactHtml(s) ? html`<h2 class="nhsuk-heading-m">If it cannot wait</h2><div class="kith-duty">${dutyContactHtml(s)}</div>` : ''}
      <p class="nhsuk-body">${task ? html`<a class="nhsuk-button" href="${href('referral', task.id)}" id="open-referral">Follow this referral</a>` : ''}</p>
      <p class="nhsuk-body"><a href="${href('person', pid)}">Back to ${personName(patient)}'s record</a></p>
      ${button('Make another referral for them', { id: 'refer-again', secondary: true, type: 'button' })}`);
    view.querySelector('#refer-again').addEventListener('click', () => show(view, [pid], app).then(() => view.querySelector('h1')?.focus()));
    view.querySelector('h1').focus();
  }

  await find();
  const preset = params[1] && state.results.find((s) => s.id === params[1]);
  if (preset) { state.chosen = preset; drawForm({}, []); } else drawSearch();
}
