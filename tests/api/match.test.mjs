// match.test.mjs — Patient/$match: "is this person already known?" at the point of entry.
// Candidates are scored on NHS number, names (Jaro-Winkler), date of birth, sex and postcode and
// graded certain / probable / possible / certainly-not (a look-alike with another valid NHS
// number); people who do not match are left out.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { client, startServer } from './lib/server.mjs';

let server;
let api;

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const person = (id, family, given, birthDate, gender, postalCode, nhs) => ({
  resourceType: 'Patient', id, name: [{ family, given: [given] }], birthDate, gender,
  address: [{ postalCode }], ...(nhs ? { identifier: [{ system: NHS, value: nhs }] } : {}),
});
const PEOPLE = [
  person('m-ada', 'Lovelace', 'Ada', '1938-04-02', 'female', 'LS1 4AP', '9434765919'),
  person('m-ada-social', 'Lovelace', 'Adah', '1938-04-02', 'female', 'LS1 4AQ', null), // a council record, no NHS number
  person('m-ada-twin', 'Lovelace', 'Augusta', '1938-04-02', 'female', 'LS1 4AP', null),
  person('m-bob', 'Smith', 'Robert', '1940-01-01', 'male', 'LS2 7QT', '4010232137'),
  person('m-other', 'Lovelock', 'Ann', '1951-09-09', 'female', 'KH3 1AB', null),
];

const ask = (patient, extra = []) => api.post('/fhir/Patient/$match', {
  resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient }, ...extra],
});
const grades = (bundle) => Object.fromEntries((bundle.entry ?? []).map((e) => [e.resource.id,
  e.search.extension.find((x) => x.url === 'http://hl7.org/fhir/StructureDefinition/match-grade').valueCode]));

before(async () => {
  server = await startServer();
  api = client(server.base);
  for (const p of PEOPLE) {
    const r = await api.put(`/fhir/Patient/${p.id}`, p);
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

describe('Patient/$match', () => {
  it('the same NHS number and date of birth is certain, and comes first', async () => {
    const r = await ask(person(undefined, 'Lovelace', 'Ada', '1938-04-02', 'female', 'LS1 4AP', '943 476 5919'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.type, 'searchset');
    assert.equal(r.json.entry[0].resource.id, 'm-ada');
    assert.equal(r.json.entry[0].search.score, 1);
    const g = grades(r.json);
    assert.equal(g['m-ada'], 'certain');
    assert.ok(!('m-bob' in g) && !('m-other' in g), `unrelated people are left out: ${JSON.stringify(g)}`);
    const scores = r.json.entry.map((e) => e.search.score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'best first');
  });

  it('without an NHS number, a near name with the same birth date and postcode area is probable', async () => {
    const r = await ask(person(undefined, 'Lovelace', 'Ada', '1938-04-02', 'female', 'LS1 4AQ', null));
    assert.equal(r.status, 200, r.text);
    const g = grades(r.json);
    assert.equal(g['m-ada-social'], 'probable', JSON.stringify(g));
    assert.ok(!Object.values(g).includes('certain'), 'nothing is certain without an NHS number');
    assert.ok(!('m-other' in g), 'a different person with a similar surname is left out');
  });

  it('a different valid NHS number rules a look-alike out: certainly-not, last, score 0', async () => {
    const r = await ask(person(undefined, 'Smith', 'Robert', '1940-01-01', 'male', 'LS2 7QT', '9434765919'));
    assert.equal(r.status, 200, r.text);
    const g = grades(r.json);
    assert.equal(g['m-bob'], 'certainly-not', JSON.stringify(g));
    const bob = r.json.entry.find((e) => e.resource.id === 'm-bob');
    assert.equal(bob.search.score, 0);
    assert.equal(r.json.entry.at(-1).resource.id, 'm-bob');
    // someone unlike the person asked about is not shown at all, whatever their number
    const far = await ask(person(undefined, 'Smith', 'Robert', '1977-07-07', 'male', 'KH9 9ZZ', '9434765919'));
    assert.ok(!('m-bob' in grades(far.json)), JSON.stringify(grades(far.json)));
    const only = await ask(person(undefined, 'Smith', 'Robert', '1940-01-01', 'male', 'LS2 7QT', '9434765919'),
      [{ name: 'onlyCertainMatches', valueBoolean: true }]);
    assert.ok(!('m-bob' in grades(only.json)));
  });

  it('onlyCertainMatches and count narrow the answer', async () => {
    const p = person(undefined, 'Lovelace', 'Ada', '1938-04-02', 'female', 'LS1 4AP', '9434765919');
    let r = await ask(p, [{ name: 'onlyCertainMatches', valueBoolean: true }]);
    assert.deepEqual(Object.values(grades(r.json)), ['certain']);
    r = await ask(p, [{ name: 'count', valueInteger: 1 }]);
    assert.equal(r.json.entry.length, 1);
    assert.equal(r.json.total, 1);
  });

  it('refuses what it cannot match on', async () => {
    let r = await api.post('/fhir/Patient/$match', { resourceType: 'Parameters', parameter: [] });
    assert.equal(r.status, 400);
    assert.equal(r.json.resourceType, 'OperationOutcome');
    r = await ask({ resourceType: 'Patient', gender: 'female' });
    assert.equal(r.status, 422, 'nothing to match on');
    r = await ask(PEOPLE[0], [{ name: 'count', valueInteger: 0 }]);
    assert.equal(r.status, 400);
    r = await api.get('/fhir/Patient/$match');
    assert.equal(r.status, 405);
    r = await api.post('/fhir/Patient/$match', 'not json', { headers: { 'Content-Type': 'application/fhir+json' } });
    assert.equal(r.status, 400);
  });
});
