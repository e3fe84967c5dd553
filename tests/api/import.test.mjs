// import.test.mjs — `kith import`: NDJSON, gzip, Bundle and plain JSON files;
// each bad line reported as file:line with a reason while the rest load;
// exit status 1 when anything was rejected, 0 when all loaded, 3 for a
// missing file; --json summary counts; what loaded is readable through the API.
// Under `make api-pg` the store is a PostgreSQL schema (the COPY path), and a
// database lost in the middle of an import is tried too.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { newStore, removeStore, startServer } from './lib/server.mjs';

const KITH = process.env.KITH_BIN || path.resolve('bin/kith');

function importFiles(db, files, extra = []) {
  const r = spawnSync(KITH, ['import', '--db', db, ...extra, ...files], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kith import', () => {
  let dir, db;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-import-'));
    db = newStore(dir);
  });
  after(() => {
    removeStore(db);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads good NDJSON lines and reports each bad one as file:line', () => {
    const file = path.join(dir, 'mixed.ndjson');
    fs.writeFileSync(file, [
      '{"resourceType":"Patient","id":"imp-1","gender":"female"}',
      'this is not JSON',
      '{"resourceType":"Patient","id":"bad id"}',
      '',
      '{"resourceType":"Observation","id":"imp-obs"}',
      '{"resourceType":"Patient","id":"imp-2","birthDate":"1931-02-30"}',
      '{"resourceType":"Patient","id":"imp-3","name":[{"family":"Ŵyn"}]}',
      '{"resourceType":"Nonsense","id":"x"}',
    ].join('\n') + '\n');
    const r = importFiles(db, [file], ['--json']);
    assert.equal(r.status, 1, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.loaded, 2);
    assert.equal(summary.rejected, 5);
    assert.equal(summary.types.Patient, 2);
    for (const line of [2, 3, 5, 6, 8]) assert.match(r.stderr, new RegExp(`mixed\\.ndjson:${line}: `), `line ${line} reported`);
    assert.match(r.stderr, /mixed\.ndjson:5: .*Observation\.status/);
    assert.match(r.stderr, /mixed\.ndjson:6: .*birthDate/);
    assert.doesNotMatch(r.stderr, /mixed\.ndjson:(1|4|7): /);
  });

  it('reads gzip NDJSON and Bundles, and exits 0 when everything loaded', () => {
    const gz = path.join(dir, 'obs.ndjson.gz');
    const lines = [];
    for (let i = 0; i < 300; i++) {
      lines.push(JSON.stringify({ resourceType: 'Observation', id: `imp-o${i}`, status: 'final', code: { text: 'weight' },
        subject: { reference: 'Patient/imp-1' }, valueQuantity: { value: 70 + i / 10, unit: 'kg' } }));
    }
    fs.writeFileSync(gz, zlib.gzipSync(lines.join('\n')));
    const bundle = path.join(dir, 'bundle.json');
    fs.writeFileSync(bundle, JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [
      { resource: { resourceType: 'Practitioner', id: 'imp-gp', name: [{ family: 'Jones' }] } },
      { resource: { resourceType: 'Organization', name: 'Riverside Surgery' } },
    ] }));
    const r = importFiles(db, [gz, bundle], ['--json']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.loaded, 302);
    assert.equal(s.rejected, 0);
    assert.deepEqual(s.types, { Observation: 300, Practitioner: 1, Organization: 1 });
  });

  it('a missing file is exit status 3 with the file named', () => {
    const r = importFiles(db, [path.join(dir, 'nope.ndjson')]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /nope\.ndjson: cannot open/);
  });

  it('what was imported is served, searchable and versioned', async () => {
    const again = path.join(dir, 'again.ndjson');
    fs.writeFileSync(again, '{"resourceType":"Patient","id":"imp-1","gender":"male"}\n');
    assert.equal(importFiles(db, [again]).status, 0);
    const srv = await startServer({ dbPath: db });
    try {
      const p = await (await fetch(`${srv.base}/fhir/Patient/imp-1`)).json();
      assert.equal(p.gender, 'male');
      assert.equal(p.meta.versionId, '2');
      const b = await (await fetch(`${srv.base}/fhir/Observation?subject=Patient/imp-1&_summary=count`)).json();
      assert.equal(b.total, 300);
      const w = await (await fetch(`${srv.base}/fhir/Patient?family=wyn`)).json();
      assert.deepEqual(w.entry.map((e) => e.resource.id), ['imp-3']);
    } finally {
      await srv.stop();
    }
  });
});

/** psql on the test server's URL (db), returning its unaligned output. */
function psql(db, sql) {
  const r = spawnSync('psql', ['-X', '-q', '-At', db, '-c', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
}

describe('kith import on PostgreSQL when the database goes away', () => {
  const pg = process.env.KITH_TEST_STORE_URL;
  it('counts only what was committed; what is stored is whole; importing again finishes', {
    skip: !pg && 'needs PostgreSQL (make api-pg sets KITH_TEST_STORE_URL)',
  }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-import-lost-'));
    const db = newStore(dir);
    try {
      const file = path.join(dir, 'basics.ndjson');
      const N = 80000;
      const lines = [];
      for (let i = 0; i < N; i++)
        lines.push(`{"resourceType":"Basic","id":"lost-${i}","code":{"coding":[{"system":"urn:kith:test","code":"c${i % 7}"}]}}`);
      fs.writeFileSync(file, lines.join('\n') + '\n');
      const child = spawn(KITH, ['import', '--db', db, '--json', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { err += d; });
      const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      // once the first transaction (20,000) is committed, cut every connection of the import
      const schema = /search_path%3D([A-Za-z0-9_]+)/.exec(db)[1];
      let stored = 0;
      for (let t = 0; t < 600 && stored === 0; t++) {
        await new Promise((r) => setTimeout(r, 100));
        stored = Number(psql(db, `SELECT count(*) FROM ${schema}.resource`) || 0);
      }
      assert.ok(stored > 0, 'the import committed nothing within a minute');
      psql(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() " +
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND query NOT ILIKE '%pg_terminate_backend%'");
      const code = await exited;
      const summary = JSON.parse(out);
      const inStore = Number(psql(db, `SELECT count(*) FROM ${schema}.resource`));
      const unindexed = Number(psql(db, `SELECT count(*) FROM ${schema}.resource r WHERE NOT EXISTS ` +
        `(SELECT 1 FROM ${schema}.sp_token t WHERE t.rkey = r.rkey)`));
      if (code === 0) { // the import won the race: everything is stored
        assert.equal(summary.loaded, N);
      } else {
        assert.equal(code, 3, err);
        assert.match(err, /the current batch was rolled back/);
        assert.ok(summary.loaded < N);
      }
      assert.equal(summary.loaded, inStore, 'the summary counts what is stored');
      assert.equal(unindexed, 0, 'every stored resource has its index rows');
      assert.equal(summary.loaded % 20000, 0, 'whole transactions only');

      const again = spawnSync(KITH, ['import', '--db', db, '--json', file], { encoding: 'utf8' });
      assert.equal(again.status, 0, again.stderr);
      const s2 = JSON.parse(again.stdout);
      assert.equal(s2.unchanged, inStore);
      assert.equal(s2.loaded + s2.unchanged, N);
      assert.equal(Number(psql(db, `SELECT count(*) FROM ${schema}.resource`)), N);
    } finally {
      removeStore(db);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
