import type { Readable } from 'node:stream';
import type { ContentSink, ReadStats, TreeEntry, TreeSource } from '../tree/types.ts';

/** What a path's lookup told a computation: its object id, or that it was missing. */
type Fact = { oid: string | null; strong: boolean };

/** What a tracing tree was told, to tell another (`adopt`): a walk shared by several computations. */
export interface TracedFacts {
  readonly exact: boolean;
  readonly facts: readonly (readonly [string, Fact])[];
}

/**
 * Records which paths a computation looked at and which object ids it found.
 * `strong` facts (folders listed, files read) need the whole object unchanged;
 * weak ones (lookups on the way to something) only that the path still leads there.
 */
export class TracingTree implements TreeSource {
  private readonly facts = new Map<string, Fact>();
  private exact = true;

  constructor(private readonly inner: TreeSource) {}

  get description(): string {
    return this.inner.description;
  }

  get revision(): string | null {
    return this.inner.revision;
  }

  get stats(): ReadStats {
    return this.inner.stats;
  }

  async lstat(path: string): Promise<TreeEntry | null> {
    const entry = await this.inner.lstat(path);
    this.note(path, entry, false);
    return entry;
  }

  async list(dir: string): Promise<TreeEntry[]> {
    this.note(dir, await this.inner.lstat(dir), true);
    return this.inner.list(dir);
  }

  async readFile(path: string): Promise<Buffer> {
    this.note(path, await this.inner.lstat(path), true);
    return this.inner.readFile(path);
  }

  async readLink(path: string): Promise<string> {
    this.note(path, await this.inner.lstat(path), true);
    return this.inner.readLink(path);
  }

  readStream(path: string): Readable {
    this.exact = false;
    return this.inner.readStream(path);
  }

  objectId(path: string): Promise<string | null> {
    return this.inner.objectId(path);
  }

  sendFile(path: string, entry: TreeEntry, sink: ContentSink): Promise<void> {
    this.note(path, entry, true);
    return this.inner.sendFile(path, entry, sink);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Everything this tree was told so far. */
  told(): TracedFacts {
    return { exact: this.exact, facts: [...this.facts] };
  }

  /** Takes what another tree was told (a walk made once for many computations) as told to this one. */
  adopt(told: TracedFacts): void {
    if (!told.exact) this.exact = false;
    for (const [path, fact] of told.facts) this.record(path, fact.oid, fact.strong);
  }

  /**
   * The smallest set of facts that pins the computation, or null when the source
   * has no object ids (a plain folder) and so nothing can be pinned.
   */
  trace(): [string, string | null][] | null {
    if (!this.exact) return null;
    // One pass over each path's ancestors (found by scanning for '/', no arrays): a context
    // has tens of thousands of files, so this is hot.
    const hasDescendant = new Set<string>();
    const strong = new Set<string>();
    for (const [path, fact] of this.facts) {
      if (fact.strong) strong.add(path);
      forEachAncestor(path, (a) => hasDescendant.add(a));
    }
    const kept: [string, string | null][] = [];
    for (const [path, fact] of this.facts) {
      if (someAncestor(path, (a) => strong.has(a)) || (!fact.strong && hasDescendant.has(path))) continue;
      kept.push([path, fact.oid]);
    }
    return kept.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private note(path: string, entry: TreeEntry | null, strong: boolean): void {
    if (path === '' && !strong) return; // every lookup starts at the root
    if (entry && entry.oid === null) this.exact = false;
    this.record(path, entry?.oid ?? null, strong);
  }

  /** A fact about `path`: a strong one stays strong. */
  private record(path: string, oid: string | null, strong: boolean): void {
    const previous = this.facts.get(path);
    this.facts.set(path, { oid, strong: strong || (previous?.strong ?? false) });
  }
}

/** Calls `fn` with each proper ancestor of a path, the root ('') included. */
function forEachAncestor(path: string, fn: (ancestor: string) => void): void {
  if (path === '') return;
  fn('');
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) fn(path.slice(0, i));
}

function someAncestor(path: string, test: (ancestor: string) => boolean): boolean {
  if (path === '') return false;
  if (test('')) return true;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) if (test(path.slice(0, i))) return true;
  return false;
}

interface MemoEntry<T> {
  readonly trace: readonly [string, string | null][];
  readonly value: T;
}

/**
 * Results keyed by their inputs' identity plus a trace of object ids. A result is
 * reused at any revision where every traced path still has the same object id,
 * which needs only tree lookups: not one file is read.
 */
export class TraceMemo<T> {
  hits = 0;
  misses = 0;
  private readonly entries = new Map<string, MemoEntry<T>[]>();

  constructor(
    private readonly maxKeys = 10_000,
    private readonly tracesPerKey = 4,
  ) {}

  async lookup(key: string, tree: TreeSource): Promise<T | null> {
    const candidates = this.entries.get(key);
    if (candidates && tree.revision !== null) {
      for (const candidate of candidates) {
        if (await holds(candidate.trace, tree)) {
          this.hits += 1;
          return candidate.value;
        }
      }
    }
    this.misses += 1;
    return null;
  }

  store(key: string, trace: readonly [string, string | null][] | null, value: T): void {
    if (!trace) return;
    const list = (this.entries.get(key) ?? []).filter((e) => !sameTrace(e.trace, trace));
    list.unshift({ trace, value });
    this.entries.delete(key);
    this.entries.set(key, list.slice(0, this.tracesPerKey));
    if (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}

async function holds(trace: readonly [string, string | null][], tree: TreeSource): Promise<boolean> {
  const found = await Promise.all(trace.map(([path]) => tree.lstat(path)));
  return trace.every(([, oid], i) => (found[i]?.oid ?? null) === oid);
}

function sameTrace(a: readonly [string, string | null][], b: readonly [string, string | null][]): boolean {
  return a.length === b.length && a.every(([p, o], i) => p === b[i]![0] && o === b[i]![1]);
}
