import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TEST_CLIENT_SCOPES } from '../support/fake-taskcluster/server.ts';
import { ALL_BUILD, byName, decisionsOf, suiteHarnesses } from '../support/decision.ts';

const MINUTE = 60_000;

/** Decisions against a Queue and Index that keep the real rules (issue 13). */
describe('deciding under the real Queue’s rules', () => {
  const start = suiteHarnesses();

  it('a 10-minute deadline after a 10.5-minute Queue outage: the plans are re-rendered, no image is in error', async () => {
    const h = await start({ retries: 1, settings: { deadlineMinutes: 10 } });
    h.fake.failNext(1000, { status: 502, names: ['createTask'] });
    const planned = await h.decider.plan(await h.request());
    await assert.rejects(h.decider.submit(planned), { code: 'taskcluster-unavailable' });
    h.fake.clearFaults();
    h.fake.clockOffsetMs += 10.5 * MINUTE;
    const record = await h.decider.submit(planned);
    assert.deepEqual(decisionsOf(record), ALL_BUILD);
    assert.equal(h.fake.services.tasks.size, 5);
    for (const task of h.fake.services.tasks.values()) {
      assert.ok(Date.parse(task.definition.deadline as string) > h.fake.now(), 'sent with a deadline ahead');
    }
  });

  it('a stored definition the Queue refuses is sent again rendered afresh before the refusal counts', async () => {
    const h = await start();
    const planned = await h.decider.plan(await h.request());
    // One refusal of base's stored definition, as the Queue answers a stale one.
    h.fake.failNext(1, { status: 400, names: ['createTask'] });
    const record = await h.decider.submit(planned);
    assert.deepEqual(decisionsOf(record), ALL_BUILD);
    assert.equal(h.fake.services.tasks.size, 5);
  });

  it('missing scopes for createTask: the decision stays planned (no image error); once granted it completes', async () => {
    const h = await start();
    h.fake.clients.set(
      'tester',
      TEST_CLIENT_SCOPES.filter((s) => s !== 'queue:route:index.acme.*'),
    );
    const planned = await h.decider.plan(await h.request());
    await assert.rejects(h.decider.submit(planned), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'insufficient-scopes');
      assert.match(err.message, /queue:route:index\.acme\.cache\.level-3\.docker-images\.v2\./);
      return true;
    });
    assert.equal((await h.store.getDecision(planned.id))!.state, 'planned');
    h.fake.clients.delete('tester');
    assert.deepEqual(decisionsOf(await h.decider.submit(planned)), ALL_BUILD);
  });

  it('missing scopes for the lookups: the decision fails with insufficient-scopes before anything is stored', async () => {
    const h = await start();
    h.fake.clients.set(
      'tester',
      TEST_CLIENT_SCOPES.filter((s) => !s.startsWith('index:find-task:')),
    );
    await assert.rejects(h.decide(), { code: 'insufficient-scopes', message: /index:find-task:acme\.cache\.level-3\./ });
    assert.deepEqual(await h.store.unfinishedDecisions(), []);
    assert.equal(h.fake.count('createTask'), 0);
  });

  it('a build in flight whose task expires before the new deadline is not joined: a miss with its reason', async () => {
    const h = await start();
    const first = byName(await h.decide());
    const base = first.get('base')!.taskId!;
    h.fake.services.setExpires(base, new Date(h.fake.now() + 60 * MINUTE).toISOString());
    const second = byName(await h.decide());
    const decision = second.get('base')!;
    assert.equal(decision.decision, 'build');
    assert.notEqual(decision.taskId, base);
    assert.ok(
      decision.facts.some((f) => f.outcome === 'expires-too-soon' && f.taskId === base),
      JSON.stringify(decision.facts),
    );
    // Its descendants depend on the new task, which the Queue accepts.
    const python = h.fake.services.tasks.get(second.get('python')!.taskId!);
    if (second.get('python')!.decision === 'build') assert.deepEqual(python!.definition.dependencies, [decision.taskId]);
  });

  it('an expired index entry (which findTasksAtIndex still answers) is a miss', async () => {
    const h = await start();
    await h.decide();
    h.completeAll();
    const indexed = await h.decide({ level: 3 });
    assert.equal(byName(indexed).get('base')!.decision, 'indexed');
    const path = byName(indexed)
      .get('base')!
      .facts.find((f) => f.outcome === 'hit')!.path;
    const entry = h.fake.services.storedEntry(path)!;
    entry.expires = new Date(h.fake.now() - 1000).toISOString();
    const facts = byName(await h.decider.plan(await h.request({ force: undefined }))).get('base')!.facts;
    assert.equal(facts.find((f) => f.path === path)!.outcome, 'not-indexed');
  });
});
