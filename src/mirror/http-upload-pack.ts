import { PacketReader } from './pkt-line.ts';
import { ProtocolV2Unsupported, readCapabilities, type UploadPackSession } from './session.ts';

/** Node's codes for a certificate it does not accept (not a dropped connection). */
const CERTIFICATE_ERROR = /^(CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED|ERR_TLS_CERT|ERR_SSL_)/;
const ADVERTISEMENT = 'application/x-git-upload-pack-advertisement';
const RESULT = 'application/x-git-upload-pack-result';

const decode = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a bare '%' in a password, as git takes it
  }
};

/** Refused, answered by something else, or not reached: a clear error, with no credentials in it. */
async function check(res: Response, contentType: string): Promise<Response> {
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`the server answered ${res.status} ${res.statusText}`);
  }
  if (res.headers.get('content-type') !== contentType) {
    await res.body?.cancel();
    throw new ProtocolV2Unsupported(`the server answered ${res.headers.get('content-type') ?? 'no content type'}, not ${contentType}`);
  }
  return res;
}

/** Smart HTTP (gitprotocol-http(5)): the advertisement by GET, each command a POST. */
export class HttpUploadPack implements UploadPackSession {
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
      headers.Authorization = `Basic ${Buffer.from(`${decode(parsed.username)}:${decode(parsed.password)}`).toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
    }
    const base = parsed.toString().replace(/\/+$/, '');
    let res: Response;
    try {
      res = await fetch(`${base}/info/refs?service=git-upload-pack`, { headers, signal });
    } catch (err) {
      // Certificates git trusts (its own CA settings, the system's) may not be Node's.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if (CERTIFICATE_ERROR.test(cause?.code ?? '')) throw new ProtocolV2Unsupported(`TLS: ${cause?.message}`);
      throw err;
    }
    // After a redirect to another origin, git's own rules decide where credentials may go.
    if (new URL(res.url).origin !== parsed.origin) {
      await res.body?.cancel();
      throw new ProtocolV2Unsupported('the repository redirects to another origin');
    }
    await check(res, ADVERTISEMENT);
    const finalBase = res.url.replace(/\/info\/refs\?service=git-upload-pack$/, '');
    try {
      return new HttpUploadPack(finalBase, headers, signal, await readCapabilities(PacketReader.of(res.body!)));
    } catch (err) {
      await res.body?.cancel().catch(() => undefined);
      throw err;
    }
  }

  async command(request: Buffer): Promise<PacketReader> {
    const res = await fetch(`${this.base}/git-upload-pack`, {
      method: 'POST',
      body: request,
      signal: this.signal,
      redirect: 'error',
      headers: { ...this.headers, 'Content-Type': 'application/x-git-upload-pack-request', Accept: RESULT },
    });
    return PacketReader.of((await check(res, RESULT)).body!);
  }

  close(): void {}
}
