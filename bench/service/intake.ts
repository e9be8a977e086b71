/**
 * Webhook intake: autocannon posts signed GitHub pushes, each with its own delivery id, to
 * the real server process on PostgreSQL: (1) while its worker decides the queued pushes, as
 * the service runs; (3) sent to a second, intake-only process on the same database
 * (`IMAGE_DECIDER_WORKER_CONCURRENCY=0`) while the first, reniced to 10, decides them
 * (docs/service.md); (2) with the worker held up, the intake alone. Afterwards every
 * delivery that got a 202 must be in the store, pointing at the push it announced.
 * Run: npm run bench:intake   (CONNECTIONS=10, DURATION=15 s, ROUNDS=3 per phase)
 */
import { execFileSync } from 'node:child_process';
import { appendFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort, githubHeaders, githubPush } from '../../test/support/app.ts';
import { ServerProcess } from '../../test/support/server-process.ts';
import { git } from '../hash/generate.ts';
import { WORK, completeAll, cpuSeconds, geckoRepo, machineCpu, sendPush, startService, waitDecided } from './service-support.ts';

const CONNECTIONS = Number(process.env.CONNECTIONS ?? 10);
const SECONDS = Number(process.env.DURATION ?? 15);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

const repo = await geckoRepo();
const sha = git(repo, 'rev-parse', 'HEAD');
const service = await startService('intake', repo);
const { server } = service;
let target = server; // where autocannon posts
const db = new pg.Client({ connectionString: service.databaseUrl });
await db.connect();
const decided = async () => Number((await db.query("SELECT count(*) AS n FROM pushes WHERE state = 'decided'")).rows[0].n);

// The revision is one the mirror already has: every push queued below is decided from the
// memo and the Index lookups, with no fetch, as a busy repository's repeated pushes would be.
const body = JSON.stringify(githubPush(sha));
const signed = githubHeaders(body, 'set per request'); // the signature covers the body alone
const accepted = new Map<string, string>();
let sent = 0;
let refused = 0;
let met = 0;

async function round(seconds: number, label: string): Promise<string> {
  const prefix = `intake-${label}-${Date.now()}`;
  const decidedBefore = await decided();
  const pid = target.child.pid!;
  const [serverBefore, benchBefore, machineBefore] = [cpuSeconds(pid), process.cpuUsage(), machineCpu()];
  // With PROF_DIR set and a profiler preloaded in the server (bench/README.md), SIGWINCH cuts a profile per round.
  if (process.env.PROF_DIR) server.child.kill('SIGWINCH');
  const result = await autocannon({
    url: `${target.url}/webhooks/github`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        body,
        setupRequest: (request, context) => {
          const delivery = `${prefix}-${++sent}`;
          (context as { delivery?: string }).delivery = delivery;
          return { ...request, headers: { ...signed, 'x-github-delivery': delivery } };
        },
        onResponse: (status, text, context) => {
          const delivery = (context as { delivery?: string }).delivery!;
          if (status === 202) accepted.set(delivery, (JSON.parse(text) as { pushId: string }).pushId);
          else refused++;
        },
      },
    ],
  });
  if (process.env.PROF_DIR) server.child.kill('SIGWINCH');
  const serverCpu = (cpuSeconds(pid) - serverBefore) / result.duration;
  const bench = process.cpuUsage(benchBefore);
  const machine = machineCpu();
  const busy = 1 - (machine.idle - machineBefore.idle) / (machine.total - machineBefore.total);
  const ok = result.requests.average >= 1000 && result.latency.p99 <= 50;
  if (ok && label !== 'warm-up') met++;
  return (
    `${label}: ${result.requests.average.toFixed(0)} req/s (slowest second ${result.requests.min}), latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
    `max ${result.latency.max} ms${ok ? ' [target met]' : ''}; non-2xx ${result.non2xx}, errors ${result.errors}; ${(await decided()) - decidedBefore} pushes decided meanwhile; ` +
    `server CPU ${(serverCpu * 100).toFixed(0)}% of a core (${((serverCpu * result.duration * 1000) / result.requests.total).toFixed(2)} ms per request), ` +
    `this process ${(((bench.user + bench.system) / 1e6 / result.duration) * 100).toFixed(0)}%, machine ${(busy * 100).toFixed(0)}% busy`
  );
}

async function phase(title: string): Promise<string[]> {
  console.log(title);
  const lines = [title];
  for (let i = 1; i <= ROUNDS; i++) {
    const line = `  ${await round(SECONDS, `round ${i}`)}`;
    console.log(line);
    lines.push(line);
  }
  return lines;
}

try {
  console.log('first push (cold hashing, every image built)...');
  await waitDecided(server.url, await sendPush(server.url, sha));
  completeAll(service.fake);
  const warm = performance.now();
  await waitDecided(server.url, await sendPush(server.url, sha));
  console.log(`a push of the same revision is decided in ${(performance.now() - warm).toFixed(0)} ms with nothing else to do`);

  await round(3, 'warm-up');
  const lines = [`${CONNECTIONS} connections, ${SECONDS} s per round`];
  lines.push(...(await phase('(1) the real service: its worker decides the queued pushes meanwhile (two at a time)')));

  // Two processes: intake only, and the first one deciding at a lower CPU priority.
  const intakeOnly = await ServerProcess.start({
    dir: WORK,
    port: await freePort(),
    repoDir: repo,
    databaseUrl: service.databaseUrl,
    rootUrl: service.fake.rootUrl,
    workerId: 'bench-intake-only',
    dataDir: `${service.dataDir}-intake-only`,
    compiled: true,
    env: { IMAGE_DECIDER_WORKER_CONCURRENCY: '0' },
  });
  execFileSync('renice', ['-n', '10', '-p', String(server.child.pid)]);
  target = intakeOnly;
  try {
    lines.push(...(await phase('(3) an intake-only process; the first process (nice 10) decides the queued pushes meanwhile')));
  } finally {
    target = server;
    await intakeOnly.kill('SIGKILL');
    await rm(`${service.dataDir}-intake-only`, { recursive: true, force: true });
  }

  // The worker's lookups now wait until this phase is over: it holds two pushes and does nothing else.
  service.fake.delayMs = ROUNDS * (SECONDS + 3) * 1000 + 5000;
  await new Promise((r) => setTimeout(r, 1000));
  lines.push(...(await phase('(2) intake alone: the worker held up by a Taskcluster that does not answer')));

  // Every 202 must be in the store: its delivery, pointing at the push it announced.
  const { rows } = await db.query<{ delivery_id: string; push_id: string }>(
    "SELECT d.delivery_id, d.push_id FROM deliveries d JOIN pushes p ON p.id = d.push_id WHERE d.source = 'github' AND d.delivery_id LIKE 'intake-%'",
  );
  const stored = new Map(rows.map((r) => [r.delivery_id, r.push_id]));
  const missing = [...accepted].filter(([delivery, pushId]) => stored.get(delivery) !== pushId);
  lines.push(`${accepted.size} deliveries accepted (202), ${refused} refused; ${missing.length} missing from the store or pointing elsewhere`);
  lines.push(`target (at least 1,000 req/s with p99 at most 50 ms) met in ${met} of ${3 * ROUNDS} rounds`);
  console.log(lines.slice(-2).join('\n'));
  await appendFile(join(WORK, 'results-intake.txt'), `${new Date().toISOString()}\n${lines.join('\n')}\n`);
  if (missing.length > 0) throw new Error(`deliveries missing, e.g. ${missing.slice(0, 3).join(', ')}`);
  if (refused > 0) throw new Error(`${refused} requests were not accepted`);
} catch (err) {
  console.error(
    `the server said, last:\n${server.output
      .split('\n')
      .filter((l) => !l.includes('"level":30'))
      .slice(-30)
      .join('\n')}`,
  );
  throw err;
} finally {
  await db.end();
  // Killed: its held-up decisions would otherwise be waited for (the database is a throwaway).
  await service.close('SIGKILL');
}
