import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { type Service, createService } from '../../src/service/service.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { CapturedLog, GENERIC_TOKEN, freePort } from '../support/app.ts';
import { GitHttpServer } from '../support/git-http-server.ts';
import { freshDatabase } from '../support/pg.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { tempDir } from '../support/temp.ts';
import { GIT_ENV, vectorRepo } from '../support/vectors.ts';

const execFileAsync = promisify(execFile);
const SICK_PUSHES = 8;
const HEALTHY_PUSHES = 4;

interface PushView {
  id: string;
  state: string;
}

async function commit(dir: string, message: string): Promise<string> {
  const git = async (...args: string[]) => (await execFileAsync('git', args, { cwd: dir, env: GIT_ENV })).stdout.trim();
  await git('commit', '-q', '--allow-empty', '-m', message);
  return git('rev-parse', 'HEAD');
}

/**
 * Issue 25, item 4: two workers, a repository whose git server accepts connections and never
 * answers (its fetches hang far longer than the test; the breaker never opens) beside a healthy
 * one. With one worker per repository, the sick repository holds at most one worker, so the
 * healthy pushes are decided while every sick push is still hung.
 */
describe('workersPerRepository: a hung upstream holds at most one worker', () => {
  let git: GitHttpServer;
  let proxy: TcpProxy;
  let store: ServiceStore;
  let service: Service;
  let app: FastifyInstance;
  let url: string;
  let healthy: { dir: string; head: string };
  let sick: { dir: string; head: string };

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
  const states = async (repository: string, ids: readonly string[]): Promise<string[]> => {
    const res = await fetch(`${url}/pushes?repo=${repository}&limit=500`);
    const all = new Map(((await res.json()) as { pushes: PushView[] }).pushes.map((p) => [p.id, p.state]));
    return ids.map((id) => all.get(id)!);
  };
  const decided = async (repository: string, ids: readonly string[]) => {
    for (const deadline = Date.now() + 60_000; ;) {
      if ((await states(repository, ids)).every((s) => s === 'decided')) return;
      assert.ok(Date.now() < deadline, `${repository} not decided`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    const root = await tempDir();
    healthy = await vectorRepo('acme/tree', join(root, 'upstream', 'healthy'));
    sick = await vectorRepo('acme/tree', join(root, 'upstream', 'sick'));
    git = await GitHttpServer.start({ projectRoot: join(root, 'upstream') });
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(git.url).port) });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const file = join(root, 'config.yml');
    // Fetches hang for ten minutes and the breaker never opens: only the cap keeps a worker free.
    await writeFile(
      file,
      `dataDir: ${join(root, 'data')}\nport: ${port}\npublicUrl: ${url}\nfetchTimeoutSeconds: 600\nworkerConcurrency: 2\n` +
        'upstreamBreaker: {failures: 100, probeIntervalSeconds: 600}\n' +
        `repositories:\n  - name: healthy\n    url: ${git.url}/healthy\n` +
        `  - name: sick\n    url: http://127.0.0.1:${proxy.port}/sick\n`,
    );
    const databaseUrl = await freshDatabase();
    const config = await loadConfig({ file, env: { DATABASE_URL: databaseUrl, IMAGE_DECIDER_GENERIC_TOKEN: GENERIC_TOKEN } });
    assert.equal(config.workersPerRepository, 1, 'the default');
    store = await openStore({ databaseUrl, dataDir: config.dataDir });
    service = await createService(config, new CapturedLog().logger, { store, taskcluster: null, workerId: 'cap', leaseMs: 10_000, idlePollMs: 50 });
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
  });

  it('the healthy pushes are decided while the sick repository holds one worker and all its pushes hang', async () => {
    // Both answer at first: their mirrors exist.
    const first = [await push('healthy', healthy.head), await push('sick', sick.head)];
    await decided('healthy', [first[0]!]);
    await decided('sick', [first[1]!]);

    const sickRevs: string[] = [];
    for (let i = 0; i < SICK_PUSHES; i++) sickRevs.push(await commit(sick.dir, `sick ${i}`));
    proxy.stall();
    const sickIds: string[] = [];
    for (const rev of sickRevs) sickIds.push(await push('sick', rev));
    // Both workers would be free to take the sick pushes now; wait until one has.
    while (!(await states('sick', sickIds)).includes('deciding')) await new Promise((r) => setTimeout(r, 50));

    const healthyIds: string[] = [];
    for (let i = 0; i < HEALTHY_PUSHES; i++) healthyIds.push(await push('healthy', await commit(healthy.dir, `healthy ${i}`)));
    for (;;) {
      const sickStates = await states('sick', sickIds);
      assert.ok(sickStates.filter((s) => s === 'deciding').length <= 1, `the sick repository holds more than one worker: ${sickStates.join(', ')}`);
      assert.deepEqual(
        sickStates.filter((s) => s !== 'queued' && s !== 'deciding'),
        [],
        'every sick push is still hung',
      );
      const healthyStates = await states('healthy', healthyIds);
      if (healthyStates.every((s) => s === 'decided')) break;
      assert.deepEqual(
        healthyStates.filter((s) => s === 'failed'),
        [],
      );
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
