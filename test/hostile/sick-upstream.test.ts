import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { type Service, createService } from '../../src/service/service.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { createTaskcluster } from '../../src/taskcluster/client.ts';
import { CapturedLog, GENERIC_TOKEN, freePort } from '../support/app.ts';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';
import { GitHttpServer } from '../support/git-http-server.ts';
import { freshDatabase } from '../support/pg.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { tempDir } from '../support/temp.ts';
import { GIT_ENV, vectorRepo } from '../support/vectors.ts';
import { CHROMIUM, launchChromium } from '../support/browser.ts';

const FETCH_TIMEOUT_S = 2;
/** Before the fix, each of these held a worker for a whole fetch timeout, one after another (a mirror fetches one at a time). */
const HUNG_PUSHES = 20;
const HEALTHY_PUSHES = 20;
/** Far above a healthy push's time on a loaded machine, far below what the hung pushes cost it before the fix (about 40 s). */
const HEALTHY_BOUND_S = 20;

interface PushView {
  id: string;
  repository: string;
  state: string;
  attempts: number;
  seconds: number | null;
  lastError: { code: string; message: string } | null;
}

const execFileAsync = promisify(execFile);

/**
 * Commits everything in `dir`, without blocking: the server shares this process's event loop,
 * and a loop held by synchronous git calls is what under-pressure answers 503 for.
 */
async function commit(dir: string, message: string): Promise<string> {
  const git = async (...args: string[]) => (await execFileAsync('git', args, { cwd: dir, env: GIT_ENV })).stdout.trim();
  await git('add', '-A');
  await git('commit', '-q', '--allow-empty', '-m', message);
  return git('rev-parse', 'HEAD');
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;
const summary = (values: number[]) =>
  `p50 ${percentile(values, 50).toFixed(2)} s, p99 ${percentile(values, 99).toFixed(2)} s, max ${Math.max(...values).toFixed(2)} s over ${values.length}`;

/**
 * Issue 17, item 2: one repository whose git server accepts connections and never answers
 * beside a healthy one. The healthy one's pushes are decided in their normal time while the
 * other is hung; the hung one is shown unreachable, its pushes wait (not failed) and are
 * decided once it answers again.
 */
describe('a hung upstream beside a healthy one', () => {
  let fake: FakeTaskcluster;
  let git: GitHttpServer;
  let proxy: TcpProxy;
  let store: ServiceStore;
  let service: Service;
  let app: FastifyInstance;
  let url: string;
  let healthy: { dir: string; head: string };
  let hung: { dir: string; head: string };
  const hungPushes: string[] = [];

  const push = async (repository: string, rev: string): Promise<string> => {
    const res = await fetch(`${url}/webhooks/generic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
      body: JSON.stringify({ repository, ref: 'refs/heads/main', rev }),
    });
    const body = (await res.json()) as { pushId: string };
    assert.equal(res.status, 202, JSON.stringify(body));
    return body.pushId;
  };
  const pushes = async (repository: string): Promise<Map<string, PushView>> => {
    const res = await fetch(`${url}/pushes?repo=${repository}&limit=500`);
    return new Map(((await res.json()) as { pushes: PushView[] }).pushes.map((p) => [p.id, p]));
  };
  const health = async () =>
    (await (await fetch(`${url}/health`)).json()) as {
      status: string;
      checks: Array<{ name: string; status: string; detail: string }>;
      repositories: Array<{ name: string; reachable: boolean; since: string | null; failures: number; lastError: string | null }>;
    };
  const upstreamOf = async (name: string) => (await health()).repositories.find((r) => r.name === name)!;
  /** Waits until every push in `ids` is final; returns them. */
  const settled = async (repository: string, ids: string[], timeoutMs: number, whileWaiting: () => Promise<void> = async () => undefined): Promise<PushView[]> => {
    for (const deadline = Date.now() + timeoutMs; ;) {
      const all = await pushes(repository);
      const mine = ids.map((id) => all.get(id)!);
      if (mine.every((p) => p.state === 'decided' || p.state === 'failed')) return mine;
      await whileWaiting();
      assert.ok(
        Date.now() < deadline,
        `${repository}: ${mine
          .filter((p) => p.state !== 'decided')
          .map((p) => `${p.state}×${p.attempts}`)
          .join(', ')}`,
      );
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** `count` healthy pushes, each a new commit, one every 300 ms as a busy repository sends them; their times from receipt to decided. */
  const healthyStream = async (count: number, label: string, whileWaiting?: () => Promise<void>): Promise<number[]> => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      await writeFile(join(healthy.dir, `notes-${label}-${i}.txt`), `${label} ${i}\n`);
      ids.push(await push('healthy', await commit(healthy.dir, `${label} ${i}`)));
      await new Promise((r) => setTimeout(r, 300));
    }
    const done = await settled('healthy', ids, 120_000, whileWaiting);
    assert.deepEqual(
      done.filter((p) => p.state !== 'decided'),
      [],
      'every healthy push decided',
    );
    return done.map((p) => p.seconds!);
  };

  before(async () => {
    const root = await tempDir();
    healthy = await vectorRepo('acme/tree', join(root, 'upstream', 'healthy'));
    hung = await vectorRepo('acme/tree', join(root, 'upstream', 'hung'));
    git = await GitHttpServer.start({ projectRoot: join(root, 'upstream') });
    // The hung repository's server is the same one, behind a proxy that can stop passing bytes.
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(git.url).port) });
    fake = await FakeTaskcluster.start();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const file = join(root, 'config.yml');
    await writeFile(
      file,
      `dataDir: ${join(root, 'data')}\nport: ${port}\npublicUrl: ${url}\nallowLoopbackPublicUrl: true\nfetchTimeoutSeconds: ${FETCH_TIMEOUT_S}\nmaxAttempts: 3\nworkerConcurrency: 2\n` +
        'upstreamBreaker: {failures: 2, probeIntervalSeconds: 1}\n' +
        `repositories:\n  - name: healthy\n    url: ${git.url}/healthy\n    webUrl: https://example.com/healthy\n` +
        `  - name: hung\n    url: http://127.0.0.1:${proxy.port}/hung\n    webUrl: https://example.com/hung\n`,
    );
    const databaseUrl = await freshDatabase();
    const config = await loadConfig({
      file,
      env: {
        DATABASE_URL: databaseUrl,
        IMAGE_DECIDER_GENERIC_TOKEN: GENERIC_TOKEN,
        TASKCLUSTER_ROOT_URL: fake.rootUrl,
        TASKCLUSTER_CLIENT_ID: 'service',
        TASKCLUSTER_ACCESS_TOKEN: 'tc-token',
      },
    });
    store = await openStore({ databaseUrl, dataDir: config.dataDir });
    service = await createService(config, new CapturedLog().logger, {
      store,
      taskcluster: createTaskcluster({ ...config.taskcluster!, retries: 2, delayFactorMs: 5 }),
      workerId: 'sick-upstream',
      leaseMs: 10_000,
      idlePollMs: 50,
    });
    app = await buildApp(service);
    await app.listen({ port, host: '127.0.0.1' });
    await service.worker.start();
  });
  after(async () => {
    proxy?.restore();
    await app?.close();
    await service?.close();
    await store?.close();
    await proxy?.close();
    await git?.close();
    await fake?.close();
  });

  it('the healthy repository is decided in its normal time while the other is hung; the hung one waits, shown unreachable', async (t) => {
    // Both answer at first: their mirrors hold main.
    const [healthyFirst, hungFirst] = [await push('healthy', healthy.head), await push('hung', hung.head)];
    assert.equal((await settled('healthy', [healthyFirst], 60_000))[0]!.state, 'decided');
    assert.equal((await settled('hung', [hungFirst], 60_000))[0]!.state, 'decided');
    const normal = await healthyStream(10, 'alone');
    t.diagnostic(`healthy pushes, the other upstream answering: ${summary(normal)}`);

    // The hung repository's new commits exist upstream, but its server stops answering.
    const hungRevs: string[] = [];
    for (let i = 0; i < HUNG_PUSHES; i++) hungRevs.push(await commit(hung.dir, `hung ${i}`));
    proxy.stall();
    for (const rev of hungRevs) hungPushes.push(await push('hung', rev));
    const stillHung = async () => {
      const states = [...(await pushes('hung')).values()].filter((p) => hungPushes.includes(p.id));
      assert.deepEqual(
        states.filter((p) => p.state === 'decided' || p.state === 'failed'),
        [],
        'no hung push decided or failed while its server is silent',
      );
    };
    const beside = await healthyStream(HEALTHY_PUSHES, 'beside', stillHung);
    await stillHung();
    t.diagnostic(`healthy pushes beside the hung upstream (fetchTimeoutSeconds ${FETCH_TIMEOUT_S}, ${HUNG_PUSHES} hung pushes queued first): ${summary(beside)}`);
    assert.ok(Math.max(...beside) < HEALTHY_BOUND_S, `healthy pushes took ${summary(beside)}`);

    // Shown unreachable; its pushes wait, queued, having used at most the one try before the breaker opened.
    const upstream = await upstreamOf('hung');
    assert.equal(upstream.reachable, false);
    assert.ok(upstream.since && upstream.failures >= 2, JSON.stringify(upstream));
    assert.match(upstream.lastError ?? '', /timed out after 2 s/);
    const h = await health();
    assert.equal(h.status, 'degraded');
    assert.match(h.checks.find((c) => c.name === 'mirror:hung')!.detail, /^unreachable since .*its pushes wait/);
    assert.equal(h.repositories.find((r) => r.name === 'healthy')!.reachable, true);
    for (;;) {
      const waiting = [...(await pushes('hung')).values()].filter((p) => hungPushes.includes(p.id));
      if (waiting.every((p) => p.state === 'queued')) {
        assert.ok(
          waiting.every((p) => p.attempts <= 1),
          waiting.map((p) => p.attempts).join(','),
        );
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /image_decider_upstream_reachable\{repository="hung"\} 0/);
    assert.match(metrics, /image_decider_upstream_reachable\{repository="healthy"\} 1/);
  });

  it('anonymous reads of the hung repository answer at once: from the mirror, or 503 unavailable', async () => {
    let started = performance.now();
    const known = await fetch(`${url}/graph?repo=hung&rev=main`);
    assert.equal(known.status, 200);
    assert.equal(((await known.json()) as { rev: string }).rev, hung.head, 'main as last fetched');
    assert.ok(performance.now() - started < 1500, `${performance.now() - started} ms`);
    started = performance.now();
    const missing = await Promise.all(Array.from({ length: 8 }, () => fetch(`${url}/graph?repo=hung&rev=${randomBytes(20).toString('hex')}`)));
    const elapsed = performance.now() - started;
    for (const res of missing) {
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '10');
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, 'unavailable');
      assert.match(body.message, /^hung is unreachable since /);
    }
    assert.ok(elapsed < 1500, `8 reads of missing revisions took ${elapsed} ms (a fetch times out after ${FETCH_TIMEOUT_S} s)`);
  });

  it('the dashboard shows the hung repository unreachable', async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    let browser: Browser | null = null;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(`${url}/dashboard`);
      const row = page.locator('#repositories li', { hasText: 'hung' });
      await row.waitFor({ timeout: 15_000 });
      assert.match(await row.innerText(), /hung\s*unreachable\s*since .*its pushes wait.*timed out after 2 s/s);
      assert.match(await page.locator('#repositories li', { hasText: 'healthy' }).innerText(), /healthy\s*reachable/);
    } finally {
      await browser?.close();
    }
  });

  it('once it answers again, its waiting pushes are decided, each task created once', async () => {
    proxy.restore();
    const done = await settled('hung', hungPushes, 90_000);
    assert.deepEqual(
      done.filter((p) => p.state !== 'decided').map((p) => p.lastError),
      [],
    );
    const upstream = await upstreamOf('hung');
    assert.deepEqual([upstream.reachable, upstream.since, upstream.failures, upstream.lastError], [true, null, 0, null]);
    const routes = [...fake.services.tasks.values()].flatMap((task) => (task.definition.routes as string[]).filter((r) => r.includes('.hash.')));
    assert.equal(new Set(routes).size, routes.length, 'no build task created twice');
  });
});
