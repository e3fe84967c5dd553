// bench/web/pages.mjs — how fast the staff web interface's pages are, on a
// real `kith serve` of a large synthetic place, in Debian's Chromium.
// A measuring program, not a test: prints figures, never fails on them.
//
// For each page it signs in as the member of staff who uses it, opens the
// page VISITS times (fresh navigation each time) and records:
//   - render: from asking for the page (a fresh load of the app) to the page
//     drawn (its h1 shown, no "Loading"), in the browser;
//   - server: each API request's time inside kith (the "ms" of the
//     server's request log, joined by X-Request-Id), as p50/p95/max over all
//     of the page's requests, and p95 of the slowest request of each visit.
// Usage: node bench/web/pages.mjs BASE DIR LOGFILE  (bench/web/run.sh does it)
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const [base, dir, logFile] = process.argv.slice(2);
const VISITS = Number(process.env.WEB_BENCH_VISITS ?? 20);
const password = fs.readFileSync(`${dir}/password.txt`, 'utf8').trim();
const pick = JSON.parse(fs.readFileSync(`${dir}/pick.json`, 'utf8'));

const PAGES = [
  ['home (GP)', 'gp', '#/'],
  ['home (community nurse)', 'nurse', '#/'],
  ['find a person', 'gp', '#/find'],
  ['person record (most history)', 'gp', `#/person/${pick.person}`],
  ['directory', 'gp', '#/directory'],
  ['make a referral', 'gp', `#/refer/${pick.person}`],
  ['a referral', 'socialworker', pick.task ? `#/referral/${pick.task}` : null],
  ['MDT meetings', 'coordinator', '#/mdt'],
  ['an MDT', 'coordinator', '#/mdt/mdt-int-1'],
  ['discharge board', 'discharge', '#/discharge'],
  ['dashboards', 'gp', '#/dashboard'],
  ['administration', 'admin', '#/admin'],
];

function pct(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const browser = await chromium.launch({ executablePath: process.env.KITH_CHROMIUM ?? '/usr/bin/chromium',
  headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
const results = [];
for (const [name, user, hash] of PAGES) {
  if (!hash) { results.push({ name, skipped: true }); continue; }
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  const visits = [];
  for (let i = 0; i < VISITS; i++) {
    const ids = [];
    const onResponse = (r) => { const id = r.headers()['x-request-id']; if (id && !r.url().includes('/web/')) ids.push(id); };
    page.on('response', onResponse);
    await page.goto('about:blank');
    const t0 = Date.now(); // a fresh load of the app each time: its files, then the page's data
    await page.goto(`${base}/${hash}`);
    await page.waitForFunction(() => !document.querySelector('.kith-loading') && document.querySelector('main h1'),
      null, { timeout: 60000 });
    await page.waitForLoadState('networkidle');
    visits.push({ render: Date.now() - t0, ids: [...ids] });
    page.off('response', onResponse);
  }
  results.push({ name, user, visits });
  await context.close();
}
await browser.close();

// the server's own timing of each request
await new Promise((r) => setTimeout(r, 300));
const ms = new Map();
const what = new Map(); // request id -> "route path"
for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
  if (!line.includes('"msg":"request"')) continue;
  try {
    const j = JSON.parse(line);
    ms.set(j.request_id, j.ms);
    what.set(j.request_id, `${j.method} ${j.path.replace(/\/(pat|enc|obs|ap|task|sr)-[^/]*/g, '/{id}').replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}')}`);
  } catch { /* not a log line */ }
}
console.log(`pages of the web interface, ${VISITS} visits each (ms)`);
console.log('page                              render p50  render p95   requests/visit  server p50  server p95  server max  slowest-per-visit p95');
for (const r of results) {
  if (r.skipped) { console.log(`${r.name.padEnd(34)} skipped (nothing to show)`); continue; }
  const all = r.visits.flatMap((v) => v.ids.map((id) => ms.get(id)).filter((x) => x !== undefined));
  const slowest = r.visits.map((v) => Math.max(0, ...v.ids.map((id) => ms.get(id) ?? 0)));
  const renders = r.visits.map((v) => v.render);
  const perVisit = r.visits.reduce((a, v) => a + v.ids.length, 0) / r.visits.length;
  console.log(`${r.name.padEnd(34)}${pct(renders, 50).toFixed(0).padStart(10)}${pct(renders, 95).toFixed(0).padStart(12)}` +
    `${perVisit.toFixed(1).padStart(17)}${pct(all, 50).toFixed(1).padStart(12)}${pct(all, 95).toFixed(1).padStart(12)}` +
    `${Math.max(0, ...all).toFixed(1).padStart(12)}${pct(slowest, 95).toFixed(1).padStart(23)}`);
}
console.log('\nthe slowest requests of each page (server p95 ms by request)');
for (const r of results) {
  if (r.skipped) continue;
  const by = new Map();
  for (const v of r.visits) for (const id of v.ids) {
    const k = what.get(id);
    if (k && ms.has(id)) by.set(k, [...(by.get(k) ?? []), ms.get(id)]);
  }
  const top = [...by].map(([k, xs]) => [k, pct(xs, 95)]).sort((a, b) => b[1] - a[1]).slice(0, 3);
  console.log(`${r.name.padEnd(34)}${top.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(';  ')}`);
}
