import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DecisionRecord, DecisionStore, Level, PlannedTask } from '../../src/domain/index.ts';

let counter = 0;
export const uniqueDigest = () => `${(++counter).toString(16).padStart(8, '0')}${'d'.repeat(56)}`;

export function planned(overrides: Partial<PlannedTask> & { digest: string }): PlannedTask {
  const taskId = overrides.taskId ?? `task-${++counter}`;
  return {
    taskId,
    decisionId: 'decision-1',
    image: 'base',
    level: 3 as Level,
    pullRequest: false,
    definition: {
      created: '2026-11-22T00:00:00.000Z',
      deadline: '2026-11-23T00:00:00.000Z',
      payload: { n: counter },
      metadata: { name: 'n', description: 'd', owner: 'a@b.c', source: 'https://x' },
    },
    input: { note: 'opaque to the store' } as unknown as PlannedTask['input'],
    state: 'planned',
    active: true,
    createdAt: '2026-11-22T00:00:00.000Z',
    submittedAt: null,
    error: null,
    ...overrides,
  };
}

function record(id: string, state: DecisionRecord['state'], createdAt: string): DecisionRecord {
  return {
    id,
    push: { repository: 'acme', repositoryUrl: 'https://example.com/acme', rev: 'a'.repeat(40), ref: 'refs/heads/main', level: 3, pullRequest: false, owner: null },
    taskGroupId: 'group',
    state,
    dryRun: false,
    images: [
      {
        name: 'base',
        decision: 'build',
        reason: 'r',
        facts: [{ path: 'p', outcome: 'not-indexed' }],
        taskId: 't',
        parentTaskId: null,
        contextHash: 'c',
        digest: 'd',
        artifactUrl: null,
      },
    ],
    createdAt,
    decidedAt: null,
    error: null,
  };
}

/** The behaviour every DecisionStore keeps; each implementation's test file runs it. */
export function storeContract(name: string, open: () => DecisionStore | Promise<DecisionStore>): void {
  describe(`decision store contract: ${name}`, () => {
    it('stores a planned task and gives it back whole', async () => {
      const store = await open();
      const task = planned({ digest: uniqueDigest() });
      assert.deepEqual(await store.planTask(task, { reuse: true }), { planned: true, task });
      assert.deepEqual(await store.getTask(task.taskId), task);
      assert.equal(await store.getTask('nope'), null);
      assert.deepEqual(
        (await store.tasksOfDecision('decision-1')).find((t) => t.taskId === task.taskId),
        task,
      );
    });

    it('reuses an active build at the same or a higher level, never a lower one', async () => {
      const store = await open();
      const digest = uniqueDigest();
      const level2 = planned({ digest, level: 2 });
      await store.planTask(level2, { reuse: true });
      const again = await store.planTask(planned({ digest, level: 2 }), { reuse: true });
      assert.equal(again.planned, false);
      assert.equal(!again.planned && again.existing.taskId, level2.taskId);
      assert.equal((await store.findActiveBuild({ digest, level: 1, pullRequest: false }))?.taskId, level2.taskId);
      assert.equal(await store.findActiveBuild({ digest, level: 3, pullRequest: false }), null);
      const level3 = planned({ digest, level: 3 });
      assert.equal((await store.planTask(level3, { reuse: true })).planned, true);
      assert.equal((await store.findActiveBuild({ digest, level: 1, pullRequest: false }))?.taskId, level3.taskId, 'highest level first');
    });

    it('a pull-request build serves pull requests only; a forced plan ignores active builds', async () => {
      const store = await open();
      const digest = uniqueDigest();
      const pr = planned({ digest, level: 1, pullRequest: true });
      await store.planTask(pr, { reuse: true });
      assert.equal((await store.findActiveBuild({ digest, level: 1, pullRequest: true }))?.taskId, pr.taskId);
      assert.equal(await store.findActiveBuild({ digest, level: 1, pullRequest: false }), null);
      assert.equal((await store.planTask(planned({ digest, level: 1, pullRequest: true }), { reuse: false })).planned, true);
    });

    it('of many concurrent plans for one build, exactly one is stored', async () => {
      const store = await open();
      const digest = uniqueDigest();
      const results = await Promise.all(Array.from({ length: 12 }, () => store.planTask(planned({ digest }), { reuse: true })));
      const winners = results.filter((r) => r.planned);
      assert.equal(winners.length, 1);
      const winner = winners[0]!.planned ? winners[0]!.task.taskId : '';
      for (const r of results) if (!r.planned) assert.equal(r.existing.taskId, winner);
    });

    it('tracks submission, re-rendering, refusal and the end of a build', async () => {
      const store = await open();
      const digest = uniqueDigest();
      const task = planned({ digest });
      await store.planTask(task, { reuse: true });
      const fresh = { ...task.definition, created: '2026-11-22T01:00:00.000Z' };
      await store.replaceDefinition(task.taskId, fresh);
      assert.deepEqual((await store.getTask(task.taskId))!.definition, fresh);
      await store.markSubmitted(task.taskId, '2026-11-22T01:00:01.000Z');
      const submitted = (await store.getTask(task.taskId))!;
      assert.equal(submitted.state, 'submitted');
      assert.equal(submitted.submittedAt, '2026-11-22T01:00:01.000Z');
      await assert.rejects(store.replaceDefinition(task.taskId, task.definition));
      await store.deactivate(task.taskId);
      assert.equal(await store.findActiveBuild({ digest, level: 3, pullRequest: false }), null);

      const refused = planned({ digest });
      await store.planTask(refused, { reuse: true });
      await store.markRejected(refused.taskId, { code: 'taskcluster-rejected', message: 'no scopes' });
      const after = (await store.getTask(refused.taskId))!;
      assert.deepEqual([after.state, after.active, after.error], ['rejected', false, { code: 'taskcluster-rejected', message: 'no scopes' }]);
      assert.equal(await store.findActiveBuild({ digest, level: 3, pullRequest: false }), null);
    });

    it('saves decisions, replaces them, and lists the unfinished ones oldest first', async () => {
      const store = await open();
      const stamp = `${++counter}`.padStart(6, '0');
      const [a, b, c] = [`a-${stamp}`, `b-${stamp}`, `c-${stamp}`];
      await store.saveDecision(record(b, 'planned', `2026-11-22T00:00:02.${stamp.slice(-3)}Z`));
      await store.saveDecision(record(a, 'planned', `2026-11-22T00:00:01.${stamp.slice(-3)}Z`));
      await store.saveDecision(record(c, 'planned', `2026-11-22T00:00:03.${stamp.slice(-3)}Z`));
      assert.deepEqual(await store.getDecision(a), record(a, 'planned', `2026-11-22T00:00:01.${stamp.slice(-3)}Z`));
      await store.saveDecision({ ...record(c, 'decided', `2026-11-22T00:00:03.${stamp.slice(-3)}Z`), decidedAt: '2026-11-22T00:00:04.000Z' });
      assert.equal((await store.getDecision(c))!.state, 'decided');
      const unfinished = (await store.unfinishedDecisions()).map((d) => d.id).filter((id) => id.endsWith(stamp));
      assert.deepEqual(unfinished, [a, b]);
      assert.equal(await store.getDecision('missing'), null);
    });
  });
}
