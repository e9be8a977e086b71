import { Worker } from 'node:worker_threads';
import type { ByteSink } from './tar.ts';

const STAGE = 512 * 1024;
/** Stages one hash may have queued on the thread before its writer is asked to wait. */
const AHEAD = 8;

export interface DigestSink extends ByteSink {
  digest(): Promise<string>;
  /** Drops an unfinished hash (after a failed read), so the thread holds nothing for it. */
  discard(): void;
}

interface HashState {
  inflight: number;
  wake: (() => void) | null;
  done: ((hex: string) => void) | null;
  fail: (err: Error) => void;
}

/**
 * SHA-256 on a worker thread. Reading a context keeps the main thread busy with git's
 * output and tar headers; hashing the bytes (a third of its time) can run beside it.
 * Bytes go over in 512 KiB slots of shared memory, named by number once the thread has
 * seen them: transferring a buffer per message cost more than the copy it saved.
 */
export class HashThread {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly hashes = new Map<number, HashState>();
  private readonly slots: SharedArrayBuffer[] = [];
  private readonly free: number[] = [];
  /** Slots the current thread has been sent. */
  private known = new Set<number>();
  private idleTimer: NodeJS.Timeout | null = null;

  /** @param idleMs how long the thread and its slots outlive the last hash (about 30 MB). */
  constructor(private readonly idleMs = 10_000) {}

  /** A sink whose bytes are hashed on the thread. */
  sink(): DigestSink {
    return new ThreadHashSink(this, this.nextId++);
  }

  /** Shared-memory slots made so far (a bound, not a leak: each is in the pool, a sink or the thread). */
  get slotCount(): number {
    return this.slots.length;
  }

  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  /** @internal A free slot's number and its bytes. */
  slot(): { slot: number; bytes: Buffer } {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.slots.length;
      this.slots.push(new SharedArrayBuffer(STAGE));
    }
    return { slot, bytes: Buffer.from(this.slots[slot]!) };
  }

  /** @internal A slot that was taken but not shipped. */
  release(slot: number): void {
    this.free.push(slot);
    this.retireLater();
  }

  /**
   * Most pushes hash nothing (the memo answers), so an idle thread is stopped and its slots
   * dropped; the next hash starts another in a few milliseconds.
   */
  private retireLater(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const worker = this.worker;
      if (!worker || this.hashes.size > 0 || this.free.length !== this.slots.length) return;
      this.worker = null;
      this.slots.length = 0;
      this.free.length = 0;
      void worker.terminate();
    }, this.idleMs).unref();
  }

  /** @internal */
  send(id: number, message: { op: 'update'; slot: number; length: number } | { op: 'digest' | 'discard' }, state: HashState): void {
    const worker = this.start();
    if (!this.hashes.has(id)) {
      this.hashes.set(id, state);
      if (this.hashes.size === 1) worker.ref();
    }
    if (message.op === 'update') {
      state.inflight += 1;
      if (!this.known.has(message.slot)) {
        this.known.add(message.slot);
        worker.postMessage({ op: 'slot', slot: message.slot, buffer: this.slots[message.slot] });
      }
      worker.postMessage({ op: 'update', id, slot: message.slot, length: message.length });
    } else worker.postMessage({ op: message.op, id });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url));
    worker.unref(); // referenced only while a hash is open: an idle thread must not hold the process
    this.known = new Set();
    worker.on('message', (m: { op: 'ack'; id: number; slot: number } | { op: 'digest'; id: number; hex: string | null }) => {
      const state = this.hashes.get(m.id);
      if (m.op === 'ack') {
        if (this.worker === worker) this.free.push(m.slot);
        if (!state) return;
        state.inflight -= 1;
        const wake = state.wake;
        state.wake = null;
        wake?.();
        return;
      }
      this.hashes.delete(m.id);
      if (this.hashes.size === 0) {
        worker.unref();
        this.retireLater();
      }
      if (m.hex !== null) state?.done?.(m.hex);
    });
    const failAll = (err: Error) => {
      if (this.worker !== null && this.worker !== worker) return; // a retired thread: the hashes are a newer one's
      if (this.worker === worker) this.worker = null;
      const states = [...this.hashes.values()];
      this.hashes.clear();
      for (const state of states) state.fail(err);
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`the hashing thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}

/**
 * Gathers writes into a slot and ships it to the thread when full. A sink holds at most one
 * slot of its own (taken at the first write, given back or shipped at the end): a slot kept
 * past a hash is 512 KiB lost for good.
 */
class ThreadHashSink implements DigestSink {
  readonly copiesWrites = true;
  private slot = -1;
  private stage: Buffer | null = null;
  private used = 0;
  private failure: Error | null = null;
  private readonly state: HashState;

  constructor(
    private readonly thread: HashThread,
    private readonly id: number,
  ) {
    this.state = { inflight: 0, wake: null, done: null, fail: (err) => this.onFail(err) };
  }

  write(chunk: Buffer): boolean {
    if (this.failure) return true; // the digest reports it
    let offset = 0;
    while (offset < chunk.length) {
      this.stage ??= this.take();
      const take = Math.min(chunk.length - offset, STAGE - this.used);
      chunk.copy(this.stage, this.used, offset, offset + take);
      this.used += take;
      offset += take;
      if (this.used === STAGE) this.ship();
    }
    return this.state.inflight < AHEAD;
  }

  drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.state.inflight < AHEAD) return Promise.resolve();
    return new Promise((resolve) => (this.state.wake = resolve));
  }

  digest(): Promise<string> {
    if (this.failure) {
      this.giveBack();
      return Promise.reject(this.failure);
    }
    if (this.used > 0) this.ship();
    this.giveBack();
    return new Promise((resolve, reject) => {
      this.state.done = resolve;
      this.state.fail = reject;
      this.thread.send(this.id, { op: 'digest' }, this.state);
    });
  }

  discard(): void {
    this.giveBack();
    if (this.failure || this.state.done) return;
    this.state.fail = () => undefined;
    this.thread.send(this.id, { op: 'discard' }, this.state);
  }

  private take(): Buffer {
    const { slot, bytes } = this.thread.slot();
    this.slot = slot;
    return bytes;
  }

  /** The slot goes to the thread, which gives it back to the pool once hashed. */
  private ship(): void {
    this.thread.send(this.id, { op: 'update', slot: this.slot, length: this.used }, this.state);
    this.slot = -1;
    this.stage = null;
    this.used = 0;
  }

  private giveBack(): void {
    if (this.slot >= 0) this.thread.release(this.slot);
    this.slot = -1;
    this.stage = null;
    this.used = 0;
  }

  private onFail(err: Error): void {
    this.failure = err;
    const wake = this.state.wake;
    this.state.wake = null;
    wake?.();
  }
}

let shared: HashThread | null = null;

/**
 * The process's hashing thread, started on first use. One is enough (the main thread feeds
 * it), and it holds the process open only while a hash is in progress.
 */
export function sharedHashThread(): HashThread {
  shared ??= new HashThread();
  return shared;
}
