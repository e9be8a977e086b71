import type { HashAlgorithm } from './context-hash.ts';

/** One file of a context, as its hash saw it. */
export interface ManifestEntry {
  /** The name in the archive (`topsrcdir/...` for an included file), or the repository path for seed-v1. */
  readonly path: string;
  readonly mode: number;
  /** The git blob id, or `sha256:<hex>` of the content (the processed Dockerfile, seed-v1); null for a plain folder's files. */
  readonly id: string | null;
  readonly size: number;
  /** The `# %include` path it came in by, as the Dockerfile writes it. */
  readonly include?: string;
}

/**
 * The files of one context hash, in archive order (sorted by name), so that two hashes can be
 * compared without hashing again. Bounded: past `ManifestLimits`, only the first entries are
 * kept and `truncated` is set; the entries kept are then every entry whose name sorts up to the
 * last one kept.
 */
export interface ContextManifest {
  readonly algorithm: HashAlgorithm;
  /** Files in the context, all of them (also those past the bound). */
  readonly files: number;
  readonly truncated: boolean;
  readonly entries: readonly ManifestEntry[];
}

export interface ManifestLimits {
  /** Entries kept at most (default 10,000). */
  readonly maxEntries: number;
  /** About how many bytes the kept entries take as stored JSON (default 1 MiB). */
  readonly maxBytes: number;
}

export const DEFAULT_MANIFEST_LIMITS: ManifestLimits = { maxEntries: 10_000, maxBytes: 1024 * 1024 };

/** Stored bytes of one entry, about: its strings and the punctuation and numbers around them. */
export const entryBytes = (path: string, include: string | null | undefined, id: string | null): number => path.length + (include?.length ?? 0) + (id?.length ?? 4) + 32;

/** Admits entries up to the limits; once one does not fit, none after it. */
export class ManifestBound {
  kept = 0;
  /** Set once an entry did not fit. */
  full = false;
  private bytes = 0;

  constructor(private readonly limits: ManifestLimits) {}

  admit(path: string, include: string | null | undefined, id: string | null): boolean {
    if (this.full) return false;
    const bytes = entryBytes(path, include, id);
    if (this.kept >= this.limits.maxEntries || this.bytes + bytes > this.limits.maxBytes) {
      this.full = true;
      return false;
    }
    this.kept += 1;
    this.bytes += bytes;
    return true;
  }

  /** Admits `count` entries of `bytes` (`entryBytes`) together if all of them fit; if not, none (admit them one by one). */
  admitAll(count: number, bytes: number): boolean {
    if (this.full || this.kept + count > this.limits.maxEntries || this.bytes + bytes > this.limits.maxBytes) return false;
    this.kept += count;
    this.bytes += bytes;
    return true;
  }
}

/** Collects entries up to the limits; once one does not fit, nothing more is kept. */
export class ManifestCollector {
  readonly entries: ManifestEntry[] = [];
  private readonly bound: ManifestBound;

  constructor(limits: ManifestLimits) {
    this.bound = new ManifestBound(limits);
  }

  /** False once the bound is reached (the entry is not kept, nor any after it). */
  add(entry: ManifestEntry): boolean {
    if (!this.bound.admit(entry.path, entry.include, entry.id)) return false;
    this.entries.push(entry);
    return true;
  }

  manifest(algorithm: HashAlgorithm, files: number): ContextManifest {
    return { algorithm, files, truncated: this.bound.full || this.entries.length < files, entries: this.entries };
  }
}
