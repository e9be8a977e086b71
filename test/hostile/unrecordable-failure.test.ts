import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { GENERIC_TOKEN, TestService } from '../support/app.ts';

interface PushView {
  readonly id: string;
  readonly state: string;
  readonly attempts: number;
  readonly lastError: { code: string; message: string } | null;
}

/** A git pkt-line. */
const pkt = (data: Buffer | string) => {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return Buffer.concat([Buffer.from((bytes.length + 4).toString(16).padStart(4, '0')), bytes]);
};
const OID = '1'.repeat(40);

/**
 * A smart-HTTP git server (protocol v0) that advertises main, then ends every fetch with a
 * fatal error on the side band whose text holds a NUL byte: git prints it as it came
 * (`remote: fatal<NUL>boom`), and so the fetch's error holds the NUL.
 */
async function nulErrorServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url!.includes('/info/refs')) {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement', 'cache-control': 'no-cache' });
      res.end(
        Buffer.concat([
          pkt('# service=git-upload-pack\n'),
          Buffer.from('0000'),
          pkt(`${OID} HEAD\0side-band-64k ofs-delta\n`),
          pkt(`${OID} refs/heads/main\n`),
          Buffer.from('0000'),
        ]),
      );
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-result' });
      res.end(Buffer.concat([pkt('NAK\n'), pkt(Buffer.concat([Buffer.from([3]), Buffer.from('fatal\0boom\n')])), Buffer.from('0000')]));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/acme` };
}

const postPush = async (svc: TestService, rev: string): Promise<string> => {
  const res = await fetch(`${svc.url}/webhooks/generic`, {
    method: 'POST',
    body: JSON.stringify({ repository: 'acme', ref: 'refs/heads/main', rev }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
  });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { pushId: string }).pushId;
};
const pushView = async (svc: TestService, id: string) => ((await (await fetch(`${svc.url}/pushes/${id}`)).json()) as { push: PushView }).push;

/** Issue 25, item 2: a failure whose text PostgreSQL could not hold left its push `deciding` for ever. */
describe('a failure whose text holds a NUL byte', () => {
  let svc: TestService;
  let git: Server;
  after(async () => {
    await svc?.close();
    git?.close();
  });

  it('fails the push with a coded error showing the NUL, instead of leaving it deciding', async () => {
    const upstream = await nulErrorServer();
    git = upstream.server;
    svc = await TestService.start({
      repoUrl: upstream.url,
      // Two tries, and the breaker never opens (an open breaker would keep the push waiting).
      extraConfig: 'maxAttempts: 2\nupstreamBreaker: {failures: 100, probeIntervalSeconds: 600}\n',
    });
    const id = await postPush(svc, 'a'.repeat(40));
    const deadline = Date.now() + 60_000;
    let push = await pushView(svc, id);
    while (push.state !== 'failed') {
      assert.ok(Date.now() < deadline, `still ${push.state} after ${push.attempts} attempts, lastError ${JSON.stringify(push.lastError)}`);
      await new Promise((r) => setTimeout(r, 100));
      push = await pushView(svc, id);
    }
    assert.equal(push.lastError?.code, 'fetch-failed', JSON.stringify(push.lastError));
    assert.match(push.lastError.message, /^gave up after 2 attempts: /);
    assert.match(push.lastError.message, /fatal\u2400boom/, 'the NUL shown as ␀');
    assert.equal(push.attempts, 2);
  });
});

/** Issue 25, item 2: /health names the pushes that are not making progress. */
describe('/health and pushes that do not progress', () => {
  let svc: TestService;
  after(() => svc?.close());

  it('is degraded naming a push deciding longer than the bound, and one past its attempts', async () => {
    // No worker of its own: a "hung" worker's claims are taken through the store.
    svc = await TestService.start({ worker: false, extraConfig: 'maxAttempts: 1\n' });
    const health = async () => (await (await fetch(`${svc.url}/health`)).json()) as { status: string; checks: Array<{ name: string; status: string; detail: string }> };
    const backlog = async () => (await health()).checks.find((c) => c.name === 'backlog')!;
    const hung = await postPush(svc, svc.headSha);
    assert.equal((await backlog()).status, 'ok');

    // Due an hour ago, and claimed then by a worker that still holds it (its lease renewed) but never finishes.
    await svc.service.store.retryPush(hung, new Date(Date.now() - 3600_000));
    const claimed = await svc.service.store.claimPush('hung-worker', new Date(Date.now() - 3600_000), 2 * 3600_000);
    assert.equal(claimed?.id, hung);
    let check = await backlog();
    assert.equal(check.status, 'degraded', check.detail);
    assert.match(check.detail, new RegExp(`not progressing: ${hung} \\(acme\\) deciding since `));
    assert.equal((await health()).status, 'degraded');
    // Its worker dies; claimed again just now (its first attempt was the hung one): past maxAttempts.
    await svc.service.store.releaseClaims('hung-worker');
    assert.equal((await svc.service.store.claimPush('next-worker', new Date(), 60_000))?.attempts, 2);
    check = await backlog();
    assert.equal(check.status, 'degraded', check.detail);
    assert.match(check.detail, new RegExp(`${hung} \\(acme\\) deciding at attempt 2 of 1`));
  });
});
