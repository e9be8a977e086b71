import type { ImageSpec } from './types.ts';

/**
 * Orders images parents first (by name among equals). An image whose parent is
 * not a build image gets `unknown-parent`; images on a cycle get `parent-cycle`
 * and come last. Images that are merely below an error stay as they are: the
 * graph marks them blocked.
 */
export function orderParentsFirst(images: readonly ImageSpec[]): ImageSpec[] {
  const byName = new Map(images.map((i) => [i.name, i]));
  const withParentErrors = images.map((image): ImageSpec => {
    if (image.error || image.parent === null) return image;
    const parent = byName.get(image.parent);
    if (parent?.kind === 'build') return image;
    const message = parent
      ? `parent ${image.parent} of ${image.name} is a registry image, not a build`
      : `parent ${image.parent} of ${image.name} is not an image of this repository`;
    return { ...image, error: { code: 'unknown-parent', message } };
  });

  const remaining = new Map(withParentErrors.map((i) => [i.name, i]));
  const ordered: ImageSpec[] = [];
  const placed = new Set<string>();
  for (;;) {
    const ready = [...remaining.values()]
      .filter((i) => i.parent === null || i.error?.code === 'unknown-parent' || placed.has(i.parent))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (ready.length === 0) break;
    for (const image of ready) {
      ordered.push(image);
      placed.add(image.name);
      remaining.delete(image.name);
    }
  }
  // What is left waits on a cycle: on it, or below it.
  const onCycle = new Set<string>();
  for (const start of remaining.keys()) {
    const seen: string[] = [];
    let name: string | null = start;
    while (name !== null && remaining.has(name) && !seen.includes(name)) {
      seen.push(name);
      name = remaining.get(name)!.parent;
    }
    if (name !== null && seen.includes(name)) for (const n of seen.slice(seen.indexOf(name))) onCycle.add(n);
  }
  const rest = [...remaining.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const cycle = rest.filter((i) => onCycle.has(i.name));
  const below: ImageSpec[] = [];
  let pending = rest.filter((i) => !onCycle.has(i.name));
  while (pending.length > 0) {
    const done = new Set([...onCycle, ...below.map((i) => i.name)]);
    const wave = pending.filter((i) => done.has(i.parent!));
    if (wave.length === 0) {
      below.push(...pending);
      break;
    }
    below.push(...wave);
    pending = pending.filter((i) => !wave.includes(i));
  }
  const cycleText = [...onCycle].sort().join(' -> ');
  return [
    ...ordered,
    ...cycle.map((i) => ({ ...i, error: i.error ?? { code: 'parent-cycle' as const, message: `${i.name} is on a parent cycle (${cycleText})` } })),
    ...below,
  ];
}
