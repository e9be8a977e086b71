import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { writeLooseObjects } from '../../src/mirror/loose-objects.ts';
import { applyDelta, NeedsIndexPack } from '../../src/mirror/pack.ts';
import { GitRepo } from '../../src/tree/git-repo.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, git, initRepo } from '../support/vectors.ts';

const blobId = (text: string) => createHash('sha1').update(`blob ${Buffer.byteLength(text)}\0${text}`).digest('hex');

const varint = (n: number) => {
  const bytes = [];
  do {
    bytes.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n);
  return bytes;
};

/** A delta that copies all of `base` and inserts the rest of `target` (which starts with it). */
function insertDelta(base: string, target: string): Buffer {
  const rest = Buffer.from(target.slice(base.length));
  assert.ok(target.startsWith(base) && base.length <= 0xff && rest.length <= 0x7f);
  return Buffer.from([...varint(base.length), ...varint(target.length), 0x90, base.length, rest.length, ...rest]);
}

/** A pack of ref deltas (type 7), each entry's header, base id and deflated delta, then the checksum. */
function buildPack(entries: { baseOid: string; delta: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('PACK'), Buffer.from([0, 0, 0, 2]), Buffer.from([0, 0, 0, entries.length])];
  for (const { baseOid, delta } of entries) {
    assert.ok(delta.length < 0x800);
    parts.push(Buffer.from([0x80 | (7 << 4) | (delta.length & 15), delta.length >> 4]), Buffer.from(baseOid, 'hex'), deflateSync(delta));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

const looseCount = async (gitDir: string) => {
  let n = 0;
  for (const dir of await readdir(join(gitDir, 'objects'))) if (/^[0-9a-f]{2}$/.test(dir)) n += (await readdir(join(gitDir, 'objects', dir))).length;
  return n;
};

describe('a small pack stored as loose objects', { timeout: 60_000 }, () => {
  let source: string;
  let thinPack: Buffer;
  let newCommit: string;
  let baseCommit: string;
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} of a file that changes a little\n`);

  before(async () => {
    source = await tempDir('pack-src-');
    initRepo(source);
    await writeFile(join(source, 'big.txt'), lines.join(''));
    baseCommit = commitAll(source, 'base');
    git(source, 'branch', 'base');
    lines[1000] = 'the changed line\n';
    await writeFile(join(source, 'big.txt'), lines.join(''));
    newCommit = commitAll(source, 'change');
    // What upload-pack sends a mirror that has the base: a thin pack, deltas against objects it lacks.
    thinPack = execFileSync('git', ['pack-objects', '--revs', '--thin', '--stdout', '--delta-base-offset'], { cwd: source, input: `${newCommit}\n^${baseCommit}\n` });
  });

  /** A bare clone holding only the base commit. */
  async function mirrorOfBase(): Promise<string> {
    const dir = await tempDir('pack-dst-');
    git(dir, 'init', '-q', '--bare');
    git(dir, 'fetch', '-q', source, 'base:refs/heads/main');
    return dir;
  }

  it('resolves deltas against objects outside the pack; every object equals the source and git fsck agrees', async () => {
    const dir = await mirrorOfBase();
    const repo = await GitRepo.open(dir);
    try {
      const written = await writeLooseObjects(thinPack, dir, (oid) => repo.readObject(oid));
      assert.equal(written, thinPack.readUInt32BE(8));
      git(dir, 'update-ref', 'refs/heads/main', newCommit);
      execFileSync('git', ['--git-dir', dir, 'fsck', '--strict', '--no-dangling'], { stdio: 'pipe' });
      assert.equal(git(dir, 'cat-file', '-p', `${newCommit}:big.txt`), lines.join('').trimEnd());
      assert.equal(git(dir, 'rev-parse', `${newCommit}^{tree}`), git(source, 'rev-parse', `${newCommit}^{tree}`));
    } finally {
      await repo.close();
    }
  });

  it('a pack whose checksum is wrong writes nothing', async () => {
    const dir = await mirrorOfBase();
    const before = await looseCount(dir);
    const corrupt = Buffer.from(thinPack);
    corrupt[40] = corrupt[40]! ^ 0xff;
    await assert.rejects(writeLooseObjects(corrupt, dir, () => Promise.reject(new Error('unused'))), /checksum/);
    assert.equal(await looseCount(dir), before);
  });

  it('a delta whose base is nowhere here is left to git (index-pack), not guessed', async () => {
    const dir = await tempDir('pack-empty-');
    git(dir, 'init', '-q', '--bare');
    const asked: string[] = [];
    // (this also shows the pack is thin: without an outside base it would unpack here)
    await assert.rejects(writeLooseObjects(thinPack, dir, async (oid) => (asked.push(oid), null)), NeedsIndexPack);
    assert.ok(asked.length > 0);
    assert.equal(await looseCount(dir), 0);
  });

  it('a delta base in the mirror larger than the room left is not read into memory: git indexes the pack', async () => {
    const dir = await mirrorOfBase();
    const repo = await GitRepo.open(dir);
    const limits: number[] = [];
    try {
      // As if the pack had already filled all but 1,000 bytes of what is held here.
      const readBase = (oid: string, maxBytes: number) => (limits.push(maxBytes), repo.readObject(oid, Math.min(maxBytes, 1000)));
      await assert.rejects(writeLooseObjects(thinPack, dir, readBase), NeedsIndexPack);
      assert.ok(limits.length > 0 && limits.every((n) => n > 0 && n <= 64 << 20));
      assert.equal(await repo.has(newCommit), false);
    } finally {
      await repo.close();
    }
  });

  it('a chain of ref deltas, the first based on the second, the second on an object outside the pack', async () => {
    const dir = await tempDir('pack-chain-');
    git(dir, 'init', '-q', '--bare');
    const base = 'the base, outside the pack\n';
    const baseOid = execFileSync('git', ['--git-dir', dir, 'hash-object', '-w', '--stdin'], { input: base, encoding: 'utf8' }).trim();
    const middle = `${base}and a middle line\n`;
    const tip = `${middle}and a tip line\n`;
    const middleOid = blobId(middle);
    // Listed first, based on an object that is itself a delta later in the pack.
    const pack = buildPack([{ baseOid: middleOid, delta: insertDelta(middle, tip) }, { baseOid, delta: insertDelta(base, middle) }]);
    const repo = await GitRepo.open(dir);
    try {
      assert.equal(await writeLooseObjects(pack, dir, (oid) => repo.readObject(oid)), 2);
    } finally {
      await repo.close();
    }
    assert.equal(git(dir, 'cat-file', 'blob', blobId(tip)), tip.trimEnd());
    assert.equal(git(dir, 'cat-file', 'blob', middleOid), middle.trimEnd());
  });

  it('a commit is written after its tree: when the tree cannot be written, the commit is not there', async () => {
    const dir = await mirrorOfBase();
    const tree = git(source, 'rev-parse', `${newCommit}^{tree}`);
    // Something already stands where the new tree's object would go: its write fails.
    execFileSync('mkdir', ['-p', join(dir, 'objects', tree.slice(0, 2), tree.slice(2), 'x')]);
    const repo = await GitRepo.open(dir);
    try {
      await assert.rejects(writeLooseObjects(thinPack, dir, (oid) => repo.readObject(oid)));
      assert.equal(await repo.has(newCommit), false, 'no commit without its tree');
    } finally {
      await repo.close();
    }
  });

  it('deltas that copy outside their base or run short are refused', () => {
    const base = Buffer.from('0123456789');
    // source size 10, target size 4, copy offset 8 length 4: past the base's end
    assert.throws(() => applyDelta(base, Buffer.from([10, 4, 0x91, 8, 4])), /outside its base/);
    // target size 5, insert of 3 bytes only
    assert.throws(() => applyDelta(base, Buffer.from([10, 5, 3, 0x61, 0x62, 0x63])), /short/);
    // the base size in the header is not the base's
    assert.throws(() => applyDelta(base, Buffer.from([9, 1, 1, 0x61])), /does not fit/);
    // copy 3 bytes from offset 2, insert "xy"
    assert.equal(applyDelta(base, Buffer.from([10, 5, 0x91, 2, 3, 2, 0x78, 0x79])).toString(), '234xy');
  });
});
