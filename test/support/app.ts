import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config/load.ts';
import { createService, type Service } from '../../src/service/service.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { createTaskcluster } from '../../src/taskcluster/client.ts';
import { FakeTaskcluster } from './fake-taskcluster/server.ts';
import { freshDatabase } from './pg.ts';
import { tempDir } from './temp.ts';
import { vectorRepo } from './vectors.ts';

export const WEBHOOK_SECRET = 'It is a secret to everybody';
export const ADMIN_TOKEN = 'admin-token-for-tests';
export const GENERIC_TOKEN = 'generic-token-for-tests';

export interface TestServiceOptions {
  /** Extra YAML for the configuration file's top level. */
  readonly extraConfig?: string;
  /** Use this database (a URL) instead of a fresh one. */
  readonly databaseUrl?: string;
  /** Dry run: no fake Taskcluster. */
  readonly dryRun?: boolean;
  readonly workerId?: string;
  readonly leaseMs?: number;
  /** Start the worker (default true). */
  readonly worker?: boolean;
  /** Where the service fetches the repository from (default: the local acme repository). */
  readonly repoUrl?: string;
  /** The vector tree the local repository holds (default `acme/tree`). */
  readonly tree?: string;
  /** The repository's `webUrl` (default https://github.com/acme/acme); null: none configured. */
  readonly webUrl?: string | null;
  /** More of the repository's settings, as YAML lines indented by four spaces. */
  readonly repoConfig?: string;
  /** More environment variables for the configuration. */
  readonly env?: Record<string, string>;
  /** The scopes the service's Taskcluster client holds (default: the fake's test scopes). */
  readonly clientScopes?: readonly string[];
  /** A fake Taskcluster to use (a restarted service talks to the same one); closed by whoever started it. */
  readonly fake?: FakeTaskcluster;
}

/** A port free now, so the public URL (and so CONTEXT_URL) can name it before the server starts. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Logs captured in memory, so tests can assert what was (and was not) logged. */
export class CapturedLog {
  readonly lines: string[] = [];
  readonly logger = pino({ level: 'debug' }, { write: (line: string) => void this.lines.push(line) });
  get text(): string {
    return this.lines.join('');
  }
}

/**
 * The whole service on a real store (a fresh PostgreSQL database), the fake Taskcluster,
 * and a local git repository holding the acme tree, with the app listening on a port.
 */
export class TestService {
  private constructor(
    readonly app: FastifyInstance,
    readonly service: Service,
    readonly fake: FakeTaskcluster,
    readonly repoDir: string,
    readonly headSha: string,
    readonly log: CapturedLog,
    readonly databaseUrl: string,
    private readonly store: ServiceStore,
    private readonly ownsFake: boolean,
  ) {}

  static async start(options: TestServiceOptions = {}): Promise<TestService> {
    const root = await tempDir();
    const { dir: repoDir, head: headSha } = await vectorRepo(options.tree ?? 'acme/tree', join(root, 'acme'));
    const fake = options.fake ?? (await FakeTaskcluster.start());
    if (options.clientScopes) fake.clients.set('service', options.clientScopes);
    const databaseUrl = options.databaseUrl ?? (await freshDatabase());
    const configFile = join(root, 'config.yml');
    const webUrl = options.webUrl === undefined ? 'https://github.com/acme/acme' : options.webUrl;
    const port = await freePort();
    await writeFile(
      configFile,
      `dataDir: ${join(root, 'data')}\nport: ${port}\npublicUrl: http://127.0.0.1:${port}\nallowLoopbackPublicUrl: true\n${options.extraConfig ?? ''}repositories:\n  - name: acme\n    url: ${options.repoUrl ?? repoDir}\n${webUrl === null ? '' : `    webUrl: ${webUrl}\n`}${options.repoConfig ?? ''}    webhookSecretEnv: ACME_SECRET\n    levels: {main: 3, "release/*": 3}\n`,
    );
    const env = {
      ACME_SECRET: WEBHOOK_SECRET,
      IMAGE_DECIDER_ADMIN_TOKEN: ADMIN_TOKEN,
      IMAGE_DECIDER_GENERIC_TOKEN: GENERIC_TOKEN,
      DATABASE_URL: databaseUrl,
      ...options.env,
      ...(options.dryRun ? {} : { TASKCLUSTER_ROOT_URL: fake.rootUrl, TASKCLUSTER_CLIENT_ID: 'service', TASKCLUSTER_ACCESS_TOKEN: 'tc-access-token-secret' }),
    };
    const config: Config = await loadConfig({ file: configFile, env });
    const log = new CapturedLog();
    const store = await openStore({ databaseUrl, dataDir: config.dataDir, maxDecisionBytes: config.maxDecisionBytes });
    const taskcluster = config.taskcluster ? createTaskcluster({ ...config.taskcluster, retries: 2, delayFactorMs: 5 }) : null;
    const service = await createService(config, log.logger, {
      store,
      taskcluster,
      workerId: options.workerId ?? `test-${Math.random().toString(36).slice(2)}`,
      leaseMs: options.leaseMs ?? 10_000,
      idlePollMs: 50,
      // The Taskcluster's time: a test moving the fake's clock moves task times and expiry with it.
      clock: () => new Date(fake.now()),
    });
    const app = await buildApp(service);
    await app.listen({ port, host: '127.0.0.1' });
    if (options.worker !== false) await service.worker.start();
    return new TestService(app, service, fake, repoDir, headSha, log, databaseUrl, store, !options.fake);
  }

  get url(): string {
    return this.service.config.publicUrl;
  }

  /** Waits until the push is decided (or failed); returns its graph. */
  async waitForPush(pushId: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const push = await this.service.store.getPush(pushId);
      if (push && (push.state === 'decided' || push.state === 'failed')) return;
      if (Date.now() > deadline) throw new Error(`push ${pushId} is still ${push?.state} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.service.close();
    await this.store.close();
    if (this.ownsFake) await this.fake.close();
  }
}

/** A GitHub push event for `sha` on `ref`, as GitHub sends it. */
export function githubPush(sha: string, ref = 'refs/heads/main', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ref,
    before: '0'.repeat(40),
    after: sha,
    created: false,
    deleted: false,
    forced: false,
    repository: { full_name: 'acme/acme', clone_url: 'https://github.com/acme/acme.git' },
    pusher: { name: 'dev', email: 'dev@example.com' },
    head_commit: { id: sha, author: { email: 'dev@example.com' } },
    commits: [],
    ...extra,
  };
}

export function githubSignature(body: string | Buffer, secret = WEBHOOK_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Headers of a signed GitHub delivery. */
export function githubHeaders(body: string, delivery: string, event = 'push'): Record<string, string> {
  return { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': delivery, 'x-hub-signature-256': githubSignature(body) };
}
