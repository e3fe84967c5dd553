// view.test.mjs — SQL on FHIR views: POST /fhir/ViewDefinition/$run over stored Patients (CSV, NDJSON,
// JSON), through the caller's access policy (a GP sees rows only for their practice's patients), bad
// views answered 400 with an OperationOutcome naming the element, a view failing on data 422, a body over
// the cap 413; and `kith view` over NDJSON files and over the database (where the national data
// opt-out applies unless the operator says otherwise).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';

import { BIN, client, kith, startServer, tempDir } from './lib/server.mjs';

const MAX_BODY = 256 * 1024; // the server's body cap in this test, so that a too-large body is cheap to send
const OPT_OUT = 'https://kith.example.org/fhir/CodeSystem/consent-category';

let server;
let api;
let dir;
let gpToken;

const patient = (id, family, gender, practice) => ({
  resourceType: 'Patient', id, name: [{ family, given: ['Sam'] }], gender,
  generalPractitioner: [{ reference: `Organization/${practice}` }],
});
const PEOPLE = [
  patient('vw-ann', 'Ashby', 'female', 'vw-practice-a'),
  patient('vw-bob', 'Brown, "Bobby"', 'male', 'vw-practice-b'),
  patient('vw-cat', 'Cole', 'female', 'vw-practice-a'),
];
const OBS = [
  { resourceType: 'Observation', id: 'vw-obs-ann', status: 'final', code: { text: 'weight' },
    subject: { reference: 'Patient/vw-ann' }, valueQuantity: { value: 61.5, unit: 'kg' } },
  { resourceType: 'Observation', id: 'vw-obs-bob', status: 'final', code: { text: 'weight' },
    subject: { reference: 'Patient/vw-bob' }, valueQuantity: { value: 80.25, unit: 'kg' } },
];

const PATIENTS_VIEW = {
  resourceType: 'ViewDefinition', name: 'patients', status: 'active', resource: 'Patient',
  select: [{ column: [
    { name: 'id', path: 'getResourceKey()' },
    { name: 'family', path: 'name.family.first()' },
    { name: 'gender', path: 'gender' },
  ] }],
  where: [{ path: "id.startsWith('vw-')" }],
};
const OBS_VIEW = {
  resourceType: 'ViewDefinition', resource: 'Observation',
  select: [{ column: [
    { name: 'id', path: 'id' },
    { name: 'patient', path: 'subject.getReferenceKey(Patient)' },
    { name: 'kg', path: 'value.ofType(Quantity).value' },
  ] }],
};

const run = (view, extra = [], opts = {}) => api.post('/fhir/ViewDefinition/$run', {
  resourceType: 'Parameters', parameter: [{ name: 'viewResource', resource: view }, ...extra],
}, opts);
const fmt = (f) => ({ name: '_format', valueCode: f });
const ndjson = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const ids = (rows) => rows.map((r) => r.id).sort();

/** The lines of a CSV answer (RFC 4180: each ends with CRLF); none of these tables has a line break in a field. */
function csvLines(text) {
  assert.ok(text.endsWith('\r\n'), 'the last row ends with CRLF');
  return text.slice(0, -2).split('\r\n');
}

/** Run `kith view ARGS` and give { status, stdout, stderr }. */
const view = (args) => spawnSync(BIN, ['view', ...args], { encoding: 'utf8' });

before(async () => {
  server = await startServer({ args: ['--max-body', String(MAX_BODY)] });
  api = client(server.base);
  dir = tempDir('kith-view-');
  for (const r of [...PEOPLE, ...OBS]) {
    const res = await api.put(`/fhir/${r.resourceType}/${r.id}`, r);
    assert.equal(res.status, 201, res.text);
  }
  // Cole registered the national data opt-out
  const consent = await api.put('/fhir/Consent/vw-opt-out', {
    resourceType: 'Consent', id: 'vw-opt-out', status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }] },
    category: [{ coding: [{ system: OPT_OUT, code: 'national-data-opt-out' }] }],
    patient: { reference: 'Patient/vw-cat' }, provision: { type: 'deny' },
  });
  assert.equal(consent.status, 201, consent.text);
  // a GP at practice A: sees the practice's patients (Ann, Cole), not Bob
  kith(['user', 'add', '--username', 'vw-gp', '--role', 'gp', '--org', 'vw-practice-a', '--password-stdin',
    '--db', server.dbPath], 'view-test-password\n');
  gpToken = kith(['user', 'token', 'vw-gp', '--db', server.dbPath]).trim();
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('POST /fhir/ViewDefinition/$run', () => {
  it('CSV: a header row, then a row per stored Patient, quoted as RFC 4180 says', async () => {
    const r = await run(PATIENTS_VIEW, [fmt('csv')]);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    const [header, ...rows] = csvLines(r.text);
    assert.equal(header, 'id,family,gender');
    assert.deepEqual(rows.sort(), [
      'Patient/vw-ann,Ashby,female',
      'Patient/vw-bob,"Brown, ""Bobby""",male',
      'Patient/vw-cat,Cole,female',
    ]);
  });

  it('NDJSON (the default) and JSON keep numbers and nulls', async () => {
    let r = await run(OBS_VIEW);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^application\/x-ndjson/);
    assert.deepEqual(ndjson(r.text).sort((a, b) => a.id.localeCompare(b.id)), [
      { id: 'vw-obs-ann', patient: 'Patient/vw-ann', kg: 61.5 },
      { id: 'vw-obs-bob', patient: 'Patient/vw-bob', kg: 80.25 },
    ]);
    r = await run(PATIENTS_VIEW, [fmt('json'), { name: '_limit', valueInteger: 2 }]);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.equal(r.json.length, 2, '_limit caps the rows');
  });

  it('a caller gets rows only from the resources they may read', async () => {
    const asGp = { headers: { Authorization: `Bearer ${gpToken}` } };
    let r = await run(PATIENTS_VIEW, [fmt('ndjson')], asGp);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(ids(ndjson(r.text)), ['Patient/vw-ann', 'Patient/vw-cat'], 'not Bob, who is not their patient');
    r = await run(OBS_VIEW, [fmt('ndjson')], asGp);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(ids(ndjson(r.text)), ['vw-obs-ann']);
    // the same reader searching sees the same people: the view adds no access
    const s = await api.get('/fhir/Patient?_id=vw-ann,vw-bob,vw-cat', asGp);
    assert.deepEqual(s.json.entry.map((e) => `Patient/${e.resource.id}`).sort(), ['Patient/vw-ann', 'Patient/vw-cat']);
    // and the audit trail says what the view took
    const deadline = Date.now() + 3000;
    let seen;
    while (!seen && Date.now() < deadline) {
      const a = await api.get('/fhir/AuditEvent?agent=user/vw-gp&_count=50');
      seen = (a.json.entry ?? []).map((e) => e.resource.outcomeDesc).find((d) => /^SQL on FHIR view patients/.test(d ?? ''));
      if (!seen) await new Promise((res) => setTimeout(res, 25));
    }
    assert.equal(seen, 'SQL on FHIR view patients over Patient: 2 rows from 2 resources');
  });

  it('inline resources are run instead of the store; a Binary may hold the view', async () => {
    let r = await run(PATIENTS_VIEW, [fmt('ndjson'), { name: 'resource', resource: patient('vw-zed', 'Zed', 'other', 'x') }]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(ndjson(r.text), [{ id: 'Patient/vw-zed', family: 'Zed', gender: 'other' }]);
    const b = await api.put('/fhir/Binary/vw-view', {
      resourceType: 'Binary', id: 'vw-view', contentType: 'application/json',
      data: Buffer.from(JSON.stringify(OBS_VIEW)).toString('base64'),
    });
    assert.equal(b.status, 201, b.text);
    r = await api.post('/fhir/ViewDefinition/$run', { resourceType: 'Parameters', parameter: [
      { name: 'viewReference', valueReference: { reference: 'Binary/vw-view' } }, fmt('csv')] });
    assert.equal(r.status, 200, r.text);
    assert.equal(csvLines(r.text).length, 3);
  });

  it('a bad view is 400 with an OperationOutcome naming the element', async () => {
    const bad = structuredClone(PATIENTS_VIEW);
    bad.select[0].column[1].path = 'name.family..first()';
    let r = await run(bad, [fmt('csv')]);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.resourceType, 'OperationOutcome');
    assert.equal(r.json.issue[0].code, 'invalid');
    assert.deepEqual(r.json.issue[0].expression, ['ViewDefinition.select[0].column[1].path']);
    assert.match(r.json.issue[0].diagnostics, /not valid FHIRPath/);
    r = await run({ ...PATIENTS_VIEW, resource: 'Nonsense' });
    assert.equal(r.status, 400);
    assert.match(r.json.issue[0].diagnostics, /'Nonsense' is not a FHIR R4 resource type/);
    r = await api.post('/fhir/ViewDefinition/$run', { resourceType: 'Parameters', parameter: [fmt('csv')] });
    assert.equal(r.status, 400);
    assert.match(r.json.issue[0].diagnostics, /exactly one of viewResource/);
    r = await run(PATIENTS_VIEW, [fmt('parquet')]);
    assert.equal(r.status, 400);
    r = await api.get('/fhir/ViewDefinition/$run');
    assert.equal(r.status, 405);
  });

  it('a view that fails on the data is 422; a body over the cap is 413', async () => {
    const many = { resourceType: 'ViewDefinition', resource: 'Patient',
      select: [{ column: [{ name: 'given', path: 'name.given' }] }] };
    const r = await run(many, [{ name: 'resource', resource: { resourceType: 'Patient', id: 'two',
      name: [{ given: ['a', 'b'] }] } }]);
    assert.equal(r.status, 422, r.text);
    assert.match(r.json.issue[0].diagnostics, /gave 2 values on Patient\/two/);
    const huge = await run(PATIENTS_VIEW, [{ name: 'resource', resource: patient('big', 'x'.repeat(MAX_BODY), 'other', 'x') }]);
    assert.equal(huge.status, 413);
  });

  it('a large table is streamed from a temporary file, complete', async () => {
    const given = Array.from({ length: 700 }, (_, i) => `given-${String(i).padStart(6, '0')}`);
    const pairs = { resourceType: 'ViewDefinition', resource: 'Patient', select: [
      { forEach: 'name.given', column: [{ name: 'a', path: '$this' }] },
      { forEach: 'name.given', column: [{ name: 'b', path: '$this' }] }] };
    const r = await run(pairs, [fmt('csv'), { name: 'resource', resource: { resourceType: 'Patient', id: 'many',
      name: [{ given }] } }]);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.ok(r.text.length > 8 * 1024 * 1024, `past the in-memory limit: ${r.text.length} bytes`);
    const lines = csvLines(r.text);
    assert.equal(lines.length, 1 + 700 * 700);
    assert.equal(lines[1], 'given-000000,given-000000');
    assert.equal(lines.at(-1), 'given-000699,given-000699');
  });

  it('is in the CapabilityStatement', async () => {
    const cs = (await api.get('/fhir/metadata')).json;
    assert.ok(cs.rest[0].operation.some((o) => o.name === 'run' && /sql-on-fhir/.test(o.definition)));
  });
});

describe('kith view', () => {
  it('runs over NDJSON files (gzip too) and reports bad lines', () => {
    const viewFile = path.join(dir, 'patients.json');
    fs.writeFileSync(viewFile, JSON.stringify(PATIENTS_VIEW));
    const plain = path.join(dir, 'Patient.ndjson');
    fs.writeFileSync(plain, `${PEOPLE.slice(0, 2).map((p) => JSON.stringify(p)).join('\n')}\n`);
    const gz = path.join(dir, 'more.ndjson.gz');
    fs.writeFileSync(gz, zlib.gzipSync(`${JSON.stringify(PEOPLE[2])}\n${JSON.stringify(OBS[0])}\n`));
    let r = view([viewFile, plain, gz, '--format', 'ndjson', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ids(ndjson(r.stdout)), ['Patient/vw-ann', 'Patient/vw-bob', 'Patient/vw-cat']);
    const broken = path.join(dir, 'broken.ndjson');
    fs.writeFileSync(broken, `${JSON.stringify(PEOPLE[0])}\n{not json\n`);
    const out = path.join(dir, 'out.csv');
    r = view([viewFile, broken, '--out', out]);
    assert.equal(r.status, 1, 'a refused line makes the exit status 1');
    assert.match(r.stderr, /broken\.ndjson:2: /);
    assert.equal(csvLines(fs.readFileSync(out, 'utf8')).length, 2);
    assert.match(r.stdout, /1 rows from 1 resources/);
  });

  it('refuses a bad view before reading anything', () => {
    const viewFile = path.join(dir, 'bad.json');
    fs.writeFileSync(viewFile, JSON.stringify({ resource: 'Patient', select: [{ forEach: 1 }] }));
    const r = view([viewFile, '--db', server.dbPath]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /select\[0\]\.forEach: must be a FHIRPath expression/);
    assert.match(view(['--help']).stdout, /^Usage: kith view VIEW\.json/);
  });

  it('runs over the database, leaving out people who opted out unless told otherwise', () => {
    const viewFile = path.join(dir, 'patients.json');
    fs.writeFileSync(viewFile, JSON.stringify(PATIENTS_VIEW));
    let r = view([viewFile, '--db', server.dbPath, '--format', 'ndjson', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ids(ndjson(r.stdout)), ['Patient/vw-ann', 'Patient/vw-bob'], 'Cole registered the opt-out');
    r = view([viewFile, '--db', server.dbPath, '--format', 'ndjson', '--quiet', '--include-opted-out']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ids(ndjson(r.stdout)), ['Patient/vw-ann', 'Patient/vw-bob', 'Patient/vw-cat']);
    const out = path.join(dir, 'db.csv');
    r = view([viewFile, '--db', server.dbPath, '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).rows, 2);
    assert.equal(csvLines(fs.readFileSync(out, 'utf8'))[0], 'id,family,gender');
  });
});
