/**
 * Hashing inside the service: the real server process (PostgreSQL store, the fake Taskcluster
 * answering after 20 ms), a new one each round, decides three pushes of the gecko-scale
 * repository: the first after start (nothing memoised, nothing compiled yet), one that changes
 * the include every image shares (all 60 contexts read again: the steady-state cold case),
 * and one that changes no image (warm). Cold graph times are set against the plain pipeline
 * over the same blobs of the service's own mirror.
 * Run: npm run bench:hashing   (works in bench/service/.work-hashing)
 */
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, githubHeaders, githubPush } from '../../test/support/app.ts';
import { FakeTaskcluster } from '../../test/support/fake-taskcluster/server.ts';
import { freshDatabase } from '../../test/support/pg.ts';
import { ServerProcess } from '../../test/support/server-process.ts';
import { generate, git } from '../hash/generate.ts';

const WORK = join(import.meta.dirname, '.work-hashing');
const REPO = join(WORK, 'repo');
const DATA = join(WORK, 'data');
const ROUNDS = Number(process.env.ROUNDS ?? 3);

if (!existsSync(join(REPO, '.git'))) {
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  console.log('generating the repository...');
  await generate(REPO);
}
await rm(DATA, { recursive: true, force: true });
const fake = await FakeTaskcluster.start();
fake.delayMs = 20;
const databaseUrl = await freshDatabase();

let delivery = 0;
/** Pushes a new commit and returns the service's own account of the push ("push decided"). */
async function push(server: ServerProcess, file: string): Promise<Record<string, number>> {
  await writeFile(join(REPO, file), `${file} ${Date.now()}\n`);
  git(REPO, 'add', '-A');
  git(REPO, 'commit', '-q', '-m', 'bench');
  const body = JSON.stringify(githubPush(git(REPO, 'rev-parse', 'HEAD')));
  const res = await fetch(`${server.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, `hashing-${++delivery}-${Date.now()}`) });
  const { pushId } = (await res.json()) as { pushId: string };
  for (;;) {
    const line = server.output.split('\n').find((l) => l.includes('push decided') && l.includes(pushId));
    if (line) return JSON.parse(line) as Record<string, number>;
    if (server.output.includes('push failed')) throw new Error(`push failed:\n${server.output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function metric(server: ServerProcess, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^(\S+) (\S+)$/m.exec(text.split('\n').filter((l) => l.startsWith(`${name} `)).join('\n'))?.[2] ?? NaN);
}

/** `git cat-file --batch | openssl` over the blobs of every context at `rev` in the mirror (each include once per image). */
function plainPipeline(gitDir: string, rev: string): number {
  const dirs = git(REPO, 'ls-tree', '--name-only', rev, 'taskcluster/docker/').split('\n');
  const lists = dirs.map((dir) => `git --git-dir ${gitDir} ls-tree -r ${rev} ${dir}/ python/shared/`).join('; ');
  execSync(`{ ${lists}; } | awk '{print $3}' > ${WORK}/oids.txt`, { shell: '/bin/bash' });
  const command = `git --git-dir ${gitDir} cat-file --batch < ${WORK}/oids.txt | openssl dgst -sha256 > /dev/null`;
  execSync(command, { shell: '/bin/bash' }); // warm the page cache, as the service's mirror is warm
  const start = performance.now();
  execSync(command, { shell: '/bin/bash' });
  return (performance.now() - start) / 1000;
}

const rows: string[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const server = await ServerProcess.start({ dir: WORK, port: await freePort(), repoDir: REPO, databaseUrl, rootUrl: fake.rootUrl, workerId: `hashing-${round}`, dataDir: DATA });
    try {
      const first = (await push(server, 'round.txt')).graphMs! / 1000;
      const cold = (await push(server, 'python/shared/m0/bench.py')).graphMs! / 1000;
      const plain = plainPipeline(join(DATA, 'mirrors', 'acme.git'), git(REPO, 'rev-parse', 'HEAD'));
      const before = await metric(server, 'image_decider_blob_bytes_read');
      const warm = await push(server, 'unrelated.txt');
      const warmBlobBytes = (await metric(server, 'image_decider_blob_bytes_read')) - before;
      const row = `| ${round} | ${first.toFixed(2)} s (${(plain / first).toFixed(2)}) | ${cold.toFixed(2)} s | ${plain.toFixed(2)} s | **${(plain / cold).toFixed(2)}** | ${warm.graphMs!.toFixed(1)} ms | ${warmBlobBytes} |`;
      console.log(row);
      rows.push(row);
    } finally {
      await server.kill('SIGTERM');
    }
  }
  console.log(['| round | first push after start (ratio) | shared include changed | plain pipeline | ratio | warm graph | blob bytes read warm |', '|---|---|---|---|---|---|---|', ...rows].join('\n'));
} finally {
  await fake.close();
}
