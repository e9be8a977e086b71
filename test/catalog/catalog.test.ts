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
      'job-defaults:',
      '  args: {A: "1"}',
      'jobs:',
      '  a: {parent: b}',
      '  b: {parent: a}',
      '  c: {parent: a}',
      '  d: {parent: nowhere}',
      '  e: {}',
      '  f: {definition: gone}',
    ].join('\n');
    const files: Record<string, string> = {};
    for (const n of ['a', 'b', 'c', 'd', 'e']) files[`taskcluster/docker/${n}/Dockerfile`] = 'FROM x\n';
    const { catalog, images } = await byName(taskgraphRepo(kind, files));
    assert.equal(catalog.layout, 'taskgraph');
    assert.equal(images.get('a')!.error?.code, 'parent-cycle');
    assert.equal(images.get('b')!.error?.code, 'parent-cycle');
    assert.match(images.get('b')!.error!.message, /: b -> a -> b$/);
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

  it('accepts every name the Index can hold (python3.11, gcc-4.4, x~(1)) and refuses the rest with bad-image-name, saying why', async () => {
    const ok = ['python3.11', 'gcc-4.4', "x~(1)!*'%", 'a_b'];
    const refused: Record<string, RegExp> = {
      'a/b': /"\/"/,
      'a..b': /empty word/,
      '.hidden': /empty word/,
      'trailing.': /empty word/,
      'with space': /not "with space"/,
      café: /not "café"/,
      [`long${'x'.repeat(160)}`]: /over the Queue's 249/,
    };
    const names = [...ok, ...Object.keys(refused)];
    const kind = `tasks:\n${names.map((n) => `  ${JSON.stringify(n)}: {definition: img}`).join('\n')}\n`;
    const { images } = await byName(taskgraphRepo(kind, { 'taskcluster/docker/img/Dockerfile': 'FROM x\n' }));
    for (const name of ok) assert.equal(images.get(name)!.error, null, name);
    for (const [name, why] of Object.entries(refused)) {
      const { error } = images.get(name)!;
      assert.equal(error?.code, 'bad-image-name', name);
      assert.match(error!.message, why);
    }
  });

  it('a folder whose name the Index cannot hold is a bad-image-name image, the others are listed', async () => {
    const { images } = await byName({ 'taskcluster/docker/py3.12/Dockerfile': 'FROM x\n', 'taskcluster/docker/a b/Dockerfile': 'FROM x\n' });
    assert.equal(images.get('py3.12')!.error, null);
    assert.equal(images.get('a b')!.error?.code, 'bad-image-name');
  });

  it('reads the taskcluster/ci layout of taskgraph before release 8, with its own config.yml; the 2016 list stays legacy-2016', async () => {
    const ci = await byName({
      'taskcluster/ci/config.yml': 'trust-domain: old\ntaskgraph: {cached-task-prefix: old.v2}\n',
      'taskcluster/config.yml': 'trust-domain: not-read\n',
      'taskcluster/ci/docker-image/kind.yml': 'job-defaults: {args: {A: "1"}}\njobs:\n  deb12: {}\n  py3.12: {parent: deb12, args: {B: "2"}}\n',
      'taskcluster/docker/deb12/Dockerfile': 'FROM x\n',
      'taskcluster/docker/py3.12/Dockerfile': 'FROM x\n',
    });
    assert.equal(ci.catalog.layout, 'taskgraph-ci');
    assert.equal(ci.catalog.kindFile, 'taskcluster/ci/docker-image/kind.yml');
    assert.equal(ci.catalog.trustDomain, 'old');
    assert.equal(ci.catalog.cachePrefix, 'old.v2');
    assert.deepEqual(ci.images.get('py3.12')!.args, { A: '1', B: '2' });
    assert.equal(ci.images.get('py3.12')!.parent, 'deb12');
    const legacy = await byName({
      'taskcluster/ci/docker-image/kind.yml': 'images_path: ../../docker\nimages: [deb12]\n',
      'taskcluster/docker/deb12/Dockerfile': 'FROM x\n',
    });
    assert.equal(legacy.catalog.layout, 'legacy-2016');
    assert.equal(legacy.images.get('deb12')!.error, null);
    await assert.rejects(byName({ 'taskcluster/ci/docker-image/kind.yml': 'jobs: [a, b]\n' }), { code: 'bad-kind-file', message: /jobs must be a mapping/ });
  });

  it('names each parent cycle as it is, not every cycled image in one made-up path', async () => {
    const kind = 'tasks:\n  a: {parent: b}\n  b: {parent: c}\n  c: {parent: a}\n  x: {parent: y}\n  y: {parent: x}\n  self: {parent: self}\n';
    const files = Object.fromEntries(['a', 'b', 'c', 'x', 'y', 'self'].map((n) => [`taskcluster/docker/${n}/Dockerfile`, 'FROM z\n']));
    const { images } = await byName(taskgraphRepo(kind, files));
    const message = (n: string) => images.get(n)!.error!.message;
    assert.match(message('a'), /: a -> b -> c -> a$/);
    assert.match(message('c'), /: c -> a -> b -> c$/);
    assert.match(message('y'), /: y -> x -> y$/);
    assert.match(message('self'), /: self -> self$/);
  });

  it('refuses a kind file over its byte limit before parsing it, and a revision declaring too many images, with limit-exceeded', async () => {
    const limits = { kindFileBytes: 4096, images: 50 };
    const load = async (files: Parameters<typeof writeTree>[1]) => loadCatalog(new DirectoryTree(await writeTree(await tempDir(), files)), limits);
    // Not even YAML: a parse would fail with bad-kind-file, the size check comes first.
    await assert.rejects(load(taskgraphRepo(`tasks: [${'x'.repeat(5000)}`, {})), { code: 'limit-exceeded', message: /kind.yml is 5008 bytes, over the limit of 4096/ });
    const many = `tasks:\n${Array.from({ length: 51 }, (_, i) => `  i${i}: {definition: img}`).join('\n')}\n`;
    await assert.rejects(load(taskgraphRepo(many, {})), { code: 'limit-exceeded', message: /declares 51 images, over the limit of 50/ });
    const folders = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`taskcluster/docker/f${i}/Dockerfile`, 'FROM x\n']));
    await assert.rejects(load(folders), { code: 'limit-exceeded' });
    assert.equal((await load(taskgraphRepo(many.split('\n').slice(0, 51).join('\n'), { 'taskcluster/docker/img/Dockerfile': 'FROM x\n' }))).images.length, 50);
  });
});
