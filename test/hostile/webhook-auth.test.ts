import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { sign } from '@octokit/webhooks-methods';
import request from 'supertest';
import { TestService, WEBHOOK_SECRET } from '../support/app.ts';

interface Example {
  readonly name: string;
  readonly examples: Array<Record<string, unknown>>;
}
/** The community's example deliveries, as GitHub sends them (a dev dependency). */
const EXAMPLES = (createRequire(import.meta.url)('@octokit/webhooks-examples') as Example[]).filter((e) => ['push', 'pull_request', 'create', 'delete', 'ping'].includes(e.name));

/** The payload with its repository made the configured acme/acme, so it reaches intake. */
function asAcme(payload: Record<string, unknown>): Record<string, unknown> {
  const repository = payload.repository as Record<string, unknown> | undefined;
  if (!repository) return payload;
  return { ...payload, repository: { ...repository, full_name: 'acme/acme', clone_url: 'https://github.com/acme/acme.git', html_url: 'https://github.com/acme/acme' } };
}

describe('webhook authentication comes before any reading of the body', () => {
  let svc: TestService;
  let delivery = 0;
  before(async () => {
    svc = await TestService.start({ worker: false });
  });
  after(() => svc.close());

  // Through the listening server: the raw bytes and headers go through Node's HTTP parser as a sender's do.
  const post = (event: string, raw: string, signature: string | undefined) =>
    request(svc.app.server)
      .post('/webhooks/github')
      .set({ 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': `d-${++delivery}`, ...(signature ? { 'x-hub-signature-256': signature } : {}) })
      .send(raw);

  it('every signed example delivery of @octokit/webhooks-examples gets a sensible answer; ping is 200 whatever it names', async () => {
    for (const { name, examples } of EXAMPLES) {
      for (const [i, example] of examples.entries()) {
        for (const payload of [example, asAcme(example)]) {
          const raw = JSON.stringify(payload);
          const res = await post(name, raw, await sign(WEBHOOK_SECRET, raw));
          const label = `${name} #${i} ${(payload.repository as { full_name?: string } | undefined)?.full_name ?? '(no repository)'}`;
          const body = res.body as { outcome?: string; code?: string };
          if (name === 'ping') assert.deepEqual([res.status, body.outcome], [200, 'pong'], label);
          else if (payload === example) assert.deepEqual([res.status, body.code], [404, 'unknown-repository'], label);
          else assert.ok([200, 202].includes(res.status) && body.outcome, `${label}: ${res.status} ${res.text}`);
        }
      }
    }
  });

  it('an unsigned or wrongly signed body is 401 without being parsed, the same whatever repository it names', async () => {
    const answers = new Set<string>();
    const pushesBefore = (await svc.service.store.listPushes({ limit: 1000 })).length;
    for (const raw of ['{"repository": {"full_name": "acme/acme"}}', '{"repository": {"full_name": "secret-project/x"}}', '[[[[[[not json', '{}']) {
      for (const signature of [undefined, 'sha256=00', await sign('another secret', raw)]) {
        const res = await post('push', raw, signature);
        assert.equal(res.status, 401, raw);
        answers.add(res.text);
      }
    }
    assert.equal(answers.size, 1, `one answer for all: ${[...answers].join(' / ')}`);
    assert.equal((await svc.service.store.listPushes({ limit: 1000 })).length, pushesBefore);
  });

  it('a deeply nested unsigned body is refused before parsing: 401, where the same body signed is parsed (400)', async () => {
    const raw = `${'['.repeat(400_000)}${']'.repeat(400_000)}`;
    await post('push', raw, undefined).expect(401);
    const signed = await post('push', raw, await sign(WEBHOOK_SECRET, raw));
    assert.equal(signed.status, 400, 'once signed, the same body is parsed and refused as bad JSON');
  });
});
