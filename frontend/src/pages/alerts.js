// Alerts: firing, pending and silenced alerts with filters; acknowledge, resolve and silence;
// each alert's timeline from the ALERTS series; editable thresholds.
import { prom, rangeQuery, send, Unavailable } from '../api.js';
import { ago, card, h, labelChips, replace, unavailable } from '../dom.js';
import { setParams } from '../main.js';
import { strip } from '../strip.js';

export function stateOf(alert) {
  if (alert.state === 'silenced' || (alert.silencedBy && alert.silencedBy.length) ||
      (alert.status && alert.status.state === 'suppressed')) return 'silenced';
  return alert.state || 'firing';
}

function identity(alert) {
  return { fingerprint: alert.fingerprint || null, labels: alert.labels };
}

function promString(s) {
  return `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

async function timeline(box, alert, ctx) {
  const end = Math.floor(Date.now() / 1000);
  const step = 300;
  const cells = 72;
  try {
    const q = `max(ALERTS{alertname=${promString(alert.labels.alertname || '')},alertstate="firing"}) or max(0.5 * ALERTS{alertname=${promString(alert.labels.alertname || '')},alertstate="pending"})`;
    const data = await rangeQuery(q, end - step * (cells - 1), end, step, ctx.signal);
    const values = data.result.length ? data.result[0].values.map(([t, v]) => [t, 1 - Number(v)]) : [];
    replace(box, h('p', { class: 'muted' }, 'last 6 hours (red: firing, amber: pending)'),
      strip(values, end - step * (cells - 1), step, cells, (v) => (v <= 0 ? 'firing' : v < 1 ? 'pending' : 'inactive')));
  } catch (e) {
    if (e.name !== 'AbortError') replace(box, unavailable('Timeline', e.message));
  }
}

function actions(alert, ctx, refreshAll, note) {
  const act = (label, fn) => h('button', { type: 'button', 'data-action': label.toLowerCase(), onclick: async (e) => {
    e.target.disabled = true;
    try { await fn(); note(`${label}: done`); } catch (err) { note(`${label} failed: ${err.message}`, true); }
    e.target.disabled = false;
    refreshAll();
  } }, label);
  return h('span', { class: 'actions' },
    act('Acknowledge', () => send('POST', '/api/v1/alerts/ack', { ...identity(alert), comment: '' })),
    act('Resolve', () => send('POST', '/api/v1/alerts/resolve', identity(alert))),
    act('Silence', () => {
      const hours = Number(window.prompt('Silence for how many hours?', '1'));
      if (!(hours > 0)) throw new Error('cancelled');
      const now = new Date();
      return send('POST', '/api/v1/silences', {
        matchers: Object.entries(alert.labels).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })),
        startsAt: now.toISOString(), endsAt: new Date(now.getTime() + hours * 3600e3).toISOString(),
        createdBy: 'dashboard', comment: `silenced from the dashboard for ${hours} h`,
      });
    }),
    h('button', { type: 'button', onclick: (e) => {
      const li = e.target.closest('li');
      let box = li.querySelector('.timeline');
      if (box) { box.remove(); return; }
      box = h('div', { class: 'timeline' }, 'loading…');
      li.append(box);
      timeline(box, alert, ctx);
    } }, 'Timeline'));
}

async function renderThresholds(box, ctx, note) {
  let items;
  try {
    items = await prom('/api/v1/thresholds', null, ctx.signal);
  } catch (e) {
    if (e.name !== 'AbortError') replace(box, unavailable('Thresholds', e.message));
    return;
  }
  items = Array.isArray(items) ? items : items.thresholds || [];
  if (!items.length) { replace(box, h('p', { class: 'muted' }, 'no editable thresholds')); return; }
  replace(box, h('ul', { class: 'thresholds' }, items.map((t) => {
    const input = h('input', { type: 'number', step: 'any', value: String(t.value), 'aria-label': `threshold ${t.name}` });
    return h('li', null, h('strong', null, t.name), ' ', h('code', null, t.expr || ''), ' ', input,
      h('button', { type: 'button', onclick: async () => {
        try { await send('PUT', `/api/v1/thresholds/${encodeURIComponent(t.name)}`, { value: Number(input.value) }); note(`threshold ${t.name} saved`); } catch (e) { note(`saving ${t.name} failed: ${e.message}`, true); }
      } }, 'Save'));
  })));
}

async function renderSilences(box, ctx) {
  let silences;
  try {
    silences = await prom('/api/v1/silences', null, ctx.signal);
  } catch (e) {
    if (e.name !== 'AbortError') replace(box, unavailable('Silences', e.message));
    return;
  }
  const active = (Array.isArray(silences) ? silences : []).filter((s) => !s.status || s.status.state !== 'expired');
  if (!active.length) { replace(box, h('p', { class: 'muted' }, 'no active silences')); return; }
  replace(box, h('ul', { class: 'silences' }, active.map((s) => h('li', null,
    h('span', { class: 'chips' }, (s.matchers || []).map((m) => h('span', { class: 'chip' },
      `${m.name}${m.isEqual === false ? '!' : ''}${m.isRegex ? '=~' : '='}${m.value}`))),
    h('span', { class: 'muted' }, ` until ${s.endsAt ? new Date(s.endsAt).toLocaleString() : '?'} — ${s.createdBy || ''}: ${s.comment || ''}`)))));
}

export function alertsPage(view, ctx, { params }) {
  const state = h('select', { 'aria-label': 'State', name: 'state' }, ['all', 'firing', 'pending', 'silenced', 'acknowledged'].map((s) => h('option', { value: s, selected: s === (params.get('state') || 'all') }, s)));
  const severity = h('select', { 'aria-label': 'Severity', name: 'severity' }, h('option', { value: 'all' }, 'all severities'));
  const list = h('div', { 'data-section': 'alerts' }, h('p', { class: 'muted' }, 'loading…'));
  const message = h('p', { class: 'note', role: 'status' });
  const thresholds = h('div', { 'data-section': 'thresholds' });
  const note = (text, bad) => { message.textContent = text; message.className = bad ? 'note error' : 'note'; };
  let severities = new Set();

  async function refresh() {
    let alerts;
    try {
      alerts = (await prom('/api/v1/alerts', null, ctx.signal)).alerts || [];
    } catch (e) {
      if (e.name !== 'AbortError') replace(list, unavailable('Alerts', e instanceof Unavailable ? 'the server has no alerting API yet' : e.message));
      return;
    }
    const seen = new Set(alerts.map((a) => a.labels.severity).filter(Boolean));
    if ([...seen].some((s) => !severities.has(s))) {
      severities = new Set([...severities, ...seen]);
      const chosen = severity.value;
      replace(severity, h('option', { value: 'all' }, 'all severities'), [...severities].sort().map((s) => h('option', { value: s, selected: s === chosen }, s)));
    }
    const shown = alerts.filter((a) => {
      const s = stateOf(a);
      if (state.value === 'acknowledged' ? !a.acknowledged : state.value !== 'all' && s !== state.value) return false;
      return severity.value === 'all' || a.labels.severity === severity.value;
    });
    if (!shown.length) { replace(list, h('p', { class: 'muted ok-text' }, alerts.length ? 'no alert matches the filters' : 'no alerts')); return; }
    replace(list, h('ul', { class: 'alerts' }, shown.map((a) => h('li', { class: `alert st-${stateOf(a)} sev-${a.labels.severity || 'none'}`, 'data-alert': a.labels.alertname || '' },
      h('div', { class: 'alert-head' },
        h('span', { class: 'badge' }, stateOf(a)),
        a.acknowledged ? h('span', { class: 'badge ack' }, `acknowledged${a.acknowledgedBy ? ` by ${a.acknowledgedBy}` : ''}`) : null,
        h('strong', null, a.labels.alertname || '(unnamed)'),
        a.activeAt ? h('span', { class: 'muted' }, ` since ${ago(Date.parse(a.activeAt))}`) : null,
        a.value != null ? h('span', { class: 'muted' }, ` value ${a.value}`) : null),
      labelChips(a.labels, ['__name__', 'alertname']),
      Object.entries(a.annotations || {}).map(([k, v]) => h('div', { class: 'annotation' }, h('span', { class: 'muted' }, `${k}: `), v)),
      actions(a, ctx, refreshAll, note)))));
  }
  const onFilter = () => { params.set('state', state.value); params.set('severity', severity.value); setParams(params); refresh(); };
  state.addEventListener('change', onFilter);
  severity.addEventListener('change', onFilter);
  const silences = h('div', { 'data-section': 'silences' });
  view.append(card('Alerts', h('div', { class: 'toolbar' }, state, severity), message, list),
    card('Silences', silences), card('Thresholds', thresholds));
  const refreshAll = () => { refresh(); renderSilences(silences, ctx); };
  refresh();
  renderSilences(silences, ctx);
  renderThresholds(thresholds, ctx, note);
  ctx.live('alerts', refresh, 1000);
}
