import type { ContextManifest, ManifestEntry } from '../context/manifest.ts';
import type { FileChange, ImageChanges, ImageVersion, ValueChange } from '../domain/index.ts';
import { compareCodePoints } from '../tree/paths.ts';
import { printableName } from '../tree/name-bytes.ts';

/** File changes listed at most; the counts cover them all. */
export const MAX_LISTED_FILES = 50;
/** Files named in the one-line summary. */
const NAMED_IN_SUMMARY = 3;

/** One side of a comparison: an image's version and, where known, its context's manifest. */
export interface Side {
  readonly version: Omit<ImageVersion, 'pushId' | 'rev' | 'decision' | 'taskId' | 'seenAt'>;
  readonly manifest: ContextManifest | null;
}

const short = (text: string | null) => (text === null ? 'none' : /^[0-9a-f]{40,64}$/.test(text) ? text.slice(0, 12) : text);
const plural = (n: number, word: string) => `${n} file${n === 1 ? '' : 's'} ${word}`;

/** How one file is shown: its repository path and `%include` for an included file, else its name in the context. */
export function describeFile(change: FileChange): string {
  if (change.include === undefined) return printableName(change.path);
  return `${printableName(change.path.replace(/^topsrcdir\//, ''))} (%include ${printableName(change.include)})`;
}

function fileChange(change: FileChange['change'], before: ManifestEntry | undefined, after: ManifestEntry | undefined): FileChange {
  const entry = (after ?? before)!;
  return {
    change,
    path: entry.path,
    ...(entry.include !== undefined ? { include: entry.include } : {}),
    ...(before ? { before: { mode: before.mode, size: before.size } } : {}),
    ...(after ? { after: { mode: after.mode, size: after.size } } : {}),
  };
}

/** The last name a truncated manifest covers (every name up to it is listed); null when whole. */
const coveredUpTo = (m: ContextManifest): string | null => (m.truncated ? (m.entries.at(-1)?.path ?? '') : null);

/** Files added, removed and changed (content or mode) between two manifests, as far as both cover. */
export function diffManifests(before: ContextManifest, after: ContextManifest): NonNullable<ImageChanges['files']> {
  const limits = [coveredUpTo(before), coveredUpTo(after)].filter((l): l is string => l !== null);
  const limit = limits.length ? limits.reduce((a, b) => (compareCodePoints(a, b) <= 0 ? a : b)) : null;
  const inside = (e: ManifestEntry) => limit === null || compareCodePoints(e.path, limit) <= 0;
  const old = new Map(before.entries.filter(inside).map((e) => [e.path, e]));
  const all: FileChange[] = [];
  const counts = { added: 0, removed: 0, changed: 0 };
  for (const entry of after.entries.filter(inside)) {
    const was = old.get(entry.path);
    old.delete(entry.path);
    if (!was) {
      counts.added += 1;
      all.push(fileChange('added', undefined, entry));
    } else if (was.id !== entry.id || was.mode !== entry.mode || was.size !== entry.size) {
      counts.changed += 1;
      all.push(fileChange('changed', was, entry));
    }
  }
  for (const was of old.values()) {
    counts.removed += 1;
    all.push(fileChange('removed', was, undefined));
  }
  all.sort((a, b) => compareCodePoints(a.path, b.path));
  const note =
    limit !== null
      ? `the file lists are kept up to ${before.truncated && after.truncated ? 'their bounds' : 'a bound'} (${Math.max(before.entries.length, after.entries.length)} entries): files after ${printableName(limit)} are not compared`
      : undefined;
  return { ...counts, list: all.slice(0, MAX_LISTED_FILES), ...(note ? { note } : {}) };
}

function valueChange(before: string | null, after: string | null): ValueChange | undefined {
  return before === after ? undefined : { before, after };
}

function filesSummary(files: NonNullable<ImageChanges['files']>): string | null {
  const parts = [
    files.changed ? plural(files.changed, 'changed') : null,
    files.added ? plural(files.added, 'added') : null,
    files.removed ? plural(files.removed, 'removed') : null,
  ].filter((p) => p !== null);
  if (parts.length === 0) return files.note ? `context changed (${files.note})` : null;
  const total = files.added + files.removed + files.changed;
  const named = files.list.slice(0, NAMED_IN_SUMMARY).map(describeFile).join(', ');
  return `${parts.join(', ')}: ${named}${total > NAMED_IN_SUMMARY ? ` and ${total - NAMED_IN_SUMMARY} more` : ''}`;
}

/** Which inputs differ between an image's earlier version and its current one, with a one-line summary. */
export function compareVersions(before: Side & { readonly seen: ImageVersion }, after: Side): ImageChanges {
  const was = before.version;
  const now = after.version;
  const parts: string[] = [];
  let files: ImageChanges['files'];
  if (was.contextHash !== now.contextHash) {
    if (before.manifest && after.manifest && before.manifest.algorithm === after.manifest.algorithm) {
      files = diffManifests(before.manifest, after.manifest);
    } else {
      const note = `the file list of ${before.manifest ? 'this context' : `context ${short(was.contextHash)}`} is not kept`;
      files = { added: 0, removed: 0, changed: 0, list: [], note };
    }
    parts.push(filesSummary(files) ?? `context hash ${short(was.contextHash)} → ${short(now.contextHash)}`);
  }
  const args: Record<string, ValueChange> = {};
  for (const name of new Set([...Object.keys(was.args), ...Object.keys(now.args)])) {
    const change = valueChange(was.args[name] ?? null, now.args[name] ?? null);
    if (change) {
      args[name] = change;
      parts.push(`%ARG ${name} ${change.before ?? '(unset)'} → ${change.after ?? '(unset)'}`);
    }
  }
  let parent: ImageChanges['parent'];
  const parentDigest = valueChange(was.inputs?.parentDigest ?? null, now.inputs?.parentDigest ?? null);
  if (was.parent !== now.parent || (was.inputs && parentDigest)) {
    parent = { name: now.parent, before: was.inputs?.parentDigest ?? null, after: now.inputs?.parentDigest ?? null };
    parts.push(
      was.parent !== now.parent
        ? `parent ${was.parent ?? 'none'} → ${now.parent ?? 'none'}`
        : `parent ${now.parent} changed (digest ${short(parent.before)} → ${short(parent.after)})`,
    );
  }
  const builderImage = was.inputs && now.inputs ? valueChange(was.inputs.builderImage, now.inputs.builderImage) : undefined;
  if (builderImage) parts.push(`builder image ${builderImage.before} → ${builderImage.after}`);
  const algorithm = was.inputs && now.inputs ? valueChange(was.inputs.algorithm, now.inputs.algorithm) : undefined;
  if (algorithm) parts.push(`algorithm ${algorithm.before} → ${algorithm.after}`);
  if (parts.length === 0) parts.push(`digest ${short(was.digest)} → ${short(now.digest)} (its inputs were not recorded then)`);
  const seen = before.seen;
  return {
    kind: 'changed',
    summary: `changed since ${short(seen.rev)}: ${parts.join('; ')}`,
    since: { pushId: seen.pushId, rev: seen.rev, decision: seen.decision, taskId: seen.taskId, digest: seen.digest },
    ...(files ? { files } : {}),
    ...(Object.keys(args).length ? { args } : {}),
    ...(parent ? { parent } : {}),
    ...(builderImage ? { builderImage } : {}),
    ...(algorithm ? { algorithm } : {}),
  };
}
