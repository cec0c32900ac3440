// uPlot charts for Prometheus matrices. Legends are our own DOM built from text nodes, so
// label values in series names stay inert.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h, replace } from './dom.js';
import { formatValue, legendOf } from './format.js';

const PALETTE = ['#3b82f6', '#22c55e', '#f59e0b', '#ef4444', '#a855f7', '#14b8a6', '#ec4899', '#84cc16'];
const THRESHOLD_COLORS = { green: '#22c55e', yellow: '#eab308', orange: '#f97316', red: '#ef4444', blue: '#3b82f6', purple: '#a855f7' };
const MAX_SERIES = 40;
// The page's own font. uPlot's default lists a dozen families, and a canvas resolves every
// one it is given (each missing family is a font lookup) whenever a chart sets it.
const AXIS_FONT = '12px system-ui, sans-serif';

// One x axis for all series: every step from start to end; gaps stay null.
export function alignMatrix(result, start, end, step) {
  const n = Math.floor((end - start) / step) + 1;
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = start + i * step;
  const ys = result.slice(0, MAX_SERIES).map((series) => {
    const col = new Array(n).fill(null);
    for (const [t, v] of series.values || []) {
      const i = Math.round((t - start) / step);
      if (i >= 0 && i < n) col[i] = Number(v);
    }
    return col;
  });
  return [xs, ...ys];
}

// Theme colours read once per theme: reading a live computed style after each chart was
// added would recompute the page's styles once per chart.
let colors = null;
function cssVar(name) {
  if (!colors) {
    const styles = getComputedStyle(document.documentElement);
    colors = Object.fromEntries(['--muted', '--grid'].map((v) => [v, styles.getPropertyValue(v).trim() || '#888']));
  }
  return colors[name];
}
export function themeChanged() { colors = null; }

// The anomaly band: the stretches the server scored a series of this panel anomalous
// (score >= 0.5), shaded across the plot with a strip along its top.
const BAND_FILL = 'rgba(239, 68, 68, 0.12)';
const BAND_STRIP = '#ef4444';

function drawBands(u, bands, step) {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  for (const b of bands) {
    const x0 = Math.max(left, u.valToPos(b.from - step / 2, 'x', true));
    const x1 = Math.min(left + width, u.valToPos(b.to + step / 2, 'x', true));
    if (x1 <= x0) continue;
    ctx.fillStyle = BAND_FILL;
    ctx.fillRect(x0, top, x1 - x0, height);
    ctx.fillStyle = BAND_STRIP;
    ctx.fillRect(x0, top, x1 - x0, 3 * (window.devicePixelRatio || 1));
  }
  ctx.restore();
}

export function drawChart(box, panel, result, start, end, step, knownWidth) {
  let bands = [];
  const data = alignMatrix(result, start, end, step);
  const labels = result.slice(0, MAX_SERIES).map((s) => legendOf(panel.legend, s.metric || {}, panel.expr));
  const width = Math.max(200, knownWidth || box.clientWidth || 300);
  const axis = { font: AXIS_FONT, stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { show: false } };
  const thresholds = panel.thresholds || [];
  const opts = {
    width,
    height: 170,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (u, lo, hi) => [panel.min ?? Math.min(0, lo ?? 0), panel.max ?? (hi > 0 ? hi * 1.1 : 1)] } },
    axes: [{ ...axis }, { ...axis, size: 64, values: (u, vals) => vals.map((v) => formatValue(v, panel.unit)) }],
    series: [{}, ...labels.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false, points: { show: false } }))],
    hooks: {
      drawClear: [(u) => { if (bands.length) drawBands(u, bands, step); }],
      draw: [(u) => {
        const { ctx } = u;
        for (const t of thresholds) {
          const y = u.valToPos(t.value, 'y', true);
          if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
          ctx.save();
          ctx.strokeStyle = THRESHOLD_COLORS[t.color] || t.color;
          ctx.setLineDash([4, 4]);
          ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
          ctx.restore();
        }
        box.dataset.drawn = String(labels.length);
      }],
    },
  };
  replace(box);
  const plot = new uPlot(opts, data, box);
  const legend = h('ul', { class: 'legend' }, labels.map((label, i) => {
    const col = data[i + 1];
    let last = null;
    for (let j = col.length - 1; j >= 0; j--) if (col[j] != null) { last = col[j]; break; }
    return h('li', null, h('span', { class: 'swatch', style: { background: PALETTE[i % PALETTE.length] } }),
      h('span', { class: 'series-name' }, label), h('span', { class: 'series-value' }, formatValue(last, panel.unit)));
  }));
  box.append(legend);
  if (result.length > MAX_SERIES) box.append(h('p', { class: 'muted' }, `showing ${MAX_SERIES} of ${result.length} series`));
  const resize = new ResizeObserver(() => {
    const w = Math.max(200, box.clientWidth);
    if (Math.abs(w - plot.width) > 8) plot.setSize({ width: w, height: 170 });
  });
  resize.observe(box);
  return {
    destroy() { resize.disconnect(); plot.destroy(); },
    // The band arrives after the chart (a second, cheaper request): shade and redraw.
    setBands(next) {
      bands = next || [];
      box.dataset.anomalies = String(bands.length);
      plot.redraw(false, false);
    },
  };
}

export function thresholdColor(panel, value) {
  let color = null;
  for (const t of panel.thresholds || []) if (value >= t.value) color = t.color;
  return color;
}
