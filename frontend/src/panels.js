// Rows of panels from a dashboard definition, each a PromQL range query drawn by uPlot.
import { instantQuery, rangeQuery } from './api.js';
import { drawChart, thresholdColor } from './chart.js';
import { h, replace } from './dom.js';
import { formatValue, stepFor } from './format.js';

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

// Fetch a panel's data; drawing happens later, for all panels at once.
async function fetchPanel(box, panel, seconds, ctx) {
  const end = Math.floor(Date.now() / 1000);
  const start = end - seconds;
  try {
    if (panel.kind === 'stat') {
      const data = await instantQuery(panel.expr, end, ctx.signal);
      return { value: data.result.length ? Number(data.result[0].value[1]) : null };
    }
    // ~one point per pixel of a typical panel; no layout read before the request goes out
    const step = stepFor(seconds, Math.min(500, Math.max(200, window.innerWidth / 3)));
    const data = await rangeQuery(panel.expr, start, end, step, ctx.signal);
    return { result: data.result, start, end, step };
  } catch (e) {
    return { error: e };
  }
}

function drawPanel(box, panel, got, width) {
  if (got.error) {
    if (got.error.name !== 'AbortError') replace(box, h('p', { class: 'error' }, String(got.error.message || got.error)));
    return;
  }
  if (panel.kind === 'stat') {
    const color = got.value == null ? null : thresholdColor(panel, got.value);
    replace(box, h('div', { class: `stat ${color ? `t-${color}` : ''}` }, formatValue(got.value, panel.unit)));
    box.dataset.drawn = '1';
    return;
  }
  if (box.chart) { box.chart.destroy(); box.chart = null; }
  if (!got.result.length) {
    replace(box, h('p', { class: 'nodata' }, 'no data'));
    box.dataset.drawn = '0';
    return;
  }
  box.chart = drawChart(box, panel, got.result, got.start, got.end, got.step, width);
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
  // Fetch everything in parallel, then measure once and draw every chart in one frame:
  // no layout is forced between charts.
  const refresh = async () => {
    performance.mark('panels:fetch');
    const got = await Promise.all(boxes.map(([box, panel]) => fetchPanel(box, panel, seconds, ctx)));
    if (ctx.signal.aborted) return;
    performance.mark('panels:data');
    const widths = boxes.map(([box]) => box.clientWidth);
    boxes.forEach(([box, panel], i) => drawPanel(box, panel, got[i], widths[i]));
    performance.mark('panels:drawn');
  };
  refresh();
  ctx.every(Math.max(5000, seconds * 1000 / 300), refresh);
  ctx.cleanup(() => boxes.forEach(([box]) => box.chart && box.chart.destroy()));
}

export function rangePicker(current, onChange) {
  return h('select', { class: 'range', 'aria-label': 'Time range', onchange: (e) => onChange(e.target.value) },
    ['15m', '1h', '6h', '24h', '7d'].map((r) => h('option', { value: r, selected: r === current }, `last ${r}`)));
}
