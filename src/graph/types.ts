import type { ImageError } from '../catalog/types.ts';
import type { HashAlgorithm } from '../context/context-hash.ts';
import type { EncodedManifest } from '../context/manifest-encoding.ts';
import type { Level } from '../domain/level.ts';

export type NodeKind = 'build' | 'registry' | 'error' | 'blocked';

/** One image of a revision, hashed and named: what `graph --json` prints. */
export interface ImageNode {
  readonly name: string;
  readonly kind: NodeKind;
  readonly contextDir: string;
  readonly parent: string | null;
  readonly args: Readonly<Record<string, string>>;
  readonly contextHash: string | null;
  readonly digest: string | null;
  /** Index namespaces to look a build up at, in order. */
  readonly indexPaths: readonly string[];
  /** `index.*` routes of a new build. */
  readonly routes: readonly string[];
  readonly reference?: string;
  readonly error?: ImageError;
  /** The image in error that this one waits on. */
  readonly blockedBy?: string;
  readonly symbol?: string;
  /** `cache: false` in the kind file: no digest, index paths or routes; built whenever needed. */
  readonly cache?: false;
  /** Files and bytes in the context (absent when hashing did not run). */
  readonly files?: number;
  readonly bytes?: number;
  readonly memoHit?: boolean;
  /**
   * What the digest was made of besides the context hash and args (cached build images): kept
   * with its decision, so a later build can say which input changed. Not part of `graph --json`.
   */
  readonly inputs?: DigestInputs;
}

export interface DigestInputs {
  readonly algorithm: HashAlgorithm;
  readonly builderImage: string;
  readonly parentDigest: string | null;
}

export interface GraphOptions {
  readonly level: Level;
  readonly pullRequest: boolean;
  readonly algorithm: HashAlgorithm;
  readonly builderImage: string;
  /** Date that `pushdate` routes carry. */
  readonly pushDate: Date;
  /** Overrides the repository's trust domain (and cache prefix). */
  readonly trustDomain?: string | null;
  readonly cachePrefix?: string | null;
  /** seed-v1 naming: this project, and the integration project looked up first. */
  readonly project?: string;
  readonly integrationProject?: string;
}

export interface ImageGraph {
  readonly rev: string | null;
  readonly level: Level;
  readonly pullRequest: boolean;
  readonly algorithm: HashAlgorithm;
  readonly layout: string;
  readonly trustDomain: string | null;
  readonly cachePrefix: string | null;
  /** Parents first. */
  readonly images: readonly ImageNode[];
  readonly warnings: readonly string[];
  /** The manifests of the contexts hashed for this graph (not those answered from the memo), by context hash. */
  readonly manifests?: ReadonlyMap<string, EncodedManifest>;
}
