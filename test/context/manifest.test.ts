import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Parser, type ReadEntry } from 'tar';
import { decodeEncoded, decodeManifest, type EncodedManifest, encodedBytes, encodeManifest } from '../../src/context/manifest-encoding.ts';
import type { ContextManifest } from '../../src/context/manifest.ts';
import { testHasher } from '../support/hashers.ts';
import { SOURCE_KINDS, sourceFor } from '../support/sources.ts';
import { tempDir } from '../support/temp.ts';
import { git, materialise, VECTORS } from '../support/vectors.ts';

/** Each file of a vendored reference tar: name, mode, size and the SHA-256 of its content. */
async function tarFiles(rel: string): Promise<{ path: string; mode: number; size: number; sha256: string }[]> {
  const files: { path: string; mode: number; size: number; sha256: string }[] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const hash = createHash('sha256');
      entry.on('data', (chunk: Buffer) => hash.update(chunk));
      entry.on('end', () => files.push({ path: entry.path, mode: entry.mode! & 0o7777, size: entry.size, sha256: hash.digest('hex') }));
    },
  });
  const bytes = await readFile(join(VECTORS, rel));
  await new Promise((resolve) => {
    parser.on('end', resolve);
    parser.end(bytes);
  });
  return files;
}

const SPEC = { contextDir: 'taskcluster/docker/base', args: {} };
/** What a store keeps of an encoded manifest: its head, keys and each part's key, text and size. */
const stored = (m: EncodedManifest) => ({ head: m.head, keys: m.keys, parts: m.parts.map((p) => ({ key: p.key, text: p.text, bytes: p.bytes })) });

describe('context manifests, noted while hashing', () => {
  for (const kind of SOURCE_KINDS) {
    it(`name, mode and size of every file of the hashed tar, and its blob id where it has one (${kind})`, async () => {
      const dir = await materialise('acme/tree', join(await tempDir(), 'acme'));
      const tree = await sourceFor(kind, dir);
      const hasher = testHasher({ spoolMaxBytes: kind === 'git' ? undefined : 0 });
      const result = await hasher.hash(tree, SPEC);
      const manifest = decodeEncoded(result.manifest!)!;
      const expected = await tarFiles('acme/tars/base.tar');
      assert.equal(manifest.files, expected.length);
      assert.equal(manifest.truncated, false);
      assert.deepEqual(
        manifest.entries.map((e) => [e.path, e.mode, e.size]),
        expected.map((f) => [f.path, f.mode, f.size]),
      );
      for (const [i, entry] of manifest.entries.entries()) {
        const file = expected[i]!;
        if (entry.path === 'Dockerfile') assert.equal(entry.id, `sha256:${file.sha256}`, 'the processed Dockerfile: its SHA-256');
        else if (kind === 'git') {
          const source = entry.include ? entry.path.replace(/^topsrcdir\//, '') : `taskcluster/docker/base/${entry.path}`;
          assert.equal(entry.id, git(dir, 'rev-parse', `HEAD:${source}`), entry.path);
        } else assert.equal(entry.id, null, `${entry.path}: a plain folder's files are not hashed twice`);
      }
      const included = manifest.entries.find((e) => e.path === 'topsrcdir/scripts/setup.sh');
      assert.equal(included?.include, 'scripts/setup.sh', 'an included file names its %include');
      assert.equal(manifest.entries.find((e) => e.path === 'files/run.sh')?.include, undefined);
      assert.deepEqual(decodeEncoded(encodeManifest(manifest)), manifest);
      assert.deepEqual(stored(encodeManifest(manifest)), stored(result.manifest!), 'noted as encodeManifest writes it');
      if (kind === 'git') {
        // A memo hit gives no manifest: it was given when the hash was computed.
        assert.equal((await hasher.hash(tree, SPEC)).manifest, undefined);
        // Another hasher on the same spool takes the included file from it, by reference: the same manifest.
        const other = testHasher({ spool: hasher.spool });
        const again = await other.hash(tree, SPEC);
        assert.ok(other.counters.spoolHits > 0, 'the included file came from the spool');
        assert.deepEqual(decodeEncoded(again.manifest!), manifest);
      }
    });
  }

  it('is bounded: past the entries or bytes allowed, only the first entries are kept and it says it is truncated', async () => {
    const dir = await materialise('acme/tree', join(await tempDir(), 'acme'));
    const tree = await sourceFor('git', dir);
    const noted = (await testHasher().hash(tree, SPEC)).manifest!;
    const all = decodeEncoded(noted)!;
    assert.ok(all.entries.length >= 3);
    const byCount = decodeEncoded((await testHasher({ manifestLimits: { maxEntries: 2, maxBytes: 1 << 20 } }).hash(tree, SPEC)).manifest!)!;
    assert.deepEqual(byCount.entries, all.entries.slice(0, 2));
    assert.equal(byCount.truncated, true);
    assert.equal(byCount.files, all.files);
    const bounded = (await testHasher({ manifestLimits: { maxEntries: 100, maxBytes: 100 } }).hash(tree, SPEC)).manifest!;
    const byBytes = decodeEncoded(bounded)!;
    assert.ok(byBytes.entries.length < all.entries.length && byBytes.truncated);
    assert.ok(encodedBytes(bounded) < encodedBytes(noted));
  });

  it('seed-v1 lists the context folder’s files with their SHA-256', async () => {
    const dir = await materialise('seed-v1/tree', join(await tempDir(), 'seed'));
    const tree = await sourceFor('git', dir);
    const manifest = decodeEncoded((await testHasher().hash(tree, { contextDir: 'docker/my-image', args: {} }, 'seed-v1')).manifest!)!;
    assert.equal(manifest.algorithm, 'seed-v1');
    const content = await readFile(join(dir, 'docker/my-image/a-file'));
    const file = manifest.entries.find((e) => e.path === 'docker/my-image/a-file');
    assert.deepEqual(file, { path: 'docker/my-image/a-file', mode: 0o644, id: `sha256:${createHash('sha256').update(content).digest('hex')}`, size: content.length });
  });

  it('is stored in parts, one per %include: contexts that include the same files share it, and entries come back in archive order', () => {
    const own = (name: string) => ({ path: name, mode: 0o644, id: 'a'.repeat(40), size: 1 });
    const shared = (name: string) => ({ path: `topsrcdir/lib/${name}`, mode: 0o644, id: 'b'.repeat(40), size: 2, include: 'lib' });
    const m = (entries: ContextManifest['entries']): ContextManifest => ({ algorithm: 'taskgraph', files: entries.length, truncated: false, entries });
    // Own files on both sides of the included folder: the parts interleave.
    const one = m([own('Dockerfile'), shared('a.py'), shared('b.py'), own('zz.txt')]);
    const other = m([own('Dockerfile'), own('other.sh'), shared('a.py'), shared('b.py')]);
    const [a, b] = [encodeManifest(one), encodeManifest(other)];
    assert.equal(a.parts.length, 2);
    // Hashed as it was written, a few dozen entries at a time: the key is the SHA-256 of the text.
    const many = encodeManifest(m(Array.from({ length: 150 }, (_, i) => shared(`m${String(i).padStart(3, '0')}.py`))));
    for (const p of [...a.parts, ...b.parts, ...many.parts]) assert.deepEqual([p.key, p.bytes], [createHash('sha256').update(p.text).digest('hex'), Buffer.byteLength(p.text)]);
    const sharedKey = (e: typeof a) => e.parts.find((p) => p.text.includes('"i":"lib"'))!.key;
    assert.equal(sharedKey(a), sharedKey(b), 'the included files are one part, named alike');
    assert.notEqual(
      a.keys.find((k) => k !== sharedKey(a)),
      b.keys.find((k) => k !== sharedKey(b)),
    );
    assert.deepEqual(decodeEncoded(a), one);
    assert.deepEqual(decodeEncoded(b), other);
    assert.equal(
      decodeManifest(a.head, () => undefined),
      null,
      'a head whose part is gone',
    );
    // A head stored before parts existed keeps its entries inline.
    const inline = JSON.stringify({
      a: 'taskgraph',
      f: 2,
      t: true,
      e: [
        ['Dockerfile', 0o644, null, 3],
        ['topsrcdir/lib/a.py', 0o755, 'c'.repeat(40), 4, 'lib'],
      ],
    });
    assert.deepEqual(
      decodeManifest(inline, () => undefined),
      {
        algorithm: 'taskgraph',
        files: 2,
        truncated: true,
        entries: [
          { path: 'Dockerfile', mode: 0o644, id: null, size: 3 },
          { path: 'topsrcdir/lib/a.py', mode: 0o755, id: 'c'.repeat(40), size: 4, include: 'lib' },
        ],
      },
    );
  });
});
