import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ImageChanges } from '../../src/domain/index.ts';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';
import { commitAll } from '../support/vectors.ts';
import { CHROMIUM, openDashboard } from '../support/browser.ts';

/** A file name from a repository that would run script if inserted as markup. */
const HOSTILE = '<img src=x onerror=alert(1)>.txt';

describe('the dashboard shows what changed in the selected image, in headless Chromium', () => {
  let svc: TestService;
  let browser: Browser;
  let page: Page;
  let pushId = '';
  const problems: string[] = [];
  const push = async (delivery: string) => {
    const sha = commitAll(svc.repoDir, delivery);
    const body = JSON.stringify(githubPush(sha));
    const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, delivery) });
    ({ pushId } = (await res.json()) as { pushId: string });
    await svc.waitForPush(pushId, 30_000);
  };
  const changesOf = async (name: string) => {
    const { images } = (await (await fetch(`${svc.url}/pushes/${pushId}`)).json()) as { images: Record<string, { changes?: ImageChanges }> };
    return images[name]!.changes!;
  };
  const select = async (name: string) => {
    await page.locator(`svg.graph a.node-link[data-name="${name}"]`).click();
    await page.locator('#changes-name', { hasText: name }).waitFor();
  };

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    svc = await TestService.start();
    await push('changes-1');
    for (const task of svc.fake.services.tasks.values()) if (task.state === 'pending') svc.fake.services.complete(task.taskId);
    await writeFile(join(svc.repoDir, 'scripts/setup.sh'), '#!/bin/sh\necho v2\n');
    await writeFile(join(svc.repoDir, 'taskcluster/docker/base/files', HOSTILE), 'hello\n');
    await push('changes-2');
    ({ browser, page } = await openDashboard(svc.url, problems));
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  it('nothing is shown before an image is chosen', async () => {
    assert.equal(await page.locator('#changes-section').isHidden(), true);
  });

  it('lists the files that changed in base, with the %include they came by, a hostile name as text', async () => {
    await select('base');
    const api = await changesOf('base');
    assert.equal(await page.locator('#changes-summary').innerText(), api.summary);
    assert.equal(await page.locator('#changes-kind').innerText(), 'changed');
    const rows = await page.locator('#changes tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-change'), tr.querySelector('code.path')?.textContent ?? null]));
    assert.deepEqual(rows, [
      ['added', `files/${HOSTILE}`],
      ['changed', 'topsrcdir/scripts/setup.sh'],
    ]);
    assert.equal((await page.locator('#changes tr[data-change="changed"] .include').innerText()).trim(), '%include scripts/setup.sh');
    assert.match(await page.locator('#changes tr[data-change="changed"]').innerText(), /25 bytes, mode 755\t\d+ bytes, mode 755/);
    assert.equal(await page.locator('img').count(), 0);
    assert.match(await page.locator('#changes-since').innerText(), /^since [0-9a-f]{12} \(build\)$/);
  });

  it('shows a child’s new parent digest, and hides the section for an image with nothing to say', async () => {
    await select('python');
    const api = await changesOf('python');
    assert.equal(await page.locator('#changes-summary').innerText(), api.summary);
    const parent = await page.locator('#changes tr[data-change="input"]').innerText();
    assert.ok(parent.startsWith('input\tparent base\t'), parent);
    assert.ok(parent.includes(api.parent!.before!.slice(0, 12)) && parent.includes(api.parent!.after!.slice(0, 12)), parent);
    await page.locator('svg.graph a.node-link[data-name="standalone"]').click();
    await page.locator('#history-name', { hasText: 'standalone' }).waitFor();
    assert.equal(await page.locator('#changes-section').isHidden(), true, 'standalone was reused: no changes');
    await page.locator('svg.graph a.node-link[data-name="base"]').click();
    await page.locator('#changes-name', { hasText: 'base' }).waitFor();
    await page.evaluate('window.scrollTo(0, 0)');
    const clip = (await page.locator('#changes-section').boundingBox())!;
    await page.screenshot({ path: '/tmp/dashboard-changes.png', fullPage: true, clip });
    assert.deepEqual(problems, []);
  });
});
