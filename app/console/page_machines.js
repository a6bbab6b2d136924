// Machines: every device with its posture results; search and filters over the whole list in
// memory (one fetch), one page of rows in the DOM, so typing stays fast at 10,000 devices.
import {get, tailnet} from './api.js';
import {clear, field, h} from './dom.js';

const PAGE_SIZE = 50;

const deviceKey = (d) => d.nodeId || d.id;

function prepare(devices, table) {
  const rows = new Map(table.devices.map((r) => [r.id, r]));
  return devices.map((d) => {
    const row = rows.get(deviceKey(d)) || {passing: [], attributes: []};
    const passing = new Set(row.passing);
    const tags = d.tags || [];
    const addresses = d.addresses || [];
    return {
      device: d,
      key: deviceKey(d),
      owner: tags.length ? tags.join(', ') : (d.user || ''),
      passing,
      attributes: new Set(row.attributes),
      search: [d.name, d.hostname, d.user, d.os, ...tags, ...addresses].join(' ').toLowerCase(),
    };
  });
}

function options(values, anyLabel) {
  return [h('option', {value: '', text: anyLabel}),
          ...[...values].sort().map((v) => h('option', {value: v, text: v}))];
}

function postureCell(item, postures) {
  if (!postures.length) return h('td', {text: 'no postures'});
  const passed = postures.filter((_, i) => item.passing.has(i));
  const failed = postures.length - passed.length;
  return h('td', {class: failed ? 'fails' : 'passes'},
    passed.length ? passed.join(', ') : 'none',
    failed ? h('span', {class: 'hint', text: ` (${failed} failing)`}) : null);
}

function row(item, postures) {
  const d = item.device;
  return h('tr', {dataset: {device: item.key}},
    h('td', {}, h('a', {href: `#/machines/${encodeURIComponent(item.key)}`, text: d.hostname || d.name})),
    h('td', {text: item.owner}),
    h('td', {text: d.os || ''}),
    h('td', {class: 'mono', text: (d.addresses || []).join(' ')}),
    postureCell(item, postures));
}

export async function renderMachines(view) {
  const [devicesResponse, tableResponse] = await Promise.all([
    get(tailnet('devices')), get('/v1/postures')]);
  const postures = tableResponse.body.postures;
  const items = prepare(devicesResponse.body.devices, tableResponse.body);

  const users = new Set(items.map((i) => i.device.user).filter(Boolean));
  const tags = new Set(items.flatMap((i) => i.device.tags || []));
  const oses = new Set(items.map((i) => i.device.os).filter(Boolean));
  const attributes = new Set(items.flatMap((i) => [...i.attributes]));

  const search = h('input', {type: 'search', name: 'search', placeholder: 'name, address, user, tag'});
  const user = h('select', {name: 'user'}, options(users, 'any user'));
  const tag = h('select', {name: 'tag'}, options(tags, 'any tag'));
  const os = h('select', {name: 'os'}, options(oses, 'any OS'));
  const attribute = h('select', {name: 'attribute'}, options(attributes, 'any attributes'));
  const failing = h('select', {name: 'failing'}, options(postures, 'any posture result'));
  const status = h('p', {class: 'count', role: 'status', 'aria-live': 'polite'});
  const body = h('tbody');
  const prev = h('button', {type: 'button', class: 'secondary', text: 'Previous page'});
  const next = h('button', {type: 'button', class: 'secondary', text: 'Next page'});

  let matches = items;
  let page = 0;

  const render = () => {
    const pages = Math.max(1, Math.ceil(matches.length / PAGE_SIZE));
    page = Math.min(page, pages - 1);
    const shown = matches.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    clear(body).append(...shown.map((i) => row(i, postures)));
    status.textContent = `${matches.length} of ${items.length} machines · page ${page + 1} of ${pages}`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  };

  const filter = () => {
    const text = search.value.trim().toLowerCase();
    const failingIndex = failing.value ? postures.indexOf(failing.value) : -1;
    matches = items.filter((i) =>
      (!text || i.search.includes(text)) &&
      (!user.value || i.device.user === user.value) &&
      (!tag.value || (i.device.tags || []).includes(tag.value)) &&
      (!os.value || i.device.os === os.value) &&
      (!attribute.value || i.attributes.has(attribute.value)) &&
      (failingIndex < 0 || !i.passing.has(failingIndex)));
    page = 0;
    render();
  };

  // The time from the input event to the frame that shows its result, kept for the browser test.
  const onInput = (event) => {
    filter();
    requestAnimationFrame(() => {
      view.dataset.filterMs = String(performance.now() - event.timeStamp);
      view.dataset.filtered = String(matches.length);
    });
  };
  search.addEventListener('input', onInput);
  for (const select of [user, tag, os, attribute, failing]) select.addEventListener('change', onInput);
  prev.addEventListener('click', () => { page -= 1; render(); });
  next.addEventListener('click', () => { page += 1; render(); });

  view.append(
    h('h1', {text: 'Machines'}),
    h('form', {class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault()},
      field('Search', search), field('User', user), field('Tag', tag), field('OS', os),
      field('Has attribute', attribute), field('Failing posture', failing)),
    status,
    h('div', {class: 'table-wrap'},
      h('table', {class: 'machines'},
        h('caption', {class: 'visually-hidden', text: 'Machines'}),
        h('thead', {}, h('tr', {},
          ['Machine', 'User or tags', 'OS', 'Addresses', 'Postures passed'].map(
            (t) => h('th', {scope: 'col', text: t})))),
        body)),
    h('div', {class: 'actions pager'}, prev, next));
  render();
}
