import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { BlobCache, BlobRecorder } from '../../src/context/blob-cache.ts';
import { ContextHasher } from '../../src/context/hasher.ts';
import { DirectoryTree } from '../../src/tree/directory-tree.ts';
import { sourceFor } from '../support/sources.ts';
import { tempDir } from '../support/temp.ts';
import { writeTree } from '../support/trees.ts';

const SHARED = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`lib/shared/m${i % 3}/f${i}.py`, `print(${i})\n`.repeat(i + 1)]));
const files = {
  ...SHARED,
  'lib/shared/big.bin': Buffer.alloc(100_000, 7),
  'taskcluster/docker/a/Dockerfile': 'FROM x\n# %include lib/shared\n',
  'taskcluster/docker/a/own.txt': 'a\n',
  'taskcluster/docker/b/Dockerfile': 'FROM y\n# %include lib/shared\n',
  'taskcluster/docker/b/own.txt': 'b\n',
};
const spec = (name: string) => ({ contextDir: `taskcluster/docker/${name}`, args: {} });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function gunzipped(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const { createGunzip } = await import('node:zlib');
  const parts: Buffer[] = [];
  for await (const part of stream.pipe(createGunzip())) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('blob cache', () => {
  it('serves the files two contexts share from memory, with the hashes and tarballs a folder gives', async () => {
    const dir = await writeTree(await tempDir(), files);
    const git = await sourceFor('git', dir);
    const hasher = new ContextHasher();
    const a = await hasher.hash(git, spec('a'));
    const readForA = git.stats.filesRead;
    const b = await hasher.hash(git, spec('b'));
    // b reads its own two files (own.txt, Dockerfile) and the big one; the 30 small shared ones come from memory.
    assert.equal(hasher.counters.blobCacheHits, 30);
    assert.equal(git.stats.filesRead - readForA, 3);
    const disk = new ContextHasher();
    assert.equal(a.contextHash, (await disk.hash(new DirectoryTree(dir), spec('a'))).contextHash);
    assert.equal(b.contextHash, (await disk.hash(new DirectoryTree(dir), spec('b'))).contextHash);
    assert.equal(sha256(await gunzipped(hasher.gzipStream(git, spec('b')))), b.contextHash);
  });

  it('keeps at most its byte budget, dropping the oldest, and no blob over the size limit', () => {
    const cache = new BlobCache({ maxBytes: 300, maxBlobBytes: 100 });
    for (const id of ['a', 'b', 'c']) cache.set(id, Buffer.alloc(100, id));
    cache.set('d', Buffer.alloc(100, 'd'));
    assert.deepEqual(['a', 'b', 'c', 'd'].map((id) => cache.get(id) !== undefined), [false, true, true, true]);
    cache.set('e', Buffer.alloc(101, 'e'));
    assert.equal(cache.get('e'), undefined);
  });

  it('keeps a copy only of content that arrived whole and as announced', () => {
    const cache = new BlobCache();
    const recorder = new BlobRecorder(cache);
    recorder.start(4);
    const chunk = Buffer.from('xxabcdxx').subarray(2, 6);
    recorder.data(chunk);
    chunk.fill(0); // the reader's buffer is reused: the cache must own its copy
    recorder.end('whole');
    assert.deepEqual(cache.get('whole'), Buffer.from('abcd'));
    recorder.start(4);
    recorder.data(Buffer.from('ab'));
    recorder.end('short');
    assert.equal(cache.get('short'), undefined);
    recorder.start(2);
    recorder.data(Buffer.from('abc'));
    recorder.end('long');
    assert.equal(cache.get('long'), undefined);
  });
});
