#!/usr/bin/env node
/*
 * gen-patients.mjs — write N synthetic FHIR R4 Patient resources as NDJSON to
 * standard output, for the benchmarks (bench/run.sh).
 *
 *   node bench/gen-patients.mjs [N]        (default 100000)
 *
 * Ids are bench-000001 ... bench-NNNNNN (six digits, more if N needs them).
 * Each Patient has an NHS-number identifier (system
 * https://fhir.nhs.uk/Id/nhs-number; ten digits with a valid Modulus 11 check
 * digit, unique per patient), a name, gender, birthDate, a telecom and a UK
 * home address. The output is deterministic (a fixed-seed PRNG), so runs are
 * comparable.
 */
import { createWriteStream } from 'node:fs';
import { makeRng } from './rng.mjs';

const N = Number(process.argv[2] ?? 100000);
if (!Number.isInteger(N) || N < 1) {
  console.error('usage: gen-patients.mjs [N]');
  process.exit(2);
}
const WIDTH = Math.max(6, String(N).length);

const { rnd, pick, int } = makeRng(0x6b697468);
const pad = (n, w) => String(n).padStart(w, '0');

const FAMILY = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Patel', 'Robinson',
  'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood', 'Jackson', 'Clarke', 'Khan',
  'Hughes', 'Edwards', 'Turner', 'Hill', 'Moore', 'Cooper', 'Ward', 'Morris', 'Okafor', 'Nowak', 'Begum', 'Ali'];
const MALE = ['Oliver', 'George', 'Harry', 'Jack', 'Noah', 'Arthur', 'Mohammed', 'Leo', 'James', 'David', 'John',
  'Peter', 'Michael', 'Thomas', 'William', 'Ahmed', 'Tomasz', 'Chinedu'];
const FEMALE = ['Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Sophia', 'Margaret', 'Susan', 'Mary', 'Elizabeth',
  'Patricia', 'Jean', 'Fatima', 'Aisha', 'Grace', 'Emily', 'Joan', 'Priya'];
const STREET = ['High Street', 'Station Road', 'Church Lane', 'Victoria Road', 'Park Avenue', 'Mill Lane',
  'Queens Road', 'The Green', 'Manor Close', 'Kings Road', 'London Road', 'Albert Street'];
const TOWN = [['Leeds', 'LS'], ['Bradford', 'BD'], ['Wakefield', 'WF'], ['Halifax', 'HX'], ['Huddersfield', 'HD'],
  ['York', 'YO'], ['Harrogate', 'HG'], ['Sheffield', 'S']];

/* A unique, valid NHS number for patient i: nine digits from i, then the
 * Modulus 11 check digit (candidates whose check would be 10 are skipped;
 * each i owns a block of 11 candidates, so numbers never collide). */
function nhsNumber(i) {
  for (let k = 0; k < 11; k++) {
    const d = String(400000000 + i * 11 + k);
    let sum = 0;
    for (let j = 0; j < 9; j++) sum += Number(d[j]) * (10 - j);
    let check = 11 - (sum % 11);
    if (check === 11) check = 0;
    if (check !== 10) return d + check;
  }
  throw new Error('no NHS number for ' + i);
}

const out = createWriteStream(null, { fd: 1, highWaterMark: 1 << 20 });
let chunk = [];
function flush(cb) {
  const s = chunk.join('');
  chunk = [];
  if (!out.write(s)) out.once('drain', cb);
  else setImmediate(cb);
}

let i = 1;
function step() {
  for (; i <= N; i++) {
    const r = rnd();
    const gender = r < 0.49 ? 'male' : r < 0.98 ? 'female' : r < 0.99 ? 'other' : 'unknown';
    const given = gender === 'male' ? pick(MALE) : gender === 'female' ? pick(FEMALE) : pick(rnd() < 0.5 ? MALE : FEMALE);
    const family = pick(FAMILY);
    const [city, area] = pick(TOWN);
    const p = {
      resourceType: 'Patient',
      id: 'bench-' + pad(i, WIDTH),
      identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber(i) }],
      active: true,
      name: [{ use: 'official', family, given: rnd() < 0.3 ? [given, pick(rnd() < 0.5 ? MALE : FEMALE)] : [given],
        prefix: [gender === 'male' ? 'Mr' : gender === 'female' ? pick(['Mrs', 'Ms', 'Miss']) : 'Mx'] }],
      telecom: [{ system: 'phone', value: '07' + pad(int(0, 999999999), 9), use: 'mobile' }],
      gender,
      birthDate: `${int(1920, 2023)}-${pad(int(1, 12), 2)}-${pad(int(1, 28), 2)}`,
      address: [{ use: 'home', line: [`${int(1, 250)} ${pick(STREET)}`], city, district: 'West Yorkshire',
        postalCode: `${area}${int(1, 29)} ${int(1, 9)}${String.fromCharCode(65 + int(0, 25))}${String.fromCharCode(65 + int(0, 25))}`,
        country: 'GB' }],
    };
    chunk.push(JSON.stringify(p), '\n');
    if (chunk.length >= 4000) {
      i++;
      flush(step);
      return;
    }
  }
  flush(() => out.end());
}
step();
