/**
 * The one closed set of error codes. Engine codes describe why an image cannot be
 * hashed or a repository cannot be read; every error the project raises uses one.
 */
export const ERROR_CODES = [
  // context hashing
  'missing-argument',
  'bad-argument',
  'include-absolute',
  'include-outside-tree',
  'include-missing',
  'include-run-task-unconfigured',
  'symlink-outside-tree',
  'symlink-dangling',
  'setuid-file',
  'dockerfile-not-utf8',
  'context-too-large',
  'limit-exceeded',
  // catalog
  'missing-dockerfile',
  'unknown-parent',
  'parent-cycle',
  'parent-unbuildable',
  'bad-kind-file',
  'bad-image-name',
  'bad-taskgraph-config',
  'bad-registry-hash',
  // repository access
  'unknown-revision',
  'repository-unreadable',
  'fetch-failed',
  // Taskcluster and task definitions
  'taskcluster-unavailable',
  'taskcluster-rejected',
  'taskcluster-conflict',
  'insufficient-scopes',
  'bad-template',
  'unknown-image',
  // configuration and HTTP
  'bad-config',
  'internal-error',
  'bad-request',
  'unauthorized',
  'not-found',
  'conflict',
  'not-buildable',
  'unknown-repository',
  'payload-too-large',
  'unsupported-media-type',
  'rate-limited',
  'request-timeout',
  'unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class DeciderError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeciderError';
    this.code = code;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isDeciderError(err: unknown): err is DeciderError {
  return err instanceof DeciderError;
}
