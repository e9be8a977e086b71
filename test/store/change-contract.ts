import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ContextManifest } from '../../src/context/manifest.ts';
import { encodedBytes, encodeManifest } from '../../src/context/manifest-encoding.ts';
import type { ChangeStore, ImageVersion } from '../../src/domain/index.ts';
import type { ChangeLimits } from '../../src/store/change-limits.ts';

const manifest = (name: string, extra = 0, dockerfile = 'a'): ContextManifest => ({
  algorithm: 'taskgraph',
  files: 2 + extra,
  truncated: extra > 0,
  entries: [
    { path: 'Dockerfile', mode: 0o644, id: `sha256:${dockerfile.repeat(64)}`, size: 10 },
    { path: `topsrcdir/${name}`, mode: 0o755, id: 'b'.repeat(40), size: 20, include: name },
  ],
});

/** A context of its own Dockerfile (`n`) and a big shared folder: what images of one repository look like. */
const sharing = (n: number): ContextManifest => {
  const shared = Array.from({ length: 50 }, (_, i) => ({
    path: `topsrcdir/python/shared/m${String(i).padStart(2, '0')}.py`,
    mode: 0o644,
    id: 'c'.repeat(40),
    size: i,
    include: 'python/shared',
  }));
  return {
    algorithm: 'taskgraph',
    files: 51,
    truncated: false,
    entries: [{ path: 'Dockerfile', mode: 0o644, id: `sha256:${String(n).repeat(64).slice(0, 64)}`, size: n }, ...shared],
  };
};

const version = (repository: string, image: string, digest: string, minute: number, contextHash = `ctx-${digest}`): ImageVersion => ({
  repository,
  image,
  digest,
  contextHash,
  args: { V: digest },
  parent: 'base',
  inputs: { algorithm: 'taskgraph', builderImage: 'builder:1', parentDigest: `p-${digest}` },
  pushId: `push-${digest}-${minute}`,
  rev: `rev-${minute}`,
  decision: 'build',
  taskId: `task-${minute}`,
  seenAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
});

/** What explains builds (src/decision/explain.ts); `open` makes a store with the given bounds. */
export function changeStoreContract(name: string, open: (limits?: ChangeLimits) => Promise<ChangeStore>): void {
  describe(`change store contract: ${name}`, () => {
    // First: it needs a store holding no manifest yet (the bound is the whole store's).
    it('is bounded: a few versions per image, unnamed manifests for a while, and a total size, the least recently needed going first', async () => {
      // Manifests sharing no part, all of one size.
      const manifestOf = (n: number) => manifest(`x${n}`, 0, String(n));
      const one = encodedBytes(encodeManifest(manifestOf(1)));
      const store = await open({ versionsPerImage: 2, manifestBytes: one * 2, unnamedManifestMs: 60_000 });
      const repo = `r-${randomUUID()}`;
      const hash = (n: number) => `${repo}-h${n}`;
      const minute = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m));
      const kept = async (...ns: number[]) => [...(await store.getManifests(ns.map(hash))).keys()].sort();
      // As a plan does: the graph's manifests, then its versions.
      const plan = async (m: number, image: string, digest: string, n: number) => {
        await store.recordManifests([{ contextHash: hash(n), manifest: encodeManifest(manifestOf(n)) }], minute(m));
        await store.recordVersions([version(repo, image, digest, m, hash(n))]);
      };
      await plan(10, 'base', 'd1', 1);
      await plan(11, 'base', 'd2', 2);
      await plan(12, 'base', 'd3', 3);
      const base = (await store.versionsOfImages(repo, ['base'])).get('base')!;
      assert.deepEqual(
        base.map((v) => v.digest),
        ['d3', 'd2'],
        'two versions per image',
      );
      assert.deepEqual(await kept(1, 2, 3), [hash(2), hash(3)], 'the manifest no version names is gone');
      // A preview's manifest (named by no version), then another image's plan: the two most recent are kept.
      await store.recordManifests([{ contextHash: hash(4), manifest: encodeManifest(manifestOf(4)) }], minute(20));
      await plan(20, 'python', 'p5', 5);
      assert.deepEqual(await kept(2, 3, 4, 5), [hash(4), hash(5)]);
      // Past its minute of grace, an unnamed manifest goes.
      await plan(30, 'python', 'p6', 6);
      assert.deepEqual(await kept(4, 5, 6), [hash(5), hash(6)]);
    });

    it('stores a part shared by manifests once and counts it once against the bound', async () => {
      const full = encodedBytes(encodeManifest(sharing(1)));
      // What each manifest adds once the shared folder is stored: its head and its own files.
      const extra = (n: number) => {
        const e = encodeManifest(sharing(n));
        return encodedBytes(e) - e.parts.find((p) => p.text.includes('python/shared'))!.bytes;
      };
      const bound = full + extra(2) + extra(3) + extra(4);
      assert.ok(bound < 2 * full, 'four copies of the folder would not fit, nor two');
      const store = await open({ versionsPerImage: 16, manifestBytes: bound, unnamedManifestMs: 3600_000 });
      const repo = `r-${randomUUID()}`;
      const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 1, m));
      for (const n of [1, 2, 3, 4]) await store.recordManifests([{ contextHash: `${repo}-${n}`, manifest: encodeManifest(sharing(n)) }], at(n));
      const got = await store.getManifests([1, 2, 3, 4].map((n) => `${repo}-${n}`));
      assert.equal(got.size, 4, 'all four fit');
      for (const n of [1, 2, 3, 4]) assert.deepEqual(got.get(`${repo}-${n}`), sharing(n));
      // A fifth goes past the bound: the least recently needed goes, and the folder stays for the rest.
      await store.recordManifests([{ contextHash: `${repo}-5`, manifest: encodeManifest(sharing(5)) }], at(5));
      const after = await store.getManifests([1, 2, 3, 4, 5].map((n) => `${repo}-${n}`));
      assert.deepEqual(
        [...after.keys()].sort(),
        [2, 3, 4, 5].map((n) => `${repo}-${n}`),
      );
      assert.deepEqual(after.get(`${repo}-5`), sharing(5));
    });

    it('keeps the first manifest of each hash, byte for byte (a name that is not UTF-8 included)', async () => {
      const store = await open();
      const [a, b] = [randomUUID(), randomUUID()];
      const odd = manifest('caf\udce9.txt');
      await store.recordManifests([{ contextHash: a, manifest: encodeManifest(odd) }], new Date());
      await store.recordManifests(
        [
          { contextHash: a, manifest: encodeManifest(manifest('other')) },
          { contextHash: b, manifest: encodeManifest(manifest('b', 5)) },
        ],
        new Date(),
      );
      const got = await store.getManifests([a, b, randomUUID()]);
      assert.deepEqual([...got.keys()].sort(), [a, b].sort());
      assert.deepEqual(got.get(a), odd);
      assert.deepEqual(got.get(b), manifest('b', 5));
      assert.deepEqual(await store.getManifests([]), new Map());
    });

    it('answers each image’s versions, most recently seen first, per repository; a revision seen later wins, an older sighting does not', async () => {
      const store = await open();
      const repo = `r-${randomUUID()}`;
      await store.recordVersions([version(repo, 'base', 'd1', 1), version(repo, 'python', 'p1', 1)]);
      await store.recordVersions([version(repo, 'base', 'd2', 2)]);
      await store.recordVersions([version(repo, 'base', 'd1', 3)]);
      // rev-2 again, seen earlier than it was: kept as it was.
      await store.recordVersions([{ ...version(repo, 'base', 'd9', 0), rev: 'rev-2' }]);
      const found = await store.versionsOfImages(repo, ['base', 'python', 'x']);
      assert.deepEqual(found.get('base'), [version(repo, 'base', 'd1', 3), version(repo, 'base', 'd2', 2), version(repo, 'base', 'd1', 1)]);
      assert.deepEqual(found.get('python'), [version(repo, 'python', 'p1', 1)]);
      assert.deepEqual(found.get('x'), []);
      assert.deepEqual((await store.versionsOfImages(`${repo}-other`, ['base'])).get('base'), []);
      assert.deepEqual(await store.versionsOfImages(repo, []), new Map());
    });

    it('keeps a version per revision: each decided revision is found by ancestry, and an old digest’s newest revision outlives newer ones', async () => {
      const store = await open({ versionsPerImage: 2, manifestBytes: 1 << 20, unnamedManifestMs: 60_000 });
      const repo = `r-${randomUUID()}`;
      // One digest at two revisions (rev-1, rev-2), then two more of a newer digest.
      for (const [digest, minute] of [
        ['d1', 1],
        ['d1', 2],
        ['d2', 3],
        ['d2', 4],
      ] as const)
        await store.recordVersions([version(repo, 'base', digest, minute)]);
      const revs = async () => (await store.versionsOfImages(repo, ['base', 'none'])).get('base')!.map((v) => v.rev);
      assert.deepEqual(await revs(), ['rev-4', 'rev-3', 'rev-2'], 'the two newest revisions, and d1’s newest');
      assert.deepEqual((await store.versionsOfImages(repo, ['none'])).get('none'), []);
      // A revision decided again: the newer sighting replaces it (its digest too); an older one does not.
      await store.recordVersions([{ ...version(repo, 'base', 'd3', 5), rev: 'rev-3' }]);
      await store.recordVersions([{ ...version(repo, 'base', 'd9', 0), rev: 'rev-4' }]);
      const kept = (await store.versionsOfImages(repo, ['base'])).get('base')!;
      assert.deepEqual(
        kept.map((v) => [v.rev, v.digest]),
        [
          ['rev-3', 'd3'],
          ['rev-4', 'd2'],
        ],
        'd1 is no longer among the two newest digests',
      );
      assert.deepEqual(kept[0], { ...version(repo, 'base', 'd3', 5), rev: 'rev-3' });
    });
  });
}
