// `npm run bench:cli`: a cold `image-decider graph --json` on a repository shaped like
// mozilla-releng/scriptworker-scripts (bench/cli/generate.ts), against the floor of any such
// tool here: starting node (`node -e 0`) plus reading the graph's blobs once with one
// `git cat-file --batch`. Each is a new process, timed by GNU time (wall, CPU, peak RSS), five
// times after one warm-up run, and its median is printed. Options: --rounds N (default 5);
// --bin <file>: also time another checkout's bin/image-decider.js (say, before a change).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateScriptworkerShaped } from './generate.ts';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/image-decider.js');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, bin: { type: 'string' } } });
const rounds = Number(values.rounds);

interface Sample {
  wall: number;
  cpu: number;
  rssMiB: number;
}

/** Runs `argv` under GNU time (its numbers go to a file, the command's output nowhere). */
function timed(argv: string[], options: { input?: Buffer; env?: NodeJS.ProcessEnv } = {}): Sample {
  const out = join(work, 'time.txt');
  const result = spawnSync('/usr/bin/time', ['-o', out, '-f', '%e %U %S %M', ...argv], {
    input: options.input,
    env: options.env ?? process.env,
    stdio: [options.input ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 30,
  });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited ${result.status}: ${result.stderr.toString()}`);
  const [wall, user, system, rssKiB] = readFileSync(out, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { wall: wall!, cpu: user! + system!, rssMiB: rssKiB! / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function measure(argv: string[], options: { input?: Buffer; env?: NodeJS.ProcessEnv } = {}): Sample {
  timed(argv, options); // warm-up: the page cache, and node's compile cache
  const samples = Array.from({ length: rounds }, () => timed(argv, options));
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)), rssMiB: median(samples.map((s) => s.rssMiB)) };
}

const work = mkdtempSync(join(tmpdir(), 'image-decider-bench-cli-'));
try {
  const repo = join(work, 'repo');
  await generateScriptworkerShaped(repo);
  const files = execFileSync('git', ['-C', repo, 'ls-tree', '-r', '-l', 'HEAD'], { encoding: 'utf8' }).trim().split('\n');
  const oids = [...new Set(files.map((line) => line.split(/\s+/)[2]!))];
  const bytes = files.reduce((n, line) => n + Number(line.split(/\s+/)[3]), 0);
  // The node this runs on, first on PATH: the CLI's `#!/usr/bin/env node` finds the same one.
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKCLUSTER_'))), PATH: `${dirname(process.execPath)}:${process.env.PATH}` };

  const node = measure([process.execPath, '-e', '0']);
  const catFile = measure(['git', '-C', repo, 'cat-file', '--batch'], { input: Buffer.from(`${oids.join('\n')}\n`) });
  const floor: Sample = { wall: node.wall + catFile.wall, cpu: node.cpu + catFile.cpu, rssMiB: Math.max(node.rssMiB, catFile.rssMiB) };
  const cli = measure([BIN, 'graph', '--repo', repo, '--json'], { env });
  const sources = measure([BIN, 'graph', '--repo', repo, '--json'], { env: { ...env, IMAGE_DECIDER_SOURCES: '1' } });
  const other = values.bin ? measure([values.bin, 'graph', '--repo', repo, '--json'], { env }) : null;

  const row = (name: string, s: Sample, ratio = '') => `| ${name} | ${s.wall.toFixed(2)} s | ${s.cpu.toFixed(2)} s | ${s.rssMiB.toFixed(0)} MiB | ${ratio} |`;
  console.log(`${files.length} files, ${oids.length} distinct blobs, ${(bytes / 1e6).toFixed(1)} MB; node ${process.version}, ${cpus().length} cores; median of ${rounds}\n`);
  console.log('| what | wall | CPU | peak RSS | wall / floor |');
  console.log('|---|---|---|---|---|');
  console.log(row('`node -e 0`', node));
  console.log(row('`git cat-file --batch` of the blobs', catFile));
  console.log(row('**floor** (the two)', floor));
  console.log(row('`image-decider graph --json`, compiled (dist/)', cli, `**${(cli.wall / floor.wall).toFixed(1)}**`));
  console.log(row('the same through tsx (IMAGE_DECIDER_SOURCES=1)', sources, (sources.wall / floor.wall).toFixed(1)));
  if (other) console.log(row(`\`${values.bin}\``, other, (other.wall / floor.wall).toFixed(1)));
} finally {
  rmSync(work, { recursive: true, force: true });
}
