import { DeciderError } from '../errors.ts';
import type { TreeSource } from '../tree/types.ts';
import type { BlobCache } from './blob-cache.ts';
import type { PlanEntry } from './plan.ts';
import { type ByteSink, TarWriter } from './tar.ts';
import { ReadWindow } from './read-window.ts';

/** How many file reads may be in flight ahead of the one being written. */
const WINDOW = 128;

/**
 * Writes a planned context as a tar stream. Reads are pipelined: a source serves
 * its calls in order, so many are issued before the first is awaited; at a
 * change of source the earlier ones are awaited to keep the archive order.
 */
export async function writeContextTar(plan: readonly PlanEntry[], out: ByteSink, maxBytes = Infinity, cache: BlobCache | null = null): Promise<number> {
  const tar = new TarWriter(out);
  const window = new ReadWindow(WINDOW);
  let lastTree: TreeSource | null = null;
  try {
    for (const entry of plan) {
      const { source } = entry;
      if (!('tree' in source)) {
        await window.drain();
        lastTree = null;
        await tar.bytes(entry.name, entry.mode, source.data);
        continue;
      }
      const oid = cache ? source.entry.oid : null;
      const known = oid ? cache!.get(oid) : undefined;
      if (known) {
        // Written in turn: the reads issued before it come first.
        if (lastTree) await window.drain();
        lastTree = null;
        await tar.bytes(entry.name, entry.mode, known);
        continue;
      }
      if (source.tree !== lastTree) await window.drain();
      lastTree = source.tree;
      const sink = tar.file(entry.name, entry.mode);
      await window.push(source.tree.sendFile(source.path, source.entry, oid ? cache!.recording(oid, sink) : sink));
      if (tar.bytesWritten > maxBytes) {
        throw new DeciderError('context-too-large', `context is larger than ${maxBytes} bytes`);
      }
    }
    await window.drain();
  } catch (err) {
    await window.abandon();
    throw err;
  }
  if (tar.bytesWritten > maxBytes) throw new DeciderError('context-too-large', `context is larger than ${maxBytes} bytes`);
  await tar.finish();
  return tar.bytesWritten;
}
