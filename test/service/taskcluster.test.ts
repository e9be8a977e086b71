import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ScopeCheck } from '../../src/service/scope-check.ts';
import { createTaskcluster } from '../../src/taskcluster/client.ts';
import { ADMIN_TOKEN, TestService, githubHeaders, githubPush } from '../support/app.ts';
import { TEST_CLIENT_SCOPES } from '../support/fake-taskcluster/server.ts';

interface PushDoc {
  id: string;
  state: string;
  attempts: number;
  lastError: { code: string; message: string } | null;
}
interface HealthDoc {
  status: string;
  checks: Array<{ name: string; status: string; detail: string }>;
}

/** The service against a Taskcluster that keeps the real rules: scopes, outages, retries (issue 13). */
describe('the service and Taskcluster’s rules', () => {
  const services: TestService[] = [];
  const start = async (options: Parameters<typeof TestService.start>[0] = {}) => {
    const svc = await TestService.start(options);
    services.push(svc);
    return svc;
  };
  after(() => Promise.all(services.map((s) => s.close())));

  const push = async (svc: TestService, delivery: string) => {
    const body = JSON.stringify(githubPush(svc.headSha));
    const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, delivery) });
    assert.equal(res.status, 202);
    return ((await res.json()) as { pushId: string }).pushId;
  };
  const getPush = async (svc: TestService, id: string) => ((await (await fetch(`${svc.url}/pushes/${id}`)).json()) as { push: PushDoc }).push;
  const until = async <T>(what: string, probe: () => Promise<T | null>, timeoutMs = 15_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== null) return value;
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const health = async (svc: TestService) => (await (await fetch(`${svc.url}/health`)).json()) as HealthDoc;
  const retry = (svc: TestService, id: string, token: string | null = ADMIN_TOKEN, body = '{}') =>
    fetch(`${svc.url}/pushes/${id}/retry`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });

  it('missing scopes: said at start-up, the push waits (retryable, not failed) naming the scope on /health and /pushes, and is decided once granted', async () => {
    const lacking = 'queue:route:index.acme.*';
    const svc = await start({ clientScopes: TEST_CLIENT_SCOPES.filter((s) => s !== lacking), repoConfig: '    trustDomain: acme\n' });
    const atStart = await until('the scope check', async () => {
      const check = (await health(svc)).checks.find((c) => c.name === 'taskcluster-scopes')!;
      return svc.service.scopes.report.status === 'pending' ? null : check;
    });
    assert.equal(atStart.status, 'degraded');
    assert.match(atStart.detail, /lacks queue:route:index\.acme\.cache\.level-1\.docker-images\.v2\.\*/);
    assert.match(svc.log.text, /Taskcluster scopes missing/);

    const id = await push(svc, 'scopes-1');
    const waiting = await until('a scope refusal', async () => {
      const p = await getPush(svc, id);
      return p.lastError?.code === 'insufficient-scopes' ? p : null;
    });
    assert.equal(waiting.state, 'queued', 'retryable with backoff, not failed');
    assert.match(waiting.lastError!.message, /queue:route:index\.acme\.cache\.level-3\.docker-images\.v2\./);
    const listed = ((await (await fetch(`${svc.url}/pushes`)).json()) as { pushes: PushDoc[] }).pushes.find((p) => p.id === id)!;
    assert.equal(listed.lastError!.code, 'insufficient-scopes');
    const check = (await health(svc)).checks.find((c) => c.name === 'taskcluster-scopes')!;
    assert.match(check.detail, /configuration problem: .*queue:route:index\.acme/);

    svc.fake.clients.delete('service');
    assert.equal((await retry(svc, id)).status, 202);
    await svc.waitForPush(id);
    const decided = await getPush(svc, id);
    assert.equal(decided.state, 'decided');
    assert.equal(svc.fake.services.tasks.size, 5);
    assert.equal((await health(svc)).checks.find((c) => c.name === 'taskcluster-scopes')!.detail.includes('configuration problem'), false);
  });

  it('without credentials the anonymous role is checked, and what it lacks is said', async () => {
    const svc = services[0]!;
    const anonymous = createTaskcluster({ rootUrl: svc.fake.rootUrl, retries: 0 });
    const report = await new ScopeCheck(anonymous, svc.service.config, svc.log.logger).run();
    assert.equal(report.status, 'missing');
    assert.match(report.detail, /^anonymous requests \(no TASKCLUSTER_CLIENT_ID\/ACCESS_TOKEN\) lack /);
    for (const scope of ['queue:status:*', 'index:find-task:acme.cache.level-3.docker-images.v2.*', 'queue:create-task:low:acme-3/images']) {
      assert.ok(report.missing.includes(scope), scope);
    }
  });

  it('a Queue outage past the attempt cap fails the push with its reason; an operator retries it and the stored plan is submitted', async () => {
    const svc = await start({ extraConfig: 'maxAttempts: 2\n' });
    svc.fake.failNext(10_000, { status: 502, names: ['createTask'] });
    const id = await push(svc, 'outage-1');
    await svc.waitForPush(id, 20_000);
    const failed = await getPush(svc, id);
    assert.deepEqual([failed.state, failed.attempts, failed.lastError!.code], ['failed', 2, 'taskcluster-unavailable']);
    assert.match(failed.lastError!.message, /^gave up after 2 attempts: /);
    assert.equal((await svc.service.store.getDecision(id))!.state, 'planned', 'the plan is kept');

    // The route: admin token, JSON schema, known push, a state that can be retried.
    assert.equal((await retry(svc, id, null)).status, 401);
    assert.equal((await retry(svc, id, 'wrong')).status, 401);
    const bad = await retry(svc, id, ADMIN_TOKEN, '{"force": true}');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'bad-request');
    assert.equal((await retry(svc, 'no-such-push')).status, 404);

    svc.fake.clearFaults();
    const res = await retry(svc, id);
    assert.equal(res.status, 202);
    assert.deepEqual([((await res.json()) as { push: PushDoc }).push.state], ['queued']);
    await svc.waitForPush(id);
    assert.equal((await getPush(svc, id)).state, 'decided');
    assert.equal(svc.fake.services.tasks.size, 5, 'each task created once');
    const conflict = await retry(svc, id);
    assert.equal(conflict.status, 409);
    assert.equal(((await conflict.json()) as { code: string }).code, 'conflict');
  });

  it('a Queue down longer than the client retries: the push is requeued with its plan kept, and its next attempt submits that plan', async () => {
    const svc = await start();
    svc.fake.failNext(10_000, { status: 502, names: ['createTask'] });
    const id = await push(svc, 'resume-1');
    const requeued = await until('a requeued push', async () => {
      const p = await getPush(svc, id);
      return p.state === 'queued' && p.lastError?.code === 'taskcluster-unavailable' ? p : null;
    });
    assert.equal(requeued.attempts, 1);
    const plan = (await svc.service.store.getDecision(id))!;
    assert.equal(plan.state, 'planned');
    svc.fake.clearFaults();
    await svc.waitForPush(id);
    assert.equal((await getPush(svc, id)).state, 'decided');
    const taskIds = plan.images
      .filter((i) => i.decision === 'build')
      .map((i) => i.taskId)
      .sort();
    assert.deepEqual([...svc.fake.services.tasks.keys()].sort(), taskIds, 'the stored plan’s tasks, each once');
  });

  it('keep-alive: Fastify’s setting (72 s by default), configurable', async () => {
    const svc = services[0]!;
    const res = await fetch(`${svc.url}/health`);
    await res.arrayBuffer();
    assert.equal(res.headers.get('keep-alive'), 'timeout=72');
    const other = await start({ extraConfig: 'keepAliveTimeoutSeconds: 120\n', worker: false, dryRun: true });
    const res2 = await fetch(`${other.url}/health`);
    await res2.arrayBuffer();
    assert.equal(res2.headers.get('keep-alive'), 'timeout=120');
    assert.equal(other.app.server.keepAliveTimeout, 120_000);
  });
});
