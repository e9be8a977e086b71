/** How much the change store keeps: every store prunes to these bounds (versions as it records versions, manifests as it records manifests). */
export interface ChangeLimits {
  /** Versions kept per image and repository: the most recently seen revisions, and the newest revision of each of as many most recently seen digests. */
  readonly versionsPerImage: number;
  /**
   * Bytes of manifests kept in all, the most recently needed first (recorded, or named by a
   * version seen); past it the rest are dropped, and a build whose earlier manifest is gone says
   * its file list is not kept.
   */
  readonly manifestBytes: number;
  /** A manifest no version names is kept this long after it was recorded (its plan may be under way). */
  readonly unnamedManifestMs: number;
}

export const DEFAULT_CHANGE_LIMITS: ChangeLimits = { versionsPerImage: 16, manifestBytes: 128 * 1024 * 1024, unnamedManifestMs: 3600_000 };

/** A stored manifest, as pruning sees it. */
export interface ManifestUse {
  readonly hash: string;
  readonly recordedAt: number;
  /** The last sighting of a version naming it; null when none does. */
  readonly seen: number | null;
  /** Its head's bytes (for a head stored before manifests had parts: all of it). */
  readonly bytes: number;
  readonly parts: readonly string[];
}

/**
 * The manifests a store keeps: none that no version names past its grace, then the most
 * recently needed (the latest of its recording and the last sighting of a version naming it)
 * up to the byte bound, each part counted once however many of them share it.
 */
export function manifestsToKeep(list: readonly ManifestUse[], partBytes: ReadonlyMap<string, number>, limits: ChangeLimits, now: number): Set<string> {
  const needed = (m: ManifestUse) => Math.max(m.seen ?? 0, m.recordedAt);
  const ranked = [...list].sort((a, b) => needed(b) - needed(a) || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const kept = new Set<string>();
  const counted = new Set<string>();
  let total = 0;
  for (const m of ranked) {
    if (m.seen === null && m.recordedAt < now - limits.unnamedManifestMs) continue;
    total += m.bytes;
    for (const key of m.parts) {
      if (counted.has(key)) continue;
      counted.add(key);
      total += partBytes.get(key) ?? 0;
    }
    if (total <= limits.manifestBytes) kept.add(m.hash);
  }
  return kept;
}
