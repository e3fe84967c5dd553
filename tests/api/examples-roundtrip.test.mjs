// examples-roundtrip.test.mjs — the official FHIR R4 examples through Kith.
//
// Round trip: PUT each example at its own id, read it back, and compare it
// value for value with the file (numbers by their exact text, so 1.50 must
// come back as 1.50), ignoring only the server-managed meta.versionId,
// meta.lastUpdated and Kith's changed-by stamp on care resources. At least 99% must survive; every failure is printed with
// its file, status and first differing path.
//
// Mutations: for a sample of ~50 examples, an invalid copy (unknown element,
// impossible date, boolean sent as a string, repeating element sent as a
// single object) must be refused with 422 and an OperationOutcome issue whose
// expression names the mutated location, leaving the stored version as it was.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { exampleFiles } from '../../tools/example-files.mjs';
import { assertIssue, assertOutcome } from './lib/cases.mjs';
import { Num, firstDifference, parseJsonText, withoutServerMeta } from './lib/json-text.mjs';
import { EXAMPLES_DIR, client, startServer } from './lib/server.mjs';

const PASS_RATE = 0.99;
const EXPECTED_FILES = 708; // hl7.fhir.r4.examples@4.0.1 as filtered by tools/example-files.mjs
const SAMPLE = 50;

let server;
let api;
const files = exampleFiles(EXAMPLES_DIR);
const passed = []; // { file, type, id, text, version }

before(async () => {
  server = await startServer();
  api = client(server.base);
});
after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

describe('the JSON comparer (sanity: it can fail)', () => {
  it('keeps number texts and reports the first difference', () => {
    const a = parseJsonText('{"a":[1.50,{"b":"x"}],"c":true}');
    assert.ok(a.a[0] instanceof Num);
    assert.equal(a.a[0].text, '1.50');
    assert.equal(firstDifference(a, parseJsonText('{"c":true,"a":[1.50,{"b":"x"}]}')), null, 'member order does not matter');
    assert.deepEqual(firstDifference(a, parseJsonText('{"a":[1.5,{"b":"x"}],"c":true}')), { path: '$.a[0]', reason: 'number 1.50 came back as 1.5' });
    assert.equal(firstDifference(a, parseJsonText('{"a":[1.50,{"b":"y"}],"c":true}')).path, '$.a[1].b');
    assert.equal(firstDifference(a, parseJsonText('{"a":[1.50,{"b":"x"}]}')).path, '$.c');
    assert.equal(firstDifference(a, parseJsonText('{"a":[1.50,{"b":"x"}],"c":true,"d":null}')).path, '$.d');
    assert.equal(firstDifference(parseJsonText('"\\u00e9"'), parseJsonText('"é"')), null, 'escapes are decoded');
    assert.throws(() => parseJsonText('{"a":1,"a":2}'), /duplicate/);
    assert.throws(() => parseJsonText('{"a":1,}'));
  });
  it('ignores only versionId, lastUpdated and Kith\'s changed-by stamp in meta', () => {
    const res = parseJsonText('{"resourceType":"X","meta":{"versionId":"1","lastUpdated":"2020-01-01T00:00:00Z"}}');
    assert.deepEqual(Object.keys(withoutServerMeta(res)), ['resourceType']);
    const tagged = parseJsonText('{"meta":{"versionId":"1","tag":[{"code":"a"}]}}');
    assert.deepEqual(Object.keys(withoutServerMeta(tagged).meta), ['tag']);
    const stamped = parseJsonText('{"meta":{"extension":[{"url":"https://kith.example.org/fhir/StructureDefinition/changed-by",' +
      '"valueReference":{"display":"user/x"}},{"url":"urn:other","valueString":"kept"}]}}');
    assert.deepEqual(withoutServerMeta(stamped).meta.extension.map((e) => e.url), ['urn:other']);
  });
});

describe('official R4 examples', () => {
  it(`lists the ${EXPECTED_FILES} examples`, () => {
    assert.equal(files.length, EXPECTED_FILES);
  });

  it(`round trip: PUT at its own id, GET, same values (at least ${PASS_RATE * 100}%)`, async (t) => {
    const failures = [];
    let auditRefused = 0;
    let policyRefused = 0; // refused by a documented Kith policy (see docs/subscriptions.md)
    for (const file of files) {
      const name = path.basename(file);
      const text = fs.readFileSync(file, 'utf8');
      const orig = parseJsonText(text);
      const type = orig.resourceType;
      const id = orig.id;
      if (typeof id !== 'string') {
        failures.push({ file: name, status: '-', reason: 'the example has no id' });
        continue;
      }
      const url = `/fhir/${type}/${encodeURIComponent(id)}`;
      const put = await api.put(url, text);
      if (type === 'AuditEvent') { // the audit trail is written by Kith alone (append-only, hash-chained)
        assert.equal(put.status, 405, `${name}: an AuditEvent cannot be written through the API`);
        auditRefused++;
        continue;
      }
      if (type === 'Subscription' && orig.channel?.payload) { // Kith sends no resource in a notification
        assert.equal(put.status, 422, `${name}: a Subscription asking for the resource in its notifications is refused`);
        assert.match(put.text, /no personal data leaves in a notification/);
        policyRefused++;
        continue;
      }
      if (put.status !== 201 && put.status !== 200) {
        const issues = (put.json?.issue ?? []).slice(0, 3).map((i) => `${i.expression?.[0] ?? ''}: ${i.diagnostics}`);
        failures.push({ file: name, status: put.status, reason: `PUT refused: ${issues.join('; ') || put.text.slice(0, 200)}` });
        continue;
      }
      const want = withoutServerMeta(orig);
      let d = firstDifference(want, withoutServerMeta(parseJsonText(put.text)));
      if (d) {
        failures.push({ file: name, status: put.status, reason: `PUT response differs at ${d.path}: ${d.reason}` });
        continue;
      }
      const get = await api.get(url);
      if (get.status !== 200) {
        failures.push({ file: name, status: get.status, reason: 'GET after PUT failed' });
        continue;
      }
      const got = parseJsonText(get.text);
      d = firstDifference(want, withoutServerMeta(got));
      if (!d && (got.meta?.versionId !== put.json.meta.versionId || got.id !== id)) d = { path: '$.meta.versionId', reason: 'GET is not the version the PUT made' };
      if (d) {
        failures.push({ file: name, status: get.status, reason: `GET differs at ${d.path}: ${d.reason}` });
        continue;
      }
      passed.push({ file: name, type, id, text, version: Number(got.meta.versionId) });
    }
    assert.ok(auditRefused >= 9, 'the AuditEvent examples were refused');
    assert.ok(policyRefused >= 2, 'the Subscriptions asking for resources in notifications were refused');
    const rate = passed.length / (files.length - auditRefused - policyRefused);
    const summary = `round trip: ${passed.length}/${files.length - auditRefused - policyRefused} passed (${(rate * 100).toFixed(2)}%), ${auditRefused} AuditEvents and ${policyRefused} Subscriptions with a payload refused as they should be`;
    t.diagnostic(summary);
    for (const f of failures) {
      const line = `round-trip failure: ${f.file} status ${f.status}: ${f.reason}`;
      t.diagnostic(line);
    }
    assert.ok(rate >= PASS_RATE, `${summary}; failures:\n${failures.map((f) => `${f.file} ${f.status} ${f.reason}`).join('\n')}`);
  });
});

// ---- mutations ---------------------------------------------------------------

const DATE_KEYS = new Set(['date', 'birthDate', 'issued', 'authoredOn', 'effectiveDateTime', 'occurrenceDateTime',
  'onsetDateTime', 'recorded', 'recordedDate', 'created', 'start', 'end', 'valueDateTime', 'expirationDate']);

/** Depth-first search for a value; returns { parent, key, path } of the first hit. */
function findValue(node, pathText, test) {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const hit = test(node[i], i, node) ? { parent: node, key: i, path: `${pathText}[${i}]` } : findValue(node[i], `${pathText}[${i}]`, test);
      if (hit) return hit;
    }
  } else if (node && typeof node === 'object' && !(node instanceof Num)) {
    for (const k of Object.keys(node)) {
      if (k === 'resourceType' || k === 'meta') continue;
      const hit = test(node[k], k, node) ? { parent: node, key: k, path: `${pathText}.${k}` } : findValue(node[k], `${pathText}.${k}`, test);
      if (hit) return hit;
    }
  }
  return null;
}

const MUTATIONS = [
  {
    kind: 'unknown element at the root',
    apply(res, type) {
      res.kithBogus = new Num('1');
      return `${type}.kithBogus`;
    },
  },
  {
    kind: 'impossible date',
    apply(res, type) {
      const hit = findValue(res, type, (v, k) => DATE_KEYS.has(k) && typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v));
      if (!hit) return null;
      hit.parent[hit.key] = '2020-13-45';
      return hit.path;
    },
  },
  {
    kind: 'boolean sent as a string',
    apply(res, type) {
      const hit = findValue(res, type, (v) => typeof v === 'boolean');
      if (!hit) return null;
      hit.parent[hit.key] = 'yes';
      return hit.path;
    },
  },
  {
    kind: 'repeating element sent as a single object',
    apply(res, type) {
      const key = Object.keys(res).find((k) => k !== 'contained' && Array.isArray(res[k]) && res[k][0] && typeof res[k][0] === 'object' && !(res[k][0] instanceof Num));
      if (!key) return null;
      res[key] = res[key][0];
      return `${type}.${key}`;
    },
  },
  {
    kind: 'unknown element nested in an array item',
    apply(res, type) {
      const hit = findValue(res, type, (v, k, parent) => Array.isArray(parent) && v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Num) && !('resourceType' in v));
      if (!hit) return null;
      hit.parent[hit.key].kithBogus = true;
      return `${hit.path}.kithBogus`;
    },
  },
];

/** Write a tree from parseJsonText back as JSON text, numbers as they were. */
function toText(v) {
  if (v instanceof Num) return v.text;
  if (Array.isArray(v)) return `[${v.map(toText).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${toText(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

describe('mutated invalid copies of the examples', () => {
  it(`${SAMPLE} invalid copies: 422 at the mutated location, stored version unchanged`, async (t) => {
    assert.ok(passed.length >= SAMPLE, 'the round trip must have stored enough examples first');
    const step = passed.length / SAMPLE;
    const failures = [];
    const kinds = new Map();
    for (let s = 0; s < SAMPLE; s++) {
      const ex = passed[Math.floor(s * step)];
      // Rotate through the mutations; fall back to the next one that applies.
      let expr = null;
      let kind = null;
      let body = null;
      for (let k = 0; k < MUTATIONS.length && !expr; k++) {
        const m = MUTATIONS[(s + k) % MUTATIONS.length];
        const tree = parseJsonText(ex.text);
        expr = m.apply(tree, ex.type);
        kind = m.kind;
        body = toText(tree);
      }
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      const where = `${ex.file} (${kind} at ${expr})`;
      const url = `/fhir/${ex.type}/${encodeURIComponent(ex.id)}`;
      try {
        const r = await api.put(url, body);
        assert.equal(r.status, 422, `${where}: status (${r.text.slice(0, 300)})`);
        assertOutcome(r, where);
        assertIssue(r, { severity: 'error', expression: (v) => assert.ok(Array.isArray(v) && v.includes(expr)) }, where);
        const g = await api.get(url);
        assert.equal(g.status, 200, `${where}: read after the refused write`);
        assert.equal(g.headers.get('etag'), `W/"${ex.version}"`, `${where}: the stored version changed`);
      } catch (e) {
        failures.push(e.message.split('\n')[0]);
      }
    }
    t.diagnostic(`mutations by kind: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const f of failures) t.diagnostic(`mutation failure: ${f}`);
    assert.ok(kinds.size >= 4, `at least 4 kinds of mutation were exercised: ${[...kinds.keys()]}`);
    assert.deepEqual(failures, []);
  });
});
