// Logs: the configuration audit log, newest first, filtered by time range, actor, target, event.
import {enc, get, tailnet} from './api.js';
import {clear, field, h, timeText, valueText} from './dom.js';

const EVENTS = ['TAILNET.UPDATE.ACL', 'NODE.CREATE.ATTRIBUTES', 'NODE.UPDATE.ATTRIBUTES',
  'NODE.DELETE.ATTRIBUTES', 'NODE.UPDATE.POSTURE_IDENTITY', 'TAILNET.CREATE.POSTURE_INTEGRATION',
  'TAILNET.UPDATE.POSTURE_INTEGRATION', 'TAILNET.DELETE.POSTURE_INTEGRATION'];
const DAY_MS = 24 * 60 * 60 * 1000;

// A Date as the value of an <input type="datetime-local"> (local time, minutes).
function localInput(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

function change(entry) {
  if (entry.old === undefined && entry.new === undefined) return '';
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
    const query = [`start=${enc(new Date(start.value).toISOString())}`,
                   `end=${enc(new Date(end.value).toISOString())}`];
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
      h('td', {class: 'mono', text: change(e)}),
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
