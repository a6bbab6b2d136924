// Calls to the server, same origin. The session cookie goes along by itself; the CSRF token
// (held only in this module's memory) goes in a header on every call, which is what makes the
// server accept the cookie.

let csrfToken = null;
let onSignedOut = () => {};

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

// request('GET', '/api/v2/...', {json, text, contentType, headers}) -> {status, body, headers}.
// Throws ApiError for a status >= 400.
export async function request(method, path, options = {}) {
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
  const response = await fetch(path, {method, headers, body, credentials: 'same-origin'});
  const parsed = await readBody(response);
  if (response.status === 401 && !path.startsWith('/console/session')) onSignedOut();
  if (response.status >= 400) throw new ApiError(response.status, parsed);
  return {status: response.status, body: parsed, headers: response.headers};
}

export const get = (path, options) => request('GET', path, options);
export const post = (path, options) => request('POST', path, options);

// The Tailscale-compatible API, for the default tailnet of the credential.
export const tailnet = (rest) => `/api/v2/tailnet/-/${rest}`;
export const enc = encodeURIComponent;
