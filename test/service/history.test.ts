import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';
import { commitAll } from '../support/vectors.ts';

interface Spec {
  paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: object }> }> } }>;
  components: object;
}
interface Entry {
  pushId: string;
  rev: string;
  decision: string;
  reason: string;
  taskId: string | null;
  taskUrl: string | null;
  artifactUrl: string | null;
  digest: string | null;
  dryRun: boolean;
}
interface History {
  repository: string;
  image: string;
  rootUrl: string | null;
  entries: Entry[];
}
interface Hour {
  hour: string;
  decided: number;
  failed: number;
  latencyP50: number | null;
  latencyP95: number | null;
  builds: number;
}

async function push(svc: TestService, sha: string, delivery: string): Promise<string> {
  const body = JSON.stringify(githubPush(sha));
  const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, delivery) });
  const { pushId } = (await res.json()) as { pushId: string };
  await svc.waitForPush(pushId, 30_000);
  return pushId;
}

/** Each answer must fit what the OpenAPI document says of its route and status. */
async function documentedValidators(svc: TestService, path: string): Promise<Map<number, ValidateFunction>> {
  const spec = (await (await fetch(`${svc.url}/documentation/json`)).json()) as Spec;
  const ajv = new Ajv({ strict: false, allErrors: true });
  return new Map(
    Object.entries(spec.paths[path]!.get.responses).map(([status, r]) => [Number(status), ajv.compile({ ...r.content['application/json']!.schema, components: spec.components })]),
  );
}

describe('image history and activity over HTTP, from pushes decided against the fake Taskcluster', () => {
  let svc: TestService;
  let history: Map<number, ValidateFunction>;
  let activity: Map<number, ValidateFunction>;
  const get = async <T>(path: string, validators: Map<number, ValidateFunction>, status = 200): Promise<T> => {
    const res = await fetch(`${svc.url}${path}`);
    const body: unknown = await res.json();
    assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
    const validate = validators.get(res.status);
    assert.ok(validate, `${path}: status ${res.status} is not documented`);
    assert.ok(validate(body), `${path}: ${JSON.stringify(body)}: ${JSON.stringify(validate.errors)}`);
    return body as T;
  };
  let first: string;
  let second: string;

  before(async () => {
    svc = await TestService.start();
    history = await documentedValidators(svc, '/images/{name}/history');
    activity = await documentedValidators(svc, '/activity');
    first = await push(svc, svc.headSha, 'history-1');
    for (const task of svc.fake.services.tasks.values()) if (task.state === 'pending') svc.fake.services.complete(task.taskId);
    await writeFile(join(svc.repoDir, 'scripts/setup.sh'), '#!/bin/sh\necho v2\n');
    second = await push(svc, commitAll(svc.repoDir, 'base changes'), 'history-2');
  });
  after(() => svc?.close());

  it('lists an image’s decision per push, newest first, linking the task and artifact on the root URL, which resolve', async () => {
    svc.fake.roles.set('anonymous', ['queue:get-task:*']);
    const base = await get<History>('/images/base/history', history);
    assert.equal(base.rootUrl, svc.fake.rootUrl);
    assert.deepEqual(
      base.entries.map((e) => [e.pushId, e.decision]),
      [
        [second, 'build'],
        [first, 'build'],
      ],
    );
    const [now, before] = base.entries as [Entry, Entry];
    assert.notEqual(now.digest, before.digest, 'base changed');
    assert.equal(now.rev, (await svc.service.store.getPush(second))!.resolvedRev);
    for (const entry of base.entries) {
      assert.equal(entry.taskUrl, `${svc.fake.rootUrl}/tasks/${entry.taskId}`);
      assert.ok(svc.fake.services.tasks.has(entry.taskId!), 'the linked task was created');
      // The fake serves the Queue's API, not its UI: the same task id resolves there, read
      // anonymously as a browser would (a deployment's anonymous role may read tasks).
      assert.equal((await fetch(`${svc.fake.rootUrl}/api/queue/v1/task/${entry.taskId}`)).status, 200);
    }
    const artifact = await fetch(before.artifactUrl!, { redirect: 'manual' });
    assert.equal(artifact.status, 303, 'the first build completed with its image');
    assert.match(artifact.headers.get('location')!, new RegExp(`${before.taskId}/public/image\\.tar\\.zst$`));
    assert.equal((await fetch(now.artifactUrl!, { redirect: 'manual' })).status, 404, 'the second build has not finished');

    const standalone = await get<History>('/images/standalone/history', history);
    assert.deepEqual(
      standalone.entries.map((e) => e.decision),
      ['indexed', 'build'],
    );
    assert.equal(standalone.entries[0]!.taskId, standalone.entries[1]!.taskId, 'reused the first push’s build');
    assert.deepEqual(
      (await get<History>('/images/base/history?limit=1', history)).entries.map((e) => e.pushId),
      [second],
    );
  });

  it('answers any stored name as data, and refuses bad parameters with a code', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const none = await get<History>(`/images/${encodeURIComponent(hostile)}/history`, history);
    assert.deepEqual([none.image, none.entries], [hostile, []]);
    assert.equal((await get<{ code: string }>('/images/base/history?repo=nope', history, 404)).code, 'unknown-repository');
    assert.equal((await get<{ code: string }>('/images/base/history?limit=0', history, 400)).code, 'bad-request');
  });

  it('counts the pushes decided, their latency and the builds created per hour, every hour of the window present', async () => {
    const body = await get<{ since: string; until: string; hours: Hour[] }>('/activity?hours=24', activity);
    assert.equal(body.hours.length, 24);
    const hourStart = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    assert.equal(body.hours.at(-1)!.hour, new Date(hourStart).toISOString(), 'the current hour last');
    assert.equal(Date.parse(body.until) - Date.parse(body.since), 24 * 3_600_000);
    const sum = (key: 'decided' | 'builds' | 'failed') => body.hours.reduce((n, h) => n + h[key], 0);
    assert.equal(sum('decided'), 2);
    assert.equal(sum('failed'), 0);
    assert.equal(sum('builds'), svc.fake.services.tasks.size, 'every task created in the Queue');
    for (const h of body.hours) {
      if (h.decided === 0) assert.deepEqual([h.latencyP50, h.latencyP95], [null, null]);
      else assert.ok(h.latencyP50! > 0 && h.latencyP95! >= h.latencyP50!, JSON.stringify(h));
    }
    assert.deepEqual((await get<{ hours: Hour[] }>('/activity?hours=2&repo=acme', activity)).hours.length, 2);
    assert.equal((await get<{ code: string }>('/activity?hours=500', activity, 400)).code, 'bad-request');
    assert.equal((await get<{ code: string }>('/activity?repo=nope', activity, 404)).code, 'unknown-repository');
  });
});

describe('image history in a dry run', () => {
  it('has no root URL and links no task', async () => {
    const svc = await TestService.start({ dryRun: true });
    try {
      await push(svc, svc.headSha, 'history-dry');
      const body = (await (await fetch(`${svc.url}/images/base/history`)).json()) as History;
      assert.equal(body.rootUrl, null);
      assert.deepEqual(
        body.entries.map((e) => [e.decision, e.dryRun, e.taskUrl, e.artifactUrl]),
        [['build', true, null, null]],
      );
    } finally {
      await svc.close();
    }
  });
});
