import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { access, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { GENERIC_TOKEN, TestService } from '../support/app.ts';
import { commitAll } from '../support/vectors.ts';

/** A reader that takes a while over every chunk, as a client on a slow link does. */
function slowReader(parts: Buffer[]): Writable {
  return new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, done) {
      parts.push(chunk);
      setTimeout(done, 1);
    },
  });
}

describe('context tarballs made on demand', () => {
  let svc: TestService;
  before(async () => {
    svc = await TestService.start();
  });
  after(() => svc.close());

  it('reach a slow reader whole, every time, and hash to their context hash', async () => {
    await writeFile(join(svc.repoDir, 'taskcluster/docker/base/blob.bin'), randomBytes(2 * 1024 * 1024));
    const rev = commitAll(svc.repoDir, 'a larger context');
    const res = await fetch(`${svc.url}/webhooks/generic`, {
      method: 'POST',
      body: JSON.stringify({ repository: 'acme', ref: 'refs/heads/main', rev }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
    });
    await svc.waitForPush(((await res.json()) as { pushId: string }).pushId);
    const { images } = (await (await fetch(`${svc.url}/graph?rev=${rev}`)).json()) as { images: Record<string, { contextHash: string }> };
    const hash = images.base!.contextHash;
    const cached = join(svc.service.contexts.dir, `${hash}.tar.gz`);
    for (let i = 0; i < 3; i++) {
      const opened = await svc.service.contexts.open(hash);
      assert.equal(opened?.cached, false, 'made on demand');
      const parts: Buffer[] = [];
      await pipeline(opened!.stream, slowReader(parts));
      assert.equal(
        createHash('sha256')
          .update(gunzipSync(Buffer.concat(parts)))
          .digest('hex'),
        hash,
      );
      // Cached once whole: removed, so that the next round is made on demand again.
      for (
        let wait = 0;
        await access(cached).then(
          () => false,
          () => true,
        );
        wait++
      ) {
        assert.ok(wait < 100, 'the tarball was cached');
        await new Promise((r) => setTimeout(r, 50));
      }
      await rm(cached);
    }
  });
});
