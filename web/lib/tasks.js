// tasks.js — referral Tasks as staff see them on worklists.
import { html, href } from './html.js';
import { table, tag } from './ui.js';
import { showDateTime, refId, TASK_STATUS, codeText } from './fhir.js';
import { personLabel } from './people.js';

export function dueOf(task) { return task?.restriction?.period?.end ?? null; }

export function isOverdue(task, now = Date.now()) {
  const due = dueOf(task);
  const open = !['completed', 'rejected', 'cancelled', 'failed', 'entered-in-error'].includes(task.status);
  return open && due && new Date(due).getTime() < now;
}

/** Overdue first, then soonest due. */
export function byUrgency(tasks) {
  return [...tasks].sort((a, b) => (isOverdue(b) - isOverdue(a)) ||
    String(dueOf(a) ?? '9999').localeCompare(String(dueOf(b) ?? '9999')));
}

export function statusTag(task) {
  if (isOverdue(task)) return tag('Overdue', 'red');
  const s = TASK_STATUS[task.status] ?? task.status;
  const colour = { requested: 'blue', received: 'blue', accepted: 'green', 'in-progress': 'green', 'on-hold': 'yellow',
    completed: 'grey', rejected: 'orange', cancelled: 'grey' }[task.status];
  return tag(s, colour);
}

/** A worklist table of Tasks; people maps Patient id -> Patient. */
export function taskTable(caption, tasks, people, { empty = 'Nothing on this list', id } = {}) {
  return table(caption, ['Person', 'What', 'Status', 'Due'], byUrgency(tasks).map((t) => {
    const pid = refId(t.for);
    return [
      pid ? html`<a href="${href('person', pid)}">${personLabel(people.get(pid), pid)}</a>` : 'No person',
      html`<a href="${href('referral', t.id)}">${t.description || codeText(t.code) || 'Referral'}</a>`,
      statusTag(t),
      isOverdue(t) ? html`<span class="kith-overdue">${showDateTime(dueOf(t))}</span>` : showDateTime(dueOf(t)),
    ];
  }), { empty, id });
}
