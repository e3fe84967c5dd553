// services.js — the service directory (HealthcareService) as staff read it:
// needs, sectors, response targets, duty contacts, who a service is for and
// how to refer; and the names of the people and teams that references point at.
import { html } from './html.js';
import { get, entries } from './api.js';
import { extensionValue, refId } from './fhir.js';

export const NEED_SYSTEM = 'https://kith.example.org/fhir/CodeSystem/need';
export const SECTOR_SYSTEM = 'https://kith.example.org/fhir/CodeSystem/sector';
const EXT = 'https://kith.example.org/fhir/StructureDefinition/';

/** Words for the need codes the directory uses (others are shown from their code). */
const NEED_WORDS = {
  falls: 'Falls', memory: 'Memory problems', loneliness: 'Loneliness', 'carer-support': 'Support for carers',
  'personal-care': 'Personal care', rehabilitation: 'Rehabilitation', 'urgent-care': 'Urgent care',
  mobility: 'Mobility', 'long-term-conditions': 'Long-term conditions', 'wound-care': 'Wound care',
  'end-of-life': 'End of life care', 'benefits-advice': 'Benefits advice', discharge: 'Leaving hospital',
  'discharge-pathway-1': 'Leaving hospital: support at home (pathway 1)',
  'discharge-pathway-2': 'Leaving hospital: rehabilitation bed (pathway 2)',
  'discharge-pathway-3': 'Leaving hospital: care assessment (pathway 3)',
};

export const SECTORS = [
  ['community-health', 'Community health'], ['hospital', 'Hospital'], ['mental-health', 'Mental health'],
  ['social-care', 'Social care'], ['voluntary', 'Voluntary and community'],
];

export const PRIORITIES = [
  ['routine', 'Routine'], ['urgent', 'Urgent'], ['asap', 'As soon as possible'], ['stat', 'Immediately'],
];
export const priorityWords = (p) => (PRIORITIES.find(([c]) => c === p)?.[1]) ?? p ?? 'Routine';

const METHODS = { phone: 'phone', fax: 'fax', elec: 'electronic referral', semail: 'secure email', mail: 'post' };
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DAY_WORDS = { mon: 'Monday', tue: 'Tuesday', wed: 'Wednesday', thu: 'Thursday', fri: 'Friday', sat: 'Saturday', sun: 'Sunday' };

export function needWords(code) {
  return NEED_WORDS[code] ?? String(code ?? '').replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

function codesOf(concepts, system) {
  return (concepts ?? []).flatMap((c) => (c.coding ?? []).filter((x) => x.system === system).map((x) => x.code));
}

/** The need codes a service meets. */
export const needsOf = (hs) => codesOf(hs.characteristic, NEED_SYSTEM);

/** [code, words] of a service's sector. */
export function sectorOf(hs) {
  const code = codesOf(hs.category, SECTOR_SYSTEM)[0] ?? 'other';
  return [code, SECTORS.find(([c]) => c === code)?.[1] ?? hs.category?.[0]?.text ?? 'Other services'];
}

/** Every need code the services use, as [code, words], in words order. */
export function needOptions(services) {
  const codes = [...new Set(services.flatMap(needsOf))];
  return codes.map((c) => [c, needWords(c)]).sort((a, b) => a[1].localeCompare(b[1]));
}

function extensions(res, name) {
  return (res?.extension ?? []).filter((e) => e.url === EXT + name);
}

function sub(ext, name) {
  return (ext.extension ?? []).filter((e) => e.url === name);
}

export function durationWords(d) {
  if (!d) return '';
  const n = d.value;
  const unit = d.code === 'h' ? 'working hour' : d.code === 'd' ? 'working day' : d.code === 'min' ? 'minute' : (d.unit ?? '');
  return `${n} ${unit}${n === 1 || /s$/.test(unit) ? '' : 's'}`;
}

/** [{priority, words}] of a service's response targets, routine first. */
export function responseTargets(hs) {
  const order = PRIORITIES.map(([c]) => c);
  return extensions(hs, 'response-target').map((e) => ({
    priority: sub(e, 'priority')[0]?.valueCode,
    words: durationWords(sub(e, 'target')[0]?.valueDuration),
  })).filter((t) => t.priority).sort((a, b) => order.indexOf(a.priority) - order.indexOf(b.priority));
}

export function targetFor(hs, priority) {
  return responseTargets(hs).find((t) => t.priority === priority)?.words ?? '';
}

/** {name, telecom[]} of the service's duty contact, or null. */
export function dutyContact(hs) {
  const e = extensions(hs, 'duty-contact')[0];
  if (!e) return null;
  return { name: sub(e, 'name')[0]?.valueString ?? 'Duty desk', telecom: sub(e, 'telecom').map((t) => t.valueContactPoint).filter(Boolean) };
}

/** Phone and email as links (tel:, mailto:). */
export function telecomLinks(telecom) {
  const list = (telecom ?? []).filter((t) => t?.value && (t.system === 'phone' || t.system === 'email'));
  if (!list.length) return '';
  return html`<ul class="nhsuk-list kith-contact-list">${list.map((t) => t.system === 'email'
    ? html`<li>Email <a href="mailto:${t.value}">${t.value}</a></li>`
    : html`<li>Phone <a href="tel:${t.value.replace(/[^0-9+]/g, '')}">${t.value}</a></li>`)}</ul>`;
}

export function dutyContactHtml(hs) {
  const d = dutyContact(hs);
  if (!d) return '';
  return html`<p class="nhsuk-body nhsuk-u-margin-bottom-1">${d.name}</p>${telecomLinks(d.telecom)}`;
}

export function ageWords(hs) {
  const r = extensionValue(hs, 'age-range');
  if (!r || !r.low && !r.high) return 'All ages';
  const lo = r.low?.value ?? 0, hi = r.high?.value;
  if (hi !== undefined) return `${lo} to ${hi} years`;
  return lo ? `${lo} and over` : 'All ages';
}

/** The postcode districts a service covers ([] = the whole area). */
export const districtsOf = (hs) => extensions(hs, 'postcode-district').map((e) => e.valueString).filter(Boolean);

export function areaWords(hs) {
  const d = districtsOf(hs);
  return d.length ? `Postcode districts ${d.join(', ')}` : 'The whole area';
}

function dayRun(days) {
  const idx = days.map((d) => DAYS.indexOf(d)).filter((i) => i >= 0).sort((a, b) => a - b);
  if (idx.length === 7) return 'Every day';
  const consecutive = idx.every((v, i) => i === 0 || v === idx[i - 1] + 1);
  if (consecutive && idx.length > 2) return `${DAY_WORDS[DAYS[idx[0]]]} to ${DAY_WORDS[DAYS[idx[idx.length - 1]]]}`;
  return idx.map((i) => DAY_WORDS[DAYS[i]]).join(', ');
}

/** Opening hours in words, one line a group of days. */
export function openingHours(hs) {
  const times = hs.availableTime ?? [];
  if (!times.length) return ['Not recorded'];
  return times.map((t) => {
    const days = t.daysOfWeek?.length ? dayRun(t.daysOfWeek) : 'Every day';
    if (t.allDay) return `${days}, 24 hours`;
    const hm = (v) => (v ?? '').slice(0, 5);
    return `${days}, ${hm(t.availableStartTime)} to ${hm(t.availableEndTime)}`;
  });
}

/** The labelled parts of extraDetails ("**How to refer:** ..."): [{label, text}]. */
export function detailParts(hs) {
  return String(hs.extraDetails ?? '').split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean).map((p) => {
    const m = /^\*\*([^*]+?):?\*\*:?\s*(.*)$/s.exec(p);
    return m ? { label: m[1].replace(/:$/, ''), text: m[2].replace(/\*\*/g, '') } : { label: '', text: p.replace(/\*\*/g, '') };
  });
}

export function whoFor(hs) {
  return hs.eligibility?.map((e) => e.comment).filter(Boolean).join(' ') ||
    detailParts(hs).find((p) => /who it is for/i.test(p.label))?.text || '';
}

/** How to refer, in words: the methods and what the service says. */
export function howToRefer(hs) {
  const methods = (hs.referralMethod ?? []).map((m) => METHODS[m.coding?.[0]?.code] ?? m.text ?? m.coding?.[0]?.display)
    .filter(Boolean);
  const said = detailParts(hs).find((p) => /how to refer/i.test(p.label))?.text ?? '';
  const by = methods.length ? `Takes referrals by ${methods.join(' or ')}.` : '';
  return [said, by].filter(Boolean).join(' ');
}

/** Details a service asks every referral to give: from an extraDetails part
 * labelled "Please include", "Referral must include" or "Referrals need". */
export function askedFields(hs) {
  const part = detailParts(hs).find((p) => /(please include|must include|referrals? needs?|information needed)/i.test(p.label));
  if (!part) return [];
  return part.text.split(/;|\n|,(?![^(]*\))/).map((s) => s.trim().replace(/\.$/, '')).filter(Boolean).slice(0, 10);
}

/** From a $find answer: {eligible, why}. */
export function eligibilityOf(hs) {
  return { eligible: extensionValue(hs, 'eligible') !== false, why: extensionValue(hs, 'eligibility-explanation') ?? '' };
}

/** The postcode district (outward code) of a postcode: "KH3 1AB" -> "KH3". */
export function postcodeDistrict(pc) {
  const s = String(pc ?? '').toUpperCase().replace(/[^A-Z0-9 ]/g, '').trim();
  if (!s) return '';
  if (s.includes(' ')) return s.split(/\s+/)[0];
  return s.length > 4 ? s.slice(0, -3) : s;
}

/** The whole directory, sorted by name (the $find operation, no criteria). */
export async function allServices() {
  return entries(await get('/fhir/HealthcareService/$find'), 'HealthcareService');
}

/** Practitioner name "Dr Anne Baker". */
export function practitionerName(p) {
  const n = (p?.name ?? []).find((x) => x.use === 'official') ?? p?.name?.[0];
  if (!n) return null;
  return n.text || [n.prefix?.[0], ...(n.given ?? []), n.family].filter(Boolean).join(' ');
}

/**
 * Map "Type/id" -> name for references to Practitioners, Organizations and
 * HealthcareServices (one search a type; ids only in the address). Unknown
 * ones are left out.
 */
export async function namesOf(refs) {
  const byType = new Map();
  for (const r of refs) {
    const ref = typeof r === 'string' ? r : r?.reference;
    const m = /^(Practitioner|Organization|HealthcareService)\/([A-Za-z0-9\-.]{1,64})$/.exec(ref ?? '');
    if (!m) continue;
    if (!byType.has(m[1])) byType.set(m[1], new Set());
    byType.get(m[1]).add(m[2]);
  }
  const out = new Map();
  await Promise.all([...byType].map(async ([type, ids]) => {
    const list = [...ids];
    for (let i = 0; i < list.length; i += 50) {
      try {
        const b = await get(`/fhir/${type}`, { _id: list.slice(i, i + 50).join(','), _count: 50 });
        for (const res of entries(b, type)) {
          const name = type === 'Practitioner' ? practitionerName(res) : res.name;
          if (name) out.set(`${type}/${res.id}`, name);
        }
      } catch { /* shown by reference */ }
    }
  }));
  return out;
}

/** The name of a reference: its display, a name looked up, or a plain description. */
export function refName(ref, names) {
  const r = typeof ref === 'string' ? ref : ref?.reference;
  if (!r) return ref?.display ?? '';
  return names?.get(r) ?? ref?.display ?? (r.startsWith('Organization/') ? `Team ${refId(r)}` : r.startsWith('Practitioner/') ? `Staff member ${refId(r)}` : r);
}
