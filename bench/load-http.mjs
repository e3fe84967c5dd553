#!/usr/bin/env node
/*
 * load-http.mjs — load an NDJSON file of resources with ids into a running
 * kith server by PUT /fhir/TYPE/ID, for bench/run.sh. It is the fallback
 * when `kith import` did not load every resource at its own id, so that
 * the HTTP benchmarks still have their data set.
 *
 *   node bench/load-http.mjs BASE_URL FILE.ndjson [CONCURRENCY]
 *
 * Keep-alive connections, CONCURRENCY requests in flight (default 16).
 * Prints "LOADED ok failed seconds rate" and the first few failures; exit
 * status 1 if any PUT failed.
 */
import { createReadStream } from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';

const [base, file, concArg] = process.argv.slice(2);
if (!base || !file) {
  console.error('usage: load-http.mjs BASE_URL FILE.ndjson [CONCURRENCY]');
  process.exit(2);
}
const conc = Number(concArg ?? 16);
const url = new URL(base);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });

function put(line) {
  const m = /"resourceType":"([A-Za-z]+)".*?"id":"([A-Za-z0-9.-]+)"/.exec(line);
  if (!m) return Promise.resolve({ status: 0, text: 'no resourceType/id in line' });
  return new Promise((resolve) => {
    const req = http.request({
      host: url.hostname, port: url.port, agent, method: 'PUT', path: `/fhir/${m[1]}/${m[2]}`,
      headers: { 'Content-Type': 'application/fhir+json', 'Content-Length': Buffer.byteLength(line),
        ...(process.env.KITH_TOKEN ? { Authorization: `Bearer ${process.env.KITH_TOKEN}` } : {}),
        Prefer: 'return=minimal' },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString().slice(0, 300) }));
    });
    req.on('error', (e) => resolve({ status: 0, text: String(e) }));
    req.end(line);
  });
}

const t0 = process.hrtime.bigint();
let ok = 0, failed = 0;
const failures = [];
const inflight = new Set();
const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  const p = put(line).then((r) => {
    if (r.status === 200 || r.status === 201) ok++;
    else {
      failed++;
      if (failures.length < 5) failures.push(`${r.status} ${r.text}`);
    }
    inflight.delete(p);
  });
  inflight.add(p);
  if (inflight.size >= conc) await Promise.race(inflight);
}
await Promise.all(inflight);
agent.destroy();
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`LOADED ${ok} ${failed} ${secs.toFixed(2)} ${(ok / secs).toFixed(0)}`);
for (const f of failures) console.error('  failed: ' + f);
process.exit(failed ? 1 : 0);
