import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ADMIN_TOKEN, GENERIC_TOKEN, TestService, freePort, githubHeaders, githubPush } from '../support/app.ts';
import { FakeTaskcluster } from '../support/fake-taskcluster/server.ts';
import { freshDatabase } from '../support/pg.ts';
import { ServerProcess } from '../support/server-process.ts';
import { tempDir } from '../support/temp.ts';
import { commitAll, initRepo, materialise } from '../support/vectors.ts';

interface PushView {
  readonly id: string;
  readonly state: string;
  readonly attempts: number;
  readonly lastError: { code: string; message: string } | null;
}

/**
 * PostgreSQL refuses the next insert of a decision record once, as a server going away
 * would (57P03, "cannot connect now": the store reports it as an outage). The attempt then
 * stops after its tasks are planned and stored, before its record is: what a process
 * stopped between the two leaves behind. A sequence counts, as it is not rolled back with
 * the failed statement.
 */
const FAIL_NEXT_DECISION = `
  CREATE SEQUENCE IF NOT EXISTS fault_decisions;
  CREATE OR REPLACE FUNCTION fault_decision() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF nextval('fault_decisions') = 1 THEN
      RAISE EXCEPTION 'injected: the server went away before the decision was stored' USING ERRCODE = '57P03';
    END IF;
    RETURN NEW;
  END $$;
  DROP TRIGGER IF EXISTS fault_decision ON decisions;
  CREATE TRIGGER fault_decision BEFORE INSERT ON decisions FOR EACH ROW EXECUTE FUNCTION fault_decision();
  SELECT setval('fault_decisions', 1, false);`;

/**
 * A push whose first attempt failed after planning its tasks and before storing its
 * decision: those tasks are refused with it (none is left planned for another push to join
 * as a build in flight that nobody sends); the second attempt plans and sends each build once.
 */
describe('a push whose first attempt failed after its tasks were planned, before its decision was stored', () => {
  let svc: TestService;
  let db: pg.Client;

  const failNextDecision = () => db.query(FAIL_NEXT_DECISION);
  const pushView = async (id: string): Promise<PushView> => ((await (await fetch(`${svc.url}/pushes/${id}`)).json()) as { push: PushView }).push;
  const settled = async (id: string): Promise<PushView> => {
    await svc.waitForPush(id, 60_000);
    return pushView(id);
  };
  const created = (image: string) => [...svc.fake.services.tasks.values()].filter((t) => (t.definition.payload as { env: { IMAGE_NAME: string } }).env.IMAGE_NAME === image).length;

  before(async () => {
    svc = await TestService.start();
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db.end();
    await svc.close();
  });

  it("an ordinary push: the first attempt's tasks are refused with it, the second sends five builds, each once", async () => {
    await failNextDecision();
    const res = await fetch(`${svc.url}/webhooks/generic`, {
      method: 'POST',
      body: JSON.stringify({ repository: 'acme', ref: 'refs/heads/main', rev: svc.headSha }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GENERIC_TOKEN}` },
    });
    assert.equal(res.status, 202);
    const { pushId } = (await res.json()) as { pushId: string };
    const push = await settled(pushId);
    assert.equal(push.state, 'decided', JSON.stringify(push));
    assert.equal(push.attempts, 2, 'the first attempt failed after planning');

    const record = (await svc.service.store.getDecision(pushId))!;
    const builds = record.images.filter((i) => i.decision === 'build');
    assert.deepEqual(builds.map((i) => i.name).sort(), ['base', 'lint', 'node-tools', 'python', 'standalone']);
    assert.equal(svc.fake.count('createTask'), 5, 'one createTask per build');
    for (const image of builds) {
      assert.ok(svc.fake.services.tasks.has(image.taskId!), `${image.name}'s task ${image.taskId} exists in the Queue`);
      assert.equal((await svc.service.store.getTask(image.taskId!))?.state, 'submitted');
    }
    // The first attempt's tasks were refused when it failed: none is left for a later push to join.
    const tasks = await svc.service.store.tasksOfDecision(pushId);
    const earlier = tasks.filter((t) => !builds.some((i) => i.taskId === t.taskId));
    assert.deepEqual(
      earlier.map((t) => [t.state, t.active]),
      earlier.map(() => ['rejected', false]),
    );
    assert.equal(earlier.length, 5);
  });

  it('a forced rebuild: the second attempt sends the rebuild the first planned, not a second one', async () => {
    assert.equal(created('base'), 1);
    await failNextDecision();
    const res = await fetch(`${svc.url}/images/base/rebuild`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 202, await res.clone().text());
    const { push: queued } = (await res.json()) as { push: PushView };
    const push = await settled(queued.id);
    assert.equal(push.state, 'decided', JSON.stringify(push));
    assert.equal(push.attempts, 2);
    const tasks = await svc.service.store.tasksOfDecision(queued.id);
    assert.deepEqual(tasks.map((t) => t.state).sort(), ['rejected', 'submitted'], "the first attempt's rebuild refused, the second's sent");
    assert.equal(created('base'), 2, 'base built once more, not twice');
  });
});

/**
 * PostgreSQL holds the next insert of a decision record (and then refuses it), so the
 * server can be killed while its tasks are planned and stored and its record is not.
 */
const HOLD_NEXT_DECISION = `
  CREATE SEQUENCE IF NOT EXISTS hold_decisions;
  CREATE OR REPLACE FUNCTION hold_decision() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF nextval('hold_decisions') = 1 THEN
      PERFORM pg_sleep(60);
      RAISE EXCEPTION 'held decision insert';
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER hold_decision BEFORE INSERT ON decisions FOR EACH ROW EXECUTE FUNCTION hold_decision();`;

/**
 * The reviewer's case: a process killed after planning a push's tasks and before storing its
 * decision (nothing of it runs to refuse them). The restarted process plans the push again;
 * the tasks it finds are its own, not builds in flight of another decision, and it sends them.
 */
describe('a push whose process was killed after planning its tasks, before storing its decision', () => {
  let fake: FakeTaskcluster;
  let root: string;
  let repoDir: string;
  let headSha: string;
  let db: pg.Client;
  const servers: ServerProcess[] = [];

  before(async () => {
    fake = await FakeTaskcluster.start();
    root = await tempDir();
    repoDir = await materialise('acme/tree', join(root, 'acme'));
    initRepo(repoDir);
    headSha = commitAll(repoDir);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await db?.end();
    await fake.close();
  });

  it('the restarted process sends the five planned tasks, each once, and its decision names them', async () => {
    const databaseUrl = await freshDatabase();
    const dataDir = join(root, 'data');
    const start = async () => {
      const server = await ServerProcess.start({ dir: root, port: await freePort(), repoDir, databaseUrl, rootUrl: fake.rootUrl, workerId: 'killed', dataDir });
      servers.push(server);
      return server;
    };
    const first = await start();
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    await db.query(HOLD_NEXT_DECISION);

    const body = JSON.stringify(githubPush(headSha));
    const res = await fetch(`${first.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, 'killed-1') });
    assert.equal(res.status, 202, await res.clone().text());
    const { pushId } = (await res.json()) as { pushId: string };

    // Wait until the decision's insert is held: every task is planned by then, none sent.
    const held = "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE 'INSERT INTO decisions%'";
    const deadline = Date.now() + 30_000;
    while ((await db.query(held)).rows.length === 0) {
      assert.ok(Date.now() < deadline, 'the decision reached its insert');
      await new Promise((r) => setTimeout(r, 25));
    }
    await first.kill('SIGKILL');
    await db.query(`SELECT pg_terminate_backend(pid) FROM (${held}) h`);
    await db.query('DROP TRIGGER hold_decision ON decisions');
    const planned = await db.query<{ task_id: string; state: string }>('SELECT task_id, state FROM planned_tasks WHERE decision_id = $1', [pushId]);
    assert.deepEqual(
      planned.rows.map((r) => r.state),
      ['planned', 'planned', 'planned', 'planned', 'planned'],
    );
    assert.equal(fake.count('createTask'), 0);

    // The same worker id takes its push back at once.
    const restarted = await start();
    const stopAt = Date.now() + 60_000;
    let push: { state: string; attempts: number };
    for (;;) {
      push = ((await (await fetch(`${restarted.url}/pushes/${pushId}`)).json()) as { push: typeof push }).push;
      if (push.state === 'decided' || push.state === 'failed') break;
      assert.ok(Date.now() < stopAt, `push still ${push.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(push.state, 'decided');
    assert.equal(push.attempts, 2);
    assert.equal(fake.count('createTask'), 5, 'one createTask per planned task');
    for (const { task_id } of planned.rows) assert.ok(fake.services.tasks.has(task_id), `planned task ${task_id} was sent`);
    const after = await db.query<{ state: string }>('SELECT state FROM planned_tasks WHERE decision_id = $1', [pushId]);
    assert.deepEqual(
      after.rows.map((r) => r.state),
      ['submitted', 'submitted', 'submitted', 'submitted', 'submitted'],
      'no task planned anew',
    );
    const { images } = (await (await fetch(`${restarted.url}/pushes/${pushId}`)).json()) as { images: Record<string, { decision: string; taskId: string | null }> };
    const builds = Object.values(images)
      .filter((i) => i.decision === 'build')
      .map((i) => i.taskId)
      .sort();
    assert.deepEqual(builds, planned.rows.map((r) => r.task_id).sort(), 'the decision names the planned tasks as its builds');
    await restarted.kill('SIGTERM');
  });
});
