import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import yaml from 'js-yaml';
import type { HashAlgorithm } from '../context/context-hash.ts';
import { DEFAULT_BUILDER_IMAGE } from '../context/digest.ts';
import { parseLevel, type Level } from '../domain/index.ts';
import { DEFAULT_DECISION_SETTINGS } from '../decision/settings.ts';
import { type CatalogLimits, DEFAULT_CATALOG_LIMITS } from '../catalog/limits.ts';
import { DEFAULT_MAX_DECISION_BYTES } from '../store/decision-json.ts';
import { DeciderError } from '../errors.ts';
import type { FetchCredentials } from '../mirror/git-mirror.ts';
import { withoutUserinfo } from '../mirror/url.ts';
import { type TaskclusterOptions, taskclusterOptionsFromEnv } from '../taskcluster/client.ts';
import { type ConfigFile, ConfigFileSchema, type RepositoryConfigFile } from './schema.ts';
import { trustProxySetting } from './trust-proxy.ts';

export interface RepositoryConfig {
  readonly name: string;
  readonly url: string;
  /** https/ssh URL for task metadata; null for local repositories. */
  readonly webUrl: string | null;
  /** Read from the variable named by `webhookSecretEnv`; never logged. */
  readonly webhookSecret: string | null;
  /** For fetching over http(s): `user:password` from the variable `fetchCredentialsEnv` names. */
  readonly fetchCredentials: FetchCredentials | null;
  readonly trustDomain: string | null;
  readonly cachePrefix: string | null;
  readonly hashAlgorithm: HashAlgorithm;
  /** Branch globs, first match wins. */
  readonly levels: ReadonlyArray<readonly [glob: string, level: Level]>;
  /** Level of branches no glob matches; null ignores their pushes. */
  readonly defaultLevel: Level | null;
  readonly tags: boolean;
  readonly pullRequests: boolean;
  readonly template: string | null;
  readonly builderImage: string;
  readonly taskQueueId: string;
  readonly schedulerId: string;
  readonly priority: string;
  readonly project: string;
  readonly runTaskDir: string | null;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  /** null: dry run. */
  readonly taskcluster: TaskclusterOptions | null;
  readonly adminToken: string | null;
  readonly genericToken: string | null;
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  /** A request (headers and body) not received whole by then is answered 408. */
  readonly requestTimeoutSeconds: number;
  readonly fetchTimeoutSeconds: number;
  /** Idle keep-alive connections are closed after this (Fastify's keepAliveTimeout). */
  readonly keepAliveTimeoutSeconds: number;
  /** Attempts of one push before a transient failure fails it. */
  readonly maxAttempts: number;
  /** Fastify's `trustProxy`: which proxies' X-Forwarded-For names the client (false: none). */
  readonly trustProxy: boolean | string | readonly string[];
  /** Workers one repository's pushes may hold at once, so a hung upstream cannot occupy every worker. */
  readonly workersPerRepository: number;
  /** Requests per minute: reads that can fetch or preview (per client address), rebuilds (per admin token). */
  readonly rateLimit: { readonly readsPerMinute: number; readonly rebuildsPerMinute: number };
  /** A repository whose fetches failed `failures` times in a row is unreachable until a probe fetch (every `probeIntervalSeconds`) succeeds. */
  readonly upstreamBreaker: { readonly failures: number; readonly probeIntervalSeconds: number };
  /** Level-3 images whose task or artifact expires within `windowDays` are rebuilt; looked for at start and every `intervalMinutes`. */
  readonly refresh: { readonly intervalMinutes: number; readonly windowDays: number };
  /** What one revision's kind file may cause. */
  readonly catalogLimits: CatalogLimits;
  /** The store refuses a decision record larger than this, as JSON (`limit-exceeded`). */
  readonly maxDecisionBytes: number;
  /** Anonymous reads fetch a missing revision at most once per this many seconds per repository. */
  readonly readFetchIntervalSeconds: number;
  readonly workerConcurrency: number;
  readonly deadlineMinutes: number;
  readonly owner: string;
  readonly repositories: readonly RepositoryConfig[];
  /** No configuration file: the bundled example repository is served. */
  readonly example: boolean;
  /** One line for the start-up log: dry run or live, and why. */
  readonly mode: string;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateFile = ajv.compile<ConfigFile>(ConfigFileSchema);

type SchemaErrors = NonNullable<typeof validateFile.errors>;

/**
 * Ajv's errors, one per field. A union (`anyOf`) reports each branch that failed and then
 * itself: said once, as the allowed values ("one of info, debug") or the branches' messages.
 */
function problems(errors: typeof validateFile.errors): string {
  const all: SchemaErrors = errors ?? [];
  const unions = all.filter((e) => e.keyword === 'anyOf');
  const branchOf = (e: SchemaErrors[number]) => unions.find((u) => u !== e && u.instancePath === e.instancePath && e.schemaPath.startsWith(`${u.schemaPath}/`));
  return all
    .filter((e) => !branchOf(e))
    .map((e) => {
      const where = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
      if (e.keyword === 'anyOf') {
        const branches = all.filter((b) => branchOf(b) === e);
        const consts = branches.filter((b) => b.keyword === 'const').map((b) => JSON.stringify((b.params as { allowedValue: unknown }).allowedValue));
        const rest = [...new Set(branches.filter((b) => b.keyword !== 'const').map((b) => b.message ?? 'is invalid'))];
        const said = [...(consts.length ? [`be one of ${consts.join(', ')}`] : []), ...rest.map((m) => m.replace(/^must /, ''))];
        return `${where} must ${said.join(' or ')}`;
      }
      const extra = e.keyword === 'additionalProperties' ? `: ${String(e.params.additionalProperty)}` : '';
      return `${where} ${e.message ?? 'is invalid'}${extra}`;
    })
    .join('; ');
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new DeciderError('bad-config', `${name} must be a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function secretFrom(env: NodeJS.ProcessEnv, variable: string | undefined, what: string): string | null {
  if (!variable) return null;
  const value = env[variable];
  if (!value) throw new DeciderError('bad-config', `${what}: the variable ${variable} is not set`);
  return value;
}

function fetchCredentials(file: RepositoryConfigFile, env: NodeJS.ProcessEnv): FetchCredentials | null {
  const what = `repositories.${file.name}.fetchCredentialsEnv`;
  const value = secretFrom(env, file.fetchCredentialsEnv, what);
  if (value === null) return null;
  if (!/^https?:\/\//i.test(file.url)) throw new DeciderError('bad-config', `${what}: credentials are for http(s) URLs only`);
  const colon = value.indexOf(':');
  if (colon < 1) throw new DeciderError('bad-config', `${what}: the variable ${file.fetchCredentialsEnv} must hold user:password`);
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

function repository(file: RepositoryConfigFile, env: NodeJS.ProcessEnv, baseDir: string): RepositoryConfig {
  if ((file.provisionerId === undefined) !== (file.workerType === undefined)) {
    throw new DeciderError('bad-config', `repositories.${file.name}: provisionerId and workerType go together`);
  }
  if (file.taskQueueId && file.provisionerId) {
    throw new DeciderError('bad-config', `repositories.${file.name}: give taskQueueId or provisionerId/workerType, not both`);
  }
  const local = !/^[a-z][a-z0-9+.-]*:\/\//i.test(file.url) && !/^[^/]+@[^:]+:/.test(file.url);
  return {
    name: file.name,
    url: local ? resolve(baseDir, file.url) : file.url,
    // The URL leaves the process (task definitions, pages): never with the userinfo it may hold.
    webUrl: file.webUrl ? withoutUserinfo(file.webUrl) : /^https?:\/\//.test(file.url) ? withoutUserinfo(file.url) : null,
    webhookSecret: secretFrom(env, file.webhookSecretEnv, `repositories.${file.name}.webhookSecretEnv`),
    fetchCredentials: fetchCredentials(file, env),
    trustDomain: file.trustDomain ?? null,
    cachePrefix: file.cachePrefix ?? null,
    hashAlgorithm: file.hashAlgorithm ?? 'taskgraph',
    levels: Object.entries(file.levels ?? { main: 3, master: 3 }).map(([glob, level]) => [glob, parseLevel(level, `levels.${glob}`)] as const),
    defaultLevel: file.defaultLevel === undefined ? 1 : file.defaultLevel === null ? null : parseLevel(file.defaultLevel, 'defaultLevel'),
    tags: file.tags ?? false,
    pullRequests: file.pullRequests ?? true,
    template: file.template ? resolve(baseDir, file.template) : null,
    builderImage: file.builderImage ?? DEFAULT_BUILDER_IMAGE,
    taskQueueId: file.provisionerId ? `${file.provisionerId}/${file.workerType}` : (file.taskQueueId ?? DEFAULT_DECISION_SETTINGS.taskQueueId),
    schedulerId: file.schedulerId ?? DEFAULT_DECISION_SETTINGS.schedulerId,
    priority: file.priority ?? DEFAULT_DECISION_SETTINGS.priority,
    project: file.project ?? file.name,
    runTaskDir: file.runTaskDir ? resolve(baseDir, file.runTaskDir) : null,
  };
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0.0.0.0' || host === '::';
}

/**
 * Dry run or live, and why. The bundled example (no configuration file) is always dry, whatever
 * the shell exports. Live, builders fetch contexts from `publicUrl`: a loopback one only reaches
 * a builder on this machine, so it is refused unless explicitly allowed (tests).
 */
function taskclusterMode(
  env: NodeJS.ProcessEnv,
  o: { example: boolean; publicUrl: string; publicUrlGiven: boolean; allowLoopback: boolean },
): { taskcluster: TaskclusterOptions | null; mode: string } {
  const options = taskclusterOptionsFromEnv(env);
  if (o.example) {
    const ignored = options ? ' (TASKCLUSTER_ROOT_URL is ignored: give a configuration file to run live)' : '';
    return { taskcluster: null, mode: `dry run: no configuration file, serving the bundled example${ignored}` };
  }
  if (!options) return { taskcluster: null, mode: 'dry run: TASKCLUSTER_ROOT_URL is not set' };
  if (!o.allowLoopback && (!o.publicUrlGiven || isLoopback(o.publicUrl))) {
    const why = o.publicUrlGiven ? `publicUrl ${o.publicUrl} is a loopback address` : `publicUrl is not set (it would be ${o.publicUrl})`;
    throw new DeciderError(
      'bad-config',
      `TASKCLUSTER_ROOT_URL is set (live), but ${why}: builders fetch their contexts from publicUrl, so set publicUrl (or PUBLIC_URL) to the address they reach this service at, or unset TASKCLUSTER_ROOT_URL for a dry run (allowLoopbackPublicUrl: true allows loopback, for tests)`,
    );
  }
  return { taskcluster: options, mode: `live: TASKCLUSTER_ROOT_URL is ${options.rootUrl}, builders fetch contexts from ${o.publicUrl}` };
}

/**
 * The configuration: a YAML file (`--config` or `IMAGE_DECIDER_CONFIG`), validated with
 * precise errors, then the environment's overrides. Without a file, the bundled example.
 */
export async function loadConfig(options: { file?: string | null; env?: NodeJS.ProcessEnv; exampleRepository?: string }): Promise<Config> {
  const env = options.env ?? process.env;
  const path = options.file ?? env.IMAGE_DECIDER_CONFIG ?? null;
  let file: ConfigFile;
  let baseDir = process.cwd();
  if (path) {
    let parsed: unknown;
    try {
      parsed = yaml.load(await readFile(path, 'utf8'), { filename: path });
    } catch (err) {
      throw new DeciderError('bad-config', `cannot read configuration ${path}: ${(err as Error).message}`);
    }
    if (!validateFile(parsed)) throw new DeciderError('bad-config', `configuration ${path}: ${problems(validateFile.errors)}`);
    file = parsed;
    baseDir = resolve(path, '..');
    const names = file.repositories.map((r) => r.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new DeciderError('bad-config', `configuration ${path}: repository ${twice} is listed twice`);
  } else {
    file = { repositories: [{ name: 'acme', url: options.exampleRepository ?? 'examples/acme', webUrl: 'https://example.com/acme' }] };
  }
  const port = envInt(env, 'PORT') ?? file.port ?? 8080;
  const dataDir = resolve(baseDir, env.IMAGE_DECIDER_DATA_DIR ?? file.dataDir ?? 'data');
  const databaseUrl = env.DATABASE_URL || null;
  const workerConcurrency = envInt(env, 'IMAGE_DECIDER_WORKER_CONCURRENCY') ?? file.workerConcurrency ?? 2;
  if (workerConcurrency > 64) throw new DeciderError('bad-config', `IMAGE_DECIDER_WORKER_CONCURRENCY must be at most 64, got ${workerConcurrency}`);
  // The embedded store belongs to one process: one that decides nothing would leave every push queued.
  if (workerConcurrency === 0 && !databaseUrl)
    throw new DeciderError('bad-config', 'an intake-only process (workerConcurrency 0) needs DATABASE_URL: the processes that decide share its database');
  // Within the deadline a task is no longer reused (expires-too-soon): any push rebuilds it, so a refresh must come before.
  const deadlineMinutes = file.deadlineMinutes ?? DEFAULT_DECISION_SETTINGS.deadlineMinutes;
  if (file.refresh?.windowDays !== undefined && file.refresh.windowDays * 24 * 60 <= deadlineMinutes) {
    throw new DeciderError(
      'bad-config',
      `refresh.windowDays (${file.refresh.windowDays}) must be longer than deadlineMinutes (${deadlineMinutes}): within the deadline pushes rebuild an image anyway`,
    );
  }
  const publicUrl = (env.PUBLIC_URL ?? file.publicUrl ?? `http://localhost:${port}`).replace(/\/$/, '');
  const { taskcluster, mode } = taskclusterMode(env, {
    example: !path,
    publicUrl,
    publicUrlGiven: Boolean(env.PUBLIC_URL ?? file.publicUrl),
    allowLoopback: file.allowLoopbackPublicUrl ?? false,
  });
  return {
    port,
    host: env.HOST ?? file.host ?? '0.0.0.0',
    publicUrl,
    dataDir,
    databaseUrl,
    taskcluster,
    adminToken: env.IMAGE_DECIDER_ADMIN_TOKEN || null,
    genericToken: secretFrom(env, file.genericTokenEnv, 'genericTokenEnv') ?? (env.IMAGE_DECIDER_GENERIC_TOKEN || null),
    logLevel: env.LOG_LEVEL ?? file.logLevel ?? 'info',
    bodyLimitBytes: file.bodyLimitBytes ?? 10 * 1024 * 1024,
    requestTimeoutSeconds: file.requestTimeoutSeconds ?? 30,
    fetchTimeoutSeconds: file.fetchTimeoutSeconds ?? 120,
    keepAliveTimeoutSeconds: file.keepAliveTimeoutSeconds ?? 72,
    maxAttempts: file.maxAttempts ?? 20,
    trustProxy: trustProxySetting(file.trustProxy),
    workersPerRepository: file.workersPerRepository ?? 1,
    rateLimit: { readsPerMinute: file.rateLimit?.readsPerMinute ?? 3000, rebuildsPerMinute: file.rateLimit?.rebuildsPerMinute ?? 10 },
    upstreamBreaker: { failures: file.upstreamBreaker?.failures ?? 3, probeIntervalSeconds: file.upstreamBreaker?.probeIntervalSeconds ?? 30 },
    refresh: { intervalMinutes: file.refresh?.intervalMinutes ?? 60, windowDays: file.refresh?.windowDays ?? 30 },
    catalogLimits: {
      kindFileBytes: file.limits?.kindFileBytes ?? DEFAULT_CATALOG_LIMITS.kindFileBytes,
      images: file.limits?.imagesPerGraph ?? DEFAULT_CATALOG_LIMITS.images,
      includesPerDockerfile: file.limits?.includesPerDockerfile ?? DEFAULT_CATALOG_LIMITS.includesPerDockerfile,
      contextBytesPerPush: file.limits?.contextBytesPerPush ?? DEFAULT_CATALOG_LIMITS.contextBytesPerPush,
    },
    maxDecisionBytes: file.limits?.decisionBytes ?? DEFAULT_MAX_DECISION_BYTES,
    readFetchIntervalSeconds: file.readFetchIntervalSeconds ?? 30,
    workerConcurrency,
    deadlineMinutes: file.deadlineMinutes ?? DEFAULT_DECISION_SETTINGS.deadlineMinutes,
    owner: file.owner ?? DEFAULT_DECISION_SETTINGS.owner,
    repositories: file.repositories.map((r) => repository(r, env, baseDir)),
    example: !path,
    mode,
  };
}
