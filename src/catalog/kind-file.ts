import { DeciderError } from '../errors.ts';
import { dirname, joinPath, normaliseInside } from '../tree/paths.ts';
import type { ImageError } from './types.ts';
import { DOCKER_DIR } from './registry.ts';
import { isRecord } from './yaml.ts';

export const TASKGRAPH_KIND = 'taskcluster/kinds/docker-image/kind.yml';
export const LEGACY_KIND = 'taskcluster/ci/docker-image/kind.yml';

/** One image as a kind file declares it, before the tree is consulted. */
export interface DeclaredImage {
  readonly name: string;
  readonly contextDir: string;
  /** Undefined: not declared (the layout finds it from the Dockerfile). */
  readonly parent: string | null | undefined;
  readonly args: Record<string, string>;
  readonly symbol: string | null;
  readonly packages: string[];
  readonly error: ImageError | null;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

function bad(path: string, message: string): ImageError {
  return { code: 'bad-kind-file', message: `${path}: ${message}` };
}

/** taskgraph's merge of `task-defaults` into a task: mappings merge deeply, the task wins. */
function merge(base: unknown, over: unknown): unknown {
  if (!isRecord(base) || !isRecord(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

function declared(path: string, name: string, raw: unknown, contextRoot: string): DeclaredImage {
  const fallback = { name, contextDir: joinPath(contextRoot, name), parent: null, args: {}, symbol: null, packages: [] };
  const fail = (message: string): DeclaredImage => ({ ...fallback, error: bad(path, `image ${name}: ${message}`) });
  if (!NAME.test(name)) return fail('names may hold only letters, digits, "-" and "_"');
  const task = raw ?? {};
  if (!isRecord(task)) return fail('must be a mapping');
  const { parent, args = {}, definition = name, symbol = null, packages = [] } = task;
  if (parent !== undefined && parent !== null && typeof parent !== 'string') return fail('parent must be a string');
  if (!isRecord(args) || !Object.values(args).every((v) => typeof v === 'string')) {
    return fail('args must map names to strings');
  }
  if (typeof definition !== 'string') return fail('definition must be a string');
  if (symbol !== null && typeof symbol !== 'string') return fail('symbol must be a string');
  if (!Array.isArray(packages) || !packages.every((p) => typeof p === 'string')) return fail('packages must be a list of strings');
  const contextDir = normaliseInside(joinPath(contextRoot, definition));
  if (contextDir === null || definition.startsWith('/')) return fail(`definition ${definition} leaves the repository`);
  return {
    name,
    contextDir,
    parent: parent ?? null,
    args: args as Record<string, string>,
    symbol,
    packages: packages as string[],
    error: null,
  };
}

/** `taskcluster/kinds/docker-image/kind.yml`: images under `tasks:` (or the older `jobs:`). */
export function parseTaskgraphKind(doc: unknown): DeclaredImage[] {
  if (!isRecord(doc)) throw new DeciderError('bad-kind-file', `${TASKGRAPH_KIND}: must be a mapping`);
  const tasks = doc.tasks ?? doc.jobs ?? {};
  const defaults = doc['task-defaults'] ?? doc['job-defaults'];
  if (!isRecord(tasks)) throw new DeciderError('bad-kind-file', `${TASKGRAPH_KIND}: tasks must be a mapping`);
  if (defaults !== undefined && !isRecord(defaults)) {
    throw new DeciderError('bad-kind-file', `${TASKGRAPH_KIND}: task-defaults must be a mapping`);
  }
  return Object.entries(tasks).map(([name, raw]) => declared(TASKGRAPH_KIND, name, merge(defaults, raw ?? {}), DOCKER_DIR));
}

/** The 2016 `taskcluster/ci/docker-image/kind.yml`: an `images:` list under `images_path`. */
export function parseLegacyKind(doc: unknown): DeclaredImage[] {
  if (!isRecord(doc)) throw new DeciderError('bad-kind-file', `${LEGACY_KIND}: must be a mapping`);
  const { images = [], images_path: imagesPath } = doc;
  if (!Array.isArray(images)) throw new DeciderError('bad-kind-file', `${LEGACY_KIND}: images must be a list`);
  let root = DOCKER_DIR;
  if (imagesPath !== undefined) {
    const resolved = typeof imagesPath === 'string' ? normaliseInside(joinPath(dirname(LEGACY_KIND), imagesPath)) : null;
    if (resolved === null || (imagesPath as string).startsWith('/')) {
      throw new DeciderError('bad-kind-file', `${LEGACY_KIND}: images_path must be a folder inside the repository`);
    }
    root = resolved;
  }
  const seen = new Set<string>();
  return images.map((name: unknown, i) => {
    if (typeof name !== 'string') {
      return { ...declared(LEGACY_KIND, `#${i}`, {}, root), error: bad(LEGACY_KIND, `images[${i}] must be a string`) };
    }
    if (seen.has(name)) return { ...declared(LEGACY_KIND, name, {}, root), error: bad(LEGACY_KIND, `image ${name} is listed twice`) };
    seen.add(name);
    return { ...declared(LEGACY_KIND, name, {}, root), parent: undefined };
  });
}
