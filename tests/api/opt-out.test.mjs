// opt-out.test.mjs — the national data opt-out. A person who registered it (an
// active Consent in category kith consent-category|national-data-opt-out) is
// left out of everything a secondary-use client (planning, research: `kith
// client add --purpose secondary-use`) sees: searches and their totals,
// reads, $everything and bulk $export. Direct-care clients still see them;
// withdrawing the opt-out (status inactive) brings the person back.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { kith, startServer } from './lib/server.mjs';

let server, research;
const as = (token) => ({ Authorization: `Bearer ${token}` });

async function get(path, token) {
  const r = await fetch(`${server.base}${path}`, { headers: token ? as(token) : {} });
  return { status: r.status, json: r.status === 200 ? await r.json() : await r.text() };
}

async function put(r) {
  const res = await fetch(`${server.base}/fhir/${r.resourceType}/${r.id}`, {
    method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(r),
  });
  assert.ok(res.status === 200 || res.status === 201, `${r.resourceType}/${r.id}: ${res.status} ${await res.text()}`);
}

const optOut = (status) => ({
  resourceType: 'Consent', id: 'oo-consent', status,
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }] },
  category: [{ coding: [{ system: 'https://kith.example.org/fhir/CodeSystem/consent-category', code: 'national-data-opt-out' }] }],
  patient: { reference: 'Patient/oo-out' }, provision: { type: 'deny' },
});

before(async () => {
  server = await startServer();
  for (const id of ['oo-in', 'oo-out']) {
    await put({ resourceType: 'Patient', id, name: [{ family: 'Optout' }] });
    await put({ resourceType: 'Observation', id: `${id}-obs`, status: 'final', code: { text: 'weight' },
      subject: { reference: `Patient/${id}` } });
  }
  await put(optOut('active'));
  // a planning and research system
  kith(['client', 'add', 'oo-research', '--scopes', 'system/*.rs', '--purpose', 'secondary-use', '--db', server.dbPath]);
  research = kith(['client', 'token', 'oo-research', '--db', server.dbPath]).trim();
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

const ids = (bundle) => (bundle.entry ?? []).map((e) => e.resource.id).sort();

describe('the national data opt-out', () => {
  it('leaves the person out of a secondary-use client searches, totals and reads', async () => {
    const p = await get('/fhir/Patient?family=Optout', research);
    assert.deepEqual(ids(p.json), ['oo-in']);
    assert.equal(p.json.total, 1);
    const o = await get('/fhir/Observation?code:text=weight&_summary=count', research);
    assert.equal(o.json.total, 1);
    assert.equal((await get('/fhir/Patient/oo-out', research)).status, 404);
    assert.equal((await get('/fhir/Observation/oo-out-obs', research)).status, 404);
    assert.equal((await get('/fhir/Patient/oo-out/$everything', research)).status, 404);
  });
  it('still shows the person to direct care', async () => {
    const p = await get('/fhir/Patient?family=Optout', server.token);
    assert.deepEqual(ids(p.json), ['oo-in', 'oo-out']);
  });
  it('leaves the person out of a secondary-use bulk export', async () => {
    const kick = await fetch(`${server.base}/fhir/Patient/$export?_type=Patient,Observation`, {
      headers: { ...as(research), Prefer: 'respond-async', Accept: 'application/fhir+json' },
    });
    assert.equal(kick.status, 202, await kick.text());
    const status = kick.headers.get('content-location');
    let manifest;
    for (let i = 0; i < 200 && !manifest; i++) {
      const r = await fetch(status, { headers: as(research) });
      if (r.status === 200) manifest = await r.json();
      else await new Promise((ok) => setTimeout(ok, 50));
    }
    assert.ok(manifest, 'the export finished');
    const lines = [];
    for (const out of manifest.output) {
      const f = await fetch(out.url, { headers: as(research) });
      lines.push(...(await f.text()).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).id));
    }
    assert.ok(lines.includes('oo-in') && lines.includes('oo-in-obs'), `exported ${lines}`);
    assert.ok(!lines.includes('oo-out') && !lines.includes('oo-out-obs'), `the opted-out person was exported: ${lines}`);
  });
  it('brings the person back when the opt-out is withdrawn', async () => {
    await put(optOut('inactive'));
    const p = await get('/fhir/Patient?family=Optout', research);
    assert.deepEqual(ids(p.json), ['oo-in', 'oo-out']);
  });
});
