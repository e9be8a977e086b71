import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import { DeciderError } from '../errors.ts';
import type { ServiceStore } from '../store/service-store.ts';
import { GitTree } from '../tree/git-tree.ts';
import type { RepositoryRuntime } from './repositories.ts';

export const CONTEXT_NAME = /^([0-9a-f]{64})\.tar\.gz$/;

export interface OpenedContext {
  readonly stream: Readable;
  readonly size: number | null;
  readonly cached: boolean;
}

/**
 * Context tarballs, content-addressed on disk. One not cached is re-made from the
 * recorded repository, revision and image, streamed while it is written, and kept only
 * if its uncompressed bytes hash to its name.
 */
export class ContextCache {
  readonly dir: string;

  constructor(
    dataDir: string,
    private readonly store: ServiceStore,
    private readonly repos: ReadonlyMap<string, RepositoryRuntime>,
    private readonly log: Logger,
  ) {
    this.dir = join(dataDir, 'contexts');
  }

  /** null for an unknown hash. */
  async open(hash: string): Promise<OpenedContext | null> {
    const path = join(this.dir, `${hash}.tar.gz`);
    const cached = await stat(path).catch(() => null);
    if (cached) return { stream: createReadStream(path), size: cached.size, cached: true };
    const made = await this.make(hash);
    return made ? { stream: made, size: null, cached: false } : null;
  }

  private async make(hash: string): Promise<Readable | null> {
    const provenance = await this.store.findContext(hash);
    const repo = provenance ? this.repos.get(provenance.repository) : undefined;
    if (!provenance || !repo) return null;
    const commit = await repo.mirror.resolve(provenance.rev);
    const graph = await repo.graph(commit, 3, false);
    const node = graph.images.find((i) => i.name === provenance.image && i.contextHash === hash);
    if (!node) return null;
    const tar = repo.hasher.tarStream(new GitTree(await repo.mirror.repo(), commit), node);
    const out = new PassThrough();
    void this.writeThrough(hash, tar, out);
    return out;
  }

  /**
   * Gzips `tar` to the client and to a temporary file, renamed into place if the hash holds.
   * A client that goes away does not stop the caching; a failing disk does not stop the client.
   */
  private async writeThrough(hash: string, tar: Readable, out: PassThrough): Promise<void> {
    const temp = join(this.dir, `.${hash}.${randomUUID()}.tmp`);
    const digest = createHash('sha256');
    const gzip = createGzip();
    let fileError: Error | null = null;
    let clientGone = false;
    await mkdir(this.dir, { recursive: true }).catch((err: Error) => (fileError = err));
    const file = fileError ? null : createWriteStream(temp);
    file?.on('error', (err) => (fileError ??= err));
    out.on('close', () => {
      clientGone = true;
      gzip.resume();
    });
    out.on('drain', () => gzip.resume());
    gzip.on('data', (chunk: Buffer) => {
      if (!fileError) file?.write(chunk);
      if (!clientGone && !out.write(chunk)) gzip.pause();
    });
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        digest.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(tar, hashing, gzip);
      // The pipeline ends when gzip has taken all input; its last output may still wait on a slow client.
      await finished(gzip);
      out.end();
      if (file) await new Promise<void>((resolve) => file.end(() => resolve()));
      if (fileError) throw fileError;
      if (digest.digest('hex') !== hash) throw new DeciderError('internal-error', `re-made context ${hash} hashes differently`);
      await rename(temp, join(this.dir, `${hash}.tar.gz`));
    } catch (err) {
      if (!out.writableEnded) out.destroy(err as Error);
      file?.destroy();
      await rm(temp, { force: true }).catch(() => undefined);
      this.log.warn({ err, contextHash: hash }, 'context tarball not cached');
    }
  }
}
