// home.js — my worklist and my team's (overdue first), messages for me, and
// the people I opened recently.
import { html, mount, href } from '../lib/html.js';
import { get, post, search, entries, parameters } from '../lib/api.js';
import { pageHeading, table, showError } from '../lib/ui.js';
import { showDateTime, refId } from '../lib/fhir.js';
import { patientsById, personLabel } from '../lib/people.js';
import { taskTable } from '../lib/tasks.js';

export async function show(main, _params, app) {
  app.title('Home');
  const s = app.session;
  const worklist = (list) => get('/fhir/Task/$worklist', { list, _count: 50 }).then((b) => entries(b, 'Task'))
    .catch(() => null);
  const [mine, team, messages] = await Promise.all([
    s.practitioner ? worklist('mine') : Promise.resolve([]),
    s.organization ? worklist('team') : Promise.resolve([]),
    recipients(s).length ? search('Communication', { recipient: recipients(s).join(','), _sort: '-sent', _count: 20 })
      .then((b) => entries(b, 'Communication')).catch(() => []) : Promise.resolve([]),
  ]);
  const recent = app.recentPeople();
  const people = await patientsById([...(mine ?? []), ...(team ?? [])].map((t) => t.for)
    .concat(recent).concat(messages.map((m) => m.subject))).catch(() => new Map());
  const unread = messages.filter((m) => !readBy(m, s));
  mount(main, html`
    ${pageHeading(`Hello, ${s.username}`, 'Your work today')}
    <div class="nhsuk-grid-row"><div class="nhsuk-grid-column-full">
    <h2 class="nhsuk-heading-m" id="my-worklist">My worklist</h2>
    ${mine === null ? html`<p class="nhsuk-body">Your worklist could not be loaded.</p>`
      : taskTable('Referrals and tasks that you own', mine, people, { empty: 'Nothing is waiting for you.', id: 'mine' })}
    <h2 class="nhsuk-heading-m" id="team-worklist">My team's worklist</h2>
    ${team === null ? html`<p class="nhsuk-body">Your team's worklist could not be loaded.</p>`
      : taskTable("Open work owned by your team", team, people, { empty: 'Your team has no open work.', id: 'team' })}
    <h2 class="nhsuk-heading-m">Notifications</h2>
    ${table('Unread messages for you and your team', ['From', 'About', 'Message', 'Sent', 'Action'], unread.map((m) => [
      m.sender?.display ?? refId(m.sender) ?? 'Kith',
      refId(m.subject) ? html`<a href="${href('person', refId(m.subject))}">${personLabel(people.get(refId(m.subject)), refId(m.subject))}</a>` : '',
      m.payload?.[0]?.contentString ?? '',
      showDateTime(m.sent),
      html`<button class="nhsuk-button nhsuk-button--secondary nhsuk-button--small kith-mark-read" type="button" data-id="${m.id}">Mark as read<span class="nhsuk-u-visually-hidden"> (message sent ${showDateTime(m.sent)})</span></button>`,
    ]), { empty: 'No unread messages.', id: 'messages' })}
    <h2 class="nhsuk-heading-m">People you looked at recently</h2>
    ${recent.length ? html`<ul class="nhsuk-list nhsuk-list--bullet" id="recent">${recent.map((id) => html`<li><a href="${href('person', id)}">${personLabel(people.get(id), id)}</a></li>`)}</ul>`
      : html`<p class="nhsuk-body" id="recent">None yet. <a href="#/find">Find a person</a>.</p>`}
    </div></div>`);
  for (const b of main.querySelectorAll('.kith-mark-read')) {
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await post(`/fhir/Communication/${encodeURIComponent(b.dataset.id)}/$mark-read`, parameters([]));
        const row = b.closest('tr');
        const body = row.parentElement;
        row.remove();
        app.confirm('Marked as read.');
        if (!body.children.length) {
          const none = document.createElement('p');
          none.className = 'nhsuk-body';
          none.id = 'messages';
          none.textContent = 'No unread messages.';
          main.querySelector('#messages').replaceWith(none);
        }
      } catch (e) {
        b.disabled = false;
        showError(e);
      }
    });
  }
}

/** Messages go to a member of staff (their Practitioner) or to their team (their Organization). */
function recipients(s) {
  return [s.practitioner && `Practitioner/${s.practitioner}`, s.organization && `Organization/${s.organization}`].filter(Boolean);
}

/** Has this user already read the message (a read receipt by them)? */
function readBy(m, s) {
  return (m.extension ?? []).some((e) => e.url.endsWith('/read-receipt') && (e.extension ?? []).some((x) =>
    x.url === 'reader' && (x.valueReference?.display === `user/${s.username}` ||
      (s.practitioner && refId(x.valueReference) === s.practitioner))));
}
