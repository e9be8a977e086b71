import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, githubHeaders, githubPush } from '../support/app.ts';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';
import { ServerProcess } from '../support/server-process.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, initRepo, materialise } from '../support/vectors.ts';

/**
 * Issue 25, item 1: the embedded store (no DATABASE_URL) is one process's. A second process on
 * the same data folder refuses to start, naming the folder and the holder's pid; once the holder
 * is killed, a new process takes the stale lock over and what the first accepted is there.
 */
describe('the embedded store is exclusive to one process', () => {
  let fake: FakeTaskcluster;
  let root: string;
  let repoDir: string;
  let headSha: string;
  const servers: ServerProcess[] = [];

  const start = async (workerId: string, dataDir: string) => {
    const server = await ServerProcess.start({ dir: root, port: await freePort(), repoDir, databaseUrl: '', rootUrl: fake.rootUrl, workerId, dataDir });
    servers.push(server);
    return server;
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

  it('a second process refuses the folder, naming it and the holder; a dead holder’s lock is taken over', async () => {
    const dataDir = join(root, 'data');
    const first = await start('first', dataDir);
    const body = JSON.stringify(githubPush(headSha));
    const res = await fetch(`${first.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, 'exclusive-1') });
    assert.equal(res.status, 202, await res.clone().text());
    const { pushId } = (await res.json()) as { pushId: string };

    const refused = await start('second', dataDir).then(
      () => null,
      (err: Error) => err.message,
    );
    assert.ok(refused, 'the second process did not start');
    const line = refused.split('\n').find((l) => l.startsWith('image-decider: '));
    assert.ok(line, refused);
    assert.ok(line.includes(dataDir), line);
    assert.ok(line.includes(`process ${first.child.pid}`), line);
    assert.match(refused, /^the server exited 1/);

    await first.kill('SIGKILL');
    const third = await start('third', dataDir);
    const listed = (await (await fetch(`${third.url}/pushes?limit=50`)).json()) as { pushes: Array<{ id: string }> };
    assert.deepEqual(
      listed.pushes.map((p) => p.id),
      [pushId],
    );
  });
});
