import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createGunzip } from 'node:zlib';
import { BlobSpool } from '../../src/context/blob-spool.ts';
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
    assert.equal(hasher.counters.spoolHits, (IMAGES.length - 1) * Object.keys(SHARED).length);

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

  it('holds at most its size: past it, blobs are read from git again, and it is emptied when no hash holds it', async () => {
    const big = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`lib/shared/f${i}.bin`, Buffer.alloc(40_000, i + 1)]));
    const dir = await writeTree(await tempDir(), { ...big, ...OWN('a'), ...OWN('b') });
    const tree = await sourceFor('git', dir);
    const hasher = testHasher({ spoolMaxBytes: 100_000 });
    const spool = hasher.spool!;
    const a = await hasher.hash(tree, spec('a'));
    assert.equal(spool.count, 2, 'two blobs of 40 kB fit in 100 kB');
    assert.ok(spool.size <= 100_000);
    const before = tree.stats.filesRead;
    // The spool was full and nothing held it: b empties it and spools the first two again.
    const b = await hasher.hash(tree, spec('b'));
    assert.equal(tree.stats.filesRead - before, 2 + 10, 'own.txt, the Dockerfile and all ten blobs from git');
    assert.equal(spool.count, 2);
    assert.ok(spool.size <= 100_000);
    const disk = testHasher({ spoolMaxBytes: 0 });
    assert.equal(disk.spool, null);
    assert.equal(a.contextHash, (await disk.hash(new DirectoryTree(dir), spec('a'))).contextHash);
    assert.equal(b.contextHash, (await disk.hash(tree, spec('b'))).contextHash);

    // Taken when none is held, a lease empties the full spool; held, it keeps the spool as it is.
    const release = spool.acquire();
    assert.equal(spool.count, 0);
    const reads = async (args: Record<string, string>) => {
      const start = tree.stats.filesRead;
      await hasher.hash(tree, { contextDir: 'taskcluster/docker/a', args });
      return tree.stats.filesRead - start;
    };
    assert.equal(await reads({ X: '1' }), 2 + 10);
    assert.equal(await reads({ X: '2' }), 2 + 8, 'full, held: the two spooled blobs came from the spool');
    release();
  });

  it('a read that fails part-way leaves no entry that is not whole, and no reader waiting', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = await sourceFor('git', dir);
    const missing = git(dir, 'rev-parse', 'HEAD:lib/shared/m1/f16.py').trim();
    await rm(join(dir, '.git', 'objects', missing.slice(0, 2), missing.slice(2)));
    const hasher = testHasher();
    const spool = hasher.spool!;
    // Two at once: one reads, the other waits for blobs, one of which never arrives.
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
        const header = fileHeader(`topsrcdir/${path}`, 0o644, content.length);
        assert.deepEqual(bytes.subarray(0, header.length), header, path);
        assert.deepEqual(bytes.subarray(header.length, header.length + content.length), content, path);
        assert.equal(entry.length, header.length + Math.ceil(content.length / 512) * 512, path);
      }
    } finally {
      release();
    }
  });

  it('a spool the hashing thread cannot write leaves the hashes exact, and nothing half-written is found', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = await sourceFor('git', dir);
    const hasher = testHasher();
    const spool = hasher.spool!;
    spool.begin('make', 'the', 0o644, {})!.abort(); // the file exists from here
    // The thread gets a descriptor it can read the spool through but not write it.
    const readOnly = openSync(`/proc/self/fd/${spool.fd}`, 'r');
    Object.defineProperty(spool, 'fd', { get: () => readOnly });
    try {
      const [a, b] = await Promise.all([hasher.hash(tree, spec('a')), hasher.hash(tree, spec('b'))]);
      assert.equal(a.contextHash, (await testHasher().hash(new DirectoryTree(dir), spec('a'))).contextHash);
      assert.equal(b.contextHash, (await testHasher().hash(new DirectoryTree(dir), spec('b'))).contextHash);
      assert.equal(spool.count, 0, 'no entry whose writes failed');
      assert.equal(hasher.counters.spoolHits, 0);
    } finally {
      closeSync(readOnly);
    }
  });

  it('a spool that fails a write part-way (a full disk) while serving a tarball leaves its bytes exact', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = await sourceFor('git', dir);
    const expected = (await testHasher().hash(new DirectoryTree(dir), spec('a'))).contextHash;
    // The n-th write fails: a header, a chunk of content or a padding, in the middle of a context.
    for (const n of [0, 1, 2, 3, 10, 25, 40, 61, 62, 63]) {
      const hasher = testHasher();
      const spool = hasher.spool!;
      const writeAt = spool.writeAt.bind(spool);
      let calls = 0;
      spool.writeAt = (chunk, position) => (calls++ === n ? false : writeAt(chunk, position));
      const tarball = await gunzipped(hasher.gzipStream(tree, spec('a')));
      assert.equal(createHash('sha256').update(tarball).digest('hex'), expected, `write ${n} failed`);
      assert.equal((await hasher.hash(tree, spec('a'))).contextHash, expected);
    }
  });

  it('keeps only an entry that arrived whole and as announced', async () => {
    const spool = new BlobSpool({ dir: await tempDir() });
    const release = spool.acquire();
    const owner = {};
    const whole = spool.begin('whole', 'a/b.txt', 0o644, owner)!;
    assert.equal(spool.begin('whole', 'a/b.txt', 0o644, owner), null, 'one write of an entry at a time');
    assert.equal(spool.find('whole', 'a/b.txt', 0o644)!.pending, whole);
    assert.equal(spool.find('whole', 'a/b.txt', 0o755), undefined, 'another mode is another entry');
    whole.start(4);
    const chunk = Buffer.from('xxabcdxx').subarray(2, 6);
    whole.write(chunk);
    chunk.fill(0); // the reader's buffer is reused: the spool has its own copy
    whole.commit();
    await whole.done;
    const entry = spool.find('whole', 'a/b.txt', 0o644)!;
    assert.equal(entry.pending, null);
    const back = Buffer.alloc(entry.length);
    spool.read(entry.offset, back);
    assert.deepEqual(back, Buffer.concat([fileHeader('a/b.txt', 0o644, 4), Buffer.from('abcd'), Buffer.alloc(508)]));

    const short = spool.begin('short', 's', 0o644, owner)!;
    short.start(4);
    short.write(Buffer.from('ab'));
    short.commit();
    const long = spool.begin('long', 'l', 0o644, owner)!;
    long.start(2);
    long.write(Buffer.from('abc'));
    long.commit();
    const dropped = spool.begin('dropped', 'd', 0o644, owner)!;
    dropped.abort();
    await Promise.all([short.done, long.done, dropped.done]);
    assert.equal(spool.find('short', 's', 0o644), undefined);
    assert.equal(spool.find('long', 'l', 0o644), undefined);
    assert.equal(spool.find('dropped', 'd', 0o644), undefined);
    assert.equal(spool.count, 1);
    release();
    await spool.close();
    assert.equal(spool.begin('after', 'x', 0o644, owner), null, 'a closed spool takes nothing');
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
