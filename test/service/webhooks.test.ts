import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';

interface GraphDoc {
  state: string;
  rev: string;
  images: Record<string, { decision: string; taskId: string | null; contextHash: string | null; contextUrl: string | null }>;
}

describe('push webhooks through the running service', () => {
  let svc: TestService;
  let firstPush: string;
  const post = (path: string, body: string, headers: Record<string, string>) => fetch(`${svc.url}${path}`, { method: 'POST', body, headers });
  const pushCount = async () => (await svc.service.store.listPushes({ limit: 500 })).length;

  before(async () => {
    svc = await TestService.start({ extraConfig: 'bodyLimitBytes: 65536\n' });
  });
  after(() => svc.close());

  it('a signed GitHub push is decided: tasks in parent order, each CONTEXT_URL serving its HASH', async () => {
    const body = JSON.stringify(githubPush(svc.headSha));
    const started = Date.now();
    const res = await post('/webhooks/github', body, githubHeaders(body, 'delivery-1'));
    assert.equal(res.status, 202);
    const accepted = (await res.json()) as { outcome: string; pushId: string };
    assert.equal(accepted.outcome, 'queued');
    firstPush = accepted.pushId;

    let graph: GraphDoc;
    do {
      graph = (await (await fetch(`${svc.url}/graph?rev=${svc.headSha}`)).json()) as GraphDoc;
      if (graph.state === 'decided') break;
      await new Promise((r) => setTimeout(r, 20));
    } while (Date.now() - started < 30_000);
    // How fast is the push benchmark's business (bench/README.md); here only that it completes.
    assert.equal(graph.state, 'decided', `decided within 30 s (took ${Date.now() - started} ms)`);
    const decisions = Object.fromEntries(Object.entries(graph.images).map(([n, i]) => [n, i.decision]));
    assert.deepEqual(decisions, { base: 'build', python: 'build', 'node-tools': 'build', lint: 'build', standalone: 'build', prebuilt: 'registry' });

    const tasks = [...svc.fake.services.tasks.values()];
    assert.equal(tasks.length, 5);
    const order = tasks.map((t) => (t.definition.payload as { env: { IMAGE_NAME: string } }).env.IMAGE_NAME);
    assert.ok(order.indexOf('base') < order.indexOf('python') && order.indexOf('python') < order.indexOf('lint'));
    for (const task of tasks) {
      const env = (task.definition.payload as { env: Record<string, string> }).env;
      const tarball = await fetch(env.CONTEXT_URL!);
      assert.equal(tarball.status, 200, env.CONTEXT_URL);
      assert.equal(tarball.headers.get('etag'), `"${env.HASH}"`);
      const tar = gunzipSync(Buffer.from(await tarball.arrayBuffer()));
      assert.equal(createHash('sha256').update(tar).digest('hex'), env.HASH, env.IMAGE_NAME);
      assert.equal(graph.images[env.IMAGE_NAME!]!.taskId, task.taskId);
    }
  });

  it('the same delivery again creates no second push and no task', async () => {
    const body = JSON.stringify(githubPush(svc.headSha));
    const before = await pushCount();
    const res = await post('/webhooks/github', body, githubHeaders(body, 'delivery-1'));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { outcome: 'duplicate', pushId: firstPush });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await pushCount(), before);
    assert.equal(svc.fake.services.tasks.size, 5);
  });

  it('bad input gets the right 4xx JSON error and stores nothing', async () => {
    const before = await pushCount();
    const good = JSON.stringify(githubPush('a'.repeat(40)));
    const cases: Array<[string, () => Promise<Response>, number, string]> = [
      ['no signature', () => post('/webhooks/github', good, { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'd-nosig' }), 401, 'unauthorized'],
      ['bad signature', () => post('/webhooks/github', good, { ...githubHeaders(good, 'd-badsig'), 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }), 401, 'unauthorized'],
      ['malformed JSON', () => post('/webhooks/github', '{"ref": ', githubHeaders('{"ref": ', 'd-json')), 400, 'bad-request'],
      [
        'oversized body',
        () => {
          const big = JSON.stringify(githubPush('a'.repeat(40), 'refs/heads/main', { padding: 'x'.repeat(100_000) }));
          return post('/webhooks/github', big, githubHeaders(big, 'd-big'));
        },
        413,
        'payload-too-large',
      ],
      [
        'unknown repository',
        () => {
          const other = JSON.stringify(githubPush('a'.repeat(40), 'refs/heads/main', { repository: { full_name: 'someone/else' } }));
          return post('/webhooks/github', other, githubHeaders(other, 'd-repo'));
        },
        404,
        'unknown-repository',
      ],
      ['wrong content type', () => post('/webhooks/github', good, { ...githubHeaders(good, 'd-type'), 'content-type': 'text/plain' }), 415, 'unsupported-media-type'],
      [
        'a ref with a NUL',
        () => {
          const nul = JSON.stringify(githubPush('a'.repeat(40), 'refs/heads/ma\u0000in'));
          return post('/webhooks/github', nul, githubHeaders(nul, 'd-nul'));
        },
        400,
        'bad-request',
      ],
      [
        'no delivery id',
        () =>
          post('/webhooks/github', good, { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': githubHeaders(good, 'x')['x-hub-signature-256']! }),
        400,
        'bad-request',
      ],
    ];
    for (const [label, send, status, code] of cases) {
      const res = await send();
      assert.equal(res.status, status, label);
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, code, label);
      assert.ok(body.message.length > 0, label);
    }
    assert.equal(await pushCount(), before);
    assert.ok(!svc.log.text.includes('It is a secret to everybody'), 'the webhook secret is never logged');
  });

  it('ping answers 200; a branch deletion and an unconfigured tag are ignored with a reason', async () => {
    const ping = JSON.stringify({ zen: 'Keep it logically awesome.', repository: { full_name: 'acme/acme' } });
    const pong = await post('/webhooks/github', ping, githubHeaders(ping, 'd-ping', 'ping'));
    assert.equal(pong.status, 200);
    const deletion = JSON.stringify(githubPush('0'.repeat(40), 'refs/heads/feature', { deleted: true }));
    const del = await post('/webhooks/github', deletion, githubHeaders(deletion, 'd-del'));
    assert.equal(del.status, 202);
    assert.match(((await del.json()) as { reason: string }).reason, /deleted/);
    const tag = JSON.stringify(githubPush(svc.headSha, 'refs/tags/v1'));
    const tagged = await post('/webhooks/github', tag, githubHeaders(tag, 'd-tag'));
    assert.deepEqual(await tagged.json(), { outcome: 'ignored', reason: 'no level is configured for "refs/tags/v1"' });
    // A sender's value in a stored reason is escaped: PostgreSQL text holds no NUL.
    const pr = JSON.stringify({ action: 'x\u0000y', repository: { full_name: 'acme/acme' }, pull_request: { number: 1, head: { sha: svc.headSha } } });
    const odd = await post('/webhooks/github', pr, githubHeaders(pr, 'd-pr-nul', 'pull_request'));
    assert.equal(odd.status, 202);
    assert.deepEqual(await odd.json(), { outcome: 'ignored', reason: 'pull request action "x\\u0000y"' });
  });
});
