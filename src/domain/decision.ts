import type { ImageError } from '../catalog/types.ts';
import type { ImageChanges } from './changes.ts';
import type { Level } from './level.ts';
import type { ImageNode } from '../graph/types.ts';
import type { TaskDefinition, TaskState } from '../taskcluster/types.ts';

export type DecisionKind = 'indexed' | 'in-flight' | 'build' | 'registry' | 'error' | 'blocked';

/** Why one candidate build was or was not reused. */
export type LookupOutcome =
  'hit' | 'not-indexed' | 'failed' | 'exception' | 'expires-too-soon' | 'artifact-missing' | 'artifact-expired' | 'task-missing' | 'in-flight' | 'lower-level';

/** One thing looked at: an index path, or a build this service has in flight. */
export interface LookupFact {
  /** An index namespace, or `in-flight:<digest>` for our own builds. */
  readonly path: string;
  readonly outcome: LookupOutcome;
  readonly taskId?: string;
  readonly state?: TaskState;
  readonly expires?: string;
}

export interface ImageDecision {
  readonly name: string;
  readonly decision: DecisionKind;
  readonly reason: string;
  readonly facts: readonly LookupFact[];
  /** The task that provides the image: indexed, in flight, or created for it. */
  readonly taskId: string | null;
  readonly parentTaskId: string | null;
  readonly contextHash: string | null;
  readonly digest: string | null;
  readonly artifactUrl: string | null;
  readonly forced?: boolean;
  readonly dryRun?: boolean;
  readonly error?: ImageError;
  /** New builds only: the definition sent (or, in a dry run, that would be sent). */
  readonly definition?: TaskDefinition;
  /** The graph node decided (context folder, args, index paths...), for views. */
  readonly node?: ImageNode;
  /** Builds: which inputs differ from the image's last version in the repository, or why a build of the same inputs was not reused. */
  readonly changes?: ImageChanges;
}

/** A push (or an operator's request) to decide for. */
export interface PushContext {
  /** Configured repository name; also the `PROJECT`. */
  readonly repository: string;
  /** An https/ssh URL that `metadata.source` and `VCS_*` carry. */
  readonly repositoryUrl: string;
  readonly rev: string;
  readonly ref: string | null;
  readonly level: Level;
  readonly pullRequest: boolean;
  /** Who pushed: `metadata.owner` (an e-mail address). */
  readonly owner: string | null;
}

export interface ForceRebuild {
  readonly image: string;
  readonly withDescendants: boolean;
  /** Why, when not an operator's request: the forced image's reason (`refresh: expires <date>`). */
  readonly reason?: string;
}

export type DecisionState = 'planned' | 'decided' | 'failed';

export interface DecisionRecord {
  readonly id: string;
  readonly push: PushContext;
  readonly taskGroupId: string;
  readonly state: DecisionState;
  readonly dryRun: boolean;
  /** Parents first. */
  readonly images: readonly ImageDecision[];
  readonly createdAt: string;
  readonly decidedAt: string | null;
  readonly error: ImageError | null;
}

export type PlannedTaskState = 'planned' | 'submitted' | 'rejected';

/** A build task, stored with its full definition before `createTask` is called. */
export interface PlannedTask {
  readonly taskId: string;
  readonly decisionId: string;
  readonly image: string;
  /**
   * The image's digest: later decisions of the same digest reuse the build. For an image
   * with `cache: false`, `uncached:<decision id>:<image>`: only the same push's plan does.
   */
  readonly digest: string;
  readonly level: Level;
  readonly pullRequest: boolean;
  readonly definition: TaskDefinition;
  /** What the definition was rendered from, to re-render it with fresh times under the same id. */
  readonly input: TaskInput;
  readonly state: PlannedTaskState;
  /** While true, later decisions of the same digest (at this level or lower) reuse this task. */
  readonly active: boolean;
  readonly createdAt: string;
  readonly submittedAt: string | null;
  readonly error: ImageError | null;
}

/** The json-e context of one build task, without its times (see docs/task-template.md). */
export interface TaskInput {
  readonly taskGroupId: string;
  readonly schedulerId: string;
  readonly taskQueueId: string;
  readonly priority: string;
  readonly owner: string;
  readonly trustDomain: string;
  readonly builderImage: string;
  readonly level: Level;
  readonly pullRequest: boolean;
  readonly rank: number;
  readonly zstdLevel: string;
  readonly dependencies: readonly string[];
  readonly routes: readonly string[];
  readonly parentTaskId: string | null;
  readonly image: {
    readonly name: string;
    readonly contextDir: string;
    readonly contextHash: string;
    /** null for an image with `cache: false` (which has no routes either). */
    readonly digest: string | null;
    readonly parent: string | null;
    readonly args: Readonly<Record<string, string>>;
    /** `DOCKER_BUILD_ARGS`: the args as a JSON object. */
    readonly buildArgs: string;
    readonly symbol: string | null;
    readonly contextUrl: string;
  };
  readonly repository: {
    readonly project: string;
    readonly url: string;
    readonly rev: string;
    readonly ref: string | null;
    readonly sourceUrl: string;
  };
}
