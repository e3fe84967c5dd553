// The hospital discharge board, in Chromium against a real kith serve: the
// discharge coordinator sees the inpatients medically ready to leave, the
// longest delayed first with the right number of days, their ward, pathway,
// delay reason and the referrals made for support; filters by ward; 320 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPlace, launchBrowser, newPage, signIn, settled, checkPage, menu, fhirAs, sidewaysScroll } from './lib/place.mjs';

const SD = 'https://kith.example.org/fhir/StructureDefinition/';
const CS = 'https://kith.example.org/fhir/CodeSystem/';
const DAY = 86400000;
let place, browser;
const stays = []; // what this test wrote: {pid, ward, days, reason, pathway, ready}

const fhir = (method, path, body) => fhirAs(place.base, method, path, body);

before(async () => {
  place = await startPlace({ scoreRisk: false });
  browser = await launchBrowser();
  const ready = (await fhir('GET', 'Task/$worklist?list=discharge')).total;
  // kith synth writes finished stays only, so nobody is waiting to leave: write some stays in progress
  assert.equal(typeof ready, 'number');
  const living = (await fhir('GET', 'Patient?_count=60')).entry.map((e) => e.resource)
    .filter((p) => !p.deceasedDateTime && !p.deceasedBoolean).slice(0, 4);
  assert.equal(living.length, 4, 'the synthetic place has people to admit');
  for (const [id, name] of [['loc-ward-7', 'Ward 7 (Elderly care)'], ['loc-ward-12', 'Ward 12 (Orthopaedics)']])
    await fhir('PUT', `Location/${id}`, { resourceType: 'Location', id, status: 'active', name,
      partOf: { reference: 'Location/loc-hospital' }, managingOrganization: { reference: 'Organization/org-acute' } });
  const now = Date.now();
  // admitted days ago, ready days ago (negative: not yet ready), delay reason, pathway
  const plan = [['loc-ward-7', 9, 5.2, 'awaiting-care-home', '3'], ['loc-ward-12', 6, 2.5, null, null],
    ['loc-ward-7', 15, 11.1, 'awaiting-home-care', '1'], ['loc-ward-7', 3, -2, null, null]];
  for (const [k, [ward, admitted, readyDays, reason, pathway]] of plan.entries()) {
    const pid = living[k].id;
    const readyAt = new Date(now - readyDays * DAY).toISOString();
    const ext = [{ url: `${SD}discharge-ready-date`, valueDateTime: readyAt }];
    if (pathway) ext.push({ url: `${SD}discharge-pathway`, valueCoding: { system: `${CS}discharge-pathway`, code: pathway } });
    if (reason) ext.push({ url: `${SD}discharge-delay-reason`, valueCodeableConcept: { coding: [{ system: `${CS}discharge-delay-reason`, code: reason }] } });
    // the hospital's episode of care: what gives the trust's discharge team a care relationship with the person
    await fhir('PUT', `EpisodeOfCare/inpatient-${pid}`, { resourceType: 'EpisodeOfCare', id: `inpatient-${pid}`, status: 'active',
      patient: { reference: `Patient/${pid}` }, managingOrganization: { reference: 'Organization/org-acute' }, type: [{ text: 'Hospital inpatient stay' }] });
    await fhir('PUT', `Encounter/stay-${pid}`, {
      resourceType: 'Encounter', id: `stay-${pid}`, status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      type: [{ coding: [{ system: `${CS}encounter-type`, code: 'emergency-admission' }] }],
      subject: { reference: `Patient/${pid}` }, period: { start: new Date(now - admitted * DAY).toISOString() },
      episodeOfCare: [{ reference: `EpisodeOfCare/inpatient-${pid}` }],
      hospitalization: { extension: ext }, location: [{ location: { reference: `Location/${ward}` } }],
      serviceProvider: { reference: 'Organization/org-acute' },
    });
    stays.push({ pid, ward, days: Math.floor(readyDays), reason, pathway, patient: living[k] });
  }
  // the most delayed person has been referred to reablement (pathway 1)
  await fhir('POST', 'ServiceRequest/$refer', { resourceType: 'Parameters', parameter: [
    { name: 'patient', valueReference: { reference: `Patient/${stays[2].pid}` } },
    { name: 'service', valueReference: { reference: 'HealthcareService/hs-reablement' } },
    { name: 'priority', valueCode: 'urgent' }, { name: 'reason', valueString: 'Home with support after a fall' }] });
  const after = await fhir('GET', 'Task/$worklist?list=discharge');
  assert.equal(after.total, ready + 3, 'three of the four stays are past their discharge-ready date');
});

after(async () => {
  await browser?.close();
  await place?.stop();
});

test('the discharge board lists the delayed people, most delayed first, and filters by ward', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'discharge');
  await menu(page, 'Discharge board');
  assert.equal(await page.locator('h1').innerText(), 'Discharge board');
  const rows = page.locator('#discharge-board tbody tr');
  await rows.first().waitFor();
  const shown = await rows.evaluateAll((trs) => trs.map((tr) => [...[...tr.cells].map((c) => c.innerText.trim()),
    tr.cells[0].querySelector('a')?.getAttribute('href')]));
  const days = shown.map((r) => Number(/^(\d+) days?$/.exec(r[5])?.[1]));
  assert.deepEqual(days, [...days].sort((a, b) => b - a), 'most delayed first');
  // ours, with the days the server counts (whole days since the ready date)
  const want = [stays[2], stays[0], stays[1]];
  const ours = shown.filter((r) => want.some((s) => r[9] === `#/person/${s.pid}`));
  assert.deepEqual(ours.map((r) => r[9]), want.map((s) => `#/person/${s.pid}`));
  assert.deepEqual(ours.map((r) => r[5]), ['11 days', '5 days', '2 days']);
  assert.deepEqual(ours.map((r) => r[2]), ['Ward 7 (Elderly care)', 'Ward 7 (Elderly care)', 'Ward 12 (Orthopaedics)']);
  assert.deepEqual(ours.map((r) => r[6]), ['Pathway 1: home with support', 'Pathway 3: care home', 'Not recorded']);
  assert.deepEqual(ours.map((r) => r[7]), ['Awaiting start of a home care package', 'Awaiting a care home placement', 'Not recorded']);
  assert.match(ours[0][8], /Pathway 1: Reablement.*Waiting to be accepted/s);
  assert.equal(ours[1][8], 'None yet');
  // not yet ready: not on the board
  assert.equal(await page.locator(`#discharge-board a[href="#/person/${stays[3].pid}"]`).count(), 0, 'not ready yet: not on the board');
  assert.equal(await page.locator('#discharge-board a[href="#/person/' + stays[2].pid + '"]').count(), 1, 'a link to the person\'s record');
  await checkPage(page, 'discharge-board');
  // filter by ward, with the keyboard
  await page.getByLabel('Ward').selectOption('Ward 12 (Orthopaedics)');
  await page.getByRole('button', { name: 'Show' }).press('Enter');
  await page.getByText(/^1 person medically ready to leave on Ward 12/).waitFor();
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().innerText(), /2 days/);
  await checkPage(page, 'discharge-board-ward');
  await page.context().close();
});

test('the discharge board works 320 pixels wide', async () => {
  const page = await newPage(browser, { width: 320, height: 640 });
  await signIn(page, place.base, 'discharge');
  await page.goto(`${place.base}/#/discharge`);
  await settled(page);
  await page.locator('#discharge-board tbody tr').first().waitFor();
  const overflow = await sidewaysScroll(page);
  assert.ok(overflow <= 0, `the discharge board scrolls sideways by ${overflow} px at 320 px`);
  await checkPage(page, 'discharge-board-320');
  await page.context().close();
});
