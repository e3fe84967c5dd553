// policy.test.mjs — the care-relationship access policy as an authorisation
// matrix on a synthetic place (`kith synth --people 600 --seed 3`).
//
// People see resources outside any Patient's compartment, and the records of
// the people they have a care relationship with: their organisation is the
// person's GP practice, or an open CareTeam, EpisodeOfCare, ServiceRequest,
// Task or Encounter (a stay still going on) about the person names their
// practitioner or organisation, or they
// broke glass on the person. Analysts see no patient data; system clients see
// everything their scopes allow (see store_set_viewer in src/store/store.h).
//
// The oracle is computed here from the data as the system client reads it.
// Each user × type is checked for: search (every page), total and
// _summary=count, read/vread/history of a seen and an unseen resource (the
// unseen one answers exactly like a made-up id), $everything, chains, _has,
// _include/_revinclude; then writes, break-glass with its audit, and $export.
// Diagnostics report how many cells each test asserted.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { client, kith, startServer, tempDir } from './lib/server.mjs';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const SYS = 'urn:kith:policy-test';
const PASSWORD = 'policy-test-password';
const CLOSED = new Set(['inactive', 'finished', 'completed', 'cancelled', 'entered-in-error', 'revoked', 'rejected', 'failed']);
const TYPES = ['Patient', 'Encounter', 'Condition', 'Observation', 'MedicationRequest', 'EpisodeOfCare', 'ServiceRequest',
  'Organization', 'HealthcareService'];
const POOL = 6; // requests in flight at once

let dir;
let server;
let api;
const all = {}; // type → resources, as the system client reads them
const byKey = new Map(); // 'Type/id' → resource
const users = {}; // name → { role, org, prac, token, sees: Set of Patient ids }
const pick = {}; // patients and resources chosen for the cases

const bearer = (token) => ({ headers: { Authorization: `Bearer ${token}` } });
const refId = (ref, type) => (typeof ref === 'string' && ref.startsWith(`${type}/`) ? ref.slice(type.length + 1) : null);
const patientOf = (ref) => refId(ref?.reference, 'Patient');
const sorted = (xs) => [...xs].sort();

/** The Patient whose compartment r is in (the client's own reading of the compartment rules), or null. */
function compartmentOf(r) {
  switch (r.resourceType) {
  case 'Patient': return r.id;
  case 'Encounter': case 'Condition': case 'MedicationRequest': return patientOf(r.subject);
  case 'Observation': return patientOf(r.subject) ?? (r.performer ?? []).map(patientOf).find(Boolean) ?? null;
  case 'ServiceRequest': return patientOf(r.subject) ?? (r.performer ?? []).map(patientOf).find(Boolean) ?? null;
  case 'EpisodeOfCare': return patientOf(r.patient);
  case 'CareTeam': return patientOf(r.subject);
  case 'Task': return patientOf(r.for); // Kith keeps a Task in the record of the person it is for
  default: return null;
  }
}

/** Run fn over items with at most n in flight; results in order. */
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

/** GET a search and every `next` page; returns { resources (match and include), total, pages }. */
async function searchAll(query, opts = {}) {
  let url = `/fhir/${query}`;
  const resources = [];
  let total;
  let pages = 0;
  while (url) {
    const r = await api.get(url, opts);
    assert.equal(r.status, 200, `GET ${url}: ${r.text.slice(0, 300)}`);
    assert.equal(r.json.resourceType, 'Bundle', url);
    if (pages === 0) total = r.json.total;
    for (const e of r.json.entry ?? []) resources.push({ ...e.resource, _mode: e.search?.mode });
    url = (r.json.link ?? []).find((l) => l.relation === 'next')?.url;
    assert.ok(++pages < 200, `${query}: too many pages`);
  }
  return { resources, total, pages };
}

/** The body of a 404, with the asked-for id replaced, for comparison. */
const normalised404 = (res, type, id) => res.text.split(`${type}/${id}`).join(`${type}/{id}`);

/** A user account with a token. */
function addUser(name, role, org, prac) {
  const args = ['user', 'add', '--username', name, '--role', role, '--org', org];
  if (prac) args.push('--practitioner', prac);
  kith([...args, '--password-stdin', '--db', server.dbPath], `${PASSWORD}\n`);
  const token = kith(['user', 'token', name, '--db', server.dbPath]).trim();
  users[name] = { name, role, org, prac, token };
}

/** The Patients user u has a care relationship with, by the rules, from the system's view of the data. */
function oracle(u) {
  const sees = new Set();
  if (u.role === 'analyst') return sees;
  // the user, their organisation, or a colleague (a Practitioner with a role in their organisation)
  const colleagues = new Set(all.PractitionerRole.filter((r) => r.organization?.reference === `Organization/${u.org}` &&
    r.active !== false).map((r) => r.practitioner?.reference));
  const names = (ref) => ref === `Organization/${u.org}` || (u.prac && ref === `Practitioner/${u.prac}`) ||
    (ref?.startsWith('Practitioner/') && colleagues.has(ref));
  for (const p of all.Patient)
    if ((p.generalPractitioner ?? []).some((g) => g.reference === `Organization/${u.org}`)) sees.add(p.id);
  const open = (r) => !CLOSED.has(r.status);
  for (const r of all.CareTeam)
    if (open(r) && (r.participant ?? []).some((x) => names(x.member?.reference)) && patientOf(r.subject)) sees.add(patientOf(r.subject));
  for (const r of all.EpisodeOfCare)
    if (open(r) && (names(r.careManager?.reference) || names(r.managingOrganization?.reference)) && patientOf(r.patient))
      sees.add(patientOf(r.patient));
  for (const r of all.ServiceRequest)
    if (open(r) && (r.performer ?? []).some((x) => names(x.reference)) && patientOf(r.subject)) sees.add(patientOf(r.subject));
  for (const r of all.Task)
    if (open(r) && names(r.owner?.reference) && patientOf(r.for)) sees.add(patientOf(r.for));
  for (const r of all.Encounter) // a stay still going on, e.g. on the hospital's ward
    if (open(r) && names(r.serviceProvider?.reference) && patientOf(r.subject)) sees.add(patientOf(r.subject));
  return sees;
}

/** Read every resource of the types the cases use, as the system client. */
async function loadAll() {
  const types = [...TYPES, 'CareTeam', 'Task', 'PractitionerRole'];
  const got = await pool(types, POOL, (t) => searchAll(`${t}?_count=1000`));
  byKey.clear();
  types.forEach((t, i) => {
    all[t] = got[i].resources;
    assert.equal(got[i].total, all[t].length, `system: ${t} total ${got[i].total} ≠ ${all[t].length} paged`);
    for (const r of all[t]) byKey.set(`${t}/${r.id}`, r);
  });
}

const countBy = (type, pred) => all[type].filter(pred).length;
const observationsOf = (p) => all.Observation.filter((o) => compartmentOf(o) === p);

before(async () => {
  dir = tempDir('kith-policy-');
  const db = path.join(dir, 'place.db');
  kith(['synth', '--people', '600', '--seed', '3', '--db', db, '--quiet']);
  server = await startServer({ dbPath: db });
  api = client(server.base);
  all.CareTeam = [];
  all.Task = [];
  await loadAll();

  // staff from the directory: PractitionerRole code → practitioner at an organisation
  const staff = (code, org) => {
    const r = all.PractitionerRole.find((x) => x.code?.[0]?.coding?.[0]?.code === code && x.organization?.reference === `Organization/${org}`);
    assert.ok(r, `no ${code} at ${org} in the synthetic place`);
    return refId(r.practitioner.reference, 'Practitioner');
  };
  const practice = 'gp-Z00001';
  const coordOrg = 'org-int-1';
  pick.practice = practice;
  pick.coordOrg = coordOrg;
  pick.nurse = staff('district-nurse', 'org-community');
  pick.therapist = staff('physiotherapist', 'org-community');

  // people for the relationship resources: not at the practice, no open social care episode, most observations first
  const laOpen = new Set(all.EpisodeOfCare.filter((e) => !CLOSED.has(e.status)).map((e) => patientOf(e.patient)));
  const obsCount = new Map();
  for (const o of all.Observation) obsCount.set(compartmentOf(o), (obsCount.get(compartmentOf(o)) ?? 0) + 1);
  const free = all.Patient
    .filter((p) => p.id.startsWith('pat-') && !laOpen.has(p.id) && !(p.generalPractitioner ?? []).some((g) => g.reference === `Organization/${practice}`))
    .sort((a, b) => (obsCount.get(b.id) ?? 0) - (obsCount.get(a.id) ?? 0) || a.id.localeCompare(b.id))
    .map((p) => p.id);
  const [A, B, C, D, E, F, G, H] = free;
  Object.assign(pick, { careTeamPatient: A, episodePatient: B, taskPatient: C, finishedPatient: D, cancelledPatient: E,
    referralPatient: F, revokedPatient: G, inpatient: H });
  const rel = [
    { resourceType: 'CareTeam', id: 'pol-careteam', status: 'active', subject: { reference: `Patient/${A}` },
      participant: [{ member: { reference: `Practitioner/${pick.nurse}` } }] },
    { resourceType: 'EpisodeOfCare', id: 'pol-episode', status: 'active', patient: { reference: `Patient/${B}` },
      careManager: { reference: `Practitioner/${pick.therapist}` } },
    { resourceType: 'Task', id: 'pol-task', status: 'requested', intent: 'order', for: { reference: `Patient/${C}` },
      owner: { reference: `Organization/${coordOrg}` } },
    { resourceType: 'EpisodeOfCare', id: 'pol-episode-finished', status: 'finished', patient: { reference: `Patient/${D}` },
      careManager: { reference: `Practitioner/${pick.therapist}` } },
    { resourceType: 'Task', id: 'pol-task-cancelled', status: 'cancelled', intent: 'order', for: { reference: `Patient/${E}` },
      owner: { reference: `Organization/${coordOrg}` } },
    { resourceType: 'ServiceRequest', id: 'pol-referral', status: 'active', intent: 'order', subject: { reference: `Patient/${F}` },
      code: { text: 'District nursing visit' }, performer: [{ reference: `Practitioner/${pick.nurse}` }] },
    { resourceType: 'ServiceRequest', id: 'pol-referral-revoked', status: 'revoked', intent: 'order',
      subject: { reference: `Patient/${G}` }, code: { text: 'Physiotherapy' }, performer: [{ reference: `Practitioner/${pick.therapist}` }] },
    // on the acute hospital's ward now: the hospital's staff care for them
    { resourceType: 'Encounter', id: 'pol-stay', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      subject: { reference: `Patient/${H}` }, serviceProvider: { reference: 'Organization/org-acute' } },
  ];
  for (const r of rel) {
    // a Task starts as requested (the referral state machine) and is then cancelled
    const first = r.resourceType === 'Task' && r.status === 'cancelled' ? { ...r, status: 'requested' } : r;
    const w = await api.put(`/fhir/${r.resourceType}/${r.id}`, first);
    assert.equal(w.status, 201, `PUT ${r.resourceType}/${r.id}: ${w.text.slice(0, 300)}`);
    if (first !== r) {
      const c = await api.put(`/fhir/${r.resourceType}/${r.id}`, r);
      assert.equal(c.status, 200, `PUT ${r.resourceType}/${r.id} (cancel): ${c.text.slice(0, 300)}`);
    }
  }
  await loadAll();

  addUser('pol-gp', 'gp', practice, staff('gp', practice));
  addUser('pol-practice', 'practice-staff', practice, null);
  addUser('pol-nurse', 'community-nurse', 'org-community', pick.nurse);
  addUser('pol-therapist', 'therapist', 'org-community', pick.therapist);
  addUser('pol-social', 'social-worker', 'la-E06000999', staff('social-worker', 'la-E06000999'));
  addUser('pol-coord', 'care-coordinator', coordOrg, staff('care-coordinator', coordOrg));
  addUser('pol-discharge', 'discharge-coordinator', 'org-acute', staff('discharge-coordinator', 'org-acute'));
  addUser('pol-admin', 'administrator', 'org-icb', null);
  addUser('pol-analyst', 'analyst', 'org-icb', null);
  for (const u of Object.values(users)) u.sees = oracle(u);
});

after(async () => {
  if (server) await server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the access policy on a synthetic place', () => {
  it('the oracle: who has a relationship with whom', (t) => {
    const u = users;
    const pats = (p) => all.Patient.filter((x) => (x.generalPractitioner ?? []).some((g) => g.reference === `Organization/${p}`)).length;
    assert.equal(all.Patient.length, 604, 'the place has 600 people and 4 unlinked social care clients');
    assert.equal(u['pol-gp'].sees.size, pats(pick.practice), 'gp: the practice list');
    assert.deepEqual(sorted(u['pol-practice'].sees), sorted(u['pol-gp'].sees), 'practice staff: the same list as the GP');
    // the nurse and the therapist work for the community trust: each shares the other's caseload
    const community = sorted([pick.careTeamPatient, pick.referralPatient, pick.episodePatient]);
    assert.deepEqual(sorted(u['pol-nurse'].sees), community, 'nurse: CareTeam, referral and the colleague\'s open episode');
    assert.deepEqual(sorted(u['pol-therapist'].sees), community, 'therapist: the open episode and the colleague\'s (not the finished episode, not the revoked referral)');
    assert.deepEqual(sorted(u['pol-coord'].sees), [pick.taskPatient], 'care coordinator: the open Task only (not the cancelled one)');
    const laOpen = new Set(all.EpisodeOfCare.filter((e) => !CLOSED.has(e.status) && e.managingOrganization?.reference === 'Organization/la-E06000999').map((e) => patientOf(e.patient)));
    assert.ok(laOpen.size > 0, 'the council has open episodes');
    assert.deepEqual(sorted(u['pol-social'].sees), sorted(laOpen), 'social worker: the council\'s open episodes');
    assert.deepEqual(sorted(u['pol-discharge'].sees), [pick.inpatient], "discharge coordinator: the hospital's inpatient (not its finished stays)");
    for (const n of ['pol-admin', 'pol-analyst']) assert.equal(u[n].sees.size, 0, `${n}: nobody`);
    t.diagnostic(`users ${Object.keys(users).length}; sets: ${Object.values(users).map((x) => `${x.name}=${x.sees.size}`).join(' ')}`);
  });

  // the matrix: one test per user, every type
  for (const name of ['pol-gp', 'pol-practice', 'pol-nurse', 'pol-therapist', 'pol-social', 'pol-coord', 'pol-discharge',
    'pol-admin', 'pol-analyst']) {
    it(`${name}: search, count, read, vread and history of every type`, async (t) => {
      const u = users[name];
      const H = bearer(u.token);
      const cells = { search: 0, total: 0, count: 0, read: 0, hidden: 0 };
      await pool(TYPES, 3, async (type) => {
        const inSet = (r) => { const p = compartmentOf(r); return p === null || u.sees.has(p); };
        const want = sorted(all[type].filter(inSet).map((r) => r.id));
        const unseen = all[type].filter((r) => !inSet(r));
        const got = await searchAll(`${type}?_count=1000`, H);
        assert.deepEqual(sorted(got.resources.map((r) => r.id)), want, `${name} ${type}?_count=1000: ids`);
        cells.search++;
        if (got.total !== undefined) {
          assert.equal(got.total, want.length, `${name} ${type}: Bundle.total`);
          cells.total++;
        }
        const c = await api.get(`/fhir/${type}?_summary=count`, H);
        assert.equal(c.status, 200, `${name} ${type}?_summary=count: ${c.text.slice(0, 200)}`);
        assert.equal(c.json.total, want.length, `${name} ${type}?_summary=count`);
        assert.equal((c.json.entry ?? []).length, 0, `${name} ${type}?_summary=count has no entries`);
        cells.count++;

        // an unseen resource answers read, vread and history exactly like a made-up id
        const fake = `pol-no-such-${type.toLowerCase()}`;
        const shapes = ['', '/_history/1', '/_history'];
        const madeUp = await Promise.all(shapes.map((s) => api.get(`/fhir/${type}/${fake}${s}`, H)));
        madeUp.forEach((r, i) => assert.equal(r.status, 404, `${name} GET ${type}/${fake}${shapes[i]}`));
        if (want.length) {
          const id = want[Math.floor(want.length / 2)];
          const r = await api.get(`/fhir/${type}/${id}`, H);
          assert.equal(r.status, 200, `${name} reads ${type}/${id}: ${r.text.slice(0, 200)}`);
          assert.equal(r.json.id, id);
          const v = await api.get(`/fhir/${type}/${id}/_history/1`, H);
          assert.equal(v.status, 200, `${name} vreads ${type}/${id}/_history/1`);
          cells.read += 2;
        }
        if (unseen.length) {
          const id = unseen[Math.floor(unseen.length / 3)].id;
          for (let i = 0; i < shapes.length; i++) {
            const p = `${type}/${id}${shapes[i]}`;
            const r = await api.get(`/fhir/${p}`, H);
            assert.equal(r.status, 404, `${name} GET ${p} of a person without relationship: ${r.text.slice(0, 200)}`);
            assert.equal(normalised404(r, type, id), normalised404(madeUp[i], type, fake), `${name} GET ${p}: the 404 differs from a made-up id's`);
            cells.hidden++;
          }
        }
      });
      t.diagnostic(`${name}: ${Object.entries(cells).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    });
  }

  it('$everything, chains, _has, _include and _revinclude follow the policy', async (t) => {
    let cells = 0;
    const historyLeaks = [];
    const sysHas = await searchAll('Patient?_has:Observation:subject:status=final&_count=1000');
    const everything = async (p, opts) => (await searchAll(`Patient/${p}/$everything?_count=1000`, opts)).resources.map((r) => `${r.resourceType}/${r.id}`);
    await pool(Object.values(users), 3, async (u) => {
      const H = bearer(u.token);
      const seen = sorted(u.sees);
      const unseen = all.Patient.map((p) => p.id).filter((p) => !u.sees.has(p));
      const withObs = seen.find((p) => observationsOf(p).length > 0);
      const hiddenWithObs = unseen.find((p) => observationsOf(p).length > 0);

      // $everything
      const ev = await api.get(`/fhir/Patient/${hiddenWithObs}/$everything`, H);
      assert.equal(ev.status, 404, `${u.name}: $everything of unseen ${hiddenWithObs}: ${ev.text.slice(0, 200)}`);
      cells++;
      if (withObs) {
        const mine = sorted(await everything(withObs, H));
        assert.deepEqual(mine, sorted(await everything(withObs)), `${u.name}: $everything of ${withObs} = the system's`);
        for (const k of mine) if (byKey.has(k)) assert.equal(compartmentOf(byKey.get(k)), withObs, `${u.name}: $everything brought ${k}`);
        cells++;
      }

      // chains on the NHS number
      const nhs = (p) => byKey.get(`Patient/${p}`).identifier.find((i) => i.system === NHS)?.value;
      const hiddenNhs = unseen.find((p) => observationsOf(p).length > 0 && nhs(p));
      const ch = await api.get(`/fhir/Observation?subject:Patient.identifier=${encodeURIComponent(`${NHS}|${nhs(hiddenNhs)}`)}`, H);
      assert.equal(ch.status, 200, ch.text.slice(0, 200));
      assert.equal((ch.json.entry ?? []).length, 0, `${u.name}: chain to unseen ${hiddenNhs} found Observations`);
      if (ch.json.total !== undefined) assert.equal(ch.json.total, 0, `${u.name}: chain total`);
      cells++;
      if (withObs && nhs(withObs)) {
        const q = `Observation?subject:Patient.identifier=${encodeURIComponent(`${NHS}|${nhs(withObs)}`)}&_count=1000`;
        const got = await searchAll(q, H);
        assert.deepEqual(sorted(got.resources.map((r) => r.id)), sorted(observationsOf(withObs).filter((o) => patientOf(o.subject) === withObs).map((o) => o.id)),
          `${u.name}: chain to ${withObs}`);
        assert.ok(got.resources.length > 0);
        cells++;
      }

      // _has
      const has = await searchAll('Patient?_has:Observation:subject:status=final&_count=1000', H);
      assert.deepEqual(sorted(has.resources.map((r) => r.id)), sorted(sysHas.resources.map((r) => r.id).filter((p) => u.sees.has(p))),
        `${u.name}: Patient?_has:Observation:subject:status=final`);
      cells++;

      // _revinclude from a seen and an unseen Patient
      if (withObs) {
        const rv = await searchAll(`Patient?_id=${withObs}&_revinclude=Encounter:subject&_count=1000`, H);
        const want = [`Patient/${withObs}`, ...all.Encounter.filter((e) => patientOf(e.subject) === withObs).map((e) => `Encounter/${e.id}`)];
        assert.deepEqual(sorted(rv.resources.map((r) => `${r.resourceType}/${r.id}`)), sorted(want), `${u.name}: _revinclude of ${withObs}`);
        cells++;
      }
      const rvHidden = await searchAll(`Patient?_id=${hiddenWithObs}&_revinclude=Encounter:subject`, H);
      assert.equal(rvHidden.resources.length, 0, `${u.name}: _revinclude of unseen ${hiddenWithObs}`);
      cells++;

      // _include from a seen Encounter
      const enc = all.Encounter.find((e) => u.sees.has(patientOf(e.subject)));
      if (enc) {
        const inc = await searchAll(`Encounter?_id=${enc.id}&_include=Encounter:subject`, H);
        assert.deepEqual(sorted(inc.resources.map((r) => `${r.resourceType}/${r.id}`)), sorted([`Encounter/${enc.id}`, enc.subject.reference]),
          `${u.name}: _include of Encounter/${enc.id}`);
        cells++;
      }

      // from the directory (seen by all) back to people: only those the user may see come in
      const org = await searchAll(`Organization?_id=gp-Z00002&_revinclude=Patient:general-practitioner&_count=1000`, H);
      const pats = org.resources.filter((r) => r.resourceType === 'Patient').map((r) => r.id);
      const atZ2 = all.Patient.filter((p) => (p.generalPractitioner ?? []).some((g) => g.reference === 'Organization/gp-Z00002')).map((p) => p.id);
      assert.deepEqual(sorted(pats), sorted(atZ2.filter((p) => u.sees.has(p))), `${u.name}: Organization/gp-Z00002 _revinclude Patient`);
      cells++;
      // history, type and system level: only what the user may see
      for (const q of ['Observation/_history?_count=1000', '_history?_count=1000']) {
        const h = await searchAll(q, H);
        const leaked = h.resources.filter((r) => r.resourceType && compartmentOf(r) !== null && !u.sees.has(compartmentOf(r)));
        if (leaked.length) historyLeaks.push(`${u.name}: GET /fhir/${q} shows ${leaked.length} versions of unseen people's records, e.g. ${leaked[0].resourceType}/${leaked[0].id} of ${compartmentOf(leaked[0])}`);
        cells++;
      }
      // a Task (outside every compartment) must not bring in the person it is for
      const task = await searchAll('Task?_id=pol-task&_include=Task:patient', H);
      const incPats = task.resources.filter((r) => r.resourceType === 'Patient').map((r) => r.id);
      assert.deepEqual(incPats, u.sees.has(pick.taskPatient) ? [pick.taskPatient] : [], `${u.name}: Task?_include=Task:patient`);
      cells++;
    });
    t.diagnostic(`$everything/chain/_has/_include/history cells: ${cells}`);
    assert.deepEqual(historyLeaks, [], 'history');
  });

  // Task is not in R4's Patient compartment, yet it names the person it is for, who owns it and why:
  // Kith keeps a Task in the record of the person it is for (src/fhir/compartment.c)
  it("Task (kept in its person's record) does not reveal people without a relationship", async (t) => {
    const u = users['pol-discharge'];
    const r = await api.get(`/fhir/Task?patient=${pick.taskPatient}`, bearer(u.token));
    assert.equal(r.status, 200);
    t.diagnostic(`a user without relationship finds ${(r.json.entry ?? []).length} Task(s) for ${pick.taskPatient}`);
    assert.equal((r.json.entry ?? []).length, 0,
      `Task?patient=${pick.taskPatient} as ${u.name} (no relationship) shows the Task: ${r.text.slice(0, 300)}`);
  });

  it('a deleted record of an unseen person answers like a made-up id', async (t) => {
    const u = users['pol-discharge'];
    const H = bearer(u.token);
    const victim = all.Observation.filter((o) => !u.sees.has(compartmentOf(o)))[3];
    assert.equal((await api.del(`/fhir/Observation/${victim.id}`)).status, 200);
    const madeUp = await api.get('/fhir/Observation/pol-never-was', H);
    let cells = 0;
    const failures = [];
    for (const p of [`Observation/${victim.id}`, `Observation/${victim.id}/_history`]) {
      const r = await api.get(`/fhir/${p}`, H);
      cells++;
      if (r.status !== 404 || normalised404(r, 'Observation', victim.id) !== normalised404(madeUp, 'Observation', 'pol-never-was'))
        failures.push(`GET ${p} (deleted, of unseen ${compartmentOf(victim)}) → ${r.status} ${r.text.slice(0, 200)} (want 404 as for a made-up id)`);
    }
    t.diagnostic(`deleted cells: ${cells}`);
    assert.deepEqual(failures, []);
  });

  it('break-glass opens one record for one user, with a reason, audited', async (t) => {
    const u = users['pol-discharge'];
    const H = bearer(u.token);
    const p = pick.finishedPatient; // nobody's relationship
    let cells = 0;
    assert.equal((await api.get(`/fhir/Patient/${p}`, H)).status, 404, 'unseen before');
    const short = await api.post(`/fhir/Patient/${p}/$break-glass?reason=because`, undefined, H);
    assert.equal(short.status, 400, `too short a reason: ${short.text.slice(0, 200)}`);
    assert.equal((await api.get(`/fhir/Patient/${p}`, H)).status, 404, 'still unseen after a refused break-glass');
    const an = await api.post(`/fhir/Patient/${p}/$break-glass?reason=${encodeURIComponent('curious about this person')}`, undefined, bearer(users['pol-analyst'].token));
    assert.equal(an.status, 403, `analyst: ${an.text.slice(0, 200)}`);
    const sys = await api.post(`/fhir/Patient/${p}/$break-glass?reason=${encodeURIComponent('system clients need none')}`, undefined);
    assert.equal(sys.status, 403, `system client: ${sys.text.slice(0, 200)}`);
    const get = await api.get(`/fhir/Patient/${p}/$break-glass?reason=${encodeURIComponent('a GET is not enough')}`, H);
    assert.equal(get.status, 405, 'GET $break-glass');
    cells += 5;

    const reason = 'Unconscious in ED, no GP record available';
    const ok = await api.post(`/fhir/Patient/${p}/$break-glass?reason=${encodeURIComponent(reason)}`, undefined, H);
    assert.equal(ok.status, 200, `break-glass: ${ok.text.slice(0, 300)}`);
    const pats = await searchAll('Patient?_count=1000', H);
    assert.deepEqual(sorted(pats.resources.map((r) => r.id)), sorted([p, pick.inpatient]), 'sees that one person, and nobody else beyond the ward');
    const encs = await searchAll(`Encounter?_count=1000`, H);
    const want = sorted(all.Encounter.filter((e) => patientOf(e.subject) === p || patientOf(e.subject) === pick.inpatient).map((e) => e.id));
    assert.ok(want.length > 0, 'the person has encounters');
    assert.deepEqual(sorted(encs.resources.map((r) => r.id)), want, 'sees that person\'s Encounters only (and the inpatient\'s)');
    const other = users['pol-admin'];
    assert.equal((await api.get(`/fhir/Patient/${p}`, bearer(other.token))).status, 404, 'the grant is for that user alone');
    cells += 4;

    const audit = await api.get(`/fhir/AuditEvent?patient=${p}`);
    assert.equal(audit.status, 200, audit.text.slice(0, 200));
    const events = (audit.json.entry ?? []).map((e) => e.resource).filter((e) => (e.subtype ?? []).some((s) => s.code === 'break-glass'));
    assert.ok(events.some((e) => e.outcomeDesc === `break-glass: ${reason}`), `an AuditEvent with the reason: ${JSON.stringify(events).slice(0, 600)}`);
    const own = await api.get(`/fhir/AuditEvent?patient=${p}`, H);
    assert.equal(own.status, 200, 'under the grant, who has looked at the record is visible to the coordinator too');
    const unseen = all.Patient.map((x) => x.id).filter((x) => x !== p).slice(0, 40);
    let stranger = null;
    for (const x of unseen) if ((await api.get(`/fhir/Patient/${x}`, H)).status === 404) { stranger = x; break; }
    assert.ok(stranger, 'someone the coordinator does not see');
    const refused = await api.get(`/fhir/AuditEvent?patient=${stranger}`, H);
    assert.equal(refused.status, 403, "a discharge coordinator may not read the audit trail of someone not in their care");
    assert.equal((await api.get('/fhir/AuditEvent', H)).status, 403, 'nor the whole audit trail');
    cells += 4;
    t.diagnostic(`break-glass cells: ${cells + 1}`);
    // history follows the grant too: that person's versions (and the inpatient's), nobody else's
    const h = await searchAll('Observation/_history?_count=1000', H);
    const leaked = h.resources.filter((r) => r.resourceType && compartmentOf(r) !== p && compartmentOf(r) !== pick.inpatient);
    assert.equal(leaked.length, 0, `after break-glass on ${p}, Observation/_history also shows ${leaked.length} versions of others, e.g. ${leaked[0]?.id}`);
  });

  it('writes that touch a person without relationship are refused and nothing is stored', async (t) => {
    let cells = 0;
    const failures = [];
    const check = (cond, msg) => { cells++; if (!cond) failures.push(msg); };
    const stored = async (tag) => (await api.get(`/fhir/Observation?identifier=${encodeURIComponent(`${SYS}|${tag}`)}&_summary=count`)).json.total;
    // one user at a time: concurrent writes share group commits (see the next test)
    await pool(Object.values(users), 1, async (u, ui) => {
      const H = bearer(u.token);
      const unseen = all.Patient.map((p) => p.id).filter((p) => !u.sees.has(p));
      const target = unseen[unseen.length - 1];
      const obs = (p, tag) => ({ resourceType: 'Observation', status: 'final', code: { text: 'policy test' }, subject: { reference: `Patient/${p}` },
        identifier: [{ system: SYS, value: tag }] });

      // create for an unseen person: plain, and in a transaction
      let tag = `${u.name}-create-unseen`;
      let w = await api.post('/fhir/Observation', obs(target, tag), H);
      check(w.status === 403 && w.json?.issue?.[0]?.code === 'forbidden', `${u.name}: POST Observation for unseen Patient/${target} → ${w.status} (want 403 forbidden)`);
      check((await stored(tag)) === 0, `${u.name}: POST Observation for unseen Patient/${target} was stored`);
      tag = `${u.name}-tx-unseen`;
      w = await api.post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Observation' }, resource: obs(target, tag) }] }, H);
      check(w.status === 403, `${u.name}: transaction POST Observation for unseen Patient/${target} → ${w.status} (want 403)`);
      check((await stored(tag)) === 0, `${u.name}: transaction Observation for unseen Patient/${target} was stored`);

      // create for a seen person
      const seen = [...u.sees][0];
      if (seen) {
        tag = `${u.name}-create-seen`;
        w = await api.post('/fhir/Observation', obs(seen, tag), H);
        check(w.status === 201, `${u.name}: POST Observation for seen Patient/${seen} → ${w.status} (want 201)`);
      } else if (u.role === 'analyst') {
        w = await api.post('/fhir/Observation', obs(all.Patient[0].id, `${u.name}-analyst`), H);
        check(w.status === 403, `analyst: POST Observation → ${w.status} (want 403)`);
      }

      // update, patch and delete of an unseen existing Observation
      const victim = all.Observation.filter((o) => !u.sees.has(compartmentOf(o)))[Object.keys(users).indexOf(u.name) * 7];
      const before = (await api.get(`/fhir/Observation/${victim.id}`)).json;
      w = await api.put(`/fhir/Observation/${victim.id}`, { ...before, meta: undefined, status: 'entered-in-error' }, H);
      check(w.status === 403 || w.status === 404, `${u.name}: PUT unseen Observation/${victim.id} → ${w.status}`);
      w = await api.req('PATCH', `/fhir/Observation/${victim.id}`, { body: JSON.stringify([{ op: 'replace', path: '/status', value: 'amended' }]),
        headers: { ...H.headers, 'Content-Type': 'application/json-patch+json' } });
      check(w.status === 403 || w.status === 404, `${u.name}: PATCH unseen Observation/${victim.id} → ${w.status}`);
      w = await api.del(`/fhir/Observation/${victim.id}`, H);
      check(w.status === 403 || w.status === 404, `${u.name}: DELETE unseen Observation/${victim.id} → ${w.status}`);
      const afterRead = await api.get(`/fhir/Observation/${victim.id}`);
      check(afterRead.status === 200 && afterRead.json.meta.versionId === before.meta.versionId,
        `${u.name}: unseen Observation/${victim.id} changed (${afterRead.status} v${afterRead.json?.meta?.versionId})`);

      // moving a seen Observation to an unseen person
      const mine = all.Observation.find((o) => u.sees.has(compartmentOf(o)));
      if (mine && u.role !== 'analyst') {
        w = await api.put(`/fhir/Observation/${mine.id}`, { ...mine, _mode: undefined, meta: undefined, subject: { reference: `Patient/${target}` } }, H);
        check(w.status === 403, `${u.name}: PUT Observation/${mine.id} onto unseen Patient/${target} → ${w.status} (want 403)`);
      }

      // granting oneself a relationship: a Task or CareTeam for an unseen person naming oneself
      if (u.role !== 'analyst') {
        const p = unseen[unseen.length - 2 - ui]; // each user their own, as colleagues share an organisation
        w = await api.post('/fhir/CareTeam', { resourceType: 'CareTeam', status: 'active', subject: { reference: `Patient/${p}` },
          participant: [{ member: { reference: `Organization/${u.org}` } }] }, H);
        check(w.status === 403, `${u.name}: POST CareTeam naming themself for unseen Patient/${p} → ${w.status} (want 403)`);
        w = await api.post('/fhir/Task', { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: `Patient/${p}` },
          owner: { reference: `Organization/${u.org}` } }, H);
        check(w.status === 403, `${u.name}: POST Task owned by themself for unseen Patient/${p} → ${w.status} (want 403)`);
        const r = await api.get(`/fhir/Patient/${p}`, H);
        check(r.status === 404, `${u.name}: after those writes, unseen Patient/${p} reads ${r.status} (want 404)`);
      }
    });
    t.diagnostic(`write cells: ${cells}, failed: ${failures.length}`);
    assert.deepEqual(failures, [], `writes:\n${failures.join('\n')}`);
  });

  it('a user\'s update is checked against the user even when it shares a group commit with a system client', async (t) => {
    // record_update_prepared runs on the connection that leads the group commit, whose viewer may be another's
    const u = users['pol-admin'];
    const H = bearer(u.token);
    const victims = all.Observation.filter((o) => !u.sees.has(compartmentOf(o))).slice(100, 140);
    const sysTargets = all.Observation.slice(200, 280);
    const userW = victims.map((o) => () => api.put(`/fhir/Observation/${o.id}`, { ...o, _mode: undefined, meta: undefined, status: 'amended' }, H)
      .then((w) => ({ who: 'user', id: o.id, status: w.status })));
    const sysW = sysTargets.map((o) => () => api.put(`/fhir/Observation/${o.id}`, { ...o, _mode: undefined, meta: undefined, status: 'preliminary' })
      .then((w) => ({ who: 'system', id: o.id, status: w.status })));
    const jobs = [];
    for (let i = 0; i < sysW.length; i++) { jobs.push(sysW[i]); if (i % 2 === 0 && userW[i / 2]) jobs.push(userW[i / 2]); }
    const results = await pool(jobs, 16, (f) => f());
    const bad = results.filter((r) => (r.who === 'user' ? !(r.status === 403 || r.status === 404) : r.status !== 200));
    t.diagnostic(`concurrent writes: ${results.length}, wrong outcome: ${bad.length}`);
    assert.deepEqual(bad, [], 'writes answered by another viewer\'s connection');
  });

  it('the system client sees everything; $export is for system clients only', async (t) => {
    let cells = 0;
    await loadAll(); // every page as the system client, each total equal to what was paged
    assert.equal(all.Patient.length, 604);
    for (const type of TYPES) {
      const c = await api.get(`/fhir/${type}?_summary=count`);
      assert.equal(c.json.total, all[type].length, `system ${type} count`);
      cells++;
    }
    const async = { Prefer: 'respond-async' };
    for (const u of Object.values(users))
      for (const p of ['/fhir/$export', '/fhir/Patient/$export']) {
        const r = await api.get(p, { headers: { ...bearer(u.token).headers, ...async } });
        assert.equal(r.status, 403, `${u.name}: ${p} → ${r.status} ${r.text.slice(0, 200)}`);
        cells++;
      }
    // a user holding the status or file URL of a system client's export gets nothing from it
    const k = await api.get('/fhir/Patient/$export?_type=Patient', { headers: async });
    assert.equal(k.status, 202, k.text.slice(0, 200));
    const status = k.headers.get('content-location');
    let manifest;
    for (let i = 0; i < 200 && !manifest; i++) {
      const s = await api.get(status);
      if (s.status === 200) manifest = s.json;
      else { assert.equal(s.status, 202, s.text.slice(0, 200)); await new Promise((r) => setTimeout(r, 50)); }
    }
    assert.ok(manifest, 'the export finished');
    const file = manifest.output.find((o) => o.type === 'Patient').url;
    const failures = [];
    const H = bearer(users['pol-discharge'].token);
    for (const url of [status, file]) {
      const r = await api.get(url, H);
      cells++;
      if (r.status !== 403 && r.status !== 404) failures.push(`${users['pol-discharge'].name}: GET ${url} of a system export → ${r.status} (${r.text.length} bytes, want 403/404)`);
    }
    t.diagnostic(`system/export cells: ${cells}`);
    assert.deepEqual(failures, []);
  });
});
