import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, git, initRepo, materialise } from '../support/vectors.ts';

/** taskgraph's `build_date_long` as seconds since the epoch: `YYYY.MM.DD.YYYYMMDDhhmmss`, UTC. */
function stampSeconds(route: string): number {
  const m = /\.pushdate\.\d{4}\.\d{2}\.\d{2}\.(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(route);
  assert.ok(m, route);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

/** Issue 25 item 15 (last part): the CLI's `pushdate` routes carry its run time, not the commit date. */
describe('CLI pushdate routes', () => {
  it('graph --json of an older commit: the pushdate routes name the run time', async () => {
    const repo = await materialise('acme/tree', join(await tempDir(), 'repo'));
    initRepo(repo);
    commitAll(repo);
    assert.match(git(repo, 'show', '-s', '--format=%cI', 'HEAD'), /^2026-01-02/);
    const start = Math.floor(Date.now() / 1000);
    const result = await runCli(['graph', '--repo', repo, '--json']);
    const end = Math.ceil(Date.now() / 1000);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout.toString()) as { images: Record<string, { routes: string[] }> };
    const pushdates = Object.values(doc.images).flatMap((i) => i.routes.filter((r) => r.includes('.pushdate.')));
    assert.ok(pushdates.length > 0);
    for (const route of pushdates) {
      const at = stampSeconds(route);
      assert.ok(at >= start && at <= end, `${route} is not the run time`);
    }
  });
});
