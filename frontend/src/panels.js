// Rows of panels from a dashboard definition, each a PromQL query drawn by uPlot; all of a
// dashboard's panels come from one request.
import { get } from './api.js';
import { drawChart, thresholdColor } from './chart.js';
import { h, replace } from './dom.js';
import { formatValue, RANGES } from './format.js';
import { fetchPanelData } from './panel-data.js';
import { drawTable } from './table.js';

export { loadDashboards } from './panel-data.js';

// One panel's share of the dashboard's answer, as drawPanel takes it.
function panelResult(panel, answer, got) {
  if (!answer || answer.status !== 'success') {
    return { error: new Error((answer && answer.error) || 'no answer for this panel') };
  }
  if (panel.kind === 'table') return { columns: answer.data.columns || [] };
  if (panel.kind === 'stat') {
    const { resultType, result } = answer.data;
    if (resultType === 'scalar') return { value: Number(result[1]) };
    return { value: result.length ? Number(result[0].value[1]) : null };
  }
  return { result: answer.data.result, start: got.start, end: got.end, step: got.step };
}

function drawPanel(box, panel, got, width) {
  if (got.error) {
    if (got.error.name !== 'AbortError') replace(box, h('p', { class: 'error' }, String(got.error.message || got.error)));
    return;
  }
  if (panel.kind === 'table') {
    drawTable(box, panel, got.columns);
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

// The anomaly band of every chart, once the charts are drawn; a failure leaves them plain.
async function shadeAnomalies(id, got, boxes, signal) {
  let answer;
  try {
    answer = await get(`dashboards/${encodeURIComponent(id)}/anomalies?start=${got.start}&end=${got.end}&step=${got.step}`, null, signal);
  } catch {
    return;
  }
  if (signal.aborted || !answer || !Array.isArray(answer.data)) return;
  boxes.forEach(([box], i) => { if (box.chart) box.chart.setBands(answer.data[i] || []); });
}

export function renderDashboard(container, dashboard, seconds, ctx) {
  const boxes = [];
  for (const row of dashboard.rows) {
    const grid = h('div', { class: 'grid' });
    for (const panel of row.panels) {
      const box = h('div', { class: panel.kind === 'table' ? 'chart table-panel' : 'chart', 'data-panel': panel.title });
      grid.append(h('figure', { class: panel.kind === 'table' ? 'panel wide' : 'panel' },
        h('figcaption', { title: panel.kind === 'table' ? panel.columns.map((c) => c.expr).join('\n') : panel.expr }, panel.title), box));
      boxes.push([box, panel]);
    }
    container.append(h('section', { class: 'row' }, row.title ? h('h2', null, row.title) : null, grid));
  }
  // One request for every panel, then measure once and draw every chart in one frame:
  // no layout is forced between charts.
  const refresh = async () => {
    performance.mark('panels:fetch');
    let got;
    try {
      got = await fetchPanelData(dashboard.id, seconds, ctx.signal);
    } catch (e) {
      got = { error: e };
    }
    if (ctx.signal.aborted) return;
    performance.mark('panels:data');
    const widths = boxes.map(([box]) => box.clientWidth);
    boxes.forEach(([box, panel], i) => drawPanel(box, panel,
      got.error ? { error: got.error } : panelResult(panel, got.panels[i], got), widths[i]));
    performance.mark('panels:drawn');
    if (!got.error) shadeAnomalies(dashboard.id, got, boxes, ctx.signal);
  };
  refresh();
  ctx.every(Math.max(5000, seconds * 1000 / 300), refresh);
  ctx.cleanup(() => boxes.forEach(([box]) => box.chart && box.chart.destroy()));
}

export function rangePicker(current, onChange) {
  return h('select', { class: 'range', 'aria-label': 'Time range', onchange: (e) => onChange(e.target.value) },
    Object.keys(RANGES).map((r) => h('option', { value: r, selected: r === current }, `last ${r}`)));
}
