#!/usr/bin/env node
/*
 * time.mjs — time one request, repeated, for bench/mdt/run.sh.
 *
 *   node bench/mdt/time.mjs METHOD URL [--body JSON] [--requests N] [--warmup W] [--label L]
 *
 * Sends the request N times one after another (after W not counted), with
 * the bearer token KITH_TOKEN, and prints a line for people and one for
 * scripts: RESULT label n ok p50 p95 max mean (milliseconds), then the last
 * answer's OperationOutcome diagnostics (or status) as NOTE lines. Exit 0
 * even when requests fail: the figures say so.
 */
const [method, url, ...rest] = process.argv.slice(2);
const opt = (name, dflt) => { const i = rest.indexOf(`--${name}`); return i >= 0 ? rest[i + 1] : dflt; };
const n = Number(opt('requests', 30)), warmup = Number(opt('warmup', 3)), label = opt('label', `${method} ${url}`);
const body = opt('body', undefined);
const headers = { Authorization: `Bearer ${process.env.KITH_TOKEN}`, Accept: 'application/fhir+json' };
if (body) headers['Content-Type'] = 'application/fhir+json';
const times = [];
let ok = 0, last;
for (let i = 0; i < n + warmup; i++) {
  const t0 = process.hrtime.bigint();
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (i >= warmup) {
    times.push(ms);
    if (res.status < 300) ok++;
  }
  last = { status: res.status, text };
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)];
const mean = times.reduce((a, b) => a + b, 0) / times.length;
const f = (x) => x.toFixed(1);
console.log(`${label}: ${n} requests, ${ok} ok; p50 ${f(q(0.5))} ms, p95 ${f(q(0.95))} ms, max ${f(times.at(-1))} ms, mean ${f(mean)} ms`);
console.log(['RESULT', label, n, ok, f(q(0.5)), f(q(0.95)), f(times.at(-1)), f(mean)].join('\t'));
try {
  const j = JSON.parse(last.text);
  const oo = j.resourceType === 'OperationOutcome' ? j : j.entry?.map((e) => e.resource).find((r) => r.resourceType === 'OperationOutcome');
  for (const is of oo?.issue ?? []) console.log(`NOTE ${is.severity}: ${is.diagnostics}`);
  if (j.resourceType === 'MeasureReport')
    for (const g of j.group) console.log(`NOTE ${g.code.coding[0].code}: ${g.measureScore ? `${g.measureScore.value} ${g.measureScore.unit}` : '-'} (${g.population.map((p) => `${p.code.coding[0].code} ${p.count}`).join(', ')})`);
  if (j.resourceType === 'List') console.log(`NOTE ${j.title}: ${j.entry?.length ?? 0} entries`);
} catch { console.log(`NOTE last answer: ${last.status}`); }
