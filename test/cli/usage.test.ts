import assert from 'node:assert/strict';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, initRepo } from '../support/vectors.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** The long option names a command's help lists. */
const listed = (help: string) => new Set([...help.matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!));

describe('image-decider usage', () => {
  it('graph and context on a folder that is no taskgraph repository exit 2 and say so', async () => {
    const plain = await tempDir();
    await mkdir(join(plain, 'src'));
    await writeFile(join(plain, 'src/readme.txt'), 'no taskcluster here\n');
    const repo = await tempDir();
    await mkdir(join(repo, 'docs'));
    await writeFile(join(repo, 'docs/index.md'), '# docs\n');
    initRepo(repo);
    commitAll(repo);
    for (const [path, args] of [
      [plain, ['graph', '--repo', plain]],
      [plain, ['graph', '--repo', plain, '--json']],
      [repo, ['graph', '--repo', repo, '--json']],
      [repo, ['graph', '--repo', repo, '--rev', 'HEAD']],
      [repo, ['context', '--repo', repo, 'anything']],
    ] as const) {
      const result = await runCli([...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stdout.length, 0, args.join(' '));
      assert.ok(result.stderr.includes(`error: ${path}`), result.stderr);
      assert.match(result.stderr, /is no taskgraph repository: it has no taskcluster\/kinds\/docker-image\/kind\.yml/);
    }
  });

  it('context --help lists only what changes a context, and refuses the rest', async () => {
    const context = await runCli(['context', '--help']);
    assert.equal(context.code, 0);
    assert.deepEqual([...listed(context.stdout.toString())].sort(), ['--help', '--repo', '--rev', '--run-task-dir']);
    const refused = await runCli(['context', '--repo', ROOT, '--level', '1', 'x']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /unknown option '--level'/);

    const graph = listed((await runCli(['graph', '--help'])).stdout.toString());
    for (const option of ['--repo', '--rev', '--run-task-dir', '--level', '--pr', '--algorithm', '--builder-image', '--trust-domain', '--project', '--json', '--explain']) {
      assert.ok(graph.has(option), option);
    }
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.toString(), `${version}\n`);
    }
    assert.match((await runCli(['--help'])).stdout.toString(), /-V, --version\s+print the version/);
  });
});
