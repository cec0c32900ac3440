// Overview: health checks with history strips, firing alerts, scrape targets, host charts.
import { checksOf, healthDoc, prom, rangeQuery, Unavailable } from '../api.js';
import { card, h, labelChips, replace, unavailable } from '../dom.js';
import { RANGES } from '../format.js';
import { OVERVIEW_DASHBOARD, rangeOf, setParams } from '../route.js';
import { loadDashboards, rangePicker, renderDashboard } from '../panels.js';
import { strip } from '../strip.js';

const STATUS_TEXT = { pass: 'healthy', warn: 'degraded', fail: 'unhealthy' };

export async function renderChecks(box, ctx, withStrips = true) {
  let checks;
  try {
    checks = checksOf(await healthDoc(ctx.signal));
  } catch (e) {
    if (e.name !== 'AbortError') replace(box, unavailable('Health checks', e.message));
    return;
  }
  const end = Math.floor(Date.now() / 1000);
  const step = 60;
  const cells = 60;
  let history = {};
  if (withStrips) {
    try {
      const data = await rangeQuery('watchkeeper_health_status', end - step * (cells - 1), end, step, ctx.signal);
      for (const s of data.result) history[s.metric.check] = s.values;
    } catch { history = {}; }
  }
  if (!checks.length) { replace(box, h('p', { class: 'muted' }, 'no health checks configured')); return; }
  replace(box, h('ul', { class: 'checks' }, checks.map((c) => h('li', { class: `check s-${c.status}`, 'data-check': c.name },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    h('span', { class: 'check-name' }, c.name),
    h('span', { class: 'badge' }, STATUS_TEXT[c.status] || c.status),
    c.flapping ? h('span', { class: 'badge flapping' }, `flapping (${c.changes} changes)`) : null,
    h('span', { class: 'check-output' }, c.output),
    withStrips ? strip(history[c.name], end - step * (cells - 1), step, cells,
      (v) => (v >= 1 ? 'healthy' : v > 0 ? 'degraded' : 'unhealthy')) : null))));
}

async function renderFiring(box, ctx) {
  try {
    const data = await prom('/api/v1/alerts', null, ctx.signal);
    const firing = (data.alerts || []).filter((a) => a.state === 'firing');
    if (!firing.length) { replace(box, h('p', { class: 'muted ok-text' }, 'nothing firing')); return; }
    replace(box, h('ul', { class: 'alerts' }, firing.map((a) => h('li', { class: `alert sev-${a.labels.severity || 'none'}`, 'data-alert': a.labels.alertname },
      h('strong', null, a.labels.alertname || '(unnamed)'), ' ', labelChips(a.labels, ['__name__', 'alertname']),
      h('div', { class: 'annotation' }, (a.annotations && (a.annotations.summary || a.annotations.description)) || '')))));
  } catch (e) {
    if (e.name !== 'AbortError') replace(box, unavailable('Alerts', e.message));
  }
}

async function renderTargets(box, ctx) {
  let targets;
  try {
    const data = await prom('/api/v1/targets', { state: 'active' }, ctx.signal);
    targets = (data.activeTargets || []).map((t) => ({ labels: t.labels, up: t.health === 'up', error: t.lastError }));
  } catch (e) {
    if (e.name === 'AbortError') return;
    if (!(e instanceof Unavailable)) { replace(box, unavailable('Targets', e.message)); return; }
    try {
      const data = await prom('/api/v1/query', { query: 'up' }, ctx.signal);
      targets = data.result.map((s) => ({ labels: s.metric, up: Number(s.value[1]) === 1, error: '' }));
    } catch (e2) { replace(box, unavailable('Targets', e2.message)); return; }
  }
  if (!targets.length) { replace(box, h('p', { class: 'muted' }, 'no scrape targets')); return; }
  replace(box, h('ul', { class: 'targets' }, targets.map((t) => h('li', { class: t.up ? 's-pass' : 's-fail' },
    h('span', { class: 'badge' }, t.up ? 'up' : 'down'), ' ', labelChips(t.labels), t.error ? h('span', { class: 'error' }, t.error) : null))));
}

export async function overviewPage(view, ctx, { params }) {
  const range = rangeOf(params);
  const checks = h('div', { 'data-section': 'health' }, h('p', { class: 'muted' }, 'loading…'));
  const firing = h('div', { 'data-section': 'firing' }, h('p', { class: 'muted' }, 'loading…'));
  const targets = h('div', { 'data-section': 'targets' }, h('p', { class: 'muted' }, 'loading…'));
  const charts = h('div', { class: 'charts' });
  view.append(h('div', { class: 'overview' },
    card('Health checks', checks), card('Firing alerts', firing), card('Scrape targets', targets)),
  h('div', { class: 'toolbar' }, h('h2', null, 'Host'), rangePicker(range, (r) => { params.set('range', r); setParams(params, false); })),
  charts);
  // charts first: they carry the most data, the lists below are small
  const host = (await loadDashboards()).find((d) => d.id === OVERVIEW_DASHBOARD);
  if (host) renderDashboard(charts, host, RANGES[range], ctx);
  else charts.append(unavailable('Host dashboard', 'no "host" dashboard is defined'));
  const refreshHealth = () => renderChecks(checks, ctx);
  const refreshAlerts = () => renderFiring(firing, ctx);
  refreshHealth(); refreshAlerts(); renderTargets(targets, ctx);
  ctx.live('health', refreshHealth, 5000);
  ctx.live('alerts', refreshAlerts, 1000);
  ctx.every(15000, () => renderTargets(targets, ctx));
}
