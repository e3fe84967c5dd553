#!/usr/bin/env node
/*
 * gen.mjs — a place for the care coordination benchmark (bench/care/run.sh),
 * written as NDJSON files of minimal but valid FHIR R4 resources for
 * `kith import`. Much faster than `kith synth` (which builds whole records):
 * only what worklists and referrals touch is made.
 *
 *   node bench/care/gen.mjs --people N --out DIR --now 2026-11-26T12:00:00Z
 *
 * It writes DIR/<Type>.ndjson and DIR/bench.json (ids the benchmark signs in
 * as, the services it refers to, and the counts it expects to see), plus
 * DIR/gp-patients.txt (the patients of the benchmark GP's practice).
 *
 * The place:
 *  - N Patients, each registered with one of round(N / 7,000) GP practices
 *    (36 for 250,000; generalPractitioner Organization/gp-P0001 ...), of
 *    uneven size; each practice has 5 GPs (Practitioner + PractitionerRole).
 *  - Provider organisations (ICB, acute and community trusts, the council,
 *    a voluntary sector alliance) and round(60 N / 250,000) teams (at least
 *    8), each an Organization partOf a provider with one HealthcareService
 *    carrying Kith's directory extensions (response targets by priority,
 *    duty contact, age range: the shape of src/synth/place.c). team-001 is
 *    the benchmark team: 50 active members, plus 6 leavers whose roles are
 *    inactive; other teams have 4-20 members.
 *  - Referrals: one per 5 people over three years, each a ServiceRequest
 *    (performer the team's HealthcareService) and a Task (focus the
 *    ServiceRequest, for the Patient, owner the team or a member). The
 *    benchmark team receives 16% of them, a quarter still open (2,000 open
 *    at 250,000 people, scaled with N); the other teams ~7% open; about 10%
 *    open overall. Open Tasks follow Kith's rules: requested and received
 *    ones wait for a response (restriction.period.end = the response due,
 *    owner mostly the team); accepted, in-progress and on-hold ones have
 *    answered (response-due and responded extensions) and carry the team's
 *    review-by date as restriction.period.end, an owner among the members,
 *    and an active EpisodeOfCare (managingOrganization the team, careManager
 *    the owner). About a quarter of open Tasks are past due: those carry
 *    businessStatus overdue and an active Flag, as after Kith's escalation
 *    sweep. Closed Tasks (completed, cancelled, rejected, failed) have no
 *    due date; their ServiceRequests are completed or revoked.
 *
 * Deterministic (a fixed-seed PRNG) for a given N and --now.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeRng } from '../rng.mjs';

const args = process.argv.slice(2);
function opt(name, dflt) {
  const i = args.indexOf('--' + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const N = Number(opt('people', '250000'));
const OUT = opt('out', null);
const NOW = opt('now', new Date(Math.floor(Date.now() / 60000) * 60000).toISOString().replace('.000Z', 'Z'));
if (!Number.isInteger(N) || N < 1000 || !OUT || Number.isNaN(Date.parse(NOW))) {
  console.error('usage: gen.mjs --people N (>= 1000) --out DIR [--now FHIR-INSTANT]');
  process.exit(2);
}
const NOW_MS = Date.parse(NOW);
const DAY = 86400000;
const SYS = 'https://kith.example.org/fhir/';
const EXT = SYS + 'StructureDefinition/';
const CS = SYS + 'CodeSystem/';
const LA = 'la-E06000999';

const { rnd, pick, int } = makeRng(0x6b697468 ^ N);
const pad = (n, w) => String(n).padStart(w, '0');
const instant = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const ref = (reference, display) => (display ? { reference, display } : { reference });

/* ---- output: one file per type, written in large synchronous chunks ---- */
mkdirSync(OUT, { recursive: true });
const files = new Map();
const counts = {};
function emit(res) {
  let f = files.get(res.resourceType);
  if (!f) {
    f = { fd: openSync(join(OUT, res.resourceType + '.ndjson'), 'w'), parts: [], size: 0 };
    files.set(res.resourceType, f);
  }
  const s = JSON.stringify(res) + '\n';
  f.parts.push(s);
  f.size += s.length;
  counts[res.resourceType] = (counts[res.resourceType] ?? 0) + 1;
  if (f.size > 1 << 20) flush(f);
}
function flush(f) {
  if (f.parts.length) writeSync(f.fd, f.parts.join(''));
  f.parts = [];
  f.size = 0;
}

/* ---- names ---- */
const FAMILY = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Patel', 'Robinson',
  'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood', 'Jackson', 'Clarke', 'Khan',
  'Hughes', 'Edwards', 'Turner', 'Hill', 'Moore', 'Cooper', 'Ward', 'Morris', 'Okafor', 'Nowak', 'Begum', 'Ali'];
const MALE = ['Oliver', 'George', 'Harry', 'Jack', 'Noah', 'Arthur', 'Mohammed', 'Leo', 'James', 'David', 'John',
  'Peter', 'Michael', 'Thomas', 'William', 'Ahmed', 'Tomasz', 'Chinedu'];
const FEMALE = ['Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Sophia', 'Margaret', 'Susan', 'Mary', 'Elizabeth',
  'Patricia', 'Jean', 'Fatima', 'Aisha', 'Grace', 'Emily', 'Joan', 'Priya'];
const DISTRICTS = ['KT1', 'KT2', 'KT3', 'KT4', 'KT5', 'KT6', 'KT7', 'KT8', 'KT9', 'KT10', 'KT11', 'KT12'];
const TOWNS = ['Kithbury', 'Ashvale', 'Northmoor'];

/* An NHS number for patient i (nine digits from i, Modulus 11 check digit; unique). */
function nhsNumber(i) {
  for (let k = 0; k < 11; k++) {
    const d = String(400000000 + i * 11 + k);
    let sum = 0;
    for (let j = 0; j < 9; j++) sum += Number(d[j]) * (10 - j);
    let check = 11 - (sum % 11);
    if (check === 11) check = 0;
    if (check !== 10) return d + check;
  }
  throw new Error('no NHS number for ' + i);
}

let phoneSeq = 0;
const phone = () => `01632 960${pad(phoneSeq++ % 1000, 3)}`;

/* ---- organisations ---- */
function organization(id, type, typeDisplay, name, partOf) {
  const o = {
    resourceType: 'Organization', id, active: true,
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: type, display: typeDisplay }] }],
    name, telecom: [{ system: 'phone', value: phone(), use: 'work' }],
    address: [{ use: 'work', city: pick(TOWNS), district: 'Kithshire', country: 'GB' }],
  };
  if (partOf) o.partOf = ref('Organization/' + partOf);
  emit(o);
}
organization('icb', 'govt', 'Government', 'Kithshire Integrated Care Board');
organization('org-acute', 'prov', 'Healthcare Provider', 'Kithshire Hospitals NHS Trust', 'icb');
organization('org-community', 'prov', 'Healthcare Provider', 'Kithshire Community Health NHS Trust', 'icb');
organization(LA, 'govt', 'Government', 'Kithshire Council Adult Social Care');
organization('org-vcse', 'cg', 'Community Group', 'Kithshire Voluntary Action');

/* staff: Practitioner + PractitionerRole */
function staff(id, roleId, org, roleCode, roleName, active) {
  const male = rnd() < 0.5;
  const given = pick(male ? MALE : FEMALE), family = pick(FAMILY);
  const email = `${given}.${family}.${id}@kith.example.org`.toLowerCase();
  emit({
    resourceType: 'Practitioner', id, active: true,
    name: [{ use: 'official', family, given: [given], prefix: [roleCode === 'gp' ? 'Dr' : male ? 'Mr' : 'Ms'] }],
    telecom: [{ system: 'email', value: email, use: 'work' }], gender: male ? 'male' : 'female',
  });
  const tel = phone();
  emit({
    resourceType: 'PractitionerRole', id: roleId, active,
    ...(active ? {} : { period: { end: instant(NOW_MS - int(20, 400) * DAY) } }),
    practitioner: ref('Practitioner/' + id, `${given} ${family}`), organization: ref('Organization/' + org),
    code: [{ coding: [{ system: CS + 'staff-role', code: roleCode, display: roleName }], text: roleName }],
    telecom: [{ system: 'phone', value: tel, use: 'work' }, { system: 'email', value: email, use: 'work' }],
    availableTime: [{ daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri'], availableStartTime: '08:30:00', availableEndTime: '17:00:00' }],
  });
}

/* GP practices of uneven size (weights 0.5-1.5), 5 GPs each */
const NPRACTICES = Math.max(2, Math.round(N / 7000));
const practices = [];
let wsum = 0;
for (let p = 1; p <= NPRACTICES; p++) {
  const id = 'gp-P' + pad(p, 4);
  organization(id, 'prov', 'Healthcare Provider', `${pick(['Castle', 'Riverside', 'Moor', 'Park', 'Valley', 'Market'])} ${pick(['Surgery', 'Medical Practice', 'Health Centre'])} (${pad(p, 2)})`, 'icb');
  const gps = [];
  for (let k = 1; k <= 5; k++) {
    const pr = `pr-gp-P${pad(p, 4)}-${k}`;
    staff(pr, `role-gp-P${pad(p, 4)}-${k}`, id, 'gp', 'General practitioner', true);
    gps.push(pr);
  }
  const w = 0.5 + rnd();
  wsum += w;
  practices.push({ id, gps, w, cum: wsum, patients: [] });
}

/* teams: kind -> provider, role, service shape (urgent hours, routine days) */
const KINDS = [
  ['community nursing team', 'org-community', 'district-nurse', 'District nurse', 4, 2, 'community-health', '08:00:00', '20:00:00'],
  ['community therapy team', 'org-community', 'physiotherapist', 'Physiotherapist', 8, 5, 'community-health', '08:30:00', '17:00:00'],
  ['adult social work team', LA, 'social-worker', 'Social worker', 8, 10, 'social-care', '09:00:00', '17:00:00'],
  ['reablement team', LA, 'occupational-therapist', 'Occupational therapist', 4, 2, 'social-care', '07:00:00', '22:00:00'],
  ['community matron team', 'org-community', 'community-matron', 'Community matron', 8, 5, 'community-health', '08:30:00', '17:00:00'],
  ['mental health team for older adults', 'org-community', 'care-coordinator', 'Care coordinator', 8, 15, 'mental-health', '09:00:00', '17:00:00'],
  ['social prescribing service', 'org-vcse', 'link-worker', 'Social prescribing link worker', 24, 10, 'voluntary', '09:00:00', '17:00:00'],
  ['hospital discharge team', 'org-acute', 'discharge-coordinator', 'Discharge coordinator', 2, 1, 'hospital', null, null],
];
const NTEAMS = Math.max(8, Math.round(60 * N / 250000));
const NEIGHBOURHOODS = ['Kithbury Central', 'Kithbury East', 'Riverside', 'Old Town', 'Ashvale', 'Ashvale Fields',
  'Hollins', 'Brookmead', 'Northmoor', 'Moorgate', 'Fellside', 'Cotterill'];
const teams = [];
for (let t = 1; t <= NTEAMS; t++) {
  const kind = KINDS[(t - 1) % KINDS.length];
  const [what, provider, roleCode, roleName, urgentH, routineD, sector, open, close] = kind;
  const id = 'team-' + pad(t, 3);
  const name = `${NEIGHBOURHOODS[(t - 1) % NEIGHBOURHOODS.length]} ${what}${t > NEIGHBOURHOODS.length ? ' ' + Math.ceil(t / NEIGHBOURHOODS.length) : ''}`;
  organization(id, 'team', 'Organizational team', name, provider);
  const size = t === 1 ? 50 : int(4, 20);
  const leavers = t === 1 ? 6 : int(0, 2);
  const members = [], former = [];
  for (let k = 1; k <= size + leavers; k++) {
    const pr = `pr-${pad(t, 3)}-${pad(k, 2)}`;
    const active = k <= size;
    staff(pr, `role-${pad(t, 3)}-${pad(k, 2)}`, id, k === 1 && t !== 1 ? 'team-lead' : roleCode,
      k === 1 && t !== 1 ? 'Team lead' : roleName, active);
    (active ? members : former).push(pr);
  }
  const hsId = 'hs-' + id;
  const tel = phone();
  const target = (pri, amount, unit, word) => ({
    url: EXT + 'response-target',
    extension: [{ url: 'priority', valueCode: pri },
      { url: 'target', valueDuration: { value: amount, unit: `working ${word}`, system: 'http://unitsofmeasure.org', code: unit } }],
  });
  emit({
    resourceType: 'HealthcareService', id: hsId,
    extension: [
      target('urgent', urgentH, 'h', 'hours'), target('routine', routineD, 'd', 'days'),
      { url: EXT + 'duty-contact', extension: [{ url: 'name', valueString: `Duty desk, ${name}` },
        { url: 'telecom', valueContactPoint: { system: 'phone', value: tel, use: 'work' } },
        { url: 'telecom', valueContactPoint: { system: 'email', value: `${id}.duty@kith.example.org`, use: 'work' } }] },
      { url: EXT + 'age-range', valueRange: { low: { value: 18, unit: 'years', system: 'http://unitsofmeasure.org', code: 'a' } } },
      { url: EXT + 'postcode-district', valueString: DISTRICTS[(t - 1) % DISTRICTS.length] },
    ],
    active: true, providedBy: ref('Organization/' + id),
    category: [{ coding: [{ system: CS + 'sector', code: sector }], text: sector }],
    type: [{ text: name }], name,
    telecom: [{ system: 'phone', value: tel, use: 'work' }, { system: 'email', value: `${id}@kith.example.org`, use: 'work' }],
    referralMethod: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/service-referral-method', code: 'elec' }] }],
    appointmentRequired: false,
    availableTime: open ? [{ daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri'], availableStartTime: open, availableEndTime: close }]
      : [{ allDay: true }],
  });
  teams.push({ id, hsId, name, members, former, urgentH, routineD });
}

/* ---- patients ---- */
const W = 7;
for (let i = 1; i <= N; i++) {
  const r = rnd() * wsum;
  let lo = 0, hi = practices.length - 1;
  while (lo < hi) { const m = (lo + hi) >> 1; if (practices[m].cum < r) lo = m + 1; else hi = m; }
  const practice = practices[lo];
  const id = 'p-' + pad(i, W);
  practice.patients.push(i);
  const male = rnd() < 0.49;
  emit({
    resourceType: 'Patient', id,
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber(i) }], active: true,
    name: [{ use: 'official', family: pick(FAMILY), given: [pick(male ? MALE : FEMALE)] }],
    gender: male ? 'male' : 'female',
    birthDate: `${int(1925, 2024)}-${pad(int(1, 12), 2)}-${pad(int(1, 28), 2)}`,
    address: [{ use: 'home', city: pick(TOWNS), postalCode: `${pick(DISTRICTS)} ${int(1, 9)}${String.fromCharCode(65 + int(0, 25))}${String.fromCharCode(65 + int(0, 25))}`, country: 'GB' }],
    generalPractitioner: [ref('Organization/' + practice.id)],
  });
}
const practiceOf = new Int32Array(N + 1);
practices.forEach((p, k) => { for (const i of p.patients) practiceOf[i] = k; });

/* ---- referrals ---- */
const R = Math.round(N / 5);
const BENCH_OPEN = Math.round(2000 * N / 250000);
const benchTeam = teams[0];
const benchR = Math.round(0.16 * R);
const OTHER_OPEN = 0.07;
const REASONS = ['Wound care after a fall', 'Leg ulcer dressings', 'Catheter care', 'Reduced mobility at home',
  'Frailty review after admission', 'Carer breakdown', 'Support to live independently', 'Memory concerns',
  'Medication review and support', 'Low mood and isolation', 'End of life care at home', 'Discharge support'];
const expected = { team_open: 0, team_overdue: 0, mine_open: 0, team_org_owned_open: 0 };
let seq = 0;

function referral(team, open, isBench) {
  seq++;
  const sr = 'sr-' + pad(seq, W), tk = 't-' + pad(seq, W);
  const pi = int(1, N);
  const pid = 'p-' + pad(pi, W);
  const gp = pick(practices[practiceOf[pi]].gps);
  const x = rnd();
  const priority = x < 0.8 ? 'routine' : x < 0.95 ? 'urgent' : 'asap';
  const reason = pick(REASONS);
  let status, owner, authored, due = null, bstatus, closedAt = null, reply = null, respDue = null;
  if (open) {
    const y = rnd();
    status = y < 0.15 ? 'requested' : y < 0.25 ? 'received' : y < 0.4 ? 'accepted' : y < 0.9 ? 'in-progress' : 'on-hold';
    if (status === 'requested' || status === 'received') {
      /* waiting for the service to answer: due is the response target */
      due = NOW_MS + (rnd() * 30 - 10) * DAY;
      authored = due - (priority === 'routine' ? team.routineD * 1.4 * DAY : team.urgentH * 3600000 * 2);
      owner = status === 'received' && rnd() < 0.3 ? pick(team.members) : team.id;
      bstatus = due < NOW_MS ? ['overdue', 'Overdue'] : ['awaiting-response', 'Awaiting response'];
    } else {
      /* answered: the response clock stopped; the team's review-by date is the due date */
      authored = NOW_MS - int(3, 365) * DAY - rnd() * DAY;
      respDue = authored + team.routineD * 1.4 * DAY;
      reply = authored + rnd() * team.routineD * 1.8 * DAY;
      due = NOW_MS + (rnd() * 90 - 20) * DAY;
      owner = pick(team.members);
      bstatus = due < NOW_MS ? ['overdue', 'Overdue']
        : reply <= respDue ? ['responded-in-time', 'Responded within target'] : ['responded-late', 'Responded after target'];
    }
  } else {
    const y = rnd();
    status = y < 0.88 ? 'completed' : y < 0.93 ? 'cancelled' : y < 0.98 ? 'rejected' : 'failed';
    authored = NOW_MS - int(14, 3 * 365) * DAY - rnd() * DAY;
    respDue = authored + team.routineD * 1.4 * DAY;
    reply = authored + rnd() * team.routineD * 1.8 * DAY;
    closedAt = reply + (status === 'rejected' ? 0 : int(1, 90) * DAY);
    const pool = team.members.concat(team.former);
    owner = status === 'rejected' || rnd() < 0.1 ? team.id : pick(pool);
    bstatus = reply <= respDue ? ['responded-in-time', 'Responded within target'] : ['responded-late', 'Responded after target'];
  }
  const srStatus = open ? 'active' : status === 'completed' ? 'completed' : 'revoked';
  emit({
    resourceType: 'ServiceRequest', id: sr, status: srStatus, intent: 'order',
    category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005', display: 'Patient referral' }] }],
    priority, subject: ref('Patient/' + pid), authoredOn: instant(authored), requester: ref('Practitioner/' + gp),
    performer: [ref('HealthcareService/' + team.hsId, team.name)], reasonCode: [{ text: reason }],
  });
  const task = {
    resourceType: 'Task', id: tk, status, intent: 'order', priority,
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill', display: 'Fulfill the focal request' }] },
    description: `Referral to ${team.name}: ${reason}`,
    focus: ref('ServiceRequest/' + sr), for: ref('Patient/' + pid),
    authoredOn: instant(authored), lastModified: instant(closedAt ?? reply ?? authored),
    requester: ref('Practitioner/' + gp), owner: ref((owner.startsWith('team-') ? 'Organization/' : 'Practitioner/') + owner),
    businessStatus: { coding: [{ system: CS + 'referral-status', code: bstatus[0], display: bstatus[1] }] },
  };
  if (status === 'on-hold' || status === 'rejected') task.statusReason = { text: status === 'on-hold' ? 'Person in hospital' : 'Needs are met by another service' };
  if (reply !== null) {
    task.extension = [{ url: EXT + 'response-due', valueDateTime: instant(respDue) }, { url: EXT + 'responded', valueDateTime: instant(reply) }];
  }
  if (closedAt !== null && status !== 'rejected') task.executionPeriod = { start: instant(reply), end: instant(closedAt) };
  else if (open && reply !== null) task.executionPeriod = { start: instant(reply) };
  if (due !== null) task.restriction = { period: { end: instant(due) } };
  emit(task);
  if (open && reply !== null) {
    emit({
      resourceType: 'EpisodeOfCare', id: 'eoc-' + tk, status: 'active', type: [{ text: team.name }],
      patient: ref('Patient/' + pid), managingOrganization: ref('Organization/' + team.id),
      period: { start: instant(reply) }, referralRequest: [ref('ServiceRequest/' + sr)], careManager: ref(task.owner.reference),
    });
  }
  if (open && due < NOW_MS) {
    emit({
      resourceType: 'Flag', id: 'flag-' + tk, status: 'active',
      extension: [{ url: EXT + 'flag-task', valueReference: ref('Task/' + tk) }],
      category: [{ coding: [{ system: CS + 'flag-category', code: 'overdue-referral', display: 'Overdue referral' }] }],
      code: { coding: [{ system: CS + 'flag-category', code: 'overdue-referral', display: 'Overdue referral' }], text: `Referral overdue: ${task.description}` },
      subject: ref('Patient/' + pid), period: { start: instant(due + DAY) },
    });
  }
  if (isBench && open) {
    expected.team_open++;
    if (due < NOW_MS) expected.team_overdue++;
    if (task.owner.reference === 'Practitioner/' + team.members[0]) expected.mine_open++;
    if (owner === team.id) expected.team_org_owned_open++;
  }
}

/* the benchmark team: exactly BENCH_OPEN open among benchR, spread through history */
{
  let openLeft = BENCH_OPEN;
  for (let k = 0; k < benchR; k++) {
    const open = rnd() * (benchR - k) < openLeft;
    if (open) openLeft--;
    referral(benchTeam, open, true);
  }
}
/* the other teams: weights 0.5-1.5 */
{
  const others = teams.slice(1);
  const ws = others.map(() => 0.5 + rnd());
  const total = ws.reduce((a, b) => a + b, 0);
  let left = R - benchR;
  others.forEach((team, k) => {
    const n = k === others.length - 1 ? left : Math.round((R - benchR) * ws[k] / total);
    left -= n;
    for (let j = 0; j < n; j++) referral(team, rnd() < OTHER_OPEN, false);
  });
}

for (const f of files.values()) { flush(f); closeSync(f.fd); }
const gpPractice = practices[0];
writeFileSync(join(OUT, 'gp-patients.txt'), gpPractice.patients.map((i) => 'p-' + pad(i, W)).join('\n') + '\n');
const meta = {
  people: N, now: NOW, practices: NPRACTICES, teams: NTEAMS, referrals: R,
  team: benchTeam.id, team_members: benchTeam.members.length, team_leavers: benchTeam.former.length,
  nurse_practitioner: benchTeam.members[0],
  gp_org: gpPractice.id, gp_practitioner: gpPractice.gps[0], gp_patients: gpPractice.patients.length,
  services: teams.map((t) => t.hsId), expected, counts,
};
writeFileSync(join(OUT, 'bench.json'), JSON.stringify(meta, null, 2) + '\n');
console.log(`generated ${Object.values(counts).reduce((a, b) => a + b, 0)} resources: ` +
  Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(', '));
console.log(`team ${benchTeam.id}: ${benchTeam.members.length} members, ${expected.team_open} open Tasks ` +
  `(${expected.team_overdue} overdue, ${expected.team_org_owned_open} owned by the team itself), ` +
  `${expected.mine_open} owned by ${benchTeam.members[0]}`);
