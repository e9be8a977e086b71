/**
 * What the service benchmarks share: the generated repository, the real server process on
 * a fresh PostgreSQL database with the fake Taskcluster (20 ms per call), pushes sent as
 * signed webhooks, and the server's resident memory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, githubHeaders, githubPush } from '../../test/support/app.ts';
import { FakeTaskcluster } from '../../test/support/fake-taskcluster/server.ts';
import { freshDatabase } from '../../test/support/pg.ts';
import { ServerProcess } from '../../test/support/server-process.ts';
import { generate } from '../hash/generate.ts';

export const WORK = join(import.meta.dirname, '.work');

/** The gecko-scale repository (60 images, 30,122 files), generated once; the push benchmark uses the same. */
export async function geckoRepo(): Promise<string> {
  const repo = join(WORK, 'repo');
  if (!existsSync(join(repo, '.git'))) {
    await rm(repo, { recursive: true, force: true });
    await mkdir(repo, { recursive: true });
    console.log('generating the gecko-scale repository...');
    await generate(repo);
  }
  return repo;
}

export interface BenchService {
  readonly server: ServerProcess;
  readonly fake: FakeTaskcluster;
  readonly databaseUrl: string;
  readonly dataDir: string;
  close(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * The real server process (the compiled build, as `npm start` runs it) on a fresh database,
 * deciding pushes of `repoDir`: PostgreSQL, or with `embedded` the default embedded store.
 */
export async function startService(name: string, repoDir: string, options: { embedded?: boolean } = {}): Promise<BenchService> {
  await mkdir(WORK, { recursive: true });
  const fake = await FakeTaskcluster.start();
  fake.delayMs = 20;
  const databaseUrl = options.embedded ? '' : await freshDatabase();
  const dataDir = join(WORK, `data-${name}-${Date.now()}`);
  const server = await ServerProcess.start({ dir: WORK, port: await freePort(), repoDir, databaseUrl, rootUrl: fake.rootUrl, workerId: `bench-${name}`, dataDir, compiled: true });
  return {
    server,
    fake,
    databaseUrl,
    dataDir,
    async close(signal = 'SIGTERM') {
      await server.kill(signal);
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

let deliveries = 0;

/** Sends a signed GitHub push of `sha` to main; returns the queued push's id. */
export async function sendPush(url: string, sha: string): Promise<string> {
  const body = JSON.stringify(githubPush(sha));
  const res = await fetch(`${url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, `bench-${process.pid}-${++deliveries}-${Date.now()}`) });
  if (res.status !== 202) throw new Error(`the webhook got ${res.status}: ${await res.text()}`);
  const { pushId } = (await res.json()) as { pushId: string };
  return pushId;
}

export interface PushState {
  readonly state: string;
  readonly counts: Record<string, number> | null;
  readonly lastError: { code: string; message: string } | null;
}

export async function pushState(url: string, pushId: string): Promise<PushState> {
  const { push } = (await (await fetch(`${url}/pushes/${pushId}`)).json()) as { push: PushState };
  return push;
}

/** Waits until the push is decided; a failed push (or one still undecided at the deadline) throws. */
export async function waitDecided(url: string, pushId: string, timeoutMs = 120_000): Promise<PushState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const push = await pushState(url, pushId);
    if (push.state === 'decided') return push;
    if (push.state === 'failed') throw new Error(`push ${pushId} failed: ${JSON.stringify(push.lastError)}`);
    if (Date.now() > deadline) throw new Error(`push ${pushId} is still ${push.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Completes every pending task in the fake, as workers would, so later pushes find them built. */
export function completeAll(fake: FakeTaskcluster): number {
  let completed = 0;
  for (let left = true; left;) {
    const pending = [...fake.services.tasks.values()].filter((t) => t.state === 'pending');
    pending.forEach((t) => fake.services.complete(t.taskId));
    completed += pending.length;
    left = pending.length > 0;
  }
  return completed;
}

/** The process's resident set size in MiB, from /proc (Linux). */
export function rssMiB(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line[1]) / 1024;
}

export const percentile = (values: readonly number[], p: number): number =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))]!;

export const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);

/** CPU seconds the process has used (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Jiffies the whole machine spent, and spent idle, from /proc/stat. */
export function machineCpu(): { idle: number; total: number } {
  const jiffies = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  return { idle: jiffies[3]! + jiffies[4]!, total: jiffies.reduce((a, b) => a + b, 0) };
}
