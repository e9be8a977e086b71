/**
 * Hashing benchmark: cold throughput against the plain pipeline over the same
 * bytes, and the warm time for a new revision that changes no image.
 * Run: npm run bench:hash   (writes nothing outside bench/hash/.work)
 */
import { execSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_BUILDER_IMAGE } from '../../src/context/digest.ts';
import { ContextHasher } from '../../src/context/hasher.ts';
import { GraphBuilder } from '../../src/graph/build-graph.ts';
import { DirectoryTree } from '../../src/tree/directory-tree.ts';
import { openFifo } from '../../src/tree/fifo.ts';
import { GitRepo } from '../../src/tree/git-repo.ts';
import { GitTree } from '../../src/tree/git-tree.ts';
import type { TreeSource } from '../../src/tree/types.ts';
import { contextFiles, generate, git } from './generate.ts';

const WORK = join(import.meta.dirname, '.work');
const REPO = join(WORK, 'repo');
const OPTIONS = { level: 3, pullRequest: false, algorithm: 'taskgraph', builderImage: DEFAULT_BUILDER_IMAGE, pushDate: new Date() } as const;
const MB = 1024 * 1024;

/**
 * The floor of any design that reads git through `cat-file` in Node: the same output read
 * through the same kind of pipe as GitBatch's and hashed on the main thread, with no parsing.
 */
async function nodePipeFloor(): Promise<number> {
  const start = performance.now();
  const fifo = openFifo();
  const child = spawn('git', ['cat-file', '--batch'], { cwd: REPO, stdio: ['pipe', fifo ? fifo.writeFd : 'pipe', 'inherit'] });
  fifo?.closeWriter();
  const output = fifo ? fifo.reader : child.stdout!;
  const hash = createHash('sha256');
  output.on('data', (chunk: Buffer) => hash.update(chunk));
  child.stdin!.end(await readFile(join(WORK, 'oids.txt')));
  await Promise.all([once(child, 'close'), once(output, 'close')]);
  hash.digest();
  return (performance.now() - start) / 1000;
}

function timeShell(command: string): number {
  const start = performance.now();
  execSync(command, { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'], shell: '/bin/bash' });
  return (performance.now() - start) / 1000;
}

async function graphOnce(tree: TreeSource) {
  const builder = new GraphBuilder(new ContextHasher());
  const start = performance.now();
  const graph = await builder.build(tree, OPTIONS);
  return { seconds: (performance.now() - start) / 1000, graph, builder };
}

if (!existsSync(join(REPO, '.git'))) {
  await rm(WORK, { recursive: true, force: true });
  console.log('generating the repository...');
  await generate(REPO);
}
const images = git(REPO, 'ls-tree', '--name-only', 'HEAD', 'taskcluster/docker/').split('\n');
const files = Number(git(REPO, 'ls-files').split('\n').length);

// The plain pipelines read exactly the files the contexts hold, each include once per image.
const hashed = contextFiles(['-C', REPO], 'HEAD');
await writeFile(join(WORK, 'oids.txt'), hashed.map((f) => `${f.oid}\n`).join(''));
await writeFile(join(WORK, 'paths.txt'), hashed.map((f) => `${f.path}\n`).join(''));
await writeFile(join(WORK, 'oids-once.txt'), [...new Set(hashed.map((f) => f.oid))].map((oid) => `${oid}\n`).join(''));
const plainGit = 'git cat-file --batch < ../oids.txt | openssl dgst -sha256 > /dev/null';
// Stricter: each distinct blob once, as the hasher's blob cache reads shared small files.
const plainGitOnce = 'git cat-file --batch < ../oids-once.txt | openssl dgst -sha256 > /dev/null';
const plainDisk = 'xargs -d "\\n" cat < ../paths.txt | openssl dgst -sha256 > /dev/null';

const results: Record<string, string> = {};
for (const round of [1, 2, 3]) {
  const repo = await GitRepo.open(REPO);
  timeShell(plainGit); // warm the page cache for both alike
  const plainGitS = timeShell(plainGit);
  const plainOnceS = timeShell(plainGitOnce);
  const floorS = await nodePipeFloor();
  const gitRun = await graphOnce(await GitTree.open(repo, 'HEAD'));
  const blobBytes = repo.stats.blobBytesRead;
  const plainDiskS = timeShell(plainDisk);
  const diskTree = new DirectoryTree(REPO);
  const diskRun = await graphOnce(diskTree);
  const contextBytes = gitRun.graph.images.reduce((n, i) => n + (i.bytes ?? 0), 0);

  // warm: a new revision that changes no image, with the memo of the cold run
  await writeFile(join(REPO, 'unrelated.txt'), `round ${round} ${Date.now()}\n`);
  git(REPO, 'add', 'unrelated.txt');
  git(REPO, 'commit', '-q', '-m', 'unrelated');
  const before = repo.stats.blobBytesRead;
  const start = performance.now();
  await gitRun.builder.build(await GitTree.open(repo, 'HEAD'), OPTIONS);
  const warmMs = performance.now() - start;
  const warmBlobBytes = repo.stats.blobBytesRead - before;
  await repo.close();

  const gitRatio = plainGitS / gitRun.seconds;
  const diskRatio = plainDiskS / diskRun.seconds;
  results[`round ${round}`] = [
    `git cold ${gitRun.seconds.toFixed(2)} s (${(blobBytes / MB).toFixed(0)} MB of blobs read) vs plain ${plainGitS.toFixed(2)} s: ratio ${gitRatio.toFixed(2)}; vs plain with each blob once ${plainOnceS.toFixed(2)} s: ratio ${(plainOnceS / gitRun.seconds).toFixed(2)} (Node pipe floor ${floorS.toFixed(2)} s: ratio ${(plainGitS / floorS).toFixed(2)})`,
    `disk cold ${diskRun.seconds.toFixed(2)} s vs plain ${plainDiskS.toFixed(2)} s: ratio ${diskRatio.toFixed(2)}`,
    `warm ${warmMs.toFixed(1)} ms, ${warmBlobBytes} blob bytes read`,
  ].join('; ');
  if (round === 1) {
    console.log(`${images.length} images, ${files} files, ${(blobBytes / MB).toFixed(0)} MB of blobs read from git (${(contextBytes / MB).toFixed(0)} MB of tar) per cold run`);
  }
  console.log(`round ${round}: ${results[`round ${round}`]}`);
}
