// Explore: a PromQL box with completion of metric and label names, graph and table views,
// time range and step; the URL carries all of it so it can be shared.
import { instantQuery, prom, rangeQuery } from '../api.js';
import { drawChart } from '../chart.js';
import { h, labelChips, replace } from '../dom.js';
import { RANGES, formatValue, stepFor } from '../format.js';
import { setParams } from '../route.js';

const FUNCTIONS = ['rate', 'irate', 'increase', 'sum', 'avg', 'min', 'max', 'count', 'topk', 'bottomk',
  'histogram_quantile', 'avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'delta',
  'deriv', 'predict_linear', 'abs', 'ceil', 'floor', 'round', 'clamp_min', 'clamp_max', 'label_replace',
  'absent', 'changes', 'resets', 'time', 'vector', 'scalar', 'sort', 'sort_desc', 'quantile_over_time'];

function wordAt(text, pos) {
  const before = text.slice(0, pos);
  const m = before.match(/[a-zA-Z_:][a-zA-Z0-9_:]*$/);
  const inBraces = before.lastIndexOf('{') > before.lastIndexOf('}');
  return { word: m ? m[0] : '', start: m ? pos - m[0].length : pos, inBraces };
}

export function explorePage(view, ctx, { params }) {
  const names = { metrics: [], labels: [] };
  prom('/api/v1/label/__name__/values', null, ctx.signal).then((d) => { names.metrics = d; }).catch(() => {});
  prom('/api/v1/labels', null, ctx.signal).then((d) => { names.labels = d; }).catch(() => {});
  const input = h('textarea', { class: 'promql', rows: 2, spellcheck: 'false', autocomplete: 'off', 'aria-label': 'PromQL expression', placeholder: 'PromQL, e.g. rate(node_cpu_seconds_total[5m])' });
  input.value = params.get('q') || '';
  const suggestions = h('ul', { class: 'suggest', role: 'listbox', hidden: true });
  const range = h('select', { 'aria-label': 'Range' }, Object.keys(RANGES).map((r) => h('option', { value: r, selected: r === (params.get('range') || '1h') }, r)));
  const step = h('input', { type: 'text', size: 5, placeholder: 'auto', 'aria-label': 'Step (seconds)', value: params.get('step') || '' });
  const tab = params.get('tab') === 'table' ? 'table' : 'graph';
  const tabs = h('div', { class: 'tabs', role: 'tablist' }, ['graph', 'table'].map((t) =>
    h('button', { type: 'button', role: 'tab', class: t === tab ? 'active' : null, 'aria-selected': String(t === tab), onclick: () => { params.set('tab', t); setParams(params); run(); markTabs(t); } }, t)));
  const markTabs = (t) => tabs.querySelectorAll('button').forEach((b) => { b.className = b.textContent === t ? 'active' : ''; });
  const result = h('div', { class: 'explore-result', 'data-section': 'result' });
  let chart = null;

  const valuesOf = {};
  const complete = async () => {
    const before = input.value.slice(0, input.selectionStart);
    const quoted = before.match(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"([^"]*)$/);
    if (quoted && before.lastIndexOf('{') > before.lastIndexOf('}')) {
      const [, label, typed] = quoted;
      valuesOf[label] = valuesOf[label] || prom(`/api/v1/label/${encodeURIComponent(label)}/values`, null, ctx.signal).catch(() => []);
      const values = await valuesOf[label];
      const matches = values.filter((v) => v.startsWith(typed) && v !== typed).slice(0, 12);
      const start = input.selectionStart - typed.length;
      replace(suggestions, matches.map((m) => h('li', { role: 'option', onmousedown: (e) => { e.preventDefault(); accept(m, start); } }, m)));
      suggestions.hidden = !matches.length;
      return;
    }
    const { word, start, inBraces } = wordAt(input.value, input.selectionStart);
    const pool = inBraces ? names.labels : [...names.metrics, ...FUNCTIONS];
    const matches = word ? pool.filter((n) => n.startsWith(word) && n !== word).slice(0, 12) : [];
    replace(suggestions, matches.map((m) => h('li', { role: 'option', onmousedown: (e) => { e.preventDefault(); accept(m, start); } }, m)));
    suggestions.hidden = !matches.length;
  };
  const accept = (text, start) => {
    const end = input.selectionStart;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.selectionStart = input.selectionEnd = start + text.length;
    suggestions.hidden = true;
    input.focus();
  };

  async function run() {
    const q = input.value.trim();
    suggestions.hidden = true;
    if (!q) return;
    params.set('q', q); params.set('range', range.value);
    if (step.value) params.set('step', step.value); else params.delete('step');
    setParams(params);
    const mode = params.get('tab') === 'table' ? 'table' : 'graph';
    const end = Math.floor(Date.now() / 1000);
    const seconds = RANGES[range.value];
    const stepSec = Number(step.value) > 0 ? Number(step.value) : stepFor(seconds, 500);
    replace(result, h('p', { class: 'muted' }, 'running…'));
    try {
      if (chart) { chart.destroy(); chart = null; }
      if (mode === 'table') {
        const data = await instantQuery(q, end, ctx.signal);
        const rows = data.resultType === 'vector' ? data.result.map((s) => [s.metric, s.value[1]])
          : data.resultType === 'matrix' ? data.result.map((s) => [s.metric, s.values.map((v) => v[1]).join(' ')])
            : [[{}, String(data.result[1])]];
        replace(result, h('table', { class: 'results' },
          h('thead', null, h('tr', null, h('th', null, 'series'), h('th', null, 'value'))),
          h('tbody', null, rows.map(([m, v]) => h('tr', null,
            h('td', null, h('span', { class: 'metric-name' }, m.__name__ || ''), labelChips(m)), h('td', { class: 'num' }, v))))),
        h('p', { class: 'muted' }, `${rows.length} result(s)`));
      } else {
        const data = await rangeQuery(q, end - seconds, end, stepSec, ctx.signal);
        if (!data.result.length) { replace(result, h('p', { class: 'nodata' }, 'no data')); return; }
        const box = h('div', { class: 'chart', 'data-panel': 'explore' });
        replace(result, box, h('p', { class: 'muted' }, `${data.result.length} series, step ${stepSec}s, last ${formatValue(seconds / 3600, '')} h`));
        chart = drawChart(box, { legend: '', expr: q }, data.result, end - seconds, end, stepSec);
      }
    } catch (e) {
      if (e.name !== 'AbortError') replace(result, h('p', { class: 'error', role: 'alert' }, String(e.message || e)));
    }
  }

  input.addEventListener('input', complete);
  input.addEventListener('blur', () => { suggestions.hidden = true; });
  input.addEventListener('keydown', (e) => {
    const first = suggestions.hidden ? null : suggestions.querySelector('li');
    if (e.key === 'Tab' && first) { e.preventDefault(); first.dispatchEvent(new MouseEvent('mousedown')); }
    else if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); run(); }
    else if (e.key === 'Escape') suggestions.hidden = true;
  });
  view.append(h('section', { class: 'card explore' },
    h('div', { class: 'query-box' }, input, suggestions),
    h('div', { class: 'toolbar' }, h('label', null, 'range ', range), h('label', null, 'step ', step),
      h('button', { type: 'button', class: 'primary', onclick: run }, 'Run'), tabs),
    result));
  ctx.cleanup(() => chart && chart.destroy());
  if (input.value) run();
}
