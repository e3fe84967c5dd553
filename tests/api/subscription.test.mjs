// subscription.test.mjs — FHIR R4 Subscriptions with the rest-hook channel,
// against a real `kith serve` and a real subscriber: a node http server on
// loopback that records every request it gets.
//
// What must hold: a valid Subscription is stored "active"; a write that makes
// a resource meet the criteria brings exactly one POST with an empty body,
// the X-Kith-Subscription header and the channel's own headers (no personal
// data leaves in a notification); a write that does not meet them brings
// none; Subscriptions Kith cannot honour are refused with 422 and an
// OperationOutcome and nothing is stored; an endpoint that keeps failing ends
// with status "error" and the reason in Subscription.error, and writing
// "requested" again re-enables it; a deleted Subscription notifies nobody;
// active Subscriptions survive a restart.
//
// Kith checks writes on one thread in the order they were made, so to show
// that a write brought no notification the tests make a later "sentinel"
// write that another Subscription does notice, wait for that, then allow a
// short grace for any notification sent in the same pass.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { client, startServer } from './lib/server.mjs';

const WAIT_MS = 10000;
const GRACE_MS = 300;
const BACKOFF_MS = 100; // KITH_SUBSCRIPTION_BACKOFF_MS for these tests: retries 0.1, 0.2, 0.4, 0.8 s

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A subscriber endpoint on loopback. Every request is recorded per path as
 * { method, headers, body }. Paths answer 200 unless status(path, code) says
 * otherwise.
 */
async function startSubscriber() {
  const hits = new Map();
  const codes = new Map();
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = req.url;
      const list = hits.get(path) ?? [];
      list.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      hits.set(path, list);
      res.statusCode = codes.get(path) ?? 200;
      res.end(res.statusCode === 200 ? 'ok' : 'no');
      for (const w of [...waiters]) w();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const got = (path) => hits.get(path) ?? [];
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    got,
    status: (path, code) => codes.set(path, code),
    /** Wait until path has had at least n requests; returns them. */
    async waitFor(path, n = 1, ms = WAIT_MS) {
      const deadline = Date.now() + ms;
      while (got(path).length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${path} had ${got(path).length} requests, not ${n}, within ${ms} ms`);
        await new Promise((r) => {
          const t = setTimeout(done, Math.min(left, 200));
          function done() {
            clearTimeout(t);
            const i = waiters.indexOf(done);
            if (i >= 0) waiters.splice(i, 1);
            r();
          }
          waiters.push(done);
        });
      }
      return got(path);
    },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

const subscription = (criteria, endpoint, extra = {}) => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'Tell the team system when its worklist changes',
  criteria,
  channel: { type: 'rest-hook', endpoint, ...extra },
});

const task = (status, extra = {}) => ({ resourceType: 'Task', status, intent: 'order', ...extra });

let server;
let api;
let sub;
let firstDir; // the temp directory of the first server's database (kept across the restart)
let sentinelCount = 0;

/** Make a write the sentinel Subscription notices and wait until it has. */
async function sentinel() {
  sentinelCount += 1;
  const r = await api.post('/fhir/Communication', { resourceType: 'Communication', status: 'completed' });
  assert.equal(r.status, 201, r.text);
  await sub.waitFor('/sentinel', sentinelCount);
  await sleep(GRACE_MS);
}

async function createSubscription(body) {
  const r = await api.post('/fhir/Subscription', body);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.status, 'active', 'a requested Subscription is stored active');
  return r.json;
}

async function waitForStatus(id, status, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await api.get(`/fhir/Subscription/${id}`);
    assert.equal(r.status, 200, r.text);
    if (r.json.status === status) return r.json;
    if (Date.now() > deadline) assert.fail(`Subscription/${id} is still ${r.json.status}, not ${status}`);
    await sleep(100);
  }
}

before(async () => {
  sub = await startSubscriber();
  process.env.KITH_SUBSCRIPTION_BACKOFF_MS = String(BACKOFF_MS);
  server = await startServer();
  firstDir = server.dir;
  api = client(server.base);
  // Every test waits on this one: it hears of completed Communications.
  await createSubscription(subscription('Communication?status=completed', sub.url('/sentinel')));
});

after(async () => {
  delete process.env.KITH_SUBSCRIPTION_BACKOFF_MS;
  if (server) {
    const r = await server.stop();
    assert.equal(r.code, 0, `kith serve exit after SIGTERM: ${JSON.stringify(r)}\n${server.log()}`);
  }
  if (firstDir) fs.rmSync(firstDir, { recursive: true, force: true });
  await sub?.close();
});

describe('rest-hook notifications', () => {
  let s;
  it('a matching write brings one POST with no body and the Subscription header', async () => {
    s = await createSubscription(subscription('Task?status=requested', sub.url('/hook'), {
      header: ['Authorization: Bearer team-secret', 'X-Team: district-nursing'],
    }));
    assert.equal(s.channel.header.length, 2);
    const t = await api.post('/fhir/Task', task('requested'));
    assert.equal(t.status, 201, t.text);
    const [ping] = await sub.waitFor('/hook', 1);
    assert.equal(ping.method, 'POST');
    assert.equal(ping.body, '', 'a notification has no body');
    assert.equal(ping.headers['x-kith-subscription'], `Subscription/${s.id}`);
    assert.equal(ping.headers['authorization'], 'Bearer team-secret');
    assert.equal(ping.headers['x-team'], 'district-nursing');
    assert.ok(!ping.headers['content-type'], `no Content-Type for an empty body, got ${ping.headers['content-type']}`);
    assert.ok(ping.headers['content-length'] === undefined || ping.headers['content-length'] === '0');
    await sentinel();
    assert.equal(sub.got('/hook').length, 1, 'exactly one notification for one matching write');
  });

  it('a write that does not meet the criteria brings none', async () => {
    const t = await api.post('/fhir/Task', task('accepted'));
    assert.equal(t.status, 201, t.text);
    await sentinel();
    assert.equal(sub.got('/hook').length, 1, 'no notification for an accepted Task');
    // ...until an update makes it meet them
    const u = await api.put(`/fhir/Task/${t.json.id}`, { ...t.json, status: 'requested' });
    assert.equal(u.status, 200, u.text);
    await sub.waitFor('/hook', 2);
    // and a JSON Patch that keeps it matching notifies again
    const p = await api.req('PATCH', `/fhir/Task/${t.json.id}`, {
      body: JSON.stringify([{ op: 'add', path: '/description', value: 'Wound dressing' }]),
      headers: { 'Content-Type': 'application/json-patch+json' },
    });
    assert.equal(p.status, 200, p.text);
    await sub.waitFor('/hook', 3);
    // a Patient write is of another type altogether
    const pt = await api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Okafor' }] });
    assert.equal(pt.status, 201, pt.text);
    await sentinel();
    assert.equal(sub.got('/hook').length, 3);
  });

  it('an update of the Subscription takes effect at once', async () => {
    const r = await api.put(`/fhir/Subscription/${s.id}`, { ...s, status: 'active', criteria: 'Task?status=accepted' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'active');
    const before = sub.got('/hook').length;
    await api.post('/fhir/Task', task('requested'));
    await sentinel();
    assert.equal(sub.got('/hook').length, before, 'requested Tasks no longer meet the criteria');
    await api.post('/fhir/Task', task('accepted'));
    await sub.waitFor('/hook', before + 1);
    s = r.json;
  });

  it('a deleted Subscription notifies nobody', async () => {
    const d = await api.del(`/fhir/Subscription/${s.id}`);
    assert.equal(d.status, 200, d.text);
    const before = sub.got('/hook').length;
    await api.post('/fhir/Task', task('accepted'));
    await sentinel();
    assert.equal(sub.got('/hook').length, before, 'no notification after the delete');
  });

  it('a Subscription with status off notifies nobody', async () => {
    const off = await api.post('/fhir/Subscription', { ...subscription('Task?status=on-hold', sub.url('/off')), status: 'off' });
    assert.equal(off.status, 201, off.text);
    assert.equal(off.json.status, 'off');
    await api.post('/fhir/Task', task('on-hold'));
    await sentinel();
    assert.equal(sub.got('/off').length, 0);
  });
});

describe('Subscriptions Kith cannot honour are refused', () => {
  const hook = 'http://127.0.0.1:9/hook';
  const cases = [
    ['a payload (notifications carry no personal data)', subscription('Task?status=requested', hook, { payload: 'application/fhir+json' }), /no body|personal data/i],
    ['an unknown resource type', subscription('Nonsense?status=requested', hook), /resource type/i],
    ['an unknown search parameter', subscription('Task?colour=blue', hook), /colour/],
    ['a malformed search value', subscription('Task?authored-on=notadate', hook), /./],
    ['a result parameter', subscription('Task?status=requested&_include=Task:patient', hook), /_include/],
    ['a criteria that is a URL', subscription('http://example.org/fhir/Task?status=requested', hook), /resource type/i],
    ['a channel Kith does not deliver', { ...subscription('Task?status=requested', hook), channel: { type: 'email', endpoint: 'mailto:a@b.nhs.uk' } }, /rest-hook/],
    ['an endpoint that is not http(s)', subscription('Task?status=requested', 'file:///etc/passwd'), /http/],
    ['a rest-hook without an endpoint', { ...subscription('Task?status=requested', hook), channel: { type: 'rest-hook' } }, /endpoint/],
    ['a header that is not "Name: value"', subscription('Task?status=requested', hook, { header: ['no colon here'] }), /Name: value/],
    ['a header with a line break', subscription('Task?status=requested', hook, { header: ['X-A: 1\r\nX-B: 2'] }), /line break|control/],
    ['a header Kith sets itself', subscription('Task?status=requested', hook, { header: ['X-Kith-Subscription: Subscription/other'] }), /itself/],
    ['no criteria', { ...subscription('x', hook), criteria: undefined }, /criteria/],
  ];
  for (const [name, body, diag] of cases) {
    it(`refuses ${name}`, async () => {
      const before = await api.get('/fhir/Subscription?_summary=count');
      const r = await api.post('/fhir/Subscription', JSON.parse(JSON.stringify(body)));
      assert.equal(r.status, 422, `${name}: ${r.text}`);
      assert.equal(r.json?.resourceType, 'OperationOutcome', r.text);
      const errors = r.json.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal');
      assert.ok(errors.length > 0, r.text);
      assert.ok(errors.some((i) => diag.test(i.diagnostics ?? '')), `${name}: no error says ${diag}: ${r.text}`);
      const after = await api.get('/fhir/Subscription?_summary=count');
      assert.equal(after.json.total, before.json.total, 'nothing was stored');
    });
  }

  it('refuses a bad Subscription on update too, leaving the stored one as it was', async () => {
    const s = await createSubscription(subscription('Task?status=draft', sub.url('/unused')));
    const r = await api.put(`/fhir/Subscription/${s.id}`, { ...s, channel: { ...s.channel, payload: 'application/fhir+json' } });
    assert.equal(r.status, 422, r.text);
    const g = await api.get(`/fhir/Subscription/${s.id}`);
    assert.equal(g.json.meta.versionId, s.meta.versionId);
    assert.equal(g.json.channel.payload, undefined);
  });
});

describe('an endpoint that keeps failing', () => {
  it('ends in status error with the reason, and writing requested re-enables it', async () => {
    sub.status('/broken', 500);
    const s = await createSubscription(subscription('Task?status=received', sub.url('/broken')));
    await api.post('/fhir/Task', task('received'));
    const failed = await waitForStatus(s.id, 'error');
    assert.match(failed.error ?? '', /HTTP 500/, `Subscription.error says why: ${failed.error}`);
    const attempts = sub.got('/broken').length;
    assert.ok(attempts >= 2 && attempts <= 10, `a few attempts with backoff, not ${attempts}`);
    // no more attempts once in error
    await api.post('/fhir/Task', task('received'));
    await sentinel();
    assert.equal(sub.got('/broken').length, attempts, 'a Subscription in error is not tried');

    // The subscriber is fixed; the client asks again.
    sub.status('/broken', 200);
    const r = await api.put(`/fhir/Subscription/${s.id}`, { ...failed, status: 'requested' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'active');
    assert.equal(r.json.error, undefined, 'the old error is cleared');
    await api.post('/fhir/Task', task('received'));
    await sub.waitFor('/broken', attempts + 1);
  });

  it('an endpoint nobody listens on ends in error too', async () => {
    const probe = http.createServer();
    await new Promise((r) => probe.listen(0, '127.0.0.1', r));
    const port = probe.address().port;
    await new Promise((r) => probe.close(r));
    const s = await createSubscription(subscription('Task?status=rejected', `http://127.0.0.1:${port}/gone`));
    await api.post('/fhir/Task', task('rejected'));
    const failed = await waitForStatus(s.id, 'error');
    assert.ok(failed.error, 'Subscription.error is set');
  });
});

describe('after a restart', () => {
  it('active Subscriptions are loaded and notify again', async () => {
    const s = await createSubscription(subscription('Task?status=ready', sub.url('/restart')));
    const r = await server.stop();
    assert.equal(r.code, 0, server.log());
    server = await startServer({ dbPath: server.dbPath });
    api = client(server.base);
    const t = await api.post('/fhir/Task', task('ready'));
    assert.equal(t.status, 201, t.text);
    const [ping] = await sub.waitFor('/restart', 1);
    assert.equal(ping.headers['x-kith-subscription'], `Subscription/${s.id}`);
  });
});
