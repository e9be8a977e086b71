import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decisionJson } from '../../src/store/decision-json.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { suiteHarnesses } from '../support/decision.ts';

/** `limits.decisionBytes` in the memory store (the CLI's, and the tests'), as the SQL store applies it. */
describe("a decision record over the store's size limit", () => {
  const start = suiteHarnesses();

  it('is refused with limit-exceeded, naming its size and the limit; the tasks it planned are refused and none is sent', async () => {
    const store = new MemoryStore({ maxDecisionBytes: 4096 });
    const h = await start({ store });
    const request = { ...(await h.request()), decisionId: 'over-the-size-limit' };
    await assert.rejects(h.decider.decide(request), {
      code: 'limit-exceeded',
      message: /^decision \S+ is at least \d+ bytes as JSON \(after \d of 6 images\), over the limit of 4096 bytes per stored decision \(limits.decisionBytes\)$/,
    });
    assert.equal(await store.getDecision(request.decisionId), null);
    const tasks = await store.tasksOfDecision(request.decisionId);
    assert.equal(tasks.length, 5);
    assert.deepEqual(
      tasks.map((t) => [t.state, t.active]),
      tasks.map(() => ['rejected', false]),
    );
    assert.equal(h.fake.count('createTask'), 0);
  });

  it('is stored whole under the limit, its JSON the record', async () => {
    const store = new MemoryStore({ maxDecisionBytes: 1 << 20 });
    const h = await start({ store });
    const record = await h.decide();
    assert.deepEqual(await store.getDecision(record.id), record);
    // What the SQL store sends to jsonb: the record's JSON, images serialised one by one.
    assert.deepEqual(JSON.parse(decisionJson(record, 1 << 20)), JSON.parse(JSON.stringify(record)));
    assert.equal(h.fake.count('createTask'), 5);
  });
});
