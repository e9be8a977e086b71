import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { ImageChanges } from '../../src/domain/index.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, initRepo, materialise } from '../support/vectors.ts';

interface Doc {
  images: Record<string, { decision: string; reason: string; changes?: ImageChanges }>;
}

describe('graph --explain', () => {
  let repo: string;
  let first: string;

  before(async () => {
    repo = await materialise('acme/tree', join(await tempDir(), 'repo'));
    initRepo(repo);
    first = commitAll(repo);
    await writeFile(join(repo, 'scripts/setup.sh'), '#!/bin/sh\necho v2\n');
    const kind = join(repo, 'taskcluster/kinds/docker-image/kind.yml');
    await writeFile(kind, (await readFile(kind, 'utf8')).replace('"3.12"', '"3.13"'));
    commitAll(repo, 'setup.sh and python 3.13');
  });

  it('--json: each build says what changed since the first parent: the included file, the arg, the parents’ digests; an unchanged image says so', async () => {
    const result = await runCli(['graph', '--repo', repo, '--explain', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const { images } = JSON.parse(result.stdout.toString()) as Doc;
    const base = images.base!.changes!;
    assert.equal(base.kind, 'changed');
    assert.deepEqual(
      base.files!.list.map((f) => [f.change, f.path, f.include]),
      [['changed', 'topsrcdir/scripts/setup.sh', 'scripts/setup.sh']],
    );
    assert.match(images.base!.reason, /^changed since [0-9a-f]{12}: 1 file changed: scripts\/setup\.sh \(%include scripts\/setup\.sh\); dry run/);
    assert.equal(base.since!.rev, first);
    assert.deepEqual(images.python!.changes!.args, { PYTHON_VERSION: { before: '3.12', after: '3.13' } });
    assert.equal(images.python!.changes!.parent!.name, 'base');
    assert.equal(images.lint!.changes!.parent!.name, 'python');
    assert.equal(images.lint!.changes!.files, undefined, 'lint’s own context did not change');
    for (const name of ['node-tools', 'python', 'lint']) assert.doesNotMatch(images[name]!.reason, /setup\.sh/, name);
    assert.equal(images.standalone!.changes!.kind, 'unchanged');
    assert.equal(images.prebuilt!.changes, undefined, 'a registry image is not built');
  });

  it('prints the changes under the table, and compares with --since', async () => {
    const text = (await runCli(['graph', '--repo', repo, '--explain'])).stdout.toString();
    assert.match(text, /What changed since HEAD~1:/);
    assert.match(text, /\n {6}changed +scripts\/setup\.sh \(%include scripts\/setup\.sh\) +\d+ bytes → \d+ bytes\n/);
    assert.match(text, /%ARG PYTHON_VERSION: 3\.12 → 3\.13/);
    const same = JSON.parse((await runCli(['graph', '--repo', repo, '--explain', '--since', 'HEAD', '--json'])).stdout.toString()) as Doc;
    assert.ok(Object.values(same.images).every((i) => !i.changes || i.changes.kind === 'unchanged'));
    const plain = JSON.parse((await runCli(['graph', '--repo', repo, '--json'])).stdout.toString()) as Doc;
    assert.ok(
      Object.values(plain.images).every((i) => i.changes === undefined),
      'without --explain, nothing is compared',
    );
  });
});
