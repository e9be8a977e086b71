import { createHash } from 'node:crypto';
import { type ContextManifest, ManifestCollector, type ManifestEntry, type ManifestLimits } from './manifest.ts';
import type { PlanEntry } from './plan.ts';

type Pending = { -readonly [K in keyof ManifestEntry]: ManifestEntry[K] };

/**
 * A context's manifest, noted as its tar is written: the tar writer says each file's size as it
 * writes the file (in plan order), and the names, modes, blob ids and `%include`s are the
 * plan's, so no file is read twice. The processed Dockerfile (no blob id) gets the SHA-256 of
 * its planned bytes; a plain folder's files keep no id (hashing them again would double a
 * graph's hashing, and a folder's graph, the CLI's, has no stored build to compare with).
 * Past the bound, nothing more is noted.
 */
export class ManifestNotes {
  private next = 0;
  private done = false;
  private readonly collected: ManifestCollector;

  constructor(
    private readonly plan: readonly PlanEntry[],
    limits: ManifestLimits,
  ) {
    this.collected = new ManifestCollector(limits);
  }

  /** The next planned file was written, of `size` bytes. */
  readonly file = (size: number): void => {
    if (this.done) return;
    const planned = this.plan[this.next++];
    if (!planned) {
      this.done = true;
      return;
    }
    const source = planned.source;
    const entry: Pending = { path: planned.name, mode: planned.mode, id: 'tree' in source ? source.entry.oid : null, size };
    if ('tree' in source && source.include !== undefined) entry.include = source.include;
    if ('data' in source) entry.id = `sha256:${createHash('sha256').update(source.data).digest('hex')}`;
    if (!this.collected.add(entry)) this.done = true; // past the bound
  };

  manifest(): ContextManifest {
    return this.collected.manifest('taskgraph', this.plan.length);
  }
}
