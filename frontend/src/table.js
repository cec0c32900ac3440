// A table panel: one row per series (named by the panel's legend), one column per instant
// query, sortable by any column; the sort survives refreshes.
import { thresholdColor } from './chart.js';
import { h, replace } from './dom.js';
import { formatValue, legendOf } from './format.js';

// name -> [value per column] from each column's Prometheus answer
function rowsOf(panel, answers) {
  const rows = new Map();
  answers.forEach((answer, i) => {
    if (!answer || answer.status !== 'success') return;
    const { resultType, result } = answer.data;
    const series = resultType === 'scalar' ? [{ metric: {}, value: result }] : result;
    for (const s of series) {
      const name = legendOf(panel.legend, s.metric || {}, panel.expr);
      if (!rows.has(name)) rows.set(name, panel.columns.map(() => null));
      rows.get(name)[i] = Number(s.value[1]);
    }
  });
  return [...rows.entries()];
}

function compare(a, b, col, desc) {
  const x = col < 0 ? a[0] : a[1][col];
  const y = col < 0 ? b[0] : b[1][col];
  if (x == null || Number.isNaN(x)) return 1; // empty cells last either way
  if (y == null || Number.isNaN(y)) return -1;
  const order = typeof x === 'string' ? x.localeCompare(y) : x - y;
  return desc ? -order : order;
}

export function drawTable(box, panel, answers) {
  const errors = answers.map((a, i) => (a && a.status !== 'success'
    ? `${panel.columns[i].title}: ${a.error || 'no answer'}` : null)).filter(Boolean);
  const rows = rowsOf(panel, answers);
  if (!rows.length) {
    replace(box, errors.length ? h('p', { class: 'error' }, errors.join('; ')) : h('p', { class: 'nodata' }, 'no data'));
    box.dataset.drawn = '0';
    return;
  }
  const sort = box.sort || (box.sort = { col: 0, desc: true });
  rows.sort((a, b) => compare(a, b, sort.col, sort.desc));
  const header = (title, col) => {
    const active = sort.col === col;
    return h('th', { 'aria-sort': active ? (sort.desc ? 'descending' : 'ascending') : 'none' },
      h('button', { type: 'button', class: 'sort', 'data-col': col, onclick: () => {
        sort.desc = active ? !sort.desc : col >= 0; // numbers start high, names A to Z
        sort.col = col;
        drawTable(box, panel, answers);
      } }, title, active ? (sort.desc ? ' ↓' : ' ↑') : ''));
  };
  replace(box,
    h('div', { class: 'table-wrap' }, h('table', { class: 'results panel-table' },
      h('thead', null, h('tr', null, header(panel.legend.replace(/\{\{\s*([a-zA-Z0-9_]+)\s*\}\}/g, '$1').trim() || 'name', -1),
        panel.columns.map((c, i) => header(c.title, i)))),
      h('tbody', null, rows.map(([name, values]) => h('tr', { 'data-row': name },
        h('td', { class: 'series-name', title: name }, name),
        values.map((v, i) => {
          const color = v == null ? null : thresholdColor(panel.columns[i], v);
          return h('td', { class: `num ${color ? `t-${color}` : ''}`, 'data-value': v ?? '' },
            formatValue(v, panel.columns[i].unit));
        })))))),
    errors.length ? h('p', { class: 'error' }, errors.join('; ')) : null);
  box.dataset.drawn = '1';
}
