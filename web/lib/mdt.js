// mdt.js — what the MDT pages share: the codes Kith marks MDTs with, who
// leads an MDT, members' names, UK meeting times, the time-box words and the
// minutes (Kith's Markdown) drawn as escaped HTML.
import { html } from './html.js';
import { search, entries } from './api.js';
import { personName, refId, codeText } from './fhir.js';

export const CS = 'https://kith.example.org/fhir/CodeSystem/';
export const SD = 'https://kith.example.org/fhir/StructureDefinition/';
export const MDT_CATEGORY = `${CS}care-team-category|mdt`;
export const CASE_LIST_CODE = `${CS}mdt-list|case-list`;

/** The Kith extension `name` on x (or undefined). */
export function ext(x, name) {
  return (x?.extension ?? []).find((e) => e.url === SD + name);
}

/** 'chair', 'coordinator' or null: how the practitioner leads this MDT. */
export function leadRole(team, practitioner) {
  if (!practitioner) return null;
  for (const p of team?.participant ?? []) {
    if (refId(p.member) !== practitioner || !String(p.member?.reference ?? '').startsWith('Practitioner/')) continue;
    for (const r of p.role ?? []) {
      const c = (r.coding ?? []).find((x) => x.system === `${CS}mdt-role`);
      if (c && (c.code === 'chair' || c.code === 'coordinator')) return c.code;
    }
  }
  return null;
}

/** The MDT's members: [{ref, role, lead, org}] (role words, lead 'chair'/'coordinator'/''). */
export function members(team) {
  return (team?.participant ?? []).filter((p) => p.member?.reference).map((p) => {
    const roles = p.role ?? [];
    const lead = roles.flatMap((r) => r.coding ?? []).find((c) => c.system === `${CS}mdt-role`)?.code ?? '';
    const role = roles.filter((r) => !(r.coding ?? []).some((c) => c.system === `${CS}mdt-role`)).map(codeText)
      .filter(Boolean).join(', ');
    return { ref: p.member.reference, display: p.member.display, role, lead, org: p.onBehalfOf };
  });
}

/** Names of Practitioners and Organizations: Map reference -> name. */
export async function namesOf(refs) {
  const out = new Map();
  const byType = { Practitioner: [], Organization: [] };
  for (const r of new Set(refs.filter(Boolean))) {
    const [type, id] = r.split('/');
    if (byType[type] && id) byType[type].push(id);
  }
  await Promise.all(Object.entries(byType).filter(([, ids]) => ids.length).map(async ([type, ids]) => {
    for (let i = 0; i < ids.length; i += 50) {
      const b = await search(type, { _id: ids.slice(i, i + 50).join(','), _count: 50 }).catch(() => null);
      for (const r of entries(b, type)) {
        out.set(`${type}/${r.id}`, type === 'Practitioner' ? staffName(r) : r.name);
      }
    }
  }));
  return out;
}

/** "Anne Baker": staff names as written (not in capitals like a patient's). */
function staffName(p) {
  const n = (p?.name ?? [])[0];
  if (!n) return personName(p);
  return n.text || [...(n.given ?? []), n.family].filter(Boolean).join(' ') || personName(p);
}

/** A member's name, or the reference's display, or a plain description. */
export function memberName(names, ref, display) {
  return names.get(ref) ?? display ?? (ref?.startsWith('Organization/') ? 'An organisation' : 'A member of staff');
}

/** The offset of UK civil time from UTC, in minutes, at a UTC instant. */
function londonOffset(ms) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute));
  return Math.round((asUtc - Math.floor(ms / 60000) * 60000) / 60000);
}

/** "2026-11-04" + "13:00" in UK time -> "2026-11-04T13:00:00Z" style instant, or null. */
export function ukTimeToInstant(date, time) {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date ?? '');
  const t = /^(\d{1,2}):(\d{2})$/.exec(time ?? '');
  if (!d || !t) return null;
  const naive = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]));
  if (Number.isNaN(naive) || Number(t[1]) > 23 || Number(t[2]) > 59) return null;
  let ms = naive - londonOffset(naive) * 60000;
  ms = naive - londonOffset(ms) * 60000;
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** Today's date in the UK, "2026-11-04". */
export function ukToday(ms = Date.now()) {
  return new Date(ms + londonOffset(ms) * 60000).toISOString().slice(0, 10);
}

/** "3 minutes left", "1 minute left", "2 minutes over" from seconds left (negative: over). */
export function timeboxWords(secondsLeft) {
  if (secondsLeft >= 0) {
    const m = Math.ceil(secondsLeft / 60);
    if (m === 0) return 'Time is up';
    return `${m} ${m === 1 ? 'minute' : 'minutes'} left`;
  }
  const m = Math.floor(-secondsLeft / 60);
  if (m === 0) return 'Less than a minute over';
  return `${m} ${m === 1 ? 'minute' : 'minutes'} over`;
}

/** "4:59" or "-1:05" from seconds left. */
export function timeboxClock(secondsLeft) {
  const s = Math.abs(Math.trunc(secondsLeft));
  return `${secondsLeft < 0 ? '−' : ''}${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The minutes Kith writes as Markdown, drawn as HTML with every line escaped.
 * Headings move down one level (the page has its own h1). */
export function markdownToHtml(text) {
  const out = [];
  let list = null;
  const flush = () => {
    if (list) out.push(html`<ul class="nhsuk-list nhsuk-list--bullet">${list.map((li) => html`<li>${inline(li)}</li>`)}</ul>`);
    list = null;
  };
  for (const raw of String(text ?? '').split('\n')) {
    const line = raw.trimEnd();
    let m;
    if ((m = /^- (.*)$/.exec(line))) {
      (list ??= []).push(m[1]);
      continue;
    }
    flush();
    if (!line.trim()) continue;
    if ((m = /^(#{1,4}) (.*)$/.exec(line))) {
      const level = m[1].length;
      out.push(level === 1 ? html`<h2 class="nhsuk-heading-m">${inline(m[2])}</h2>`
        : level === 2 ? html`<h3 class="nhsuk-heading-s">${inline(m[2])}</h3>`
          : html`<h4 class="nhsuk-heading-xs">${inline(m[2])}</h4>`);
    } else {
      out.push(html`<p class="nhsuk-body">${inline(line)}</p>`);
    }
  }
  flush();
  return html`${out}`;
}

/** **bold** inside a line; everything else as text. */
function inline(text) {
  const parts = String(text).split(/\*\*(.+?)\*\*/);
  return html`${parts.map((p, i) => (i % 2 ? html`<strong>${p}</strong>` : p))}`;
}

/** Tables that scroll sideways (narrow screens) can be reached and scrolled
 * with the keyboard: give each a tab stop named by its caption. */
export function focusableScrolling(root) {
  for (const t of root.querySelectorAll('table.kith-table')) {
    if (t.scrollWidth > t.clientWidth + 1) {
      t.setAttribute('tabindex', '0');
      if (!t.hasAttribute('aria-label')) t.setAttribute('aria-label', `${t.caption?.textContent ?? 'Table'} (scrolls sideways)`);
    } else if (t.getAttribute('tabindex') === '0') {
      t.removeAttribute('tabindex');
    }
  }
}

/** Keep focusableScrolling true for everything drawn into view, until it leaves the page. */
export function watchTables(view) {
  let queued = false;
  const run = () => {
    queued = false;
    if (!view.isConnected) { observer.disconnect(); window.removeEventListener('resize', later); return; }
    focusableScrolling(view);
  };
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(run); } };
  const observer = new MutationObserver(later);
  observer.observe(view, { childList: true, subtree: true });
  window.addEventListener('resize', later);
  later();
}
