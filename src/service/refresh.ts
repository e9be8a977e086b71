import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { fetchTaskFacts } from '../decision/lookup.ts';
import type { PushState, RefreshEntry } from '../domain/index.ts';
import type { ServiceStore } from '../store/service-store.ts';
import type { Taskcluster } from '../taskcluster/types.ts';
import { type ServedImage, currentExpiry, servedImages, servingTask } from './refresh-candidates.ts';
import type { RepositoryRuntime } from './repositories.ts';

/** `would-queue`: a dry run, which queues nothing; the others follow the refresh push's state. */
export type RefreshState = 'queued' | 'would-queue' | 'done' | 'failed';

/** A level-3 image whose serving task (or its artifact) expires within the window. */
export interface ExpiringImage {
  readonly repository: string;
  readonly image: string;
  readonly digest: string;
  readonly taskId: string;
  readonly expires: string;
  readonly refresh: RefreshState;
  /** The forced rebuild push, once queued. */
  readonly pushId: string | null;
}

export interface RefresherOptions {
  readonly intervalMs: number;
  readonly windowMs: number;
}

export interface RefresherDeps {
  readonly store: ServiceStore;
  readonly repos: ReadonlyMap<string, RepositoryRuntime>;
  /** null: dry run, nothing queued. */
  readonly taskcluster: Taskcluster | null;
  /** What expiry is judged against: Taskcluster's time. */
  readonly clock: () => Date;
  readonly log: Logger;
  /** A rebuild was queued: the worker need not wait for its poll. */
  readonly onQueued: () => void;
}

/** The refresh level: only level-3 builds are shared with every consumer and kept a year. */
const LEVEL = 3;

export function refreshReason(expires: string): string {
  return `refresh: expires ${expires}`;
}

export function refreshState(pushState: PushState | null): RefreshState {
  return pushState === 'decided' ? 'done' : pushState === 'failed' ? 'failed' : 'queued';
}

const key = (r: { repository: string; digest: string; taskId: string }) => `${r.repository}\0${r.digest}\0${r.taskId}`;

/**
 * Rebuilds level-3 images before they expire under their users. At start and every
 * interval, each level-3 branch's last decided graph is read from the store; every image it
 * serves is judged by the task the Index names for it now (one batched lookup per pass), or
 * the decision's own task while that is still to finish; one with a task that (or whose
 * image artifact) expires within the window gets one
 * forced rebuild push at level 3, at most once per digest and expiring task, whichever
 * process or pass finds it first (the store's refresh record and the push are written
 * together). The rebuilt task expires a year later; it is refreshed in its turn.
 */
export class Refresher {
  private timer: NodeJS.Timeout | null = null;
  private passing: Promise<void> | null = null;
  private stopped = false;
  /** When the last pass finished (wall time), and why it failed if it did. */
  lastRunAt: string | null = null;
  lastError: { readonly at: string; readonly message: string } | null = null;
  /** What the last pass found. */
  expiring: readonly ExpiringImage[] = [];

  constructor(
    private readonly deps: RefresherDeps,
    readonly options: RefresherOptions,
  ) {}

  /** Taskcluster's time, which expiry is judged by. */
  now(): Date {
    return this.deps.clock();
  }

  /** The first pass at once, then one every interval (never two at a time). */
  start(): void {
    if (this.stopped || this.timer || this.passing) return;
    this.schedule(0);
  }

  /** Stops the schedule and waits for a pass under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.passing;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.passing = this.pass().finally(() => {
        this.passing = null;
        if (!this.stopped) this.schedule(this.options.intervalMs);
      });
    }, ms);
  }

  private async pass(): Promise<void> {
    try {
      this.expiring = await this.find();
      this.lastError = null;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.lastError = { at: new Date().toISOString(), message };
      this.deps.log.warn({ err }, 'refreshing images close to expiry failed');
    }
    this.lastRunAt = new Date().toISOString();
  }

  private async find(): Promise<ExpiringImage[]> {
    const { store, taskcluster } = this.deps;
    const now = this.deps.clock().getTime();
    const served = new Map<string, ServedImage>();
    for (const repo of this.deps.repos.values()) {
      for (const head of await store.decidedHeads(repo.config.name, LEVEL)) {
        // A branch no longer configured at level 3 (the levels changed) is left alone.
        if (repo.levelFor(head.ref) !== LEVEL) continue;
        for (const image of servedImages(head.record, repo.config.name, head.ref)) if (!served.has(key(image))) served.set(key(image), image);
      }
    }
    if (!taskcluster) {
      // A dry run has no Taskcluster to ask: what the decision saw.
      const recorded = new Map((await store.listRefreshes({ expiresAfter: new Date(0) })).map((r) => [key(r), r]));
      const found: ExpiringImage[] = [];
      for (const image of served.values()) {
        const expires = image.recordedExpires && new Date(image.recordedExpires).toISOString();
        if (!expires || Date.parse(expires) - now > this.options.windowMs) continue;
        found.push(this.wouldQueue(image, expires, recorded.get(key(image))));
      }
      return found;
    }
    // Users get what the Index names now, which may have been re-indexed since the decision:
    // one batched lookup of every served image's paths, then the Queue's answer (a task may
    // have been rerun or its artifact replaced since) for both the recorded and the named tasks.
    const images = [...served.values()];
    const entries = await taskcluster.index.findTasks(images.flatMap((s) => s.indexPaths));
    const named = [...entries.values()].filter((e) => Date.parse(e.expires) > now).map((e) => e.taskId);
    const facts = await fetchTaskFacts(taskcluster, [...images.map((s) => s.taskId), ...named]);
    const judged = new Map<string, ServedImage>();
    for (const image of images) {
      const serving = { ...image, taskId: servingTask(image, entries, facts, now) };
      if (!judged.has(key(serving))) judged.set(key(serving), serving);
    }
    const found: ExpiringImage[] = [];
    for (const image of judged.values()) {
      const expires = currentExpiry(facts.get(image.taskId));
      if (!expires || Date.parse(expires) - now > this.options.windowMs) continue;
      found.push(await this.queue(image, expires));
    }
    return found;
  }

  private wouldQueue(image: ServedImage, expires: string, recorded: RefreshEntry | undefined): ExpiringImage {
    const { repository, digest, taskId } = image;
    if (recorded) return { repository, image: image.image, digest, taskId, expires, refresh: refreshState(recorded.pushState), pushId: recorded.pushId };
    return { repository, image: image.image, digest, taskId, expires, refresh: 'would-queue', pushId: null };
  }

  private async queue(image: ServedImage, expires: string): Promise<ExpiringImage> {
    const { repository, digest, taskId, ref, rev } = image;
    const pushId = randomUUID();
    const at = new Date().toISOString();
    const outcome = await this.deps.store.queueRefresh(
      { repository, image: image.image, digest, taskId, expires, pushId, queuedAt: at },
      {
        id: pushId,
        source: 'rebuild',
        repository,
        ref,
        rev,
        level: LEVEL,
        pullRequest: false,
        owner: null,
        force: { image: image.image, withDescendants: false, reason: refreshReason(expires) },
        receivedAt: at,
      },
    );
    const base = { repository, image: image.image, digest, taskId, expires };
    if (outcome.queued) {
      this.deps.log.info({ repository, image: image.image, digest, taskId, expires, pushId }, 'image close to expiry: rebuild queued');
      this.deps.onQueued();
      return { ...base, refresh: 'queued', pushId };
    }
    const push = await this.deps.store.getPush(outcome.existing.pushId);
    return { ...base, refresh: refreshState(push?.state ?? null), pushId: outcome.existing.pushId };
  }
}
