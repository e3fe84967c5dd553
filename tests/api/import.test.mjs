// import.test.mjs — `kith import`: NDJSON, gzip, Bundle and plain JSON files;
// each bad line reported as file:line with a reason while the rest load;
// exit status 1 when anything was rejected, 0 when all loaded, 3 for a
// missing file; --json summary counts; what loaded is readable through the API.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer } from './lib/server.mjs';

const KITH = process.env.KITH_BIN || path.resolve('bin/kith');

function importFiles(db, files, extra = []) {
  const r = spawnSync(KITH, ['import', '--db', db, ...extra, ...files], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kith import', () => {
  let dir, db;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-import-'));
    db = path.join(dir, 'kith.db');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

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
