import { type CatalogLimits, DEFAULT_CATALOG_LIMITS } from '../catalog/limits.ts';
import { loadCatalog } from '../catalog/load.ts';
import type { Catalog, ImageError, ImageSpec } from '../catalog/types.ts';
import { imageDigest } from '../context/digest.ts';
import type { ContextHasher, HashResult } from '../context/hasher.ts';
import { IncludedFolders } from '../context/included-folder.ts';
import { type EncodedManifest, type EncodedPart } from '../context/manifest-encoding.ts';
import { type IndexNaming, buildRoutes, lookupPaths } from '../context/index-paths.ts';
import { TraceMemo, TracingTree } from '../context/memo.ts';
import { DeciderError, isDeciderError } from '../errors.ts';
import type { TreeSource } from '../tree/types.ts';
import type { GraphOptions, ImageGraph, ImageNode } from './types.ts';

const HASH_CONCURRENCY = 4;

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * The tar bytes one graph's contexts may hash together (`limits.contextBytesPerPush`), and
 * the first limit a context hit: either stops the graph's hashing, and fails it once the
 * hashes under way have settled (none goes on after the push has failed).
 */
class ContextBudget {
  private spent = 0;
  private contexts = 0;
  private refused: DeciderError | null = null;

  constructor(
    private readonly limit: number,
    private readonly revision: string | null,
  ) {}

  get stopped(): boolean {
    return this.refused !== null || this.spent > this.limit;
  }

  spend(bytes: number): void {
    this.spent += bytes;
    this.contexts += 1;
  }

  refuse(err: DeciderError): void {
    this.refused ??= err;
  }

  check(): void {
    if (this.refused) throw this.refused;
    if (this.spent <= this.limit) return;
    throw new DeciderError(
      'limit-exceeded',
      `the contexts of ${this.revision ?? 'this tree'} hash at least ${this.spent} bytes (${this.contexts} hashed before stopping), over the limit of ${this.limit} context bytes per push (limits.contextBytesPerPush)`,
    );
  }
}

type Hashed = { ok: HashResult } | { error: ImageError } | null;

/**
 * Builds the image graph of one revision: catalog, context hashes, digests and
 * index names. Both the catalog and the hashes are memoised by object ids.
 */
export class GraphBuilder {
  private readonly catalogs = new TraceMemo<Catalog>(256, 4);

  constructor(
    readonly hasher: ContextHasher,
    private readonly limits: CatalogLimits = DEFAULT_CATALOG_LIMITS,
  ) {}

  async catalog(tree: TreeSource): Promise<Catalog> {
    const cached = await this.catalogs.lookup('catalog', tree);
    if (cached) return cached;
    const traced = new TracingTree(tree);
    const catalog = await loadCatalog(traced, this.limits);
    this.catalogs.store('catalog', traced.trace(), catalog);
    return catalog;
  }

  async build(tree: TreeSource, options: GraphOptions): Promise<ImageGraph> {
    const catalog = await this.catalog(tree);
    const trustDomain = options.trustDomain ?? catalog.trustDomain;
    const cachePrefix = options.cachePrefix ?? (options.trustDomain ? options.trustDomain : catalog.cachePrefix);
    const naming: IndexNaming | null =
      options.algorithm === 'seed-v1'
        ? { scheme: 'seed-v1', project: options.project ?? 'unknown', integrationProject: options.integrationProject ?? 'mozilla-central' }
        : cachePrefix
          ? { scheme: 'taskgraph', prefix: cachePrefix }
          : null;

    const budget = new ContextBudget(this.limits.contextBytesPerPush, tree.revision);
    // One copy of each manifest part for the graph: its images mostly include the same folders.
    const parts = new Map<string, EncodedPart>();
    const onePart = (part: EncodedPart): EncodedPart => {
      const known = parts.get(part.key);
      if (known) return known;
      parts.set(part.key, part);
      return part;
    };
    const shared = (m: EncodedManifest): EncodedManifest => ({ ...m, parts: m.parts.map(onePart) });
    // Its images mostly include the same folders: each is planned once, and written whole once spooled.
    const folders = new IncludedFolders();
    const hashed = await mapLimited(catalog.images, HASH_CONCURRENCY, async (spec): Promise<Hashed> => {
      // Once the graph is over a limit no further context is hashed.
      if (spec.kind !== 'build' || spec.error || budget.stopped) return null;
      try {
        const result = await this.hasher.hash(tree, { ...spec, maxIncludes: this.limits.includesPerDockerfile }, options.algorithm, folders);
        budget.spend(result.bytes);
        return { ok: result.manifest ? { ...result, manifest: shared(result.manifest) } : result };
      } catch (err) {
        if (!isDeciderError(err)) throw err;
        // A limit fails the whole push; any other problem is this image's.
        if (err.code !== 'limit-exceeded') return { error: err.toJSON() };
        budget.refuse(err);
        return null;
      }
    });
    budget.check();

    const nodes = new Map<string, ImageNode>();
    const manifests = new Map<string, EncodedManifest>();
    catalog.images.forEach((spec, i) => {
      nodes.set(spec.name, this.node(spec, hashed[i]!, nodes, naming, options));
      const done = hashed[i];
      if (done && 'ok' in done && done.ok.manifest) manifests.set(done.ok.contextHash, done.ok.manifest);
    });
    return {
      rev: tree.revision,
      level: options.level,
      pullRequest: options.pullRequest,
      algorithm: options.algorithm,
      layout: catalog.layout,
      trustDomain,
      cachePrefix,
      images: [...nodes.values()],
      warnings: naming ? [] : ['no trust domain: set trust-domain in taskcluster/config.yml or pass one; index paths are left empty'],
      manifests,
    };
  }

  private node(spec: ImageSpec, hashed: Hashed, done: ReadonlyMap<string, ImageNode>, naming: IndexNaming | null, options: GraphOptions): ImageNode {
    const base = {
      name: spec.name,
      contextDir: spec.contextDir,
      parent: spec.parent,
      args: spec.args,
      contextHash: null,
      digest: null,
      indexPaths: [],
      routes: [],
      ...(spec.symbol ? { symbol: spec.symbol } : {}),
    };
    if (spec.kind === 'registry') {
      return spec.error ? { ...base, kind: 'error', error: spec.error } : { ...base, kind: 'registry', reference: spec.reference! };
    }
    if (spec.error) return { ...base, kind: 'error', error: spec.error };
    const parent = spec.parent ? done.get(spec.parent) : undefined;
    if (parent && (parent.kind === 'error' || parent.kind === 'blocked')) {
      const root = parent.blockedBy ?? parent.name;
      return {
        ...base,
        kind: 'blocked',
        blockedBy: root,
        error: { code: parent.error!.code, message: `blocked: ${root} is in error: ${parent.error!.message}` },
      };
    }
    if (!hashed) throw new DeciderError('internal-error', `image ${spec.name} was not hashed`);
    if ('error' in hashed) return { ...base, kind: 'error', error: hashed.error };
    const { contextHash, files, bytes, memoHit } = hashed.ok;
    // taskgraph gives an uncached image no cached_task: no digest, index-search or routes.
    if (!spec.cache) return { ...base, kind: 'build', contextHash, cache: false, files, bytes, memoHit };
    const digest =
      options.algorithm === 'seed-v1'
        ? contextHash
        : imageDigest({
            contextHash,
            args: spec.args,
            builderImage: options.builderImage,
            parent: parent ? { name: parent.name, digest: parent.digest! } : null,
          });
    const query = { name: spec.name, digest, level: options.level, pullRequest: options.pullRequest };
    return {
      ...base,
      kind: 'build',
      contextHash,
      digest,
      indexPaths: naming ? lookupPaths(naming, query) : [],
      routes: naming ? buildRoutes(naming, query, options.pushDate) : [],
      files,
      bytes,
      memoHit,
      inputs: { algorithm: options.algorithm, builderImage: options.builderImage, parentDigest: parent?.digest ?? null },
    };
  }
}
