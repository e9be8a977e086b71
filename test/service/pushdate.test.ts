import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';
import { GIT_ENV } from '../support/vectors.ts';

const OLD_DATE = '2019-05-06T07:08:09Z';
const pad = (n: number) => String(n).padStart(2, '0');
/** taskgraph's `build_date_long`: `YYYY.MM.DD.YYYYMMDDhhmmss`, UTC. */
function buildDateLong(d: Date): string {
  const [y, m, day] = [d.getUTCFullYear(), pad(d.getUTCMonth() + 1), pad(d.getUTCDate())];
  return `${y}.${m}.${day}.${y}${m}${day}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

/** Issue 25 item 15 (last part): `pushdate` routes and `rank` carry when the push was received, not the commit date. */
describe('pushdate routes and rank', () => {
  let svc: TestService;
  after(async () => svc?.close());

  it('a commit dated years ago, pushed now: the created tasks carry the receipt time', async () => {
    svc = await TestService.start();
    await writeFile(join(svc.repoDir, 'unrelated.txt'), 'old\n');
    const env = { ...GIT_ENV, GIT_AUTHOR_DATE: OLD_DATE, GIT_COMMITTER_DATE: OLD_DATE };
    execFileSync('git', ['add', '-A'], { cwd: svc.repoDir, env });
    execFileSync('git', ['commit', '-q', '-m', 'old'], { cwd: svc.repoDir, env });
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: svc.repoDir, env, encoding: 'utf8' }).trim();
    assert.equal(execFileSync('git', ['show', '-s', '--format=%cI', sha], { cwd: svc.repoDir, env, encoding: 'utf8' }).trim(), '2019-05-06T07:08:09+00:00');

    const body = JSON.stringify(githubPush(sha));
    const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, 'pushdate-1') });
    assert.equal(res.status, 202);
    const { pushId } = (await res.json()) as { pushId: string };
    await svc.waitForPush(pushId, 30_000);
    const doc = (await (await fetch(`${svc.url}/pushes/${pushId}`)).json()) as {
      push: { state: string; receivedAt: string; level: number };
      images: Record<string, { decision: string; taskId: string | null }>;
    };
    assert.equal(doc.push.state, 'decided');
    assert.equal(doc.push.level, 3);
    const received = new Date(doc.push.receivedAt);

    const built = Object.entries(doc.images).filter(([, i]) => i.decision === 'build');
    assert.ok(built.length > 0);
    for (const [name, image] of built) {
      const definition = svc.fake.services.getTask(image.taskId!).definition as { routes: string[]; extra: { index: { rank: number } } };
      const pushdate = definition.routes.filter((r) => r.includes('.pushdate.'));
      assert.deepEqual(pushdate, [`index.acme.cache.level-3.docker-images.v2.${name}.pushdate.${buildDateLong(received)}`], name);
      assert.equal(definition.extra.index.rank, Math.floor(received.getTime() / 1000), name);
    }
  });
});
