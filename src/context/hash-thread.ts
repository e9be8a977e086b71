import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DeciderError } from '../errors.ts';
import type { ByteSink } from './tar.ts';

const STAGE = 128 * 1024;
/** Messages one hash may have queued on its thread before its writer is asked to wait. */
const AHEAD = 8;
/** File references one message carries at most, and the bytes they name. */
const MAX_REFS = 1024;
const REF_BYTES = 8 * 1024 * 1024;

export interface DigestSink extends ByteSink {
  digest(): Promise<string>;
  /**
   * Drops an unfinished hash (after a failed read), so the thread holds nothing for it;
   * settles once the thread has let go of it (it may still have been reading files).
   */
  discard(): Promise<void>;
  /**
   * Appends `length` bytes of the file `fd` from `offset`, read by the hashing thread itself
   * (the caller must keep the file open and those bytes unchanged until the hash settles).
   * Returns false to ask the writer to wait, as `write` does.
   */
  writeRef(fd: number, offset: number, length: number): boolean;
}

interface HashState {
  inflight: number;
  wake: (() => void) | null;
  done: ((hex: string) => void) | null;
  fail: (err: Error) => void;
}

type Update = { op: 'update'; slot: number; length: number; refs: Float64Array | null; fd: number };

/**
 * SHA-256 on a worker thread. Reading a context keeps the main thread busy with git's
 * output and tar headers; hashing the bytes can run beside it. Bytes go over in fixed
 * slots of shared memory, named by number once the thread has seen them: transferring a
 * buffer per message cost more than the copy it saved. Bytes already in a file (a spool of
 * shared blobs) go over as references, and the thread reads them itself.
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
  private queued = 0;

  /** @param idleMs how long the thread and its slots outlive the last hash. */
  constructor(private readonly idleMs = 10_000) {}

  /** A sink whose bytes are hashed on the thread. */
  sink(): DigestSink {
    return new ThreadHashSink(this, this.nextId++);
  }

  /** Shared-memory slots made so far (a bound, not a leak: each is in the pool, a sink or the thread). */
  get slotCount(): number {
    return this.slots.length;
  }

  /** Bytes of those slots. */
  get slotBytes(): number {
    return this.slots.length * STAGE;
  }

  /** Hashes open on this thread, and messages sent it and not yet answered: how busy it is. */
  get load(): { hashes: number; queued: number } {
    return { hashes: this.hashes.size, queued: this.queued };
  }

  /** True while the worker thread runs (it is stopped when idle and by `close`). */
  get running(): boolean {
    return this.worker !== null;
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
  send(id: number, message: Update | { op: 'digest' | 'discard' }, state: HashState): void {
    const worker = this.start();
    if (!this.hashes.has(id)) {
      this.hashes.set(id, state);
      if (this.hashes.size === 1) worker.ref();
    }
    if (message.op === 'update') {
      state.inflight += 1;
      this.queued += 1;
      if (!this.known.has(message.slot)) {
        this.known.add(message.slot);
        worker.postMessage({ op: 'slot', slot: message.slot, buffer: this.slots[message.slot] });
      }
      const { slot, length, refs, fd } = message;
      worker.postMessage({ op: 'update', id, slot, length, refs, fd });
    } else worker.postMessage({ op: message.op, id });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // No execArgv: the worker is plain JavaScript, and a `--import tsx` it would inherit would load tsx in every thread.
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url), { execArgv: [] });
    worker.unref(); // referenced only while a hash is open: an idle thread must not hold the process
    this.known = new Set();
    this.queued = 0;
    type Reply = { op: 'ack'; id: number; slot: number } | { op: 'digest'; id: number; hex: string | null; error?: string };
    worker.on('message', (m: Reply) => {
      if (this.worker !== worker) return; // a retired thread's late answers
      const state = this.hashes.get(m.id);
      if (m.op === 'ack') {
        this.free.push(m.slot);
        this.queued -= 1;
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
      else state?.fail(new DeciderError('internal-error', m.error ? `hashing failed: ${m.error}` : 'hash discarded'));
    });
    const failAll = (err: Error) => {
      if (this.worker !== null && this.worker !== worker) return; // a retired thread: the hashes are a newer one's
      if (this.worker === worker) this.worker = null;
      const states = [...this.hashes.values()];
      this.hashes.clear();
      for (const state of states) state.fail(err);
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new DeciderError('internal-error', `the hashing thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}

/**
 * Gathers writes into a slot and ships it to the thread when full (or when the file bytes it
 * names reach REF_BYTES). A sink holds at most one slot of its own (taken at the first write,
 * given back or shipped at the end): a slot kept past a hash is 512 KiB lost for good.
 */
class ThreadHashSink implements DigestSink {
  readonly copiesWrites = true;
  private slot = -1;
  private stage: Buffer | null = null;
  private used = 0;
  private refs: Float64Array | null = null;
  private refCount = 0;
  private refBytes = 0;
  private refFd = -1;
  private failure: Error | null = null;
  private readonly state: HashState;
  private settled: Promise<void> | null = null;
  private shipped = false;
  private waiting: Promise<void> | null = null;

  constructor(
    private readonly thread: HashThread,
    private readonly id: number,
  ) {
    this.state = { inflight: 0, wake: null, done: null, fail: (err) => this.onFail(err) };
  }

  write(chunk: Buffer): boolean {
    if (this.failure) return true; // the digest reports it
    if (this.used + chunk.length < STAGE && this.stage) {
      // Most writes are headers and small files: a typed-array copy costs less than Buffer#copy.
      this.stage.set(chunk, this.used);
      this.used += chunk.length;
      return this.state.inflight < AHEAD;
    }
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

  writeRef(fd: number, offset: number, length: number): boolean {
    if (this.failure || length === 0) return true;
    if (this.refCount > 0 && fd !== this.refFd) this.ship();
    this.stage ??= this.take();
    this.refs ??= new Float64Array(MAX_REFS * 3);
    const last = (this.refCount - 1) * 3;
    if (this.refCount > 0 && this.refs[last] === this.used && this.refs[last + 1]! + this.refs[last + 2]! === offset) {
      // Right after the previous reference in the file, with nothing written between: one read.
      this.refs[last + 2]! += length;
      this.refBytes += length;
      if (this.refBytes >= REF_BYTES) this.ship();
      return this.state.inflight < AHEAD;
    }
    const at = this.refCount * 3;
    this.refs[at] = this.used;
    this.refs[at + 1] = offset;
    this.refs[at + 2] = length;
    this.refCount += 1;
    this.refBytes += length;
    this.refFd = fd;
    if (this.refCount === MAX_REFS || this.refBytes >= REF_BYTES) this.ship();
    return this.state.inflight < AHEAD;
  }

  drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.state.inflight < AHEAD) return Promise.resolve();
    // One promise for every waiter (the source paused on this sink, and its writer between runs).
    this.waiting ??= new Promise<void>((resolve) => {
      this.state.wake = () => {
        this.waiting = null;
        resolve();
      };
    });
    return this.waiting;
  }

  digest(): Promise<string> {
    if (this.failure) {
      this.giveBack();
      return Promise.reject(this.failure);
    }
    if (this.used > 0 || this.refCount > 0) this.ship();
    this.giveBack();
    return new Promise((resolve, reject) => {
      this.state.done = resolve;
      this.state.fail = reject;
      this.thread.send(this.id, { op: 'digest' }, this.state);
    });
  }

  discard(): Promise<void> {
    this.giveBack();
    if (this.settled) return this.settled;
    if (this.failure || this.state.done || !this.shipped) return (this.settled = Promise.resolve());
    this.settled = new Promise((resolve) => {
      this.state.fail = () => resolve();
      this.thread.send(this.id, { op: 'discard' }, this.state);
    });
    return this.settled;
  }

  private take(): Buffer {
    const { slot, bytes } = this.thread.slot();
    this.slot = slot;
    return bytes;
  }

  /** The slot goes to the thread, which gives it back to the pool once hashed. */
  private ship(): void {
    this.stage ??= this.take();
    const refs = this.refCount > 0 ? this.refs!.slice(0, this.refCount * 3) : null;
    this.thread.send(this.id, { op: 'update', slot: this.slot, length: this.used, refs, fd: this.refFd }, this.state);
    this.shipped = true;
    this.slot = -1;
    this.stage = null;
    this.used = 0;
    this.refCount = 0;
    this.refBytes = 0;
  }

  private giveBack(): void {
    if (this.slot >= 0) this.thread.release(this.slot);
    this.slot = -1;
    this.stage = null;
    this.used = 0;
    this.refCount = 0;
    this.refBytes = 0;
  }

  private onFail(err: Error): void {
    this.failure = err;
    const wake = this.state.wake;
    this.state.wake = null;
    wake?.();
  }
}

export interface HashPoolOptions {
  /** Hashing threads; one per core by default, at most four (a graph hashes four contexts at once). */
  readonly threads?: number;
  /** How long an idle thread lives on (HashThread's `idleMs`). */
  readonly idleMs?: number;
  /**
   * Bytes the pool's hashes may keep, all together, before the one that would pass them moves
   * to a thread (default 0: every hash is on a thread). A hash that ends within them is
   * computed on the calling thread at its digest: a hashing thread costs tens of milliseconds of
   * CPU to start, as much as hashing tens of megabytes, and a one-graph process (the CLI) whose
   * contexts are small needs none.
   */
  readonly inlineBytes?: number;
}

/**
 * Hashing threads that contexts are spread over, one context to a thread: the SHA-256 of a
 * graph's contexts uses every core. Built by whoever builds the hashers (the service, the
 * CLI, a test) and closed by it; idle threads stop by themselves and hold no process open.
 */
export class HashPool {
  readonly threads: readonly HashThread[];
  private readonly inlineBytes: number;
  /** Bytes the hashes kept inline hold now. */
  private inlineHeld = 0;

  constructor(options: HashPoolOptions = {}) {
    const count = Math.max(1, options.threads ?? Math.min(4, availableParallelism()));
    this.threads = Array.from({ length: count }, () => new HashThread(options.idleMs));
    this.inlineBytes = options.inlineBytes ?? 0;
  }

  /** A sink on the least busy thread (fewest open hashes, then fewest queued messages), or kept inline while it is small. */
  sink(): DigestSink {
    if (this.inlineBytes > 0) return new InlineFirstSink(this, () => this.threadSink());
    return this.threadSink();
  }

  /** @internal Takes `bytes` more for a hash kept inline; false (nothing taken) past the pool's bound. */
  holdInline(bytes: number): boolean {
    if (this.inlineHeld + bytes > this.inlineBytes) return false;
    this.inlineHeld += bytes;
    return true;
  }

  /** @internal Gives back what a hash kept inline held (at its digest, its discard, or its move to a thread). */
  releaseInline(bytes: number): void {
    this.inlineHeld -= bytes;
  }

  private threadSink(): DigestSink {
    let best = this.threads[0]!;
    for (const thread of this.threads) {
      const a = thread.load;
      const b = best.load;
      if (a.hashes < b.hashes || (a.hashes === b.hashes && a.queued < b.queued)) best = thread;
    }
    return best.sink();
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()));
  }
}

const BLOCK = 64 * 1024;
type Kept = Buffer | { fd: number; offset: number; length: number };

/**
 * A hash that keeps its bytes (copied into blocks; file ranges as references, read at the
 * digest) while its pool's bound for them allows, and then hands them, and all that follows,
 * to a thread's sink. One that ends within the bound is hashed on the calling thread: the same
 * bytes in the same order, so the same digest.
 */
class InlineFirstSink implements DigestSink {
  readonly copiesWrites = true;
  private kept: Kept[] = [];
  private block: Buffer | null = null;
  private used = 0;
  private bytes = 0;
  private thread: DigestSink | null = null;

  constructor(
    private readonly pool: HashPool,
    private readonly toThread: () => DigestSink,
  ) {}

  write(chunk: Buffer): boolean {
    if (this.thread) return this.thread.write(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      this.block ??= Buffer.allocUnsafe(BLOCK);
      const take = Math.min(chunk.length - offset, this.block.length - this.used);
      chunk.copy(this.block, this.used, offset, offset + take);
      this.used += take;
      offset += take;
      if (this.used === this.block.length) this.endBlock();
    }
    return this.grow(chunk.length);
  }

  writeRef(fd: number, offset: number, length: number): boolean {
    if (this.thread) return this.thread.writeRef(fd, offset, length);
    if (length === 0) return true;
    this.endBlock();
    this.kept.push({ fd, offset, length });
    return this.grow(length);
  }

  drained(): Promise<void> {
    return this.thread ? this.thread.drained() : Promise.resolve();
  }

  async digest(): Promise<string> {
    if (this.thread) return this.thread.digest();
    this.endBlock();
    const hash = createHash('sha256');
    let buffer: Buffer | null = null;
    for (const part of this.kept) {
      if (Buffer.isBuffer(part)) {
        hash.update(part);
        continue;
      }
      buffer ??= Buffer.allocUnsafe(BLOCK * 16);
      for (let at = 0; at < part.length;) {
        const want = Math.min(buffer.length, part.length - at);
        const got = readSync(part.fd, buffer, 0, want, part.offset + at);
        if (got === 0) throw new DeciderError('internal-error', 'hashing failed: the spool ended before the bytes it was to hold');
        hash.update(buffer.subarray(0, got));
        at += got;
      }
    }
    this.letGo();
    return hash.digest('hex');
  }

  discard(): Promise<void> {
    if (this.thread) return this.thread.discard();
    this.letGo();
    return Promise.resolve();
  }

  /** Drops the kept bytes, and gives back to the pool what they held. */
  private letGo(): void {
    this.kept = [];
    this.block = null;
    this.used = 0;
    this.pool.releaseInline(this.bytes);
    this.bytes = 0;
  }

  /** The block being filled joins the kept bytes (a reference must come after it). */
  private endBlock(): void {
    if (!this.block || this.used === 0) return;
    this.kept.push(this.block.subarray(0, this.used));
    // The rest of the block takes the writes that follow.
    this.block = this.used === this.block.length ? null : this.block.subarray(this.used);
    this.used = 0;
  }

  private grow(length: number): boolean {
    if (this.pool.holdInline(length)) {
      this.bytes += length;
      return true;
    }
    const thread = this.toThread();
    this.thread = thread;
    this.endBlock();
    const kept = this.kept;
    this.letGo();
    let ready = true;
    for (const part of kept) ready = Buffer.isBuffer(part) ? thread.write(part) : thread.writeRef(part.fd, part.offset, part.length);
    return ready;
  }
}
