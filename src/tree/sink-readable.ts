import { Readable } from 'node:stream';
import type { ContentSink } from './types.ts';

/**
 * A Readable that producers write into, honouring backpressure: `write` returns
 * false when the reader is behind and `drained()` resolves when it wants more.
 * Once destroyed, it drops writes and never makes a producer wait (a stalled
 * producer would hold up a shared `git cat-file` process).
 */
export class SinkReadable extends Readable {
  private waiting: (() => void)[] = [];

  override _read(): void {
    this.wake();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.wake();
    callback(err);
  }

  write(chunk: Buffer): boolean {
    if (this.destroyed) return true;
    return this.push(chunk);
  }

  drained(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  finish(): void {
    if (!this.destroyed) this.push(null);
  }

  /** A sink for a single file: ends the stream with the file. */
  sink(): ContentSink {
    return {
      start: () => undefined,
      data: (chunk) => this.write(chunk),
      drained: () => this.drained(),
      end: () => this.finish(),
    };
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}
