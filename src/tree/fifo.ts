import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Fifo {
  /** Give this to the child as its stdout, then call `closeWriter()`. */
  readonly writeFd: number;
  readonly reader: Socket;
  closeWriter(): void;
}

/**
 * A kernel pipe for a child's output. Node gives children a socket pair, and git writes to a
 * socket at a much higher CPU cost than to a pipe (bench/README.md), so the heavy `cat-file`
 * stream goes through a named pipe that is unlinked at once.
 * Null where `mkfifo` is unavailable: callers fall back to the socket pair.
 */
export function openFifo(): Fifo | null {
  let dir: string | null = null;
  try {
    dir = mkdtempSync(join(tmpdir(), 'image-decider-fifo-'));
    const path = join(dir, 'out');
    if (spawnSync('mkfifo', ['-m', '600', path]).status !== 0) return null;
    // Opening the read end without O_NONBLOCK would wait for a writer.
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(path, constants.O_WRONLY);
    let writerOpen = true;
    return {
      writeFd,
      reader: new Socket({ fd: readFd, readable: true, writable: false }),
      closeWriter() {
        if (writerOpen) closeSync(writeFd);
        writerOpen = false;
      },
    };
  } catch {
    return null;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
