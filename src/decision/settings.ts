import type { Level } from '../domain/index.ts';
import { DEFAULT_BUILDER_IMAGE } from '../context/digest.ts';

/** How build tasks are named, queued and timed; the service's config fills it. */
export interface DecisionSettings {
  /** Base URL of this service, for `CONTEXT_URL` (`<publicUrl>/contexts/<hash>.tar.gz`). */
  readonly publicUrl: string;
  readonly builderImage: string;
  /** `{trustDomain}` and `{level}` are replaced. */
  readonly taskQueueId: string;
  readonly schedulerId: string;
  readonly priority: string;
  /** Minutes from creation to deadline (the Queue allows at most 5 days). */
  readonly deadlineMinutes: number;
  /** `metadata.owner` when the push does not say who pushed. */
  readonly owner: string;
}

export const DEFAULT_DECISION_SETTINGS: DecisionSettings = {
  publicUrl: 'http://localhost:8080',
  builderImage: DEFAULT_BUILDER_IMAGE,
  taskQueueId: '{trustDomain}-{level}/images',
  schedulerId: '{trustDomain}-level-{level}',
  priority: 'low',
  deadlineMinutes: 24 * 60,
  owner: 'image-decider@example.com',
};

export function fillPattern(pattern: string, trustDomain: string, level: Level): string {
  return pattern.replaceAll('{trustDomain}', trustDomain).replaceAll('{level}', String(level));
}

/** A browsable link to the context folder at the revision, as `metadata.source` needs. */
export function sourceUrl(repositoryUrl: string, rev: string, contextDir: string, publicUrl: string): string {
  const web = repositoryUrl.replace(/\.git$/, '');
  if (/^https?:\/\//.test(web)) return `${web}/tree/${rev}/${contextDir}`;
  if (/^(ssh:\/\/|git@)/.test(web)) return web;
  return `${publicUrl.replace(/\/$/, '')}/graph?rev=${rev}`;
}
