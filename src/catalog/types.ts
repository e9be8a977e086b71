import type { ErrorCode } from '../errors.ts';

export interface ImageError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** `taskgraph-ci`: taskgraph's `taskcluster/ci` layout before release 8 (`jobs:`). */
export type CatalogLayout = 'taskgraph' | 'taskgraph-ci' | 'legacy-2016' | 'folders';

export interface ImageSpec {
  readonly name: string;
  readonly kind: 'build' | 'registry';
  /** Repository-relative context folder. */
  readonly contextDir: string;
  readonly parent: string | null;
  readonly args: Readonly<Record<string, string>>;
  readonly symbol: string | null;
  readonly packages: readonly string[];
  /**
   * taskgraph's `cache` (default true): false gives the image no digest, no Index lookup and
   * no cached-task routes; it is built in every graph that needs it. Always true for registry images.
   */
  readonly cache: boolean;
  /** Registry images only: `<registry>/<name>:<version>[@<hash>]`. */
  readonly reference: string | null;
  readonly error: ImageError | null;
}

export interface Catalog {
  readonly layout: CatalogLayout;
  /** The kind file read, if any. */
  readonly kindFile: string | null;
  readonly trustDomain: string | null;
  /** `taskgraph.cached-task-prefix`, else the trust domain. */
  readonly cachePrefix: string | null;
  /** Parents first; images in a cycle last. */
  readonly images: readonly ImageSpec[];
}
