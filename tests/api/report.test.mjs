// report.test.mjs — `kith report`: the integration indicators as an HTML
// report and CSV files, run on a small synthetic place (`kith synth --out`,
// NDJSON, and `kith synth --db`).
//
// The files must exist and the page must be self-contained (no scripts, no
// external links or images). No count of 1 to 7 may appear unsuppressed in
// either CSV. The numbers must agree with counts made here, independently,
// from the NDJSON files: emergency admissions and A&E attendances by month
// for the place and by neighbourhood (practice -> partOf), with people who
// registered the national data opt-out (a Consent written here) left out.
// On a database the store hides those people itself, and the database's
// export read as NDJSON must give the same CSV files byte for byte; its
// social care requests (from the CLD import) are counted here too. Bad
// input gets a message naming the file and the exit status of the other
// commands.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './lib/server.mjs';

const kith = (args) => spawnSync(BIN, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
const CAT = 'https://kith.example.org/fhir/CodeSystem/consent-category';

const ndjson = (file) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));

// indicators.csv rows as objects (names quoted, with no commas or quotes inside in this place)
function readCsv(file) {
  const [head, ...rows] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return rows.map((l) => {
    const cells = l.match(/("[^"]*"|[^,]*)(,|$)/g).map((c) => c.replace(/,$/, '').replace(/^"|"$/g, ''));
    return Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
  });
}

const optOut = (id, patient) => ({
  resourceType: 'Consent', id, status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }] },
  category: [{ coding: [{ system: CAT, code: 'national-data-opt-out' }] }],
  patient: { reference: `Patient/${patient}` }, provision: { type: 'deny' },
});

// Independent counts from the files: month -> { place, [neighbourhood id]: n } for one encounter type.
function countByMonth(place, type, excluded) {
  const orgs = new Map(ndjson(path.join(place, 'Organization.ndjson')).map((o) => [o.id, o]));
  const nbh = new Map();
  for (const p of ndjson(path.join(place, 'Patient.ndjson'))) {
    const gp = p.generalPractitioner?.[0]?.reference?.split('/')[1];
    nbh.set(p.id, orgs.get(gp)?.partOf?.reference?.split('/')[1]);
  }
  const out = new Map();
  for (const e of ndjson(path.join(place, 'Encounter.ndjson'))) {
    if (!e.type?.[0]?.coding?.some((c) => c.code === type)) continue;
    const who = e.subject.reference.split('/')[1];
    if (excluded.has(who) || !nbh.has(who)) continue;
    const month = e.period.start.slice(0, 7);
    if (!out.has(month)) out.set(month, { place: 0 });
    const m = out.get(month);
    m.place++;
    const n = nbh.get(who);
    if (n) m[n] = (m[n] ?? 0) + 1;
  }
  return out;
}

function assertNoSmallCounts(dir) {
  for (const r of readCsv(path.join(dir, 'indicators.csv'))) {
    // numerators are counts (of admissions, attendances, discharges, days); so are the
    // denominators of the two proportions (discharges); the others are person-years
    const counts = ['readmissions_30d', 'at_home_91_days'].includes(r.indicator) ? ['numerator', 'denominator'] : ['numerator'];
    for (const col of counts) {
      if (r[col] === '*') continue;
      const v = Number(r[col]);
      assert.ok(v === 0 || v >= 8, `${r.indicator} ${r.level} ${r.unit} ${r.month} ${col} ${v}`);
    }
    if (r.suppressed === '1') assert.equal(r.value, '', `a suppressed row has a value: ${JSON.stringify(r)}`);
  }
  for (const r of readCsv(path.join(dir, 'delay_reasons.csv'))) {
    if (r.stays === '*') continue;
    const v = Number(r.stays);
    assert.ok(v === 0 || v >= 8, `delay reasons ${r.level} ${r.unit} ${r.period} ${r.reason}: ${v} stays`);
  }
  for (const r of readCsv(path.join(dir, 'social_care_requests.csv'))) {
    if (r.requests === '*') assert.equal(r.share_of_requests, '');
    else assert.ok(Number(r.requests) === 0 || Number(r.requests) >= 8, `requests ${r.unit} ${r.period} ${r.outcome}`);
  }
  for (const r of readCsv(path.join(dir, 'tasks.csv')))
    for (const col of ['open', 'without_owner', 'with_due_date', 'overdue'])
      assert.ok(r[col] === '*' || Number(r[col]) === 0 || Number(r[col]) >= 8, `tasks ${r.unit} ${col}`);
}

let tmp, place;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-report-'));
  place = path.join(tmp, 'place');
  const r = kith(['synth', '--people', '6000', '--seed', '7', '--out', place, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('kith report', () => {
  it('--help says what it does, and bad command lines exit 2', () => {
    const h = kith(['report', '--help']);
    assert.equal(h.status, 0);
    for (const word of ['--out', '--ndjson', '--db', '--from', '--to', 'indicators.csv', 'index.html', 'opt-out'])
      assert.ok(h.stdout.includes(word), word);
    assert.equal(kith(['report', '--ndjson', place]).status, 2); // no --out
    const bad = kith(['report', '--ndjson', place, '--out', path.join(tmp, 'x'), '--from', '2024-13']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--from must be a month YYYY-MM: 2024-13/);
    assert.equal(kith(['report', '--ndjson', place, '--db', 'x.db', '--out', tmp]).status, 2);
  });

  it('a missing input directory or an unwritable output is named, exit 3', () => {
    const missing = path.join(tmp, 'no-such-place');
    const r = kith(['report', '--ndjson', missing, '--out', path.join(tmp, 'out-missing')]);
    assert.equal(r.status, 3);
    assert.ok(r.stderr.includes(missing), r.stderr);
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    const w = kith(['report', '--ndjson', place, '--out', file]);
    assert.equal(w.status, 3);
    assert.ok(w.stderr.includes(file), w.stderr);
  });

  it('writes a self-contained page and CSV files whose counts agree with the records', () => {
    const out = path.join(tmp, 'out');
    const r = kith(['report', '--ndjson', place, '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.people, 6000);
    assert.equal(summary.from, '2023-04');
    assert.equal(summary.to, '2026-03');
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    // the place's admissions and attendances are never small: badge, XmR chart and funnel plot inline
    for (const id of ['emergency_admissions_dsr', 'ae_attendances']) {
      const section = html.split(`<section id="${id}">`)[1].split('</section>')[0];
      assert.equal((section.match(/<svg/g) ?? []).length, 3, id);
    }
    // a series with suppressed months gets no chart, and says so
    assert.match(html, /No chart: \d+ months? of the place's series (is|are) suppressed/);
    assert.doesNotMatch(html, /<script|<link|<img|src=|url\(|href="http/i);
    for (const title of ['Emergency admissions, age-standardised', 'Emergency bed days', 'within 30 days',
      'A&amp;E attendances', 'Delayed discharge days', 'Days at home', '91 days', 'Indicators not computed yet'])
      assert.ok(html.includes(title), title);
    assertNoSmallCounts(out);
    // the synthetic place has no Tasks: the snapshot is there, empty, and the page says so
    assert.match(fs.readFileSync(path.join(out, 'tasks.csv'), 'utf8'), /^level,unit,unit_name,count_date,open,without_owner,/);
    assert.match(html, /No open Tasks in the records/);

    const rows = readCsv(path.join(out, 'indicators.csv'));
    const truth = countByMonth(place, 'emergency-admission', new Set());
    let placeChecked = 0, nbhChecked = 0;
    for (const row of rows.filter((x) => x.indicator === 'emergency_admissions_dsr')) {
      const want = truth.get(row.month) ?? { place: 0 };
      if (row.level === 'place') {
        assert.equal(Number(row.numerator), want.place, `place ${row.month}`);
        placeChecked++;
      } else if (row.level === 'neighbourhood' && row.numerator !== '*') {
        assert.equal(Number(row.numerator), want[row.unit] ?? 0, `${row.unit} ${row.month}`);
        nbhChecked++;
      }
    }
    assert.equal(placeChecked, 36);
    assert.ok(nbhChecked >= 30, `${nbhChecked} neighbourhood-months compared`);
    const ae = countByMonth(place, 'ae-attendance', new Set());
    for (const row of rows.filter((x) => x.indicator === 'ae_attendances' && x.level === 'place'))
      assert.equal(Number(row.numerator), ae.get(row.month)?.place ?? 0, `A&E ${row.month}`);
  });

  it('leaves out people who registered the national data opt-out', () => {
    const optPlace = path.join(tmp, 'opted');
    fs.mkdirSync(optPlace);
    for (const f of ['Patient', 'Organization', 'Encounter'])
      fs.copyFileSync(path.join(place, `${f}.ndjson`), path.join(optPlace, `${f}.ndjson`));
    // the 40 people with the most emergency admissions opt out
    const n = new Map();
    for (const e of ndjson(path.join(place, 'Encounter.ndjson')))
      if (e.type?.[0]?.coding?.some((c) => c.code === 'emergency-admission')) {
        const who = e.subject.reference.split('/')[1];
        n.set(who, (n.get(who) ?? 0) + 1);
      }
    const out40 = [...n.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([id]) => id);
    fs.writeFileSync(path.join(optPlace, 'Consent.ndjson'),
      out40.map((id, i) => JSON.stringify(optOut(`oo-${i}`, id))).join('\n') + '\n');
    const out = path.join(tmp, 'out-opted');
    const r = kith(['report', '--ndjson', optPlace, '--out', out, '--json', '--threads', '1']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.optedOut, 40);
    assert.equal(summary.people, 6000 - 40);
    const truth = countByMonth(place, 'emergency-admission', new Set(out40));
    const rows = readCsv(path.join(out, 'indicators.csv'))
      .filter((x) => x.indicator === 'emergency_admissions_dsr' && x.level === 'place');
    const everyone = countByMonth(place, 'emergency-admission', new Set());
    let differs = 0;
    for (const row of rows) {
      assert.equal(Number(row.numerator), truth.get(row.month)?.place ?? 0, row.month);
      if (Number(row.numerator) !== (everyone.get(row.month)?.place ?? 0)) differs++;
    }
    assert.ok(differs > 0, 'the opt-outs changed some months');
    assertNoSmallCounts(out);
  });

  it('--from and --to choose the months', () => {
    const out = path.join(tmp, 'out-period');
    const r = kith(['report', '--ndjson', place, '--out', out, '--from', '2024-01', '--to', '2024-06', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    const months = new Set(readCsv(path.join(out, 'indicators.csv')).map((x) => x.month));
    assert.deepEqual([...months].sort(), ['2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06']);
  });

  it('on a database, the store leaves out the opted-out people', () => {
    const db = path.join(tmp, 'kith.db');
    const s = kith(['synth', '--people', '800', '--seed', '3', '--db', db, '--quiet']);
    assert.equal(s.status, 0, s.stderr);
    const fr = kith(['frailty', '--db', db, '--quiet']); // the frailty pyramid counts these
    assert.equal(fr.status, 0, fr.stderr);
    const first = kith(['report', '--db', db, '--out', path.join(tmp, 'out-db0'), '--json']);
    assert.equal(first.status, 0, first.stderr);
    const all = JSON.parse(first.stdout).people;
    assert.ok(all >= 800, `${all} people`);
    const consents = path.join(tmp, 'Consent.ndjson');
    fs.writeFileSync(consents, ['pat-1', 'pat-2', 'pat-3'].map((p, i) => JSON.stringify(optOut(`db-oo-${i}`, p))).join('\n') + '\n');
    const imp = kith(['import', '--db', db, consents]);
    assert.equal(imp.status, 0, imp.stderr + imp.stdout);
    const out = path.join(tmp, 'out-db');
    const r = kith(['report', '--db', db, '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.people, all - 3);
    assert.ok(fs.existsSync(path.join(out, 'index.html')));
    assertNoSmallCounts(out);

    // the database exported as NDJSON gives the same figures (the opt-outs then come from Consent.ndjson)
    const exported = path.join(tmp, 'exported');
    const e = kith(['export', '--db', db, '--out', exported, '--quiet']);
    assert.equal(e.status, 0, e.stderr);
    const outFiles = path.join(tmp, 'out-exported');
    const f = kith(['report', '--ndjson', exported, '--out', outFiles, '--json']);
    assert.equal(f.status, 0, f.stderr);
    assert.equal(JSON.parse(f.stdout).optedOut, 3);
    for (const file of ['indicators.csv', 'delay_reasons.csv', 'social_care_requests.csv', 'risk_pyramid.csv'])
      assert.equal(fs.readFileSync(path.join(outFiles, file), 'utf8'), fs.readFileSync(path.join(out, file), 'utf8'), file);

    // social care requests: the CLD import's ServiceRequests completed in the period, counted here
    const optedOut = new Set(['pat-1', 'pat-2', 'pat-3']);
    const requests = ndjson(path.join(exported, 'ServiceRequest.ndjson')).filter((q) =>
      q.category?.some((c) => c.text === 'Request for adult social care support') &&
      !optedOut.has(q.subject.reference.split('/')[1]) &&
      q.occurrencePeriod?.end && q.occurrencePeriod.end.slice(0, 7) >= summary.from && q.occurrencePeriod.end.slice(0, 7) <= summary.to);
    assert.ok(requests.length > 0, 'the place has social care requests');
    assert.equal(summary.socialCareRequests, requests.length);

    // the frailty pyramid: living people's stored eFI categories, counted here from the export
    const dead = new Set(ndjson(path.join(exported, 'Patient.ndjson')).filter((p) => p.deceasedDateTime).map((p) => p.id));
    const levels = {};
    for (const ra of ndjson(path.join(exported, 'RiskAssessment.ndjson'))) {
      const who = ra.subject.reference.split('/')[1];
      if (!ra.id.startsWith('efi-') || optedOut.has(who) || dead.has(who)) continue;
      const level = ra.prediction[0].qualitativeRisk.coding[0].code;
      levels[level] = (levels[level] ?? 0) + 1;
    }
    const pyramid = fs.readFileSync(path.join(out, 'risk_pyramid.csv'), 'utf8').trim().split('\n');
    assert.equal(pyramid[0], 'assessment,level,unit,unit_name,segment,people,suppressed');
    let shown = 0;
    for (const level of ['fit', 'mild', 'moderate', 'severe']) {
      const row = pyramid.find((l) => l.startsWith(`frailty,place,"place","The place",${level},`)).split(',');
      if (row[6] === '1') {
        assert.equal(row[5], '', `a hidden count (${level}) is not written`);
        continue;
      }
      assert.equal(Number(row[5]), levels[level] ?? 0, level);
      shown++;
    }
    assert.ok(shown >= 2, `${shown} levels shown for the place`);
    assert.match(fs.readFileSync(path.join(out, 'index.html'), 'utf8'), /<section id="risk-pyramids">[\s\S]*<svg/);
  });
});
