import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, GENERIC_TOKEN, TestService, WEBHOOK_SECRET } from '../support/app.ts';
import { commitAll } from '../support/vectors.ts';

interface ImageDoc {
  decision: string;
  taskId: string | null;
  artifactUrl: string | null;
  reason: string;
  contextUrl: string | null;
}
interface GraphDoc {
  state: string;
  rev: string;
  push: { id: string } | null;
  images: Record<string, ImageDoc>;
}

describe('the HTTP API', () => {
  let svc: TestService;
  const api = (path: string, init?: RequestInit) => fetch(`${svc.url}${path}`, init);
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => (await (await api(path, init)).json()) as T;
  const generic = (body: Record<string, unknown>, token = GENERIC_TOKEN) =>
    api('/webhooks/generic', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });

  before(async () => {
    svc = await TestService.start();
  });
  after(() => svc.close());

  it('GET /graph of an unknown revision is a read-only preview; nothing is recorded or created', async () => {
    const graph = await json<GraphDoc>(`/graph?rev=main`);
    assert.equal(graph.state, 'preview');
    assert.equal(graph.rev, svc.headSha);
    assert.equal(graph.images.base!.decision, 'build');
    assert.equal(graph.images.base!.taskId, null);
    assert.equal(graph.images.prebuilt!.decision, 'registry');
    assert.equal(svc.fake.count('createTask'), 0);
    assert.deepEqual(await svc.service.store.listPushes({ limit: 10 }), []);
    const missing = await api('/graph?rev=0123456789abcdef0123456789abcdef01234567');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, 'unknown-revision');
    assert.equal((await api('/graph')).status, 400);
  });

  it('the generic hook (bearer token) queues a push; GitLab hooks check their token', async () => {
    assert.equal((await generic({ repository: 'acme', ref: 'refs/heads/main', rev: svc.headSha }, 'wrong')).status, 401);
    assert.equal((await generic({ repository: 'acme', ref: 'refs/heads/main', rev: 'not-a-sha' })).status, 400);
    const res = await generic({ repository: 'acme', ref: 'refs/heads/main', rev: svc.headSha });
    assert.equal(res.status, 202);
    const { pushId } = (await res.json()) as { pushId: string };
    await svc.waitForPush(pushId);
    const graph = await json<GraphDoc>(`/graph?rev=${svc.headSha}&repo=acme`);
    assert.equal(graph.state, 'decided');
    assert.equal(graph.push!.id, pushId);

    const gitlab = JSON.stringify({
      object_kind: 'push',
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      after: svc.headSha,
      checkout_sha: svc.headSha,
      project: { path_with_namespace: 'acme/acme', git_http_url: 'https://github.com/acme/acme.git' },
    });
    const headers = { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': 'gl-1' };
    assert.equal((await api('/webhooks/gitlab', { method: 'POST', body: gitlab, headers: { ...headers, 'x-gitlab-token': 'nope' } })).status, 401);
    const ok = await api('/webhooks/gitlab', { method: 'POST', body: gitlab, headers: { ...headers, 'x-gitlab-token': WEBHOOK_SECRET } });
    assert.equal(ok.status, 202);
    await svc.waitForPush(((await ok.json()) as { pushId: string }).pushId);
  });

  it('pushes are listed with state, timings and counts', async () => {
    const { pushes } = await json<{ pushes: Array<{ id: string; state: string; seconds: number; counts: Record<string, number> }> }>('/pushes?limit=5');
    assert.equal(pushes.length, 2);
    assert.ok(pushes.every((p) => p.state === 'decided' && p.seconds >= 0));
    assert.deepEqual(pushes.at(-1)!.counts, { build: 5, registry: 1 });
    assert.deepEqual(pushes[0]!.counts, { 'in-flight': 5, registry: 1 });
    const one = await json<{ push: { id: string }; images: Record<string, ImageDoc> }>(`/pushes/${pushes[0]!.id}`);
    assert.equal(one.images.base!.decision, 'in-flight');
    assert.equal((await api('/pushes/nope')).status, 404);
  });

  it('images: one image, its artifact redirect, and a forced rebuild with the admin token', async () => {
    // The newest push of that revision (the GitLab one) joined the first one's build.
    const image = await json<ImageDoc>(`/images/python?rev=${svc.headSha}`);
    assert.equal(image.decision, 'in-flight');
    assert.ok(image.taskId && svc.fake.services.tasks.has(image.taskId));
    const artifact = await api(`/images/python/artifact?rev=${svc.headSha}`, { redirect: 'manual' });
    assert.equal(artifact.status, 302);
    assert.equal(artifact.headers.get('location'), image.artifactUrl);
    assert.equal((await api('/images/nope?rev=main')).status, 404);

    const rebuild = (token: string | null, body: Record<string, unknown>) =>
      api('/images/base/rebuild', {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
    assert.equal((await rebuild(null, {})).status, 401);
    assert.equal((await rebuild('wrong', {})).status, 401);
    const before = svc.fake.services.tasks.size;
    const res = await rebuild(ADMIN_TOKEN, { withDescendants: true });
    assert.equal(res.status, 202);
    const { taskIds, push } = (await res.json()) as { taskIds: Record<string, string>; push: { state: string } };
    assert.equal(push.state, 'decided');
    assert.deepEqual(Object.keys(taskIds).sort(), ['base', 'lint', 'node-tools', 'python']);
    assert.equal(svc.fake.services.tasks.size, before + 4);
  });

  it('contexts: unknown names and traversal attempts are 404; a cached tarball is served again with its ETag', async () => {
    for (const path of ['/contexts/abc.tar.gz', '/contexts/..%2F..%2Fetc%2Fpasswd', `/contexts/${'f'.repeat(64)}.tar.gz`, '/contexts/../package.json']) {
      const res = await api(path);
      assert.equal(res.status, 404, path);
    }
    const { images } = await json<GraphDoc>(`/graph?rev=${svc.headSha}`);
    const url = images.base!.contextUrl!;
    const first = await fetch(url);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = first.headers.get('etag')!;
    await first.arrayBuffer();
    assert.equal((await fetch(url, { headers: { 'if-none-match': etag } })).status, 304);
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  it('a new commit that changes nothing any image uses: all reused, nothing built', async () => {
    await writeFile(join(svc.repoDir, 'unrelated.txt'), 'hello\n');
    const sha = commitAll(svc.repoDir, 'unrelated');
    const res = await generic({ repository: 'acme', ref: 'refs/heads/main', rev: sha });
    const { pushId } = (await res.json()) as { pushId: string };
    await svc.waitForPush(pushId);
    const graph = await json<GraphDoc>(`/graph?rev=${sha}`);
    assert.ok(Object.values(graph.images).every((i) => i.decision === 'in-flight' || i.decision === 'registry'));
  });

  it('health, metrics and the OpenAPI UI answer', async () => {
    const health = await json<{ status: string; checks: Array<{ name: string; status: string }> }>('/health');
    assert.equal(health.status, 'ok');
    assert.deepEqual(health.checks.map((c) => c.name).sort(), ['backlog', 'mirror:acme', 'store', 'taskcluster', 'taskcluster-scopes']);
    const metrics = await (await api('/metrics')).text();
    for (const name of [
      'image_decider_webhooks_total',
      'image_decider_decision_seconds_bucket',
      'image_decider_decisions_total',
      'image_decider_memo_hit_ratio',
      'image_decider_backlog_pushes',
      'image_decider_taskcluster_request_seconds_bucket',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.match(metrics, new RegExp(`^${name}`, 'm'), name);
    }
    assert.equal((await api('/documentation/json')).status, 200);
    assert.equal((await api('/nothing-here')).status, 404);
    assert.ok(!svc.log.text.includes('tc-access-token-secret'));
    assert.ok(!svc.log.text.includes(ADMIN_TOKEN));
  });

  it('rebuilds authenticate first, then are rate-limited per token; wrong tokens never lock an operator out', async () => {
    const rebuild = (token: string, init: RequestInit = { body: '{}', headers: { 'content-type': 'application/json' } }) =>
      api('/images/nope/rebuild', { method: 'POST', ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
    for (let i = 0; i < 15; i++) assert.equal((await rebuild('wrong')).status, 401);
    // The admin token has used one of its ten a minute in the images test above.
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await rebuild(ADMIN_TOKEN, i % 2 ? {} : undefined)).status);
    assert.deepEqual(statuses, Array(9).fill(404), 'no body, or an empty one: the defaults apply, the image is looked up');
    const limited = await rebuild(ADMIN_TOKEN);
    assert.equal(limited.status, 429);
    assert.equal(((await limited.json()) as { code?: string }).code, 'rate-limited');
    assert.equal((await rebuild('wrong')).status, 401, 'a wrong token is still told it is wrong, not limited');
  });

  it('health is 503 with the failing check named when the store is down', async () => {
    await svc.service.worker.stop();
    await svc.service.store.close();
    const res = await api('/health');
    assert.equal(res.status, 503);
    const health = (await res.json()) as { status: string; checks: Array<{ name: string; status: string }> };
    assert.equal(health.status, 'down');
    assert.equal(health.checks.find((c) => c.name === 'store')!.status, 'down');
  });
});
