import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_BUILD, ALL_INDEXED, byName, decisionsOf, suiteHarnesses } from '../support/decision.ts';

describe('what counts as a reusable build', () => {
  const start = suiteHarnesses();

  it('an indexed task that failed, one expiring before the deadline, one without its artifact: each rebuilt, with that reason', async () => {
    const h = await start();
    const first = byName(await h.decide());
    h.completeAll();
    const { services } = h.fake;
    services.fail(first.get('base')!.taskId!);
    services.setExpires(first.get('python')!.taskId!, new Date(h.fake.now() + 3600_000).toISOString());
    services.removeArtifact(first.get('standalone')!.taskId!, 'public/image.tar.zst');

    const record = await h.decide();
    assert.deepEqual(decisionsOf(record), { ...ALL_INDEXED, base: 'build', python: 'build', standalone: 'build' });
    const d = byName(record);
    assert.match(d.get('base')!.reason, /task \S+ failed/);
    assert.equal(d.get('base')!.facts[0]!.outcome, 'failed');
    assert.match(d.get('python')!.reason, /expires before the deadline/);
    assert.equal(d.get('python')!.facts[0]!.outcome, 'expires-too-soon');
    assert.match(d.get('standalone')!.reason, /has no public\/image\.tar\.zst/);
    assert.equal(d.get('standalone')!.facts[0]!.outcome, 'artifact-missing');
  });

  it('a level-1 push reuses a level-3 build', async () => {
    const h = await start();
    await h.decide({ level: 3 });
    h.completeAll();
    const record = await h.decide({ level: 1 });
    assert.deepEqual(decisionsOf(record), ALL_INDEXED);
    const base = byName(record).get('base')!;
    assert.match(base.facts[0]!.path, /\.cache\.level-3\./);
    assert.equal(base.facts.length, 1);
  });

  it('a level-3 push never reuses a level-1 build, in flight or indexed', async () => {
    const h = await start();
    await h.decide({ level: 1 });
    const whileBuilding = await h.decide({ level: 3 });
    assert.deepEqual(decisionsOf(whileBuilding), ALL_BUILD);
    h.completeAll();
    const level1Done = byName(await h.decide({ level: 1 }));
    assert.equal(level1Done.get('base')!.decision, 'indexed');

    const fresh = await start();
    await fresh.decide({ level: 1 });
    fresh.completeAll();
    const record = await fresh.decide({ level: 3 });
    assert.deepEqual(decisionsOf(record), ALL_BUILD);
    for (const image of record.images.filter((i) => i.decision === 'build')) {
      assert.deepEqual(
        image.facts.map((f) => f.path.match(/level-\d|pr/)?.[0]),
        ['level-3'],
        image.name,
      );
    }
  });

  it('a pull request looks up levels 3 down to its own and the PR path, and writes only the PR path', async () => {
    const h = await start();
    const record = byName(await h.decide({ level: 1, pullRequest: true }));
    const base = record.get('base')!;
    assert.deepEqual(
      base.facts.map((f) => f.path.match(/cache\.(level-\d|pr)\./)?.[1]),
      ['level-3', 'level-2', 'level-1', 'pr'],
    );
    const task = h.fake.services.tasks.get(base.taskId!)!;
    assert.deepEqual(task.definition.routes, [`index.${base.facts[3]!.path}`]);
    assert.equal((task.definition.payload as { env: Record<string, string> }).env.DOCKER_IMAGE_ZSTD_LEVEL, '3');
    h.completeAll();

    assert.deepEqual(decisionsOf(await h.decide({ level: 1, pullRequest: true })), ALL_INDEXED);
    // A push to a branch does not trust what a pull request built.
    assert.deepEqual(decisionsOf(await h.decide({ level: 1 })), ALL_BUILD);
  });

  it('two decisions of the same new tree at once create one build task per image; the other is in flight', async () => {
    const h = await start();
    const [a, b] = await Promise.all([h.decide(), h.decide()]);
    assert.equal(h.fake.services.tasks.size, 5);
    const [da, db] = [byName(a), byName(b)];
    for (const name of ['base', 'python', 'node-tools', 'lint', 'standalone']) {
      const kinds = [da.get(name)!.decision, db.get(name)!.decision].sort();
      assert.deepEqual(kinds, ['build', 'in-flight'], name);
      assert.equal(da.get(name)!.taskId, db.get(name)!.taskId, name);
    }
    // Later pushes while those run join them too.
    const third = await h.decide();
    assert.ok(third.images.filter((i) => i.decision !== 'registry').every((i) => i.decision === 'in-flight'));
    assert.equal(h.fake.services.tasks.size, 5);
  });
});
