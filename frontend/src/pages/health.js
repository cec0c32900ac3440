// Health: each check's status, history and latency; flapping checks stand out.
import { rangeQuery } from '../api.js';
import { drawChart } from '../chart.js';
import { card, h, replace } from '../dom.js';
import { renderChecks } from './overview.js';

export function healthPage(view, ctx) {
  const checks = h('div', { 'data-section': 'health' }, h('p', { class: 'muted' }, 'loading…'));
  const latency = h('div', { class: 'chart', 'data-panel': 'Check latency' });
  view.append(card('Checks (last hour, one cell a minute)', checks), card('Latency by check', latency));
  const drawLatency = async () => {
    const end = Math.floor(Date.now() / 1000);
    const start = end - 3600;
    try {
      const data = await rangeQuery('watchkeeper_health_check_duration_seconds', start, end, 15, ctx.signal);
      if (!data.result.length) { replace(latency, h('p', { class: 'nodata' }, 'no latency history yet')); return; }
      if (latency.chart) latency.chart.destroy();
      latency.chart = drawChart(latency, { unit: 'seconds', legend: '{{check}}' }, data.result, start, end, 15);
    } catch (e) {
      if (e.name !== 'AbortError') replace(latency, h('p', { class: 'error' }, String(e.message)));
    }
  };
  const refresh = () => renderChecks(checks, ctx, true);
  refresh(); drawLatency();
  ctx.live('health', refresh, 5000);
  ctx.every(15000, drawLatency);
  ctx.cleanup(() => latency.chart && latency.chart.destroy());
}
