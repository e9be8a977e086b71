import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_BUILDER_IMAGE } from '../../src/context/digest.ts';
import { HashPool } from '../../src/context/hash-thread.ts';
import { ContextHasher } from '../../src/context/hasher.ts';
import { GraphBuilder } from '../../src/graph/build-graph.ts';
import { SOURCE_KINDS, sourceFor } from '../support/sources.ts';
import { tempDir } from '../support/temp.ts';
import { materialise, readJson } from '../support/vectors.ts';

const sha256 = (parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex');

// A pool with `inlineBytes` hashes small contexts on the calling thread (the CLI's): the same
// bytes, the same digest, and no thread started unless a hash outgrows the limit.
describe('hashes kept inline until they outgrow the limit', () => {
  it('digest writes and file ranges, mixed, as a thread would, on either side of the limit', async () => {
    const file = randomBytes(300 * 1024);
    const path = join(await tempDir(), 'spool');
    writeFileSync(path, file);
    const fd = openSync(path, 'r');
    try {
      for (const limit of [1, 1000, 64 * 1024, 200 * 1024, 4 * 1024 * 1024]) {
        const pool = new HashPool({ threads: 1, inlineBytes: limit });
        try {
          const sink = pool.sink();
          const expected: Buffer[] = [];
          for (let i = 0; i < 40; i++) {
            if (i % 3 === 2) {
              const offset = (i * 7919) % (file.length - 9000);
              const length = 1 + ((i * 131) % 9000);
              sink.writeRef!(fd, offset, length);
              expected.push(file.subarray(offset, offset + length));
            } else {
              const chunk = randomBytes(i % 5 === 0 ? 70 * 1024 : 512);
              assert.equal(sink.copiesWrites, true);
              sink.write(chunk);
              expected.push(Buffer.from(chunk));
              chunk.fill(0); // the writer may reuse its buffer once write returns
            }
            await sink.drained();
          }
          const total = expected.reduce((n, b) => n + b.length, 0);
          assert.equal(pool.threads[0]!.running, total > limit, `limit ${limit}: a thread only past it`);
          assert.equal(await sink.digest(), sha256(expected), `limit ${limit}`);
          const empty = pool.sink();
          assert.equal(await empty.digest(), sha256([]));
          const dropped = pool.sink();
          dropped.write(randomBytes(100));
          await dropped.discard();
        } finally {
          await pool.close();
        }
      }
    } finally {
      closeSync(fd);
    }
  });

  it('bounds the bytes kept by all its hashes together, and frees them at each digest', async () => {
    const pool = new HashPool({ threads: 1, inlineBytes: 200 * 1024 });
    try {
      // Each more than a thread's slot (128 KiB), so a hash on the thread has sent it bytes.
      const [a, b, c] = [randomBytes(150 * 1024), randomBytes(150 * 1024), randomBytes(150 * 1024)];
      const first = pool.sink();
      first.write(a);
      const second = pool.sink();
      second.write(b); // 300 KiB kept in all: this one moves to the thread
      assert.equal(pool.threads[0]!.load.hashes, 1);
      assert.equal(await first.digest(), sha256([a]));
      assert.equal(await second.digest(), sha256([b]));
      const third = pool.sink();
      third.write(c); // the first's bytes were given back: kept inline again
      assert.equal(pool.threads[0]!.load.hashes, 0);
      assert.equal(await third.digest(), sha256([c]));
    } finally {
      await pool.close();
    }
  });

  for (const kind of SOURCE_KINDS) {
    it(`gives the acme vectors' context hashes through the ${kind} source, with no thread started`, async () => {
      const expected = await readJson<{ images: Record<string, { contextHash: string; digest: string }> }>('acme/expected.json');
      const tree = await sourceFor(kind, await materialise('acme/tree', join(await tempDir(), 'acme')));
      const pool = new HashPool({ inlineBytes: 4 * 1024 * 1024 });
      const hasher = new ContextHasher({ pool });
      try {
        const graph = await new GraphBuilder(hasher).build(tree, {
          level: 3,
          pullRequest: false,
          algorithm: 'taskgraph',
          builderImage: DEFAULT_BUILDER_IMAGE,
          pushDate: new Date('2026-03-04T05:06:07Z'),
        });
        for (const [name, want] of Object.entries(expected.images)) {
          const got = graph.images.find((i) => i.name === name);
          assert.equal(got?.contextHash, want.contextHash, name);
          assert.equal(got?.digest, want.digest, name);
        }
        assert.deepEqual(
          pool.threads.map((t) => t.running),
          pool.threads.map(() => false),
        );
      } finally {
        await hasher.close();
        await pool.close();
      }
    });
  }
});
