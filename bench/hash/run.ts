/**
 * Hashing benchmark, two profiles of a generated repository (bench/README.md):
 * - gecko: 60 images all including one folder of 1,200 small files; cold throughput against
 *   the plain pipeline over the same bytes, and the warm time for a revision that changes no image;
 * - heavy: 60 images, three big folders each included by 18 of them (4.5 GB of tar from 275 MB
 *   of files); cold against the physical floor (SHA-256 of every tar byte on every core plus one
 *   read of each distinct blob), folder mode against `xargs cat | openssl`, warm, peak RSS.
 * Run: npm run bench:hash [-- --profile gecko|heavy] [--rounds N]   (writes only under bench/hash/.work)
 */
import { execFileSync, execSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { DEFAULT_BUILDER_IMAGE } from '../../src/context/digest.ts';
import { HashPool } from '../../src/context/hash-thread.ts';
import { ContextHasher } from '../../src/context/hasher.ts';
import { GraphBuilder } from '../../src/graph/build-graph.ts';
import { DirectoryTree } from '../../src/tree/directory-tree.ts';
import { openFifo } from '../../src/tree/fifo.ts';
import { GitRepo } from '../../src/tree/git-repo.ts';
import { GitTree } from '../../src/tree/git-tree.ts';
import type { TreeSource } from '../../src/tree/types.ts';
import { type ContextFile, contextFiles, generate, generateHeavy, git } from './generate.ts';
import { startCommand } from '../../test/support/start-command.ts';

const { values: args } = parseArgs({
  options: { profile: { type: 'string', default: 'all' }, rounds: { type: 'string', default: '3' } },
});
const PROFILES = args.profile === 'all' ? ['gecko', 'heavy'] : [args.profile!];
for (const p of PROFILES) if (p !== 'gecko' && p !== 'heavy') throw new Error(`unknown profile ${p} (gecko or heavy)`);
const ROUNDS = Number(args.rounds);

const WORK = join(import.meta.dirname, '.work');
const OPTIONS = { level: 3, pullRequest: false, algorithm: 'taskgraph', builderImage: DEFAULT_BUILDER_IMAGE, pushDate: new Date() } as const;
const MB = 1024 * 1024;
const CLI = join(import.meta.dirname, '../../bin/image-decider.js');

const s = (seconds: number) => `${seconds.toFixed(2)} s`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

function timeShell(command: string, cwd: string): number {
  const start = performance.now();
  execSync(command, { cwd, stdio: ['ignore', 'ignore', 'inherit'], shell: '/bin/bash' });
  return (performance.now() - start) / 1000;
}

/** Resets this process's peak RSS (Linux: clear_refs 5), so that VmHWM is the peak from here on. */
function resetPeak(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux: the peak is the process's
  }
}

function peakRssMb(): number {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

/** Builds one graph with a new hasher and pool (closed after): cold, but for the page cache. */
async function graphOnce(tree: TreeSource) {
  const pool = new HashPool();
  const hasher = new ContextHasher({ pool });
  const builder = new GraphBuilder(hasher);
  resetPeak();
  const start = performance.now();
  const graph = await builder.build(tree, OPTIONS);
  const seconds = (performance.now() - start) / 1000;
  const rss = peakRssMb();
  return { seconds, rss, graph, builder, close: async () => (await hasher.close(), await pool.close()) };
}

/** The warm case: a new revision changing no image, answered by the cold run's memo. */
async function warm(repoDir: string, repo: GitRepo, builder: GraphBuilder, round: number) {
  await writeFile(join(repoDir, 'unrelated.txt'), `round ${round} ${Date.now()}\n`);
  git(repoDir, 'add', 'unrelated.txt');
  git(repoDir, 'commit', '-q', '-m', 'unrelated');
  const before = repo.stats.blobBytesRead;
  const start = performance.now();
  await builder.build(await GitTree.open(repo, 'HEAD'), OPTIONS);
  return { ms: performance.now() - start, blobBytes: repo.stats.blobBytesRead - before };
}

/** The reference pipelines' inputs: the files the contexts hold, each include once per image. */
async function prepare(profile: string) {
  const dir = join(WORK, profile);
  const repoDir = join(dir, 'repo');
  if (!existsSync(join(repoDir, '.git'))) {
    await rm(dir, { recursive: true, force: true });
    console.log(`generating the ${profile} repository...`);
    await (profile === 'heavy' ? generateHeavy(repoDir) : generate(repoDir));
  }
  const hashed = contextFiles(['-C', repoDir], 'HEAD');
  const distinct = new Map<string, ContextFile>(hashed.map((f) => [f.oid, f]));
  await writeFile(join(dir, 'oids.txt'), hashed.map((f) => `${f.oid}\n`).join(''));
  await writeFile(join(dir, 'paths.txt'), hashed.map((f) => `${f.path}\n`).join(''));
  await writeFile(join(dir, 'oids-once.txt'), [...distinct.keys()].map((oid) => `${oid}\n`).join(''));
  const catalogBytes = ['taskcluster/kinds/docker-image/kind.yml', 'taskcluster/config.yml']
    .map((p) => Number(git(repoDir, 'cat-file', '-s', `HEAD:${p}`)))
    .reduce((a, b) => a + b, 0);
  const distinctBytes = [...distinct.values()].reduce((n, f) => n + f.size, 0) + catalogBytes;
  const images = git(repoDir, 'ls-tree', '--name-only', 'HEAD', 'taskcluster/docker/').split('\n').length;
  return { dir, repoDir, images, files: hashed.length, distinctFiles: distinct.size, distinctBytes };
}

/**
 * The floor of any design that reads git through `cat-file` in Node: the same output read
 * through the same kind of pipe as GitBatch's and hashed on the main thread, with no parsing.
 */
async function nodePipeFloor(repoDir: string, oids: string): Promise<number> {
  const start = performance.now();
  const fifo = openFifo();
  const child = spawn('git', ['cat-file', '--batch'], { cwd: repoDir, stdio: ['pipe', fifo ? fifo.writeFd : 'pipe', 'inherit'] });
  fifo?.closeWriter();
  const output = fifo ? fifo.reader : child.stdout!;
  const hash = createHash('sha256');
  output.on('data', (chunk: Buffer) => hash.update(chunk));
  child.stdin!.end(await readFile(oids));
  await Promise.all([once(child, 'close'), once(output, 'close')]);
  hash.digest();
  return (performance.now() - start) / 1000;
}

async function geckoProfile(): Promise<void> {
  const { dir, repoDir, images, files } = await prepare('gecko');
  const plainGit = 'git cat-file --batch < ../oids.txt | openssl dgst -sha256 > /dev/null';
  // Stricter: each distinct blob once, as the hasher reads a blob shared by several contexts.
  const plainGitOnce = 'git cat-file --batch < ../oids-once.txt | openssl dgst -sha256 > /dev/null';
  const plainDisk = 'xargs -d "\\n" cat < ../paths.txt | openssl dgst -sha256 > /dev/null';
  console.log(`\ngecko profile: ${images} images, ${files} context files; load average ${load()}`);
  for (let round = 1; round <= ROUNDS; round++) {
    const repo = await GitRepo.open(repoDir);
    timeShell(plainGit, repoDir); // warm the page cache for both alike
    const plainGitS = timeShell(plainGit, repoDir);
    const plainOnceS = timeShell(plainGitOnce, repoDir);
    const floorS = await nodePipeFloor(repoDir, join(dir, 'oids.txt'));
    const gitRun = await graphOnce(await GitTree.open(repo, 'HEAD'));
    const blobBytes = repo.stats.blobBytesRead;
    const plainDiskS = timeShell(plainDisk, repoDir);
    const diskRun = await graphOnce(new DirectoryTree(repoDir));
    await diskRun.close();
    const contextBytes = gitRun.graph.images.reduce((n, i) => n + (i.bytes ?? 0), 0);
    const w = await warm(repoDir, repo, gitRun.builder, round);
    await gitRun.close();
    await repo.close();
    if (round === 1) console.log(`${(blobBytes / MB).toFixed(0)} MB of blobs read from git per cold run (${(contextBytes / MB).toFixed(0)} MB of tar)`);
    console.log(
      `round ${round}: git cold ${s(gitRun.seconds)} vs plain ${s(plainGitS)}: ratio ${(plainGitS / gitRun.seconds).toFixed(2)}; ` +
        `vs plain with each blob once ${s(plainOnceS)}: ratio ${(plainOnceS / gitRun.seconds).toFixed(2)} ` +
        `(Node pipe floor ${s(floorS)}: ratio ${(plainGitS / floorS).toFixed(2)}); ` +
        `folder cold ${s(diskRun.seconds)} vs plain ${s(plainDiskS)}: ratio ${(plainDiskS / diskRun.seconds).toFixed(2)}; ` +
        `warm ${w.ms.toFixed(1)} ms, ${w.blobBytes} blob bytes read; peak RSS ${gitRun.rss.toFixed(0)} MB; load ${load()}`,
    );
  }
}

/** SHA-256 of `bytes` in-memory bytes split over `threads` worker threads (started beforehand, not timed). */
async function shaFloor(bytes: number, threads: number): Promise<number> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { createHash } = require('node:crypto');
    const buffer = require('node:crypto').randomBytes(128 * 1024);
    parentPort.on('message', (n) => {
      const hash = createHash('sha256');
      for (let left = n; left > 0; left -= buffer.length) hash.update(left >= buffer.length ? buffer : buffer.subarray(0, left));
      hash.digest();
      parentPort.postMessage('done');
    });`;
  const workers = Array.from({ length: threads }, () => new Worker(code, { eval: true }));
  await Promise.all(workers.map((w) => new Promise((resolve) => (w.postMessage(0), w.once('message', resolve)))));
  const start = performance.now();
  await Promise.all(workers.map((w) => new Promise((resolve) => (w.postMessage(Math.ceil(bytes / threads)), w.once('message', resolve)))));
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(workers.map((w) => w.terminate()));
  return seconds;
}

/** Runs a process: its output, wall time and peak RSS (GNU time, where present). */
function timed(args: string[], env: NodeJS.ProcessEnv = process.env): { stdout: string; seconds: number; rss: number | null } {
  const hasTime = existsSync('/usr/bin/time');
  const command = [...(hasTime ? ['/usr/bin/time', '-f', '%M'] : []), ...args];
  const start = performance.now();
  const run = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', maxBuffer: 1 << 26, env });
  const seconds = (performance.now() - start) / 1000;
  if (run.status !== 0) throw new Error(`${args.join(' ')} failed: ${run.stderr}`);
  const kb = hasTime ? Number(run.stderr.trim().split('\n').at(-1)) : NaN;
  return { stdout: run.stdout, seconds, rss: Number.isFinite(kb) ? kb / 1024 : null };
}

/** The CLI's cold graph, run as a user runs it (the executable, its shebang's node flags, tsx). */
const cliCold = (repoDir: string) => timed([CLI, 'graph', '--repo', repoDir, '--json', '--dry-run'], { ...process.env, TASKCLUSTER_ROOT_URL: '' });

/**
 * One cold graph in a process shaped like the service (compiled code, `npm start`'s flags):
 * the graph's own seconds and the process's peak RSS. The benchmark's process holds tsx and
 * its own lists, so its peak says little about the service's.
 */
function serviceCold(mode: 'git' | 'folder', repoDir: string): { seconds: number; rss: number | null } {
  // npm start's node flags (the service's heap settings) and environment (its allocator's).
  const start = startCommand();
  const flags = start.argv.filter((word) => word.startsWith('--'));
  const run = timed([process.execPath, ...flags, join(import.meta.dirname, 'cold-graph.mjs'), mode, repoDir], { ...process.env, ...start.env });
  return { seconds: (JSON.parse(run.stdout) as { seconds: number }).seconds, rss: run.rss };
}

const mb = (rss: number | null) => (rss === null ? 'n/a' : `${rss.toFixed(0)} MB`);

async function heavyProfile(): Promise<void> {
  const { dir, repoDir, images, files, distinctFiles, distinctBytes } = await prepare('heavy');
  const plainGitOnce = 'git cat-file --batch < ../oids-once.txt | openssl dgst -sha256 > /dev/null';
  const plainDisk = 'xargs -d "\\n" cat < ../paths.txt | openssl dgst -sha256 > /dev/null';
  const threads = availableParallelism();
  console.log(
    `\nheavy profile: ${images} images, ${files} context files, ${distinctFiles} distinct blobs of ${(distinctBytes / MB).toFixed(0)} MB ` +
      `(with the catalog files); ${threads} cores; load average ${load()}`,
  );
  void dir;
  for (let round = 1; round <= ROUNDS; round++) {
    timeShell(plainGitOnce, repoDir); // warm the page cache for the git comparison
    const repo = await GitRepo.open(repoDir);
    const plainOnceS = timeShell(plainGitOnce, repoDir);
    const gitRun = await graphOnce(await GitTree.open(repo, 'HEAD'));
    const blobBytes = repo.stats.blobBytesRead;
    const tarBytes = gitRun.graph.images.reduce((n, i) => n + (i.bytes ?? 0), 0);
    const shaS = await shaFloor(tarBytes, threads);
    const floorS = plainOnceS + shaS;
    const w = await warm(repoDir, repo, gitRun.builder, round);
    await gitRun.close();
    await repo.close();
    // Warm it for the folder comparison here, not before the git graph: this warm-up is long and
    // loads both cores, and a graph right after it is dearer (bench/README.md).
    timeShell(plainDisk, repoDir);
    const plainDiskS = timeShell(plainDisk, repoDir);
    const diskRun = await graphOnce(new DirectoryTree(repoDir));
    await diskRun.close();
    const serviceGit = serviceCold('git', repoDir);
    const serviceFolder = serviceCold('folder', repoDir);
    const cli = cliCold(repoDir);
    if (round === 1) console.log(`${(tarBytes / MB).toFixed(0)} MB of tar per cold graph`);
    console.log(
      `round ${round}: git cold ${s(gitRun.seconds)} vs floor ${s(floorS)} (plain cat-file|openssl of the distinct blobs ${s(plainOnceS)} + ` +
        `SHA-256 of the tar on ${threads} threads ${s(shaS)}): ratio ${(gitRun.seconds / floorS).toFixed(2)} (target <= 1.5); ` +
        `${(blobBytes / MB).toFixed(1)} MB of blobs read from git (distinct: ${(distinctBytes / MB).toFixed(1)} MB); ` +
        `folder cold ${s(diskRun.seconds)} vs xargs cat|openssl ${s(plainDiskS)}: ratio ${(diskRun.seconds / plainDiskS).toFixed(2)} (target <= 1.5); ` +
        `warm ${w.ms.toFixed(1)} ms, ${w.blobBytes} blob bytes read; ` +
        `service-shaped process: git cold ${s(serviceGit.seconds)}, peak RSS ${mb(serviceGit.rss)}, folder cold ${s(serviceFolder.seconds)}, peak RSS ${mb(serviceFolder.rss)} (target <= 200 MB); ` +
        `CLI (under tsx) cold ${s(cli.seconds)}, peak RSS ${mb(cli.rss)}; load ${load()}`,
    );
  }
}

console.log(`node ${process.version}, ${execFileSync('git', ['--version'], { encoding: 'utf8' }).trim()}, ${availableParallelism()} cores`);
for (const profile of PROFILES) await (profile === 'heavy' ? heavyProfile() : geckoProfile());
