// shared-database.test.mjs — two `kith serve` processes on one PostgreSQL
// database, as behind a load balancer. What one writes the other serves at
// once, and a Subscription made through one is known to the other (PostgreSQL
// LISTEN/NOTIFY, src/store/postgres.c): a matching write through the second
// process brings exactly one rest-hook notification, delivered by the process
// that made the write; a websocket client of the first process is pinged of
// writes through the second. Skipped (and said so) where Debian's postgresql-15 is
// not installed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, tempDir, ROOT } from './lib/server.mjs';
import { openWebSocket } from './lib/websocket.mjs';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const have = fs.existsSync(path.join(PG_BIN, 'initdb'));
const json = { 'content-type': 'application/fhir+json' };

describe('two kith serve processes on one PostgreSQL database', { skip: have ? false : 'PostgreSQL 15 is not installed here (apt-get install postgresql-15)' }, () => {
  let dir, url, a, b, hook, hits = [];
  before(async () => {
    dir = tempDir('kith-shared-');
    fs.chmodSync(dir, 0o755); // the server runs as the postgres user
    const port = String(57000 + (process.pid % 1000));
    const s = spawnSync(path.join(ROOT, 'scripts/pg.sh'), ['start', path.join(dir, 'pg'), port], { encoding: 'utf8' });
    assert.equal(s.status, 0, s.stderr);
    url = `${s.stdout.trim()}?options=-csearch_path%3Dshared_${process.pid}`;
    a = await startServer({ dbPath: url });
    b = await startServer({ dbPath: url });
    hook = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { hits.push({ path: req.url, subscription: req.headers['x-kith-subscription'] }); res.end('ok'); });
    });
    await new Promise((r) => hook.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await new Promise((r) => hook ? hook.close(r) : r());
    if (dir) {
      spawnSync(path.join(ROOT, 'scripts/pg.sh'), ['stop', path.join(dir, 'pg')]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('what one process writes the other reads', async () => {
    const w = await fetch(`${a.base}/fhir/Patient`, { method: 'POST', headers: json,
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Shared' }] }) });
    assert.equal(w.status, 201);
    const id = (await w.json()).id;
    const r = await fetch(`${b.base}/fhir/Patient/${id}`);
    assert.equal(r.status, 200);
    assert.equal((await r.json()).name[0].family, 'Shared');
  });

  it('a Subscription made through one process notifies of writes through the other, once', async () => {
    const endpoint = `http://127.0.0.1:${hook.address().port}/hook`;
    const sr = await fetch(`${a.base}/fhir/Subscription`, { method: 'POST', headers: json, body: JSON.stringify({
      resourceType: 'Subscription', status: 'requested', reason: 'shared database test',
      criteria: 'Patient?family=Notified', channel: { type: 'rest-hook', endpoint } }) });
    const created = await sr.text();
    assert.equal(sr.status, 201, created);
    const sid = JSON.parse(created).id;
    // the other process hears of the Subscription through NOTIFY: keep writing through it until it delivers
    const deadline = Date.now() + 10000;
    let writes = 0;
    while (!hits.length && Date.now() < deadline) {
      const w = await fetch(`${b.base}/fhir/Patient`, { method: 'POST', headers: json,
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Notified' }] }) });
      assert.equal(w.status, 201);
      writes++;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(hits.length > 0, `no notification after ${writes} writes through the second process`);
    assert.equal(hits[0].subscription, `Subscription/${sid}`);
    // one more write: exactly one more notification (not one from each process)
    const before = hits.length;
    await new Promise((r) => setTimeout(r, 1000));
    const settled = hits.length;
    const w = await fetch(`${b.base}/fhir/Patient`, { method: 'POST', headers: json,
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Notified' }] }) });
    assert.equal(w.status, 201);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(settled >= before);
    assert.equal(hits.length, settled + 1, 'one write, one notification');
  });

  it('a websocket client of one process hears of writes through the other', async () => {
    const sr = await fetch(`${a.base}/fhir/Subscription`, { method: 'POST', headers: json, body: JSON.stringify({
      resourceType: 'Subscription', status: 'requested', reason: 'shared database websocket',
      criteria: 'Patient?family=Pinged', channel: { type: 'websocket' } }) });
    const created = await sr.text();
    assert.equal(sr.status, 201, created);
    const sid = JSON.parse(created).id;
    const ws = await openWebSocket(a.base, a.token);
    assert.equal(ws.status, 101);
    try {
      ws.send(`bind ${sid}`);
      assert.equal(await ws.next(), `bound ${sid}`);
      const w = await fetch(`${b.base}/fhir/Patient`, { method: 'POST', headers: json,
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Pinged' }] }) });
      assert.equal(w.status, 201);
      assert.equal(await ws.next(), `ping ${sid}`, 'the write through the other process is heard');
      const other = await fetch(`${b.base}/fhir/Patient`, { method: 'POST', headers: json,
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Unrelated' }] }) });
      assert.equal(other.status, 201);
      assert.equal(await ws.next(1500), null, 'no ping for a write that does not match');
    } finally {
      ws.close();
    }
  });
});
