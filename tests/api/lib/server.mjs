// server.mjs — start a real `bin/kith serve` for the API tests.
//
// startServer() spawns the binary on a free loopback port (--port 0; the port
// is read from the "serving" JSON log line on stderr) with a fresh SQLite
// database in a temp directory (or the dbPath you pass, for restart tests),
// waits until /healthz answers 200, and resolves to
//   { base, port, dbPath, dir, proc, log(), stop(), kill(), cleanup() }
// stop() sends SIGTERM and waits for the exit; kill() sends SIGKILL.
//
// client(base) is a small fetch wrapper: it sends objects as
// application/fhir+json and gives { status, headers, text, json } back.
//
// Every /fhir request needs a bearer token. startServer registers a system
// client with every scope that manages the records (`kith client add kith-tests
// --scopes 'system/*.cruds' --purpose records-management`: no consent or opt-out
// filtering, so tests see what they stored), issues it a token (`kith client token`), returns it as
// `token`, and makes fetch send it to that server's /fhir unless the request
// sets its own Authorization header (an empty one sends none).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// KITH_BIN runs the tests against another build (e.g. one with sanitizers).
export const BIN = process.env.KITH_BIN ? path.resolve(process.env.KITH_BIN) : path.join(ROOT, 'bin/kith');
export const EXAMPLES_DIR = path.join(ROOT, 'node_modules/hl7.fhir.r4.examples');

const START_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 15000;
const LOG_KEEP = 256 * 1024; // bytes of stderr kept for failure messages

// base URL → bearer token, for the fetch below
const tokens = new Map();
const plainFetch = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  for (const [base, token] of tokens) {
    if (url === `${base}/fhir` || url.startsWith(`${base}/fhir/`) || url.startsWith(`${base}/fhir?`)) {
      const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
      else if (headers.get('authorization') === '') headers.delete('authorization');
      return plainFetch(input, { ...init, headers });
    }
  }
  return plainFetch(input, init);
};

/** Run `kith ARGS...`; throw with its output if it fails. Returns stdout. */
export function kith(args, input) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`kith ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A bearer token for a system client with `scopes` (and purpose) on database db. */
export function clientToken(db, name = 'kith-tests', scopes = 'system/*.cruds', purpose = 'records-management') {
  kith(['client', 'add', name, '--scopes', scopes, '--purpose', purpose, '--db', db]);
  return kith(['client', 'token', name, '--expires', '1d', '--db', db]).trim();
}

export function tempDir(prefix = 'kith-api-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A new empty store: a file in dir, or, when KITH_TEST_STORE_URL names a
 * PostgreSQL server (postgresql://...), a new schema on it (dropped by cleanup()).
 */
function freshStore(dir) {
  const server = process.env.KITH_TEST_STORE_URL;
  if (!server) return path.join(dir, 'kith.db');
  const schema = `kith_api_${process.pid}_${path.basename(dir).replace(/[^A-Za-z0-9]/g, '_')}`;
  return `${server}${server.includes('?') ? '&' : '?'}options=-csearch_path%3D${schema}`;
}

/** A new empty store for a test that runs `kith` itself: a file in dir, or a schema on the
 * PostgreSQL test server when KITH_TEST_STORE_URL is set. Remove it with removeStore(db). */
export function newStore(dir) {
  return freshStore(dir);
}

/** Remove what newStore made (a PostgreSQL schema; a file goes with its directory). */
export function removeStore(db) {
  dropStore(db);
}

/** Drop the schema freshStore made on the PostgreSQL test server. */
function dropStore(db) {
  if (!/^postgres(ql)?:\/\//.test(db)) return;
  const schema = /search_path%3D(kith_api_[A-Za-z0-9_]+)/.exec(db);
  if (schema) spawnSync('psql', ['-X', '-q', db, '-c', `DROP SCHEMA IF EXISTS ${schema[1]} CASCADE`], { stdio: 'ignore' });
}

/**
 * Start a server. Options: dbPath (default: fresh file in a new temp dir),
 * args (extra CLI arguments), quiet (default true: no per-request log lines).
 */
export async function startServer({ dbPath, args = [], quiet = true } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`make bin/kith\` first`);
  const dir = dbPath ? null : tempDir();
  const db = dbPath ?? freshStore(dir);
  const token = clientToken(db);
  const argv = ['serve', '--db', db, '--port', '0', ...(quiet ? ['--quiet'] : []), ...args];
  const env = { ...process.env };
  for (const k of ['KITH_DB', 'KITH_PORT', 'KITH_BIND', 'KITH_MAX_BODY', 'KITH_QUIET', 'KITH_SYNC', 'KITH_THREADS'])
    delete env[k];
  const proc = spawn(BIN, argv, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    proc.on('error', (err) => { // could not start (e.g. the binary is being rebuilt)
      stderr += `spawn failed: ${err.message}\n`;
      exited = { code: null, signal: null, error: err };
      resolve(exited);
    });
  });

  const port = await new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => {
      reject(new Error(`kith serve did not log "serving" within ${START_TIMEOUT_MS} ms:\n${stderr}`));
    }, START_TIMEOUT_MS);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.length > LOG_KEEP) stderr = stderr.slice(-LOG_KEEP);
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let j;
        try { j = JSON.parse(line); } catch { continue; }
        if (j.msg === 'serving' && typeof j.url === 'string') {
          const m = /^http:\/\/127\.0\.0\.1:(\d+)\/$/.exec(j.url);
          clearTimeout(timer);
          if (m) resolve(Number(m[1]));
          else reject(new Error(`unexpected serving url ${j.url}`));
        }
      }
    });
    exitPromise.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`kith serve exited (code ${code}, signal ${signal}) before serving:\n${stderr}`));
    });
  });

  const base = `http://127.0.0.1:${port}`;
  tokens.set(base, token);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const r = await fetch(`${base}/healthz`);
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (exited || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`kith serve never answered /healthz 200:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }

  async function waitExit(signal) {
    if (exited) return exited;
    proc.kill(signal);
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS); });
    const r = await Promise.race([exitPromise, timeout]);
    clearTimeout(timer);
    if (!r) {
      proc.kill('SIGKILL');
      await exitPromise;
      throw new Error(`kith serve did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}`);
    }
    return r;
  }

  return {
    base,
    port,
    token,
    dbPath: db,
    dir,
    proc,
    log: () => stderr,
    exited: () => exited,
    /** SIGTERM, then wait for the exit; resolves to { code, signal }. */
    stop: () => waitExit('SIGTERM'),
    /** SIGKILL, then wait for the exit. */
    kill: () => waitExit('SIGKILL'),
    /** Remove the temp directory made for the database (if this call made one). */
    cleanup: () => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      if (dir) dropStore(db);
    },
  };
}

/**
 * A tiny fetch wrapper around one server base URL.
 * req(method, path, { body, headers, raw }) → { status, headers, text, json }
 * body: a string is sent as is; anything else is JSON.stringify'd. Unless the
 * caller sets one, a body goes with Content-Type application/fhir+json.
 * json is the parsed body, or undefined when the body is empty or not JSON.
 */
export function client(base) {
  async function req(method, p, { body, headers = {} } = {}) {
    const h = { ...headers };
    let data;
    if (body !== undefined) {
      data = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/fhir+json';
    }
    const res = await fetch(p.startsWith('http') ? p : base + p, { method, headers: h, body: data });
    const text = await res.text();
    let json;
    if (text) { try { json = JSON.parse(text); } catch { json = undefined; } }
    return { status: res.status, headers: res.headers, text, json };
  }
  return {
    base,
    req,
    get: (p, o) => req('GET', p, o),
    post: (p, body, o = {}) => req('POST', p, { ...o, body }),
    put: (p, body, o = {}) => req('PUT', p, { ...o, body }),
    del: (p, o) => req('DELETE', p, o),
  };
}

/** The version number in a weak ETag (W/"3" → 3), or NaN. */
export function etagVersion(etag) {
  const m = /^W\/"(\d+)"$/.exec(etag ?? '');
  return m ? Number(m[1]) : NaN;
}
