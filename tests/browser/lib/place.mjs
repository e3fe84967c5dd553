// place.mjs — what every browser test needs: a real `kith serve` on a small
// synthetic place (kith synth) with staff accounts of each role, a real
// Chromium (Debian's, driven by playwright-core), axe-core on every page,
// and screenshots kept in build/browser-artifacts/.
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { startServer, kith, tempDir, ROOT } from '../../api/lib/server.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const ARTIFACTS = path.join(ROOT, 'build/browser-artifacts');
const CHROMIUM = process.env.KITH_CHROMIUM ?? '/usr/bin/chromium';
export const PASSWORD = 'correct horse battery staple';
// the web interface of this checkout, whichever kith binary (KITH_BIN) serves it
process.env.KITH_WEB_DIR ??= path.join(ROOT, 'web');

/** Staff of the synthetic place (ids from kith synth): username -> account. */
export const STAFF = {
  gp: { role: 'gp', org: 'gp-Z00001', practitioner: 'pr-1' },
  nurse: { role: 'community-nurse', org: 'org-community', practitioner: 'pr-61' },
  socialworker: { role: 'social-worker', org: 'la-E06000999', practitioner: 'pr-67' },
  discharge: { role: 'discharge-coordinator', org: 'org-acute', practitioner: 'pr-181' },
  chair: { role: 'mdt-chair', org: 'org-int-1', practitioner: 'pr-69' },
  admin: { role: 'administrator', org: 'org-icb' },
};

/**
 * A synthetic place served by kith: { base, server, db, dir, stop() }.
 * people: size of the place; env: extra environment for kith serve (KITH_NOW).
 */
export async function startPlace({ people = 300, seed = 7, scoreRisk = true, serveArgs = [] } = {}) {
  const dir = tempDir('kith-browser-');
  const db = path.join(dir, 'kith.db');
  kith(['synth', '--people', String(people), '--seed', String(seed), '--db', db, '--out', path.join(dir, 'synth')]);
  if (scoreRisk) {
    kith(['frailty', '--db', db, '--quiet']);
    kith(['risk', 'fit', '--db', db, '--quiet']);
    kith(['risk', 'score', '--db', db, '--quiet']);
  }
  for (const [username, a] of Object.entries(STAFF)) {
    const args = ['user', 'add', '--db', db, '--username', username, '--role', a.role, '--org', a.org, '--password-stdin'];
    if (a.practitioner) args.push('--practitioner', a.practitioner);
    kith(args, `${PASSWORD}\n`);
  }
  const server = await startServer({ dbPath: db, args: serveArgs });
  return {
    base: server.base, server, db, dir,
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A FHIR request to the place as the server's system client (its token goes
 * with every /fhir fetch); fails the test unless it succeeds. The answer's JSON.
 */
export async function fhirAs(base, method, path, body) {
  const r = await fetch(`${base}/fhir/${path}`, {
    method, headers: { 'Content-Type': 'application/fhir+json' }, body: body ? JSON.stringify(body) : undefined,
  });
  const json = await r.json().catch(() => null);
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(json)?.slice(0, 300)}`);
  return json;
}

/** Debian's Chromium, headless. */
export async function launchBrowser() {
  const args = ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'];
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/**
 * A new page that fails the test on any script error, console error or
 * Content-Security-Policy violation (collected in page.problems).
 */
export async function newPage(browser, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`script error: ${e.message}`));
  page.on('console', (m) => {
    // 4xx answers are part of the journeys; the design system's licensed font on
    // assets.nhs.uk is refused by our Content-Security-Policy on purpose (Arial is used)
    if (m.type() === 'error' && !/status of 4[0-9][0-9]/.test(m.text()) &&
        !/Loading the font 'https:\/\/assets\.nhs\.uk\//.test(m.text())) page.problems.push(`console: ${m.text()}`);
  });
  return page;
}

export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], `the page reported problems:\n${page.problems.join('\n')}`);
}

/** Sign in through the sign-in page. */
export async function signIn(page, base, username, password = PASSWORD) {
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Follow a link of the header's menu. */
export async function menu(page, name) {
  await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name, exact: true }).click();
  await settled(page);
}

/** How far the page scrolls sideways (px); 0 or less when it fits. */
export function sidewaysScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Wait until the app has drawn the page (its loading note is gone). */
export async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('.kith-loading') && document.querySelector('main h1'));
}

/**
 * axe-core (WCAG 2.0, 2.1 and 2.2 A and AA) on the page as it is now;
 * fails on any violation. Keeps a screenshot as name.png.
 */
export async function checkPage(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
  }));
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`);
  assert.deepEqual(found, [], `axe-core found accessibility violations on ${name}:\n${found.join('\n')}`);
  assertNoProblems(page);
}
