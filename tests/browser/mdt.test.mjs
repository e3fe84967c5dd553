// MDT meeting mode, in Chromium against a real kith serve on the synthetic
// place: the chair of CareTeam/mdt-int-1 finds cases, reorders the list and
// gives a case its minutes, accepts the list by planning the meeting, runs it
// (attendance, a visible time-box, a case with decisions and actions owned by
// members), finishes it and reads the minutes; the next meeting puts the
// actions from this one first; a member who is not the chair is told so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPlace, launchBrowser, newPage, signIn, settled, checkPage, menu, PASSWORD, fhirAs, sidewaysScroll } from './lib/place.mjs';
import { kith } from '../api/lib/server.mjs';

const CS = 'https://kith.example.org/fhir/CodeSystem/';
const MDT = 'mdt-int-1';
let place, browser;
const ids = {}; // chair, nurse (Practitioner ids), people (referred), meeting1, meeting2
const names = {};

const fhir = (method, path, body) => fhirAs(place.base, method, path, body);
const resources = (bundle, type) => (bundle.entry ?? []).map((e) => e.resource).filter((r) => r.resourceType === type);

before(async () => {
  place = await startPlace({ scoreRisk: false });
  browser = await launchBrowser();
  // who chairs the MDT in the synthetic place (the prepared "chair" account may be its coordinator)
  const team = await fhir('GET', `CareTeam/${MDT}`);
  const lead = (code) => team.participant.find((p) => p.role.some((r) => r.coding?.some((c) => c.system === `${CS}mdt-role` && c.code === code)));
  ids.chair = lead('chair').member.reference.split('/')[1];
  ids.nurse = 'pr-61'; // STAFF.nurse: a district nurse and a member, not a lead
  assert.ok(team.participant.some((p) => p.member.reference === `Practitioner/${ids.nurse}` && !p.role.some((r) => r.coding?.some((c) => c.system === `${CS}mdt-role`))));
  kith(['user', 'add', '--db', place.db, '--username', 'mdtchair', '--role', 'mdt-chair', '--org', team.managingOrganization[0].reference.split('/')[1],
    '--practitioner', ids.chair, '--password-stdin'], `${PASSWORD}\n`);
  for (const who of ['chair', 'nurse']) {
    const p = await fhir('GET', `Practitioner/${ids[who]}`);
    names[who] = [...(p.name[0].given ?? []), p.name[0].family].join(' ');
  }
  // two people of the neighbourhood's practices, aged 65 or over, referred for MDT discussion
  const practices = resources(await fhir('GET', `Organization?partof=Organization/${team.managingOrganization[0].reference.split('/')[1]}`), 'Organization');
  const born = `${new Date().getUTCFullYear() - 66}-01-01`;
  const people = [];
  for (const org of practices) {
    people.push(...resources(await fhir('GET', `Patient?general-practitioner=Organization/${org.id}&birthdate=lt${born}&_count=200`), 'Patient')
      .filter((p) => !p.deceasedDateTime && !p.deceasedBoolean));
  }
  assert.ok(people.length >= 2, 'the synthetic place has two living people aged 65+ in the neighbourhood');
  ids.people = people.slice(0, 2).map((p) => p.id);
  for (const [k, pid] of ids.people.entries()) {
    await fhir('POST', 'ServiceRequest', { resourceType: 'ServiceRequest', status: 'active', intent: 'order', priority: 'urgent',
      category: [{ coding: [{ system: `${CS}referral-category`, code: 'mdt' }] }], subject: { reference: `Patient/${pid}` },
      authoredOn: new Date(Date.now() - (3 - k) * 86400000).toISOString(), requester: { reference: 'Practitioner/pr-61' },
      reasonCode: [{ text: 'Carer exhausted; several falls' }] });
  }
});

after(async () => {
  await browser?.close();
  await place?.stop();
});

const inDays = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);

test('the chair finds cases, edits and accepts the list, runs the meeting and publishes the minutes', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'mdtchair');
  await menu(page, 'MDT meetings');
  await page.locator('#my-mdts').waitFor();
  assert.match(await page.locator('#my-mdts').innerText(), /Kithbury Central neighbourhood MDT\s+Chair\s+None planned/);
  await checkPage(page, 'mdt-list');
  await page.getByRole('link', { name: 'Kithbury Central neighbourhood MDT' }).click();
  await settled(page);
  assert.match(await page.locator('#members').innerText(), new RegExp(`${names.chair}\\s+Chair`));
  await page.locator('#measures').waitFor();
  await checkPage(page, 'mdt-team');

  // case finding: both referred people, the longest waiting first
  await page.getByRole('button', { name: 'Find cases' }).click();
  await page.getByText(/Kith found 2 people who meet the rules/).waitFor();
  const rows = page.locator('#case-list tbody tr');
  assert.equal(await rows.count(), 2);
  const before = await rows.evaluateAll((trs) => trs.map((tr) => tr.cells[1].querySelector('a')?.getAttribute('href')));
  assert.deepEqual(before, ids.people.map((p) => `#/person/${p}`));
  await checkPage(page, 'mdt-cases-found');
  // move the first down (keyboard), give the new first 7 minutes, save
  await page.locator('[data-move="down"][data-index="0"]').press('Enter');
  const after = await rows.evaluateAll((trs) => trs.map((tr) => tr.cells[1].querySelector('a')?.getAttribute('href')));
  assert.deepEqual(after, [...before].reverse());
  await page.locator('#tb-0').fill('7');
  await page.locator('#tb-0').press('Tab');
  await page.getByText('You have changes that are not saved yet.').waitFor();
  await page.getByRole('button', { name: 'Save the case list' }).click();
  await page.getByText('The case list is saved.').waitFor();
  const lists = resources(await fhir('GET', `List?code=${CS}mdt-list|case-list&_sort=-date&_count=1`), 'List');
  const teams = await Promise.all(lists[0].entry.map((e) => fhir('GET', e.item.reference)));
  assert.deepEqual(teams.map((t) => t.subject.reference), [...ids.people].reverse().map((p) => `Patient/${p}`), 'the new order is stored');
  assert.equal(lists[0].entry[0].extension.find((x) => x.url.endsWith('/time-box')).valueDuration.value, 7);

  // accept the list by planning the meeting
  await page.getByLabel('How long (minutes)').fill('45');
  await page.getByRole('button', { name: 'Accept the list and plan the meeting' }).click();
  await page.getByText('The case list is accepted and the meeting is planned.').waitFor();
  await checkPage(page, 'mdt-planned');
  const list = await fhir('GET', `List/${lists[0].id}`);
  assert.ok(list.extension.some((x) => x.url.endsWith('/accepted')), 'the list is accepted');
  await page.locator('#open-planned').click();
  await page.waitForURL(/#\/meeting\//);
  ids.meeting1 = page.url().split('/').pop();
  await settled(page);
  assert.equal(await page.locator('h1').innerText(), 'MDT meeting');
  await page.locator('#timebox-clock').waitFor();
  assert.equal(await page.locator('#previous-actions-table').innerText(), 'There are no actions from earlier meetings.');
  await checkPage(page, 'meeting-mode');

  // attendance
  await page.getByLabel(new RegExp(`^${names.chair}`)).check();
  await page.getByLabel(new RegExp(`^${names.nurse}`)).check();
  await page.getByRole('button', { name: 'Record attendance' }).click();
  await page.getByText('Attendance recorded: 2 present.').waitFor();
  let appt = await fhir('GET', `Appointment/${ids.meeting1}`);
  const attended = (ref) => appt.participant.find((p) => p.actor.reference === ref)?.extension?.find((x) => x.url.endsWith('/attended'))?.valueBoolean;
  assert.equal(attended(`Practitioner/${ids.nurse}`), true);
  assert.equal(attended('Practitioner/pr-64'), false, 'not ticked: apologies');

  // the time-box: 7 minutes for the first case, counting down, with words; no inline styles
  assert.equal(await page.locator('#timebox-clock').getAttribute('aria-live'), 'off');
  const clock1 = await page.locator('#timebox-clock').innerText();
  assert.match(clock1, /^[67]:\d\d$/);
  assert.match(await page.locator('#timebox-words').innerText(), /^7 minutes left$/);
  await page.waitForTimeout(1500);
  assert.notEqual(await page.locator('#timebox-clock').innerText(), clock1, 'the clock moves');
  assert.deepEqual(await page.evaluate(() => [...document.querySelectorAll('main [style]:not([style=""])')].map((e) => e.outerHTML.slice(0, 120))), [], 'no inline styles in the page');
  const first = ids.people[1];
  assert.equal(await page.locator('#current-case').innerText().then((t) => t.includes('Now discussing')), true);

  // record the case with the keyboard: summary, decisions, two actions
  await page.getByLabel('Summary of the discussion').fill('Lives alone; keen to stay at home. Daughter visits weekly.');
  await page.getByLabel('Decisions').fill('Community matron to case-manage\nRefer for a falls assessment');
  await page.getByLabel('What needs doing (action 1)').fill('Home visit: medicines review');
  await page.getByLabel('Who will do it (action 1)').selectOption(`Practitioner/${ids.nurse}`);
  await page.getByLabel('Due by (action 1)').fill(inDays(7));
  await page.getByRole('button', { name: 'Add another action' }).press('Enter');
  await page.keyboard.type('Carer assessment');
  await page.getByLabel('Who will do it (action 2)').selectOption('Practitioner/pr-67');
  await page.getByLabel('Due by (action 2)').fill(inDays(14));
  await page.getByRole('button', { name: 'Save and next case' }).press('Enter');
  await page.getByText(/discussion recorded, with 2 actions/).waitFor();
  await page.locator('#timebox-clock').waitFor();
  assert.match(await page.locator('#agenda-cases-table').innerText(), /Discussed/);
  await checkPage(page, 'meeting-second-case');
  // stored: the summary in the person's record, the actions as Tasks with owner and due date
  const comps = resources(await fhir('GET', `Composition?subject=Patient/${first}&type=${CS}document-type|mdt-discussion`), 'Composition');
  assert.equal(comps.length, 1);
  assert.match(JSON.stringify(comps[0].section), /Daughter visits weekly/);
  assert.match(JSON.stringify(comps[0].section), /Refer for a falls assessment/);
  const tasks = resources(await fhir('GET', `Task?based-on=Appointment/${ids.meeting1}`), 'Task')
    .sort((a, b) => a.description.localeCompare(b.description));
  assert.deepEqual(tasks.map((t) => [t.description, t.owner.reference, t.restriction.period.end, t.for.reference]), [
    ['Carer assessment', 'Practitioner/pr-67', inDays(14), `Patient/${first}`],
    ['Home visit: medicines review', `Practitioner/${ids.nurse}`, inDays(7), `Patient/${first}`],
  ]);

  // a mistake is explained; then the second case waits for another meeting
  await page.getByRole('button', { name: 'Save and next case' }).click();
  await page.locator('.nhsuk-error-summary').getByText('Write a summary of the discussion').waitFor();
  await checkPage(page, 'meeting-error');
  await page.getByRole('button', { name: 'Skip for now' }).click();
  await page.getByRole('heading', { name: 'All cases done' }).waitFor();

  // finish and publish
  await page.getByRole('button', { name: 'Finish and publish the summary' }).click();
  await page.getByRole('heading', { level: 1, name: 'Minutes of the meeting' }).waitFor();
  const minutes = await page.locator('#minutes').innerText();
  assert.match(minutes, new RegExp(`Present[\\s\\S]*${names.chair}[\\s\\S]*${names.nurse}`));
  assert.match(minutes, /Apologies/);
  assert.match(minutes, /Daughter visits weekly/);
  assert.match(minutes, /Home visit: medicines review/);
  await checkPage(page, 'meeting-minutes');
  appt = await fhir('GET', `Appointment/${ids.meeting1}`);
  assert.equal(appt.status, 'fulfilled');
  await page.context().close();
});

test('at the next meeting the actions from the previous one come first', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'mdtchair');
  await page.goto(`${place.base}/#/mdt/${MDT}`);
  await settled(page);
  assert.match(await page.locator('#meetings-past').innerText(), /Read the minutes/);
  await page.getByRole('button', { name: 'Find cases again' }).click();
  await page.getByText(/Kith found 1 person who meets the rules/).waitFor();
  await page.getByLabel('Start time (UK time)').fill('15:00');
  await page.getByRole('button', { name: 'Accept the list and plan the meeting' }).click();
  await page.locator('#open-planned').click();
  await page.waitForURL(/#\/meeting\//);
  ids.meeting2 = page.url().split('/').pop();
  assert.notEqual(ids.meeting2, ids.meeting1);
  await settled(page);
  const order = await page.evaluate(() => [...document.querySelectorAll('main h2')].map((h) => h.id).filter(Boolean));
  assert.ok(order.indexOf('previous-actions') < order.indexOf('agenda-cases'), 'previous actions come before the cases');
  const actions = await page.locator('#previous-actions-table tbody tr').allInnerTexts();
  assert.equal(actions.length, 2);
  assert.ok(actions.every((a) => /Open/.test(a)), actions.join('\n'));
  assert.ok(actions.some((a) => a.includes('Home visit: medicines review') && a.includes(names.nurse)));
  await checkPage(page, 'meeting-previous-actions');
  await page.context().close();
});

test('a member who is not the chair is told that only the chair can run the meeting', async () => {
  const page = await newPage(browser);
  await signIn(page, place.base, 'nurse');
  await menu(page, 'MDT meetings');
  await page.locator('#my-mdts').waitFor();
  assert.match(await page.locator('#my-mdts').innerText(), /Member/);
  await checkPage(page, 'mdt-list-member');
  await page.goto(`${place.base}/#/meeting/${ids.meeting2}`);
  await settled(page);
  await page.getByText('Only the chair can run this meeting').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Save and next case' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Finish and publish the summary' }).count(), 0);
  await checkPage(page, 'meeting-not-chair');
  await page.goto(`${place.base}/#/mdt/${MDT}`);
  await settled(page);
  await page.getByText('Only the chair or coordinator of the MDT can find cases and plan meetings.').waitFor();
  await page.locator('#measures').waitFor();
  await checkPage(page, 'mdt-team-member');
  // the finished meeting's minutes can be read
  await page.goto(`${place.base}/#/meeting/${ids.meeting1}`);
  await settled(page);
  await page.locator('#minutes').waitFor();
  await checkPage(page, 'meeting-minutes-member');
  await page.context().close();
});

test('the MDT page and meeting mode work 320 pixels wide', async () => {
  const page = await newPage(browser, { width: 320, height: 640 });
  await signIn(page, place.base, 'mdtchair');
  for (const [address, name] of [[`#/mdt/${MDT}`, 'mdt-team-320'], [`#/meeting/${ids.meeting2}`, 'meeting-mode-320']]) {
    await page.goto(`${place.base}/${address}`);
    await settled(page);
    await page.waitForFunction(() => !document.querySelector('.kith-measures-loading'));
    const overflow = await sidewaysScroll(page);
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 321 &&
      !e.closest('.kith-table')).map((e) => `${e.tagName}.${e.className}#${e.id}`).slice(0, 5));
    assert.ok(overflow <= 0, `${address} scrolls sideways by ${overflow} px at 320 px: ${wide.join(', ')}`);
    await checkPage(page, name);
  }
  await page.context().close();
});
