// Errors: the error groups (/api/v1/errors) with counts, users, first/last seen and status;
// a group's detail (#/errors/ID): why its events share it, routes, the latest sample's
// stack, and resolve / ignore / reopen.
import { prom, send } from '../api.js';
import { ago, card, h, replace, unavailable } from '../dom.js';

const STATUSES = ['open', 'resolved', 'ignored'];

const TONE = { open: 's-fail', resolved: 's-pass', ignored: 's-warn' };

function statusBadge(group) {
  return h('span', { class: TONE[group.status] || '', 'data-status': group.status },
    h('span', { class: 'badge' }, group.status, group.regressed ? ' (regressed)' : ''));
}

async function listGroups(box, ctx, status) {
  try {
    const params = { limit: 200, sort: 'last_seen' };
    if (status) params.status = status;
    const groups = await prom('/api/v1/errors', params, ctx.signal);
    if (!groups.length) { replace(box, h('p', { class: 'nodata' }, 'no error groups')); return; }
    replace(box, h('table', { class: 'results', 'data-table': 'errors' },
      h('thead', null, h('tr', null, ['Error', 'Status', 'Events', 'Users', 'First seen', 'Last seen']
        .map((t) => h('th', null, t)))),
      h('tbody', null, groups.map((g) => h('tr', { 'data-group': g.id },
        h('td', null, h('a', { href: `#/errors/${encodeURIComponent(g.id)}` }, g.title),
          h('div', { class: 'muted' }, g.culprit || g.error_type)),
        h('td', null, statusBadge(g)),
        h('td', { class: 'num', 'data-count': g.count }, String(g.count)),
        h('td', { class: 'num' }, String(g.users)),
        h('td', null, ago(g.first_seen * 1000)),
        h('td', null, ago(g.last_seen * 1000)))))));
  } catch (e) {
    if (e.name !== 'AbortError') replace(box, unavailable('Error groups', e.message));
  }
}

function stack(sample) {
  const values = (sample.exception && sample.exception.values) || [];
  if (!values.length) return h('p', null, (sample.logentry && sample.logentry.message) || sample.message || '');
  return values.map((v) => h('div', { class: 'exception' },
    h('ol', { class: 'frames' }, ((v.stacktrace && v.stacktrace.frames) || []).map((f) =>
      h('li', { class: f.in_app ? 'in-app' : 'library muted', 'data-in-app': f.in_app ? '1' : '0' },
        `${f.module || f.filename || '?'}.${f.function || '?'}`, h('span', { class: 'muted' }, ` line ${f.lineno ?? '?'}`),
        f.vars ? h('div', { class: 'vars muted' }, Object.entries(f.vars).map(([k, val]) => `${k}=${typeof val === 'string' ? val : JSON.stringify(val)}`).join('  ')) : null))),
    h('p', null, h('strong', null, v.type || 'Error'), ': ', v.value || '')));
}

async function showGroup(view, ctx, id) {
  const box = h('div', { 'data-section': 'error-group' }, h('p', { class: 'muted' }, 'loading…'));
  view.append(h('p', null, h('a', { href: '#/errors' }, '← all errors')), box);
  const note = h('p', { class: 'muted', 'data-note': '' });
  const draw = async () => {
    let g;
    try {
      g = await prom(`/api/v1/errors/${encodeURIComponent(id)}`, null, ctx.signal);
    } catch (e) {
      if (e.name !== 'AbortError') replace(box, unavailable('Error group', e.message));
      return;
    }
    const act = (label, action) => h('button', { type: 'button', 'data-action': action, onclick: async (e) => {
      e.target.disabled = true;
      try { await send('POST', `/api/v1/errors/${encodeURIComponent(id)}/${action}`); note.textContent = `${label}: done`; } catch (err) { note.textContent = `${label} failed: ${err.message}`; }
      draw();
    } }, label);
    const samples = g.samples || [];
    replace(box,
      card(g.title,
        h('p', null, statusBadge(g), ` · ${g.count} events · ~${g.users} users · first seen ${ago(g.first_seen * 1000)} · last seen ${ago(g.last_seen * 1000)}`,
          g.last_release ? ` · release ${g.last_release}` : ''),
        h('p', { class: 'actions' }, g.status !== 'resolved' ? act('Resolve', 'resolve') : null,
          g.status !== 'ignored' ? act('Ignore', 'ignore') : null, g.status !== 'open' ? act('Reopen', 'reopen') : null),
        note),
      card('Why these events are one group', h('p', { 'data-explanation': g.explanation.basis }, g.explanation.text),
        g.explanation.frames.length ? h('ol', null, g.explanation.frames.map((f) => h('li', null, f))) : null,
        g.explanation.messages.length ? h('ul', null, g.explanation.messages.map((m) => h('li', null, m))) : null),
      card('Routes', h('ul', null, Object.entries(g.routes || {}).map(([r, n]) => h('li', null, `${r || '(none)'}: ${n}`)))),
      card(`Latest sample (${samples.length} kept)`, samples.length ? stack(samples[0]) : h('p', { class: 'nodata' }, 'no sample')));
  };
  await draw();
}

export function errorsPage(view, ctx, { rest, params }) {
  if (rest[0]) { showGroup(view, ctx, rest[0]); return; }
  const status = STATUSES.includes(params.get('status')) ? params.get('status') : '';
  const box = h('div', { 'data-section': 'errors' }, h('p', { class: 'muted' }, 'loading…'));
  const filter = h('p', { class: 'filters' }, ['', ...STATUSES].map((s) =>
    h('a', { href: s ? `#/errors?status=${s}` : '#/errors', class: s === status ? 'active' : null }, s || 'all')));
  view.append(card('Error groups', filter, box));
  const refresh = () => listGroups(box, ctx, status);
  refresh();
  ctx.every(10000, refresh);
}
