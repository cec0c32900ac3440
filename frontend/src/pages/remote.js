// Remote write: each remote_write and otlp_export endpoint the server sends to, with its
// queue (pending samples, backlog on disk, how far behind), what happened to its samples and
// its last error. Reads GET /api/v1/status/remote_write every two seconds.
import { Unavailable, prom } from '../api.js';
import { ago, card, h, replace, unavailable } from '../dom.js';
import { formatValue } from '../format.js';

function count(n) {
  return n == null ? '–' : formatValue(n, 'short');
}

function when(seconds) {
  return seconds == null ? h('span', { class: 'muted' }, 'never') : ago(seconds * 1000);
}

// failing: the last error is newer than the last answer that took samples
function state(e) {
  if (e.lastError && (e.lastSuccess == null || e.lastError.time > e.lastSuccess)) return 'failing';
  if (e.pendingSamples > 0) return 'sending';
  return 'caught up';
}

function endpointRow(kind, e) {
  const s = state(e);
  return h('tr', { 'data-endpoint': e.name, 'data-state': s, class: s === 'failing' ? 's-fail' : null },
    h('td', null, h('strong', null, e.name), h('br'), h('span', { class: 'muted' }, kind), h('br'),
      h('span', { class: 'muted', 'data-field': 'url' }, e.url)),
    h('td', null, h('span', { class: 'badge' }, s)),
    h('td', { 'data-field': 'pending' }, count(e.pendingSamples)),
    h('td', { 'data-field': 'backlog' }, `${formatValue(e.backlog.bytes, 'bytes')} in ${e.backlog.segments} segment${e.backlog.segments === 1 ? '' : 's'}`),
    h('td', { 'data-field': 'behind' }, e.behindSeconds == null ? '–' : formatValue(e.behindSeconds, 'seconds')),
    h('td', { 'data-field': 'sent' }, count(e.samples.sent)),
    h('td', { 'data-field': 'failed' }, count(e.samples.failed)),
    h('td', { 'data-field': 'retried' }, count(e.samples.retried)),
    h('td', { 'data-field': 'dropped' }, count(e.samples.dropped)),
    h('td', { 'data-field': 'shards' }, `${e.shards.current} (${e.shards.min}–${e.shards.max})`),
    h('td', { 'data-field': 'acknowledged' }, when(e.acknowledged.time), h('br'),
      h('span', { class: 'muted' }, `segment ${e.acknowledged.segment} @ ${e.acknowledged.offset}`)),
    h('td', { 'data-field': 'error' }, e.lastError
      ? [h('span', { class: 'error' }, e.lastError.message), h('br'), h('span', { class: 'muted' }, ago(e.lastError.time * 1000))]
      : h('span', { class: 'muted' }, 'none')));
}

function table(doc) {
  const rows = [...doc.remoteWrite.map((e) => endpointRow('remote write', e)),
    ...doc.otlpExport.map((e) => endpointRow('OTLP', e))];
  return h('table', { class: 'results remote-write', 'data-section': 'endpoints' },
    h('thead', null, h('tr', null, ['endpoint', 'state', 'pending', 'backlog on disk', 'behind', 'sent',
      'failed', 'retried', 'dropped', 'shards', 'last acknowledged', 'last error'].map((t) => h('th', null, t)))),
    h('tbody', null, rows));
}

export function remotePage(view, ctx) {
  const box = h('div', null, h('p', { class: 'muted' }, 'loading…'));
  view.append(card('Remote write', box));
  const refresh = async () => {
    let doc;
    try {
      doc = await prom('/api/v1/status/remote_write', null, ctx.signal);
    } catch (e) {
      if (e.name === 'AbortError') return;
      replace(box, e instanceof Unavailable ? unavailable('Remote write status', e.message) : h('p', { class: 'error' }, String(e.message)));
      return;
    }
    if (!doc.remoteWrite.length && !doc.otlpExport.length) {
      replace(box, h('p', { class: 'muted' }, 'no remote_write or otlp_export endpoint is configured'));
      return;
    }
    replace(box, table(doc));
  };
  refresh();
  ctx.every(2000, refresh);
}
