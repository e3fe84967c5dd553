// json-text.mjs — a JSON parser that keeps every number as its source text,
// and a comparer that reports the first difference between two such trees.
//
// JSON.parse turns 1.50 into 1.5 and 12345678901234567890.123 into a
// rounded double, so it cannot tell whether a FHIR server kept a decimal's
// precision. parseJsonText gives numbers as Num objects holding the exact
// text ("1.50"), strings decoded, objects as null-prototype objects, and
// rejects duplicate keys.

export class Num {
  constructor(text) { this.text = text; }
  toString() { return this.text; }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS = /[ \t\n\r]*/y;

export function parseJsonText(src) {
  let i = 0;
  const fail = (what) => { throw new SyntaxError(`${what} at offset ${i}`); };
  const ws = () => { WS.lastIndex = i; WS.exec(src); i = WS.lastIndex; };
  function string() {
    const start = i++;
    for (;;) {
      const c = src.charCodeAt(i);
      if (Number.isNaN(c)) fail('unterminated string');
      if (c === 0x5c) i += 2;
      else if (c === 0x22) break;
      else i++;
    }
    i++;
    return JSON.parse(src.slice(start, i)); // decodes the escapes, checks them
  }
  function value() {
    ws();
    const c = src[i];
    if (c === '{') {
      i++;
      const o = Object.create(null);
      ws();
      if (src[i] === '}') { i++; return o; }
      for (;;) {
        ws();
        if (src[i] !== '"') fail('expected a key');
        const k = string();
        if (Object.prototype.hasOwnProperty.call(o, k)) fail(`duplicate key "${k}"`);
        ws();
        if (src[i++] !== ':') fail('expected ":"');
        o[k] = value();
        ws();
        if (src[i] === ',') { i++; continue; }
        if (src[i] === '}') { i++; return o; }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (src[i] === ']') { i++; return a; }
      for (;;) {
        a.push(value());
        ws();
        if (src[i] === ',') { i++; continue; }
        if (src[i] === ']') { i++; return a; }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]])
      if (src.startsWith(word, i)) { i += word.length; return v; }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(src);
    if (!m) fail('unexpected character');
    i = NUMBER.lastIndex;
    return new Num(m[0]);
  }
  const v = value();
  ws();
  if (i !== src.length) fail('trailing text');
  return v;
}

function kind(v) {
  if (v === null) return 'null';
  if (v instanceof Num) return 'number';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function show(v) {
  if (v instanceof Num) return v.text;
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * The first difference between trees want and got (from parseJsonText), as
 * { path, reason }, or null when they are equal. Object member order does not
 * matter; array order and number texts do.
 */
export function firstDifference(want, got, path = '$') {
  const kw = kind(want), kg = kind(got);
  if (kw !== kg) return { path, reason: `expected ${kw} ${show(want)}, got ${kg} ${show(got)}` };
  if (kw === 'number') return want.text === got.text ? null : { path, reason: `number ${want.text} came back as ${got.text}` };
  if (kw === 'array') {
    for (let k = 0; k < Math.min(want.length, got.length); k++) {
      const d = firstDifference(want[k], got[k], `${path}[${k}]`);
      if (d) return d;
    }
    return want.length === got.length ? null : { path, reason: `array of ${want.length} came back with ${got.length}` };
  }
  if (kw === 'object') {
    for (const k of Object.keys(want)) {
      if (!(k in got)) return { path: `${path}.${k}`, reason: `missing (was ${show(want[k])})` };
      const d = firstDifference(want[k], got[k], `${path}.${k}`);
      if (d) return d;
    }
    for (const k of Object.keys(got)) if (!(k in want)) return { path: `${path}.${k}`, reason: `added ${show(got[k])}` };
    return null;
  }
  return want === got ? null : { path, reason: `expected ${show(want)}, got ${show(got)}` };
}

const CHANGED_BY = 'https://kith.example.org/fhir/StructureDefinition/changed-by';

/**
 * A copy of a parsed resource without the server-managed meta.versionId,
 * meta.lastUpdated and Kith's changed-by meta extension (and without meta when
 * nothing else is left in it).
 */
export function withoutServerMeta(res) {
  if (kind(res) !== 'object' || kind(res.meta) !== 'object') return res;
  const out = Object.assign(Object.create(null), res);
  const meta = Object.assign(Object.create(null), res.meta);
  delete meta.versionId;
  delete meta.lastUpdated;
  // Kith stamps who changed a care resource (Task, CarePlan, ...) in meta.extension "changed-by"
  if (kind(meta.extension) === 'array') {
    const rest = meta.extension.filter((e) => !(kind(e) === 'object' && e.url === CHANGED_BY));
    if (rest.length) meta.extension = rest;
    else delete meta.extension;
  }
  if (Object.keys(meta).length) out.meta = meta;
  else delete out.meta;
  return out;
}
