// cohort.test.mjs — Group/$cohort and Group/$risk-pyramid: people found by rules (age, searches,
// FHIRPath, frailty and admission risk RiskAssessments, recent emergency admissions, neighbourhood),
// as a Group (stored on request) and counted by neighbourhood as a risk pyramid.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { client, startServer } from './lib/server.mjs';

let server;
let api;
const CS = 'https://kith.example.org/fhir/CodeSystem/';
const AS_OF = '2026-06-30';

const org = (id, name, partOf) => ({ resourceType: 'Organization', id, name, ...(partOf ? { partOf: { reference: `Organization/${partOf}` } } : {}) });
const patient = (id, birthDate, gender, gp) => ({
  resourceType: 'Patient', id, birthDate, gender, name: [{ family: id, given: ['Test'] }],
  ...(gp ? { generalPractitioner: [{ reference: `Organization/${gp}` }] } : {}),
});
const efi = (pid, category, score) => ({
  resourceType: 'RiskAssessment', id: `efi-${pid}`, status: 'final', subject: { reference: `Patient/${pid}` },
  method: { coding: [{ system: `${CS}risk-method`, code: 'efi' }] },
  prediction: [{ outcome: { text: 'Frailty' }, qualitativeRisk: { coding: [{ system: `${CS}efi-category`, code: category }] } }],
  extension: [{ url: 'https://kith.example.org/fhir/StructureDefinition/efi-score', valueDecimal: score }],
});
const ear = (pid, p, band) => ({
  resourceType: 'RiskAssessment', id: `ear-${pid}`, status: 'final', subject: { reference: `Patient/${pid}` },
  method: { coding: [{ system: `${CS}risk-method`, code: 'emergency-admission-12m' }] },
  prediction: [{ outcome: { text: 'Emergency admission in the next 12 months' }, probabilityDecimal: p,
    qualitativeRisk: { coding: [{ system: `${CS}admission-risk`, code: band }] } }],
});
const admission = (id, pid, start) => ({
  resourceType: 'Encounter', id, status: 'finished', subject: { reference: `Patient/${pid}` },
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
  type: [{ coding: [{ system: `${CS}encounter-type`, code: 'emergency-admission' }] }],
  period: { start, end: start },
});

// Two neighbourhoods; five people. Ages on 2026-06-30.
const RESOURCES = [
  org('int-north', 'North integrated neighbourhood team'), org('int-south', 'South integrated neighbourhood team'),
  org('gp-n', 'North Surgery', 'int-north'), org('gp-s', 'South Surgery', 'int-south'),
  patient('c-ann', '1936-03-01', 'female', 'gp-n'), // 90, severe, 2 recent admissions, risk 0.45
  patient('c-bert', '1950-01-01', 'male', 'gp-n'), // 76, mild, risk 0.08
  patient('c-cath', '1944-12-31', 'female', 'gp-s'), // 81, moderate, 1 recent + 1 old admission, risk 0.22
  patient('c-dan', '1990-05-05', 'male', 'gp-s'), // 36, not scored
  { ...patient('c-edna', '1930-01-01', 'female', 'gp-s'), deceasedDateTime: '2025-01-01' }, // died: never in a cohort
  efi('c-ann', 'severe', 0.42), efi('c-bert', 'mild', 0.17), efi('c-cath', 'moderate', 0.31),
  ear('c-ann', 0.45, 'very-high'), ear('c-bert', 0.08, 'low'), ear('c-cath', 0.22, 'high'),
  admission('c-adm-1', 'c-ann', '2026-05-01'), admission('c-adm-2', 'c-ann', '2026-02-10'),
  admission('c-adm-3', 'c-cath', '2026-06-01'), admission('c-adm-4', 'c-cath', '2024-01-01'),
];

const P = (name, v) => (typeof v === 'number' ? (Number.isInteger(v) ? { name, valueInteger: v } : { name, valueDecimal: v })
  : typeof v === 'boolean' ? { name, valueBoolean: v } : { name, valueString: v });
const cohort = (rules) => api.post('/fhir/Group/$cohort', {
  resourceType: 'Parameters', parameter: [P('as-of', AS_OF), ...Object.entries(rules).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => P(k, x)) : [P(k, v)]))],
});
const members = (g) => (g.member ?? []).map((m) => m.entity.reference.replace('Patient/', '')).sort();

before(async () => {
  server = await startServer();
  api = client(server.base);
  for (const r of RESOURCES) {
    const res = await api.put(`/fhir/${r.resourceType}/${r.id}`, r);
    assert.ok(res.status === 201 || res.status === 200, `${r.resourceType}/${r.id}: ${res.text}`);
  }
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

describe('Group/$cohort', () => {
  it('finds people by age, leaving out the dead', async () => {
    const r = await cohort({ 'age-from': 65 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.resourceType, 'Group');
    assert.deepEqual(members(r.json), ['c-ann', 'c-bert', 'c-cath']);
    assert.equal(r.json.quantity, 3);
    const young = await cohort({ 'age-to': 64 });
    assert.deepEqual(members(young.json), ['c-dan']);
  });

  it('frailty, admission risk, recent admissions and neighbourhood narrow it', async () => {
    assert.deepEqual(members((await cohort({ frailty: 'moderate' })).json), ['c-ann', 'c-cath']);
    assert.deepEqual(members((await cohort({ frailty: 'severe' })).json), ['c-ann']);
    assert.deepEqual(members((await cohort({ 'admission-risk-from': 0.2 })).json), ['c-ann', 'c-cath']);
    assert.deepEqual(members((await cohort({ 'emergency-admissions-from': 2, 'within-days': 180 })).json), ['c-ann']);
    assert.deepEqual(members((await cohort({ 'emergency-admissions-from': 1, 'within-days': 60 })).json), ['c-ann', 'c-cath']);
    assert.deepEqual(members((await cohort({ neighbourhood: 'int-south', 'age-from': 65 })).json), ['c-cath']);
  });

  it('search and FHIRPath rules', async () => {
    assert.deepEqual(members((await cohort({ search: 'gender=female' })).json), ['c-ann', 'c-cath']);
    assert.deepEqual(members((await cohort({ search: ['gender=female', 'birthdate=lt1940-01-01'] })).json), ['c-ann']);
    assert.deepEqual(members((await cohort({ fhirpath: "gender = 'male'" })).json), ['c-bert', 'c-dan']);
  });

  it('save stores the Group, which then reads back', async () => {
    const r = await cohort({ name: 'Severely frail, North', frailty: 'severe', save: true });
    assert.equal(r.status, 201, r.text);
    assert.ok(r.json.id);
    const g = await api.get(`/fhir/Group/${r.json.id}`);
    assert.equal(g.status, 200);
    assert.equal(g.json.name, 'Severely frail, North');
    assert.deepEqual(members(g.json), ['c-ann']);
    assert.ok(g.json.characteristic.some((c) => c.valueCodeableConcept?.coding?.[0]?.code === 'severe'));
  });

  it('bad rules are refused with an OperationOutcome naming them', async () => {
    for (const [rules, re] of [[{ frailty: 'extreme' }, /frailty/], [{ colour: 'blue' }, /unknown rule 'colour'/],
      [{ fhirpath: 'gender = ' }, /fhirpath/], [{ 'age-from': 80, 'age-to': 70 }, /age-from is above age-to/],
      [{ search: 'nonsense-param=1' }, /search rule/]]) {
      const r = await cohort(rules);
      assert.equal(r.status, 400, `${JSON.stringify(rules)}: ${r.text}`);
      assert.equal(r.json.resourceType, 'OperationOutcome');
      assert.match(r.json.issue[0].diagnostics, re);
    }
    const notParams = await api.post('/fhir/Group/$cohort', { resourceType: 'Patient' });
    assert.equal(notParams.status, 400);
  });
});

describe('Group/$risk-pyramid', () => {
  it('counts the cohort by neighbourhood, frailty and admission risk', async () => {
    const r = await api.get('/fhir/Group/$risk-pyramid?age-from=65&as-of=' + AS_OF);
    assert.equal(r.status, 200, r.text);
    const people = r.json.parameter.find((p) => p.name === 'people').valueInteger;
    assert.equal(people, 3);
    const hoods = Object.fromEntries(r.json.parameter.filter((p) => p.name === 'neighbourhood').map((p) => [
      p.part.find((x) => x.name === 'organization').valueReference.reference,
      Object.fromEntries(p.part.filter((x) => 'valueInteger' in x).map((x) => [x.name, x.valueInteger]))]));
    assert.deepEqual(Object.keys(hoods).sort(), ['Organization/int-north', 'Organization/int-south']);
    assert.equal(hoods['Organization/int-north'].people, 2);
    assert.equal(hoods['Organization/int-north']['frailty-severe'], 1);
    assert.equal(hoods['Organization/int-north']['frailty-mild'], 1);
    assert.equal(hoods['Organization/int-north']['risk-very-high'], 1);
    assert.equal(hoods['Organization/int-south'].people, 1);
    assert.equal(hoods['Organization/int-south']['frailty-moderate'], 1);
    assert.equal(hoods['Organization/int-south']['risk-high'], 1);
    const all = await api.get('/fhir/Group/$risk-pyramid?as-of=' + AS_OF);
    const south = all.json.parameter.find((p) => p.name === 'neighbourhood'
      && p.part[0].valueReference?.reference === 'Organization/int-south');
    assert.equal(south.part.find((x) => x.name === 'frailty-not-scored').valueInteger, 1, 'Dan has no eFI');
  });
});
