#!/usr/bin/env node
/*
 * load.mjs — a small HTTP load driver for bench/care/run.sh.
 *
 *   node bench/care/load.mjs get   BASE_URL PATH   [options]
 *   node bench/care/load.mjs refer BASE_URL        --patients FILE --services ID,ID,... [options]
 *
 * get:   GET BASE_URL/PATH repeatedly (a worklist).
 * refer: POST BASE_URL/fhir/ServiceRequest/$refer with a Parameters body:
 *        a random patient from FILE (one id a line), a random service, priority
 *        routine (80%) or urgent, and a reason. 201 counts as success.
 *
 * Options: --concurrency C (requests in flight, default 1), --requests N
 * (stop after N, default 500), --seconds S (or after S seconds, default 30),
 * --warmup N (requests first, not counted; default 0), --label L.
 * The bearer token is KITH_TOKEN. Keep-alive connections, one per request in
 * flight. Latency is measured per request, from sending to the last byte.
 *
 * Prints a line for people and a tab-separated line for scripts:
 *   RESULT label requests ok non2xx errors seconds req/s p50 p95 p99 max total entries
 * (milliseconds; total and entries are the first 2xx response's Bundle.total
 * and its number of entries, "-" when not a Bundle). Exit 0 even on errors:
 * the figures say so.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { makeRng } from '../rng.mjs';

const [mode, base, path0, ...rest] = process.argv.slice(2);
const argv = mode === 'refer' ? [path0, ...rest].filter((x) => x !== undefined) : rest;
function opt(name, dflt) {
  const i = argv.indexOf('--' + name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}
if (!['get', 'refer'].includes(mode) || !base || (mode === 'get' && !path0)) {
  console.error('usage: load.mjs get BASE_URL PATH [options] | load.mjs refer BASE_URL --patients FILE --services IDS [options]');
  process.exit(2);
}
const conc = Number(opt('concurrency', 1));
const maxReq = Number(opt('requests', 500));
const maxSecs = Number(opt('seconds', 30));
const warmup = Number(opt('warmup', 0));
const label = opt('label', mode === 'get' ? path0 : 'refer');
const url = new URL(base);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
const token = process.env.KITH_TOKEN;

let patients = [], services = [];
if (mode === 'refer') {
  patients = readFileSync(opt('patients', ''), 'utf8').split('\n').filter(Boolean);
  services = opt('services', '').split(',').filter(Boolean);
  if (!patients.length || !services.length) {
    console.error('load.mjs refer: --patients FILE and --services ID,... are needed');
    process.exit(2);
  }
}

const { rnd, pick } = makeRng(0x72656672);
const REASONS = ['Reduced mobility at home', 'Wound care after a fall', 'Carer breakdown', 'Memory concerns',
  'Frailty review after admission', 'Low mood and isolation', 'Support to live independently'];

function referBody() {
  return JSON.stringify({
    resourceType: 'Parameters',
    parameter: [
      { name: 'patient', valueReference: { reference: 'Patient/' + pick(patients) } },
      { name: 'service', valueReference: { reference: 'HealthcareService/' + pick(services) } },
      { name: 'priority', valueCode: rnd() < 0.8 ? 'routine' : 'urgent' },
      { name: 'reason', valueString: pick(REASONS) },
    ],
  });
}

function request() {
  const body = mode === 'refer' ? referBody() : null;
  const headers = { Accept: 'application/fhir+json', ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  if (body) Object.assign(headers, { 'Content-Type': 'application/fhir+json', 'Content-Length': Buffer.byteLength(body) });
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({
      host: url.hostname, port: url.port, agent, headers,
      method: mode === 'refer' ? 'POST' : 'GET',
      path: mode === 'refer' ? '/fhir/ServiceRequest/$refer' : path0,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6, chunks }));
      res.on('error', (e) => resolve({ status: 0, ms: 0, error: String(e) }));
    });
    req.on('error', (e) => resolve({ status: 0, ms: 0, error: String(e) }));
    req.end(body ?? undefined);
  });
}

for (let i = 0; i < warmup; i++) await request();

const lat = [];
let ok = 0, non2xx = 0, errors = 0, started = 0, total = '-', entries = '-';
const failures = [];
const tStart = process.hrtime.bigint();
const deadline = tStart + BigInt(Math.round(maxSecs * 1e9));
async function worker() {
  while (started < maxReq && process.hrtime.bigint() < deadline) {
    started++;
    const r = await request();
    if (r.status === 0) {
      errors++;
      if (failures.length < 3) failures.push(r.error);
      continue;
    }
    lat.push(r.ms);
    if (r.status >= 200 && r.status < 300) {
      ok++;
      if (total === '-' && mode === 'get') {
        try {
          const b = JSON.parse(Buffer.concat(r.chunks).toString());
          if (b.resourceType === 'Bundle') {
            total = b.total ?? '-';
            entries = (b.entry ?? []).length;
          }
        } catch { /* not JSON: leave "-" */ }
      }
    } else {
      non2xx++;
      if (failures.length < 3) failures.push(`${r.status} ${Buffer.concat(r.chunks).toString().slice(0, 300)}`);
    }
  }
}
await Promise.all(Array.from({ length: conc }, worker));
const secs = Number(process.hrtime.bigint() - tStart) / 1e9;
agent.destroy();

lat.sort((a, b) => a - b);
const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)] : 0);
const f = (x) => x.toFixed(1);
const n = lat.length + errors;
const rps = ok / secs;
console.log(`${label}: c${conc} ${n} requests in ${secs.toFixed(1)} s, ${rps.toFixed(1)}/s ok; ` +
  `p50 ${f(q(0.5))} p95 ${f(q(0.95))} p99 ${f(q(0.99))} max ${f(q(1))} ms; non-2xx ${non2xx}, errors ${errors}` +
  (total !== '-' ? `; Bundle.total ${total}, ${entries} entries` : ''));
for (const x of failures) console.log('  failed: ' + x);
console.log(['RESULT', label, n, ok, non2xx, errors, secs.toFixed(2), rps.toFixed(1), f(q(0.5)), f(q(0.95)), f(q(0.99)),
  f(q(1)), total, entries].join('\t'));
