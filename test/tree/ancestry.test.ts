import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeciderError } from '../../src/errors.ts';
import { ancestorPlaces, nearestOf } from '../../src/tree/ancestry.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, git, initRepo } from '../support/vectors.ts';

describe('earlier revisions found by git’s walk of the commit graph', () => {
  it('places the revision and its ancestors, leaves out every other commit, and names the nearest of them', async () => {
    const dir = await tempDir();
    initRepo(dir);
    // a - b - c ------ m      (every commit at the same time: nothing rests on dates)
    //      \         /
    //       s1 - s2 -        and a branch x off b, never merged
    const a = commitAll(dir, 'a');
    const b = commitAll(dir, 'b');
    git(dir, 'checkout', '-q', '-b', 'side');
    const s1 = commitAll(dir, 's1');
    const s2 = commitAll(dir, 's2');
    git(dir, 'checkout', '-q', '-b', 'other', b);
    const x = commitAll(dir, 'x');
    git(dir, 'checkout', '-q', 'main');
    const c = commitAll(dir, 'c');
    git(dir, 'merge', '-q', '--no-ff', '-m', 'm', 'side');
    const m = git(dir, 'rev-parse', 'HEAD');
    const gitDir = `${dir}/.git`;

    const places = await ancestorPlaces(gitDir, m, new Set([a, b, c, s1, s2, x, m]));
    assert.deepEqual([...places.keys()].sort(), [a, b, c, s1, s2, m].sort(), 'x is no ancestor');
    assert.equal(places.get(m), 0);
    // The nearest: what no other descends from, whatever the order of the walk (all dates are equal).
    const nearest = async (...revs: string[]) => (await nearestOf(gitDir, revs)).sort();
    assert.deepEqual(await nearest(a, b, c), [c]);
    assert.deepEqual(await nearest(a, b, s1), [s1]);
    assert.deepEqual(await nearest(b, c, s1, s2), [c, s2].sort(), 'one on each side of the merge');
    assert.deepEqual(await nearest(s2, m, a), [m]);
    assert.deepEqual(await nearest(a), [a]);
    // From the side branch, main's commits are not ancestors.
    assert.deepEqual([...(await ancestorPlaces(gitDir, s2, new Set([c, m, b]))).keys()], [b]);
    assert.deepEqual(await ancestorPlaces(gitDir, m, new Set()), new Map());
    // The walk is bounded: further back than it goes is not found.
    assert.deepEqual([...(await ancestorPlaces(gitDir, m, new Set([a, c]), 3)).keys()], [c]);
    await assert.rejects(ancestorPlaces(gitDir, '0'.repeat(40), new Set([a])), (err) => isDeciderError(err) && err.code === 'repository-unreadable');
  });
});
