import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DecisionRecord } from '../../src/domain/index.ts';
import { ALL_BUILD, ALL_INDEXED, DecisionHarness, PUBLIC_URL, byName, decisionsOf } from '../support/decision.ts';
import { commitAll, readJson } from '../support/vectors.ts';

interface Expected {
  images: Record<string, { contextHash: string; digest: string; parent: string | null; hashRoute: Record<string, string> }>;
}

describe('deciding the acme repository against the Queue and Index', () => {
  let h: DecisionHarness;
  let expected: Expected;
  let first: DecisionRecord;

  before(async () => {
    expected = await readJson<Expected>('acme/expected.json');
    h = await DecisionHarness.start();
    first = await h.decide();
  });
  after(() => h.close());

  it('first decision: five build tasks, parents created before children, matching the vectors', () => {
    assert.deepEqual(decisionsOf(first), ALL_BUILD);
    assert.equal(first.state, 'decided');
    assert.equal(h.fake.services.tasks.size, 5);
    const created = h.createdImages();
    const decisions = byName(first);
    for (const [name, want] of Object.entries(expected.images)) {
      const d = decisions.get(name)!;
      const task = h.fake.services.tasks.get(d.taskId!)!;
      const env = (task.definition.payload as { env: Record<string, string> }).env;
      assert.equal(d.digest, want.digest, name);
      assert.equal(env.HASH, want.contextHash, name);
      assert.equal(env.CONTEXT_URL, `${PUBLIC_URL}/contexts/${want.contextHash}.tar.gz`);
      assert.equal(env.DOCKER_IMAGE_ZSTD_LEVEL, '10');
      assert.ok((task.definition.routes as string[]).includes(want.hashRoute['level-3']!), name);
      if (want.parent) {
        const parentTask = decisions.get(want.parent)!.taskId!;
        assert.ok(created.indexOf(want.parent) < created.indexOf(name), `${want.parent} created before ${name}`);
        assert.deepEqual(task.definition.dependencies, [parentTask]);
        assert.equal(env.PARENT_TASK_ID, parentTask);
      } else {
        assert.deepEqual(task.definition.dependencies, []);
        assert.equal(env.PARENT_TASK_ID, undefined);
      }
    }
    assert.equal(h.fake.services.tasks.get(decisions.get('base')!.taskId!)!.state, 'pending');
    assert.equal(h.fake.services.tasks.get(decisions.get('lint')!.taskId!)!.state, 'unscheduled');
  });

  it('reasons name every index path that missed', () => {
    const base = byName(first).get('base')!;
    assert.match(base.reason, /not indexed/);
    assert.deepEqual(
      base.facts.map((f) => f.path),
      [expected.images.base!.hashRoute['level-3']!.slice('index.'.length)],
    );
    assert.equal(base.artifactUrl, `${h.fake.rootUrl}/api/queue/v1/task/${base.taskId}/artifacts/public%2Fimage.tar.zst`);
  });

  it('after the tasks complete, the same tree is all indexed, in two rounds of lookups and no task created', async () => {
    h.completeAll();
    const requestsBefore = h.fake.requests.length;
    const again = await h.decide();
    assert.deepEqual(decisionsOf(again), ALL_INDEXED);
    assert.equal(h.fake.services.tasks.size, 5);
    const names = h.fake.requests.slice(requestsBefore).map((r) => r.name);
    assert.equal(names.filter((n) => n === 'findTasksAtIndex').length, 1);
    assert.equal(names.filter((n) => n === 'createTask').length, 0);
    for (const d of again.images.filter((i) => i.decision === 'indexed')) {
      assert.equal(d.taskId, byName(first).get(d.name)!.taskId);
      assert.equal(d.facts.at(-1)!.outcome, 'hit');
    }
  });

  it('a change to a file base includes rebuilds base and its descendants; standalone stays indexed', async () => {
    await writeFile(join(h.dir, 'scripts/setup.sh'), '#!/bin/sh\necho changed\n');
    commitAll(h.dir, 'change setup.sh');
    const record = await h.decide();
    assert.deepEqual(decisionsOf(record), { ...ALL_BUILD, standalone: 'indexed' });
    const d = byName(record);
    const python = h.fake.services.tasks.get(d.get('python')!.taskId!)!;
    assert.deepEqual(python.definition.dependencies, [d.get('base')!.taskId]);
    assert.equal(h.fake.services.tasks.size, 9);
  });

  it('a forced rebuild creates one new task; with descendants, those too', async () => {
    h.completeAll();
    const one = await h.decide({ force: { image: 'python', withDescendants: false } });
    assert.deepEqual(decisionsOf(one), { ...ALL_INDEXED, python: 'build' });
    assert.equal(byName(one).get('python')!.reason, 'forced rebuild');
    assert.equal(h.fake.services.tasks.size, 10);
    // An indexed parent is not a dependency, but its task id is still passed on.
    const python = h.fake.services.tasks.get(byName(one).get('python')!.taskId!)!;
    assert.deepEqual(python.definition.dependencies, []);
    assert.equal((python.definition.payload as { env: Record<string, string> }).env.PARENT_TASK_ID, byName(one).get('base')!.taskId);

    const tree = await h.decide({ force: { image: 'base', withDescendants: true } });
    assert.deepEqual(decisionsOf(tree), { ...ALL_BUILD, standalone: 'indexed' });
    assert.equal(h.fake.services.tasks.size, 14);
  });

  it('forcing an image that does not exist is an unknown-image error', async () => {
    await assert.rejects(h.decide({ force: { image: 'nope', withDescendants: false } }), { code: 'unknown-image' });
  });
});
