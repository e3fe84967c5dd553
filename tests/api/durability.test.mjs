// durability.test.mjs — an acknowledged write survives SIGKILL.
//
// Each round starts `kith serve` on the same database file, runs 8
// concurrent clients that create Patients and update a few shared ones,
// records every write the server acknowledged (2xx with its id, ETag version
// and the exact body sent), and SIGKILLs the server 20–300 ms into the
// stream. The next round first restarts the server and checks that every
// write acknowledged before the kill can be read back by vread with the same
// content (numbers compared by their text), that each resource's current
// version is at least the highest acknowledged one, that no version number
// was acknowledged twice, and that `PRAGMA integrity_check` says "ok".
// KITH_DURABILITY_SEED=n replays a run (the seed is printed).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';

import { firstDifference, parseJsonText, withoutServerMeta } from './lib/json-text.mjs';
import { etagVersion, startServer, tempDir } from './lib/server.mjs';

const ROUNDS = 20;
const CLIENTS = 8;
const SHARED = ['dur-0', 'dur-1', 'dur-2', 'dur-3'];
const KILL_MIN_MS = 20;
const KILL_MAX_MS = 300;
const SYS = 'urn:kith:durability';

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Patient as JSON text, with a decimal whose trailing zero must survive. */
function patientText({ id, marker, round, client, n }) {
  return `{"resourceType":"Patient",${id ? `"id":"${id}",` : ''}` +
    `"identifier":[{"system":"${SYS}","value":"${marker}"}],` +
    `"name":[{"family":"Round ${round}","given":["client ${client}","write ${n}"]}],` +
    `"extension":[{"url":"urn:kith:durability:decimal","valueDecimal":${round}.${client}${n}0}],` +
    `"birthDate":"19${String(10 + (n % 90)).padStart(2, '0')}-0${1 + (n % 9)}-1${n % 10}"}`;
}

function integrityCheck(dbPath) {
  return execFileSync('sqlite3', [dbPath, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim();
}

let dir;
after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('durability under SIGKILL', () => {
  it(`${ROUNDS} rounds of concurrent writes killed mid-stream lose no acknowledged write`, { timeout: 180000 }, async (t) => {
    const seed = Number(process.env.KITH_DURABILITY_SEED ?? (Date.now() % 2147483647));
    const killRand = mulberry32(seed); // kill times only, so a seed replays them
    const rand = mulberry32(seed ^ 0x9e3779b9); // what the clients write
    t.diagnostic(`seed ${seed} (KITH_DURABILITY_SEED=${seed} replays the kill times)`);
    dir = tempDir('kith-durability-');
    const dbPath = `${dir}/kith.db`;

    const acks = []; // { round, type, id, version, text }
    const unexpected = []; // non-2xx answers while the server was up
    let pendingVerify = []; // acks made in the previous round
    let inFlightAtKill = 0;
    let written = 0;

    /** Check acks against a running server; returns the number checked. */
    async function verify(base, list, label) {
      const maxAcked = new Map();
      const seen = new Map();
      for (const a of acks) {
        const key = `${a.type}/${a.id}`;
        maxAcked.set(key, Math.max(maxAcked.get(key) ?? 0, a.version));
        const vkey = `${key}/_history/${a.version}`;
        assert.ok(!seen.has(vkey), `${vkey} was acknowledged twice (rounds ${seen.get(vkey)} and ${a.round})`);
        seen.set(vkey, a.round);
      }
      for (const a of list) {
        const url = `${base}/fhir/${a.type}/${a.id}/_history/${a.version}`;
        const r = await fetch(url);
        const text = await r.text();
        assert.equal(r.status, 200, `${label}: acknowledged ${a.type}/${a.id} version ${a.version} (round ${a.round}) is gone: ${r.status} ${text.slice(0, 200)}`);
        const got = withoutServerMeta(parseJsonText(text));
        const sent = withoutServerMeta(parseJsonText(a.text));
        assert.equal(got.id, a.id);
        delete got.id;
        delete sent.id;
        const d = firstDifference(sent, got);
        assert.equal(d, null, `${label}: ${a.type}/${a.id} version ${a.version} (round ${a.round}) differs from what was sent: ${JSON.stringify(d)}`);
      }
      for (const [key, v] of maxAcked) {
        const r = await fetch(`${base}/fhir/${key}`);
        await r.arrayBuffer();
        assert.equal(r.status, 200, `${label}: ${key} current read`);
        const cur = etagVersion(r.headers.get('etag'));
        assert.ok(cur >= v, `${label}: ${key} is at version ${cur}, below the acknowledged ${v}`);
      }
      return list.length;
    }

    for (let round = 0; round <= ROUNDS; round++) {
      const server = await startServer({ dbPath });
      try {
        await verify(server.base, pendingVerify, `after kill ${round}`);
        assert.equal(integrityCheck(dbPath), 'ok', `integrity_check after kill ${round}`);
        if (round === ROUNDS) {
          // Last start: check everything ever acknowledged, then stop cleanly.
          await verify(server.base, acks, 'final');
          const r = await server.stop();
          assert.equal(r.code, 0, `clean stop: ${JSON.stringify(r)}`);
          assert.equal(integrityCheck(dbPath), 'ok', 'integrity_check after clean stop');
          break;
        }
      } catch (e) {
        await server.kill();
        throw e;
      }

      const roundAcks = [];
      let stopped = false;
      let inFlight = 0;
      const killAfter = KILL_MIN_MS + Math.floor(killRand() * (KILL_MAX_MS - KILL_MIN_MS));
      const clientLoop = async (c) => {
        for (let n = 0; !stopped; n++) {
          const shared = rand() < 0.6;
          const id = shared ? SHARED[Math.floor(rand() * SHARED.length)] : null;
          const marker = `r${round}-c${c}-n${n}`;
          const text = patientText({ id, marker, round, client: c, n });
          const url = `${server.base}/fhir/Patient${id ? `/${id}` : ''}`;
          let res;
          inFlight++;
          written++;
          try {
            res = await fetch(url, { method: id ? 'PUT' : 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body: text });
          } catch {
            return; // the server was killed under this request: not acknowledged
          } finally {
            inFlight--;
          }
          // Headers are enough: the server answers only after the commit.
          if (res.status === 200 || res.status === 201) {
            const version = etagVersion(res.headers.get('etag'));
            let ackId = id;
            if (!id) {
              const m = /\/fhir\/Patient\/([^/]+)\/_history\/(\d+)$/.exec(res.headers.get('location') ?? '');
              ackId = m?.[1];
            }
            roundAcks.push({ round, type: 'Patient', id: ackId, version, text, status: res.status, method: id ? 'PUT' : 'POST' });
          } else if (!stopped) {
            unexpected.push(`${id ? 'PUT' : 'POST'} ${url}: ${res.status}`);
          }
          res.body?.cancel().catch(() => {});
        }
      };
      const streams = Array.from({ length: CLIENTS }, (_, c) => clientLoop(c));
      await new Promise((r) => setTimeout(r, killAfter));
      stopped = true;
      inFlightAtKill += inFlight;
      const exit = await server.kill();
      assert.equal(exit.signal, 'SIGKILL', `round ${round}: the server exited before the kill: ${JSON.stringify(exit)}\n${server.log()}`);
      await Promise.all(streams);
      for (const a of roundAcks) {
        assert.ok(a.id && Number.isInteger(a.version) && a.version >= 1, `round ${round}: an acknowledgement without id/ETag: ${JSON.stringify(a)}`);
        if (a.method === 'POST') assert.equal(a.version, 1, 'a create is version 1');
      }
      acks.push(...roundAcks);
      pendingVerify = roundAcks;
    }

    t.diagnostic(`${written} writes sent, ${acks.length} acknowledged and verified, ${inFlightAtKill} in flight at the ${ROUNDS} kills`);
    assert.deepEqual(unexpected, [], 'writes refused while the server was up');
    assert.ok(inFlightAtKill > 0, 'the kills landed while writes were in flight');
    assert.ok(acks.length >= ROUNDS * 2, `too few acknowledged writes to mean anything: ${acks.length}`);
    assert.ok(acks.some((a) => a.method === 'PUT' && a.version > 1), 'some updates of shared resources were acknowledged');
  });
});
