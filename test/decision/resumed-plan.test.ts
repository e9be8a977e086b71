import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ADMIN_TOKEN, GENERIC_TOKEN, TestService } from '../support/app.ts';

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
 * A push whose first attempt stopped after planning its tasks and before storing its
 * decision: the second attempt must submit the tasks the first planned (they are this
 * decision's, not builds in flight of another), each exactly once.
 */
describe('a push resumed after its tasks were planned but not its decision', () => {
  let svc: TestService;
  let db: pg.Client;

  const failNextDecision = () => db.query(FAIL_NEXT_DECISION);
  const pushView = async (id: string): Promise<PushView> => ((await (await fetch(`${svc.url}/pushes/${id}`)).json()) as { push: PushView }).push;
  const settled = async (id: string): Promise<PushView> => {
    await svc.waitForPush(id, 60_000);
    return pushView(id);
  };
  const created = (image: string) =>
    [...svc.fake.services.tasks.values()].filter((t) => (t.definition.payload as { env: { IMAGE_NAME: string } }).env.IMAGE_NAME === image).length;

  before(async () => {
    svc = await TestService.start();
    db = new pg.Client({ connectionString: svc.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db.end();
    await svc.close();
  });

  it('an ordinary push: the second attempt submits the five builds the first planned, each once', async () => {
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

    const tasks = await svc.service.store.tasksOfDecision(pushId);
    assert.deepEqual(tasks.map((t) => t.image).sort(), ['base', 'lint', 'node-tools', 'python', 'standalone']);
    assert.deepEqual(tasks.map((t) => t.state), tasks.map(() => 'submitted'), 'every planned task was sent');
    assert.equal(svc.fake.count('createTask'), 5, 'one createTask per planned task');
    for (const task of tasks) assert.ok(svc.fake.services.tasks.has(task.taskId), `${task.image}'s planned task ${task.taskId} exists in the Queue`);

    const record = (await svc.service.store.getDecision(pushId))!;
    const builds = record.images.filter((i) => i.decision === 'build').map((i) => [i.name, i.taskId] as const);
    assert.deepEqual(new Map(builds), new Map(tasks.map((t) => [t.image, t.taskId])), 'the decision names the tasks planned and sent');
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
    assert.deepEqual(tasks.map((t) => [t.image, t.state]), [['base', 'submitted']], 'one rebuild of base planned, and sent');
    assert.equal(created('base'), 2, 'base built once more, not twice');
  });
});
