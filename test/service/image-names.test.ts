import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, GENERIC_TOKEN, TestService } from '../support/app.ts';
import { readJson } from '../support/vectors.ts';

interface ImageDoc {
  decision: string;
  taskId: string | null;
  artifactUrl: string | null;
  digest: string | null;
}
interface Expected {
  images: Record<string, { digest: string; hashRoute: Record<'level-3', string> }>;
}

describe('image names with dots (python3.11, gcc-4.4) through the service', () => {
  let svc: TestService;
  const api = (path: string, init?: RequestInit) => fetch(`${svc.url}${path}`, init);

  before(async () => {
    svc = await TestService.start({ tree: 'dotted/tree' });
  });
  after(() => svc.close());

  it('are decided, routed and indexed under their names, and served at /images/<name>', async () => {
    const expected = await readJson<Expected>('dotted/expected.json');
    const push = await api('/webhooks/generic', {
      method: 'POST',
      body: JSON.stringify({ repository: 'acme', ref: 'refs/heads/main', rev: svc.headSha }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
    });
    assert.equal(push.status, 202);
    await svc.waitForPush(((await push.json()) as { pushId: string }).pushId);

    const graph = (await (await api(`/graph?rev=${svc.headSha}`)).json()) as { images: Record<string, ImageDoc> };
    assert.deepEqual(Object.keys(graph.images).sort(), ['base', 'gcc-4.4', 'python3.11', 'python3.13']);
    for (const [name, want] of Object.entries(expected.images)) {
      const image = (await (await api(`/images/${encodeURIComponent(name)}?rev=${svc.headSha}`)).json()) as ImageDoc;
      assert.equal(image.decision, 'build', name);
      assert.equal(image.digest, want.digest, name);
      const task = svc.fake.services.tasks.get(image.taskId!);
      assert.ok(task, `${name} was created`);
      assert.ok((task.definition.routes as string[]).includes(want.hashRoute['level-3']), `${name} carries ${want.hashRoute['level-3']}`);
    }
    const artifact = await api(`/images/gcc-4.4/artifact?rev=${svc.headSha}`, { redirect: 'manual' });
    assert.equal(artifact.status, 302);
    assert.equal(artifact.headers.get('location'), graph.images['gcc-4.4']!.artifactUrl);

    const rebuild = await api('/images/python3.11/rebuild', {
      method: 'POST',
      body: JSON.stringify({ withDescendants: true }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(rebuild.status, 202);
    assert.deepEqual(Object.keys(((await rebuild.json()) as { taskIds: Record<string, string> }).taskIds).sort(), ['gcc-4.4', 'python3.11']);
  });

  it('a name the Index cannot hold is a 400 with a code, not a lookup', async () => {
    for (const name of ['a..b', '.x', 'a%20b']) {
      const res = await api(`/images/${name}?rev=${svc.headSha}`);
      assert.equal(res.status, 400, name);
      assert.equal(((await res.json()) as { code: string }).code, 'bad-request');
    }
  });
});
