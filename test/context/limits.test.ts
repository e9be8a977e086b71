import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ContextHasher } from '../../src/context/hasher.ts';
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
      const expected = await new ContextHasher().hash(tree, spec('small'));

      const bytes = new ContextHasher({ maxContextBytes: 200_000 });
      await rejectsWith(bytes.hash(tree, spec('big')), 'context-too-large');
      // Nothing of the abandoned context reaches the next one.
      assert.equal((await bytes.hash(tree, spec('small'))).contextHash, expected.contextHash);

      const count = new ContextHasher({ maxContextFiles: 450 });
      await rejectsWith(count.hash(tree, spec('big')), 'context-too-large');
      assert.equal((await count.hash(tree, spec('small'))).contextHash, expected.contextHash);
    });
  }

  it('git: a blob missing from the repository fails that context with repository-unreadable; the next reads in step', async () => {
    const dir = await writeTree(await tempDir(), files);
    const tree = await sourceFor('git', dir);
    const expected = await new ContextHasher().hash(tree, spec('small'));
    // An own file in the middle of the context: reads before and after it are in flight.
    const oid = git(dir, 'rev-parse', 'HEAD:taskcluster/docker/big/own/f50.txt').trim();
    await rm(join(dir, '.git', 'objects', oid.slice(0, 2), oid.slice(2)));

    const hasher = new ContextHasher();
    await rejectsWith(hasher.hash(tree, spec('big')), 'repository-unreadable');
    assert.equal((await hasher.hash(tree, spec('small'))).contextHash, expected.contextHash);
  });

  it('directory: a setuid file fails its context with setuid-file', async () => {
    const dir = await writeTree(await tempDir(), { ...files, 'taskcluster/docker/small/tool': { content: '#!/bin/sh\n', mode: 0o4755 } });
    const tree = await sourceFor('directory', dir);
    await rejectsWith(new ContextHasher().hash(tree, spec('small')), 'setuid-file');
  });
});
