import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDeciderError } from '../../src/errors.ts';
import { GitBatch, type ObjectHandler } from '../../src/tree/git-batch.ts';
import { tempDir } from '../support/temp.ts';
import { writeTree } from '../support/trees.ts';
import { commitAll, git, initRepo } from '../support/vectors.ts';

/** Collects one object; `stallEvery` makes every n-th chunk ask the reader to wait. */
function collect(batch: GitBatch, spec: string, stallEvery = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = -1;
    let chunks = 0;
    const handler: ObjectHandler = {
      header: (_oid, _type, s) => (size = s),
      data: (chunk) => {
        parts.push(Buffer.from(chunk));
        return stallEvery === 0 || ++chunks % stallEvery !== 0;
      },
      drained: () => new Promise((r) => setTimeout(r, 1)),
      end: () => {
        const data = Buffer.concat(parts);
        if (data.length === size) resolve(data);
        else reject(new Error(`${spec}: ${data.length} bytes of ${size}`));
      },
      fail: reject,
    };
    batch.request(spec, handler);
  });
}

describe('git cat-file reader', { timeout: 60_000 }, () => {
  let repo: string;
  const files = new Map<string, Buffer>();
  const oids = new Map<string, string>();
  before(async () => {
    repo = await tempDir('batch-');
    initRepo(repo);
    for (let i = 0; i < 300; i++) files.set(`f${i}`, randomBytes(i % 50 === 0 ? 200_000 + i : i % 7 === 0 ? 0 : 1 + ((i * 977) % 6000)));
    await writeTree(repo, Object.fromEntries(files));
    commitAll(repo);
    for (const line of git(repo, 'ls-tree', '-r', 'HEAD').split('\n')) {
      const [meta, path] = line.split('\t');
      oids.set(path!, meta!.split(' ')[2]!);
    }
  });
  const batches: GitBatch[] = [];
  after(() => Promise.all(batches.map((b) => b.close())));
  const open = () => {
    const batch = new GitBatch(join(repo, '.git'));
    batches.push(batch);
    return batch;
  };

  it('answers hundreds of pipelined requests in order, missing objects included', async () => {
    const batch = open();
    const names = [...files.keys()];
    const answers = names.flatMap((name, i) => {
      const read = collect(batch, oids.get(name)!, i % 3 === 0 ? 2 : 0);
      return i % 40 === 0 ? [read, collect(batch, `${'0'.repeat(39)}${i % 10}`)] : [read];
    });
    const settled = await Promise.allSettled(answers);
    const missing = settled.filter((s) => s.status === 'rejected');
    assert.equal(missing.length, Math.ceil(names.length / 40));
    for (const m of missing) {
      const reason = (m as PromiseRejectedResult).reason as unknown;
      assert.ok(isDeciderError(reason) && reason.code === 'repository-unreadable' && /is missing/.test(reason.message), String(reason));
    }
    const read = settled.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<Buffer>).value);
    assert.deepEqual(
      read,
      names.map((n) => files.get(n)),
    );
    assert.equal(batch.pending, 0);
  });

  it('answers requests sent one at a time, each awaited before the next', async () => {
    const batch = open();
    for (const name of [...files.keys()].slice(0, 40)) assert.deepEqual(await collect(batch, oids.get(name)!), files.get(name));
  });

  it('read answers null for a missing object, and the next answers are intact', async () => {
    const batch = open();
    const reads = [batch.read('0'.repeat(40)), batch.read(oids.get('f1')!), batch.read(oids.get('f0')!)];
    assert.equal(await reads[0]!, null);
    assert.ok((await reads[1]!)!.data.equals(files.get('f1')!));
    assert.ok((await reads[2]!)!.data.equals(files.get('f0')!));
  });

  it('fails every waiting request when git dies, and refuses new ones', async () => {
    const batch = open();
    const big = [...files.keys()].filter((n) => files.get(n)!.length > 100_000);
    // Stalls keep most of the answers waiting in the pipe while git is killed.
    const waiting = Array.from({ length: 40 }, (_, i) => collect(batch, oids.get(big[i % big.length]!)!, 1));
    await new Promise((r) => setTimeout(r, 20));
    execFileSync('pkill', ['-KILL', '-f', `git-dir ${join(repo, '.git')} cat-file`]);
    const settled = await Promise.allSettled(waiting);
    const failed = settled.filter((s) => s.status === 'rejected') as PromiseRejectedResult[];
    assert.ok(failed.length > 0, 'some requests were still waiting');
    for (const f of failed) assert.match((f.reason as Error).message, /git cat-file exited/);
    await assert.rejects(collect(batch, oids.get('f1')!), /closed/);
  });

  it('reads through an ordinary pipe where mkfifo is missing', async () => {
    const bin = await tempDir('bin-');
    await symlink(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), join(bin, 'git'));
    const script = join(bin, 'read.mts');
    const name = [...files.keys()].find((n) => files.get(n)!.length > 100_000)!;
    await writeFile(
      script,
      `
      import { createHash } from 'node:crypto';
      import { GitBatch } from ${JSON.stringify(new URL('../../src/tree/git-batch.ts', import.meta.url).href)};
      import { openFifo } from ${JSON.stringify(new URL('../../src/tree/fifo.ts', import.meta.url).href)};
      const batch = new GitBatch(${JSON.stringify(join(repo, '.git'))});
      const { data } = (await batch.read(${JSON.stringify(oids.get(name))}))!;
      console.log(openFifo() === null, createHash('sha256').update(data).digest('hex'));
      await batch.close();
    `,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', env: { ...process.env, PATH: bin }, timeout: 20_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), `true ${createHash('sha256').update(files.get(name)!).digest('hex')}`);
  });
});
