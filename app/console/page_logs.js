// Logs: the configuration audit log, newest first, filtered by time range, actor, target, event.
import {enc, get, tailnet} from './api.js';
import {clear, field, h, timeText, valueText} from './dom.js';
import {showDiff} from './diff.js';

const EVENTS = ['TAILNET.UPDATE.ACL', 'NODE.CREATE.ATTRIBUTES', 'NODE.UPDATE.ATTRIBUTES',
  'NODE.DELETE.ATTRIBUTES', 'NODE.UPDATE.POSTURE_IDENTITY', 'TAILNET.CREATE.POSTURE_INTEGRATION',
  'TAILNET.UPDATE.POSTURE_INTEGRATION', 'TAILNET.DELETE.POSTURE_INTEGRATION'];
const DAY_MS = 24 * 60 * 60 * 1000;

// A Date as the value of an <input type="datetime-local"> (local time, minutes).
function localInput(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

// A datetime-local input's time as RFC 3339, or null when it is empty or incomplete.
function timeOf(input) {
  const date = new Date(input.value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

// A value too long for a table cell: a whole policy file, for one.
const isLong = (v) => typeof v === 'string' && (v.includes('\n') || v.length > 120);
const lineCount = (v) => (v === undefined ? 0 : v.split('\n').length);

// A long change as its size, with the line diff behind an expander (built when first opened).
function longChange(entry) {
  const before = typeof entry.old === 'string' ? entry.old : '';
  const after = typeof entry.new === 'string' ? entry.new : '';
  const summary = `${lineCount(entry.old)} → ${lineCount(entry.new)} lines`;
  const pre = h('pre', {class: 'diff', tabindex: '0', 'aria-label': 'Differences'});
  const details = h('details', {class: 'change'},
    h('summary', {text: `${summary} · show the differences`}), pre);
  details.addEventListener('toggle', () => {
    if (details.open && !pre.firstChild) showDiff(pre, before, after, 0);  // changes only
  });
  return details;
}

// The "Old → new" cell's content.
function change(entry) {
  if (entry.old === undefined && entry.new === undefined) return '';
  if (isLong(entry.old) || isLong(entry.new)) return longChange(entry);
  const text = (v) => (v === undefined ? '(none)' : valueText(v));
  return `${text(entry.old)} → ${text(entry.new)}`;
}

function eventName(entry) {
  const t = entry.target || {};
  return [t.type, entry.action, t.property].filter(Boolean).join('.');
}

export async function renderLogs(view) {
  const now = new Date();
  const start = h('input', {type: 'datetime-local', name: 'start',
                            value: localInput(new Date(now.getTime() - 30 * DAY_MS))});
  const end = h('input', {type: 'datetime-local', name: 'end',
                          value: localInput(new Date(now.getTime() + DAY_MS))});
  const actor = h('input', {type: 'text', name: 'actor', placeholder: 'exact id, or ~text'});
  const target = h('input', {type: 'text', name: 'target', placeholder: 'part of a target'});
  const event = h('select', {name: 'event'}, h('option', {value: '', text: 'any event'}),
    EVENTS.map((e) => h('option', {value: e, text: e})));
  const status = h('p', {role: 'status', 'aria-live': 'polite'});
  const body = h('tbody');

  const load = async () => {
    const from = timeOf(start);
    const to = timeOf(end);
    if (!from || !to) {
      status.textContent = from ? 'Enter an end time (To).' : 'Enter a start time (From).';
      (from ? end : start).focus();
      return;
    }
    const query = [`start=${enc(from)}`, `end=${enc(to)}`];
    if (actor.value) query.push(`actor=${enc(actor.value)}`);
    if (target.value) query.push(`target=${enc(target.value)}`);
    if (event.value) query.push(`event=${enc(event.value)}`);
    const {body: answer} = await get(tailnet(`logging/configuration?${query.join('&')}`));
    const logs = [...answer.logs].reverse();  // the API gives them oldest first
    status.textContent = `${logs.length} event(s)`;
    clear(body).append(...logs.map((e) => h('tr', {},
      h('td', {text: timeText(e.eventTime)}),
      h('td', {text: e.actor.loginName || e.actor.displayName || e.actor.id}),
      h('td', {class: 'mono', text: eventName(e)}),
      h('td', {text: (e.target && (e.target.name || e.target.id)) || ''}),
      h('td', {class: 'mono change'}, change(e)),
      h('td', {text: [e.actionDetails, e.error].filter(Boolean).join(' · ')}),
      h('td', {text: e.origin}))));
  };

  const form = h('form', {class: 'filters', role: 'search'},
    field('From', start), field('To', end), field('Actor', actor), field('Target', target),
    field('Event', event), h('div', {class: 'actions'}, h('button', {type: 'submit', text: 'Show'})));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load().catch((err) => { status.textContent = err.message; });
  });
  view.append(h('h1', {text: 'Configuration audit log'}), form, status,
    h('div', {class: 'table-wrap'}, h('table', {class: 'logs'},
      h('caption', {class: 'visually-hidden', text: 'Audit log, newest first'}),
      h('thead', {}, h('tr', {}, ['Time', 'Actor', 'Event', 'Target', 'Old → new', 'Details',
        'Origin'].map((t) => h('th', {scope: 'col', text: t})))),
      body)));
  await load();
}
