// Building blocks of the dashboard's views. Data is only ever inserted as text (append of a
// string makes a text node) or as attribute values (setAttribute escapes), never as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

export const $ = (id) => document.getElementById(id);

function fill(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'className') node.setAttribute('class', value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

export const el = (tag, attrs, ...children) => fill(document.createElement(tag), attrs, children);
export const svg = (tag, attrs, ...children) => fill(document.createElementNS(SVG_NS, tag), attrs, children);

/** The decisions the service makes; anything else is drawn as `unknown` (it names a CSS class). */
export const DECISIONS = ['indexed', 'in-flight', 'build', 'registry', 'error', 'blocked'];
export const decisionClass = (decision) => (DECISIONS.includes(decision) ? decision : 'unknown');

export const chip = (kind, text) => el('span', { className: `chip ${kind}` }, text ?? kind);
export const short = (sha) => (sha ? sha.slice(0, 12) : '–');
export const ago = (iso) => {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
};
export const seconds = (s) => (s === null || s === undefined ? '–' : s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(1)} s`);

/** Only web links become hrefs: a URL stored from elsewhere must never be `javascript:`. */
export const safeHref = (url) => (typeof url === 'string' && (/^https?:\/\//i.test(url) || /^\/(?!\/)/.test(url)) ? url : null);

export async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok && res.status !== 503) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}
