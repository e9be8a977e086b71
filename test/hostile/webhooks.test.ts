import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODES } from '../../src/errors.ts';
import { GENERIC_TOKEN, TestService, githubHeaders, githubSignature } from '../support/app.ts';

const CODES = new Set<string>(ERROR_CODES);

/** Arbitrary JSON-ish payloads, with the fields webhooks read given odd values of every type. */
const odd = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string()),
  fc.object(),
  fc.string({ unit: 'binary' }),
  fc.string({ minLength: 40, maxLength: 40 }),
);
const payload = fc.record(
  {
    ref: odd,
    after: odd,
    before: odd,
    deleted: odd,
    repository: fc.oneof(odd, fc.record({ full_name: odd, clone_url: odd }), fc.constant({ full_name: 'acme/acme' })),
    project: fc.oneof(odd, fc.record({ path_with_namespace: odd }), fc.constant({ path_with_namespace: 'acme/acme' })),
    pull_request: fc.oneof(odd, fc.record({ head: fc.record({ sha: odd }) })),
    action: odd,
    rev: odd,
    level: odd,
    pullRequest: odd,
  },
  { requiredKeys: [] },
);

describe('hostile webhook bodies', () => {
  let svc: TestService;
  before(async () => {
    svc = await TestService.start({ worker: false, extraConfig: 'bodyLimitBytes: 1048576\n' });
  });
  after(() => svc.close());

  const expectCoded = async (res: { statusCode: number; json: () => unknown }, label: string) => {
    assert.ok(res.statusCode < 500, `${label}: ${res.statusCode}`);
    if (res.statusCode >= 400) {
      const body = res.json() as { code: string; message: string };
      assert.ok(CODES.has(body.code), `${label}: ${JSON.stringify(body)}`);
      assert.equal(typeof body.message, 'string');
    }
  };

  it('signed GitHub payloads of any shape get a coded answer, never a 5xx', async () => {
    const events = fc.constantFrom('push', 'pull_request', 'ping', 'issues', '', 'x'.repeat(300));
    await fc.assert(
      fc.asyncProperty(payload, events, fc.uuid(), async (body, event, delivery) => {
        const raw = JSON.stringify(body);
        const res = await svc.app.inject({ method: 'POST', url: '/webhooks/github', payload: raw, headers: { ...githubHeaders(raw, delivery), 'x-github-event': event } });
        await expectCoded(res, raw);
      }),
      { numRuns: 150 },
    );
  });

  it('raw bytes, NULs, deep nesting and odd headers are refused cleanly', async () => {
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
      fc.string({ unit: 'binary', maxLength: 500 }).map((s) => Buffer.from(s)),
      fc.integer({ min: 1, max: 5000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)),
      fc.constant(Buffer.from('{"ref":"refs/heads/main\u0000","after":"\u0000"}')),
    );
    await fc.assert(
      fc.asyncProperty(bodies, fc.constantFrom('github', 'gitlab', 'generic'), async (raw, hook) => {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': 'd',
          'x-hub-signature-256': githubSignature(raw),
          'x-gitlab-event': 'Push Hook',
          'x-gitlab-token': 'It is a secret to everybody',
          authorization: `Bearer ${GENERIC_TOKEN}`,
        };
        const res = await svc.app.inject({ method: 'POST', url: `/webhooks/${hook}`, payload: raw, headers });
        await expectCoded(res, `${hook}: ${raw.subarray(0, 80).toString('hex')}`);
        assert.ok(res.statusCode >= 400, 'nothing here is a valid push');
      }),
      { numRuns: 150 },
    );
    assert.equal((await svc.service.store.listPushes({ limit: 10 })).length, 0, 'nothing was queued');
  });

  it('a 50 MB body is refused with 413 before it is read whole', async () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 0x20);
    const before = process.memoryUsage().rss;
    const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body: big, headers: githubHeaders('{}', 'huge') });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { code: string }).code, 'payload-too-large');
    assert.ok(process.memoryUsage().rss - before < 150 * 1024 * 1024);
  });
});

describe('a client sending its body very slowly', () => {
  let svc: TestService;
  before(async () => {
    svc = await TestService.start({ worker: false, extraConfig: 'requestTimeoutSeconds: 1\n' });
  });
  after(() => svc.close());

  it('is answered 408 and disconnected once the request timeout passes', async () => {
    const { port } = new URL(svc.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: slow\r\n\r\n',
    );
    const started = Date.now();
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    const trickle = setInterval(() => socket.writable && socket.write('{'), 100);
    await once(socket, 'close');
    clearInterval(trickle);
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.deepEqual(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).code, 'request-timeout');
    assert.ok(Date.now() - started < 5000, `closed after ${Date.now() - started} ms`);
  });

  it("what Node's HTTP parser refuses (a NUL in a header, broken framing) is answered {code, message} too", async () => {
    const { port } = new URL(svc.url);
    const raw = async (request: string) => {
      const socket = connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      let answer = '';
      socket.on('data', (c: Buffer) => (answer += c.toString()));
      socket.write(request);
      await once(socket, 'close');
      return { status: answer.slice(0, 12), body: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown> };
    };
    for (const request of [
      'POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: pu\0sh\r\nContent-Length: 2\r\n\r\n{}',
      'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
      'NOT HTTP AT ALL\r\n\r\n',
    ]) {
      const { status, body } = await raw(request);
      assert.equal(status, 'HTTP/1.1 400', JSON.stringify(request));
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message']);
      assert.equal(body.code, 'bad-request');
    }
  });
});
