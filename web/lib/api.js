// api.js — the web interface talks to Kith's FHIR API with the session
// cookie; a change carries the session's anti-forgery token. Errors come
// back as ApiError with the OperationOutcome's words.

let csrfToken = null;
let onSignedOut = () => {};

export function setCsrfToken(token) { csrfToken = token; }
export function whenSignedOut(fn) { onSignedOut = fn; }

export class ApiError extends Error {
  constructor(status, message, outcome) {
    super(message);
    this.status = status;
    this.outcome = outcome;
  }
}

function outcomeText(json, status) {
  if (json && json.resourceType === 'OperationOutcome' && Array.isArray(json.issue)) {
    const words = json.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal')
      .map((i) => i.diagnostics || i.details?.text).filter(Boolean);
    if (words.length) return words.join('; ');
  }
  if (json && typeof json.error === 'string') return json.error_description || json.error;
  return `Kith answered ${status}`;
}

export async function request(method, path, { body, form, headers = {}, quiet401 = false } = {}) {
  const h = { Accept: 'application/fhir+json, application/json', ...headers };
  let payload;
  if (form) {
    payload = new URLSearchParams(form).toString();
    h['Content-Type'] = 'application/x-www-form-urlencoded';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['Content-Type'] = path.startsWith('/auth/') ? 'application/json' : 'application/fhir+json';
  }
  if (method !== 'GET' && csrfToken) h['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'Kith cannot be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  if (res.status === 401 && !quiet401) {
    onSignedOut('expired');
    throw new ApiError(401, 'Your session has ended. Sign in again to carry on.', json);
  }
  if (!res.ok) throw new ApiError(res.status, outcomeText(json, res.status), json);
  return { status: res.status, json, headers: res.headers };
}

function withQuery(path, params) {
  if (!params) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export async function get(path, params) { return (await request('GET', withQuery(path, params))).json; }
export async function post(path, body, opts = {}) { return (await request('POST', path, { body, ...opts })).json; }
export async function put(path, body, opts = {}) { return (await request('PUT', path, { body, ...opts })).json; }

/** A FHIR search whose parameters go in the body (POST _search), so that
 * names, dates of birth and NHS numbers never appear in a URL or a log. */
export async function search(type, params) {
  const form = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') form[k] = v;
  return (await request('POST', `/fhir/${type}/_search`, { form })).json;
}

/** The resources of a search and of its next pages (at most `pages` pages). */
export async function allPages(path, params, pages = 20) {
  let bundle = await get(path, params);
  const out = entries(bundle);
  for (let i = 1; i < pages; i++) {
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next) break;
    const u = new URL(next, location.href);
    bundle = (await request('GET', u.pathname + u.search)).json;
    out.push(...entries(bundle));
  }
  return out;
}

/** The resources of a Bundle, optionally only those of one type. */
export function entries(bundle, type) {
  return (bundle?.entry ?? []).map((e) => e.resource).filter((r) => r && (!type || r.resourceType === type));
}

/** A Parameters resource from a plain object of {name: [kind, value]}. */
export function parameters(list) {
  return { resourceType: 'Parameters', parameter: list.filter(Boolean) };
}
