// html.js — HTML built from templates where every interpolated value is
// escaped unless it is itself built by html``. Pages never assign a string
// they did not build this way to innerHTML, so data cannot become markup.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export class SafeHtml {
  constructor(text) { this.text = text; }
  toString() { return this.text; }
}

export function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

function piece(value) {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(piece).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}

/** html`<p>${text}</p>`: a SafeHtml with every value escaped. */
export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += piece(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Put built HTML into an element. */
export function mount(el, safe) {
  if (!(safe instanceof SafeHtml)) throw new TypeError('mount needs html`` output');
  el.innerHTML = safe.text;
}

/** A link inside the app: path like "/person/ID" (each part already an id). */
export function href(...parts) {
  return '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
}
