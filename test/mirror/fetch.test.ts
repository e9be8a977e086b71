import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDeciderError } from '../../src/errors.ts';
import { GitMirror, type MirrorOptions } from '../../src/mirror/git-mirror.ts';
import { GitHttpServer } from '../support/git-http-server.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, git, initRepo } from '../support/vectors.ts';

const refs = (gitDir: string, ...patterns: string[]) =>
  execFileSync('git', ['--git-dir', gitDir, 'for-each-ref', '--format=%(objectname) %(refname)', ...patterns], { encoding: 'utf8' });

/** Every object reachable from the refs is present (what `git fetch`'s own walk checks). */
const assertComplete = (mirror: GitMirror) => execFileSync('git', ['--git-dir', mirror.path, 'fsck', '--connectivity-only', '--no-dangling'], { stdio: 'pipe' });

async function addCommit(dir: string, name: string, files = 1): Promise<string> {
  for (let i = 0; i < files; i++) await writeFile(join(dir, `${name}-${i}.txt`), randomBytes(64).toString('hex'));
  return commitAll(dir, name);
}

/** Children of this process still running a git transfer to `port` (a git killed alone leaves them). */
function transfersTo(port: number): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(`127.0.0.1:${port}`) && /git/.test(line) && !line.includes(' ps '));
}

describe('mirror fetch: git fetch, bounded and without credentials in its messages', { timeout: 120_000 }, () => {
  let source: string;
  let base: string;
  const mirrors: GitMirror[] = [];
  const servers: Array<{ close(): unknown }> = [];

  const mirror = async (url: string, options: Partial<MirrorOptions> = {}) => {
    const m = await GitMirror.create('acme', url, await tempDir('mirror-'), { timeoutMs: 20_000, ...options });
    mirrors.push(m);
    return m;
  };
  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push({ close: () => (server.closeAllConnections(), server.close()) });
    return (server.address() as { port: number }).port;
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

  it('keeps the branches, tags and HEAD of a local repository, through pushes of each kind', async () => {
    const m = await mirror(source);
    const check = async () => {
      await m.fetch();
      assert.equal(refs(m.path, 'refs/heads', 'refs/tags'), refs(join(source, '.git'), 'refs/heads', 'refs/tags'));
      assert.equal((await m.resolve('HEAD')).sha, git(source, 'rev-parse', 'HEAD'));
      assertComplete(m);
    };
    await check();
    await addCommit(source, 'small');
    await check();
    git(source, 'checkout', '-q', 'side');
    await addCommit(source, 'rewritten');
    git(source, 'push', '-q', '--force', '.', 'side:side');
    git(source, 'checkout', '-q', 'main');
    git(source, 'tag', '-a', '-m', 'second', 'v2');
    await check();
  });

  it('a commit no ref names is fetched by its id; an unknown one is unknown-revision, without the server path', async () => {
    const m = await mirror(source);
    await m.fetch();
    git(source, 'checkout', '-q', '-b', 'doomed');
    const orphan = await addCommit(source, 'orphan');
    git(source, 'checkout', '-q', 'main');
    git(source, 'branch', '-D', 'doomed');
    assert.equal((await m.resolve(orphan)).sha, orphan);
    assertComplete(m);
    await assert.rejects(m.resolve('e'.repeat(40)), (err) => {
      assert.ok(isDeciderError(err) && err.code === 'unknown-revision');
      assert.equal(err.message, `revision ${'e'.repeat(40)} is not in acme`);
      return true;
    });
  });

  it('a fetched commit is readable only once its trees and blobs are: a push naming it meanwhile finds all or nothing', async () => {
    const m = await mirror(source);
    await m.fetch();
    const repo = await m.repo();
    /** Reads every object of `tree`, as hashing a context would. */
    const walk = async (tree: string): Promise<void> => {
      for (const entry of (await repo.readTree(tree)).values()) {
        if (entry.kind === 'dir') await walk(entry.oid!);
        else await repo.readBlob(entry.oid!);
      }
    };
    let seenDuringFetch = 0;
    for (let round = 0; round < 20; round++) {
      const head = await addCommit(source, `round-${round}`, 40);
      let fetched = false;
      const fetch = m.fetch().then(() => (fetched = true));
      // Unpacked loose (git's default for a small fetch), the commit was seen here without its tree in about half the rounds.
      for (;;) {
        const commit = await repo.readObject(head);
        if (commit) {
          if (!fetched) seenDuringFetch += 1;
          await walk(/^tree ([0-9a-f]+)$/m.exec(commit.data.toString('utf8'))![1]!);
          break;
        }
        assert.equal(fetched, false, `round ${round}: the fetch ended without the commit`);
      }
      await fetch;
    }
    assertComplete(m);
    assert.ok(seenDuringFetch > 0, 'the commit was read while its fetch ran');
  });

  it('over smart HTTP: credentials from the URL or from the environment; a password never reaches an error', async () => {
    const server = await GitHttpServer.start({ projectRoot: base, credentials: 'ci:s3cret-pass' });
    servers.push(server);
    const head = await addCommit(source, 'over-http');
    const inUrl = await mirror(server.url.replace('http://', 'http://ci:s3cret-pass@') + '/acme');
    assert.equal((await inUrl.resolve(head)).sha, head);
    const fromEnv = await mirror(`${server.url}/acme`, { credentials: { username: 'ci', password: 's3cret-pass' } });
    assert.equal((await fromEnv.resolve(head)).sha, head);
    assertComplete(fromEnv);
    assert.ok(server.requests.some((r) => r.authorized));

    const wrong = await mirror(server.url.replace('http://', 'http://ci:wrong-pass@') + '/acme');
    await assert.rejects(wrong.fetch(), (err) => {
      assert.ok(isDeciderError(err) && err.code === 'fetch-failed');
      assert.doesNotMatch(err.message, /wrong-pass|s3cret/);
      assert.match(err.message, /http:\/\/127\.0\.0\.1/);
      return true;
    });
    assert.doesNotMatch(wrong.lastFetchError ?? '', /wrong-pass/);
    await assert.rejects((await mirror(`${server.url}/acme`)).fetch(), { code: 'fetch-failed' });
  });

  it('a redirect to another origin is followed without the credentials', async () => {
    const target = await GitHttpServer.start({ projectRoot: base });
    servers.push(target);
    const port = await listen((req, res) => res.writeHead(302, { Location: `${target.url}${req.url}` }).end());
    const head = await addCommit(source, 'redirected');
    const credentials = { username: 'ci', password: 's3cret-pass' };
    for (const m of [await mirror(`http://ci:s3cret-pass@127.0.0.1:${port}/acme`), await mirror(`http://127.0.0.1:${port}/acme`, { credentials })]) {
      assert.equal((await m.resolve(head)).sha, head);
    }
    assert.ok(target.requests.length > 0);
    assert.ok(
      target.requests.every((r) => r.headers.authorization === undefined),
      'no credentials sent to the other origin',
    );
  });

  it('a server that never answers: fetch-failed at the timeout, and no git transfer is left running', async () => {
    const port = await listen(() => undefined);
    const m = await mirror(`http://127.0.0.1:${port}/acme`, { timeoutMs: 1000 });
    const started = Date.now();
    await assert.rejects(m.fetch(), (err) => isDeciderError(err) && err.code === 'fetch-failed' && /timed out after 1 s/.test(err.message));
    assert.ok(Date.now() - started < 5000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(transfersTo(port), [], 'the whole process group ended');
  });

  it('a transfer that trickles is cut by the low-speed limit, well before the timeout', async () => {
    // Answers the ref advertisement a byte at a time, every 400 ms.
    const port = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' });
      const timer = setInterval(() => res.write('0'), 400);
      res.on('close', () => clearInterval(timer));
    });
    const m = await mirror(`http://127.0.0.1:${port}/acme`, { timeoutMs: 60_000, lowSpeed: { bytesPerSecond: 100, seconds: 2 } });
    const started = Date.now();
    await assert.rejects(m.fetch(), (err) => isDeciderError(err) && err.code === 'fetch-failed' && !/timed out after/.test(err.message));
    assert.ok(Date.now() - started < 15_000, `cut after ${Date.now() - started} ms`);
  });

  it('a repository that is not one: a clear fetch-failed', async () => {
    const m = await mirror(join(base, 'nowhere'));
    await assert.rejects(m.fetch(), (err) => isDeciderError(err) && err.code === 'fetch-failed' && /does not appear to be a git repository/.test(err.message));
  });
});
