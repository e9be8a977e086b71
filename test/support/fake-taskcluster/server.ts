import { once } from 'node:events';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Requirement, expand, insufficientMessage, unsatisfied } from './scopes.ts';
import { ApiError, FakeServices } from './state.ts';

/**
 * What a client of the tests holds unless a test says otherwise: the narrow set a deployment
 * grants image-decider for the trust domains of the test trees (acme, dots) and the benchmarks, not `*`.
 */
export const TEST_CLIENT_SCOPES: readonly string[] = ['acme', 'bench', 'dots']
  .flatMap((d) => [`index:find-task:${d}.*`, `index:insert-task:${d}.*`, `queue:create-task:low:${d}-*`, `queue:scheduler-id:${d}-level-*`, `queue:route:index.${d}.*`])
  .concat(['queue:create-task:project:none', 'queue:scheduler-id:-', 'queue:status:*', 'queue:list-artifacts:*', 'queue:get-task:*']);

/** Priorities from the highest down: a task may be created with the scope of its own priority or any above it. */
const PRIORITY_LEVELS = ['highest', 'very-high', 'high', 'medium', 'low', 'very-low', 'lowest'];

export interface RecordedRequest {
  readonly service: 'queue' | 'index' | 'auth';
  readonly name: string;
  readonly path: string;
  readonly clientId: string;
  readonly at: number;
  readonly signed: boolean;
}

interface Fault {
  remaining: number;
  status: number;
  names: ReadonlySet<string> | null;
}

type Handler = (params: string[], body: unknown, query: URLSearchParams, scopes: readonly string[]) => { status?: number; body?: unknown; location?: string };

/** The scopes a call needs, from its parameters and body. */
type Scopes = (params: string[], body: Record<string, unknown>) => Requirement;

interface Route {
  readonly service: 'queue' | 'index' | 'auth';
  readonly name: string;
  readonly method: string;
  readonly pattern: RegExp;
  readonly scopes: Scopes;
  readonly handler: Handler;
}

const none: Scopes = () => [];
const list = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** The Queue's createTask scope expression (its `authorizeTaskCreation`). */
const createTaskScopes: Scopes = (_params, body) => {
  const hasPair = typeof body.provisionerId === 'string' && typeof body.workerType === 'string';
  // Without a queue the Queue answers 400 before it authorizes anything.
  if (typeof body.taskQueueId !== 'string' && !hasPair) return [];
  const queue = typeof body.taskQueueId === 'string' ? body.taskQueueId : `${String(body.provisionerId)}/${String(body.workerType)}`;
  const priority = body.priority === undefined || body.priority === 'normal' ? 'lowest' : String(body.priority);
  const priorities = PRIORITY_LEVELS.slice(0, PRIORITY_LEVELS.indexOf(priority) + 1);
  return [
    ...list(body.scopes),
    ...list(body.routes).map((r) => `queue:route:${r}`),
    `queue:create-task:project:${typeof body.projectId === 'string' ? body.projectId : 'none'}`,
    `queue:scheduler-id:${typeof body.schedulerId === 'string' ? body.schedulerId : '-'}`,
    priorities.map((p) => `queue:create-task:${p}:${queue}`),
  ];
};

/**
 * An HTTP server that the real taskcluster-client talks to through `rootUrl`, with the
 * Queue's and Index's semantics (see taskcluster.md), a movable clock, fault injection and
 * a log of every request. Tests drive task states through `services`.
 */
export class FakeTaskcluster {
  readonly services: FakeServices;
  readonly requests: RecordedRequest[] = [];
  /** Added to the real clock: tests move time forward with it. */
  clockOffsetMs = 0;
  /** Every answer waits this long, standing in for a network. */
  delayMs = 0;
  /** Extra waits for some methods, by name. */
  readonly slowMethods = new Map<string, number>();
  /** Some deployments lack the experimental `findTasksAtIndex`. */
  batchLookups = true;
  /** ...or the experimental `statuses`. */
  batchStatuses = true;
  /** Scopes by client id; a signed client not listed holds `defaultClientScopes`. */
  readonly clients = new Map<string, readonly string[]>();
  defaultClientScopes: readonly string[] = TEST_CLIENT_SCOPES;
  /** Roles, as `assume:<roleId>` expands them; unsigned requests hold `assume:anonymous`. */
  readonly roles = new Map<string, readonly string[]>([['anonymous', []]]);
  private faults: Fault[] = [];
  private readonly holds: Array<{ name: string; arrived: () => void; released: Promise<void> }> = [];
  private readonly routes: Route[];

  private constructor(private readonly server: Server) {
    this.services = new FakeServices(() => this.now());
    this.routes = this.defineRoutes();
    server.on('request', (req, res) => void this.handle(req, res));
  }

  static async start(): Promise<FakeTaskcluster> {
    const fake = new FakeTaskcluster(createServer());
    fake.server.listen(0, '127.0.0.1');
    await once(fake.server, 'listening');
    return fake;
  }

  get rootUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** The expanded scopes of a client (null: an unsigned request). */
  scopesOf(clientId: string | null): string[] {
    const held = clientId === null ? ['assume:anonymous'] : (this.clients.get(clientId) ?? this.defaultClientScopes);
    return expand(held, this.roles);
  }

  /**
   * The next `count` calls (of the named methods, or any) answer `status`: a 500 with the
   * services' JSON error, or, for 502-504, the HTML page a load balancer sends in an outage.
   */
  failNext(count: number, options: { status?: number; names?: readonly string[] } = {}): void {
    this.faults.push({ remaining: count, status: options.status ?? 500, names: options.names ? new Set(options.names) : null });
  }

  /**
   * The next call of method `name` waits, unanswered, until `release` is called (one caller's
   * slow request, where `slowMethods` slows every caller); `reached` settles when it arrives.
   */
  holdNext(name: string): { reached: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ name, arrived, released });
    return { reached, release };
  }

  clearFaults(): void {
    this.faults = [];
  }

  count(name: string): number {
    return this.requests.filter((r) => r.name === name).length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private defineRoutes(): Route[] {
    const s = this.services;
    const route = (service: Route['service'], name: string, method: string, pattern: RegExp, scopes: Scopes, handler: Handler): Route => ({
      service,
      name,
      method,
      pattern,
      scopes,
      handler,
    });
    return [
      route('queue', 'ping', 'GET', /^\/ping$/, none, () => ({ body: { alive: true, uptime: 1 } })),
      route('auth', 'currentScopes', 'GET', /^\/scopes\/current$/, none, (_p, _b, _q, scopes) => ({ body: { scopes } })),
      route('auth', 'expandScopes', 'POST', /^\/scopes\/expand$/, none, (_p, body) => ({ body: { scopes: expand(list((body as { scopes?: unknown }).scopes), this.roles) } })),
      route('queue', 'createTask', 'PUT', /^\/task\/([^/]+)$/, createTaskScopes, ([id], body) => ({ body: { status: s.status(s.createTask(id!, body)) } })),
      route(
        'queue',
        'task',
        'GET',
        /^\/task\/([^/]+)$/,
        ([id]) => [`queue:get-task:${id}`],
        ([id]) => ({ body: s.getTask(id!).definition }),
      ),
      route(
        'queue',
        'status',
        'GET',
        /^\/task\/([^/]+)\/status$/,
        ([id]) => [`queue:status:${id}`],
        ([id]) => ({ body: { status: s.status(s.getTask(id!)) } }),
      ),
      // Unknown ids are left out of the answer, not refused (taskcluster.md).
      route(
        'queue',
        'statuses',
        'POST',
        /^\/tasks\/status$/,
        (_p, body) => list(body.taskIds).map((id) => `queue:status:${id}`),
        (_p, body, query) => {
          if (!this.batchStatuses) throw new ApiError(404, 'ResourceNotFound', 'No such route');
          const ids = (body as { taskIds?: unknown }).taskIds ?? [];
          if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) throw new ApiError(400, 'InputValidationError', 'taskIds must be a list of strings');
          const known = [...new Set(ids as string[])].filter((id) => s.tasks.has(id)).map((taskId) => ({ taskId, status: s.status(s.getTask(taskId)) }));
          return { body: page(known, query, 'statuses') };
        },
      ),
      route(
        'queue',
        'listLatestArtifacts',
        'GET',
        /^\/task\/([^/]+)\/artifacts$/,
        ([id]) => [`queue:list-artifacts:${id}`],
        ([id], _b, query) => {
          const task = s.getTask(id!);
          // The latest run's artifacts: a task not scheduled yet has no run, so nothing to list.
          if (task.runs.length === 0) throw new ApiError(404, 'ResourceNotFound', `Task ${id} has no runs`);
          const all = task.artifacts.map(({ name, storageType, contentType, expires }) => ({ name, storageType, contentType, expires }));
          return { body: page(all, query, 'artifacts') };
        },
      ),
      route(
        'queue',
        'getLatestArtifact',
        'GET',
        /^\/task\/([^/]+)\/artifacts\/(.+)$/,
        ([, name]) => (name!.startsWith('public/') ? [] : [`queue:get-artifact:${name}`]),
        ([id, name]) => {
          const artifact = s.getTask(id!).artifacts.find((a) => a.name === name);
          if (!artifact) throw new ApiError(404, 'ResourceNotFound', `Artifact ${name} not found`);
          return { status: 303, location: `https://storage.example/${id}/${name}`, body: { storageType: 's3', url: `https://storage.example/${id}/${name}` } };
        },
      ),
      route(
        'index',
        'findTask',
        'GET',
        /^\/task\/([^/]+)$/,
        ([ns]) => [`index:find-task:${ns}`],
        ([ns]) => {
          const entry = s.findEntry(ns!);
          if (!entry) throw new ApiError(404, 'ResourceNotFound', `Indexed task not found: ${ns}`);
          return { body: entry };
        },
      ),
      route(
        'index',
        'insertTask',
        'PUT',
        /^\/task\/([^/]+)$/,
        ([ns]) => [`index:insert-task:${ns}`],
        ([ns], body) => {
          const b = body as { taskId: string; rank: number; data: Record<string, unknown>; expires: string };
          return { body: s.insert(ns!, { taskId: b.taskId, rank: b.rank, data: b.data, expires: b.expires }) };
        },
      ),
      // Unlike findTask, it does not check expiry: expired entries are answered until swept.
      route(
        'index',
        'findTasksAtIndex',
        'POST',
        /^\/tasks\/indexes$/,
        (_p, body) => list(body.indexes).map((ns) => `index:find-task:${ns}`),
        (_p, body, query) => {
          if (!this.batchLookups) throw new ApiError(404, 'ResourceNotFound', 'No such route');
          const indexes = ((body as { indexes?: string[] }).indexes ?? []).map((ns) => s.storedEntry(ns)).filter((e) => e !== undefined);
          return { body: page(indexes, query, 'tasks') };
        },
      ),
    ];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const match = /^\/api\/(queue|index|auth)\/v1(\/.*)$/.exec(url.pathname);
    const path = match?.[2] ?? url.pathname;
    const found = match ? this.match(match[1] as Route['service'], req.method ?? 'GET', path) : null;
    const wait = this.delayMs + (found ? (this.slowMethods.get(found.route.name) ?? 0) : 0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const held = found ? this.holds.findIndex((h) => h.name === found.route.name) : -1;
    if (held >= 0) {
      const [hold] = this.holds.splice(held, 1);
      hold!.arrived();
      await hold!.released;
    }
    if (!found) return send(res, 404, { code: 'ResourceNotFound', message: `no route ${req.method} ${url.pathname}` });
    const { route, params } = found;
    const clientId = /^Hawk id="([^"]*)"/.exec(req.headers.authorization ?? '')?.[1] ?? null;
    this.requests.push({ service: route.service, name: route.name, path, clientId: clientId ?? 'anonymous', at: this.now(), signed: clientId !== null });
    const fault = this.faults.find((f) => f.remaining > 0 && (!f.names || f.names.has(route.name)));
    if (fault) {
      fault.remaining--;
      if (fault.status >= 502 && fault.status <= 504) {
        res.writeHead(fault.status, { 'content-type': 'text/html' });
        return void res.end(`<html><head><title>${fault.status} Bad Gateway</title></head><body><center><h1>${fault.status} Bad Gateway</h1></center></body></html>\n`);
      }
      return send(res, fault.status, { code: 'InternalServerError', message: 'injected fault' });
    }
    try {
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      // As the real services: scopes are checked before anything else about the request.
      const scopes = this.scopesOf(clientId);
      const required = route.scopes(params, (body ?? {}) as Record<string, unknown>);
      const missing = unsatisfied(scopes, required);
      if (missing.length > 0) throw new ApiError(403, 'InsufficientScopes', insufficientMessage(clientId ?? 'anonymous', missing, required));
      const out = route.handler(params, body, url.searchParams, scopes);
      if (out.location) res.setHeader('location', out.location);
      send(res, out.status ?? 200, out.body ?? {});
    } catch (err) {
      if (err instanceof ApiError) return send(res, err.status, { code: err.code, message: err.message });
      send(res, 400, { code: 'InputError', message: (err as Error).message });
    }
  }

  private match(service: Route['service'], method: string, path: string): { route: Route; params: string[] } | null {
    for (const route of this.routes) {
      if (route.service !== service || route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (m) return { route, params: m.slice(1).map(decodeURIComponent) };
    }
    return null;
  }
}

function page<T>(items: T[], query: URLSearchParams, key: string): Record<string, unknown> {
  const limit = Math.min(Number(query.get('limit') ?? 1000) || 1000, 1000);
  const start = Number(query.get('continuationToken') ?? 0);
  const next = start + limit;
  return { [key]: items.slice(start, next), ...(next < items.length ? { continuationToken: String(next) } : {}) };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const requestInfo = { time: new Date().toISOString() };
  const payload = status >= 400 ? { ...(body as object), requestInfo } : body;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(payload));
}
