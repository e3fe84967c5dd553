// nhs-number-policy.test.mjs — KITH_NHS_NUMBER_POLICY on the FHIR write path (docs/identity.md).
//
// A Patient's identifiers with system https://fhir.nhs.uk/Id/nhs-number are read as
// nhs_number_parse reads them, on every write: POST, PUT, PATCH, transaction entries
// and `kith import`. A valid number is stored as its ten digits. Under reject (the
// default) any other number refuses the write with 422, the problem in words and
// its location, and nothing is stored. Under flag a number that fails the check is
// kept under Kith's unverified-nhs-number system, a placeholder is left out (each
// with a warning), and a malformed number is still refused.
//
// The server's client is a records-management system (see lib/server.mjs), so the
// rule is shown to hold for systems that migrate records too. Where the shared NHS
// fixtures are beside the repository (or in $KITH_SHARED_DATA), the PDS sandbox's
// own Patient 9000000015, whose number fails the check, is written under each policy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { defineCases } from './lib/cases.mjs';
import { BIN, ROOT, client, startServer, tempDir } from './lib/server.mjs';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const UNVERIFIED = 'https://kith.example.org/fhir/Id/unverified-nhs-number';
const OTHER = 'urn:kith:test:nhs-policy';

// the problem texts of src/base/nhs_number.c
const BAD_CHECK = 'the check digit does not match: a digit is wrong or two digits are swapped';
const PLACEHOLDER = 'ten identical digits stand in for an unknown number';
const NOT_DIGITS = 'an NHS number is made of digits only';
const GROUPING = 'the spaces or hyphens are in the wrong places';

const SHARED = process.env.KITH_SHARED_DATA ?? path.join(ROOT, '..', 'shared', 'data');
const PDS_FIXTURE = path.join(SHARED, 'uk-nhs-pds-fhir-examples', 'sandbox', 'mocks', 'PatientCompoundName.json');

const patient = (id, ...ids) => ({
  resourceType: 'Patient',
  ...(id ? { id } : {}),
  identifier: ids.map(([system, value]) => ({ system, value })),
  name: [{ family: 'Lovelace', given: ['Ada'] }],
  birthDate: '1938-04-02',
});
const transaction = (...entries) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: entries.map(([method, url, resource]) => ({ resource, request: { method, url } })),
});
const q = (system, value) => encodeURIComponent(`${system}|${value}`);

// requests: identifiers are [system, value] pairs
const post = (...ids) => ({ method: 'POST', path: '/fhir/Patient', body: patient(null, ...ids) });
const put = (id, ...ids) => ({ method: 'PUT', path: `/fhir/Patient/${id}`, body: patient(id, ...ids) });
const patchValue = (id, value) => ({
  method: 'PATCH',
  path: `/fhir/Patient/${id}`,
  headers: { 'Content-Type': 'application/json-patch+json' },
  body: [{ op: 'replace', path: '/identifier/0/value', value }],
});
const postTransaction = (...entries) => ({ method: 'POST', path: '/fhir', body: transaction(...entries) });

/** Set KITH_NHS_NUMBER_POLICY in env to value (undefined: unset it); returns env. */
function setPolicy(env, value) {
  if (value === undefined) delete env.KITH_NHS_NUMBER_POLICY;
  else env.KITH_NHS_NUMBER_POLICY = value;
  return env;
}

/**
 * In a describe: start a server under the policy before its tests and stop it
 * after them. Returns a getter for the client.
 */
function serveWithPolicy(value) {
  let server;
  let api;
  before(async () => {
    const saved = process.env.KITH_NHS_NUMBER_POLICY;
    setPolicy(process.env, value); // startServer hands its environment to the server
    try {
      server = await startServer();
    } finally {
      setPolicy(process.env, saved);
    }
    api = client(server.base);
  });
  after(async () => {
    if (!server) return;
    const r = await server.stop();
    server.cleanup();
    assert.equal(r.code, 0, server.log());
  });
  return () => api;
}

/** The PDS sandbox's Patient 9000000015, or null (the test skipped) when the fixtures are absent. */
function pdsPatient(t) {
  if (fs.existsSync(PDS_FIXTURE)) return JSON.parse(fs.readFileSync(PDS_FIXTURE, 'utf8')).entry[0].resource;
  t.skip(`${PDS_FIXTURE} is absent`);
  return null;
}

/** `kith import --json` of NDJSON lines under a policy: { status, loaded, rejected, stderr }. */
function importLines(value, lines) {
  const dir = tempDir('kith-nhs-policy-');
  try {
    const file = path.join(dir, 'people.ndjson');
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const r = spawnSync(BIN, ['import', '--db', path.join(dir, 'kith.db'), '--json', file],
      { encoding: 'utf8', env: setPolicy({ ...process.env }, value) });
    const summary = r.status === 0 || r.status === 1 ? JSON.parse(r.stdout) : {};
    return { status: r.status, loaded: summary.loaded, rejected: summary.rejected, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A refusal: 422 and an error at `expression` whose diagnostics hold the number and `text`. */
const refused = (expression, number, text) => ({
  status: 422,
  issue: {
    severity: 'error',
    code: 'value',
    expression: [expression],
    diagnostics: (v) => {
      assert.ok(v.startsWith(`'${number}' is not a valid NHS number: `), v);
      assert.ok(v.includes(text), `"${v}" lacks "${text}"`);
    },
  },
});

/** Then-check: a search by identifier finds nothing. */
const foundNone = (system, value) => async (_res, _ctx, api) => {
  const s = await api.get(`/fhir/Patient?identifier=${q(system, value)}`);
  assert.equal(s.status, 200, s.text);
  assert.deepEqual(s.json.entry ?? [], [], `${system}|${value} was stored`);
};

/** Then-check: exactly the Patient at ctx[key] is found by identifier. */
const foundOnly = (key, system, value) => async (_res, ctx, api) => {
  const s = await api.get(`/fhir/Patient?identifier=${q(system, value)}`);
  assert.equal(s.status, 200, s.text);
  assert.deepEqual((s.json.entry ?? []).map((e) => e.resource.id), [ctx[key]]);
};

/** A Warning header (RFC 7234, 199) saying `text`. */
const warns = (text) => (v, _ctx, where) => {
  assert.ok(v, `${where}: no Warning header`);
  assert.match(v, /^199 kith "/, where);
  assert.ok(v.includes(text), `${where}: "${v}" lacks "${text}"`);
};

describe('KITH_NHS_NUMBER_POLICY unset (reject)', () => {
  const api = serveWithPolicy(undefined);

  defineCases(it, api, {}, [
    {
      name: 'a valid number written 943 476 5919 is stored as ten digits',
      request: post([OTHER, 'ada'], [NHS, '943 476 5919']),
      status: 201,
      headers: { warning: null },
      body: { identifier: [{ system: OTHER, value: 'ada' }, { system: NHS, value: '9434765919' }] },
      then: async (res, c, a) => {
        c.ada = res.json.id;
        const g = await a.get(`/fhir/Patient/${c.ada}`);
        assert.deepEqual(g.json.identifier[1], { system: NHS, value: '9434765919' });
        await foundOnly('ada', NHS, '9434765919')(res, c, a);
      },
    },
    {
      name: 'hyphens are taken out too',
      request: post([NHS, '401-023-2137']),
      status: 201,
      body: { identifier: [{ system: NHS, value: '4010232137' }] },
    },
    {
      name: 'a bad check digit is refused, with the problem and where it is',
      request: post([NHS, '9434765918']),
      ...refused('Patient.identifier[0].value', '9434765918', BAD_CHECK),
      then: foundNone(NHS, '9434765918'),
    },
    {
      name: 'a placeholder is refused',
      request: post([OTHER, 'ph'], [NHS, '9999999999']),
      ...refused('Patient.identifier[1].value', '9999999999', PLACEHOLDER),
      then: async (res, c, a) => {
        await foundNone(NHS, '9999999999')(res, c, a);
        await foundNone(OTHER, 'ph')(res, c, a);
      },
    },
    {
      name: 'a malformed number is refused',
      request: post([NHS, '94347659X9']),
      ...refused('Patient.identifier[0].value', '94347659X9', NOT_DIGITS),
      then: foundNone(NHS, '94347659X9'),
    },
    {
      name: 'PUT: a new Patient with a bad check digit is refused, and not created',
      request: put('nhs-put', [NHS, '943 476 5918']),
      ...refused('Patient.identifier[0].value', '943 476 5918', BAD_CHECK),
      then: async (_res, _c, a) => assert.equal((await a.get('/fhir/Patient/nhs-put')).status, 404),
    },
    {
      name: 'PUT: a valid number is normalised',
      request: put('nhs-put', [NHS, '943 476 5919']),
      status: 201,
      body: { id: 'nhs-put', meta: { versionId: '1' }, identifier: [{ system: NHS, value: '9434765919' }] },
    },
    {
      name: 'PUT: an update to a placeholder is refused, the stored version kept',
      request: put('nhs-put', [NHS, '0000000000']),
      ...refused('Patient.identifier[0].value', '0000000000', PLACEHOLDER),
    },
    {
      name: 'PATCH: a number patched in is checked too',
      request: patchValue('nhs-put', '9434765918'),
      ...refused('Patient.identifier[0].value', '9434765918', BAD_CHECK),
      then: async (_res, _c, a) => {
        const g = await a.get('/fhir/Patient/nhs-put');
        assert.equal(g.json.meta.versionId, '1');
        assert.equal(g.json.identifier[0].value, '9434765919');
      },
    },
    {
      name: 'PATCH: a number patched in with spaces is normalised',
      request: patchValue('nhs-put', '401 023 2137'),
      status: 200,
      body: { meta: { versionId: '2' }, identifier: [{ system: NHS, value: '4010232137' }] },
    },
    {
      name: 'transaction: one Patient with a bad check digit refuses the whole Bundle',
      request: postTransaction(['POST', 'Patient', patient(null, [OTHER, 'tx-good'], [NHS, '943 476 5919'])],
        ['PUT', 'Patient/nhs-tx', patient('nhs-tx', [NHS, '9434765918'])]),
      ...refused('Patient.identifier[0].value', '9434765918', BAD_CHECK),
      headers: { 'x-failed-entry': '1' },
      then: async (res, c, a) => {
        await foundNone(OTHER, 'tx-good')(res, c, a);
        assert.equal((await a.get('/fhir/Patient/nhs-tx')).status, 404);
      },
    },
    {
      name: 'transaction: a malformed number refuses it too',
      request: postTransaction(['POST', 'Patient', patient(null, [NHS, '943 4765919'])]),
      ...refused('Patient.identifier[0].value', '943 4765919', GROUPING),
    },
    {
      name: 'transaction: valid numbers are stored as ten digits',
      request: postTransaction(['PUT', 'Patient/nhs-tx', patient('nhs-tx', [NHS, '943-476-5919'])]),
      status: 200,
      body: { type: 'transaction-response' },
      then: async (_res, _c, a) => {
        const g = await a.get('/fhir/Patient/nhs-tx');
        assert.deepEqual(g.json.identifier, [{ system: NHS, value: '9434765919' }]);
      },
    },
    {
      name: 'another identifier system is not read as an NHS number',
      request: post([OTHER, '9999999999']),
      status: 201,
      body: { identifier: [{ system: OTHER, value: '9999999999' }] },
    },
  ]);

  it('the PDS sandbox\'s Patient 9000000015 (its number fails the check) is refused', async (t) => {
    const p = pdsPatient(t);
    if (!p) return;
    const r = await api().put(`/fhir/Patient/${p.id}`, p);
    assert.equal(r.status, 422, r.text);
    assert.equal(r.json.issue[0].expression[0], 'Patient.identifier[0].value');
    assert.match(r.json.issue[0].diagnostics, /^'9000000015' is not a valid NHS number: the check digit does not match/);
    assert.equal((await api().get(`/fhir/Patient/${p.id}`)).status, 404);
  });

  it('kith import refuses the line and loads the rest', () => {
    const r = importLines(undefined, [
      patient('imp-good', [NHS, '943 476 5919']),
      patient('imp-bad', [NHS, '9434765918']),
      patient('imp-ph', [NHS, '9999999999']),
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual([r.loaded, r.rejected], [1, 2]);
    assert.match(r.stderr, /people\.ndjson:2: .*Patient\.identifier\[0\]\.value.*'9434765918' is not a valid NHS number/);
    assert.match(r.stderr, /people\.ndjson:3: .*'9999999999' is not a valid NHS number: ten identical digits/);
  });
});

describe('KITH_NHS_NUMBER_POLICY=flag', () => {
  const api = serveWithPolicy('flag');

  defineCases(it, api, {}, [
    {
      name: 'a bad check digit is kept, as ten digits under the unverified system, with a warning',
      request: post([NHS, '943 476 5918']),
      status: 201,
      headers: { warning: warns(`'943 476 5918' is not a valid NHS number: ${BAD_CHECK}; kept under ${UNVERIFIED}`) },
      body: { identifier: [{ system: UNVERIFIED, value: '9434765918' }] },
      then: async (res, c, a) => {
        c.flagged = res.json.id;
        await foundNone(NHS, '9434765918')(res, c, a);
        await foundOnly('flagged', UNVERIFIED, '9434765918')(res, c, a);
      },
    },
    {
      name: 'the warning is in the OperationOutcome too, where asked for',
      request: { ...post([NHS, '4000000080']), headers: { Prefer: 'return=OperationOutcome' } },
      status: 201,
      issue: { severity: 'warning', code: 'value', expression: ['Patient.identifier[0].value'], diagnostics: /never linked on$/ },
    },
    {
      name: 'a placeholder is left out, the other identifiers kept, with a warning',
      request: post([OTHER, 'flag-ph'], [NHS, '999 999 9999'], [NHS, '9434765919']),
      status: 201,
      headers: { warning: warns('the identifier was left out') },
      body: { identifier: [{ system: OTHER, value: 'flag-ph' }, { system: NHS, value: '9434765919' }] },
      then: async (res, c, a) => {
        c.ph = res.json.id;
        await foundNone(NHS, '9999999999')(res, c, a);
        await foundOnly('ph', OTHER, 'flag-ph')(res, c, a);
      },
    },
    {
      name: 'a placeholder that was the only identifier leaves none',
      request: post([NHS, '0000000000']),
      status: 201,
      body: { identifier: undefined },
    },
    {
      name: 'a malformed number is still refused',
      request: post([OTHER, 'flag-bad'], [NHS, '943476591']),
      ...refused('Patient.identifier[1].value', '943476591', 'an NHS number has 10 digits'),
      then: foundNone(OTHER, 'flag-bad'),
    },
    {
      name: 'PUT: a bad check digit is kept unverified',
      request: put('flag-put', [NHS, '9434765918']),
      status: 201,
      headers: { warning: warns('marked unverified and never linked on') },
      body: { id: 'flag-put', identifier: [{ system: UNVERIFIED, value: '9434765918' }] },
    },
    {
      name: 'PUT: a malformed number is refused, the stored version kept',
      request: put('flag-put', [NHS, '943 476  5918']),
      ...refused('Patient.identifier[0].value', '943 476  5918', GROUPING),
    },
    {
      name: 'transaction: a bad check digit is kept unverified and a placeholder left out',
      request: postTransaction(['PUT', 'Patient/flag-tx1', patient('flag-tx1', [NHS, '4010232136'])],
        ['PUT', 'Patient/flag-tx2', patient('flag-tx2', [OTHER, 'tx2'], [NHS, '1111111111'])]),
      status: 200,
      then: async (_res, _c, a) => {
        assert.deepEqual((await a.get('/fhir/Patient/flag-tx1')).json.identifier, [{ system: UNVERIFIED, value: '4010232136' }]);
        assert.deepEqual((await a.get('/fhir/Patient/flag-tx2')).json.identifier, [{ system: OTHER, value: 'tx2' }]);
      },
    },
    {
      name: 'transaction: a malformed number still refuses the whole Bundle',
      request: postTransaction(['PUT', 'Patient/flag-tx3', patient('flag-tx3', [NHS, '9434765918'])],
        ['PUT', 'Patient/flag-tx4', patient('flag-tx4', [NHS, '9434765918-'])]),
      ...refused('Patient.identifier[0].value', '9434765918-', GROUPING),
      then: async (_res, _c, a) => assert.equal((await a.get('/fhir/Patient/flag-tx3')).status, 404),
    },
  ]);

  it('the PDS sandbox\'s Patient 9000000015 is kept with its number unverified', async (t) => {
    const p = pdsPatient(t);
    if (!p) return;
    const r = await api().put(`/fhir/Patient/${p.id}`, p);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.identifier[0].system, UNVERIFIED);
    assert.equal(r.json.identifier[0].value, '9000000015');
    assert.ok(r.headers.get('warning')?.includes(BAD_CHECK));
  });

  it('kith import keeps the line flagged and leaves the placeholder out', () => {
    const r = importLines('flag', [
      patient('imp-bad', [NHS, '9434765918']),
      patient('imp-ph', [OTHER, 'imp-ph'], [NHS, '9999999999']),
      patient('imp-malformed', [NHS, '94347659X9']),
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual([r.loaded, r.rejected], [2, 1]);
    assert.match(r.stderr, /people\.ndjson:3: .*'94347659X9' is not a valid NHS number/);
    assert.doesNotMatch(r.stderr, /people\.ndjson:[12]: /);
  });
});
