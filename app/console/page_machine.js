// Machine details: addresses, tags, serials, expiry, every attribute with its source, each
// posture's result with the failing condition, and the custom: attribute editor.
import {enc, get, request} from './api.js';
import {clear, field, h, timeText, valueText} from './dom.js';
import {confirmDialog} from './dialog.js';

function facts(device) {
  const serials = (device.postureIdentity && device.postureIdentity.serialNumbers) || [];
  const item = (label, value) => [h('dt', {text: label}), h('dd', {text: value})];
  return h('dl', {class: 'stats'},
    item('Name', device.name || ''),
    item('User', device.user || ''),
    item('Tags', (device.tags || []).join(', ') || 'none'),
    item('OS', device.os || ''),
    item('Addresses', (device.addresses || []).join(', ')),
    item('Serial numbers', serials.join(', ') || 'none'),
    item('Key expiry', device.keyExpiryDisabled ? 'disabled' : timeText(device.expires)));
}

function postureList(postures) {
  if (!postures.postures.length) return h('p', {text: 'The policy defines no postures.'});
  return h('ul', {class: 'postures'}, postures.postures.map((p) => h('li', {
    class: p.pass ? 'passes' : 'fails', dataset: {posture: p.posture}},
    h('strong', {text: p.posture}), ` ${p.pass ? 'pass' : 'fail'}`,
    p.failed.length ? h('ul', {}, p.failed.map((c) => h('li', {},
      h('code', {text: c.condition}),
      ` (policy line ${c.line}): the device has ${c.attribute} = ${valueText(c.actual)}`))) : null)));
}

// The value as typed, converted to the chosen type; throws with a message when it cannot be.
function typedValue(text, type) {
  if (type === 'boolean') {
    if (text !== 'true' && text !== 'false') throw new Error('a boolean value is true or false');
    return text === 'true';
  }
  if (type === 'number') {
    if (!/^-?\d+$/.test(text.trim())) throw new Error('a number value is a whole number');
    return Number(text);
  }
  return text;
}

function attributeEditor(deviceId, reload, notify) {
  const key = h('input', {type: 'text', name: 'key', required: true, value: 'custom:',
                          pattern: 'custom:[A-Za-z0-9_:]+', autocomplete: 'off'});
  const value = h('input', {type: 'text', name: 'value', required: true, autocomplete: 'off'});
  const type = h('select', {name: 'type'}, ['string', 'number', 'boolean'].map(
    (t) => h('option', {value: t, text: t})));
  const expiry = h('input', {type: 'datetime-local', name: 'expiry'});
  const comment = h('input', {type: 'text', name: 'comment', maxlength: 200});
  const error = h('p', {class: 'error', role: 'alert'});
  const form = h('form', {class: 'card', 'aria-labelledby': 'attr-form-title'},
    h('h3', {id: 'attr-form-title', text: 'Set a custom attribute'}),
    h('div', {class: 'grid'},
      field('Key', key, 'custom: followed by letters, digits, _ or :'), field('Value', value),
      field('Type', type), field('Expires (optional)', expiry), field('Comment (optional)', comment)),
    h('div', {class: 'actions'}, h('button', {type: 'submit', text: 'Save attribute'})),
    error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      const body = {value: typedValue(value.value, type.value)};
      if (expiry.value) body.expiry = new Date(expiry.value).toISOString();
      if (comment.value) body.comment = comment.value;
      await request('POST', `/api/v2/device/${enc(deviceId)}/attributes/${enc(key.value)}`, {json: body});
      notify(`${key.value} saved`);
      reload();
    } catch (e) {
      error.textContent = e.message;
    }
  });
  form.edit = (attribute) => {
    key.value = attribute.key;
    value.value = valueText(attribute.value);
    type.value = typeof attribute.value;
    expiry.value = '';
    value.focus();
  };
  return form;
}

function attributeTable(deviceId, attributes, editor, reload, notify) {
  const remove = async (a) => {
    if (!await confirmDialog(`Remove ${a.key}?`, `The attribute ${a.key} is removed from this ` +
                             'machine; postures that read it are re-evaluated at once.', 'Remove')) {
      return;
    }
    try {
      await request('DELETE', `/api/v2/device/${enc(deviceId)}/attributes/${enc(a.key)}`);
      notify(`${a.key} removed`);
      reload();
    } catch (e) {
      notify(e.message, 'error');
    }
  };
  return h('div', {class: 'table-wrap'}, h('table', {class: 'attributes'},
    h('caption', {class: 'visually-hidden', text: 'Attributes'}),
    h('thead', {}, h('tr', {}, ['Attribute', 'Value', 'Source', 'Last update', 'Expires', ''].map(
      (t) => h('th', {scope: 'col', text: t})))),
    h('tbody', {}, attributes.map((a) => h('tr', {dataset: {attribute: a.key}},
      h('th', {scope: 'row', class: 'mono', text: a.key}),
      h('td', {class: 'mono', dataset: {value: ''}, text: valueText(a.value)}),
      h('td', {text: a.source}),
      h('td', {text: a.updatedAt ? timeText(a.updatedAt) : ''}),
      h('td', {text: a.expiresAt ? timeText(a.expiresAt) : ''}),
      h('td', {}, a.key.startsWith('custom:') ? [
        h('button', {type: 'button', class: 'secondary', text: 'Change',
                     'aria-label': `Change ${a.key}`, onclick: () => editor.edit(a)}),
        h('button', {type: 'button', class: 'danger', text: 'Remove',
                     'aria-label': `Remove ${a.key}`, onclick: () => remove(a)})] : null))))));
}

export async function renderMachine(view, id, notify) {
  const load = async () => {
    const [device, attributes, postures] = await Promise.all([
      get(`/api/v2/device/${enc(id)}?fields=all`),
      get(`/v1/devices/${enc(id)}/attribute-details`),
      get(`/v1/devices/${enc(id)}/postures`)]);
    const d = device.body;
    const reload = () => load().catch((e) => notify(e.message, 'error'));
    const editor = attributeEditor(id, reload, notify);
    clear(view).append(
      h('p', {}, h('a', {href: '#/machines', text: '← All machines'})),
      h('h1', {text: d.hostname || d.name || id}),
      h('section', {class: 'card', 'aria-labelledby': 'details-h'},
        h('h2', {id: 'details-h', text: 'Machine details'}), facts(d)),
      h('section', {class: 'card', 'aria-labelledby': 'postures-h'},
        h('h2', {id: 'postures-h', text: 'Postures'}),
        postures.body.exempt ? h('p', {class: 'hint', text:
          'A shared-in machine: its posture is not checked.'}) : null,
        postureList(postures.body)),
      h('section', {class: 'card', 'aria-labelledby': 'attrs-h'},
        h('h2', {id: 'attrs-h', text: 'Attributes'}),
        attributeTable(id, attributes.body.attributes, editor, reload, notify)),
      editor);
  };
  await load();
}
