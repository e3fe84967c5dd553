// mdt.test.mjs — neighbourhood MDT meetings (src/care/mdt*.c, docs/mdt.md)
// through the real API: case finding picks exactly the people the rules say,
// the chair edits the case list, a meeting is planned with time-boxes,
// actions from the previous meeting come first on the next agenda, recording
// a case writes the summary into the person's record (seen by their care
// team, not by strangers), actions become Tasks in their owners' worklists,
// the measures come out as computed here by hand, and bad input gets an
// OperationOutcome with the right status.
//
// A small neighbourhood is written through the API as the test system client:
// two practices of one neighbourhood team and one of another, staff, eleven
// people aged 60-91 with RiskAssessments (the shape `kith frailty` writes),
// emergency and elective admissions, earlier MDT discussions and a referral
// for MDT discussion. The server's clock (KITH_NOW) moves through three times
// on the same database: T0 (case finding, planning), T0m (the first meeting)
// and T1 (four weeks on: the second meeting and the measures).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { client, kith, startServer } from './lib/server.mjs';

const CS = 'https://kith.example.org/fhir/CodeSystem/';
const SD = 'https://kith.example.org/fhir/StructureDefinition/';
const LA = 'la-E06000999';
const PASSWORD = 'mdt-test-password';
const DAY = 86400000;
const T0 = '2026-11-02T09:00:00Z'; // Monday: case finding and planning
const MEETING1 = '2026-11-04T13:00:00Z';
const T0M = '2026-11-04T14:00:00Z'; // just after the first meeting
const T1 = '2026-11-30T09:00:00Z'; // four weeks on
const MEETING2 = '2026-11-30T13:00:00Z';
const at = (base, days) => new Date(Date.parse(base) + days * DAY).toISOString().replace('.000Z', 'Z');

// ---- the neighbourhood ---------------------------------------------------------

const PRACTICES = { 'mdt-gp-a': 'mdt-int-1', 'mdt-gp-b': 'mdt-int-1', 'mdt-gp-x': 'mdt-int-2' };
const STAFF = [ // id, role code, role text, organisation
  ['mdt-pr-chair', 'community-matron', 'Community matron', 'mdt-int-1'],
  ['mdt-pr-coord', 'care-coordinator', 'Care coordinator', 'mdt-int-1'],
  ['mdt-pr-dn', 'district-nurse', 'District nurse', 'mdt-org-community'],
  ['mdt-pr-sw', 'social-worker', 'Social worker', LA],
  ['mdt-pr-gp', 'gp', 'General practitioner', 'mdt-gp-a'],
  ['mdt-pr-stranger', 'gp', 'General practitioner', 'mdt-gp-x'],
];

// Each person: practice, birth date, eFI category and score, admission risk,
// admissions (days from T0; elective marked), MDT discussions (days from T0),
// death (days from T0), an open referral for MDT discussion.
const E = (d, how = 'type') => ({ d, how }); // an emergency admission: by Kith's type, or by UK admission method only
const PEOPLE = {
  'mdt-p-severe2': { gp: 'mdt-gp-a', born: '1946-03-01', efi: ['severe', '0.41'], ear: '0.35', adm: [E(-30), E(-100, 'method')], talks: [-130] },
  'mdt-p-severe3': { gp: 'mdt-gp-b', born: '1941-05-20', efi: ['severe', '0.45'], ear: '0.50', adm: [E(-10), E(-50), E(-150)] },
  'mdt-p-severe1': { gp: 'mdt-gp-a', born: '1944-07-11', efi: ['severe', '0.38'], adm: [E(-20), E(-240)] },
  'mdt-p-moderate': { gp: 'mdt-gp-a', born: '1947-09-09', efi: ['moderate', '0.30'], ear: '0.20', adm: [E(-5), E(-60), E(-90)] },
  'mdt-p-young': { gp: 'mdt-gp-a', born: '1966-06-01', efi: ['severe', '0.40'], adm: [E(-15), E(-45), E(-75)] },
  'mdt-p-other': { gp: 'mdt-gp-x', born: '1938-02-02', efi: ['severe', '0.50'], adm: [E(-15), E(-45), E(-75)] },
  'mdt-p-referred': { gp: 'mdt-gp-b', born: '1956-04-04', referral: -3 },
  'mdt-p-dead': { gp: 'mdt-gp-a', born: '1936-01-01', efi: ['severe', '0.55'], adm: [E(-15), E(-45), E(-75)], died: -3 },
  'mdt-p-elective': { gp: 'mdt-gp-b', born: '1945-10-10', efi: ['severe', '0.39'], adm: [E(-20), { d: -40, how: 'elective' }] },
  'mdt-p-recent': { gp: 'mdt-gp-a', born: '1943-12-12', efi: ['severe', '0.42'], adm: [E(-25), E(-55)], talks: [-30] },
  'mdt-p-risk': { gp: 'mdt-gp-a', born: '1951-08-08', efi: ['mild', '0.15'], ear: '0.40' },
  'mdt-p-hist': { gp: 'mdt-gp-b', born: '1935-03-03', adm: [E(-170), E(-140), E(-100)], talks: [-150], died: -80 },
};

// ---- the rules, as docs/mdt.md states them (not read from the C code) ----------

const RANK = { fit: 0, mild: 1, moderate: 2, severe: 3 };
function ageAt(born, when) {
  const b = new Date(`${born}T00:00:00Z`), t = new Date(when);
  let a = t.getUTCFullYear() - b.getUTCFullYear();
  if (t.getUTCMonth() < b.getUTCMonth() || (t.getUTCMonth() === b.getUTCMonth() && t.getUTCDate() < b.getUTCDate())) a--;
  return a;
}
function monthsBefore(when, months) {
  const t = new Date(when);
  const d = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() - months, 1, t.getUTCHours(), t.getUTCMinutes()));
  const len = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(t.getUTCDate(), len));
  return d.getTime();
}
/** The people the rules pick at `now`, in the documented order. */
function oracle(now, rules = {}) {
  const r = { frailty: 'severe', admissions: 2, months: 6, risk: null, referrals: true, minAge: 65, restDays: 90, ...rules };
  const t = Date.parse(now), from = monthsBefore(now, r.months);
  const picked = [];
  for (const [id, p] of Object.entries(PEOPLE)) {
    if (PRACTICES[p.gp] !== 'mdt-int-1' || p.died !== undefined || ageAt(p.born, now) < r.minAge) continue;
    const adm = (p.adm ?? []).filter((a) => a.how !== 'elective' && Date.parse(at(T0, a.d)) >= from && Date.parse(at(T0, a.d)) <= t).length;
    const byFrailty = p.efi && RANK[p.efi[0]] >= RANK[r.frailty] && adm >= r.admissions;
    const byRisk = r.risk !== null && p.ear !== undefined && Number(p.ear) >= r.risk;
    const referred = r.referrals && p.referral !== undefined ? Date.parse(at(T0, p.referral)) : 0;
    let ok = byFrailty || byRisk || referred > 0;
    const talked = Math.max(0, ...(p.talks ?? []).map((d) => Date.parse(at(T0, d))));
    if (ok && talked && r.restDays > 0 && t - talked < r.restDays * DAY) ok = referred > talked;
    if (ok) picked.push({ id, referred, adm, risk: p.ear ? Number(p.ear) : -1, efi: p.efi ? Number(p.efi[1]) : -1, age: ageAt(p.born, now) });
  }
  picked.sort((a, b) => (b.referred > 0) - (a.referred > 0) || (a.referred > 0 && a.referred - b.referred) ||
    b.adm - a.adm || b.risk - a.risk || b.efi - a.efi || b.age - a.age || (a.id < b.id ? -1 : 1));
  return picked.map((p) => p.id);
}

// ---- helpers -------------------------------------------------------------------

let server, dbPath, dir, sys;
const as = {}; // chair, coord, nurse, stranger: API as that user
const tokens = {};
const ids = {}; // what the flow made

/** The API as a user (their token) or, without one, as the test system client. */
function apiAs(base, token) {
  const { req } = client(base);
  const call = (method, p, body, type) => req(method, p, {
    body, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(type ? { 'Content-Type': type } : {}) },
  });
  return {
    get: (p) => call('GET', p), post: (p, b) => call('POST', p, b), put: (p, b) => call('PUT', p, b),
    patch: (p, ops) => call('PATCH', p, ops, 'application/json-patch+json'),
  };
}

/** Start a server on db (a new one when undefined) with its clock at now. care_now reads KITH_NOW, which
 * startServer passes on; this file's process starts no server of another time. */
function serverAt(now, db) {
  process.env.KITH_NOW = now;
  return startServer({ dbPath: db });
}

/** Stop the server and start it again on the same database with the clock at now. */
async function moveClock(now) {
  await server.stop();
  server = await serverAt(now, dbPath);
  sys = apiAs(server.base);
  for (const [name, token] of Object.entries(tokens)) as[name] = apiAs(server.base, token);
}

const P = (...parameter) => ({ resourceType: 'Parameters', parameter });
const vref = (name, reference) => ({ name, valueReference: { reference } });
const vstr = (name, valueString) => ({ name, valueString });
const action = (description, owner, due) => ({
  name: 'action',
  part: [vstr('description', description), ...(owner ? [vref('owner', owner)] : []), { name: 'due', valueDate: due }],
});
const entries = (bundle, type) => (bundle.entry ?? []).map((e) => e.resource).filter((r) => r.resourceType === type);
const outcome = (r) => (r.json?.resourceType === 'OperationOutcome' ? r.json : null);
const ext = (x, name) => (x?.extension ?? []).find((e) => e.url === SD + name);

async function ok(res, status, what) {
  assert.equal(res.status, status, `${what}: ${res.status} ${res.text.slice(0, 600)}`);
  return res.json;
}

/** Expect an OperationOutcome with this status (and words in its diagnostics). */
function refused(res, status, words, what) {
  assert.equal(res.status, status, `${what}: ${res.status} ${res.text.slice(0, 400)}`);
  const oo = outcome(res);
  assert.ok(oo, `${what}: an OperationOutcome, got ${res.text.slice(0, 200)}`);
  if (words) assert.match(oo.issue.map((i) => i.diagnostics).join(' '), words, what);
}

/** The Patients of a case list, in order (through the case CareTeams, as the system reads them). */
async function listPatients(list) {
  const out = [];
  for (const e of list.entry ?? []) {
    assert.match(e.item.reference, /^CareTeam\//, 'case list entries point at case CareTeams, not at people');
    const team = await ok(await sys.get(`/fhir/${e.item.reference}`), 200, e.item.reference);
    out.push(team.subject.reference.slice('Patient/'.length));
  }
  return out;
}

async function findCases(api, parameters = []) {
  const r = await api.post('/fhir/CareTeam/mdt-1/$find-cases', P(...parameters));
  const b = await ok(r, 201, '$find-cases');
  const list = entries(b, 'List')[0];
  return { bundle: b, list, patients: await listPatients(list) };
}

function addUser(name, role, org, prac) {
  kith(['user', 'add', '--username', name, '--role', role, '--org', org, '--practitioner', prac, '--password-stdin',
    '--db', dbPath], `${PASSWORD}\n`);
  tokens[name] = kith(['user', 'token', name, '--expires', '1d', '--db', dbPath]).trim();
  as[name] = apiAs(server.base, tokens[name]);
}

async function put(resource) {
  const r = await sys.put(`/fhir/${resource.resourceType}/${resource.id}`, resource);
  assert.ok(r.status === 200 || r.status === 201, `PUT ${resource.resourceType}/${resource.id}: ${r.text.slice(0, 400)}`);
}

function encounter(id, pid, days, { type, cls = 'IMP', method, appointment } = {}) {
  const e = {
    resourceType: 'Encounter', id, status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: cls },
    subject: { reference: `Patient/${pid}` },
    period: { start: at(T0, days), end: at(T0, days + (cls === 'IMP' ? 3 : 0.02)) },
    serviceProvider: { reference: `Organization/${type === 'mdt-discussion' ? 'mdt-int-1' : 'mdt-org-acute'}` },
  };
  if (type) e.type = [{ coding: [{ system: `${CS}encounter-type`, code: type }] }];
  if (method) e.hospitalization = { extension: [{ url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod',
    valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland', code: method }] } }] };
  if (appointment) e.appointment = [{ reference: appointment }];
  return e;
}

async function seed() {
  for (const org of ['mdt-int-1', 'mdt-int-2']) await put({ resourceType: 'Organization', id: org, name: `Neighbourhood team ${org.slice(-1)}` });
  for (const [id, name] of [['mdt-org-community', 'Community trust'], ['mdt-org-acute', 'Hospital trust'], [LA, 'Council adult social care'], ['mdt-org-vcs', 'Good Neighbours']])
    await put({ resourceType: 'Organization', id, name });
  for (const [id, team] of Object.entries(PRACTICES))
    await put({ resourceType: 'Organization', id, name: `${id} Surgery`, partOf: { reference: `Organization/${team}` } });
  for (const [id, code, text, org] of STAFF) {
    await put({ resourceType: 'Practitioner', id, name: [{ family: id.slice(7), given: ['Sam'] }] });
    await put({ resourceType: 'PractitionerRole', id: `role-${id}`, active: true, practitioner: { reference: `Practitioner/${id}` },
      organization: { reference: `Organization/${org}` }, code: [{ coding: [{ system: `${CS}staff-role`, code }], text }] });
  }
  const member = (id, code, text, org, lead) => ({
    role: [{ coding: [{ system: `${CS}staff-role`, code }], text }, ...(lead ? [{ coding: [{ system: `${CS}mdt-role`, code: lead }] }] : [])],
    member: { reference: id }, onBehalfOf: { reference: `Organization/${org}` },
  });
  await put({
    resourceType: 'CareTeam', id: 'mdt-1', status: 'active', name: 'Riverside neighbourhood MDT',
    category: [{ coding: [{ system: `${CS}care-team-category`, code: 'mdt' }] }],
    managingOrganization: [{ reference: 'Organization/mdt-int-1' }],
    participant: [
      member('Practitioner/mdt-pr-chair', 'community-matron', 'Community matron', 'mdt-int-1', 'chair'),
      member('Practitioner/mdt-pr-coord', 'care-coordinator', 'Care coordinator', 'mdt-int-1', 'coordinator'),
      member('Practitioner/mdt-pr-dn', 'district-nurse', 'District nurse', 'mdt-org-community'),
      member('Practitioner/mdt-pr-sw', 'social-worker', 'Social worker', LA),
      member('Practitioner/mdt-pr-gp', 'gp', 'General practitioner', 'mdt-gp-a'),
      { role: [{ text: 'Voluntary sector' }], member: { reference: 'Organization/mdt-org-vcs' } },
    ],
  });
  await put({ resourceType: 'CareTeam', id: 'not-an-mdt', status: 'active', name: 'Ordinary team' });
  for (const [id, p] of Object.entries(PEOPLE)) {
    const pat = { resourceType: 'Patient', id, name: [{ family: id.slice(6).replace(/\d/, ''), given: ['Pat'] }], birthDate: p.born,
      generalPractitioner: [{ reference: `Organization/${p.gp}` }] };
    if (p.died !== undefined) pat.deceasedDateTime = at(T0, p.died);
    await put(pat);
    if (p.efi) await put({
      resourceType: 'RiskAssessment', id: `efi-${id}`, status: 'final', subject: { reference: `Patient/${id}` }, occurrenceDateTime: at(T0, -1),
      method: { coding: [{ system: `${CS}risk-method`, code: 'efi' }] },
      prediction: [{ qualitativeRisk: { coding: [{ system: `${CS}efi-category`, code: p.efi[0] }] } }],
      extension: [{ url: `${SD}efi-score`, valueDecimal: Number(p.efi[1]) }],
    });
    if (p.ear) await put({
      resourceType: 'RiskAssessment', id: `ear-${id}`, status: 'final', subject: { reference: `Patient/${id}` }, occurrenceDateTime: at(T0, -1),
      method: { coding: [{ system: `${CS}risk-method`, code: 'emergency-admission-12m' }] },
      prediction: [{ probabilityDecimal: Number(p.ear) }],
    });
    for (const [k, a] of (p.adm ?? []).entries())
      await put(encounter(`${id}-adm-${k}`, id, a.d, a.how === 'method' ? { method: '21' }
        : a.how === 'elective' ? { type: 'elective-admission', method: '11' } : { type: 'emergency-admission', method: '21' }));
    for (const [k, d] of (p.talks ?? []).entries())
      await put(encounter(`${id}-talk-${k}`, id, d, { type: 'mdt-discussion', cls: 'VR' }));
    if (p.referral !== undefined) await put({
      resourceType: 'ServiceRequest', id: `${id}-for-mdt`, status: 'active', intent: 'order', priority: 'urgent',
      category: [{ coding: [{ system: `${CS}referral-category`, code: 'mdt' }] }], subject: { reference: `Patient/${id}` },
      authoredOn: at(T0, p.referral), requester: { reference: 'Practitioner/mdt-pr-gp' },
      reasonCode: [{ text: 'Carer exhausted; several falls' }],
    });
  }
}

// ---- the flow ------------------------------------------------------------------

before(async () => {
  server = await serverAt(T0);
  dbPath = server.dbPath;
  dir = server.dir;
  sys = apiAs(server.base);
  await seed();
  addUser('chair', 'mdt-chair', 'mdt-int-1', 'mdt-pr-chair');
  addUser('coord', 'care-coordinator', 'mdt-int-1', 'mdt-pr-coord');
  addUser('nurse', 'community-nurse', 'mdt-org-community', 'mdt-pr-dn');
  addUser('stranger', 'gp', 'mdt-gp-x', 'mdt-pr-stranger');
});

after(async () => {
  if (server) await server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('MDT meetings', () => {
  it('case finding picks exactly the people the rules say, in priority order', async () => {
    const variants = [
      [[], {}],
      [[{ name: 'frailty', valueCode: 'moderate' }, { name: 'admission-risk', valueDecimal: 0.3 }, { name: 'rest-days', valueInteger: 0 },
        { name: 'referrals', valueBoolean: false }], { frailty: 'moderate', risk: 0.3, restDays: 0, referrals: false }],
      [[{ name: 'admissions', valueInteger: 1 }, { name: 'months', valueInteger: 12 }, { name: 'min-age', valueInteger: 55 }],
        { admissions: 1, months: 12, minAge: 55 }],
    ];
    for (const [parameters, rules] of variants) {
      const got = await findCases(as.chair, parameters);
      const want = oracle(T0, rules);
      assert.ok(want.length >= 3, 'the fixture exercises the rules');
      assert.deepEqual(got.patients, want, `rules ${JSON.stringify(rules)}`);
      assert.equal(got.list.mode, 'working');
      assert.equal(got.list.status, 'current');
      assert.equal(got.list.orderedBy.coding[0].code, 'priority');
    }
    // the default list, for the rest of the flow: referred first, then by emergency admissions
    const main = await findCases(as.chair);
    assert.deepEqual(main.patients, ['mdt-p-referred', 'mdt-p-severe3', 'mdt-p-severe2']);
    ids.list1 = main.list.id;
    ids.teams = Object.fromEntries(main.patients.map((p, i) => [p, main.list.entry[i].item.reference]));
    const teams = entries(main.bundle, 'CareTeam');
    const severe3 = teams.find((t) => t.subject.reference === 'Patient/mdt-p-severe3');
    assert.equal(severe3.status, 'proposed');
    assert.match(severe3.reasonCode[0].text, /^Severe frailty \(eFI 0\.45\) and 3 emergency admissions in the last 6 months$/);
    assert.match(teams.find((t) => t.subject.reference === 'Patient/mdt-p-referred').reasonCode[0].text, /Referred for MDT discussion \(urgent\)/);
    assert.deepEqual(severe3.participant.map((p) => p.member.reference).sort(), ['Practitioner/mdt-pr-chair', 'Practitioner/mdt-pr-coord'],
      'a proposal names only the chair and coordinator');
    // a proposal does not open the person's record to the other members yet
    assert.equal((await as.nurse.get('/fhir/Patient/mdt-p-severe3')).status, 404);
    assert.equal((await as.nurse.get(`/fhir/${ids.teams['mdt-p-severe3']}`)).status, 404);
    // the List itself names nobody: it is outside anyone's record, so everyone could read it
    const asStranger = await ok(await as.stranger.get(`/fhir/List/${ids.list1}`), 200, 'List as a stranger');
    assert.ok(!JSON.stringify(asStranger).includes('Patient/'), 'no Patient reference in the case list');
    // someone who is not the chair or coordinator cannot find cases
    refused(await as.nurse.post('/fhir/CareTeam/mdt-1/$find-cases', P()), 403, /chair or coordinator/, 'nurse finds cases');
  });

  it('the chair edits the list: reorders, removes, adds a person and sets a time-box', async () => {
    const patched = await ok(await as.chair.patch(`/fhir/List/${ids.list1}`, [
      { op: 'remove', path: '/entry/2' },
      { op: 'move', from: '/entry/1', path: '/entry/0' },
      { op: 'add', path: '/entry/0/extension', value: [{ url: `${SD}time-box`, valueDuration: { value: 15, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' } }] },
    ]), 200, 'PATCH the case list');
    assert.deepEqual(await listPatients(patched), ['mdt-p-severe3', 'mdt-p-referred']);
    const added = await ok(await as.chair.post('/fhir/CareTeam/mdt-1/$add-case', P(vref('list', `List/${ids.list1}`),
      vref('patient', 'Patient/mdt-p-moderate'), vstr('reason', 'Daughter worried about falls at night'))), 200, '$add-case');
    const list = entries(added, 'List')[0];
    assert.deepEqual(await listPatients(list), ['mdt-p-severe3', 'mdt-p-referred', 'mdt-p-moderate']);
    assert.match(entries(added, 'CareTeam')[0].reasonCode[0].text, /Daughter worried/);
    refused(await as.chair.post('/fhir/CareTeam/mdt-1/$add-case', P(vref('list', `List/${ids.list1}`),
      vref('patient', 'Patient/mdt-p-moderate'), vstr('reason', 'again'))), 409, /already on/, 'adding someone twice');
    refused(await as.chair.post('/fhir/CareTeam/mdt-1/$add-case', P(vref('list', `List/${ids.list1}`),
      vref('patient', 'Patient/mdt-p-other'), vstr('reason', 'not ours'))), 404, /not known/, 'someone of another neighbourhood');
  });

  it('planning the meeting accepts the list: time-boxes, the members brought into those people\'s care', async () => {
    refused(await as.chair.post('/fhir/CareTeam/mdt-1/$plan-meeting', P({ name: 'start', valueDateTime: MEETING1 })), 400,
      /list must be a reference/, 'no list');
    const planned = await ok(await as.chair.post('/fhir/CareTeam/mdt-1/$plan-meeting', P(vref('list', `List/${ids.list1}`),
      { name: 'start', valueDateTime: MEETING1 }, { name: 'minutes', valueInteger: 60 }, vstr('description', 'Riverside Health Hub, room 2'))),
    201, '$plan-meeting');
    const appt = entries(planned, 'Appointment')[0];
    ids.meeting1 = appt.id;
    assert.equal(appt.status, 'booked');
    assert.equal(appt.start, MEETING1);
    assert.deepEqual(appt.participant.map((p) => p.actor.reference).sort(), STAFF.slice(0, 5).map((s) => `Practitioner/${s[0]}`).sort());
    const list = entries(planned, 'List')[0];
    assert.ok(ext(list, 'accepted'), 'the list is marked accepted');
    assert.deepEqual(list.entry.map((e) => ext(e, 'time-box').valueDuration.value), [15, 10, 10]);
    for (const t of entries(planned, 'CareTeam')) {
      assert.equal(t.status, 'active');
      assert.equal(t.participant.length, 6, 'every member, organisations too');
    }
    // the member now sees the people on the list; the one taken off stays closed to them
    await ok(await as.nurse.get('/fhir/Patient/mdt-p-severe3'), 200, 'nurse reads a person on the accepted list');
    assert.equal((await as.nurse.get('/fhir/Patient/mdt-p-severe2')).status, 404);
    const dropped = await ok(await sys.get(`/fhir/${ids.teams['mdt-p-severe2']}`), 200, 'dropped case');
    assert.equal(dropped.status, 'inactive', 'a proposal the chair took off the list ends');
    refused(await as.chair.post('/fhir/CareTeam/mdt-1/$plan-meeting', P(vref('list', `List/${ids.list1}`),
      { name: 'start', valueDateTime: MEETING1 })), 409, /already the case list/, 'planning twice');
  });

  it('recording a case writes the summary into the person\'s record and the actions into owners\' worklists', async () => {
    await moveClock(T0M);
    // started late: the meeting keeps its planned length
    const planned = await ok(await sys.get(`/fhir/Appointment/${ids.meeting1}`), 200, 'the planned meeting');
    const late = new Date(Date.parse(MEETING1) + 5 * 60000).toISOString().replace('.000Z', 'Z');
    const begun = await ok(await as.chair.post(`/fhir/Appointment/${ids.meeting1}/$attendance`, P(
      { name: 'started', valueDateTime: late })), 200, '$attendance started');
    assert.equal(begun.minutesDuration, planned.minutesDuration);
    assert.equal((Date.parse(begun.end) - Date.parse(begun.start)) / 60000, planned.minutesDuration);
    assert.equal(begun.status, 'arrived');
    // over in seconds: a minute (minutesDuration is a positiveInt)
    const brief = await ok(await as.chair.post(`/fhir/Appointment/${ids.meeting1}/$attendance`, P(
      { name: 'started', valueDateTime: late }, { name: 'ended', valueDateTime: late.replace(/:00Z$/, ':20Z') })), 200, '$attendance brief');
    assert.equal(brief.minutesDuration, 1);
    const att = await ok(await as.chair.post(`/fhir/Appointment/${ids.meeting1}/$attendance`, P(
      vref('present', 'Practitioner/mdt-pr-chair'), vref('present', 'Practitioner/mdt-pr-dn'), vref('present', 'Practitioner/mdt-pr-sw'),
      vref('present', 'Practitioner/mdt-pr-gp'), vref('absent', 'Practitioner/mdt-pr-coord'),
      { name: 'started', valueDateTime: MEETING1 }, { name: 'ended', valueDateTime: '2026-11-04T13:45:00Z' })), 200, '$attendance');
    assert.equal(att.status, 'fulfilled');
    assert.equal(att.minutesDuration, 45);
    // a Task owner missing: 422 from the Task rules, and nothing written
    refused(await as.chair.post(`/fhir/Appointment/${ids.meeting1}/$record-case`, P(vref('patient', 'Patient/mdt-p-severe3'),
      vstr('summary', 'x'), action('Visit', null, '2026-11-09'))), 422, /owner/, 'an action without an owner');
    assert.equal((await sys.get(`/fhir/Encounter?appointment=Appointment/${ids.meeting1}&_summary=count`)).json.total, 0);
    const rec = await ok(await as.chair.post(`/fhir/Appointment/${ids.meeting1}/$record-case`, P(
      vref('patient', 'Patient/mdt-p-severe3'),
      vstr('summary', 'Lives alone; third admission since May. <b>Not bold</b> & keen to stay at home.\nDaughter visits weekly.'),
      vstr('decision', 'Community matron to case-manage'), vstr('decision', 'Refer for a falls assessment'),
      action('Home visit: medicines review and falls risk', 'Practitioner/mdt-pr-dn', '2026-11-09'),
      action('Check pendant alarm is working', 'Practitioner/mdt-pr-dn', '2026-11-12'))), 201, '$record-case');
    const comp = entries(rec, 'Composition')[0];
    const [a1, a3] = entries(rec, 'Task');
    ids.comp = comp.id;
    ids.a1 = a1.id;
    ids.a3 = a3.id;
    assert.equal(comp.subject.reference, 'Patient/mdt-p-severe3');
    assert.deepEqual(comp.section.map((s) => s.title), ['Why they were discussed', 'Summary', 'Decisions', 'Actions', 'Present']);
    assert.deepEqual(comp.section[3].entry.map((e) => e.reference), [`Task/${a1.id}`, `Task/${a3.id}`]);
    assert.equal(entries(rec, 'Encounter')[0].type[0].coding[0].code, 'mdt-discussion');
    for (const [t, due] of [[a1, '2026-11-09'], [a3, '2026-11-12']]) {
      assert.equal(t.status, 'requested');
      assert.equal(t.owner.reference, 'Practitioner/mdt-pr-dn');
      assert.equal(t.restriction.period.end, due);
      assert.equal(t.basedOn[0].reference, `Appointment/${ids.meeting1}`);
    }
    const rec2 = await ok(await as.chair.post(`/fhir/Appointment/${ids.meeting1}/$record-case`, P(
      vref('patient', 'Patient/mdt-p-referred'), vstr('summary', 'Carer breakdown risk; wants to stay at home.'),
      action('Carer\'s assessment', `Organization/${LA}`, '2026-12-07'))), 201, '$record-case referred');
    ids.a2 = entries(rec2, 'Task')[0].id;
    assert.equal((await ok(await sys.get('/fhir/ServiceRequest/mdt-p-referred-for-mdt'), 200, 'referral')).status, 'completed',
      'the referral for MDT discussion is done');
    // in the person's record, for their care team
    const everything = await ok(await as.nurse.get('/fhir/Patient/mdt-p-severe3/$everything'), 200, '$everything (nurse)');
    const kinds = new Set(everything.entry.map((e) => `${e.resource.resourceType}/${e.resource.id}`));
    assert.ok(kinds.has(`Composition/${comp.id}`), '$everything holds the summary');
    await ok(await as.nurse.get(`/fhir/Composition/${comp.id}`), 200, 'a care team member reads the summary');
    assert.equal((await as.stranger.get(`/fhir/Composition/${comp.id}`)).status, 404, 'someone unrelated cannot');
    assert.equal((await as.stranger.get(`/fhir/Composition/${comp.id}/$document?format=markdown`)).status, 404);
    // readable exports
    const md = await as.nurse.get(`/fhir/Composition/${comp.id}/$document?format=markdown`);
    assert.equal(md.status, 200);
    assert.match(md.headers.get('content-type'), /^text\/markdown/);
    assert.match(md.text, /Home visit: medicines review and falls risk/);
    assert.match(md.text, /Daughter visits weekly/);
    const html = await as.nurse.get(`/fhir/Composition/${comp.id}/$document?format=html`);
    assert.match(html.headers.get('content-type'), /^text\/html/);
    assert.ok(html.text.includes('&lt;b&gt;Not bold&lt;/b&gt; &amp; keen') && !html.text.includes('<b>'), 'stored text is escaped');
    const doc = await ok(await as.nurse.get(`/fhir/Composition/${comp.id}/$document`), 200, '$document');
    assert.equal(doc.type, 'document');
    assert.equal(doc.entry[0].resource.id, comp.id);
    const minutes = await as.chair.get(`/fhir/Appointment/${ids.meeting1}/$minutes?format=markdown`);
    assert.equal(minutes.status, 200);
    assert.match(minutes.text, /## Present\n\n- Sam chair \(Community matron\)\n- Sam dn \(District nurse\)/);
    assert.match(minutes.text, /## Apologies\n\n- Sam coord \(Care coordinator\)/);
    assert.match(minutes.text, /Carer's assessment/);
    // actions are in their owners' worklists, with their due dates
    const mine = await ok(await as.nurse.get('/fhir/Task/$worklist?list=mine'), 200, 'nurse worklist');
    assert.deepEqual(mine.entry.map((e) => [e.resource.id, e.resource.restriction.period.end]), [[a1.id, '2026-11-09'], [a3.id, '2026-11-12']]);
    const team = await ok(await sys.get(`/fhir/Task/$worklist?list=team&team=${LA}`), 200, 'council team worklist');
    assert.ok(team.entry.some((e) => e.resource.id === ids.a2 && e.resource.restriction.period.end === '2026-12-07'));
    // bad input at a meeting
    refused(await as.chair.post(`/fhir/Appointment/${ids.meeting1}/$record-case`, P(vref('patient', 'Patient/mdt-p-severe3'),
      vstr('summary', 'again'))), 409, /already recorded/, 'recording twice');
    refused(await as.chair.post(`/fhir/Appointment/${ids.meeting1}/$record-case`, P(vref('patient', 'Patient/mdt-p-risk'),
      vstr('summary', 'x'))), 422, /not on the case list/, 'someone not on the list');
    refused(await as.chair.post(`/fhir/Appointment/${ids.meeting1}/$record-case`, '{"resourceType":"Parameters",'), 400, /JSON/, 'malformed JSON');
    refused(await as.chair.get('/fhir/Appointment/no-such-meeting/$agenda'), 404, /not known/, 'unknown meeting');
    // the nurse does the third action in time (accepting it first, as any Task)
    let task = await ok(await as.nurse.get(`/fhir/Task/${a3.id}`), 200, 'read action');
    task = await ok(await as.nurse.put(`/fhir/Task/${a3.id}`, { ...task, status: 'accepted' }), 200, 'accept action');
    await ok(await as.nurse.put(`/fhir/Task/${a3.id}`, { ...task, status: 'completed', executionPeriod: { end: T0M } }), 200, 'complete');
  });

  it('the next agenda puts the actions from the previous meeting first, with their state', async () => {
    await moveClock(T1);
    const found = await findCases(as.chair);
    assert.deepEqual(found.patients, oracle(T1, {}).filter((p) => !['mdt-p-severe3', 'mdt-p-referred'].includes(p)));
    assert.deepEqual(found.patients, ['mdt-p-severe2'], 'the two discussed rest; the one taken off comes back');
    assert.equal(found.list.entry[0].flag.coding[0].code, 'review', 'discussed before (130 days ago)');
    const planned = await ok(await as.chair.post('/fhir/CareTeam/mdt-1/$plan-meeting', P(vref('list', `List/${found.list.id}`),
      { name: 'start', valueDateTime: MEETING2 }, { name: 'minutes', valueInteger: 60 })), 201, 'plan meeting 2');
    ids.meeting2 = entries(planned, 'Appointment')[0].id;
    const agenda = await ok(await as.chair.get(`/fhir/Appointment/${ids.meeting2}/$agenda`), 200, '$agenda');
    assert.equal(agenda.resourceType, 'List');
    const rows = agenda.entry.map((e) => [ext(e, 'agenda-section').valueCode, e.item.reference, e.flag.coding[0].code,
      ext(e, 'time-box').valueDuration.value, ext(e, 'planned-start')?.valueDateTime]);
    assert.deepEqual(rows, [
      ['previous-actions', `Task/${ids.a1}`, 'overdue', 2, MEETING2],
      ['previous-actions', `Task/${ids.a2}`, 'open', 1, '2026-11-30T13:02:00Z'],
      ['previous-actions', `Task/${ids.a3}`, 'done-on-time', 0, '2026-11-30T13:03:00Z'],
      ['cases', 'Patient/mdt-p-severe2', 'review', 5, '2026-11-30T13:03:00Z'],
    ]);
    const text = await as.chair.get(`/fhir/Appointment/${ids.meeting2}/$agenda?format=markdown`);
    assert.match(text.text, /1\. Actions from earlier meetings \(3 minutes\)\n\n- Overdue: due Monday 9 November 2026: Home visit/);
    assert.match(text.text, /### 13:03 1\. Pat severe, \d+ \(5 minutes\)/);
    const rec = await ok(await as.chair.post(`/fhir/Appointment/${ids.meeting2}/$record-case`, P(
      vref('patient', 'Patient/mdt-p-severe2'), vstr('summary', 'Stable since the last review.'),
      action('Review care package', 'Practitioner/mdt-pr-sw', '2026-12-14'), { name: 'outcome', valueCode: 'close' })), 201, 'record meeting 2');
    assert.equal(entries(rec, 'Task').length, 1);
    const closed = await ok(await sys.get(`/fhir/${found.list.entry[0].item.reference}`), 200, 'case team');
    assert.equal(closed.status, 'inactive', 'closing the case ends the MDT\'s care');
  });

  it('the measures come out as computed by hand', async () => {
    const m = await ok(await as.chair.get(`/fhir/CareTeam/mdt-1/$mdt-measures?from=${at(T0, -10).slice(0, 10)}&to=${at(T1, 2).slice(0, 10)}`),
      200, '$mdt-measures');
    assert.equal(m.resourceType, 'MeasureReport');
    const g = Object.fromEntries(m.group.map((x) => [x.code.coding[0].code,
      { score: x.measureScore?.value, ...Object.fromEntries(x.population.map((p) => [p.code.coding[0].code, p.count])) }]));
    assert.deepEqual(g.meetings, { score: 2, 'initial-population': 2, numerator: 2 });
    assert.deepEqual(g['cases-discussed'], { score: 3, 'initial-population': 3, numerator: 3, 'measure-population': 3 });
    // 3 cases in 45 + 60 minutes
    assert.deepEqual(g['cases-per-hour'], { score: 1.71, numerator: 3, denominator: 105 });
    // found Monday 09:00, discussed Wednesday 13:00 (twice); found and discussed the same day
    assert.deepEqual(g['days-to-discussion'], { score: 2.17, 'measure-population': 3 });
    // overdue, open, done on time (first meeting); open (second)
    assert.deepEqual(g['actions-on-time'], { score: 50, 'initial-population': 4, numerator: 1, denominator: 2, 'denominator-exclusion': 2 });
    assert.deepEqual(g['repeat-discussions'], { score: 33.33, numerator: 1, denominator: 3 });
    assert.equal(g['admissions-after']['measure-population'], 0, 'nobody\'s 90 days have passed');
    // earlier discussions (written by another system): outcomes 90 days on
    const old = await ok(await as.chair.get(`/fhir/CareTeam/mdt-1/$mdt-measures?from=${at(T0, -160).slice(0, 10)}&to=${at(T0, -120).slice(0, 10)}`),
      200, '$mdt-measures (earlier)');
    const h = Object.fromEntries(old.group.map((x) => [x.code.coding[0].code,
      { score: x.measureScore?.value, ...Object.fromEntries(x.population.map((p) => [p.code.coding[0].code, p.count])) }]));
    assert.deepEqual(h['cases-discussed'], { score: 2, 'initial-population': 2, numerator: 0, 'measure-population': 2 });
    assert.deepEqual(h['admissions-before'], { score: 50, 'measure-population': 2, numerator: 1 });
    assert.deepEqual(h['admissions-after'], { score: 150, 'measure-population': 2, numerator: 3 });
    assert.deepEqual(h['deaths-after'], { score: 50, numerator: 1, denominator: 2 });
    assert.equal(h['cases-per-hour'].score, undefined, 'no meetings: no rate');
    refused(await as.chair.get('/fhir/CareTeam/mdt-1/$mdt-measures?from=soon'), 400, /from and to/, 'a bad date');
  });

  it('bad input gets an OperationOutcome with the right status', async () => {
    refused(await as.chair.post('/fhir/CareTeam/no-such-mdt/$find-cases', P()), 404, /not known/, 'unknown CareTeam');
    refused(await as.chair.post('/fhir/CareTeam/not-an-mdt/$find-cases', P()), 422, /not an MDT/, 'a CareTeam that is not an MDT');
    refused(await as.chair.post('/fhir/CareTeam/mdt-1/$find-cases', '{"resourceType": "Parameters", "parameter": ['), 400, /not valid JSON/, 'malformed JSON');
    refused(await as.chair.post('/fhir/CareTeam/mdt-1/$find-cases', P({ name: 'frailty', valueCode: 'very' })), 400, /frailty must be/, 'a bad rule');
    refused(await as.chair.post('/fhir/CareTeam/mdt-1/$find-cases', P(vstr('colour', 'blue'))), 400, /unknown parameter 'colour'/, 'an unknown rule');
    refused(await as.chair.get('/fhir/CareTeam/mdt-1/$find-cases'), 405, null, 'GET on a POST operation');
    refused(await as.chair.get('/fhir/CareTeam/no-such-mdt/$mdt-measures'), 404, /not known/, 'measures of an unknown CareTeam');
    refused(await as.chair.post('/fhir/CareTeam/mdt-1/$plan-meeting', P(vref('list', `List/${ids.list1}`),
      { name: 'start', valueDate: '2026-12-01' })), 400, /start must be the date and time/, 'a start without a time');
    refused(await as.stranger.post(`/fhir/Appointment/${ids.meeting2}/$record-case`, P(vref('patient', 'Patient/mdt-p-severe2'),
      vstr('summary', 'x'))), 403, /chair or coordinator/, 'a stranger records a case');
    const cap = await ok(await sys.get('/fhir/metadata'), 200, 'metadata');
    const ops = cap.rest[0].resource.find((r) => r.type === 'CareTeam').operation.map((o) => o.name);
    assert.deepEqual(ops, ['find-cases', 'add-case', 'plan-meeting', 'mdt-measures']);
  });
});
