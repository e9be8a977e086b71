import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, GENERIC_TOKEN, TestService } from '../support/app.ts';
import { tempDir } from '../support/temp.ts';
import { vectorRepo } from '../support/vectors.ts';

interface ErrorDoc {
  code: string;
  message: string;
}

describe('operator calls: retry and rebuild', () => {
  let svc: TestService;
  const api = (path: string, init?: RequestInit) => fetch(`${svc.url}${path}`, init);
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  before(async () => {
    // Two repositories, so a rebuild must name one.
    const other = await vectorRepo('acme/tree', join(await tempDir(), 'other'));
    svc = await TestService.start({ dryRun: true, repoConfig: `    webhookSecretEnv: ACME_SECRET\n  - name: other\n    url: ${other.dir}\n` });
  });
  after(() => svc.close());

  it('POST /pushes/<id>/retry takes no body at all, and checks the token before the body', async () => {
    // No body, no token: 401 (the token is checked first), not 400.
    const anonymous = await api('/pushes/nope/retry', { method: 'POST' });
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as ErrorDoc).code, 'unauthorized');
    // A bad body, no token: still 401.
    const badBody = await api('/pushes/nope/retry', { method: 'POST', body: '[1]', headers: { 'content-type': 'application/json' } });
    assert.equal(badBody.status, 401);

    // No body with the token: as `{}`.
    const unknown = await api('/pushes/nope/retry', { method: 'POST', headers: admin });
    assert.equal(unknown.status, 404, await unknown.clone().text());
    assert.equal(((await unknown.json()) as ErrorDoc).code, 'not-found');

    const queued = await api('/webhooks/generic', {
      method: 'POST',
      body: JSON.stringify({ repository: 'acme', ref: 'refs/heads/main', rev: svc.headSha }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
    });
    const { pushId } = (await queued.json()) as { pushId: string };
    await svc.waitForPush(pushId);
    const decided = await api(`/pushes/${pushId}/retry`, { method: 'POST', headers: admin });
    assert.equal(decided.status, 409);
    const emptyJson = await api('/pushes/nope/retry', { method: 'POST', headers: { ...admin, 'content-type': 'application/json' } });
    assert.equal(emptyJson.status, 404, 'a JSON content-type with no bytes is no body either');
    const withEmpty = await api(`/pushes/${pushId}/retry`, { method: 'POST', body: '{}', headers: { ...admin, 'content-type': 'application/json' } });
    assert.equal(withEmpty.status, 409, 'a body of {} is read as before');
  });

  it('a rebuild names its repository in the query or the body (not two different ones)', async () => {
    const rebuild = (query: string, body?: Record<string, unknown>) =>
      api(`/images/base/rebuild${query}`, {
        method: 'POST',
        ...(body ? { body: JSON.stringify(body) } : {}),
        headers: { ...admin, ...(body ? { 'content-type': 'application/json' } : {}) },
      });
    const unnamed = await rebuild('');
    assert.equal(unnamed.status, 400);
    assert.match(((await unnamed.json()) as ErrorDoc).message, /name one with repo=/);

    const byQuery = await rebuild('?repo=other');
    assert.equal(byQuery.status, 202, await byQuery.clone().text());
    assert.equal(((await byQuery.json()) as { push: { repository: string } }).push.repository, 'other');
    const emptyJson = await api('/images/base/rebuild?repo=other', { method: 'POST', headers: { ...admin, 'content-type': 'application/json' } });
    assert.equal(emptyJson.status, 202, 'a rebuild with a JSON content-type and no bytes');
    const badJson = await api('/images/base/rebuild?repo=other', { method: 'POST', body: '{"__proto__": {"x": 1}}', headers: { ...admin, 'content-type': 'application/json' } });
    assert.equal(badJson.status, 400, 'bodies with bytes are parsed as before (prototype poisoning refused)');
    const byBody = await rebuild('', { repo: 'other' });
    assert.equal(byBody.status, 202);
    const both = await rebuild('?repo=other', { repo: 'other' });
    assert.equal(both.status, 202);

    const differ = await rebuild('?repo=acme', { repo: 'other' });
    assert.equal(differ.status, 400);
    const error = (await differ.json()) as ErrorDoc;
    assert.equal(error.code, 'bad-request');
    assert.match(error.message, /acme.*other/);
    assert.equal((await rebuild('?repo=nope')).status, 404);
  });

  it('rebuilding an image pulled from a registry is a 409 not-buildable, and queues nothing', async () => {
    const before = (await svc.service.store.listPushes({ limit: 100 })).length;
    const res = await api('/images/prebuilt/rebuild?repo=acme', { method: 'POST', headers: admin });
    assert.equal(res.status, 409);
    const error = (await res.json()) as ErrorDoc;
    assert.equal(error.code, 'not-buildable');
    assert.match(error.message, /prebuilt .* registry/);
    assert.equal((await svc.service.store.listPushes({ limit: 100 })).length, before, 'no push was queued');
  });
});
