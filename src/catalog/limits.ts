import { DEFAULT_MAX_INCLUDES } from '../context/dockerfile.ts';

/**
 * Bounds on the work one revision can cause, checked before the expensive step (parsing,
 * walking includes, hashing, storing): a push over one fails at once with `limit-exceeded`.
 */
export interface CatalogLimits {
  /** The kind file (and config.yml) are not parsed beyond this size. */
  readonly kindFileBytes: number;
  /** Images one revision may declare. */
  readonly images: number;
  /** `# %include` lines one Dockerfile may hold: counted while it is parsed, before any is walked. */
  readonly includesPerDockerfile: number;
  /**
   * Tar bytes of all of one graph's contexts together (memoised ones too, so the outcome does
   * not depend on what this process hashed before). Hashing stops once the sum is over; the
   * contexts being hashed then finish, each bounded by the per-context byte limit.
   */
  readonly contextBytesPerPush: number;
}

/**
 * Gecko's docker-image kind file is about 20 KB for some 100 images, whose Dockerfiles hold a
 * few includes each and whose contexts add up to well under 1 GiB.
 */
export const DEFAULT_CATALOG_LIMITS: CatalogLimits = {
  kindFileBytes: 1 << 20,
  images: 1000,
  includesPerDockerfile: DEFAULT_MAX_INCLUDES,
  contextBytesPerPush: 8 * 1024 ** 3,
};
