// everything-linked.test.mjs — Patient/$everything brings in the person's linked records.
//
// Record linkage joins a council's social care record (no NHS number) to the NHS record of the
// same person: Patient.link (type seealso) on both, and a Linkage resource. $everything on either
// record then holds both Patients and everything in both compartments, once each, paged as one
// set; a link written on one side only still counts; undoing the link takes the other record out
// again; and each linked record is shown only to a caller the access policy lets see it (a hidden
// one is simply left out, totals included), until they break glass on it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { client, kith, startServer } from './lib/server.mjs';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const GP_ORG = 'el-practice';
const COUNCIL = 'el-council';
const NHS_REC = 'el-nhs';
const COUNCIL_REC = 'cld-e08000035-1001'; // the shape of a CLD import's id: cld-<la>-<id>
const OTHER = 'el-other';

let server;
let api;
const tokens = {};
const bearer = (t) => ({ headers: { Authorization: `Bearer ${t}` } });

const patient = (id, extra) => ({ resourceType: 'Patient', id, name: [{ family: 'Lovelace', given: ['Ada'] }],
  birthDate: '1938-04-02', ...extra });
const nhsRecord = (link) => patient(NHS_REC, { identifier: [{ system: NHS, value: '9434765919' }],
  generalPractitioner: [{ reference: `Organization/${GP_ORG}` }], ...(link ? { link } : {}) });
const councilRecord = (link) => patient(COUNCIL_REC, {
  identifier: [{ system: 'https://kith.example.org/fhir/Id/cld-person', value: 'e08000035-1001' }],
  ...(link ? { link } : {}) });
const seeAlso = (id) => [{ other: { reference: `Patient/${id}` }, type: 'seealso' }];
const encounter = (id, pid, org) => ({ resourceType: 'Encounter', id, status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  subject: { reference: `Patient/${pid}` }, serviceProvider: { reference: `Organization/${org}` } });

const OWN = {
  [NHS_REC]: [`Patient/${NHS_REC}`, 'Encounter/el-nhs-visit'],
  [COUNCIL_REC]: [`Patient/${COUNCIL_REC}`, 'Encounter/el-council-visit', 'EpisodeOfCare/el-council-eoc'],
};
let BOTH = [...OWN[NHS_REC], ...OWN[COUNCIL_REC]].sort();

async function put(r, opts) {
  const res = await api.put(`/fhir/${r.resourceType}/${r.id}`, r, opts);
  assert.ok(res.status === 200 || res.status === 201, `${r.resourceType}/${r.id}: ${res.status} ${res.text}`);
  return res.json;
}

/** Every page of $everything: { keys (in order, no outcome entries), total, pages }. */
async function everything(pid, query = '', opts) {
  let url = `/fhir/Patient/${pid}/$everything${query}`;
  const keys = [];
  let total;
  let pages = 0;
  while (url) {
    const r = await api.get(url, opts);
    assert.equal(r.status, 200, `GET ${url}: ${r.text.slice(0, 300)}`);
    if (pages === 0) total = r.json.total;
    for (const e of r.json.entry ?? [])
      if (e.search?.mode !== 'outcome') keys.push(`${e.resource.resourceType}/${e.resource.id}`);
    url = r.json.link.find((l) => l.relation === 'next')?.url;
    assert.ok(++pages < 50, 'too many pages');
  }
  assert.equal(new Set(keys).size, keys.length, `${pid}: no resource twice: ${keys}`);
  assert.equal(total, keys.length, `${pid}${query}: total ${total} agrees with the ${keys.length} entries`);
  return { keys, total, pages };
}

async function link() {
  await put(nhsRecord(seeAlso(COUNCIL_REC)));
  await put(councilRecord(seeAlso(NHS_REC)));
  await put({ resourceType: 'Linkage', id: 'el-linkage', active: true, item: [
    { type: 'source', resource: { reference: `Patient/${NHS_REC}` } },
    { type: 'alternate', resource: { reference: `Patient/${COUNCIL_REC}` } }] });
}

before(async () => {
  server = await startServer();
  api = client(server.base);
  await put({ resourceType: 'Organization', id: GP_ORG, name: 'Linked Test Surgery' });
  await put({ resourceType: 'Organization', id: COUNCIL, name: 'Linked Test Council' });
  await put(nhsRecord());
  await put(councilRecord());
  await put(patient(OTHER, { identifier: [{ system: NHS, value: '4010232137' }] }));
  await put(encounter('el-nhs-visit', NHS_REC, GP_ORG));
  await put(encounter('el-council-visit', COUNCIL_REC, COUNCIL));
  await put(encounter('el-other-visit', OTHER, GP_ORG));
  // the council's open episode gives its social worker a care relationship with the council record only
  await put({ resourceType: 'EpisodeOfCare', id: 'el-council-eoc', status: 'active',
    patient: { reference: `Patient/${COUNCIL_REC}` }, managingOrganization: { reference: `Organization/${COUNCIL}` } });
  for (const [name, role, org] of [['el-gp', 'gp', GP_ORG], ['el-sw', 'social-worker', COUNCIL]]) {
    kith(['user', 'add', '--username', name, '--role', role, '--org', org, '--password-stdin', '--db', server.dbPath],
      'a good long password\n');
    tokens[name] = kith(['user', 'token', name, '--db', server.dbPath]).trim();
  }
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

describe('Patient/$everything with linked records', () => {
  it('before linking, each record holds only its own compartment', async () => {
    for (const pid of [NHS_REC, COUNCIL_REC]) {
      const { keys } = await everything(pid);
      assert.equal(keys[0], `Patient/${pid}`);
      assert.deepEqual([...keys].sort(), [...OWN[pid]].sort());
    }
  });

  it('once linked both ways, either record brings in the other, the asked-for Patient first', async () => {
    await link();
    for (const pid of [NHS_REC, COUNCIL_REC]) {
      const { keys } = await everything(pid);
      assert.equal(keys[0], `Patient/${pid}`, 'the Patient asked for leads');
      assert.deepEqual([...keys].sort(), BOTH, `${pid}: both Patients, both Encounters, nothing else`);
      assert.ok(!keys.includes(`Patient/${OTHER}`) && !keys.includes('Encounter/el-other-visit'));
    }
  });

  it('_count pages, _type and _since filter the combined set', async () => {
    for (const count of [1, 2, 3, 4]) {
      const { keys, pages } = await everything(NHS_REC, `?_count=${count}`);
      assert.equal(keys[0], `Patient/${NHS_REC}`);
      assert.deepEqual([...keys].sort(), BOTH, `_count=${count}: everything once`);
      assert.equal(pages, Math.ceil(BOTH.length / count), `_count=${count}: pages`);
    }
    const enc = await everything(COUNCIL_REC, '?_type=Encounter');
    assert.deepEqual(enc.keys, ['Encounter/el-council-visit', 'Encounter/el-nhs-visit']);
    const pats = await everything(COUNCIL_REC, '?_type=Patient');
    assert.deepEqual(pats.keys, [`Patient/${COUNCIL_REC}`, `Patient/${NHS_REC}`]);
    const zero = await api.get(`/fhir/Patient/${NHS_REC}/$everything?_count=0`);
    assert.deepEqual(zero.json.entry, []);
    assert.equal(zero.json.total, BOTH.length);
    const later = await put(encounter('el-council-visit-2', COUNCIL_REC, COUNCIL));
    const since = await everything(NHS_REC, `?_since=${encodeURIComponent(later.meta.lastUpdated)}`);
    assert.ok(since.keys.includes('Encounter/el-council-visit-2'), `${since.keys}`);
    assert.ok(!since.keys.includes('Encounter/el-nhs-visit') && !since.keys.includes('Encounter/el-council-visit'));
    const del = await api.del('/fhir/Encounter/el-council-visit-2');
    assert.ok(del.status === 200 || del.status === 204, del.text);
  });

  it('a link written on one side only still counts, from either side', async () => {
    await put(councilRecord()); // the council record's half of the link is gone
    for (const pid of [NHS_REC, COUNCIL_REC])
      assert.deepEqual([...(await everything(pid)).keys].sort(), BOTH, `${pid}: one-sided link followed`);
    await put(councilRecord(seeAlso(NHS_REC)));
  });

  it('a caller who may not see the linked record does not get it, nor its count', async () => {
    // the GP's practice is the NHS record's registered practice; it has no relationship with the council record
    const gp = bearer(tokens['el-gp']);
    assert.equal((await api.get(`/fhir/Patient/${COUNCIL_REC}`, gp)).status, 404, 'the council record is hidden');
    let mine = await everything(NHS_REC, '', gp);
    assert.deepEqual([...mine.keys].sort(), [...OWN[NHS_REC]].sort(), 'the GP sees only the NHS record');
    mine = await everything(NHS_REC, '?_count=1', gp);
    assert.deepEqual([...mine.keys].sort(), [...OWN[NHS_REC]].sort(), 'nor on any page');
    const raw = await api.get(`/fhir/Patient/${NHS_REC}/$everything`, gp);
    assert.ok(!raw.text.includes('el-council-visit') && !raw.text.includes('el-council-eoc'), raw.text);
    assert.equal((await api.get(`/fhir/Patient/${COUNCIL_REC}/$everything`, gp)).status, 404);
    // and the other way round: the council's social worker sees the council record, not the GP record
    const sw = bearer(tokens['el-sw']);
    mine = await everything(COUNCIL_REC, '', sw);
    assert.deepEqual([...mine.keys].sort(), [...OWN[COUNCIL_REC]].sort(), 'the social worker: council record only');
    assert.equal((await api.get(`/fhir/Patient/${NHS_REC}/$everything`, sw)).status, 404);
    // break-glass on the council record opens it to the GP, and then it joins
    const reason = encodeURIComponent('emergency admission, unconscious');
    const bg = await api.post(`/fhir/Patient/${COUNCIL_REC}/$break-glass?reason=${reason}`, undefined, gp);
    assert.equal(bg.status, 200, bg.text);
    // break-glass leaves a Communication to the person's practice in the council record
    const note = await api.get(`/fhir/Communication?subject=Patient/${COUNCIL_REC}`);
    assert.equal(note.json.total, 1, note.text);
    OWN[COUNCIL_REC].push(`Communication/${note.json.entry[0].resource.id}`);
    BOTH = [...OWN[NHS_REC], ...OWN[COUNCIL_REC]].sort();
    mine = await everything(NHS_REC, '', gp);
    assert.deepEqual([...mine.keys].sort(), BOTH, 'after break-glass the GP sees both records');
  });

  it('undoing the link takes the other record out again', async () => {
    await put(nhsRecord());
    await put(councilRecord());
    await put({ resourceType: 'Linkage', id: 'el-linkage', active: false, item: [
      { type: 'source', resource: { reference: `Patient/${NHS_REC}` } },
      { type: 'alternate', resource: { reference: `Patient/${COUNCIL_REC}` } }] });
    for (const pid of [NHS_REC, COUNCIL_REC]) {
      const { keys } = await everything(pid);
      assert.deepEqual([...keys].sort(), [...OWN[pid]].sort(), `${pid}: only its own compartment after unlinking`);
    }
  });
});
