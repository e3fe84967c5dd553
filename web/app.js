// app.js — the staff web interface: one page whose parts are drawn from the
// FHIR API with the session cookie. Addresses are #/part/id...: nothing but
// ids ever appears in them (no names, dates of birth or NHS numbers).
import { html, mount, href } from './lib/html.js';
import { request, setCsrfToken, whenSignedOut, ApiError } from './lib/api.js';
import { pageHeading, errorSummary, textInput, button, onSubmit, insetText } from './lib/ui.js';

// The first part of the address names the module in pages/ that draws it.
const PARTS = {
  '': 'home', find: 'find', person: 'person', refer: 'refer', directory: 'directory', referral: 'referral',
  mdt: 'mdt', meeting: 'meeting', discharge: 'discharge', dashboard: 'dashboard', admin: 'admin',
};

const NAV = [
  ['', 'Home'], ['find', 'Find a person'], ['directory', 'Directory'], ['mdt', 'MDT meetings'],
  ['discharge', 'Discharge board'], ['dashboard', 'Dashboards'], ['admin', 'Administration', 'administrator'],
];

const RECENT_KEY = 'kith.recent';
const main = () => document.getElementById('maincontent');
const notice = () => document.getElementById('kith-notice');

export const app = {
  session: null,
  /** Go to an address inside the app, e.g. app.go('person', id). */
  go(...parts) { location.hash = href(...parts); },
  title(text) { document.title = `${text} – Kith`; },
  /** Remember a person opened (ids only, kept in this browser for this user). */
  rememberPerson(id) {
    if (!this.session) return;
    const key = `${RECENT_KEY}.${this.session.username}`;
    const list = [id, ...JSON.parse(localStorage.getItem(key) ?? '[]').filter((x) => x !== id)].slice(0, 10);
    localStorage.setItem(key, JSON.stringify(list));
  },
  recentPeople() {
    if (!this.session) return [];
    try { return JSON.parse(localStorage.getItem(`${RECENT_KEY}.${this.session.username}`) ?? '[]'); } catch { return []; }
  },
  /** Show a green confirmation above the page (after an action). */
  confirm(text) {
    mount(notice(), html`<div class="nhsuk-inset-text kith-confirmation" role="status"><p>${text}</p></div>`);
  },
};

function drawHeader() {
  const account = document.getElementById('kith-account');
  const nav = document.getElementById('kith-nav');
  const s = app.session;
  if (!s) {
    mount(account, html``);
    nav.hidden = true;
    return;
  }
  mount(account, html`<span class="kith-account__who">${s.username} <span class="kith-account__role">(${s.role.replace(/-/g, ' ')})</span></span>
    <button class="kith-link-button" type="button" id="sign-out">Sign out</button>`);
  const here = (location.hash.replace(/^#\/?/, '').split('/')[0]) || '';
  mount(nav, html`<div class="nhsuk-header__navigation-container nhsuk-width-container"><ul class="nhsuk-header__navigation-list">
    ${NAV.filter(([, , role]) => !role || role === s.role).map(([part, text]) => html`<li class="nhsuk-header__navigation-item${part === here ? ' nhsuk-header__navigation-item--current' : ''}">
      <a class="nhsuk-header__navigation-link" href="#/${part}"${part === here ? html` aria-current="page"` : ''}>${text}</a></li>`)}
  </ul></div>`);
  nav.hidden = false;
  document.getElementById('sign-out').addEventListener('click', signOut);
}

async function signOut() {
  try { await request('POST', '/auth/logout', { quiet401: true }); } catch { /* signed out either way */ }
  app.session = null;
  setCsrfToken(null);
  drawHeader();
  showSignIn('signed-out');
}

function showSignIn(reason) {
  app.title('Sign in');
  drawHeader();
  const why = reason === 'expired' ? insetText(html`<p>Your session has ended. Sign in again to carry on where you were.</p>`)
    : reason === 'signed-out' ? insetText(html`<p>You have signed out.</p>`) : '';
  mount(notice(), html``);
  mount(main(), html`<div class="nhsuk-grid-row"><div class="nhsuk-grid-column-two-thirds">
    ${pageHeading('Sign in to Kith')}
    ${why}
    <div id="sign-in-errors"></div>
    <form id="sign-in" novalidate>
      ${textInput({ id: 'username', label: 'Username', autocomplete: 'username', width: 20 })}
      ${textInput({ id: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', width: 20 })}
      ${button('Sign in')}
    </form>
    <p class="nhsuk-body-s">Sign in with the account your organisation gave you. Every record you open is logged.</p>
  </div></div>`);
  const form = document.getElementById('sign-in');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    const errors = [];
    if (!values.username) errors.push({ field: 'username', text: 'Enter your username' });
    if (!values.password) errors.push({ field: 'password', text: 'Enter your password' });
    const box = document.getElementById('sign-in-errors');
    if (errors.length) {
      mount(box, errorSummary(errors));
      box.querySelector('.nhsuk-error-summary').focus();
      return;
    }
    try {
      const r = await request('POST', '/auth/login', { body: values, quiet401: true });
      startSession(r.json);
      route();
    } catch (e) {
      const text = e.status === 401 ? 'The username or password is not right'
        : e.status === 429 ? 'Too many tries. Wait a few minutes and try again' : e.message;
      mount(box, errorSummary([{ field: 'username', text }]));
      box.querySelector('.nhsuk-error-summary').focus();
    }
  });
  document.getElementById('username').focus();
}

function startSession(s) {
  app.session = s;
  setCsrfToken(s.csrfToken);
}

const loaded = new Map();

async function route() {
  if (!app.session) {
    showSignIn();
    return;
  }
  drawHeader();
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const name = PARTS[parts[0] ?? ''];
  mount(notice(), html``);
  // each page draws into a new element: a page still loading when the session
  // ends (or another page is chosen) draws into one no longer shown
  const m = document.createElement('div');
  main().replaceChildren(m);
  if (!name) {
    app.title('Page not found');
    mount(m, html`${pageHeading('Page not found')}<p class="nhsuk-body">There is no page at this address. <a href="#/">Go to your home page</a>.</p>`);
    return;
  }
  let mod = loaded.get(name);
  if (!mod) {
    try {
      mod = await import(`./pages/${name}.js`);
      loaded.set(name, mod);
    } catch (e) {
      app.title('Not available');
      mount(m, html`${pageHeading('This part of Kith is not available')}<p class="nhsuk-body">It could not be loaded: ${e.message}</p>`);
      return;
    }
  }
  mount(m, html`<p class="nhsuk-body kith-loading" role="status">Loading…</p>`);
  try {
    await mod.show(m, parts.slice(1), app);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return; // the sign-in page is showing
    app.title('Something went wrong');
    mount(m, html`${pageHeading('Sorry, this page could not be shown')}${errorSummary(e.message)}`);
  }
  const h1 = m.querySelector('h1');
  if (h1 && document.activeElement !== document.getElementById('username')) h1.focus({ preventScroll: false });
}

whenSignedOut((reason) => {
  app.session = null;
  setCsrfToken(null);
  showSignIn(reason);
});

window.addEventListener('hashchange', route);

// Links to a place in the page (#field in an error summary, the skip link)
// move focus there; only #/... addresses change the page.
document.addEventListener('click', (ev) => {
  const a = ev.target.closest?.('a[href^="#"]');
  const target = a?.getAttribute('href');
  if (!target || target.startsWith('#/') || target === '#') return;
  const el = document.getElementById(decodeURIComponent(target.slice(1)));
  if (!el) return;
  ev.preventDefault();
  el.closest('details')?.setAttribute('open', '');
  if (!el.hasAttribute('tabindex') && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(el.tagName)) el.setAttribute('tabindex', '-1');
  el.focus();
  el.scrollIntoView({ block: 'center' });
});

(async function start() {
  try {
    const r = await request('GET', '/auth/session', { quiet401: true });
    startSession(r.json);
  } catch { app.session = null; }
  route();
})();
