import type { ImageNode } from '../graph/types.ts';
import type { DecisionSettings } from './settings.ts';
import { fillPattern, sourceUrl } from './settings.ts';
import type { PushContext, TaskInput } from '../domain/index.ts';

export interface TaskInputParts {
  readonly node: ImageNode;
  readonly push: PushContext;
  readonly settings: DecisionSettings;
  readonly trustDomain: string;
  readonly taskGroupId: string;
  readonly parentTaskId: string | null;
  readonly dependencies: readonly string[];
  readonly rank: number;
}

export function contextUrl(publicUrl: string, contextHash: string): string {
  return `${publicUrl.replace(/\/$/, '')}/contexts/${contextHash}.tar.gz`;
}

/** The json-e context of one image's build task. */
export function taskInput(parts: TaskInputParts): TaskInput {
  const { node, push, settings, trustDomain } = parts;
  const level = push.level;
  return {
    taskGroupId: parts.taskGroupId,
    schedulerId: fillPattern(settings.schedulerId, trustDomain, level),
    taskQueueId: fillPattern(settings.taskQueueId, trustDomain, level),
    priority: settings.priority,
    owner: push.owner ?? settings.owner,
    trustDomain,
    builderImage: settings.builderImage,
    level,
    pullRequest: push.pullRequest,
    rank: parts.rank,
    zstdLevel: level === 1 ? '3' : '10',
    dependencies: parts.dependencies,
    routes: node.routes,
    parentTaskId: parts.parentTaskId,
    image: {
      name: node.name,
      contextDir: node.contextDir,
      contextHash: node.contextHash!,
      digest: node.digest,
      parent: node.parent,
      args: node.args,
      buildArgs: JSON.stringify(node.args),
      symbol: node.symbol ?? null,
      contextUrl: contextUrl(settings.publicUrl, node.contextHash!),
    },
    repository: {
      project: push.repository,
      url: push.repositoryUrl,
      rev: push.rev,
      ref: push.ref,
      sourceUrl: sourceUrl(push.repositoryUrl, push.rev, node.contextDir, settings.publicUrl),
    },
  };
}
