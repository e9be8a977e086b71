import { once } from 'node:events';
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';

/** A PostgreSQL ErrorResponse message (type `E`): what a server says before it hangs up. */
function fatal(sqlState: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${sqlState}\0M${message}\0\0`, 'utf8');
  const header = Buffer.alloc(5);
  header.write('E', 0, 'latin1');
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

const TERMINATING = fatal('57P01', 'terminating connection due to administrator command');
const STARTING_UP = fatal('57P03', 'the database system is starting up');

/**
 * Follows the server's messages (a type byte and a 4-byte length each), so a cut can say
 * FATAL at a message boundary, exactly as a backend does, rather than in the middle of a row.
 */
class MessageBoundary {
  private readonly header = Buffer.alloc(5);
  private headerBytes = 0;
  private bodyLeft = 0;

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= n;
        i += n;
        continue;
      }
      const n = Math.min(5 - this.headerBytes, chunk.length - i);
      chunk.copy(this.header, this.headerBytes, i, i + n);
      this.headerBytes += n;
      i += n;
      if (this.headerBytes === 5) {
        this.bodyLeft = this.header.readInt32BE(1) - 4;
        this.headerBytes = 0;
      }
    }
  }

  get atBoundary(): boolean {
    return this.headerBytes === 0 && this.bodyLeft === 0;
  }
}

interface Link {
  readonly client: Socket;
  readonly server: Socket;
  readonly fromServer: MessageBoundary;
}

interface Trigger {
  readonly text: string;
  readonly options: CutOptions;
  readonly fired: () => void;
}

export interface CutOptions {
  /** Reset the sockets (a crash, a network fault) instead of PostgreSQL's orderly FATAL 57P01. */
  readonly hard?: boolean;
}

/**
 * A TCP proxy in front of PostgreSQL (plain connections, no SSL) that plays a server restart
 * to its clients without touching the shared server: `cut()` ends every open session as a
 * fast shutdown does (FATAL 57P01, then the socket closed; PostgreSQL rolls back what each
 * session had open), then answers new connections as a server still starting up does
 * (FATAL 57P03) until `restore()`.
 */
export class TcpProxy {
  private readonly links = new Set<Link>();
  private readonly sockets = new Set<Socket>();
  private trigger: Trigger | null = null;
  private down = false;
  private stalled = false;
  /** Deliveries held back by a stall, in order. */
  private readonly held: (() => void)[] = [];
  /** Sessions ended by cuts, and connections refused while down. */
  readonly counts = { accepted: 0, cut: 0, refused: 0 };

  private constructor(
    private readonly listener: Server,
    private readonly target: { host: string; port: number },
  ) {
    listener.on('connection', (client) => this.accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(createServer(), target);
    proxy.listener.listen(0, '127.0.0.1');
    await once(proxy.listener, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.listener.address() as AddressInfo).port;
  }

  /** The same database URL, through this proxy. */
  through(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  /** Ends every open session and refuses new ones until `restore()`. Returns how many were ended. */
  cut(options: CutOptions = {}): number {
    this.down = true;
    this.trigger = null;
    const ended = this.links.size;
    for (const link of [...this.links]) this.end(link, options.hard === true);
    this.counts.cut += ended;
    return ended;
  }

  /**
   * Cuts the moment a client sends a message containing `text` (say, a statement inside a
   * transaction), before PostgreSQL sees it. Resolves once cut.
   */
  cutWhenSent(text: string, options: CutOptions = {}): Promise<void> {
    return new Promise((resolve) => (this.trigger = { text, options, fired: resolve }));
  }

  /**
   * A partition: connections stay open and new ones are accepted, but nothing gets through
   * either way until `restore()`, which delivers what was held.
   */
  stall(): void {
    this.stalled = true;
  }

  restore(): void {
    this.down = false;
    this.stalled = false;
    for (const flush of this.held.splice(0)) flush();
  }

  async close(): Promise<void> {
    this.cut({ hard: true });
    for (const socket of this.sockets) socket.destroy();
    this.listener.close();
    await once(this.listener, 'close');
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    if (this.down) {
      this.counts.refused++;
      // A starting server reads the startup packet, then refuses.
      client.once('data', () => client.end(STARTING_UP));
      return;
    }
    this.counts.accepted++;
    const server = connect(this.target.port, this.target.host);
    const link: Link = { client, server, fromServer: new MessageBoundary() };
    this.links.add(link);
    server.on('error', () => undefined);
    const forget = () => {
      if (!this.links.delete(link)) return;
      client.destroy();
      server.destroy();
    };
    client.on('close', forget);
    server.on('close', forget);
    client.on('data', (chunk: Buffer) => {
      if (!this.links.has(link)) return;
      const trigger = this.trigger;
      if (trigger && chunk.includes(trigger.text)) {
        this.cut(trigger.options);
        trigger.fired();
        return;
      }
      if (this.stalled) this.held.push(() => this.links.has(link) && server.write(chunk));
      else if (!server.write(chunk)) client.pause();
    });
    server.on('drain', () => client.resume());
    server.on('data', (chunk: Buffer) => {
      if (this.stalled) {
        this.held.push(() => {
          if (!this.links.has(link)) return;
          link.fromServer.feed(chunk);
          client.write(chunk);
        });
        return;
      }
      link.fromServer.feed(chunk);
      if (!client.write(chunk)) server.pause();
    });
    client.on('drain', () => server.resume());
  }

  private end(link: Link, hard: boolean): void {
    this.links.delete(link);
    link.server.destroy();
    const { client } = link;
    // A socket already shutting down cannot be reset: libuv refuses, and Node would leak the
    // handle (the test process then never exits).
    if (client.writableEnded || client.destroyed) client.destroy();
    else if (hard || !link.fromServer.atBoundary) client.resetAndDestroy();
    else client.end(TERMINATING);
  }
}
