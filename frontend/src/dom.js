// DOM building that only ever creates text nodes from data: label values, annotations and
// check details can hold markup and must show literally, never run.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else if (key === 'value') el.value = value;
      else if (key === 'style') Object.assign(el.style, value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  add(el, children);
  return el;
}

export function add(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return add(el, children);
}

export function labelChips(labels, skip = ['__name__']) {
  return h('span', { class: 'chips' },
    Object.entries(labels || {}).filter(([k]) => !skip.includes(k))
      .map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v}`)));
}

export function unavailable(what, detail) {
  return h('div', { class: 'unavailable', 'data-unavailable': what },
    h('strong', null, `${what} unavailable`), detail ? h('span', null, ` — ${detail}`) : null);
}

export function card(title, ...body) {
  return h('section', { class: 'card' }, h('h2', null, title), ...body);
}

export function ago(ms) {
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}
