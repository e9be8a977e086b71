// The dashboard's script: polls the JSON API and redraws. Everything from repositories (image
// names, reasons, refs) is inserted as text or attribute values, never as markup (dom.js).
import { drawChanges } from './changes.js';
import { buildsChart, latencyChart } from './charts.js';
import { $, ago, el, getJson, short } from './dom.js';
import { drawExpiring } from './expiring.js';
import { drawGraph, drawLegend } from './graph-svg.js';
import { historyRows } from './history.js';
import { drawHealth, drawImages, drawPushes } from './tables.js';

const REFRESH_MS = 5000;
const PUSH_LIMIT = 20;
const CHART_HOURS = 24;

/** What the operator chose: a push (else the newest decided one) and an image of it. */
const selection = { pushId: null, image: null };
let shown = null;

const imageHref = (push, name) => `/images/${encodeURIComponent(name)}?repo=${encodeURIComponent(push.repository)}&rev=${encodeURIComponent(push.resolvedRev ?? push.rev)}`;

// A choice is drawn at once, besides the poll (which keeps its own schedule).
function selectPush(id) {
  selection.pushId = id;
  selection.image = null;
  refresh();
}

function selectImage(name) {
  selection.image = name;
  if (shown) drawPush(shown);
  drawHistory().catch(showFailure);
}

function drawPush(detail) {
  shown = detail;
  drawImages(detail, { onSelect: selectImage });
  drawChanges(selection.image, selection.image && Object.hasOwn(detail.images, selection.image) ? detail.images[selection.image] : null);
  const { push, images } = detail;
  $('graph-at').textContent = `at ${push.repository} ${short(push.resolvedRev ?? push.rev)} (${ago(push.receivedAt)})`;
  const count = Object.keys(images).length;
  $('graph').replaceChildren(
    count
      ? drawGraph(images, { hrefOf: (name) => imageHref(push, name), onSelect: selectImage, selected: selection.image })
      : el('p', { className: 'muted' }, 'This push has no images.'),
  );
}

async function drawHistory() {
  const push = shown?.push;
  const name = selection.image;
  $('history-section').hidden = !name || !push;
  if (!name || !push) return;
  const history = await getJson(`/images/${encodeURIComponent(name)}/history?repo=${encodeURIComponent(push.repository)}&limit=20`);
  if (selection.image !== name) return;
  $('history-name').textContent = name;
  $('history-root').textContent = history.rootUrl ? `tasks on ${history.rootUrl}` : 'dry run: no Taskcluster';
  $('history').replaceChildren(...historyRows(history));
}

function drawActivity(activity) {
  $('chart-latency').replaceChildren(latencyChart(activity.hours));
  $('chart-builds').replaceChildren(buildsChart(activity.hours));
  const decided = activity.hours.reduce((n, h) => n + h.decided, 0);
  const builds = activity.hours.reduce((n, h) => n + h.builds, 0);
  $('activity-sub').textContent = `${decided} push${decided === 1 ? '' : 'es'} decided, ${builds} build${builds === 1 ? '' : 's'} created`;
}

function showFailure(err) {
  // Keep the last data on screen but say plainly that it is stale.
  $('status').textContent = 'unreachable';
  $('status').className = 'pill down';
  $('updated').textContent = `update failed: ${err.message}`;
}

async function refresh() {
  try {
    const [health, { pushes }, activity] = await Promise.all([getJson('/health'), getJson(`/pushes?limit=${PUSH_LIMIT}`), getJson(`/activity?hours=${CHART_HOURS}`)]);
    drawHealth(health);
    drawExpiring(health);
    const chosen = pushes.find((p) => p.id === selection.pushId && p.state === 'decided') ?? pushes.find((p) => p.state === 'decided');
    drawPushes(pushes, { limit: PUSH_LIMIT, selected: chosen?.id, onSelect: selectPush });
    drawActivity(activity);
    if (chosen) {
      drawPush(await getJson(`/pushes/${encodeURIComponent(chosen.id)}`));
      await drawHistory();
    }
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    showFailure(err);
  }
}

// The next poll is scheduled after this one settles, so a slow server never gets overlapping polls.
async function loop() {
  await refresh();
  window.setTimeout(loop, REFRESH_MS);
}
$('legend').replaceChildren(drawLegend());
loop();
