// Dashboards and their panels' data. One request answers every panel of a dashboard for a
// time range (/dashboards/<id>/query). The boot script sends it for the page being opened
// while the app's code is still loading; the app takes that answer over once, when it
// draws the same dashboard and range.
import { authHeaders, get } from './api.js';
import { alignedEnd, stepFor } from './format.js';

const PREFETCH = 'watchkeeperPrefetch';
const PREFETCH_MAX_AGE_MS = 10000;

let cached = null;

export function loadDashboards() {
  const inline = document.getElementById('dashboards-data');
  if (!cached && inline) {
    try { cached = Promise.resolve(JSON.parse(inline.textContent).dashboards); } catch { cached = null; }
  }
  cached = cached || fetch('dashboards.json', { credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : { dashboards: [] }))
    .then((body) => body.dashboards, () => { cached = null; return []; });
  return cached;
}

// Width in pixels of one panel's plot, from the viewport alone (no layout exists yet when
// the boot script asks): mirrors style.css's main padding, .grid columns and the y axis.
function plotWidth(viewport) {
  const content = Math.min(viewport, 1500) - (viewport <= 600 ? 16 : 32);
  const columns = viewport <= 600 ? 1 : Math.max(1, Math.floor((content + 16) / (340 + 16)));
  return Math.max(100, Math.floor((content - 16 * (columns - 1)) / columns) - 18 - 64);
}

// A point per pixel of the plot, as Grafana's maxDataPoints: more would not show.
function request(id, seconds) {
  const step = stepFor(seconds, plotWidth(window.innerWidth));
  const end = alignedEnd(Math.floor(Date.now() / 1000), step);
  const start = end - seconds;
  return { id, seconds, start, end, step, url: `dashboards/${encodeURIComponent(id)}/query?start=${start}&end=${end}&step=${step}` };
}

// Boot: send the request now and leave its answer (or null) for the app.
export function prefetch(id, seconds) {
  performance.mark('panels:prefetch');
  const req = request(id, seconds);
  const body = fetch(req.url, { headers: authHeaders(), credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null);
  window[PREFETCH] = { ...req, at: Date.now(), body };
}

function takePrefetched(id, seconds) {
  const got = window[PREFETCH];
  if (!got) return null;
  delete window[PREFETCH];
  return got.id === id && got.seconds === seconds && Date.now() - got.at < PREFETCH_MAX_AGE_MS ? got : null;
}

// {start, end, step, panels: [each panel's Prometheus response]} in the dashboard's panel order.
export async function fetchPanelData(id, seconds, signal) {
  const pre = takePrefetched(id, seconds);
  const body = pre && await pre.body;
  if (body) return { ...pre, panels: body.data };
  const req = request(id, seconds);
  return { ...req, panels: (await get(req.url, null, signal)).data };
}
