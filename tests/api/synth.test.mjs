// synth.test.mjs — `kith synth`: the synthetic place. One population of a
// few thousand people is generated in `before` (files, then the same seed into
// a database, then the files imported into a second database with their CLD
// extract) and every test reads what that produced. The checks compute their
// answers from the NDJSON and CSV files themselves: the same seed gives the
// same bytes; every resource validates and every reference resolves; NHS
// numbers are unique, valid and from the 999 test range; the CLD extract maps
// one row to one resource linked to the right person; emergency admission
// rates, length of stay and eFI categories sit in bands around published
// English figures; the MDT programme follows its case-finding rule; nothing
// happens to anyone after their death; the service directory is complete;
// bad command lines exit 2 and write nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './lib/server.mjs';

const KITH = process.env.KITH_BIN || path.resolve('bin/kith');
const PEOPLE = 3000;
const SEED = 1; // the generator's default
const START = '2023-04-01'; // the generator's defaults
const END = '2026-04-01'; // START + 3 years
const PROGRAMME_START = '2024-04-01';
const NHS_SYS = 'https://fhir.nhs.uk/Id/nhs-number';
const ENC_TYPE_SYS = 'https://kith.example.org/fhir/CodeSystem/encounter-type';
const STAFF_ROLE_SYS = 'https://kith.example.org/fhir/CodeSystem/staff-role';
const CLD_EVENT_SYS = 'https://kith.example.org/fhir/Id/cld-event/';
const TYPES = ['Organization', 'Location', 'Practitioner', 'PractitionerRole', 'HealthcareService', 'Patient',
  'Condition', 'MedicationRequest', 'Observation', 'Encounter'];
const OUTPUTS = [...TYPES.map((t) => `${t}.ndjson`), 'cld.csv', 'truth-people.csv', 'truth-cld.csv', 'ground-truth.json'];

// Emergency admissions per 1,000 population per year in England, by age band:
// NHS Digital, Hospital Admitted Patient Care Activity 2022-23 (admission
// method emergency, finished admission episodes, over ONS mid-2022 population
// estimates), rounded. The synthetic place must sit within ±40% of each.
const ENGLAND_EMERGENCY_PER_1000 = { all: 105, '65-74': 160, '75-84': 290, '85+': 520 };
const RATE_TOLERANCE = 0.4;
// Share of people aged 65+ in each electronic Frailty Index category: Clegg A
// et al., "Development and validation of an electronic frailty index using
// routine primary care electronic health record data", Age and Ageing 2016;
// 45(3):353-360 (50% fit, 35% mild, 12% moderate, 3% severe), as bands.
const EFI_CATEGORY_BANDS = { fit: [40, 62], mild: [25, 45], moderate: [6, 20], severe: [1, 9] };
const EFI_DEFICITS = 36; // 35 coded conditions + polypharmacy
const STAFF_ROLES = ['gp', 'practice-nurse', 'district-nurse', 'community-matron', 'physiotherapist',
  'occupational-therapist', 'social-worker', 'care-coordinator', 'discharge-coordinator', 'link-worker', 'team-lead'];
// A refusal is immediate; one that starts generating a million people is killed.
const REFUSE_TIMEOUT_MS = 20000;
const CLD_RESOURCE = { Request: 'ServiceRequest', Assessment: 'Encounter', Review: 'Encounter', Service: 'EpisodeOfCare' };

function kith(args, env = process.env, timeout = undefined) {
  const r = spawnSync(KITH, args, { encoding: 'utf8', env, maxBuffer: 64 << 20, timeout, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** kith(), without blocking: the long runs in `before` share the two cores. */
function kithAsync(args, env = process.env) {
  return new Promise((resolve) => {
    const p = spawn(KITH, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    p.on('error', (err) => resolve({ status: null, stdout, stderr: `${stderr}spawn failed: ${err.message}` }));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function envWithoutDb() {
  const env = { ...process.env };
  delete env.KITH_DB;
  return env;
}

function synth(args) {
  return kithAsync(['synth', '--people', String(PEOPLE), '--quiet', ...args], envWithoutDb());
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function readNdjson(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

/** RFC 4180: fields split on commas, double quotes around fields that hold commas, quotes or line breaks. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field.length > 0 || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

/** A CSV file as objects keyed by the header's column names. */
function readCsv(file) {
  const [header, ...rows] = parseCsv(fs.readFileSync(file, 'utf8'));
  return rows.map((r) => {
    assert.equal(r.length, header.length, `${path.basename(file)}: a row with ${r.length} fields, not ${header.length}`);
    return Object.fromEntries(header.map((h, i) => [h, r[i]]));
  });
}

/** Days since 1970-01-01 for the date at the start of a FHIR date or dateTime. */
function dayOf(s) {
  return Date.UTC(Number(s.slice(0, 4)), Number(s.slice(5, 7)) - 1, Number(s.slice(8, 10))) / 86400000;
}

/** Age in whole years on date (both YYYY-MM-DD...). */
function ageOn(birth, date) {
  let age = Number(date.slice(0, 4)) - Number(birth.slice(0, 4));
  if (date.slice(5, 10) < birth.slice(5, 10)) age--;
  return age;
}

/** The day someone born on birth turns years old (29 February births: 1 March). */
function birthdayDay(birth, years) {
  return Date.UTC(Number(birth.slice(0, 4)) + years, Number(birth.slice(5, 7)) - 1, Number(birth.slice(8, 10))) / 86400000;
}

function bandOf(age) {
  return age >= 85 ? '85+' : age >= 75 ? '75-84' : age >= 65 ? '65-74' : null;
}

/** The modulus 11 check digit of nine digits, or -1 when it works out as 10. */
function nhsCheckDigit(nine) {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(nine[i]) * (10 - i);
  const check = 11 - (sum % 11);
  return check === 11 ? 0 : check === 10 ? -1 : check;
}

/** How many NHS numbers the 999 test range (999 000 0000 to 999 999 9999) holds that can be issued: a valid
 * check digit, and not ten identical digits (9999999999 is a placeholder for "not known", which Kith refuses). */
function validTestRangeNumbers() {
  let valid = 0;
  for (let b = 999000000; b <= 999999999; b++) {
    const check = nhsCheckDigit(String(b));
    if (check >= 0 && !/^(\d)\1{9}$/.test(`${b}${check}`)) valid++;
  }
  return valid;
}

/** Every { reference: '...' } anywhere inside value. */
function collectReferences(value, out) {
  if (Array.isArray(value)) {
    for (const v of value) collectReferences(v, out);
  } else if (value && typeof value === 'object') {
    if (typeof value.reference === 'string') out.push(value.reference);
    for (const v of Object.values(value)) collectReferences(v, out);
  }
  return out;
}

function encounterType(e) {
  return e.type?.flatMap((t) => t.coding ?? []).find((c) => c.system === ENC_TYPE_SYS)?.code;
}

function patientId(ref) {
  return ref?.startsWith('Patient/') ? ref.slice('Patient/'.length) : undefined;
}

describe('kith synth', () => {
  let dir;
  const out = {}; // name -> directory
  const run = {}; // name -> { status, stdout, stderr }
  let res; // resource type -> resources (from out.a)
  let people; // truth-people.csv rows
  let patients; // id -> Patient
  let efiAtStart; // patient id -> eFI computed from the records
  let fhirDb, fhirImport, cldImport, cldReimport, cldExported, synthDbCldReimport;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-synth-'));
    for (const name of ['a', 'b', 'c', 'd']) out[name] = path.join(dir, name);
    run.a = await synth(['--seed', String(SEED), '--out', out.a]);
    assert.equal(run.a.status, 0, `synth a: ${run.a.stderr}`);
    // the files into a fresh database as plain FHIR, while the same seed is
    // generated again, with another seed, and straight into a database
    // (files written beside it with --out)
    fhirDb = path.join(dir, 'import.db');
    [run.b, run.c, run.d, fhirImport] = await Promise.all([
      synth(['--seed', String(SEED), '--out', out.b]),
      synth(['--seed', String(SEED + 1), '--out', out.c]),
      synth(['--seed', String(SEED), '--db', path.join(dir, 'synth.db'), '--out', out.d]),
      kithAsync(['import', '--db', fhirDb, '--json', '--quiet', ...TYPES.map((t) => path.join(out.a, `${t}.ndjson`))]),
    ]);
    for (const name of ['b', 'c', 'd']) assert.equal(run[name].status, 0, `synth ${name}: ${run[name].stderr}`);

    res = Object.fromEntries(TYPES.map((t) => [t, readNdjson(path.join(out.a, `${t}.ndjson`))]));
    people = readCsv(path.join(out.a, 'truth-people.csv'));
    patients = new Map(res.Patient.map((p) => [p.id, p]));

    // then the council's CLD extract on top of the health records
    const cld = path.join(out.a, 'cld.csv');
    cldImport = kith(['import', '--db', fhirDb, '--format', 'cld', '--json', '--quiet', cld]);
    const exported = path.join(dir, 'export');
    const ex = kith(['export', '--db', fhirDb, '--out', exported, '--quiet',
      '--type', 'ServiceRequest,Encounter,EpisodeOfCare,Patient']);
    assert.equal(ex.status, 0, ex.stderr);
    cldExported = {};
    for (const t of ['ServiceRequest', 'Encounter', 'EpisodeOfCare', 'Patient']) {
      const f = path.join(exported, `${t}.ndjson`);
      cldExported[t] = fs.existsSync(f) ? readNdjson(f) : [];
    }
    cldReimport = kith(['import', '--db', fhirDb, '--format', 'cld', '--json', '--quiet', cld]);
    // `synth --db` loaded the CLD extract itself: importing it again writes nothing
    synthDbCldReimport = kith(['import', '--db', path.join(dir, 'synth.db'), '--format', 'cld', '--json', '--quiet',
      path.join(out.d, 'cld.csv')]);

    // eFI at the start from the records: distinct deficit codes with onset on or
    // before the start, plus polypharmacy (5+ medicines prescribed by then; a
    // dead person's prescriptions are `stopped` but were active at the start)
    const deficits = new Map();
    for (const c of res.Condition) {
      const id = patientId(c.subject?.reference);
      if (!c.onsetDateTime || c.onsetDateTime.slice(0, 10) > START) continue;
      if (!deficits.has(id)) deficits.set(id, new Set());
      for (const cd of c.code.coding) deficits.get(id).add(`${cd.system}|${cd.code}`);
    }
    const medicines = new Map();
    for (const m of res.MedicationRequest) {
      const id = patientId(m.subject?.reference);
      if (m.authoredOn && m.authoredOn.slice(0, 10) <= START) medicines.set(id, (medicines.get(id) ?? 0) + 1);
    }
    efiAtStart = new Map();
    for (const p of res.Patient) {
      const n = (deficits.get(p.id)?.size ?? 0) + ((medicines.get(p.id) ?? 0) >= 5 ? 1 : 0);
      efiAtStart.set(p.id, n / EFI_DEFICITS);
    }
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  it('the same seed gives byte-identical files; another seed gives other people', () => {
    for (const f of OUTPUTS) {
      const a = path.join(out.a, f);
      assert.ok(fs.existsSync(a), `${f} written`);
      assert.ok(fs.statSync(a).size > 0, `${f} is not empty`);
      assert.equal(sha256(path.join(out.b, f)), sha256(a), `${f}: same seed, same bytes`);
      assert.equal(sha256(path.join(out.d, f)), sha256(a), `${f}: --db --out writes the same bytes as --out`);
    }
    assert.notEqual(sha256(path.join(out.c, 'Patient.ndjson')), sha256(path.join(out.a, 'Patient.ndjson')));
    assert.equal(res.Patient.length, PEOPLE);
  });

  it('every resource validates: --db rejects nothing, and a plain import loads every line', () => {
    assert.equal(run.d.status, 0, run.d.stderr);
    assert.doesNotMatch(run.d.stderr + run.d.stdout, /rejected/);
    assert.equal(fhirImport.status, 0, fhirImport.stderr);
    const s = JSON.parse(fhirImport.stdout);
    assert.equal(s.rejected, 0, fhirImport.stderr);
    const lines = Object.fromEntries(TYPES.map((t) => [t, res[t].length]));
    assert.deepEqual(s.types, lines);
    assert.equal(s.loaded, Object.values(lines).reduce((a, b) => a + b, 0));
  });

  it('every Patient has one valid, unique NHS number from the 999 test range', () => {
    const seen = new Set();
    for (const p of res.Patient) {
      const ids = (p.identifier ?? []).filter((i) => i.system === NHS_SYS);
      assert.equal(ids.length, 1, `${p.id}: one NHS number`);
      const v = ids[0].value;
      assert.match(v, /^999\d{7}$/, `${p.id}: ${v}`);
      assert.equal(nhsCheckDigit(v.slice(0, 9)), Number(v[9]), `${p.id}: ${v} check digit`);
      assert.ok(!seen.has(v), `${v} given twice`);
      seen.add(v);
    }
    const truth = new Map(people.map((r) => [r.Patient_Id, r.NHS_Number]));
    assert.equal(truth.size, res.Patient.length);
    for (const p of res.Patient) assert.equal(truth.get(p.id), p.identifier.find((i) => i.system === NHS_SYS).value);
  });

  it('--people beyond the 999 range is refused with exit status 2', () => {
    const valid = validTestRangeNumbers();
    const h = kith(['synth', '--help']);
    const max = Number(/--people N\s+residents at the start \(1 to (\d+)\)/.exec(h.stdout)?.[1]);
    assert.equal(max, valid, `--help allows 1 to ${max} people; the 999 range holds ${valid} valid NHS numbers`);
    const r = kith(['synth', '--people', String(valid + 1), '--out', path.join(dir, 'too-many'), '--quiet'],
      envWithoutDb(), REFUSE_TIMEOUT_MS);
    assert.equal(r.status, 2, `--people ${valid + 1}: ${r.stderr}`);
    assert.match(r.stderr, /999/);
  });

  it('a refused command writes nothing', () => {
    const fresh = path.join(dir, 'refused');
    for (const people of [validTestRangeNumbers() + 1, 0]) {
      const r = kith(['synth', '--people', String(people), '--out', fresh, '--quiet'], envWithoutDb(), REFUSE_TIMEOUT_MS);
      assert.equal(r.status, 2, r.stderr);
      assert.ok(!fs.existsSync(fresh), `--people ${people}: the --out directory is not created`);
    }
    // an earlier run's files are left as they were
    const kept = path.join(dir, 'kept');
    fs.cpSync(out.a, kept, { recursive: true });
    const before = Object.fromEntries(OUTPUTS.map((f) => [f, sha256(path.join(kept, f))]));
    const again = kith(['synth', '--people', '10', '--years', '0', '--out', kept, '--quiet'], envWithoutDb(), REFUSE_TIMEOUT_MS);
    assert.equal(again.status, 2, again.stderr);
    for (const f of OUTPUTS) assert.equal(sha256(path.join(kept, f)), before[f], `${f} left alone`);
    const db = path.join(dir, 'refused.db');
    const viaDb = kith(['synth', '--people', '10', '--programme-effect', '1', '--db', db, '--quiet'],
      envWithoutDb(), REFUSE_TIMEOUT_MS);
    assert.equal(viaDb.status, 2, viaDb.stderr);
    assert.ok(!fs.existsSync(db), 'no database is created');
    assert.ok(!fs.existsSync(`${db}.synth`), 'no files directory is created');
  });

  it('every reference points at a resource in the output', () => {
    const have = new Set();
    for (const t of TYPES) for (const r of res[t]) have.add(`${t}/${r.id}`);
    let n = 0;
    for (const t of TYPES) {
      for (const r of res[t]) {
        for (const ref of collectReferences(r, [])) {
          n++;
          assert.ok(have.has(ref), `${t}/${r.id} refers to ${ref}, which is not in the output`);
        }
      }
    }
    assert.ok(n > res.Encounter.length, `${n} references checked`);
    for (const p of res.Patient) {
      assert.match(p.id, /^pat-\d+$/);
      assert.match(p.generalPractitioner?.[0]?.reference ?? '', /^Organization\/gp-Z\d{5}$/, `${p.id}: a GP practice`);
    }
  });

  it('the CLD extract maps one row to one resource, linked to the right person', async () => {
    assert.equal(cldImport.status, 0, cldImport.stderr);
    const s = JSON.parse(cldImport.stdout);
    assert.equal(s.rejected, 0, cldImport.stderr);
    assert.ok(s.loaded > 0);

    const rows = readCsv(path.join(out.a, 'cld.csv'));
    const truth = readCsv(path.join(out.a, 'truth-cld.csv'));
    assert.equal(truth.length, rows.length, 'one truth row per CLD row');
    const truthOf = new Map(truth.map((t) => [`${t.LA_Code}|${t.Event_Reference}`, t]));
    const byIdentifier = new Map();
    for (const [type, list] of Object.entries(cldExported)) {
      for (const r of list) {
        for (const id of r.identifier ?? []) {
          if (!id.system?.startsWith(CLD_EVENT_SYS)) continue;
          const key = `${id.system.slice(CLD_EVENT_SYS.length)}|${id.value}`;
          if (!byIdentifier.has(key)) byIdentifier.set(key, []);
          byIdentifier.get(key).push({ type, r });
        }
      }
    }
    const nhsOf = new Map(res.Patient.map((p) => [p.id, p.identifier.find((i) => i.system === NHS_SYS).value]));
    let withoutNhs = 0;
    for (const row of rows) {
      const key = `${row.LA_Code}|${row.Event_Reference}`;
      const where = `CLD row ${key} (${row.Event_Type})`;
      const found = byIdentifier.get(key) ?? [];
      assert.equal(found.length, 1, `${where}: ${found.length} resources carry its identifier`);
      const { type, r } = found[0];
      assert.equal(type, CLD_RESOURCE[row.Event_Type], where);
      const period = type === 'ServiceRequest' ? r.occurrencePeriod : r.period;
      assert.equal(period?.start?.slice(0, 10), row.Event_Start_Date, `${where}: start`);
      if (row.Event_End_Date) assert.equal(period?.end?.slice(0, 10), row.Event_End_Date, `${where}: end`);
      else assert.equal(period?.end, undefined, `${where}: no end`);
      const subject = patientId(type === 'EpisodeOfCare' ? r.patient?.reference : r.subject?.reference);
      const t = truthOf.get(key);
      assert.ok(t, `${where}: in truth-cld.csv`);
      assert.equal(t.NHS_Number_Recorded, row.NHS_Number ? 'yes' : 'no', `${where}: NHS_Number_Recorded`);
      if (row.NHS_Number) {
        assert.equal(subject, t.Patient_Id, `${where}: linked to the person with NHS number ${row.NHS_Number}`);
        assert.equal(nhsOf.get(subject), row.NHS_Number.replace(/\s/g, ''), `${where}: that person's NHS number`);
      } else {
        withoutNhs++;
        assert.match(subject ?? '', /^cld-/, `${where}: without an NHS number, an unlinked cld- Patient`);
      }
    }
    const pct = (100 * withoutNhs) / rows.length;
    assert.ok(pct >= 8 && pct <= 25, `${pct.toFixed(1)}% of ${rows.length} CLD rows lack an NHS number`);

    // and the server finds each event by its identifier
    const srv = await startServer({ dbPath: fhirDb });
    try {
      for (const row of rows.filter((_, i) => i % 7 === 0)) {
        const type = CLD_RESOURCE[row.Event_Type];
        const q = encodeURIComponent(`${CLD_EVENT_SYS}${row.LA_Code}|${row.Event_Reference}`);
        const b = await (await fetch(`${srv.base}/fhir/${type}?identifier=${q}`)).json();
        assert.equal(b.entry?.length ?? 0, 1, `${type}?identifier=…|${row.Event_Reference}`);
      }
    } finally {
      await srv.stop();
    }
  });

  it('importing the CLD extract again changes nothing', () => {
    assert.equal(cldReimport.status, 0, cldReimport.stderr);
    const s = JSON.parse(cldReimport.stdout);
    assert.equal(s.loaded, 0);
    assert.equal(s.rejected, 0);
    assert.ok(s.unchanged > 0);
    assert.equal(synthDbCldReimport.status, 0, synthDbCldReimport.stderr);
    assert.equal(JSON.parse(synthDbCldReimport.stdout).loaded, 0, '`synth --db` loaded the CLD extract already');
  });

  it('emergency admission rates by age band are within ±40% of England', () => {
    const startDay = dayOf(START);
    const endDay = dayOf(END);
    const years = { all: 0, '65-74': 0, '75-84': 0, '85+': 0 };
    for (const p of res.Patient) {
      const last = p.deceasedDateTime ? Math.min(dayOf(p.deceasedDateTime), endDay) : endDay;
      if (last <= startDay) continue;
      years.all += (last - startDay) / 365.25;
      // cut [start, last) at the 65th, 75th and 85th birthdays
      const cuts = [startDay, ...[65, 75, 85].map((a) => birthdayDay(p.birthDate, a)).filter((d) => d > startDay && d < last), last];
      for (let i = 0; i + 1 < cuts.length; i++) {
        const band = bandOf(ageOn(p.birthDate, new Date(cuts[i] * 86400000).toISOString()));
        if (band) years[band] += (cuts[i + 1] - cuts[i]) / 365.25;
      }
    }
    const admissions = { all: 0, '65-74': 0, '75-84': 0, '85+': 0 };
    for (const e of res.Encounter) {
      if (encounterType(e) !== 'emergency-admission') continue;
      const p = patients.get(patientId(e.subject.reference));
      const day = e.period.start.slice(0, 10);
      if (day < START || day >= END) continue;
      admissions.all++;
      const band = bandOf(ageOn(p.birthDate, day));
      if (band) admissions[band]++;
    }
    for (const [band, ref] of Object.entries(ENGLAND_EMERGENCY_PER_1000)) {
      assert.ok(years[band] > 50, `${band}: ${years[band].toFixed(0)} person-years is enough to measure`);
      const rate = (1000 * admissions[band]) / years[band];
      assert.ok(Math.abs(rate - ref) <= RATE_TOLERANCE * ref,
        `${band}: ${rate.toFixed(1)} emergency admissions per 1,000 per year (${admissions[band]} in `
        + `${years[band].toFixed(0)} person-years); England ${ref}`);
    }
  });

  it('emergency admissions stay 3-9 days on average, and length matches the period', () => {
    let stays = 0;
    let days = 0;
    for (const e of res.Encounter) {
      const type = encounterType(e);
      if (type !== 'emergency-admission' && type !== 'elective-admission') continue;
      assert.ok(e.period?.start && e.period?.end, `${e.id}: a stay has a period`);
      const los = dayOf(e.period.end) - dayOf(e.period.start);
      assert.ok(los >= 0, `${e.id}: ends before it starts`);
      assert.equal(e.length?.value, los, `${e.id}: length ${e.length?.value} d, period ${los} d`);
      if (type === 'emergency-admission') { stays++; days += los; }
    }
    assert.ok(stays > 100, `${stays} emergency admissions`);
    const mean = days / stays;
    assert.ok(mean >= 3 && mean <= 9, `mean length of stay ${mean.toFixed(2)} days`);
  });

  it('eFI categories of people aged 65+ at the start are near Clegg et al. (2016)', () => {
    const count = { fit: 0, mild: 0, moderate: 0, severe: 0 };
    let older = 0;
    for (const p of res.Patient) {
      if (ageOn(p.birthDate, START) < 65) continue;
      older++;
      const efi = efiAtStart.get(p.id);
      count[efi <= 0.12 ? 'fit' : efi <= 0.24 ? 'mild' : efi <= 0.36 ? 'moderate' : 'severe']++;
    }
    assert.ok(older > 200, `${older} people aged 65+`);
    for (const [cat, [lo, hi]] of Object.entries(EFI_CATEGORY_BANDS)) {
      const pct = (100 * count[cat]) / older;
      assert.ok(pct >= lo && pct <= hi, `${cat}: ${pct.toFixed(1)}% of ${older} people aged 65+ (want ${lo}-${hi}%)`);
    }
    // the deficits are the eFI's 35 coded conditions, SNOMED CT, each recorded once per person
    const perPerson = new Map();
    for (const c of res.Condition) {
      const codes = c.code.coding.filter((cd) => cd.system === 'http://snomed.info/sct').map((cd) => cd.code);
      assert.equal(codes.length, 1, `Condition/${c.id}: one SNOMED CT code`);
      const id = patientId(c.subject.reference);
      if (!perPerson.has(id)) perPerson.set(id, new Set());
      assert.ok(!perPerson.get(id).has(codes[0]), `${id}: ${codes[0]} recorded twice`);
      perPerson.get(id).add(codes[0]);
      assert.ok(perPerson.get(id).size <= EFI_DEFICITS - 1, `${id}: more than 35 deficits`);
    }
  });

  it('the eFI in truth-people.csv is the one the records give, for everyone 65+', () => {
    let checked = 0;
    for (const row of people) {
      const p = patients.get(row.Patient_Id);
      assert.ok(p, `${row.Patient_Id} in Patient.ndjson`);
      if (ageOn(p.birthDate, START) < 65) continue;
      checked++;
      const mine = efiAtStart.get(p.id);
      assert.ok(Math.abs(mine - Number(row.eFI_At_Start)) <= 0.001,
        `${p.id}: eFI ${mine.toFixed(4)} from the records, ${row.eFI_At_Start} in truth-people.csv`);
    }
    assert.ok(checked > 200);
  });

  it('MDT discussions follow the programme: 65+, a programme neighbourhood, from its start, once each', () => {
    const truth = new Map(people.map((r) => [r.Patient_Id, r]));
    const emergencyDays = new Map(); // patient id -> admission days
    for (const e of res.Encounter) {
      if (encounterType(e) !== 'emergency-admission') continue;
      const id = patientId(e.subject.reference);
      if (!emergencyDays.has(id)) emergencyDays.set(id, []);
      emergencyDays.get(id).push(dayOf(e.period.start));
    }
    const onsets = new Map(); // patient id -> Map(code -> earliest onset day)
    for (const c of res.Condition) {
      const id = patientId(c.subject.reference);
      if (!onsets.has(id)) onsets.set(id, new Map());
      const m = onsets.get(id);
      const code = c.code.coding[0].code;
      const d = dayOf(c.onsetDateTime);
      if (!m.has(code) || d < m.get(code)) m.set(code, d);
    }
    const medStarts = new Map();
    for (const m of res.MedicationRequest) {
      const id = patientId(m.subject.reference);
      if (!medStarts.has(id)) medStarts.set(id, []);
      medStarts.get(id).push(dayOf(m.authoredOn));
    }
    const discussed = new Map();
    for (const e of res.Encounter) {
      if (encounterType(e) !== 'mdt-discussion') continue;
      const id = patientId(e.subject.reference);
      const p = patients.get(id);
      const row = truth.get(id);
      const day = e.period.start.slice(0, 10);
      const where = `${e.id} (${id}, ${day})`;
      assert.ok(!discussed.has(id), `${where}: ${id} was discussed already on ${discussed.get(id)}`);
      discussed.set(id, day);
      assert.ok(day >= PROGRAMME_START, `${where}: before the programme started`);
      assert.ok(ageOn(p.birthDate, day) >= 65, `${where}: aged ${ageOn(p.birthDate, day)}`);
      assert.equal(row.Programme_Neighbourhood, '1', `${where}: neighbourhood ${row.Neighbourhood} is not in the programme`);
      assert.equal(Number(row.Neighbourhood) % 2, 1, `${where}: the programme runs in odd-numbered neighbourhoods`);
      assert.equal(e.serviceProvider?.reference, `Organization/org-int-${row.Neighbourhood}`, `${where}: their neighbourhood team`);
      assert.equal(row.MDT_Discussed, day, `${where}: truth-people.csv MDT_Discussed`);
      // case finding: eFI over 0.24 or an emergency admission in the past 12
      // months, judged at the start of the 30-day step the discussion fell in
      const d = dayOf(day);
      const n = [...(onsets.get(id)?.values() ?? [])].filter((o) => o <= d).length
        + ((medStarts.get(id) ?? []).filter((o) => o <= d).length >= 5 ? 1 : 0);
      const admitted = (emergencyDays.get(id) ?? []).some((a) => a <= d && a > d - 365 - 30);
      assert.ok(n / EFI_DEFICITS > 0.24 || admitted, `${where}: eFI ${(n / EFI_DEFICITS).toFixed(3)} and no recent admission`);
    }
    assert.ok(discussed.size > 0, 'at least one MDT discussion');
    for (const row of people) {
      if (row.MDT_Discussed) assert.equal(discussed.get(row.Patient_Id), row.MDT_Discussed, `${row.Patient_Id}: truth says discussed`);
    }
  });

  it('nothing happens to a person after their death (both seeds)', () => {
    const when = {
      Encounter: (r) => [r.period?.start, r.period?.end],
      Condition: (r) => [r.onsetDateTime],
      MedicationRequest: (r) => [r.authoredOn],
      Observation: (r) => [r.effectiveDateTime],
    };
    for (const [name, seed] of [['a', SEED], ['c', SEED + 1]]) {
      const read = (t) => (name === 'a' ? res[t] : readNdjson(path.join(out[name], `${t}.ndjson`)));
      const byId = new Map(read('Patient').map((p) => [p.id, p]));
      const deaths = [...byId.values()].filter((p) => p.deceasedDateTime).length;
      assert.ok(deaths > 0, `seed ${seed}: some people die`);
      const truth = new Map(readCsv(path.join(out[name], 'truth-people.csv')).map((r) => [r.Patient_Id, r.Death_Date]));
      for (const p of byId.values()) {
        assert.equal(truth.get(p.id), p.deceasedDateTime?.slice(0, 10) ?? '', `seed ${seed}: ${p.id} Death_Date`);
      }
      for (const [type, dates] of Object.entries(when)) {
        for (const r of read(type)) {
          const p = byId.get(patientId(r.subject?.reference));
          const died = p.deceasedDateTime?.slice(0, 10);
          for (const d of dates(r)) {
            if (!d) continue;
            const what = `seed ${seed}: ${type}/${r.id} (${type === 'Encounter' ? encounterType(r) : ''})`;
            assert.ok(d.slice(0, 10) >= p.birthDate, `${what}: ${d} before ${p.id} was born (${p.birthDate})`);
            if (died) assert.ok(d.slice(0, 10) <= died, `${what}: ${d} after ${p.id} died (${died})`);
          }
        }
      }
    }
  });

  it('the service directory: services with how to reach and refer, and every kind of staff', () => {
    const services = res.HealthcareService;
    const orgs = new Set(res.Organization.map((o) => `Organization/${o.id}`));
    for (const want of [/district nursing/i, /reablement/i, /social prescribing/i, /community matron/i]) {
      assert.ok(services.some((s) => want.test(s.name ?? '')), `a HealthcareService named ${want}`);
    }
    for (const s of services) {
      assert.ok(orgs.has(s.providedBy?.reference), `${s.id}: providedBy an Organization`);
      assert.ok(s.telecom?.some((t) => t.system === 'phone' && t.value), `${s.id}: a phone number`);
      assert.ok(s.eligibility?.length > 0, `${s.id}: eligibility`);
      assert.ok(s.referralMethod?.length > 0, `${s.id}: referralMethod`);
    }
    const roles = new Set(res.PractitionerRole.flatMap((r) => (r.code ?? []).flatMap((c) => c.coding ?? []))
      .filter((c) => c.system === STAFF_ROLE_SYS).map((c) => c.code));
    for (const code of STAFF_ROLES) assert.ok(roles.has(code), `a PractitionerRole coded ${code}`);
  });

  it('--help names every option; bad command lines exit 2 with a message', () => {
    const h = kith(['synth', '--help']);
    assert.equal(h.status, 0);
    for (const opt of ['--people', '--seed', '--db', '--out', '--start', '--years', '--identities', '--matched']) {
      assert.match(h.stdout, new RegExp(opt));
    }
    const o = path.join(dir, 'bad');
    const cases = [
      [['--people', 'abc', '--out', o], /--people.*abc/],
      [['--people', '10'], /--db|--out/],
      [['--people', '10', '--out', o, '--start', '2023-02-30'], /--start.*2023-02-30/],
      [['--people', '10', '--out', o, '--years', '0'], /--years/],
      [['--people', '0', '--out', o], /--people/],
      [['--people', '10', '--out', o, '--matched', '0.5'], /--matched/],
      [['--identities', '10'], /--out/],
      [['--identities', '10', '--people', '10', '--out', o], /--identities/],
      [['--identities', '10', '--db', path.join(dir, 'bad.db'), '--out', o], /--db/],
      [['--identities', '10', '--years', '2', '--out', o], /--years/],
      [['--identities', '0', '--out', o], /--identities/],
      [['--identities', '5000001', '--out', o], /--identities/],
      [['--identities', '10', '--matched', '1.5', '--out', o], /--matched/],
      [['--identities', '10', '--matched', 'half', '--out', o], /--matched.*half/],
    ];
    for (const [args, want] of cases) {
      const r = kith(['synth', '--quiet', ...args], envWithoutDb());
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.split('\n')[0], want, args.join(' '));
      assert.ok(!fs.existsSync(o), `${args.join(' ')}: the --out directory is not created`);
    }
  });

  it('--identities writes only the three identity files, GP ids first and council ids unique', () => {
    const o = path.join(dir, 'identities');
    const r = kith(['synth', '--identities', '500', '--matched', '0.4', '--seed', '3', '--out', o, '--quiet'],
      envWithoutDb());
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(o).sort(), ['council.csv', 'people.csv', 'truth-identities.csv']);
    const people = readCsv(path.join(o, 'people.csv'));
    const council = readCsv(path.join(o, 'council.csv'));
    const truth = readCsv(path.join(o, 'truth-identities.csv'));
    assert.deepEqual(people.map((p) => p.id), people.map((_, i) => `pat-${i + 1}`));
    assert.equal(council.length, 500);
    assert.equal(new Set(council.map((c) => c.id)).size, 500);
    assert.deepEqual(truth.map((t) => t.council_id), council.map((c) => c.id));
    assert.equal(truth.filter((t) => t.patient_id).length, 200);
    for (const row of [...people, ...council]) assert.deepEqual(Object.keys(row), ['id', 'given', 'family', 'birth_date', 'sex', 'postcode']);
  });
});
