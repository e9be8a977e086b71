import type { PlannedTask } from './decision.ts';
import type { BuildQuery } from './store.ts';

/**
 * Whether an active build serves a push: same digest, built at the push's trust level or
 * higher (a level-3 build serves a level-1 push, never the reverse), and a pull-request
 * build only serves pull requests, since it is indexed only under the PR path.
 */
export function buildServes(task: PlannedTask, query: BuildQuery): boolean {
  return task.active && task.state !== 'rejected' && task.digest === query.digest && task.level >= query.level && (!task.pullRequest || query.pullRequest);
}
