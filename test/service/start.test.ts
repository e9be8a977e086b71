import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../support/app.ts';
import { OFFLINE_ENV } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const ROOT = resolve(import.meta.dirname, '../..');

describe('npm start (build, then the compiled service) with no configuration', () => {
  let child: ChildProcess | undefined;
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid!, 'SIGKILL');
      await once(child, 'exit');
    }
  });

  it('serves the bundled example in dry-run mode on the embedded store (dry though the shell exports TASKCLUSTER_ROOT_URL), its head decided at first start; /graph?rev=HEAD lists its images', async () => {
    const port = await freePort();
    const dataDir = join(await tempDir(), 'data');
    const env = { ...OFFLINE_ENV, PORT: String(port), IMAGE_DECIDER_DATA_DIR: dataDir, DATABASE_URL: '', IMAGE_DECIDER_CONFIG: '', TASKCLUSTER_ROOT_URL: 'https://tc.example.com' };
    child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 90_000; // the build (tsc) comes first
    while (!output.includes('image-decider is serving')) {
      assert.ok(child.exitCode === null, `npm start exited:\n${output}`);
      assert.ok(Date.now() < deadline, `npm start did not come up:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Said first, in one line: dry, and why (a shell's TASKCLUSTER_ROOT_URL does not make the example live).
    assert.match(
      JSON.parse(output.split('\n').find((l) => l.startsWith('{'))!).msg as string,
      /^dry run: no configuration file, serving the bundled example \(TASKCLUSTER_ROOT_URL is ignored/,
    );
    // The first start decides the example's head: the dashboard has a push to show.
    type Listed = { pushes: Array<{ state: string; repository: string }> };
    let listed: Listed['pushes'] = [];
    for (const until = Date.now() + 60_000; listed[0]?.state !== 'decided'; await new Promise((r) => setTimeout(r, 200))) {
      assert.ok(Date.now() < until, `the example's head was not decided: ${JSON.stringify(listed)}\n${output}`);
      listed = ((await (await fetch(`http://localhost:${port}/pushes`)).json()) as Listed).pushes;
    }
    assert.deepEqual(
      listed.map((p) => p.repository),
      ['acme'],
    );
    const graph = (await (await fetch(`http://localhost:${port}/graph?rev=HEAD`)).json()) as {
      state: string;
      dryRun: boolean;
      images: Record<string, { kind: string; decision: string; dryRun?: boolean; contextHash?: string; digest?: string }>;
    };
    assert.equal(graph.state, 'decided');
    assert.deepEqual(Object.keys(graph.images).sort(), ['base', 'lint', 'node-tools', 'prebuilt', 'python', 'standalone']);
    assert.equal(graph.images.prebuilt!.kind, 'registry');
    // The example is the acme vector's tree: the compiled service hashes it as the reference does
    // (its symlink included, as the build copied it beside the JavaScript).
    const expected = JSON.parse(await readFile(join(ROOT, 'test/fixtures/vectors/acme/expected.json'), 'utf8')) as {
      images: Record<string, { contextHash: string; digest: string }>;
    };
    for (const [name, want] of Object.entries(expected.images)) {
      assert.deepEqual([graph.images[name]?.contextHash, graph.images[name]?.digest], [want.contextHash, want.digest], name);
    }
    assert.ok(
      Object.values(graph.images)
        .filter((i) => i.kind === 'build')
        .every((i) => i.decision === 'build' && i.dryRun === true),
    );
    const health = (await (await fetch(`http://localhost:${port}/health`)).json()) as { status: string; dryRun: boolean };
    assert.deepEqual([health.status, health.dryRun], ['ok', true]);
    // npm start runs the compiled build: the files it copies beside the JavaScript are found.
    assert.equal((await fetch(`http://localhost:${port}/dashboard/dashboard.js`)).status, 200);

    // As a terminal's Ctrl-C does: the signal goes to npm and the server alike.
    process.kill(-child.pid!, 'SIGTERM');
    await once(child, 'exit');
    const stopped = Date.now() + 10_000;
    while (!output.includes('stopping: finishing requests')) {
      assert.ok(Date.now() < stopped, `no graceful stop:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.doesNotMatch(output, /"level":50/, 'no error logged');
  });
});
