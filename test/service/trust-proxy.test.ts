import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { TestService } from '../support/app.ts';
import { tempDir } from '../support/temp.ts';

/** A read through the load balancer (this test, on 127.0.0.1) on behalf of `client`. */
const read = (svc: TestService, client: string) => fetch(`${svc.url}/graph?rev=main`, { headers: { 'x-forwarded-for': client } });

describe('clients behind a load balancer (trustProxy)', () => {
  let trusting: TestService;
  let plain: TestService;
  before(async () => {
    const limits = 'rateLimit: {readsPerMinute: 2}\n';
    trusting = await TestService.start({ worker: false, dryRun: true, extraConfig: `${limits}trustProxy: [127.0.0.1]\n` });
    plain = await TestService.start({ worker: false, dryRun: true, extraConfig: limits });
  });
  after(async () => {
    await trusting.close();
    await plain.close();
  });

  it('with trustProxy naming the proxy, each forwarded client has its own allowance, and logs name the client', async () => {
    assert.equal((await read(trusting, '203.0.113.7')).status, 200);
    assert.equal((await read(trusting, '203.0.113.7')).status, 200);
    assert.equal((await read(trusting, '203.0.113.7')).status, 429, 'the first client used its allowance');
    const other = await read(trusting, '198.51.100.9');
    assert.equal(other.status, 200, 'another client behind the same proxy has its own');
    assert.equal(other.headers.get('x-ratelimit-remaining'), '1');
    assert.match(trusting.log.text, /"remoteAddress":"198\.51\.100\.9"/);
  });

  it('without it (the default), the proxy is the client: everyone behind it shares one allowance, and X-Forwarded-For is not believed', async () => {
    assert.equal((await read(plain, '203.0.113.7')).status, 200);
    assert.equal((await read(plain, '203.0.113.7')).status, 200);
    assert.equal((await read(plain, '198.51.100.9')).status, 429);
    assert.doesNotMatch(plain.log.text, /198\.51\.100\.9/);
  });

  it('a trustProxy entry that is no address or range is a start-up error naming it', async () => {
    const dir = await tempDir();
    const file = join(dir, 'config.yml');
    await writeFile(file, `trustProxy: [10.0.0.0/8, "10.0.0.300", loopback]\nrepositories:\n  - name: a\n    url: ${dir}\n`);
    await assert.rejects(loadConfig({ file, env: {} }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'bad-config');
      assert.match(err.message, /^trustProxy: "10\.0\.0\.300" is not an IP address/);
      return true;
    });
    await writeFile(file, `trustProxy: "10.0.0.0/8, loopback"\nrepositories:\n  - name: a\n    url: ${dir}\n`);
    assert.equal((await loadConfig({ file, env: {} })).trustProxy, '10.0.0.0/8, loopback');
  });
});
