// One image's history (`/images/<name>/history`): its decision, digest and task in each push,
// the task and the artifact linked on the Taskcluster root URL when there is one.
import { ago, chip, el, safeHref, short } from './dom.js';

function taskCell(entry) {
  if (!entry.taskId || entry.dryRun) return entry.dryRun ? el('span', { className: 'muted' }, 'dry run') : '–';
  const href = safeHref(entry.taskUrl);
  const id = el('code', {}, entry.taskId);
  return href ? el('a', { href, className: 'task-link', title: 'the task in Taskcluster' }, id) : id;
}

function artifactCell(entry) {
  const href = entry.dryRun ? null : safeHref(entry.artifactUrl);
  return href ? el('a', { href, className: 'artifact-link', title: 'public/image.tar.zst' }, 'image.tar.zst') : '–';
}

export function historyRows(history) {
  if (history.entries.length === 0) return [el('tr', {}, el('td', { colspan: 7, className: 'muted' }, 'No recorded decision of this image yet.'))];
  return history.entries.map((e) =>
    el(
      'tr',
      { 'data-push': e.pushId },
      el('td', { title: e.receivedAt }, ago(e.receivedAt)),
      el('td', {}, el('code', { title: e.rev }, short(e.rev))),
      el('td', {}, chip(e.decision), e.forced ? el('span', { className: 'muted' }, ' forced') : null),
      el('td', {}, e.digest ? el('code', { title: e.digest }, short(e.digest)) : '–'),
      el('td', {}, taskCell(e)),
      el('td', {}, artifactCell(e)),
      el('td', { className: 'reason' }, e.reason),
    ),
  );
}
