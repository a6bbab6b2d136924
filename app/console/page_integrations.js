// Device management -> Posture integrations: connect, watch, sync, edit and disconnect.
import {enc, get, request, tailnet} from './api.js';
import {clear, field, h, timeText} from './dom.js';
import {confirmDialog} from './dialog.js';

// The providers Postern can sync from, with what their form asks for.
const PROVIDERS = [
  {id: 'kandji', name: 'Kandji', urlHint: 'e.g. https://acme.api.kandji.io (or acme.api.kandji.io)'},
];
const REFRESH_MS = 2000;

function stat(label, value, name) {
  const text = Array.isArray(value) ? (value.length ? value.join(', ') : 'none') : value;
  return [h('dt', {text: label}), h('dd', {text, dataset: {stat: name}})];
}

const NO_SYNC_HERE =
  'this server does not run the sync (start it with --sync); a replica or `postern sync` does';

const NO_SYNC_NOW =
  'This server does not run the sync (start it with --sync): Sync now is unavailable.';
const SYNC_NOW_ON_REPLICA = 'This replica does not run the sync: Sync now asks the replica ' +
  'that holds the sync lease (one started with --sync) to run it within a second.';

// `pending` is the server's word for "never synced yet"; whether a sync is coming depends on
// whether this server runs the scheduler (`runsSync`, the API's `sync`).
function stateText(entry, runsSync) {
  if (entry.running) return 'syncing now';
  if (entry.pausedUntil) return `paused until ${timeText(entry.pausedUntil)}`;
  if (entry.state === 'pending') {
    return runsSync ? 'waiting for the first sync' : `waiting for the first sync: ${NO_SYNC_HERE}`;
  }
  return {ok: 'ok', failing: 'error', paused: 'paused', stale: 'stale'}[entry.state] || entry.state;
}

function statusList(entry, runsSync) {
  return h('dl', {class: 'stats'},
    stat('State', stateText(entry, runsSync), 'state'),
    stat('Last successful sync', timeText(entry.lastSync), 'lastSync'),
    stat('Last attempt', timeText(entry.lastAttempt), 'lastAttempt'),
    stat('Next sync', entry.nextRun ? timeText(entry.nextRun) : 'not planned', 'nextRun'),
    stat('Last error', entry.lastError || 'none', 'lastError'),
    stat('Provider devices', entry.providerHostCount, 'providerHostCount'),
    stat('Matched', entry.matchedCount, 'matchedCount'),
    stat('Possible matches', entry.possibleMatchedCount, 'possibleMatchedCount'),
    stat('Devices without a serial', entry.recordsWithoutSerial, 'recordsWithoutSerial'),
    stat('Ambiguous serials', entry.ambiguousSerials, 'ambiguousSerials'),
    stat('API URL', entry.url, 'url'),
    stat('API token', entry.token === 'set' ? 'set' : 'missing', 'token'));
}

// The Connect / Edit form. `existing` is the integration when editing.
function integrationForm(provider, existing, onDone, notify, runsSync) {
  const url = h('input', {type: 'text', name: 'url', required: true, autocomplete: 'off',
                          value: existing ? existing.url : ''});
  const token = h('input', {type: 'password', name: 'token', autocomplete: 'off',
                            required: !existing});
  const error = h('p', {class: 'error', role: 'alert'});
  const form = h('form', {class: 'card', 'aria-label': `${provider.name} settings`},
    h('h3', {text: existing ? `Edit ${provider.name}` : `Connect ${provider.name}`}),
    field('API URL', url, provider.urlHint),
    field(existing ? 'New API token (leave empty to keep the current one; a new URL needs it)'
                   : 'API token', token,
          'The token is stored on the server and never shown again.'),
    h('div', {class: 'actions'},
      h('button', {type: 'submit', text: existing ? 'Save' : 'Connect'}),
      h('button', {type: 'button', class: 'secondary', text: 'Cancel', onclick: () => onDone(false)})),
    error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      if (existing) {
        const change = {cloudId: url.value};
        if (token.value) change.clientSecret = token.value;
        await request('PATCH', `/api/v2/posture/integrations/${enc(existing.apiId)}`, {json: change});
        notify(`${provider.name} updated`);
      } else {
        await request('POST', tailnet('posture/integrations'),
                      {json: {provider: provider.id, cloudId: url.value, clientSecret: token.value}});
        notify(runsSync ? `${provider.name} connected; the first sync has started`
                        : `${provider.name} connected; ${NO_SYNC_HERE}`);
      }
      token.value = '';
      onDone(true);
    } catch (e) {
      error.textContent = e.message;
    }
  });
  return form;
}

function integrationCard(provider, entry, refresh, notify, runsSync, canSyncNow) {
  const slot = h('div');
  const card = h('section', {class: 'card integration', 'aria-labelledby': `h-${provider.id}`,
                             dataset: {provider: provider.id}},
    h('h2', {id: `h-${provider.id}`, text: provider.name}));
  if (!entry) {
    const connect = h('button', {type: 'button', text: 'Connect', onclick: () => {
      connect.hidden = true;
      clear(slot).append(integrationForm(provider, null, (changed) => {
        clear(slot);
        connect.hidden = false;
        if (changed) refresh();
      }, notify, runsSync));
      slot.querySelector('input').focus();
    }});
    card.append(h('p', {text: 'Not connected.'}), connect, slot);
    return card;
  }
  const syncNow = async () => {
    try {
      const {body} = await request('POST', `/v1/integrations/${enc(provider.id)}/sync`);
      // A run that ended moments ago spaces the next one out (the provider's request budget);
      // during a run the next one follows it (startsAt null: its end is not known yet).
      const startsAt = body ? body.startsAt : undefined;
      const later = typeof startsAt === 'string' && Date.parse(startsAt) > Date.now() + 1000;
      if (startsAt === null) {
        notify(`${provider.name} is syncing now; another sync follows it`);
      } else if (later) {
        notify(`${provider.name} synced moments ago: the next sync starts at ${timeText(startsAt)}`);
      } else {
        notify(`${provider.name} sync requested`);
      }
      refresh();
    } catch (e) {
      notify(e.message, 'error');
    }
  };
  const edit = () => {
    clear(slot).append(integrationForm(provider, entry, (changed) => {
      clear(slot);
      if (changed) refresh();
    }, notify, runsSync));
    slot.querySelector('input').focus();
  };
  const disconnect = async () => {
    const ok = await confirmDialog(`Disconnect ${provider.name}?`,
      `This removes the ${provider.name} integration, its stored API token, and every ` +
      `${provider.id}:* attribute it wrote on ${entry.matchedCount} matched device(s). ` +
      'Postures that need those attributes will fail for those devices.', 'Disconnect');
    if (!ok) return;
    try {
      await request('DELETE', `/api/v2/posture/integrations/${enc(entry.apiId)}`);
      notify(`${provider.name} disconnected`);
      refresh();
    } catch (e) {
      notify(e.message, 'error');
    }
  };
  if (entry.stale) {
    card.append(h('p', {class: 'error', role: 'alert',
                        text: 'No successful sync for over 24 h: its attributes may be stale.'}));
  }
  card.append(statusList(entry, runsSync),
    h('div', {class: 'actions'},
      h('button', {type: 'button', text: 'Sync now', onclick: syncNow, disabled: !canSyncNow,
                   title: canSyncNow ? undefined : NO_SYNC_NOW}),
      h('button', {type: 'button', class: 'secondary', text: 'Edit', onclick: edit}),
      h('button', {type: 'button', class: 'danger', text: 'Disconnect', onclick: disconnect})),
    slot);
  return card;
}

export async function renderIntegrations(view, _arg, notify) {
  const list = h('div', {class: 'integrations'});
  view.append(h('h1', {text: 'Device management'}),
              h('h2', {class: 'sub', text: 'Device posture integrations'}), list);
  let editing = false;
  const refresh = async () => {
    const {body} = await get('/v1/integrations');
    if (editing) return;
    const byProvider = new Map(body.integrations.map((i) => [i.provider, i]));
    const card = (p) =>
      integrationCard(p, byProvider.get(p.id), refresh, notify, body.sync, body.syncNow);
    clear(list).append(...PROVIDERS.map(card));
    if (!body.sync) {
      list.append(h('p', {class: 'hint', text: body.syncNow ? SYNC_NOW_ON_REPLICA : NO_SYNC_NOW}));
    }
  };
  // Keep the status current while the page is shown; pause while a form is open.
  view.addEventListener('focusin', (e) => { editing = Boolean(e.target.closest('form')); });
  view.addEventListener('focusout', () => { editing = false; });
  await refresh();
  const timer = setInterval(() => {
    if (!view.isConnected) { clearInterval(timer); return; }
    if (!list.querySelector('form')) refresh().catch(() => {});
  }, REFRESH_MS);
}
