/**
 * Memory: the server's resident memory over 1,000 pushes of the gecko-scale repository, each a
 * new commit, each decided (a mix: 90 in 100 change no image, 9 change one leaf image, 1
 * changes the include every image shares). RSS is read from /proc every 100 pushes.
 * Run: npm run bench:memory   (PUSHES=1000; STORE=embedded for the default embedded store
 * rather than PostgreSQL; works in bench/service/.work)
 */
import { execFile } from 'node:child_process';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { git } from '../hash/generate.ts';
import { WORK, completeAll, geckoRepo, rssMiB, sendPush, startService, waitDecided } from './service-support.ts';

const PUSHES = Number(process.env.PUSHES ?? 1000);
const EMBEDDED = process.env.STORE === 'embedded';
const IN_FLIGHT = 2; // the worker decides two pushes at a time
const run = promisify(execFile);

// A clone of its own, so the commits below never race another benchmark's.
const repo = join(WORK, 'memory-repo');
await rm(repo, { recursive: true, force: true });
git(WORK, 'clone', '-q', await geckoRepo(), repo);
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.com' };

/** Commits push `i`'s change (asynchronously: the fake Taskcluster shares this event loop). */
async function commit(i: number): Promise<string> {
  const path = i % 100 === 99 ? 'python/shared/m0/bench.py' : i % 10 === 9 ? `taskcluster/docker/image-${String(((i / 10) % 60) | 0).padStart(2, '0')}/leaf.txt` : 'unrelated.txt';
  await writeFile(join(repo, path), `push ${i} ${Date.now()}\n`);
  await run('git', ['add', path], { cwd: repo, env: gitEnv });
  await run('git', ['commit', '-q', '-m', `push ${i}`], { cwd: repo, env: gitEnv });
  return (await run('git', ['rev-parse', 'HEAD'], { cwd: repo })).stdout.trim();
}

const service = await startService('memory', repo, { embedded: EMBEDDED });
const { server, fake } = service;
const pid = server.child.pid!;
const lines: string[] = [];
const say = (line: string) => {
  console.log(line);
  lines.push(line);
};

try {
  say(`store: ${EMBEDDED ? 'embedded (PGlite)' : 'PostgreSQL'}; server RSS after start: ${rssMiB(pid).toFixed(0)} MiB`);
  await waitDecided(server.url, await sendPush(server.url, git(repo, 'rev-parse', 'HEAD')));
  completeAll(fake);
  say(`after the first push (cold hashing, all 60 images built): ${rssMiB(pid).toFixed(0)} MiB`);
  const started = performance.now();
  const counts: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  let decided = 0;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 100);
  for (let i = 0; i < PUSHES; i++) {
    const pushId = await sendPush(server.url, await commit(i));
    const done: Promise<void> = waitDecided(server.url, pushId).then((push) => {
      completeAll(fake);
      for (const [decision, n] of Object.entries(push.counts ?? {})) counts[decision] = (counts[decision] ?? 0) + n;
      inFlight.delete(done);
      if (++decided % 100 === 0) {
        if (process.env.PROF_DIR) server.child.kill('SIGWINCH'); // a diagnostic preload may record the heap (bench/README.md)
        say(
          `${String(decided).padStart(5)} pushes decided: RSS ${rssMiB(pid).toFixed(0)} MiB (peak so far ${peak.toFixed(0)}), ${((performance.now() - started) / 1000).toFixed(0)} s`,
        );
      }
    });
    inFlight.add(done);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  clearInterval(sampler);
  if (decided !== PUSHES) throw new Error(`${decided} of ${PUSHES} pushes were decided`);
  await new Promise((r) => setTimeout(r, 5000));
  const rss = rssMiB(pid);
  say(`5 s idle after the last push: RSS ${rss.toFixed(0)} MiB; peak ${peak.toFixed(0)} MiB; image decisions over all pushes ${JSON.stringify(counts)}`);
  say(`${decided} pushes, every one decided; target (RSS at most 200 MB after 1,000 pushes): ${rss * 1.048576 <= 200 ? 'met' : 'not met'}`);
  await appendFile(join(WORK, 'results-memory.txt'), `${new Date().toISOString()}\n${lines.join('\n')}\n`);
} catch (err) {
  console.error(`the server said, last:\n${server.output.slice(-3000)}`);
  throw err;
} finally {
  await service.close();
}
