import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { FLUSH, PacketReader, packetText } from './pkt-line.ts';

/** The server does not speak protocol v2 (or is a dumb HTTP server): `git fetch` must do it. */
export class ProtocolV2Unsupported extends Error {}

/** A protocol-v2 conversation with a repository's `upload-pack`. */
export interface UploadPackSession {
  readonly capabilities: readonly string[];
  /** Sends one command request; its reply is read from the returned reader, up to its flush. */
  command(request: Buffer): Promise<PacketReader>;
  close(): void;
}

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

/** A session with the repository at `url`; a local one may use `spare`, started ahead. */
export async function openUploadPack(url: string, signal: AbortSignal, spare: LocalUploadPack | null = null): Promise<UploadPackSession> {
  if (nativeTransport(url) === 'http') return HttpUploadPack.open(url, signal);
  // A spare that has died (its repository moved, say) is replaced: a fresh one reports why.
  const ready = await spare?.ready(signal).catch(() => null);
  return ready ?? LocalUploadPack.start(url).ready(signal);
}

/** v2 capabilities after an optional `# service=` header, or ProtocolV2Unsupported. */
async function readCapabilities(reader: PacketReader): Promise<string[]> {
  let first = packetText(await reader.next());
  if (first?.startsWith('# service=')) {
    await reader.next(); // its flush
    first = packetText(await reader.next());
  }
  if (first !== 'version 2') throw new ProtocolV2Unsupported('the server does not speak git protocol v2');
  return reader.lines();
}

/**
 * `git upload-pack` on a local repository: one process, commands in turn on its stdin. It
 * can be started ahead of its fetch, as an HTTP connection is kept alive: a process start
 * costs this process 5-20 ms (more as it grows), and upload-pack reads the refs and objects
 * only when a command comes.
 */
export class LocalUploadPack implements UploadPackSession {
  capabilities: string[] = [];
  private readonly proc: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly reader: PacketReader;
  private readonly advertised: Promise<string[]>;

  private constructor(url: string) {
    const path = /^file:\/\//i.test(url) ? fileURLToPath(url) : resolvePath(url);
    const proc = spawn('git', ['upload-pack', path], { env: { ...process.env, GIT_PROTOCOL: 'version=2' }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2048);
    });
    const exited = new Promise<never>((_, reject) => {
      proc.on('error', reject);
      proc.on('close', (code) => reject(new Error(`git upload-pack exited (${code}): ${stderr.trim()}`)));
    });
    exited.catch(() => undefined);
    proc.stdin.on('error', () => undefined); // a dead server is reported by its reply, not an EPIPE
    this.reader = PacketReader.of(proc.stdout);
    // A repository that is not one ends the output before the process: its stderr says why.
    this.advertised = readCapabilities(this.reader).catch(async (err: unknown) => {
      await Promise.race([exited, setTimeout(1000)]);
      throw err;
    });
    this.advertised.catch(() => undefined);
  }

  static start(url: string): LocalUploadPack {
    return new LocalUploadPack(url);
  }

  /** Waits for its advertisement; from now on `signal` ends the process. */
  async ready(signal: AbortSignal): Promise<LocalUploadPack> {
    const kill = () => this.kill();
    if (signal.aborted) kill();
    signal.addEventListener('abort', kill, { once: true });
    this.proc.once('close', () => signal.removeEventListener('abort', kill));
    this.capabilities = await this.advertised;
    return this;
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }

  async command(request: Buffer): Promise<PacketReader> {
    this.proc.stdin.write(request);
    return this.reader;
  }

  close(): void {
    this.proc.stdin.end(FLUSH);
    this.proc.stdout.resume();
  }
}

/** Smart HTTP (gitprotocol-http(5)): the advertisement by GET, each command a POST. */
class HttpUploadPack implements UploadPackSession {
  private constructor(
    private readonly base: string,
    private readonly headers: Record<string, string>,
    private readonly signal: AbortSignal,
    readonly capabilities: string[],
  ) {}

  static async open(url: string, signal: AbortSignal): Promise<HttpUploadPack> {
    const parsed = new URL(url);
    const headers: Record<string, string> = { 'Git-Protocol': 'version=2', 'User-Agent': 'git/image-decider' };
    if (parsed.username || parsed.password) {
      const user = decodeURIComponent(parsed.username);
      const pass = decodeURIComponent(parsed.password);
      headers.Authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
    }
    const base = parsed.toString().replace(/\/+$/, '');
    const res = await fetch(`${base}/info/refs?service=git-upload-pack`, { headers, signal });
    if (!res.ok) throw new Error(`the server answered ${res.status} ${res.statusText}`);
    if (res.headers.get('content-type') !== 'application/x-git-upload-pack-advertisement') {
      await res.body?.cancel();
      throw new ProtocolV2Unsupported('not a smart HTTP server');
    }
    // After a redirect, git sends its requests to where the advertisement came from.
    const finalBase = res.url.replace(/\/info\/refs\?service=git-upload-pack$/, '');
    const capabilities = await readCapabilities(PacketReader.of(res.body!));
    return new HttpUploadPack(finalBase, headers, signal, capabilities);
  }

  async command(request: Buffer): Promise<PacketReader> {
    const res = await fetch(`${this.base}/git-upload-pack`, {
      method: 'POST',
      body: request,
      signal: this.signal,
      headers: { ...this.headers, 'Content-Type': 'application/x-git-upload-pack-request', Accept: 'application/x-git-upload-pack-result' },
    });
    if (!res.ok) throw new Error(`the server answered ${res.status} ${res.statusText}`);
    return PacketReader.of(res.body!);
  }

  close(): void {}
}
