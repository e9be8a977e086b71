import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ContextHasher } from '../../src/context/hasher.ts';
import { DEFAULT_BUILDER_IMAGE } from '../../src/context/digest.ts';
import { GraphBuilder } from '../../src/graph/build-graph.ts';
import type { GraphOptions, ImageGraph } from '../../src/graph/types.ts';
import { encodeName } from '../../src/tree/name-bytes.ts';
import { SOURCE_KINDS, type SourceKind, sourceFor } from '../support/sources.ts';
import { tempDir } from '../support/temp.ts';
import { VECTORS, materialise, readJson, writeTree } from '../support/vectors.ts';

interface AcmeExpected {
  trustDomain: string;
  imageBuilderImage: string;
  images: Record<
    string,
    {
      contextDir: string;
      args: Record<string, string>;
      parent: string | null;
      contextHash: string;
      digest: string;
      indexSearch: Record<'level-3' | 'level-1', string[]>;
      hashRoute: Record<'level-3' | 'level-1', string>;
    }
  >;
}
interface CacheCase {
  layout: string;
  images: Record<
    string,
    {
      cache?: boolean;
      parent?: string | null;
      contextHash?: string;
      digest?: string | null;
      indexPaths?: string[];
      hashRoute?: string;
      expectError?: string;
      message?: string;
      blockedBy?: string;
    }
  >;
}
interface EdgeCase {
  contextDir: string;
  args: Record<string, string>;
  contextHash?: string;
  digest?: string;
  indexPaths?: string[];
  expectError?: string;
  runTaskDir?: string;
}

const options = (over: Partial<GraphOptions> = {}): GraphOptions => ({
  level: 3,
  pullRequest: false,
  algorithm: 'taskgraph',
  builderImage: DEFAULT_BUILDER_IMAGE,
  pushDate: new Date('2026-03-04T05:06:07Z'),
  ...over,
});

const byName = (graph: ImageGraph) => new Map(graph.images.map((i) => [i.name, i]));

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Checks a vector set in the acme format (expected.json, tars/) through one source kind:
 * `place` writes its tree into a temp folder.
 */
function checkSet(kind: SourceKind, set: string, layout: string, place: (dest: string) => Promise<string>): void {
  describe(`${set} vectors through the ${kind} source`, async () => {
    const expected = await readJson<AcmeExpected>(`${set}/expected.json`);
    const tree = await sourceFor(kind, await place(join(await tempDir(), set)));
    const builder = new GraphBuilder(new ContextHasher());

    it('hashes, digests and names every image as taskgraph does, at level 3 and level 1', async () => {
      assert.equal(expected.imageBuilderImage, DEFAULT_BUILDER_IMAGE);
      for (const level of [3, 1] as const) {
        const graph = await builder.build(tree, options({ level }));
        assert.equal(graph.layout, layout);
        assert.equal(graph.trustDomain, expected.trustDomain);
        const images = byName(graph);
        assert.equal(graph.images.filter((i) => i.kind === 'build').length, Object.keys(expected.images).length);
        for (const [name, want] of Object.entries(expected.images)) {
          const got = images.get(name);
          assert.ok(got, `image ${name} is listed`);
          assert.equal(got.kind, 'build', `${name}: ${JSON.stringify(got.error)}`);
          assert.equal(got.contextDir, want.contextDir);
          assert.deepEqual(got.args, want.args);
          assert.equal(got.parent, want.parent);
          assert.equal(got.contextHash, want.contextHash, `${name} context hash`);
          assert.equal(got.digest, want.digest, `${name} digest`);
          assert.deepEqual(got.indexPaths, want.indexSearch[`level-${level}`]);
          assert.equal(got.routes[0], want.hashRoute[`level-${level}`]);
        }
      }
    });

    it('writes the exact reference tar bytes for every image', async () => {
      const images = byName(await builder.build(tree, options()));
      for (const name of Object.keys(expected.images)) {
        const mine = await collect(builder.hasher.tarStream(tree, images.get(name)!));
        const reference = await readFile(join(VECTORS, set, 'tars', `${name}.tar`));
        assert.ok(mine.equals(reference), `${name}.tar differs from the reference`);
        assert.equal(createHash('sha256').update(mine).digest('hex'), expected.images[name]!.contextHash);
      }
    });
  });
}

/** The issue-17 vector's context hash, computed by taskgraph 24.2's own code. */
const NON_UTF8_TASKGRAPH_HASH = '0a19725560a22a750ebe11ad566923813969c06a2c6011e17e13e73e0ee64fab';

for (const kind of SOURCE_KINDS) {
  // acme: today's layout; dotted: names such as python3.11 and gcc-4.4; ci-layout: the
  // taskcluster/ci layout before taskgraph 8 (jobs:, job-defaults:, ci/config.yml).
  const sets = { acme: 'taskgraph', dotted: 'taskgraph', 'ci-layout': 'taskgraph-ci' } as const;
  for (const [set, layout] of Object.entries(sets)) checkSet(kind, set, layout, (dest) => materialise(`${set}/tree`, dest));
  // File names that are not UTF-8, kept as bytes from the tree to the tar (written at test time).
  for (const set of ['non-utf8', 'non-utf8-names']) checkSet(kind, set, 'taskgraph', (dest) => writeTree(set, dest));

  describe(`the non-utf8 vector through the ${kind} source`, async () => {
    const tree = await sourceFor(kind, await writeTree('non-utf8', join(await tempDir(), 'non-utf8')));

    it("has taskgraph's context hash, with both names that differ only in bytes that are not UTF-8", async () => {
      const x = byName(await new GraphBuilder(new ContextHasher()).build(tree, options())).get('x')!;
      assert.equal(x.contextHash, NON_UTF8_TASKGRAPH_HASH);
      const names = (await tree.list('taskcluster/docker/x')).map((e) => encodeName(e.name).toString('hex')).sort();
      assert.deepEqual(names, ['446f636b657266696c65', '6efe', '6eff']);
    });
  });

  describe(`cache: false vectors through the ${kind} source`, async () => {
    const cases = await readJson<Record<string, CacheCase>>('cache-false/expected.json');
    const root = await materialise('cache-false/trees', join(await tempDir(), 'cache-false'));

    for (const [name, want] of Object.entries(cases)) {
      it(name, async () => {
        const graph = await new GraphBuilder(new ContextHasher()).build(await sourceFor(kind, join(root, name)), options());
        assert.equal(graph.layout, want.layout);
        const images = byName(graph);
        assert.deepEqual([...images.keys()].sort(), Object.keys(want.images).sort());
        for (const [image, w] of Object.entries(want.images)) {
          const got = images.get(image)!;
          assert.equal(got.parent, w.parent ?? null, image);
          if (w.expectError) {
            assert.equal(got.kind, 'error', image);
            assert.deepEqual(got.error, { code: w.expectError, message: w.message }, image);
          } else if (w.blockedBy) {
            assert.equal(got.kind, 'blocked', image);
            assert.equal(got.blockedBy, w.blockedBy, image);
          } else {
            assert.equal(got.kind, 'build', `${image}: ${JSON.stringify(got.error)}`);
            assert.equal(got.cache, w.cache ? undefined : false, image);
            assert.equal(got.contextHash, w.contextHash, image);
            assert.equal(got.digest, w.digest, image);
            assert.deepEqual(got.indexPaths, w.indexPaths, image);
            if (w.cache) assert.equal(got.routes[0], w.hashRoute, image);
            else assert.deepEqual(got.routes, [], image);
          }
        }
      });
    }
  });

  describe(`acme registry image and routes through the ${kind} source`, async () => {
    const tree = await sourceFor(kind, await materialise('acme/tree', join(await tempDir(), 'acme')));
    const builder = new GraphBuilder(new ContextHasher());

    it('lists the registry image with its pinned reference, parents first', async () => {
      const graph = await builder.build(tree, options());
      const prebuilt = byName(graph).get('prebuilt')!;
      assert.equal(prebuilt.kind, 'registry');
      assert.equal(prebuilt.reference, 'private-registry.example/acme/prebuilt:1.4.2@sha256:2b6c9d4e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c');
      const order = graph.images.map((i) => i.name);
      for (const image of graph.images) {
        if (image.parent) assert.ok(order.indexOf(image.parent) < order.indexOf(image.name), `${image.parent} before ${image.name}`);
      }
      assert.equal(graph.trustDomain, 'acme');
    });

    it('writes the pushdate and latest routes at the push level, and only the PR path for pull requests', async () => {
      const base = byName(await builder.build(tree, options({ level: 1 }))).get('base')!;
      const ns = 'index.acme.cache.level-1.docker-images.v2.base';
      assert.deepEqual(base.routes, [`${ns}.hash.${base.digest}`, `${ns}.latest`, `${ns}.pushdate.2026.03.04.20260304050607`]);
      const pr = byName(await builder.build(tree, options({ level: 1, pullRequest: true }))).get('base')!;
      assert.equal(pr.indexPaths.at(-1), `acme.cache.pr.docker-images.v2.base.hash.${base.digest}`);
      assert.deepEqual(pr.routes, [`index.acme.cache.pr.docker-images.v2.base.hash.${base.digest}`]);
    });
  });

  describe(`edge vectors through the ${kind} source`, async () => {
    const cases = await readJson<Record<string, EdgeCase>>('edge/expected.json');
    const root = await materialise('edge/trees', join(await tempDir(), 'edge'));
    const runTaskDir = await materialise('run-task-files', join(await tempDir(), 'run-task'));

    for (const [name, want] of Object.entries(cases)) {
      it(name, async () => {
        const tree = await sourceFor(kind, join(root, name));
        const hasher = new ContextHasher({ runTaskDir: want.runTaskDir ? runTaskDir : null });
        const img = byName(await new GraphBuilder(hasher).build(tree, options())).get('img')!;
        assert.equal(img.contextDir, want.contextDir);
        assert.deepEqual(img.args, want.args);
        if (want.expectError) {
          assert.equal(img.kind, 'error');
          assert.equal(img.error?.code, want.expectError, img.error?.message);
          return;
        }
        assert.equal(img.kind, 'build', JSON.stringify(img.error));
        assert.equal(img.contextHash, want.contextHash);
        assert.equal(img.digest, want.digest);
        assert.deepEqual(img.indexPaths, want.indexPaths);
      });
    }

    it('include-run-task without a run-task folder is include-run-task-unconfigured', async () => {
      const tree = await sourceFor(kind, join(root, 'include-run-task'));
      const img = byName(await new GraphBuilder(new ContextHasher()).build(tree, options())).get('img')!;
      assert.equal(img.error?.code, 'include-run-task-unconfigured');
    });
  });

  describe(`seed-v1 vector through the ${kind} source`, async () => {
    const want = await readJson<{ contextDir: string; contextHash: string; taskgraphContextHash: string }>('seed-v1/expected.json');
    const tree = await sourceFor(kind, await materialise('seed-v1/tree', join(await tempDir(), 'seed')));
    const builder = new GraphBuilder(new ContextHasher());

    it('hashes the 2016 layout with the 2016 scheme and names it under docker.images.v1', async () => {
      const graph = await builder.build(tree, options({ algorithm: 'seed-v1', project: 'try' }));
      assert.equal(graph.layout, 'legacy-2016');
      const img = byName(graph).get('my-image')!;
      assert.equal(img.contextDir, want.contextDir);
      assert.equal(img.contextHash, want.contextHash);
      assert.deepEqual(img.indexPaths, [`docker.images.v1.mozilla-central.my-image.hash.${want.contextHash}`, `docker.images.v1.try.my-image.hash.${want.contextHash}`]);
    });

    it('hashes the same folder with the taskgraph algorithm', async () => {
      const graph = await builder.build(tree, options());
      assert.equal(byName(graph).get('my-image')!.contextHash, want.taskgraphContextHash);
      assert.match(graph.warnings[0]!, /no trust domain/);
    });
  });
}
