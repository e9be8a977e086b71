import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface GitHttpServerOptions {
  /** Repositories are served from here: http://host/<folder name>. */
  projectRoot: string;
  /** Basic credentials the server demands, as `user:password`. */
  credentials?: string;
  /** False: the server speaks only protocol v0 (as an old git would). */
  protocolV2?: boolean;
  /** Serve https with this key and certificate (git must be told to trust it: `GIT_SSL_CAINFO`). */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/**
 * A real smart-HTTP git server: git's own `http-backend` run as a CGI for each request, the
 * way Apache or nginx serve git.
 */
export class GitHttpServer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly requests: readonly { method: string; url: string; authorized: boolean; userAgent: string; headers: IncomingMessage['headers'] }[],
  ) {}

  static async start(options: GitHttpServerOptions): Promise<GitHttpServer> {
    const requests: GitHttpServer['requests'][number][] = [];
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const authorized = !options.credentials || req.headers.authorization === `Basic ${Buffer.from(options.credentials).toString('base64')}`;
      requests.push({ method: req.method!, url: req.url!, authorized, userAgent: req.headers['user-agent'] ?? '', headers: req.headers });
      if (!authorized) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
        return;
      }
      serveCgi(req, res, options).catch(() => res.destroy());
    };
    const server = options.tls ? createHttpsServer(options.tls, handler) : createServer(handler);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new GitHttpServer(server, `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`, requests);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function serveCgi(req: IncomingMessage, res: ServerResponse, options: GitHttpServerOptions): Promise<void> {
  const url = new URL(req.url!, 'http://localhost');
  const cgi = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: options.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method,
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: '127.0.0.1',
      ...(options.protocolV2 !== false && req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  for await (const chunk of cgi.stdout as AsyncIterable<Buffer>) {
    if (res.headersSent) {
      if (!res.write(chunk)) await once(res, 'drain');
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) continue;
    const headers: Record<string, string> = {};
    let status = 200;
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const [name, ...rest] = line.split(':');
      const value = rest.join(':').trim();
      if (name!.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[name!] = value;
    }
    res.writeHead(status, headers);
    res.write(head.subarray(end + 4));
  }
  if (!res.headersSent) res.writeHead(502);
  res.end();
}
