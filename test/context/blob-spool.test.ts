import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createGunzip } from 'node:zlib';
import { BlobSpool } from '../../src/context/blob-spool.ts';
import { withSize } from '../../src/context/spool-header.js';
import { fileHeader } from '../../src/context/tar.ts';
import { DEFAULT_BUILDER_IMAGE } from '../../src/context/digest.ts';
import { GraphBuilder } from '../../src/graph/build-graph.ts';
import { DirectoryTree } from '../../src/tree/directory-tree.ts';
import type { GitTree } from '../../src/tree/git-tree.ts';
import { testHasher } from '../support/hashers.ts';
import { sourceFor } from '../support/sources.ts';
import { tempDir } from '../support/temp.ts';
import { taskgraphRepo, writeTree } from '../support/trees.ts';
import { git } from '../support/vectors.ts';

const OPTIONS = { level: 3, pullRequest: false, algorithm: 'taskgraph', builderImage: DEFAULT_BUILDER_IMAGE, pushDate: new Date(0) } as const;
const IMAGES = ['a', 'b', 'c', 'd'];
/** Distinct contents (each blob its own): 30 small files and one of 100 kB, shared by every image. */
const SHARED: Record<string, Buffer> = {
  ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`lib/shared/m${i % 3}/f${i}.py`, Buffer.from(`print(${i})\n`.repeat(i + 1))])),
  'lib/shared/big.bin': Buffer.alloc(100_000, 7),
};
const OWN = (name: string): Record<string, string> => ({
  [`taskcluster/docker/${name}/Dockerfile`]: `FROM ${name}\n# %include lib/shared\n`,
  [`taskcluster/docker/${name}/own.txt`]: `${name}\n`,
});
const files = taskgraphRepo(`tasks:\n${IMAGES.map((n) => `  ${n}:\n    symbol: I(${n})\n`).join('')}`, {
  ...SHARED,
  ...Object.assign({}, ...IMAGES.map(OWN)),
});
const spec = (name: string) => ({ contextDir: `taskcluster/docker/${name}`, args: {} });
const sum = (buffers: Iterable<Buffer | string>) => [...buffers].reduce((n, b) => n + Buffer.byteLength(b), 0);
const sharedBytes = sum(Object.values(SHARED));

async function gunzipped(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream.pipe(createGunzip())) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('blob spool', () => {
  it('a graph reads each included blob from git once, however many images include it, with the hashes a folder gives', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = (await sourceFor('git', dir)) as GitTree;
    const hasher = testHasher();
    const before = { ...tree.stats };
    // Four images at once: the ones that want a blob another is reading wait for that read.
    const graph = await new GraphBuilder(hasher).build(tree, OPTIONS);
    const read = { bytes: tree.stats.blobBytesRead - before.blobBytesRead, files: tree.stats.filesRead - before.filesRead };
    const catalogBytes = sum([files['taskcluster/config.yml'] as string, files['taskcluster/kinds/docker-image/kind.yml'] as string]);
    // Each image's Dockerfile and own.txt, the catalog's two files, and every shared blob once.
    assert.equal(read.files, IMAGES.length * 2 + 2 + Object.keys(SHARED).length);
    assert.equal(read.bytes, sum(IMAGES.flatMap((n) => Object.values(OWN(n)))) + catalogBytes + sharedBytes);
    // Each shared file once, as a tar entry (a header, the content, padding to 512 bytes).
    const entryBytes = Object.values(SHARED).reduce((n, b) => n + 512 + Math.ceil(b.length / 512) * 512, 0);
    assert.equal(hasher.counters.spoolBytes, entryBytes);
    // Every image's shared files come from the spool (the first image's too, once read into it).
    assert.equal(hasher.counters.spoolHits, IMAGES.length * Object.keys(SHARED).length);

    const disk = testHasher();
    for (const image of graph.images) {
      const name = image.name;
      assert.equal(image.contextHash, (await disk.hash(new DirectoryTree(dir), spec(name))).contextHash, name);
    }
    // The served tarball reads the spooled blobs on the main thread: the same bytes.
    const beforeTarball = tree.stats.filesRead;
    const tarball = await gunzipped(hasher.gzipStream(tree, spec('b')));
    assert.equal(tree.stats.filesRead - beforeTarball, 2, 'the Dockerfile (by the plan) and own.txt');
    assert.equal(createHash('sha256').update(tarball).digest('hex'), graph.images.find((i) => i.name === 'b')!.contextHash);
  });

  it('stops its reading thread when idle, keeps its entries, and starts another for the next read', async () => {
    const spool = new BlobSpool({ dir: await tempDir(), idleMs: 20 });
    const stopped = async () => {
      for (let i = 0; i < 500 && spool.readerRunning; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      return !spool.readerRunning;
    };
    try {
      const first = await writeTree(await tempDir(), files);
      const hasher = testHasher({ spool });
      await new GraphBuilder(hasher).build(await sourceFor('git', first), OPTIONS);
      assert.ok(await stopped(), 'idle, its thread is stopped');
      const kept = spool.count;
      assert.equal(kept, Object.keys(SHARED).length, 'its entries stay');
      // New shared content: read by a new thread, with the hashes a folder gives.
      const changed = { ...files, 'lib/shared/big.bin': Buffer.alloc(100_000, 8) };
      const second = await writeTree(await tempDir(), changed);
      const graph = await new GraphBuilder(testHasher({ spool })).build(await sourceFor('git', second), OPTIONS);
      assert.equal(spool.count, kept + 1);
      const disk = testHasher();
      for (const image of graph.images) assert.equal(image.contextHash, (await disk.hash(new DirectoryTree(second), spec(image.name))).contextHash, image.name);
      assert.ok(await stopped(), 'and stopped again');
    } finally {
      await spool.close();
    }
  });

  it('holds at most its size: past it, files are read from git by their contexts, and it is emptied when no hash holds it', async () => {
    const big = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`lib/shared/f${i}.bin`, Buffer.alloc(40_000, i + 1)]));
    const dir = await writeTree(await tempDir(), { ...big, ...OWN('a'), ...OWN('b') });
    const tree = await sourceFor('git', dir);
    const hasher = testHasher({ spoolMaxBytes: 100_000 });
    const spool = hasher.spool!;
    const a = await hasher.hash(tree, spec('a'));
    assert.equal(spool.count, 2, 'two entries of 40 kB fit in 100 kB');
    assert.ok(spool.size <= 100_000);
    const reads = async (args: Record<string, string>, name = 'a') => {
      const start = tree.stats.filesRead;
      const result = await hasher.hash(tree, { contextDir: `taskcluster/docker/${name}`, args });
      return { files: tree.stats.filesRead - start, hash: result.contextHash };
    };
    // Full, and nothing held it: b empties it and spools the first two again. The spool's
    // thread read all ten (it learns a file does not fit once git gives its size), and b
    // itself the eight that did not fit, besides its Dockerfile and own.txt.
    const b = await reads({}, 'b');
    assert.equal(b.files, 2 + 10 + 8);
    assert.equal(spool.count, 2);
    assert.ok(spool.size <= 100_000);
    const disk = testHasher({ spoolMaxBytes: 0 });
    assert.equal(disk.spool, null);
    assert.equal(a.contextHash, (await disk.hash(new DirectoryTree(dir), spec('a'))).contextHash);
    assert.equal(b.hash, (await disk.hash(tree, spec('b'))).contextHash);

    // Taken when none is held, a lease empties the full spool; held, it keeps the spool as it is.
    const release = spool.acquire();
    assert.equal(spool.count, 0);
    assert.equal((await reads({ X: '1' })).files, 2 + 10 + 8);
    const held = await reads({ X: '2' });
    assert.equal(held.files, 2 + 8, 'full, held: nothing asked of its thread, the two spooled entries from the spool');
    assert.equal(held.hash, (await disk.hash(tree, { contextDir: 'taskcluster/docker/a', args: { X: '2' } })).contextHash);
    release();
  });

  it('a file git lacks or that is no blob is not spooled; its context reads it and fails as it would', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = await sourceFor('git', dir);
    const missing = git(dir, 'rev-parse', 'HEAD:lib/shared/m1/f16.py').trim();
    await rm(join(dir, '.git', 'objects', missing.slice(0, 2), missing.slice(2)));
    const hasher = testHasher();
    const spool = hasher.spool!;
    // Two at once: both want the shared files, one of which git no longer has.
    const results = await Promise.allSettled([hasher.hash(tree, spec('a')), hasher.hash(tree, spec('b'))]);
    for (const r of results) assert.equal(r.status === 'rejected' && (r.reason as { code?: string }).code, 'repository-unreadable');
    const release = spool.acquire();
    try {
      for (const path of Object.keys(SHARED)) {
        const oid = git(dir, 'rev-parse', `HEAD:${path}`).trim();
        const entry = spool.find(oid, `topsrcdir/${path}`, 0o644);
        if (oid === missing) assert.equal(entry, undefined);
        if (!entry) continue;
        assert.equal(entry.pending, null, path);
        // A whole tar entry: header, content, padding.
        const bytes = Buffer.alloc(entry.length);
        spool.read(entry.offset, bytes);
        const content = await readFile(join(dir, path));
        assert.deepEqual(bytes, Buffer.concat([fileHeader(`topsrcdir/${path}`, 0o644, content.length), content, Buffer.alloc((512 - (content.length % 512)) % 512)]), path);
      }
      // Asked for a tree's id as a file: not spooled, nothing left pending.
      const treeId = git(dir, 'rev-parse', 'HEAD:lib').trim();
      spool.prefetch((tree as GitTree).repo, [{ oid: treeId, name: 'topsrcdir/lib', mode: 0o644 }]);
      await spool.find(treeId, 'topsrcdir/lib', 0o644)?.pending;
      assert.equal(spool.find(treeId, 'topsrcdir/lib', 0o644), undefined);
    } finally {
      release();
    }
  });

  it('a spool its thread cannot write leaves the hashes exact, and nothing is found in it', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = await sourceFor('git', dir);
    const spool = new BlobSpool({ dir: await tempDir() });
    const hasher = testHasher({ spool });
    spool.acquire()(); // the file exists from here (a lease taken and given back)
    spool.prefetch((tree as GitTree).repo, []);
    // The thread gets a descriptor it can read the spool through but not write.
    const readOnly = openSync(`/proc/self/fd/${spool.fd}`, 'r');
    (spool as unknown as { file: number }).file = readOnly;
    try {
      const [a, b] = await Promise.all([hasher.hash(tree, spec('a')), hasher.hash(tree, spec('b'))]);
      assert.equal(a.contextHash, (await testHasher().hash(new DirectoryTree(dir), spec('a'))).contextHash);
      assert.equal(b.contextHash, (await testHasher().hash(new DirectoryTree(dir), spec('b'))).contextHash);
      assert.equal(spool.count, 0, 'no entry whose writes failed');
      assert.equal(hasher.counters.spoolHits, 0);
    } finally {
      await spool.close();
    }
  });

  it('writes headers for any size as tar.ts does: the size filled into a header made for 0', () => {
    const long = `topsrcdir/${'deep/'.repeat(30)}file.py`;
    for (const name of ['a/b.txt', long, 'caf\u00e9/x', 'raw/\udcff\udc80.bin']) {
      for (const size of [0, 1, 511, 512, 4095, 8 ** 11 - 1, 8 ** 11, 2 ** 40 + 3]) {
        assert.deepEqual(Buffer.from(withSize(fileHeader(name, 0o755, 0), size)), fileHeader(name, 0o755, size), `${name} ${size}`);
      }
    }
  });

  it('an unusable folder turns spooling off, and hashing goes on', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = await sourceFor('git', dir);
    const hasher = testHasher({ spoolDir: join(dir, 'no-such-folder') });
    const a = await hasher.hash(tree, spec('a'));
    assert.ok(hasher.spool!.unusable);
    assert.equal(a.contextHash, (await testHasher().hash(new DirectoryTree(dir), spec('a'))).contextHash);
  });
});
