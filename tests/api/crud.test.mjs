// crud.test.mjs — the FHIR REST interactions over raw HTTP, as data-driven
// cases (a request and the expected response; see lib/cases.mjs): create,
// read, vread, update, conditional create/update/delete, If-Match, JSON
// Patch, delete, history and paging, Prefer, metadata, every error status,
// decimal and Unicode fidelity, the operational endpoints, and robustness
// (write races, id limits, bytes that are not UTF-8, hostile Host headers).
// Every error response is checked to be an OperationOutcome, and every
// refused write to leave the store as it was.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { assertIssue, assertOutcome, defineCases, runCase } from './lib/cases.mjs';
import { firstDifference, parseJsonText, withoutServerMeta } from './lib/json-text.mjs';
import { client, etagVersion, startServer } from './lib/server.mjs';

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const FHIR_JSON = /^application\/fhir\+json(;|$)/;
const SYS = 'urn:kith:test';

let server;
let api;
const getApi = () => api;

before(async () => {
  server = await startServer();
  api = client(server.base);
});
after(async () => {
  if (server) {
    const r = await server.stop();
    server.cleanup();
    assert.equal(r.code, 0, `kith serve exit after SIGTERM: ${JSON.stringify(r)}\n${server.log()}`);
  }
});

const patient = (extra = {}) => ({
  resourceType: 'Patient',
  identifier: [{ system: SYS, value: 'crud-1' }],
  active: true,
  name: [{ family: 'Jones', given: ['Megan'] }],
  birthDate: '1941-03-02',
  ...extra,
});

/** Location must be base/fhir/T/id/_history/v; returns the id. */
function locationOf(res, type, version) {
  const loc = res.headers.get('location');
  const m = new RegExp(`^http://127\\.0\\.0\\.1:\\d+/fhir/${type}/([A-Za-z0-9\\-.]{1,64})/_history/${version}$`).exec(loc ?? '');
  assert.ok(m, `Location ${loc} is not .../fhir/${type}/{id}/_history/${version}`);
  return m[1];
}

/**
 * A check for an Allow header (RFC 9110: a comma-separated list of method
 * tokens) that lists every method in `must` and none in `mustNot`.
 */
function allowHeader(must, mustNot = []) {
  return (value, ctx, where) => {
    assert.ok(value, `${where}: Allow is missing`);
    const methods = value.split(',').map((m) => m.trim());
    for (const m of methods) assert.match(m, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, `${where}: "${m}" in Allow "${value}" is not a method token`);
    for (const m of must) assert.ok(methods.includes(m), `${where}: Allow "${value}" lacks ${m}`);
    for (const m of mustNot) assert.ok(!methods.includes(m), `${where}: Allow "${value}" lists ${m}, which was just refused`);
  };
}

/** Last-Modified must be meta.lastUpdated to the second. */
function lastModifiedMatchesMeta(res) {
  const lm = Date.parse(res.headers.get('last-modified'));
  const lu = Date.parse(res.json.meta.lastUpdated);
  assert.ok(Number.isFinite(lm) && Number.isFinite(lu), 'Last-Modified and meta.lastUpdated parse');
  assert.equal(lm, Math.floor(lu / 1000) * 1000, 'Last-Modified is meta.lastUpdated to the second');
}

describe('create, read, vread, update', () => {
  const ctx = {};
  defineCases(it, getApi, ctx, [
    {
      name: 'create: 201, server-assigned id, version 1, Location, ETag, Last-Modified',
      request: {
        method: 'POST',
        path: '/fhir/Patient',
        body: patient({
          id: 'client-chosen-id',
          meta: { versionId: '99', lastUpdated: '2001-01-01T00:00:00Z', tag: [{ system: SYS, code: 'kept' }] },
        }),
      },
      status: 201,
      headers: { etag: 'W/"1"', 'last-modified': HTTP_DATE, 'content-type': FHIR_JSON },
      body: {
        resourceType: 'Patient',
        id: (v) => assert.ok(v && v !== 'client-chosen-id', `create must assign its own id, got ${v}`),
        meta: {
          versionId: '1',
          lastUpdated: (v) => { assert.match(v, INSTANT); assert.ok(!v.startsWith('2001'), 'lastUpdated set by the server'); },
          tag: [{ system: SYS, code: 'kept' }],
        },
        name: [{ family: 'Jones', given: ['Megan'] }],
        birthDate: '1941-03-02',
      },
      then: (res, ctx) => {
        ctx.id = locationOf(res, 'Patient', 1);
        assert.equal(ctx.id, res.json.id, 'Location names the new id');
        lastModifiedMatchesMeta(res);
        ctx.lastUpdated1 = res.json.meta.lastUpdated;
      },
    },
    {
      name: 'read the created resource',
      request: (ctx) => ({ method: 'GET', path: `/fhir/Patient/${ctx.id}` }),
      status: 200,
      headers: { etag: 'W/"1"', 'last-modified': HTTP_DATE, 'content-type': FHIR_JSON, location: null },
      body: (ctx) => ({ resourceType: 'Patient', id: ctx.id, meta: { versionId: '1', lastUpdated: ctx.lastUpdated1 }, active: true }),
    },
    {
      name: 'vread version 1',
      request: (ctx) => ({ method: 'GET', path: `/fhir/Patient/${ctx.id}/_history/1` }),
      status: 200,
      headers: { etag: 'W/"1"' },
      body: (ctx) => ({ id: ctx.id, meta: { versionId: '1' }, name: [{ family: 'Jones', given: ['Megan'] }] }),
    },
    {
      name: 'vread a version that does not exist: 404',
      request: (ctx) => ({ method: 'GET', path: `/fhir/Patient/${ctx.id}/_history/2` }),
      status: 404,
      issue: { code: 'not-found' },
    },
    {
      name: 'vread a version that is not a number: 404',
      request: (ctx) => ({ method: 'GET', path: `/fhir/Patient/${ctx.id}/_history/one` }),
      status: 404,
    },
    {
      name: 'update: 200, version 2',
      request: (ctx) => ({
        method: 'PUT',
        path: `/fhir/Patient/${ctx.id}`,
        body: patient({ id: ctx.id, name: [{ family: 'Jones', given: ['Megan', 'Ann'] }] }),
      }),
      status: 200,
      headers: { etag: 'W/"2"', 'last-modified': HTTP_DATE, 'content-type': FHIR_JSON },
      body: (ctx) => ({ id: ctx.id, meta: { versionId: '2' }, name: [{ family: 'Jones', given: ['Megan', 'Ann'] }] }),
      then: (res, ctx) => {
        assert.equal(locationOf(res, 'Patient', 2), ctx.id);
        assert.ok(res.json.meta.lastUpdated >= ctx.lastUpdated1, 'lastUpdated does not go backwards');
        lastModifiedMatchesMeta(res);
      },
    },
    {
      name: 'read gives version 2',
      request: (ctx) => ({ method: 'GET', path: `/fhir/Patient/${ctx.id}` }),
      status: 200,
      headers: { etag: 'W/"2"' },
      body: { meta: { versionId: '2' }, name: [{ family: 'Jones', given: ['Megan', 'Ann'] }] },
    },
    {
      name: 'vread version 1 is unchanged by the update',
      request: (ctx) => ({ method: 'GET', path: `/fhir/Patient/${ctx.id}/_history/1` }),
      status: 200,
      headers: { etag: 'W/"1"' },
      body: (ctx) => ({ meta: { versionId: '1', lastUpdated: ctx.lastUpdated1 }, name: [{ family: 'Jones', given: ['Megan'] }] }),
    },
    {
      name: 'update (create) at a client id: 201, version 1',
      request: { method: 'PUT', path: '/fhir/Patient/kith-client-1', body: patient({ id: 'kith-client-1' }) },
      status: 201,
      headers: { etag: 'W/"1"', location: /\/fhir\/Patient\/kith-client-1\/_history\/1$/ },
      body: { id: 'kith-client-1', meta: { versionId: '1' } },
    },
    {
      name: 'read the client-id resource',
      request: { method: 'GET', path: '/fhir/Patient/kith-client-1' },
      status: 200,
      body: { id: 'kith-client-1', meta: { versionId: '1' } },
    },
    {
      name: 'update whose body id differs from the URL: 400',
      request: (ctx) => ({ method: 'PUT', path: `/fhir/Patient/${ctx.id}`, body: patient({ id: 'someone-else' }) }),
      status: 400,
      issue: { expression: ['id'] },
    },
    {
      name: 'update without an id in the body: 400',
      request: (ctx) => ({ method: 'PUT', path: `/fhir/Patient/${ctx.id}`, body: patient() }),
      status: 400,
      issue: { code: 'required' },
    },
    {
      name: 'If-Match with the current version: 200, version 3',
      request: (ctx) => ({
        method: 'PUT',
        path: `/fhir/Patient/${ctx.id}`,
        headers: { 'If-Match': 'W/"2"' },
        body: patient({ id: ctx.id, active: false }),
      }),
      status: 200,
      headers: { etag: 'W/"3"' },
      body: { active: false, meta: { versionId: '3' } },
    },
    {
      name: 'If-Match with a stale version: 412, nothing written',
      request: (ctx) => ({
        method: 'PUT',
        path: `/fhir/Patient/${ctx.id}`,
        headers: { 'If-Match': 'W/"2"' },
        body: patient({ id: ctx.id, active: true }),
      }),
      status: 412,
      issue: { code: 'conflict' },
    },
    {
      name: 'If-Match that is not an ETag: 412',
      request: (ctx) => ({
        method: 'PUT',
        path: `/fhir/Patient/${ctx.id}`,
        headers: { 'If-Match': 'banana' },
        body: patient({ id: ctx.id }),
      }),
      status: 412,
    },
    {
      name: 'If-Match on a resource that does not exist: 412, not created',
      request: { method: 'PUT', path: '/fhir/Patient/kith-never', headers: { 'If-Match': 'W/"1"' }, body: patient({ id: 'kith-never' }) },
      status: 412,
      then: async (res, ctx, api) => assert.equal((await api.get('/fhir/Patient/kith-never')).status, 404),
    },
    {
      name: 'still version 3 after the rejected updates',
      request: (ctx) => ({ method: 'GET', path: `/fhir/Patient/${ctx.id}` }),
      status: 200,
      headers: { etag: 'W/"3"' },
      body: { active: false },
    },
    {
      name: 'create with Content-Type application/json is accepted too',
      request: { method: 'POST', path: '/fhir/Patient', headers: { 'Content-Type': 'application/json' }, body: patient() },
      status: 201,
      headers: { etag: 'W/"1"' },
    },
  ]);
});

describe('conditional create (If-None-Exist)', () => {
  const ctx = {};
  const cond = (value) => patient({ identifier: [{ system: SYS, value }] });
  defineCases(it, getApi, ctx, [
    {
      name: 'no match: 201',
      request: { method: 'POST', path: '/fhir/Patient', headers: { 'If-None-Exist': `identifier=${SYS}|cond-1` }, body: cond('cond-1') },
      status: 201,
      headers: { etag: 'W/"1"' },
      then: (res, ctx) => { ctx.id = res.json.id; },
    },
    {
      name: 'one match: 200 with the existing resource, nothing new stored',
      request: { method: 'POST', path: '/fhir/Patient', headers: { 'If-None-Exist': `identifier=${SYS}|cond-1` }, body: cond('cond-1') },
      status: 200,
      unchanged: true,
      headers: { etag: 'W/"1"', location: (v, ctx) => assert.match(v ?? '', new RegExp(`/fhir/Patient/${ctx.id}/_history/1$`)) },
      body: (ctx) => ({ id: ctx.id, meta: { versionId: '1' } }),
    },
    {
      name: 'one match by value without system: 200, same id',
      request: { method: 'POST', path: '/fhir/Patient', headers: { 'If-None-Exist': 'identifier=cond-1' }, body: cond('cond-1') },
      status: 200,
      unchanged: true,
      body: (ctx) => ({ id: ctx.id }),
    },
    {
      name: 'one match by _id: 200',
      request: (ctx) => ({ method: 'POST', path: '/fhir/Patient', headers: { 'If-None-Exist': `_id=${ctx.id}` }, body: cond('other') }),
      status: 200,
      unchanged: true,
      body: (ctx) => ({ id: ctx.id }),
    },
    {
      name: 'search by identifier finds exactly the one',
      request: { method: 'GET', path: `/fhir/Patient?identifier=${encodeURIComponent(`${SYS}|cond-1`)}` },
      status: 200,
      body: (ctx) => ({ resourceType: 'Bundle', type: 'searchset', total: 1, entry: [{ resource: { id: ctx.id } }] }),
    },
    {
      name: 'first of two resources with the same identifier',
      request: { method: 'POST', path: '/fhir/Patient', body: cond('cond-dup') },
      status: 201,
    },
    {
      name: 'second of two resources with the same identifier',
      request: { method: 'POST', path: '/fhir/Patient', body: cond('cond-dup') },
      status: 201,
    },
    {
      name: 'two matches: 412, nothing stored',
      request: { method: 'POST', path: '/fhir/Patient', headers: { 'If-None-Exist': `identifier=${SYS}|cond-dup` }, body: cond('cond-dup') },
      status: 412,
      issue: { severity: 'error' },
    },
    {
      name: 'a condition on an unknown parameter: 400, nothing stored',
      request: { method: 'POST', path: '/fhir/Patient', headers: { 'If-None-Exist': 'kith-bogus=Jones' }, body: cond('cond-x') },
      status: 400,
    },
  ]);

  it('concurrent conditional creates store exactly one resource', async () => {
    const sends = Array.from({ length: 12 }, () =>
      api.post('/fhir/Patient', cond('cond-race'), { headers: { 'If-None-Exist': `identifier=${SYS}|cond-race` } }));
    const results = await Promise.all(sends);
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 201).length, 1, `one 201 among ${statuses}`);
    assert.equal(statuses.filter((s) => s === 200).length, 11, `eleven 200 among ${statuses}`);
    assert.equal(new Set(results.map((r) => r.json.id)).size, 1, 'all answers name the same resource');
    const s = await api.get(`/fhir/Patient?identifier=${encodeURIComponent(`${SYS}|cond-race`)}`);
    assert.equal(s.json.total, 1);
  });
});

describe('delete', () => {
  const ctx = {};
  const path = '/fhir/Patient/kith-del-1';
  defineCases(it, getApi, ctx, [
    { name: 'create version 1', request: { method: 'PUT', path, body: patient({ id: 'kith-del-1' }) }, status: 201 },
    {
      name: 'update to version 2',
      request: { method: 'PUT', path, body: patient({ id: 'kith-del-1', active: false }) },
      status: 200,
      headers: { etag: 'W/"2"' },
    },
    {
      name: 'delete with a stale If-Match: 412',
      request: { method: 'DELETE', path, headers: { 'If-Match': 'W/"1"' } },
      status: 412,
    },
    {
      name: 'delete: 200 with an OperationOutcome, version 3 is the delete',
      request: { method: 'DELETE', path },
      status: 200,
      headers: { etag: 'W/"3"', 'content-type': FHIR_JSON },
      body: { resourceType: 'OperationOutcome' },
    },
    {
      name: 'read after delete: 410 Gone',
      request: { method: 'GET', path },
      status: 410,
      headers: { etag: 'W/"3"' },
      issue: { code: 'deleted' },
    },
    {
      name: 'vread version 1 still works after delete',
      request: { method: 'GET', path: `${path}/_history/1` },
      status: 200,
      headers: { etag: 'W/"1"' },
      body: { id: 'kith-del-1', active: true, meta: { versionId: '1' } },
    },
    {
      name: 'vread version 2 still works after delete',
      request: { method: 'GET', path: `${path}/_history/2` },
      status: 200,
      body: { active: false, meta: { versionId: '2' } },
    },
    {
      name: 'vread of the delete itself: 410',
      request: { method: 'GET', path: `${path}/_history/3` },
      status: 410,
    },
    {
      name: 'delete again: 200, nothing new stored',
      request: { method: 'DELETE', path },
      status: 200,
      unchanged: true,
    },
    {
      name: 'delete of a resource that never existed: 404',
      request: { method: 'DELETE', path: '/fhir/Patient/kith-never-was' },
      status: 404,
    },
    {
      name: 'instance history shows the delete first',
      request: { method: 'GET', path: `${path}/_history` },
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'history',
        total: 3,
        entry: [
          { resource: undefined, request: { method: 'DELETE', url: 'Patient/kith-del-1' }, response: { etag: 'W/"3"' } },
          { resource: { meta: { versionId: '2' } }, request: { method: 'PUT' }, response: { etag: 'W/"2"' } },
          { resource: { meta: { versionId: '1' } }, request: { method: 'PUT' }, response: { etag: 'W/"1"' } },
        ],
      },
    },
    {
      name: 'deleted resources are not found by search',
      request: { method: 'GET', path: '/fhir/Patient?_id=kith-del-1' },
      status: 200,
      body: { total: 0 },
    },
    {
      name: 'update after delete brings it back as version 4 (201)',
      request: { method: 'PUT', path, body: patient({ id: 'kith-del-1' }) },
      status: 201,
      headers: { etag: 'W/"4"' },
      body: { meta: { versionId: '4' } },
    },
  ]);
});

describe('JSON Patch', () => {
  const path = '/fhir/Patient/kith-patch-1';
  const PATCH = { 'Content-Type': 'application/json-patch+json' };
  defineCases(it, getApi, {}, [
    { name: 'a resource to patch', request: { method: 'PUT', path, body: patient({ id: 'kith-patch-1' }) }, status: 201 },
    {
      name: 'replace and add: 200, version 2, validated result',
      request: {
        method: 'PATCH', path, headers: PATCH,
        body: [
          { op: 'test', path: '/active', value: true },
          { op: 'replace', path: '/name/0/family', value: 'Jones-Evans' },
          { op: 'add', path: '/gender', value: 'female' },
        ],
      },
      status: 200,
      headers: { etag: 'W/"2"', location: /\/fhir\/Patient\/kith-patch-1\/_history\/2$/ },
      body: { id: 'kith-patch-1', meta: { versionId: '2' }, gender: 'female', name: [{ family: 'Jones-Evans', given: ['Megan'] }] },
    },
    {
      name: 'the patched version is what a read gives',
      request: { method: 'GET', path },
      status: 200,
      headers: { etag: 'W/"2"' },
      body: { gender: 'female', name: [{ family: 'Jones-Evans' }] },
    },
    {
      name: 'a failed test operation: 422, nothing written',
      request: { method: 'PATCH', path, headers: PATCH, body: [{ op: 'test', path: '/active', value: false }, { op: 'remove', path: '/gender' }] },
      status: 422,
    },
    {
      name: 'a patch that makes the resource invalid: 422 at the location, nothing written',
      request: { method: 'PATCH', path, headers: PATCH, body: [{ op: 'replace', path: '/birthDate', value: '2020-13-45' }] },
      status: 422,
      issue: { expression: ['Patient.birthDate'] },
    },
    {
      name: 'a patch with a stale If-Match: 412',
      request: { method: 'PATCH', path, headers: { ...PATCH, 'If-Match': 'W/"1"' }, body: [{ op: 'remove', path: '/gender' }] },
      status: 412,
    },
    {
      name: 'a patch that is not a JSON Patch document: 400 or 422, nothing written',
      request: { method: 'PATCH', path, headers: PATCH, body: { op: 'remove', path: '/gender' } },
      status: [400, 422],
    },
    {
      name: 'a patch as text/plain: 415',
      request: { method: 'PATCH', path, headers: { 'Content-Type': 'text/plain' }, body: '[]' },
      status: 415,
    },
    {
      name: 'patch of an unknown resource: 404',
      request: { method: 'PATCH', path: '/fhir/Patient/kith-patch-none', headers: PATCH, body: [{ op: 'remove', path: '/gender' }] },
      status: 404,
    },
    {
      name: 'still version 2 after the refused patches',
      request: { method: 'GET', path },
      status: 200,
      headers: { etag: 'W/"2"' },
      body: { gender: 'female' },
    },
  ]);
});

describe('conditional update and delete', () => {
  const ctx = {};
  const q = (v) => `identifier=${encodeURIComponent(`${SYS}|${v}`)}`;
  const cu = (v, extra = {}) => patient({ identifier: [{ system: SYS, value: v }], ...extra });
  defineCases(it, getApi, ctx, [
    {
      name: 'conditional update with no match creates: 201',
      request: { method: 'PUT', path: `/fhir/Patient?${q('cu-1')}`, body: cu('cu-1') },
      status: 201,
      headers: { etag: 'W/"1"' },
      then: (res, ctx) => { ctx.id = res.json.id; assert.ok(ctx.id); },
    },
    {
      name: 'conditional update with one match updates it: 200, version 2, same id',
      request: { method: 'PUT', path: `/fhir/Patient?${q('cu-1')}`, body: cu('cu-1', { active: false }) },
      status: 200,
      headers: { etag: 'W/"2"' },
      body: (ctx) => ({ id: ctx.id, active: false, meta: { versionId: '2' } }),
    },
    {
      name: 'conditional update whose body id differs from the match: 400',
      request: { method: 'PUT', path: `/fhir/Patient?${q('cu-1')}`, body: cu('cu-1', { id: 'kith-someone-else' }) },
      status: 400,
    },
    { name: 'a second resource with identifier cu-2', request: { method: 'POST', path: '/fhir/Patient', body: cu('cu-2') }, status: 201 },
    { name: 'a third resource with identifier cu-2', request: { method: 'POST', path: '/fhir/Patient', body: cu('cu-2') }, status: 201 },
    {
      name: 'conditional update with two matches: 412, nothing written',
      request: { method: 'PUT', path: `/fhir/Patient?${q('cu-2')}`, body: cu('cu-2') },
      status: 412,
    },
    {
      name: 'conditional delete with two matches: 412, nothing written',
      request: { method: 'DELETE', path: `/fhir/Patient?${q('cu-2')}` },
      status: 412,
    },
    {
      name: 'conditional delete of the single match: 200',
      request: { method: 'DELETE', path: `/fhir/Patient?${q('cu-1')}` },
      status: 200,
      headers: { etag: 'W/"3"' },
    },
    {
      name: 'the matched resource is gone',
      request: (ctx) => ({ method: 'GET', path: `/fhir/Patient/${ctx.id}` }),
      status: 410,
    },
    {
      name: 'conditional delete with no match: 200, nothing written',
      request: { method: 'DELETE', path: `/fhir/Patient?${q('cu-none')}` },
      status: 200,
      unchanged: true,
    },
  ]);
});

/** Follow a history Bundle's next links; returns { pages, entries, totals }. */
async function walkHistory(first) {
  const pages = [];
  const entries = [];
  const totals = new Set();
  let url = first;
  while (url) {
    assert.ok(pages.length < 200, 'history paging does not end');
    const r = await api.get(url);
    assert.equal(r.status, 200, `GET ${url}: ${r.text.slice(0, 300)}`);
    assert.equal(r.json.type, 'history');
    totals.add(r.json.total);
    pages.push(r.json);
    entries.push(...(r.json.entry ?? []));
    const next = (r.json.link ?? []).find((l) => l.relation === 'next');
    const self = (r.json.link ?? []).find((l) => l.relation === 'self');
    assert.ok(self, 'every page has a self link');
    url = next?.url;
  }
  return { pages, entries, totals };
}

const entryKey = (e) => `${e.request.url}/_history/${etagVersion(e.response.etag)}`;

describe('history', () => {
  const ids = [];
  before(async () => {
    // 7 Organizations, each created and updated once: 14 versions of the type,
    // a few milliseconds apart so that no two share a lastUpdated.
    const pause = () => new Promise((r) => setTimeout(r, 3));
    for (let i = 0; i < 7; i++) {
      await pause();
      const c = await api.post('/fhir/Organization', { resourceType: 'Organization', name: `Org ${i}` });
      assert.equal(c.status, 201);
      await pause();
      const u = await api.put(`/fhir/Organization/${c.json.id}`, { resourceType: 'Organization', id: c.json.id, name: `Org ${i} v2` });
      assert.equal(u.status, 200);
      ids.push(c.json.id);
    }
  });

  it('instance history: both versions, newest first', async () => {
    const r = await api.get(`/fhir/Organization/${ids[3]}/_history`);
    assert.equal(r.status, 200);
    assert.equal(r.json.total, 2);
    assert.deepEqual(r.json.entry.map((e) => e.resource.meta.versionId), ['2', '1']);
    assert.deepEqual(r.json.entry.map((e) => e.resource.name), ['Org 3 v2', 'Org 3']);
    assert.equal(r.json.entry[1].request.method, 'POST');
    assert.equal(r.json.entry[0].request.method, 'PUT');
  });

  it('instance history of an unknown id: 404', async () => {
    const r = await api.get('/fhir/Organization/kith-no-such/_history');
    assert.equal(r.status, 404);
    assertOutcome(r, 'history 404');
  });

  it('type history paged with _count=3: next links cover every version once, total right', async () => {
    const { pages, entries, totals } = await walkHistory('/fhir/Organization/_history?_count=3');
    assert.deepEqual([...totals], [14], 'every page states the same total');
    assert.equal(entries.length, 14);
    assert.equal(new Set(entries.map(entryKey)).size, 14, 'no version twice');
    for (const p of pages) assert.ok(p.entry.length <= 3, 'a page holds at most _count entries');
    assert.ok(pages.length >= 5, `14 entries in pages of 3 take at least 5 pages, got ${pages.length}`);
    const times = entries.map((e) => e.response.lastModified);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    for (const id of ids)
      for (const v of [1, 2]) assert.ok(entries.some((e) => entryKey(e) === `Organization/${id}/_history/${v}`), `Organization/${id} v${v} listed`);
  });

  it('system history paged with _count=7 agrees with its total', async () => {
    const { entries, totals } = await walkHistory('/fhir/_history?_count=7');
    assert.equal(totals.size, 1, 'total stays the same across pages');
    const [total] = totals;
    assert.ok(total >= 14);
    assert.equal(entries.length, total);
    assert.equal(new Set(entries.map(entryKey)).size, total, 'no version twice');
  });

  it('_since keeps _count and filters in every page', async () => {
    const r0 = await api.get(`/fhir/Organization/${ids[4]}/_history/2`);
    const since = r0.json.meta.lastUpdated; // versions from Org 4's update on: 5 of them
    const { entries, totals, pages } = await walkHistory(`/fhir/Organization/_history?_count=2&_since=${encodeURIComponent(since)}`);
    assert.deepEqual([...totals], [5]);
    assert.equal(entries.length, 5);
    for (const e of entries) assert.ok(e.response.lastModified >= since, `${entryKey(e)} at ${e.response.lastModified} is not before ${since}`);
    for (const p of pages.slice(1)) {
      const self = p.link.find((l) => l.relation === 'self').url;
      assert.match(self, /_since=/);
      assert.match(self, /_count=2/);
    }
  });

  it('_since in the future: empty', async () => {
    const r = await api.get('/fhir/Organization/_history?_since=2999-01-01T00:00:00Z');
    assert.equal(r.status, 200);
    assert.equal(r.json.total, 0);
    assert.deepEqual(r.json.entry ?? [], []);
  });

  it('_since at whole seconds includes versions later in that second', async () => {
    const c = await api.put('/fhir/Organization/kith-since-1', { resourceType: 'Organization', id: 'kith-since-1', name: 'since' });
    const lu = c.json.meta.lastUpdated; // e.g. 2026-01-31T09:00:00.123Z
    const whole = `${lu.slice(0, 19)}Z`; // 2026-01-31T09:00:00Z, not after lu
    assert.ok(Date.parse(whole) <= Date.parse(lu));
    const r = await api.get(`/fhir/Organization/kith-since-1/_history?_since=${encodeURIComponent(whole)}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.total, 1, `_since=${whole} must include the version written at ${lu}`);
  });

  it('_since with a time-zone offset means the same instant', async () => {
    const c = await api.put('/fhir/Organization/kith-since-2', { resourceType: 'Organization', id: 'kith-since-2', name: 'since' });
    const lu = c.json.meta.lastUpdated;
    // One hour ahead, written with +01:00: the same instant, minus a second.
    const t = new Date(Date.parse(lu) - 1000 + 3600 * 1000).toISOString().slice(0, 19);
    const since = `${t}+01:00`;
    assert.ok(Date.parse(since) < Date.parse(lu));
    const r = await api.get(`/fhir/Organization/kith-since-2/_history?_since=${encodeURIComponent(since)}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.total, 1, `_since=${since} must include the version written at ${lu}`);
  });

  defineCases(it, getApi, {}, [
    { name: '_since that is not a date: 400', request: { method: 'GET', path: '/fhir/_history?_since=yesterday' }, status: 400 },
    { name: '_count that is not a number: 400', request: { method: 'GET', path: '/fhir/Organization/_history?_count=many' }, status: 400 },
    {
      name: '_count=0 gives the total and no entries',
      request: { method: 'GET', path: '/fhir/Organization/_history?_count=0' },
      status: 200,
      body: { total: (v) => assert.ok(v >= 14), entry: [] },
    },
  ]);
});

describe('Prefer', () => {
  const ctx = {};
  defineCases(it, getApi, ctx, [
    {
      name: 'return=minimal: 201 with an empty body, headers still set',
      request: { method: 'POST', path: '/fhir/Patient', headers: { Prefer: 'return=minimal' }, body: patient() },
      status: 201,
      text: '',
      headers: { etag: 'W/"1"', location: /\/fhir\/Patient\/[^/]+\/_history\/1$/, 'last-modified': HTTP_DATE },
      then: (res, ctx) => { ctx.id = locationOf(res, 'Patient', 1); },
    },
    {
      name: 'return=minimal on update: 200, empty body',
      request: (ctx) => ({ method: 'PUT', path: `/fhir/Patient/${ctx.id}`, headers: { Prefer: 'return=minimal' }, body: patient({ id: ctx.id }) }),
      status: 200,
      text: '',
      headers: { etag: 'W/"2"' },
    },
    {
      name: 'return=OperationOutcome: an OperationOutcome instead of the resource',
      request: (ctx) => ({ method: 'PUT', path: `/fhir/Patient/${ctx.id}`, headers: { Prefer: 'return=OperationOutcome' }, body: patient({ id: ctx.id }) }),
      status: 200,
      headers: { etag: 'W/"3"', 'content-type': FHIR_JSON },
      body: { resourceType: 'OperationOutcome', issue: (v) => assert.ok(v.length >= 1) },
    },
    {
      name: 'return=representation: the resource',
      request: (ctx) => ({ method: 'PUT', path: `/fhir/Patient/${ctx.id}`, headers: { Prefer: 'return=representation' }, body: patient({ id: ctx.id }) }),
      status: 200,
      body: (ctx) => ({ resourceType: 'Patient', id: ctx.id, meta: { versionId: '4' } }),
    },
  ]);
});

describe('metadata', () => {
  it('CapabilityStatement: FHIR 4.0.1, JSON, Patient with its interactions', async () => {
    const r = await runCase(api, {}, {
      name: 'metadata',
      request: { method: 'GET', path: '/fhir/metadata' },
      status: 200,
      headers: { 'content-type': FHIR_JSON },
      body: { resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', kind: 'instance', status: 'active' },
    });
    assert.ok(r.json.format.includes('json'));
    const rest = r.json.rest.find((x) => x.mode === 'server');
    assert.ok(rest, 'a server rest entry');
    const pat = rest.resource.find((x) => x.type === 'Patient');
    assert.ok(pat, 'Patient is listed');
    const codes = pat.interaction.map((i) => i.code);
    for (const c of ['read', 'vread', 'update', 'delete', 'history-instance', 'history-type', 'create', 'search-type'])
      assert.ok(codes.includes(c), `Patient interaction ${c}`);
    assert.equal(pat.conditionalCreate, true);
    assert.equal(pat.updateCreate, true);
    assert.ok(pat.searchParam.some((p) => p.name === 'identifier'));
    assert.ok(rest.interaction.some((i) => i.code === 'history-system'));
    // What it claims must match what the server does.
    assert.ok(!rest.resource.some((x) => x.type === 'NotAType'));
  });
});

describe('errors', () => {
  const ctx = {};
  defineCases(it, getApi, ctx, [
    {
      name: 'a resource to aim at',
      request: { method: 'PUT', path: '/fhir/Patient/kith-err-1', body: patient({ id: 'kith-err-1' }) },
      status: 201,
    },
    { name: 'unknown resource type: 404', request: { method: 'GET', path: '/fhir/NotAType/1' }, status: 404 },
    { name: 'unknown resource type on create: 404', request: { method: 'POST', path: '/fhir/NotAType', body: { resourceType: 'NotAType' } }, status: 404 },
    { name: 'unknown id: 404', request: { method: 'GET', path: '/fhir/Patient/kith-unknown' }, status: 404, issue: { code: 'not-found' } },
    { name: 'unknown page outside /fhir: 404', request: { method: 'GET', path: '/nothing-here' }, status: 404 },
    { name: 'unknown endpoint below a resource: 404', request: { method: 'GET', path: '/fhir/Patient/kith-err-1/bogus' }, status: 404 },
    { name: 'an id with bad characters: 400', request: { method: 'GET', path: '/fhir/Patient/bad_id!' }, status: 400 },
    {
      name: 'DELETE on a type without a condition: 405 with Allow',
      request: { method: 'DELETE', path: '/fhir/Patient' },
      status: 405,
      headers: { allow: allowHeader(['GET', 'POST']) },
    },
    {
      name: 'POST on a resource: 405 with Allow',
      request: { method: 'POST', path: '/fhir/Patient/kith-err-1', body: patient({ id: 'kith-err-1' }) },
      status: 405,
      headers: { allow: allowHeader(['GET', 'PUT', 'DELETE']) },
    },
    {
      name: 'PUT on history: 405 with Allow',
      request: { method: 'PUT', path: '/fhir/Patient/kith-err-1/_history', body: patient({ id: 'kith-err-1' }) },
      status: 405,
      headers: { allow: allowHeader(['GET'], ['PUT']) },
    },
    {
      name: 'POST on metadata: 405 with Allow',
      request: { method: 'POST', path: '/fhir/metadata', body: {} },
      status: 405,
      headers: { allow: allowHeader(['GET'], ['POST']) },
    },
    {
      name: 'GET on the base: 405 with Allow',
      request: { method: 'GET', path: '/fhir' },
      status: 405,
      headers: { allow: allowHeader(['POST'], ['GET']) },
    },
    {
      name: 'create as text/plain: 415',
      request: { method: 'POST', path: '/fhir/Patient', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(patient()) },
      status: 415,
    },
    {
      name: 'update as application/xml: 415',
      request: { method: 'PUT', path: '/fhir/Patient/kith-err-1', headers: { 'Content-Type': 'application/fhir+xml' }, body: '<Patient xmlns="http://hl7.org/fhir"/>' },
      status: 415,
    },
    {
      name: 'Accept XML only: 406',
      request: { method: 'GET', path: '/fhir/Patient/kith-err-1', headers: { Accept: 'application/fhir+xml' } },
      status: 406,
    },
    {
      name: 'malformed JSON: 400',
      request: { method: 'POST', path: '/fhir/Patient', body: '{"resourceType":"Patient",' },
      status: 400,
      issue: { code: 'structure' },
    },
    {
      name: 'malformed JSON on update: 400',
      request: { method: 'PUT', path: '/fhir/Patient/kith-err-1', body: '{"resourceType":"Patient" "id":"kith-err-1"}' },
      status: 400,
    },
    {
      name: 'duplicate JSON keys: 400',
      request: { method: 'POST', path: '/fhir/Patient', body: '{"resourceType":"Patient","active":true,"active":false}' },
      status: 400,
    },
    { name: 'empty body: 400', request: { method: 'POST', path: '/fhir/Patient', body: '' , headers: { 'Content-Type': 'application/fhir+json' } }, status: 400 },
    { name: 'a JSON array body: 400', request: { method: 'POST', path: '/fhir/Patient', body: [patient()] }, status: 400 },
    {
      name: 'body type differs from the URL type: 400',
      request: { method: 'POST', path: '/fhir/Patient', body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } },
      status: 400,
      issue: { expression: ['resourceType'] },
    },
    {
      name: 'update whose body type differs from the URL: 400',
      request: { method: 'PUT', path: '/fhir/Patient/kith-err-1', body: { resourceType: 'Group', id: 'kith-err-1', type: 'person', actual: true } },
      status: 400,
    },
    {
      name: 'body without resourceType: 400',
      request: { method: 'POST', path: '/fhir/Patient', body: { active: true } },
      status: 400,
    },
    {
      name: 'invalid resource (boolean as a string): 422 at Patient.active',
      request: { method: 'POST', path: '/fhir/Patient', body: patient({ active: 'yes' }) },
      status: 422,
      issue: { severity: 'error', expression: ['Patient.active'] },
    },
    {
      name: 'invalid resource (unknown element): 422 at Patient.kithBogus',
      request: { method: 'POST', path: '/fhir/Patient', body: patient({ kithBogus: 1 }) },
      status: 422,
      issue: { expression: ['Patient.kithBogus'] },
    },
    {
      name: 'invalid resource (impossible date): 422 at Patient.birthDate',
      request: { method: 'POST', path: '/fhir/Patient', body: patient({ birthDate: '2020-13-45' }) },
      status: 422,
      issue: { expression: ['Patient.birthDate'] },
    },
    {
      name: 'invalid resource (nested): 422 at Patient.name[0].given',
      request: { method: 'POST', path: '/fhir/Patient', body: patient({ name: [{ family: 'X', given: 'Y' }] }) },
      status: 422,
      issue: { expression: ['Patient.name[0].given'] },
    },
    {
      name: 'invalid resource (missing required element): 422 at Observation.status',
      request: { method: 'POST', path: '/fhir/Observation', body: { resourceType: 'Observation', code: { text: 'x' } } },
      status: 422,
      issue: { code: 'required', expression: ['Observation.status'] },
    },
    {
      name: 'invalid update: 422 and the stored resource keeps its version',
      request: { method: 'PUT', path: '/fhir/Patient/kith-err-1', body: patient({ id: 'kith-err-1', gender: 7 }) },
      status: 422,
      issue: { expression: ['Patient.gender'] },
    },
    {
      name: 'invalid create-on-update: 422 and nothing created',
      request: { method: 'PUT', path: '/fhir/Patient/kith-err-2', body: patient({ id: 'kith-err-2', active: 'yes' }) },
      status: 422,
      then: async (res, ctx, api) => assert.equal((await api.get('/fhir/Patient/kith-err-2')).status, 404),
    },
    {
      name: 'the aimed-at resource is still version 1',
      request: { method: 'GET', path: '/fhir/Patient/kith-err-1' },
      status: 200,
      headers: { etag: 'W/"1"' },
    },
    {
      name: 'FHIRPath Patch with an operation that has no type: 400, nothing stored',
      request: { method: 'PATCH', path: '/fhir/Patient/kith-err-1', body: { resourceType: 'Parameters', parameter: [{ name: 'operation' }] } },
      status: 400,
    },
    {
      name: 'FHIRPath Patch: replace the birth date',
      request: {
        method: 'PATCH', path: '/fhir/Patient/kith-err-1',
        body: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [
          { name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.birthDate' },
          { name: 'value', valueDate: '1944-06-06' }] }] },
      },
      status: 200,
      then: async (res, ctx, api) => {
        const got = (await api.get('/fhir/Patient/kith-err-1')).json;
        assert.equal(got.birthDate, '1944-06-06');
        assert.equal(got.meta.versionId, '2');
      },
    },
  ]);

  it('a 17 MiB body against the default 16 MiB limit: 413, nothing stored', async () => {
    const big = JSON.stringify(patient({ text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(17 * 1024 * 1024)}</div>` } }));
    await runCase(api, {}, { name: '17 MiB', request: { method: 'POST', path: '/fhir/Patient', body: big }, status: 413, issue: { code: 'too-costly' } });
  });
});

describe('body size limit (--max-body 2048)', () => {
  let small;
  let sapi;
  before(async () => {
    small = await startServer({ args: ['--max-body', '2048'] });
    sapi = client(small.base);
  });
  after(async () => {
    await small.stop();
    small.cleanup();
  });
  /** A valid Patient whose JSON text is exactly n bytes. */
  function patientOfSize(n) {
    const base = JSON.stringify(patient({ name: [{ family: '' }] }));
    const text = base.replace('"family":""', `"family":"${'a'.repeat(n - base.length)}"`);
    assert.equal(Buffer.byteLength(text), n);
    return text;
  }
  it('exactly at the limit: accepted', async () => {
    await runCase(sapi, {}, { name: '2048 bytes', request: { method: 'POST', path: '/fhir/Patient', body: patientOfSize(2048) }, status: 201 });
  });
  it('one byte over: 413, nothing stored', async () => {
    await runCase(sapi, {}, { name: '2049 bytes', request: { method: 'POST', path: '/fhir/Patient', body: patientOfSize(2049) }, status: 413, issue: { code: 'too-costly' } });
  });
  it('over the limit on update: 413', async () => {
    const body = patientOfSize(3000).replace('"resourceType":"Patient"', '"resourceType":"Patient","id":"kith-big"');
    await runCase(sapi, {}, { name: 'update 3000 bytes', request: { method: 'PUT', path: '/fhir/Patient/kith-big', body }, status: 413 });
  });
  it('chunked body (no Content-Length) over the limit: 413, nothing stored', async () => {
    const before = (await sapi.get('/fhir/_history?_count=0')).json.total;
    const text = patientOfSize(5000);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < text.length; i += 500) controller.enqueue(new TextEncoder().encode(text.slice(i, i + 500)));
        controller.close();
      },
    });
    const res = await fetch(`${small.base}/fhir/Patient`, {
      method: 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body: stream, duplex: 'half',
    });
    const r = { status: res.status, headers: res.headers, text: await res.text() };
    r.json = JSON.parse(r.text);
    assert.equal(r.status, 413);
    assertOutcome(r, 'chunked 413');
    assert.equal((await sapi.get('/fhir/_history?_count=0')).json.total, before);
  });
});

describe('fidelity: decimals and Unicode come back as written', () => {
  // Written as text: JSON.stringify would already lose 1.50 and 120.000.
  const NUMBERS = ['1.50', '0.00010', '120.000', '12345678901234567890.123', '1e3', '-0.0', '1E-7', '3.141592653589793238462643383279'];
  const TEXTS = ['Ŵyn Ŷ ŵ ŷ (Welsh)', '中文病历 (Chinese)', 'שלום עליכם (Hebrew, RTL)', 'مرحبا (Arabic, RTL)', 'emoji 😀🩺👩🏽‍⚕️', 'quotes " and \\ and / and \t tab'];
  const components = NUMBERS.map((n, i) =>
    `{"code":{"text":${JSON.stringify(TEXTS[i % TEXTS.length])}},"valueQuantity":{"value":${n},"unit":"mmol/L"}}`);
  const body = `{"resourceType":"Observation","id":"kith-fidelity","status":"final",
    "code":{"text":"caf\\u00e9 \\ud83d\\ude00 Ŵ"},
    "valueQuantity":{"value":12345678901234567890.123},
    "component":[${components.join(',\n')}]}`;
  const want = withoutServerMeta(parseJsonText(body));

  function sameAsWritten(text, where) {
    for (const n of NUMBERS) assert.ok(text.includes(`"value":${n},`), `${where}: ${n} is not in the raw text`);
    assert.ok(text.includes('"value":12345678901234567890.123}'), `${where}: the 23-digit decimal changed`);
    for (const t of TEXTS.slice(0, 5)) assert.ok(text.includes(t), `${where}: "${t}" is not in the raw text`);
  }

  it('create-on-update, read, vread, history and search all carry the exact text', async () => {
    const put = await api.put('/fhir/Observation/kith-fidelity', body);
    assert.equal(put.status, 201, put.text);
    sameAsWritten(put.text, 'PUT response');
    for (const p of ['/fhir/Observation/kith-fidelity', '/fhir/Observation/kith-fidelity/_history/1']) {
      const r = await api.get(p);
      assert.equal(r.status, 200);
      sameAsWritten(r.text, p);
      const got = withoutServerMeta(parseJsonText(r.text));
      const d = firstDifference(want, got);
      assert.equal(d, null, `${p}: ${JSON.stringify(d)}`);
    }
    const h = await api.get('/fhir/Observation/kith-fidelity/_history');
    sameAsWritten(h.text, 'history');
    const s = await api.get('/fhir/Observation?_id=kith-fidelity');
    sameAsWritten(s.text, 'search');
    assert.equal(s.json.total, 1);
  });

  it('escaped and literal Unicode mean the same string', async () => {
    const r = await api.get('/fhir/Observation/kith-fidelity');
    assert.equal(r.json.code.text, 'café 😀 Ŵ');
  });

  it('an integer too wide for 32 bits in an integer element is rejected, not clamped', async () => {
    const b = '{"resourceType":"Observation","status":"final","code":{"text":"n"},"valueInteger":2147483648}';
    await runCase(api, {}, { name: 'wide integer', request: { method: 'POST', path: '/fhir/Observation', body: b }, status: 422, issue: { expression: ['Observation.valueInteger'] } });
  });
});

describe('operational endpoints and request ids', () => {
  defineCases(it, getApi, {}, [
    { name: '/healthz', request: { method: 'GET', path: '/healthz' }, status: 200, body: { status: 'ok' } },
    { name: '/readyz', request: { method: 'GET', path: '/readyz' }, status: 200, body: { status: 'ready' } },
    {
      name: 'an incoming X-Request-Id is echoed',
      request: { method: 'GET', path: '/fhir/metadata', headers: { 'X-Request-Id': 'kith-test-req-42' } },
      status: 200,
      headers: { 'x-request-id': 'kith-test-req-42' },
    },
    {
      name: 'an incoming X-Request-Id is echoed on errors too',
      request: { method: 'GET', path: '/fhir/Patient/kith-nope', headers: { 'X-Request-Id': 'kith-test-req-43' } },
      status: 404,
      headers: { 'x-request-id': 'kith-test-req-43' },
    },
    {
      name: 'an unsafe X-Request-Id is replaced',
      request: { method: 'GET', path: '/healthz', headers: { 'X-Request-Id': 'bad id "with" spaces' } },
      status: 200,
      headers: { 'x-request-id': (v) => { assert.ok(v && v !== 'bad id "with" spaces'); assert.match(v, /^[A-Za-z0-9._-]+$/); } },
    },
  ]);

  it('request ids are unique when the client sends none', async () => {
    const ids = new Set();
    for (let i = 0; i < 20; i++) ids.add((await api.get(i % 2 ? '/healthz' : '/fhir/Patient/kith-nope')).headers.get('x-request-id'));
    assert.equal(ids.size, 20);
  });

  it('/metrics counts requests by route and has latency histograms', async () => {
    await api.get('/fhir/metadata');
    const r = await api.get('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    assert.match(r.text, /^kith_http_requests_total\{[^}]*route="fhir\.metadata"[^}]*\} [1-9]\d*$/m);
    assert.match(r.text, /^kith_http_requests_total\{[^}]*route="fhir\.create"[^}]*status="201"[^}]*\} [1-9]\d*$/m);
    assert.match(r.text, /^kith_http_request_duration_seconds_bucket\{route="fhir\.read",le="[^"]+"\} \d+$/m);
    assert.match(r.text, /^kith_http_request_duration_seconds_bucket\{route="[^"]+",le="\+Inf"\} \d+$/m);
    assert.match(r.text, /^# TYPE kith_http_request_duration_seconds histogram$/m);
  });
});

/** A request through node:http, which (unlike fetch) lets us set Host. */
function rawRequest(port, method, path, headers = {}, body) {
  if (server?.token && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization'))
    headers = { ...headers, Authorization: `Bearer ${server.token}` };
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    r.on('error', reject);
    if (body) r.write(body);
    r.end();
  });
}

describe('robustness', () => {
  it('concurrent create-on-update of one new id: one 201, every version once', async () => {
    const path = '/fhir/Patient/kith-race-1';
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      api.put(path, patient({ id: 'kith-race-1', name: [{ family: `Racer ${i}` }] }))));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses ${statuses}`);
    assert.equal(statuses.filter((s) => s === 200).length, 9, `statuses ${statuses}`);
    const versions = results.map((r) => etagVersion(r.headers.get('etag'))).sort((a, b) => a - b);
    assert.deepEqual(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const h = await api.get(`${path}/_history`);
    assert.equal(h.json.total, 10);
  });

  it('concurrent updates with the same If-Match: exactly one wins', async () => {
    const path = '/fhir/Patient/kith-race-2';
    assert.equal((await api.put(path, patient({ id: 'kith-race-2' }))).status, 201);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      api.put(path, patient({ id: 'kith-race-2', name: [{ family: `Racer ${i}` }] }), { headers: { 'If-Match': 'W/"1"' } })));
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses ${statuses}`);
    assert.equal(statuses.filter((s) => s === 412).length, 9, `statuses ${statuses}`);
    const cur = await api.get(path);
    assert.equal(cur.headers.get('etag'), 'W/"2"');
  });

  it('ids: 64 characters are accepted, 65 are refused', async () => {
    const id64 = 'a'.repeat(60) + '-1.2';
    await runCase(api, {}, { name: '64', request: { method: 'PUT', path: `/fhir/Patient/${id64}`, body: patient({ id: id64 }) }, status: 201 });
    const id65 = `${id64}x`;
    await runCase(api, {}, { name: '65', request: { method: 'PUT', path: `/fhir/Patient/${id65}`, body: patient({ id: id65 }) }, status: 400 });
  });

  // RFC 8259 requires UTF-8; RFC 3629 forbids overlong forms, UTF-16
  // surrogates and code points above U+10FFFF. Such bytes must be refused, or
  // the server stores and later serves text that is not UTF-8.
  const BAD_UTF8 = {
    'overlong "/" (C0 AF)': [0xc0, 0xaf],
    'overlong "/" (E0 80 AF)': [0xe0, 0x80, 0xaf],
    'UTF-16 surrogate D800 (ED A0 80)': [0xed, 0xa0, 0x80],
    'above U+10FFFF (F4 90 80 80)': [0xf4, 0x90, 0x80, 0x80],
    'F5 lead byte (F5 80 80 80)': [0xf5, 0x80, 0x80, 0x80],
    'lone continuation byte (80)': [0x80],
    'truncated sequence (E2 82)': [0xe2, 0x82],
    'FF byte': [0xff],
  };
  it('invalid UTF-8 in a string is refused (400 or 422), nothing stored', async () => {
    const accepted = [];
    for (const [what, bytes] of Object.entries(BAD_UTF8)) {
      const body = Buffer.concat([
        Buffer.from('{"resourceType":"Patient","name":[{"family":"a'),
        Buffer.from(bytes),
        Buffer.from('b"}]}'),
      ]);
      try {
        await runCase(api, {}, { name: what, request: { method: 'POST', path: '/fhir/Patient', body: new Uint8Array(body) }, status: [400, 422] });
      } catch (e) {
        accepted.push(`${what}: ${e.message.split('\n')[0]}`);
      }
    }
    assert.deepEqual(accepted, [], `byte sequences that are not UTF-8 were not refused:\n${accepted.join('\n')}`);
  });

  it('a lone UTF-16 surrogate escape (\\ud800) is refused, not silently replaced', async () => {
    await runCase(api, {}, {
      name: 'lone surrogate',
      request: { method: 'PUT', path: '/fhir/Patient/kith-surrogate', body: '{"resourceType":"Patient","id":"kith-surrogate","name":[{"family":"a\\ud800b"}]}' },
      status: [400, 422],
    });
  });

  it('a Host header with a quote cannot break the JSON of a Bundle', async () => {
    assert.equal((await api.put('/fhir/Patient/kith-host-1', patient({ id: 'kith-host-1' }))).status, 201);
    for (const path of ['/fhir/Patient?_id=kith-host-1', '/fhir/Patient/kith-host-1/_history', '/fhir/Patient/_history?_count=1']) {
      const r = await rawRequest(server.port, 'GET', path, { Host: `127.0.0.1:${server.port}"x\\y` });
      if (r.status === 400) continue; // refusing a malformed Host is fine too
      assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 200)}`);
      assert.doesNotThrow(() => JSON.parse(r.text), `${path}: the Bundle is not valid JSON: ${r.text.slice(0, 300)}`);
    }
  });
});
