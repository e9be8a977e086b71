import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GENERIC_TOKEN, TestService } from '../support/app.ts';
import { GitHttpServer } from '../support/git-http-server.ts';
import { tempDir } from '../support/temp.ts';
import { vectorRepo } from '../support/vectors.ts';

const PASSWORD = 'hunter2-fetch-password';

/**
 * The service fetching over smart HTTP from a server that demands Basic credentials: given
 * in the URL (and no webUrl), or by `fetchCredentialsEnv`. No URL that leaves the process
 * may hold them.
 */
for (const how of ['in the URL', 'from fetchCredentialsEnv'] as const) {
  describe(`fetch credentials ${how}`, () => {
    let svc: TestService;
    let server: GitHttpServer;

    before(async () => {
      // The acme repository, served by git's http-backend.
      const projectRoot = await tempDir();
      await vectorRepo('acme/tree', join(projectRoot, 'acme'));
      server = await GitHttpServer.start({ projectRoot, credentials: `ci:${PASSWORD}` });
      const plain = `${server.url}/acme`;
      svc = await TestService.start(
        how === 'in the URL'
          ? { repoUrl: plain.replace('http://', `http://ci:${PASSWORD}@`), webUrl: null }
          : { repoUrl: plain, webUrl: null, repoConfig: '    fetchCredentialsEnv: ACME_FETCH\n', env: { ACME_FETCH: `ci:${PASSWORD}` } },
      );
    });
    after(async () => {
      await svc.close();
      await server.close();
    });

    it('fetches, and no task definition, API answer, page or log holds the password', async () => {
      const res = await fetch(`${svc.url}/webhooks/generic`, {
        method: 'POST',
        body: JSON.stringify({ repository: 'acme', ref: 'refs/heads/main', rev: svc.headSha }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
      });
      assert.equal(res.status, 202);
      const { pushId } = (await res.json()) as { pushId: string };
      await svc.waitForPush(pushId);
      assert.equal((await svc.service.store.getPush(pushId))!.state, 'decided');
      assert.ok(
        server.requests.some((r) => r.authorized),
        'the fetch authenticated',
      );

      const created = [...svc.fake.services.tasks.values()].map((t) => t.definition);
      assert.ok(created.length > 0);
      const task = created[0] as { metadata: { source: string }; payload: { env: Record<string, string> } };
      assert.equal(task.metadata.source.startsWith(server.url), true, task.metadata.source);
      assert.equal(task.payload.env.VCS_HEAD_REPOSITORY, `${server.url}/acme`);
      const seen = [
        JSON.stringify(created),
        await (await fetch(`${svc.url}/graph?rev=${svc.headSha}&definitions=true`)).text(),
        await (await fetch(`${svc.url}/pushes/${pushId}`)).text(),
        await (await fetch(`${svc.url}/health`)).text(),
        await (await fetch(`${svc.url}/metrics`)).text(),
        await (await fetch(`${svc.url}/dashboard`)).text(),
        await (await fetch(`${svc.url}/graph?rev=${'e'.repeat(40)}`)).text(),
        svc.log.text,
      ];
      for (const text of seen) {
        assert.doesNotMatch(text, new RegExp(PASSWORD));
        assert.doesNotMatch(text, /\/\/ci:/);
      }
    });
  });
}
