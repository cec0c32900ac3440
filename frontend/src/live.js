// Live updates: the page subscribes to the ALERTS series and health results over the server's
// stream and nudges pages to refresh when either changes; a message {topic: "..."} nudges
// that topic directly. WebSocket /api/v1/stream first; where it cannot connect, or a proxy
// cuts it before anything arrives, the same subscription over Server-Sent Events
// (/api/v1/stream/sse). A lost stream comes back with exponential backoff; meanwhile
// pages poll.
const listeners = new Set();
const SUBSCRIPTION = { queries: ['ALERTS'], health: true, interval: 1000 };
const MAX_BACKOFF_MS = 30000;
// A stream answers its subscription at once; one silent this long is stuck (a proxy holding
// the upgrade, a buffered event stream) and the next transport is tried.
const FIRST_MESSAGE_MS = 5000;
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

function openWebSocket(on) {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${proto}://${location.host}/api/v1/stream`);
  socket.onopen = () => socket.send(JSON.stringify(SUBSCRIPTION));
  socket.onmessage = (ev) => on.message(ev.data);
  socket.onclose = () => on.down();
  return () => { socket.onclose = null; socket.close(); };
}

function openEventSource(on) {
  const params = new URLSearchParams(SUBSCRIPTION.queries.map((q) => ['query', q]));
  params.set('health', SUBSCRIPTION.health ? '1' : '0');
  params.set('interval', String(SUBSCRIPTION.interval));
  const source = new EventSource(`/api/v1/stream/sse?${params}`);
  source.onmessage = (ev) => on.message(ev.data);
  // closed here so our backoff and transport choice apply, not the browser's fixed retry
  source.onerror = () => { source.close(); on.down(); };
  return () => source.close();
}

const TRANSPORTS = [['WebSocket', openWebSocket], ['Server-Sent Events', openEventSource]];

// onMode(mode, transport): 'stream' once a transport delivers, 'polling' while none does.
export function connect(onMode) {
  let index = 0;
  let failures = 0;
  const open = () => {
    const [name, opener] = TRANSPORTS[index];
    let delivered = false;
    let down = false;
    let close = () => {};
    const silent = setTimeout(() => { close(); on.down(); }, FIRST_MESSAGE_MS);
    const on = {
      message(data) {
        if (!delivered) { delivered = true; failures = 0; clearTimeout(silent); mode = 'stream'; onMode(mode, name); }
        handleMessage(data);
      },
      down() {
        if (down) return;
        down = true;
        clearTimeout(silent);
        if (mode !== 'polling') { mode = 'polling'; onMode(mode, null); }
        last = { alerts: null, health: null };
        if (delivered) { setTimeout(open, 1000); return; } // it worked: the same again, soon
        failures += 1;
        index = (index + 1) % TRANSPORTS.length;
        // the other transport at once; after both failed, wait longer each round
        setTimeout(open, index ? 0 : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(failures, 5)));
      },
    };
    try { close = opener(on); } catch { on.down(); }
  };
  open();
}
