import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, git, initRepo, materialise, readJson, writeTree } from '../support/vectors.ts';

interface Expected {
  images: Record<string, { contextHash: string; digest: string }>;
}
interface GraphDoc {
  repo: string;
  rev: string | null;
  level: number;
  images: Record<
    string,
    { kind: string; contextHash: string | null; digest: string | null; indexPaths: string[]; routes: string[]; parent: string | null; reference?: string; error?: { code: string } }
  >;
}

describe('image-decider CLI', () => {
  let repo: string;
  let folder: string;
  let expected: Expected;
  let sha: string;

  before(async () => {
    expected = await readJson<Expected>('acme/expected.json');
    const root = await tempDir();
    repo = await materialise('acme/tree', join(root, 'repo'));
    initRepo(repo);
    sha = commitAll(repo);
    git(repo, 'tag', 'v1');
    folder = await materialise('acme/tree', join(root, 'folder'));
  });

  it('graph --json prints the contract document for a git repository at HEAD', async () => {
    const result = await runCli(['graph', '--repo', repo, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout.toString()) as GraphDoc;
    assert.equal(doc.repo, repo);
    assert.equal(doc.rev, sha);
    assert.equal(doc.level, 3);
    for (const [name, want] of Object.entries(expected.images)) {
      assert.equal(doc.images[name]?.contextHash, want.contextHash);
      assert.equal(doc.images[name]?.digest, want.digest);
    }
    assert.equal(doc.images.prebuilt?.kind, 'registry');
    assert.match(doc.images.prebuilt!.reference!, /^private-registry\.example\/acme\/prebuilt:1\.4\.2@sha256:/);
  });

  it('reads a revision by branch, tag or sha, a bare clone, and a plain folder from disk', async () => {
    const bare = join(await tempDir(), 'bare.git');
    execFileSync('git', ['clone', '-q', '--bare', repo, bare]);
    for (const [path, rev] of [
      [repo, 'main'],
      [repo, 'v1'],
      [repo, sha.slice(0, 10)],
      [bare, 'main'],
    ] as const) {
      const result = await runCli(['graph', '--repo', path, '--rev', rev, '--json', '--level', '1']);
      assert.equal(result.code, 0, result.stderr);
      const doc = JSON.parse(result.stdout.toString()) as GraphDoc;
      assert.equal(doc.rev, sha);
      assert.equal(doc.images.base!.indexPaths.length, 3);
    }
    const plain = JSON.parse((await runCli(['graph', '--repo', folder, '--json'])).stdout.toString()) as GraphDoc;
    assert.equal(plain.rev, null);
    assert.equal(plain.images.lint!.digest, expected.images.lint!.digest);
  });

  it('prints a readable table without --json', async () => {
    const result = await runCli(['graph', '--repo', repo]);
    assert.equal(result.code, 0);
    const text = result.stdout.toString();
    assert.match(text, /^IMAGE\s+DECISION\s+TASK\s+PARENT/m);
    assert.match(text, /^lint\s+build\s+\(dry run\)\s+python\s+94096dea67df/m);
  });

  it('exits 2 on usage errors and 1 when the repository or revision cannot be read', async () => {
    assert.equal((await runCli(['graph'])).code, 2);
    assert.equal((await runCli(['graph', '--repo', repo, '--level', '4'])).code, 2);
    assert.equal((await runCli(['graph', '--repo', repo, '--algorithm', 'md5'])).code, 2);
    assert.equal((await runCli(['frobnicate'])).code, 2);
    assert.equal((await runCli(['context', '--repo', repo, 'no-such-image'])).code, 2);
    const missing = await runCli(['graph', '--repo', join(repo, 'nope')]);
    assert.equal(missing.code, 1);
    const badRev = await runCli(['graph', '--repo', repo, '--rev', 'no-such-branch']);
    assert.equal(badRev.code, 1);
    assert.match(badRev.stderr, /unknown-revision/);
    const notGit = await runCli(['graph', '--repo', folder, '--rev', 'main']);
    assert.equal(notGit.code, 1);
    assert.match(notGit.stderr, /repository-unreadable/);
  });

  it('reports images in error without failing, and blocks their descendants', async () => {
    const broken = await materialise('acme/tree', join(await tempDir(), 'broken'));
    await writeFile(join(broken, 'taskcluster/docker/python/Dockerfile'), 'FROM x\n# %include nowhere\n');
    const result = await runCli(['graph', '--repo', broken, '--json']);
    assert.equal(result.code, 0);
    const doc = JSON.parse(result.stdout.toString()) as GraphDoc;
    assert.equal(doc.images.python!.kind, 'error');
    assert.equal(doc.images.python!.error!.code, 'include-missing');
    assert.equal(doc.images.lint!.kind, 'blocked');
    assert.equal(doc.images['node-tools']!.kind, 'build');
    const context = await runCli(['context', '--repo', broken, 'python']);
    assert.equal(context.code, 1);
    assert.match(context.stderr, /^error: include-missing: python: /);
    assert.equal(context.stdout.length, 0);
  });

  describe('context', () => {
    let tarball: Buffer;
    before(async () => {
      const result = await runCli(['context', '--repo', repo, 'standalone']);
      assert.equal(result.code, 0, result.stderr);
      tarball = result.stdout;
    });

    it('writes a gzipped tarball whose decompressed bytes hash to the context hash', () => {
      const hash = createHash('sha256').update(gunzipSync(tarball)).digest('hex');
      assert.equal(hash, expected.images.standalone!.contextHash);
    });

    it('is listed and extracted by GNU tar', async () => {
      const dir = await tempDir();
      await writeFile(join(dir, 'c.tar.gz'), tarball);
      const listing = execFileSync('tar', ['-tzf', join(dir, 'c.tar.gz')], { encoding: 'utf8' })
        .trim()
        .split('\n');
      assert.ok(listing.includes('Dockerfile'));
      assert.ok(listing.includes('café.txt'));
      assert.ok(
        listing.some((n) => n.length > 100),
        'the long name survives',
      );
      assert.ok(!listing.some((n) => n.includes('__pycache__')));
      await mkdir(join(dir, 'x'));
      execFileSync('tar', ['-xzf', join(dir, 'c.tar.gz'), '-C', join(dir, 'x')]);
      assert.equal(await readFile(join(dir, 'x/readme-link.md'), 'utf8'), '# Acme\n');
      assert.equal(await readFile(join(dir, 'x/Dockerfile'), 'utf8'), 'FROM alpine:3.20\nRUN echo crlf\nADD . /ctx');
    });

    it('is listed and extracted by the tar npm package', async () => {
      const names: string[] = [];
      await pipeline(Readable.from([tarball]), tar.t({ onReadEntry: (e) => names.push(e.path) }));
      assert.ok(names.includes('nested/deeper/file.txt'));
      assert.ok(names.some((n) => n.startsWith('dddd') && n.length > 100));
      const dir = await tempDir();
      await pipeline(Readable.from([tarball]), tar.x({ cwd: dir }));
      assert.equal(await readFile(join(dir, 'café.txt'), 'utf8'), 'é\n');
    });
  });

  it('names dotted images and reads the taskcluster/ci layout, from git and from a folder, at levels 3 and 1', async () => {
    for (const set of ['dotted', 'ci-layout']) {
      const want = await readJson<Expected & { images: Record<string, { indexSearch: Record<string, string[]> }> }>(`${set}/expected.json`);
      const root = await tempDir();
      const gitRepo = await materialise(`${set}/tree`, join(root, 'repo'));
      initRepo(gitRepo);
      commitAll(gitRepo);
      const plain = await materialise(`${set}/tree`, join(root, 'folder'));
      for (const [source, level] of [
        [gitRepo, '3'],
        [plain, '1'],
      ] as const) {
        const result = await runCli(['graph', '--repo', source, '--level', level, '--json']);
        assert.equal(result.code, 0, result.stderr);
        const doc = JSON.parse(result.stdout.toString()) as GraphDoc;
        for (const [name, image] of Object.entries(want.images)) {
          assert.equal(doc.images[name]?.digest, image.digest, `${set} ${name}`);
          assert.deepEqual(doc.images[name]?.indexPaths, image.indexSearch[`level-${level}`]);
        }
      }
      const name = Object.keys(want.images).find((n) => n.includes('.'))!;
      const context = await runCli(['context', '--repo', gitRepo, name]);
      assert.equal(context.code, 0, context.stderr);
      assert.equal(createHash('sha256').update(gunzipSync(context.stdout)).digest('hex'), want.images[name]!.contextHash);
    }
  });

  it('keeps file names that are not UTF-8 as bytes: the non-utf8 vector from git and from a folder, both files in the tarball', async () => {
    const root = await tempDir();
    const gitRepo = await writeTree('non-utf8', join(root, 'repo'));
    initRepo(gitRepo);
    commitAll(gitRepo);
    const plain = await writeTree('non-utf8', join(root, 'folder'));
    for (const source of [gitRepo, plain]) {
      const result = await runCli(['graph', '--repo', source, '--json']);
      assert.equal(result.code, 0, result.stderr);
      // taskgraph 24.2's own value for this tree (issue 17)
      assert.equal((JSON.parse(result.stdout.toString()) as GraphDoc).images.x?.contextHash, '0a19725560a22a750ebe11ad566923813969c06a2c6011e17e13e73e0ee64fab');
      const context = await runCli(['context', '--repo', source, 'x']);
      assert.equal(context.code, 0, context.stderr);
      const dir = await tempDir();
      await writeFile(join(dir, 'c.tar.gz'), context.stdout);
      const listing = execFileSync('tar', ['-tzf', join(dir, 'c.tar.gz'), '--quoting-style=escape'], { encoding: 'utf8' });
      assert.deepEqual(listing.trim().split('\n'), ['Dockerfile', 'n\\376', 'n\\377']);
      await mkdir(join(dir, 'x'));
      execFileSync('tar', ['-xzf', join(dir, 'c.tar.gz'), '-C', join(dir, 'x')]);
      const extracted = readdirSync(join(dir, 'x'), { encoding: 'buffer' })
        .map((n) => n.toString('hex'))
        .sort();
      assert.deepEqual(extracted, ['446f636b657266696c65', '6efe', '6eff']);
      assert.equal(readFileSync(Buffer.from(`${dir}/x/n\xff`, 'latin1')).toString(), 'a');
      assert.equal(readFileSync(Buffer.from(`${dir}/x/n\xfe`, 'latin1')).toString(), 'b');
    }
  });

  it('names a file that is not UTF-8 in messages with its bytes written \\xHH, from git and from a folder', async () => {
    const root = await tempDir();
    const plain = await writeTree('non-utf8', join(root, 'folder'));
    symlinkSync(Buffer.from('gone\xfe', 'latin1'), Buffer.from(`${plain}/taskcluster/docker/x/l\xff`, 'latin1'));
    const gitRepo = join(root, 'repo');
    execFileSync('cp', ['-a', plain, gitRepo]);
    initRepo(gitRepo);
    commitAll(gitRepo);
    for (const source of [gitRepo, plain]) {
      const result = await runCli(['graph', '--repo', source, '--json']);
      assert.equal(result.code, 0, result.stderr);
      const x = (JSON.parse(result.stdout.toString()) as GraphDoc).images.x!;
      assert.equal(x.error?.code, 'symlink-dangling');
      assert.equal((x.error as { message?: string }).message, 'symlink taskcluster/docker/x/l\\xff points to a missing file');
    }
  });

  it('cache: false: no digest, index paths or routes, built with the reason shown; a cached child of an uncached parent is an error', async () => {
    const root = await materialise('cache-false/trees', join(await tempDir(), 'cache-false'));
    const want = await readJson<Record<string, { images: Record<string, { digest?: string | null; message?: string }> }>>('cache-false/expected.json');
    type Image = GraphDoc['images'][string] & { decision: string; reason: string; blockedBy?: string; definition?: { routes: string[] } };
    const graphOf = async (name: string): Promise<Record<string, Image>> => {
      const dir = join(root, name);
      initRepo(dir);
      commitAll(dir);
      const result = await runCli(['graph', '--repo', dir, '--json', '--definitions']);
      assert.equal(result.code, 0, result.stderr);
      return (JSON.parse(result.stdout.toString()) as { images: Record<string, Image> }).images;
    };
    const uncached = 'cache: false in the kind file: never looked up or indexed, built in every graph that needs it';
    const image = await graphOf('image');
    for (const name of ['tool', 'leaf']) {
      assert.equal(image[name]!.decision, 'build');
      assert.equal(image[name]!.reason, uncached);
      assert.equal(image[name]!.digest, null);
      assert.deepEqual(image[name]!.indexPaths, []);
      assert.deepEqual(image[name]!.routes, []);
      assert.deepEqual(image[name]!.definition!.routes, []);
    }
    assert.equal(image.base!.digest, want.image!.images.base!.digest);
    for (const layout of ['task-defaults', 'job-defaults']) {
      const images = await graphOf(layout);
      assert.equal(images.a!.reason, uncached, layout);
      assert.equal(images.a!.digest, null, layout);
      assert.equal(images.b!.digest, want[layout]!.images.b!.digest, `${layout}: cache: true overrides the defaults`);
      assert.equal(images.b!.definition!.routes.length, 3, layout);
    }
    const errors = await graphOf('errors');
    assert.equal(errors.child!.decision, 'error');
    assert.equal(errors.child!.error?.code, 'bad-kind-file');
    assert.equal(errors.child!.reason, want.errors!.images.child!.message);
    assert.match(errors.child!.reason, /Cached task docker-image-child has uncached parent task: docker-image-base$/);
    assert.equal(errors.grandchild!.decision, 'blocked');
    assert.equal(errors.odd!.reason, want.errors!.images.odd!.message);
    assert.equal(errors.base!.decision, 'build');
  });
});
