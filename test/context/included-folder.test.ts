import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_BUILDER_IMAGE } from '../../src/context/digest.ts';
import { decodeEncoded } from '../../src/context/manifest-encoding.ts';
import { planContext } from '../../src/context/plan.ts';
import { GraphBuilder } from '../../src/graph/build-graph.ts';
import type { ImageGraph } from '../../src/graph/types.ts';
import { GitTree } from '../../src/tree/git-tree.ts';
import { testHasher } from '../support/hashers.ts';
import { openRepo, sourceFor } from '../support/sources.ts';
import { tempDir } from '../support/temp.ts';
import { type FileSpec, taskgraphRepo, writeTree } from '../support/trees.ts';
import { commitAll } from '../support/vectors.ts';

const OPTIONS = { level: 3, pullRequest: false, algorithm: 'taskgraph', builderImage: DEFAULT_BUILDER_IMAGE, pushDate: new Date(0) } as const;
const SHARED: Record<string, FileSpec> = {
  ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`lib/shared/m${i % 4}/f${i}.py`, `print(${i})\n`.repeat(i + 1)])),
  'lib/shared/big.bin': Buffer.alloc(70_000, 7),
  // A link to a file outside the folder: its target is part of every context including the folder.
  'lib/shared/linked.txt': { link: '../outside.txt' },
  'lib/outside.txt': 'outside\n',
  'lib/other/x.txt': 'other\n',
};
/** Ten images including the folder the same way (later ones find it spooled), and some that include it otherwise. */
const DOCKERFILES: Record<string, string> = {
  ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`same${i}`, `FROM same${i}\n# %include lib/shared\n# %include lib/other\n`])),
  // Written with a slash: the same names, another include in the manifest.
  slash: 'FROM slash\n# %include lib/shared/\n',
  // A folder inside another: the later include's entries replace the earlier's.
  nested: 'FROM nested\n# %include lib/shared\n# %include lib/shared/m1\n',
  // A file of the context among the folder's names, and one of them included again as a file.
  among: 'FROM among\n# %include lib/shared\n# %include lib/shared/m2/f2.py\n',
  twice: 'FROM twice\n# %include lib/shared\n# %include lib/other\n# %include lib/shared\n',
};
const files = taskgraphRepo(
  `tasks:\n${Object.keys(DOCKERFILES)
    .map((n) => `  ${n}:\n    symbol: I(${n})\n`)
    .join('')}`,
  {
    ...SHARED,
    ...Object.fromEntries(Object.entries(DOCKERFILES).map(([n, text]) => [`taskcluster/docker/${n}/Dockerfile`, text])),
    'taskcluster/docker/among/topsrcdir/lib/shared/m0/f0.py': 'the context’s own, replaced by the include\n',
    'taskcluster/docker/among/topsrcdir/lib/shared/zz.txt': 'the context’s own, among the folder’s names\n',
  },
);
const spec = (name: string) => ({ contextDir: `taskcluster/docker/${name}`, args: {} });

/** Each image of `graph` hashed again on its own, file by file (no graph's folders, no spool): the same hash and manifest. */
async function eachAlone(tree: GitTree, graph: ImageGraph): Promise<void> {
  const alone = testHasher({ spoolMaxBytes: 0 });
  for (const image of graph.images) {
    const own = await alone.hash(tree, spec(image.name));
    assert.equal(image.contextHash, own.contextHash, image.name);
    // A memo hit's manifest was given when it was computed.
    if (!image.memoHit) assert.deepEqual(decodeEncoded(graph.manifests!.get(image.contextHash!)!), decodeEncoded(own.manifest!), image.name);
  }
}

describe('included folders, planned once per graph and written whole once spooled', () => {
  it('give every image the hash and manifest it has hashed alone, and the later ones take the folder whole', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = (await sourceFor('git', dir)) as GitTree;
    const hasher = testHasher();
    const graph = await new GraphBuilder(hasher).build(tree, OPTIONS);
    assert.ok(
      graph.images.every((i) => i.kind === 'build'),
      JSON.stringify(graph.images.filter((i) => i.kind !== 'build')),
    );
    await eachAlone(tree, graph);
    // Four contexts start together, so the first few read the folder file by file.
    assert.ok(hasher.counters.spoolFolders >= 4, `${hasher.counters.spoolFolders} folders taken whole`);
  });

  it('keep taskgraph’s order and replacements where folders and other entries overlap', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = await sourceFor('git', dir);
    const names = async (image: string) =>
      (await planContext(tree, spec(image), null, { maxFiles: 1000 })).map((e) => [e.name, 'tree' in e.source ? (e.source.include ?? null) : null]);
    const among = await names('among');
    assert.deepEqual(
      among.filter(([n]) => n === 'topsrcdir/lib/shared/m0/f0.py' || n === 'topsrcdir/lib/shared/zz.txt' || n === 'topsrcdir/lib/shared/m2/f2.py'),
      [
        ['topsrcdir/lib/shared/m0/f0.py', 'lib/shared'],
        ['topsrcdir/lib/shared/m2/f2.py', 'lib/shared/m2/f2.py'],
        ['topsrcdir/lib/shared/zz.txt', null],
      ],
    );
    const nested = await names('nested');
    assert.ok(nested.every(([n, include]) => !String(n).startsWith('topsrcdir/lib/shared/m1/') || include === 'lib/shared/m1'));
    for (const image of Object.keys(DOCKERFILES)) {
      const listed = await names(image);
      const sorted = [...listed].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
      assert.deepEqual(listed, sorted, `${image}: in archive order`);
      assert.equal(new Set(listed.map(([n]) => n)).size, listed.length, `${image}: each name once`);
    }
  });

  it('are noted file by file where the manifest bound cannot take a whole one', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = (await sourceFor('git', dir)) as GitTree;
    const hasher = testHasher({ manifestLimits: { maxEntries: 20, maxBytes: 1024 * 1024 } });
    const graph = await new GraphBuilder(hasher).build(tree, OPTIONS);
    const alone = testHasher({ spoolMaxBytes: 0, manifestLimits: { maxEntries: 20, maxBytes: 1024 * 1024 } });
    for (const image of graph.images) {
      const manifest = decodeEncoded(graph.manifests!.get(image.contextHash!)!)!;
      assert.equal(manifest.entries.length, 20);
      assert.equal(manifest.truncated, true);
      assert.deepEqual(manifest, decodeEncoded((await alone.hash(tree, spec(image.name))).manifest!), image.name);
    }
    assert.ok(hasher.counters.spoolFolders > 0);
  });

  it('count a whole folder against the files a context may hold, a replaced name once', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = (await sourceFor('git', dir)) as GitTree;
    // lib/shared holds 42 files (40 of its own, big.bin and the link): with the Dockerfile and lib/other or
    // among's zz.txt, 44 in most contexts; 43 in slash's and nested's.
    const all = Object.keys(DOCKERFILES).sort();
    const of44 = all.filter((n) => n !== 'slash' && n !== 'nested');
    for (const [maxContextFiles, refused] of [
      [42, all],
      [43, of44],
      [44, []],
    ] as const) {
      const graph = await new GraphBuilder(testHasher({ maxContextFiles })).build(tree, OPTIONS);
      const tooLarge = graph.images.filter((i) => i.kind === 'error' && i.error?.code === 'context-too-large').map((i) => i.name);
      assert.deepEqual(tooLarge.sort(), refused, `at most ${maxContextFiles} files`);
      assert.equal(graph.images.filter((i) => i.kind === 'error').length, refused.length);
    }
  });

  it('pin each context to the folder’s files and a linked file outside it: a change there is a new hash for every image including it', async () => {
    const dir = await writeTree(await tempDir(), files);
    const first = (await sourceFor('git', dir)) as GitTree;
    const hasher = testHasher();
    const builder = new GraphBuilder(hasher);
    let before = await builder.build(first, OPTIONS);
    const repo = await openRepo(dir);
    for (const [path, change] of [
      ['lib/shared/m3/f7.py', 'changed inside\n'],
      ['lib/outside.txt', 'changed outside\n'],
      ['lib/other/x.txt', 'changed in the other folder\n'],
    ] as const) {
      await writeFile(join(dir, path), change);
      commitAll(dir, path);
      const tree = await GitTree.open(repo, 'HEAD');
      const after = await builder.build(tree, OPTIONS);
      for (const image of after.images) {
        const old = before.images.find((i) => i.name === image.name)!;
        const includesOther = DOCKERFILES[image.name]!.includes('lib/other');
        const changes = path === 'lib/other/x.txt' ? includesOther : true;
        assert.equal(image.contextHash !== old.contextHash, changes, `${image.name} after ${path}`);
        assert.equal(image.memoHit, !changes, `${image.name} after ${path}`);
      }
      await eachAlone(tree, after);
      before = after;
    }
  });
});
