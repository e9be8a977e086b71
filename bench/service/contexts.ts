/**
 * Context serving: one image whose context is about 100 MB of incompressible files, served
 * by the real server process through `/contexts/<hash>.tar.gz`: cold (the first request
 * builds the tarball), then from the cache, 1 GiB and more in all, sequential and concurrent,
 * while the server's resident memory is sampled. Every download is checked.
 * Run: npm run bench:contexts   (works in bench/service/.work)
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../hash/generate.ts';
import { download, type Download } from './download-support.ts';
import { WORK, mib, rssMiB, sendPush, startService, waitDecided } from './service-support.ts';

const FILES = 100; // of 1 MiB each
const SEQUENTIAL = Number(process.env.SEQUENTIAL ?? 10);
const CONCURRENT = Number(process.env.CONCURRENT ?? 4);
const CONCURRENT_ROUNDS = Number(process.env.CONCURRENT_ROUNDS ?? 3);

/** A repository of one image whose context holds FILES random files of 1 MiB. */
async function bigContextRepo(): Promise<string> {
  const dir = join(WORK, 'contexts-repo');
  if (existsSync(join(dir, '.git'))) return dir;
  await rm(dir, { recursive: true, force: true });
  const ctx = join(dir, 'taskcluster/docker/big');
  await mkdir(join(ctx, 'blobs'), { recursive: true });
  for (let i = 0; i < FILES; i++) await writeFile(join(ctx, 'blobs', `blob-${i}.bin`), randomBytes(1 << 20));
  await writeFile(join(ctx, 'Dockerfile'), 'FROM debian:12\nCOPY blobs /blobs\n');
  await mkdir(join(dir, 'taskcluster/kinds/docker-image'), { recursive: true });
  await writeFile(join(dir, 'taskcluster/kinds/docker-image/kind.yml'), 'tasks:\n  big:\n    symbol: I(big)\n');
  await writeFile(join(dir, 'taskcluster/config.yml'), 'trust-domain: bench\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'one image with a 100 MiB context');
  return dir;
}

const repo = await bigContextRepo();
const sha = git(repo, 'rev-parse', 'HEAD');
const service = await startService('contexts', repo);
const { server } = service;
const pid = server.child.pid!;

/** Samples the server's RSS every 20 ms while `work` runs. */
async function sampled<T>(work: () => Promise<T>): Promise<{ value: T; before: number; max: number; after: number }> {
  const before = rssMiB(pid);
  let max = before;
  const timer = setInterval(() => (max = Math.max(max, rssMiB(pid))), 20);
  try {
    const value = await work();
    return { value, before, max: Math.max(max, rssMiB(pid)), after: rssMiB(pid) };
  } finally {
    clearInterval(timer);
  }
}

const lines: string[] = [];
const say = (line: string) => {
  console.log(line);
  lines.push(line);
};
const rate = (d: Download) => `${(d.bytes / 1024 ** 2 / (d.ms / 1000)).toFixed(0)} MiB/s`;

try {
  await waitDecided(server.url, await sendPush(server.url, sha));
  const graph = (await (await fetch(`${server.url}/graph?rev=${sha}`)).json()) as { images: Record<string, { contextHash: string; contextUrl: string }> };
  const image = graph.images.big!;
  const url = image.contextUrl;
  console.log(`context ${image.contextHash}; server RSS at rest ${mib(rssMiB(pid) * 1024 ** 2)} MiB`);

  // Cold: the tarball is made from the mirror's objects, gzipped, streamed and cached at once.
  const cold = await sampled(() => download(url, { verifyTar: image.contextHash }));
  say(
    `cold (built while streamed): ${mib(cold.value.bytes)} MiB gzip in ${(cold.value.ms / 1000).toFixed(2)} s (${rate(cold.value)}), first byte after ${cold.value.firstByteMs.toFixed(0)} ms; ` +
      `tar of ${mib(cold.value.tarBytes!)} MiB hashes to the context hash; server RSS ${cold.before.toFixed(0)} -> max ${cold.max.toFixed(0)} MiB`,
  );

  // The cached file is renamed into place once the hash is checked: HEAD says so with a length.
  for (let tries = 0; !(await fetch(url, { method: 'HEAD' })).headers.get('content-length'); tries++) {
    if (tries > 200) throw new Error('the context was not cached');
    await new Promise((r) => setTimeout(r, 50));
  }
  const first = await download(url, { verifyTar: image.contextHash });
  if (first.sha256 !== cold.value.sha256) throw new Error('the cached tarball differs from the one streamed cold');
  say(`cached, checked (gunzipped and hashed): ${(first.ms / 1000).toFixed(2)} s (${rate(first)})`);

  const expect = { size: first.bytes, sha256: first.sha256 };
  const sequential = await sampled(async () => {
    const all: Download[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) all.push(await download(url, { expect }));
    return all;
  });
  const seqBytes = sequential.value.reduce((a, d) => a + d.bytes, 0);
  const seqMs = sequential.value.map((d) => d.ms).sort((a, b) => a - b);
  say(
    `cached, ${SEQUENTIAL} sequential: ${mib(seqBytes)} MiB, each ${(seqMs[0]! / 1000).toFixed(2)}-${(seqMs.at(-1)! / 1000).toFixed(2)} s ` +
      `(median ${rate(sequential.value.find((d) => d.ms === seqMs[Math.floor(seqMs.length / 2)])!)}); ` +
      `server RSS ${sequential.before.toFixed(0)} -> max ${sequential.max.toFixed(0)} MiB (+${(sequential.max - sequential.before).toFixed(1)})`,
  );

  const concurrent = await sampled(async () => {
    const started = performance.now();
    let bytes = 0;
    for (let r = 0; r < CONCURRENT_ROUNDS; r++) {
      for (const d of await Promise.all(Array.from({ length: CONCURRENT }, () => download(url, { expect })))) bytes += d.bytes;
    }
    return { bytes, ms: performance.now() - started };
  });
  say(
    `cached, ${CONCURRENT} at once x ${CONCURRENT_ROUNDS}: ${mib(concurrent.value.bytes)} MiB in ${(concurrent.value.ms / 1000).toFixed(1)} s ` +
      `(${(concurrent.value.bytes / 1024 ** 2 / (concurrent.value.ms / 1000)).toFixed(0)} MiB/s in all); ` +
      `server RSS ${concurrent.before.toFixed(0)} -> max ${concurrent.max.toFixed(0)} MiB (+${(concurrent.max - concurrent.before).toFixed(1)})`,
  );
  const growth = Math.max(sequential.max - sequential.before, concurrent.max - concurrent.before);
  say(
    `every download checked: size and sha256 equal to the verified tarball's; ` +
      `target (RSS grows less than 50 MB while 1 GB is streamed): ${growth * 1.048576 < 50 ? 'met' : 'not met'} (at most +${growth.toFixed(1)} MiB)`,
  );
  await appendFile(join(WORK, 'results-contexts.txt'), `${new Date().toISOString()}\n${lines.join('\n')}\n`);
} catch (err) {
  console.error(
    `the server's warnings:\n${server.output
      .split('\n')
      .filter((l) => /"level":[456]0/.test(l))
      .join('\n')}`,
  );
  throw err;
} finally {
  await service.close();
}
