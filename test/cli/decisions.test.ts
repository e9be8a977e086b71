import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';
import { OFFLINE_ENV, runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, initRepo, materialise } from '../support/vectors.ts';

interface Doc {
  dryRun: boolean;
  images: Record<string, { decision: string; reason: string; taskId: string | null; dryRun?: boolean; definition?: { payload: { env: Record<string, string> } } }>;
}

describe('image-decider graph with decisions', () => {
  let fake: FakeTaskcluster;
  let repo: string;
  let live: NodeJS.ProcessEnv;
  const graph = async (args: string[], env = live): Promise<Doc> => {
    const result = await runCli(['graph', '--repo', repo, '--json', '--repo-url', 'https://example.com/acme', ...args], env);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout.toString()) as Doc;
  };
  const decisions = (doc: Doc) => Object.fromEntries(Object.entries(doc.images).map(([n, i]) => [n, i.decision]));

  before(async () => {
    fake = await FakeTaskcluster.start();
    repo = await materialise('acme/tree', join(await tempDir(), 'acme'));
    initRepo(repo);
    commitAll(repo);
    live = { ...OFFLINE_ENV, TASKCLUSTER_ROOT_URL: fake.rootUrl, TASKCLUSTER_CLIENT_ID: 'cli', TASKCLUSTER_ACCESS_TOKEN: 'token' };
  });
  after(() => fake.close());

  it('without the Taskcluster variables, or with --dry-run, decisions are dry-run builds and nothing is called', async () => {
    for (const doc of [await graph([], OFFLINE_ENV), await graph(['--dry-run', '--definitions'])]) {
      assert.equal(doc.dryRun, true);
      assert.equal(doc.images.base!.decision, 'build');
      assert.equal(doc.images.base!.dryRun, true);
      assert.equal(doc.images.prebuilt!.decision, 'registry');
    }
    const withDefs = await graph(['--dry-run', '--definitions']);
    assert.equal(withDefs.images.python!.definition!.payload.env.PARENT_TASK_ID, withDefs.images.base!.taskId);
    assert.equal(fake.requests.length, 0);
  });

  it('with the variables it shows live decisions; --submit creates the tasks; later runs see them', async () => {
    const preview = await graph([]);
    assert.equal(preview.dryRun, false);
    assert.equal(preview.images.base!.decision, 'build');
    assert.equal(preview.images.base!.taskId, null);
    assert.match(preview.images.base!.reason, /not indexed/);
    assert.equal(fake.count('createTask'), 0);

    const submitted = await graph(['--submit']);
    assert.equal(fake.services.tasks.size, 5);
    const baseTask = submitted.images.base!.taskId!;
    assert.ok(fake.services.tasks.has(baseTask));

    for (let pending = true; pending;) {
      const ready = [...fake.services.tasks.values()].filter((t) => t.state === 'pending');
      ready.forEach((t) => fake.services.complete(t.taskId));
      pending = ready.length > 0;
    }
    const after = await graph(['--level', '1']);
    assert.deepEqual(decisions(after), { base: 'indexed', python: 'indexed', 'node-tools': 'indexed', lint: 'indexed', standalone: 'indexed', prebuilt: 'registry' });
    assert.equal(after.images.base!.taskId, baseTask);

    const forced = await graph(['--force', 'python', '--with-descendants']);
    assert.deepEqual(decisions(forced), { base: 'indexed', python: 'build', 'node-tools': 'indexed', lint: 'build', standalone: 'indexed', prebuilt: 'registry' });
    assert.equal(fake.services.tasks.size, 5, 'a preview creates nothing');
  });

  it('the table shows each decision', async () => {
    const result = await runCli(['graph', '--repo', repo], live);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout.toString(), /^base\s+indexed\s+\S+\s+-/m);
  });
});
