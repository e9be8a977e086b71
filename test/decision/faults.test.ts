import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Decider } from '../../src/decision/decider.ts';
import { DEFAULT_DECISION_SETTINGS } from '../../src/decision/settings.ts';
import { TaskTemplate } from '../../src/decision/template.ts';
import { newTaskId } from '../../src/taskcluster/client.ts';
import { ALL_BUILD, ALL_INDEXED, PUBLIC_URL, byName, decisionsOf, suiteHarnesses } from '../support/decision.ts';
import { tempDir } from '../support/temp.ts';

const MINUTE = 60_000;

describe('faults, crashes and modes', () => {
  const start = suiteHarnesses();

  it('a Queue answering 500 to its first calls: the decision completes with no duplicate task', async () => {
    const h = await start();
    h.fake.failNext(3, { names: ['createTask'] });
    const record = await h.decide();
    assert.deepEqual(decisionsOf(record), ALL_BUILD);
    assert.equal(h.fake.services.tasks.size, 5);
    assert.equal(h.fake.count('createTask'), 8);
  });

  it('a Queue down for longer than the client retries: the decision stays planned, then completes when resumed', async () => {
    const h = await start({ retries: 1 });
    h.fake.failNext(20, { names: ['createTask'] });
    await assert.rejects(h.decide(), { code: 'taskcluster-unavailable' });
    const [pending] = await h.store.unfinishedDecisions();
    assert.equal(pending?.state, 'planned');
    h.fake.clearFaults();
    const resumed = await h.decider.submit(pending!);
    assert.equal(resumed.state, 'decided');
    assert.deepEqual(decisionsOf(resumed), ALL_BUILD);
    assert.equal(h.fake.services.tasks.size, 5);
    assert.deepEqual(await h.store.unfinishedDecisions(), []);
  });

  it('an Index that is down fails the decision before anything is stored', async () => {
    const h = await start({ retries: 1 });
    h.fake.failNext(20, { names: ['findTasksAtIndex'] });
    await assert.rejects(h.decide(), { code: 'taskcluster-unavailable' });
    assert.deepEqual(await h.store.unfinishedDecisions(), []);
    assert.equal(h.fake.count('createTask'), 0);
  });

  it('a crash between storing the plan and createTask, resumed 20 minutes later: each task created exactly once', async () => {
    const h = await start();
    const planned = await h.decider.plan(await h.request());
    assert.equal(h.fake.count('createTask'), 0);
    // The crashed process had sent one task before it died.
    const sent = (await h.store.getTask(byName(planned).get('base')!.taskId!))!;
    await h.taskcluster!.queue.createTask(sent.taskId, sent.definition);

    h.fake.clockOffsetMs += 20 * MINUTE;
    const resumed = await h.decider.submit(planned);
    assert.deepEqual(decisionsOf(resumed), ALL_BUILD);
    assert.equal(h.fake.services.tasks.size, 5);
    assert.equal(h.fake.count('createTask'), 5, 'one createTask per task, none refused');
    assert.deepEqual(h.fake.services.tasks.get(sent.taskId)!.submitted, sent.definition);
    for (const task of h.fake.services.tasks.values()) {
      if (task.taskId === sent.taskId) continue;
      assert.ok(Math.abs(Date.parse(task.definition.created as string) - h.fake.now()) < MINUTE, 're-rendered with fresh times');
    }
    const python = h.fake.services.tasks.get(byName(resumed).get('python')!.taskId!)!;
    assert.deepEqual(python.definition.dependencies, [sent.taskId]);
  });

  it('a Queue refusing a task (400, also when rendered afresh): that image is in error with the message, its descendants blocked', async () => {
    const h = await start();
    // base and standalone: each refused as stored, then once more re-rendered.
    h.fake.failNext(4, { status: 400, names: ['createTask'] });
    const record = byName(await h.decide());
    assert.equal(record.get('base')!.decision, 'error');
    assert.equal(record.get('base')!.error!.code, 'taskcluster-rejected');
    assert.match(record.get('base')!.reason, /refused/);
    for (const child of ['python', 'node-tools', 'lint']) assert.equal(record.get(child)!.decision, 'blocked', child);
    assert.equal(record.get('standalone')!.decision, 'error');
    assert.equal(h.fake.services.tasks.size, 0);
    // Refused plans are not mistaken for builds in flight.
    assert.deepEqual(decisionsOf(await h.decide()), ALL_BUILD);
  });

  it('a deployment without findTasksAtIndex is looked up path by path', async () => {
    const h = await start();
    h.fake.batchLookups = false;
    await h.decide({ level: 1 });
    h.completeAll();
    assert.deepEqual(decisionsOf(await h.decide({ level: 1 })), ALL_INDEXED);
    assert.ok(h.fake.count('findTask') >= 15);
  });

  it('dry run: no Index or Queue call; every image a build with its rendered definition', async () => {
    const h = await start({ dryRun: true });
    const record = await h.decide();
    assert.equal(h.fake.requests.length, 0);
    assert.equal(record.state, 'decided');
    assert.deepEqual(decisionsOf(record), ALL_BUILD);
    const python = byName(record).get('python')!;
    assert.equal(python.dryRun, true);
    assert.deepEqual(python.definition!.dependencies, [byName(record).get('base')!.taskId]);
    assert.deepEqual(await h.store.tasksOfDecision(record.id), []);
  });

  it('settings that would make invalid tasks fail when the decider is made, not at a push', async () => {
    const h = await start({ dryRun: true });
    const settings = { ...DEFAULT_DECISION_SETTINGS, publicUrl: PUBLIC_URL };
    const make = (overrides: Partial<typeof settings>) => () =>
      new Decider({ taskcluster: null, store: h.store, template: h.template, settings: { ...settings, ...overrides }, newId: newTaskId });
    assert.doesNotThrow(make({}));
    assert.throws(make({ deadlineMinutes: 6 * 24 * 60 }), { code: 'bad-template', message: /5 days/ });
    assert.throws(make({ taskQueueId: 'no slash here' }), { code: 'bad-template', message: /taskQueueId/ });
    assert.throws(make({ owner: 'not an email' }), { code: 'bad-template', message: /owner/ });
  });

  it('a template that renders an invalid task fails when loaded, naming the problem', async () => {
    const dir = await tempDir();
    const cases: Array<[file: string, template: string, problem: RegExp]> = [
      ['no-metadata.yml', 'created: {$eval: created}\ndeadline: {$eval: deadline}\ntaskQueueId: a/b\npayload: {}\n', /required property 'metadata'/],
      [
        'extra-field.yml',
        'created: {$eval: created}\ndeadline: {$eval: deadline}\ntaskQueueId: a/b\npayload: {}\nfoo: 1\nmetadata: {name: n, description: d, owner: a@b.c, source: "https://x"}\n',
        /additional properties/,
      ],
      ['bad-expression.yml', 'created: {$eval: nothere.at.all}\n', /nothere/],
    ];
    for (const [file, text, problem] of cases) {
      await writeFile(join(dir, file), text);
      await assert.rejects(TaskTemplate.load(join(dir, file)), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'bad-template');
        assert.match(err.message, problem);
        return true;
      });
    }
  });
});
