import { createHash, type Hash } from 'node:crypto';
import { compareCodePoints } from '../tree/paths.ts';
import type { ContextManifest, ManifestEntry } from './manifest.ts';

type EncodedEntry = [string, number, string | null, number];
/** An entry of a head stored before manifests had parts: its `%include` rode on each entry. */
type InlineEntry = EncodedEntry | [string, number, string | null, number, string];

/** The files of a manifest that came in by one `%include` (or the context's own), as stored. */
export interface EncodedPart {
  /** SHA-256 of `text`: every context that includes the same files names the same part. */
  readonly key: string;
  readonly text: string;
  readonly bytes: number;
}

/**
 * A manifest as stored: a small head (algorithm, counts, the keys of its parts) and its parts.
 * Images that include the same folder share its part, so a push that rebuilds every image
 * writes the shared files' entries once, and the store's bound counts them once.
 */
export interface EncodedManifest {
  readonly head: string;
  readonly keys: readonly string[];
  readonly parts: readonly EncodedPart[];
}

/** One entry's stored JSON. Text columns and JSON: a name that is not UTF-8 stays a `\udcXX` escape. */
export const entryJson = (path: string, mode: number, id: string | null, size: number): string => JSON.stringify([path, mode, id, size]);

const FED_AT_ONCE = 64;

/**
 * Writes one part (the files of one `%include`, or the context's own) entry by entry: the JSON
 * of each, and the SHA-256 of the text they make, so that a graph keeps one copy of a part its
 * images share without ever joining the copies it drops. `finish` gives the key.
 */
export class PartWriter implements EncodedPart {
  key = '';
  bytes = 0;
  private readonly json: string[] = [];
  private readonly sha: Hash = createHash('sha256');
  private readonly opening: string;
  private joined: string | null = null;
  /** Entries whose JSON the hash has had. */
  private fed = 0;

  constructor(include: string | null) {
    this.opening = `{"i":${JSON.stringify(include)},"e":[`;
    this.feed(this.opening);
  }

  /** One entry's JSON (`entryJson`). */
  add(json: string): void {
    this.json.push(json);
    if (this.json.length - this.fed >= FED_AT_ONCE) this.feedPending();
  }

  finish(): this {
    if (this.key !== '') return this; // a part several manifests share is finished once
    this.feedPending();
    this.feed(']}');
    this.key = this.sha.digest('hex');
    return this;
  }

  /** Made when first asked (a part the graph already holds never is). */
  get text(): string {
    if (this.joined === null) {
      this.joined = `${this.opening}${this.json.join(',')}]}`;
      this.json.length = 0; // hashed and joined: the pieces are not needed again
    }
    return this.joined;
  }

  /** The entries not hashed yet, joined: one update per few dozen entries rather than two per entry. */
  private feedPending(): void {
    if (this.fed === this.json.length) return;
    const text = this.json.slice(this.fed).join(',');
    this.feed(this.fed > 0 ? `,${text}` : text);
    this.fed = this.json.length;
  }

  private feed(text: string): void {
    this.sha.update(text);
    this.bytes += Buffer.byteLength(text);
  }
}

/** The stored form of finished parts, one per `%include` (null: the context's own files), in the order given. */
export function encodedManifest(algorithm: ContextManifest['algorithm'], files: number, truncated: boolean, writers: Iterable<PartWriter>): EncodedManifest {
  const parts = [...writers].map((p) => p.finish());
  const keys = parts.map((p) => p.key);
  return { head: JSON.stringify({ a: algorithm, f: files, t: truncated, p: keys }), keys, parts };
}

export function encodeManifest(m: ContextManifest): EncodedManifest {
  const writers = new Map<string | null, PartWriter>();
  for (const e of m.entries) {
    const include = e.include ?? null;
    let part = writers.get(include);
    if (!part) writers.set(include, (part = new PartWriter(include)));
    part.add(entryJson(e.path, e.mode, e.id, e.size));
  }
  return encodedManifest(m.algorithm, m.files, m.truncated, writers.values());
}

/** What a manifest takes stored with none of its parts shared. */
export const encodedBytes = (m: EncodedManifest): number => Buffer.byteLength(m.head) + m.parts.reduce((n, p) => n + p.bytes, 0);

export function decodePart(text: string): ManifestEntry[] {
  const { i: include, e } = JSON.parse(text) as { i: string | null; e: EncodedEntry[] };
  return e.map(([path, mode, id, size]) => (include === null ? { path, mode, id, size } : { path, mode, id, size, include }));
}

/**
 * Decoded parts by key, each part decoded once however many manifests name it (they share
 * its entries, which are read-only).
 */
export function partReader(text: (key: string) => string | undefined): (key: string) => readonly ManifestEntry[] | undefined {
  const decoded = new Map<string, ManifestEntry[]>();
  return (key) => {
    let entries = decoded.get(key);
    if (entries) return entries;
    const found = text(key);
    if (found === undefined) return undefined;
    decoded.set(key, (entries = decodePart(found)));
    return entries;
  };
}

/** A stored head with its parts; null when one of them is gone (pruned while the head was read). */
export function decodeManifest(head: string, part: (key: string) => readonly ManifestEntry[] | undefined): ContextManifest | null {
  const raw = JSON.parse(head) as { a: ContextManifest['algorithm']; f: number; t: boolean; p?: string[]; e?: InlineEntry[] };
  let entries: readonly ManifestEntry[];
  if (raw.p) {
    const lists: (readonly ManifestEntry[])[] = [];
    for (const key of raw.p) {
      const list = part(key);
      if (!list) return null;
      lists.push(list);
    }
    entries = inArchiveOrder(lists);
  } else {
    entries = (raw.e ?? []).map(([path, mode, id, size, include]) => (include === undefined ? { path, mode, id, size } : { path, mode, id, size, include }));
  }
  return { algorithm: raw.a, files: raw.f, truncated: raw.t, entries };
}

/** A manifest back from the form `encodeManifest` gave it. */
export const decodeEncoded = (m: EncodedManifest): ContextManifest | null =>
  decodeManifest(
    m.head,
    partReader((key) => m.parts.find((p) => p.key === key)?.text),
  );

const byPath = (a: ManifestEntry, b: ManifestEntry) => compareCodePoints(a.path, b.path);

/**
 * The parts' entries merged by name. Each part is sorted, and parts seldom interleave (a
 * context's own files, then each included folder under `topsrcdir/`): laid end to end by their
 * first names they are usually in order already, which one pass checks.
 */
function inArchiveOrder(lists: readonly (readonly ManifestEntry[])[]): ManifestEntry[] {
  const all = lists
    .filter((l) => l.length > 0)
    .sort((a, b) => byPath(a[0]!, b[0]!))
    .flat();
  for (let i = 1; i < all.length; i++) if (byPath(all[i - 1]!, all[i]!) > 0) return all.sort(byPath);
  return all;
}
