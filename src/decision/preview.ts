import type { DecisionRecord } from '../domain/index.ts';

/** A plan that will not be submitted: its new task ids would point nowhere, so they are dropped. */
export function asPreview(record: DecisionRecord): DecisionRecord {
  return {
    ...record,
    images: record.images.map((i) => (i.decision === 'build' && !i.dryRun ? { ...i, taskId: null, artifactUrl: null } : i)),
  };
}
