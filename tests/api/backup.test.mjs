// backup.test.mjs — `kith backup` and `kith restore` on both backends.
//
// SQLite: a backup taken while a real `kith serve` is creating Patients holds
// a consistent store (every Patient created before the backup began, none
// half-written, the audit chain intact) and restores into a new database that
// serves them. `kith restore` refuses to replace a database that holds
// records unless --force is given, and refuses a file that is not a whole
// Kith backup without touching the target. PostgreSQL: the same copy through
// pg_dump and pg_restore on a throwaway PostgreSQL 15 server (scripts/pg.sh),
// skipped (and said so) where Debian's postgresql-15 is not installed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { kith, startServer, tempDir, ROOT, BIN } from './lib/server.mjs';

const run = (args) => spawnSync(BIN, args, { encoding: 'utf8' });
const patient = (i) => ({ resourceType: 'Patient', name: [{ family: `Backup${i}`, given: ['Test'] }], gender: 'female' });

async function count(base, family) {
  const r = await fetch(`${base}/fhir/Patient?family=${family}&_summary=count`);
  assert.equal(r.status, 200);
  return (await r.json()).total;
}

// Under scripts/api-pg.sh every server's store is on PostgreSQL: the SQLite suite then has no file to copy.
describe('kith backup and restore (SQLite)', { skip: process.env.KITH_TEST_STORE_URL ? 'the stores are on PostgreSQL here (the next suite covers it)' : false }, () => {
  let server, dir;
  before(async () => {
    server = await startServer();
    dir = tempDir('kith-backup-');
  });
  after(async () => {
    await server?.stop();
    server?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('copies the store while it serves, and the copy restores and serves', async () => {
    const post = (i) => fetch(`${server.base}/fhir/Patient`, {
      method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(patient(i)) });
    for (let i = 0; i < 50; i++) assert.equal((await post(i)).status, 201);
    // keep writing while the backup runs
    let writing = true, written = 50;
    const writer = (async () => {
      while (writing) { assert.equal((await post(written)).status, 201); written++; }
    })();
    const file = path.join(dir, 'kith.bak');
    const b = await new Promise((resolve) => {
      const p = spawnSync(BIN, ['backup', '--db', server.dbPath, '--out', file], { encoding: 'utf8' });
      resolve(p);
    });
    writing = false;
    await writer;
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /Backup written to/);
    assert.ok(!fs.existsSync(`${file}-wal`), 'the backup is one file');

    const restored = path.join(dir, 'restored.db');
    const r = run(['restore', '--db', restored, '--from', file]);
    assert.equal(r.status, 0, r.stderr);
    const held = Number(r.stdout.match(/: (\d+) resources/)[1]);
    assert.ok(held >= 50, `${held} resources restored`);
    const v = run(['audit', 'verify', '--db', restored]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /audit log intact/);

    const copy = await startServer({ dbPath: restored });
    try {
      const n = await count(copy.base, 'Backup');
      assert.ok(n >= 50 && n <= written, `${n} Patients in the copy, ${written} written in all`);
      assert.equal(await count(server.base, 'Backup'), written);
    } finally {
      await copy.stop();
    }
  });

  it('will not replace records without --force, nor use a file that is not a backup', () => {
    const file = path.join(dir, 'kith.bak');
    const target = path.join(dir, 'restored.db');
    const refused = run(['restore', '--db', target, '--from', file]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /holds \d+ resources: give --force/);

    const junk = path.join(dir, 'junk.bak');
    fs.writeFileSync(junk, 'this is not a database\n'.repeat(100));
    const bad = run(['restore', '--db', target, '--from', junk, '--force']);
    assert.equal(bad.status, 3);
    assert.match(bad.stderr, /junk\.bak is not a usable backup/);
    const still = run(['audit', 'verify', '--db', target]);
    assert.equal(still.status, 0, 'the target is untouched');

    const forced = run(['restore', '--db', target, '--from', file, '--force']);
    assert.equal(forced.status, 0, forced.stderr);
  });

  it('says what is wrong with a command line or a missing database', () => {
    for (const [args, msg] of [
      [['backup', '--db', path.join(dir, 'x.db')], /--out FILE is required/],
      [['restore', '--db', path.join(dir, 'x.db')], /--from FILE is required/],
      [['backup', '--from', 'a'], /--from is for kith restore/],
    ]) {
      const r = run(args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, msg);
    }
    const missing = run(['backup', '--db', path.join(dir, 'nothing.db'), '--out', path.join(dir, 'n.bak')]);
    assert.equal(missing.status, 3);
    assert.match(missing.stderr, /no database at .*nothing\.db/);
    assert.ok(!fs.existsSync(path.join(dir, 'n.bak')));
  });
});

const PG_BIN = '/usr/lib/postgresql/15/bin';

describe('kith backup and restore (PostgreSQL)', () => {
  const have = fs.existsSync(path.join(PG_BIN, 'initdb')) && spawnSync('which', ['pg_dump']).status === 0;
  let pgdir, url;
  before(() => {
    if (!have) return;
    pgdir = tempDir('kith-pg-backup-');
    fs.chmodSync(pgdir, 0o755); // the server runs as the postgres user, who must reach pgdir/pg
    const port = String(56000 + (process.pid % 1000));
    const s = spawnSync(path.join(ROOT, 'scripts/pg.sh'), ['start', path.join(pgdir, 'pg'), port], { encoding: 'utf8' });
    assert.equal(s.status, 0, s.stderr);
    url = s.stdout.trim();
  });
  after(() => {
    if (pgdir) {
      spawnSync(path.join(ROOT, 'scripts/pg.sh'), ['stop', path.join(pgdir, 'pg')]);
      fs.rmSync(pgdir, { recursive: true, force: true });
    }
  });

  it('copies a PostgreSQL store with pg_dump and puts it back in another database', (t) => {
    if (!have) {
      t.skip('PostgreSQL 15 is not installed here (apt-get install postgresql-15): not run');
      return;
    }
    const ndjson = path.join(pgdir, 'Patient.ndjson');
    fs.writeFileSync(ndjson, Array.from({ length: 40 }, (_, i) => JSON.stringify({ ...patient(i), id: `pgb-${i}` })).join('\n') + '\n');
    const imp = run(['import', '--db', url, ndjson]);
    assert.equal(imp.status, 0, imp.stderr);
    const file = path.join(pgdir, 'pg.bak');
    const b = run(['backup', '--db', url, '--out', file]);
    assert.equal(b.status, 0, b.stderr);
    const psql = spawnSync(path.join(PG_BIN, 'psql'), [url, '-qAtc', 'CREATE DATABASE kith_restored'], { encoding: 'utf8' });
    assert.equal(psql.status, 0, psql.stderr);
    const target = url.replace(/\/kith$/, '/kith_restored');
    const r = run(['restore', '--db', target, '--from', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /: 40 resources/);
    const again = run(['restore', '--db', target, '--from', file]);
    assert.equal(again.status, 1, 'records there now: --force needed');
    const v = run(['audit', 'verify', '--db', target]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const ex = run(['export', '--db', target, '--out', path.join(pgdir, 'out'), '--type', 'Patient', '--quiet']);
    assert.equal(ex.status, 0, ex.stderr);
    const ids = fs.readFileSync(path.join(pgdir, 'out', 'Patient.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).id);
    assert.equal(ids.length, 40);
    assert.ok(ids.includes('pgb-39'));
  });
});
