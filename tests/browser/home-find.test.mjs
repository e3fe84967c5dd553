// Sign in, the home page, finding a person, sign-out and an expired session,
// in Chromium against a real kith serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPlace, launchBrowser, newPage, signIn, settled, checkPage, menu, STAFF, PASSWORD, sidewaysScroll } from './lib/place.mjs';

let place, browser, someone;

before(async () => {
  place = await startPlace({ scoreRisk: false });
  browser = await launchBrowser();
  // someone the GP's practice looks after, with an NHS number
  const r = await fetch(`${place.base}/fhir/Patient?general-practitioner=Organization/${STAFF.gp.org}&_count=5`);
  someone = (await r.json()).entry.map((e) => e.resource).find((p) => p.identifier?.some((i) => i.system === 'https://fhir.nhs.uk/Id/nhs-number'));
  assert.ok(someone, 'the synthetic place has a person registered with gp-Z00001');
});

after(async () => {
  await browser?.close();
  await place?.stop();
});

test('the sign-in page says what is wrong and lets a member of staff in', async () => {
  const page = await newPage(browser);
  await page.goto(`${place.base}/`);
  await page.getByRole('heading', { name: 'Sign in to Kith' }).waitFor();
  await checkPage(page, 'sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Enter your username').first().waitFor();
  await page.getByLabel('Username').fill('gp');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('The username or password is not right').first().waitFor();
  await checkPage(page, 'sign-in-error');
  await signIn(page, place.base, 'gp');
  await settled(page);
  assert.match(await page.locator('h1').innerText(), /Hello, gp/);
  await page.getByRole('heading', { name: 'My worklist' }).waitFor();
  await checkPage(page, 'home');
  await page.context().close();
});

test('finds a person by NHS number typed with spaces, and by name and date of birth', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'gp');
  await menu(page, 'Find a person');
  await checkPage(page, 'find');
  const nhs = someone.identifier.find((i) => i.system === 'https://fhir.nhs.uk/Id/nhs-number').value;
  // a wrong check digit is refused before anything is searched
  const wrong = nhs.slice(0, 9) + String((Number(nhs[9]) + 1) % 10);
  await page.getByLabel('NHS number').fill(wrong);
  await page.getByRole('button', { name: 'Search by NHS number' }).click();
  await page.getByText(/not a valid NHS number/).first().waitFor();
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.getByLabel('NHS number').fill(`${nhs.slice(0, 3)} ${nhs.slice(3, 6)} ${nhs.slice(6)}`);
  await page.getByRole('button', { name: 'Search by NHS number' }).click();
  await page.waitForURL(new RegExp(`#/person/${someone.id}$`));
  // no personal data in any address the browser asked for
  for (const u of requests) assert.ok(!u.includes(nhs), `the NHS number appeared in ${u}`);
  await page.goto(`${place.base}/#/find`);
  await settled(page);
  await page.getByLabel('Last name').fill(someone.name[0].family);
  await page.getByLabel('Date of birth').fill(someone.birthDate.split('-').reverse().join('/'));
  await page.getByRole('button', { name: 'Search by name' }).click();
  const row = page.locator('#people-found tbody tr', { hasText: someone.name[0].family.toUpperCase() });
  await row.first().waitFor();
  assert.ok(await row.count() >= 1);
  await checkPage(page, 'find-results');
  await page.context().close();
});

test('signing out, and a session that ends, come back to the sign-in page', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'nurse');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You have signed out.').waitFor();
  // the cookie no longer works
  const r = await page.evaluate(() => fetch('/auth/session').then((x) => x.status));
  assert.equal(r, 401);
  // a session ended elsewhere: the next page load offers sign-in again, and sign-in returns to the page
  await signIn(page, place.base, 'nurse');
  await page.context().clearCookies();
  await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Find a person' }).click();
  await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Home' }).click();
  await page.getByText('Your session has ended').waitFor();
  await page.getByLabel('Username').fill('nurse');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'My worklist' }).waitFor();
  await page.context().close();
});

test("a message to the GP's practice shows under notifications until it is marked as read", async () => {
  const sent = await fetch(`${place.base}/fhir/Communication`, {
    method: 'POST', headers: { 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Communication', status: 'completed', subject: { reference: `Patient/${someone.id}` },
      sent: new Date().toISOString(), recipient: [{ reference: `Organization/${STAFF.gp.org}` }],
      sender: { display: 'Ward 7 discharge team' }, payload: [{ contentString: 'Going home tomorrow <b>not bold</b>' }] }),
  });
  assert.equal(sent.status, 201);
  const message = await sent.json();
  const page = await newPage(browser);
  await signIn(page, place.base, 'gp');
  await settled(page);
  const row = page.locator('#messages tbody tr', { hasText: 'Ward 7 discharge team' });
  await row.waitFor();
  assert.match(await row.innerText(), /Going home tomorrow <b>not bold<\/b>/, 'markup in a message is shown as text');
  await checkPage(page, 'home-notifications');
  await row.getByRole('button', { name: /Mark as read/ }).click();
  await page.getByText('Marked as read.').waitFor();
  assert.equal(await row.count(), 0);
  const stored = await (await fetch(`${place.base}/fhir/Communication/${message.id}`)).json();
  assert.ok(stored.extension.some((e) => e.url.endsWith('/read-receipt') &&
    e.extension.some((x) => x.url === 'reader' && x.valueReference.display === 'user/gp')), 'the read receipt is stored');
  await page.reload();
  await settled(page);
  assert.equal(await page.locator('#messages tbody tr', { hasText: 'Ward 7 discharge team' }).count(), 0);
  await page.context().close();
});

test('works 320 pixels wide', async () => {
  const page = await newPage(browser, { width: 320, height: 640 });
  await signIn(page, place.base, 'gp');
  await settled(page);
  const overflow = await sidewaysScroll(page);
  assert.ok(overflow <= 0, `the home page scrolls sideways by ${overflow} px at 320 px`);
  await checkPage(page, 'home-320');
  await page.context().close();
});
