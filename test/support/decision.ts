import { join } from 'node:path';
import { after } from 'node:test';
import { DEFAULT_BUILDER_IMAGE } from '../../src/context/digest.ts';
import { HashPool } from '../../src/context/hash-thread.ts';
import { ContextHasher } from '../../src/context/hasher.ts';
import type { DecisionRecord, DecisionStore, ForceRebuild, ImageDecision, Level } from '../../src/domain/index.ts';
import { type DecideRequest, Decider } from '../../src/decision/decider.ts';
import { DEFAULT_DECISION_SETTINGS, type DecisionSettings } from '../../src/decision/settings.ts';
import { TaskTemplate } from '../../src/decision/template.ts';
import { GraphBuilder } from '../../src/graph/build-graph.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { createTaskcluster, newTaskId } from '../../src/taskcluster/client.ts';
import type { Taskcluster } from '../../src/taskcluster/types.ts';
import type { GitRepo } from '../../src/tree/git-repo.ts';
import { GitTree } from '../../src/tree/git-tree.ts';
import { FakeTaskcluster } from './fake-taskcluster/server.ts';
import { openRepo } from './sources.ts';
import { tempDir } from './temp.ts';
import { commitAll, initRepo, materialise } from './vectors.ts';

export const PUBLIC_URL = 'https://decider.example';

/** The acme graph's decisions when nothing is built yet, and when everything is. */
export const ALL_BUILD = { base: 'build', python: 'build', 'node-tools': 'build', lint: 'build', standalone: 'build', prebuilt: 'registry' };
export const ALL_INDEXED = { base: 'indexed', python: 'indexed', 'node-tools': 'indexed', lint: 'indexed', standalone: 'indexed', prebuilt: 'registry' };

export interface HarnessOptions {
  /** Client retries after the first attempt (default 5, as the client's own default). */
  readonly retries?: number;
  readonly store?: DecisionStore;
  readonly dryRun?: boolean;
  /** Overrides of the default decision settings. */
  readonly settings?: Partial<DecisionSettings>;
  /** The vector tree the repository holds (default `acme/tree`). */
  readonly tree?: string;
}

export interface DecideOptions {
  readonly level?: Level;
  readonly pullRequest?: boolean;
  readonly force?: ForceRebuild;
}

/**
 * A vectors repository in git (acme's unless told), the fake Taskcluster, the real client over HTTP,
 * and a Decider whose clock is the fake's (so tests can move time for both).
 */
export class DecisionHarness {
  readonly decider: Decider;
  private readonly pool = new HashPool();
  readonly builder = new GraphBuilder(new ContextHasher({ pool: this.pool }));

  private constructor(
    readonly fake: FakeTaskcluster,
    readonly taskcluster: Taskcluster | null,
    readonly store: DecisionStore,
    readonly template: TaskTemplate,
    readonly dir: string,
    readonly repo: GitRepo,
    settings: Partial<DecisionSettings> = {},
  ) {
    this.decider = new Decider({
      taskcluster,
      store,
      template,
      settings: { ...DEFAULT_DECISION_SETTINGS, publicUrl: PUBLIC_URL, ...settings },
      clock: () => new Date(fake.now()),
      newId: newTaskId,
    });
  }

  static async start(options: HarnessOptions = {}): Promise<DecisionHarness> {
    const fake = await FakeTaskcluster.start();
    const tc = options.dryRun
      ? null
      : createTaskcluster({ rootUrl: fake.rootUrl, clientId: 'tester', accessToken: 'not-a-real-token', retries: options.retries ?? 5, delayFactorMs: 5 });
    const dir = await materialise(options.tree ?? 'acme/tree', join(await tempDir(), 'acme'));
    initRepo(dir);
    commitAll(dir);
    return new DecisionHarness(fake, tc, options.store ?? new MemoryStore(), await TaskTemplate.load(), dir, await openRepo(dir), options.settings);
  }

  /** The request for HEAD of the repository. */
  async request(options: DecideOptions = {}): Promise<DecideRequest> {
    const level = options.level ?? 3;
    const pullRequest = options.pullRequest ?? false;
    const tree = await GitTree.open(this.repo, 'HEAD');
    const pushDate = new Date(this.fake.now());
    const graph = await this.builder.build(tree, { level, pullRequest, algorithm: 'taskgraph', builderImage: DEFAULT_BUILDER_IMAGE, pushDate });
    const push = {
      repository: 'acme',
      repositoryUrl: 'https://example.com/acme',
      rev: tree.revision!,
      ref: 'refs/heads/main',
      level,
      pullRequest,
      owner: 'dev@example.com',
    };
    return { push, graph, pushDate, ...(options.force ? { force: options.force } : {}) };
  }

  async decide(options: DecideOptions = {}): Promise<DecisionRecord> {
    return this.decider.decide(await this.request(options));
  }

  /** Completes every task that can run, until none is left pending (parents before children). */
  completeAll(): void {
    for (;;) {
      const pending = [...this.fake.services.tasks.values()].filter((t) => t.state === 'pending');
      if (pending.length === 0) return;
      for (const task of pending) this.fake.services.complete(task.taskId);
    }
  }

  /** createTask calls that succeeded, in order, by image name. */
  createdImages(): string[] {
    return [...this.fake.services.tasks.values()].map((t) => (t.definition.payload as { env: { IMAGE_NAME: string } }).env.IMAGE_NAME);
  }

  async close(): Promise<void> {
    await this.builder.hasher.close();
    await this.pool.close();
    await this.fake.close();
  }
}

export function byName(record: DecisionRecord): Map<string, ImageDecision> {
  return new Map(record.images.map((i) => [i.name, i]));
}

export function decisionsOf(record: DecisionRecord): Record<string, string> {
  return Object.fromEntries(record.images.map((i) => [i.name, i.decision]));
}

/**
 * A starter of harnesses for one suite (call it inside `describe`): every harness it starts
 * is closed after the suite.
 */
export function suiteHarnesses(): (options?: HarnessOptions) => Promise<DecisionHarness> {
  const started: DecisionHarness[] = [];
  after(() => Promise.all(started.map((h) => h.close())));
  return async (options) => {
    const h = await DecisionHarness.start(options);
    started.push(h);
    return h;
  };
}
