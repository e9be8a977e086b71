import { createHash, type Hash } from 'node:crypto';
import type { EncodedManifest, EncodedPart } from './manifest-encoding.ts';
import { entryBytes, type ManifestLimits } from './manifest.ts';
import type { PlanEntry } from './plan.ts';
import type { SharedEntry } from './tar.ts';

const FED_AT_ONCE = 64;

/**
 * One part being noted (the files of one `%include`, or the context's own), straight into its
 * stored form: the JSON of each entry, and the SHA-256 of the text they make, so that a graph
 * keeps one copy of a part its images share without ever joining the copies it drops.
 */
class NotedPart implements EncodedPart {
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

  add(path: string, mode: number, id: string | null, size: number, shared: SharedEntry | undefined): void {
    // A spooled entry is the same in every context that includes it: its JSON is made once.
    this.json.push(shared ? (shared.note ??= JSON.stringify([path, mode, id, size])) : JSON.stringify([path, mode, id, size]));
    if (this.json.length - this.fed >= FED_AT_ONCE) this.feedPending();
  }

  finish(): this {
    this.feedPending();
    this.feed(']}');
    this.key = this.sha.digest('hex');
    return this;
  }

  /** As `encodeManifest` writes it; made when first asked (a part the graph already holds never is). */
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

/**
 * A context's manifest, noted as its tar is written: the tar writer says each file's size as it
 * writes the file (in plan order), and the names, modes, blob ids and `%include`s are the
 * plan's, so no file is read twice. The processed Dockerfile (no blob id) gets the SHA-256 of
 * its planned bytes; a plain folder's files keep no id (hashing them again would double a
 * graph's hashing, and a folder's graph, the CLI's, has no stored build to compare with).
 * Entries go straight into their stored form, part by part, rather than into objects a graph
 * that rebuilds every image would hold by the hundred thousand. Past the bound (counted as
 * `ManifestCollector` counts), nothing more is noted.
 */
export class ManifestNotes {
  private next = 0;
  private kept = 0;
  private bytes = 0;
  private done = false;
  private truncated = false;
  private readonly parts = new Map<string | null, NotedPart>();

  constructor(
    private readonly plan: readonly PlanEntry[],
    private readonly limits: ManifestLimits,
  ) {}

  /** The next planned file was written, of `size` bytes. */
  readonly file = (size: number, shared?: SharedEntry): void => {
    if (this.done) return;
    const planned = this.plan[this.next++];
    if (!planned) {
      this.done = true;
      return;
    }
    const source = planned.source;
    const include = 'tree' in source ? (source.include ?? null) : null;
    const id = 'tree' in source ? source.entry.oid : 'data' in source ? `sha256:${createHash('sha256').update(source.data).digest('hex')}` : null;
    const bytes = entryBytes(planned.name, include, id);
    if (this.kept >= this.limits.maxEntries || this.bytes + bytes > this.limits.maxBytes) {
      this.truncated = true;
      this.done = true;
      return;
    }
    this.kept += 1;
    this.bytes += bytes;
    let part = this.parts.get(include);
    if (!part) this.parts.set(include, (part = new NotedPart(include)));
    part.add(planned.name, planned.mode, id, size, shared);
  };

  manifest(): EncodedManifest {
    const parts = [...this.parts.values()].map((p) => p.finish());
    const keys = parts.map((p) => p.key);
    const files = this.plan.length;
    const head = JSON.stringify({ a: 'taskgraph', f: files, t: this.truncated || this.kept < files, p: keys });
    return { head, keys, parts };
  }
}
