// The dashboards: the figures `kith report` published (XmR charts of the
// indicators, risk pyramids, the task snapshot) shown exactly as the CSV
// files have them, for the area chosen; the team's live referral response
// times; and the friendly message when no report has been published.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startPlace, launchBrowser, newPage, signIn, settled, checkPage, menu, sidewaysScroll } from './lib/place.mjs';
import { startServer, kith } from '../api/lib/server.mjs';
import { parseCsv, csvRecords } from '../../web/lib/csv.js';

let place, reported, browser;
const answered = { inTime: 0, late: 0 };

async function fhir(base, method, p, body) {
  const r = await fetch(`${base}/fhir/${p}`, {
    method, headers: { 'Content-Type': 'application/fhir+json' }, body: body ? JSON.stringify(body) : undefined,
  });
  const json = await r.json();
  assert.ok(r.ok, `${method} ${p}: ${r.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** Accept a referral Task as the service (the clock stops: responded-in-time or -late). */
async function accept(base, task, owner) {
  const t = await fhir(base, 'GET', `Task/${task.id}`);
  return fhir(base, 'PUT', `Task/${task.id}`, { ...t, status: 'accepted', owner: { reference: owner } });
}

before(async () => {
  place = await startPlace({ people: 300 });
  browser = await launchBrowser();
  // referrals to the district nurses (the nurse's team, org-community): two
  // answered at once, one answered after its due date, two still open
  const people = (await fhir(place.base, 'GET', 'Patient?general-practitioner=Organization/gp-Z00001&_count=6')).entry.map((e) => e.resource);
  const refer = async (who, reason) => {
    const b = await fhir(place.base, 'POST', 'ServiceRequest/$refer', { resourceType: 'Parameters', parameter: [
      { name: 'patient', valueReference: { reference: `Patient/${who.id}` } },
      { name: 'service', valueReference: { reference: 'HealthcareService/hs-district-nursing' } },
      { name: 'priority', valueCode: 'routine' },
      { name: 'reason', valueString: reason },
      { name: 'requester', valueReference: { reference: 'Practitioner/pr-1' } },
    ] });
    return b.entry.map((e) => e.resource).find((r) => r.resourceType === 'Task');
  };
  for (const [i, reason] of ['Leg ulcer dressing', 'Catheter care'].entries()) {
    const t = await accept(place.base, await refer(people[i], reason), 'Practitioner/pr-61');
    assert.equal(t.businessStatus.coding[0].code, 'responded-in-time');
    answered.inTime++;
  }
  const old = await fhir(place.base, 'POST', 'Task', {
    resourceType: 'Task', status: 'requested', intent: 'order', priority: 'routine', description: 'Wound review',
    for: { reference: `Patient/${people[2].id}` }, authoredOn: new Date(Date.now() - 10 * 86400000).toISOString().slice(0, 19) + 'Z',
    restriction: { period: { end: new Date(Date.now() - 8 * 86400000).toISOString().slice(0, 19) + 'Z' } },
    owner: { reference: 'Organization/org-community' },
  });
  const late = await accept(place.base, old, 'Organization/org-community');
  assert.equal(late.businessStatus.coding[0].code, 'responded-late');
  answered.late++;
  await refer(people[3], 'Blood tests at home');
  await refer(people[4], 'Insulin');
  // publish the report beside the database, then serve it (the first server started before it existed)
  kith(['report', '--db', place.db, '--out', `${place.db}.report`, '--quiet']);
  reported = await startServer({ dbPath: place.db });
});

after(async () => {
  await browser?.close();
  await reported?.stop();
  await place?.stop();
});

test('the CSV reader handles quoted fields, doubled quotes, commas and line breaks', () => {
  assert.deepEqual(parseCsv('a,b,c\n1,"x, y","he said ""hi"""\r\n2,,"two\nlines"\n\n"",last\n'),
    [['a', 'b', 'c'], ['1', 'x, y', 'he said "hi"'], ['2', '', 'two\nlines'], ['', 'last']]);
  assert.deepEqual(parseCsv('no,newline'), [['no', 'newline']]);
  assert.deepEqual(parseCsv(''), []);
  assert.deepEqual(csvRecords('k,v\n"per 1,000",*\nshort\n'), [{ k: 'per 1,000', v: '*' }, { k: 'short', v: '' }]);
});

test('with no report published, the dashboard says so and still shows the team response times', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'nurse');
  await menu(page, 'Dashboards');
  await page.getByText('No report has been published yet: an operator runs kith report').waitFor();
  await page.locator('#team-response-summary').waitFor();
  await checkPage(page, 'dashboard-no-report');
  await page.context().close();
});

/** Cells of a table as text (a closed nhsuk-details still has them). */
const cells = (page, selector) => page.locator(`${selector} tbody tr`).evaluateAll((rows) =>
  rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim())));

/** What the page shows for a CSV figure. */
const shown = (v, suppressed) => v === '*' || (suppressed && v === '') ? 'hidden' : v === '' ? 'none' : v;

async function checkArea(page, unit, csv) {
  const rows = csv.indicators.filter((r) => r.unit === unit);
  const names = [...new Set(csv.indicators.map((r) => r.indicator))];
  let charted = 0;
  for (const name of names) {
    const series = rows.filter((r) => r.indicator === name).sort((a, b) => a.month.localeCompare(b.month));
    const section = `section[data-indicator="${name}"]`;
    const table = await cells(page, section);
    assert.equal(table.length, series.length, `${name} for ${unit}: one row a month`);
    series.forEach((r, i) => {
      assert.equal(table[i][1], shown(r.numerator, r.suppressed === '1'), `${name} ${r.month} numerator`);
      assert.equal(table[i][2], shown(r.denominator, false), `${name} ${r.month} denominator`);
      assert.equal(table[i][3], shown(r.value, r.suppressed === '1'), `${name} ${r.month} value`);
    });
    const whole = series.length >= 2 && series.every((r) => r.suppressed === '0' && r.value !== '');
    assert.equal(await page.locator(`${section} svg[role="img"]`).count(), whole ? 1 : 0, `${name} for ${unit}: a chart only for a whole series`);
    if (!whole) continue;
    charted++;
    // mean and process limits worked out here from the CSV: mean ± 2.66 × mean moving range
    const v = series.map((r) => Number(r.value));
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const mr = v.slice(1).reduce((a, x, i) => a + Math.abs(x - v[i]), 0) / (v.length - 1);
    const g = (x) => String(Number(x.toPrecision(4)));
    assert.equal(await page.locator(`${section} .kith-mean`).innerText(), g(mean));
    assert.equal(await page.locator(`${section} .kith-limits`).innerText(), `${g(mean - 2.66 * mr)} to ${g(mean + 2.66 * mr)}`);
    const outside = v.filter((x) => x > mean + 2.66 * mr || x < mean - 2.66 * mr).length;
    assert.equal(await page.locator(`${section} svg .kith-chart__point`).count(), v.length);
    assert.equal(await page.locator(`${section} svg .kith-chart__point--outside`).count(), outside);
    assert.match(await page.locator(`${section} svg desc`).textContent(), new RegExp(`Mean ${g(mean).replace('.', '\\.')}`));
  }
  // the risk pyramids
  for (const assessment of ['frailty', 'admission-risk']) {
    const want = csv.pyramid.filter((r) => r.unit === unit && r.assessment === assessment);
    if (!want.length) continue;
    const got = await cells(page, `#pyramid-${assessment}-table`);
    assert.equal(got.length, want.length);
    // the table runs from the most at risk down; compare as sets of figures
    assert.deepEqual(got.map((c) => c[1]).sort(), want.map((r) => shown(r.people, r.suppressed === '1')).sort(), `${assessment} for ${unit}`);
  }
  // the task snapshot: every area of the same level
  const area = csv.tasks.find((r) => r.unit === unit);
  const level = csv.tasks.filter((r) => r.level === area.level);
  const snap = await cells(page, '#task-snapshot');
  assert.equal(snap.length, level.length);
  level.forEach((r, i) => {
    assert.equal(snap[i][0], r.unit_name);
    assert.deepEqual([snap[i][1], snap[i][2], snap[i][4], snap[i][5]],
      [r.open, r.without_owner, r.with_due_date, r.overdue].map((x) => shown(x, true)), `tasks for ${r.unit_name}`);
  });
  return charted;
}

test('the dashboard shows the published figures, as charts and tables, for the area chosen', async () => {
  const page = await newPage(browser);
  await signIn(page, reported.base, 'nurse');
  await menu(page, 'Dashboards');
  await page.locator('section[data-indicator]').first().waitFor();
  const read = (f) => page.evaluate((name) => fetch(`/reports/${name}`).then((r) => r.text()), f);
  const csv = {
    indicators: csvRecords(await read('indicators.csv')),
    pyramid: csvRecords(await read('risk_pyramid.csv')),
    tasks: csvRecords(await read('tasks.csv')),
  };
  // what was read through the server is what kith report wrote
  assert.equal(await read('tasks.csv'), fs.readFileSync(path.join(`${place.db}.report`, 'tasks.csv'), 'utf8'));
  const [y, m, d] = csv.tasks[0].count_date.split('-').map(Number);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  assert.match(await page.locator('#published').innerText(), new RegExp(`published on ${d} ${months[m - 1]} ${y}`));
  assert.equal(await page.locator('#area-heading').innerText(), 'The place');
  const charted = await checkArea(page, 'place', csv);
  assert.ok(charted >= 1, 'at least one indicator of the place has a chart');
  // the place's means and limits agree with the printable report's
  const report = await read('index.html');
  const badges = [...report.matchAll(/mean (-?[0-9.e+]*[0-9]), process\s+limits (-?[0-9.e+]*[0-9]) to (-?[0-9.e+]*[0-9])/g)];
  assert.equal(badges.length, charted, 'the printable report charts the same indicators of the place');
  const limits = await page.locator('.kith-limits').allInnerTexts();
  for (const m of badges) assert.ok(limits.includes(`${m[2]} to ${m[3]}`), `the report's limits ${m[2]} to ${m[3]} are shown (${limits})`);
  assert.equal(await page.getByRole('link', { name: 'Open the full printable report' }).getAttribute('href'), '/reports/index.html');
  // the team's referrals answered live: 2 in time and 1 late
  const total = answered.inTime + answered.late;
  assert.equal(await page.locator('[data-figure="answered"]').innerText(), String(total));
  assert.equal(await page.locator('[data-figure="in-time"]').innerText(), `${Math.round((100 * answered.inTime) / total)}%`);
  await page.locator('section[data-indicator] details summary').first().click();
  await checkPage(page, 'dashboard-place');

  // another area: a neighbourhood, then the 65+ cohort
  for (const unit of ['org-int-1', 'aged-65-and-over']) {
    await page.getByLabel('Area').selectOption(unit);
    await page.getByRole('button', { name: 'Show this area' }).click();
    const name = csv.indicators.find((r) => r.unit === unit).unit_name;
    await page.locator('#area-heading', { hasText: name }).waitFor();
    assert.ok(page.url().endsWith(`#/dashboard/${unit}`));
    await checkArea(page, unit, csv);
    await checkPage(page, `dashboard-${unit}`);
  }
  // the address keeps the area
  await page.reload();
  await settled(page);
  await page.locator('#area-heading', { hasText: 'People aged 65 and over' }).waitFor();
  await page.context().close();
});

test('the dashboard works 320 pixels wide', async () => {
  const page = await newPage(browser, { width: 320, height: 640 });
  await signIn(page, reported.base, 'gp');
  await page.goto(`${reported.base}/#/dashboard`);
  await settled(page);
  await page.locator('section[data-indicator]').first().waitFor();
  const overflow = await sidewaysScroll(page);
  assert.ok(overflow <= 0, `the dashboard scrolls sideways by ${overflow} px at 320 px`);
  await checkPage(page, 'dashboard-320');
  await page.context().close();
});
