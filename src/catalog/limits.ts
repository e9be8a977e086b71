/**
 * Bounds on the work one revision's kind file can cause, checked before the expensive step
 * (parsing, hashing): a push over one fails at once with `limit-exceeded`.
 */
export interface CatalogLimits {
  /** The kind file (and config.yml) are not parsed beyond this size. */
  readonly kindFileBytes: number;
  /** Images one revision may declare. */
  readonly images: number;
}

/** Gecko's docker-image kind file is about 20 KB for some 100 images. */
export const DEFAULT_CATALOG_LIMITS: CatalogLimits = { kindFileBytes: 1 << 20, images: 1000 };
