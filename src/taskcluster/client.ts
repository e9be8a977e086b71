import pLimit, { type LimitFunction } from 'p-limit';
import taskcluster, { type Index, type Queue } from 'taskcluster-client';
import { DeciderError } from '../errors.ts';
import type { TaskclusterOptions } from './options.ts';
import type { Artifact, IndexApi, IndexedTask, QueueApi, TaskDefinition, TaskStatus, Taskcluster } from './types.ts';

// Callers that need only these need not load taskcluster-client (tens of MB of API references).
export { type TaskclusterOptions, taskclusterOptionsFromEnv } from './options.ts';
export { newTaskId } from './task-id.ts';

interface ClientError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/**
 * The scopes a 403 `InsufficientScopes` says are missing: the services put them (one scope,
 * or a JSON scope expression) in the first fenced block of the message.
 */
export function missingScopes(message: string): string[] {
  const block = /```\n?([\s\S]*?)\n?```/.exec(message)?.[1]?.trim();
  if (!block) return [];
  const strings = (v: unknown): string[] =>
    typeof v === 'string' ? [v] : Array.isArray(v) ? v.flatMap(strings) : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : [];
  try {
    return strings(JSON.parse(block));
  } catch {
    return block
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }
}

/**
 * Maps a client error to our codes; 5xx and transport errors (after the client's retries) are
 * `taskcluster-unavailable`, a scope refusal `insufficient-scopes` naming what is missing.
 */
export function taskclusterError(what: string, err: unknown): DeciderError {
  const e = (err ?? {}) as ClientError;
  const detail = `${what}: ${e.code ?? 'error'}: ${e.message ?? String(err)}`;
  const status = e.statusCode;
  if (status === undefined || status >= 500) return new DeciderError('taskcluster-unavailable', detail, { cause: err });
  if (status === 403 && e.code === 'InsufficientScopes') {
    const missing = missingScopes(e.message ?? '');
    return new DeciderError('insufficient-scopes', `${what}: the Taskcluster client lacks ${missing.length ? missing.join(', ') : 'scopes'}`, { cause: err });
  }
  if (status === 409) return new DeciderError('taskcluster-conflict', detail, { cause: err });
  return new DeciderError('taskcluster-rejected', detail, { cause: err });
}

function isNotFound(err: unknown): boolean {
  return (err as ClientError | null)?.statusCode === 404;
}

async function call<T>(limit: LimitFunction, what: string, fn: () => Promise<unknown>): Promise<T> {
  try {
    return (await limit(fn)) as T;
  } catch (err) {
    throw taskclusterError(what, err);
  }
}

async function callOrNull<T>(limit: LimitFunction, what: string, fn: () => Promise<unknown>): Promise<T | null> {
  try {
    return (await limit(fn)) as T;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw taskclusterError(what, err);
  }
}

/**
 * Every page of a batched call, or null when the deployment lacks the route: what it was
 * asked for being absent is no 404 (it is left out of the answer), so a 404 means the
 * route itself is missing.
 */
async function allPages<P>(limit: LimitFunction, what: string, fetchPage: (query: { continuationToken?: string }) => Promise<unknown>): Promise<P[] | null> {
  const pages: P[] = [];
  let continuationToken: string | undefined;
  do {
    const query = continuationToken ? { continuationToken } : {};
    const page = await callOrNull<P & { continuationToken?: string }>(limit, what, () => fetchPage(query));
    if (!page) return null;
    pages.push(page);
    continuationToken = page.continuationToken;
  } while (continuationToken);
  return pages;
}

class QueueClient implements QueueApi {
  /** Unknown until the first batched call; some deployments lack the experimental `statuses`. */
  private batchSupported: boolean | undefined;

  constructor(
    private readonly queue: Queue,
    private readonly limit: LimitFunction,
  ) {}

  async createTask(taskId: string, definition: TaskDefinition): Promise<TaskStatus> {
    const res = await call<{ status: TaskStatus }>(this.limit, `createTask ${taskId}`, () => this.queue.createTask(taskId, definition));
    return res.status;
  }

  task(taskId: string): Promise<TaskDefinition | null> {
    return callOrNull<TaskDefinition>(this.limit, `task ${taskId}`, () => this.queue.task(taskId));
  }

  async status(taskId: string): Promise<TaskStatus | null> {
    const res = await callOrNull<{ status: TaskStatus }>(this.limit, `status ${taskId}`, () => this.queue.status(taskId));
    return res?.status ?? null;
  }

  async statuses(taskIds: readonly string[]): Promise<Map<string, TaskStatus>> {
    const wanted = [...new Set(taskIds)];
    const found = new Map<string, TaskStatus>();
    if (wanted.length === 0) return found;
    if (this.batchSupported !== false) {
      const pages = await allPages<{ statuses: Array<{ taskId: string; status: TaskStatus }> }>(this.limit, 'statuses', (query) => this.queue.statuses({ taskIds: wanted }, query));
      this.batchSupported = pages !== null;
      if (pages) {
        for (const page of pages) for (const { taskId, status } of page.statuses) found.set(taskId, status);
        return found;
      }
    }
    const each = await Promise.all(wanted.map((id) => this.status(id)));
    wanted.forEach((id, i) => each[i] && found.set(id, each[i]));
    return found;
  }

  async listLatestArtifacts(taskId: string): Promise<Artifact[]> {
    const artifacts: Artifact[] = [];
    let continuationToken: string | undefined;
    do {
      const query = continuationToken ? { continuationToken } : {};
      const page = await callOrNull<{ artifacts: Artifact[]; continuationToken?: string }>(this.limit, `listLatestArtifacts ${taskId}`, () =>
        this.queue.listLatestArtifacts(taskId, query),
      );
      if (!page) break;
      artifacts.push(...page.artifacts);
      continuationToken = page.continuationToken;
    } while (continuationToken);
    return artifacts;
  }

  artifactUrl(taskId: string, name: string): string {
    return this.queue.buildUrl(this.queue.getLatestArtifact, taskId, name);
  }
}

class IndexClient implements IndexApi {
  /** Unknown until the first batched lookup; some deployments lack the experimental `findTasksAtIndex`. */
  private batchSupported: boolean | undefined;

  constructor(
    private readonly index: Index,
    private readonly limit: LimitFunction,
  ) {}

  findTask(namespace: string): Promise<IndexedTask | null> {
    return callOrNull<IndexedTask>(this.limit, `findTask ${namespace}`, () => this.index.findTask(namespace));
  }

  async findTasks(namespaces: readonly string[]): Promise<Map<string, IndexedTask>> {
    const wanted = [...new Set(namespaces)];
    const found = new Map<string, IndexedTask>();
    if (wanted.length === 0) return found;
    if (this.batchSupported !== false) {
      const pages = await allPages<{ tasks: IndexedTask[] }>(this.limit, 'findTasksAtIndex', (query) => this.index.findTasksAtIndex({ indexes: wanted }, query));
      this.batchSupported = pages !== null;
      if (pages) {
        for (const page of pages) for (const task of page.tasks) found.set(task.namespace, task);
        return found;
      }
    }
    const entries = await Promise.all(wanted.map((ns) => this.findTask(ns)));
    for (const entry of entries) if (entry) found.set(entry.namespace, entry);
    return found;
  }

  async insertTask(namespace: string, entry: { taskId: string; rank: number; data: Record<string, unknown>; expires: string }): Promise<void> {
    await call(this.limit, `insertTask ${namespace}`, () => this.index.insertTask(namespace, entry));
  }
}

/** Queue and Index clients over taskcluster-client, with bounded concurrency and our error codes. */
export function createTaskcluster(options: TaskclusterOptions): Taskcluster {
  const credentials = options.clientId && options.accessToken ? { clientId: options.clientId, accessToken: options.accessToken } : undefined;
  const clientOptions = {
    rootUrl: options.rootUrl,
    ...(credentials ? { credentials } : {}),
    retries: options.retries ?? 5,
    delayFactor: options.delayFactorMs ?? 100,
    timeout: options.timeoutMs ?? 30_000,
    // The client's default agent opens a connection per request, 50 at most: a push's
    // lookups are a hundred requests at once, so keep connections and allow more of them.
    agent: { keepAlive: true, maxSockets: options.concurrency ?? 100, maxFreeSockets: options.concurrency ?? 100 },
  };
  const concurrency = options.concurrency ?? 100;
  const queue = new taskcluster.Queue(clientOptions);
  const pinger = new taskcluster.Queue({ ...clientOptions, retries: 0, timeout: 5000 });
  const auth = new taskcluster.Auth({ ...clientOptions, retries: 1, timeout: 10_000 });
  return {
    rootUrl: options.rootUrl.replace(/\/$/, ''),
    signed: credentials !== undefined,
    ping: async () => {
      await call(pLimit(1), 'ping', () => pinger.ping());
    },
    currentScopes: async () => (await call<{ scopes: string[] }>(pLimit(1), 'currentScopes', () => auth.currentScopes())).scopes,
    queue: new QueueClient(queue, pLimit(concurrency)),
    index: new IndexClient(new taskcluster.Index(clientOptions), pLimit(concurrency)),
  };
}
