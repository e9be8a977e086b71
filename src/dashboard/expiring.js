// Images close to expiry (GET /health's `expiring`): each level-3 image whose task or artifact
// expires within the refresh window, and its rebuild. Data only as text or attribute values (dom.js).
import { $, ago, chip, el, short } from './dom.js';

/** A refresh's state, drawn in the chips' colours: done is green, queued blue, a dry run's would-queue amber, failed red. */
const CHIP = { done: 'indexed', queued: 'queued', 'would-queue': 'in-flight', failed: 'error' };

function row(e) {
  return el(
    'tr',
    {},
    el('td', {}, e.image),
    el('td', {}, e.repository),
    el('td', { title: e.digest }, short(e.digest)),
    el('td', {}, el('code', {}, e.taskId)),
    el('td', { title: e.expires }, new Date(e.expires).toLocaleString()),
    el('td', { title: e.pushId ? `push ${e.pushId}` : 'dry run: nothing queued' }, chip(CHIP[e.refresh] ?? 'unknown', e.refresh)),
  );
}

export function drawExpiring(health) {
  const list = Array.isArray(health.expiring) ? health.expiring : [];
  const refresh = health.refresh;
  $('expiring-sub').textContent = refresh ? `expiring within ${refresh.windowDays} days · looked ${refresh.lastRunAt ? ago(refresh.lastRunAt) : 'not yet'}` : '';
  $('expiring').replaceChildren(...(list.length ? list.map(row) : [el('tr', {}, el('td', { colspan: 6, className: 'muted' }, 'No level-3 image expires within the window.'))]));
}
