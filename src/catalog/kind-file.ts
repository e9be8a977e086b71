import { DeciderError } from '../errors.ts';
import { dirname, joinPath, normaliseInside } from '../tree/paths.ts';
import type { ImageError } from './types.ts';
import { DOCKER_DIR } from './registry.ts';
import { isRecord } from './yaml.ts';

export const TASKGRAPH_KIND = 'taskcluster/kinds/docker-image/kind.yml';
/** Before taskgraph 8 (and in gecko before 2024) kinds lived under `taskcluster/ci`; so did the 2016 kind. */
export const CI_KIND = 'taskcluster/ci/docker-image/kind.yml';

/** One image as a kind file declares it, before the tree is consulted. */
export interface DeclaredImage {
  readonly name: string;
  readonly contextDir: string;
  /** Undefined: not declared (the layout finds it from the Dockerfile). */
  readonly parent: string | null | undefined;
  readonly args: Record<string, string>;
  readonly symbol: string | null;
  readonly packages: string[];
  /** taskgraph's `cache`: false for an image that is never looked up or indexed. */
  readonly cache: boolean;
  readonly error: ImageError | null;
}

/**
 * The Index's namespace grammar: dot-separated words of `[a-zA-Z0-9_!~*'()%-]`. taskgraph
 * accepts any task name and only refuses a `/` in a cache name; a name outside the grammar
 * would be taken by the Queue as a route and then never indexed, so it is refused here.
 */
const WORD = "[A-Za-z0-9_!~*'()%-]+";
const INDEX_WORD = new RegExp(`^${WORD}$`);
/** What an image name may look like, for the schemas of routes that take one. */
export const IMAGE_NAME_PATTERN = `^${WORD}(\\.${WORD})*$`;
/** The Queue's limit on a route, which the image's hash route must fit. */
const MAX_ROUTE = 249;

/** Why `name` cannot name an image's index namespace, or null when it can. */
export function imageNameProblem(name: string, prefix: string | null): string | null {
  if (name.includes('/')) return 'a "/" would split the URL and the context path';
  const words = name.split('.');
  if (words.some((w) => w === '')) return 'a leading, trailing or doubled "." leaves an empty word in the index path';
  const bad = words.find((w) => !INDEX_WORD.test(w));
  if (bad !== undefined) return `index paths allow only letters, digits, "." and _!~*'()%- (not ${JSON.stringify(bad)})`;
  const route = `index.${prefix ?? 'x'}.cache.level-3.docker-images.v2.${name}.hash.${'0'.repeat(64)}`;
  if (route.length > MAX_ROUTE) return `its hash route would be ${route.length} characters, over the Queue's ${MAX_ROUTE}`;
  return null;
}

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

function declared(path: string, name: string, raw: unknown, contextRoot: string, prefix: string | null): DeclaredImage {
  const fallback = { name, contextDir: joinPath(contextRoot, name), parent: null, args: {}, symbol: null, packages: [], cache: true };
  const fail = (message: string): DeclaredImage => ({ ...fallback, error: bad(path, `image ${name}: ${message}`) });
  const nameProblem = imageNameProblem(name, prefix);
  if (nameProblem) return { ...fallback, error: { code: 'bad-image-name', message: `${path}: image ${JSON.stringify(name)}: ${nameProblem}` } };
  const task = raw ?? {};
  if (!isRecord(task)) return fail('must be a mapping');
  const { parent, args = {}, definition = name, symbol = null, packages = [], cache = true } = task;
  if (parent !== undefined && parent !== null && typeof parent !== 'string') return fail('parent must be a string');
  if (!isRecord(args) || !Object.values(args).every((v) => typeof v === 'string')) {
    return fail('args must map names to strings');
  }
  if (typeof definition !== 'string') return fail('definition must be a string');
  if (symbol !== null && typeof symbol !== 'string') return fail('symbol must be a string');
  if (!Array.isArray(packages) || !packages.every((p) => typeof p === 'string')) return fail('packages must be a list of strings');
  // taskgraph's schema takes a bool only (`cache: "no"` fails its validation).
  if (typeof cache !== 'boolean') return fail('cache must be true or false');
  const contextDir = normaliseInside(joinPath(contextRoot, definition));
  if (contextDir === null || definition.startsWith('/')) return fail(`definition ${definition} leaves the repository`);
  return {
    name,
    contextDir,
    parent: parent ?? null,
    args: args as Record<string, string>,
    symbol,
    packages: packages as string[],
    cache,
    error: null,
  };
}

/** The 2016 kind file holds an `images:` list; taskgraph's, at either place, a mapping of tasks. */
export function isLegacyKind(doc: unknown): boolean {
  return isRecord(doc) && doc.images !== undefined && doc.tasks === undefined && doc.jobs === undefined;
}

/**
 * A taskgraph kind file: images under `tasks:` / `task-defaults:`, or under `jobs:` /
 * `job-defaults:` as taskgraph called them before release 8.
 */
export function parseTaskgraphKind(doc: unknown, path: string, prefix: string | null): DeclaredImage[] {
  if (!isRecord(doc)) throw new DeciderError('bad-kind-file', `${path}: must be a mapping`);
  const [tasksKey, defaultsKey] = doc.tasks === undefined && doc.jobs !== undefined ? ['jobs', 'job-defaults'] : ['tasks', 'task-defaults'];
  const tasks = doc[tasksKey] ?? {};
  const defaults = doc[defaultsKey];
  if (!isRecord(tasks)) throw new DeciderError('bad-kind-file', `${path}: ${tasksKey} must be a mapping`);
  if (defaults !== undefined && !isRecord(defaults)) {
    throw new DeciderError('bad-kind-file', `${path}: ${defaultsKey} must be a mapping`);
  }
  return Object.entries(tasks).map(([name, raw]) => declared(path, name, merge(defaults, raw ?? {}), DOCKER_DIR, prefix));
}

/** The 2016 `taskcluster/ci/docker-image/kind.yml`: an `images:` list under `images_path`. */
export function parseLegacyKind(doc: unknown, prefix: string | null): DeclaredImage[] {
  if (!isRecord(doc)) throw new DeciderError('bad-kind-file', `${CI_KIND}: must be a mapping`);
  const { images = [], images_path: imagesPath } = doc;
  if (!Array.isArray(images)) throw new DeciderError('bad-kind-file', `${CI_KIND}: images must be a list`);
  let root = DOCKER_DIR;
  if (imagesPath !== undefined) {
    const resolved = typeof imagesPath === 'string' ? normaliseInside(joinPath(dirname(CI_KIND), imagesPath)) : null;
    if (resolved === null || (imagesPath as string).startsWith('/')) {
      throw new DeciderError('bad-kind-file', `${CI_KIND}: images_path must be a folder inside the repository`);
    }
    root = resolved;
  }
  const seen = new Set<string>();
  return images.map((name: unknown, i) => {
    if (typeof name !== 'string') {
      return { ...declared(CI_KIND, `#${i}`, {}, root, prefix), error: bad(CI_KIND, `images[${i}] must be a string`) };
    }
    if (seen.has(name)) return { ...declared(CI_KIND, name, {}, root, prefix), error: bad(CI_KIND, `image ${name} is listed twice`) };
    seen.add(name);
    return { ...declared(CI_KIND, name, {}, root, prefix), parent: undefined };
  });
}
