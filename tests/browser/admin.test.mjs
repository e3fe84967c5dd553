// Administration: an administrator adds a user (who can then sign in), sees
// what is wrong with bad input, disables a user (who then cannot sign in),
// adds someone to a team, and edits a service's response targets (saved with
// If-Match: a change made meanwhile by someone else is not overwritten).
// Anyone else is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPlace, launchBrowser, newPage, settled, checkPage, menu, PASSWORD, sidewaysScroll } from './lib/place.mjs';

let place, browser, page;

before(async () => {
  place = await startPlace({ scoreRisk: false });
  browser = await launchBrowser();
  // one administrator's session for the tests below (signing in is slow on purpose)
  page = await newPage(browser);
  await signInAt(page, 'admin/users', 'admin');
});

after(async () => {
  await browser?.close();
  await place?.stop();
});

/** Sign in on the sign-in page shown at an address, which then draws that page. */
async function signInAt(p, where, username) {
  await p.goto(`${place.base}/#/${where}`);
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('button', { name: 'Sign out' }).waitFor();
  await settled(p);
}

const login = (username, password = PASSWORD) => fetch(`${place.base}/auth/login`, {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
}).then((r) => r.status);

test('someone who is not an administrator is refused', async () => {
  const page = await newPage(browser);
  await signInAt(page, 'admin', 'nurse');
  assert.equal(await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Administration' }).count(), 0);
  for (const where of ['admin', 'admin/services/hs-falls']) {
    await page.goto(`${place.base}/#/${where}`);
    await settled(page);
    await page.getByRole('heading', { level: 1, name: 'You need to be an administrator' }).waitFor();
  }
  assert.equal(await page.evaluate(() => fetch('/auth/users').then((r) => r.status)), 403);
  await checkPage(page, 'admin-refused');
  await page.context().close();
});

test('an administrator adds a user, who can then sign in; bad input is explained', async () => {
  await menu(page, 'Administration');
  await checkPage(page, 'admin-home');
  await page.getByRole('link', { name: 'Users', exact: true }).first().click();
  await settled(page);
  await page.locator('#users').waitFor();
  await checkPage(page, 'admin-users');
  await page.getByRole('link', { name: 'Add a user' }).click();
  await settled(page);
  // nothing filled in, then a username Kith cannot take
  await page.getByRole('button', { name: 'Add user' }).click();
  const summary = page.locator('.nhsuk-error-summary');
  await summary.waitFor();
  for (const text of ['Enter a username', 'Choose a role', 'Choose the organisation or team they work for', 'Enter a password of at least 8 characters'])
    await summary.getByRole('link', { name: text }).waitFor();
  assert.equal(await page.locator('#role-error').count(), 1, 'the field says what is wrong too');
  await summary.getByRole('link', { name: 'Choose a role' }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'role');
  assert.ok(page.url().endsWith('#/admin/users/add'), 'the error link does not leave the page');
  await checkPage(page, 'admin-add-user-errors');
  await page.getByLabel('Username').fill('not allowed!');
  await page.getByLabel('Role').selectOption('community-nurse');
  await page.getByLabel('Organisation or team').selectOption('org-community');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Add user' }).click();
  await summary.getByRole('link', { name: /Username must be/ }).waitFor();
  await summary.getByRole('link', { name: 'Enter a password of at least 8 characters' }).waitFor();
  // a username that is taken: Kith's answer (409) is shown against the field
  await page.getByLabel('Username').fill('gp');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Add user' }).click();
  await summary.getByRole('link', { name: /already a user with that username/ }).waitFor();
  await checkPage(page, 'admin-add-user-taken');
  // now a good one
  await page.getByLabel('Username').fill('nurse2');
  await page.getByLabel('Member of staff (optional)').selectOption('pr-62');
  await page.getByRole('button', { name: 'Add user' }).click();
  await page.getByText('nurse2 was added. They can sign in now.').waitFor();
  assert.ok(page.url().endsWith('#/admin/users'));
  const row = page.locator('#users tbody tr', { has: page.locator('[data-username="nurse2"]') });
  assert.match(await row.innerText(), /Community nurse\s+Kithshire Community Health NHS Trust[\s\S]*Active/);
  assert.equal(await login('nurse2'), 200);
  const users = await page.evaluate(() => fetch('/auth/users').then((r) => r.json()));
  assert.deepEqual(users.users.find((u) => u.username === 'nurse2'),
    { ...users.users.find((u) => u.username === 'nurse2'), role: 'community-nurse', organization: 'org-community', practitioner: 'pr-62', disabled: false });
  await checkPage(page, 'admin-user-added');
});

test('an administrator disables a user after confirming, and they can no longer sign in', async () => {
  await page.goto(`${place.base}/#/admin/users`);
  await settled(page);
  await page.getByRole('button', { name: 'Disable socialworker' }).click();
  await page.getByRole('heading', { name: "Disable socialworker's account?" }).waitFor();
  await checkPage(page, 'admin-disable-confirm');
  // cancel does nothing
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Disable socialworker' }).click();
  await page.getByRole('button', { name: 'Yes, disable socialworker' }).click();
  await page.getByText(/socialworker's account is disabled\. \d+ open tasks? moved to their team\./).waitFor();
  const row = page.locator('#users tbody tr', { has: page.locator('[data-username="socialworker"]') });
  assert.match(await row.innerText(), /Disabled/);
  assert.equal(await login('socialworker'), 401);
  await checkPage(page, 'admin-user-disabled');
  // and back again
  await page.getByRole('button', { name: 'Enable socialworker' }).click();
  await page.getByRole('button', { name: 'Yes, enable socialworker' }).click();
  await page.getByText('socialworker can sign in again.').waitFor();
  assert.equal(await login('socialworker'), 200);
  // the list of users fits a phone's screen (the table scrolls inside itself)
  await page.setViewportSize({ width: 320, height: 640 });
  const overflow = await sidewaysScroll(page);
  assert.ok(overflow <= 0, `the users page scrolls sideways by ${overflow} px at 320 px`);
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('an administrator sees who works in a team and adds someone to it', async () => {
  await page.goto(`${place.base}/#/admin/teams`);
  await settled(page);
  await checkPage(page, 'admin-teams');
  await page.getByRole('link', { name: 'Kithbury Central integrated neighbourhood team' }).click();
  await settled(page);
  await page.locator('#team-roles').waitFor();
  const before = await page.locator('#team-roles tbody tr').count();
  await page.getByRole('button', { name: 'Add to team' }).click();
  await page.locator('.nhsuk-error-summary').getByRole('link', { name: 'Choose the member of staff' }).waitFor();
  await checkPage(page, 'admin-team-errors');
  await page.getByLabel('Member of staff').selectOption('pr-2');
  await page.getByLabel('Their role here').selectOption('care-coordinator');
  await page.getByLabel('Work phone (optional)').fill('01632 960 999');
  await page.getByRole('button', { name: 'Add to team' }).click();
  await page.getByText(/was added to Kithbury Central integrated neighbourhood team as care coordinator/).waitFor();
  assert.equal(await page.locator('#team-roles tbody tr').count(), before + 1);
  const b = await (await fetch(`${place.base}/fhir/PractitionerRole?organization=Organization/org-int-1&practitioner=Practitioner/pr-2`)).json();
  const role = b.entry.map((e) => e.resource).find((r) => r.code?.[0]?.coding?.[0]?.code === 'care-coordinator');
  assert.ok(role, 'the PractitionerRole was stored');
  assert.equal(role.telecom[0].value, '01632 960 999');
  await checkPage(page, 'admin-team');
});

test('an administrator edits a service and its response targets; a change made meanwhile is not overwritten', async () => {
  await page.goto(`${place.base}/#/admin/services`);
  await settled(page);
  await checkPage(page, 'admin-services');
  await page.getByRole('link', { name: 'Falls prevention service' }).click();
  await settled(page);
  assert.ok(page.url().endsWith('#/admin/services/hs-falls'));
  await checkPage(page, 'admin-service');
  // bad input
  await page.getByLabel('Routine: time').fill('soon');
  await page.getByLabel('Name').fill('');
  await page.getByRole('button', { name: 'Save the service' }).click();
  await page.locator('.nhsuk-error-summary').getByRole('link', { name: "Enter the service's name" }).waitFor();
  await page.locator('.nhsuk-error-summary').getByRole('link', { name: /routine target as a whole number/ }).waitFor();
  await checkPage(page, 'admin-service-errors');
  // good input
  await page.getByLabel('Name').fill('Falls clinic');
  await page.getByLabel('Who it is for').fill('Adults over 65 who have fallen');
  await page.getByLabel('Routine: time').fill('3');
  await page.getByLabel('Routine: counted in').selectOption('d');
  await page.getByLabel('Urgent: time').fill('4');
  await page.getByLabel('Urgent: counted in').selectOption('h');
  await page.getByLabel('Immediate: time').fill('');
  await page.getByRole('button', { name: 'Save the service' }).click();
  await page.getByText('Falls clinic was saved.').waitFor();
  const stored = await (await fetch(`${place.base}/fhir/HealthcareService/hs-falls`)).json();
  assert.equal(stored.name, 'Falls clinic');
  assert.equal(stored.eligibility[0].comment, 'Adults over 65 who have fallen');
  const targets = Object.fromEntries(stored.extension.filter((e) => e.url.endsWith('/response-target')).map((e) => [
    e.extension.find((x) => x.url === 'priority').valueCode, e.extension.find((x) => x.url === 'target').valueDuration]));
  assert.deepEqual(Object.keys(targets).sort(), ['routine', 'urgent']);
  assert.deepEqual([targets.routine.value, targets.routine.code, targets.urgent.value, targets.urgent.code], [3, 'd', 4, 'h']);
  assert.ok(stored.extension.some((e) => e.url.endsWith('/duty-contact')), 'the other extensions are kept');
  // the page shows what was saved
  assert.equal(await page.getByLabel('Name').inputValue(), 'Falls clinic');
  assert.equal(await page.getByLabel('Urgent: time').inputValue(), '4');
  await checkPage(page, 'admin-service-saved');
  // someone else changes it while it is open here
  const now = await (await fetch(`${place.base}/fhir/HealthcareService/hs-falls`)).json();
  const r = await fetch(`${place.base}/fhir/HealthcareService/hs-falls`, {
    method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify({ ...now, comment: 'Changed elsewhere' }),
  });
  assert.equal(r.status, 200);
  await page.getByLabel('Routine: time').fill('5');
  await page.getByRole('button', { name: 'Save the service' }).click();
  await page.getByText('Someone else changed this service').first().waitFor();
  const after = await (await fetch(`${place.base}/fhir/HealthcareService/hs-falls`)).json();
  assert.equal(after.comment, 'Changed elsewhere');
  assert.equal(after.extension.find((e) => e.url.endsWith('/response-target') && e.extension[0].valueCode === 'routine').extension[1].valueDuration.value, 3);
  await checkPage(page, 'admin-service-conflict');
  await page.getByRole('button', { name: 'Reload the service' }).click();
  await page.getByLabel('What the service does').waitFor();
  assert.equal(await page.getByLabel('What the service does').inputValue(), 'Changed elsewhere');
});
