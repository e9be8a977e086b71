import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GENERIC_TOKEN, TestService } from '../support/app.ts';
import { GIT_ENV } from '../support/vectors.ts';

const execFileAsync = promisify(execFile);

interface PushView {
  readonly state: string;
  readonly attempts: number;
  readonly lastError: { code: string; message: string } | null;
}
interface GraphView {
  readonly images: Record<string, { decision: string; reason: string; error?: { code: string; message: string } }>;
}

/**
 * YAML's "\udcff" is a lone surrogate: taskgraph hashes an argument holding one, but no
 * PostgreSQL jsonb (ours, or the Queue's for the task definition) can hold it. Such an image
 * is refused before anything of it is stored, as that image's error; the rest of its push,
 * and other pushes, are decided as usual.
 */
describe('an image whose kind-file args hold a lone surrogate', () => {
  let svc: TestService;

  const git = async (...args: string[]) => (await execFileAsync('git', args, { cwd: svc.repoDir, env: GIT_ENV })).stdout.trim();
  /** acme's head with node-tools' (and only its) args edited, on a release branch (decided at level 3). */
  const commitArgs = async (branch: string, edit: (kind: string) => string): Promise<string> => {
    await git('checkout', '-q', '-B', branch, svc.headSha);
    const kind = join(svc.repoDir, 'taskcluster/kinds/docker-image/kind.yml');
    await writeFile(kind, edit(await readFile(kind, 'utf8')));
    await git('commit', '-q', '-am', branch);
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
    // main's head is pushed once per case: the same body again is the same delivery (200 duplicate).
    assert.ok(res.status === 202 || res.status === 200, await res.clone().text());
    return ((await res.json()) as { pushId: string }).pushId;
  };
  const decided = async (pushId: string): Promise<{ push: PushView; graph: GraphView }> => {
    await svc.waitForPush(pushId, 60_000);
    const view = (await (await fetch(`${svc.url}/pushes/${pushId}`)).json()) as { push: PushView } & GraphView;
    return { push: view.push, graph: view };
  };

  before(async () => {
    svc = await TestService.start();
  });
  after(() => svc.close());

  for (const [where, edit] of [
    ['value', (kind: string) => kind.replace('TOOL: node\n', 'TOOL: "node\\udcff"\n')],
    ['name', (kind: string) => kind.replace('TOOL: node\n', 'TOOL: node\n            "\\udcffX": "1"\n')],
  ] as const) {
    it(`in an argument's ${where}: that image is bad-argument, named; the push and the next one are decided`, async () => {
      const before = svc.fake.count('createTask');
      const bad = await push(`refs/heads/release/surrogate-${where}`, await commitArgs(`release/surrogate-${where}`, edit));
      const good = await push('refs/heads/main', svc.headSha);
      const { push: refused, graph } = await decided(bad);
      assert.equal(refused.state, 'decided', JSON.stringify(refused));
      assert.equal(refused.attempts, 1);
      const image = graph.images['node-tools']!;
      assert.equal(image.decision, 'error', JSON.stringify(image));
      assert.equal(image.error?.code, 'bad-argument');
      assert.match(
        image.error!.message,
        /^image node-tools: argument .*\\udcff.* holds a lone surrogate \(U\+DCFF\), which no task definition can hold \(PostgreSQL's jsonb refuses it\)$/,
      );
      for (const name of ['base', 'python', 'lint', 'standalone']) assert.notEqual(graph.images[name]!.decision, 'error', name);
      assert.equal((await decided(good)).push.state, 'decided');
      // Nothing of node-tools was planned: the only task created for it is main's, once.
      const tools = [...svc.fake.services.tasks.values()].filter((t) => (t.definition.payload as { env: { IMAGE_NAME: string } }).env.IMAGE_NAME === 'node-tools');
      assert.equal(tools.length, 1);
      if (before === 0) assert.equal(svc.fake.count('createTask'), 5);
    });
  }
});
