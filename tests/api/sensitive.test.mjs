// sensitive.test.mjs — sensitive categories (meta.security labels) are shown
// only to the roles allowed to see them, in reads and searches alike (totals
// agree), and a break-glass for the person lifts the restriction for that
// person only (src/fhir/access.c access_hidden_labels). A person's objection
// to sharing an organisation's records (an active Consent with provision type
// deny naming that organisation as actor) hides that organisation's records
// from everyone outside it, unless they break glass.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, kith, startServer } from './lib/server.mjs';

const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const KITH = 'https://kith.example.org/fhir/CodeSystem/sensitivity';
let server, api;
const tokens = {};

const bearer = (t) => ({ headers: { Authorization: `Bearer ${t}` } });

before(async () => {
  server = await startServer();
  api = client(server.base);
  const put = async (r) => {
    const res = await api.put(`/fhir/${r.resourceType}/${r.id}`, r);
    assert.ok(res.status === 200 || res.status === 201, `${r.resourceType}/${r.id}: ${res.status} ${res.text}`);
  };
  await put({ resourceType: 'Organization', id: 'sens-practice', name: 'Sensitive Test Surgery' });
  for (const id of ['sens-a', 'sens-b'])
    await put({ resourceType: 'Patient', id, generalPractitioner: [{ reference: 'Organization/sens-practice' }] });
  const cond = (id, patient, text, label) => ({
    resourceType: 'Condition', id, subject: { reference: `Patient/${patient}` }, code: { text },
    ...(label ? { meta: { security: [label] } } : {}),
  });
  await put(cond('sens-plain', 'sens-a', 'Hypertension'));
  await put(cond('sens-hiv', 'sens-a', 'HIV infection', { system: ACT, code: 'HIV' }));
  await put(cond('sens-safe', 'sens-a', 'Safeguarding concern', { system: KITH, code: 'safeguarding' }));
  await put(cond('sens-hiv-b', 'sens-b', 'HIV infection', { system: ACT, code: 'HIV' }));
  for (const [name, role, org] of [['s-gp', 'gp', 'sens-practice'], ['s-staff', 'practice-staff', 'sens-practice'],
    ['s-sw', 'social-worker', 'sens-practice'], ['s-council', 'social-worker', 'sens-council'], ['s-gp2', 'gp', 'sens-practice']]) {
    kith(['user', 'add', '--username', name, '--role', role, '--org', org, '--password-stdin', '--db', server.dbPath],
      'a good long password\n');
    tokens[name] = kith(['user', 'token', name, '--db', server.dbPath]).trim();
  }
  // person sens-c: seen by the practice (GP) and by the council (an open EpisodeOfCare)
  await put({ resourceType: 'Organization', id: 'sens-council', name: 'Sensitive Test Council' });
  await put({ resourceType: 'Patient', id: 'sens-c', generalPractitioner: [{ reference: 'Organization/sens-practice' }] });
  await put({ resourceType: 'EpisodeOfCare', id: 'sens-c-eoc', status: 'active', patient: { reference: 'Patient/sens-c' },
    managingOrganization: { reference: 'Organization/sens-council' } });
  const enc = (id, org) => ({ resourceType: 'Encounter', id, status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: 'Patient/sens-c' }, serviceProvider: { reference: `Organization/${org}` } });
  await put(enc('sens-c-gp-visit', 'sens-practice'));
  await put(enc('sens-c-council-visit', 'sens-council'));
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

async function visible(user, patient) {
  const r = await api.get(`/fhir/Condition?patient=${patient}&_count=100`, bearer(tokens[user]));
  assert.equal(r.status, 200, r.text);
  const ids = (r.json.entry ?? []).map((e) => e.resource.id).sort();
  const count = await api.get(`/fhir/Condition?patient=${patient}&_summary=count`, bearer(tokens[user]));
  assert.equal(count.json.total, ids.length, `${user}: _summary=count agrees with the entries`);
  assert.equal(r.json.total, ids.length, `${user}: total agrees with the entries`);
  return ids;
}

describe('sensitive categories', () => {
  it('a GP sees every category', async () => {
    assert.deepEqual(await visible('s-gp', 'sens-a'), ['sens-hiv', 'sens-plain', 'sens-safe']);
    assert.equal((await api.get('/fhir/Condition/sens-hiv', bearer(tokens['s-gp']))).status, 200);
  });
  it('practice staff see neither HIV nor safeguarding, and reads say not found', async () => {
    assert.deepEqual(await visible('s-staff', 'sens-a'), ['sens-plain']);
    const hidden = await api.get('/fhir/Condition/sens-hiv', bearer(tokens['s-staff']));
    const missing = await api.get('/fhir/Condition/no-such-condition', bearer(tokens['s-staff']));
    assert.equal(hidden.status, 404);
    assert.equal(hidden.text.replace('sens-hiv', 'X'), missing.text.replace('no-such-condition', 'X'), 'same answer as a missing id');
  });
  it('a social worker sees safeguarding but not HIV', async () => {
    assert.deepEqual(await visible('s-sw', 'sens-a'), ['sens-plain', 'sens-safe']);
  });
  it("an objection to sharing the council's records hides them from the practice, not from the council", async () => {
    const encounters = async (user) => {
      const r = await api.get('/fhir/Encounter?patient=sens-c&_count=100', bearer(tokens[user]));
      assert.equal(r.status, 200, r.text);
      return (r.json.entry ?? []).map((e) => e.resource.id).sort();
    };
    assert.deepEqual(await encounters('s-gp2'), ['sens-c-council-visit', 'sens-c-gp-visit'], 'before the objection');
    const consent = await api.put('/fhir/Consent/sens-c-objection', {
      resourceType: 'Consent', id: 'sens-c-objection', status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: 'Patient/sens-c' },
      provision: { type: 'deny', actor: [{
        role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'CST' }] },
        reference: { reference: 'Organization/sens-council' } }] },
    });
    assert.ok(consent.status === 201 || consent.status === 200, consent.text);
    assert.deepEqual(await encounters('s-gp2'), ['sens-c-gp-visit'], 'the practice no longer sees the council record');
    assert.equal((await api.get('/fhir/Encounter/sens-c-council-visit', bearer(tokens['s-gp2']))).status, 404);
    assert.deepEqual(await encounters('s-council'), ['sens-c-council-visit', 'sens-c-gp-visit'], 'the council sees its own');
    const care = kith(['client', 'add', 'sens-care-system', '--scopes', 'system/*.rs', '--db', server.dbPath]) &&
      kith(['client', 'token', 'sens-care-system', '--db', server.dbPath]).trim();
    const sys = await api.get('/fhir/Encounter?patient=sens-c&_count=100', bearer(care));
    assert.deepEqual((sys.json.entry ?? []).map((e) => e.resource.id).sort(), ['sens-c-gp-visit'],
      'a direct-care system is bound by the objection too');
    const all = await api.get('/fhir/Encounter?patient=sens-c&_count=100'); // the records-management test client
    assert.equal(all.json.entry.length, 2, 'a records-management system sees both');
    const c2 = await api.get('/fhir/Consent/sens-c-objection', bearer(care));
    assert.equal(c2.status, 200, 'the Consent itself stays in view');
    const bg = await api.post('/fhir/Patient/sens-c/$break-glass?reason=emergency%20admission%2C%20unconscious', undefined,
      bearer(tokens['s-gp2']));
    assert.equal(bg.status, 200, bg.text);
    assert.deepEqual(await encounters('s-gp2'), ['sens-c-council-visit', 'sens-c-gp-visit'], 'break-glass overrides');
  });
  it('break-glass lifts the labels for that person only', async () => {
    const bg = await api.post('/fhir/Patient/sens-a/$break-glass?reason=urgent%20clinical%20need%20in%20A%26E', undefined,
      bearer(tokens['s-staff']));
    assert.equal(bg.status, 200, bg.text);
    assert.deepEqual(await visible('s-staff', 'sens-a'), ['sens-hiv', 'sens-plain', 'sens-safe']);
    assert.deepEqual(await visible('s-staff', 'sens-b'), [], 'the other person stays restricted');
    // the person's GP practice is told: a Communication in their record, addressed to the practice
    const c = await api.get('/fhir/Communication?subject=Patient/sens-a&category=notification', bearer(tokens['s-gp']));
    assert.equal(c.status, 200, c.text);
    const notes = (c.json.entry ?? []).map((e) => e.resource);
    const note = notes.find((n) => /s-staff/.test(n.payload?.[0]?.contentString ?? ''));
    assert.ok(note, `the practice sees the break-glass notice: ${c.text.slice(0, 400)}`);
    assert.equal(note.recipient?.[0]?.reference, 'Organization/sens-practice');
    assert.match(note.payload[0].contentString, /urgent clinical need/);
  });
});
