import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { freePort, githubHeaders, githubPush } from '../support/app.ts';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';
import { freshDatabase } from '../support/pg.ts';
import { ServerProcess } from '../support/server-process.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, initRepo, materialise } from '../support/vectors.ts';

interface Push {
  id: string;
  state: string;
  attempts: number;
}

describe('durability: crashes and several processes on one database', () => {
  let fake: FakeTaskcluster;
  let root: string;
  let repoDir: string;
  let headSha: string;
  const servers: ServerProcess[] = [];

  const start = async (databaseUrl: string, workerId: string, dataDir: string, env: NodeJS.ProcessEnv = {}) => {
    const server = await ServerProcess.start({ dir: root, port: await freePort(), repoDir, databaseUrl, rootUrl: fake.rootUrl, workerId, dataDir, env });
    servers.push(server);
    return server;
  };
  const postPush = async (server: ServerProcess, sha: string, delivery: string) => {
    const body = JSON.stringify(githubPush(sha));
    const res = await fetch(`${server.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, delivery) });
    assert.equal(res.status, 202, await res.clone().text());
    return ((await res.json()) as { pushId: string }).pushId;
  };
  const waitDecided = async (server: ServerProcess, count: number, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { pushes } = (await (await fetch(`${server.url}/pushes?limit=500`)).json()) as { pushes: Push[] };
      if (pushes.length >= count && pushes.every((p) => p.state === 'decided')) return pushes;
      if (Date.now() > deadline) throw new Error(`not decided in time: ${JSON.stringify(pushes.map((p) => p.state))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    fake = await FakeTaskcluster.start();
    root = await tempDir();
    repoDir = await materialise('acme/tree', join(root, 'acme'));
    initRepo(repoDir);
    headSha = commitAll(repoDir);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await fake.close();
  });

  it('a server killed with SIGKILL mid-decision and restarted completes the push; each task exists once', async () => {
    const databaseUrl = await freshDatabase();
    const dataDir = join(root, 'crash-data');
    fake.slowMethods.set('createTask', 400);
    const first = await start(databaseUrl, 'crashy', dataDir);
    const pushId = await postPush(first, headSha, 'crash-1');
    const deadline = Date.now() + 10_000;
    while (fake.count('createTask') < 1) {
      assert.ok(Date.now() < deadline, 'the decision reached createTask');
      await new Promise((r) => setTimeout(r, 10));
    }
    await first.kill('SIGKILL');
    const createdBeforeCrash = fake.services.tasks.size;
    assert.ok(createdBeforeCrash < 5, `killed mid-decision (${createdBeforeCrash} of 5 created)`);
    fake.slowMethods.clear();

    const restarted = await start(databaseUrl, 'crashy', dataDir);
    const [push] = await waitDecided(restarted, 1, 15_000);
    assert.equal(push!.id, pushId);
    assert.equal(fake.services.tasks.size, 5);
    const images = [...fake.services.tasks.values()].map((t) => (t.definition.payload as { env: { IMAGE_NAME: string } }).env.IMAGE_NAME).sort();
    assert.deepEqual(images, ['base', 'lint', 'node-tools', 'python', 'standalone']);
    await restarted.kill('SIGTERM');
  });

  it('two processes on one PostgreSQL, 50 pushes posted alternately: each decided once, no duplicate task', async () => {
    const databaseUrl = await freshDatabase();
    const tasksBefore = fake.services.tasks.size;
    const shas: string[] = [];
    for (let i = 0; i < 50; i++) {
      await writeFile(join(repoDir, 'counter.txt'), `${i}\n`);
      shas.push(commitAll(repoDir, `push ${i}`));
    }
    const [a, b] = [await start(databaseUrl, 'left', join(root, 'left')), await start(databaseUrl, 'right', join(root, 'right'))];
    const ids = await Promise.all(shas.map((sha, i) => postPush(i % 2 === 0 ? a! : b!, sha, `two-${i}`)));
    const pushes = await waitDecided(a!, 50, 60_000);
    assert.deepEqual(new Set(pushes.map((p) => p.id)), new Set(ids));
    assert.ok(
      pushes.every((p) => p.attempts === 1),
      'no push was decided twice',
    );
    // The same images everywhere (only counter.txt changes): new builds for the digests not yet built, once.
    const newTasks = [...fake.services.tasks.values()].slice(tasksBefore);
    const digests = newTasks.map((t) => (t.definition.extra as { imageDecider: { digest: string } }).imageDecider.digest);
    assert.equal(new Set(digests).size, digests.length, 'one task per digest');
    assert.ok(newTasks.length <= 5);
  });

  it('an intake-only process (workerConcurrency 0) answers webhooks and decides nothing; a deciding process on the same database decides them; both serve the contexts', async () => {
    const databaseUrl = await freshDatabase();
    await writeFile(join(repoDir, 'counter.txt'), 'intake only\n');
    const sha = commitAll(repoDir, 'intake only');
    const intake = await start(databaseUrl, 'intake', join(root, 'intake'), { IMAGE_DECIDER_WORKER_CONCURRENCY: '0' });
    const ids = [await postPush(intake, sha, 'intake-1'), await postPush(intake, headSha, 'intake-2')];
    await new Promise((r) => setTimeout(r, 1000));
    const queued = (await (await fetch(`${intake.url}/pushes`)).json()) as { pushes: Push[] };
    assert.deepEqual(
      queued.pushes.map((p) => p.state),
      ['queued', 'queued'],
      'nobody decides yet',
    );

    const decider = await start(databaseUrl, 'decider', join(root, 'decider'));
    const pushes = await waitDecided(intake, 2, 30_000);
    assert.deepEqual(new Set(pushes.map((p) => p.id)), new Set(ids));
    assert.match(decider.output, /push decided/);
    assert.doesNotMatch(intake.output, /push decided/);
    const graph = (await (await fetch(`${intake.url}/graph?rev=${sha}`)).json()) as { images: Record<string, { contextHash: string | null; contextUrl: string | null }> };
    const served = Object.values(graph.images).filter((i) => i.contextUrl !== null);
    assert.equal(served.length, 5);
    for (const { contextUrl, contextHash } of served) {
      const tarball = await fetch(`${intake.url}${new URL(contextUrl!).pathname}`);
      assert.equal(tarball.status, 200, contextUrl!);
      assert.equal(
        createHash('sha256')
          .update(gunzipSync(Buffer.from(await tarball.arrayBuffer())))
          .digest('hex'),
        contextHash,
      );
    }
  });
});
