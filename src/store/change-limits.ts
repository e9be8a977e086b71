/** How much the change store keeps: every store prunes to these bounds when it records versions. */
export interface ChangeLimits {
  /** Versions (digests) kept per image and repository, the most recently seen. */
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
