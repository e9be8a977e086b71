import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { ADMIN_TOKEN, TestService } from '../support/app.ts';

const UNKNOWN_SHA = '0123456789abcdef0123456789abcdef01234567';

describe('rate limits of the reads that can fetch from upstream or build a preview', () => {
  let svc: TestService;
  // Another client: a connection from another loopback address, which the server sees as its IP.
  const elsewhere = new Agent({ localAddress: '127.0.0.2' });
  before(async () => {
    svc = await TestService.start({ worker: false, dryRun: true, extraConfig: 'rateLimit: {readsPerMinute: 4, rebuildsPerMinute: 2}\n' });
  });
  after(async () => {
    elsewhere.destroy();
    await svc.close();
  });

  it('GET /graph and /images/* share one allowance per client address; over it: 429 rate-limited with Retry-After, before any lookup', async () => {
    const server = request(svc.app.server);
    await server.get('/graph?rev=main').expect(200).expect('x-ratelimit-limit', '4').expect('x-ratelimit-remaining', '3');
    await server.get('/images/base?rev=main').expect(200).expect('x-ratelimit-remaining', '2');
    await server.get('/images/base/artifact?rev=main').expect(404); // a dry run builds nothing; the read counts all the same
    await server.get('/graph?rev=main').expect(200).expect('x-ratelimit-remaining', '0');

    for (const path of ['/graph?rev=main', '/images/base?rev=main', '/images/base/artifact?rev=main', `/graph?rev=${UNKNOWN_SHA}`]) {
      const limited = await server
        .get(path)
        .expect(429)
        .expect('content-type', /^application\/json/);
      assert.deepEqual(Object.keys(limited.body).sort(), ['code', 'message'], path);
      assert.equal(limited.body.code, 'rate-limited', path);
      assert.match(limited.body.message, /^more than 4 requests a minute: retry in \d+ (second|minute)s?$/, path);
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 60, `${path}: Retry-After ${limited.headers['retry-after']}`);
    }

    const other = await request(svc.app.server).get('/graph?rev=main').agent(elsewhere).expect(200);
    assert.equal(other.headers['x-ratelimit-remaining'], '3', 'another address has its own allowance');
    await request(svc.app.server).get(`/graph?rev=${UNKNOWN_SHA}`).agent(elsewhere).expect(404);
  });

  it('leaves the other routes alone, and rebuilds keep their own allowance per admin token', async () => {
    const server = request(svc.app.server);
    for (let i = 0; i < 6; i++) {
      await server.get('/health').expect(200);
      await server.get('/pushes').expect(200);
      await server.get('/dashboard').expect(200);
    }
    const rebuild = () => server.post('/images/nope/rebuild').set('authorization', `Bearer ${ADMIN_TOKEN}`);
    await rebuild().expect(404);
    await rebuild().expect(404);
    const limited = await rebuild().expect(429).expect('retry-after', /^\d+$/);
    assert.equal(limited.body.code, 'rate-limited');
  });
});
