// admin.js — administration, for administrators only: user accounts
// (/auth/users: add, disable, enable), teams (Organizations and who holds a
// PractitionerRole in them), and services with their response targets
// (HealthcareService, saved with If-Match so two administrators cannot
// overwrite each other's changes unseen).
//   #/admin                     what there is to manage
//   #/admin/users               accounts; #/admin/users/add  a new one
//   #/admin/teams               organisations; #/admin/teams/ORG  its staff
//   #/admin/services            services; #/admin/services/ID  edit one
import { html, mount, href } from '../lib/html.js';
import { request, get, post, entries, ApiError, allPages } from '../lib/api.js';
import { pageHeading, errorSummary, summaryList, table, tag, backLink, textInput, textarea, select, button, formValues } from '../lib/ui.js';
import { personName, refId, contactText, codeText } from '../lib/fhir.js';
import { focusableTables } from '../lib/charts.js';

const SD = 'https://kith.example.org/fhir/StructureDefinition/';
const STAFF_ROLE = 'https://kith.example.org/fhir/CodeSystem/staff-role';
const STAFF_ROLES = [
  ['gp', 'General practitioner'], ['practice-nurse', 'Practice nurse'], ['district-nurse', 'District nurse'],
  ['community-matron', 'Community matron'], ['physiotherapist', 'Physiotherapist'],
  ['occupational-therapist', 'Occupational therapist'], ['social-worker', 'Social worker'],
  ['care-coordinator', 'Care coordinator'], ['link-worker', 'Social prescribing link worker'],
  ['discharge-coordinator', 'Discharge coordinator'], ['team-lead', 'Team lead'],
];
const PRIORITIES = [['routine', 'Routine'], ['urgent', 'Urgent'], ['asap', 'As soon as possible'], ['stat', 'Immediate']];
const UNITS = [['h', 'working hours'], ['d', 'working days']];

// a confirmation to show once the next admin page has been drawn
let pendingNotice = null;

export async function show(view, params, app) {
  if (app.session?.role !== 'administrator') {
    app.title('Administration');
    mount(view, html`${pageHeading('You need to be an administrator')}
      <p class="nhsuk-body">Only administrators can manage users, teams and services. Ask your organisation's Kith administrator
        if something here needs to change.</p><p class="nhsuk-body"><a href="#/">Go to your home page</a></p>`);
    return;
  }
  const [part, id] = params;
  if (!part) await overview(view, app);
  else if (part === 'users' && id === 'add') await addUser(view, app);
  else if (part === 'users') await users(view, app);
  else if (part === 'teams' && id) await team(view, id, app);
  else if (part === 'teams') await teams(view, app);
  else if (part === 'services' && id) await service(view, id, app);
  else if (part === 'services') await services(view, app);
  else {
    app.title('Page not found');
    mount(view, html`${pageHeading('Page not found')}<p class="nhsuk-body"><a href="${href('admin')}">Go to administration</a></p>`);
  }
  focusableTables(view);
  if (pendingNotice) {
    app.confirm(pendingNotice);
    pendingNotice = null;
  }
}

/* ---------- shared pieces ---------- */

function subNav(here) {
  const items = [['users', 'Users'], ['teams', 'Teams'], ['services', 'Services and response targets']];
  return html`<nav class="kith-subnav" aria-label="Administration"><ul class="nhsuk-list kith-actions">
    ${items.map(([p, t]) => html`<li><a href="${href('admin', p)}"${p === here ? html` aria-current="page"` : ''}>${t}</a></li>`)}
  </ul></nav>`;
}

/**
 * Show errors [{field, text}] in box as an error summary whose links move to
 * the field (without changing the address), and mark each field in form.
 */
function showErrors(box, form, list) {
  mount(box, errorSummary(list));
  const summary = box.querySelector('.nhsuk-error-summary');
  if (form) {
    form.querySelectorAll('.nhsuk-error-message').forEach((e) => e.remove());
    form.querySelectorAll('.nhsuk-form-group--error').forEach((g) => g.classList.remove('nhsuk-form-group--error'));
    form.querySelectorAll('.nhsuk-input--error, .nhsuk-select--error, .nhsuk-textarea--error').forEach((el) => {
      el.classList.remove('nhsuk-input--error', 'nhsuk-select--error', 'nhsuk-textarea--error');
      el.setAttribute('aria-describedby', (el.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => !x.endsWith('-error')).join(' '));
    });
    for (const e of list) {
      if (typeof e === 'string') continue;
      const el = form.querySelector(`#${CSS.escape(e.field)}`);
      const group = el?.closest('.nhsuk-form-group');
      if (!el || !group) continue;
      group.classList.add('nhsuk-form-group--error');
      const msg = document.createElement('span');
      msg.className = 'nhsuk-error-message';
      msg.id = `${e.field}-error`;
      const hidden = document.createElement('span');
      hidden.className = 'nhsuk-u-visually-hidden';
      hidden.textContent = 'Error: ';
      msg.append(hidden, e.text);
      el.before(msg);
      el.classList.add(el.tagName === 'SELECT' ? 'nhsuk-select--error' : el.tagName === 'TEXTAREA' ? 'nhsuk-textarea--error' : 'nhsuk-input--error');
      el.setAttribute('aria-describedby', [el.getAttribute('aria-describedby'), msg.id].filter(Boolean).join(' ').trim());
    }
  }
  summary?.focus();
}

/** Every resource of a search, following next links. */
async function all(path, params) {
  return allPages(path, { _count: 1000, ...params }, 51);
}

const orgNames = async () => new Map((await all('/fhir/Organization', { _elements: 'name,partOf,type,telecom' }))
  .map((o) => [o.id, o]));
const practitioners = async () => (await all('/fhir/Practitioner', { _elements: 'name,active' }))
  .sort((a, b) => (a.name?.[0]?.family ?? '').localeCompare(b.name?.[0]?.family ?? '') || personName(a).localeCompare(personName(b)));
const roleWords = (r) => r.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase());

/* ---------- overview ---------- */

async function overview(view, app) {
  app.title('Administration');
  mount(view, html`${pageHeading('Administration')}
    <ul class="nhsuk-grid-row nhsuk-card-group">
      ${[['users', 'Users', 'Add staff accounts, and disable the accounts of people who leave.'],
        ['teams', 'Teams', 'Who works in each organisation and team, their role and how to contact them.'],
        ['services', 'Services and response targets', 'What each service does, who it is for, and how fast it answers a referral.']]
        .map(([p, t, d]) => html`<li class="nhsuk-grid-column-one-third nhsuk-card-group__item">
          <div class="nhsuk-card nhsuk-card--clickable"><div class="nhsuk-card__content">
            <h2 class="nhsuk-card__heading nhsuk-heading-m"><a class="nhsuk-card__link" href="${href('admin', p)}">${t}</a></h2>
            <p class="nhsuk-card__description">${d}</p></div></div></li>`)}
    </ul>`);
}

/* ---------- users ---------- */

async function users(view, app) {
  app.title('Users');
  const [{ json }, orgs] = await Promise.all([request('GET', '/auth/users'), orgNames()]);
  const list = [...json.users].sort((a, b) => a.username.localeCompare(b.username));
  const prIds = [...new Set(list.map((u) => u.practitioner).filter(Boolean))];
  const prs = new Map();
  for (let i = 0; i < prIds.length; i += 50) {
    for (const p of entries(await get('/fhir/Practitioner', { _id: prIds.slice(i, i + 50).join(','), _count: 50 }))) prs.set(p.id, p);
  }
  const state = (u) => u.disabled ? tag('Disabled', 'grey') : u.locked ? tag('Locked after failed sign-ins', 'orange') : tag('Active', 'green');
  mount(view, html`${backLink(href('admin'), 'Administration')}
    ${pageHeading('Users', 'Administration')}
    ${subNav('users')}
    <p class="nhsuk-body"><a class="nhsuk-button" href="${href('admin', 'users', 'add')}" draggable="false">Add a user</a></p>
    <div id="user-confirm"></div>
    ${table(`${list.length} user accounts`, ['Username', 'Role', 'Organisation', 'Member of staff', 'State', html`<span class="nhsuk-u-visually-hidden">Action</span>`],
      list.map((u) => [
        html`<span data-username="${u.username}">${u.username}</span>`,
        roleWords(u.role),
        orgs.get(u.organization)?.name ?? u.organization,
        u.practitioner ? (prs.has(u.practitioner) ? personName(prs.get(u.practitioner)) : u.practitioner) : 'None',
        state(u),
        u.username === app.session.username ? 'You' : html`<button class="nhsuk-button nhsuk-button--secondary nhsuk-button--small nhsuk-u-margin-bottom-0" type="button"
            data-action="${u.disabled ? 'enable' : 'disable'}" data-user="${u.username}">${u.disabled ? 'Enable' : 'Disable'}<span class="nhsuk-u-visually-hidden"> ${u.username}</span></button>`,
      ]), { id: 'users' })}`);
  const box = document.getElementById('user-confirm');
  view.querySelectorAll('button[data-action]').forEach((b) => b.addEventListener('click', () => {
    const name = b.dataset.user, action = b.dataset.action;
    const u = list.find((x) => x.username === name);
    const team = orgs.get(u?.organization)?.name ?? u?.organization;
    mount(box, html`<div class="kith-confirm-panel" role="group" aria-labelledby="confirm-heading">
      <h2 class="nhsuk-heading-m" id="confirm-heading" tabindex="-1">${action === 'disable' ? `Disable ${name}'s account?` : `Let ${name} sign in again?`}</h2>
      <p class="nhsuk-body">${action === 'disable'
        ? `${name} will no longer be able to sign in, and their sessions end. Referrals and tasks they own that are still open move to their team, ${team}.`
        : `${name} will be able to sign in again with their password.`}</p>
      <div class="kith-actions">
        ${button(action === 'disable' ? `Yes, disable ${name}` : `Yes, enable ${name}`, { id: 'confirm-yes', type: 'button', warning: action === 'disable' })}
        ${button('Cancel', { id: 'confirm-no', type: 'button', secondary: true })}
      </div></div>`);
    document.getElementById('confirm-heading').focus();
    document.getElementById('confirm-no').addEventListener('click', () => { mount(box, html``); b.focus(); });
    document.getElementById('confirm-yes').addEventListener('click', async (ev) => {
      ev.currentTarget.disabled = true;
      try {
        const r = (await request('POST', `/auth/users/${encodeURIComponent(name)}/${action}`)).json;
        pendingNotice = action === 'disable'
          ? `${name}'s account is disabled. ${r?.tasksMoved ?? 0} open ${r?.tasksMoved === 1 ? 'task' : 'tasks'} moved to their team.`
          : `${name} can sign in again.`;
        await users(view, app);
        focusableTables(view);
        app.confirm(pendingNotice);
        pendingNotice = null;
        view.querySelector('h1')?.focus();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return;
        mount(box, errorSummary(e.message));
        box.querySelector('.nhsuk-error-summary')?.focus();
      }
    });
  }));
}

async function addUser(view, app) {
  app.title('Add a user');
  const [{ json }, orgs, prs] = await Promise.all([request('GET', '/auth/users'), orgNames(), practitioners()]);
  const orgList = [...orgs.values()].sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id));
  mount(view, html`${backLink(href('admin', 'users'), 'Users')}
    ${pageHeading('Add a user', 'Administration')}
    <div id="add-user-errors"></div>
    <form id="add-user" novalidate>
      ${textInput({ id: 'username', label: 'Username', hint: "Letters, digits, '.', '_' or '-', for example jsmith", width: 20, autocomplete: 'off' })}
      ${select({ id: 'role', label: 'Role', hint: 'What they may do in Kith', options: [['', 'Choose a role'], ...json.roles.map((r) => [r, roleWords(r)])], value: '' })}
      ${select({ id: 'organization', label: 'Organisation or team', hint: 'Their team: open work of theirs goes here when they leave', options: [['', 'Choose an organisation'], ...orgList.map((o) => [o.id, o.name ?? o.id])], value: '' })}
      ${select({ id: 'practitioner', label: 'Member of staff (optional)', hint: 'The staff record they act as; leave as None for an account that does not take referrals', options: [['', 'None'], ...prs.map((p) => [p.id, `${personName(p)} (${p.id})`])], value: '' })}
      ${textInput({ id: 'password', label: 'Password', hint: 'At least 8 characters. Give it to them in person; they keep it secret.', type: 'password', width: 20, autocomplete: 'new-password' })}
      ${button('Add user', { id: 'add-user-button' })}
    </form>`);
  const form = document.getElementById('add-user');
  const box = document.getElementById('add-user-errors');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const username = (v.username ?? '').trim();
    const errors = [];
    if (!username) errors.push({ field: 'username', text: 'Enter a username' });
    else if (!/^[A-Za-z0-9._-]{1,64}$/.test(username)) errors.push({ field: 'username', text: "Username must be up to 64 letters, digits, '.', '_' or '-'" });
    if (!v.role) errors.push({ field: 'role', text: 'Choose a role' });
    if (!v.organization) errors.push({ field: 'organization', text: 'Choose the organisation or team they work for' });
    if ((v.password ?? '').length < 8) errors.push({ field: 'password', text: 'Enter a password of at least 8 characters' });
    if (errors.length) return showErrors(box, form, errors);
    const btn = document.getElementById('add-user-button');
    btn.disabled = true;
    try {
      await request('POST', '/auth/users', { body: { username, role: v.role, organization: v.organization, practitioner: v.practitioner || undefined, password: v.password } });
      pendingNotice = `${username} was added. They can sign in now.`;
      app.go('admin', 'users');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      const field = e.status === 409 || /username/.test(e.message) ? 'username' : /role/.test(e.message) ? 'role'
        : /organi[sz]ation/.test(e.message) ? 'organization' : /practitioner/.test(e.message) ? 'practitioner'
        : /password/.test(e.message) ? 'password' : null;
      const text = e.status === 409 ? 'There is already a user with that username: choose another' : e.message.replace(/^./, (c) => c.toUpperCase());
      showErrors(box, form, [field ? { field, text } : text]);
    } finally {
      btn.disabled = false;
    }
  });
}

/* ---------- teams ---------- */

async function teams(view, app) {
  app.title('Teams');
  const [orgs, roles] = await Promise.all([orgNames(), all('/fhir/PractitionerRole', { _elements: 'organization,active' })]);
  const count = new Map();
  for (const r of roles) if (r.active !== false) count.set(refId(r.organization), (count.get(refId(r.organization)) ?? 0) + 1);
  const list = [...orgs.values()].sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id));
  mount(view, html`${backLink(href('admin'), 'Administration')}
    ${pageHeading('Teams', 'Administration')}
    ${subNav('teams')}
    <p class="nhsuk-body">Every organisation and team, and how many staff hold a role in it. Open one to see who works there and to add someone.</p>
    ${table(`${list.length} organisations and teams`, ['Name', 'Kind', 'Part of', 'Staff'], list.map((o) => [
      html`<a href="${href('admin', 'teams', o.id)}">${o.name ?? o.id}</a>`,
      codeText(o.type) || '',
      o.partOf ? (orgs.get(refId(o.partOf))?.name ?? refId(o.partOf)) : '',
      String(count.get(o.id) ?? 0),
    ]), { id: 'teams' })}`);
}

async function team(view, id, app) {
  const [org, roles, prs, orgs] = await Promise.all([
    get(`/fhir/Organization/${encodeURIComponent(id)}`),
    all('/fhir/PractitionerRole', { organization: `Organization/${id}` }),
    practitioners(),
    orgNames(),
  ]);
  const prById = new Map(prs.map((p) => [p.id, p]));
  app.title(org.name ?? 'Team');
  const who = (r) => {
    const p = prById.get(refId(r.practitioner));
    return p ? personName(p) : r.practitioner?.display ?? refId(r.practitioner) ?? 'No one named';
  };
  const sorted = [...roles].sort((a, b) => who(a).localeCompare(who(b)));
  mount(view, html`${backLink(href('admin', 'teams'), 'Teams')}
    ${pageHeading(org.name ?? id, 'Team')}
    ${summaryList([
      ['Kind', codeText(org.type)],
      ['Part of', org.partOf ? (orgs.get(refId(org.partOf))?.name ?? refId(org.partOf)) : 'None'],
      ['Contact', contactText(org.telecom)],
    ])}
    <h2 class="nhsuk-heading-m">Who works here</h2>
    ${table(`Staff with a role in ${org.name ?? id}`, ['Name', 'Role', 'Contact', 'State'], sorted.map((r) => [
      who(r), codeText(r.code) || 'No role given', contactText(r.telecom) || 'None recorded',
      r.active === false ? tag('Ended', 'grey') : tag('Active', 'green'),
    ]), { id: 'team-roles', empty: 'No one holds a role here yet.' })}
    <h2 class="nhsuk-heading-m" id="add-role-heading">Add someone to this team</h2>
    <div id="add-role-errors"></div>
    <form id="add-role" novalidate aria-labelledby="add-role-heading">
      ${select({ id: 'role-practitioner', label: 'Member of staff', options: [['', 'Choose a member of staff'], ...prs.map((p) => [p.id, `${personName(p)} (${p.id})`])], value: '' })}
      ${select({ id: 'role-code', label: 'Their role here', options: [['', 'Choose a role'], ...STAFF_ROLES], value: '' })}
      ${textInput({ id: 'role-phone', label: 'Work phone (optional)', type: 'tel', width: 20, autocomplete: 'off' })}
      ${textInput({ id: 'role-email', label: 'Work email (optional)', type: 'email', width: 30, autocomplete: 'off' })}
      ${button('Add to team', { id: 'add-role-button' })}
    </form>`);
  const form = document.getElementById('add-role');
  const box = document.getElementById('add-role-errors');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const phone = (v['role-phone'] ?? '').trim(), email = (v['role-email'] ?? '').trim();
    const errors = [];
    if (!v['role-practitioner']) errors.push({ field: 'role-practitioner', text: 'Choose the member of staff' });
    if (!v['role-code']) errors.push({ field: 'role-code', text: 'Choose their role in this team' });
    if (phone && !/^[0-9 +()-]{6,20}$/.test(phone)) errors.push({ field: 'role-phone', text: 'Enter a phone number, like 01632 960 001' });
    if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) errors.push({ field: 'role-email', text: 'Enter an email address, like name@example.org' });
    if (errors.length) return showErrors(box, form, errors);
    const p = prById.get(v['role-practitioner']);
    const roleText = STAFF_ROLES.find(([c]) => c === v['role-code'])[1];
    const btn = document.getElementById('add-role-button');
    btn.disabled = true;
    try {
      await post('/fhir/PractitionerRole', {
        resourceType: 'PractitionerRole', active: true,
        practitioner: { reference: `Practitioner/${p.id}`, display: personName(p) },
        organization: { reference: `Organization/${id}`, display: org.name },
        code: [{ coding: [{ system: STAFF_ROLE, code: v['role-code'], display: roleText }], text: roleText }],
        telecom: [phone && { system: 'phone', value: phone, use: 'work' }, email && { system: 'email', value: email, use: 'work' }].filter(Boolean),
      });
      await team(view, id, app);
      focusableTables(view);
      app.confirm(`${personName(p)} was added to ${org.name ?? id} as ${roleText.toLowerCase()}.`);
      view.querySelector('h1')?.focus();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      showErrors(box, form, [e.message]);
      btn.disabled = false;
    }
  });
}

/* ---------- services ---------- */

function targetsOf(s) {
  const out = new Map();
  for (const e of s.extension ?? []) {
    if (e.url !== `${SD}response-target`) continue;
    const pr = e.extension?.find((x) => x.url === 'priority')?.valueCode;
    const d = e.extension?.find((x) => x.url === 'target')?.valueDuration;
    if (pr && d) out.set(pr, d);
  }
  return out;
}

function targetWords(d) {
  const unit = d.code === 'h' ? 'working hour' : d.code === 'd' ? 'working day' : d.unit ?? d.code ?? '';
  return `${d.value} ${unit}${d.value === 1 || !/^working/.test(unit) ? '' : 's'}`;
}

async function services(view, app) {
  app.title('Services and response targets');
  const [list, orgs] = await Promise.all([all('/fhir/HealthcareService', {}), orgNames()]);
  list.sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id));
  mount(view, html`${backLink(href('admin'), 'Administration')}
    ${pageHeading('Services and response targets', 'Administration')}
    ${subNav('services')}
    <p class="nhsuk-body">How fast each service answers a referral sets the due date of every new referral to it, counted in the service's opening hours.</p>
    ${table(`${list.length} services`, ['Service', 'Provided by', 'Taking referrals', 'Response targets'], list.map((s) => {
      const t = targetsOf(s);
      return [
        html`<a href="${href('admin', 'services', s.id)}">${s.name ?? s.id}</a>`,
        orgs.get(refId(s.providedBy))?.name ?? refId(s.providedBy) ?? '',
        s.active === false ? tag('No', 'grey') : tag('Yes', 'green'),
        t.size ? html`<ul class="nhsuk-list kith-state-list">${PRIORITIES.filter(([p]) => t.has(p)).map(([p, w]) => html`<li>${w}: ${targetWords(t.get(p))}</li>`)}</ul>` : 'None',
      ];
    }), { id: 'services' })}`);
}

async function service(view, id, app) {
  // revalidate: a read carries Last-Modified and no Cache-Control, so the
  // browser could otherwise give back a copy older than the version to match
  const r = await request('GET', `/fhir/HealthcareService/${encodeURIComponent(id)}`);
  const s = r.json;
  const version = s.meta?.versionId;
  const etag = r.headers.get('ETag') ?? (version ? `W/"${version}"` : null);
  const t = targetsOf(s);
  app.title(s.name ?? 'Service');
  mount(view, html`${backLink(href('admin', 'services'), 'Services and response targets')}
    ${pageHeading(s.name ?? id, 'Edit a service')}
    <div id="service-errors"></div>
    <form id="service-form" novalidate>
      ${textInput({ id: 'name', label: 'Name', value: s.name ?? '', width: 30 })}
      ${textarea({ id: 'comment', label: 'What the service does', value: s.comment ?? '', rows: 4 })}
      ${textarea({ id: 'eligibility', label: 'Who it is for', value: s.eligibility?.[0]?.comment ?? '', rows: 3 })}
      <div class="nhsuk-form-group">
        <fieldset class="nhsuk-fieldset">
          <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">Is it taking referrals?</legend>
          <div class="nhsuk-radios nhsuk-radios--inline">
            <div class="nhsuk-radios__item"><input class="nhsuk-radios__input" id="active" name="active" type="radio" value="yes"${s.active !== false ? html` checked` : ''}>
              <label class="nhsuk-label nhsuk-radios__label" for="active">Yes</label></div>
            <div class="nhsuk-radios__item"><input class="nhsuk-radios__input" id="active-no" name="active" type="radio" value="no"${s.active === false ? html` checked` : ''}>
              <label class="nhsuk-label nhsuk-radios__label" for="active-no">No</label></div>
          </div>
        </fieldset>
      </div>
      <fieldset class="nhsuk-fieldset" aria-describedby="targets-hint">
        <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--m"><h2 class="nhsuk-fieldset__heading">Response targets</h2></legend>
        <div class="nhsuk-hint" id="targets-hint">How soon the service answers a referral of each priority. Leave a time empty when the service sets no target for it.</div>
        ${PRIORITIES.map(([p, w]) => html`<div class="kith-target-row">
          ${textInput({ id: `target-${p}`, label: `${w}: time`, value: t.get(p)?.value ?? '', width: 3, inputmode: 'numeric', autocomplete: 'off' })}
          ${select({ id: `unit-${p}`, label: `${w}: counted in`, options: UNITS, value: t.get(p)?.code ?? (p === 'routine' ? 'd' : 'h') })}
        </div>`)}
      </fieldset>
      <div class="kith-actions">
        ${button('Save the service', { id: 'save-service' })}
      </div>
    </form>`);
  const form = document.getElementById('service-form');
  const box = document.getElementById('service-errors');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(document.getElementById('kith-notice'), html``); // an earlier "saved" no longer applies
    const v = formValues(form);
    const errors = [];
    const name = (v.name ?? '').trim();
    if (!name) errors.push({ field: 'name', text: "Enter the service's name" });
    const targets = [];
    for (const [p, w] of PRIORITIES) {
      const raw = (v[`target-${p}`] ?? '').trim();
      if (!raw) continue;
      if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1) errors.push({ field: `target-${p}`, text: `Enter the ${w.toLowerCase()} target as a whole number from 1 to 999` });
      else targets.push([p, Number(raw), v[`unit-${p}`]]);
    }
    if (errors.length) return showErrors(box, form, errors);
    const updated = structuredClone(s);
    delete updated.meta;
    updated.name = name;
    const comment = (v.comment ?? '').trim(), eligibility = (v.eligibility ?? '').trim();
    if (comment) updated.comment = comment; else delete updated.comment;
    if (eligibility) {
      updated.eligibility = [{ ...(s.eligibility?.[0] ?? {}), comment: eligibility }, ...(s.eligibility ?? []).slice(1)];
    } else if (updated.eligibility?.length) {
      const first = { ...updated.eligibility[0] };
      delete first.comment;
      updated.eligibility = [first, ...updated.eligibility.slice(1)].filter((e) => Object.keys(e).length);
      if (!updated.eligibility.length) delete updated.eligibility;
    }
    updated.active = v.active !== 'no';
    const others = (s.extension ?? []).filter((e) => e.url !== `${SD}response-target`);
    const ext = [...targets.map(([p, value, code]) => ({
      url: `${SD}response-target`,
      extension: [{ url: 'priority', valueCode: p },
        { url: 'target', valueDuration: { value, unit: code === 'h' ? 'working hours' : 'working days', system: 'http://unitsofmeasure.org', code } }],
    })), ...others];
    if (ext.length) updated.extension = ext; else delete updated.extension;
    const btn = document.getElementById('save-service');
    btn.disabled = true;
    try {
      await request('PUT', `/fhir/HealthcareService/${encodeURIComponent(id)}`, { body: updated, headers: etag ? { 'If-Match': etag } : {} });
      await service(view, id, app);
      app.confirm(`${name} was saved.`);
      view.querySelector('h1')?.focus();
    } catch (e) {
      btn.disabled = false;
      if (e instanceof ApiError && e.status === 401) return;
      if (e instanceof ApiError && e.status === 412) {
        mount(box, html`${errorSummary(['Someone else changed this service while you were editing it. Your changes were not saved: reload it to see their changes, then make yours again.'], 'Someone else changed this service')}
          <p class="nhsuk-body">${button('Reload the service', { id: 'reload-service', type: 'button', secondary: true })}</p>`);
        document.getElementById('reload-service').addEventListener('click', () => service(view, id, app));
        box.querySelector('.nhsuk-error-summary')?.focus();
        return;
      }
      showErrors(box, form, [e.message]);
    }
  });
}

