import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UNCACHED_REASON } from '../../src/decision/planner.ts';
import { TEST_CLIENT_SCOPES } from '../support/fake-taskcluster/server.ts';
import { byName, decisionsOf, suiteHarnesses } from '../support/decision.ts';
import { readJson } from '../support/vectors.ts';

interface CacheCases {
  image: { images: Record<string, { contextHash: string; digest: string | null; hashRoute?: string }> };
}

/**
 * `cache: false` as taskgraph has it: the `image` tree holds a cached `base`, `tool` on it
 * with `cache: false`, and `leaf` (uncached too) on `tool`. The client may look up and index
 * `base` only, so a lookup of either uncached image would be refused and fail the decision.
 */
describe('images with cache: false against the Queue and Index', async () => {
  const harness = suiteHarnesses();
  const want = (await readJson<CacheCases>('cache-false/expected.json')).image.images;
  const onlyBase = (scopes: readonly string[]) => [
    ...scopes,
    'index:find-task:cf.cache.level-3.docker-images.v2.base.*',
    'queue:create-task:low:cf-*',
    'queue:scheduler-id:cf-level-*',
    'queue:route:index.cf.cache.level-3.docker-images.v2.base.*',
  ];
  const start = async () => {
    const h = await harness({ tree: 'cache-false/trees/image' });
    h.fake.defaultClientScopes = onlyBase(TEST_CLIENT_SCOPES);
    return h;
  };

  it('are never looked up, built with no cached-task routes, the reason shown, and never indexed', async () => {
    const h = await start();
    const first = await h.decide();
    assert.equal(first.state, 'decided');
    assert.deepEqual(decisionsOf(first), { base: 'build', tool: 'build', leaf: 'build' });
    const d = byName(first);
    for (const name of ['tool', 'leaf']) {
      const image = d.get(name)!;
      assert.equal(image.reason, UNCACHED_REASON);
      assert.match(image.reason, /cache: false/);
      assert.deepEqual(image.facts, [], `${name}: nothing looked up`);
      assert.equal(image.digest, null);
      assert.equal(image.contextHash, want[name]!.contextHash);
      const task = h.fake.services.tasks.get(image.taskId!)!;
      assert.deepEqual(task.definition.routes, [], `${name}: no cached-task routes`);
      assert.equal((task.definition.payload as { env: Record<string, string> }).env.HASH, want[name]!.contextHash);
    }
    assert.equal((h.fake.services.tasks.get(d.get('base')!.taskId!)!.definition.routes as string[])[0], want.base!.hashRoute);
    assert.deepEqual(h.fake.services.tasks.get(d.get('tool')!.taskId!)!.definition.dependencies, [d.get('base')!.taskId]);
    assert.deepEqual(h.fake.services.tasks.get(d.get('leaf')!.taskId!)!.definition.dependencies, [d.get('tool')!.taskId]);
    h.completeAll();
    assert.deepEqual(
      [...h.fake.services.index.keys()].filter((ns) => !ns.includes('.base.')),
      [],
      'only base is indexed',
    );
  });

  it('are built in every graph that needs them: a later push builds them again while base is reused', async () => {
    const h = await start();
    const first = byName(await h.decide());
    const second = await h.decide();
    assert.deepEqual(decisionsOf(second), { base: 'in-flight', tool: 'build', leaf: 'build' });
    const again = byName(second);
    assert.equal(again.get('base')!.taskId, first.get('base')!.taskId);
    assert.notEqual(again.get('tool')!.taskId, first.get('tool')!.taskId);
    assert.notEqual(again.get('leaf')!.taskId, first.get('leaf')!.taskId);
    h.completeAll();
    const third = byName(await h.decide());
    assert.equal(third.get('base')!.decision, 'indexed');
    assert.equal(third.get('tool')!.decision, 'build');
    const tool = h.fake.services.tasks.get(third.get('tool')!.taskId!)!;
    assert.deepEqual(tool.definition.dependencies, [], 'an indexed parent is not waited on');
    assert.equal((tool.definition.payload as { env: Record<string, string> }).env.PARENT_TASK_ID, third.get('base')!.taskId);
    assert.equal(h.fake.services.tasks.size, 7);
  });

  it('are planned once per push: planning the same push again (after a crash) reuses its tasks', async () => {
    const h = await start();
    const request = { ...(await h.request()), decisionId: 'push-1' };
    const firstPlan = byName(await h.decider.plan(request));
    const secondPlan = await h.decider.plan(request);
    for (const name of ['tool', 'leaf']) assert.equal(byName(secondPlan).get(name)!.taskId, firstPlan.get(name)!.taskId, name);
    await h.decider.submit(secondPlan);
    assert.deepEqual(h.createdImages().sort(), ['base', 'leaf', 'tool']);
  });

  it('a dry run says why they are built', async () => {
    const h = await harness({ tree: 'cache-false/trees/image', dryRun: true });
    const d = byName(await h.decide());
    assert.equal(d.get('tool')!.reason, UNCACHED_REASON);
    assert.deepEqual(d.get('tool')!.definition!.routes, []);
    assert.equal(d.get('base')!.reason, 'dry run: the Index was not consulted');
  });
});
