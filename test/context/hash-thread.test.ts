import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HashPool, HashThread } from '../../src/context/hash-thread.ts';
import { tempDir } from '../support/temp.ts';

const sha256 = (chunks: Uint8Array[]) => chunks.reduce((h, c) => h.update(c), createHash('sha256')).digest('hex');

/** Writes as a tar writer does: waits whenever the sink asks it to. */
async function feed(sink: ReturnType<HashThread['sink']>, chunks: Uint8Array[]): Promise<boolean> {
  let waited = false;
  for (const chunk of chunks) {
    if (!sink.write(Buffer.from(chunk))) {
      waited = true;
      await sink.drained();
    }
  }
  return waited;
}

describe('hashing thread', () => {
  it('digests exactly what was written, for writes of any size and hashes interleaved', async () => {
    const thread = new HashThread();
    try {
      const chunk = fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        fc.integer({ min: 0, max: 700_000 }).map((n) => new Uint8Array(randomBytes(n))),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(chunk, { maxLength: 12 }), { minLength: 1, maxLength: 4 }), async (streams) => {
          const digests = await Promise.all(
            streams.map(async (chunks) => {
              const sink = thread.sink();
              await feed(sink, chunks);
              return sink.digest();
            }),
          );
          assert.deepEqual(digests, streams.map(sha256));
        }),
        { numRuns: 40 },
      );
    } finally {
      await thread.close();
    }
  });

  it('asks the writer to wait rather than queue a large context in memory', async () => {
    const thread = new HashThread();
    try {
      const sink = thread.sink();
      const chunks = Array.from({ length: 64 }, () => randomBytes(256 * 1024));
      assert.equal(await feed(sink, chunks), true, 'the writer was asked to wait');
      assert.equal(await sink.digest(), sha256(chunks));
    } finally {
      await thread.close();
    }
  });

  it('wakes every writer waiting for it (a paused source and the writer between runs)', async () => {
    const thread = new HashThread();
    try {
      const sink = thread.sink();
      const chunks = Array.from({ length: 16 }, () => randomBytes(256 * 1024));
      let full = false;
      for (const chunk of chunks) full = !sink.write(chunk) || full;
      assert.ok(full, 'the sink is full');
      await Promise.all([sink.drained(), sink.drained()]);
      assert.equal(await sink.digest(), sha256(chunks));
    } finally {
      await thread.close();
    }
  });

  it('reuses its shared memory: hundreds of hashes, finished or dropped, take a few slots', async () => {
    const thread = new HashThread();
    try {
      const data = randomBytes(700 * 1024);
      for (let i = 0; i < 200; i++) {
        const sink = thread.sink();
        await feed(sink, [data.subarray(0, (i * 7919) % data.length)]);
        if (i % 3 === 0) sink.discard();
        else assert.equal(await sink.digest(), sha256([data.subarray(0, (i * 7919) % data.length)]));
      }
      assert.ok(thread.slotBytes <= 2 * 1024 * 1024, `${thread.slotCount} slots, ${thread.slotBytes} bytes`);
    } finally {
      await thread.close();
    }
  });

  it('stops an idle thread and drops its slots; the next hash starts another', async () => {
    const thread = new HashThread(50);
    try {
      const data = randomBytes(600 * 1024);
      const sink = thread.sink();
      await feed(sink, [data]);
      assert.equal(await sink.digest(), sha256([data]));
      assert.ok(thread.slotCount > 0);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(thread.slotCount, 0, 'the slots were dropped');
      const next = thread.sink();
      await feed(next, [data, data]);
      assert.equal(await next.digest(), sha256([data, data]));
    } finally {
      await thread.close();
    }
  });

  it('fails the hashes in progress when the thread dies, and starts a new one for the next', async () => {
    const thread = new HashThread();
    try {
      const sink = thread.sink();
      await feed(sink, [randomBytes(1024 * 1024)]);
      await thread.close();
      await assert.rejects(sink.digest(), /hashing thread exited/);
      const next = thread.sink();
      await feed(next, [Buffer.from('abc')]);
      assert.equal(await next.digest(), sha256([Buffer.from('abc')]));
    } finally {
      await thread.close();
    }
  });

  it('holds the process open only while a hash is in progress (finished or discarded)', async () => {
    const script = join(await tempDir(), 'script.mts');
    await writeFile(
      script,
      `
      import { HashThread } from ${JSON.stringify(new URL('../../src/context/hash-thread.ts', import.meta.url).href)};
      const thread = new HashThread();
      const done = thread.sink();
      done.write(Buffer.alloc(300 * 1024, 1));
      console.log(await done.digest());
      const dropped = thread.sink();
      dropped.write(Buffer.alloc(300 * 1024, 2));
      dropped.discard();
    `,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.error, undefined, 'the process ended by itself');
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), sha256([Buffer.alloc(300 * 1024, 1)]));
  });

  it('hashes bytes of a file by reference where they stand among the written ones, read by the thread', async () => {
    const dir = await tempDir();
    const file = randomBytes(3 * 1024 * 1024 + 17);
    const fd = openSync(join(dir, 'spool'), 'w+');
    writeSync(fd, file);
    const thread = new HashThread();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(fc.uint8Array({ maxLength: 70_000 }), fc.record({ offset: fc.nat(file.length), length: fc.nat(2_500_000) })), { maxLength: 40 }),
          async (parts) => {
            const sink = thread.sink();
            const expected = createHash('sha256');
            for (const part of parts) {
              if (part instanceof Uint8Array) {
                expected.update(part);
                if (!sink.write(Buffer.from(part))) await sink.drained();
              } else {
                const length = Math.min(part.length, file.length - part.offset);
                expected.update(file.subarray(part.offset, part.offset + length));
                if (!sink.writeRef(fd, part.offset, length)) await sink.drained();
              }
            }
            assert.equal(await sink.digest(), expected.digest('hex'));
          },
        ),
        { numRuns: 30 },
      );
      // References that follow each other in the file, with nothing written between, are merged.
      const merged = thread.sink();
      merged.writeRef(fd, 0, 10);
      merged.writeRef(fd, 10, 20);
      merged.write(Buffer.from('x'));
      merged.writeRef(fd, 30, 5);
      merged.writeRef(fd, 100, 5);
      assert.equal(await merged.digest(), sha256([file.subarray(0, 30), Buffer.from('x'), file.subarray(30, 35), file.subarray(100, 105)]));
      // Past the end of the file: that hash fails, the next is whole.
      const bad = thread.sink();
      bad.writeRef(fd, file.length - 10, 20);
      await assert.rejects(bad.digest(), /hashing failed: the spool ended/);
      const good = thread.sink();
      good.writeRef(fd, 0, 10);
      assert.equal(await good.digest(), sha256([file.subarray(0, 10)]));
      // A dropped hash settles once the thread has let go of the file.
      const dropped = thread.sink();
      dropped.writeRef(fd, 0, file.length);
      dropped.write(Buffer.alloc(300 * 1024));
      await dropped.discard();
    } finally {
      await thread.close();
      closeSync(fd);
    }
  });

  it('a pool spreads the hashes in progress over its threads, and close stops them all', async () => {
    const pool = new HashPool({ threads: 2 });
    try {
      const data = [randomBytes(600 * 1024), randomBytes(900 * 1024)];
      const sinks = data.map((d) => {
        const sink = pool.sink();
        sink.write(d);
        return sink;
      });
      assert.deepEqual(
        pool.threads.map((t) => [t.running, t.load.hashes]),
        [
          [true, 1],
          [true, 1],
        ],
        'one hash on each thread',
      );
      assert.deepEqual(
        await Promise.all(sinks.map((s) => s.digest())),
        data.map((d) => sha256([d])),
      );
      const third = pool.sink();
      third.write(data[0]!);
      assert.equal(await third.digest(), sha256([data[0]!]));
    } finally {
      await pool.close();
    }
    assert.deepEqual(
      pool.threads.map((t) => t.running),
      [false, false],
    );
  });

  it('pools share nothing: closing one leaves the other hashing', async () => {
    const one = new HashPool({ threads: 1 });
    const other = new HashPool({ threads: 1 });
    try {
      const sink = other.sink();
      sink.write(Buffer.from('abc'));
      const lost = one.sink();
      lost.write(randomBytes(1024 * 1024)); // shipped to the thread
      await one.close();
      await assert.rejects(lost.digest(), /hashing thread exited/);
      assert.equal(await sink.digest(), sha256([Buffer.from('abc')]));
    } finally {
      await one.close();
      await other.close();
    }
  });
});
