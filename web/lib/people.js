// people.js — names for the people that Tasks and lists point at, fetched in
// one search (POST, so no personal data in the address).
import { search, entries } from './api.js';
import { personName, nhsNumber, formatNhsNumber, refId } from './fhir.js';

/** Map of Patient id -> Patient for the given references or ids. */
export async function patientsById(refs) {
  const ids = [...new Set(refs.map((r) => refId(r)).filter(Boolean))];
  const out = new Map();
  for (let i = 0; i < ids.length; i += 50) {
    const bundle = await search('Patient', { _id: ids.slice(i, i + 50).join(','), _count: 50 });
    for (const p of entries(bundle, 'Patient')) out.set(p.id, p);
  }
  return out;
}

/** "Joan SMITH (943 476 5919)" or the id when the person cannot be shown. */
export function personLabel(p, id) {
  if (!p) return `Person ${id}`;
  const n = nhsNumber(p);
  return n ? `${personName(p)} (${formatNhsNumber(n)})` : personName(p);
}
