import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ALL_INDEXED, type DecisionHarness, type HarnessOptions, byName, decisionsOf, suiteHarnesses } from '../support/decision.ts';
import { commitAll } from '../support/vectors.ts';

const LOOKUPS = new Set(['findTasksAtIndex', 'findTask', 'statuses', 'status', 'listLatestArtifacts']);

describe('lookups started before the graph is built', () => {
  const harness = suiteHarnesses();
  const start = async (options?: HarnessOptions) => {
    const h = await harness(options);
    await h.decide();
    h.completeAll();
    return h;
  };

  /** Names of the lookup requests made while `fn` runs. */
  const lookupsDuring = async <T>(h: DecisionHarness, fn: () => Promise<T>): Promise<[T, string[]]> => {
    const before = h.fake.requests.length;
    const result = await fn();
    return [
      result,
      h.fake.requests
        .slice(before)
        .map((r) => r.name)
        .filter((n) => LOOKUPS.has(n)),
    ];
  };

  it('a push that changes no image is decided from the look-ahead: two rounds before the graph, no lookup after it', async () => {
    const h = await start();
    const [snapshot, ahead] = await lookupsDuring(h, async () => h.decider.lookAhead(3, false)!.snapshot);
    assert.ok(snapshot);
    assert.deepEqual(ahead.sort(), ['findTasksAtIndex', ...Array(5).fill('listLatestArtifacts'), 'statuses']);

    const prefetch = h.decider.lookAhead(3, false);
    await prefetch!.snapshot;
    const [record, after] = await lookupsDuring(h, async () => h.decider.decide({ ...(await h.request()), prefetch }));
    assert.deepEqual(decisionsOf(record), ALL_INDEXED);
    assert.deepEqual(after, []);
    assert.equal(byName(record).get('base')!.facts.at(-1)!.outcome, 'hit');
  });

  it("a completed run's artifacts are listed once; after a rerun they are listed again", async () => {
    const h = await start();
    const lookAhead = () => lookupsDuring(h, async () => h.decider.lookAhead(3, false)!.snapshot);
    const [, first] = await lookAhead();
    assert.deepEqual(first.sort(), ['findTasksAtIndex', ...Array(5).fill('listLatestArtifacts'), 'statuses']);
    const [, second] = await lookAhead();
    assert.deepEqual(second.sort(), ['findTasksAtIndex', 'statuses']);

    const python = byName(await h.decide()).get('python')!.taskId!;
    h.fake.services.rerun(python);
    const [snapshot, third] = await lookAhead();
    assert.deepEqual(third.sort(), ['findTasksAtIndex', 'listLatestArtifacts', 'statuses']);
    assert.deepEqual(snapshot!.tasks.get(python)!.artifacts, [], "the new run's artifacts, not the remembered run's");
    h.fake.services.complete(python);
    const [, fourth] = await lookAhead();
    assert.deepEqual(fourth.sort(), ['findTasksAtIndex', 'listLatestArtifacts', 'statuses']);
    const [, fifth] = await lookAhead();
    assert.deepEqual(fifth.sort(), ['findTasksAtIndex', 'statuses']);
  });

  it('only the paths the look-ahead did not ask about are looked up; the changed image is rebuilt', async () => {
    const h = await start();
    await writeFile(join(h.dir, 'taskcluster/docker/standalone/added.txt'), 'new in the context\n');
    commitAll(h.dir, 'change standalone');
    const prefetch = h.decider.lookAhead(3, false);
    await prefetch!.snapshot;
    const [record, after] = await lookupsDuring(h, async () => h.decider.decide({ ...(await h.request()), prefetch }));
    assert.deepEqual(decisionsOf(record), { ...ALL_INDEXED, standalone: 'build' });
    // The one new path, not indexed: no task to ask the Queue about.
    assert.deepEqual(after, ['findTasksAtIndex']);
    assert.match(byName(record).get('standalone')!.reason, /not indexed/);
  });

  it('a task that failed since it was indexed is seen by the look-ahead and rebuilt', async () => {
    const h = await start();
    h.fake.services.fail(byName(await h.decide()).get('python')!.taskId!);
    const prefetch = h.decider.lookAhead(3, false);
    const record = await h.decider.decide({ ...(await h.request()), prefetch });
    assert.deepEqual(decisionsOf(record), { ...ALL_INDEXED, python: 'build' });
    assert.equal(byName(record).get('python')!.facts[0]!.outcome, 'failed');
  });

  it('a look-ahead that failed costs the push nothing: the plan looks everything up itself', async () => {
    const h = await start({ retries: 0 });
    h.fake.failNext(1, { names: ['findTasksAtIndex'] });
    const prefetch = h.decider.lookAhead(3, false);
    assert.equal(await prefetch!.snapshot, null);
    const [record, after] = await lookupsDuring(h, async () => h.decider.decide({ ...(await h.request()), prefetch }));
    assert.deepEqual(decisionsOf(record), ALL_INDEXED);
    assert.equal(after.filter((n) => n === 'findTasksAtIndex').length, 1);
    assert.equal(after.filter((n) => n === 'statuses').length, 1);
  });

  it('none before a plan at the same level, and none in a dry run', async () => {
    const h = await start();
    assert.equal(h.decider.lookAhead(1, false), null);
    assert.equal(h.decider.lookAhead(3, true), null);
    const dry = await start({ dryRun: true });
    assert.equal(dry.decider.lookAhead(3, false), null);
  });
});
