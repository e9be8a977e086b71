import type { Level } from '../domain/index.ts';

/** Whether `held` (expanded scopes) satisfies `needed`: equal, or a held `prefix*` covering it. */
export function satisfied(held: readonly string[], needed: string): boolean {
  return held.some((h) => h === needed || (h.endsWith('*') && needed.startsWith(h.slice(0, -1))));
}

export interface ScopeNeeds {
  /** The index prefix (`<cachePrefix>`), or null when only the repository knows it. */
  readonly prefix: string | null;
  readonly scheme: 'taskgraph' | 'seed-v1';
  readonly project: string;
  /** The levels pushes are decided at. */
  readonly levels: readonly Level[];
  readonly pullRequests: boolean;
  /** Filled for each level: `queue:create-task:<priority>:<taskQueueId>` and `queue:scheduler-id:<schedulerId>`. */
  readonly taskQueueId: (level: Level) => string | null;
  readonly schedulerId: (level: Level) => string | null;
  readonly priority: string;
}

/**
 * The scopes a repository's decisions need, narrowest patterns first: lookups at its levels
 * and above, statuses and artifacts of any task the Index names, and task creation on its
 * queues with its routes.
 */
export function requiredScopes(needs: ScopeNeeds): string[] {
  const scopes = new Set(['queue:status:*', 'queue:list-artifacts:*', 'queue:get-task:*', 'queue:create-task:project:none']);
  const lowest = Math.min(...needs.levels, needs.pullRequests ? 1 : 3);
  for (const level of needs.levels) {
    const queue = needs.taskQueueId(level);
    const scheduler = needs.schedulerId(level);
    if (queue) scopes.add(`queue:create-task:${needs.priority}:${queue}`);
    if (scheduler) scopes.add(`queue:scheduler-id:${scheduler}`);
  }
  if (needs.scheme === 'seed-v1') {
    scopes.add('index:find-task:docker.images.v1.*');
    scopes.add(`queue:route:index.docker.images.v1.${needs.project}.*`);
  } else if (needs.prefix) {
    for (let level = 3; level >= lowest; level--) {
      scopes.add(`index:find-task:${needs.prefix}.cache.level-${level}.docker-images.v2.*`);
    }
    for (const level of needs.levels) scopes.add(`queue:route:index.${needs.prefix}.cache.level-${level}.docker-images.v2.*`);
    if (needs.pullRequests) {
      scopes.add(`index:find-task:${needs.prefix}.cache.pr.docker-images.v2.*`);
      scopes.add(`queue:route:index.${needs.prefix}.cache.pr.docker-images.v2.*`);
    }
  }
  return [...scopes];
}

/** The needed scopes `held` does not satisfy. */
export function missingFrom(held: readonly string[], needed: readonly string[]): string[] {
  return needed.filter((s) => !satisfied(held, s));
}
