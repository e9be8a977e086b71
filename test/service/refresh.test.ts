import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';
import { freshDatabase } from '../support/pg.ts';
import { launchChromium, watchedPage } from '../support/browser.ts';

const DAY = 24 * 3600_000;
// A pass every 0.6 s, so the tests see several; the window is the default's.
const REFRESH = 'refresh:\n  intervalMinutes: 0.01\n  windowDays: 30\n';

interface ImageDoc {
  decision: string;
  reason: string;
  taskId: string | null;
  digest: string | null;
  indexPaths?: string[];
  dryRun?: boolean;
}
interface PushDoc {
  id: string;
  source: string;
  state: string;
  rev: string;
  level: number;
  finishedAt: string | null;
  force: { image: string; withDescendants: boolean } | null;
}
interface Expiring {
  repository: string;
  image: string;
  digest: string;
  taskId: string;
  expires: string;
  refresh: string;
  pushId: string | null;
}
interface HealthDoc {
  dryRun: boolean;
  expiring: Expiring[];
  refresh: { windowDays: number; intervalMinutes: number; lastRunAt: string | null; lastError: unknown };
}

const json = async <T>(svc: TestService, path: string): Promise<T> => {
  const res = await fetch(`${svc.url}${path}`);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return (await res.json()) as T;
};
const health = (svc: TestService) => json<HealthDoc>(svc, '/health');
const pushOf = (svc: TestService, id: string) => json<{ push: PushDoc; images: Record<string, ImageDoc> }>(svc, `/pushes/${id}`);
const rebuilds = async (svc: TestService) => (await json<{ pushes: PushDoc[] }>(svc, '/pushes?limit=500')).pushes.filter((p) => p.source === 'rebuild');

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for a refresher pass that started after now (as /health says): what it found is then on /health. */
async function nextPass(svc: TestService): Promise<HealthDoc> {
  const since = new Date().toISOString();
  // A pass that finished after `since` may have begun before it: wait for two.
  await until('a refresher pass', async () => ((await health(svc)).refresh.lastRunAt ?? '') > since);
  const first = (await health(svc)).refresh.lastRunAt!;
  return until('a second refresher pass', async () => {
    const h = await health(svc);
    return (h.refresh.lastRunAt ?? '') > first ? h : null;
  });
}

async function webhookPush(svc: TestService, delivery: string): Promise<string> {
  const body = JSON.stringify(githubPush(svc.headSha));
  const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, delivery) });
  assert.equal(res.status, 202);
  const { pushId } = (await res.json()) as { pushId: string };
  await svc.waitForPush(pushId, 30_000);
  return pushId;
}

let browser: Browser | null = null;

/** The dashboard's "Close to expiry" rows in headless Chromium, once drawn: cell texts, and any script error. */
async function dashboardRows(svc: TestService): Promise<{ rows: string[][]; problems: string[] }> {
  browser ??= await launchChromium();
  const problems: string[] = [];
  const page = await watchedPage(browser, problems);
  try {
    await page.goto(`${svc.url}/dashboard`);
    // Locators, not evaluated strings: the page's CSP refuses eval, as it should.
    await page.locator('#expiring-sub', { hasText: 'looked' }).waitFor({ timeout: 30_000 });
    const rows: string[][] = [];
    for (const tr of await page.locator('#expiring tr').all()) rows.push(await tr.locator('td').allTextContents());
    return { rows, problems };
  } finally {
    await page.close();
  }
}

const createTasksOf = (fake: FakeTaskcluster, taskId: string) => fake.requests.filter((r) => r.name === 'createTask' && r.path === `/task/${taskId}`).length;

/**
 * Issue 15 part 2: a level-3 image whose indexed task expires within refresh.windowDays is
 * rebuilt before it expires, once per digest, found at start-up and on the refresher's
 * schedule; the fake Taskcluster's clock is moved past the window. The services below share
 * one database and one fake, as processes restarted on a deployment's do.
 */
describe('images close to expiry are rebuilt before they expire', () => {
  let fake: FakeTaskcluster;
  let databaseUrl: string;
  const open: TestService[] = [];
  const start = async (options: Parameters<typeof TestService.start>[0] = {}) => {
    const svc = await TestService.start({ fake, databaseUrl, extraConfig: REFRESH, ...options });
    open.push(svc);
    return svc;
  };
  const stop = async (svc: TestService) => {
    open.splice(open.indexOf(svc), 1);
    await svc.close();
  };
  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    await fake?.close();
    await browser?.close();
  });

  let sha: string;
  let oldTask: string;
  let digest: string;
  let expires: string;

  it('a level-3 push reusing an indexed image whose task expires in 40 days: nothing refreshed', async () => {
    fake = await FakeTaskcluster.start();
    databaseUrl = await freshDatabase();
    const svc = await start();
    sha = svc.headSha;
    const built = await pushOf(svc, await webhookPush(svc, 'refresh-1'));
    assert.equal(built.images.standalone!.decision, 'build');
    oldTask = built.images.standalone!.taskId!;
    expires = new Date(fake.now() + 40 * DAY).toISOString();
    // The task (and so its index entry and artifact) lives 40 days, as one made long ago would.
    fake.services.setExpires(oldTask, expires);
    for (const name of ['base', 'python', 'node-tools', 'lint', 'standalone']) fake.services.complete(built.images[name]!.taskId!);

    const reused = await pushOf(svc, await webhookPush(svc, 'refresh-2'));
    assert.equal(reused.push.level, 3);
    assert.equal(reused.images.standalone!.decision, 'indexed');
    assert.equal(reused.images.standalone!.taskId, oldTask);
    digest = reused.images.standalone!.digest!;

    const h = await nextPass(svc);
    assert.ok(h.refresh.lastRunAt! > reused.push.finishedAt!, 'a pass after the push was decided');
    assert.deepEqual(h.refresh, { windowDays: 30, intervalMinutes: 0.01, lastRunAt: h.refresh.lastRunAt, lastError: null });
    assert.deepEqual(h.expiring, []);
    assert.deepEqual(await rebuilds(svc), []);
    assert.equal(fake.count('createTask'), 5);
    await stop(svc);
  });

  it('dry run, 15 days later (within the window): listed as would-queue, nothing queued, no task created', async () => {
    fake.clockOffsetMs = 15 * DAY;
    const svc = await start({ dryRun: true, worker: false });
    const h = await nextPass(svc);
    assert.equal(h.dryRun, true);
    assert.deepEqual(h.expiring, [{ repository: 'acme', image: 'standalone', digest, taskId: oldTask, expires, refresh: 'would-queue', pushId: null }]);
    assert.deepEqual(await rebuilds(svc), []);
    assert.equal(fake.count('createTask'), 5);
    assert.equal(fake.services.tasks.size, 5);
    const shown = await dashboardRows(svc);
    assert.deepEqual(shown.problems, []);
    assert.equal(shown.rows.length, 1);
    assert.deepEqual([shown.rows[0]![0], shown.rows[0]![1], shown.rows[0]![3], shown.rows[0]![5]], ['standalone', 'acme', oldTask, 'would-queue']);
    await stop(svc);
  });

  let refreshId: string;

  it('at start-up, within the window: one forced rebuild push of that image at level 3, and no second one on the next passes', async () => {
    // No worker: the push stays queued, so each pass below still finds the old task in the branch's last decided graph.
    const svc = await start({ worker: false });
    const [queued] = await until('a refresh push', async () => {
      const found = await rebuilds(svc);
      return found.length > 0 ? found : null;
    });
    refreshId = queued!.id;
    assert.equal(queued!.state, 'queued');
    assert.equal(queued!.rev, sha);
    assert.equal(queued!.level, 3);
    assert.deepEqual(queued!.force, { image: 'standalone', withDescendants: false });
    const h = await nextPass(svc);
    assert.deepEqual(h.expiring, [{ repository: 'acme', image: 'standalone', digest, taskId: oldTask, expires, refresh: 'queued', pushId: refreshId }]);
    await nextPass(svc);
    assert.deepEqual(
      (await rebuilds(svc)).map((p) => p.id),
      [refreshId],
    );
    assert.equal(fake.count('createTask'), 5);
    await stop(svc);
  });

  it('after a restart nothing more is queued for that digest; the rebuild has the refresh reason, one createTask, and is indexed', async () => {
    const svc = await start({ worker: false });
    await nextPass(svc);
    assert.deepEqual(
      (await rebuilds(svc)).map((p) => p.id),
      [refreshId],
      'at most once per digest, across a restart',
    );

    await svc.service.worker.start();
    await svc.waitForPush(refreshId, 30_000);
    const reason = `refresh: expires ${expires}`;
    const refreshed = await pushOf(svc, refreshId);
    assert.equal(refreshed.push.state, 'decided');
    const image = refreshed.images.standalone!;
    assert.equal(image.decision, 'build');
    assert.equal(image.reason, reason);
    const newTask = image.taskId!;
    assert.notEqual(newTask, oldTask);
    for (const name of ['base', 'python', 'node-tools', 'lint']) assert.equal(refreshed.images[name]!.decision, 'indexed', name);
    const graph = await json<{ push: PushDoc; images: Record<string, ImageDoc> }>(svc, `/graph?rev=${sha}`);
    assert.equal(graph.push.id, refreshId);
    assert.equal(graph.images.standalone!.reason, reason);
    assert.equal(graph.images.standalone!.taskId, newTask);
    assert.equal(createTasksOf(fake, newTask), 1);
    assert.equal(fake.count('createTask'), 6);

    // Built: its index entries replace the old task's, so the next push reuses it.
    fake.services.complete(newTask);
    const next = await pushOf(svc, await webhookPush(svc, 'refresh-3'));
    assert.equal(next.images.standalone!.decision, 'indexed');
    assert.equal(next.images.standalone!.taskId, newTask);

    const h = await nextPass(svc);
    assert.deepEqual(h.expiring, [{ repository: 'acme', image: 'standalone', digest, taskId: oldTask, expires, refresh: 'done', pushId: refreshId }]);
    assert.deepEqual(
      (await rebuilds(svc)).map((p) => p.id),
      [refreshId],
    );
    assert.equal(fake.count('createTask'), 6);
  });
});
