/**
 * Push to tasks: from a signed webhook's 202 to the push's last createTask, through the real
 * server process on PostgreSQL, with the fake Taskcluster answering every call after 20 ms.
 * The service fetches the repository over https (git's http-backend behind a local TLS
 * server, as a real forge), or with REMOTE=local from the folder.
 * Run: npm run bench:push   (works in bench/service/.work)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, githubHeaders, githubPush } from '../../test/support/app.ts';
import { FakeTaskcluster } from '../../test/support/fake-taskcluster/server.ts';
import { GitHttpServer } from '../../test/support/git-http-server.ts';
import { freshDatabase } from '../../test/support/pg.ts';
import { ServerProcess } from '../../test/support/server-process.ts';
import { generate, git } from '../hash/generate.ts';

const WORK = join(import.meta.dirname, '.work');
const REPO = join(WORK, 'repo');
const PUSHES = Number(process.env.PUSHES ?? 50);
const POLL_MS = 50;

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;

if (!existsSync(join(REPO, '.git'))) {
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  console.log('generating the repository...');
  await generate(REPO);
}
const REMOTE = process.env.REMOTE ?? 'https';
let remoteUrl = REPO;
const serverEnv: NodeJS.ProcessEnv = {};
let forge: GitHttpServer | null = null;
if (REMOTE === 'https') {
  const key = join(WORK, 'tls.key');
  const cert = join(WORK, 'tls.crt');
  if (!existsSync(cert)) {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
  }
  forge = await GitHttpServer.start({ projectRoot: WORK, tls: { key: await readFile(key), cert: await readFile(cert) } });
  remoteUrl = `${forge.url}/repo`;
  serverEnv.GIT_SSL_CAINFO = cert;
}
console.log(`remote: ${REMOTE === 'https' ? `${remoteUrl} (git http-backend behind TLS)` : REPO}`);
const fake = await FakeTaskcluster.start();
fake.delayMs = 20;
const server = await ServerProcess.start({
  dir: WORK,
  port: await freePort(),
  repoDir: remoteUrl,
  env: serverEnv,
  databaseUrl: await freshDatabase(),
  rootUrl: fake.rootUrl,
  workerId: 'bench',
  dataDir: join(WORK, `data-${Date.now()}`),
  compiled: true,
});

let delivery = 0;
/** Posts a push of HEAD; returns ms from the 202 to its last createTask (or to decided, with none). */
async function push(): Promise<{ ms: number; created: number; lookups: Record<string, number> }> {
  const sha = git(REPO, 'rev-parse', 'HEAD');
  const body = JSON.stringify(githubPush(sha));
  const firstRequest = fake.requests.length;
  const res = await fetch(`${server.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, `bench-${++delivery}-${Date.now()}`) });
  const accepted = fake.now();
  const { pushId } = (await res.json()) as { pushId: string };
  for (;;) {
    const { push: p } = (await (await fetch(`${server.url}/pushes/${pushId}`)).json()) as { push: { state: string; finishedAt: string } };
    if (p.state === 'decided') {
      const mine = fake.requests.slice(firstRequest);
      const creates = mine.filter((r) => r.name === 'createTask');
      const end = creates.length ? Math.max(...creates.map((r) => r.at)) : Date.parse(p.finishedAt);
      const lookups: Record<string, number> = {};
      for (const r of mine) if (r.service === 'index' || r.name !== 'createTask') lookups[r.name] = (lookups[r.name] ?? 0) + 1;
      return { ms: end - accepted, created: creates.length, lookups };
    }
    if (p.state === 'failed') throw new Error(`push ${pushId} failed`);
    // The times come from the server's and the fake's clocks, not from this poll: polling
    // more often would only load the server under test (each poll is a query and a log line).
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function completeAll(): void {
  for (let left = true; left;) {
    const pending = [...fake.services.tasks.values()].filter((t) => t.state === 'pending');
    pending.forEach((t) => fake.services.complete(t.taskId));
    left = pending.length > 0;
  }
}

function commit(path: string, text: string): void {
  execFileSync('bash', ['-c', `printf '%s' "$1" > "$2"`, '_', text, path], { cwd: REPO });
  git(REPO, 'add', '-A');
  git(REPO, 'commit', '-q', '-m', 'bench');
}

const results: string[] = [];
/** Medians of the phase timings the service logs in its "push decided" lines, from the `skip`-th on. */
function phaseMedians(skip: number): string {
  const lines = server.output
    .split('\n')
    .filter((l) => l.includes('push decided'))
    .slice(skip);
  const phases = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const names = ['revisionMs', 'graphMs', 'planMs', 'submitMs'];
  return names
    .map(
      (n) =>
        `${n} ${percentile(
          phases.map((p) => Number(p[n] ?? 0)),
          50,
        )}`,
    )
    .join(', ');
}

async function scenario(name: string, change: (i: number) => void, runs: number): Promise<void> {
  const decidedBefore = server.output.split('\n').filter((l) => l.includes('push decided')).length;
  const ms: number[] = [];
  const created: number[] = [];
  let lookups: Record<string, number> = {};
  for (let i = 0; i < runs; i++) {
    change(i);
    const r = await push();
    ms.push(r.ms);
    created.push(r.created);
    lookups = r.lookups;
    completeAll();
  }
  const line = `${name}: n=${runs} p50 ${percentile(ms, 50).toFixed(0)} ms, p95 ${percentile(ms, 95).toFixed(0)} ms, p99 ${percentile(ms, 99).toFixed(0)} ms; tasks per push ${Math.min(...created)}-${Math.max(...created)}; requests of the last push ${JSON.stringify(lookups)}; median phases: ${phaseMedians(decidedBefore)}`;
  console.log(line);
  results.push(line);
}

try {
  const start = performance.now();
  console.log('first push (everything built):', (await push()).created, 'tasks');
  completeAll();
  await scenario('(a) no image changed', (i) => commit('unrelated.txt', `a ${i} ${Date.now()}`), PUSHES);
  await scenario('(b) one leaf image changed', (i) => commit('taskcluster/docker/image-03/leaf.txt', `b ${i} ${Date.now()}`), PUSHES);
  await scenario('(c) the shared include changed (all rebuilt)', (i) => commit('python/shared/m0/bench.py', `c ${i} ${Date.now()}`), Math.min(PUSHES, 20));
  await appendFile(join(WORK, 'results.txt'), `${new Date().toISOString()}\n${results.join('\n')}\n`);
  console.log(`done in ${((performance.now() - start) / 1000).toFixed(0)} s`);
} finally {
  await server.kill('SIGTERM');
  await fake.close();
  await forge?.close();
}
