import type { ContextManifest } from '../context/manifest.ts';
import { decodeManifest, type EncodedManifest, partReader } from '../context/manifest-encoding.ts';
import type { ChangeStore, ImageChanges, ImageDecision, ImageVersion, PushContext } from '../domain/index.ts';
import type { ImageGraph } from '../graph/types.ts';
import { compareVersions } from './changes.ts';
import { describeFact } from './lookup.ts';

export interface ExplainInput {
  readonly decisionId: string;
  readonly push: PushContext;
  readonly graph: ImageGraph;
  readonly now: Date;
}

/** Images whose earlier manifests are read and compared at a time. */
const MANIFESTS_AT_ONCE = 8;

const short = (sha: string) => (/^[0-9a-f]{40,64}$/.test(sha) ? sha.slice(0, 12) : sha);

/** Records the manifests of the contexts a graph hashed: what later builds of its images compare with. */
export function recordGraphManifests(store: ChangeStore, graph: ImageGraph, at: Date): Promise<void> {
  return store.recordManifests(
    [...(graph.manifests ?? [])].map(([contextHash, manifest]) => ({ contextHash, manifest })),
    at,
  );
}

/** The versions a plan's images were decided under: what a later build compares with. */
export function versionsOf(images: readonly ImageDecision[], input: ExplainInput): ImageVersion[] {
  const versions: ImageVersion[] = [];
  for (const d of images) {
    const node = d.node;
    if (!node || node.kind !== 'build' || node.cache === false || !d.digest || !d.contextHash) continue;
    if (d.decision !== 'build' && d.decision !== 'indexed' && d.decision !== 'in-flight') continue;
    versions.push({
      repository: input.push.repository,
      image: d.name,
      digest: d.digest,
      contextHash: d.contextHash,
      args: node.args,
      parent: node.parent,
      inputs: node.inputs ?? null,
      pushId: input.decisionId,
      rev: input.push.rev,
      decision: d.decision,
      // A dry run's ids name no task.
      taskId: d.dryRun ? null : d.taskId,
      seenAt: input.now.toISOString(),
    });
  }
  return versions;
}

/**
 * Says why each build of a plan is one: a lookup that found a build of the same inputs it could
 * not reuse (failed, expired, without its artifact...), a force, or else which inputs differ from
 * the image's last version in the repository (files of its context, with the `%include` they came
 * by, `%ARG` values, the parent's digest, the builder image, the algorithm), from the manifests
 * kept per context hash, so nothing is hashed again. The summary starts the build's reason.
 */
export async function explainBuilds(images: readonly ImageDecision[], input: ExplainInput, store: ChangeStore): Promise<ImageDecision[]> {
  const current = versionsOf(
    images.filter((d) => d.decision === 'build'),
    input,
  );
  const found = new Map(await Promise.all(current.map(async (v) => [v.image, await store.versionsOf(v.repository, v.image, v.digest)] as const)));
  const known: ReadonlyMap<string, EncodedManifest> = input.graph.manifests ?? new Map();
  // This graph's own manifests, decoded as needed: each shared part once.
  const graphParts = new Map([...known.values()].flatMap((m) => m.parts.map((p) => [p.key, p] as const)));
  const ownPart = partReader((key) => graphParts.get(key)?.text);
  const mine = (hash: string): ContextManifest | null => {
    const m = known.get(hash);
    return m ? decodeManifest(m.head, ownPart) : null;
  };
  const byName = new Map(images.map((d) => [d.name, d]));
  const explained = new Map<string, ImageChanges | null>();
  // Earlier manifests are read a few images at a time and dropped once compared: a push that
  // rebuilds every image of a large repository would otherwise hold all of them at once.
  for (let i = 0; i < current.length; i += MANIFESTS_AT_ONCE) {
    const batch = current.slice(i, i + MANIFESTS_AT_ONCE);
    const wanted = new Set<string>();
    for (const v of batch) {
      const other = found.get(v.image)?.other;
      for (const hash of [v.contextHash, other?.contextHash]) if (hash && !known.has(hash)) wanted.add(hash);
    }
    const stored = await store.getManifests([...wanted]);
    const manifest = (hash: string) => mine(hash) ?? stored.get(hash) ?? null;
    for (const v of batch) explained.set(v.image, explainOne(byName.get(v.image)!, input, v, found.get(v.image), manifest));
  }

  return images.map((d) => {
    if (d.decision !== 'build' || d.error) return d;
    const changes = explained.has(d.name) ? explained.get(d.name)! : explainOne(d, input, undefined, undefined, () => null);
    if (!changes) return d;
    const reason = changes.kind === 'changed' || changes.kind === 'first' || changes.kind === 'unchanged' ? `${changes.summary}; ${d.reason}` : changes.summary;
    return { ...d, reason, changes };
  });
}

function explainOne(
  d: ImageDecision,
  input: ExplainInput,
  version: ImageVersion | undefined,
  found: { same: ImageVersion | null; other: ImageVersion | null } | undefined,
  manifest: (hash: string) => ContextManifest | null,
): ImageChanges | null {
  if (d.forced) return { kind: 'forced', summary: d.reason };
  if (d.node?.cache === false) return { kind: 'uncached', summary: d.reason };
  const missed = d.facts.filter((f) => f.outcome !== 'not-indexed' && f.outcome !== 'hit');
  if (missed.length > 0) return { kind: 'miss', summary: `no reusable build: ${missed.map(describeFact).join('; ')}` };
  if (!version) return null;
  // What an earlier attempt of this same decision recorded is not an earlier version.
  const same = found?.same && found.same.pushId !== input.decisionId ? found.same : null;
  const other = found?.other ?? null;
  if (same && (!other || same.seenAt >= other.seenAt)) {
    const task = same.taskId ? `, task ${same.taskId}` : '';
    return {
      kind: 'unchanged',
      summary: `unchanged since ${short(same.rev)} (its ${same.decision}${task})${d.dryRun ? '' : ', not indexed'}`,
      since: { pushId: same.pushId, rev: same.rev, decision: same.decision, taskId: same.taskId, digest: same.digest },
    };
  }
  if (!other) return { kind: 'first', summary: `first build known in ${input.push.repository}` };
  return compareVersions({ version: other, manifest: manifest(other.contextHash), seen: other }, { version, manifest: manifest(version.contextHash) });
}
