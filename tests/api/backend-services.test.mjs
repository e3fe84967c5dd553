// backend-services.test.mjs — SMART Backend Services: a system client gets a
// short-lived token by signing a JWT with its registered key (RS384 or
// ES384) and posting it to /auth/token (OAuth2 client credentials, RFC 7523).
// Assertions with alg none, a wrong algorithm, a bad signature, a wrong
// audience, past or far expiry, a reused jti, or scopes beyond the
// registration are refused. Keys and signatures come from node:crypto.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { kith, startServer } from './lib/server.mjs';

let server;
const keys = {};
const b64u = (b) => Buffer.from(b).toString('base64url');

function assertion({ client = 'bs-rsa', alg = 'RS384', key = keys.rsa.privateKey, aud, exp, jti, sub, iss } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: 'JWT', kid: 'k1' };
  const claims = {
    iss: iss ?? client, sub: sub ?? client, aud: aud ?? `${server.base}/auth/token`,
    exp: exp ?? now + 240, jti: jti ?? crypto.randomUUID(),
  };
  const signing = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  let sig = '';
  if (alg === 'RS384') sig = b64u(crypto.sign('sha384', Buffer.from(signing), key));
  else if (alg === 'ES384') sig = b64u(crypto.sign('sha384', Buffer.from(signing), { key, dsaEncoding: 'ieee-p1363' }));
  else if (alg === 'HS256') sig = b64u(crypto.createHmac('sha256', 'secret').update(signing).digest());
  return `${signing}.${sig}`;
}

async function tokenRequest(jwt, { scope = 'system/Patient.rs', grant = 'client_credentials' } = {}) {
  const body = new URLSearchParams({
    grant_type: grant, scope,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt,
  });
  const r = await fetch(`${server.base}/auth/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body,
  });
  return { status: r.status, json: await r.json() };
}

before(async () => {
  server = await startServer();
  keys.rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys.ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  keys.other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  for (const [name, kp] of [['bs-rsa', keys.rsa], ['bs-ec', keys.ec]]) {
    const file = path.join(server.dir ?? path.dirname(server.dbPath), `${name}.pem`);
    fs.writeFileSync(file, kp.publicKey.export({ type: 'spki', format: 'pem' }));
    kith(['client', 'add', name, '--scopes', 'system/Patient.rs system/Observation.rs', '--public-key', file, '--db', server.dbPath]);
  }
  kith(['client', 'add', 'bs-nokey', '--scopes', 'system/*.rs', '--db', server.dbPath]);
  const r = await fetch(`${server.base}/fhir/Patient/bs-p1`, {
    method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', id: 'bs-p1' }),
  });
  assert.ok(r.status === 201 || r.status === 200);
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

describe('SMART Backend Services', () => {
  it('publishes its token endpoint without a token', async () => {
    const r = await fetch(`${server.base}/fhir/.well-known/smart-configuration`, { headers: { Authorization: '' } });
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.equal(j.token_endpoint, `${server.base}/auth/token`);
    assert.deepEqual(j.token_endpoint_auth_signing_alg_values_supported, ['RS384', 'ES384']);
  });
  for (const [label, opts] of [['RS384', {}], ['ES384', { client: 'bs-ec', alg: 'ES384', key: () => keys.ec.privateKey }]]) {
    it(`issues a 5-minute token for a good ${label} assertion, which reads what its scopes allow`, async () => {
      const o = { ...opts, key: typeof opts.key === 'function' ? opts.key() : opts.key };
      const t = await tokenRequest(assertion(o));
      assert.equal(t.status, 200, JSON.stringify(t.json));
      assert.equal(t.json.token_type, 'bearer');
      assert.equal(t.json.expires_in, 300);
      assert.equal(t.json.scope, 'system/Patient.rs');
      const read = await fetch(`${server.base}/fhir/Patient/bs-p1`, { headers: { Authorization: `Bearer ${t.json.access_token}` } });
      assert.equal(read.status, 200);
      const write = await fetch(`${server.base}/fhir/Patient`, {
        method: 'POST', headers: { Authorization: `Bearer ${t.json.access_token}`, 'Content-Type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient' }),
      });
      assert.equal(write.status, 403, 'the token carries only the scopes asked for');
    });
  }
  const refusals = [
    ['alg none', () => assertion({ alg: 'none' }), 401],
    ['alg HS256 (a shared secret)', () => assertion({ alg: 'HS256' }), 401],
    ['a signature by another key', () => assertion({ key: keys.other.privateKey }), 401],
    ['a tampered payload', () => { const [h, , s] = assertion().split('.'); return `${h}.${b64u(JSON.stringify({ iss: 'bs-rsa', sub: 'bs-rsa', aud: `${server.base}/auth/token`, exp: Math.floor(Date.now() / 1000) + 60, jti: 'x' }))}.${s}`; }, 401],
    ['the wrong audience', () => assertion({ aud: 'https://elsewhere.example/token' }), 401],
    ['an expired assertion', () => assertion({ exp: Math.floor(Date.now() / 1000) - 10 }), 401],
    ['an assertion valid for an hour', () => assertion({ exp: Math.floor(Date.now() / 1000) + 3600 }), 401],
    ['sub not the client', () => assertion({ sub: 'someone-else' }), 401],
    ['an unknown client', () => assertion({ client: 'nobody' }), 401],
    ['a client with no registered key', () => assertion({ client: 'bs-nokey' }), 401],
    ['not a JWT', () => 'not-a-jwt', 401],
  ];
  for (const [label, make, status] of refusals) {
    it(`refuses ${label}`, async () => {
      const t = await tokenRequest(make());
      assert.equal(t.status, status, JSON.stringify(t.json));
      assert.ok(t.json.error, 'an OAuth error code');
      assert.ok(!('access_token' in t.json));
    });
  }
  it('refuses a reused jti', async () => {
    const jwt = assertion({ jti: 'once-only' });
    assert.equal((await tokenRequest(jwt)).status, 200);
    const again = await tokenRequest(jwt);
    assert.equal(again.status, 401);
    assert.match(again.json.error_description, /jti/);
  });
  it('refuses scopes beyond the registration, bad scopes and other grant types', async () => {
    const wide = await tokenRequest(assertion(), { scope: 'system/Patient.cruds' });
    assert.equal(wide.status, 400);
    assert.equal(wide.json.error, 'invalid_scope');
    assert.equal((await tokenRequest(assertion(), { scope: 'system/Patient.xyz' })).json.error, 'invalid_scope');
    const grant = await tokenRequest(assertion(), { grant: 'password' });
    assert.equal(grant.status, 400);
    assert.equal(grant.json.error, 'unsupported_grant_type');
  });
});
