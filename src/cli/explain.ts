import type { DecisionRecord, ImageChanges } from '../domain/index.ts';
import { describeFile } from '../decision/changes.ts';
import { recordGraphManifests } from '../decision/explain.ts';
import type { ImageGraph } from '../graph/types.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { type CliDecisionOptions, decideForCli } from './decide.ts';

/**
 * The store `graph --explain` compares with: the base revision's graph decided (a dry run, so
 * nothing is looked up or created), which records each image's version there.
 */
export async function baseVersions(base: ImageGraph, baseDate: Date, options: CliDecisionOptions): Promise<MemoryStore> {
  const store = new MemoryStore();
  await recordGraphManifests(store, base, new Date());
  const { force: _force, submit: _submit, ...rest } = options;
  await decideForCli(base, baseDate, { ...rest, dryRun: true, changes: store });
  return store;
}

const size = (s: { size: number } | undefined) => (s ? `${s.size} bytes` : '');

function changeLines(c: ImageChanges): string[] {
  const lines: string[] = [];
  for (const f of c.files?.list ?? []) {
    const sizes =
      f.before && f.after
        ? `${size(f.before)} → ${size(f.after)}${f.before.mode !== f.after.mode ? `, mode ${f.before.mode.toString(8)} → ${f.after.mode.toString(8)}` : ''}`
        : size(f.after ?? f.before);
    lines.push(`${f.change.padEnd(8)} ${describeFile(f)}  ${sizes}`);
  }
  const listed = c.files?.list.length ?? 0;
  const total = c.files ? c.files.added + c.files.removed + c.files.changed : 0;
  if (total > listed) lines.push(`… and ${total - listed} more files`);
  if (c.files?.note) lines.push(`note: ${c.files.note}`);
  for (const [name, v] of Object.entries(c.args ?? {})) lines.push(`%ARG ${name}: ${v.before ?? '(unset)'} → ${v.after ?? '(unset)'}`);
  if (c.parent) lines.push(`parent ${c.parent.name ?? 'none'}: ${c.parent.before ?? 'none'} → ${c.parent.after ?? 'none'}`);
  if (c.builderImage) lines.push(`builder image: ${c.builderImage.before} → ${c.builderImage.after}`);
  if (c.algorithm) lines.push(`algorithm: ${c.algorithm.before} → ${c.algorithm.after}`);
  return lines;
}

/** What each build's changes are, image by image, for the table's readers. */
export function changesText(record: DecisionRecord, since: string): string {
  const out = [`What changed since ${since}:`];
  for (const d of record.images) {
    if (!d.changes) continue;
    out.push(`  ${d.name}: ${d.changes.summary}`, ...changeLines(d.changes).map((l) => `      ${l}`));
  }
  if (out.length === 1) out.push('  no image is built');
  return out.join('\n');
}
