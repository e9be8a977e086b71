import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';
import { freshDatabase } from '../support/pg.ts';
import { newTaskId } from '../../src/taskcluster/task-id.ts';

const DAY = 24 * 3600_000;
// One pass at start-up and none after it during a test: requests per pass can be counted.
const REFRESH = 'refresh:\n  intervalMinutes: 600\n  windowDays: 30\n';
const IMAGES = ['base', 'python', 'node-tools', 'lint', 'standalone'];

interface ImageDoc {
  decision: string;
  taskId: string | null;
  digest: string | null;
}
interface Expiring {
  image: string;
  taskId: string;
  refresh: string;
}
interface HealthDoc {
  expiring: Expiring[];
  refresh: { lastRunAt: string | null; lastError: unknown };
}

const json = async <T>(svc: TestService, path: string): Promise<T> => {
  const res = await fetch(`${svc.url}${path}`);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return (await res.json()) as T;
};
const rebuilds = async (svc: TestService) =>
  (await json<{ pushes: Array<{ id: string; source: string; force: { image: string } | null }> }>(svc, '/pushes?limit=500')).pushes.filter((p) => p.source === 'rebuild');

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A level-3 push builds the acme images and they complete, each task living as long as
 * `recordedLife`; then the Index's level-3 `hash` entry of standalone's digest is re-pointed
 * to another completed task living `repointedLife`, as a later re-index would.
 */
async function decideThenRepoint(recordedLife: number, repointedLife: number) {
  const fake = await FakeTaskcluster.start();
  const databaseUrl = await freshDatabase();
  const svc = await TestService.start({ fake, databaseUrl, extraConfig: REFRESH });
  const body = JSON.stringify(githubPush(svc.headSha));
  const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, 'repoint-1') });
  assert.equal(res.status, 202);
  const { pushId } = (await res.json()) as { pushId: string };
  await svc.waitForPush(pushId, 30_000);
  const { images } = await json<{ images: Record<string, ImageDoc> }>(svc, `/pushes/${pushId}`);
  await svc.close();
  const recorded = images.standalone!.taskId!;
  assert.equal(images.standalone!.decision, 'build');
  fake.services.setExpires(recorded, new Date(fake.now() + recordedLife).toISOString());
  for (const name of IMAGES) fake.services.complete(images[name]!.taskId!);

  const path = [...fake.services.index.keys()].find((ns) => ns.includes('.cache.level-3.') && ns.endsWith(`.standalone.hash.${images.standalone!.digest}`));
  assert.ok(path, 'standalone is indexed at level 3');
  const old = fake.services.index.get(path)!;
  assert.equal(old.taskId, recorded);
  const repointed = newTaskId();
  const expires = new Date(fake.now() + repointedLife).toISOString();
  const definition = { ...fake.services.getTask(recorded).submitted, routes: [], expires };
  fake.services.createTask(repointed, definition);
  fake.services.complete(repointed);
  fake.services.insert(path, { taskId: repointed, rank: old.rank + 1, data: {}, expires });
  return { fake, databaseUrl, recorded, repointed };
}

/** A service's start-up pass (no worker: a queued rebuild stays queued), and the Index requests it made. */
async function startUpPass(fake: FakeTaskcluster, databaseUrl: string) {
  const before = fake.requests.length;
  const svc = await TestService.start({ fake, databaseUrl, extraConfig: REFRESH, worker: false });
  const h = await until('the start-up pass', async () => {
    const doc = await json<HealthDoc>(svc, '/health');
    return doc.refresh.lastRunAt ? doc : null;
  });
  const requests = fake.requests.slice(before);
  return { svc, h, lookups: requests.filter((r) => r.name === 'findTasksAtIndex').length, findTask: requests.filter((r) => r.name === 'findTask').length };
}

/** Issue 25 item 7: the refresher judges the task the Index names now, not the one its last decision recorded. */
describe('refresh judges what the Index names now', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup) await c();
  });

  it('re-pointed since the decision to a task expiring inside the window: a rebuild is queued for it, in one Index request', async () => {
    const { fake, databaseUrl, repointed } = await decideThenRepoint(365 * DAY, 20 * DAY);
    cleanup.push(() => fake.close());
    const { svc, h, lookups, findTask } = await startUpPass(fake, databaseUrl);
    cleanup.push(() => svc.close());
    assert.equal(h.refresh.lastError, null);
    assert.deepEqual(
      h.expiring.map((e) => [e.image, e.taskId, e.refresh]),
      [['standalone', repointed, 'queued']],
    );
    assert.deepEqual(
      (await rebuilds(svc)).map((p) => p.force?.image),
      ['standalone'],
    );
    assert.equal(lookups, 1, 'one findTasksAtIndex per pass');
    assert.equal(findTask, 0);
  });

  it('re-pointed to a task that lives long while the recorded one expires inside the window: nothing queued', async () => {
    const { fake, databaseUrl } = await decideThenRepoint(20 * DAY, 365 * DAY);
    cleanup.push(() => fake.close());
    const { svc, h, lookups } = await startUpPass(fake, databaseUrl);
    cleanup.push(() => svc.close());
    assert.equal(h.refresh.lastError, null);
    assert.deepEqual(h.expiring, []);
    assert.deepEqual(await rebuilds(svc), []);
    assert.equal(lookups, 1);
  });
});
