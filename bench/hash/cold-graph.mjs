// One cold graph in a process shaped like the service: the compiled code (dist/, `npm run
// build`) under the node flags of `npm start`, so that its peak RSS is the service's and not
// the benchmark's (tsx alone holds about 40 MB). Prints the graph's seconds and tar bytes.
// Usage: node <start flags> bench/hash/cold-graph.mjs git|folder <repository> (COUNTERS=1: the
// hasher's counters and git's read stats too, e.g. how many included folders were taken whole;
// COLD_ROUNDS=N: N cold graphs in this one process, each with its process CPU seconds; COLD_BEFORE=cmd:
// a shell command run in the repository before each, e.g. another pipeline's load).
import { execSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';

const dist = new URL('../../dist/src/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);
const [{ DEFAULT_BUILDER_IMAGE }, { HashPool }, { ContextHasher }, { GraphBuilder }, { DirectoryTree }, { GitRepo }, { GitTree }] = await Promise.all([
  load('context/digest.js'),
  load('context/hash-thread.js'),
  load('context/hasher.js'),
  load('graph/build-graph.js'),
  load('tree/directory-tree.js'),
  load('tree/git-repo.js'),
  load('tree/git-tree.js'),
]);

const [mode, dir] = process.argv.slice(2);
const options = { level: 3, pullRequest: false, algorithm: 'taskgraph', builderImage: DEFAULT_BUILDER_IMAGE, pushDate: new Date() };
async function coldGraph() {
  const pool = new HashPool();
  const hasher = new ContextHasher({ pool });
  const repo = mode === 'git' ? await GitRepo.open(dir) : null;
  const tree = repo ? await GitTree.open(repo, 'HEAD') : new DirectoryTree(dir);
  const cpu = process.cpuUsage();
  const start = performance.now();
  const graph = await new GraphBuilder(hasher).build(tree, options);
  const seconds = (performance.now() - start) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  const bytes = graph.images.reduce((n, image) => n + (image.bytes ?? 0), 0);
  await hasher.close();
  await pool.close();
  await repo?.close();
  const counters = process.env.COUNTERS ? { counters: hasher.counters, stats: repo?.stats } : {};
  return { seconds, cpuSeconds: (user + system) / 1e6, bytes, images: graph.images.length, ...counters };
}

for (let round = 0; round < Number(process.env.COLD_ROUNDS ?? 1); round++) {
  if (process.env.COLD_BEFORE) execSync(process.env.COLD_BEFORE, { cwd: dir, stdio: 'ignore', shell: '/bin/bash' });
  console.log(JSON.stringify(await coldGraph()));
}
