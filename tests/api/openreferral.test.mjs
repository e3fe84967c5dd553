// openreferral.test.mjs — the Open Referral UK read API (/openreferral) and
// `kith import --format openreferral`. One server holds a small synthetic
// place (its 14 directory services) and three services written over /fhir:
// one with every Kith directory extension, one temporarily closed, one with
// nothing but a name. Every answer is validated with ajv against the UK
// profile 3.0 JSON schemas read from ../shared/data/openreferral-uk (those
// checks skip, saying so, when the folder is absent). The expected answers
// are computed here from the FHIR resources fetched over /fhir: ids are the
// name-based UUIDs the API documents (recomputed with node's SHA-1), filters
// are checked against the services that should match, paging against the
// whole list. Errors: bad parameters 400, unknown ids 404, writes 405. The
// importer: the profile's example service comes back out of the API as it
// went in; a Kith service exported and imported into another database keeps
// its ORUK ids and content; importing twice changes nothing; a feed with one
// bad service is refused whole, naming the file, service, id and field.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { BIN, ROOT, startServer, client, tempDir } from './lib/server.mjs';

const ORUK_DIR = path.resolve(ROOT, '../shared/data/openreferral-uk');
const HAVE_ORUK = fs.existsSync(path.join(ORUK_DIR, 'uk-profile/schema/compiled/service.json'));
const NO_ORUK = HAVE_ORUK ? false : `the ORUK profile material is not at ${ORUK_DIR}`;
const KITH = 'https://kith.example.org/fhir/';
const SECTOR = `${KITH}CodeSystem/sector`;
const NEED = `${KITH}CodeSystem/need`;
const EXT = `${KITH}StructureDefinition/`;
const TYPE_SYS = 'https://example.org/fhir/CodeSystem/service-type'; // a code system Kith does not know
const PAGE_KEYS = ['total_items', 'total_pages', 'page_number', 'size', 'first_page', 'last_page', 'empty', 'contents'];
const DAYS = { mon: 'MO', tue: 'TU', wed: 'WE', thu: 'TH', fri: 'FR', sat: 'SA', sun: 'SU' };

// ---- ids: RFC 4122 version 5 UUIDs in Kith's namespace ---------------------
function uuid5(namespaceHex, name) {
  const h = crypto.createHash('sha1').update(Buffer.from(namespaceHex, 'hex')).update(name, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
const NAMESPACE_URL = '6ba7b8119dad11d180b400c04fd430c8';
const KITH_NS = uuid5(NAMESPACE_URL, 'https://kith.example.org/fhir/openreferral').replace(/-/g, '');
const orukId = (type, id) => uuid5(KITH_NS, `${type}/${id}`);
const termId = (system, code) => uuid5(KITH_NS, `${system}|${code}`);
const taxonomyId = (system) => uuid5(KITH_NS, system);

// ---- the profile's schemas ---------------------------------------------------
function loadSchemas() {
  if (!HAVE_ORUK) return null;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const dir = path.join(ORUK_DIR, 'uk-profile/schema');
  for (const sub of ['', 'compiled/']) {
    for (const f of fs.readdirSync(path.join(dir, sub))) {
      if (!f.endsWith('.json') || f === 'openapi.json') continue;
      const schema = JSON.parse(fs.readFileSync(path.join(dir, sub, f), 'utf8'));
      ajv.addSchema({ ...schema, $id: `https://oruk.test/schema/${sub}${f}` });
    }
  }
  const openapi = JSON.parse(fs.readFileSync(path.join(dir, 'openapi.json'), 'utf8'));
  const page = openapi.components.schemas.Page;
  for (const item of ['compiled/service_list.json', 'compiled/service_at_location_list.json', 'taxonomy.json',
    'taxonomy_term.json']) {
    ajv.addSchema({
      $id: `https://oruk.test/page/${item}`,
      allOf: [page],
      required: PAGE_KEYS,
      properties: { contents: { type: 'array', items: { $ref: `https://oruk.test/schema/${item}` } } },
    });
  }
  ajv.addSchema({ $id: 'https://oruk.test/root', ...openapi.paths['/'].get.responses['200'].content['application/json'].schema });
  return ajv;
}
const ajv = loadSchemas();

/** Assert that value is valid against the schema with that id (when the schemas are here). */
function valid(id, value, what) {
  if (!ajv) return;
  const v = ajv.getSchema(id.startsWith('https:') ? id : `https://oruk.test/schema/${id}`);
  assert.ok(v, `no schema ${id}`);
  assert.ok(v(value), `${what} is not valid against ${id}: ${ajv.errorsText(v.errors)}\n${JSON.stringify(value).slice(0, 600)}`);
}

/** Phones sit inside contacts (HSDS 3.0's place for them): each must be a valid UK profile phone. */
function validPhones(service) {
  for (const c of service.contacts ?? []) for (const p of c.phones ?? []) valid('phone.json', p, 'a contact phone');
}

// ---- test data -----------------------------------------------------------------
const FULL = {
  resourceType: 'HealthcareService',
  id: 'hs-oruk-full',
  extension: [
    { url: `${EXT}age-range`, valueRange: { low: { value: 18, unit: 'years', system: 'http://unitsofmeasure.org', code: 'a' },
      high: { value: 64, unit: 'years', system: 'http://unitsofmeasure.org', code: 'a' } } },
    { url: `${EXT}postcode-district`, valueString: 'KH2' },
    { url: `${EXT}postcode-district`, valueString: 'KH3' },
    { url: `${EXT}duty-contact`, extension: [{ url: 'name', valueString: 'Duty social worker' },
      { url: 'telecom', valueContactPoint: { system: 'phone', value: '01632 960999' } }] },
    { url: `${EXT}response-target`, extension: [{ url: 'priority', valueCode: 'urgent' },
      { url: 'target', valueDuration: { value: 4, unit: 'working hours', system: 'http://unitsofmeasure.org', code: 'h' } }] },
  ],
  active: true,
  providedBy: { reference: 'Organization/org-vcs-2' },
  category: [{ coding: [{ system: SECTOR, code: 'voluntary' }], text: 'Voluntary and community' }],
  type: [{ coding: [{ system: TYPE_SYS, code: 'befriending', display: 'Befriending' }] }],
  characteristic: [{ coding: [{ system: NEED, code: 'loneliness' }] }, { coding: [{ system: NEED, code: 'carer-support' }] }],
  location: [{ reference: 'Location/loc-hub-2' }],
  name: 'Zephyrine befriending circle',
  comment: 'Weekly phone calls and visits for lonely people.',
  extraDetails: 'Self-referral welcome.',
  telecom: [{ system: 'phone', value: '01632 960998', use: 'work' }, { system: 'email', value: 'circle@kith.example.org' },
    { system: 'url', value: 'https://circle.kith.example.org/' }],
  communication: [{ coding: [{ system: 'urn:ietf:bcp:47', code: 'cy' }], text: 'Welsh' }],
  availableTime: [{ daysOfWeek: ['mon', 'wed'], availableStartTime: '09:30:00', availableEndTime: '16:00:00' },
    { daysOfWeek: ['sat'], allDay: true }],
  availabilityExceptions: 'Closed on bank holidays.',
};
const CLOSED = {
  resourceType: 'HealthcareService',
  id: 'hs-oruk-closed',
  active: true,
  providedBy: { reference: 'Organization/org-community' },
  name: 'Leg ulcer clinic',
  notAvailable: [{ description: 'Closed while the clinic is refurbished', during: { start: '2020-01-01' } }],
};
const BARE = { resourceType: 'HealthcareService', id: 'hs-oruk-bare', active: false, name: 'Old lunch club' };

function importFeed(db, file, extra = []) {
  const r = spawnSync(BIN, ['import', '--db', db, '--format', 'openreferral', ...extra, file], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Wired when `kith import --format openreferral` with no file asks for a file rather than naming the format unknown.
const probe = spawnSync(BIN, ['import', '--format', 'openreferral'], { encoding: 'utf8' });
const NOT_WIRED = /unknown --format/.test(probe.stderr ?? '') || probe.error
  ? 'kith import has no --format openreferral yet (src/cli/import.c must call cli_import_openreferral)' : false;

describe('Open Referral UK API', () => {
  let srv, api, dir, services, byId;

  /** GET an /openreferral path; no bearer token is sent (the API is public). */
  async function oruk(p) {
    const r = await fetch(`${srv.base}/openreferral${p}`);
    const text = await r.text();
    return { status: r.status, headers: r.headers, json: text ? JSON.parse(text) : undefined };
  }

  async function allPages(p, perPage) {
    const out = [];
    for (let page = 1; ; page++) {
      const sep = p.includes('?') ? '&' : '?';
      const r = await oruk(`${p}${sep}page=${page}&per_page=${perPage}`);
      assert.equal(r.status, 200);
      out.push(...r.json.contents);
      if (r.json.last_page) return out;
      assert.ok(page < 1000, 'paging never ends');
    }
  }

  before(async () => {
    dir = tempDir('kith-oruk-');
    const db = path.join(dir, 'kith.db');
    const r = spawnSync(BIN, ['synth', '--people', '100', '--db', db, '--quiet'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    srv = await startServer({ dbPath: db });
    api = client(srv.base);
    for (const hs of [FULL, CLOSED, BARE]) {
      const w = await api.put(`/fhir/HealthcareService/${hs.id}`, hs);
      assert.ok(w.status === 200 || w.status === 201, w.text);
    }
    const all = await api.get('/fhir/HealthcareService?_count=1000');
    assert.equal(all.status, 200);
    services = all.json.entry.map((e) => e.resource);
    byId = new Map(services.map((s) => [orukId('HealthcareService', s.id), s]));
  });

  after(async () => {
    await srv?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('derives ids as documented: the namespace is the v5 UUID of its URL', () => {
    assert.equal(KITH_NS, '43f66a4b0486534d975d0fc639e50b18');
  });

  it('answers / with the API and profile it follows, without a token', async () => {
    for (const p of ['', '/']) {
      const r = await oruk(p);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      assert.equal(r.json.version, 'HSDS-UK-3.0');
      assert.match(r.json.openapi_url, /^https:\/\//);
      valid('https://oruk.test/root', r.json, 'the API root');
    }
  });

  it('lists every HealthcareService with a correct and consistent paging envelope', async () => {
    const first = await oruk('/services?per_page=4');
    assert.equal(first.status, 200);
    valid('https://oruk.test/page/compiled/service_list.json', first.json, 'a page of services');
    const total = services.length;
    assert.deepEqual(Object.keys(first.json).sort(), [...PAGE_KEYS].sort());
    assert.equal(first.json.total_items, total);
    assert.equal(first.json.total_pages, Math.ceil(total / 4));
    assert.equal(first.json.page_number, 1);
    assert.equal(first.json.size, 4);
    assert.equal(first.json.contents.length, 4);
    assert.equal(first.json.first_page, true);
    assert.equal(first.json.last_page, false);
    assert.equal(first.json.empty, false);

    const last = await oruk(`/services?per_page=4&page=${first.json.total_pages}`);
    assert.equal(last.json.last_page, true);
    assert.equal(last.json.first_page, false);
    assert.equal(last.json.size, total - 4 * (first.json.total_pages - 1));
    const beyond = await oruk(`/services?per_page=4&page=${first.json.total_pages + 1}`);
    assert.equal(beyond.status, 200);
    assert.deepEqual(beyond.json.contents, []);
    assert.equal(beyond.json.empty, true);
    assert.equal(beyond.json.size, 0);
    assert.equal(beyond.json.total_items, total);

    const walked = await allPages('/services', 4);
    const ids = walked.map((s) => s.id);
    assert.equal(new Set(ids).size, ids.length, 'a service came twice');
    assert.deepEqual(new Set(ids), new Set(byId.keys()));
    const names = walked.map((s) => s.name.toLowerCase());
    assert.deepEqual(names, [...names].sort(), 'services are in name order');
    const whole = await oruk('/services?per_page=1000');
    assert.deepEqual(whole.json.contents.map((s) => s.id), ids, 'pages split one stable order');
    for (const s of walked) valid('compiled/service_list.json', s, `service ${s.name}`);
  });

  it('gives a service in full as the HealthcareService it came from', async () => {
    const id = orukId('HealthcareService', FULL.id);
    const r = await oruk(`/services/${id}`);
    assert.equal(r.status, 200);
    const s = r.json;
    valid('compiled/service.json', s, 'the full service');
    validPhones(s);
    const fhir = (await api.get(`/fhir/HealthcareService/${FULL.id}`)).json;
    const org = (await api.get('/fhir/Organization/org-vcs-2')).json;
    const loc = (await api.get('/fhir/Location/loc-hub-2')).json;
    const svc = orukId('HealthcareService', FULL.id);
    assert.equal(s.id, svc);
    assert.equal(s.name, fhir.name);
    assert.equal(s.description, `${fhir.comment}\n\n${fhir.extraDetails}`);
    assert.equal(s.email, 'circle@kith.example.org');
    assert.equal(s.url, 'https://circle.kith.example.org/');
    assert.equal(s.status, 'active');
    assert.equal(s.minimum_age, 18);
    assert.equal(s.maximum_age, 64);
    assert.equal(s.last_modified, fhir.meta.lastUpdated);
    assert.equal(s.organization_id, orukId('Organization', 'org-vcs-2'));
    assert.equal(s.organization.id, s.organization_id);
    assert.equal(s.organization.name, org.name);
    assert.deepEqual(s.schedules.map((x) => [x.byday, x.opens_at, x.closes_at, x.freq, x.service_id, x.notes]), [
      ['MO,WE', '09:30:00', '16:00:00', 'WEEKLY', svc, fhir.availabilityExceptions],
      ['SA', '00:00:00', '23:59:59', 'WEEKLY', svc, fhir.availabilityExceptions]]);
    assert.deepEqual(s.service_areas.map((a) => a.name), ['KH2', 'KH3']);
    assert.equal(s.service_at_locations.length, 1);
    const sal = s.service_at_locations[0];
    assert.equal(sal.id, uuid5(KITH_NS, `HealthcareService/${FULL.id}#location/loc-hub-2`));
    assert.equal(sal.location_id, orukId('Location', 'loc-hub-2'));
    assert.equal(sal.location.id, sal.location_id);
    assert.equal(sal.location.name, loc.name);
    assert.equal(sal.location.location_type, 'physical');
    assert.equal(sal.location.addresses[0].postal_code, loc.address.postalCode);
    assert.equal(sal.location.addresses[0].city, loc.address.city);
    assert.equal(sal.location.addresses[0].address_1, loc.address.line.join(', '));
    assert.deepEqual(s.languages.map((l) => [l.name, l.code]), [['Welsh', 'cy']]);
    const phones = Object.fromEntries(s.contacts.map((c) => [c.title ?? c.name, c.phones.map((p) => p.number)]));
    assert.deepEqual(phones, { Enquiries: ['01632 960998'], 'Duty contact': ['01632 960999'] });
    assert.equal(s.contacts.find((c) => c.title === 'Duty contact').name, 'Duty social worker');
    const terms = s.attributes.map((a) => [a.link_type, a.taxonomy_term.term, a.taxonomy_term_id]).sort();
    assert.deepEqual(terms, [
      ['category', 'voluntary', termId(SECTOR, 'voluntary')],
      ['characteristic', 'carer-support', termId(NEED, 'carer-support')],
      ['characteristic', 'loneliness', termId(NEED, 'loneliness')],
      ['type', 'befriending', termId(TYPE_SYS, 'befriending')]].sort());
    for (const a of s.attributes) {
      assert.equal(a.link_id, svc);
      assert.equal(a.taxonomy_term.id, a.taxonomy_term_id);
    }
  });

  it('maps every service of the directory, including ones without Kith extensions', async () => {
    for (const [id, fhir] of byId) {
      const r = await oruk(`/services/${id}`);
      assert.equal(r.status, 200, fhir.id);
      valid('compiled/service.json', r.json, `service ${fhir.id}`);
      validPhones(r.json);
      assert.equal(r.json.name, fhir.name);
    }
    const bare = (await oruk(`/services/${orukId('HealthcareService', BARE.id)}`)).json;
    assert.equal(bare.status, 'inactive');
    assert.equal(bare.organization, undefined);
    assert.deepEqual([bare.schedules, bare.contacts, bare.attributes], [[], [], []]);
    const closed = (await oruk(`/services/${orukId('HealthcareService', CLOSED.id)}`)).json;
    assert.equal(closed.status, 'temporarily closed');
    assert.equal(closed.alert, 'Closed while the clinic is refurbished');
  });

  it('finds services by text, in any case, every word counting', async () => {
    const r = await oruk('/services?search=ZEPHYRINE');
    assert.deepEqual(r.json.contents.map((s) => s.id), [orukId('HealthcareService', FULL.id)]);
    const both = await oruk('/services?search=zephyrine%20lonely');
    assert.equal(both.json.total_items, 1);
    const none = await oruk('/services?search=zephyrine%20xylophone');
    assert.equal(none.json.total_items, 0);
    assert.equal(none.json.empty, true);
    const legacy = await oruk('/services?text=zephyrine'); // ORUK v1's name for it
    assert.equal(legacy.json.total_items, 1);
    const falls = (await oruk('/services?search=falls&per_page=1000')).json.contents.map((s) => s.id);
    const expect = [...byId].filter(([, s]) => JSON.stringify([s.name, s.comment, s.extraDetails, s.characteristic,
      s.eligibility]).toLowerCase().includes('falls')).map(([id]) => id);
    assert.deepEqual(new Set(falls), new Set(expect));
    assert.ok(falls.length > 0);
  });

  it('filters by taxonomy term and taxonomy as FHIR search does by code', async () => {
    for (const [system, code] of [[NEED, 'loneliness'], [NEED, 'falls'], [SECTOR, 'community-health']]) {
      const param = system === SECTOR ? 'service-category' : 'characteristic';
      const f = await api.get(`/fhir/HealthcareService?${param}=${encodeURIComponent(`${system}|${code}`)}&_count=1000`);
      const want = (f.json.entry ?? []).map((e) => orukId('HealthcareService', e.resource.id));
      assert.ok(want.length > 0, `${code}: nothing to find`);
      const got = (await oruk(`/services?taxonomy_term_id=${termId(system, code)}&per_page=1000`)).json.contents;
      assert.deepEqual(new Set(got.map((s) => s.id)), new Set(want), code);
    }
    const sectors = (await oruk(`/services?taxonomy_id=${taxonomyId(SECTOR)}&per_page=1000`)).json.total_items;
    assert.equal(sectors, services.filter((s) => (s.category ?? []).some((c) => c.coding?.some((x) => x.system === SECTOR))).length);
    const unknown = await oruk(`/services?taxonomy_term_id=${crypto.randomUUID()}`);
    assert.equal(unknown.status, 200);
    assert.equal(unknown.json.total_items, 0);
  });

  it('filters by age, day, opening hours and organization as the profile words them', async () => {
    const ages = (s) => {
      const r = s.extension?.find((x) => x.url === `${EXT}age-range`)?.valueRange;
      return [r?.low?.value ?? 0, r?.high?.value ?? Infinity];
    };
    const ids = async (q) => new Set((await oruk(`/services?${q}&per_page=1000`)).json.contents.map((s) => s.id));
    const expect = (pred) => new Set([...byId].filter(([, s]) => pred(s)).map(([id]) => id));
    assert.deepEqual(await ids('minimum_age=18'), expect((s) => ages(s)[0] >= 18));
    assert.deepEqual(await ids('maximum_age=64'), expect((s) => ages(s)[1] <= 64));
    const onSaturday = (s) => (s.availableTime ?? []).some((t) => !t.daysOfWeek || t.daysOfWeek.includes('sat'));
    assert.deepEqual(await ids('day=SA'), expect(onSaturday));
    const hours = (s, pred) => (s.availableTime ?? []).some((t) => pred(t.allDay ? '00:00:00' : t.availableStartTime,
      t.allDay ? '23:59:59' : t.availableEndTime));
    assert.deepEqual(await ids('start_time=09:00'), expect((s) => hours(s, (o) => o && o >= '09:00:00')));
    assert.deepEqual(await ids('end_time=17:00'), expect((s) => hours(s, (o, c) => c && c <= '17:00:00')));
    const org = orukId('Organization', 'org-community');
    assert.deepEqual(await ids(`organization_id=${org}`),
      expect((s) => s.providedBy?.reference === 'Organization/org-community'));
  });

  it('lists services at locations and finds them by postcode', async () => {
    const all = await allPages('/service_at_locations', 5);
    const want = services.flatMap((s) => (s.location ?? []).map((l) => `${s.id} ${l.reference.slice(9)}`));
    assert.equal(all.length, want.length);
    for (const sal of all) {
      valid('compiled/service_at_location_list.json', sal, 'a service at location');
      const s = byId.get(sal.service_id);
      assert.ok(s, 'the service is in the directory');
      assert.equal(sal.service.id, sal.service_id);
      assert.equal(sal.location.id, sal.location_id);
      const loc = s.location.map((l) => l.reference.slice(9)).find((l) => orukId('Location', l) === sal.location_id);
      assert.ok(loc, 'the location is one of the service\'s');
      assert.equal(sal.id, uuid5(KITH_NS, `HealthcareService/${s.id}#location/${loc}`));
    }
    const page = await oruk('/service_at_locations?per_page=5');
    valid('https://oruk.test/page/compiled/service_at_location_list.json', page.json, 'a page of services at locations');

    const one = await oruk(`/service_at_locations/${all[0].id}`);
    assert.equal(one.status, 200);
    valid('compiled/service_at_location.json', one.json, 'a service at location in full');
    validPhones(one.json.service);
    assert.equal(one.json.id, all[0].id);
    assert.equal(one.json.service.id, all[0].service_id);
    assert.equal(one.json.service.service_at_locations, undefined, 'the service is not nested again');
    const locId = byId.get(all[0].service_id).location.map((l) => l.reference.slice(9))
      .find((l) => orukId('Location', l) === all[0].location_id);
    const fhirLoc = (await api.get(`/fhir/Location/${locId}`)).json;
    assert.equal(one.json.location.name, fhirLoc.name);
    assert.equal(one.json.location.addresses[0].postal_code, fhirLoc.address.postalCode);

    // A service naming postcode districts covers those; one naming none covers its locations' districts.
    const locations = new Map();
    for (const s of services) {
      for (const l of s.location ?? []) {
        const id = l.reference.slice(9);
        if (!locations.has(id)) locations.set(id, (await api.get(`/fhir/Location/${id}`)).json);
      }
    }
    const districtOf = (pc) => pc.replace(/\s+/g, '').toUpperCase().replace(/[0-9][A-Z]{2}$/, '');
    const covers = (s, d, locId) => {
      const named = (s.extension ?? []).filter((x) => x.url === `${EXT}postcode-district`).map((x) => x.valueString);
      if (named.length) return named.includes(d);
      const locs = locId ? [locId] : (s.location ?? []).map((l) => l.reference.slice(9));
      return locs.some((l) => districtOf(locations.get(l)?.address?.postalCode ?? '') === d);
    };
    for (const [postcode, d] of [['KH2 4XX', 'KH2'], ['kh1 1aa', 'KH1'], ['KH5', 'KH5']]) {
      const q = encodeURIComponent(postcode);
      const svcs = (await oruk(`/services?postcode=${q}&per_page=1000`)).json.contents.map((s) => s.id);
      assert.deepEqual(new Set(svcs), new Set([...byId].filter(([, s]) => covers(s, d)).map(([id]) => id)), postcode);
      const sals = (await oruk(`/service_at_locations?postcode=${q}&per_page=1000`)).json.contents;
      const want = services.flatMap((s) => (s.location ?? []).map((l) => l.reference.slice(9))
        .filter((l) => covers(s, d, l)).map((l) => uuid5(KITH_NS, `HealthcareService/${s.id}#location/${l}`)));
      assert.deepEqual(new Set(sals.map((x) => x.id)), new Set(want), postcode);
    }
    const kh2 = (await oruk('/services?postcode=KH2')).json.contents.map((s) => s.id);
    assert.ok(kh2.includes(orukId('HealthcareService', FULL.id)));
    assert.ok(!kh2.includes(orukId('HealthcareService', CLOSED.id)), 'a service with no area and no place covers nowhere');
  });

  it('lists taxonomies and taxonomy terms, Kith\'s own and those the directory uses', async () => {
    const tax = await allPages('/taxonomies', 2);
    for (const t of tax) valid('taxonomy.json', t, `taxonomy ${t.name}`);
    const bySystem = Object.fromEntries(tax.map((t) => [t.uri, t]));
    assert.equal(bySystem[SECTOR].id, taxonomyId(SECTOR));
    assert.equal(bySystem[NEED].id, taxonomyId(NEED));
    assert.equal(bySystem[TYPE_SYS]?.name, 'service-type', 'a system the directory uses is a taxonomy too');
    const sector = await oruk(`/taxonomies/${taxonomyId(SECTOR)}`);
    assert.equal(sector.status, 200);
    valid('taxonomy.json', sector.json, 'the sector taxonomy');
    assert.deepEqual(sector.json.taxonomy_terms.map((t) => t.term).sort(),
      ['community-health', 'health', 'hospital', 'mental-health', 'social-care', 'voluntary']);

    const terms = await allPages('/taxonomy_terms', 7);
    const page = await oruk('/taxonomy_terms?per_page=7');
    valid('https://oruk.test/page/taxonomy_term.json', page.json, 'a page of taxonomy terms');
    assert.equal(new Set(terms.map((t) => t.id)).size, terms.length);
    for (const t of terms) valid('taxonomy_term.json', t, `term ${t.term}`);
    const lonely = terms.find((t) => t.id === termId(NEED, 'loneliness'));
    assert.equal(lonely.taxonomy_id, taxonomyId(NEED));
    assert.equal(lonely.term_uri, `${NEED}#loneliness`);
    const one = await oruk(`/taxonomy_terms/${lonely.id}`);
    assert.deepEqual(one.json, lonely);
  });

  it('refuses bad parameters with 400 and says which', async () => {
    const cases = [
      ['/services?page=abc', /page/], ['/services?page=0', /page/], ['/services?per_page=0', /per_page/],
      ['/services?per_page=100000', /per_page/], ['/services?minimum_age=old', /minimum_age/],
      ['/services?taxonomy_term_id=falls', /taxonomy_term_id.*UUID/], ['/services?day=funday', /day/],
      ['/services?start_time=25:00', /start_time/], ['/services?colour=red', /unknown parameter 'colour'/],
      ['/services?page=1&page=2', /more than once/], ['/service_at_locations?proximity=1000', /proximity/],
      ['/service_at_locations?postcode=%3F%3F', /postcode/], ['/taxonomies?search=x', /unknown parameter/],
      ['/taxonomy_terms?per_page=-1', /per_page/],
    ];
    for (const [p, re] of cases) {
      const r = await oruk(p);
      assert.equal(r.status, 400, p);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      assert.equal(r.json.status, 400);
      assert.match(r.json.message, re, p);
    }
  });

  it('answers 404 for unknown ids and endpoints, 405 for writes', async () => {
    for (const c of ['services', 'service_at_locations', 'taxonomies', 'taxonomy_terms']) {
      for (const id of [crypto.randomUUID(), 'not-a-uuid']) {
        const r = await oruk(`/${c}/${id}`);
        assert.equal(r.status, 404, `${c}/${id}`);
        assert.match(r.json.message, new RegExp(id));
      }
    }
    assert.equal((await oruk('/organizations')).status, 404);
    assert.equal((await oruk(`/services/${crypto.randomUUID()}/extra`)).status, 404);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await fetch(`${srv.base}/openreferral/services`, { method, body: method === 'DELETE' ? undefined : '{}' });
      assert.equal(r.status, 405, method);
      assert.match(r.headers.get('allow'), /GET/);
      assert.equal((await r.json()).status, 405);
    }
  });

  it('shows a change to the directory at once', async () => {
    const id = orukId('HealthcareService', BARE.id);
    const put = await api.put(`/fhir/HealthcareService/${BARE.id}`, { ...BARE, active: true, name: 'New lunch club' });
    assert.equal(put.status, 200);
    const r = await oruk(`/services/${id}`);
    assert.equal(r.json.name, 'New lunch club');
    assert.equal(r.json.status, 'active');
  });

  describe('kith import --format openreferral', () => {
    it('imports the profile\'s example service, which the API then gives back', { skip: NOT_WIRED || NO_ORUK }, async () => {
      const file = path.join(ORUK_DIR, 'uk-profile/examples/service_full.json');
      const src = JSON.parse(fs.readFileSync(file, 'utf8'));
      const r = importFeed(srv.dbPath, file);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /1 service, 1 organization, 2 locations: 4 new/);
      assert.match(r.stderr, /not kept.*cost_options/, 'the fields Kith does not keep are named');
      const again = importFeed(srv.dbPath, file, ['--quiet']);
      assert.equal(again.status, 0, again.stderr);
      const hist = await api.get(`/fhir/HealthcareService/oruk-${src.id}/_history`);
      assert.equal(hist.json.total, 1, 'importing the same feed again changes nothing');

      const got = (await oruk(`/services/${src.id}`)).json;
      valid('compiled/service.json', got, 'the imported service');
      for (const k of ['id', 'name', 'description', 'url', 'email', 'status', 'minimum_age', 'maximum_age'])
        assert.equal(got[k], src[k], k);
      assert.equal(got.organization.id, src.organization.id);
      assert.equal(got.organization.name, src.organization.name);
      assert.deepEqual(got.organization.organization_identifiers.map((x) => [x.identifier_scheme, x.identifier_type, x.identifier]),
        src.organization.organization_identifiers.map((x) => [x.identifier_scheme, x.identifier_type, x.identifier]));
      const [sal] = got.service_at_locations;
      const [want] = src.service_at_locations;
      assert.equal(sal.location.id, want.location.id);
      assert.equal(sal.location.name, want.location.name);
      assert.equal(sal.location.external_identifier, want.location.external_identifier);
      for (const k of ['address_1', 'city', 'region', 'state_province', 'postal_code', 'country'])
        assert.equal(sal.location.addresses[0][k], want.location.addresses[0][k], k);
      assert.deepEqual(got.schedules.map((x) => [x.byday, x.opens_at, x.closes_at, x.notes]),
        src.schedules.map((x) => [x.byday, x.opens_at, x.closes_at, x.notes]));
      assert.deepEqual(got.service_areas.map((a) => a.name), src.service_areas.map((a) => a.name));
      assert.deepEqual(got.attributes.map((a) => [a.taxonomy_term.name, a.taxonomy_term.term, a.taxonomy_term.taxonomy]),
        src.attributes.map((a) => [a.taxonomy_term.name, a.taxonomy_term.term, a.taxonomy_term.taxonomy]));
      const byTerm = await oruk(`/services?taxonomy_term_id=${got.attributes[0].taxonomy_term_id}`);
      assert.deepEqual(byTerm.json.contents.map((s) => s.id), [src.id]);
    });

    it('imports a paged feed, and a Kith service keeps its ids and content in another database', { skip: NOT_WIRED }, async () => {
      const id = orukId('HealthcareService', FULL.id);
      const full = (await oruk(`/services/${id}`)).json;
      const page = { total_items: 1, total_pages: 1, page_number: 1, size: 1, first_page: true, last_page: true,
        empty: false, contents: [full] };
      const other = tempDir('kith-oruk-copy-');
      try {
        const file = path.join(other, 'feed.json');
        fs.writeFileSync(file, JSON.stringify(page));
        const r = importFeed(path.join(other, 'copy.db'), file);
        assert.equal(r.status, 0, r.stderr);
        const copy = await startServer({ dbPath: path.join(other, 'copy.db') });
        try {
          const back = await (await fetch(`${copy.base}/openreferral/services/${id}`)).json();
          const strip = (s) => {
            const { last_modified: _, organization, ...rest } = s;
            return { ...rest, organization: { id: organization.id, name: organization.name } };
          };
          // content that maps both ways; the parts' ids are derived, so compare what they hold
          const core = (s) => ({
            ...strip(s), schedules: s.schedules.map(({ id: _, service_id: __, ...x }) => x),
            service_areas: s.service_areas.map((a) => a.name),
            service_at_locations: s.service_at_locations.map((x) => [x.location_id, x.location.name,
              x.location.addresses.map((a) => a.postal_code)]),
            contacts: s.contacts.map((c) => [c.name, c.title, c.phones.map((p) => p.number)]),
            languages: s.languages.map((l) => [l.name, l.code]),
            attributes: s.attributes.map((a) => [a.link_type, a.taxonomy_term_id]).sort(),
          });
          assert.deepEqual(core(back), core(full));
        } finally {
          await copy.stop();
        }
      } finally {
        fs.rmSync(other, { recursive: true, force: true });
      }
    });

    it('refuses a feed with a bad service whole, naming file, service, id and field', { skip: NOT_WIRED }, async () => {
      const good = { id: crypto.randomUUID(), name: 'Good service', status: 'active' };
      const bad = { id: crypto.randomUUID(), status: 'sometimes', minimum_age: 'ten' };
      const other = tempDir('kith-oruk-bad-');
      try {
        const file = path.join(other, 'bad.json');
        fs.writeFileSync(file, JSON.stringify([good, bad]));
        const r = importFeed(srv.dbPath, file);
        assert.equal(r.status, 1, r.stderr);
        const where = `${file}: services[1] (id ${bad.id})`;
        assert.match(r.stderr, new RegExp(`${where.replace(/[.[\]()]/g, '\\$&')}: name: is required`));
        assert.match(r.stderr, /status: 'sometimes' is not one of/);
        assert.match(r.stderr, /minimum_age: must be a number/);
        assert.match(r.stderr, /nothing was changed/);
        const g = await api.get(`/fhir/HealthcareService/oruk-${good.id}`);
        assert.equal(g.status, 404, 'the good service of a bad feed is not stored');

        const dangling = { id: crypto.randomUUID(), name: 'Orphan', status: 'active', organization_id: crypto.randomUUID() };
        fs.writeFileSync(file, JSON.stringify(dangling));
        const d = importFeed(srv.dbPath, file);
        assert.equal(d.status, 1);
        assert.match(d.stderr, /service \(id [0-9a-f-]+\): organization_id: no Organization [0-9a-f-]+ in this feed or the directory/);
        fs.writeFileSync(file, '{"contents": [');
        const broken = importFeed(srv.dbPath, file);
        assert.equal(broken.status, 1);
        assert.match(broken.stderr, /not JSON/);
      } finally {
        fs.rmSync(other, { recursive: true, force: true });
      }
    });
  });
});
