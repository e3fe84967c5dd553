// sensitive.test.mjs — sensitive categories (meta.security labels) are shown
// only to the roles allowed to see them, in reads and searches alike (totals
// agree), and a break-glass for the person lifts the restriction for that
// person only. The rules are src/fhir/access.c access_hidden_labels.
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
  for (const [name, role] of [['s-gp', 'gp'], ['s-staff', 'practice-staff'], ['s-sw', 'social-worker']]) {
    kith(['user', 'add', '--username', name, '--role', role, '--org', 'sens-practice', '--password-stdin', '--db', server.dbPath],
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
  it('break-glass lifts the labels for that person only', async () => {
    const bg = await api.post('/fhir/Patient/sens-a/$break-glass?reason=urgent%20clinical%20need%20in%20A%26E', undefined,
      bearer(tokens['s-staff']));
    assert.equal(bg.status, 200, bg.text);
    assert.deepEqual(await visible('s-staff', 'sens-a'), ['sens-hiv', 'sens-plain', 'sens-safe']);
    assert.deepEqual(await visible('s-staff', 'sens-b'), [], 'the other person stays restricted');
  });
});
