import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';

interface Health {
  status: string;
  checks: Array<{ name: string; status: string; detail: string }>;
  lastError: { message: string } | null;
}

describe('faults while deciding', () => {
  const services: TestService[] = [];
  const servers: Server[] = [];
  after(async () => {
    await Promise.all(services.map((s) => s.close()));
    for (const s of servers) s.close();
  });
  const start = async (options: Parameters<typeof TestService.start>[0] = {}) => {
    const svc = await TestService.start(options);
    services.push(svc);
    return svc;
  };
  const post = async (svc: TestService, sha: string, delivery: string) => {
    const body = JSON.stringify(githubPush(sha));
    const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, delivery) });
    assert.equal(res.status, 202);
    return ((await res.json()) as { pushId: string }).pushId;
  };
  const until = async (what: string, test: () => Promise<boolean>, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (!(await test())) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('Taskcluster down, then back: the push waits, /health says so, then it completes with each task once', async () => {
    const svc = await start();
    svc.fake.failNext(1_000_000);
    const pushId = await post(svc, svc.headSha, 'outage');
    await until('the failure to be recorded', async () => (await svc.service.store.getPush(pushId))?.lastError?.code === 'taskcluster-unavailable');
    const push = (await svc.service.store.getPush(pushId))!;
    assert.equal(push.state, 'queued', 'kept for a retry, not dropped');
    const health = (await (await fetch(`${svc.url}/health`)).json()) as Health;
    assert.equal(health.status, 'degraded');
    assert.equal(health.checks.find((c) => c.name === 'taskcluster')!.status, 'degraded');
    assert.match(health.lastError!.message, /taskcluster-unavailable|injected fault|InternalServerError/);

    svc.fake.clearFaults();
    await svc.waitForPush(pushId, 20_000);
    assert.equal((await svc.service.store.getPush(pushId))!.state, 'decided');
    assert.equal(svc.fake.services.tasks.size, 5);
    assert.equal(((await (await fetch(`${svc.url}/health`)).json()) as Health).checks.find((c) => c.name === 'taskcluster')!.status, 'ok');
  });

  it('a git fetch that hangs times out: the push is retried later and /health names the mirror', async () => {
    // A server that accepts git connections and never answers.
    const silent = createServer(() => undefined);
    servers.push(silent);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as { port: number }).port;
    const svc = await start({ repoUrl: `git://127.0.0.1:${port}/acme`, extraConfig: 'fetchTimeoutSeconds: 1\n' });
    const started = Date.now();
    const pushId = await post(svc, 'b'.repeat(40), 'hang');
    await until('the fetch to time out', async () => (await svc.service.store.getPush(pushId))?.lastError?.code === 'fetch-failed');
    assert.ok(Date.now() - started < 6000);
    const push = (await svc.service.store.getPush(pushId))!;
    assert.equal(push.state, 'queued');
    assert.match(push.lastError!.message, /timed out after 1 s/);
    const health = (await (await fetch(`${svc.url}/health`)).json()) as Health;
    assert.equal(health.checks.find((c) => c.name === 'mirror:acme')!.status, 'degraded');
  });

  it('a tarball that cannot be cached (no room on disk) is still served whole and correct', async () => {
    const svc = await start({ dryRun: true });
    // The cache folder cannot be made: as good as a full disk for the cache.
    await writeFile(join(svc.service.config.dataDir, 'contexts'), 'not a folder');
    const pushId = await post(svc, svc.headSha, 'disk');
    await svc.waitForPush(pushId);
    const graph = (await (await fetch(`${svc.url}/graph?rev=${svc.headSha}`)).json()) as { images: Record<string, { contextHash: string; contextUrl: string }> };
    const base = graph.images.base!;
    for (let i = 0; i < 2; i++) {
      const res = await fetch(base.contextUrl);
      assert.equal(res.status, 200);
      const tar = gunzipSync(Buffer.from(await res.arrayBuffer()));
      assert.equal(createHash('sha256').update(tar).digest('hex'), base.contextHash);
    }
    assert.match(svc.log.text, /context tarball not cached/);
  });
});
