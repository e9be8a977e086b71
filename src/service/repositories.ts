import picomatch from 'picomatch';
import type { Config, RepositoryConfig } from '../config/load.ts';
import type { BlobSpool } from '../context/blob-spool.ts';
import type { HashPool } from '../context/hash-thread.ts';
import { ContextHasher } from '../context/hasher.ts';
import type { ChangeStore, Level, Lineage, PushContext, PushStore } from '../domain/index.ts';
import { Decider } from '../decision/decider.ts';
import { recordGraphManifests } from '../decision/explain.ts';
import type { DecisionSettings } from '../decision/settings.ts';
import { TaskTemplate } from '../decision/template.ts';
import { GraphBuilder } from '../graph/build-graph.ts';
import type { ImageGraph } from '../graph/types.ts';
import type { CatalogLimits } from '../catalog/limits.ts';
import { GitMirror } from '../mirror/git-mirror.ts';
import { ReadOnlyChangeStore, ReadOnlyDecisionStore } from '../store/read-only-store.ts';
import type { ServiceStore } from '../store/service-store.ts';
import { newTaskId } from '../taskcluster/client.ts';
import type { Taskcluster } from '../taskcluster/types.ts';
import type { CommitInfo } from '../tree/git-repo.ts';
import { GitTree } from '../tree/git-tree.ts';
import { UpstreamBreaker } from './breaker.ts';
import { mirrorLineage } from './lineage.ts';

/** What every repository's hasher shares: built and closed by the service. */
export interface Hashing {
  readonly pool: HashPool;
  readonly spool: BlobSpool;
}

/** A configured repository with its mirror, hasher and decider. */
export class RepositoryRuntime {
  readonly hasher: ContextHasher;
  readonly builder: GraphBuilder;
  private readonly matchers: Array<[(branch: string) => boolean, Level]>;

  constructor(
    readonly config: RepositoryConfig,
    readonly mirror: GitMirror,
    /** Whether its upstream answers: while not, its pushes wait and its fetches are refused. */
    readonly breaker: UpstreamBreaker,
    readonly decider: Decider,
    /** Same settings, reading the real store but writing nothing: for previews. */
    readonly previewDecider: Decider,
    catalogLimits: CatalogLimits,
    /** The service's hashing threads and spool of included files, shared by every repository's hasher. */
    hashing: Hashing,
    /** Where the manifests of the contexts it hashes go (previews' too: the memo would not give them again). */
    private readonly changes: ChangeStore,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.hasher = new ContextHasher({ runTaskDir: config.runTaskDir, pool: hashing.pool, spool: hashing.spool });
    this.builder = new GraphBuilder(this.hasher, catalogLimits);
    this.matchers = config.levels.map(([glob, level]) => [picomatch(glob), level]);
  }

  get pullRequests(): boolean {
    return this.config.pullRequests;
  }

  /** The trust level of a push to `ref`; null when its pushes are not decided. */
  levelFor(ref: string): Level | null {
    if (ref.startsWith('refs/tags/')) return this.config.tags ? (this.config.defaultLevel ?? 1) : null;
    const branch = ref.replace(/^refs\/heads\//, '');
    for (const [matches, level] of this.matchers) if (matches(branch)) return level;
    return this.config.defaultLevel;
  }

  /**
   * A revision's graph, its manifests recorded (what a later build of its images compares with);
   * not a push's, so its `pushdate` routes carry `pushDate` (default now), as a push received then would.
   */
  async graph(commit: CommitInfo, level: Level, pullRequest: boolean, pushDate: Date = this.clock()): Promise<ImageGraph> {
    const graph = await this.buildGraph(commit, level, pullRequest, pushDate);
    await this.recordManifests(graph);
    return graph;
  }

  /**
   * A revision's graph, its manifests not yet recorded: a push records them while it plans.
   * `pushDate` is when the push was received (taskgraph's `build_date`, the decision task's
   * time), not the commit's date, which may be years old: `pushdate` routes carry it.
   */
  async buildGraph(commit: CommitInfo, level: Level, pullRequest: boolean, pushDate: Date): Promise<ImageGraph> {
    const tree = new GitTree(await this.mirror.repo(), commit);
    const graph = await this.builder.build(tree, {
      level,
      pullRequest,
      algorithm: this.config.hashAlgorithm,
      builderImage: this.config.builderImage,
      pushDate,
      trustDomain: this.config.trustDomain,
      cachePrefix: this.config.cachePrefix,
      project: this.config.project,
    });
    return graph;
  }

  recordManifests(graph: ImageGraph): Promise<void> {
    return recordGraphManifests(this.changes, graph, this.clock());
  }

  /** Where `rev` sits among this repository's pushes: what its builds are compared with. */
  lineage(rev: string, pushes: Pick<PushStore, 'listPushes'>): Lineage {
    return mirrorLineage(this.mirror, this.config.name, rev, pushes);
  }

  pushContext(rev: string, ref: string | null, level: Level, pullRequest: boolean, owner: string | null): PushContext {
    return { repository: this.config.project, repositoryUrl: this.config.webUrl ?? this.config.url, rev, ref, level, pullRequest, owner };
  }
}

/** Opens every configured repository; a bad template or settings fail here, at start-up. */
export async function openRepositories(
  config: Config,
  store: ServiceStore,
  taskcluster: Taskcluster | null,
  hashing: Hashing,
  /** The deciders' time: tasks' created/deadline/expires and what is judged against them. */
  clock?: () => Date,
): Promise<Map<string, RepositoryRuntime>> {
  const runtimes = new Map<string, RepositoryRuntime>();
  for (const repo of config.repositories) {
    const template = await TaskTemplate.load(repo.template ?? undefined);
    const settings: DecisionSettings = {
      publicUrl: config.publicUrl,
      builderImage: repo.builderImage,
      taskQueueId: repo.taskQueueId,
      schedulerId: repo.schedulerId,
      priority: repo.priority,
      deadlineMinutes: config.deadlineMinutes,
      owner: config.owner,
    };
    const deps = { taskcluster, template, settings, newId: newTaskId, ...(clock ? { clock } : {}) };
    const { failures, probeIntervalSeconds } = config.upstreamBreaker;
    const breaker = new UpstreamBreaker(repo.name, { failures, probeIntervalMs: probeIntervalSeconds * 1000 });
    const mirror = await GitMirror.create(repo.name, repo.url, config.dataDir, { timeoutMs: config.fetchTimeoutSeconds * 1000, credentials: repo.fetchCredentials, gate: breaker });
    breaker.probeWith(() => mirror.fetch(null, { probe: true }));
    runtimes.set(
      repo.name,
      new RepositoryRuntime(
        repo,
        mirror,
        breaker,
        new Decider({ ...deps, store, changes: store }),
        new Decider({ ...deps, store: new ReadOnlyDecisionStore(store), changes: new ReadOnlyChangeStore(store) }),
        config.catalogLimits,
        hashing,
        store,
        clock,
      ),
    );
  }
  return runtimes;
}
