import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Delivery, NewPush } from '../../src/domain/index.ts';
import type { ServiceStore } from '../../src/store/service-store.ts';
import { newPush as pushAt } from './new-push.ts';

const FAR_FUTURE = new Date('2999-01-01T00:00:00.000Z');
let clock = Date.parse('2020-01-01T00:00:00.000Z');
/** Strictly increasing times, so order assertions do not depend on the wall clock. */
const tick = () => new Date((clock += 1000)).toISOString();

/** Pushes received at strictly increasing times, with an owner. */
const newPush = (repository: string, overrides: Partial<NewPush> = {}): NewPush => pushAt(repository, tick(), { owner: 'dev@example.com', ...overrides });
function delivery(overrides: Partial<Delivery> = {}): Delivery {
  return { source: 'github', deliveryId: randomUUID(), event: 'push', receivedAt: tick(), ignoredReason: null, ...overrides };
}

/** Finishes every claimable push left by earlier tests on a shared database. */
async function drain(store: ServiceStore): Promise<void> {
  for (let p = await store.claimPush('drain', FAR_FUTURE, 1000); p; p = await store.claimPush('drain', FAR_FUTURE, 1000)) {
    await store.updatePush(p.id, 'drain', { state: 'failed' });
  }
}

/** The behaviour every PushStore keeps; run on each SQL backend. `open` may return a new connection to the same database. */
export function pushStoreContract(name: string, open: () => Promise<ServiceStore>): void {
  describe(`push store contract: ${name}`, () => {
    it('stores a delivery and its push in one go; a repeated delivery changes nothing; ignored ones queue nothing', async () => {
      const store = await open();
      const repo = `r-${randomUUID()}`;
      const push = newPush(repo);
      const d = delivery();
      assert.deepEqual(await store.recordDelivery(d, push), { outcome: 'queued', pushId: push.id });
      assert.deepEqual(await store.recordDelivery({ ...d, receivedAt: tick() }, newPush(repo)), { outcome: 'duplicate', pushId: push.id });
      assert.deepEqual(await store.recordDelivery(delivery({ ignoredReason: 'refs/heads/x was deleted' }), null), { outcome: 'ignored', reason: 'refs/heads/x was deleted' });
      const ignored = delivery({ ignoredReason: 'nope' });
      await store.recordDelivery(ignored, null);
      assert.deepEqual(await store.recordDelivery(ignored, null), { outcome: 'duplicate', pushId: null });
      const pushes = await store.listPushes({ repository: repo, limit: 10 });
      assert.equal(pushes.length, 1);
      const stored = pushes[0]!;
      assert.deepEqual(
        {
          ...push,
          state: 'queued',
          attempts: 0,
          notBefore: push.receivedAt,
          claimedBy: null,
          claimExpiresAt: null,
          resolvedRev: null,
          startedAt: null,
          finishedAt: null,
          lastError: null,
          counts: null,
        },
        stored,
      );
      const concurrent = delivery();
      const results = await Promise.all([store.recordDelivery(concurrent, newPush(repo)), (await open()).recordDelivery(concurrent, newPush(repo))]);
      assert.deepEqual(results.map((r) => r.outcome).sort(), ['duplicate', 'queued']);
      assert.equal((await store.listPushes({ repository: repo, limit: 10 })).length, 2);
    });

    it('concurrent claims from several connections take each queued push exactly once, oldest first', async () => {
      const store = await open();
      await drain(store);
      const repo = `r-${randomUUID()}`;
      const pushes = Array.from({ length: 10 }, () => newPush(repo));
      for (const p of pushes) await store.recordDelivery(delivery(), p);
      const others = [store, await open(), await open()];
      const now = new Date(Date.parse(tick()) + 60_000);
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => others[i % 3]!.claimPush(`w${i}`, now, 60_000)));
      const claimed = claims.filter((c) => c !== null);
      assert.equal(claimed.length, 10);
      assert.deepEqual(new Set(claimed.map((c) => c.id)), new Set(pushes.map((p) => p.id)));
      assert.ok(claimed.every((c) => c.state === 'deciding' && c.attempts === 1 && c.claimedBy !== null));
      const first = (await store.getPush(pushes[0]!.id))!;
      assert.equal(first.claimExpiresAt, new Date(now.getTime() + 60_000).toISOString());
    });

    it('claims are fair between repositories: each gets its turn, one holding more than its share waits, a skipped one stays queued', async () => {
      const store = await open();
      await drain(store);
      const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
      // Repository a's four pushes all arrived before b's two.
      const as = Array.from({ length: 4 }, () => newPush(a));
      const bs = Array.from({ length: 2 }, () => newPush(b));
      for (const p of [...as, ...bs]) await store.recordDelivery(delivery(), p);
      const now = new Date(Date.parse(tick()) + 60_000);
      const claim = async (worker: string, options = {}) => (await store.claimPush(worker, now, 60_000, options))?.id ?? null;
      assert.equal(await claim('w1'), as[0]!.id, 'the oldest push first');
      assert.equal(await claim('w2'), bs[0]!.id, 'then the other repository, though its push is newer');
      assert.equal(await claim('w3'), as[1]!.id, 'equal turns: the older push');
      assert.equal(await store.updatePush(bs[0]!.id, 'w2', { state: 'decided' }), true);
      assert.equal(await claim('w2'), bs[1]!.id, 'a holds two of three workers: b, with none, is next');
      assert.equal(await claim('w4', { skipRepositories: [a] }), null, 'a skipped repository is not claimed');
      const left = await store.listPushes({ repository: a, limit: 10 });
      assert.deepEqual(
        left.filter((p) => p.state === 'queued').map((p) => [p.id, p.attempts]),
        [
          [as[3]!.id, 0],
          [as[2]!.id, 0],
        ],
      );
      assert.equal(await claim('w4', { skipRepositories: [b] }), as[2]!.id);
      // A push put back with its attempt given back (it waited for its upstream, it did not try).
      assert.equal(await store.updatePush(as[2]!.id, 'w4', { state: 'queued', attempts: 0 }), true);
      assert.deepEqual([(await store.getPush(as[2]!.id))!.attempts, (await store.getPush(as[2]!.id))!.state], [0, 'queued']);
    });

    it('concurrent claims from several connections share the workers between repositories', async () => {
      const store = await open();
      await drain(store);
      const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
      const pushes = [...Array.from({ length: 6 }, () => newPush(a)), newPush(b)];
      for (const p of pushes) await store.recordDelivery(delivery(), p);
      const now = new Date(Date.parse(tick()) + 60_000);
      const claims = await Promise.all([store, await open()].map((s, i) => s.claimPush(`c${i}`, now, 60_000)));
      assert.deepEqual(claims.map((c) => c?.repository).sort(), [a, b].sort(), 'one push of each repository, not two of the older one');
    });

    it('a claim is held until it expires or is released; only its holder updates the push', async () => {
      const store = await open();
      await drain(store);
      const push = newPush(`r-${randomUUID()}`);
      await store.recordDelivery(delivery(), push);
      const now = new Date(Date.parse(push.receivedAt) + 1000);
      const claim = (await store.claimPush('a', now, 30_000))!;
      assert.equal(claim.id, push.id);
      assert.equal(await store.claimPush('b', now, 30_000), null);
      assert.equal(await store.updatePush(push.id, 'b', { state: 'decided' }), false);
      assert.deepEqual([await store.updatePush(push.id, 'b', {}), await store.updatePush(push.id, 'a', {})], [false, true], 'an empty patch tells who holds the claim');
      assert.equal(await store.renewClaim(push.id, 'a', new Date(now.getTime() + 60_000)), true);
      assert.equal(await store.claimPush('b', new Date(now.getTime() + 45_000), 30_000), null, 'renewed');
      const taken = (await store.claimPush('b', new Date(now.getTime() + 61_000), 30_000))!;
      assert.deepEqual([taken.id, taken.claimedBy, taken.attempts], [push.id, 'b', 2]);
      assert.equal(await store.updatePush(push.id, 'a', { resolvedRev: 'x' }), false, 'a lost it');
      assert.equal(await store.releaseClaims('b'), 1);
      const back = (await store.getPush(push.id))!;
      assert.deepEqual([back.state, back.claimedBy, back.claimExpiresAt], ['queued', null, null]);
    });

    it('a retry waits for notBefore; finishing clears the claim and records the outcome', async () => {
      const store = await open();
      await drain(store);
      const push = newPush(`r-${randomUUID()}`);
      await store.recordDelivery(delivery(), push);
      const t0 = Date.parse(push.receivedAt) + 1000;
      await store.claimPush('w', new Date(t0), 30_000);
      const notBefore = new Date(t0 + 10_000).toISOString();
      const error = { code: 'taskcluster-unavailable' as const, message: 'Queue down' };
      assert.equal(await store.updatePush(push.id, 'w', { state: 'queued', notBefore, lastError: error, resolvedRev: 'f'.repeat(40) }), true);
      assert.equal(await store.claimPush('w', new Date(t0 + 5_000), 30_000), null);
      const again = (await store.claimPush('w', new Date(t0 + 10_000), 30_000))!;
      assert.deepEqual([again.attempts, again.lastError, again.startedAt], [2, error, new Date(t0).toISOString()]);
      const finishedAt = new Date(t0 + 11_000).toISOString();
      assert.equal(await store.updatePush(push.id, 'w', { state: 'decided', counts: { build: 5, registry: 1 }, lastError: null, finishedAt }), true);
      const done = (await store.getPush(push.id))!;
      assert.deepEqual([done.state, done.claimedBy, done.counts, done.finishedAt, done.lastError], ['decided', null, { build: 5, registry: 1 }, finishedAt, null]);
      assert.equal((await store.findPushByRev(push.repository, 'f'.repeat(40)))?.id, push.id);
      assert.equal((await store.findPushByRev(push.repository, push.rev))?.id, push.id);
      assert.equal(await store.findPushByRev('elsewhere', push.rev), null);
    });

    it('maxPerRepository: concurrent claims from several connections never hold more of one repository', async () => {
      const store = await open();
      await drain(store);
      const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
      const pushes = [...Array.from({ length: 6 }, () => newPush(a)), ...Array.from({ length: 6 }, () => newPush(b))];
      for (const p of pushes) await store.recordDelivery(delivery(), p);
      const now = new Date(Date.parse(tick()) + 60_000);
      const stores = [store, await open(), await open()];
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => stores[i % 3]!.claimPush(`m${i}`, now, 60_000, { maxPerRepository: 1 })));
      assert.deepEqual(
        claims
          .filter((c) => c !== null)
          .map((c) => c.repository)
          .sort(),
        [a, b].sort(),
        'one worker per repository',
      );
      const held = claims.find((c) => c?.repository === a)!;
      assert.equal(await store.updatePush(held.id, held.claimedBy!, { state: 'decided' }), true);
      assert.equal((await store.claimPush('m9', now, 60_000, { maxPerRepository: 1 }))?.repository, a, 'a free slot is taken');
      assert.equal((await store.claimPush('m10', now, 60_000, { maxPerRepository: 2 }))?.repository !== undefined, true, 'a higher cap allows more');
      // Connections are few on a shared server: these are given back.
      await Promise.all(stores.filter((s) => s !== store).map((s) => s.close()));
    });

    it('a push whose claims ran out maxAttempts times is failed, coded, not claimed again', async () => {
      const store = await open();
      await drain(store);
      const push = newPush(`r-${randomUUID()}`);
      await store.recordDelivery(delivery(), push);
      let t = Date.parse(push.receivedAt) + 1000;
      for (let i = 1; i <= 2; i++, t += 31_000) assert.equal((await store.claimPush(`dies-${i}`, new Date(t), 30_000, { maxAttempts: 2 }))?.attempts, i);
      assert.equal(await store.claimPush('next', new Date(t), 30_000, { maxAttempts: 2 }), null);
      const failed = (await store.getPush(push.id))!;
      assert.equal(failed.state, 'failed');
      assert.equal(failed.lastError?.code, 'internal-error');
      assert.match(failed.lastError.message, /^abandoned after 2 attempts/);
    });

    it('stores any text: NUL and lone surrogates in errors and names are shown, not refused', async () => {
      const store = await open();
      await drain(store);
      const push = newPush(`r-${randomUUID()}\0x`, { owner: 'dev\udc80@example.com' });
      await store.recordDelivery(delivery({ deliveryId: `d-${randomUUID()}\0` }), push);
      const t0 = Date.parse(push.receivedAt) + 1000;
      assert.equal((await store.claimPush('w', new Date(t0), 30_000))?.id, push.id);
      const error = { code: 'fetch-failed' as const, message: 'remote: fatal\0boom \ud800 \\u0000 \u{1f600}' };
      assert.equal(await store.updatePush(push.id, 'w', { state: 'failed', lastError: error }), true);
      const stored = (await store.getPush(push.id))!;
      assert.deepEqual(stored.lastError, { code: 'fetch-failed', message: 'remote: fatal\u2400boom \ufffd \\u0000 \u{1f600}' });
      assert.equal(stored.repository, push.repository.replace('\0', '\u2400'));
      assert.equal(stored.owner, 'dev\ufffd@example.com');
    });

    it('names the pushes that do not progress: claimed long ago, or past their attempts', async () => {
      const store = await open();
      await drain(store);
      const [slow, fast] = [newPush(`r-${randomUUID()}`), newPush(`r-${randomUUID()}`)];
      for (const p of [slow, fast]) await store.recordDelivery(delivery(), p);
      const t0 = Date.parse(tick()) + 1000;
      assert.equal((await store.claimPush('w1', new Date(t0), 3600_000))?.id, slow.id);
      assert.equal((await store.claimPush('w2', new Date(t0 + 600_000), 3600_000))?.id, fast.id);
      const stuck = await store.stuckPushes(new Date(t0 + 300_000), 5);
      assert.deepEqual(
        stuck.filter((p) => p.id === slow.id || p.id === fast.id).map((p) => [p.id, p.claimedAt, p.attempts]),
        [[slow.id, new Date(t0).toISOString(), 1]],
      );
      assert.deepEqual((await store.stuckPushes(new Date(0), 0)).filter((p) => p.id === slow.id || p.id === fast.id).length, 2, 'both past 0 attempts');
    });

    it('lists pushes newest first, counts the backlog, and keeps the first provenance of a context', async () => {
      const store = await open();
      await drain(store);
      const repo = `r-${randomUUID()}`;
      const pushes = [newPush(repo), newPush(repo), newPush(repo)];
      for (const p of pushes) await store.recordDelivery(delivery(), p);
      assert.deepEqual(
        (await store.listPushes({ repository: repo, limit: 2 })).map((p) => p.id),
        [pushes[2]!.id, pushes[1]!.id],
      );
      const backlog = await store.backlog();
      assert.equal(backlog.queued, 3);
      assert.equal(backlog.oldestQueuedAt, pushes[0]!.receivedAt);
      const hash = randomUUID().replaceAll('-', '').padEnd(64, 'a');
      const provenance = { contextHash: hash, repository: repo, rev: 'a'.repeat(40), image: 'base', algorithm: 'taskgraph', recordedAt: tick() };
      await store.recordContexts([provenance]);
      const other = { ...provenance, contextHash: randomUUID().replaceAll('-', '').padEnd(64, 'b'), image: 'other' };
      await store.recordContexts([{ ...provenance, rev: 'b'.repeat(40), recordedAt: tick() }, other]);
      assert.deepEqual(await store.findContext(other.contextHash), other);
      await store.recordContexts([]);
      assert.deepEqual(await store.findContext(hash), provenance);
      assert.equal(await store.findContext('0'.repeat(64)), null);
      await store.ping();
    });
  });
}
