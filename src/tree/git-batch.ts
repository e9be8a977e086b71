import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { DeciderError } from '../errors.ts';
import { openFifo } from './fifo.ts';

/** Receives one object from `git cat-file`; callbacks come in request order. */
export interface ObjectHandler {
  header(oid: string, type: string, size: number): void;
  /** False pauses the whole reader until `drained()` resolves. */
  data(chunk: Buffer): boolean;
  drained(): Promise<void>;
  end(): void;
  fail(err: Error): void;
  /** The object is not in the repository (no content follows). Without it, `fail` is told so. */
  missing?(): void;
}

type State = 'header' | 'body' | 'trailer';

/** Requests worth one write to git. */
const BATCH = 64;
/** Below this many requests sent and unanswered, whatever is waiting is sent. */
const LOW_WATER = 32;

/**
 * One long-lived `git cat-file --batch-command --buffer` process. Requests are
 * pipelined: many may be written before the first answer is read. They go to git in
 * batches, each ending in a `flush`: at the end of an event-loop turn (setImmediate, not a
 * microtask), and only once a batch is worth a write or git is close to running out of
 * work. A flush per microtask cost a write and a read per file on each side.
 */
export class GitBatch {
  private readonly proc: ChildProcess;
  private readonly input: Writable;
  private readonly output: Readable;
  /** Requests in order; answered ones before `head` are dropped in batches (shift() is O(n)). */
  private queue: { spec: string; handler: ObjectHandler }[] = [];
  private head = 0;
  private outgoing: string[] = [];
  private flushScheduled = false;
  private state: State = 'header';
  private headerParts: Buffer[] = [];
  private remaining = 0;
  private leftover: Buffer | null = null;
  private paused = false;
  private closed = false;
  private stderr = '';

  constructor(readonly gitDir: string) {
    const fifo = openFifo();
    this.proc = spawn('git', ['--git-dir', gitDir, 'cat-file', '--batch-command', '--buffer'], {
      stdio: ['pipe', fifo ? fifo.writeFd : 'pipe', 'pipe'],
    });
    fifo?.closeWriter();
    this.input = this.proc.stdin!;
    this.output = fifo ? fifo.reader : this.proc.stdout!;
    this.output.on('data', (chunk: Buffer) => this.onData(chunk));
    this.proc.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4096);
    });
    // Done when git has exited and its output is read to the end (a pipe may outlive git).
    let exitCode: number | null | undefined;
    let outputEnded = false;
    const finish = () => {
      if (exitCode === undefined || !outputEnded) return;
      this.closed = true;
      this.failAll(new DeciderError('repository-unreadable', `git cat-file exited (${exitCode}): ${this.stderr.trim()}`));
    };
    this.proc.on('error', (err) => this.failAll(err));
    this.proc.on('close', (code) => {
      exitCode = code;
      finish();
    });
    this.output.on('close', () => {
      outputEnded = true;
      finish();
    });
    this.output.on('error', (err) => this.failAll(err));
    // A write after git died must not crash the process; the close handler reports it.
    this.input.on('error', () => undefined);
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  private next(): void {
    this.head += 1;
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  request(spec: string, handler: ObjectHandler): void {
    if (this.closed) {
      handler.fail(new DeciderError('repository-unreadable', 'git cat-file is closed'));
      return;
    }
    if (/[\n\r]/.test(spec)) {
      handler.fail(new DeciderError('internal-error', 'object name contains a newline'));
      return;
    }
    this.queue.push({ spec, handler });
    this.outgoing.push(`contents ${spec}\n`);
    this.maybeFlush();
  }

  private maybeFlush(): void {
    if (this.flushScheduled || this.outgoing.length === 0) return;
    if (this.outgoing.length < BATCH && this.pending - this.outgoing.length >= LOW_WATER) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Reads a whole (small) object into memory; null when the repository has none by that name. */
  read(spec: string): Promise<{ oid: string; type: string; data: Buffer } | null> {
    return new Promise((resolve, reject) => {
      let oid = '';
      let type = '';
      const parts: Buffer[] = [];
      this.request(spec, {
        header: (o, t) => {
          oid = o;
          type = t;
        },
        data: (chunk) => {
          parts.push(chunk);
          return true;
        },
        drained: () => Promise.resolve(),
        end: () => resolve({ oid, type, data: parts.length === 1 ? parts[0]! : Buffer.concat(parts) }),
        fail: reject,
        missing: () => resolve(null),
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      const done = () => this.closed && resolve();
      this.proc.once('close', done);
      this.output.once('close', done);
      this.input.end();
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.outgoing.length === 0) return;
    this.outgoing.push('flush\n');
    this.input.write(this.outgoing.join(''));
    this.outgoing = [];
  }

  private onData(chunk: Buffer): void {
    if (this.paused) {
      this.leftover = this.leftover ? Buffer.concat([this.leftover, chunk]) : chunk;
      return;
    }
    this.consume(chunk);
  }

  private consume(input: Buffer): void {
    let chunk = input;
    while (chunk.length > 0) {
      const current = this.queue[this.head];
      if (!current) {
        this.failAll(new DeciderError('repository-unreadable', 'git cat-file sent output nobody asked for'));
        return;
      }
      if (this.state === 'header') {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          this.headerParts.push(chunk);
          return;
        }
        let line = chunk.subarray(0, nl);
        if (this.headerParts.length > 0) {
          line = Buffer.concat([...this.headerParts, line]);
          this.headerParts = [];
        }
        chunk = chunk.subarray(nl + 1);
        this.startObject(current, line);
        continue;
      }
      if (this.state === 'body') {
        const take = Math.min(this.remaining, chunk.length);
        const part = chunk.subarray(0, take);
        chunk = chunk.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'trailer';
        if (!current.handler.data(part)) {
          this.pause(current.handler, chunk);
          return;
        }
        continue;
      }
      // trailer: the single LF after the content
      chunk = chunk.subarray(1);
      this.state = 'header';
      this.next();
      current.handler.end();
      this.maybeFlush();
    }
  }

  /** `<oid> <type> <size>`, parsed from the bytes (one header per object: this is hot). */
  private startObject(current: { spec: string; handler: ObjectHandler }, line: Buffer): void {
    const first = line.indexOf(32);
    const second = first < 0 ? -1 : line.indexOf(32, first + 1);
    let size = 0;
    let digits = 0;
    for (let i = second + 1; second > 0 && i < line.length; i++) {
      const c = line[i]!;
      if (c < 48 || c > 57) {
        digits = -1;
        break;
      }
      size = size * 10 + (c - 48);
      digits += 1;
    }
    if (digits > 0) {
      this.remaining = size;
      current.handler.header(line.toString('latin1', 0, first), typeName(line, first + 1, second), size);
      this.state = size === 0 ? 'trailer' : 'body';
      return;
    }
    // "<spec> missing" / "<spec> ambiguous": no content follows
    this.next();
    if (current.handler.missing) current.handler.missing();
    else current.handler.fail(new DeciderError('repository-unreadable', `git object ${current.spec} is missing`));
    this.maybeFlush();
  }

  private pause(handler: ObjectHandler, rest: Buffer): void {
    this.paused = true;
    this.leftover = rest.length > 0 ? rest : null;
    this.output.pause();
    void handler.drained().then(() => {
      this.paused = false;
      const pending = this.leftover;
      this.leftover = null;
      if (pending) this.consume(pending);
      if (!this.paused) this.output.resume();
    });
  }

  private failAll(err: Error): void {
    const waiting = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const { handler } of waiting) handler.fail(err);
  }
}

/** The object type between two offsets; git's four types are told apart by length and first byte. */
function typeName(line: Buffer, start: number, end: number): string {
  const length = end - start;
  const first = line[start];
  if (length === 4 && first === 0x62) return 'blob';
  if (length === 4 && first === 0x74) return 'tree';
  if (length === 6 && first === 0x63) return 'commit';
  if (length === 3 && first === 0x74) return 'tag';
  return line.toString('latin1', start, end);
}
