import type { ContextManifest } from '../context/manifest.ts';
import { decodeManifest, type EncodedManifest, partReader } from '../context/manifest-encoding.ts';
import type { ChangeStore, ImageChanges, ImageDecision, ImageVersion, Lineage, PushContext } from '../domain/index.ts';
import type { ImageGraph } from '../graph/types.ts';
import { compareVersions } from './changes.ts';
import { describeFact } from './lookup.ts';

export interface ExplainInput {
  readonly decisionId: string;
  readonly push: PushContext;
  readonly graph: ImageGraph;
  readonly now: Date;
  /**
   * Where the push's revision sits in the repository's history: builds are compared with the
   * nearest decided ancestor. Without it (the CLI, whose store holds the one base revision it
   * decided), with the version seen last.
   */
  readonly lineage?: Lineage | null;
}

/** What one image is compared with: its version at the nearest decided revision, or the nearer push not decided yet. */
interface Earlier {
  readonly version: ImageVersion | null;
  readonly pending: { readonly pushId: string; readonly rev: string } | null;
  /** Whether the image has versions at revisions that are not ancestors of the push's. */
  readonly elsewhere: boolean;
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
  const earlier = await earlierVersions(current, input, store);
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
      const other = earlier.get(v.image)?.version;
      for (const hash of [v.contextHash, other?.contextHash]) if (hash && !known.has(hash)) wanted.add(hash);
    }
    const stored = await store.getManifests([...wanted]);
    const manifest = (hash: string) => mine(hash) ?? stored.get(hash) ?? null;
    for (const v of batch) explained.set(v.image, explainOne(byName.get(v.image)!, input, v, earlier.get(v.image), manifest));
  }

  return images.map((d) => {
    if (d.decision !== 'build' || d.error) return d;
    const changes = explained.has(d.name) ? explained.get(d.name)! : explainOne(d, input, undefined, undefined, () => null);
    if (!changes) return d;
    const reason = ['changed', 'first', 'unchanged', 'pending'].includes(changes.kind) ? `${changes.summary}; ${d.reason}` : changes.summary;
    return { ...d, reason, changes };
  });
}

/**
 * Each build's earlier version: with a lineage, the version at the nearest of the image's
 * decided revisions that is an ancestor of the push's (by git's walk of the commit graph),
 * unless a push of a revision nearer still is not decided yet; without one, the version seen
 * last (of the same digest when it was seen last, else of another). What an earlier attempt of
 * this same decision recorded is never an earlier version.
 */
async function earlierVersions(current: readonly ImageVersion[], input: ExplainInput, store: ChangeStore): Promise<Map<string, Earlier>> {
  const found = new Map<string, Earlier>();
  if (current.length === 0) return found;
  const lineage = input.lineage;
  const [all, notDecided] = await Promise.all([
    store.versionsOfImages(
      input.push.repository,
      current.map((v) => v.image),
    ),
    lineage?.undecided() ?? [],
  ]);
  const others = (image: string) => (all.get(image) ?? []).filter((v) => v.pushId !== input.decisionId);
  if (!lineage) {
    for (const v of current) {
      const seen = others(v.image);
      const last = seen[0] ?? null;
      found.set(v.image, { version: last?.digest === v.digest ? last : (seen.find((o) => o.digest !== v.digest) ?? null), pending: null, elsewhere: false });
    }
    return found;
  }
  // A push of this same revision is no earlier one to wait for.
  const undecided = notDecided.filter((p) => p.pushId !== input.decisionId && p.rev !== input.push.rev);
  const revs = new Set([...current.flatMap((v) => others(v.image).map((o) => o.rev)), ...undecided.map((p) => p.rev)]);
  const places = await lineage.ancestors(revs);
  const placed = (rev: string) => places.get(rev) ?? Infinity;
  const waitingFor = new Map(undecided.filter((p) => places.has(p.rev)).map((p) => [p.rev, p]));
  // Images share their revisions (every push records each image's version): git is asked once per set.
  const nearest = new Map<string, Promise<string[]>>();
  const nearestOf = (set: readonly string[]) => {
    const key = set.join(' ');
    let found = nearest.get(key);
    if (!found) nearest.set(key, (found = lineage.nearest(set)));
    return found;
  };
  await Promise.all(
    current.map(async (v) => {
      // Most recently seen first: of one revision decided twice, the newer sighting.
      const decided = new Map<string, ImageVersion>();
      for (const o of others(v.image)) if (places.has(o.rev) && !decided.has(o.rev)) decided.set(o.rev, o);
      const set = [...new Set([...decided.keys(), ...waitingFor.keys()])].sort();
      // Of the nearest (several across a merge), the one git walked to first.
      const tips = (await nearestOf(set)).sort((a, b) => placed(a) - placed(b));
      const tip = tips.find((rev) => decided.has(rev)) ?? null;
      const waiting = tips.find((rev) => !decided.has(rev) && (tip === null || placed(rev) <= placed(tip)));
      found.set(v.image, {
        version: waiting ? null : tip === null ? null : decided.get(tip)!,
        pending: waiting ? waitingFor.get(waiting)! : null,
        elsewhere: others(v.image).length > 0,
      });
    }),
  );
  return found;
}

function explainOne(
  d: ImageDecision,
  input: ExplainInput,
  version: ImageVersion | undefined,
  earlier: Earlier | undefined,
  manifest: (hash: string) => ContextManifest | null,
): ImageChanges | null {
  if (d.forced) return { kind: 'forced', summary: d.reason };
  if (d.node?.cache === false) return { kind: 'uncached', summary: d.reason };
  const missed = d.facts.filter((f) => f.outcome !== 'not-indexed' && f.outcome !== 'hit');
  if (missed.length > 0) return { kind: 'miss', summary: `no reusable build: ${missed.map(describeFact).join('; ')}` };
  if (!version) return null;
  if (earlier?.pending) {
    const { pushId, rev } = earlier.pending;
    return { kind: 'pending', summary: `not compared yet: ${short(rev)}, an earlier revision, is not decided yet (push ${pushId})`, pending: { pushId, rev } };
  }
  const was = earlier?.version ?? null;
  if (!was) return { kind: 'first', summary: `first build known in ${input.push.repository}${earlier?.elsewhere ? ' among the ancestors of this revision' : ''}` };
  if (was.digest === version.digest) {
    const task = was.taskId ? `, task ${was.taskId}` : '';
    return {
      kind: 'unchanged',
      summary: `unchanged since ${short(was.rev)} (its ${was.decision}${task})${d.dryRun ? '' : ', not indexed'}`,
      since: { pushId: was.pushId, rev: was.rev, decision: was.decision, taskId: was.taskId, digest: was.digest },
    };
  }
  return compareVersions({ version: was, manifest: manifest(was.contextHash), seen: was }, { version, manifest: manifest(version.contextHash) });
}
