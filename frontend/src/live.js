// Live updates over the server's WebSocket /api/v1/stream: the page subscribes to the ALERTS
// series and health results and nudges pages to refresh when either changes. A message
// {topic: "..."} nudges that topic directly. Without a stream, pages poll.
const listeners = new Set();
const SUBSCRIPTION = { queries: ['ALERTS'], health: true, interval: 1000 };
let mode = 'polling';
let last = { alerts: null, health: null };

export function liveMode() { return mode; }

export function onNudge(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function nudge(topic) {
  for (const fn of listeners) {
    try { fn(topic); } catch (e) { console.warn(e); }
  }
}

function alertsKey(result) {
  return JSON.stringify((result || []).map((s) => s.metric).sort((a, b) =>
    JSON.stringify(a).localeCompare(JSON.stringify(b))));
}

export function handleMessage(data) {
  let msg;
  try { msg = JSON.parse(data); } catch { return; }
  if (msg.topic) { nudge(msg.topic); return; }
  if (msg.type !== 'update') return;
  const alerts = (msg.queries || []).find((q) => q.query === 'ALERTS');
  if (alerts && !alerts.error) {
    const key = alertsKey(alerts.result && alerts.result.result);
    if (last.alerts !== null && key !== last.alerts) nudge('alerts');
    last.alerts = key;
  }
  if (msg.health) {
    const key = JSON.stringify(Object.entries(msg.health).map(([k, v]) => [k, v.status]).sort());
    if (last.health !== null && key !== last.health) nudge('health');
    last.health = key;
  }
}

export function connect(onMode) {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  let tries = 0;
  const open = () => {
    if (tries++ > 5) { mode = 'polling'; onMode(mode); return; }
    let socket;
    try {
      socket = new WebSocket(`${proto}://${location.host}/api/v1/stream`);
    } catch { mode = 'polling'; onMode(mode); return; }
    socket.onopen = () => {
      tries = 0; mode = 'stream'; onMode(mode);
      socket.send(JSON.stringify(SUBSCRIPTION));
    };
    socket.onmessage = (ev) => handleMessage(ev.data);
    socket.onclose = () => {
      mode = 'polling'; onMode(mode);
      last = { alerts: null, health: null };
      setTimeout(open, Math.min(30000, 1000 * 2 ** tries));
    };
  };
  open();
}
