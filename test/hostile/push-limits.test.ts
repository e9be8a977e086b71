import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GENERIC_TOKEN, TestService } from '../support/app.ts';
import { GIT_ENV } from '../support/vectors.ts';

describe('a push over a configured limit', () => {
  let svc: TestService;
  before(async () => {
    // acme declares five images (and a registry image).
    svc = await TestService.start({ dryRun: true, extraConfig: 'limits: {imagesPerGraph: 3}\n' });
  });
  after(() => svc.close());

  it('fails at once with limit-exceeded, after one attempt, and is not retried', async () => {
    const res = await fetch(`${svc.url}/webhooks/generic`, {
      method: 'POST',
      body: JSON.stringify({ repository: 'acme', ref: 'refs/heads/main', rev: svc.headSha }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
    });
    const { pushId } = (await res.json()) as { pushId: string };
    await svc.waitForPush(pushId);
    const push = (await svc.service.store.getPush(pushId))!;
    assert.equal(push.state, 'failed');
    assert.equal(push.attempts, 1);
    assert.equal(push.lastError?.code, 'limit-exceeded');
    assert.match(push.lastError!.message, /declares 5 images, over the limit of 3/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await svc.service.store.getPush(pushId))!.attempts, 1, 'no second attempt');
    const graph = await fetch(`${svc.url}/graph?rev=${svc.headSha}`);
    assert.equal(graph.status, 200, 'the failed push is shown, not retried by a read');
  });
});

const execFileAsync = promisify(execFile);

interface Outcome {
  readonly state: string;
  readonly attempts: number;
  readonly lastError: { code: string; message: string } | null;
}

/**
 * Issue 17, item 3: the limits on what one push's contexts and decision can cost. Each
 * over-limit push is a commit on its own branch of the acme repository; beside it, an
 * ordinary push to main must be decided as usual, its tasks created.
 */
describe('a push over the include, context-byte or decision-size limit', () => {
  let svc: TestService;
  let commits = 0;

  /** Commits `edit`'s changes on `branch`, started from acme's head; async, as the server shares this event loop. */
  const commitOn = async (branch: string, edit: (dir: string) => Promise<void>): Promise<string> => {
    const git = async (...args: string[]) => (await execFileAsync('git', args, { cwd: svc.repoDir, env: GIT_ENV })).stdout.trim();
    await git('checkout', '-q', '-B', branch, svc.headSha);
    await edit(svc.repoDir);
    await git('add', '-A');
    await git('commit', '-q', '--allow-empty', '-m', `commit ${++commits}`);
    const sha = await git('rev-parse', 'HEAD');
    await git('checkout', '-q', 'main');
    return sha;
  };
  const push = async (ref: string, rev: string): Promise<string> => {
    const res = await fetch(`${svc.url}/webhooks/generic`, {
      method: 'POST',
      body: JSON.stringify({ repository: 'acme', ref, rev }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
    });
    assert.equal(res.status, 202, await res.clone().text());
    return ((await res.json()) as { pushId: string }).pushId;
  };
  const outcome = async (pushId: string): Promise<Outcome> => {
    await svc.waitForPush(pushId, 60_000);
    const res = await fetch(`${svc.url}/pushes/${pushId}`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { push: Outcome }).push;
  };

  /** The over-limit push fails at once, never retried; an ordinary one pushed after it is decided, its builds created. */
  const assertRefused = async (branch: string, rev: string, message: RegExp): Promise<string> => {
    const created = svc.fake.count('createTask');
    const bad = await push(`refs/heads/${branch}`, rev);
    const good = await push('refs/heads/main', await commitOn('main', (dir) => writeFile(join(dir, `notes-${commits}.txt`), 'not in any context\n')));
    const refused = await outcome(bad);
    assert.equal(refused.state, 'failed', JSON.stringify(refused));
    assert.equal(refused.attempts, 1);
    assert.equal(refused.lastError?.code, 'limit-exceeded');
    assert.match(refused.lastError!.message, message);
    const decided = await outcome(good);
    assert.equal(decided.state, 'decided', JSON.stringify(decided));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await outcome(bad)).attempts, 1, 'no second attempt');
    // The first ordinary push builds acme's five images; the later ones find them in flight.
    if (created === 0) assert.equal(svc.fake.count('createTask'), 5);
    const tasks = [...svc.fake.services.tasks.values()].map((t) => (t.definition.payload as { env: { IMAGE_NAME: string } }).env.IMAGE_NAME);
    assert.equal(tasks.length, new Set(tasks).size, `one task per image: ${tasks.join(', ')}`);
    return bad;
  };

  // Branches matching release/* are decided at level 3, as main is.
  before(async () => {
    svc = await TestService.start({ extraConfig: 'limits: {includesPerDockerfile: 4, contextBytesPerPush: 262144, decisionBytes: 262144}\n' });
  });
  after(() => svc.close());

  it('refuses a Dockerfile with more # %include lines than includesPerDockerfile, before walking them', async () => {
    const rev = await commitOn('release/includes', async (dir) => {
      const dockerfile = join(dir, 'taskcluster/docker/standalone/Dockerfile');
      // Five includes of files that do not exist: walking even the first would be include-missing.
      const includes = Array.from({ length: 5 }, (_, i) => `# %include missing/${i}\n`).join('');
      await writeFile(dockerfile, `${await readFile(dockerfile, 'utf8')}\n${includes}`);
    });
    await assertRefused(
      'release/includes',
      rev,
      /taskcluster\/docker\/standalone\/Dockerfile:\d+: # %include number 5, over the limit of 4 includes per Dockerfile \(limits.includesPerDockerfile\)/,
    );
  });

  it('stops hashing once the contexts of one push are over contextBytesPerPush', async () => {
    const rev = await commitOn('release/bytes', async (dir) => {
      // 300 KB in one context (under the per-context limit), so the graph's contexts are over 256 KiB together.
      await writeFile(join(dir, 'taskcluster/docker/standalone/blob.bin'), Buffer.alloc(300_000, 7));
    });
    await assertRefused(
      'release/bytes',
      rev,
      /hash at least \d+ bytes \(\d+ hashed before stopping\), over the limit of 262144 context bytes per push \(limits.contextBytesPerPush\)/,
    );
  });

  it('refuses a decision record larger than decisionBytes, with its size and the limit, and leaves no task of it planned', async () => {
    const rev = await commitOn('release/decision', async (dir) => {
      // A 200 KB argument: under every kind-file limit, but the decision holds it twice (node and task definition).
      const kind = join(dir, 'taskcluster/kinds/docker-image/kind.yml');
      const text = await readFile(kind, 'utf8');
      await writeFile(kind, text.replace('            TOOL: node\n', `            TOOL: node\n            NOTE: "${'n'.repeat(200_000)}"\n`));
    });
    const pushId = await assertRefused(
      'release/decision',
      rev,
      /^decision \S+ is at least \d+ bytes as JSON \(after \d+ of 6 images\), over the limit of 262144 bytes per stored decision \(limits.decisionBytes\)$/,
    );
    // node-tools (its args changed) was planned before the record was refused: refused too, so no later push joins it.
    const planned = await svc.service.store.tasksOfDecision(pushId);
    assert.deepEqual(
      planned.map((t) => [t.image, t.state, t.active]),
      [['node-tools', 'rejected', false]],
    );
    assert.equal(await svc.service.store.getDecision(pushId), null);
  });
});
