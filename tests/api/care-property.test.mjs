// care-property.test.mjs — a property test of the referral Task rules (src/care/task.c)
// through the real API.
//
// A seeded PRNG makes 30 referrals ($refer) and a few draft Tasks, then runs a
// few hundred random operations against them: status moves (legal and
// illegal, by PUT and JSON Patch, with and without If-Match, with and without
// a reason), reassignments, removing the owner, writes based on a stale
// version, two writes racing on the same version, and staff leaving (`kith
// user disable`, which moves their open Tasks to their team). A model kept
// here — the state machine as the brief states it, not read from the C code —
// predicts each answer (200, 409, 422 or 412) and each Task's status, owner
// and version. At the end every Task must agree with the model, an open Task
// must have an owner, and its _history must be a path of legal moves from
// draft or requested.
//
// CARE_PROPERTY_SEED=n replays a run; CARE_PROPERTY_OPS=n changes its length.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { client, kith, startServer, tempDir } from './lib/server.mjs';

const CS = 'https://kith.example.org/fhir/CodeSystem/';
const SD = 'https://kith.example.org/fhir/StructureDefinition/';
const LA = 'la-E06000999';
const NOW = '2026-05-13T10:00:00Z'; // a Wednesday
const SEED = Number(process.env.CARE_PROPERTY_SEED ?? 20260513);
const OPS = Number(process.env.CARE_PROPERTY_OPS ?? 400);
const REFERRALS = 30;
const DRAFTS = 5;

const MOVES = {
  draft: ['requested', 'cancelled'],
  requested: ['received', 'accepted', 'rejected', 'cancelled'],
  received: ['accepted', 'rejected', 'cancelled'],
  accepted: ['in-progress', 'on-hold', 'completed', 'cancelled'],
  'in-progress': ['on-hold', 'completed', 'failed', 'cancelled'],
  'on-hold': ['in-progress', 'completed', 'failed', 'cancelled'],
  rejected: [], completed: [], cancelled: [], failed: [], 'entered-in-error': [],
};
const STATUSES = [...Object.keys(MOVES), 'ready']; // 'ready': a FHIR status Kith's referrals do not use
const OPEN = new Set(['draft', 'requested', 'received', 'accepted', 'in-progress', 'on-hold']);
const legalMove = (from, to) => from === to || to === 'entered-in-error' || (MOVES[from] ?? []).includes(to);

/** mulberry32: a small seeded PRNG. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)], chance: (p) => next() < p };
}

const hasReason = (t) => Boolean(t.statusReason?.text) || (t.statusReason?.coding ?? []).length > 0;
const ownerOf = (t) => t.owner?.reference ?? null;

/**
 * What the rules answer when body (its status, owner, reason) is written over a Task whose current status is
 * `from`: 200, or 409 (a move the state machine does not allow) or 422 (no reason to reject or hold; an open
 * Task without an owner).
 */
function predict(from, body) {
  const to = body.status;
  if (from !== to && to !== 'entered-in-error' && !(MOVES[from] ?? []).includes(to)) return 409;
  if (!(to in MOVES)) return 409;
  if (from !== to && (to === 'rejected' || to === 'on-hold') && !hasReason(body)) return 422;
  if (OPEN.has(to) && !ownerOf(body)) return 422;
  return 200;
}

let dir;
let server;
let api;
const log = []; // the operations, for failure messages

function fail(msg) {
  return `${msg}\n(seed ${SEED}; last operations:\n  ${log.slice(-12).join('\n  ')})`;
}

before(async () => {
  dir = tempDir('kith-care-prop-');
  const db = path.join(dir, 'place.db');
  kith(['synth', '--people', '100', '--seed', '21', '--db', db, '--quiet']);
  const saved = process.env.KITH_NOW;
  process.env.KITH_NOW = NOW;
  try {
    server = await startServer({ dbPath: db });
  } finally {
    if (saved === undefined) delete process.env.KITH_NOW;
    else process.env.KITH_NOW = saved;
  }
  api = client(server.base);
});

after(async () => {
  if (server) await server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('referral Tasks under random operations', () => {
  it('every answer and every Task agrees with the model of the state machine', async (t) => {
    const rng = prng(SEED);
    const db = server.dbPath;
    const get = async (p) => {
      const r = await api.get(p);
      assert.equal(r.status, 200, fail(`GET ${p}: ${r.text.slice(0, 300)}`));
      return r.json;
    };
    const all = async (q) => (await get(`/fhir/${q}&_count=1000`)).entry?.map((e) => e.resource) ?? [];

    // the place: people, services that say who provides them, council social workers
    const people = (await all('Patient?_sort=_id')).filter((p) => p.id.startsWith('pat-')).map((p) => p.id);
    const services = (await all('HealthcareService?active=true')).filter((s) => s.providedBy?.reference).map((s) => s.id);
    const roles = await all(`PractitionerRole?organization=Organization/${LA}`);
    const workers = roles.filter((r) => (r.code ?? []).some((c) => (c.coding ?? []).some((k) => k.code === 'social-worker')))
      .map((r) => r.practitioner.reference.replace('Practitioner/', '')).sort();
    assert.ok(people.length >= 50 && services.length >= 5 && workers.length >= 7, 'the synthetic place is big enough');
    const staff = workers.slice(0, 6).map((prac, i) => ({ name: `prop-sw${i}`, prac, disabled: false }));
    for (const s of staff)
      kith(['user', 'add', '--username', s.name, '--role', 'social-worker', '--org', LA, '--practitioner', s.prac,
        '--password-stdin', '--db', db], 'property-test-password\n');
    const owners = [...staff.map((s) => `Practitioner/${s.prac}`), `Practitioner/${workers[6]}`, `Organization/${LA}`,
      'Organization/org-community'];

    // the model: id → { body (the last version the server gave), versions: versionId → body }
    const model = new Map();
    const remember = (body) => {
      let m = model.get(body.id);
      if (!m) model.set(body.id, (m = { versions: new Map() }));
      m.body = body;
      m.versions.set(Number(body.meta.versionId), body);
    };
    const version = (id) => Number(model.get(id).body.meta.versionId);

    for (let i = 0; i < REFERRALS; i++) {
      const r = await api.post('/fhir/ServiceRequest/$refer', { resourceType: 'Parameters', parameter: [
        { name: 'patient', valueReference: { reference: `Patient/${rng.pick(people)}` } },
        { name: 'service', valueReference: { reference: `HealthcareService/${rng.pick(services)}` } },
        { name: 'priority', valueCode: rng.pick(['routine', 'urgent']) },
        { name: 'reason', valueString: `Property test referral ${i}` },
        { name: 'requester', valueReference: { reference: `Practitioner/${workers[6]}` } }] });
      assert.equal(r.status, 201, fail(`$refer ${i}: ${r.text.slice(0, 300)}`));
      const task = r.json.entry.find((e) => e.resource.resourceType === 'Task').resource;
      assert.equal(task.status, 'requested');
      assert.ok(ownerOf(task), 'a referral starts with an owner');
      remember(task);
    }
    for (let i = 0; i < DRAFTS; i++) {
      const r = await api.post('/fhir/Task', { resourceType: 'Task', status: 'draft', intent: 'order',
        description: `Property test draft ${i}`, for: { reference: `Patient/${rng.pick(people)}` }, owner: { reference: rng.pick(owners) } });
      assert.equal(r.status, 201, fail(`draft ${i}: ${r.text.slice(0, 300)}`));
      remember(r.json);
    }
    const taskIds = [...model.keys()];

    const tally = {}; // op → code → count
    const count = (op, code) => {
      tally[op] ??= {};
      tally[op][code] = (tally[op][code] ?? 0) + 1;
    };

    /** A body for moving task m to status `to`, with or without a reason. */
    function moveBody(m, to) {
      const b = structuredClone(m.body);
      b.status = to;
      if (to === 'rejected' || to === 'on-hold') {
        if (rng.chance(0.7)) b.statusReason = { text: `Reason ${rng.int(1000)}` };
        else delete b.statusReason;
      } else if (rng.chance(0.3)) {
        delete b.statusReason;
      }
      return b;
    }
    // mostly moves the state machine allows (so Tasks travel far), sometimes anything; entered-in-error is rare
    const pickTarget = (from) => {
      if (rng.chance(0.03)) return 'entered-in-error';
      if (rng.chance(0.65) && MOVES[from]?.length) return rng.pick(MOVES[from]);
      return rng.pick(STATUSES.filter((s) => s !== 'entered-in-error'));
    };
    const ifMatch = (v) => ({ headers: { 'If-Match': `W/"${v}"` } });

    /** Check a write's answer against the expected codes; on 200, check the body and remember it. */
    function settle(op, m, body, r, expected) {
      count(op, r.status);
      assert.ok(expected.includes(r.status),
        fail(`${op} ${m.body.status} → ${body.status} (owner ${ownerOf(body)}, reason ${hasReason(body)}): expected ${expected.join('/')}, got ${r.status}: ${r.text.slice(0, 300)}`));
      if (r.status === 200) {
        assert.equal(r.json.status, body.status, fail(`${op}: the stored status`));
        assert.equal(ownerOf(r.json), ownerOf(body), fail(`${op}: the stored owner`));
        assert.equal(Number(r.json.meta.versionId), version(m.body.id) + 1, fail(`${op}: one new version`));
        const from = ownerOf(m.body), to = ownerOf(body);
        if (from !== to) assert.equal(r.json.note?.at(-1)?.text, `Reassigned from ${from ?? ''} to ${to ?? ''}`, fail(`${op}: the reassignment note`));
        remember(r.json);
      } else {
        assert.equal(r.json?.resourceType, 'OperationOutcome', fail(`${op}: an error is an OperationOutcome`));
      }
    }

    for (let i = 0; i < OPS; i++) {
      // a member of staff leaves every hundred operations
      if (i % 100 === 99) {
        const s = staff.find((x) => !x.disabled);
        if (s) {
          s.disabled = true;
          const mine = taskIds.filter((id) => OPEN.has(model.get(id).body.status) && ownerOf(model.get(id).body) === `Practitioner/${s.prac}`);
          log.push(`#${i} disable ${s.name} (owns ${mine.length} open)`);
          const out = kith(['user', 'disable', s.name, '--db', db]);
          if (mine.length) assert.match(out, new RegExp(`Moved ${mine.length} open tasks? of Practitioner/${s.prac} to the team duty owner, Organization/${LA}`), fail(out));
          else assert.doesNotMatch(out, /Moved/, fail(out));
          count('disable', mine.length);
          for (const id of mine) {
            const before_ = model.get(id).body;
            const now = await get(`/fhir/Task/${id}`);
            assert.equal(now.status, before_.status, fail(`leaver: Task/${id} keeps its status`));
            assert.equal(ownerOf(now), `Organization/${LA}`, fail(`leaver: Task/${id} goes to the team`));
            assert.equal(Number(now.meta.versionId), Number(before_.meta.versionId) + 1, fail(`leaver: Task/${id} one new version`));
            remember(now);
          }
          continue;
        }
      }
      // mostly open Tasks (closed ones only refuse), sometimes any
      const openIds = taskIds.filter((x) => OPEN.has(model.get(x).body.status));
      const id = openIds.length && rng.chance(0.75) ? rng.pick(openIds) : rng.pick(taskIds);
      const m = model.get(id);
      const cur = m.body;
      const v = version(id);
      const roll = rng.next();
      if (roll < 0.42) { // a status move
        const body = moveBody(m, pickTarget(cur.status));
        const expected = predict(cur.status, body);
        const how = rng.chance(0.2) ? 'patch' : rng.chance(0.5) ? 'put-if-match' : 'put';
        log.push(`#${i} ${how} Task/${id} v${v} ${cur.status} → ${body.status} reason=${hasReason(body)} expect ${expected}`);
        let r;
        if (how === 'patch') {
          const ops = [{ op: 'replace', path: '/status', value: body.status }];
          if (body.statusReason) ops.push({ op: 'add', path: '/statusReason', value: body.statusReason });
          else if (cur.statusReason) ops.push({ op: 'remove', path: '/statusReason' });
          r = await api.req('PATCH', `/fhir/Task/${id}`, { body: ops, headers: { 'Content-Type': 'application/json-patch+json' } });
        } else {
          r = await api.put(`/fhir/Task/${id}`, body, how === 'put-if-match' ? ifMatch(v) : undefined);
        }
        settle(how === 'patch' ? 'move (PATCH)' : 'move (PUT)', m, body, r, [expected]);
      } else if (roll < 0.62) { // reassign
        const body = structuredClone(cur);
        body.owner = { reference: rng.pick(owners.filter((o) => o !== ownerOf(cur))) };
        const expected = predict(cur.status, body);
        log.push(`#${i} reassign Task/${id} v${v} (${cur.status}) ${ownerOf(cur)} → ${body.owner.reference} expect ${expected}`);
        settle('reassign', m, body, await api.put(`/fhir/Task/${id}`, body, rng.chance(0.5) ? ifMatch(v) : undefined), [expected]);
      } else if (roll < 0.70) { // remove the owner
        const body = structuredClone(cur);
        delete body.owner;
        const expected = predict(cur.status, body);
        log.push(`#${i} unown Task/${id} v${v} (${cur.status}) expect ${expected}`);
        settle('remove owner', m, body, await api.put(`/fhir/Task/${id}`, body), [expected]);
      } else if (roll < 0.82) { // a write based on a version that is no longer current
        if (v < 2) { count('stale (skipped: one version)', 0); continue; }
        const old = rng.int(v - 1) + 1;
        const base = m.versions.get(old);
        if (!base) { count('stale (skipped: version unseen)', 0); continue; }
        const body = structuredClone(base);
        body.status = rng.chance(0.5) ? pickTarget(base.status) : pickTarget(cur.status);
        if (rng.chance(0.3)) body.owner = { reference: rng.pick(owners) };
        // the rules see the current version: a write they refuse may say so (409/422) or say it is stale (412)
        const rules = predict(cur.status, body);
        const expected = rules === 200 ? [412] : [rules, 412];
        log.push(`#${i} stale Task/${id} v${old} of ${v} ${cur.status} → ${body.status} expect ${expected.join('/')}`);
        settle('stale If-Match', m, body, await api.put(`/fhir/Task/${id}`, body, ifMatch(old)), expected);
      } else if (roll < 0.92) { // two writes race on the current version
        const a = moveBody(m, pickTarget(cur.status));
        const b = rng.chance(0.5) ? moveBody(m, pickTarget(cur.status)) : { ...structuredClone(cur), owner: { reference: rng.pick(owners) } };
        const pa = predict(cur.status, a), pb = predict(cur.status, b);
        log.push(`#${i} race Task/${id} v${v} ${cur.status} → ${a.status} (${pa}) | ${b.status}/${ownerOf(b)} (${pb})`);
        const [ra, rb] = await Promise.all([api.put(`/fhir/Task/${id}`, a, ifMatch(v)), api.put(`/fhir/Task/${id}`, b, ifMatch(v))]);
        count('race', `${ra.status}+${rb.status}`);
        const wins = [ra, rb].filter((x) => x.status === 200).length;
        assert.ok(wins <= 1, fail(`race: two writes over version ${v} both stored`));
        if (pa !== 200 || pb !== 200) {
          // a write the rules refuse never lands, so one the rules allow is stored; a refused one is
          // refused against version v, or, if the other landed first, against the other's status
          // (409/422) or as stale (412)
          const may = (p, self, other, pOther) =>
            p === 200 ? [200] : pOther === 200 ? [p, predict(other.status, self), 412] : [p];
          assert.ok(may(pa, a, b, pb).includes(ra.status), fail(`race a: ${ra.status} not ${may(pa, a, b, pb)}: ${ra.text.slice(0, 200)}`));
          assert.ok(may(pb, b, a, pa).includes(rb.status), fail(`race b: ${rb.status} not ${may(pb, b, a, pa)}: ${rb.text.slice(0, 200)}`));
        } else {
          assert.equal(wins, 1, fail(`race: one of two allowed writes must be stored (${ra.status}, ${rb.status})`));
        }
        if (wins) {
          const [wr, wbody, lr, lbody] = ra.status === 200 ? [ra, a, rb, b] : [rb, b, ra, a];
          const vsWinner = predict(wbody.status, lbody);
          const loser = vsWinner === 200 ? [412] : [vsWinner, 412];
          assert.ok(pa !== 200 || pb !== 200 || loser.includes(lr.status), fail(`race loser: expected ${loser.join('/')}, got ${lr.status}: ${lr.text.slice(0, 200)}`));
          settle('race (winner)', m, wbody, wr, [200]);
        }
      } else { // read back
        log.push(`#${i} read Task/${id}`);
        const now = await get(`/fhir/Task/${id}`);
        count('read', 200);
        assert.equal(now.status, cur.status, fail(`Task/${id} status`));
        assert.equal(ownerOf(now), ownerOf(cur), fail(`Task/${id} owner`));
        assert.equal(now.meta.versionId, cur.meta.versionId, fail(`Task/${id} version`));
      }
    }

    // every Task: as the model says, owned while open, its history a path of legal moves
    let versions = 0;
    const finals = {};
    for (const id of taskIds) {
      const m = model.get(id);
      const now = await get(`/fhir/Task/${id}`);
      finals[now.status] = (finals[now.status] ?? 0) + 1;
      assert.equal(now.status, m.body.status, fail(`end: Task/${id} status`));
      assert.equal(ownerOf(now), ownerOf(m.body), fail(`end: Task/${id} owner`));
      assert.equal(now.meta.versionId, m.body.meta.versionId, fail(`end: Task/${id} version`));
      if (OPEN.has(now.status)) assert.ok(ownerOf(now), fail(`end: open Task/${id} (${now.status}) has no owner`));
      const hist = (await get(`/fhir/Task/${id}/_history?_count=1000`)).entry.map((e) => e.resource)
        .sort((x, y) => Number(x.meta.versionId) - Number(y.meta.versionId));
      versions += hist.length;
      assert.deepEqual(hist.map((h) => Number(h.meta.versionId)), Array.from({ length: version(id) }, (_, k) => k + 1),
        fail(`end: Task/${id} has versions 1..${version(id)}`));
      assert.ok(['draft', 'requested'].includes(hist[0].status), fail(`end: Task/${id} starts ${hist[0].status}`));
      const clock = Boolean(hist[0].restriction?.period?.end);
      for (let k = 0; k < hist.length; k++) {
        const h = hist[k];
        if (OPEN.has(h.status)) assert.ok(ownerOf(h), fail(`end: Task/${id} v${k + 1} is ${h.status} without an owner`));
        if (!k) continue;
        const from = hist[k - 1].status, to = h.status;
        assert.ok(legalMove(from, to), fail(`end: Task/${id} moved ${from} → ${to} (v${k} → v${k + 1})`));
        if (from !== to && (to === 'rejected' || to === 'on-hold')) assert.ok(hasReason(h), fail(`end: Task/${id} v${k + 1} ${to} without a reason`));
        if (clock && ['requested', 'received'].includes(from) && ['accepted', 'rejected', 'cancelled'].includes(to)) {
          assert.equal(h.extension?.find((e) => e.url === `${SD}response-due`)?.valueDateTime, hist[0].restriction.period.end,
            fail(`end: Task/${id} v${k + 1} answered: response-due`));
          assert.equal(h.extension?.find((e) => e.url === `${SD}responded`)?.valueDateTime, NOW, fail(`end: Task/${id} v${k + 1} responded`));
          assert.ok((h.businessStatus?.coding ?? []).some((c) => c.system === `${CS}referral-status` && c.code === 'responded-in-time'),
            fail(`end: Task/${id} v${k + 1} answered in time`));
        }
      }
    }
    t.diagnostic(`seed ${SEED}: ${OPS} operations on ${taskIds.length} Tasks, ${versions} versions; final statuses ${JSON.stringify(finals)}`);
    for (const [op, codes] of Object.entries(tally)) t.diagnostic(`${op}: ${JSON.stringify(codes)}`);
  });
});
