// Two small charts of `/activity`'s hours: decision latency (p50 and p95 points and lines) and
// builds created per hour (bars). Quiet hours are gaps, not zeros.
import { seconds, svg } from './dom.js';

const W = 640;
const H = 170;
const PAD = { left: 52, right: 12, top: 14, bottom: 26 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

const hourLabel = (iso) => `${String(new Date(iso).getHours()).padStart(2, '0')}:00`;

/** A round upper bound for the axis: 1, 2 or 5 times a power of ten. */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value);
}

function frame(label, hours, max, format) {
  const root = svg('svg', { className: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label });
  const slot = PLOT_W / hours.length;
  const x = (i) => PAD.left + slot * (i + 0.5);
  const y = (v) => PAD.top + PLOT_H * (1 - v / max);
  for (const v of [0, max / 2, max]) {
    root.append(svg('line', { className: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
    root.append(svg('text', { className: 'axis', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  hours.forEach((h, i) => {
    if (i % 6 === 0 || i === hours.length - 1) root.append(svg('text', { className: 'axis', x: x(i), y: H - 8, 'text-anchor': 'middle' }, hourLabel(h.hour)));
  });
  return { root, slot, x, y };
}

export function latencyChart(hours) {
  const max = niceMax(Math.max(0, ...hours.map((h) => h.latencyP95 ?? 0)));
  const { root, x, y } = frame('decision latency per hour, p50 and p95', hours, max, (v) => (v === 0 ? '0' : seconds(v)));
  for (const [key, series] of [
    ['latencyP95', 'p95'],
    ['latencyP50', 'p50'],
  ]) {
    const points = hours.map((h, i) => [h, i]).filter(([h]) => h[key] !== null);
    if (points.length > 1) root.append(svg('polyline', { className: `line ${series}`, points: points.map(([h, i]) => `${x(i)},${y(h[key])}`).join(' ') }));
    for (const [h, i] of points) {
      root.append(
        svg(
          'circle',
          { className: `point ${series}`, cx: x(i), cy: y(h[key]), r: 3.5, 'data-hour': h.hour, 'data-seconds': h[key] },
          svg('title', {}, `${hourLabel(h.hour)}: ${series} ${seconds(h[key])} over ${h.decided} push${h.decided === 1 ? '' : 'es'}`),
        ),
      );
    }
  }
  root.append(svg('text', { className: 'key p50', x: PAD.left + 4, y: PAD.top + 2 }, '● p50'), svg('text', { className: 'key p95', x: PAD.left + 54, y: PAD.top + 2 }, '● p95'));
  return root;
}

export function buildsChart(hours) {
  const max = niceMax(Math.max(0, ...hours.map((h) => h.builds)));
  const { root, slot, x, y } = frame('builds created per hour', hours, max, (v) => (Number.isInteger(v) ? String(v) : ''));
  hours.forEach((h, i) => {
    if (h.builds === 0) return;
    const top = y(h.builds);
    root.append(
      svg(
        'rect',
        { className: 'bar', x: x(i) - slot * 0.35, y: top, width: slot * 0.7, height: PAD.top + PLOT_H - top, 'data-hour': h.hour, 'data-builds': h.builds },
        svg('title', {}, `${hourLabel(h.hour)}: ${h.builds} build${h.builds === 1 ? '' : 's'}`),
      ),
    );
  });
  return root;
}
