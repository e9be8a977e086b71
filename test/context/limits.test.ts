import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BlobSpool } from '../../src/context/blob-spool.ts';
import { testHasher } from '../support/hashers.ts';
import { planContext } from '../../src/context/plan.ts';
import type { ByteSink } from '../../src/context/tar.ts';
import { writeContextTar } from '../../src/context/write.ts';
import { SOURCE_KINDS, sourceFor } from '../support/sources.ts';
import { tempDir } from '../support/temp.ts';
import { writeTree } from '../support/trees.ts';
import { git } from '../support/vectors.ts';

// 400 included files of 1 kB and 100 of the context's own: runs of reads, cached and not.
const SHARED = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`lib/shared/m${i % 7}/f${i}.txt`, `${i}\n`.padEnd(1000, 's')]));
const OWN = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`taskcluster/docker/big/own/f${i}.txt`, `${i}\n`.padEnd(1000, 'o')]));
const files = {
  ...SHARED,
  ...OWN,
  'taskcluster/docker/big/Dockerfile': 'FROM x\n# %include lib/shared\n',
  'taskcluster/docker/small/Dockerfile': 'FROM y\n# %include lib/shared/m3\n',
  'taskcluster/docker/small/own.txt': 'small\n',
};
const spec = (name: string) => ({ contextDir: `taskcluster/docker/${name}`, args: {} });

const rejectsWith = (promise: Promise<unknown>, code: string) => assert.rejects(promise, (err: Error & { code?: string }) => err.code === code);

describe('context limits and failed reads', () => {
  for (const kind of SOURCE_KINDS) {
    it(`${kind}: a context over the byte or file limit fails with context-too-large, and the hasher goes on hashing`, async () => {
      const dir = await writeTree(await tempDir(), files);
      const tree = await sourceFor(kind, dir);
      const expected = await testHasher().hash(tree, spec('small'));

      const bytes = testHasher({ maxContextBytes: 200_000 });
      await rejectsWith(bytes.hash(tree, spec('big')), 'context-too-large');
      // Nothing of the abandoned context reaches the next one.
      assert.equal((await bytes.hash(tree, spec('small'))).contextHash, expected.contextHash);

      const count = testHasher({ maxContextFiles: 450 });
      await rejectsWith(count.hash(tree, spec('big')), 'context-too-large');
      assert.equal((await count.hash(tree, spec('small'))).contextHash, expected.contextHash);
    });
  }

  it('git: a blob missing from the repository fails that context with repository-unreadable; the next reads in step', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = await sourceFor('git', dir);
    const expected = await testHasher().hash(tree, spec('small'));
    // An own file in the middle of the context: reads before and after it are in flight.
    const oid = git(dir, 'rev-parse', 'HEAD:taskcluster/docker/big/own/f50.txt').trim();
    await rm(join(dir, '.git', 'objects', oid.slice(0, 2), oid.slice(2)));

    const hasher = testHasher();
    await rejectsWith(hasher.hash(tree, spec('big')), 'repository-unreadable');
    assert.equal((await hasher.hash(tree, spec('small'))).contextHash, expected.contextHash);
  });

  it('directory: a setuid file fails its context with setuid-file', async () => {
    const dir = await writeTree(await tempDir(), { ...files, 'taskcluster/docker/small/tool': { content: '#!/bin/sh\n', mode: 0o4755 } });
    const tree = await sourceFor('directory', dir);
    await rejectsWith(testHasher().hash(tree, spec('small')), 'setuid-file');
  });

  it('git: once a read fails, nothing more reaches the output, though later runs were in flight', async () => {
    // 1,000 files: eight runs, with the next ones in flight when one in the middle fails.
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`taskcluster/docker/many/f${String(i).padStart(4, '0')}.txt`, `${i}\n`]));
    const dir = await writeTree(await tempDir(), { ...many, 'taskcluster/docker/many/Dockerfile': 'FROM x\n' });
    const tree = await sourceFor('git', dir);
    const oid = git(dir, 'rev-parse', 'HEAD:taskcluster/docker/many/f0770.txt').trim();
    await rm(join(dir, '.git', 'objects', oid.slice(0, 2), oid.slice(2)));
    const plan = await planContext(tree, spec('many'), null, { maxFiles: 10_000 });
    let settled = false;
    let late = 0;
    const sink: ByteSink = { write: () => (settled && late++, true), drained: () => Promise.resolve() };
    await rejectsWith(
      writeContextTar(plan, sink).finally(() => (settled = true)),
      'repository-unreadable',
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(late, 0, 'writes after the failure was reported');
  });

  it('git: spooled blobs wait for a slow output like the others', async () => {
    const blob = (i: number) => {
      const data = Buffer.alloc(60_000, i % 251);
      data.writeUInt32BE(i);
      return data;
    };
    const big = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`lib/big/f${i}.bin`, blob(i)]));
    const dir = await writeTree(await tempDir(), { ...big, 'taskcluster/docker/c/Dockerfile': 'FROM x\n# %include lib/big\n' });
    const tree = await sourceFor('git', dir);
    const plan = await planContext(tree, spec('c'), null, { maxFiles: 10_000 });
    const spool = new BlobSpool();
    const release = spool.acquire();
    const discard: ByteSink = { write: () => true, drained: () => Promise.resolve() };
    await writeContextTar(plan, discard, { spool }); // every blob now spooled
    // An output that asks to wait past 256 KiB, and takes a turn of the event loop to drain.
    let pending = 0;
    let most = 0;
    const slow: ByteSink = {
      write: (chunk) => {
        pending += chunk.length;
        most = Math.max(most, pending);
        return pending < 256 * 1024;
      },
      drained: () => new Promise((r) => setImmediate(() => r((pending = 0) as never))),
    };
    const hitsBefore = spool.hits;
    const bytes = await writeContextTar(plan, slow, { spool });
    release();
    await spool.close();
    assert.equal(spool.hits - hitsBefore, 300, 'the second time, every blob from the spool');
    assert.ok(bytes > 18_000_000);
    assert.ok(most < 1.5 * 1024 * 1024, `${most} bytes written past the output's limit`);
  });
});
