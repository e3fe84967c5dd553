// bulk.test.mjs — FHIR bulk data: `kith export` (and its round trip through
// `kith import`), the $export operation at system, Patient and Group level
// (kick-off, status polling, manifest, file download, _type, _since, the
// patient parameter, cancel, bad requests) and Patient $everything (contents,
// filters, paging), against a real `kith serve` and the real CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { assertOutcome } from './lib/cases.mjs';
import { BIN, client, startServer, tempDir } from './lib/server.mjs';

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ASYNC = { Prefer: 'respond-async', Accept: 'application/fhir+json' };

let server;
let api;
let work; // temp dir for exports and fresh databases
let exportDir;

// ---- the data set ----------------------------------------------------------
// Three Patients; clinical resources in their compartments; resources in no
// compartment; a Group of two (plus an inactive member and a non-Patient);
// a deleted Observation and a deleted Patient; a resource with two versions.
const patient = (id, family) => ({ resourceType: 'Patient', id, active: true, name: [{ family, given: ['Test'] }] });
const obs = (id, pid, value) => ({
  resourceType: 'Observation', id, status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }], text: 'Heart rate' },
  subject: { reference: `Patient/${pid}` },
  valueQuantity: { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
});
const DATA = [
  patient('bk-p1', 'Ashworth'),
  patient('bk-p2', 'Bellamy'),
  patient('bk-p3', 'Carver'),
  patient('bk-gone', 'Deleted'),
  obs('bk-o1', 'bk-p1', 72.50),
  obs('bk-o2', 'bk-p1', 80),
  obs('bk-o3', 'bk-p2', 64),
  obs('bk-o4', 'bk-p3', 90),
  obs('bk-odel', 'bk-p1', 99),
  { resourceType: 'Condition', id: 'bk-c1', subject: { reference: 'Patient/bk-p1' }, code: { text: 'Frailty' } },
  { resourceType: 'Encounter', id: 'bk-e1', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' }, subject: { reference: 'Patient/bk-p2' } },
  { resourceType: 'Organization', id: 'bk-org', name: 'Riverside Practice' },
  { resourceType: 'Practitioner', id: 'bk-pr', name: [{ family: 'Okafor' }] },
  {
    resourceType: 'Group', id: 'bk-g1', type: 'person', actual: true,
    member: [
      { entity: { reference: 'Patient/bk-p1' } },
      { entity: { reference: 'Patient/bk-p2' } },
      { entity: { reference: 'Patient/bk-p3' }, inactive: true },
      { entity: { reference: 'Practitioner/bk-pr' } },
    ],
  },
];

/** type → id → resource: what the store holds now (current, not deleted). */
const current = new Map();
function remember(r) {
  if (!current.has(r.resourceType)) current.set(r.resourceType, new Map());
  current.get(r.resourceType).set(r.id, r);
}
function forget(type, id) {
  current.get(type)?.delete(id);
  if (current.get(type)?.size === 0) current.delete(type);
}
function expectedKeys(filter = () => true) {
  const keys = [];
  for (const [type, m] of current) for (const [id, r] of m) if (filter(type, id, r)) keys.push(`${type}/${id}`);
  return keys.sort();
}
// The Patient compartment as the R4 CompartmentDefinition defines it for the
// types used here: a Patient is its own; Observation, Condition and Encounter
// by subject; a Group by its first member that is a Patient.
const patientOf = (ref) => /^Patient\/(.+)$/.exec(ref ?? '')?.[1];
const compartmentOf = (type, r) => {
  if (type === 'Patient') return r.id;
  if (type === 'Group') return (r.member ?? []).map((m) => patientOf(m.entity?.reference)).find(Boolean);
  return patientOf(r.subject?.reference);
};

// Bodies go as JSON text; Observation bk-o1 keeps a decimal written 72.50.
async function put(r) {
  let text = JSON.stringify(r);
  if (r.id === 'bk-o1') text = text.replace('"value":72.5,', '"value":72.50,');
  const res = await api.put(`/fhir/${r.resourceType}/${r.id}`, text);
  assert.ok(res.status === 200 || res.status === 201, `PUT ${r.resourceType}/${r.id}: ${res.status} ${res.text}`);
  remember(res.json);
  return res.json;
}

/** Without meta.versionId / meta.lastUpdated (which an import sets anew). */
function stripMeta(r) {
  const c = structuredClone(r);
  if (c.meta) {
    delete c.meta.versionId;
    delete c.meta.lastUpdated;
    if (Object.keys(c.meta).length === 0) delete c.meta;
  }
  return c;
}

before(async () => {
  work = tempDir('kith-bulk-');
  exportDir = path.join(work, 'exports');
  server = await startServer({ args: ['--export-dir', exportDir] });
  api = client(server.base);
  for (const r of DATA) await put(r);
  await put({ ...obs('bk-o2', 'bk-p1', 81), note: [{ text: 'second version' }] });
  assert.equal((await api.del('/fhir/Observation/bk-odel')).status, 200);
  forget('Observation', 'bk-odel');
  assert.equal((await api.del('/fhir/Patient/bk-gone')).status, 200);
  forget('Patient', 'bk-gone');
});

after(async () => {
  if (server) {
    const r = await server.stop();
    server.cleanup();
    assert.equal(r.code, 0, `kith serve exit after SIGTERM: ${JSON.stringify(r)}\n${server.log()}`);
    // Stopping the server deletes every job's files.
    assert.deepEqual(fs.existsSync(exportDir) ? fs.readdirSync(exportDir) : [], [], 'export dir empty after stop');
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

// ---- helpers ------------------------------------------------------------------

function kith(args, env = {}) {
  const e = { ...process.env, ...env };
  delete e.KITH_DB;
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: e });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every line of every .ndjson file in dir, parsed: "Type/id" → resource. */
function readNdjsonDir(dir) {
  const out = new Map();
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ndjson'))) {
    const type = f.slice(0, -'.ndjson'.length);
    const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n');
    assert.equal(lines.pop(), '', `${f} ends with a newline`);
    for (const line of lines) {
      const r = JSON.parse(line);
      assert.equal(r.resourceType, type, `${f}: a ${r.resourceType} in the ${type} file`);
      const key = `${type}/${r.id}`;
      assert.ok(!out.has(key), `${key} appears twice`);
      out.set(key, r);
    }
  }
  return out;
}

async function kickoff(p, { method = 'GET', headers = ASYNC, body } = {}) {
  const res = await api.req(method, p, { headers, body });
  return res;
}

/** Kick off an export that must be accepted; returns the status URL. */
async function startExport(p, opts) {
  const res = await kickoff(p, opts);
  assert.equal(res.status, 202, `kick-off ${p}: ${res.status} ${res.text}`);
  const loc = res.headers.get('content-location');
  assert.match(loc ?? '', new RegExp(`^${server.base}/fhir/\\$export-status/[0-9a-f-]{36}$`), 'Content-Location');
  return loc;
}

/** Poll a status URL until it is no longer 202; checks X-Progress on the way. */
async function poll(statusUrl) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const res = await api.get(statusUrl);
    if (res.status !== 202) return res;
    assert.match(res.headers.get('x-progress') ?? '', /^\d+( of \d+)? resources written/, 'X-Progress while running');
    assert.ok(Date.now() < deadline, 'export did not finish within 20 s');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Run an export to completion and download its files: { manifest, files: Map "Type/id" → resource }. */
async function runExport(p, opts) {
  const statusUrl = await startExport(p, opts);
  const res = await poll(statusUrl);
  assert.equal(res.status, 200, `status: ${res.status} ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const m = res.json;
  assert.match(m.transactionTime, INSTANT);
  assert.equal(m.requiresAccessToken, false);
  assert.deepEqual(m.error, []);
  assert.ok(Array.isArray(m.output));
  const files = new Map();
  const jobId = statusUrl.split('/').pop();
  for (const o of m.output) {
    assert.equal(o.url, `${server.base}/fhir/$export-file/${jobId}/${o.type}.ndjson`);
    const f = await fetch(o.url);
    assert.equal(f.status, 200, `download ${o.url}`);
    assert.equal(f.headers.get('content-type'), 'application/fhir+ndjson');
    const lines = (await f.text()).split('\n');
    assert.equal(lines.pop(), '', 'file ends with a newline');
    assert.equal(lines.length, o.count, `${o.type}: count in the manifest`);
    for (const line of lines) {
      const r = JSON.parse(line);
      assert.equal(r.resourceType, o.type);
      files.set(`${r.resourceType}/${r.id}`, r);
    }
  }
  const types = m.output.map((o) => o.type);
  assert.deepEqual(types, [...new Set(types)].sort(), 'one output per type, in type order');
  return { manifest: m, files, statusUrl, jobId };
}

// ---- kith export -----------------------------------------------------------------

describe('kith export', () => {
  it('--help is complete', () => {
    const r = kith(['export', '--help']);
    assert.equal(r.code, 0);
    for (const opt of ['--out', '--db', '--type', '--since', '--json', '--quiet', '--help']) assert.ok(r.stdout.includes(opt), opt);
    assert.ok(kith(['--help']).stdout.includes('export'), 'kith --help lists export');
  });

  it('writes one NDJSON file per type of current resources, and re-imports to the same set', () => {
    const out = path.join(work, 'cli-all');
    const r = kith(['export', '--db', server.dbPath, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    const files = readNdjsonDir(out);
    assert.deepEqual([...files.keys()].sort(), expectedKeys());
    assert.equal(summary.exported, files.size);
    for (const [type, m] of current) assert.equal(summary.types[type], m.size, `summary count of ${type}`);
    assert.deepEqual(fs.readdirSync(out).sort(), [...current.keys()].map((t) => `${t}.ndjson`).sort(), 'no empty or .part files');
    for (const [key, res] of files) {
      const [type, id] = key.split('/');
      assert.deepEqual(res, current.get(type).get(id), `${key} exported as stored`);
    }
    assert.equal(files.get('Observation/bk-o1').valueQuantity.value, 72.5);
    assert.match(fs.readFileSync(path.join(out, 'Observation.ndjson'), 'utf8'), /"value":72\.50[,}]/, 'decimal text kept');

    // Round trip: import into a fresh database and export again.
    const db2 = path.join(work, 'roundtrip.db');
    const imp = kith(['import', '--db', db2, '--quiet', ...fs.readdirSync(out).map((f) => path.join(out, f))]);
    assert.equal(imp.code, 0, imp.stderr + imp.stdout);
    const out2 = path.join(work, 'cli-roundtrip');
    const r2 = kith(['export', '--db', db2, '--out', out2, '--quiet']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, new RegExp(`^Exported ${files.size} resources of ${current.size} types to `));
    const again = readNdjsonDir(out2);
    assert.deepEqual([...again.keys()].sort(), [...files.keys()].sort());
    for (const [key, res] of files) assert.deepEqual(stripMeta(again.get(key)), stripMeta(res), `${key} after the round trip`);
  });

  it('--type and --since select; bad arguments give exit status 2, a missing database 3', () => {
    const out = path.join(work, 'cli-typed');
    let r = kith(['export', '--db', server.dbPath, '--out', out, '--type', 'Patient', '--type', 'Condition, Group', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(out).sort(), ['Condition.ndjson', 'Group.ndjson', 'Patient.ndjson']);
    assert.deepEqual([...readNdjsonDir(out).keys()].sort(), expectedKeys((t) => ['Patient', 'Condition', 'Group'].includes(t)));

    const later = path.join(work, 'cli-since');
    r = kith(['export', '--db', server.dbPath, '--out', later, '--since', '2999-01-01T00:00:00Z', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ...JSON.parse(r.stdout), exported: 0, types: {} });
    assert.deepEqual(fs.readdirSync(later), []);
    r = kith(['export', '--db', server.dbPath, '--out', later, '--since', '2000-01-01', '--json']);
    assert.equal(JSON.parse(r.stdout).exported, expectedKeys().length);

    assert.equal(kith(['export', '--db', server.dbPath]).code, 2, 'no --out');
    assert.equal(kith(['export', '--db', server.dbPath, '--out', out, '--type', 'Nope']).code, 2, 'bad --type');
    assert.equal(kith(['export', '--db', server.dbPath, '--out', out, '--since', 'yesterday']).code, 2, 'bad --since');
    const missing = kith(['export', '--db', path.join(work, 'none.db'), '--out', out]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /no database/);
    assert.ok(!fs.existsSync(path.join(work, 'none.db')), 'no empty database created');
  });
});

// ---- $export -----------------------------------------------------------------------

describe('$export', () => {
  it('system level: every current resource, one file per type', async () => {
    const { manifest, files } = await runExport('/fhir/$export');
    assert.equal(manifest.request, `${server.base}/fhir/$export`);
    assert.deepEqual([...files.keys()].sort(), expectedKeys());
    for (const [key, r] of files) {
      const [type, id] = key.split('/');
      assert.deepEqual(r, current.get(type).get(id), key);
    }
    assert.ok(!files.has('Observation/bk-odel') && !files.has('Patient/bk-gone'), 'deleted resources left out');
    assert.equal(files.get('Observation/bk-o2').meta.versionId, '2', 'the current version');
  });

  it('_type limits the types; _outputFormat ndjson is accepted; POST takes a Parameters body', async () => {
    const q = '_type=Observation,Patient&_outputFormat=application%2Ffhir%2Bndjson';
    let { manifest, files } = await runExport(`/fhir/$export?${q}`);
    assert.equal(manifest.request, `${server.base}/fhir/$export?${q}`);
    assert.deepEqual(manifest.output.map((o) => o.type), ['Observation', 'Patient']);
    assert.deepEqual([...files.keys()].sort(), expectedKeys((t) => t === 'Observation' || t === 'Patient'));

    ({ manifest, files } = await runExport('/fhir/$export', {
      method: 'POST',
      body: { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Organization' }, { name: '_outputFormat', valueString: 'ndjson' }] },
    }));
    assert.deepEqual(manifest.output, [{ type: 'Organization', url: manifest.output[0].url, count: 1 }]);
    assert.deepEqual([...files.keys()], ['Organization/bk-org']);
  });

  it('Patient level: resources in any Patient compartment', async () => {
    const { files } = await runExport('/fhir/Patient/$export');
    const want = expectedKeys((t, id, r) => compartmentOf(t, r) !== undefined);
    assert.deepEqual([...files.keys()].sort(), want);
    assert.ok(want.includes('Encounter/bk-e1') && !want.includes('Organization/bk-org') && want.includes('Group/bk-g1'));
    const typed = await runExport('/fhir/Patient/$export?_type=Patient');
    assert.deepEqual([...typed.files.keys()].sort(), ['Patient/bk-p1', 'Patient/bk-p2', 'Patient/bk-p3']);
    const one = await runExport('/fhir/Patient/$export', {
      method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Patient/bk-p2' } }] },
    });
    assert.deepEqual([...one.files.keys()].sort(), ['Encounter/bk-e1', 'Observation/bk-o3', 'Patient/bk-p2']);
  });

  it('Group level: the compartments of the active Patient members', async () => {
    const { manifest, files } = await runExport('/fhir/Group/bk-g1/$export');
    assert.equal(manifest.request, `${server.base}/fhir/Group/bk-g1/$export`);
    const members = new Set(['bk-p1', 'bk-p2']);
    assert.deepEqual([...files.keys()].sort(), expectedKeys((t, id, r) => members.has(compartmentOf(t, r))));
    const obsOnly = await runExport('/fhir/Group/bk-g1/$export?_type=Observation');
    assert.deepEqual([...obsOnly.files.keys()].sort(), ['Observation/bk-o1', 'Observation/bk-o2', 'Observation/bk-o3']);

    const unknown = await kickoff('/fhir/Group/no-such-group/$export');
    assert.equal(unknown.status, 404);
    assertOutcome(unknown, 'unknown Group');
    assert.equal((await kickoff('/fhir/Group/bad$id/$export')).status, 400);
  });

  it('_since: only resources updated at or after it', async () => {
    await new Promise((r) => setTimeout(r, 20));
    const updated = await put({ ...patient('bk-p3', 'Carver'), birthDate: '1938-05-01' });
    const since = updated.meta.lastUpdated;
    await new Promise((r) => setTimeout(r, 5));
    await put(obs('bk-o5', 'bk-p3', 70));
    await put({ resourceType: 'Organization', id: 'bk-org2', name: 'Hillside Surgery' });

    const sys = await runExport(`/fhir/$export?_since=${encodeURIComponent(since)}`);
    assert.deepEqual([...sys.files.keys()].sort(), ['Observation/bk-o5', 'Organization/bk-org2', 'Patient/bk-p3']);
    const pat = await runExport(`/fhir/Patient/$export?_since=${encodeURIComponent(since)}&_type=Patient`);
    assert.deepEqual([...pat.files.keys()], ['Patient/bk-p3']);
    // A zone offset names the same instant.
    const d = new Date(Date.parse(since));
    const plusOne = new Date(d.getTime() + 3600e3).toISOString().replace(/\.(\d{3})Z$/, '.$1+01:00');
    const off = await runExport(`/fhir/$export?_since=${encodeURIComponent(plusOne)}`);
    assert.deepEqual([...off.files.keys()].sort(), [...sys.files.keys()].sort());
    // Group members' data since then: bk-p3 is inactive, so nothing.
    const grp = await runExport(`/fhir/Group/bk-g1/$export?_since=${encodeURIComponent(since)}`);
    assert.deepEqual(grp.manifest.output, []);
    const future = await runExport('/fhir/$export?_since=2999-01-01T00:00:00Z');
    assert.deepEqual(future.manifest.output, [], 'nothing matched: an empty output array');
  });

  it('DELETE on the status URL cancels the job and deletes its files', async () => {
    const done = await runExport('/fhir/$export?_type=Patient');
    const jobDir = path.join(exportDir, done.jobId);
    assert.ok(fs.existsSync(path.join(jobDir, 'Patient.ndjson')), 'files are in the export dir, one subdirectory per job');
    const url = done.manifest.output[0].url;
    let res = await api.del(done.statusUrl);
    assert.equal(res.status, 202);
    assert.equal((await api.get(done.statusUrl)).status, 404);
    assert.equal((await fetch(url)).status, 404);
    assert.ok(!fs.existsSync(jobDir), 'job directory removed');
    res = await api.del(done.statusUrl);
    assert.equal(res.status, 404, 'a second DELETE');

    // Cancel straight after kick-off, whether or not it has finished.
    const statusUrl = await startExport('/fhir/$export');
    res = await api.del(statusUrl);
    assert.equal(res.status, 202);
    assert.equal((await api.get(statusUrl)).status, 404);
    assert.ok(!fs.existsSync(path.join(exportDir, statusUrl.split('/').pop())));
  });

  it('bad requests', async () => {
    const cases = [
      ['no Prefer: respond-async', '/fhir/$export', { headers: { Accept: 'application/fhir+json' } }, 400, /respond-async/],
      ['unknown _type', '/fhir/$export?_type=Patient,Nonsense', {}, 400, /Nonsense/],
      ['empty _type', '/fhir/$export?_type=', {}, 400, /_type/],
      ['_outputFormat not ndjson', '/fhir/$export?_outputFormat=text/csv', {}, 400, /_outputFormat/],
      ['bad _since', '/fhir/$export?_since=last-tuesday', {}, 400, /_since/],
      ['_since without a zone', '/fhir/$export?_since=2026-01-01T10:00:00', {}, 400, /_since/],
      ['unsupported parameter', '/fhir/$export?_typeFilter=Patient%3Factive%3Dtrue', {}, 400, /_typeFilter/],
      ['patient at system level', '/fhir/$export?patient=Patient/bk-p1', {}, 400, /patient/],
      ['POST with a non-Parameters body', '/fhir/$export', { method: 'POST', body: { resourceType: 'Patient' } }, 400, /Parameters/],
      ['PUT', '/fhir/$export', { method: 'PUT', body: {} }, 405, /allows only/],
      ['type-level export', '/fhir/Observation/$export', {}, 501, /not supported/],
    ];
    for (const [name, p, { headers = ASYNC, method = 'GET', body } = {}, status, msg] of cases) {
      const res = await api.req(method, p, { headers, body });
      assert.equal(res.status, status, `${name}: ${res.status} ${res.text}`);
      assertOutcome(res, name);
      assert.match(res.json.issue[0].diagnostics, msg, name);
    }
    // Unsupported parameters are ignored when the client asks for lenient handling.
    const lenient = await startExport('/fhir/$export?_typeFilter=Patient%3Factive%3Dtrue&_type=Group', {
      headers: { ...ASYNC, Prefer: 'respond-async, handling=lenient' },
    });
    assert.equal((await poll(lenient)).status, 200);
    assert.equal((await api.del(lenient)).status, 202);
  });

  it('unknown jobs and files are 404; ids and names cannot reach outside the export dir', async () => {
    const done = await runExport('/fhir/$export?_type=Organization');
    const bad = [
      '/fhir/$export-status/00000000-0000-4000-8000-000000000000',
      '/fhir/$export-status/not-a-job',
      `/fhir/$export-status/${done.jobId}x`,
      `/fhir/$export-file/${done.jobId}/Patient.ndjson`, // a type this job did not write
      `/fhir/$export-file/${done.jobId}/Organization.json`,
      `/fhir/$export-file/${done.jobId}/..%2F..%2Fkith.db`,
      `/fhir/$export-file/${done.jobId}/%2E%2E.ndjson`,
      '/fhir/$export-file/..%2F..%2F..%2Fetc/passwd.ndjson',
      `/fhir/$export-file/00000000-0000-4000-8000-000000000000/Organization.ndjson`,
    ];
    for (const p of bad) {
      const res = await api.get(p);
      assert.equal(res.status, 404, `${p}: ${res.status} ${res.text}`);
      assertOutcome(res, p);
    }
    assert.equal((await api.get(`/fhir/$export-file/${done.jobId}/Organization.ndjson`)).status, 200);
    assert.equal((await api.del('/fhir/$export-status/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await api.req('POST', done.statusUrl, { body: {} })).status, 405);
  });

  it('the CapabilityStatement lists $export and $everything (and $match, Kith\'s $care-team, $cohort and $risk-pyramid)', async () => {
    const cs = (await api.get('/fhir/metadata')).json;
    const rest = cs.rest[0];
    assert.ok(rest.operation.some((o) => o.name === 'export'));
    const ops = (t) => rest.resource.find((r) => r.type === t).operation.map((o) => o.name).sort();
    assert.deepEqual(ops('Patient'), ['care-team', 'everything', 'export', 'match']);
    assert.deepEqual(ops('Group'), ['cohort', 'export', 'risk-pyramid']);
  });
});

// ---- $everything ---------------------------------------------------------------------

describe('Patient $everything', () => {
  const inCompartment = (pid) => expectedKeys((t, id, r) => compartmentOf(t, r) === pid);
  const keysOf = (bundle) => bundle.entry.filter((e) => e.search.mode !== 'outcome').map((e) => `${e.resource.resourceType}/${e.resource.id}`);

  it('the Patient first, then every resource in its compartment', async () => {
    const res = await api.get('/fhir/Patient/bk-p1/$everything');
    assert.equal(res.status, 200, res.text);
    const b = res.json;
    assert.equal(b.resourceType, 'Bundle');
    assert.equal(b.type, 'searchset');
    const keys = keysOf(b);
    assert.equal(keys[0], 'Patient/bk-p1');
    assert.deepEqual([...keys].sort(), inCompartment('bk-p1'));
    assert.equal(b.total, keys.length);
    assert.ok(!keys.includes('Observation/bk-odel'), 'deleted resources left out');
    for (const e of b.entry) assert.equal(e.fullUrl, `${server.base}/fhir/${e.resource.resourceType}/${e.resource.id}`);
    assert.deepEqual(b.entry.find((e) => e.resource.id === 'bk-o2').resource, current.get('Observation').get('bk-o2'));
  });

  it('_type and _since filter', async () => {
    let b = (await api.get('/fhir/Patient/bk-p1/$everything?_type=Observation')).json;
    assert.deepEqual(keysOf(b), ['Observation/bk-o1', 'Observation/bk-o2']);
    assert.equal(b.total, 2);
    b = (await api.get('/fhir/Patient/bk-p1/$everything?_type=Patient,Condition')).json;
    assert.deepEqual(keysOf(b), ['Patient/bk-p1', 'Condition/bk-c1']);
    const since = current.get('Observation').get('bk-o2').meta.lastUpdated;
    b = (await api.get(`/fhir/Patient/bk-p1/$everything?_since=${encodeURIComponent(since)}`)).json;
    const want = inCompartment('bk-p1').filter((k) => {
      const [t, id] = k.split('/');
      return current.get(t).get(id).meta.lastUpdated >= since;
    });
    assert.ok(want.includes('Observation/bk-o2') && !want.includes('Observation/bk-o1'));
    assert.deepEqual([...keysOf(b)].sort(), want);
    assert.equal(b.total, want.length);
  });

  it('pages with _count and next links that do not repeat or skip', async () => {
    for (const count of [1, 2, 3]) {
      let url = `/fhir/Patient/bk-p1/$everything?_count=${count}`;
      const seen = [];
      let total;
      for (let pages = 0; url; pages++) {
        assert.ok(pages < 20, 'too many pages');
        const b = (await api.get(url)).json;
        total = b.total;
        assert.ok(b.entry.length <= count);
        seen.push(...keysOf(b));
        const self = b.link.find((l) => l.relation === 'self');
        assert.ok(self.url.startsWith(`${server.base}/fhir/Patient/bk-p1/$everything?`), self.url);
        url = b.link.find((l) => l.relation === 'next')?.url;
        if (url) assert.match(url, new RegExp(`_count=${count}`));
      }
      assert.equal(seen[0], 'Patient/bk-p1');
      assert.equal(new Set(seen).size, seen.length, `_count=${count}: no repeats`);
      assert.deepEqual([...seen].sort(), inCompartment('bk-p1'), `_count=${count}: everything once`);
      assert.equal(total, seen.length);
    }
    const zero = (await api.get('/fhir/Patient/bk-p1/$everything?_count=0')).json;
    assert.deepEqual(zero.entry, []);
    assert.equal(zero.total, inCompartment('bk-p1').length);
  });

  it('404 for an unknown Patient, 410 for a deleted one, 400 for bad parameters', async () => {
    const cases = [
      ['/fhir/Patient/no-such-patient/$everything', 404, 'not-found'],
      ['/fhir/Patient/bk-gone/$everything', 410, 'deleted'],
      ['/fhir/Patient/bk-p1/$everything?_type=Nonsense', 400, 'invalid'],
      ['/fhir/Patient/bk-p1/$everything?_since=soon', 400, 'invalid'],
      ['/fhir/Patient/bk-p1/$everything?_count=-1', 400, 'invalid'],
      ['/fhir/Patient/bk-p1/$everything?_page_after=..%2Fx', 400, 'invalid'],
    ];
    for (const [p, status, code] of cases) {
      const res = await api.get(p);
      assert.equal(res.status, status, `${p}: ${res.text}`);
      assertOutcome(res, p);
      assert.equal(res.json.issue[0].code, code, p);
    }
    const res = await api.get('/fhir/Patient/bk-p1/$everything?start=2020-01-01');
    assert.equal(res.status, 200);
    assert.equal(res.json.entry.at(-1).search.mode, 'outcome', 'ignored parameter reported');
    const strict = await api.get('/fhir/Patient/bk-p1/$everything?start=2020-01-01', { headers: { Prefer: 'handling=strict' } });
    assert.equal(strict.status, 400);
    assert.equal((await api.post('/fhir/Patient/bk-p1/$everything', {})).status, 405);
    assert.equal((await api.get('/fhir/Patient/$expunge')).status, 501, 'other operations: 501');
  });
});

// ---- a larger export -----------------------------------------------------------------

describe('a larger export', () => {
  it('reports progress while it runs and streams thousands of resources', async () => {
    const N = 20000;
    const file = path.join(work, 'many.ndjson');
    const lines = [];
    for (let i = 0; i < N; i++) lines.push(JSON.stringify(obs(`bk-many-${i}`, `bk-p${(i % 3) + 1}`, 60 + (i % 40))));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const imp = kith(['import', '--db', server.dbPath, '--quiet', file]);
    assert.equal(imp.code, 0, imp.stderr);

    const statusUrl = await startExport('/fhir/$export?_type=Observation');
    const first = await api.get(statusUrl);
    if (first.status === 202) assert.match(first.headers.get('x-progress'), /^\d+( of \d+)? resources written( \(\d+%\))?$/);
    const res = await poll(statusUrl);
    assert.equal(res.status, 200, res.text);
    const out = res.json.output;
    assert.equal(out.length, 1);
    assert.equal(out[0].count, N + expectedKeys((t) => t === 'Observation').length);

    // The CLI: the same count, and its summary per type.
    const dir = path.join(work, 'cli-many');
    const r = kith(['export', '--db', server.dbPath, '--out', dir, '--type', 'Observation']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Observation\\s+${out[0].count}\\n`));
    assert.equal(fs.readFileSync(path.join(dir, 'Observation.ndjson'), 'utf8').split('\n').length - 1, out[0].count);
  });
});
