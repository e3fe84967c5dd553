#!/usr/bin/env node
/*
 * risk.mjs — RiskAssessments and referrals for bench/mdt/run.sh, from a
 * synthetic place's truth-people.csv (`kith synth --out`).
 *
 *   node bench/mdt/risk.mjs --truth DIR/truth-people.csv --now 2026-03-31T09:00:00Z --out DIR
 *
 * Writes DIR/RiskAssessment.ndjson: for everyone alive and aged 65 or over at
 * --now, an eFI assessment (id efi-<patient>, the category and score the place
 * gave them at its start) and an emergency admission risk (id ear-<patient>,
 * a probability that grows with eFI, age and past admissions) in exactly the
 * shape `kith frailty` writes; and DIR/ServiceRequest.ndjson: a referral for
 * MDT discussion (category referral-category|mdt) of one in 60 of those people
 * in a programme neighbourhood. Deterministic. Prints what it wrote.
 */
import fs from 'node:fs';
import path from 'node:path';
import { makeRng } from '../rng.mjs';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const truth = opt('truth'), now = opt('now'), out = opt('out');
if (!truth || !now || !out) {
  console.error('usage: risk.mjs --truth truth-people.csv --now DATETIME --out DIR');
  process.exit(2);
}
const CS = 'https://kith.example.org/fhir/CodeSystem/';
const SD = 'https://kith.example.org/fhir/StructureDefinition/';
const lines = fs.readFileSync(truth, 'utf8').split('\n').filter(Boolean);
const head = lines.shift().split(',');
const col = Object.fromEntries(head.map((h, i) => [h, i]));
const t = new Date(now);
const { rnd } = makeRng(0x6d6474);
const ra = fs.createWriteStream(path.join(out, 'RiskAssessment.ndjson'));
const sr = fs.createWriteStream(path.join(out, 'ServiceRequest.ndjson'));
let people = 0, referrals = 0;
const byCategory = {};
for (const line of lines) {
  const f = line.split(',');
  const born = new Date(`${f[col.Birth_Date]}T00:00:00Z`);
  let age = t.getUTCFullYear() - born.getUTCFullYear();
  if (t.getUTCMonth() < born.getUTCMonth() || (t.getUTCMonth() === born.getUTCMonth() && t.getUTCDate() < born.getUTCDate())) age--;
  const died = f[col.Death_Date];
  if (age < 65 || (died && died <= now.slice(0, 10))) continue;
  const id = f[col.Patient_Id], efi = Number(f[col.eFI_At_Start]), cat = f[col.Frailty_At_Start];
  const admissions = Number(f[col.Emergency_Admissions]);
  const subject = { reference: `Patient/${id}` };
  ra.write(JSON.stringify({
    resourceType: 'RiskAssessment', id: `efi-${id}`, status: 'final', subject, occurrenceDateTime: now,
    extension: [{ url: `${SD}efi-score`, valueDecimal: Number(efi.toFixed(4)) }],
    method: { coding: [{ system: `${CS}risk-method`, code: 'efi', display: 'Electronic Frailty Index' }] },
    prediction: [{ qualitativeRisk: { coding: [{ system: `${CS}efi-category`, code: cat }] } }],
  }) + '\n');
  const rate = 0.08 * Math.exp(3 * efi + 0.03 * (age - 65) + 0.25 * Math.min(admissions, 3));
  ra.write(JSON.stringify({
    resourceType: 'RiskAssessment', id: `ear-${id}`, status: 'final', subject, occurrenceDateTime: now,
    method: { coding: [{ system: `${CS}risk-method`, code: 'emergency-admission-12m' }] },
    prediction: [{ probabilityDecimal: Number((1 - Math.exp(-rate)).toFixed(3)) }],
  }) + '\n');
  people++;
  byCategory[cat] = (byCategory[cat] ?? 0) + 1;
  if (f[col.Programme_Neighbourhood] === '1' && rnd() < 1 / 60) {
    referrals++;
    sr.write(JSON.stringify({
      resourceType: 'ServiceRequest', id: `mdt-ref-${id}`, status: 'active', intent: 'order',
      priority: rnd() < 0.3 ? 'urgent' : 'routine', subject,
      category: [{ coding: [{ system: `${CS}referral-category`, code: 'mdt', display: 'For MDT discussion' }] }],
      authoredOn: new Date(t.getTime() - Math.floor(rnd() * 28) * 86400000).toISOString(),
      reasonCode: [{ text: 'Worried about coping at home' }],
    }) + '\n');
  }
}
ra.end();
sr.end();
console.log(`${people} people aged 65+ assessed (${Object.entries(byCategory).map(([k, v]) => `${v} ${k}`).join(', ')}); ` +
  `${referrals} referrals for MDT discussion`);
