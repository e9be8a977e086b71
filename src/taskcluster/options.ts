export interface TaskclusterOptions {
  readonly rootUrl: string;
  readonly clientId?: string;
  readonly accessToken?: string;
  /** Retries after the first attempt, for 5xx and network errors (the client's backoff). */
  readonly retries?: number;
  readonly delayFactorMs?: number;
  readonly timeoutMs?: number;
  /** Requests in flight at once, per service. */
  readonly concurrency?: number;
}

/** Taskcluster settings from the standard variables; null (dry run) without a root URL. */
export function taskclusterOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): TaskclusterOptions | null {
  const rootUrl = env.TASKCLUSTER_ROOT_URL?.trim();
  if (!rootUrl) return null;
  return { rootUrl, clientId: env.TASKCLUSTER_CLIENT_ID, accessToken: env.TASKCLUSTER_ACCESS_TOKEN };
}
