// directory.js — the service directory: every service grouped by sector, a
// search by keyword, need and sector (HealthcareService/$find), and a page per
// service saying what it does, who it is for and who to call.
import { html, mount, href } from '../lib/html.js';
import { get, entries } from '../lib/api.js';
import { pageHeading, summaryList, textInput, select, button, insetText, backLink, onSubmit } from '../lib/ui.js';
import {
  SECTORS, allServices, needOptions, needsOf, needWords, sectorOf, responseTargets, priorityWords, dutyContactHtml,
  ageWords, areaWords, openingHours, howToRefer, whoFor, telecomLinks, namesOf, refName, detailParts,
} from '../lib/services.js';

export async function show(view, params, app) {
  if (params[0]) return showService(view, params[0], app);
  return showList(view, app);
}

function grouped(services) {
  const groups = new Map();
  for (const s of services) {
    const [code, words] = sectorOf(s);
    if (!groups.has(code)) groups.set(code, { words, list: [] });
    groups.get(code).list.push(s);
  }
  const order = SECTORS.map(([c]) => c);
  return [...groups].sort((a, b) => (order.indexOf(a[0]) + 1 || 99) - (order.indexOf(b[0]) + 1 || 99));
}

function serviceList(services) {
  if (!services.length) return html`<p class="nhsuk-body" id="services">No services match. Try fewer words or another need.</p>`;
  return html`<div id="services">${grouped(services).map(([code, g]) => html`
    <h2 class="nhsuk-heading-m" id="sector-${code}">${g.words} (${g.list.length})</h2>
    <ul class="nhsuk-list kith-service-list" aria-labelledby="sector-${code}">${g.list.map((s) => html`
      <li class="kith-service-list__item">
        <h3 class="nhsuk-heading-s nhsuk-u-margin-bottom-1"><a href="${href('directory', s.id)}">${s.name}</a></h3>
        <p class="nhsuk-body-s nhsuk-u-margin-bottom-1">${s.comment ?? ''}</p>
        ${needsOf(s).length ? html`<p class="nhsuk-body-s nhsuk-u-secondary-text-color nhsuk-u-margin-bottom-0">Helps with: ${needsOf(s).map(needWords).join(', ')}</p>` : ''}
      </li>`)}
    </ul>`)}</div>`;
}

async function showList(view, app) {
  app.title('Service directory');
  const services = await allServices();
  const needs = needOptions(services);
  mount(view, html`${pageHeading('Service directory', 'Health, care and community services')}
    <p class="nhsuk-body">Every service that takes referrals through Kith: what it does, who it is for, and who to call.
      To refer someone, <a href="#/find">find the person</a> first.</p>
    <form id="directory-search" class="kith-filters" role="search" aria-label="Search the directory" novalidate>
      ${textInput({ id: 'keyword', label: 'Words to search for', hint: 'For example balance, carer or wound', width: 20, autocomplete: 'off' })}
      ${select({ id: 'need', label: 'Need', options: [['', 'Any need'], ...needs] })}
      ${select({ id: 'sector', label: 'Sector', options: [['', 'Any sector'], ...SECTORS] })}
      <div class="nhsuk-form-group">${button('Search', { id: 'search' })}</div>
    </form>
    <p class="nhsuk-body" id="found" role="status">${services.length} services</p>
    <div id="results">${serviceList(services)}</div>`);
  onSubmit(document.getElementById('directory-search'), async (v) => {
    const q = { keyword: (v.keyword ?? '').trim(), need: v.need, sector: v.sector };
    const list = Object.values(q).some(Boolean) ? entries(await get('/fhir/HealthcareService/$find', q), 'HealthcareService') : services;
    const what = [q.keyword && `“${q.keyword}”`, q.need && needWords(q.need).toLowerCase(),
      q.sector && SECTORS.find(([c]) => c === q.sector)?.[1].toLowerCase()].filter(Boolean).join(', ');
    mount(document.getElementById('found'), html`${list.length === 1 ? '1 service' : `${list.length} services`}${what ? ` for ${what}` : ''}`);
    mount(document.getElementById('results'), serviceList(list));
  });
}

async function showService(view, id, app) {
  const hs = await get(`/fhir/HealthcareService/${encodeURIComponent(id)}`);
  app.title(hs.name ?? 'Service');
  const locs = (hs.location ?? []).map((l) => l.reference).filter((r) => /^Location\//.test(r ?? ''));
  const [names, places] = await Promise.all([
    namesOf([hs.providedBy].filter(Boolean)),
    Promise.all(locs.map((r) => get(`/fhir/${r}`).catch(() => null))),
  ]);
  const targets = responseTargets(hs);
  const [, sector] = sectorOf(hs);
  const other = detailParts(hs).filter((p) => !/who it is for|how to refer/i.test(p.label));
  const where = places.filter(Boolean).map((l) => [l.name, ...(l.address?.line ?? []), l.address?.city, l.address?.postalCode]
    .filter(Boolean).join(', '));
  mount(view, html`${backLink(href('directory'), 'All services')}
    ${pageHeading(hs.name ?? 'Service', sector)}
    ${hs.active === false ? html`<p class="nhsuk-body"><strong class="nhsuk-tag nhsuk-tag--grey">Not taking referrals</strong></p>` : ''}
    <p class="nhsuk-body-l">${hs.comment ?? ''}</p>
    <div class="nhsuk-grid-row"><div class="nhsuk-grid-column-two-thirds">
    <h2 class="nhsuk-heading-m">About this service</h2>
    ${summaryList([
      ['Who it is for', whoFor(hs)],
      ['Helps with', needsOf(hs).map(needWords).join(', ')],
      ['Ages', ageWords(hs)],
      ['Area covered', areaWords(hs)],
      ['Opening hours', html`${openingHours(hs).map((l, i) => html`${i ? html`<br>` : ''}${l}`)}`],
      ['Provided by', hs.providedBy ? refName(hs.providedBy, names) : ''],
      where.length ? ['Where', html`${where.map((w, i) => html`${i ? html`<br>` : ''}${w}`)}`] : null,
      ['Phone and email', telecomLinks(hs.telecom)],
      ...other.map((p) => [p.label || 'More about it', p.text]),
    ])}
    <h2 class="nhsuk-heading-m">How to refer</h2>
    <p class="nhsuk-body">${howToRefer(hs) || 'Refer through Kith.'}</p>
    <h3 class="nhsuk-heading-s">How fast it answers a referral</h3>
    ${targets.length ? html`<ul class="nhsuk-list nhsuk-list--bullet" id="response-targets">${targets.map((t) => html`<li>${priorityWords(t.priority)}: within ${t.words}</li>`)}</ul>`
      : html`<p class="nhsuk-body">No response target recorded.</p>`}
    <p class="nhsuk-body-s">Working hours and days count only while the service is open, and not on bank holidays.</p>
    <h2 class="nhsuk-heading-m">Duty contact</h2>
    ${dutyContactHtml(hs) || html`<p class="nhsuk-body">No duty contact recorded. Use the service's phone number.</p>`}
    ${insetText(html`<p><strong>Refer someone:</strong> <a href="#/find">find the person</a>, open their record and choose to make a referral. You can then pick ${hs.name ?? 'this service'} from the directory.</p>`)}
    </div></div>`);
}
