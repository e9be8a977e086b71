import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';
import { TEST_CLIENT_SCOPES } from '../support/fake-taskcluster/server.ts';
import { commitAll } from '../support/vectors.ts';
import { CHROMIUM, launchChromium, watchedPage } from '../support/browser.ts';

const ARTIFACTS = resolve(import.meta.dirname, '../artifacts');

describe('the dashboard in headless Chromium', () => {
  let svc: TestService;
  let browser: Browser;
  const push = async (sha: string, delivery: string) => {
    const body = JSON.stringify(githubPush(sha));
    const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, delivery) });
    const { pushId } = (await res.json()) as { pushId: string };
    await svc.waitForPush(pushId);
  };

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    svc = await TestService.start();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  it('shows the pushes, the images with their decisions and the health, with no console error, and updates itself', async () => {
    await push(svc.headSha, 'dash-1');
    for (const task of svc.fake.services.tasks.values()) if (task.state === 'pending') svc.fake.services.complete(task.taskId);
    await writeFile(join(svc.repoDir, 'scripts/setup.sh'), '#!/bin/sh\necho v2\n');
    const second = commitAll(svc.repoDir, 'base changes');
    await push(second, 'dash-2');

    const problems: string[] = [];
    const page = await watchedPage(browser, problems);
    await page.goto(`${svc.url}/dashboard`);
    await page.locator('#images strong').nth(5).waitFor();

    const pushes = await page.locator('#pushes').innerText();
    assert.ok(pushes.includes(svc.headSha.slice(0, 12)) && pushes.includes(second.slice(0, 12)), pushes);
    const images = await page.locator('#images').innerText();
    for (const name of ['base', 'python', 'node-tools', 'lint', 'standalone', 'prebuilt']) assert.match(images, new RegExp(`^${name}\\t`, 'm'));
    assert.match(images, /^standalone\tindexed/m);
    assert.match(images, /^base\tbuild/m);
    assert.equal(await page.locator('#status').innerText(), 'ok');
    assert.match(await page.locator('#t-hits').innerText(), /%$/);

    const third = commitAll(svc.repoDir, 'nothing changes');
    await push(third, 'dash-3');
    await page.locator('#pushes', { hasText: third.slice(0, 12) }).waitFor({ timeout: 10_000 });

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    // The dark palette is judged from its own screenshot.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-dark.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  it('a push waiting for a missing scope shows as a configuration problem naming it, in the pushes and the health', async () => {
    const lacking = TEST_CLIENT_SCOPES.filter((scope) => scope !== 'queue:route:index.acme.*');
    const other = await TestService.start({ clientScopes: lacking, repoConfig: '    trustDomain: acme\n' });
    try {
      const body = JSON.stringify(githubPush(other.headSha));
      await fetch(`${other.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, 'dash-scopes') });
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      await page.goto(`${other.url}/dashboard`);
      await page.locator('#pushes', { hasText: 'configuration:' }).waitFor({ timeout: 15_000 });
      assert.match(await page.locator('#pushes').innerText(), /configuration: .*queue:route:index\.acme\.cache\.level-3\.docker-images\.v2\./);
      assert.match(await page.locator('#checks').innerText(), /taskcluster-scopes\s*degraded.*queue:route:index\.acme/s);
      await page.close();
    } finally {
      await other.close();
    }
  });
});
