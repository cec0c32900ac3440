// Operations: running bulk operations with their progress, rate, time left and errors, then
// the recent ones and how they ended. Reads GET /api/v1/operations every two seconds.
import { Unavailable, prom } from '../api.js';
import { card, h, replace, unavailable } from '../dom.js';
import { formatValue } from '../format.js';

function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function count(n) {
  return n == null ? '–' : formatValue(n, 'short');
}

function progressCell(op) {
  if (op.progress == null) return h('td', null, h('span', { class: 'muted' }, 'no total'));
  const pct = `${(op.progress * 100).toFixed(1)}%`;
  return h('td', { class: 'op-progress' },
    h('progress', { max: 1, value: op.progress, 'aria-label': `${op.operation} ${pct}` }), ` ${pct}`);
}

function errorsOf(op) {
  const types = Object.entries(op.errors_by_type || {});
  if (!types.length) return h('span', { class: 'muted' }, 'none');
  return h('span', { class: 'chips' }, types.map(([t, n]) => h('span', { class: 'chip' }, `${t} ×${n}`)));
}

function where(op) {
  return h('span', { class: 'muted' }, [op.job, op.instance].filter(Boolean).join(' · '));
}

function runningTable(ops) {
  return h('table', { class: 'results operations', 'data-section': 'running' },
    h('thead', null, h('tr', null, ['operation', 'progress', 'done', 'rate', 'time left', 'failed', 'errors']
      .map((t) => h('th', null, t)))),
    h('tbody', null, ops.map((op) => h('tr', { 'data-operation': op.operation, class: op.stalled ? 'stalled' : null },
      h('td', null, h('strong', null, op.operation), ' ', op.stalled ? h('span', { class: 'badge flapping' }, 'stalled') : null,
        h('br'), where(op)),
      progressCell(op),
      h('td', null, `${count(op.done)} / ${op.total == null ? '?' : count(op.total)}`),
      h('td', null, op.rate == null ? '–' : `${formatValue(op.rate, 'short')}/s`),
      h('td', null, duration(op.eta_seconds)),
      h('td', null, count(op.failed)),
      h('td', null, errorsOf(op))))));
}

function recentTable(ops) {
  return h('table', { class: 'results operations', 'data-section': 'recent' },
    h('thead', null, h('tr', null, ['operation', 'result', 'took', 'done', 'failed', 'errors']
      .map((t) => h('th', null, t)))),
    h('tbody', null, ops.map((op) => h('tr', { 'data-operation': op.operation },
      h('td', null, h('strong', null, op.operation), h('br'), where(op)),
      h('td', null, h('span', { class: 'badge' }, op.failed ? `${count(op.failed)} failed` : 'all ok')),
      h('td', null, duration(op.duration_seconds)),
      h('td', null, `${count(op.done)} / ${op.total == null ? '?' : count(op.total)}`),
      h('td', null, count(op.failed)),
      h('td', null, errorsOf(op))))));
}

function keptErrors(ops) {
  const rows = ops.flatMap((op) => (op.errors || []).map((e) => ({ op: op.operation, ...e })));
  if (!rows.length) return null;
  return card('Latest errors kept', h('ul', { class: 'op-errors' }, rows.slice(-20).reverse().map((e) => h('li', null,
    h('span', { class: 'chip' }, e.op), ' ', h('strong', null, e.error_type), ' ',
    e.item != null ? h('span', { class: 'muted' }, `item ${e.item}: `) : null, e.message))));
}

export function operationsPage(view, ctx) {
  const running = h('div', null, h('p', { class: 'muted' }, 'loading…'));
  const recent = h('div', null);
  const errors = h('div', null);
  view.append(card('Running operations', running), card('Recent operations (last hour)', recent), errors);
  const refresh = async () => {
    let ops;
    try {
      ops = await prom('/api/v1/operations', null, ctx.signal);
    } catch (e) {
      if (e.name === 'AbortError') return;
      replace(running, e instanceof Unavailable ? unavailable('Operations', e.message) : h('p', { class: 'error' }, String(e.message)));
      return;
    }
    const live = ops.filter((op) => op.running);
    const done = ops.filter((op) => !op.running);
    replace(running, live.length ? runningTable(live) : h('p', { class: 'muted' }, 'no bulk operation is running'));
    replace(recent, done.length ? recentTable(done) : h('p', { class: 'muted' }, 'none finished in the last hour'));
    replace(errors, keptErrors(ops));
  };
  refresh();
  ctx.every(2000, refresh);
}
