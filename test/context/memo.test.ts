import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DEFAULT_BUILDER_IMAGE } from '../../src/context/digest.ts';
import { testHasher } from '../support/hashers.ts';
import { GraphBuilder } from '../../src/graph/build-graph.ts';
import type { ImageNode } from '../../src/graph/types.ts';
import type { GitRepo } from '../../src/tree/git-repo.ts';
import { GitTree } from '../../src/tree/git-tree.ts';
import { openRepo } from '../support/sources.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, initRepo, materialise } from '../support/vectors.ts';

const OPTIONS = { level: 3, pullRequest: false, algorithm: 'taskgraph', builderImage: DEFAULT_BUILDER_IMAGE, pushDate: new Date(0) } as const;

describe('memoised hashing across revisions', () => {
  let dir: string;
  let repo: GitRepo;
  let builder: GraphBuilder;
  let first: Map<string, ImageNode>;
  let firstSha: string;

  /** Builds the graph at HEAD; returns it with the blob bytes read meanwhile. */
  const graphAtHead = async () => {
    const before = repo.stats.blobBytesRead;
    const graph = await builder.build(await GitTree.open(repo, 'HEAD'), OPTIONS);
    return { images: new Map(graph.images.map((i) => [i.name, i])), blobBytes: repo.stats.blobBytesRead - before };
  };

  before(async () => {
    dir = await materialise('acme/tree', join(await tempDir(), 'acme'));
    initRepo(dir);
    firstSha = commitAll(dir);
    repo = await openRepo(dir);
    builder = new GraphBuilder(testHasher());
    const cold = await graphAtHead();
    first = cold.images;
    assert.ok(cold.blobBytes > 0);
    assert.ok([...first.values()].every((i) => i.memoHit !== true));
  });

  it('a new revision that changes no image reads no blob and hits the memo for every image', async () => {
    await writeFile(join(dir, 'unrelated.txt'), 'hello\n');
    commitAll(dir, 'unrelated');
    const hitsBefore = builder.hasher.memo.hits;
    const warm = await graphAtHead();
    assert.equal(warm.blobBytes, 0);
    for (const [name, image] of warm.images) {
      if (image.kind !== 'build') continue;
      assert.equal(image.memoHit, true, name);
      assert.equal(image.contextHash, first.get(name)!.contextHash);
      assert.equal(image.digest, first.get(name)!.digest);
    }
    assert.equal(builder.hasher.memo.hits - hitsBefore, 5);
  });

  it('a change to a file base includes rehashes base only; descendants get new digests', async () => {
    await writeFile(join(dir, 'scripts/setup.sh'), '#!/bin/sh\napt-get update -y\n');
    commitAll(dir, 'setup');
    const { images } = await graphAtHead();
    assert.equal(images.get('base')!.memoHit, false);
    assert.notEqual(images.get('base')!.contextHash, first.get('base')!.contextHash);
    for (const name of ['python', 'node-tools', 'lint']) {
      assert.equal(images.get(name)!.memoHit, true, name);
      assert.equal(images.get(name)!.contextHash, first.get(name)!.contextHash);
      assert.notEqual(images.get(name)!.digest, first.get(name)!.digest, `${name} digest follows its parent`);
    }
    assert.equal(images.get('standalone')!.digest, first.get('standalone')!.digest);
  });

  it('a change to a symlink target rehashes the image whose context links to it', async () => {
    await writeFile(join(dir, 'docs/README.md'), '# Acme 2\n');
    commitAll(dir, 'docs');
    const { images } = await graphAtHead();
    assert.equal(images.get('standalone')!.memoHit, false);
    assert.notEqual(images.get('standalone')!.contextHash, first.get('standalone')!.contextHash);
    assert.equal(images.get('node-tools')!.memoHit, false, 'node-tools includes docs/README.md');
    assert.equal(images.get('lint')!.memoHit, true);
  });

  it('a removed include is noticed, not served from the memo', async () => {
    await rm(join(dir, 'config/lint'), { recursive: true });
    commitAll(dir, 'drop lint config');
    const { images } = await graphAtHead();
    assert.equal(images.get('lint')!.kind, 'error');
    assert.equal(images.get('lint')!.error!.code, 'include-missing');
  });

  it('an earlier revision is answered from the memo again', async () => {
    const before = repo.stats.blobBytesRead;
    const graph = await builder.build(await GitTree.open(repo, firstSha), OPTIONS);
    assert.equal(repo.stats.blobBytesRead - before, 0);
    for (const image of graph.images) {
      if (image.kind === 'build') assert.equal(image.contextHash, first.get(image.name)!.contextHash);
    }
  });
});
