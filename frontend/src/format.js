// Numbers with units, as Grafana spells them, so a panel reads the same in both.
const SI = ['', 'k', 'M', 'G', 'T', 'P'];
const BIN = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function scaled(v, base, names, suffix = '') {
  let i = 0;
  let x = Math.abs(v);
  while (x >= base && i < names.length - 1) { x /= base; i++; }
  return `${v < 0 ? '-' : ''}${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)} ${`${names[i]}${suffix}`.trim()}`.trim();
}

// Durations in the unit a person reads them in: 120 ms, 4.20 s, 12 min, 5.5 h, 3.2 d.
function seconds(v) {
  const x = Math.abs(v);
  if (x < 1) return `${(v * 1000).toFixed(x < 0.01 ? 2 : 0)} ms`;
  if (x < 120) return `${v.toFixed(2)} s`;
  if (x < 7200) return `${(v / 60).toFixed(0)} min`;
  if (x < 2 * 86400) return `${(v / 3600).toFixed(1)} h`;
  return `${(v / 86400).toFixed(1)} d`;
}

export function formatValue(v, unit) {
  if (v == null || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  switch (unit) {
    case 'percent': return `${v.toFixed(1)}%`;
    case 'percentunit': return `${(v * 100).toFixed(1)}%`;
    case 'bytes': return scaled(v, 1024, BIN);
    case 'Bps': return `${scaled(v, 1024, BIN)}/s`;
    case 'bps': return scaled(v, 1000, SI, 'b/s');
    case 'seconds': return seconds(v);
    case 'ms': return `${v.toFixed(1)} ms`;
    case 'reqps': return scaled(v, 1000, SI, ' req/s');
    case 'ops': return scaled(v, 1000, SI, ' ops/s');
    case 'celsius': return `${v.toFixed(1)} °C`;
    case 'status': return v >= 1 ? 'up' : v > 0 ? 'degraded' : 'down';
    default: return Math.abs(v) >= 1000 ? scaled(v, 1000, SI) : `${+v.toPrecision(4)}`;
  }
}

// A series' name in a legend: the panel's template ("{{job}} {{instance}}") filled from its
// labels, else the series as Prometheus writes it; a series with no labels at all (an
// aggregate or arithmetic result) is named by the query that made it, as Grafana does.
export function legendOf(template, labels, expr = '') {
  if (template) {
    const text = template.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, k) => labels[k] ?? '');
    if (text.trim()) return text;
  }
  const { __name__: name = '', ...rest } = labels;
  const inner = Object.entries(rest).map(([k, v]) => `${k}="${v}"`).join(', ');
  if (inner) return `${name}{${inner}}`;
  return name || expr || '{}';
}

export const RANGES = { '15m': 900, '1h': 3600, '6h': 21600, '24h': 86400, '7d': 604800, '30d': 2592000 };

// A step of a minute or more is whole minutes, of five minutes or more whole five minutes:
// on ends aligned to it too (alignedEnd), the server answers from its 1 m or 5 m rollups
// instead of reading every raw sample (a selector's 5-minute lookback is one 5 m bucket).
function unitOf(step) {
  return step >= 300 ? 300 : step >= 60 ? 60 : 1;
}

export function stepFor(seconds, points = 300) {
  const step = Math.max(1, Math.round(seconds / points));
  const unit = unitOf(step);
  return Math.round(step / unit) * unit;
}

// The range's end for a step from stepFor: on its unit (what is left out is newer than one
// point of the chart).
export function alignedEnd(nowSeconds, step) {
  const unit = unitOf(step);
  return step % unit === 0 ? nowSeconds - (nowSeconds % unit) : nowSeconds;
}
