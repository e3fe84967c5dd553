// cld-import.test.mjs — `kith import --format cld`: an Adult Social Care
// Client Level Data (Release 1) CSV. Good rows of each Event_Type load as
// ServiceRequest, Encounter and EpisodeOfCare; bad rows (broken quoting, a
// day that does not exist, an unknown Event_Type, a bad NHS number) are
// reported as file:line: reason with the line the record starts on, and the
// rest load; a row whose NHS number belongs to a Patient already held links
// to it, one without gets an unlinked Patient tagged record-source|cld;
// importing the same file again writes nothing; a file without the required
// columns is refused with the columns named.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './lib/server.mjs';

const KITH = process.env.KITH_BIN || path.resolve('bin/kith');
const HEADER = 'LA_Code,LA_Person_Unique_Identifier,NHS_Number,Given_Name,Family_Name,Date_of_Birth,Gender,'
  + 'Ethnicity,Postcode,GP_Practice_Code,Date_of_Death,Client_Type,Primary_Support_Reason,Accommodation_Status,'
  + 'Has_Unpaid_Carer,Client_Funding_Status,Event_Type,Event_Reference,Event_Start_Date,Event_End_Date,'
  + 'Event_Outcome,Request_Route_of_Access,Assessment_Type,Eligible_Needs_Identified,Review_Reason,Service_Type,'
  + 'Service_Component,Delivery_Mechanism,Unit_Cost,Cost_Frequency_Unit_Type,Planned_Units_Per_Week';
const TAG = 'https://kith.example.org/fhir/CodeSystem/record-source|cld';

// Columns 1-16: the person as the council holds them.
const ADA = 'E08000035,P001,9434765919,Ada,Lovelace,1938-04-02,Female,A,LS1 4AP,B86001,,Service User,'
  + 'Physical Support: Personal care support,Owner occupier,Yes,Fully funded by LA';
const BOB = 'E08000035,P002,,Bob,"Smith, Jr",1940-01-01,Male,Z,LS2 7UE,,,Service User,Mental Health Support,,No,';

// [row text, expected: 'ok' or a regex for the reason]; line numbers follow from the order.
const ROWS = [
  [`${ADA},Request,R1,2024-04-01,2024-04-03,Progress to Assessment,Discharge from Hospital,,,,,,,,,`, 'ok'],
  [`${ADA},Assessment,A1,2024-04-04,2024-04-10,Progress to Support Planning / Services,,`
    + 'Long Term Support Assessment,Yes,,,,,,,', 'ok'],
  [`${ADA},Service,S1,2024-04-11,,,,,,,Long Term Support: Community,Home Support / Home Care,`
    + 'CASSR Commissioned Support,23.50,Hourly,14', 'ok'],
  [`${BOB},Review,V1,2024-05-01,2024-05-01,No change in package,,,,Planned,,,,,,`, 'ok'],
  [`${BOB},Review,V2,2024-05-02,,,,,,"Planned"x,,,,,,`, /unexpected character after the closing quote/],
  [`${BOB},Review,V3,2023-02-29,,,,,,Planned,,,,,,`, /Event_Start_Date: '2023-02-29' is not a date/],
  [`${BOB},Visit,V4,2024-05-03,,,,,,,,,,,,`, /Event_Type: 'Visit' is not one of the defined values/],
  ['E08000035,P003,9434765918,Cy,Jones,,,,,,,,,,,,Request,R9,2024-05-04,,,,,,,,,,,,',
    /NHS_Number: '9434765918' is not a valid NHS number/],
  // a quoted field holding a line break: the record spans two lines
  [`E08000035,P002,,Bob,"Smith, Jr",1940-01-01,Male,Z,LS2 7UE,,,Service User,Mental Health Support,"Lives with\r\nfamily",No,,`
    + 'Service,S2,2024-05-05,2024-06-30,Service ended as planned,,,,,Short Term Support: ST-Max,Reablement,'
    + 'CASSR Commissioned Support,,,', 'ok'],
  [`${BOB},Request,R2,2024-07-01,,,Community / Other route,,,,,,,,,`, 'ok'],
  [`${BOB},Request,R2,2024-07-02,,,Community / Other route,,,,,,,,,`, /event cld-E08000035-R2 was already given on line 12/],
];

function importFiles(db, files, extra = []) {
  const r = spawnSync(KITH, ['import', '--db', db, ...extra, ...files], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kith import --format cld', () => {
  let dir, db, csv;
  const lineOf = []; // ROWS index -> line the record starts on
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-cld-'));
    db = path.join(dir, 'kith.db');
    csv = path.join(dir, 'council.csv');
    let line = 2;
    for (const [text] of ROWS) {
      lineOf.push(line);
      line += text.split('\n').length;
    }
    fs.writeFileSync(csv, [HEADER, ...ROWS.map(([t]) => t)].join('\r\n') + '\r\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads a Patient held by the GP record first (plain FHIR import)', () => {
    const gp = path.join(dir, 'gp.ndjson');
    fs.writeFileSync(gp, JSON.stringify({ resourceType: 'Patient', id: 'gp-ada',
      identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
      name: [{ family: 'Lovelace', given: ['Ada'] }], birthDate: '1938-04-02' }) + '\n');
    const r = importFiles(db, [gp]);
    assert.equal(r.status, 0, r.stderr);
  });

  it('maps good rows and reports each bad one as file:line: reason', () => {
    const r = importFiles(db, [csv], ['--format', 'cld', '--json']);
    assert.equal(r.status, 1, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.rejected, 5, r.stderr);
    assert.deepEqual(s.types, { Organization: 1, Patient: 1, ServiceRequest: 2, Encounter: 2, EpisodeOfCare: 2 });
    assert.equal(s.loaded, 8);
    ROWS.forEach(([, want], i) => {
      const at = new RegExp(`council\\.csv:${lineOf[i]}: `);
      if (want === 'ok') {
        assert.doesNotMatch(r.stderr, at, `row on line ${lineOf[i]} should load`);
      } else {
        const m = r.stderr.split('\n').find((l) => at.test(l));
        assert.ok(m, `line ${lineOf[i]} reported:\n${r.stderr}`);
        assert.match(m, want);
      }
    });
    assert.equal(r.stderr.split('\n').filter((l) => /council\.csv:\d+: /.test(l)).length, 5);
  });

  it('importing the same file again changes nothing', () => {
    const r = importFiles(db, [csv], ['--format', 'cld', '--json']);
    assert.equal(r.status, 1, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.loaded, 0);
    assert.equal(s.unchanged, 7); // everything but the council, which is only created once
    assert.equal(s.rejected, 5);
  });

  it('a file without the required columns is refused, naming them', () => {
    const bad = path.join(dir, 'missing.csv');
    fs.writeFileSync(bad, 'LA_Person_Unique_Identifier,Event_Reference,Event_Start_Date,Notes\nP1,E1,2024-01-01,x\n');
    const r = importFiles(db, [bad], ['--format', 'cld']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /missing\.csv:1: not a CLD file: the header lacks required columns LA_Code, Event_Type/);
    const empty = path.join(dir, 'empty.csv');
    fs.writeFileSync(empty, '');
    const e = importFiles(db, [empty], ['--format', 'cld']);
    assert.equal(e.status, 3);
    assert.match(e.stderr, /empty\.csv: empty: no CLD header line/);
  });

  it('what loaded is linked, tagged and served through the API', async () => {
    const srv = await startServer({ dbPath: db });
    const get = async (p) => {
      const res = await fetch(`${srv.base}/fhir/${p}`);
      assert.equal(res.status, 200, `${p}: ${res.status}`);
      return res.json();
    };
    try {
      // Ada's events point at the GP's Patient, which is left as it was.
      const sr = await get('ServiceRequest/cld-E08000035-R1');
      assert.equal(sr.subject.reference, 'Patient/gp-ada');
      assert.equal(sr.status, 'completed');
      assert.equal(sr.intent, 'proposal');
      assert.equal(sr.performer[0].reference, 'Organization/la-E08000035');
      assert.equal(sr.reasonCode[0].coding[0].system,
        'https://kith.example.org/fhir/CodeSystem/cld-primary-support-reason');
      assert.deepEqual(sr.meta.tag, [{ system: 'https://kith.example.org/fhir/CodeSystem/record-source', code: 'cld' }]);
      const gp = await get('Patient/gp-ada');
      assert.equal(gp.meta.versionId, '1');
      assert.equal(gp.meta.tag, undefined);
      const adaEnc = await get('Encounter?subject=Patient/gp-ada');
      assert.deepEqual(adaEnc.entry.map((e) => e.resource.id), ['cld-E08000035-A1']);
      const eoc = await get('EpisodeOfCare/cld-E08000035-S1');
      assert.equal(eoc.patient.reference, 'Patient/gp-ada');
      assert.equal(eoc.status, 'active');
      const cost = eoc.extension.find((x) => x.url.endsWith('/cld-care-package-cost'));
      assert.deepEqual(cost.extension[0], { url: 'unitCost', valueMoney: { value: 23.5, currency: 'GBP' } });
      // Bob has no NHS number: an unlinked social care record.
      const bob = await get('Patient/cld-E08000035-P002');
      assert.equal(bob.name[0].family, 'Smith, Jr');
      assert.equal(bob.gender, 'male');
      assert.deepEqual(bob.identifier, [{ system: 'https://kith.example.org/fhir/Id/la-person/E08000035', value: 'P002' }]);
      const tagged = await get(`Patient?_tag=${encodeURIComponent(TAG)}`);
      assert.deepEqual(tagged.entry.map((e) => e.resource.id), ['cld-E08000035-P002']);
      const s2 = await get('EpisodeOfCare/cld-E08000035-S2');
      assert.equal(s2.patient.reference, 'Patient/cld-E08000035-P002');
      assert.equal(s2.status, 'finished');
      const acc = s2.extension.find((x) => x.url.endsWith('/cld-accommodation-status'));
      assert.equal(acc.valueCodeableConcept.text, 'Lives with\r\nfamily');
      const org = await get('Organization/la-E08000035');
      assert.equal(org.name, 'Adult social care (E08000035)');
      // Two imports, one version.
      const h = await get('ServiceRequest/cld-E08000035-R1/_history');
      assert.equal(h.total ?? h.entry.length, 1);
      const hp = await get('Patient/cld-E08000035-P002/_history');
      assert.equal(hp.entry.length, 1);
    } finally {
      await srv.stop();
    }
  });
});
