// A banner above every page while alerts fire, so nobody has to open the Alerts page to
// learn that something is wrong. When no receiver is configured (nor WATCHKEEPER_NOTIFY
// set) it also says how to add one: with none, firing alerts reach nobody but this page;
// when deliveries fail it says so.
import { get, prom } from './api.js';
import { h, labelChips, replace } from './dom.js';
import { onNudge } from './live.js';

const POLL_MS = 5000;
const SHOWN = 5;
// Integrations a receiver may have (Alertmanager's names), or an Alertmanager to forward to.
const RECEIVER = /(?:^|\n)\s*-?\s*(?:[a-z]+_configs|alertmanagers):\s*(?:\n\s*-|\[\s*[^\]\s])/g;
const NOT_RECEIVERS = new Set(['scrape_configs', 'static_configs', 'relabel_configs',
  'metric_relabel_configs', 'file_sd_configs', 'alert_relabel_configs', 'http_sd_configs',
  'dns_sd_configs', 'consul_sd_configs', 'kubernetes_sd_configs', 'remote_write_configs']);

// Whether the server's config (its /api/v1/status/config YAML) names any way to notify;
// null when the server does not say.
export function receiversConfigured(yamlText) {
  if (typeof yamlText !== 'string') return null;
  for (const m of yamlText.matchAll(RECEIVER)) {
    const key = m[0].trim().replace(/^-\s*/, '').split(':')[0];
    if (!NOT_RECEIVERS.has(key)) return true;
  }
  return false;
}

// Who is notified, as the server knows it (/api/v1/notifications: configured receivers and
// WATCHKEEPER_NOTIFY alike, and how their deliveries go); a server without that route is
// asked for its config instead. null: the server does not say.
async function notifications(signal) {
  try {
    const data = await prom('/api/v1/notifications', null, signal);
    if (data && typeof data.configured === 'boolean') {
      const failing = (data.integrations || []).filter((i) => i.failed > 0 || i.dropped > 0);
      return { configured: data.configured, failing };
    }
  } catch {
    // fall through to the config
  }
  try {
    const body = await get('/api/v1/status/config', null, signal);
    return { configured: receiversConfigured(body && body.data && body.data.yaml), failing: [] };
  } catch {
    return { configured: null, failing: [] };
  }
}

function hint() {
  return h('p', { class: 'banner-hint', 'data-hint': 'receiver' },
    'No receiver is configured, so these alerts notify nobody. Set ',
    h('code', null, 'WATCHKEEPER_NOTIFY'), ' to an Apprise URL (for example ',
    h('code', null, 'WATCHKEEPER_NOTIFY=ntfy://my-topic'), ') and restart, or add one to the ',
    'config under ', h('code', null, 'alerting.receivers'), ' (for example ',
    h('code', null, 'webhook_configs: [{url: "http://127.0.0.1:5001/hook"}]'),
    ') and reload, or forward to an Alertmanager.');
}

function failingHint(failing) {
  const names = failing.map((i) => i.id).join(', ');
  return h('p', { class: 'banner-hint', 'data-hint': 'failing' },
    `Notifications are failing for ${names}: see the Alerts page and the server log.`);
}

export function startBanner(box) {
  let notified = { configured: null, failing: [] };
  let checked = 0;
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      const data = await prom('/api/v1/alerts');
      const firing = ((data && data.alerts) || []).filter((a) => a.state === 'firing');
      if (!firing.length) { replace(box); box.hidden = true; return; }
      if (notified.configured === null || Date.now() - checked > 15000) {
        notified = await notifications();
        checked = Date.now();
      }
      const names = firing.slice(0, SHOWN).map((a) => h('li', { 'data-firing': a.labels.alertname },
        h('strong', null, a.labels.alertname || '(unnamed)'), ' ',
        labelChips(a.labels, ['__name__', 'alertname']), ' ',
        h('span', { class: 'annotation' }, (a.annotations && a.annotations.summary) || '')));
      const more = firing.length > SHOWN ? h('li', null, `and ${firing.length - SHOWN} more`) : null;
      replace(box,
        h('a', { href: '#/alerts', class: 'banner-title' },
          `${firing.length} alert${firing.length === 1 ? '' : 's'} firing`),
        h('ul', null, names, more),
        notified.configured === false ? hint() : null,
        notified.failing.length ? failingHint(notified.failing) : null);
      box.hidden = false;
    } catch {
      // no alerting on this server (or it is unreachable): no banner
      replace(box); box.hidden = true;
    } finally {
      busy = false;
    }
  };
  refresh();
  setInterval(refresh, POLL_MS);
  onNudge((topic) => { if (topic === 'alerts' || topic === '*') refresh(); });
}
