// Talking to the server. Reads are plain same-origin GETs; state-changing requests carry the
// X-Requested-With header (a cross-site form or simple request cannot set it, and the server
// sends no CORS grant, so a foreign page cannot forge one) and, when auth is on, a bearer
// token the user typed once per tab.
export class Unavailable extends Error {}

export class ApiError extends Error {}

const TOKEN_KEY = 'watchkeeper-token';

export function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

let asked = false;

// Ask for a token once per page load when the server says 401; true if one was given.
function askToken() {
  if (asked) return false;
  asked = true;
  const token = window.prompt('This server needs a token (or reload to log in):');
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  return !!token;
}

async function decode(response, path) {
  if (response.status === 404 || response.status === 405 || response.status === 501) {
    throw new Unavailable(`${path} is not served (${response.status})`);
  }
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  if (!response.ok || (body && body.status === 'error')) {
    throw new ApiError((body && (body.error || body.message)) || `${path}: HTTP ${response.status}`);
  }
  return body;
}

export async function get(path, params, signal) {
  const url = params ? `${path}?${new URLSearchParams(params)}` : path;
  let response;
  try {
    response = await fetch(url, { headers: authHeaders(), credentials: 'same-origin', signal });
    if (response.status === 401 && askToken()) {
      response = await fetch(url, { headers: authHeaders(), credentials: 'same-origin', signal });
    }
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new Unavailable(`${path}: server unreachable`);
  }
  return decode(response, path);
}

// Prometheus-shaped: returns body.data.
export async function prom(path, params, signal) {
  const body = await get(path, params, signal);
  return body && 'data' in body ? body.data : body;
}

export async function send(method, path, payload) {
  const init = () => ({
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'watchkeeper', ...authHeaders() },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  let response = await fetch(path, init());
  if (response.status === 401) {
    asked = false;
    if (askToken()) response = await fetch(path, init());
  }
  return decode(response, path);
}

export function rangeQuery(query, startSec, endSec, step, signal) {
  return prom('/api/v1/query_range', { query, start: startSec, end: endSec, step }, signal);
}

export function instantQuery(query, timeSec, signal) {
  const params = { query };
  if (timeSec) params.time = timeSec;
  return prom('/api/v1/query', params, signal);
}

// The health+json document; 503 still carries it (the service is unhealthy, not absent).
export async function healthDoc(signal) {
  const response = await fetch('/health', { headers: { Accept: 'application/health+json', ...authHeaders() }, credentials: 'same-origin', signal });
  if (response.status === 404) throw new Unavailable('/health is not served');
  return response.json();
}

// Checks from the document as a flat list: name, status, output, latency, flapping.
export function checksOf(doc) {
  const out = [];
  for (const [key, entries] of Object.entries((doc && doc.checks) || {})) {
    for (const e of entries) {
      out.push({ key, name: e.componentId || key.split(':')[0], status: e.status, output: e.output || '',
        duration: e.durationSeconds, flapping: !!e.flapping, changes: e.statusChanges ?? 0,
        since: e.statusSince, time: e.time, critical: !!e.critical, value: e.observedValue, unit: e.observedUnit });
    }
  }
  return out;
}
