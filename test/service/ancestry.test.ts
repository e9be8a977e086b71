import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImageChanges } from '../../src/domain/index.ts';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';
import { commitAll } from '../support/vectors.ts';

interface Image {
  decision: string;
  reason: string;
  digest: string | null;
  changes?: ImageChanges;
}
interface Graph {
  images: Record<string, Image>;
}
interface History {
  entries: { pushId: string; rev: string; decision: string; reason: string }[];
}

const short = (sha: string) => sha.slice(0, 12);

/**
 * Issue 25, item 3: two pushes of one repository decided at once, the older revision's taking
 * longer. What a build is compared with is its nearest decided ancestor by the commit graph,
 * never the push decided last; a push whose nearer ancestor is still being decided says so.
 */
describe('what changed follows the commit graph, not the order pushes are decided in', () => {
  let svc: TestService;
  /** The first commit, then seven each changing python/acme/util.py (python and lint include it): shas[7] is main, shas[2] main~5. */
  const shas: string[] = [];
  const pushIds = new Map<string, string>();
  let deliveries = 0;

  const send = async (sha: string): Promise<string> => {
    const body = JSON.stringify(githubPush(sha));
    const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, `ancestry-${deliveries++}`) });
    assert.equal(res.status, 202);
    const { pushId } = (await res.json()) as { pushId: string };
    pushIds.set(sha, pushId);
    return pushId;
  };
  const decided = async (sha: string): Promise<Graph> => {
    const pushId = pushIds.get(sha)!;
    await svc.waitForPush(pushId, 60_000);
    assert.equal((await svc.service.store.getPush(pushId))?.state, 'decided');
    const res = await fetch(`${svc.url}/graph?rev=${sha}`);
    assert.equal(res.status, 200);
    return (await res.json()) as Graph;
  };
  const completePending = () => {
    for (const task of svc.fake.services.tasks.values()) if (task.state === 'pending') svc.fake.services.complete(task.taskId);
  };
  const graphs = new Map<string, Graph>();

  before(async () => {
    svc = await TestService.start({ extraConfig: 'workerConcurrency: 2\nworkersPerRepository: 2\n' });
    for (let i = 1; i <= 7; i++) {
      await appendFile(join(svc.repoDir, 'python/acme/util.py'), `# change ${i}\n`);
      shas.push(commitAll(svc.repoDir, `change ${i}`));
    }
    shas.unshift(svc.headSha);
    // main~5 is taken up first and held at its Index lookups, after its graph is built and
    // before anything of it is recorded; main is pushed then, and decided while it waits.
    const hold = svc.fake.holdNext('findTasksAtIndex');
    const older = await send(shas[2]!);
    await hold.reached;
    assert.equal((await svc.service.store.getPush(older))?.state, 'deciding');
    await send(shas[7]!);
    graphs.set(shas[7]!, await decided(shas[7]!));
    assert.equal((await svc.service.store.getPush(older))?.state, 'deciding', 'main~5 was still being decided');
    hold.release();
    graphs.set(shas[2]!, await decided(shas[2]!));
    completePending();
    // Then main~3, decided after main, and a new head on main.
    await send(shas[4]!);
    graphs.set(shas[4]!, await decided(shas[4]!));
    completePending();
    await appendFile(join(svc.repoDir, 'python/acme/util.py'), '# change 8\n');
    shas.push(commitAll(svc.repoDir, 'change 8'));
    await send(shas[8]!);
    graphs.set(shas[8]!, await decided(shas[8]!));
  });
  after(() => svc?.close());

  it('main, decided while main~5 is not: every build says its nearer ancestor is not decided yet, none “first build known”', () => {
    const builds = Object.entries(graphs.get(shas[7]!)!.images).filter(([, image]) => image.decision === 'build');
    assert.ok(builds.length >= 2, 'base, python and the rest are built');
    for (const [name, image] of builds) {
      assert.equal(image.changes?.kind, 'pending', `${name}: ${image.reason}`);
      assert.deepEqual(image.changes?.pending, { pushId: pushIds.get(shas[2]!), rev: shas[2] }, name);
      assert.equal(image.changes?.since, undefined, name);
      assert.match(image.reason, new RegExp(`^not compared yet: ${short(shas[2]!)}, an earlier revision, is not decided yet`), name);
    }
  });

  it('main~5, decided after main: never “changed since main”; its own python is the first among its ancestors', () => {
    const { images } = graphs.get(shas[2]!)!;
    for (const [name, image] of Object.entries(images)) {
      assert.doesNotMatch(image.reason, new RegExp(short(shas[7]!)), name);
      assert.notEqual(image.changes?.since?.rev, shas[7], name);
    }
    assert.equal(images.python!.decision, 'build');
    assert.equal(images.python!.changes?.kind, 'first');
    assert.match(images.python!.reason, /^first build known in acme among the ancestors of this revision; /);
    // What did not change between them is main's build, in flight.
    assert.equal(images.base!.decision, 'in-flight');
  });

  it('main~3, decided after main: compared with main~5, its nearest decided ancestor, not with main, decided last', () => {
    const python = graphs.get(shas[4]!)!.images.python!;
    assert.equal(python.decision, 'build');
    assert.equal(python.changes?.kind, 'changed', python.reason);
    assert.equal(python.changes?.since?.rev, shas[2]);
    assert.equal(python.changes?.since?.digest, graphs.get(shas[2]!)!.images.python!.digest);
    assert.match(python.reason, new RegExp(`^changed since ${short(shas[2]!)}: 1 file changed: python/acme/util\\.py \\(%include python/acme\\)`));
  });

  it('a new head: compared with main, its parent', () => {
    const python = graphs.get(shas[8]!)!.images.python!;
    assert.equal(python.changes?.kind, 'changed', python.reason);
    assert.equal(python.changes?.since?.rev, shas[7]);
  });

  it('the image history lists pushes as they were received, newest first, each compared with its own ancestor', async () => {
    const res = await fetch(`${svc.url}/images/python/history`);
    assert.equal(res.status, 200);
    const { entries } = (await res.json()) as History;
    assert.deepEqual(
      entries.map((e) => e.rev),
      [shas[8], shas[4], shas[7], shas[2]],
    );
    assert.match(entries[0]!.reason, new RegExp(`^changed since ${short(shas[7]!)}: `));
    assert.match(entries[1]!.reason, new RegExp(`^changed since ${short(shas[2]!)}: `));
    assert.match(entries[2]!.reason, new RegExp(`^not compared yet: ${short(shas[2]!)}`));
    assert.match(entries[3]!.reason, /^first build known in acme/);
  });
});
