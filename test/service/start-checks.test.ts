import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../support/app.ts';
import { OFFLINE_ENV } from '../support/cli.ts';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';
import { tempDir } from '../support/temp.ts';
import { vectorRepo } from '../support/vectors.ts';

const SERVER = resolve(import.meta.dirname, '../../src/server.ts');
const ROOT = resolve(import.meta.dirname, '../..');

/** Everything started here, stopped at the end (a process that should have refused to start included). */
const running: Array<{ stop(): Promise<void> }> = [];

/** The service's process from its sources: until it serves or exits (`code`). */
class Started {
  output = '';
  code: number | null = null;
  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (this.output += c.toString()));
  }

  static async run(args: string[], env: NodeJS.ProcessEnv): Promise<Started> {
    const started = new Started(
      spawn(process.execPath, ['--import', 'tsx', SERVER, ...args], { cwd: ROOT, env: { ...OFFLINE_ENV, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    running.push(started);
    const deadline = Date.now() + 60_000;
    while (!started.output.includes('image-decider is serving')) {
      if (started.child.exitCode !== null) {
        started.code = started.child.exitCode;
        return started;
      }
      assert.ok(Date.now() < deadline, `the service neither served nor exited:\n${started.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return started;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await once(this.child, 'exit');
  }
}

describe('the service’s start: what it refuses, and what it says', () => {
  after(async () => {
    for (const r of running.reverse()) await r.stop();
  });
  const repoConfig = async (dir: string, text: string, repoText = '') => {
    const repoDir = join(dir, 'acme');
    if (!existsSync(repoDir)) await vectorRepo('acme/tree', repoDir);
    const path = join(dir, `config-${Math.random().toString(36).slice(2)}.yml`);
    await writeFile(path, `dataDir: ${join(dir, 'data')}\n${text}repositories:\n  - name: acme\n    url: ${repoDir}\n${repoText}`);
    return path;
  };

  it('live without publicUrl, or with a loopback one, exits 1 naming it, without a stack (tests on loopback set allowLoopbackPublicUrl)', async () => {
    const dir = await tempDir();
    const port = await freePort();
    const live = { TASKCLUSTER_ROOT_URL: 'http://127.0.0.1:9', DATABASE_URL: '' };
    const missing = await Started.run(['--config', await repoConfig(dir, `port: ${port}\n`)], live);
    assert.equal(missing.code, 1, missing.output);
    assert.match(missing.output, /image-decider: bad-config: TASKCLUSTER_ROOT_URL is set \(live\), but publicUrl is not set \(it would be http:\/\/localhost:\d+\)/);
    assert.doesNotMatch(missing.output, /\n\s+at /, 'no stack');
    const loopback = await Started.run(['--config', await repoConfig(dir, `port: ${port}\npublicUrl: http://localhost:${port}\n`)], live);
    assert.equal(loopback.code, 1, loopback.output);
    assert.match(loopback.output, /publicUrl http:\/\/localhost:\d+ is a loopback address: builders fetch their contexts from publicUrl/);
  });

  it('a port in use: exits 1 naming the port and what to change, without a raw EADDRINUSE stack', async () => {
    const dir = await tempDir();
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    try {
      const started = await Started.run(['--config', await repoConfig(dir, `port: ${port}\nhost: 127.0.0.1\n`)], { DATABASE_URL: '' });
      assert.equal(started.code, 1, started.output);
      assert.match(
        started.output,
        new RegExp(`image-decider: bad-config: cannot listen on port ${port} \\(host 127\\.0\\.0\\.1\\): it is in use by another process; .*\`port\` or the PORT variable`),
      );
      assert.doesNotMatch(started.output, /\n\s+at /, 'no stack');
    } finally {
      taken.close();
    }
  });

  it('the bundled example stays dry when the shell exports TASKCLUSTER_ROOT_URL, says so first, and decides its head once across restarts', async () => {
    const port = await freePort();
    const env = {
      PORT: String(port),
      IMAGE_DECIDER_DATA_DIR: join(await tempDir(), 'data'),
      DATABASE_URL: '',
      IMAGE_DECIDER_CONFIG: '',
      TASKCLUSTER_ROOT_URL: 'https://tc.example.com',
    };
    const pushes = async () => ((await (await fetch(`http://127.0.0.1:${port}/pushes`)).json()) as { pushes: Array<{ id: string; state: string; rev: string }> }).pushes;
    const first = await Started.run([], env);
    assert.equal(first.code, null, first.output);
    const lines = first.output.split('\n').filter(Boolean);
    assert.match(JSON.parse(lines[0]!).msg as string, /^dry run: no configuration file, serving the bundled example \(TASKCLUSTER_ROOT_URL is ignored/);
    assert.equal(((await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { dryRun: boolean }).dryRun, true);
    const deadline = Date.now() + 60_000;
    let listed = await pushes();
    while (listed[0]?.state !== 'decided') {
      assert.ok(Date.now() < deadline, `the example's head was not decided: ${JSON.stringify(listed)}\n${first.output}`);
      await new Promise((r) => setTimeout(r, 200));
      listed = await pushes();
    }
    assert.equal(listed.length, 1);
    await first.stop();
    const second = await Started.run([], env);
    assert.equal(second.code, null, second.output);
    assert.deepEqual(
      (await pushes()).map((p) => p.id),
      [listed[0]!.id],
      'a restart queues nothing more',
    );
    await second.stop();
  });

  it('a client whose scopes cannot be read: the check is unknown (degraded), and start-up warns with the needed scopes, naming those the Index refuses', async () => {
    const fake = await FakeTaskcluster.start();
    running.push({ stop: () => fake.close() });
    fake.clients.set('server', []);
    fake.failNext(1000, { status: 403, names: ['currentScopes'] });
    const dir = await tempDir();
    const port = await freePort();
    const config = await repoConfig(dir, `port: ${port}\nhost: 127.0.0.1\npublicUrl: http://127.0.0.1:${port}\nallowLoopbackPublicUrl: true\n`, '    trustDomain: acme\n');
    const server = await Started.run(['--config', config], {
      DATABASE_URL: '',
      TASKCLUSTER_ROOT_URL: fake.rootUrl,
      TASKCLUSTER_CLIENT_ID: 'server',
      TASKCLUSTER_ACCESS_TOKEN: 'server-token',
    });
    assert.equal(server.code, null, server.output);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (!server.output.includes('Taskcluster scopes')) {
      assert.ok(Date.now() < deadline, `no scope check logged:\n${server.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const line = JSON.parse(server.output.split('\n').find((l) => l.includes('Taskcluster scopes'))!) as { level: number; msg: string; needed: string[]; missing: string[] };
    assert.equal(line.level, 40, 'a warning');
    assert.match(line.msg, /^Taskcluster scopes unknown: could not read the client’s scopes/);
    for (const scope of ['queue:create-task:low:acme-3/images', 'queue:route:index.acme.cache.level-3.docker-images.v2.*']) assert.ok(line.needed.includes(scope), scope);
    assert.ok(line.missing.includes('index:find-task:acme.cache.level-3.docker-images.v2.*'), JSON.stringify(line.missing));
    assert.ok(
      line.missing.every((s) => s.startsWith('index:find-task:')),
      JSON.stringify(line.missing),
    );
    assert.match(line.msg, /the Index refused lookups needing index:find-task:acme\.cache\.level-3/);
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string; checks: Array<{ name: string; status: string; detail: string }> };
    const check = health.checks.find((c) => c.name === 'taskcluster-scopes')!;
    assert.equal(check.status, 'degraded');
    assert.match(check.detail, /^unknown: could not read the client’s scopes/);
    assert.equal(health.status, 'degraded');
  });
});
