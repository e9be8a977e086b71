import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import taskcluster from 'taskcluster-client';
import { createTaskcluster, newTaskId } from '../../src/taskcluster/client.ts';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';

const HOUR = 3600_000;
interface ClientError {
  statusCode?: number;
  code?: string;
  message: string;
}

/** The rules the fake keeps, as the real services do, seen through the real client. */
describe('the fake Taskcluster keeps the real services’ rules', () => {
  let fake: FakeTaskcluster;
  const client = (clientId: string | null) => {
    const options = { rootUrl: fake.rootUrl, retries: 0, ...(clientId ? { credentials: { clientId, accessToken: 'token' } } : {}) };
    return { queue: new taskcluster.Queue(options), index: new taskcluster.Index(options), auth: new taskcluster.Auth(options) };
  };
  const refusal = async (promise: Promise<unknown>): Promise<ClientError> => {
    const err = (await promise.then(
      () => null,
      (e: unknown) => e,
    )) as ClientError | null;
    assert.ok(err, 'expected the call to fail');
    return err;
  };
  const definition = (overrides: Record<string, unknown> = {}) => {
    const now = fake.now();
    return {
      taskQueueId: 'acme-3/images',
      schedulerId: 'acme-level-3',
      priority: 'low',
      created: new Date(now).toISOString(),
      deadline: new Date(now + HOUR).toISOString(),
      payload: {},
      metadata: { name: 'n', description: 'd', owner: 'a@example.com', source: 'https://example.com/acme' },
      routes: ['index.acme.cache.level-3.docker-images.v2.base.latest'],
      ...overrides,
    };
  };

  before(async () => {
    fake = await FakeTaskcluster.start();
  });
  beforeEach(() => {
    fake.clearFaults();
    fake.clients.clear();
  });
  after(() => fake.close());

  it('scopes on every call: 403 InsufficientScopes naming the missing scope', async () => {
    const { queue, index } = client('narrow');
    fake.clients.set('narrow', []);
    const taskId = newTaskId();
    fake.services.createTask(taskId, definition());
    const calls: Array<[string, () => Promise<unknown>]> = [
      [`index:find-task:acme.x`, () => index.findTask('acme.x')],
      [`index:find-task:acme.y`, () => index.findTasksAtIndex({ indexes: ['acme.y'] })],
      [`queue:status:${taskId}`, () => queue.status(taskId)],
      [`queue:status:${taskId}`, () => queue.statuses({ taskIds: [taskId] })],
      [`queue:list-artifacts:${taskId}`, () => queue.listLatestArtifacts(taskId)],
      [`queue:get-task:${taskId}`, () => queue.task(taskId)],
      [`index:insert-task:acme.z`, () => index.insertTask('acme.z', { taskId, rank: 0, data: {}, expires: new Date(fake.now() + HOUR).toISOString() })],
    ];
    for (const [scope, call] of calls) {
      const err = await refusal(call());
      assert.deepEqual([err.statusCode, err.code], [403, 'InsufficientScopes'], scope);
      assert.ok(err.message.includes(scope), `${scope} in: ${err.message}`);
    }
  });

  it('createTask needs the priority (or a higher one), project, scheduler id and every route scope; unsigned requests hold the anonymous role', async () => {
    const all = [
      'queue:create-task:low:acme-3/images',
      'queue:create-task:project:none',
      'queue:scheduler-id:acme-level-3',
      'queue:route:index.acme.cache.level-3.docker-images.v2.base.latest',
    ];
    for (const lacking of all) {
      fake.clients.set(
        'partial',
        all.filter((s) => s !== lacking),
      );
      const err = await refusal(client('partial').queue.createTask(newTaskId(), definition()));
      assert.deepEqual([err.statusCode, err.code], [403, 'InsufficientScopes'], lacking);
      assert.ok(err.message.includes(lacking), lacking);
    }
    fake.clients.set('higher', ['queue:create-task:high:acme-3/images', ...all.slice(1)]);
    await client('higher').queue.createTask(newTaskId(), definition());
    fake.clients.set('lower', ['queue:create-task:lowest:acme-3/images', ...all.slice(1)]);
    assert.equal((await refusal(client('lower').queue.createTask(newTaskId(), definition()))).code, 'InsufficientScopes');
    assert.match((await refusal(client(null).index.findTask('acme.x'))).message, /Client ID anonymous .*\n\n```\nindex:find-task:acme.x\n```/);
  });

  it('auth: currentScopes answers the expanded scopes; expandScopes expands roles', async () => {
    fake.roles.set('repo:acme', ['queue:status:*']);
    fake.clients.set('roles', ['assume:repo:acme', 'index:find-task:acme.*']);
    const { auth } = client('roles');
    assert.deepEqual(((await auth.currentScopes()) as { scopes: string[] }).scopes, ['assume:repo:acme', 'index:find-task:acme.*', 'queue:status:*']);
    assert.deepEqual(((await auth.expandScopes({ scopes: ['assume:repo:*'] })) as { scopes: string[] }).scopes, ['assume:repo:*', 'queue:status:*']);
    assert.deepEqual(((await client(null).auth.currentScopes()) as { scopes: string[] }).scopes, ['assume:anonymous']);
  });

  it('a deadline in the past: 400', async () => {
    const now = fake.now();
    const err = await refusal(
      client('any').queue.createTask(newTaskId(), definition({ created: new Date(now - 11 * 60_000).toISOString(), deadline: new Date(now - 60_000).toISOString() })),
    );
    assert.deepEqual([err.statusCode, err.code], [400, 'InputError']);
    assert.match(err.message, /deadline. cannot be in the past/);
  });

  it('a dependency whose task expires before the new deadline: 400', async () => {
    const parent = newTaskId();
    fake.services.createTask(parent, definition({ expires: new Date(fake.now() + 2 * HOUR).toISOString() }));
    const err = await refusal(client('any').queue.createTask(newTaskId(), definition({ dependencies: [parent], deadline: new Date(fake.now() + 3 * HOUR).toISOString() })));
    assert.deepEqual([err.statusCode, err.code], [400, 'InputError']);
    assert.match(err.message, /expires before/);
    await client('any').queue.createTask(newTaskId(), definition({ dependencies: [parent] }));
  });

  it('a task group reused with another schedulerId: 409', async () => {
    const group = newTaskId();
    await client('any').queue.createTask(newTaskId(), definition({ taskGroupId: group }));
    const err = await refusal(client('any').queue.createTask(newTaskId(), definition({ taskGroupId: group, schedulerId: 'acme-level-1', taskQueueId: 'acme-1/images' })));
    assert.deepEqual([err.statusCode, err.code], [409, 'RequestConflict']);
    assert.match(err.message, /schedulerId/);
  });

  it('findTasksAtIndex answers expired entries, while findTask answers 404', async () => {
    fake.services.insert('acme.expired', { taskId: newTaskId(), rank: 0, data: {}, expires: new Date(fake.now() - 1000).toISOString() });
    const { index } = client('any');
    assert.equal((await refusal(index.findTask('acme.expired'))).statusCode, 404);
    const found = (await index.findTasksAtIndex({ indexes: ['acme.expired'] })) as { tasks: Array<{ namespace: string }> };
    assert.deepEqual(
      found.tasks.map((t) => t.namespace),
      ['acme.expired'],
    );
  });

  it('listLatestArtifacts of a task with no run: 404', async () => {
    const parent = newTaskId();
    const child = newTaskId();
    fake.services.createTask(parent, definition());
    fake.services.createTask(child, definition({ dependencies: [parent] }));
    assert.equal(fake.services.tasks.get(child)!.state, 'unscheduled');
    const err = await refusal(client('any').queue.listLatestArtifacts(child));
    assert.deepEqual([err.statusCode, err.code], [404, 'ResourceNotFound']);
    assert.deepEqual(await client('any').queue.listLatestArtifacts(parent), { artifacts: [] });
  });

  it('an outage is a 502 with a non-JSON body: the client retries it, then reports taskcluster-unavailable', async () => {
    fake.failNext(1, { status: 502 });
    const err = await refusal(client('any').queue.status(newTaskId()));
    assert.equal(err.statusCode, 502);
    assert.equal(err.code, 'UnknownError', 'no JSON body to read a code from');
    const tc = createTaskcluster({ rootUrl: fake.rootUrl, clientId: 'any', accessToken: 't', retries: 2, delayFactorMs: 1 });
    fake.failNext(2, { status: 502 });
    assert.equal(await tc.queue.status(newTaskId()), null, 'retried past two 502s');
    fake.failNext(3, { status: 502 });
    assert.equal((await refusal(tc.queue.status(newTaskId()))).code, 'taskcluster-unavailable');
  });
});
