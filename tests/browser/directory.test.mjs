// The service directory: every service grouped by sector, searching by words,
// need and sector, and a service's own page (what it does, who it is for, how
// to refer, how fast it answers, who to call), in Chromium against a real kith serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPlace, launchBrowser, newPage, signIn, settled, checkPage, menu, sidewaysScroll } from './lib/place.mjs';

let place, browser;

before(async () => {
  place = await startPlace({ people: 100, scoreRisk: false });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await place?.stop();
});

const overflow = sidewaysScroll;

test('lists every service by sector and finds them by words and need', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'nurse');
  await menu(page, 'Directory');
  assert.equal(await page.locator('h1').innerText(), 'Service directory');
  const all = (await (await fetch(`${place.base}/fhir/HealthcareService?active=true&_count=100`)).json()).total;
  assert.equal(await page.locator('#services li').count(), all);
  await page.getByRole('heading', { name: /^Voluntary and community \(\d+\)$/ }).waitFor();
  await page.getByRole('heading', { name: /^Social care \(\d+\)$/ }).waitFor();
  await checkPage(page, 'directory');
  // words
  await page.getByLabel('Words to search for').fill('carer');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#found', { hasText: 'for “carer”' }).waitFor();
  const found = await page.locator('#services').innerText();
  assert.match(found, /Carers hub/);
  assert.match(found, /Urgent community response/); // "carer breakdown" in who it is for
  assert.doesNotMatch(found, /Memory assessment service/);
  await checkPage(page, 'directory-search-words');
  // need, and need with sector
  await page.getByLabel('Words to search for').fill('');
  await page.getByLabel('Need').selectOption('memory');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#found', { hasText: '2 services for memory problems' }).waitFor();
  assert.deepEqual(await page.locator('#services h3').allInnerTexts(), ['Memory assessment service', 'Dementia support service']);
  await page.getByLabel('Sector').selectOption('voluntary');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#found', { hasText: '1 service for memory problems, voluntary and community' }).waitFor();
  await checkPage(page, 'directory-search-need');
  await page.getByLabel('Need').selectOption('end-of-life');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('No services match').waitFor();
  await checkPage(page, 'directory-search-none');
  await page.context().close();
});

test('a service page says what it does, who it is for, how to refer and who to call', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'gp');
  await page.goto(`${place.base}/#/directory`);
  await settled(page);
  await page.getByRole('link', { name: 'Falls prevention service' }).click();
  await page.getByRole('heading', { level: 1, name: 'Falls prevention service' }).waitFor();
  await settled(page);
  const text = await page.locator('main').innerText();
  assert.match(text, /Who it is for\s+Adults 65 and over who have fallen or fear falling/);
  assert.match(text, /Ages\s+65 and over/);
  assert.match(text, /Area covered\s+The whole area/);
  assert.match(text, /Opening hours\s+Monday to Friday, 09:00 to 17:00/);
  assert.match(text, /Provided by\s+\S/);
  assert.match(text, /Any professional, or self-referral by phone/);
  assert.match(await page.locator('#response-targets').innerText(), /Urgent: within \d+ working (hour|day)s?/);
  const tel = page.locator('a[href^="tel:"]').last();
  assert.match(await tel.getAttribute('href'), /^tel:\d+$/);
  assert.equal(await page.locator('a[href^="mailto:"]').count() >= 1, true);
  await page.getByText('Refer someone:').waitFor();
  await checkPage(page, 'directory-service');
  // a service that covers only some postcode districts says which
  await page.goto(`${place.base}/#/directory/hs-social-prescribing`);
  await page.getByRole('heading', { level: 1, name: 'Social prescribing' }).waitFor();
  assert.match(await page.locator('main').innerText(), /Area covered\s+Postcode districts KH1, KH2/);
  await page.getByRole('link', { name: 'All services' }).click();
  await page.getByRole('heading', { level: 1, name: 'Service directory' }).waitFor();
  await page.context().close();
});

test('the directory works 320 pixels wide', async () => {
  const page = await newPage(browser, { width: 320, height: 640 });
  await signIn(page, place.base, 'socialworker');
  await page.goto(`${place.base}/#/directory`);
  await settled(page);
  assert.ok(await overflow(page) <= 0, 'the directory scrolls sideways at 320 px');
  await checkPage(page, 'directory-320');
  await page.goto(`${place.base}/#/directory/hs-urgent-community-response`);
  await page.getByRole('heading', { level: 1, name: 'Urgent community response' }).waitFor();
  assert.match(await page.locator('main').innerText(), /Opening hours\s+Every day, 24 hours/);
  assert.ok(await overflow(page) <= 0, 'a service page scrolls sideways at 320 px');
  await checkPage(page, 'directory-service-320');
  await page.context().close();
});
