import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GENERIC_TOKEN, TestService } from '../support/app.ts';
import { commitAll } from '../support/vectors.ts';

interface ImageDoc {
  kind?: string;
  contextHash: string | null;
  contextUrl: string | null;
  contextUrlNote?: string;
}
interface GraphDoc {
  state: string;
  images: Record<string, ImageDoc>;
}

describe('context URLs and their caching', () => {
  let svc: TestService;
  const api = (path: string, init?: RequestInit) => fetch(`${svc.url}${path}`, init);
  const graph = async (rev: string) => (await (await api(`/graph?rev=${rev}`)).json()) as GraphDoc;

  before(async () => {
    // Reads fetch a revision the mirror lacks at once: the test previews a commit made after a push.
    svc = await TestService.start({ dryRun: true, extraConfig: 'readFetchIntervalSeconds: 0\n' });
  });
  after(() => svc.close());

  it('an unknown or misnamed context is a 404 no cache keeps, with no ETag', async () => {
    for (const file of [`${'0'.repeat(64)}.tar.gz`, 'nope.tar.gz']) {
      for (const method of ['GET', 'HEAD']) {
        const res = await api(`/contexts/${file}`, { method });
        assert.equal(res.status, 404, `${method} ${file}`);
        assert.equal(res.headers.get('cache-control'), 'no-store', `${method} ${file}`);
        assert.equal(res.headers.get('etag'), null, `${method} ${file}`);
      }
    }
  });

  it('a preview withholds the URL of a context no push recorded, saying why; once recorded it is served immutable', async () => {
    const preview = await graph('main');
    assert.equal(preview.state, 'preview');
    const base = preview.images.base!;
    assert.equal(base.contextUrl, null);
    assert.match(base.contextUrlNote ?? '', /^not served yet: .*preview/);
    assert.equal((await api(`/contexts/${base.contextHash}.tar.gz`)).status, 404, 'indeed not served');
    assert.equal(preview.images.prebuilt!.contextUrl, null);
    assert.equal(preview.images.prebuilt!.contextUrlNote, undefined, 'a registry image has no context to serve');
    const one = (await (await api('/images/base?rev=main')).json()) as ImageDoc;
    assert.equal(one.contextUrl, null);
    assert.match(one.contextUrlNote ?? '', /^not served yet/);

    const res = await api('/webhooks/generic', {
      method: 'POST',
      body: JSON.stringify({ repository: 'acme', ref: 'refs/heads/main', rev: svc.headSha }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
    });
    await svc.waitForPush(((await res.json()) as { pushId: string }).pushId);
    const decided = await graph(svc.headSha);
    assert.equal(decided.state, 'decided');
    const url = decided.images.base!.contextUrl!;
    assert.equal(url, `${svc.url}/contexts/${base.contextHash}.tar.gz`);
    assert.equal(decided.images.base!.contextUrlNote, undefined);
    const served = await fetch(url);
    assert.equal(served.status, 200);
    await served.arrayBuffer();
    assert.equal(served.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(served.headers.get('etag'), `"${base.contextHash}"`);
    const again = await fetch(url, { headers: { 'if-none-match': `"${base.contextHash}"` } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('cache-control'), 'public, max-age=31536000, immutable');

    // A later revision's preview: the contexts a push recorded are served, the changed one is not yet.
    await writeFile(join(svc.repoDir, 'taskcluster/docker/standalone/new-file.txt'), 'changed\n');
    const next = commitAll(svc.repoDir, 'change standalone');
    const later = await graph(next);
    assert.equal(later.state, 'preview');
    assert.equal(later.images.base!.contextUrl, url, 'recorded by the earlier push');
    assert.equal(later.images.standalone!.contextUrl, null);
    assert.match(later.images.standalone!.contextUrlNote ?? '', /^not served yet/);
  });
});
