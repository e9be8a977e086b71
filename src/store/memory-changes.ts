import { type ContextManifest, encodeManifest } from '../context/manifest.ts';
import type { ChangeStore, ImageVersion, StoredManifest } from '../domain/index.ts';
import { type ChangeLimits, DEFAULT_CHANGE_LIMITS } from './change-limits.ts';

/** The change store in memory, pruned as the SQL one is (change-limits.ts). */
export class MemoryChanges implements ChangeStore {
  private readonly manifests = new Map<string, { manifest: ContextManifest; bytes: number; recordedAt: number }>();
  /** By repository, image and digest. */
  private readonly versions = new Map<string, ImageVersion>();

  constructor(private readonly limits: ChangeLimits = DEFAULT_CHANGE_LIMITS) {}

  async recordManifests(list: readonly StoredManifest[], at: Date): Promise<void> {
    for (const { contextHash, manifest } of list) {
      if (this.manifests.has(contextHash)) continue;
      this.manifests.set(contextHash, { manifest: structuredClone(manifest), bytes: Buffer.byteLength(encodeManifest(manifest)), recordedAt: at.getTime() });
    }
  }

  async getManifests(hashes: readonly string[]): Promise<Map<string, ContextManifest>> {
    const found = new Map<string, ContextManifest>();
    for (const hash of hashes) {
      const kept = this.manifests.get(hash);
      if (kept) found.set(hash, structuredClone(kept.manifest));
    }
    return found;
  }

  async recordVersions(list: readonly ImageVersion[]): Promise<void> {
    if (list.length === 0) return;
    for (const version of list) {
      const key = JSON.stringify([version.repository, version.image, version.digest]);
      const known = this.versions.get(key);
      if (!known || known.seenAt <= version.seenAt) this.versions.set(key, structuredClone(version));
    }
    for (const { repository, image } of list) {
      const kept = this.ofImage(repository, image);
      for (const old of kept.slice(this.limits.versionsPerImage)) this.versions.delete(JSON.stringify([repository, image, old.digest]));
    }
    this.pruneManifests(Date.parse(list[0]!.seenAt) - this.limits.unnamedManifestMs);
  }

  async versionsOf(repository: string, image: string, digest: string): Promise<{ same: ImageVersion | null; other: ImageVersion | null }> {
    const all = this.ofImage(repository, image);
    const pick = (v: ImageVersion | undefined) => (v ? structuredClone(v) : null);
    return { same: pick(all.find((v) => v.digest === digest)), other: pick(all.find((v) => v.digest !== digest)) };
  }

  /** The image's versions, most recently seen first. */
  private ofImage(repository: string, image: string): ImageVersion[] {
    return [...this.versions.values()]
      .filter((v) => v.repository === repository && v.image === image)
      .sort((a, b) => b.seenAt.localeCompare(a.seenAt) || a.digest.localeCompare(b.digest));
  }

  private pruneManifests(graceUntil: number): void {
    const seen = new Map<string, number>();
    for (const v of this.versions.values()) seen.set(v.contextHash, Math.max(seen.get(v.contextHash) ?? 0, Date.parse(v.seenAt)));
    const needed = (hash: string, recordedAt: number) => Math.max(seen.get(hash) ?? 0, recordedAt);
    const ranked = [...this.manifests.entries()].sort(([ha, a], [hb, b]) => needed(hb, b.recordedAt) - needed(ha, a.recordedAt) || (ha < hb ? -1 : ha > hb ? 1 : 0));
    let total = 0;
    for (const [hash, kept] of ranked) {
      if (!seen.has(hash) && kept.recordedAt < graceUntil) {
        this.manifests.delete(hash);
        continue;
      }
      total += kept.bytes;
      if (total > this.limits.manifestBytes) this.manifests.delete(hash);
    }
  }
}
