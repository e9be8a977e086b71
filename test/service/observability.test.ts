import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/app.ts';
import { GENERIC_TOKEN, TestService, githubPush, githubSignature } from '../support/app.ts';

interface LogLine {
  level: number;
  msg: string;
  res?: { statusCode: number };
}

describe('what operators watch: metrics and request logs', () => {
  let svc: TestService;
  let pushId: string;
  const api = (path: string, init?: RequestInit) => fetch(`${svc.url}${path}`, init);
  const metrics = async () => (await api('/metrics')).text();

  before(async () => {
    svc = await TestService.start({ dryRun: true });
    const res = await api('/webhooks/generic', {
      method: 'POST',
      body: JSON.stringify({ repository: 'acme', ref: 'refs/heads/main', rev: svc.headSha }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
    });
    pushId = ((await res.json()) as { pushId: string }).pushId;
    await svc.waitForPush(pushId);
  });
  after(() => svc.close());

  it('webhooks refused with 401 are counted, outcome="unauthorized", for every source', async () => {
    const body = JSON.stringify(githubPush(svc.headSha));
    const github = await api('/webhooks/github', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'd-1', 'x-hub-signature-256': githubSignature(body, 'wrong secret') },
    });
    assert.equal(github.status, 401);
    for (let i = 0; i < 2; i++) {
      const gitlab = await api('/webhooks/gitlab', {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'wrong' },
      });
      assert.equal(gitlab.status, 401);
    }
    const generic = await api('/webhooks/generic', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' } });
    assert.equal(generic.status, 401);

    const text = await metrics();
    assert.match(text, /^image_decider_webhooks_total\{source="github",outcome="unauthorized"\} 1$/m);
    assert.match(text, /^image_decider_webhooks_total\{source="gitlab",outcome="unauthorized"\} 2$/m);
    assert.match(text, /^image_decider_webhooks_total\{source="generic",outcome="unauthorized"\} 1$/m);
    assert.match(text, /^image_decider_webhooks_total\{source="generic",outcome="queued"\} 1$/m, 'accepted ones as before');
  });

  it('bytes hashed and blob bytes read are counters (_total), fed by the hashing', async () => {
    const text = await metrics();
    for (const name of ['image_decider_bytes_hashed_total', 'image_decider_blob_bytes_read_total']) {
      assert.match(text, new RegExp(`^# TYPE ${name} counter$`, 'm'), name);
      const value = Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      assert.ok(value > 0, `${name} is ${value} after a decided push`);
      assert.equal(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await metrics())?.[1]), value, `${name} reads the same value on a second scrape`);
    }
    assert.doesNotMatch(text, /^# TYPE image_decider_(bytes_hashed|blob_bytes_read) gauge$/m);
  });

  describe('at log level info', () => {
    let app: FastifyInstance;
    let url: string;
    const lines: LogLine[] = [];
    before(async () => {
      // The same service behind an app whose logger is at info, as `npm start` runs it.
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
      app = await buildApp(svc.service, { logger });
      await app.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    });
    after(() => app.close());

    /** Asks for `path`, and waits for its "request completed" line (logged once the answer is sent). */
    const ask = async (path: string, status: number): Promise<void> => {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, status, path);
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 50));
    };

    it('logs no request lines for the dashboard’s polling, /health or /metrics, and still logs the others', async () => {
      for (const path of ['/health', '/metrics', '/pushes?limit=50', `/pushes/${pushId}`, '/activity?hours=24']) {
        const before = lines.length;
        await ask(path, 200);
        const logged = lines.slice(before).filter((l) => l.msg === 'incoming request' || l.msg === 'request completed');
        assert.deepEqual(logged, [], `${path} logged at info`);
      }
      for (const [path, status] of [
        ['/graph?rev=main', 200],
        ['/dashboard', 200],
        ['/pushes/no-such-push', 404],
      ] as const) {
        const before = lines.length;
        await ask(path, status);
        const logged = lines.slice(before).filter((l) => l.msg === 'request completed');
        assert.equal(logged.length, 1, `${path}: one request completed line`);
        assert.equal(logged[0]!.res?.statusCode, status, path);
      }
    });
  });

  it('at debug the polled routes’ request lines are there', async () => {
    const before = svc.log.lines.length;
    await (await api('/health')).arrayBuffer();
    await new Promise((r) => setTimeout(r, 50));
    const logged = svc.log.lines.slice(before).map((l) => JSON.parse(l) as LogLine);
    assert.ok(
      logged.some((l) => l.msg === 'request completed' && l.level === 20),
      'request completed at debug',
    );
  });
});
