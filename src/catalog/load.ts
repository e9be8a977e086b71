import { DeciderError, isDeciderError } from '../errors.ts';
import { hasEscapedBytes } from '../tree/name-bytes.ts';
import { joinPath } from '../tree/paths.ts';
import { resolvePath } from '../tree/resolve.ts';
import type { TreeSource } from '../tree/types.ts';
import { CI_KIND, type DeclaredImage, TASKGRAPH_KIND, imageNameProblem, isLegacyKind, parseLegacyKind, parseTaskgraphKind } from './kind-file.ts';
import { type CatalogLimits, DEFAULT_CATALOG_LIMITS } from './limits.ts';
import { orderParentsFirst } from './order.ts';
import { DOCKER_DIR, registryReference } from './registry.ts';
import type { Catalog, CatalogLayout, ImageError, ImageSpec } from './types.ts';
import { isRecord, readYaml } from './yaml.ts';

/** The limits the kind file itself is checked against. */
type KindLimits = Pick<CatalogLimits, 'kindFileBytes' | 'images'>;

const CONFIG = 'taskcluster/config.yml';
/** taskgraph's config beside its kinds before release 8. */
const CI_CONFIG = 'taskcluster/ci/config.yml';

interface TaskgraphConfig {
  readonly trustDomain: string | null;
  readonly cachePrefix: string | null;
}

async function isFile(tree: TreeSource, path: string): Promise<boolean> {
  return (await tree.lstat(path))?.kind === 'file';
}

async function readConfig(tree: TreeSource, path: string, limits: KindLimits): Promise<TaskgraphConfig> {
  if (!(await isFile(tree, path))) return { trustDomain: null, cachePrefix: null };
  const doc = await readYaml(tree, path, 'bad-taskgraph-config', limits.kindFileBytes);
  if (!isRecord(doc)) throw new DeciderError('bad-taskgraph-config', `${path}: must be a mapping`);
  const trustDomain = doc['trust-domain'];
  const prefix = isRecord(doc.taskgraph) ? doc.taskgraph['cached-task-prefix'] : undefined;
  if (trustDomain !== undefined && typeof trustDomain !== 'string') {
    throw new DeciderError('bad-taskgraph-config', `${path}: trust-domain must be a string`);
  }
  if (prefix !== undefined && typeof prefix !== 'string') {
    throw new DeciderError('bad-taskgraph-config', `${path}: taskgraph.cached-task-prefix must be a string`);
  }
  return { trustDomain: trustDomain ?? null, cachePrefix: prefix ?? trustDomain ?? null };
}

/** Folders directly under `dir` (following symlinks inside the tree). */
async function folders(tree: TreeSource, dir: string): Promise<string[]> {
  const root = await tree.lstat(dir);
  if (!root || root.kind !== 'dir') return [];
  const out: string[] = [];
  for (const child of await tree.list(dir)) {
    // No image is named by bytes that are not UTF-8: a kind file cannot name one, nor can the Index.
    if (hasEscapedBytes(child.name)) continue;
    if (child.kind === 'dir') out.push(child.name);
    else if (child.kind === 'symlink') {
      const target = await resolvePath(tree, joinPath(dir, child.name)).catch(() => null);
      if (target?.entry.kind === 'dir') out.push(child.name);
    }
  }
  return out.sort();
}

/** The in-tree image named by a Dockerfile's first `FROM`, if any. */
async function parentFromDockerfile(tree: TreeSource, contextDir: string, names: ReadonlySet<string>): Promise<string | null> {
  const resolved = await resolvePath(tree, joinPath(contextDir, 'Dockerfile')).catch(() => null);
  if (!resolved || resolved.entry.kind !== 'file') return null;
  const text = (await tree.readFile(resolved.path)).toString('utf8');
  const from = /^[ \t]*FROM[ \t]+(.*)$/im.exec(text);
  if (!from) return null;
  const image = from[1]!.split(/\s+/).find((t) => t !== '' && !t.startsWith('--'));
  if (!image) return null;
  const bare = image.split('@')[0]!.replace(/:[^:/]*$/, '');
  return names.has(bare) ? bare : null;
}

async function checkContext(tree: TreeSource, image: DeclaredImage): Promise<ImageError | null> {
  try {
    const dockerfile = await resolvePath(tree, joinPath(image.contextDir, 'Dockerfile'));
    if (dockerfile?.entry.kind === 'file') return null;
    return { code: 'missing-dockerfile', message: `${image.contextDir}/Dockerfile does not exist` };
  } catch (err) {
    if (isDeciderError(err)) return { code: err.code, message: err.message };
    throw err;
  }
}

/**
 * taskgraph's cached_tasks transform refuses a cached task with an uncached dependency: its
 * digest would have to include the parent's, and there is none.
 */
function cachedOnUncached(kindFile: string | null, image: DeclaredImage, uncached: ReadonlySet<string>): ImageError | null {
  if (!image.cache || !image.parent || !uncached.has(image.parent)) return null;
  const message = `Cached task docker-image-${image.name} has uncached parent task: docker-image-${image.parent}`;
  return { code: 'bad-kind-file', message: kindFile ? `${kindFile}: ${message}` : message };
}

interface Declared {
  readonly layout: CatalogLayout;
  readonly kindFile: string | null;
  readonly config: TaskgraphConfig;
  readonly images: DeclaredImage[];
}

/**
 * The kind file taskgraph would read: `taskcluster/kinds/…` with `taskcluster/config.yml`;
 * else `taskcluster/ci/…`, which is taskgraph's layout before release 8 (with
 * `taskcluster/ci/config.yml`) unless it is the 2016 `images:` list.
 */
async function declare(tree: TreeSource, limits: KindLimits): Promise<Declared> {
  if (await isFile(tree, TASKGRAPH_KIND)) {
    const config = await readConfig(tree, CONFIG, limits);
    const doc = await readYaml(tree, TASKGRAPH_KIND, 'bad-kind-file', limits.kindFileBytes);
    return { layout: 'taskgraph', kindFile: TASKGRAPH_KIND, config, images: parseTaskgraphKind(doc, TASKGRAPH_KIND, config.cachePrefix) };
  }
  if (await isFile(tree, CI_KIND)) {
    const doc = await readYaml(tree, CI_KIND, 'bad-kind-file', limits.kindFileBytes);
    if (isLegacyKind(doc)) {
      const config = await readConfig(tree, CONFIG, limits);
      return { layout: 'legacy-2016', kindFile: CI_KIND, config, images: parseLegacyKind(doc, config.cachePrefix) };
    }
    const config = await readConfig(tree, CI_CONFIG, limits);
    return { layout: 'taskgraph-ci', kindFile: CI_KIND, config, images: parseTaskgraphKind(doc, CI_KIND, config.cachePrefix) };
  }
  return { layout: 'folders', kindFile: null, config: await readConfig(tree, CONFIG, limits), images: [] };
}

/**
 * Lists a revision's in-tree images: from the kind file taskgraph would read, else the
 * 2016 one, else every folder under `taskcluster/docker` holding a Dockerfile.
 * Per-image problems become that image's error; an unreadable kind file throws.
 */
export async function loadCatalog(tree: TreeSource, limits: KindLimits = DEFAULT_CATALOG_LIMITS): Promise<Catalog> {
  const { layout, kindFile, config, images: declaredImages } = await declare(tree, limits);
  const tooMany = (n: number) => {
    if (n > limits.images) throw new DeciderError('limit-exceeded', `${kindFile ?? DOCKER_DIR} declares ${n} images, over the limit of ${limits.images}`);
  };
  tooMany(declaredImages.length);

  const specs: ImageSpec[] = [];
  const used = new Set(declaredImages.map((d) => d.contextDir));
  const declaredNames = new Set(declaredImages.map((d) => d.name));
  // Folders with a VERSION and no task entry are prebuilt registry images; without
  // a kind file, every folder holding a Dockerfile is an image.
  const found = await folders(tree, DOCKER_DIR);
  if (layout === 'folders') tooMany(found.length);
  for (const name of found) {
    const dir = joinPath(DOCKER_DIR, name);
    if (used.has(dir) || declaredNames.has(name)) continue;
    if (await isFile(tree, joinPath(dir, 'VERSION'))) {
      let reference: string | null = null;
      let error: ImageError | null = null;
      try {
        reference = await registryReference(tree, dir, name);
      } catch (err) {
        if (!isDeciderError(err)) throw err;
        error = { code: err.code, message: err.message };
      }
      specs.push({ name, kind: 'registry', contextDir: dir, parent: null, args: {}, symbol: null, packages: [], cache: true, reference, error });
    } else if (layout === 'folders' && (await resolvePath(tree, joinPath(dir, 'Dockerfile')).catch(() => null))) {
      const problem = imageNameProblem(name, config.cachePrefix);
      const error: ImageError | null = problem ? { code: 'bad-image-name', message: `${dir}: image ${JSON.stringify(name)}: ${problem}` } : null;
      declaredImages.push({ name, contextDir: dir, parent: undefined, args: {}, symbol: null, packages: [], cache: true, error });
    }
  }

  tooMany(declaredImages.length + specs.length);
  const buildNames = new Set(declaredImages.map((d) => d.name));
  const uncached = new Set(declaredImages.filter((d) => !d.cache).map((d) => d.name));
  for (const image of declaredImages) {
    let { error } = image;
    let parent = image.parent ?? null;
    error ??= cachedOnUncached(kindFile, image, uncached);
    error ??= await checkContext(tree, image);
    if (!error && image.parent === undefined) {
      parent = await parentFromDockerfile(tree, image.contextDir, new Set([...buildNames].filter((n) => n !== image.name)));
    }
    specs.push({ ...image, kind: 'build', parent, reference: null, error });
  }
  return { layout, kindFile, ...config, images: orderParentsFirst(specs) };
}
