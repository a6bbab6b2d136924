// The console shell: sign-in, navigation between pages (by URL hash) and notices.
import {ApiError, get, request, setCsrf, setSessionAdoptedHandler, setSignedOutHandler}
  from './api.js';
import {clear, h} from './dom.js';
import {renderAcl} from './page_acl.js';
import {renderIntegrations} from './page_integrations.js';
import {renderLogs} from './page_logs.js';
import {renderMachine} from './page_machine.js';
import {renderMachines} from './page_machines.js';

const $ = (id) => document.getElementById(id);

const pages = {
  integrations: renderIntegrations,
  machines: renderMachines,
  machine: renderMachine,
  acl: renderAcl,
  logs: renderLogs,
};

let noticeTimer = null;
export function notify(message, kind = 'info') {
  const box = $('notice');
  box.textContent = message;
  box.className = `notice ${kind}`;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { box.hidden = true; }, 8000);
}

function showSignedIn(session) {
  setCsrf(session.csrf);
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('who').hidden = false;
  $('who-name').textContent = session.actor;
  route();
}

function showSignIn() {
  setCsrf(null);
  $('nav').hidden = true;
  $('who').hidden = true;
  clear($('page'));
  $('sign-in').hidden = false;
  $('token').focus();
}

async function signIn(event) {
  event.preventDefault();
  const error = $('sign-in-error');
  error.textContent = '';
  try {
    const {body} = await request('POST', '/console/session', {json: {token: $('token').value}});
    $('token').value = '';
    showSignedIn(body);
  } catch (e) {
    error.textContent = e instanceof ApiError ? e.message : 'cannot reach the server';
  }
}

async function signOut() {
  try {
    await request('DELETE', '/console/session');
  } finally {
    showSignIn();
  }
}

// "#/machines/nAb12?x" -> {page: 'machine', arg: 'nAb12'}
function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const name = parts[0] || 'integrations';
  if (name === 'machines' && parts[1]) return {page: 'machine', arg: decodeURIComponent(parts[1])};
  return {page: pages[name] ? name : 'integrations', arg: null};
}

let renderToken = 0;
async function route() {
  if ($('nav').hidden) return;
  const {page, arg} = parseHash();
  const navName = page === 'machine' ? 'machines' : page;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.page === navName) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const token = ++renderToken;
  const container = clear($('page'));
  const view = h('div', {class: 'view', dataset: {page}});
  container.append(view);
  try {
    await pages[page](view, arg, notify);
  } catch (e) {
    if (token !== renderToken) return;
    view.append(h('p', {class: 'error', role: 'alert', text: e.message}));
  }
}

async function start() {
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', signOut);
  setSignedOutHandler(showSignIn);
  setSessionAdoptedHandler((session) => { $('who-name').textContent = session.actor; });
  window.addEventListener('hashchange', route);
  try {
    const {body} = await get('/console/session');
    showSignedIn(body);
  } catch {
    showSignIn();
  }
}

start();
