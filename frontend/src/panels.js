// Rows of panels from a dashboard definition, each a PromQL range query drawn by uPlot.
import { instantQuery, rangeQuery } from './api.js';
import { drawChart, thresholdColor } from './chart.js';
import { h, replace } from './dom.js';
import { formatValue, stepFor } from './format.js';

let cached = null;

export async function loadDashboards() {
  if (!cached) {
    const response = await fetch('dashboards.json', { credentials: 'same-origin' });
    cached = response.ok ? (await response.json()).dashboards : [];
  }
  return cached;
}

async function fillPanel(box, panel, seconds, ctx) {
  const end = Math.floor(Date.now() / 1000);
  const start = end - seconds;
  try {
    if (panel.kind === 'stat') {
      const data = await instantQuery(panel.expr, end, ctx.signal);
      const value = data.result.length ? Number(data.result[0].value[1]) : null;
      const color = value == null ? null : thresholdColor(panel, value);
      replace(box, h('div', { class: `stat ${color ? `t-${color}` : ''}` }, formatValue(value, panel.unit)));
      box.dataset.drawn = '1';
      return;
    }
    const step = stepFor(seconds, Math.max(100, Math.min(600, box.clientWidth || 300)));
    const data = await rangeQuery(panel.expr, start, end, step, ctx.signal);
    if (!data.result.length) {
      replace(box, h('p', { class: 'nodata' }, 'no data'));
      box.dataset.drawn = '0';
      return;
    }
    if (box.chart) box.chart.destroy();
    box.chart = drawChart(box, panel, data.result, start, end, step);
  } catch (e) {
    if (e.name === 'AbortError') return;
    replace(box, h('p', { class: 'error' }, String(e.message || e)));
  }
}

export function renderDashboard(container, dashboard, seconds, ctx) {
  const boxes = [];
  for (const row of dashboard.rows) {
    const grid = h('div', { class: 'grid' });
    for (const panel of row.panels) {
      const box = h('div', { class: 'chart', 'data-panel': panel.title });
      grid.append(h('figure', { class: 'panel' }, h('figcaption', { title: panel.expr }, panel.title), box));
      boxes.push([box, panel]);
    }
    container.append(h('section', { class: 'row' }, row.title ? h('h2', null, row.title) : null, grid));
  }
  const refresh = () => Promise.all(boxes.map(([box, panel]) => fillPanel(box, panel, seconds, ctx)));
  refresh();
  ctx.every(Math.max(5000, seconds * 1000 / 300), refresh);
  ctx.cleanup(() => boxes.forEach(([box]) => box.chart && box.chart.destroy()));
}

export function rangePicker(current, onChange) {
  return h('select', { class: 'range', 'aria-label': 'Time range', onchange: (e) => onChange(e.target.value) },
    ['15m', '1h', '6h', '24h', '7d'].map((r) => h('option', { value: r, selected: r === current }, `last ${r}`)));
}
