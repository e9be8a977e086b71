import type { ContextManifest } from '../context/manifest.ts';
import { decodeManifest, partReader } from '../context/manifest-encoding.ts';
import type { ChangeStore, ImageVersion, StoredManifest } from '../domain/index.ts';
import { type ChangeLimits, DEFAULT_CHANGE_LIMITS, manifestsToKeep } from './change-limits.ts';

/** Ties of time broken by revision, as the SQL store does (revisions are hex: every collation orders them alike). */
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The change store in memory, pruned as the SQL one is (change-limits.ts). */
export class MemoryChanges implements ChangeStore {
  /** Stored as the SQL store stores them: heads, and parts shared between them. */
  private readonly manifests = new Map<string, { head: string; parts: readonly string[]; bytes: number; recordedAt: number }>();
  private readonly parts = new Map<string, { text: string; bytes: number }>();
  /** By repository, image and revision. */
  private readonly versions = new Map<string, ImageVersion>();

  constructor(private readonly limits: ChangeLimits = DEFAULT_CHANGE_LIMITS) {}

  async recordManifests(list: readonly StoredManifest[], at: Date): Promise<void> {
    if (list.length === 0) return;
    for (const { contextHash, manifest } of list) {
      if (this.manifests.has(contextHash)) continue;
      for (const part of manifest.parts) if (!this.parts.has(part.key)) this.parts.set(part.key, { text: part.text, bytes: part.bytes });
      this.manifests.set(contextHash, { head: manifest.head, parts: manifest.keys, bytes: Buffer.byteLength(manifest.head), recordedAt: at.getTime() });
    }
    this.pruneManifests(at.getTime());
  }

  async getManifests(hashes: readonly string[]): Promise<Map<string, ContextManifest>> {
    const part = partReader((key) => this.parts.get(key)?.text);
    const found = new Map<string, ContextManifest>();
    for (const hash of hashes) {
      const kept = this.manifests.get(hash);
      const manifest = kept ? decodeManifest(kept.head, part) : null;
      if (manifest) found.set(hash, manifest);
    }
    return found;
  }

  async recordVersions(list: readonly ImageVersion[]): Promise<void> {
    if (list.length === 0) return;
    for (const version of list) {
      const key = JSON.stringify([version.repository, version.image, version.rev]);
      const known = this.versions.get(key);
      if (!known || known.seenAt <= version.seenAt) this.versions.set(key, structuredClone(version));
    }
    for (const { repository, image } of list) {
      const all = this.ofImage(repository, image);
      // As the SQL store: the newest revisions, and the newest revision of each of the newest digests.
      const digests = [...new Set(all.map((v) => v.digest))].slice(0, this.limits.versionsPerImage);
      const kept = new Set([...all.slice(0, this.limits.versionsPerImage), ...digests.map((d) => all.find((v) => v.digest === d)!)]);
      for (const old of all) if (!kept.has(old)) this.versions.delete(JSON.stringify([repository, image, old.rev]));
    }
  }

  async versionsOfImages(repository: string, images: readonly string[]): Promise<Map<string, ImageVersion[]>> {
    return new Map(images.map((image) => [image, this.ofImage(repository, image).map((v) => structuredClone(v))]));
  }

  /** The image's versions, most recently seen first. */
  private ofImage(repository: string, image: string): ImageVersion[] {
    return [...this.versions.values()]
      .filter((v) => v.repository === repository && v.image === image)
      .sort((a, b) => b.seenAt.localeCompare(a.seenAt) || compareText(a.rev, b.rev));
  }

  private pruneManifests(now: number): void {
    const seen = new Map<string, number>();
    for (const v of this.versions.values()) seen.set(v.contextHash, Math.max(seen.get(v.contextHash) ?? 0, Date.parse(v.seenAt)));
    const uses = [...this.manifests].map(([hash, m]) => ({ hash, recordedAt: m.recordedAt, seen: seen.get(hash) ?? null, bytes: m.bytes, parts: m.parts }));
    const kept = manifestsToKeep(uses, new Map([...this.parts].map(([key, p]) => [key, p.bytes])), this.limits, now);
    for (const hash of this.manifests.keys()) if (!kept.has(hash)) this.manifests.delete(hash);
    const named = new Set([...this.manifests.values()].flatMap((m) => m.parts));
    for (const key of this.parts.keys()) if (!named.has(key)) this.parts.delete(key);
  }
}
