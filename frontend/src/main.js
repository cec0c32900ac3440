// Hash routing between pages; each page gets a context whose timers, listeners and
// requests end when the user leaves it.
import './style.css';
import { startBanner } from './banner.js';
import { themeChanged } from './chart.js';
import { h, replace } from './dom.js';
import { connect, liveMode, onNudge } from './live.js';
import { parseHash } from './route.js';
import { alertsPage } from './pages/alerts.js';
import { dashboardsPage } from './pages/dashboards.js';
import { errorsPage } from './pages/errors.js';
import { loadDashboards } from './panels.js';
import { explorePage } from './pages/explore.js';
import { healthPage } from './pages/health.js';
import { operationsPage } from './pages/operations.js';
import { overviewPage } from './pages/overview.js';
import { remotePage } from './pages/remote.js';

const PAGES = {
  overview: ['Overview', overviewPage],
  explore: ['Explore', explorePage],
  alerts: ['Alerts', alertsPage],
  health: ['Health', healthPage],
  errors: ['Errors', errorsPage],
  dashboards: ['Dashboards', dashboardsPage],
  operations: ['Operations', operationsPage],
  remote: ['Remote write', remotePage],
};

let current = null;

function makeContext() {
  const controller = new AbortController();
  const cleanups = [];
  return {
    signal: controller.signal,
    cleanup(fn) { cleanups.push(fn); },
    every(ms, fn) { const id = setInterval(fn, ms); cleanups.push(() => clearInterval(id)); },
    // Refresh quickly when polling, and on every nudge when the stream is up.
    live(topic, fn, pollMs = 1000) {
      let last = 0;
      const tick = () => {
        if (liveMode() === 'stream' && Date.now() - last < 15000) return;
        last = Date.now(); fn();
      };
      const id = setInterval(tick, pollMs);
      const off = onNudge((t) => { if (t === topic || t === '*') { last = Date.now(); fn(); } });
      cleanups.push(() => { clearInterval(id); off(); });
    },
    end() { controller.abort(); cleanups.forEach((fn) => fn()); },
  };
}

function route() {
  const { page, rest, params } = parseHash();
  if (current) current.end();
  current = makeContext();
  const nav = document.getElementById('nav');
  replace(nav, Object.entries(PAGES).map(([id, [title]]) =>
    h('a', { href: `#/${id}`, class: id === page ? 'active' : null, 'aria-current': id === page ? 'page' : null }, title)));
  const view = document.getElementById('view');
  replace(view);
  document.title = `${PAGES[page][0]} · watchkeeper`;
  PAGES[page][1](view, current, { rest, params });
}

function theme() {
  const saved = localStorage.getItem('watchkeeper-theme');
  if (saved) document.documentElement.dataset.theme = saved;
  document.getElementById('theme').addEventListener('click', () => {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === 'dark'
      : matchMedia('(prefers-color-scheme: dark)').matches;
    document.documentElement.dataset.theme = dark ? 'light' : 'dark';
    localStorage.setItem('watchkeeper-theme', document.documentElement.dataset.theme);
    themeChanged();
    route();
  });
}

performance.mark('app:start');
loadDashboards(); // in flight while the first page builds
theme();
window.addEventListener('hashchange', route);
connect((mode, transport) => {
  const status = document.getElementById('status');
  status.textContent = mode === 'stream' ? 'live' : 'polling';
  status.title = mode === 'stream' ? `updates pushed over ${transport}` : 'no stream: refreshing on a timer';
});
route();
startBanner(document.getElementById('banner'));
