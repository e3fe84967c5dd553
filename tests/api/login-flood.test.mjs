// login-flood.test.mjs — 10,000 failed sign-ins do not take the server from
// everyone else: while they run, other people's FHIR reads all succeed; every
// failed sign-in is refused (401, or 429 once the account is locked or too many
// are being checked at once), never a 5xx; the attacked account ends up locked;
// another account can sign in afterwards. (No timing is asserted: bench/ measures.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, kith, startServer } from './lib/server.mjs';

let server, api;

before(async () => {
  server = await startServer();
  api = client(server.base);
  for (const u of ['victim', 'bystander'])
    kith(['user', 'add', '--username', u, '--role', 'gp', '--org', 'flood-org', '--password-stdin', '--db', server.dbPath],
      'the right password\n');
  const r = await api.put('/fhir/Organization/flood-org', { resourceType: 'Organization', id: 'flood-org', name: 'Flood Surgery' });
  assert.ok(r.status === 200 || r.status === 201);
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

const login = (username, password) => fetch(`${server.base}/auth/login`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ username, password }),
}).then(async (r) => ({ status: r.status, text: await r.text() }));

describe('a flood of failed sign-ins', () => {
  it('refuses all 10,000 while other requests go on', async () => {
    const statuses = new Map();
    let next = 0;
    const flood = Array.from({ length: 50 }, async () => {
      while (next < 10000) {
        next++;
        const r = await login('victim', `wrong-${next}`);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    });
    const reads = [];
    const readers = (async () => {
      while (next < 10000) {
        const r = await api.get('/fhir/Organization/flood-org');
        reads.push(r.status);
      }
    })();
    await Promise.all([...flood, readers]);
    const summary = JSON.stringify(Object.fromEntries(statuses));
    assert.equal([...statuses.values()].reduce((a, b) => a + b, 0), 10000, summary);
    for (const s of statuses.keys()) assert.ok(s === 401 || s === 429, `sign-in answered ${s}: ${summary}`);
    assert.ok(reads.length > 0, 'reads ran during the flood');
    assert.deepEqual([...new Set(reads)], [200], `every read during the flood succeeded (${reads.length})`);
  });
  it('leaves the attacked account locked and the others usable', async () => {
    const locked = await login('victim', 'the right password');
    assert.equal(locked.status, 429, locked.text);
    assert.match(locked.text, /locked/);
    const ok = await login('bystander', 'the right password');
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /csrfToken/);
  });
});
