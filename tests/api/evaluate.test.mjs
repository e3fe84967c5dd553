// evaluate.test.mjs — `kith evaluate`: the matched difference-in-differences
// evaluation of the MDT programme on synthetic places.
//
// Two places of the same seed are generated as NDJSON: one where an MDT
// discussion lowers a person's emergency admission hazard by half, and one
// where it does nothing. Before a person's discussion nothing depends on the
// effect, and people never discussed have the same records in both, so the
// evaluation picks the same people and the same comparators in both: the
// treated people's admissions after, with against without the effect, are
// the realised truth. The interval of the place with the effect must hold it
// and exclude no change; the interval of the place without must hold zero.
// Counts of who was reached are checked against the generator's
// truth-people.csv, the files of --out are checked, a database gives the same
// study as the files and leaves out a person with the national data opt-out,
// and bad command lines and places with nobody reached are refused clearly.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './lib/server.mjs';

const kith = (args) => spawnSync(BIN, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const PEOPLE = '20000';
const FROM = '2023-04-01', TO = '2026-03-31';
let dir;

function place(name, effect, extra = []) {
  const out = path.join(dir, name);
  const r = kith(['synth', '--people', PEOPLE, '--seed', '11', '--programme-effect', effect, '--out', out, '--quiet', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return out;
}

function evaluate(args) {
  const r = kith(['evaluate', '--from', FROM, '--to', TO, '--json', '--quiet', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const admissions = (j) => j.outcomes.find((o) => o.outcome === 'emergency-admissions');

let withEffect, without, eff, nul;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-evaluate-'));
  withEffect = place('effect', '0.5');
  without = place('null', '0');
  eff = evaluate(['--ndjson', withEffect]);
  nul = evaluate(['--ndjson', without]);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('kith evaluate on synthetic places', () => {
  it('counts the people discussed as the generator does', () => {
    const lines = fs.readFileSync(path.join(withEffect, 'truth-people.csv'), 'utf8').trim().split('\n');
    const cols = lines.shift().split(',');
    const mdt = cols.indexOf('MDT_Discussed');
    const days = lines.map((l) => l.split(',')[mdt]).filter(Boolean).map((d) => Date.parse(d) / 864e5);
    const from = Date.parse(FROM) / 864e5, to = Date.parse(TO) / 864e5 + 1;
    const inside = days.filter((d) => d - 365 >= from && d + 365 <= to).length;
    assert.equal(eff.reached, days.length);
    assert.equal(eff.treated, inside);
    assert.equal(eff.outside, days.length - inside);
    assert.ok(eff.matched >= 8 && eff.matched <= eff.treated);
    assert.equal(eff.reported, true);
  });

  it('picks the same pairs in both places: only the outcomes after differ', () => {
    const a = admissions(eff), b = admissions(nul);
    assert.equal(eff.matched, nul.matched);
    assert.equal(a.beforeTreated, b.beforeTreated);
    assert.equal(a.beforeControl, b.beforeControl);
    assert.equal(a.afterControl, b.afterControl);
    assert.ok(a.afterTreated < b.afterTreated, 'fewer admissions with the effect');
  });

  it('holds the realised effect and excludes no change where there is one', () => {
    const a = admissions(eff), truth = a.afterTreated / admissions(nul).afterTreated - 1;
    assert.ok(a.relative.lo <= truth && truth <= a.relative.hi, `${truth} in ${a.relative.lo}..${a.relative.hi}`);
    assert.ok(a.relative.hi < 0, `interval ${a.relative.lo}..${a.relative.hi} excludes 0`);
    assert.ok(a.effect.hi < 0);
  });

  it('holds zero where there is no effect', () => {
    const b = admissions(nul);
    assert.ok(b.relative.lo <= 0 && 0 <= b.relative.hi, `0 in ${b.relative.lo}..${b.relative.hi}`);
  });

  it('balances the characteristics it matched on', () => {
    const worst = (when) => Math.max(...eff.balance.map((c) => Math.abs(c[when].smd)));
    assert.ok(worst('after') < worst('before') / 3, `largest SMD ${worst('before')} before, ${worst('after')} after`);
    // exact on frailty category and admissions in the year before: those are balanced
    for (const k of ['efi', 'prior-admissions', 'recent-discharge', 'years-since-admission']) {
      const c = eff.balance.find((x) => x.covariate === k);
      assert.ok(Math.abs(c.after.smd) < 0.1, `${k}: ${c.after.smd}`);
    }
    const prior = eff.balance.find((c) => c.covariate === 'prior-admissions');
    assert.ok(Math.abs(prior.before.smd) > 0.5, 'before matching the groups differ');
  });

  it('is the same for the same seed and changes the interval for another', () => {
    const again = evaluate(['--ndjson', withEffect]);
    assert.deepEqual(again, eff);
    const other = evaluate(['--ndjson', withEffect, '--seed', '2']);
    assert.notEqual(admissions(other).effect.lo, admissions(eff).effect.lo);
  });

  it('writes the report, tables and chart with --out', () => {
    const out = path.join(dir, 'report');
    const r = kith(['evaluate', '--ndjson', withEffect, '--from', FROM, '--to', TO, '--out', out, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /What changed/);
    assert.match(r.stdout, /What this cannot tell you/);
    const html = fs.readFileSync(path.join(out, 'evaluation.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.doesNotMatch(html, /<script|<link|src=/, 'self-contained');
    const effects = fs.readFileSync(path.join(out, 'effects.csv'), 'utf8').trim().split('\n');
    assert.equal(effects.length, 3);
    const row = effects[1].split(',');
    assert.equal(row[0], 'emergency-admissions');
    assert.equal(Number(row[1]), eff.matched);
    const balance = fs.readFileSync(path.join(out, 'balance.csv'), 'utf8').trim().split('\n');
    assert.equal(balance.length, 1 + eff.balance.length);
    const events = fs.readFileSync(path.join(out, 'event-study.csv'), 'utf8').trim().split('\n');
    assert.equal(events.length, 1 + 8);
    assert.match(fs.readFileSync(path.join(out, 'event-study.svg'), 'utf8'), /^<svg/);
    assert.equal(fs.readFileSync(path.join(out, 'summary.txt'), 'utf8'), r.stdout);
  });
});

describe('kith evaluate on a database', () => {
  let db, small;
  before(() => {
    small = path.join(dir, 'small');
    const r = kith(['synth', '--people', '4000', '--seed', '5', '--out', small, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    db = path.join(dir, 'small.db');
    const files = ['Patient', 'Encounter', 'Condition', 'MedicationRequest'].map((t) => path.join(small, `${t}.ndjson`));
    const imp = kith(['import', '--db', db, ...files]);
    assert.equal(imp.status, 0, imp.stderr);
  });

  it('finds the same people as the files', () => {
    const a = evaluate(['--db', db]), b = evaluate(['--ndjson', small]);
    for (const k of ['reached', 'treated', 'outside', 'controlPeople']) assert.equal(a[k], b[k], k);
  });

  it('leaves out a person with the national data opt-out', () => {
    const before = evaluate(['--db', db]);
    const lines = fs.readFileSync(path.join(small, 'truth-people.csv'), 'utf8').trim().split('\n');
    const cols = lines.shift().split(',');
    const who = lines.map((l) => l.split(',')).find((r) => r[cols.indexOf('MDT_Discussed')])[0];
    const consent = path.join(dir, 'consent.json');
    fs.writeFileSync(consent, JSON.stringify({
      resourceType: 'Consent', id: 'ev-opt-out', status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }] },
      category: [{ coding: [{ system: 'https://kith.example.org/fhir/CodeSystem/consent-category', code: 'national-data-opt-out' }] }],
      patient: { reference: `Patient/${who}` }, provision: { type: 'deny' },
    }));
    const imp = kith(['import', '--db', db, consent]);
    assert.equal(imp.status, 0, imp.stderr);
    const after = evaluate(['--db', db]);
    assert.equal(after.reached, before.reached - 1);
  });
});

describe('kith evaluate refuses what it cannot do', () => {
  it('says why for a bad command line', () => {
    for (const [args, msg] of [
      [['--window', '5'], /--window must be 28 to 3660 days: 5/],
      [['--service', 'falls'], /unknown service \(known: mdt\): falls/],
      [['--from', '2024-13-01'], /--from must be a date/],
      [['--from', '2025-01-01', '--to', '2024-01-01'], /--to must not be before --from/],
      [['--bootstrap', 'lots'], /--bootstrap must be 10 to 100000: lots/],
      [['--db', 'a.db', '--ndjson', 'x'], /not both/],
    ]) {
      const r = kith(['evaluate', ...args]);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, msg);
    }
  });

  it('refuses a database that is not there rather than making an empty one', () => {
    const db = path.join(dir, 'mistyped.db');
    const r = kith(['evaluate', '--db', db, '--quiet']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /no database at .*mistyped\.db/);
    assert.ok(!fs.existsSync(db));
  });

  it('names a directory it cannot read', () => {
    const r = kith(['evaluate', '--ndjson', path.join(dir, 'nowhere'), '--quiet']);
    assert.equal(r.status, 0 + 3, r.stderr);
    assert.match(r.stderr, /nowhere/);
  });

  it('says so when nobody was reached', () => {
    const out = path.join(dir, 'none');
    const r = kith(['synth', '--people', '2000', '--seed', '3', '--programme-start', '2030-01-01', '--out', out, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    const e = kith(['evaluate', '--ndjson', out, '--quiet']);
    assert.equal(e.status, 1);
    assert.match(e.stderr, /nobody in the records was reached by the service/);
  });
});
