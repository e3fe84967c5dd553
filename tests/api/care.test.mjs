// care.test.mjs — care coordination (src/care/) through the real API: referrals
// that someone owns (ServiceRequest/$refer + Task), the Task state machine,
// response clocks in working time, escalation, worklists, the key worker and
// care team, the shared plan, messages with read receipts, discharge follow-ups
// and leavers.
//
// A synthetic place (`kith synth --people 300 --seed 7`) is made once and
// copied for each server that needs a clock of its own. Every server runs with
// KITH_NOW fixed (care_now reads it), so due dates and "in time / late" are
// known by hand; the SLA test moves time by stopping the server and starting a
// new one on the same database with a later KITH_NOW.
//
// Staff act with their own bearer tokens (`kith user add`/`kith user token`) so
// the access policy, attribution (meta changed-by) and worklists see real users;
// the hospital's EPR writes Encounters as the system client startServer registers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { client, kith, startServer, tempDir } from './lib/server.mjs';

const CS = 'https://kith.example.org/fhir/CodeSystem/';
const SD = 'https://kith.example.org/fhir/StructureDefinition/';
const LA = 'la-E06000999';
const PRACTICE = 'gp-Z00001';
const PASSWORD = 'care-test-password';
const IMP = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP', display: 'inpatient encounter' };
// The main server's clock: Wednesday 4 March 2026, 10:00 GMT (no holidays near).
const NOW = '2026-03-04T10:00:00Z';

// The referral state machine, as the brief states it (not read from the C code).
const MOVES = {
  draft: ['requested', 'cancelled'],
  requested: ['received', 'accepted', 'rejected', 'cancelled'],
  received: ['accepted', 'rejected', 'cancelled'],
  accepted: ['in-progress', 'on-hold', 'completed', 'cancelled'],
  'in-progress': ['on-hold', 'completed', 'failed', 'cancelled'],
  'on-hold': ['in-progress', 'completed', 'failed', 'cancelled'],
  rejected: [], completed: [], cancelled: [], failed: [], 'entered-in-error': [],
};
const legalMove = (from, to) => from === to || to === 'entered-in-error' || (MOVES[from] ?? []).includes(to);

// ---- helpers -----------------------------------------------------------------

let dir; // temp directory: the pristine place and its copies
let pristine; // the synthetic place as `kith synth` left it
let main; // { server, sys, db }
const staff = {}; // gp, sw1, sw2, leaver: Practitioner ids
const users = {}; // name → API as that user
const pick = {}; // patients

/** A copy of the pristine place (with its WAL, if any) at dir/name. */
function placeCopy(name) {
  const to = path.join(dir, name);
  for (const sfx of ['', '-wal', '-shm'])
    if (fs.existsSync(pristine + sfx)) fs.copyFileSync(pristine + sfx, to + sfx);
  return to;
}

/** Start kith serve on db with KITH_NOW = now (startServer passes process.env on). */
async function serverAt(db, now) {
  const saved = process.env.KITH_NOW;
  process.env.KITH_NOW = now;
  try {
    return await startServer({ dbPath: db });
  } finally {
    if (saved === undefined) delete process.env.KITH_NOW;
    else process.env.KITH_NOW = saved;
  }
}

/** API calls on base as token (undefined: the test system client). */
function apiAs(base, token) {
  const c = client(base);
  const h = (o = {}) => (token ? { ...o, headers: { Authorization: `Bearer ${token}`, ...(o.headers ?? {}) } } : o);
  return {
    get: (p, o) => c.get(p, h(o)),
    post: (p, body, o) => c.post(p, body, h(o)),
    put: (p, body, o) => c.put(p, body, h(o)),
    patch: (p, ops, o = {}) => c.req('PATCH', p, h({ ...o, body: ops, headers: { 'Content-Type': 'application/json-patch+json', ...(o.headers ?? {}) } })),
  };
}

/** Add a user to db and return an API acting as them. */
function addUser(base, db, name, role, org, prac) {
  const args = ['user', 'add', '--username', name, '--role', role, '--org', org];
  if (prac) args.push('--practitioner', prac);
  kith([...args, '--password-stdin', '--db', db], `${PASSWORD}\n`);
  const token = kith(['user', 'token', name, '--db', db]).trim();
  return apiAs(base, token);
}

const ext = (r, name) => (r?.extension ?? []).find((e) => e.url === SD + name);
const changedBy = (r) => ext(r?.meta, 'changed-by')?.valueReference;
const codes = (cc) => (Array.isArray(cc) ? cc : [cc]).flatMap((c) => (c?.coding ?? []).map((k) => `${k.system}|${k.code}`));
const hasCode = (cc, system, code) => codes(cc).includes(`${system}|${code}`);
const due = (task) => task?.restriction?.period?.end;
const ids = (bundle) => (bundle.entry ?? []).map((e) => e.resource.id);

function assertChangedBy(r, display, practitioner, what) {
  const by = changedBy(r);
  assert.ok(by, `${what ?? r.resourceType}: meta.extension changed-by is missing`);
  assert.equal(by.display, display, `${what ?? r.resourceType}: changed by`);
  if (practitioner !== undefined) assert.equal(by.reference, practitioner ? `Practitioner/${practitioner}` : undefined, `${what ?? r.resourceType}: changed-by reference`);
}

/** POST ServiceRequest/$refer; returns { res, sr, task, outcome }. */
async function refer(api, { patient, service, priority = 'routine', reason = 'Needs care and support at home', note, requester, owner }) {
  const parameter = [
    { name: 'patient', valueReference: { reference: `Patient/${patient}` } },
    { name: 'service', valueReference: { reference: `HealthcareService/${service}` } },
  ];
  if (priority !== null) parameter.push({ name: 'priority', valueCode: priority });
  if (reason !== null) parameter.push({ name: 'reason', valueString: reason });
  if (note) parameter.push({ name: 'note', valueString: note });
  if (requester) parameter.push({ name: 'requester', valueReference: { reference: `Practitioner/${requester}` } });
  if (owner) parameter.push({ name: 'owner', valueReference: { reference: owner } });
  const res = await api.post('/fhir/ServiceRequest/$refer', { resourceType: 'Parameters', parameter });
  const of = (t) => res.json?.entry?.find((e) => e.resource.resourceType === t)?.resource;
  return { res, sr: of('ServiceRequest'), task: of('Task'), outcome: of('OperationOutcome') };
}

/** A referral that must succeed; returns its Task. */
async function referOk(api, args) {
  const r = await refer(api, args);
  assert.equal(r.res.status, 201, `$refer ${args.patient} → ${args.service}: ${r.res.text.slice(0, 400)}`);
  return r;
}

/** GET type/id (must exist) as api. */
async function read(api, type, id) {
  const r = await api.get(`/fhir/${type}/${id}`);
  assert.equal(r.status, 200, `GET ${type}/${id}: ${r.text.slice(0, 300)}`);
  return r.json;
}

/** PUT the Task with changes applied to a copy of base; returns the response. */
function putTask(api, base, changes, headers) {
  const body = { ...structuredClone(base), ...changes };
  for (const [k, v] of Object.entries(changes)) if (v === undefined) delete body[k];
  return api.put(`/fhir/Task/${base.id}`, body, headers ? { headers } : undefined);
}

/** A status move that must succeed; returns the new Task. */
async function moveOk(api, task, status, changes = {}) {
  const r = await putTask(api, task, { status, ...changes });
  assert.equal(r.status, 200, `Task ${task.status} → ${status}: ${r.text.slice(0, 400)}`);
  assert.equal(r.json.status, status);
  return r.json;
}

/** The versions of type/id, oldest first. */
async function history(api, type, id) {
  const r = await api.get(`/fhir/${type}/${id}/_history?_count=1000`);
  assert.equal(r.status, 200, `history of ${type}/${id}: ${r.text.slice(0, 300)}`);
  return (r.json.entry ?? []).map((e) => e.resource).filter(Boolean)
    .sort((a, b) => Number(a.meta.versionId) - Number(b.meta.versionId));
}

/** GET Task/$worklist?list=... as api; asserts 200 and a consistent total. */
async function worklist(api, query) {
  const r = await api.get(`/fhir/Task/$worklist?${query}&_count=500`);
  assert.equal(r.status, 200, `$worklist ${query}: ${r.text.slice(0, 300)}`);
  assert.equal(r.json.resourceType, 'Bundle');
  assert.equal(r.json.type, 'searchset');
  assert.equal(r.json.total, (r.json.entry ?? []).length, `$worklist ${query}: total is the number of entries (all fit in one page)`);
  return r.json;
}

/** Search (as the system client unless api given); all matches in one page. */
async function search(query, api = main.sys) {
  const r = await api.get(`/fhir/${query}${query.includes('?') ? '&' : '?'}_count=1000`);
  assert.equal(r.status, 200, `GET ${query}: ${r.text.slice(0, 300)}`);
  return (r.json.entry ?? []).map((e) => e.resource);
}

/** The timeline List's events as [what, item reference, who]. */
function timelineEvents(bundle) {
  const list = bundle.entry[0].resource;
  assert.equal(list.resourceType, 'List', 'the first entry of $timeline is the List of events');
  return list.entry.map((e) => [e.flag?.text, e.item?.reference, e.item?.display]);
}

/** Whole years between a birth date and an instant. */
function ageAt(birthDate, at) {
  const b = new Date(`${birthDate}T00:00:00Z`), t = new Date(at);
  let age = t.getUTCFullYear() - b.getUTCFullYear();
  if (t.getUTCMonth() < b.getUTCMonth() || (t.getUTCMonth() === b.getUTCMonth() && t.getUTCDate() < b.getUTCDate())) age--;
  return age;
}

// ---- the place -----------------------------------------------------------------

before(async () => {
  dir = tempDir('kith-care-');
  pristine = path.join(dir, 'place.db');
  kith(['synth', '--people', '300', '--seed', '7', '--db', pristine, '--quiet']);
  const db = placeCopy('main.db');
  const server = await serverAt(db, NOW);
  main = { server, db, sys: apiAs(server.base) };

  const roles = await search('PractitionerRole?active=true');
  const at = (code, org) => roles
    .filter((r) => r.organization?.reference === `Organization/${org}` && hasCode(r.code, `${CS}staff-role`, code))
    .map((r) => r.practitioner.reference.replace('Practitioner/', ''))
    .sort((a, b) => Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, '')));
  const gps = at('gp', PRACTICE);
  const sws = at('social-worker', LA);
  assert.ok(gps.length >= 1 && sws.length >= 4, 'the place has GPs at the practice and social workers at the council');
  [staff.gp] = gps;
  [staff.sw1, staff.sw2, staff.leaver] = sws;
  users.gp = addUser(server.base, db, 'gp1', 'gp', PRACTICE, staff.gp);
  users.sw1 = addUser(server.base, db, 'sw1', 'social-worker', LA, staff.sw1);
  users.sw2 = addUser(server.base, db, 'sw2', 'social-worker', LA, staff.sw2);
  users.leaver = addUser(server.base, db, 'leaver', 'social-worker', LA, staff.leaver);

  // the practice's people, oldest first (the frail person is the oldest)
  const list = await search(`Patient?general-practitioner=Organization/${PRACTICE}&_sort=birthdate`);
  const practice = list.filter((p) => p.id.startsWith('pat-') && p.birthDate);
  assert.ok(practice.length >= 8, `the practice has enough people (${practice.length})`);
  [pick.frail, pick.rejected, pick.duplicate, pick.messages, pick.holds] = practice.map((p) => p.id);
  pick.frailBirth = practice[0].birthDate;
  // people elsewhere, referred by systems (the system client) rather than the GP
  const others = (await search('Patient?_sort=birthdate')).filter((p) => p.id.startsWith('pat-') &&
    !(p.generalPractitioner ?? []).some((g) => g.reference === `Organization/${PRACTICE}`)).map((p) => p.id);
  [pick.illegal, pick.leaver1, pick.leaver2, pick.race1, pick.race2, pick.errors] = others;
  pick.others = others.slice(6);
});

after(async () => {
  if (main?.server) await main.server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// ---- scenarios -------------------------------------------------------------------

describe('care coordination', () => {
  it('a GP refers a frail person to adult social care; the duty social worker takes it on, becomes key worker, plans with the person; hospital stay, discharge on pathway 1 and reablement; the timeline tells it all', async (t) => {
    const { gp, sw1, sw2 } = users;
    const { sys } = main;
    const P = pick.frail;
    assert.ok(ageAt(pick.frailBirth, NOW) >= 65, `the person referred is older (born ${pick.frailBirth})`);

    // 1. the GP refers
    const reason = 'Two falls at home this month; struggling to wash and dress; daughter can no longer cope';
    const note = 'Lives alone. Key safe code held by the practice.';
    const ref = await refer(gp, { patient: P, service: 'hs-asc-front-door', priority: 'routine', reason, note });
    assert.equal(ref.res.status, 201, ref.res.text.slice(0, 400));
    assert.equal(ref.res.json.resourceType, 'Bundle');
    assert.equal(ref.res.json.type, 'collection');
    assert.deepEqual(ref.res.json.entry.map((e) => e.resource.resourceType), ['ServiceRequest', 'Task', 'OperationOutcome']);
    const { sr } = ref;
    let task = ref.task;
    assert.match(ref.res.headers.get('location') ?? '', new RegExp(`/fhir/Task/${task.id}/_history/1$`));
    assert.equal(sr.status, 'active');
    assert.equal(sr.subject.reference, `Patient/${P}`);
    assert.equal(sr.requester?.reference, `Practitioner/${staff.gp}`, 'the requester defaults to the GP user\'s Practitioner');
    assert.deepEqual(sr.performer.map((p) => p.reference), ['HealthcareService/hs-asc-front-door']);
    assert.equal(sr.reasonCode?.[0]?.text, reason);
    assert.equal(sr.note?.[0]?.text, note);
    assert.equal(sr.priority, 'routine');
    assert.equal(task.status, 'requested');
    assert.equal(task.focus.reference, `ServiceRequest/${sr.id}`);
    assert.equal(task.for.reference, `Patient/${P}`);
    assert.equal(task.requester?.reference, `Practitioner/${staff.gp}`);
    assert.equal(task.owner?.reference, `Organization/${LA}`, 'owned by the service\'s providedBy organisation');
    assert.equal(task.authoredOn, NOW);
    // routine: 5 working days (Mon-Fri 08:30-17:00) from Wednesday 4 March 10:00 GMT → Wednesday 11 March 10:00
    assert.equal(due(task), '2026-03-11T10:00:00Z');
    assert.ok(hasCode(task.businessStatus, `${CS}referral-status`, 'awaiting-response'), JSON.stringify(task.businessStatus));
    for (const r of [sr, task]) assertChangedBy(r, 'user/gp1', staff.gp);
    const issues = ref.outcome.issue;
    assert.ok(issues.some((i) => i.severity === 'information' && i.diagnostics.includes('2026-03-11T10:00:00Z')),
      `an information issue gives the due date: ${JSON.stringify(issues)}`);
    assert.ok(!issues.some((i) => i.severity !== 'information'), `no warnings on a first referral: ${JSON.stringify(issues)}`);
    assert.deepEqual(await read(gp, 'Task', task.id), task, 'the Task as stored is the one returned');

    // 2. it is on the council team's worklist, not on anyone's own; the GP sees it awaiting a reply
    assert.ok(ids(await worklist(sw1, 'list=team')).includes(task.id), 'the duty social worker sees the referral on the team list');
    assert.ok(!ids(await worklist(sw1, 'list=mine')).includes(task.id), 'owned by the team, not by the social worker yet');
    assert.ok(ids(await worklist(gp, 'list=awaiting')).includes(task.id), 'the GP is awaiting a reply from another organisation');

    // 3. the duty social worker accepts it and takes it on
    let r = await putTask(sw1, await read(sw1, 'Task', task.id), { status: 'accepted', owner: { reference: `Practitioner/${staff.sw1}` } });
    assert.equal(r.status, 200, r.text.slice(0, 400));
    task = r.json;
    assert.equal(task.meta.versionId, '2');
    assert.equal(task.owner.reference, `Practitioner/${staff.sw1}`);
    const reassigned = (task.note ?? []).at(-1);
    assert.equal(reassigned?.text, `Reassigned from Organization/${LA} to Practitioner/${staff.sw1}`);
    assert.equal(reassigned?.authorReference?.reference, `Practitioner/${staff.sw1}`);
    assert.equal(reassigned?.time, NOW);
    assert.equal(ext(task, 'response-due')?.valueDateTime, '2026-03-11T10:00:00Z', 'the due date moves into response-due');
    assert.equal(ext(task, 'responded')?.valueDateTime, NOW);
    assert.equal(due(task), undefined, 'the response clock has stopped');
    assert.ok(hasCode(task.businessStatus, `${CS}referral-status`, 'responded-in-time'), JSON.stringify(task.businessStatus));
    assertChangedBy(task, 'user/sw1', staff.sw1);
    assert.ok(ids(await worklist(sw1, 'list=mine')).includes(task.id), 'now on the social worker\'s own list');
    assert.ok(!ids(await worklist(gp, 'list=awaiting')).includes(task.id), 'no longer awaiting a reply');

    // 4. key worker
    r = await sw1.post('/fhir/EpisodeOfCare', {
      resourceType: 'EpisodeOfCare', status: 'active', type: [{ text: 'Care Act assessment and support planning' }],
      patient: { reference: `Patient/${P}` }, managingOrganization: { reference: `Organization/${LA}` },
      careManager: { reference: `Practitioner/${staff.sw1}` }, period: { start: '2026-03-04' },
    });
    assert.equal(r.status, 201, r.text.slice(0, 400));
    assertChangedBy(r.json, 'user/sw1', staff.sw1, 'EpisodeOfCare');

    // 5. the care team, as the GP sees it
    r = await gp.get(`/fhir/Patient/${P}/$care-team`);
    assert.equal(r.status, 200, r.text.slice(0, 400));
    assert.equal(r.json.type, 'collection');
    const careTeam = r.json.entry[0].resource;
    assert.equal(careTeam.resourceType, 'CareTeam');
    assert.equal(careTeam.subject.reference, `Patient/${P}`);
    const member = (ref_) => careTeam.participant.find((p) => p.member?.reference === ref_);
    const contacts = (p) => (p.extension ?? []).filter((e) => e.url === `${SD}contact`).map((e) => e.valueContactPoint);
    const kw = member(`Practitioner/${staff.sw1}`);
    assert.ok(kw, `the social worker is in the care team: ${JSON.stringify(careTeam.participant.map((p) => p.member))}`);
    assert.ok(hasCode(kw.role, `${CS}staff-role`, 'key-worker'), `coded key worker: ${JSON.stringify(kw.role)}`);
    assert.equal(careTeam.participant.filter((p) => codes(p.role).some((c) => c.endsWith('|key-worker'))).length, 1, 'one key worker');
    assert.equal(kw.onBehalfOf?.reference, `Organization/${LA}`);
    const swRole = (await search(`PractitionerRole?practitioner=Practitioner/${staff.sw1}`))[0];
    assert.ok(swRole.telecom?.length, 'the synthetic role has a phone and an email');
    assert.deepEqual(contacts(kw), swRole.telecom, 'the key worker\'s contacts are their role\'s telecom');
    const gpPart = member(`Organization/${PRACTICE}`);
    assert.ok(gpPart, 'the GP practice is in the care team');
    assert.match(gpPart.role?.[0]?.text ?? '', /GP practice/);
    const practiceOrg = await read(sys, 'Organization', PRACTICE);
    assert.deepEqual(contacts(gpPart), practiceOrg.telecom ?? [], 'the practice\'s contacts');
    const included = r.json.entry.slice(1).map((e) => `${e.resource.resourceType}/${e.resource.id}`);
    assert.ok(included.includes(`PractitionerRole/${swRole.id}`), `the key worker's PractitionerRole is included: ${included}`);
    assert.ok(included.includes(`Organization/${PRACTICE}`), `the practice is included: ${included}`);

    // 6. a shared plan with a goal in the person's words, worked on by both
    const words = 'I want to get to the shops on my own again, and be back out in my garden by the summer.';
    r = await sw1.post('/fhir/Goal', {
      resourceType: 'Goal', lifecycleStatus: 'active', description: { text: words },
      subject: { reference: `Patient/${P}` }, expressedBy: { reference: `Patient/${P}` },
    });
    assert.equal(r.status, 201, r.text.slice(0, 400));
    let goal = r.json;
    assertChangedBy(goal, 'user/sw1', staff.sw1, 'Goal');
    const activity = (text, who, status = 'not-started') => ({ detail: { status, description: text, performer: [{ reference: `Practitioner/${who}` }] } });
    r = await sw1.post('/fhir/CarePlan', {
      resourceType: 'CarePlan', status: 'active', intent: 'plan', title: 'Staying well at home',
      subject: { reference: `Patient/${P}` }, author: { reference: `Practitioner/${staff.sw1}` },
      goal: [{ reference: `Goal/${goal.id}` }], activity: [activity('Care Act assessment at home', staff.sw1, 'scheduled')],
    });
    assert.equal(r.status, 201, r.text.slice(0, 400));
    let plan = r.json;
    plan.activity.push(activity('Medication review: falls risk', staff.gp));
    r = await gp.put(`/fhir/CarePlan/${plan.id}`, plan);
    assert.equal(r.status, 200, r.text.slice(0, 400));
    plan = r.json;
    plan.activity[0].detail.status = 'completed';
    plan.activity.push(activity('Strength and balance classes', staff.sw1));
    r = await sw1.put(`/fhir/CarePlan/${plan.id}`, plan);
    assert.equal(r.status, 200, r.text.slice(0, 400));
    const planVersions = await history(gp, 'CarePlan', plan.id);
    assert.deepEqual(planVersions.map((v) => v.meta.versionId), ['1', '2', '3']);
    assert.deepEqual(planVersions.map((v) => changedBy(v)?.display), ['user/sw1', 'user/gp1', 'user/sw1']);
    assert.deepEqual(planVersions.map((v) => changedBy(v)?.reference), [`Practitioner/${staff.sw1}`, `Practitioner/${staff.gp}`, `Practitioner/${staff.sw1}`]);
    assert.deepEqual(planVersions.map((v) => v.activity.length), [1, 2, 3]);
    goal.achievementStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/goal-achievement', code: 'improving' }] };
    r = await gp.put(`/fhir/Goal/${goal.id}`, goal);
    assert.equal(r.status, 200, r.text.slice(0, 400));
    goal = r.json;
    assert.equal(goal.meta.versionId, '2');
    assert.equal(goal.description.text, words, 'the goal stays in the person\'s words');
    assertChangedBy(goal, 'user/gp1', staff.gp, 'Goal v2');

    task = await moveOk(sw1, task, 'in-progress');

    // 7. admitted to hospital (the EPR writes the stay); ready to leave two days ago
    const stay = {
      resourceType: 'Encounter', status: 'in-progress', class: IMP, subject: { reference: `Patient/${P}` },
      period: { start: '2026-03-01T14:00:00Z' }, serviceProvider: { reference: 'Organization/org-acute' },
      hospitalization: { extension: [{ url: `${SD}discharge-ready-date`, valueDateTime: '2026-03-02T10:00:00Z' }] },
    };
    r = await sys.post('/fhir/Encounter', stay);
    assert.equal(r.status, 201, r.text.slice(0, 400));
    let enc = r.json;
    r = await sys.post('/fhir/Encounter', { resourceType: 'Encounter', status: 'finished', class: IMP, subject: { reference: `Patient/${P}` },
      period: { start: '2026-02-01T09:00:00Z', end: '2026-02-05T12:00:00Z' }, serviceProvider: { reference: 'Organization/org-acute' } });
    assert.equal(r.status, 201, r.text.slice(0, 300));
    const oldStay = r.json.id;
    const admissions = ids(await worklist(sw1, 'list=admissions'));
    assert.ok(admissions.includes(enc.id), 'the admission is on the key worker\'s admissions list');
    assert.ok(!admissions.includes(oldStay), 'a stay that ended a month ago is not');
    let dl = await worklist(sw1, 'list=discharge');
    const delayed = dl.entry.find((e) => e.resource.id === enc.id)?.resource;
    assert.ok(delayed, 'the stay is on the delayed discharge list');
    assert.equal(ext(delayed, 'days-delayed')?.valueInteger, 2, 'ready on 2 March, still in on 4 March: 2 days');

    // 8. discharged on pathway 1: a reablement referral appears, once
    const discharged = {
      ...enc, status: 'finished', period: { start: enc.period.start, end: NOW },
      hospitalization: { extension: [...enc.hospitalization.extension,
        { url: `${SD}discharge-pathway`, valueCoding: { system: `${CS}discharge-pathway`, code: '1' } }] },
    };
    r = await sys.put(`/fhir/Encounter/${enc.id}`, discharged);
    assert.equal(r.status, 200, r.text.slice(0, 400));
    enc = r.json;
    let followUps = await search(`ServiceRequest?encounter=Encounter/${enc.id}`);
    assert.equal(followUps.length, 1, `one follow-up referral for the stay: ${JSON.stringify(followUps.map((x) => x.performer))}`);
    const reSr = followUps[0];
    assert.deepEqual(reSr.identifier, [{ system: 'https://kith.example.org/fhir/Id/discharge-referral', value: `${enc.id}.hs-reablement` }]);
    assert.deepEqual(reSr.performer.map((p) => p.reference), ['HealthcareService/hs-reablement']);
    assert.equal(reSr.subject.reference, `Patient/${P}`);
    let reTasks = await search(`Task?focus=ServiceRequest/${reSr.id}`);
    assert.equal(reTasks.length, 1);
    let reTask = reTasks[0];
    assert.equal(reTask.status, 'requested');
    assert.equal(reTask.for.reference, `Patient/${P}`);
    assert.equal(reTask.owner?.reference, `Organization/${LA}`);
    assert.equal(reTask.encounter?.reference, `Encounter/${enc.id}`);
    // urgent: 4 working hours, reablement is open 07:00-22:00 on weekdays: 10:00 → 14:00
    assert.equal(due(reTask), '2026-03-04T14:00:00Z');
    assert.ok(hasCode(reTask.businessStatus, `${CS}referral-status`, 'awaiting-response'));
    assert.ok(!ids(await worklist(sw1, 'list=discharge')).includes(enc.id), 'gone home: off the delayed discharge list');
    // the EPR sends the stay again: no second referral
    r = await sys.put(`/fhir/Encounter/${enc.id}`, { ...enc, hospitalization: { ...enc.hospitalization,
      dischargeDisposition: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeDestinationEngland', code: '19' }] } } });
    assert.equal(r.status, 200, r.text.slice(0, 400));
    followUps = await search(`ServiceRequest?encounter=Encounter/${enc.id}`);
    assert.equal(followUps.length, 1, 'the same discharge does not refer twice');
    reTasks = await search(`Task?patient=Patient/${P}&focus=ServiceRequest/${reSr.id}`);
    assert.equal(reTasks.length, 1);

    // 9. reablement (the council's other social worker) takes it, works it, completes it
    assert.ok(ids(await worklist(sw2, 'list=team')).includes(reTask.id), 'the reablement referral is on the council team list');
    reTask = await moveOk(sw2, await read(sw2, 'Task', reTask.id), 'accepted', { owner: { reference: `Practitioner/${staff.sw2}` } });
    assert.ok(hasCode(reTask.businessStatus, `${CS}referral-status`, 'responded-in-time'));
    reTask = await moveOk(sw2, reTask, 'in-progress');
    reTask = await moveOk(sw2, reTask, 'completed');
    assert.equal((await read(sys, 'Task', reTask.id)).status, 'completed');
    assert.ok(!ids(await worklist(sw2, 'list=team')).includes(reTask.id), 'a completed Task leaves the worklists');

    // 10. the assessment is done
    task = await moveOk(sw1, task, 'completed');

    // 11. the first referral's timeline, as the GP reads it
    r = await gp.get(`/fhir/Task/${task.id}/$timeline`);
    assert.equal(r.status, 200, r.text.slice(0, 400));
    assert.equal(r.json.type, 'collection');
    const events = timelineEvents(r.json);
    const T = `Task/${task.id}/_history/`;
    assert.deepEqual(events, [
      ['Request made (active)', `ServiceRequest/${sr.id}/_history/1`, 'user/gp1'],
      [`Referral requested; owner Organization/${LA}`, `${T}1`, 'user/gp1'],
      ['Status requested -> accepted', `${T}2`, 'user/sw1'],
      ['Status accepted -> in-progress', `${T}3`, 'user/sw1'],
      ['Status in-progress -> completed', `${T}4`, 'user/sw1'],
    ]);
    const dates = r.json.entry[0].resource.entry.map((e) => e.date);
    assert.deepEqual([...dates].sort(), dates, 'events in time order');
    const versions = r.json.entry.slice(1).map((e) => `${e.resource.resourceType}/${e.resource.id}/_history/${e.resource.meta.versionId}`);
    assert.deepEqual(versions.sort(), events.map((e) => e[1]).sort(), 'then every version the events point at');
    const viaSr = await gp.get(`/fhir/ServiceRequest/${sr.id}/$timeline`);
    assert.equal(viaSr.status, 200);
    assert.deepEqual(timelineEvents(viaSr.json), events, 'the ServiceRequest\'s timeline is the same story');
    t.diagnostic(`timeline: ${events.map((e) => `${e[0]} (${e[2]})`).join('; ')}`);
  });

  it('discharge pathways: 1 reablement, 2 community therapy, 3 the adult social care front door, 0 nobody; only once the stay has finished', async () => {
    const { sys } = main;
    const people = pick.others.slice(-4);
    const stay = (p, status, pathway) => ({
      resourceType: 'Encounter', status, class: IMP, subject: { reference: `Patient/${p}` },
      period: status === 'finished' ? { start: '2026-02-26T10:00:00Z', end: NOW } : { start: '2026-02-26T10:00:00Z' },
      hospitalization: { extension: [{ url: `${SD}discharge-pathway`, valueCoding: { system: `${CS}discharge-pathway`, code: pathway } }] },
    });
    const followUps = async (encId) => (await search(`ServiceRequest?encounter=Encounter/${encId}`))
      .map((x) => x.performer[0].reference).sort();
    const cases = [['2', ['HealthcareService/hs-community-therapy'], 'Organization/org-community'],
      ['3', ['HealthcareService/hs-asc-front-door'], `Organization/${LA}`], ['0', [], null]];
    for (const [k, [pathway, want, owner]] of cases.entries()) {
      const r = await sys.post('/fhir/Encounter', stay(people[k], 'finished', pathway));
      assert.equal(r.status, 201, r.text.slice(0, 300));
      assert.deepEqual(await followUps(r.json.id), want, `pathway ${pathway}`);
      if (owner) {
        const srs = await search(`ServiceRequest?encounter=Encounter/${r.json.id}`);
        const tasks = await search(`Task?focus=ServiceRequest/${srs[0].id}`);
        assert.equal(tasks.length, 1);
        assert.equal(tasks[0].owner.reference, owner);
        assert.equal(tasks[0].status, 'requested');
      }
    }
    // still in hospital, the pathway already planned: nothing until the stay finishes
    let r = await sys.post('/fhir/Encounter', stay(people[3], 'in-progress', '1'));
    assert.equal(r.status, 201, r.text.slice(0, 300));
    assert.deepEqual(await followUps(r.json.id), []);
    r = await sys.put(`/fhir/Encounter/${r.json.id}`, { ...r.json, status: 'finished', period: { ...r.json.period, end: NOW } });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.deepEqual(await followUps(r.json.id), ['HealthcareService/hs-reablement']);
  });

  it('rejecting a referral (or putting it on hold) needs a reason; the answer stops the response clock', async () => {
    const { gp, sw1 } = users;
    const { task: t0 } = await referOk(gp, { patient: pick.rejected, service: 'hs-asc-front-door', reason: 'Help with shopping' });
    const dueAt = due(t0);
    assert.equal(dueAt, '2026-03-11T10:00:00Z');
    const cur = await read(sw1, 'Task', t0.id);

    let r = await putTask(sw1, cur, { status: 'rejected' });
    assert.equal(r.status, 422, r.text.slice(0, 400));
    assert.equal(r.json.resourceType, 'OperationOutcome');
    const issue = r.json.issue.find((i) => i.severity === 'error');
    assert.equal(issue.code, 'required');
    assert.ok((issue.expression ?? []).includes('Task.statusReason'), JSON.stringify(issue));
    r = await putTask(sw1, cur, { status: 'rejected', statusReason: { text: '' } });
    assert.equal(r.status, 422, `an empty reason is no reason: ${r.text.slice(0, 300)}`);
    r = await sw1.patch(`/fhir/Task/${t0.id}`, [{ op: 'replace', path: '/status', value: 'rejected' }]);
    assert.equal(r.status, 422, `PATCH is held to the same rule: ${r.text.slice(0, 300)}`);
    let stored = await read(sw1, 'Task', t0.id);
    assert.equal(stored.meta.versionId, '1', 'nothing was written');
    assert.equal(stored.status, 'requested');

    const why = 'Needs are for health care: please refer to community therapy';
    r = await putTask(sw1, cur, { status: 'rejected', statusReason: { text: why } });
    assert.equal(r.status, 200, r.text.slice(0, 400));
    const rejected = r.json;
    assert.equal(rejected.status, 'rejected');
    assert.equal(rejected.statusReason.text, why);
    assert.equal(ext(rejected, 'response-due')?.valueDateTime, dueAt);
    assert.equal(ext(rejected, 'responded')?.valueDateTime, NOW);
    assert.ok(hasCode(rejected.businessStatus, `${CS}referral-status`, 'responded-in-time'));
    assert.equal(due(rejected), undefined);
    assertChangedBy(rejected, 'user/sw1', staff.sw1);
    r = await gp.get(`/fhir/Task/${t0.id}/$timeline`);
    assert.ok(timelineEvents(r.json).some(([what, , who]) => what === `Status requested -> rejected: ${why}` && who === 'user/sw1'),
      JSON.stringify(timelineEvents(r.json)));

    // on hold, with and without a reason (coded reasons count)
    const { task: t1 } = await referOk(gp, { patient: pick.holds, service: 'hs-asc-front-door', reason: 'Carer breakdown' });
    let held = await moveOk(sw1, await read(sw1, 'Task', t1.id), 'accepted');
    r = await putTask(sw1, held, { status: 'on-hold' });
    assert.equal(r.status, 422, r.text.slice(0, 300));
    held = await moveOk(sw1, held, 'on-hold', { statusReason: { coding: [{ system: `${CS}hold-reason`, code: 'in-hospital' }] } });
    held = await moveOk(sw1, held, 'in-progress', { statusReason: undefined });
    assert.equal(held.meta.versionId, '4');
  });

  it('illegal status moves are refused (409) with the moves that are allowed; a new Task starts draft or requested; an open Task has an owner', async () => {
    const { sys } = main;
    const { task: t0 } = await referOk(sys, { patient: pick.illegal, service: 'hs-asc-front-door', requester: staff.gp });
    let task = t0;

    async function refused(status, expectFrom, changes = {}, how = 'PUT') {
      const r = how === 'PUT' ? await putTask(sys, task, { status, ...changes })
        : await sys.patch(`/fhir/Task/${task.id}`, [{ op: 'replace', path: '/status', value: status }]);
      assert.equal(r.status, 409, `${how} ${task.status} → ${status}: ${r.text.slice(0, 300)}`);
      assert.equal(r.json.resourceType, 'OperationOutcome');
      const d = r.json.issue.map((i) => i.diagnostics).join(' ');
      assert.ok(d.includes(task.status) && d.includes(status), `the diagnostics name both statuses: ${d}`);
      const allowed = MOVES[expectFrom];
      for (const s of allowed) assert.ok(new RegExp(`\\b${s}\\b`).test(d.split(`may move to`)[1] ?? ''), `diagnostics name '${s}' as allowed: ${d}`);
      if (!allowed.length) assert.match(d, /nothing|closed/, `a closed Task moves nowhere: ${d}`);
      assert.equal((await read(sys, 'Task', task.id)).meta.versionId, task.meta.versionId, 'nothing was written');
      return d;
    }

    await refused('completed', 'requested');
    await refused('in-progress', 'requested');
    await refused('on-hold', 'requested', { statusReason: { text: 'waiting' } });
    await refused('failed', 'requested', {}, 'PATCH');
    await refused('ready', 'requested'); // a FHIR status Kith's referrals do not use
    task = await moveOk(sys, task, 'received');
    await refused('requested', 'received');
    await refused('in-progress', 'received');
    task = await moveOk(sys, task, 'accepted');
    await refused('received', 'accepted');
    await refused('rejected', 'accepted', { statusReason: { text: 'changed my mind' } });
    await refused('failed', 'accepted');
    task = await moveOk(sys, task, 'on-hold', { statusReason: { text: 'In hospital' } });
    await refused('accepted', 'on-hold');
    task = await moveOk(sys, task, 'in-progress');
    task = await moveOk(sys, task, 'completed');
    await refused('in-progress', 'completed');
    await refused('cancelled', 'completed', {}, 'PATCH');
    const r0 = await putTask(sys, task, { status: 'entered-in-error' });
    assert.equal(r0.status, 200, `anything may be marked entered-in-error: ${r0.text.slice(0, 300)}`);
    task = r0.json;
    await refused('completed', 'entered-in-error');
    const path_ = (await history(sys, 'Task', task.id)).map((v) => v.status);
    assert.deepEqual(path_, ['requested', 'received', 'accepted', 'on-hold', 'in-progress', 'completed', 'entered-in-error']);

    // an owner given to $refer wins over the service's organisation
    const given = await referOk(sys, { patient: pick.illegal, service: 'hs-falls', requester: staff.gp, owner: `Practitioner/${staff.sw2}` });
    assert.equal(given.task.owner.reference, `Practitioner/${staff.sw2}`);

    // new Tasks
    const base = { resourceType: 'Task', intent: 'order', for: { reference: `Patient/${pick.illegal}` }, owner: { reference: `Organization/${LA}` } };
    const { sw1 } = users; // staff; a records-management system migrating Tasks may bring any status (below)
    for (const status of ['completed', 'in-progress', 'accepted', 'ready']) {
      const r = await sw1.post('/fhir/Task', { ...base, status });
      assert.equal(r.status, 409, `a new Task as ${status}: ${r.text.slice(0, 300)}`);
      assert.match(r.json.issue.map((i) => i.diagnostics).join(' '), /draft or requested/);
    }
    let r = await sw1.put('/fhir/Task/care-test-born-complete', { ...base, id: 'care-test-born-complete', status: 'completed' });
    assert.equal(r.status, 409, `create by PUT is held to the same rule: ${r.text.slice(0, 300)}`);
    assert.equal((await sys.get('/fhir/Task/care-test-born-complete')).status, 404);
    r = await sys.put('/fhir/Task/care-test-migrated', { ...base, id: 'care-test-migrated', status: 'completed' });
    assert.equal(r.status, 201, `a records-management system migrates a completed Task: ${r.text.slice(0, 300)}`);
    r = await sys.put('/fhir/Task/care-test-migrated', { ...base, id: 'care-test-migrated', status: 'in-progress' });
    assert.equal(r.status, 409, `but moves it only as the state machine allows: ${r.text.slice(0, 300)}`);
    r = await sys.post('/fhir/Task', { ...base, status: 'requested', owner: undefined });
    assert.equal(r.status, 422, `an open Task without an owner (and no service to take it from): ${r.text.slice(0, 300)}`);
    assert.ok(r.json.issue.some((i) => (i.expression ?? []).includes('Task.owner')), r.text.slice(0, 300));

    // a draft for a service gets its owner from the service; draft → requested
    r = await sys.post('/fhir/ServiceRequest', { resourceType: 'ServiceRequest', status: 'draft', intent: 'order',
      subject: { reference: `Patient/${pick.illegal}` }, performer: [{ reference: 'HealthcareService/hs-carers-hub' }] });
    assert.equal(r.status, 201, r.text.slice(0, 300));
    r = await sys.post('/fhir/Task', { resourceType: 'Task', intent: 'order', status: 'draft', focus: { reference: `ServiceRequest/${r.json.id}` },
      for: { reference: `Patient/${pick.illegal}` } });
    assert.equal(r.status, 201, r.text.slice(0, 300));
    let draft = r.json;
    assert.equal(draft.owner?.reference, 'Organization/org-vcs-2', 'the carers hub\'s organisation owns it');
    task = draft;
    await refused('accepted', 'draft');
    draft = await moveOk(sys, draft, 'requested');
    r = await putTask(sys, draft, { owner: undefined });
    assert.equal(r.status, 422, `removing the owner of an open Task: ${r.text.slice(0, 300)}`);
    const cancelled = await moveOk(sys, draft, 'cancelled');
    r = await putTask(sys, cancelled, { owner: undefined });
    assert.equal(r.status, 200, `a closed Task needs no owner: ${r.text.slice(0, 300)}`);
  });

  it('an urgent referral past its due date is escalated once: overdue, a Flag on the person, a message to the team and its lead', async (t) => {
    const db = placeCopy('sla.db');
    // Monday 2 March 2026, 10:00 GMT
    let server = await serverAt(db, '2026-03-02T10:00:00Z');
    try {
      const sys = apiAs(server.base);
      const gp = addUser(server.base, db, 'sla-gp', 'gp', PRACTICE, staff.gp);
      let sw = addUser(server.base, db, 'sla-sw', 'social-worker', LA, staff.sw1);
      // the council team has a lead
      let r = await sys.put('/fhir/Practitioner/pr-asc-lead', { resourceType: 'Practitioner', id: 'pr-asc-lead', active: true,
        name: [{ family: 'Okafor', given: ['Ada'], prefix: ['Ms'] }] });
      assert.ok([200, 201].includes(r.status), r.text.slice(0, 300));
      r = await sys.put('/fhir/PractitionerRole/role-asc-lead', { resourceType: 'PractitionerRole', id: 'role-asc-lead', active: true,
        practitioner: { reference: 'Practitioner/pr-asc-lead' }, organization: { reference: `Organization/${LA}` },
        code: [{ coding: [{ system: `${CS}staff-role`, code: 'team-lead' }], text: 'Team lead' }] });
      assert.ok([200, 201].includes(r.status), r.text.slice(0, 300));

      const [P, Q, S] = [pick.frail, pick.rejected, pick.duplicate]; // the practice's people, in this copy of the place
      const urgent = (await referOk(gp, { patient: P, service: 'hs-asc-front-door', priority: 'urgent', reason: 'Carer taken ill; alone at home' })).task;
      assert.equal(due(urgent), '2026-03-02T14:00:00Z', 'urgent: 4 working hours from Monday 10:00');
      const routine = (await referOk(gp, { patient: Q, service: 'hs-asc-front-door', priority: 'routine', reason: 'Assessment' })).task;
      assert.equal(due(routine), '2026-03-09T10:00:00Z', 'routine: 5 working days from Monday 10:00');
      // passed to a social worker to look at, not yet accepted: the clock still runs
      let passed = (await referOk(gp, { patient: pick.holds, service: 'hs-asc-front-door', priority: 'urgent', reason: 'Unsafe discharge home' })).task;
      passed = await moveOk(sw, await read(sw, 'Task', passed.id), 'requested', { owner: { reference: `Practitioner/${staff.sw1}` } });
      assert.equal(due(passed), '2026-03-02T14:00:00Z');
      let answered = (await referOk(gp, { patient: S, service: 'hs-asc-front-door', priority: 'urgent', reason: 'Pressure sores' })).task;
      answered = await moveOk(sw, await read(sw, 'Task', answered.id), 'accepted');
      assert.equal(await (await sys.post('/fhir/Task/$escalate', { resourceType: 'Parameters' })).json.parameter[0].valueInteger, 0,
        'nothing is overdue yet');
      await server.stop();

      // two days later
      server = await serverAt(db, '2026-03-04T10:00:00Z');
      const sys2 = apiAs(server.base);
      sw = apiAs(server.base, kith(['user', 'token', 'sla-sw', '--db', db]).trim());
      let overdue = ids(await worklist(sw, 'list=overdue'));
      assert.deepEqual(overdue.sort(), [urgent.id, passed.id].sort(), 'the urgent referrals not yet answered are overdue (the routine one is not due, the other was answered)');

      r = await sys2.post('/fhir/Task/$escalate', { resourceType: 'Parameters' });
      assert.equal(r.status, 200, r.text.slice(0, 300));
      assert.equal(r.json.resourceType, 'Parameters');
      const escalated = r.json.parameter.find((p) => p.name === 'escalated')?.valueInteger;
      assert.ok(escalated >= 1, `escalated ${escalated}`);
      assert.equal(escalated, 2, 'exactly the two overdue referrals in this place');

      const after_ = await read(sys2, 'Task', urgent.id);
      assert.ok(hasCode(after_.businessStatus, `${CS}referral-status`, 'overdue'), JSON.stringify(after_.businessStatus));
      assert.equal(after_.status, 'requested', 'escalation does not move the status');
      assert.equal(after_.owner.reference, `Organization/${LA}`);
      assert.equal(due(after_), '2026-03-02T14:00:00Z');
      assert.equal(after_.meta.versionId, '2');
      const flags = await search(`Flag?patient=Patient/${P}`, sys2);
      assert.equal(flags.length, 1, 'one Flag on the person');
      assert.equal(flags[0].status, 'active');
      assert.ok(hasCode(flags[0].category, `${CS}flag-category`, 'overdue-referral'), JSON.stringify(flags[0].category));
      assert.equal(ext(flags[0], 'flag-task')?.valueReference?.reference, `Task/${urgent.id}`);
      assert.equal(flags[0].period?.start, '2026-03-04T10:00:00Z');
      const msgs = await search(`Communication?based-on=Task/${urgent.id}`, sys2);
      assert.equal(msgs.length, 1, 'one message to the team');
      const leads = (await search(`PractitionerRole?organization=Organization/${LA}`, sys2))
        .filter((x) => hasCode(x.code, `${CS}staff-role`, 'team-lead')).map((x) => x.practitioner.reference);
      assert.ok(leads.includes('Practitioner/pr-asc-lead'));
      const to = msgs[0].recipient.map((x) => x.reference).sort();
      assert.deepEqual(to, [`Organization/${LA}`, ...leads].sort(), 'to the owning team and its leads');
      assert.equal(msgs[0].subject?.reference, `Patient/${P}`);
      assert.match(msgs[0].payload[0].contentString, new RegExp(`Task/${urgent.id}`));
      assert.match(msgs[0].payload[0].contentString, /2026-03-02T14:00:00Z/);
      const passedNow = await read(sys2, 'Task', passed.id);
      assert.ok(hasCode(passedNow.businessStatus, `${CS}referral-status`, 'overdue'));
      const passedMsgs = await search(`Communication?based-on=Task/${passed.id}`, sys2);
      assert.equal(passedMsgs.length, 1);
      assert.deepEqual(passedMsgs[0].recipient.map((x) => x.reference).sort(), [`Organization/${LA}`, ...leads].sort(),
        'a Practitioner\'s referral escalates to their organisation');
      assert.equal((await search(`Flag?patient=Patient/${pick.holds}`, sys2)).length, 1);
      const notEscalated = await read(sys2, 'Task', routine.id);
      assert.ok(hasCode(notEscalated.businessStatus, `${CS}referral-status`, 'awaiting-response'));
      assert.equal(notEscalated.meta.versionId, '1');
      assert.equal((await read(sys2, 'Task', answered.id)).meta.versionId, '2', 'an answered referral is not escalated');

      r = await sys2.post('/fhir/Task/$escalate', { resourceType: 'Parameters' });
      assert.equal(r.status, 200);
      assert.equal(r.json.parameter.find((p) => p.name === 'escalated')?.valueInteger, 0, 'no double escalation');
      assert.equal((await search(`Flag?patient=Patient/${P}`, sys2)).length, 1);
      assert.equal((await search(`Communication?based-on=Task/${urgent.id}`, sys2)).length, 1);
      assert.equal((await read(sys2, 'Task', urgent.id)).meta.versionId, '2');
      overdue = await worklist(sw, 'list=overdue');
      assert.deepEqual(ids(overdue).sort(), [urgent.id, passed.id].sort(), 'still on the overdue list');
      for (const e of overdue.entry) assert.ok(hasCode(e.resource.businessStatus, `${CS}referral-status`, 'overdue'));

      // answered late
      const late = await moveOk(sw, await read(sw, 'Task', urgent.id), 'accepted');
      assert.ok(hasCode(late.businessStatus, `${CS}referral-status`, 'responded-late'), JSON.stringify(late.businessStatus));
      assert.equal(ext(late, 'response-due')?.valueDateTime, '2026-03-02T14:00:00Z');
      assert.equal(ext(late, 'responded')?.valueDateTime, '2026-03-04T10:00:00Z');
      assert.deepEqual(ids(await worklist(sw, 'list=overdue')), [passed.id], 'answered: off the overdue list');
      t.diagnostic(`escalated ${escalated}, then 0`);
    } finally {
      await server.stop();
    }
  });

  it('due dates count working time: opening hours, Easter and Christmas bank holidays, the change to BST, a weekend start', async (t) => {
    const db = placeCopy('due.db');
    // [KITH_NOW, service, priority, due]: worked out by hand from the services' opening hours and targets
    const cases = {
      // Thursday 2 April 2026 10:00 BST, before Good Friday (3rd) and Easter Monday (6th)
      '2026-04-02T09:00:00Z': [
        ['hs-asc-front-door', 'routine', '2026-04-13T09:00:00Z'], // 5 days: Tue 7, Wed 8, Thu 9, Fri 10, Mon 13, 10:00 BST
        ['hs-asc-front-door', 'urgent', '2026-04-02T13:00:00Z'], // 4 hours: 14:00 BST the same day
        ['hs-falls', 'urgent', '2026-04-07T09:00:00Z'], // 8 hours, 09:00-17:00: 7 on Thursday, 1 on Tuesday
        ['hs-reablement', 'routine', '2026-04-08T09:00:00Z'], // 2 days: Tue 7, Wed 8
        ['hs-urgent-community-response', 'urgent', '2026-04-02T11:00:00Z'], // 24/7: 2 hours
        ['hs-urgent-community-response', 'routine', '2026-04-03T09:00:00Z'], // 24/7, open on Good Friday: 1 day
      ],
      // Friday 27 March 2026 16:00 GMT; clocks go forward on Sunday 29th
      '2026-03-27T16:00:00Z': [
        ['hs-asc-front-door', 'urgent', '2026-03-30T10:30:00Z'], // 1 hour on Friday, 3 from 08:30 BST Monday
        ['hs-asc-front-door', 'routine', '2026-04-07T15:00:00Z'], // Mon 30, Tue 31, Wed 1, Thu 2, (Easter), Tue 7 at 16:00 BST
      ],
      // Wednesday 23 December 2026 10:00 GMT: Christmas Friday, Boxing Day (Saturday) moved to Monday 28th, New Year Friday
      '2026-12-23T10:00:00Z': [
        ['hs-asc-front-door', 'routine', '2027-01-04T10:00:00Z'], // Thu 24, Tue 29, Wed 30, Thu 31, Mon 4
      ],
      // Thursday 24 December 2026 15:00 GMT
      '2026-12-24T15:00:00Z': [
        ['hs-asc-front-door', 'urgent', '2026-12-29T10:30:00Z'], // 2 hours on Thursday, 2 from 08:30 Tuesday
        ['hs-reablement', 'routine', '2026-12-30T15:00:00Z'], // Tue 29, Wed 30 at 15:00
      ],
      // Saturday 7 March 2026 12:00 GMT: the clock starts at Monday's opening
      '2026-03-07T12:00:00Z': [
        ['hs-asc-front-door', 'urgent', '2026-03-09T12:30:00Z'],
        ['hs-asc-front-door', 'routine', '2026-03-16T08:30:00Z'],
      ],
    };
    const people = (await search('Patient?_sort=birthdate')).filter((p) => p.id.startsWith('pat-')).map((p) => p.id);
    let n = 0;
    for (const [now, list] of Object.entries(cases)) {
      const server = await serverAt(db, now);
      try {
        const sys = apiAs(server.base);
        for (const [service, priority, want] of list) {
          const { task, outcome } = await referOk(sys, { patient: people[n++], service, priority, requester: staff.gp });
          assert.equal(due(task), want, `${service} ${priority} referred at ${now}`);
          assert.equal(task.authoredOn, now);
          assert.ok(outcome.issue.some((i) => i.severity === 'information' && i.diagnostics.includes(`due ${want}`)),
            JSON.stringify(outcome.issue));
          assert.equal(due(await read(sys, 'Task', task.id)), want, 'as stored');
        }
      } finally {
        await server.stop();
      }
    }
    t.diagnostic(`${n} due dates checked`);
  });

  it('a second open referral of the same person to the same service is flagged as a duplicate', async () => {
    const { gp } = users;
    const P = pick.duplicate;
    const first = await referOk(gp, { patient: P, service: 'hs-asc-front-door', reason: 'Needs help with meals' });
    assert.ok(!first.outcome.issue.some((i) => i.severity === 'warning'));
    const second = await referOk(gp, { patient: P, service: 'hs-asc-front-door', reason: 'Needs help with meals (again)' });
    const dup = second.outcome.issue.filter((i) => i.severity === 'warning');
    assert.equal(dup.length, 1, JSON.stringify(second.outcome.issue));
    assert.equal(dup[0].code, 'duplicate');
    assert.match(dup[0].diagnostics, new RegExp(`Task/${first.task.id}`));
    assert.match(dup[0].diagnostics, /HealthcareService\/hs-asc-front-door/);
    const other = await referOk(gp, { patient: P, service: 'hs-falls', reason: 'Falls' });
    assert.ok(!other.outcome.issue.some((i) => i.severity === 'warning'), 'another service is not a duplicate');

    // a Task written directly gets the warning as an HTTP Warning header
    let r = await gp.post('/fhir/ServiceRequest', { resourceType: 'ServiceRequest', status: 'active', intent: 'order',
      subject: { reference: `Patient/${P}` }, performer: [{ reference: 'HealthcareService/hs-asc-front-door' }] });
    assert.equal(r.status, 201, r.text.slice(0, 300));
    r = await gp.post('/fhir/Task', { resourceType: 'Task', status: 'requested', intent: 'order',
      focus: { reference: `ServiceRequest/${r.json.id}` }, for: { reference: `Patient/${P}` } });
    assert.equal(r.status, 201, r.text.slice(0, 300));
    assert.match(r.headers.get('warning') ?? '', /already has an open referral/);
    const direct = r.json;

    // once the open ones are closed, a new referral is not a duplicate
    for (const x of [first.task, second.task, direct]) await moveOk(gp, await read(gp, 'Task', x.id), 'cancelled');
    const fresh = await referOk(gp, { patient: P, service: 'hs-asc-front-door', reason: 'New need' });
    assert.ok(!fresh.outcome.issue.some((i) => i.severity === 'warning'), JSON.stringify(fresh.outcome.issue));
  });

  it('when a member of staff leaves, their open Tasks move to their team, still open', async () => {
    const { sys } = main;
    const { leaver, sw1 } = users;
    const L = staff.leaver;
    const mk = async (patient, service) => (await referOk(sys, { patient, service, requester: staff.gp })).task;
    let a = await mk(pick.leaver1, 'hs-asc-front-door');
    let b = await mk(pick.leaver2, 'hs-reablement');
    let c = await mk(pick.leaver2, 'hs-asc-front-door');
    const take = { owner: { reference: `Practitioner/${L}` } };
    a = await moveOk(leaver, await read(leaver, 'Task', a.id), 'accepted', take);
    b = await moveOk(leaver, await read(leaver, 'Task', b.id), 'accepted', take);
    b = await moveOk(leaver, b, 'on-hold', { statusReason: { text: 'Person away' } });
    c = await moveOk(leaver, await read(leaver, 'Task', c.id), 'accepted', take);
    c = await moveOk(leaver, c, 'completed');
    assert.deepEqual(ids(await worklist(leaver, 'list=mine')).sort(), [a.id, b.id].sort());

    const out = kith(['user', 'disable', 'leaver', '--db', main.db]);
    assert.match(out, /Disabled user leaver/);
    assert.match(out, new RegExp(`Moved 2 open tasks of Practitioner/${L} to the team duty owner, Organization/${LA}`), out);

    for (const [before_, status] of [[a, 'accepted'], [b, 'on-hold']]) {
      const now = await read(sys, 'Task', before_.id);
      assert.equal(now.status, status, 'still open, in the same state');
      assert.equal(now.owner?.reference, `Organization/${LA}`, 'owned by the team');
      assert.equal(Number(now.meta.versionId), Number(before_.meta.versionId) + 1);
      const n = now.note.at(-1);
      assert.equal(n.text, `Reassigned from Practitioner/${L} to Organization/${LA}`);
      assert.ok(changedBy(now)?.display, 'the move is attributed');
    }
    const closed = await read(sys, 'Task', c.id);
    assert.equal(closed.owner.reference, `Practitioner/${L}`, 'a completed Task keeps its owner');
    assert.equal(closed.meta.versionId, c.meta.versionId);
    const team = ids(await worklist(sw1, 'list=team'));
    assert.ok(team.includes(a.id) && team.includes(b.id), 'on the team\'s list');
    assert.equal((await worklist(sw1, `list=mine&practitioner=${L}`)).total, 0, 'nothing waits on the leaver');
    const again = kith(['user', 'disable', 'leaver', '--db', main.db]);
    assert.doesNotMatch(again, /Moved/, 'nothing left to move');
  });

  it('concurrent reassignment: two changes based on the same version, one wins and the other gets 412', async (t) => {
    const { sys } = main;
    const { sw1, sw2 } = users;
    // both people are known to the council (an open episode it manages), so every council social worker
    // sees them whoever owns the referral; otherwise the loser may no longer see the Task at all (see the
    // team worklist test below)
    for (const p of [pick.race1, pick.race2]) {
      const e = await sys.post('/fhir/EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active',
        patient: { reference: `Patient/${p}` }, managingOrganization: { reference: `Organization/${LA}` } });
      assert.equal(e.status, 201, e.text.slice(0, 300));
    }
    const { task } = await referOk(sys, { patient: pick.race1, service: 'hs-asc-front-door', requester: staff.gp });
    const [c1, c2] = await Promise.all([read(sw1, 'Task', task.id), read(sw2, 'Task', task.id)]);
    assert.equal(c1.meta.versionId, '1');
    const ifMatch = { 'If-Match': 'W/"1"' };
    const [r1, r2] = await Promise.all([
      putTask(sw1, c1, { status: 'accepted', owner: { reference: `Practitioner/${staff.sw1}` } }, ifMatch),
      putTask(sw2, c2, { status: 'accepted', owner: { reference: `Practitioner/${staff.sw2}` } }, ifMatch),
    ]);
    assert.deepEqual([r1.status, r2.status].sort(), [200, 412], `${r1.text.slice(0, 200)} / ${r2.text.slice(0, 200)}`);
    const [win, lose, winner, loser, loserApi] = r1.status === 200 ? [r1, r2, staff.sw1, staff.sw2, sw2] : [r2, r1, staff.sw2, staff.sw1, sw1];
    assert.equal(lose.json.resourceType, 'OperationOutcome');
    let stored = await read(sys, 'Task', task.id);
    assert.equal(stored.meta.versionId, '2');
    assert.equal(stored.owner.reference, `Practitioner/${winner}`);
    assert.deepEqual(stored, win.json);
    assert.equal(stored.note.filter((n) => n.text.startsWith('Reassigned')).length, 1, 'one reassignment recorded');
    // the loser reads again and takes it over
    const fresh = await read(loserApi, 'Task', task.id);
    let r = await putTask(loserApi, fresh, { owner: { reference: `Practitioner/${loser}` } }, { 'If-Match': 'W/"2"' });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.equal(r.json.note.at(-1).text, `Reassigned from Practitioner/${winner} to Practitioner/${loser}`);
    r = await sys.get(`/fhir/Task/${task.id}/$timeline`);
    assert.ok(timelineEvents(r.json).some(([what]) => what === `Reassigned from Practitioner/${winner} to Practitioner/${loser}`));

    // without If-Match, each change is checked against the version it was read from:
    // accept and reject race; only moves legal from what is really there are stored
    const { task: t2 } = await referOk(sys, { patient: pick.race2, service: 'hs-asc-front-door', requester: staff.gp });
    const base = await read(sys, 'Task', t2.id);
    const attempts = Array.from({ length: 8 }, (_, i) => (i % 2
      ? { status: 'accepted', owner: { reference: `Practitioner/${i % 4 === 1 ? staff.sw1 : staff.sw2}` } }
      : { status: 'rejected', statusReason: { text: `Not for us (${i})` } }));
    const results = await Promise.all(attempts.map((ch, i) => putTask(i % 3 ? sw1 : sw2, base, ch)));
    const codes_ = results.map((x) => x.status);
    assert.ok(codes_.every((s) => [200, 409, 412].includes(s)), `only 200, 409 or 412: ${codes_}`);
    const won = results.filter((x) => x.status === 200).map((x) => x.json.status);
    assert.ok(won.length >= 1, `at least one change is stored: ${codes_}`);
    assert.equal(new Set(won).size, 1, `every stored change agrees with the first one: ${won}`);
    const versions = await history(sys, 'Task', t2.id);
    for (let i = 1; i < versions.length; i++)
      assert.ok(legalMove(versions[i - 1].status, versions[i].status), `history moves ${versions[i - 1].status} → ${versions[i].status}`);
    assert.equal(versions.at(-1).status, won[0]);
    assert.equal(versions.length, 1 + won.length, 'one version per 200');
    t.diagnostic(`race without If-Match: ${codes_.join(' ')}; stored ${won[0]}`);
  });

  it('HealthcareService/$find: services that fit a need, age, place and sector, each with the reasons', async () => {
    const { gp } = users;
    const directory = await search('HealthcareService?active=true');
    const need = (s, code) => (s.characteristic ?? []).some((c) => hasCode(c, `${CS}need`, code));
    const range = (s) => ext(s, 'age-range')?.valueRange;
    const districts = (s) => (s.extension ?? []).filter((e) => e.url === `${SD}postcode-district`).map((e) => e.valueString);
    // the client's own reading of the directory: does s fit?
    const fits = (s, q) => (!q.need || need(s, q.need)) &&
      (!q.sector || hasCode(s.category, `${CS}sector`, q.sector)) &&
      (q.age === undefined || (q.age >= (range(s)?.low?.value ?? 0) && q.age <= (range(s)?.high?.value ?? 200))) &&
      (!q.postcode || !districts(s).length || districts(s).includes(q.postcode.split(' ')[0].toUpperCase()));
    async function find(q) {
      const r = await gp.get(`/fhir/HealthcareService/$find?${new URLSearchParams(q)}`);
      assert.equal(r.status, 200, `$find ${JSON.stringify(q)}: ${r.text.slice(0, 300)}`);
      assert.equal(r.json.type, 'searchset');
      const entries = r.json.entry ?? [];
      for (const e of entries) {
        assert.equal(typeof ext(e.resource, 'eligibility-explanation')?.valueString, 'string', `${e.resource.id} explains`);
        assert.equal(ext(e.resource, 'eligible')?.valueBoolean, e.search.mode === 'match', `${e.resource.id}: eligible ⇔ match`);
      }
      assert.equal(r.json.total, entries.filter((e) => e.search.mode === 'match').length, 'total counts the services that fit');
      return entries;
    }
    const queries = [
      { need: 'falls', age: 70 }, { need: 'falls', age: 40 }, { need: 'loneliness', postcode: 'KH1 4AB' },
      { need: 'loneliness', postcode: 'KH9 2CD' }, { sector: 'voluntary' }, { need: 'memory', age: 17 },
      { need: 'discharge-pathway-1' }, { sector: 'social-care', age: 30 },
    ];
    for (const q of queries) {
      const got = (await find(Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)])))).map((e) => e.resource.id).sort();
      const want = directory.filter((s) => fits(s, q)).map((s) => s.id).sort();
      assert.deepEqual(got, want, `$find ${JSON.stringify(q)}`);
    }

    let entries = await find({ need: 'falls', age: '70' });
    const falls = entries.find((e) => e.resource.id === 'hs-falls');
    assert.ok(falls, 'the falls service fits a 70-year-old who fell');
    const why = ext(falls.resource, 'eligibility-explanation').valueString;
    assert.match(why, /70/, why);
    assert.match(why, /65/, why);
    assert.match(why, /falls/, why);
    entries = await find({ need: 'falls', age: '40' });
    assert.ok(!entries.some((e) => e.resource.id === 'hs-falls'), 'not for a 40-year-old');
    entries = await find({ need: 'falls', age: '40', 'include-ineligible': 'true' });
    const no = entries.find((e) => e.resource.id === 'hs-falls');
    assert.ok(no, 'shown when asked for services that do not fit');
    assert.equal(ext(no.resource, 'eligible').valueBoolean, false);
    assert.equal(no.search.mode, 'include');
    assert.match(ext(no.resource, 'eligibility-explanation').valueString, /40/);
    entries = await find({ keyword: 'befriending' });
    assert.deepEqual(entries.map((e) => e.resource.id), ['hs-good-neighbours']);
    entries = await find({ need: 'loneliness', postcode: 'KH9 2CD', 'include-ineligible': 'true' });
    const sp = entries.find((e) => e.resource.id === 'hs-social-prescribing');
    assert.equal(ext(sp.resource, 'eligible').valueBoolean, false);
    assert.match(ext(sp.resource, 'eligibility-explanation').valueString, /KH9/);

    for (const bad of ['age=abc', 'age=-1', 'age=131', 'age=7.5', 'need=falls&colour=blue', 'agee=70']) {
      const r = await gp.get(`/fhir/HealthcareService/$find?${bad}`);
      assert.equal(r.status, 400, `${bad}: ${r.text.slice(0, 200)}`);
      assert.equal(r.json.resourceType, 'OperationOutcome');
    }
  });

  it('professionals message each other about a referral; read receipts; the timeline shows the messages', async () => {
    const { gp, sw1 } = users;
    const P = pick.messages;
    let { task } = await referOk(gp, { patient: P, service: 'hs-asc-front-door', reason: 'Self-neglect concerns' });
    task = await moveOk(sw1, await read(sw1, 'Task', task.id), 'accepted', { owner: { reference: `Practitioner/${staff.sw1}` } });
    const text = 'I visited today: she would like a carers assessment for her son too. Could you review her medication?';
    let r = await sw1.post('/fhir/Communication', {
      resourceType: 'Communication', status: 'completed', subject: { reference: `Patient/${P}` },
      basedOn: [{ reference: `Task/${task.id}` }], sender: { reference: `Practitioner/${staff.sw1}` },
      recipient: [{ reference: `Practitioner/${staff.gp}` }], sent: NOW, payload: [{ contentString: text }],
    });
    assert.equal(r.status, 201, r.text.slice(0, 300));
    const msg = r.json;
    assertChangedBy(msg, 'user/sw1', staff.sw1, 'Communication');
    const inbox = await search(`Communication?recipient=Practitioner/${staff.gp}`, gp);
    assert.ok(inbox.some((m) => m.id === msg.id), 'in the GP\'s inbox');

    r = await gp.post(`/fhir/Communication/${msg.id}/$mark-read`, { resourceType: 'Parameters' });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.equal(r.json.resourceType, 'Communication');
    assert.equal(r.json.meta.versionId, '2');
    const receipts = (m) => (m.extension ?? []).filter((e) => e.url === `${SD}read-receipt`);
    let rr = receipts(r.json);
    assert.equal(rr.length, 1);
    const sub = (e, u) => e.extension.find((x) => x.url === u);
    assert.deepEqual(sub(rr[0], 'reader').valueReference, { reference: `Practitioner/${staff.gp}`, display: 'user/gp1' });
    assert.equal(sub(rr[0], 'read').valueDateTime, NOW);
    assert.equal(r.json.received, NOW);
    r = await gp.post(`/fhir/Communication/${msg.id}/$mark-read`, { resourceType: 'Parameters' });
    assert.equal(r.status, 200);
    assert.equal(receipts(r.json).length, 1, 'once per reader');
    assert.equal((await read(gp, 'Communication', msg.id)).meta.versionId, '2', 'reading again writes nothing');
    r = await sw1.post(`/fhir/Communication/${msg.id}/$mark-read`, { resourceType: 'Parameters' });
    assert.equal(r.status, 200);
    rr = receipts(r.json);
    assert.deepEqual(rr.map((e) => sub(e, 'reader').valueReference.display), ['user/gp1', 'user/sw1']);

    const reply = 'Thanks: medication review booked for Friday.';
    r = await gp.post('/fhir/Communication', {
      resourceType: 'Communication', status: 'completed', subject: { reference: `Patient/${P}` },
      basedOn: [{ reference: `Task/${task.id}` }], inResponseTo: [{ reference: `Communication/${msg.id}` }],
      sender: { reference: `Practitioner/${staff.gp}` }, recipient: [{ reference: `Practitioner/${staff.sw1}` }],
      sent: NOW, payload: [{ contentString: reply }],
    });
    assert.equal(r.status, 201, r.text.slice(0, 300));
    const replyId = r.json.id;

    r = await gp.get(`/fhir/Task/${task.id}/$timeline`);
    assert.equal(r.status, 200);
    const events = timelineEvents(r.json);
    const M = `Communication/${msg.id}/_history/`;
    assert.deepEqual(events.slice(3), [
      [`Message: ${text}`, `${M}1`, 'user/sw1'],
      [`Message read: ${text}`, `${M}2`, 'user/gp1'],
      [`Message read: ${text}`, `${M}3`, 'user/sw1'],
      [`Message: ${reply}`, `Communication/${replyId}/_history/1`, 'user/gp1'],
    ]);
    assert.deepEqual(events.slice(0, 3).map((e) => e[0]), ['Request made (active)', `Referral requested; owner Organization/${LA}`, 'Status requested -> accepted']);

    r = await gp.post('/fhir/Communication/no-such-message/$mark-read', { resourceType: 'Parameters' });
    assert.equal(r.status, 404);
    r = await gp.get(`/fhir/Communication/${msg.id}/$mark-read`);
    assert.equal(r.status, 405);
  });

  describe('a referral owned by one member of a team', () => {
    // sw1 takes a referral for someone the council has no other relationship with
    let task;
    before(async () => {
      const { sw1, sw2 } = users;
      let P;
      for (const p of pick.others)
        if ((await sw2.get(`/fhir/Patient/${p}`)).status === 404 && (await users.gp.get(`/fhir/Patient/${p}`)).status === 404) {
          P = p;
          break;
        }
      assert.ok(P, 'someone neither the council nor the GP knows yet');
      ({ task } = await referOk(main.sys, { patient: P, service: 'hs-asc-front-door', requester: staff.gp }));
      task = await moveOk(sw1, await read(sw1, 'Task', task.id), 'accepted', { owner: { reference: `Practitioner/${staff.sw1}` } });
    });

    it('is on the owner\'s own list and the team list they see', async () => {
      assert.ok(ids(await worklist(users.sw1, 'list=mine')).includes(task.id));
      assert.ok(ids(await worklist(users.sw1, 'list=team')).includes(task.id));
    });

    it('is on the team list of a colleague in the same organisation (team = the Organization and everyone with a role there)',
      async () => {
        assert.ok(ids(await worklist(users.sw2, 'list=team')).includes(task.id));
      });

    it('a colleague whose role has ended no longer shares the caseload', async () => {
      const { sys } = main;
      const [role] = await search(`PractitionerRole?practitioner=Practitioner/${staff.sw1}`);
      assert.ok(role, 'the owner has a PractitionerRole');
      assert.equal((await users.sw2.get(`/fhir/Task/${task.id}`)).status, 200, 'the colleague sees it');
      let r = await sys.put(`/fhir/PractitionerRole/${role.id}`, { ...role, active: false });
      assert.equal(r.status, 200, r.text.slice(0, 300));
      assert.equal((await users.sw2.get(`/fhir/Task/${task.id}`)).status, 404, 'not once the owner\'s role has ended');
      r = await sys.put(`/fhir/PractitionerRole/${role.id}`, { ...role, active: true });
      assert.equal(r.status, 200, r.text.slice(0, 300));
      assert.equal((await users.sw2.get(`/fhir/Task/${task.id}`)).status, 200, 'and again once it is active');
    });

    it('a team Task labelled sensitive for the viewer stays off their team list, total included', async () => {
      const { sys } = main;
      // a mental health referral: social workers do not see the PSY category (docs/security.md)
      const r = await sys.post('/fhir/Task', { resourceType: 'Task', status: 'requested', intent: 'order',
        meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }] },
        for: task.for, owner: { reference: `Practitioner/${staff.sw2}` }, description: 'Mental health referral' });
      assert.equal(r.status, 201, r.text.slice(0, 300));
      const list = await worklist(users.sw1, 'list=team');
      assert.ok(ids(list).includes(task.id), 'the unlabelled Task is there');
      assert.ok(!ids(list).includes(r.json.id), 'the labelled one is not');
      assert.equal((await users.sw1.get(`/fhir/Task/${r.json.id}`)).status, 404, 'nor can they read it');
      const all = await sys.get(`/fhir/Task/$worklist?list=team&team=Organization/${LA}&_count=500`);
      assert.ok(ids(all.json).includes(r.json.id), 'a records-management system sees it on the same list');
    });

    it('someone outside the team who cannot see it gets 404 when writing it, as when reading it', async () => {
        const outsider = users.gp; // another organisation, not the person's practice
        assert.equal((await outsider.get(`/fhir/Task/${task.id}`)).status, 404, 'they cannot read it');
        const r = await putTask(outsider, task, { status: 'in-progress' });
        assert.equal(r.status, 404, r.text.slice(0, 300));
        assert.equal((await read(users.sw1, 'Task', task.id)).status, 'accepted', 'nothing changed');
      });
  });

  describe('bad requests get clear errors and store nothing', () => {
    const srCount = async (p) => (await search(`ServiceRequest?patient=Patient/${p}`)).length;

    it('$refer checks its parameters', async () => {
      const { sys } = main;
      const P = pick.errors;
      const before_ = await srCount(P);
      let r = await refer(sys, { patient: P, service: 'hs-no-such-service' });
      assert.equal(r.res.status, 404, r.res.text.slice(0, 300));
      r = await sys.put('/fhir/HealthcareService/hs-care-test-closed', { resourceType: 'HealthcareService', id: 'hs-care-test-closed',
        active: false, name: 'Closed service', providedBy: { reference: 'Organization/org-vcs-1' } });
      assert.ok([200, 201].includes(r.status), r.text.slice(0, 300));
      r = await refer(sys, { patient: P, service: 'hs-care-test-closed' });
      assert.equal(r.res.status, 422, `an inactive service takes no referrals: ${r.res.text.slice(0, 300)}`);
      r = await sys.post('/fhir/ServiceRequest/$refer', { resourceType: 'Patient' });
      assert.equal(r.status, 400);
      r = await sys.get('/fhir/ServiceRequest/$refer');
      assert.equal(r.status, 405);
      assert.equal(await srCount(P), before_, 'no referral was stored');
    });

    it('$refer with a missing reason, an unknown priority or a patient that is not a Patient is 422, not 404',
      async () => {
        const { sys } = main;
        const P = pick.errors;
        const before_ = await srCount(P);
        let r = await refer(sys, { patient: P, service: 'hs-falls', reason: null });
        const got = [r.res.status];
        r = await refer(sys, { patient: P, service: 'hs-falls', priority: 'soon', reason: 'x' });
        got.push(r.res.status);
        r = await sys.post('/fhir/ServiceRequest/$refer', { resourceType: 'Parameters', parameter: [
          { name: 'patient', valueReference: { reference: 'Practitioner/pr-1' } },
          { name: 'service', valueReference: { reference: 'HealthcareService/hs-falls' } }, { name: 'reason', valueString: 'x' }] });
        got.push(r.status);
        assert.equal(await srCount(P), before_, 'no referral was stored');
        assert.deepEqual(got, [422, 422, 422], 'missing reason, bad priority, patient not a Patient');
      });

    it('$worklist, $care-team and $timeline refuse what they cannot answer', async () => {
      const { sys } = main;
      const { sw1 } = users;
      for (const q of ['', 'list=', 'list=bogus', 'list=mine%20team', 'list=mine&_count=abc', 'list=mine&_count=-1']) {
        const r = await sw1.get(`/fhir/Task/$worklist?${q}`);
        assert.equal(r.status, 400, `$worklist?${q}: ${r.text.slice(0, 200)}`);
        assert.equal(r.json.resourceType, 'OperationOutcome');
      }
      let r = await sys.get('/fhir/Task/$worklist?list=mine');
      assert.equal(r.status, 400, 'a system client has no practitioner of its own');
      assert.match(r.json.issue[0].diagnostics, /practitioner=/);
      r = await sys.get(`/fhir/Task/$worklist?list=mine&practitioner=Practitioner/${staff.sw1}`);
      assert.equal(r.status, 200);
      r = await sys.get('/fhir/Patient/no-such-person/$care-team');
      assert.equal(r.status, 404);
      r = await sys.get('/fhir/Task/no-such-task/$timeline');
      assert.equal(r.status, 404);
    });

    it('$worklist with a list name that is only part of a real one is 400', async () => {
      for (const q of ['list=over', 'list=ine', 'list=e', 'list=dis']) {
        const r = await users.sw1.get(`/fhir/Task/$worklist?${q}`);
        assert.equal(r.status, 400, `$worklist?${q}: ${r.text.slice(0, 200)}`);
      }
    });
  });
});
