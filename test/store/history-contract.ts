import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { DecisionRecord, ImageDecision, NewPush, PushPatch } from '../../src/domain/index.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { planned, uniqueDigest } from './contract.ts';
import { newPush } from './new-push.ts';

const FAR_FUTURE = new Date('2999-01-01T00:00:00.000Z');
const at = (time: string) => `2021-03-04T${time}.000Z`;

function image(name: string, decision: ImageDecision['decision'], taskId: string | null, extra: Partial<ImageDecision> = {}): ImageDecision {
  return {
    name,
    decision,
    reason: `${name} is ${decision}`,
    facts: [],
    taskId,
    parentTaskId: null,
    contextHash: `ctx-${name}`,
    digest: `digest-${name}`,
    artifactUrl: taskId ? `https://tc.example/api/queue/v1/task/${taskId}/artifacts/public/image.tar.zst` : null,
    ...extra,
  };
}

function record(push: NewPush, images: ImageDecision[], decidedAt: string, dryRun = false): DecisionRecord {
  return {
    id: push.id,
    push: { repository: push.repository, repositoryUrl: 'https://example.com/acme', rev: push.rev, ref: push.ref, level: 3, pullRequest: false, owner: null },
    taskGroupId: 'group',
    state: 'decided',
    dryRun,
    images,
    createdAt: push.receivedAt,
    decidedAt,
    error: null,
  };
}

/**
 * Claims every due push (earlier tests may have left some on a shared database) and finishes
 * each: ours as planned, the others as failed.
 */
async function finishAll(store: ServiceStore, outcomes: Map<string, PushPatch>): Promise<void> {
  for (let p = await store.claimPush('history', FAR_FUTURE, 1000); p; p = await store.claimPush('history', FAR_FUTURE, 1000)) {
    await store.updatePush(p.id, 'history', outcomes.get(p.id) ?? { state: 'failed' });
  }
}

/** The read-only summaries every ServiceStore gives; run on each SQL backend. */
export function historyStoreContract(name: string, open: () => Promise<ServiceStore>): void {
  describe(`history store contract: ${name}`, () => {
    it('gives an image’s decision per push, newest first, and the activity per hour of one repository', async () => {
      const store = await open();
      const [repo, other] = [`h-${randomUUID()}`, `h-${randomUUID()}`];
      const p1 = newPush(repo, at('10:00:00'));
      const p2 = newPush(repo, at('10:30:00'));
      const p3 = newPush(repo, at('11:05:00'));
      const p4 = newPush(repo, at('11:10:00'));
      const elsewhere = newPush(other, at('10:15:00'));
      for (const p of [p1, p2, p3, p4, elsewhere])
        await store.recordDelivery({ source: 'github', deliveryId: randomUUID(), event: 'push', receivedAt: p.receivedAt, ignoredReason: null }, p);
      const decided = (finishedAt: string): PushPatch => ({ state: 'decided', finishedAt, counts: {} });
      await finishAll(
        store,
        new Map([
          [p1.id, decided(at('10:00:04'))],
          [p2.id, decided(at('10:30:10'))],
          [p3.id, { state: 'failed', finishedAt: at('11:05:30') }],
          [p4.id, decided(at('11:10:02'))],
          [elsewhere.id, decided(at('10:15:01'))],
        ]),
      );
      const [t1, t2, t3] = [`t1-${randomUUID()}`, `t2-${randomUUID()}`, `t3-${randomUUID()}`];
      await store.saveDecision(record(p1, [image('base', 'build', t1), image('lint', 'build', t2)], at('10:00:04')));
      await store.saveDecision(record(p2, [image('base', 'indexed', t1, { reason: '<img src=x onerror=alert(1)> indexed' })], at('10:30:10')));
      await store.saveDecision(record(p4, [image('base', 'build', 'dry-task', { dryRun: true, artifactUrl: null })], at('11:10:02'), true));
      await store.saveDecision(record(elsewhere, [image('base', 'build', t3)], at('10:15:01')));
      // Two builds submitted (10:00 and 11:20), one planned but never submitted, one of another repository.
      await store.planTask(planned({ digest: uniqueDigest(), taskId: t1, decisionId: p1.id }), { reuse: false });
      await store.markSubmitted(t1, at('10:00:03'));
      await store.planTask(planned({ digest: uniqueDigest(), taskId: t2, decisionId: p1.id }), { reuse: false });
      const late = `late-${randomUUID()}`;
      await store.planTask(planned({ digest: uniqueDigest(), taskId: late, decisionId: p3.id }), { reuse: false });
      await store.markSubmitted(late, at('11:20:00'));
      await store.planTask(planned({ digest: uniqueDigest(), taskId: t3, decisionId: elsewhere.id }), { reuse: false });
      await store.markSubmitted(t3, at('10:15:00'));

      const history = await store.imageHistory(repo, 'base', 10);
      assert.deepEqual(
        history.map((h) => [h.pushId, h.decision, h.taskId, h.dryRun]),
        [
          [p4.id, 'build', 'dry-task', true],
          [p2.id, 'indexed', t1, false],
          [p1.id, 'build', t1, false],
        ],
      );
      assert.deepEqual(history[1], {
        pushId: p2.id,
        rev: p2.rev,
        ref: 'refs/heads/main',
        receivedAt: p2.receivedAt,
        decidedAt: at('10:30:10'),
        decision: 'indexed',
        reason: '<img src=x onerror=alert(1)> indexed',
        taskId: t1,
        digest: 'digest-base',
        contextHash: 'ctx-base',
        artifactUrl: `https://tc.example/api/queue/v1/task/${t1}/artifacts/public/image.tar.zst`,
        dryRun: false,
        forced: false,
      });
      assert.deepEqual(
        (await store.imageHistory(repo, 'base', 2)).map((h) => h.pushId),
        [p4.id, p2.id],
      );
      assert.deepEqual(
        (await store.imageHistory(repo, 'lint', 10)).map((h) => [h.pushId, h.taskId]),
        [[p1.id, t2]],
      );
      assert.deepEqual(await store.imageHistory(repo, 'missing', 10), []);
      assert.deepEqual(
        (await store.imageHistory(other, 'base', 10)).map((h) => h.pushId),
        [elsewhere.id],
      );

      const since = new Date(at('09:00:00'));
      const until = new Date(at('12:00:00'));
      assert.deepEqual(await store.activity({ since, until, repository: repo }), [
        // Latencies 4 s and 10 s: the nearest-rank median is 4.
        { hour: at('10:00:00'), decided: 2, failed: 0, latencyP50: 4, latencyP95: 10, builds: 1 },
        { hour: at('11:00:00'), decided: 1, failed: 1, latencyP50: 2, latencyP95: 2, builds: 1 },
      ]);
      assert.deepEqual(await store.activity({ since: new Date(at('11:00:00')), until, repository: repo }), [
        { hour: at('11:00:00'), decided: 1, failed: 1, latencyP50: 2, latencyP95: 2, builds: 1 },
      ]);
      assert.deepEqual(await store.activity({ since, until: new Date(at('10:00:00')), repository: repo }), []);
      const all = await store.activity({ since, until });
      const ten = all.find((h) => h.hour === at('10:00:00'))!;
      assert.ok(ten.decided >= 3 && ten.builds >= 2, 'without a repository, every repository counts');
    });
  });
}
