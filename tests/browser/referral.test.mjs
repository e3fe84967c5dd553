// Making a referral from the directory (a GP), and the receiving team
// following it on their worklist (accept, reassign, complete, decline, a
// change made meanwhile by someone else), in Chromium against a real kith serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPlace, launchBrowser, newPage, signIn, settled, checkPage, STAFF, sidewaysScroll } from './lib/place.mjs';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
let place, browser, adults;
const state = {};

const api = async (path, init = {}) => {
  const r = await fetch(`${place.base}/fhir/${path}`, {
    ...init, headers: { Accept: 'application/fhir+json', 'Content-Type': 'application/fhir+json', ...(init.headers ?? {}) },
  });
  return { status: r.status, json: await r.json().catch(() => null), etag: r.headers.get('etag') };
};

before(async () => {
  place = await startPlace({ people: 150, scoreRisk: false });
  browser = await launchBrowser();
  // adults the GP's practice looks after, with an NHS number
  const b = (await api(`Patient?general-practitioner=Organization/${STAFF.gp.org}&_count=50`)).json;
  adults = b.entry.map((e) => e.resource).filter((p) => p.identifier?.some((i) => i.system === NHS) &&
    p.birthDate && p.birthDate < '1990-01-01' && !p.deceasedDateTime && p.deceasedBoolean !== true);
  assert.ok(adults.length >= 3, 'the synthetic place has adults registered with gp-Z00001');
  // a service that asks every referral for particular details
  const hs = await api('HealthcareService/hs-test-memory-clinic', { method: 'PUT', body: JSON.stringify({
    resourceType: 'HealthcareService', id: 'hs-test-memory-clinic', active: true, name: 'Test memory clinic',
    providedBy: { reference: 'Organization/org-community' },
    category: [{ coding: [{ system: 'https://kith.example.org/fhir/CodeSystem/sector', code: 'mental-health' }] }],
    characteristic: [{ coding: [{ system: 'https://kith.example.org/fhir/CodeSystem/need', code: 'memory' }] }],
    comment: 'Memory assessments in clinic.',
    extraDetails: '**Who it is for:** Adults with memory problems.\n\n**How to refer:** Electronic referral.\n\n**Please include:** Recent blood test results; Who lives with them',
    eligibility: [{ comment: 'Adults with memory problems.' }],
  }) });
  assert.ok([200, 201].includes(hs.status), `the test service was stored (${hs.status})`);
});

after(async () => {
  await browser?.close();
  await place?.stop();
});

async function referByNeed(page, person, need, serviceName, reason) {
  await page.goto(`${place.base}/#/refer/${person.id}`);
  await settled(page);
  await page.getByLabel('What do they need help with?').selectOption(need);
  await page.getByRole('button', { name: 'Find services' }).click();
  await page.locator('#results-count', { hasText: 'fit' }).waitFor();
  await page.getByRole('button', { name: `Refer to ${serviceName}` }).click();
  await page.getByRole('heading', { name: `Referral to ${serviceName}` }).waitFor();
  await page.getByLabel('Urgent').check();
  await page.getByLabel('Why are you referring them?').fill(reason);
  await page.getByRole('button', { name: 'Send referral' }).click();
  await page.getByRole('heading', { name: 'Referral sent' }).waitFor();
  return (await page.locator('#open-referral').getAttribute('href')).split('/').pop();
}

test('a GP finds a service by need and refers a registered patient; referring twice warns', async () => {
  const person = adults[0];
  const page = await newPage(browser);
  await signIn(page, place.base, 'gp');
  await page.goto(`${place.base}/#/refer/${person.id}`);
  await settled(page);
  const nhs = person.identifier.find((i) => i.system === NHS).value;
  await page.getByText(`${nhs.slice(0, 3)} ${nhs.slice(3, 6)} ${nhs.slice(6)}`).waitFor();
  await checkPage(page, 'refer');
  await page.getByLabel('What do they need help with?').selectOption('personal-care');
  await page.getByLabel('Words to search for (optional)').fill('assessment');
  await page.getByRole('button', { name: 'Find services' }).click();
  await page.locator('#results-count', { hasText: '1 service fits the need personal care' }).waitFor();
  const card = page.locator('.kith-service-card', { hasText: 'Adult social care front door' }).first();
  assert.match(await card.innerText(), /Fits/);
  assert.match(await card.innerText(), /Urgent: 4 working hours/);
  assert.match(await card.innerText(), /Duty desk, Adult social care front door/);
  await page.getByText(/^\d+ services do not fit$/).click();
  assert.match(await page.locator('#unfit').innerText(), /Does not fit\s+Does not list the need: personal care/);
  await checkPage(page, 'refer-results');
  await card.getByRole('button', { name: 'Refer to Adult social care front door' }).click();
  await page.getByRole('heading', { name: 'Referral to Adult social care front door' }).waitFor();
  await checkPage(page, 'refer-form');
  // nothing filled in: the error summary links to the fields
  await page.getByRole('button', { name: 'Send referral' }).click();
  const summary = page.locator('.nhsuk-error-summary');
  await summary.getByRole('link', { name: 'Say why you are referring them' }).waitFor();
  await summary.getByRole('link', { name: 'Choose how urgent the referral is' }).waitFor();
  await checkPage(page, 'refer-form-errors');
  await summary.getByRole('link', { name: 'Say why you are referring them' }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'reason');
  await page.getByLabel('Urgent').check();
  await page.getByLabel('Why are you referring them?').fill('Struggling at home after a fall; carer exhausted');
  await page.getByLabel('Anything else the team should know (optional)').fill('Daughter is the main contact');
  await page.getByRole('button', { name: 'Send referral' }).click();
  await page.getByRole('heading', { name: 'Referral sent' }).waitFor();
  const due = await page.locator('#due-date').innerText();
  assert.match(due, /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}$/);
  assert.equal(await page.getByText('They were already referred').count(), 0);
  await checkPage(page, 'refer-sent');
  const taskId = (await page.locator('#open-referral').getAttribute('href')).split('/').pop();
  // stored: the Task (owned by the service's team, due when the page said) and its ServiceRequest
  const task = (await api(`Task/${taskId}`)).json;
  assert.equal(task.status, 'requested');
  assert.equal(task.priority, 'urgent');
  assert.equal(task.owner.reference, 'Organization/la-E06000999');
  assert.equal(task.for.reference, `Patient/${person.id}`);
  assert.ok(task.restriction.period.end);
  const shown = new Date(task.restriction.period.end).toLocaleString('en-GB', { day: 'numeric', month: 'short', year: 'numeric',
    hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London' });
  assert.equal(due, shown);
  const sr = (await api(task.focus.reference)).json;
  assert.equal(sr.performer[0].reference, 'HealthcareService/hs-asc-front-door');
  assert.equal(sr.reasonCode[0].text, 'Struggling at home after a fall; carer exhausted');
  assert.equal(sr.note[0].text, 'Daughter is the main contact');
  assert.equal(sr.requester.reference, `Practitioner/${STAFF.gp.practitioner}`);
  state.first = taskId;
  state.person = person;
  // the same person to the same service again: the duplicate warning
  await page.getByRole('button', { name: 'Make another referral for them' }).click();
  await page.getByRole('heading', { name: 'Make a referral' }).waitFor();
  state.second = await referByNeed(page, person, 'personal-care', 'Adult social care front door', 'Needs help with washing and dressing');
  await page.getByText('They were already referred to this service').waitFor();
  assert.equal(await page.getByRole('link', { name: 'see the earlier referral' }).getAttribute('href'), `#/referral/${taskId}`);
  await checkPage(page, 'refer-duplicate');
  await page.context().close();
});

test('a service that asks for particular details gets them in the referral note', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'gp');
  await page.goto(`${place.base}/#/refer/${adults[2].id}`);
  await settled(page);
  await page.getByLabel('What do they need help with?').selectOption('memory');
  await page.getByRole('button', { name: 'Find services' }).click();
  await page.getByRole('button', { name: 'Refer to Test memory clinic' }).click();
  await page.getByText('It asks every referral to include: Recent blood test results; Who lives with them').waitFor();
  await page.getByLabel('Routine').check();
  await page.getByLabel('Why are you referring them?').fill('Forgetting appointments');
  await page.getByRole('button', { name: 'Send referral' }).click();
  await page.locator('.nhsuk-error-summary').getByRole('link', { name: /Enter recent blood test results/ }).waitFor();
  await checkPage(page, 'refer-asked-fields');
  await page.getByLabel('Recent blood test results').fill('Normal, March');
  await page.getByLabel('Who lives with them').fill('Husband');
  await page.getByRole('button', { name: 'Send referral' }).click();
  await page.getByRole('heading', { name: 'Referral sent' }).waitFor();
  const id = (await page.locator('#open-referral').getAttribute('href')).split('/').pop();
  const task = (await api(`Task/${id}`)).json;
  const sr = (await api(task.focus.reference)).json;
  assert.equal(sr.note[0].text, 'Recent blood test results: Normal, March\nWho lives with them: Husband');
  await page.context().close();
});

test('the receiving team accepts the referral from its worklist, reassigns it and completes it', async () => {
  assert.ok(state.first, 'the referral was made');
  const page = await newPage(browser);
  await signIn(page, place.base, 'socialworker');
  await settled(page);
  const link = page.locator(`#team a[href="#/referral/${state.first}"]`);
  await link.waitFor();
  await link.click();
  await page.getByRole('heading', { name: 'Referral to Adult social care front door' }).waitFor();
  await settled(page);
  assert.match(await page.locator('#status').innerText(), /Waiting to be accepted/);
  assert.match(await page.locator('#clock').innerText(), /left|overdue/);
  assert.match(await page.locator('#history').innerText(), /Referral sent to Kithshire Council Adult Social Care/);
  // only the moves the state machine allows
  assert.equal(await page.getByRole('button', { name: 'Complete referral' }).count(), 0);
  await checkPage(page, 'referral-requested');
  await page.getByRole('button', { name: 'Accept referral' }).click();
  await page.locator('#kith-notice', { hasText: 'Referral accepted' }).waitFor();
  assert.equal((await api(`Task/${state.first}`)).json.status, 'accepted');
  // the history says who, by the name of the social worker's Practitioner
  const me = (await api(`Practitioner/${STAFF.socialworker.practitioner}`)).json.name[0];
  assert.match(await page.locator('#history').innerText(), new RegExp(`Accepted\\s+${[me.prefix?.[0], ...me.given, me.family].filter(Boolean).join(' ')}`));
  await checkPage(page, 'referral-accepted');
  // to a colleague in the team
  await page.getByText('Reassign to someone else').click();
  const option = page.locator('#new-owner option', { hasText: '(social worker)' }).first();
  const colleague = await option.getAttribute('value');
  const colleagueName = (await option.innerText()).replace(/ \(.*\)$/, '');
  await page.getByLabel('Give it to').selectOption(colleague);
  await checkPage(page, 'referral-reassign');
  await page.getByRole('button', { name: 'Reassign' }).click();
  await page.locator('#kith-notice', { hasText: `Referral reassigned to ${colleagueName}` }).waitFor();
  assert.equal(await page.locator('#owner').innerText(), colleagueName);
  assert.equal((await api(`Task/${state.first}`)).json.owner.reference, colleague);
  assert.match(await page.locator('#history').innerText(), new RegExp(`Reassigned from Kithshire Council Adult Social Care to ${colleagueName}`));
  await page.getByRole('button', { name: 'Complete referral' }).click();
  await page.locator('#kith-notice', { hasText: 'Referral completed' }).waitFor();
  await page.locator('#closed').waitFor();
  assert.equal((await api(`Task/${state.first}`)).json.status, 'completed');
  await checkPage(page, 'referral-completed');
  await page.context().close();
});

test('declining needs a reason', async () => {
  assert.ok(state.second, 'the second referral was made');
  const page = await newPage(browser);
  await signIn(page, place.base, 'socialworker');
  await page.goto(`${place.base}/#/referral/${state.second}`);
  await settled(page);
  await page.getByText('Decline this referral').click();
  await page.getByRole('button', { name: 'Decline referral' }).click();
  const summary = page.locator('.nhsuk-error-summary');
  await summary.getByRole('link', { name: 'Say why you are declining the referral' }).waitFor();
  assert.equal((await api(`Task/${state.second}`)).json.status, 'requested');
  await checkPage(page, 'referral-decline-error');
  await page.getByLabel('Why are you declining it?').fill('Duplicate of an open referral; the team already has it');
  await page.getByRole('button', { name: 'Decline referral' }).click();
  await page.locator('#kith-notice', { hasText: 'Referral declined' }).waitFor();
  const t = (await api(`Task/${state.second}`)).json;
  assert.equal(t.status, 'rejected');
  assert.equal(t.statusReason.text, 'Duplicate of an open referral; the team already has it');
  // the page says so; with no open referral left the team no longer shares the person's record
  assert.match(await page.locator('main').innerText(), /Declined: Duplicate of an open referral/);
  await page.locator('#closed').waitFor();
  await checkPage(page, 'referral-declined');
  await page.context().close();
});

test('a change made by someone else meanwhile is not overwritten: the latest is shown', async () => {
  const person = adults[1];
  const made = await api('ServiceRequest/$refer', { method: 'POST', body: JSON.stringify({ resourceType: 'Parameters', parameter: [
    { name: 'patient', valueReference: { reference: `Patient/${person.id}` } },
    { name: 'service', valueReference: { reference: 'HealthcareService/hs-asc-front-door' } },
    { name: 'priority', valueCode: 'routine' },
    { name: 'reason', valueString: 'Carer needs an assessment' }] }) });
  assert.equal(made.status, 201);
  const taskId = made.json.entry.map((e) => e.resource).find((r) => r.resourceType === 'Task').id;
  const page = await newPage(browser, { width: 320, height: 640 });
  await signIn(page, place.base, 'socialworker');
  await page.goto(`${place.base}/#/referral/${taskId}`);
  await settled(page);
  await page.getByRole('button', { name: 'Accept referral' }).waitFor();
  const overflow = await sidewaysScroll(page);
  assert.ok(overflow <= 0, `the referral page scrolls sideways by ${overflow} px at 320 px`);
  await checkPage(page, 'referral-320');
  // someone else gives it to a colleague while the page is open
  const cur = await api(`Task/${taskId}`);
  const other = await api(`Task/${taskId}`, { method: 'PUT', headers: { 'If-Match': cur.etag },
    body: JSON.stringify({ ...cur.json, owner: { reference: 'Practitioner/pr-108' } }) });
  assert.equal(other.status, 200);
  await page.getByRole('button', { name: 'Accept referral' }).click();
  await page.getByText('Someone else changed this referral while you had it open').waitFor();
  assert.match(await page.locator('#owner').innerText(), /Nigel Gray|pr-108/);
  const t = (await api(`Task/${taskId}`)).json;
  assert.equal(t.status, 'requested');
  assert.equal(t.owner.reference, 'Practitioner/pr-108');
  await checkPage(page, 'referral-conflict');
  // on the latest version the same click works
  await page.getByRole('button', { name: 'Accept referral' }).click();
  await page.locator('#kith-notice', { hasText: 'Referral accepted' }).waitFor();
  assert.equal((await api(`Task/${taskId}`)).json.status, 'accepted');
  await page.context().close();
});

test('the referral page works 320 pixels wide', async () => {
  const page = await newPage(browser, { width: 320, height: 640 });
  await signIn(page, place.base, 'gp');
  await page.goto(`${place.base}/#/refer/${adults[1].id}`);
  await settled(page);
  const overflow = await sidewaysScroll(page);
  assert.ok(overflow <= 0, `the refer page scrolls sideways by ${overflow} px at 320 px`);
  await checkPage(page, 'refer-320');
  await page.getByRole('button', { name: 'Refer to Carers hub' }).click();
  await page.getByRole('heading', { name: 'Referral to Carers hub' }).waitFor();
  const overflow2 = await sidewaysScroll(page);
  assert.ok(overflow2 <= 0, `the referral form scrolls sideways by ${overflow2} px at 320 px`);
  await checkPage(page, 'refer-form-320');
  await page.context().close();
});
