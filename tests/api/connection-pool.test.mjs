// connection-pool.test.mjs — `kith serve --db-connections N`: the worker
// threads share a pool of database connections. With eight threads and a pool
// of three (the audit and Subscription threads keep one each), every request
// is served through the one connection left, in turn: many at once all get
// their answer, writes included, and /metrics shows the pool never grew.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import { BIN, client, startServer } from './lib/server.mjs';

let server;
let api;

before(async () => {
  server = await startServer({ args: ['--threads', '8', '--db-connections', '3'] });
  api = client(server.base);
});
after(async () => {
  if (server) {
    const r = await server.stop();
    server.cleanup();
    assert.equal(r.code, 0, `kith serve exit after SIGTERM: ${JSON.stringify(r)}\n${server.log()}`);
  }
});

/** The value of a /metrics line (name with labels as written), or NaN. */
function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

describe('the database connection pool', () => {
  it('serves many requests at once through a pool smaller than the threads', async () => {
    const created = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        api.post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: `Pool${i}` }], gender: 'female' })),
    );
    for (const r of created) assert.equal(r.status, 201, r.text);
    const ids = created.map((r) => r.json.id);
    const reads = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        i % 2 ? api.get(`/fhir/Patient/${ids[i % ids.length]}`) : api.get('/fhir/Patient?family=Pool3')),
    );
    for (const r of reads) assert.equal(r.status, 200, r.text);
    assert.equal(reads[0].json.total ?? reads[0].json.entry.length, 1);

    const m = await api.get('/metrics');
    assert.equal(m.status, 200);
    assert.equal(metric(m.text, 'kith_store_connections_max'), 3);
    const inUse = metric(m.text, 'kith_store_connections{state="in_use"}');
    const idle = metric(m.text, 'kith_store_connections{state="idle"}');
    assert.ok(inUse + idle <= 3, `open connections ${inUse} + ${idle} beyond the pool of 3`);
    assert.ok(idle >= 0 && inUse >= 2, `the audit and Subscription threads hold theirs: ${inUse} in use`);
    assert.ok(metric(m.text, 'kith_store_pool_waits_total') > 0, 'with 8 threads and 1 free connection, some waited');
  });

  it('refuses a pool too small to serve anything', () => {
    const r = spawnSync(BIN, ['serve', '--db', '/nonexistent/kith.db', '--db-connections', '2'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--db-connections must be 3-1024/);
  });
});
