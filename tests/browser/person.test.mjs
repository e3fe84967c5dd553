// The person's record page: the banner, the timeline and its filters, the
// care team, the shared care plan, referrals, frailty and risk, who has
// looked; break-glass for staff with no care relationship; stored script
// shown as text; 320 px wide. Chromium against a real kith serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPlace, launchBrowser, newPage, signIn, settled, checkPage, STAFF, sidewaysScroll } from './lib/place.mjs';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const KITH = 'https://kith.example.org/fhir';
let place, browser;
let rich, plain; // a person with a record across sectors; one with GP data only
let richAll; // the resources of rich's record
let fallsTask, overdueTask, keyWorkerName;

async function api(method, path, body) {
  const r = await fetch(`${place.base}/fhir/${path}`, {
    method, headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await r.json().catch(() => undefined);
  assert.ok(r.ok, `${method} ${path} answered ${r.status}: ${JSON.stringify(json)}`);
  return json;
}
const resources = (b, type) => (b.entry ?? []).map((e) => e.resource).filter((r) => !type || r.resourceType === type);
const spaced = (n) => `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`;
const daysFromNow = (d) => new Date(Date.now() + d * 86400000).toISOString();

before(async () => {
  place = await startPlace({});
  browser = await launchBrowser();
  const gpPeople = resources(await api('GET', `Patient?general-practitioner=Organization/${STAFF.gp.org}&_count=200`), 'Patient')
    .filter((p) => p.identifier?.some((i) => i.system === NHS));
  // the richest record with hospital stays and social care; and one with no one but the GP involved
  let best = -1;
  for (const p of gpPeople) {
    const all = resources(await api('GET', `Patient/${p.id}/$everything?_count=1000`));
    const text = JSON.stringify(all);
    const hospital = all.some((r) => r.resourceType === 'Encounter' && r.serviceProvider?.reference === 'Organization/org-acute');
    const social = text.includes('"code":"cld"');
    if (hospital && social && all.length > best) { best = all.length; rich = p; }
    if (!plain && !text.includes('la-E06000999') && !all.some((r) => ['CareTeam', 'EpisodeOfCare', 'Task', 'ServiceRequest'].includes(r.resourceType))) plain = p;
  }
  assert.ok(rich && plain, 'the synthetic place has the people these tests need');
  const subject = { reference: `Patient/${rich.id}` };
  // key worker, shared plan, an alert, a referral on the clock and one overdue
  await api('POST', 'EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: subject,
    managingOrganization: { reference: 'Organization/org-community' }, careManager: { reference: `Practitioner/${STAFF.nurse.practitioner}` },
    period: { start: daysFromNow(-30).slice(0, 10) } });
  const goal = await api('POST', 'Goal', { resourceType: 'Goal', lifecycleStatus: 'active', subject,
    description: { text: 'To keep walking to the shops with my daughter' }, target: [{ dueDate: daysFromNow(60).slice(0, 10) }] });
  await api('POST', 'CarePlan', { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject, title: 'Staying well at home',
    period: { start: daysFromNow(-10).slice(0, 10), end: daysFromNow(80).slice(0, 10) }, author: { reference: 'Organization/gp-Z00001' },
    goal: [{ reference: `Goal/${goal.id}` }],
    activity: [{ detail: { status: 'scheduled', description: 'Weekly visit by the district nurse', performer: [{ reference: 'Organization/org-community' }] } }] });
  await api('POST', 'Flag', { resourceType: 'Flag', status: 'active', subject, code: { text: 'Lives alone: key safe code held by daughter' } });
  const referred = await api('POST', 'ServiceRequest/$refer', { resourceType: 'Parameters', parameter: [
    { name: 'patient', valueReference: subject }, { name: 'service', valueReference: { reference: 'HealthcareService/hs-falls' } },
    { name: 'priority', valueCode: 'routine' }, { name: 'reason', valueString: 'Two falls at home this month' },
    { name: 'requester', valueReference: { reference: `Practitioner/${STAFF.gp.practitioner}` } }] });
  fallsTask = resources(referred, 'Task')[0];
  const sr = await api('POST', 'ServiceRequest', { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject,
    code: { text: 'Memory assessment' }, performer: [{ reference: 'HealthcareService/hs-memory' }],
    requester: { reference: `Practitioner/${STAFF.gp.practitioner}` }, authoredOn: daysFromNow(-20) });
  overdueTask = await api('POST', 'Task', { resourceType: 'Task', status: 'requested', intent: 'order', for: subject,
    focus: { reference: `ServiceRequest/${sr.id}` }, owner: { reference: 'Organization/org-community' },
    description: 'Memory assessment', authoredOn: daysFromNow(-20), restriction: { period: { end: daysFromNow(-3) } } });
  const nurse = await api('GET', `Practitioner/${STAFF.nurse.practitioner}`);
  keyWorkerName = nurse.name[0].family;
  richAll = resources(await api('GET', `Patient/${rich.id}/$everything?_count=1000`));
});

after(async () => {
  await browser?.close();
  await place?.stop();
});

/** Open a record from inside the app; prints how long until its h1 showed. */
async function openRecord(page, id, label) {
  const t0 = performance.now();
  await page.evaluate((x) => { location.hash = `#/person/${x}`; }, id);
  await settled(page);
  await page.locator('main h1').waitFor();
  console.log(`${label}: record shown ${(performance.now() - t0).toFixed(0)} ms after navigation`);
}

test('a GP opens a registered patient\'s record: banner, timeline filters, care team, plan, referrals, risk, access', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'gp');
  await settled(page);
  await openRecord(page, rich.id, 'GP');
  const name = `${rich.name[0].given.join(' ')} ${rich.name[0].family.toUpperCase()}`;
  assert.equal((await page.locator('main h1').innerText()).trim(), name);
  const nhs = rich.identifier.find((i) => i.system === NHS).value;
  assert.equal(await page.locator('#banner-nhs').innerText(), spaced(nhs));
  const born = new Date(rich.birthDate);
  const now = new Date();
  let age = now.getUTCFullYear() - born.getUTCFullYear();
  if (now.getUTCMonth() < born.getUTCMonth() || (now.getUTCMonth() === born.getUTCMonth() && now.getUTCDate() < born.getUTCDate())) age--;
  assert.equal(await page.locator('#banner-age').innerText(), String(age));
  assert.equal(await page.locator('#banner-gp').innerText(), 'Park Lane Surgery');
  assert.match(await page.locator('#banner-key-worker').innerText(), new RegExp(keyWorkerName));
  assert.match(await page.locator('#banner-alerts').innerText(), /Lives alone: key safe code held by daughter/);
  const efi = richAll.find((r) => r.id === `efi-${rich.id}`);
  const category = efi.prediction[0].qualitativeRisk.coding[0].code;
  assert.match((await page.locator('#banner-frailty').innerText()).toLowerCase(), new RegExp(category));
  assert.equal(await page.locator('#banner-glass').count(), 0);
  // the record is remembered for the home page
  const recent = await page.evaluate(() => JSON.parse(localStorage.getItem('kith.recent.gp')));
  assert.equal(recent[0], rich.id);
  await checkPage(page, 'person-gp');

  // the timeline: newest first, 50 at a time, filters narrow it
  const items = page.locator('#timeline-list > li');
  const shownAll = await items.count();
  assert.ok(shownAll > 0 && shownAll <= 50, `the timeline shows ${shownAll} entries`);
  const dates = await items.locator('time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));
  assert.deepEqual(dates, [...dates].sort().reverse(), 'newest first');
  const total = Number(/of (\d+)/.exec(await page.locator('#timeline-count').innerText())[1]);
  await page.getByRole('checkbox', { name: /^Hospital/ }).check();
  await page.waitForFunction(() => [...document.querySelectorAll('#timeline-list > li')].every((li) => li.dataset.sector === 'hospital'));
  const hospital = await items.count();
  assert.ok(hospital > 0 && hospital < total, `hospital entries ${hospital} of ${total}`);
  assert.match(await page.locator('#timeline-count').innerText(), new RegExp(`${hospital} of ${total} entries match`));
  await page.getByRole('checkbox', { name: /^Social care/ }).check();
  await page.waitForFunction(() => [...document.querySelectorAll('#timeline-list > li')].some((li) => li.dataset.sector === 'social-care'));
  await page.getByRole('checkbox', { name: /^Hospital/ }).uncheck();
  await page.getByRole('checkbox', { name: /^Social care/ }).uncheck();
  // the type filter, by keyboard
  await page.getByRole('checkbox', { name: /^Medicines/ }).focus();
  await page.keyboard.press('Space');
  await page.waitForFunction(() => [...document.querySelectorAll('#timeline-list > li')].every((li) => li.dataset.kind === 'MedicationRequest'));
  const meds = richAll.filter((r) => r.resourceType === 'MedicationRequest').length;
  assert.equal(await items.count(), Math.min(meds, 50));
  await checkPage(page, 'person-gp-filtered');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.waitForFunction((n) => document.querySelectorAll('#timeline-list > li').length === n, shownAll);
  if (total > 50) {
    await page.locator('#timeline-more').click();
    assert.equal(await items.count(), Math.min(total, 100));
    assert.equal(await page.evaluate(() => document.activeElement === document.querySelectorAll('#timeline-list > li')[50]), true);
  }

  // care team, with how to reach them
  const team = page.locator('#care-team-table');
  assert.match(await team.innerText(), /Park Lane Surgery/);
  assert.match(await team.innerText(), new RegExp(keyWorkerName));
  assert.ok(await team.locator('a[href^="tel:"]').count() > 0);
  // the shared plan
  const plan = page.locator('#care-plan-section');
  assert.match(await plan.innerText(), /Staying well at home/);
  assert.match(await plan.innerText(), /To keep walking to the shops with my daughter/);
  assert.match(await plan.innerText(), /Weekly visit by the district nurse/);
  // referrals: links to the referral page, overdue in red, and a way to refer
  const refs = page.locator('#referrals-table');
  assert.equal(await refs.locator(`a[href="#/referral/${fallsTask.id}"]`).count(), 1);
  const overdueRow = refs.locator('tr', { has: page.locator(`a[href="#/referral/${overdueTask.id}"]`) });
  assert.equal(await overdueRow.locator('.kith-overdue').count(), 1);
  assert.match(await overdueRow.innerText(), /Overdue/);
  assert.equal(await page.getByRole('link', { name: 'Make a referral' }).getAttribute('href'), `#/refer/${rich.id}`);
  // risk, with the deficits that contribute
  const deficits = efi.extension.filter((e) => e.url.endsWith('/efi-deficit')).map((e) => e.extension.find((x) => x.url === 'deficit').valueCoding.display);
  assert.equal(await page.locator('#deficits > li').count(), deficits.length);
  for (const d of deficits) assert.match(await page.locator('#deficits').innerText(), new RegExp(d.replace(/[()]/g, '.')));
  // who has looked: the GP cares for the person, so sees who has looked at the record; the GP's
  // own view is listed once written (the audit log is written a moment after the request)
  await new Promise((r) => setTimeout(r, 100));
  await page.reload();
  await settled(page);
  const ownRow = page.locator('#access-log-table tbody tr', { hasText: /^gp/ });
  await ownRow.first().waitFor();
  assert.match(await ownRow.first().innerText(), /Looked at the record/);
  assert.match(await ownRow.first().innerText(), /Care relationship/);
  const log = resources(await api('GET', `AuditEvent?patient=Patient/${rich.id}&agent=user/gp&_count=50`), 'AuditEvent');
  assert.ok(log.some((a) => a.entity?.some((e) => e.what?.reference === `Patient/${rich.id}` && e.type?.code === '2') && a.action === 'R'));
  // the contents list moves to a section without changing the address
  await page.locator('.kith-contents').getByRole('link', { name: 'Referrals' }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'referrals');
  assert.ok(page.url().endsWith(`#/person/${rich.id}`));
  await page.context().close();
});

test('someone with no care relationship gets break-glass: a reason is required, then the record opens', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'socialworker');
  await settled(page);
  await openRecord(page, plain.id, 'break-glass page');
  assert.equal(await page.locator('main h1').innerText(), 'This person\'s record is not open to you');
  await checkPage(page, 'person-break-glass');
  await page.getByLabel('Why do you need to see this record now?').fill('urgent');
  await page.getByRole('button', { name: 'Open the record (break-glass)' }).click();
  await page.locator('.nhsuk-error-message').waitFor();
  assert.match(await page.locator('.nhsuk-error-summary').innerText(), /at least 10 characters/);
  await checkPage(page, 'person-break-glass-error');
  // the error links to the field without leaving the page
  await page.locator('.nhsuk-error-summary a').click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'reason');
  assert.ok(page.url().endsWith(`#/person/${plain.id}`));
  // still refused by the API: nothing was granted
  assert.equal(await page.evaluate((id) => fetch(`/fhir/Patient/${id}`).then((r) => r.status), plain.id), 404);
  const reason = 'Called to the person at home by their neighbour; no records available';
  await page.getByLabel('Why do you need to see this record now?').fill(reason);
  await page.getByRole('button', { name: 'Open the record (break-glass)' }).click();
  await page.locator('#banner').waitFor();
  assert.equal((await page.locator('main h1').innerText()).trim(), `${plain.name[0].given.join(' ')} ${plain.name[0].family.toUpperCase()}`);
  assert.match(await page.locator('#banner-glass').innerText(), /You opened this record by break-glass/);
  await checkPage(page, 'person-after-break-glass');
  // under the grant, who has looked is open to them too: their break-glass is listed once written
  await new Promise((r) => setTimeout(r, 100));
  await page.reload();
  await settled(page);
  const glassRow = page.locator('#access-log-table tbody tr', { hasText: /^socialworker/ }).filter({ hasText: 'Broke the glass' });
  await glassRow.first().waitFor();
  assert.match(await glassRow.first().innerText(), new RegExp(reason.slice(0, 20)));
  assert.match(await glassRow.first().innerText(), /Break-glass/);
  // stored: the grant, and the audit trail
  assert.equal(await page.evaluate((id) => fetch(`/fhir/Patient/${id}`).then((r) => r.status), plain.id), 200);
  const log = resources(await api('GET', `AuditEvent?patient=Patient/${plain.id}&agent=user/socialworker`), 'AuditEvent');
  assert.ok(log.some((a) => a.type?.code === 'break-glass' && a.outcomeDesc.includes(reason)));
  // opened again later (a new page load), the banner still says break-glass
  await page.reload();
  await settled(page);
  await page.locator('#banner-glass').waitFor();
  await page.context().close();
});

test('an administrator sees who has looked, including by break-glass', async () => {
  // the GP looks first
  const gp = await newPage(browser);
  await signIn(gp, place.base, 'gp');
  await openRecord(gp, plain.id, 'GP');
  await gp.context().close();
  const page = await newPage(browser);
  await signIn(page, place.base, 'admin');
  await openRecord(page, plain.id, 'admin break-glass page');
  await page.getByLabel('Why do you need to see this record now?').fill('Information governance review of a break-glass access');
  await page.getByRole('button', { name: 'Open the record (break-glass)' }).click();
  await page.locator('#banner-glass').waitFor();
  // the log as it stands when the record is opened again (a view's own requests are still being written)
  await page.reload();
  await settled(page);
  await page.locator('#access-log-table').waitFor();
  const log = page.locator('#access-log-table');
  const gpRow = log.locator('tbody tr', { hasText: /^gp/ });
  assert.ok(await gpRow.count() >= 1, 'the GP\'s view is listed');
  assert.match(await gpRow.first().innerText(), /Looked at/);
  assert.match(await gpRow.first().innerText(), /Care relationship/);
  const glassRows = log.locator('tbody tr', { hasText: 'Broke the glass' });
  assert.ok(await glassRows.count() >= 1, 'break-glass is listed');
  const adminRow = log.locator('tbody tr', { hasText: /^admin/ }).first();
  assert.match(await adminRow.innerText(), /Broke the glass: Information governance review/);
  assert.match(await adminRow.innerText(), /Break-glass/);
  await checkPage(page, 'person-access-log');
  await page.context().close();
});

test('script stored in a record is shown as text and never runs', async () => {
  const evil = '<img src=x onerror=alert(1)>';
  const p = await api('POST', 'Patient', { resourceType: 'Patient', active: true,
    name: [{ use: 'official', family: evil, given: ['Eve'] }], birthDate: '1950-01-01',
    generalPractitioner: [{ reference: `Organization/${STAFF.gp.org}` }] });
  await api('POST', 'Flag', { resourceType: 'Flag', status: 'active', subject: { reference: `Patient/${p.id}` }, code: { text: evil } });
  await api('POST', 'Condition', { resourceType: 'Condition', subject: { reference: `Patient/${p.id}` },
    code: { text: `<script>alert(2)</script>${evil}` }, recordedDate: '2025-01-01' });
  const page = await newPage(browser);
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await signIn(page, place.base, 'gp');
  await openRecord(page, p.id, 'stored script');
  assert.equal((await page.locator('main h1').innerText()).trim(), `Eve ${evil.toUpperCase()}`);
  assert.match(await page.locator('#banner-alerts').innerText(), /<img src=x onerror=alert\(1\)>/);
  assert.match(await page.locator('#timeline-list').innerText(), /<script>alert\(2\)<\/script>/);
  assert.equal(await page.locator('main img, main script').count(), 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(dialogs, []);
  await checkPage(page, 'person-stored-script');
  await page.context().close();
});

test('the record works 320 pixels wide', async () => {
  const page = await newPage(browser, { width: 320, height: 640 });
  await signIn(page, place.base, 'gp');
  await openRecord(page, rich.id, 'GP at 320 px');
  await page.locator('#timeline-list > li').first().waitFor();
  const overflow = await sidewaysScroll(page);
  assert.ok(overflow <= 0, `the record scrolls sideways by ${overflow} px at 320 px`);
  await checkPage(page, 'person-320');
  await page.context().close();
});
