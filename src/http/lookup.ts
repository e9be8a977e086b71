import { parseLevel, type DecisionRecord, type PushRecord } from '../domain/index.ts';
import { asPreview } from '../decision/preview.ts';
import { DeciderError } from '../errors.ts';
import type { RepositoryRuntime } from '../service/repositories.ts';
import type { Service } from '../service/service.ts';

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The repository a request names; optional when only one is configured. */
export function repositoryParam(service: Service, name: string | undefined): RepositoryRuntime {
  if (name === undefined) {
    if (service.repos.size === 1) return [...service.repos.values()][0]!;
    throw new DeciderError('bad-request', `several repositories are configured: name one with repo= (${[...service.repos.keys()].join(', ')})`);
  }
  const repo = service.repos.get(name);
  if (!repo) throw new DeciderError('unknown-repository', `no repository named ${name}`);
  return repo;
}

export interface RevisionDecision {
  readonly rev: string;
  readonly state: string;
  readonly push: PushRecord | null;
  readonly record: DecisionRecord | null;
  /**
   * Context hashes of a preview that no push recorded: `/contexts` cannot make them yet (it
   * makes only recorded contexts, so anonymous previews cannot fill its disk), so their URLs are withheld.
   */
  readonly unservedContexts: ReadonlySet<string>;
}

/**
 * The recorded decision for a revision (a sha, or a ref resolved through the mirror), or,
 * when there is none, a preview computed on the spot that records and creates nothing.
 */
export async function decisionForRev(service: Service, repo: RepositoryRuntime, rev: string, options: { level?: number; pullRequest?: boolean }): Promise<RevisionDecision> {
  const name = repo.config.name;
  if (FULL_SHA.test(rev)) {
    const push = await service.store.findPushByRev(name, rev);
    if (push) return recorded(service, push, rev);
  }
  // Anonymous: answered from the mirror, upstream asked at most once per interval.
  const commit = await repo.mirror.lookup(rev, service.config.readFetchIntervalSeconds * 1000);
  const push = await service.store.findPushByRev(name, commit.sha);
  if (push) return recorded(service, push, commit.sha);
  const ref = FULL_SHA.test(rev) ? null : rev === 'HEAD' ? null : rev.startsWith('refs/') ? rev : `refs/heads/${rev}`;
  const level = parseLevel(options.level ?? (ref ? repo.levelFor(ref) : null) ?? 3);
  const pullRequest = options.pullRequest ?? false;
  // A preview of a push received now: its `pushdate` routes and rank carry this time, not the commit's.
  const pushDate = new Date();
  const graph = await repo.graph(commit, level, pullRequest, pushDate);
  const planned = await repo.previewDecider.plan({
    push: repo.pushContext(commit.sha, ref, level, pullRequest, null),
    graph,
    pushDate,
    lineage: repo.lineage(commit.sha, service.store),
  });
  return { rev: commit.sha, state: 'preview', push: null, record: asPreview(planned), unservedContexts: await unrecordedContexts(service, planned) };
}

/** The build contexts of a plan that no push recorded (a context an earlier push recorded is served already). */
async function unrecordedContexts(service: Service, record: DecisionRecord): Promise<Set<string>> {
  const hashes = new Set(record.images.filter((i) => i.node?.kind === 'build' && i.contextHash).map((i) => i.contextHash!));
  const known = await Promise.all([...hashes].map(async (hash) => [hash, (await service.store.findContext(hash)) !== null] as const));
  return new Set(known.filter(([, recorded]) => !recorded).map(([hash]) => hash));
}

async function recorded(service: Service, push: PushRecord, rev: string): Promise<RevisionDecision> {
  const record = await service.store.getDecision(push.id);
  return { rev: push.resolvedRev ?? rev, state: push.state, push, record, unservedContexts: new Set() };
}
