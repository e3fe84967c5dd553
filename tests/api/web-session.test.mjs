// web-session.test.mjs — signing in through the web: the session cookie's
// flags, the anti-forgery token on every change made with the cookie, no
// session fixation, sign-out, answers that do not tell whether a username
// exists; and hostile content: script in a resource comes back as inert JSON
// data (nosniff), an oversized header is refused while the server carries on.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { kith, startServer } from './lib/server.mjs';

let server;
const NOAUTH = { Authorization: '' }; // fetch sends no bearer token: the cookie alone must do

before(async () => {
  server = await startServer();
  kith(['user', 'add', '--username', 'web-gp', '--role', 'gp', '--org', 'web-org', '--password-stdin', '--db', server.dbPath],
    'web password 123\n');
  const r = await fetch(`${server.base}/fhir/Organization/web-org`, {
    method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Organization', id: 'web-org', name: 'Web Surgery' }),
  });
  assert.ok(r.status === 201 || r.status === 200);
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

async function signIn(body, headers = {}) {
  const r = await fetch(`${server.base}/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  });
  const cookie = r.headers.get('set-cookie') ?? '';
  return { status: r.status, json: await r.json(), cookie, session: /kith_session=([^;]*)/.exec(cookie)?.[1] };
}

const withCookie = (session, extra = {}) => ({ ...NOAUTH, Cookie: `kith_session=${session}`, ...extra });

describe('web sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie and gives an anti-forgery token', async () => {
    const s = await signIn({ username: 'web-gp', password: 'web password 123' });
    assert.equal(s.status, 200, JSON.stringify(s.json));
    assert.match(s.cookie, /HttpOnly/);
    assert.match(s.cookie, /SameSite=Strict/);
    assert.match(s.cookie, /Path=\//);
    assert.doesNotMatch(s.cookie, /Secure/, 'not Secure over plain HTTP (it is under --tls-cert)');
    assert.match(s.json.csrfToken, /^[0-9a-f]{64}$/);
    assert.equal(s.json.role, 'gp');
    const who = await fetch(`${server.base}/auth/session`, { headers: withCookie(s.session) });
    assert.equal(who.status, 200);
    assert.equal((await who.json()).username, 'web-gp');
    const read = await fetch(`${server.base}/fhir/Organization/web-org`, { headers: withCookie(s.session) });
    assert.equal(read.status, 200, 'the cookie alone signs a read in');
  });

  it('refuses a change made with the cookie without the right X-CSRF-Token, and nothing is stored', async () => {
    const s = await signIn({ username: 'web-gp', password: 'web password 123' });
    const body = JSON.stringify({ resourceType: 'Organization', id: 'csrf-test', name: 'Forged' });
    for (const extra of [{}, { 'X-CSRF-Token': '0'.repeat(64) }]) {
      const r = await fetch(`${server.base}/fhir/Organization/csrf-test`, {
        method: 'PUT', headers: withCookie(s.session, { 'Content-Type': 'application/fhir+json', ...extra }), body,
      });
      assert.equal(r.status, 403, await r.text());
    }
    assert.equal((await fetch(`${server.base}/fhir/Organization/csrf-test`)).status, 404, 'nothing stored');
    const ok = await fetch(`${server.base}/fhir/Organization/csrf-test`, {
      method: 'PUT', headers: withCookie(s.session, { 'Content-Type': 'application/fhir+json', 'X-CSRF-Token': s.json.csrfToken }),
      body,
    });
    assert.equal(ok.status, 201, await ok.text());
  });

  it('does not let a planted session id become a session (no fixation)', async () => {
    const planted = 'kith_attacker-chosen-session-id-0123456789abcdef';
    const before = await fetch(`${server.base}/fhir/Organization/web-org`, { headers: withCookie(planted) });
    assert.equal(before.status, 401);
    const s = await signIn({ username: 'web-gp', password: 'web password 123' }, { Cookie: `kith_session=${planted}` });
    assert.equal(s.status, 200);
    assert.notEqual(s.session, planted, 'a new session id is issued at sign-in');
    const after = await fetch(`${server.base}/fhir/Organization/web-org`, { headers: withCookie(planted) });
    assert.equal(after.status, 401, 'the planted id is still nobody');
  });

  it('signs out only with the anti-forgery token, and the session then stops working', async () => {
    const s = await signIn({ username: 'web-gp', password: 'web password 123' });
    const forged = await fetch(`${server.base}/auth/logout`, { method: 'POST', headers: withCookie(s.session) });
    assert.equal(forged.status, 403);
    const out = await fetch(`${server.base}/auth/logout`, {
      method: 'POST', headers: withCookie(s.session, { 'X-CSRF-Token': s.json.csrfToken }),
    });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal((await fetch(`${server.base}/fhir/Organization/web-org`, { headers: withCookie(s.session) })).status, 401);
  });

  it('gives the same answer for a wrong password and an unknown username', async () => {
    const wrong = await signIn({ username: 'web-gp', password: 'not it at all' });
    const unknown = await signIn({ username: 'nobody-by-this-name', password: 'not it at all' });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(wrong.json, unknown.json);
    assert.equal(wrong.session, undefined);
  });
});

describe('hostile content', () => {
  it('returns script in a resource as inert JSON data, with nosniff', async () => {
    const payload = '<script>alert(document.cookie)</script><img src=x onerror=alert(1)>';
    const put = await fetch(`${server.base}/fhir/Patient/xss-1`, {
      method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', id: 'xss-1', name: [{ family: payload }] }),
    });
    assert.equal(put.status, 201);
    const r = await fetch(`${server.base}/fhir/Patient/xss-1`);
    assert.match(r.headers.get('content-type'), /^application\/fhir\+json/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const j = await r.json();
    assert.equal(j.name[0].family, payload, 'kept as data, exactly');
  });

  it('refuses an oversized header and carries on serving', async () => {
    const status = await new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: server.port, path: '/fhir/metadata', headers: { 'X-Big': 'a'.repeat(200000) } },
        (res) => { res.resume(); resolve(res.statusCode); });
      req.on('error', () => resolve('closed'));
      req.end();
    });
    assert.ok(status === 'closed' || status >= 400, `an oversized header gets an error (${status})`);
    assert.equal((await fetch(`${server.base}/fhir/metadata`)).status, 200, 'the server is still serving');
  });
});
