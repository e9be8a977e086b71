import type { ImageSpec } from './types.ts';

const byName = (a: ImageSpec, b: ImageSpec) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Breadth-first from `start`, level by level, each level sorted by name: the order in
 * which images become ready once their parents are placed. Linear in the images (a kind
 * file may hold thousands, in chains thousands deep).
 */
function levels(start: ImageSpec[], children: ReadonlyMap<string, ImageSpec[]>, out: ImageSpec[], placed: Set<string>): void {
  let level = start.sort(byName);
  while (level.length > 0) {
    const next: ImageSpec[] = [];
    for (const image of level) {
      out.push(image);
      placed.add(image.name);
      for (const child of children.get(image.name) ?? []) next.push(child);
    }
    level = next.sort(byName);
  }
}

/** The cycle from its first image back to it; a long one shortened (each image's message holds it). */
function cycleText(members: readonly string[]): string {
  const MAX = 12;
  const shown = members.length <= MAX ? members : [...members.slice(0, MAX - 1), `… (${members.length} images)`];
  return [...shown, members[0]].join(' -> ');
}

/**
 * Orders images parents first (by name among equals). An image whose parent is
 * not a build image gets `unknown-parent`; images on a cycle get `parent-cycle`
 * and come last. Images that are merely below an error stay as they are: the
 * graph marks them blocked.
 */
export function orderParentsFirst(images: readonly ImageSpec[]): ImageSpec[] {
  const named = new Map(images.map((i) => [i.name, i]));
  const specs = images.map((image): ImageSpec => {
    if (image.error || image.parent === null) return image;
    const parent = named.get(image.parent);
    if (parent?.kind === 'build') return image;
    const message = parent
      ? `parent ${image.parent} of ${image.name} is a registry image, not a build`
      : `parent ${image.parent} of ${image.name} is not an image of this repository`;
    return { ...image, error: { code: 'unknown-parent', message } };
  });
  const isRoot = (i: ImageSpec) => i.parent === null || i.error?.code === 'unknown-parent';
  const children = new Map<string, ImageSpec[]>();
  for (const image of specs) {
    if (isRoot(image)) continue;
    const list = children.get(image.parent!) ?? [];
    list.push(image);
    children.set(image.parent!, list);
  }

  const ordered: ImageSpec[] = [];
  const placed = new Set<string>();
  levels(specs.filter(isRoot), children, ordered, placed);

  // What is left waits on a cycle: on it, or below it. Follow parents, marking each walk.
  const remaining = new Map(specs.filter((i) => !placed.has(i.name)).map((i) => [i.name, i]));
  const state = new Map<string, 'walking' | 'done'>();
  // Each image on a cycle is told its own cycle, written child -> parent and back to itself.
  const cycleOf = new Map<string, string>();
  for (const start of remaining.keys()) {
    const path: string[] = [];
    let name: string | null = start;
    while (name !== null && remaining.has(name) && !state.has(name)) {
      state.set(name, 'walking');
      path.push(name);
      name = remaining.get(name)!.parent;
    }
    if (name !== null && state.get(name) === 'walking') {
      const members = path.slice(path.indexOf(name));
      members.forEach((member, i) => cycleOf.set(member, cycleText([...members.slice(i), ...members.slice(0, i)])));
    }
    for (const n of path) state.set(n, 'done');
  }
  const onCycle = new Set(cycleOf.keys());
  const cycle = [...remaining.values()].filter((i) => onCycle.has(i.name)).sort(byName);
  const below: ImageSpec[] = [];
  const cycleChildren = cycle.flatMap((i) => (children.get(i.name) ?? []).filter((c) => !onCycle.has(c.name)));
  levels(cycleChildren, children, below, new Set(onCycle));
  return [
    ...ordered,
    ...cycle.map((i) => ({ ...i, error: i.error ?? { code: 'parent-cycle' as const, message: `${i.name} is on a parent cycle: ${cycleOf.get(i.name)}` } })),
    ...below,
  ];
}
