// What changed in the selected image (its `changes` in /pushes/<id>): the files of its context
// (with the %include they came by), %ARG values, the parent's digest, the builder image and the
// algorithm, or why a build of the same inputs was not reused. Data only as text (dom.js).
import { $, chip, el, short } from './dom.js';

/** Each change drawn in a chip colour: added green, changed amber, removed red. */
const CHIP = { added: 'indexed', changed: 'in-flight', removed: 'error' };

const fileState = (s) => (s ? `${s.size} bytes, mode ${s.mode.toString(8)}` : '–');
const value = (v) => (v === null || v === undefined ? el('span', { className: 'muted' }, 'unset') : el('code', { title: v }, /^[0-9a-f]{40,64}$/.test(v) ? short(v) : v));

function fileRow(f) {
  return el(
    'tr',
    { 'data-change': f.change },
    el('td', {}, chip(CHIP[f.change] ?? 'unknown', f.change)),
    el('td', {}, el('code', { className: 'path' }, f.path), f.include === undefined ? null : el('span', { className: 'muted include' }, ` %include ${f.include}`)),
    el('td', {}, fileState(f.before)),
    el('td', {}, fileState(f.after)),
  );
}

const inputRow = (label, v) =>
  el('tr', { 'data-change': 'input' }, el('td', {}, chip('build', 'input')), el('td', {}, label), el('td', {}, value(v.before)), el('td', {}, value(v.after)));
const noteRow = (text) => el('tr', {}, el('td', { colspan: 4, className: 'muted' }, text));

function rows(c) {
  const out = [];
  const files = c.files;
  if (files) {
    out.push(...files.list.map(fileRow));
    const total = files.added + files.removed + files.changed;
    if (total > files.list.length)
      out.push(noteRow(`… and ${total - files.list.length} more files (${files.added} added, ${files.removed} removed, ${files.changed} changed in all)`));
    if (files.note) out.push(noteRow(files.note));
  }
  for (const [name, v] of Object.entries(c.args || {})) out.push(inputRow(`%ARG ${name}`, v));
  if (c.parent) out.push(inputRow(`parent ${c.parent.name ?? ''}`, c.parent));
  if (c.builderImage) out.push(inputRow('builder image', c.builderImage));
  if (c.algorithm) out.push(inputRow('algorithm', c.algorithm));
  return out;
}

/** Shows the image's changes, or hides the section when it has none (not built, or nothing to say). */
export function drawChanges(name, image) {
  const changes = image && image.changes;
  $('changes-section').hidden = !changes;
  if (!changes) return;
  $('changes-name').textContent = name;
  $('changes-since').textContent = changes.since ? `since ${short(changes.since.rev)} (${changes.since.decision})` : '';
  $('changes-kind').replaceChildren(chip(changes.kind === 'changed' ? 'build' : changes.kind === 'miss' ? 'error' : 'registry', changes.kind));
  $('changes-summary').textContent = changes.summary;
  const list = rows(changes);
  $('changes').replaceChildren(...(list.length ? list : [noteRow('No file or input to list.')]));
}
