import type { ContextManifest } from '../context/manifest.ts';
import type { EncodedManifest } from '../context/manifest-encoding.ts';
import type { DigestInputs } from '../graph/types.ts';

/** One image's inputs under one digest in a repository, as the last decision that used them saw them. */
export interface ImageVersion {
  readonly repository: string;
  readonly image: string;
  readonly digest: string;
  readonly contextHash: string;
  readonly args: Readonly<Record<string, string>>;
  readonly parent: string | null;
  /** null for a decision stored before these were kept. */
  readonly inputs: DigestInputs | null;
  /** The push (decision) that last used it, its revision, and what it decided. */
  readonly pushId: string;
  readonly rev: string;
  readonly decision: string;
  readonly taskId: string | null;
  readonly seenAt: string;
}

export interface StoredManifest {
  readonly contextHash: string;
  /** In its stored form: what hashing notes, and what the store writes. */
  readonly manifest: EncodedManifest;
}

/**
 * What explains a build: the manifests of context hashes, and the inputs each image's digests
 * were made of. Bounded: a few versions per image, and only the manifests they name (plus the
 * newest, up to a total size).
 */
export interface ChangeStore {
  /**
   * Keeps the first manifest of each hash (its parts shared with the manifests that include the
   * same files), then prunes manifests to the store's bounds.
   */
  recordManifests(manifests: readonly StoredManifest[], at: Date): Promise<void>;
  getManifests(contextHashes: readonly string[]): Promise<Map<string, ContextManifest>>;
  /** Upserts each version (seen again: its push, decision and time are the newer), then prunes each image's versions. */
  recordVersions(versions: readonly ImageVersion[]): Promise<void>;
  /** The image's version of `digest`, and its newest version of any other digest. */
  versionsOf(repository: string, image: string, digest: string): Promise<{ same: ImageVersion | null; other: ImageVersion | null }>;
}

export type FileChangeKind = 'added' | 'removed' | 'changed';

export interface FileChange {
  readonly change: FileChangeKind;
  /** The name in the context's archive. */
  readonly path: string;
  /** The `# %include` it came in by. */
  readonly include?: string;
  readonly before?: { readonly mode: number; readonly size: number };
  readonly after?: { readonly mode: number; readonly size: number };
}

export interface ValueChange {
  readonly before: string | null;
  readonly after: string | null;
}

/**
 * Why a build: `changed` (inputs differ from the image's last version in the repository),
 * `first` (no earlier version known), `unchanged` (the same inputs as an earlier decision,
 * whose build is not indexed), `miss` (a build of these inputs exists but cannot be reused),
 * `forced`, `uncached` (`cache: false`).
 */
export type ChangesKind = 'changed' | 'first' | 'unchanged' | 'miss' | 'forced' | 'uncached';

export interface ImageChanges {
  readonly kind: ChangesKind;
  /** One line, also the start of the decision's reason. */
  readonly summary: string;
  /** The version compared with. */
  readonly since?: { readonly pushId: string; readonly rev: string; readonly decision: string; readonly taskId: string | null; readonly digest: string };
  readonly files?: {
    readonly added: number;
    readonly removed: number;
    readonly changed: number;
    /** At most 50, in archive order. */
    readonly list: readonly FileChange[];
    /** Why the comparison is not exact or not made: a file list cut at its bound, or not kept. */
    readonly note?: string;
  };
  readonly args?: Readonly<Record<string, ValueChange>>;
  readonly parent?: ValueChange & { readonly name: string | null };
  readonly builderImage?: ValueChange;
  readonly algorithm?: ValueChange;
}
