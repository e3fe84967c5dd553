// record.js — a person's record gathered for the record page: the Patient,
// everything in their record ($everything, every page), the care team, the
// access log where the reader may see it, and the organisations and services
// the record points at. Also: which sector (GP, hospital, community health,
// social care, voluntary) each entry of the timeline comes from.
import { get, request, entries, allPages, ApiError } from './api.js';
import { refId, codeText, showDate } from './fhir.js';

export const KITH = 'https://kith.example.org/fhir';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const EVERYTHING_PAGE = 1000;
const EVERYTHING_PAGES = 10; // at most 10,000 entries: more than any one person's record

/** Sectors as staff name them, in the order the filters show them. */
export const SECTORS = [
  ['gp', 'GP'], ['hospital', 'Hospital'], ['community', 'Community health'], ['social-care', 'Social care'],
  ['voluntary', 'Voluntary sector'], ['unknown', 'Not known'],
];
export const SECTOR_NAME = Object.fromEntries(SECTORS);

// the directory's sector codes (HealthcareService.category, docs/care-coordination.md)
const SERVICE_SECTOR = {
  'community-health': 'community', 'mental-health': 'community', hospital: 'hospital', 'social-care': 'social-care',
  voluntary: 'voluntary', 'primary-care': 'gp', 'general-practice': 'gp',
};

// services change rarely: fetched once per page load of the app
let servicesOnce = null;
function directoryServices() {
  servicesOnce ??= get('/fhir/HealthcareService', { _count: 1000, _elements: 'id,name,providedBy,category' })
    .then((b) => entries(b, 'HealthcareService'))
    .catch(() => { servicesOnce = null; return []; });
  return servicesOnce;
}

/** Every resource of Patient/{id}/$everything, following its next links. */
async function everything(id) {
  return allPages(`/fhir/Patient/${encodeURIComponent(id)}/$everything`, { _count: EVERYTHING_PAGE }, EVERYTHING_PAGES);
}

/** The access log for the person: { events } or { refused: reason }. */
async function accessLog(id) {
  try {
    const b = await get('/fhir/AuditEvent', { patient: `Patient/${id}`, _count: 200 });
    return { events: entries(b, 'AuditEvent') };
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return { refused: e.message };
    if (e instanceof ApiError && e.status === 401) throw e;
    return { failed: e.message };
  }
}

/**
 * Everything the record page shows, fetched in parallel. Throws the Patient
 * read's ApiError (404 when the person is not in the user's care).
 */
export async function loadRecord(id) {
  const patientP = get(`/fhir/Patient/${encodeURIComponent(id)}`);
  const others = Promise.all([
    everything(id).catch((e) => ({ error: e })),
    get(`/fhir/Patient/${encodeURIComponent(id)}/$care-team`).catch((e) => ({ error: e })),
    accessLog(id).catch((e) => ({ failed: e.message })),
    directoryServices(),
  ]);
  const patient = await patientP; // a refusal shows before the rest is waited for
  const [all, careTeam, audit, services] = await others;
  const resources = all.error ? [] : all;
  const byRef = new Map(resources.map((r) => [`${r.resourceType}/${r.id}`, r]));
  const teamEntries = careTeam.error ? [] : entries(careTeam);
  // organisations named anywhere: fetched once, by id
  const orgs = new Map(teamEntries.filter((r) => r.resourceType === 'Organization').map((o) => [o.id, o]));
  const wanted = new Set();
  const look = (v) => {
    if (!v || typeof v !== 'object') return;
    if (Array.isArray(v)) { v.forEach(look); return; }
    if (typeof v.reference === 'string' && v.reference.startsWith('Organization/')) wanted.add(refId(v.reference));
    for (const k of Object.keys(v)) if (k !== 'text' && typeof v[k] === 'object') look(v[k]);
  };
  look(patient);
  look(resources);
  look(teamEntries);
  for (const a of audit.events ?? []) look(a.agent);
  const missing = [...wanted].filter((x) => x && !orgs.has(x));
  for (let i = 0; i < missing.length; i += 100) {
    const b = await get('/fhir/Organization', { _id: missing.slice(i, i + 100).join(','), _count: 100,
      _elements: 'id,name,type,identifier,partOf' }).catch(() => null);
    for (const o of entries(b, 'Organization')) orgs.set(o.id, o);
  }
  return {
    patient, resources, byRef, orgs, services: new Map(services.map((s) => [s.id, s])),
    careTeam: careTeam.error ? null : teamEntries.find((r) => r.resourceType === 'CareTeam') ?? null,
    careTeamRoles: teamEntries.filter((r) => r.resourceType === 'PractitionerRole'),
    everythingFailed: all.error?.message ?? null,
    audit,
  };
}

/** Resources of one type in the record. */
export function ofType(rec, type) { return rec.resources.filter((r) => r.resourceType === type); }

/** The name of an organisation, service or other reference, for people to read. */
export function refName(rec, ref) {
  if (!ref) return '';
  const r = typeof ref === 'string' ? { reference: ref } : ref;
  const id = refId(r);
  if (r.reference?.startsWith('Organization/')) return rec.orgs.get(id)?.name ?? r.display ?? `Organisation ${id}`;
  if (r.reference?.startsWith('HealthcareService/')) return rec.services.get(id)?.name ?? r.display ?? `Service ${id}`;
  return (r.display ?? '').trim() || (r.reference ?? '');
}

const codes = (ccs) => (Array.isArray(ccs) ? ccs : [ccs]).flatMap((c) => c?.coding ?? []);

/**
 * The sector of an organisation: the patient's registered practice and
 * organisations with a GP practice code (a letter and five digits) are GP;
 * community groups are voluntary; integrated neighbourhood teams are
 * community health; otherwise the sector of the services it provides in the
 * directory (the most common one). null when none of these tells.
 */
export function orgSector(rec, id) {
  if (!id) return null;
  if ((rec.patient.generalPractitioner ?? []).some((g) => refId(g) === id)) return 'gp';
  const org = rec.orgs.get(id);
  const ods = (org?.identifier ?? []).find((i) => i.system === ODS)?.value ?? '';
  if (/^[A-Z]\d{5}$/.test(ods)) return 'gp';
  const types = codes(org?.type).map((c) => c.code);
  if (types.includes('cg')) return 'voluntary';
  if (types.includes('team')) return 'community';
  const count = {};
  for (const s of rec.services.values()) {
    if (refId(s.providedBy) !== id) continue;
    for (const c of codes(s.category)) if (SERVICE_SECTOR[c.code]) count[SERVICE_SECTOR[c.code]] = (count[SERVICE_SECTOR[c.code]] ?? 0) + 1;
  }
  const best = Object.entries(count).sort((a, b) => b[1] - a[1])[0];
  return best ? best[0] : null;
}

function serviceSector(rec, id) {
  const s = rec.services.get(id);
  for (const c of codes(s?.category)) if (SERVICE_SECTOR[c.code]) return SERVICE_SECTOR[c.code];
  return s ? orgSector(rec, refId(s.providedBy)) : null;
}

// the references that say who provided or holds each kind of entry, most telling first
const WHO = {
  Encounter: (r) => [r.serviceProvider, ...(r.participant ?? []).map((p) => p.individual)],
  EpisodeOfCare: (r) => [r.managingOrganization],
  ServiceRequest: (r) => [...(r.performer ?? [])],
  Task: (r) => [r.owner],
  Condition: (r) => [r.asserter, r.recorder],
  Observation: (r) => [...(r.performer ?? [])],
  MedicationRequest: (r) => [r.performer, r.requester],
  Procedure: (r) => (r.performer ?? []).flatMap((p) => [p.onBehalfOf, p.actor]),
  Immunization: (r) => (r.performer ?? []).map((p) => p.actor),
  Communication: (r) => [r.sender],
  DocumentReference: (r) => [r.custodian, ...(r.author ?? [])],
  CarePlan: (r) => [r.author],
  AllergyIntolerance: (r) => [r.recorder, r.asserter],
};

// Encounter classes (v3 ActCode) when no organisation tells
const CLASS_SECTOR = { IMP: 'hospital', EMER: 'hospital', ACUTE: 'hospital', NONAC: 'hospital', SS: 'hospital',
  OBSENC: 'hospital', PRENC: 'hospital', HH: 'community', AMB: 'gp', VR: 'community', FLD: 'community' };

/**
 * The sector an entry of the record comes from:
 * 1. records imported from a council's Client Level Data (meta.tag
 *    record-source|cld) are social care;
 * 2. a sector coded on the entry itself (category in CodeSystem/sector);
 * 3. the organisation or directory service that provided it (service
 *    provider, managing organisation, performer, owner, sender...), by
 *    orgSector / the service's category;
 * 4. otherwise by kind: an Encounter by its class (inpatient and A&E:
 *    hospital; home visit: community; ambulatory: GP); problems,
 *    measurements, prescriptions, allergies and immunisations with no
 *    organisation named come from the GP record;
 * else "unknown".
 */
export function sectorOf(rec, r) {
  if ((r.meta?.tag ?? []).some((t) => t.system === `${KITH}/CodeSystem/record-source` && t.code === 'cld')) return 'social-care';
  for (const c of codes(r.category)) if (c.system === `${KITH}/CodeSystem/sector` && SERVICE_SECTOR[c.code]) return SERVICE_SECTOR[c.code];
  for (const ref of (WHO[r.resourceType]?.(r) ?? []).filter(Boolean)) {
    const s = ref.reference?.startsWith('Organization/') ? orgSector(rec, refId(ref))
      : ref.reference?.startsWith('HealthcareService/') ? serviceSector(rec, refId(ref)) : null;
    if (s) return s;
  }
  if (r.resourceType === 'Encounter' && CLASS_SECTOR[r.class?.code]) return CLASS_SECTOR[r.class.code];
  if (['Condition', 'Observation', 'MedicationRequest', 'AllergyIntolerance', 'Immunization'].includes(r.resourceType)) return 'gp';
  return 'unknown';
}

/** Kinds of timeline entry, as the type filter shows them. */
export const KINDS = {
  Encounter: 'Appointments, visits and stays',
  Condition: 'Problems and diagnoses',
  Observation: 'Measurements and test results',
  MedicationRequest: 'Medicines',
  ServiceRequest: 'Referrals and requests',
  EpisodeOfCare: 'Care and support services',
  Procedure: 'Procedures',
  Immunization: 'Vaccinations',
  AllergyIntolerance: 'Allergies',
  DocumentReference: 'Letters and documents',
  Communication: 'Messages and notifications',
};

function quantity(q) {
  if (!q || q.value === undefined) return '';
  return `${q.value}${q.unit ? ' ' + q.unit : ''}`;
}

function observationValue(o) {
  if (o.valueQuantity) return quantity(o.valueQuantity);
  if (o.valueCodeableConcept) return codeText(o.valueCodeableConcept);
  if (o.valueString !== undefined) return String(o.valueString);
  if (o.valueBoolean !== undefined) return o.valueBoolean ? 'Yes' : 'No';
  const sys = (o.component ?? []).find((c) => codes(c.code).some((x) => x.code === '271649006' || x.code === '8480-6'));
  const dia = (o.component ?? []).find((c) => codes(c.code).some((x) => x.code === '271650006' || x.code === '8462-4'));
  if (sys?.valueQuantity && dia?.valueQuantity) return `${sys.valueQuantity.value}/${dia.valueQuantity.value} ${sys.valueQuantity.unit ?? ''}`.trim();
  return (o.component ?? []).map((c) => `${codeText(c.code)} ${quantity(c.valueQuantity)}`.trim()).filter(Boolean).join(', ');
}

const STATUS_WORDS = { finished: 'Finished', 'in-progress': 'In progress', planned: 'Planned', active: 'Active',
  completed: 'Completed', cancelled: 'Cancelled', stopped: 'Stopped', 'on-hold': 'On hold', revoked: 'Withdrawn',
  waitlist: 'On the waiting list', final: '', amended: 'Amended', draft: 'Draft', 'entered-in-error': 'Entered in error' };

/**
 * The timeline: one entry per event of the record, newest first:
 * { key, kind, sector, date, title, detail, status }.
 */
export function timeline(rec) {
  const out = [];
  for (const r of rec.resources) {
    if (!KINDS[r.resourceType]) continue;
    let date = '', title = '', detail = [];
    switch (r.resourceType) {
      case 'Encounter': {
        date = r.period?.start ?? '';
        title = codeText(r.type) || codeText(r.serviceType) || r.class?.display || 'Contact';
        detail.push(refName(rec, r.serviceProvider));
        if (r.period?.end && r.period.end.slice(0, 10) !== date.slice(0, 10)) detail.push(`until ${showDate(r.period.end)}`);
        if (r.reasonCode) detail.push(codeText(r.reasonCode));
        break;
      }
      case 'Condition':
        date = r.onsetDateTime ?? r.recordedDate ?? r.onsetPeriod?.start ?? '';
        title = codeText(r.code) || 'Problem';
        detail.push(codeText(r.clinicalStatus) ? `Clinical status: ${codeText(r.clinicalStatus)}` : '');
        break;
      case 'Observation':
        date = r.effectiveDateTime ?? r.effectivePeriod?.start ?? r.issued ?? '';
        title = codeText(r.code) || 'Observation';
        detail.push(observationValue(r));
        break;
      case 'MedicationRequest':
        date = r.authoredOn ?? '';
        title = codeText(r.medicationCodeableConcept) || r.medicationReference?.display || 'Medicine';
        detail.push((r.dosageInstruction ?? []).map((d) => d.text).filter(Boolean).join('; '));
        break;
      case 'ServiceRequest':
        date = r.authoredOn ?? r.occurrencePeriod?.start ?? r.occurrenceDateTime ?? '';
        title = codeText(r.code) || codeText(r.category) || 'Referral';
        detail.push((r.performer ?? []).map((p) => refName(rec, p)).filter(Boolean).join(', '));
        detail.push(codeText(r.reasonCode));
        break;
      case 'EpisodeOfCare':
        date = r.period?.start ?? '';
        title = (r.type ?? []).map(codeText).filter(Boolean).join(', ') || 'Episode of care';
        detail.push(refName(rec, r.managingOrganization));
        if (r.period?.end) detail.push(`until ${showDate(r.period.end)}`);
        break;
      case 'Procedure':
        date = r.performedDateTime ?? r.performedPeriod?.start ?? '';
        title = codeText(r.code) || 'Procedure';
        break;
      case 'Immunization':
        date = r.occurrenceDateTime ?? '';
        title = codeText(r.vaccineCode) || 'Vaccination';
        break;
      case 'AllergyIntolerance':
        date = r.recordedDate ?? r.onsetDateTime ?? '';
        title = codeText(r.code) || 'Allergy';
        break;
      case 'DocumentReference':
        date = r.date ?? '';
        title = r.description || codeText(r.type) || 'Document';
        break;
      case 'Communication':
        date = r.sent ?? r.meta?.lastUpdated ?? '';
        title = codeText(r.category) || 'Message';
        detail.push((r.payload ?? []).map((p) => p.contentString).filter(Boolean).join(' '));
        break;
      default:
    }
    out.push({
      key: `${r.resourceType}/${r.id}`, kind: r.resourceType, sector: sectorOf(rec, r), date, title,
      detail: detail.filter(Boolean).join(' · '), status: STATUS_WORDS[r.status] ?? r.status ?? '',
    });
  }
  return out.sort((a, b) => String(b.date).localeCompare(String(a.date)));
}
