import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDeciderError } from '../../src/errors.ts';
import { GitMirror } from '../../src/mirror/git-mirror.ts';
import { GitHttpServer } from '../support/git-http-server.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, git, initRepo } from '../support/vectors.ts';

/** The refs a mirror keeps, as `git fetch` would leave them. */
const mirroredRefs = (mirror: GitMirror) =>
  execFileSync('git', ['--git-dir', mirror.path, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads', 'refs/tags', 'refs/mirror'], { encoding: 'utf8' });

/** Every object reachable from the refs is present (what `git fetch`'s own walk checks). */
const assertComplete = (mirror: GitMirror) => execFileSync('git', ['--git-dir', mirror.path, 'fsck', '--connectivity-only', '--no-dangling'], { stdio: 'pipe' });

const packCount = async (mirror: GitMirror) => (await readdir(join(mirror.path, 'objects', 'pack'))).filter((f) => f.endsWith('.pack')).length;

async function addCommit(dir: string, name: string, files = 1): Promise<string> {
  for (let i = 0; i < files; i++) await writeFile(join(dir, `${name}-${i}.txt`), randomBytes(64).toString('hex'));
  return commitAll(dir, name);
}

describe('mirror fetch: native protocol v2 against git fetch', { timeout: 120_000 }, () => {
  let source: string;
  let base: string;
  const mirrors: GitMirror[] = [];
  const servers: GitHttpServer[] = [];

  const mirror = async (url: string, fetchWith: 'native' | 'git', timeoutMs = 20_000) => {
    const m = await GitMirror.create('acme', url, await tempDir('mirror-'), { timeoutMs, fetchWith });
    mirrors.push(m);
    return m;
  };

  before(async () => {
    base = await tempDir('served-');
    source = join(base, 'acme');
    execFileSync('mkdir', [source]);
    initRepo(source);
    git(source, 'config', 'uploadpack.allowAnySHA1InWant', 'true');
    await addCommit(source, 'first', 3);
    git(source, 'tag', '-a', '-m', 'annotated', 'v1');
    git(source, 'branch', 'side');
    await addCommit(source, 'second');
    git(source, 'tag', 'light');
  });

  after(async () => {
    for (const m of mirrors) await m.close();
    for (const s of servers) await s.close();
  });

  it('a local repository: the same refs as git fetch, every object present, through pushes of each kind', async () => {
    const native = await mirror(source, 'native');
    const reference = await mirror(source, 'git');
    const compare = async () => {
      await Promise.all([native.fetch(), reference.fetch()]);
      assert.equal(mirroredRefs(native), mirroredRefs(reference));
      assertComplete(native);
    };
    await compare(); // into an empty mirror: one large pack
    assert.ok(mirroredRefs(native).includes('refs/tags/v1'));

    // A push of a few objects (stored loose, thin against what the mirror has)...
    const small = await addCommit(source, 'small');
    const packs = await packCount(native);
    await compare();
    assert.equal(await packCount(native), packs, 'a small push is stored as loose objects');
    assert.equal((await native.resolve('main')).sha, small);

    // ...a forced push, a deleted branch (kept, as git fetch without --prune keeps it), a new tag...
    git(source, 'checkout', '-q', 'side');
    await addCommit(source, 'rewritten');
    git(source, 'checkout', '-q', 'main');
    git(source, 'reset', '-q', '--hard', 'HEAD~1');
    git(source, 'branch', '-D', 'side');
    git(source, 'tag', '-a', '-m', 'second', 'v2');
    await compare();

    // ...and a large one (more than 100 objects: indexed as a pack).
    const large = await addCommit(source, 'large', 150);
    await compare();
    assert.equal(await packCount(native), packs + 1, 'a large push is kept as a pack');
    assert.equal((await native.resolve(large)).sha, large);
  });

  it('an upload-pack started ahead (warm) serves the refs and objects as they are when the fetch comes', async () => {
    const native = await mirror(source, 'native');
    const reference = await mirror(source, 'git');
    await native.fetch();
    for (let i = 0; i < 3; i++) {
      native.warm();
      await new Promise((resolve) => setTimeout(resolve, 200)); // the spare is up and idle
      const head = await addCommit(source, `after-warm-${i}`);
      git(source, 'tag', `after-warm-${i}`);
      assert.equal((await native.resolve(head)).sha, head);
      await reference.fetch();
      assert.equal(mirroredRefs(native), mirroredRefs(reference));
      assertComplete(native);
    }
  });

  it('a commit no ref names is fetched by its id, when the server allows it', async () => {
    const native = await mirror(source, 'native');
    await native.fetch();
    git(source, 'checkout', '-q', '-b', 'doomed');
    const orphan = await addCommit(source, 'orphan');
    git(source, 'checkout', '-q', 'main');
    git(source, 'branch', '-D', 'doomed');
    assert.equal((await native.resolve(orphan)).sha, orphan);
    assertComplete(native);
    await assert.rejects(native.resolve('e'.repeat(40)), (err) => isDeciderError(err) && err.code === 'unknown-revision');
  });

  it('over smart HTTP with credentials: the same refs as git fetch; the password never reaches an error', async () => {
    const server = await GitHttpServer.start({ projectRoot: base, credentials: 'ci:s3cret-pass' });
    servers.push(server);
    const url = server.url.replace('http://', 'http://ci:s3cret-pass@') + '/acme';
    const native = await mirror(url, 'native');
    const reference = await mirror(source, 'git');
    await addCommit(source, 'over-http');
    await Promise.all([native.fetch(), reference.fetch()]);
    assert.equal(mirroredRefs(native), mirroredRefs(reference));
    assertComplete(native);
    assert.ok(server.requests.every((r) => r.authorized), 'every request carried the credentials');
    assert.ok(server.requests.every((r) => r.userAgent === 'git/image-decider'), 'fetched natively, not by git');
    assert.deepEqual(server.requests.map((r) => `${r.method} ${r.url}`), ['GET /acme/info/refs?service=git-upload-pack', 'POST /acme/git-upload-pack', 'POST /acme/git-upload-pack']);

    await addCommit(source, 'over-http-again');
    await Promise.all([native.fetch(), reference.fetch()]);
    assert.equal(mirroredRefs(native), mirroredRefs(reference));

    const wrong = await mirror(server.url.replace('http://', 'http://ci:wrong-pass@') + '/acme', 'native');
    await assert.rejects(wrong.fetch(), (err) => {
      assert.ok(isDeciderError(err) && err.code === 'fetch-failed');
      assert.match(err.message, /401/);
      assert.doesNotMatch(err.message, /wrong-pass|s3cret/);
      return true;
    });
    assert.doesNotMatch(wrong.lastFetchError ?? '', /wrong-pass/);
  });

  it('a server that speaks only protocol v0 is fetched by git fetch instead', async () => {
    const server = await GitHttpServer.start({ projectRoot: base, protocolV2: false });
    servers.push(server);
    const native = await mirror(`${server.url}/acme`, 'native');
    const head = await addCommit(source, 'for-v0');
    assert.equal((await native.resolve(head)).sha, head);
    assert.ok(server.requests.some((r) => r.userAgent.startsWith('git/2.')), 'git fetch did it');
    assert.equal(mirroredRefs(native), mirroredRefs(await (async () => {
      const reference = await mirror(source, 'git');
      await reference.fetch();
      return reference;
    })()));
  });

  it('a redirect to another origin: git fetch follows it, and the password never goes there', async () => {
    const target = await GitHttpServer.start({ projectRoot: base });
    servers.push(target);
    const redirector = createServer((req, res) => res.writeHead(302, { Location: `${target.url}${req.url}` }).end());
    redirector.listen(0, '127.0.0.1');
    await once(redirector, 'listening');
    try {
      const url = `http://ci:s3cret-pass@127.0.0.1:${(redirector.address() as { port: number }).port}/acme`;
      const native = await mirror(url, 'native');
      const head = await addCommit(source, 'redirected');
      assert.equal((await native.resolve(head)).sha, head);
      assert.ok(target.requests.length > 0);
      assert.ok(target.requests.every((r) => r.headers.authorization === undefined), 'no credentials sent to the other origin');
      assert.ok(target.requests.some((r) => r.userAgent.startsWith('git/2.')), 'git fetch did it');
    } finally {
      redirector.closeAllConnections();
      redirector.close();
    }
  });

  it("git's configuration for the URL (an extra header here) is honoured: git fetch does it", async () => {
    const server = await GitHttpServer.start({ projectRoot: base });
    servers.push(server);
    const config = join(await tempDir('gitconfig-'), 'config');
    await writeFile(config, `[http "${server.url}/"]\n\textraHeader = X-From-Config: yes\n`);
    const saved = process.env.GIT_CONFIG_GLOBAL;
    process.env.GIT_CONFIG_GLOBAL = config;
    try {
      const native = await mirror(`${server.url}/acme`, 'native');
      const head = await addCommit(source, 'configured');
      assert.equal((await native.resolve(head)).sha, head);
      assert.ok(server.requests.length > 0 && server.requests.every((r) => r.headers['x-from-config'] === 'yes'));
    } finally {
      if (saved === undefined) delete process.env.GIT_CONFIG_GLOBAL;
      else process.env.GIT_CONFIG_GLOBAL = saved;
    }
  });

  it('a spare started before its repository (or only its .git) was replaced at the same path is not used', async () => {
    const path = join(base, 'replaced');
    const make = async (name: string) => {
      execFileSync('rm', ['-rf', path]);
      execFileSync('mkdir', [path]);
      initRepo(path);
      return addCommit(path, name);
    };
    await make('first');
    const native = await mirror(path, 'native');
    await native.fetch();
    native.warm();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await make('second');
    assert.equal((await native.resolve(second)).sha, second);
    assert.equal((await native.resolve('main')).sha, second);
    // Only its .git replaced: upload-pack serves .git, so that is the folder that counts.
    native.warm();
    await new Promise((resolve) => setTimeout(resolve, 200));
    execFileSync('rm', ['-rf', join(path, '.git')]);
    initRepo(path);
    const third = await addCommit(path, 'third');
    assert.equal((await native.resolve(third)).sha, third);
  });

  it('an HTTP server that never answers: the fetch fails with fetch-failed at its timeout', async () => {
    const silent = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const native = await mirror(`http://127.0.0.1:${(silent.address() as { port: number }).port}/acme`, 'native', 1000);
      const started = Date.now();
      await assert.rejects(native.fetch(), (err) => isDeciderError(err) && err.code === 'fetch-failed' && /timed out after 1 s/.test(err.message));
      assert.ok(Date.now() - started < 5000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('a push of few objects that inflate large (a 70 MB file of zeros) is indexed by git, not held in memory', async () => {
    const native = await mirror(source, 'native');
    await native.fetch();
    const packs = await packCount(native);
    await writeFile(join(source, 'zeros.bin'), Buffer.alloc(70 << 20));
    const head = commitAll(source, 'zeros');
    assert.equal((await native.resolve(head)).sha, head);
    assert.equal(await packCount(native), packs + 1);
    assertComplete(native);
    git(source, 'rm', '-q', 'zeros.bin');
    commitAll(source, 'no zeros');
  });

  it('a repository that is not one: a clear fetch-failed, with or without an upload-pack started ahead', async () => {
    const native = await mirror(join(base, 'nowhere'), 'native');
    await assert.rejects(native.fetch(), (err) => isDeciderError(err) && err.code === 'fetch-failed' && /does not appear to be a git repository/.test(err.message));
    native.warm();
    await assert.rejects(native.fetch(), (err) => isDeciderError(err) && err.code === 'fetch-failed' && /does not appear to be a git repository/.test(err.message));
  });
});
