import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { TestService } from '../support/app.ts';

interface Spec {
  paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: object }> }> } }>;
  components: object;
}

/** Keeps the event loop busy for `ms`, as a burst of CPU work in a handler does. */
function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Every /health answer fits what the OpenAPI document says of its status (issue 17, item 4). */
describe('/health answers only documented shapes', () => {
  let svc: TestService;
  let documented: Map<number, ValidateFunction>;

  before(async () => {
    svc = await TestService.start({ worker: false, dryRun: true });
    const spec = (await (await fetch(`${svc.url}/documentation/json`)).json()) as Spec;
    const ajv = new Ajv({ strict: false, allErrors: true });
    documented = new Map(
      Object.entries(spec.paths['/health']!.get.responses).map(([status, r]) => [
        Number(status),
        ajv.compile({ ...r.content['application/json']!.schema, components: spec.components }),
      ]),
    );
  });
  after(() => svc.close());

  const check = async (res: Response) => {
    const body: unknown = await res.json();
    const validate = documented.get(res.status);
    assert.ok(validate, `status ${res.status} is not documented: ${JSON.stringify(body)}`);
    assert.ok(validate(body), `${res.status} ${JSON.stringify(body)}: ${JSON.stringify(validate.errors)}`);
    return body as Record<string, unknown>;
  };

  it('answers 200 with each repository’s upstream', async () => {
    const res = await fetch(`${svc.url}/health`);
    assert.equal(res.status, 200);
    const body = await check(res);
    assert.deepEqual(body.repositories, [{ name: 'acme', reachable: true, since: null, failures: 0, lastError: null, lastFetchAt: null }]);
  });

  it('overloaded (the event loop held for seconds), answers 503 unavailable with Retry-After, not 500', async () => {
    // under-pressure averages the loop's delay over its sampling interval: two long blocks with
    // one turn of the loop between them make the average exceed its 2 s limit.
    let res: Response | null = null;
    for (let tries = 0; tries < 3 && res?.status !== 503; tries++) {
      blockEventLoop(2300);
      await new Promise((r) => setImmediate(r));
      blockEventLoop(2300);
      res = await fetch(`${svc.url}/health`);
      if (res.status !== 503) await res.arrayBuffer();
    }
    assert.equal(res!.status, 503);
    assert.ok(Number(res!.headers.get('retry-after')) > 0, 'Retry-After');
    assert.equal((await check(res!)).code, 'unavailable');
  });

  it('with the store down, answers 503 with the health (the store down)', async () => {
    // The pressure measured above lasts until under-pressure's next sample.
    for (let deadline = Date.now() + 10_000; ;) {
      const res = await fetch(`${svc.url}/health`);
      await res.arrayBuffer();
      if (res.status === 200) break;
      assert.ok(Date.now() < deadline, 'no longer overloaded');
      await new Promise((r) => setTimeout(r, 200));
    }
    await svc.service.store.close();
    const res = await fetch(`${svc.url}/health`);
    assert.equal(res.status, 503);
    const body = await check(res);
    assert.equal(body.status, 'down');
    assert.ok((body.checks as Array<{ name: string; status: string }>).some((c) => c.name === 'store' && c.status === 'down'));
  });
});
