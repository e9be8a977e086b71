/**
 * Oversized pushes: what one hostile commit costs the service. Each shape is committed on
 * top of the acme vector's tree and pushed to the compiled server (PostgreSQL, the fake
 * Taskcluster): a 19 MB kind file of 200,000 images, 1,500 images (over the default
 * imagesPerGraph), then an ordinary commit. Each over-limit push must fail at once with
 * limit-exceeded after one attempt; the ordinary one must be decided. The server's RSS is
 * sampled every 20 ms throughout.
 * Run: npm run bench:oversized   (works in bench/service/.work)
 */
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commitAll, vectorRepo } from '../../test/support/vectors.ts';
import { WORK, pushState, rssMiB, sendPush, startService } from './service-support.ts';

const KIND = 'taskcluster/kinds/docker-image/kind.yml';
const repoDir = join(WORK, 'oversized-repo');
await rm(repoDir, { recursive: true, force: true });
await mkdir(WORK, { recursive: true });
const { dir } = await vectorRepo('acme/tree', repoDir);

/** A kind file declaring `count` images, each `image-N: {}`, or (`detailed`) with a symbol and args as real kinds have: about 80 bytes each. */
const kindOf = (count: number, detailed = false) =>
  `tasks:\n${Array.from({ length: count }, (_, i) => (detailed ? `    image-${i}:\n        symbol: I(i${i})\n        args: {VERSION: "${i}.0", VARIANT: slim}\n` : `    image-${i}: {}\n`)).join('')}`;

interface Shape {
  readonly name: string;
  /** Writes the shape into the tree. */
  readonly write: () => Promise<void>;
  readonly expect: 'failed' | 'decided';
}

const SHAPES: Shape[] = [
  { name: '19 MB kind file, 200,000 images', write: () => writeFile(join(dir, KIND), kindOf(200_000, true)), expect: 'failed' },
  {
    name: '1,500 images, each with its Dockerfile',
    write: async () => {
      for (let i = 0; i < 1500; i++) {
        await mkdir(join(dir, 'taskcluster/docker', `image-${i}`), { recursive: true });
        await writeFile(join(dir, 'taskcluster/docker', `image-${i}`, 'Dockerfile'), `FROM debian:12\nRUN echo ${i}\n`);
      }
      await writeFile(join(dir, KIND), kindOf(1500));
    },
    expect: 'failed',
  },
  { name: 'an ordinary commit (two images)', write: () => writeFile(join(dir, KIND), kindOf(2)), expect: 'decided' },
];

const service = await startService('oversized', dir);
const pid = service.server.child.pid!;
const lines: string[] = [];
const say = (line: string) => {
  console.log(line);
  lines.push(line);
};
try {
  say(`server RSS after start: ${rssMiB(pid).toFixed(0)} MiB`);
  for (const shape of SHAPES) {
    await shape.write();
    const sha = commitAll(dir, shape.name);
    let peak = rssMiB(pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 20);
    const started = performance.now();
    const pushId = await sendPush(service.server.url, sha);
    let push = await pushState(service.server.url, pushId);
    while (push.state === 'queued' || push.state === 'deciding') {
      if (performance.now() - started > 120_000) throw new Error(`${shape.name}: still ${push.state} after 120 s`);
      await new Promise((r) => setTimeout(r, 20));
      push = await pushState(service.server.url, pushId);
    }
    const ms = performance.now() - started;
    clearInterval(sampler);
    if (push.state !== shape.expect) throw new Error(`${shape.name}: ${push.state} (${JSON.stringify(push.lastError)}), expected ${shape.expect}`);
    const why = push.lastError ? `${push.lastError.code}: ${push.lastError.message}` : JSON.stringify(push.counts);
    say(`${shape.name}: ${push.state} in ${ms.toFixed(0)} ms (${why}); server RSS peak ${peak.toFixed(0)} MiB, after ${rssMiB(pid).toFixed(0)} MiB`);
  }
  await appendFile(join(WORK, 'results-oversized.txt'), `${new Date().toISOString()}\n${lines.join('\n')}\n`);
} catch (err) {
  console.error(`the server said, last:\n${service.server.output.slice(-3000)}`);
  throw err;
} finally {
  await service.close();
}
