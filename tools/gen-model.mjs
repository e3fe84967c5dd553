#!/usr/bin/env node
// gen-model.mjs — turn the official FHIR R4 StructureDefinitions into the C
// tables behind src/fhir/model.h.
//
//   node tools/gen-model.mjs node_modules/hl7.fhir.r4.examples > build/gen/fhir_model.c
//
// Reads every StructureDefinition-*.json in the package and keeps the base
// definitions (derivation "specialization", kinds resource / complex-type /
// primitive-type; profiles and logical models are skipped). From each
// snapshot it builds one C "type" per resource, datatype and primitive, plus
// one per nested element that has children of its own (BackboneElement and
// the datatypes' nested Elements, named by path: "Observation.referenceRange").
// Each type lists its JSON properties sorted by name (choice elements "[x]"
// expanded: valueString, valueQuantity, ...) for binary search, and its
// "slots" (element definitions in order, with min) for the required and
// one-choice-only checks. contentReference elements point at the type of
// the element they reference.
//
// Elements of type code with a required binding get the codes of their
// value set: each ValueSet-*.json is expanded from its compose (whole
// CodeSystems from CodeSystem-*.json with nested concepts, explicit concept
// lists, other value sets, excludes). Value sets that cannot be expanded
// completely from the package (filters, code systems that are not in it or
// not complete there, such as BCP-13 mime types and ISO 4217 currencies)
// are left unchecked and listed in a comment in the output. Each expanded
// set is a sorted list of code strings for binary search.
//
// All strings live in one pool. Output is deterministic; the script fails
// loudly on anything it does not understand.

import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node tools/gen-model.mjs <hl7.fhir.r4.examples dir>\n');
  process.exit(2);
}

function fail(msg) {
  process.stderr.write(`gen-model: ${msg}\n`);
  process.exit(1);
}

const SYSTEM = 'http://hl7.org/fhirpath/System.';
const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex';
const MAX_SLOTS = 255; /* fhir_type.n_slots is a uint8_t */
const SUMMARY_BUDGET = 40; /* bytes of codes quoted in a value set's summary before "..." */

// ---- load the base definitions ------------------------------------------

const sds = new Map(); // name -> StructureDefinition
for (const f of fs.readdirSync(dir).sort()) {
  if (!f.startsWith('StructureDefinition-') || !f.endsWith('.json')) continue;
  const sd = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  if (sd.resourceType !== 'StructureDefinition') continue;
  // specializations, plus the abstract roots (Resource, Element) that have no derivation
  if (sd.derivation !== 'specialization' && !(sd.abstract && !sd.derivation)) continue;
  if (!['resource', 'complex-type', 'primitive-type'].includes(sd.kind)) continue;
  sds.set(sd.type || sd.id, sd);
}
if (sds.size < 200) fail(`only ${sds.size} base StructureDefinitions found in ${dir}`);

// ---- types ----------------------------------------------------------------

// name -> { name, kind, prim, json, regex, slots: [{name,min,many,choice,keys:[{key,type}]}] }
const types = new Map();

function addType(name, kind) {
  if (types.has(name)) fail(`duplicate type ${name}`);
  const t = { name, kind, prim: 'NONE', json: 'OBJECT', regex: '', slots: [] };
  types.set(name, t);
  return t;
}

function valueElement(sd) {
  const v = sd.snapshot.element.find((e) => e.path === `${sd.type}.value`);
  if (!v || !v.type || v.type.length !== 1) fail(`primitive ${sd.type} has no value element`);
  return v;
}

function ext(obj, url) {
  const e = (obj.extension || []).find((x) => x.url === url);
  return e ? e.valueUrl ?? e.valueString ?? e.valueUri : undefined;
}

// JSON representation of a primitive: from its System type, or inherited
// from a primitive base (positiveInt's value is typed System.String, but it
// derives from integer and is a JSON number).
function primitiveJson(name) {
  const sd = sds.get(name);
  const base = sd.baseDefinition.replace('http://hl7.org/fhir/StructureDefinition/', '');
  if (sds.has(base) && sds.get(base).kind === 'primitive-type') return primitiveJson(base);
  const code = valueElement(sd).type[0].code;
  if (code === `${SYSTEM}Boolean`) return 'BOOLEAN';
  if (code === `${SYSTEM}Integer`) return 'INTEGER';
  if (code === `${SYSTEM}Decimal`) return 'NUMBER';
  return 'STRING';
}

for (const [name, sd] of sds) {
  if (sd.kind === 'primitive-type') {
    const t = addType(name, 'PRIMITIVE');
    t.prim = name.toUpperCase();
    t.json = primitiveJson(name);
    t.regex = ext(valueElement(sd).type[0], REGEX_EXT) || '';
  } else if (sd.kind === 'resource') {
    if (name === 'Resource') addType(name, 'ANY_RESOURCE');
    else if (!sd.abstract) addType(name, 'RESOURCE');
  } else if (sd.kind === 'complex-type') {
    // BackboneElement is only ever a base; nested elements get their own type.
    if (name !== 'BackboneElement') addType(name, 'COMPLEX');
  }
}

const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);

// Which FHIR type an element of an SD has (System.* codes carry the real one
// in an extension; Resource.id is an id even though R4 types it as string).
function typeCode(e, t) {
  if (t.code.startsWith(SYSTEM)) {
    if (e.base && e.base.path === 'Resource.id') return 'id';
    const real = ext(t, FHIR_TYPE_EXT);
    if (!real) fail(`${e.path}: ${t.code} without a FHIR type`);
    return real;
  }
  return t.code;
}

const pending = []; // [slotKey, typeName] resolved once all types exist

for (const [name, sd] of sds) {
  const owner = types.get(name);
  if (!owner || owner.kind === 'PRIMITIVE' || owner.kind === 'ANY_RESOURCE') continue;
  const elems = sd.snapshot.element.filter((e) => !e.id.includes(':'));
  const paths = new Set(elems.map((e) => e.path));
  const hasChildren = (p) => elems.some((e) => e.path.startsWith(`${p}.`));
  for (const e of elems.slice(1)) {
    if (e.max === '0') continue;
    if (!['0', '1', '*'].includes(e.max) || ![0, 1].includes(e.min)) fail(`${e.path}: cardinality ${e.min}..${e.max}`);
    const dot = e.path.lastIndexOf('.');
    const parentPath = e.path.slice(0, dot);
    const ename = e.path.slice(dot + 1);
    if (!paths.has(parentPath)) fail(`${e.path}: no parent`);
    let parent = parentPath === elems[0].path ? owner : types.get(parentPath);
    if (!parent) fail(`${e.path}: parent type ${parentPath} missing`);
    const slot = { name: ename, min: e.min, many: e.max === '*', choice: ename.endsWith('[x]'), summary: !!e.isSummary,
                   keys: [], binding: null };
    parent.slots.push(slot);
    if (e.binding && e.binding.strength === 'required' && e.binding.valueSet && !e.contentReference &&
        (e.type || []).some((t) => typeCode(e, t) === 'code')) {
      slot.binding = e.binding.valueSet;
    }
    if (e.contentReference) {
      if (!e.contentReference.startsWith('#')) fail(`${e.path}: contentReference ${e.contentReference}`);
      slot.keys.push({ key: ename, type: null });
      pending.push([slot.keys[0], e.contentReference.slice(1)]);
    } else if (hasChildren(e.path)) {
      const codes = (e.type || []).map((t) => t.code);
      if (codes.length !== 1 || !['BackboneElement', 'Element'].includes(codes[0])) fail(`${e.path}: nested ${codes}`);
      addType(e.path, 'COMPLEX');
      slot.keys.push({ key: ename, type: e.path });
    } else if (slot.choice) {
      const base = ename.slice(0, -3);
      for (const t of e.type) slot.keys.push({ key: base + capital(typeCode(e, t)), type: typeCode(e, t) });
    } else {
      if (!e.type || e.type.length !== 1) fail(`${e.path}: ${e.type ? e.type.length : 0} types`);
      slot.keys.push({ key: ename, type: typeCode(e, e.type[0]) });
    }
  }
}
for (const [k, target] of pending) k.type = target;

// ---- required value sets ----------------------------------------------------

const valueSets = new Map(); // canonical url (no version) -> ValueSet
const codeSystems = new Map(); // canonical url -> CodeSystem
for (const f of fs.readdirSync(dir).sort()) {
  const kind = f.startsWith('ValueSet-') ? 'ValueSet' : f.startsWith('CodeSystem-') ? 'CodeSystem' : null;
  if (!kind || !f.endsWith('.json')) continue;
  const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  if (r.resourceType !== kind || !r.url) continue;
  const map = kind === 'ValueSet' ? valueSets : codeSystems;
  if (map.has(r.url)) fail(`${f}: duplicate ${kind} ${r.url}`);
  map.set(r.url, r);
}

const unversioned = (canonical) => canonical.split('|')[0];

// Codes of a value set as a Map "system|code" -> code, in definition order,
// or { skip: reason } when the package cannot tell them all.
function expandValueSet(url, visiting = new Set()) {
  const vs = valueSets.get(url);
  if (!vs) return { skip: 'not in the package' };
  if (!vs.compose || !vs.compose.include) return { skip: 'no compose' };
  if (visiting.has(url)) fail(`${url}: value set includes itself`);
  visiting.add(url);
  const codes = new Map();
  for (const inc of vs.compose.include) {
    const r = expandInclude(inc, visiting);
    if (r.skip) return r;
    for (const [k, c] of r) codes.set(k, c);
  }
  for (const exc of vs.compose.exclude || []) {
    const r = expandInclude(exc, visiting);
    if (r.skip) return { skip: `exclude: ${r.skip}` };
    for (const k of r.keys()) codes.delete(k);
  }
  visiting.delete(url);
  return codes;
}

// One compose.include (or exclude): a system's codes (all of them, nested
// concepts included, or those listed), intersected with the value sets it
// names. Abstract concepts count: R4's own expansions list them.
function expandInclude(inc, visiting) {
  if (inc.filter && inc.filter.length) return { skip: `filter on ${inc.system}` };
  let codes = null;
  if (inc.system) {
    codes = new Map();
    if (inc.concept) {
      for (const c of inc.concept) codes.set(`${inc.system}|${c.code}`, c.code);
    } else {
      const cs = codeSystems.get(inc.system);
      if (!cs) return { skip: `code system ${inc.system} is not in the package` };
      if (cs.content !== 'complete') return { skip: `code system ${inc.system} is ${cs.content} in the package` };
      const walk = (list) => {
        for (const c of list || []) {
          codes.set(`${inc.system}|${c.code}`, c.code);
          walk(c.concept);
        }
      };
      walk(cs.concept);
    }
  }
  for (const ref of inc.valueSet || []) {
    const r = expandValueSet(unversioned(ref), visiting);
    if (r.skip) return { skip: `${ref}: ${r.skip}` };
    codes = codes ? new Map([...codes].filter(([k]) => r.has(k))) : r;
  }
  if (!codes) fail(`include without system or valueSet: ${JSON.stringify(inc)}`);
  return codes;
}

// Expand every value set a slot is bound to; unexpandable ones leave their
// slots unchecked.
const bound = new Map(); // url -> { canonical, slots, result: codes | { skip } }
for (const t of types.values()) {
  for (const s of t.slots) {
    if (!s.binding) continue;
    const url = unversioned(s.binding);
    if (!bound.has(url)) bound.set(url, { canonical: s.binding, slots: 0, result: expandValueSet(url) });
    bound.get(url).slots++;
  }
}

// ---- indices and the string pool ------------------------------------------

const byteCmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const utf8Cmp = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')); /* strcmp's order */
const typeList = [...types.values()].sort((a, b) => byteCmp(a.name, b.name));
const typeIndex = new Map(typeList.map((t, i) => [t.name, i]));
if (typeList.length > 65535) fail('too many types');

const pool = [''];
const poolOff = new Map([['', 0]]);
let poolLen = 1;
function str(s) {
  if (poolOff.has(s)) return poolOff.get(s);
  const off = poolLen;
  poolOff.set(s, off);
  pool.push(s);
  poolLen += Buffer.byteLength(s) + 1;
  return off;
}

// "registered | preliminary | final | ..." — the first codes, for diagnostics.
function summary(codes) {
  let out = '';
  for (const c of codes) {
    const next = out ? `${out} | ${c}` : c;
    if (out && next.length > SUMMARY_BUDGET) return `${out} | ...`;
    out = next;
  }
  return out;
}

const expanded = [...bound.entries()].filter(([, b]) => !b.result.skip).sort((a, b) => utf8Cmp(a[0], b[0]));
const skipped = [...bound.entries()].filter(([, b]) => b.result.skip).sort((a, b) => utf8Cmp(a[0], b[0]));
if (expanded.length === 0 || expanded.length > 65535) fail(`${expanded.length} value sets expanded`);
const valueSetIndex = new Map(expanded.map(([url], i) => [url, i]));
const valueSetRows = [];
const codeRows = [];
for (const [url, b] of expanded) {
  const inOrder = [...new Set(b.result.values())];
  if (inOrder.length === 0) fail(`${url}: expands to no codes`);
  const version = b.canonical.includes('|') ? b.canonical.split('|')[1] : valueSets.get(url).version || '';
  valueSetRows.push([str(url), str(version), str(summary(inOrder)), codeRows.length, inOrder.length]);
  for (const c of [...inOrder].sort(utf8Cmp)) codeRows.push(str(c));
}

const elemRows = [];
const slotRows = [];
const typeRows = [];
let maxSlots = 0;
for (const t of typeList) {
  if (t.slots.length > MAX_SLOTS) fail(`${t.name}: ${t.slots.length} elements`);
  maxSlots = Math.max(maxSlots, t.slots.length);
  const keys = [];
  t.slots.forEach((s, si) => {
    for (const k of s.keys) {
      if (!typeIndex.has(k.type)) fail(`${t.name}.${k.key}: unknown type ${k.type}`);
      keys.push({ key: k.key, type: typeIndex.get(k.type), slot: si, flags: (s.many ? 1 : 0) | (s.choice ? 2 : 0) | (s.summary ? 4 : 0) });
    }
  });
  keys.sort((a, b) => byteCmp(a.key, b.key));
  for (let i = 1; i < keys.length; i++) if (keys[i].key === keys[i - 1].key) fail(`${t.name}: duplicate ${keys[i].key}`);
  if (keys.length >= 65535) fail(`${t.name}: too many properties`); /* validate.c numbers them 1..65535 */
  typeRows.push([str(t.name), elemRows.length, slotRows.length, keys.length, t.slots.length,
    `FHIR_KIND_${t.kind}`, `FHIR_PRIM_${t.prim}`, `FHIR_JSON_${t.json}`, str(t.regex)]);
  for (const k of keys) elemRows.push([str(k.key), k.type, k.slot, k.flags]);
  for (const s of t.slots) {
    const vs = s.binding ? valueSetIndex.get(unversioned(s.binding)) : undefined;
    slotRows.push([str(s.name), s.min, (s.many ? 1 : 0) | (s.choice ? 2 : 0) | (s.summary ? 4 : 0),
                   vs === undefined ? 0 : vs + 1]);
  }
}
const resources = typeList.filter((t) => t.kind === 'RESOURCE').map((t) => typeIndex.get(t.name));

// ---- output ---------------------------------------------------------------

function cstr(s) {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) {
    if (ch === 0x22 || ch === 0x5c) out += `\\${String.fromCharCode(ch)}`;
    else if (ch >= 0x20 && ch < 0x7f && ch !== 0x3f) out += String.fromCharCode(ch);
    else out += `\\${ch.toString(8).padStart(3, '0')}`; /* also '?' to dodge trigraphs */
  }
  return `"${out}\\000"`;
}

function rows(list, perLine) {
  const lines = [];
  for (let i = 0; i < list.length; i += perLine) {
    lines.push(`    ${list.slice(i, i + perLine).map((r) => (Array.isArray(r) ? `{${r.join(',')}}` : r)).join(',')},`);
  }
  return lines.join('\n');
}

const out = [];
out.push(`/*
 * fhir_model.c — GENERATED by tools/gen-model.mjs from the FHIR R4 (4.0.1)
 * StructureDefinitions in hl7.fhir.r4.examples. Do not edit; see model.h.
 * ${typeList.length} types (${resources.length} resources), ${elemRows.length} JSON properties, ${slotRows.length} element definitions.
 * Required bindings of code elements: ${expanded.length} value sets expanded (${codeRows.length} codes),
 * ${skipped.length} left unchecked because the package cannot expand them:
${skipped.map(([url, b]) => ` *   ${url} (${b.slots} element${b.slots > 1 ? 's' : ''}): ${b.result.skip.replaceAll('*/', '* /')}`).join('\n')}
 */
#include "fhir/model.h"

_Static_assert(${maxSlots} <= FHIR_MAX_SLOTS, "a type has more element definitions than FHIR_MAX_SLOTS");
`);
out.push(`const char fhir_model_pool[${poolLen}] =`);
for (let i = 0; i < pool.length; i += 4) out.push(`    ${pool.slice(i, i + 4).map(cstr).join(' ')}`);
out[out.length - 1] += ';';
out.push('');
out.push(`const fhir_type fhir_model_types[${typeRows.length}] = {\n${rows(typeRows, 1)}\n};`);
out.push(`const size_t fhir_model_type_count = ${typeRows.length};\n`);
out.push(`const fhir_elem fhir_model_elems[${elemRows.length}] = {\n${rows(elemRows, 6)}\n};\n`);
out.push(`const fhir_slot fhir_model_slots[${slotRows.length}] = {\n${rows(slotRows, 8)}\n};\n`);
out.push(`const fhir_valueset fhir_model_valuesets[${valueSetRows.length}] = {\n${rows(valueSetRows, 2)}\n};`);
out.push(`const size_t fhir_model_valueset_count = ${valueSetRows.length};\n`);
out.push(`const uint32_t fhir_model_codes[${codeRows.length}] = {\n${rows(codeRows, 12)}\n};\n`);
out.push(`const uint16_t fhir_model_resources[${resources.length}] = {\n${rows(resources, 16)}\n};`);
out.push(`const size_t fhir_model_resource_count = ${resources.length};`);
process.stdout.write(`${out.join('\n')}\n`);
