import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, githubHeaders, githubPush } from '../support/app.ts';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';
import { freshDatabase } from '../support/pg.ts';
import { ServerProcess } from '../support/server-process.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, initRepo, materialise } from '../support/vectors.ts';

interface Push {
  id: string;
  state: string;
  attempts: number;
}
interface Health {
  status: string;
  checks: Array<{ name: string; status: string; detail: string }>;
  lastError: { message: string } | null;
}

/** How long the database stays away: long enough for every part of the service to notice. */
const OUTAGE_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, read: () => Promise<T | null>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== null) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Resolves when `promise` does, or fails the test after `ms`. */
async function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The images and digests of the tasks the fake Queue holds (each task id is held once). */
function createdTasks(fake: FakeTaskcluster): Array<{ image: string; digest: string }> {
  return [...fake.services.tasks.values()].map((t) => ({
    image: (t.definition.payload as { env: { IMAGE_NAME: string } }).env.IMAGE_NAME,
    digest: (t.definition.extra as { imageDecider: { digest: string } }).imageDecider.digest,
  }));
}

describe('PostgreSQL restarted mid-decision, or cut off (a proxy plays it to the real server process)', () => {
  let root: string;
  let repoDir: string;
  let headSha: string;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    root = await tempDir();
    repoDir = await materialise('acme/tree', join(root, 'acme'));
    initRepo(repoDir);
    headSha = commitAll(repoDir);
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** A server process on a fresh database reached through a proxy, with its own fake Taskcluster. */
  const boot = async (name: string) => {
    const databaseUrl = await freshDatabase();
    const target = new URL(databaseUrl);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const fake = await FakeTaskcluster.start();
    fake.delayMs = 20;
    cleanups.push(
      () => fake.close(),
      () => proxy.close(),
    );
    const server = await ServerProcess.start({
      dir: root,
      port: await freePort(),
      repoDir,
      databaseUrl: proxy.through(databaseUrl),
      rootUrl: fake.rootUrl,
      workerId: name,
      dataDir: join(root, name),
    });
    cleanups.push(() => server.kill());
    return { proxy, fake, server };
  };
  /** A request to the server; if it cannot answer, the failure shows how the process ended. */
  const call = async (server: ServerProcess, path: string, init?: RequestInit) => {
    try {
      return await fetch(`${server.url}${path}`, init);
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}; server exit ${server.child.exitCode ?? server.child.signalCode}:\n${server.output.slice(-3000)}`);
    }
  };
  const post = (server: ServerProcess, sha: string, delivery: string) => {
    const body = JSON.stringify(githubPush(sha));
    return call(server, '/webhooks/github', { method: 'POST', body, headers: githubHeaders(body, delivery) });
  };
  const accepted = async (res: Response, status: number) => {
    const text = await res.text();
    assert.equal(res.status, status, text);
    return (JSON.parse(text) as { pushId: string }).pushId;
  };
  const health = async (server: ServerProcess) => {
    const res = await call(server, '/health');
    return { status: res.status, body: (await res.json()) as Health };
  };
  const push = async (server: ServerProcess, id: string) => ((await (await call(server, `/pushes/${id}`)).json()) as { push: Push }).push;
  const decided = (server: ServerProcess, ids: string[]) =>
    until(`pushes ${ids.join(', ')} decided`, async () => {
      const pushes = await Promise.all(ids.map((id) => push(server, id)));
      return pushes.every((p) => p.state === 'decided') ? pushes : null;
    });
  const assertAlive = (server: ServerProcess) => {
    assert.equal(server.child.exitCode, null, `the server exited:\n${server.output.slice(-3000)}`);
    assert.equal(server.child.signalCode, null);
    assert.doesNotMatch(server.output, /Unhandled 'error' event|uncaughtException|stopping after an error/);
  };

  it('a restart between createTask and recording it: /health 503, webhooks 503 `unavailable`, then every push completes, each task once', { timeout: 60_000 }, async () => {
    const { proxy, fake, server } = await boot('restart-submitting');
    fake.slowMethods.set('createTask', 300);
    // The moment the service records a task the Queue has just created, the database goes away:
    // the task exists at Taskcluster but the store cannot say so.
    const cut = proxy.cutWhenSent("state = 'submitted'");
    const firstId = await accepted(await post(server, headSha, 'restart-1'), 202);
    await within('the cut (the service never recorded a submitted task)', cut, 20_000);
    const cutAt = Date.now();
    assert.ok(proxy.counts.cut >= 1, 'open sessions were ended');
    assert.ok(fake.services.tasks.size >= 1, 'a task was created at Taskcluster before the cut');

    const down = await health(server);
    assert.equal(down.status, 503);
    assert.equal(down.body.status, 'down');
    const store = down.body.checks.find((c) => c.name === 'store')!;
    assert.equal(store.status, 'down');
    assert.match(store.detail, /unavailable|starting up|terminat/i);

    // A delivery while the database is away is refused plainly, so the sender redelivers it.
    await appendFile(join(repoDir, 'taskcluster/docker/lint/Dockerfile'), '# restart\n');
    const secondSha = commitAll(repoDir, 'lint changes');
    const refused = await post(server, secondSha, 'restart-2');
    const refusal = (await refused.json()) as { code: string; message: string };
    assert.equal(refused.status, 503, JSON.stringify(refusal));
    assert.equal(refusal.code, 'unavailable');
    assert.match(refusal.message, /store/);
    assert.doesNotMatch(refusal.message, /postgres:\/\/|127\.0\.0\.1/, 'no connection details in the answer');

    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
    assertAlive(server);
    assert.ok(proxy.counts.refused >= 1, 'the service tried to reconnect while the database was away');
    proxy.restore();

    const secondId = await accepted(await post(server, secondSha, 'restart-2'), 202);
    assert.equal(await accepted(await post(server, secondSha, 'restart-2'), 200), secondId, 'the redelivery is recorded once');
    assert.equal(await accepted(await post(server, headSha, 'restart-1'), 200), firstId, 'the delivery accepted before the restart was kept');
    const [first] = await decided(server, [firstId, secondId]);
    assert.ok(first!.attempts >= 2, `the interrupted push was retried (attempts ${first!.attempts})`);

    // Push 1 builds the five images, push 2 only the changed lint: six tasks, one per digest.
    const tasks = createdTasks(fake);
    assert.deepEqual(tasks.map((t) => t.image).sort(), ['base', 'lint', 'lint', 'node-tools', 'python', 'standalone']);
    assert.equal(new Set(tasks.map((t) => t.digest)).size, tasks.length, 'one task per digest');
    const { pushes } = (await (await call(server, '/pushes?limit=500')).json()) as { pushes: Push[] };
    assert.equal(pushes.length, 2, 'each delivery made one push');

    const up = await health(server);
    assert.equal(up.status, 200);
    assert.equal(up.body.checks.find((c) => c.name === 'store')!.status, 'ok');
    assertAlive(server);
  });

  it('a restart inside a transaction (planning a task), with the sockets reset: no crash, the push completes, each task once', { timeout: 60_000 }, async () => {
    const { proxy, fake, server } = await boot('restart-planning');
    // The advisory lock is the first statement of the transaction that plans a task.
    const cut = proxy.cutWhenSent('pg_advisory_xact_lock(hashtext', { hard: true });
    const pushId = await accepted(await post(server, headSha, 'planning-1'), 202);
    await within('the cut (the service never planned a task)', cut, 20_000);
    const cutAt = Date.now();

    const down = await health(server);
    assert.equal(down.status, 503);
    assert.equal(down.body.checks.find((c) => c.name === 'store')!.status, 'down');
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
    assertAlive(server);
    proxy.restore();

    const [done] = await decided(server, [pushId]);
    assert.ok(done!.attempts >= 2, `the interrupted push was retried (attempts ${done!.attempts})`);
    const tasks = createdTasks(fake);
    assert.deepEqual(tasks.map((t) => t.image).sort(), ['base', 'lint', 'node-tools', 'python', 'standalone']);
    assert.equal(new Set(tasks.map((t) => t.digest)).size, tasks.length, 'one task per digest');
    assert.equal((await health(server)).status, 200);
    assertAlive(server);
  });

  it(
    'a partition (connections open, nothing answers): a webhook gets 503 `unavailable` within the statement timeout, /health 503; once healed, all is accepted and decided',
    { timeout: 90_000 },
    async () => {
      const { proxy, server } = await boot('partition');
      const first = await accepted(await post(server, headSha, 'partition-1'), 202);
      await decided(server, [first]);
      proxy.stall();
      const stalledAt = Date.now();
      const cut = await post(server, headSha, 'partition-2');
      const waited = Date.now() - stalledAt;
      assert.equal(cut.status, 503, await cut.clone().text());
      assert.equal(((await cut.json()) as { code: string }).code, 'unavailable');
      // The pool's 10 s to connect or 15 s per statement, not TCP's many minutes.
      assert.ok(waited < 20_000, `answered after ${waited} ms`);
      const down = await health(server);
      assert.equal(down.status, 503);
      assert.equal(down.body.checks.find((c) => c.name === 'store')!.status, 'down');
      assertAlive(server);

      proxy.restore();
      const again = await until('the webhook accepted again', async () => {
        const res = await post(server, headSha, 'partition-2');
        return res.status === 202 ? res : null;
      });
      await decided(server, [await accepted(again, 202)]);
      assert.equal((await health(server)).status, 200);
      assertAlive(server);
    },
  );
});
