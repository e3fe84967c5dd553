// fhir-kit-client.test.mjs — Kith through a real FHIR client library
// (fhir-kit-client): capability statement, create, read, vread, update,
// search by identifier, history, delete, and a rejected invalid resource.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Client } from 'fhir-kit-client';

import { startServer } from './lib/server.mjs';

const SYS = 'urn:kith:fkc';
let server;
let fhir;
const state = {};

before(async () => {
  server = await startServer();
  fhir = new Client({ baseUrl: `${server.base}/fhir`, customHeaders: { Authorization: `Bearer ${server.token}` } });
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

/** The error fhir-kit-client throws for an HTTP error status. */
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('the request was expected to fail');
}

describe('fhir-kit-client', () => {
  it('capabilityStatement', async () => {
    const cs = await fhir.capabilityStatement();
    assert.equal(cs.resourceType, 'CapabilityStatement');
    assert.equal(cs.fhirVersion, '4.0.1');
    const pat = cs.rest[0].resource.find((r) => r.type === 'Patient');
    assert.ok(pat.interaction.some((i) => i.code === 'create'));
  });

  it('create', async () => {
    const p = await fhir.create({
      resourceType: 'Patient',
      body: {
        resourceType: 'Patient',
        identifier: [{ system: SYS, value: 'fkc-1' }],
        name: [{ family: 'Pritchard', given: ['Eluned'] }],
        birthDate: '1938-07-14',
      },
    });
    assert.equal(p.resourceType, 'Patient');
    assert.ok(p.id);
    assert.equal(p.meta.versionId, '1');
    state.id = p.id;
  });

  it('read', async () => {
    const p = await fhir.read({ resourceType: 'Patient', id: state.id });
    assert.equal(p.id, state.id);
    assert.equal(p.name[0].family, 'Pritchard');
    assert.equal(p.birthDate, '1938-07-14');
  });

  it('update', async () => {
    const cur = await fhir.read({ resourceType: 'Patient', id: state.id });
    const p = await fhir.update({
      resourceType: 'Patient',
      id: state.id,
      body: { ...cur, telecom: [{ system: 'phone', value: '01234 567890' }] },
    });
    assert.equal(p.meta.versionId, '2');
    assert.equal(p.telecom[0].value, '01234 567890');
    const again = await fhir.read({ resourceType: 'Patient', id: state.id });
    assert.equal(again.meta.versionId, '2');
  });

  it('update with a stale If-Match is refused with 412', async () => {
    const cur = await fhir.read({ resourceType: 'Patient', id: state.id });
    const e = await rejection(fhir.update({
      resourceType: 'Patient', id: state.id, body: { ...cur, active: true }, options: { headers: { 'If-Match': 'W/"1"' } },
    }));
    assert.equal(e.response?.status, 412);
    assert.equal(e.response.data.resourceType, 'OperationOutcome');
  });

  it('vread', async () => {
    const v1 = await fhir.vread({ resourceType: 'Patient', id: state.id, version: '1' });
    assert.equal(v1.meta.versionId, '1');
    assert.equal(v1.telecom, undefined);
  });

  it('search by identifier', async () => {
    const b = await fhir.search({ resourceType: 'Patient', searchParams: { identifier: `${SYS}|fkc-1` } });
    assert.equal(b.resourceType, 'Bundle');
    assert.equal(b.type, 'searchset');
    assert.equal(b.total, 1);
    assert.equal(b.entry[0].resource.id, state.id);
    const none = await fhir.search({ resourceType: 'Patient', searchParams: { identifier: `${SYS}|no-such` } });
    assert.equal(none.total, 0);
  });

  it('search by identifier with POST _search', async () => {
    const b = await fhir.search({ resourceType: 'Patient', searchParams: { identifier: `${SYS}|fkc-1` }, options: { postSearch: true } });
    assert.equal(b.total, 1);
    assert.equal(b.entry[0].resource.id, state.id);
  });

  it('history (instance and type)', async () => {
    const h = await fhir.history({ resourceType: 'Patient', id: state.id });
    assert.equal(h.type, 'history');
    assert.equal(h.total, 2);
    assert.deepEqual(h.entry.map((e) => e.resource.meta.versionId), ['2', '1']);
    const t = await fhir.history({ resourceType: 'Patient' });
    assert.ok(t.total >= 2);
    const s = await fhir.history();
    assert.ok(s.total >= t.total);
  });

  it('delete, then read fails with 410', async () => {
    const out = await fhir.delete({ resourceType: 'Patient', id: state.id });
    assert.equal(out.resourceType, 'OperationOutcome');
    const e = await rejection(fhir.read({ resourceType: 'Patient', id: state.id }));
    assert.equal(e.response?.status, 410);
    assert.equal(e.response.data.resourceType, 'OperationOutcome');
    const b = await fhir.search({ resourceType: 'Patient', searchParams: { identifier: `${SYS}|fkc-1` } });
    assert.equal(b.total, 0);
  });

  it('an invalid resource is rejected with the 422 OperationOutcome', async () => {
    const e = await rejection(fhir.create({
      resourceType: 'Patient',
      body: { resourceType: 'Patient', active: 'yes', birthDate: '2020-13-45' },
    }));
    assert.equal(e.response?.status, 422);
    const oo = e.response.data;
    assert.equal(oo.resourceType, 'OperationOutcome');
    const exprs = oo.issue.flatMap((i) => i.expression ?? []);
    assert.ok(exprs.includes('Patient.active'), `expressions ${exprs}`);
    assert.ok(exprs.includes('Patient.birthDate'), `expressions ${exprs}`);
    assert.ok(oo.issue.every((i) => i.severity === 'error'));
  });
});
