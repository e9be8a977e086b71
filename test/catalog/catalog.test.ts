import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadCatalog } from '../../src/catalog/load.ts';
import { DirectoryTree } from '../../src/tree/directory-tree.ts';
import { tempDir } from '../support/temp.ts';
import { taskgraphRepo, writeTree } from '../support/trees.ts';

const byName = async (files: Parameters<typeof writeTree>[1]) => {
  const catalog = await loadCatalog(new DirectoryTree(await writeTree(await tempDir(), files)));
  return { catalog, images: new Map(catalog.images.map((i) => [i.name, i])) };
};

describe('image catalog', () => {
  it('reads jobs: with job-defaults, and flags cycles, unknown parents and missing Dockerfiles', async () => {
    const kind = [
      'job-defaults:', '  args: {A: "1"}', 'jobs:',
      '  a: {parent: b}', '  b: {parent: a}', '  c: {parent: a}', '  d: {parent: nowhere}', '  e: {}', '  f: {definition: gone}',
    ].join('\n');
    const files: Record<string, string> = {};
    for (const n of ['a', 'b', 'c', 'd', 'e']) files[`taskcluster/docker/${n}/Dockerfile`] = 'FROM x\n';
    const { catalog, images } = await byName(taskgraphRepo(kind, files));
    assert.equal(catalog.layout, 'taskgraph');
    assert.equal(images.get('a')!.error?.code, 'parent-cycle');
    assert.equal(images.get('b')!.error?.code, 'parent-cycle');
    assert.equal(images.get('c')!.error, null, 'below a cycle: blocked later, not an error itself');
    assert.equal(images.get('d')!.error?.code, 'unknown-parent');
    assert.equal(images.get('f')!.error?.code, 'missing-dockerfile');
    assert.deepEqual(images.get('e')!.args, { A: '1' });
    const order = catalog.images.map((i) => i.name);
    assert.ok(order.indexOf('c') > order.indexOf('a'));
  });

  it('without a kind file, finds images by folder and parents by FROM; a bad HASH is an error', async () => {
    const { catalog, images } = await byName({
      'taskcluster/docker/base/Dockerfile': 'FROM debian:12\n',
      'taskcluster/docker/child/Dockerfile': '# comment\nFROM --platform=linux/amd64 base:latest AS build\n',
      'taskcluster/docker/reg/VERSION': '1.0\n',
      'taskcluster/docker/reg/HASH': 'sha256:nothex\n',
      'taskcluster/docker/empty/README': 'no Dockerfile\n',
    });
    assert.equal(catalog.layout, 'folders');
    assert.equal(images.get('child')!.parent, 'base');
    assert.equal(images.get('base')!.parent, null);
    assert.equal(images.get('reg')!.error?.code, 'bad-registry-hash');
    assert.equal(images.has('empty'), false);
  });

  it('an unparseable kind file fails the whole catalog with bad-kind-file', async () => {
    await assert.rejects(byName(taskgraphRepo('tasks: [unclosed', {})), { code: 'bad-kind-file' });
  });
});
