// The image graph of one push as an SVG tree: roots on the left, each image's children in the
// column after it, a parent centred on its children; edges run parent → child.
import { DECISIONS, decisionClass, el, svg } from './dom.js';

const NODE_W = 190;
const NODE_H = 42;
const COLUMN_GAP = 64;
const ROW_GAP = 12;
const MARGIN = 12;
const MAX_LABEL = 24;

/**
 * Rows and columns of a tidy tree: a leaf takes the next row, a parent sits midway between its
 * first and last child. An image whose parent is not in the graph is a root; a cycle of parents
 * (images in error) is broken where it is first entered.
 */
export function layoutTree(images) {
  const names = new Set(images.map((i) => i.name));
  const children = new Map(images.map((i) => [i.name, []]));
  const roots = [];
  for (const i of images) {
    if (i.parent && i.parent !== i.name && names.has(i.parent)) children.get(i.parent).push(i.name);
    else roots.push(i.name);
  }
  const place = new Map();
  let nextRow = 0;
  const visit = (name, depth) => {
    if (place.has(name)) return;
    place.set(name, null);
    const placed = children.get(name).filter((child) => !place.has(child));
    for (const child of placed) visit(child, depth + 1);
    const rows = placed.map((child) => place.get(child).row);
    place.set(name, { depth, row: rows.length ? (rows[0] + rows[rows.length - 1]) / 2 : nextRow++ });
  };
  for (const root of roots) visit(root, 0);
  for (const i of images) visit(i.name, 0);
  const edges = images.filter((i) => i.parent && i.parent !== i.name && names.has(i.parent)).map((i) => ({ parent: i.parent, child: i.name }));
  return { place, edges, rows: nextRow, depth: Math.max(0, ...[...place.values()].map((p) => p.depth)) };
}

const label = (name) => (name.length > MAX_LABEL ? `${name.slice(0, MAX_LABEL - 1)}…` : name);
const nodeX = (p) => MARGIN + p.depth * (NODE_W + COLUMN_GAP);
const nodeY = (p) => MARGIN + p.row * (NODE_H + ROW_GAP);

/**
 * `images` as `/pushes/<id>` gives them ({name: image}); `hrefOf(name)` is the node's link,
 * `onSelect(name)` is called on a plain click (a modified click follows the link).
 */
export function drawGraph(images, { hrefOf, onSelect, selected }) {
  const list = Object.entries(images).map(([name, image]) => ({ name, parent: image.parent ?? null, image }));
  const { place, edges, rows, depth } = layoutTree(list);
  const width = 2 * MARGIN + (depth + 1) * NODE_W + depth * COLUMN_GAP;
  const height = 2 * MARGIN + Math.max(1, rows) * (NODE_H + ROW_GAP) - ROW_GAP;
  const root = svg('svg', { className: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `image graph: ${list.length} images` });
  root.append(
    svg(
      'defs',
      {},
      svg(
        'marker',
        { id: 'arrow', viewBox: '0 0 8 8', refX: 8, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto' },
        svg('path', { d: 'M0,0 L8,4 L0,8 z', className: 'arrow' }),
      ),
    ),
  );
  for (const { parent, child } of edges) {
    const a = place.get(parent);
    const b = place.get(child);
    const [x1, y1, x2, y2] = [nodeX(a) + NODE_W, nodeY(a) + NODE_H / 2, nodeX(b), nodeY(b) + NODE_H / 2];
    const mid = (x1 + x2) / 2;
    root.append(
      svg('path', { className: 'edge', 'data-parent': parent, 'data-child': child, d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, 'marker-end': 'url(#arrow)' }),
    );
  }
  for (const { name, image } of list) {
    const p = place.get(name);
    const kind = decisionClass(image.decision);
    const link = svg(
      'a',
      { className: 'node-link', href: hrefOf(name), 'data-name': name },
      svg(
        'g',
        {
          className: `node decision-${kind}${name === selected ? ' selected' : ''}`,
          'data-name': name,
          'data-decision': image.decision,
          transform: `translate(${nodeX(p)},${nodeY(p)})`,
        },
        svg('title', {}, `${name}: ${image.decision} — ${image.error ? `${image.error.code}: ${image.error.message}` : image.reason}`),
        svg('rect', { width: NODE_W, height: NODE_H, rx: 7 }),
        svg('text', { x: 10, y: 17, className: 'name' }, label(name)),
        svg('text', { x: 10, y: 33, className: 'decision' }, image.dryRun ? `${image.decision} (dry run)` : image.decision),
      ),
    );
    link.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      onSelect(name);
    });
    root.append(link);
  }
  return root;
}

export function drawLegend() {
  return el('ul', { className: 'legend', 'aria-label': 'decisions' }, ...DECISIONS.map((d) => el('li', {}, el('span', { className: `swatch decision-${d}` }), d)));
}
