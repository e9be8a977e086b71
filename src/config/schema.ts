import { type Static, Type as T } from '@sinclair/typebox';
import { HASH_ALGORITHMS } from '../context/context-hash.ts';

const Level = T.Integer({ minimum: 1, maximum: 3 });
const Name = T.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$', description: 'letters, digits, dot, dash, underscore' });

export const RepositoryConfigSchema = T.Object(
  {
    name: Name,
    url: T.String({ minLength: 1, description: 'clone URL: https, ssh, file:// or a local path' }),
    webhookSecretEnv: T.Optional(T.String({ pattern: '^[A-Z_][A-Z0-9_]*$', description: 'name of the variable holding the webhook secret' })),
    fetchCredentialsEnv: T.Optional(
      T.String({ pattern: '^[A-Z_][A-Z0-9_]*$', description: 'name of the variable holding `user:password` (or `user:token`) for fetching over http(s)' }),
    ),
    webUrl: T.Optional(T.String({ pattern: '^(https?://|ssh://|git@)', description: 'browsable URL for metadata.source and VCS_* (default: url when it is https)' })),
    trustDomain: T.Optional(T.String({ minLength: 1 })),
    cachePrefix: T.Optional(T.String({ minLength: 1 })),
    hashAlgorithm: T.Optional(T.Union(HASH_ALGORITHMS.map((a) => T.Literal(a)))),
    levels: T.Optional(T.Record(T.String({ minLength: 1 }), Level, { description: 'branch glob to level, first match wins' })),
    defaultLevel: T.Optional(T.Union([Level, T.Null()], { description: 'level of branches no glob matches; null ignores them' })),
    tags: T.Optional(T.Boolean({ description: 'decide for tag pushes too' })),
    pullRequests: T.Optional(T.Boolean()),
    template: T.Optional(T.String({ minLength: 1 })),
    builderImage: T.Optional(T.String({ minLength: 1 })),
    taskQueueId: T.Optional(T.String({ minLength: 1, description: '{trustDomain} and {level} are replaced' })),
    provisionerId: T.Optional(T.String({ minLength: 1 })),
    workerType: T.Optional(T.String({ minLength: 1 })),
    schedulerId: T.Optional(T.String({ minLength: 1 })),
    priority: T.Optional(T.String({ minLength: 1 })),
    project: T.Optional(T.String({ minLength: 1 })),
    runTaskDir: T.Optional(T.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const ConfigFileSchema = T.Object(
  {
    port: T.Optional(T.Integer({ minimum: 0, maximum: 65535 })),
    host: T.Optional(T.String({ minLength: 1 })),
    publicUrl: T.Optional(T.String({ pattern: '^https?://' })),
    allowLoopbackPublicUrl: T.Optional(
      T.Boolean({ description: 'let a live service (TASKCLUSTER_ROOT_URL set) run with a loopback or missing publicUrl: for tests, where builders run on the same machine' }),
    ),
    dataDir: T.Optional(T.String({ minLength: 1 })),
    logLevel: T.Optional(T.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => T.Literal(l)))),
    bodyLimitBytes: T.Optional(T.Integer({ minimum: 1024 })),
    requestTimeoutSeconds: T.Optional(T.Integer({ minimum: 1, maximum: 3600, description: 'a request not received whole by then gets 408' })),
    fetchTimeoutSeconds: T.Optional(T.Integer({ minimum: 1 })),
    limits: T.Optional(
      T.Object(
        {
          kindFileBytes: T.Optional(T.Integer({ minimum: 1024, description: 'a kind file or config.yml larger than this fails its push (limit-exceeded)' })),
          imagesPerGraph: T.Optional(T.Integer({ minimum: 1, description: 'a revision declaring more images fails its push (limit-exceeded)' })),
          includesPerDockerfile: T.Optional(
            T.Integer({ minimum: 1, description: 'a Dockerfile with more `# %include` lines fails its push (limit-exceeded), before any include is read' }),
          ),
          contextBytesPerPush: T.Optional(
            T.Integer({ minimum: 1024, description: "the tar bytes of all of a graph's contexts together; over it, hashing stops and the push fails (limit-exceeded)" }),
          ),
          decisionBytes: T.Optional(T.Integer({ minimum: 1024, description: 'a decision record (JSON) larger than this is not stored: its push fails (limit-exceeded)' })),
        },
        { additionalProperties: false },
      ),
    ),
    readFetchIntervalSeconds: T.Optional(
      T.Integer({ minimum: 0, description: 'anonymous reads of a revision the mirror lacks fetch at most once per this many seconds, per repository' }),
    ),
    rateLimit: T.Optional(
      T.Object(
        {
          readsPerMinute: T.Optional(
            T.Integer({ minimum: 1, description: 'GET /graph and /images/* together, per client address: they can fetch from upstream and build a preview graph' }),
          ),
          rebuildsPerMinute: T.Optional(T.Integer({ minimum: 1, description: 'POST /images/<name>/rebuild, per admin token' })),
        },
        { additionalProperties: false },
      ),
    ),
    upstreamBreaker: T.Optional(
      T.Object(
        {
          failures: T.Optional(
            T.Integer({ minimum: 1, maximum: 100, description: 'fetch failures in a row after which a repository is unreachable: its pushes wait, unclaimed, using no attempt' }),
          ),
          probeIntervalSeconds: T.Optional(
            T.Integer({
              minimum: 1,
              maximum: 3600,
              description: 'while a repository is unreachable, one fetch tries its upstream this often; the first that succeeds makes it reachable',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    refresh: T.Optional(
      T.Object(
        {
          intervalMinutes: T.Optional(T.Number({ exclusiveMinimum: 0, maximum: 24 * 60, description: 'how often (and at start) level-3 images close to expiry are looked for' })),
          windowDays: T.Optional(
            T.Number({
              minimum: 1,
              maximum: 300,
              description: 'a level-3 image whose task or image artifact expires within this many days is rebuilt, once per digest and expiring task',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    maxAttempts: T.Optional(
      T.Integer({
        minimum: 1,
        maximum: 1000,
        description: 'attempts of one push before a transient failure (outage, missing scopes) fails it; POST /pushes/<id>/retry tries again',
      }),
    ),
    workersPerRepository: T.Optional(
      T.Integer({ minimum: 1, maximum: 64, description: "workers one repository's pushes may hold at once (across processes on one store); others wait" }),
    ),
    keepAliveTimeoutSeconds: T.Optional(
      T.Integer({ minimum: 1, maximum: 3600, description: 'idle keep-alive connections are closed after this; keep it above the load balancer idle timeout' }),
    ),
    trustProxy: T.Optional(
      // No hop count: Fastify 5 takes one but trusts no proxy with it (a direct client could spoof hops).
      T.Union([T.Boolean(), T.String({ minLength: 1 }), T.Array(T.String({ minLength: 1 }), { minItems: 1 })], {
        description:
          "Fastify's trustProxy: true (trust every proxy) or the proxies' addresses/CIDRs (a list, or one comma-separated string); the client address (rate limits, logs) is then read from X-Forwarded-For",
      }),
    ),
    workerConcurrency: T.Optional(T.Integer({ minimum: 0, maximum: 64, description: 'pushes this process decides at once; 0: an intake-only process (PostgreSQL only)' })),
    deadlineMinutes: T.Optional(T.Integer({ minimum: 10, maximum: 5 * 24 * 60 })),
    owner: T.Optional(T.String({ minLength: 3 })),
    genericTokenEnv: T.Optional(T.String({ pattern: '^[A-Z_][A-Z0-9_]*$' })),
    repositories: T.Array(RepositoryConfigSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type ConfigFile = Static<typeof ConfigFileSchema>;
export type RepositoryConfigFile = Static<typeof RepositoryConfigSchema>;
