import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { HttpUploadPack } from './http-upload-pack.ts';
import { LocalUploadPack } from './local-upload-pack.ts';
import type { UploadPackSession } from './session.ts';

const execFileAsync = promisify(execFile);

/** How `url` is fetched without `git fetch`: a local repository, over http(s), or not at all. */
export function nativeTransport(url: string, env: NodeJS.ProcessEnv = process.env): 'local' | 'http' | null {
  if (/^https?:\/\//i.test(url)) {
    // Node's fetch ignores proxy settings that git (and its users) rely on.
    const proxied = ['http_proxy', 'https_proxy', 'all_proxy'].some((name) => env[name] || env[name.toUpperCase()]);
    return proxied ? null : 'http';
  }
  if (/^file:\/\//i.test(url)) return 'local';
  // git's rule: no "://", and no ':' before the first '/', is a path (else scp-like ssh).
  return !url.includes('://') && !/^[^/]*:/.test(url) ? 'local' : null;
}

/**
 * False when git's configuration would change how `url` is fetched, which only `git fetch`
 * honours: a rewrite (`url.*.insteadOf`), or for http(s) any `http.*` or `credential.*`
 * setting that applies to it (proxy, certificates, extra headers, credential helpers).
 */
export async function configAllowsNative(url: string, gitDir: string): Promise<boolean> {
  const lines = async (args: string[]) => {
    try {
      // As `git fetch` in the mirror would read it: system, global and the mirror's own.
      return (await execFileAsync('git', ['--git-dir', gitDir, 'config', '--null', ...args])).stdout.split('\0').filter(Boolean);
    } catch {
      return []; // git config exits 1 when nothing matches
    }
  };
  const rewrites = (await lines(['--get-regexp', '^url\\..*\\.insteadof$'])).map((entry) => entry.slice(entry.indexOf('\n') + 1));
  if (rewrites.some((prefix) => url.startsWith(prefix))) return false;
  if (nativeTransport(url) !== 'http') return true;
  // Without its password: a command line is visible to every user of the machine.
  const parsed = new URL(url);
  parsed.password = '';
  const match = parsed.toString();
  return (await lines(['--get-urlmatch', 'http', match])).length === 0 && (await lines(['--get-urlmatch', 'credential', match])).length === 0;
}

/** A session with the repository at `url`; a local one may use `spare`, started ahead. */
export function openUploadPack(url: string, signal: AbortSignal, spare: LocalUploadPack | null = null): Promise<UploadPackSession> {
  return nativeTransport(url) === 'http' ? HttpUploadPack.open(url, signal) : LocalUploadPack.open(url, signal, spare);
}
