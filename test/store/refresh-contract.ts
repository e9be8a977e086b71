import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { DecisionRecord, NewPush, RefreshRecord } from '../../src/domain/index.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { newPush } from './new-push.ts';

// Before any other contract's times (2020, 2021, now): only these pushes are due when claiming at CLAIM_AT.
const at = (minute: number) => new Date(Date.UTC(2000, 0, 1, 0, minute)).toISOString();
const CLAIM_AT = new Date(Date.UTC(2000, 0, 1, 12));

function decision(push: NewPush, taskId: string, dryRun = false): DecisionRecord {
  return {
    id: push.id,
    push: { repository: push.repository, repositoryUrl: 'https://example.com/acme', rev: push.rev, ref: push.ref, level: push.level, pullRequest: push.pullRequest, owner: null },
    taskGroupId: 'group',
    state: 'decided',
    dryRun,
    images: [{ name: 'base', decision: 'indexed', reason: 'indexed', facts: [], taskId, parentTaskId: null, contextHash: 'c', digest: 'd', artifactUrl: null }],
    createdAt: push.receivedAt,
    decidedAt: push.receivedAt,
    error: null,
  };
}

function refreshOf(repository: string, taskId: string, pushId: string, expires = '2999-01-01T00:00:00.000Z'): RefreshRecord {
  return { repository, image: 'base', digest: 'digest-1', taskId, expires, pushId, queuedAt: '2026-12-01T00:00:00.000Z' };
}

const refreshPush = (repository: string, id: string): NewPush => ({
  ...newPush(repository, '2026-12-01T00:00:00.000Z'),
  id,
  source: 'rebuild',
  force: { image: 'base', withDescendants: false, reason: 'refresh: expires 2999-01-01T00:00:00.000Z' },
});

/** What the refresher keeps (src/service/refresh.ts); run on each SQL backend. */
export function refreshStoreContract(name: string, open: () => Promise<ServiceStore>): void {
  describe(`refresh store contract: ${name}`, () => {
    it('queues a refresh and its push together, once per repository, digest and expiring task', async () => {
      const store = await open();
      const repo = `r-${randomUUID()}`;
      const first = randomUUID();
      assert.deepEqual(await store.queueRefresh(refreshOf(repo, 'task-a', first), refreshPush(repo, first)), { queued: true });
      const push = await store.getPush(first);
      assert.equal(push?.state, 'queued');
      assert.deepEqual(push?.force, { image: 'base', withDescendants: false, reason: 'refresh: expires 2999-01-01T00:00:00.000Z' });

      const second = randomUUID();
      const again = await store.queueRefresh(refreshOf(repo, 'task-a', second), refreshPush(repo, second));
      assert.deepEqual(again, { queued: false, existing: refreshOf(repo, 'task-a', first) });
      assert.equal(await store.getPush(second), null, 'no second push');

      // Of many at once (several processes' passes), exactly one is queued.
      const ids = Array.from({ length: 8 }, () => randomUUID());
      const outcomes = await Promise.all(ids.map((id) => store.queueRefresh(refreshOf(repo, 'task-b', id), refreshPush(repo, id))));
      assert.equal(outcomes.filter((o) => o.queued).length, 1);
      assert.equal((await Promise.all(ids.map((id) => store.getPush(id)))).filter((p) => p !== null).length, 1);

      // Another repository's, or the same digest's next task (a year later), is a refresh of its own.
      const other = randomUUID();
      assert.deepEqual(await store.queueRefresh(refreshOf(`${repo}-2`, 'task-a', other), refreshPush(`${repo}-2`, other)), { queued: true });
    });

    it('lists the refreshes whose expiring task has not expired, soonest first, with their push’s state', async () => {
      const store = await open();
      const repo = `l-${randomUUID()}`;
      const [soon, later, gone] = [randomUUID(), randomUUID(), randomUUID()];
      await store.queueRefresh(refreshOf(repo, 'later', later, '2998-06-01T00:00:00.000Z'), refreshPush(repo, later));
      await store.queueRefresh(refreshOf(repo, 'soon', soon, '2998-01-01T00:00:00.000Z'), refreshPush(repo, soon));
      await store.queueRefresh(refreshOf(repo, 'gone', gone, '2001-01-01T00:00:00.000Z'), refreshPush(repo, gone));
      const listed = (await store.listRefreshes({ expiresAfter: new Date('2026-12-01T00:00:00.000Z') })).filter((r) => r.repository === repo);
      assert.deepEqual(listed, [
        { ...refreshOf(repo, 'soon', soon, '2998-01-01T00:00:00.000Z'), pushState: 'queued' },
        { ...refreshOf(repo, 'later', later, '2998-06-01T00:00:00.000Z'), pushState: 'queued' },
      ]);
    });

    it('gives each branch’s newest decided level-3 push with its decision: no pull request, dry run, other level or undecided push', async () => {
      const store = await open();
      const repo = `b-${randomUUID()}`;
      const old = newPush(repo, at(1));
      const newest = newPush(repo, at(2));
      const release = newPush(repo, at(3), { ref: 'refs/heads/release/1' });
      const pr = newPush(repo, at(4), { pullRequest: true });
      const level1 = newPush(repo, at(5), { level: 1 });
      const dry = newPush(repo, at(6));
      const failed = newPush(repo, at(7));
      const tag = newPush(repo, at(8), { ref: 'refs/tags/v1' });
      const pushes = [old, newest, release, pr, level1, dry, failed, tag];
      for (const p of pushes) await store.recordDelivery({ source: 'github', deliveryId: randomUUID(), event: 'push', receivedAt: p.receivedAt, ignoredReason: null }, p);
      for (let claimed = await store.claimPush('refresh', CLAIM_AT, 1000); claimed; claimed = await store.claimPush('refresh', CLAIM_AT, 1000)) {
        assert.ok(
          pushes.some((p) => p.id === claimed!.id),
          'only this test’s pushes are due',
        );
        await store.updatePush(claimed.id, 'refresh', { state: claimed.id === failed.id ? 'failed' : 'decided', finishedAt: claimed.receivedAt });
      }
      for (const p of pushes) await store.saveDecision(decision(p, `task-${p.id}`, p === dry));

      const heads = await store.decidedHeads(repo, 3);
      assert.deepEqual(heads.map((h) => [h.ref, h.pushId]).sort(), [
        ['refs/heads/main', newest.id],
        ['refs/heads/release/1', release.id],
      ]);
      assert.deepEqual(heads.find((h) => h.pushId === newest.id)?.record, decision(newest, `task-${newest.id}`));
      assert.deepEqual(await store.decidedHeads(repo, 1), [{ ref: 'refs/heads/main', pushId: level1.id, record: decision(level1, `task-${level1.id}`) }]);
      assert.deepEqual(await store.decidedHeads(`${repo}-none`, 3), []);
    });
  });
}
