// Where the page is: the hash route, and which dashboard (and time range) it shows. Shared
// by the app and the boot script, which starts that dashboard's data before the app loads.
import { RANGES } from './format.js';

// main.js's pages; listed here too so the boot script need not load any page's code
export const PAGE_IDS = ['overview', 'explore', 'alerts', 'health', 'errors', 'dashboards', 'operations', 'remote'];
export const OVERVIEW_DASHBOARD = 'host';
const DEFAULT_RANGE = '1h';

export function parseHash() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [page, ...rest] = path.split('/');
  return { page: PAGE_IDS.includes(page) ? page : 'overview', rest: rest.map(decodeURIComponent), params: new URLSearchParams(query) };
}

export function setParams(params, replaceState = true) {
  const { page, rest } = parseHash();
  const hash = `#/${[page, ...rest.map(encodeURIComponent)].join('/')}?${params}`;
  if (replaceState) history.replaceState(null, '', hash); else location.hash = hash;
}

export function rangeOf(params) {
  return RANGES[params.get('range')] ? params.get('range') : DEFAULT_RANGE;
}

// {id, seconds} of the dashboard a route draws, or null for pages without one.
export function shownDashboard({ page, rest, params }) {
  const seconds = RANGES[rangeOf(params)];
  if (page === 'overview') return { id: OVERVIEW_DASHBOARD, seconds };
  if (page === 'dashboards' && rest[0]) return { id: rest[0], seconds };
  return null;
}
