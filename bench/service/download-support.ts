/** Downloads a context tarball and checks what arrived. */
import { createHash } from 'node:crypto';
import { get } from 'node:http';
import { createGunzip } from 'node:zlib';

export interface Download {
  readonly bytes: number;
  readonly ms: number;
  readonly firstByteMs: number;
  /** sha256 of the gzip bytes as received. */
  readonly sha256: string;
  /** Length of the gunzipped tar, when it was checked. */
  readonly tarBytes: number | null;
}

export interface DownloadChecks {
  /** Gunzip and check that the tar hashes to this context hash (costs the client a core). */
  readonly verifyTar?: string;
  /** The size and sha256 the gzip bytes must have. */
  readonly expect?: { readonly size: number; readonly sha256: string };
}

export function download(url: string, checks: DownloadChecks = {}): Promise<Download> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url} answered ${res.statusCode}`));
        return;
      }
      const declared = res.headers['content-length'] === undefined ? null : Number(res.headers['content-length']);
      const gzipHash = createHash('sha256');
      const tarHash = checks.verifyTar ? createHash('sha256') : null;
      const gunzip = tarHash ? createGunzip() : null;
      let tarBytes = 0;
      let bytes = 0;
      let firstByteMs = 0;
      gunzip?.on('data', (chunk: Buffer) => {
        tarBytes += chunk.length;
        tarHash!.update(chunk);
      });
      gunzip?.on('error', reject);
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - started;
        bytes += chunk.length;
        gzipHash.update(chunk);
        gunzip?.write(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        const ms = performance.now() - started;
        const finish = () => {
          const sha256 = gzipHash.digest('hex');
          if (declared !== null && declared !== bytes) return reject(new Error(`${bytes} bytes arrived, ${declared} were declared`));
          if (checks.expect && (checks.expect.size !== bytes || checks.expect.sha256 !== sha256))
            return reject(new Error(`the download differs: ${bytes} bytes, sha256 ${sha256}`));
          if (tarHash) {
            const digest = tarHash.digest('hex');
            if (digest !== checks.verifyTar) return reject(new Error(`the tar hashes to ${digest}, not ${checks.verifyTar}`));
          }
          resolve({ bytes, ms, firstByteMs, sha256, tarBytes: tarHash ? tarBytes : null });
        };
        if (gunzip) {
          gunzip.on('end', finish);
          gunzip.end();
        } else finish();
      });
    }).on('error', reject);
  });
}
