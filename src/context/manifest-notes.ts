import { createHash } from 'node:crypto';
import type { IncludedFolder, SpooledFolder } from './included-folder.ts';
import { type EncodedManifest, encodedManifest, entryJson, PartWriter } from './manifest-encoding.ts';
import { ManifestBound, type ManifestLimits } from './manifest.ts';
import type { PlanEntry } from './plan-entry.ts';
import type { SharedEntry } from './tar.ts';
import type { WriteObserver } from './write.ts';

/**
 * A context's manifest, noted as its tar is written: the tar writer says each file's size as it
 * writes the file (in plan order), and the names, modes, blob ids and `%include`s are the
 * plan's, so no file is read twice. The processed Dockerfile (no blob id) gets the SHA-256 of
 * its planned bytes; a plain folder's files keep no id (hashing them again would double a
 * graph's hashing, and a folder's graph, the CLI's, has no stored build to compare with).
 * Entries go straight into their stored form, part by part, rather than into objects a graph
 * that rebuilds every image would hold by the hundred thousand. Past the bound, nothing more is
 * noted.
 */
export class ManifestNotes implements WriteObserver {
  private next = 0;
  private done = false;
  private readonly bound: ManifestBound;
  private readonly parts = new Map<string | null, PartWriter>();

  constructor(
    private readonly plan: readonly PlanEntry[],
    limits: ManifestLimits,
  ) {
    this.bound = new ManifestBound(limits);
  }

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
    if (!this.bound.admit(planned.name, include, id)) {
      this.done = true; // past the bound
      return;
    }
    let part = this.parts.get(include);
    if (!part) this.parts.set(include, (part = new PartWriter(include)));
    // A spooled entry is the same in every context that includes it: its JSON is made once.
    part.add(shared ? (shared.note ??= entryJson(planned.name, planned.mode, id, size)) : entryJson(planned.name, planned.mode, id, size));
  };

  /** The next planned files are `folder`'s, written whole: its part, made once for every context, if all of it fits the bound. */
  folder(folder: IncludedFolder, spooled: SpooledFolder): void {
    if (this.done) return;
    const count = folder.entries.length;
    if (!this.parts.has(folder.include) && this.bound.admitAll(count, folder.boundBytes)) {
      this.parts.set(folder.include, folder.manifestPart(spooled.sizes));
      this.next += count;
      return;
    }
    for (const size of spooled.sizes) this.file(size);
  }

  manifest(): EncodedManifest {
    const files = this.plan.length;
    return encodedManifest('taskgraph', files, this.bound.full || this.bound.kept < files, this.parts.values());
  }
}
