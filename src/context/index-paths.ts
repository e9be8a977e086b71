import { CACHE_TYPE } from './digest.ts';

import type { Level } from '../domain/index.ts';

/** How an image's builds are named in the Index. */
export type IndexNaming = { readonly scheme: 'taskgraph'; readonly prefix: string } | { readonly scheme: 'seed-v1'; readonly project: string; readonly integrationProject: string };

export interface IndexQuery {
  readonly name: string;
  /** The digest (taskgraph) or context hash (seed-v1) that names the build. */
  readonly digest: string;
  readonly level: Level;
  readonly pullRequest: boolean;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `YYYY.MM.DD.YYYYMMDDhhmmss` in UTC, as taskgraph's `build_date_long`. */
function buildDateLong(date: Date): string {
  const [y, m, d] = [date.getUTCFullYear(), pad(date.getUTCMonth() + 1), pad(date.getUTCDate())];
  const time = `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
  return `${y}.${m}.${d}.${y}${m}${d}${time}`;
}

function levelNamespace(prefix: string, level: Level | 'pr', name: string): string {
  return `${prefix}.cache.${level === 'pr' ? 'pr' : `level-${level}`}.${CACHE_TYPE}.${name}`;
}

/** Where to look for an existing build, in order: higher trust first; pull requests also their own path. */
export function lookupPaths(naming: IndexNaming, q: IndexQuery): string[] {
  if (naming.scheme === 'seed-v1') {
    const projects = [...new Set([naming.integrationProject, naming.project])];
    return projects.map((p) => `docker.images.v1.${p}.${q.name}.hash.${q.digest}`);
  }
  const paths: string[] = [];
  for (let level = 3; level >= q.level; level--) {
    paths.push(`${levelNamespace(naming.prefix, level as Level, q.name)}.hash.${q.digest}`);
  }
  if (q.pullRequest) paths.push(`${levelNamespace(naming.prefix, 'pr', q.name)}.hash.${q.digest}`);
  return paths;
}

/** The `index.*` routes a new build carries, so the Index records it when it completes. */
export function buildRoutes(naming: IndexNaming, q: IndexQuery, pushDate: Date): string[] {
  if (naming.scheme === 'seed-v1') {
    const base = `index.docker.images.v1.${naming.project}.${q.name}`;
    const [y, m, d] = [pushDate.getUTCFullYear(), pad(pushDate.getUTCMonth() + 1), pad(pushDate.getUTCDate())];
    const stamp = buildDateLong(pushDate).split('.').at(-1);
    return [`${base}.hash.${q.digest}`, `${base}.latest`, `${base}.pushdate.${y}.${m}-${d}-${stamp}`];
  }
  if (q.pullRequest) return [`index.${levelNamespace(naming.prefix, 'pr', q.name)}.hash.${q.digest}`];
  const base = `index.${levelNamespace(naming.prefix, q.level, q.name)}`;
  return [`${base}.hash.${q.digest}`, `${base}.latest`, `${base}.pushdate.${buildDateLong(pushDate)}`];
}
