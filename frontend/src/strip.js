// A history strip: one cell per step, coloured by status (1 healthy, 0.5 degraded, 0 down).
import { h } from './dom.js';

export function statusClass(v) {
  if (v == null) return 'none';
  return v >= 1 ? 'ok' : v > 0 ? 'warn' : 'bad';
}

export function strip(values, start, step, cells, titleOf = (v) => String(v)) {
  const byIndex = new Array(cells).fill(null);
  for (const [t, v] of values || []) {
    const i = Math.round((t - start) / step);
    if (i >= 0 && i < cells) byIndex[i] = Number(v);
  }
  return h('div', { class: 'strip', role: 'img', 'aria-label': 'history' },
    byIndex.map((v, i) => h('span', {
      class: `cell ${statusClass(v)}`,
      title: `${new Date((start + i * step) * 1000).toLocaleTimeString()}: ${v == null ? 'no data' : titleOf(v)}`,
    })));
}
