import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import jsone from 'json-e';
import yaml from 'js-yaml';
import type { Level, TaskInput } from '../domain/index.ts';
import { DeciderError } from '../errors.ts';
import type { TaskDefinition } from '../taskcluster/types.ts';
import { type DecisionSettings, fillPattern } from './settings.ts';
import { checkTaskDefinition } from './task-schema.ts';

export const DEFAULT_TEMPLATE = fileURLToPath(new URL('../../templates/docker-image.yml', import.meta.url));

const DAY_MS = 24 * 3600_000;

export interface TaskTimes {
  readonly created: string;
  readonly deadline: string;
  readonly expires: string;
}

/** created now; deadline as configured (at most 5 days); expires 28 days at level 1, a year otherwise. */
export function taskTimes(now: Date, level: Level, deadlineMinutes: number): TaskTimes {
  const t = now.getTime();
  return {
    created: new Date(t).toISOString(),
    deadline: new Date(t + deadlineMinutes * 60_000).toISOString(),
    expires: new Date(t + (level === 1 ? 28 : 365) * DAY_MS).toISOString(),
  };
}

const SAMPLE_SETTINGS: Omit<DecisionSettings, 'deadlineMinutes'> = {
  publicUrl: 'https://image-decider.example',
  builderImage: 'mozillareleases/image_builder:6.2.0',
  taskQueueId: '{trustDomain}-{level}/images',
  schedulerId: '{trustDomain}-level-{level}',
  priority: 'low',
  owner: 'someone@example.com',
};

function sampleInput(parent: boolean, level: Level, pullRequest: boolean, settings: Omit<DecisionSettings, 'deadlineMinutes'>, cached = true): TaskInput {
  const id = 'fFk2FJY4TtKpvGm3UbXkYg';
  return {
    taskGroupId: id,
    schedulerId: fillPattern(settings.schedulerId, 'sample', level),
    taskQueueId: fillPattern(settings.taskQueueId, 'sample', level),
    priority: settings.priority,
    owner: settings.owner,
    trustDomain: 'sample',
    builderImage: settings.builderImage,
    level,
    pullRequest,
    rank: 1_700_000_000,
    zstdLevel: level === 1 ? '3' : '10',
    dependencies: parent ? [id] : [],
    routes: cached ? [`index.sample.cache.level-${level}.docker-images.v2.sample.hash.${'0'.repeat(64)}`] : [],
    parentTaskId: parent ? id : null,
    image: {
      name: 'sample',
      contextDir: 'taskcluster/docker/sample',
      contextHash: '0'.repeat(64),
      digest: cached ? '1'.repeat(64) : null,
      parent: parent ? 'base' : null,
      args: { A: '1' },
      buildArgs: '{"A":"1"}',
      symbol: 'I(sample)',
      contextUrl: `${settings.publicUrl}/contexts/${'0'.repeat(64)}.tar.gz`,
    },
    repository: { project: 'sample', url: 'https://example.com/sample', rev: 'f'.repeat(40), ref: 'refs/heads/main', sourceUrl: 'https://example.com/sample' },
  };
}

/** A json-e task template, checked once at start-up so that a bad one never fails a push. */
export class TaskTemplate {
  private constructor(
    readonly path: string,
    private readonly template: Record<string, unknown>,
  ) {}

  static async load(path: string = DEFAULT_TEMPLATE): Promise<TaskTemplate> {
    let parsed: unknown;
    try {
      parsed = yaml.load(await readFile(path, 'utf8'), { filename: path });
    } catch (err) {
      throw new DeciderError('bad-template', `cannot read task template ${path}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new DeciderError('bad-template', `task template ${path} must be a YAML mapping`);
    }
    const template = new TaskTemplate(path, parsed as Record<string, unknown>);
    template.check({ ...SAMPLE_SETTINGS, deadlineMinutes: 24 * 60 });
    return template;
  }

  /** Renders sample tasks with these settings; throws `bad-template` if the Queue would refuse one. */
  check(settings: DecisionSettings): void {
    const now = new Date();
    for (const [parent, level, pr] of [
      [false, 3, false],
      [true, 1, false],
      [true, 1, true],
    ] as const) {
      this.render(sampleInput(parent, level, pr, settings), taskTimes(now, level, settings.deadlineMinutes));
    }
    // An image with `cache: false`: no digest, no routes.
    this.render(sampleInput(true, 3, false, settings, false), taskTimes(now, 3, settings.deadlineMinutes));
  }

  render(input: TaskInput, times: TaskTimes): TaskDefinition {
    let rendered: unknown;
    try {
      rendered = jsone(this.template, { ...input, ...times });
    } catch (err) {
      throw new DeciderError('bad-template', `task template ${this.path}: ${(err as Error).message}`);
    }
    checkTaskDefinition(rendered, `task template ${this.path}`);
    return rendered;
  }
}
