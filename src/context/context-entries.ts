import { DeciderError } from '../errors.ts';
import { compareCodePoints } from '../tree/paths.ts';
import type { IncludedFolder } from './included-folder.ts';
import type { PlanEntry } from './plan-entry.ts';

const byName = (a: PlanEntry, b: PlanEntry) => compareCodePoints(a.name, b.name);

/**
 * A context's entries as taskgraph's `archive_files` dict gathers them: a name added again
 * replaces the earlier entry, and past `maxFiles` names the context is too large. Included
 * folders are kept whole (their entries are shared by every context including them) while no
 * other entry falls among their names; once one does, every entry is kept one by one, as the
 * dict would.
 */
export class ContextEntries {
  private readonly singles = new Map<string, PlanEntry>();
  private readonly folders: IncludedFolder[] = [];
  private folderFiles = 0;
  /** Set once folders and other entries overlap: then every entry is here. */
  private flat: Map<string, PlanEntry> | null = null;

  constructor(
    private readonly maxFiles: number,
    private readonly contextDir: string,
  ) {}

  add(entry: PlanEntry): void {
    if (!this.flat && this.folders.some((f) => entry.name.startsWith(f.prefix))) this.flatten();
    const into = this.flat ?? this.singles;
    into.delete(entry.name);
    into.set(entry.name, entry);
    this.check();
  }

  addFolder(folder: IncludedFolder): void {
    if (folder.entries.length === 0) return;
    if (!this.flat && this.overlaps(folder.prefix)) this.flatten();
    if (this.flat) {
      for (const entry of folder.entries) this.add(entry);
      return;
    }
    this.folders.push(folder);
    this.folderFiles += folder.entries.length;
    this.check();
  }

  get(name: string): PlanEntry | undefined {
    if (this.flat) return this.flat.get(name);
    return this.singles.get(name) ?? this.folders.find((f) => name.startsWith(f.prefix))?.entries.find((e) => e.name === name);
  }

  /** Every entry in archive order (by code point): a folder's entries in one piece, as it holds them. */
  sorted(): PlanEntry[] {
    if (this.flat) return [...this.flat.values()].sort(byName);
    // No other name starts with a folder's prefix, and no prefix with another: comparing a name
    // with a prefix orders it as it would every name under the prefix.
    type Piece = { key: string; entry: PlanEntry | null; folder: IncludedFolder | null };
    const pieces: Piece[] = [...this.singles.values()].map((entry) => ({ key: entry.name, entry, folder: null }));
    for (const folder of this.folders) pieces.push({ key: folder.prefix, entry: null, folder });
    pieces.sort((a, b) => compareCodePoints(a.key, b.key));
    const out: PlanEntry[] = [];
    for (const piece of pieces) {
      if (piece.entry) out.push(piece.entry);
      else for (const entry of piece.folder!.entries) out.push(entry);
    }
    return out;
  }

  get size(): number {
    return this.flat ? this.flat.size : this.singles.size + this.folderFiles;
  }

  /** True when an entry kept so far, or a folder, has a name under `prefix` (or a folder's prefix holds it). */
  private overlaps(prefix: string): boolean {
    if (this.folders.some((f) => f.prefix.startsWith(prefix) || prefix.startsWith(f.prefix))) return true;
    for (const name of this.singles.keys()) if (name.startsWith(prefix)) return true;
    return false;
  }

  private flatten(): void {
    // Until now no folder overlapped another entry: the order they came in makes no difference.
    const flat = new Map(this.singles);
    for (const folder of this.folders) for (const entry of folder.entries) flat.set(entry.name, entry);
    this.flat = flat;
    this.folders.length = 0;
    this.folderFiles = 0;
  }

  private check(): void {
    if (this.size > this.maxFiles) throw new DeciderError('context-too-large', `context of ${this.contextDir} has more than ${this.maxFiles} files`);
  }
}
