// The dashboard's HTTP API (docs/dashboard.md) and the write token.
//
// `sieve dashboard` prints a URL ending in ?token=<hex>. The page keeps the token in
// sessionStorage (this tab only) and removes it from the address bar, so it is not left in the
// history or in a shared screenshot. Reads need no token; writes send it as a Bearer header.

const TOKEN_KEY = 'sieve-dashboard-token';

const NO_TOKEN_MESSAGE =
  'This needs the dashboard\'s token: open the URL that `sieve dashboard` printed (it ends in ?token=…).';

export function initToken() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }
}

export function hasToken() {
  return Boolean(sessionStorage.getItem(TOKEN_KEY));
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// The server answers errors as {"error": {"message": ...}} (or {"error": "message"}).
function errorMessage(body) {
  const error = body && body.error;
  return typeof error === 'string' ? error : error && error.message;
}

async function request(path, options) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new ApiError(0, 'The dashboard server does not answer (was `sieve dashboard` stopped?).');
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (error) {
    throw new ApiError(response.status, `Unexpected answer from ${path}: ${text.slice(0, 200)}`);
  }
  if (!response.ok) {
    if (response.status === 401) throw new ApiError(401, NO_TOKEN_MESSAGE);
    throw new ApiError(response.status, errorMessage(body) || `${response.status} ${response.statusText}`);
  }
  return body;
}

export function getJson(path) {
  return request(path, { headers: { Accept: 'application/json' } });
}

// A write request. Without a token it is not sent at all: the server would refuse it (401).
export function postJson(path, body = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return Promise.reject(new ApiError(401, NO_TOKEN_MESSAGE));
  return request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

// A run's name ("search-1/trial-02") is one URL path segment.
export function runPath(name) {
  return `/api/runs/${encodeURIComponent(name)}`;
}
