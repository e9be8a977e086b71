import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { DeciderError } from '../errors.ts';

const execFileAsync = promisify(execFile);
const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Commits of a revision's history walked at most to place earlier revisions in it. */
export const MAX_ANCESTRY_WALK = 10_000;

/**
 * Which of `candidates` are `rev` or its ancestors, each with its place in `git rev-list rev`
 * (`rev` itself 0; newest commit first, so a place says which is nearer only roughly: for
 * which descends from which, ask `nearestOf`). git walks the commit graph; the walk stops once
 * every candidate is placed, or after `maxCommits` commits, so a long history costs at most
 * that (a candidate further back counts as none).
 */
export async function ancestorPlaces(gitDir: string, rev: string, candidates: ReadonlySet<string>, maxCommits = MAX_ANCESTRY_WALK): Promise<Map<string, number>> {
  const places = new Map<string, number>();
  // Only commit ids can be met in the walk (a push not resolved yet may name a branch).
  const wanted = new Set([...candidates].filter((c) => FULL_SHA.test(c)));
  if (wanted.size === 0) return places;
  if (!FULL_SHA.test(rev)) throw new DeciderError('unknown-revision', `not a commit id: ${JSON.stringify(rev)}`);
  const git = spawn('git', ['--git-dir', gitDir, 'rev-list', `--max-count=${maxCommits}`, rev, '--'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  git.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2048);
  });
  const closed = once(git, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  let place = 0;
  let stopped = false;
  for await (const line of createInterface({ input: git.stdout })) {
    if (wanted.has(line)) places.set(line, place);
    place += 1;
    if (places.size === wanted.size) {
      // Every candidate placed: the rest of the history is not needed.
      stopped = true;
      git.kill();
      break;
    }
  }
  const [code] = await closed;
  if (!stopped && code !== 0) throw new DeciderError('repository-unreadable', `git rev-list ${rev} failed: ${stderr.trim() || `exit ${code}`}`);
  return places;
}

/**
 * Of `revs`, those from which no other of them descends (`git merge-base --independent`): of
 * a revision's ancestors, the nearest. Several when they lie on branches merged since.
 */
export async function nearestOf(gitDir: string, revs: readonly string[]): Promise<string[]> {
  if (revs.length < 2) return [...revs];
  for (const rev of revs) if (!FULL_SHA.test(rev)) throw new DeciderError('unknown-revision', `not a commit id: ${JSON.stringify(rev)}`);
  try {
    const { stdout } = await execFileAsync('git', ['--git-dir', gitDir, 'merge-base', '--independent', ...revs]);
    return stdout.split('\n').filter((line) => line !== '');
  } catch (err) {
    throw new DeciderError('repository-unreadable', `git merge-base --independent failed: ${(err as Error).message}`, { cause: err });
  }
}
