import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContextManifest, ManifestEntry } from '../../src/context/manifest.ts';
import { MAX_LISTED_FILES, compareVersions, diffManifests } from '../../src/decision/changes.ts';
import type { ImageVersion } from '../../src/domain/index.ts';

const entry = (path: string, id: string, size = 1): ManifestEntry => ({ path, mode: 0o644, id, size });
const manifest = (entries: ManifestEntry[], truncated = false, files = entries.length): ContextManifest => ({ algorithm: 'taskgraph', files, truncated, entries });
const version = (over: Partial<ImageVersion> = {}): ImageVersion => ({
  repository: 'acme',
  image: 'img',
  digest: 'd'.repeat(64),
  contextHash: 'c'.repeat(64),
  args: {},
  parent: null,
  inputs: { algorithm: 'taskgraph', builderImage: 'builder:1', parentDigest: null },
  pushId: 'p1',
  rev: 'a'.repeat(40),
  decision: 'indexed',
  taskId: 'T',
  seenAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('comparing an image’s versions', () => {
  it('files added, removed and changed, at most 50 listed, the counts covering all', () => {
    const before = manifest([entry('Dockerfile', 'x'), entry('gone', 'g'), ...Array.from({ length: 60 }, (_, i) => entry(`f${String(i).padStart(2, '0')}`, 'old'))]);
    const after = manifest([entry('Dockerfile', 'x'), entry('new', 'n', 7), ...Array.from({ length: 60 }, (_, i) => entry(`f${String(i).padStart(2, '0')}`, 'new'))]);
    const files = diffManifests(before, after);
    assert.deepEqual([files.added, files.removed, files.changed], [1, 1, 60]);
    assert.equal(files.list.length, MAX_LISTED_FILES);
    assert.deepEqual(files.list[0], { change: 'changed', path: 'f00', before: { mode: 0o644, size: 1 }, after: { mode: 0o644, size: 1 } });
    assert.equal(files.note, undefined);
  });

  it('compares truncated manifests only as far as both go, and says so', () => {
    const before = manifest([entry('a', '1'), entry('b', '1')], true, 10);
    const after = manifest([entry('a', '2'), entry('b', '1'), entry('c', '1')], true, 10);
    const files = diffManifests(before, after);
    assert.deepEqual([files.added, files.removed, files.changed], [0, 0, 1], 'c is past what the earlier list covers');
    assert.match(files.note!, /files after b are not compared/);
  });

  it('names a new builder image and algorithm; a context whose earlier list is not kept says that', () => {
    const was = version();
    const now = version({ digest: 'e'.repeat(64), contextHash: 'f'.repeat(64), inputs: { algorithm: 'seed-v1', builderImage: 'builder:2', parentDigest: null } });
    const changes = compareVersions({ version: was, manifest: null, seen: was }, { version: now, manifest: manifest([entry('Dockerfile', 'x')]) });
    assert.equal(changes.kind, 'changed');
    assert.deepEqual(changes.builderImage, { before: 'builder:1', after: 'builder:2' });
    assert.deepEqual(changes.algorithm, { before: 'taskgraph', after: 'seed-v1' });
    assert.match(changes.files!.note!, /file list of context cccccccccccc is not kept/);
    assert.equal(
      changes.summary,
      'changed since aaaaaaaaaaaa: context changed (the file list of context cccccccccccc is not kept); builder image builder:1 → builder:2; algorithm taskgraph → seed-v1',
    );
    assert.deepEqual(changes.since, { pushId: 'p1', rev: was.rev, decision: 'indexed', taskId: 'T', digest: was.digest });
  });

  it('an arg set, unset and changed; a new parent', () => {
    const was = version({ args: { A: '1', B: '2' }, parent: 'base', inputs: { algorithm: 'taskgraph', builderImage: 'b', parentDigest: '1'.repeat(64) } });
    const now = version({ digest: 'e'.repeat(64), args: { A: '3', C: '4' }, parent: 'other', inputs: { algorithm: 'taskgraph', builderImage: 'b', parentDigest: '2'.repeat(64) } });
    const changes = compareVersions({ version: was, manifest: null, seen: was }, { version: now, manifest: null });
    assert.deepEqual(changes.args, { A: { before: '1', after: '3' }, B: { before: '2', after: null }, C: { before: null, after: '4' } });
    assert.deepEqual(changes.parent, { name: 'other', before: '1'.repeat(64), after: '2'.repeat(64) });
    assert.match(changes.summary, /%ARG B 2 → \(unset\); %ARG C \(unset\) → 4; parent base → other$/);
    assert.equal(changes.files, undefined, 'the same context');
  });
});
