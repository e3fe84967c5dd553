// discharge.js — the hospital discharge board (#/discharge): inpatients
// medically ready to leave (Task/$worklist?list=discharge), the most delayed
// first, with their ward, pathway, why they are still in, and the referrals
// made for support after discharge. Filter by ward. See
// docs/care-coordination.md (Hospital discharge) and src/care/discharge.c.
import { html, mount, href } from '../lib/html.js';
import { get, search, entries } from '../lib/api.js';
import { pageHeading, table, tag, insetText } from '../lib/ui.js';
import { personName, nhsNumber, formatNhsNumber, showDate, refId, codeText, TASK_STATUS } from '../lib/fhir.js';
import { patientsById } from '../lib/people.js';
import { watchTables } from '../lib/mdt.js';

const SD = 'https://kith.example.org/fhir/StructureDefinition/';
const NEED = 'https://kith.example.org/fhir/CodeSystem/need|discharge-pathway-';

// CodeSystem/discharge-delay-reason (src/care/discharge.c)
const DELAY_REASON = {
  none: 'No delay', 'awaiting-home-care': 'Awaiting start of a home care package',
  'awaiting-community-bed': 'Awaiting a community rehabilitation bed', 'awaiting-care-home': 'Awaiting a care home placement',
  'awaiting-assessment': 'Awaiting a social care assessment', 'awaiting-equipment': 'Awaiting equipment or adaptations',
  'patient-family-choice': 'Patient or family choice', other: 'Other or not recorded',
};
const PATHWAY = {
  0: 'Pathway 0: home, no new support', 1: 'Pathway 1: home with support', 2: 'Pathway 2: rehabilitation bed',
  3: 'Pathway 3: care home',
};

const hospExt = (enc, name) => (enc.hospitalization?.extension ?? []).find((e) => e.url === SD + name);
const daysDelayed = (enc) => (enc.extension ?? []).find((e) => e.url === SD + 'days-delayed')?.valueInteger ?? 0;
const locationRef = (enc) => (enc.location ?? []).find((l) => l.status !== 'completed')?.location ?? enc.location?.[0]?.location;

export async function show(view, _params, app) {
  view.classList.add('kith-mdt-page');
  watchTables(view);
  app.title('Discharge board');
  const board = entries(await get('/fhir/Task/$worklist', { list: 'discharge', _count: 500 }), 'Encounter');
  const pids = board.map((e) => refId(e.subject)).filter(Boolean);
  const locIds = [...new Set(board.map((e) => refId(locationRef(e))).filter(Boolean))];
  const [people, locations, services] = await Promise.all([
    patientsById(pids).catch(() => new Map()),
    locIds.length ? search('Location', { _id: locIds.join(','), _count: 100 }).then((b) => new Map(entries(b, 'Location').map((l) => [l.id, l])))
      .catch(() => new Map()) : new Map(),
    get('/fhir/HealthcareService', { characteristic: [1, 2, 3].map((n) => NEED + n).join(','), _count: 100 })
      .then((b) => entries(b, 'HealthcareService')).catch(() => []),
  ]);
  const referrals = await referralsFor(board, services);
  const wardOf = (enc) => {
    const ref = locationRef(enc);
    return locations.get(refId(ref))?.name ?? ref?.display ?? 'Ward not recorded';
  };
  const wards = [...new Set(board.map(wardOf))].sort();
  const rows = [...board].sort((a, b) => daysDelayed(b) - daysDelayed(a) ||
    String(hospExt(a, 'discharge-ready-date')?.valueDateTime).localeCompare(String(hospExt(b, 'discharge-ready-date')?.valueDateTime)));
  const draw = (ward) => {
    const shown = ward ? rows.filter((e) => wardOf(e) === ward) : rows;
    const total = shown.reduce((n, e) => n + daysDelayed(e), 0);
    mount(document.getElementById('board'), html`
      <p class="nhsuk-body" id="board-count" role="status">${shown.length === 1 ? '1 person' : `${shown.length} people`} medically ready to leave${ward ? ` on ${ward}` : ''}; ${total === 1 ? '1 day' : `${total} days`} delayed in all.</p>
      ${table(`People medically ready to leave hospital${ward ? `, ${ward}` : ''}, the longest delayed first`,
    ['Person', 'NHS number', 'Ward', 'Admitted', 'Ready to leave since', 'Days delayed', 'Pathway', 'Why still in hospital', 'Referrals for support'],
    shown.map((enc) => {
      const pid = refId(enc.subject);
      const p = people.get(pid);
      const days = daysDelayed(enc);
      const pathway = hospExt(enc, 'discharge-pathway')?.valueCoding?.code;
      const reason = hospExt(enc, 'discharge-delay-reason')?.valueCodeableConcept;
      const reasonCode = reason?.coding?.[0]?.code;
      const refs = referrals.get(enc.id) ?? [];
      return [
        pid ? html`<a href="${href('person', pid)}">${p ? personName(p) : enc.subject?.display ?? 'A person'}</a>` : 'Not recorded',
        p && nhsNumber(p) ? html`<span class="kith-nowrap">${formatNhsNumber(nhsNumber(p))}</span>` : 'Not recorded',
        wardOf(enc),
        showDate(enc.period?.start),
        showDate(hospExt(enc, 'discharge-ready-date')?.valueDateTime),
        html`<span class="kith-days-delayed${days >= 7 ? ' kith-overdue' : ''}" data-days="${days}">${days === 1 ? '1 day' : `${days} days`}</span>`,
        pathway ? (PATHWAY[pathway] ?? `Pathway ${pathway}`) : 'Not recorded',
        reasonCode ? (DELAY_REASON[reasonCode] ?? codeText(reason)) : (reason ? codeText(reason) : 'Not recorded'),
        refs.length ? html`<ul class="nhsuk-list kith-board-list">${refs.map((r) => html`<li>Pathway ${r.pathway}: ${r.service} ${r.task ? referralTag(r.task) : ''}</li>`)}</ul>` : 'None yet',
      ];
    }), { id: 'discharge-board', empty: ward ? 'Nobody on this ward is waiting to leave.' : 'Nobody is waiting to leave hospital.' })}`);
  };
  mount(view, html`${pageHeading('Discharge board', 'Hospital discharge')}
    <p class="nhsuk-body">People in hospital who are medically ready to leave but have not left yet, the longest delayed first.</p>
    ${board.length ? '' : insetText(html`<p>Nobody you can see is waiting to leave hospital.</p>`)}
    <form id="ward-filter" class="kith-filters" novalidate>
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="ward">Ward</label>
        <select class="nhsuk-select" id="ward" name="ward">
          <option value="">All wards</option>
          ${wards.map((w) => html`<option value="${w}">${w}</option>`)}
        </select>
      </div>
      <div class="nhsuk-form-group"><button class="nhsuk-button nhsuk-button--secondary" type="submit">Show</button></div>
    </form>
    <div id="board"></div>`);
  draw('');
  const form = document.getElementById('ward-filter');
  const select = document.getElementById('ward');
  form.addEventListener('submit', (ev) => { ev.preventDefault(); draw(select.value); });
  select.addEventListener('change', () => draw(select.value));
}

function referralTag(task) {
  const colour = { requested: 'blue', received: 'blue', accepted: 'green', 'in-progress': 'green', completed: 'grey', rejected: 'orange', cancelled: 'grey' }[task.status];
  return tag(TASK_STATUS[task.status] ?? task.status, colour);
}

/** Map Encounter id -> [{pathway, service, task}]: referrals to the discharge
 * pathway services made for the person since they were admitted. */
async function referralsFor(board, services) {
  const out = new Map();
  if (!board.length || !services.length) return out;
  const pathwayOf = new Map(services.map((s) => [s.id, (s.characteristic ?? []).flatMap((c) => c.coding ?? [])
    .map((c) => /^discharge-pathway-(\d)$/.exec(c.code ?? '')?.[1]).find(Boolean)]));
  const pids = [...new Set(board.map((e) => refId(e.subject)).filter(Boolean))];
  const srs = [];
  for (let i = 0; i < pids.length; i += 50) {
    const b = await search('ServiceRequest', {
      subject: pids.slice(i, i + 50).map((p) => `Patient/${p}`).join(','),
      performer: services.map((s) => `HealthcareService/${s.id}`).join(','), _count: 500,
    }).catch(() => null);
    srs.push(...entries(b, 'ServiceRequest'));
  }
  const tasks = new Map();
  for (let i = 0; i < srs.length; i += 50) {
    const b = await search('Task', { focus: srs.slice(i, i + 50).map((s) => `ServiceRequest/${s.id}`).join(','), _count: 500 }).catch(() => null);
    for (const t of entries(b, 'Task')) tasks.set(refId(t.focus), t);
  }
  for (const enc of board) {
    const pid = refId(enc.subject);
    const since = Date.parse(enc.period?.start ?? '') || 0;
    const mine = srs.filter((s) => refId(s.subject) === pid && (refId(s.encounter) === enc.id || Date.parse(s.authoredOn ?? '') >= since));
    out.set(enc.id, mine.map((s) => {
      const sid = refId(s.performer?.[0]);
      const svc = services.find((x) => x.id === sid);
      return { pathway: pathwayOf.get(sid) ?? '?', service: svc?.name ?? s.performer?.[0]?.display ?? 'a service', task: tasks.get(s.id) };
    }));
  }
  return out;
}
