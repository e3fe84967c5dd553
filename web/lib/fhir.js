// fhir.js — how the web interface shows FHIR data to staff.

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

/** "Mrs Joan SMITH" style: family name in capitals, as NHS systems show it. */
export function personName(p) {
  const n = (p?.name ?? []).find((x) => x.use === 'official') ?? p?.name?.[0];
  if (!n) return 'Name not recorded';
  const given = (n.given ?? []).join(' ');
  const family = (n.family ?? '').toUpperCase();
  return [n.prefix?.[0], given, family].filter(Boolean).join(' ') || n.text || 'Name not recorded';
}

/** The NHS number of a Patient, or null. */
export function nhsNumber(p) {
  return (p?.identifier ?? []).find((i) => i.system === NHS_NUMBER_SYSTEM)?.value ?? null;
}

/** 3-3-4 spacing: 943 476 5919. */
export function formatNhsNumber(v) {
  const d = String(v ?? '').replace(/\s+/g, '');
  return /^\d{10}$/.test(d) ? `${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}` : String(v ?? '');
}

/** Does a 10-digit string pass the NHS number check digit (modulus 11)? */
export function nhsNumberValid(v) {
  const d = String(v ?? '').replace(/\s+/g, '');
  if (!/^\d{10}$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(d[i]) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 10) return false;
  return (check === 11 ? 0 : check) === Number(d[9]);
}

export function ageOn(birthDate, today = new Date()) {
  if (!birthDate) return null;
  const [y, m, d] = birthDate.split('-').map(Number);
  let age = today.getUTCFullYear() - y;
  const mm = today.getUTCMonth() + 1, dd = today.getUTCDate();
  if (m && (mm < m || (mm === m && d && dd < d))) age--;
  return age;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "3 Mar 1941" from a FHIR date or dateTime (the date as written). */
export function showDate(v) {
  if (!v) return '';
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(v);
  if (!m) return v;
  if (!m[2]) return m[1];
  if (!m[3]) return `${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
  return `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
}

/** "3 Mar 2026, 14:05" in UK time. */
export function showDateTime(v) {
  if (!v) return '';
  if (!/T/.test(v)) return showDate(v);
  const t = new Date(v);
  if (Number.isNaN(t.getTime())) return v;
  return t.toLocaleString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit',
    minute: '2-digit', timeZone: 'Europe/London' });
}

/** The words of a CodeableConcept. */
export function codeText(cc) {
  if (!cc) return '';
  if (Array.isArray(cc)) return cc.map(codeText).filter(Boolean).join(', ');
  return cc.text || cc.coding?.find((c) => c.display)?.display || cc.coding?.[0]?.code || '';
}

/** The id part of a reference "Type/id". */
export function refId(ref) {
  const r = typeof ref === 'string' ? ref : ref?.reference;
  return r ? r.slice(r.lastIndexOf('/') + 1) : null;
}

export function extensionValue(res, url) {
  const e = (res?.extension ?? []).find((x) => x.url === url || x.url.endsWith('/' + url));
  if (!e) return undefined;
  const k = Object.keys(e).find((x) => x.startsWith('value'));
  return k ? e[k] : e;
}

/** Phone and email of a list of ContactPoints, as words. */
export function contactText(telecom) {
  return (telecom ?? []).filter((t) => t.value).map((t) => `${t.system === 'email' ? 'Email' : 'Phone'} ${t.value}`)
    .join(', ');
}

/** Task status as staff say it. */
export const TASK_STATUS = {
  draft: 'Draft', requested: 'Waiting to be accepted', received: 'Received', accepted: 'Accepted',
  'in-progress': 'In progress', 'on-hold': 'On hold', completed: 'Completed', rejected: 'Declined',
  cancelled: 'Cancelled', failed: 'Could not be done', 'entered-in-error': 'Entered in error',
};
