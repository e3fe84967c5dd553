// bench.mjs ROUNDS — time Kith (`kith fhirpath --batch --bench`) and
// fhirpath.js on the same (expression, resource) pairs; see run.sh.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { workPairs, resolveTable } from '../../tests/conformance/crosscheck.mjs';

const require = createRequire(import.meta.url);
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rounds = Math.max(1, Number(process.argv[2] || 5));

const pairs = workPairs();
console.log(`fhirpath bench: ${pairs.length} (expression, resource) pairs, ${rounds} rounds each`);

// Kith
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-fpbench-'));
const jobs = path.join(tmp, 'jobs.ndjson');
fs.writeFileSync(jobs, pairs.map((p) => JSON.stringify({ expr: p.expr, file: p.file })).join('\n') + '\n');
const out = execFileSync(path.join(root, 'bin/kith'), ['fhirpath', '--resolve-stubs', '--batch', jobs, '--bench', String(rounds)], {
  encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
});
fs.rmSync(tmp, { recursive: true, force: true });
const k = JSON.parse(out.trim().split('\n').pop());
const kithRate = k.evaluations / k.seconds;

// fhirpath.js: compile every expression, parse every resource, then time evaluation
const resources = new Map();
for (const p of pairs) if (!resources.has(p.file)) resources.set(p.file, JSON.parse(fs.readFileSync(p.file, 'utf8')));
const compiled = new Map();
const work = [];
let current = null; // the resource resolve() runs in
const table = resolveTable(() => current);
for (const p of pairs) {
  const res = resources.get(p.file);
  const key = p.expr;
  if (!compiled.has(key)) {
    let fn = null;
    try {
      fn = fhirpath.compile(p.expr, r4, { userInvocationTable: table });
    } catch { fn = null; }
    compiled.set(key, fn);
  }
  const fn = compiled.get(key);
  if (fn) work.push({ fn, res, expr: p.expr });
}
let evals = 0;
let t0 = process.cpuUsage();
for (let r = -1; r < rounds; r++) { // round -1 warms the JIT, untimed
  if (r === 0) {
    evals = 0;
    t0 = process.cpuUsage();
  }
  for (const w of work) {
    current = w.res;
    try {
      w.fn(w.res);
    } catch { /* counted all the same */ }
    evals++;
  }
}
const used = process.cpuUsage(t0); // CPU time, so other load on the machine matters less
const secs = (used.user + used.system) / 1e6;
const jsRate = evals / secs;

console.log(`kith:        ${k.evaluations} evaluations in ${k.seconds.toFixed(3)} CPU s = ${Math.round(kithRate)} expressions/s`);
console.log(`fhirpath.js: ${evals} evaluations in ${secs.toFixed(3)} CPU s = ${Math.round(jsRate)} expressions/s`);
console.log(`ratio: kith is ${(kithRate / jsRate).toFixed(1)}x fhirpath.js (target >= 10x)`);
