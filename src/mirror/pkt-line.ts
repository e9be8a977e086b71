/**
 * Git's pkt-line framing (gitprotocol-common(5)): four hex digits of length, then the
 * payload; `0000` flush, `0001` delimiter, `0002` response end.
 */
export type Packet = { kind: 'data'; payload: Buffer } | { kind: 'flush' | 'delim' | 'response-end' };

const MAX_PAYLOAD = 65516;

export function pktLine(text: string | Buffer): Buffer {
  const payload = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  if (payload.length > MAX_PAYLOAD) throw new Error('pkt-line payload too long');
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0'), 'ascii'), payload]);
}

export const FLUSH = Buffer.from('0000');
export const DELIM = Buffer.from('0001');

/** A payload as text, without its trailing newline. */
export const packetText = (packet: Packet): string | null =>
  packet.kind === 'data' ? packet.payload.toString('utf8').replace(/\n$/, '') : null;

/** Reads packets from a byte stream, one at a time (a session's commands share its stream). */
export class PacketReader {
  private buffered: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  static of(stream: AsyncIterable<Buffer | Uint8Array>): PacketReader {
    const it = stream[Symbol.asyncIterator]();
    return new PacketReader({ next: async () => {
      const r = await it.next();
      return r.done ? r : { done: false, value: Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value) };
    } });
  }

  async next(): Promise<Packet> {
    const head = await this.take(4);
    const length = Number.parseInt(head.toString('ascii'), 16);
    if (!/^[0-9a-f]{4}$/i.test(head.toString('ascii')) || length === 3) throw new Error(`bad pkt-line header ${JSON.stringify(head.toString('latin1'))}`);
    if (length === 0) return { kind: 'flush' };
    if (length === 1) return { kind: 'delim' };
    if (length === 2) return { kind: 'response-end' };
    return { kind: 'data', payload: await this.take(length - 4) };
  }

  /** Text lines up to the next flush. */
  async lines(): Promise<string[]> {
    const lines: string[] = [];
    for (let p = await this.next(); p.kind !== 'flush'; p = await this.next()) {
      const text = packetText(p);
      if (text !== null) lines.push(text);
    }
    return lines;
  }

  private async take(n: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      const r = this.ended ? { done: true as const } : await this.source.next();
      if (r.done) {
        this.ended = true;
        throw new Error('the server closed the connection in the middle of a reply');
      }
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, r.value]) : r.value;
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }
}
