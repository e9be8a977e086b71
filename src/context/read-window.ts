import { handled } from './handled.ts';

/**
 * Reads issued ahead of the one being consumed, at most `size` at once and awaited in
 * order: a source serves its calls in order, so many can be in flight before the first is
 * needed.
 */
export class ReadWindow {
  private readonly inflight: Promise<void>[] = [];

  constructor(private readonly size = 128) {}

  /** Adds a read; waits for the oldest one when the window is full. */
  async push(read: Promise<void>): Promise<void> {
    this.inflight.push(handled(read));
    if (this.inflight.length >= this.size) await this.inflight.shift();
  }

  /**
   * Waits for every read issued so far, all of them settled even when one fails (then with
   * the first failure): a read still running after its caller gave up would write into an
   * output the caller has already abandoned.
   */
  async drain(): Promise<void> {
    const failed = (await Promise.allSettled(this.inflight.splice(0))).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** After a failure: lets the reads already issued finish, so that none outlives the caller. */
  async abandon(): Promise<void> {
    await Promise.allSettled(this.inflight.splice(0));
  }
}
