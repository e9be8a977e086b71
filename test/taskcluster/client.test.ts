import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createTaskcluster, newTaskId, taskclusterOptionsFromEnv } from '../../src/taskcluster/client.ts';
import type { TaskDefinition, Taskcluster } from '../../src/taskcluster/types.ts';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';

const HOUR = 3600_000;

describe('the Taskcluster client against the fake Queue and Index', () => {
  let fake: FakeTaskcluster;
  let tc: Taskcluster;

  const definition = (overrides: Record<string, unknown> = {}): TaskDefinition => {
    const now = fake.now();
    return {
      taskQueueId: 'acme-3/images',
      created: new Date(now).toISOString(),
      deadline: new Date(now + HOUR).toISOString(),
      payload: {},
      metadata: { name: 'n', description: 'd', owner: 'a@example.com', source: 'https://example.com/acme' },
      routes: ['index.acme.test.route'],
      ...overrides,
    };
  };
  const refusal = async (promise: Promise<unknown>) => {
    const err = (await promise.then(
      () => null,
      (e: unknown) => e,
    )) as { code: string; message: string } | null;
    assert.ok(err, 'expected the call to fail');
    return err;
  };

  before(async () => {
    fake = await FakeTaskcluster.start();
    tc = createTaskcluster({ rootUrl: fake.rootUrl, clientId: 'tester', accessToken: 'secret-token', retries: 2, delayFactorMs: 1 });
  });
  beforeEach(() => {
    fake.clearFaults();
    fake.clockOffsetMs = 0;
  });
  after(() => fake.close());

  it('reads its settings from the standard variables; no root URL means dry run', () => {
    assert.equal(taskclusterOptionsFromEnv({}), null);
    assert.deepEqual(taskclusterOptionsFromEnv({ TASKCLUSTER_ROOT_URL: 'https://tc.example', TASKCLUSTER_CLIENT_ID: 'c', TASKCLUSTER_ACCESS_TOKEN: 't' }), {
      rootUrl: 'https://tc.example',
      clientId: 'c',
      accessToken: 't',
    });
  });

  it('createTask is idempotent for an identical definition, a conflict otherwise; requests are signed', async () => {
    const id = newTaskId();
    const def = definition();
    assert.equal((await tc.queue.createTask(id, def)).state, 'pending');
    assert.equal((await tc.queue.createTask(id, def)).taskId, id);
    assert.equal((await refusal(tc.queue.createTask(id, definition({ priority: 'lowest' })))).code, 'taskcluster-conflict');
    assert.ok(fake.requests.every((r) => r.signed));
  });

  it('the Queue refuses what the real one refuses, with our rejected code', async () => {
    const now = fake.now();
    const cases: Array<[string, TaskDefinition, RegExp]> = [
      ['stale created', definition({ created: new Date(now - 16 * 60_000).toISOString() }), /15 minutes/],
      ['deadline too far', definition({ deadline: new Date(now + 6 * 24 * HOUR).toISOString() }), /5 days/],
      ['unknown field', definition({ colour: 'blue' }), /additional properties/],
      ['no queue', { ...definition(), taskQueueId: undefined }, /taskQueueId/],
      ['missing dependency', definition({ dependencies: [newTaskId()] }), /dependencies do not exist/],
      ['bad source', definition({ metadata: { name: 'n', description: 'd', owner: 'o', source: 'file:///x' } }), /source/],
    ];
    for (const [label, def, message] of cases) {
      const err = await refusal(tc.queue.createTask(newTaskId(), def));
      assert.equal(err.code, 'taskcluster-rejected', label);
      assert.match(err.message, message, label);
    }
  });

  it('an identical re-create more than 15 minutes later is refused before the comparison', async () => {
    const id = newTaskId();
    const def = definition();
    await tc.queue.createTask(id, def);
    fake.clockOffsetMs = 20 * 60_000;
    assert.match((await refusal(tc.queue.createTask(id, def))).message, /15 minutes/);
    assert.equal((await tc.queue.status(id))!.taskId, id);
  });

  it('retries 5xx answers, and reports an outage as taskcluster-unavailable', async () => {
    fake.failNext(2, { names: ['status'] });
    assert.equal(await tc.queue.status(newTaskId()), null);
    fake.failNext(3, { names: ['status'] });
    assert.equal((await refusal(tc.queue.status(newTaskId()))).code, 'taskcluster-unavailable');
  });

  it('a completed task is indexed at its routes; artifacts list with expiry; unknown things are null', async () => {
    const id = newTaskId();
    await tc.queue.createTask(id, definition({ routes: ['index.acme.done.one'], extra: { index: { rank: 7 } } }));
    assert.equal(await tc.index.findTask('acme.done.one'), null);
    fake.services.complete(id);
    const entry = await tc.index.findTask('acme.done.one');
    assert.deepEqual([entry?.taskId, entry?.rank], [id, 7]);
    const [artifact] = await tc.queue.listLatestArtifacts(id);
    assert.equal(artifact!.name, 'public/image.tar.zst');
    assert.equal(tc.queue.artifactUrl(id, 'public/image.tar.zst'), `${fake.rootUrl}/api/queue/v1/task/${id}/artifacts/public%2Fimage.tar.zst`);
    assert.equal(await tc.queue.task(newTaskId()), null);
  });

  it('insertTask keeps the higher rank; batched lookups page and fall back where the route is missing', async () => {
    const expires = new Date(fake.now() + HOUR).toISOString();
    await tc.index.insertTask('acme.rank', { taskId: 'high', rank: 10, data: {}, expires });
    await tc.index.insertTask('acme.rank', { taskId: 'low', rank: 5, data: {}, expires });
    assert.equal((await tc.index.findTask('acme.rank'))!.taskId, 'high');

    const paths = Array.from({ length: 1500 }, (_, i) => `acme.many.p${i}`);
    for (const p of paths.filter((_, i) => i % 2 === 0)) fake.services.insert(p, { taskId: 'x', rank: 0, data: {}, expires });
    const before = fake.count('findTasksAtIndex');
    assert.equal((await tc.index.findTasks(paths)).size, 750);
    assert.equal(fake.count('findTasksAtIndex') - before, 1, '750 found fit in one page');

    const other = createTaskcluster({ rootUrl: fake.rootUrl, retries: 0 });
    fake.batchLookups = false;
    fake.roles.set('anonymous', ['index:find-task:acme.*']);
    try {
      const found = await other.index.findTasks(['acme.rank', 'acme.none']);
      assert.deepEqual([...found.keys()], ['acme.rank']);
      await other.index.findTasks(['acme.rank']);
      assert.equal(fake.requests.filter((r) => r.name === 'findTasksAtIndex' && !r.signed).length, 1, 'the missing route is asked once');
    } finally {
      fake.batchLookups = true;
      fake.roles.set('anonymous', []);
    }
  });

  it('statuses: one request for many tasks, unknown ids left out; paged; one status each where the route is missing', async () => {
    const ids = Array.from({ length: 1001 }, () => newTaskId());
    for (const id of ids) fake.services.createTask(id, definition());
    fake.services.fail(ids[0]!);
    const unknown = newTaskId();
    const before = fake.count('statuses');
    const found = await tc.queue.statuses([...ids, unknown, ids[1]!]);
    assert.equal(found.size, 1001);
    assert.equal(found.has(unknown), false);
    assert.deepEqual([found.get(ids[0]!)!.state, found.get(ids[1]!)!.state, found.get(ids[1]!)!.taskId], ['failed', 'pending', ids[1]]);
    assert.equal(fake.count('statuses') - before, 2, '1,001 statuses take two pages of 1,000');

    const other = createTaskcluster({ rootUrl: fake.rootUrl, retries: 0 });
    fake.batchStatuses = false;
    fake.roles.set('anonymous', ['queue:status:*']);
    try {
      const statusesBefore = fake.count('status');
      const one = await other.queue.statuses([ids[0]!, unknown]);
      assert.deepEqual([...one.keys()], [ids[0]]);
      assert.equal(one.get(ids[0]!)!.state, 'failed');
      await other.queue.statuses([ids[1]!]);
      assert.equal(fake.count('status') - statusesBefore, 3);
      assert.equal(fake.requests.filter((r) => r.name === 'statuses' && !r.signed).length, 1, 'the missing route is asked once');
    } finally {
      fake.batchStatuses = true;
      fake.roles.set('anonymous', []);
    }
  });
});
