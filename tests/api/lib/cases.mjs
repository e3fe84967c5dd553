// cases.mjs — run data-driven API cases: a request and the expected response.
//
// A case is
//   { name,
//     request: { method, path, headers?, body? }   (or a function ctx → request)
//     status,                                      expected HTTP status, or a list of acceptable ones
//     headers?: { name: string | RegExp | null | (value, ctx) => void }
//                                                  null: the header must be absent
//     body?: subset of the JSON body (values may be RegExp, functions of
//            (value, ctx), or plain values); arrays match element by element
//     text?: string | RegExp | (text, ctx) => void  the raw body
//     issue?: subset one OperationOutcome issue must match, e.g.
//             { code: 'invalid', expression: ['Patient.active'] }
//     unchanged?: true  the store must be unchanged by the request (checked with
//             the system history total and, for /fhir/T/id paths, the
//             resource's current status and ETag). Defaults to true for a
//             rejected (4xx/5xx) POST, PUT or DELETE.
//     then?: (res, ctx, api) => void | Promise   further checks; may save ids in ctx
//   }
// Every response must carry X-Request-Id; every error response must be an
// OperationOutcome sent as application/fhir+json.
import assert from 'node:assert/strict';

const resolve = (v, ctx) => (typeof v === 'function' ? v(ctx) : v);

function matchValue(got, want, where, ctx) {
  if (want instanceof RegExp) {
    assert.equal(typeof got, 'string', `${where}: expected a string matching ${want}, got ${JSON.stringify(got)}`);
    assert.match(got, want, where);
  } else if (typeof want === 'function') {
    want(got, ctx, where);
  } else if (Array.isArray(want)) {
    assert.ok(Array.isArray(got), `${where}: expected an array, got ${JSON.stringify(got)}`);
    assert.equal(got.length, want.length, `${where}: array length`);
    want.forEach((w, i) => matchValue(got[i], w, `${where}[${i}]`, ctx));
  } else if (want && typeof want === 'object') {
    assert.ok(got && typeof got === 'object' && !Array.isArray(got), `${where}: expected an object, got ${JSON.stringify(got)}`);
    for (const [k, w] of Object.entries(want)) {
      if (w === undefined) assert.ok(!(k in got), `${where}.${k} must be absent, got ${JSON.stringify(got[k])}`);
      else matchValue(got[k], w, `${where}.${k}`, ctx);
    }
  } else {
    assert.equal(got, want, where);
  }
}

export function assertOutcome(res, where) {
  assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json(;|$)/, `${where}: content-type of an error`);
  assert.ok(res.json, `${where}: error body is not JSON: ${res.text.slice(0, 200)}`);
  assert.equal(res.json.resourceType, 'OperationOutcome', `${where}: error body is not an OperationOutcome`);
  assert.ok(Array.isArray(res.json.issue) && res.json.issue.length > 0, `${where}: OperationOutcome without issues`);
  for (const i of res.json.issue) {
    assert.ok(i.severity && i.code, `${where}: issue without severity/code: ${JSON.stringify(i)}`);
  }
}

/** Assert that some issue of the OperationOutcome in res matches `want`. */
export function assertIssue(res, want, where = 'issue') {
  for (const i of res.json?.issue ?? []) {
    try {
      matchValue(i, want, where, {});
      return;
    } catch { /* try the next issue */ }
  }
  assert.fail(`${where}: no issue matches ${JSON.stringify(want)} in ${res.text.slice(0, 1000)}`);
}

const RESOURCE_PATH = /^\/fhir\/([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:[/?]|$)/;

async function snapshot(api, path) {
  const h = await api.get('/fhir/_history?_count=1');
  assert.equal(h.status, 200, 'system history for the store snapshot');
  const snap = { historyTotal: h.json.total };
  const m = RESOURCE_PATH.exec(path);
  if (m && m[2] !== '_history' && m[2] !== '_search') {
    const r = await api.get(`/fhir/${m[1]}/${m[2]}`);
    snap.current = { status: r.status, etag: r.headers.get('etag') };
  }
  return snap;
}

export async function runCase(api, ctx, c) {
  const rq = resolve(c.request, ctx);
  const where = `${c.name}: ${rq.method} ${rq.path}`;
  const isWrite = ['POST', 'PUT', 'DELETE', 'PATCH'].includes(rq.method);
  const statuses = [c.status].flat();
  const mustBeUnchanged = c.unchanged ?? (isWrite && Math.min(...statuses) >= 400);
  const before = mustBeUnchanged ? await snapshot(api, rq.path) : null;

  const res = await api.req(rq.method, rq.path, { body: rq.body, headers: rq.headers });
  if (statuses.length === 1) assert.equal(res.status, statuses[0], `${where}: status (body: ${res.text.slice(0, 600)})`);
  else assert.ok(statuses.includes(res.status), `${where}: status ${res.status} is not one of ${statuses} (body: ${res.text.slice(0, 600)})`);
  assert.ok(res.headers.get('x-request-id'), `${where}: no X-Request-Id`);
  if (res.status >= 400) assertOutcome(res, where);
  for (const [name, want] of Object.entries(c.headers ?? {})) {
    const got = res.headers.get(name);
    if (want === null) assert.equal(got, null, `${where}: header ${name} must be absent`);
    else if (typeof want === 'function') want(got, ctx, `${where}: header ${name}`);
    else if (want instanceof RegExp) assert.match(got ?? '(absent)', want, `${where}: header ${name}`);
    else assert.equal(got, resolve(want, ctx), `${where}: header ${name}`);
  }
  if (c.text !== undefined) {
    if (c.text instanceof RegExp) assert.match(res.text, c.text, `${where}: body text`);
    else if (typeof c.text === 'function') c.text(res.text, ctx, where);
    else assert.equal(res.text, c.text, `${where}: body text`);
  }
  if (c.body !== undefined) {
    assert.ok(res.json !== undefined, `${where}: body is not JSON: ${res.text.slice(0, 200)}`);
    matchValue(res.json, c.body, `${where}: body`, ctx);
  }
  if (c.issue) assertIssue(res, c.issue, `${where}: issue`);
  if (before) assert.deepEqual(await snapshot(api, rq.path), before, `${where}: the store changed after the request`);
  if (c.then) await c.then(res, ctx, api);
  return res;
}

/** Register each case as a node:test subtest, run in order, sharing ctx. */
export function defineCases(t, getApi, ctx, cases) {
  for (const c of cases) t(c.name, async () => { await runCase(getApi(), ctx, c); });
}
