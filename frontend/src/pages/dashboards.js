// Dashboards defined in YAML (built-in and configured), one page each.
import { card, h, unavailable } from '../dom.js';
import { RANGES } from '../format.js';
import { rangeOf, setParams } from '../route.js';
import { loadDashboards, rangePicker, renderDashboard } from '../panels.js';

export async function dashboardsPage(view, ctx, { rest, params }) {
  const dashboards = await loadDashboards();
  if (!dashboards.length) { view.append(unavailable('Dashboards', 'none defined')); return; }
  const chosen = dashboards.find((d) => d.id === rest[0]);
  if (!chosen) {
    view.append(card('Dashboards', h('ul', { class: 'dash-list' }, dashboards.map((d) =>
      h('li', null, h('a', { href: `#/dashboards/${encodeURIComponent(d.id)}` }, d.title), ' ',
        h('span', { class: 'muted' }, d.description)))))); 
    return;
  }
  const range = rangeOf(params);
  const charts = h('div', { class: 'charts' });
  view.append(h('div', { class: 'toolbar' }, h('h1', null, chosen.title),
    rangePicker(range, (r) => { params.set('range', r); setParams(params, false); })), charts);
  renderDashboard(charts, chosen, RANGES[range], ctx);
}
