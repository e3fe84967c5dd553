// link.test.mjs — `kith link`, probabilistic record linkage, end to end.
//
// A small synthetic place is generated into a database (`kith synth --db`):
// its council's CLD rows without an NHS number become Patients of their own.
// `kith link` must join them to the right NHS Patients (checked against the
// ground truth synth writes beside the database), record each link as a
// Linkage and a Patient.link on the council's record (the NHS record is left
// alone), show both in the person's $everything, explain every link, and undo
// one for good. On CSV files (`--left/--right`) it must report bad lines as
// file:line: reason, and on `kith synth --identities` data reach the
// precision and recall the issue asks for.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, BIN } from './lib/server.mjs';

function kith(args) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readCsv(file) {
  const [head, ...rows] = fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length);
  const cols = head.split(',');
  return rows.map((line) => {
    const v = line.split(','); // synth's files quote nothing these tests read
    return Object.fromEntries(cols.map((c, i) => [c, v[i] ?? '']));
  });
}

const refId = (r) => r.reference.replace(/^Patient\//, '');

describe('kith link on the database', () => {
  let dir, db, truth, withoutNumber;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-link-'));
    db = path.join(dir, 'kith.db');
    const r = kith(['synth', '--people', '3000', '--seed', '5', '--db', db, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    // council Patient id -> the person's NHS Patient id, for the council's people without a number
    const la = readCsv(path.join(`${db}.synth`, 'cld.csv'));
    truth = new Map();
    const people = new Map(readCsv(path.join(`${db}.synth`, 'truth-people.csv'))
      .map((p) => [p.LA_Person_Unique_Identifier, p.Patient_Id]));
    withoutNumber = new Set();
    for (const row of la) {
      const id = `cld-${row.LA_Code}-${row.LA_Person_Unique_Identifier}`;
      truth.set(id, people.get(row.LA_Person_Unique_Identifier));
      if (!row.NHS_Number) withoutNumber.add(id);
    }
    assert.ok(withoutNumber.size >= 8, `the place has ${withoutNumber.size} council records without a number`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a dry run reports and writes nothing', () => {
    const r = kith(['link', '--db', db, '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /EM: \d+ iterations/);
    assert.match(r.stdout, /Would write \d+ links/);
    const review = kith(['link', 'review', '--db', db]);
    assert.match(review.stdout, /^0 pairs awaiting review$/m);
  });

  let linkages;
  it('links the council records to the right people, on both records', async () => {
    const r = kith(['link', '--db', db, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    const wrote = Number(r.stdout.match(/Wrote (\d+) links?/)[1]);
    const srv = await startServer({ dbPath: db });
    try {
      const res = await fetch(`${srv.base}/fhir/Linkage?_count=1000`);
      assert.equal(res.status, 200);
      linkages = ((await res.json()).entry ?? []).map((e) => e.resource);
      const linked = linkages.filter((l) => l.active);
      assert.equal(linked.length, wrote);
      let right = 0;
      for (const l of linked) {
        const nhs = refId(l.item.find((i) => i.type === 'source').resource);
        const council = refId(l.item.find((i) => i.type === 'alternate').resource);
        assert.ok(withoutNumber.has(council), `${council} is a council record without an NHS number`);
        if (truth.get(council) === nhs) right++;
        const c = await (await fetch(`${srv.base}/fhir/Patient/${council}`)).json();
        assert.ok((c.link ?? []).some((k) => k.type === 'seealso' && k.other.reference === `Patient/${nhs}`),
          `Patient/${council} links to Patient/${nhs}`);
        // the NHS record is left as it was: reading it tells nobody the council knows the person
        const n = await (await fetch(`${srv.base}/fhir/Patient/${nhs}`)).json();
        assert.equal(n.link, undefined);
        assert.equal(n.meta.versionId, '1');
      }
      // the person's record, asked for by the NHS record, holds the council's record and its events
      const l = linked[0];
      const nhs = refId(l.item.find((i) => i.type === 'source').resource);
      const council = refId(l.item.find((i) => i.type === 'alternate').resource);
      const every = await (await fetch(`${srv.base}/fhir/Patient/${nhs}/$everything?_count=1000`)).json();
      const ids = every.entry.map((e) => `${e.resource.resourceType}/${e.resource.id}`);
      assert.ok(ids.includes(`Patient/${council}`), 'the council record is in the person\'s record');
      assert.ok(every.entry.some((e) => e.resource.resourceType !== 'Patient'
        && JSON.stringify(e.resource).includes(`Patient/${council}`)), 'and the council\'s events');
      // every link is right; all but a few of the council's people are found
      assert.equal(right, linked.length, 'precision 1 on this place');
      assert.ok(right >= withoutNumber.size - 2, `recall: ${right} of ${withoutNumber.size}`);
    } finally {
      await srv.stop();
      srv.cleanup?.();
    }
  });

  it('explains a link: the prior and each field add up to the total', () => {
    const l = linkages.find((x) => x.active);
    const r = kith(['link', 'explain', l.id, '--db', db]);
    assert.equal(r.status, 0, r.stderr);
    const num = (label) => Number(r.stdout.match(new RegExp(`^  ${label}\\s+.*?(-?\\d+\\.\\d+)`, 'm'))[1]);
    const parts = ['prior', 'given', 'family', 'birth_date', 'sex', 'postcode'].map(num);
    const total = num('total');
    assert.ok(Math.abs(parts.reduce((a, b) => a + b, 0) - total) < 0.01, r.stdout);
    assert.match(r.stdout, /probability 0\.99\d*|probability 1\.0/);
  });

  it('undo needs a reason, unlinks both records, is audited and is never proposed again', async () => {
    const l = linkages.find((x) => x.active);
    const nhs = refId(l.item[0].resource);
    const council = refId(l.item[1].resource);
    const bare = kith(['link', 'undo', l.id, '--db', db]);
    assert.equal(bare.status, 2);
    assert.match(bare.stderr, /needs --reason/);
    const r = kith(['link', 'undo', l.id, '--db', db, '--reason', 'not the same person: checked with the family']);
    assert.equal(r.status, 0, r.stderr);
    const again = kith(['link', 'undo', l.id, '--db', db, '--reason', 'twice']);
    assert.equal(again.status, 1, 'a rejected pair cannot be undone again');
    const audit = kith(['audit', 'report', nhs, '--db', db]);
    assert.match(audit.stdout, /operator:.* C 0/);
    assert.match(audit.stdout, /operator:.* U 0/);
    const rerun = kith(['link', '--db', db, '--quiet']);
    assert.equal(rerun.status, 0, rerun.stderr);
    assert.match(rerun.stdout, /Wrote 0 links/);
    const srv = await startServer({ dbPath: db });
    try {
      const got = await (await fetch(`${srv.base}/fhir/Linkage/${l.id}`)).json();
      assert.equal(got.active, false);
      for (const id of [nhs, council]) {
        const p = await (await fetch(`${srv.base}/fhir/Patient/${id}`)).json();
        assert.ok(!(p.link ?? []).some((k) => k.other.reference === `Patient/${id === nhs ? council : nhs}`));
      }
      const all = await (await fetch(`${srv.base}/fhir/Linkage?_count=1000`)).json();
      assert.equal(all.entry.length, linkages.length, 'no Linkage was added for the undone pair');
    } finally {
      await srv.stop();
      srv.cleanup?.();
    }
  });
});

describe('kith link on CSV files', () => {
  let dir;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-link-csv-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reports a broken line as file:line: reason and a file without ids as unusable', () => {
    const left = path.join(dir, 'left.csv');
    const right = path.join(dir, 'right.csv');
    fs.writeFileSync(left, 'id,given,family,birth_date,sex,postcode\np1,Ada,Lovelace,1938-04-02,female,LS1 4AP\n'
      + 'p2,Charles,Babbage,1931-12-26,male,LS2 7UE\n');
    fs.writeFileSync(right, 'id,given,family,birth_date,sex,postcode\nc1,Ada,Lovelace,1938-04-02,female,LS1 4AP\n'
      + 'c2,"Bob"x,Smith,1940-01-01,male,\n,Nobody,Atall,1950-01-01,,\n');
    const r = kith(['link', '--left', left, '--right', right, '--quiet']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /right\.csv:3: .*quote/);
    assert.match(r.stderr, /right\.csv:4: a record has no id/);
    assert.match(r.stdout, /^c1,p1,/m);
    fs.writeFileSync(path.join(dir, 'noid.csv'), 'name,dob\nAda,1938-04-02\n');
    const bad = kith(['link', '--left', path.join(dir, 'noid.csv'), '--right', right]);
    assert.equal(bad.status, 3);
    assert.match(bad.stderr, /noid\.csv:1: no id column/);
    const usage = kith(['link', '--left', left]);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--left and --right go together/);
    const th = kith(['link', '--threshold', '1.5']);
    assert.equal(th.status, 2);
  });

  it('on kith synth --identities data: precision >= 0.99 and recall >= 0.97, the same with one thread or two', () => {
    const out = path.join(dir, 'ident');
    const g = kith(['synth', '--identities', '20000', '--seed', '3', '--out', out]);
    assert.equal(g.status, 0, g.stderr);
    const truth = new Map(readCsv(path.join(out, 'truth-identities.csv')).map((t) => [t.council_id, t.patient_id]));
    const runs = [1, 2].map((threads) => {
      const file = path.join(dir, `links-${threads}.csv`);
      const r = kith(['link', '--left', path.join(out, 'people.csv'), '--right', path.join(out, 'council.csv'),
        '--out', file, '--threads', String(threads)]);
      assert.equal(r.status, 0, r.stderr);
      return fs.readFileSync(file, 'utf8');
    });
    assert.equal(runs[0], runs[1]);
    const links = readCsv(path.join(dir, 'links-1.csv')).filter((l) => l.decision === 'link');
    const members = [...truth.values()].filter((p) => p).length;
    const tp = links.filter((l) => truth.get(l.right_id) === l.left_id).length;
    const precision = tp / links.length;
    const recall = tp / members;
    assert.ok(precision >= 0.99, `precision ${precision}`);
    assert.ok(recall >= 0.97, `recall ${recall}`);
  });
});
