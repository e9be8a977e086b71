import type { ContextManifest } from '../context/manifest.ts';
import type { EncodedManifest } from '../context/manifest-encoding.ts';
import type { DigestInputs } from '../graph/types.ts';

/** One image's inputs at one revision of a repository, as the last decision of that revision saw them. */
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
  /**
   * Upserts each version by its revision (seen again: its digest, push, decision and time are
   * the newer sighting's), then prunes each image's versions.
   */
  recordVersions(versions: readonly ImageVersion[]): Promise<void>;
  /** Every kept version of each image (one per revision), most recently seen first; one round trip. */
  versionsOfImages(repository: string, images: readonly string[]): Promise<Map<string, ImageVersion[]>>;
}

/**
 * Where a push's revision sits among the repository's others, by the commit graph: what its
 * builds are compared with is the nearest earlier decided revision, never the last decided one.
 */
export interface Lineage {
  /**
   * Of `revs`, those that are the revision or its ancestors, each with its place in git's walk
   * of the history from the revision (itself 0; newest commit first: which is nearer only
   * roughly, see `nearest`). One not in the map is no ancestor, or further back than the walk goes.
   */
  ancestors(revs: ReadonlySet<string>): Promise<ReadonlyMap<string, number>>;
  /** Of some of the revision's ancestors, those no other of them descends from: the nearest (several across a merge). */
  nearest(revs: readonly string[]): Promise<string[]>;
  /** The repository's other pushes not decided yet (queued or deciding), by their revision. */
  undecided(): Promise<readonly { readonly pushId: string; readonly rev: string }[]>;
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
 * Why a build: `changed` (inputs differ from the image's version at the nearest earlier decided
 * revision), `first` (no earlier version known), `unchanged` (the same inputs as that version,
 * whose build is not indexed), `pending` (an earlier revision nearer than any decided one is
 * still being decided: not compared yet), `miss` (a build of these inputs exists but cannot be
 * reused), `forced`, `uncached` (`cache: false`).
 */
export type ChangesKind = 'changed' | 'first' | 'unchanged' | 'pending' | 'miss' | 'forced' | 'uncached';

export interface ImageChanges {
  readonly kind: ChangesKind;
  /** One line, also the start of the decision's reason. */
  readonly summary: string;
  /** The version compared with. */
  readonly since?: { readonly pushId: string; readonly rev: string; readonly decision: string; readonly taskId: string | null; readonly digest: string };
  /** `pending`: the nearest earlier push, not decided yet when this one was. */
  readonly pending?: { readonly pushId: string; readonly rev: string };
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
