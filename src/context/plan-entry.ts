import type { TreeEntry, TreeSource } from '../tree/types.ts';

/** A file read from a tree. */
export interface TreeFileSource {
  readonly tree: TreeSource;
  readonly path: string;
  readonly entry: TreeEntry;
  /** From a `%include`: the files other images' contexts are likely to hold too. */
  readonly included?: boolean;
  /** The `# %include` path it came in by, as written (for the manifest). */
  readonly include?: string;
}

export type PlanSource = TreeFileSource | { readonly data: Buffer };

export interface PlanEntry {
  readonly name: string;
  readonly mode: number;
  readonly source: PlanSource;
}

export type TreePlanEntry = PlanEntry & { readonly source: TreeFileSource };
