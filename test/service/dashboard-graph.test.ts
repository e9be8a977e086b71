import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';
import { commitAll } from '../support/vectors.ts';
import { CHROMIUM, openDashboard } from '../support/browser.ts';

/** A name and a reason from a repository that would run script if inserted as markup. */
const HOSTILE = '<img src=x onerror=alert(1)>';
const HOSTILE_IMAGES = `    "${HOSTILE}":
        symbol: I(x)
        parent: base
    victim:
        symbol: I(v)
        parent: "${HOSTILE}"
        definition: tools
        args:
            TOOL: x
            TOOL_VERSION: "1"
`;

interface Image {
  decision: string;
  parent?: string | null;
  reason: string;
}
interface Hour {
  latencyP50: number | null;
  latencyP95: number | null;
  builds: number;
}

describe('the dashboard’s pictures in headless Chromium: graph, history, charts', () => {
  let svc: TestService;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const shas: string[] = [];
  const pushIds: string[] = [];
  const push = async (sha: string, delivery: string) => {
    const body = JSON.stringify(githubPush(sha));
    const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, delivery) });
    const { pushId } = (await res.json()) as { pushId: string };
    await svc.waitForPush(pushId, 30_000);
    shas.push(sha);
    pushIds.push(pushId);
  };
  const completePending = () => {
    for (const task of svc.fake.services.tasks.values()) if (task.state === 'pending') svc.fake.services.complete(task.taskId);
  };
  /** The whole page, or one part of it, from the top: scrolled, the sticky header would cover part of it. */
  const screenshot = async (path: string, selector?: string) => {
    await page.evaluate('window.scrollTo(0, 0)');
    const clip = selector ? (await page.locator(selector).boundingBox())! : undefined;
    await page.screenshot({ path, fullPage: true, ...(clip ? { clip } : {}) });
  };
  const json = async <T>(path: string) => (await (await fetch(`${svc.url}${path}`)).json()) as T;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    svc = await TestService.start();
    await appendFile(join(svc.repoDir, 'taskcluster/kinds/docker-image/kind.yml'), HOSTILE_IMAGES);
    await push(commitAll(svc.repoDir, 'a hostile image name'), 'pictures-1');
    completePending();
    await writeFile(join(svc.repoDir, 'scripts/setup.sh'), '#!/bin/sh\necho v2\n');
    await push(commitAll(svc.repoDir, 'base changes'), 'pictures-2');
    ({ browser, page } = await openDashboard(svc.url, problems));
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  it('draws the newest push’s graph: one node per image coloured by its decision, the parent→child edges, a legend', async () => {
    const { images } = await json<{ images: Record<string, Image> }>(`/pushes/${pushIds[1]}`);
    assert.equal(Object.keys(images).length, 8);
    assert.match(await page.locator('#graph-at').innerText(), new RegExp(shas[1]!.slice(0, 12)));
    const nodes = await page.$$eval('svg.graph g.node', (gs) =>
      gs.map((g) => ({ name: g.getAttribute('data-name'), className: g.getAttribute('class'), title: g.querySelector('title')!.textContent })),
    );
    assert.deepEqual(nodes.map((n) => n.name).sort(), Object.keys(images).sort());
    for (const node of nodes) {
      const image = images[node.name!]!;
      assert.ok(node.className!.split(' ').includes(`decision-${image.decision}`), `${node.name}: ${node.className} for ${image.decision}`);
      assert.ok(node.title!.startsWith(`${node.name}: ${image.decision}`), node.title!);
    }
    assert.deepEqual(Object.fromEntries(Object.entries(images).map(([n, i]) => [n, i.decision])), {
      base: 'build',
      python: 'build',
      'node-tools': 'build',
      lint: 'build',
      standalone: 'indexed',
      prebuilt: 'registry',
      [HOSTILE]: 'error',
      victim: 'blocked',
    });
    const edges = await page.$$eval('svg.graph path.edge', (ps) => ps.map((p) => `${p.getAttribute('data-parent')} → ${p.getAttribute('data-child')}`));
    assert.deepEqual(edges.sort(), ['base → node-tools', 'base → python', 'python → lint', `${HOSTILE} → victim`].sort());
    // Roots on the left, each child to the right of its parent.
    const x = async (name: string) => (await page.locator(`svg.graph g.node[data-name="${name}"]`).boundingBox())!.x;
    assert.ok((await x('base')) < (await x('python')) && (await x('python')) < (await x('lint')));
    assert.deepEqual(await page.locator('#legend li').allInnerTexts(), ['indexed', 'in-flight', 'build', 'registry', 'error', 'blocked']);
  });

  it('shows a hostile name and reason as text: no element made of them, no script run', async () => {
    assert.equal(await page.locator('img').count(), 0);
    const hostile = page.locator('svg.graph a.node-link').filter({ has: page.locator(`g[data-decision="error"]`) });
    assert.equal(await hostile.getAttribute('data-name'), HOSTILE);
    assert.match((await hostile.locator('text.name').textContent()) ?? '', /^<img src=x onerror=/);
    const images = await page.locator('#images').innerText();
    assert.ok(images.includes(`${HOSTILE}\terror`), images);
    assert.ok(images.includes(`blocked: ${HOSTILE} is in error`), images);
    assert.deepEqual(problems, []);
  });

  it('links each node to the image’s detail, which resolves', async () => {
    const links = await page.$$eval('svg.graph a.node-link', (as) => as.map((a) => [a.getAttribute('data-name')!, a.getAttribute('href')!] as const));
    assert.equal(links.length, 8);
    const { images } = await json<{ images: Record<string, Image> }>(`/pushes/${pushIds[1]}`);
    for (const [name, href] of links) {
      assert.equal(href, `/images/${encodeURIComponent(name)}?repo=acme&rev=${shas[1]}`);
      const res = await fetch(new URL(href, svc.url));
      const body = (await res.json()) as { decision?: string; code?: string };
      // A name the Index cannot hold is refused by /images as it is by the Index; its history is shown in the page.
      if (name === HOSTILE) assert.deepEqual([res.status, body.code], [400, 'bad-request']);
      else assert.deepEqual([res.status, body.decision], [200, images[name]!.decision], name);
    }
  });

  it('shows an image’s history on a click, linking its task and artifact on the root URL, which resolve', async () => {
    await page.locator('svg.graph a.node-link[data-name="base"]').click();
    await page.locator('#history tr').nth(1).waitFor();
    assert.equal(await page.locator('#history-name').innerText(), 'base');
    assert.equal(await page.locator('svg.graph g.node.selected').getAttribute('data-name'), 'base');
    const { entries } = await json<{ entries: Array<{ taskId: string; artifactUrl: string }> }>('/images/base/history');
    assert.equal(entries.length, 2);
    const taskHrefs = await page.locator('#history a.task-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(
      taskHrefs,
      entries.map((e) => `${svc.fake.rootUrl}/tasks/${e.taskId}`),
    );
    const artifactHrefs = await page.locator('#history a.artifact-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(
      artifactHrefs,
      entries.map((e) => e.artifactUrl),
    );
    completePending();
    // The fake serves the Queue's API, not its UI: the linked task id resolves there, read anonymously.
    svc.fake.roles.set('anonymous', ['queue:get-task:*']);
    for (const href of taskHrefs) {
      const taskId = href!.slice(`${svc.fake.rootUrl}/tasks/`.length);
      assert.equal((await fetch(`${svc.fake.rootUrl}/api/queue/v1/task/${taskId}`)).status, 200, href!);
    }
    for (const href of artifactHrefs) {
      const res = await fetch(href!, { redirect: 'manual' });
      assert.equal(res.status, 303, href!);
      assert.match(res.headers.get('location')!, /\/public\/image\.tar\.zst$/);
    }
    await screenshot('/tmp/dashboard-history.png');

    await page
      .locator('svg.graph a.node-link')
      .filter({ has: page.locator('g[data-decision="error"]') })
      .click();
    await page.locator('#history-name', { hasText: HOSTILE }).waitFor();
    await page.locator('#history tr').nth(1).waitFor();
    const rows = await page.locator('#history').innerText();
    assert.equal(rows.match(/\terror\t/g)?.length, 2, rows);
    assert.ok(rows.includes(`image "${HOSTILE}"`), rows);
    assert.equal(await page.locator('img').count(), 0);
    assert.deepEqual(problems, []);
  });

  it('draws the last day’s latency points and builds bars from /activity, and another push’s graph on request', async () => {
    await page.locator('#chart-builds rect.bar').first().waitFor();
    const { hours } = await json<{ hours: Hour[] }>('/activity?hours=24');
    assert.equal(await page.locator('#chart-latency circle.point.p50').count(), hours.filter((h) => h.latencyP50 !== null).length);
    assert.equal(await page.locator('#chart-latency circle.point.p95').count(), hours.filter((h) => h.latencyP95 !== null).length);
    const bars = await page.locator('#chart-builds rect.bar').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-builds'))));
    assert.deepEqual(
      bars,
      hours.filter((h) => h.builds > 0).map((h) => h.builds),
    );
    assert.equal(
      bars.reduce((a, b) => a + b, 0),
      svc.fake.services.tasks.size,
    );
    await screenshot('/tmp/dashboard-charts.png', 'section[aria-labelledby="h-activity"]');
    await screenshot('/tmp/dashboard-graph.png', 'section[aria-labelledby="h-graph"]');
    await screenshot('/tmp/dashboard-pictures.png');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot('/tmp/dashboard-pictures-dark.png');
    await page.emulateMedia({ colorScheme: 'light' });

    await page.locator(`#pushes tr[data-push="${pushIds[0]}"] button`).click();
    await page.locator('#graph-at', { hasText: shas[0]!.slice(0, 12) }).waitFor();
    assert.equal(await page.locator('svg.graph g.node').count(), 8);
    assert.equal(await page.locator('svg.graph g.node[data-name="standalone"]').getAttribute('data-decision'), 'build', 'the first push built it');
    assert.deepEqual(problems, []);
  });
});
