/**
 * Hashing inside the service: the real server process (PostgreSQL store, the fake Taskcluster
 * answering after 20 ms), a new one each round, decides three pushes of the gecko-scale
 * repository: the first after start (nothing memoised, nothing compiled yet), one that changes
 * the include every image shares (all 60 contexts read again: the steady-state cold case),
 * and one that changes no image (warm). Cold graph times are set against the plain pipeline
 * over the same blobs of the service's own mirror.
 * Run: npm run bench:hashing   (works in bench/service/.work)
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { contextFiles, git } from '../hash/generate.ts';
import { type BenchService, WORK, geckoRepo, sendPush, startService, waitDecided } from './service-support.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 3);

// A clone of its own, so the commits below never race another benchmark's.
const repo = join(WORK, 'hashing-repo');
await rm(repo, { recursive: true, force: true });
git(WORK, 'clone', '-q', await geckoRepo(), repo);

/** Pushes a new commit and returns the service's own account of it (its "push decided" line). */
async function push({ server }: BenchService, file: string): Promise<Record<string, number>> {
  await writeFile(join(repo, file), `${file} ${Date.now()}\n`);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'bench');
  const pushId = await sendPush(server.url, git(repo, 'rev-parse', 'HEAD'));
  await waitDecided(server.url, pushId);
  const line = server.output.split('\n').find((l) => l.includes('push decided') && l.includes(pushId));
  if (!line) throw new Error(`no "push decided" line for ${pushId}`);
  return JSON.parse(line) as Record<string, number>;
}

async function metric({ server }: BenchService, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

const run = promisify(execFile);

/**
 * `git cat-file --batch | openssl` over the blobs of every context at `rev` in the mirror (each
 * include once per image). Run asynchronously: a blocked event loop would not see the server
 * close an idle keep-alive connection, and the next request on it would fail.
 */
async function plainPipeline(gitDir: string, rev: string): Promise<number> {
  const oids = join(WORK, 'hashing-oids.txt');
  writeFileSync(
    oids,
    contextFiles(['--git-dir', gitDir], rev)
      .map((f) => `${f.oid}\n`)
      .join(''),
  );
  const command = `git --git-dir ${gitDir} cat-file --batch < ${oids} | openssl dgst -sha256 > /dev/null`;
  await run('/bin/bash', ['-c', command]); // warm the page cache, as the service's mirror is warm
  const start = performance.now();
  await run('/bin/bash', ['-c', command]);
  return (performance.now() - start) / 1000;
}

const rows: string[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const service = await startService(`hashing-${round}`, repo);
  try {
    const first = (await push(service, 'round.txt')).graphMs! / 1000;
    const cold = (await push(service, 'python/shared/m0/bench.py')).graphMs! / 1000;
    const plain = await plainPipeline(join(service.dataDir, 'mirrors', 'acme.git'), git(repo, 'rev-parse', 'HEAD'));
    const before = await metric(service, 'image_decider_blob_bytes_read_total');
    const warm = await push(service, 'unrelated.txt');
    const warmBlobBytes = (await metric(service, 'image_decider_blob_bytes_read_total')) - before;
    const row = `| ${round} | ${first.toFixed(2)} s (${(plain / first).toFixed(2)}) | ${cold.toFixed(2)} s | ${plain.toFixed(2)} s | **${(plain / cold).toFixed(2)}** | ${warm.graphMs!.toFixed(1)} ms | ${warmBlobBytes} |`;
    console.log(row);
    rows.push(row);
  } catch (err) {
    console.error(`the server (exit ${service.server.child.exitCode}, signal ${service.server.child.signalCode}) last wrote:\n${service.server.output.slice(-4000)}`);
    throw err;
  } finally {
    await service.close();
  }
}
console.log(
  [
    '| round | first push after start (ratio) | shared include changed | plain pipeline | ratio | warm graph | blob bytes read warm |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n'),
);
