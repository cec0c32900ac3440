// Alerts: firing, pending and silenced alerts (/api/v1/alerts) joined to their incidents
// (/api/v1/incidents: acknowledge, resolve, timeline); silences (/api/v2/silences, as
// Alertmanager); editable thresholds (/api/v1/thresholds).
import { get, prom, rangeQuery, send, Unavailable } from '../api.js';
import { ago, card, h, labelChips, replace, unavailable } from '../dom.js';
import { setParams } from '../route.js';
import { strip } from '../strip.js';

const labelsKey = (labels) => JSON.stringify(Object.entries(labels || {}).sort());

export function stateOf(alert) {
  if (alert.state === 'silenced' || (alert.silencedBy && alert.silencedBy.length) ||
      (alert.status && alert.status.state === 'suppressed')) return 'silenced';
  return alert.state || 'firing';
}

function promString(s) {
  return `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

async function timeline(box, alert, ctx) {
  const end = Math.floor(Date.now() / 1000);
  const step = 300;
  const cells = 72;
  const parts = [];
  try {
    const name = promString(alert.labels.alertname || '');
    const q = `max(ALERTS{alertname=${name},alertstate="firing"}) or max(0.5 * ALERTS{alertname=${name},alertstate="pending"})`;
    const data = await rangeQuery(q, end - step * (cells - 1), end, step, ctx.signal);
    const values = data.result.length ? data.result[0].values.map(([t, v]) => [t, 1 - Number(v)]) : [];
    parts.push(h('p', { class: 'muted' }, 'last 6 hours (red: firing, amber: pending)'),
      strip(values, end - step * (cells - 1), step, cells, (v) => (v <= 0 ? 'firing' : v < 1 ? 'pending' : 'inactive')));
  } catch (e) {
    if (e.name === 'AbortError') return;
    parts.push(unavailable('History strip', e.message));
  }
  if (alert.incident) {
    try {
      const incident = await prom(`/api/v1/incidents/${alert.incident.id}`, null, ctx.signal);
      parts.push(h('ol', { class: 'events' }, (incident.timeline || []).map((ev) => h('li', null,
        h('span', { class: 'muted' }, new Date(ev.ts_ms).toLocaleString()), ' ', ev.kind,
        ev.state ? ` → ${ev.state}` : '', ev.who ? ` by ${ev.who}` : '', ev.comment ? `: ${ev.comment}` : ''))));
    } catch (e) {
      if (e.name !== 'AbortError') parts.push(unavailable('Incident timeline', e.message));
    }
  }
  replace(box, parts);
}

function actions(alert, ctx, refreshAll, note) {
  const act = (label, fn, enabled = true) => h('button', { type: 'button', 'data-action': label.toLowerCase(), disabled: !enabled,
    title: enabled ? null : 'needs the incidents API', onclick: async (e) => {
      e.target.disabled = true;
      try { await fn(); note(`${label}: done`); } catch (err) { note(`${label} failed: ${err.message}`, true); }
      e.target.disabled = false;
      refreshAll();
    } }, label);
  const id = alert.incident && alert.incident.id;
  return h('span', { class: 'actions' },
    act('Acknowledge', () => send('POST', `/api/v1/incidents/${id}/ack`, { comment: 'from the dashboard' }),
      !!id && !alert.incident.acked_by),
    act('Resolve', () => send('POST', `/api/v1/incidents/${id}/resolve`, { comment: 'from the dashboard' }), !!id),
    act('Silence', () => {
      const hours = Number(window.prompt('Silence for how many hours?', '1'));
      if (!(hours > 0)) throw new Error('cancelled');
      const now = new Date();
      return send('POST', '/api/v2/silences', {
        matchers: Object.entries(alert.labels).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })),
        startsAt: now.toISOString(), endsAt: new Date(now.getTime() + hours * 3600e3).toISOString(),
        createdBy: 'dashboard', comment: `silenced from the dashboard for ${hours} h`,
      });
    }),
    h('button', { type: 'button', 'data-action': 'timeline', onclick: (e) => {
      const li = e.target.closest('li');
      let box = li.querySelector('.timeline');
      if (box) { box.remove(); return; }
      box = h('div', { class: 'timeline' }, 'loading…');
      li.append(box);
      timeline(box, alert, ctx);
    } }, 'Timeline'));
}

const THRESHOLD_FIELDS = ['expr', 'warning', 'critical', 'direction', 'duration', 'enabled', 'description'];

async function renderThresholds(box, ctx, note) {
  let items;
  try {
    items = await prom('/api/v1/thresholds', null, ctx.signal);
  } catch (e) {
    if (e.name !== 'AbortError') replace(box, unavailable('Thresholds', e.message));
    return;
  }
  if (!Array.isArray(items) || !items.length) { replace(box, h('p', { class: 'muted' }, 'no thresholds defined')); return; }
  replace(box, h('ul', { class: 'thresholds' }, items.map((t) => {
    const level = (which) => h('input', { type: 'number', step: 'any', value: t[which] == null ? '' : String(t[which]),
      'aria-label': `${which} ${t.name}`, size: 6 });
    const warning = level('warning');
    const critical = level('critical');
    const save = async () => {
      const body = Object.fromEntries(THRESHOLD_FIELDS.map((k) => [k, t[k]]));
      body.warning = warning.value === '' ? null : Number(warning.value);
      body.critical = critical.value === '' ? null : Number(critical.value);
      try {
        await send('PUT', `/api/v1/thresholds/${encodeURIComponent(t.name)}`, body);
        note(`threshold ${t.name} saved`);
      } catch (e) { note(`saving ${t.name} failed: ${e.message}`, true); }
    };
    return h('li', { 'data-threshold': t.name }, h('strong', null, t.name), ' ', h('code', null, t.expr), ' ',
      h('span', { class: 'muted' }, t.direction), h('label', null, ' warning ', warning), h('label', null, ' critical ', critical),
      h('button', { type: 'button', onclick: save }, 'Save'),
      t.updated_by ? h('span', { class: 'muted' }, ` last changed by ${t.updated_by}`) : null);
  })));
}

async function renderSilences(box, ctx) {
  let silences;
  try {
    silences = await get('/api/v2/silences', null, ctx.signal);
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

async function openIncidents(ctx) {
  try {
    const list = await prom('/api/v1/incidents', { limit: '500' }, ctx.signal);
    const byLabels = new Map();
    for (const i of list) if (i.resolved_ms == null && !byLabels.has(labelsKey(i.labels))) byLabels.set(labelsKey(i.labels), i);
    return byLabels;
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    return null;
  }
}

export function alertsPage(view, ctx, { params }) {
  const state = h('select', { 'aria-label': 'State', name: 'state' }, ['all', 'firing', 'pending', 'silenced', 'acknowledged'].map((s) => h('option', { value: s, selected: s === (params.get('state') || 'all') }, s)));
  const severity = h('select', { 'aria-label': 'Severity', name: 'severity' }, h('option', { value: 'all' }, 'all severities'));
  const list = h('div', { 'data-section': 'alerts' }, h('p', { class: 'muted' }, 'loading…'));
  const message = h('p', { class: 'note', role: 'status' });
  const thresholds = h('div', { 'data-section': 'thresholds' });
  const silences = h('div', { 'data-section': 'silences' });
  const note = (text, bad) => { message.textContent = text; message.className = bad ? 'note error' : 'note'; };
  let severities = new Set();

  async function refresh() {
    let alerts;
    let incidents;
    try {
      [alerts, incidents] = await Promise.all([prom('/api/v1/alerts', null, ctx.signal).then((d) => d.alerts || []), openIncidents(ctx)]);
    } catch (e) {
      if (e.name !== 'AbortError') replace(list, unavailable('Alerts', e instanceof Unavailable ? 'the server has no alerting API' : e.message));
      return;
    }
    for (const a of alerts) a.incident = incidents ? incidents.get(labelsKey(a.labels)) : undefined;
    const seen = new Set(alerts.map((a) => a.labels.severity).filter(Boolean));
    if ([...seen].some((s) => !severities.has(s))) {
      severities = new Set([...severities, ...seen]);
      const chosen = severity.value === 'all' ? (params.get('severity') || 'all') : severity.value;
      replace(severity, h('option', { value: 'all' }, 'all severities'), [...severities].sort().map((s) => h('option', { value: s, selected: s === chosen }, s)));
    }
    const shown = alerts.filter((a) => {
      const acked = !!(a.incident && a.incident.acked_by);
      if (state.value === 'acknowledged' ? !acked : state.value !== 'all' && stateOf(a) !== state.value) return false;
      return severity.value === 'all' || a.labels.severity === severity.value;
    });
    if (!shown.length) { replace(list, h('p', { class: 'muted ok-text' }, alerts.length ? 'no alert matches the filters' : 'no alerts')); return; }
    replace(list, h('ul', { class: 'alerts' }, shown.map((a) => h('li', { class: `alert st-${stateOf(a)} sev-${a.labels.severity || 'none'}`, 'data-alert': a.labels.alertname || '' },
      h('div', { class: 'alert-head' },
        h('span', { class: 'badge' }, stateOf(a)),
        a.incident && a.incident.acked_by ? h('span', { class: 'badge ack' }, `acknowledged by ${a.incident.acked_by}`) : null,
        h('strong', null, a.labels.alertname || '(unnamed)'),
        a.incident ? h('span', { class: 'muted' }, ` #${a.incident.id}`) : null,
        a.activeAt ? h('span', { class: 'muted' }, ` since ${ago(Date.parse(a.activeAt))}`) : null,
        a.value != null ? h('span', { class: 'muted' }, ` value ${a.value}`) : null),
      labelChips(a.labels, ['__name__', 'alertname']),
      Object.entries(a.annotations || {}).map(([k, v]) => h('div', { class: 'annotation' }, h('span', { class: 'muted' }, `${k}: `), v)),
      actions(a, ctx, refreshAll, note)))));
  }
  const refreshAll = () => { refresh(); renderSilences(silences, ctx); };
  const onFilter = () => { params.set('state', state.value); params.set('severity', severity.value); setParams(params); refresh(); };
  state.addEventListener('change', onFilter);
  severity.addEventListener('change', onFilter);
  view.append(card('Alerts', h('div', { class: 'toolbar' }, state, severity), message, list),
    card('Silences', silences), card('Thresholds', thresholds));
  refreshAll();
  renderThresholds(thresholds, ctx, note);
  ctx.live('alerts', refresh, 1000);
}
