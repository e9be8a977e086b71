import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GENERIC_TOKEN, TestService } from '../support/app.ts';

describe('a push over a configured limit', () => {
  let svc: TestService;
  before(async () => {
    // acme declares five images (and a registry image).
    svc = await TestService.start({ dryRun: true, extraConfig: 'limits: {imagesPerGraph: 3}\n' });
  });
  after(() => svc.close());

  it('fails at once with limit-exceeded, after one attempt, and is not retried', async () => {
    const res = await fetch(`${svc.url}/webhooks/generic`, {
      method: 'POST',
      body: JSON.stringify({ repository: 'acme', ref: 'refs/heads/main', rev: svc.headSha }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
    });
    const { pushId } = (await res.json()) as { pushId: string };
    await svc.waitForPush(pushId);
    const push = (await svc.service.store.getPush(pushId))!;
    assert.equal(push.state, 'failed');
    assert.equal(push.attempts, 1);
    assert.equal(push.lastError?.code, 'limit-exceeded');
    assert.match(push.lastError!.message, /declares 5 images, over the limit of 3/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await svc.service.store.getPush(pushId))!.attempts, 1, 'no second attempt');
    const graph = await fetch(`${svc.url}/graph?rev=${svc.headSha}`);
    assert.equal(graph.status, 200, 'the failed push is shown, not retried by a read');
  });
});
