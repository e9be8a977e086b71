import { type Hash, createHash } from 'node:crypto';
import type { ByteSink } from './tar.ts';

const STAGE = 256 * 1024;

/**
 * A sha256 over everything written, with small writes gathered into one buffer first:
 * a context is mostly small files, and one `update` per header, file and padding costs
 * far more than copying them.
 */
export class HashSink implements ByteSink {
  private readonly hash: Hash = createHash('sha256');
  private readonly stage = Buffer.allocUnsafe(STAGE);
  private used = 0;

  write(chunk: Buffer): boolean {
    if (chunk.length >= STAGE / 4) {
      this.flush();
      this.hash.update(chunk);
      return true;
    }
    if (this.used + chunk.length > STAGE) this.flush();
    chunk.copy(this.stage, this.used);
    this.used += chunk.length;
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  digest(): string {
    this.flush();
    return this.hash.digest('hex');
  }

  private flush(): void {
    if (this.used === 0) return;
    this.hash.update(this.stage.subarray(0, this.used));
    this.used = 0;
  }
}
