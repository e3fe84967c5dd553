// ui.js — NHS.UK design system pieces the pages share.
import { html } from './html.js';

export function pageHeading(text, caption) {
  return html`${caption ? html`<span class="nhsuk-caption-l">${caption}</span>` : ''}<h1 class="nhsuk-heading-l" tabindex="-1">${text}</h1>`;
}

/** An error summary (role alert) listing what went wrong. */
export function errorSummary(messages, title = 'There is a problem') {
  const list = (Array.isArray(messages) ? messages : [messages]).filter(Boolean);
  if (!list.length) return html``;
  return html`<div class="nhsuk-error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1">
    <h2 class="nhsuk-error-summary__title" id="error-summary-title">${title}</h2>
    <div class="nhsuk-error-summary__body"><ul class="nhsuk-list nhsuk-error-summary__list">
      ${list.map((m) => typeof m === 'string' ? html`<li>${m}</li>` : html`<li><a href="#${m.field}">${m.text}</a></li>`)}
    </ul></div></div>`;
}

/** Show an error in the page's notice area and move focus to it. */
export function showError(err) {
  const notice = document.getElementById('kith-notice');
  if (!notice) return;
  notice.innerHTML = errorSummary(err?.message ?? String(err)).text;
  notice.querySelector('.nhsuk-error-summary')?.focus();
}

export function summaryList(rows) {
  return html`<dl class="nhsuk-summary-list">${rows.filter(Boolean).map(([k, v]) => html`
    <div class="nhsuk-summary-list__row"><dt class="nhsuk-summary-list__key">${k}</dt>
    <dd class="nhsuk-summary-list__value">${v === '' || v === undefined || v === null ? 'Not recorded' : v}</dd></div>`)}</dl>`;
}

/** A table with a caption; rows are arrays of cells (text or html``). */
export function table(caption, head, rows, { empty = 'None', id } = {}) {
  if (!rows.length) return html`<p class="nhsuk-body"${id ? html` id="${id}"` : ''}>${empty}</p>`;
  return html`<table class="nhsuk-table kith-table"${id ? html` id="${id}"` : ''}>
    <caption class="nhsuk-table__caption">${caption}</caption>
    <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">${head.map((h) => html`<th scope="col" class="nhsuk-table__header">${h}</th>`)}</tr></thead>
    <tbody class="nhsuk-table__body">${rows.map((r) => html`<tr class="nhsuk-table__row">${r.map((c) => html`<td class="nhsuk-table__cell">${c}</td>`)}</tr>`)}</tbody>
  </table>`;
}

export function tag(text, colour) {
  return html`<strong class="nhsuk-tag${colour ? ' nhsuk-tag--' + colour : ''}">${text}</strong>`;
}

export function insetText(content) {
  return html`<div class="nhsuk-inset-text"><span class="nhsuk-u-visually-hidden">Information: </span>${content}</div>`;
}

export function warningCallout(title, content) {
  return html`<div class="nhsuk-warning-callout"><h3 class="nhsuk-warning-callout__label"><span role="text"><span class="nhsuk-u-visually-hidden">Important: </span>${title}</span></h3>${content}</div>`;
}

export function backLink(to, text = 'Back') {
  return html`<div class="nhsuk-back-link"><a class="nhsuk-back-link__link" href="${to}">${text}</a></div>`;
}

/** A text input with its label (and hint). */
export function textInput({ id, name = id, label, hint, value = '', type = 'text', autocomplete, width, inputmode, required }) {
  return html`<div class="nhsuk-form-group">
    <label class="nhsuk-label" for="${id}">${label}</label>
    ${hint ? html`<div class="nhsuk-hint" id="${id}-hint">${hint}</div>` : ''}
    <input class="nhsuk-input${width ? ' nhsuk-input--width-' + width : ''}" id="${id}" name="${name}" type="${type}" value="${value}"${hint ? html` aria-describedby="${id}-hint"` : ''}${autocomplete ? html` autocomplete="${autocomplete}"` : ''}${inputmode ? html` inputmode="${inputmode}"` : ''}${required ? html` required` : ''}>
  </div>`;
}

export function textarea({ id, name = id, label, hint, value = '', rows = 4 }) {
  return html`<div class="nhsuk-form-group">
    <label class="nhsuk-label" for="${id}">${label}</label>
    ${hint ? html`<div class="nhsuk-hint" id="${id}-hint">${hint}</div>` : ''}
    <textarea class="nhsuk-textarea" id="${id}" name="${name}" rows="${rows}"${hint ? html` aria-describedby="${id}-hint"` : ''}>${value}</textarea>
  </div>`;
}

/** A select; options are [value, text] pairs. */
export function select({ id, name = id, label, options, value, hint }) {
  return html`<div class="nhsuk-form-group">
    <label class="nhsuk-label" for="${id}">${label}</label>
    ${hint ? html`<div class="nhsuk-hint" id="${id}-hint">${hint}</div>` : ''}
    <select class="nhsuk-select" id="${id}" name="${name}"${hint ? html` aria-describedby="${id}-hint"` : ''}>
      ${options.map(([v, t]) => html`<option value="${v}"${v === value ? html` selected` : ''}>${t}</option>`)}
    </select></div>`;
}

export function button(text, { id, secondary, warning, type = 'submit', name, value } = {}) {
  const cls = 'nhsuk-button' + (secondary ? ' nhsuk-button--secondary' : '') + (warning ? ' nhsuk-button--warning' : '');
  return html`<button class="${cls}" type="${type}"${id ? html` id="${id}"` : ''}${name ? html` name="${name}" value="${value ?? ''}"` : ''} data-module="nhsuk-button">${text}</button>`;
}

/** Read a form's fields into an object. */
export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

/** Wire a form: fn(values, form) runs on submit; errors show above it. */
export function onSubmit(form, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = form.querySelector('button[type=submit]');
    if (btn) btn.disabled = true;
    try {
      await fn(formValues(form), form, ev.submitter);
    } catch (e) {
      showError(e);
    } finally {
      if (btn) btn.disabled = false;
    }
  });
}
