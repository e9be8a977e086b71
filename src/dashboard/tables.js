// The dashboard's tables and tiles: health, recent pushes, the selected push's images.
import { $, ago, chip, el, seconds, short } from './dom.js';

const percentile = (values, p) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

export function drawHealth(health) {
  const status = $('status');
  status.textContent = health.status;
  status.className = `pill ${health.status}`;
  $('mode').hidden = !health.dryRun;
  $('checks').replaceChildren(
    ...health.checks.map((c) =>
      el(
        'li',
        { title: c.detail },
        el('span', { className: 'name' }, c.name),
        chip(c.status === 'ok' ? 'indexed' : c.status === 'degraded' ? 'in-flight' : 'error', c.status),
        el('span', { className: 'muted' }, ` ${c.detail}`),
      ),
    ),
  );
  $('repositories').replaceChildren(...(health.repositories || []).map(drawRepository));
  const b = health.backlog;
  $('t-backlog').textContent = String(b.queued + b.deciding);
  $('t-backlog-sub').textContent = `${b.queued} queued, ${b.deciding} deciding${b.oldestQueuedSeconds !== null ? `, oldest ${seconds(b.oldestQueuedSeconds)}` : ''}`;
  const lastError = $('last-error');
  lastError.hidden = !health.lastError;
  if (health.lastError) lastError.textContent = `Last error ${ago(health.lastError.at)}: ${health.lastError.message}`;
}

// An unreachable upstream holds its pushes back (they wait, queued) until a probe fetch succeeds.
function drawRepository(r) {
  const fetched = r.lastFetchAt ? `fetched ${ago(r.lastFetchAt)}` : 'not fetched yet';
  const detail = r.reachable
    ? ` ${fetched}${r.failures ? `; ${r.failures} failed fetch${r.failures > 1 ? 'es' : ''} in a row: ${r.lastError}` : ''}`
    : ` since ${ago(r.since)}, its pushes wait; ${fetched}; ${r.failures} failed fetches in a row, the last: ${r.lastError}`;
  return el(
    'li',
    { title: r.lastError ?? '' },
    el('span', { className: 'name' }, r.name),
    chip(r.reachable ? 'indexed' : 'error', r.reachable ? 'reachable' : 'unreachable'),
    el('span', { className: 'muted' }, detail),
  );
}

export function drawPushes(pushes, { limit, selected, onSelect }) {
  const decided = pushes.filter((p) => p.state === 'decided');
  const latencies = decided.map((p) => p.seconds).filter((s) => typeof s === 'number');
  // Only the newest pushes are fetched: when all of them are within the hour there may be more.
  const hour = pushes.filter((p) => Date.now() - Date.parse(p.receivedAt) < 3600_000);
  $('t-pushes').textContent = `${hour.length}${hour.length === pushes.length && pushes.length >= limit ? '+' : ''}`;
  $('t-pushes-sub').textContent = `${hour.filter((p) => p.state === 'decided').length} decided, ${hour.filter((p) => p.state === 'failed').length} failed`;
  $('t-latency').textContent = latencies.length ? `${seconds(percentile(latencies, 50))} / ${seconds(percentile(latencies, 95))}` : '–';
  let indexed = 0;
  let needed = 0;
  for (const p of decided) {
    const c = p.counts || {};
    indexed += c.indexed || 0;
    needed += (c.indexed || 0) + (c.build || 0) + (c['in-flight'] || 0);
  }
  $('t-hits').textContent = needed ? `${Math.round((100 * indexed) / needed)} %` : '–';
  $('t-hits-sub').textContent = needed ? `${indexed} of ${needed} images were already built` : 'indexed ÷ images needing a build';
  if (pushes.length === 0) return;
  $('pushes').replaceChildren(
    ...pushes.map((p) =>
      el(
        'tr',
        { className: p.id === selected ? 'selected' : null, 'data-push': p.id },
        el('td', { title: p.receivedAt }, ago(p.receivedAt)),
        el('td', {}, p.repository),
        el('td', {}, el('code', {}, p.ref ?? (p.force ? `rebuild ${p.force.image}` : '–'))),
        el(
          'td',
          {},
          p.state === 'decided'
            ? selectButton(el('code', {}, short(p.resolvedRev ?? p.rev)), 'show this push’s graph', () => onSelect(p.id))
            : el('code', {}, short(p.resolvedRev ?? p.rev)),
          ' ',
          el(
            'a',
            { href: `/graph?rev=${encodeURIComponent(p.resolvedRev ?? p.rev)}&repo=${encodeURIComponent(p.repository)}`, className: 'muted', title: 'the graph as JSON' },
            'json',
          ),
        ),
        el('td', {}, p.pullRequest ? `${p.level} (PR)` : String(p.level)),
        el(
          'td',
          { title: p.lastError ? `${p.lastError.code}: ${p.lastError.message}` : '' },
          chip(p.state),
          p.attempts > 1 ? el('span', { className: 'muted' }, ` ×${p.attempts}`) : null,
          p.lastError && (p.state === 'failed' || p.state === 'queued')
            ? el(
                'span',
                { className: p.lastError.code === 'insufficient-scopes' ? 'config' : 'muted', title: p.lastError.message },
                p.lastError.code === 'insufficient-scopes' ? ` configuration: ${p.lastError.message}` : ` ${p.lastError.code}`,
              )
            : null,
        ),
        el('td', {}, ...Object.entries(p.counts || {}).map(([k, n]) => chip(k, `${n} ${k}`))),
        el('td', { className: 'num' }, seconds(p.seconds)),
      ),
    ),
  );
}

const selectButton = (content, title, onClick) => {
  const button = el('button', { type: 'button', className: 'linkish', title }, content);
  button.addEventListener('click', onClick);
  return button;
};

// The task id links to the image artifact when there is one; a dry run's ids were never created.
function taskCell(i) {
  if (!i.taskId || i.dryRun) return '–';
  const id = el('code', {}, i.taskId);
  return i.artifactUrl ? el('a', { href: i.artifactUrl, title: 'the image artifact' }, id) : id;
}

export function drawImages(detail, { onSelect }) {
  const { push, images } = detail;
  $('images-at').textContent = `at ${push.repository} ${short(push.resolvedRev ?? push.rev)} (${ago(push.receivedAt)})`;
  $('images').replaceChildren(
    ...Object.entries(images).map(([name, i]) =>
      el(
        'tr',
        {},
        el(
          'td',
          {},
          selectButton(el('strong', {}, name), 'show this image’s history', () => onSelect(name)),
        ),
        el('td', {}, chip(i.decision), i.dryRun ? el('span', { className: 'muted' }, ' dry run') : null),
        el('td', {}, taskCell(i)),
        el(
          'td',
          {},
          i.contextUrl
            ? el('a', { href: i.contextUrl }, el('code', {}, short(i.contextHash)))
            : i.reference
              ? el('code', { className: 'ref', title: i.reference }, i.reference)
              : '–',
        ),
        el('td', {}, i.parent ?? '–'),
        el('td', { className: 'reason' }, i.error ? `${i.error.code}: ${i.error.message}` : i.reason),
      ),
    ),
  );
}
