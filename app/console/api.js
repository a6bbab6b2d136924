// Calls to the server, same origin. The session cookie goes along by itself; the CSRF token
// (held only in this module's memory) goes in a header on every call, which is what makes the
// server accept the cookie.

let csrfToken = null;
let onSignedOut = () => {};
let onSessionAdopted = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

export function setSignedOutHandler(handler) {
  onSignedOut = handler;
}

// Called with the session a request adopted from another tab's sign-in (its actor may differ).
export function setSessionAdoptedHandler(handler) {
  onSessionAdopted = handler;
}

export function setCsrf(token) {
  csrfToken = token;
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const SESSION_PATH = '/console/session';

function send(method, path, options) {
  const headers = new Headers(options.headers || {});
  if (csrfToken) headers.set('X-CSRF-Token', csrfToken);
  let body;
  if (options.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(options.json);
  } else if (options.text !== undefined) {
    headers.set('Content-Type', options.contentType || 'application/hujson');
    body = options.text;
  }
  return fetch(path, {method, headers, body, credentials: 'same-origin'});
}

// A 401, or the server's 403 for a CSRF token that is not the cookie's session's: the session
// may have changed in another tab (signed out, or signed in again).
function sessionChanged(status, body) {
  const message = (body && body.message) || '';
  return status === 401 || (status === 403 && message.includes('X-CSRF-Token'));
}

// The session behind the browser's cookie now, or null when there is none.
async function currentSession() {
  const response = await fetch(SESSION_PATH, {credentials: 'same-origin'});
  return response.ok ? readBody(response) : null;
}

// request('GET', '/api/v2/...', {json, text, contentType, headers}) -> {status, body, headers}.
// Throws ApiError for a status >= 400. When the session changed in another tab, the current one
// is asked for: its CSRF token is adopted and the request sent once more (it was refused before
// any handler ran, so nothing happened twice); no session means the page is signed out.
export async function request(method, path, options = {}) {
  let response = await send(method, path, options);
  let parsed = await readBody(response);
  const signingIn = path.startsWith(SESSION_PATH) && method !== 'DELETE';
  if (!signingIn && sessionChanged(response.status, parsed)) {
    const sent = csrfToken;
    const session = await currentSession().catch(() => null);
    if (!session || !session.csrf) {
      onSignedOut();
    } else if (session.csrf !== sent) {
      setCsrf(session.csrf);
      onSessionAdopted(session);
      response = await send(method, path, options);
      parsed = await readBody(response);
      if (response.status === 401) onSignedOut();
    }
  }
  if (response.status >= 400) throw new ApiError(response.status, parsed);
  return {status: response.status, body: parsed, headers: response.headers};
}

export const get = (path, options) => request('GET', path, options);
export const post = (path, options) => request('POST', path, options);

// The Tailscale-compatible API, for the default tailnet of the credential.
export const tailnet = (rest) => `/api/v2/tailnet/-/${rest}`;
export const enc = encodeURIComponent;
