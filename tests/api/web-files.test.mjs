// web-files.test.mjs — what kith serve gives the staff web interface: its
// files at / and /web/ (strict Content-Security-Policy, no way out of the
// directory), the published report at /reports/ (signed-in staff only), and
// user administration at /auth/users (administrators only, anti-forgery
// token, audited, a leaver's open tasks moved to their team).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { kith, startServer, tempDir, ROOT } from './lib/server.mjs';

let server, reportDir;
// this checkout's web interface, whichever kith binary (KITH_BIN) serves it
process.env.KITH_WEB_DIR ??= path.join(ROOT, 'web');
const NOAUTH = { Authorization: '' };
const ADMIN_PASSWORD = 'admin password 1';

async function signIn(username, password) {
  const r = await fetch(`${server.base}/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
  });
  const json = await r.json();
  const session = /kith_session=([^;]*)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
  return { status: r.status, csrf: json.csrfToken, headers: { ...NOAUTH, Cookie: `kith_session=${session}` } };
}

before(async () => {
  reportDir = tempDir('kith-report-');
  fs.writeFileSync(path.join(reportDir, 'tasks.csv'), 'level,unit\nplace,"place"\n');
  fs.writeFileSync(path.join(reportDir, 'secret.txt'), 'not for the web\n');
  server = await startServer({ args: ['--reports', reportDir] });
  for (const [id, type] of [['web-org', 'Organization'], ['web-team', 'Organization'], ['pr-web', 'Practitioner']]) {
    const r = await fetch(`${server.base}/fhir/${type}/${id}`, {
      method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: type, id, name: type === 'Organization' ? `Team ${id}` : [{ family: 'Web' }] }),
    });
    assert.ok(r.status === 201 || r.status === 200);
  }
  kith(['user', 'add', '--username', 'web-admin', '--role', 'administrator', '--org', 'web-org', '--password-stdin',
    '--db', server.dbPath], `${ADMIN_PASSWORD}\n`);
  kith(['user', 'add', '--username', 'web-nurse', '--role', 'community-nurse', '--org', 'web-team', '--password-stdin',
    '--db', server.dbPath], 'nurse password 1\n');
});
after(async () => {
  await server?.stop();
  server?.cleanup();
  fs.rmSync(reportDir, { recursive: true, force: true });
});

describe('the web interface files', () => {
  it('answers / with the app page under a strict Content-Security-Policy', async () => {
    const r = await fetch(`${server.base}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    const csp = r.headers.get('content-security-policy');
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const page = await r.text();
    assert.match(page, /<script type="module" src="\/web\/app.js"><\/script>/);
    assert.doesNotMatch(page, /<script>/, 'no inline script');
  });

  it('serves the app scripts and the NHS.UK frontend styles with their types', async () => {
    const js = await fetch(`${server.base}/web/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /^text\/javascript/);
    const css = await fetch(`${server.base}/web/nhsuk/nhsuk-frontend-10.6.1.min.css`);
    assert.equal(css.status, 200, 'the NHS.UK frontend comes from node_modules/nhsuk-frontend');
    assert.match(css.headers.get('content-type'), /^text\/css/);
  });

  it('never serves anything outside its directories', async () => {
    for (const p of ['/web/../package.json', '/web/%2e%2e/package.json', '/web/.hidden', '/web/lib/../../Makefile',
      '/web/nhsuk/../../package.json', '/web/app.exe', '/web/', '/web/nothing-here.js', '/web/a%00.js']) {
      const r = await fetch(`${server.base}${p}`);
      assert.equal(r.status, 404, `${p} answered ${r.status}`);
      assert.doesNotMatch(await r.text(), /"name": "kith"|KITH_CC/);
    }
    const post = await fetch(`${server.base}/web/app.js`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
  });
});

describe('the published report', () => {
  it('is for signed-in staff only, and only its own files', async () => {
    const anon = await fetch(`${server.base}/reports/tasks.csv`, { headers: NOAUTH });
    assert.equal(anon.status, 401);
    const s = await signIn('web-nurse', 'nurse password 1');
    const r = await fetch(`${server.base}/reports/tasks.csv`, { headers: s.headers });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    assert.equal(await r.text(), 'level,unit\nplace,"place"\n');
    for (const p of ['/reports/secret.txt', '/reports/../package.json', '/reports/indicators.csv']) {
      const x = await fetch(`${server.base}${p}`, { headers: s.headers });
      assert.equal(x.status, 404, `${p} answered ${x.status}`);
    }
  });
});

describe('user administration', () => {
  it('lists users without their password hashes, for administrators only', async () => {
    const admin = await signIn('web-admin', ADMIN_PASSWORD);
    const r = await fetch(`${server.base}/auth/users`, { headers: admin.headers });
    assert.equal(r.status, 200);
    const text = await r.text();
    assert.doesNotMatch(text, /argon2/);
    const body = JSON.parse(text);
    assert.ok(body.users.some((u) => u.username === 'web-nurse' && u.role === 'community-nurse' && u.disabled === false));
    assert.ok(body.roles.includes('social-worker'));
    const nurse = await signIn('web-nurse', 'nurse password 1');
    const refused = await fetch(`${server.base}/auth/users`, { headers: nurse.headers });
    assert.equal(refused.status, 403);
    assert.equal((await fetch(`${server.base}/auth/users`, { headers: NOAUTH })).status, 401);
  });

  it('adds a user who can then sign in; refuses bad input and a missing anti-forgery token', async () => {
    const admin = await signIn('web-admin', ADMIN_PASSWORD);
    const add = (body, csrf = admin.csrf) => fetch(`${server.base}/auth/users`, {
      method: 'POST', headers: { ...admin.headers, 'Content-Type': 'application/json', 'X-CSRF-Token': csrf ?? '' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const good = { username: 'web-sw', role: 'social-worker', organization: 'web-team', practitioner: 'pr-web', password: 'a good password' };
    assert.equal((await add(good, 'wrong')).status, 403, 'no anti-forgery token, no change');
    for (const [bad, why] of [
      [{ ...good, role: 'surgeon' }, /role/], [{ ...good, password: 'short' }, /8 characters/],
      [{ ...good, username: 'has space' }, /username/], [{ ...good, organization: 'nowhere' }, /no organisation/],
      [{ ...good, practitioner: 'pr-missing' }, /no practitioner/], ['{"username": ', /JSON/]]) {
      const r = await add(bad);
      assert.equal(r.status, 400);
      assert.match((await r.json()).error, why);
    }
    const list = await (await fetch(`${server.base}/auth/users`, { headers: admin.headers })).json();
    assert.ok(!list.users.some((u) => u.username === 'web-sw'), 'nothing stored by the refusals');
    const r = await add(good);
    assert.equal(r.status, 201);
    assert.equal((await add(good)).status, 409);
    assert.equal((await signIn('web-sw', 'a good password')).status, 200);
  });

  it("disables a leaver: they cannot sign in, their open tasks go to their team; enable lets them back", async () => {
    const admin = await signIn('web-admin', ADMIN_PASSWORD);
    kith(['user', 'add', '--username', 'web-leaver', '--role', 'community-nurse', '--org', 'web-team',
      '--practitioner', 'pr-web', '--password-stdin', '--db', server.dbPath], 'leaver password 1\n');
    const pat = await fetch(`${server.base}/fhir/Patient`, {
      method: 'POST', headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Leaverstask' }] }),
    });
    const patient = await pat.json();
    const t = await fetch(`${server.base}/fhir/Task`, {
      method: 'POST', headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: `Patient/${patient.id}` },
        owner: { reference: 'Practitioner/pr-web' }, description: 'Dressing change' }),
    });
    assert.equal(t.status, 201, await t.clone().text());
    const task = await t.json();
    const post = (p) => fetch(`${server.base}/auth/users/${p}`, { method: 'POST', headers: { ...admin.headers, 'X-CSRF-Token': admin.csrf } });
    const r = await post('web-leaver/disable');
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { username: 'web-leaver', disabled: true, tasksMoved: 1 });
    const moved = await (await fetch(`${server.base}/fhir/Task/${task.id}`)).json();
    assert.equal(moved.owner.reference, 'Organization/web-team');
    assert.equal((await signIn('web-leaver', 'leaver password 1')).status, 401);
    assert.equal((await post('web-admin/disable')).status, 409, 'an administrator cannot lock themself out');
    assert.equal((await post('nobody/disable')).status, 404);
    assert.equal((await post('web-leaver/promote')).status, 404);
    assert.equal((await post('web-leaver/enable')).status, 200);
    assert.equal((await signIn('web-leaver', 'leaver password 1')).status, 200);
    const audit = await (await fetch(`${server.base}/fhir/AuditEvent?_count=200`)).json();
    const subtypes = audit.entry.map((e) => e.resource.subtype?.[0]?.code);
    for (const s of ['user-add', 'user-disable', 'user-enable']) assert.ok(subtypes.includes(s), `audited ${s}`);
  });
});
