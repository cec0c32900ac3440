// Live updates: the server's stream (WebSocket /api/v1/stream, or SSE at the same path)
// nudges pages to refresh; without a stream, pages poll. One connection per tab.
const listeners = new Set();
let mode = 'polling';
let socket = null;

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

function topicOf(data) {
  try {
    const msg = JSON.parse(data);
    return msg.topic || msg.type || msg.kind || '*';
  } catch { return '*'; }
}

export function connect(onMode) {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  let tries = 0;
  const open = () => {
    if (tries++ > 5) { mode = 'polling'; onMode(mode); return; }
    try {
      socket = new WebSocket(`${proto}://${location.host}/api/v1/stream`);
    } catch { mode = 'polling'; onMode(mode); return; }
    socket.onopen = () => { tries = 0; mode = 'stream'; onMode(mode); };
    socket.onmessage = (ev) => nudge(topicOf(ev.data));
    socket.onclose = () => {
      mode = 'polling'; onMode(mode);
      setTimeout(open, Math.min(30000, 1000 * 2 ** tries));
    };
  };
  open();
}
