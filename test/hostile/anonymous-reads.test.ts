import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestService } from '../support/app.ts';
import { GitHttpServer } from '../support/git-http-server.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, vectorRepo } from '../support/vectors.ts';

describe('anonymous reads do not drive upstream traffic', () => {
  let svc: TestService;
  let server: GitHttpServer;
  let upstream: string;

  before(async () => {
    const projectRoot = await tempDir();
    upstream = (await vectorRepo('acme/tree', join(projectRoot, 'acme'))).dir;
    server = await GitHttpServer.start({ projectRoot });
    svc = await TestService.start({ repoUrl: `${server.url}/acme`, dryRun: true, extraConfig: 'readFetchIntervalSeconds: 3600\n' });
  });
  after(async () => {
    await svc.close();
    await server.close();
  });

  it('eight callers, 40 reads each: unknown shas, refs and images cost one shared fetch', async (t) => {
    const paths = () => [
      `/graph?rev=${randomBytes(20).toString('hex')}`,
      '/graph?rev=main',
      '/images/base',
      '/graph?rev=no-such-branch',
      `/images/python?rev=${randomBytes(20).toString('hex')}`,
    ];
    const statuses = new Map<number, number>();
    // A count, not a duration: a loaded machine makes fewer calls in a given time, and the
    // interval (an hour here) is what bounds the fetches, not the clock.
    let calls = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let round = 0; round < 8; round++) {
          for (const path of paths()) {
            const res = await fetch(`${svc.url}${path}`);
            await res.arrayBuffer();
            calls += 1;
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          }
        }
      }),
    );
    const fetchRounds = server.requests.filter((r) => r.url.endsWith('/info/refs?service=git-upload-pack')).length;
    t.diagnostic(`${calls} anonymous calls, ${fetchRounds} fetches, ${server.requests.length} upstream requests`);
    assert.equal(calls, 8 * 8 * 5);
    assert.ok(fetchRounds <= 2, `${fetchRounds} fetches (${server.requests.length} requests) for ${calls} calls`);
    assert.deepEqual([...statuses.keys()].sort(), [200, 404], JSON.stringify([...statuses]));
  });

  it('refs answer as last fetched; a pushed commit is read once its push has fetched it', async () => {
    const before = (await (await fetch(`${svc.url}/graph?rev=main`)).json()) as { rev: string };
    const sha = commitAll(upstream, 'later');
    const stale = (await (await fetch(`${svc.url}/graph?rev=main`)).json()) as { rev: string };
    assert.equal(stale.rev, before.rev, 'the ref as last fetched: no fetch for an anonymous read');
    assert.equal((await fetch(`${svc.url}/graph?rev=${sha}`)).status, 404, 'within the interval, a missing sha is not fetched');
    await svc.service.repos.get('acme')!.mirror.fetch();
    assert.equal(((await (await fetch(`${svc.url}/graph?rev=${sha}`)).json()) as { rev: string }).rev, sha);
  });
});
