// crosscheck.mjs — compare Kith's FHIRPath engine with the reference engine
// fhirpath.js (npm fhirpath, R4 model) on real work: every R4 SearchParameter
// expression (SearchParameter-*.json in hl7.fhir.r4.examples) over every
// official example of its base type(s) (the list tools/example-files.mjs
// makes). Kith evaluates all pairs in one `kith fhirpath --batch` process.
//
// resolve() cannot fetch here, so both engines resolve the same way: a
// contained resource for "#id", a Bundle entry (fullUrl or Type/id) inside a
// Bundle, else a stub {resourceType, id} for a "Type/id" reference (Kith's
// --resolve-stubs). Results are compared as JSON after normalising: decimals
// by value, fhirpath.js's date/time/quantity objects by their text.
//
// Prints each disagreement with its reason, then `crosscheck: N passed, M
// failed`; exits 1 when fewer than THRESHOLD of the pairs agree.
// Usage: node tests/conformance/crosscheck.mjs [--verbose] [--limit N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { exampleFiles } from '../../tools/example-files.mjs';

// CommonJS build, so that resolve() can hand back the engine's own ResourceNode
const require = createRequire(import.meta.url);
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');
const { ResourceNode } = require(path.join(path.dirname(require.resolve('fhirpath')), 'types.js'));

const THRESHOLD = 0.99;

// Disagreements we understand, by search parameter id (and file, '*' for any):
// the reason is printed with the difference. They still count as failed.
const EXPLAINED = [
  { sp: 'Observation-combo-code-value-concept', file: 'Observation-decimal.json',
    why: 'fhirpath.js compares decimals rounded to 8 places, so components with 1E-22 and 1.0E-245 are equal to it and the union drops one; Kith compares exactly (FHIRPath: decimal equality is by value)' },
  { sp: 'questionnaireresponse-extensions-QuestionnaireResponse-item-subject', file: '*',
    why: 'hasExtension() is not a FHIRPath function and fhirpath.js rejects it; R4 uses it in this search parameter and Kith implements it (extension(url).exists())' },
];
function explain(f) {
  const e = EXPLAINED.find((x) => x.sp === f.sp && (x.file === '*' || x.file === path.basename(f.file)));
  return e ? e.why : null;
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = path.join(root, 'node_modules/hl7.fhir.r4.examples');
const kith = path.join(root, 'bin/kith');
const verbose = process.argv.includes('--verbose');
const limitAt = process.argv.indexOf('--limit');
const limit = limitAt > 0 ? Number(process.argv[limitAt + 1]) : Infinity;

// ---- the work: (expression, example file) pairs -----------------------------

export function searchExpressions() {
  const out = [];
  for (const f of fs.readdirSync(pkg).sort()) {
    if (!f.startsWith('SearchParameter-') || !f.endsWith('.json')) continue;
    const sp = JSON.parse(fs.readFileSync(path.join(pkg, f), 'utf8'));
    if (sp.expression) out.push({ id: sp.id, expression: sp.expression, base: sp.base || [] });
  }
  return out;
}

export function workPairs() {
  const byType = new Map();
  for (const file of exampleFiles(pkg)) {
    const type = JSON.parse(fs.readFileSync(file, 'utf8')).resourceType;
    if (!byType.has(type)) byType.set(type, []);
    byType.get(type).push(file);
  }
  const pairs = [];
  const seen = new Set();
  for (const sp of searchExpressions()) {
    for (const base of sp.base) {
      for (const file of byType.get(base) || []) {
        const key = `${sp.expression}\u0000${file}`;
        if (seen.has(key)) continue;
        seen.add(key);
        pairs.push({ expr: sp.expression, file, sp: sp.id });
      }
    }
  }
  pairs.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return pairs;
}

// ---- fhirpath.js with the same resolve() as Kith's --resolve-stubs -----------

// rootResource: the resource evaluated, or a function returning it (so one
// compiled expression can serve many resources).
export function resolveTable(rootResource) {
  const getRoot = typeof rootResource === 'function' ? rootResource : () => rootResource;
  function find(ref) {
    const rootResource = getRoot();
    if (typeof ref !== 'string') return null;
    if (ref.startsWith('#')) {
      return (rootResource.contained || []).find((r) => r.id === ref.slice(1)) || null;
    }
    const bare = ref.split('/_history/')[0];
    const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([^/]+)$/.exec(bare);
    if (rootResource.resourceType === 'Bundle') {
      for (const e of rootResource.entry || []) {
        if (e.fullUrl === ref) return e.resource;
        if (m && e.resource && e.resource.resourceType === m[1] && e.resource.id === m[2]) return e.resource;
      }
    }
    if (m && r4.type2Parent && (r4.type2Parent[m[1]] === 'DomainResource' || r4.type2Parent[m[1]] === 'Resource')) {
      return { resourceType: m[1], id: m[2] };
    }
    return null;
  }
  return {
    resolve: {
      fn: function (inputs) {
        const out = [];
        for (const it of inputs) {
          const v = it && it.data !== undefined ? it.data : it;
          const ref = v && typeof v === 'object' ? v.reference : v;
          const r = find(ref);
          if (r) out.push(ResourceNode.makeResNode(this, r, null, null, null, null));
        }
        return out;
      },
      arity: { 0: [] },
    },
  };
}

export function referenceEval(expr, resource) {
  return fhirpath.evaluate(resource, expr, null, r4, { userInvocationTable: resolveTable(resource) });
}

// ---- normalising and comparing ----------------------------------------------

function norm(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return { $num: v };
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object') {
    // fhirpath.js system values (FP_DateTime, FP_Quantity...) serialise through toString/toJSON
    if (typeof v.toJSON === 'function' && v.constructor && v.constructor.name !== 'Object') return norm(v.toJSON());
    if (v.constructor && v.constructor.name !== 'Object' && typeof v.toString === 'function' && !('resourceType' in v))
      return String(v);
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = norm(v[k]);
    return o;
  }
  return String(v);
}

function same(a, b) {
  if (a && typeof a === 'object' && '$num' in a) return b && typeof b === 'object' && '$num' in b && Math.abs(a.$num - b.$num) <= 1e-9 * Math.max(1, Math.abs(a.$num));
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && typeof a === 'object') {
    if (!b || typeof b !== 'object' || Array.isArray(b)) return false;
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => same(a[k], b[k]));
  }
  return a === b;
}

// ---- main ---------------------------------------------------------------------

function main() {
  if (!fs.existsSync(pkg) || !fs.existsSync(kith)) {
    console.log(`crosscheck: skipped (${!fs.existsSync(pkg) ? pkg : kith} missing)`);
    return 0;
  }
  let pairs = workPairs();
  if (pairs.length > limit) pairs = pairs.slice(0, limit);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-crosscheck-'));
  const jobs = path.join(tmp, 'jobs.ndjson');
  fs.writeFileSync(jobs, pairs.map((p) => JSON.stringify({ expr: p.expr, file: p.file })).join('\n') + '\n');
  const out = execFileSync(kith, ['fhirpath', '--resolve-stubs', '--batch', jobs], {
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  }).split('\n');
  fs.rmSync(tmp, { recursive: true, force: true });

  const resources = new Map();
  let passed = 0;
  const failures = [];
  pairs.forEach((p, i) => {
    let res = resources.get(p.file);
    if (!res) {
      resources.clear();
      res = JSON.parse(fs.readFileSync(p.file, 'utf8'));
      resources.set(p.file, res);
    }
    const k = JSON.parse(out[i]);
    let ref, refErr;
    try {
      ref = referenceEval(p.expr, res);
    } catch (e) {
      refErr = e.message;
    }
    let why = null;
    if (refErr && k.error) {
      passed++;
      return;
    }
    if (refErr) why = `fhirpath.js error: ${refErr}; Kith: ${JSON.stringify(k.result).slice(0, 300)}`;
    else if (k.error) why = `Kith error: ${k.error}; fhirpath.js: ${JSON.stringify(ref).slice(0, 300)}`;
    else if (!same(norm(k.result), norm(ref)))
      why = `results differ:\n    kith:        ${JSON.stringify(k.result).slice(0, 400)}\n    fhirpath.js: ${JSON.stringify(norm(ref)).slice(0, 400)}`;
    if (why) failures.push({ ...p, why });
    else passed++;
  });
  for (const f of failures) {
    const why = explain(f);
    console.log(`DIFF ${f.sp} on ${path.basename(f.file)}: ${f.expr}\n    ${f.why}${why ? `\n    known: ${why}` : ''}`);
  }
  const total = pairs.length;
  const ratio = total ? passed / total : 1;
  console.log(`crosscheck: ${(ratio * 100).toFixed(2)}% of ${total} (expression, resource) pairs agree (threshold ${THRESHOLD * 100}%)`);
  console.log(`crosscheck: ${passed} passed, ${failures.length} failed`);
  return ratio >= THRESHOLD ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main());
